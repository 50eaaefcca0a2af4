// Foundation, dev auth: health-ping, errors on the wire, messageId replay, /stats, /metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { connect, dev, once, none, ack, sleep } from '../lib/client.mjs';

let server;
const sockets = [];
const open = async (auth) => { const s = await connect(server.url, auth); sockets.push(s); return s; };

before(async () => { server = await startServer({ toml: '' }); });
after(async () => { sockets.forEach((s) => s.close()); await server.stop(); });

test('dev mode takes the handshake identity and says so loudly at start', async () => {
  const s = await open(dev('u-dev', 'Dev User'));
  assert.ok(s.connected);
  assert.match(server.output(), /AUTH MODE IS `dev`/);
});

test('dev mode without auth.userId is refused at connect', async () => {
  await assert.rejects(connect(server.url, {}), /auth\.userId/);
});

test('health-ping gets health-pong to the sender and the same object in the ack', async () => {
  const s = await open(dev('u-ping'));
  const pong = once(s, 'health-pong');
  const answer = await ack(s, 'health-ping', { id: 'manual', timestamp: 1234 });
  assert.deepEqual(await pong, answer);
  assert.equal(answer.id, 'manual');
  assert.equal(answer.timestamp, 1234);
  assert.ok(answer.serverTime >= Date.now() - 60000);
});

test('health-ping without an ack still gets health-pong', async () => {
  const s = await open(dev('u-noack'));
  const pong = once(s, 'health-pong');
  s.emit('health-ping', { id: 'p2', timestamp: Date.now() });
  assert.equal((await pong).id, 'p2');
});

test('an invalid payload is answered in the ack with invalid_payload', async () => {
  const s = await open(dev('u-bad'));
  const answer = await ack(s, 'health-ping', { timestamp: 'yesterday' });
  assert.equal(answer.ok, false);
  assert.equal(answer.error.code, 'invalid_payload');
  assert.match(answer.error.message, /id|timestamp/);
});

test('an invalid payload without ack arrives as plugboard:error to that socket alone', async () => {
  const s = await open(dev('u-bad2'));
  const other = await open(dev('u-other'));
  const quiet = none(other, 'plugboard:error', 500);
  const err = once(s, 'plugboard:error');
  s.emit('health-ping', 'not an object');
  assert.deepEqual(Object.keys(await err).sort(), ['code', 'event', 'message']);
  assert.equal((await err).event, 'health-ping');
  assert.equal((await err).code, 'invalid_payload');
  assert.ok(await quiet);
});

test('a repeated messageId gets the first answer again and the handler runs once', async () => {
  const s = await open(dev('u-replay'));
  const before = (await server.get('/stats')).json;
  const first = await ack(s, 'health-ping', { id: 'r1', timestamp: 1, messageId: 'msg-1' });
  await sleep(5);
  const again = await ack(s, 'health-ping', { id: 'r1', timestamp: 1, messageId: 'msg-1' });
  assert.deepEqual(again, first, 'same serverTime: the answer was replayed, not recomputed');
  const stats = (await server.get('/stats')).json;
  assert.equal(stats.handlers['health-ping'].pingsTotal - before.handlers['health-ping'].pingsTotal, 1);
  assert.equal(stats.idempotentReplays - before.idempotentReplays, 1);
});

test('/stats reports uptime, connections and every handler', async () => {
  await open(dev('u-stats'));
  const { status, json } = await server.get('/stats');
  assert.equal(status, 200);
  assert.equal(typeof json.uptimeSeconds, 'number');
  assert.ok(json.connections >= 1);
  assert.ok(json.handlers['health-ping'].sockets.healthy >= 1);
});

test('/metrics is Prometheus text with connections, events, errors and latency', async () => {
  const s = await open(dev('u-metrics'));
  await ack(s, 'health-ping', { id: 'm', timestamp: 1 });
  const { status, text } = await server.get('/metrics');
  assert.equal(status, 200);
  assert.match(text, /^plugboard_connections \d+/m);
  assert.match(text, /plugboard_events_total\{handler="health-ping",event="health-ping"\} \d+/);
  assert.match(text, /plugboard_errors_total\{code="invalid_payload"\} \d+/);
  assert.match(text, /plugboard_handler_duration_seconds_bucket\{/);
  assert.equal((await server.get('/healthz')).status, 200);
});
