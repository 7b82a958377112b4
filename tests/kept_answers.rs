//! PROPFIND Depth 1 on a book is answered from a copy kept with the book's state: the copy
//! must be what the server would compute, per user, and a new state must never be answered
//! with the old one's copy.

mod support;

use support::cards::delta;
use support::{google_csv, staff_rows, sync_body, Server};

#[test]
fn a_new_state_is_never_answered_from_the_old_copy() {
    let rows = staff_rows(30);
    let server = Server::with_staff("", &rows);
    let before = server.listing();
    assert_eq!(before.len(), 30);
    assert_eq!(server.listing(), before, "the kept copy says the same");

    let mut changed = rows.clone();
    changed[3] = changed[3].replace("Person3", "Renamed3");
    changed.truncate(29);
    let token = server.token();
    server.rewrite_and_wait("staff.csv", &google_csv(&changed), &token);
    let after = server.listing();
    assert_eq!(after.len(), 29, "the removed card is gone");
    let differing = before
        .iter()
        .filter(|(href, etag)| after.get(*href) != Some(etag))
        .count();
    assert_eq!(differing, 2, "one card changed, one removed");
}

#[test]
fn each_user_gets_their_own_hrefs() {
    let mut server = Server::with_staff("", &staff_rows(5));
    let alice = server.listing();
    assert!(alice
        .keys()
        .all(|h| h.starts_with("/addressbooks/alice/staff/")));
    server.login_as("bob", "hunter2");
    let bob = server.listing();
    assert_eq!(bob.len(), 5);
    assert!(bob
        .keys()
        .all(|h| h.starts_with("/addressbooks/bob/staff/")));
    let etags =
        |l: &std::collections::BTreeMap<String, String>| l.values().cloned().collect::<Vec<_>>();
    assert_eq!(etags(&alice), etags(&bob));
}

/// A first sync (empty token) lists the whole state, and is kept with it like PROPFIND: each
/// answer must carry the token of the state it lists, per user, and what was asked for.
#[test]
fn a_first_sync_lists_the_state_it_names() {
    let rows = staff_rows(30);
    let mut server = Server::with_staff("", &rows);
    let first_sync = |server: &Server, with_data: bool| {
        let r = server.report(&server.book_path(), &sync_body("", with_data));
        assert_eq!(r.status, 207, "{}", r.text());
        r.text()
    };
    let token = server.token();
    let before = first_sync(&server, false);
    assert_eq!(
        first_sync(&server, false),
        before,
        "the kept copy says the same"
    );
    let (hrefs, _, listed) = delta(&server, "");
    assert_eq!((hrefs.len(), listed.as_str()), (30, token.as_str()));
    assert_eq!(
        delta(&server, &token).0.len(),
        0,
        "its token is the state's"
    );
    let with_data = first_sync(&server, true);
    assert_eq!(with_data.matches("<C:address-data>").count(), 30);
    assert!(
        !before.contains("address-data"),
        "each question has its own answer"
    );

    let mut changed = rows.clone();
    changed[3] = changed[3].replace("Person3", "Renamed3");
    changed.truncate(29);
    let new_token = server.rewrite_and_wait("staff.csv", &google_csv(&changed), &token);
    let (hrefs, _, listed) = delta(&server, "");
    assert_eq!((hrefs.len(), listed.as_str()), (29, new_token.as_str()));
    assert!(first_sync(&server, true).contains("Renamed3"));

    server.login_as("bob", "hunter2");
    let (bob, _, _) = delta(&server, "");
    assert_eq!(bob.len(), 29);
    assert!(bob
        .iter()
        .all(|h| h.starts_with("/addressbooks/bob/staff/")));
}
