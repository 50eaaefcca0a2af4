// Cluster mode with the real socket.io-client: three real plugboard processes on one
// Redis behave as one server. Each client talks to one node only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster } from '../lib/cluster.mjs';
import { testRedisUrl, stopSharedRedis } from '../lib/redis.mjs';
import { connect, dev, once, ack, collect, sleep } from '../lib/client.mjs';

const TOML = `
[sessions]
policy = "kick_old"
[http]
api_key = "cluster-key"
[handlers.live_queue]
match_delay_ms = 10
`;

let cluster;
let skip;
const sockets = [];
const on = async (node, auth) => {
  const s = await connect(cluster.nodes[node].url, auth);
  sockets.push(s);
  return s;
};
const bearer = { authorization: 'Bearer cluster-key' };
/** The next `event` whose payload satisfies `pred`. */
const onceWhere = (socket, event, pred, ms = 5000) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => { socket.off(event, f); reject(new Error(`no matching ${event} within ${ms} ms`)); }, ms);
  const f = (p) => { if (pred(p)) { clearTimeout(timer); socket.off(event, f); resolve(p); } };
  socket.on(event, f);
});

before(async () => {
  const redisUrl = await testRedisUrl();
  if (!redisUrl) { skip = 'no Redis available'; return; }
  cluster = await startCluster({ redisUrl, nodes: 3, toml: TOML });
});
after(async () => {
  sockets.forEach((s) => s.close());
  if (cluster) await cluster.stop();
  await stopSharedRedis();
});

test('two agents on different nodes collide on one ticket', async (t) => {
  if (skip) return t.skip(skip);
  const ann = await on(0, dev('c-ann', 'Ann', ['agent']));
  const bob = await on(1, dev('c-bob', 'Bob', ['agent']));
  const first = await ack(ann, 'ticket:view', { ticketId: 'CL-1' });
  assert.equal(first.ok, true, JSON.stringify(first));
  const joined = once(ann, 'agent:joined');
  const both = onceWhere(ann, 'viewers:updated', (p) => p.viewers.length === 2);
  const warning = once(bob, 'collision:warning');
  const second = await ack(bob, 'ticket:view', { ticketId: 'CL-1' });
  assert.deepEqual(second.viewers.map((v) => v.agentId), ['c-ann', 'c-bob']);
  assert.equal((await warning).message, 'Ann is also viewing this ticket');
  assert.deepEqual(await joined, { ticketId: 'CL-1', agentId: 'c-bob', agentName: 'Bob' });
  assert.deepEqual((await both).viewers.map((v) => v.agentId), ['c-ann', 'c-bob']);
});

test("a timeline broadcast from node 1's HTTP API reaches subscribers on nodes 2 and 3", async (t) => {
  if (skip) return t.skip(skip);
  const two = await on(1, dev('c-tl2'));
  const three = await on(2, dev('c-tl3'));
  for (const s of [two, three]) {
    const a = await ack(s, 'timeline:subscribe', { entityType: 'lead', entityId: 'L-9' });
    assert.equal(a.ok, true, JSON.stringify(a));
  }
  const got = [once(two, 'timeline:new_item'), once(three, 'timeline:new_item')];
  const res = await cluster.nodes[0].post('/api/timeline/lead/L-9', { type: 'new_item', item: { id: 'n1', text: 'called' } }, bearer);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.delivered, 2, 'subscriber count is cluster-wide');
  for (const p of await Promise.all(got)) {
    assert.deepEqual(p, { entityType: 'lead', entityId: 'L-9', item: { id: 'n1', text: 'called' } });
  }
});

test('a call denied on node 2 is removed on node 3 and a PATCH on node 1 answers duplicate', async (t) => {
  if (skip) return t.skip(skip);
  const agent2 = await on(1, dev('c-ag2', 'Agent 2', ['agent']));
  const agent3 = await on(2, dev('c-ag3', 'Agent 3', ['agent']));
  const caller = await on(0, dev('c-caller'));
  const incoming = once(agent3, 'call:incoming');
  const requested = await ack(caller, 'call:request', {});
  assert.equal(requested.ok, true, JSON.stringify(requested));
  const { callId } = requested;
  assert.equal((await incoming).call.callId, callId);
  const removed = onceWhere(agent3, 'call:removed', (p) => p.callId === callId);
  const denied = once(caller, 'call:denied');
  const deny = await ack(agent2, 'call:deny', { callId });
  assert.equal(deny.status, 'denied', JSON.stringify(deny));
  assert.equal(deny.duplicate, undefined);
  assert.deepEqual(await removed, { callId, reason: 'denied', by: 'c-ag2' });
  assert.deepEqual(await denied, { callId });
  const patch = await fetch(`${cluster.nodes[0].url}/api/calls/${callId}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', ...bearer },
    body: JSON.stringify({ status: 'denied' }),
  });
  const body = await patch.json();
  assert.equal(patch.status, 200, JSON.stringify(body));
  assert.equal(body.duplicate, true);
  assert.equal(body.status, 'denied');
});

test('two users on different nodes match in the queue and glare-merge into one call', async (t) => {
  if (skip) return t.skip(skip);
  const u1 = await on(0, dev('c-q1', 'Quinn'));
  const u2 = await on(2, dev('c-q2', 'Robin'));
  const found1 = once(u1, 'live-call:match-found');
  const found2 = once(u2, 'live-call:match-found');
  assert.equal((await ack(u1, 'live-call:join-queue', {})).ok, true);
  assert.equal((await ack(u2, 'live-call:join-queue', {})).ok, true);
  const [m1, m2] = await Promise.all([found1, found2]);
  assert.equal(m1.matchId, m2.matchId);
  assert.deepEqual(m1.peer, { userId: 'c-q2', name: 'Robin' });
  assert.deepEqual(m2.peer, { userId: 'c-q1', name: 'Quinn' });
  const started1 = collect(u1, 'call-started');
  const started2 = collect(u2, 'call-started');
  // Both press "call" at the same moment, each on its own node.
  const [a1, a2] = await Promise.all([
    ack(u1, 'request-call', { matchId: m1.matchId, calleeId: 'c-q2', stage: 'video' }),
    ack(u2, 'request-call', { matchId: m1.matchId, calleeId: 'c-q1', stage: 'video' }),
  ]);
  assert.equal(a1.ok && a2.ok, true, JSON.stringify([a1, a2]));
  assert.deepEqual([a1.status, a2.status].sort(), ['in-call', 'ringing']);
  await sleep(500);
  assert.equal(started1.length, 1, JSON.stringify(started1));
  assert.equal(started2.length, 1, JSON.stringify(started2));
  assert.deepEqual(started1[0], started2[0]);
  const stats = (await cluster.nodes[1].get('/stats')).json.handlers['live-queue'];
  assert.equal(stats.byStatus.inCall, 2, JSON.stringify(stats));
  const ended = once(u2, 'call-ended');
  assert.equal((await ack(u1, 'end-call', { matchId: m1.matchId })).ok, true);
  assert.deepEqual(await ended, { matchId: m1.matchId, reason: 'hangup' });
});

test('a second tab on another node kicks the first', async (t) => {
  if (skip) return t.skip(skip);
  const first = await on(0, dev('c-single'));
  const notice = once(first, 'duplicate-connection');
  const gone = once(first, 'disconnect');
  const second = await on(1, dev('c-single'));
  assert.deepEqual(await notice, { message: 'Logged in from another device' });
  assert.equal(await gone, 'io server disconnect');
  assert.equal(second.connected, true);
  const stats = (await cluster.nodes[2].get('/stats')).json;
  assert.equal(stats.cluster.redis, 'up');
});
