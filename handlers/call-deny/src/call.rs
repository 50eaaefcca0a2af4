//! The call record, its statuses, and the one rule that decides every transition.
//!
//! [`decide`] is pure: a store applies it to the current record inside its atomic step
//! (a lock in memory, a script in Redis), so "who may do what, from which status" lives in
//! one place and every store behaves the same.

use serde::{Deserialize, Serialize};

/// Where a call is in its life. `ringing -> accepted | denied | missed | cancelled`,
/// `accepted -> ended`; nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// Waiting for an agent (or the target) to answer.
    Ringing,
    /// An agent answered; the call is live.
    Accepted,
    /// An agent (or the target) refused it.
    Denied,
    /// A live call finished.
    Ended,
    /// Nobody answered within the ring timeout.
    Missed,
    /// The caller gave up (or went away) while it rang.
    Cancelled,
}

impl CallStatus {
    /// Every status.
    pub const ALL: [CallStatus; 6] = [
        Self::Ringing,
        Self::Accepted,
        Self::Denied,
        Self::Ended,
        Self::Missed,
        Self::Cancelled,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ringing => "ringing",
            Self::Accepted => "accepted",
            Self::Denied => "denied",
            Self::Ended => "ended",
            Self::Missed => "missed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Ringing or accepted: the call still holds its parties.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Ringing | Self::Accepted)
    }

    /// The only status a call must be in to move to `self`.
    pub fn required_from(self) -> Option<CallStatus> {
        match self {
            Self::Accepted | Self::Denied | Self::Missed | Self::Cancelled => Some(Self::Ringing),
            Self::Ended => Some(Self::Accepted),
            Self::Ringing => None,
        }
    }
}

/// Why a live call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// A party hung up (`call:end`).
    Hangup,
    /// A party's last socket went away.
    PeerDisconnected,
    /// The call reached `max_call_ms`.
    Timeout,
}

/// One call, as clients and host services see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    /// Server-made id.
    pub call_id: String,
    /// The caller's request id (made by the server when the caller sent none).
    pub request_id: String,
    /// Who calls.
    pub caller_id: String,
    /// The user called; absent: any agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    /// Where the call is.
    pub status: CallStatus,
    /// Creation time, ms since epoch.
    pub created_at: u64,
    /// Time of the last transition, ms since epoch.
    pub updated_at: u64,
    /// Why a live call ended (only for `ended`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_reason: Option<EndReason>,
    /// Who made the last transition (absent for the server's own: missed, timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The agent who accepted the call (kept apart from `by`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
}

impl Call {
    /// True when `user` is the caller or the accepting agent.
    pub fn is_party(&self, user: &str) -> bool {
        self.caller_id == user || self.agent_id.as_deref() == Some(user)
    }
}

/// Who asks for a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A connected user (socket identity or agent JWT).
    User {
        /// The user id.
        id: String,
        /// Carries the agent role.
        agent: bool,
    },
    /// A trusted host service (Rust host API or the HTTP bearer key), optionally naming
    /// on whose behalf it acts.
    Host {
        /// Recorded as `by`.
        by: Option<String>,
    },
    /// The server itself (ring timeout, call timeout).
    System,
}

impl Actor {
    /// What is recorded as `by`.
    pub fn by(&self) -> Option<String> {
        match self {
            Self::User { id, .. } => Some(id.clone()),
            Self::Host { by } => by.clone(),
            Self::System => None,
        }
    }
}

/// A requested transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The status to move to.
    pub to: CallStatus,
    /// Who asks.
    pub actor: Actor,
    /// For `ended`: why.
    pub reason: Option<EndReason>,
    /// The time of the request, ms since epoch.
    pub now_ms: u64,
    /// For `accepted`: when the live call times out (`max_call_ms`), if it does.
    pub deadline_ms: Option<u64>,
}

/// What [`decide`] says about a transition on a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Apply it.
    Apply,
    /// It already happened (a repeated deny, cancel or end): answer success, change nothing.
    Duplicate,
    /// The call is in another status; change nothing.
    Conflict,
    /// The actor may not do this to this call.
    Forbidden,
}

/// The transition rule: permission first, then status.
///
/// - accept, deny: an agent, the call's target, a host service; never the caller;
/// - cancel: the caller or a host service;
/// - end: a party (caller, accepting agent) or a host service;
/// - missed and timeouts: the server.
///
/// A repeated deny, cancel or end is a [`Decision::Duplicate`]; a second accept is a
/// [`Decision::Conflict`] (first accept wins).
pub fn decide(call: &Call, t: &Transition) -> Decision {
    let allowed = match (&t.actor, t.to) {
        (Actor::System, _) => true,
        (Actor::Host { .. }, to) => to != CallStatus::Missed,
        (Actor::User { id, agent }, CallStatus::Accepted | CallStatus::Denied) => {
            *id != call.caller_id && (*agent || call.target_id.as_deref() == Some(id))
        }
        (Actor::User { id, .. }, CallStatus::Cancelled) => *id == call.caller_id,
        (Actor::User { id, .. }, CallStatus::Ended) => call.is_party(id),
        (Actor::User { .. }, _) => false,
    };
    if !allowed {
        return Decision::Forbidden;
    }
    if call.status == t.to && t.to != CallStatus::Accepted {
        return Decision::Duplicate;
    }
    match t.to.required_from() {
        Some(from) if from == call.status => Decision::Apply,
        _ => Decision::Conflict,
    }
}

/// Applies an allowed transition to the record.
pub fn apply(call: &mut Call, t: &Transition) {
    call.status = t.to;
    call.updated_at = t.now_ms.max(call.created_at);
    call.by = t.actor.by();
    if t.to == CallStatus::Accepted {
        call.agent_id = t.actor.by();
    }
    if t.to == CallStatus::Ended {
        call.ended_reason = Some(t.reason.unwrap_or(EndReason::Hangup));
    }
}
