// Parley agent console (vanilla ES module, no build step).
//
// Protocol: docs/api-outline.md (REST) and docs/realtime.md (WebSocket).
// User-provided text is only ever inserted with textContent.
// Pages: #inbox (conversations), #team (team.js), #settings (settings.js),
// #apikeys (apikeys.js), #webhooks (webhooks.js), #departments (departments.js), #audit (audit.js),
// #search (search.js), #profile (profile.js); one page shows at a time
// over one WebSocket.

import { createTeamPage } from "./team.js";
import { createDesk } from "./desk.js";
import { createSettingsPage } from "./settings.js";
import { createEmailSettings } from "./email.js";
import { createApiKeysPage } from "./apikeys.js";
import { createProfilePage } from "./profile.js";
import { createWebhooksPage } from "./webhooks.js";
import { createDepartmentsPage } from "./departments.js";
import { createToolsPage } from "./tools.js";
import { createConvTools } from "./convtools.js";
import { createPicklists } from "./picklists.js";
import { createAuditPage } from "./audit.js";
import { createAnalyticsPage } from "./analytics.js";
import { createConversationCare } from "./care.js";
import { createVisitorsPage } from "./visitors.js";
import { createSearchPage } from "./search.js";
import { canEditSettings, canManageApiKeys } from "./roles.js";
import { createConversationControls } from "./lifecycle.js";

const AUTH_KEY = "parley.agent.auth";
const CURSOR_KEY = "parley.agent.inbox_cursor";
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5000;
const TYPING_SEND_EVERY_MS = 2500;
const TYPING_IDLE_MS = 3000;
const TYPING_SHOW_MS = 6000;
const PING_EVERY_MS = 25000;
const PING_TIMEOUT_MS = 10000;

const $ = (id) => document.getElementById(id);
const ui = {
  loginView: $("login-view"), loginForm: $("login-form"), loginEmail: $("login-email"),
  loginPassword: $("login-password"), loginTenant: $("login-tenant"), loginSubmit: $("login-submit"),
  loginError: $("login-error"),
  appView: $("app-view"), conn: $("connection-status"), me: $("me"), logout: $("logout-button"),
  appError: $("app-error"), filter: $("filter"), list: $("conversation-list"), listEmpty: $("list-empty"),
  pane: $("conversation"), noPane: $("no-conversation"), visitor: $("conv-visitor"), assignee: $("conv-assignee"),
  status: $("conversation-status"), take: $("take-button"), resolve: $("resolve-button"), reopen: $("reopen-button"),
  messages: $("messages"), typing: $("typing"), replyForm: $("reply-form"), replyInput: $("reply-input"),
  noteToggle: $("note-toggle"), replySend: $("reply-send"), attachButton: $("attach-button"),
  attachInput: $("attach-input"),
  tenantName: $("tenant-name"), navLinks: document.querySelectorAll("[data-page]"),
  pages: { inbox: $("inbox-view"), team: $("team-view"), settings: $("settings-view"), apikeys: $("apikeys-view"),
    webhooks: $("webhooks-view"), departments: $("departments-view"), audit: $("audit-view"), profile: $("profile-view"),
    tools: $("tools-view"), visitors: $("visitors-view"),
    search: $("search-view"), analytics: $("analytics-view") },
};

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  if (attrs) for (const [k, v] of Object.entries(attrs)) if (v != null) e.setAttribute(k, String(v));
  if (text != null) e.textContent = String(text);
  return e;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function backoffDelay(attempt) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
  return Math.round(base / 2 + (Math.random() * base) / 2);
}
function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

let errorTimer = 0;
function showError(msg, sticky) {
  clearTimeout(errorTimer);
  if (!msg) { ui.appError.hidden = true; ui.appError.textContent = ""; return; }
  ui.appError.textContent = msg;
  ui.appError.hidden = false;
  if (!sticky) errorTimer = setTimeout(() => showError(""), 8000);
}

// ------------------------------------------------------------------ auth

class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error && body.error.code;
    this.field = body && body.error && body.error.field;
    this.retryAfter = retryAfter;
  }
}

let auth = loadAuth(); // {access_token, refresh_token, expires_at, user}
let refreshing = null;
let refreshTimer = 0;
let passwordChange = null;

function loadAuth() {
  try {
    const a = JSON.parse(sessionStorage.getItem(AUTH_KEY) || "null");
    return a && a.access_token && a.refresh_token ? a : null;
  } catch { return null; }
}
function saveAuth(a) {
  auth = a;
  if (a) sessionStorage.setItem(AUTH_KEY, JSON.stringify(a));
  else sessionStorage.removeItem(AUTH_KEY);
  scheduleRefresh();
}
function tokensFrom(res, prevUser) {
  const lifetime = Math.max(1, Number(res.expires_in) || 900) * 1000;
  return {
    access_token: res.access_token,
    refresh_token: res.refresh_token,
    issued_at: Date.now(),
    expires_at: Date.now() + lifetime,
    user: res.user || prevUser || null,
  };
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!auth) return;
  const lifetime = Math.max(1000, auth.expires_at - (auth.issued_at || Date.now()));
  const margin = Math.min(60000, lifetime * 0.2); // refresh before expiry
  const due = Math.max(1000, auth.expires_at - margin - Date.now());
  refreshTimer = setTimeout(() => refreshTokens().catch(() => {}), due);
}

async function rawFetch(method, path, body, token) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const txt = await res.text();
  let data = null;
  if (txt) { try { data = JSON.parse(txt); } catch { data = null; } }
  if (!res.ok) throw new ApiError(res.status, data, Number(res.headers.get("Retry-After")) || 0);
  return data;
}

// Single-flight: a refresh token is spent by use, so never present one twice.
function refreshTokens() {
  if (refreshing) return refreshing;
  // A password change in flight brings its own new tokens (and ends this
  // session's old ones): wait for it instead of spending a revoked token.
  if (passwordChange) return passwordChange.then(() => auth, () => auth);
  if (!auth) return Promise.reject(new ApiError(401, { error: { code: "unauthenticated", message: "signed out" } }));
  const used = auth.refresh_token;
  refreshing = (async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await rawFetch("POST", "/v1/auth/refresh", { refresh_token: used });
        if (!auth || auth.refresh_token !== used) throw new ApiError(401, { error: { code: "unauthenticated", message: "signed out" } });
        saveAuth(tokensFrom(res, auth.user));
        return auth;
      } catch (err) {
        if (err.status === 401 || err.status === 400 || err.status === 403) {
          signedOut("Your session has expired. Please sign in again.");
          throw err;
        }
        if (attempt >= 5) throw err; // network trouble: give up for now, the next call tries again
        await sleep(err.retryAfter ? err.retryAfter * 1000 : backoffDelay(attempt + 2));
      }
    }
  })().finally(() => { refreshing = null; });
  return refreshing;
}

