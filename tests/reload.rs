//! Reloading the configuration of a running server (`cardbridge reload`, SIGHUP): users, books
//! and source settings change, the books that did not change give their clients no resync,
//! and a bad file is refused with the running configuration kept.

mod support;

use std::time::{Duration, Instant};

use support::http::basic;
use support::server::{hash, run_cli, standard_config};
use support::{
    google_csv, google_row, propfind_body, staff_rows, sync_body, Multistatus, Server, ServerSpec,
};

const STATE: &str = "\n[store]\nstate_dir = \"state\"\n";

/// The second source and book: meeting rooms, polled every five minutes.
fn rooms(poll_interval: &str) -> String {
    format!(
        r#"
[[source]]
id = "rooms"
kind = "csv"
path = "rooms.csv"
poll_interval = "{poll_interval}"
check_interval = "1s"

[[addressbook]]
id = "rooms"
name = "Rooms"
sources = ["rooms"]
readers = ["*"]
"#
    )
}

/// A book that did not exist at the start, fed by the existing staff source.
const EVERYONE: &str = r#"
[[addressbook]]
id = "everyone"
name = "Everyone"
sources = ["staff"]
readers = ["*"]
"#;

fn start() -> Server {
    let staff = staff_rows(20);
    let rooms_csv = google_csv(&[google_row("Room", "Oslo", "Corp", "oslo@corp.example", "")]);
    Server::start(ServerSpec {
        config: standard_config(&format!("{STATE}{}", rooms("5m"))),
        files: vec![
            ("staff.csv".into(), google_csv(&staff).into_bytes()),
            ("rooms.csv".into(), rooms_csv.into_bytes()),
        ],
    })
}

/// Rewrites the server's config file: `users` (name, password) and `extra` after the standard
/// staff source and book.
fn rewrite_config(server: &Server, users: &[(&str, &str)], extra: &str) {
    let mut config = standard_config(extra);
    // standard_config always has alice and bob; more users are appended to [auth].
    for (name, password) in users {
        config = config.replacen(
            "\n[[source]]",
            &format!(
                "[[auth.users]]\nname = \"{name}\"\npassword_hash = \"{}\"\n\n[[source]]",
                hash(password)
            ),
            1,
        );
    }
    let config = config.replace("{PORT}", &server.port.to_string());
    std::fs::write(server.config_path(), config).expect("write config");
}

fn sync_collection(server: &Server, book: &str, token: &str) -> Multistatus {
    let path = format!("/addressbooks/alice/{book}/");
    let r = server.report(&path, &sync_body(token, false));
    assert_eq!(r.status, 207, "{}", r.text());
    Multistatus::parse(&r.body)
}

fn token_of(server: &Server, book: &str) -> String {
    let path = format!("/addressbooks/alice/{book}/");
    let r = server.propfind(&path, "0", &propfind_body(&["D:sync-token"]));
    assert_eq!(r.status, 207, "{}", r.text());
    Multistatus::parse(&r.body).responses[0]
        .text(support::multistatus::DAV, "sync-token")
        .expect("sync-token")
}

/// Polls of the rooms source so far, from the server's log.
fn polls_of_rooms(server: &Server) -> usize {
    server
        .log()
        .lines()
        .filter(|l| l.contains("polled source=rooms"))
        .count()
}

fn status_as(server: &Server, user: &str, password: &str, path: &str) -> u16 {
    server
        .request(
            "PROPFIND",
            path,
            &[("Depth", "0"), ("Authorization", &basic(user, password))],
            "",
        )
        .status
}

#[test]
fn a_reload_adds_a_user_and_a_book_and_unchanged_books_keep_their_tokens() {
    let server = start();
    let staff_token = token_of(&server, "staff");
    let staff_cards = server.listing();
    let rooms_token = token_of(&server, "rooms");
    let rooms_polls = polls_of_rooms(&server);
    assert_eq!(status_as(&server, "carol", "pw-carol", "/"), 401);

    // A new user, a new book, and the rooms source polled at another interval.
    rewrite_config(
        &server,
        &[("carol", "pw-carol")],
        &format!("{STATE}{}{EVERYONE}", rooms("7m")),
    );
    let (code, out, err) = run_cli(&["reload", "-c", &server.config_path()]);
    assert_eq!(code, 0, "{out}{err}\n{}", server.log());
    assert!(out.contains("configuration reloaded"), "{out}");

    assert_eq!(status_as(&server, "carol", "pw-carol", "/"), 207);
    let deadline = Instant::now() + Duration::from_secs(20);
    while server
        .request(
            "PROPFIND",
            "/addressbooks/alice/everyone/",
            &[("Depth", "0")],
            "",
        )
        .status
        != 207
    {
        assert!(
            Instant::now() < deadline,
            "new book not served:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The new book carries the same cards as staff, from the listing the server already had.
    let everyone = Multistatus::parse(
        &server
            .propfind(
                "/addressbooks/alice/everyone/",
                "1",
                &propfind_body(&["D:getetag"]),
            )
            .body,
    );
    assert_eq!(everyone.responses.len(), 1 + staff_cards.len());

    // Unchanged books: the same token, the same ETags, and an empty delta.
    assert_eq!(token_of(&server, "staff"), staff_token);
    assert_eq!(server.listing(), staff_cards);
    let delta = sync_collection(&server, "staff", &staff_token);
    assert!(delta.responses.is_empty(), "staff resynced after a reload");
    // The rooms source was restarted with its new interval and polled again: same data,
    // same token.
    while polls_of_rooms(&server) < rooms_polls + 1 {
        assert!(
            Instant::now() < deadline,
            "rooms not polled again:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(token_of(&server, "rooms"), rooms_token);
    assert!(sync_collection(&server, "rooms", &rooms_token)
        .responses
        .is_empty());

    let (_, status, _) = run_cli(&["status", "-c", &server.config_path()]);
    assert!(status.contains("configuration reloaded"), "{status}");
    assert!(status.contains("book everyone: 20 cards"), "{status}");
}

#[test]
fn a_bad_config_is_refused_and_the_running_one_stays() {
    let server = start();
    let staff_token = token_of(&server, "staff");

    // Refused by the command before the server hears of it, with the error `check` gives.
    let config = std::fs::read_to_string(server.config_path()).expect("config");
    let broken = config.replace("sources = [\"rooms\"]", "sources = [\"nowhere\"]");
    std::fs::write(server.config_path(), &broken).expect("write");
    let (code, out, err) = run_cli(&["reload", "-c", &server.config_path()]);
    let (check_code, check_out, check_err) = run_cli(&["check", "-c", &server.config_path()]);
    assert_ne!(code, 0, "{out}");
    assert_ne!(check_code, 0, "{check_out}");
    assert!(err.contains("nowhere"), "{err}");
    assert_eq!(err.trim(), check_err.trim());

    // Signalled directly (as `systemctl reload` does), the server refuses it itself.
    let signalled = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("kill");
    assert!(signalled.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.log().contains("reload refused") {
        assert!(
            Instant::now() < deadline,
            "no refusal logged:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(server.log().contains("nowhere"), "{}", server.log());
    assert_eq!(token_of(&server, "staff"), staff_token);
    assert!(!token_of(&server, "rooms").is_empty());

    // Fixed again: `status` shows the refusal, and the reload goes through.
    std::fs::write(server.config_path(), &config).expect("write");
    let (_, status, _) = run_cli(&["status", "-c", &server.config_path()]);
    assert!(status.contains("configuration reload REFUSED"), "{status}");
    let (code, out, err) = run_cli(&["reload", "-c", &server.config_path()]);
    assert_eq!(code, 0, "{out}{err}");
}
