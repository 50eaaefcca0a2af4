//! `hold`: N idle sockets (answering Engine.IO pings only); server RSS per connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Params, Target, setup};
use crate::LoadError;
use crate::conn::SioConn;
use crate::report::ScenarioReport;
use crate::rss::vm_rss_kib;

/// Time given to the server to settle (allocator, lazy tasks) before reading RSS.
const SETTLE: Duration = Duration::from_secs(2);

pub(super) async fn run(target: &Target, p: &Params) -> Result<ScenarioReport, LoadError> {
    let rss_before = vm_rss_kib(target.pid)?;
    let started = Instant::now();
    let stop = CancellationToken::new();
    let dropped = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    let opened = setup::connect_each(target, p.connections, p, |_, conn| {
        tasks.spawn(keep_alive(conn, stop.clone(), Arc::clone(&dropped)));
    })
    .await;
    let connect_secs = started.elapsed().as_secs_f64();
    if let Err(e) = opened {
        stop.cancel();
        tasks.abort_all();
        return Err(e);
    }
    tokio::time::sleep(SETTLE).await;
    let rss_connected = vm_rss_kib(target.pid)?;
    tokio::time::sleep(p.duration).await;
    let rss_held = vm_rss_kib(target.pid)?;
    let still_connected = p.connections as u64 - dropped.load(Ordering::Relaxed);

    stop.cancel();
    let hard_stop = Instant::now() + Duration::from_secs(60);
    super::join_until(hard_stop, &mut tasks).await;
    tokio::time::sleep(SETTLE).await;
    let rss_after = vm_rss_kib(target.pid)?;

    let n = p.connections as f64;
    let mut report = ScenarioReport::new("rss_per_conn_bytes", false);
    report.push("connections", n, "");
    report.push("held_to_end", still_connected as f64, "");
    report.push("connect_secs", connect_secs, "s");
    report.push("connects_per_s", n / connect_secs, "1/s");
    report.push("rss_before_kib", rss_before as f64, "KiB");
    report.push("rss_connected_kib", rss_connected as f64, "KiB");
    report.push("rss_held_kib", rss_held as f64, "KiB");
    report.push("rss_after_disconnect_kib", rss_after as f64, "KiB");
    report.push(
        "rss_per_conn_bytes",
        (rss_connected.saturating_sub(rss_before) as f64 * 1024.0) / n,
        "B",
    );
    Ok(report)
}

async fn keep_alive(mut conn: SioConn, stop: CancellationToken, dropped: Arc<AtomicU64>) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            frame = conn.recv() => if frame.is_err() {
                dropped.fetch_add(1, Ordering::Relaxed);
                return;
            },
        }
    }
    conn.close(Duration::from_secs(5)).await;
}
