//! `cardbridge google-login`: an operator signs a Google account in once, in a browser, and
//! the refresh token lands in the source's `oauth.token_file`.
//!
//! OAuth for installed apps: the consent page redirects to a loopback listener
//! (`http://127.0.0.1:<port>/`), with PKCE (S256) and a random `state`, so only this process
//! can use the code. When the browser runs on another machine, the redirect cannot load there;
//! the operator pastes the address it shows instead.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};

use super::auth::{describe, post_form, read_secret};
use super::settings::{GoogleSettings, DEFAULT_TOKEN_URL};

pub struct GoogleLogin {
    client_id: String,
    client_secret: String,
    token_file: PathBuf,
    scopes: Vec<&'static str>,
    auth_url: String,
    token_url: String,
    listener: TcpListener,
    redirect_uri: String,
    state: String,
    verifier: String,
    http: reqwest::Client,
}

/// What arrived at the loopback address or was pasted.
enum Arrival {
    Code(String),
    Refused(String),
}

impl GoogleLogin {
    /// Checks the source's settings and opens the loopback listener (`port` 0: any free one).
    pub fn start(source_id: &str, settings: &GoogleSettings, port: u16) -> Result<Self, String> {
        let Some(oauth) = &settings.oauth else {
            return Err(format!(
                "source {source_id:?} signs in with a service account; google-login is for \
                 sources with a [source.oauth] table"
            ));
        };
        let Some(token_file) = &oauth.token_file else {
            return Err(format!(
                "source {source_id:?}: set oauth.token_file, where google-login stores the \
                 refresh token"
            ));
        };
        let client_secret = match (&oauth.client_secret, &oauth.client_secret_file) {
            (Some(secret), _) => secret.clone(),
            (None, Some(path)) => read_secret(path).map_err(|e| {
                format!(
                    "cannot read oauth.client_secret_file {}: {e}",
                    path.display()
                )
            })?,
            (None, None) => return Err("oauth: give client_secret or client_secret_file".into()),
        };
        let listener = TcpListener::bind(("127.0.0.1", port))
            .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("loopback listener: {e}"))?
            .port();
        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .build()
            .map_err(|e| format!("cannot set up HTTPS: {e}"))?;
        Ok(GoogleLogin {
            client_id: oauth.client_id.clone(),
            client_secret,
            token_file: token_file.clone(),
            scopes: settings.scopes(),
            auth_url: settings.auth_url.clone(),
            token_url: settings
                .token_url
                .clone()
                .unwrap_or_else(|| DEFAULT_TOKEN_URL.to_string()),
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}/"),
            state: random_text(16)?,
            verifier: random_text(48)?,
            http,
        })
    }

    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    pub fn token_file(&self) -> &Path {
        &self.token_file
    }

    /// The consent page to open: offline access (a refresh token), consent asked every time
    /// (so Google sends a new refresh token even when the app was allowed before).
    pub fn consent_url(&self) -> Result<String, String> {
        let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            self.verifier.as_bytes(),
        ));
        let mut url = reqwest::Url::parse(&self.auth_url)
            .map_err(|e| format!("auth_url {:?}: {e}", self.auth_url))?;
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", &self.scopes.join(" "))
            .append_pair("access_type", "offline")
            .append_pair("prompt", "consent")
            .append_pair("state", &self.state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// Waits for the browser's redirect (or a pasted redirect address on `pasted`) and returns
    /// the authorization code. Blocks.
    pub fn wait_for_code(&self, pasted: impl BufRead + Send + 'static) -> Result<String, String> {
        let (tx, rx) = mpsc::channel::<Arrival>();
        let listener = self
            .listener
            .try_clone()
            .map_err(|e| format!("loopback listener: {e}"))?;
        let state = self.state.clone();
        let from_browser = tx.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Some(arrival) = answer_browser(stream, &state) {
                    let _ = from_browser.send(arrival);
                    return;
                }
            }
        });
        let state = self.state.clone();
        std::thread::spawn(move || {
            for line in pasted.lines().map_while(Result::ok) {
                match parse_redirect(line.trim(), &state) {
                    Ok(Some(arrival)) => {
                        let _ = tx.send(arrival);
                        return;
                    }
                    Ok(None) => {}
                    Err(e) => eprintln!("{e}; paste the whole address, or wait for the browser"),
                }
            }
        });
        match rx.recv() {
            Ok(Arrival::Code(code)) => Ok(code),
            Ok(Arrival::Refused(error)) => Err(format!("Google reported: {error}; nothing stored")),
            Err(_) => Err("the loopback listener stopped".into()),
        }
    }

    /// Trades the code for tokens; returns the refresh token.
    pub async fn exchange(&self, code: &str) -> Result<String, String> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.as_str()),
            ("code_verifier", self.verifier.as_str()),
        ];
        let response = match post_form(&self.http, &self.token_url, &form)
            .await
            .map_err(|e| e.to_string())?
        {
            Ok(response) => response,
            Err((status, body)) => {
                return Err(format!(
                    "the token endpoint {} refused the code ({status}: {}); run google-login \
                     again",
                    self.token_url,
                    describe(&body)
                ))
            }
        };
        if let Some(granted) = &response.scope {
            let missing = super::auth::missing_scopes(granted, &self.scopes);
            if !missing.is_empty() {
                return Err(format!(
                    "the account did not allow {}; run google-login again and tick the \
                     read access to contacts on the consent page",
                    missing.join(", ")
                ));
            }
        }
        response
            .refresh_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                "Google sent no refresh token; remove the app's access in the account's \
             security settings (Third-party apps with account access) and run google-login \
             again"
                    .to_string()
            })
    }

    /// Writes the refresh token to the token file, readable by the owner only, replacing it
    /// in one step so a running server never reads half a token.
    pub fn store(&self, refresh_token: &str) -> Result<(), String> {
        write_private(&self.token_file, format!("{refresh_token}\n").as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", self.token_file.display()))
    }
}

