//! Signing Apple profiles: a CMS `SignedData` (RFC 5652) carrying the profile, the
//! certificate chain and one signature over SHA-256 of it, as Apple Configurator makes them.
//! Devices then show the profile as verified by the certificate's issuer.
//!
//! The key and chain are read like the HTTPS ones (`http::read_pair`: PKCS#8, PKCS#1 or SEC1
//! PEM) and sign through rustls's signer (RSA PKCS #1 v1.5 or ECDSA P-256, each with SHA-256);
//! the few DER structures around the signature are written here.

use std::path::Path;

use pingora::tls::sign::CertifiedKey;
use pingora::tls::SignatureScheme;

/// A loaded signing certificate chain and key.
pub struct ProfileSigner {
    pair: CertifiedKey,
    /// The signing certificate's issuer (DER Name) and serial number (DER INTEGER).
    issuer_and_serial: Vec<u8>,
}

impl std::fmt::Debug for ProfileSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProfileSigner")
    }
}

// Object identifiers, as DER contents.
const OID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const OID_CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const INTEGER: u8 = 0x02;
const NULL: &[u8] = &[0x05, 0x00];
/// `[0]`, constructed (explicit, or implicit on a SET).
const CONTEXT_0: u8 = 0xa0;

impl ProfileSigner {
    /// Reads `cert_file` (the signing certificate first) and `key_file`; errors name the files.
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<ProfileSigner, String> {
        let pair = crate::http::read_pair(cert_file, key_file)?;
        let leaf = pair
            .cert
            .first()
            .ok_or_else(|| format!("{}: no certificate", cert_file.display()))?;
        let issuer_and_serial = issuer_and_serial(leaf.as_ref())
            .ok_or_else(|| format!("{}: the certificate cannot be read", cert_file.display()))?;
        let signer = ProfileSigner {
            pair,
            issuer_and_serial,
        };
        signer
            .scheme()
            .map(|_| signer)
            .ok_or_else(|| format!("{}: the key must be RSA or ECDSA P-256", key_file.display()))
    }

    fn scheme(&self) -> Option<(SignatureScheme, Vec<u8>)> {
        let schemes = [
            SignatureScheme::RSA_PKCS1_SHA256,
            SignatureScheme::ECDSA_NISTP256_SHA256,
        ];
        let signer = self.pair.key.choose_scheme(&schemes)?;
        let algorithm = match signer.scheme() {
            SignatureScheme::RSA_PKCS1_SHA256 => [tlv(OID, OID_RSA), NULL.to_vec()].concat(),
            SignatureScheme::ECDSA_NISTP256_SHA256 => tlv(OID, OID_ECDSA_SHA256),
            _ => return None,
        };
        Some((signer.scheme(), tlv(SEQUENCE, &algorithm)))
    }

    /// `content` wrapped in a signed CMS `ContentInfo` (DER).
    pub fn sign(&self, content: &[u8]) -> Result<Vec<u8>, String> {
        let (scheme, signature_algorithm) = self
            .scheme()
            .ok_or("the profile signing key cannot sign with SHA-256")?;
        let sha256 = tlv(SEQUENCE, &tlv(OID, OID_SHA256));
        let digest = ring::digest::digest(&ring::digest::SHA256, content);
        // Sorted by their encoding, as DER wants a SET OF: content type (shorter) first.
        let attributes = [
            tlv(
                SEQUENCE,
                &[tlv(OID, OID_CONTENT_TYPE), tlv(SET, &tlv(OID, OID_DATA))].concat(),
            ),
            tlv(
                SEQUENCE,
                &[
                    tlv(OID, OID_MESSAGE_DIGEST),
                    tlv(SET, &tlv(OCTET_STRING, digest.as_ref())),
                ]
                .concat(),
            ),
        ]
        .concat();
        // The signature covers the attributes encoded as a SET; they are sent as `[0]`.
        let signer = self
            .pair
            .key
            .choose_scheme(&[scheme])
            .ok_or("the profile signing key cannot sign")?;
        let signature = signer
            .sign(&tlv(SET, &attributes))
            .map_err(|e| format!("signing the profile: {e}"))?;
        let signer_info = tlv(
            SEQUENCE,
            &[
                tlv(INTEGER, &[1]),
                self.issuer_and_serial.clone(),
                sha256.clone(),
                tlv(CONTEXT_0, &attributes),
                signature_algorithm,
                tlv(OCTET_STRING, &signature),
            ]
            .concat(),
        );
        let certificates: Vec<u8> = self
            .pair
            .cert
            .iter()
            .flat_map(|c| c.as_ref().iter().copied())
            .collect();
        let signed_data = tlv(
            SEQUENCE,
            &[
                tlv(INTEGER, &[1]),
                tlv(SET, &sha256),
                tlv(
                    SEQUENCE,
                    &[
                        tlv(OID, OID_DATA),
                        tlv(CONTEXT_0, &tlv(OCTET_STRING, content)),
                    ]
                    .concat(),
                ),
                tlv(CONTEXT_0, &certificates),
                tlv(SET, &signer_info),
            ]
            .concat(),
        );
        Ok(tlv(
            SEQUENCE,
            &[tlv(OID, OID_SIGNED_DATA), tlv(CONTEXT_0, &signed_data)].concat(),
        ))
    }
}

/// A DER tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or(&[]);
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

/// One DER element, read off the front of a byte string.
struct Element<'a> {
    tag: u8,
    /// Tag, length and content.
    whole: &'a [u8],
    content: &'a [u8],
    /// What follows it.
    rest: &'a [u8],
}

/// The DER element at the start of `der`.
fn element(der: &[u8]) -> Option<Element<'_>> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (bytes, rest) = rest.split_at_checked(count)?;
        let len = bytes
            .iter()
            .fold(0usize, |len, b| (len << 8) | usize::from(*b));
        (len, rest)
    };
    let header = der.len() - rest.len();
    let (content, after) = rest.split_at_checked(len)?;
    Some(Element {
        tag,
        whole: der.get(..header + len)?,
        content,
        rest: after,
    })
}

/// The CMS `IssuerAndSerialNumber` of a DER certificate: its TBSCertificate's issuer Name
/// and serial number.
fn issuer_and_serial(certificate: &[u8]) -> Option<Vec<u8>> {
    let certificate = element(certificate)?.content;
    let tbs = element(certificate)?.content;
    let first = element(tbs)?;
    // With no explicit version ([0]) the first element is the serial number.
    let serial = if first.tag == CONTEXT_0 {
        element(first.rest)?
    } else {
        first
    };
    if serial.tag != INTEGER {
        return None;
    }
    let algorithm = element(serial.rest)?;
    let issuer = element(algorithm.rest)?;
    (issuer.tag == SEQUENCE).then(|| tlv(SEQUENCE, &[issuer.whole, serial.whole].concat()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_take_as_many_bytes_as_they_need() {
        assert_eq!(tlv(OCTET_STRING, &[7; 3]), [4, 3, 7, 7, 7]);
        let long = tlv(OCTET_STRING, &[0; 300]);
        assert_eq!(long.get(..4), Some(&[4, 0x82, 1, 44][..]));
        let e = element(&long).unwrap();
        assert_eq!(
            (e.tag, e.whole.len(), e.content.len(), e.rest.len()),
            (4, 304, 300, 0)
        );
        assert!(element(&[4, 0x82, 1]).is_none());
        assert!(element(&[4, 5, 1]).is_none());
        assert_eq!(issuer_and_serial(b"\x30\x03\x02\x01\x01"), None);
    }
}
