//! HTTP behaviour clients depend on: keep-alive, Expect: 100-continue, framing, HEAD.

mod support;

use std::net::Ipv4Addr;
use std::time::Duration;

use support::http::{basic, request_head, Conn};
use support::server::{standard_config, ServerSpec};
use support::{google_csv, google_row, propfind_body, sync_body, Multistatus, Server};

fn rows(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let (name, email) = (format!("Person{i}"), format!("p{i}@example.com"));
            google_row(&name, "Test", "Example", &email, "")
        })
        .collect()
}

fn server(count: usize) -> Server {
    Server::with_staff("", &rows(count))
}

/// A server with `settings` added to its `[server]` table.
fn server_with(settings: &str) -> Server {
    let listen = "listen = [\"127.0.0.1:{PORT}\"]\n";
    Server::start(ServerSpec {
        config: standard_config("").replace(listen, &format!("{listen}{settings}\n")),
        files: vec![("staff.csv".into(), google_csv(&rows(3)).into_bytes())],
    })
}

/// The second loopback address: another client, as far as the server can tell.
const OTHER_CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

#[test]
fn many_requests_share_one_connection() {
    let server = server(3);
    let auth = basic("alice", "secret");
    let mut conn = Conn::open(server.port);
    let body = propfind_body(&["D:getetag"]);
    for _ in 0..5 {
        let r = conn.send(
            "PROPFIND",
            &server.book_path(),
            &[("Depth", "1"), ("Authorization", &auth)],
            body.as_bytes(),
        );
        assert_eq!(r.status, 207);
        assert_eq!(Multistatus::parse(&r.body).responses.len(), 4);
        let r = conn.send("OPTIONS", "/", &[], b"");
        assert_eq!(r.status, 200);
        // A 401 does not end the connection either.
        let r = conn.send("PROPFIND", "/", &[("Depth", "0")], body.as_bytes());
        assert_eq!(r.status, 401);
    }
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let server = server(3);
    let auth = basic("alice", "secret");
    let body = sync_body("", false);
    let mut conn = Conn::open(server.port);
    conn.write_head(
        "REPORT",
        &server.book_path(),
        &[
            ("Authorization", &auth),
            ("Expect", "100-continue"),
            ("Content-Type", "application/xml"),
        ],
        Some(body.len()),
    );
    let interim = conn.read_response(false);
    assert_eq!(interim.status_line, "HTTP/1.1 100 Continue");
    conn.write_raw(body.as_bytes()).expect("body");
    let r = conn.read_response(false);
    assert_eq!(r.status, 207);
    assert_eq!(Multistatus::parse(&r.body).responses.len(), 3);

    // Over the limit: the final status comes at once, without 100 Continue.
    let mut conn = Conn::open(server.port);
    conn.write_head(
        "PROPFIND",
        &server.book_path(),
        &[
            ("Authorization", &auth),
            ("Expect", "100-continue"),
            ("Depth", "0"),
        ],
        Some(50 * 1024 * 1024),
    );
    let r = conn.read_response(false);
    assert_eq!(r.status, 413);
    assert!(
        conn.is_closed(),
        "the unread body is not mistaken for a next request"
    );
}

#[test]
fn small_answers_have_content_length_and_big_ones_are_chunked() {
    let server = server(2000);
    let r = server.propfind(&server.book_path(), "0", &propfind_body(&["D:displayname"]));
    assert!(!r.chunked);
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
    let r = server.report(&server.book_path(), &sync_body("", true));
    assert_eq!(r.status, 207);
    assert!(r.chunked, "2000 inline cards are streamed");
    assert_eq!(Multistatus::parse(&r.body).responses.len(), 2000);
    // HEAD on a card: headers only.
    let href = Multistatus::parse(&r.body).responses[0].href.clone();
    let mut conn = Conn::open(server.port);
    let auth = basic("alice", "secret");
    let head = conn.send("HEAD", &href, &[("Authorization", &auth)], b"");
    assert_eq!(head.status, 200);
    let length: usize = head
        .header("content-length")
        .expect("length")
        .parse()
        .expect("number");
    let get = conn.send("GET", &href, &[("Authorization", &auth)], b"");
    assert_eq!(get.body.len(), length, "HEAD announces the GET body length");
}

#[test]
fn a_client_that_disconnects_mid_response_does_not_hurt_the_server() {
    let server = server(2000);
    let auth = basic("alice", "secret");
    for _ in 0..3 {
        let mut conn = Conn::open(server.port);
        conn.write_head(
            "REPORT",
            &server.book_path(),
            &[("Authorization", &auth)],
            Some(sync_body("", true).len()),
        );
        conn.write_raw(sync_body("", true).as_bytes())
            .expect("body");
        drop(conn);
    }
    std::thread::sleep(Duration::from_millis(100));
    let r = server.propfind(&server.book_path(), "0", &propfind_body(&["D:sync-token"]));
    assert_eq!(r.status, 207);
}

