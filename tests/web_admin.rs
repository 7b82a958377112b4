//! The operator pages through the real server, as an operator meets them: Chromium (headless,
//! Debian's) shows every book and source at phone and desktop widths, a poll held by the
//! removal guard with its counts and names, and a press on its Accept button publishes it (the
//! book then serves the smaller set over DAV); "Poll now" brings a changed file at once.
//! Around that: only `[auth] admins` get in, forged button presses are refused, the JSON for
//! scripts has the documented fields, and values from sources show as text.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::cards::eventually_within;
use support::chromium::{png_colours, png_size, shot_path, Page};
use support::http::{basic, Conn, Response};
use support::server::{free_port, standard_config, write_atomically};
use support::{google_csv, google_row, propfind_body, Server, ServerSpec};

const HOSTILE: &str = "<script>alert(1)</script>";

/// The standard source's schedule: its file checked every second.
const EVERY_SECOND: &str = "check_interval = \"1s\"";

/// `n` people P00 Staff… and one named with markup, whose birthday is markup too (the source
/// skips that field and says so, quoting it).
fn people(n: usize) -> Vec<String> {
    let mut rows: Vec<String> = (0..n)
        .map(|i| {
            google_row(
                &format!("P{i:02}"),
                "Staff",
                "Corp",
                &format!("p{i}@corp.example"),
                "",
            )
        })
        .collect();
    rows.push(format!(
        "{HOSTILE},Evil,Corp,* Work,evil@corp.example,Work,,,{HOSTILE}"
    ));
    rows
}

/// The standard server (alice and bob; the `staff` book) with a state directory, a removal
/// guard that holds polls removing more than half of a book and at least 3 cards, and alice
/// as the operator; `schedule` replaces the `staff` source's `check_interval` line, `extra`
/// comes after the book.
fn start(rows: &[String], schedule: &str, extra: &str) -> Server {
    let store = "\n[store]\nstate_dir = \"state\"\nremoval_guard_min = 3\n";
    let config = standard_config(&format!("{store}{extra}"))
        .replacen(
            "mode = \"users\"\n",
            "mode = \"users\"\nadmins = [\"alice\"]\n",
            1,
        )
        .replacen("check_interval = \"1s\"", schedule, 1);
    Server::start(ServerSpec {
        config,
        files: vec![("staff.csv".into(), google_csv(rows).into_bytes())],
    })
}

fn base(server: &Server) -> String {
    format!("http://127.0.0.1:{}", server.port)
}

/// `GET /web/admin/status.json` as alice.
fn status(server: &Server) -> Value {
    let r = server.request("GET", "/web/admin/status.json", &[], "");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    serde_json::from_slice(&r.body).expect("JSON")
}

/// A server whose `staff` book of 9 (P00-P07 and the markup name) has a poll held: the
/// export lost everyone but P00 and P01 and gained Dana (line 4, her birthday markup), so 7 of
/// 9 cards would go.
fn held_back() -> Server {
    let server = start(&people(8), EVERY_SECOND, "");
    assert_eq!(server.listing().len(), 9);
    let mut kept = people(2);
    kept.pop();
    kept.push(format!(
        "Dana,Late,Corp,* Work,dana@corp.example,Work,,,{HOSTILE}"
    ));
    write_atomically(&server.path("staff.csv"), google_csv(&kept).as_bytes());
    eventually_within(&server, "the removal held", Duration::from_secs(20), || {
        !status(&server)["books"][0]["hold"].is_null()
    });
    assert_eq!(
        server.listing().len(),
        9,
        "clients keep every card meanwhile"
    );
    server
}

/// The token alice's forms carry, as the page gives it.
fn csrf_token(server: &Server) -> String {
    let page = server.request("GET", "/web/admin", &[], "").text();
    let at = page.find("name=\"csrf\" value=\"").expect("a form") + 19;
    page[at..].split('"').next().expect("token").to_string()
}

fn post(server: &Server, path: &str, headers: &[(&str, &str)], form: &str) -> Response {
    let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    server.request("POST", path, &all, form)
}

