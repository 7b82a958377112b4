//! HTTPS: the certificate chain and key (PEM files) served on `[server.tls] listen`, through
//! pingora's rustls listener (TLS 1.2 and 1.3, HTTP/1.1).
//!
//! The pair is re-read without a restart when either file changes (a Let's Encrypt renewal
//! rewrites them) or on SIGHUP. A new pair that does not load, or whose key does not match the
//! certificate, keeps the old one and logs why: a botched renewal must not take HTTPS down.
//! Connections already open keep the session they have; the next handshake gets the new pair.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use pingora::listeners::tls::TlsSettings;
use pingora::tls::sign::CertifiedKey;
use pingora::tls::{ClientHello, CryptoProvider, ResolvesServerCert};

/// How often the files are looked at for a change.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

/// The served certificate, swapped whole when the files change.
pub struct Certificates {
    current: ArcSwap<CertifiedKey>,
    cert_file: PathBuf,
    key_file: PathBuf,
    /// Size and modification time of both files when last read.
    seen: Mutex<Option<[(u64, SystemTime); 2]>>,
}

impl fmt::Debug for Certificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificates")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .finish_non_exhaustive()
    }
}

fn stamp(path: &Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// Reads and checks a pair: a chain with at least one certificate, a key that matches it.
/// (Also the web face's profile signing pair.)
pub(crate) fn read_pair(cert_file: &Path, key_file: &Path) -> Result<CertifiedKey, String> {
    pingora::tls::install_default_crypto_provider();
    let provider = CryptoProvider::get_default()
        .ok_or_else(|| "no TLS crypto provider is installed".to_string())?;
    let (cert, key) = (cert_file.display(), key_file.display());
    let pair = pingora::tls::load_certs_and_key_files(&cert.to_string(), &key.to_string())
        .map_err(|e| format!("cannot read {cert} and {key}: {e}"))?;
    let Some((chain, private_key)) = pair else {
        return Err(format!(
            "{key}: no private key (PKCS#1, PKCS#8 or SEC1 PEM) found"
        ));
    };
    if chain.is_empty() {
        return Err(format!("{cert}: no certificate (PEM) found"));
    }
    CertifiedKey::from_der(chain, private_key, provider)
        .map_err(|e| format!("{cert} with {key}: {e}"))
}

impl Certificates {
    /// Loads the pair once; the server does not start without a usable one.
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<Arc<Certificates>, String> {
        let seen = [stamp(cert_file), stamp(key_file)];
        let pair = read_pair(cert_file, key_file)?;
        Ok(Arc::new(Certificates {
            current: ArcSwap::from_pointee(pair),
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            seen: Mutex::new(seen[0].zip(seen[1]).map(|(a, b)| [a, b])),
        }))
    }

    /// Reads the pair again when either file changed since it was last read; returns whether a
    /// new pair is now served.
    pub fn reload_if_changed(&self) -> bool {
        let now = stamp(&self.cert_file)
            .zip(stamp(&self.key_file))
            .map(|(a, b)| [a, b]);
        {
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            if now.is_none() || *seen == now {
                return false;
            }
            *seen = now;
        }
        self.reload()
    }

    /// Reads the pair again; on failure the old one stays and the reason is logged.
    pub fn reload(&self) -> bool {
        match read_pair(&self.cert_file, &self.key_file) {
            Ok(pair) => {
                self.current.store(Arc::new(pair));
                tracing::info!(cert = %self.cert_file.display(), "TLS certificate reloaded");
                true
            }
            Err(e) => {
                tracing::error!("TLS certificate not reloaded, the previous one stays: {e}");
                false
            }
        }
    }

    /// pingora's listener settings serving this certificate.
    pub fn listener_settings(self: &Arc<Self>) -> Result<TlsSettings, String> {
        let mut settings = TlsSettings::intermediate("", "").map_err(|e| e.to_string())?;
        settings.set_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        Ok(settings)
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}