#[test]
fn content_length_with_transfer_encoding_is_refused_and_the_connection_closed() {
    let server = server(3);
    let auth = basic("alice", "secret");
    let mut conn = Conn::open(server.port);
    let body = propfind_body(&["D:getetag"]);
    // RFC 9112 §6.1: both framings at once is how requests are smuggled past proxies.
    let head = format!(
        "PROPFIND {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\nDepth: 0\r\n\
         Content-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        server.book_path(),
        body.len(),
        body.len(),
    );
    conn.write_raw(head.as_bytes()).expect("request");
    let r = conn.read_response(false);
    assert_eq!(r.status, 400);
    assert_eq!(r.header("connection"), Some("close"));
    // Whatever follows is never taken for a request.
    let _ = conn.write_raw(b"OPTIONS / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert!(conn.is_closed());
}

#[test]
fn pipelined_requests_are_all_answered_in_order() {
    let server = server(3);
    let auth = basic("alice", "secret");
    let body = propfind_body(&["D:getetag"]);
    let propfind = |depth| {
        let headers = [("Depth", depth), ("Authorization", auth.as_str())];
        request_head("PROPFIND", &server.book_path(), &headers, Some(body.len())) + &body
    };
    // Three requests in one write, as a pipelining client sends them.
    let burst = propfind("0") + &request_head("OPTIONS", "/", &[], None) + &propfind("1");
    let mut conn = Conn::open(server.port);
    conn.write_raw(burst.as_bytes()).expect("requests");
    let first = conn.read_response(false);
    assert_eq!(first.status, 207);
    assert_eq!(Multistatus::parse(&first.body).responses.len(), 1);
    assert_eq!(conn.read_response(false).status, 200);
    let third = conn.read_response(false);
    assert_eq!(third.status, 207);
    assert_eq!(Multistatus::parse(&third.body).responses.len(), 4);
    // And the connection stays usable.
    assert_eq!(conn.send("OPTIONS", "/", &[], b"").status, 200);
}

#[test]
fn slow_clients_from_one_address_leave_room_for_others() {
    let cap = 3;
    let server = server_with(&format!(
        "max_connections = 20\nmax_connections_per_client = {cap}\nheader_timeout = \"60s\""
    ));
    // Clients that start a request and never finish it: only `cap` of them are let in.
    let mut slow: Vec<Conn> = (0..cap + 5)
        .map(|_| {
            let mut conn = Conn::open(server.port);
            conn.write_raw(b"OPTIONS / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                .expect("partial head");
            conn
        })
        .collect();
    // Another address is served meanwhile.
    let auth = basic("alice", "secret");
    let r = Conn::open_from(OTHER_CLIENT, server.port).send(
        "PROPFIND",
        &server.book_path(),
        &[("Depth", "1"), ("Authorization", &auth)],
        propfind_body(&["D:getetag"]).as_bytes(),
    );
    assert_eq!(r.status, 207);
    assert_eq!(Multistatus::parse(&r.body).responses.len(), 4);
    // Finishing the heads shows which connections were kept: those get their answer,
    // the others were closed at once.
    let mut answered = 0;
    for conn in &mut slow {
        let _ = conn.write_raw(b"\r\n");
        if !conn.is_closed() {
            answered += 1;
        }
    }
    assert_eq!(answered, cap);
}

#[test]
fn a_request_head_sent_byte_by_byte_is_cut_off_at_the_head_deadline() {
    let server = server_with("header_timeout = \"1s\"");
    let mut conn = Conn::open(server.port);
    // Five seconds of dribbling, well past the one-second deadline: each read arrives in time,
    // the head does not.
    for byte in b"OPTIONS / HTTP/1.1\r\n".iter().take(20) {
        if conn.write_raw(&[*byte]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let _ = conn.write_raw(b"Host: 127.0.0.1\r\n\r\n");
    assert!(conn.is_closed(), "the late head got no answer");

    // A kept-alive connection may idle longer than the head deadline between requests.
    let mut conn = Conn::open(server.port);
    assert_eq!(conn.send("OPTIONS", "/", &[], b"").status, 200);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(conn.send("OPTIONS", "/", &[], b"").status, 200);
}

#[test]
fn a_body_dribbled_slower_than_the_minimum_rate_gets_408_and_an_honest_slow_one_gets_through() {
    let server = server_with("body_timeout = \"1s\"\nbody_min_rate = 1000");
    let auth = basic("alice", "secret");
    let book = server.book_path();
    let body = sync_body("", false);
    let length = body.len().to_string();
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/xml"),
        ("Content-Length", length.as_str()),
    ];

    // A byte every 250 ms earns a quarter of a millisecond each: the body is cut off after
    // about a second, long before its last byte.
    let mut conn = Conn::open(server.port);
    conn.write_raw(request_head("REPORT", &book, &headers, None).as_bytes())
        .expect("head");
    // Twelve bytes over three seconds: the deadline passes after about one.
    for byte in body.as_bytes().iter().take(12) {
        let _ = conn.write_raw(&[*byte]);
        std::thread::sleep(Duration::from_millis(250));
    }
    conn.set_timeout(Duration::from_secs(5)).expect("timeout");
    let answer = conn.read_response(false);
    assert_eq!(answer.status, 408, "{}", answer.text());
    assert!(answer.text().contains("too slowly"), "{}", answer.text());
    assert!(conn.is_closed(), "the connection is closed after a 408");

    // A 2 KB body whose last 100 bytes come 1.5 s late: past the base second, but the bytes
    // already received earned the time.
    let padded = body.replacen(
        "<D:sync-level>",
        &format!("{}<D:sync-level>", " ".repeat(2000)),
        1,
    );
    let length = padded.len().to_string();
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/xml"),
        ("Content-Length", length.as_str()),
    ];
    let mut conn = Conn::open(server.port);
    let (first, second) = padded.as_bytes().split_at(padded.len() - 100);
    conn.write_raw(request_head("REPORT", &book, &headers, None).as_bytes())
        .expect("head");
    conn.write_raw(first).expect("first part");
    std::thread::sleep(Duration::from_millis(1500));
    conn.write_raw(second).expect("second part");
    let response = conn.read_response(false);
    assert_eq!(response.status, 207, "{}", response.text());
}