#[test]
fn only_operators_get_in_and_pages_are_safe() {
    let server = start(&people(3), EVERY_SECOND, "");
    let as_bob = basic("bob", "hunter2");
    for path in ["/web/admin", "/web/admin/status.json"] {
        let r = server.request("GET", path, &[("Authorization", &as_bob)], "");
        assert_eq!(r.status, 403, "{path}: {}", r.text());
        assert!(r.text().contains("[auth] admins"), "{path}: {}", r.text());
        let anonymous = Conn::open(server.port).send("GET", path, &[], b"");
        assert_eq!(anonymous.status, 401, "{path}");
    }
    // The layout links operators to their pages, and only them.
    let home = |auth: &str| {
        server
            .request("GET", "/web/", &[("Authorization", auth)], "")
            .text()
    };
    let link = r#"<a href="/web/admin">Operator overview</a>"#;
    assert!(home(&basic("alice", "secret")).contains(link));
    assert!(!home(&as_bob).contains("/web/admin"));
    let token = csrf_token(&server);
    let r = post(
        &server,
        "/web/admin/poll",
        &[("Authorization", &as_bob)],
        &format!("source=staff&csrf={token}"),
    );
    assert_eq!(r.status, 403, "bob may not press alice's buttons");

    for path in ["/web/admin", "/web/admin/status.json"] {
        let r = server.request("GET", path, &[], "");
        assert_eq!(r.status, 200, "{path}");
        let csp = r.header("Content-Security-Policy").expect("CSP");
        assert!(
            csp.contains("default-src 'none'") && !csp.contains("script-src"),
            "{csp}"
        );
        assert_eq!(r.header("X-Frame-Options"), Some("DENY"), "{path}");
        assert_eq!(r.header("Cache-Control"), Some("no-store"), "{path}");
    }
    // Values from the source are text, never markup.
    let page = server.request("GET", "/web/admin", &[], "").text();
    assert!(!page.contains("<script"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );

    // DAV methods on the operator paths are DAV's to answer: no page.
    let r = server.propfind("/web/admin", "0", &propfind_body(&["D:resourcetype"]));
    assert!(!r.text().contains("<html"), "{}", r.text());
    assert_ne!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    // A GET of a button's address does nothing.
    assert_eq!(
        server.request("GET", "/web/admin/accept", &[], "").status,
        405
    );
}

#[test]
fn the_json_has_every_book_and_source_with_their_last_poll() {
    let failing = r#"
[[source]]
id = "gone"
kind = "csv"
path = "gone.csv"
poll_interval = "1h"
"#;
    let server = start(&people(3), EVERY_SECOND, failing);
    eventually_within(
        &server,
        "the failing source polled",
        Duration::from_secs(20),
        || status(&server)["sources"][1]["result"] == "failing",
    );
    let json = status(&server);
    let book = &json["books"][0];
    assert_eq!(book["id"], "staff");
    assert_eq!(book["name"], "Staff directory");
    assert_eq!(book["members"], 4);
    assert_eq!(
        book["token"],
        server.token().as_str(),
        "the token clients sync to"
    );
    assert!(
        book["published"]
            .as_u64()
            .is_some_and(|t| t > 1_700_000_000),
        "{book}"
    );
    assert_eq!(book["readers"], serde_json::json!(["*"]));
    assert_eq!(book["sources"], serde_json::json!(["staff"]));
    assert_eq!(book["ready"], true);
    assert!(book["hold"].is_null(), "{book}");

    let staff = &json["sources"][0];
    assert_eq!(staff["id"], "staff");
    assert_eq!(staff["kind"], "csv");
    assert_eq!(staff["result"], "ok");
    assert_eq!(staff["consecutive_failures"], 0);
    assert_eq!(staff["contacts"], 4);
    assert!(staff["last_duration_ms"].is_u64(), "{staff}");
    let last_poll = staff["last_poll"].as_u64().expect("last_poll");
    assert!(
        staff["next_poll"].as_u64().is_some_and(|t| t > last_poll),
        "{staff}"
    );
    // The markup birthday on line 5 (the header is line 1) was left out, and it says so.
    assert_eq!(staff["skipped"], 1, "{staff}");
    let skipped = &staff["skipped_sample"][0];
    assert!(
        skipped["location"]
            .as_str()
            .is_some_and(|l| l.ends_with("/staff.csv:5")),
        "{skipped}"
    );
    assert!(
        skipped["reason"]
            .as_str()
            .is_some_and(|r| r.contains("Birthday") && r.contains(HOSTILE)),
        "{skipped}"
    );

    let gone = &json["sources"][1];
    assert_eq!(gone["id"], "gone");
    assert!(
        gone["consecutive_failures"]
            .as_u64()
            .is_some_and(|n| n >= 1),
        "{gone}"
    );
    assert!(
        gone["error"]
            .as_str()
            .is_some_and(|e| e.contains("gone.csv")),
        "{gone}"
    );
    assert!(gone["cause"].is_string(), "{gone}");
    assert!(gone["last_success"].is_null(), "{gone}");
    // The page leads with it.
    let page = server.request("GET", "/web/admin", &[], "").text();
    assert!(
        page.contains(
            r##"1 address book, 2 sources: <span class="bad">failing: <a href="#source-gone">gone</a></span>."##
        ),
        "{page}"
    );
}

#[test]
fn an_operator_sees_a_held_poll_and_accepts_it_in_the_browser() {
    let server = held_back();

    let url = format!("{}/web/admin", base(&server));
    let mut desktop = None;
    for (name, width, height, mobile) in [("phone", 390, 844, true), ("desktop", 1280, 900, false)]
    {
        let mut page = Page::open(width, height, mobile, Some(&basic("alice", "secret")));
        page.goto(&url);
        let text = page.text();
        for expected in [
            "Operator overview",
            "1 address book, 1 source: 1 poll held.",
            "Held polls",
            "A poll would remove 7 of its 9 cards, leaving 3.",
            "Cards it would remove:",
            HOSTILE,
            "P02 Staff",
            "P07 Staff",
            "Accept: remove 7 cards from staff",
            "Staff directory",
            "Poll staff now",
        ] {
            assert!(text.contains(expected), "{name}: {expected:?} in\n{text}");
        }
        // The markup name is a list item's text, not a script.
        assert_eq!(page.eval("document.scripts.length"), 0, "{name}");
        // Nothing scrolls sideways on a phone.
        let scroll_width = page.eval("document.documentElement.scrollWidth");
        assert!(
            scroll_width.as_u64().is_some_and(|w| w <= u64::from(width)),
            "{name}: {scroll_width} wide"
        );
        let png = page.screenshot(&shot_path(
            server.dir.path(),
            &format!("admin-held-{name}.png"),
        ));
        assert_eq!(png_size(&png), (width, height), "{name}");
        assert!(
            png_colours(&png) > 50,
            "{name}: the screenshot shows a page"
        );
        // The source's block: its skipped record, quoting the markup as text.
        let skipped = page.eval("document.querySelector('#source-staff ul.skipped').innerText");
        assert!(
            skipped.as_str().is_some_and(|t| t.contains("/staff.csv:4")
                && t.contains(&format!("Birthday: \"{HOSTILE}\" is not a date"))),
            "{name}: {skipped}"
        );
        page.eval("document.getElementById('source-staff').scrollIntoView()");
        let png = page.screenshot(&shot_path(
            server.dir.path(),
            &format!("admin-source-{name}.png"),
        ));
        assert!(png_colours(&png) > 50, "{name}: the source's block shows");
        page.eval("window.scrollTo(0, 0)");
        desktop = Some(page);
    }
    let mut page = desktop.expect("the desktop page");
    page.click("form[action='/web/admin/accept'] button");
    assert_eq!(
        page.eval("location.pathname + location.search"),
        "/web/admin?accepted=staff"
    );
    let text = page.text();
    assert!(
        text.contains("Accepted the held poll of Staff directory: it now publishes 3 cards."),
        "{text}"
    );
    assert!(!text.contains("Held polls"), "{text}");
    // Clients get the smaller book.
    assert_eq!(server.listing().len(), 3);
    assert!(status(&server)["books"][0]["hold"].is_null());
    let png = page.screenshot(&shot_path(server.dir.path(), "admin-accepted-desktop.png"));
    assert!(png_colours(&png) > 50);
}

#[test]
fn forged_button_presses_are_refused_and_a_post_with_the_token_accepts() {
    let server = held_back();
    let token = csrf_token(&server);
    // The origin the test client's `Host: 127.0.0.1` names.
    let own = "http://127.0.0.1".to_string();
    for (why, headers, form) in [
        (
            "no token",
            vec![("Origin", own.as_str())],
            "book=staff".to_string(),
        ),
        (
            "a wrong token",
            vec![("Origin", own.as_str())],
            "book=staff&csrf=AAAA".to_string(),
        ),
        (
            "another site",
            vec![("Origin", "http://evil.example")],
            format!("book=staff&csrf={token}"),
        ),
        (
            "another site's page",
            vec![("Referer", "http://evil.example/page")],
            format!("book=staff&csrf={token}"),
        ),
    ] {
        let r = post(&server, "/web/admin/accept", &headers, &form);
        assert_eq!(r.status, 403, "{why}");
        assert!(r.text().contains("nothing was done"), "{why}: {}", r.text());
    }
    assert_eq!(server.listing().len(), 9, "still held");
    assert!(!status(&server)["books"][0]["hold"].is_null());

    let r = post(
        &server,
        "/web/admin/accept",
        &[("Origin", own.as_str())],
        &format!("book=staff&csrf={token}"),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("Location"), Some("/web/admin?accepted=staff"));
    assert_eq!(server.listing().len(), 3, "published before the answer");
    // Nothing is held any more: a second press says so.
    let r = post(
        &server,
        "/web/admin/accept",
        &[("Origin", own.as_str())],
        &format!("book=staff&csrf={token}"),
    );
    assert_eq!(r.status, 409);
    assert!(r.text().contains("no held poll"), "{}", r.text());
}

#[test]
fn poll_now_brings_a_changed_file_without_waiting_for_the_schedule() {
    // Polled hourly and its file checked hourly: a change waits for the button.
    let server = start(
        &people(3),
        "check_interval = \"1h\"\npoll_interval = \"1h\"",
        "",
    );
    let token = server.token();
    add_a_newcomer(&server);
    assert_eq!(server.token(), token, "not seen before the button");

    let mut page = Page::open(390, 844, true, Some(&basic("alice", "secret")));
    page.goto(&format!("{}/web/admin", base(&server)));
    page.click("form[action='/web/admin/poll'] button");
    let text = page.text();
    assert!(text.contains("Polled staff: 5 contacts."), "{text}");
    assert_ne!(server.token(), token);
    assert_eq!(server.listing().len(), 5);
}

#[test]
fn on_the_admin_listener_everyone_is_an_operator_even_without_logins() {
    let admin_port = free_port();
    let config = format!(
        r#"
[server]
listen = ["127.0.0.1:{{PORT}}"]
admin_listen = ["127.0.0.1:{admin_port}"]

[[source]]
id = "staff"
kind = "csv"
path = "staff.csv"
check_interval = "1h"
poll_interval = "1h"

[[addressbook]]
id = "staff"
sources = ["staff"]
"#
    );
    let server = Server::start(ServerSpec {
        config,
        files: vec![("staff.csv".into(), google_csv(&people(3)).into_bytes())],
    });
    let on_admin = |method: &str, path: &str, headers: &[(&str, &str)], body: &str| {
        Conn::open(admin_port).send(method, path, headers, body.as_bytes())
    };
    // Anonymous mode: the public address has no operators.
    let r = server.request("GET", "/web/admin", &[], "");
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("admin_listen"), "{}", r.text());
    let r = on_admin("GET", "/web/admin/status.json", &[], "");
    assert_eq!(r.status, 200, "{}", r.text());
    let json: Value = serde_json::from_slice(&r.body).expect("JSON");
    assert_eq!(json["books"][0]["members"], 4);
    // Its buttons work there, with the token its page gives.
    let page = on_admin("GET", "/web/admin", &[], "").text();
    let at = page.find("name=\"csrf\" value=\"").expect("a form") + 19;
    let token = page[at..].split('"').next().expect("token");
    add_a_newcomer(&server);
    let r = on_admin(
        "POST",
        "/web/admin/poll",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!("source=staff&csrf={token}"),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(server.listing().len(), 5);
    // And it still serves DAV.
    assert_eq!(
        on_admin(
            "PROPFIND",
            "/addressbooks/anonymous/staff/",
            &[("Depth", "0")],
            ""
        )
        .status,
        207
    );
}

/// Rewrites the book's file as `people(3)` plus one new person, for a poll to find.
fn add_a_newcomer(server: &Server) {
    let mut more = people(3);
    more.push(google_row(
        "Newcomer",
        "Staff",
        "Corp",
        "new@corp.example",
        "",
    ));
    write_atomically(&server.path("staff.csv"), google_csv(&more).as_bytes());
}
