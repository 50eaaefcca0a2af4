// Timeline events pushed by a host service through the Rust API: the embed-in-axum example
// (an existing axum app) calls `Timeline::broadcast_new_item` from its own route, and the
// real socket.io-client receives exactly its entity's events.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, EMBED_BIN } from '../lib/server.mjs';
import { connect, dev, ack, none, collect } from '../lib/client.mjs';

let app;
const sockets = [];
const open = async (user) => { const s = await connect(app.url, dev(user)); sockets.push(s); return s; };

before(async () => { app = await startServer({ bin: EMBED_BIN }); });
after(async () => { sockets.forEach((s) => s.close()); await app.stop(); });

test('a note created through the app route reaches the entity\'s followers and only them', async () => {
  const a = await open('rust-a');
  const b = await open('rust-b');
  const c = await open('rust-c');
  await ack(a, 'timeline:subscribe', { entityType: 'client', entityId: '42' });
  await ack(b, 'timeline:subscribe', { entityType: 'client', entityId: '42' });
  await ack(c, 'timeline:subscribe', { entityType: 'client', entityId: '43' });
  const [ga, gb] = [collect(a, 'timeline:new_item'), collect(b, 'timeline:new_item')];
  const cQuiet = none(c, 'timeline:new_item', 500);
  const res = await app.post('/crm/client/42/notes', { text: 'called back' });
  assert.equal(res.status, 201);
  assert.equal(res.json.delivered, 2);
  assert.ok(await cQuiet, 'the follower of another entity got nothing');
  for (const got of [ga, gb]) {
    assert.equal(got.length, 1);
    assert.equal(got[0].entityType, 'client');
    assert.equal(got[0].entityId, '42');
    assert.deepEqual(got[0].item, res.json.note);
  }
});

test('the app route refuses an entity type outside the allow-list', async () => {
  const res = await app.post('/crm/spaceship/1/notes', { text: 'x' });
  assert.equal(res.status, 400);
  assert.match(res.json.error, /entity type|spaceship/);
});
