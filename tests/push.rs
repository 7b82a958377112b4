//! WebDAV-Push through the real server, against a fake push service that checks what it
//! receives with independent implementations (Python `py_vapid`, `http_ece`,
//! `cryptography`; see tests/support/fake_push.py): service detection, registration and its
//! refusals, a CSV change arriving encrypted and VAPID-signed with the book's topic and the
//! sync token sync-collection then reports, gone and expired subscriptions, a restart, and
//! key rotation.

mod support;

use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime};

use support::cards::eventually_within;
use support::fake_push::{
    push_config, push_properties, register, register_body, registered, FakePush, Subscription, PUSH,
};
use support::http::Conn;
use support::server::{run_cli, standard_config};
use support::{google_csv, google_row, staff_rows, sync_body, Multistatus, Server, ServerSpec};

fn start(extra: &str) -> Server {
    Server::with_staff(&format!("{}{extra}", push_config()), &staff_rows(3))
}

/// Rewrites the CSV with one more row and waits until the book publishes it.
fn change(server: &Server, n: usize) -> String {
    let mut rows = staff_rows(3);
    rows.push(google_row(
        &format!("New{n}"),
        "Person",
        "Example",
        &format!("new{n}@example.com"),
        "",
    ));
    server.rewrite_and_wait("staff.csv", &google_csv(&rows), &server.token())
}

#[test]
fn a_change_reaches_the_phone_encrypted_signed_and_naming_the_new_sync_token() {
    let push = FakePush::start();
    let server = start("");
    let options = server.request("OPTIONS", &server.book_path(), &[], "");
    assert!(options
        .header("DAV")
        .unwrap_or_default()
        .contains("webdav-push"));

    let (key, topic, triggers) = push_properties(&server);
    assert!(
        triggers.iter().any(|t| t == "content-update"),
        "{triggers:?}"
    );
    assert!(
        !triggers.iter().any(|t| t == "property-update"),
        "{triggers:?}"
    );
    assert!(
        !topic.contains("staff"),
        "the topic must not leak the book's name"
    );

    let phone = push.subscribe();
    let location = registered(&server, &phone);
    let before = server.token();
    let after = change(&server, 1);

    let received = push.wait_for(&server, &phone, 1);
    let message = &received[0];
    let pushed = message.sync_token(&topic);
    assert_eq!(pushed, after);
    assert_eq!(message.vapid_key, key, "signed with the advertised key");
    assert_eq!(message.claims["sub"], "mailto:ops@example.com");
    assert_eq!(message.ttl.as_deref(), Some("3600"));
    assert_eq!(message.urgency.as_deref(), Some("high"));
    assert_eq!(message.topic.as_deref(), Some(topic.as_str()));
    assert!(message
        .content_type
        .as_deref()
        .unwrap_or_default()
        .starts_with("application/xml"));

    // What sync-collection reports from the old token is the state the message named.
    let r = server.report(&server.book_path(), &sync_body(&before, false));
    let ms = Multistatus::parse(&r.body);
    assert_eq!(ms.sync_token.as_deref(), Some(pushed.as_str()));
    assert_eq!(ms.present().len(), 1);

    // Registering the same push resource again renews it: same URL, 204.
    let again = register(&server, &server.book_path(), &register_body(&phone, None));
    assert_eq!(again.status, 204, "{}", again.text());
    assert!(again
        .header("Location")
        .unwrap_or_default()
        .ends_with(&location));

    // Unsubscribed: no message for the next change; the URL is gone.
    assert_eq!(server.request("DELETE", &location, &[], "").status, 204);
    assert_eq!(server.request("DELETE", &location, &[], "").status, 404);
    let other = push.subscribe();
    registered(&server, &other);
    change(&server, 2);
    push.wait_for(&server, &other, 1);
    assert_eq!(push.received(&phone).len(), 1);
}

#[test]
fn a_subscription_the_push_service_calls_gone_is_removed() {
    let push = FakePush::start();
    let server = start("");
    let phone = push.subscribe();
    let location = registered(&server, &phone);
    push.make_gone(&phone);
    change(&server, 1);
    let received = push.wait_for(&server, &phone, 1);
    assert_eq!(received[0].answered, 410);
    eventually_within(
        &server,
        "subscription removed",
        Duration::from_secs(10),
        || server.log().contains("push subscription gone; removed"),
    );
    assert_eq!(server.request("DELETE", &location, &[], "").status, 404);
}

