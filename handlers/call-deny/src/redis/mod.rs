//! [`RedisCallStore`]: call records shared by every node of a cluster, on the cluster's
//! Redis ([`plugboard::RedisStore`]).
//!
//! # Key layout
//!
//! Every key is `plugboard:{<cluster>}:` (the [`RedisStore::key`] prefix) followed by:
//!
//! | key | type | holds | lifetime |
//! | --- | --- | --- | --- |
//! | `cd:call:<callId>` | hash | `rev` (revision, +1 per change), `call` (the record as JSON), `dl` (deadline ms, absent: none) | open: until it finishes; finished: purged after `retention_ms`, TTL `finished_ttl` as a backstop |
//! | `cd:req:<requestId>` | string | the call id | as its call |
//! | `cd:pairs` | hash | `["<caller>","<target or empty>"]` -> the pair's open call | field removed when the call finishes |
//! | `cd:open:<userId>` | set | open calls where the user is caller or accepting agent | removed when empty |
//! | `cd:users` | set | users with at least one open call | member removed with the user's last open call |
//! | `cd:status:<status>` | sorted set | call ids by `createdAt` | member removed on transition / purge |
//! | `cd:deadlines` | sorted set | ringing calls (ring deadline) and live calls with `max_call_ms` (call deadline) | member removed on transition |
//! | `cd:finished` | sorted set | finished call ids by `updatedAt`, for the retention purge | member removed by the purge |
//! | `cd:departures` | sorted set | users whose last socket left, by when their calls are cleaned up (or by the end of a claim) | member removed when settled |
//!
//! Open records carry no TTL: every ringing call has a deadline, a live call ends by its
//! parties, by `max_call_ms`, or by the departure of a party (which a `cd:departures`
//! entry or the framework's dead-node reaper makes sure is seen by some node). Structures
//! shared by many calls are sets and sorted sets that Redis removes when empty.
//!
//! # Atomicity
//!
//! `create`, the purge, the listing reads and the departure claims are one Lua script each
//! ([`scripts`]). `transition` and `expire` read the record with its revision, run
//! [`decide`](crate::decide) / [`apply`](crate::apply) in Rust, and commit with one
//! compare-and-set script that writes the record and every index only if the revision is
//! unchanged, else decide again ([`record`]). No write ever follows a read unchecked.

mod expiry;
mod record;
mod scripts;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use plugboard::RedisStore;
use plugboard::redis::{Script, cmd, pipe};

use crate::{
    Call, CallRef, CallStatus, CallStore, CreateOutcome, Departure, NewCall, StoreCounts,
    StoreError, Transition, TransitionOutcome,
};
use record::{decode, encode, pair_field};

/// TTL of finished records when none is given: one day.
const DEFAULT_FINISHED_TTL: Duration = Duration::from_secs(24 * 3600);

struct Scripts {
    read: Script,
    create: Script,
    commit: Script,
    drop_dangling: Script,
    purge: Script,
    list: Script,
    open_of: Script,
    claim: Script,
    settle: Script,
}

/// The [`CallStore`] on Redis, shared by every node of a cluster.
#[derive(Clone)]
pub struct RedisCallStore {
    redis: RedisStore,
    finished_ttl_ms: u64,
    scripts: Arc<Scripts>,
}

impl std::fmt::Debug for RedisCallStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCallStore")
            .field("redis", &self.redis)
            .field("finished_ttl_ms", &self.finished_ttl_ms)
            .finish_non_exhaustive()
    }
}

impl RedisCallStore {
    /// A store on the cluster `redis` belongs to; finished records expire after one day
    /// at the latest (see [`with_finished_ttl`](Self::with_finished_ttl)).
    pub fn new(redis: RedisStore) -> Self {
        Self {
            redis,
            finished_ttl_ms: DEFAULT_FINISHED_TTL.as_millis() as u64,
            scripts: Arc::new(Scripts {
                read: Script::new(scripts::READ),
                create: Script::new(scripts::CREATE),
                commit: Script::new(scripts::COMMIT),
                drop_dangling: Script::new(scripts::DROP_DANGLING),
                purge: Script::new(scripts::PURGE),
                list: Script::new(scripts::LIST),
                open_of: Script::new(scripts::OPEN_OF),
                claim: Script::new(scripts::CLAIM_DEPARTURES),
                settle: Script::new(scripts::SETTLE_DEPARTURE),
            }),
        }
    }

    /// The TTL finished records get as a backstop: the retention purge forgets them first;
    /// the TTL only matters when no node purges (keep it above `retention_ms`).
    pub fn with_finished_ttl(mut self, ttl: Duration) -> Self {
        self.finished_ttl_ms = (ttl.as_millis() as u64).max(1);
        self
    }

    pub(super) fn key(&self, suffix: &str) -> String {
        self.redis.key(suffix)
    }
}

