//! Live properties of every resource kind, and which ones `allprop` and `propname` name.

use xxhash_rust::xxh3::xxh3_128;

use super::conditional;
use super::paths;
use super::request::{QName, NS_CARDDAV, NS_CS, NS_DAV};
use super::xml;
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

const PRIVILEGES: &str = "<D:privilege><D:read/></D:privilege>\
<D:privilege><D:read-current-user-privilege-set/></D:privilege>";

const BOOK_REPORTS: &str =
    "<D:supported-report><D:report><D:sync-collection/></D:report></D:supported-report>\
<D:supported-report><D:report><C:addressbook-multiget/></D:report></D:supported-report>\
<D:supported-report><D:report><C:addressbook-query/></D:report></D:supported-report>";

const ADDRESS_DATA_TYPES: &str =
    "<C:address-data-type content-type=\"text/vcard\" version=\"3.0\"/>\
<C:address-data-type content-type=\"text/vcard\" version=\"4.0\"/>";

/// Largest card we serve; photos are capped well below it.
const MAX_RESOURCE_SIZE: &str = "1048576";

fn href_xml(href: &str) -> String {
    let mut out = String::new();
    xml::href(&mut out, href);
    out
}

/// A stable `urn:uuid:` for a resource, derived from its href (the same on every replica).
fn resource_id(href: &str) -> String {
    let h = xxh3_128(href.as_bytes()).to_be_bytes();
    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
    href_xml(&format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// The inner XML of property `name` on `target`, or `None` when the resource has no such
/// property (reported in a 404 propstat).
pub fn resolve(ctx: &PropContext, target: &Target, href: &str, name: &QName) -> Option<String> {
    let user = ctx.user;
    let local = name.local.as_str();
    match name.ns.as_str() {
        NS_DAV => match (local, target) {
            ("resourcetype", Target::Book { .. }) => Some("<D:collection/><C:addressbook/>".into()),
            ("resourcetype", Target::Principal) => Some("<D:collection/><D:principal/>".into()),
            ("resourcetype", Target::Card { .. }) => Some(String::new()),
            ("resourcetype", _) => Some("<D:collection/>".into()),
            ("displayname", Target::Root) => Some("cardbridge".into()),
            ("displayname", Target::Principals) => Some("Principals".into()),
            ("displayname", Target::Principal) => Some(xml::escape(user)),
            ("displayname", Target::Book { config, .. }) => {
                Some(xml::escape(config.display_name()))
            }
            ("current-user-principal", _) => Some(href_xml(&paths::principal_href(user))),
            ("principal-URL", Target::Principal) => Some(href_xml(&paths::principal_href(user))),
            ("principal-collection-set", Target::Root | Target::Principal) => {
                Some(href_xml("/principals/"))
            }
            ("current-user-privilege-set", _) => Some(PRIVILEGES.into()),
            ("owner", Target::Home | Target::Book { .. } | Target::Card { .. }) => {
                Some(href_xml(&paths::principal_href(user)))
            }
            ("supported-report-set", Target::Book { .. }) => Some(BOOK_REPORTS.into()),
            ("sync-token", Target::Book { state, .. }) => Some(state.token().to_uri()),
            ("resource-id", Target::Principal | Target::Book { .. } | Target::Card { .. }) => {
                Some(resource_id(href))
            }
            ("getetag", Target::Card { member, .. }) => Some(xml::escape(&member.etag.quoted())),
            ("getcontenttype", Target::Card { .. }) => Some(CARD_CONTENT_TYPE.into()),
            ("getcontentlength", Target::Card { member, .. }) => Some(
                ctx.app
                    .cards
                    .get(member, VcardVersion::V3)
                    .len()
                    .to_string(),
            ),
            ("getlastmodified", Target::Card { member }) => {
                Some(httpdate::fmt_http_date(conditional::last_modified(member)))
            }
            ("getlastmodified", Target::Book { state, .. }) => {
                Some(httpdate::fmt_http_date(state.published))
            }
            _ => None,
        },
        NS_CARDDAV => match (local, target) {
            ("addressbook-home-set", Target::Root | Target::Principal) => {
                Some(href_xml(&paths::home_href(user)))
            }
            ("addressbook-description", Target::Book { config, .. }) => {
                config.description.as_deref().map(xml::escape)
            }
            ("supported-address-data", Target::Book { .. }) => Some(ADDRESS_DATA_TYPES.into()),
            ("max-resource-size", Target::Book { .. }) => Some(MAX_RESOURCE_SIZE.into()),
            _ => None,
        },
        NS_CS => match (local, target) {
            ("getctag", Target::Book { state, .. }) => Some(state.token().to_uri()),
            _ => None,
        },
        _ => None,
    }
}

fn names(list: &[(&str, &str)]) -> Vec<QName> {
    list.iter()
        .map(|(ns, local)| QName {
            ns: (*ns).to_string(),
            local: (*local).to_string(),
        })
        .collect()
}

/// Properties returned for `allprop`: the cheap descriptive ones (RFC 4918 §9.1; sync-token
/// and privilege sets are only returned when asked for by name).
pub fn allprop_names(target: &Target) -> Vec<QName> {
    match target {
        Target::Card { .. } => names(&[
            (NS_DAV, "resourcetype"),
            (NS_DAV, "getetag"),
            (NS_DAV, "getcontenttype"),
            (NS_DAV, "getcontentlength"),
            (NS_DAV, "getlastmodified"),
        ]),
        Target::Book { .. } => names(&[
            (NS_DAV, "resourcetype"),
            (NS_DAV, "displayname"),
            (NS_DAV, "getlastmodified"),
            (NS_CARDDAV, "addressbook-description"),
        ]),
        // The address-book home has no name of its own: clients that show every named
        // collection (the npm `dav` client) would list it as one more book.
        Target::Home => names(&[(NS_DAV, "resourcetype")]),
        _ => names(&[(NS_DAV, "resourcetype"), (NS_DAV, "displayname")]),
    }
}

/// Every property the resource has, for `propname`.
pub fn all_names(target: &Target) -> Vec<QName> {
    let mut list = vec![
        (NS_DAV, "resourcetype"),
        (NS_DAV, "current-user-principal"),
        (NS_DAV, "current-user-privilege-set"),
    ];
    match target {
        Target::Root => list.extend([
            (NS_DAV, "displayname"),
            (NS_DAV, "principal-collection-set"),
            (NS_CARDDAV, "addressbook-home-set"),
        ]),
        Target::Principals => list.push((NS_DAV, "displayname")),
        Target::Home => list.push((NS_DAV, "owner")),
        Target::Principal => list.extend([
            (NS_DAV, "displayname"),
            (NS_DAV, "principal-URL"),
            (NS_DAV, "principal-collection-set"),
            (NS_DAV, "resource-id"),
            (NS_CARDDAV, "addressbook-home-set"),
        ]),
        Target::Book { config, .. } => {
            list.extend([
                (NS_DAV, "displayname"),
                (NS_DAV, "owner"),
                (NS_DAV, "supported-report-set"),
                (NS_DAV, "sync-token"),
                (NS_DAV, "resource-id"),
                (NS_DAV, "getlastmodified"),
                (NS_CARDDAV, "supported-address-data"),
                (NS_CARDDAV, "max-resource-size"),
                (NS_CS, "getctag"),
            ]);
            if config.description.is_some() {
                list.push((NS_CARDDAV, "addressbook-description"));
            }
        }
        Target::Card { .. } => list.extend([
            (NS_DAV, "owner"),
            (NS_DAV, "resource-id"),
            (NS_DAV, "getetag"),
            (NS_DAV, "getcontenttype"),
            (NS_DAV, "getcontentlength"),
            (NS_DAV, "getlastmodified"),
        ]),
    }
    names(&list)
}
