//! Contact sources for cardbridge and the normalized model they all emit.
//!
//! This crate knows nothing of HTTP, DAV or vCard: a source turns foreign data into
//! [`Contact`]s and the server takes it from there.

// Sources and clients send anything: a panic there would drop a poll or a connection. Tests
// (clippy.toml) and the integration tests' support code may unwrap.
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod activesync;
mod checkpoint;
pub mod contact;
pub mod csv;
pub mod duration;
pub mod file_watch;
#[doc(hidden)]
pub mod fuzzing;
pub mod google;
pub mod intake;
pub mod ldap;
pub mod live;
pub mod phone;
pub mod photo;
pub mod regular;
pub mod source;

pub use contact::*;
pub use intake::{Collected, Intake, Take};
pub use live::{Changes, Live, WatchEnd};
pub use source::{Cancel, PollOutcome, SkippedRecord, Source, SourceError, Throttled};
