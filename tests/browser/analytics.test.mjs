// End-to-end browser test of the Analytics page: the real parleyd with a
// generated workload (visitors' conversations through the widget API,
// agents' replies and resolves through the REST API), the agent console in
// headless Chromium. The overview cards, the charts' series, the agent and
// department tables, the ratings, recent comments (shown as text) and message figures shown are the API's
// for the same range and filters; the department filter changes them the
// same way; uPlot draws from the vendored copy (no network); an alert
// raised while the page is open shows up in its panel at once.
//
//   PARLEYD=build/parleyd PARLEY_WEB=web node tests/browser/analytics.test.mjs
// Environment as in harness.mjs; prints "N passed, N failed".

import { check, DEMO_EMAIL, newPage, PASSWORD, runScenario, waitFor } from "./harness.mjs";

async function signIn(page, base, email, password) {
  await page.goto(`${base}/agent/`);
  await page.getByTestId("login-email").fill(email);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();
  await page.locator("[data-testid=connection-status][data-state=live]").waitFor();
}

async function call(base, token, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method, headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const out = await res.json().catch(() => null);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(out)}`);
  return out;
}

async function workload(base, key, token, n) {
  for (let i = 0; i < n; i++) {
    const v = await call(base, null, "POST", "/v1/widget/session", { widget_key: key, name: `Visitor ${i}` });
    const c = await call(base, v.visitor_token, "POST", "/v1/widget/conversations", { text: `question ${i}`, client_id: `q${i}` });
    if (i % 3 === 2) continue;   // left waiting for an answer
    await call(base, token, "POST", `/v1/conversations/${c.id}/assign`, {});
    await call(base, token, "POST", `/v1/conversations/${c.id}/messages`, { text: `answer ${i}`, client_id: `a${i}` });
    if (i % 2 === 0) {
      await call(base, token, "PATCH", `/v1/conversations/${c.id}`, { status: "resolved" });
      // the resolved ones are rated: one comment with markup, one without a comment
      const comment = RATING_COMMENTS[i % RATING_COMMENTS.length];
      await call(base, v.visitor_token, "POST", `/v1/widget/conversations/${c.id}/rating`, { score: 1 + (i % 5), comment });
    }
  }
}
const RATING_COMMENTS = ["<img src=x onerror=\"window.__injected=1\"><b>so</b> quick & kind", "Thanks!", "", "fine"];

async function cardValues(page) {
  return page.locator("[data-testid^=card-]").evaluateAll((cs) =>
    Object.fromEntries(cs.map((c) => [c.dataset.testid.slice(5), Number(c.dataset.value)])));
}

async function scenario(state) {
  const base = state.srv.base;
  const page = await newPage(state, "owner");
  const offline = [];
  page.on("request", (r) => { if (!r.url().startsWith(base)) offline.push(r.url()); });
  let token;

  await check("a workload through the widget and REST APIs", async () => {
    await signIn(page, base, DEMO_EMAIL, PASSWORD);
    token = await page.evaluate(() => JSON.parse(sessionStorage.getItem("parley.agent.auth")).access_token);
    await workload(base, state.srv.key, token, 9);
  });

  const q = () => page.evaluate(() => {
    const f = document.getElementById("analytics-filters");
    return f.dataset.loaded;
  });

  await check("the Analytics page shows the overview cards of the API", async () => {
    await page.getByTestId("nav-analytics").click();
    await page.getByTestId("analytics-view").waitFor();
    await waitFor("the first load", async () => Number(await q()) >= 1);
    const api = await call(base, token, "GET", "/v1/analytics/overview");
    const shown = await cardValues(page);
    for (const k of ["conversations", "active", "waiting", "resolved", "messages", "first_response_avg_s", "missed"]) {
      if (shown[k] !== api.data[k]) throw new Error(`${k}: shown ${shown[k]}, API ${api.data[k]}`);
    }
    if (api.data.conversations !== 9) throw new Error(`conversations ${api.data.conversations}`);
    return `conversations=${shown.conversations}, messages=${shown.messages}`;
  });

  await check("the volume chart is drawn by uPlot with the API's series", async () => {
    await page.locator("[data-testid=analytics-volume-chart] canvas").waitFor();
    const vals = JSON.parse(await page.getByTestId("analytics-volume-chart").getAttribute("data-values"));
    const api = await call(base, token, "GET", "/v1/analytics/volume?interval=day&from=" +
      encodeURIComponent(new Date(Date.now() - 7 * 86400000).toISOString().replace(/\.\d+Z$/, "Z")));
    const sum = (a) => a.reduce((x, y) => x + y, 0);
    if (sum(vals[0]) !== sum(api.data.map((r) => r.conversations))) throw new Error(`conversations ${vals[0]} vs API`);
    if (sum(vals[1]) !== sum(api.data.map((r) => r.messages))) throw new Error(`messages ${vals[1]} vs API`);
    await page.locator("[data-testid=analytics-frt-chart] canvas").waitFor();
    if (offline.length) throw new Error(`requests off the server: ${offline.join(", ")}`);
  });

  await check("the agent and department tables match the API", async () => {
    const agents = await call(base, token, "GET", "/v1/analytics/agents");
    const rows = await page.locator("[data-testid=analytics-agents] [data-testid=analytics-row]").evaluateAll((rs) =>
      rs.map((r) => ({ id: r.dataset.id, handled: Number(r.querySelector("[data-col=handled]").textContent),
        sent: Number(r.querySelector("[data-col=messages_sent]").textContent) })));
    if (rows.length !== agents.data.length) throw new Error(`rows ${rows.length} vs ${agents.data.length}`);
    for (const a of agents.data) {
      const r = rows.find((x) => x.id === a.id);
      if (!r || r.handled !== a.handled || r.sent !== a.messages_sent) throw new Error(`agent ${a.id}: ${JSON.stringify(r)} vs ${JSON.stringify(a)}`);
    }
    const depts = await call(base, token, "GET", "/v1/analytics/departments");
    const drows = await page.locator("[data-testid=analytics-depts] [data-testid=analytics-row]").evaluateAll((rs) =>
      rs.map((r) => ({ id: r.dataset.id, conv: Number(r.querySelector("[data-col=conversations]").textContent),
        queue: Number(r.querySelector("[data-col=queue]").textContent) })));
    for (const d of depts.data) {
      const r = drows.find((x) => x.id === d.id);
      if (!r || r.conv !== d.conversations || r.queue !== d.queue) throw new Error(`department ${d.id}: ${JSON.stringify(r)} vs ${JSON.stringify(d)}`);
    }
  });

  await check("ratings and message figures match the API", async () => {
    const m = await call(base, token, "GET", "/v1/analytics/messages");
    const text = Number(await page.getByTestId("messages-text").getAttribute("data-value"));
    if (text !== m.data.by_kind.text) throw new Error(`text ${text} vs ${m.data.by_kind.text}`);
    const s = await call(base, token, "GET", "/v1/analytics/satisfaction");
    for (let n = 1; n <= 5; n++) {
      const v = Number(await page.getByTestId(`rating-${n}`).getAttribute("data-value"));
      if (v !== s.data.distribution[String(n)]) throw new Error(`rating ${n}`);
    }
    // the recent comments: the API's, newest first, shown as text (the markup is not markup)
    const shown = await page.locator("[data-testid=analytics-comments] [data-testid=recent-comment]").evaluateAll((ls) =>
      ls.map((l) => ({ id: l.dataset.conversation, text: l.querySelector("[data-testid=recent-comment-text]").textContent })));
    const api = s.data.recent_comments.map((c) => ({ id: c.conversation_id, text: c.comment }));
    if (JSON.stringify(shown) !== JSON.stringify(api)) throw new Error(`comments ${JSON.stringify(shown)} vs ${JSON.stringify(api)}`);
    const marked = api.find((c) => c.text.includes("<b>"));
    if (!marked || api.some((c) => c.text === "")) throw new Error(`comments from the API: ${JSON.stringify(api)}`);
    const tags = await page.locator("[data-testid=analytics-comments] img, [data-testid=analytics-comments] b").count();
    if (tags || await page.evaluate(() => window.__injected)) throw new Error("a comment was rendered as HTML");
    return `${shown.length} comments`;
  });

  await check("a department filter changes the figures as the API does", async () => {
    const depts = await call(base, token, "GET", "/v1/departments");
    const other = depts.data.find((d) => !d.is_default);
    const before = Number(await q());
    await page.getByTestId("analytics-dept").selectOption(other.id);
    await waitFor("the reload", async () => Number(await q()) > before);
    const api = await call(base, token, "GET", `/v1/analytics/overview?department_id=${other.id}`);
    const shown = await cardValues(page);
    if (shown.conversations !== api.data.conversations || shown.conversations !== 0) throw new Error(`shown ${shown.conversations}, API ${api.data.conversations}`);
  });

  await check("the CSV links carry the filters", async () => {
    const href = await page.locator("#analytics-csv a[data-csv=agents]").getAttribute("href");
    if (!/format=csv/.test(href) || !/department_id=/.test(href)) throw new Error(href);
    const res = await fetch(`${base}${href}`, { headers: { Authorization: `Bearer ${token}` } });
    const body = await res.text();
    if (res.status !== 200 || !body.startsWith("id,name,")) throw new Error(`${res.status} ${body.slice(0, 60)}`);
  });

  await check("an alert reaches the page live (a department in hours with nobody online)", async () => {
    const inv = await call(base, token, "POST", "/v1/users", { email: "nia@demo.parley", name: "Nia Agent", role: "agent" });
    const depts = await call(base, token, "GET", "/v1/departments");
    const sales = depts.data.find((d) => d.slug === "sales");
    const every = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((day) => ({ day, open: "00:00", close: "24:00" }));
    await call(base, token, "PATCH", `/v1/departments/${sales.id}`, { hours: every, timezone: "UTC" });
    await call(base, token, "PUT", `/v1/departments/${sales.id}/members`, { agent_ids: [inv.user ? inv.user.id : inv.id] });
    await page.locator("[data-testid=analytics-alerts] [data-testid=alert][data-kind=no_agent]").waitFor();
    const api = await call(base, token, "GET", "/v1/alerts?kind=no_agent");
    if (api.data.length !== 1 || api.data[0].department_id !== sales.id) throw new Error(JSON.stringify(api.data));
  });

  await check("no uncaught errors in any page", async () => {
    if (state.pageErrors.length) throw new Error(state.pageErrors.join("\n"));
  });
}

await runScenario(scenario, ["--alert-check-ms", "200"]);
