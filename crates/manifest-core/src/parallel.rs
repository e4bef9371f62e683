//! Work shared between the machine's cores, with output that does not depend on how many there are.
//!
//! The cores are shared by a pool of helper threads started once, on the first call, and kept for
//! the life of the process: a render calls [`in_parallel`] several times, and on this project's
//! machines starting threads for each call cost more than the work they shared (a thread's start,
//! its stack's pages, a fresh allocator heap), so that rendering the catalogue on two cores took
//! longer than on one. The calling thread works beside the helpers.

use std::any::Any;
use std::cell::Cell;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

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
    share: Arc<Share>,
}

/// Between a call and its helpers: whether the call still takes help (it stops once its own
/// work is done, so a helper busy elsewhere is never waited for) and how many helpers are running
/// its work, in one word ([`CLOSED`], [`RUNNING`]); the first panic among them; and where the call
/// sleeps if its helpers outlast its watch.
#[derive(Default)]
struct Share {
    state: AtomicUsize,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    idle: Mutex<()>,
    finished: Condvar,
}

/// [`Share::state`]: the call is closed; each running helper adds [`RUNNING`].
const CLOSED: usize = 1;
const RUNNING: usize = 2;

/// The helpers' queue, and how many tasks wait in it (read without the lock by a watching helper).
struct Queue {
    tasks: Mutex<VecDeque<Task>>,
    ready: Condvar,
    waiting: AtomicUsize,
}

/// How long a thread watches for what it waits on before it sleeps. A render's calls come a
/// fraction of a millisecond apart, and waking a sleeping thread on a virtual machine's idle core
/// took longer than that: a helper watches for the next task, and a call for its helpers' end.
const WATCH: Duration = Duration::from_micros(300);

/// Whether `done` became true within [`WATCH`].
fn watch(done: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    loop {
        for _ in 0..64 {
            if done() {
                return true;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() > WATCH {
            return done();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The helpers' queue; the first call starts the helpers.
fn queue() -> &'static Queue {
    static QUEUE: OnceLock<&'static Queue> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let queue: &'static Queue = Box::leak(Box::new(Queue {
            tasks: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            waiting: AtomicUsize::new(0),
        }));
        for n in 0..cores() - 1 {
            std::thread::Builder::new()
                .name(format!("render-{n}"))
                .spawn(move || {
                    IN_WORKER.set(true);
                    loop {
                        watch(|| queue.waiting.load(Ordering::Acquire) > 0);
                        let task = {
                            let mut tasks = lock(&queue.tasks);
                            loop {
                                if let Some(task) = tasks.pop_front() {
                                    queue.waiting.fetch_sub(1, Ordering::AcqRel);
                                    break task;
                                }
                                tasks = queue.ready.wait(tasks).unwrap_or_else(|poisoned| poisoned.into_inner());
                            }
                        };
                        help(task);
                    }
                })
                .expect("starting a helper thread");
        }
        queue
    })
}

/// A helper's part of a call: nothing if the call has closed, else its work loop.
fn help(task: Task) {
    let share = &*task.share;
    let mut state = share.state.load(Ordering::Acquire);
    loop {
        if state & CLOSED != 0 {
            return;
        }
        match share.state.compare_exchange_weak(state, state + RUNNING, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => break,
            Err(now) => state = now,
        }
    }
    if let Err(p) = catch_unwind(AssertUnwindSafe(task.work)) {
        lock(&share.panic).get_or_insert(p);
    }
    // The call looks at `state` under `idle` before it sleeps, so this wake-up is never lost.
    // `task.work` is not touched after this: the call may return as soon as no helper runs.
    let _idle = lock(&share.idle);
    share.state.fetch_sub(RUNNING, Ordering::AcqRel);
    share.finished.notify_all();
}

/// Runs `work` on the calling thread and on up to `helpers` helpers at once, and returns when every
/// helper that started it has finished. A panic in any of them is raised here, after that.
fn on_all_cores(helpers: usize, work: &(dyn Fn() + Sync)) {
    // SAFETY: a helper runs `work` only after counting itself in `state` while the call is open,
    // and this function returns (or unwinds) only after closing the call and seeing no helper
    // counted: `work` outlives every use of it.
    let shared: &'static (dyn Fn() + Sync) = unsafe { std::mem::transmute(work) };
    let share = Arc::new(Share::default());
    let queue = queue();
    {
        let mut tasks = lock(&queue.tasks);
        tasks.extend((0..helpers).map(|_| Task { work: shared, share: Arc::clone(&share) }));
        queue.waiting.fetch_add(helpers, Ordering::AcqRel);
    }
    queue.ready.notify_all();
    IN_WORKER.set(true);
    let mine = catch_unwind(AssertUnwindSafe(work));
    IN_WORKER.set(false);
    share.state.fetch_or(CLOSED, Ordering::AcqRel);
    let alone = || share.state.load(Ordering::Acquire) == CLOSED;
    if !watch(alone) {
        let mut idle = lock(&share.idle);
        while !alone() {
            idle = share.finished.wait(idle).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
    if let Some(p) = mine.err().or_else(|| lock(&share.panic).take()) {
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
    // base, a large service and a small one) keep every core busy to the end. The caller always
    // takes the first item, so that calls over the same items (an environment built, then
    // written, then freed) give it to the same thread, whose cache holds what it built.
    let next = AtomicUsize::new(1);
    let caller = std::thread::current().id();
    let results: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(items.len()));
    on_all_cores(workers - 1, &|| {
        let mut mine = Vec::new();
        if std::thread::current().id() == caller {
            mine.push((0, f(&items[0])));
        }
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

    /// The first item is the caller's, every time: calls over the same items (an environment
    /// built, written and freed) keep it on one thread.
    #[test]
    fn the_caller_takes_the_first_item() {
        let me = std::thread::current().id();
        for n in [2, 3, 29] {
            let items: Vec<u32> = (0..n).collect();
            for _ in 0..200 {
                let out = in_parallel(&items, |&i| (i, std::thread::current().id()));
                assert_eq!(out[0], (0, me));
                assert!(out.iter().map(|(i, _)| *i).eq(0..n), "every item once, in order");
            }
        }
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