async function freshToken() {
  if (!auth) throw new ApiError(401, { error: { code: "unauthenticated", message: "signed out" } });
  const lifetime = Math.max(1000, auth.expires_at - (auth.issued_at || 0));
  if (auth.expires_at - Date.now() < Math.min(15000, lifetime * 0.1)) await refreshTokens();
  return auth.access_token;
}

// Authenticated REST call: refreshes before expiry and once more on a 401.
async function api(method, path, body) {
  const token = await freshToken();
  try {
    return await rawFetch(method, path, body, token);
  } catch (err) {
    if (err.status !== 401 || !auth) throw err;
    if (auth.access_token === token) await refreshTokens();
    return rawFetch(method, path, body, auth.access_token);
  }
}

// ------------------------------------------------------------------ login / logout

ui.loginForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  ui.loginError.hidden = true;
  const email = ui.loginEmail.value.trim();
  const password = ui.loginPassword.value;
  const tenant = ui.loginTenant.value.trim();
  if (!email || !password) {
    ui.loginError.textContent = "Enter your email and password.";
    ui.loginError.hidden = false;
    return;
  }
  const body = { email, password };
  if (tenant) body.tenant = tenant;
  ui.loginSubmit.disabled = true;
  try {
    const res = await rawFetch("POST", "/v1/auth/login", body);
    saveAuth(tokensFrom(res));
    ui.loginPassword.value = "";
    startApp();
  } catch (err) {
    let msg;
    if (err.code === "invalid_credentials" || err.status === 401) msg = "Wrong email or password.";
    else if (err.status === 429) msg = `Too many attempts. Try again${err.retryAfter ? ` in ${err.retryAfter} s` : " later"}.`;
    else if (!err.status) msg = "Cannot reach the server.";
    else msg = err.message;
    ui.loginError.textContent = msg;
    ui.loginError.hidden = false;
  } finally {
    ui.loginSubmit.disabled = false;
  }
});

ui.logout.addEventListener("click", async () => {
  const a = auth;
  ui.logout.disabled = true;
  try {
    if (a) await rawFetch("POST", "/v1/auth/logout", { refresh_token: a.refresh_token }, a.access_token);
  } catch { /* the tokens are dropped locally anyway */ }
  ui.logout.disabled = false;
  signedOut("");
});

function signedOut(message) {
  saveAuth(null);
  sessionStorage.removeItem(CURSOR_KEY);
  stopApp();
  showLogin(message);
}

function showLogin(message) {
  const q = new URLSearchParams(location.search); // from the set-password page
  if (q.get("email") && !ui.loginEmail.value) ui.loginEmail.value = q.get("email");
  if (q.get("tenant") && !ui.loginTenant.value) ui.loginTenant.value = q.get("tenant");
  ui.appView.hidden = true;
  ui.loginView.hidden = false;
  document.title = "Parley — sign in";
  if (message) { ui.loginError.textContent = message; ui.loginError.hidden = false; }
  else ui.loginError.hidden = true;
  (ui.loginEmail.value ? ui.loginPassword : ui.loginEmail).focus();
}

// ------------------------------------------------------------------ app state

const S = {
  running: false,
  convs: new Map(), // id -> conversation (REST shape)
  items: new Map(), // id -> <li>
  inboxCursor: Number(sessionStorage.getItem(CURSOR_KEY)) || 0,
  inboxLive: false,
  listLoaded: false,
  current: null, // open conversation id
  threads: new Map(), // id -> {events: Map seq->event, lastSeq, pending: Map client_id->p, visitorReadSeq, nodes: Map seq->el}
  ws: null,
  wsState: "offline", // offline | connecting | authed | live
  attempt: 0,
  reconnectTimer: 0,
  frameId: 0,
  inflight: new Map(),
  pingTimer: 0,
  subscribed: null, // conversation id subscribed on the current socket
  typingOn: false, typingLastSent: 0, typingIdleTimer: 0, visitorTypingTimer: 0,
  page: null, // inbox | team | settings | apikeys | webhooks | profile
  tenant: null, // GET /v1/tenant
  sessions: 0, // WebSocket sessions authenticated since the page loaded
};

function thread(id) {
  let t = S.threads.get(id);
  if (!t) {
    t = { events: new Map(), lastSeq: 0, pending: new Map(), visitorReadSeq: 0, readSent: 0, deliveredSent: 0 };
    S.threads.set(id, t);
  }
  return t;
}

function startApp() {
  if (!auth) { showLogin(""); return; }
  S.running = true;
  ui.loginView.hidden = true;
  ui.appView.hidden = false;
  document.title = "Parley — agent console";
  renderMe();
  route();
  scheduleRefresh();
  api("GET", "/v1/auth/me").then((res) => {
    // docs/api-outline.md says {user}; parleyd answers with the bare user object.
    const user = res && (res.user || (res.id ? res : null));
    if (user && auth) setUser(user);
  }).catch((err) => { if (err.status === 401) signedOut("Please sign in again."); });
  loadTenant();
  desk.start();
  connect();
}

function stopApp() {
  S.running = false;
  desk.stop();
  clearTimeout(S.reconnectTimer);
  clearInterval(S.pingTimer);
  if (S.ws) { const ws = S.ws; S.ws = null; try { ws.close(1000); } catch { /* ignore */ } }
  S.inflight.clear();
  S.convs.clear();
  S.items.clear();
  S.threads.clear();
  S.current = null;
  S.inboxCursor = 0;
  S.inboxLive = false;
  S.listLoaded = false;
  S.subscribed = null;
  ui.list.replaceChildren();
  ui.messages.replaceChildren();
  ui.pane.hidden = true;
  ui.noPane.hidden = false;
  S.tenant = null;
  S.page = null;
  ui.tenantName.textContent = "";
  team.reset();
  settings.reset();
  apikeys.reset();
  webhooks.reset();
  departments.reset();
  tools.reset();
  convTools.reset();
  picks.reset();
  audit.reset();
  visitors.reset();
  search.reset();
  analytics.reset();
  setConn("offline");
}

