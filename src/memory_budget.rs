//! A byte budget shared by caches whose entries are freed wherever they are dropped (with
//! the book state that holds them): an entry is charged when it is kept and the charge is
//! given back when it is dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Debug)]
pub struct Budget {
    limit: u64,
    used: AtomicU64,
}

/// Bytes held against a [`Budget`] until dropped.
#[derive(Debug)]
pub struct Charge {
    budget: Arc<Budget>,
    bytes: u64,
}

impl Budget {
    pub fn new(limit: u64) -> Arc<Budget> {
        Arc::new(Budget {
            limit,
            used: AtomicU64::new(0),
        })
    }

    /// Whether `bytes` could be kept at all: larger entries are never worth recording.
    pub fn fits(&self, bytes: u64) -> bool {
        bytes <= self.limit
    }

    /// Charges `bytes`, or `None` when that would exceed the limit.
    pub fn charge(self: &Arc<Budget>, bytes: u64) -> Option<Charge> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .ok()?;
        Some(Charge {
            budget: Arc::clone(self),
            bytes,
        })
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_up_to_the_limit_and_gives_back() {
        let budget = Budget::new(100);
        let a = budget.charge(60);
        assert!(a.is_some());
        assert!(budget.charge(50).is_none());
        drop(a);
        assert_eq!(budget.used(), 0);
        assert!(budget.charge(100).is_some());
    }
}
