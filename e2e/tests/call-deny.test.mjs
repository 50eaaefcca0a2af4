// call-deny (seeds 000 and 003) with the real socket.io-client: one outcome per call,
// whichever transport and however many clicks; nothing left "calling" when a party leaves.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import jwt from 'jsonwebtoken';
import { startServer } from '../lib/server.mjs';
import { connect, dev, once, none, ack, collect, sleep } from '../lib/client.mjs';

const SECRET = 'e2e-call-secret';
const KEY = 'e2e-call-key';
let server;
let sockets = [];
const open = async (auth) => { const s = await connect(server.url, auth); sockets.push(s); return s; };
const agent = (id) => open(dev(id, id, ['agent']));
const user = (id) => open(dev(id, id, []));
const agentToken = (sub) => jwt.sign({ sub, roles: ['agent'] }, SECRET, { algorithm: 'HS256' });

/** An HTTP request to the call API: { status, json }. */
async function api(method, path, { body, bearer = KEY } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const res = await fetch(server.url + path, {
    method,
    headers,
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, json };
}
const patchDeny = (callId, bearer) => api('PATCH', `/api/calls/${callId}`, { body: { status: 'denied' }, bearer });
const ringing = async () => (await api('GET', '/api/calls?status=ringing')).json.calls.map((c) => c.callId);
const stats = async () => (await server.get('/stats')).json.handlers['call-deny'];
const ofCall = (events, callId) => events.filter((e) => e.callId === callId);

/** Rings from `caller`, returns the call id (the agents passed get their call:incoming first). */
async function ring(caller, payload = {}, listeners = []) {
  const incoming = listeners.map((a) => once(a, 'call:incoming'));
  const answer = await ack(caller, 'call:request', payload);
  assert.equal(answer.ok, true, JSON.stringify(answer));
  for (const i of incoming) assert.equal((await i).call.callId, answer.callId);
  return answer.callId;
}

before(async () => {
  server = await startServer({
    toml: `[http]\napi_key = "${KEY}"\n[auth]\njwt_secret = "${SECRET}"\n[handlers.call_deny]\nring_timeout_ms = 3000\nsweep_interval_ms = 50\n`,
  });
});
afterEach(() => { sockets.forEach((s) => s.close()); sockets = []; });
after(async () => { await server.stop(); });

test('seed 000 #1: ten rapid deny clicks give one denied transition and one broadcast', async () => {
  const [a1, a2] = [await agent('r-a1'), await agent('r-a2')];
  const caller = await user('r-u1');
  const callId = await ring(caller, {}, [a1, a2]);
  const removed = collect(a2, 'call:removed');
  const denied = collect(caller, 'call:denied');
  const answers = await Promise.all(Array.from({ length: 10 }, () => ack(a1, 'call:deny', { callId })));
  assert.ok(answers.every((a) => a.ok === true && a.status === 'denied' && a.callId === callId));
  assert.equal(answers.filter((a) => a.duplicate === true).length, 9);
  await sleep(300);
  assert.deepEqual(ofCall(removed, callId), [{ callId, reason: 'denied', by: 'r-a1' }]);
  assert.deepEqual(ofCall(denied, callId), [{ callId }]);
});

test('seed 000 #2: deny over the socket, verification reads it, a fallback PATCH is a 200 duplicate', async () => {
  const [a1, a2] = [await agent('v-a1'), await agent('v-a2')];
  const caller = await user('v-u1');
  const callId = await ring(caller, {}, [a1]);
  const removed = collect(a2, 'call:removed');
  a1.emit('call:deny', { callId });
  await once(a1, 'call:removed');
  assert.ok(!(await ringing()).includes(callId), 'verification by re-reading the list');
  const res = await patchDeny(callId, agentToken('v-a1'));
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, { ok: true, callId, requestId: res.json.requestId, status: 'denied', duplicate: true });
  await sleep(300);
  assert.equal(ofCall(removed, callId).length, 1);
});

test('seed 000 #3: the socket drops mid-operation and the HTTP fallback completes the deny once', async () => {
  const a1 = await agent('d-a1');
  const watcher = await agent('d-a2');
  const caller = await user('d-u1');
  const callId = await ring(caller, {}, [a1, watcher]);
  const removed = collect(watcher, 'call:removed');
  const denied = collect(caller, 'call:denied');
  a1.emit('call:deny', { callId });
  a1.disconnect();
  const res = await patchDeny(callId, agentToken('d-a1'));
  assert.equal(res.status, 200);
  assert.equal(res.json.status, 'denied');
  await sleep(300);
  assert.equal(ofCall(removed, callId).length, 1);
  assert.equal(ofCall(denied, callId).length, 1);
  assert.equal((await api('GET', `/api/calls/${callId}`)).json.call.status, 'denied');
});

