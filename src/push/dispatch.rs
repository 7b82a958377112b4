//! From a published change to messages: one task per book waits for its sync token to change
//! and hands the new token to a worker per subscription, which sends it with retries and then
//! keeps quiet for `[push] min_interval`. A worker's mailbox holds only the latest token, so
//! changes during a quiet time or a retry merge into one message with the newest token, and
//! neither the poller nor a request ever waits for a push service.

use crate::store::unix_now;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::deliver::{self, Headers, Outcome};
use super::message;
use super::Push;
use crate::app::Live;
use crate::store::{Book, SyncToken};

/// Attempts per message before it is given up (the next change sends again).
const ATTEMPTS: u32 = 6;
/// The first retry's wait; doubled after each failure.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// The longest wait a push service's `Retry-After` can impose.
const LONGEST_RETRY: Duration = Duration::from_secs(300);
/// How often the set of books, expired registrations and key rotation requests are checked.
const HOUSEKEEPING: Duration = Duration::from_secs(1);
/// Expired registrations are dropped from the push state this often.
const SWEEP_EVERY: u32 = 60;

/// The latest change of one book, waiting for a subscription's worker.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Change {
    book: String,
    token: SyncToken,
}

/// The push background service.
pub struct Dispatcher {
    live: Arc<Live>,
    push: Arc<Push>,
    client: reqwest::Client,
    /// Each subscription's worker mailbox, by registration id.
    workers: Mutex<HashMap<String, watch::Sender<Option<Change>>>>,
}

impl Dispatcher {
    pub fn new(live: Arc<Live>, push: Arc<Push>) -> Result<Dispatcher, String> {
        Ok(Dispatcher {
            client: deliver::client(&push.settings)?,
            live,
            push,
            workers: Mutex::default(),
        })
    }

    /// Hands `change` to every unexpired subscription of its book.
    fn fan_out(self: &Arc<Self>, change: &Change) {
        let subscriptions = self.push.registry.active(&change.book, unix_now());
        let mut workers = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
        for subscription in subscriptions {
            let delivered = workers
                .get(&subscription.id)
                .is_some_and(|mailbox| mailbox.send(Some(change.clone())).is_ok());
            if !delivered {
                let (mailbox, inbox) = watch::channel(Some(change.clone()));
                tokio::spawn(Arc::clone(self).run_worker(subscription.id.clone(), inbox));
                workers.insert(subscription.id, mailbox);
            }
        }
    }

    /// One subscription's worker: sends each change, then waits out the rate limit. Ends when
    /// the subscription is gone (unregistered, expired, or refused by the push service).
    async fn run_worker(self: Arc<Self>, id: String, mut inbox: watch::Receiver<Option<Change>>) {
        // The first change is already in the mailbox, marked seen.
        let mut next = inbox.borrow_and_update().clone();
        loop {
            if let Some(change) = next.take() {
                if !self.deliver(&id, change, &mut inbox).await {
                    break;
                }
                tokio::time::sleep(self.push.settings.min_interval).await;
            }
            if inbox.changed().await.is_err() {
                break;
            }
            next = inbox.borrow_and_update().clone();
        }
        // Its mailbox is closed now, unless a newer worker already took the id over.
        drop(inbox);
        let mut workers = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
        if workers.get(&id).is_some_and(watch::Sender::is_closed) {
            workers.remove(&id);
        }
    }

