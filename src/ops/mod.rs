//! The operator endpoints, answered without credentials and off the DAV paths: `/healthz`
//! (the process serves), `/readyz` (every book is loaded and no source has failed for too
//! long) and `/metrics` (Prometheus, only to `[server] metrics_allow`).

mod health;
mod metrics;

use std::net::IpAddr;
use std::time::SystemTime;

use crate::app::AppState;
use crate::dav::Reply;
use crate::metrics::exposition::CONTENT_TYPE;

const TEXT: &str = "text/plain; charset=utf-8";

/// The answer for an operator path, or `None` when `path` is not one (the DAV layer answers).
/// `open_connections` comes from the HTTP layer's connection caps; `stopping` is set while a
/// SIGTERM drains the requests in flight.
pub fn answer(
    app: &AppState,
    path: &str,
    client: IpAddr,
    open_connections: usize,
    stopping: bool,
) -> Option<Reply> {
    let path = path.split('?').next().unwrap_or(path);
    match path {
        "/healthz" => Some(Reply::new(200).body(TEXT, "ok\n")),
        "/readyz" if stopping => Some(Reply::new(503).body(TEXT, "not ready: stopping\n")),
        "/readyz" => Some(readiness(app)),
        "/metrics" => Some(if metrics_allowed(app, client) {
            Reply::new(200).body(CONTENT_TYPE, metrics::render(app, open_connections))
        } else {
            Reply::new(404).body(TEXT, "Not Found\n")
        }),
        _ => None,
    }
}

fn readiness(app: &AppState) -> Reply {
    let reasons = health::not_ready_reasons(app, app.config.ready_max_failing, SystemTime::now());
    if reasons.is_empty() {
        Reply::new(200).body(TEXT, "ready\n")
    } else {
        let mut text = String::from("not ready:\n");
        for reason in reasons {
            text.push_str(&reason);
            text.push('\n');
        }
        Reply::new(503).body(TEXT, text)
    }
}

/// Whether `client` is in `[server] metrics_allow`.
fn metrics_allowed(app: &AppState, client: IpAddr) -> bool {
    app.config
        .metrics_allow
        .iter()
        .any(|net| net.contains(&client))
}