function renderMe() {
  const u = auth && auth.user;
  ui.me.textContent = u ? `${u.name || u.email}${u.role ? ` (${u.role})` : ""}` : "";
  document.body.dataset.role = (u && u.role) || "";
  const settingsNav = document.querySelector("[data-testid=nav-settings]");
  settingsNav.hidden = !canEditSettings(u && u.role);
  document.querySelector("[data-testid=nav-apikeys]").hidden = !canManageApiKeys(u && u.role);
  document.querySelector("[data-testid=nav-webhooks]").hidden = !canEditSettings(u && u.role);
  document.querySelector("[data-testid=nav-departments]").hidden = !canEditSettings(u && u.role);
  document.querySelector("[data-testid=nav-audit]").hidden = !canEditSettings(u && u.role);
}

// ------------------------------------------------------------------ pages

const ctx = {
  api, el, showError,
  canEditSettings: () => canEditSettings(auth && auth.user && auth.user.role),
  user: () => auth && auth.user,
  setUser,
  tenant: () => S.tenant,
  loadTenant,
  tenantChanged: (t) => setTenant(t, false),
  changePassword,
  open: (id) => openConversation(id),
  // a search result opens its conversation in the inbox
  openConversation: (id) => { location.hash = "#inbox"; openConversation(id); },
};
const team = createTeamPage(ctx);
const desk = createDesk(ctx);
const settings = createSettingsPage(ctx);
const apikeys = createApiKeysPage(ctx);
const profile = createProfilePage(ctx);
const webhooks = createWebhooksPage(ctx);
const email = createEmailSettings(ctx);
const controls = createConversationControls({
  api, showError, current: () => S.convs.get(S.current), upsert: (c) => upsertConversation(c),
});
const departments = createDepartmentsPage(ctx);
const audit = createAuditPage(ctx);
const search = createSearchPage(ctx);
const tools = createToolsPage(ctx);
// the conversation pane's tag editor, the mentions badge, the composer's pick lists
const convTools = createConvTools({ api, el, showError, upsert: (c) => upsertConversation(c), currentId: () => S.current,
  open: (id) => { location.hash = "#inbox"; openConversation(id); } });
const picks = createPicklists({ input: ui.replyInput, anchor: ui.replyForm, api, el, user: () => auth && auth.user,
  isNote: () => ui.noteToggle.checked,
  vars: () => {
    const c = S.convs.get(S.current) || {};
    return { "visitor.name": (c.visitor && c.visitor.name) || "", "visitor.email": (c.visitor && c.visitor.email) || "",
      "agent.name": (auth && auth.user && auth.user.name) || "", "conversation.id": S.current || "" };
  } });
const analytics = createAnalyticsPage(ctx);
const care = createConversationCare({ ...ctx, current: () => S.convs.get(S.current), fetchAuthed });
const visitors = createVisitorsPage(ctx);
// the settings page holds the tenant's settings and, below, its email
const pageViews = { team, settings: { show() { email.show(); return settings.show(); } }, apikeys, webhooks, departments,
  audit, profile, tools, visitors, search, analytics };

function allowedPage(p) {
  if (p === "settings" || p === "webhooks" || p === "departments" || p === "audit") return canEditSettings(auth && auth.user && auth.user.role);
  if (p === "apikeys") return canManageApiKeys(auth && auth.user && auth.user.role);
  return p in ui.pages;
}

