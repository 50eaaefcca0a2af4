//! [`BusyStateStore`] for [`RedisLiveStore`].

use async_trait::async_trait;
use plugboard::redis;

use super::{RedisLiveStore, expected_arg, holder_arg};
use crate::store::{BusyStateStore, PairConflict, Side, StatusCounts, StoreResult};
use crate::{BusyState, Status};

#[async_trait]
impl BusyStateStore for RedisLiveStore {
    async fn state(&self, user: &str) -> StoreResult<BusyState> {
        let mut inv = self.call(&self.scripts.state);
        inv.arg(user);
        self.run(&inv, "state").await?.state()
    }

    async fn try_transition(
        &self,
        user: &str,
        expected: Option<u64>,
        to: Status,
        holder: Option<&str>,
    ) -> StoreResult<Result<u64, BusyState>> {
        let mut inv = self.call(&self.scripts.transition);
        inv.arg(user)
            .arg(expected_arg(expected))
            .arg(to.as_str())
            .arg(holder_arg(holder));
        let mut r = self.run(&inv, "transition").await?;
        if r.flag("outcome")? {
            Ok(Ok(r.int("version")?))
        } else {
            Ok(Err(r.state()?))
        }
    }

    async fn try_transition_pair(
        &self,
        a: Side<'_>,
        b: Side<'_>,
        to: Status,
        holder: Option<&str>,
    ) -> StoreResult<Result<(u64, u64), PairConflict>> {
        let mut inv = self.call(&self.scripts.pair);
        inv.arg(a.user)
            .arg(expected_arg(a.expected))
            .arg(b.user)
            .arg(expected_arg(b.expected))
            .arg(to.as_str())
            .arg(holder_arg(holder));
        let mut r = self.run(&inv, "pair").await?;
        if r.flag("outcome")? {
            Ok(Ok((r.int("version a")?, r.int("version b")?)))
        } else {
            let side = r.int("side")? as usize;
            Ok(Err(PairConflict {
                side,
                state: r.state()?,
            }))
        }
    }

    async fn touch(&self, user: &str) -> StoreResult<bool> {
        let mut inv = self.call(&self.scripts.touch);
        inv.arg(user);
        self.run_flag(&inv).await
    }

    async fn stale(&self, before_ms: u64, limit: usize) -> StoreResult<Vec<(String, BusyState)>> {
        let mut inv = self.call(&self.scripts.stale);
        inv.arg(before_ms).arg(limit);
        let mut r = self.run(&inv, "stale").await?;
        let mut out = Vec::with_capacity(r.remaining() / 5);
        while r.remaining() > 0 {
            let user = r.text("user")?;
            out.push((user, r.state()?));
        }
        Ok(out)
    }

    async fn forget_available(&self, user: &str, version: u64) -> StoreResult<bool> {
        let mut inv = self.call(&self.scripts.forget);
        inv.arg(user).arg(version);
        self.run_flag(&inv).await
    }

    async fn counts(&self) -> StoreResult<StatusCounts> {
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.key("counts"));
        for s in Status::ALL {
            cmd.arg(s.as_str());
        }
        let n: Vec<Option<i64>> = self.redis.query(&cmd).await?;
        let at = |i: usize| n.get(i).copied().flatten().unwrap_or(0).max(0) as u64;
        Ok(StatusCounts {
            available: at(0),
            queueing: at(1),
            connecting: at(2),
            in_call: at(3),
        })
    }
}
