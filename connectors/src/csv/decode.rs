//! Bytes of a CSV file to text: UTF-8 (with or without BOM) or Windows-1252, which Outlook
//! desktop still writes.

use super::settings::CsvEncoding;

/// Decodes `bytes`; the error names the byte offset and line of the first invalid sequence.
pub fn decode(bytes: &[u8], encoding: CsvEncoding) -> Result<String, String> {
    let without_bom = bytes.strip_prefix(b"\xEF\xBB\xBF");
    match encoding {
        CsvEncoding::Windows1252 => Ok(windows_1252(bytes)),
        CsvEncoding::Utf8 => utf8(without_bom.unwrap_or(bytes)),
        CsvEncoding::Auto => match without_bom {
            Some(rest) => utf8(rest),
            None => Ok(utf8(bytes).unwrap_or_else(|_| windows_1252(bytes))),
        },
    }
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_string()),
        Err(e) => {
            let offset = e.valid_up_to();
            let line = bytes[..offset].iter().filter(|b| **b == b'\n').count() + 1;
            Err(format!(
                "invalid UTF-8 at byte {offset} (line {line}); set encoding = \"windows-1252\" \
                 if the file comes from Outlook desktop"
            ))
        }
    }
}

fn windows_1252(bytes: &[u8]) -> String {
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
    text.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(
            decode(b"\xEF\xBB\xBFZo\xC3\xAB", CsvEncoding::Auto),
            Ok("Zoë".into())
        );
        assert_eq!(decode(b"Zo\xEB", CsvEncoding::Auto), Ok("Zoë".into()));
        assert_eq!(
            decode(b"Zo\xEB", CsvEncoding::Windows1252),
            Ok("Zoë".into())
        );
        let err = decode(b"a\nb\nZo\xEB", CsvEncoding::Utf8).unwrap_err();
        assert!(err.contains("byte 6") && err.contains("line 3"), "{err}");
    }
}
