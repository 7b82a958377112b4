//! The one place DAV reply XML is written: multistatus bodies from the model in
//! [`crate::dav::multistatus`] and `DAV:error` bodies from [`crate::dav::error::DavError`].
//!
//! Output uses fixed prefixes declared once on the root (`D:` DAV, `C:` CardDAV, `CS:`
//! CalendarServer); other namespaces are declared on the element itself. Every text and
//! attribute value is escaped here ([`escape_into`]), so callers hand over plain values.

use std::fmt::{self, Write as _};

use super::chars::is_char;
use super::{Name, NS_CARDDAV, NS_CS, NS_DAV, NS_PUSH};
use crate::dav::multistatus::{
    Condition, Prop, Propstat, ResourceKind, Response, ResponseBody, Value,
};
use crate::vcard::LineEnd;

/// Namespace declarations for the root element of every DAV body.
const ROOT_NAMESPACES: &str = concat!(
    r#"xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" "#,
    r#"xmlns:CS="http://calendarserver.org/ns/""#
);

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

/// Escapes text for element content and attribute values. `\r` becomes `&#13;` so vCard CRLF
/// line ends survive XML end-of-line normalisation byte for byte; characters XML 1.0 does not
/// allow at all (control characters, U+FFFE, U+FFFF) become U+FFFD so the reply stays
/// well-formed whatever a source or a client put in.
pub fn escape_into(out: &mut String, text: &str) {
    // Runs of bytes that need nothing are copied whole: a card (CRLF lines, a base64 photo)
    // is mostly such runs, found by a table lookup per byte. Only ASCII bytes and the lead
    // byte 0xEF (of U+FFFE, U+FFFF) can start something to replace, so every stop is at a
    // char boundary.
    let bytes = text.as_bytes();
    let (mut run, mut from) = (0, 0);
    while let Some(at) = bytes
        .get(from..)
        .and_then(|rest| rest.iter().position(|&b| STOPS[usize::from(b)]))
        .map(|offset| from + offset)
    {
        let (replacement, len) = match bytes.get(at) {
            Some(b'&') => ("&amp;", 1),
            Some(b'<') => ("&lt;", 1),
            Some(b'>') => ("&gt;", 1),
            Some(b'"') => ("&quot;", 1),
            Some(b'\r') => ("&#13;", 1),
            _ => match text.get(at..).and_then(|rest| rest.chars().next()) {
                Some(c) if !is_char(c) => ("\u{FFFD}", c.len_utf8()),
                Some(c) => {
                    from = at + c.len_utf8();
                    continue;
                }
                None => break,
            },
        };
        out.push_str(text.get(run..at).unwrap_or_default());
        out.push_str(replacement);
        run = at + len;
        from = run;
    }
    out.push_str(text.get(run..).unwrap_or_default());
}

/// The bytes [`escape_into`] stops at: markup, CR, the other control characters but tab and
/// LF, and 0xEF.
const STOPS: [bool; 256] = {
    let mut stops = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        stops[b] = b != b'\t' as usize && b != b'\n' as usize;
        b += 1;
    }
    stops[b'&' as usize] = true;
    stops[b'<' as usize] = true;
    stops[b'>' as usize] = true;
    stops[b'"' as usize] = true;
    stops[0xEF] = true;
    stops
};

/// Formats straight into the output, escaped: numbers, dates and entity tags cost no
/// intermediate `String`.
struct Escaping<'o>(&'o mut String);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escape_into(self.0, s);
        Ok(())
    }
}

fn escaped(out: &mut String, args: fmt::Arguments) {
    // Writing to a String cannot fail.
    let _ = Escaping(out).write_fmt(args);
}

/// `<?xml …?>` and the opening `<D:multistatus …>`.
pub fn multistatus_open(out: &mut String) {
    out.push_str(XML_DECL);
    out.push_str("<D:multistatus ");
    out.push_str(ROOT_NAMESPACES);
    out.push('>');
}

/// The collection's `sync-token` (RFC 6578 §6.4), if any, and `</D:multistatus>`.
pub fn multistatus_close(out: &mut String, sync_token: Option<&str>) {
    if let Some(token) = sync_token {
        out.push_str("<D:sync-token>");
        escape_into(out, token);
        out.push_str("</D:sync-token>");
    }
    out.push_str("</D:multistatus>\n");
}

