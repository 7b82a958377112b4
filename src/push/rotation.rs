//! VAPID key rotation (draft §"Key Rotation"), asked for with `cardbridge rotate-push-key`:
//! a request file in the state directory that the running server (or the next start) picks
//! up. The new key replaces the old one, the subscriptions bound to the old key are
//! forgotten, and each distinct push resource gets the key rotation message, signed with the
//! old key (the only one its push service accepts), so the phone fetches the new key and
//! registers again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::deliver::{self, Headers, Outcome};
use super::message;
use super::Push;

fn request_path(state_dir: &Path) -> PathBuf {
    state_dir.join("push-rotate-key")
}

/// Asks the server to rotate its VAPID key.
pub fn request(state_dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(state_dir)?;
    std::fs::write(request_path(state_dir), b"")
}

/// Whether a rotation was asked for (the request is consumed).
pub fn take_request(state_dir: &Path) -> bool {
    std::fs::remove_file(request_path(state_dir)).is_ok()
}

/// Rotates the key and tells every distinct subscription, once each, best effort.
pub async fn rotate(push: &Arc<Push>, client: &reqwest::Client) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let registry = Arc::clone(push);
    let rotated = tokio::task::spawn_blocking(move || registry.registry.rotate(now)).await;
    let (old, subscriptions) = match rotated {
        Ok(Ok(rotated)) => rotated,
        Ok(Err(e)) => return tracing::error!("VAPID key not rotated: {e}"),
        Err(e) => return tracing::error!("VAPID key not rotated: {e}"),
    };
    // One message per push resource, however many books it was registered for.
    let distinct: BTreeMap<_, _> = subscriptions
        .into_iter()
        .map(|s| (s.push_resource.clone(), s))
        .collect();
    let body = message::key_rotation();
    for subscription in distinct.values() {
        let headers = Headers {
            settings: &push.settings,
            topic: None,
        };
        match deliver::send(client, subscription, &body, &old, headers, now).await {
            Outcome::Delivered | Outcome::Gone => {}
            other => tracing::warn!(
                subscription = %subscription.id,
                "key rotation message not delivered: {other:?}"
            ),
        }
    }
    tracing::info!(
        told = distinct.len(),
        "key rotation sent to the subscriptions"
    );
}
