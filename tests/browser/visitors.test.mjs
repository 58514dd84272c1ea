// End-to-end browser test of visitor tracking: the real parleyd, the demo
// site with the widget and the agent console in headless Chromium.
//
//   PARLEYD=build/parleyd PARLEY_WEB=web node tests/browser/visitors.test.mjs
//
// An agent opens the Visitors page. A visitor loads the demo site (one page
// view) and navigates within it (history.pushState: a second one, with a
// title holding markup). The agent sees the visitor live, without a
// reload, on the second page, its title shown as text (no element made
// from it), two pages, the browser and system from the User-Agent; the
// reports list both pages. The owner sets an identity secret on the page
// (shown once); a visitor whose site passes a user id signed with it is
// marked verified. A browser with Global Privacy Control sends nothing.
// Environment as in harness.mjs; prints "N passed, N failed".

import crypto from "node:crypto";
import { check, DEMO_EMAIL, newPage, PASSWORD, runScenario, waitFor } from "./harness.mjs";

const TRICKY = "<img src=x onerror=\"window.__pwned=1\">Pricing & plans";
// Headless Chromium says "HeadlessChrome", which core/ua.h counts as a bot:
// the visitor's page presents the desktop browser's User-Agent.
const DESKTOP_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

async function asDesktop(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.setUserAgentOverride", { userAgent: DESKTOP_UA });
}

async function signIn(page, base, email, password) {
  await page.goto(`${base}/agent/`);
  await page.getByTestId("login-email").fill(email);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();
  await page.locator("[data-testid=connection-status][data-state=live]").waitFor();
}

