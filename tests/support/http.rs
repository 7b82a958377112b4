//! A small HTTP/1.1 client over `TcpStream`: every byte is visible to the test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Response {
    /// The raw status line, e.g. `HTTP/1.1 207 Multi-Status`.
    pub status_line: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the body came with `Transfer-Encoding: chunked`.
    pub chunked: bool,
}

/// A body as sent before its `Content-Encoding` (`coding`): what a client reads.
pub fn decode(coding: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match coding.map(str::trim) {
        None | Some("identity") => out.extend_from_slice(body),
        Some("gzip") => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .expect("gzip body");
        }
        Some("zstd") => out = zstd::decode_all(body).expect("zstd body"),
        Some(other) => panic!("unexpected content coding {other}"),
    }
    out
}

impl Response {
    /// The body as sent before its content coding.
    pub fn decoded(&self) -> Vec<u8> {
        decode(self.header("content-encoding"), &self.body)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }
}

/// One client connection (kept alive across requests).
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    pub fn open(port: u16) -> Conn {
        Conn::open_at(("127.0.0.1", port))
    }

    /// A connection to another of the server's addresses (e.g. `("::1", port)`).
    pub fn open_at(addr: impl std::net::ToSocketAddrs) -> Conn {
        Conn::from_stream(TcpStream::connect(addr).expect("connect"))
    }

    /// A connection to 127.0.0.1 from `source`, another loopback address (127.0.0.2): to
    /// the server, another client.
    pub fn open_from(source: Ipv4Addr, port: u16) -> Conn {
        Conn::try_open_from(source, port).expect("connect")
    }

    /// `open_from` that reports a refused or failed connection instead of failing the test.
    pub fn try_open_from(source: Ipv4Addr, port: u16) -> std::io::Result<Conn> {
        use socket2::{Domain, SockAddr, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        socket.bind(&SockAddr::from(SocketAddr::from((source, 0))))?;
        let to = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        socket.connect(&SockAddr::from(to))?;
        Ok(Conn::from_stream(socket.into()))
    }

    /// A connection whose receive window is a few kilobytes: until this client reads, the
    /// server cannot finish a large answer (its writes wait), as with a phone on a slow link.
    pub fn open_narrow(port: u16) -> Conn {
        use socket2::{Domain, SockAddr, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let to = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        socket.connect(&SockAddr::from(to)).expect("connect");
        Conn::from_stream(socket.into())
    }

    fn from_stream(stream: TcpStream) -> Conn {
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        Conn {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
        }
    }

    /// Bounds every later read and write (a hostile-load client must not wait 30 s).
    pub fn set_timeout(&self, timeout: Duration) -> std::io::Result<()> {
        self.writer.set_read_timeout(Some(timeout))?;
        self.writer.set_write_timeout(Some(timeout))
    }

    /// Sends a request with a Content-Length body and reads the final response.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        self.write_head(method, path, headers, Some(body.len()));
        self.writer.write_all(body).expect("write body");
        self.read_response(method == "HEAD")
    }

    /// Writes the request head only (for 100-continue and oversize tests).
    pub fn write_head(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        length: Option<usize>,
    ) {
        let head = request_head(method, path, headers, length);
        self.writer.write_all(head.as_bytes()).expect("write head");
    }

    pub fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(bytes)
    }

    /// Reads one response (interim 1xx responses included: the caller decides).
    pub fn read_response(&mut self, head_request: bool) -> Response {
        self.try_read_response(head_request).expect("response")
    }

    /// `read_response` for a peer that may close or garble the reply (hostile-load clients
    /// count those instead of failing).
    pub fn try_read_response(&mut self, head_request: bool) -> std::io::Result<Response> {
        let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
        let mut status_line = String::new();
        if self.reader.read_line(&mut status_line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let status_line = status_line.trim_end().to_string();
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| bad(format!("bad header {line:?}")))?;
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        let mut response = Response {
            status_line,
            status,
            headers,
            body: Vec::new(),
            chunked: false,
        };
        if head_request || status < 200 || status == 204 || status == 304 {
            return Ok(response);
        }
        if response
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            response.chunked = true;
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size)?;
                let size = usize::from_str_radix(size.trim(), 16)
                    .map_err(|_| bad(format!("bad chunk size {size:?}")))?;
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                response.body.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(length) = response.header("content-length") {
            let length: usize = length
                .parse()
                .map_err(|_| bad(format!("bad content-length {length:?}")))?;
            let mut body = vec![0; length];
            self.reader.read_exact(&mut body)?;
            response.body = body;
        } else {
            self.reader.read_to_end(&mut response.body)?;
        }
        Ok(response)
    }

    /// Whether the server closed the connection (reads EOF).
    pub fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.reader.read(&mut byte), Ok(0) | Err(_))
    }
}

/// A request head as sent, with `Content-Length` when `length` is given.
pub fn request_head(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    length: Option<usize>,
) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(length) = length {
        head.push_str(&format!("Content-Length: {length}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// `Authorization` header value for Basic credentials.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}
