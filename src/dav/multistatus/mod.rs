//! What a multistatus says, as data: responses, their propstats and typed property values.
//! Handlers build these and never write XML; [`crate::dav::xml::writer`] turns them into
//! bytes (escaping every value) and [`stream`] sends large ones chunk by chunk.
//!
//! Values borrow what they show (`&str`, `Cow`, the cached card text), so describing a
//! card allocates for its response, not for each of its properties.

mod stream;

use std::borrow::Cow;
use std::time::SystemTime;

use crate::render_cache::Card;

use super::xml::Name;
use crate::store::Etag;
pub use stream::{End, Multistatus, ResponseSink};

/// One `<D:response>`.
#[derive(Debug)]
pub struct Response<'a> {
    pub href: Cow<'a, str>,
    pub body: ResponseBody<'a>,
}

#[derive(Debug)]
pub enum ResponseBody<'a> {
    /// Properties grouped by status (none at all is allowed: a PROPPATCH of nothing).
    Propstats(Vec<Propstat<'a>>),
    /// The resource as a whole: a member gone (404) or a truncated listing (507).
    Status {
        status: u16,
        error: Option<Condition<'a>>,
    },
}

impl<'a> Response<'a> {
    pub fn status(href: impl Into<Cow<'a, str>>, status: u16) -> Response<'a> {
        Response {
            href: href.into(),
            body: ResponseBody::Status {
                status,
                error: None,
            },
        }
    }

    /// The 507 on a collection whose listing was cut short (a client `limit` or the
    /// server's evaluation budget, RFC 5323 / RFC 6578 §3.6): clients ask again.
    pub fn truncated(collection_href: impl Into<Cow<'a, str>>) -> Response<'a> {
        Response {
            href: collection_href.into(),
            body: ResponseBody::Status {
                status: 507,
                error: Some(Condition::NumberOfMatchesWithinLimits),
            },
        }
    }

    pub fn propstats(href: impl Into<Cow<'a, str>>, propstats: Vec<Propstat<'a>>) -> Self {
        Response {
            href: href.into(),
            body: ResponseBody::Propstats(propstats),
        }
    }
}

/// `<D:propstat>`: properties sharing one status.
#[derive(Debug)]
pub struct Propstat<'a> {
    pub status: u16,
    pub props: Vec<Prop<'a>>,
    pub error: Option<Condition<'a>>,
    pub description: Option<&'a str>,
}

impl<'a> Propstat<'a> {
    pub fn new(status: u16, props: Vec<Prop<'a>>) -> Propstat<'a> {
        Propstat {
            status,
            props,
            error: None,
            description: None,
        }
    }
}

/// A property and its value.
#[derive(Debug)]
pub struct Prop<'a> {
    pub name: Name<'a>,
    pub value: Value<'a>,
}

impl<'a> Prop<'a> {
    /// A property without a value: names in `propname` and 404/403 propstats.
    pub fn name_only(name: Name<'a>) -> Prop<'a> {
        Prop {
            name,
            value: Value::Empty,
        }
    }
}

/// A property's value; the writer escapes every text in it.
#[derive(Debug)]
pub enum Value<'a> {
    Empty,
    Text(Cow<'a, str>),
    Number(u64),
    /// An HTTP-date (`getlastmodified`).
    Date(SystemTime),
    /// The quoted entity tag (`getetag`).
    Etag(Etag),
    Href(Cow<'a, str>),
    ResourceType(&'static [ResourceKind]),
    Privileges(&'static [Privilege]),
    SupportedReports(&'static [Name<'static>]),
    /// `supported-address-data`: the vCard versions offered as `text/vcard`.
    AddressDataTypes(&'static [&'static str]),
    /// A rendered card (`address-data`), written as text.
    Card(Card),
    /// WebDAV-Push `transports`: Web Push with this VAPID public key.
    PushTransports(String),
    /// WebDAV-Push `supported-triggers`: content updates of members (depth 1).
    PushTriggers,
}

/// What `resourcetype` says a resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    Collection,
    AddressBook,
    Principal,
}

/// DAV privileges (RFC 3744 §3) this server grants or a refused write would need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    Read,
    ReadCurrentUserPrivilegeSet,
    Write,
    WriteContent,
    WriteProperties,
    WriteAcl,
    Bind,
    Unbind,
}

impl Privilege {
    /// The element's local name in the DAV: namespace.
    pub fn local(self) -> &'static str {
        match self {
            Privilege::Read => "read",
            Privilege::ReadCurrentUserPrivilegeSet => "read-current-user-privilege-set",
            Privilege::Write => "write",
            Privilege::WriteContent => "write-content",
            Privilege::WriteProperties => "write-properties",
            Privilege::WriteAcl => "write-acl",
            Privilege::Bind => "bind",
            Privilege::Unbind => "unbind",
        }
    }
}

/// A precondition or postcondition element inside `<D:error>` (RFC 4918 §16, RFC 6578,
/// RFC 6352 §8): what tells a client why, beyond the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition<'a> {
    ValidSyncToken,
    /// `need-privileges`, naming the resource and privilege when known.
    NeedPrivileges(Option<NeededPrivilege<'a>>),
    SupportedReport,
    SupportedFilter,
    SupportedCollation,
    PropfindFiniteDepth,
    NumberOfMatchesWithinLimits,
    /// A WebDAV-Push precondition (`invalid-subscription`, `push-not-available`,
    /// `no-trigger-supported`), in the push namespace.
    Push(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeededPrivilege<'a> {
    pub href: &'a str,
    pub privilege: Privilege,
}
