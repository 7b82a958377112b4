//! A card's `PHOTO` lines, written straight into the buffer they are sent from.
//!
//! A photo is kilobytes of base64 against a few hundred bytes for the rest of a card, so it is
//! not cached with the card's text: it is encoded each time the card is sent, slice by slice
//! through a small stack buffer into the reply (a vCard body, or the XML of a report, where
//! every CR is written `&#13;`), with no photo-sized temporary. Its length is known without
//! encoding it, for `getcontentlength` and for sizing the reply.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::VcardVersion;

/// RFC 2426 §2.6 / RFC 6350 §3.2: physical lines of at most 75 octets; a fold is a line end
/// and one space, which counts towards the next line.
const MAX_OCTETS: usize = 75;
/// Input bytes encoded per slice: a multiple of 3, so no padding inside the value.
const SLICE: usize = 768;

/// The lines of one photo the card shows.
pub struct PhotoLines<'a> {
    prefix: [&'a str; 3],
    data: &'a [u8],
}

/// What a line end is written as: in a vCard body, or escaped in XML text.
#[derive(Clone, Copy)]
pub enum LineEnd {
    Crlf,
    XmlEscaped,
}

impl LineEnd {
    fn as_str(self) -> &'static str {
        match self {
            LineEnd::Crlf => "\r\n",
            LineEnd::XmlEscaped => "&#13;\n",
        }
    }
}

impl<'a> PhotoLines<'a> {
    /// `None` when a card shows no such photo: empty, or neither JPEG nor PNG (strict parsers
    /// reject other types).
    pub fn new(media_type: &str, data: &'a [u8], version: VcardVersion) -> Option<PhotoLines<'a>> {
        if data.is_empty() {
            return None;
        }
        let (v3_type, media_type) = photo_type(media_type)?;
        let prefix = match version {
            // Apple and Nextcloud need TYPE; Thunderbird sniffs the decoded bytes.
            VcardVersion::V3 => ["PHOTO;ENCODING=b;TYPE=", v3_type, ":"],
            VcardVersion::V4 => ["PHOTO:data:", media_type, ";base64,"],
        };
        Some(PhotoLines { prefix, data })
    }

    /// Octets written with CRLF line ends (never 0: a shown photo has a line).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        let line =
            self.prefix.iter().map(|p| p.len()).sum::<usize>() + self.data.len().div_ceil(3) * 4;
        let folds = line.saturating_sub(MAX_OCTETS).div_ceil(MAX_OCTETS - 1);
        line + folds * 3 + 2
    }

    /// Appends the lines to `out`.
    pub fn write(&self, out: &mut String, end: LineEnd) {
        let end = end.as_str();
        let mut folded = Folded { out, end, col: 0 };
        for part in self.prefix {
            folded.push(part);
        }
        let mut buf = [0u8; SLICE / 3 * 4];
        for part in self.data.chunks(SLICE) {
            let written = STANDARD.encode_slice(part, &mut buf).unwrap_or(0);
            // Base64 is ASCII.
            folded.push(std::str::from_utf8(buf.get(..written).unwrap_or_default()).unwrap_or(""));
        }
        folded.out.push_str(end);
    }
}

/// ASCII appended with folds at 75 octets.
struct Folded<'o> {
    out: &'o mut String,
    end: &'static str,
    col: usize,
}

impl Folded<'_> {
    fn push(&mut self, mut s: &str) {
        while self.col + s.len() > MAX_OCTETS {
            let Some((line, rest)) = s.split_at_checked(MAX_OCTETS.saturating_sub(self.col)) else {
                break;
            };
            self.out.push_str(line);
            self.out.push_str(self.end);
            self.out.push(' ');
            self.col = 1;
            s = rest;
        }
        self.out.push_str(s);
        self.col += s.len();
    }
}

/// (3.0 TYPE, 4.0 media type) for the photo formats every client shows.
pub(super) fn photo_type(media_type: &str) -> Option<(&'static str, &'static str)> {
    let essence = media_type
        .split_once(';')
        .map_or(media_type, |(essence, _)| essence)
        .trim();
    if ["image/jpeg", "image/jpg", "image/pjpeg"]
        .iter()
        .any(|t| t.eq_ignore_ascii_case(essence))
    {
        Some(("JPEG", "image/jpeg"))
    } else if essence.eq_ignore_ascii_case("image/png") {
        Some(("PNG", "image/png"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The length is what is written, for every size around the fold points, and an XML
    /// rendering differs only in its line ends.
    #[test]
    fn the_length_is_known_without_writing_and_xml_differs_only_in_line_ends() {
        for size in (1..200).chain([766, 767, 768, 769, 2000, 6000]) {
            let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            for version in [VcardVersion::V3, VcardVersion::V4] {
                let lines = PhotoLines::new("image/png", &data, version).expect("shown");
                let mut crlf = String::new();
                lines.write(&mut crlf, LineEnd::Crlf);
                assert_eq!(crlf.len(), lines.len(), "{size}");
                assert!(crlf.split("\r\n").all(|l| l.len() <= MAX_OCTETS));
                let mut xml = String::new();
                lines.write(&mut xml, LineEnd::XmlEscaped);
                assert_eq!(xml, crlf.replace('\r', "&#13;"));
            }
        }
        assert!(PhotoLines::new("image/gif", b"GIF89a", VcardVersion::V3).is_none());
        assert_eq!(photo_type("IMAGE/JPG"), Some(("JPEG", "image/jpeg")));
        assert_eq!(photo_type("image/png; q=1"), Some(("PNG", "image/png")));
        assert_eq!(photo_type(""), None);
        assert!(PhotoLines::new("image/jpeg", b"", VcardVersion::V3).is_none());
    }
}
