//! A socket's arrival and departure, as jobs of its queue: the sessions index and
//! `kick_old` on connect, then every handler's connect hooks; on disconnect (or shutdown,
//! or for a socket of a dead node) the sessions index again, then every handler's
//! disconnect hooks, once per socket.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use serde_json::json;

use crate::core::Core;
use crate::dispatch::SocketState;
use crate::{DisconnectReason, Socket};

pub(crate) async fn connect(core: &Arc<Core>, socket: Socket) {
    let identity = socket.identity_arc();
    let others = match core.sessions.add(&identity, socket.id()).await {
        Ok(others) => others,
        Err(e) => {
            // Reconciled once the store answers again (the socket is live on this node).
            tracing::warn!(socket = %socket.id(), user = %identity.user_id, error = %e, "socket not added to the sessions index");
            Vec::new()
        }
    };
    let policy = &core.config.sessions;
    let exempt = identity
        .roles
        .iter()
        .any(|r| policy.multi_tab_roles.contains(r));
    if policy.policy == crate::config::SessionPolicy::KickOld && !exempt {
        for old in others {
            kick(core, &identity.user_id, old, socket.id()).await;
        }
    }
    for hook in &core.table().on_connect {
        if AssertUnwindSafe((hook.call)(socket.clone()))
            .catch_unwind()
            .await
            .is_err()
        {
            tracing::error!(handler = hook.handler, socket = %socket.id(), "connect hook panicked");
        }
    }
}

/// `kick_old`: tells an older socket of the user `duplicate-connection` and disconnects
/// it, on whichever node it is.
async fn kick(core: &Arc<Core>, user: &str, old: crate::SocketId, new: crate::SocketId) {
    let notice = json!({ "message": "Logged in from another device" });
    tracing::info!(user, socket = %old, new_socket = %new, "kick_old: disconnecting older socket");
    if let Some(live) = core.live.get(&old).map(|l| l.socket.clone()) {
        live.emit("duplicate-connection", &notice);
        live.disconnect();
        return;
    }
    let room = old.to_string();
    core.io
        .to(room.clone())
        .emit("duplicate-connection", &notice)
        .await;
    core.io.to(room).disconnect().await;
}

/// Runs every handler's disconnect hook once per socket, in registration order.
pub(crate) async fn cleanup(
    core: &Arc<Core>,
    state: &Arc<SocketState>,
    socket: Socket,
    reason: DisconnectReason,
) {
    if !state.first_cleanup() {
        return;
    }
    let sid = socket.id();
    core.live.remove(&sid);
    core.metrics.disconnected();
    let failures = core.store_failures();
    disconnect_hooks(core, socket, reason).await;
    if let Some(node) = &core.node
        && (core.store_failures() != failures || !node.redis.is_up())
    {
        node.mark_dirty(sid, state.identity.clone(), reason);
    }
}

/// Takes the socket out of the sessions index, then runs every handler's disconnect hook
/// in registration order.
pub(crate) async fn disconnect_hooks(core: &Arc<Core>, socket: Socket, reason: DisconnectReason) {
    let sid = socket.id();
    let user = socket.identity_arc();
    if let Err(e) = core.sessions.remove(&user.user_id, sid).await {
        tracing::warn!(socket = %sid, user = %user.user_id, error = %e, "socket not removed from the sessions index");
    }
    for hook in &core.table().on_disconnect {
        if AssertUnwindSafe((hook.call)(socket.clone(), reason))
            .catch_unwind()
            .await
            .is_err()
        {
            tracing::error!(handler = hook.handler, socket = %sid, "disconnect hook panicked");
        }
    }
    tracing::debug!(socket = %sid, user = %user.user_id, %reason, "socket cleaned up");
}
