//! WBXML 1.3 (WAP-192) as ActiveSync uses it → element tree.
//!
//! EAS uses a small subset: tags from the MS-ASWBXML code pages, inline strings, OPAQUE data
//! and SWITCH_PAGE; no attributes, no extensions. Literal tags (a name from the string table)
//! are read too: libwbxml writes them for names its tables lack. Everything else, and every
//! truncation, is an error naming the byte offset. The decoder never recurses, never indexes
//! past the input, and checks every string-table reference and the [`Budget`] before copying
//! anything, so any byte sequence yields a bounded tree or an error.

use super::codepages::{other_page_name, Namespace};
use super::tree::{all_closed, Budget, Element, Ns, ParseError, MAX_DEPTH};

const SWITCH_PAGE: u8 = 0x00;
const END: u8 = 0x01;
const ENTITY: u8 = 0x02;
const STR_I: u8 = 0x03;
const LITERAL: u8 = 0x04;
const LITERAL_C: u8 = 0x44;
const STR_T: u8 = 0x83;
const OPAQUE: u8 = 0xC3;
/// IANA MIBenum of UTF-8, the only charset EAS sends.
const UTF8_MIB: u32 = 106;

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn truncated(&self, what: &str) -> ParseError {
        ParseError::new(self.pos, format!("truncated: expected {what}"))
    }

    fn byte(&mut self, what: &str) -> Result<u8, ParseError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| self.truncated(what))?;
        self.pos += 1;
        Ok(b)
    }

    /// A WBXML `mb_u_int32`: big-endian base-128, at most five bytes.
    fn mb_u32(&mut self, what: &str) -> Result<u32, ParseError> {
        let start = self.pos;
        let mut value: u32 = 0;
        for _ in 0..5 {
            let b = self.byte(what)?;
            value = value
                .checked_mul(128)
                .and_then(|v| v.checked_add(u32::from(b & 0x7F)))
                .ok_or_else(|| ParseError::new(start, format!("{what} overflows 32 bits")))?;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ParseError::new(
            start,
            format!("{what} is longer than 5 bytes"),
        ))
    }

    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], ParseError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| {
                ParseError::new(
                    self.bytes.len(),
                    format!(
                        "truncated: {what} of {len} bytes starting at byte {} runs past the end",
                        self.pos
                    ),
                )
            })?;
        let slice = self.bytes.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(slice)
    }

    /// A NUL-terminated inline string, checked as UTF-8.
    fn inline_string(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        let rest = self.bytes.get(start..).unwrap_or_default();
        let len = rest.iter().position(|b| *b == 0).ok_or_else(|| {
            ParseError::new(
                self.bytes.len(),
                format!("truncated: inline string starting at byte {start} has no terminating NUL"),
            )
        })?;
        let raw = self.take(len, "inline string")?;
        self.pos += 1; // the NUL, known to be there
        utf8(raw, start)
    }
}

fn utf8(raw: &[u8], start: usize) -> Result<String, ParseError> {
    std::str::from_utf8(raw).map(str::to_string).map_err(|e| {
        ParseError::new(
            start + e.valid_up_to(),
            "invalid UTF-8 in a string".to_string(),
        )
    })
}

/// The string table and where it starts in the file.
struct Table<'a> {
    bytes: &'a [u8],
    start: usize,
}

impl Table<'_> {
    /// The string at byte `index` up to its NUL, for a reference at byte `at`: the reference
    /// is checked and the copy charged to `budget` before anything is copied.
    fn string(&self, index: u32, at: usize, budget: &mut Budget) -> Result<String, ParseError> {
        let index = index as usize;
        let rest = self.bytes.get(index..).filter(|rest| !rest.is_empty());
        let rest = rest.ok_or_else(|| {
            ParseError::new(
                at,
                format!(
                    "string table reference {index} is outside the table ({} bytes)",
                    self.bytes.len()
                ),
            )
        })?;
        let len = rest.iter().position(|b| *b == 0).ok_or_else(|| {
            ParseError::new(
                at,
                format!("string table reference {index}: the string has no terminating NUL"),
            )
        })?;
        budget.text(len, at)?;
        utf8(rest.get(..len).unwrap_or_default(), self.start + index)
    }
}

/// The code page tags are read from: one this source knows the tags of, or another EAS page
/// whose elements are kept as foreign (named by token) so their collection can be skipped.
#[derive(Clone, Copy)]
enum Page {
    Known(Namespace),
    Other(&'static str),
}

impl Page {
    fn from_number(number: u8) -> Option<Page> {
        Namespace::from_page(number)
            .map(Page::Known)
            .or_else(|| other_page_name(number).map(Page::Other))
    }

