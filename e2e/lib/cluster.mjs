// Several real `plugboard` processes forming one cluster on one Redis.
import { randomBytes } from 'node:crypto';
import { startServer } from './server.mjs';

/** Short heartbeats so node-failure tests finish quickly; the bound is node_timeout_ms. */
export const HEARTBEAT_MS = 200;
export const NODE_TIMEOUT_MS = 2000;

/**
 * Starts `nodes` plugboard processes with `store = "redis"` on `redisUrl`, one fresh cluster
 * name, and `toml` appended (handler sections, sessions policy, ...).
 */
export async function startCluster({ redisUrl, nodes = 3, toml = '', env = {} }) {
  const name = `e2e-${randomBytes(6).toString('hex')}`;
  const config = (i) => `store = "redis"
redis_url = "${redisUrl}"
[cluster]
name = "${name}"
node_id = "node-${i + 1}"
heartbeat_ms = ${HEARTBEAT_MS}
node_timeout_ms = ${NODE_TIMEOUT_MS}
redis_timeout_ms = 500
${toml}`;
  const servers = await Promise.all(
    Array.from({ length: nodes }, (_, i) => startServer({ toml: config(i), env })),
  );
  return {
    name,
    nodes: servers,
    async stop() { await Promise.all(servers.map((s) => s.stop())); },
  };
}
