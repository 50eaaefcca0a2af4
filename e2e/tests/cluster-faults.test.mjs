// Cluster failures with the real socket.io-client and real processes:
// - a node killed with SIGKILL mid-call and mid-view: the surviving nodes clean up after it
//   within cluster.node_timeout_ms, and the peers hear it;
// - Redis killed and restarted: stateful events answer `unavailable` and /healthz reports
//   degraded meanwhile; the nodes reconnect by themselves, nobody is reaped because of the
//   outage, and no committed call or busy state is lost or duplicated.
// Each test runs its own cluster; the Redis restart test its own redis-server (with an
// append-only file, fsync always), so it can kill it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, NODE_TIMEOUT_MS } from '../lib/cluster.mjs';
import { testRedisUrl, startRedis } from '../lib/redis.mjs';
import { connect, dev, once, ack, sleep } from '../lib/client.mjs';

const GRACE_MS = 300;
const TOML = `
[http]
api_key = "faults-key"
[handlers.live_queue]
match_delay_ms = 10
rejoin_grace_ms = ${GRACE_MS}
[handlers.call_deny]
disconnect_grace_ms = 0
`;
const bearer = { authorization: 'Bearer faults-key' };

/** Matches two users (each on its own node) and puts them in a call; returns the match id. */
async function inCall(a, b, bId) {
  const found = [once(a, 'live-call:match-found'), once(b, 'live-call:match-found')];
  assert.equal((await ack(a, 'live-call:join-queue', {})).ok, true);
  assert.equal((await ack(b, 'live-call:join-queue', {})).ok, true);
  const [{ matchId }] = await Promise.all(found);
  const started = once(a, 'call-started');
  const req = await ack(a, 'request-call', { matchId, calleeId: bId, stage: 'video' });
  assert.equal(req.status, 'ringing', JSON.stringify(req));
  assert.equal((await ack(b, 'accept-call', { matchId })).ok, true);
  await started;
  return matchId;
}

/** An accepted call-deny call between `caller` and `agent`; returns its id. */
async function acceptedCall(caller, agent) {
  const { callId } = await ack(caller, 'call:request', {});
  const accepted = await ack(agent, 'call:accept', { callId });
  assert.equal(accepted.status, 'accepted', JSON.stringify(accepted));
  return callId;
}

test('a node killed mid-call and mid-view is cleaned up by the others within the bound', async (t) => {
  const redisUrl = await testRedisUrl();
  if (!redisUrl) return t.skip('no Redis available');
  const cluster = await startCluster({ redisUrl, nodes: 3, toml: TOML });
  const sockets = [];
  try {
    const on = async (i, auth) => { const s = await connect(cluster.nodes[i].url, auth); sockets.push(s); return s; };
    // Node 2 (index 1) will die holding: a ticket viewer, a live-queue party, a call-deny caller.
    const ann = await on(0, dev('f-ann', 'Ann', ['agent']));
    const bob = await on(1, dev('f-bob', 'Bob', ['agent']));
    const q1 = await on(2, dev('f-q1'));
    const q2 = await on(1, dev('f-q2'));
    const caller = await on(1, dev('f-caller'));
    assert.equal((await ack(ann, 'ticket:view', { ticketId: 'F-1' })).ok, true);
    assert.equal((await ack(bob, 'ticket:view', { ticketId: 'F-1' })).ok, true);
    const matchId = await inCall(q1, q2, 'f-q2');
    const callId = await acceptedCall(caller, ann);

    const left = once(ann, 'agent:left', NODE_TIMEOUT_MS + 3000);
    const lqEnded = once(q1, 'call-ended', NODE_TIMEOUT_MS + GRACE_MS + 3000);
    const cdEnded = once(ann, 'call:ended', NODE_TIMEOUT_MS + 3000);
    const killedAt = Date.now();
    await cluster.nodes[1].stop('SIGKILL');

    assert.deepEqual(await left, { ticketId: 'F-1', agentId: 'f-bob', reason: 'node_down' });
    const viewerGoneMs = Date.now() - killedAt;
    assert.deepEqual(await cdEnded, { callId, reason: 'peer_disconnected', by: 'f-caller' });
    assert.deepEqual(await lqEnded, { matchId, reason: 'peer_disconnected' });
    const callEndedMs = Date.now() - killedAt;
    t.diagnostic(`viewer removed ${viewerGoneMs} ms after SIGKILL, live-queue call ended after ${callEndedMs} ms (node_timeout_ms ${NODE_TIMEOUT_MS}, rejoin grace ${GRACE_MS})`);
    // The bound is node_timeout_ms; the second of slack is for scheduling on a busy
    // 2-core CI machine running several clusters at once.
    assert.ok(viewerGoneMs <= NODE_TIMEOUT_MS + 1000, `viewer cleanup took ${viewerGoneMs} ms`);

    // Nothing of the dead node's sockets survives anywhere.
    const stats = (await cluster.nodes[2].get('/stats')).json.handlers;
    assert.equal(stats['ticket-collision'].totalViewers, 1, JSON.stringify(stats['ticket-collision']));
    assert.deepEqual(stats['live-queue'].byStatus, { available: stats['live-queue'].byStatus.available, queueing: 0, connecting: 0, inCall: 0 });
    const call = await cluster.nodes[0].get(`/api/calls/${callId}`, bearer);
    assert.equal(call.json.call.status, 'ended');
    assert.equal(call.json.call.endedReason, 'peer_disconnected');
  } finally {
    sockets.forEach((s) => s.close());
    await cluster.stop();
  }
});