    /// The element a tag token (without its content/attribute bits) stands for.
    fn element(self, code: u8, at: usize) -> Result<Element, ParseError> {
        match self {
            Page::Known(ns) => {
                let name = ns.tag(code).ok_or_else(|| {
                    ParseError::new(
                        at,
                        format!(
                            "unknown token 0x{code:02X} in code page {} ({})",
                            ns.page(),
                            ns.name()
                        ),
                    )
                })?;
                Ok(Element::new(Ns::Known(ns), name.to_string(), at))
            }
            Page::Other(name) => Ok(Element::new(
                Ns::Other(name.to_string()),
                format!("token 0x{code:02X}"),
                at,
            )),
        }
    }

    fn namespace_of_literal(self) -> Ns {
        match self {
            Page::Known(ns) => Ns::Known(ns),
            Page::Other(name) => Ns::Other(name.to_string()),
        }
    }
}

fn global_token_name(token: u8) -> &'static str {
    match token {
        0x40..=0x42 => "EXT_I",
        0x43 => "PI",
        0x80..=0x82 => "EXT_T",
        0x84 => "LITERAL_A",
        0xC0..=0xC2 => "EXT",
        _ => "LITERAL_AC",
    }
}

/// Decodes a whole WBXML document into its root element.
pub fn decode(bytes: &[u8]) -> Result<Element, ParseError> {
    let mut r = Reader { bytes, pos: 0 };
    let version = r.byte("the WBXML version")?;
    if version > 0x03 {
        return Err(ParseError::new(
            0,
            format!("WBXML version byte 0x{version:02X} is not 1.0-1.3"),
        ));
    }
    if r.mb_u32("the public identifier")? == 0 {
        r.mb_u32("the public identifier's string table index")?;
    }
    let charset_at = r.pos;
    let charset = r.mb_u32("the charset")?;
    if charset != UTF8_MIB && charset != 0 {
        return Err(ParseError::new(
            charset_at,
            format!("charset MIBenum {charset} is not UTF-8 (106), which EAS uses"),
        ));
    }
    let table_len = r.mb_u32("the string table length")? as usize;
    let table = Table {
        start: r.pos,
        bytes: r.take(table_len, "string table")?,
    };
    let mut budget = Budget::for_input(bytes.len());

    let mut page = Page::Known(Namespace::AirSync);
    let mut open: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    while r.pos < bytes.len() {
        let at = r.pos;
        if root.is_some() {
            return Err(ParseError::new(
                at,
                "data after the end of the root element",
            ));
        }
        let token = r.byte("a token")?;
        let element = match token {
            SWITCH_PAGE => {
                let number = r.byte("a code page number")?;
                page = Page::from_number(number).ok_or_else(|| {
                    ParseError::new(
                        at,
                        format!("unknown code page {number}: not an ActiveSync code page"),
                    )
                })?;
                continue;
            }
            END => {
                let element = open
                    .pop()
                    .ok_or_else(|| ParseError::new(at, "END without an open element"))?;
                match open.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
                continue;
            }
            ENTITY | STR_I | STR_T | OPAQUE => {
                let text = match token {
                    ENTITY => {
                        let code = r.mb_u32("an entity code")?;
                        char::from_u32(code)
                            .ok_or_else(|| {
                                ParseError::new(at, format!("entity {code} is not a character"))
                            })?
                            .to_string()
                    }
                    STR_I => r.inline_string()?,
                    STR_T => {
                        let index = r.mb_u32("a string table reference")?;
                        table.string(index, at, &mut budget)?
                    }
                    _ => {
                        let len = r.mb_u32("an opaque length")? as usize;
                        let data = r.take(len, "opaque data")?;
                        budget.text(len, at)?;
                        let parent = open.last_mut().ok_or_else(|| {
                            ParseError::new(at, "opaque data outside any element")
                        })?;
                        parent.opaque.get_or_insert_with(Vec::new).extend(data);
                        continue;
                    }
                };
                if token != STR_T {
                    budget.text(text.len(), at)?;
                }
                let parent = open
                    .last_mut()
                    .ok_or_else(|| ParseError::new(at, "text outside any element"))?;
                parent.text.push_str(&text);
                continue;
            }
            LITERAL | LITERAL_C => {
                let index = r.mb_u32("a literal tag's string table reference")?;
                let name = table.string(index, at, &mut budget)?;
                Element::new(page.namespace_of_literal(), name, at)
            }
            _ if token & 0x3F < 0x05 => {
                return Err(ParseError::new(
                    at,
                    format!(
                        "WBXML token 0x{token:02X} ({}) is not used by ActiveSync",
                        global_token_name(token)
                    ),
                ));
            }
            _ => {
                if token & 0x80 != 0 {
                    return Err(ParseError::new(
                        at,
                        format!("tag 0x{token:02X} has attributes, which ActiveSync never sends"),
                    ));
                }
                page.element(token & 0x3F, at)?
            }
        };
        budget.element(at)?;
        if token & 0x40 == 0 {
            match open.last_mut() {
                Some(parent) => parent.children.push(element),
                None => root = Some(element),
            }
        } else {
            if open.len() >= MAX_DEPTH {
                return Err(ParseError::new(
                    at,
                    format!("elements nested deeper than {MAX_DEPTH}"),
                ));
            }
            open.push(element);
        }
    }
    all_closed(&open, bytes.len())?;
    root.ok_or_else(|| ParseError::new(bytes.len(), "truncated: no root element"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `<Sync><Collections/></Sync>` plus `tail` inside Sync.
    fn doc(tail: &[u8]) -> Vec<u8> {
        let mut v = vec![0x03, 0x01, 0x6A, 0x00, 0x45];
        v.extend_from_slice(tail);
        v.push(END);
        v
    }

    #[test]
    fn minimal_document() {
        let root = decode(&doc(&[0x1C])).expect("decodes");
        assert!(root.is(Namespace::AirSync, "Sync"));
        assert!(root.child(Namespace::AirSync, "Collections").is_some());
    }

    #[test]
    fn strings_entities_and_opaque() {
        // <Status>1&#233;</Status> via STR_I + ENTITY, then OPAQUE on GAL:Data.
        let root = decode(&doc(&[
            0x4E, 0x03, b'1', 0x00, 0x02, 0x81, 0x69, 0x01, 0x00, 0x10, 0x52, 0xC3, 0x02, 0xFF,
            0x00, 0x01,
        ]))
        .expect("decodes");
        assert_eq!(root.children[0].text, "1é");
        assert_eq!(root.children[1].opaque.as_deref(), Some(&[0xFF, 0x00][..]));
    }

    #[test]
    fn errors_name_offsets() {
        let err = decode(&doc(&[0x00, 0x1A])).unwrap_err();
        assert_eq!(err.offset, 5);
        assert!(err.message.contains("code page 26"), "{err:?}");
        let err = decode(&doc(&[0x3F])).unwrap_err();
        assert!(err.message.contains("unknown token 0x3F"), "{err:?}");
        let err = decode(&doc(&[0x4E, 0x03, 0xC3, 0x28, 0x00, 0x01])).unwrap_err();
        assert_eq!(err.offset, 7);
        assert!(err.message.contains("UTF-8"), "{err:?}");
        let err = decode(&[0x03, 0x01, 0x6A, 0x00, 0x45, 0x5C]).unwrap_err();
        assert!(err.message.contains("truncated"), "{err:?}");
        let err = decode(&[0x03, 0x01, 0x6A, 0x00, 0x85]).unwrap_err();
        assert!(err.message.contains("attributes"), "{err:?}");
        let err = decode(&[0x03, 0x01, 0x04, 0x00, 0x05]).unwrap_err();
        assert!(err.message.contains("charset"), "{err:?}");
        let err = decode(&[0x03, 0x01, 0x6A, 0x00, 0x05, 0x05]).unwrap_err();
        assert!(err.message.contains("after the end"), "{err:?}");
    }

    #[test]
    fn literal_tags_and_other_pages() {
        // String table "Hobby\0"; <Sync><LITERAL_C 0>x</><SWITCH_PAGE 2 (Email)><Subject/></Sync>
        let bytes = [
            0x03, 0x01, 0x6A, 0x06, b'H', b'o', b'b', b'b', b'y', 0x00, 0x45, 0x44, 0x00, 0x03,
            b'x', 0x00, 0x01, 0x00, 0x02, 0x14, 0x01,
        ];
        let root = decode(&bytes).expect("decodes");
        assert!(root.children[0].is(Namespace::AirSync, "Hobby"));
        assert_eq!(root.children[0].text, "x");
        assert_eq!(root.children[1].ns, Ns::Other("Email".into()));
        assert_eq!(root.children[1].name, "token 0x14");
        let mut unterminated = bytes;
        unterminated[9] = b'!';
        let err = decode(&unterminated).unwrap_err();
        assert!(err.message.contains("no terminating NUL"), "{err:?}");
    }

    #[test]
    fn depth_is_bounded() {
        let mut v = vec![0x03, 0x01, 0x6A, 0x00];
        v.extend(std::iter::repeat_n(0x45, MAX_DEPTH + 1));
        let err = decode(&v).unwrap_err();
        assert!(err.message.contains("deeper"), "{err:?}");
    }
}
