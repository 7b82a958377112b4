//! The HTTP reply a DAV handler gives the transport: status, headers and a body that is
//! either complete or produced chunk by chunk. DAV XML bodies come from
//! `multistatus` (207s) and [`super::error::DavError`] (errors), never from here.

use bytes::Bytes;

/// Produces a response body in chunks; `None` ends it.
pub trait BodyProducer: Send {
    fn next_chunk(&mut self) -> Option<Bytes>;
}

pub enum Body {
    Empty,
    Full(Bytes),
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
