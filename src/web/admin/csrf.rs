//! Cross-site request forgery protection for the operator page's buttons. A browser logged in
//! with Basic credentials sends them with any request, including a form another site posts to
//! us; such a post must not accept a held poll.
//!
//! Each form carries a token: an HMAC of the user name under a key drawn when the process
//! starts (so a token is worth nothing on another server or after a restart, and one user's
//! token is not another's). A POST is answered only when its token is the user's and, when
//! the browser says where the form came from (`Origin`, else `Referer`), that is this server.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// Keeps token contexts apart should the key ever sign anything else.
const CONTEXT: &[u8] = b"cardbridge operator form\0";

/// The key of this process, drawn on first use.
fn key() -> Option<&'static hmac::Key> {
    static KEY: OnceLock<Option<hmac::Key>> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut bytes = [0u8; 32];
        SystemRandom::new().fill(&mut bytes).ok()?;
        Some(hmac::Key::new(hmac::HMAC_SHA256, &bytes))
    })
    .as_ref()
}

fn tag(user: &str) -> Option<hmac::Tag> {
    let mut context = hmac::Context::with_key(key()?);
    context.update(CONTEXT);
    context.update(user.as_bytes());
    Some(context.sign())
}

/// The token `user`'s forms carry; empty when the system has no randomness to draw a key
/// from (then no token verifies and every button is refused).
pub fn token(user: &str) -> String {
    tag(user).map_or_else(String::new, |t| URL_SAFE_NO_PAD.encode(t.as_ref()))
}

/// Whether `token` is `user`'s (compared in constant time).
pub fn verify(user: &str, token: &str) -> bool {
    let (Some(key), Ok(sent)) = (key(), URL_SAFE_NO_PAD.decode(token.trim())) else {
        return false;
    };
    let mut message = CONTEXT.to_vec();
    message.extend_from_slice(user.as_bytes());
    hmac::verify(key, &message, &sent).is_ok()
}

/// Whether the page a POST came from is on `own` (this server's origins, e.g.
/// `http://127.0.0.1:8008`): `origin` is the request's `Origin` header, `referer` its
/// `Referer`. A request naming neither (a script, a browser told to send no referrer) is judged
/// by its token alone; `Origin: null` (a sandboxed or privacy-stripped page) is refused.
pub fn same_origin(origin: Option<&str>, referer: Option<&str>, own: &[String]) -> bool {
    let from = match (origin, referer) {
        (Some(origin), _) => origin.trim().to_string(),
        (None, Some(referer)) => referer_origin(referer.trim()),
        (None, None) => return true,
    };
    own.iter().any(|o| o.eq_ignore_ascii_case(&from))
}

/// `http://host:port` of a `Referer` URL (its path and query cut off).
fn referer_origin(referer: &str) -> String {
    let after_scheme = referer.find("://").map_or(0, |i| i.saturating_add(3));
    let end = referer
        .get(after_scheme..)
        .and_then(|rest| rest.find(['/', '?', '#']))
        .map_or(referer.len(), |i| i.saturating_add(after_scheme));
    referer.get(..end).unwrap_or(referer).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_the_users_own() {
        let alice = token("alice");
        assert!(!alice.is_empty());
        assert!(verify("alice", &alice));
        assert!(!verify("bob", &alice));
        assert!(!verify("alice", ""));
        assert!(!verify("alice", "not base64!"));
        let mut forged = alice.clone();
        forged.replace_range(..1, if alice.starts_with('A') { "B" } else { "A" });
        assert!(!verify("alice", &forged));
    }

    #[test]
    fn the_form_must_come_from_this_server() {
        let own = ["http://127.0.0.1:8008".to_string()];
        assert!(same_origin(Some("http://127.0.0.1:8008"), None, &own));
        assert!(!same_origin(Some("http://evil.example"), None, &own));
        assert!(!same_origin(Some("null"), None, &own));
        assert!(same_origin(
            None,
            Some("http://127.0.0.1:8008/web/admin?x=1"),
            &own
        ));
        assert!(!same_origin(
            None,
            Some("http://127.0.0.1:8008.evil.example/web/admin"),
            &own
        ));
        assert!(!same_origin(None, Some("garbage"), &own));
        assert!(same_origin(None, None, &own));
    }
}
