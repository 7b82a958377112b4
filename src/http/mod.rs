//! HTTP on pingora: connections within caps, request heads within a deadline, bodies within
//! limits, authentication, writing replies (streamed when large), keep-alive, and HTTPS with a
//! certificate re-read when it is renewed (`tls.rs`).

mod body;
mod client_addr;
mod connection;
mod drain;
mod encoding;
mod framing;
mod head;
mod limits;
mod server;
mod tls;
mod zstd_stream;

pub use server::{run, CardDavApp};
pub(crate) use tls::read_pair;
