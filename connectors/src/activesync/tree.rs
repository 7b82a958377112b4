//! The element tree both decoders (WBXML and XML) produce, so everything after decoding reads
//! one shape and the three input formats cannot drift apart.

use base64::Engine;

use super::codepages::Namespace;

/// Deepest nesting either decoder accepts. EAS responses nest about eight levels; the bound
/// keeps hostile input from exhausting the stack in later recursive walks.
pub const MAX_DEPTH: usize = 32;

/// Most elements one file may hold. A Sync response carries at most 512 items (the largest
/// WindowSize) and a GAL Search 100, each a few dozen elements; two million leave room for
/// hand-made exports of about 120,000 contacts in one file (the load benchmark writes
/// 100,000) and bound the tree to some 350 MB, where a 200 MB file of empty elements used to
/// build one of 4.7 GB.
pub const MAX_ELEMENTS: usize = 2_000_000;

/// What decoding one file may cost, checked before anything is allocated for it: at most
/// [`MAX_ELEMENTS`] elements, and decoded text (strings, string-table references, entities,
/// opaque data, literal tag names) at most 16 times the input plus 1 MiB. WBXML can reference
/// one string-table entry any number of times, so without the text cap a 1 MB file could
/// decode to gigabytes; XML text never outgrows its input.
pub struct Budget {
    text_limit: usize,
    text: usize,
    elements: usize,
}

impl Budget {
    pub fn for_input(len: usize) -> Budget {
        Budget {
            text_limit: len.saturating_mul(16).saturating_add(1 << 20),
            text: 0,
            elements: 0,
        }
    }

    /// Counts one more element starting at byte `at`.
    pub fn element(&mut self, at: usize) -> Result<(), ParseError> {
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return Err(ParseError::new(
                at,
                format!("more than {MAX_ELEMENTS} elements in one file; split the export"),
            ));
        }
        Ok(())
    }

    /// Counts `len` more bytes of decoded text found at byte `at`.
    pub fn text(&mut self, len: usize, at: usize) -> Result<(), ParseError> {
        self.text = self.text.saturating_add(len);
        if self.text > self.text_limit {
            return Err(ParseError::new(
                at,
                format!(
                    "decoded text would exceed {} bytes (16 times the file's size plus 1 MiB); \
                     string table references repeat too often for a real export",
                    self.text_limit
                ),
            ));
        }
        Ok(())
    }
}

/// Why a file could not be decoded: the byte offset (in the decoded WBXML for base64 input)
/// and what was wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

impl ParseError {
    pub fn new(offset: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            offset,
            message: message.into(),
        }
    }
}

/// An element's namespace as the input spelled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ns {
    Known(Namespace),
    /// XML without any namespace declaration; matched by name alone.
    Unqualified,
    /// A namespace this source does not read (e.g. `Email:`), as written.
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub ns: Ns,
    /// The local name as decoded (WBXML: the MS-ASWBXML name; XML: as written).
    pub name: String,
    /// Byte offset of the element's start (WBXML tag token, XML `<`).
    pub offset: usize,
    pub children: Vec<Element>,
    /// Character content, concatenated.
    pub text: String,
    /// WBXML OPAQUE content (GAL pictures travel this way).
    pub opaque: Option<Vec<u8>>,
}

impl Element {
    pub fn new(ns: Ns, name: String, offset: usize) -> Element {
        Element {
            ns,
            name,
            offset,
            children: Vec::new(),
            text: String::new(),
            opaque: None,
        }
    }

    /// Whether this is `ns:name`; unqualified XML elements match any namespace, names match
    /// case-insensitively (decoders disagree on case, e.g. `NickName`).
    pub fn is(&self, ns: Namespace, name: &str) -> bool {
        self.in_namespace(ns) && self.name.eq_ignore_ascii_case(name)
    }

    pub fn in_namespace(&self, ns: Namespace) -> bool {
        match &self.ns {
            Ns::Known(own) => *own == ns,
            Ns::Unqualified => true,
            Ns::Other(_) => false,
        }
    }

    pub fn child(&self, ns: Namespace, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    pub fn children_named<'a>(
        &'a self,
        ns: Namespace,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// `<Contacts:FirstName>` for messages.
    pub fn label(&self) -> String {
        match &self.ns {
            Ns::Known(ns) => format!("<{}:{}>", ns.name(), self.name),
            Ns::Unqualified => format!("<{}>", self.name),
            Ns::Other(uri) => format!("<{}> (namespace {uri:?})", self.name),
        }
    }

    /// The text value, trimmed, with CRLF line ends turned into LF. OPAQUE content counts as
    /// UTF-8 text; invalid UTF-8 there is an error naming the element.
    pub fn text_value(&self) -> Result<String, ParseError> {
        let mut text = self.text.clone();
        if let Some(bytes) = &self.opaque {
            let decoded = std::str::from_utf8(bytes).map_err(|e| {
                ParseError::new(
                    self.offset,
                    format!(
                        "{}: invalid UTF-8 in opaque data at its byte {}",
                        self.label(),
                        e.valid_up_to()
                    ),
                )
            })?;
            text.push_str(decoded);
        }
        Ok(text.trim().replace("\r\n", "\n"))
    }

    /// Binary content: OPAQUE bytes as they are, text as base64 (whitespace ignored, padding
    /// optional, since pretty-printers wrap long values).
    pub fn binary_value(&self) -> Result<Vec<u8>, String> {
        if let Some(bytes) = &self.opaque {
            if self.text.trim().is_empty() {
                return Ok(bytes.clone());
            }
        }
        decode_base64(&self.text).map_err(|e| format!("not base64: {e}"))
    }
}

/// Base64 as servers and log viewers write it: standard or URL-safe alphabet, padding
/// optional, whitespace anywhere.
/// Both decoders end here: an element still open at the end of the input means the file was
/// cut short.
pub fn all_closed(open: &[Element], end: usize) -> Result<(), ParseError> {
    match open.last() {
        Some(innermost) => Err(ParseError::new(
            end,
            format!(
                "truncated: {} opened at byte {} is not closed",
                innermost.label(),
                innermost.offset
            ),
        )),
        None => Ok(()),
    }
}

pub fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::alphabet;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let config = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let url_safe = compact.iter().any(|b| matches!(b, b'-' | b'_'));
    let alphabet = if url_safe {
        &alphabet::URL_SAFE
    } else {
        &alphabet::STANDARD
    };
    GeneralPurpose::new(alphabet, config).decode(compact)
}
