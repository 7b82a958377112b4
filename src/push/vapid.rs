//! VAPID (RFC 8292): the server's P-256 signing key and the `Authorization: vapid` header
//! that proves to a push service that a message comes from the server a subscription was
//! restricted to.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SecureRandom;
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};

/// How long a signed token is valid; RFC 8292 §2 allows at most 24 hours.
const TOKEN_LIFETIME_SECS: u64 = 12 * 3600;

/// The server's VAPID key pair.
pub struct VapidKey {
    pair: EcdsaKeyPair,
    /// The PKCS#8 document the pair was read from (what the push state keeps).
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKey")
            .field("public", &self.public_key())
            .finish_non_exhaustive()
    }
}

impl VapidKey {
    pub fn generate(rng: &dyn SecureRandom) -> Result<VapidKey, String> {
        let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, rng)
            .map_err(|_| "cannot generate a VAPID key: no randomness available".to_string())?;
        VapidKey::from_pkcs8(document.as_ref(), rng)
    }

    pub fn from_pkcs8(pkcs8: &[u8], rng: &dyn SecureRandom) -> Result<VapidKey, String> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, rng)
            .map_err(|e| format!("the VAPID key is not a P-256 PKCS#8 key ({e})"))?;
        Ok(VapidKey {
            pair,
            pkcs8: pkcs8.to_vec(),
        })
    }

    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key, uncompressed and base64url without padding: the `vapid-public-key`
    /// property and the `k=` parameter.
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.pair.public_key().as_ref())
    }

    /// The `Authorization` header value for a message to a push resource at `origin`
    /// (`scheme://host[:port]`), signed now (`now` in Unix seconds).
    pub fn authorization(
        &self,
        origin: &str,
        subject: &str,
        now: u64,
        rng: &dyn SecureRandom,
    ) -> Result<String, String> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({
            "aud": origin,
            "exp": now + TOKEN_LIFETIME_SECS,
            "sub": subject,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{header}.{claims}");
        let signature = self
            .pair
            .sign(rng, signed.as_bytes())
            .map_err(|_| "cannot sign the VAPID token".to_string())?;
        let signature = URL_SAFE_NO_PAD.encode(signature.as_ref());
        Ok(format!(
            "vapid t={signed}.{signature}, k={}",
            self.public_key()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};

    #[test]
    fn the_token_verifies_against_the_advertised_key_and_survives_a_reload() {
        let rng = SystemRandom::new();
        let key = VapidKey::generate(&rng).unwrap();
        let again = VapidKey::from_pkcs8(key.pkcs8(), &rng).unwrap();
        assert_eq!(again.public_key(), key.public_key());

        let value = key
            .authorization(
                "https://push.example.net",
                "mailto:ops@example.com",
                1000,
                &rng,
            )
            .unwrap();
        let rest = value.strip_prefix("vapid t=").unwrap();
        let (token, k) = rest.split_once(", k=").unwrap();
        assert_eq!(k, key.public_key());
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let public = URL_SAFE_NO_PAD.decode(k).unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public)
            .verify(
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(signature).unwrap(),
            )
            .unwrap();
        let claims = signed.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://push.example.net");
        assert_eq!(claims["exp"], 1000 + TOKEN_LIFETIME_SECS);
        assert_eq!(claims["sub"], "mailto:ops@example.com");
    }
}
