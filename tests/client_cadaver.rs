//! cadaver 0.24 (Debian), the command-line WebDAV client, against the client world. It knows
//! nothing of CardDAV and has no sync: a user finds the books with `propget` (the principal
//! from the root URL, the address-book home from the principal), lists a book with `ls`,
//! downloads it with `mget`, and is refused `put`, `delete` and `mkcol`. The test types the
//! commands on cadaver's standard input; the credentials come from a `.netrc` in a temporary
//! HOME, as a user would keep them.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use support::clients::{expected, held, World, ALICE, CARDS, GUEST, ROOMS};
use support::tools::binary;

const VERSION: &str = "0.24";

/// cadaver as one user: a HOME whose `.netrc` holds the user's password.
struct Cadaver {
    home: tempfile::TempDir,
}

impl Cadaver {
    fn new((user, password): (&str, &str)) -> Cadaver {
        let home = tempfile::tempdir().expect("tempdir");
        let netrc = home.path().join(".netrc");
        std::fs::write(
            &netrc,
            format!("machine 127.0.0.1\nlogin {user}\npassword {password}\n"),
        )
        .expect("write .netrc");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&netrc, std::fs::Permissions::from_mode(0o600))
            .expect("chmod .netrc");
        Cadaver { home }
    }

    /// Opens `url` and types `commands`; returns what the user saw.
    fn run(&self, url: &str, commands: &[String]) -> String {
        let program = binary(
            "cadaver",
            "run scripts/setup.sh test (or: sudo apt-get install cadaver)",
        );
        let mut child = Command::new(program)
            .arg(url)
            .env("HOME", self.home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cadaver");
        let mut script = commands.join("\n");
        script.push_str("\nquit\n");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(script.as_bytes())
            .expect("type commands");
        let out = child.wait_with_output().expect("cadaver");
        assert!(out.status.success(), "cadaver exited with {}", out.status);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// Downloads every card of the book at `url` into `into` (`mget *.vcf`); returns the
    /// listing `ls` showed first.
    fn download(&self, url: &str, into: &Path) -> (BTreeSet<String>, String) {
        let output = self.run(
            url,
            &[
                "ls".into(),
                format!("lcd {}", into.display()),
                "mget *.vcf".into(),
            ],
        );
        (cards_listed(&output), output)
    }
}

/// The `.vcf` names an `ls` listed.
fn cards_listed(output: &str) -> BTreeSet<String> {
    output
        .lines()
        .filter(|l| l.starts_with(char::is_whitespace))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| name.ends_with(".vcf"))
        .map(String::from)
        .collect()
}

/// The collections an `ls` listed (`Coll:   name ...`).
fn collections_listed(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix("Coll:"))
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect()
}

/// The href `propget` showed as the value of `property`.
fn href_shown(output: &str, property: &str) -> String {
    let line = output
        .lines()
        .find(|l| l.starts_with(&format!("Value of {property} is:")))
        .unwrap_or_else(|| panic!("no {property} shown:\n{output}"));
    line.split("<DAV:href>")
        .nth(1)
        .and_then(|rest| rest.split("</DAV:href>").next())
        .unwrap_or_else(|| panic!("no href in {line}"))
        .to_string()
}

/// File name → content of the cards in `dir`.
fn files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .expect("download folder")
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(e.path()).expect("card"))
        })
        .collect()
}

/// Finds the user's address-book home the way a cadaver user can: `propget` of the principal
/// on the root URL, then of the home set on the principal; `ls` there lists the books.
fn discover(world: &World, cadaver: &Cadaver) -> (String, Vec<String>) {
    let output = cadaver.run(
        &world.url(),
        &[
            "set namespace DAV:".into(),
            "propget . current-user-principal".into(),
        ],
    );
    let principal = href_shown(&output, "current-user-principal");
    let output = cadaver.run(
        &format!("{}{}", world.url(), principal.trim_start_matches('/')),
        &[
            "set namespace urn:ietf:params:xml:ns:carddav".into(),
            "propget . addressbook-home-set".into(),
        ],
    );
    let home = href_shown(&output, "addressbook-home-set");
    let output = cadaver.run(
        &format!("{}{}", world.url(), home.trim_start_matches('/')),
        &["ls".into()],
    );
    (home, collections_listed(&output))
}

