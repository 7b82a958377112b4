#![no_main]

#[path = "../vcard_check.rs"]
mod vcard_check;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let (contact, cards) = cardbridge::fuzzing::vcard_roundtrip(bytes);
    for (_, card) in &cards {
        vcard_check::check(&contact, card);
    }
});