fn random_text(bytes: usize) -> Result<String, String> {
    let mut buf = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| "no random numbers from the operating system".to_string())?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// Reads one request from the browser and answers it; an arrival when it carried the code or
/// Google's refusal.
fn answer_browser(stream: TcpStream, state: &str) -> Option<Arrival> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    // Drain the header so the browser sees a clean answer.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (status, page, arrival) = match parse_redirect(target, state) {
        Ok(Some(Arrival::Code(code))) => (
            "200 OK",
            "cardbridge has the authorization; you can close this tab.",
            Some(Arrival::Code(code)),
        ),
        Ok(Some(Arrival::Refused(error))) => (
            "200 OK",
            "Google reported that access was not granted; nothing was stored.",
            Some(Arrival::Refused(error)),
        ),
        Ok(None) => ("404 Not Found", "Not found.", None),
        Err(_) => (
            "400 Bad Request",
            "This answer does not belong to the running google-login.",
            None,
        ),
    };
    let body = format!("<!doctype html><title>cardbridge</title><p>{page}</p>\n");
    let mut stream = reader.into_inner();
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
    arrival
}

/// A redirect target (`/?code=..&state=..`) or a whole pasted redirect address. `Ok(None)`
/// for anything else (a favicon request); `Err` when the state does not match.
fn parse_redirect(target: &str, state: &str) -> Result<Option<Arrival>, String> {
    let url = if target.starts_with('/') {
        reqwest::Url::parse(&format!("http://127.0.0.1{target}"))
    } else {
        reqwest::Url::parse(target)
    };
    let Ok(url) = url else {
        return Ok(None);
    };
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let (code, error) = (param("code"), param("error"));
    if code.is_none() && error.is_none() {
        return Ok(None);
    }
    if param("state").as_deref() != Some(state) {
        return Err("this redirect belongs to another login attempt (state differs)".into());
    }
    Ok(match (code, error) {
        (_, Some(error)) => Some(Arrival::Refused(error)),
        (Some(code), None) => Some(Arrival::Code(code)),
        (None, None) => None,
    })
}

/// Writes `bytes` to `path` with mode 0600 through a temporary file and a rename.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_need_the_right_state() {
        assert!(matches!(
            parse_redirect("/?code=4%2Fabc&state=s1&scope=x", "s1"),
            Ok(Some(Arrival::Code(c))) if c == "4/abc"
        ));
        assert!(matches!(
            parse_redirect("http://127.0.0.1:9/?error=access_denied&state=s1", "s1"),
            Ok(Some(Arrival::Refused(e))) if e == "access_denied"
        ));
        assert!(parse_redirect("/?code=abc&state=other", "s1").is_err());
        assert!(matches!(parse_redirect("/favicon.ico", "s1"), Ok(None)));
    }
}
