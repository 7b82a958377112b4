//! One client connection: admitted under the connection caps, each request head read within
//! a total deadline, kept alive between requests.
//!
//! pingora's own loop times out each read of a head, not the head: a client sending one
//! byte a second held its connection (and a file descriptor) forever.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;
use pingora::apps::{HttpPersistentSettings, ServerApp};
use pingora::protocols::http::ServerSession;
use pingora::protocols::Stream;
use pingora::server::ShutdownWatch;
use tokio::time::timeout;

use super::server::CardDavApp;

/// How long a kept-alive connection may idle before its next request.
pub const KEEPALIVE: Duration = Duration::from_secs(60);

/// A connection ready for its next request.
pub struct Reuse {
    pub stream: Stream,
    pub settings: HttpPersistentSettings,
    /// Bytes of the next request already read with the last one (pipelining).
    pub prefix: Option<BytesMut>,
}

#[async_trait]
impl ServerApp for CardDavApp {
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let client = stream
            .get_socket_digest()
            .and_then(|digest| digest.peer_addr().and_then(|a| a.as_inet()).map(|a| a.ip()));
        let Some(_admitted) = self.limits.admit(client) else {
            tracing::debug!(?client, "connection refused: connection cap reached");
            return None;
        };
        let mut session = ServerSession::new_http1(stream);
        session.set_keepalive(Some(KEEPALIVE.as_secs()));
        let mut head_deadline = self.header_timeout;
        loop {
            match timeout(head_deadline, session.read_request()).await {
                Ok(Ok(true)) => {}
                Ok(_) => return None,
                Err(_) => {
                    tracing::debug!(?client, "request head not complete in time; closing");
                    return None;
                }
            }
            let Reuse {
                mut stream,
                settings,
                prefix,
            } = self.serve(session, shutdown).await?;
            // The head deadline starts with the next request's first byte. A TLS stream cannot
            // be peeked at (pingora answers `false` at once): there the next head gets the
            // keep-alive time, still bounded, and the connection caps bound how many wait.
            head_deadline = self.header_timeout;
            if prefix.is_none() {
                match timeout(KEEPALIVE, stream.try_peek(&mut [0u8])).await {
                    Ok(Ok(true)) => {}
                    Ok(Ok(false)) => head_deadline = KEEPALIVE,
                    _ => return None,
                }
            }
            session = ServerSession::new_http1(stream);
            settings.apply_to_session(&mut session);
            if let Some(prefix) = prefix {
                session.set_pipelined_prefix(prefix);
            }
        }
    }
}
