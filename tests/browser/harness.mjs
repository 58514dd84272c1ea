// What every browser test shares: the real parleyd on a free port with a
// temporary data directory, headless Chromium through playwright-core,
// named checks that stop the scenario at the first failure, and bounded
// polling (no fixed sleeps).
//
// Environment: PARLEYD (server binary, default <repo>/build/parleyd),
// PARLEY_WEB (static files, default <repo>/web), CHROMIUM (browser binary,
// default /usr/bin/chromium), PARLEY_TEST_VERBOSE=1 to echo the server log.
// A test calls runScenario(name, fn), which prints "N passed, N failed" and
// sets the exit code (0 only when every check passed).

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "..", "..");
export const PARLEYD = process.env.PARLEYD || path.join(REPO, "build", "parleyd");
export const PARLEY_WEB = process.env.PARLEY_WEB || path.join(REPO, "web");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
export const VERBOSE = process.env.PARLEY_TEST_VERBOSE === "1";
export const PASSWORD = "browser-test-pw";
export const DEMO_EMAIL = "admin@demo.parley";
const STARTUP_TIMEOUT_MS = 15000;
export const STEP_TIMEOUT_MS = 15000;

let passed = 0;
let failed = 0;

export function log(...a) { console.log(...a); }

export class StopScenario extends Error {}

// Run one named check; a failure stops the scenario (later steps depend on it).
export async function check(name, fn) {
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

// Poll `fn` until it returns a truthy value (bounded); no fixed sleeps.
export async function waitFor(what, fn, timeout = STEP_TIMEOUT_MS, interval = 100) {
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

export async function expectCount(locator, n, what, timeout = STEP_TIMEOUT_MS) {
  await waitFor(`${what} to be ${n}`, async () => (await locator.count()) === n, timeout);
}

// ------------------------------------------------------------------ server

// The data in <tmp>/data, the secret key beside it (--secret-key-file);
// extra: more options for parleyd.
function startServer(tmp, extra = []) {
  const args = ["--data", path.join(tmp, "data"), "--secret-key-file", path.join(tmp, "secret.key"), "--host", "127.0.0.1",
    "--port", "0", "--demo-password", PASSWORD, "--web", PARLEY_WEB, ...extra];
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

export function serverOutput(srv, lines = 60) {
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

// The first checks of every scenario: the server is up, Chromium starts.
async function bringUp(state) {
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

  await check("GET /healthz answers 200 {status: ok}", async () => {
    const res = await fetch(`${srv.base}/healthz`);
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
        "--disable-sync", "--no-first-run", "--disable-quic", ...(state.chromiumArgs || [])],
    });
    return state.browser.version();
  });
}

// A page in a fresh browser context (its own storage: its own session);
// uncaught errors are collected in state.pageErrors.
export async function newPage(state, label) {
  const ctx = await state.browser.newContext();
  ctx.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = await ctx.newPage();
  page.on("pageerror", (e) => { state.pageErrors.push(`${label}: ${e.message}`); log(`# [${label}] page error: ${e.message}`); });
  page.on("console", (m) => { if (m.type() === "error" || VERBOSE) log(`# [${label}] console.${m.type()}: ${m.text()}`); });
  return page;
}

// Starts the server (with the extra options args), runs scenario(state)
// with state.srv.base, state.browser, and cleans up; prints the totals and
// sets the exit code. chromiumArgs: more flags for the browser.
export async function runScenario(scenario, args = [], chromiumArgs = []) {
  const state = { srv: null, browser: null, tmp: null, pageErrors: [], chromiumArgs };
  try {
    if (!fs.existsSync(PARLEYD)) {
      failed++;
      log(`FAIL - server binary not found: ${PARLEYD} (set PARLEYD)`);
      return;
    }
    state.tmp = fs.mkdtempSync(path.join(os.tmpdir(), "parley-browser-"));
    state.srv = startServer(state.tmp, args);
    await bringUp(state);
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
    log(`${passed} passed, ${failed} failed`);
    process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
  }
}
