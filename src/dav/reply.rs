//! The HTTP reply a DAV handler gives the transport: status, headers and a body that is
//! either complete or produced chunk by chunk. DAV XML bodies come from
//! `multistatus` (207s) and [`super::error::DavError`] (errors), never from here.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

/// Produces a response body in chunks; `None` ends it.
pub trait BodyProducer: Send {
    fn next_chunk(&mut self) -> Option<Bytes>;
}

pub enum Body {
    Empty,
    Full(Bytes),
    /// A body all in memory in pieces (a kept answer): sent with a `Content-Length`, each
    /// piece handed to the connection as it is, without copying or chunked framing.
    Chunks(Arc<[Bytes]>),
    Stream(Box<dyn BodyProducer>),
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
    /// Close the connection after answering (e.g. an oversized body left unread).
    pub close: bool,
    /// The report answered, by its element name, for the request metrics.
    pub report: Option<&'static str>,
    /// Set when the body is kept for other clients: where its compressed forms are kept too.
    pub encodings: Option<Arc<Encodings>>,
}

/// Compressed copies of a body that is kept for other clients (`response_cache`), one per
/// content coding, filled by the transport the first time a client accepts that coding, so
/// the same answer is compressed once.
#[derive(Default)]
pub struct Encodings {
    by_coding: Mutex<Vec<Coded>>,
}

/// A coding's token and the body in it.
type Coded = (&'static str, Arc<[Bytes]>);

impl Encodings {
    /// The body in `coding` (`gzip`, `zstd`), when it was kept.
    pub fn get(&self, coding: &str) -> Option<Arc<[Bytes]>> {
        let kept = self
            .by_coding
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        kept.iter()
            .find(|(c, _)| *c == coding)
            .map(|(_, chunks)| Arc::clone(chunks))
    }

    pub fn keep(&self, coding: &'static str, chunks: Arc<[Bytes]>) {
        let mut kept = self
            .by_coding
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !kept.iter().any(|(c, _)| *c == coding) {
            kept.push((coding, chunks));
        }
    }

    /// Bytes kept in every coding.
    pub fn bytes(&self) -> usize {
        let kept = self
            .by_coding
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        kept.iter()
            .flat_map(|(_, chunks)| chunks.iter())
            .map(Bytes::len)
            .sum()
    }
}

pub const XML_TYPE: &str = "application/xml; charset=utf-8";

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Body::Empty,
            close: false,
            report: None,
            encodings: None,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Reply {
        self.headers
            .push(("Content-Type", content_type.to_string()));
        self.body = Body::Full(body.into());
        self
    }

    pub fn stream(mut self, content_type: &str, producer: Box<dyn BodyProducer>) -> Reply {
        self.headers
            .push(("Content-Type", content_type.to_string()));
        self.body = Body::Stream(producer);
        self
    }

    pub fn for_report(mut self, name: &'static str) -> Reply {
        self.report = Some(name);
        self
    }

    pub fn closing(mut self) -> Reply {
        self.close = true;
        self
    }
}
