//! A small, guarded XML reader: request bodies become an element tree with resolved
//! namespaces. DTDs are refused before anything is expanded, unbound prefixes are errors, and
//! depth and element count are bounded. Names that are not XML names and characters XML 1.0
//! does not allow (raw or as character references) are refused, since names, namespaces and
//! hrefs are echoed in replies.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::{QName, RequestError};
use crate::dav::xml::chars::{is_char, is_qname};

const MAX_DEPTH: usize = 64;
const MAX_ELEMENTS: usize = 1_000_000;

/// An element with its resolved name, attributes (by local name) and text.
#[derive(Debug, Default)]
pub struct Element {
    pub name: QName,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.name.ns == ns && self.name.local == local
    }

    pub fn child(&self, ns: &str, local: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, local))
    }

    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(name, _)| name == local)
            .map(|(_, value)| value.as_str())
    }
}

fn resolved_ns(result: &ResolveResult, raw: &str, at: u64) -> Result<String, RequestError> {
    match result {
        ResolveResult::Bound(ns) => Ok(ns.as_ref().to_string()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(prefix) => Err(RequestError::UnboundPrefix {
            prefix: prefix.clone(),
            element: raw.to_string(),
            at,
        }),
    }
}

/// `text` with only characters XML 1.0 allows.
fn allowed(text: &str, at: u64) -> Result<(), RequestError> {
    match text.chars().find(|c| !is_char(*c)) {
        None => Ok(()),
        Some(c) => Err(RequestError::Malformed {
            message: format!("character U+{:04X} is not allowed in XML", u32::from(c)),
            at,
        }),
    }
}

/// Parses a whole body into its root element.
pub fn parse(body: &[u8]) -> Result<Element, RequestError> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(RequestError::NotUtf8);
    };
    allowed(text, 0)?;
    let mut reader = NsReader::from_reader(body);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let at = reader.buffer_position();
        let (resolve, event) = match reader.read_resolved_event() {
            Ok(resolved) => resolved,
            Err(e) => {
                let message = e.to_string();
                return Err(RequestError::Malformed {
                    message,
                    at: reader.error_position(),
                });
            }
        };
        match event {
            Event::DocType(_) => return Err(RequestError::Doctype),
            Event::Start(ref start) | Event::Empty(ref start) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(RequestError::TooManyElements(MAX_ELEMENTS));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(RequestError::TooDeep(MAX_DEPTH));
                }
                if root.is_some() {
                    return Err(RequestError::Malformed {
                        message: "content after the root element".into(),
                        at,
                    });
                }
                let qname = start.name();
                let raw_name: &str = qname.as_ref();
                if !is_qname(raw_name) {
                    return Err(RequestError::Malformed {
                        message: format!("{raw_name:?} is not an XML element name"),
                        at,
                    });
                }
                let ns = resolved_ns(&resolve, start.name().as_ref(), at)?;
                let local = start.local_name().as_ref().to_string();
                let mut attrs = Vec::new();
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| RequestError::Malformed {
                        message: e.to_string(),
                        at,
                    })?;
                    let key = attr.key;
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| RequestError::Malformed {
                            message: e.to_string(),
                            at,
                        })?;
                    allowed(&value, at)?;
                    if key.as_ref().starts_with("xmlns") {
                        continue;
                    }
                    let (attr_ns, attr_local) = reader.resolver().resolve_attribute(key);
                    resolved_ns(&attr_ns, key.as_ref(), at)?;
                    attrs.push((attr_local.as_ref().to_string(), value.into_owned()));
                }
                let element = Element {
                    name: QName { ns, local },
                    attrs,
                    ..Element::default()
                };
                if matches!(event, Event::Empty(_)) {
                    attach(&mut stack, &mut root, element);
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) => {
                // quick-xml has already checked that the end tag matches.
                if let Some(element) = stack.pop() {
                    attach(&mut stack, &mut root, element);
                }
            }
            Event::Text(text) => {
                let content = text.xml10_content();
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => {
                        return Err(RequestError::Malformed {
                            message: "text outside the root element (is this XML?)".into(),
                            at,
                        })
                    }
                }
            }
            Event::CData(data) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&data.xml10_content());
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => {
                        allowed(c.encode_utf8(&mut [0; 4]), at)?;
                        c.to_string()
                    }
                    Ok(None) => match reference.xml10_content().as_ref() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => {
                            return Err(RequestError::Malformed {
                                message: format!("unknown entity &{other};"),
                                at,
                            })
                        }
                    },
                    Err(e) => {
                        return Err(RequestError::Malformed {
                            message: e.to_string(),
                            at,
                        })
                    }
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(RequestError::Malformed {
            message: "unexpected end of document: unclosed element".into(),
            at: body.len() as u64,
        });
    }
    root.ok_or(RequestError::Empty)
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}
