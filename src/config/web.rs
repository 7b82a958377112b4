//! The `[web]` table: what the web face's setup downloads may contain.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    /// Put the password the user logged in with into their Apple profile, so installing it
    /// asks for nothing. Off by default: a profile file is easily forwarded or left in a
    /// downloads folder.
    #[serde(default)]
    pub profile_password: bool,
    /// Sign Apple profiles with this certificate chain (PEM, the signing certificate first),
    /// so devices show the profile as verified by its issuer; relative to the config file.
    #[serde(default)]
    pub profile_cert_file: Option<PathBuf>,
    /// The signing certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1; RSA or ECDSA P-256).
    #[serde(default)]
    pub profile_key_file: Option<PathBuf>,
}

impl WebSettings {
    /// Resolves the signing files against the config directory `base`; both or neither.
    pub(super) fn resolve(mut self, base: &Path) -> Result<WebSettings, String> {
        match (&self.profile_cert_file, &self.profile_key_file) {
            (Some(cert), Some(key)) => {
                self.profile_cert_file = Some(base.join(cert));
                self.profile_key_file = Some(base.join(key));
                Ok(self)
            }
            (None, None) => Ok(self),
            _ => Err("[web] profile_cert_file and profile_key_file go together".into()),
        }
    }

    /// The signing certificate chain and key files, when profiles are signed.
    pub fn profile_signing(&self) -> Option<(&Path, &Path)> {
        Some((
            self.profile_cert_file.as_deref()?,
            self.profile_key_file.as_deref()?,
        ))
    }
}
