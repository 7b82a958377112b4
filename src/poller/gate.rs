//! The poll gate: one poll of a source at a time, counting the blocking work a timed-out poll
//! left running.

use cardbridge_connectors::Cancel;

use super::failure::PollFailure;

/// One poll of a source at a time, counting the blocking work a timed-out poll left running:
/// a stuck source must not stack threads and parses, one per retry.
#[derive(Default)]
pub(super) struct PollGate {
    /// The last poll's token: its blocking work may outlive its timeout.
    last: Cancel,
}

impl PollGate {
    /// The token of a new poll, or [`PollFailure::Busy`] while the previous poll's work
    /// still runs.
    pub(super) fn begin(&mut self) -> Result<Cancel, PollFailure> {
        if self.last.is_running() {
            return Err(PollFailure::Busy);
        }
        self.last = Cancel::default();
        Ok(self.last.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;

    /// A poll given up while its blocking work ignores the cancellation (a decoder deep in
    /// one image): no new poll starts until that work has ended.
    #[tokio::test]
    async fn a_source_is_not_polled_while_a_given_up_poll_still_works() {
        let mut gate = PollGate::default();
        let cancel = gate.begin().expect("the first poll starts");
        let (release, held) = std::sync::mpsc::channel::<()>();
        let work = cancel.spawn_blocking(move || held.recv());
        // The poll times out: it is cancelled and dropped, its work goes on.
        cancel.cancel();
        drop(work);
        assert!(matches!(gate.begin(), Err(PollFailure::Busy)));
        assert!(
            matches!(gate.begin(), Err(PollFailure::Busy)),
            "still busy on the next retry"
        );
        release.send(()).expect("release the work");
        let deadline = Instant::now() + Duration::from_secs(10);
        while cancel.is_running() {
            assert!(Instant::now() < deadline, "the work ended");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let next = gate.begin().expect("a poll starts once the work has ended");
        assert!(!next.is_cancelled(), "with a fresh token");
    }
}
