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

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "..", "..");
const PARLEYD = process.env.PARLEYD || path.join(REPO, "build", "parleyd");
const PARLEY_WEB = process.env.PARLEY_WEB || path.join(REPO, "web");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const VERBOSE = process.env.PARLEY_TEST_VERBOSE === "1";
const PASSWORD = "browser-test-pw";
const STARTUP_TIMEOUT_MS = 15000;
const STEP_TIMEOUT_MS = 15000;

const VISITOR_HELLO = "Hello from the visitor";
const AGENT_REPLY = "Hi, how can I help?";
const AGENT_NOTE = "Private note: VIP customer, do not show the visitor";
const AGENT_FOLLOW_UP = "Is there anything else I can do for you?";

let passed = 0;
let failed = 0;

function log(...a) { console.log(...a); }

// Run one named check; a failure stops the scenario (later steps depend on it).
async function check(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    passed++;
    log(`ok   - ${name}${detail ? ` (${detail})` : ""} [${Date.now() - t0} ms]`);
  } catch (err) {
    failed++;
    log(`FAIL - ${name} [${Date.now() - t0} ms]\n       ${String(err && err.stack || err).split("\n").join("\n       ")}`);
    throw new StopScenario(name);
  }
}
class StopScenario extends Error {}

// Poll `fn` until it returns a truthy value (bounded); no fixed sleeps.
async function waitFor(what, fn, timeout = STEP_TIMEOUT_MS, interval = 100) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : last !== undefined ? ` (last value: ${JSON.stringify(last)})` : ""}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

async function expectCount(locator, n, what, timeout = STEP_TIMEOUT_MS) {
  await waitFor(`${what} to be ${n}`, async () => (await locator.count()) === n, timeout);
}

// ------------------------------------------------------------------ server

function startServer(dataDir) {
  const args = ["--data", dataDir, "--host", "127.0.0.1", "--port", "0", "--demo-password", PASSWORD, "--web", PARLEY_WEB];
  log(`# starting ${PARLEYD} ${args.join(" ")}`);
  const proc = spawn(PARLEYD, args, { stdio: ["ignore", "pipe", "pipe"] });
  const srv = { proc, out: "", err: "", key: null, base: null, exited: null };
  proc.stdout.setEncoding("utf8");
  proc.stderr.setEncoding("utf8");
  proc.stdout.on("data", (d) => {
    srv.out += d;
    if (VERBOSE) process.stdout.write(`[parleyd] ${d}`);
    const k = /^parleyd: demo widget key: (\S+)\s*$/m.exec(srv.out);
    if (k) srv.key = k[1];
    const l = /^parleyd: listening on (https?:\/\/\S+?)\/?\s*$/m.exec(srv.out);
    if (l) srv.base = l[1];
  });
  proc.stderr.on("data", (d) => {
    srv.err += d;
    if (VERBOSE) process.stderr.write(`[parleyd:err] ${d}`);
  });
  proc.on("exit", (code, signal) => { srv.exited = { code, signal }; });
  proc.on("error", (e) => { srv.exited = { error: e.message }; });
  return srv;
}

function serverOutput(srv, lines = 60) {
  const tail = (s) => s.split("\n").slice(-lines).join("\n");
  return `--- parleyd stdout ---\n${tail(srv.out)}\n--- parleyd stderr ---\n${tail(srv.err)}\n---`;
}

async function stopServer(srv) {
  if (!srv || srv.exited) return;
  srv.proc.kill("SIGTERM");
  const deadline = Date.now() + 5000;
  while (!srv.exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (!srv.exited) {
    log("# parleyd did not exit within 5 s of SIGTERM; killing it");
    srv.proc.kill("SIGKILL");
    const hard = Date.now() + 2000;
    while (!srv.exited && Date.now() < hard) await new Promise((r) => setTimeout(r, 50));
  }
}

// ------------------------------------------------------------------ scenario

async function scenario(state) {
  const srv = state.srv;

  await check("parleyd prints its widget key and listen address", async () => {
    await waitFor("the start-up lines", () => {
      if (srv.exited) throw new Error(`parleyd exited early: ${JSON.stringify(srv.exited)}\n${serverOutput(srv)}`);
      return srv.key && srv.base;
    }, STARTUP_TIMEOUT_MS).catch((err) => {
      throw new Error(`${err.message}\n${serverOutput(srv)}`);
    });
    return `key=${srv.key.slice(0, 6)}…, ${srv.base}`;
  });
  const base = srv.base;

  await check("GET /healthz answers 200 {status: ok}", async () => {
    const res = await fetch(`${base}/healthz`);
    const body = await res.json().catch(() => null);
    if (res.status !== 200 || !body || body.status !== "ok") throw new Error(`got ${res.status} ${JSON.stringify(body)}`);
  });

  let chromium;
  try {
    ({ chromium } = await import("playwright-core"));
  } catch (err) {
    failed++;
    log(`FAIL - playwright-core is not installed: run \`npm install --no-audit --no-fund\` in ${HERE} (${err.message})`);
    throw new StopScenario("playwright-core");
  }

  await check("headless Chromium starts", async () => {
    state.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"],
    });
    return state.browser.version();
  });

  const pageErrors = [];
  async function newPage(label) {
    const ctx = await state.browser.newContext();
    ctx.setDefaultTimeout(STEP_TIMEOUT_MS);
    const page = await ctx.newPage();
    page.on("pageerror", (e) => { pageErrors.push(`${label}: ${e.message}`); log(`# [${label}] page error: ${e.message}`); });
    page.on("console", (m) => { if (m.type() === "error" || VERBOSE) log(`# [${label}] console.${m.type()}: ${m.text()}`); });
    return page;
  }
  const agent = await newPage("agent");
  const visitor = await newPage("visitor");

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
    if (pageErrors.length) throw new Error(pageErrors.join("\n"));
  });
}

async function main() {
  const state = { srv: null, browser: null, tmp: null };
  try {
    if (!fs.existsSync(PARLEYD)) {
      failed++;
      log(`FAIL - server binary not found: ${PARLEYD} (set PARLEYD)`);
      return;
    }
    state.tmp = fs.mkdtempSync(path.join(os.tmpdir(), "parley-browser-"));
    state.srv = startServer(state.tmp);
    await scenario(state);
  } catch (err) {
    if (!(err instanceof StopScenario)) {
      failed++;
      log(`FAIL - unexpected error: ${err && err.stack || err}`);
    }
    if (state.srv) log(serverOutput(state.srv, 40));
  } finally {
    if (state.browser) await state.browser.close().catch((e) => log(`# closing the browser: ${e.message}`));
    await stopServer(state.srv).catch((e) => log(`# stopping parleyd: ${e.message}`));
    if (state.tmp) fs.rmSync(state.tmp, { recursive: true, force: true });
  }
}

await main();
log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
