//! `typing`: agents view tickets (3-5 per ticket) and alternately send `ticket:typing` /
//! `ticket:stop_typing` at a set rate; the other viewers receive `agent:typing` /
//! `agent:stopped_typing`. Measures events per second and the send-to-receive latency of
//! `agent:typing`, using the send time each agent last stored in a shared table.
//! Latencies longer than an agent's typing interval (2 / rate) alias onto the next send
//! and are meaningless; `delivery_ratio` below 1 flags that saturated regime.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Params, Target, setup};
use crate::LoadError;
use crate::clock::now_us;
use crate::conn::SioConn;
use crate::packet::{self, Packet};
use crate::report::ScenarioReport;
use crate::stats::Latencies;

const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Ticket index of agent `i` when `n` agents are grouped 3, 4, 5, 3, 4, 5... per ticket
/// (a trailing group of fewer than 2 joins the previous ticket).
pub fn ticket_of_agent(n: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(n);
    let mut ticket = 0;
    while out.len() < n {
        let size = 3 + ticket % 3;
        let take = size.min(n - out.len());
        if take < 2 && ticket > 0 {
            out.extend(std::iter::repeat_n(ticket - 1, take));
        } else {
            out.extend(std::iter::repeat_n(ticket, take));
            ticket += 1;
        }
    }
    out
}

struct Shared {
    /// Microsecond timestamp of each agent's latest `ticket:typing`.
    last_typing_us: Vec<AtomicU64>,
    measure_from_us: u64,
    end_us: u64,
    latencies: Latencies,
    sent: AtomicU64,
    typing_received: AtomicU64,
    stopped_received: AtomicU64,
    viewers_updates: AtomicU64,
    errors: AtomicU64,
}

pub(super) async fn run(target: &Target, p: &Params) -> Result<ScenarioReport, LoadError> {
    if p.connections < 2 {
        return Err(LoadError::Protocol(
            "typing needs at least 2 connections".into(),
        ));
    }
    let tickets = ticket_of_agent(p.connections);
    let mut conns = setup::connect_all(target, p.connections, p).await?;
    view_probe(&mut conns[0], tickets[0]).await?;
    for (i, conn) in conns.iter_mut().enumerate().skip(1) {
        conn.send(packet::encode_event(
            "ticket:view",
            &ticket_json(tickets[i]),
            Some(1),
        ))
        .await?;
    }

    let start_us = now_us();
    let measure_from_us = start_us + p.warmup.as_micros() as u64;
    let shared = Arc::new(Shared {
        last_typing_us: (0..p.connections).map(|_| AtomicU64::new(0)).collect(),
        measure_from_us,
        end_us: measure_from_us + p.duration.as_micros() as u64,
        latencies: Latencies::new(),
        sent: AtomicU64::new(0),
        typing_received: AtomicU64::new(0),
        stopped_received: AtomicU64::new(0),
        viewers_updates: AtomicU64::new(0),
        errors: AtomicU64::new(0),
    });
    let interval = Duration::from_secs_f64(1.0 / p.typing_rate_per_agent.max(0.01));
    let end = Instant::now() + p.warmup + p.duration;
    let hook = super::mark_phases(target.phase_hook.clone(), end - p.duration, end);
    let mut tasks = JoinSet::new();
    let mut rng = rand::rng();
    for (i, conn) in conns.into_iter().enumerate() {
        let phase = interval.mul_f64(rng.random::<f64>());
        tasks.spawn(agent(
            i,
            tickets[i],
            conn,
            Instant::now() + phase,
            interval,
            end,
            Arc::clone(&shared),
        ));
    }
    let hard_stop = end + REPLY_TIMEOUT;
    super::join_until(hard_stop, &mut tasks).await;
    if let Some(hook) = hook {
        let _ = hook.await;
    }

    let secs = p.duration.as_secs_f64();
    let mut report = ScenarioReport::new("typing_p99_us", false);
    report.push("connections", p.connections as f64, "");
    report.push(
        "tickets",
        (tickets.last().copied().unwrap_or(0) + 1) as f64,
        "",
    );
    report.push(
        "events_sent_per_s",
        shared.sent.load(Ordering::Relaxed) as f64 / secs,
        "1/s",
    );
    let delivered = shared.typing_received.load(Ordering::Relaxed)
        + shared.stopped_received.load(Ordering::Relaxed);
    report.push("deliveries_per_s", delivered as f64 / secs, "1/s");
    // Each event should reach every other viewer of its ticket; below 1 the server (or the
    // load generator) is saturated and the latency figures describe a backlog.
    let expected = shared.sent.load(Ordering::Relaxed) as f64 * others_per_agent(&tickets);
    report.push("delivery_ratio", delivered as f64 / expected.max(1.0), "");
    report.push_latency("typing", shared.latencies.summary());
    report.push(
        "viewers_updates",
        shared.viewers_updates.load(Ordering::Relaxed) as f64,
        "",
    );
    report.push("errors", shared.errors.load(Ordering::Relaxed) as f64, "");
    Ok(report)
}

