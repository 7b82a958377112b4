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
use crate::memory_budget::Budget;
use crate::metrics::Metrics;
use crate::poller::OperatorRequests;
use crate::push::Push;
use crate::render_cache::RenderCache;
use crate::status_file::Status;
use crate::store::{Book, StateFile};
use crate::web::ProfileSigner;

/// The current [`AppState`], swapped whole by a reload: a request or a poll loads it once and
/// works with that version to its end.
pub type Live = arc_swap::ArcSwap<AppState>;

/// The running server's shared state, held in an `Arc` by requests and the poller.
pub struct AppState {
    pub config: Config,
    /// Books by id.
    pub books: BTreeMap<String, Arc<Book>>,
    pub cards: Arc<RenderCache>,
    /// What whole answers cached with book states may hold together.
    pub responses: Arc<Budget>,
    pub auth: Authenticator,
    pub state_file: Option<Arc<StateFile>>,
    /// Each source's last poll and each book's published state, kept by the poller; written
    /// to the status file, read by `/metrics` and `/readyz`.
    pub status: Arc<Mutex<Status>>,
    /// Counters the request path updates, for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Polls and accepts operators asked for on the web page, waiting for the poller.
    pub requests: Arc<OperatorRequests>,
    /// When the server started (`process_start_time_seconds`, readiness grace).
    pub started: SystemTime,
    /// Signs the web face's Apple profiles when `[web]` names a certificate; read at start
    /// and at each reload (a renewed certificate is picked up by SIGHUP).
    pub profile_signer: Option<Arc<ProfileSigner>>,
    /// WebDAV-Push, when `[push]` is enabled (opened at start; a reload keeps it).
    pub push: Option<Arc<Push>>,
}

impl AppState {
    /// Builds the shared state, restoring every book from the state file when there is one
    /// (`reset` starts that file afresh).
    pub fn new(config: Config, reset: bool) -> Result<AppState, String> {
        let state_file = match config.state_file_path() {
            Some(path) => Some(Arc::new(
                StateFile::open(&path, reset, config.server.card_cache_bytes)
                    .map_err(|e| e.to_string())?,
            )),
            None => None,
        };
        let metrics = Arc::new(Metrics::default());
        let push = match (&config.push, &config.store.state_dir) {
            (Some(settings), Some(dir)) => Some(Arc::new(Push::open(settings.clone(), dir)?)),
            _ => None,
        };
        Ok(AppState {
            profile_signer: profile_signer(&config)?,
            push,
            cards: Arc::new(RenderCache::new(config.server.card_cache_bytes)),
            responses: Budget::new(config.server.response_cache_bytes),
            auth: Authenticator::new(&config, Arc::clone(&metrics.logins))?,
            books: open_books(&config, &BTreeMap::new(), state_file.as_deref())?,
            config,
            state_file,
            status: Arc::default(),
            metrics,
            requests: Arc::default(),
            started: SystemTime::now(),
        })
    }

    /// The state for a reloaded `config`: books that still exist keep their `Book` (snapshot,
    /// ETags, tokens, change log), so their clients see no resync; new books are restored from
    /// the state file; users and groups are read afresh. The render cache, the state file, the
    /// status and the counters carry over. Settings read only at start are reported, not applied.
    pub fn reconfigured(&self, config: Config) -> Result<AppState, String> {
        for setting in restart_only_changes(&self.config, &config) {
            tracing::warn!("reload: {setting} changed; it takes effect at the next restart");
        }
        Ok(AppState {
            profile_signer: profile_signer(&config)?,
            cards: Arc::clone(&self.cards),
            responses: Arc::clone(&self.responses),
            auth: Authenticator::new(&config, Arc::clone(&self.metrics.logins))?,
            books: open_books(&config, &self.books, self.state_file.as_deref())?,
            state_file: self.state_file.clone(),
            status: Arc::clone(&self.status),
            metrics: Arc::clone(&self.metrics),
            requests: Arc::clone(&self.requests),
            started: self.started,
            push: self.push.clone(),
            config,
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

/// The Apple profile signer `[web]` asks for, if any.
fn profile_signer(config: &Config) -> Result<Option<Arc<ProfileSigner>>, String> {
    config
        .web
        .profile_signing()
        .map(|(cert, key)| ProfileSigner::load(cert, key).map(Arc::new))
        .transpose()
        .map_err(|e| format!("[web] profile signing: {e}"))
}

/// The books of `config`: those in `kept` carry over, the others are opened from the state file.
fn open_books(
    config: &Config,
    kept: &BTreeMap<String, Arc<Book>>,
    state_file: Option<&StateFile>,
) -> Result<BTreeMap<String, Arc<Book>>, String> {
    let mut books = BTreeMap::new();
    for book in &config.books {
        let opened = match kept.get(&book.id) {
            Some(book) => Arc::clone(book),
            None => Arc::new(
                Book::open(&book.id, config.retention, state_file).map_err(|e| e.to_string())?,
            ),
        };
        books.insert(book.id.clone(), opened);
    }
    Ok(books)
}

/// Settings of `next` that differ from `running` and are read only when the server starts.
fn restart_only_changes(running: &Config, next: &Config) -> Vec<&'static str> {
    let (a, b) = (&running.server, &next.server);
    let mut changed = Vec::new();
    if a.listen != b.listen {
        changed.push("[server] listen");
    }
    if a.admin_listen != b.admin_listen {
        changed.push("[server] admin_listen");
    }
    if a.tls != b.tls {
        changed.push("[server.tls]");
    }
    if a.threads != b.threads {
        changed.push("[server] threads");
    }
    if a.card_cache_bytes != b.card_cache_bytes {
        changed.push("[server] card_cache_bytes");
    }
    if a.response_cache_bytes != b.response_cache_bytes {
        changed.push("[server] response_cache_bytes");
    }
    if (&a.header_timeout, &a.body_timeout, a.body_min_rate)
        != (&b.header_timeout, &b.body_timeout, b.body_min_rate)
    {
        changed.push("[server] header_timeout, body_timeout or body_min_rate");
    }
    if (a.max_connections, a.max_connections_per_client)
        != (b.max_connections, b.max_connections_per_client)
    {
        changed.push("[server] max_connections or max_connections_per_client");
    }
    if running.state_file_path() != next.state_file_path() {
        changed.push("[store] state_dir");
    }
    if running.push != next.push {
        changed.push("[push]");
    }
    if running.retention != next.retention {
        changed.push("[store] change-log retention (for books that already exist)");
    }
    changed
}