#[async_trait]
impl CallStore for RedisCallStore {
    async fn create(&self, new: NewCall) -> Result<CreateOutcome, StoreError> {
        let call = Call {
            call_id: new.call_id.clone(),
            request_id: new.request_id.clone(),
            caller_id: new.caller_id.clone(),
            target_id: new.target_id.clone(),
            status: CallStatus::Ringing,
            created_at: new.now_ms,
            updated_at: new.now_ms,
            ended_reason: None,
            by: None,
            agent_id: None,
        };
        let mut inv = self.scripts.create.prepare_invoke();
        inv.arg(self.redis.prefix())
            .arg(&new.call_id)
            .arg(&new.request_id)
            .arg(&new.caller_id)
            .arg(pair_field(&new.caller_id, new.target_id.as_deref()))
            .arg(new.now_ms)
            .arg(new.ring_deadline_ms)
            .arg(encode(&call)?);
        let (kind, json): (String, String) = self.redis.invoke(&inv).await?;
        match kind.as_str() {
            "created" => Ok(CreateOutcome::Created(call)),
            "pair" => Ok(CreateOutcome::Existing(decode(&json)?)),
            "request" => {
                let existing = decode(&json)?;
                Ok(if existing.caller_id == new.caller_id {
                    CreateOutcome::Existing(existing)
                } else {
                    CreateOutcome::RequestIdTaken
                })
            }
            other => Err(StoreError::Backend(format!(
                "unexpected create answer `{other}`"
            ))),
        }
    }

    async fn transition(
        &self,
        call: &CallRef,
        t: &Transition,
    ) -> Result<TransitionOutcome, StoreError> {
        let out = self.cas(call, |_| Some(t.clone())).await?;
        Ok(out.unwrap_or(TransitionOutcome::NotFound))
    }

    async fn get(&self, call: &CallRef) -> Result<Option<Call>, StoreError> {
        Ok(self.read(call).await?.map(|s| s.call))
    }

    async fn list(&self, status: CallStatus, limit: usize) -> Result<Vec<Call>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut inv = self.scripts.list.prepare_invoke();
        inv.arg(self.redis.prefix()).arg(status.as_str()).arg(limit);
        let calls = self.decode_all(self.redis.invoke(&inv).await?)?;
        Ok(calls.into_iter().filter(|c| c.status == status).collect())
    }

    async fn open_calls_of(&self, user: &str) -> Result<Vec<Call>, StoreError> {
        let mut inv = self.scripts.open_of.prepare_invoke();
        inv.arg(self.redis.prefix()).arg(user);
        let mut calls = self.decode_all(self.redis.invoke(&inv).await?)?;
        calls.retain(|c| c.status.is_open() && c.is_party(user));
        calls.sort_by(|a, b| (a.created_at, &a.call_id).cmp(&(b.created_at, &b.call_id)));
        Ok(calls)
    }

    async fn expire(&self, now_ms: u64, limit: usize) -> Result<Vec<Call>, StoreError> {
        self.expire_due(now_ms, limit).await
    }

    async fn purge_finished(&self, before_ms: u64, limit: usize) -> Result<usize, StoreError> {
        let mut inv = self.scripts.purge.prepare_invoke();
        inv.arg(self.redis.prefix()).arg(before_ms).arg(limit);
        self.redis.invoke(&inv).await
    }

    async fn counts(&self) -> Result<StoreCounts, StoreError> {
        let mut p = pipe();
        p.atomic();
        for s in CallStatus::ALL {
            p.cmd("ZCARD")
                .arg(self.key(&format!("cd:status:{}", s.as_str())));
        }
        p.cmd("SCARD").arg(self.key("cd:users"));
        p.cmd("ZCARD").arg(self.key("cd:departures"));
        let n: Vec<u64> = self.redis.pipeline(&p).await?;
        let [statuses @ .., users, departures] = n.as_slice() else {
            return Err(StoreError::Backend("unexpected counts answer".into()));
        };
        let of = |s: CallStatus| {
            let i = CallStatus::ALL.iter().position(|x| *x == s);
            i.and_then(|i| statuses.get(i)).copied().unwrap_or_default()
        };
        Ok(StoreCounts {
            ringing: of(CallStatus::Ringing),
            active: of(CallStatus::Accepted),
            records: statuses.iter().sum(),
            users_with_open_calls: *users,
            pending_departures: *departures,
        })
    }

    async fn schedule_departure(&self, user: &str, due_ms: u64) -> Result<(), StoreError> {
        let c = cmd("ZADD")
            .arg(self.key("cd:departures"))
            .arg(due_ms)
            .arg(user)
            .clone();
        self.redis.query::<i64>(&c).await.map(|_| ())
    }

    async fn claim_departures(
        &self,
        now_ms: u64,
        lease_ms: u64,
        limit: usize,
    ) -> Result<Vec<Departure>, StoreError> {
        let token = now_ms.saturating_add(lease_ms.max(1));
        let mut inv = self.scripts.claim.prepare_invoke();
        inv.arg(self.redis.prefix())
            .arg(now_ms)
            .arg(token)
            .arg(limit);
        let users: Vec<String> = self.redis.invoke(&inv).await?;
        Ok(users
            .into_iter()
            .map(|user| Departure { user, token })
            .collect())
    }

    async fn settle_departure(&self, departure: &Departure) -> Result<bool, StoreError> {
        let mut inv = self.scripts.settle.prepare_invoke();
        inv.arg(self.redis.prefix())
            .arg(&departure.user)
            .arg(departure.token);
        let removed: i64 = self.redis.invoke(&inv).await?;
        Ok(removed == 1)
    }
}
