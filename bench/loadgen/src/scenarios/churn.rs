//! `churn`: parallel connect / CONNECT / disconnect loops; connects per second and server
//! RSS before and after.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Params, Phase, Target, setup};
use crate::LoadError;
use crate::addrs::SourceAddrs;
use crate::conn;
use crate::report::ScenarioReport;
use crate::rss::vm_rss_kib;
use crate::stats::Latencies;

const SETTLE: Duration = Duration::from_secs(2);

struct Tally {
    connects: AtomicU64,
    failures: AtomicU64,
    latencies: Latencies,
}

pub(super) async fn run(target: &Target, p: &Params) -> Result<ScenarioReport, LoadError> {
    let rss_before = vm_rss_kib(target.pid)?;
    let sources = Arc::new(SourceAddrs::new());
    let tally = Arc::new(Tally {
        connects: AtomicU64::new(0),
        failures: AtomicU64::new(0),
        latencies: Latencies::new(),
    });
    if let Some(hook) = &target.phase_hook {
        hook.call(Phase::MeasureStart).await;
    }
    let end = Instant::now() + p.duration;
    let mut tasks = JoinSet::new();
    for w in 0..p.churn_workers {
        let (sources, tally, target, timeout) = (
            Arc::clone(&sources),
            Arc::clone(&tally),
            target.addr,
            p.connect_timeout,
        );
        tasks.spawn(async move {
            let mut k = 0usize;
            while Instant::now() < end {
                let started = Instant::now();
                // Identities cycle so the server sees returning users, as in real reconnects.
                let auth = setup::agent_auth(w * 1_000 + k % 1_000);
                k += 1;
                match conn::connect(target, sources.next(), &auth, timeout).await {
                    Ok(c) => {
                        tally
                            .latencies
                            .record(w, started.elapsed().as_micros() as u64);
                        tally.connects.fetch_add(1, Ordering::Relaxed);
                        c.close(Duration::from_secs(2)).await;
                    }
                    Err(_) => {
                        tally.failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    let hard_stop = end + p.connect_timeout + Duration::from_secs(5);
    super::join_until(hard_stop, &mut tasks).await;
    tokio::time::sleep(SETTLE).await;
    // After the settle time, so every disconnect's cleanup is in the count.
    if let Some(hook) = &target.phase_hook {
        hook.call(Phase::MeasureEnd).await;
    }
    let rss_after = vm_rss_kib(target.pid)?;

    let connects = tally.connects.load(Ordering::Relaxed);
    let failures = tally.failures.load(Ordering::Relaxed);
    if connects == 0 {
        return Err(LoadError::Protocol(format!(
            "no connection succeeded ({failures} failures)"
        )));
    }
    let mut report = ScenarioReport::new("connects_per_s", true);
    report.push("workers", p.churn_workers as f64, "");
    report.push(
        "connects_per_s",
        connects as f64 / p.duration.as_secs_f64(),
        "1/s",
    );
    report.push("failures", failures as f64, "");
    report.push_latency("connect", tally.latencies.summary());
    report.push("rss_before_kib", rss_before as f64, "KiB");
    report.push("rss_after_kib", rss_after as f64, "KiB");
    report.push(
        "rss_growth_kib",
        rss_after as f64 - rss_before as f64,
        "KiB",
    );
    Ok(report)
}
