// End-to-end browser test of the agents' tools: the real parleyd, the
// agent console and the widget in headless Chromium.
//
//   PARLEYD=build/parleyd PARLEY_WEB=web node tests/browser/tools.test.mjs
//
// The owner adds, on the Replies & tags page, a team canned response whose
// title is a <script> (shown as text, never run), one with placeholders, a
// tag and an attribute definition. A visitor starts a chat on the demo
// site; the owner types "/" in the reply box, picks the canned response
// from the list and sends it: the visitor sees it with the placeholders
// filled in (an unknown one left as written). The owner tags the
// conversation. A second agent signs in (a second browser context); the
// owner writes a note, picks the agent from the "@" list, and the agent's
// unread-mentions badge shows it live; opening the conversation clears
// it. Environment as in harness.mjs; prints "N passed, N failed".

import { check, DEMO_EMAIL, PASSWORD, newPage, runScenario, waitFor } from "./harness.mjs";

const AGENT_EMAIL = "kit@demo.parley";
const AGENT_PASSWORD = "kit-first-password";

const XSS = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\">";

async function signIn(page, base, email, password) {
  await page.goto(`${base}/agent/`);
  await page.getByTestId("login-email").fill(email);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();
  await page.locator("[data-testid=connection-status][data-state=live]").waitFor();
}

