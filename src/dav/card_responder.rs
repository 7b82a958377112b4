//! Describing the cards of one book in one request: PROPFIND Depth 1 and the three reports
//! share it, so a card is described the same way whichever way it is asked for.

use std::borrow::Cow;
use std::sync::Arc;

use super::address_data::CardData;
use super::describe::{describe, Selection};
use super::multistatus::{Response, ResponseSink};
use super::paths;
use super::props::{PropContext, Target};
use super::request::AddressData;
use super::xml::QName;
use super::RequestHead;
use crate::app::AppState;
use crate::store::{Member, PublishedBook};

/// A request addressed to one book, as one user sees it.
pub struct BookRequest<'a> {
    pub app: &'a Arc<AppState>,
    pub head: &'a RequestHead,
    pub user: &'a str,
    pub book: &'a str,
    pub state: &'a Arc<PublishedBook>,
}

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

    /// The href of the card named `name` in this book.
    pub fn href(&self, name: &str) -> String {
        paths::card_href(&self.user, &self.book, name)
    }

    /// Writes the response for `member` under its canonical href.
    pub fn write(&self, out: &mut ResponseSink, member: &Member) {
        self.write_at(out, Cow::Owned(self.href(&member.name)), member);
    }

    /// Writes the response for `member` under `href` (the client's own spelling in a
    /// multiget).
    pub fn write_at(&self, out: &mut ResponseSink, href: Cow<str>, member: &Member) {
        let ctx = PropContext {
            app: &self.app,
            user: &self.user,
        };
        let extra = self.card_data.as_ref().map(|c| c.render(&self.app, member));
        out.push(&describe(
            &ctx,
            &Target::Card { member },
            href,
            &self.selection,
            extra,
            self.minimal,
        ));
    }

    /// The 404 for a member that is gone (sync-collection) or unknown (multiget).
    pub fn write_missing(&self, out: &mut ResponseSink, href: Cow<str>) {
        out.push(&Response::status(href, 404));
    }
}
