// live-queue (seed 001): one test per server-side risk and the seed's three chaos tests,
// with the real socket.io-client against the real binary. Every test uses its own users
// and its own `language`, so queue places of one test never match another's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { connect, dev, once, none, ack, collect, sleep } from '../lib/client.mjs';

let server;
const sockets = [];
const open = async (auth, opts) => { const s = await connect(server.url, auth, opts); sockets.push(s); return s; };
const join = (s, language) => ack(s, 'live-call:join-queue', { language });
const heartbeat = (s) => ack(s, 'live-call:queue-heartbeat', {});

before(async () => {
  server = await startServer({
    toml: [
      '[sessions]',
      'policy = "kick_old"',
      '[handlers.live_queue]',
      'rejoin_grace_ms = 1500',
      'match_delay_ms = 20',
    ].join('\n'),
  });
});
after(async () => { sockets.forEach((s) => s.close()); await server.stop(); });

/** Two users matched through the queue; resolves with the match id. */
async function matched(a, b, language) {
  const fa = once(a, 'live-call:match-found');
  const fb = once(b, 'live-call:match-found');
  await join(a, language);
  await join(b, language);
  const [ma, mb] = await Promise.all([fa, fb]);
  assert.equal(ma.matchId, mb.matchId);
  return ma.matchId;
}

test('NET-01: join-queue is acknowledged, and the ack arrives before match-found', async () => {
  const a = await open(dev('n1-a', 'Ann'));
  const b = await open(dev('n1-b', 'Bob'));
  const first = await join(a, 'net01');
  assert.deepEqual(first, { ok: true, status: 'queueing', position: first.position });
  assert.ok(first.position >= 1);
  const order = [];
  b.on('live-call:match-found', () => order.push('match-found'));
  const found = once(b, 'live-call:match-found');
  const answer = await join(b, 'net01');
  order.push('ack');
  assert.equal(answer.status, 'queueing');
  assert.deepEqual((await found).peer, { userId: 'n1-a', name: 'Ann' });
  assert.deepEqual(order, ['ack', 'match-found']);
});

test('NET-02: two simultaneous accepts start exactly one call', async () => {
  const caller = await open(dev('n2-a'));
  const tab1 = await open(dev('n2-b', 'B', ['agent']));
  const tab2 = await open(dev('n2-b', 'B', ['agent']));
  const started = collect(caller, 'call-started');
  const ring = once(tab1, 'incoming-call');
  assert.equal((await ack(caller, 'request-call', { matchId: 'n2-m', calleeId: 'n2-b', stage: 'video' })).status, 'ringing');
  assert.equal((await ring).callerId, 'n2-a');
  const answers = await Promise.all([
    ack(tab1, 'accept-call', { matchId: 'n2-m' }),
    ack(tab2, 'accept-call', { matchId: 'n2-m' }),
  ]);
  assert.equal(answers.filter((r) => r.ok).length, 1, JSON.stringify(answers));
  assert.equal(answers.find((r) => !r.ok).error.code, 'conflict');
  await sleep(200);
  assert.equal(started.length, 1);
});

test('NET-02: two callers ringing the same user at once: one rings, the other hears busy', async () => {
  const a = await open(dev('n2b-a'));
  const b = await open(dev('n2b-b'));
  const c = await open(dev('n2b-c'));
  const rings = collect(a, 'incoming-call');
  const errors = [collect(b, 'staged-call-error'), collect(c, 'staged-call-error')];
  const answers = await Promise.all([
    ack(b, 'request-call', { matchId: 'n2b-x', calleeId: 'n2b-a', stage: 'video' }),
    ack(c, 'request-call', { matchId: 'n2b-y', calleeId: 'n2b-a', stage: 'video' }),
  ]);
  assert.equal(answers.filter((r) => r.ok).length, 1, JSON.stringify(answers));
  const refused = answers.find((r) => !r.ok);
  assert.deepEqual([refused.error.code, refused.error.message], ['busy', 'User is busy']);
  await sleep(150);
  assert.equal(rings.length, 1);
  assert.deepEqual(errors.flat(), [], 'with an ack the error goes to the ack only');
});

test('request-call errors without an ack arrive as staged-call-error', async () => {
  const a = await open(dev('sce-a'));
  const b = await open(dev('sce-b'));
  const c = await open(dev('sce-c'));
  await ack(b, 'request-call', { matchId: 'sce-x', calleeId: 'sce-a', stage: 'video' });
  const err = once(c, 'staged-call-error');
  const quiet = none(c, 'plugboard:error', 300);
  c.emit('request-call', { matchId: 'sce-y', calleeId: 'sce-a', stage: 'video' });
  assert.deepEqual(await err, { error: 'User is busy', code: 'busy' });
  assert.ok(await quiet);
  assert.ok(a.connected);
});

