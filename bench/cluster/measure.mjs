// Cluster measurements for docs/scaling.md, with the real socket.io-client against real
// plugboard processes (release build):
//   1. how fast a broadcast crosses nodes (HTTP publish on node 1, subscribers on 1, 2, 3),
//      against one node on the memory store;
//   2. what a stateful event costs on Redis (ticket:view ack round trip), against memory;
//   3. failover with the default settings: SIGKILL a node, time until the others told the
//      rooms (agent:left node_down) and ended its calls (call:ended peer_disconnected);
//   4. a Redis outage: how fast events answer `unavailable`, how long until /healthz is ok
//      and broadcasts cross nodes again after Redis is back.
// Run: cargo build --release --bin plugboard && node bench/cluster/measure.mjs
// (needs e2e/node_modules: `cd e2e && npm ci`). Writes bench/results/<date>-cluster.{json,md}.
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execSync } from 'node:child_process';
import { startServer } from '../../e2e/lib/server.mjs';
import { connect, dev, once, ack, sleep } from '../../e2e/lib/client.mjs';
import { startRedis, testRedisUrl, stopSharedRedis } from '../../e2e/lib/redis.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.PLUGBOARD_BIN ?? path.resolve(here, '../../target/release/plugboard');
const KEY = 'bench-key';
const now = () => performance.timeOrigin + performance.now();
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const ms = (x) => Math.round(x * 100) / 100;
const summary = (xs) => ({ n: xs.length, p50: ms(pct(xs, 50)), p99: ms(pct(xs, 99)), max: ms(Math.max(...xs)) });

async function nodes(n, { redisUrl, extra = '', cluster = `bench-${Date.now()}` } = {}) {
  const base = `[http]\napi_key = "${KEY}"\n[limits]\nevents_per_second = 0\n`;
  const toml = (i) => (redisUrl
    ? `store = "redis"\nredis_url = "${redisUrl}"\n[cluster]\nname = "${cluster}"\nnode_id = "n${i + 1}"\n${extra}\n${base}`
    : base);
  return Promise.all(Array.from({ length: n }, (_, i) => startServer({ toml: toml(i), bin: BIN, env: { RUST_LOG: 'info' } })));
}

/** 1. Broadcast latency per receiving node. */
async function broadcast(servers, perNode = 100, posts = 200) {
  const sockets = [];
  const lat = servers.map(() => []);
  for (const [i, s] of servers.entries()) {
    for (let k = 0; k < perNode; k += 1) {
      const c = await connect(s.url, dev(`sub-${i}-${k}`));
      await ack(c, 'timeline:subscribe', { entityType: 'lead', entityId: 'M' });
      c.on('timeline:new_item', (p) => lat[i].push(now() - p.item.t));
      sockets.push(c);
    }
  }
  for (let j = 0; j < posts; j += 1) {
    await servers[0].post('/api/timeline/lead/M', { type: 'new_item', item: { t: now(), j } }, { authorization: `Bearer ${KEY}` });
    await sleep(20);
  }
  await sleep(1000);
  sockets.forEach((c) => c.close());
  return lat.map((xs, i) => ({ node: i + 1, expected: perNode * posts, ...summary(xs) }));
}

/** 2. ticket:view round trips, one client, sequential. */
async function stateful(server, rounds = 500) {
  const c = await connect(server.url, dev('viewer', 'Viewer', ['agent']));
  const xs = [];
  for (let j = 0; j < rounds; j += 1) {
    const t = now();
    const a = await ack(c, 'ticket:view', { ticketId: `S-${j % 50}` });
    if (!a.ok) throw new Error(JSON.stringify(a));
    xs.push(now() - t);
  }
  c.close();
  return summary(xs);
}

