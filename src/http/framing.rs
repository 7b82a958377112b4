//! Refusing requests whose body framing is ambiguous.
//!
//! pingora lets Transfer-Encoding win over Content-Length and drops the latter, so the
//! header it hands us no longer shows the conflict; the raw head still does. A server and a
//! proxy in front of it that disagree on where such a body ends see different requests in the
//! same bytes (request smuggling), so RFC 9112 §6.1 allows answering 400 and closing.

/// Whether the raw request head carries both Content-Length and Transfer-Encoding.
pub fn is_ambiguous(raw_head: &[u8]) -> bool {
    let mut content_length = false;
    let mut transfer_encoding = false;
    for line in raw_head.split(|&b| b == b'\n').skip(1) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line.get(..colon).unwrap_or_default().trim_ascii();
        content_length |= name.eq_ignore_ascii_case(b"content-length");
        transfer_encoding |= name.eq_ignore_ascii_case(b"transfer-encoding");
    }
    content_length && transfer_encoding
}

#[cfg(test)]
mod tests {
    use super::is_ambiguous;

    #[test]
    fn both_framings_are_ambiguous_in_any_case() {
        let head = b"POST / HTTP/1.1\r\ncontent-LENGTH: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(is_ambiguous(head));
    }

    #[test]
    fn one_framing_is_not() {
        assert!(!is_ambiguous(
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n"
        ));
        assert!(!is_ambiguous(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        ));
        assert!(!is_ambiguous(b"GET /content-length: HTTP/1.1\r\n\r\n"));
    }
}
