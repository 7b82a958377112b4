//! Access tokens for the People API: from an installed app's refresh token, or from a service
//! account's JWT bearer grant (RS256, domain-wide delegation). A token is cached until a minute
//! before it expires; files (refresh token, key) are read again for every new token, so an
//! operator's fix takes effect at the next poll without a restart.
//!
//! Every error says what to do: the token endpoint's answers are translated into the setting
//! or console page to change.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;
use serde::Deserialize;
use tokio::time::Instant;

use super::settings::{OAuthSettings, ServiceAccountSettings, DEFAULT_TOKEN_URL};

/// A token is renewed this long before Google says it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// Lifetime asked for in service-account assertions (Google's maximum).
const ASSERTION_LIFETIME: u64 = 3600;
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How the source signs in.
#[derive(Debug, Clone)]
pub enum Method {
    Refresh(OAuthSettings),
    ServiceAccount(ServiceAccountSettings),
}

pub struct Auth {
    http: reqwest::Client,
    method: Method,
    scopes: Vec<&'static str>,
    token_url: Option<String>,
    /// The source id, for the `google-login` hint.
    source_id: String,
    cache: tokio::sync::Mutex<Option<Cached>>,
}

struct Cached {
    token: String,
    renew_at: Instant,
}

/// Why no access token could be had.
#[derive(Debug)]
pub enum AuthError {
    /// Configuration, consent or delegation must change; the message says how.
    Refused(String),
    /// Network trouble or a token endpoint error that may pass.
    Transient(String),
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthError::Refused(m) | AuthError::Transient(m) => f.write_str(m),
        }
    }
}

/// A token endpoint's success answer.
#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub scope: Option<String>,
    /// Only in answers to an authorization code (`google-login`).
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// A token endpoint's error answer (RFC 6749 section 5.2).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OAuthErrorBody {
    pub error: String,
    pub error_description: String,
}

/// The fields of a service account JSON key that cardbridge uses.
#[derive(Deserialize)]
pub struct ServiceAccountKey {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub client_email: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub private_key: String,
    #[serde(default)]
    pub private_key_id: Option<String>,
    #[serde(default)]
    pub token_uri: Option<String>,
}

