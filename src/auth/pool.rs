//! A bounded pool for password verifications: argon2 holds ~19 MiB for tens of
//! milliseconds, so wrong passwords arriving faster than they are checked must wait in a
//! bounded queue or be turned away, never each get a thread and its memory.

use std::sync::Arc;

use tokio::sync::Semaphore;

/// The queue is full; the client should try again later.
#[derive(Debug, PartialEq, Eq)]
pub struct Busy;

pub struct VerifyPool {
    /// Verifications running or waiting to run.
    admitted: Arc<Semaphore>,
    /// Verifications running.
    running: Arc<Semaphore>,
    #[cfg(test)]
    pub(crate) started: std::sync::atomic::AtomicU64,
}

impl VerifyPool {
    pub fn new(threads: usize, queue: usize) -> VerifyPool {
        let threads = threads.max(1);
        VerifyPool {
            admitted: Arc::new(Semaphore::new(threads.saturating_add(queue))),
            running: Arc::new(Semaphore::new(threads)),
            #[cfg(test)]
            started: Default::default(),
        }
    }

    /// Runs `verify` on a blocking thread once a slot is free. The permits travel with the
    /// work, so a client that hangs up does not free its slot before argon2 is done.
    pub async fn run(&self, verify: impl FnOnce() -> bool + Send + 'static) -> Result<bool, Busy> {
        let admitted = Arc::clone(&self.admitted)
            .try_acquire_owned()
            .map_err(|_| Busy)?;
        let running = Arc::clone(&self.running)
            .acquire_owned()
            .await
            .map_err(|_| Busy)?;
        #[cfg(test)]
        self.started
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(tokio::task::spawn_blocking(move || {
            let _slots = (admitted, running);
            verify()
        })
        .await
        .unwrap_or(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_is_turned_away_without_running() {
        let pool = Arc::new(VerifyPool::new(1, 1));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = std::sync::Mutex::new(wait);
        let blocker = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move {
                pool.run(move || wait.lock().map(|w| w.recv().is_ok()).unwrap_or(false))
                    .await
            })
        };
        while pool.running.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let queued = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move { pool.run(|| true).await })
        };
        while pool.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pool.run(|| true).await, Err(Busy));
        release.send(()).expect("release");
        assert_eq!(blocker.await.expect("join"), Ok(true));
        assert_eq!(queued.await.expect("join"), Ok(true));
        assert_eq!(pool.run(|| false).await, Ok(false));
    }
}
