// Graceful shutdown: clients see a disconnect and the process exits 0 within the deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { connect, dev, once, ack } from '../lib/client.mjs';

for (const sig of ['SIGTERM', 'SIGINT']) {
  test(`on ${sig} connected clients see a disconnect and the process exits 0 within the deadline`, async () => {
    const server = await startServer({ toml: 'shutdown_timeout_ms = 3000\n' });
    const a = await connect(server.url, dev('s1'));
    const b = await connect(server.url, dev('s2'));
    await ack(a, 'health-ping', { id: 'x', timestamp: 1 });
    const seen = Promise.all([once(a, 'disconnect'), once(b, 'disconnect')]);
    const started = Date.now();
    const exit = await server.stop(sig);
    const reasons = await seen;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(Date.now() - started < 3000 + 2000, 'exited within the deadline');
    assert.ok(reasons.every((r) => r === 'transport close' || r === 'io server disconnect'), reasons.join());
    assert.match(server.output(), /shutdown: cleaning up connected sockets.*sockets=2|sockets=2.*shutdown: cleaning up/s);
    assert.match(server.output(), /handler shut down.*health-ping|health-ping.*handler shut down/);
  });
}

test('a SIGTERM right after start-up still shuts down cleanly with exit 0', async () => {
  const server = await startServer({ toml: '' });
  const exit = await server.stop('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null });
});
