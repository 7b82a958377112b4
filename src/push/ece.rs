//! Web Push message encryption (RFC 8291) in the `aes128gcm` content coding (RFC 8188): the
//! push service carries the message but cannot read it; only the subscribed phone can.

use ring::{aead, agreement, hkdf, rand::SecureRandom};

/// The record size written in the header. One record holds the whole message (a WebDAV-Push
/// message is a few hundred bytes; push services take at most 4096).
const RECORD_SIZE: u32 = 4096;
/// The bytes of a record that are not plaintext: the AEAD tag and the padding delimiter.
const RECORD_OVERHEAD: usize = 16 + 1;

/// A phone's subscription keys, as it registered them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverKeys {
    /// The user agent's ECDH public key (P-256, uncompressed, 65 bytes).
    pub public: Vec<u8>,
    /// The 16-byte authentication secret.
    pub auth: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EceError {
    #[error("the subscription public key is not a P-256 point")]
    BadKey,
    #[error("the auth secret must be 16 bytes")]
    BadAuth,
    #[error("the message is larger than one record")]
    TooLarge,
    #[error("no randomness available")]
    Random,
}

/// `len` bytes of HKDF output.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn expand(prk: &hkdf::Prk, info: &[&[u8]], out: &mut [u8]) -> Result<(), EceError> {
    prk.expand(info, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .map_err(|_| EceError::BadKey)
}

impl ReceiverKeys {
    /// Checks both keys as a registration hands them over: a point on the curve (a trial key
    /// agreement) and a 16-byte secret.
    pub fn check(&self, rng: &dyn SecureRandom) -> Result<(), EceError> {
        if self.auth.len() != 16 {
            return Err(EceError::BadAuth);
        }
        let trial = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, rng)
            .map_err(|_| EceError::Random)?;
        let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, &self.public);
        agreement::agree_ephemeral(trial, &peer, |_| ()).map_err(|_| EceError::BadKey)
    }

    /// `plaintext` encrypted for this receiver: the `aes128gcm` body (header with a fresh
    /// salt and sender key, then one record).
    pub fn encrypt(&self, plaintext: &[u8], rng: &dyn SecureRandom) -> Result<Vec<u8>, EceError> {
        if self.auth.len() != 16 {
            return Err(EceError::BadAuth);
        }
        if plaintext.len() + RECORD_OVERHEAD > RECORD_SIZE as usize {
            return Err(EceError::TooLarge);
        }
        let sender = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, rng)
            .map_err(|_| EceError::Random)?;
        let sender_public = sender.compute_public_key().map_err(|_| EceError::Random)?;
        let sender_public = sender_public.as_ref();
        let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, &self.public);
        let shared = agreement::agree_ephemeral(sender, &peer, |secret| secret.to_vec())
            .map_err(|_| EceError::BadKey)?;
        // RFC 8291 §3.4: the input keying material binds the auth secret and both public keys.
        let prk_key = hkdf::Salt::new(hkdf::HKDF_SHA256, &self.auth).extract(&shared);
        let mut ikm = [0u8; 32];
        expand(
            &prk_key,
            &[b"WebPush: info\0", &self.public, sender_public],
            &mut ikm,
        )?;
        let mut salt = [0u8; 16];
        rng.fill(&mut salt).map_err(|_| EceError::Random)?;
        // RFC 8188 §2.2-2.3: content encryption key and nonce.
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &salt).extract(&ikm);
        let mut cek = [0u8; 16];
        expand(&prk, &[b"Content-Encoding: aes128gcm\0"], &mut cek)?;
        let mut nonce = [0u8; 12];
        expand(&prk, &[b"Content-Encoding: nonce\0"], &mut nonce)?;
        let key = aead::UnboundKey::new(&aead::AES_128_GCM, &cek).map_err(|_| EceError::BadKey)?;
        let mut record = Vec::with_capacity(plaintext.len() + RECORD_OVERHEAD);
        record.extend_from_slice(plaintext);
        // The delimiter of the last (here: only) record, no padding.
        record.push(2);
        aead::LessSafeKey::new(key)
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::empty(),
                &mut record,
            )
            .map_err(|_| EceError::BadKey)?;
        let key_id_len = u8::try_from(sender_public.len()).map_err(|_| EceError::BadKey)?;
        let mut body = Vec::with_capacity(16 + 4 + 1 + sender_public.len() + record.len());
        body.extend_from_slice(&salt);
        body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
        body.push(key_id_len);
        body.extend_from_slice(sender_public);
        body.extend_from_slice(&record);
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    /// A receiver whose private key we hold, to decrypt what `encrypt` wrote (RFC 8291 §3.4
    /// from the other side). The independent check is the Python `http_ece` in tests/push.rs.
    fn decrypt(
        body: &[u8],
        receiver: agreement::EphemeralPrivateKey,
        keys: &ReceiverKeys,
    ) -> Vec<u8> {
        let (salt, rest) = body.split_at(16);
        let (_rs, rest) = rest.split_at(4);
        let (sender_public, record) = rest[1..].split_at(usize::from(rest[0]));
        let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, sender_public);
        let shared = agreement::agree_ephemeral(receiver, &peer, |s| s.to_vec()).unwrap();
        let prk_key = hkdf::Salt::new(hkdf::HKDF_SHA256, &keys.auth).extract(&shared);
        let mut ikm = [0u8; 32];
        expand(
            &prk_key,
            &[b"WebPush: info\0", &keys.public, sender_public],
            &mut ikm,
        )
        .unwrap();
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(&ikm);
        let (mut cek, mut nonce) = ([0u8; 16], [0u8; 12]);
        expand(&prk, &[b"Content-Encoding: aes128gcm\0"], &mut cek).unwrap();
        expand(&prk, &[b"Content-Encoding: nonce\0"], &mut nonce).unwrap();
        let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_128_GCM, &cek).unwrap());
        let mut record = record.to_vec();
        let plain = key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::empty(),
                &mut record,
            )
            .unwrap();
        assert_eq!(plain.last(), Some(&2));
        plain[..plain.len() - 1].to_vec()
    }

    #[test]
    fn the_receiver_reads_what_was_encrypted_and_bad_keys_are_refused() {
        let rng = SystemRandom::new();
        let receiver =
            agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng).unwrap();
        let keys = ReceiverKeys {
            public: receiver.compute_public_key().unwrap().as_ref().to_vec(),
            auth: vec![7; 16],
        };
        keys.check(&rng).unwrap();
        let body = keys.encrypt(b"<push-message/>", &rng).unwrap();
        assert_eq!(decrypt(&body, receiver, &keys), b"<push-message/>");

        let mut off_curve = keys.clone();
        off_curve.public[64] ^= 1;
        assert_eq!(off_curve.check(&rng), Err(EceError::BadKey));
        let short_auth = ReceiverKeys {
            auth: vec![1; 8],
            ..keys.clone()
        };
        assert_eq!(short_auth.check(&rng), Err(EceError::BadAuth));
        assert_eq!(keys.encrypt(&[b'x'; 4080], &rng), Err(EceError::TooLarge));
    }
}
