'use strict';
// Reference peer for parley-bench: Parley's 1:1 chat flow built the way many
// teams build it today -- Node.js, Socket.IO 4 for the realtime path and
// PostgreSQL as the system of record. A message is acknowledged only after
// the transaction that stores it has committed (fsync=on,
// synchronous_commit=on in run.sh), then fanned out to the conversation's
// Socket.IO room. See README.md for the protocol mapping and the differences
// from parleyd.
//
// Environment: DATABASE_URL (required), HOST (127.0.0.1), PORT (3000; 0 picks
// a free port), PG_POOL_MAX (10), DEMO_EMAIL (admin@demo.parley),
// DEMO_PASSWORD (required), WIDGET_KEY (random wk_... when unset),
// TOKEN_SECRET (random per start when unset).

const http = require('node:http');
const crypto = require('node:crypto');
const { Server } = require('socket.io');
const { Pool } = require('pg');

const HOST = process.env.HOST || '127.0.0.1';
const PORT = Number(process.env.PORT || 3000);
const DEMO_EMAIL = process.env.DEMO_EMAIL || 'admin@demo.parley';
const DEMO_PASSWORD = process.env.DEMO_PASSWORD;
const WIDGET_KEY = process.env.WIDGET_KEY || `wk_peer_${crypto.randomBytes(12).toString('hex')}`;
const TOKEN_SECRET = process.env.TOKEN_SECRET || crypto.randomBytes(32).toString('hex');
const ACCESS_TTL_S = 15 * 60;
const VISITOR_TTL_S = 30 * 24 * 3600;
const MAX_TEXT_BYTES = 8000;
const MAX_BODY_BYTES = 64 * 1024;
const REPLAY_LIMIT = 1000;

if (!process.env.DATABASE_URL || !DEMO_PASSWORD) {
  console.error('peer: DATABASE_URL and DEMO_PASSWORD are required');
  process.exit(2);
}

const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.PG_POOL_MAX || 10),
  idleTimeoutMillis: 30000,
  connectionTimeoutMillis: 5000,
});
pool.on('error', (err) => console.error('peer: idle pg client error:', err.message));

// ---------------------------------------------------------------- tokens
// Stateless HS256 JWTs (what `jsonwebtoken` would produce), signed with
// node:crypto to keep the dependency list to socket.io and pg.

const b64url = (buf) => Buffer.from(buf).toString('base64url');

function signToken(claims, ttlS) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ ...claims, iat: now, exp: now + ttlS }));
  const sig = crypto.createHmac('sha256', TOKEN_SECRET).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

function verifyToken(token, aud) {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const want = crypto.createHmac('sha256', TOKEN_SECRET).update(`${parts[0]}.${parts[1]}`).digest();
  const got = Buffer.from(parts[2], 'base64url');
  if (got.length !== want.length || !crypto.timingSafeEqual(got, want)) return null;
  let claims;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!claims || claims.aud !== aud || !(claims.exp > Date.now() / 1000)) return null;
  return claims;
}

function hashPassword(pw) {
  const salt = crypto.randomBytes(16);
  const key = crypto.scryptSync(pw, salt, 32);
  return `scrypt$${salt.toString('hex')}$${key.toString('hex')}`;
}

function checkPassword(pw, stored) {
  const [alg, saltHex, keyHex] = String(stored).split('$');
  if (alg !== 'scrypt' || !saltHex || !keyHex) return Promise.resolve(false);
  return new Promise((resolve) => {
    crypto.scrypt(pw, Buffer.from(saltHex, 'hex'), 32, (err, key) => {
      resolve(!err && crypto.timingSafeEqual(key, Buffer.from(keyHex, 'hex')));
    });
  });
}

// ------------------------------------------------------------ JSON shapes

const iso = (d) => new Date(d).toISOString();

function visitorJson(v) {
  return { id: v.id, name: v.name, email: v.email, created_at: iso(v.created_at) };
}

function conversationJson(c, visitor) {
  return {
    id: c.id,
    tenant_id: c.tenant_id,
    status: c.status,
    priority: 'normal',
    visitor: { id: visitor.id, name: visitor.name, email: visitor.email },
    assignee: null,
    last_seq: c.last_seq,
    last_message: null,
    created_at: iso(c.created_at),
    created_at_ms: new Date(c.created_at).getTime(),
    updated_at: iso(c.updated_at),
    updated_at_ms: new Date(c.updated_at).getTime(),
  };
}

// Same shape as parleyd's `event` frame (docs/realtime.md), minus "type".
function eventJson(row, sender) {
  const at = new Date(row.created_at);
  return {
    conversation_id: row.conversation_id,
    seq: row.seq,
    kind: row.kind,
    client_id: row.client_id,
    text: row.text,
    private: row.private,
    sender,
    created_at: at.toISOString(),
    created_at_ms: at.getTime(),
  };
}

