/*
 * Parley chat widget — embed on any page:
 *
 *   <script src="https://chat.example.com/widget/widget.js" data-key="WIDGET_KEY" async></script>
 *
 * or configure before loading it:
 *
 *   <script>window.ParleyWidget = { key: "WIDGET_KEY", server: "https://chat.example.com" };</script>
 *
 * `server` defaults to the origin the script was loaded from. Everything is
 * rendered inside an open shadow root so the host page's CSS cannot leak in
 * (and ours cannot leak out). User-provided text is only ever inserted with
 * textContent.
 *
 * Protocol: docs/api-outline.md (REST) and docs/realtime.md (WebSocket).
 */
(function () {
  "use strict";

  if (window.__parleyWidgetLoaded) return; // loaded twice on one page
  window.__parleyWidgetLoaded = true;

  // ---------------------------------------------------------------- config
  var script = document.currentScript;
  if (!script) {
    // currentScript is null when the file was loaded as a module or injected
    // by another script after the fact; find ourselves by URL.
    var all = document.querySelectorAll("script[src]");
    for (var i = all.length - 1; i >= 0; i--) {
      if (/\/widget\/widget\.js(\?|#|$)/.test(all[i].src)) { script = all[i]; break; }
    }
  }
  var userCfg = window.ParleyWidget && typeof window.ParleyWidget === "object" ? window.ParleyWidget : {};
  var scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  var CFG = {
    key: userCfg.key || (script && script.getAttribute("data-key")) || "",
    server: String(userCfg.server || (script && script.getAttribute("data-server")) || scriptOrigin).replace(/\/+$/, ""),
    title: userCfg.title || (script && script.getAttribute("data-title")) || "Chat with us",
    name: userCfg.name || undefined,
    email: userCfg.email || undefined,
    // the site's signed user id (docs/openapi.yaml, tag tracking): user_id and
    // the hex HMAC-SHA256 of it under the tenant's identity secret
    userId: userCfg.user_id || (script && script.getAttribute("data-user-id")) || undefined,
    userHash: userCfg.user_hash || (script && script.getAttribute("data-user-hash")) || undefined,
    // page views of this site (off: tracking:false or data-tracking="off")
    tracking: userCfg.tracking !== false && !(script && script.getAttribute("data-tracking") === "off"),
  };

  var TYPING_SEND_EVERY_MS = 2500; // throttle for typing:true frames
  var TYPING_IDLE_MS = 3000; // after this much silence we send typing:false
  var TYPING_SHOW_MS = 6000; // hide the agent's indicator if no refresh arrives
  var BACKOFF_MIN_MS = 250;
  var BACKOFF_MAX_MS = 5000;
  var CACHE_EVENTS = 300; // transcript events kept in localStorage

  // ---------------------------------------------------------------- storage
  var LS_PREFIX = "parley:" + CFG.key + ":";
  function lsGet(name) {
    try {
      var raw = localStorage.getItem(LS_PREFIX + name);
      return raw == null ? null : JSON.parse(raw);
    } catch (e) {
      return null;
    }
  }
  function lsSet(name, value) {
    try {
      if (value == null) localStorage.removeItem(LS_PREFIX + name);
      else localStorage.setItem(LS_PREFIX + name, JSON.stringify(value));
    } catch (e) {
      /* storage full or disabled: the widget still works for this page */
    }
  }
  function ssGet(name) {
    try { return sessionStorage.getItem(LS_PREFIX + name); } catch (e) { return null; }
  }
  function ssSet(name, value) {
    try { sessionStorage.setItem(LS_PREFIX + name, value); } catch (e) { /* ignore */ }
  }

  function uuid() {
    if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    // crypto.randomUUID needs a secure context; fall back to getRandomValues.
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // ---------------------------------------------------------------- state
  var S = {
    token: lsGet("visitor_token"), // visitor token (opaque)
    visitorId: lsGet("visitor_id"),
    conversation: null, // conversation object from the REST API
    convId: null,
    lastSeq: 0, // highest seq seen in convId (persisted with the transcript)
    events: new Map(), // seq -> event (already rendered)
    pending: new Map(), // client_id -> {client_id, text, state, seq?, el}
    agentReadSeq: 0, // from receipts: visitor messages with seq <= this are "Seen"
    readSent: 0,
    deliveredSent: 0,
    ws: null,
    wsState: "idle", // idle | connecting | open | authed | live
    backoffAttempt: 0,
    reconnectTimer: 0,
    frameId: 0,
    inflight: new Map(), // frame id -> handler(frame)
    open: ssGet("open") === "1",
    started: false, // session established
    starting: null, // promise while establishing the session
    creating: null, // promise while POSTing the first conversation
    typingLastSent: 0,
    typingIdleTimer: 0,
    typingOn: false,
    agentTypingTimer: 0,
    unread: 0,
  };

  // ---------------------------------------------------------------- DOM
  var host = document.createElement("div");
  host.id = "parley-widget-host";
  host.setAttribute("data-testid", "parley-widget");
  // Keep the host itself neutral; all layout is inside the shadow root.
  host.style.cssText = "all: initial; position: fixed; z-index: 2147483000; right: 0; bottom: 0; width: 0; height: 0;";
  var root = host.attachShadow({ mode: "open" });

  var style = document.createElement("style");
  style.textContent = [
    ":host { all: initial; }",
    "*, *::before, *::after { box-sizing: border-box; }",
    ".pw { font: 14px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1d2430; }",
    ".launcher { position: fixed; right: 20px; bottom: 20px; width: 56px; height: 56px; border-radius: 50%; border: 0;",
    "  background: #3554d1; color: #fff; cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); display: flex;",
    "  align-items: center; justify-content: center; }",
    ".launcher:focus-visible { outline: 3px solid #9db0ff; outline-offset: 2px; }",
    ".launcher svg { width: 26px; height: 26px; fill: currentColor; }",
    ".badge { position: absolute; top: -2px; right: -2px; min-width: 20px; height: 20px; border-radius: 10px;",
    "  background: #e5484d; color: #fff; font-size: 12px; line-height: 20px; text-align: center; padding: 0 5px; }",
    ".badge[hidden] { display: none; }",
    ".panel { position: fixed; right: 20px; bottom: 88px; width: 360px; max-width: calc(100vw - 40px);",
    "  height: 520px; max-height: calc(100vh - 120px); background: #fff; border-radius: 12px; overflow: hidden;",
    "  box-shadow: 0 8px 30px rgba(0,0,0,.25); display: flex; flex-direction: column; }",
    ".panel[hidden] { display: none; }",
    ".head { background: #3554d1; color: #fff; padding: 12px 14px; display: flex; align-items: center; gap: 8px; }",
    ".head .title { font-weight: 600; flex: 1; }",
    ".head .conn { font-size: 12px; opacity: .85; }",
    ".head button { background: transparent; border: 0; color: #fff; font-size: 20px; cursor: pointer; line-height: 1; }",
    ".msgs { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 6px; background: #f6f7fb; }",
    ".empty { color: #6b7380; text-align: center; margin-top: 40px; }",
    ".msg { max-width: 80%; padding: 8px 11px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }",
    ".msg[data-sender=visitor] { align-self: flex-end; background: #3554d1; color: #fff; border-bottom-right-radius: 4px; }",
    ".msg[data-sender=agent] { align-self: flex-start; background: #fff; border: 1px solid #e1e4ec; border-bottom-left-radius: 4px; }",
    ".msg[data-sender=system] { align-self: center; background: transparent; color: #6b7380; font-size: 12px; padding: 2px; }",
    ".msg[data-state=pending] { opacity: .6; }",
    ".msg[data-state=failed] { background: #e5484d; }",
    ".msg .who { display: block; font-size: 11px; opacity: .75; margin-bottom: 2px; }",
    ".seen { align-self: flex-end; font-size: 11px; color: #6b7380; margin-top: -2px; }",
    ".typing { padding: 0 12px 6px; font-size: 12px; color: #6b7380; background: #f6f7fb; min-height: 18px; }",
    ".typing[hidden] { visibility: hidden; display: block; }",
    ".compose { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e1e4ec; background: #fff; }",
    ".compose textarea { flex: 1; resize: none; border: 1px solid #cfd4df; border-radius: 8px; padding: 8px; font: inherit;",
    "  height: 40px; max-height: 120px; }",
    ".compose button { border: 0; border-radius: 8px; background: #3554d1; color: #fff; padding: 0 14px; cursor: pointer; font: inherit; }",
    ".compose button:disabled { opacity: .5; cursor: default; }",
    ".error { background: #fff1f1; color: #a01c20; font-size: 12px; padding: 6px 12px; }",
    ".dept { display: block; padding: 6px 12px 0; font-size: 12px; color: #6b7380; }",
    ".dept[hidden] { display: none; }",
    ".prechat { display: flex; flex-direction: column; gap: 6px; padding: 8px 12px 0; font-size: 12px; color: #6b7380; }",
    ".prechat[hidden], .rate[hidden], .tools[hidden] { display: none; }",
    ".prechat input { font: inherit; font-size: 13px; padding: 6px 8px; border: 1px solid #d3d8e6; border-radius: 6px; }",
    ".rate { padding: 8px 12px; border-top: 1px solid #e3e6ee; background: #fff; font-size: 13px; display: flex; flex-direction: column; gap: 6px; }",
    ".rate .stars { display: flex; gap: 2px; }",
    ".rate .stars button { border: 0; background: transparent; font-size: 22px; color: #c4c9d6; cursor: pointer; padding: 0 2px; }",
    ".rate .stars button[aria-pressed=true] { color: #d99a00; }",
    ".rate textarea { font: inherit; font-size: 13px; border: 1px solid #d3d8e6; border-radius: 6px; padding: 6px; resize: none; }",
    ".rate .send { align-self: flex-end; border: 0; border-radius: 8px; background: #3554d1; color: #fff; padding: 6px 12px; cursor: pointer; }",
    ".tools { display: flex; gap: 8px; padding: 4px 12px; font-size: 12px; background: #f6f7fb; }",
    ".tools button { border: 0; background: transparent; color: #3554d1; cursor: pointer; padding: 0; font: inherit; text-decoration: underline; }",
    ".queue { background: #f1f6ff; color: #1f3a66; font-size: 12px; padding: 6px 12px; }",
    ".queue form { display: flex; gap: 6px; margin-top: 6px; }",
    ".queue input { flex: 1; font: inherit; padding: 4px 6px; border: 1px solid #c8d3e6; border-radius: 4px; }",
    ".compose .attach { background: #eef1fb; color: #3554d1; padding: 0 10px; font-size: 18px; }",
    ".files { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 4px; }",
    ".files img { max-width: 200px; max-height: 150px; border-radius: 8px; background: #fff; display: block; }",
    ".files a { color: inherit; text-decoration: underline; cursor: pointer; }",
    ".upload { align-self: flex-end; display: flex; flex-direction: column; gap: 4px; padding: 6px 8px; font-size: 12px;",
    "  border: 1px dashed #b8c0d9; border-radius: 8px; background: #fff; }",
    ".upload img { max-width: 160px; max-height: 120px; border-radius: 6px; }",
    ".upload progress { width: 160px; }",
    ".error[hidden] { display: none; }",
  ].join("\n");
  root.appendChild(style);

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] != null) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }

  var wrap = el("div", { class: "pw" });
  var launcher = el("button", {
    class: "launcher", type: "button", "data-testid": "parley-launcher",
    "aria-label": "Open chat", "aria-expanded": "false",
  });
  // Static, trusted markup for the icon (no user data).
  var svgNS = "http://www.w3.org/2000/svg";
  var svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  var path = document.createElementNS(svgNS, "path");
  path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z");
  svg.appendChild(path);
  launcher.appendChild(svg);
  var badge = el("span", { class: "badge", "data-testid": "parley-unread", hidden: "" });
  launcher.appendChild(badge);

  var panel = el("div", { class: "panel", role: "dialog", "aria-label": CFG.title, "data-testid": "parley-panel", hidden: "" });
  var head = el("div", { class: "head" });
  head.appendChild(el("span", { class: "title" }, CFG.title));
  var connLabel = el("span", { class: "conn", "data-testid": "parley-connection", "aria-live": "polite" }, "");
  head.appendChild(connLabel);
  var closeBtn = el("button", { type: "button", "aria-label": "Close chat", "data-testid": "parley-close" }, "\u00d7");
  head.appendChild(closeBtn);
  var errorBox = el("div", { class: "error", role: "alert", "data-testid": "parley-error", hidden: "" });
  // The waiting queue (queue_position frames, docs/realtime.md): the place
  // and estimated wait; offline, a notice and a form for an address to be
  // answered at; back online, that an agent is available.
  var queueBox = el("div", { class: "queue", "data-testid": "parley-queue", "aria-live": "polite", hidden: "" });
  var queueText = el("div", { "data-testid": "parley-queue-text" }, "");
  var offlineForm = el("form", { "data-testid": "parley-offline-form", hidden: "" });
  var offlineEmail = el("input", { type: "email", "data-testid": "parley-offline-email", placeholder: "Your email",
    "aria-label": "Your email", maxlength: "254", required: "" });
  offlineForm.appendChild(offlineEmail);
  offlineForm.appendChild(el("button", { type: "submit", "data-testid": "parley-offline-submit" }, "Notify me"));
  queueBox.appendChild(queueText);
  queueBox.appendChild(offlineForm);
  var list = el("div", { class: "msgs", "data-testid": "parley-messages", "aria-live": "polite" });
  var emptyNote = el("div", { class: "empty" }, "Ask us anything \u2014 we usually reply in a few minutes.");
  list.appendChild(emptyNote);
  var seenMarker = el("div", { class: "seen", "data-testid": "parley-seen" }, "Seen");
  var typingBox = el("div", { class: "typing", "data-testid": "parley-typing", hidden: "" }, "Agent is typing\u2026");
  var compose = el("form", { class: "compose" });
  var input = el("textarea", {
    "data-testid": "parley-input", placeholder: "Type a message\u2026", rows: "1",
    "aria-label": "Message", maxlength: "8000",
  });
  var sendBtn = el("button", { type: "submit", "data-testid": "parley-send" }, "Send");
  var attachBtn = el("button", {
    type: "button", class: "attach", "data-testid": "parley-attach", "aria-label": "Attach a file",
    title: "Attach a file: JPEG, PNG, GIF, WEBP, PDF, DOC, DOCX or TXT",
  }, "+");
  var fileInput = el("input", {
    type: "file", "data-testid": "parley-file", hidden: "",
    accept: "image/jpeg,image/png,image/gif,image/webp,application/pdf,application/msword," +
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document,text/plain," +
      ".jpg,.jpeg,.png,.gif,.webp,.pdf,.doc,.docx,.txt",
  });
  // The department choice before the first message (GET /v1/widget/departments):
  // shown when the tenant has more than one; none chosen = the default.
  var deptBox = el("label", { class: "dept", "data-testid": "parley-department-box", hidden: "" }, "Talk to ");
  var deptSelect = el("select", { "data-testid": "parley-department", "aria-label": "Department" });
  deptBox.appendChild(deptSelect);
  // The pre-chat form (the tenant's settings, from the session): name,
  // email and phone above the first message, which is the question.
  var prechatBox = el("div", { class: "prechat", "data-testid": "parley-prechat", hidden: "" });
  var prechatInputs = {};
  [["name", "text", "Your name", "128"], ["email", "email", "Your email", "254"], ["phone", "tel", "Your phone", "32"]]
    .forEach(function (f) {
      var inp = el("input", { type: f[1], "data-testid": "parley-prechat-" + f[0], "aria-label": f[2], placeholder: f[2], maxlength: f[3] });
      prechatInputs[f[0]] = inp;
      prechatBox.appendChild(inp);
    });
  // After a resolve or close: the rating prompt (once per conversation).
  var rateBox = el("div", { class: "rate", "data-testid": "parley-rating", hidden: "" });
  rateBox.appendChild(el("span", null, "How did we do?"));
  var starsRow = el("div", { class: "stars", role: "group", "aria-label": "Rating" });
  var starBtns = [];
  for (var si = 1; si <= 5; si++) {
    var sb = el("button", { type: "button", "data-testid": "parley-star-" + si, "aria-label": si + " of 5", "aria-pressed": "false" }, "\u2605");
    starBtns.push(sb);
    starsRow.appendChild(sb);
  }
  rateBox.appendChild(starsRow);
  var rateComment = el("textarea", { "data-testid": "parley-rating-comment", rows: "2", maxlength: "1000", placeholder: "Anything to add? (optional)", "aria-label": "Comment" });
  rateBox.appendChild(rateComment);
  var rateSend = el("button", { type: "button", class: "send", "data-testid": "parley-rating-send" }, "Send rating");
  rateBox.appendChild(rateSend);
  // The transcript: download it, or have it emailed.
  var toolsBox = el("div", { class: "tools", "data-testid": "parley-tools", hidden: "" });
  var dlBtn = el("button", { type: "button", "data-testid": "parley-transcript-download" }, "Download transcript");
  var mailBtn = el("button", { type: "button", "data-testid": "parley-transcript-email" }, "Email me the transcript");
  toolsBox.appendChild(dlBtn);
  toolsBox.appendChild(mailBtn);
  compose.appendChild(attachBtn);
  compose.appendChild(fileInput);
  compose.appendChild(input);
  compose.appendChild(sendBtn);
  panel.appendChild(head);
  panel.appendChild(errorBox);
  panel.appendChild(queueBox);
  panel.appendChild(list);
  panel.appendChild(typingBox);
  panel.appendChild(toolsBox);
  panel.appendChild(rateBox);
  panel.appendChild(deptBox);
  panel.appendChild(prechatBox);
  panel.appendChild(compose);
  wrap.appendChild(panel);
  wrap.appendChild(launcher);
  root.appendChild(wrap);

  function mount() {
    (document.body || document.documentElement).appendChild(host);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  function showError(msg) {
    if (msg) { errorBox.textContent = msg; errorBox.hidden = false; }
    else { errorBox.textContent = ""; errorBox.hidden = true; }
  }
  function setConn(state) {
    S.wsState = state;
    host.setAttribute("data-connection", state);
    panel.setAttribute("data-connection", state);
    var labels = { idle: "", connecting: "connecting\u2026", open: "connecting\u2026", authed: "connecting\u2026", live: "online", offline: "reconnecting\u2026" };
    connLabel.textContent = labels[state] || "";
  }
  setConn("idle");

  // ---------------------------------------------------------------- open / close
  function setOpen(open) {
    S.open = open;
    ssSet("open", open ? "1" : "0");
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    launcher.setAttribute("aria-label", open ? "Close chat" : "Open chat");
    if (open) {
      S.unread = 0;
      renderBadge();
      ensureStarted().then(loadDepartments, function () { /* shown */ });
      scrollToEnd();
      setTimeout(function () { try { input.focus(); } catch (e) { /* ignore */ } }, 0);
      maybeSendRead();
    }
  }
  launcher.addEventListener("click", function () { setOpen(!S.open); });
  closeBtn.addEventListener("click", function () { setOpen(false); });
  document.addEventListener("visibilitychange", maybeSendRead);
  window.addEventListener("focus", maybeSendRead);

  function renderBadge() {
    if (S.unread > 0 && !S.open) {
      badge.textContent = S.unread > 99 ? "99+" : String(S.unread);
      badge.hidden = false;
    } else {
      badge.hidden = true;
    }
  }

  function scrollToEnd() {
    list.scrollTop = list.scrollHeight;
  }

  // ---------------------------------------------------------------- REST
  function api(method, path, body) {
    var headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (S.token) headers.Authorization = "Bearer " + S.token;
    return fetch(CFG.server + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      mode: "cors",
      credentials: "omit",
    }).then(function (res) {
      return res.text().then(function (txt) {
        var data = null;
        if (txt) { try { data = JSON.parse(txt); } catch (e) { data = null; } }
        if (!res.ok) {
          var err = new Error((data && data.error && data.error.message) || ("HTTP " + res.status));
          err.status = res.status;
          err.code = data && data.error && data.error.code;
          err.retryAfter = Number(res.headers.get("Retry-After")) || 0;
          throw err;
        }
        return data;
      });
    });
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  function backoffDelay(attempt) {
    var base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, attempt));
    return Math.round(base / 2 + Math.random() * base / 2); // "equal jitter"
  }

  // Retry transient failures (network, 408, 429, 5xx) with back-off.
  function apiRetry(method, path, body, tries) {
    tries = tries || 6;
    var attempt = 0;
    function go() {
      return api(method, path, body).catch(function (err) {
        var transient = !err.status || err.status === 408 || err.status === 429 || err.status >= 500;
        attempt++;
        if (!transient || attempt >= tries) throw err;
        var wait = err.retryAfter ? err.retryAfter * 1000 : backoffDelay(attempt);
        return sleep(Math.min(wait, 30000)).then(go);
      });
    }
    return go();
  }

  // ---------------------------------------------------------------- session
  function ensureStarted() {
    if (S.started) return Promise.resolve();
    if (S.starting) return S.starting;
    if (!CFG.key) {
      showError("Chat is not configured (missing widget key).");
      var none = Promise.reject(new Error("missing widget key"));
      none.catch(function () { /* reported */ });
      return none;
    }
    S.starting = startSession()
      .then(function () {
        S.started = true;
        showError("");
        connect();
      })
      .catch(function (err) {
        showError(err.status === 404 ? "This chat is not available." : "Could not reach the chat server. Retrying\u2026");
        S.starting = null;
        if (err.status !== 404 && err.status !== 403) {
          setTimeout(ensureStarted, backoffDelay(4));
        }
        throw err;
      });
    S.starting.catch(function () { /* reported above */ });
    return S.starting;
  }

  function startSession(retried) {
    var hadToken = !!S.token;
    return startSessionOnce().catch(function (err) {
      if (err.status === 401 && hadToken && !retried) {
        // Our stored visitor token is not accepted any more: start afresh.
        S.token = null;
        lsSet("visitor_token", null);
        return startSession(true);
      }
      throw err;
    });
  }

  function startSessionOnce() {
    var body = { widget_key: CFG.key };
    if (S.token) body.visitor_token = S.token;
    if (CFG.name) body.name = CFG.name;
    if (CFG.email) body.email = CFG.email;
    addIdentity(body);
    return apiRetry("POST", "/v1/widget/session", body).then(function (res) {
      var vid = res && res.visitor && res.visitor.id;
      if (S.visitorId && vid && vid !== S.visitorId) {
        // The old token was not accepted: we are a new visitor now.
        resetConversationState();
      }
      S.token = res.visitor_token;
      S.visitorId = vid || null;
      S.prechat = (res.tenant && res.tenant.prechat) || null;
      S.visitor = res.visitor || null;
      lsSet("visitor_token", S.token);
      lsSet("visitor_id", S.visitorId);
      return loadConversation();
    });
  }

  function resetConversationState() {
    S.rated = false;
    S.conversation = null;
    S.convId = null;
    S.lastSeq = 0;
    S.events.clear();
    S.agentReadSeq = 0;
    S.readSent = 0;
    S.deliveredSent = 0;
    lsSet("conversation_id", null);
    lsSet("transcript", null);
    var items = list.querySelectorAll("[data-testid=parley-message]:not([data-state=pending])");
    for (var i = 0; i < items.length; i++) items[i].remove();
    updateEmpty();
    renderSeen();
  }

  function pickConversation(convs) {
    if (!convs || !convs.length) return null;
    var stored = lsGet("conversation_id");
    var best = null;
    for (var i = 0; i < convs.length; i++) {
      var c = convs[i];
      if (stored && c.id === stored) return c;
      if (!best || (c.created_at_ms || 0) > (best.created_at_ms || 0)) best = c;
    }
    return best;
  }

  function loadConversation() {
    return apiRetry("GET", "/v1/widget/conversations").then(function (res) {
      var conv = pickConversation(res && res.data);
      if (conv) adoptConversation(conv);
      renderCare();
    });
  }

  // ---------------------------------------------------------------- pre-chat form, rating, transcript
  function prechatMode(f) {
    var m = S.prechat && S.prechat[f];
    return m === "optional" || m === "required" ? m : "off";
  }

  function renderCare() {
    var asking = false;
    ["name", "email", "phone"].forEach(function (f) {
      var mode = prechatMode(f);
      var inp = prechatInputs[f];
      inp.hidden = mode === "off" || !!S.convId;
      inp.required = mode === "required";
      inp.placeholder = inp.getAttribute("aria-label") + (mode === "required" ? " (required)" : " (optional)");
      if (!inp.value && S.visitor && S.visitor[f]) inp.value = S.visitor[f];
      if (!inp.hidden) asking = true;
    });
    prechatBox.hidden = !asking;
    toolsBox.hidden = !S.convId;
    var c = S.conversation;
    var done = c && (c.status === "resolved" || c.status === "closed");
    rateBox.hidden = !(S.convId && done && !c.rating && !S.rated);
  }

  // The form's answers for the first message; null after showing what is missing.
  function prechatAnswers() {
    var out = {};
    var fields = ["name", "email", "phone"];
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i], mode = prechatMode(f);
      if (mode === "off") continue;
      var v = prechatInputs[f].value.replace(/^\s+|\s+$/g, "");
      if (!v && mode === "required") {
        showError("Please fill in your " + f + ".");
        prechatInputs[f].focus();
        return null;
      }
      if (v) out[f] = v;
    }
    return out;
  }

  var chosenScore = 0;
  starBtns.forEach(function (b, i) {
    b.addEventListener("click", function () {
      chosenScore = i + 1;
      starBtns.forEach(function (x, j) { x.setAttribute("aria-pressed", String(j < chosenScore)); });
    });
  });
  rateSend.addEventListener("click", function () {
    if (!chosenScore) { showError("Choose from 1 to 5 stars."); return; }
    var body = { score: chosenScore };
    var comment = rateComment.value.replace(/^\s+|\s+$/g, "");
    if (comment) body.comment = comment;
    rateSend.disabled = true;
    api("POST", "/v1/widget/conversations/" + encodeURIComponent(S.convId) + "/rating", body).then(function () {
      S.rated = true;
      showError("");
      renderCare();
    }, function (err) {
      if (err.status === 409) { S.rated = true; renderCare(); }
      showError(err.message || "The rating could not be sent.");
    }).then(function () { rateSend.disabled = false; });
  });

  function authedGet(path) {
    return fetch(CFG.server + path, { headers: { Authorization: "Bearer " + S.token }, mode: "cors", credentials: "omit" });
  }
  dlBtn.addEventListener("click", function () {
    if (!S.convId) return;
    var id = S.convId;
    authedGet("/v1/widget/conversations/" + encodeURIComponent(id) + "/transcript?format=html").then(function (res) {
      if (!res.ok) throw new Error("HTTP " + res.status);
      return res.blob();
    }).then(function (b) {
      var url = URL.createObjectURL(b);
      var a = el("a", { href: url, download: "conversation-" + id + ".html", "data-testid": "parley-transcript-link" });
      root.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    }).catch(function (err) { showError("The transcript could not be downloaded: " + err.message); });
  });
  mailBtn.addEventListener("click", function () {
    if (!S.convId) return;
    mailBtn.disabled = true;
    api("POST", "/v1/widget/conversations/" + encodeURIComponent(S.convId) + "/transcript/email").then(function (res) {
      showError("");
      mailBtn.textContent = "Transcript sent to " + (res && res.sent_to ? res.sent_to : "your email");
    }, function (err) {
      showError(err.message || "The transcript could not be emailed.");
    }).then(function () { mailBtn.disabled = false; });
  });

  // Restore the cached transcript for a conversation and remember it.
  function adoptConversation(conv) {
    if (S.convId && S.convId !== conv.id) resetConversationState();
    S.conversation = conv;
    if (S.convId !== conv.id) {
      S.convId = conv.id;
      lsSet("conversation_id", conv.id);
      var cache = lsGet("transcript");
      if (cache && cache.conversation_id === conv.id && Array.isArray(cache.events)) {
        for (var i = 0; i < cache.events.length; i++) applyEvent(cache.events[i], true);
        S.lastSeq = Math.max(S.lastSeq, Number(cache.last_seq) || 0);
      }
    }
    if (typeof conv.agent_read_seq === "number" && conv.agent_read_seq > S.agentReadSeq) {
      S.agentReadSeq = conv.agent_read_seq;
      renderSeen();
    }
  }

  var saveTimer = 0;
  function saveTranscript() {
    if (saveTimer) return;
    saveTimer = setTimeout(function () {
      saveTimer = 0;
      if (!S.convId) return;
      var seqs = Array.from(S.events.keys()).sort(function (a, b) { return a - b; });
      if (seqs.length > CACHE_EVENTS) seqs = seqs.slice(seqs.length - CACHE_EVENTS);
      lsSet("transcript", {
        conversation_id: S.convId,
        last_seq: S.lastSeq,
        events: seqs.map(function (s) { return S.events.get(s); }),
      });
    }, 50);
  }
  window.addEventListener("pagehide", function () {
    if (saveTimer) { clearTimeout(saveTimer); saveTimer = 0; }
    if (!S.convId) return;
    var seqs = Array.from(S.events.keys()).sort(function (a, b) { return a - b; }).slice(-CACHE_EVENTS);
    lsSet("transcript", { conversation_id: S.convId, last_seq: S.lastSeq, events: seqs.map(function (s) { return S.events.get(s); }) });
  });

  // ---------------------------------------------------------------- rendering
  function updateEmpty() {
    var any = list.querySelector("[data-testid=parley-message]");
    emptyNote.hidden = !!any;
    emptyNote.style.display = any ? "none" : "";
  }

  function eventLabel(ev) {
    switch (ev.kind) {
      case "message":
        return ev.text == null ? "" : String(ev.text);
      case "status":
        if (ev.status === "resolved") return "This conversation was marked as resolved.";
        if (ev.status === "closed") return "This conversation was closed.";
        return "Conversation status: " + String(ev.status || "");
      case "assigned":
        return ev.assignee && ev.assignee.name ? String(ev.assignee.name) + " joined the conversation." : "An agent joined the conversation.";
      case "rating":
        return "You rated this conversation " + String(ev.score) + " of 5.";
      default:
        return null; // "created" and anything unknown: not shown
    }
  }

  function senderType(ev) {
    if (ev.kind !== "message") return "system";
    var t = ev.sender && ev.sender.type;
    return t === "visitor" || t === "agent" ? t : "system";
  }

  function buildMessage(ev, text) {
    var sender = senderType(ev);
    var node = el("div", { class: "msg", "data-testid": "parley-message", "data-sender": sender, "data-kind": ev.kind || "message" });
    if (sender === "agent" && ev.sender && ev.sender.name) {
      node.appendChild(el("span", { class: "who" }, String(ev.sender.name)));
    }
    var files = Array.isArray(ev.files) ? ev.files : [];
    if (text || !files.length) node.appendChild(el("span", { class: "text" }, text));
    if (files.length) node.appendChild(buildFiles(files));
    return node;
  }

  // ---------------------------------------------------------------- files
  // Files are fetched with the visitor token (an <img src> cannot send
  // one) and shown from object URLs, one fetch per file id.
  var fileBlobs = new Map();
  function fileBlobUrl(f) {
    if (!fileBlobs.has(f.id)) {
      var path = "/v1/widget/conversations/" + encodeURIComponent(S.convId) + "/files/" + encodeURIComponent(f.id);
      var p = fetch(CFG.server + path, { headers: { Authorization: "Bearer " + S.token }, mode: "cors", credentials: "omit" })
        .then(function (res) {
          if (!res.ok) throw new Error("HTTP " + res.status);
          return res.blob();
        })
        .then(function (b) { return URL.createObjectURL(b); });
      fileBlobs.set(f.id, p);
      p.catch(function () { fileBlobs.delete(f.id); });
    }
    return fileBlobs.get(f.id);
  }

  function fmtSize(n) {
    n = Number(n) || 0;
    return n < 1024 ? n + " B" : n < 1048576 ? (n / 1024).toFixed(1) + " KB" : (n / 1048576).toFixed(1) + " MB";
  }

  function buildFiles(files) {
    var box = el("div", { class: "files" });
    files.forEach(function (f) {
      if (/^image\//.test(String(f.type))) {
        var img = el("img", { "data-testid": "parley-attachment-image", alt: String(f.name), "data-file-id": f.id });
        fileBlobUrl(f).then(function (u) { img.src = u; }, function () { img.alt = f.name + " (not available)"; });
        box.appendChild(img);
      } else {
        var a = el("a", { "data-testid": "parley-attachment-link", href: "#", "data-file-id": f.id }, f.name + " (" + fmtSize(f.size) + ")");
        a.addEventListener("click", function (e) {
          e.preventDefault();
          fileBlobUrl(f).then(function (u) {
            var link = el("a", { href: u, download: String(f.name) });
            root.appendChild(link);
            link.click();
            link.remove();
          }, function (err) { showError("Download failed: " + err.message); });
        });
        box.appendChild(a);
      }
    });
    return box;
  }

  // Uploads with progress (XMLHttpRequest reports upload progress; fetch
  // does not); the file then goes out as a message of its own.
  function uploadFile(file) {
    var node = el("div", { class: "upload", "data-testid": "parley-upload" });
    if (/^image\//.test(file.type)) {
      var prev = el("img", { "data-testid": "parley-upload-preview", alt: file.name });
      prev.src = URL.createObjectURL(file);
      node.appendChild(prev);
    }
    node.appendChild(el("span", null, file.name + " (" + fmtSize(file.size) + ")"));
    var bar = el("progress", { max: "100", value: "0", "data-testid": "parley-upload-progress" });
    node.appendChild(bar);
    list.appendChild(node);
    updateEmpty();
    scrollToEnd();
    function fail(msg) {
      if (node.parentNode) node.remove();
      showError("Upload failed: " + msg);
    }
    ensureStarted()
      .then(function () {
        if (S.convId) return null;
        return S.creating || api("POST", "/v1/widget/conversations", {}).then(function (conv) {
          adoptConversation(conv);
          subscribe();
        });
      })
      .then(function () {
        var xhr = new XMLHttpRequest();
        xhr.open("POST", CFG.server + "/v1/widget/conversations/" + encodeURIComponent(S.convId) + "/files");
        xhr.setRequestHeader("Authorization", "Bearer " + S.token);
        xhr.upload.addEventListener("progress", function (e) {
          if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
        });
        xhr.addEventListener("load", function () {
          var body = null;
          try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
          if (xhr.status !== 201 || !body || !body.id) {
            fail((body && body.error && body.error.message) || "HTTP " + xhr.status);
            return;
          }
          if (node.parentNode) node.remove();
          showError("");
          addPending("", null, [{ id: body.id, name: body.name, type: body.type, size: body.size }]);
          flushPending();
        });
        xhr.addEventListener("error", function () { fail("cannot reach the server"); });
        var fd = new FormData();
        fd.append("file", file, file.name);
        xhr.send(fd);
      })
      .catch(function (err) { fail(err && err.message ? err.message : "error"); });
  }

  attachBtn.addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    var files = Array.prototype.slice.call(fileInput.files || []);
    fileInput.value = "";
    files.forEach(uploadFile);
  });

  // Insert a node with data-seq in seq order; pending messages stay last.
  function insertBySeq(node, seq) {
    var items = list.querySelectorAll("[data-testid=parley-message]");
    for (var i = 0; i < items.length; i++) {
      var it = items[i];
      if (it === node) continue;
      var has = it.hasAttribute("data-seq");
      if (!has || Number(it.getAttribute("data-seq")) > seq) {
        list.insertBefore(node, it);
        return;
      }
    }
    list.appendChild(node);
  }

  // Apply one stored event (from replay, live stream or cache). Idempotent by seq.
  function applyEvent(ev, fromCache) {
    if (!ev || ev.conversation_id !== S.convId && !fromCache) return;
    var seq = Number(ev.seq);
    if (!(seq > 0)) return;
    if (ev.kind === "note" || ev.private === true) return; // visitors never show notes
    if (seq > S.lastSeq) S.lastSeq = seq;
    if (S.events.has(seq)) return; // dedupe
    var text = eventLabel(ev);
    var store = {
      conversation_id: ev.conversation_id, seq: seq, kind: ev.kind, client_id: ev.client_id, text: ev.text,
      status: ev.status, assignee: ev.assignee, sender: ev.sender, created_at: ev.created_at, created_at_ms: ev.created_at_ms,
      files: ev.files,
    };
    S.events.set(seq, store);
    if (!fromCache && S.conversation && ev.conversation_id === S.convId && (ev.kind === "status" || ev.kind === "rating")) {
      if (ev.kind === "status") S.conversation.status = ev.status;
      else S.conversation.rating = ev.score;
      renderCare();
    }
    if (text == null) { if (!fromCache) saveTranscript(); return; }

    var node = null;
    // Our own message that we are still showing as pending: reuse its node.
    if (ev.client_id && S.pending.has(ev.client_id)) {
      var p = S.pending.get(ev.client_id);
      S.pending.delete(ev.client_id);
      savePending();
      node = p.el;
      if (node && node.parentNode) node.remove();
      if (node) {
        node.setAttribute("data-state", "sent");
        node.setAttribute("data-sender", senderType(ev));
      }
    }
    if (!node) node = buildMessage(ev, text);
    node.setAttribute("data-seq", String(seq));
    if (!node.getAttribute("data-state")) node.setAttribute("data-state", "sent");
    insertBySeq(node, seq);
    updateEmpty();

    if (ev.kind === "message" && senderType(ev) === "agent") {
      hideAgentTyping();
      if (!fromCache && !S.open) { S.unread++; renderBadge(); }
    }
    if (!fromCache) saveTranscript();
    renderSeen();
    scrollToEnd();
  }

  // "Seen" goes under the newest visitor message the agent has read.
  function renderSeen() {
    var target = null;
    if (S.agentReadSeq > 0) {
      var mine = list.querySelectorAll("[data-testid=parley-message][data-sender=visitor][data-seq]");
      for (var i = mine.length - 1; i >= 0; i--) {
        if (Number(mine[i].getAttribute("data-seq")) <= S.agentReadSeq) { target = mine[i]; break; }
      }
    }
    if (!target) { if (seenMarker.parentNode) seenMarker.remove(); return; }
    if (seenMarker.previousSibling !== target || !seenMarker.parentNode) list.insertBefore(seenMarker, target.nextSibling);
  }

  // ---------------------------------------------------------------- pending sends
  function savePending() {
    var arr = [];
    S.pending.forEach(function (p) { if (!p.failed) arr.push({ client_id: p.client_id, text: p.text, files: p.files }); });
    lsSet("pending", arr.length ? { conversation_id: S.convId, items: arr } : null);
  }

  function addPending(text, clientId, files) {
    var p = { client_id: clientId || uuid(), text: text, files: files || null, sentOn: null, el: null };
    var node = buildMessage({ kind: "message", sender: { type: "visitor" }, files: p.files }, text);
    node.setAttribute("data-state", "pending");
    node.setAttribute("data-client-id", p.client_id);
    list.appendChild(node);
    p.el = node;
    S.pending.set(p.client_id, p);
    savePending();
    updateEmpty();
    scrollToEnd();
    return p;
  }

  function restorePending() {
    var saved = lsGet("pending");
    if (!saved || !Array.isArray(saved.items)) return;
    for (var i = 0; i < saved.items.length; i++) {
      var it = saved.items[i];
      if (it && it.client_id && typeof it.text === "string" && !S.pending.has(it.client_id)) addPending(it.text, it.client_id, Array.isArray(it.files) ? it.files : null);
    }
  }

  function onSendAck(p, frame) {
    if (!S.pending.has(p.client_id)) return; // event already arrived
    var seq = Number(frame.seq);
    S.pending.delete(p.client_id);
    savePending();
    if (seq > 0 && S.events.has(seq)) {
      // Already rendered from the stream (matched by seq): drop the pending copy.
      if (p.el && p.el.parentNode) p.el.remove();
    } else if (seq > 0) {
      // Ack before the event: promote the pending node; the event will
      // find it by seq and not render a second copy.
      S.events.set(seq, {
        conversation_id: S.convId, seq: seq, kind: "message", client_id: p.client_id, text: p.text,
        sender: { type: "visitor", id: S.visitorId }, files: p.files || undefined,
      });
      if (seq > S.lastSeq) S.lastSeq = seq;
      if (p.el.parentNode) p.el.remove();
      p.el.setAttribute("data-seq", String(seq));
      p.el.setAttribute("data-state", "sent");
      insertBySeq(p.el, seq);
      saveTranscript();
      renderSeen();
    }
    updateEmpty();
  }

  function flushPending() {
    if (S.wsState !== "live" || !S.convId) return;
    S.pending.forEach(function (p) {
      if (p.failed || p.sentOn === S.ws) return; // already sent on this connection
      sendPendingOverWs(p);
    });
  }

  function sendPendingOverWs(p) {
    p.sentOn = S.ws;
    var frame = { type: "send", conversation_id: S.convId, client_id: p.client_id, text: p.text };
    if (p.files && p.files.length) frame.files = p.files.map(function (f) { return f.id; });
    request(frame, function (frame) {
      if (frame.type === "ack") return onSendAck(p, frame);
      var code = frame.error && frame.error.code;
      if (code === "busy" || code === "internal") {
        // Retry on the same connection with the same client_id.
        p.sentOn = null;
        setTimeout(function () { if (S.pending.has(p.client_id) && S.wsState === "live") sendPendingOverWs(p); }, backoffDelay(2));
      } else if (code === "forbidden" || code === "not_found") {
        // The conversation is no longer writable for us: start a new one.
        p.sentOn = null;
        startNewConversationWith(p);
      } else if (code === "unauthenticated") {
        p.sentOn = null; // the reconnect path re-auths and resends
      } else {
        p.failed = true;
        p.el.setAttribute("data-state", "failed");
        p.el.title = (frame.error && frame.error.message) || "Not sent";
        savePending();
      }
    });
  }

  function startNewConversationWith(p) {
    resetConversationState();
    createConversation(p);
  }

  var deptsLoaded = false;
  function loadDepartments() {
    if (deptsLoaded || S.convId) return;
    deptsLoaded = true;
    api("GET", "/v1/widget/departments").then(function (res) {
      var ds = (res && res.data) || [];
      if (ds.length < 2 || S.convId) return;
      ds.forEach(function (d) {
        var o = el("option", { value: d.id, "data-slug": d.slug }, d.name);
        if (d.is_default) o.selected = true;
        deptSelect.appendChild(o);
      });
      deptBox.hidden = false;
    }, function () { deptsLoaded = false; });
  }

  // The very first message creates the conversation over REST.
  function createConversation(p) {
    if (S.creating) return S.creating;
    p.sentOn = "rest";
    var first = { text: p.text, client_id: p.client_id };
    if (!deptBox.hidden && deptSelect.value) first.department_id = deptSelect.value;
    var answers = p.prechat || {};
    for (var k in answers) first[k] = answers[k];
    deptBox.hidden = true;
    S.creating = api("POST", "/v1/widget/conversations", first)
      .catch(function (err) {
        // An ambiguous failure may still have created it: look before retrying.
        if (err.status && err.status < 500 && err.status !== 408 && err.status !== 429) throw err;
        return sleep(backoffDelay(2)).then(function () {
          return apiRetry("GET", "/v1/widget/conversations").then(function (res) {
            var conv = pickConversation(res && res.data);
            if (conv) return conv;
            return apiRetry("POST", "/v1/widget/conversations", first);
          });
        });
      })
      .then(function (conv) {
        S.creating = null;
        adoptConversation(conv);
        renderCare();
        var lm = conv.last_message;
        if (S.pending.has(p.client_id)) {
          if (lm && lm.seq && lm.text === p.text) onSendAck(p, { seq: lm.seq });
          else p.sentOn = null; // not stored with the conversation: send over WS
        }
        savePending();
        subscribe();
      })
      .catch(function (err) {
        S.creating = null;
        p.sentOn = null;
        p.failed = true;
        p.el.setAttribute("data-state", "failed");
        showError("Your message could not be sent" + (err && err.message ? ": " + err.message : "."));
      });
    return S.creating;
  }

  function submit() {
    var text = input.value.replace(/^\s+|\s+$/g, "");
    if (!text) return;
    if (new TextEncoder().encode(text).length > 8000) { showError("Message too long."); return; }
    var answers = null;
    if (!S.convId && !prechatBox.hidden) {
      answers = prechatAnswers();
      if (!answers) return;
    }
    showError("");
    input.value = "";
    stopTyping();
    var p = addPending(text);
    if (answers) p.prechat = answers;
    if (S.conversation && (S.conversation.status === "resolved" || S.conversation.status === "closed")) {
      S.conversation.status = "open";   // a message reopens it: no rating prompt meanwhile
      renderCare();
    }
    ensureStarted().then(function () {
      if (!S.convId) createConversation(p);
      else flushPending();
    }, function () { /* error shown; retried by ensureStarted */ });
  }

  compose.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });

  // ---------------------------------------------------------------- typing
  function sendTyping(state) {
    if (S.wsState !== "live" || !S.convId) return;
    wsSend({ type: "typing", conversation_id: S.convId, state: state });
  }
  function stopTyping() {
    clearTimeout(S.typingIdleTimer);
    if (S.typingOn) { S.typingOn = false; S.typingLastSent = 0; sendTyping(false); }
  }
  input.addEventListener("input", function () {
    if (!input.value) { stopTyping(); return; }
    var now = Date.now();
    if (!S.typingOn || now - S.typingLastSent >= TYPING_SEND_EVERY_MS) {
      S.typingOn = true;
      S.typingLastSent = now;
      sendTyping(true);
    }
    clearTimeout(S.typingIdleTimer);
    S.typingIdleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  });
  input.addEventListener("blur", stopTyping);

  function showAgentTyping() {
    typingBox.hidden = false;
    clearTimeout(S.agentTypingTimer);
    S.agentTypingTimer = setTimeout(hideAgentTyping, TYPING_SHOW_MS);
  }
  function hideAgentTyping() {
    clearTimeout(S.agentTypingTimer);
    typingBox.hidden = true;
  }

  // ---------------------------------------------------------------- receipts
  function maxShownSeq() {
    var m = 0;
    S.events.forEach(function (_, s) { if (s > m) m = s; });
    return m;
  }
  function maybeSendDelivered() {
    if (S.wsState !== "live" || !S.convId) return;
    var m = maxShownSeq();
    if (m > S.deliveredSent && wsSend({ type: "delivered", conversation_id: S.convId, seq: m })) S.deliveredSent = m;
  }
  function maybeSendRead() {
    if (!S.open || document.visibilityState !== "visible" || S.wsState !== "live" || !S.convId) return;
    var m = maxShownSeq();
    if (m > S.readSent && wsSend({ type: "read", conversation_id: S.convId, seq: m })) {
      S.readSent = m;
      if (m > S.deliveredSent) S.deliveredSent = m; // the server stores read as delivered too
    }
  }
  var receiptTimer = 0;
  function scheduleReceipts() {
    if (receiptTimer) return;
    receiptTimer = setTimeout(function () {
      receiptTimer = 0;
      maybeSendRead();
      maybeSendDelivered();
    }, 300);
  }

  // ---------------------------------------------------------------- WebSocket
  function wsSend(obj) {
    if (!S.ws || S.ws.readyState !== 1) return false;
    try { S.ws.send(JSON.stringify(obj)); return true; } catch (e) { return false; }
  }

  function request(obj, handler) {
    var id = "w" + (++S.frameId);
    obj.id = id;
    var ws = S.ws;
    S.inflight.set(id, { ws: ws, handler: handler });
    if (!wsSend(obj)) S.inflight.delete(id);
    return id;
  }

  function connect() {
    if (S.ws || !S.started) return;
    clearTimeout(S.reconnectTimer);
    var url = CFG.server.replace(/^http/i, "ws") + "/v1/widget/ws?key=" + encodeURIComponent(CFG.key);
    var ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    S.ws = ws;
    setConn("connecting");
    ws.onopen = function () {
      if (S.ws !== ws) return;
      setConn("open");
      request({ type: "auth", token: S.token }, function (frame) {
        if (frame.type === "ack") {
          setConn("authed");
          S.backoffAttempt = 0;
          if (S.convId) subscribe();
          else setConn("live");
        } else if (frame.error && frame.error.code === "unauthenticated") {
          // The visitor token is no longer valid: start a fresh session.
          S.started = false;
          S.starting = null;
          S.token = null;
          lsSet("visitor_token", null);
          try { ws.close(1000); } catch (e) { /* ignore */ }
        } else {
          // Anything else (internal, busy…): drop the socket and retry.
          try { ws.close(1000); } catch (e) { /* ignore */ }
        }
      });
    };
    ws.onmessage = function (msg) {
      if (S.ws !== ws) return;
      var frame;
      try { frame = JSON.parse(msg.data); } catch (e) { return; }
      if (!frame || typeof frame !== "object") return;
      onFrame(frame);
    };
    ws.onclose = function () {
      if (S.ws !== ws) return;
      S.ws = null;
      S.inflight.forEach(function (v, k) { if (v.ws === ws) S.inflight.delete(k); });
      S.pending.forEach(function (p) { if (p.sentOn === ws) p.sentOn = null; });
      setConn("offline");
      hideAgentTyping();
      scheduleReconnect();
    };
    ws.onerror = function () { /* onclose follows */ };
  }

  function scheduleReconnect() {
    clearTimeout(S.reconnectTimer);
    var delay = backoffDelay(S.backoffAttempt++);
    S.reconnectTimer = setTimeout(function () {
      if (!S.started) ensureStarted();
      else connect();
    }, delay);
  }
  window.addEventListener("online", function () {
    if (!S.ws && S.started) { S.backoffAttempt = 0; clearTimeout(S.reconnectTimer); connect(); }
  });

  function subscribe() {
    if (!S.ws || !S.convId || (S.wsState !== "authed" && S.wsState !== "live")) return;
    var convId = S.convId;
    setConn("authed");
    request({ type: "subscribe", conversation_id: convId, after_seq: S.lastSeq }, function (frame) {
      if (convId !== S.convId) return;
      if (frame.type === "ack") {
        if (typeof frame.last_seq === "number" && frame.last_seq > S.lastSeq && !frame.more) {
          // Everything up to last_seq was replayed (gaps are notes).
          S.lastSeq = frame.last_seq;
          saveTranscript();
        }
        if (frame.more) { subscribe(); return; } // more than one page missing
        setConn("live");
        flushPending();
        scheduleReceipts();
        if (S.typingOn) sendTyping(true); // still typing across a reconnect
        refreshReceipts(convId);
      } else if (frame.error && frame.error.code === "not_found") {
        // Conversation gone (or not ours any more): forget it.
        resetConversationState();
        setConn("live");
        flushPending();
      } else {
        // busy / internal: try again on this connection.
        setTimeout(function () { if (convId === S.convId) subscribe(); }, backoffDelay(2));
      }
    });
  }

  // Receipts are not replayed on resume: read the agent's read_seq from the
  // conversation object after every (re)subscribe.
  function refreshReceipts(convId) {
    api("GET", "/v1/widget/conversations").then(function (res) {
      var list = (res && res.data) || [];
      for (var i = 0; i < list.length; i++) {
        var c = list[i];
        if (c.id === convId && convId === S.convId) {
          S.conversation = c;
          if (typeof c.agent_read_seq === "number" && c.agent_read_seq > S.agentReadSeq) {
            S.agentReadSeq = c.agent_read_seq;
            renderSeen();
          }
        }
      }
    }, function () { /* best effort */ });
  }

  function fmtWait(s) {
    if (!(s > 0)) return "";
    if (s < 90) return " \u2014 about a minute";
    return " \u2014 about " + Math.round(s / 60) + " minutes";
  }

  var wasOffline = false;
  function onQueue(f) {
    queueBox.hidden = false;
    if (f.offline) {
      wasOffline = true;
      queueText.textContent = "Nobody can answer right now. Leave your email and we will get back to you.";
      offlineForm.hidden = !!S.emailLeft;
      if (S.emailLeft) queueText.textContent += " We will write to " + S.emailLeft + ".";
      queueBox.setAttribute("data-state", "offline");
      return;
    }
    offlineForm.hidden = true;
    queueText.textContent = (wasOffline ? "An agent is available now. " : "") +
      "You are number " + f.position + " in the queue" + fmtWait(f.estimated_wait_s) + ".";
    queueBox.setAttribute("data-state", wasOffline ? "available" : "waiting");
    queueBox.setAttribute("data-position", String(f.position));
  }

  function hideQueue() {
    queueBox.hidden = true;
    queueBox.removeAttribute("data-state");
    wasOffline = false;
  }

  offlineForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var email = offlineEmail.value.trim();
    if (!email) return;
    // the visitor's details: the session route with the visitor's token
    api("POST", "/v1/widget/session", { widget_key: CFG.key, visitor_token: S.token, email: email })
      .then(function (res) {
        if (res && res.visitor_token) {
          S.token = res.visitor_token;
          lsSet("visitor_token", S.token);
        }
        S.emailLeft = email;
        offlineForm.hidden = true;
        queueText.textContent = "Thank you \u2014 we will write to " + email + ".";
        queueBox.setAttribute("data-state", "email-left");
      }, function (err) { showError("Could not save your email: " + err.message); });
  });

  function onFrame(f) {
    if ((f.type === "ack" || f.type === "error") && f.id && S.inflight.has(f.id)) {
      var h = S.inflight.get(f.id);
      S.inflight.delete(f.id);
      h.handler(f);
      return;
    }
    switch (f.type) {
      case "queue_position":
        if (f.conversation_id !== S.convId) return;
        onQueue(f);
        break;
      case "event":
        if (f.conversation_id !== S.convId) return;
        if (f.kind === "assigned" && f.assignee) hideQueue();
        applyEvent(f, false);
        scheduleReceipts();
        break;
      case "typing":
        if (f.conversation_id !== S.convId) return;
        if (f.sender && f.sender.type === "agent") {
          if (f.state) showAgentTyping();
          else hideAgentTyping();
        }
        break;
      case "receipt":
        if (f.conversation_id !== S.convId) return;
        if (f.side === "agent" && typeof f.read_seq === "number" && f.read_seq > S.agentReadSeq) {
          S.agentReadSeq = f.read_seq;
          renderSeen();
        }
        break;
      default:
        break; // errors without id, unknown frames: nothing to do
    }
  }

  // ---------------------------------------------------------------- tracking
  // One page view when the widget loads and one on each history navigation
  // (pushState, popstate) of a single-page site: POST /v1/widget/pageview
  // with the visitor token. A first-time visitor gets a token for it (a
  // session call, no socket). Nothing is sent when the browser asks not to
  // be tracked (Do-Not-Track, Global Privacy Control): the server would
  // store nothing anyway (it answers 204), and no visitor is made for it.
  function addIdentity(body) {
    if (CFG.userId && CFG.userHash) {
      body.user_id = String(CFG.userId);
      body.user_hash = String(CFG.userHash);
    }
  }

  function privacyAsked() {
    return navigator.doNotTrack === "1" || window.doNotTrack === "1" || navigator.globalPrivacyControl === true;
  }

  var track = { last: null, token: null, chain: Promise.resolve() };

  function trackingToken() {
    if (S.token) return Promise.resolve(S.token);
    if (track.token) return track.token;
    var body = { widget_key: CFG.key };
    addIdentity(body);
    track.token = apiRetry("POST", "/v1/widget/session", body, 3).then(function (res) {
      if (!S.token) {
        S.token = res.visitor_token;
        S.visitorId = (res.visitor && res.visitor.id) || null;
        lsSet("visitor_token", S.token);
        lsSet("visitor_id", S.visitorId);
      }
      track.token = null;
      return S.token;
    }, function (err) { track.token = null; throw err; });
    return track.token;
  }

  function sendPageview(referrer, retried) {
    var body = { url: location.href, title: document.title || "" };
    if (referrer) body.referrer = referrer;
    if (navigator.language) body.language = navigator.language;
    if (window.screen && screen.width && screen.height) body.screen = screen.width + "x" + screen.height;
    return trackingToken().then(function () {
      return api("POST", "/v1/widget/pageview", body);
    }).catch(function (err) {
      if (err.status === 401 && !retried && S.token) {
        // the stored token is not accepted any more: a fresh one, once
        S.token = null;
        lsSet("visitor_token", null);
        return sendPageview(referrer, true);
      }
      // rate-limited, offline, refused: a page view is not worth a retry
    });
  }

  function trackPage(referrer) {
    if (!CFG.tracking || !CFG.key || privacyAsked()) return;
    if (location.href === track.last) return; // pushState to the same URL
    var from = track.last;
    track.last = location.href;
    // in order, one at a time (the server numbers a session's pages)
    track.chain = track.chain.then(function () { return sendPageview(referrer || from || ""); });
  }

  function startTracking() {
    trackPage(document.referrer);
    var push = history.pushState;
    history.pushState = function () {
      var r = push.apply(this, arguments);
      setTimeout(function () { trackPage(); }, 0); // after the page sets its new title
      return r;
    };
    window.addEventListener("popstate", function () { setTimeout(function () { trackPage(); }, 0); });
  }

  // ---------------------------------------------------------------- boot
  restorePending();
  startTracking();
  panel.hidden = !S.open;
  launcher.setAttribute("aria-expanded", S.open ? "true" : "false");
  // A returning visitor (or an open panel) connects right away so replies
  // arrive and unsent messages go out; a first-time visitor only when they
  // open the chat.
  if (S.token || S.open || S.pending.size) {
    ensureStarted().then(function () {
      if (!S.convId) {
        var first = null;
        S.pending.forEach(function (p) { if (!first && !p.failed) first = p; });
        if (first) createConversation(first);
      }
    }, function () { /* shown */ });
  }

  // Small API for the host page (and tests).
  window.ParleyWidget = Object.assign(window.ParleyWidget && typeof window.ParleyWidget === "object" ? window.ParleyWidget : {}, {
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    state: function () { return { connection: S.wsState, conversation_id: S.convId, last_seq: S.lastSeq, pending: S.pending.size }; },
  });
})();
