// Timeline handler (issue 4): subscriptions from the real socket.io-client, broadcasts
// through the HTTP publish API of the real binary. (The Rust host API is covered by the
// Rust tests in handlers/timeline/tests/host_api.rs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { connect, dev, once, ack, sleep } from '../lib/client.mjs';

const KEY = 'e2e-timeline-key';
const AUTH = { authorization: `Bearer ${KEY}` };
let server;
const sockets = [];
const open = async (user) => { const s = await connect(server.url, dev(user, user, ['agent'])); sockets.push(s); return s; };

before(async () => {
  server = await startServer({ toml: `[http]\napi_key = "${KEY}"\n\n[handlers.timeline]\nstats_top_n = 1000\n` });
});
after(async () => { sockets.forEach((s) => s.close()); await server.stop(); });

/** Every `timeline:*` event the socket receives, as [name, payload], in order. */
function timelineEvents(socket) {
  const seen = [];
  socket.onAny((name, payload) => { if (name.startsWith('timeline:')) seen.push([name, payload]); });
  return seen;
}

const subscribe = (s, entityType, entityId) => ack(s, 'timeline:subscribe', { entityType, entityId });
const unsubscribe = (s, entityType, entityId) => ack(s, 'timeline:unsubscribe', { entityType, entityId });
const publish = (entityType, entityId, body, headers = AUTH) =>
  server.post(`/api/timeline/${encodeURIComponent(entityType)}/${encodeURIComponent(entityId)}`, body, headers);

async function entityRow(entityType, entityId) {
  const { json } = await server.get('/stats');
  return json.handlers.timeline.entities.find((e) => e.entityType === entityType && e.entityId === entityId);
}

/** Waits until `/stats` shows the entity with `n` subscribers (absent when 0). */
async function untilSubscribers(entityType, entityId, n) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const row = await entityRow(entityType, entityId);
    if ((row?.subscribers ?? 0) === n) return row;
    assert.ok(Date.now() < deadline, `${entityType}:${entityId} still has ${row?.subscribers} subscribers`);
    await sleep(20);
  }
}

const FIVE = (id) => [
  { type: 'new_item', item: { id: `${id}-1`, text: 'hello', meta: { by: 'svc', tags: ['a'] } } },
  { type: 'item_updated', item: { id: `${id}-1`, text: 'edited' } },
  { type: 'item_deleted', itemId: `${id}-1` },
  { type: 'refresh' },
  { type: 'bulk_update', items: [{ id: `${id}-2` }, { id: `${id}-3`, n: 1 }] },
];

const expected = (entityType, entityId) => [
  ['timeline:new_item', { entityType, entityId, item: { id: `${entityId}-1`, text: 'hello', meta: { by: 'svc', tags: ['a'] } } }],
  ['timeline:item_updated', { entityType, entityId, item: { id: `${entityId}-1`, text: 'edited' } }],
  ['timeline:item_deleted', { entityType, entityId, itemId: `${entityId}-1` }],
  ['timeline:refresh', { entityType, entityId }],
  ['timeline:bulk_update', { entityType, entityId, items: [{ id: `${entityId}-2` }, { id: `${entityId}-3`, n: 1 }] }],
];

test('subscribe acks the room and an exact count; subscribing twice counts once', async () => {
  const a = await open('sub-a');
  const b = await open('sub-b');
  assert.deepEqual(await subscribe(a, 'client', 'sub-1'), { ok: true, room: 'timeline:client:sub-1', subscribers: 1 });
  assert.deepEqual(await subscribe(b, 'client', 'sub-1'), { ok: true, room: 'timeline:client:sub-1', subscribers: 2 });
  assert.equal((await subscribe(a, 'client', 'sub-1')).subscribers, 2);
  assert.deepEqual(await entityRow('client', 'sub-1'), { entityType: 'client', entityId: 'sub-1', subscribers: 2 });
  assert.deepEqual((await publish('client', 'sub-1', { type: 'refresh' })).json, { ok: true, delivered: 2 });
});

