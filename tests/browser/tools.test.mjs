// End-to-end browser test of the agents' tools: the real parleyd, the
// agent console and the widget in headless Chromium.
//
//   PARLEYD=build/parleyd PARLEY_WEB=web node tests/browser/tools.test.mjs
//
// The owner adds, on the Replies & tags page, a team canned response whose
// title is a <script> (shown as text, never run), one with placeholders, a
// tag and an attribute definition. Environment as in harness.mjs; prints
// "N passed, N failed".

import { check, DEMO_EMAIL, PASSWORD, newPage, runScenario, waitFor } from "./harness.mjs";

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

  await check("no uncaught errors in any page", async () => {
    if (state.pageErrors.length) throw new Error(state.pageErrors.join("\n"));
    if (await owner.evaluate(() => window.__pwned)) throw new Error("a script ran");
  });
}

await runScenario(scenario);
