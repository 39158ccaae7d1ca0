//! The API's own threads: a bulkhead between requests and the sagas.
//!
//! On one runtime, a flood's hundreds of connection tasks sit in the same run queue as
//! the consumers, the relay and the deadlines, and each saga step waits its turn behind
//! them: measured on two cores (`scripts/soak`), the order service's consumer fell
//! 4,000 messages behind while payment's and inventory's kept up, and sagas passed their
//! deadline. Here the accept loop and every connection run on a runtime of their own
//! (`HTTP_THREADS`, one by default), whose threads run at a lower CPU priority
//! (`HTTP_THREAD_NICE`, +10 by default): while the machine has cores to spare both get
//! all they ask; when it has none, the sagas' threads get them first and the API slows
//! and sheds. Linux keeps a nice value per thread, so only these threads are lowered;
//! raising a nice value needs no privilege.

use std::io;

use tokio::runtime::{Builder, Runtime};

/// The threads of the API's runtime.
#[derive(Debug, Clone, Copy)]
pub struct ApiThreads {
    /// Worker threads.
    pub threads: usize,
    /// Added to each worker's nice value (0 leaves it; 19 is the lowest priority).
    pub nice: i32,
}

impl Default for ApiThreads {
    fn default() -> Self {
        Self {
            threads: 1,
            nice: 10,
        }
    }
}

/// Builds the API's runtime. Drop it outside async code, or with
/// [`Runtime::shutdown_background`].
pub fn api_runtime(config: ApiThreads) -> io::Result<Runtime> {
    let nice = config.nice.clamp(0, 19);
    Builder::new_multi_thread()
        .worker_threads(config.threads.max(1))
        .thread_name("http")
        .enable_all()
        .on_thread_start(move || lower_priority(nice))
        .build()
}

/// Adds `nice` to the calling thread's nice value.
fn lower_priority(nice: i32) {
    if nice == 0 {
        return;
    }
    let thread = Some(rustix::thread::gettid());
    let lowered = rustix::process::getpriority_process(thread)
        .and_then(|current| rustix::process::setpriority_process(thread, (current + nice).min(19)));
    if let Err(err) = lowered {
        tracing::warn!(error = %err, nice, "Lowering the API threads' priority failed; they run at the sagas' priority.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The calling thread's nice value.
    fn thread_nice() -> i32 {
        rustix::process::getpriority_process(Some(rustix::thread::gettid())).expect("getpriority")
    }

    /// The nice value of a task on `config`'s runtime.
    fn worker_nice(config: ApiThreads) -> i32 {
        let runtime = api_runtime(config).expect("runtime");
        let inside =
            runtime.block_on(async { tokio::spawn(async { thread_nice() }).await.expect("task") });
        runtime.shutdown_background();
        inside
    }

    #[test]
    fn the_api_threads_run_below_the_callers_priority_and_the_caller_is_untouched() {
        let before = thread_nice();
        let inside = worker_nice(ApiThreads {
            threads: 1,
            nice: 5,
        });
        assert_eq!(inside, (before + 5).min(19), "the API worker's nice value");
        assert_eq!(
            thread_nice(),
            before,
            "the calling thread keeps its nice value"
        );
    }

    #[test]
    fn nice_zero_leaves_the_priority_alone() {
        let before = thread_nice();
        assert_eq!(
            worker_nice(ApiThreads {
                threads: 2,
                nice: 0
            }),
            before
        );
    }
}
