// Email settings of the agent console, on the Settings page (admins and
// owners): the tenant's SMTP server, login, sender and notification
// address (GET/PATCH /v1/email/settings), and a test send
// (POST /v1/email/test) that shows the server's answer. The password is
// never shown: the field stays empty, says whether one is set, and is sent
// only when typed into.

export function createEmailSettings(ctx) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    form: $("email-form"), host: $("email-host"), port: $("email-port"), security: $("email-security"),
    username: $("email-username"), password: $("email-password"), from: $("email-from"), notify: $("email-notify"),
    error: $("email-error"), save: $("email-save"), saved: $("email-saved"),
    to: $("email-test-to"), test: $("email-test"), result: $("email-test-result"),
  };
  const DEFAULT_PORT = { starttls: 587, tls: 465, none: 25 };
  let portTouched = false;

  function fill(s) {
    ui.host.value = s.host || "";
    ui.port.value = s.port || DEFAULT_PORT[s.security] || 587;
    ui.security.value = s.security || "starttls";
    ui.username.value = s.username || "";
    ui.password.value = "";
    ui.password.placeholder = s.password_set ? "set (type to replace)" : "";
    ui.from.value = s.from || "";
    ui.notify.value = s.notify_address || "";
    ui.test.disabled = !s.configured;
    portTouched = false;
  }

  function showError(el, err) {
    const names = { host: "SMTP host", port: "Port", security: "Security", username: "Username", password: "Password",
      from: "From address", notify_address: "Notify address", to: "To" };
    el.textContent = err.field ? `${names[err.field] || err.field}: ${err.message}` : err.message;
    el.hidden = false;
  }

  ui.port.addEventListener("input", () => { portTouched = true; });
  // a new security suggests its usual port, until the port was typed
  ui.security.addEventListener("change", () => {
    if (!portTouched) ui.port.value = DEFAULT_PORT[ui.security.value];
  });

  ui.form.addEventListener("submit", async (e) => {
    e.preventDefault();
    ui.error.hidden = true;
    ui.saved.hidden = true;
    const port = Number(ui.port.value);
    const body = {
      host: ui.host.value.trim(), port: Number.isInteger(port) ? port : ui.port.value, security: ui.security.value,
      username: ui.username.value.trim(), from: ui.from.value.trim(), notify_address: ui.notify.value.trim(),
    };
    if (ui.password.value) body.password = ui.password.value;
    ui.save.disabled = true;
    try {
      fill(await ctx.api("PATCH", "/v1/email/settings", body));
      ui.saved.hidden = false;
    } catch (err) {
      showError(ui.error, err);
    } finally { ui.save.disabled = false; }
  });

  ui.test.addEventListener("click", async () => {
    ui.result.hidden = true;
    ui.result.className = "";
    const to = ui.to.value.trim();
    ui.test.disabled = true;
    ui.result.textContent = "Sending…";
    ui.result.className = "muted";
    ui.result.hidden = false;
    try {
      const r = await ctx.api("POST", "/v1/email/test", to ? { to } : {});
      ui.result.textContent = `Sent to ${r.to} through ${r.server}: ${r.reply}`;
      ui.result.className = "note";
      ui.result.dataset.outcome = "sent";
    } catch (err) {
      ui.result.className = "error";
      ui.result.dataset.outcome = err.code || "error";
      showError(ui.result, err);
    } finally { ui.test.disabled = false; }
  });

  return {
    async show() {
      ui.error.hidden = true;
      ui.saved.hidden = true;
      ui.result.hidden = true;
      if (!ui.to.value) ui.to.value = (ctx.user() && ctx.user().email) || "";
      try { fill(await ctx.api("GET", "/v1/email/settings")); } catch (err) { showError(ui.error, err); }
    },
  };
}
