// Foundation, JWT auth and the kick_old session policy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import jwt from 'jsonwebtoken';
import { startServer } from '../lib/server.mjs';
import { connect, once, ack } from '../lib/client.mjs';

const SECRET = 'e2e-secret';
let server;
const sockets = [];
const open = async (auth) => { const s = await connect(server.url, auth); sockets.push(s); return s; };
const token = (claims, secret = SECRET) => jwt.sign(claims, secret, { algorithm: 'HS256' });

before(async () => {
  server = await startServer({
    toml: `[auth]\nmode = "jwt"\njwt_secret = "${SECRET}"\n[sessions]\npolicy = "kick_old"\nmulti_tab_roles = ["agent"]\n`,
  });
});
after(async () => { sockets.forEach((s) => s.close()); await server.stop(); });

test('a valid token connects and its claims are the identity', async () => {
  const s = await open({ token: token({ sub: 'user-1', name: 'Ann', roles: ['agent'] }) });
  assert.ok(s.connected);
  const pong = await ack(s, 'health-ping', { id: 'j', timestamp: 1 });
  assert.equal(pong.id, 'j');
});

test('a token signed with another secret is refused with a clear connect error', async () => {
  await assert.rejects(connect(server.url, { token: token({ sub: 'x' }, 'wrong') }), /invalid token/);
});

test('an expired token is refused', async () => {
  const expired = token({ sub: 'x', exp: Math.floor(Date.now() / 1000) - 30 });
  await assert.rejects(connect(server.url, { token: expired }), /invalid token.*Expired/i);
});

test('a missing token is refused', async () => {
  await assert.rejects(connect(server.url, { userId: 'spoof' }), /auth\.token/);
});

test('kick_old: the older socket of a user gets duplicate-connection and is disconnected', async () => {
  const t = token({ sub: 'user-kick', name: 'K' });
  const first = await open({ token: t });
  const kicked = once(first, 'duplicate-connection');
  const gone = once(first, 'disconnect');
  const second = await open({ token: t });
  assert.deepEqual(await kicked, { message: 'Logged in from another device' });
  assert.equal(await gone, 'io server disconnect');
  assert.ok(second.connected);
});

test('agents keep several tabs under kick_old', async () => {
  const t = token({ sub: 'agent-tabs', roles: ['agent'] });
  const one = await open({ token: t });
  await open({ token: t });
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(one.connected);
});
