// Team page of the agent console: the tenant's users (GET /v1/users) and,
// for those whose role may manage the team (team.manage: admins and
// owners), inviting, changing roles, deactivating and new set-password
// links. The server enforces every rule; this page only hides what the
// caller's role cannot do. Live: user.updated inbox notices (docs/realtime.md).

import { ROLES, rank, canManageTeam } from "./roles.js";

export function createTeamPage(ctx) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    view: $("team-view"), list: $("team-list"), form: $("invite-form"), email: $("invite-email"),
    name: $("invite-name"), title: $("invite-title"), role: $("invite-role"), submit: $("invite-submit"),
    error: $("invite-error"), result: $("invite-result"), who: $("invite-who"), expires: $("invite-expires"),
    link: $("invite-link"), copy: $("invite-copy"),
  };
  const users = new Map(); // id -> user
  let loaded = false;
  let loading = null;

  const me = () => ctx.user() || {};
  const myRank = () => rank(me().role);
  // May the caller change this user at all (perm_may_manage)?
  const manageable = (u) => canManageTeam(me().role) && rank(u.role) <= myRank();

  function load() {
    if (loading) return loading;
    loading = ctx.api("GET", "/v1/users").then((res) => {
      users.clear();
      for (const u of (res && res.data) || []) users.set(u.id, u);
      loaded = true;
      render();
    }).catch((err) => ctx.showError(`Could not load the team: ${err.message}`))
      .finally(() => { loading = null; });
    return loading;
  }

  function roleOptions(select, current) {
    select.replaceChildren();
    for (const r of ROLES) {
      if (rank(r) > myRank() && r !== current) continue; // nobody grants above their own role
      const o = ctx.el("option", { value: r }, r);
      if (rank(r) > myRank()) o.disabled = true;
      select.append(o);
    }
    if (current) select.value = current;
  }

  function render() {
    const manager = canManageTeam(me().role);
    ui.form.hidden = !manager;
    if (manager && !ui.role.options.length) roleOptions(ui.role, "agent");
    if (!loaded) return;
    const rows = [...users.values()].sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : 1));
    ui.list.replaceChildren(...rows.map(row));
  }

  function row(u) {
    const tr = ctx.el("tr", { "data-testid": "team-row", "data-id": u.id, "data-email": u.email, "data-role": u.role, "data-active": String(!!u.active) });
    const name = ctx.el("td", { class: "who" });
    name.append(ctx.el("strong", null, u.name || u.email));
    if (u.id === me().id) name.append(ctx.el("span", { class: "muted you" }, "(you)"));
    if (u.title) name.append(ctx.el("span", { class: "muted title" }, u.title));
    const email = ctx.el("td", null, u.email);
    const role = ctx.el("td");
    const status = ctx.el("td", { "data-testid": "team-status" }, u.active ? "Active" : "Deactivated");
    const actions = ctx.el("td", { class: "actions" });
    if (manageable(u) && u.id !== me().id) {
      const sel = ctx.el("select", { "data-testid": "role-select", "aria-label": `Role of ${u.name || u.email}` });
      roleOptions(sel, u.role);
      sel.addEventListener("change", () => change(u, sel, { role: sel.value }));
      role.append(sel);
      if (u.active) {
        actions.append(button("Deactivate", "deactivate-button", () => post(() => ctx.api("POST", `/v1/users/${encodeURIComponent(u.id)}/deactivate`, {}))));
        actions.append(button("New link", "reinvite-button", () => reinvite(u)));
      } else {
        actions.append(button("Reactivate", "reactivate-button", () => post(() => ctx.api("POST", `/v1/users/${encodeURIComponent(u.id)}/reactivate`, {}))));
      }
    } else {
      role.append(ctx.el("span", { "data-testid": "role" }, u.role));
    }
    tr.append(name, email, role, status, actions);
    return tr;
  }

  function button(text, testid, fn) {
    const b = ctx.el("button", { type: "button", "data-testid": testid }, text);
    b.addEventListener("click", async () => {
      b.disabled = true;
      try { await fn(); } catch (err) { ctx.showError(err.message); } finally { b.disabled = false; }
    });
    return b;
  }

  async function change(u, sel, body) {
    sel.disabled = true;
    try {
      upsert(await ctx.api("PATCH", `/v1/users/${encodeURIComponent(u.id)}`, body));
    } catch (err) {
      ctx.showError(err.code === "last_owner" ? "The workspace needs at least one active owner." : err.message);
      render();
    } finally { sel.disabled = false; }
  }

  async function post(call) {
    try {
      upsert(await call());
    } catch (err) {
      throw new Error(err.code === "last_owner" ? "The workspace needs at least one active owner." : err.message);
    }
  }

  async function reinvite(u) {
    const res = await ctx.api("POST", `/v1/users/${encodeURIComponent(u.id)}/invite`, {});
    showLink(res);
  }

  function showLink(res) {
    const u = res.user || {};
    ui.who.textContent = u.name || u.email || "";
    ui.expires.textContent = new Date(res.invite_expires_at).toLocaleString();
    ui.link.value = new URL(res.invite_url, location.origin).href;
    ui.result.hidden = false;
    ui.link.focus();
    ui.link.select();
  }

  ui.copy.addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(ui.link.value); ui.copy.textContent = "Copied"; } catch { ui.link.select(); }
    setTimeout(() => { ui.copy.textContent = "Copy"; }, 2000);
  });

  ui.form.addEventListener("submit", async (e) => {
    e.preventDefault();
    ui.error.hidden = true;
    const body = { email: ui.email.value.trim(), name: ui.name.value.trim(), role: ui.role.value };
    const title = ui.title.value.trim();
    if (title) body.title = title;
    if (!body.email || !body.name) {
      ui.error.textContent = "Enter an email and a name.";
      ui.error.hidden = false;
      return;
    }
    ui.submit.disabled = true;
    try {
      const res = await ctx.api("POST", "/v1/users", body);
      upsert(res.user);
      showLink(res);
      ui.email.value = ""; ui.name.value = ""; ui.title.value = "";
    } catch (err) {
      ui.error.textContent = err.code === "conflict" ? "Someone with this email is already in the team."
        : err.field ? `${err.field}: ${err.message}` : err.message;
      ui.error.hidden = false;
    } finally { ui.submit.disabled = false; }
  });

  function upsert(u) {
    if (!u || !u.id) return;
    users.set(u.id, u);
    if (loaded) render();
  }

  return {
    show() { render(); return load(); },
    // a user.updated notice, or our own change
    userUpdated: upsert,
    // the caller's role changed (reconnect) or a reconnect may have missed notices
    refresh() { ui.role.replaceChildren(); render(); if (!ui.view.hidden) load(); },
    reset() { users.clear(); loaded = false; ui.list.replaceChildren(); ui.result.hidden = true; ui.error.hidden = true; ui.role.replaceChildren(); },
  };
}
