//! Whole answers kept with the book state they came from. A published state is immutable,
//! so every client asking the same question of it (PROPFIND Depth 1 `getetag` on a book,
//! which every phone sends to find what changed) gets the same bytes: the first answer is
//! recorded as it streams out, later ones are sent from memory.
//!
//! The cache lives in the state's `derived` data, so a new state starts empty and the old
//! one's answers are freed with it; all kept answers together are bounded by
//! `[server] response_cache_bytes` (`AppState::responses`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

use super::reply::{Body, BodyProducer, Encodings, Reply, XML_TYPE};
use crate::memory_budget::{Budget, Charge};
use crate::store::PublishedBook;

/// Per-entry bookkeeping counted on top of the body's bytes.
const ENTRY_OVERHEAD: u64 = 256;

/// A kept body is gathered into pieces of about this size (copied once, when recorded), so
/// sending it again takes a few large writes instead of one per streamed chunk.
const PIECE: usize = 1024 * 1024;

/// The answers kept for one book state, by what determines their bytes.
#[derive(Default)]
pub struct ResponseCache {
    entries: Mutex<HashMap<String, Arc<Kept>>>,
}

struct Kept {
    chunks: Arc<[Bytes]>,
    encodings: Arc<Encodings>,
    _charge: Charge,
}

impl ResponseCache {
    /// The cache of `state`.
    pub fn of(state: &PublishedBook) -> Arc<ResponseCache> {
        state.derived.get_or_init(ResponseCache::default)
    }

    /// The kept 207 for `key`, if any.
    pub fn reply(&self, key: &str) -> Option<Reply> {
        let kept = {
            let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(entries.get(key)?)
        };
        let mut reply = Reply::new(207).header("Content-Type", XML_TYPE);
        reply.body = Body::Chunks(Arc::clone(&kept.chunks));
        reply.encodings = Some(Arc::clone(&kept.encodings));
        Some(reply)
    }

    /// `reply` as sent, and kept under `key` once its body has been produced to the end
    /// within `budget`.
    pub fn record(self: &Arc<Self>, key: String, mut reply: Reply, budget: &Arc<Budget>) -> Reply {
        let encodings = Arc::new(Encodings::default());
        match std::mem::replace(&mut reply.body, Body::Empty) {
            Body::Stream(inner) => {
                reply.body = Body::Stream(Box::new(Recording {
                    inner,
                    pieces: Some(Pieces::default()),
                    cache: Arc::clone(self),
                    key,
                    encodings: Arc::clone(&encodings),
                    budget: Arc::clone(budget),
                }));
            }
            Body::Full(bytes) => {
                self.keep(key, vec![bytes.clone()], &encodings, budget);
                reply.body = Body::Full(bytes);
            }
            body => {
                reply.body = body;
                return reply;
            }
        }
        reply.encodings = Some(encodings);
        reply
    }

    /// Keeps `chunks` under `key` when they fit `budget`.
    fn keep(
        &self,
        key: String,
        chunks: Vec<Bytes>,
        encodings: &Arc<Encodings>,
        budget: &Arc<Budget>,
    ) {
        let bytes: u64 = chunks.iter().map(|c| c.len() as u64).sum();
        let Some(charge) = budget.charge(bytes + ENTRY_OVERHEAD) else {
            return;
        };
        let kept = Kept {
            chunks: chunks.into(),
            encodings: Arc::clone(encodings),
            _charge: charge,
        };
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.entry(key).or_insert_with(|| Arc::new(kept));
    }
}

/// A body's copy being gathered into pieces of about [`PIECE`] bytes.
#[derive(Default)]
struct Pieces {
    done: Vec<Bytes>,
    current: Vec<u8>,
    bytes: u64,
}

impl Pieces {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes = self.bytes.saturating_add(chunk.len() as u64);
        if self.current.capacity() == 0 {
            self.current.reserve_exact(PIECE.max(chunk.len()));
        }
        self.current.extend_from_slice(chunk);
        if self.current.len() >= PIECE {
            self.done
                .push(Bytes::from(std::mem::take(&mut self.current)));
        }
    }

    fn finish(mut self) -> Vec<Bytes> {
        if !self.current.is_empty() {
            // Copied to an exact size: the last piece's spare capacity would stay allocated.
            self.done.push(Bytes::copy_from_slice(&self.current));
        }
        self.done
    }
}

/// A body passed through while a copy of its chunks is taken.
struct Recording {
    inner: Box<dyn BodyProducer>,
    /// `None` once the body outgrew the budget, or was kept.
    pieces: Option<Pieces>,
    cache: Arc<ResponseCache>,
    key: String,
    encodings: Arc<Encodings>,
    budget: Arc<Budget>,
}

impl BodyProducer for Recording {
    fn next_chunk(&mut self) -> Option<Bytes> {
        let chunk = self.inner.next_chunk();
        match (&chunk, self.pieces.as_mut()) {
            (Some(chunk), Some(pieces)) => {
                let bytes = pieces.bytes.saturating_add(chunk.len() as u64);
                if self.budget.fits(bytes.saturating_add(ENTRY_OVERHEAD)) {
                    pieces.push(chunk);
                } else {
                    self.pieces = None;
                }
            }
            (None, Some(_)) => {
                let pieces = self.pieces.take().map(Pieces::finish).unwrap_or_default();
                let key = std::mem::take(&mut self.key);
                self.cache.keep(key, pieces, &self.encodings, &self.budget);
            }
            (_, None) => {}
        }
        chunk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Chunks(Vec<&'static str>);

    impl BodyProducer for Chunks {
        fn next_chunk(&mut self) -> Option<Bytes> {
            (!self.0.is_empty()).then(|| Bytes::from_static(self.0.remove(0).as_bytes()))
        }
    }

    fn drain(reply: Reply) -> String {
        let mut out = String::new();
        match reply.body {
            Body::Stream(mut body) => {
                while let Some(chunk) = body.next_chunk() {
                    out.push_str(std::str::from_utf8(&chunk).unwrap_or_default());
                }
            }
            Body::Chunks(chunks) => chunks
                .iter()
                .for_each(|c| out.push_str(std::str::from_utf8(c).unwrap_or_default())),
            Body::Full(bytes) => out.push_str(std::str::from_utf8(&bytes).unwrap_or_default()),
            Body::Empty => {}
        }
        out
    }

    fn streamed(parts: Vec<&'static str>) -> Reply {
        Reply::new(207).stream(XML_TYPE, Box::new(Chunks(parts)))
    }

    #[test]
    fn kept_after_the_first_answer_is_sent_whole() {
        let cache = Arc::new(ResponseCache::default());
        let budget = Budget::new(1 << 20);
        let first = cache.record("k".into(), streamed(vec!["<a>", "</a>"]), &budget);
        assert!(
            cache.reply("k").is_none(),
            "nothing kept before the body is produced"
        );
        assert_eq!(drain(first), "<a></a>");
        let again = cache.reply("k").map(drain);
        assert_eq!(again.as_deref(), Some("<a></a>"));
        assert!(cache.reply("other").is_none());
        drop(cache);
        assert_eq!(budget.used(), 0, "the charge is given back with the state");
    }

    #[test]
    fn answers_over_the_budget_are_not_kept() {
        let cache = Arc::new(ResponseCache::default());
        let budget = Budget::new(ENTRY_OVERHEAD + 4);
        let first = cache.record("k".into(), streamed(vec!["<a>", "</a>"]), &budget);
        assert_eq!(drain(first), "<a></a>");
        assert!(cache.reply("k").is_none());
        assert_eq!(budget.used(), 0);
    }
}
