//! Choosing the store from the host's [`Backend`].

use std::sync::Arc;

use plugboard::Backend;

use crate::store::StoreError;
use crate::{LiveStore, MemoryLiveStore, RedisLiveStore};

/// The live-queue store for `backend`: [`MemoryLiveStore`] in memory, [`RedisLiveStore`]
/// on the cluster's Redis. What `LiveQueue::new()` uses at `initialize`.
pub fn store_for(backend: &Backend) -> Result<Arc<dyn LiveStore>, StoreError> {
    match backend {
        Backend::Memory => Ok(Arc::new(MemoryLiveStore::new())),
        Backend::Redis(redis) => Ok(Arc::new(RedisLiveStore::new(redis.clone()))),
        other => Err(StoreError::Backend(format!(
            "live-queue has no store for the backend {other:?}"
        ))),
    }
}
