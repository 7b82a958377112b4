//! The web face through the real server, as people and their devices meet it: Chromium
//! (headless, Debian's) loads the user's page at phone and desktop widths and taps through to
//! the setup page; the QR code in the screenshot decodes (zbarimg, Debian's zbar-tools) to
//! the setup page's URL; the Apple profile parses with Python's plistlib and has every key
//! Apple's profile reference requires for a CardDAV account; pages carry the safe headers and
//! show markup from the configuration as text; DAV clients get exactly the DAV answers.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use support::chromium::{png_size, shot_path, Page};
use support::http::{basic, Conn, Response};
use support::server::standard_config;
use support::{certs, google_csv, google_row, propfind_body, tools, Server, ServerSpec};

const HOSTILE: &str = "<script>alert(1)</script>";

/// The standard server (alice, bob; the `staff` book for everyone) plus a book only alice
/// reads, named and described with markup; `server_keys` go into `[server]`, `tables` after.
fn start(server_keys: &str, tables: &str) -> Server {
    let rows = [
        google_row(HOSTILE, "Smith", "Corp", "ann@corp.example", ""),
        google_row("Bob", "Jones", "Corp", "bob@corp.example", ""),
    ];
    let private = format!(
        r#"
[[addressbook]]
id = "private"
name = "{HOSTILE}"
description = "Alice's & \"quoted\""
sources = ["staff"]
readers = ["alice"]
{tables}
"#
    );
    let config =
        standard_config(&private).replacen("[server]\n", &format!("[server]\n{server_keys}"), 1);
    Server::start(ServerSpec {
        config,
        files: vec![("staff.csv".into(), google_csv(&rows).into_bytes())],
    })
}

fn html_get(server: &Server, path: &str) -> Response {
    server.request(
        "GET",
        path,
        &[("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")],
        "",
    )
}

