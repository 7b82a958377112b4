//! A compact HTTP/1.1 client for the load benchmarks: prepared requests written as they are,
//! replies read with exact byte counts (Content-Length, chunked, or to the close), over any
//! stream (plain TCP or TLS). A server that closes after a reply (HTTP/1.0, `Connection:
//! close`) gets a new connection for the next request, as a client would open.
// Each benchmark uses part of it.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A request with `Host` and `Content-Length` (and an XML content type when it has a body).
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (name, value) in headers {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    if !body.is_empty() {
        out.push_str("Content-Type: application/xml; charset=utf-8\r\n");
    }
    let _ = write!(out, "Content-Length: {}\r\n\r\n{body}", body.len());
    out.into_bytes()
}

pub struct Reply {
    pub status: u16,
    /// `Content-Encoding`, when the body is coded.
    pub coding: Option<String>,
    pub body: Vec<u8>,
    /// Body bytes received (kept or not).
    pub len: usize,
}

pub struct Conn<S: Read + Write = TcpStream> {
    stream: BufReader<S>,
    line: String,
    /// The server said it closes the connection after the last reply.
    closed: bool,
    /// Opens the stream again after the server closed it.
    reopen: Option<Box<dyn Fn() -> io::Result<S> + Send + Sync>>,
}

impl Conn<TcpStream> {
    /// A connection to a loopback port; replies slower than `timeout` fail with `TimedOut`.
    pub fn open_with(port: u16, timeout: Duration) -> io::Result<Conn> {
        let connect = move || {
            let stream = TcpStream::connect(("127.0.0.1", port))?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(timeout))?;
            Ok(stream)
        };
        let mut conn = Conn::new(connect()?);
        conn.reopen = Some(Box::new(connect));
        Ok(conn)
    }

    pub fn open(port: u16) -> io::Result<Conn> {
        Conn::open_with(port, Duration::from_secs(120))
    }

    /// Closes with a reset (SO_LINGER 0): no TIME_WAIT socket per connection.
    pub fn resetting(self) -> Conn {
        use std::os::fd::AsRawFd;
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        #[allow(unsafe_code)]
        // SAFETY: a valid socket and a correctly sized option value.
        unsafe {
            libc::setsockopt(
                self.stream.get_ref().as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        self
    }
}

impl<S: Read + Write> Conn<S> {
    pub fn new(stream: S) -> Conn<S> {
        Conn {
            stream: BufReader::with_capacity(64 * 1024, stream),
            line: String::new(),
            closed: false,
            reopen: None,
        }
    }

    fn read_line(&mut self) -> io::Result<&str> {
        self.line.clear();
        if self.stream.read_line(&mut self.line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(self.line.trim_end())
    }

    /// Sends a prepared request and reads the response; the body is kept when `keep`.
    pub fn send(&mut self, req: &[u8], keep: bool) -> io::Result<Reply> {
        if self.closed {
            let reopen = self.reopen.as_ref().ok_or(io::ErrorKind::NotConnected)?;
            self.stream = BufReader::with_capacity(64 * 1024, reopen()?);
            self.closed = false;
        }
        self.stream.get_mut().write_all(req)?;
        let status_line = self.read_line()?;
        let http10 = status_line.starts_with("HTTP/1.0");
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or(io::ErrorKind::InvalidData)?;
        let (mut length, mut chunked, mut coding, mut close) = (None, false, None, http10);
        loop {
            let line = self.read_line()?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').ok_or(io::ErrorKind::InvalidData)?;
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-encoding") {
                coding = Some(value.to_string());
            } else if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
        self.closed = close;
        let mut reply = Reply {
            status,
            coding,
            body: Vec::new(),
            len: 0,
        };
        if status == 304 || status == 204 || req.starts_with(b"HEAD ") {
            return Ok(reply);
        }
        if chunked {
            loop {
                let size = usize::from_str_radix(self.read_line()?, 16)
                    .map_err(|_| io::ErrorKind::InvalidData)?;
                self.body(Some(size), keep, &mut reply)?;
                self.read_line()?;
                if size == 0 {
                    break;
                }
            }
        } else if length.is_none() && close {
            self.body(None, keep, &mut reply)?;
        } else {
            self.body(Some(length.unwrap_or(0)), keep, &mut reply)?;
        }
        Ok(reply)
    }

    /// `len` bytes of body, or all up to the close.
    fn body(&mut self, len: Option<usize>, keep: bool, reply: &mut Reply) -> io::Result<()> {
        let mut part = (&mut self.stream).take(len.map_or(u64::MAX, |l| l as u64));
        let read = if keep {
            part.read_to_end(&mut reply.body)?
        } else {
            io::copy(&mut part, &mut io::sink())? as usize
        };
        reply.len += read;
        if len.is_none_or(|l| l == read) {
            Ok(())
        } else {
            Err(io::ErrorKind::UnexpectedEof.into())
        }
    }
}
