//! WBXML 1.3 (WAP-192) as ActiveSync uses it → element tree.
//!
//! EAS uses a small subset: tags from the MS-ASWBXML code pages, inline strings, OPAQUE data
//! and SWITCH_PAGE; no attributes, no literal tags, no extensions. Everything outside that
//! subset, and every truncation, is an error naming the byte offset. The decoder never
//! recurses and never indexes past the input, so any byte sequence yields a tree or an error.

use super::codepages::Namespace;
use super::tree::{all_closed, Element, Ns, ParseError, MAX_DEPTH};

const SWITCH_PAGE: u8 = 0x00;
const END: u8 = 0x01;
const ENTITY: u8 = 0x02;
const STR_I: u8 = 0x03;
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

/// A string from the string table, by byte index, up to its NUL.
fn table_string(table: &[u8], index: u32, table_start: usize) -> Result<String, ParseError> {
    let index = index as usize;
    let rest = table.get(index..).ok_or_else(|| {
        ParseError::new(
            table_start,
            format!("string table reference {index} is outside the table"),
        )
    })?;
    let len = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
    utf8(rest.get(..len).unwrap_or_default(), table_start + index)
}

fn global_token_name(token: u8) -> &'static str {
    match token {
        0x04 => "LITERAL",
        0x40..=0x42 => "EXT_I",
        0x43 => "PI",
        0x44 => "LITERAL_C",
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
    let table_start = r.pos;
    let table = r.take(table_len, "string table")?;

    let mut page = Namespace::AirSync;
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
        match token {
            SWITCH_PAGE => {
                let number = r.byte("a code page number")?;
                page = Namespace::from_page(number).ok_or_else(|| {
                    ParseError::new(
                        at,
                        format!(
                            "unknown code page {number}: not one of AirSync, Contacts, \
                             Contacts2, Search, GAL, AirSyncBase"
                        ),
                    )
                })?;
            }
            END => {
                let element = open
                    .pop()
                    .ok_or_else(|| ParseError::new(at, "END without an open element"))?;
                match open.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
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
                        table_string(table, index, table_start)?
                    }
                    _ => {
                        let len = r.mb_u32("an opaque length")? as usize;
                        let data = r.take(len, "opaque data")?.to_vec();
                        let parent = open.last_mut().ok_or_else(|| {
                            ParseError::new(at, "opaque data outside any element")
                        })?;
                        parent.opaque.get_or_insert_with(Vec::new).extend(data);
                        continue;
                    }
                };
                let parent = open
                    .last_mut()
                    .ok_or_else(|| ParseError::new(at, "text outside any element"))?;
                parent.text.push_str(&text);
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
                let code = token & 0x3F;
                let name = page.tag(code).ok_or_else(|| {
                    ParseError::new(
                        at,
                        format!(
                            "unknown token 0x{code:02X} in code page {} ({})",
                            page.page(),
                            page.name()
                        ),
                    )
                })?;
                let element = Element::new(Ns::Known(page), name.to_string(), at);
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
        let err = decode(&doc(&[0x00, 0x02])).unwrap_err();
        assert_eq!(err.offset, 5);
        assert!(err.message.contains("code page 2"), "{err:?}");
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
    fn depth_is_bounded() {
        let mut v = vec![0x03, 0x01, 0x6A, 0x00];
        v.extend(std::iter::repeat_n(0x45, MAX_DEPTH + 1));
        let err = decode(&v).unwrap_err();
        assert!(err.message.contains("deeper"), "{err:?}");
    }
}
