// ticket-collision (seed 004) with the real socket.io-client: viewers, typing, collisions,
// tabs, disconnects, typing expiry, the stale sweep, invalid payloads, /stats.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { connect, dev, once, none, ack, collect, sleep } from '../lib/client.mjs';

const TOML = `
[handlers.ticket_collision]
typing_timeout_ms = 800
stale_after_ms = 2500
sweep_interval_ms = 100
`;

let server;
const sockets = [];
const agent = async (id, name = id) => {
  const s = await connect(server.url, dev(id, name, ['agent']));
  sockets.push(s);
  return s;
};
const view = async (s, ticketId, extra = {}) => {
  const answer = await ack(s, 'ticket:view', { ticketId, ...extra });
  assert.equal(answer.ok, true, JSON.stringify(answer));
  return answer;
};
const ids = (viewers) => viewers.map((v) => v.agentId);
/** The next `event` whose payload satisfies `pred` (earlier broadcasts may still be in flight). */
const onceWhere = (socket, event, pred, ms = 5000) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => { socket.off(event, on); reject(new Error(`no matching ${event} within ${ms} ms`)); }, ms);
  const on = (p) => { if (pred(p)) { clearTimeout(timer); socket.off(event, on); resolve(p); } };
  socket.on(event, on);
});
const viewersAre = (socket, ticketId, expected) =>
  onceWhere(socket, 'viewers:updated', (p) => p.ticketId === ticketId && JSON.stringify(ids(p.viewers)) === JSON.stringify(expected));
const stats = async () => (await server.get('/stats')).json.handlers['ticket-collision'];
/** Abrupt loss of the connection: the TCP socket is destroyed, no goodbye packet. */
const cut = (s) => s.io.engine.transport.ws._socket.destroy();

before(async () => { server = await startServer({ toml: TOML }); });
after(async () => { sockets.forEach((s) => s.close()); await server.stop(); });

test('a second agent viewing gets a viewing collision warning; the first hears agent:joined', async () => {
  const ann = await agent('e-ann', 'Ann');
  const bob = await agent('e-bob', 'Bob');
  const annUpdated = once(ann, 'viewers:updated');
  const first = await view(ann, 'E1', { agentName: 'Ann A.' });
  assert.deepEqual(first.viewers.map((v) => [v.agentId, v.agentName, v.status]), [['e-ann', 'Ann A.', 'viewing']]);
  assert.ok(first.viewers[0].since > Date.now() - 60000);
  assert.deepEqual((await annUpdated).viewers, first.viewers);

  const joined = once(ann, 'agent:joined');
  const annSees = viewersAre(ann, 'E1', ['e-ann', 'e-bob']);
  const warning = once(bob, 'collision:warning');
  const noWarningForAnn = none(ann, 'collision:warning', 300);
  const second = await view(bob, 'E1');
  assert.deepEqual(ids(second.viewers), ['e-ann', 'e-bob']);
  assert.deepEqual(await joined, { ticketId: 'E1', agentId: 'e-bob', agentName: 'Bob' });
  assert.deepEqual(ids((await annSees).viewers), ['e-ann', 'e-bob']);
  const w = await warning;
  assert.equal(w.type, 'viewing');
  assert.equal(w.ticketId, 'E1');
  assert.deepEqual(ids(w.agents), ['e-ann']);
  assert.equal(w.message, 'Ann A. is also viewing this ticket');
  assert.ok(await noWarningForAnn);
});

test('two tabs of one agent are one viewer; closing one tab keeps it, closing both tells the room', async () => {
  const ann = await agent('t-ann', 'Ann');
  const tab1 = await agent('t-bob', 'Bob');
  const tab2 = await agent('t-bob', 'Bob');
  await view(ann, 'E2');
  const joined = collect(ann, 'agent:joined');
  await view(tab1, 'E2');
  const second = await view(tab2, 'E2');
  assert.deepEqual(ids(second.viewers), ['t-ann', 't-bob']);
  await sleep(200);
  assert.equal(joined.length, 1, 'the second tab is no new agent');

  const left = collect(ann, 'agent:left');
  tab1.close();
  await sleep(300);
  assert.equal(left.length, 0, 'the other tab still views');
  const gone = once(ann, 'agent:left');
  tab2.close();
  assert.deepEqual(await gone, { ticketId: 'E2', agentId: 't-bob', reason: 'disconnected' });
});

