// Profile page of the agent console: one's own name, title and avatar
// (PATCH /v1/auth/me) and password (POST /v1/auth/password, which ends
// every other session of the user and hands this one fresh tokens).

export function createProfilePage(ctx) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    form: $("profile-form"), name: $("profile-name"), title: $("profile-title"), avatar: $("profile-avatar"),
    error: $("profile-error"), save: $("profile-save"), saved: $("profile-saved"),
    pwForm: $("password-form"), current: $("pw-current"), next: $("pw-new"), again: $("pw-again"),
    pwError: $("password-error"), pwSave: $("password-save"), pwSaved: $("password-saved"),
  };

  function fill() {
    const u = ctx.user() || {};
    ui.name.value = u.name || "";
    ui.title.value = u.title || "";
    ui.avatar.value = u.avatar_url || "";
  }

  function fail(node, err) {
    node.textContent = err.field ? `${err.field.replaceAll("_", " ")}: ${err.message}` : err.message;
    node.hidden = false;
  }

  ui.form.addEventListener("submit", async (e) => {
    e.preventDefault();
    ui.error.hidden = true;
    ui.saved.hidden = true;
    const body = { name: ui.name.value.trim(), title: ui.title.value.trim(), avatar_url: ui.avatar.value.trim() };
    if (!body.name) { fail(ui.error, { message: "Enter your name." }); return; }
    ui.save.disabled = true;
    try {
      ctx.setUser(await ctx.api("PATCH", "/v1/auth/me", body));
      fill();
      ui.saved.hidden = false;
    } catch (err) { fail(ui.error, err); } finally { ui.save.disabled = false; }
  });

  ui.pwForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    ui.pwError.hidden = true;
    ui.pwSaved.hidden = true;
    if (ui.next.value.length < 8) { fail(ui.pwError, { message: "The new password needs 8 characters or more." }); return; }
    if (ui.next.value !== ui.again.value) { fail(ui.pwError, { message: "The two new passwords differ." }); return; }
    ui.pwSave.disabled = true;
    try {
      await ctx.changePassword(ui.current.value, ui.next.value);
      ui.current.value = ""; ui.next.value = ""; ui.again.value = "";
      ui.pwSaved.hidden = false;
    } catch (err) {
      if (err.status === 403) fail(ui.pwError, { message: "Your current password is not right." });
      else if (err.status === 429) fail(ui.pwError, { message: `Too many attempts. Try again${err.retryAfter ? ` in ${err.retryAfter} s` : " later"}.` });
      else fail(ui.pwError, err);
    } finally { ui.pwSave.disabled = false; }
  });

  return {
    show() { ui.error.hidden = true; ui.saved.hidden = true; ui.pwError.hidden = true; ui.pwSaved.hidden = true; fill(); },
    userUpdated() { if (document.activeElement == null || !ui.form.contains(document.activeElement)) fill(); },
  };
}
