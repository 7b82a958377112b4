//! A real CardDAV client: Evolution Data Server 3.46 (Debian's `evolution-data-server`), the
//! address-book service behind Evolution and GNOME Contacts, headless. Its registry and
//! address-book factory run on a private D-Bus session (`dbus-run-session`);
//! `tests/clients/eds/driver.py` drives them through GObject introspection: WebDAV discovery
//! from the server's root, a CardDAV book's `.source` key file, the password handed over the
//! way a credentials prompt does, refreshes, and edits. EDS has no sync-collection: it
//! compares the book's getctag, lists every ETag with PROPFIND and multigets what differs.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::clients::{
    cards_fetched, expected, held, reports, Exchange, Expected, World, ALICE, CARDS, CHANGE, GUEST,
};
use support::tools::binary;

/// EDS's version as Debian ships it in bookworm.
const VERSION: &str = "3.46";
const INSTALL: &str = "run scripts/setup.sh test (or: sudo apt-get install evolution-data-server \
                       dbus-daemon python3-gi gir1.2-ebook-1.2 gir1.2-edataserver-1.2)";

/// The driver on its private session bus, with its own home.
struct Eds {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    dir: tempfile::TempDir,
}

impl Eds {
    fn start() -> Eds {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path();
        let runtime = home.join("run");
        std::fs::create_dir_all(&runtime).expect("runtime dir");
        std::fs::set_permissions(
            &runtime,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .expect("runtime dir mode");
        // Debian's python3: the introspection bindings are Debian packages.
        let python = binary("python3", INSTALL);
        let bindings = Command::new(&python)
            .args(["-c", "import gi; gi.require_version('EBook', '1.2')"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            bindings,
            "EDS's introspection bindings are missing: {INSTALL}"
        );
        assert!(
            Path::new("/usr/libexec/evolution-addressbook-factory").exists(),
            "EDS's address-book factory is missing: {INSTALL}"
        );
        let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/eds/driver.py");
        let log = std::fs::File::create(home.join("eds.log")).expect("log");
        let mut child = Command::new(binary("dbus-run-session", INSTALL))
            .arg("--")
            .arg(python)
            .arg(driver)
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            // Its own process group: the bus and the EDS services it starts go with it.
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start the EDS driver");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Eds {
            child,
            stdin,
            stdout,
            dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("eds.log")).unwrap_or_default()
    }

    /// Sends one command; returns its JSON answer.
    fn call(&mut self, command: &str) -> Value {
        writeln!(self.stdin, "{command}").expect("driver stdin");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("driver stdout");
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("{command}: no answer ({e}): {line:?}\n{}", self.log()))
    }

    /// Sends a command that must succeed.
    fn ok(&mut self, command: &str) -> Value {
        let answer = self.call(command);
        assert!(answer.get("error").is_none(), "{command}: {answer}");
        answer
    }

