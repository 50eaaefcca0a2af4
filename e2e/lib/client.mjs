// Thin helpers around the real socket.io-client.
import { io } from 'socket.io-client';

export const WAIT_MS = 5000;

/** Connects and resolves with the socket, or rejects with the connect_error. */
export function connect(url, auth, opts = {}) {
  const socket = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true, ...opts });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connect timed out')), WAIT_MS);
    socket.once('connect', () => { clearTimeout(timer); resolve(socket); });
    socket.once('connect_error', (err) => { clearTimeout(timer); socket.close(); reject(err); });
  });
}

/** Dev-mode auth for a user. */
export const dev = (userId, userName = userId, roles = []) => ({ userId, userName, roles });

/** Resolves with the next `event` payload, or rejects after `ms`. */
export function once(socket, event, ms = WAIT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { socket.off(event, on); reject(new Error(`no ${event} within ${ms} ms`)); }, ms);
    const on = (payload) => { clearTimeout(timer); resolve(payload); };
    socket.once(event, on);
  });
}

/** Resolves true if `event` does not arrive within `ms`. */
export function none(socket, event, ms = 300) {
  return new Promise((resolve) => {
    const on = () => { clearTimeout(timer); resolve(false); };
    const timer = setTimeout(() => { socket.off(event, on); resolve(true); }, ms);
    socket.once(event, on);
  });
}

/** Emits with an ack and resolves with the ack payload. */
export function ack(socket, event, payload, ms = WAIT_MS) {
  return socket.timeout(ms).emitWithAck(event, payload);
}

/** Collects every `event` payload into an array (for "exactly these" assertions). */
export function collect(socket, event) {
  const seen = [];
  socket.on(event, (p) => seen.push(p));
  return seen;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
