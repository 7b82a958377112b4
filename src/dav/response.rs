//! One `<D:response>` for a resource: found properties in a 200 propstat first (Thunderbird
//! reads only the first status), missing ones in a 404 propstat after it.

use std::sync::Arc;

use super::address_data::CardData;
use super::paths;
use super::props::{self, PropContext, Target};
use super::report::BookRequest;
use super::request::{AddressData, QName};
use super::xml;
use crate::app::AppState;
use crate::store::Member;

/// Which properties to report.
#[derive(Debug, Clone)]
pub enum Selection {
    /// `allprop`, plus the properties named in `include`.
    All(Vec<QName>),
    Names,
    Props(Vec<QName>),
}

/// Writes the response for `target` at `href`. `extra` holds properties the caller computed
/// itself (e.g. `address-data` in reports) and that are already in `Props`. With `minimal`
/// (iOS's `Brief: t` / `Prefer: return=minimal`) the 404 propstat is left out.
pub fn write(
    out: &mut String,
    ctx: &PropContext,
    target: &Target,
    href: &str,
    selection: &Selection,
    extra: &[(QName, String)],
    minimal: bool,
) {
    out.push_str("<D:response>");
    xml::href(out, href);
    let mut found: Vec<(QName, String)> = Vec::new();
    let mut missing: Vec<&QName> = Vec::new();
    let all;
    match selection {
        Selection::Names => {
            out.push_str("<D:propstat><D:prop>");
            for name in props::all_names(target) {
                xml::empty(out, &name);
            }
            out.push_str("</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>");
            out.push_str("</D:response>");
            return;
        }
        Selection::All(include) => {
            all = props::allprop_names(target);
            for name in all.iter().chain(include.iter()) {
                if let Some(value) = props::resolve(ctx, target, href, name) {
                    if !found.iter().any(|(n, _)| n == name) {
                        found.push((name.clone(), value));
                    }
                }
            }
        }
        Selection::Props(names) => {
            for name in names.iter() {
                if let Some((_, value)) = extra.iter().find(|(n, _)| n == name) {
                    found.push((name.clone(), value.clone()));
                } else if let Some(value) = props::resolve(ctx, target, href, name) {
                    found.push((name.clone(), value));
                } else {
                    missing.push(name);
                }
            }
        }
    }
    if !found.is_empty() {
        out.push_str("<D:propstat><D:prop>");
        for (name, value) in &found {
            xml::element(out, name, value);
        }
        out.push_str("</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>");
    }
    if !missing.is_empty() && (!minimal || found.is_empty()) {
        out.push_str("<D:propstat><D:prop>");
        for name in missing {
            xml::empty(out, name);
        }
        out.push_str("</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>");
    }
    out.push_str("</D:response>");
}

/// `<D:response><D:href>…</D:href><D:status>…</D:status></D:response>` for a member that is
/// gone (sync-collection) or unknown (multiget).
pub fn write_status(out: &mut String, href: &str, status: u16) {
    out.push_str("<D:response>");
    xml::href(out, href);
    out.push_str("<D:status>");
    out.push_str(&xml::status_line(status));
    out.push_str("</D:status></D:response>");
}

/// Writes the responses for the cards of one book in one request: PROPFIND Depth 1 and the
/// three reports share it, so a card is described the same way whichever way it is asked for.
pub struct CardResponder {
    pub app: Arc<AppState>,
    pub user: String,
    pub book: String,
    pub selection: Selection,
    /// Set when the request asked for `address-data`.
    pub card_data: Option<CardData>,
    pub minimal: bool,
}

impl CardResponder {
    /// A responder for a report asking `props` (and maybe `address-data`) on a book.
    pub fn for_report(
        on: &BookRequest,
        props: Vec<QName>,
        address_data: &Option<AddressData>,
    ) -> CardResponder {
        CardResponder {
            app: Arc::clone(on.app),
            user: on.user.to_string(),
            book: on.book.to_string(),
            card_data: CardData::requested(&props, address_data),
            selection: Selection::Props(props),
            minimal: on.head.minimal,
        }
    }

    /// The card's canonical href.
    pub fn href(&self, member: &Member) -> String {
        paths::card_href(&self.user, &self.book, &member.name)
    }

    /// The response for `member`, under `href` (the client's own spelling in a multiget).
    pub fn write(&self, out: &mut String, href: &str, member: &Member) {
        let extra: Vec<_> = self
            .card_data
            .iter()
            .map(|c| c.render(&self.app, member))
            .collect();
        let ctx = PropContext {
            app: &self.app,
            user: &self.user,
        };
        let target = Target::Card { member };
        write(
            out,
            &ctx,
            &target,
            href,
            &self.selection,
            &extra,
            self.minimal,
        );
    }
}
