// live-queue with configs of their own: server restart (STATE-01), zombie reset
// (STATE-02) and renamed events. Each test starts (and stops) its own server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { connect, dev, once, ack, sleep } from '../lib/client.mjs';

test('STATE-01: after a server restart the heartbeat says inQueue false with a new epoch', async () => {
  const first = await startServer({ toml: '' });
  const a = await connect(first.url, dev('s1-a'));
  await ack(a, 'live-call:join-queue', { language: 'state01' });
  const before = await ack(a, 'live-call:queue-heartbeat', {});
  assert.equal(before.inQueue, true);
  a.close();
  await first.stop();
  const second = await startServer({ toml: '' });
  try {
    const again = await connect(second.url, dev('s1-a'));
    const pushed = once(again, 'live-call:queue-status');
    const after = await ack(again, 'live-call:queue-heartbeat', {});
    assert.equal(after.inQueue, false);
    assert.equal(after.status, 'available');
    assert.notEqual(after.serverEpoch, before.serverEpoch);
    assert.equal((await pushed).serverEpoch, after.serverEpoch);
    again.close();
  } finally {
    await second.stop();
  }
});

test('STATE-02: ownerless busy states are reset by the zombie sweeper', async () => {
  const server = await startServer({
    toml: '[handlers.live_queue]\nrejoin_grace_ms = 60000\nzombie_ttl_ms = 300\nzombie_sweep_ms = 100\nmatch_delay_ms = 5\n',
  });
  try {
    const a = await connect(server.url, dev('s2-a'));
    const b = await connect(server.url, dev('s2-b'));
    const found = once(b, 'live-call:match-found');
    await ack(a, 'live-call:join-queue', {});
    await ack(b, 'live-call:join-queue', {});
    const { matchId } = await found;
    const ended = once(b, 'call-ended');
    a.close(); // the long grace would keep the match; only the sweeper can free b
    assert.deepEqual(await ended, { matchId, reason: 'peer_disconnected' });
    assert.equal((await ack(b, 'live-call:join-queue', {})).status, 'queueing');
    b.close();
    let stats;
    for (let i = 0; i < 50; i += 1) {
      stats = (await server.get('/stats')).json;
      if (JSON.stringify(stats).includes('"zombiesCleared":2')) break;
      await sleep(100);
    }
    assert.match(JSON.stringify(stats), /"zombiesCleared":2/, 'a and then the queueing b were reset');
  } finally {
    await server.stop();
  }
});

test('renamed events: a frontend with its own constants works unchanged', async () => {
  const server = await startServer({
    toml: [
      '[event_names]',
      '"live-call:join-queue" = "JOIN_QUEUE"',
      '"live-call:match-found" = "MATCH_FOUND"',
      '[handlers.live_queue]',
      'match_delay_ms = 5',
    ].join('\n'),
  });
  try {
    const a = await connect(server.url, dev('r-a'));
    const b = await connect(server.url, dev('r-b'));
    const found = once(b, 'MATCH_FOUND');
    assert.equal((await ack(a, 'JOIN_QUEUE', {})).status, 'queueing');
    assert.equal((await ack(b, 'JOIN_QUEUE', {})).status, 'queueing');
    assert.equal((await found).peer.userId, 'r-a');
    const old = await ack(a, 'live-call:join-queue', {});
    assert.equal(old.error.code, 'not_found');
    a.close();
    b.close();
  } finally {
    await server.stop();
  }
});
