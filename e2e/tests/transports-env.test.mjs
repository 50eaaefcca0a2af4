// Frontends connect unchanged: socket.io-client's default transports (long-polling, then
// upgrade to websocket) and polling alone; configuration from PLUGBOARD_* environment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { connect, dev, ack } from '../lib/client.mjs';

let server;
before(async () => { server = await startServer({ toml: '' }); });
after(async () => { await server.stop(); });

test('a client with default options (polling, then upgrade) pings and upgrades to websocket', async () => {
  const s = await connect(server.url, dev('u-default'), { transports: undefined });
  const upgraded = new Promise((resolve) => {
    if (s.io.engine.transport.name === 'websocket') resolve('websocket');
    s.io.engine.once('upgrade', (t) => resolve(t.name));
  });
  const pong = await ack(s, 'health-ping', { id: 'd', timestamp: 1 });
  assert.equal(pong.id, 'd');
  assert.equal(await upgraded, 'websocket');
  s.close();
});

test('a polling-only client works', async () => {
  const s = await connect(server.url, dev('u-poll'), { transports: ['polling'] });
  assert.equal(s.io.engine.transport.name, 'polling');
  const pong = await ack(s, 'health-ping', { id: 'p', timestamp: 2 });
  assert.equal(pong.id, 'p');
  s.close();
});

test('environment variables override the config file', async () => {
  const envServer = await startServer({
    toml: '[auth]\nmode = "dev"\n',
    env: { PLUGBOARD_AUTH__MODE: 'jwt', PLUGBOARD_AUTH__JWT_SECRET: 'from-env' },
  });
  try {
    await assert.rejects(connect(envServer.url, dev('u-env')), /auth\.token/);
  } finally {
    await envServer.stop();
  }
});