#[test]
fn cadaver_lists_and_downloads_the_book_and_is_refused_writes() {
    let world = World::start();
    let alice = Cadaver::new(ALICE);
    let dir = tempfile::tempdir().expect("tempdir");

    // 1. Discovery by hand: root → principal → home set, whose listing has both books.
    let (home, books) = discover(&world, &alice);
    assert_eq!(home, format!("/addressbooks/{}/", ALICE.0));
    assert_eq!(books, ["rooms", "staff"]);

    // 2. `ls` lists the 2,000 cards, `mget` downloads them; every card is as the source has it.
    let first = dir.path().join("first");
    std::fs::create_dir(&first).expect("mkdir");
    let started = Instant::now();
    let (listed, output) = alice.download(&world.staff_url(), &first);
    eprintln!(
        "cadaver {VERSION}: ls and mget of {} cards took {:?}",
        listed.len(),
        started.elapsed()
    );
    assert_eq!(listed.len(), CARDS, "{output}");
    let before = files(&first);
    assert_eq!(before.keys().cloned().collect::<BTreeSet<_>>(), listed);
    assert_eq!(held(before.values().map(String::as_str)), expected(false));

    // 3. After the change, `ls` shows the added card and not the deleted one. cadaver has no
    // sync: the user gets the new card and again the two that changed, and the folder is then
    // exactly the changed book; only those three cards travel.
    world.change_source();
    let output = alice.run(&world.staff_url(), &["ls".into()]);
    let relisted = cards_listed(&output);
    let gone: Vec<&String> = listed.difference(&relisted).collect();
    let new: Vec<&String> = relisted.difference(&listed).collect();
    assert_eq!((gone.len(), new.len()), (1, 1), "{output}");
    let name_of = |card: &str| held([card]).into_keys().next().unwrap_or_default();
    assert_eq!(name_of(&before[gone[0]]), "Given0030 Family0030");
    let file_of = |formatted_name: &str| {
        before
            .iter()
            .find(|(_, card)| name_of(card) == formatted_name)
            .map(|(file, _)| file.clone())
            .expect("a card of the first download")
    };
    let mut wanted = vec![
        new[0].clone(),
        file_of("Given0010 Family0010"),
        file_of("Given0020 Family0020"),
    ];
    let folder = first.clone();
    std::fs::remove_file(folder.join(gone[0])).expect("remove the deleted card");
    let before_gets = world.recorder.count();
    let mut commands = vec![format!("lcd {}", folder.display())];
    // A local name given overwrites the stale copy (without one cadaver asks for a name).
    commands.extend(wanted.iter().map(|file| format!("get {file} {file}")));
    alice.run(&world.staff_url(), &commands);
    let mut fetched: Vec<String> = world
        .recorder
        .since(before_gets)
        .into_iter()
        .filter(|x| x.method == "GET" && x.status == 200)
        .filter_map(|x| x.target.rsplit('/').next().map(String::from))
        .collect();
    fetched.sort();
    wanted.sort();
    assert_eq!(fetched, wanted);
    let after = files(&folder);
    assert_eq!(after.keys().cloned().collect::<BTreeSet<_>>(), relisted);
    assert_eq!(held(after.values().map(String::as_str)), expected(true));
    assert_eq!(name_of(&after[new[0]]), "Given2000 Family2000");

    // 4. The guest finds only the rooms book; the staff book does not exist for the guest.
    let guest = Cadaver::new(GUEST);
    let (home, books) = discover(&world, &guest);
    assert_eq!(books, ["rooms"]);
    let rooms = dir.path().join("rooms");
    std::fs::create_dir(&rooms).expect("mkdir");
    guest.download(
        &format!("{}{}rooms/", world.url(), home.trim_start_matches('/')),
        &rooms,
    );
    let names: Vec<String> = held(files(&rooms).values().map(String::as_str))
        .into_keys()
        .collect();
    assert_eq!(names, ROOMS);
    let output = guest.run(&world.staff_url(), &["ls".into()]);
    assert!(output.contains("404 Not Found"), "{output}");
    assert!(cards_listed(&output).is_empty(), "{output}");

    // 5. The user edits a card in the folder and puts it back, puts a new one, deletes one and
    // makes a collection: each is refused and cadaver shows the server's 403; the listing is
    // unchanged. The refused put healed the card, so getting it again brings the server's
    // version back over the local edit, marked as a revision of the same card.
    let edited = relisted.iter().next().expect("a card").clone();
    let local = folder.join(&edited);
    std::fs::write(&local, after[&edited].replace("FN:", "FN:Edited ")).expect("edit");
    let output = alice.run(
        &world.staff_url(),
        &[
            format!("put {} {edited}", local.display()),
            format!("put {} created-by-cadaver.vcf", local.display()),
            format!("delete {edited}"),
            "mkcol sub".into(),
            "ls".into(),
        ],
    );
    assert_eq!(
        output.matches("failed:\n403 Forbidden").count(),
        4,
        "{output}"
    );
    assert_eq!(cards_listed(&output), relisted);
    alice.run(
        &world.staff_url(),
        &[
            format!("lcd {}", folder.display()),
            format!("get {edited} {edited}"),
        ],
    );
    let restored = files(&folder);
    assert_eq!(held(restored.values().map(String::as_str)), expected(true));
    assert!(
        restored[&edited].contains("\r\nX-CARDBRIDGE-REVISION:1\r\n"),
        "{}",
        restored[&edited]
    );

    world.save_recording("cadaver", VERSION);
}
