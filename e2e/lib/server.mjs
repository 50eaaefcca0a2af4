// Starts the real `plugboard` binary for a test and stops it again.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.PLUGBOARD_BIN ?? path.resolve(here, '../../target/debug/plugboard');
/** The embed-in-axum example: an existing app that calls handler APIs from Rust. */
export const EMBED_BIN = process.env.PLUGBOARD_EMBED_BIN ?? path.resolve(here, '../../target/debug/embed-in-axum');

/**
 * Starts plugboard with the given TOML config on a free loopback port.
 * Resolves once it logs `listening addr=...`.
 */
export async function startServer({ toml = '', env = {}, args = [], bin = BIN } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'plugboard-e2e-'));
  const config = path.join(dir, 'plugboard.toml');
  writeFileSync(config, toml);
  const proc = spawn(bin, ['--config', config, '--port', '0', ...args], {
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => {
    rmSync(dir, { recursive: true, force: true });
    resolve({ code, signal });
  }));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`plugboard did not start:\n${output}`)), 15000);
    const onData = (chunk) => {
      output += chunk;
      const m = /listening addr=[\d.]+:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`plugboard exited with ${code} before listening:\n${output}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    proc,
    exited,
    output: () => output,
    /** Sends a signal and resolves with { code, signal } when the process has exited. */
    async stop(sig = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
      return exited;
    },
    async get(p, headers = {}) {
      const res = await fetch(url + p, { headers });
      const text = await res.text();
      let json;
      try { json = JSON.parse(text); } catch { json = undefined; }
      return { status: res.status, text, json };
    },
    async post(p, body, headers = {}) {
      const res = await fetch(url + p, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let json;
      try { json = JSON.parse(text); } catch { json = undefined; }
      return { status: res.status, text, json };
    },
  };
}
