//! The in-memory FIFO: places by arrival sequence, with per-language indexes of the
//! matchable places so finding a partner never walks incompatible users.

use std::collections::{BTreeMap, HashMap};

/// One queue place.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    pub(crate) seq: u64,
    pub(crate) name: String,
    pub(crate) language: Option<String>,
    /// The user's last socket is gone (rejoin grace): kept, but not matched.
    pub(crate) suspended: bool,
}

#[derive(Debug, Default)]
pub(crate) struct QueueIndex {
    next_seq: u64,
    places: HashMap<String, Place>,
    /// Every place by sequence (positions).
    order: BTreeMap<u64, String>,
    /// Matchable places by sequence.
    active: BTreeMap<u64, String>,
    /// Matchable places by language (`None`: no language preference).
    by_language: HashMap<Option<String>, BTreeMap<u64, String>>,
}

impl QueueIndex {
    pub(crate) fn len(&self) -> usize {
        self.places.len()
    }

    pub(crate) fn place(&self, user: &str) -> Option<&Place> {
        self.places.get(user)
    }

    /// Adds a place at the back; false (and nothing changes) if the user has one.
    pub(crate) fn insert(&mut self, user: &str, name: &str, language: Option<String>) -> bool {
        if self.places.contains_key(user) {
            return false;
        }
        self.next_seq += 1;
        let place = Place {
            seq: self.next_seq,
            name: name.to_owned(),
            language,
            suspended: false,
        };
        self.order.insert(place.seq, user.to_owned());
        self.activate(user, &place);
        self.places.insert(user.to_owned(), place);
        true
    }

    pub(crate) fn remove(&mut self, user: &str) -> Option<Place> {
        let place = self.places.remove(user)?;
        self.order.remove(&place.seq);
        if !place.suspended {
            self.deactivate(&place);
        }
        Some(place)
    }

    /// 1-based position. O(position) over the ordered index.
    pub(crate) fn position(&self, user: &str) -> Option<usize> {
        let seq = self.places.get(user)?.seq;
        Some(self.order.range(..seq).count() + 1)
    }

    pub(crate) fn suspend(&mut self, user: &str) -> bool {
        let Some(place) = self.places.get_mut(user) else {
            return false;
        };
        if !place.suspended {
            place.suspended = true;
            let place = place.clone();
            self.deactivate(&place);
        }
        true
    }

    /// Makes a suspended place matchable; true if it was suspended.
    pub(crate) fn resume(&mut self, user: &str) -> bool {
        let Some(place) = self.places.get_mut(user) else {
            return false;
        };
        if !place.suspended {
            return false;
        }
        place.suspended = false;
        let place = place.clone();
        self.activate(user, &place);
        true
    }

    /// The earliest matchable place compatible with `user`'s (itself matchable).
    pub(crate) fn partner(&self, user: &str) -> Option<String> {
        let me = self.places.get(user).filter(|p| !p.suspended)?;
        let first_other = |index: Option<&BTreeMap<u64, String>>| {
            index.and_then(|m| {
                m.iter()
                    .find(|(_, u)| u.as_str() != user)
                    .map(|(s, u)| (*s, u.clone()))
            })
        };
        let best = match &me.language {
            None => first_other(Some(&self.active)),
            Some(lang) => {
                let same = first_other(self.by_language.get(&Some(lang.clone())));
                let open = first_other(self.by_language.get(&None));
                match (same, open) {
                    (Some(a), Some(b)) => Some(if a.0 < b.0 { a } else { b }),
                    (a, b) => a.or(b),
                }
            }
        };
        best.map(|(_, u)| u)
    }

    fn activate(&mut self, user: &str, place: &Place) {
        self.active.insert(place.seq, user.to_owned());
        self.by_language
            .entry(place.language.clone())
            .or_default()
            .insert(place.seq, user.to_owned());
    }

    fn deactivate(&mut self, place: &Place) {
        self.active.remove(&place.seq);
        if let Some(m) = self.by_language.get_mut(&place.language) {
            m.remove(&place.seq);
            if m.is_empty() {
                self.by_language.remove(&place.language);
            }
        }
    }
}

/// Same language if both set one.
pub(crate) fn compatible(a: &Place, b: &Place) -> bool {
    match (&a.language, &b.language) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partner_is_the_earliest_compatible_matchable_place() {
        let mut q = QueueIndex::default();
        q.insert("a", "A", Some("de".into()));
        q.insert("b", "B", Some("en".into()));
        q.insert("c", "C", None);
        q.insert("d", "D", Some("en".into()));
        assert_eq!(q.partner("d").as_deref(), Some("b"));
        assert_eq!(q.partner("c").as_deref(), Some("a"));
        q.suspend("b");
        assert_eq!(q.partner("d").as_deref(), Some("c"));
        assert_eq!(q.partner("b"), None, "a suspended place does not match");
        assert!(q.resume("b"));
        assert_eq!(
            q.position("b"),
            Some(2),
            "a resumed place keeps its position"
        );
    }

    #[test]
    fn removing_every_place_leaves_every_index_empty() {
        let mut q = QueueIndex::default();
        q.insert("a", "A", Some("de".into()));
        q.insert("b", "B", None);
        q.suspend("a");
        assert!(!q.insert("b", "B", None), "one place per user");
        q.remove("a");
        q.remove("b");
        assert_eq!(q.len(), 0);
        assert!(q.order.is_empty() && q.active.is_empty() && q.by_language.is_empty());
    }
}
