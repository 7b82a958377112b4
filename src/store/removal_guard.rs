//! The removal guard: a poll that would remove too much of a book is held, not published,
//! until an operator accepts it (`cardbridge accept`). A wrong base DN or a truncated export
//! must not wipe every phone.

/// When a poll removes more than `share` of a book and at least `min_removals` cards, it is
/// held until an operator accepts it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RemovalGuard {
    pub share: f64,
    pub min_removals: usize,
}

impl RemovalGuard {
    /// Whether removing `removed` of a book's `before` cards trips the guard.
    pub fn trips(&self, removed: usize, before: usize) -> bool {
        removed >= self.min_removals && (removed as f64) > self.share * before as f64
    }
}

/// A poll held back by the removal guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub removals: usize,
    pub members_now: usize,
    pub members_held: usize,
    pub since: u64,
    /// The names (`FN`) of the first `SAMPLE` (10) cards it would remove, so an operator can
    /// tell a wrong filter from real departures.
    pub sample: Vec<String>,
}

/// How many removed names a [`Hold`] keeps.
pub const SAMPLE: usize = 10;
