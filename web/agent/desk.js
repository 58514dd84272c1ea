// The support desk in the agent console: the presence switch (online /
// away, PUT /v1/presence) and the waiting list (GET /v1/queue) with a
// department filter, ordered as the server orders it (effective priority,
// then the longest wait), wait times ticking, and a pick-up button (the
// assignment to oneself). Live: `presence` events for the signed-in user,
// `queue` events (supervisors and up); agents' lists follow their inbox
// (docs/realtime.md).

export function createDesk(ctx) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    presence: $("presence-select"), filter: $("queue-department"), list: $("waiting-list"),
    empty: $("waiting-empty"), count: $("waiting-count"),
  };
  const queues = new Map(); // department id -> {department_id, name, waiting:[...]}
  let tick = null;
  let refreshTimer = null;
  let running = false;

  const me = () => ctx.user() || {};

  function fmtWait(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
    return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
  }

  function renderFilter() {
    const cur = ui.filter.value;
    const opts = [ctx.el("option", { value: "" }, "All departments")];
    for (const q of queues.values()) opts.push(ctx.el("option", { value: q.department_id }, q.name));
    ui.filter.replaceChildren(...opts);
    ui.filter.value = queues.has(cur) ? cur : "";
  }

  function entries() {
    const want = ui.filter.value;
    const out = [];
    for (const q of queues.values()) {
      if (want && q.department_id !== want) continue;
      for (const w of q.waiting) out.push({ ...w, department: q.name });
    }
    // one order everywhere: effective priority, then the longest wait
    const rank = { urgent: 3, high: 2, medium: 1, low: 0 };
    out.sort((a, b) => (rank[b.effective_priority] - rank[a.effective_priority]) ||
      (Date.parse(a.waiting_since) - Date.parse(b.waiting_since)));
    return out;
  }

  function render() {
    const list = entries();
    ui.count.textContent = list.length ? `(${list.length})` : "";
    ui.empty.hidden = list.length > 0;
    const now = Date.now();
    ui.list.replaceChildren(...list.map((w) => {
      const li = ctx.el("li", { "data-testid": "waiting-item", "data-conversation-id": w.conversation_id,
        "data-priority": w.effective_priority });
      const pr = ctx.el("span", { class: `prio prio-${w.effective_priority}`, "data-testid": "waiting-priority" },
        w.effective_priority);
      const wait = ctx.el("span", { class: "muted", "data-testid": "waiting-time",
        "data-since": w.waiting_since }, fmtWait(now - Date.parse(w.waiting_since)));
      const dept = ctx.el("span", { class: "muted" }, w.department + (w.offline ? " · offline" : ""));
      const pick = ctx.el("button", { type: "button", "data-testid": "pick-up" }, "Pick up");
      pick.addEventListener("click", () => {
        pick.disabled = true;
        ctx.api("POST", `/v1/conversations/${w.conversation_id}/assign`)
          .then(() => { refresh(); if (ctx.open) ctx.open(w.conversation_id); })
          .catch((err) => { pick.disabled = false; ctx.showError(`Could not pick it up: ${err.message}`); });
      });
      li.append(pr, " ", wait, " ", dept, " ", pick);
      return li;
    }));
  }

  function updateTimes() {
    const now = Date.now();
    for (const t of ui.list.querySelectorAll("[data-testid=waiting-time]")) {
      t.textContent = fmtWait(now - Date.parse(t.getAttribute("data-since")));
    }
  }

  function refresh() {
    return ctx.api("GET", "/v1/queue").then((res) => {
      queues.clear();
      for (const q of (res && res.departments) || []) queues.set(q.department_id, q);
      renderFilter();
      render();
    }).catch((err) => { if (err.status !== 401) ctx.showError(`Could not load the waiting list: ${err.message}`); });
  }

  // many inbox changes in a row: one reload
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 300);
  }

  function setPresence(state) {
    ui.presence.value = state;
    ui.presence.setAttribute("data-state", state);
  }

  ui.presence.addEventListener("change", () => {
    const want = ui.presence.value;
    ctx.api("PUT", "/v1/presence", { state: want }).then((p) => setPresence(p.state))
      .catch((err) => ctx.showError(`Could not change your presence: ${err.message}`));
  });
  ui.filter.addEventListener("change", render);

  return {
    start() {
      if (running) return;
      running = true;
      refresh();
      tick = setInterval(updateTimes, 1000);
    },
    stop() {
      running = false;
      clearInterval(tick);
      clearTimeout(refreshTimer);
    },
    // the socket is open: the server counts us online
    connected() {
      if (ui.presence.value !== "away") setPresence("online");
      refresh();
    },
    onPresence(f) {
      if (f.user_id === me().id) setPresence(f.state === "offline" ? "online" : f.state);
    },
    onQueue(f) {
      const q = queues.get(f.department_id);
      if (q) {
        q.waiting = f.waiting || [];
        render();
      } else {
        refreshSoon();
      }
    },
    // an inbox change (created, assigned, status): the queues may have moved
    onInbox() { refreshSoon(); },
  };
}
