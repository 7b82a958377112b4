//! Writing DAV XML: escaping, namespaced element names and status lines.
//!
//! Output uses fixed prefixes declared once on the root (`D:` DAV, `C:` CardDAV, `CS:`
//! CalendarServer); other namespaces are declared on the element itself.

use super::request::{QName, NS_CARDDAV, NS_CS, NS_DAV};
use super::xml_chars::is_char;

/// Namespace declarations for the root element of every DAV body.
pub const ROOT_NAMESPACES: &str = concat!(
    r#"xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" "#,
    r#"xmlns:CS="http://calendarserver.org/ns/""#
);

pub const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

/// Escapes text for element content and attribute values. `\r` becomes `&#13;` so vCard CRLF
/// line ends survive XML end-of-line normalisation byte for byte; characters XML 1.0 does not
/// allow at all (control characters, U+FFFE, U+FFFF) become U+FFFD so the reply stays
/// well-formed whatever a source or a client put in.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            c if !is_char(c) => out.push(char::REPLACEMENT_CHARACTER),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
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
pub fn open(out: &mut String, name: &QName) {
    out.push('<');
    write_name(out, name, true);
    out.push('>');
}

pub fn close(out: &mut String, name: &QName) {
    out.push_str("</");
    write_name(out, name, false);
    out.push('>');
}

pub fn empty(out: &mut String, name: &QName) {
    out.push('<');
    write_name(out, name, true);
    out.push_str("/>");
}

/// `<name>inner</name>`, or `<name/>` when `inner` is empty. `inner` is trusted XML.
pub fn element(out: &mut String, name: &QName, inner: &str) {
    if inner.is_empty() {
        empty(out, name);
    } else {
        open(out, name);
        out.push_str(inner);
        close(out, name);
    }
}

fn write_name(out: &mut String, name: &QName, declare: bool) {
    match prefix(&name.ns) {
        Some(p) => {
            out.push_str(p);
            out.push(':');
            out.push_str(&name.local);
        }
        None if name.ns.is_empty() => out.push_str(&name.local),
        None => {
            out.push_str("X:");
            out.push_str(&name.local);
            if declare {
                out.push_str(" xmlns:X=\"");
                escape_into(out, &name.ns);
                out.push('"');
            }
        }
    }
}

/// The exact status line text clients compare against (always `HTTP/1.1`).
pub fn status_line(code: u16) -> String {
    let reason = http::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    format!("HTTP/1.1 {code} {reason}")
}

/// `<D:href>…</D:href>` with the href escaped.
pub fn href(out: &mut String, href: &str) {
    out.push_str("<D:href>");
    escape_into(out, href);
    out.push_str("</D:href>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_status() {
        let mut out = String::new();
        element(
            &mut out,
            &QName {
                ns: NS_DAV.into(),
                local: "getetag".into(),
            },
            "\"x\"",
        );
        empty(
            &mut out,
            &QName {
                ns: "urn:x".into(),
                local: "odd".into(),
            },
        );
        assert_eq!(out, r#"<D:getetag>"x"</D:getetag><X:odd xmlns:X="urn:x"/>"#);
        assert_eq!(status_line(200), "HTTP/1.1 200 OK");
        assert_eq!(status_line(404), "HTTP/1.1 404 Not Found");
        assert_eq!(status_line(507), "HTTP/1.1 507 Insufficient Storage");
        assert_eq!(escape("a&b<c>\r\n\""), "a&amp;b&lt;c&gt;&#13;\n&quot;");
        assert_eq!(escape("a\u{1}b\u{FFFE}\t"), "a\u{FFFD}b\u{FFFD}\t");
    }
}