    /// Sends `change` (or a newer one arriving meanwhile) to subscription `id`, retrying with
    /// backoff; `false` when the subscription is gone.
    async fn deliver(
        &self,
        id: &str,
        mut change: Change,
        inbox: &mut watch::Receiver<Option<Change>>,
    ) -> bool {
        let mut wait = FIRST_RETRY;
        for attempt in 1..=ATTEMPTS {
            if inbox.has_changed().unwrap_or(false) {
                if let Some(newer) = inbox.borrow_and_update().clone() {
                    change = newer;
                }
            }
            let now = unix_now();
            let Some(subscription) = self.push.registry.current(id, now) else {
                return false;
            };
            // Access is checked at every message: a reload may have taken the book away.
            if self
                .live
                .load()
                .readable_book(&subscription.user, &subscription.book)
                .is_none()
            {
                tracing::debug!(subscription = %id, "not sent: the user no longer reads the book");
                return true;
            }
            let topic = self.push.registry.topic(&change.book);
            let token = change.token.to_uri();
            let body = message::content_update(&topic, &token);
            let key = self.push.registry.vapid();
            let headers = Headers {
                settings: &self.push.settings,
                topic: Some(&topic),
            };
            match deliver::send(&self.client, &subscription, &body, &key, headers, now).await {
                Outcome::Delivered => {
                    tracing::debug!(subscription = %id, book = %change.book, %token, "pushed");
                    return true;
                }
                Outcome::Gone => {
                    self.forget(id).await;
                    return false;
                }
                Outcome::Refused(why) => {
                    tracing::warn!(subscription = %id, book = %change.book, "push not delivered: {why}");
                    return true;
                }
                Outcome::Retry(after) => {
                    let pause = after.unwrap_or(wait).min(LONGEST_RETRY);
                    tracing::debug!(subscription = %id, attempt, "push service unavailable; retrying");
                    tokio::time::sleep(pause).await;
                    wait = wait.saturating_mul(2);
                }
            }
        }
        tracing::warn!(subscription = %id, "push not delivered after {ATTEMPTS} attempts");
        true
    }

    /// Removes a subscription its push service no longer knows (404/410).
    async fn forget(&self, id: &str) {
        let push = Arc::clone(&self.push);
        let owned = id.to_string();
        let removed = tokio::task::spawn_blocking(move || push.registry.remove(&owned)).await;
        match removed {
            Ok(Ok(())) => tracing::info!(subscription = %id, "push subscription gone; removed"),
            Ok(Err(e)) => tracing::error!("{e}"),
            Err(e) => tracing::error!("removing a push subscription failed: {e}"),
        }
    }

    /// Waits for changes of `book` and fans each out.
    async fn watch_book(self: Arc<Self>, id: String, mut changes: watch::Receiver<SyncToken>) {
        while changes.changed().await.is_ok() {
            let token = *changes.borrow_and_update();
            self.fan_out(&Change {
                book: id.clone(),
                token,
            });
        }
    }

    /// Keeps one watcher per book of the live configuration (a reload may add or drop
    /// books), drops expired registrations, and rotates the VAPID key when asked to.
    async fn housekeeping(self: Arc<Self>) {
        let mut watching: HashMap<String, (Arc<Book>, JoinHandle<()>)> = HashMap::new();
        let mut ticks: u32 = 0;
        loop {
            let app = self.live.load_full();
            watching.retain(|id, (book, task)| {
                let current = app.books.get(id).is_some_and(|b| Arc::ptr_eq(b, book));
                if !current {
                    task.abort();
                }
                current
            });
            for (id, book) in &app.books {
                if !watching.contains_key(id) {
                    let task =
                        tokio::spawn(Arc::clone(&self).watch_book(id.clone(), book.changes()));
                    watching.insert(id.clone(), (Arc::clone(book), task));
                }
            }
            if let Some(dir) = &app.config.store.state_dir {
                if super::rotation::take_request(dir) {
                    super::rotation::rotate(&self.push, &self.client).await;
                }
            }
            ticks = ticks.wrapping_add(1);
            if ticks.is_multiple_of(SWEEP_EVERY) {
                self.sweep().await;
            }
            tokio::time::sleep(HOUSEKEEPING).await;
        }
    }

    async fn sweep(&self) {
        let push = Arc::clone(&self.push);
        match tokio::task::spawn_blocking(move || push.registry.sweep(unix_now())).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(expired = n, "expired push subscriptions removed"),
            Ok(Err(e)) => tracing::error!("{e}"),
            Err(e) => tracing::error!("sweeping push subscriptions failed: {e}"),
        }
    }
}

/// The dispatcher as a pingora background service (an `Arc` so tasks can hold it).
pub struct Service(pub Arc<Dispatcher>);

#[async_trait]
impl BackgroundService for Service {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let task = tokio::spawn(Arc::clone(&self.0).housekeeping());
        let _ = shutdown.changed().await;
        task.abort();
    }
}