test('typing and stop typing reach the other agents; two typers both get a typing warning', async () => {
  const ann = await agent('y-ann', 'Ann');
  const bob = await agent('y-bob', 'Bob');
  const cid = await agent('y-cid', 'Cid');
  for (const s of [ann, bob, cid]) await view(s, 'E3');

  const typing = once(bob, 'agent:typing');
  const selfQuiet = none(ann, 'agent:typing', 300);
  assert.deepEqual(await ack(ann, 'ticket:typing', { ticketId: 'E3' }), { ok: true, ticketId: 'E3', status: 'typing' });
  assert.deepEqual(await typing, { ticketId: 'E3', agentId: 'y-ann', agentName: 'Ann' });
  assert.ok(await selfQuiet);

  const toAnn = once(ann, 'collision:warning');
  const toBob = once(bob, 'collision:warning');
  const cidQuiet = none(cid, 'collision:warning', 300);
  bob.emit('ticket:typing', { ticketId: 'E3' });
  const [wa, wb] = await Promise.all([toAnn, toBob]);
  assert.equal(wa.type, 'typing');
  assert.deepEqual(ids(wa.agents), ['y-bob']);
  assert.deepEqual(ids(wb.agents), ['y-ann']);
  assert.equal(wb.agents[0].status, 'typing');
  assert.ok(await cidQuiet, 'cid only views');

  const stopped = once(cid, 'agent:stopped_typing');
  const updated = onceWhere(cid, 'viewers:updated', (p) => p.viewers.some((v) => v.agentId === 'y-bob' && v.status === 'viewing'));
  await ack(bob, 'ticket:stop_typing', { ticketId: 'E3' });
  assert.deepEqual(await stopped, { ticketId: 'E3', agentId: 'y-bob', agentName: 'Bob' });
  const statuses = Object.fromEntries((await updated).viewers.map((v) => [v.agentId, v.status]));
  assert.deepEqual(statuses, { 'y-ann': 'typing', 'y-bob': 'viewing', 'y-cid': 'viewing' });
});

test('typing ends by itself after typing_timeout_ms', async () => {
  const ann = await agent('x-ann', 'Ann');
  const bob = await agent('x-bob', 'Bob');
  await view(ann, 'E4');
  await view(bob, 'E4');
  const started = Date.now();
  const typing = onceWhere(ann, 'viewers:updated', (p) => p.viewers.some((v) => v.status === 'typing'));
  const stopped = once(ann, 'agent:stopped_typing');
  await ack(bob, 'ticket:typing', { ticketId: 'E4' });
  await typing;
  const allViewing = onceWhere(ann, 'viewers:updated', (p) => p.viewers.every((v) => v.status === 'viewing'));
  assert.equal((await stopped).agentId, 'x-bob');
  assert.ok(Date.now() - started >= 800);
  assert.deepEqual(ids((await allViewing).viewers), ['x-ann', 'x-bob']);
});

test('ticket:leave tells the others with reason left and takes the socket out of the room', async () => {
  const ann = await agent('l-ann', 'Ann');
  const bob = await agent('l-bob', 'Bob');
  await view(ann, 'E5');
  await view(bob, 'E5');
  const left = once(ann, 'agent:left');
  const updated = viewersAre(ann, 'E5', ['l-ann']);
  assert.deepEqual(await ack(bob, 'ticket:leave', { ticketId: 'E5' }), { ok: true, ticketId: 'E5' });
  assert.deepEqual(await left, { ticketId: 'E5', agentId: 'l-bob', reason: 'left' });
  await updated;
  const quiet = none(bob, 'agent:typing', 300);
  await ack(ann, 'ticket:typing', { ticketId: 'E5' });
  assert.ok(await quiet);
});

