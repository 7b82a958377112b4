//! Who the client is: the connection's peer, or, when the peer is one of `[server]
//! trusted_proxies`, the address its `X-Forwarded-For` names. Read from the right: each proxy
//! appends the address it received from, so the rightmost address that is not a trusted proxy
//! is the first one no trusted party vouches for. A client cannot choose its address by
//! sending the header itself.

use std::net::IpAddr;

use ipnet::IpNet;

/// IPv4 peers on an IPv6 socket count as their IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address for logs, throttling and access rules (IPv4 as IPv4, even when it
/// came in on an IPv6 socket).
pub fn client(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for hop in header.rsplit(',') {
        let Ok(ip) = hop.trim().parse::<IpAddr>().map(canonical) else {
            // Garbage in a hop: trust nothing further left.
            return client;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn only_trusted_proxies_may_name_the_client() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        // A direct client's header is ignored.
        assert_eq!(
            client(ip("203.0.113.9"), Some("1.2.3.4"), &trusted),
            ip("203.0.113.9")
        );
        // Through one proxy.
        assert_eq!(
            client(ip("10.0.0.2"), Some("203.0.113.7"), &trusted),
            ip("203.0.113.7")
        );
        // A client that sent its own header through the proxy: the proxy's hop wins.
        assert_eq!(
            client(ip("10.0.0.2"), Some("1.2.3.4, 203.0.113.7"), &trusted),
            ip("203.0.113.7")
        );
        // Two trusted proxies in a row.
        assert_eq!(
            client(ip("10.0.0.2"), Some("198.51.100.1, 10.0.0.9"), &trusted),
            ip("198.51.100.1")
        );
        // No header, or garbage: the proxy itself.
        assert_eq!(client(ip("10.0.0.2"), None, &trusted), ip("10.0.0.2"));
        assert_eq!(
            client(ip("10.0.0.2"), Some("unknown"), &trusted),
            ip("10.0.0.2")
        );
        // IPv4-mapped peers count as IPv4.
        assert_eq!(
            client(ip("::ffff:10.0.0.2"), Some("203.0.113.7"), &trusted),
            ip("203.0.113.7")
        );
    }
}
