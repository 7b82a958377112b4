//! The LDAP source and LDAP login against a real Active Directory: Samba's AD DC (see
//! support/samba.rs), provisioned once and shared by these tests, each in OUs of its own.
//! What AD does that a hand-written schema on slapd does not: objectGUID and uSNChanged kept
//! by the server, disabled accounts and computers as `user` objects, contacts, escaped DNs
//! in manager links, nested groups, a group of more than 1,500 members, its own certificate.

mod support;

use std::collections::BTreeMap;

use base64::Engine;
use support::cards::{all as cards, delta, eventually, get, jpeg_size, photo};
use support::http::basic;
use support::samba::{SambaDc, ADMIN_DN, BASE};
use support::{Server, ServerSpec};

/// Members of the big group: past the 1,500 values AD returns of one attribute at once.
const BULK_USERS: usize = 1600;

fn ou(name: &str) -> String {
    format!("OU={name},{BASE}")
}

/// The base64 JPEG of `dn` in the LDAP fixture directory (a 96 px and a 1200 px photo).
fn fixture_photo(dn: &str) -> String {
    let ldif = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ldap/directory.ldif"
    ))
    .expect("fixture");
    let entry = ldif
        .split("\n\n")
        .find(|e| e.starts_with(&format!("dn: {dn}\n")))
        .unwrap_or_else(|| panic!("{dn} in the fixture"));
    entry
        .lines()
        .find_map(|l| l.strip_prefix("jpegPhoto:: "))
        .expect("photo")
        .to_string()
}

/// An AD password as `unicodePwd` takes it: the quoted password in UTF-16LE, base64.
fn unicode_pwd(password: &str) -> String {
    let utf16: Vec<u8> = format!("\"{password}\"")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    base64::engine::general_purpose::STANDARD.encode(utf16)
}

/// An enabled user (userAccountControl 512) that can log in with `password`.
fn login_user(dn: &str, sam: &str, password: &str, rest: &str) -> String {
    format!(
        "dn: {dn}\nobjectClass: user\nsAMAccountName: {sam}\nuserPrincipalName: {sam}@corp.example.com\n\
         unicodePwd:: {}\nuserAccountControl: 512\n{rest}\n\n",
        unicode_pwd(password)
    )
}

