//! Birthday/anniversary values in each dialect.

use cardbridge_connectors::contact::PartialDate;

use super::line::LineWriter;

/// Leap year Apple substitutes for an unknown year (so `--02-29` survives), flagged with
/// `X-APPLE-OMIT-YEAR=1604` in vCard 3.0, which has no year-less date syntax.
pub(crate) const OMIT_YEAR: u16 = 1604;
/// [`OMIT_YEAR`] as the parameter value.
pub(crate) const OMIT_YEAR_PARAM: &str = "1604";

/// Only dates that exist are rendered: a `--0231` or `1984-13-01` makes strict parsers drop
/// the property or the whole card.
pub(crate) fn is_valid(date: &PartialDate) -> bool {
    date.exists()
}

/// vCard 3.0 `YYYY-MM-DD`, with [`OMIT_YEAR`] when the year is unknown (the caller adds the
/// `X-APPLE-OMIT-YEAR` parameter).
pub(crate) fn write_v3(w: &mut LineWriter, date: &PartialDate) {
    w.number(u32::from(date.year.unwrap_or(OMIT_YEAR)), 4);
    w.raw("-");
    w.number(u32::from(date.month), 2);
    w.raw("-");
    w.number(u32::from(date.day), 2);
}

/// vCard 4.0 `YYYYMMDD`, or `--MMDD` when the year is unknown (RFC 6350 §4.3.1).
pub(crate) fn write_v4(w: &mut LineWriter, date: &PartialDate) {
    match date.year {
        Some(year) => w.number(u32::from(year), 4),
        None => w.raw("--"),
    }
    w.number(u32::from(date.month), 2);
    w.number(u32::from(date.day), 2);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(year: Option<u16>, month: u8, day: u8) -> PartialDate {
        PartialDate { year, month, day }
    }

    #[test]
    fn validates_calendar_dates() {
        assert!(is_valid(&d(Some(1984), 5, 12)));
        assert!(is_valid(&d(None, 2, 29)));
        assert!(is_valid(&d(Some(2000), 2, 29)));
        assert!(!is_valid(&d(Some(1900), 2, 29)));
        assert!(!is_valid(&d(Some(2023), 2, 29)));
        assert!(!is_valid(&d(None, 4, 31)));
        assert!(!is_valid(&d(None, 0, 1)));
        assert!(!is_valid(&d(None, 13, 1)));
        assert!(!is_valid(&d(None, 1, 0)));
        assert!(!is_valid(&d(Some(10000), 1, 1)));
    }

    #[test]
    fn omit_year_param_matches() {
        assert_eq!(OMIT_YEAR.to_string(), OMIT_YEAR_PARAM);
    }

    #[test]
    fn formats_both_dialects() {
        let mut w = LineWriter::with_capacity(64);
        write_v3(&mut w, &d(Some(984), 5, 2));
        w.raw(" ");
        write_v3(&mut w, &d(None, 11, 3));
        w.raw(" ");
        write_v4(&mut w, &d(Some(1984), 5, 12));
        w.raw(" ");
        write_v4(&mut w, &d(None, 11, 3));
        assert_eq!(w.finish(), "0984-05-02 1604-11-03 19840512 --1103");
    }
}
