//! Departures waiting for their grace, in memory: user -> due time, ordered by due time.

use std::collections::{BTreeSet, HashMap};

use crate::Departure;

#[derive(Debug, Default)]
pub(super) struct Departures {
    due: HashMap<String, u64>,
    order: BTreeSet<(u64, String)>,
}

impl Departures {
    pub(super) fn len(&self) -> usize {
        self.due.len()
    }

    /// Sets (or replaces) the user's due time.
    pub(super) fn set(&mut self, user: &str, due_ms: u64) {
        if let Some(old) = self.due.insert(user.to_owned(), due_ms) {
            self.order.remove(&(old, user.to_owned()));
        }
        self.order.insert((due_ms, user.to_owned()));
    }

    pub(super) fn claim(&mut self, now_ms: u64, lease_ms: u64, limit: usize) -> Vec<Departure> {
        let token = now_ms.saturating_add(lease_ms.max(1));
        let due: Vec<String> = self
            .order
            .iter()
            .take_while(|(d, _)| *d <= now_ms)
            .take(limit)
            .map(|(_, u)| u.clone())
            .collect();
        due.into_iter()
            .map(|user| {
                self.set(&user, token);
                Departure { user, token }
            })
            .collect()
    }

    pub(super) fn settle(&mut self, d: &Departure) -> bool {
        if self.due.get(&d.user) != Some(&d.token) {
            return false;
        }
        self.due.remove(&d.user);
        self.order.remove(&(d.token, d.user.clone()));
        true
    }
}
