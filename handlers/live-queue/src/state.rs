//! The busy-state machine (NET-02): statuses, records and the allowed transitions.

use serde::{Deserialize, Serialize};

/// Where a user is in the live-call flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Free: may queue or be called.
    Available,
    /// Waiting in the queue for a match.
    Queueing,
    /// Matched or ringing: held by one match (`holder`).
    Connecting,
    /// In a call: held by one match (`holder`).
    InCall,
}

impl Status {
    /// The wire spelling (`in-call`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Queueing => "queueing",
            Self::Connecting => "connecting",
            Self::InCall => "in-call",
        }
    }

    /// The status of a wire spelling (`in-call`, ...); `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "available" => Some(Self::Available),
            "queueing" => Some(Self::Queueing),
            "connecting" => Some(Self::Connecting),
            "in-call" => Some(Self::InCall),
            _ => None,
        }
    }

    /// Every status, in the order of the busy-state machine.
    pub const ALL: [Self; 4] = [
        Self::Available,
        Self::Queueing,
        Self::Connecting,
        Self::InCall,
    ];

    /// True for the statuses that belong to a match (`connecting`, `in-call`).
    pub fn is_held(self) -> bool {
        matches!(self, Self::Connecting | Self::InCall)
    }
}

/// One user's busy state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusyState {
    /// The status.
    pub status: Status,
    /// Bumped by every change; the compare-and-set token.
    pub version: u64,
    /// When the state last changed or was refreshed, in ms since the Unix epoch.
    pub updated_at: u64,
    /// The match (or staged call) holding the user while `connecting` or `in-call`.
    pub holder: Option<String>,
}

impl BusyState {
    /// The state of a user nothing is known about.
    pub fn fresh() -> Self {
        Self {
            status: Status::Available,
            version: 0,
            updated_at: 0,
            holder: None,
        }
    }
}

/// Whether `from` (held by `held_by`) may move to `to` on behalf of `holder`.
///
/// The table of the issue (available -> queueing | connecting; queueing -> available |
/// connecting | in-call; connecting -> available | in-call; in-call -> available), plus
/// two rules that keep a user in at most one match: a held user only moves (or is
/// re-confirmed as `connecting`) for its own holder, and `connecting`/`in-call` always
/// name a holder. A move to `available` with `holder: None` is unconditional (admin,
/// zombie reset).
pub fn allowed(from: Status, held_by: Option<&str>, to: Status, holder: Option<&str>) -> bool {
    use Status::*;
    if to.is_held() && holder.is_none() {
        return false;
    }
    if from.is_held() && holder.is_some() && held_by != holder {
        return false;
    }
    matches!(
        (from, to),
        (Available, Queueing | Connecting)
            | (Queueing, Available | Connecting | InCall)
            | (Connecting, Available | InCall | Connecting)
            | (InCall, Available)
    )
}

/// The milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::Status::*;
    use super::*;

    #[test]
    fn the_issue_table_is_the_transition_table() {
        let m = Some("m1");
        assert!(allowed(Available, None, Queueing, None));
        assert!(allowed(Available, None, Connecting, m));
        assert!(!allowed(Available, None, InCall, m));
        assert!(allowed(Queueing, None, Available, None));
        assert!(allowed(Queueing, None, Connecting, m));
        assert!(allowed(Queueing, None, InCall, m));
        assert!(allowed(Connecting, m, Available, m));
        assert!(allowed(Connecting, m, InCall, m));
        assert!(allowed(InCall, m, Available, m));
        assert!(!allowed(InCall, m, Connecting, m));
        assert!(!allowed(InCall, m, Queueing, None));
        assert!(!allowed(Queueing, None, Queueing, None));
    }

    #[test]
    fn a_held_user_moves_only_for_its_own_match() {
        assert!(!allowed(Connecting, Some("m1"), InCall, Some("m2")));
        assert!(!allowed(Connecting, Some("m1"), Connecting, Some("m2")));
        assert!(!allowed(InCall, Some("m1"), Available, Some("m2")));
        assert!(allowed(InCall, Some("m1"), Available, None));
        assert!(!allowed(Available, None, Connecting, None));
    }

    #[test]
    fn statuses_use_the_wire_spelling() {
        assert_eq!(serde_json::to_value(InCall).unwrap(), "in-call");
        assert_eq!(InCall.as_str(), "in-call");
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("busy"), None);
    }
}
