//! Sending a multistatus: a few responses written at once (`Multistatus`), and a streamed
//! tail of one response per item, gathered into chunks of about `CHUNK` bytes, so large
//! bodies (a book of 100,000 cards) are never built whole in memory.

use bytes::Bytes;

use super::Response;
use crate::dav::reply::{BodyProducer, Reply, XML_TYPE};
use crate::dav::xml::writer;

const CHUNK: usize = 64 * 1024;

/// Answers of up to this many items are written whole rather than streamed.
const WHOLE_ITEMS: usize = 256;

/// What one item's response is expected to take (a card with its `getetag`), so a whole
/// answer's buffer is sized once instead of growing by copies.
const ITEM_BYTES: usize = 1024;

/// A multistatus being written: the responses known up front (a collection's own), then
/// either the end ([`Multistatus::reply`]) or a stream of per-item responses
/// ([`Multistatus::stream`]).
pub struct Multistatus {
    out: String,
}

impl Default for Multistatus {
    fn default() -> Self {
        Multistatus::new()
    }
}

impl Multistatus {
    pub fn new() -> Multistatus {
        let mut out = String::with_capacity(1024);
        writer::multistatus_open(&mut out);
        Multistatus { out }
    }

    pub fn push(&mut self, response: &Response) {
        writer::response(&mut self.out, response);
    }

    /// The complete 207 (small answers: a few resources).
    pub fn reply(mut self) -> Reply {
        writer::multistatus_close(&mut self.out, None);
        Reply::new(207).body(XML_TYPE, self.out)
    }

    /// A streamed 207: what was pushed, then `render`'s response for each of `items`, then
    /// `end`. A few items (a multiget's batch) are written at once into one buffer, sent
    /// whole with one write.
    pub fn stream<T, F>(self, items: Vec<T>, mut render: F, end: End) -> Reply
    where
        T: Send + 'static,
        F: FnMut(T, &mut ResponseSink) + Send + 'static,
    {
        let tail = end.tail();
        if items.len() <= WHOLE_ITEMS {
            let mut out = self.out;
            out.reserve(items.len() * ITEM_BYTES + tail.len());
            for item in items {
                render(item, &mut ResponseSink { out: &mut out });
            }
            out.push_str(&tail);
            return Reply::new(207).body(XML_TYPE, out);
        }
        let stream = MultistatusStream {
            head: Some(self.out),
            items: items.into_iter(),
            render,
            tail: Some(tail),
        };
        Reply::new(207).stream(XML_TYPE, Box::new(stream))
    }
}

/// What follows the items of a streamed multistatus.
#[derive(Default)]
pub struct End {
    /// The 507 on the collection when the listing was cut short
    /// ([`Response::truncated`]).
    pub truncated: Option<Response<'static>>,
    /// The collection's new `sync-token` (sync-collection).
    pub sync_token: Option<String>,
}

impl End {
    /// The closing part of the multistatus.
    fn tail(&self) -> String {
        let mut tail = String::new();
        if let Some(truncated) = &self.truncated {
            writer::response(&mut tail, truncated);
        }
        writer::multistatus_close(&mut tail, self.sync_token.as_deref());
        tail
    }
}

/// Where a streamed item's response goes; only whole responses can be written to it.
pub struct ResponseSink<'o> {
    out: &'o mut String,
}

impl ResponseSink<'_> {
    pub fn push(&mut self, response: &Response) {
        writer::response(self.out, response);
    }
}

struct MultistatusStream<T, F> {
    head: Option<String>,
    items: std::vec::IntoIter<T>,
    render: F,
    tail: Option<String>,
}

impl<T, F> BodyProducer for MultistatusStream<T, F>
where
    T: Send + 'static,
    F: FnMut(T, &mut ResponseSink) + Send + 'static,
{
    fn next_chunk(&mut self) -> Option<Bytes> {
        let mut out = self.head.take().unwrap_or_default();
        out.reserve(CHUNK);
        while out.len() < CHUNK {
            match self.items.next() {
                Some(item) => (self.render)(item, &mut ResponseSink { out: &mut out }),
                None => {
                    if let Some(tail) = self.tail.take() {
                        out.push_str(&tail);
                    }
                    break;
                }
            }
        }
        (!out.is_empty()).then(|| Bytes::from(out))
    }
}