/// A `DAV:error` body: the condition, then a human-readable description.
pub fn error_body(out: &mut String, condition: Option<&Condition>, description: &str) {
    out.push_str(XML_DECL);
    out.push_str("<D:error ");
    out.push_str(ROOT_NAMESPACES);
    out.push_str(" xmlns:CB=\"urn:cardbridge:error\">");
    if let Some(condition) = condition {
        write_condition(out, condition);
    }
    if !description.is_empty() {
        out.push_str("<CB:description>");
        escape_into(out, description);
        out.push_str("</CB:description>");
    }
    out.push_str("</D:error>\n");
}

pub fn response(out: &mut String, response: &Response) {
    out.push_str("<D:response>");
    href(out, &response.href);
    match &response.body {
        ResponseBody::Propstats(propstats) => {
            for propstat in propstats {
                write_propstat(out, propstat);
            }
        }
        ResponseBody::Status { status, error } => {
            status_element(out, *status);
            if let Some(condition) = error {
                error_element(out, condition);
            }
        }
    }
    out.push_str("</D:response>");
}

/// Card text, rendered as UTF-8: checked (fast for ASCII), not converted.
fn escape_card_text(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => escape_into(out, text),
        Err(_) => escape_into(out, &String::from_utf8_lossy(bytes)),
    }
}

fn write_propstat(out: &mut String, propstat: &Propstat) {
    out.push_str("<D:propstat><D:prop>");
    for prop in &propstat.props {
        write_prop(out, prop);
    }
    out.push_str("</D:prop>");
    status_element(out, propstat.status);
    if let Some(condition) = &propstat.error {
        error_element(out, condition);
    }
    if let Some(description) = propstat.description {
        out.push_str("<D:responsedescription>");
        escape_into(out, description);
        out.push_str("</D:responsedescription>");
    }
    out.push_str("</D:propstat>");
}

fn write_prop(out: &mut String, prop: &Prop) {
    let name = &prop.name;
    let is_empty = match &prop.value {
        Value::Empty => true,
        Value::Text(text) => text.is_empty(),
        Value::ResourceType(kinds) => kinds.is_empty(),
        Value::Privileges(list) => list.is_empty(),
        Value::SupportedReports(list) => list.is_empty(),
        Value::AddressDataTypes(list) => list.is_empty(),
        Value::Card(card) => card.is_empty(),
        Value::Number(_)
        | Value::Date(_)
        | Value::Etag(_)
        | Value::Href(_)
        | Value::PushTransports(_)
        | Value::PushTriggers => false,
    };
    if is_empty {
        empty(out, name);
        return;
    }
    open(out, name);
    match &prop.value {
        Value::Empty => {}
        Value::Text(text) => escape_into(out, text),
        Value::Number(n) => escaped(out, format_args!("{n}")),
        Value::Date(time) => escaped(out, format_args!("{}", httpdate::HttpDate::from(*time))),
        Value::Etag(etag) => escaped(out, format_args!("\"{:032x}\"", etag.0)),
        Value::Href(target) => href(out, target),
        Value::ResourceType(kinds) => {
            for kind in kinds.iter() {
                out.push_str(match kind {
                    ResourceKind::Collection => "<D:collection/>",
                    ResourceKind::AddressBook => "<C:addressbook/>",
                    ResourceKind::Principal => "<D:principal/>",
                });
            }
        }
        Value::Privileges(privileges) => {
            for privilege in privileges.iter() {
                privilege_element(out, privilege.local());
            }
        }
        Value::SupportedReports(reports) => {
            for report in reports.iter() {
                out.push_str("<D:supported-report><D:report>");
                empty(out, report);
                out.push_str("</D:report></D:supported-report>");
            }
        }
        Value::AddressDataTypes(versions) => {
            for version in versions.iter() {
                out.push_str("<C:address-data-type content-type=\"text/vcard\" version=\"");
                escape_into(out, version);
                out.push_str("\"/>");
            }
        }
        Value::Card(card) => {
            // The photo's lines (base64, ASCII) need no escaping but their line ends.
            let (before, photo, after) = card.parts();
            escape_card_text(out, before);
            if let Some(photo) = photo {
                photo.write(out, LineEnd::XmlEscaped);
            }
            escape_card_text(out, after);
        }
        // The property itself declared `P:` (see `write_name`).
        Value::PushTransports(key) => {
            out.push_str("<P:web-push><P:vapid-public-key type=\"p256ecdsa\">");
            escape_into(out, key);
            out.push_str("</P:vapid-public-key></P:web-push>");
        }
        Value::PushTriggers => {
            out.push_str("<P:content-update><D:depth>1</D:depth></P:content-update>");
        }
    }
    close(out, name);
}

