//! Running a property on a fresh store of either backend.

use std::future::Future;
use std::sync::Arc;

use parking_lot::Mutex;
use plugboard_live_queue::{LiveStore, MemoryLiveStore, store_for};
use proptest::test_runner::TestCaseError;

/// Cases per property on Redis: fewer than in memory (each case is a few hundred round
/// trips and a fresh cluster), fixed here so no environment variable changes it.
pub const REDIS_CASES: u32 = 32;

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `check` on a fresh store: memory, or Redis with a cluster of its own (deleted
/// afterwards; skipped without Redis, as `on_both_stores!` does).
pub fn on_store<F, Fut>(redis: bool, check: F) -> Result<(), TestCaseError>
where
    F: FnOnce(Arc<dyn LiveStore>) -> Fut,
    Fut: Future<Output = Result<(), TestCaseError>>,
{
    let rt = runtime();
    if !redis {
        return rt.block_on(check(Arc::new(MemoryLiveStore::new())));
    }
    let outcome = Arc::new(Mutex::new(None));
    let out = outcome.clone();
    rt.block_on(plugboard_testkit::run_on("redis", async move {
        let store = store_for(&plugboard_testkit::backend().await).unwrap();
        *out.lock() = Some(check(store).await);
    }));
    let result = outcome.lock().take();
    result.unwrap_or(Ok(()))
}
