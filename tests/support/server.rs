//! The real server binary in a temp dir on a free loopback port.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::http::{basic, Conn, Response};

pub const BIN: &str = env!("CARGO_BIN_EXE_cardbridge");

/// File content that makes `Server::start` create a named pipe instead: a source that
/// never answers.
pub const FIFO: &[u8] = b"\0fifo\0";

/// What to run: config text (with `{PORT}` replaced) and data files.
pub struct ServerSpec {
    pub config: String,
    pub files: Vec<(String, Vec<u8>)>,
}

pub struct Server {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub auth: Option<String>,
    user: String,
}

/// argon2 hash of `password`, computed once per test binary by the real CLI.
pub fn hash(password: &str) -> String {
    static CACHE: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(h) = cache.lock().expect("lock").get(password) {
        return h.clone();
    }
    let out = run_cli_with_stdin(&["hash-password"], password);
    assert!(out.0 == 0, "hash-password failed: {}", out.2);
    let h = out.1.trim().to_string();
    cache
        .lock()
        .expect("lock")
        .insert(password.to_string(), h.clone());
    h
}

/// Runs the CLI; returns (exit code, stdout, stderr).
pub fn run_cli(args: &[&str]) -> (i32, String, String) {
    run_cli_with_stdin(args, "")
}

