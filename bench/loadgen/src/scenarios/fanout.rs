//! `fanout`: K subscribers per entity on E entities (`timeline:subscribe`), a host
//! publishing at rate R through `POST /api/timeline/client/{id}`; subscribers receive
//! `timeline:new_item`. Measures delivered messages per second and publish-to-receive
//! latency (from the item's send timestamp).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Params, Target, setup};
use crate::LoadError;
use crate::clock::{now_ms, now_us};
use crate::conn::SioConn;
use crate::packet::{self, Packet};
use crate::publish::Publisher;
use crate::report::ScenarioReport;
use crate::stats::Latencies;

const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// Time subscribers keep reading after the last publish, for messages in flight.
const DRAIN: Duration = Duration::from_secs(2);

struct Shared {
    /// Measured window, in epoch microseconds of the publish time (`u64::MAX` until set).
    measure_from_us: AtomicU64,
    end_us: AtomicU64,
    latencies: Latencies,
    received: AtomicU64,
    published: AtomicU64,
    reported_delivered: AtomicU64,
    publish_errors: AtomicU64,
    dropped_subscribers: AtomicU64,
}

impl Shared {
    fn in_window(&self, t_us: u64) -> bool {
        t_us >= self.measure_from_us.load(Ordering::Relaxed)
            && t_us < self.end_us.load(Ordering::Relaxed)
    }
}

pub(super) async fn run(target: &Target, p: &Params) -> Result<ScenarioReport, LoadError> {
    let per_entity = p.fanout_subscribers.min(p.connections);
    let entities = (p.connections / per_entity).max(1);
    let subscribers = entities * per_entity;
    let conns = setup::connect_all(target, subscribers, p).await?;

    let shared = Arc::new(Shared {
        measure_from_us: AtomicU64::new(u64::MAX),
        end_us: AtomicU64::new(u64::MAX),
        latencies: Latencies::new(),
        received: AtomicU64::new(0),
        published: AtomicU64::new(0),
        reported_delivered: AtomicU64::new(0),
        publish_errors: AtomicU64::new(0),
        dropped_subscribers: AtomicU64::new(0),
    });
    let stop = CancellationToken::new();
    let (ready_tx, mut ready_rx) = mpsc::channel::<Result<(), LoadError>>(1024);
    let mut tasks = JoinSet::new();
    for (i, conn) in conns.into_iter().enumerate() {
        tasks.spawn(subscriber(
            i,
            i % entities,
            conn,
            ready_tx.clone(),
            stop.clone(),
            Arc::clone(&shared),
        ));
    }
    drop(ready_tx);
    let result = measure(target, p, entities, &mut ready_rx, subscribers, &shared).await;
    tokio::time::sleep(DRAIN).await;
    stop.cancel();
    let hard_stop = Instant::now() + Duration::from_secs(10);
    super::join_until(hard_stop, &mut tasks).await;
    result?;

    let secs = p.duration.as_secs_f64();
    let published = shared.published.load(Ordering::Relaxed);
    let received = shared.received.load(Ordering::Relaxed);
    let mut report = ScenarioReport::new("delivered_per_s", true);
    report.push("subscribers", subscribers as f64, "");
    report.push("entities", entities as f64, "");
    report.push("publishes_per_s", published as f64 / secs, "1/s");
    report.push("delivered_per_s", received as f64 / secs, "1/s");
    report.push(
        "delivery_ratio",
        received as f64 / (published as f64 * per_entity as f64).max(1.0),
        "",
    );
    report.push(
        "server_reported_delivered",
        shared.reported_delivered.load(Ordering::Relaxed) as f64,
        "",
    );
    report.push_latency("delivery", shared.latencies.summary());
    report.push(
        "publish_errors",
        shared.publish_errors.load(Ordering::Relaxed) as f64,
        "",
    );
    report.push(
        "dropped_subscribers",
        shared.dropped_subscribers.load(Ordering::Relaxed) as f64,
        "",
    );
    Ok(report)
}

