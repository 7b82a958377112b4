//! libwbxml as an independent encoder: EAS XML documents encoded by its `xml2wbxml`
//! (Debian's libwbxml2-utils, ACTIVESYNC table, WBXML 1.3, with a string table) must give
//! the same contacts through cardbridge's WBXML decoder as the XML itself gives.

use std::process::Command;

use super::*;

const DOCTYPE: &str = "<!DOCTYPE ActiveSync PUBLIC \"-//MICROSOFT//DTD ActiveSync//EN\" \
                       \"http://www.microsoft.com/\">";

/// The XML with libwbxml's ActiveSync DOCTYPE (which picks its code pages) after the
/// declaration, encoded by `xml2wbxml` with `args`.
fn xml2wbxml(xml: &[u8], args: &[&str]) -> Vec<u8> {
    let text = std::str::from_utf8(xml).expect("UTF-8 fixture");
    let body = match text.find("?>") {
        Some(end) if text.starts_with("<?xml") => text.get(end + 2..).unwrap_or_default(),
        _ => text,
    };
    let dir = Scratch::new();
    let input = dir.write(
        "in.xml",
        format!("<?xml version=\"1.0\"?>\n{DOCTYPE}{body}").as_bytes(),
    );
    let output = dir.0.join("out.wbxml");
    let run = Command::new("xml2wbxml")
        .args(args)
        .arg("-o")
        .arg(&output)
        .arg(&input)
        .output()
        .unwrap_or_else(|e| {
            panic!("xml2wbxml: {e} (install libwbxml2-utils: scripts/setup.sh test)")
        });
    assert!(
        run.status.success(),
        "xml2wbxml failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read(&output).expect("xml2wbxml output")
}

#[test]
fn libwbxml_encodings_decode_to_the_same_contacts() {
    for name in [
        "sync-response.xml",
        "gal-search-response.xml",
        "ms-ascntc-sync-contacts.xml",
        "ms-ascmd-search-gal.xml",
    ] {
        let xml = fixture(name);
        let expected = contacts_of(&xml);
        assert!(!expected.is_empty(), "{name}");
        for args in [&["-v", "1.3"][..], &["-v", "1.3", "-a"][..]] {
            let wbxml = xml2wbxml(&xml, args);
            assert!(
                wbxml.contains(&0x83),
                "{name}: expected string table references"
            );
            assert_eq!(contacts_of(&wbxml), expected, "{name} {args:?}");
        }
    }
}

/// libwbxml's decoder reads cardbridge's WBXML fixtures back to the same contacts.
#[test]
fn libwbxml_decodes_the_wbxml_fixtures_alike() {
    for (wbxml, xml) in [
        ("sync-response.wbxml", "sync-response.xml"),
        ("gal-search-response.wbxml", "gal-search-response.xml"),
    ] {
        let dir = Scratch::new();
        let input = dir.write("in.wbxml", &fixture(wbxml));
        let run = Command::new("wbxml2xml")
            .args(["-l", "ACTIVESYNC", "-o", "-"])
            .arg(&input)
            .output()
            .expect("wbxml2xml (libwbxml2-utils)");
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let printed = String::from_utf8(run.stdout).expect("UTF-8");
        let end = printed.rfind('>').map_or(0, |i| i + 1);
        let printed = printed.get(..end).unwrap_or_default();
        assert_eq!(
            contacts_of(printed.as_bytes()),
            contacts_of(&fixture(xml)),
            "{wbxml}"
        );
    }
}

/// libwbxml's own test data (its `test/tools/activesync/activesync-040-search-response.xml`,
/// a GAL Search response with a picture, written by that project for its encoder's tests):
/// read as its XML and as libwbxml encodes it, it gives the same one contact, its odd phone
/// numbers published as written and its picture as a JPEG.
#[test]
fn libwbxml_s_own_gal_search_response_reads_alike_in_both_forms() {
    let xml = fixture("libwbxml-activesync-040-search-response.xml");
    let contacts = contacts_of(&xml);
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    let person = &contacts[0];
    assert_eq!(person.formatted_name, "xxx yyy");
    assert_eq!(person.name.given, ["xxx"]);
    assert_eq!(person.name.family, ["yyy"]);
    let emails: Vec<&str> = person.emails.iter().map(|e| e.address.as_str()).collect();
    assert_eq!(emails, ["tfu@aon.at"]);
    let phones: Vec<&str> = person.phones.iter().map(|p| p.number.as_str()).collect();
    assert_eq!(phones, ["+0 (999) 99999", "++0 (999) 99999"]);
    let photo = person.photo.as_ref().expect("the picture");
    assert_eq!(photo.media_type, "image/jpeg");
    assert!(photo.data.starts_with(&[0xFF, 0xD8]), "a JPEG");
    // xml2wbxml() puts its own DOCTYPE in; the file's (the same one) goes.
    let text = String::from_utf8(xml).expect("UTF-8");
    let body = text
        .get(text.find("<Search").unwrap_or(0)..)
        .unwrap_or_default();
    let wbxml = xml2wbxml(body.as_bytes(), &["-v", "1.3"]);
    assert_eq!(contacts_of(&wbxml), contacts);
}