async function scenario(state) {
  const base = state.srv.base;
  const owner = await newPage(state, "owner");

  await check("owner: opens Replies & tags", async () => {
    await signIn(owner, base, DEMO_EMAIL, PASSWORD);
    await owner.getByTestId("nav-tools").click();
    await owner.getByTestId("tools-view").waitFor();
    await owner.getByTestId("canned-empty").waitFor();
  });

  await check("owner: adds a team canned response titled with a <script>: shown as text", async () => {
    await owner.getByTestId("canned-code").fill("xss");
    await owner.getByTestId("canned-title-input").fill(XSS);
    await owner.getByTestId("canned-body").fill(`${XSS} for {{visitor.name}}`);
    await owner.getByTestId("canned-scope").selectOption("tenant");
    await owner.getByTestId("canned-submit").click();
    const row = owner.locator("[data-testid=canned-row][data-shortcode=xss]");
    await row.waitFor();
    const title = await row.getByTestId("canned-title").textContent();
    if (title !== XSS) throw new Error(`title shown as ${JSON.stringify(title)}`);
    if (await row.locator("script, img").count()) throw new Error("the title became markup");
    if (await owner.evaluate(() => window.__pwned)) throw new Error("the script ran");
  });

  await check("owner: a duplicate shortcode is refused with the server's message", async () => {
    await owner.getByTestId("canned-code").fill("xss");
    await owner.getByTestId("canned-title-input").fill("again");
    await owner.getByTestId("canned-body").fill("again");
    await owner.getByTestId("canned-scope").selectOption("tenant");
    await owner.getByTestId("canned-submit").click();
    await owner.getByTestId("canned-error").waitFor();
    const msg = await owner.getByTestId("canned-error").textContent();
    if (!msg.includes("taken")) throw new Error(`error ${msg}`);
  });

  await check("owner: adds a canned response with placeholders, a tag and an attribute", async () => {
    await owner.getByTestId("canned-code").fill("hello");
    await owner.getByTestId("canned-title-input").fill("Hello");
    await owner.getByTestId("canned-body").fill("Hi {{visitor.name}}, {{agent.name}} here ({{ticket.id}})");
    await owner.getByTestId("canned-scope").selectOption("tenant");
    await owner.getByTestId("canned-submit").click();
    await owner.locator("[data-testid=canned-row][data-shortcode=hello]").waitFor();
    await owner.getByTestId("tag-name-input").fill(XSS);
    await owner.getByTestId("tag-submit").click();
    const chip = owner.getByTestId("tag-name").first();
    await chip.waitFor();
    if ((await chip.textContent()) !== XSS) throw new Error("tag name not shown as text");
    await owner.getByTestId("attr-key").fill("plan");
    await owner.getByTestId("attr-type").selectOption("text");
    await owner.getByTestId("attr-submit").click();
    await owner.locator("[data-testid=attr-row][data-key=plan]").waitFor();
  });

  const visitor = await newPage(state, "visitor");
  let convId;
  await check("visitor: starts a chat on the demo site", async () => {
    await visitor.goto(`${base}/demo.html?key=${encodeURIComponent(state.srv.key)}`);
    await visitor.locator("[data-testid=parley-launcher]").click();
    await visitor.locator("[data-testid=parley-input]").fill("I need help");
    await visitor.locator("[data-testid=parley-send]").click();
    await visitor.locator("[data-testid=parley-message][data-sender=visitor][data-seq]").first().waitFor();
    await owner.getByTestId("nav-inbox").click();
    const item = owner.locator("[data-testid=conversation-item]").first();
    await item.waitFor();
    convId = await item.getAttribute("data-id");
    await item.click();
    return `conversation ${convId}`;
  });

  await check("owner: \"/hel\" lists the canned response; choosing and sending it reaches the visitor expanded", async () => {
    const token = await owner.evaluate(() => JSON.parse(sessionStorage.getItem("parley.agent.auth")).access_token);
    const hdr = { Authorization: `Bearer ${token}` };
    const conv = await fetch(`${base}/v1/conversations/${convId}`, { headers: hdr }).then((r) => r.json());
    const me = await fetch(`${base}/v1/auth/me`, { headers: hdr }).then((r) => r.json());
    const name = (me.user || me).name;
    const input = owner.getByTestId("reply-input");
    await input.click();
    await input.pressSequentially("/hel");
    const option = owner.locator("[data-testid=canned-option][data-value=hello]");
    await option.waitFor();
    await input.press("Enter");
    const want = `Hi ${conv.visitor.name}, ${name} here ({{ticket.id}})`;
    await waitFor("the reply box to hold the expanded text", async () => (await input.inputValue()) === want);
    await owner.getByTestId("reply-send").click();
    await visitor.locator("[data-testid=parley-message][data-sender=agent]", { hasText: want }).waitFor();
    return want;
  });

  await check("owner: tags the conversation from the tag editor", async () => {
    await owner.getByTestId("tag-add").focus();
    await waitFor("the tag list in the editor", async () => (await owner.getByTestId("tag-add").locator("option").count()) > 1);
    const value = await owner.getByTestId("tag-add").locator("option").nth(1).getAttribute("value");
    await owner.getByTestId("tag-add").selectOption(value);
    const chip = owner.locator(`[data-testid=conversation-tag][data-id="${value}"]`);
    await chip.waitFor();
    if (!(await chip.textContent()).startsWith(XSS)) throw new Error("tag chip not shown as text");
    if (await visitor.locator("[data-testid=parley-message]", { hasText: "tag" }).count()) throw new Error("the visitor saw the tag");
  });

  const agent = await newPage(state, "agent");
  await check("a second agent signs in", async () => {
    const token = await owner.evaluate(() => JSON.parse(sessionStorage.getItem("parley.agent.auth")).access_token);
    const inv = await fetch(`${base}/v1/users`, {
      method: "POST", headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ email: AGENT_EMAIL, name: "Kit", role: "agent" }),
    }).then((r) => r.json());
    const set = await fetch(`${base}/v1/auth/set-password`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: inv.invite_token, password: AGENT_PASSWORD }),
    });
    if (set.status !== 200) throw new Error(`set-password ${set.status}`);
    await signIn(agent, base, AGENT_EMAIL, AGENT_PASSWORD);
    if (await agent.getByTestId("mention-badge").isVisible()) throw new Error("a badge before any mention");
  });

  await check("owner: a note mentioning Kit from the @ list reaches Kit's console live", async () => {
    await owner.getByTestId("note-toggle").check();
    const input = owner.getByTestId("reply-input");
    await input.click();
    await input.fill("");
    await input.pressSequentially("please look @Ki");
    await owner.locator("[data-testid=mention-option]").first().waitFor();
    await input.press("Enter");
    await waitFor("the name in the note", async () => (await input.inputValue()).includes("@Kit "));
    await owner.getByTestId("reply-send").click();
    const badge = agent.getByTestId("mention-badge");
    await badge.waitFor({ state: "visible" });
    if ((await badge.getAttribute("data-count")) !== "1") throw new Error(`badge ${await badge.getAttribute("data-count")}`);
    if (await visitor.locator("[data-testid=parley-message]", { hasText: "please look" }).count()) throw new Error("the visitor saw the note");
  });

  await check("Kit: opening the conversation from the badge clears it", async () => {
    await agent.getByTestId("mention-badge").click();
    await agent.locator("[data-testid=message][data-kind=note]", { hasText: "please look" }).waitFor();
    await agent.getByTestId("mention-badge").waitFor({ state: "hidden" });
    const token = await agent.evaluate(() => JSON.parse(sessionStorage.getItem("parley.agent.auth")).access_token);
    await waitFor("no unread mention left on the server", async () => {
      const m = await fetch(`${base}/v1/mentions`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.json());
      return m.count === 0;
    });
  });

  await check("no uncaught errors in any page", async () => {
    if (state.pageErrors.length) throw new Error(state.pageErrors.join("\n"));
    if (await owner.evaluate(() => window.__pwned)) throw new Error("a script ran");
  });
}

await runScenario(scenario);
