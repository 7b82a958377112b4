//! `address-data` in report responses: which vCard version, rendered through the card cache.

use super::multistatus::{Prop, Value};
use super::request::AddressData;
use super::xml::{Name, QName};
use crate::app::AppState;
use crate::store::Member;
use crate::vcard::VcardVersion;

const ADDRESS_DATA: Name<'static> = Name::carddav("address-data");

/// How `address-data` is to be rendered for one report.
#[derive(Clone)]
pub struct CardData {
    version: VcardVersion,
}

impl CardData {
    /// `Some` when the report's `<D:prop>` asked for `address-data`. vCard 4.0 only when
    /// asked for by `version` or the content type; 3.0 otherwise (macOS rejects 4.0).
    pub fn requested(props: &[QName], address_data: &Option<AddressData>) -> Option<CardData> {
        props.iter().find(|n| ADDRESS_DATA == **n)?;
        let wants_v4 = address_data.as_ref().is_some_and(|ad| {
            ad.version.as_deref().map(str::trim) == Some("4.0")
                || ad
                    .content_type
                    .as_deref()
                    .is_some_and(|ct| ct.replace(' ', "").contains("version=4.0"))
        });
        Some(CardData {
            version: if wants_v4 {
                VcardVersion::V4
            } else {
                VcardVersion::V3
            },
        })
    }

    /// The `address-data` property for a response: the cached card itself (the writer
    /// escapes it), so the client now holds this version of the card.
    pub fn render(&self, app: &AppState, member: &Member) -> Prop<'static> {
        member.delivered();
        Prop {
            name: ADDRESS_DATA,
            value: Value::Card(app.cards.get(member, self.version)),
        }
    }
}
