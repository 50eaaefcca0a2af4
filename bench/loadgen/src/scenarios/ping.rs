//! `ping`: every socket sends `health-ping` and waits for `health-pong` (one outstanding
//! per socket, closed loop). Measures round trips per second and their latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Params, Target, setup};
use crate::LoadError;
use crate::clock::now_ms;
use crate::conn::SioConn;
use crate::packet::{self, Packet};
use crate::report::ScenarioReport;
use crate::stats::Latencies;

/// How long one round trip may take before the socket counts as failed.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

struct Window {
    measure_from: Instant,
    end: Instant,
}

struct Tally {
    latencies: Latencies,
    round_trips: AtomicU64,
    failed_sockets: AtomicU64,
}

pub(super) async fn run(target: &Target, p: &Params) -> Result<ScenarioReport, LoadError> {
    let mut conns = setup::connect_all(target, p.connections, p).await?;
    probe(&mut conns[0]).await?;
    let now = Instant::now();
    let window = Arc::new(Window {
        measure_from: now + p.warmup,
        end: now + p.warmup + p.duration,
    });
    let tally = Arc::new(Tally {
        latencies: Latencies::new(),
        round_trips: AtomicU64::new(0),
        failed_sockets: AtomicU64::new(0),
    });
    let hook = super::mark_phases(target.phase_hook.clone(), window.measure_from, window.end);
    let mut tasks = JoinSet::new();
    for (i, conn) in conns.into_iter().enumerate() {
        tasks.spawn(ping_loop(i, conn, Arc::clone(&window), Arc::clone(&tally)));
    }
    let hard_stop = window.end + REPLY_TIMEOUT + Duration::from_secs(5);
    super::join_until(hard_stop, &mut tasks).await;
    if let Some(hook) = hook {
        let _ = hook.await;
    }

    let mut report = ScenarioReport::new("round_trips_per_s", true);
    let trips = tally.round_trips.load(Ordering::Relaxed);
    report.push("connections", p.connections as f64, "");
    report.push(
        "round_trips_per_s",
        trips as f64 / p.duration.as_secs_f64(),
        "1/s",
    );
    report.push_latency("rtt", tally.latencies.summary());
    report.push(
        "failed_sockets",
        tally.failed_sockets.load(Ordering::Relaxed) as f64,
        "",
    );
    Ok(report)
}

/// One round trip on the first socket, to tell "unsupported" from "slow".
async fn probe(conn: &mut SioConn) -> Result<(), LoadError> {
    conn.send(ping_frame("probe")).await?;
    match conn
        .expect(Some("health-pong"), None, Instant::now() + REPLY_TIMEOUT)
        .await
    {
        Ok(_) => Ok(()),
        Err(LoadError::Timeout(_)) => {
            Err(LoadError::Unsupported("no health-pong within 5 s".into()))
        }
        Err(e) => Err(e),
    }
}

fn ping_frame(id: &str) -> String {
    format!(
        "42[\"health-ping\",{{\"id\":\"{id}\",\"timestamp\":{}}}]",
        now_ms()
    )
}

async fn ping_loop(i: usize, mut conn: SioConn, window: Arc<Window>, tally: Arc<Tally>) {
    let mut seq = 0u64;
    while Instant::now() < window.end {
        seq += 1;
        let id = format!("{i}-{seq}");
        let sent = Instant::now();
        if one_round_trip(&mut conn, &id, sent + REPLY_TIMEOUT)
            .await
            .is_err()
        {
            tally.failed_sockets.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let done = Instant::now();
        if sent >= window.measure_from && done <= window.end {
            tally.round_trips.fetch_add(1, Ordering::Relaxed);
            tally.latencies.record(i, (done - sent).as_micros() as u64);
        }
    }
    conn.close(Duration::from_secs(2)).await;
}

async fn one_round_trip(conn: &mut SioConn, id: &str, deadline: Instant) -> Result<(), LoadError> {
    conn.send(ping_frame(id)).await?;
    loop {
        let frame = conn.recv_until(deadline).await?;
        if let Packet::Event {
            name: "health-pong",
            rest,
            ..
        } = packet::decode(&frame)
            && packet::find_str(rest, "id") == Some(id)
        {
            return Ok(());
        }
    }
}
