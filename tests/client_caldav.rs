//! The `caldav` PyPI library 3.6 against the client world. It has no address-book API, so
//! `tests/clients/caldav/driver.py` uses its generic DAV layer as its calendar code does:
//! principal discovery, `children()` of the home set, and `get_objects_by_sync_token()`, whose
//! paging follows a truncated sync-collection (a 507 on the book itself) with the token that
//! came with it. The driver asks for a page size (DAV:limit) the library never sends by
//! itself, so the test shows that paging through the 2,000-card book gets every card exactly
//! once, and the delta after the change exactly.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use support::clients::{
    expected, held, reports, run_driver, Exchange, World, ALICE, CARDS, GUEST, ROOMS,
};

const VERSION: &str = "3.6.0";
/// Members per sync-collection reply in the first sync: 2,000 cards take seven pages.
const FIRST_PAGE: usize = 300;
/// Members per reply after the change: the four changed members take two pages.
const DELTA_PAGE: usize = 3;

#[derive(Debug, Deserialize)]
struct Card {
    etag: Option<String>,
    data: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Book {
    url: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct Discovery {
    principal: String,
    books: Vec<Book>,
}

/// The app's local copy after a sync, and what the sync did.
#[derive(Debug, Deserialize)]
struct Synced {
    cards: BTreeMap<String, Card>,
    truncated: bool,
    pages: usize,
    #[serde(default)]
    changed: Vec<String>,
    deleted: Vec<String>,
}

/// The app's local copy as the state file keeps it between steps.
#[derive(Debug, Deserialize)]
struct Local {
    cards: BTreeMap<String, Card>,
}

#[derive(Debug, Deserialize)]
struct Fetched {
    #[serde(default)]
    cards: BTreeMap<String, Card>,
    error: Option<String>,
    status: Option<u16>,
}

#[derive(Debug, Deserialize)]
struct Attempt {
    status: Option<u16>,
    raised: Option<String>,
    preconditions: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Writes {
    update: Attempt,
    delete: Attempt,
    create: Attempt,
    mkcol: Attempt,
    edited: String,
    deleted: String,
}

/// Fails the test unless python3 imports caldav 3.6.
fn require_caldav() {
    let out = Command::new("python3")
        .args(["-c", "import caldav; print(caldav.__version__)"])
        .output();
    let version = out
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    assert!(
        version.starts_with("3.6."),
        "caldav {VERSION} is not installed (python3 has {version:?}): run scripts/setup.sh test \
         (or: python3 -m pip install caldav=={VERSION})"
    );
}

/// Runs one driver step as `user` and parses its JSON report.
fn driver<T: DeserializeOwned>(world: &World, user: (&str, &str), args: &[&str]) -> T {
    require_caldav();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/caldav/driver.py");
    let (command, rest) = args.split_first().expect("a driver command");
    let url = world.url();
    let mut all = vec![*command, url.as_str(), user.0, user.1];
    all.extend(rest);
    run_driver("python3", &script, &all)
}

fn cards(cards: &BTreeMap<String, Card>) -> BTreeMap<String, support::clients::Expected> {
    for (url, card) in cards {
        assert!(
            card.etag.as_deref().is_some_and(|e| e.starts_with('"')),
            "{url}: {card:?}"
        );
    }
    held(
        cards
            .values()
            .map(|c| c.data.as_deref().unwrap_or_default()),
    )
}

/// For each sync-collection page among `exchanges`: the member hrefs it listed, and whether it
/// was cut (a 507 on the book's own href). A 401 is no page: caldav sends its first request
/// without credentials and repeats it with them once challenged.
fn pages(exchanges: &[Exchange], book_path: &str) -> Vec<(Vec<String>, bool)> {
    reports(exchanges, "sync-collection")
        .into_iter()
        .filter(|x| x.status != 401)
        .map(|x| {
            assert_eq!(x.status, 207, "{x:?}");
            let cut = x.responses.iter().any(|(href, statuses)| {
                href == book_path && statuses.iter().any(|s| s.contains(" 507 "))
            });
            let members = x
                .responses
                .iter()
                .filter(|(href, _)| href != book_path)
                .map(|(href, _)| href.clone())
                .collect();
            (members, cut)
        })
        .collect()
}

/// Every href of `pages` once: panics on a member listed on two pages.
fn union_once(pages: &[(Vec<String>, bool)]) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for (members, _) in pages {
        for href in members {
            assert!(all.insert(href.clone()), "{href} listed on two pages");
        }
    }
    all
}

#[test]
fn caldav_pages_through_the_book_and_the_delta_exactly() {
    let world = World::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    let state = state.to_str().expect("UTF-8 temp path");
    let book_path = format!("/addressbooks/{}/staff/", ALICE.0);

    // 1. Discovery: the principal from the root URL, the home set from the principal, and the
    // address books among the home set's children.
    let found: Discovery = driver(&world, ALICE, &["discover"]);
    assert!(
        found.principal.ends_with(&format!("/{}/", ALICE.0)),
        "{found:?}"
    );
    let mut names: Vec<&str> = found.books.iter().map(|b| b.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Meeting rooms", "Staff directory"]);
    assert!(
        found.books.iter().any(|b| b.url == world.staff_url()),
        "{found:?}"
    );

    // 2. The first sync, in pages of FIRST_PAGE: caldav follows each 507 with its token until
    // a page comes back whole, and holds every card once.
    let before = world.recorder.count();
    let started = Instant::now();
    let first: Synced = driver(
        &world,
        ALICE,
        &["first", state, "staff", &FIRST_PAGE.to_string()],
    );
    eprintln!(
        "caldav {VERSION}: first sync of {} cards in {} pages took {:?} (python start and \
         discovery included)",
        first.cards.len(),
        first.pages,
        started.elapsed()
    );
    assert!(!first.truncated);
    assert!(first.deleted.is_empty());
    assert_eq!(cards(&first.cards), expected(false));
    let paged = pages(&world.recorder.since(before), &book_path);
    assert_eq!(paged.len(), CARDS.div_ceil(FIRST_PAGE));
    assert_eq!(first.pages, paged.len());
    for (n, (members, cut)) in paged.iter().enumerate() {
        let last = n + 1 == paged.len();
        assert_eq!(*cut, !last, "page {n}");
        assert!(members.len() <= FIRST_PAGE, "page {n}: {}", members.len());
    }
    assert_eq!(union_once(&paged).len(), CARDS);

    // Nothing changed yet: one page, no member.
    let idle: Synced = driver(&world, ALICE, &["sync", state, &DELTA_PAGE.to_string()]);
    assert_eq!(
        (idle.pages, idle.changed.len(), idle.deleted.len()),
        (1, 0, 0)
    );

    // 3. The change, in pages of DELTA_PAGE: the four changed members (two edits, an addition,
    // a removal) come on two pages, each once, and only the three cards with content travel.
    world.change_source();
    let before = world.recorder.count();
    let delta: Synced = driver(&world, ALICE, &["sync", state, &DELTA_PAGE.to_string()]);
    assert_eq!(cards(&delta.cards), expected(true));
    assert!(!delta.truncated);
    assert_eq!(
        (delta.changed.len(), delta.deleted.len()),
        (3, 1),
        "{delta:?}"
    );
    let exchanges = world.recorder.since(before);
    let paged = pages(&exchanges, &book_path);
    assert_eq!(
        paged
            .iter()
            .map(|(m, cut)| (m.len(), *cut))
            .collect::<Vec<_>>(),
        [(DELTA_PAGE, true), (1, false)]
    );
    assert_eq!(union_once(&paged).len(), 4);
    let multiget = reports(&exchanges, "addressbook-multiget");
    assert_eq!(multiget.len(), 1, "{exchanges:#?}");
    assert_eq!(
        multiget[0].responses.len(),
        3,
        "{:?}",
        multiget[0].responses
    );

    // 4. The guest finds only the rooms book and syncs it; the staff book does not exist for
    // the guest, and caldav raises the 404 instead of falling back.
    let guest: Discovery = driver(&world, GUEST, &["discover"]);
    let names: Vec<&str> = guest.books.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["Meeting rooms"]);
    let rooms: Fetched = driver(&world, GUEST, &["fetch", &world.rooms_url(GUEST.0)]);
    assert_eq!(cards(&rooms.cards).into_keys().collect::<Vec<_>>(), ROOMS);
    let denied: Fetched = driver(&world, GUEST, &["fetch", &world.staff_url()]);
    assert!(denied.cards.is_empty());
    assert_eq!(denied.status, Some(404), "{:?}", denied.error);

    // 5. The user edits one card and deletes another; the app applies both locally and sends
    // them, and tries to create a card and a collection. caldav raises AuthorizationError for
    // each 403 with the server's reason (DAV:need-privileges). The refused PUT and DELETE heal
    // their cards: the next sync's delta is exactly those two, which the app downloads again,
    // and the sync after that is empty.
    let writes: Writes = driver(&world, ALICE, &["write", state]);
    for (what, attempt) in [
        ("update", &writes.update),
        ("delete", &writes.delete),
        ("create", &writes.create),
        ("mkcol", &writes.mkcol),
    ] {
        assert_eq!(attempt.status, Some(403), "{what}: {attempt:?}");
        assert_eq!(
            attempt.raised.as_deref(),
            Some("AuthorizationError"),
            "{what}"
        );
        assert!(
            attempt
                .preconditions
                .iter()
                .any(|p| p == "{DAV:}need-privileges"),
            "{what}: {attempt:?}"
        );
    }
    let local: Local =
        serde_json::from_str(&std::fs::read_to_string(state).expect("state")).expect("state");
    assert_eq!(local.cards.len(), expected(true).len() - 1);
    assert!(local.cards[&writes.edited]
        .data
        .as_deref()
        .is_some_and(|d| d.contains("FN:Edited ")));
    let healed: Synced = driver(&world, ALICE, &["sync", state, &DELTA_PAGE.to_string()]);
    let mut written = vec![writes.edited, writes.deleted];
    written.sort();
    let mut changed = healed.changed.clone();
    changed.sort();
    assert_eq!(changed, written);
    assert!(healed.deleted.is_empty());
    assert_eq!(cards(&healed.cards), expected(true));
    let after: Synced = driver(&world, ALICE, &["sync", state, &DELTA_PAGE.to_string()]);
    assert_eq!((after.changed.len(), after.deleted.len()), (0, 0));

    world.save_recording("caldav", VERSION);
}
