//! Live properties of every resource kind, as typed values (escaped only when written), and
//! which ones `allprop` and `propname` name.

use std::borrow::Cow;

use xxhash_rust::xxh3::xxh3_128;

use super::conditional;
use super::multistatus::{Privilege, ResourceKind, Value};
use super::paths;
use super::xml::{Name, NS_CARDDAV, NS_CS, NS_DAV, NS_PUSH};
use crate::app::AppState;
use crate::config::BookConfig;
use crate::store::{Member, PublishedBook};
use crate::vcard::VcardVersion;

/// The resource whose properties are asked for.
pub enum Target<'a> {
    Root,
    Principals,
    Principal,
    Home,
    Book {
        config: &'a BookConfig,
        state: &'a PublishedBook,
    },
    Card {
        member: &'a Member,
    },
}

/// Who asks, and the server state answers come from.
pub struct PropContext<'a> {
    pub app: &'a AppState,
    /// The principal name of the requesting identity.
    pub user: &'a str,
}

pub const CARD_CONTENT_TYPE: &str = "text/vcard; charset=utf-8";

const PRIVILEGES: &[Privilege] = &[Privilege::Read, Privilege::ReadCurrentUserPrivilegeSet];

const BOOK_REPORTS: &[Name<'static>] = &[
    Name::dav("sync-collection"),
    Name::carddav("addressbook-multiget"),
    Name::carddav("addressbook-query"),
];

const ADDRESS_DATA_VERSIONS: &[&str] = &["3.0", "4.0"];

/// Largest card we serve; photos are capped well below it.
const MAX_RESOURCE_SIZE: u64 = 1_048_576;

/// A stable `urn:uuid:` for a resource, derived from its href (the same on every replica).
fn resource_id(href: &str) -> String {
    let hex = format!("{:032x}", xxh3_128(href.as_bytes()));
    let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or_default();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

/// The value of property `name` on `target`, or `None` when the resource has no such
/// property (reported in a 404 propstat).
pub fn resolve<'a>(
    ctx: &PropContext<'a>,
    target: &Target<'a>,
    href: &str,
    name: Name,
) -> Option<Value<'a>> {
    use ResourceKind::{AddressBook, Collection, Principal};
    let user = ctx.user;
    let text = |s: &'a str| Some(Value::Text(Cow::Borrowed(s)));
    let href_to = |s: String| Some(Value::Href(Cow::Owned(s)));
    match name.ns {
        NS_DAV => match (name.local, target) {
            ("resourcetype", Target::Book { .. }) => {
                Some(Value::ResourceType(&[Collection, AddressBook]))
            }
            ("resourcetype", Target::Principal) => {
                Some(Value::ResourceType(&[Collection, Principal]))
            }
            ("resourcetype", Target::Card { .. }) => Some(Value::ResourceType(&[])),
            ("resourcetype", _) => Some(Value::ResourceType(&[Collection])),
            ("displayname", Target::Root) => text("cardbridge"),
            ("displayname", Target::Principals) => text("Principals"),
            ("displayname", Target::Principal) => text(user),
            ("displayname", Target::Book { config, .. }) => text(config.display_name()),
            ("current-user-principal", _) => href_to(paths::principal_href(user)),
            ("principal-URL", Target::Principal) => href_to(paths::principal_href(user)),
            ("principal-collection-set", Target::Root | Target::Principal) => {
                Some(Value::Href(Cow::Borrowed("/principals/")))
            }
            ("current-user-privilege-set", _) => Some(Value::Privileges(PRIVILEGES)),
            ("owner", Target::Home | Target::Book { .. } | Target::Card { .. }) => {
                href_to(paths::principal_href(user))
            }
            ("supported-report-set", Target::Book { .. }) => {
                Some(Value::SupportedReports(BOOK_REPORTS))
            }
            ("sync-token", Target::Book { state, .. }) => {
                Some(Value::Text(Cow::Owned(state.token().to_uri())))
            }
            ("resource-id", Target::Principal | Target::Book { .. } | Target::Card { .. }) => {
                href_to(resource_id(href))
            }
            ("getetag", Target::Card { member }) => Some(Value::Etag(member.etag)),
            ("getcontenttype", Target::Card { .. }) => text(CARD_CONTENT_TYPE),
            ("getcontentlength", Target::Card { member }) => Some(Value::Number(
                u64::try_from(ctx.app.cards.get(member, VcardVersion::V3).len())
                    .unwrap_or(u64::MAX),
            )),
            ("getlastmodified", Target::Card { member }) => {
                Some(Value::Date(conditional::last_modified(member)))
            }
            ("getlastmodified", Target::Book { state, .. }) => Some(Value::Date(state.published)),
            _ => None,
        },
        NS_CARDDAV => match (name.local, target) {
            ("addressbook-home-set", Target::Root | Target::Principal) => {
                href_to(paths::home_href(user))
            }
            ("addressbook-description", Target::Book { config, .. }) => {
                config.description.as_deref().and_then(text)
            }
            ("supported-address-data", Target::Book { .. }) => {
                Some(Value::AddressDataTypes(ADDRESS_DATA_VERSIONS))
            }
            ("max-resource-size", Target::Book { .. }) => Some(Value::Number(MAX_RESOURCE_SIZE)),
            _ => None,
        },
        NS_CS => match (name.local, target) {
            ("getctag", Target::Book { state, .. }) => {
                Some(Value::Text(Cow::Owned(state.token().to_uri())))
            }
            _ => None,
        },
        // WebDAV-Push service detection, on books only and only when push is on.
        NS_PUSH => match (name.local, target, ctx.app.push.as_deref()) {
            ("transports", Target::Book { .. }, Some(push)) => {
                Some(Value::PushTransports(push.registry.vapid().public_key()))
            }
            ("topic", Target::Book { config, .. }, Some(push)) => {
                Some(Value::Text(Cow::Owned(push.registry.topic(&config.id))))
            }
            ("supported-triggers", Target::Book { .. }, Some(_)) => Some(Value::PushTriggers),
            _ => None,
        },
        _ => None,
    }
}

