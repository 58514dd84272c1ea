// The widget and the agent console over https:// and wss:// straight to
// parleyd (--tls-cert/--tls-key), in headless Chromium.
//
// The certificates are made for the run with openssl in a temp dir: a root,
// an intermediate and a server certificate for localhost/127.0.0.1 (ECDSA
// P-256), served as a chain. Trust for the run: Node (this script's fetch)
// gets the root through NODE_EXTRA_CA_CERTS (the script runs itself again
// with it set); Chromium trusts exactly the server's key through
// --ignore-certificate-errors-spki-list=<SHA-256 of its SubjectPublicKeyInfo>
// (not --ignore-certificate-errors: any other certificate is still refused).
//
//   PARLEYD=build/parleyd PARLEY_WEB=web node tests/browser/tls.test.mjs

import { execFileSync, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

function makeCerts(dir) {
  const o = (...a) => execFileSync("openssl", a, { cwd: dir, stdio: "ignore" });
  fs.writeFileSync(path.join(dir, "int.ext"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n");
  fs.writeFileSync(path.join(dir, "srv.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  o("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Parley Browser Test Root");
  o("req", ...ec, "-keyout", "int.key", "-out", "int.csr", "-subj", "/CN=Parley Browser Test Intermediate");
  o("x509", "-req", "-in", "int.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "int.pem", "-days", "2", "-extfile", "int.ext");
  o("req", ...ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=localhost");
  o("x509", "-req", "-in", "srv.csr", "-CA", "int.pem", "-CAkey", "int.key", "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "srv.ext");
  fs.writeFileSync(path.join(dir, "chain.pem"), fs.readFileSync(path.join(dir, "srv.pem")) + fs.readFileSync(path.join(dir, "int.pem")));
  const spki = new crypto.X509Certificate(fs.readFileSync(path.join(dir, "srv.pem"))).publicKey.export({ type: "spki", format: "der" });
  return crypto.createHash("sha256").update(spki).digest("base64");
}

if (!process.env.PARLEY_TLS_TEST_DIR) {
  // first run: certificates, then this script again with the root trusted
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-browser-tls-"));
  let code = 1;
  try {
    const spki = makeCerts(dir);
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
      stdio: "inherit",
      env: { ...process.env, PARLEY_TLS_TEST_DIR: dir, PARLEY_TLS_TEST_SPKI: spki, NODE_EXTRA_CA_CERTS: path.join(dir, "ca.pem") },
    });
    code = r.status ?? 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.exit(code);
}

const { check, expectCount, newPage, PASSWORD, runScenario } = await import("./harness.mjs");
const DIR = process.env.PARLEY_TLS_TEST_DIR;
const HELLO = "Hello over TLS";
const REPLY = "Answered over wss://";

async function scenario(state) {
  const srv = state.srv;
  const base = srv.base.replace("127.0.0.1", "localhost");

  await check("the server listens on https:// and answers /healthz through the chain", async () => {
    if (!srv.base.startsWith("https://")) throw new Error(`listening on ${srv.base}`);
    const res = await fetch(`${base}/healthz`);
    if (res.status !== 200) throw new Error(`got ${res.status}`);
  });

  const agent = await newPage(state, "agent");
  const visitor = await newPage(state, "visitor");
  const sockets = [];
  for (const p of [agent, visitor]) p.on("websocket", (ws) => sockets.push(ws.url()));

  await check("agent console: log in over https and go live over wss", async () => {
    await agent.goto(`${base}/agent/`);
    if ((await agent.evaluate(() => location.protocol)) !== "https:") throw new Error("not https");
    await agent.getByTestId("login-email").fill("admin@demo.parley");
    await agent.getByTestId("login-password").fill(PASSWORD);
    await agent.getByTestId("login-submit").click();
    await agent.locator("[data-testid=connection-status][data-state=live]").waitFor();
    const secure = await agent.evaluate(() => window.isSecureContext);
    if (!secure) throw new Error("not a secure context");
  });

  await check("visitor: the widget loads on the https demo page and a message is acknowledged", async () => {
    await visitor.goto(`${base}/demo.html?key=${encodeURIComponent(srv.key)}`);
    await visitor.locator("[data-testid=parley-launcher]").click();
    const input = visitor.locator("[data-testid=parley-input]");
    await input.waitFor({ state: "visible" });
    await input.fill(HELLO);
    await visitor.locator("[data-testid=parley-send]").click();
    await visitor.locator("[data-testid=parley-message][data-sender=visitor][data-seq]", { hasText: HELLO }).waitFor();
  });

  await check("agent: the conversation arrives live and the reply reaches the visitor", async () => {
    const items = agent.locator("[data-testid=conversation-item]");
    await expectCount(items, 1, "conversation items");
    await items.first().click();
    await agent.locator("[data-testid=message][data-sender=visitor]", { hasText: HELLO }).waitFor();
    await agent.getByTestId("reply-input").fill(REPLY);
    await agent.getByTestId("reply-send").click();
    await visitor.locator("[data-testid=parley-message][data-sender=agent]", { hasText: REPLY }).waitFor();
  });

  await check("every WebSocket was wss://", async () => {
    if (!sockets.length || sockets.some((u) => !u.startsWith("wss://"))) throw new Error(JSON.stringify(sockets));
    return sockets.length + " sockets";
  });

  await check("a plain http:// request on the TLS port gets a 400, not a hang", async () => {
    const res = await fetch(base.replace("https://", "http://") + "/healthz", { signal: AbortSignal.timeout(5000) });
    if (res.status !== 400) throw new Error(`got ${res.status}`);
  });

  await check("no page errors", async () => {
    if (state.pageErrors.length) throw new Error(state.pageErrors.join("\n"));
  });
}

await runScenario(scenario, ["--tls-cert", path.join(DIR, "chain.pem"), "--tls-key", path.join(DIR, "srv.key")],
  [`--ignore-certificate-errors-spki-list=${process.env.PARLEY_TLS_TEST_SPKI}`]);
