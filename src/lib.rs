//! cardbridge: a read-only CardDAV server for contact sources that do not speak CardDAV.
//!
//! Data flows one way: sources are polled (`poller`, `sources`), their contacts become book
//! snapshots (`store`), and the DAV layer (`dav`, over `http`) answers from those snapshots.

// Sources and clients send anything: a panic there would drop a poll or a connection. Tests
// (clippy.toml) and the integration tests' support code may unwrap.
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod auth;
pub mod cards;
pub mod cli;
pub mod config;
pub mod dav;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod poller;
pub mod sources;
pub mod state;
pub mod status;
pub mod store;
pub mod vcard;
