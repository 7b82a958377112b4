//! Where clients reach the server: scheme, host and port, from `[server] public_url` (behind a
//! proxy) or from a request's `Host` header. The web face writes it into setup URLs and Apple
//! profiles, so it is checked to be a plain host name or address, nothing that could carry
//! markup or a path.

/// An origin clients can reach: `https://contacts.example.com`, `http://[::1]:8008`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub secure: bool,
    /// A DNS name or an address (IPv6 in brackets), lowercase.
    pub host: String,
    pub port: u16,
}

impl Origin {
    /// Parses `[server] public_url`: `http(s)://host[:port]`, optionally with a trailing `/`.
    pub fn parse_url(url: &str) -> Result<Origin, String> {
        let (secure, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(format!("{url:?} must start with https:// or http://"));
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        Origin::from_host(authority, secure).ok_or_else(|| {
            format!("{url:?} must be a scheme and a host name with an optional port, no path")
        })
    }

    /// The origin named by a `Host` header value (`host[:port]`) on a connection that is
    /// `secure` or not; `None` when it is not a plain host name or address.
    pub fn from_host(authority: &str, secure: bool) -> Option<Origin> {
        let default_port = if secure { 443 } else { 80 };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, port.parse::<u16>().ok()?),
            _ => (authority, default_port),
        };
        let valid = if let Some(inner) = host.strip_prefix('[') {
            inner
                .strip_suffix(']')
                .is_some_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok())
        } else {
            !host.is_empty()
                && host.len() <= 253
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        };
        (valid && port != 0).then(|| Origin {
            secure,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// `https://host` or `http://host:port`: the port only when it is not the scheme's own.
    pub fn url(&self) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        let default_port = if self.secure { 443 } else { 80 };
        if self.port == default_port {
            format!("{scheme}://{}", self.host)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls() {
        let origin = Origin::parse_url("https://Contacts.Example.com/").unwrap();
        assert_eq!(origin.url(), "https://contacts.example.com");
        assert_eq!(origin.port, 443);
        let origin = Origin::parse_url("http://[::1]:8008").unwrap();
        assert_eq!((origin.host.as_str(), origin.port), ("[::1]", 8008));
        assert_eq!(origin.url(), "http://[::1]:8008");
        for bad in [
            "contacts.example.com",
            "https://contacts.example.com/dav/",
            "https://user@host",
            "https://host:0",
            "https://host:99999",
            "https://<script>",
            "https://[not-v6]",
            "https://",
        ] {
            assert!(Origin::parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_headers() {
        let origin = Origin::from_host("127.0.0.1:8008", false).unwrap();
        assert_eq!(origin.url(), "http://127.0.0.1:8008");
        assert_eq!(Origin::from_host("example.com", true).unwrap().port, 443);
        assert_eq!(Origin::from_host("a b", false), None);
        assert_eq!(Origin::from_host("\"x\":80", false), None);
    }
}
