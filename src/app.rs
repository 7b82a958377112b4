//! The application: everything the request path and the poller share, in memory
//! ([`AppState`]: configuration, books, the render cache, authentication, the handle of the
//! state file the books are persisted in, the live status and the request counters). Built once
//! at start.
//!
//! Not to be confused with what a book publishes (`store::PublishedBook`), the redb database
//! (`store::StateFile`) or the operator status file (`status_file`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use crate::auth::Authenticator;
use crate::config::{BookConfig, Config};
use crate::metrics::Metrics;
use crate::render_cache::RenderCache;
use crate::status_file::Status;
use crate::store::{Book, StateFile};

/// The running server's shared state, held in an `Arc` by requests and the poller.
pub struct AppState {
    pub config: Config,
    /// Books by id.
    pub books: BTreeMap<String, Arc<Book>>,
    pub cards: RenderCache,
    pub auth: Authenticator,
    pub state_file: Option<StateFile>,
    /// Each source's last poll and each book's published state, kept by the poller; written
    /// to the status file, read by `/metrics` and `/readyz`.
    pub status: Mutex<Status>,
    /// Counters the request path updates, for `/metrics`.
    pub metrics: Metrics,
    /// When the server started (`process_start_time_seconds`, readiness grace).
    pub started: SystemTime,
}

impl AppState {
    /// Builds the shared state, restoring every book from the state file when there is one
    /// (`reset` starts that file afresh).
    pub fn new(config: Config, reset: bool) -> Result<AppState, String> {
        let state_file = match config.state_file_path() {
            Some(path) => Some(StateFile::open(&path, reset).map_err(|e| e.to_string())?),
            None => None,
        };
        let mut books = BTreeMap::new();
        for book in &config.books {
            let opened = Book::open(&book.id, config.retention, state_file.as_ref())
                .map_err(|e| e.to_string())?;
            books.insert(book.id.clone(), Arc::new(opened));
        }
        Ok(AppState {
            cards: RenderCache::new(config.server.card_cache_bytes),
            auth: Authenticator::new(&config)?,
            books,
            config,
            state_file,
            status: Mutex::default(),
            metrics: Metrics::default(),
            started: SystemTime::now(),
        })
    }

    /// A copy of the live status (sources and books).
    pub fn status(&self) -> Status {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The book and its configuration, when `user` may read it.
    pub fn readable_book(&self, user: &str, id: &str) -> Option<(&BookConfig, &Arc<Book>)> {
        let config = self.config.book(id)?;
        if !self.auth.is_anonymous() && !config.readable_by(user, &self.auth.groups(user)) {
            return None;
        }
        Some((config, self.books.get(id)?))
    }

    /// Books `user` may read, in id order.
    pub fn readable_books<'a>(&'a self, user: &'a str) -> impl Iterator<Item = &'a BookConfig> {
        let groups = self.auth.groups(user);
        let mut books: Vec<&BookConfig> = self
            .config
            .books
            .iter()
            .filter(move |b| self.auth.is_anonymous() || b.readable_by(user, &groups))
            .collect();
        books.sort_by(|a, b| a.id.cmp(&b.id));
        books.into_iter()
    }
}
