//! The answer to a scrape of `/metrics`: the request counters, then what is read at scrape
//! time from the books, the poller's status, the render cache and the process.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::app::AppState;
use crate::metrics::exposition::{Exposition, Kind};
use crate::metrics::process;
use crate::status_file::SourceStatus;

fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The whole scrape answer. `open_connections` comes from the HTTP layer's connection caps.
pub fn render(app: &AppState, open_connections: usize) -> String {
    let mut e = Exposition::default();
    app.metrics.requests.write(&mut e);
    e.single(
        "cardbridge_http_connections_open",
        Kind::Gauge,
        "Client connections open now.",
        open_connections as f64,
    );
    app.metrics.logins.write(&mut e);
    books(app, &mut e);
    sources(app, &mut e);
    cache(app, &mut e);
    process_figures(app, &mut e);
    e.finish()
}

fn books(app: &AppState, e: &mut Exposition) {
    let now = SystemTime::now();
    let published: Vec<_> = app
        .books
        .iter()
        .map(|(id, book)| (id.as_str(), book.state(), book.hold()))
        .collect();
    e.family(
        "cardbridge_book_cards",
        Kind::Gauge,
        "Cards the book publishes now.",
    );
    for (id, state, _) in &published {
        e.sample(
            "cardbridge_book_cards",
            &[("book", id)],
            state.snapshot.len() as f64,
        );
    }
    e.family(
        "cardbridge_book_token_age_seconds",
        Kind::Gauge,
        "Time since the book's current sync token was published (since the start for a book \
         restored unchanged).",
    );
    for (id, state, _) in &published {
        let age = now
            .duration_since(state.published)
            .map_or(0.0, |d| d.as_secs_f64());
        e.sample("cardbridge_book_token_age_seconds", &[("book", id)], age);
    }
    e.family(
        "cardbridge_book_held_removals",
        Kind::Gauge,
        "Removals held back by the removal guard until `cardbridge accept` (0 when nothing is \
         held).",
    );
    for (id, _, hold) in &published {
        let removals = hold.as_ref().map_or(0, |h| h.removals);
        e.sample(
            "cardbridge_book_held_removals",
            &[("book", id)],
            removals as f64,
        );
    }
}

fn sources(app: &AppState, e: &mut Exposition) {
    let status = app.status();
    let rows: Vec<_> = app
        .config
        .sources
        .iter()
        .map(|s| {
            (
                s.id.as_str(),
                status.sources.get(&s.id).cloned().unwrap_or_default(),
            )
        })
        .collect();
    e.family(
        "cardbridge_source_up",
        Kind::Gauge,
        "1 when the source's last poll succeeded, 0 when it failed or has not run yet.",
    );
    for (id, s) in &rows {
        let up = s.last_poll.is_some() && s.error.is_none();
        e.sample(
            "cardbridge_source_up",
            &[("source", id)],
            f64::from(u8::from(up)),
        );
    }
    per_source(
        e,
        &rows,
        "cardbridge_source_last_success_timestamp_seconds",
        "Unix time of the source's last successful poll (absent before the first).",
        |s| s.last_success.map(|at| at as f64),
    );
    per_source(
        e,
        &rows,
        "cardbridge_source_last_poll_duration_seconds",
        "How long the source's last poll took, successful or not.",
        |s| s.last_duration_ms.map(|ms| ms as f64 / 1000.0),
    );
    per_source(
        e,
        &rows,
        "cardbridge_source_consecutive_failures",
        "Polls that failed in a row since the last success.",
        |s| Some(f64::from(s.consecutive_failures)),
    );
    per_source(
        e,
        &rows,
        "cardbridge_source_contacts",
        "Contacts in the source's last good listing.",
        |s| Some(s.contacts as f64),
    );
    per_source(
        e,
        &rows,
        "cardbridge_source_skipped_records",
        "Records the source's last good poll could not turn into contacts.",
        |s| Some(s.skipped as f64),
    );
}

/// A gauge family with one sample per source that has a value.
fn per_source(
    e: &mut Exposition,
    rows: &[(&str, SourceStatus)],
    name: &str,
    help: &str,
    value: impl Fn(&SourceStatus) -> Option<f64>,
) {
    e.family(name, Kind::Gauge, help);
    for (id, s) in rows {
        if let Some(value) = value(s) {
            e.sample(name, &[("source", id)], value);
        }
    }
}

fn cache(app: &AppState, e: &mut Exposition) {
    let stats = app.cards.stats();
    e.single(
        "cardbridge_render_cache_hits_total",
        Kind::Counter,
        "Card renderings served from the render cache.",
        stats.hits as f64,
    );
    e.single(
        "cardbridge_render_cache_misses_total",
        Kind::Counter,
        "Card renderings that had to be rendered.",
        stats.misses as f64,
    );
    e.single(
        "cardbridge_render_cache_bytes",
        Kind::Gauge,
        "Bytes the render cache holds (with a small per-entry overhead).",
        stats.bytes as f64,
    );
    e.single(
        "cardbridge_render_cache_entries",
        Kind::Gauge,
        "Renderings the render cache holds.",
        stats.entries as f64,
    );
}

/// The process figures under the names Prometheus client libraries use.
fn process_figures(app: &AppState, e: &mut Exposition) {
    if let Some(bytes) = process::resident_bytes() {
        e.single(
            "process_resident_memory_bytes",
            Kind::Gauge,
            "Resident memory size in bytes.",
            bytes as f64,
        );
    }
    if let Some(fds) = process::open_fds() {
        e.single(
            "process_open_fds",
            Kind::Gauge,
            "Number of open file descriptors.",
            fds as f64,
        );
    }
    e.single(
        "process_start_time_seconds",
        Kind::Gauge,
        "Start time of the process since the Unix epoch in seconds.",
        unix_seconds(app.started),
    );
}
