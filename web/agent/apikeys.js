// API keys page of the agent console: the tenant's keys (GET /v1/api-keys)
// with their scope, expiry and last use; creating one (POST: its secret is
// shown once, with a copy button, and never again) and revoking one
// (DELETE /v1/api-keys/{id}). Shown to roles holding the settings
// permission (admins and owners); the server decides every rule.

import { rank, SCOPES } from "./roles.js";

const fmt = (iso) => (iso ? new Date(iso).toLocaleString() : "");

function ago(iso) {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

export function createApiKeysPage(ctx) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    view: $("apikeys-view"), form: $("key-form"), name: $("key-name"), scope: $("key-scope"),
    expires: $("key-expires"), submit: $("key-submit"), error: $("key-error"), result: $("key-result"),
    made: $("key-made"), secret: $("key-secret"), copy: $("key-copy"), done: $("key-done"),
    list: $("key-list"), empty: $("key-empty"),
  };
  const keys = new Map(); // id -> key
  let loading = null;

  const myRank = () => rank((ctx.user() || {}).role);

  function scopeOptions() {
    const current = ui.scope.value || "read";
    ui.scope.replaceChildren(...SCOPES.filter((s) => rank(s.role) <= myRank())
      .map((s) => ctx.el("option", { value: s.scope }, s.label)));
    if ([...ui.scope.options].some((o) => o.value === current)) ui.scope.value = current;
  }

  function load() {
    if (loading) return loading;
    loading = ctx.api("GET", "/v1/api-keys").then((res) => {
      keys.clear();
      for (const k of (res && res.data) || []) keys.set(k.id, k);
      render();
    }).catch((err) => ctx.showError(`Could not load the API keys: ${err.message}`))
      .finally(() => { loading = null; });
    return loading;
  }

  function state(k) {
    if (k.revoked) return "revoked";
    if (k.expires_at && new Date(k.expires_at).getTime() <= Date.now()) return "expired";
    return "active";
  }

  function render() {
    const rows = [...keys.values()].sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : 1));
    ui.list.replaceChildren(...rows.map(row));
    ui.empty.hidden = rows.length > 0;
  }

  function row(k) {
    const st = state(k);
    const tr = ctx.el("tr", { "data-testid": "key-row", "data-id": k.id, "data-name": k.name, "data-scope": k.scope, "data-state": st });
    const created = ctx.el("td", null, fmt(k.created_at));
    if (k.created_by && k.created_by.name) created.append(ctx.el("span", { class: "muted by" }, `by ${k.created_by.name}${k.created_by.type === "api_key" ? " (key)" : ""}`));
    const last = ctx.el("td", { "data-testid": "key-last-used", title: fmt(k.last_used_at) }, ago(k.last_used_at));
    const status = ctx.el("td", { "data-testid": "key-status" }, { active: "Active", revoked: `Revoked ${fmt(k.revoked_at)}`, expired: "Expired" }[st]);
    const actions = ctx.el("td", { class: "actions" });
    if (!k.revoked) {
      const b = ctx.el("button", { type: "button", "data-testid": "key-revoke", "aria-label": `Revoke ${k.name}` }, "Revoke");
      b.addEventListener("click", async () => {
        b.disabled = true;
        try { upsert(await ctx.api("DELETE", `/v1/api-keys/${encodeURIComponent(k.id)}`)); } catch (err) { ctx.showError(`Could not revoke the key: ${err.message}`); b.disabled = false; }
      });
      actions.append(b);
    }
    tr.append(ctx.el("td", null, k.name), ctx.el("td", { "data-testid": "key-scope-cell" }, k.scope),
      ctx.el("td", { class: "hint" }, `pk_…${k.hint}`), created,
      ctx.el("td", null, k.expires_at ? fmt(k.expires_at) : "never"), last, status, actions);
    return tr;
  }

  function upsert(k) {
    if (!k || !k.id) return;
    keys.set(k.id, k);
    render();
  }

  function hideSecret() {
    ui.secret.value = "";
    ui.result.hidden = true;
  }

  ui.copy.addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(ui.secret.value); ui.copy.textContent = "Copied"; } catch { ui.secret.select(); }
    setTimeout(() => { ui.copy.textContent = "Copy"; }, 2000);
  });
  ui.done.addEventListener("click", hideSecret);

  ui.form.addEventListener("submit", async (e) => {
    e.preventDefault();
    ui.error.hidden = true;
    hideSecret();
    const body = { name: ui.name.value.trim(), scope: ui.scope.value };
    if (!body.name) {
      ui.error.textContent = "Give the key a name.";
      ui.error.hidden = false;
      return;
    }
    if (ui.expires.value) {
      // the end of the chosen day, in the browser's time zone
      const end = new Date(`${ui.expires.value}T23:59:59`);
      if (Number.isNaN(end.getTime())) {
        ui.error.textContent = "Choose a valid expiry date.";
        ui.error.hidden = false;
        return;
      }
      body.expires_at = end.toISOString();
    }
    ui.submit.disabled = true;
    try {
      const res = await ctx.api("POST", "/v1/api-keys", body);
      upsert(res.key);
      ui.made.textContent = res.key.name;
      ui.secret.value = res.secret;
      ui.result.hidden = false;
      ui.secret.focus();
      ui.secret.select();
      ui.name.value = ""; ui.expires.value = "";
    } catch (err) {
      const names = { name: "Name", scope: "Scope", expires_at: "Expires" };
      ui.error.textContent = err.field ? `${names[err.field] || err.field}: ${err.message}` : err.message;
      ui.error.hidden = false;
    } finally { ui.submit.disabled = false; }
  });

  return {
    show() { hideSecret(); scopeOptions(); return load(); },
    // leaving the console (sign-out) forgets everything, the secret first
    reset() { hideSecret(); keys.clear(); ui.list.replaceChildren(); ui.error.hidden = true; ui.scope.replaceChildren(); },
  };
}