test('two clients on one entity and one on another receive exactly their entity\'s events, all five kinds', async () => {
  const a = await open('five-a');
  const b = await open('five-b');
  const c = await open('five-c');
  const [ea, eb, ec] = [timelineEvents(a), timelineEvents(b), timelineEvents(c)];
  await subscribe(a, 'case', 'five-1');
  await subscribe(b, 'case', 'five-1');
  await subscribe(c, 'ticket', 'five-2');
  for (const body of FIVE('five-1')) {
    const res = await publish('case', 'five-1', body);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { ok: true, delivered: 2 });
  }
  for (const body of FIVE('five-2')) {
    assert.deepEqual((await publish('ticket', 'five-2', body)).json, { ok: true, delivered: 1 });
  }
  // Barrier: one socket's events arrive in order, so once each has its last bulk_update
  // everything sent to it before has arrived too.
  const last = ([name]) => name === 'timeline:bulk_update';
  const deadline = Date.now() + 5000;
  while (!(ea.some(last) && eb.some(last) && ec.some(last))) {
    assert.ok(Date.now() < deadline, 'events did not arrive');
    await sleep(10);
  }
  await sleep(100);
  assert.deepEqual(ea, expected('case', 'five-1'));
  assert.deepEqual(eb, expected('case', 'five-1'));
  assert.deepEqual(ec, expected('ticket', 'five-2'));
});

test('unsubscribe stops delivery to that socket only and the count drops', async () => {
  const a = await open('unsub-a');
  const b = await open('unsub-b');
  const ea = timelineEvents(a);
  await subscribe(a, 'lead', 'unsub-1');
  await subscribe(a, 'lead', 'unsub-barrier');
  await subscribe(b, 'lead', 'unsub-1');
  assert.deepEqual(await unsubscribe(a, 'lead', 'unsub-1'), { ok: true, subscribers: 1 });
  const gotB = once(b, 'timeline:new_item');
  assert.deepEqual((await publish('lead', 'unsub-1', { type: 'new_item', item: { id: 'n1' } })).json, { ok: true, delivered: 1 });
  assert.equal((await gotB).item.id, 'n1');
  // a still follows the barrier entity: when that event arrives, the earlier one would have too.
  const barrier = once(a, 'timeline:refresh');
  await publish('lead', 'unsub-barrier', { type: 'refresh' });
  await barrier;
  assert.deepEqual(ea, [['timeline:refresh', { entityType: 'lead', entityId: 'unsub-barrier' }]]);
  assert.deepEqual(await unsubscribe(b, 'lead', 'unsub-1'), { ok: true, subscribers: 0 });
  assert.equal(await entityRow('lead', 'unsub-1'), undefined, 'no state left for an entity nobody follows');
  assert.deepEqual((await publish('lead', 'unsub-1', { type: 'refresh' })).json, { ok: true, delivered: 0 });
});

test('disconnect drops every subscription of the socket; an unfollowed entity is skipped', async () => {
  const a = await open('disc-a');
  const b = await open('disc-b');
  await subscribe(a, 'task', 'disc-1');
  await subscribe(a, 'task', 'disc-2');
  await subscribe(b, 'task', 'disc-1');
  const before = (await server.get('/stats')).json.handlers.timeline;
  a.close();
  await untilSubscribers('task', 'disc-1', 1);
  await untilSubscribers('task', 'disc-2', 0);
  const afterStats = (await server.get('/stats')).json.handlers.timeline;
  assert.equal(afterStats.totalEntities, before.totalEntities - 1);
  assert.equal(afterStats.totalSockets, before.totalSockets - 1);
  assert.deepEqual((await publish('task', 'disc-2', { type: 'refresh' })).json, { ok: true, delivered: 0 });
  assert.equal((await server.get('/stats')).json.handlers.timeline.skippedBroadcasts, afterStats.skippedBroadcasts + 1);
  const gotB = once(b, 'timeline:item_deleted');
  assert.deepEqual((await publish('task', 'disc-1', { type: 'item_deleted', itemId: 'z' })).json, { ok: true, delivered: 1 });
  assert.deepEqual(await gotB, { entityType: 'task', entityId: 'disc-1', itemId: 'z' });
  b.close();
  await untilSubscribers('task', 'disc-1', 0);
});