// ------------------------------------------------------------- storage

class AppError extends Error {
  constructor(status, code, message, field) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

// Stores one message: the per-conversation seq is bumped and the row
// inserted in one transaction; a repeated client_id stores nothing and
// returns the original seq. Resolves only after COMMIT returned.
async function appendMessage({ tenantId, conversationId, visitorId, sender, clientId, text }) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const bumped = await client.query(
      `UPDATE conversations SET last_seq = last_seq + 1, updated_at = now()
        WHERE id = $1 AND tenant_id = $2 AND ($3::uuid IS NULL OR visitor_id = $3)
        RETURNING last_seq`,
      [conversationId, tenantId, visitorId]);
    if (bumped.rowCount === 0) {
      await client.query('ROLLBACK');
      throw new AppError(404, 'not_found', 'conversation not found');
    }
    const seq = bumped.rows[0].last_seq;
    const ins = await client.query(
      `INSERT INTO messages (conversation_id, seq, client_id, sender_type, sender_id, text)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (conversation_id, client_id) DO NOTHING
       RETURNING conversation_id, seq, client_id, kind, text, private, created_at`,
      [conversationId, seq, clientId, sender.type, sender.id, text]);
    if (ins.rowCount === 0) {
      // Already stored: undo the seq bump, answer with the original seq.
      await client.query('ROLLBACK');
      const orig = await client.query(
        'SELECT seq FROM messages WHERE conversation_id = $1 AND client_id = $2',
        [conversationId, clientId]);
      return { seq: orig.rows[0].seq, duplicate: true };
    }
    await client.query('COMMIT');
    return { seq, duplicate: false, event: eventJson(ins.rows[0], sender) };
  } catch (err) {
    if (!(err instanceof AppError)) await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

function byteLength(s) {
  return Buffer.byteLength(s, 'utf8');
}

function checkSendBody(body) {
  if (!body || typeof body !== 'object') throw new AppError(400, 'invalid_frame', 'object expected');
  const { conversation_id: cid, client_id: clientId, text } = body;
  if (typeof cid !== 'string' || !cid) throw new AppError(400, 'invalid_field', 'conversation_id', 'conversation_id');
  if (typeof clientId !== 'string' || clientId.length === 0 || byteLength(clientId) > 64)
    throw new AppError(400, 'invalid_field', 'client_id: 1-64 bytes', 'client_id');
  if (typeof text !== 'string' || text.length === 0 || byteLength(text) > MAX_TEXT_BYTES)
    throw new AppError(400, 'invalid_field', `text: 1-${MAX_TEXT_BYTES} bytes`, 'text');
  if (body.private === true) throw new AppError(400, 'invalid_field', 'private notes are not implemented by this peer', 'private');
  return { conversationId: cid, clientId, text };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// --------------------------------------------------------------- HTTP API

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new AppError(413, 'too_large', 'body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size === 0) return resolve({});
      try {
        const v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
        resolve(v);
      } catch {
        reject(new AppError(400, 'invalid_json', 'body is not a JSON object'));
      }
    });
    req.on('error', reject);
  });
}

