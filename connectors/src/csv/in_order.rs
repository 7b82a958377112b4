//! Converting a chunk of rows on two threads: most of the time of reading a directory goes to
//! turning rows into contacts (phone numbers above all), which one row at a time leaves the
//! machine's second core idle. The results come back in row order, so what a poll publishes
//! and reports is the same whichever thread converted a row.

/// `convert` applied to each of `items`, in their order: the second half on a thread of its
/// own (on this one when no thread can be started).
pub fn map<T: Sync, R: Send>(items: &[T], convert: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let (first, second) = items.split_at(items.len() / 2);
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("csv rows".into())
            .spawn_scoped(scope, || second.iter().map(&convert).collect::<Vec<R>>());
        let mut out: Vec<R> = Vec::with_capacity(items.len());
        out.extend(first.iter().map(&convert));
        match helper {
            Ok(helper) => match helper.join() {
                Ok(rest) => out.extend(rest),
                Err(panic) => std::panic::resume_unwind(panic),
            },
            Err(_) => out.extend(second.iter().map(&convert)),
        }
        out
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_order_of_the_items() {
        for n in [0, 1, 2, 7, 1000] {
            let items: Vec<usize> = (0..n).collect();
            assert_eq!(
                super::map(&items, |i| i * 2),
                items.iter().map(|i| i * 2).collect::<Vec<_>>()
            );
        }
    }
}
