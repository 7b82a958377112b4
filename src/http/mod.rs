//! HTTP on pingora: connections within caps, request heads within a deadline, bodies within
//! limits, authentication, writing replies (streamed when large), keep-alive.

mod body;
mod connection;
mod framing;
mod head;
mod limits;
mod server;

pub use server::{run, CardDavApp};
