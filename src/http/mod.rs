//! HTTP on pingora: reading requests within limits, authentication, writing replies
//! (streamed when large), keep-alive.

mod body;
mod connection;
mod framing;
mod head;
mod limits;
mod server;

pub use server::{run, CardDavApp};
