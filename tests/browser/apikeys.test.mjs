// End-to-end browser test of the API keys page: the real parleyd and the
// agent console in headless Chromium.
//
//   PARLEYD=build/parleyd PARLEY_WEB=web node tests/browser/apikeys.test.mjs
//
// The owner creates a key and is shown its secret once (copy button), the
// page then keeps no trace of it; the key is used from the page (fetch with
// the secret) within its scope and refused beyond it; its last use shows
// in the list; the owner revokes it and the next request with it is
// refused. An agent sees no API keys page.
// Environment as in harness.mjs; prints "N passed, N failed".

import { check, DEMO_EMAIL, PASSWORD, newPage, runScenario, waitFor } from "./harness.mjs";

const AGENT_EMAIL = "kit@demo.parley";
const AGENT_PASSWORD = "kit-first-password";
const SECRET_RE = /^pk_[1-9][0-9]*_[A-Za-z0-9_-]{43}$/;

async function signIn(page, base, email, password) {
  await page.goto(`${base}/agent/`);
  await page.getByTestId("login-email").fill(email);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();
  await page.locator("[data-testid=connection-status][data-state=live]").waitFor();
}

// A request made by the page itself with the key's secret: status and body.
function callWith(page, secret, method, path, body) {
  return page.evaluate(async ([s, m, p, b]) => {
    const headers = { Authorization: `Bearer ${s}` };
    if (b !== null) headers["Content-Type"] = "application/json";
    const res = await fetch(p, { method: m, headers, body: b === null ? undefined : JSON.stringify(b) });
    return { status: res.status, body: await res.json().catch(() => null) };
  }, [secret, method, path, body === undefined ? null : body]);
}

