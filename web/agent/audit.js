// Audit log page of the agent console (admins and owners: settings): who
// changed what, on which record, when and from where (GET /v1/audit),
// newest first, with filters (who, action, record type and id, time range)
// and a "More" button that follows the answer's next_cursor.

const ACTIONS = ["user.invite", "user.reinvite", "user.role", "user.update", "user.deactivate", "user.reactivate",
  "tenant.update", "email.update", "api_key.create", "api_key.revoke", "webhook.create", "webhook.update",
  "webhook.rotate_secret", "webhook.delete", "department.create", "department.update", "department.delete",
  "department.reorder", "department.members", "conversation.assign", "conversation.transfer"];
const RECORD_TYPES = ["user", "tenant", "email_settings", "api_key", "webhook", "department", "conversation"];

export function createAuditPage(ctx) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    view: $("audit-view"), form: $("audit-filters"), actor: $("audit-actor"), action: $("audit-action"),
    rtype: $("audit-record-type"), rid: $("audit-record-id"), from: $("audit-from"), to: $("audit-to"),
    list: $("audit-list"), empty: $("audit-empty"), more: $("audit-more"), error: $("audit-error"),
  };
  let cursor = null;
  let query = "";

  ui.action.replaceChildren(ctx.el("option", { value: "" }, "Any action"), ...ACTIONS.map((a) => ctx.el("option", { value: a }, a)));
  ui.rtype.replaceChildren(ctx.el("option", { value: "" }, "Any record"), ...RECORD_TYPES.map((t) => ctx.el("option", { value: t }, t)));

  async function loadActors() {
    try {
      const res = await ctx.api("GET", "/v1/users");
      const keep = ui.actor.value;
      ui.actor.replaceChildren(ctx.el("option", { value: "" }, "Anyone"),
        ...((res && res.data) || []).map((u) => ctx.el("option", { value: u.id }, u.name || u.email)));
      ui.actor.value = keep;
    } catch { /* the filter still takes no actor */ }
  }

  function filters() {
    const q = new URLSearchParams();
    if (ui.actor.value) q.set("actor_id", ui.actor.value);
    if (ui.action.value) q.set("action", ui.action.value);
    if (ui.rtype.value) q.set("record_type", ui.rtype.value);
    if (ui.rid.value.trim()) q.set("record_id", ui.rid.value.trim());
    // datetime-local is the browser's time; the API takes UTC
    if (ui.from.value) q.set("from", new Date(ui.from.value).toISOString());
    if (ui.to.value) q.set("to", new Date(ui.to.value).toISOString());
    return q;
  }

  function details(d) {
    const parts = [];
    for (const [k, v] of Object.entries(d || {})) parts.push(`${k}: ${Array.isArray(v) ? v.join(", ") : typeof v === "object" && v !== null ? JSON.stringify(v) : v}`);
    return parts.join("; ");
  }

  function row(r) {
    const tr = ctx.el("tr", { "data-testid": "audit-row", "data-id": r.id, "data-action": r.action,
      "data-record-type": r.record_type, "data-record-id": r.record_id || "" });
    const who = ctx.el("td", { class: "who", "data-testid": "audit-actor" }, r.actor.name);
    if (r.actor.type !== "user") who.append(ctx.el("span", { class: "muted title" }, r.actor.type === "api_key" ? "API key" : r.actor.type));
    tr.append(ctx.el("td", { title: r.at }, new Date(r.at).toLocaleString()), who,
      ctx.el("td", { "data-testid": "audit-action" }, r.action),
      ctx.el("td", null, r.record_id ? `${r.record_type} ${r.record_id}` : r.record_type),
      ctx.el("td", { "data-testid": "audit-addr" }, r.addr || "unknown"),
      ctx.el("td", { "data-testid": "audit-details", class: "details" }, details(r.details)));
    return tr;
  }

  async function page(first) {
    ui.error.hidden = true;
    const q = new URLSearchParams(query);
    q.set("limit", "50");
    if (!first && cursor) q.set("cursor", cursor);
    try {
      const res = await ctx.api("GET", `/v1/audit?${q}`);
      if (first) ui.list.replaceChildren();
      ui.list.append(...res.data.map(row));
      cursor = res.next_cursor;
      ui.more.hidden = !cursor;
      ui.empty.hidden = ui.list.children.length > 0 || !!cursor;
    } catch (err) {
      ui.error.textContent = err.field ? `${err.field}: ${err.message}` : err.message;
      ui.error.hidden = false;
    }
  }

  ui.form.addEventListener("submit", (e) => {
    e.preventDefault();
    query = filters().toString();
    cursor = null;
    page(true);
  });
  ui.more.addEventListener("click", () => page(false));

  return {
    show() { query = filters().toString(); cursor = null; loadActors(); return page(true); },
    reset() { ui.list.replaceChildren(); cursor = null; query = ""; ui.form.reset(); },
  };
}
