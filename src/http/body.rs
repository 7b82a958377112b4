//! Reading request bodies within a size limit and a deadline, answering
//! `Expect: 100-continue` only when the body will be accepted.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use pingora::protocols::http::ServerSession;
use tokio::time::{timeout_at, Instant};

pub enum BodyError {
    /// Larger than the limit (from Content-Length or while reading).
    TooLarge,
    /// Not received within its deadline ([`Pace`]).
    TooSlow,
    /// The connection failed or the framing was broken.
    Broken,
}

/// How long a body may take: `base`, plus one second for every `min_rate` bytes received.
/// The socket's per-read timeout alone lets a body trickle in forever, a byte a minute; this
/// gives an honest slow link all the time its size needs (as Apache's `mod_reqtimeout` does).
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub base: Duration,
    pub min_rate: u64,
}

impl Pace {
    /// The deadline of a body that started at `start` and has sent `received` bytes so far.
    fn deadline(&self, start: Instant, received: usize) -> Instant {
        let earned = Duration::from_secs_f64(received as f64 / self.min_rate.max(1) as f64);
        start + self.base + earned
    }
}

/// Reads the whole body, refusing before reading anything when the declared length is over
/// `limit`, and giving up when it arrives slower than `pace` allows.
pub async fn read_limited(
    session: &mut ServerSession,
    limit: usize,
    pace: Pace,
) -> Result<Bytes, BodyError> {
    let start = Instant::now();
    let declared = session
        .req_header()
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let expects_continue = session
        .req_header()
        .headers
        .get("expect")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    if expects_continue && !session.is_http2() {
        session
            .write_continue_response()
            .await
            .map_err(|_| BodyError::Broken)?;
    }
    let mut body = BytesMut::with_capacity(declared.map_or(0, |l| l as usize).min(limit));
    loop {
        let deadline = pace.deadline(start, body.len());
        let Ok(read) = timeout_at(deadline, session.read_request_body()).await else {
            return Err(BodyError::TooSlow);
        };
        match read {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(BodyError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body.freeze()),
            Err(_) => return Err(BodyError::Broken),
        }
    }
}
