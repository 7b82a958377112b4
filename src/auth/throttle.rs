//! Growing delays after failed logins, per client address, per user name from one address,
//! and (softer) per user name from everywhere. A throttled attempt is answered before any
//! password is checked. The per-user limit only delays addresses that have themselves failed
//! for that name, so an attacker hammering a name does not lock its owner out elsewhere.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use moka::sync::Cache;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::config::LoginLimits;

/// Bounds each counter table; the oldest entries go first when an attack spans more.
const MAX_TRACKED: u64 = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

pub struct Throttle {
    limits: LoginLimits,
    by_address: Cache<IpAddr, Failures>,
    /// Keyed by a salted hash of the user name: fixed-size keys however long the names.
    by_user_address: Cache<(u64, IpAddr), Failures>,
    by_user: Cache<u64, Failures>,
    salt: u64,
}

impl Throttle {
    pub fn new(limits: &LoginLimits, salt: u64) -> Throttle {
        Throttle {
            limits: limits.clone(),
            by_address: counters(limits),
            by_user_address: counters(limits),
            by_user: counters(limits),
            salt,
        }
    }

    fn user_key(&self, user: &str) -> u64 {
        xxh3_64_with_seed(user.as_bytes(), self.salt)
    }

    /// How long `client` must still wait before trying `user` again, if at all.
    pub fn wait(&self, user: &str, client: IpAddr) -> Option<Duration> {
        let user = self.user_key(user);
        let under_attack = self
            .by_user
            .get(&user)
            .is_some_and(|f| f.count >= self.limits.failures_per_user);
        let free_for_user = if under_attack {
            0
        } else {
            self.limits.failures_per_user_address
        };
        [
            self.remaining(
                self.by_address.get(&client),
                self.limits.failures_per_address,
            ),
            self.remaining(self.by_user_address.get(&(user, client)), free_for_user),
        ]
        .into_iter()
        .flatten()
        .max()
    }

    fn remaining(&self, failures: Option<Failures>, free: u32) -> Option<Duration> {
        let failures = failures?;
        if failures.count == 0 || failures.count < free {
            return None;
        }
        let doublings = (failures.count - free).min(31);
        let delay = self
            .limits
            .first_delay
            .saturating_mul(1u32 << doublings)
            .min(self.limits.max_delay);
        let until = failures.last + delay;
        until.checked_duration_since(Instant::now())
    }

    /// Counts a failed login; warns once when a client starts being delayed (counters are
    /// forgotten after a quiet window, so that is once per client per window).
    pub fn failed(&self, user: &str, client: IpAddr) {
        let key = self.user_key(user);
        let address = bump(&self.by_address, client);
        let pair = bump(&self.by_user_address, (key, client));
        let total = bump(&self.by_user, key);
        let name = user.escape_debug();
        if address == self.limits.failures_per_address {
            tracing::warn!(%client, failures = address, "failed logins from one address; delaying its further attempts");
        }
        if pair == self.limits.failures_per_user_address {
            tracing::warn!(%client, user = %name, failures = pair, "failed logins for one user from one address; delaying its further attempts");
        }
        if total == self.limits.failures_per_user {
            tracing::warn!(user = %name, failures = total, "failed logins for one user from many addresses; delaying every address that fails for it");
        }
    }

    /// A successful login clears that address's failures for that user.
    pub fn succeeded(&self, user: &str, client: IpAddr) {
        self.by_user_address
            .invalidate(&(self.user_key(user), client));
    }
}

fn counters<K>(limits: &LoginLimits) -> Cache<K, Failures>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(MAX_TRACKED)
        .time_to_idle(limits.failure_window)
        .build()
}

/// Adds one failure; returns the new count.
fn bump<K>(cache: &Cache<K, Failures>, key: K) -> u32
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
{
    let now = Instant::now();
    cache
        .entry(key)
        .and_upsert_with(|old| Failures {
            count: old.map_or(0, |e| e.value().count).saturating_add(1),
            last: now,
        })
        .into_value()
        .count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LoginLimits {
        LoginLimits {
            verify_threads: 1,
            verify_queue: 1,
            failures_per_user_address: 3,
            failures_per_address: 10,
            failures_per_user: 6,
            first_delay: Duration::from_secs(60),
            max_delay: Duration::from_secs(600),
            failure_window: Duration::from_secs(900),
        }
    }

    #[test]
    fn delays_start_after_the_free_failures_and_grow() {
        let throttle = Throttle::new(&limits(), 7);
        let client: IpAddr = [192, 0, 2, 1].into();
        for _ in 0..2 {
            throttle.failed("alice", client);
            assert_eq!(throttle.wait("alice", client), None);
        }
        throttle.failed("alice", client);
        let first = throttle.wait("alice", client).expect("delayed");
        throttle.failed("alice", client);
        let second = throttle.wait("alice", client).expect("delayed");
        assert!(first <= Duration::from_secs(60) && second > Duration::from_secs(60));
        // Another user from the same address is not delayed yet; the owner elsewhere neither.
        assert_eq!(throttle.wait("bob", client), None);
        assert_eq!(throttle.wait("alice", [192, 0, 2, 2].into()), None);
        throttle.succeeded("alice", client);
        assert_eq!(throttle.wait("alice", client), None);
    }

    #[test]
    fn many_addresses_failing_for_one_user_are_delayed_but_a_new_one_is_heard() {
        let throttle = Throttle::new(&limits(), 7);
        for i in 0..6u8 {
            throttle.failed("alice", [198, 51, 100, i].into());
        }
        assert!(throttle.wait("alice", [198, 51, 100, 0].into()).is_some());
        assert_eq!(throttle.wait("alice", [203, 0, 113, 9].into()), None);
    }

    #[test]
    fn one_address_guessing_many_names_is_delayed() {
        let throttle = Throttle::new(&limits(), 7);
        let client: IpAddr = [192, 0, 2, 1].into();
        for i in 0..10 {
            throttle.failed(&format!("user{i}"), client);
        }
        assert!(throttle.wait("someone-else", client).is_some());
    }
}