    /// The address books EDS discovers from `url` as `user`: (href, display name).
    fn discover(&mut self, url: &str, user: (&str, &str)) -> Vec<(String, String)> {
        let answer = self.ok(&format!("discover {url} {} {}", user.0, user.1));
        answer["books"]
            .as_array()
            .expect("books")
            .iter()
            .map(|b| {
                (
                    b["href"].as_str().unwrap_or_default().to_string(),
                    b["name"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// The contacts in EDS's local cache.
    fn cards(&mut self) -> BTreeMap<String, Expected> {
        let answer = self.ok("list");
        let cards: Vec<&str> = answer["cards"]
            .as_array()
            .expect("cards")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        held(cards)
    }

    /// Waits until the backend's background sync has brought `want` into the cache; the
    /// refresh call returns once the sync is scheduled, not when it is done.
    fn wait_for(&mut self, want: &BTreeMap<String, Expected>) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            // Counting is cheap; the whole book is read once the count is right.
            while self.ok("count")["count"].as_u64() != Some(want.len() as u64)
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(100));
            }
            let held = self.cards();
            if &held == want {
                return;
            }
            if Instant::now() > deadline {
                let missing: Vec<&String> =
                    want.keys().filter(|k| !held.contains_key(*k)).collect();
                let extra: Vec<&String> = held.keys().filter(|k| !want.contains_key(*k)).collect();
                let differing: Vec<&String> = want
                    .iter()
                    .filter(|(k, v)| held.get(*k).is_some_and(|h| h != *v))
                    .map(|(k, _)| k)
                    .collect();
                panic!(
                    "EDS holds {} cards, not the {} expected: missing {:?}, extra {:?}, differing {:?}\n{}",
                    held.len(),
                    want.len(),
                    missing.iter().take(5).collect::<Vec<_>>(),
                    extra.iter().take(5).collect::<Vec<_>>(),
                    differing,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Drop for Eds {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

fn name(i: usize) -> String {
    format!("Given{i:04} Family{i:04}")
}

/// The PROPFINDs among `exchanges` asking for `property`.
fn propfinds_for<'a>(exchanges: &'a [Exchange], property: &str) -> Vec<&'a Exchange> {
    exchanges
        .iter()
        .filter(|x| x.method == "PROPFIND" && x.body.contains(property))
        .collect()
}

fn depth(x: &Exchange) -> &str {
    x.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("depth"))
        .map_or("", |(_, v)| v.as_str())
}

#[test]
fn evolution_data_server_syncs_the_staff_book_by_ctag_and_multiget() {
    let world = World::start();
    let mut eds = Eds::start();
    let version = eds.ok("version")["version"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        version.starts_with(&format!("{VERSION}.")),
        "EDS {version}, not {VERSION}"
    );

    // 1. WebDAV discovery from the root finds both of Alice's books.
    let books = eds.discover(&world.url(), ALICE);
    let hrefs: BTreeSet<&str> = books.iter().map(|(h, _)| h.as_str()).collect();
    assert!(hrefs.contains(world.staff_url().as_str()), "{books:?}");
    assert!(
        hrefs.contains(world.rooms_url(ALICE.0).as_str()),
        "{books:?}"
    );

    // 2. The staff book as a CardDAV source: its first refresh brings every card.
    let started = Instant::now();
    eds.ok(&format!(
        "open {} {} {}",
        world.staff_url(),
        ALICE.0,
        ALICE.1
    ));
    eds.ok("refresh");
    eds.wait_for(&expected(false));
    eprintln!(
        "EDS {version}: first sync of {CARDS} cards took {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 3. The change: a refresh compares the ctag, lists ETags, multigets the three new ones.
    let changed = world.change_source();
    eds.ok("refresh");
    eds.wait_for(&expected(true));
    let after = world.recorder.exchanges_after_change();
    let first = after.first().expect("requests after the change");
    assert!(
        first.method == "PROPFIND" && first.body.contains("getctag") && depth(first) == "0",
        "EDS asks for the ctag first: {first:?}"
    );
    let listings = propfinds_for(&after, "getetag");
    assert!(
        !listings.is_empty() && listings.iter().all(|x| depth(x) == "1"),
        "then lists every ETag with PROPFIND Depth 1: {listings:?}"
    );
    assert!(
        reports(&world.recorder.exchanges(), "sync-collection").is_empty(),
        "EDS 3.46 does not use sync-collection"
    );
    let multigets = reports(&after, "addressbook-multiget");
    let multiget: BTreeSet<String> = multigets
        .iter()
        .flat_map(|x| cards_fetched(std::slice::from_ref(*x)))
        .collect();
    let changed: BTreeSet<String> = changed.into_iter().collect();
    assert_eq!(
        multiget, changed,
        "the edited and added cards were multiget"
    );
    let fetched: BTreeSet<String> = cards_fetched(&after).into_iter().collect();
    assert_eq!(fetched, changed, "and no other card was fetched");

    // 4. The guest discovers only the rooms book, and nothing under the staff book.
    let mut guest = Eds::start();
    let guest_books = guest.discover(&world.url(), GUEST);
    assert_eq!(
        guest_books
            .iter()
            .map(|(h, _)| h.as_str())
            .collect::<Vec<_>>(),
        vec![world.rooms_url(GUEST.0).as_str()],
        "{guest_books:?}"
    );
    // Started at the staff book's URL (404 for the guest), discovery falls back to the
    // guest's own home: still only rooms.
    let marker = world.recorder.count();
    let from_staff = guest.discover(&world.staff_url(), GUEST);
    assert_eq!(from_staff, guest_books);
    let staff_path = format!("/addressbooks/{}/staff/", ALICE.0);
    assert!(
        world.recorder.since(marker).iter().any(|x| {
            x.user.as_deref() == Some(GUEST.0) && x.target == staff_path && x.status == 404
        }),
        "the guest asked for the staff book and was told it is not there"
    );
    drop(guest);

    // 5. Writes: EDS read the book's privileges (read only) and refuses them itself, with an
    //    error the user sees; nothing is sent, and the local copy stays the server's.
    let requests_before = world.recorder.count();
    let edit = eds.call(&format!("modify {}", name(CHANGE.phone_edited + 1)));
    let removal = eds.call(&format!("remove {}", name(CHANGE.nickname_edited + 1)));
    for answer in [&edit, &removal] {
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains("Permission denied"), "{answer}");
    }
    let sent: Vec<String> = world
        .recorder
        .since(requests_before)
        .iter()
        .map(|x| format!("{} {}", x.method, x.target))
        .collect();
    assert!(
        sent.iter()
            .all(|s| !s.starts_with("PUT") && !s.starts_with("DELETE")),
        "{sent:?}"
    );
    assert!(
        eds.cards() == expected(true),
        "the refused edit and removal left EDS's copy as the server has it"
    );

    drop(eds);
    world.save_recording("eds", &version);
}
