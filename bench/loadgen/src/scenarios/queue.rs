//! `queue`: every user runs a closed loop on the live queue: `live-call:join-queue` (with
//! ack), wait for `live-call:match-found`, `end-call` the match (both parties get
//! `call-ended` and are available again), join again. Measures matches per second and
//! the time from a join to its match.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Params, Target, setup};
use crate::LoadError;
use crate::conn::SioConn;
use crate::packet::{self, Packet};
use crate::report::ScenarioReport;
use crate::stats::Latencies;

/// How long one answer may take before the user counts as failed.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause before retrying a join the server refused (the user was still held).
const RETRY_PAUSE: Duration = Duration::from_millis(5);

struct Window {
    measure_from: Instant,
    end: Instant,
}

struct Tally {
    join_to_match: Latencies,
    matched_users: AtomicU64,
    refused_joins: AtomicU64,
    failed_users: AtomicU64,
}

pub(super) async fn run(target: &Target, p: &Params) -> Result<ScenarioReport, LoadError> {
    // Users pair up, so an even number of them.
    let users = (p.connections.max(2) / 2) * 2;
    let mut conns = setup::connect_all(target, users, p).await?;
    probe(&mut conns[0]).await?;
    let now = Instant::now();
    let window = Arc::new(Window {
        measure_from: now + p.warmup,
        end: now + p.warmup + p.duration,
    });
    let tally = Arc::new(Tally {
        join_to_match: Latencies::new(),
        matched_users: AtomicU64::new(0),
        refused_joins: AtomicU64::new(0),
        failed_users: AtomicU64::new(0),
    });
    let mut tasks = JoinSet::new();
    for (i, conn) in conns.into_iter().enumerate() {
        tasks.spawn(user_loop(i, conn, Arc::clone(&window), Arc::clone(&tally)));
    }
    let hard_stop = window.end + 2 * REPLY_TIMEOUT;
    super::join_until(hard_stop, &mut tasks).await;

    let mut report = ScenarioReport::new("matches_per_s", true);
    let matched = tally.matched_users.load(Ordering::Relaxed) as f64;
    report.push("users", users as f64, "");
    // Each match is seen by both of its users.
    report.push(
        "matches_per_s",
        matched / 2.0 / p.duration.as_secs_f64(),
        "1/s",
    );
    report.push_latency("join_to_match", tally.join_to_match.summary());
    report.push(
        "refused_joins",
        tally.refused_joins.load(Ordering::Relaxed) as f64,
        "",
    );
    report.push(
        "failed_users",
        tally.failed_users.load(Ordering::Relaxed) as f64,
        "",
    );
    Ok(report)
}

/// One join and leave on the first socket, to tell "unsupported" from "slow".
async fn probe(conn: &mut SioConn) -> Result<(), LoadError> {
    let deadline = Instant::now() + REPLY_TIMEOUT;
    conn.send(packet::encode_event(
        "live-call:join-queue",
        &json!({}),
        Some(1),
    ))
    .await?;
    let frame = match conn.expect(None, Some(1), deadline).await {
        Ok(frame) => frame,
        Err(LoadError::Timeout(_)) => {
            return Err(LoadError::Unsupported(
                "no live-call:join-queue ack within 5 s".into(),
            ));
        }
        Err(e) => return Err(e),
    };
    if let Packet::Ack { args, .. } = packet::decode(&frame)
        && packet::ack_is_error(args)
    {
        return Err(LoadError::Unsupported(format!(
            "live-call:join-queue answered {args:.200}"
        )));
    }
    conn.send(packet::encode_event(
        "live-call:leave-queue",
        &json!({}),
        Some(2),
    ))
    .await?;
    conn.expect(None, Some(2), deadline).await?;
    Ok(())
}

async fn user_loop(i: usize, mut conn: SioConn, window: Arc<Window>, tally: Arc<Tally>) {
    let mut ack = 10u64;
    while Instant::now() < window.end {
        ack += 1;
        let joined = Instant::now();
        let join = packet::encode_event("live-call:join-queue", &json!({}), Some(ack));
        let answer = match conn.send(join).await {
            Ok(()) => conn.expect(None, Some(ack), joined + REPLY_TIMEOUT).await,
            Err(e) => Err(e),
        };
        let Ok(frame) = answer else {
            tally.failed_users.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if let Packet::Ack { args, .. } = packet::decode(&frame)
            && packet::ack_is_error(args)
        {
            tally.refused_joins.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(RETRY_PAUSE).await;
            continue;
        }
        // The last users may wait in vain once the others stop at the window's end.
        let Ok(found) = conn
            .expect(
                Some("live-call:match-found"),
                None,
                window.end + REPLY_TIMEOUT,
            )
            .await
        else {
            break;
        };
        let matched = Instant::now();
        if joined >= window.measure_from && matched <= window.end {
            tally.matched_users.fetch_add(1, Ordering::Relaxed);
            tally
                .join_to_match
                .record(i, (matched - joined).as_micros() as u64);
        }
        let match_id = match packet::decode(&found) {
            Packet::Event { rest, .. } => packet::find_str(rest, "matchId")
                .unwrap_or_default()
                .to_owned(),
            _ => String::new(),
        };
        ack += 1;
        if end_match(&mut conn, &match_id, ack).await.is_err() {
            tally.failed_users.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
    conn.close(Duration::from_secs(2)).await;
}

/// Sends `end-call` and waits for both `call-ended` (from whichever party ended first) and
/// the ack of this request (an error when the peer was first).
async fn end_match(conn: &mut SioConn, match_id: &str, ack: u64) -> Result<(), LoadError> {
    conn.send(packet::encode_event(
        "end-call",
        &json!({ "matchId": match_id }),
        Some(ack),
    ))
    .await?;
    let deadline = Instant::now() + REPLY_TIMEOUT;
    let (mut ended, mut acked) = (false, false);
    while !(ended && acked) {
        let frame = conn.recv_until(deadline).await?;
        match packet::decode(&frame) {
            Packet::Event {
                name: "call-ended", ..
            } => ended = true,
            Packet::Ack { id, .. } if id == ack => acked = true,
            _ => {}
        }
    }
    Ok(())
}
