//! Source checkpoints: what a source needs after a restart to go on where it was (a syncrepl
//! cookie and the listing it belongs to) instead of listing everything again. Taken after a
//! poll whose publication is recorded, so a checkpoint is never ahead of the books; resuming
//! from an older one replays the changes since, which the store absorbs (same content, same
//! ETags).

use std::time::Duration;

use cardbridge_connectors::Source;
use tokio::time::Instant;

use crate::config::SourceConfig;

use super::Shared;

/// Checkpoints are taken at most this often (and at the first poll after a watch starts, so
/// one holds the watch's position): each holds the source's whole listing.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);

impl Shared {
    /// Hands `source` the checkpoint an earlier run saved for its configuration, if any.
    pub(super) async fn resume_source(&self, config: &SourceConfig, source: &dyn Source) {
        let Some(state_file) = self.app().state_file.clone() else {
            return;
        };
        let (id, key) = (config.id.clone(), config.key.clone());
        let saved = tokio::task::spawn_blocking(move || state_file.checkpoint(&id, &key)).await;
        match saved {
            Ok(Ok(Some(checkpoint))) => {
                tracing::info!(source = %config.id, bytes = checkpoint.len(), "resuming from the saved checkpoint");
                source.resume(&checkpoint).await;
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                tracing::warn!(source = %config.id, "checkpoint not read, listing in full: {e}")
            }
            Err(e) => tracing::warn!(source = %config.id, "checkpoint not read: {e}"),
        }
    }

    /// Saves the source's checkpoint after a successful poll, unless one was saved less than
    /// [`CHECKPOINT_EVERY`] ago (`last`).
    pub(super) async fn checkpoint_source(
        &self,
        config: &SourceConfig,
        source: &dyn Source,
        last: &mut Option<Instant>,
    ) {
        if last.is_some_and(|t| t.elapsed() < CHECKPOINT_EVERY) {
            return;
        }
        let Some(state_file) = self.app().state_file.clone() else {
            return;
        };
        let Some(checkpoint) = source.checkpoint().await else {
            return;
        };
        let (id, key) = (config.id.clone(), config.key.clone());
        let saved =
            tokio::task::spawn_blocking(move || state_file.save_checkpoint(&id, &key, &checkpoint))
                .await;
        match saved {
            Ok(Ok(())) => {
                tracing::info!(source = %config.id, "checkpoint saved");
                *last = Some(Instant::now());
            }
            Ok(Err(e)) => tracing::warn!(source = %config.id, "checkpoint not saved: {e}"),
            Err(e) => tracing::warn!(source = %config.id, "checkpoint not saved: {e}"),
        }
    }
}
