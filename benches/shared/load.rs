//! The load loop the HTTP benchmarks share: `conns` threads, each on its own connection,
//! sending one request after another for a number of seconds and timing each.
// Each benchmark uses part of it.
#![allow(dead_code)]

use std::io;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// What the load threads saw.
#[derive(Default)]
pub struct Run {
    /// Microseconds per request answered as expected, sorted.
    pub latencies_us: Vec<u32>,
    /// Replies with another status, and failed requests.
    pub errors: usize,
    /// Requests that got no answer within the connection's read timeout.
    pub timeouts: usize,
    /// Body bytes of the expected replies.
    pub bytes: usize,
    /// The longest thread's time from the start to its last answer.
    pub secs: f64,
    /// From the start to the last thread's end, as the main thread saw it.
    pub wall: f64,
}

impl Run {
    pub fn rate(&self) -> f64 {
        self.latencies_us.len() as f64 / self.secs.max(1e-9)
    }

    /// The `p` quantile of the latencies, in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        let n = self.latencies_us.len();
        if n == 0 {
            return 0.0;
        }
        let i = ((n as f64 * p).ceil() as usize).clamp(1, n) - 1;
        self.latencies_us
            .get(i)
            .map_or(0.0, |&us| us as f64 / 1000.0)
    }
}

/// `conns` connections from `connect`, each doing `exchange` back to back for `secs` (each
/// finishes the request it is in). `exchange` answers the body bytes of an expected reply,
/// `None` for an unexpected one; after an error the connection is opened again. With `fresh`
/// every request gets a new connection (a phone polling every few minutes). `at_start` runs on
/// this thread when the clock starts (to read CPU counters); its value comes back with the run.
pub fn run<C, S>(
    conns: usize,
    secs: f64,
    fresh: bool,
    connect: impl Fn() -> io::Result<C> + Sync,
    exchange: impl Fn(&mut C) -> io::Result<Option<usize>> + Sync,
    at_start: impl FnOnce() -> S,
) -> (Run, S) {
    let start = Barrier::new(conns + 1);
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..conns)
            .map(|_| {
                let (start, connect, exchange) = (&start, &connect, &exchange);
                scope.spawn(move || {
                    let mut conn = connect().ok();
                    // One request before the clock starts: connection set up, caches warm.
                    if let Some(c) = conn.as_mut() {
                        let _ = exchange(c);
                    }
                    start.wait();
                    let began = Instant::now();
                    let deadline = began + Duration::from_secs_f64(secs);
                    let mut done = Run::default();
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        if fresh || conn.is_none() {
                            conn = connect().ok();
                        }
                        let Some(c) = conn.as_mut() else {
                            done.errors += 1;
                            break;
                        };
                        match exchange(c) {
                            Ok(Some(bytes)) => {
                                done.latencies_us.push(t.elapsed().as_micros() as u32);
                                done.bytes += bytes;
                            }
                            Ok(None) => done.errors += 1,
                            Err(e) => {
                                if matches!(
                                    e.kind(),
                                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                                ) {
                                    done.timeouts += 1;
                                } else {
                                    done.errors += 1;
                                }
                                conn = None;
                            }
                        }
                    }
                    done.secs = began.elapsed().as_secs_f64();
                    done
                })
            })
            .collect();
        start.wait();
        let began = Instant::now();
        let started = at_start();
        let mut all = Run::default();
        for thread in threads {
            let Ok(done) = thread.join() else {
                all.errors += 1;
                continue;
            };
            all.latencies_us.extend(done.latencies_us);
            all.errors += done.errors;
            all.timeouts += done.timeouts;
            all.bytes += done.bytes;
            all.secs = all.secs.max(done.secs);
        }
        all.wall = began.elapsed().as_secs_f64();
        all.latencies_us.sort_unstable();
        (all, started)
    })
}