async function scenario(state) {
  const base = state.srv.base;
  const key = state.srv.key;
  const agent = await newPage(state, "agent");
  let token;

  await check("the agent opens the Visitors page: nobody yet", async () => {
    await signIn(agent, base, DEMO_EMAIL, PASSWORD);
    token = await agent.evaluate(() => JSON.parse(sessionStorage.getItem("parley.agent.auth")).access_token);
    await agent.getByTestId("nav-visitors").click();
    await agent.getByTestId("visitors-view").waitFor();
    await agent.getByTestId("visitors-empty").waitFor();
  });

  const site = await newPage(state, "visitor");
  await check("a visitor loads the demo site: seen live on that page", async () => {
    await asDesktop(site);
    await site.goto(`${base}/demo.html?key=${encodeURIComponent(key)}&utm_source=mail#top`);
    const row = agent.getByTestId("visitor-row");
    await row.waitFor();
    const url = await row.getByTestId("visitor-page-url").textContent();
    if (url !== `${base}/demo.html`) throw new Error(`current page ${url} (the query and fragment are dropped)`);
    const dev = await row.getByTestId("visitor-device").textContent();
    if (dev !== "desktop · Chrome 120 · Linux") throw new Error(`device ${dev}`);
  });

  await check("the visitor navigates (pushState): the agent sees the new page, two pages, markup as text", async () => {
    await site.evaluate((t) => { document.title = t; history.pushState({}, "", "/pricing?plan=pro"); }, TRICKY);
    const row = agent.getByTestId("visitor-row");
    await waitFor("the second page", async () => (await row.getAttribute("data-pages")) === "2");
    const title = await row.getByTestId("visitor-page-title").textContent();
    if (title !== TRICKY) throw new Error(`title ${title}`);
    if (await row.locator("img").count() !== 0) throw new Error("the title became markup");
    if (await agent.evaluate(() => window.__pwned)) throw new Error("the title ran");
    const url = await row.getByTestId("visitor-page-url").textContent();
    if (url !== `${base}/pricing`) throw new Error(`current page ${url}`);
    if ((await agent.getByTestId("visitors-count").textContent()) !== "1") throw new Error("count");
  });

  await check("the live list matches the API", async () => {
    const res = await fetch(`${base}/v1/visitors/live`, { headers: { Authorization: `Bearer ${token}` } });
    const body = await res.json();
    if (body.data.length !== 1 || body.data[0].pages !== 2 || body.data[0].current_page.title !== TRICKY) {
      throw new Error(JSON.stringify(body));
    }
  });

  await check("the reports list both pages and the browser", async () => {
    await agent.getByTestId("visitors-apply").click();
    await waitFor("two pages in the report", async () => (await agent.getByTestId("stats-pages-row").count()) === 2);
    const pages = await agent.getByTestId("stats-pages-row").allTextContents();
    if (!pages.some((p) => p.startsWith(`${base}/pricing`)) || !pages.some((p) => p.startsWith(`${base}/demo.html`))) {
      throw new Error(`pages ${pages}`);
    }
    const totals = await agent.getByTestId("visitors-totals").textContent();
    if (!totals.startsWith("2 page views · 1 visits")) throw new Error(totals);
    const browsers = await agent.getByTestId("stats-browsers-row").allTextContents();
    if (!browsers[0].startsWith("Chrome")) throw new Error(`browsers ${browsers}`);
  });

  await check("a visitor with a signed user id is marked verified", async () => {
    // the owner sets a secret on the page; it is shown once
    await agent.getByTestId("tracking-form").waitFor();
    if ((await agent.getByTestId("tracking-keep-days").inputValue()) !== "90") throw new Error("keep days");
    await agent.getByTestId("identity-rotate").click();
    await agent.getByTestId("identity-secret").waitFor();
    const shown = await agent.getByTestId("identity-secret").textContent();
    const secret = shown.slice(shown.lastIndexOf(" ") + 1);
    if (secret.length < 40) throw new Error(`secret ${shown}`);
    if (!(await agent.getByTestId("identity-state").textContent()).startsWith("A secret is set")) throw new Error("state");
    const hash = crypto.createHmac("sha256", secret).update("cust-99").digest("hex");
    const signed = await newPage(state, "signed");
    await signed.addInitScript(([k, h]) => { window.ParleyWidget = { key: k, user_id: "cust-99", user_hash: h }; }, [key, hash]);
    await signed.goto(`${base}/demo.html?key=${encodeURIComponent(key)}`);
    const row = agent.locator("[data-testid=visitor-row]", { has: agent.getByTestId("visitor-verified") });
    await row.waitFor();
    const badge = await row.getByTestId("visitor-verified").textContent();
    if (!badge.includes("cust-99")) throw new Error(`badge ${badge}`);
    if ((await agent.getByTestId("visitor-row").count()) !== 2) throw new Error("rows");
    state.signed = signed;
  });

  await check("the verified visitor writes: the conversation pane marks them, with their page", async () => {
    const vt = await state.signed.evaluate((k) => JSON.parse(localStorage.getItem(`parley:${k}:visitor_token`)), key);
    const res = await fetch(`${base}/v1/widget/conversations`, {
      method: "POST", headers: { "Content-Type": "application/json", Authorization: `Bearer ${vt}` },
      body: JSON.stringify({ text: "hello from a signed-in customer", client_id: "v1" }),
    });
    if (res.status !== 201) throw new Error(`conversation ${res.status}`);
    const conv = await res.json();
    await agent.getByTestId("nav-inbox").click();
    await agent.locator(`[data-testid=conversation-item][data-id="${conv.id}"]`).click();
    const badge = await agent.getByTestId("conversation-visitor-verified").textContent();
    if (!badge.includes("cust-99")) throw new Error(`badge ${badge}`);
    await agent.getByTestId("conversation-visitor-page").waitFor();
    await agent.getByTestId("nav-visitors").click();
    await agent.getByTestId("visitors-view").waitFor();
  });

  await check("Global Privacy Control: the widget sends no page view", async () => {
    const gpc = await newPage(state, "gpc");
    const sent = [];
    gpc.on("request", (r) => { if (r.url().includes("/v1/widget/")) sent.push(r.url()); });
    await gpc.addInitScript(() => { Object.defineProperty(navigator, "globalPrivacyControl", { value: true }); });
    await gpc.goto(`${base}/demo.html?key=${encodeURIComponent(key)}`);
    // the widget is up (its API is there: its boot, with the first page view, has run)
    await waitFor("the widget", () => gpc.evaluate(() => !!window.ParleyWidget && typeof window.ParleyWidget.state === "function"));
    await gpc.evaluate(() => history.pushState({}, "", "/elsewhere"));
    await gpc.evaluate(() => new Promise((r) => setTimeout(r, 0)));   // the navigation's turn
    if (sent.length) throw new Error(`sent ${sent}`);
    if ((await agent.getByTestId("visitor-row").count()) !== 2) throw new Error("a row appeared");
  });

  await check("no page errors", async () => {
    if (state.pageErrors.length) throw new Error(state.pageErrors.join("\n"));
  });
}

runScenario(scenario);
