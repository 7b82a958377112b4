//! tsdav 2.3.4, the JavaScript CardDAV library many web and Node apps sync with, against the
//! client world: discovery from the root URL, a first fetch of the 2,000-card book, then both
//! of tsdav's sync modes after the source changed (sync-collection, and the ctag mode that
//! compares ETags), the guest's view and refused writes. `tests/clients/tsdav/driver.mjs`
//! plays the app: it keeps the local copy in a state file between steps.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use support::clients::{expected, held, reports, run_driver, World, ALICE, GUEST, ROOMS};
use support::tools::binary;

const VERSION: &str = "2.3.4";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Book {
    url: String,
    display_name: String,
    ctag: Option<serde_json::Value>,
    sync_token: Option<String>,
    #[serde(default)]
    reports: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Object {
    url: String,
    etag: Option<String>,
    data: Option<String>,
}

/// The app's local copy, as the driver keeps it.
#[derive(Debug, Deserialize)]
struct State {
    book: Book,
    objects: Vec<Object>,
}

#[derive(Debug, Deserialize)]
struct Discovery {
    books: Vec<Book>,
}

#[derive(Debug, Deserialize)]
struct Fetched {
    #[serde(default)]
    objects: Vec<Object>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Outcome {
    status: u16,
    body: String,
}

#[derive(Debug, Deserialize)]
struct Writes {
    update: Outcome,
    delete: Outcome,
    create: Outcome,
    edited: String,
    deleted: String,
}

/// Runs one driver step as `user` and parses its JSON report.
fn driver<T: DeserializeOwned>(world: &World, user: (&str, &str), args: &[&str]) -> T {
    let node = binary(
        "node",
        "run scripts/setup.sh test (or: sudo apt-get install nodejs npm)",
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/tsdav");
    assert!(
        dir.join("node_modules/tsdav/package.json").exists(),
        "tsdav {VERSION} is not installed: run scripts/setup.sh test (or: npm ci --prefix {})",
        dir.display()
    );
    let (command, rest) = args.split_first().expect("a driver command");
    let url = world.url();
    let mut all = vec![*command, url.as_str(), user.0, user.1];
    all.extend(rest);
    run_driver(&node, &dir.join("driver.mjs"), &all)
}

/// The vCards of `objects`, read as a user of the app would see them.
fn cards(objects: &[Object]) -> BTreeMap<String, support::clients::Expected> {
    for object in objects {
        assert!(
            object.etag.as_deref().is_some_and(|e| e.starts_with('"')),
            "{object:?}"
        );
    }
    held(
        objects
            .iter()
            .map(|o| o.data.as_deref().unwrap_or_default()),
    )
}

#[test]
fn tsdav_discovers_syncs_both_ways_and_is_refused_writes() {
    let world = World::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let webdav = dir.path().join("webdav.json");
    let basic = dir.path().join("basic.json");
    let path = |p: &Path| p.display().to_string();

    // 1. Discovery from the root URL finds both of Alice's books, with what tsdav needs to
    // pick a sync mode: a sync token, a ctag and sync-collection among the reports.
    let found: Discovery = driver(&world, ALICE, &["discover"]);
    let mut names: Vec<&str> = found
        .books
        .iter()
        .map(|b| b.display_name.as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["Meeting rooms", "Staff directory"]);
    let staff = found
        .books
        .iter()
        .find(|b| b.display_name == "Staff directory")
        .expect("staff");
    assert_eq!(staff.url, world.staff_url());
    assert!(
        staff.reports.iter().any(|r| r == "syncCollection"),
        "{staff:?}"
    );
    assert!(
        staff.ctag.is_some() && staff.sync_token.is_some(),
        "{staff:?}"
    );

    // 2. The first fetch: every card, as the source has it.
    let started = Instant::now();
    let first: State = driver(&world, ALICE, &["first", &path(&webdav), "staff"]);
    eprintln!(
        "tsdav {VERSION}: first sync of {} cards took {:?} (node start and discovery included)",
        first.objects.len(),
        started.elapsed()
    );
    assert_eq!(cards(&first.objects), expected(false));
    std::fs::copy(&webdav, &basic).expect("a second local copy for the ctag mode");

    // Nothing changed yet: both modes find that out without fetching a card.
    let before = world.recorder.count();
    driver::<State>(&world, ALICE, &["sync", &path(&webdav), "detected"]);
    driver::<State>(&world, ALICE, &["sync", &path(&basic), "basic"]);
    let idle = world.recorder.since(before);
    assert!(
        reports(&idle, "addressbook-multiget").is_empty(),
        "{idle:#?}"
    );
    let delta = reports(&idle, "sync-collection");
    assert_eq!(delta.len(), 1);
    assert!(delta[0].responses.is_empty(), "{:?}", delta[0].responses);
    assert_eq!(
        idle.iter()
            .filter(|x| x.method == "PROPFIND" && x.body.contains("getctag"))
            .count(),
        1,
        "the ctag mode asks the ctag and stops there: {idle:#?}"
    );

    // 3. The source changes; the method tsdav detects from the book's reports is
    // sync-collection, which brings exactly the change, and only the changed cards travel: the delta names four cards (one a 404), the multiget fetches three.
    world.change_source();
    let before = world.recorder.count();
    let synced: State = driver(&world, ALICE, &["sync", &path(&webdav), "detected"]);
    assert_eq!(cards(&synced.objects), expected(true));
    let delta_sync = world.recorder.since(before);
    let delta = reports(&delta_sync, "sync-collection");
    assert_eq!(delta.len(), 1, "{delta_sync:#?}");
    assert_eq!(delta[0].responses.len(), 4, "{:?}", delta[0].responses);
    let multiget = reports(&delta_sync, "addressbook-multiget");
    assert_eq!(multiget.len(), 1, "{delta_sync:#?}");
    assert_eq!(
        multiget[0].responses.len(),
        3,
        "{:?}",
        multiget[0].responses
    );

    // The ctag mode sees the new ctag and compares ETags: tsdav's fetchObjects downloads the
    // whole book again (addressbook-query, then a multiget of every href), and the local copy
    // ends up exactly right too.
    let before = world.recorder.count();
    let by_ctag: State = driver(&world, ALICE, &["sync", &path(&basic), "basic"]);
    assert_eq!(cards(&by_ctag.objects), expected(true));
    assert_ne!(by_ctag.book.ctag, first.book.ctag);
    let ctag_sync = world.recorder.since(before);
    let multiget = reports(&ctag_sync, "addressbook-multiget");
    assert_eq!(multiget.len(), 1, "{ctag_sync:#?}");
    assert_eq!(multiget[0].responses.len(), expected(true).len());
    let unchanged = |url: &str, etag: &Option<String>| {
        by_ctag
            .objects
            .iter()
            .any(|o| o.url == url && &o.etag == etag)
    };
    let kept = first
        .objects
        .iter()
        .filter(|o| unchanged(&o.url, &o.etag))
        .count();
    assert_eq!(
        kept,
        expected(false).len() - 3,
        "ETags of untouched cards stay"
    );

    // 4. The guest discovers only the rooms book and reads it; for the guest the staff book
    // does not exist (404, no hint that it does for others).
    let guest: Discovery = driver(&world, GUEST, &["discover"]);
    let names: Vec<&str> = guest
        .books
        .iter()
        .map(|b| b.display_name.as_str())
        .collect();
    assert_eq!(names, ["Meeting rooms"]);
    let rooms: Fetched = driver(&world, GUEST, &["fetch", &world.rooms_url(GUEST.0)]);
    let room_names: Vec<String> = cards(&rooms.objects).into_keys().collect();
    assert_eq!(room_names, ROOMS);
    let denied: Fetched = driver(&world, GUEST, &["fetch", &world.staff_url()]);
    assert!(denied.objects.is_empty());
    let error = denied.error.expect("the guest's fetch of staff fails");
    assert!(error.contains("404 Not Found"), "{error}");

    // 5. The user edits one card and deletes another; the app applies both locally and
    // sends them. Each write is refused with 403 and the privilege it lacked, and the refusal
    // heals the two cards: the next sync-collection delta carries exactly those two, with new
    // ETags and the server's content, so tsdav overwrites the edit and restores the deleted
    // card. The sync after that is empty.
    let writes: Writes = driver(&world, ALICE, &["write", &path(&webdav)]);
    for (what, outcome, privilege) in [
        ("update", &writes.update, "write-content"),
        ("delete", &writes.delete, "unbind"),
        ("create", &writes.create, "write-content"),
    ] {
        assert_eq!(outcome.status, 403, "{what}: {}", outcome.body);
        assert!(
            outcome.body.contains("need-privileges") && outcome.body.contains(privilege),
            "{what}: {}",
            outcome.body
        );
    }
    assert_ne!(writes.edited, writes.deleted);
    let diverged: State =
        serde_json::from_str(&std::fs::read_to_string(&webdav).expect("state")).expect("state");
    let local = cards(&diverged.objects);
    assert_eq!(local.len(), expected(true).len() - 1);
    assert!(local.contains_key("Edited Locally"));
    let before = world.recorder.count();
    let healed: State = driver(&world, ALICE, &["sync", &path(&webdav), "detected"]);
    assert_eq!(cards(&healed.objects), expected(true));
    let heal_sync = world.recorder.since(before);
    let delta = reports(&heal_sync, "sync-collection");
    assert_eq!(delta.len(), 1, "{heal_sync:#?}");
    let mut healed_hrefs: Vec<String> = delta[0].responses.iter().map(|r| r.0.clone()).collect();
    healed_hrefs.sort();
    let mut written: Vec<String> = [&writes.edited, &writes.deleted]
        .iter()
        .map(|url| url.trim_start_matches(&world.url()).to_string())
        .map(|path| format!("/{path}"))
        .collect();
    written.sort();
    assert_eq!(healed_hrefs, written);
    for url in [&writes.edited, &writes.deleted] {
        let etag = |objects: &[Object]| {
            objects
                .iter()
                .find(|o| &o.url == url)
                .and_then(|o| o.etag.clone())
        };
        let before_heal = etag(&synced.objects);
        assert!(before_heal.is_some());
        assert_ne!(etag(&healed.objects), before_heal, "{url}: a new ETag");
    }
    let before = world.recorder.count();
    driver::<State>(&world, ALICE, &["sync", &path(&webdav), "detected"]);
    let quiet = world.recorder.since(before);
    let delta = reports(&quiet, "sync-collection");
    assert_eq!(delta.len(), 1, "{quiet:#?}");
    assert!(delta[0].responses.is_empty(), "{:?}", delta[0].responses);

    world.save_recording("tsdav", VERSION);
}
