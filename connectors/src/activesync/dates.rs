//! EAS birthdays and anniversaries → calendar dates.
//!
//! EAS sends them as UTC instants (`1991-02-27T23:00:00.000Z`): the client stored local
//! midnight (sometimes 11:59 of the day) and the server converted to UTC, so the instant is
//! the day's midnight in some unknown zone. Local midnight of day D in zone UTC+h is
//! (D − h hours) in UTC, so offsets west of UTC land on D itself and offsets east on the
//! evening before. The rule:
//!
//! - round to the nearest UTC midnight (the half-day point, 12:00, rounds up: UTC+12 rather
//!   than UTC−12, where nobody lives);
//! - except that a whole quarter hour strictly between 10:00 and 12:00 UTC counts as midnight
//!   of the next day in UTC+12:15 … UTC+13:45 (New Zealand summer, Tonga, Samoa, Chatham),
//!   rather than of the same day in UTC−10:15 … UTC−11:45, where only a few thousand people
//!   live (Niue, American Samoa). 10:00 itself stays the same day: Hawaii (UTC−10) has far
//!   more people than Kiribati's Line Islands (UTC+14).
//!
//! So `2009-07-31T11:00:00.000Z` is 1 August (midnight in UTC+13) and 11:59, which no zone's
//! midnight produces, stays the day it names.

use crate::PartialDate;

const MS_PER_DAY: i64 = 86_400_000;
const MS_PER_HOUR: i64 = 3_600_000;
const MS_PER_QUARTER_HOUR: i64 = 900_000;

/// The day (since 1970-01-01) whose local midnight `utc_ms` most plausibly is, by the rule in
/// the module docs.
fn intended_day(utc_ms: i64) -> i64 {
    let time_of_day = utc_ms.rem_euclid(MS_PER_DAY);
    let far_east_midnight = time_of_day > 10 * MS_PER_HOUR
        && time_of_day < 12 * MS_PER_HOUR
        && time_of_day % MS_PER_QUARTER_HOUR == 0;
    let shift = if far_east_midnight {
        MS_PER_DAY
    } else {
        MS_PER_DAY / 2
    };
    (utc_ms + shift).div_euclid(MS_PER_DAY)
}

/// Outlook's "no date" value (year 4501) gives `Ok(None)`; Apple's "no year" marker (1604)
/// gives a date without year.
pub fn parse_eas_date(text: &str) -> Result<Option<PartialDate>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || format!("{text:?} is not an EAS date (expected 1984-05-12T00:00:00.000Z)");
    let (date, time) = match text.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let (year, month, day) = parse_ymd(date).ok_or_else(bad)?;
    let (ms_of_day, offset_ms) = match time {
        Some(t) => parse_time(t).ok_or_else(bad)?,
        None => (0, 0),
    };
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(bad());
    }
    let utc_ms = days_from_civil(year, month, day) * MS_PER_DAY + ms_of_day - offset_ms;
    let day_number = intended_day(utc_ms);
    let (year, month, day) = civil_from_days(day_number);
    if year >= 4500 {
        return Ok(None);
    }
    let year = match year {
        1604 => None,
        1..=9999 => Some(year as u16),
        _ => return Err(bad()),
    };
    Ok(Some(PartialDate {
        year,
        month: month as u8,
        day: day as u8,
    }))
}

/// `1984-05-12` or the compact `19840512` (EAS 2.5 and some logs).
fn parse_ymd(date: &str) -> Option<(i64, i64, i64)> {
    let digits = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    let parts: Vec<&str> = date.split('-').collect();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            Some((digits(y)?, digits(m)?, digits(d)?))
        }
        [compact] if compact.len() == 8 => Some((
            digits(compact.get(..4)?)?,
            digits(compact.get(4..6)?)?,
            digits(compact.get(6..)?)?,
        )),
        _ => None,
    }
}

