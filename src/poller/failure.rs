//! Why a poll did not apply, and when the source is tried again: the cause decides. A server
//! that is down is retried soon, with growing waits; a refused login only once per poll
//! interval (at least [`MAX_BACKOFF`]), since quick retries with a changed password would lock
//! the service account out (Active Directory's lockout counts every failed bind); a rate limit
//! is waited out for as long as the source asked.

use std::time::Duration;

use cardbridge_connectors::SourceError;

/// Longest wait between retries of a failing source.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The error of a poll not started because the previous one's work has not ended.
pub const BUSY: &str = "still busy: the work of the previous poll, given up after its timeout, \
                        has not ended yet; not polling again until it has";

#[derive(Debug)]
pub enum PollFailure {
    /// The source's own error.
    Source(SourceError),
    /// No answer within the source's timeout; the poll was cancelled.
    Timeout(Duration),
    /// The previous poll's work still runs ([`BUSY`]).
    Busy,
    /// The poll applied, but a book fed by it could not be recorded (a full disk).
    Unsaved(String),
}

impl std::fmt::Display for PollFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PollFailure::Source(error) => write!(f, "{error}"),
            PollFailure::Timeout(timeout) => write!(f, "no answer within {timeout:?}"),
            PollFailure::Busy => f.write_str(BUSY),
            PollFailure::Unsaved(message) => f.write_str(message),
        }
    }
}

impl PollFailure {
    /// The cause in one word, for the status file.
    pub fn cause(&self) -> &'static str {
        match self {
            PollFailure::Source(error) => error.cause(),
            PollFailure::Timeout(_) | PollFailure::Busy => "timeout",
            PollFailure::Unsaved(_) => "state-file",
        }
    }

    /// How long to wait before the next poll, after `failures` failures in a row, for a source
    /// polled every `interval`.
    pub fn retry_in(&self, failures: u32, interval: Duration) -> Duration {
        let backoff = backoff(failures);
        match self {
            PollFailure::Source(SourceError::RateLimited {
                retry_after: Some(wait),
                ..
            }) => backoff.max(*wait),
            PollFailure::Source(SourceError::Refused(_) | SourceError::Config(_)) => {
                interval.max(MAX_BACKOFF)
            }
            _ => backoff,
        }
    }
}

/// 2^failures seconds, capped, with up to 50% jitter so replicas do not retry in step.
pub(super) fn backoff(failures: u32) -> Duration {
    let base = Duration::from_secs(1u64 << failures.min(16)).min(MAX_BACKOFF);
    base.mul_f64(0.5 + fastrand::f64() * 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(60);

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_secs(2));
        assert!(backoff(3) >= Duration::from_secs(4));
        assert!(backoff(40) <= MAX_BACKOFF);
        assert!(backoff(40) >= MAX_BACKOFF / 2);
    }

    #[test]
    fn an_unreachable_server_is_retried_soon_and_then_less_often() {
        let down = PollFailure::Source(SourceError::Unreachable("connection refused".into()));
        assert!(down.retry_in(1, INTERVAL) <= Duration::from_secs(2));
        assert!(down.retry_in(6, INTERVAL) >= Duration::from_secs(32));
        assert_eq!(down.cause(), "unreachable");
    }

    #[test]
    fn a_refused_login_waits_a_whole_interval_from_the_first_failure() {
        let refused = PollFailure::Source(SourceError::Refused("bind refused".into()));
        assert_eq!(refused.retry_in(1, INTERVAL), MAX_BACKOFF);
        let hourly = Duration::from_secs(3600);
        assert_eq!(refused.retry_in(1, hourly), hourly);
        assert_eq!(refused.cause(), "refused");
    }

    #[test]
    fn a_rate_limit_is_waited_out_as_asked() {
        let limited = PollFailure::Source(SourceError::RateLimited {
            retry_after: Some(Duration::from_secs(120)),
            message: "429".into(),
        });
        assert!(limited.retry_in(1, INTERVAL) >= Duration::from_secs(120));
        assert_eq!(limited.cause(), "rate-limited");
    }
}
