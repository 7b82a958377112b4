//! The pingora application: one request at a time per connection (pipelined ones in order),
//! replies streamed when large, connections kept alive. The request path is parsed here, once,
//! and the DAV layer answers from the parsed resource; transport errors are `DavError`s.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

use std::time::{Duration, Instant};

use bytes::Bytes;
use pingora::apps::HttpPersistentSettings;
use pingora::http::ResponseHeader;
use pingora::listeners::{L4BufferSettings, ListenerConfig};
use pingora::protocols::http::ServerSession;
use pingora::server::configuration::ServerConf;
use pingora::server::{RunArgs, Server, ShutdownWatch};
use pingora::services::background::background_service;
use pingora::services::listening::Service;

use super::body::{self, BodyError};
use super::client_addr;
use super::connection::{Reuse, KEEPALIVE};
use super::drain::{Drain, DrainingShutdown};
use super::limits::ConnectionLimits;
use super::tls::{self, Certificates};
use super::{encoding, framing, head};
use crate::app::Live;
use crate::auth::AuthFailure;
use crate::dav::{self, paths, Body, DavError, Reply, RequestHead};
use crate::ops;
use crate::poller::Poller;
use crate::web;

pub struct CardDavApp {
    /// The current state, swapped whole by a configuration reload.
    pub live: Arc<Live>,
    pub(super) limits: Arc<ConnectionLimits>,
    pub(super) header_timeout: Duration,
    pub(super) body_pace: body::Pace,
    /// Requests in flight, and whether a SIGTERM is draining them.
    pub(super) drain: Arc<Drain>,
}

impl CardDavApp {
    pub fn new(live: Arc<Live>) -> Result<CardDavApp, String> {
        let state = live.load_full();
        let server = &state.config.server;
        let limits =
            ConnectionLimits::new(server.max_connections, server.max_connections_per_client);
        tracing::info!(
            max_connections = limits.total(),
            max_connections_per_client = limits.per_client(),
            "connection caps"
        );
        Ok(CardDavApp {
            header_timeout: state.config.header_timeout()?,
            body_pace: body::Pace {
                base: state.config.body_timeout()?,
                min_rate: server.body_min_rate,
            },
            limits: Arc::new(limits),
            drain: Arc::default(),
            live,
        })
    }

