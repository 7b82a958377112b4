//! Phone numbers to E.164 when they are valid numbers, so every client dials them the same
//! way; anything that is not a valid number is kept exactly as the source wrote it.

use phonenumber::country::Id;
use phonenumber::Mode;

/// `+12065550142` for `(206) 555-0142` with region `US`; the trimmed text when it does not
/// parse as a valid number (with the region for national formats).
pub fn normalize_phone(text: &str, default_region: Option<&str>) -> String {
    let trimmed = text.trim();
    let region = default_region.and_then(|r| r.trim().to_ascii_uppercase().parse::<Id>().ok());
    match phonenumber::parse(region, trimmed) {
        Ok(number) if number.is_valid() => number.format().mode(Mode::E164).to_string(),
        _ => trimmed.to_string(),
    }
}

/// Whether `region` is a region code the phone library knows (checked at config time).
pub fn is_known_region(region: &str) -> bool {
    region.trim().to_ascii_uppercase().parse::<Id>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_numbers_become_e164() {
        assert_eq!(normalize_phone("+46 70 555 01 99", None), "+46705550199");
        assert_eq!(
            normalize_phone("(650) 253-0000", Some("US")),
            "+16502530000"
        );
        assert_eq!(normalize_phone("030 901820", Some("de")), "+4930901820");
        assert_eq!(
            normalize_phone("+44 20 7946 0555", Some("US")),
            "+442079460555"
        );
    }

    #[test]
    fn invalid_text_is_kept() {
        assert_eq!(normalize_phone(" 12345 ", Some("US")), "12345");
        assert_eq!(
            normalize_phone("call reception", Some("US")),
            "call reception"
        );
        assert_eq!(normalize_phone("(650) 253-0000", None), "(650) 253-0000");
        assert!(is_known_region("us"));
        assert!(!is_known_region("XX"));
    }
}