/// What zbarimg reads in the PNG at `path` (one symbol, its text).
fn zbarimg(path: &Path) -> String {
    let zbarimg = tools::binary(
        "zbarimg",
        "run scripts/setup.sh test (or: sudo apt-get install zbar-tools)",
    );
    let out = Command::new(zbarimg)
        .args(["--raw", "-q"])
        .arg(path)
        .output()
        .expect("zbarimg");
    assert!(
        out.status.success(),
        "zbarimg found no QR code in {}",
        path.display()
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_person_sees_their_books_and_reaches_the_setup_page_on_a_phone_and_a_desktop() {
    let server = start("", "");
    let base = format!("http://127.0.0.1:{}", server.port);
    let setup_url = format!("{base}/web/setup");
    for (name, width, height, mobile) in [("phone", 390, 844, true), ("desktop", 1280, 900, false)]
    {
        let mut page = Page::open(width, height, mobile, Some(&basic("alice", "secret")));
        page.goto(&format!("{base}/"));
        let text = page.text();
        for expected in [
            "Your address books",
            "Signed in as alice",
            "Staff directory",
            HOSTILE,
            "Alice's & \"quoted\"",
            &format!("{base}/addressbooks/alice/staff/"),
            &setup_url,
        ] {
            assert!(text.contains(expected), "{name}: {expected:?} in\n{text}");
        }
        // Two cards in each book, and when they were published.
        let counts = page.eval(
            "[...document.querySelectorAll('tbody tr')].map(r => \
             [r.querySelector('td.count').innerText, r.querySelector('time').getAttribute('datetime')])",
        );
        let counts = counts.as_array().expect("rows");
        assert_eq!(counts.len(), 2, "{name}: both of alice's books: {counts:?}");
        for row in counts {
            assert_eq!(row[0], "2", "{name}: {row}");
            assert!(row[1].as_str().is_some_and(|t| t.ends_with('Z')), "{row}");
        }
        // Markup from the configuration is text: no script element, no alert.
        assert_eq!(page.eval("document.scripts.length"), 0, "{name}");
        // The stylesheet applied (served by the server, allowed by the CSP).
        assert_eq!(
            page.eval("getComputedStyle(document.querySelector('.button')).borderTopLeftRadius"),
            "6.4px",
            "{name}: styled"
        );
        // The page fits the screen: no sideways scrolling on a phone.
        let scroll_width = page.eval("document.documentElement.scrollWidth");
        assert!(
            scroll_width.as_u64().is_some_and(|w| w <= u64::from(width)),
            "{name}: {scroll_width} wide"
        );
        let png = page.screenshot(&shot_path(server.dir.path(), &format!("user-{name}.png")));
        assert_eq!(png_size(&png), (width, height), "{name}");
        // The QR code, as drawn on the screen, opens the setup page.
        page.eval("document.querySelector('img.qr').scrollIntoView({block: 'center'})");
        let qr_shot = shot_path(server.dir.path(), &format!("qr-{name}.png"));
        page.screenshot(&qr_shot);
        assert_eq!(zbarimg(&qr_shot), setup_url, "{name}");
        // A tap on "Set up a device" leads there.
        page.click("a.button");
        assert_eq!(page.eval("location.href"), setup_url.as_str());
        let text = page.text();
        for expected in [
            "Set up a device",
            "Download the setup profile",
            &format!("{base}/principals/alice/"),
            "Login with URL and user name",
            "Thunderbird",
            "Evolution",
            &format!("{base}/addressbooks/alice/private/"),
        ] {
            assert!(text.contains(expected), "{name}: {expected:?} in\n{text}");
        }
        // DAVx5 and Thunderbird are given the base URL, where discovery starts.
        for client in ["davx5", "thunderbird"] {
            let url = page.eval(&format!(
                "document.querySelector('#{client} + ol .url').innerText"
            ));
            assert_eq!(url, format!("{base}/").as_str(), "{name}: {client}");
        }
    }
    // Bob sees his book only.
    let mut page = Page::open(390, 844, true, Some(&basic("bob", "hunter2")));
    page.goto(&format!("{base}/"));
    let text = page.text();
    assert!(
        text.contains("Staff directory") && !text.contains(HOSTILE),
        "{text}"
    );
}

#[test]
fn pages_carry_safe_headers_and_show_markup_as_text() {
    let server = start("", "");
    for path in ["/", "/web/", "/web/setup", "/web/nothing"] {
        let r = html_get(&server, path);
        assert_eq!(
            r.status,
            if path == "/web/nothing" { 404 } else { 200 },
            "{path}"
        );
        assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
        let csp = r.header("Content-Security-Policy").expect("CSP");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("script-src"), "no scripts allowed: {csp}");
        assert_eq!(r.header("X-Frame-Options"), Some("DENY"), "{path}");
        assert_eq!(r.header("Cache-Control"), Some("no-store"), "{path}");
        assert_eq!(
            r.header("X-Content-Type-Options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(r.header("Referrer-Policy"), Some("same-origin"), "{path}");
        let body = r.text();
        assert!(!body.contains("<script"), "{path}: {body}");
        assert!(
            !body.to_ascii_lowercase().contains("http://www.") && !body.contains("https://"),
            "{path}: nothing from elsewhere"
        );
    }
    let body = html_get(&server, "/").text();
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{body}"
    );
    assert!(
        body.contains("Alice&#39;s &amp; &quot;quoted&quot;"),
        "{body}"
    );
    // A Host header with markup is not echoed.
    let mut conn = Conn::open(server.port);
    let head = format!(
        "GET /web/setup HTTP/1.1\r\nHost: \"><b>x\r\nAccept: text/html\r\nAuthorization: {}\r\n\r\n",
        basic("alice", "secret")
    );
    conn.write_raw(head.as_bytes()).expect("write");
    let r = conn.read_response(false);
    assert_eq!(r.status, 200);
    assert!(!r.text().contains("<b>x"), "{}", r.text());
    // Personal downloads are not stored either; the stylesheet may be.
    for path in ["/web/setup-qr.svg", "/web/cardbridge.mobileconfig"] {
        let r = server.request("GET", path, &[], "");
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("Cache-Control"), Some("no-store"), "{path}");
        assert_eq!(
            r.header("X-Content-Type-Options"),
            Some("nosniff"),
            "{path}"
        );
    }
    let r = server.request("GET", "/web", &[], "");
    assert_eq!((r.status, r.header("Location")), (308, Some("/web/")));
    let css = server.request("GET", "/web/style.css", &[], "");
    assert_eq!(css.header("Content-Type"), Some("text/css; charset=utf-8"));
    // Without a login, a browser is asked for one.
    let r = Conn::open(server.port).send("GET", "/", &[("Accept", "text/html")], b"");
    assert_eq!(r.status, 401);
    assert!(r
        .header("WWW-Authenticate")
        .is_some_and(|v| v.starts_with("Basic")));
}

/// What a DAV client acts on: status, headers but the date, body.
fn dav_view(r: &Response) -> (u16, Vec<(String, String)>, String) {
    let headers = r
        .headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("date"))
        .cloned()
        .collect();
    (
        r.status,
        headers,
        String::from_utf8_lossy(&r.body).into_owned(),
    )
}

