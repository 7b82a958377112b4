//! What a DAV handler answers: status, headers and a body that is either complete or
//! produced chunk by chunk (large multistatus bodies are never built whole in memory).

use bytes::Bytes;

use super::xml;

/// Produces a response body in chunks; `None` ends it.
pub trait BodyProducer: Send {
    fn next_chunk(&mut self) -> Option<Bytes>;
}

pub enum Body {
    Empty,
    Full(Bytes),
    Stream(Box<dyn BodyProducer>),
}

/// A complete multistatus body (small answers: a few resources).
pub fn multistatus(inner: String) -> Reply {
    let stream = MultistatusStream::new(inner, Vec::<()>::new(), String::new(), |_, _| {});
    Reply::new(207).stream(XML_TYPE, stream.boxed())
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
    /// Close the connection after answering (e.g. an oversized body left unread).
    pub close: bool,
}

pub const XML_TYPE: &str = "application/xml; charset=utf-8";

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Body::Empty,
            close: false,
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

    /// An error with a `DAV:error` body holding `condition` (a precondition element such as
    /// `<D:valid-sync-token/>`, may be empty) and a human-readable description.
    pub fn dav_error(status: u16, condition: &str, description: &str) -> Reply {
        let mut body = String::with_capacity(256);
        body.push_str(xml::XML_DECL);
        body.push_str("<D:error ");
        body.push_str(xml::ROOT_NAMESPACES);
        body.push_str(" xmlns:CB=\"urn:cardbridge:error\">");
        body.push_str(condition);
        if !description.is_empty() {
            body.push_str("<CB:description>");
            xml::escape_into(&mut body, description);
            body.push_str("</CB:description>");
        }
        body.push_str("</D:error>\n");
        Reply::new(status).body(XML_TYPE, body)
    }

    pub fn closing(mut self) -> Reply {
        self.close = true;
        self
    }
}

/// Streams a multistatus: a fixed head, one rendered fragment per item, a fixed tail.
/// Fragments are gathered into chunks of about `CHUNK` bytes.
pub struct MultistatusStream<T, F> {
    head: Option<String>,
    items: std::vec::IntoIter<T>,
    render: F,
    tail: Option<String>,
}

const CHUNK: usize = 64 * 1024;

impl<T, F> MultistatusStream<T, F>
where
    T: Send + 'static,
    F: FnMut(T, &mut String) + Send + 'static,
{
    /// `head_inner` is written right after `<D:multistatus>` (e.g. the collection's own
    /// response), `tail_inner` just before `</D:multistatus>` (e.g. the sync-token).
    pub fn new(head_inner: String, items: Vec<T>, tail_inner: String, render: F) -> Self {
        let mut head = String::with_capacity(256 + head_inner.len());
        head.push_str(xml::XML_DECL);
        head.push_str("<D:multistatus ");
        head.push_str(xml::ROOT_NAMESPACES);
        head.push('>');
        head.push_str(&head_inner);
        MultistatusStream {
            head: Some(head),
            items: items.into_iter(),
            render,
            tail: Some(tail_inner + "</D:multistatus>\n"),
        }
    }

    pub fn boxed(self) -> Box<dyn BodyProducer> {
        Box::new(self)
    }
}

impl<T, F> BodyProducer for MultistatusStream<T, F>
where
    T: Send + 'static,
    F: FnMut(T, &mut String) + Send + 'static,
{
    fn next_chunk(&mut self) -> Option<Bytes> {
        let mut out = self.head.take().unwrap_or_default();
        out.reserve(CHUNK);
        while out.len() < CHUNK {
            match self.items.next() {
                Some(item) => (self.render)(item, &mut out),
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