fn write_condition(out: &mut String, condition: &Condition) {
    let name = match condition {
        Condition::NeedPrivileges(Some(needed)) => {
            out.push_str("<D:need-privileges><D:resource>");
            href(out, needed.href);
            privilege_element(out, needed.privilege.local());
            out.push_str("</D:resource></D:need-privileges>");
            return;
        }
        Condition::NeedPrivileges(None) => Name::dav("need-privileges"),
        Condition::ValidSyncToken => Name::dav("valid-sync-token"),
        Condition::SupportedReport => Name::dav("supported-report"),
        Condition::SupportedFilter => Name::carddav("supported-filter"),
        Condition::SupportedCollation => Name::carddav("supported-collation"),
        Condition::PropfindFiniteDepth => Name::dav("propfind-finite-depth"),
        Condition::NumberOfMatchesWithinLimits => Name::dav("number-of-matches-within-limits"),
        Condition::Push(local) => Name::push(local),
    };
    empty(out, &name);
}

fn error_element(out: &mut String, condition: &Condition) {
    out.push_str("<D:error>");
    write_condition(out, condition);
    out.push_str("</D:error>");
}

fn privilege_element(out: &mut String, local: &str) {
    out.push_str("<D:privilege>");
    empty(out, &Name { ns: NS_DAV, local });
    out.push_str("</D:privilege>");
}

/// `<D:status>HTTP/1.1 200 OK</D:status>`: the exact status line text clients compare
/// against (always `HTTP/1.1`).
fn status_element(out: &mut String, code: u16) {
    let reason = http::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    out.push_str("<D:status>HTTP/1.1 ");
    let _ = write!(out, "{code}");
    out.push(' ');
    out.push_str(reason);
    out.push_str("</D:status>");
}

/// `<D:href>…</D:href>` with the href escaped.
fn href(out: &mut String, href: &str) {
    out.push_str("<D:href>");
    escape_into(out, href);
    out.push_str("</D:href>");
}

fn prefix(ns: &str) -> Option<&'static str> {
    match ns {
        NS_DAV => Some("D"),
        NS_CARDDAV => Some("C"),
        NS_CS => Some("CS"),
        _ => None,
    }
}

/// `<name>` (with an inline namespace declaration for foreign namespaces).
fn open(out: &mut String, name: &Name) {
    out.push('<');
    write_name(out, name, true);
    out.push('>');
}

fn close(out: &mut String, name: &Name) {
    out.push_str("</");
    write_name(out, name, false);
    out.push('>');
}

fn empty(out: &mut String, name: &Name) {
    out.push('<');
    write_name(out, name, true);
    out.push_str("/>");
}

fn write_name(out: &mut String, name: &Name, declare: bool) {
    match prefix(name.ns) {
        Some(p) => {
            out.push_str(p);
            out.push(':');
            out.push_str(name.local);
        }
        None if name.ns.is_empty() => out.push_str(name.local),
        // WebDAV-Push elements use `P:` (as the draft's samples do), declared where used so
        // bodies without them are unchanged; their children can then write `P:` directly.
        None if name.ns == NS_PUSH => {
            out.push_str("P:");
            out.push_str(name.local);
            if declare {
                out.push_str(" xmlns:P=\"");
                out.push_str(NS_PUSH);
                out.push('"');
            }
        }
        None => {
            out.push_str("X:");
            out.push_str(name.local);
            if declare {
                out.push_str(" xmlns:X=\"");
                escape_into(out, name.ns);
                out.push('"');
            }
        }
    }
}

#[cfg(test)]
mod tests;
