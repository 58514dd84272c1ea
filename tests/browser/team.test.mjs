// End-to-end browser test of the team and the tenant settings: the real
// parleyd and the agent console in several headless Chromium sessions.
//
//   PARLEYD=build/parleyd PARLEY_WEB=web node tests/browser/team.test.mjs
//
// The owner invites an agent, who sets a password through the link page
// and signs in; the agent sees no management controls; the owner changes
// the agent's role and the agent's open console is disconnected and comes
// back with the new role (controls appear, then go again); a settings
// change shows in a second open console through tenant.updated; profile,
// password change and deactivation take effect in the open consoles.
// Environment as in harness.mjs; prints "N passed, N failed".

import { check, DEMO_EMAIL, expectCount, newPage, PASSWORD, runScenario, waitFor } from "./harness.mjs";

const AGENT_EMAIL = "ann@demo.parley";
const AGENT_PASSWORD = "ann-first-password";
const AGENT_PASSWORD_2 = "ann-second-password";

async function signIn(page, base, email, password) {
  await page.goto(`${base}/agent/`);
  await page.getByTestId("login-email").fill(email);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();
  await live(page);
}

const live = (page) => page.locator("[data-testid=connection-status][data-state=live]").waitFor();
const bodyData = (page, name) => page.evaluate((n) => document.body.dataset[n] || "", name);

