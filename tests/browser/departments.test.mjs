// End-to-end browser test of the Departments and Audit log pages: the real
// parleyd, the agent console and the widget in headless Chromium.
//
//   PARLEYD=build/parleyd PARLEY_WEB=web node tests/browser/departments.test.mjs
//
// The owner sees the four departments every tenant starts with; creates
// one with business hours (two ranges, one of them refused first as
// overlapping), a time zone, a routing policy, SLA thresholds and a member;
// moves it up; deactivates and activates it. The audit log shows the
// department's creation and members with who and from where, filtered by
// action. A visitor on the demo site picks the new department in the
// widget. An agent sees neither page.
// Environment as in harness.mjs; prints "N passed, N failed".

import { check, DEMO_EMAIL, expectCount, newPage, PASSWORD, runScenario, waitFor } from "./harness.mjs";

const AGENT_EMAIL = "dee@demo.parley";
const AGENT_PASSWORD = "dee-first-password";

async function signIn(page, base, email, password) {
  await page.goto(`${base}/agent/`);
  await page.getByTestId("login-email").fill(email);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();
  await page.locator("[data-testid=connection-status][data-state=live]").waitFor();
}

async function apiAs(base, token, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method, headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function scenario(state) {
  const base = state.srv.base;
  const owner = await newPage(state, "owner");
  const row = (slug) => owner.locator(`[data-testid=dept-row][data-slug="${slug}"]`);
  const slugs = () => owner.locator("[data-testid=dept-row]").evaluateAll((rs) => rs.map((r) => r.dataset.slug));
  let token;

  await check("an agent to be a member exists", async () => {
    await signIn(owner, base, DEMO_EMAIL, PASSWORD);
    token = await owner.evaluate(() => JSON.parse(sessionStorage.getItem("parley.agent.auth")).access_token);
    const inv = await apiAs(base, token, "POST", "/v1/users", { email: AGENT_EMAIL, name: "Dee Agent", role: "agent" });
    if (inv.status !== 201) throw new Error(`invite ${inv.status}`);
    const set = await fetch(`${base}/v1/auth/set-password`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: inv.body.invite_token, password: AGENT_PASSWORD }),
    });
    if (set.status !== 200) throw new Error(`set-password ${set.status}`);
  });

  await check("owner: the Departments page lists the four a tenant starts with", async () => {
    await owner.getByTestId("nav-departments").click();
    await owner.getByTestId("departments-view").waitFor();
    await expectCount(owner.locator("[data-testid=dept-row]"), 4, "departments");
    const s = await slugs();
    if (s.join() !== "general,sales,technical,billing") throw new Error(`order ${s}`);
    if (await row("general").getAttribute("data-default") !== "true") throw new Error("general is not the default");
    await row("general").getByTestId("dept-default").waitFor();
    const hours = await row("sales").getByTestId("dept-hours").textContent();
    if (!hours.startsWith("Always open")) throw new Error(`hours ${hours}`);
  });

  await check("owner: overlapping business hours are refused with the reason", async () => {
    await owner.getByTestId("dept-name").fill("Support Europe");
    const slug = await owner.getByTestId("dept-slug").inputValue();
    if (slug !== "support-europe") throw new Error(`slug from the name: ${slug}`);
    await owner.getByTestId("dept-timezone").fill("Europe/Berlin");
    await owner.getByTestId("dept-routing").selectOption("least_busy");
    await owner.getByTestId("dept-sla-medium").fill("30");
    await owner.getByTestId("dept-sla-high").fill("120");
    await owner.getByTestId("dept-always").uncheck();
    await expectCount(owner.getByTestId("range-row"), 5, "the Monday-to-Friday ranges offered");
    // keep Monday only, then add an overlapping Monday range
    for (let i = 4; i >= 1; i--) await owner.getByTestId("range-row").nth(i).getByTestId("range-remove").click();
    await owner.getByTestId("dept-add-range").click();
    const second = owner.getByTestId("range-row").nth(1);
    await second.getByTestId("range-day").selectOption("mon");
    await second.getByTestId("range-open").fill("16:00");
    await second.getByTestId("range-close").fill("20:00");
    await owner.locator(`[data-testid=dept-member][data-email="${AGENT_EMAIL}"]`).check();
    await owner.getByTestId("dept-save").click();
    await owner.getByTestId("dept-error").waitFor();
    const msg = await owner.getByTestId("dept-error").textContent();
    if (!/Business hours: .*overlaps/.test(msg)) throw new Error(`error shown: ${msg}`);
    if ((await slugs()).includes("support-europe")) throw new Error("created anyway");
    return msg;
  });

  await check("owner: creates it with hours, members, routing and SLA", async () => {
    const second = owner.getByTestId("range-row").nth(1);
    await second.getByTestId("range-day").selectOption("sat");
    await second.getByTestId("range-open").fill("10:00");
    await second.getByTestId("range-close").fill("14:00");
    await owner.getByTestId("dept-save").click();
    await row("support-europe").waitFor();
    const hours = await row("support-europe").getByTestId("dept-hours").textContent();
    if (hours !== "Mon 09:00-17:00; Sat 10:00-14:00 (Europe/Berlin)") throw new Error(`hours ${hours}`);
    const members = await row("support-europe").getByTestId("dept-members-cell").textContent();
    if (members !== "Dee Agent") throw new Error(`members ${members}`);
    if (await row("support-europe").getByTestId("dept-routing-cell").textContent() !== "least_busy") throw new Error("routing");
    const r = await apiAs(base, token, "GET", "/v1/departments");
    const d = r.body.data.find((x) => x.slug === "support-europe");
    if (!d || d.sla_medium_s !== 30 || d.sla_high_s !== 120 || d.members.length !== 1 || d.timezone !== "Europe/Berlin")
      throw new Error(`stored ${JSON.stringify(d)}`);
  });

  await check("owner: moves it up, deactivates and activates it", async () => {
    await row("support-europe").getByTestId("dept-up").click();
    await waitFor("the new order", async () => (await slugs()).join() === "general,sales,technical,support-europe,billing");
    await row("support-europe").getByTestId("dept-toggle").click();
    await owner.locator("[data-testid=dept-row][data-slug=support-europe][data-active=false]").waitFor();
    await row("support-europe").getByTestId("dept-toggle").click();
    await owner.locator("[data-testid=dept-row][data-slug=support-europe][data-active=true]").waitFor();
    const r = await apiAs(base, token, "GET", "/v1/departments");
    if (r.body.data.map((x) => x.slug).join() !== "general,sales,technical,support-europe,billing") throw new Error("stored order");
  });

  await check("owner: edits it (the form shows what is stored)", async () => {
    await row("support-europe").getByTestId("dept-edit").click();
    if (await owner.getByTestId("dept-name").inputValue() !== "Support Europe") throw new Error("name not loaded");
    await expectCount(owner.getByTestId("range-row"), 2, "ranges loaded");
    await owner.getByTestId("dept-description").fill("Customers in Europe");
    await owner.getByTestId("dept-save").click();
    await owner.getByTestId("dept-saved").waitFor();
    await row("support-europe").locator("text=Customers in Europe").waitFor();
  });

  await check("owner: the audit log shows the department's creation, who and from where", async () => {
    await owner.getByTestId("nav-audit").click();
    await owner.getByTestId("audit-view").waitFor();
    const created = owner.locator("[data-testid=audit-row][data-action='department.create']");
    await created.waitFor();
    const who = await created.getByTestId("audit-actor").textContent();
    const addr = await created.getByTestId("audit-addr").textContent();
    const det = await created.getByTestId("audit-details").textContent();
    if (who !== "Demo Admin" || addr !== "127.0.0.1" || !det.includes("support-europe")) throw new Error(`${who} ${addr} ${det}`);
    await owner.locator("[data-testid=audit-row][data-action='department.members']").waitFor();
    await owner.locator("[data-testid=audit-row][data-action='user.invite']").waitFor();
    // filtered by action
    await owner.getByTestId("audit-action-filter").selectOption("department.update");
    await owner.getByTestId("audit-apply").click();
    await waitFor("only updates", async () => {
      const acts = await owner.locator("[data-testid=audit-row]").evaluateAll((rs) => rs.map((r) => r.dataset.action));
      return acts.length === 3 && acts.every((a) => a === "department.update");
    });
    return `${who} from ${addr}`;
  });

  await check("visitor: the widget offers the departments and the choice is kept", async () => {
    const visitor = await newPage(state, "visitor");
    await visitor.goto(`${base}/demo.html?key=${encodeURIComponent(state.srv.key)}`);
    await visitor.locator("[data-testid=parley-launcher]").click();
    const select = visitor.locator("[data-testid=parley-department]");
    await select.waitFor({ state: "visible" });
    const names = await select.locator("option").evaluateAll((os) => os.map((o) => o.textContent));
    if (names.join() !== "General,Sales,Technical,Support Europe,Billing") throw new Error(`offered ${names}`);
    const chosen = await select.inputValue();
    const general = (await apiAs(base, token, "GET", "/v1/departments")).body.data.find((x) => x.is_default).id;
    if (chosen !== general) throw new Error("the default is not preselected");
    await select.selectOption({ label: "Support Europe" });
    const sent = visitor.waitForRequest((r) => r.url().endsWith("/v1/widget/conversations") && r.method() === "POST");
    await visitor.locator("[data-testid=parley-input]").fill("Hallo!");
    await visitor.locator("[data-testid=parley-send]").click();
    const body = JSON.parse((await sent).postData());
    const eu = (await apiAs(base, token, "GET", "/v1/departments")).body.data.find((x) => x.slug === "support-europe").id;
    if (body.department_id !== eu) throw new Error(`sent ${JSON.stringify(body)}`);
    await visitor.locator("[data-testid=parley-message][data-sender=visitor][data-seq]").waitFor();
    await visitor.locator("[data-testid=parley-department-box]").waitFor({ state: "hidden" });
  });

  await check("an agent sees neither page", async () => {
    const agent = await newPage(state, "agent");
    await signIn(agent, base, AGENT_EMAIL, AGENT_PASSWORD);
    for (const p of ["departments", "audit"]) {
      if (await agent.getByTestId(`nav-${p}`).isVisible()) throw new Error(`the agent sees the ${p} link`);
      await agent.evaluate((h) => { location.hash = `#${h}`; }, p);
      await waitFor("the console to fall back to the inbox", async () => (await agent.evaluate(() => document.body.dataset.page)) === "inbox");
    }
  });

  await check("no uncaught errors in any page", async () => {
    if (state.pageErrors.length) throw new Error(state.pageErrors.join("\n"));
  });
}

await runScenario(scenario);
