//! Opening a bound LDAP connection: TLS (ldaps or StartTLS, with a CA file or the system
//! roots) and a simple bind with the service account or as a user.

use std::sync::Arc;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;

use super::settings::ServerSettings;

/// Why a connection or bind failed. `Unreachable` means "try later"; `Rejected` means the
/// credentials were refused.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{url}: cannot connect: {message}")]
    Unreachable { url: String, message: String },
    #[error("{url}: bind as {who} refused: {message}")]
    Rejected {
        url: String,
        who: String,
        message: String,
    },
    #[error("{0}")]
    Config(String),
}

impl From<ConnectError> for crate::SourceError {
    fn from(error: ConnectError) -> Self {
        let message = error.to_string();
        match error {
            ConnectError::Unreachable { .. } => crate::SourceError::Unreachable(message),
            ConnectError::Rejected { .. } => crate::SourceError::Refused(message),
            ConnectError::Config(_) => crate::SourceError::Config(message),
        }
    }
}

/// LDAP result code for wrong credentials (RFC 4511).
const INVALID_CREDENTIALS: u32 = 49;

/// Connects and binds with the configured service account (or anonymously).
pub async fn connect_service(server: &ServerSettings) -> Result<Ldap, ConnectError> {
    let password = match (&server.bind_password, &server.bind_password_file) {
        (Some(p), _) => p.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .map(|p| p.trim_end_matches(['\r', '\n']).to_string())
            .map_err(|e| {
                ConnectError::Config(format!(
                    "bind_password_file {}: cannot read: {e}",
                    file.display()
                ))
            })?,
        (None, None) => String::new(),
    };
    let dn = server.bind_dn.clone().unwrap_or_default();
    connect_as(server, &dn, &password).await
}

/// Connects and binds as `dn` (an empty dn binds anonymously). An empty password with a DN is
/// refused here: servers treat it as an unauthenticated bind that "succeeds".
pub async fn connect_as(
    server: &ServerSettings,
    dn: &str,
    password: &str,
) -> Result<Ldap, ConnectError> {
    if !dn.is_empty() && password.is_empty() {
        return Err(ConnectError::Rejected {
            url: server.url.clone(),
            who: dn.to_string(),
            message: "empty password".into(),
        });
    }
    let mut ldap = open(server).await?;
    ldap.with_timeout(server.timeout);
    let result = ldap
        .simple_bind(dn, password)
        .await
        .map_err(|e| unreachable(server, e))?;
    if result.rc != 0 {
        let who = if dn.is_empty() { "anonymous" } else { dn };
        let message = format!("{} (result code {})", result.text, result.rc);
        let _ = ldap.unbind().await;
        return Err(if result.rc == INVALID_CREDENTIALS || !dn.is_empty() {
            ConnectError::Rejected {
                url: server.url.clone(),
                who: who.to_string(),
                message,
            }
        } else {
            ConnectError::Unreachable {
                url: server.url.clone(),
                message,
            }
        });
    }
    Ok(ldap)
}

fn unreachable(server: &ServerSettings, e: impl std::fmt::Display) -> ConnectError {
    ConnectError::Unreachable {
        url: server.url.clone(),
        message: e.to_string(),
    }
}

/// Opens the connection and spawns its driver task.
async fn open(server: &ServerSettings) -> Result<Ldap, ConnectError> {
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(server.timeout)
        .set_starttls(server.starttls);
    let tls = server.url.to_ascii_lowercase().starts_with("ldaps://") || server.starttls;
    if tls {
        settings = settings.set_config(Arc::new(tls_config(server)?));
    }
    let (conn, ldap) = tokio::time::timeout(
        server.timeout,
        LdapConnAsync::with_settings(settings, &server.url),
    )
    .await
    .map_err(|_| unreachable(server, format!("no answer within {:?}", server.timeout)))?
    .map_err(|e| {
        unreachable(
            server,
            explain_certificate(&e).unwrap_or_else(|| e.to_string()),
        )
    })?;
    // A broken connection surfaces as an error of the next operation, so the driver's own
    // result carries nothing more.
    tokio::spawn(async move {
        let _ = conn.drive().await;
    });
    Ok(ldap)
}

/// What to do about a certificate that names no host in its subjectAltName (Samba's default
/// certificate, old AD templates): rustls, rightly, ignores the subject CN, and its own
/// message ("certificate is not valid for any names") leaves the reader guessing. `None` for
/// every other error.
fn explain_certificate(error: &ldap3::LdapError) -> Option<String> {
    let ldap3::LdapError::Io { source } = error else {
        return None;
    };
    match source.get_ref()?.downcast_ref::<rustls::Error>()? {
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected,
            presented,
        }) if presented.is_empty() => Some(format!(
            "the server's certificate names no host in subjectAltName (only a subject CN, which \
             TLS clients no longer read); rustls requires a SAN: reissue the certificate with a \
             subjectAltName for {host}, or connect to a host name the certificate does carry",
            host = expected.to_str()
        )),
        _ => None,
    }
}

fn tls_config(server: &ServerSettings) -> Result<ClientConfig, ConnectError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError::Config(format!("TLS: {e}")))?;
    if server.danger_skip_tls_verify {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate))
            .with_no_client_auth());
    }
    let mut roots = RootCertStore::empty();
    match &server.ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| ConnectError::Config(format!("ca_file {}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(ConnectError::Config(format!(
                    "ca_file {}: no PEM certificate in it",
                    path.display()
                )));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    ConnectError::Config(format!("ca_file {}: {e}", path.display()))
                })?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
        }
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// `danger_skip_tls_verify`: the connection is encrypted but the server is not authenticated.
#[derive(Debug)]
struct AcceptAnyCertificate;

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
