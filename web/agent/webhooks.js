// Webhooks page of the agent console (admins and owners: settings): the
// tenant's endpoints — URL, events, active, the signing secret shown once
// on creation and rotation — and the delivery log with its filters and
// redelivery (GET/POST/PATCH/DELETE /v1/webhooks…, docs/webhooks.md). The
// log refreshes every few seconds while the page is open.

const REFRESH_MS = 4000;
const STATUS_TEXT = { ok: "Delivered", failed: "Failed", pending: "Waiting", dropped: "Dropped" };

export function createWebhooksPage(ctx) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    view: $("webhooks-view"), form: $("hook-form"), formTitle: $("hook-form-title"), url: $("hook-url"),
    desc: $("hook-description"), events: $("hook-events"), active: $("hook-active"), save: $("hook-save"),
    cancel: $("hook-cancel"), error: $("hook-error"), secretBox: $("hook-secret"), secretFor: $("hook-secret-for"),
    secretValue: $("hook-secret-value"), secretCopy: $("hook-secret-copy"), list: $("hook-list"), empty: $("hook-empty"),
    fEndpoint: $("log-endpoint"), fStatus: $("log-status"), fEvent: $("log-event"), refresh: $("log-refresh"),
    log: $("log-list"), logEmpty: $("log-empty"), more: $("log-more"), figures: $("log-figures"),
  };
  const hooks = new Map(); // id -> endpoint
  let eventNames = [];
  let editing = null; // endpoint id being edited, or null for a new one
  let loaded = false;
  let cursor = null;
  let timer = 0;
  let logBusy = false;

  const hookName = (h) => (h ? h.description || h.url : "");
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");

  // ---------------------------------------------------------------- endpoints

  async function load() {
    const res = await ctx.api("GET", "/v1/webhooks");
    hooks.clear();
    for (const h of (res && res.data) || []) hooks.set(h.id, h);
    eventNames = (res && res.events) || eventNames;
    loaded = true;
    renderEvents();
    renderHooks();
    renderFilters();
  }

  function renderEvents() {
    const chosen = new Set([...ui.events.querySelectorAll("input:checked")].map((i) => i.value));
    ui.events.replaceChildren(...eventNames.map((name) => {
      const box = ctx.el("input", { type: "checkbox", value: name, "data-testid": "hook-event" });
      box.checked = chosen.has(name);
      const label = ctx.el("label", { class: "check" });
      label.append(box, ctx.el("span", null, name));
      return label;
    }));
  }

  function renderHooks() {
    const rows = [...hooks.values()].sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
    ui.list.replaceChildren(...rows.map(hookRow));
    ui.empty.hidden = rows.length > 0;
  }

  function hookRow(h) {
    const tr = ctx.el("tr", { "data-testid": "hook-row", "data-id": h.id, "data-active": String(!!h.active) });
    const where = ctx.el("td", { class: "who" });
    where.append(ctx.el("strong", { class: "url" }, h.url));
    if (h.description) where.append(ctx.el("span", { class: "muted title" }, h.description));
    const events = ctx.el("td", { class: "events" }, h.events.join(", "));
    const status = ctx.el("td", { "data-testid": "hook-status" }, h.active ? "Active" : "Paused");
    const actions = ctx.el("td", { class: "actions" });
    actions.append(
      button("Edit", "hook-edit", async () => edit(h)),
      button(h.active ? "Pause" : "Activate", "hook-toggle", async () => upsert(await ctx.api("PATCH", path(h), { active: !h.active }))),
      button("New secret", "hook-rotate", async () => {
        const r = await ctx.api("POST", `${path(h)}/rotate-secret`, {});
        upsert(r);
        showSecret(r);
      }),
      deleteButton(h),
    );
    tr.append(where, events, status, actions);
    return tr;
  }

  const path = (h) => `/v1/webhooks/${encodeURIComponent(h.id)}`;

  function button(text, testid, fn) {
    const b = ctx.el("button", { type: "button", "data-testid": testid }, text);
    b.addEventListener("click", async () => {
      b.disabled = true;
      try { await fn(); } catch (err) { ctx.showError(err.message); } finally { b.disabled = false; }
    });
    return b;
  }

  // Deleting asks once more in place (no dialog).
  function deleteButton(h) {
    const b = ctx.el("button", { type: "button", "data-testid": "hook-delete", class: "danger" }, "Delete");
    let armed = 0;
    b.addEventListener("click", async () => {
      if (!armed) {
        b.textContent = "Delete, with what waits?";
        armed = setTimeout(() => { armed = 0; b.textContent = "Delete"; }, 4000);
        return;
      }
      clearTimeout(armed);
      b.disabled = true;
      try {
        await ctx.api("DELETE", path(h));
        hooks.delete(h.id);
        if (editing === h.id) resetForm();
        renderHooks();
        renderFilters();
      } catch (err) { ctx.showError(err.message); b.disabled = false; }
    });
    return b;
  }

  function upsert(h) {
    if (!h || !h.id) return;
    const { secret, ...shown } = h;
    hooks.set(h.id, shown);
    renderHooks();
    renderFilters();
  }

  function showSecret(h) {
    ui.secretFor.textContent = hookName(h);
    ui.secretValue.value = h.secret;
    ui.secretBox.hidden = false;
    ui.secretValue.focus();
    ui.secretValue.select();
  }

  function edit(h) {
    editing = h.id;
    ui.formTitle.textContent = "Change the endpoint";
    ui.save.textContent = "Save changes";
    ui.cancel.hidden = false;
    ui.url.value = h.url;
    ui.desc.value = h.description || "";
    ui.active.checked = !!h.active;
    for (const box of ui.events.querySelectorAll("input")) box.checked = h.events.includes(box.value);
    ui.error.hidden = true;
    ui.url.focus();
  }

  function resetForm() {
    editing = null;
    ui.formTitle.textContent = "Add an endpoint";
    ui.save.textContent = "Add endpoint";
    ui.cancel.hidden = true;
    ui.url.value = "";
    ui.desc.value = "";
    ui.active.checked = true;
    for (const box of ui.events.querySelectorAll("input")) box.checked = false;
  }

  ui.cancel.addEventListener("click", () => { resetForm(); ui.error.hidden = true; });

  ui.secretCopy.addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(ui.secretValue.value); ui.secretCopy.textContent = "Copied"; } catch { ui.secretValue.select(); }
    setTimeout(() => { ui.secretCopy.textContent = "Copy"; }, 2000);
  });

  ui.form.addEventListener("submit", async (e) => {
    e.preventDefault();
    ui.error.hidden = true;
    const body = {
      url: ui.url.value.trim(),
      description: ui.desc.value.trim(),
      events: [...ui.events.querySelectorAll("input:checked")].map((i) => i.value),
      active: ui.active.checked,
    };
    if (!body.url || !body.events.length) {
      ui.error.textContent = "Enter a URL and choose at least one event.";
      ui.error.hidden = false;
      return;
    }
    ui.save.disabled = true;
    try {
      if (editing) {
        upsert(await ctx.api("PATCH", `/v1/webhooks/${encodeURIComponent(editing)}`, body));
      } else {
        const h = await ctx.api("POST", "/v1/webhooks", body);
        upsert(h);
        showSecret(h);
      }
      resetForm();
    } catch (err) {
      const names = { url: "URL", events: "Events", description: "Description", active: "Active" };
      ui.error.textContent = err.code === "limit_reached" ? "A workspace has at most 20 endpoints."
        : err.field ? `${names[err.field] || err.field}: ${err.message}` : err.message;
      ui.error.hidden = false;
    } finally { ui.save.disabled = false; }
  });

  // ---------------------------------------------------------------- the delivery log

  function renderFilters() {
    const keep = ui.fEndpoint.value;
    ui.fEndpoint.replaceChildren(ctx.el("option", { value: "" }, "All endpoints"),
      ...[...hooks.values()].map((h) => ctx.el("option", { value: h.id }, hookName(h))));
    ui.fEndpoint.value = hooks.has(keep) ? keep : "";
    if (ui.fEvent.options.length !== eventNames.length + 1) {
      const ev = ui.fEvent.value;
      ui.fEvent.replaceChildren(ctx.el("option", { value: "" }, "All events"),
        ...eventNames.map((n) => ctx.el("option", { value: n }, n)));
      ui.fEvent.value = ev;
    }
  }

  function query(after) {
    const q = new URLSearchParams({ limit: "25" });
    if (ui.fEndpoint.value) q.set("endpoint", ui.fEndpoint.value);
    if (ui.fStatus.value) q.set("status", ui.fStatus.value);
    if (ui.fEvent.value) q.set("event", ui.fEvent.value);
    if (after) q.set("cursor", after);
    return `/v1/webhooks/deliveries?${q}`;
  }

  async function loadLog(more) {
    if (logBusy) return;
    logBusy = true;
    try {
      const res = await ctx.api("GET", query(more ? cursor : null));
      const rows = (res && res.data) || [];
      if (more) ui.log.append(...rows.map(logRow));
      else ui.log.replaceChildren(...rows.map(logRow));
      cursor = res && res.next_cursor;
      ui.more.hidden = !cursor;
      ui.logEmpty.hidden = ui.log.children.length > 0;
      const o = (res && res.outbox) || {};
      ui.figures.textContent = `Waiting: ${o.pending || 0} · Dropped because the outbox was full: ${o.dropped || 0}`;
    } catch (err) {
      if (err.status !== 401) ctx.showError(`Could not load the delivery log: ${err.message}`);
    } finally { logBusy = false; }
  }

  function logRow(r) {
    const tr = ctx.el("tr", { "data-testid": "delivery-row", "data-id": r.id, "data-delivery": r.delivery_id || "",
      "data-status": r.status, "data-event": r.event });
    const status = ctx.el("td");
    status.append(ctx.el("span", { class: "badge", "data-status": r.status, "data-testid": "delivery-status" },
      STATUS_TEXT[r.status] + (r.status === "failed" && r.final ? " (gave up)" : "")));
    const what = ctx.el("td", { class: "who" });
    what.append(ctx.el("strong", null, r.event));
    const h = hooks.get(r.endpoint_id);
    what.append(ctx.el("span", { class: "muted title" }, `${hookName(h) || r.endpoint_id}${r.seq != null ? ` · seq ${r.seq}` : ""}`));
    const attempt = ctx.el("td", null, r.status === "dropped" ? "" : String(r.attempt));
    const answer = ctx.el("td", { "data-testid": "delivery-code" },
      r.status_code != null ? `${r.status_code}${r.latency_ms != null ? ` in ${r.latency_ms} ms` : ""}` : "");
    const detail = ctx.el("td", { class: "detail" });
    if (r.error) detail.append(ctx.el("span", { class: "err", "data-testid": "delivery-error" }, r.error));
    if (r.next_attempt_at) detail.append(ctx.el("span", { class: "muted title" }, `next try ${when(r.next_attempt_at)}`));
    const time = ctx.el("td", { class: "muted" }, when(r.created_at));
    const actions = ctx.el("td", { class: "actions" });
    if (r.status === "ok" || r.status === "failed") {
      actions.append(button("Redeliver", "redeliver-button", async () => {
        await ctx.api("POST", `/v1/webhooks/deliveries/${encodeURIComponent(r.id)}/redeliver`, {});
        await loadLog(false);
      }));
    }
    tr.append(status, what, attempt, answer, detail, time, actions);
    return tr;
  }

  for (const f of [ui.fEndpoint, ui.fStatus, ui.fEvent]) f.addEventListener("change", () => loadLog(false));
  ui.refresh.addEventListener("click", () => loadLog(false));
  ui.more.addEventListener("click", () => loadLog(true));

  function tick() {
    clearTimeout(timer);
    if (ui.view.hidden) return;
    // only the first page refreshes by itself: pages loaded with "More" stay
    const extended = ui.log.children.length > 25;
    (extended ? Promise.resolve() : loadLog(false)).finally(() => { timer = setTimeout(tick, REFRESH_MS); });
  }

  return {
    async show() {
      clearTimeout(timer);
      try {
        await load();
        await loadLog(false);
      } catch (err) {
        if (err.status !== 401) ctx.showError(`Could not load the webhooks: ${err.message}`);
      }
      timer = setTimeout(tick, REFRESH_MS);
    },
    reset() {
      clearTimeout(timer);
      hooks.clear();
      loaded = false;
      cursor = null;
      resetForm();
      ui.list.replaceChildren();
      ui.log.replaceChildren();
      ui.secretBox.hidden = true;
      ui.error.hidden = true;
    },
  };
}
