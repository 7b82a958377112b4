//! cardbridge: a read-only CardDAV server for contact sources that do not speak CardDAV.
//!
//! Data flows one way: sources are polled (`poller`, `sources`), their contacts become book
//! snapshots (`store`), and the DAV layer (`dav`, over `http`) answers from those snapshots.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dav;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod poller;
pub mod render_cache;
pub mod source_setup;
pub mod status_file;
pub mod store;
pub mod vcard;
