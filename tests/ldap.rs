//! The LDAP source and LDAP login against a real OpenLDAP slapd (see support/slapd.rs):
//! what phones see of the directory, paging past the server's size limit, changes made with
//! ldapmodify arriving as sync deltas, an outage that takes nothing away, the AD preset over
//! real LDAP traffic, and login by bind, groups and injection attempts.

mod support;

use std::collections::BTreeMap;

use support::cards::{all as cards, delta, eventually, get, jpeg_size, photo, unfold};
use support::fake_push::{push_properties, registered, FakePush, PUSH_SETTINGS};
use support::http::basic;
use support::multistatus::CARDDAV;
use support::server::run_cli;
use support::slapd::{Options, Slapd, ADMIN_DN, SUFFIX};
use support::{Multistatus, Server, ServerSpec};

const PEOPLE: &str = "ou=people,dc=example,dc=com";
const GROUPS: &str = "ou=groups,dc=example,dc=com";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/ldap/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

/// Server settings of a source or login reaching `slapd` with the admin as service account.
fn server_table(table: &str, slapd: &Slapd) -> String {
    format!(
        "[{table}]\nurl = \"{}\"\nbind_dn = \"{ADMIN_DN}\"\nbind_password_file = \"{}\"\ntimeout = \"5s\"\n",
        slapd.url(),
        slapd.password_file().display()
    )
}

/// A config with one LDAP source `directory` feeding the book `staff`; `source_extra` goes
/// into the source table, `rest` after it (groups, auth, more books).
fn config(slapd: &Slapd, source_extra: &str, rest: &str) -> String {
    support::directory_config(source_extra, &server_table("source.server", slapd), rest)
}

fn start(config: String) -> Server {
    Server::start(ServerSpec {
        config,
        files: vec![],
    })
}

/// The one card whose FN is `name`.
fn card_named(cards: &BTreeMap<String, String>, name: &str) -> String {
    let found: Vec<&String> = cards
        .values()
        .filter(|c| c.lines().any(|l| l == format!("FN:{name}")))
        .collect();
    assert_eq!(found.len(), 1, "cards named {name:?} in {cards:#?}");
    found[0].clone()
}

#[test]
fn directory_entries_become_cards_with_groups_manager_and_small_photos() {
    let slapd = Slapd::start(&fixture("directory.ldif"), Options::default());
    slapd.modify(&format!(
        "dn: cn=Support,{GROUPS}\nchangetype: add\nobjectClass: groupOfUniqueNames\ncn: Support\n\
         uniqueMember: uid=okafor,{PEOPLE}#'0101'B\nuniqueMember: uid=noname,{PEOPLE}\n"
    ));
    let server = start(config(
        &slapd,
        &format!("base = \"{PEOPLE}\"\ndefault_region = \"US\""),
        &format!("[source.groups]\nbase = \"{GROUPS}\"\n"),
    ));
    let cards = cards(&server);
    // 8 people, 2 groupOfNames and a groupOfUniqueNames.
    assert_eq!(cards.len(), 11, "{cards:#?}");
    let support = card_named(&cards, "Support");
    assert_eq!(
        support
            .lines()
            .filter(|l| l.starts_with("X-ADDRESSBOOKSERVER-MEMBER:"))
            .count(),
        2,
        "{support}"
    );

    let juergen = card_named(&cards, "Jürgen Müller");
    support::vcard::parse_strict(&juergen);
    assert!(juergen.contains("N:Müller;Jürgen;;;"), "{juergen}");
    assert!(juergen.contains("ADR;TYPE=WORK:;;Hauptstraße 5;Berlin;Berlin;10115;"));
    // The 1200 px directory photo arrives downscaled.
    let (w, h) = jpeg_size(&photo(&juergen));
    assert!(w <= 256 && h <= 256, "{w}x{h}");

    let alice = card_named(&cards, "Alice Smith");
    assert!(
        alice.contains("X-ABRELATEDNAMES:Jürgen Müller"),
        "manager named: {alice}"
    );
    assert!(
        alice.contains("EMAIL;TYPE=INTERNET,WORK,PREF:alice.smith@example.com"),
        "{alice}"
    );
    // 555-01xx numbers are fictional, so they are kept as written.
    assert!(alice.contains("TEL;TYPE=CELL:+1 555 0199 2002"), "{alice}");
    assert_eq!(jpeg_size(&photo(&alice)), (96, 96));
    // vCard 4.0 names the manager with RELATED.
    let alice_href = cards
        .iter()
        .find(|(_, c)| c.contains("FN:Alice Smith"))
        .map(|(h, _)| h.clone())
        .expect("Alice's href");
    let r = server.report(
        &server.book_path(),
        &support::multiget_body(&[alice_href], Some("4.0")),
    );
    assert_eq!(r.status, 207);
    let v4 = unfold(
        &Multistatus::parse(&r.body).responses[0]
            .text(CARDDAV, "address-data")
            .expect("address-data"),
    );
    assert!(
        v4.contains("RELATED;TYPE=co-worker,manager;VALUE=text:Jürgen Müller"),
        "{v4}"
    );

    let engineering = card_named(&cards, "Engineering");
    assert!(engineering.contains("X-ADDRESSBOOKSERVER-KIND:group"));
    let members = engineering
        .lines()
        .filter(|l| l.starts_with("X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:"))
        .count();
    assert_eq!(members, 3, "{engineering}");
    // Members are the people's uids (entryUUID), which are also their card UIDs.
    let john = card_named(&cards, "John Doe");
    let john_uid = john
        .lines()
        .find_map(|l| l.strip_prefix("UID:"))
        .expect("UID");
    assert!(engineering.contains(&format!("urn:uuid:{john_uid}")));
}