test('an abrupt disconnect removes the agent from every ticket with reason disconnected', async () => {
  const ann = await agent('d-ann', 'Ann');
  const bob = await agent('d-bob', 'Bob');
  for (const t of ['E6a', 'E6b']) { await view(ann, t); await view(bob, t); }
  await ack(bob, 'ticket:typing', { ticketId: 'E6b' });
  const left = collect(ann, 'agent:left');
  cut(bob);
  for (let i = 0; i < 100 && left.length < 2; i++) await sleep(50);
  assert.deepEqual(left.map((l) => [l.ticketId, l.agentId, l.reason]).sort(), [
    ['E6a', 'd-bob', 'disconnected'],
    ['E6b', 'd-bob', 'disconnected'],
  ]);
});

test('idle viewers are swept with reason timeout', async () => {
  const ann = await agent('s-ann', 'Ann');
  const bob = await agent('s-bob', 'Bob');
  await view(ann, 'E7');
  const idleSince = Date.now();
  await view(bob, 'E7');
  const annLeft = once(ann, 'agent:left', 5000);
  const bobLeft = once(bob, 'agent:left', 5000);
  // Bob stays active; Ann does nothing.
  const keepAlive = setInterval(() => bob.emit('ticket:stop_typing', { ticketId: 'E7' }), 200);
  try {
    const told = await bobLeft;
    assert.deepEqual(told, { ticketId: 'E7', agentId: 's-ann', reason: 'timeout' });
    assert.ok(Date.now() - idleSince >= 2500);
    assert.deepEqual(await annLeft, told, 'the swept agent is told too');
    const answer = await ack(ann, 'ticket:typing', { ticketId: 'E7' });
    assert.equal(answer.error.code, 'not_found');
  } finally {
    clearInterval(keepAlive);
  }
});

test('invalid payloads get invalid_payload; typing on an unviewed ticket is not_found', async () => {
  const s = await agent('i-ann', 'Ann');
  for (const event of ['ticket:view', 'ticket:typing', 'ticket:stop_typing', 'ticket:leave']) {
    for (const bad of [{}, { ticketId: 7 }, { ticketId: '' }, { ticketId: 'x'.repeat(257) }, 'E8']) {
      const answer = await ack(s, event, bad);
      assert.equal(answer.ok, false);
      assert.equal(answer.error.code, 'invalid_payload', `${event} ${JSON.stringify(bad)}`);
    }
  }
  const err = once(s, 'plugboard:error');
  s.emit('ticket:view', { ticketId: ['E8'] });
  assert.deepEqual({ ...(await err), message: undefined }, { event: 'ticket:view', code: 'invalid_payload', message: undefined });
  const notViewing = await ack(s, 'ticket:typing', { ticketId: 'E8' });
  assert.equal(notViewing.error.code, 'not_found');
  assert.equal((await stats()).tickets.find((t) => t.ticketId === 'E8'), undefined);
});

test('stats count tickets, viewers and typers, and return to empty when everyone has gone', async () => {
  const ann = await agent('z-ann', 'Ann');
  const bob = await agent('z-bob', 'Bob');
  await view(ann, 'E9');
  await view(bob, 'E9');
  await ack(bob, 'ticket:typing', { ticketId: 'E9' });
  const row = (await stats()).tickets.find((t) => t.ticketId === 'E9');
  assert.deepEqual(row, { ticketId: 'E9', viewerCount: 2, typingCount: 1 });
  sockets.forEach((s) => s.close());
  let s;
  for (let i = 0; i < 100; i++) {
    s = await stats();
    if (s.activeTickets === 0 && s.trackedSockets === 0) break;
    await sleep(50);
  }
  assert.deepEqual(s, { activeTickets: 0, totalViewers: 0, typingCount: 0, tickets: [], trackedSockets: 0 });
});
