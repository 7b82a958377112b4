//! What wrong passwords cost, through the real server: failures are delayed per client (429
//! with Retry-After, no password checked) without locking the owner out from elsewhere, and
//! verifications beyond the pool and its queue are turned away (503 with Retry-After).

mod support;

use support::http::{basic, Conn, Response};
use support::server::standard_config;
use support::{google_csv, google_row, propfind_body, Server, ServerSpec};

/// The standard setup listening on IPv4 and IPv6 loopback (two client addresses), with
/// `limits` added to `[auth]` and `extra` appended.
fn server(limits: &str, extra: &str) -> Server {
    let config = standard_config(extra)
        .replace(
            "listen = [\"127.0.0.1:{PORT}\"]",
            "listen = [\"127.0.0.1:{PORT}\", \"[::1]:{PORT}\"]",
        )
        .replace("mode = \"users\"", &format!("mode = \"users\"\n{limits}"));
    let rows = [google_row(
        "Ada",
        "Lovelace",
        "Example",
        "ada@example.com",
        "",
    )];
    Server::start(ServerSpec {
        config,
        files: vec![("staff.csv".into(), google_csv(&rows).into_bytes())],
    })
}

fn propfind(conn: &mut Conn, user: &str, password: &str) -> Response {
    conn.send(
        "PROPFIND",
        &format!("/addressbooks/{user}/staff/"),
        &[("Depth", "0"), ("Authorization", &basic(user, password))],
        propfind_body(&["D:displayname"]).as_bytes(),
    )
}

#[test]
fn failed_logins_are_delayed_per_client_and_the_owner_elsewhere_still_gets_in() {
    let server = server("failures_per_user_address = 3\n", "");
    let attacker = ("127.0.0.1", server.port);
    for _ in 0..3 {
        assert_eq!(
            propfind(&mut Conn::open_at(attacker), "alice", "guess").status,
            401
        );
    }
    for _ in 0..5 {
        let r = propfind(&mut Conn::open_at(attacker), "alice", "guess");
        assert_eq!(r.status, 429, "{}", r.text());
        let wait: u64 = r
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in seconds");
        assert!(wait >= 1);
        // Even the right password waits: it is not checked until the delay is over.
        let r = propfind(&mut Conn::open_at(attacker), "alice", "secret");
        assert_eq!(r.status, 429);
    }
    // Alice from another address, and Bob from the attacker's, are not held up.
    assert_eq!(
        propfind(&mut Conn::open_at(("::1", server.port)), "alice", "secret").status,
        207
    );
    assert_eq!(
        propfind(&mut Conn::open_at(attacker), "bob", "hunter2").status,
        207
    );
    let log = server.log();
    assert_eq!(
        log.matches("failed logins for one user from one address")
            .count(),
        1,
        "one warning for the throttled client, not one per attempt:\n{log}"
    );
}

/// An argon2id hash far costlier than the default, so a verification is still running
/// when the next requests arrive.
fn slow_hash(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(19 * 1024, 60, 1, None).expect("params");
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(
            password.as_bytes(),
            &SaltString::from_b64("c29tZXNhbHQ").expect("salt"),
        )
        .expect("hash")
        .to_string()
}

#[test]
fn verifications_beyond_the_pool_and_its_queue_get_503_with_retry_after() {
    let server = server(
        "verify_threads = 1\nverify_queue = 1\nfailures_per_user_address = 1000\nfailures_per_address = 1000\n",
        &format!(
            "\n[[auth.users]]\nname = \"carol\"\npassword_hash = \"{}\"\n",
            slow_hash("right")
        ),
    );
    // Every request is sent before any answer is read.
    let mut conns: Vec<Conn> = (0..8).map(|_| Conn::open(server.port)).collect();
    let auth = basic("carol", "wrong");
    for conn in &mut conns {
        conn.write_head(
            "PROPFIND",
            "/addressbooks/carol/",
            &[("Depth", "0"), ("Authorization", &auth)],
            Some(0),
        );
    }
    let replies: Vec<Response> = conns.iter_mut().map(|c| c.read_response(false)).collect();
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert!(
        statuses.iter().all(|s| [401, 503].contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&401), "{statuses:?}");
    let busy: Vec<&Response> = replies.iter().filter(|r| r.status == 503).collect();
    assert!(!busy.is_empty(), "{statuses:?}");
    assert!(busy.iter().all(|r| r.header("retry-after").is_some()));
}
