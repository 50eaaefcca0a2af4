//! Reading the flat arrays the Lua scripts answer with.

use plugboard::redis::{self, Value};

use crate::store::{StoreError, StoreResult};
use crate::{BusyState, Status};

/// A script's reply, read front to back.
pub(crate) struct Reply {
    items: std::vec::IntoIter<Value>,
    script: &'static str,
}

impl Reply {
    pub(crate) fn new(items: Vec<Value>, script: &'static str) -> Self {
        Self {
            items: items.into_iter(),
            script,
        }
    }

    /// Items not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.items.len()
    }

    /// An error naming the script, for a reply that does not have the expected shape.
    pub(crate) fn shape(&self, what: &str) -> StoreError {
        StoreError::Backend(format!(
            "unexpected reply from the live-queue {} script: {what}",
            self.script
        ))
    }

    fn next(&mut self, what: &str) -> StoreResult<Value> {
        self.items
            .next()
            .ok_or_else(|| self.shape(&format!("missing {what}")))
    }

    /// The next item as text.
    pub(crate) fn text(&mut self, what: &str) -> StoreResult<String> {
        let v = self.next(what)?;
        redis::from_redis_value(v).map_err(|e| self.shape(&format!("{what}: {e}")))
    }

    /// The next item as a non-negative integer.
    pub(crate) fn int(&mut self, what: &str) -> StoreResult<u64> {
        let v = self.next(what)?;
        redis::from_redis_value(v).map_err(|e| self.shape(&format!("{what}: {e}")))
    }

    /// The next item as a flag (1 = true).
    pub(crate) fn flag(&mut self, what: &str) -> StoreResult<bool> {
        Ok(self.int(what)? == 1)
    }

    /// The next four items as a busy state: status, version, holder ('' = none), updated.
    pub(crate) fn state(&mut self) -> StoreResult<BusyState> {
        let status = self.text("status")?;
        let status = Status::parse(&status).ok_or_else(|| self.shape("unknown status"))?;
        let version = self.int("version")?;
        let holder = self.text("holder")?;
        let updated_at = self.int("updated")?;
        Ok(BusyState {
            status,
            version,
            updated_at,
            holder: (!holder.is_empty()).then_some(holder),
        })
    }
}
