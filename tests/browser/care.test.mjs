// Browser test of what visitors see at the end of a chat and around it:
// the pre-chat form (a required field stops the first message until it is
// given, and the answers reach the agent), a visitor rating a resolved
// chat (stars and a comment with markup, shown as text) seen by the agent
// live in the console, the transcript buttons, and the agent's visitor
// profile panel (an edit reaches the conversation; custom attributes set
// by type, a wrong value refused by the server with its error shown, the
// values read back over the API).
//
//   PARLEYD=build/parleyd PARLEY_WEB=web node tests/browser/care.test.mjs

import { check, expectCount, newPage, PASSWORD, runScenario, waitFor } from "./harness.mjs";

const HOSTILE = "<b>bold</b> & <script>window.__pwned = 1</script>";

async function scenario(state) {
  const base = state.srv.base;
  const agent = await newPage(state, "agent");
  const visitor = await newPage(state, "visitor");
  let token;
  const api = async (method, path, body) => {
    const res = await fetch(`${base}${path}`, {
      method, headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };

  await check("owner: the pre-chat form asks for a name (required) and an email (optional)", async () => {
    const res = await fetch(`${base}/v1/auth/login`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "admin@demo.parley", password: PASSWORD }),
    });
    token = (await res.json()).access_token;
    const r = await api("PATCH", "/v1/tenant", { prechat: { name: "required", email: "optional" } });
    if (r.status !== 200 || r.body.prechat.name !== "required") throw new Error(JSON.stringify(r));
  });

  await check("agent console: log in", async () => {
    await agent.goto(`${base}/agent/`);
    await agent.getByTestId("login-email").fill("admin@demo.parley");
    await agent.getByTestId("login-password").fill(PASSWORD);
    await agent.getByTestId("login-submit").click();
    await agent.locator("[data-testid=connection-status][data-state=live]").waitFor();
  });

  const w = (id) => visitor.locator(`[data-testid=${id}]`);
  await check("visitor: the form shows; without the required name nothing is sent", async () => {
    await visitor.goto(`${base}/demo.html?key=${encodeURIComponent(state.srv.key)}`);
    await w("parley-launcher").click();
    await w("parley-prechat").waitFor({ state: "visible" });
    if (!(await w("parley-prechat-name").isVisible()) || !(await w("parley-prechat-email").isVisible())) throw new Error("fields hidden");
    if (await w("parley-prechat-phone").isVisible()) throw new Error("the phone is off but shown");
    await w("parley-input").fill("Where is my parcel?");
    await w("parley-send").click();
    await waitFor("the error", async () => /name/.test(await w("parley-error").textContent()));
    const r = await api("GET", "/v1/conversations");
    if (r.body.data.length !== 0) throw new Error("a conversation was started");
  });

  let convId;
  await check("visitor: with a name the conversation starts; the agent sees the name", async () => {
    await w("parley-prechat-name").fill("Pia " + HOSTILE);
    await w("parley-prechat-email").fill("pia@example.com");
    await w("parley-send").click();
    await visitor.locator("[data-testid=parley-message][data-sender=visitor][data-seq]").first().waitFor();
    await w("parley-prechat").waitFor({ state: "hidden" });
    const item = agent.locator("[data-testid=conversation-item]").first();
    await item.waitFor();
    await item.click();
    await waitFor("the visitor's name", async () =>
      (await agent.getByTestId("conversation-visitor").textContent()).includes("Pia <b>bold</b>"));
    const r = await api("GET", "/v1/conversations");
    convId = r.body.data[0].id;
    if (r.body.data[0].visitor.email !== "pia@example.com") throw new Error(JSON.stringify(r.body.data[0]));
  });

  await check("agent: resolves; the visitor gets the rating prompt", async () => {
    await agent.getByTestId("resolve-button").click();
    await w("parley-rating").waitFor({ state: "visible" });
  });

  await check("visitor: rates 4 stars with a comment full of markup", async () => {
    await w("parley-star-4").click();
    await w("parley-rating-comment").fill(HOSTILE);
    await w("parley-rating-send").click();
    await w("parley-rating").waitFor({ state: "hidden" });
    await visitor.locator("[data-testid=parley-message][data-kind=rating]", { hasText: "4 of 5" }).waitFor();
  });

  await check("agent: sees the rating live, the comment as text", async () => {
    const r = agent.getByTestId("conversation-rating");
    await r.waitFor({ state: "visible" });
    await waitFor("4 stars", async () => (await r.getAttribute("data-score")) === "4");
    await waitFor("the comment", async () => (await agent.getByTestId("rating-comment").textContent()) === HOSTILE);
    await agent.locator("[data-testid=message][data-kind=rating]").waitFor();
    if (await agent.locator("[data-testid=conversation-rating] b, [data-testid=messages] b").count()) throw new Error("markup rendered");
    const pwned = await agent.evaluate(() => window.__pwned) || await visitor.evaluate(() => window.__pwned);
    if (pwned) throw new Error("a script ran");
  });

  await check("the rating is stored with its comment; the prompt does not come back", async () => {
    const r = await api("GET", `/v1/conversations/${convId}`);
    if (r.body.rating !== 4 || r.body.rating_details.comment !== HOSTILE) throw new Error(JSON.stringify(r.body));
    if (await w("parley-rating").isVisible()) throw new Error("prompt shown again");
  });

  await check("agent: downloads the HTML transcript", async () => {
    const [dl] = await Promise.all([agent.waitForEvent("download"), agent.getByTestId("transcript-html").click()]);
    if (!/^conversation-\d+\.html$/.test(dl.suggestedFilename())) throw new Error(dl.suggestedFilename());
  });

  await check("visitor: downloads their transcript", async () => {
    const [dl] = await Promise.all([visitor.waitForEvent("download"), w("parley-transcript-download").click()]);
    if (!/^conversation-\d+\.html$/.test(dl.suggestedFilename())) throw new Error(dl.suggestedFilename());
  });

  await check("agent: edits the visitor's profile; the conversation shows the new name", async () => {
    await agent.getByTestId("profile-button").click();
    await agent.getByTestId("visitor-panel").waitFor({ state: "visible" });
    if ((await agent.getByTestId("visitor-email").inputValue()) !== "pia@example.com") throw new Error("email not loaded");
    await agent.getByTestId("visitor-phone").fill("not a phone");
    await agent.getByTestId("visitor-save").click();
    await agent.getByTestId("visitor-error").waitFor({ state: "visible" });
    await agent.getByTestId("visitor-name").fill("Pia Renamed");
    await agent.getByTestId("visitor-phone").fill("+49 30 1234567");
    await agent.getByTestId("visitor-notes").fill("Prefers email");
    await agent.getByTestId("visitor-save").click();
    await agent.getByTestId("visitor-saved").waitFor({ state: "visible" });
    await waitFor("the new name in the conversation", async () =>
      (await agent.getByTestId("conversation-visitor").textContent()).includes("Pia Renamed"));
  });

  await check("agent: sets the visitor's custom attributes in the panel (by type); a wrong value shows the server's error", async () => {
    for (const [key, type] of [["plan", "text"], ["seats", "number"], ["vip", "boolean"], ["renewal", "date"]]) {
      const r = await api("POST", "/v1/attributes", { owner: "visitor", key, label: key, type });
      if (r.status !== 201) throw new Error(JSON.stringify(r));
    }
    await agent.getByTestId("visitor-close").click();
    await agent.getByTestId("profile-button").click();
    await agent.getByTestId("visitor-attrs").waitFor({ state: "visible" });
    const input = (key) => agent.getByTestId(`visitor-attr-${key}`);
    if (await input("renewal").getAttribute("type") !== "date" || await input("vip").evaluate((e) => e.tagName) !== "SELECT") {
      throw new Error("inputs not by type");
    }
    await input("seats").fill("twelve");
    await agent.getByTestId("visitor-save").click();
    await waitFor("the server's error", async () => (await agent.getByTestId("visitor-error").isVisible()) &&
      /seats/.test(await agent.getByTestId("visitor-error").textContent()));
    if (await input("seats").getAttribute("aria-invalid") !== "true") throw new Error("the field is not marked");
    await input("seats").fill("12");
    await input("plan").fill(HOSTILE);
    await input("vip").selectOption("true");
    await input("renewal").fill("2027-02-28");
    await agent.getByTestId("visitor-save").click();
    await agent.getByTestId("visitor-saved").waitFor({ state: "visible" });
    const vid = (await api("GET", `/v1/conversations/${convId}`)).body.visitor.id;
    const got = (await api("GET", `/v1/visitors/${vid}/attributes`)).body.attributes;
    const want = { plan: HOSTILE, seats: 12, vip: true, renewal: "2027-02-28" };
    if (JSON.stringify(got) !== JSON.stringify(Object.fromEntries(Object.keys(got).sort().map((k) => [k, want[k]])))
      || Object.keys(got).length !== 4) throw new Error(JSON.stringify(got));
    const prof = (await api("GET", `/v1/visitors/${vid}`)).body;
    if (JSON.stringify(prof.attributes) !== JSON.stringify(got)) throw new Error(JSON.stringify(prof));
    // the change is in the agent's history, as text
    await waitFor("the change in the conversation", async () =>
      (await agent.getByTestId("messages").textContent()).includes("renewal = 2027-02-28"));
    if (await agent.evaluate(() => window.__pwned)) throw new Error("markup ran");
    // removing one: an emptied input
    await input("plan").fill("");
    await agent.getByTestId("visitor-save").click();
    await waitFor("plan removed", async () => !("plan" in (await api("GET", `/v1/visitors/${vid}/attributes`)).body.attributes));
  });

  await check("no uncaught errors in any page", async () => {
    if (state.pageErrors.length) throw new Error(state.pageErrors.join("\n"));
  });
  await expectCount(agent.locator("[data-testid=conversation-item]"), 1, "conversations");
}

await runScenario(scenario);
