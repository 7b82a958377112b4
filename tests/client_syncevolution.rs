//! A real CardDAV client: SyncEvolution 2.0 (Debian's `syncevolution`), configured the way its
//! manual configures a local sync with a CardDAV server: a WebDAV target config (syncURL,
//! username, password) and a sync config pairing it with the `file` backend, a directory of
//! vCards. It finds the books from the server's root, copies the staff book, picks up the
//! source change, and meets the read-only book's 403s when the user edits and deletes: the
//! refused cards come back as the server has them on the next sync, and the one after is clean.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use support::cards::all;
use support::clients::{
    cards_fetched, expected, held, Exchange, Expected, World, ALICE, CHANGE, GUEST,
};
use support::tools::binary;

/// One SyncEvolution installation: its own configuration, data and cache directories.
struct SyncEvolution {
    dir: tempfile::TempDir,
}

/// How one command ended: its exit status and everything it printed.
struct Run {
    success: bool,
    code: Option<i32>,
    output: String,
}

impl SyncEvolution {
    fn new() -> SyncEvolution {
        SyncEvolution {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The folder of vCards the `file` backend keeps, one card a file.
    fn folder(&self) -> PathBuf {
        self.dir.path().join("vcards")
    }

    fn run(&self, args: &[&str]) -> Run {
        let home = self.dir.path();
        let out = Command::new(binary(
            "syncevolution",
            "run scripts/setup.sh test (or: sudo apt-get install syncevolution syncevolution-libs)",
        ))
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        // No session bus: SyncEvolution must not reach a keyring or Evolution's own books.
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .expect("run syncevolution");
        Run {
            success: out.status.success(),
            code: out.status.code(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    /// Runs a command that must succeed; returns its output.
    fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert!(
            run.success,
            "syncevolution {args:?} failed ({:?}):\n{}",
            run.code, run.output
        );
        run.output
    }

    /// `--print-databases`: the CardDAV address books `user` finds from `start`.
    fn print_databases(&self, start: &str, user: (&str, &str)) -> Run {
        self.run(&[
            "--print-databases",
            "backend=carddav",
            &format!("syncURL={start}"),
            &format!("username={}", user.0),
            &format!("password={}", user.1),
        ])
    }

    /// What a `--print-databases` that must succeed prints.
    fn discover(&self, start: &str, user: (&str, &str)) -> String {
        let run = self.print_databases(start, user);
        assert!(
            run.success,
            "--print-databases failed ({:?}):\n{}",
            run.code, run.output
        );
        run.output
    }

    /// The manual's local sync with a CardDAV server: the target config `target-config@cardbridge`
    /// reaches `book` as Alice; the sync config `cardbridge` pairs it with the vCard folder.
    fn configure(&self, world: &World, book: &str) {
        std::fs::create_dir_all(self.folder()).expect("vcard folder");
        self.ok(&[
            "--configure",
            "--template",
            "webdav",
            "keyring=no",
            &format!("syncURL={}", world.url()),
            &format!("username={}", ALICE.0),
            &format!("password={}", ALICE.1),
            &format!("addressbook/database={book}"),
            "target-config@cardbridge",
            "addressbook",
        ]);
        self.ok(&[
            "--configure",
            "--template",
            "SyncEvolution_Client",
            "keyring=no",
            "syncURL=local://@cardbridge",
            // No backups of the 2,000 cards before and after every sync.
            "dumpData=0",
            "printChanges=0",
            "username=",
            "password=",
            "addressbook/backend=file",
            &format!("addressbook/database=file://{}", self.folder().display()),
            "addressbook/databaseFormat=text/vcard",
            "cardbridge",
            "addressbook",
        ]);
    }

    /// The cards in the folder, by file name.
    fn cards(&self) -> Vec<(PathBuf, String)> {
        let mut cards: Vec<(PathBuf, String)> = std::fs::read_dir(self.folder())
            .expect("vcard folder")
            .map(|e| e.expect("entry").path())
            .map(|p| {
                let text = std::fs::read_to_string(&p).expect("card");
                (p, text)
            })
            .collect();
        cards.sort();
        cards
    }

    /// What the folder holds, by formatted name.
    fn book(&self) -> BTreeMap<String, Expected> {
        let cards = self.cards();
        held(cards.iter().map(|(_, c)| c.as_str()))
    }

    /// The file holding the card named `name`.
    fn file_of(&self, name: &str) -> PathBuf {
        self.cards()
            .into_iter()
            .find(|(_, card)| held([card.as_str()]).contains_key(name))
            .map(|(path, _)| path)
            .unwrap_or_else(|| panic!("no card named {name} in {}", self.folder().display()))
    }
}

/// The books `--print-databases` listed: URL → its line (`Name (URL) <default> <read-only>`).
fn listed(output: &str) -> BTreeMap<String, String> {
    output
        .lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once(" (")?;
            let (url, _) = rest.split_once(')')?;
            Some((url.to_string(), line.trim().to_string()))
        })
        .collect()
}

/// The requests among `exchanges` that would change the server's book.
fn writes(exchanges: &[Exchange]) -> Vec<String> {
    exchanges
        .iter()
        .filter(|x| !["GET", "HEAD", "OPTIONS", "PROPFIND", "REPORT"].contains(&x.method.as_str()))
        .map(|x| format!("{} {} -> {}", x.method, x.target, x.status))
        .collect()
}

fn name(i: usize) -> String {
    format!("Given{i:04} Family{i:04}")
}

fn assert_holds(client: &SyncEvolution, changed: bool) {
    let held = client.book();
    let want = expected(changed);
    assert_eq!(held.len(), want.len(), "cards in the folder");
    for (name, person) in &want {
        assert_eq!(held.get(name), Some(person), "card {name}");
    }
}

#[test]
fn syncevolution_syncs_the_staff_book_and_meets_refused_writes() {
    let world = World::start();
    let client = SyncEvolution::new();
    let version = client.ok(&["--version"]);
    let version = version
        .lines()
        .find_map(|l| l.strip_prefix("SyncEvolution "))
        .expect("a version line")
        .trim()
        .to_string();

    assert!(
        version.starts_with("2.0"),
        "SyncEvolution {version}, not 2.0"
    );

    // 1. Discovery from the root: Alice's two books, the staff book read-only.
    let books = listed(&client.discover(&world.url(), ALICE));
    let staff = world.staff_url();
    assert_eq!(
        books.keys().collect::<Vec<_>>(),
        vec![&world.rooms_url(ALICE.0), &staff],
        "{books:?}"
    );
    assert!(books[&staff].contains("<read-only>"), "{books:?}");

    // 2. The first (slow) sync brings every card.
    client.configure(&world, &staff);
    let started = Instant::now();
    let first = client.ok(&["--sync", "slow", "cardbridge"]);
    eprintln!(
        "SyncEvolution {version}: first sync of {} cards took {:.1} s",
        support::clients::CARDS,
        started.elapsed().as_secs_f64()
    );
    assert!(first.contains("Synchronization successful"), "{first}");
    assert_holds(&client, false);

    // 3. The change: an incremental two-way sync brings exactly the delta.
    let changed = world.change_source();
    let second = client.ok(&["cardbridge"]);
    assert!(second.contains("Synchronization successful"), "{second}");
    assert_holds(&client, true);
    let after = world.recorder.exchanges_after_change();
    let fetched: BTreeSet<String> = cards_fetched(&after).into_iter().collect();
    let changed: BTreeSet<String> = changed.into_iter().collect();
    assert_eq!(
        fetched, changed,
        "only the edited and added cards were fetched"
    );
    assert_eq!(writes(&after), Vec::<String>::new());

    // 4. The guest finds only the rooms book; the staff book's URL is not found for them.
    let guest = SyncEvolution::new();
    let guest_books = listed(&guest.discover(&world.url(), GUEST));
    assert_eq!(
        guest_books.keys().collect::<Vec<_>>(),
        vec![&world.rooms_url(GUEST.0)],
        "{guest_books:?}"
    );
    let staff_as_guest = guest.print_databases(&staff, GUEST);
    assert_eq!(staff_as_guest.code, Some(1), "{}", staff_as_guest.output);
    assert!(
        staff_as_guest.output.contains("404 Not Found")
            && listed(&staff_as_guest.output).is_empty(),
        "{}",
        staff_as_guest.output
    );

    // 5. A local edit and a local deletion are written back, and refused with 403; the sync
    //    fails (exit status 1) and says why.
    let edited = name(CHANGE.phone_edited + 1);
    let deleted = name(CHANGE.nickname_edited + 1);
    let edited_file = client.file_of(&edited);
    let text = std::fs::read_to_string(&edited_file).expect("card");
    assert!(text.contains("\r\nNICKNAME:\r\n"), "{text}");
    std::fs::write(
        &edited_file,
        text.replace("\r\nNICKNAME:\r\n", "\r\nNICKNAME:Edited locally\r\n"),
    )
    .expect("edit card");
    std::fs::remove_file(client.file_of(&deleted)).expect("delete card");
    let server_cards = all(&world.server);
    let href_of = |name: &str| {
        server_cards
            .iter()
            .find(|(_, card)| held([card.as_str()]).contains_key(name))
            .map(|(href, _)| href.clone())
            .unwrap_or_else(|| panic!("{name} on the server"))
    };
    let (edited_href, deleted_href) = (href_of(&edited), href_of(&deleted));

    let marker = world.recorder.count();
    let refused = client.run(&["cardbridge"]);
    assert_eq!(refused.code, Some(1), "{}", refused.output);
    assert!(
        refused
            .output
            .contains("access denied (remote, status 403)"),
        "{}",
        refused.output
    );
    assert_eq!(
        writes(&world.recorder.since(marker)),
        vec![
            format!("DELETE {deleted_href} -> 403"),
            format!("PUT {edited_href} -> 403")
        ]
    );

    // The refusal gave both cards new ETags: the next sync brings the server's versions
    // back (the deleted card returns, the edit is overwritten), fetching just those two...
    let marker = world.recorder.count();
    let healing = client.run(&["cardbridge"]);
    assert_eq!(healing.code, Some(0), "{}", healing.output);
    let healing_requests = world.recorder.since(marker);
    assert_eq!(writes(&healing_requests), Vec::<String>::new());
    assert_eq!(
        cards_fetched(&healing_requests)
            .into_iter()
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([edited_href, deleted_href])
    );
    assert_holds(&client, true);

    // ...and the sync after that is clean: nothing written, nothing fetched, no error.
    let marker = world.recorder.count();
    let clean = client.run(&["cardbridge"]);
    assert_eq!(clean.code, Some(0), "{}", clean.output);
    assert!(!clean.output.contains("[ERROR"), "{}", clean.output);
    let clean_requests = world.recorder.since(marker);
    assert_eq!(writes(&clean_requests), Vec::<String>::new());
    assert_eq!(cards_fetched(&clean_requests), Vec::<String>::new());
    assert_holds(&client, true);

    world.save_recording("syncevolution", &version);
}