/// Average number of other viewers per agent (the fan-out of one typing event).
fn others_per_agent(tickets: &[usize]) -> f64 {
    let mut sizes = std::collections::HashMap::<usize, usize>::new();
    for &t in tickets {
        *sizes.entry(t).or_default() += 1;
    }
    let others: usize = tickets.iter().map(|t| sizes[t] - 1).sum();
    others as f64 / tickets.len().max(1) as f64
}

fn ticket_json(ticket: usize) -> serde_json::Value {
    serde_json::json!({ "ticketId": format!("t{ticket}") })
}

/// The first agent's view: an error ack, `plugboard:error` or silence means unsupported.
async fn view_probe(conn: &mut SioConn, ticket: usize) -> Result<(), LoadError> {
    conn.send(packet::encode_event(
        "ticket:view",
        &ticket_json(ticket),
        Some(1),
    ))
    .await?;
    let frame = match conn
        .expect(
            Some("viewers:updated"),
            Some(1),
            Instant::now() + REPLY_TIMEOUT,
        )
        .await
    {
        Ok(frame) => frame,
        Err(LoadError::Timeout(_)) => {
            return Err(LoadError::Unsupported(
                "no answer to ticket:view within 5 s".into(),
            ));
        }
        Err(e) => return Err(e),
    };
    if let Packet::Ack { args, .. } = packet::decode(&frame)
        && packet::ack_is_error(args)
    {
        return Err(LoadError::Unsupported(format!(
            "ticket:view answered {args:.200}"
        )));
    }
    Ok(())
}

async fn agent(
    i: usize,
    ticket: usize,
    mut conn: SioConn,
    first: Instant,
    interval: Duration,
    end: Instant,
    shared: Arc<Shared>,
) {
    let typing_frame = packet::encode_event("ticket:typing", &ticket_json(ticket), None);
    let stop_frame = packet::encode_event("ticket:stop_typing", &ticket_json(ticket), None);
    let mut next = first;
    let mut typing = true;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {
                if next >= end {
                    break;
                }
                let sent_us = now_us();
                if typing {
                    shared.last_typing_us[i].store(sent_us, Ordering::Relaxed);
                }
                let frame = if typing { typing_frame.clone() } else { stop_frame.clone() };
                if conn.send(frame).await.is_err() {
                    shared.errors.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                if in_window(&shared, sent_us) {
                    shared.sent.fetch_add(1, Ordering::Relaxed);
                }
                typing = !typing;
                next += interval;
            }
            frame = conn.recv() => match frame {
                Ok(frame) => on_frame(i, &frame, &shared),
                Err(_) => {
                    shared.errors.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            },
        }
    }
    conn.close(Duration::from_secs(2)).await;
}

fn in_window(shared: &Shared, t_us: u64) -> bool {
    t_us >= shared.measure_from_us && t_us < shared.end_us
}

fn on_frame(i: usize, frame: &str, shared: &Shared) {
    let Packet::Event { name, rest, .. } = packet::decode(frame) else {
        return;
    };
    match name {
        "agent:typing" => {
            let now = now_us();
            let sender = packet::find_str(rest, "agentId")
                .and_then(|a| a.strip_prefix('a'))
                .and_then(|n| n.parse::<usize>().ok());
            let Some(sent) = sender
                .and_then(|j| shared.last_typing_us.get(j))
                .map(|t| t.load(Ordering::Relaxed))
            else {
                return;
            };
            if sent > 0 && in_window(shared, sent) {
                shared.typing_received.fetch_add(1, Ordering::Relaxed);
                shared.latencies.record(i, now.saturating_sub(sent));
            }
        }
        "agent:stopped_typing" if in_window(shared, now_us()) => {
            shared.stopped_received.fetch_add(1, Ordering::Relaxed);
        }
        "viewers:updated" => {
            shared.viewers_updates.fetch_add(1, Ordering::Relaxed);
        }
        "plugboard:error" => {
            shared.errors.fetch_add(1, Ordering::Relaxed);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_three_to_five_per_ticket() {
        assert_eq!(
            ticket_of_agent(12),
            vec![0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2]
        );
        // 13th agent alone would be a ticket of one: it joins the previous ticket.
        assert_eq!(ticket_of_agent(13).last(), Some(&2));
        assert_eq!(ticket_of_agent(2), vec![0, 0]);
        // 3 agents see 2 others, 4 see 3, 5 see 4: (3*2 + 4*3 + 5*4) / 12.
        assert!((others_per_agent(&ticket_of_agent(12)) - 38.0 / 12.0).abs() < 1e-9);
    }
}