test('after a Redis restart the nodes serve again and no committed call or busy state is lost or duplicated', async (t) => {
  let redis;
  try { redis = await startRedis({ aof: true }); } catch (e) {
    if (process.env.CI === 'true') throw e;
    return t.skip(`cannot start a redis-server of its own: ${e.message}`);
  }
  const cluster = await startCluster({ redisUrl: redis.url, nodes: 2, toml: TOML });
  const sockets = [];
  try {
    const on = async (i, auth) => { const s = await connect(cluster.nodes[i].url, auth); sockets.push(s); return s; };
    const q1 = await on(0, dev('r-q1'));
    const q2 = await on(1, dev('r-q2'));
    const agent = await on(1, dev('r-agent', 'Agent', ['agent']));
    const caller = await on(0, dev('r-caller'));
    const matchId = await inCall(q1, q2, 'r-q2');
    const callId = await acceptedCall(caller, agent);

    await redis.kill();
    // Longer than node_timeout_ms: every heartbeat is stale when Redis returns, and still
    // nobody may be reaped for it.
    await sleep(NODE_TIMEOUT_MS + 500);
    const health = await cluster.nodes[0].get('/healthz');
    assert.equal(health.status, 503);
    assert.equal(health.json.status, 'degraded');
    const refused = await ack(q1, 'live-call:queue-heartbeat', {});
    assert.equal(refused.ok, false, JSON.stringify(refused));
    assert.equal(refused.error.code, 'unavailable');
    const viewWhileDown = await ack(agent, 'ticket:view', { ticketId: 'R-1' });
    assert.equal(viewWhileDown.error.code, 'unavailable', JSON.stringify(viewWhileDown));

    await redis.start();
    for (const node of cluster.nodes) {
      for (let i = 0; ; i += 1) {
        if ((await node.get('/healthz')).status === 200) break;
        assert.ok(i < 100, 'node did not recover within 10 s');
        await sleep(100);
      }
    }
    // Past the reaper's settling time: a wrongly reaped node would show by now.
    await sleep(NODE_TIMEOUT_MS + 500);
    assert.equal(q1.connected && q2.connected && agent.connected && caller.connected, true);

    const stats = (await cluster.nodes[0].get('/stats')).json.handlers;
    assert.equal(stats['live-queue'].byStatus.inCall, 2, JSON.stringify(stats['live-queue']));
    assert.equal(stats['live-queue'].matches, 1, 'one match, not lost and not duplicated');
    assert.equal(stats['call-deny'].active, 1, JSON.stringify(stats['call-deny']));
    const call = await cluster.nodes[1].get(`/api/calls/${callId}`, bearer);
    assert.equal(call.json.call.status, 'accepted');

    // Broadcasts cross nodes again (the pub/sub subscriptions were restored).
    const ended = once(q2, 'call-ended');
    assert.equal((await ack(q1, 'end-call', { matchId })).ok, true);
    assert.deepEqual(await ended, { matchId, reason: 'hangup' });
    const view = await ack(agent, 'ticket:view', { ticketId: 'R-1' });
    assert.equal(view.ok, true, JSON.stringify(view));
  } finally {
    sockets.forEach((s) => s.close());
    await cluster.stop();
    await redis.stop();
  }
});
