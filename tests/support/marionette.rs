//! A Gecko application (Thunderbird) started headless on a throw-away profile and driven
//! through Marionette, its remote protocol: JSON messages framed as `<length>:<json>` over TCP.
//! Only what the client tests need: a session in chrome context and asynchronous scripts,
//! which call the application's own modules.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Prefs for a test profile: Marionette on a port of its choosing (written to
/// `MarionetteActivePort`), no first-run wizard, updates, telemetry or default-client check,
/// no connection anywhere but loopback (every proxied request goes to a closed port), and
/// chrome console messages in the log a failed test prints.
const USER_JS: &str = r#"
user_pref("marionette.port", 0);
user_pref("app.update.disabledForTesting", true);
user_pref("app.update.auto", false);
user_pref("app.update.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.unified", false);
user_pref("mail.provider.enabled", false);
user_pref("mail.shell.checkDefaultClient", false);
user_pref("mailnews.start_page.enabled", false);
user_pref("mail.rights.override", true);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.proxy.type", 1);
user_pref("network.proxy.http", "127.0.0.1");
user_pref("network.proxy.http_port", 9);
user_pref("network.proxy.ssl", "127.0.0.1");
user_pref("network.proxy.ssl_port", 9);
user_pref("network.proxy.no_proxies_on", "");
user_pref("network.proxy.allow_hijacking_localhost", false);
user_pref("signon.rememberSignons", true);
user_pref("devtools.console.stdout.chrome", true);
"#;

/// A running application with a Marionette session in chrome context.
pub struct Gecko {
    child: Child,
    dir: tempfile::TempDir,
    stream: TcpStream,
    buf: Vec<u8>,
    next_id: u64,
    /// The session's capabilities (`browserName`, `browserVersion`, `userAgent`...).
    pub capabilities: Value,
}

impl Gecko {
    /// Starts `binary` headless on a fresh profile and opens a chrome-context session.
    pub fn start(binary: &str) -> Gecko {
        let dir = tempfile::tempdir().expect("tempdir");
        let profile = dir.path().join("profile");
        std::fs::create_dir_all(&profile).expect("profile dir");
        std::fs::write(profile.join("user.js"), USER_JS).expect("user.js");
        let log = std::fs::File::create(dir.path().join("app.log")).expect("log file");
        let child = Command::new(binary)
            .args(["--headless", "--marionette", "-remote-allow-system-access"])
            .arg("--profile")
            .arg(&profile)
            .arg("--no-remote")
            .env("HOME", dir.path())
            .env("MOZ_CRASHREPORTER_DISABLE", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}"));
        let mut app = Gecko {
            stream: connect(&profile, dir.path()),
            child,
            dir,
            buf: Vec::new(),
            next_id: 0,
            capabilities: Value::Null,
        };
        let hello = app.read();
        assert_eq!(hello["marionetteProtocol"], 3, "Marionette hello: {hello}");
        app.capabilities = app.command("WebDriver:NewSession", json!({"capabilities": {}}))
            ["capabilities"]
            .clone();
        app.command("Marionette:SetContext", json!({"value": "chrome"}));
        app.command("WebDriver:SetTimeouts", json!({"script": 120_000}));
        app
    }

    /// Runs `script` as an asynchronous chrome script with `args`; the script resolves with
    /// its last argument, as `{value}` or `{error}`.
    pub fn run(&mut self, script: &str, args: Value) -> Value {
        let answer = self.command(
            "WebDriver:ExecuteAsyncScript",
            json!({"script": script, "args": args, "sandbox": "system"}),
        );
        let outcome = &answer["value"];
        if let Some(error) = outcome.get("error") {
            panic!(
                "script failed: {}\n{}",
                error.as_str().unwrap_or_default(),
                self.log()
            );
        }
        outcome["value"].clone()
    }

    /// What the application printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("app.log")).unwrap_or_default()
    }

    fn command(&mut self, name: &str, params: Value) -> Value {
        self.next_id += 1;
        let message = json!([0, self.next_id, name, params]).to_string();
        let framed = format!("{}:{message}", message.len());
        self.stream
            .write_all(framed.as_bytes())
            .expect("send to Marionette");
        let reply = self.read();
        assert_eq!(
            reply[1], self.next_id,
            "Marionette answered another command"
        );
        if !reply[2].is_null() {
            panic!("{name} failed: {}\n{}", reply[2], self.log());
        }
        reply[3].clone()
    }

    /// Reads one `<length>:<json>` message.
    fn read(&mut self) -> Value {
        loop {
            if let Some(colon) = self.buf.iter().position(|&b| b == b':') {
                let length: usize = std::str::from_utf8(&self.buf[..colon])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .expect("Marionette frame length");
                if self.buf.len() > colon + length {
                    let body: Vec<u8> = self.buf.drain(..=colon + length).skip(colon + 1).collect();
                    return serde_json::from_slice(&body).expect("Marionette JSON");
                }
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).expect("read from Marionette");
            assert!(n > 0, "Marionette closed the connection\n{}", self.log());
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Waits for the port the application writes into the profile and connects to it.
fn connect(profile: &Path, dir: &Path) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(60);
    let port_file = profile.join("MarionetteActivePort");
    while Instant::now() < deadline {
        if let Some(port) = std::fs::read_to_string(&port_file)
            .ok()
            .and_then(|p| p.trim().parse::<u16>().ok())
        {
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
                return stream;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(dir.join("app.log")).unwrap_or_default();
    panic!("no Marionette port within 60 s:\n{log}");
}

impl Drop for Gecko {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
