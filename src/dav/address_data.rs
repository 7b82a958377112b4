//! `address-data` in report responses: which vCard version, rendered through the card cache.

use super::request::{self, AddressData, QName};
use super::xml;
use crate::app::AppState;
use crate::store::Member;
use crate::vcard::VcardVersion;

/// How `address-data` is to be rendered for one report.
#[derive(Clone)]
pub struct CardData {
    name: QName,
    version: VcardVersion,
}

impl CardData {
    /// `Some` when the report's `<D:prop>` asked for `address-data`. vCard 4.0 only when
    /// asked for by `version` or the content type; 3.0 otherwise (macOS rejects 4.0).
    pub fn requested(props: &[QName], address_data: &Option<AddressData>) -> Option<CardData> {
        let name = props
            .iter()
            .find(|n| n.ns == request::NS_CARDDAV && n.local == "address-data")?;
        let wants_v4 = address_data.as_ref().is_some_and(|ad| {
            ad.version.as_deref().map(str::trim) == Some("4.0")
                || ad
                    .content_type
                    .as_deref()
                    .is_some_and(|ct| ct.replace(' ', "").contains("version=4.0"))
        });
        Some(CardData {
            name: name.clone(),
            version: if wants_v4 {
                VcardVersion::V4
            } else {
                VcardVersion::V3
            },
        })
    }

    /// The `(address-data, escaped card)` pair for a response; the client then holds this
    /// version of the card.
    pub fn render(&self, app: &AppState, member: &Member) -> (QName, String) {
        member.delivered();
        let bytes = app.cards.get(member, self.version);
        let text = String::from_utf8_lossy(&bytes);
        (self.name.clone(), xml::escape(&text))
    }
}
