//! Values derived from directory data and reused while the data stays the same: validated
//! phone numbers (~18 µs each with libphonenumber) and downscaled photos (~10 ms each). A
//! full listing keeps only what it used, so the cache never outgrows the directory.

use std::collections::HashMap;

use xxhash_rust::xxh3::xxh3_128;

pub struct Reuse<V> {
    /// From earlier polls.
    known: HashMap<u128, V>,
    /// Used by the current poll.
    used: HashMap<u128, V>,
}

impl<V> Default for Reuse<V> {
    fn default() -> Self {
        Reuse {
            known: HashMap::new(),
            used: HashMap::new(),
        }
    }
}

impl<V: Clone> Reuse<V> {
    /// The value for `raw`, computed by `make` only when no earlier poll has seen `raw`.
    pub fn get_or(&mut self, raw: &[u8], make: impl FnOnce() -> V) -> V {
        let key = xxh3_128(raw);
        if let Some(v) = self.used.get(&key) {
            return v.clone();
        }
        let value = self.known.remove(&key).unwrap_or_else(make);
        self.used.insert(key, value.clone());
        value
    }

    /// After a full listing: forget what it did not use.
    pub fn keep_used(&mut self) {
        self.known = std::mem::take(&mut self.used);
    }

    /// After an incremental poll, which sees only part of the directory: keep everything.
    pub fn keep_all(&mut self) {
        self.known.extend(self.used.drain());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_listings_forget_unused_values() {
        let mut cache: Reuse<String> = Reuse::default();
        let calls = std::cell::Cell::new(0);
        let get = |cache: &mut Reuse<String>, raw: &str| {
            cache.get_or(raw.as_bytes(), || {
                calls.set(calls.get() + 1);
                raw.to_uppercase()
            })
        };
        assert_eq!(get(&mut cache, "a"), "A");
        assert_eq!(get(&mut cache, "b"), "B");
        cache.keep_used();
        assert_eq!(get(&mut cache, "a"), "A");
        cache.keep_used();
        // "b" was not used by the last full listing: computed again.
        assert_eq!(get(&mut cache, "b"), "B");
        cache.keep_all();
        assert_eq!(get(&mut cache, "a"), "A");
        assert_eq!(calls.get(), 3);
    }
}
