//! Phone numbers as a client receives them: the standard CSV source has region US, and foreign
//! numbers must arrive with every digit (the US trunk prefix "1" was once stripped after +49).

mod support;

use support::vcard::{parse_strict, values};
use support::{cards, google_row, Server};

#[test]
fn foreign_numbers_with_region_us_keep_every_digit() {
    // (given name, phone as in the CSV, TEL as published)
    let people = [
        ("Jonas", "+49 172 6919312", "+491726919312"),
        ("Lena", "+49 151 12345678", "+4915112345678"),
        ("Olga", "+7 800 555 35 35", "+78005553535"),
        ("Ann", "011 49 172 6919312", "+491726919312"),
        // 00 is no international prefix in the US: kept as written.
        ("Bo", "0049 172 6919312", "0049 172 6919312"),
    ];
    let rows = people.map(|(given, phone, _)| {
        let email = format!("{}@example.com", given.to_lowercase());
        google_row(given, "Phone", "", &email, phone)
    });
    let server = Server::with_staff("", &rows);
    let cards = cards::all(&server);
    for (given, _, published) in people {
        let fn_line = format!("FN:{given} Phone");
        let card = cards
            .values()
            .find(|card| card.contains(&fn_line))
            .unwrap_or_else(|| panic!("no card for {given}: {cards:?}"));
        assert_eq!(
            values(&parse_strict(card), "TEL"),
            vec![published],
            "{card}"
        );
    }
}
