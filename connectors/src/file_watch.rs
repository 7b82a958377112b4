//! Watching source files with inotify (through `notify`): a changed CSV or ActiveSync export
//! is read within moments of being written, instead of at the next stat of a polling loop.
//! Only a trigger: the poller debounces the events (a file written in several steps is read
//! once, after the last step) and reads the files as any poll does.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecursiveMode, Watcher};

use crate::{Changes, WatchEnd};

/// Watches `path` until the watch fails: a directory's entries, or one file through its
/// directory (so a file replaced by a rename, as editors and exports do, is still seen).
pub async fn watch(path: &Path, changes: &Changes) -> WatchEnd {
    let (dir, only) = if path.is_dir() {
        (path.to_path_buf(), None)
    } else {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        (dir, path.file_name().map(OsString::from))
    };
    let (lost, mut lost_rx) = tokio::sync::mpsc::channel::<String>(1);
    let signal = changes.clone();
    let watched = dir.clone();
    let handler = move |event: notify::Result<Event>| match event {
        Ok(event) => {
            if matches!(event.kind, EventKind::Remove(_)) && event.paths.contains(&watched) {
                // Nothing more will be seen: watched again (once it exists) after a backoff.
                let _ = lost.try_send("the directory was removed".into());
            } else if is_change(&event.kind) && concerns(&event, only.as_deref()) {
                signal.changed();
            }
        }
        Err(e) => {
            let _ = lost.try_send(e.to_string());
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(e) => return WatchEnd::Lost(format!("cannot watch {}: {e}", dir.display())),
    };
    if let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
        return WatchEnd::Lost(format!("cannot watch {}: {e}", dir.display()));
    }
    changes.live(crate::Live::Inotify);
    // A change made before the watch started (the poller starts it after the first read).
    changes.changed();
    let reason = lost_rx
        .recv()
        .await
        .unwrap_or_else(|| "the watch stopped".into());
    WatchEnd::Lost(format!("watching {}: {reason}", dir.display()))
}

/// Whether an event may change what a poll reads: not the opens and reads of polls
/// themselves, but writes, renames, removals (and the rescan inotify asks for on overflow).
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Whether the event is about the watched file (`only`), or any visible entry of the
/// watched directory. An event without a path (an overflow) concerns everything.
fn concerns(event: &Event, only: Option<&std::ffi::OsStr>) -> bool {
    if event.paths.is_empty() {
        return true;
    }
    event.paths.iter().any(|p| match (p.file_name(), only) {
        (Some(name), Some(only)) => name == only,
        (Some(name), None) => !name.to_string_lossy().starts_with('.'),
        (None, _) => true,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Waits for the next change (or says there was none within a while).
    async fn next(changes: &Changes) -> bool {
        tokio::time::timeout(Duration::from_secs(10), changes.next())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn writes_and_renames_of_the_file_are_changes_reads_are_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("contacts.csv");
        std::fs::write(&file, "a\n").expect("write");
        let changes = Changes::default();
        let watching = changes.clone();
        let path = file.clone();
        let task = tokio::spawn(async move { watch(&path, &watching).await });
        assert!(next(&changes).await, "the catch-up once the watch runs");
        assert!(changes.mode().is_some());
        std::fs::write(&file, "b\n").expect("write");
        assert!(next(&changes).await, "a write is a change");
        // Let the write's events settle, then consume what is left of them.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = tokio::time::timeout(Duration::from_millis(50), changes.next()).await;

        let _ = std::fs::read(&file).expect("read");
        std::fs::write(dir.path().join("other.txt"), "x").expect("other file");
        assert!(
            tokio::time::timeout(Duration::from_millis(300), changes.next())
                .await
                .is_err(),
            "reading the file, or writing another one, is no change"
        );

        let tmp = dir.path().join("contacts.tmp");
        std::fs::write(&tmp, "c\n").expect("write");
        std::fs::rename(&tmp, &file).expect("rename");
        assert!(next(&changes).await, "a rename into place is a change");
        task.abort();
    }

    #[tokio::test]
    async fn a_removed_folder_ends_the_watch() {
        let parent = tempfile::tempdir().expect("tempdir");
        let folder = parent.path().join("exports");
        std::fs::create_dir(&folder).expect("folder");
        let changes = Changes::default();
        let watching = changes.clone();
        let path = folder.clone();
        let task = tokio::spawn(async move { watch(&path, &watching).await });
        assert!(next(&changes).await, "the catch-up once the watch runs");
        std::fs::remove_dir(&folder).expect("remove");
        let end = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the watch ended")
            .expect("joined");
        assert!(
            matches!(end, WatchEnd::Lost(ref m) if m.contains("removed")),
            "{end:?}"
        );
    }
}
