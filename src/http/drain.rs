//! Stopping without cutting answers short. On SIGTERM the server first drains: `/readyz`
//! answers 503 so load balancers stop sending, kept-alive connections close after their
//! current answer, and the requests in flight (a phone's first sync may stream for seconds)
//! finish; at most `DRAIN_BOUND` later pingora stops the listeners and the process exits.
//! (pingora on its own cancels every answer in flight when its runtime stops.)

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::server::{ShutdownSignal, ShutdownSignalWatch};
use tokio::signal::unix::{signal, SignalKind};

/// The longest a stop waits for requests in flight.
pub const DRAIN_BOUND: Duration = Duration::from_secs(10);

/// Requests being answered, and whether the server is stopping.
#[derive(Default)]
pub struct Drain {
    in_flight: AtomicUsize,
    draining: AtomicBool,
}

/// One request being answered; dropping it ends it.
pub struct InFlight(Arc<Drain>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drain {
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Marks the server as stopping and waits (at most `DRAIN_BOUND`) until no request is in
    /// flight.
    async fn drain(&self) {
        self.draining.store(true, Ordering::Release);
        let waiting = self.in_flight.load(Ordering::Acquire);
        tracing::info!(
            in_flight = waiting,
            "SIGTERM: finishing the requests in flight"
        );
        let deadline = tokio::time::Instant::now() + DRAIN_BOUND;
        while self.in_flight.load(Ordering::Acquire) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let left = self.in_flight.load(Ordering::Acquire);
        if left > 0 {
            tracing::warn!(in_flight = left, "stopping with requests still in flight");
        } else {
            tracing::info!("every request answered; stopping");
        }
    }
}

/// pingora's signal watch, with the drain before a graceful stop: SIGTERM drains then stops,
/// SIGINT stops at once, SIGQUIT is pingora's graceful upgrade.
pub struct DrainingShutdown(pub Arc<Drain>);

#[async_trait]
impl ShutdownSignalWatch for DrainingShutdown {
    async fn recv(&self) -> ShutdownSignal {
        let (Ok(mut quit), Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::quit()),
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot listen for SIGTERM, SIGINT and SIGQUIT");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = quit.recv() => ShutdownSignal::GracefulUpgrade,
            _ = int.recv() => ShutdownSignal::FastShutdown,
            _ = term.recv() => {
                self.0.drain().await;
                ShutdownSignal::GracefulTerminate
            }
        }
    }
}
