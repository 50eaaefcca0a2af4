//! Event renames from config: handlers use default event names; the wire uses the
//! frontend's names where `[event_names]` maps them.

use std::collections::HashMap;

/// Maps default event names to wire names and back.
#[derive(Debug, Default, Clone)]
pub struct EventNames {
    to_wire: HashMap<String, String>,
}

impl EventNames {
    /// Builds the table from `[event_names]` (default name -> wire name).
    pub fn new(map: HashMap<String, String>) -> Self {
        Self { to_wire: map }
    }

    /// The wire name of a default event name.
    #[inline]
    pub fn wire<'a>(&'a self, event: &'a str) -> &'a str {
        if self.to_wire.is_empty() {
            return event;
        }
        self.to_wire.get(event).map(String::as_str).unwrap_or(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renamed_events_map_and_others_pass_through() {
        let n = EventNames::new([("live-call:join-queue".into(), "joinQueue".into())].into());
        assert_eq!(n.wire("live-call:join-queue"), "joinQueue");
        assert_eq!(n.wire("health-ping"), "health-ping");
    }
}