pub fn run_cli_with_stdin(args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cardbridge");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts `cardbridge serve` on `dir/cardbridge.toml`, appending to `dir/server.log`; does not
/// wait (the benches time the start themselves).
pub fn spawn(dir: &Path, args: &[&str]) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .expect("log");
    let mut command = Command::new(BIN);
    command
        .args(["serve", "-c"])
        .arg(dir.join("cardbridge.toml"))
        .args(args)
        // The caller's levels when it set them (the benches measure without the access log).
        .env(
            "CARDBRIDGE_LOG",
            std::env::var("CARDBRIDGE_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdout(Stdio::null())
        .stderr(log);
    // A file-size limit (`Server::limit_file_size`) then fails writes with EFBIG, like a
    // full disk, instead of killing the server.
    #[allow(unsafe_code)]
    // SAFETY: signal() is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    command.spawn().expect("spawn server")
}

/// A loopback port nothing listens on right now (the OS's pick for port 0).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// The `[server]` table on `{PORT}` and a users-mode `[auth]` with `users` (name, password).
pub fn users_config(users: &[(&str, &str)]) -> String {
    let mut config =
        String::from("\n[server]\nlisten = [\"127.0.0.1:{PORT}\"]\n\n[auth]\nmode = \"users\"\n");
    for (name, password) in users {
        config.push_str(&format!(
            "[[auth.users]]\nname = \"{name}\"\npassword_hash = \"{}\"\n",
            hash(password)
        ));
    }
    config
}

/// A users-mode config with alice/secret and bob/hunter2, one CSV source `staff.csv` and
/// one book `staff` readable by everyone; `extra` is appended (more books, settings).
pub fn standard_config(extra: &str) -> String {
    format!(
        r#"{}
[[source]]
id = "staff"
kind = "csv"
path = "staff.csv"
check_interval = "1s"
default_region = "US"

[[addressbook]]
id = "staff"
name = "Staff directory"
description = "Everyone"
sources = ["staff"]
readers = ["*"]
{extra}
"#,
        users_config(&[("alice", "secret"), ("bob", "hunter2")])
    )
}

impl Server {
    /// The standard config (plus `extra`) serving `rows` as the Google CSV `staff.csv`.
    pub fn with_staff(extra: &str, rows: &[String]) -> Server {
        Server::start(ServerSpec {
            config: standard_config(extra),
            files: vec![("staff.csv".into(), super::google_csv(rows).into_bytes())],
        })
    }

    pub fn start(spec: ServerSpec) -> Server {
        let books = spec.config.matches("[[addressbook]]").count();
        Server::start_ready(spec, books)
    }

    /// Starts the server and waits until `books` books have been published.
    pub fn start_ready(spec: ServerSpec, books: usize) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, bytes) in &spec.files {
            let path = dir.path().join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create data dir");
            }
            if bytes == FIFO {
                let status = Command::new("mkfifo").arg(&path).status().expect("mkfifo");
                assert!(status.success());
            } else {
                std::fs::write(path, bytes).expect("write file");
            }
        }
        let port = free_port();
        let config = spec.config.replace("{PORT}", &port.to_string());
        std::fs::write(dir.path().join("cardbridge.toml"), config).expect("write config");
        let auth = spec
            .config
            .contains("mode = \"users\"")
            .then(|| basic("alice", "secret"));
        let user = if auth.is_some() { "alice" } else { "anonymous" }.to_string();
        let child = spawn(dir.path(), &[]);
        let mut server = Server {
            child,
            port,
            dir,
            auth,
            user,
        };
        server.wait_until(|s| s.published_books() >= books);
        server
    }

    /// The server process's current thread count (Linux `/proc`).
    pub fn threads(&self) -> usize {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status of the server");
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("Threads line")
    }

    /// Kills the server with SIGKILL (no chance to clean up).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills and starts the server again on the same port, config and state directory;
    /// returns once it has restored its state and listens.
    pub fn restart(&mut self, args: &[&str]) {
        if let Err(log) = self.try_restart(args) {
            panic!("server exited:\n{log}");
        }
    }

    /// Like `restart`, but a server that refuses to start is an answer, not a failure:
    /// `Err` carries the log of that attempt.
    pub fn try_restart(&mut self, args: &[&str]) -> Result<(), String> {
        self.kill();
        let before = self.log();
        let restored_before = before.matches("state restored").count();
        self.child = spawn(self.dir.path(), args);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Err(self
                    .log()
                    .get(before.len()..)
                    .unwrap_or_default()
                    .to_string());
            }
            let restored = self.log().matches("state restored").count() > restored_before;
            if restored && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "server did not start:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Makes the running server's writes beyond `bytes` of any file fail (`None`: no limit),
    /// as a full disk would, without root or a small filesystem.
    pub fn limit_file_size(&self, bytes: Option<u64>) {
        let limit = libc::rlimit {
            rlim_cur: bytes.unwrap_or(libc::RLIM_INFINITY),
            rlim_max: libc::RLIM_INFINITY,
        };
        #[allow(unsafe_code)]
        // SAFETY: plain system call on our own child with a valid rlimit.
        let rc = unsafe {
            libc::prlimit(
                self.child.id() as libc::pid_t,
                libc::RLIMIT_FSIZE,
                &limit,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
    }

    /// Waits up to `limit` for the server process to exit; its status, or `None` if it still runs.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The server's process id (for its figures in /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The config file's path (for CLI commands against the same setup).
    pub fn config_path(&self) -> String {
        self.dir
            .path()
            .join("cardbridge.toml")
            .display()
            .to_string()
    }

    /// Alice's view of the standard `staff` book.
    pub fn book_path(&self) -> String {
        format!("/addressbooks/{}/staff/", self.user())
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// Makes later requests (and `book_path`) use another account.
    pub fn login_as(&mut self, user: &str, password: &str) {
        self.auth = Some(basic(user, password));
        self.user = user.to_string();
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Waits until the server answers and `ready` holds.
    fn wait_until(&mut self, ready: impl Fn(&Server) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("server exited with {status}:\n{}", self.log());
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() && ready(self) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "server did not start:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn published_books(&self) -> usize {
        let mut books: Vec<String> = self
            .log()
            .lines()
            .filter(|l| l.contains("published"))
            .filter_map(|l| l.split("book=").nth(1))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(String::from)
            .collect();
        books.sort();
        books.dedup();
        books.len()
    }

    /// A request on a new connection, with Alice's credentials when the server has users.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Response {
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(auth) = &self.auth {
            if !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            {
                all.push(("Authorization", auth));
            }
        }
        Conn::open(self.port).send(method, path, &all, body.as_bytes())
    }

    pub fn propfind(&self, path: &str, depth: &str, body: &str) -> Response {
        self.request(
            "PROPFIND",
            path,
            &[("Depth", depth), ("Content-Type", "application/xml")],
            body,
        )
    }

    pub fn report(&self, path: &str, body: &str) -> Response {
        self.request("REPORT", path, &[("Content-Type", "application/xml")], body)
    }

    /// Replaces a data file and waits until the server has published the change (a new
    /// sync token on `book_path`), returning the new token.
    pub fn rewrite_and_wait(&self, name: &str, content: &str, old_token: &str) -> String {
        write_atomically(&self.path(name), content.as_bytes());
        let mut token = String::new();
        super::cards::eventually_within(self, "change published", Duration::from_secs(20), || {
            token = self.token();
            token != old_token
        });
        token
    }

    /// href → etag of every card of the standard book, via PROPFIND Depth 1.
    pub fn listing(&self) -> std::collections::BTreeMap<String, String> {
        let r = self.propfind(
            &self.book_path(),
            "1",
            &super::propfind_body(&["D:getetag"]),
        );
        assert_eq!(r.status, 207, "{}", r.text());
        super::Multistatus::parse(&r.body)
            .responses
            .iter()
            .skip(1)
            .map(|r| {
                (
                    r.href.clone(),
                    r.text(super::multistatus::DAV, "getetag").expect("etag"),
                )
            })
            .collect()
    }

    /// The current sync token of the standard book, once it answers: a book still loading from
    /// its sources answers 503 and a client comes back, as this does (for up to 60 s).
    pub fn token(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        let r = loop {
            let r = self.propfind(
                &self.book_path(),
                "0",
                &super::propfind_body(&["D:sync-token"]),
            );
            if r.status != 503 || Instant::now() > deadline {
                break r;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(r.status, 207, "{}", r.text());
        let ms = super::Multistatus::parse(&r.body);
        ms.responses[0]
            .text(super::multistatus::DAV, "sync-token")
            .expect("sync-token")
    }
}

/// Writes through a temp file and a rename so the server never reads half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, bytes).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
