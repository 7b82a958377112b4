//! The operator overview page: held polls first (they wait for a decision), then every book and
//! every source, each as a block of terms that stacks on a phone. Every value from the
//! configuration or a source goes through the shared escaping.

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use super::actions::{self, field, fields};
use super::model::{BookView, Overview, SourceView, JSON_PATH};
use super::{csrf, html, PATH};
use crate::app::AppState;
use crate::dav::Reply;
use crate::status_file::HoldStatus;
use crate::web::page::escape;
use crate::web::user::time_element;
use crate::web::{WebRequest, PREFIX};

/// `GET /web/admin`; `query` may tell what a button just did (`accepted=<book>`,
/// `polled=<source>`, `pending=1`).
pub fn overview(app: &AppState, request: &WebRequest<'_>, user: &str, query: &str) -> Reply {
    let view = Overview::of(app);
    let token = csrf::token(user);
    let mut main = notice(&view, query);
    main.push_str(&summary(&view));
    let held: Vec<(&BookView, &HoldStatus)> = view
        .books
        .iter()
        .filter_map(|b| b.status.hold.as_ref().map(|h| (b, h)))
        .collect();
    if !held.is_empty() {
        main.push_str(
            "<section aria-labelledby=\"held\">\n<h2 id=\"held\">Held polls</h2>\n\
             <p>These polls would remove too much of a book at once, so clients still get the \
             previous cards. Accept one when the removals are real.</p>\n",
        );
        for (book, hold) in held {
            main.push_str(&held_block(book, hold, view.generated, &token));
        }
        main.push_str("</section>\n");
    }
    main.push_str("<section aria-labelledby=\"books\">\n<h2 id=\"books\">Address books</h2>\n");
    for book in &view.books {
        main.push_str(&book_block(book, view.generated));
    }
    main.push_str(
        "</section>\n<section aria-labelledby=\"sources\">\n<h2 id=\"sources\">Sources</h2>\n",
    );
    for source in &view.sources {
        main.push_str(&source_block(source, view.generated, &token));
    }
    let _ = write!(
        main,
        "</section>\n<p class=\"note\">For scripts: the same data as JSON at \
         <a href=\"{PREFIX}{PATH}/{JSON_PATH}\"><code>{PREFIX}{PATH}/{JSON_PATH}</code></a>.</p>"
    );
    html(request, 200, "Operator overview", &main)
}

/// One line on what needs attention: failing sources and held polls, or that there is none.
fn summary(view: &Overview) -> String {
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let failing: Vec<String> = view
        .sources
        .iter()
        .filter(|s| s.result == "failing")
        .map(|s| format!("<a href=\"#source-{0}\">{0}</a>", escape(&s.id)))
        .collect();
    let held = view
        .books
        .iter()
        .filter(|b| b.status.hold.is_some())
        .count();
    let mut attention = Vec::new();
    if !failing.is_empty() {
        attention.push(format!(
            "<span class=\"bad\">failing: {}</span>",
            failing.join(", ")
        ));
    }
    if held > 0 {
        attention.push(format!(
            "<a class=\"bad\" href=\"#held\">{} held</a>",
            count(held, "poll", "polls")
        ));
    }
    let state = if attention.is_empty() {
        "<span class=\"ok\">all polls ok, nothing held</span>".to_string()
    } else {
        attention.join("; ")
    };
    format!(
        "<p>{}, {}: {state}.</p>\n",
        count(view.books.len(), "address book", "address books"),
        count(view.sources.len(), "source", "sources"),
    )
}

