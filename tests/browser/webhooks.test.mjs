// End-to-end browser test of the Webhooks page: the real parleyd (allowed
// to reach 127.0.0.1 with --outbound-allow) and a receiver in this process.
//
//   PARLEYD=build/parleyd PARLEY_WEB=web node tests/browser/webhooks.test.mjs
//
// The owner adds an endpoint for message.created and is shown its secret
// once; a visitor's message is delivered, signed with that secret; the
// delivery shows in the page's log; a redelivery arrives with a new id;
// filters narrow the log; pausing shows on the endpoint; a rotated secret
// signs what follows. Environment as in harness.mjs; prints "N passed, N failed".

import crypto from "node:crypto";
import http from "node:http";
import { check, DEMO_EMAIL, expectCount, newPage, PASSWORD, runScenario, waitFor } from "./harness.mjs";

// A receiver on loopback: every POST with its headers and raw body.
const received = [];
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    received.push({ headers: req.headers, body: Buffer.concat(chunks) });
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end("ok");
  });
});
await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
const HOOK_URL = `http://127.0.0.1:${receiver.address().port}/hook`;

// docs/webhooks.md, Node.js
function verify(secret, headers, rawBody, toleranceS = 300) {
  const ts = headers["parley-timestamp"];
  const want = "v1=" + crypto.createHmac("sha256", secret).update(ts + ".").update(rawBody).digest("hex");
  const got = String(headers["parley-signature"] || "");
  if (got.length !== want.length || !crypto.timingSafeEqual(Buffer.from(got), Buffer.from(want))) return false;
  return Math.abs(Date.now() / 1000 - Number(ts)) <= toleranceS;
}