test('NET-03 / chaos: a network drop while queueing, then reconnect and rejoin, keeps the position', async () => {
  const a = await open(dev('n3-a'), { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
  const placed = await join(a, 'net03');
  const back = once(a, 'connect');
  a.io.engine.close(); // the transport drops as if the network went away
  await back;
  const again = await join(a, 'net03'); // the seed's rejoin-on-connect
  assert.deepEqual(again, placed);
  const status = await heartbeat(a);
  assert.equal(status.inQueue, true);
  assert.equal(status.position, placed.position);
});

test('NET-01 evidence: a party rejoins its match room after reconnecting; strangers may not', async () => {
  const a = await open(dev('n1r-a'));
  const b = await open(dev('n1r-b'));
  const m = await matched(a, b, 'net01r');
  a.close();
  const a2 = await open(dev('n1r-a'));
  assert.deepEqual(await ack(a2, 'join-match', m), { ok: true, matchId: m });
  const stranger = await open(dev('n1r-c'));
  assert.equal((await ack(stranger, 'join-match', m)).error.code, 'forbidden');
  assert.ok(await none(b, 'call-ended', 1800), 'the match survived the reconnect');
});

test('STATE-03: a second tab kicks the first and the queue place survives', async () => {
  const first = await open(dev('s3-a'));
  const placed = await join(first, 'state03');
  const kicked = once(first, 'duplicate-connection');
  const gone = once(first, 'disconnect');
  const second = await open(dev('s3-a'));
  assert.deepEqual(await kicked, { message: 'Logged in from another device' });
  await gone;
  const status = await heartbeat(second);
  assert.equal(status.inQueue, true);
  assert.equal(status.position, placed.position);
  await sleep(200); // the /stats snapshot refreshes every 100 ms
  const kicks = /"duplicateConnectionsKicked":(\d+)/.exec((await server.get('/stats')).text);
  assert.ok(kicks && Number(kicks[1]) >= 1, 'the kick is counted');
});

test('UX-01: ten rapid joins make one queue entry with one answer', async () => {
  const a = await open(dev('u1-a'));
  const answers = await Promise.all(Array.from({ length: 10 }, () => join(a, 'ux01')));
  assert.equal(new Set(answers.map((r) => JSON.stringify(r))).size, 1, JSON.stringify(answers));
  assert.equal(answers[0].status, 'queueing');
  const b = await open(dev('u1-b'));
  const found = once(b, 'live-call:match-found');
  await join(b, 'ux01');
  assert.equal((await found).peer.userId, 'u1-a');
  const third = await open(dev('u1-c'));
  await join(third, 'ux01');
  assert.ok(await none(third, 'live-call:match-found', 300), 'no second entry of u1-a was left to match');
});

test('UX-02: mutual requests merge into one call', async () => {
  const a = await open(dev('u2-a'));
  const b = await open(dev('u2-b'));
  const m = await matched(a, b, 'ux02');
  const started = [collect(a, 'call-started'), collect(b, 'call-started')];
  const errors = [collect(a, 'staged-call-error'), collect(b, 'staged-call-error')];
  await Promise.all([
    ack(a, 'request-call', { matchId: m, calleeId: 'u2-b', stage: 'video' }),
    ack(b, 'request-call', { matchId: m, calleeId: 'u2-a', stage: 'video' }),
  ]);
  await sleep(200);
  assert.equal(started[0].length, 1);
  assert.equal(started[1].length, 1);
  assert.deepEqual(started[0][0], started[1][0]);
  assert.equal(started[0][0].matchId, m);
  assert.deepEqual(errors.flat(), []);
});

test('chaos: requests from both sides within 100 ms make only one call', async () => {
  const a = await open(dev('c2-a'));
  const b = await open(dev('c2-b'));
  const m = await matched(a, b, 'chaos2');
  const started = [collect(a, 'call-started'), collect(b, 'call-started')];
  const first = ack(a, 'request-call', { matchId: m, calleeId: 'c2-b', stage: 'video' });
  await sleep(60);
  const second = ack(b, 'request-call', { matchId: m, calleeId: 'c2-a', stage: 'video' });
  assert.equal((await first).status, 'ringing');
  assert.equal((await second).status, 'in-call');
  await sleep(200);
  assert.deepEqual([started[0].length, started[1].length], [1, 1]);
  assert.deepEqual(started[0][0].participants, ['c2-a', 'c2-b']);
});

test('chaos: a hardware failure (the client ends the call) tells the peer call-ended', async () => {
  const a = await open(dev('c3-a'));
  const b = await open(dev('c3-b'));
  const m = await matched(a, b, 'chaos3');
  await ack(a, 'request-call', { matchId: m, calleeId: 'c3-b', stage: 'video' });
  const started = once(a, 'call-started');
  await ack(b, 'accept-call', { matchId: m });
  await started;
  const ended = once(b, 'call-ended');
  assert.equal((await ack(a, 'end-call', { matchId: m })).status, 'available');
  assert.deepEqual(await ended, { matchId: m, reason: 'hangup' });
  assert.equal((await join(b, 'chaos3')).status, 'queueing', 'the peer is available again');
});

test('a party gone past the rejoin grace ends the call for the other', async () => {
  const a = await open(dev('g-a'));
  const b = await open(dev('g-b'));
  const m = await matched(a, b, 'grace');
  const ended = once(b, 'call-ended', 5000);
  a.close();
  assert.deepEqual(await ended, { matchId: m, reason: 'peer_disconnected' });
});