    /// Answers the request `session` has read; returns the connection when it may be reused.
    pub(super) async fn serve(
        &self,
        mut session: ServerSession,
        shutdown: &ShutdownWatch,
    ) -> Option<Reuse> {
        // Requests a client sends before reading earlier answers (RFC 9112 §9.3.2) are
        // answered in order, one after the other, instead of being dropped with the
        // connection.
        session.set_pipelining_enabled(true);
        let _in_flight = self.drain.begin();
        // pingora turns keep-alive off for `Connection: close`, HTTP/1.0 and ambiguous
        // framing, and makes it unlimited otherwise.
        if session.get_keepalive().is_some() {
            session.set_keepalive(if *shutdown.borrow() || self.drain.is_draining() {
                None
            } else {
                Some(KEEPALIVE.as_secs())
            });
        }
        let started = Instant::now();
        let mut head = head::request_head(session.req_header());
        head.secure = arrived_over_https(&session, &self.live.load());
        let reply = if framing::is_ambiguous(&session.to_h1_raw()) {
            Reply::from(DavError::BadRequest(
                "Content-Length and Transfer-Encoding together are ambiguous".into(),
            ))
            .closing()
        } else {
            self.answer(&mut session, &head).await
        };
        let (status, report) = (reply.status, reply.report);
        let mut bytes = 0;
        let keep = write_reply(&mut session, &head, reply, &mut bytes).await;
        let elapsed = started.elapsed();
        self.live
            .load()
            .metrics
            .requests
            .record(&head.method, report, status, elapsed, bytes);
        tracing::info!(
            target: "cardbridge::access",
            client = %client_ip(&session, &self.live.load()),
            method = %head.method,
            path = %head.path,
            status,
            bytes,
            ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
        if !keep {
            return None;
        }
        let settings = HttpPersistentSettings::for_session(&session);
        let (stream, prefix) = session.finish().await.ok()??.into_parts();
        Some(Reuse {
            stream,
            settings,
            prefix,
        })
    }

    async fn answer(&self, session: &mut ServerSession, head: &RequestHead) -> Reply {
        let state = self.live.load_full();
        let server = &state.config.server;
        if let Some(reply) = redirect_to_https(session, &state, head) {
            return discard_body(session, self, reply).await;
        }
        // The path is parsed here once; the DAV layer answers from the parsed resource.
        let resource = paths::parse(&head.path);
        if resource == Some(paths::Resource::WellKnown) {
            return discard_body(session, self, dav::well_known_redirect()).await;
        }
        if head.method == "OPTIONS" {
            let push =
                state.push.is_some() && matches!(resource, Some(paths::Resource::Book { .. }));
            return discard_body(session, self, dav::options(push)).await;
        }
        let client = client_ip(session, &state);
        if let Some(reply) = ops::answer(
            &state,
            &head.path,
            client,
            self.limits.open(),
            self.drain.is_draining(),
        ) {
            return discard_body(session, self, reply).await;
        }
        let authorization = session
            .req_header()
            .headers
            .get("authorization")
            .map(|v| v.as_bytes().to_vec());
        let authenticated = state
            .auth
            .authenticate(authorization.as_deref(), client)
            .await;
        let identity = match authenticated {
            Ok(identity) => identity,
            Err(AuthFailure::Unavailable(reason)) => {
                tracing::error!("login not checked, the directory is unavailable: {reason}");
                let reply = Reply::from(DavError::Unavailable {
                    description: "the user directory is unavailable; try again later",
                    retry_after: 30,
                });
                return discard_body(session, self, reply).await;
            }
            Err(AuthFailure::Throttled(wait)) => {
                let reply = Reply::from(DavError::TooManyLogins {
                    retry_after: wait.as_secs().saturating_add(1),
                });
                return discard_body(session, self, reply).await;
            }
            Err(AuthFailure::Busy) => {
                let reply = Reply::from(DavError::Unavailable {
                    description: "too many logins at once; try again later",
                    retry_after: 2,
                });
                return discard_body(session, self, reply).await;
            }
            Err(failure) => {
                let description = match failure {
                    AuthFailure::Missing => "authentication required",
                    _ => "wrong user name or password",
                };
                let reply = Reply::from(DavError::Unauthorized {
                    description,
                    realm: server.realm.clone(),
                });
                return discard_body(session, self, reply).await;
            }
        };
        let limit = if head.method == "REPORT" {
            server.report_body_limit
        } else {
            server.propfind_body_limit
        };
        let body = match body::read_limited(session, limit, self.body_pace).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                return Reply::from(DavError::BodyTooLarge { limit }).closing()
            }
            Err(BodyError::TooSlow) => return Reply::from(DavError::Timeout).closing(),
            Err(BodyError::Broken) => {
                return Reply::from(DavError::BadRequest(
                    "could not read the request body".into(),
                ))
                .closing()
            }
        };
        // Pages for people: decided after login and before DAV, which answers everything else.
        let request = web::WebRequest {
            head,
            identity: &identity,
            host: session
                .req_header()
                .headers
                .get("host")
                .and_then(|h| h.to_str().ok()),
            secure: session.digest().is_some_and(|d| d.ssl_digest.is_some()),
            authorization: authorization.as_deref(),
            body: &body,
            query: session.req_header().uri.query(),
            operator: web::is_operator(
                &state,
                &identity,
                session
                    .server_addr()
                    .and_then(|a| a.as_inet())
                    .is_some_and(|a| state.config.is_admin_listener(*a)),
            ),
            origin: header_text(session, "origin"),
            referer: header_text(session, "referer"),
        };
        if let Some(reply) = web::answer(&state, &request).await {
            return reply;
        }
        // A card or a short answer costs microseconds: answered here, where a thread hop would
        // cost more than the work (GET is the request phones send most).
        let body = dav::RequestBody::new(&state, head, body);
        if matches!(head.method.as_str(), "GET" | "HEAD" | "OPTIONS")
            || dav::answers_here(&state, head, resource.as_ref(), &identity, &body)
        {
            return dav::handle(&state, head, resource.as_ref(), &identity, body);
        }
        // Anything that may read a whole book (a query, PROPFIND Depth 1) runs on the blocking
        // pool so the threads serving other connections are never held up.
        let head = head.clone();
        tokio::task::spawn_blocking(move || {
            dav::handle(&state, &head, resource.as_ref(), &identity, body)
        })
        .await
        .unwrap_or_else(|e| {
            tracing::error!("request handler failed: {e}");
            Reply::from(DavError::Internal("the request could not be answered"))
        })
    }
}

