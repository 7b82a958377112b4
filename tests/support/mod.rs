//! Shared test support: the real `cardbridge` binary on a free loopback port, a raw HTTP/1.1
//! client (exact status lines, keep-alive, chunked bodies, 100-continue) and a namespace-aware
//! multistatus reader.
#![allow(dead_code, unused_imports)]

pub mod cards;
pub mod certs;
pub mod chromium;
pub mod clients;
pub mod fake_google;
pub mod fake_push;
pub mod hostile;
pub mod http;
pub mod marionette;
pub mod multistatus;
pub mod procfs;
pub mod samba;
pub mod server;
pub mod slapd;
pub mod tools;
pub mod vcard;
pub mod vdirsyncer;

pub use multistatus::Multistatus;
pub use server::{free_port, Server, ServerSpec};

/// A PROPFIND body asking for `props` (each `prefix:name`, prefixes D, C, CS).
pub fn propfind_body(props: &[&str]) -> String {
    let mut body = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/"><D:prop>"#,
    );
    for p in props {
        body.push_str(&format!("<{p}/>"));
    }
    body.push_str("</D:prop></D:propfind>");
    body
}

/// A sync-collection body with `token` ("" for an initial sync) asking getetag (+ address-data).
pub fn sync_body(token: &str, with_data: bool) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/>{}</D:prop></D:sync-collection>"#,
        if with_data { "<C:address-data/>" } else { "" }
    )
}

/// An addressbook-multiget body for `hrefs`; `version` "4.0" asks for vCard 4.
pub fn multiget_body(hrefs: &[String], version: Option<&str>) -> String {
    let data = match version {
        Some(v) => format!(r#"<C:address-data content-type="text/vcard" version="{v}"/>"#),
        None => "<C:address-data/>".to_string(),
    };
    let mut body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/>{data}</D:prop>"#
    );
    for href in hrefs {
        body.push_str(&format!("<D:href>{href}</D:href>"));
    }
    body.push_str("</C:addressbook-multiget>");
    body
}

/// An addressbook-query body asking getetag (+ address-data); `rest` is its filter (and limit).
pub fn query_body(rest: &str, with_data: bool) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/>{}</D:prop>{rest}</C:addressbook-query>"#,
        if with_data { "<C:address-data/>" } else { "" }
    )
}

/// The Google Contacts CSV header used by the tests' own CSV files.
pub const GOOGLE_HEADER: &str = "First Name,Last Name,Organization Name,E-mail 1 - Label,E-mail 1 - Value,Phone 1 - Label,Phone 1 - Value,Nickname,Birthday";

/// A Google-format row.
pub fn google_row(given: &str, family: &str, org: &str, email: &str, phone: &str) -> String {
    format!("{given},{family},{org},* Work,{email},Work,{phone},,")
}

/// `n` generated staff rows: Person0 Staff … with an e-mail address each (no phone: phone
/// normalization is the slowest part of an unoptimised test build).
pub fn staff_rows(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            google_row(
                &format!("Person{i}"),
                "Staff",
                "Corp",
                &format!("p{i}@corp.example"),
                "",
            )
        })
        .collect()
}

/// A Google-format CSV file of `rows`.
pub fn google_csv(rows: &[String]) -> String {
    format!("{GOOGLE_HEADER}\n{}\n", rows.join("\n"))
}

/// A config with one directory source `directory` (polled every second) feeding the book
/// `staff`: `source` goes into the source table (preset, base, extras), `server` is its
/// `[source.server]` table, `rest` comes after it (groups, auth, more books).
pub fn directory_config(source: &str, server: &str, rest: &str) -> String {
    format!(
        r#"
[server]
listen = ["127.0.0.1:{{PORT}}"]

[[source]]
id = "directory"
kind = "ldap"
poll_interval = "1s"
check_interval = "1s"
timeout = "20s"
{source}
{server}
{rest}

[[addressbook]]
id = "staff"
name = "Directory"
sources = ["directory"]
"#
    )
}