#[test]
fn paging_gets_past_the_servers_size_limit() {
    let mut ldif = fixture("directory.ldif");
    for i in 0..1000 {
        ldif.push_str(&format!(
            "\ndn: uid=gen{i},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: gen{i}\ncn: Generated {i}\nsn: Person{i}\nmail: gen{i}@example.com\n"
        ));
    }
    let slapd = Slapd::start(
        &ldif,
        Options {
            size_limit: Some("size.soft=100 size.hard=100 size.prtotal=unlimited".into()),
            ..Options::default()
        },
    );
    // The limit is real: an unpaged search stops at 100 with "size limit exceeded" (4).
    assert_eq!(slapd.unpaged_count("(objectClass=inetOrgPerson)"), (100, 4));
    let server = start(config(
        &slapd,
        &format!("base = \"{PEOPLE}\"\npage_size = 90"),
        "",
    ));
    assert_eq!(server.listing().len(), 1008);
}

#[test]
fn adds_modifies_renames_and_deletes_reach_clients_as_deltas() {
    let slapd = Slapd::start(&fixture("directory.ldif"), Options::default());
    // Incremental polls every second; a full listing (which sees deletions) every 4 s.
    let server = start(config(
        &slapd,
        &format!("base = \"{PEOPLE}\"\nfull_listing_interval = \"4s\""),
        "",
    ));
    let before = server.listing();
    assert_eq!(before.len(), 8);
    let token = server.token();

    slapd.modify(&format!(
        "dn: uid=newbie,{PEOPLE}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: newbie\ncn: Nora Newbie\nsn: Newbie\ngivenName: Nora\nmail: nora@example.com\n\n\
         dn: uid=lchen,{PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Principal SRE\n\n\
         dn: uid=okafor,{PEOPLE}\nchangetype: modrdn\nnewrdn: uid=cokafor\ndeleteoldrdn: 1\n"
    ));
    eventually(&server, "the add and the modify", || {
        server.token() != token
    });
    // The changes may land in one poll or in two; collect until both cards are there. The
    // rename changes no card content (same entryUUID, same fields), so it is no delta.
    let mut changed = Vec::new();
    let mut current = token.clone();
    eventually(&server, "two changed cards", || {
        let (c, removed, t) = delta(&server, &token);
        assert!(removed.is_empty(), "nothing was deleted yet: {removed:?}");
        changed = c;
        current = t;
        changed.len() == 2
    });
    let texts: Vec<String> = changed.iter().map(|h| get(&server, h)).collect();
    assert!(texts.iter().any(|t| t.contains("FN:Nora Newbie")));
    assert!(texts.iter().any(|t| t.contains("TITLE:Principal SRE")));
    // The rename keeps the entryUUID, so the same card stays (no removal, no duplicate).
    assert_eq!(server.listing().len(), 9);

    slapd.modify(&format!("dn: uid=hnakamura,{PEOPLE}\nchangetype: delete\n"));
    eventually(&server, "the deletion", || {
        let (_, removed, _) = delta(&server, &current);
        removed.len() == 1
    });
    let (_, removed, _) = delta(&server, &current);
    assert!(before.contains_key(&removed[0]));
    assert_eq!(server.listing().len(), 8);
}

/// A config polling the directory only once an hour (and listing it in full as rarely), with
/// a state directory for `cardbridge status`: a change that arrives sooner came live.
fn hourly_config(slapd: &Slapd) -> String {
    config(
        slapd,
        &format!("base = \"{PEOPLE}\""),
        "[store]\nstate_dir = \"state\"\n",
    )
    .replace("poll_interval = \"1s\"", "poll_interval = \"1h\"")
}