/// `HH:MM:SS[.fff][Z|±HH:MM]` or compact `HHMMSS[Z]` → (milliseconds of day, UTC offset ms).
fn parse_time(time: &str) -> Option<(i64, i64)> {
    let (clock, offset_ms) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else if let Some(pos) = time.rfind(['+', '-']) {
        let (clock, zone) = time.split_at(pos);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let zone = zone.get(1..)?.replace(':', "");
        if zone.len() != 4 || !zone.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let hours: i64 = zone.get(..2)?.parse().ok()?;
        let minutes: i64 = zone.get(2..)?.parse().ok()?;
        (clock, sign * (hours * 60 + minutes) * 60_000)
    } else {
        (time, 0)
    };
    let (whole, fraction) = match clock.split_once('.') {
        Some((w, f)) => (w, f),
        None => (clock, ""),
    };
    let hms: Vec<&str> = if whole.contains(':') {
        whole.split(':').collect()
    } else if whole.len() == 6 {
        vec![whole.get(..2)?, whole.get(2..4)?, whole.get(4..)?]
    } else {
        return None;
    };
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    let num = |s: &str| {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    let (h, m, s) = (num(h)?, num(m)?, num(s)?);
    if h > 23 || m > 59 || s > 60 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis: i64 = format!("{fraction:0<3}").get(..3)?.parse().ok()?;
    Some((((h * 60 + m) * 60 + s) * 1000 + millis, offset_ms))
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: Option<u16>, m: u8, d: u8) -> Result<Option<PartialDate>, String> {
        Ok(Some(PartialDate {
            year: y,
            month: m,
            day: d,
        }))
    }

    #[test]
    fn rounds_to_nearest_midnight() {
        assert_eq!(
            parse_eas_date("1984-05-12T00:00:00.000Z"),
            date(Some(1984), 5, 12)
        );
        assert_eq!(
            parse_eas_date("1979-11-03T11:59:00.000Z"),
            date(Some(1979), 11, 3)
        );
        assert_eq!(
            parse_eas_date("1991-02-27T23:00:00.000Z"),
            date(Some(1991), 2, 28)
        );
        assert_eq!(
            parse_eas_date("1999-12-31T12:00:00Z"),
            date(Some(2000), 1, 1)
        );
        assert_eq!(
            parse_eas_date("2000-02-28T22:00:00.000Z"),
            date(Some(2000), 2, 29)
        );
        assert_eq!(
            parse_eas_date("2000-02-29T13:00:00+12:00"),
            date(Some(2000), 2, 29),
            "offsets are applied before rounding"
        );
        assert_eq!(parse_eas_date("19840512T000000Z"), date(Some(1984), 5, 12));
        assert_eq!(parse_eas_date("1984-05-12"), date(Some(1984), 5, 12));
    }

    #[test]
    fn far_east_midnights_are_the_next_day() {
        for (stored, day) in [
            ("2009-07-31T10:00:00.000Z", 31), // UTC-10 (Hawaii) wins over UTC+14
            ("2009-07-31T10:15:00.000Z", 1),  // UTC+13:45 (Chatham summer)
            ("2009-07-31T11:00:00.000Z", 1),  // UTC+13 (New Zealand summer, Tonga)
            ("2009-07-31T11:15:00.000Z", 1),  // UTC+12:45 (Chatham)
            ("2009-07-31T11:59:00.000Z", 31), // 11:59 of the day, no zone's midnight
            ("2009-07-31T11:00:30.000Z", 31), // not on a quarter hour
            ("2009-07-31T12:00:00.000Z", 1),  // UTC+12 (New Zealand winter, Fiji)
        ] {
            let month = if day == 1 { 8 } else { 7 };
            assert_eq!(
                parse_eas_date(stored),
                date(Some(2009), month, day),
                "{stored}"
            );
        }
    }

    #[test]
    fn markers_and_garbage() {
        assert_eq!(parse_eas_date("4501-01-01T00:00:00.000Z"), Ok(None));
        assert_eq!(
            parse_eas_date("1604-06-21T00:00:00.000Z"),
            date(None, 6, 21)
        );
        assert_eq!(parse_eas_date(""), Ok(None));
        for bad in [
            "yesterday",
            "1984-13-01T00:00:00Z",
            "1984-02-30T00:00:00Z",
            "1984-05-12T25:00:00Z",
            "1984-05-12T00:00",
            "1984-05-12T00:00:00.0x0Z",
            "１９８４-05-12",
        ] {
            assert!(parse_eas_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn civil_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