function route() {
  if (!S.running) return;
  let p = location.hash.replace(/^#/, "") || "inbox";
  if (!allowedPage(p)) p = "inbox";
  const changed = S.page !== p;
  S.page = p;
  for (const [name, node] of Object.entries(ui.pages)) node.hidden = name !== p;
  for (const a of ui.navLinks) a.setAttribute("aria-current", String(a.dataset.page === p));
  document.body.dataset.page = p;
  if (changed && pageViews[p]) pageViews[p].show();
}
window.addEventListener("hashchange", route);

// The signed-in user changed (a reload of /me, a notice, the auth ack
// after a reconnect): what the console shows follows their stored role.
function setUser(u) {
  if (!auth || !u || (auth.user && auth.user.id && u.id !== auth.user.id)) return;
  const roleChanged = !!(auth.user && auth.user.role !== u.role);
  auth.user = { ...(auth.user || {}), ...u };
  saveAuth(auth);
  renderMe();
  if (roleChanged) { team.refresh(); route(); }
  profile.userUpdated();
}

function setTenant(t, fromElsewhere) {
  if (!t || !t.id) return;
  S.tenant = t;
  ui.tenantName.textContent = t.name || "";
  settings.tenantUpdated(t, fromElsewhere);
}

async function loadTenant() {
  try { setTenant(await api("GET", "/v1/tenant"), false); } catch (err) {
    if (err.status !== 401) showError(`Could not load the workspace settings: ${err.message}`);
  }
}

// Changes the password; the answer carries this session's new tokens.
// The server ends every session of the user (this WebSocket too), and the
// socket's error may arrive before the answer: refreshTokens() waits.
function changePassword(current, next) {
  const run = (async () => {
    const token = await freshToken();
    const res = await rawFetch("POST", "/v1/auth/password", { current_password: current, new_password: next }, token);
    saveAuth(tokensFrom(res, auth && auth.user));
    if (res.user) setUser(res.user);
    return res;
  })();
  passwordChange = run;
  run.finally(() => { if (passwordChange === run) passwordChange = null; }).catch(() => {});
  return run;
}

function setConn(state) {
  S.wsState = state;
  ui.conn.dataset.state = state;
  ui.conn.textContent = { offline: "offline", connecting: "connecting…", authed: "syncing…", live: "live" }[state] || state;
  document.body.dataset.connection = state;
}

// ------------------------------------------------------------------ WebSocket

function wsSend(obj) {
  if (!S.ws || S.ws.readyState !== WebSocket.OPEN) return false;
  try { S.ws.send(JSON.stringify(obj)); return true; } catch { return false; }
}
function request(obj, handler) {
  const id = `a${++S.frameId}`;
  obj.id = id;
  S.inflight.set(id, { ws: S.ws, handler });
  if (!wsSend(obj)) S.inflight.delete(id);
  return id;
}

function connect() {
  if (!S.running || S.ws) return;
  clearTimeout(S.reconnectTimer);
  const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/v1/ws`;
  let ws;
  try { ws = new WebSocket(url); } catch { scheduleReconnect(); return; }
  S.ws = ws;
  setConn("connecting");
  ws.onopen = async () => {
    let token;
    try { token = await freshToken(); } catch { if (S.ws === ws) ws.close(1000); return; }
    if (S.ws !== ws) return;
    request({ type: "auth", token }, async (f) => {
      if (f.type === "ack") {
        S.attempt = 0;
        S.sessions++;
        document.body.dataset.sessions = String(S.sessions);
        if (f.user) setUser(f.user); // the stored role, as of now
        if (S.sessions > 1) { loadTenant(); team.refresh(); } // notices missed while away
        setConn("authed");
        startPing(ws);
        subscribeInbox();
        desk.connected();
        convTools.start(); // unread mentions, after the inbox (mention frames come through it)
        if (S.current) subscribeThread(S.current);
        return;
      }
      if (f.error && f.error.code === "unauthenticated") {
        try { await refreshTokens(); } catch { return; } // refresh failure signs out
      }
      if (S.ws === ws) ws.close(1000);
    });
  };
  ws.onmessage = (m) => {
    if (S.ws !== ws) return;
    let f;
    try { f = JSON.parse(m.data); } catch { return; }
    if (f && typeof f === "object") onFrame(f);
  };
  ws.onclose = () => {
    if (S.ws !== ws) return;
    S.ws = null;
    clearInterval(S.pingTimer);
    for (const [k, v] of S.inflight) if (v.ws === ws) S.inflight.delete(k);
    for (const t of S.threads.values()) for (const p of t.pending.values()) if (p.sentOn === ws) p.sentOn = null;
    S.inboxLive = false;
    // conversation.message inbox frames are not replayed by subscribe_inbox
    // (they carry no cursor), so list again after the next subscribe.
    S.listLoaded = false;
    S.subscribed = null;
    hideVisitorTyping();
    setConn("offline");
    scheduleReconnect();
  };
  ws.onerror = () => { /* onclose follows */ };
}

function scheduleReconnect() {
  if (!S.running) return;
  clearTimeout(S.reconnectTimer);
  S.reconnectTimer = setTimeout(connect, backoffDelay(S.attempt++));
}
window.addEventListener("online", () => {
  if (S.running && !S.ws) { S.attempt = 0; connect(); }
});

// Application-level liveness check on top of the server's WebSocket pings.
function startPing(ws) {
  clearInterval(S.pingTimer);
  S.pingTimer = setInterval(() => {
    if (S.ws !== ws) return;
    let answered = false;
    request({ type: "ping" }, () => { answered = true; });
    setTimeout(() => { if (!answered && S.ws === ws) ws.close(4000, "ping timeout"); }, PING_TIMEOUT_MS);
  }, PING_EVERY_MS);
}

function onFrame(f) {
  if ((f.type === "ack" || f.type === "error") && f.id && S.inflight.has(f.id)) {
    const h = S.inflight.get(f.id);
    S.inflight.delete(f.id);
    h.handler(f);
    return;
  }
  switch (f.type) {
    case "inbox": onInbox(f); break;
    case "presence": desk.onPresence(f); break;
    case "queue": desk.onQueue(f); break;
    case "visitor": visitors.onFrame(f); break;
    case "event": onEvent(f); break;
    case "typing": onTyping(f); break;
    case "receipt": onReceipt(f); break;
    case "mention": convTools.onMention(f); break;
    case "error":
      if (f.error && f.error.code === "unauthenticated") refreshTokens().then(() => S.ws && S.ws.close(1000), () => {});
      break;
    default: break;
  }
}

// ------------------------------------------------------------------ inbox

// Subscribe first, then list: every change after the list snapshot reaches
// us as an inbox frame, every change before it is in the list.
function subscribeInbox() {
  request({ type: "subscribe_inbox", after: S.inboxCursor }, (f) => {
    if (f.type !== "ack") {
      showError(`Inbox: ${(f.error && f.error.message) || "error"}`);
      setTimeout(() => { if (S.wsState !== "offline") subscribeInbox(); }, backoffDelay(3));
      return;
    }
    if (typeof f.last === "number" && f.last > S.inboxCursor) setCursor(f.last);
    if (f.more) { subscribeInbox(); return; }
    S.inboxLive = true;
    visitors.resync();   // visitor frames are live only: what a reconnect missed
    if (!S.listLoaded) loadList();
    else maybeLive();
  });
}

function setCursor(c) {
  S.inboxCursor = c;
  sessionStorage.setItem(CURSOR_KEY, String(c));
}

function onInbox(f) {
  // live notices of the team and the tenant (no cursor)
  if (f.event === "user.updated" && f.user) {
    team.userUpdated(f.user);
    if (auth && auth.user && f.user.id === auth.user.id) setUser(f.user);
    return;
  }
  if (f.event === "tenant.updated" && f.tenant) { setTenant(f.tenant, true); return; }
  if (f.event === "alert" && f.alert) { analytics.alert(f.alert); return; }
  if (typeof f.cursor === "number" && f.cursor > S.inboxCursor) setCursor(f.cursor);
  if (f.event === "conversation.created" || f.event === "conversation.updated") desk.onInbox();
  const c = f.conversation;
  if (c && c.id) {
    if (f.event === "conversation.message" && f.preview != null && !(c.last_message && Number(c.last_message.seq) >= Number(f.seq))) {
      c.last_message = { seq: f.seq, text: f.preview, sender_type: f.sender_type || null };
    }
    if (f.event === "conversation.message") c._activity = Date.now();
    upsertConversation(c);
    return;
  }
  // parleyd currently sends conversation.message as a compact frame without
  // the conversation object (and without a cursor):
  // {type:"inbox", event:"conversation.message", conversation_id, seq, preview, sender_type, assignee_id}
  const id = f.conversation_id;
  if (f.event !== "conversation.message" || !id) return;
  const old = S.convs.get(id);
  if (!old) { fetchConversation(id); return; }
  const seq = Number(f.seq) || 0;
  if (!old.last_message || Number(old.last_message.seq) < seq) {
    old.last_message = { seq, text: f.preview == null ? "" : String(f.preview), sender_type: f.sender_type || null };
  }
  if (seq > (Number(old.last_seq) || 0)) old.last_seq = seq;
  old._activity = Date.now();
  scheduleRenderList();
}

const fetching = new Set();
async function fetchConversation(id) {
  if (fetching.has(id)) return;
  fetching.add(id);
  try {
    const c = await api("GET", `/v1/conversations/${encodeURIComponent(id)}`);
    if (c && c.id) upsertConversation(c);
  } catch { /* it shows up with the next list load */ } finally { fetching.delete(id); }
}

async function loadList() {
  try {
    let cursor = null;
    for (let page = 0; page < 10; page++) {
      const q = new URLSearchParams({ limit: "100" });
      if (cursor) q.set("cursor", cursor);
      const res = await api("GET", `/v1/conversations?${q}`);
      for (const c of (res && res.data) || []) upsertConversation(c);
      cursor = res && res.next_cursor;
      if (!cursor) break;
    }
    S.listLoaded = true;
    renderList();
    maybeLive();
  } catch (err) {
    showError(`Could not load conversations: ${err.message}`);
    setTimeout(() => { if (S.running && !S.listLoaded) loadList(); }, backoffDelay(4));
  }
}

function maybeLive() {
  if (S.wsState === "offline") return;
  const threadOk = !S.current || S.subscribed === S.current;
  if (S.inboxLive && S.listLoaded && threadOk) setConn("live");
}

function stamp(c) { return Number(c.updated_at_ms) || Date.parse(c.updated_at || "") || 0; }
function activity(c) { return Math.max(stamp(c), Number(c._activity) || 0); }

function upsertConversation(c) {
  const old = S.convs.get(c.id);
  if (old && stamp(old) > stamp(c)) return; // a newer copy already arrived
  const merged = old ? { ...old, ...c } : c;
  // Keep whichever last_message is newer (compact message frames update it too).
  if (old && old.last_message && (!c.last_message || Number(c.last_message.seq) < Number(old.last_message.seq))) {
    merged.last_message = old.last_message;
  }
  S.convs.set(c.id, merged);
  if (S.current === c.id) { renderHeader(); convTools.show(merged); }
  scheduleRenderList();
}

let listRenderQueued = false;
function scheduleRenderList() {
  if (listRenderQueued) return;
  listRenderQueued = true;
  queueMicrotask(() => { listRenderQueued = false; renderList(); });
}

function matchesFilter(c) {
  const me = auth && auth.user && auth.user.id;
  switch (ui.filter.value) {
    case "active": return c.status !== "resolved" && c.status !== "closed";
    case "mine": return !!(c.assignee && c.assignee.id === me);
    case "unassigned": return !c.assignee && c.status !== "resolved" && c.status !== "closed";
    case "resolved": return c.status === "resolved" || c.status === "closed";
    default: return true;
  }
}
ui.filter.addEventListener("change", renderList);

function visitorName(c) {
  const v = c.visitor || {};
  return v.name || v.email || `Visitor ${String(v.id || c.id).slice(-6)}`;
}

function renderList() {
  const convs = [...S.convs.values()].filter(matchesFilter)
    .sort((a, b) => activity(b) - activity(a) || (Number(b.created_at_ms) || 0) - (Number(a.created_at_ms) || 0) || (a.id < b.id ? 1 : -1));
  const keep = new Set(convs.map((c) => c.id));
  for (const [id, li] of S.items) if (!keep.has(id)) { li.remove(); S.items.delete(id); }
  let prev = null;
  for (const c of convs) {
    let li = S.items.get(c.id);
    if (!li) {
      li = el("li", { class: "conv-item", "data-testid": "conversation-item", "data-id": c.id, tabindex: "0", role: "button" });
      li.append(el("span", { class: "name" }), el("span", { class: "meta" }), el("span", { class: "preview" }));
      li.addEventListener("click", () => openConversation(c.id));
      li.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openConversation(c.id); } });
      S.items.set(c.id, li);
    }
    const [name, meta, preview] = li.children;
    name.textContent = visitorName(c);
    const bits = [c.status || ""];
    if (c.assignee) bits.push(c.assignee.name || "assigned");
    meta.textContent = bits.filter(Boolean).join(" · ");
    const lm = c.last_message;
    preview.textContent = lm ? `${lm.sender_type === "agent" ? "You: " : ""}${lm.text || ""}` : "";
    li.dataset.status = c.status || "";
    const unread = !!(lm && lm.sender_type !== "agent" && Number(lm.seq) > (Number(c.agent_read_seq) || 0));
    li.dataset.unread = String(unread && S.current !== c.id);
    li.setAttribute("aria-current", String(S.current === c.id));
    const want = prev ? prev.nextSibling : ui.list.firstChild;
    if (want !== li) ui.list.insertBefore(li, want);
    prev = li;
  }
  ui.listEmpty.hidden = convs.length > 0 || !S.listLoaded;
  if (!S.listLoaded && convs.length === 0) ui.listEmpty.hidden = true;
}

// ------------------------------------------------------------------ conversation view

async function openConversation(id) {
  if (S.current === id) return;
  const prev = S.current;
  stopTyping();
  if (prev && S.subscribed === prev && S.wsState !== "offline") {
    wsSend({ type: "unsubscribe", conversation_id: prev });
    S.subscribed = null;
  }
  S.current = id;
  convTools.opened(id);
  convTools.show(S.convs.get(id));
  ui.pane.hidden = false;
  ui.noPane.hidden = true;
  ui.pane.dataset.id = id;
  hideVisitorTyping();
  renderThread();
  renderHeader();
  renderList();
  const opened = S.convs.get(id);
  visitors.describe($("conv-visitor-info"), opened && opened.visitor && opened.visitor.id, () => S.current === id);
  if (S.wsState === "authed" || S.wsState === "live") subscribeThread(id);
  try {
    const c = await api("GET", `/v1/conversations/${encodeURIComponent(id)}`);
    if (c && c.id) upsertConversation(c);
  } catch (err) {
    if (err.status === 404) showError("That conversation no longer exists.");
  }
}

function subscribeThread(id) {
  const t = thread(id);
  if (S.wsState === "live") setConn("authed");
  request({ type: "subscribe", conversation_id: id, after_seq: t.lastSeq }, (f) => {
    if (S.current !== id) {
      // The agent moved on while this was in flight: drop the subscription.
      if (f.type === "ack" && !f.more) wsSend({ type: "unsubscribe", conversation_id: id });
      return;
    }
    if (f.type !== "ack") {
      showError(`Could not open the conversation: ${(f.error && f.error.message) || "error"}`);
      if (f.error && (f.error.code === "busy" || f.error.code === "internal")) {
        setTimeout(() => { if (S.current === id && S.wsState !== "offline") subscribeThread(id); }, backoffDelay(3));
      }
      return;
    }
    if (f.more) { subscribeThread(id); return; }
    if (typeof f.last_seq === "number" && f.last_seq > t.lastSeq) t.lastSeq = f.last_seq;
    S.subscribed = id;
    flushPending(id);
    if (S.typingOn) sendTyping(true); // still typing across a reconnect
    maybeLive();
    scheduleReceipts();
  });
}

function onEvent(ev) {
  const id = ev.conversation_id;
  if (!id || !S.threads.has(id)) return;
  if (ev.kind === "tag") convTools.onTag(S.convs.get(id), ev, id === S.current);
  applyEvent(id, ev);
  if (id === S.current) scheduleReceipts();
}

function senderOf(ev) {
  const t = ev.sender && ev.sender.type;
  return t === "visitor" || t === "agent" || t === "system" ? t : "system";
}

function labelOf(ev) {
  const who = (ev.sender && ev.sender.name) || (senderOf(ev) === "visitor" ? "Visitor" : senderOf(ev) === "agent" ? "Agent" : "System");
  switch (ev.kind) {
    case "message": case "note": return ev.text == null ? "" : String(ev.text);
    case "status": return `${who} set the status to ${ev.status}`;
    case "assigned": return `Assigned to ${(ev.assignee && ev.assignee.name) || "an agent"}${ev.sender && ev.sender.name ? ` by ${ev.sender.name}` : ""}`;
    case "transfer": return `${who} transferred it${ev.assignee ? ` to ${ev.assignee.name || "an agent"}` : " to a department's queue"}${ev.reason ? `: ${ev.reason}` : ""}`;
    case "priority": return `${who} set the priority to ${ev.priority}`;
    case "created": return "Conversation started";
    case "rating": return `${who} rated the conversation ${ev.score}/5${ev.comment ? `: ${ev.comment}` : ""}`;
    case "profile": return `${who} changed the visitor's profile${profileChange(ev.change)}`;
    default: return convTools.label(ev) || `${ev.kind || "event"}`;
  }
}

