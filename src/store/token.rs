//! Sync tokens (RFC 6578): URIs carrying a book's state digest.
//!
//! The token is a URI (Evolution ignores tokens without `:` or `/`) and doubles as `CS:getctag`.

const PREFIX: &str = "urn:cardbridge:sync:";

/// A parsed sync token: the state digest it denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncToken(pub u128);

impl SyncToken {
    pub fn to_uri(self) -> String {
        format!("{PREFIX}{:032x}", self.0)
    }

    /// Parses a token a client sent back; anything not minted here is `None`.
    pub fn parse(text: &str) -> Option<SyncToken> {
        let hex = text.trim().strip_prefix(PREFIX)?;
        if hex.len() != 32 {
            return None;
        }
        u128::from_str_radix(hex, 16).ok().map(SyncToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_foreign_tokens() {
        let token = SyncToken(0xdead_beef);
        assert_eq!(SyncToken::parse(&token.to_uri()), Some(token));
        assert!(token.to_uri().contains(':'));
        assert_eq!(
            SyncToken::parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
            None
        );
        assert_eq!(SyncToken::parse("urn:cardbridge:sync:xyz"), None);
        assert_eq!(SyncToken::parse(""), None);
    }
}
