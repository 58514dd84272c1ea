// Visitors page of the agent console (every role): who is on the site now
// (GET /v1/visitors/live, then `visitor` frames of the inbox stream,
// docs/realtime.md) with their current page, and the site's figures over a
// range of days (GET /v1/visitors/stats). Everything the site or the
// visitor wrote (URLs, titles, names) is inserted as text, never as markup.

const LIVE_MS = 15 * 60 * 1000;

function ymd(d) {
  return d.toISOString().slice(0, 10);
}

export function createVisitorsPage(ctx) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    list: $("visitors-live"), empty: $("visitors-empty"), count: $("visitors-count"), error: $("visitors-error"),
    form: $("visitors-range"), from: $("visitors-from"), to: $("visitors-to"), stats: $("visitors-stats"),
  };
  const rows = new Map();   // visitor id -> the live row's data
  let shown = false;
  let ageTimer = null;

  function safeHref(url) {
    try {
      const u = new URL(url);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch { return null; }
  }

  function who(v) {
    const td = ctx.el("td", { class: "who", "data-testid": "visitor-name" }, v.visitor.name || v.visitor.email || `Visitor ${v.visitor.id}`);
    if (v.visitor.verified) {
      td.append(ctx.el("span", { class: "badge verified", "data-testid": "visitor-verified",
        title: "The site signed this visitor's user id" }, `✓ verified${v.visitor.external_id ? ` · ${v.visitor.external_id}` : ""}`));
    }
    return td;
  }

  function page(v) {
    const td = ctx.el("td", { class: "page-cell", "data-testid": "visitor-page" });
    const title = ctx.el("span", { class: "page-title", "data-testid": "visitor-page-title" }, v.current_page.title || "(no title)");
    const href = safeHref(v.current_page.url);
    const link = ctx.el("a", { class: "page-url muted", "data-testid": "visitor-page-url", href,
      target: "_blank", rel: "noopener noreferrer" }, v.current_page.url);
    td.append(title, link);
    return td;
  }

  function render() {
    const now = Date.now();
    for (const [id, v] of rows) if (now - Date.parse(v.last_seen_at) > LIVE_MS) rows.delete(id);
    const sorted = [...rows.values()].sort((a, b) => Date.parse(b.last_seen_at) - Date.parse(a.last_seen_at));
    ui.list.replaceChildren(...sorted.map((v) => {
      const tr = ctx.el("tr", { "data-testid": "visitor-row", "data-visitor-id": v.visitor.id, "data-pages": v.pages });
      tr.append(who(v), page(v),
        ctx.el("td", { "data-testid": "visitor-pages" }, v.pages),
        ctx.el("td", { "data-testid": "visitor-device" }, `${v.device} · ${v.browser}${v.browser_version ? ` ${v.browser_version}` : ""} · ${v.os}`),
        ctx.el("td", null, v.language || "—"),
        ctx.el("td", { title: v.last_seen_at }, new Date(v.last_seen_at).toLocaleTimeString()));
      return tr;
    }));
    ui.empty.hidden = sorted.length > 0;
    ui.count.textContent = String(sorted.length);
  }

  async function loadLive() {
    try {
      const res = await ctx.api("GET", "/v1/visitors/live?limit=200");
      rows.clear();
      for (const v of res.data) rows.set(v.visitor.id, v);
      ui.error.hidden = true;
      render();
    } catch (err) {
      ui.error.textContent = `Could not load the visitors: ${err.message}`;
      ui.error.hidden = false;
    }
  }

  function list(title, items, label, testid) {
    const box = ctx.el("div", { class: "card stat-list", "data-testid": testid });
    box.append(ctx.el("h3", null, title));
    if (!items.length) box.append(ctx.el("p", { class: "muted" }, "Nothing yet."));
    const ol = ctx.el("ol");
    for (const it of items) {
      const li = ctx.el("li", { "data-testid": `${testid}-row` });
      li.append(ctx.el("span", { class: "stat-name" }, it[label]), ctx.el("span", { class: "stat-count muted" }, ` ${it.count}`));
      ol.append(li);
    }
    box.append(ol);
    return box;
  }

  async function loadStats() {
    const q = new URLSearchParams();
    if (ui.from.value) q.set("from", ui.from.value);
    if (ui.to.value) q.set("to", ui.to.value);
    try {
      const s = await ctx.api("GET", `/v1/visitors/stats?${q}`);
      ui.stats.replaceChildren(
        ctx.el("p", { "data-testid": "visitors-totals" }, `${s.pageviews} page views · ${s.sessions} visits · ${s.from} to ${s.to}`),
        list("Top pages", s.top_pages, "url", "stats-pages"),
        list("Top referrers", s.top_referrers, "host", "stats-referrers"),
        list("Devices", s.devices, "name", "stats-devices"),
        list("Browsers", s.browsers, "name", "stats-browsers"),
        list("Systems", s.os, "name", "stats-os"));
      ui.error.hidden = true;
    } catch (err) {
      ui.error.textContent = err.field ? `${err.field}: ${err.message}` : err.message;
      ui.error.hidden = false;
    }
  }

  ui.form.addEventListener("submit", (e) => { e.preventDefault(); loadStats(); });

  // ---- the tenant's tracking settings and identity secret (settings: admins)
  const ts = {
    form: $("tracking-form"), enabled: $("tracking-enabled"), keepQuery: $("tracking-keep-query"),
    keepDays: $("tracking-keep-days"), saved: $("tracking-saved"), error: $("tracking-error"),
    state: $("identity-state"), rotate: $("identity-rotate"), remove: $("identity-remove"), secret: $("identity-secret"),
  };

  function fillSettings(t) {
    ts.enabled.checked = t.tracking_enabled;
    ts.keepQuery.checked = t.keep_query;
    ts.keepDays.value = t.pageview_keep_days;
    ts.state.textContent = t.identity_verification ? "A secret is set." : "No secret: signed user ids are refused.";
    ts.remove.hidden = !t.identity_verification;
  }

  function settingsError(err) {
    ts.error.textContent = err.field ? `${err.field}: ${err.message}` : err.message;
    ts.error.hidden = false;
  }

  async function loadSettings() {
    ts.form.hidden = !ctx.canEditSettings();
    if (ts.form.hidden) return;
    try { fillSettings(await ctx.api("GET", "/v1/tracking/settings")); } catch (err) { settingsError(err); }
  }

  ts.form.addEventListener("submit", async (e) => {
    e.preventDefault();
    ts.error.hidden = true;
    ts.saved.hidden = true;
    try {
      fillSettings(await ctx.api("PATCH", "/v1/tracking/settings", { tracking_enabled: ts.enabled.checked,
        keep_query: ts.keepQuery.checked, pageview_keep_days: Number(ts.keepDays.value) }));
      ts.saved.hidden = false;
    } catch (err) { settingsError(err); }
  });
  ts.rotate.addEventListener("click", async () => {
    ts.error.hidden = true;
    try {
      const r = await ctx.api("POST", "/v1/tracking/identity-secret");
      fillSettings(r);
      ts.secret.textContent = `The new secret (shown once; signatures made with the old one no longer pass): ${r.identity_secret}`;
      ts.secret.hidden = false;
    } catch (err) { settingsError(err); }
  });
  ts.remove.addEventListener("click", async () => {
    ts.error.hidden = true;
    ts.secret.hidden = true;
    try { fillSettings(await ctx.api("DELETE", "/v1/tracking/identity-secret")); } catch (err) { settingsError(err); }
  });

  return {
    show() {
      shown = true;
      if (!ui.to.value) {
        const to = new Date();
        ui.to.value = ymd(to);
        ui.from.value = ymd(new Date(to.getTime() - 6 * 86400000));
      }
      clearInterval(ageTimer);
      ageTimer = setInterval(render, 30000);
      return Promise.all([loadLive(), loadStats(), loadSettings()]);
    },
    // a `visitor` frame of the inbox stream: the visitor's row as it is now
    onFrame(f) {
      if (!f.visitor || !f.visitor.visitor) return;
      rows.set(f.visitor.visitor.id, f.visitor);
      if (shown) render();
    },
    // the conversation pane's line about its visitor: verified (the site
    // signed their user id) and, while they are on the site, their page
    async describe(node, visitorId, still) {
      node.replaceChildren();
      if (!visitorId) return;
      let res;
      try { res = await ctx.api("GET", `/v1/visitors/${encodeURIComponent(visitorId)}/sessions`); } catch { return; }
      if (!still()) return;
      const parts = [];
      if (res.visitor.verified) {
        parts.push(ctx.el("span", { class: "badge verified", "data-testid": "conversation-visitor-verified" },
          `✓ verified${res.visitor.external_id ? ` · ${res.visitor.external_id}` : ""}`));
      }
      const s = res.data[0];
      if (s && Date.now() - Date.parse(s.last_seen_at) <= LIVE_MS) {
        parts.push(ctx.el("span", { "data-testid": "conversation-visitor-page", title: s.current_page.url },
          ` on ${s.current_page.title || s.current_page.url}`));
      }
      node.replaceChildren(...parts);
    },
    // after a reconnect: frames may have been missed
    resync() { if (shown) loadLive(); },
    reset() {
      shown = false;
      clearInterval(ageTimer);
      rows.clear();
      ui.list.replaceChildren();
      ui.stats.replaceChildren();
      ui.form.reset();
      ts.secret.textContent = "";
      ts.secret.hidden = true;
      ts.form.hidden = true;
    },
  };
}