// What a profile event's change (JSON text) names: " (name, plan = gold, vip removed)".
function profileChange(text) {
  let ch;
  try { ch = JSON.parse(text || "{}"); } catch { return ""; }
  const parts = (ch.changed || []).filter((f) => f !== "attributes");
  for (const [k, v] of Object.entries(ch.attributes || {})) parts.push(v === null ? `${k} removed` : `${k} = ${v}`);
  if (!ch.attributes && (ch.changed || []).includes("attributes")) parts.push("attributes");
  return parts.length ? ` (${parts.join(", ")})` : "";
}

function buildMessageNode(ev) {
  const kind = ev.kind || "message";
  // events, and messages the server writes (a transfer's notice), are shown as system lines
  const sys = (kind !== "message" && kind !== "note") || senderOf(ev) === "system";
  const node = el("div", {
    class: sys ? "msg system" : "msg", "data-testid": "message", "data-sender": senderOf(ev), "data-kind": kind,
  });
  if (!sys) {
    let who = (ev.sender && ev.sender.name) || (senderOf(ev) === "visitor" ? "Visitor" : "Agent");
    if (kind === "note" || ev.private) who += " · private note";
    node.append(el("span", { class: "who" }, who));
  }
  const text = labelOf(ev);
  if (text || !(ev.files && ev.files.length)) node.append(el("span", { class: "text" }, text));
  if (!sys && Array.isArray(ev.files) && ev.files.length) node.append(buildAttachments(ev.conversation_id || S.current, ev.files));
  if (ev.created_at) node.title = new Date(ev.created_at).toLocaleString();
  return node;
}

