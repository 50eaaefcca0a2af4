//! Per-socket dispatch. socketioxide spawns a task per incoming event, so one socket's
//! events could run out of order; Node servers handle them in arrival order, and
//! frontends rely on it (`ticket:typing` then `ticket:stop_typing`). plugboard registers
//! one synchronous fallback handler per socket that appends each event to the socket's
//! queue; a drain task (started only while the queue is non-empty) runs the jobs one after
//! another. Different sockets drain in parallel. Connect hooks are the first job and the
//! disconnect cleanup the last: events that arrived before the disconnect still run, and a
//! handler never sees an event after its cleanup.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use futures_util::FutureExt;
use parking_lot::Mutex;
use serde_json::json;
use tokio::sync::oneshot;

use crate::adapter::{AnyAck, AnySocketRef};
use crate::config::LimitsConfig;
use crate::core::Core;
use crate::lifecycle;
use crate::payload::Payload;
use crate::route::Route;
use crate::socket::Handle;
use crate::{DisconnectReason, ErrorCode, HandlerError, Identity, Socket};

/// Lets socketioxide take the socket out of the namespace once plugboard's cleanup ran.
pub(crate) type Defer = Box<dyn FnOnce() + Send>;

pub(crate) enum Job {
    Connect(Socket),
    Event {
        route: Arc<Route>,
        socket: Socket,
        payload: Payload,
        ack: Option<AnyAck>,
    },
    Disconnect {
        socket: Socket,
        reason: DisconnectReason,
        defer: Defer,
    },
    Cleanup {
        socket: Socket,
        done: oneshot::Sender<()>,
    },
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    running: bool,
}

/// Token bucket for the per-socket event rate limit.
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// What plugboard keeps per socket. It holds no reference to the socketioxide socket (that
/// would be a cycle through the socket's handler table).
pub(crate) struct SocketState {
    pub(crate) identity: Arc<Identity>,
    queue: Mutex<Queue>,
    bucket: Mutex<Bucket>,
    rate: f64,
    burst: f64,
    cleaned: AtomicBool,
}