test('seed 000 #4: a tab closing with its deny in flight: server truth decides, one outcome either way', async () => {
  const a1 = await agent('c-a1');
  const watcher = await agent('c-a2');
  const caller = await user('c-u1');
  const callId = await ring(caller, {}, [watcher]);
  const removed = collect(watcher, 'call:removed');
  a1.emit('call:deny', { callId });
  a1.close();
  // The framework drops events still queued when their socket is gone, so the deny may or
  // may not have landed: the frontend's verification reads the truth and falls back.
  await sleep(200);
  const landed = !(await ringing()).includes(callId);
  const res = await patchDeny(callId, agentToken('c-a2'));
  assert.equal(res.status, 200);
  assert.equal(res.json.duplicate === true, landed);
  await sleep(300);
  assert.equal(ofCall(removed, callId).length, 1);
  assert.equal(ofCall(removed, callId)[0].reason, 'denied');
  assert.equal((await stats()).pendingDisconnects, 0);
});

test('seed 000 #5: a call removed by another agent drops from every list and a late deny is a duplicate', async () => {
  const [a1, a2, a3] = [await agent('o-a1'), await agent('o-a2'), await agent('o-a3')];
  const caller = await user('o-u1');
  const callId = await ring(caller, {}, [a1, a2, a3]);
  const drops = [once(a2, 'call:removed'), once(a3, 'call:removed')];
  assert.equal((await ack(a1, 'call:deny', { callId })).status, 'denied');
  for (const d of drops) assert.deepEqual(await d, { callId, reason: 'denied', by: 'o-a1' });
  const late = await ack(a2, 'call:deny', { callId });
  assert.deepEqual(late, { ok: true, callId, requestId: late.requestId, status: 'denied', duplicate: true });
  assert.ok(await none(a3, 'call:removed', 300));
});

test('seed 000 #6: PATCH first (the socket failed), then the late socket deny answers duplicate', async () => {
  const a1 = await agent('p-a1');
  const caller = await user('p-u1');
  const callId = await ring(caller, {}, [a1]);
  const denied = once(caller, 'call:denied');
  const res = await patchDeny(callId, agentToken('p-a1'));
  assert.equal(res.status, 200);
  assert.equal(res.json.duplicate, undefined);
  assert.deepEqual(await denied, { callId });
  const answer = await ack(a1, 'call:deny', { callId });
  assert.equal(answer.duplicate, true);
  assert.ok(await none(caller, 'call:denied', 300));
});

test('seed 000 #7: a deny without callId or requestId is refused and changes nothing', async () => {
  const a1 = await agent('m-a1');
  const caller = await user('m-u1');
  const callId = await ring(caller, { requestId: 'm-req' }, [a1]);
  const answer = await ack(a1, 'call:deny', {});
  assert.equal(answer.ok, false);
  assert.equal(answer.error.code, 'invalid_payload');
  assert.match(answer.error.message, /callId or requestId/);
  const err = once(a1, 'plugboard:error');
  a1.emit('call:deny', {});
  assert.equal((await err).code, 'invalid_payload');
  assert.ok((await ringing()).includes(callId));
  const byRequest = await ack(a1, 'call:deny', { requestId: 'm-req' });
  assert.equal(byRequest.callId, callId);
});

