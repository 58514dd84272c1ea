// Analytics page of the agent console (permission `analytics`: supervisors
// and up the whole tenant, agents their own figures): overview cards,
// volume and response-time charts (uPlot, vendored in /vendor/uplot), the
// agent and department tables, ratings and recent comments, alerts and live visitors, for a
// range and filters; CSV downloads of each figure set. Every figure shown
// is the API's (the analytics routes of docs/openapi.yaml), formatted, never recomputed.

const RANGES = [["24h", 1], ["7d", 7], ["30d", 30]];
const CARDS = [
  ["conversations", "Conversations"], ["active", "Active now"], ["waiting", "Waiting now"],
  ["resolved", "Resolved"], ["closed", "Closed"], ["resolution_rate", "Resolution rate"],
  ["first_response_avg_s", "First response (avg)"], ["first_response_p90_s", "First response (p90)"],
  ["resolution_avg_s", "Resolution time (avg)"], ["messages", "Messages"],
  ["messages_per_conversation", "Messages / conversation"], ["missed", "Missed"],
];
const DAY_MS = 86400000;
const PATHS = {
  overview: "/v1/analytics/overview", volume: "/v1/analytics/volume", agents: "/v1/analytics/agents",
  departments: "/v1/analytics/departments", satisfaction: "/v1/analytics/satisfaction", messages: "/v1/analytics/messages",
};
// Live visitors come from the tracking feature (docs/openapi.yaml, tag
// tracking); without it the panel says so.
const LIVE_VISITORS = "/v1/visitors/live";

