//! The in-memory match and call records.

/// A ringing or running call inside a match.
#[derive(Debug, Clone)]
pub(crate) struct CallRec {
    pub(crate) caller: String,
    pub(crate) callee: String,
    pub(crate) stage: String,
    pub(crate) active: bool,
}

/// One match: two parties, at most one call.
#[derive(Debug)]
pub(crate) struct MatchRec {
    pub(crate) id: String,
    pub(crate) parties: [String; 2],
    pub(crate) call: Option<CallRec>,
    /// Removed from the map; late lockers treat it as gone.
    pub(crate) ended: bool,
}

impl MatchRec {
    pub(crate) fn new(id: &str, parties: [&str; 2]) -> Self {
        Self {
            id: id.to_owned(),
            parties: parties.map(str::to_owned),
            call: None,
            ended: false,
        }
    }

    pub(crate) fn has(&self, user: &str) -> bool {
        self.parties.iter().any(|p| p == user)
    }

    pub(crate) fn other(&self, user: &str) -> &str {
        if self.parties[0] == user {
            &self.parties[1]
        } else {
            &self.parties[0]
        }
    }
}
