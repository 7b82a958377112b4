//! Errors a client sees as a `DAV:error` body: each knows its status, its precondition
//! element (RFC 4918 §16 and the CardDAV/sync extensions) and its description, so a handler
//! says what went wrong and never how it is spelled in XML.

use std::borrow::Cow;

use super::multistatus::{Condition, NeededPrivilege, Privilege};
use super::reply::{Reply, XML_TYPE};
use super::xml::writer;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DavError {
    /// An unknown or expired sync token; `status` is chosen per client (403, or the
    /// configured one for Thunderbird, which only recovers from a 400).
    ValidSyncToken {
        status: u16,
    },
    /// A write on this read-only server: the resource and the privilege it would need.
    NeedPrivileges {
        href: String,
        privilege: Privilege,
    },
    /// A report this server does not answer, or a report on something other than a book.
    SupportedReport(String),
    /// An addressbook-query filter beyond the configured limits.
    SupportedFilter(String),
    /// A text-match collation this server does not implement (the collation named).
    SupportedCollation(String),
    PropfindFiniteDepth,
    /// A WebDAV-Push registration refused with one of the draft's preconditions
    /// (`invalid-subscription`, `push-not-available`, `no-trigger-supported`).
    Push {
        condition: &'static str,
        description: String,
    },
    BadRequest(Cow<'static, str>),
    /// Missing or wrong credentials; the reply asks for Basic credentials in `realm`.
    Unauthorized {
        description: &'static str,
        realm: String,
    },
    /// Too many failed logins from this client; `retry_after` in seconds.
    TooManyLogins {
        retry_after: u64,
    },
    /// Logins cannot be checked now (directory down, too many at once).
    Unavailable {
        description: &'static str,
        retry_after: u64,
    },
    BodyTooLarge {
        limit: usize,
    },
    /// The request body arrived too slowly.
    Timeout,
    Internal(&'static str),
}

impl DavError {
    pub fn status(&self) -> u16 {
        match self {
            DavError::ValidSyncToken { status } => *status,
            DavError::NeedPrivileges { .. }
            | DavError::SupportedReport(_)
            | DavError::SupportedCollation(_)
            | DavError::PropfindFiniteDepth
            | DavError::Push { .. } => 403,
            DavError::SupportedFilter(_) | DavError::BadRequest(_) => 400,
            DavError::Unauthorized { .. } => 401,
            DavError::TooManyLogins { .. } => 429,
            DavError::Unavailable { .. } => 503,
            DavError::BodyTooLarge { .. } => 413,
            DavError::Timeout => 408,
            DavError::Internal(_) => 500,
        }
    }

    /// The precondition element of the body, if any.
    pub fn condition(&self) -> Option<Condition<'_>> {
        match self {
            DavError::ValidSyncToken { .. } => Some(Condition::ValidSyncToken),
            DavError::NeedPrivileges { href, privilege } => {
                Some(Condition::NeedPrivileges(Some(NeededPrivilege {
                    href,
                    privilege: *privilege,
                })))
            }
            DavError::SupportedReport(_) => Some(Condition::SupportedReport),
            DavError::SupportedFilter(_) => Some(Condition::SupportedFilter),
            DavError::SupportedCollation(_) => Some(Condition::SupportedCollation),
            DavError::PropfindFiniteDepth => Some(Condition::PropfindFiniteDepth),
            DavError::Push { condition, .. } => Some(Condition::Push(condition)),
            _ => None,
        }
    }

    /// The human-readable text of the body.
    pub fn description(&self) -> Cow<'_, str> {
        match self {
            DavError::ValidSyncToken { .. } => {
                "the sync token is unknown or has expired; sync again with an empty token".into()
            }
            DavError::NeedPrivileges { .. } => "this address book is read-only".into(),
            DavError::SupportedReport(text) | DavError::SupportedFilter(text) => {
                text.as_str().into()
            }
            DavError::SupportedCollation(collation) => {
                format!("collation {collation:?} is not supported").into()
            }
            DavError::PropfindFiniteDepth => {
                "Depth: infinity is not supported; use Depth 0 or 1".into()
            }
            DavError::BadRequest(text) => Cow::Borrowed(&**text),
            DavError::Push { description, .. } => description.as_str().into(),
            DavError::Unauthorized { description, .. }
            | DavError::Unavailable { description, .. }
            | DavError::Internal(description) => (*description).into(),
            DavError::TooManyLogins { .. } => "too many failed logins; try again later".into(),
            DavError::BodyTooLarge { limit } => {
                format!("request body larger than {limit} bytes").into()
            }
            DavError::Timeout => "the request body arrived too slowly".into(),
        }
    }
}

impl From<DavError> for Reply {
    fn from(error: DavError) -> Reply {
        let mut body = String::with_capacity(256);
        writer::error_body(&mut body, error.condition().as_ref(), &error.description());
        // Content-Type first, then the error's own headers, as clients have always seen them.
        let reply = Reply::new(error.status()).body(XML_TYPE, body);
        match &error {
            DavError::Unauthorized { realm, .. } => reply.header(
                "WWW-Authenticate",
                format!("Basic realm=\"{realm}\", charset=\"UTF-8\""),
            ),
            DavError::TooManyLogins { retry_after } | DavError::Unavailable { retry_after, .. } => {
                reply.header("Retry-After", retry_after.to_string())
            }
            _ => reply,
        }
    }
}

#[cfg(test)]
mod tests;