impl SocketState {
    pub(crate) fn new(identity: Arc<Identity>, limits: &LimitsConfig) -> Self {
        let burst = f64::from(limits.event_burst.max(1));
        Self {
            identity,
            // Held: events may arrive between socketioxide's CONNECT answer and the connect
            // handler; they wait here until `release` puts the connect job in front.
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                running: true,
            }),
            bucket: Mutex::new(Bucket {
                tokens: burst,
                last: Instant::now(),
            }),
            rate: f64::from(limits.events_per_second),
            burst,
            cleaned: AtomicBool::new(false),
        }
    }

    /// Marks the socket cleaned up; true only the first time.
    pub(crate) fn first_cleanup(&self) -> bool {
        !self.cleaned.swap(true, Ordering::AcqRel)
    }

    fn take_token(&self) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let mut b = self.bucket.lock();
        let now = Instant::now();
        b.tokens =
            (b.tokens + now.duration_since(b.last).as_secs_f64() * self.rate).min(self.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Puts `first` in front of the jobs queued while the socket was being connected and
/// starts draining them.
pub(crate) fn release(core: &Arc<Core>, state: &Arc<SocketState>, first: Job) {
    state.queue.lock().jobs.push_front(first);
    tokio::spawn(drain(core.clone(), state.clone()));
}

/// Appends a job; starts a drain task when none runs for this socket.
pub(crate) fn push(core: &Arc<Core>, state: &Arc<SocketState>, job: Job) {
    let start = {
        let mut q = state.queue.lock();
        q.jobs.push_back(job);
        !std::mem::replace(&mut q.running, true)
    };
    if start {
        tokio::spawn(drain(core.clone(), state.clone()));
    }
}

async fn drain(core: Arc<Core>, state: Arc<SocketState>) {
    loop {
        let job = {
            let mut q = state.queue.lock();
            match q.jobs.pop_front() {
                Some(job) => job,
                None => {
                    q.running = false;
                    return;
                }
            }
        };
        run(&core, &state, job).await;
    }
}

/// Runs one job. Every job's future is boxed, so the drain task's own future stays small:
/// a drain task is spawned per burst of events (in a closed loop, per event), and tokio
/// moves a spawned future several times (callgrind: 2,300 instructions per spawn with an
/// 816-byte drain future, 1,300 with the boxed one). The connect and disconnect jobs and
/// the `messageId` paths are the large ones (Redis calls on a cluster).
async fn run(core: &Arc<Core>, state: &Arc<SocketState>, job: Job) {
    match job {
        Job::Connect(socket) => Box::pin(lifecycle::connect(core, socket)).await,
        Job::Event {
            route,
            socket,
            payload,
            ack,
        } => {
            // An event that arrived before its socket's disconnect still runs, as on a
            // Node server (a deny sent just before a tab closes must land); the disconnect
            // cleanup is queued behind it, so whatever it creates is cleaned up right after.
            Box::pin(execute(core, &route, socket, payload, ack)).await;
        }
        Job::Disconnect {
            socket,
            reason,
            defer,
        } => {
            Box::pin(lifecycle::cleanup(core, state, socket, reason)).await;
            defer();
        }
        Job::Cleanup { socket, done } => {
            Box::pin(lifecycle::cleanup(
                core,
                state,
                socket,
                DisconnectReason::ClosingServer,
            ))
            .await;
            let _ = done.send(());
        }
    }
}

async fn execute(
    core: &Arc<Core>,
    route: &Route,
    socket: Socket,
    payload: Payload,
    ack: Option<AnyAck>,
) {
    let user = socket.identity_arc();
    let replay_key = payload.message_id();
    if let Some(id) = &replay_key
        && let Some(first) = Box::pin(core.idempotency.get(&user.user_id, &route.event, id)).await
    {
        core.metrics.replay();
        tracing::debug!(handler = route.handler, event = %route.event, user = %user.user_id, message_id = %id, "replayed first answer");
        if let Some(ack) = ack {
            let _ = ack.send(&first);
        }
        return;
    }
    let started = Instant::now();
    let reply = AssertUnwindSafe((route.call)(socket.clone(), payload))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            tracing::error!(handler = route.handler, event = %route.event, socket = %socket.id(), "event handler panicked");
            Err(HandlerError::internal("the handler failed"))
        });
    route.metrics.events.inc();
    route
        .metrics
        .latency
        .observe(started.elapsed().as_secs_f64());
    let (body, error) = match reply {
        Ok(body) => (body, None),
        Err(e) => {
            core.metrics.error(e.code);
            tracing::debug!(handler = route.handler, event = %route.event, socket = %socket.id(), user = %user.user_id, code = e.code.as_str(), message = %e.message, "event refused");
            (e.to_ack(), Some(e))
        }
    };
    match (ack, error) {
        (Some(ack), _) => {
            if ack.send(&body).is_err() {
                socket.on_buffer_full(&route.event);
            }
        }
        (None, Some(e)) => match &e.no_ack_event {
            Some((event, payload)) => {
                socket.emit(event, payload);
            }
            None => send_error_event(&socket, &route.event, &e),
        },
        (None, None) => {}
    }
    if let Some(id) = replay_key {
        Box::pin(core.idempotency.put(&user.user_id, &route.event, &id, body)).await;
    }
}

fn send_error_event(socket: &Socket, event: &str, e: &HandlerError) {
    let wire = socket.shared.names.wire(event).to_owned();
    socket.emit(
        "plugboard:error",
        &json!({ "event": wire, "code": e.code.as_str(), "message": e.message }),
    );
}

/// Answers an event without queueing it (unknown event, rate limit).
pub(crate) fn refuse_now(
    core: &Core,
    socket: &Socket,
    event: &str,
    ack: Option<AnyAck>,
    e: HandlerError,
) {
    core.metrics.error(e.code);
    match ack {
        Some(ack) => {
            let _ = ack.send(&e.to_ack());
        }
        None => send_error_event(socket, event, &e),
    }
}

/// Builds a handler-facing socket from the socketioxide one.
pub(crate) fn wrap(core: &Core, s: AnySocketRef, identity: Arc<Identity>) -> Socket {
    Socket {
        handle: Handle::Here(s),
        identity,
        shared: core.io.shared.clone(),
    }
}

/// Rate-limit check at arrival time.
pub(crate) fn admit(state: &SocketState) -> Result<(), HandlerError> {
    if state.take_token() {
        Ok(())
    } else {
        Err(HandlerError::new(
            ErrorCode::RateLimited,
            "too many events; slow down",
        ))
    }
}