test('invalid subscriptions are refused with invalid_payload and join nothing', async () => {
  const s = await open('bad-sub');
  for (const bad of [
    {},
    { entityType: 'client' },
    { entityType: 'user', entityId: '1' },
    { entityType: 'client', entityId: '' },
    { entityType: 'client', entityId: 'x'.repeat(129) },
    { entityType: 'client', entityId: 7 },
    'client:1',
  ]) {
    const answer = await ack(s, 'timeline:subscribe', bad);
    assert.equal(answer.ok, false, JSON.stringify(bad));
    assert.equal(answer.error.code, 'invalid_payload', JSON.stringify(bad));
  }
  assert.equal((await subscribe(s, 'user', '1')).error.field, 'entityType');
  assert.equal((await subscribe(s, 'client', '')).error.field, 'entityId');
  const err = once(s, 'plugboard:error');
  s.emit('timeline:subscribe', { entityType: 'nope', entityId: '1' });
  assert.deepEqual({ ...(await err), message: undefined }, { event: 'timeline:subscribe', code: 'invalid_payload', message: undefined });
  assert.equal(await entityRow('client', ''), undefined);
  assert.equal(await entityRow('client', 'x'.repeat(129)), undefined);
});

test('HTTP calls without the right key are refused with 401 and deliver nothing', async () => {
  const s = await open('http-401');
  const seen = timelineEvents(s);
  await subscribe(s, 'invoice', 'auth-1');
  for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: KEY }]) {
    const res = await publish('invoice', 'auth-1', { type: 'refresh' }, headers);
    assert.equal(res.status, 401, JSON.stringify(headers));
    assert.equal(res.json.error.code, 'unauthorized');
  }
  const barrier = once(s, 'timeline:new_item');
  await publish('invoice', 'auth-1', { type: 'new_item', item: { id: 'ok' } });
  await barrier;
  assert.deepEqual(seen.map(([name]) => name), ['timeline:new_item']);
});

test('bad HTTP bodies and entities answer 400 naming the field', async () => {
  const cases = [
    ['client', 'b1', '{not json', 'body'],
    ['client', 'b1', {}, 'type'],
    ['client', 'b1', { type: 'explode' }, 'type'],
    ['client', 'b1', { type: 'new_item' }, 'item'],
    ['client', 'b1', { type: 'item_updated', item: 'text' }, 'item'],
    ['client', 'b1', { type: 'item_deleted' }, 'itemId'],
    ['client', 'b1', { type: 'bulk_update', items: 'x' }, 'items'],
    ['planet', 'b1', { type: 'refresh' }, 'entityType'],
    ['client', 'y'.repeat(129), { type: 'refresh' }, 'entityId'],
  ];
  for (const [type, id, body, field] of cases) {
    const res = await publish(type, id, body);
    assert.equal(res.status, 400, `${JSON.stringify(body)} -> ${res.text}`);
    assert.equal(res.json.ok, false);
    assert.equal(res.json.error.code, 'invalid_payload');
    assert.equal(res.json.error.field, field, `${JSON.stringify(body)} -> ${res.text}`);
  }
});

test('entity ids with slashes and spaces travel through the path encoded', async () => {
  const s = await open('enc');
  await subscribe(s, 'contact', 'a/b c');
  const got = once(s, 'timeline:refresh');
  assert.deepEqual((await publish('contact', 'a/b c', { type: 'refresh' })).json, { ok: true, delivered: 1 });
  assert.deepEqual(await got, { entityType: 'contact', entityId: 'a/b c' });
});
