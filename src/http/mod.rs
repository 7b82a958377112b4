//! HTTP on pingora: reading requests within limits, authentication, writing replies
//! (streamed when large), keep-alive.

mod body;
mod framing;
mod head;
mod server;

pub use server::{run, CardDavApp};