/// `cardbridge status`'s line saying how the directory's changes arrive.
fn changes_line(server: &Server) -> String {
    let (_, out, _) = run_cli(&["status", "-c", &server.config_path()]);
    out.lines()
        .find(|l| l.trim_start().starts_with("changes:"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn with_syncprov_changes_and_deletions_arrive_as_they_happen() {
    let slapd = Slapd::start(
        &fixture("directory.ldif"),
        Options {
            syncprov: true,
            ..Options::default()
        },
    );
    let server = start(hourly_config(&slapd));
    eventually(&server, "the syncrepl stream", || {
        changes_line(&server) == "changes: live (syncrepl)"
    });
    let token = server.token();
    slapd.modify(&format!(
        "dn: uid=lchen,{PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Principal SRE\n"
    ));
    eventually(&server, "the modification", || server.token() != token);
    let (changed, removed, current) = delta(&server, &token);
    assert_eq!((changed.len(), removed.len()), (1, 0));
    assert!(get(&server, &changed[0]).contains("TITLE:Principal SRE"));

    let before = server.listing();
    slapd.modify(&format!("dn: uid=hnakamura,{PEOPLE}\nchangetype: delete\n"));
    eventually(&server, "the deletion", || server.token() != current);
    let (changed, removed, _) = delta(&server, &current);
    assert!(changed.is_empty(), "{changed:?}");
    assert_eq!(removed.len(), 1);
    assert!(before.contains_key(&removed[0]));
    assert_eq!(server.request("GET", &removed[0], &[], "").status, 404);

    // A burst of 100 modifications is read once or a few times, not 100 times.
    let current = server.token();
    let published = server.log().matches("published").count();
    let burst: String = (0..100)
        .map(|i| {
            format!(
                "dn: uid=lchen,{PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Title {i}\n\n"
            )
        })
        .collect();
    slapd.modify(&burst);
    eventually(&server, "the last of the burst", || {
        let (changed, _, _) = delta(&server, &current);
        changed.len() == 1 && get(&server, &changed[0]).contains("TITLE:Title 99")
    });
    let publications = server.log().matches("published").count() - published;
    assert!(
        (1..=3).contains(&publications),
        "{publications} publications"
    );
}

/// Directory to phone: polled once an hour, so only the syncrepl stream can deliver, an
/// `ldapmodify` of a phone number reaches the push service as a message that decrypts and
/// verifies there (independent implementations, tests/support/fake_push.py) naming the book's
/// topic and the new sync token; the phone's sync from the token it had gets exactly that
/// card, new number included. A deletion likewise.
#[test]
fn a_directory_change_reaches_the_phone_by_push_and_its_next_sync_gets_exactly_it() {
    let push = FakePush::start();
    let slapd = Slapd::start(
        &fixture("directory.ldif"),
        Options {
            syncprov: true,
            ..Options::default()
        },
    );
    let server = start(format!("{}{PUSH_SETTINGS}", hourly_config(&slapd)));
    eventually(&server, "the syncrepl stream", || {
        changes_line(&server) == "changes: live (syncrepl)"
    });
    let (_, topic, _) = push_properties(&server);
    let phone = push.subscribe();
    registered(&server, &phone);
    let before = server.listing();
    let token = server.token();

    slapd.modify(&format!(
        "dn: uid=lchen,{PEOPLE}\nchangetype: modify\nreplace: telephoneNumber\n\
         telephoneNumber: +1 555 0100 2042\n"
    ));
    let (changed, current) = push
        .sync_on_push(&server, &phone, 1, &topic, &token)
        .one_changed();
    let card = get(&server, &changed);
    assert!(card.contains("FN:Li Chen"), "{card}");
    assert!(card.contains(":+1 555 0100 2042\r\n"), "{card}");
    assert!(!card.contains("1007"), "{card}");

    slapd.modify(&format!("dn: uid=hnakamura,{PEOPLE}\nchangetype: delete\n"));
    let removed = push
        .sync_on_push(&server, &phone, 2, &topic, &current)
        .one_removed();
    assert!(before.contains_key(&removed));
    assert_eq!(server.request("GET", &removed, &[], "").status, 404);
    assert_eq!(push.received(&phone).len(), 2, "one message a change");
}

/// A restart goes on from the checkpoint: the syncrepl cookie brings the deletion made while
/// the server was down, the change mark the modification, and the directory is not listed
/// again.
#[test]
fn a_restart_resumes_from_the_cookie_instead_of_listing_again() {
    let slapd = Slapd::start(
        &fixture("directory.ldif"),
        Options {
            syncprov: true,
            ..Options::default()
        },
    );
    let mut server = start(hourly_config(&slapd));
    eventually(&server, "a checkpoint taken while live", || {
        server.log().matches("checkpoint saved").count() >= 2
    });
    let before = server.listing();
    let token = server.token();
    server.kill();
    slapd.modify(&format!(
        "dn: uid=lchen,{PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Principal SRE\n\n\
         dn: uid=hnakamura,{PEOPLE}\nchangetype: delete\n"
    ));
    let earlier = server.log().len();
    server.restart(&[]);
    eventually(&server, "both changes", || {
        let (changed, removed, _) = delta(&server, &token);
        changed.len() == 1 && removed.len() == 1
    });
    let (changed, removed, _) = delta(&server, &token);
    assert!(get(&server, &changed[0]).contains("TITLE:Principal SRE"));
    assert!(before.contains_key(&removed[0]));
    let log = server.log();
    let since = log.get(earlier..).unwrap_or_default();
    assert!(
        since.contains("resumed: the next poll reads what changed"),
        "{since}"
    );
    assert!(!since.contains("listed in full"), "{since}");
}

#[test]
fn without_syncprov_the_directory_is_polled_and_the_status_says_why() {
    let slapd = Slapd::start(&fixture("directory.ldif"), Options::default());
    let server = start(hourly_config(&slapd));
    eventually(&server, "the fallback in the status", || {
        changes_line(&server)
            .starts_with("changes: polling (the server does not offer content synchronization")
    });
    assert_eq!(server.listing().len(), 8, "the first poll published");
}

#[test]
fn an_outage_keeps_cards_and_recovery_needs_no_restart() {
    let mut slapd = Slapd::start(&fixture("directory.ldif"), Options::default());
    let server = start(config(
        &slapd,
        &format!("base = \"{PEOPLE}\"\nfull_listing_interval = \"1s\""),
        "",
    ));
    let listing = server.listing();
    let token = server.token();
    slapd.stop();
    eventually(&server, "a failed poll", || {
        server
            .log()
            .contains("poll failed, keeping the last good data")
    });
    assert_eq!(server.listing(), listing);
    assert_eq!(server.token(), token);

    slapd.resume();
    slapd.modify(&format!(
        "dn: uid=jdoe,{PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Staff Engineer\n"
    ));
    eventually(&server, "recovery", || server.token() != token);
    let (changed, removed, _) = delta(&server, &token);
    assert_eq!(changed.len(), 1);
    assert!(removed.is_empty());
    assert!(get(&server, &changed[0]).contains("TITLE:Staff Engineer"));
}

#[test]
fn a_refused_service_account_is_not_retried_in_a_burst() {
    // Directories lock an account after a few failed binds (Active Directory's lockout
    // threshold): a changed service password must not be retried every few seconds.
    let slapd = Slapd::start(&fixture("directory.ldif"), Options::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let wrong = dir.path().join("wrong-password");
    std::fs::write(&wrong, "not the password\n").expect("password file");
    let state = "[store]\nstate_dir = \"state\"";
    let config = config(&slapd, &format!("base = \"{PEOPLE}\""), state).replace(
        &slapd.password_file().display().to_string(),
        &wrong.display().to_string(),
    );
    let server = Server::start_ready(
        ServerSpec {
            config,
            files: vec![],
        },
        0,
    );
    let status = || run_cli(&["status", "-c", &server.config_path()]).1;
    eventually(&server, "the refused bind in the status", || {
        status().contains("source directory: FAILING (refused, 1 in a row")
    });
    assert!(server.log().contains("retry_in_s=300"), "{}", server.log());
    // Polled every second, it would have failed three or four more times by now.
    std::thread::sleep(std::time::Duration::from_secs(4));
    let out = status();
    assert!(out.contains("FAILING (refused, 1 in a row"), "{out}");
    // The message names who was refused, not only the cause.
    assert!(
        out.contains(&format!("bind as {ADMIN_DN} refused")),
        "{out}"
    );

    // The operator fixes the password file: the source tries again at once.
    let right = std::fs::read(slapd.password_file()).expect("password");
    support::server::write_atomically(&wrong, &right);
    eventually(&server, "the directory published", || {
        status().contains("source directory: ok")
    });
    assert!(!server.listing().is_empty());
}

/// A config whose source reaches `url` (127.0.0.1 spelled localhost, the certificate's name)
/// anonymously, which the other tests (a service account) do not cover.
fn tls_config(url: &str, starttls: bool, ca_line: &str) -> String {
    support::directory_config(
        &format!("base = \"{PEOPLE}\""),
        &format!(
            "[source.server]\nurl = \"{}\"\nstarttls = {starttls}\n{ca_line}",
            url.replace("127.0.0.1", "localhost")
        ),
        "",
    )
}

/// `cardbridge check` on `config`: its exit code and everything it printed.
fn check(config: &str) -> (i32, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("check.toml");
    std::fs::write(&path, config.replace("{PORT}", "0")).expect("write");
    let (code, stdout, stderr) =
        support::server::run_cli(&["check", "-c", &path.display().to_string()]);
    (code, format!("{stdout}{stderr}"))
}

#[test]
fn ldaps_with_a_ca_file_and_starttls() {
    let slapd = Slapd::start(
        &fixture("directory.ldif"),
        Options {
            tls: true,
            ..Options::default()
        },
    );
    let ca = format!("ca_file = \"{}\"", slapd.ca_file().display());
    for (url, starttls) in [(slapd.tls_url(), false), (slapd.url(), true)] {
        let server = start(tls_config(&url, starttls, &ca));
        assert_eq!(server.listing().len(), 8, "{url} starttls={starttls}");
    }
    // Without the CA the certificate is not trusted: the poll fails, nothing is listed.
    let (code, output) = check(&tls_config(&slapd.tls_url(), false, ""));
    assert_ne!(code, 0, "{output}");
    assert!(output.to_lowercase().contains("certificate"), "{output}");
}

#[test]
fn a_certificate_without_subject_alt_name_is_explained() {
    let slapd = Slapd::start(
        &fixture("directory.ldif"),
        Options {
            tls: true,
            certificate_without_san: true,
            ..Options::default()
        },
    );
    let ca = format!("ca_file = \"{}\"", slapd.ca_file().display());
    for (url, starttls) in [(slapd.tls_url(), false), (slapd.url(), true)] {
        let (code, output) = check(&tls_config(&url, starttls, &ca));
        assert_ne!(code, 0, "{output}");
        assert!(
            output.contains("names no host in subjectAltName")
                && output.contains("reissue the certificate with a subjectAltName for localhost"),
            "{url}: {output}"
        );
    }
}

/// slapd with the AD schema and the AD fixture directory.
fn active_directory() -> Slapd {
    let schema = format!(
        "{}/tests/fixtures/ldap/ad.schema",
        env!("CARGO_MANIFEST_DIR")
    );
    Slapd::start(
        &fixture("ad-directory.ldif"),
        Options {
            schemas: vec![schema.into()],
            ..Options::default()
        },
    )
}

/// A source with the AD preset over the whole fixture directory, groups included.
fn active_directory_config(slapd: &Slapd) -> String {
    config(
        slapd,
        &format!(
            "preset = \"active-directory\"\nbase = \"{SUFFIX}\"\nfull_listing_interval = \"1h\""
        ),
        "[source.groups]\n",
    )
}

#[test]
fn a_value_with_non_ascii_at_the_prefix_boundary_stops_nothing() {
    let slapd = active_directory();
    // "sip:é…": the é straddles byte 5, where "smtp:" would end.
    slapd.modify(
        "dn: CN=Dana Scully,ou=Staff,dc=example,dc=com\nchangetype: modify\nadd: proxyAddresses\n\
         proxyAddresses: sip:é.user@corp.example.com\nproxyAddresses: smtp:dané@corp.example.com\n",
    );
    let server = start(active_directory_config(&slapd));
    let all = cards(&server);
    assert_eq!(all.len(), 4, "{all:#?}");
    let dana = card_named(&all, "Dana Scully");
    assert!(
        dana.contains("EMAIL;TYPE=INTERNET,WORK:dané@corp.example.com"),
        "{dana}"
    );
    assert!(
        !dana.contains("é.user"),
        "a SIP address is not mail: {dana}"
    );
    card_named(&all, "Walter Skinner");
}

#[test]
fn active_directory_preset_over_real_ldap() {
    let slapd = active_directory();
    let server = start(active_directory_config(&slapd));
    let all = cards(&server);
    // The disabled accounts (userAccountControl 514) are left out; the group and the contact
    // object stay.
    assert_eq!(all.len(), 4, "{all:#?}");
    assert!(!all.values().any(|c| c.contains("FN:Former Agent")));
    assert!(!all.values().any(|c| c.contains("FN:Jane Doe")));

    let dana = card_named(&all, "Dana Scully");
    support::vcard::parse_strict(&dana);
    // objectGUID rendered the way AD shows it.
    assert!(
        dana.contains("UID:01010101-1111-2121-0001-020304050607"),
        "{dana}"
    );
    assert!(dana.contains("N:Scully;Dana;K;;"));
    assert!(dana.contains("ORG:Example Corp;Forensics"));
    assert!(dana.contains("TITLE:Special Agent"));
    assert!(
        dana.contains("EMAIL;TYPE=INTERNET,WORK,PREF:dana.scully@example.com"),
        "{dana}"
    );
    assert!(dana.contains("EMAIL;TYPE=INTERNET,WORK:dscully@corp.example.com"));
    assert!(!dana.contains("X400"));
    for number in ["0101", "0102", "0199", "0103", "0104", "0105"] {
        let number = format!("+1202555{number}");
        assert!(dana.contains(&number), "{number} in {dana}");
    }
    assert!(dana.contains("TEL;TYPE=FAX,WORK:+12025550106"), "{dana}");
    assert!(dana.contains(
        "ADR;TYPE=WORK:PO 1013;Basement\\, Room 4;935 Pennsylvania Avenue NW;Washington;DC;20535;United States"
    ), "{dana}");
    assert!(dana.contains("URL:https://example.com/~dscully"), "{dana}");
    assert!(dana.contains("NOTE:Trusts no one."));
    assert!(dana.contains("X-ABRELATEDNAMES:Walter Skinner"));
    assert_eq!(jpeg_size(&photo(&dana)), (96, 96));

    // An external contact (objectClass contact) of the GAL is a card like a user's, its UID
    // the objectGUID. Its manager is a disabled account, outside the book: named from that
    // entry's displayName, not from its DN.
    let fox = card_named(&all, "Fox Mulder");
    support::vcard::parse_strict(&fox);
    assert!(
        fox.contains("UID:06060606-1616-2626-0001-020304050607"),
        "{fox}"
    );
    assert!(fox.contains("N:Mulder;Fox;;;"), "{fox}");
    assert!(fox.contains("ORG:Mulder Consulting"), "{fox}");
    assert!(
        fox.contains("EMAIL;TYPE=INTERNET,WORK,PREF:fox.mulder@consulting.example.org"),
        "{fox}"
    );
    assert!(fox.contains("X-ABRELATEDNAMES:Jane Doe"), "{fox}");
    // A manager whose entry does not exist keeps the name in its DN, unescaped, as written.
    let walter = card_named(&all, "Walter Skinner");
    assert!(
        walter.contains("X-ABRELATEDNAMES:Kersh\\, Alvin"),
        "{walter}"
    );

    let unit = card_named(&all, "X-Files");
    let members = unit
        .lines()
        .filter(|l| l.starts_with("X-ADDRESSBOOKSERVER-MEMBER:"))
        .count();
    assert_eq!(members, 2, "the disabled member is not in the book: {unit}");

    // uSNChanged drives the incremental poll.
    let token = server.token();
    slapd.modify(
        "dn: CN=Walter Skinner,ou=Staff,dc=example,dc=com\nchangetype: modify\nreplace: title\ntitle: Deputy Director\n-\nreplace: uSNChanged\nuSNChanged: 1010\n",
    );
    eventually(&server, "the AD change", || server.token() != token);
    let (changed, _, _) = delta(&server, &token);
    assert_eq!(changed.len(), 1, "only Walter changed");
    assert!(card_named(&cards(&server), "Walter Skinner").contains("TITLE:Deputy Director"));
}

/// The fixture directory with passwords, a non-ASCII login name and `login` config.
fn login_setup(readers_extra: &str) -> (Slapd, Server) {
    let slapd = Slapd::start(&fixture("directory.ldif"), Options::default());
    slapd.modify(&format!(
        "dn: uid=jdoe,{PEOPLE}\nchangetype: modify\nadd: userPassword\nuserPassword: jdoe-pass\n\n\
         dn: uid=asmith,{PEOPLE}\nchangetype: modify\nadd: userPassword\nuserPassword: asmith-pass\n\n\
         dn: uid=jmueller,{PEOPLE}\nchangetype: modify\nadd: uid\nuid: jürgen\n-\nadd: userPassword\nuserPassword: jm-pass\n"
    ));
    let rest = format!(
        r#"
[auth]
mode = "ldap"
[auth.ldap]
source = "directory"
user_base = "{PEOPLE}"
cache_ttl = "1h"

[[addressbook]]
id = "engineering"
sources = ["directory"]
readers = ["group:cn=Engineering, ou=groups,dc=example,dc=com"]
{readers_extra}
"#
    );
    let server = start(config(&slapd, &format!("base = \"{PEOPLE}\""), &rest));
    (slapd, server)
}

fn status_as(server: &Server, user: &str, password: &str, path: &str) -> u16 {
    let auth = basic(user, password);
    server
        .request(
            "PROPFIND",
            path,
            &[("Authorization", &auth), ("Depth", "0")],
            "",
        )
        .status
}

#[test]
fn login_binds_as_the_user_and_groups_guard_books() {
    let (_slapd, server) = login_setup("");
    // By uid, by mail, and by a non-ASCII uid.
    assert_eq!(
        status_as(&server, "jdoe", "jdoe-pass", "/addressbooks/jdoe/staff/"),
        207
    );
    assert_eq!(
        status_as(
            &server,
            "alice.smith@example.com",
            "asmith-pass",
            "/addressbooks/alice.smith@example.com/staff/"
        ),
        207
    );
    assert_eq!(
        status_as(
            &server,
            "jürgen",
            "jm-pass",
            "/addressbooks/j%C3%BCrgen/staff/"
        ),
        207
    );
    // Wrong password, unknown user, empty password (an anonymous bind would "succeed").
    assert_eq!(
        status_as(&server, "jdoe", "wrong", "/addressbooks/jdoe/staff/"),
        401
    );
    assert_eq!(
        status_as(
            &server,
            "nobody",
            "jdoe-pass",
            "/addressbooks/nobody/staff/"
        ),
        401
    );
    assert_eq!(
        status_as(&server, "jdoe", "", "/addressbooks/jdoe/staff/"),
        401
    );
    // A cached success does not let a wrong password through.
    assert_eq!(
        status_as(&server, "jdoe", "jdoe-pass2", "/addressbooks/jdoe/staff/"),
        401
    );

    // Engineering members see the group-guarded book; others do not.
    assert_eq!(
        status_as(
            &server,
            "jdoe",
            "jdoe-pass",
            "/addressbooks/jdoe/engineering/"
        ),
        207
    );
    assert_eq!(
        status_as(
            &server,
            "asmith",
            "asmith-pass",
            "/addressbooks/asmith/engineering/"
        ),
        404
    );
    let auth = basic("asmith", "asmith-pass");
    let home = server.request(
        "PROPFIND",
        "/addressbooks/asmith/",
        &[("Authorization", &auth), ("Depth", "1")],
        "",
    );
    assert_eq!(home.status, 207);
    let hrefs: Vec<String> = Multistatus::parse(&home.body)
        .responses
        .iter()
        .map(|r| r.href.clone())
        .collect();
    assert!(hrefs.iter().any(|h| h.ends_with("/staff/")));
    assert!(
        !hrefs.iter().any(|h| h.ends_with("/engineering/")),
        "{hrefs:?}"
    );
}

/// Nests groups inside Engineering: Platform (groupOfNames, Chidi Okafor, and Engineering
/// again: a cycle) holds Escalation (groupOfUniqueNames, María García), three levels down.
fn nest_groups(slapd: &Slapd) {
    slapd.modify(&format!(
        "dn: cn=Escalation,{GROUPS}\nchangetype: add\nobjectClass: groupOfUniqueNames\ncn: Escalation\n\
         uniqueMember: uid=mgarcia,{PEOPLE}\n\n\
         dn: cn=Platform,{GROUPS}\nchangetype: add\nobjectClass: groupOfNames\ncn: Platform\n\
         member: uid=okafor,{PEOPLE}\nmember: cn=Engineering,{GROUPS}\nmember: cn=Escalation,{GROUPS}\n\n\
         dn: cn=Engineering,{GROUPS}\nchangetype: modify\nadd: member\nmember: cn=Platform,{GROUPS}\n"
    ));
}

#[test]
fn members_of_nested_groups_read_group_guarded_books() {
    let (slapd, server) = login_setup("");
    nest_groups(&slapd);
    slapd.modify(&format!(
        "dn: uid=okafor,{PEOPLE}\nchangetype: modify\nadd: userPassword\nuserPassword: okafor-pass\n\n\
         dn: uid=mgarcia,{PEOPLE}\nchangetype: modify\nadd: userPassword\nuserPassword: mgarcia-pass\n"
    ));
    for (user, password) in [
        ("jdoe", "jdoe-pass"),
        ("okafor", "okafor-pass"),
        ("mgarcia", "mgarcia-pass"),
    ] {
        assert_eq!(
            status_as(
                &server,
                user,
                password,
                &format!("/addressbooks/{user}/engineering/")
            ),
            207,
            "{user}"
        );
    }
    assert_eq!(
        status_as(
            &server,
            "asmith",
            "asmith-pass",
            "/addressbooks/asmith/engineering/"
        ),
        404
    );
}

#[test]
fn group_cards_list_the_people_of_nested_groups() {
    let slapd = Slapd::start(&fixture("directory.ldif"), Options::default());
    nest_groups(&slapd);
    let server = start(config(
        &slapd,
        &format!("base = \"{PEOPLE}\""),
        &format!("[source.groups]\nbase = \"{GROUPS}\"\n"),
    ));
    let all = cards(&server);
    let uid = |name: &str| {
        card_named(&all, name)
            .lines()
            .find_map(|l| l.strip_prefix("UID:").map(str::to_string))
            .expect("UID")
    };
    let members = |name: &str| -> Vec<String> {
        let mut m: Vec<String> = card_named(&all, name)
            .lines()
            .filter_map(|l| l.strip_prefix("X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:"))
            .map(str::to_string)
            .collect();
        m.sort();
        m
    };
    let people = |names: &[&str]| -> Vec<String> {
        let mut u: Vec<String> = names.iter().map(|n| uid(n)).collect();
        u.sort();
        u
    };
    // Flattened: the people of the inner groups, not the inner groups' cards; the cycle
    // (Platform holds Engineering) ends.
    let engineers = people(&[
        "John Doe",
        "Jürgen Müller",
        "Li Chen",
        "Chidi Okafor",
        "María José García López",
    ]);
    assert_eq!(members("Engineering"), engineers);
    assert_eq!(members("Platform"), engineers);
    assert_eq!(members("Escalation"), people(&["María José García López"]));
}

#[test]
fn filter_injection_in_user_names_gets_nowhere() {
    let (_slapd, server) = login_setup("");
    // Each would match users (or everyone) if it reached the filter unescaped; with the
    // right password of some user they must still be refused.
    for user in [
        "*",
        "jd*",
        ")(uid=*",
        "jdoe)(uid=*",
        "*)(|(uid=*",
        "jdoe\0",
        "\\2a",
    ] {
        assert_eq!(
            status_as(&server, user, "jdoe-pass", "/addressbooks/x/staff/"),
            401,
            "{user:?}"
        );
    }
}

#[test]
fn an_unreachable_directory_is_503_not_401() {
    let (mut slapd, server) = login_setup("");
    assert_eq!(
        status_as(&server, "jdoe", "jdoe-pass", "/addressbooks/jdoe/staff/"),
        207
    );
    slapd.stop();
    // A new login cannot be checked: try later, do not ask for a new password.
    let auth = basic("asmith", "asmith-pass");
    let r = server.request(
        "PROPFIND",
        "/addressbooks/asmith/staff/",
        &[("Authorization", &auth), ("Depth", "0")],
        "",
    );
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.header("Retry-After").is_some());
    assert!(r.text().contains("directory is unavailable"));
    // The recent login is remembered, so a polling phone keeps syncing during the outage.
    assert_eq!(
        status_as(&server, "jdoe", "jdoe-pass", "/addressbooks/jdoe/staff/"),
        207
    );
}

#[test]
fn config_errors_name_the_problem() {
    let slapd_url = "ldap://127.0.0.1:1";
    let bad = [
        (
            "[[source]]\nid = \"d\"\nkind = \"ldap\"\nbase = \"dc=x\"\n[source.server]\nurl = \"http://x\"\n".to_string(),
            "must start with ldap:// or ldaps://",
        ),
        (
            format!("[[source]]\nid = \"d\"\nkind = \"ldap\"\nbase = \"dc=x\"\nfilter = \"objectClass=*\"\n[source.server]\nurl = \"{slapd_url}\"\n"),
            "must be enclosed in parentheses",
        ),
        (
            format!("[[source]]\nid = \"d\"\nkind = \"ldap\"\nbase = \"dc=x\"\n[source.attributes]\nmobil = \"mobile\"\n[source.server]\nurl = \"{slapd_url}\"\n"),
            "attributes.mobil: unknown field",
        ),
        (
            format!("[[source]]\nid = \"d\"\nkind = \"ldap\"\nbase = \"dc=x\"\nbind_dn = \"cn=x\"\n[source.server]\nurl = \"{slapd_url}\"\n"),
            "unknown field `bind_dn`",
        ),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (source, expected) in bad {
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            format!("{source}\n[[addressbook]]\nid = \"b\"\nsources = [\"d\"]\n"),
        )
        .expect("write");
        let (code, _, stderr) =
            support::server::run_cli(&["check", "-c", &path.display().to_string()]);
        assert_ne!(code, 0);
        assert!(stderr.contains(expected), "{expected:?} in {stderr}");
        assert!(stderr.contains("c.toml"), "names the file: {stderr}");
    }
}
