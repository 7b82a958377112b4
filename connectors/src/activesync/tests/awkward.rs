//! Real-world shapes of exports: default namespaces as Syncroton/tine20 and Z-Push write
//! them, Sync responses that mix collections, birthdays from the far east of the date line,
//! bare IM addresses, repeated fields, damaged files in a folder and hostile sizes.

use super::*;

/// A Sync response with one Add in collection 2, written with namespace declarations `decl`
/// on the root and the contact fields under `prefix` (empty: default namespace inherited).
fn sync_doc(decl: &str, prefix: &str, airsync_prefix: &str) -> String {
    let a = airsync_prefix;
    let c = prefix;
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<{a}Sync {decl}><{a}Collections><{a}Collection><{a}SyncKey>3</{a}SyncKey>
<{a}CollectionId>2</{a}CollectionId><{a}Status>1</{a}Status><{a}Commands><{a}Add>
<{a}ServerId>2:1</{a}ServerId><{a}ApplicationData>
<{c}FirstName>Ann</{c}FirstName><{c}LastName>Lee</{c}LastName>
<{c}Email1Address>ann@example.com</{c}Email1Address>
</{a}ApplicationData></{a}Add></{a}Commands></{a}Collection></{a}Collections></{a}Sync>"#
    )
}

#[test]
fn default_namespace_styles_are_read() {
    let reference =
        contacts_of(sync_doc(r#"xmlns="AirSync:" xmlns:c="Contacts:""#, "c:", "").as_bytes());
    assert_eq!(reference.len(), 1);
    assert_eq!(reference[0].name.given, vec!["Ann"]);
    for (decl, prefix, airsync) in [
        // Syncroton (tine20, Kolab): `uri:` namespaces, capitalised prefixes.
        (
            r#"xmlns="uri:AirSync" xmlns:Contacts="uri:Contacts""#,
            "Contacts:",
            "",
        ),
        // MS-ASCMD examples: bare namespace names.
        (
            r#"xmlns="AirSync" xmlns:contacts="Contacts""#,
            "contacts:",
            "",
        ),
        (
            r#"xmlns="AirSync:" xmlns:contacts="Contacts""#,
            "contacts:",
            "",
        ),
        // Z-Push's own namespace names.
        (
            r#"xmlns="AirSync:" xmlns:POOMCONTACTS="POOMCONTACTS:""#,
            "POOMCONTACTS:",
            "",
        ),
        // libwbxml's SynCE table.
        (
            r#"xmlns="http://synce.org/formats/airsync_wm5/airsync" xmlns:c="http://synce.org/formats/airsync_wm5/contacts""#,
            "c:",
            "",
        ),
        // Prefixed AirSync, contacts in the default namespace.
        (r#"xmlns:A="uri:AirSync" xmlns="uri:Contacts""#, "", "A:"),
    ] {
        let doc = sync_doc(decl, prefix, airsync);
        let parsed = ActiveSyncSource::parse_file(doc.as_bytes(), &options())
            .map(|_| ())
            .map_err(|e| format!("{decl}: {e}"));
        assert_eq!(parsed, Ok(()));
        assert_eq!(contacts_of(doc.as_bytes()), reference, "{decl}");
    }
    // Default namespace declared on each field, as libwbxml prints it.
    let per_element = r#"<Sync xmlns="uri:AirSync"><Collections><Collection>
<CollectionId>2</CollectionId><Commands><Add><ServerId>2:1</ServerId><ApplicationData>
<FirstName xmlns="uri:Contacts">Ann</FirstName><LastName xmlns="Contacts:">Lee</LastName>
<Email1Address xmlns="Contacts">ann@example.com</Email1Address>
</ApplicationData></Add></Commands></Collection></Collections></Sync>"#;
    assert_eq!(contacts_of(per_element.as_bytes()), reference);
}

/// Z-Push-style response: an Email collection, the Contacts collection, a Calendar one.
const MIXED: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Sync xmlns="AirSync:" xmlns:POOMMAIL="POOMMAIL:" xmlns:POOMCONTACTS="POOMCONTACTS:"
      xmlns:POOMCAL="POOMCAL:">
<Collections>
 <Collection><SyncKey>7</SyncKey><CollectionId>5</CollectionId><Status>1</Status><Commands>
  <Add><ServerId>5:1</ServerId><ApplicationData>
   <POOMMAIL:Subject>Lunch?</POOMMAIL:Subject><POOMMAIL:From>bob@example.com</POOMMAIL:From>
  </ApplicationData></Add>
  <Add><ServerId>5:2</ServerId><ApplicationData>
   <POOMMAIL:Subject>Re: Lunch?</POOMMAIL:Subject>
  </ApplicationData></Add>
 </Commands></Collection>
 <Collection><SyncKey>3</SyncKey><CollectionId>2</CollectionId><Status>1</Status><Commands>
  <Add><ServerId>2:1</ServerId><ApplicationData>
   <POOMCONTACTS:FirstName>Ann</POOMCONTACTS:FirstName>
   <POOMCONTACTS:LastName>Lee</POOMCONTACTS:LastName>
  </ApplicationData></Add>
 </Commands></Collection>
 <Collection><Class>Calendar</Class><SyncKey>9</SyncKey><CollectionId>8</CollectionId>
  <Status>1</Status><Commands>
  <Add><ServerId>8:1</ServerId><ApplicationData>
   <POOMCAL:Subject>Standup</POOMCAL:Subject>
  </ApplicationData></Add>
 </Commands></Collection>
</Collections></Sync>"#;

#[test]
fn mixed_collections_keep_the_contacts_with_one_note() {
    let dir = Scratch::new();
    let path = dir.write("mixed.xml", MIXED.as_bytes());
    let outcome = load(&path).expect("loads");
    let names: Vec<&Vec<String>> = outcome.contacts.iter().map(|c| &c.name.given).collect();
    assert_eq!(names, vec![&vec!["Ann".to_string()]]);
    assert_eq!(outcome.skipped.len(), 1, "{:?}", outcome.skipped);
    let note = &outcome.skipped[0];
    assert_eq!(note.location, path.display().to_string());
    assert!(
        note.reason.contains("CollectionId 5") && note.reason.contains("CollectionId 8"),
        "{note}"
    );
    assert!(note.reason.contains("not contacts"), "{note}");

    // The same in WBXML: Email (page 2) collection, then the contacts one.
    let mut wbxml = vec![0x03, 0x01, 0x6A, 0x00, 0x45, 0x5C];
    wbxml.extend_from_slice(&[0x4F, 0x52, 0x03, b'5', 0x00, 0x01, 0x56, 0x47, 0x4D]);
    wbxml.extend_from_slice(&[0x03, b'5', b':', b'1', 0x00, 0x01, 0x5D, 0x00, 0x02, 0x54]);
    wbxml.extend_from_slice(&[
        0x03, b'H', b'i', 0x00, 0x01, 0x00, 0x00, 0x01, 0x01, 0x01, 0x01,
    ]);
    wbxml.extend_from_slice(&[0x4F, 0x52, 0x03, b'2', 0x00, 0x01, 0x56, 0x47, 0x4D]);
    wbxml.extend_from_slice(&[0x03, b'2', b':', b'1', 0x00, 0x01, 0x5D, 0x00, 0x01, 0x5F]);
    wbxml.extend_from_slice(&[0x03, b'A', b'n', b'n', 0x00, 0x01, 0x00, 0x00]);
    wbxml.extend_from_slice(&[0x01, 0x01, 0x01, 0x01, 0x01, 0x01]);
    let path = dir.write("mixed.wbxml", &wbxml);
    let outcome = load(&path).expect("loads");
    assert_eq!(outcome.contacts.len(), 1);
    assert_eq!(outcome.contacts[0].name.given, vec!["Ann"]);
    assert_eq!(outcome.skipped.len(), 1, "{:?}", outcome.skipped);
    assert!(outcome.skipped[0].reason.contains("CollectionId 5 (Email)"));
}

#[test]
fn only_other_collections_is_an_error() {
    let email_only = r#"<Sync xmlns="AirSync:" xmlns:email="Email:"><Collections><Collection>
<CollectionId>5</CollectionId><Commands><Add><ServerId>5:1</ServerId><ApplicationData>
<email:Subject>Hi</email:Subject></ApplicationData></Add></Commands></Collection>
</Collections></Sync>"#;
    let err = parse_error(email_only.as_bytes());
    assert!(
        err.contains("CollectionId 5") && err.contains("no contacts"),
        "{err}"
    );
}

#[test]
fn far_east_birthdays_keep_their_day() {
    let doc = |birthday: &str| {
        format!(
            r#"<Sync xmlns="uri:AirSync" xmlns:c="uri:Contacts"><Collections><Collection>
<CollectionId>2</CollectionId><Commands><Add><ServerId>2:1</ServerId><ApplicationData>
<c:FirstName>Mere</c:FirstName><c:Birthday>{birthday}</c:Birthday>
</ApplicationData></Add></Commands></Collection></Collections></Sync>"#
        )
    };
    for (stored, expected) in [
        // Midnight of 1 August in New Zealand summer / Tonga (UTC+13).
        ("2009-07-31T11:00:00.000Z", date(Some(2009), 8, 1)),
        // Kiribati Line Islands (UTC+14).
        ("2009-07-31T10:00:00.000Z", date(Some(2009), 7, 31)),
        // Chatham Islands summer (UTC+13:45).
        ("2009-07-31T10:15:00.000Z", date(Some(2009), 8, 1)),
        // New Zealand winter, Fiji (UTC+12).
        ("2009-07-31T12:00:00.000Z", date(Some(2009), 8, 1)),
    ] {
        let contacts = contacts_of(doc(stored).as_bytes());
        assert_eq!(contacts[0].birthday, expected, "{stored}");
    }
}

#[test]
fn bare_im_address_gains_no_scheme() {
    let doc = r#"<Sync xmlns="AirSync:" xmlns:c="Contacts:" xmlns:c2="Contacts2:"><Collections>
<Collection><CollectionId>2</CollectionId><Commands><Add><ServerId>2:1</ServerId>
<ApplicationData><c:FirstName>Ann</c:FirstName>
<c2:IMAddress>ann@jabber.example.org</c2:IMAddress>
<c2:IMAddress2>xmpp:ann@example.org</c2:IMAddress2>
</ApplicationData></Add></Commands></Collection></Collections></Sync>"#;
    let contacts = contacts_of(doc.as_bytes());
    let uris: Vec<&str> = contacts[0].impps.iter().map(|i| i.uri.as_str()).collect();
    assert_eq!(uris, vec!["ann@jabber.example.org", "xmpp:ann@example.org"]);
}

#[test]
fn repeated_field_keeps_the_first_and_says_so() {
    let doc = r#"<Sync xmlns="AirSync:" xmlns:c="Contacts:"><Collections><Collection>
<CollectionId>2</CollectionId><Commands><Add><ServerId>2:7</ServerId><ApplicationData>
<c:FirstName>Ann</c:FirstName>
<c:Email1Address>first@example.com</c:Email1Address>
<c:Email1Address>second@example.com</c:Email1Address>
</ApplicationData></Add></Commands></Collection></Collections></Sync>"#;
    let dir = Scratch::new();
    let path = dir.write("dup.xml", doc.as_bytes());
    let outcome = load(&path).expect("loads");
    let emails: Vec<&str> = outcome.contacts[0]
        .emails
        .iter()
        .map(|e| e.address.as_str())
        .collect();
    assert_eq!(emails, vec!["first@example.com"]);
    assert_eq!(outcome.skipped.len(), 1, "{:?}", outcome.skipped);
    let note = &outcome.skipped[0];
    assert!(note.location.contains("dup.xml") && note.location.contains("ServerId 2:7"));
    assert!(
        note.reason.contains("Email1Address") && note.reason.contains("second@example.com"),
        "{note}"
    );
}

#[test]
fn a_damaged_file_keeps_its_last_good_contacts_until_it_reads_again() {
    let dir = Scratch::new();
    dir.write("01-sync.wbxml", &fixture("sync-response.wbxml"));
    let gal = dir.write("02-gal.xml", &fixture("gal-search-response.xml"));
    let source = ActiveSyncSource::new("eas".into(), settings(&dir.0)).expect("settings");
    let good = Collected::of(|i| source.load(&Cancel::default(), i)).expect("loads");
    assert_eq!(good.contacts.len(), 7);

    let text = fixture("gal-search-response.xml");
    dir.write("02-gal.xml", &text[..text.len() / 2]);
    let damaged = Collected::of(|i| source.load(&Cancel::default(), i)).expect("loads");
    assert_eq!(damaged.contacts, good.contacts);
    assert_eq!(damaged.skipped.len(), 1, "{:?}", damaged.skipped);
    assert_eq!(damaged.skipped[0].location, gal.display().to_string());
    assert!(
        damaged.skipped[0].reason.contains("last good"),
        "{}",
        damaged.skipped[0]
    );

    // An empty file (an exporter caught between truncating and writing) is damaged too.
    std::fs::remove_file(&gal).expect("remove");
    std::fs::write(&gal, b"").expect("empty");
    assert_eq!(
        Collected::of(|i| source.load(&Cancel::default(), i))
            .expect("loads")
            .contacts,
        good.contacts
    );

    dir.write("02-gal.xml", &fixture("gal-search-response.xml"));
    assert_eq!(
        Collected::of(|i| source.load(&Cancel::default(), i))
            .expect("loads")
            .contacts,
        good.contacts
    );

    // A file taken out of the folder takes its contacts with it.
    std::fs::remove_file(&gal).expect("remove");
    assert_eq!(
        Collected::of(|i| source.load(&Cancel::default(), i))
            .expect("loads")
            .contacts
            .len(),
        5
    );
    dir.write("02-gal.xml", b"<Search");
    assert_eq!(
        Collected::of(|i| source.load(&Cancel::default(), i))
            .expect("loads")
            .contacts
            .len(),
        5,
        "a damaged file that never read has nothing to keep"
    );
}

/// A WBXML document whose string table holds `table_len` bytes of text and whose Status
/// element references it `refs` times.
fn string_table_bomb(table_len: usize, refs: usize) -> Vec<u8> {
    let mut v = vec![0x03, 0x01, 0x6A];
    let mut len = Vec::new();
    let mut n = table_len + 1;
    len.push((n & 0x7F) as u8);
    n >>= 7;
    while n > 0 {
        len.insert(0, 0x80 | (n & 0x7F) as u8);
        n >>= 7;
    }
    v.extend(len);
    v.extend(std::iter::repeat_n(b'x', table_len));
    v.push(0);
    v.extend_from_slice(&[0x45, 0x4E]);
    for _ in 0..refs {
        v.extend_from_slice(&[0x83, 0x00]);
    }
    v.extend_from_slice(&[0x01, 0x01]);
    v
}

#[test]
fn string_table_references_cannot_multiply_memory() {
    let bomb = string_table_bomb(16 * 1024, 4096);
    // 24 KiB of input would decode to 64 MiB of text.
    let err = parse_error(&bomb);
    assert!(
        err.starts_with("WBXML, byte ") && err.contains("decoded text would exceed"),
        "{err}"
    );
    // A reference past the end of the table.
    let mut bytes = string_table_bomb(8, 1);
    let refs = bytes.len() - 4;
    bytes[refs + 1] = 0x09;
    let err = parse_error(&bytes);
    assert!(err.contains("outside the table"), "{err}");
}

#[test]
fn a_folder_of_one_bad_file_names_the_file() {
    let dir = Scratch::new();
    let bomb = dir.write("bomb.wbxml", &string_table_bomb(16 * 1024, 4096));
    let err = load(&dir.0).expect_err("nothing usable").to_string();
    assert!(
        err.contains(&format!("{}: WBXML, byte ", bomb.display())),
        "{err}"
    );
}

#[test]
fn xml_element_count_is_capped() {
    // Parents of a thousand empty elements each, so no single child list grows huge.
    let mut doc = String::from("<Sync xmlns=\"AirSync:\"><Collections>");
    let parent = format!("<Collection>{}</Collection>", "<a/>".repeat(999));
    for _ in 0..=tree::MAX_ELEMENTS / 1000 {
        doc.push_str(&parent);
    }
    doc.push_str("</Collections></Sync>");
    let err = parse_error(doc.as_bytes());
    assert!(
        err.contains(&format!("more than {} elements", tree::MAX_ELEMENTS)),
        "{err}"
    );
}

#[test]
fn public_example_shapes_load() {
    for (name, people, notes) in [
        ("ms-ascntc-sync-contacts.xml", &["Jeff", "Chris"][..], 0),
        ("ms-ascmd-search-gal.xml", &["Jan"][..], 0),
        ("syncroton-sync-mixed.xml", &["Aroha", "Sione"][..], 1),
        ("zpush-sync-mixed.xml", &["Losaline"][..], 1),
    ] {
        let dir = Scratch::new();
        let path = dir.write(name, &fixture(name));
        let outcome = load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let given: Vec<&str> = outcome
            .contacts
            .iter()
            .filter_map(|c| c.name.given.first().map(String::as_str))
            .collect();
        assert_eq!(given, people, "{name}");
        assert_eq!(
            outcome.skipped.len(),
            notes,
            "{name}: {:?}",
            outcome.skipped
        );
    }
    let zpush = contacts_of(&fixture("zpush-sync-mixed.xml"));
    assert_eq!(
        zpush[0].birthday,
        date(Some(1990), 2, 15),
        "midnight in Tonga"
    );
    assert_eq!(zpush[0].nicknames, vec!["Losa"]);
    let mscmd = contacts_of(&fixture("ms-ascntc-sync-contacts.xml"));
    assert_eq!(mscmd[1].birthday, date(Some(1975), 10, 8));
    assert_eq!(mscmd[0].emails[0].address, "jeffhay@contoso.com");
}
