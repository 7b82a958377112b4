//! Replays each real client's recorded requests (`tests/fixtures/clients/*.json`, written by
//! the client tests with `RECORD_CLIENTS=1`) against a fresh server with the same books, and
//! checks every answer has the status and the multistatus outline (hrefs and their statuses)
//! the client got. Sync tokens and ETags are derived from content, so a fresh server accepts
//! the recorded tokens; a change that breaks a client's request shape fails here even on a
//! machine where that client cannot run.

mod support;

use support::clients::{outline, password_of, Event, Exchange, Mark, Recording, World, ALICE};
use support::http::{basic, Conn};
use support::{propfind_body, sync_body};

/// Sends `exchange` as recorded and returns (status, outline) of the answer.
fn replay(world: &World, exchange: &Exchange) -> (u16, Vec<(String, Vec<String>)>) {
    let authorization = exchange.user.as_deref().map(|user| {
        let password = password_of(user).unwrap_or("not-a-world-user");
        basic(user, password)
    });
    let mut headers: Vec<(&str, &str)> = exchange
        .headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("transfer-encoding"))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    if let Some(auth) = &authorization {
        headers.push(("Authorization", auth));
    }
    let response = Conn::open(world.server.port).send(
        &exchange.method,
        &exchange.target,
        &headers,
        exchange.body.as_bytes(),
    );
    (
        response.status,
        outline(response.status, &response.decoded()),
    )
}

/// Replays `recording` on a fresh world; returns each difference found.
fn differences(recording: &Recording) -> Vec<String> {
    let world = World::start();
    let mut found = Vec::new();
    for (n, event) in recording.events.iter().enumerate() {
        match event {
            Event::Mark(Mark::SourceChanged) => {
                world.change_source();
            }
            Event::Exchange(exchange) => {
                let (status, responses) = replay(&world, exchange);
                if status != exchange.status || responses != exchange.responses {
                    found.push(format!(
                        "{} request {n}: {} {}: recorded {} with {:?}, now {status} with {responses:?}",
                        recording.client,
                        exchange.method,
                        exchange.target,
                        exchange.status,
                        exchange.responses.iter().take(5).collect::<Vec<_>>(),
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn every_recorded_client_gets_the_answers_it_got() {
    let dir = support::clients::fixture_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    let mut problems = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("recording");
        let recording: Recording = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not a recording: {e}", path.display()));
        assert!(
            !recording.events.is_empty(),
            "{}: an empty recording protects nothing",
            path.display()
        );
        problems.extend(differences(&recording));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The recorder and the replay agree with each other: a session of plain requests through the
/// recorder (discovery, a first sync, the change, a delta) replays on a fresh server unchanged.
#[test]
fn a_recorded_session_replays_on_a_fresh_server() {
    let world = World::start();
    let auth = basic(ALICE.0, ALICE.1);
    let send = |method: &str, path: &str, depth: Option<&str>, body: &str| {
        let mut headers = vec![
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/xml"),
        ];
        if let Some(depth) = depth {
            headers.push(("Depth", depth));
        }
        Conn::open(world.recorder.port).send(method, path, &headers, body.as_bytes())
    };
    let discovery = send(
        "PROPFIND",
        "/",
        Some("0"),
        &propfind_body(&["D:current-user-principal"]),
    );
    assert_eq!(discovery.status, 207);
    let book = format!("/addressbooks/{}/staff/", ALICE.0);
    let first = send("REPORT", &book, None, &sync_body("", false));
    assert_eq!(first.status, 207);
    let token = support::Multistatus::parse(&first.body)
        .sync_token
        .expect("sync token");
    world.change_source();
    let delta = send("REPORT", &book, None, &sync_body(&token, false));
    assert_eq!(delta.status, 207);
    let unauthenticated = Conn::open(world.recorder.port).send("PROPFIND", &book, &[], b"");
    assert_eq!(unauthenticated.status, 401);

    let recording = Recording {
        client: "self-test".into(),
        version: "0".into(),
        events: world.recorder.events(),
    };
    let exchanges: Vec<&Exchange> = recording
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Exchange(x) => Some(x),
            Event::Mark(_) => None,
        })
        .collect();
    assert_eq!(exchanges.len(), 4, "one exchange per request");
    // The first sync lists every card plus the book's own sync token; the delta lists the
    // two edited cards, the added one and the deleted one (404).
    assert_eq!(
        exchanges[1].responses.len(),
        support::clients::CARDS,
        "first sync"
    );
    let delta_statuses: Vec<&Vec<String>> = exchanges[2].responses.iter().map(|r| &r.1).collect();
    assert_eq!(delta_statuses.len(), 4, "{:?}", exchanges[2].responses);
    assert_eq!(
        delta_statuses
            .iter()
            .filter(|s| s.iter().any(|s| s.contains("404")))
            .count(),
        1
    );
    assert_eq!(exchanges[3].user, None);
    assert_eq!(differences(&recording), Vec::<String>::new());

    // And a replay notices when an answer is not what the client got.
    let mut altered = recording.clone();
    if let Some(Event::Exchange(x)) = altered.events.last_mut() {
        x.status = 207;
    }
    assert_eq!(differences(&altered).len(), 1);
}