impl Auth {
    pub fn new(
        http: reqwest::Client,
        method: Method,
        scopes: Vec<&'static str>,
        token_url: Option<String>,
        source_id: String,
    ) -> Auth {
        Auth {
            http,
            method,
            scopes,
            token_url,
            source_id,
            cache: tokio::sync::Mutex::new(None),
        }
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    /// A valid access token, from the cache while it lasts.
    pub async fn token(&self) -> Result<String, AuthError> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref().filter(|c| Instant::now() < c.renew_at) {
            return Ok(cached.token.clone());
        }
        *cache = None;
        let (token, lifetime) = match &self.method {
            Method::Refresh(oauth) => self.refresh(oauth).await?,
            Method::ServiceAccount(sa) => self.service_account(sa).await?,
        };
        *cache = Some(Cached {
            token: token.clone(),
            renew_at: Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN),
        });
        Ok(token)
    }

    /// Forgets `token` after the API refused it, so the next call gets a new one.
    pub async fn invalidate(&self, token: &str) {
        let mut cache = self.cache.lock().await;
        if cache.as_ref().is_some_and(|c| c.token == token) {
            *cache = None;
        }
    }

    /// What to do about a token that lacks a scope the API asked for.
    pub fn scope_advice(&self) -> String {
        let scopes = self.scopes.join(",");
        match &self.method {
            Method::Refresh(_) => format!(
                "the account did not grant {scopes}: run `cardbridge google-login -c <config> \
                 --source {}` again and allow read access to contacts",
                self.source_id
            ),
            Method::ServiceAccount(sa) => {
                let client = read_key(&sa.key_file)
                    .map(|k| k.client_id)
                    .unwrap_or_else(|_| "of the service account".into());
                format!(
                    "add the scope(s) {scopes} to client id {client} in the Admin console \
                     (Security → Access and data control → API controls → Domain-wide \
                     delegation)"
                )
            }
        }
    }

    async fn refresh(&self, oauth: &OAuthSettings) -> Result<(String, Duration), AuthError> {
        let secret = match (&oauth.client_secret, &oauth.client_secret_file) {
            (Some(secret), _) => secret.clone(),
            (None, Some(path)) => read_secret(path).map_err(|e| {
                AuthError::Refused(format!(
                    "cannot read oauth.client_secret_file {}: {e}",
                    path.display()
                ))
            })?,
            (None, None) => String::new(),
        };
        let (refresh_token, origin) = match (&oauth.refresh_token, &oauth.token_file) {
            (Some(token), _) => (token.clone(), "oauth.refresh_token".to_string()),
            (None, Some(path)) => {
                let token = read_secret(path).map_err(|e| {
                    AuthError::Refused(format!(
                        "cannot read the refresh token file {}: {e}; run `cardbridge \
                         google-login -c <config> --source {}` to sign in and create it",
                        path.display(),
                        self.source_id
                    ))
                })?;
                (token, path.display().to_string())
            }
            (None, None) => (String::new(), "oauth".into()),
        };
        if refresh_token.is_empty() {
            return Err(AuthError::Refused(format!(
                "{origin} holds no refresh token; run `cardbridge google-login -c <config> \
                 --source {}`",
                self.source_id
            )));
        }
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
            ("client_id", oauth.client_id.as_str()),
            ("client_secret", secret.as_str()),
        ];
        let url = self.token_url.as_deref().unwrap_or(DEFAULT_TOKEN_URL);
        let response = match post_form(&self.http, url, &form).await? {
            Ok(response) => response,
            Err((status, body)) => {
                return Err(match body.error.as_str() {
                    "invalid_grant" => AuthError::Refused(format!(
                        "Google refused the refresh token in {origin} ({}): it was revoked, \
                         or it expired (apps whose OAuth consent screen is in \"Testing\" get \
                         tokens that last 7 days). Run `cardbridge google-login -c <config> \
                         --source {}` to sign in again",
                        describe(&body),
                        self.source_id
                    )),
                    "invalid_client" | "unauthorized_client" => AuthError::Refused(format!(
                        "Google does not accept oauth.client_id / client_secret ({}): copy \
                         both from the OAuth client (type \"Desktop app\") in the Cloud \
                         console, APIs & Services → Credentials",
                        describe(&body)
                    )),
                    _ => token_endpoint_error(url, status, &body),
                })
            }
        };
        if let Some(granted) = &response.scope {
            let missing = missing_scopes(granted, &self.scopes);
            if !missing.is_empty() {
                return Err(AuthError::Refused(format!(
                    "the refresh token in {origin} was not granted {}: run `cardbridge \
                     google-login -c <config> --source {}` again and allow read access to \
                     contacts",
                    missing.join(", "),
                    self.source_id
                )));
            }
        }
        Ok(lifetime(response))
    }

    async fn service_account(
        &self,
        sa: &ServiceAccountSettings,
    ) -> Result<(String, Duration), AuthError> {
        let key = read_key(&sa.key_file).map_err(AuthError::Refused)?;
        let url = self
            .token_url
            .clone()
            .or_else(|| key.token_uri.clone())
            .unwrap_or_else(|| DEFAULT_TOKEN_URL.to_string());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let assertion = assertion(&key, &sa.subject, &self.scopes, &url, now)
            .map_err(|e| AuthError::Refused(format!("{}: {e}", sa.key_file.display())))?;
        let form = [("grant_type", JWT_BEARER_GRANT), ("assertion", &assertion)];
        let response = match post_form(&self.http, &url, &form).await? {
            Ok(response) => response,
            Err((status, body)) => {
                let scopes = self.scopes.join(",");
                return Err(match body.error.as_str() {
                    "unauthorized_client" | "access_denied" => AuthError::Refused(format!(
                        "Google does not let service account {} act as {} with {scopes} ({}): \
                         in the Admin console, Security → Access and data control → API \
                         controls → Domain-wide delegation, add client id {} with exactly \
                         these scopes",
                        key.client_email,
                        sa.subject,
                        describe(&body),
                        key.client_id
                    )),
                    "invalid_grant" if body.error_description.contains("Invalid email") => {
                        AuthError::Refused(format!(
                            "service_account.subject {:?} is not a user of the Workspace \
                             domain ({})",
                            sa.subject,
                            describe(&body)
                        ))
                    }
                    "invalid_grant" => AuthError::Refused(format!(
                        "Google refused the assertion signed with {} ({}): the key may have \
                         been deleted (create a new JSON key for {}) or this machine's clock \
                         may be wrong",
                        sa.key_file.display(),
                        describe(&body),
                        key.client_email
                    )),
                    _ => token_endpoint_error(&url, status, &body),
                });
            }
        };
        Ok(lifetime(response))
    }
}

