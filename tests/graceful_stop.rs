//! SIGTERM stops the server without cutting answers short: a slow client's sync in flight
//! finishes whole, `/readyz` says the replica is stopping, and the process exits on its own.

mod support;

use std::process::Command;
use std::time::Duration;

use support::cards::eventually_within;
use support::http::{basic, Conn};
use support::{staff_rows, sync_body, Multistatus, Server};

/// About 10 MB of answer: more than the kernel buffers on both ends of a loopback connection
/// hold (4 MB of send buffer at most by default), so the answer cannot leave the server at once.
const CARDS: usize = 20_000;

#[test]
fn sigterm_finishes_the_sync_in_flight_then_exits() {
    let rows = staff_rows(CARDS);
    let mut server = Server::with_staff("", &rows);
    // A client on a slow link: a 4 KB window it does not read yet, so the server's answer
    // waits in flight.
    let mut slow = Conn::open_narrow(server.port);
    let body = sync_body("", true);
    let auth = basic("alice", "secret");
    slow.write_head(
        "REPORT",
        &server.book_path(),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/xml"),
        ],
        Some(body.len()),
    );
    slow.write_raw(body.as_bytes()).expect("body");
    std::thread::sleep(Duration::from_millis(500));

    let term = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    eventually_within(&server, "the drain", Duration::from_secs(10), || {
        server
            .log()
            .contains("finishing the requests in flight in_flight=1")
    });
    // New connections are still answered while draining; load balancers are told to go.
    let r = Conn::open(server.port).send("GET", "/readyz", &[], b"");
    assert_eq!(r.status, 503, "{}", r.text());

    // The slow client reads its answer: every card is there.
    let answer = slow.read_response(false);
    assert_eq!(answer.status, 207);
    let answered = Multistatus::parse(&answer.body);
    assert_eq!(
        answered.responses.len(),
        CARDS,
        "the sync in flight was cut short"
    );
    let status = server
        .wait_exit(Duration::from_secs(20))
        .expect("the server did not exit");
    assert!(status.success(), "{status:?}\n{}", server.log());
    assert!(
        server.log().contains("every request answered; stopping"),
        "{}",
        server.log()
    );
}
