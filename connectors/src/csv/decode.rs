//! Bytes of a CSV file to text, deciding the encoding per file from evidence: a byte order
//! mark wins (UTF-8, UTF-16 LE/BE); otherwise a file that is UTF-8 but for a few invalid
//! sequences stays UTF-8, with those replaced and reported, and only a file that is mostly
//! not UTF-8 is read as Windows-1252 (Outlook desktop). One damaged byte must not turn every
//! name of a UTF-8 export into mojibake.

use super::settings::CsvEncoding;

/// Decoded text and how it was decided.
#[derive(Debug, PartialEq)]
pub struct Decoded {
    pub text: String,
    /// The encoding and the evidence, e.g. `UTF-8` or `Windows-1252 (not UTF-8: …)`.
    pub encoding: String,
    /// Byte offsets in `text` of each U+FFFD that replaced invalid bytes, ascending.
    pub replaced: Vec<usize>,
}

/// What a UTF-8 reading of the bytes found.
struct Utf8Reading {
    text: String,
    replaced: Vec<usize>,
    /// Correctly encoded characters outside ASCII: the evidence that the file is UTF-8.
    valid_non_ascii: usize,
    /// (byte offset, line) of the first invalid sequence in the input.
    first_invalid: Option<(usize, usize)>,
}

/// Why a file cannot be read as text as configured (the poll fails as bad data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("invalid {codec} after its byte order mark")]
    AfterByteOrderMark { codec: &'static str },
    #[error(
        "not UTF-8 ({evidence}; the first at byte {offset}, line {line}); set encoding = \
         \"windows-1252\" if the file comes from Outlook desktop"
    )]
    NotUtf8 {
        evidence: String,
        offset: usize,
        line: usize,
    },
}

/// Decodes `bytes` as `encoding` says (see `CsvEncoding`); the error explains why the file
/// cannot be read as configured.
pub fn decode(bytes: &[u8], encoding: CsvEncoding) -> Result<Decoded, DecodeError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        let reading = utf8(rest);
        return Ok(Decoded {
            text: reading.text,
            encoding: "UTF-8 (byte order mark)".into(),
            replaced: reading.replaced,
        });
    }
    for (bom, codec) in [
        (b"\xFF\xFE", encoding_rs::UTF_16LE),
        (b"\xFE\xFF", encoding_rs::UTF_16BE),
    ] {
        if let Some(rest) = bytes.strip_prefix(bom) {
            return codec
                .decode_without_bom_handling_and_without_replacement(rest)
                .map(|text| Decoded {
                    text: text.into_owned(),
                    encoding: format!("{} (byte order mark)", codec.name()),
                    replaced: Vec::new(),
                })
                .ok_or(DecodeError::AfterByteOrderMark {
                    codec: codec.name(),
                });
        }
    }
    if encoding == CsvEncoding::Windows1252 {
        return Ok(windows_1252(bytes, "as configured".into()));
    }
    let reading = utf8(bytes);
    let invalid = reading.replaced.len();
    if invalid == 0 || invalid <= reading.valid_non_ascii {
        return Ok(Decoded {
            text: reading.text,
            encoding: "UTF-8".into(),
            replaced: reading.replaced,
        });
    }
    let evidence = format!(
        "{invalid} invalid UTF-8 sequences, {} valid non-ASCII characters",
        reading.valid_non_ascii
    );
    match (encoding, reading.first_invalid) {
        (CsvEncoding::Utf8, Some((offset, line))) => Err(DecodeError::NotUtf8 {
            evidence,
            offset,
            line,
        }),
        _ => Ok(windows_1252(bytes, format!("not UTF-8: {evidence}"))),
    }
}

/// [`decode`] taking the bytes: a file that is valid UTF-8 without a byte order mark (the
/// usual case) becomes the text without a copy, so a large file is not held twice while it
/// is read (190 MB for 1,000,000 contacts).
pub fn decode_owned(bytes: Vec<u8>, encoding: CsvEncoding) -> Result<Decoded, DecodeError> {
    let marked = [&b"\xEF\xBB\xBF"[..], b"\xFF\xFE", b"\xFE\xFF"]
        .iter()
        .any(|bom| bytes.starts_with(bom));
    if marked || encoding == CsvEncoding::Windows1252 {
        return decode(&bytes, encoding);
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Decoded {
            text,
            encoding: "UTF-8".into(),
            replaced: Vec::new(),
        }),
        Err(e) => decode(e.as_bytes(), encoding),
    }
}