fn lifetime(response: TokenResponse) -> (String, Duration) {
    let seconds = response.expires_in.unwrap_or(3600);
    (response.access_token, Duration::from_secs(seconds))
}

pub fn describe(body: &OAuthErrorBody) -> String {
    if body.error_description.is_empty() {
        body.error.clone()
    } else {
        format!("{}: {}", body.error, body.error_description)
    }
}

fn token_endpoint_error(url: &str, status: u16, body: &OAuthErrorBody) -> AuthError {
    let message = format!(
        "the token endpoint {url} answered {status} ({})",
        describe(body)
    );
    if status >= 500 || status == 429 {
        AuthError::Transient(message)
    } else {
        AuthError::Refused(message)
    }
}

/// Posts a token request; `Ok(Err(..))` is an OAuth error answer.
pub async fn post_form(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> Result<Result<TokenResponse, (u16, OAuthErrorBody)>, AuthError> {
    let response =
        http.post(url).form(form).send().await.map_err(|e| {
            AuthError::Transient(format!("cannot reach the token endpoint {url}: {e}"))
        })?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(|e| {
        AuthError::Transient(format!(
            "reading the answer of the token endpoint {url}: {e}"
        ))
    })?;
    if status == 200 {
        return serde_json::from_slice::<TokenResponse>(&bytes)
            .map(Ok)
            .map_err(|e| {
                AuthError::Transient(format!(
                    "the token endpoint {url} answered something that is not a token: {e}"
                ))
            });
    }
    let body =
        serde_json::from_slice::<OAuthErrorBody>(&bytes).unwrap_or_else(|_| OAuthErrorBody {
            error: format!("HTTP {status}"),
            error_description: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
        });
    Ok(Err((status, body)))
}

/// Reads a one-line secret file, without the trailing newline.
pub fn read_secret(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| e.to_string())
}

/// Reads and checks a service account JSON key.
pub fn read_key(path: &Path) -> Result<ServiceAccountKey, String> {
    let hint = "create a JSON key for the service account (Cloud console → IAM & Admin → \
                Service accounts → Keys → Add key → JSON) and point \
                service_account.key_file at it";
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "cannot read the service account key file {}: {e}; {hint}",
            path.display()
        )
    })?;
    let key: ServiceAccountKey = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not a JSON key file ({e}); {hint}", path.display()))?;
    if key.kind != "service_account" {
        return Err(format!(
            "{} is a {:?} credential, not a service account key; {hint}",
            path.display(),
            key.kind
        ));
    }
    if key.client_email.is_empty() || key.private_key.is_empty() {
        return Err(format!(
            "{} lacks client_email or private_key; {hint}",
            path.display()
        ));
    }
    Ok(key)
}