function send(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function bearer(req, aud) {
  const h = req.headers.authorization || '';
  const m = /^Bearer (.+)$/.exec(h);
  const claims = m && verifyToken(m[1], aud);
  if (!claims) throw new AppError(401, 'unauthenticated', 'missing or invalid bearer token');
  return claims;
}

async function login(body) {
  const { email, password } = body;
  if (typeof email !== 'string' || typeof password !== 'string')
    throw new AppError(400, 'invalid_field', 'email and password are required');
  const { rows } = await pool.query(
    'SELECT id, tenant_id, email, name, role, password_hash FROM users WHERE email = $1', [email]);
  const user = rows[0];
  if (!user || !(await checkPassword(password, user.password_hash)))
    throw new AppError(401, 'invalid_credentials', 'wrong email or password');
  const access = signToken({ aud: 'agent', sub: user.id, tid: user.tenant_id, name: user.name }, ACCESS_TTL_S);
  return [200, {
    access_token: access,
    token_type: 'Bearer',
    expires_in: ACCESS_TTL_S,
    user: { id: user.id, tenant_id: user.tenant_id, email: user.email, name: user.name, role: user.role },
  }];
}

async function widgetSession(body) {
  if (typeof body.widget_key !== 'string') throw new AppError(400, 'invalid_field', 'widget_key', 'widget_key');
  const t = await pool.query('SELECT id, name FROM tenants WHERE widget_key = $1', [body.widget_key]);
  if (t.rowCount === 0) throw new AppError(404, 'not_found', 'unknown widget key');
  const tenant = t.rows[0];
  const name = typeof body.name === 'string' ? body.name.slice(0, 200) : null;
  const email = typeof body.email === 'string' ? body.email.slice(0, 200) : null;
  const prev = verifyToken(body.visitor_token, 'visitor');
  if (prev && prev.tid === tenant.id) {
    const { rows } = await pool.query('SELECT * FROM visitors WHERE id = $1', [prev.sub]);
    if (rows[0] && (name === null || name === rows[0].name) && (email === null || email === rows[0].email))
      return [200, { visitor_token: body.visitor_token, visitor: visitorJson(rows[0]), tenant }];
  }
  const { rows } = await pool.query(
    'INSERT INTO visitors (tenant_id, name, email) VALUES ($1, $2, $3) RETURNING *', [tenant.id, name, email]);
  const v = rows[0];
  const token = signToken({ aud: 'visitor', sub: v.id, tid: tenant.id, name: v.name }, VISITOR_TTL_S);
  return [201, { visitor_token: token, visitor: visitorJson(v), tenant }];
}

async function createConversation(claims, body) {
  const { rows } = await pool.query(
    'INSERT INTO conversations (tenant_id, visitor_id) VALUES ($1, $2) RETURNING *', [claims.tid, claims.sub]);
  let conv = rows[0];
  if (typeof body.text === 'string' && body.text.length > 0) {
    const sender = { type: 'visitor', id: claims.sub, name: claims.name };
    const clientId = typeof body.client_id === 'string' ? body.client_id : crypto.randomUUID();
    const r = await appendMessage({ tenantId: claims.tid, conversationId: conv.id, visitorId: claims.sub,
                                    sender, clientId, text: body.text });
    conv = { ...conv, last_seq: r.seq };
  }
  const v = await pool.query('SELECT * FROM visitors WHERE id = $1', [claims.sub]);
  return [201, conversationJson(conv, v.rows[0])];
}

const routes = {
  'POST /v1/auth/login': (req, body) => login(body),
  'POST /v1/widget/session': (req, body) => widgetSession(body),
  'POST /v1/widget/conversations': (req, body) => createConversation(bearer(req, 'visitor'), body),
};

async function handleHttp(req, res) {
  const path = req.url.split('?')[0];
  if (req.method === 'GET' && path === '/healthz') return send(res, 200, { status: 'ok' });
  const route = routes[`${req.method} ${path}`];
  try {
    if (!route) throw new AppError(404, 'not_found', 'no such endpoint');
    const body = await readJson(req);
    const [status, obj] = await route(req, body);
    send(res, status, obj);
  } catch (err) {
    if (!(err instanceof AppError)) console.error('peer: http', req.method, path, err);
    const e = err instanceof AppError ? err : new AppError(500, 'internal', 'internal error');
    send(res, e.status, { error: { code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) } });
  }
}

// --------------------------------------------------------------- Socket.IO

const httpServer = http.createServer((req, res) => {
  handleHttp(req, res);
});
httpServer.keepAliveTimeout = 65000;

const io = new Server(httpServer, { serveClient: false });

// Authenticate once, in the Socket.IO handshake (auth: {token}); agents and
// visitors share the namespace, the token's audience tells them apart.
io.use((socket, next) => {
  const token = socket.handshake.auth && socket.handshake.auth.token;
  const claims = verifyToken(token, 'agent') || verifyToken(token, 'visitor');
  if (!claims) return next(new Error('unauthenticated'));
  socket.data.principal = {
    type: claims.aud,
    id: claims.sub,
    tenantId: claims.tid,
    name: claims.name || null,
  };
  next();
});

const room = (conversationId) => `conv:${conversationId}`;

function replyError(ack, err) {
  if (!(err instanceof AppError)) console.error('peer: socket handler:', err);
  const e = err instanceof AppError ? err : new AppError(500, 'internal', 'internal error');
  if (typeof ack === 'function')
    ack({ error: { code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) } });
}