export function duration(s) {
  if (!s) return "–";
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function cardText(key, v) {
  if (key.endsWith("_s")) return duration(v);
  if (key === "resolution_rate") return `${Math.round(v * 100)}%`;
  return String(v);
}

export function createAnalyticsPage(ctx) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    form: $("analytics-filters"), range: $("analytics-range"), dept: $("analytics-dept"), agent: $("analytics-agent"),
    interval: $("analytics-interval"), cards: $("analytics-cards"), volume: $("analytics-volume-chart"),
    frt: $("analytics-frt-chart"), agents: $("analytics-agents"), depts: $("analytics-depts"),
    ratings: $("analytics-ratings"), comments: $("analytics-comments"), messages: $("analytics-messages"), alerts: $("analytics-alerts"),
    live: $("analytics-live"), error: $("analytics-error"), csv: $("analytics-csv"),
  };
  ui.range.replaceChildren(...RANGES.map(([k]) => ctx.el("option", { value: k }, `Last ${k}`)));
  ui.range.value = "7d";
  const charts = [];
  let loaded = false;

  function query() {
    const q = new URLSearchParams();
    const days = (RANGES.find(([k]) => k === ui.range.value) || RANGES[1])[1];
    const to = Date.now();
    q.set("from", new Date(to - days * DAY_MS).toISOString().replace(/\.\d+Z$/, "Z"));
    q.set("to", new Date(to).toISOString().replace(/\.\d+Z$/, "Z"));
    if (ui.dept.value) q.set("department_id", ui.dept.value);
    if (ui.agent.value) q.set("agent_id", ui.agent.value);
    return q;
  }

  async function loadPickers() {
    try {
      const [d, u] = await Promise.all([ctx.api("GET", "/v1/departments"), ctx.api("GET", "/v1/users")]);
      const keepD = ui.dept.value, keepA = ui.agent.value;
      ui.dept.replaceChildren(ctx.el("option", { value: "" }, "All departments"),
        ...((d && d.data) || []).map((x) => ctx.el("option", { value: x.id }, x.name)));
      ui.agent.replaceChildren(ctx.el("option", { value: "" }, "All agents"),
        ...((u && u.data) || []).map((x) => ctx.el("option", { value: x.id }, x.name || x.email)));
      ui.dept.value = keepD;
      ui.agent.value = keepA;
    } catch { /* the pickers keep "all" */ }
    const me = ctx.user();
    ui.agent.disabled = !!me && me.role === "agent";
  }

  function renderCards(o) {
    ui.cards.replaceChildren(...CARDS.map(([k, label]) => {
      const card = ctx.el("div", { class: "card stat", "data-testid": `card-${k}`, "data-value": o[k] });
      card.append(ctx.el("span", { class: "muted" }, label), ctx.el("strong", { "data-testid": "card-value" }, cardText(k, o[k])));
      return card;
    }));
  }

  function chart(node, title, series, xs, ys) {
    node.replaceChildren();
    node.dataset.points = String(xs.length);
    node.dataset.values = JSON.stringify(ys);
    if (typeof window.uPlot !== "function") { node.textContent = "Charts unavailable."; return; }
    const opts = {
      title, width: Math.max(320, node.clientWidth || 560), height: 220,
      series: [{}, ...series.map((s, i) => ({ label: s, stroke: ["#1f6feb", "#2da44e", "#bf8700"][i % 3], width: 2 }))],
      axes: [{}, {}],
    };
    charts.push(new window.uPlot(opts, [xs, ...ys], node));
  }

  function table(node, rows, cols) {
    node.replaceChildren();
    for (const r of rows) {
      const tr = ctx.el("tr", { "data-testid": "analytics-row", "data-id": r.id });
      for (const [k, fmt] of cols) tr.append(ctx.el("td", { "data-col": k }, fmt ? fmt(r[k]) : r[k]));
      node.append(tr);
    }
  }

  async function optional(path) {
    try { return await ctx.api("GET", path); } catch { return null; }
  }

  async function load() {
    ui.error.hidden = true;
    while (charts.length) charts.pop().destroy();
    const q = query();
    const base = (p, extra) => `${PATHS[p]}?${q}${extra || ""}`;
    try {
      const [o, v, a, d, s, m] = await Promise.all([
        ctx.api("GET", base("overview")), ctx.api("GET", base("volume", `&interval=${ui.interval.value}`)),
        ctx.api("GET", base("agents")), ctx.api("GET", base("departments")),
        ctx.api("GET", base("satisfaction")), ctx.api("GET", base("messages"))]);
      renderCards(o.data);
      const xs = v.data.map((r) => Date.parse(r.start) / 1000);
      chart(ui.volume, "Volume", ["Conversations", "Messages"], xs,
        [v.data.map((r) => r.conversations), v.data.map((r) => r.messages)]);
      chart(ui.frt, "First response (avg, s)", ["First response"], xs, [v.data.map((r) => r.first_response_avg_s)]);
      table(ui.agents, a.data, [["name"], ["handled"], ["messages_sent"], ["first_response_avg_s", duration],
        ["resolution_avg_s", duration], ["rating_avg"], ["ratings"], ["online_s", duration]]);
      table(ui.depts, d.data, [["name"], ["conversations"], ["resolved"], ["first_response_avg_s", duration],
        ["queue"], ["longest_wait_s", duration]]);
      ui.ratings.replaceChildren(...[1, 2, 3, 4, 5].map((n) => ctx.el("li", { "data-testid": `rating-${n}`,
        "data-value": s.data.distribution[String(n)] }, `${"★".repeat(n)} ${s.data.distribution[String(n)]}`)),
      ctx.el("li", { "data-testid": "rating-average", "data-value": s.data.average }, `Average ${s.data.average || "–"}`));
      // comments are the visitors' words: text nodes only (ctx.el sets textContent)
      ui.comments.replaceChildren(...s.data.recent_comments.map((c) => {
        const li = ctx.el("li", { "data-testid": "recent-comment", "data-conversation": c.conversation_id,
          "data-score": c.score, title: new Date(c.at).toLocaleString() });
        li.append(ctx.el("span", { class: "stars" }, "★".repeat(c.score)), " ",
          ctx.el("span", { class: "comment", "data-testid": "recent-comment-text" }, c.comment),
          ctx.el("span", { class: "muted" }, ` — ${[c.agent_name, c.department_name].filter(Boolean).join(", ")}`));
        return li;
      }));
      if (!ui.comments.children.length) ui.comments.append(ctx.el("li", { class: "muted" }, "No comments in this range."));
      ui.messages.replaceChildren(...Object.entries(m.data.by_kind).map(([k, n]) =>
        ctx.el("li", { "data-testid": `messages-${k}`, "data-value": n }, `${k}: ${n}`)),
      ctx.el("li", { "data-testid": "messages-read", "data-value": m.data.to_visitors.read },
        `read by visitors: ${m.data.to_visitors.read} of ${m.data.to_visitors.sent}`));
      for (const a of ui.csv.querySelectorAll("a[data-csv]")) {
        a.href = base(a.dataset.csv, `&format=csv${a.dataset.csvRows ? `&rows=${a.dataset.csvRows}` : ""}`);
      }
    } catch (err) {
      ui.error.textContent = err.field ? `${err.field}: ${err.message}` : err.message;
      ui.error.hidden = false;
    }
    const alerts = await optional("/v1/alerts?limit=20");
    ui.alerts.replaceChildren(...(alerts && alerts.data ? alerts.data : []).map((x) =>
      ctx.el("li", { "data-testid": "alert", "data-kind": x.kind }, `${new Date(x.at).toLocaleString()} — ${x.message || x.kind}`)));
    if (!ui.alerts.children.length) ui.alerts.append(ctx.el("li", { class: "muted" }, "No alerts."));
    const live = await optional(`${LIVE_VISITORS}?limit=50`);
    ui.live.replaceChildren(...(live && live.data ? live.data : []).map((x) => {
      const who = (x.visitor && (x.visitor.name || x.visitor.email)) || "Visitor";
      const pg = x.current_page || {};
      return ctx.el("li", { "data-testid": "live-visitor", title: pg.url || "" }, `${who} — ${pg.title || pg.url || ""}`);
    }));
    if (!ui.live.children.length) ui.live.append(ctx.el("li", { class: "muted" }, live ? "Nobody on the site." : "Live visitors unavailable."));
    ui.form.dataset.loaded = String(++loadCount);
  }
  let loadCount = 0;

  ui.form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  for (const n of [ui.range, ui.dept, ui.agent, ui.interval]) n.addEventListener("change", () => load());

  return {
    async show() { if (!loaded) { loaded = true; await loadPickers(); } return load(); },
    alert(a) {
      const li = ctx.el("li", { "data-testid": "alert", "data-kind": a.kind }, `${new Date(a.at).toLocaleString()} — ${a.message || a.kind}`);
      if (ui.alerts.firstChild && ui.alerts.firstChild.classList.contains("muted")) ui.alerts.replaceChildren();
      ui.alerts.prepend(li);
    },
    reset() { loaded = false; while (charts.length) charts.pop().destroy(); ui.cards.replaceChildren(); },
  };
}
