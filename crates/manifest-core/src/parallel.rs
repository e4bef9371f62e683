//! Work shared between the machine's cores, with output that does not depend on how many there are.
//!
//! The cores are shared by a pool of helper threads started once, on the first call, and kept for
//! the life of the process: a render calls [`in_parallel`] several times, and on this project's
//! machines starting threads for each call cost more than the work they shared (a thread's start,
//! its stack's pages, a fresh allocator heap), so that rendering the catalogue on two cores took
//! longer than on one. The calling thread works beside the helpers.

use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

/// The cores this process may use, asked once: `available_parallelism` reads the cgroup's quota
/// files on every call, which costs more than rendering a service.
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

thread_local! {
    /// Whether this thread is working on an [`in_parallel`] call's items (a helper, or a caller
    /// inside its own call): the cores are busy already, so a nested call runs its items in turn.
    static IN_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// What a helper is handed: the call's work loop, and the state it shares with the call.
struct Task {
    work: &'static (dyn Fn() + Sync),
    share: Arc<(Mutex<Share>, Condvar)>,
}

/// Between a call and its helpers: whether the call still takes help (it stops once its own
/// work is done, so a helper busy elsewhere is never waited for), how many helpers are running its
/// work, and the first panic among them.
#[derive(Default)]
struct Share {
    closed: bool,
    running: usize,
    panic: Option<Box<dyn Any + Send>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The helpers' queue: each takes the next task when it is free.
fn tasks() -> &'static Mutex<Sender<Task>> {
    static TASKS: OnceLock<Mutex<Sender<Task>>> = OnceLock::new();
    TASKS.get_or_init(|| {
        let (tasks, queue) = channel::<Task>();
        let queue: &'static Mutex<Receiver<Task>> = Box::leak(Box::new(Mutex::new(queue)));
        for n in 0..cores() - 1 {
            std::thread::Builder::new()
                .name(format!("render-{n}"))
                .spawn(move || {
                    IN_WORKER.set(true);
                    // The queue's lock is held only while waiting: the task runs after it is released.
                    while let Ok(task) = lock(queue).recv() {
                        help(task);
                    }
                })
                .expect("starting a helper thread");
        }
        Mutex::new(tasks)
    })
}

/// A helper's part of a call: nothing if the call has closed, else its work loop.
fn help(task: Task) {
    let (share, finished) = &*task.share;
    {
        let mut s = lock(share);
        if s.closed {
            return;
        }
        s.running += 1;
    }
    let outcome = catch_unwind(AssertUnwindSafe(task.work));
    let mut s = lock(share);
    s.running -= 1;
    if let Err(p) = outcome {
        s.panic.get_or_insert(p);
    }
    // `task.work` is not touched after this: the call may return as soon as `running` is 0.
    finished.notify_all();
}

/// Runs `work` on the calling thread and on up to `helpers` helpers at once, and returns when every
/// helper that started it has finished. A panic in any of them is raised here, after that.
fn on_all_cores(helpers: usize, work: &(dyn Fn() + Sync)) {
    // SAFETY: a helper runs `work` only after counting itself in `running` while the call is open,
    // and this function returns (or unwinds) only after closing the call and seeing `running` at 0:
    // `work` outlives every use of it.
    let shared: &'static (dyn Fn() + Sync) = unsafe { std::mem::transmute(work) };
    let share = Arc::new((Mutex::new(Share::default()), Condvar::new()));
    {
        let tasks = lock(tasks());
        for _ in 0..helpers {
            // Sending fails only if every helper has gone; the work is then done here alone.
            let _ = tasks.send(Task { work: shared, share: Arc::clone(&share) });
        }
    }
    IN_WORKER.set(true);
    let mine = catch_unwind(AssertUnwindSafe(work));
    IN_WORKER.set(false);
    let (state, finished) = &*share;
    let mut s = lock(state);
    s.closed = true;
    while s.running > 0 {
        s = finished.wait(s).unwrap_or_else(|poisoned| poisoned.into_inner());
    }
    if let Some(p) = mine.err().or_else(|| s.panic.take()) {
        drop(s);
        resume_unwind(p);
    }
}

/// `f` of every item, in order, the items shared between the machine's cores (services render
/// independently of each other, and so do environments). The output does not depend on how many
/// cores there are. Called from inside another call's work, it runs in that thread: the outer
/// call has shared the cores out already.
pub fn in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = if IN_WORKER.get() { 1 } else { cores().min(items.len()).max(1) };
    if workers == 1 {
        return items.iter().map(f).collect();
    }
    // Each worker takes the next item not yet taken: items of uneven cost (an environment and the
    // base, a large service and a small one) keep every core busy to the end.
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(items.len()));
    on_all_cores(workers - 1, &|| {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            mine.push((i, f(item)));
        }
        lock(&results).extend(mine);
    });
    let mut done = results.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Drops `items` on the machine's cores: freeing an environment's objects costs about as much as
/// a tenth of building them, and would otherwise end every render on one core.
pub fn drop_in_parallel<T: Send>(items: Vec<T>) {
    let slots: Vec<Mutex<Option<T>>> = items.into_iter().map(|item| Mutex::new(Some(item))).collect();
    in_parallel(&slots, |slot| drop(lock(slot).take()));
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
    fn a_panic_in_any_item_reaches_the_caller_and_the_helpers_live_on() {
        let items: Vec<u32> = (0..64).collect();
        for bad in [0, 63] {
            let caught = catch_unwind(|| in_parallel(&items, |&i| if i == bad { panic!("item {i}") } else { i }));
            let message = caught.expect_err("the panic is raised in the caller");
            assert_eq!(message.downcast_ref::<String>().map(String::as_str), Some(format!("item {bad}").as_str()));
        }
        assert_eq!(in_parallel(&items, |&i| i * 2), items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn callers_on_many_threads_share_the_helpers() {
        let outputs: Vec<Vec<u64>> = std::thread::scope(|scope| {
            let callers: Vec<_> = (0..6u64)
                .map(|t| {
                    scope.spawn(move || {
                        let items: Vec<u64> = (0..200).collect();
                        (0..20).flat_map(|_| in_parallel(&items, |&i| i * t)).collect::<Vec<_>>()
                    })
                })
                .collect();
            callers.into_iter().map(|c| c.join().expect("no panic")).collect()
        });
        for (t, out) in outputs.iter().enumerate() {
            let want: Vec<u64> = (0..20).flat_map(|_| (0..200).map(move |i| i * t as u64)).collect();
            assert_eq!(out, &want);
        }
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
