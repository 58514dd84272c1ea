// The support desk in the browser: a visitor chooses a department in the
// widget, waits with a live queue position while the only online member
// is at capacity, the agent console lists the waiting conversation, a
// second agent comes online in another browser context and it is routed
// to them at once (the widget's queue notice goes away), and Ben transfers
// it to Ana with a reason from his console (the transfer dialog). The real
// parleyd and headless Chromium (tests/browser/harness.mjs).

import { check, DEMO_EMAIL, newPage, PASSWORD, runScenario, waitFor } from "./harness.mjs";

const AGENT_PW = "desk-agent-password-1";

async function signIn(page, base, email, password) {
  await page.goto(`${base}/agent/`);
  await page.getByTestId("login-email").fill(email);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();
  await page.locator("[data-testid=connection-status][data-state=live]").waitFor();
}

async function scenario(state) {
  const base = state.srv.base;
  let owner;
  const call = async (method, p, body, token) => {
    const headers = { Authorization: `Bearer ${token || owner}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(`${base}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const txt = await res.text();
    return { status: res.status, body: txt ? JSON.parse(txt) : null };
  };
  const agents = {};
  let sales;

  await check("set-up: two agents in Sales, the first with capacity 1", async () => {
    const login = await fetch(`${base}/v1/auth/login`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: DEMO_EMAIL, password: PASSWORD }),
    }).then((r) => r.json());
    owner = login.access_token;
    for (const name of ["ana", "ben"]) {
      const inv = await call("POST", "/v1/users", { email: `${name}@desk.test`, name: name.toUpperCase(), role: "agent" });
      if (inv.status !== 201) throw new Error(`invite ${inv.status}`);
      const set = await fetch(`${base}/v1/auth/set-password`, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token: inv.body.invite_token, password: AGENT_PW }),
      });
      if (set.status !== 200) throw new Error(`set-password ${set.status}`);
      agents[name] = inv.body.user.id;
    }
    const depts = (await call("GET", "/v1/departments")).body.data;
    sales = depts.find((d) => d.slug === "sales");
    if (!sales) throw new Error("no sales department");
    const m = await call("PUT", `/v1/departments/${sales.id}/members`, { agent_ids: [agents.ana, agents.ben] });
    if (m.status !== 200) throw new Error(`members ${m.status}`);
    const c = await call("PUT", `/v1/agents/${agents.ana}/capacity`, { max_chats: 1 });
    if (c.status !== 200) throw new Error(`capacity ${c.status}`);
  });

  const ana = await newPage(state, "ana");
  await check("Ana signs in (online) and gets the first Sales conversation (now at capacity)", async () => {
    await signIn(ana, base, "ana@desk.test", AGENT_PW);
    await ana.locator("[data-testid=presence-select][data-state=online]").waitFor();
    // another visitor's conversation in Sales, over the API
    const v = await fetch(`${base}/v1/widget/session`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ widget_key: state.srv.key, name: "Earlier" }),
    }).then((r) => r.json());
    const c = await call("POST", "/v1/widget/conversations", { text: "first", client_id: "e1", department_id: sales.id },
      v.visitor_token);
    if (c.status !== 201) throw new Error(`create ${c.status}`);
    await waitFor("the first conversation routed to Ana", async () => {
      const conv = (await call("GET", `/v1/conversations/${c.body.id}`)).body;
      return conv.assignee && conv.assignee.id === agents.ana;
    });
  });

  const visitor = await newPage(state, "visitor");
  const w = {
    launcher: visitor.locator("[data-testid=parley-launcher]"),
    dept: visitor.locator("[data-testid=parley-department]"),
    input: visitor.locator("[data-testid=parley-input]"),
    send: visitor.locator("[data-testid=parley-send]"),
    queue: visitor.locator("[data-testid=parley-queue]"),
  };
  let convId;
  await check("visitor: chooses Sales in the widget and writes", async () => {
    await visitor.goto(`${base}/demo.html?key=${encodeURIComponent(state.srv.key)}`);
    await w.launcher.click();
    await w.dept.waitFor({ state: "visible" });
    await w.dept.selectOption({ label: "Sales" });
    await w.input.fill("I want to buy");
    await w.send.click();
    await visitor.locator("[data-testid=parley-message][data-sender=visitor][data-seq]", { hasText: "I want to buy" }).waitFor();
    convId = await visitor.evaluate(() => window.ParleyWidget && window.ParleyWidget.state
      ? window.ParleyWidget.state().conversation_id : null);
    if (!convId) throw new Error("no conversation id");
    const conv = (await call("GET", `/v1/conversations/${convId}`)).body;
    if (conv.department_id !== sales.id) throw new Error(`department ${conv.department_id}`);
  });

  await check("visitor: waits with a live position (Ana is full)", async () => {
    await visitor.locator("[data-testid=parley-queue][data-state=waiting][data-position='1']").waitFor();
    const text = await visitor.getByTestId("parley-queue-text").textContent();
    if (!/number 1 in the queue/.test(text)) throw new Error(`queue text ${text}`);
  });

  await check("Ana's console lists it as waiting, with its wait time ticking", async () => {
    const item = ana.locator(`[data-testid=waiting-item][data-conversation-id="${convId}"]`);
    await item.waitFor();
    const t0 = await item.getByTestId("waiting-time").textContent();
    await waitFor("the wait time to tick", async () => (await item.getByTestId("waiting-time").textContent()) !== t0, 5000);
  });

  const ben = await newPage(state, "ben");
  await check("Ben comes online in another browser and gets it routed at once", async () => {
    await signIn(ben, base, "ben@desk.test", AGENT_PW);
    await waitFor("the conversation routed to Ben", async () => {
      const conv = (await call("GET", `/v1/conversations/${convId}`)).body;
      return conv.assignee && conv.assignee.id === agents.ben && conv.status === "open";
    });
    await ben.locator(`[data-testid=conversation-item]`).first().waitFor();
  });

  await check("visitor: the queue notice goes away; Ana's waiting list empties", async () => {
    await w.queue.waitFor({ state: "hidden" });
    await ana.locator(`[data-testid=waiting-item][data-conversation-id="${convId}"]`).waitFor({ state: "detached" });
  });

  await check("Ben transfers it to Ana with a reason; Ana's console and the visitor see it", async () => {
    // Ana gets room for it (a transfer by hand is not routing, but stay in capacity)
    const c = await call("PUT", `/v1/agents/${agents.ana}/capacity`, { max_chats: 3 });
    if (c.status !== 200) throw new Error(`capacity ${c.status}`);
    await ben.locator(`[data-testid=conversation-item][data-id="${convId}"]`).click();
    await ben.getByTestId("transfer-button").click();
    await ben.getByTestId("transfer-agent").selectOption(agents.ana);
    await ben.getByTestId("transfer-reason").fill("Ana handles the big orders");
    await ben.getByTestId("transfer-submit").click();
    await waitFor("the conversation assigned to Ana", async () => {
      const conv = (await call("GET", `/v1/conversations/${convId}`)).body;
      return conv.assignee && conv.assignee.id === agents.ana;
    });
    await ana.locator(`[data-testid=conversation-item][data-id="${convId}"]`).waitFor();
    // the visitor's widget shows the transfer as a system line (the
    // server's notice, or the transfer event itself)
    await visitor.locator("[data-testid=parley-message][data-sender=system]:not([data-kind=assigned]):not([data-kind=created])")
      .first().waitFor();
  });

  await check("Ben sets himself away with the presence switch", async () => {
    await ben.getByTestId("presence-select").selectOption("away");
    await ben.locator("[data-testid=presence-select][data-state=away]").waitFor();
    const p = (await call("GET", "/v1/presence")).body.departments.find((d) => d.department_id === sales.id);
    const me = p.members.find((m) => m.user_id === agents.ben);
    if (me.state !== "away") throw new Error(`Ben is ${me.state}`);
  });

  await check("no uncaught errors in any page", async () => {
    if (state.pageErrors.length) throw new Error(state.pageErrors.join("\n"));
  });
}

runScenario(scenario);
