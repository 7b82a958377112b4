//! Caps on open connections, in total and per client address: connections that idle or
//! dribble must not use up the file descriptors real clients need, and one address must not
//! use up the total.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

pub struct ConnectionLimits {
    total: usize,
    per_client: usize,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// One admitted connection; dropping it frees its place.
pub struct Admitted {
    limits: Arc<ConnectionLimits>,
    client: Option<IpAddr>,
}

impl ConnectionLimits {
    /// `total` and `per_client` as configured, else derived from the file-descriptor limit.
    pub fn new(total: Option<usize>, per_client: Option<usize>) -> ConnectionLimits {
        let total = total.unwrap_or_else(|| from_fd_limit(fd_limit()));
        ConnectionLimits {
            total,
            per_client: per_client.unwrap_or((total / 4).max(1)),
            open: Mutex::default(),
        }
    }

    pub fn total(&self) -> usize {
        self.total
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }

    pub fn per_client(&self) -> usize {
        self.per_client
    }

    /// A place for a connection from `client`, or `None` when a cap is reached. Connections
    /// without an IP address (Unix sockets) count toward the total only.
    pub fn admit(self: &Arc<Self>, client: Option<IpAddr>) -> Option<Admitted> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.total {
            return None;
        }
        if let Some(ip) = client {
            let count = open.by_client.entry(ip).or_insert(0);
            if *count >= self.per_client {
                return None;
            }
            *count += 1;
        }
        open.total += 1;
        Some(Admitted {
            limits: Arc::clone(self),
            client,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self
            .limits
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(ip) = self.client {
            if let Some(count) = open.by_client.get_mut(&ip) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    open.by_client.remove(&ip);
                }
            }
        }
    }
}

/// Connections allowed under a file-descriptor limit: a tenth plus 64 descriptors stay free
/// for the state file, sources, LDAP and the listeners.
fn from_fd_limit(limit: u64) -> usize {
    let limit = usize::try_from(limit.min(1 << 20)).unwrap_or(1 << 20);
    limit.saturating_sub(limit / 10 + 64).max(16)
}

/// The soft `RLIMIT_NOFILE` of this process.
fn fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    #[allow(unsafe_code)]
    // SAFETY: getrlimit only writes the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    if ok {
        limit.rlim_cur
    } else {
        1024
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_client_cap_leaves_room_for_other_clients() {
        let limits = Arc::new(ConnectionLimits::new(Some(3), Some(2)));
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let first = limits.admit(Some(a));
        let second = limits.admit(Some(a));
        assert!(first.is_some() && second.is_some());
        assert!(limits.admit(Some(a)).is_none(), "per-client cap");
        let other = limits.admit(Some(b));
        assert!(other.is_some());
        assert!(limits.admit(Some(b)).is_none(), "total cap");
        drop(first);
        assert!(
            limits.admit(Some(a)).is_some(),
            "a closed connection frees its place"
        );
    }

    #[test]
    fn defaults_follow_the_descriptor_limit() {
        assert_eq!(from_fd_limit(1024), 858);
        assert_eq!(from_fd_limit(u64::MAX), (1 << 20) - (1 << 20) / 10 - 64);
        assert_eq!(from_fd_limit(10), 16);
        let limits = ConnectionLimits::new(Some(858), None);
        assert_eq!(limits.per_client(), 214);
    }
}
