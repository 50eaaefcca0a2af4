//! The transition rule alone: who may move a call where, and what a repeat is.

use plugboard_call_deny::{
    Actor, Call, CallStatus, Decision, EndReason, Transition, apply, decide,
};

fn call(status: CallStatus) -> Call {
    Call {
        call_id: "c1".into(),
        request_id: "r1".into(),
        caller_id: "caller".into(),
        target_id: Some("target".into()),
        status,
        created_at: 10,
        updated_at: 10,
        ended_reason: None,
        by: None,
        agent_id: Some("a1".into()),
    }
}

fn user(id: &str, agent: bool) -> Actor {
    Actor::User {
        id: id.into(),
        agent,
    }
}

fn t(to: CallStatus, actor: Actor) -> Transition {
    Transition {
        to,
        actor,
        reason: None,
        now_ms: 20,
        deadline_ms: None,
    }
}

#[test]
fn only_agents_or_the_target_may_deny_and_never_the_caller() {
    let c = call(CallStatus::Ringing);
    let deny = |a| decide(&c, &t(CallStatus::Denied, a));
    assert_eq!(deny(user("a9", true)), Decision::Apply);
    assert_eq!(deny(user("target", false)), Decision::Apply);
    assert_eq!(deny(user("someone", false)), Decision::Forbidden);
    assert_eq!(deny(user("caller", true)), Decision::Forbidden);
    assert_eq!(deny(Actor::Host { by: None }), Decision::Apply);
}

#[test]
fn repeated_deny_is_a_duplicate_but_a_second_accept_is_a_conflict() {
    let denied = call(CallStatus::Denied);
    assert_eq!(
        decide(&denied, &t(CallStatus::Denied, user("a2", true))),
        Decision::Duplicate
    );
    let accepted = call(CallStatus::Accepted);
    assert_eq!(
        decide(&accepted, &t(CallStatus::Accepted, user("a2", true))),
        Decision::Conflict
    );
    assert_eq!(
        decide(&accepted, &t(CallStatus::Denied, user("a2", true))),
        Decision::Conflict
    );
}

#[test]
fn only_listed_transitions_exist() {
    for from in CallStatus::ALL {
        for to in CallStatus::ALL {
            let d = decide(&call(from), &t(to, Actor::System));
            let legal = to.required_from() == Some(from);
            let repeat = from == to && to != CallStatus::Accepted;
            let expected = if repeat {
                Decision::Duplicate
            } else if legal {
                Decision::Apply
            } else {
                Decision::Conflict
            };
            assert_eq!(d, expected, "{from:?} -> {to:?}");
        }
    }
}

#[test]
fn end_is_for_parties_and_cancel_for_the_caller() {
    let live = call(CallStatus::Accepted);
    let end = |a| decide(&live, &t(CallStatus::Ended, a));
    assert_eq!(end(user("caller", false)), Decision::Apply);
    assert_eq!(end(user("a1", true)), Decision::Apply);
    assert_eq!(end(user("a2", true)), Decision::Forbidden);
    let ringing = call(CallStatus::Ringing);
    assert_eq!(
        decide(&ringing, &t(CallStatus::Cancelled, user("a1", true))),
        Decision::Forbidden
    );
    assert_eq!(
        decide(&ringing, &t(CallStatus::Cancelled, user("caller", false))),
        Decision::Apply
    );
}

#[test]
fn accept_records_the_agent_apart_from_by_and_end_keeps_it() {
    let mut c = call(CallStatus::Ringing);
    c.agent_id = None;
    apply(&mut c, &t(CallStatus::Accepted, user("a7", true)));
    assert_eq!(
        (c.agent_id.as_deref(), c.by.as_deref()),
        (Some("a7"), Some("a7"))
    );
    let mut end = t(CallStatus::Ended, user("caller", false));
    end.reason = Some(EndReason::PeerDisconnected);
    apply(&mut c, &end);
    assert_eq!(c.agent_id.as_deref(), Some("a7"));
    assert_eq!(c.by.as_deref(), Some("caller"));
    assert_eq!(c.ended_reason, Some(EndReason::PeerDisconnected));
    assert_eq!(c.updated_at, 20);
}