test('seed 000 #8: a failing API call gets a clear error and changes nothing', async () => {
  const [a1, a2] = [await agent('f-a1'), await agent('f-a2')];
  const caller = await user('f-u1');
  const callId = await ring(caller, {}, [a1]);
  assert.equal((await patchDeny('no-such-call')).status, 404);
  assert.equal((await patchDeny(callId, 'wrong-key')).status, 401);
  const bad = await api('PATCH', `/api/calls/${callId}`, { body: { status: 'ringing' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'invalid_payload');
  assert.ok((await ringing()).includes(callId));
  await ack(a2, 'call:accept', { callId });
  const conflict = await patchDeny(callId);
  assert.equal(conflict.status, 409);
  assert.equal(conflict.json.error.status, 'accepted');
});

test('a deny of an unknown call answers not_found', async () => {
  const a1 = await agent('n-a1');
  const answer = await ack(a1, 'call:deny', { callId: 'call_unknown' });
  assert.equal(answer.error.code, 'not_found');
});

test('seed 003 #1: the caller leaving during a call ends it for the agent at once', async () => {
  const a1 = await agent('e-a1');
  const caller = await user('e-u1');
  const callId = await ring(caller, {}, [a1]);
  const accepted = once(caller, 'call:accepted');
  await ack(a1, 'call:accept', { callId });
  assert.deepEqual(await accepted, { callId, by: 'e-a1' });
  const ended = once(a1, 'call:ended');
  caller.disconnect();
  assert.deepEqual(await ended, { callId, reason: 'peer_disconnected', by: 'e-u1' });
  assert.equal((await api('GET', `/api/calls/${callId}`)).json.call.status, 'ended');
});

test('seed 003 #2: calling back after a disconnect gives one clean new call', async () => {
  const a1 = await agent('b-a1');
  const incoming = collect(a1, 'call:incoming');
  const first = await user('b-u1');
  const callId = await ring(first, {});
  await ack(a1, 'call:accept', { callId });
  const ended = once(a1, 'call:ended');
  first.disconnect();
  await ended;
  const again = await user('b-u1');
  const second = await ack(again, 'call:request', {});
  assert.notEqual(second.callId, callId);
  assert.equal(second.status, 'ringing');
  assert.equal(second.duplicate, undefined);
  await sleep(200);
  assert.deepEqual(incoming.map((i) => i.call.callId), [callId, second.callId]);
  const open = (await api('GET', '/api/calls')).json.calls.filter((c) => c.callerId === 'b-u1');
  assert.deepEqual(open.map((c) => c.callId), [second.callId]);
});

test('seed 003 #3: repeated call attempts return the one open call, never a second', async () => {
  const a1 = await agent('q-a1');
  const incoming = collect(a1, 'call:incoming');
  const caller = await user('q-u1');
  const answers = await Promise.all(Array.from({ length: 5 }, () => ack(caller, 'call:request', { targetId: undefined })));
  const ids = new Set(answers.map((a) => a.callId));
  assert.equal(ids.size, 1);
  assert.equal(answers.filter((a) => a.duplicate === true).length, 4);
  await sleep(200);
  assert.equal(incoming.filter((i) => i.call.callerId === 'q-u1').length, 1);
});

test('seed 003 #4: a caller lost while ringing leaves no call "calling" on the agent side', async () => {
  const a1 = await agent('l-a1');
  const caller = await user('l-u1');
  const callId = await ring(caller, {}, [a1]);
  const removed = once(a1, 'call:removed');
  caller.io.engine.close();
  assert.deepEqual(await removed, { callId, reason: 'cancelled', by: 'l-u1' });
  assert.ok(!(await ringing()).includes(callId));
});

test('an unanswered call becomes missed after the ring timeout', async () => {
  const a1 = await agent('t-a1');
  const caller = await user('t-u1');
  const callId = await ring(caller, {}, [a1]);
  const removed = once(a1, 'call:removed', 6000);
  const missed = once(caller, 'call:missed', 6000);
  assert.deepEqual(await removed, { callId, reason: 'missed' });
  assert.deepEqual(await missed, { callId });
});

test('100 simultaneous denies from 10 agents over socket and HTTP: one denied, one broadcast each', async () => {
  const agents = [];
  for (let i = 0; i < 10; i++) agents.push(await agent(`x-a${i}`));
  const caller = await user('x-u1');
  const callId = await ring(caller, {}, agents);
  const removedSeen = agents.map((a) => collect(a, 'call:removed'));
  const denied = collect(caller, 'call:denied');
  const base = await stats();
  const work = agents.flatMap((a, i) => [
    ...Array.from({ length: 8 }, () => ack(a, 'call:deny', { callId })),
    ...Array.from({ length: 2 }, () => patchDeny(callId, agentToken(`x-a${i}`)).then((r) => {
      assert.equal(r.status, 200);
      return r.json;
    })),
  ]);
  const answers = await Promise.all(work);
  assert.equal(answers.length, 100);
  assert.ok(answers.every((a) => a.ok === true && a.status === 'denied'));
  assert.equal(answers.filter((a) => a.duplicate !== true).length, 1);
  await sleep(400);
  for (const seen of removedSeen) assert.equal(ofCall(seen, callId).length, 1);
  assert.equal(ofCall(denied, callId).length, 1);
  const now = await stats();
  assert.equal(now.denied - base.denied, 1);
  assert.equal(now.duplicateDenies - base.duplicateDenies, 99);
  assert.equal(now.deniesViaHttp - base.deniesViaHttp, 20);
  assert.ok(now.httpFallbackRate > 0 && now.httpFallbackRate < 1);
});

test('state returns to empty once every client has left', async () => {
  const a1 = await agent('s-a1');
  const caller = await user('s-u1');
  const callId = await ring(caller, {}, [a1]);
  await ack(a1, 'call:accept', { callId });
  sockets.forEach((s) => s.close());
  sockets = [];
  let s;
  for (let i = 0; i < 100; i++) {
    s = await stats();
    if (s.ringing === 0 && s.active === 0 && s.usersWithOpenCalls === 0 && s.pendingDisconnects === 0) break;
    await sleep(50);
  }
  assert.deepEqual([s.ringing, s.active, s.usersWithOpenCalls, s.pendingDisconnects], [0, 0, 0, 0]);
});