/** 3. SIGKILL a node with a viewer and a call party on it; time until the others tell. */
async function failover(redisUrl, round) {
  const servers = await nodes(3, { redisUrl, cluster: `bench-fail-${Date.now()}-${round}` });
  try {
    const ann = await connect(servers[0].url, dev('ann', 'Ann', ['agent']));
    const bob = await connect(servers[1].url, dev('bob', 'Bob', ['agent']));
    const caller = await connect(servers[1].url, dev('caller'));
    await ack(ann, 'ticket:view', { ticketId: 'F' });
    await ack(bob, 'ticket:view', { ticketId: 'F' });
    const { callId } = await ack(caller, 'call:request', {});
    await ack(ann, 'call:accept', { callId });
    await sleep(1500); // a few heartbeats into steady state
    const left = once(ann, 'agent:left', 30000);
    const ended = once(ann, 'call:ended', 30000);
    const t = now();
    await servers[1].stop('SIGKILL');
    const [l, e] = await Promise.all([left.then((p) => [p, now() - t]), ended.then((p) => [p, now() - t])]);
    ann.close();
    return { viewerRemovedMs: ms(l[1]), reason: l[0].reason, callEndedMs: ms(e[1]), callReason: e[0].reason };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** 4. Redis killed for `downMs`, then started again (AOF, fsync always). */
async function outage(downMs = 5000) {
  const redis = await startRedis({ aof: true });
  const servers = await nodes(2, { redisUrl: redis.url, cluster: `bench-outage-${Date.now()}` });
  try {
    const a = await connect(servers[0].url, dev('oa', 'A', ['agent']));
    const b = await connect(servers[1].url, dev('ob', 'B'));
    await ack(b, 'timeline:subscribe', { entityType: 'lead', entityId: 'O' });
    await redis.kill();
    await sleep(1500);
    const refusals = [];
    for (let j = 0; j < 20; j += 1) {
      const t = now();
      const r = await ack(a, 'ticket:view', { ticketId: 'O' });
      if (r.ok) throw new Error('view succeeded while Redis was down');
      refusals.push(now() - t);
    }
    await sleep(Math.max(0, downMs - 1500));
    const restarted = now();
    await redis.start();
    const healthy = [];
    for (const s of servers) {
      while ((await s.get('/healthz')).status !== 200) await sleep(20);
      healthy.push(now() - restarted);
    }
    let crossed;
    for (;;) {
      const got = once(b, 'timeline:new_item', 200).then(() => true, () => false);
      await servers[0].post('/api/timeline/lead/O', { type: 'new_item', item: { x: 1 } }, { authorization: `Bearer ${KEY}` });
      if (await got) { crossed = now() - restarted; break; }
    }
    a.close(); b.close();
    return { downMs, unavailableAnswer: summary(refusals), healthyAfterMs: healthy.map(ms), broadcastsCrossAfterMs: ms(crossed) };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await redis.stop();
  }
}

const redisUrl = await testRedisUrl();
if (!redisUrl) throw new Error('no Redis');
const results = { date: new Date().toISOString().slice(0, 10), git: execSync('git rev-parse --short HEAD').toString().trim(), bin: BIN };

let servers = await nodes(1);
results.broadcastMemory = await broadcast(servers, 30, 300);
results.viewMemory = await stateful(servers[0]);
await Promise.all(servers.map((s) => s.stop()));
servers = await nodes(1, { redisUrl });
results.viewRedis = await stateful(servers[0]);
await Promise.all(servers.map((s) => s.stop()));
servers = await nodes(3, { redisUrl });
results.broadcastCluster = await broadcast(servers, 10, 300);
await Promise.all(servers.map((s) => s.stop()));
results.failover = [];
for (let r = 0; r < 3; r += 1) results.failover.push(await failover(redisUrl, r));
results.outage = await outage();
await stopSharedRedis();

const md = [
  `# Cluster measurements ${results.date} (git ${results.git})`,
  '',
  '## Broadcast latency, HTTP publish on node 1 (ms from publish to receipt)',
  '',
  '| setup | receiving node | messages | p50 | p99 | max |',
  '|---|---|---|---|---|---|',
  ...results.broadcastMemory.map((r) => `| 1 node, memory | ${r.node} | ${r.n}/${r.expected} | ${r.p50} | ${r.p99} | ${r.max} |`),
  ...results.broadcastCluster.map((r) => `| 3 nodes, Redis | ${r.node} | ${r.n}/${r.expected} | ${r.p50} | ${r.p99} | ${r.max} |`),
  '',
  '## ticket:view round trip (ms)',
  '',
  '| store | n | p50 | p99 | max |',
  '|---|---|---|---|---|',
  `| memory | ${results.viewMemory.n} | ${results.viewMemory.p50} | ${results.viewMemory.p99} | ${results.viewMemory.max} |`,
  `| redis | ${results.viewRedis.n} | ${results.viewRedis.p50} | ${results.viewRedis.p99} | ${results.viewRedis.max} |`,
  '',
  '## Failover, default settings (heartbeat 1 s, node_timeout 10 s), SIGKILL of a node',
  '',
  '| round | viewer removed (agent:left) | reason | call ended (call:ended) | reason |',
  '|---|---|---|---|---|',
  ...results.failover.map((f, i) => `| ${i + 1} | ${f.viewerRemovedMs} ms | ${f.reason} | ${f.callEndedMs} ms | ${f.callReason} |`),
  '',
  `## Redis outage of ${results.outage.downMs} ms (2 nodes, AOF)`,
  '',
  `- \`unavailable\` answers while down: p50 ${results.outage.unavailableAnswer.p50} ms, p99 ${results.outage.unavailableAnswer.p99} ms (${results.outage.unavailableAnswer.n} events)`,
  `- /healthz ok again after Redis started: ${results.outage.healthyAfterMs.join(' ms, ')} ms`,
  `- first broadcast crossing nodes again after Redis started: ${results.outage.broadcastsCrossAfterMs} ms`,
  '',
].join('\n');
const out = path.resolve(here, '../results');
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, `${results.date}-cluster.json`), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(path.join(out, `${results.date}-cluster.md`), md);
process.stdout.write(md);
