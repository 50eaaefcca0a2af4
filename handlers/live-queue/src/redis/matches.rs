//! [`MatchStore`] for [`RedisLiveStore`].

use async_trait::async_trait;
use plugboard::redis;

use super::reply::Reply;
use super::{RedisLiveStore, expected_arg};
use crate::store::{CallError, Ended, MatchStore, Released, Requested, Started, StoreResult};

/// Reads `{ 'err', kind, state? }` after its `'err'`.
fn call_error(r: &mut Reply) -> StoreResult<CallError> {
    Ok(match r.text("error kind")?.as_str() {
        "forbidden" => CallError::Forbidden,
        "not-found" => CallError::NotFound,
        "in-progress" => CallError::InProgress,
        "caller-busy" => CallError::CallerBusy(r.state()?),
        "callee-busy" => CallError::CalleeBusy(r.state()?),
        other => return Err(r.shape(&format!("unknown error kind {other:?}"))),
    })
}

#[async_trait]
impl MatchStore for RedisLiveStore {
    async fn parties(&self, match_id: &str) -> StoreResult<Option<[String; 2]>> {
        let key = self.key(&format!("match:{match_id}"));
        let p: (Option<String>, Option<String>) = self
            .redis
            .query(redis::cmd("HMGET").arg(key).arg("a").arg("b"))
            .await?;
        Ok(match p {
            (Some(a), Some(b)) => Some([a, b]),
            _ => None,
        })
    }

    async fn request_call(
        &self,
        match_id: &str,
        caller: &str,
        callee: &str,
        stage: &str,
    ) -> StoreResult<Result<Requested, CallError>> {
        let mut inv = self.call(&self.scripts.request_call);
        inv.arg(match_id).arg(caller).arg(callee).arg(stage);
        let mut r = self.run(&inv, "request_call").await?;
        Ok(match r.text("outcome")?.as_str() {
            "ringing" => Ok(Requested::Ringing),
            "merged" => Ok(Requested::Merged {
                stage: r.text("stage")?,
                participants: [r.text("first requester")?, r.text("other")?],
            }),
            "err" => Err(call_error(&mut r)?),
            other => return Err(r.shape(&format!("unknown outcome {other:?}"))),
        })
    }

    async fn accept_call(
        &self,
        match_id: &str,
        user: &str,
    ) -> StoreResult<Result<Started, CallError>> {
        let mut inv = self.call(&self.scripts.accept_call);
        inv.arg(match_id).arg(user);
        let mut r = self.run(&inv, "accept_call").await?;
        Ok(match r.text("outcome")?.as_str() {
            "ok" => Ok(Started {
                stage: r.text("stage")?,
                participants: [r.text("caller")?, r.text("callee")?],
            }),
            "err" => Err(call_error(&mut r)?),
            other => return Err(r.shape(&format!("unknown outcome {other:?}"))),
        })
    }

    async fn end(&self, match_id: &str, user: &str) -> StoreResult<Result<Ended, CallError>> {
        let mut inv = self.call(&self.scripts.end_match);
        inv.arg(match_id).arg(user);
        let mut r = self.run(&inv, "end").await?;
        Ok(match r.text("outcome")?.as_str() {
            "ok" => Ok(Ended {
                match_id: match_id.to_owned(),
                parties: [r.text("party a")?, r.text("party b")?],
            }),
            "err" => Err(call_error(&mut r)?),
            other => return Err(r.shape(&format!("unknown outcome {other:?}"))),
        })
    }

    async fn release(&self, user: &str, expected: Option<u64>) -> StoreResult<Option<Released>> {
        let mut inv = self.call(&self.scripts.release);
        inv.arg(user).arg(expected_arg(expected));
        let mut r = self.run(&inv, "release").await?;
        if r.remaining() == 0 {
            return Ok(None);
        }
        let previous = r.state()?;
        let ended = if r.remaining() > 0 {
            Some(Ended {
                match_id: r.text("match id")?,
                parties: [r.text("party a")?, r.text("party b")?],
            })
        } else {
            None
        };
        Ok(Some(Released { previous, ended }))
    }

    async fn match_count(&self) -> StoreResult<usize> {
        let n: u64 = self
            .redis
            .query(redis::cmd("SCARD").arg(self.key("matches")))
            .await?;
        Ok(n as usize)
    }
}