#[test]
fn dav_clients_get_the_dav_answers() {
    let server = start("", "");
    // What the DAV layer answers for a collection: the same text at / as at the home.
    let dav = server.request(
        "GET",
        "/addressbooks/alice/",
        &[("Accept", "text/html")],
        "",
    );
    assert_eq!(
        dav.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    for accept in [None, Some("*/*"), Some("text/vcard"), Some("text/html;q=0")] {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
        let r = server.request("GET", "/", &headers, "");
        assert_eq!(dav_view(&r), dav_view(&dav), "{accept:?}");
    }
    // A PROPFIND asking for HTML is still a PROPFIND, at / and under /web/.
    let body = propfind_body(&["D:current-user-principal", "D:resourcetype"]);
    for path in ["/", "/web/"] {
        let plain = server.propfind(path, "0", &body);
        let html = server.request(
            "PROPFIND",
            path,
            &[
                ("Depth", "0"),
                ("Accept", "text/html"),
                ("Content-Type", "application/xml"),
            ],
            &body,
        );
        assert_eq!(dav_view(&html), dav_view(&plain), "{path}");
    }
    assert_eq!(server.propfind("/", "0", &body).status, 207);
    // Cards are cards, whatever the browser accepts.
    let listing = server.listing();
    let (card, _) = listing.iter().next().expect("a card");
    let r = server.request("GET", card, &[("Accept", "text/html")], "");
    assert!(r.text().starts_with("BEGIN:VCARD"), "{card}");
}

/// The keys Apple's Configuration Profile reference requires at the top level and in a
/// `com.apple.carddav.account` payload, checked with Python's plistlib; prints the payload's
/// values as JSON.
const PLIST_CHECK: &str = r#"
import json, plistlib, sys
profile = plistlib.loads(sys.stdin.buffer.read())
missing = [k for k in ("PayloadContent", "PayloadDisplayName", "PayloadIdentifier",
    "PayloadType", "PayloadUUID", "PayloadVersion") if k not in profile]
assert not missing, f"top level lacks {missing}"
assert profile["PayloadType"] == "Configuration", profile["PayloadType"]
assert isinstance(profile["PayloadVersion"], int)
[payload] = profile["PayloadContent"]
required = {"PayloadType": str, "PayloadVersion": int, "PayloadIdentifier": str,
    "PayloadUUID": str, "PayloadDisplayName": str, "CardDAVHostName": str, "CardDAVPort": int,
    "CardDAVUseSSL": bool, "CardDAVPrincipalURL": str, "CardDAVUsername": str,
    "CardDAVAccountDescription": str}
for key, kind in required.items():
    assert isinstance(payload.get(key), kind), f"{key}: {payload.get(key)!r} is not {kind}"
assert payload["PayloadType"] == "com.apple.carddav.account"
assert payload["PayloadIdentifier"] != profile["PayloadIdentifier"]
assert payload["PayloadUUID"] != profile["PayloadUUID"]
payload["ProfileIdentifier"] = profile["PayloadIdentifier"]
payload["ProfileUUID"] = profile["PayloadUUID"]
json.dump(payload, sys.stdout)
"#;

/// The profile `user` downloads, as sent.
fn download_profile(server: &Server, user: &str, password: &str) -> Vec<u8> {
    let r = server.request(
        "GET",
        "/web/cardbridge.mobileconfig",
        &[("Authorization", &basic(user, password))],
        "",
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Content-Type"),
        Some("application/x-apple-aspen-config")
    );
    assert!(r
        .header("Content-Disposition")
        .is_some_and(|v| v.starts_with("attachment;") && v.contains(".mobileconfig")));
    r.body
}

/// The CardDAV payload of an unsigned profile, checked by [`PLIST_CHECK`].
fn checked_payload(profile: &[u8]) -> serde_json::Value {
    let mut child = Command::new("python3")
        .args(["-c", PLIST_CHECK])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (run scripts/setup.sh test)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(profile)
        .expect("write profile");
    let out = child.wait_with_output().expect("python3");
    assert!(
        out.status.success(),
        "plistlib refused the profile: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(profile)
    );
    serde_json::from_slice(&out.stdout).expect("payload JSON")
}

fn parsed_profile(server: &Server, user: &str, password: &str) -> serde_json::Value {
    checked_payload(&download_profile(server, user, password))
}

#[test]
fn the_apple_profile_has_what_a_device_needs_and_no_password() {
    let server = start("", "");
    let payload = parsed_profile(&server, "alice", "secret");
    // The test client sends `Host: 127.0.0.1` on a plain connection.
    assert_eq!(payload["CardDAVHostName"], "127.0.0.1");
    assert_eq!(payload["CardDAVPort"], 80);
    assert_eq!(payload["CardDAVUseSSL"], false);
    assert_eq!(payload["CardDAVUsername"], "alice");
    assert_eq!(
        payload["CardDAVPrincipalURL"],
        "http://127.0.0.1/principals/alice/"
    );
    assert!(payload.get("CardDAVPassword").is_none(), "{payload}");
    // Downloading again gives the same identifiers (installing replaces); another user's differ.
    assert_eq!(parsed_profile(&server, "alice", "secret"), payload);
    let bob = parsed_profile(&server, "bob", "hunter2");
    for key in [
        "PayloadUUID",
        "PayloadIdentifier",
        "ProfileUUID",
        "ProfileIdentifier",
    ] {
        assert_ne!(bob[key], payload[key], "{key}");
    }
}

#[test]
fn behind_a_proxy_the_public_url_is_named_and_the_password_included_when_enabled() {
    let server = start(
        "public_url = \"https://contacts.example.com/\"\n",
        "[web]\nprofile_password = true\n",
    );
    let payload = parsed_profile(&server, "alice", "secret");
    assert_eq!(payload["CardDAVHostName"], "contacts.example.com");
    assert_eq!(payload["CardDAVPort"], 443);
    assert_eq!(payload["CardDAVUseSSL"], true);
    assert_eq!(
        payload["CardDAVPrincipalURL"],
        "https://contacts.example.com/principals/alice/"
    );
    assert_eq!(payload["CardDAVPassword"], "secret");
    let page = html_get(&server, "/web/setup").text();
    assert!(
        page.contains("https://contacts.example.com/addressbooks/alice/staff/"),
        "{page}"
    );
    assert!(page.contains("carries the password"), "{page}");
}

#[test]
fn a_signed_profile_verifies_with_openssl_against_the_issuing_ca() {
    let pki = tempfile::tempdir().expect("tempdir");
    certs::make(pki.path(), "Contacts profile signer", None);
    let read = |name: &str| std::fs::read(pki.path().join(name)).expect("cert file");
    let rows = [google_row("Ann", "Smith", "Corp", "ann@corp.example", "")];
    let server = Server::start(ServerSpec {
        config: standard_config(
            "[web]\nprofile_cert_file = \"pki/signer.pem\"\nprofile_key_file = \"pki/signer.key\"\n",
        ),
        files: vec![
            ("staff.csv".into(), google_csv(&rows).into_bytes()),
            ("pki/signer.pem".into(), read("server.pem")),
            ("pki/signer.key".into(), read("server.key")),
        ],
    });
    let signed = pki.path().join("signed.mobileconfig");
    std::fs::write(&signed, download_profile(&server, "alice", "secret")).expect("write");
    let content = pki.path().join("content.plist");
    let out = Command::new("openssl")
        .args(["cms", "-verify", "-inform", "DER", "-in"])
        .arg(&signed)
        .arg("-CAfile")
        .arg(pki.path().join("ca.pem"))
        .arg("-out")
        .arg(&content)
        .output()
        .expect("openssl (run scripts/setup.sh test)");
    assert!(
        out.status.success(),
        "openssl cms -verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let payload = checked_payload(&std::fs::read(&content).expect("content"));
    assert_eq!(payload["CardDAVUsername"], "alice");
    // Another CA does not vouch for it.
    let other = tempfile::tempdir().expect("tempdir");
    certs::make_ca(other.path());
    let out = Command::new("openssl")
        .args(["cms", "-verify", "-inform", "DER", "-in"])
        .arg(&signed)
        .arg("-CAfile")
        .arg(other.path().join("ca.pem"))
        .args(["-out", "/dev/null"])
        .output()
        .expect("openssl");
    assert!(!out.status.success(), "verified against an unrelated CA");
    let page = html_get(&server, "/web/setup").text();
    assert!(page.contains("The profile is signed"), "{page}");
}

#[test]
fn in_anonymous_mode_the_pages_need_no_login() {
    let rows = [google_row("Ann", "Smith", "Corp", "ann@corp.example", "")];
    let server = Server::start(ServerSpec {
        config: r#"
[server]
listen = ["127.0.0.1:{PORT}"]

[[source]]
id = "staff"
kind = "csv"
path = "staff.csv"
check_interval = "1s"

[[addressbook]]
id = "staff"
name = "Staff directory"
sources = ["staff"]
"#
        .into(),
        files: vec![("staff.csv".into(), google_csv(&rows).into_bytes())],
    });
    let page = html_get(&server, "/").text();
    assert!(page.contains("Open to everyone"), "{page}");
    assert!(page.contains("/addressbooks/anonymous/staff/"), "{page}");
    let setup = html_get(&server, "/web/setup").text();
    assert!(setup.contains("none needed"), "{setup}");
    let profile = server.request("GET", "/web/cardbridge.mobileconfig", &[], "");
    assert_eq!(
        checked_payload(&profile.body)["CardDAVUsername"],
        "anonymous"
    );
}