async function scenario(state) {
  const base = state.srv.base;
  const owner = await newPage(state, "owner");
  const owner2 = await newPage(state, "owner-2");
  const agent = await newPage(state, "agent");
  const row = (page, email) => page.locator(`[data-testid=team-row][data-email="${email}"]`);

  await check("owner: signs in and opens the Team page", async () => {
    await signIn(owner, base, DEMO_EMAIL, PASSWORD);
    await owner.getByTestId("nav-team").click();
    await owner.getByTestId("team-view").waitFor();
    await row(owner, DEMO_EMAIL).waitFor();
    await owner.getByTestId("invite-form").waitFor();
    if ((await bodyData(owner, "role")) !== "owner") throw new Error("the console does not know the owner's role");
    await owner.evaluate(() => { window.__parleyNoReload = "owner"; });
  });

  let link;
  await check("owner: invites an agent and is shown the set-password link", async () => {
    await owner.getByTestId("invite-email").fill(AGENT_EMAIL);
    await owner.getByTestId("invite-name").fill("Ann Agent");
    await owner.getByTestId("invite-title").fill("Support");
    await owner.getByTestId("invite-role").selectOption("agent");
    await owner.getByTestId("invite-submit").click();
    await owner.getByTestId("invite-result").waitFor();
    link = await owner.getByTestId("invite-link").inputValue();
    if (!link.startsWith(`${base}/agent/set-password.html#token=`)) throw new Error(`unexpected link ${link}`);
    await row(owner, AGENT_EMAIL).waitFor();
    const role = await row(owner, AGENT_EMAIL).getAttribute("data-role");
    if (role !== "agent") throw new Error(`row role ${role}`);
    return link.replace(/token=(.{8}).*/, "token=$1…");
  });

  await check("agent: sets a password through the link page", async () => {
    await agent.goto(link);
    await agent.getByTestId("setpw-password").fill("short");
    await agent.getByTestId("setpw-again").fill("short");
    await agent.getByTestId("setpw-submit").click();
    await agent.getByTestId("setpw-error").waitFor();
    await agent.getByTestId("setpw-password").fill(AGENT_PASSWORD);
    await agent.getByTestId("setpw-again").fill(AGENT_PASSWORD);
    await agent.getByTestId("setpw-submit").click();
    await agent.getByTestId("setpw-done").waitFor();
    if (agent.url().includes("token=")) throw new Error("the token stayed in the address bar");
  });

  await check("agent: signs in from there (email filled in)", async () => {
    await agent.getByTestId("setpw-login").click();
    await agent.getByTestId("login-email").waitFor();
    const email = await agent.getByTestId("login-email").inputValue();
    if (email !== AGENT_EMAIL) throw new Error(`login email prefilled with ${JSON.stringify(email)}`);
    await agent.getByTestId("login-password").fill(AGENT_PASSWORD);
    await agent.getByTestId("login-submit").click();
    await live(agent);
    if ((await bodyData(agent, "role")) !== "agent") throw new Error(`role ${await bodyData(agent, "role")}`);
    await agent.evaluate(() => { window.__parleyNoReload = "agent"; });
  });

  await check("the link works once", async () => {
    const token = new URL(link).hash.replace(/^#token=/, "");
    const res = await fetch(`${base}/v1/auth/set-password`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token, password: "another-password" }),
    });
    const body = await res.json();
    if (res.status !== 400 || body.error.code !== "invalid_token") throw new Error(`${res.status} ${JSON.stringify(body)}`);
  });

  async function managementControls(page) {
    return {
      settingsNav: await page.getByTestId("nav-settings").isVisible(),
      inviteForm: await page.getByTestId("invite-form").isVisible(),
      roleSelects: await page.locator("[data-testid=role-select]").count(),
      deactivate: await page.locator("[data-testid=deactivate-button]").count(),
      reinvite: await page.locator("[data-testid=reinvite-button]").count(),
    };
  }
  const noControls = (c) => !c.settingsNav && !c.inviteForm && !c.roleSelects && !c.deactivate && !c.reinvite;

  await check("agent: sees the team but no management controls", async () => {
    await agent.getByTestId("nav-team").click();
    await row(agent, DEMO_EMAIL).waitFor();
    await row(agent, AGENT_EMAIL).waitFor();
    const c = await managementControls(agent);
    if (!noControls(c)) throw new Error(`agent sees ${JSON.stringify(c)}`);
    // the settings page is not reachable by address either
    await agent.evaluate(() => { location.hash = "#settings"; });
    await waitFor("the console to fall back to the inbox", async () => (await bodyData(agent, "page")) === "inbox");
    if (await agent.getByTestId("settings-view").isVisible()) throw new Error("settings shown to an agent");
    await agent.getByTestId("nav-team").click();
    return JSON.stringify(c);
  });

  await check("owner: promotes the agent; the agent's console reconnects as admin", async () => {
    const before = Number(await bodyData(agent, "sessions"));
    await row(owner, AGENT_EMAIL).locator("[data-testid=role-select]").selectOption("admin");
    await owner.locator(`[data-testid=team-row][data-email="${AGENT_EMAIL}"][data-role=admin]`).waitFor();
    await waitFor("the agent's console to authenticate again", async () => Number(await bodyData(agent, "sessions")) > before);
    await waitFor("the agent's console to show the admin role", async () => (await bodyData(agent, "role")) === "admin");
    await live(agent);
    await agent.getByTestId("invite-form").waitFor();
    await agent.getByTestId("nav-settings").waitFor();
    if ((await agent.evaluate(() => window.__parleyNoReload)) !== "agent") throw new Error("the agent page was reloaded");
    if (!/\(admin\)/.test(await agent.getByTestId("me").textContent())) throw new Error("the header still shows the old role");
    return `sessions ${before} → ${await bodyData(agent, "sessions")}`;
  });

  await check("owner: demotes them again; the controls go away at once", async () => {
    const before = Number(await bodyData(agent, "sessions"));
    await row(owner, AGENT_EMAIL).locator("[data-testid=role-select]").selectOption("agent");
    await waitFor("the agent's console to show the agent role", async () => (await bodyData(agent, "role")) === "agent"
      && Number(await bodyData(agent, "sessions")) > before);
    await live(agent);
    await waitFor("the management controls to disappear", async () => noControls(await managementControls(agent)));
  });

  await check("second owner console: opens Settings", async () => {
    await signIn(owner2, base, DEMO_EMAIL, PASSWORD);
    await owner2.getByTestId("nav-settings").click();
    await owner2.getByTestId("settings-form").waitFor();
    await waitFor("the settings to load", async () => (await owner2.getByTestId("settings-name").inputValue()) === "Demo");
  });

  await check("owner: edits the widget settings with a live preview", async () => {
    await owner.getByTestId("nav-settings").click();
    await waitFor("the settings to load", async () => (await owner.getByTestId("settings-name").inputValue()) === "Demo");
    await owner.getByTestId("settings-name").fill("Acme Support");
    await owner.getByTestId("settings-origins").fill("https://shop.example\nhttp://localhost:3000");
    await owner.getByTestId("settings-color").fill("#aa3300");
    await owner.getByTestId("settings-greeting").fill("Hi! Ask us anything.");
    await owner.getByTestId("settings-position").selectOption("left");
    await owner.getByTestId("settings-timezone").selectOption("Europe/Berlin");
    const p = owner.getByTestId("widget-preview");
    await waitFor("the preview to follow", async () => (await p.getAttribute("data-position")) === "left"
      && (await p.getAttribute("data-color")) === "#aa3300");
    const greeting = await owner.getByTestId("widget-preview-greeting").textContent();
    if (greeting !== "Hi! Ask us anything.") throw new Error(`preview greeting ${JSON.stringify(greeting)}`);
    const bg = await owner.getByTestId("widget-preview-launcher").evaluate((e) => getComputedStyle(e).backgroundColor);
    if (bg !== "rgb(170, 51, 0)") throw new Error(`launcher colour ${bg}`);
    await owner.getByTestId("settings-save").click();
    await owner.getByTestId("settings-saved").waitFor();
  });

  await check("second owner console and the agent's console get the change live (tenant.updated)", async () => {
    await waitFor("the second console's form to show the new settings", async () =>
      (await owner2.getByTestId("settings-name").inputValue()) === "Acme Support"
      && (await owner2.getByTestId("settings-color").inputValue()) === "#aa3300"
      && (await owner2.getByTestId("settings-timezone").inputValue()) === "Europe/Berlin"
      && (await owner2.getByTestId("settings-position").inputValue()) === "left");
    const origins = await owner2.getByTestId("settings-origins").inputValue();
    if (origins !== "https://shop.example\nhttp://localhost:3000") throw new Error(`origins ${JSON.stringify(origins)}`);
    await waitFor("the preview there", async () => (await owner2.getByTestId("widget-preview").getAttribute("data-position")) === "left");
    await owner2.locator("[data-testid=tenant-name]", { hasText: "Acme Support" }).waitFor();
    await agent.locator("[data-testid=tenant-name]", { hasText: "Acme Support" }).waitFor();
  });

  await check("agent: edits their profile; the owner's team list follows (user.updated)", async () => {
    await agent.getByTestId("me").click();
    await agent.getByTestId("profile-form").waitFor();
    await agent.getByTestId("profile-name").fill("Ann A.");
    await agent.getByTestId("profile-title").fill("Tier 2");
    await agent.getByTestId("profile-save").click();
    await agent.getByTestId("profile-saved").waitFor();
    await agent.getByTestId("me").filter({ hasText: "Ann A." }).waitFor();
    await owner.getByTestId("nav-team").click();
    await row(owner, AGENT_EMAIL).filter({ hasText: "Ann A." }).filter({ hasText: "Tier 2" }).waitFor();
  });

  await check("agent: changes their password and the console stays signed in", async () => {
    await agent.getByTestId("password-current").fill("wrong-password");
    await agent.getByTestId("password-new").fill(AGENT_PASSWORD_2);
    await agent.getByTestId("password-again").fill(AGENT_PASSWORD_2);
    await agent.getByTestId("password-save").click();
    await agent.getByTestId("password-error").waitFor();
    const before = Number(await bodyData(agent, "sessions"));
    await agent.getByTestId("password-current").fill(AGENT_PASSWORD);
    await agent.getByTestId("password-save").click();
    await agent.getByTestId("password-saved").waitFor();
    await waitFor("the console to reconnect with the new tokens", async () => Number(await bodyData(agent, "sessions")) > before);
    await live(agent);
    if (await agent.getByTestId("login-view").isVisible()) throw new Error("signed out");
    // the new password is the one that works
    const res = await fetch(`${base}/v1/auth/login`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email: AGENT_EMAIL, password: AGENT_PASSWORD_2 }),
    });
    if (res.status !== 200) throw new Error(`login with the new password: ${res.status}`);
  });

  await check("owner: deactivates the agent; their console is signed out at once", async () => {
    await row(owner, AGENT_EMAIL).locator("[data-testid=deactivate-button]").click();
    await owner.locator(`[data-testid=team-row][data-email="${AGENT_EMAIL}"][data-active=false]`).waitFor();
    await agent.getByTestId("login-view").waitFor();
    await owner.locator(`[data-testid=team-row][data-email="${AGENT_EMAIL}"] [data-testid=reactivate-button]`).waitFor();
    await expectCount(owner.locator("[data-testid=team-row]"), 2, "team rows");
  });

  await check("no uncaught errors in any page", async () => {
    if (state.pageErrors.length) throw new Error(state.pageErrors.join("\n"));
  });
}

await runScenario(scenario);