/// Waits for every subscription, then publishes for warmup + duration.
async fn measure(
    target: &Target,
    p: &Params,
    entities: usize,
    ready_rx: &mut mpsc::Receiver<Result<(), LoadError>>,
    subscribers: usize,
    shared: &Arc<Shared>,
) -> Result<(), LoadError> {
    let deadline = Instant::now() + p.connect_phase_timeout;
    for _ in 0..subscribers {
        match tokio::time::timeout_at(deadline, ready_rx.recv()).await {
            Ok(Some(Ok(()))) => {}
            Ok(Some(Err(e))) => return Err(e),
            Ok(None) | Err(_) => return Err(LoadError::Timeout("subscribing")),
        }
    }
    let mut publishers = Vec::with_capacity(p.fanout_publishers);
    for _ in 0..p.fanout_publishers {
        publishers.push(Publisher::connect(target.addr, &target.api_key, REPLY_TIMEOUT).await?);
    }
    probe_publish(&mut publishers[0]).await?;

    let measure_from_us = now_us() + p.warmup.as_micros() as u64;
    shared
        .measure_from_us
        .store(measure_from_us, Ordering::Relaxed);
    shared.end_us.store(
        measure_from_us + p.duration.as_micros() as u64,
        Ordering::Relaxed,
    );
    let end = Instant::now() + p.warmup + p.duration;
    let interval =
        Duration::from_secs_f64(p.fanout_publishers as f64 / p.fanout_publish_rate.max(0.1));
    let mut tasks = JoinSet::new();
    for (k, publisher) in publishers.into_iter().enumerate() {
        tasks.spawn(publish_loop(
            k,
            publisher,
            entities,
            interval,
            end,
            Arc::clone(shared),
        ));
    }
    let hard_stop = end + REPLY_TIMEOUT;
    super::join_until(hard_stop, &mut tasks).await;
    Ok(())
}

fn entity_path(entity: usize) -> String {
    format!("/api/timeline/client/e{entity}")
}

fn item_body(id: &str) -> String {
    json!({ "type": "new_item", "item": { "id": id, "sentAt": now_ms(), "sentAtUs": now_us() } })
        .to_string()
}

/// One publish before measuring: 404 means the server has no timeline API.
async fn probe_publish(publisher: &mut Publisher) -> Result<(), LoadError> {
    let reply = publisher.post(&entity_path(0), item_body("probe")).await?;
    match reply.status.as_u16() {
        200..=299 => Ok(()),
        404 => Err(LoadError::Unsupported("publish API answered 404".into())),
        code => Err(LoadError::Http(format!("publish API answered {code}"))),
    }
}

async fn publish_loop(
    k: usize,
    mut publisher: Publisher,
    entities: usize,
    interval: Duration,
    end: Instant,
    shared: Arc<Shared>,
) {
    let mut next = Instant::now() + interval.mul_f64(k as f64 / entities.max(1) as f64);
    let mut seq = 0usize;
    while next < end {
        // Open loop: fall behind rather than queue up; a late publish is sent at once.
        tokio::time::sleep_until(next).await;
        next += interval;
        let entity = (k + seq) % entities;
        seq += 1;
        let sent_us = now_us();
        match publisher
            .post(&entity_path(entity), item_body(&format!("p{k}-{seq}")))
            .await
        {
            Ok(reply) if reply.status.is_success() => {
                if shared.in_window(sent_us) {
                    shared.published.fetch_add(1, Ordering::Relaxed);
                    shared
                        .reported_delivered
                        .fetch_add(reply.delivered.unwrap_or(0), Ordering::Relaxed);
                }
            }
            _ => {
                shared.publish_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

async fn subscriber(
    i: usize,
    entity: usize,
    mut conn: SioConn,
    ready: mpsc::Sender<Result<(), LoadError>>,
    stop: CancellationToken,
    shared: Arc<Shared>,
) {
    let subscribed = subscribe(&mut conn, entity).await;
    let ok = subscribed.is_ok();
    let _ = ready.send(subscribed).await;
    drop(ready);
    if !ok {
        return;
    }
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            frame = conn.recv() => match frame {
                Ok(frame) => on_frame(i, &frame, &shared),
                Err(_) => {
                    shared.dropped_subscribers.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            },
        }
    }
    conn.close(Duration::from_secs(2)).await;
}

async fn subscribe(conn: &mut SioConn, entity: usize) -> Result<(), LoadError> {
    let payload = json!({ "entityType": "client", "entityId": format!("e{entity}") });
    conn.send(packet::encode_event(
        "timeline:subscribe",
        &payload,
        Some(1),
    ))
    .await?;
    let frame = match conn
        .expect(None, Some(1), Instant::now() + REPLY_TIMEOUT)
        .await
    {
        Ok(frame) => frame,
        Err(LoadError::Timeout(_)) => {
            return Err(LoadError::Unsupported(
                "no ack to timeline:subscribe within 5 s".into(),
            ));
        }
        Err(e) => return Err(e),
    };
    match packet::decode(&frame) {
        Packet::Ack { args, .. } if !packet::ack_is_error(args) => Ok(()),
        Packet::Ack { args, .. } => Err(LoadError::Unsupported(format!(
            "timeline:subscribe answered {args:.200}"
        ))),
        _ => Err(LoadError::Protocol("expected an ack".into())),
    }
}

fn on_frame(i: usize, frame: &str, shared: &Shared) {
    if let Packet::Event {
        name: "timeline:new_item",
        rest,
        ..
    } = packet::decode(frame)
        && let Some(sent_us) = packet::find_u64(rest, "sentAtUs")
        && shared.in_window(sent_us)
    {
        shared.received.fetch_add(1, Ordering::Relaxed);
        shared.latencies.record(i, now_us().saturating_sub(sent_us));
    }
}