/// The signed JWT of the bearer grant: `iss` the service account, `sub` the user it acts as,
/// `aud` the token endpoint, valid for an hour from `now`.
pub fn assertion(
    key: &ServiceAccountKey,
    subject: &str,
    scopes: &[&str],
    audience: &str,
    now: u64,
) -> Result<String, String> {
    let der = PrivateKeyDer::from_pem_slice(key.private_key.as_bytes())
        .map_err(|e| format!("private_key is not a PEM private key: {e}"))?;
    let PrivateKeyDer::Pkcs8(pkcs8) = der else {
        return Err("private_key is not a PKCS#8 key (\"BEGIN PRIVATE KEY\")".into());
    };
    let pair = RsaKeyPair::from_pkcs8(pkcs8.secret_pkcs8_der())
        .map_err(|e| format!("private_key is not a usable RSA key: {e}"))?;
    let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    if let Some(kid) = &key.private_key_id {
        header["kid"] = serde_json::Value::String(kid.clone());
    }
    let claims = serde_json::json!({
        "iss": key.client_email,
        "sub": subject,
        "scope": scopes.join(" "),
        "aud": audience,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; pair.public().modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "signing the assertion failed".to_string())?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// The scopes in `wanted` that a token response's space-separated `granted` list lacks.
pub(super) fn missing_scopes<'a>(granted: &str, wanted: &[&'a str]) -> Vec<&'a str> {
    let granted: Vec<&str> = granted.split_whitespace().collect();
    wanted
        .iter()
        .copied()
        .filter(|s| !granted.contains(s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};

    /// A throwaway 2048-bit RSA key from the openssl CLI (test key, never used elsewhere).
    fn test_key() -> String {
        let out = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ])
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("PEM")
    }

    #[test]
    fn assertion_is_a_verifiable_rs256_jwt_with_the_delegation_claims() {
        let pem = test_key();
        let key = ServiceAccountKey {
            kind: "service_account".into(),
            client_email: "sync@proj.iam.gserviceaccount.com".into(),
            client_id: "1234".into(),
            private_key: pem.clone(),
            private_key_id: Some("kid-1".into()),
            token_uri: None,
        };
        let jwt = assertion(
            &key,
            "admin@example.com",
            &["https://www.googleapis.com/auth/directory.readonly"],
            "https://oauth2.example/token",
            1_700_000_000,
        )
        .expect("assertion");
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |s: &str| -> serde_json::Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).expect("base64url")).expect("json")
        };
        let header = decode(parts[0]);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["kid"], "kid-1");
        let claims = decode(parts[1]);
        assert_eq!(claims["iss"], "sync@proj.iam.gserviceaccount.com");
        assert_eq!(claims["sub"], "admin@example.com");
        assert_eq!(
            claims["scope"],
            "https://www.googleapis.com/auth/directory.readonly"
        );
        assert_eq!(claims["aud"], "https://oauth2.example/token");
        assert_eq!(claims["iat"], 1_700_000_000u64);
        assert_eq!(claims["exp"], 1_700_003_600u64);

        let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).expect("pem");
        let pair = RsaKeyPair::from_pkcs8(der.secret_der()).expect("rsa");
        let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pair.public().as_ref());
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("signature");
        let signed = format!("{}.{}", parts[0], parts[1]);
        public
            .verify(signed.as_bytes(), &signature)
            .expect("signature verifies");
        assert!(public.verify(b"something else", &signature).is_err());
    }

    #[test]
    fn key_files_that_cannot_be_used_say_what_to_do() {
        let dir =
            std::env::temp_dir().join(format!("cardbridge-google-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let missing = read_key(&dir.join("nope.json")).err().expect("error");
        assert!(
            missing.contains("cannot read the service account key file"),
            "{missing}"
        );
        assert!(missing.contains("Add key → JSON"), "{missing}");
        let user = dir.join("user.json");
        std::fs::write(&user, r#"{"type": "authorized_user", "client_id": "x"}"#).expect("write");
        let wrong = read_key(&user).err().expect("error");
        assert!(wrong.contains("\"authorized_user\" credential"), "{wrong}");
        let bad_key = ServiceAccountKey {
            kind: "service_account".into(),
            client_email: "a@b".into(),
            client_id: String::new(),
            private_key: "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
                .into(),
            private_key_id: None,
            token_uri: None,
        };
        assert!(assertion(&bad_key, "u@x", &[], "https://t", 0).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
