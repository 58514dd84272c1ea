// End-to-end browser test: the real parleyd, the embeddable widget on the
// demo page and the agent console, driven by headless Chromium.
//
//   cd tests/browser && npm install --no-audit --no-fund
//   PARLEYD=build/parleyd PARLEY_WEB=web node tests/browser/chat.test.mjs
//
// Environment: PARLEYD (server binary, default <repo>/build/parleyd),
// PARLEY_WEB (static files, default <repo>/web), CHROMIUM (browser binary,
// default /usr/bin/chromium), PARLEY_TEST_VERBOSE=1 to echo the server log.
// Exits 0 only when every check passed; prints "N passed, N failed".

import { check, expectCount, newPage, PASSWORD, runScenario, waitFor } from "./harness.mjs";

const VISITOR_HELLO = "Hello from the visitor";
const AGENT_REPLY = "Hi, how can I help?";
const AGENT_NOTE = "Private note: VIP customer, do not show the visitor";
const AGENT_FOLLOW_UP = "Is there anything else I can do for you?";
// a 1x1 PNG and a minimal PDF for the attachments
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");
const PDF = Buffer.from("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");

// ------------------------------------------------------------------ scenario

async function scenario(state) {
  const srv = state.srv;
  const base = srv.base;

  const agent = await newPage(state, "agent");
  const visitor = await newPage(state, "visitor");

  // Locators (CSS locators pierce the widget's open shadow root).
  const w = {
    host: visitor.locator("[data-testid=parley-widget]"),
    launcher: visitor.locator("[data-testid=parley-launcher]"),
    input: visitor.locator("[data-testid=parley-input]"),
    send: visitor.locator("[data-testid=parley-send]"),
    list: visitor.locator("[data-testid=parley-messages]"),
    messages: visitor.locator("[data-testid=parley-message]"),
    seen: visitor.locator("[data-testid=parley-seen]"),
    typing: visitor.locator("[data-testid=parley-typing]"),
    attach: visitor.locator("[data-testid=parley-attach]"),
  };
  const wMsg = (text, sender) => visitor.locator(`[data-testid=parley-message]${sender ? `[data-sender=${sender}]` : ""}`, { hasText: text });
  const a = {
    items: agent.locator("[data-testid=conversation-item]"),
    messages: agent.locator("[data-testid=message]"),
    status: agent.locator("[data-testid=conversation-status]"),
    conn: agent.locator("[data-testid=connection-status]"),
  };
  const aMsg = (text, sender) => agent.locator(`[data-testid=message]${sender ? `[data-sender=${sender}]` : ""}`, { hasText: text });

  // ---- agent signs in first, so the new conversation must arrive live
  await check("agent console: log in as the demo admin", async () => {
    await agent.goto(`${base}/agent/`);
    await agent.getByTestId("login-email").fill("admin@demo.parley");
    await agent.getByTestId("login-password").fill(PASSWORD);
    await agent.getByTestId("login-submit").click();
    await agent.locator("[data-testid=connection-status][data-state=live]").waitFor();
    await expectCount(a.items, 0, "conversation items on a fresh server");
    await agent.evaluate(() => { window.__parleyNoReload = "still-the-same-page"; });
  });

  // ---- visitor starts a conversation from the demo site
  await check("visitor: widget loads on /demo.html and opens", async () => {
    await visitor.goto(`${base}/demo.html?key=${encodeURIComponent(srv.key)}`);
    await w.launcher.click();
    await w.input.waitFor({ state: "visible" });
  });

  await check(`visitor: sends "${VISITOR_HELLO}" and it is acknowledged (gets a seq)`, async () => {
    await w.input.fill(VISITOR_HELLO);
    await w.send.click();
    const acked = visitor.locator("[data-testid=parley-message][data-sender=visitor][data-seq]", { hasText: VISITOR_HELLO });
    await acked.waitFor();
    await expectCount(wMsg(VISITOR_HELLO), 1, "copies of the visitor's message");
    return `seq ${await acked.getAttribute("data-seq")}`;
  });

  let convId;
  await check("agent: the new conversation appears in the list live (no reload)", async () => {
    await expectCount(a.items, 1, "conversation items");
    const marker = await agent.evaluate(() => window.__parleyNoReload);
    if (marker !== "still-the-same-page") throw new Error("the agent page was reloaded");
    convId = await a.items.first().getAttribute("data-id");
    if (!convId) throw new Error("conversation-item has no data-id");
    return `id ${convId}`;
  });

  await check("agent: opens the conversation and sees the visitor's message", async () => {
    await agent.locator(`[data-testid=conversation-item][data-id="${convId}"]`).click();
    await aMsg(VISITOR_HELLO, "visitor").waitFor();
    await expectCount(aMsg(VISITOR_HELLO), 1, "copies of the visitor's message in the console");
    const seqs = await a.messages.evaluateAll((els) => els.map((e) => e.getAttribute("data-seq")).filter(Boolean).map(Number));
    const sorted = [...seqs].sort((x, y) => x - y);
    if (JSON.stringify(seqs) !== JSON.stringify(sorted) || new Set(seqs).size !== seqs.length) {
      throw new Error(`events not in strict seq order: ${seqs}`);
    }
    return `seqs ${seqs.join(",")}`;
  });

  await check("visitor: shows \"Seen\" once the agent has read the message", async () => {
    await w.seen.waitFor({ state: "visible" });
  });

  await check("agent: sees the visitor typing", async () => {
    await w.input.fill("typing…");
    await agent.getByTestId("typing-indicator").waitFor({ state: "visible" });
    await w.input.fill("");
  });

  await check("agent: takes the conversation", async () => {
    await agent.getByTestId("take-button").click();
    await waitFor("the conversation to be assigned to the agent",
      async () => /you/i.test(await agent.getByTestId("conversation-assignee").textContent()));
  });

  await check(`agent: replies "${AGENT_REPLY}" (acknowledged)`, async () => {
    await agent.getByTestId("reply-input").fill(AGENT_REPLY);
    await agent.getByTestId("reply-send").click();
    const acked = agent.locator("[data-testid=message][data-sender=agent][data-seq]", { hasText: AGENT_REPLY });
    await acked.waitFor();
    await expectCount(aMsg(AGENT_REPLY), 1, "copies of the reply in the console");
    return `seq ${await acked.getAttribute("data-seq")}`;
  });

  await check("visitor: sees the agent's reply live", async () => {
    await wMsg(AGENT_REPLY, "agent").waitFor();
  });

  // ---- resume after a reload: cached transcript + replay after last seq
  async function reloadVisitor(reload = true) {
    if (reload) await visitor.reload();
    await w.launcher.waitFor({ state: "visible" });
    if (!(await w.input.isVisible())) await w.launcher.click();
    await visitor.locator("[data-testid=parley-widget][data-connection=live]").waitFor({ state: "attached" });
  }
  async function expectExactlyOnce(texts) {
    for (const [text, sender] of texts) {
      await wMsg(text, sender).first().waitFor();
      const n = await wMsg(text).count();
      if (n !== 1) throw new Error(`"${text}" shown ${n} times`);
    }
    const seqs = await w.messages.evaluateAll((els) => els.map((e) => e.getAttribute("data-seq")).filter(Boolean).map(Number));
    if (new Set(seqs).size !== seqs.length) throw new Error(`duplicate seqs in the widget: ${seqs}`);
    for (let i = 1; i < seqs.length; i++) if (seqs[i] <= seqs[i - 1]) throw new Error(`widget not in seq order: ${seqs}`);
    return `seqs ${seqs.join(",")}`;
  }

  await check("visitor: after a reload both messages are shown exactly once (resume)", async () => {
    await reloadVisitor();
    return expectExactlyOnce([[VISITOR_HELLO, "visitor"], [AGENT_REPLY, "agent"]]);
  });

  // ---- private notes never reach the visitor
  let noteSeq;
  await check("agent: adds a private note", async () => {
    await agent.getByTestId("note-toggle").check();
    await agent.getByTestId("reply-input").fill(AGENT_NOTE);
    await agent.getByTestId("reply-send").click();
    const acked = agent.locator("[data-testid=message][data-seq]", { hasText: AGENT_NOTE });
    await acked.waitFor();
    noteSeq = await acked.getAttribute("data-seq");
    await agent.getByTestId("note-toggle").uncheck();
    return `seq ${noteSeq}`;
  });

  await check("agent: sends a public follow-up after the note", async () => {
    await agent.getByTestId("reply-input").fill(AGENT_FOLLOW_UP);
    await agent.getByTestId("reply-send").click();
    await agent.locator("[data-testid=message][data-sender=agent][data-seq]", { hasText: AGENT_FOLLOW_UP }).waitFor();
  });

  await check("agent: the conversation list preview follows the latest message live", async () => {
    await agent.locator(`[data-testid=conversation-item][data-id="${convId}"]`, { hasText: AGENT_FOLLOW_UP }).waitFor();
  });

  await check("visitor: gets the follow-up but never the private note", async () => {
    await wMsg(AGENT_FOLLOW_UP, "agent").waitFor(); // events arrive in seq order: the note (if leaked) came first
    const leaked = await visitor.getByText("VIP customer").count();
    if (leaked) throw new Error("the private note is visible to the visitor");
    const atNoteSeq = await visitor.locator(`[data-testid=parley-message][data-seq="${noteSeq}"]`).count();
    if (atNoteSeq) throw new Error(`the visitor shows an event with the note's seq ${noteSeq}`);
    return `no event with seq ${noteSeq}`;
  });

  await check("visitor: a full replay from the server (no local transcript) has no note and no duplicates", async () => {
    // Leave the page first (the widget saves its transcript on pagehide),
    // drop the cached transcript on the same origin, then come back.
    await visitor.goto(`${base}/healthz`);
    await visitor.evaluate((key) => localStorage.removeItem(`parley:${key}:transcript`), srv.key);
    await visitor.goto(`${base}/demo.html?key=${encodeURIComponent(srv.key)}`);
    await reloadVisitor(false);
    const r = await expectExactlyOnce([[VISITOR_HELLO, "visitor"], [AGENT_REPLY, "agent"], [AGENT_FOLLOW_UP, "agent"]]);
    if (await visitor.getByText("VIP customer").count()) throw new Error("the private note is visible after a full replay");
    return r;
  });

  // ---- files: the visitor attaches an image, the agent sends a document
  let imageSeq;
  await check("visitor: attaches an image; while it uploads the widget shows its preview and a progress bar", async () => {
    let release;
    const held = new Promise((r) => { release = r; });
    await visitor.route("**/v1/widget/conversations/*/files", async (route) => { await held; await route.continue(); });
    await w.attach.waitFor();
    await visitor.locator("[data-testid=parley-file]").setInputFiles({ name: "pixel.png", mimeType: "image/png", buffer: PNG });
    const preview = visitor.locator("[data-testid=parley-upload] [data-testid=parley-upload-preview]");
    await preview.waitFor();
    await waitFor("the local preview to load", async () => (await preview.evaluate((i) => i.naturalWidth)) > 0);
    await visitor.locator("[data-testid=parley-upload] [data-testid=parley-upload-progress]").waitFor();
    release();
    const sent = visitor.locator("[data-testid=parley-message][data-sender=visitor][data-seq]", { has: visitor.locator("[data-testid=parley-attachment-image]") });
    await sent.waitFor();
    await visitor.unroute("**/v1/widget/conversations/*/files");
    await waitFor("the sent image to load from the server", async () =>
      (await sent.locator("[data-testid=parley-attachment-image]").evaluate((i) => i.naturalWidth)) > 0);
    await expectCount(visitor.locator("[data-testid=parley-upload]"), 0, "uploads still in progress");
    imageSeq = await sent.getAttribute("data-seq");
    return `seq ${imageSeq}`;
  });

  await check("agent: sees the visitor's image in the console", async () => {
    const img = agent.locator(`[data-testid=message][data-sender=visitor][data-seq="${imageSeq}"] [data-testid=attachment-image]`);
    await img.waitFor();
    await waitFor("the image to load in the console", async () => (await img.evaluate((i) => i.naturalWidth)) > 0);
    const dims = await img.evaluate((i) => `${i.naturalWidth}x${i.naturalHeight}`);
    if (dims !== "1x1") throw new Error(`the console shows a ${dims} image, not the 1x1 pixel`);
    await agent.locator(`[data-testid=conversation-item][data-id="${convId}"]`, { hasText: "pixel.png" }).waitFor();
    return dims;
  });

  await check("agent: attaches a PDF; the visitor gets a download link", async () => {
    await agent.getByTestId("attach-input").setInputFiles({ name: "invoice.pdf", mimeType: "application/pdf", buffer: PDF });
    await agent.locator("[data-testid=message][data-sender=agent][data-seq] [data-testid=attachment-link]", { hasText: "invoice.pdf" }).waitFor();
    const link = visitor.locator("[data-testid=parley-message][data-sender=agent] [data-testid=parley-attachment-link]", { hasText: "invoice.pdf" });
    await link.waitFor();
    const [download] = await Promise.all([visitor.waitForEvent("download"), link.click()]);
    if (download.suggestedFilename() !== "invoice.pdf") throw new Error(`downloaded as ${download.suggestedFilename()}`);
  });

  await check("visitor: an SVG is refused with a clear message", async () => {
    await visitor.locator("[data-testid=parley-file]").setInputFiles({ name: "logo.svg", mimeType: "image/svg+xml",
      buffer: Buffer.from("<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>") });
    await visitor.locator("[data-testid=parley-error]", { hasText: /SVG/ }).waitFor();
  });

  // ---- priority and transfer
  await check("agent: sets the priority to high", async () => {
    await agent.getByTestId("priority-select").selectOption("high");
    await aMsg(/priority to high/).waitFor();
  });

  let deptName;
  await check("agent: transfers the conversation to a department with a reason", async () => {
    await agent.getByTestId("transfer-button").click();
    await agent.getByTestId("transfer-dialog").waitFor();
    const dept = agent.getByTestId("transfer-department");
    await waitFor("the departments to load", async () => (await dept.locator("option").count()) > 1);
    await dept.selectOption({ index: 1 });
    deptName = (await dept.locator("option:checked").textContent()).trim();
    await agent.getByTestId("transfer-reason").fill("billing question");
    await agent.getByTestId("transfer-submit").click();
    await aMsg(/transferred it to a department's queue: billing question/).waitFor();
    await waitFor("the status to read waiting", async () => /waiting/i.test(await a.status.textContent()));
  });

  await check("visitor: sees the transfer's system message", async () => {
    await wMsg(`Transferred to ${deptName}`, "system").waitFor();
  });

  // ---- resolve
  await check("agent: resolves the conversation", async () => {
    await agent.getByTestId("resolve-button").click();
    await waitFor("the status to read resolved", async () => /resolved/i.test(await a.status.textContent()));
    await agent.locator(`[data-testid=conversation-item][data-id="${convId}"][data-status=resolved]`).waitFor();
  });

  await check("visitor: sees that the conversation was resolved", async () => {
    await visitor.locator("[data-testid=parley-message][data-sender=system]", { hasText: /resolved/i }).waitFor();
  });

  await check("agent: the console shows every message exactly once, in seq order", async () => {
    for (const t of [VISITOR_HELLO, AGENT_REPLY, AGENT_NOTE, AGENT_FOLLOW_UP]) {
      const n = await aMsg(t).count();
      if (n !== 1) throw new Error(`"${t}" shown ${n} times`);
    }
    const seqs = await a.messages.evaluateAll((els) => els.map((e) => e.getAttribute("data-seq")).filter(Boolean).map(Number));
    for (let i = 1; i < seqs.length; i++) if (seqs[i] !== seqs[i - 1] + 1) throw new Error(`agent view is not gap-free: ${seqs}`);
    return `seqs ${seqs.join(",")}`;
  });

  await check("no uncaught errors in either page", async () => {
    if (state.pageErrors.length) throw new Error(state.pageErrors.join("\n"));
  });
}

await runScenario(scenario);
