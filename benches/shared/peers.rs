//! Other CardDAV servers the load benchmark compares with, when installed (`pip install
//! radicale xandikos`): each is started in its usual standalone setup on loopback, without
//! authentication checks or request logging, on the same vCard files cardbridge serves,
//! written straight into its storage (Radicale: a filesystem collection directory with its
//! `.Radicale.props`; Xandikos: its git-backed address book, one commit of all the files).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::client::{request, Conn};
use crate::support::free_port;
use crate::support::propfind_body;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Radicale,
    Xandikos,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Radicale => "radicale",
            Kind::Xandikos => "xandikos",
        }
    }
}

/// A peer server found in the Python environment.
#[derive(Clone)]
pub struct Installed {
    pub kind: Kind,
    pub version: String,
    python: PathBuf,
}

/// The peers importable by `python3`; a line for each one that is not.
pub fn detect() -> Vec<Installed> {
    let mut found = Vec::new();
    for kind in [Kind::Radicale, Kind::Xandikos] {
        let probe = format!(
            "import sys, importlib.metadata as m, {0}; print(sys.executable); print(m.version('{0}'))",
            kind.name()
        );
        let answer = Command::new("python3").args(["-c", &probe]).output();
        let text = answer
            .as_ref()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        let mut lines = text.as_deref().unwrap_or("").lines();
        match (lines.next(), lines.next()) {
            (Some(python), Some(version)) => found.push(Installed {
                kind,
                version: version.trim().to_string(),
                python: PathBuf::from(python.trim()),
            }),
            _ => println!(
                "{0}: not installed (pip install {0}); not compared",
                kind.name()
            ),
        }
    }
    found
}

/// A running peer serving one address book of the given cards.
pub struct Peer {
    pub kind: Kind,
    child: Child,
    pub port: u16,
    /// The address book's path.
    pub book: String,
    /// Headers every request carries (Radicale wants a user name; it checks no password).
    pub headers: Vec<(&'static str, &'static str)>,
    /// Writing the cards into the storage (and committing them, for Xandikos).
    pub load_s: f64,
    /// Spawn → the address book answering a PROPFIND.
    pub ready_s: f64,
    /// The storage, removed after the server stops.
    _dir: Option<tempfile::TempDir>,
}

/// Radicale's collection owner: its `none` authentication takes any user name.
const RADICALE_USER: &str = "bench";
/// `bench:bench`.
const RADICALE_AUTH: &str = "Basic YmVuY2g6YmVuY2g=";
/// Where `xandikos --defaults` puts the address book.
const XANDIKOS_BOOK: &str = "/user/contacts/addressbook/";

