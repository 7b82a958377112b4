//! Property tests: whatever bytes or text a file holds, decoding and mapping return a value
//! or an error, never a panic.

use proptest::prelude::*;

use super::*;

/// Photos refused by size before decoding: the image decoder is the photo module's to test.
fn quick_options() -> fields::Options {
    fields::Options {
        region: Some("US".into()),
        photos: PhotoSettings {
            max_input_bytes: 1,
            ..PhotoSettings::default()
        },
    }
}

/// The fields every contact mapping path reads, to aim arbitrary text at them.
const FIELDS: &[&str] = &[
    "c:FirstName",
    "c:LastName",
    "c:FileAs",
    "c:Email1Address",
    "c:Email2Address",
    "c:MobilePhoneNumber",
    "c:HomePhoneNumber",
    "c:BusinessAddressStreet",
    "c:OfficeLocation",
    "c:Birthday",
    "c:Anniversary",
    "c:WebPage",
    "c:Picture",
    "c2:IMAddress",
    "c2:NickName",
    "c2:MMS",
    "b:Body",
];

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn wbxml_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = wbxml::decode(&bytes);
        let _ = ActiveSyncSource::parse_file(&bytes, &quick_options());
    }

    /// Arbitrary bytes after a valid header, so the token loop is reached every time.
    #[test]
    fn wbxml_body_never_panics(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut bytes = vec![0x03, 0x01, 0x6A, 0x04, b'a', 0x00, b'b', 0x00];
        bytes.extend(body);
        let _ = ActiveSyncSource::parse_file(&bytes, &quick_options());
    }

    #[test]
    fn xml_reader_never_panics(text in "(<[A-Za-z:]{0,8}( xmlns(:[a-z]{1,3})?=\"[A-Za-z:]{0,10}\")?/?>|</[A-Za-z:]{0,8}>|&[a-z#0-9]{0,5};|\\PC{0,6}){0,40}") {
        let _ = xml::decode(text.as_bytes());
        let _ = ActiveSyncSource::parse_file(text.as_bytes(), &quick_options());
    }

    #[test]
    fn field_mapping_never_panics(values in proptest::collection::vec(("\\PC{0,40}", 0..FIELDS.len()), 0..12)) {
        let mut data = String::new();
        for (value, field) in &values {
            let name = FIELDS.get(*field).copied().unwrap_or("c:FirstName");
            data.push_str(&format!("<{name}>{}</{name}>", xml_escape(value)));
        }
        let doc = format!(
            r#"<Sync xmlns="AirSync:" xmlns:c="Contacts:" xmlns:c2="Contacts2:" xmlns:b="AirSyncBase:"><Collections><Collection><CollectionId>2</CollectionId><Commands><Add><ServerId>2:1</ServerId><ApplicationData>{data}</ApplicationData></Add></Commands></Collection></Collections></Sync>"#
        );
        let _ = ActiveSyncSource::parse_file(doc.as_bytes(), &quick_options());
    }

    #[test]
    fn dates_never_panic(text in "\\PC{0,30}|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{0,14}(Z|[+-][0-9:]{0,6})?") {
        let _ = dates::parse_eas_date(&text);
    }

    #[test]
    fn mailboxes_never_panic(text in "\\PC{0,40}") {
        let _ = fields::mailbox_address(&text);
    }
}