/// Answers `reply` without processing the request body: a body within the PROPFIND limit and
/// pace is read and dropped so the connection can be reused; anything else closes it.
async fn discard_body(session: &mut ServerSession, server: &CardDavApp, reply: Reply) -> Reply {
    let has_body = session.req_header().headers.contains_key("content-length")
        || session
            .req_header()
            .headers
            .contains_key("transfer-encoding");
    let expects_continue = session.req_header().headers.contains_key("expect");
    if !has_body {
        return reply;
    }
    if expects_continue {
        // The client waits for our go-ahead; it gets the final answer instead.
        return reply.closing();
    }
    let limit = server.live.load().config.server.propfind_body_limit;
    match body::read_limited(session, limit, server.body_pace).await {
        Ok(_) => reply,
        Err(_) => reply.closing(),
    }
}

/// Writes a reply; returns whether the connection may be reused. `sent` counts the body bytes
/// handed to the connection.
async fn write_reply(
    session: &mut ServerSession,
    head: &RequestHead,
    reply: Reply,
    sent: &mut u64,
) -> bool {
    let Reply {
        status,
        mut headers,
        body,
        close,
        encodings,
        ..
    } = reply;
    if close {
        session.set_keepalive(None);
    }
    // Small streamed bodies are sent whole with a Content-Length; larger ones chunked.
    let mut body = Outgoing::of(body);
    if body.large() && encoding::compressible(status, &headers) {
        headers.push(("Vary", "Accept-Encoding".into()));
        if let Some(coding) = head
            .accept_encoding
            .as_deref()
            .and_then(encoding::negotiate)
        {
            headers.push(("Content-Encoding", coding.token().into()));
            let (produced, producer) = match body {
                Outgoing::Known(chunks) => (chunks, None),
                Outgoing::Streamed(first, second, producer) => {
                    (vec![first, second], Some(producer))
                }
            };
            body = Outgoing::of(encoding::encode(coding, produced, producer, encodings));
        }
    }
    let Ok(mut header) = ResponseHeader::build(status, Some(headers.len() + 3)) else {
        return false;
    };
    for (name, value) in headers {
        if header.append_header(name, value).is_err() {
            return false;
        }
    }
    let ok = match &body {
        Outgoing::Streamed(..) => header.insert_header("Transfer-Encoding", "chunked").is_ok(),
        Outgoing::Known(_) if status == 304 => true,
        Outgoing::Known(chunks) => {
            let len: usize = chunks.iter().map(Bytes::len).sum();
            header
                .insert_header("Content-Length", len.to_string())
                .is_ok()
        }
    };
    if !ok
        || session
            .write_response_header(Box::new(header))
            .await
            .is_err()
    {
        return false;
    }
    if head.method == "HEAD" {
        return !close;
    }
    match body {
        Outgoing::Known(chunks) => {
            // Each piece goes to the connection as it is (a kept answer's pieces are large).
            let last = chunks.len().saturating_sub(1);
            for (i, chunk) in chunks.into_iter().enumerate() {
                *sent += chunk.len() as u64;
                if session.write_response_body(chunk, i == last).await.is_err() {
                    return false;
                }
            }
        }
        Outgoing::Streamed(first, second, mut producer) => {
            let mut next = Some(first);
            let mut after = Some(second);
            while let Some(chunk) = next {
                *sent += chunk.len() as u64;
                if session.write_response_body(chunk, false).await.is_err() {
                    return false;
                }
                next = after.take().or_else(|| producer.next_chunk());
            }
            if session.finish_body().await.is_err() {
                return false;
            }
        }
    }
    !close
}