/// The whole test directory, as LDIF add records.
fn directory() -> String {
    let staff = ou("Staff");
    let mut ldif = String::new();
    for name in ["Staff", "Intl", "Vendors", "Deltas", "Access", "Bulk"] {
        ldif.push_str(&format!(
            "dn: OU={name},{BASE}\nobjectClass: organizationalUnit\n\n"
        ));
    }
    // Staff. Disabled accounts (userAccountControl 514), both managers of someone in the book;
    // AD checks that a manager exists, so managers come first.
    for (cn, given, family) in [
        ("Walter Skinner", "Walter", "Skinner"),
        ("Roe\\, Richard", "Richard", "Roe"),
    ] {
        ldif.push_str(&format!(
            "dn: CN={cn},{staff}\nobjectClass: user\nsAMAccountName: {}\ngivenName: {given}\nsn: {family}\n\
             displayName: {given} {family}\nuserAccountControl: 514\n\n",
            family.to_lowercase()
        ));
    }
    // Every field AD has for a person, photos, managers in and outside the book.
    ldif.push_str(&login_user(
        &format!("CN=Doe\\, Jane,{staff}"),
        "jdoe",
        "Jane-pass-1",
        &format!(
            "givenName: Jane\nsn: Doe\ndisplayName: Jane Doe\nmail: jane.doe@corp.example.com\n\
             title: Director\nmanager: CN=Walter Skinner,{staff}"
        ),
    ));
    ldif.push_str(&login_user(
        &format!("CN=Jürgen Müller,{staff}"),
        "jmüller",
        "Juergen-pass-1",
        &format!(
            "givenName: Jürgen\nsn: Müller\ndisplayName: Jürgen Müller\n\
             mail: juergen.mueller@corp.example.com\ntelephoneNumber: +49 30 5550 1003\n\
             streetAddress: Hauptstraße 5\nl: Berlin\nco: Deutschland\n\
             manager: CN=Roe\\, Richard,{staff}\njpegPhoto:: {}",
            fixture_photo("uid=jmueller,ou=people,dc=example,dc=com")
        ),
    ));
    ldif.push_str(&login_user(
        &format!("CN=Dana Scully,{staff}"),
        "dscully",
        "Dana-pass-1",
        &format!(
            "givenName: Dana\nsn: Scully\ninitials: K\ndisplayName: Dana Scully\n\
             mail: dana.scully@corp.example.com\n\
             proxyAddresses: SMTP:dana.scully@corp.example.com\nproxyAddresses: smtp:dscully@corp.example.com\n\
             proxyAddresses: X400:c=US;a= ;p=Corp;o=Exchange;s=Scully;g=Dana;\n\
             telephoneNumber: +1 202 555 0101\notherTelephone: +1 202 555 0102\nmobile: +1 202 555 0103\n\
             otherMobile: +1 202 555 0104\nhomePhone: +1 202 555 0105\npager: +1 202 555 0106\n\
             ipPhone: +1 202 555 0107\nfacsimileTelephoneNumber: +1 202 555 0108\n\
             company: Corp\ndepartment: Forensics\ntitle: Special Agent\n\
             physicalDeliveryOfficeName: Basement, Room 4\nstreetAddress: 935 Pennsylvania Avenue NW\n\
             postOfficeBox: PO 1013\nl: Washington\nst: DC\npostalCode: 20535\nco: United States\nc: US\n\
             wWWHomePage: https://corp.example.com/~dscully\ninfo: Trusts no one.\n\
             manager: CN=Doe\\, Jane,{staff}\nthumbnailPhoto:: {}",
            fixture_photo("uid=asmith,ou=people,dc=example,dc=com")
        ),
    ));
    ldif.push_str(&format!(
        "dn: CN=WS0001,{staff}\nobjectClass: computer\nsAMAccountName: WS0001$\nuserAccountControl: 4096\n\n\
         dn: CN=X-Files,{staff}\nobjectClass: group\nsAMAccountName: xfiles\ndescription: Unit\n\
         member: CN=Dana Scully,{staff}\nmember: CN=Doe\\, Jane,{staff}\nmember: CN=Walter Skinner,{staff}\n\n"
    ));
    // Intl: proxyAddresses that are not ASCII, one with é right after the 4-byte prefix.
    ldif.push_str(&format!(
        "dn: CN=Élodie Sip,{}\nobjectClass: user\nsAMAccountName: esip\ngivenName: Élodie\nsn: Sip\n\
         displayName: Élodie Sip\nuserAccountControl: 544\n\
         proxyAddresses: sip:é.user@corp.example.com\nproxyAddresses: SMTP:elodie.sip@corp.example.com\n\
         proxyAddresses: smtp:élodie@corp.example.com\n\n",
        ou("Intl")
    ));
    // Vendors: a contact object (no account) next to an enabled user.
    ldif.push_str(&format!(
        "dn: CN=Acme Support,{v}\nobjectClass: contact\ndisplayName: Acme Support\ngivenName: Acme\nsn: Support\n\
         mail: support@acme.example\ntelephoneNumber: +1 212 555 0150\ncompany: Acme\n\n\
         dn: CN=Vera Vendor,{v}\nobjectClass: user\nsAMAccountName: vvendor\ndisplayName: Vera Vendor\n\
         userAccountControl: 544\n\n",
        v = ou("Vendors")
    ));
    // Deltas: changed and deleted by the delta test only.
    for n in ["One", "Two", "Three"] {
        ldif.push_str(&format!(
            "dn: CN=Delta {n},{}\nobjectClass: user\nsAMAccountName: delta{}\ndisplayName: Delta {n}\n\
             title: Analyst\nuserAccountControl: 544\n\n",
            ou("Deltas"),
            n.to_lowercase()
        ));
    }
    // Access: Engineering holds Jürgen directly and Jane through Platform.
    let access = ou("Access");
    ldif.push_str(&format!(
        "dn: CN=Platform,{access}\nobjectClass: group\nsAMAccountName: platform\nmember: CN=Doe\\, Jane,{staff}\n\n\
         dn: CN=Engineering,{access}\nobjectClass: group\nsAMAccountName: engineering\n\
         member: CN=Jürgen Müller,{staff}\nmember: CN=Platform,{access}\n\n"
    ));
    // Bulk: the big group and its members; the last member can log in.
    let bulk = ou("Bulk");
    let mut members = String::new();
    for i in 1..=BULK_USERS {
        let dn = format!("CN=Member {i:04},{bulk}");
        let rest = format!("displayName: Member {i:04}\nmail: member{i:04}@corp.example.com");
        if i == BULK_USERS {
            ldif.push_str(&login_user(&dn, &format!("member{i:04}"), "Member-pass-1", &rest));
        } else {
            ldif.push_str(&format!(
                "dn: {dn}\nobjectClass: user\nsAMAccountName: member{i:04}\nuserAccountControl: 544\n{rest}\n\n"
            ));
        }
        members.push_str(&format!("member: {dn}\n"));
    }
    ldif.push_str(&format!(
        "dn: CN=All Hands,{bulk}\nobjectClass: group\nsAMAccountName: allhands\n{members}\n"
    ));
    ldif
}

fn dc() -> &'static SambaDc {
    SambaDc::shared(directory)
}

/// A config with the AD source `directory` over `base` feeding the book `staff`;
/// `source_extra` goes into the source table, `rest` after it (auth, more books).
fn config(dc: &SambaDc, url: &str, base: &str, source_extra: &str, rest: &str) -> String {
    format!(
        r#"
[server]
listen = ["127.0.0.1:{{PORT}}"]

[[source]]
id = "directory"
kind = "ldap"
preset = "active-directory"
base = "{base}"
poll_interval = "1s"
check_interval = "1s"
timeout = "20s"
default_region = "US"
{source_extra}

[source.server]
url = "{url}"
bind_dn = "{ADMIN_DN}"
bind_password_file = "{}"
timeout = "10s"

{rest}

[[addressbook]]
id = "staff"
name = "Directory"
sources = ["directory"]
"#,
        dc.password_file().display()
    )
}

fn start(config: String) -> Server {
    Server::start(ServerSpec {
        config,
        files: vec![],
    })
}

/// A server publishing the AD source over `base`, groups included.
fn serve(base: &str) -> Server {
    let dc = dc();
    start(config(dc, &dc.url(), base, "[source.groups]", ""))
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

fn names(cards: &BTreeMap<String, String>) -> Vec<String> {
    let mut names: Vec<String> = cards
        .values()
        .filter_map(|c| c.lines().find_map(|l| l.strip_prefix("FN:")))
        .map(str::to_string)
        .collect();
    names.sort();
    names
}

#[test]
fn people_and_groups_become_cards_with_every_ad_field() {
    let server = serve(&ou("Staff"));
    let all = cards(&server);
    // Disabled accounts and the computer are left out.
    assert_eq!(
        names(&all),
        ["Dana Scully", "Jane Doe", "Jürgen Müller", "X-Files"],
        "{all:#?}"
    );
    let dana = card_named(&all, "Dana Scully");
    support::vcard::parse_strict(&dana);
    eprintln!("{dana}");
}