/// What the button pressed before this page did.
fn notice(view: &Overview, query: &str) -> String {
    let query = fields(query);
    let pending = field(&query, "pending") == "1";
    let accepted = field(&query, "accepted");
    let polled = field(&query, "polled");
    let text = if let Some(book) = view.book(accepted) {
        let name = escape(&book.name);
        match (&book.status.hold, pending) {
            (_, true) => format!("Accepting the held poll of <strong>{name}</strong>; it is still being published."),
            (None, false) => format!(
                "Accepted the held poll of <strong>{name}</strong>: it now publishes {} cards.",
                book.status.members
            ),
            (Some(_), false) => format!(
                "The poll of <strong>{name}</strong> was accepted, but a newer poll is held again (below)."
            ),
        }
    } else if let Some(source) = view.sources.iter().find(|s| s.id == polled) {
        let id = escape(&source.id);
        match (pending, &source.status.error) {
            (true, _) => format!("Polling <strong>{id}</strong>; it has not finished yet."),
            (false, None) => format!(
                "Polled <strong>{id}</strong>: {} contacts.",
                source.status.contacts
            ),
            (false, Some(error)) => {
                format!("Polled <strong>{id}</strong>: it failed: {}", escape(error))
            }
        }
    } else {
        return String::new();
    };
    format!("<p class=\"notice\" role=\"status\">{text}</p>\n")
}

fn held_block(book: &BookView, hold: &HoldStatus, now: u64, token: &str) -> String {
    let id = escape(&book.id);
    let mut out = format!(
        "<article class=\"held\" id=\"held-{id}\">\n<h3>{name} <code>{id}</code></h3>\n\
         <p>A poll would remove <strong>{removals}</strong> of its {now_count} cards, leaving \
         {after}. Held since {since}.</p>\n",
        name = escape(&book.name),
        removals = hold.removals,
        now_count = hold.members_now,
        after = hold.members_held,
        since = when(hold.since, now),
    );
    if !hold.sample.is_empty() {
        let more = hold.removals.saturating_sub(hold.sample.len());
        out.push_str("<p>Cards it would remove:</p>\n<ul class=\"names\">\n");
        for name in &hold.sample {
            let _ = writeln!(out, "<li>{}</li>", escape(name));
        }
        if more > 0 {
            let _ = writeln!(out, "<li class=\"note\">and {more} more</li>");
        }
        out.push_str("</ul>\n");
    }
    let _ = write!(
        out,
        "<form method=\"post\" action=\"{PREFIX}{PATH}/{action}\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">\n\
         <input type=\"hidden\" name=\"book\" value=\"{id}\">\n\
         <button type=\"submit\" class=\"button\">Accept: remove {removals} cards from {id}</button>\n\
         </form>\n</article>\n",
        action = actions::ACCEPT,
        token = escape(token),
        removals = hold.removals,
    );
    out
}