/// A body as it is sent: its length known up front (in memory, in pieces) or streamed.
enum Outgoing {
    Known(Vec<Bytes>),
    /// The first two chunks (so a body of one chunk is never sent chunked) and the rest.
    Streamed(Bytes, Bytes, Box<dyn dav::BodyProducer>),
}

impl Outgoing {
    fn of(body: Body) -> Outgoing {
        match body {
            Body::Empty => Outgoing::Known(Vec::new()),
            Body::Full(bytes) => Outgoing::Known(vec![bytes]),
            Body::Chunks(chunks) => Outgoing::Known(chunks.to_vec()),
            Body::Stream(mut producer) => {
                let first = producer.next_chunk();
                match (first, producer.next_chunk()) {
                    (Some(first), Some(second)) => Outgoing::Streamed(first, second, producer),
                    (first, _) => Outgoing::Known(first.into_iter().collect()),
                }
            }
        }
    }

    /// Whether compressing it may be worth it.
    fn large(&self) -> bool {
        match self {
            Outgoing::Streamed(..) => true,
            Outgoing::Known(chunks) => {
                chunks.iter().map(Bytes::len).sum::<usize>() >= encoding::MIN_BYTES
            }
        }
    }
}

/// Per-connection write buffer. pingora's default (1,460 bytes) sends a response head and a
/// body that does not fit beside it in two writes, so a card with a photo (~12 KB) cost two
/// syscalls and two segments; 16 KiB carries head and card in one.
const WRITE_BUFFER: usize = 16 * 1024;

/// No socket read buffer under pingora's own: its HTTP/1 reader buffers request heads and
/// bodies itself, and the default 64 KiB buffer below it made every idle keep-alive
/// connection (a phone between two requests) hold ~96 KiB instead of ~34 KiB.
const READ_BUFFER: usize = 0;

/// Runs the server until it is told to stop: the DAV service on every listen address, the
/// poller and (with `[push]`) the push dispatcher as background services.
pub fn run(live: Arc<Live>, poller: Poller) -> ! {
    let state = live.load_full();
    let conf = ServerConf {
        threads: state.config.threads(),
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(2),
        ..ServerConf::default()
    };
    let push = match state.push.clone() {
        Some(push) => match crate::push::Dispatcher::new(Arc::clone(&live), push) {
            Ok(dispatcher) => Some(crate::push::Service(Arc::new(dispatcher))),
            Err(e) => {
                tracing::error!("[push] {e}");
                std::process::exit(2);
            }
        },
        None => None,
    };
    let app = match CardDavApp::new(live) {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("{e}");
            std::process::exit(2);
        }
    };
    let certificates = match &state.config.server.tls {
        Some(tls) => match Certificates::load(&tls.cert_file, &tls.key_file) {
            Ok(certificates) => Some(certificates),
            Err(e) => {
                tracing::error!("[server.tls] {e}");
                std::process::exit(2);
            }
        },
        None => None,
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let drain = Arc::clone(&app.drain);
    let mut service = Service::new("carddav".to_string(), app);
    let buffers = L4BufferSettings::new(READ_BUFFER, WRITE_BUFFER);
    for addr in state
        .config
        .server
        .listen
        .iter()
        .chain(&state.config.server.admin_listen)
    {
        service.add_listener(ListenerConfig::tcp(addr.as_str()).l4_buffer(buffers));
    }
    if let (Some(tls), Some(certificates)) = (&state.config.server.tls, &certificates) {
        for addr in &tls.listen {
            let settings = match certificates.listener_settings() {
                Ok(settings) => settings,
                Err(e) => {
                    tracing::error!("[server.tls] {e}");
                    std::process::exit(2);
                }
            };
            service.add_listener(
                ListenerConfig::tcp(addr.as_str())
                    .l4_buffer(buffers)
                    .tls(settings),
            );
        }
    }
    server.add_service(service);
    server.add_service(background_service("poller", poller));
    if let Some(push) = push {
        server.add_service(background_service("push", push));
    }
    if let Some(certificates) = certificates {
        server.add_service(background_service(
            "tls-certificates",
            CertificateWatch(certificates),
        ));
    }
    server.run(RunArgs {
        shutdown_signal: Box::new(DrainingShutdown(drain)),
    });
    std::process::exit(0)
}