io.on('connection', (socket) => {
  const me = socket.data.principal;

  // subscribe {conversation_id, after_seq}: replay stored events with a
  // greater seq (at most REPLAY_LIMIT; "more" asks the client to come back),
  // then live events through the room.
  socket.on('subscribe', async (body, ack) => {
    try {
      const cid = body && body.conversation_id;
      const after = Number.isInteger(body && body.after_seq) ? body.after_seq : 0;
      if (typeof cid !== 'string' || !UUID_RE.test(cid)) throw new AppError(404, 'not_found', 'conversation not found');
      const conv = await pool.query(
        `SELECT last_seq FROM conversations
          WHERE id = $1 AND tenant_id = $2 AND ($3::uuid IS NULL OR visitor_id = $3)`,
        [cid, me.tenantId, me.type === 'visitor' ? me.id : null]);
      if (conv.rowCount === 0) throw new AppError(404, 'not_found', 'conversation not found');
      // Join before reading the backlog, so that nothing committed meanwhile
      // is missed; such a message may then arrive twice or before older
      // replayed ones, and clients de-duplicate / order by seq.
      socket.join(room(cid));
      let more = false;
      let lastSeq = after;
      if (conv.rows[0].last_seq > after) {
        const { rows } = await pool.query(
          `SELECT m.conversation_id, m.seq, m.client_id, m.kind, m.text, m.private, m.created_at,
                  m.sender_type, m.sender_id
             FROM messages m WHERE m.conversation_id = $1 AND m.seq > $2
            ORDER BY m.seq LIMIT $3`,
          [cid, after, REPLAY_LIMIT + 1]);
        more = rows.length > REPLAY_LIMIT;
        for (const r of rows.slice(0, REPLAY_LIMIT)) {
          socket.emit('event', eventJson(r, { type: r.sender_type, id: r.sender_id }));
          lastSeq = r.seq;
        }
      }
      if (more) socket.leave(room(cid));	// the client asks again from lastSeq
      if (typeof ack === 'function') ack({ last_seq: lastSeq, more });
    } catch (err) {
      replyError(ack, err);
    }
  });

  socket.on('unsubscribe', (body, ack) => {
    if (body && typeof body.conversation_id === 'string') socket.leave(room(body.conversation_id));
    if (typeof ack === 'function') ack({});
  });

  // send {conversation_id, client_id, text}: ack {seq, duplicate} after
  // COMMIT, then the event to everyone in the conversation's room.
  socket.on('send', async (body, ack) => {
    try {
      const { conversationId, clientId, text } = checkSendBody(body);
      if (!UUID_RE.test(conversationId)) throw new AppError(404, 'not_found', 'conversation not found');
      const sender = { type: me.type, id: me.id, name: me.name };
      const r = await appendMessage({
        tenantId: me.tenantId,
        conversationId,
        visitorId: me.type === 'visitor' ? me.id : null,
        sender,
        clientId,
        text,
      });
      if (typeof ack === 'function') ack({ seq: r.seq, duplicate: r.duplicate });
      if (r.event) io.to(room(conversationId)).emit('event', r.event);
    } catch (err) {
      replyError(ack, err);
    }
  });

  socket.on('typing', (body) => {
    if (body && typeof body.conversation_id === 'string' && socket.rooms.has(room(body.conversation_id)))
      socket.to(room(body.conversation_id)).emit('typing', {
        conversation_id: body.conversation_id,
        sender: { type: me.type, id: me.id },
        state: body.state === true,
      });
  });
});

// ------------------------------------------------------------ start / stop

async function seedDemo() {
  // Idempotent: the demo tenant, its widget key and the demo agent login.
  const t = await pool.query(
    `INSERT INTO tenants (slug, name, widget_key) VALUES ('demo', 'Demo', $1)
     ON CONFLICT (slug) DO UPDATE SET widget_key = EXCLUDED.widget_key RETURNING id`, [WIDGET_KEY]);
  await pool.query(
    `INSERT INTO users (tenant_id, email, name, role, password_hash) VALUES ($1, $2, 'Demo Admin', 'admin', $3)
     ON CONFLICT (tenant_id, email) DO UPDATE SET password_hash = EXCLUDED.password_hash`,
    [t.rows[0].id, DEMO_EMAIL, hashPassword(DEMO_PASSWORD)]);
}

let stopping = false;
function shutdown(sig) {
  if (stopping) return;
  stopping = true;
  console.log(`peer: ${sig}, stopping`);
  const hard = setTimeout(() => process.exit(1), 10000);
  hard.unref();
  io.close(() => {
    pool.end().finally(() => process.exit(0));
  });
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

(async () => {
  try {
    await seedDemo();
  } catch (err) {
    console.error('peer: cannot seed the database:', err.message);
    process.exit(1);
  }
  httpServer.listen(PORT, HOST, () => {
    const { port } = httpServer.address();
    console.log(`peer: demo widget key: ${WIDGET_KEY}`);
    console.log(`peer: demo admin login: ${DEMO_EMAIL} / ${DEMO_PASSWORD}`);
    console.log(`peer: pg pool max ${pool.options.max}, pid ${process.pid}`);
    console.log(`peer listening on http://${HOST}:${port}`);
  });
})();
