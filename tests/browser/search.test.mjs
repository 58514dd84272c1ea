// End-to-end browser test of conversation search: the real parleyd and the
// agent console in headless Chromium.
//
//   PARLEYD=build/parleyd PARLEY_WEB=web node tests/browser/search.test.mjs
//
// Visitors start conversations over the widget API (one message holding
// HTML and a script, one in French with accents, one in Chinese); the owner
// opens the Search page, finds each by words typed differently (no
// accents, other case, a bigram), sees the snippet as text (the markup
// shown, not run), narrows by status and by a tag picked from the tenant's
// tags, sees a clear error for a query of
// punctuation only, pages with "More", and opens a result in the inbox.
// Environment as in harness.mjs; prints "N passed, N failed".

import { check, DEMO_EMAIL, expectCount, newPage, PASSWORD, runScenario, waitFor } from "./harness.mjs";

const live = (page) => page.locator("[data-testid=connection-status][data-state=live]").waitFor();

async function visitorConversation(base, key, name, text) {
  const s = await fetch(`${base}/v1/widget/session`, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ widget_key: key, name }) });
  const ses = await s.json();
  if (s.status !== 201) throw new Error(`session: ${s.status} ${JSON.stringify(ses)}`);
  const r = await fetch(`${base}/v1/widget/conversations`, { method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${ses.visitor_token}` },
    body: JSON.stringify({ text, client_id: `c-${name}` }) });
  const conv = await r.json();
  if (r.status !== 201) throw new Error(`conversation: ${r.status} ${JSON.stringify(conv)}`);
  return conv.id;
}

async function scenario(state) {
  const { base, key } = state.srv;
  const owner = await newPage(state, "owner");
  const hits = owner.getByTestId("search-hit");
  const ids = {};

  await check("visitors start conversations (HTML, French, Chinese)", async () => {
    ids.html = await visitorConversation(base, key, "Mallory", 'my parcel <img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> never came');
    ids.fr = await visitorConversation(base, key, "Élodie", "Mon élève n'a pas reçu la commande");
    ids.zh = await visitorConversation(base, key, "Wei", "我的订单还没有到");
    for (let i = 0; i < 25; i++) await visitorConversation(base, key, `Pager${i}`, `pager question number ${i}`);
  });

  await check("owner: signs in and opens the Search page", async () => {
    await owner.goto(`${base}/agent/`);
    await owner.getByTestId("login-email").fill(DEMO_EMAIL);
    await owner.getByTestId("login-password").fill(PASSWORD);
    await owner.getByTestId("login-submit").click();
    await live(owner);
    await owner.getByTestId("nav-search").click();
    await owner.getByTestId("search-view").waitFor();
  });

  async function search(q, opts = {}) {
    await owner.getByTestId("search-q").fill(q);
    await owner.getByTestId("search-status-filter").selectOption(opts.status || "");
    await owner.getByTestId("search-go").click();
  }

  await check("a search finds the message; the snippet shows its markup as text", async () => {
    await search("PARCEL never");
    await expectCount(hits, 1, "hits");
    const id = await hits.first().getAttribute("data-id");
    if (id !== ids.html) throw new Error(`found ${id}, not ${ids.html}`);
    const snippet = await hits.first().getByTestId("search-snippet").textContent();
    if (!snippet.includes('<img src=x onerror="window.__pwned=1">') || !snippet.includes("<script>")) throw new Error(`snippet ${snippet}`);
    const imgs = await hits.first().locator("img, script").count();
    if (imgs) throw new Error("the snippet's markup was inserted as HTML");
    if (await owner.evaluate(() => window.__pwned)) throw new Error("a script from the message ran");
  });

  await check("accents and case folded: 'eleve RECU' finds the French message", async () => {
    await search("eleve RECU");
    await waitFor("the French conversation", async () => (await hits.count()) === 1 && (await hits.first().getAttribute("data-id")) === ids.fr);
  });

  await check("Chinese by a bigram: 订单 finds the Chinese message", async () => {
    await search("订单");
    await waitFor("the Chinese conversation", async () => (await hits.count()) === 1 && (await hits.first().getAttribute("data-id")) === ids.zh);
    const snippet = await hits.first().getByTestId("search-snippet").textContent();
    if (!snippet.includes("我的订单还没有到")) throw new Error(`snippet ${snippet}`);
  });

  await check("a status filter narrows the words", async () => {
    await search("parcel", { status: "resolved" });
    await owner.getByTestId("search-empty").waitFor();
    await expectCount(hits, 0, "hits");
  });

  await check("the tag filter lists the tenant's tags and narrows to the tagged conversation", async () => {
    const login = await fetch(`${base}/v1/auth/login`, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: DEMO_EMAIL, password: PASSWORD }) });
    const tok = (await login.json()).access_token;
    const auth = { Authorization: `Bearer ${tok}`, "Content-Type": "application/json" };
    const t = await fetch(`${base}/v1/tags`, { method: "POST", headers: auth, body: JSON.stringify({ name: "Escalated" }) });
    const tag = await t.json();
    if (t.status !== 201) throw new Error(`tag: ${t.status} ${JSON.stringify(tag)}`);
    const r = await fetch(`${base}/v1/conversations/${ids.fr}/tags/${tag.id}`, { method: "POST", headers: auth });
    if (r.status !== 200) throw new Error(`tagging: ${r.status}`);
    await owner.getByTestId("nav-inbox").click();
    await owner.getByTestId("nav-search").click();
    await waitFor("the tag in the pick list", async () => (await owner.locator("[data-testid=search-tag] option", { hasText: "Escalated" }).count()) === 1);
    await owner.getByTestId("search-tag").selectOption({ label: "Escalated" });
    await search("");
    await waitFor("the tagged conversation alone", async () => (await hits.count()) === 1 && (await hits.first().getAttribute("data-id")) === ids.fr);
    await owner.getByTestId("search-tag").selectOption("");
  });

  await check("punctuation only: the page says there is nothing to search for", async () => {
    await search("+++ *** ???");
    await owner.getByTestId("search-error").waitFor();
    const t = await owner.getByTestId("search-error").textContent();
    if (!/q:/.test(t)) throw new Error(`error text ${t}`);
  });

  await check("paging: 20 results, then More brings the other 5, newest first", async () => {
    await search("pager question");
    await expectCount(hits, 20, "first page");
    await owner.getByTestId("search-more").click();
    await expectCount(hits, 25, "both pages");
    await owner.getByTestId("search-more").waitFor({ state: "hidden" });
    const names = await hits.locator("[data-testid=search-open]").allTextContents();
    if (names[0] !== "Pager24" || names[24] !== "Pager0") throw new Error(`order ${names[0]} … ${names[24]}`);
  });

  await check("a result opens its conversation in the inbox", async () => {
    await search("never came");
    await expectCount(hits, 1, "hits");
    await hits.first().getByTestId("search-open").click();
    await owner.getByTestId("inbox-view").waitFor();
    await waitFor("the conversation pane", async () => (await owner.locator(`#conversation[data-id="${ids.html}"]`).count()) === 1);
  });

  await check("no page errors", async () => {
    if (state.pageErrors.length) throw new Error(state.pageErrors.join("\n"));
  });
}

await runScenario(scenario);
