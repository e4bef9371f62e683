//! Work shared between the machine's cores, with output that does not depend on how many there are.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The cores this process may use, asked once: `available_parallelism` reads the cgroup's quota
/// files on every call, which costs more than rendering a service.
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

thread_local! {
    /// Whether this thread is one of [`in_parallel`]'s workers: the cores are busy already, so a
    /// nested call runs its items in turn instead of starting threads of its own.
    static IN_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// `f` of every item, in order, the items shared between the machine's cores (services render
/// independently of each other, and so do environments). The output does not depend on how many
/// cores there are. Called from inside another call's worker, it runs in that worker: the outer
/// call has shared the cores out already, and threads started for the inner items would only
/// cost their start-up.
pub fn in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = if IN_WORKER.get() { 1 } else { cores().min(items.len()).max(1) };
    if workers == 1 {
        return items.iter().map(f).collect();
    }
    // Each worker takes the next item not yet taken: items of uneven cost (an environment and the
    // base, a large service and a small one) keep every core busy to the end.
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let (f, next) = (&f, &next);
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(move || {
                    IN_WORKER.set(true);
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break mine };
                        mine.push((i, f(item)));
                    }
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("rendering a service does not panic")).collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Drops `items` on the machine's cores: freeing an environment's objects costs about as much as
/// a tenth of building them, and would otherwise end every render on one core.
pub fn drop_in_parallel<T: Send>(items: Vec<T>) {
    let workers = if IN_WORKER.get() { 1 } else { cores().min(items.len()) };
    if workers <= 1 {
        return drop(items);
    }
    let chunk = items.len().div_ceil(workers);
    let mut items = items.into_iter();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let part: Vec<T> = items.by_ref().take(chunk).collect();
            scope.spawn(move || drop(part));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order_and_nested_calls_stay_in_their_worker() {
        let items: Vec<u32> = (0..7).collect();
        let out = in_parallel(&items, |&i| {
            let me = std::thread::current().id();
            let inner = in_parallel(&[1, 2, 3], |&j| (std::thread::current().id(), i * 10 + j));
            assert!(inner.iter().all(|(id, _)| *id == me), "a nested call started threads");
            inner.into_iter().map(|(_, v)| v).collect::<Vec<_>>()
        });
        let want: Vec<Vec<u32>> = (0..7).map(|i| vec![i * 10 + 1, i * 10 + 2, i * 10 + 3]).collect();
        assert_eq!(out, want);
    }

    #[test]
    fn every_item_is_dropped() {
        let alive = std::sync::Arc::new(());
        let items: Vec<_> = (0..5).map(|_| std::sync::Arc::clone(&alive)).collect();
        assert_eq!(std::sync::Arc::strong_count(&alive), 6);
        drop_in_parallel(items);
        assert_eq!(std::sync::Arc::strong_count(&alive), 1);
    }
}
