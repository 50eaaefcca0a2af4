//! Denies whose store call failed. One committed whose reply was lost (a Redis reply that
//! timed out): the agent gets `unavailable`, yet the other agents still hear
//! `call:removed`, once, and a retry answers `duplicate`. One that never reached the store:
//! nothing is announced for it.

mod common;

use std::sync::Arc;

use parking_lot::Mutex;

use async_trait::async_trait;
use common::*;
use plugboard::Plugboard;
use plugboard_call_deny::{
    Call, CallDeny, CallRef, CallStatus, CallStore, CreateOutcome, Departure, NewCall, StoreCounts,
    StoreError, Transition, TransitionOutcome,
};
use plugboard_testkit::TestServer;
use serde_json::json;

/// How the next transition fails.
#[derive(Clone, Copy)]
enum Fail {
    /// Committed, then reported as a timed-out reply.
    AfterCommit,
    /// Refused before it reaches the store.
    BeforeCommit,
}

/// The test's store, except that the next transition fails as armed.
struct FailsOnce {
    inner: Arc<dyn CallStore>,
    armed: Mutex<Option<Fail>>,
}

impl FailsOnce {
    fn arm(&self, how: Fail) {
        *self.armed.lock() = Some(how);
    }
}

#[async_trait]
impl CallStore for FailsOnce {
    async fn create(&self, new: NewCall) -> Result<CreateOutcome, StoreError> {
        self.inner.create(new).await
    }
    async fn transition(
        &self,
        call: &CallRef,
        t: &Transition,
    ) -> Result<TransitionOutcome, StoreError> {
        let armed = self.armed.lock().take();
        if let Some(Fail::BeforeCommit) = armed {
            return Err(StoreError::Unavailable("Redis unreachable".into()));
        }
        let outcome = self.inner.transition(call, t).await?;
        if let Some(Fail::AfterCommit) = armed {
            return Err(StoreError::Unavailable("reply timed out".into()));
        }
        Ok(outcome)
    }
    async fn get(&self, call: &CallRef) -> Result<Option<Call>, StoreError> {
        self.inner.get(call).await
    }
    async fn list(&self, status: CallStatus, limit: usize) -> Result<Vec<Call>, StoreError> {
        self.inner.list(status, limit).await
    }
    async fn open_calls_of(&self, user: &str) -> Result<Vec<Call>, StoreError> {
        self.inner.open_calls_of(user).await
    }
    async fn expire(&self, now_ms: u64, limit: usize) -> Result<Vec<Call>, StoreError> {
        self.inner.expire(now_ms, limit).await
    }
    async fn purge_finished(&self, before_ms: u64, limit: usize) -> Result<usize, StoreError> {
        self.inner.purge_finished(before_ms, limit).await
    }
    async fn counts(&self) -> Result<StoreCounts, StoreError> {
        self.inner.counts().await
    }
    async fn schedule_departure(&self, user: &str, due_ms: u64) -> Result<(), StoreError> {
        self.inner.schedule_departure(user, due_ms).await
    }
    async fn claim_departures(
        &self,
        now_ms: u64,
        lease_ms: u64,
        limit: usize,
    ) -> Result<Vec<Departure>, StoreError> {
        self.inner.claim_departures(now_ms, lease_ms, limit).await
    }
    async fn settle_departure(&self, departure: &Departure) -> Result<bool, StoreError> {
        self.inner.settle_departure(departure).await
    }
}

async fn server_with_failing_store() -> (TestServer, Arc<FailsOnce>) {
    let store = Arc::new(FailsOnce {
        inner: call_store().await,
        armed: Mutex::new(None),
    });
    let toml = "[handlers.call_deny]\nsweep_interval_ms = 20\n";
    let mut b = Plugboard::builder(plugboard_testkit::config(toml)).unwrap();
    b.handler(CallDeny::with_store(store.clone())).unwrap();
    (TestServer::start(b).await, store)
}

plugboard_testkit::on_both_stores! {
    async fn a_deny_committed_whose_reply_was_lost_is_still_announced_once() {
        let (server, store) = server_with_failing_store().await;
        let denier = agent(&server, "a1").await;
        let mut other = agent(&server, "a2").await;
        let mut caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        assert_eq!(other.recv("call:incoming").await["call"]["callId"], id);

        store.arm(Fail::AfterCommit);
        let ack = denier.emit_with_ack("call:deny", json!({ "callId": id })).await;
        assert_eq!(ack["error"]["code"], "unavailable", "{ack}");
        assert_eq!(other.recv("call:removed").await["callId"], id);
        assert_eq!(caller.recv("call:denied").await["callId"], id);

        let retry = denier.emit_with_ack("call:deny", json!({ "callId": id })).await;
        assert_eq!((retry["ok"].clone(), retry["duplicate"].clone()), (json!(true), json!(true)), "{retry}");
        assert_eq!(count(&other.drain(QUIET).await, "call:removed"), 0, "announced once");
        let s = stats_until(&server, |s| s["unsettledTransitions"] == 0).await;
        assert_eq!(s["denied"], 1);
        server.stop().await;
    }

    async fn a_deny_that_never_reached_the_store_is_not_announced_for_a_call_denied_by_someone_else() {
        let (server, store) = server_with_failing_store().await;
        let denier = agent(&server, "a1").await;
        let mut other = agent(&server, "a2").await;
        let caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        assert_eq!(other.recv("call:incoming").await["call"]["callId"], id);

        let handler = server.host.handler::<CallDeny>().unwrap();
        handler.deny(&CallRef::id(&id), Some("supervisor")).await.unwrap();
        assert_eq!(other.recv("call:removed").await["by"], "supervisor");

        // The agent's deny of the already denied call fails on its way to the store; the
        // record the sweeper then reads is denied, but not by this deny.
        store.arm(Fail::BeforeCommit);
        let ack = denier.emit_with_ack("call:deny", json!({ "callId": id })).await;
        assert_eq!(ack["error"]["code"], "unavailable", "{ack}");
        stats_until(&server, |s| s["unsettledTransitions"] == 0).await;
        assert_eq!(count(&other.drain(QUIET).await, "call:removed"), 0, "announced once");
        server.stop().await;
    }
}
