//! Which of the three input formats a file holds, decided by its content (exports and logs
//! carry arbitrary extensions): WBXML starts with a version byte 0x00-0x03, XML with `<`
//! (after an optional BOM and whitespace), and base64 is nothing but base64 characters that
//! decode to WBXML.

use std::borrow::Cow;

use super::tree::decode_base64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Wbxml,
    /// Base64 of WBXML, as Z-Push and other servers log request and response bodies.
    Base64Wbxml,
}

impl Format {
    /// How error offsets are to be read.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Xml => "EAS XML",
            Format::Wbxml => "WBXML",
            Format::Base64Wbxml => "base64 WBXML (offsets count decoded bytes)",
        }
    }
}

fn looks_like_wbxml(bytes: &[u8]) -> bool {
    matches!(bytes.first(), Some(0x00..=0x03))
}

/// The format and the bytes to decode (base64 already decoded).
pub fn detect(bytes: &[u8]) -> Result<(Format, Cow<'_, [u8]>), String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    if looks_like_wbxml(bytes) {
        return Ok((Format::Wbxml, Cow::Borrowed(bytes)));
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err("UTF-16 text; save the XML as UTF-8".into());
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'<') {
        return Ok((Format::Xml, Cow::Borrowed(bytes)));
    }
    let is_base64 =
        |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_');
    if first.is_some() && body.iter().all(|b| is_base64(b) || b.is_ascii_whitespace()) {
        // All ASCII, checked above.
        let text = String::from_utf8_lossy(body);
        let decoded =
            decode_base64(&text).map_err(|e| format!("base64 text that does not decode: {e}"))?;
        if looks_like_wbxml(&decoded) {
            return Ok((Format::Base64Wbxml, Cow::Owned(decoded)));
        }
        return Err("base64 text that does not decode to WBXML".into());
    }
    let start: String = body
        .iter()
        .take(16)
        .map(|b| match b {
            0x20..=0x7E => char::from(*b),
            _ => '.',
        })
        .collect();
    Err(format!(
        "neither EAS XML, WBXML nor base64 WBXML (starts with {start:?})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_content() {
        assert_eq!(detect(b"\x03\x01j\x00E\x01").unwrap().0, Format::Wbxml);
        assert_eq!(detect(b"\xEF\xBB\xBF\n <Sync/>").unwrap().0, Format::Xml);
        let (format, bytes) = detect(b"AwFqAEUB\n").unwrap();
        assert_eq!(format, Format::Base64Wbxml);
        assert_eq!(bytes.as_ref(), b"\x03\x01j\x00E\x01");
        assert!(detect(b"SGVsbG8=")
            .unwrap_err()
            .contains("not decode to WBXML"));
        assert!(detect(b"BEGIN:VCARD\r\n").unwrap_err().contains("neither"));
        assert_eq!(detect(b"").unwrap_err(), "the file is empty");
        assert!(detect(b" \n").unwrap_err().contains("neither"));
        assert!(detect(b"\xFF\xFE<\x00").unwrap_err().contains("UTF-16"));
    }
}