impl Peer {
    /// Starts `peer` on `cards` (file name, exact bytes).
    pub fn start(peer: &Installed, cards: &[(String, Vec<u8>)]) -> Result<Peer, String> {
        // In memory where there is a tmpfs: removing 100,000 cards and a peer's caches from
        // this VM's disk took minutes.
        let dir = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .map_err(|e| e.to_string())?;
        let root = dir.path().to_path_buf();
        let port = free_port();
        let log = std::fs::File::create(root.join("server.log")).map_err(|e| e.to_string())?;
        let (book, headers, args): (String, Vec<(&str, &str)>, Vec<String>) = match peer.kind {
            Kind::Radicale => (
                format!("/{RADICALE_USER}/directory/"),
                vec![("Authorization", RADICALE_AUTH)],
                radicale_setup(&root, port)?,
            ),
            Kind::Xandikos => (
                XANDIKOS_BOOK.to_string(),
                Vec::new(),
                vec![
                    "-m".into(),
                    "xandikos".into(),
                    "serve".into(),
                    "--defaults".into(),
                    "--no-detect-systemd".into(),
                    "-d".into(),
                    root.join("store").display().to_string(),
                    "--state-dir".into(),
                    root.join("state").display().to_string(),
                    "-l".into(),
                    "127.0.0.1".into(),
                    "-p".into(),
                    port.to_string(),
                ],
            ),
        };
        let spawn = || {
            Command::new(&peer.python)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log.try_clone()?)
                .spawn()
        };
        let began = match peer.kind {
            Kind::Radicale => {
                let began = Instant::now();
                radicale_import(&root, cards)?;
                began
            }
            Kind::Xandikos => {
                // The first start creates the git-backed address book; the cards are then
                // committed into it as an administrator would, and the server started again.
                let child = spawn().map_err(|e| e.to_string())?;
                Peer::new(peer, child, port, &book, &headers, None, 0.0).wait_ready(&root)?;
                let began = Instant::now();
                xandikos_import(&root.join("store/user/contacts/addressbook"), cards)?;
                began
            }
        };
        let load_s = began.elapsed().as_secs_f64();
        let started = Instant::now();
        let child = spawn().map_err(|e| e.to_string())?;
        let mut peer = Peer::new(peer, child, port, &book, &headers, Some(dir), load_s);
        peer.wait_ready(&root)?;
        peer.ready_s = started.elapsed().as_secs_f64();
        Ok(peer)
    }

    fn new(
        peer: &Installed,
        child: Child,
        port: u16,
        book: &str,
        headers: &[(&'static str, &'static str)],
        dir: Option<tempfile::TempDir>,
        load_s: f64,
    ) -> Peer {
        Peer {
            kind: peer.kind,
            child,
            port,
            book: book.to_string(),
            headers: headers.to_vec(),
            load_s,
            ready_s: 0.0,
            _dir: dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a PROPFIND Depth 0 on the book to answer 207.
    fn wait_ready(&mut self, root: &Path) -> Result<(), String> {
        let mut headers = self.headers.clone();
        headers.push(("Depth", "0"));
        let probe = request(
            "PROPFIND",
            &self.book,
            &headers,
            &propfind_body(&["D:resourcetype"]),
        );
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let answer = Conn::open_with(self.port, Duration::from_secs(60))
                .and_then(|mut c| c.send(&probe, false));
            match answer {
                Ok(r) if r.status == 207 => return Ok(()),
                _ if Instant::now() > deadline
                    || self.child.try_wait().ok().flatten().is_some() =>
                {
                    let log = std::fs::read_to_string(root.join("server.log")).unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(20).collect();
                    return Err(format!(
                        "{} did not serve {}:\n{}",
                        self.kind.name(),
                        self.book,
                        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                    ));
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        crate::stop(&mut self.child);
    }
}

/// Radicale's configuration: the default multithreaded server, `none` authentication, the
/// filesystem storage, warnings only in the log. Answers the interpreter's arguments.
///
/// Its storage fsyncs every cache file it writes, and the first sync of a book writes two per
/// card (the item and its sync history): 261 s of waiting for 10,000 cards on the VM the
/// figures come from. Radicale's own switch for that, `_filesystem_fsync`, is not allowed in a
/// configuration file (its test suite sets it), so a few lines start the server as
/// `python -m radicale` does, with the file's configuration and that switch off; the first
/// sync then measures Radicale's work rather than the disk.
fn radicale_setup(root: &Path, port: u16) -> Result<Vec<String>, String> {
    let config = format!(
        "[server]\nhosts = 127.0.0.1:{port}\n\n[auth]\ntype = none\n\n[storage]\n\
         filesystem_folder = {}\n\n[web]\ntype = none\n\n[logging]\nlevel = warning\n",
        root.join("collections").display()
    );
    let path = root.join("radicale.conf");
    std::fs::write(&path, config).map_err(|e| e.to_string())?;
    Ok(vec![
        "-c".into(),
        RADICALE_LAUNCHER.into(),
        path.display().to_string(),
    ])
}

/// `python -m radicale --config FILE`, with the storage's fsync off.
const RADICALE_LAUNCHER: &str = "\
import sys
from radicale import config, log, server
log.setup()
configuration = config.load([(sys.argv[1], False)])
configuration.update({'storage': {'_filesystem_fsync': 'False'}}, 'benchmark', privileged=True)
log.set_level(configuration.get('logging', 'level'),
              configuration.get('logging', 'backtrace_on_debug'),
              configuration.get('logging', 'trace_filter'))
server.serve(configuration)
";

/// The cards as files of an address book collection in Radicale's filesystem storage.
fn radicale_import(root: &Path, cards: &[(String, Vec<u8>)]) -> Result<(), String> {
    let book = root.join(format!(
        "collections/collection-root/{RADICALE_USER}/directory"
    ));
    std::fs::create_dir_all(&book).map_err(|e| e.to_string())?;
    std::fs::write(
        book.join(".Radicale.props"),
        r#"{"D:displayname": "Directory", "tag": "VADDRESSBOOK"}"#,
    )
    .map_err(|e| e.to_string())?;
    write_cards(&book, cards)
}

/// The cards committed into Xandikos's git-backed address book (its working tree and index).
fn xandikos_import(book: &Path, cards: &[(String, Vec<u8>)]) -> Result<(), String> {
    write_cards(book, cards)?;
    for args in [
        &["add", "--all", "."][..],
        &[
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.invalid",
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            "Import the benchmark's cards",
        ][..],
    ] {
        let status = Command::new("git")
            .arg("-C")
            .arg(book)
            .args(args)
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("git: {e}"))?;
        if !status.success() {
            return Err(format!("git {args:?} failed in {}", book.display()));
        }
    }
    Ok(())
}

fn write_cards(dir: &Path, cards: &[(String, Vec<u8>)]) -> Result<(), String> {
    for (name, bytes) in cards {
        let mut file = std::fs::File::create(dir.join(name))
            .map_err(|e| format!("{}: {e}", dir.join(name).display()))?;
        file.write_all(bytes).map_err(|e| e.to_string())?;
    }
    Ok(())
}