async function scenario(state) {
  const base = state.srv.base;
  const owner = await newPage(state, "owner");
  await owner.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  const row = (name) => owner.locator(`[data-testid=key-row][data-name="${name}"]`);

  await check("owner: opens the API keys page (empty)", async () => {
    await signIn(owner, base, DEMO_EMAIL, PASSWORD);
    await owner.getByTestId("nav-apikeys").click();
    await owner.getByTestId("apikeys-view").waitFor();
    await owner.getByTestId("key-empty").waitFor();
    const scopes = await owner.getByTestId("key-scope").locator("option").evaluateAll((os) => os.map((o) => o.value));
    if (scopes.join() !== "read,write,admin") throw new Error(`scopes offered: ${scopes}`);
  });

  let secret;
  await check("owner: creates a read key and is shown its secret once", async () => {
    await owner.getByTestId("key-name").fill("CRM sync");
    await owner.getByTestId("key-scope").selectOption("read");
    const d = new Date(Date.now() + 7 * 86400000);
    const day = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    await owner.getByTestId("key-expires").fill(day);
    await owner.getByTestId("key-submit").click();
    await owner.getByTestId("key-result").waitFor();
    secret = await owner.getByTestId("key-secret").inputValue();
    if (!SECRET_RE.test(secret)) throw new Error(`secret ${JSON.stringify(secret)}`);
    await row("CRM sync").waitFor();
    const r = row("CRM sync");
    if ((await r.getAttribute("data-scope")) !== "read" || (await r.getAttribute("data-state")) !== "active") {
      throw new Error(`row ${await r.getAttribute("data-scope")} ${await r.getAttribute("data-state")}`);
    }
    const text = await r.textContent();
    if (!text.includes(`pk_…${secret.slice(-4)}`) || text.includes(secret)) throw new Error(`row text ${text}`);
    if ((await r.getByTestId("key-last-used").textContent()) !== "never") throw new Error("used before any use");
    return `${secret.slice(0, 10)}…`;
  });

  await check("owner: copies it", async () => {
    await owner.getByTestId("key-copy").click();
    await waitFor("the clipboard to hold the secret", async () => (await owner.evaluate(() => navigator.clipboard.readText())) === secret);
  });

  await check("the page keeps no trace of the secret after Done, nor after a reload", async () => {
    await owner.getByTestId("key-done").click();
    await waitFor("the secret to be hidden", async () => !(await owner.getByTestId("key-result").isVisible()));
    const inDom = await owner.evaluate((s) => document.documentElement.outerHTML.includes(s)
      || [...document.querySelectorAll("input")].some((i) => i.value.includes(s)), secret);
    if (inDom) throw new Error("the secret is still in the page");
    await owner.reload();
    await owner.locator("[data-testid=connection-status][data-state=live]").waitFor();
    await row("CRM sync").waitFor();
    const again = await owner.evaluate((s) => document.documentElement.outerHTML.includes(s)
      || JSON.stringify(localStorage).includes(s) || JSON.stringify(sessionStorage).includes(s), secret);
    if (again) throw new Error("the secret came back");
  });

  await check("the key works from the page within its scope, and not beyond", async () => {
    const list = await callWith(owner, secret, "GET", "/v1/conversations");
    if (list.status !== 200 || !Array.isArray(list.body.data)) throw new Error(`GET: ${JSON.stringify(list)}`);
    const tenant = await callWith(owner, secret, "GET", "/v1/tenant");
    if (tenant.status !== 200) throw new Error(`GET /v1/tenant: ${tenant.status}`);
    const write = await callWith(owner, secret, "PATCH", "/v1/tenant", { name: "Nope" });
    if (write.status !== 403 || write.body.error.code !== "forbidden") throw new Error(`PATCH: ${JSON.stringify(write)}`);
    const keys = await callWith(owner, secret, "GET", "/v1/api-keys");
    if (keys.status !== 403) throw new Error(`GET /v1/api-keys: ${keys.status}`);
    const me = await callWith(owner, secret, "GET", "/v1/auth/me");
    if (me.status !== 403) throw new Error(`GET /v1/auth/me: ${me.status}`);
  });

  await check("its last use shows in the list", async () => {
    await waitFor("the last use to be recorded", async () => {
      await owner.getByTestId("nav-inbox").click();
      await owner.getByTestId("nav-apikeys").click();
      await row("CRM sync").waitFor();
      return (await row("CRM sync").getByTestId("key-last-used").textContent()) === "just now";
    });
  });

  await check("owner: revokes it; the next request with it is refused", async () => {
    await row("CRM sync").getByTestId("key-revoke").click();
    await owner.locator('[data-testid=key-row][data-name="CRM sync"][data-state=revoked]').waitFor();
    if (await row("CRM sync").getByTestId("key-revoke").count()) throw new Error("a revoked key still offers Revoke");
    const res = await callWith(owner, secret, "GET", "/v1/conversations");
    if (res.status !== 401 || res.body.error.code !== "unauthenticated") throw new Error(`after revoking: ${JSON.stringify(res)}`);
  });

  await check("a bad input is explained (no name)", async () => {
    await owner.getByTestId("key-name").fill("  ");
    await owner.getByTestId("key-submit").click();
    await owner.getByTestId("key-error").waitFor();
    if (await owner.getByTestId("key-result").isVisible()) throw new Error("a secret was shown");
  });

  await check("an agent sees no API keys page", async () => {
    const token = await owner.evaluate(() => JSON.parse(sessionStorage.getItem("parley.agent.auth")).access_token);
    const inv = await fetch(`${base}/v1/users`, {
      method: "POST", headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ email: AGENT_EMAIL, name: "Kit", role: "agent" }),
    }).then((r) => r.json());
    const set = await fetch(`${base}/v1/auth/set-password`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: inv.invite_token, password: AGENT_PASSWORD }),
    });
    if (set.status !== 200) throw new Error(`set-password ${set.status}`);
    const agent = await newPage(state, "agent");
    await signIn(agent, base, AGENT_EMAIL, AGENT_PASSWORD);
    if (await agent.getByTestId("nav-apikeys").isVisible()) throw new Error("the agent sees the API keys link");
    await agent.evaluate(() => { location.hash = "#apikeys"; });
    await waitFor("the console to fall back to the inbox", async () => (await agent.evaluate(() => document.body.dataset.page)) === "inbox");
    if (await agent.getByTestId("apikeys-view").isVisible()) throw new Error("API keys shown to an agent");
  });

  await check("no uncaught errors in any page", async () => {
    if (state.pageErrors.length) throw new Error(state.pageErrors.join("\n"));
  });
}

await runScenario(scenario);