#[test]
fn a_push_service_that_is_down_gets_the_message_again() {
    let push = FakePush::start();
    let server = start("");
    let (_, topic, _) = push_properties(&server);
    let phone = push.subscribe();
    registered(&server, &phone);
    push.fail_next(&phone, 2);
    let after = change(&server, 1);
    let received = push.wait_for(&server, &phone, 3);
    let answers: Vec<u16> = received.iter().map(|m| m.answered).collect();
    assert_eq!(answers, vec![503, 503, 201]);
    assert_eq!(received[2].sync_token(&topic), after);
}

#[test]
fn changes_within_the_rate_limit_merge_into_one_message_with_the_latest_token() {
    let push = FakePush::start();
    // Long enough for the two changes below to be published within it.
    let config = push_config().replace("min_interval = \"1ms\"", "min_interval = \"10s\"");
    let server = Server::with_staff(&config, &staff_rows(3));
    let (_, topic, _) = push_properties(&server);
    let phone = push.subscribe();
    registered(&server, &phone);
    let first = change(&server, 1);
    assert_eq!(
        push.wait_for(&server, &phone, 1)[0].sync_token(&topic),
        first
    );
    let second = change(&server, 2);
    let third = change(&server, 3);
    assert_ne!(second, third);
    let received = push.wait_for(&server, &phone, 2);
    assert_eq!(
        received.len(),
        2,
        "the second change was not merged into the third"
    );
    assert_eq!(received[1].sync_token(&topic), third);
}

#[test]
fn an_expired_subscription_gets_nothing() {
    let push = FakePush::start();
    let server = start("");
    let short = push.subscribe();
    let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    let r = register(
        &server,
        &server.book_path(),
        &register_body(&short, Some(&soon)),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("Expires"), Some(soon.as_str()));
    let location = r
        .header("Location")
        .expect("Location")
        .replace("http://127.0.0.1", "");
    let long = push.subscribe();
    registered(&server, &long);

    std::thread::sleep(Duration::from_secs(3));
    change(&server, 1);
    push.wait_for(&server, &long, 1);
    assert!(push.received(&short).is_empty());
    assert_eq!(server.request("DELETE", &location, &[], "").status, 404);
}

#[test]
fn a_restart_keeps_the_vapid_key_and_the_subscriptions() {
    let push = FakePush::start();
    let mut server = start("");
    let (key, topic, _) = push_properties(&server);
    let phone = push.subscribe();
    registered(&server, &phone);
    server.restart(&[]);
    assert_eq!(push_properties(&server).0, key);
    let after = change(&server, 1);
    let received = push.wait_for(&server, &phone, 1);
    assert_eq!(received[0].sync_token(&topic), after);
    assert_eq!(received[0].vapid_key, key);
}

#[test]
fn a_key_rotation_tells_phones_with_the_old_key_and_drops_their_subscriptions() {
    let push = FakePush::start();
    let server = start("");
    let (old_key, _, _) = push_properties(&server);
    let phone = push.subscribe();
    let location = registered(&server, &phone);
    let (code, _, stderr) = run_cli(&["rotate-push-key", "-c", &server.config_path()]);
    assert_eq!(code, 0, "{stderr}");
    let received = push.wait_for(&server, &phone, 1);
    let message = &received[0];
    assert_eq!(message.error, None);
    assert_eq!(
        message.vapid_key, old_key,
        "signed with the key the phone subscribed with"
    );
    assert!(
        message
            .payload
            .contains("<property-update><D:prop><transports/></D:prop></property-update>"),
        "{}",
        message.payload
    );
    assert!(!message.payload.contains("<topic>"));
    assert_ne!(push_properties(&server).0, old_key);
    assert_eq!(server.request("DELETE", &location, &[], "").status, 404);
}

