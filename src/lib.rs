//! cardbridge: a read-only CardDAV server for contact sources that do not speak CardDAV.
//!
//! Data flows one way: sources are polled (`poller`, set up by `source_setup`), their contacts
//! become book snapshots (`store`), and the DAV layer (`dav`, over `http`) answers from those
//! snapshots. The sources themselves and the normalized `Contact` are in the
//! `cardbridge-connectors` crate (`connectors/`).
//!
//! # Layout
//!
//! - `cli`: the command line (`serve`, `check`, `export`, `status`, `accept`,
//!   `hash-password`, `google-login`).
//! - `config`: the TOML configuration, one file per table (`[server]`, `[store]`, `[auth]`,
//!   `[[source]]`, `[[addressbook]]`); pure data, nothing is built from it here.
//! - `source_setup`: instantiates the configured sources (at start, and for `check`/`export`).
//! - `poller`: polls each source on its schedule, retries failures, and publishes changed
//!   books (`poller/publish.rs`); reports to operators through the status file.
//! - `store`: per-book snapshots, content-hash ETags (`store/etag.rs`), the state digest behind
//!   sync tokens (`store/digest.rs`, URI form in `store/token_uri.rs`), the change log, the
//!   removal guard, and the redb state file (`store/state_file.rs`).
//! - `app`: `AppState`, what the request path and the poller share in memory (configuration,
//!   books, render cache, authentication, the state file handle).
//! - `render_cache`: rendered vCards cached by (ETag, version).
//! - `memory_budget`: the byte budget of answers cached with a book state.
//! - `vcard`: rendering a contact as vCard 3.0 / 4.0, with size caps.
//! - `auth`: HTTP Basic against static users or a directory, with login throttling.
//! - `http`: connections, request heads and bodies within limits, replies, HTTPS with
//!   certificate renewal, trusted proxies, the SIGTERM drain (on pingora).
//! - `dav`: the read-only WebDAV/CardDAV layer, from a parsed request to a reply.
//! - `push`: WebDAV-Push: registrations, and a Web Push message to each subscribed phone
//!   when a book changes (encrypted, VAPID-signed, rate-limited, retried).
//! - `metrics`: Prometheus counters of requests and logins, the text format, process figures.
//! - `ops`: the operator endpoints `/healthz`, `/readyz` (probes) and `/metrics` (the scrape).
//! - `status_file`: the operator files in the state directory (`status.json` for
//!   `cardbridge status`, accept requests from `cardbridge accept`).
//! - `web`: the web face for people: their books, device setup (Apple profile, QR code,
//!   DAVx5, Thunderbird, Evolution); browsers asking for HTML only, DAV clients never.
//! - `fuzzing`: entry points for the fuzz targets and the corpus replay test.

// Sources and clients send anything: a panic there would drop a poll or a connection. Tests
// (clippy.toml) and the integration tests' support code may unwrap.
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dav;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod memory_budget;
pub mod metrics;
pub mod ops;
pub mod poller;
pub mod push;
pub mod render_cache;
pub mod source_setup;
pub mod status_file;
pub mod store;
pub mod vcard;
pub mod web;
