// Browser test of the email settings on the console's Settings page: the
// real parleyd, headless Chromium, and a small SMTP server on loopback
// (below) that keeps what it receives.
//
//   PARLEYD=build/parleyd PARLEY_WEB=web node tests/browser/email.test.mjs
//
// The owner fills in the SMTP server, saves (the password field stays
// empty and says a password is set), sends a test email that arrives, sees
// a field error for a bad address and the server's refusal for a test send
// the server rejects. Prints "N passed, N failed".

import net from "node:net";
import { check, DEMO_EMAIL, newPage, PASSWORD, runScenario, waitFor } from "./harness.mjs";

// A minimal SMTP server: enough of RFC 5321 for one client at a time; a
// recipient starting with "refuse" gets 550.
function smtpServer() {
  const mails = [];
  const server = net.createServer((sock) => {
    let buf = "", data = null, from = "", rcpt = [];
    sock.write("220 sink.test ESMTP\r\n");
    sock.on("data", (chunk) => {
      buf += chunk.toString("latin1");
      let i;
      while ((i = buf.indexOf("\r\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (data !== null) {
          if (line === ".") {
            mails.push({ from, rcpt, data: data.join("\r\n") });
            data = null;
            sock.write("250 2.0.0 Ok: queued\r\n");
          } else data.push(line.startsWith("..") ? line.slice(1) : line);
          continue;
        }
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === "EHLO" || cmd === "HELO") sock.write("250 sink.test\r\n");
        else if (cmd === "MAIL") { from = line; rcpt = []; sock.write("250 OK\r\n"); }
        else if (cmd === "RCPT") {
          if (/<refuse/i.test(line)) sock.write("550 5.1.1 mailbox unavailable\r\n");
          else { rcpt.push(line); sock.write("250 OK\r\n"); }
        } else if (cmd === "DATA") { data = []; sock.write("354 go ahead\r\n"); }
        else if (cmd === "QUIT") { sock.end("221 bye\r\n"); }
        else sock.write("250 OK\r\n");
      }
    });
    sock.on("error", () => {});
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, mails, port: server.address().port })));
}

async function scenario(state) {
  const base = state.srv.base;
  const smtp = await smtpServer();
  const page = await newPage(state, "owner");
  try {
    await check("owner: signs in and opens Settings with the email form", async () => {
      await page.goto(`${base}/agent/`);
      await page.getByTestId("login-email").fill(DEMO_EMAIL);
      await page.getByTestId("login-password").fill(PASSWORD);
      await page.getByTestId("login-submit").click();
      await page.locator("[data-testid=connection-status][data-state=live]").waitFor();
      await page.getByTestId("nav-settings").click();
      await page.getByTestId("email-form").waitFor();
      await waitFor("the default port", async () => (await page.getByTestId("email-port").inputValue()) === "587");
      if (!(await page.getByTestId("email-test").isDisabled())) throw new Error("test send enabled before any settings");
    });

    await check("owner: a bad sender address is refused naming the field", async () => {
      await page.getByTestId("email-host").fill("127.0.0.1");
      await page.getByTestId("email-from").fill("not an address");
      await page.getByTestId("email-save").click();
      await waitFor("the field error", async () => /From address/.test(await page.getByTestId("email-error").textContent()));
    });

    await check("owner: saves the SMTP settings; the password is not shown again", async () => {
      await page.getByTestId("email-security").selectOption("none");
      await page.getByTestId("email-port").fill(String(smtp.port));
      await page.getByTestId("email-username").fill("");
      await page.getByTestId("email-password").fill("secret-smtp-pw");
      await page.getByTestId("email-from").fill("support@acme.example");
      await page.getByTestId("email-notify").fill("team@acme.example");
      await page.getByTestId("email-save").click();
      await page.getByTestId("email-saved").waitFor();
      if ((await page.getByTestId("email-password").inputValue()) !== "") throw new Error("the password came back");
      const ph = await page.getByTestId("email-password").getAttribute("placeholder");
      if (!/set/.test(ph)) throw new Error(`placeholder ${ph}`);
    });

    await check("owner: sends a test email; it arrives", async () => {
      await page.getByTestId("email-test-to").fill("me@acme.example");
      await page.getByTestId("email-test").click();
      await page.locator("[data-testid=email-test-result][data-outcome=sent]").waitFor();
      await waitFor("the message at the SMTP server", async () => smtp.mails.length === 1);
      const m = smtp.mails[0];
      if (!/<me@acme\.example>/.test(m.rcpt[0]) || !/Subject: Test email from Demo/.test(m.data)) throw new Error(JSON.stringify(m));
    });

    await check("owner: a refused test send shows the server's answer", async () => {
      await page.getByTestId("email-test-to").fill("refuse@acme.example");
      await page.getByTestId("email-test").click();
      await page.locator("[data-testid=email-test-result][data-outcome=smtp_rejected]").waitFor();
      const text = await page.getByTestId("email-test-result").textContent();
      if (!/550/.test(text)) throw new Error(text);
    });
  } finally {
    smtp.server.close();
  }
}

runScenario(scenario, ["--outbound-allow", "127.0.0.1/32"]);