/// Reads `bytes` as UTF-8, replacing each invalid sequence with U+FFFD.
fn utf8(bytes: &[u8]) -> Utf8Reading {
    let mut reading = Utf8Reading {
        text: String::with_capacity(bytes.len()),
        replaced: Vec::new(),
        valid_non_ascii: 0,
        first_invalid: None,
    };
    let mut rest = bytes;
    while !rest.is_empty() {
        let (valid, bad_len) = match std::str::from_utf8(rest) {
            Ok(all) => (all, 0),
            Err(e) => {
                let (valid, _) = rest.split_at_checked(e.valid_up_to()).unwrap_or_default();
                // Valid by construction; `error_len` is `None` for a sequence cut by the end.
                let valid = std::str::from_utf8(valid).unwrap_or_default();
                (valid, e.error_len().unwrap_or(rest.len() - valid.len()))
            }
        };
        reading.valid_non_ascii += valid.bytes().filter(|b| *b >= 0xC0).count();
        reading.text.push_str(valid);
        let consumed = valid.len();
        if bad_len == 0 {
            break;
        }
        if reading.first_invalid.is_none() {
            let offset = bytes.len() - rest.len() + consumed;
            let line = reading.text.bytes().filter(|b| *b == b'\n').count() + 1;
            reading.first_invalid = Some((offset, line));
        }
        reading.replaced.push(reading.text.len());
        reading.text.push(char::REPLACEMENT_CHARACTER);
        rest = rest.get(consumed + bad_len..).unwrap_or_default();
    }
    reading
}

fn windows_1252(bytes: &[u8], why: String) -> Decoded {
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
    Decoded {
        text: text.into_owned(),
        encoding: format!("Windows-1252 ({why})"),
        replaced: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8], encoding: CsvEncoding) -> Result<(String, String), String> {
        decode(bytes, encoding)
            .map(|d| (d.text, d.encoding))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn encodings() {
        assert_eq!(
            text(b"\xEF\xBB\xBFZo\xC3\xAB", CsvEncoding::Auto),
            Ok(("Zoë".into(), "UTF-8 (byte order mark)".into()))
        );
        assert_eq!(
            text(b"Zo\xEB", CsvEncoding::Auto),
            Ok((
                "Zoë".into(),
                "Windows-1252 (not UTF-8: 1 invalid UTF-8 sequences, 0 valid non-ASCII characters)"
                    .into()
            ))
        );
        assert_eq!(
            text(b"Zo\xC3\xAB", CsvEncoding::Windows1252),
            Ok(("ZoÃ«".into(), "Windows-1252 (as configured)".into()))
        );
        let err = text(b"a\nb\nZo\xEB", CsvEncoding::Utf8).unwrap_err();
        assert!(err.contains("byte 6") && err.contains("line 3"), "{err}");
    }

    #[test]
    fn byte_order_marks_win() {
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("Zoë,春樹".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("Zoë,春樹".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        for (bytes, name) in [(le, "UTF-16LE"), (be, "UTF-16BE")] {
            let d = decode(&bytes, CsvEncoding::Windows1252).expect("decodes");
            assert_eq!(d.text, "Zoë,春樹");
            assert_eq!(d.encoding, format!("{name} (byte order mark)"));
        }
        let d = decode(b"\xEF\xBB\xBFZo\xEB,x", CsvEncoding::Windows1252).expect("decodes");
        assert_eq!(d.text, "Zo\u{FFFD},x");
        assert_eq!(d.replaced, vec![2]);
        assert!(
            decode(b"\xFF\xFE\x00\xD8", CsvEncoding::Auto).is_err(),
            "lone surrogate"
        );
    }

    #[test]
    fn taking_the_bytes_decodes_as_borrowing_them() {
        let samples: [&[u8]; 6] = [
            b"Zo\xC3\xAB,x\n",
            b"Zo\xEB",
            b"\xEF\xBB\xBFZo\xC3\xAB",
            b"\xFF\xFEZ\x00",
            b"Zo\xC3\xAB,\xFF",
            b"",
        ];
        for bytes in samples {
            for encoding in [
                CsvEncoding::Auto,
                CsvEncoding::Utf8,
                CsvEncoding::Windows1252,
            ] {
                assert_eq!(
                    decode_owned(bytes.to_vec(), encoding),
                    decode(bytes, encoding),
                    "{bytes:?} {encoding:?}"
                );
            }
        }
    }

    #[test]
    fn a_few_bad_bytes_keep_a_utf8_file_utf8() {
        let d = decode(
            b"Zo\xC3\xAB,\xFF\n\xE6\x98\xA5\xE6\xA8\xB9,x\xE6\x98",
            CsvEncoding::Auto,
        )
        .expect("decodes");
        assert_eq!(d.encoding, "UTF-8");
        assert_eq!(d.text, "Zoë,\u{FFFD}\n春樹,x\u{FFFD}");
        assert_eq!(d.replaced, vec![5, 17]);
        let d = decode(b"Zo\xC3\xAB,\xFF", CsvEncoding::Utf8).expect("decodes");
        assert_eq!(d.text, "Zoë,\u{FFFD}");
    }
}
