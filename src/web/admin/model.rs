//! What the operator page and `/web/admin/status.json` show: every book and every source, read
//! from the live status the poller keeps (the same records `status.json` and
//! `cardbridge status` show) and completed from the configuration. Built once per request,
//! rendered as HTML or serialized as JSON, so both always say the same.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::personal;
use crate::app::AppState;
use crate::dav::Reply;
use crate::status_file::{BookStatus, ReloadStatus, SourceStatus};

/// The JSON's path under `/web/admin/`.
pub const JSON_PATH: &str = "status.json";

/// `GET /web/admin/status.json`: the overview as JSON.
pub fn reply(app: &AppState) -> Reply {
    match serde_json::to_string_pretty(&Overview::of(app)) {
        Ok(json) => personal(Reply::new(200)).body("application/json", json),
        Err(e) => personal(Reply::new(500)).body(
            "text/plain; charset=utf-8",
            format!("the status could not be written as JSON: {e}\n"),
        ),
    }
}

/// Everything an operator sees, as of `generated`.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    /// Unix seconds when this view was taken.
    pub generated: u64,
    /// Books in id order.
    pub books: Vec<BookView>,
    /// Sources in configuration order.
    pub sources: Vec<SourceView>,
    /// The last configuration reload, when there has been one.
    pub reload: Option<ReloadStatus>,
}

/// One book: its configuration and what it publishes.
#[derive(Debug, Clone, Serialize)]
pub struct BookView {
    pub id: String,
    /// The display name clients show.
    pub name: String,
    /// Who may read it: user names, `*`, `group:<DN>`.
    pub readers: Vec<String>,
    /// The ids of the sources it merges.
    pub sources: Vec<String>,
    /// Whether it has cards it can stand behind (restored or polled); requests into a book
    /// that is not ready yet are answered 503.
    pub ready: bool,
    /// `members` (cards), `token` (the current sync token), `published` (unix seconds of its
    /// last change) and `hold` (a poll held by the removal guard, or null).
    #[serde(flatten)]
    pub status: BookStatus,
}

/// One source: its schedule and its last poll.
#[derive(Debug, Clone, Serialize)]
pub struct SourceView {
    pub id: String,
    /// `csv`, `ldap`, `google` or `activesync`.
    pub kind: &'static str,
    pub poll_interval_s: u64,
    /// `ok`, `failing`, or `pending` before its first poll has ended.
    pub result: &'static str,
    /// The poller's record (`last_poll`, `last_duration_ms`, `error`, `consecutive_failures`,
    /// `skipped_sample`, `next_poll`...), as in `status.json`.
    #[serde(flatten)]
    pub status: SourceStatus,
}

impl Overview {
    /// The view of `app` now.
    pub fn of(app: &AppState) -> Overview {
        let status = app.status();
        let mut books: Vec<BookView> = app
            .config
            .books
            .iter()
            .map(|book| BookView {
                id: book.id.clone(),
                name: book.display_name().to_string(),
                readers: book.readers.clone(),
                sources: book.sources.clone(),
                ready: app.books.get(&book.id).is_some_and(|b| b.state().ready),
                status: status.books.get(&book.id).cloned().unwrap_or_default(),
            })
            .collect();
        books.sort_by(|a, b| a.id.cmp(&b.id));
        let sources = app
            .config
            .sources
            .iter()
            .map(|source| {
                let polled = status.sources.get(&source.id).cloned().unwrap_or_default();
                SourceView {
                    id: source.id.clone(),
                    kind: source.settings.kind(),
                    poll_interval_s: source.poll_interval.as_secs(),
                    result: match (&polled.error, polled.last_poll) {
                        (Some(_), _) => "failing",
                        (None, Some(_)) => "ok",
                        (None, None) => "pending",
                    },
                    status: polled,
                }
            })
            .collect();
        Overview {
            generated: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            books,
            sources,
            reload: status.reload,
        }
    }

    /// The book `id`, when it is configured.
    pub fn book(&self, id: &str) -> Option<&BookView> {
        self.books.iter().find(|b| b.id == id)
    }
}
