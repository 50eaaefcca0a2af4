//! [`QueueStore`] for [`RedisLiveStore`].

use async_trait::async_trait;
use plugboard::redis;

use super::RedisLiveStore;
use crate::BusyState;
use crate::store::{Joined, MatchMade, Preferences, QueueStore, StoreResult};

#[async_trait]
impl QueueStore for RedisLiveStore {
    async fn join(
        &self,
        user: &str,
        name: &str,
        prefs: &Preferences,
    ) -> StoreResult<Result<Joined, BusyState>> {
        let mut inv = self.call(&self.scripts.join);
        inv.arg(user)
            .arg(name)
            .arg(prefs.language.as_deref().unwrap_or(""));
        let mut r = self.run(&inv, "join").await?;
        if r.flag("outcome")? {
            let position = r.int("position")? as usize;
            let new = r.flag("new")?;
            Ok(Ok(Joined { position, new }))
        } else {
            Ok(Err(r.state()?))
        }
    }

    async fn leave(&self, user: &str) -> StoreResult<Result<bool, BusyState>> {
        let mut inv = self.call(&self.scripts.leave);
        inv.arg(user);
        let mut r = self.run(&inv, "leave").await?;
        if r.flag("outcome")? {
            Ok(Ok(r.flag("left")?))
        } else {
            Ok(Err(r.state()?))
        }
    }

    async fn position(&self, user: &str) -> StoreResult<Option<usize>> {
        let rank: Option<u64> = self
            .redis
            .query(redis::cmd("ZRANK").arg(self.key("queue")).arg(user))
            .await?;
        Ok(rank.map(|r| r as usize + 1))
    }

    async fn suspend(&self, user: &str) -> StoreResult<bool> {
        let mut inv = self.call(&self.scripts.suspend);
        inv.arg(user);
        self.run_flag(&inv).await
    }

    async fn resume(&self, user: &str) -> StoreResult<bool> {
        let mut inv = self.call(&self.scripts.resume);
        inv.arg(user);
        self.run_flag(&inv).await
    }

    async fn expire_suspended(&self, user: &str) -> StoreResult<bool> {
        let mut inv = self.call(&self.scripts.expire);
        inv.arg(user);
        self.run_flag(&inv).await
    }

    async fn try_match(&self, user: &str, match_id: &str) -> StoreResult<Option<MatchMade>> {
        let mut inv = self.call(&self.scripts.try_match);
        inv.arg(user).arg(match_id);
        let mut r = self.run(&inv, "try_match").await?;
        if r.remaining() == 0 {
            return Ok(None);
        }
        let first = (r.text("first user")?, r.text("first name")?);
        let second = (r.text("second user")?, r.text("second name")?);
        Ok(Some(MatchMade {
            match_id: match_id.to_owned(),
            users: [first, second],
        }))
    }

    async fn queue_len(&self) -> StoreResult<usize> {
        let n: u64 = self
            .redis
            .query(redis::cmd("ZCARD").arg(self.key("queue")))
            .await?;
        Ok(n as usize)
    }

    async fn epoch(&self) -> StoreResult<String> {
        let mut inv = self.call(&self.scripts.epoch);
        inv.arg(format!("{:016x}", rand::random::<u64>()));
        self.redis.invoke(&inv).await
    }
}
