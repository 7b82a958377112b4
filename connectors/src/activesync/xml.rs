//! Decoded EAS XML (what WBXML decoders and server logs print) → element tree.
//!
//! Namespaces are resolved (prefixes and default namespaces alike), then mapped to EAS
//! namespaces by name, so `Contacts`, `Contacts:`, `uri:Contacts` and `POOMCONTACTS:` all read
//! the same. A prefix nobody declared is taken as the namespace
//! name itself (log printers write `<POOMCONTACTS:FileAs>` without declarations). DOCTYPEs,
//! which libwbxml prints, are skipped without expanding anything; unknown entities are errors.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::codepages::Namespace;
use super::tree::{all_closed, Budget, Element, Ns, ParseError, MAX_DEPTH};

fn namespace_of(resolved: &ResolveResult) -> Ns {
    let uri = match resolved {
        ResolveResult::Unbound => return Ns::Unqualified,
        ResolveResult::Bound(ns) => ns.as_ref(),
        ResolveResult::Unknown(prefix) => prefix.as_str(),
    };
    match Namespace::from_uri(uri) {
        Some(ns) => Ns::Known(ns),
        None => Ns::Other(uri.to_string()),
    }
}

fn start_element(resolved: &ResolveResult, start: &BytesStart, at: usize) -> Element {
    let local = start.local_name().as_ref().to_string();
    Element::new(namespace_of(resolved), local, at)
}

/// Parses a whole document into its root element.
pub fn decode(bytes: &[u8]) -> Result<Element, ParseError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let bom = bytes.len() - body.len();
    let text = std::str::from_utf8(body)
        .map_err(|e| ParseError::new(bom + e.valid_up_to(), "invalid UTF-8"))?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().trim_text(false);
    let position = |p: u64| bom + usize::try_from(p).unwrap_or(usize::MAX);
    let mut budget = Budget::for_input(bytes.len());
    let mut open: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let at = position(reader.buffer_position());
        let (resolved, event) = match reader.read_resolved_event() {
            Ok(resolved) => resolved,
            Err(e) => {
                let message = format!("not XML: {e}");
                return Err(ParseError::new(position(reader.error_position()), message));
            }
        };
        let content_allowed = |open: &[Element], root: &Option<Element>| {
            if root.is_some() {
                Err(ParseError::new(at, "content after the root element"))
            } else if open.len() >= MAX_DEPTH {
                Err(ParseError::new(
                    at,
                    format!("elements nested deeper than {MAX_DEPTH}"),
                ))
            } else {
                Ok(())
            }
        };
        match event {
            Event::Start(start) => {
                content_allowed(&open, &root)?;
                budget.element(at)?;
                open.push(start_element(&resolved, &start, at));
            }
            Event::Empty(start) => {
                content_allowed(&open, &root)?;
                budget.element(at)?;
                let element = start_element(&resolved, &start, at);
                match open.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::End(_) => {
                // quick-xml has checked that the end tag matches the open one.
                if let Some(element) = open.pop() {
                    match open.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => root = Some(element),
                    }
                }
            }
            Event::Text(t) => push_text(&mut open, &t.xml10_content(), at)?,
            Event::CData(t) => push_text(&mut open, &t.xml10_content(), at)?,
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = reference.xml10_content();
                        match name.as_ref() {
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "amp" => "&".into(),
                            "quot" => "\"".into(),
                            "apos" => "'".into(),
                            other => {
                                return Err(ParseError::new(
                                    at,
                                    format!("unknown entity &{other};"),
                                ))
                            }
                        }
                    }
                    Err(e) => return Err(ParseError::new(at, format!("not XML: {e}"))),
                };
                push_text(&mut open, &resolved, at)?;
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    all_closed(&open, bytes.len())?;
    root.ok_or_else(|| ParseError::new(bytes.len(), "no root element"))
}

fn push_text(open: &mut [Element], text: &str, at: usize) -> Result<(), ParseError> {
    match open.last_mut() {
        Some(element) => {
            element.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(ParseError::new(at, "text outside the root element")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_spellings() {
        let root = decode(
            br#"<?xml version="1.0"?>
<!DOCTYPE AirSync PUBLIC "-//AIRSYNC//DTD AirSync//EN" "http://www.microsoft.com/">
<Sync xmlns="AirSync:" xmlns:c="POOMCONTACTS:"><c:FileAs>A &amp; B</c:FileAs><POOMCONTACTS2:NickName>N</POOMCONTACTS2:NickName><Email:Subject/></Sync>"#,
        )
        .expect("parses");
        assert!(root.is(Namespace::AirSync, "Sync"));
        assert!(root.children[0].is(Namespace::Contacts, "FileAs"));
        assert_eq!(root.children[0].text, "A & B");
        assert!(root.children[1].is(Namespace::Contacts2, "NickName"));
        assert_eq!(root.children[2].ns, Ns::Other("Email".into()));
    }

    #[test]
    fn errors() {
        let err = decode(b"<Sync><Add></Sync>").unwrap_err();
        assert!(err.message.starts_with("not XML"), "{err:?}");
        let err = decode(b"<Sync>\xC3\x28</Sync>").unwrap_err();
        assert_eq!(err.offset, 6);
        let err = decode(b"<Sync>&bogus;</Sync>").unwrap_err();
        assert!(err.message.contains("&bogus;"), "{err:?}");
        let err = decode(b"<Sync><Collections>").unwrap_err();
        assert!(err.message.contains("<Collections>"), "{err:?}");
    }
}
