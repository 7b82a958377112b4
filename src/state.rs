//! Everything the request path shares: configuration, books, caches, authentication.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::auth::Authenticator;
use crate::cards::CardCache;
use crate::config::{BookConfig, Config};
use crate::store::Book;

pub struct AppState {
    pub config: Config,
    /// Books by id, in configuration order of ids (sorted).
    pub books: BTreeMap<String, Arc<Book>>,
    pub cards: CardCache,
    pub auth: Authenticator,
}

impl AppState {
    pub fn new(config: Config) -> AppState {
        let books = config
            .books
            .iter()
            .map(|b| {
                (
                    b.id.clone(),
                    Arc::new(Book::new(config.server.change_log_entries)),
                )
            })
            .collect();
        AppState {
            cards: CardCache::new(config.server.card_cache_bytes),
            auth: Authenticator::new(&config.auth),
            books,
            config,
        }
    }

    /// The book and its configuration, when `user` may read it.
    pub fn readable_book(&self, user: &str, id: &str) -> Option<(&BookConfig, &Arc<Book>)> {
        let config = self.config.book(id)?;
        if !self.auth.is_anonymous() && !config.readable_by(user) {
            return None;
        }
        Some((config, self.books.get(id)?))
    }

    /// Books `user` may read, in id order.
    pub fn readable_books<'a>(&'a self, user: &'a str) -> impl Iterator<Item = &'a BookConfig> {
        let mut books: Vec<&BookConfig> = self
            .config
            .books
            .iter()
            .filter(move |b| self.auth.is_anonymous() || b.readable_by(user))
            .collect();
        books.sort_by(|a, b| a.id.cmp(&b.id));
        books.into_iter()
    }
}