/// Properties returned for `allprop`: the cheap descriptive ones (RFC 4918 §9.1; sync-token
/// and privilege sets are only returned when asked for by name).
pub fn allprop_names(target: &Target) -> &'static [Name<'static>] {
    const CARD: &[Name<'static>] = &[
        Name::dav("resourcetype"),
        Name::dav("getetag"),
        Name::dav("getcontenttype"),
        Name::dav("getcontentlength"),
        Name::dav("getlastmodified"),
    ];
    const BOOK: &[Name<'static>] = &[
        Name::dav("resourcetype"),
        Name::dav("displayname"),
        Name::dav("getlastmodified"),
        Name::carddav("addressbook-description"),
    ];
    // The address-book home has no name of its own: clients that show every named
    // collection (the npm `dav` client) would list it as one more book.
    const HOME: &[Name<'static>] = &[Name::dav("resourcetype")];
    const OTHER: &[Name<'static>] = &[Name::dav("resourcetype"), Name::dav("displayname")];
    match target {
        Target::Card { .. } => CARD,
        Target::Book { .. } => BOOK,
        Target::Home => HOME,
        _ => OTHER,
    }
}

/// Every property the resource has, for `propname`.
pub fn all_names(ctx: &PropContext, target: &Target) -> Vec<Name<'static>> {
    let mut list = vec![
        Name::dav("resourcetype"),
        Name::dav("current-user-principal"),
        Name::dav("current-user-privilege-set"),
    ];
    match target {
        Target::Root => list.extend([
            Name::dav("displayname"),
            Name::dav("principal-collection-set"),
            Name::carddav("addressbook-home-set"),
        ]),
        Target::Principals => list.push(Name::dav("displayname")),
        Target::Home => list.push(Name::dav("owner")),
        Target::Principal => list.extend([
            Name::dav("displayname"),
            Name::dav("principal-URL"),
            Name::dav("principal-collection-set"),
            Name::dav("resource-id"),
            Name::carddav("addressbook-home-set"),
        ]),
        Target::Book { config, .. } => {
            list.extend([
                Name::dav("displayname"),
                Name::dav("owner"),
                Name::dav("supported-report-set"),
                Name::dav("sync-token"),
                Name::dav("resource-id"),
                Name::dav("getlastmodified"),
                Name::carddav("supported-address-data"),
                Name::carddav("max-resource-size"),
                Name::cs("getctag"),
            ]);
            if config.description.is_some() {
                list.push(Name::carddav("addressbook-description"));
            }
            if ctx.app.push.is_some() {
                list.extend([
                    Name::push("transports"),
                    Name::push("topic"),
                    Name::push("supported-triggers"),
                ]);
            }
        }
        Target::Card { .. } => list.extend([
            Name::dav("owner"),
            Name::dav("resource-id"),
            Name::dav("getetag"),
            Name::dav("getcontenttype"),
            Name::dav("getcontentlength"),
            Name::dav("getlastmodified"),
        ]),
    }
    list
}
