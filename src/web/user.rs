//! The user's page: the books they may read, with card counts and when each last changed,
//! and the QR code that opens the setup page on a phone.

use std::time::{SystemTime, UNIX_EPOCH};

use super::page::{escape, html};
use super::site::Site;
use super::{qr, setup, WebRequest, PREFIX};
use crate::app::AppState;
use crate::dav::Reply;

pub fn page(app: &AppState, request: &WebRequest<'_>) -> Reply {
    let site = Site::of(app, request);
    let mut rows = String::new();
    for book in app.readable_books(&site.user) {
        let Some(published) = app.books.get(&book.id).map(|b| b.state()) else {
            continue;
        };
        let (count, changed) = if published.ready {
            (
                published.snapshot.len().to_string(),
                time_element(published.published),
            )
        } else {
            ("–".to_string(), "not loaded yet".to_string())
        };
        let description = book
            .description
            .as_deref()
            .map(|d| format!(r#"<br><span class="note">{}</span>"#, escape(d)))
            .unwrap_or_default();
        rows.push_str(&format!(
            r#"<tr><th scope="row"><strong>{name}</strong>{description}<br><code>{url}</code></th><td class="count">{count}</td><td>{changed}</td></tr>
"#,
            name = escape(book.display_name()),
            url = escape(&site.book_url(&book.id)),
        ));
    }
    let books = if rows.is_empty() {
        "<p>No address books are shared with you yet. Ask your administrator.</p>".to_string()
    } else {
        format!(
            r#"<table>
<caption>Address books you can read, with their CardDAV address</caption>
<thead><tr><th scope="col">Address book</th><th scope="col" class="count">Cards</th><th scope="col">Last change</th></tr></thead>
<tbody>
{rows}</tbody>
</table>"#
        )
    };
    let main = format!(
        r#"{books}
<h2>Set up your phone or computer</h2>
<p><a class="button" href="{PREFIX}{setup}">Set up a device</a></p>
<p>On a computer? Scan this code with your phone's camera to open the setup page there:</p>
<img class="qr" src="{PREFIX}{qr}" width="192" height="192" alt="QR code opening {setup_url}">
<p class="note">It opens <span class="url">{setup_url}</span></p>"#,
        setup = setup::PATH,
        qr = qr::PATH,
        setup_url = escape(&site.page_url(setup::PATH)),
    );
    html(request, 200, "Your address books", &main)
}

/// `<time>` with the instant in UTC, to the minute.
pub(super) fn time_element(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rest = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rest / 3600, rest % 3600 / 60, rest % 60);
    format!(
        r#"<time datetime="{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z">{y:04}-{m:02}-{d:02} {hh:02}:{mm:02} UTC</time>"#
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's
/// `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_are_utc_to_the_minute() {
        let at = UNIX_EPOCH + Duration::from_secs(1_795_941_232);
        assert_eq!(
            time_element(at),
            r#"<time datetime="2026-11-29T08:33:52Z">2026-11-29 08:33 UTC</time>"#
        );
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