#[test]
fn registrations_are_refused_as_the_draft_says_and_other_posts_as_before() {
    let push = FakePush::start();
    let mut server = start(
        r#"
[[addressbook]]
id = "board"
name = "Board"
sources = ["staff"]
readers = ["bob"]
"#,
    );
    let phone = push.subscribe();
    let body = register_body(&phone, None);
    // A book Alice may not read, and Bob's view of a book: not there for her.
    assert_eq!(
        register(&server, "/addressbooks/alice/board/", &body).status,
        404
    );
    assert_eq!(
        register(&server, "/addressbooks/bob/staff/", &body).status,
        404
    );

    let error = |body: &str, status: u16, condition: &str| {
        let r = register(&server, &server.book_path(), body);
        assert_eq!(r.status, status, "{}", r.text());
        let text = r.text();
        assert!(text.contains("<D:error"), "{text}");
        assert!(
            text.contains(&format!("<P:{condition} xmlns:P=\"{PUSH}\"/>")),
            "{text}"
        );
    };
    let bad_key = Subscription {
        public_key: "BAAA".into(),
        ..phone.clone()
    };
    error(&register_body(&bad_key, None), 403, "invalid-subscription");
    let short_auth = Subscription {
        auth: "AAAA".into(),
        ..phone.clone()
    };
    error(
        &register_body(&short_auth, None),
        403,
        "invalid-subscription",
    );
    let not_a_url = Subscription {
        push_resource: "up.example.net/x".into(),
        ..phone.clone()
    };
    error(
        &register_body(&not_a_url, None),
        403,
        "invalid-subscription",
    );
    let no_content_trigger = body.replace(
        "<content-update><D:depth>1</D:depth></content-update>",
        "<property-update><D:depth>0</D:depth></property-update>",
    );
    error(&no_content_trigger, 403, "no-trigger-supported");
    let r = register(
        &server,
        &server.book_path(),
        &register_body(&phone, Some("next tuesday")),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("IMF-fixdate"));

    // A POST that is not a registration is refused exactly as before.
    let r = register(&server, &server.book_path(), "BEGIN:VCARD\r\nEND:VCARD\r\n");
    assert_eq!(r.status, 403);
    assert!(r.text().contains("need-privileges"), "{}", r.text());

    // Bob may register for the board; his registration URL is not Alice's to delete.
    server.login_as("bob", "hunter2");
    let r = register(&server, "/addressbooks/bob/board/", &body);
    assert_eq!(r.status, 201, "{}", r.text());
    let location = r
        .header("Location")
        .expect("Location")
        .replace("http://127.0.0.1", "");
    server.login_as("alice", "secret");
    assert_eq!(server.request("DELETE", &location, &[], "").status, 404);
    server.login_as("bob", "hunter2");
    assert_eq!(server.request("DELETE", &location, &[], "").status, 204);
}

/// Behind a TLS-terminating proxy the registration URL a phone keeps is its `https:` one; the
/// header counts only from a trusted proxy.
#[test]
fn behind_a_trusted_tls_proxy_the_registration_url_is_https() {
    let push = FakePush::start();
    let config = standard_config(&push_config()).replacen(
        "[server]\n",
        "[server]\ntrusted_proxies = [\"127.0.0.2\"]\n",
        1,
    );
    let server = Server::start(ServerSpec {
        config,
        files: vec![("staff.csv".into(), google_csv(&staff_rows(3)).into_bytes())],
    });
    let body = register_body(&push.subscribe(), None);
    let auth = server.auth.clone().expect("users");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/xml"),
        ("X-Forwarded-Proto", "https"),
    ];
    let r = Conn::open_from(Ipv4Addr::new(127, 0, 0, 2), server.port).send(
        "POST",
        &server.book_path(),
        &headers,
        body.as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r
        .header("Location")
        .unwrap_or_default()
        .starts_with("https://127.0.0.1/push-subscriptions/"));
    let r = Conn::open(server.port).send("POST", &server.book_path(), &headers, body.as_bytes());
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r
        .header("Location")
        .unwrap_or_default()
        .starts_with("http://127.0.0.1/push-subscriptions/"));
}

#[test]
fn without_push_nothing_is_advertised_and_registration_is_a_refused_write() {
    let push = FakePush::start();
    let server = Server::with_staff("", &staff_rows(3));
    let options = server.request("OPTIONS", &server.book_path(), &[], "");
    assert!(!options
        .header("DAV")
        .unwrap_or_default()
        .contains("webdav-push"));
    let r = register(
        &server,
        &server.book_path(),
        &register_body(&push.subscribe(), None),
    );
    assert_eq!(r.status, 403);
    assert!(r.text().contains("need-privileges"), "{}", r.text());
    let r = server.propfind(
        &server.book_path(),
        "0",
        &format!(r#"<D:propfind xmlns:D="DAV:" xmlns:P="{PUSH}"><D:prop><P:topic/></D:prop></D:propfind>"#),
    );
    assert!(Multistatus::parse(&r.body).responses[0].has_in(
        "HTTP/1.1 404 Not Found",
        PUSH,
        "topic"
    ));
}