async function visitorMessage(base, key, text) {
  const post = (path, body, token) => fetch(`${base}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  }).then(async (r) => { if (r.status >= 300) throw new Error(`${path}: ${r.status}`); return r.json(); });
  const s = await post("/v1/widget/session", { widget_key: key, name: "Hook Visitor" });
  return post("/v1/widget/conversations", { text, client_id: `c-${Date.now()}` }, s.visitor_token);
}

async function scenario(state) {
  const base = state.srv.base;
  const owner = await newPage(state, "owner");
  const hookRow = () => owner.locator("[data-testid=hook-row]");
  const rows = () => owner.locator("[data-testid=delivery-row]");

  await check("owner: signs in and opens the Webhooks page", async () => {
    await owner.goto(`${base}/agent/`);
    await owner.getByTestId("login-email").fill(DEMO_EMAIL);
    await owner.getByTestId("login-password").fill(PASSWORD);
    await owner.getByTestId("login-submit").click();
    await owner.locator("[data-testid=connection-status][data-state=live]").waitFor();
    await owner.getByTestId("nav-webhooks").click();
    await owner.getByTestId("webhooks-view").waitFor();
    await owner.getByTestId("hook-empty").waitFor();
    await expectCount(owner.getByTestId("hook-event"), 9, "event checkboxes");
  });

  let secret;
  await check("owner: a URL without events is refused in the page; a bad URL by the server", async () => {
    await owner.getByTestId("hook-url").fill(HOOK_URL);
    await owner.getByTestId("hook-save").click();
    await owner.getByTestId("hook-error").filter({ hasText: "at least one event" }).waitFor();
    await owner.getByTestId("hook-url").fill("ftp://files.example/");
    await owner.locator("[data-testid=hook-event][value='message.created']").check();
    await owner.getByTestId("hook-save").click();
    await owner.getByTestId("hook-error").filter({ hasText: "URL" }).waitFor();
  });

  await check("owner: adds an endpoint for message.created and sees its secret once", async () => {
    await owner.getByTestId("hook-url").fill(HOOK_URL);
    await owner.getByTestId("hook-description").fill("Test receiver");
    await owner.getByTestId("hook-save").click();
    await owner.getByTestId("hook-secret").waitFor();
    secret = await owner.getByTestId("hook-secret-value").inputValue();
    if (!/^whsec_[A-Za-z0-9_-]{32}$/.test(secret)) throw new Error(`secret ${secret}`);
    await expectCount(hookRow(), 1, "endpoint rows");
    await hookRow().filter({ hasText: "Test receiver" }).filter({ hasText: "message.created" }).waitFor();
    // the form is empty again, ready for another
    if (await owner.getByTestId("hook-url").inputValue()) throw new Error("the form kept the URL");
  });

  await check("a visitor's message is delivered, signed with that secret", async () => {
    await visitorMessage(base, state.srv.key, "hello hooks");
    await waitFor("a delivery at the receiver", () => received.length === 1);
    const r = received[0];
    if (!verify(secret, r.headers, r.body)) throw new Error("the signature does not verify");
    const d = JSON.parse(r.body);
    if (d.event !== "message.created" || d.data.message.text !== "hello hooks") throw new Error(r.body.toString());
    if (r.headers["parley-delivery"] !== d.id) throw new Error("Parley-Delivery differs from the body's id");
    return `delivery ${d.id}`;
  });

  await check("the delivery shows in the log (Delivered, 200)", async () => {
    const id = JSON.parse(received[0].body).id;
    const row = owner.locator(`[data-testid=delivery-row][data-delivery="${id}"][data-status=ok]`);
    await row.waitFor();   // the log refreshes by itself
    await row.getByTestId("delivery-code").filter({ hasText: "200" }).waitFor();
    await row.filter({ hasText: "message.created" }).filter({ hasText: "Test receiver" }).waitFor();
    const figures = await owner.getByTestId("log-figures").textContent();
    if (!figures.includes("Waiting: 0")) throw new Error(figures);
  });

  await check("owner: redelivers it; it arrives again with a new id", async () => {
    const first = JSON.parse(received[0].body);
    await rows().first().getByTestId("redeliver-button").click();
    await waitFor("the redelivery at the receiver", () => received.length === 2);
    const again = JSON.parse(received[1].body);
    if (again.id === first.id || again.redelivery_of !== first.id) throw new Error(received[1].body.toString());
    if (!verify(secret, received[1].headers, received[1].body)) throw new Error("the redelivery does not verify");
    await owner.locator(`[data-testid=delivery-row][data-delivery="${again.id}"][data-status=ok]`).waitFor();
  });

  await check("filters narrow the log", async () => {
    await owner.getByTestId("log-status").selectOption("failed");
    await expectCount(rows(), 0, "failed rows");
    await owner.getByTestId("log-empty").waitFor();
    await owner.getByTestId("log-status").selectOption("ok");
    await expectCount(rows(), 2, "delivered rows");
    await owner.getByTestId("log-event").selectOption("user.updated");
    await expectCount(rows(), 0, "user.updated rows");
    await owner.getByTestId("log-event").selectOption("");
    await owner.getByTestId("log-status").selectOption("");
    await expectCount(rows(), 2, "all rows");
  });

  await check("owner: pauses the endpoint; nothing is sent for the next message", async () => {
    await hookRow().getByTestId("hook-toggle").click();
    await owner.locator("[data-testid=hook-row][data-active=false]").getByTestId("hook-status").filter({ hasText: "Paused" }).waitFor();
    await visitorMessage(base, state.srv.key, "while paused");
    const res = await owner.evaluate(async () => {
      const a = JSON.parse(localStorage.getItem("parley.agent.auth") || sessionStorage.getItem("parley.agent.auth") || "null");
      const r = await fetch("/v1/webhooks/deliveries?status=pending", { headers: { Authorization: `Bearer ${a.access_token}` } });
      return r.json();
    });
    if (res.outbox.pending !== 0) throw new Error(`pending ${res.outbox.pending}`);
    if (received.length !== 2) throw new Error(`received ${received.length}`);
  });

  await check("owner: activates it again with a new secret; the next delivery is signed with it", async () => {
    await hookRow().getByTestId("hook-toggle").click();
    await owner.locator("[data-testid=hook-row][data-active=true]").waitFor();
    await hookRow().getByTestId("hook-rotate").click();
    await waitFor("a new secret", async () => {
      const v = await owner.getByTestId("hook-secret-value").inputValue();
      return v !== secret && v;
    });
    const fresh = await owner.getByTestId("hook-secret-value").inputValue();
    await visitorMessage(base, state.srv.key, "after the rotation");
    await waitFor("the delivery", () => received.length === 3);
    if (!verify(fresh, received[2].headers, received[2].body)) throw new Error("not signed with the new secret");
    if (verify(secret, received[2].headers, received[2].body)) throw new Error("still signed with the old secret");
  });

  await check("owner: deletes the endpoint (asked twice)", async () => {
    await hookRow().getByTestId("hook-delete").click();
    await hookRow().getByTestId("hook-delete").filter({ hasText: "Delete, with what waits?" }).click();
    await expectCount(hookRow(), 0, "endpoint rows");
    await owner.getByTestId("hook-empty").waitFor();
  });

  await check("no uncaught errors in the page", async () => {
    if (state.pageErrors.length) throw new Error(state.pageErrors.join("\n"));
  });
}

await runScenario(scenario, ["--outbound-allow", "127.0.0.1/32"]);
receiver.close();
