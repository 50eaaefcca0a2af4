// The Redis the cluster tests use: PLUGBOARD_TEST_REDIS_URL, else the server on
// 127.0.0.1:6379 if it answers, else a redis-server started on a free port. Under CI=true a
// missing Redis fails the tests instead of skipping them. Fault tests start a dedicated
// redis-server of their own (with an append-only file), so they can kill and restart it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Resolves true when a Redis answers PING at host:port. */
export function ping(port, host = '127.0.0.1', ms = 500) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (ok) => { clearTimeout(timer); s.destroy(); resolve(ok); };
    const timer = setTimeout(() => done(false), ms);
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/** A free loopback TCP port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const installed = () => spawnSync('redis-server', ['--version']).status === 0;

/**
 * Starts a redis-server of the test's own on a free port (or `port`). With `aof`, every
 * write is fsynced to an append-only file, so a restart keeps every committed write.
 */
export async function startRedis({ port, aof = false } = {}) {
  if (!installed()) throw new Error('redis-server is not installed');
  port ??= await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'plugboard-redis-'));
  let proc;
  const launch = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
    args.push(...(aof ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
    proc = spawn('redis-server', args, { stdio: 'ignore' });
    for (let i = 0; i < 100; i += 1) {
      if (await ping(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not start on ${port}`);
  };
  const kill = () => new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    /** Kills it hard (SIGKILL, like a crash). */
    kill,
    /** Starts it again on the same port and data directory. */
    start: launch,
    async stop() { await kill(); rmSync(dir, { recursive: true, force: true }); },
  };
}

let shared;
/** The shared test Redis URL (see the file comment). */
export async function testRedisUrl() {
  if (process.env.PLUGBOARD_TEST_REDIS_URL) return process.env.PLUGBOARD_TEST_REDIS_URL;
  if (await ping(6379)) return 'redis://127.0.0.1:6379';
  if (installed()) {
    shared ??= await startRedis();
    return shared.url;
  }
  if (process.env.CI === 'true') throw new Error('CI=true and no Redis for the cluster tests');
  return undefined;
}

/** Stops the redis-server testRedisUrl() may have started. */
export async function stopSharedRedis() {
  if (shared) await shared.stop();
  shared = undefined;
}