/// Re-reads the TLS certificate when its files change, and at every SIGHUP.
struct CertificateWatch(Arc<Certificates>);

#[async_trait::async_trait]
impl pingora::services::background::BackgroundService for CertificateWatch {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut hangups =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            let hangup = async {
                match hangups.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(tls::CHECK_EVERY) => {
                    self.0.reload_if_changed();
                }
                _ = hangup => {
                    self.0.reload();
                }
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// The value of request header `name`, when it is text.
fn header_text<'a>(session: &'a ServerSession, name: &str) -> Option<&'a str> {
    session
        .req_header()
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
}

/// The client's IP address (unspecified for a Unix socket), as `[server] trusted_proxies`
/// let it be named.
fn client_ip(session: &ServerSession, state: &crate::app::AppState) -> IpAddr {
    let peer = session
        .client_addr()
        .and_then(|addr| addr.as_inet())
        .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |addr| addr.ip());
    let trusted = &state.config.trusted_proxies;
    let forwarded = (!trusted.is_empty())
        .then(|| session.req_header().headers.get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok());
    client_addr::client(peer, forwarded, trusted)
}

/// Whether the client used HTTPS: to this server, or to a trusted proxy that says so with
/// `X-Forwarded-Proto` (for the absolute URLs handed out, e.g. a push registration's).
fn arrived_over_https(session: &ServerSession, state: &crate::app::AppState) -> bool {
    if session.digest().is_some_and(|d| d.ssl_digest.is_some()) {
        return true;
    }
    let from_proxy = session
        .client_addr()
        .and_then(|addr| addr.as_inet())
        .map(|addr| client_addr::canonical(addr.ip()))
        .is_some_and(|ip| state.config.trusted_proxies.iter().any(|n| n.contains(&ip)));
    from_proxy
        && session
            .req_header()
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// With `[server.tls] redirect_plain`, a request on a plain connection is sent to the same
/// path over HTTPS (308 keeps the method and body, so a PROPFIND stays a PROPFIND).
fn redirect_to_https(
    session: &ServerSession,
    state: &crate::app::AppState,
    head: &RequestHead,
) -> Option<Reply> {
    let tls = state
        .config
        .server
        .tls
        .as_ref()
        .filter(|t| t.redirect_plain)?;
    let secure = session.digest().is_some_and(|d| d.ssl_digest.is_some());
    if secure {
        return None;
    }
    let host = session
        .req_header()
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(host_without_port)
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost");
    let port = tls.https_port().map_or(String::new(), |p| match p {
        443 => String::new(),
        p => format!(":{p}"),
    });
    Some(Reply::new(308).header("Location", format!("https://{host}{port}{}", head.path)))
}

/// `example.com:8008` → `example.com`, `[::1]:8008` → `[::1]`.
fn host_without_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(i) if !host.get(i..).is_some_and(|tail| tail.contains(']')) => {
            host.get(..i).unwrap_or(host)
        }
        _ => host,
    }
}
