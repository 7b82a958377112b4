//! Debian's Chromium, headless on a throw-away profile, driven through the DevTools protocol
//! over `--remote-debugging-pipe`: JSON messages ending in a NUL byte, read by the browser on
//! its fd 3 and written on its fd 4 (here: the child's stdin and stdout, swapped in by `sh`).
//! Only what the web tests need: a page of a given size with an `Authorization` header on
//! every request, loading URLs, clicking, running a script, and PNG screenshots.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use super::tools;

/// How long one protocol answer or page load may take.
const WAIT: Duration = Duration::from_secs(60);

/// One browser with one page (a tab) attached.
pub struct Page {
    child: Child,
    dir: tempfile::TempDir,
    to_browser: ChildStdin,
    from_browser: Receiver<Value>,
    next_id: u64,
    session: String,
}

impl Page {
    /// A page `width`×`height` CSS pixels (`mobile`: a phone's viewport and touch), sending
    /// `authorization` (a whole header value) with every request it makes.
    pub fn open(width: u32, height: u32, mobile: bool, authorization: Option<&str>) -> Page {
        let binary = tools::binary(
            "chromium",
            "run scripts/setup.sh test (or: sudo apt-get install chromium)",
        );
        let dir = tempfile::tempdir().expect("profile dir");
        let log = std::fs::File::create(dir.path().join("chromium.log")).expect("log");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null"#)
            .arg(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", dir.path().display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn chromium");
        let to_browser = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, from_browser) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut message = Vec::new();
                match reader.read_until(0, &mut message) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                message.pop();
                let Ok(value) = serde_json::from_slice::<Value>(&message) else {
                    continue;
                };
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        let mut page = Page {
            child,
            dir,
            to_browser,
            from_browser,
            next_id: 0,
            session: String::new(),
        };
        let target = page.call("Target.createTarget", json!({"url": "about:blank"}));
        let target = target["targetId"].as_str().expect("targetId").to_string();
        let attached = page.call(
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        );
        page.session = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_string();
        page.call("Page.enable", json!({}));
        page.call("Network.enable", json!({}));
        if let Some(authorization) = authorization {
            page.call(
                "Network.setExtraHTTPHeaders",
                json!({"headers": {"Authorization": authorization}}),
            );
        }
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
        page
    }

    /// Loads `url` and waits for its load event (stylesheets and images included).
    pub fn goto(&mut self, url: &str) {
        let answer = self.call("Page.navigate", json!({"url": url}));
        assert!(
            answer.get("errorText").is_none(),
            "loading {url}: {answer}\n{}",
            self.log()
        );
        self.wait_for_load();
    }

    /// Clicks the element `selector` names, as a person would (a mouse press and release at
    /// its centre), and waits for the page it leads to.
    pub fn click(&mut self, selector: &str) {
        let centre = self.eval(&format!(
            "(() => {{ const e = document.querySelector({}); if (!e) return null; \
             e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); \
             return [r.x + r.width / 2, r.y + r.height / 2]; }})()",
            json!(selector)
        ));
        let (Some(x), Some(y)) = (centre[0].as_f64(), centre[1].as_f64()) else {
            panic!("nothing to click: {selector}");
        };
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
        self.wait_for_load();
    }

    /// The value of the JavaScript expression `expression` (JSON-serialisable).
    pub fn eval(&mut self, expression: &str) -> Value {
        let answer = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(
            answer.get("exceptionDetails").is_none(),
            "{expression}: {answer}"
        );
        answer["result"]["value"].clone()
    }

    /// The page's visible text.
    pub fn text(&mut self) -> String {
        self.eval("document.body.innerText")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// A PNG of the viewport, written to `out`; returns its bytes.
    pub fn screenshot(&mut self, out: &Path) -> Vec<u8> {
        let answer = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(answer["data"].as_str().expect("screenshot data"))
            .expect("screenshot base64");
        std::fs::write(out, &png).expect("write screenshot");
        png
    }

    /// Sends `method` to the page's session (the browser's before it is attached) and
    /// returns its result; protocol errors fail the test.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            message["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&message).expect("json");
        bytes.push(0);
        self.to_browser
            .write_all(&bytes)
            .and_then(|()| self.to_browser.flush())
            .unwrap_or_else(|e| panic!("chromium is gone ({e}):\n{}", self.log()));
        let answer = self.next_message(|m| m["id"] == id, method);
        if let Some(error) = answer.get("error") {
            panic!("{method}: {error}");
        }
        answer["result"].clone()
    }

    fn wait_for_load(&mut self) {
        let session = self.session.clone();
        self.next_message(
            |m| m["method"] == "Page.loadEventFired" && m["sessionId"] == session.as_str(),
            "the page load",
        );
    }

    /// The next message `wanted` accepts; messages before it (events) are dropped.
    fn next_message(&mut self, wanted: impl Fn(&Value) -> bool, what: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.from_browser.recv_timeout(left) {
                Ok(message) if wanted(&message) => return message,
                Ok(_) => {}
                Err(_) => panic!("chromium: no answer for {what}:\n{}", self.log()),
            }
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("chromium.log")).unwrap_or_default()
    }
}

impl Drop for Page {
    /// Asks the browser to close (so its helper processes go with it), then makes sure.
    fn drop(&mut self) {
        let _ = self
            .to_browser
            .write_all(b"{\"id\":0,\"method\":\"Browser.close\"}\0");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The (width, height) a PNG's header declares.
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(png.get(..8), Some(&b"\x89PNG\r\n\x1a\n"[..]), "a PNG");
    let word = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().expect("4 bytes"));
    (word(16), word(20))
}

/// How many different colours a PNG shows: a blank or failed page has one or two, a page of
/// text hundreds (anti-aliased glyphs).
pub fn png_colours(png: &[u8]) -> usize {
    let image = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .expect("a readable PNG")
        .to_rgb8();
    let colours: std::collections::HashSet<[u8; 3]> = image.pixels().map(|p| p.0).collect();
    colours.len()
}

/// Where the screenshots go: `CARDBRIDGE_SHOTS` when set (to look at them), else `dir`.
pub fn shot_path(dir: &Path, name: &str) -> std::path::PathBuf {
    let dir = std::env::var_os("CARDBRIDGE_SHOTS").map_or(dir.to_path_buf(), Into::into);
    std::fs::create_dir_all(&dir).expect("shots dir");
    dir.join(name)
}
