//! Reading request bodies within a size limit, answering `Expect: 100-continue` only when the
//! body will be accepted.

use bytes::{Bytes, BytesMut};
use pingora::protocols::http::ServerSession;

pub enum BodyError {
    /// Larger than the limit (from Content-Length or while reading).
    TooLarge,
    /// The connection failed or the framing was broken.
    Broken,
}

/// Reads the whole body, refusing before reading anything when the declared length is over
/// `limit`.
pub async fn read_limited(session: &mut ServerSession, limit: usize) -> Result<Bytes, BodyError> {
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
        match session.read_request_body().await {
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
