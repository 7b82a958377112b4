//! Sync tokens (RFC 6578) in their URI form: formatting and parsing. The state digest a token
//! carries is computed in `digest.rs`.
//!
//! The token is a URI (Evolution ignores tokens without `:` or `/`) and doubles as `CS:getctag`.
//! A truncated sync-collection answer hands out a *resume* token instead, naming the state the
//! client started from, the state the page was cut from, and the last name sent, so the next
//! request continues without loss even if the book changed in between. Both forms are pure
//! functions of content: any replica understands a token any other replica issued.

const PREFIX: &str = "urn:cardbridge:sync:";

/// The state digest a token denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncToken(pub u128);

/// Where a truncated sync-collection answer stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeToken {
    /// The state the client synced from (0 for an initial sync).
    pub base: u128,
    /// The state the page was taken from.
    pub page: u128,
    /// The last card name sent; names sort, so the next page starts after it.
    pub after: String,
}

/// Any token a client can send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientToken {
    State(SyncToken),
    Resume(ResumeToken),
}

fn hex(text: &str) -> Option<u128> {
    (text.len() == 32)
        .then(|| u128::from_str_radix(text, 16).ok())
        .flatten()
}

impl SyncToken {
    pub fn to_uri(self) -> String {
        format!("{PREFIX}{:032x}", self.0)
    }

    /// Parses a token a client sent back; anything not minted here is `None`.
    pub fn parse(text: &str) -> Option<SyncToken> {
        hex(text.trim().strip_prefix(PREFIX)?).map(SyncToken)
    }
}

impl ResumeToken {
    pub fn to_uri(&self) -> String {
        format!(
            "{PREFIX}{:032x}/{:032x}/{}",
            self.base, self.page, self.after
        )
    }
}

impl ClientToken {
    pub fn parse(text: &str) -> Option<ClientToken> {
        let rest = text.trim().strip_prefix(PREFIX)?;
        let mut parts = rest.splitn(3, '/');
        let first = hex(parts.next()?)?;
        match (parts.next(), parts.next()) {
            (None, _) => Some(ClientToken::State(SyncToken(first))),
            (Some(page), Some(after)) if !after.is_empty() => {
                Some(ClientToken::Resume(ResumeToken {
                    base: first,
                    page: hex(page)?,
                    after: after.to_string(),
                }))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_foreign_tokens() {
        let token = SyncToken(0xdead_beef);
        assert_eq!(SyncToken::parse(&token.to_uri()), Some(token));
        assert_eq!(
            ClientToken::parse(&token.to_uri()),
            Some(ClientToken::State(token))
        );
        assert!(token.to_uri().contains(':'));
        assert_eq!(
            SyncToken::parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
            None
        );
        assert_eq!(SyncToken::parse("urn:cardbridge:sync:xyz"), None);
        assert_eq!(ClientToken::parse(""), None);
        let resume = ResumeToken {
            base: 0,
            page: 7,
            after: "abc.vcf".into(),
        };
        assert_eq!(
            ClientToken::parse(&resume.to_uri()),
            Some(ClientToken::Resume(resume.clone()))
        );
        assert_eq!(SyncToken::parse(&resume.to_uri()), None);
        assert_eq!(ClientToken::parse(&format!("{PREFIX}{:032x}/x", 1)), None);
    }
}
