//! Data the layers above compute from one published state (a search index, answers whose
//! bytes depend only on it): computed once, on first use, and dropped with the state. The
//! store does not know what is kept here; each kind is found by its type.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

type Slot = Arc<dyn Any + Send + Sync>;

#[derive(Default)]
pub struct Derived {
    /// One `OnceLock<Arc<T>>` per type asked for.
    slots: Mutex<Vec<Slot>>,
}

impl Derived {
    /// The `T` of this state, computed by `init` the first time it is asked for. Concurrent
    /// first callers wait for one computation; other types are not held up meanwhile.
    pub fn get_or_init<T: Any + Send + Sync>(&self, init: impl FnOnce() -> T) -> Arc<T> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            let found = slots
                .iter()
                .find_map(|s| Arc::clone(s).downcast::<OnceLock<Arc<T>>>().ok());
            match found {
                Some(slot) => slot,
                None => {
                    let slot = Arc::new(OnceLock::<Arc<T>>::new());
                    slots.push(Arc::clone(&slot) as Slot);
                    slot
                }
            }
        };
        Arc::clone(slot.get_or_init(|| Arc::new(init())))
    }
}

impl fmt::Debug for Derived {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds = self.slots.lock().map_or(0, |s| s.len());
        write!(f, "Derived({kinds} kinds)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computed_once_per_type() {
        let derived = Derived::default();
        let a = derived.get_or_init(|| 1u32);
        let b = derived.get_or_init(|| 2u32);
        let c = derived.get_or_init(|| "text");
        assert_eq!((*a, *b, *c), (1, 1, "text"));
    }
}