fn book_block(book: &BookView, now: u64) -> String {
    let id = escape(&book.id);
    let status = &book.status;
    let (cards, changed) = if book.ready {
        (status.members.to_string(), when(status.published, now))
    } else {
        (
            "none yet".to_string(),
            "not loaded from its sources yet".to_string(),
        )
    };
    let guard = if status.hold.is_some() {
        format!("<a class=\"bad\" href=\"#held-{id}\">a poll is held</a>")
    } else {
        "nothing held".to_string()
    };
    format!(
        "<article class=\"item\" id=\"book-{id}\">\n<h3>{name} <code>{id}</code></h3>\n<dl>\n\
         <dt>Cards</dt><dd>{cards}</dd>\n\
         <dt>Last change</dt><dd>{changed}</dd>\n\
         <dt>Sync token</dt><dd><code>{token}</code></dd>\n\
         <dt>Readers</dt><dd>{readers}</dd>\n\
         <dt>Sources</dt><dd>{sources}</dd>\n\
         <dt>Removal guard</dt><dd>{guard}</dd>\n</dl>\n</article>\n",
        name = escape(&book.name),
        token = escape(&status.token),
        readers = list(&book.readers),
        sources = book
            .sources
            .iter()
            .map(|s| format!("<a href=\"#source-{0}\">{0}</a>", escape(s)))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

fn source_block(source: &SourceView, now: u64, token: &str) -> String {
    let id = escape(&source.id);
    let s = &source.status;
    let result = match (&s.error, source.result) {
        (Some(error), _) => format!(
            "<span class=\"bad\">failing</span> ({cause}{n} in a row): {error}",
            cause = s
                .cause
                .as_deref()
                .map_or_else(String::new, |c| format!("{}, ", escape(c))),
            n = s.consecutive_failures,
            error = escape(error),
        ),
        (None, "ok") => "<span class=\"ok\">ok</span>".to_string(),
        (None, _) => "not polled yet".to_string(),
    };
    let last_poll = match (s.last_poll, s.last_duration_ms) {
        (Some(at), Some(ms)) => format!("{}, took {}", when(at, now), duration(ms)),
        (Some(at), None) => when(at, now),
        (None, _) => "never".to_string(),
    };
    let last_success = s
        .last_success
        .map_or_else(|| "never".to_string(), |t| when(t, now));
    let next_poll = s.next_poll.map_or_else(
        || "when it has been polled once".to_string(),
        |t| when(t, now),
    );
    let mut out = format!(
        "<article class=\"item\" id=\"source-{id}\">\n<h3><code>{id}</code> <span class=\"note\">{kind}, every {interval}</span></h3>\n<dl>\n\
         <dt>Result</dt><dd>{result}</dd>\n\
         <dt>Last poll</dt><dd>{last_poll}</dd>\n\
         <dt>Last success</dt><dd>{last_success}</dd>\n\
         <dt>Next poll</dt><dd>{next_poll}</dd>\n\
         <dt>Contacts</dt><dd>{contacts}</dd>\n\
         <dt>Skipped records</dt><dd>{skipped}",
        kind = source.kind,
        interval = duration(source.poll_interval_s.saturating_mul(1000)),
        contacts = s.contacts,
        skipped = s.skipped,
    );
    if let Some(throttled) = &s.throttled {
        let _ = write!(
            out,
            "</dd>\n<dt>Rate limit</dt><dd>{} ({})",
            escape(&throttled.message),
            when(throttled.at, now)
        );
    }
    if !s.skipped_sample.is_empty() {
        out.push_str("\n<ul class=\"skipped\">\n");
        for record in &s.skipped_sample {
            let _ = writeln!(
                out,
                "<li><code>{}</code>: {}</li>",
                escape(&record.location),
                escape(&record.reason)
            );
        }
        let more = s.skipped.saturating_sub(s.skipped_sample.len());
        if more > 0 {
            let _ = writeln!(
                out,
                "<li class=\"note\">and {more} more; <code>cardbridge check</code> lists them all</li>"
            );
        }
        out.push_str("</ul>");
    }
    let _ = write!(
        out,
        "</dd>\n</dl>\n<form method=\"post\" action=\"{PREFIX}{PATH}/{action}\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">\n\
         <input type=\"hidden\" name=\"source\" value=\"{id}\">\n\
         <button type=\"submit\" class=\"button secondary\">Poll {id} now</button>\n\
         </form>\n</article>\n",
        action = actions::POLL,
        token = escape(token),
    );
    out
}

/// Entries as escaped, comma-separated text.
fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| escape(i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Unix seconds `at` as a UTC time, and how long ago (or ahead) of `now` that is.
fn when(at: u64, now: u64) -> String {
    let time = time_element(UNIX_EPOCH + Duration::from_secs(at));
    let relative = if at <= now {
        format!("{} ago", span(now.saturating_sub(at)))
    } else {
        format!("in {}", span(at.saturating_sub(now)))
    };
    format!("{time} ({relative})")
}

/// A span of seconds in the largest unit that keeps it readable.
fn span(secs: u64) -> String {
    match secs {
        0..90 => format!("{secs} s"),
        90..5400 => format!("{} min", secs / 60),
        5400..172_800 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

/// Milliseconds as "850 ms", "12.3 s", "5 min".
fn duration(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms} ms"),
        1000..90_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => span(ms / 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(5), "5 s");
        assert_eq!(span(600), "10 min");
        assert_eq!(span(7200), "2 h");
        assert_eq!(span(3 * 86_400), "3 days");
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_345), "12.3 s");
        assert_eq!(duration(300_000), "5 min");
    }
}