// ------------------------------------------------------------------ files

// A GET with the bearer token (refreshed once on a 401), for bodies that
// are not JSON (files, transcripts).
async function fetchAuthed(path) {
  let res = await fetch(path, { headers: { Authorization: `Bearer ${await freshToken()}` } });
  if (res.status === 401 && auth) {
    await refreshTokens();
    res = await fetch(path, { headers: { Authorization: `Bearer ${auth.access_token}` } });
  }
  return res;
}

// Files are fetched with the bearer token (an <img src> cannot send one)
// and shown from object URLs, one fetch per file id.
const fileBlobs = new Map();
function fileBlobUrl(convId, f) {
  if (!fileBlobs.has(f.id)) {
    const p = (async () => {
      const path = `/v1/conversations/${encodeURIComponent(convId)}/files/${encodeURIComponent(f.id)}`;
      const res = await fetchAuthed(path);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return URL.createObjectURL(await res.blob());
    })();
    fileBlobs.set(f.id, p);
    p.catch(() => fileBlobs.delete(f.id));
  }
  return fileBlobs.get(f.id);
}

function fmtSize(n) {
  n = Number(n) || 0;
  return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`;
}

function buildAttachments(convId, files) {
  const box = el("div", { class: "attachments" });
  for (const f of files) {
    if (String(f.type).startsWith("image/")) {
      const img = el("img", { class: "attachment-image", "data-testid": "attachment-image", alt: f.name, "data-file-id": f.id });
      fileBlobUrl(convId, f).then((u) => { img.src = u; }).catch(() => { img.alt = `${f.name} (not available)`; });
      box.append(img);
    } else {
      const a = el("a", { class: "attachment-link", "data-testid": "attachment-link", href: "#", "data-file-id": f.id },
        `${f.name} (${fmtSize(f.size)})`);
      a.addEventListener("click", async (e) => {
        e.preventDefault();
        try {
          const link = el("a", { href: await fileBlobUrl(convId, f), download: f.name });
          document.body.append(link);
          link.click();
          link.remove();
        } catch (err) { showError(`Download failed: ${err.message}`); }
      });
      box.append(a);
    }
  }
  return box;
}

// Uploads with progress (XMLHttpRequest reports upload progress; fetch
// does not), then a message carrying the file.
async function uploadFile(id, file) {
  const node = el("div", { class: "upload", "data-testid": "upload" });
  if (/^image\//.test(file.type)) {
    const prev = el("img", { class: "attachment-image", "data-testid": "upload-preview", alt: file.name });
    prev.src = URL.createObjectURL(file);
    prev.addEventListener("load", () => URL.revokeObjectURL(prev.src), { once: true });
    node.append(prev);
  }
  node.append(el("span", { class: "upload-name" }, `${file.name} (${fmtSize(file.size)})`));
  const bar = el("progress", { max: "100", value: "0", "data-testid": "upload-progress" });
  node.append(bar);
  ui.messages.append(node);
  scrollToEnd();
  let token;
  try { token = await freshToken(); } catch (err) { node.remove(); showError(err.message); return; }
  const xhr = new XMLHttpRequest();
  xhr.open("POST", `/v1/conversations/${encodeURIComponent(id)}/files`);
  xhr.setRequestHeader("Authorization", `Bearer ${token}`);
  xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total); });
  xhr.addEventListener("load", () => {
    node.remove();
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
    if (xhr.status === 201 && body && body.id) {
      queueMessage(id, "", false, [{ id: body.id, name: body.name, type: body.type, size: body.size }]);
    } else {
      showError(`Upload failed: ${(body && body.error && body.error.message) || `HTTP ${xhr.status}`}`);
    }
  });
  xhr.addEventListener("error", () => { node.remove(); showError("Upload failed: cannot reach the server."); });
  const fd = new FormData();
  fd.append("file", file, file.name);
  xhr.send(fd);
}

ui.attachButton.addEventListener("click", () => ui.attachInput.click());
ui.attachInput.addEventListener("change", () => {
  const id = S.current;
  const files = [...ui.attachInput.files];
  ui.attachInput.value = "";
  if (id) for (const f of files) uploadFile(id, f);
});

function insertBySeq(container, node, seq) {
  for (const it of container.querySelectorAll("[data-testid=message]")) {
    if (it === node) continue;
    if (!it.hasAttribute("data-seq") || Number(it.dataset.seq) > seq) { container.insertBefore(node, it); return; }
  }
  container.append(node);
}

function applyEvent(id, ev) {
  const seq = Number(ev.seq);
  if (!(seq > 0)) return;
  const t = thread(id);
  if (seq > t.lastSeq) t.lastSeq = seq;
  if (t.events.has(seq)) return; // exactly once per seq
  t.events.set(seq, ev);
  if (ev.client_id && t.pending.has(ev.client_id)) {
    const p = t.pending.get(ev.client_id);
    t.pending.delete(ev.client_id);
    if (p.el) p.el.remove();
  }
  if (ev.kind === "message" && senderOf(ev) === "visitor" && id === S.current) hideVisitorTyping();
  if (ev.kind === "rating") care.onRating(ev);
  if (id === S.current) {
    const node = buildMessageNode(ev);
    node.dataset.seq = String(seq);
    node.dataset.state = "sent";
    const stick = isAtBottom();
    insertBySeq(ui.messages, node, seq);
    renderSeen();
    if (stick) scrollToEnd();
  }
}

function renderThread() {
  const t = thread(S.current);
  const frag = document.createDocumentFragment();
  for (const seq of [...t.events.keys()].sort((a, b) => a - b)) {
    const node = buildMessageNode(t.events.get(seq));
    node.dataset.seq = String(seq);
    node.dataset.state = "sent";
    frag.append(node);
  }
  for (const p of t.pending.values()) frag.append(p.el);
  ui.messages.replaceChildren(frag);
  renderSeen();
  scrollToEnd();
}

function isAtBottom() {
  const m = ui.messages;
  return m.scrollHeight - m.scrollTop - m.clientHeight < 40;
}
function scrollToEnd() { ui.messages.scrollTop = ui.messages.scrollHeight; }

const seenMarker = el("div", { class: "seen", "data-testid": "seen-marker" }, "Seen");
function renderSeen() {
  if (!S.current) return;
  const t = thread(S.current);
  const c = S.convs.get(S.current);
  const readSeq = Math.max(t.visitorReadSeq, Number(c && c.visitor_read_seq) || 0);
  let target = null;
  if (readSeq > 0) {
    const mine = ui.messages.querySelectorAll("[data-testid=message][data-sender=agent][data-kind=message][data-seq]");
    for (let i = mine.length - 1; i >= 0; i--) if (Number(mine[i].dataset.seq) <= readSeq) { target = mine[i]; break; }
  }
  if (!target) { seenMarker.remove(); return; }
  if (seenMarker.previousSibling !== target) target.after(seenMarker);
}

function renderHeader() {
  const c = S.convs.get(S.current);
  if (!c) return;
  const me = auth && auth.user && auth.user.id;
  ui.visitor.textContent = visitorName(c);
  ui.assignee.textContent = c.assignee ? `Assigned to ${c.assignee.id === me ? "you" : c.assignee.name || "someone"}` : "Unassigned";
  ui.status.textContent = c.status || "";
  ui.status.dataset.status = c.status || "";
  const mine = !!(c.assignee && c.assignee.id === me);
  ui.take.disabled = mine;
  ui.take.textContent = mine ? "Yours" : c.assignee ? "Take over" : "Take";
  const done = c.status === "resolved" || c.status === "closed";
  ui.resolve.hidden = done;
  ui.resolve.disabled = done;
  ui.reopen.hidden = !done;
  controls.render(c);
  renderSeen();
  care.render(c);
}

async function withButton(btn, fn) {
  btn.disabled = true;
  try { await fn(); } catch (err) { showError(err.message); } finally { btn.disabled = false; renderHeader(); }
}

ui.take.addEventListener("click", () => withButton(ui.take, async () => {
  const id = S.current;
  const c = await api("POST", `/v1/conversations/${encodeURIComponent(id)}/assign`, {});
  if (c && c.id) upsertConversation(c);
}));
ui.resolve.addEventListener("click", () => withButton(ui.resolve, async () => {
  const c = await api("PATCH", `/v1/conversations/${encodeURIComponent(S.current)}`, { status: "resolved" });
  if (c && c.id) upsertConversation(c);
}));
ui.reopen.addEventListener("click", () => withButton(ui.reopen, async () => {
  const c = await api("PATCH", `/v1/conversations/${encodeURIComponent(S.current)}`, { status: "open" });
  if (c && c.id) upsertConversation(c);
}));

// ------------------------------------------------------------------ sending

function sendReply() {
  const id = S.current;
  if (!id) return;
  const text = ui.replyInput.value.trim();
  if (!text) return;
  if (new TextEncoder().encode(text).length > 8000) { showError("Message too long (8,000 bytes at most)."); return; }
  const priv = ui.noteToggle.checked;
  const extra = picks.take(text, priv); // canned_id, mentions
  ui.replyInput.value = "";
  stopTyping();
  queueMessage(id, text, priv, null, extra);
}

// A message (text and/or files) shown as pending until acknowledged.
function queueMessage(id, text, priv, files, extra) {
  const t = thread(id);
  const p = { client_id: uuid(), text, private: priv, files, extra, sentOn: null, el: null };
  const node = buildMessageNode({ kind: priv ? "note" : "message", text, private: priv, files, conversation_id: id,
    sender: { type: "agent", name: auth && auth.user && auth.user.name } });
  node.dataset.state = "pending";
  node.dataset.clientId = p.client_id;
  p.el = node;
  t.pending.set(p.client_id, p);
  ui.messages.append(node);
  scrollToEnd();
  flushPending(id);
}

function flushPending(id) {
  if (S.subscribed !== id || !S.ws) return;
  const t = thread(id);
  for (const p of t.pending.values()) if (!p.failed && p.sentOn !== S.ws) sendOne(id, p);
}

function sendOne(id, p) {
  p.sentOn = S.ws;
  const frame = { type: "send", conversation_id: id, client_id: p.client_id, text: p.text };
  if (p.private) frame.private = true;
  if (p.files && p.files.length) frame.files = p.files.map((f) => f.id);
  if (p.extra && p.extra.canned_id) { frame.canned_id = p.extra.canned_id; delete frame.text; }
  if (p.extra && p.extra.mentions) frame.mentions = p.extra.mentions;
  request(frame, (f) => {
    const t = thread(id);
    if (!t.pending.has(p.client_id)) return;
    if (f.type === "ack") {
      t.pending.delete(p.client_id);
      const seq = Number(f.seq);
      if (seq > 0 && !t.events.has(seq)) {
        // Ack before the event: keep the node as the rendering of that seq.
        t.events.set(seq, {
          conversation_id: id, seq, kind: p.private ? "note" : "message", client_id: p.client_id, text: p.text,
          private: p.private, files: p.files || undefined, sender: { type: "agent", id: auth && auth.user && auth.user.id, name: auth && auth.user && auth.user.name },
        });
        if (seq > t.lastSeq) t.lastSeq = seq;
        p.el.dataset.seq = String(seq);
        p.el.dataset.state = "sent";
        if (id === S.current) { insertBySeq(ui.messages, p.el, seq); renderSeen(); }
      } else if (p.el) {
        p.el.remove();
      }
      return;
    }
    const code = f.error && f.error.code;
    if (code === "busy" || code === "internal") {
      p.sentOn = null;
      setTimeout(() => flushPending(id), backoffDelay(2)); // same client_id: idempotent
    } else if (code === "unauthenticated") {
      p.sentOn = null;
    } else {
      p.failed = true;
      p.el.dataset.state = "failed";
      p.el.title = (f.error && f.error.message) || "Not sent";
      showError(`Message not sent: ${(f.error && f.error.message) || code}`);
    }
  });
}

ui.replyForm.addEventListener("submit", (e) => { e.preventDefault(); sendReply(); });
ui.replyInput.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendReply(); }
});
ui.noteToggle.addEventListener("change", () => {
  ui.replyForm.classList.toggle("note", ui.noteToggle.checked);
  ui.replySend.textContent = ui.noteToggle.checked ? "Add note" : "Send";
  if (ui.noteToggle.checked) stopTyping(); // notes are invisible to the visitor
});

// ------------------------------------------------------------------ typing

function sendTyping(state) {
  if (!S.current || S.subscribed !== S.current) return;
  wsSend({ type: "typing", conversation_id: S.current, state });
}
function stopTyping() {
  clearTimeout(S.typingIdleTimer);
  if (S.typingOn) { S.typingOn = false; S.typingLastSent = 0; sendTyping(false); }
}
ui.replyInput.addEventListener("input", () => {
  if (!ui.replyInput.value || ui.noteToggle.checked) { stopTyping(); return; }
  const now = Date.now();
  if (!S.typingOn || now - S.typingLastSent >= TYPING_SEND_EVERY_MS) {
    S.typingOn = true;
    S.typingLastSent = now;
    sendTyping(true);
  }
  clearTimeout(S.typingIdleTimer);
  S.typingIdleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
});
ui.replyInput.addEventListener("blur", stopTyping);

function onTyping(f) {
  if (f.conversation_id !== S.current || !f.sender || f.sender.type !== "visitor") return;
  if (f.state) {
    ui.typing.hidden = false;
    clearTimeout(S.visitorTypingTimer);
    S.visitorTypingTimer = setTimeout(hideVisitorTyping, TYPING_SHOW_MS);
  } else hideVisitorTyping();
}
function hideVisitorTyping() {
  clearTimeout(S.visitorTypingTimer);
  ui.typing.hidden = true;
}

// ------------------------------------------------------------------ receipts

function onReceipt(f) {
  if (f.side !== "visitor") return;
  const t = S.threads.get(f.conversation_id);
  if (t && typeof f.read_seq === "number" && f.read_seq > t.visitorReadSeq) {
    t.visitorReadSeq = f.read_seq;
    if (f.conversation_id === S.current) renderSeen();
  }
}

let receiptTimer = 0;
function scheduleReceipts() {
  if (receiptTimer) return;
  receiptTimer = setTimeout(() => { receiptTimer = 0; sendReceipts(); }, 300);
}
function sendReceipts() {
  const id = S.current;
  if (!id || S.subscribed !== id) return;
  const t = thread(id);
  let max = 0;
  for (const s of t.events.keys()) if (s > max) max = s;
  if (max > t.deliveredSent && wsSend({ type: "delivered", conversation_id: id, seq: max })) t.deliveredSent = max;
  if (document.visibilityState === "visible" && max > t.readSent && wsSend({ type: "read", conversation_id: id, seq: max })) {
    t.readSent = max;
    const c = S.convs.get(id);
    if (c && (Number(c.agent_read_seq) || 0) < max) { c.agent_read_seq = max; scheduleRenderList(); }
  }
}
document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") scheduleReceipts(); });

// ------------------------------------------------------------------ boot

if (auth) startApp();
else showLogin("");
