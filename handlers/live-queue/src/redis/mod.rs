//! [`RedisLiveStore`]: the live-queue state in the cluster's Redis, shared by every node.
//!
//! Every check-and-set is one Lua script (`scripts.rs`, `lua/*.lua`): busy-state
//! transitions with their version compare-and-set and the `allowed()` table, pair
//! transitions (both or neither), join/leave/suspend/resume/expire, the queue match, call
//! requests with glare merge, accept, end, release. Reads that span keys are scripts too,
//! so they see one consistent state. Timestamps (`updatedAt`) are Redis `TIME`, one clock
//! for every node.
//!
//! # Keys (`P` = `plugboard:{<cluster>}:`)
//!
//! | key | type | content |
//! | --- | --- | --- |
//! | `P lq:busy` | hash | user -> `status:version:holder` (known users only) |
//! | `P lq:seen` | zset | user -> `updatedAt` ms (the zombie sweeper's index) |
//! | `P lq:counts` | hash | status -> how many known users have it |
//! | `P lq:queue` | zset | queued user -> join sequence (FIFO; rank = position - 1) |
//! | `P lq:places` | hash | queued user -> json `{ n: name, l: language, s: suspended, q: seq }` |
//! | `P lq:active` | zset | matchable (not suspended) queued user -> seq |
//! | `P lq:lang:<language>`, `P lq:any` | zset | matchable users by language (`any`: none set) |
//! | `P lq:seq` | string | the last join sequence |
//! | `P lq:match:<id>` | hash | `a`, `b` (parties), and while a call exists `caller`, `callee`, `stage`, `active` |
//! | `P lq:matches` | set | ids of existing matches |
//! | `P lq:epoch` | string | the queue epoch (set NX with a random value) |
//!
//! # Growth and TTLs
//!
//! Nothing here carries a TTL: a TTL would silently break the counts and the pairing of
//! the queue indexes. Instead every record belongs to a user and is reclaimed:
//! a queue place (`places`, `queue`, `active`, the language sets) goes when its user
//! leaves `queueing`, which the rejoin grace or, failing that, the zombie sweeper forces
//! for a user without sockets; a match record goes when the match ends (end, release,
//! grace, sweeper); a busy record (`busy`, `seen`) not refreshed for `zombie_ttl_ms`
//! whose user holds no socket anywhere in the cluster is reset, then forgotten, by the
//! sweeper that runs on every node. Empty sets and hashes vanish by themselves. So the
//! state is bounded by the users active in the last `zombie_ttl_ms` (plus the number of
//! languages), and is empty again once everyone left. `lq:seq` and `lq:epoch` are one
//! key each.
//!
//! # Epoch
//!
//! `epoch()` reads `lq:epoch`, setting it first (NX) with a random value: every node sees
//! the same value, and after Redis lost its data the next caller sets a new one, which
//! tells clients that their queue place is gone.

mod busy;
mod matches;
mod queue;
mod reply;
mod scripts;

use std::sync::Arc;

use plugboard::RedisStore;
use plugboard::redis::{Script, ScriptInvocation, Value};

use crate::store::StoreResult;
use reply::Reply;
use scripts::Scripts;

/// The live-queue state on Redis (cluster mode): busy states, the queue and matches.
#[derive(Clone)]
pub struct RedisLiveStore {
    redis: RedisStore,
    scripts: Arc<Scripts>,
}

impl std::fmt::Debug for RedisLiveStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLiveStore")
            .field("redis", &self.redis)
            .finish_non_exhaustive()
    }
}

impl RedisLiveStore {
    /// The store of the cluster `redis` belongs to.
    pub fn new(redis: RedisStore) -> Self {
        Self {
            redis,
            scripts: Arc::new(Scripts::new()),
        }
    }

    /// The Redis it runs on.
    pub fn redis(&self) -> &RedisStore {
        &self.redis
    }

    /// An invocation of `script` with the key prefix as its first argument.
    fn call<'a>(&self, script: &'a Script) -> ScriptInvocation<'a> {
        let mut inv = script.prepare_invoke();
        inv.arg(self.redis.prefix());
        inv
    }

    /// Runs an invocation answering an array.
    async fn run(&self, inv: &ScriptInvocation<'_>, name: &'static str) -> StoreResult<Reply> {
        let items: Vec<Value> = self.redis.invoke(inv).await?;
        Ok(Reply::new(items, name))
    }

    /// Runs an invocation answering 0 or 1.
    async fn run_flag(&self, inv: &ScriptInvocation<'_>) -> StoreResult<bool> {
        Ok(self.redis.invoke::<i64>(inv).await? == 1)
    }

    /// A key of this handler: `P lq:<suffix>`.
    fn key(&self, suffix: &str) -> String {
        self.redis.key(&format!("lq:{suffix}"))
    }
}

/// `''` stands for "no holder" / "no expected version" in script arguments.
fn holder_arg(holder: Option<&str>) -> &str {
    holder.unwrap_or("")
}

fn expected_arg(expected: Option<u64>) -> String {
    expected.map(|v| v.to_string()).unwrap_or_default()
}
