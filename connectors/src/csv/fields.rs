//! Turning cell text into model values: labels, dates, multi-value cells.

use crate::{Label, PartialDate, PhoneKind};

/// Splits a multi-value cell (`a ::: b`), dropping empty parts.
pub fn split<'a>(cell: &'a str, separator: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    cell.split(separator)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A Google-style label: `* Work` means preferred + Work.
pub fn parse_label(text: &str) -> (Option<Label>, bool) {
    let trimmed = text.trim();
    let (preferred, rest) = match trimmed.strip_prefix('*') {
        Some(rest) => (true, rest.trim()),
        None => (false, trimmed),
    };
    let label = match rest.to_ascii_lowercase().as_str() {
        "" => None,
        "home" => Some(Label::Home),
        "work" => Some(Label::Work),
        "other" => Some(Label::Other),
        _ => Some(Label::Custom(rest.to_string())),
    };
    (label, preferred)
}

/// Phone kind and label from a phone label such as `Mobile`, `Work Fax`, `Pager`.
pub fn phone_label(text: &str) -> (PhoneKind, Option<Label>, bool) {
    let (label, preferred) = parse_label(text);
    let Some(Label::Custom(custom)) = &label else {
        return (PhoneKind::Voice, label, preferred);
    };
    let lower = custom.to_ascii_lowercase();
    let (kind, label) = match lower.as_str() {
        "mobile" | "cell" | "iphone" => (PhoneKind::Cell, None),
        "work mobile" => (PhoneKind::Cell, Some(Label::Work)),
        "home fax" => (PhoneKind::Fax, Some(Label::Home)),
        "work fax" | "business fax" => (PhoneKind::Fax, Some(Label::Work)),
        "fax" | "other fax" => (PhoneKind::Fax, None),
        "pager" | "work pager" => (PhoneKind::Pager, None),
        "main" => (PhoneKind::Voice, Some(Label::Work)),
        _ => (PhoneKind::Voice, label.clone()),
    };
    (kind, label, preferred)
}

/// Dates as exports write them: `1984-05-12`, `--11-03` (no year), `19840512`, `5/12/1984`.
/// Outlook's `0/0/00` means "no date" and gives `Ok(None)`.
pub fn parse_date(text: &str) -> Result<Option<PartialDate>, String> {
    let text = text.trim();
    if text.is_empty() || text == "0/0/00" || text == "0/0/0000" {
        return Ok(None);
    }
    let bad = || format!("{text:?} is not a date (expected YYYY-MM-DD, --MM-DD or M/D/YYYY)");
    let num = |s: &str| s.parse::<u16>().map_err(|_| bad());
    let (year, month, day) = if let Some(rest) = text.strip_prefix("--") {
        let (m, d) = rest.split_once('-').ok_or_else(bad)?;
        (None, num(m)?, num(d)?)
    } else if text.contains('/') {
        let parts: Vec<&str> = text.split('/').collect();
        let [m, d, y] = parts.as_slice() else {
            return Err(bad());
        };
        (Some(num(y)?), num(m)?, num(d)?)
    } else if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
        (Some(num(&text[..4])?), num(&text[4..6])?, num(&text[6..])?)
    } else {
        let parts: Vec<&str> = text.split('-').collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(bad());
        };
        (Some(num(y)?), num(m)?, num(d)?)
    };
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => match year {
            Some(y) if !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) => 28,
            _ => 29,
        },
        _ => return Err(bad()),
    };
    if day == 0 || day > days_in_month || year.is_some_and(|y| !(1..=9999).contains(&y)) {
        return Err(bad());
    }
    Ok(Some(PartialDate {
        year,
        month: month as u8,
        day: day as u8,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: Option<u16>, m: u8, d: u8) -> Option<PartialDate> {
        Some(PartialDate {
            year: y,
            month: m,
            day: d,
        })
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1984-05-12"), Ok(date(Some(1984), 5, 12)));
        assert_eq!(parse_date("--11-03"), Ok(date(None, 11, 3)));
        assert_eq!(parse_date("5/12/1984"), Ok(date(Some(1984), 5, 12)));
        assert_eq!(parse_date("19910228"), Ok(date(Some(1991), 2, 28)));
        assert_eq!(parse_date("0/0/00"), Ok(None));
        assert!(parse_date("1991-02-29").is_err());
        assert!(parse_date("13/1/2000").is_err());
        assert!(parse_date("soon").is_err());
    }

    #[test]
    fn labels() {
        assert_eq!(parse_label("* Work"), (Some(Label::Work), true));
        assert_eq!(
            parse_label("Golf"),
            (Some(Label::Custom("Golf".into())), false)
        );
        assert_eq!(phone_label("Mobile"), (PhoneKind::Cell, None, false));
        assert_eq!(
            phone_label("Work Fax"),
            (PhoneKind::Fax, Some(Label::Work), false)
        );
    }
}
