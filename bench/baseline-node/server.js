// Node socket.io 4.8 baseline for the plugboard benchmarks: the same events, written the
// straightforward way a Node team would. Usage: node server.js --port <N> [--api-key K]
// (or PORT / API_KEY env). Prints `listening addr=127.0.0.1:PORT` once ready.
'use strict';

const http = require('http');
const { Server } = require('socket.io');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const port = Number(arg('port', process.env.PORT || 0));
const host = arg('bind', '127.0.0.1');
const apiKey = arg('api-key', process.env.API_KEY || 'benchkey');

// ticketId -> Map(socketId -> { agentId, agentName })
const viewers = new Map();

function viewerList(ticketId) {
  const m = viewers.get(ticketId);
  return m ? Array.from(m.values()) : [];
}

const httpServer = http.createServer((req, res) => {
  const match = req.method === 'POST' && /^\/api\/timeline\/([^/]+)\/([^/?]+)$/.exec(req.url);
  if (!match) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"ok":false}');
    return;
  }
  if (req.headers.authorization !== `Bearer ${apiKey}`) {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end('{"ok":false}');
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (e) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"ok":false}');
      return;
    }
    const entityType = decodeURIComponent(match[1]);
    const entityId = decodeURIComponent(match[2]);
    const room = `timeline:${entityType}:${entityId}`;
    const members = io.sockets.adapter.rooms.get(room);
    const delivered = members ? members.size : 0;
    io.to(room).emit(`timeline:${body.type}`, { entityType, entityId, item: body.item });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, delivered }));
  });
});

const io = new Server(httpServer, { transports: ['websocket', 'polling'] });

io.on('connection', (socket) => {
  const userId = socket.handshake.auth && socket.handshake.auth.userId;
  if (!userId) {
    socket.disconnect(true);
    return;
  }
  const userName = socket.handshake.auth.userName || '';
  const viewing = new Set();

  socket.on('health-ping', (data, ack) => {
    const pong = Object.assign({}, data, { serverTime: Date.now() });
    socket.emit('health-pong', pong);
    if (typeof ack === 'function') ack(pong);
  });

  socket.on('ticket:view', ({ ticketId } = {}, ack) => {
    if (!ticketId) return;
    const room = `ticket:${ticketId}`;
    socket.join(room);
    viewing.add(ticketId);
    if (!viewers.has(ticketId)) viewers.set(ticketId, new Map());
    viewers.get(ticketId).set(socket.id, { agentId: userId, agentName: userName });
    const list = viewerList(ticketId);
    if (typeof ack === 'function') ack({ ok: true, viewers: list });
    io.to(room).emit('viewers:updated', { ticketId, viewers: list });
  });

  function leave(ticketId) {
    const m = viewers.get(ticketId);
    if (m) {
      m.delete(socket.id);
      if (m.size === 0) viewers.delete(ticketId);
    }
    viewing.delete(ticketId);
    io.to(`ticket:${ticketId}`).emit('viewers:updated', { ticketId, viewers: viewerList(ticketId) });
  }

  socket.on('ticket:leave', ({ ticketId } = {}, ack) => {
    if (!ticketId) return;
    socket.leave(`ticket:${ticketId}`);
    leave(ticketId);
    if (typeof ack === 'function') ack({ ok: true });
  });

  socket.on('ticket:typing', ({ ticketId } = {}) => {
    if (!ticketId) return;
    socket.to(`ticket:${ticketId}`).emit('agent:typing', { ticketId, agentId: userId, agentName: userName });
  });

  socket.on('ticket:stop_typing', ({ ticketId } = {}) => {
    if (!ticketId) return;
    socket.to(`ticket:${ticketId}`).emit('agent:stopped_typing', { ticketId, agentId: userId, agentName: userName });
  });

  socket.on('timeline:subscribe', ({ entityType, entityId } = {}, ack) => {
    const room = `timeline:${entityType}:${entityId}`;
    socket.join(room);
    const members = io.sockets.adapter.rooms.get(room);
    if (typeof ack === 'function') ack({ ok: true, room, subscribers: members ? members.size : 0 });
  });

  socket.on('timeline:unsubscribe', ({ entityType, entityId } = {}, ack) => {
    socket.leave(`timeline:${entityType}:${entityId}`);
    if (typeof ack === 'function') ack({ ok: true });
  });

  socket.on('disconnect', () => {
    for (const ticketId of Array.from(viewing)) leave(ticketId);
  });
});

httpServer.listen(port, host, () => {
  const a = httpServer.address();
  console.log(`listening addr=${a.address}:${a.port}`);
});

function shutdown() {
  io.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
