// Search page of the agent console (everyone with conv): conversations by
// words (name:/email: for the visitor), tag, status, agent, department and
// dates (GET /v1/search), newest first, with the matching message's
// snippet and a "More" button that follows next_cursor. Every string from
// the server is inserted with textContent (ctx.el), never as HTML.

const STATUSES = ["open", "waiting", "pending", "snoozed", "resolved", "closed"];

export function createSearchPage(ctx) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    form: $("search-form"), q: $("search-q"), tag: $("search-tag"), status: $("search-status"),
    agent: $("search-agent"), dept: $("search-dept"), from: $("search-from"), to: $("search-to"),
    list: $("search-results"), empty: $("search-empty"), more: $("search-more"), error: $("search-error"),
  };
  let cursor = null;
  let query = "";

  ui.status.replaceChildren(ctx.el("option", { value: "" }, "Any status"), ...STATUSES.map((s) => ctx.el("option", { value: s }, s)));

  // the pick lists: each is optional (a route the caller may not read, or
  // one this server does not have, leaves its filter with "Any" only)
  async function fill(select, path, any, label, extra) {
    try {
      const res = await ctx.api("GET", path);
      const keep = select.value;
      select.replaceChildren(ctx.el("option", { value: "" }, any), ...(extra || []),
        ...((res && res.data) || []).map((x) => ctx.el("option", { value: x.id }, label(x))));
      select.value = keep;
    } catch { /* the filter keeps "Any" */ }
  }
  function loadPickLists() {
    fill(ui.agent, "/v1/users", "Any agent", (u) => u.name || u.email,
      [ctx.el("option", { value: "me" }, "Me"), ctx.el("option", { value: "none" }, "Unassigned")]);
    fill(ui.dept, "/v1/departments", "Any department", (d) => d.name);
    fill(ui.tag, "/v1/tags", "Any tag", (t) => t.name);
  }

  function filters() {
    const q = new URLSearchParams();
    if (ui.q.value.trim()) q.set("q", ui.q.value.trim());
    if (ui.tag.value) q.set("tag", ui.tag.value);
    if (ui.status.value) q.set("status", ui.status.value);
    if (ui.agent.value) q.set("agent_id", ui.agent.value);
    if (ui.dept.value) q.set("department_id", ui.dept.value);
    // date inputs are whole UTC days (the API takes YYYY-MM-DD)
    if (ui.from.value) q.set("from", ui.from.value);
    if (ui.to.value) q.set("to", ui.to.value);
    return q;
  }

  function result(h) {
    const c = h.conversation;
    const li = ctx.el("li", { class: "search-hit", "data-testid": "search-hit", "data-id": c.id });
    const head = ctx.el("div", { class: "row" });
    const who = ctx.el("a", { href: "#inbox", "data-testid": "search-open", class: "who" }, c.visitor.name || c.visitor.email || "Visitor");
    who.addEventListener("click", (e) => { e.preventDefault(); ctx.openConversation(c.id); });
    head.append(who, ctx.el("span", { class: "muted", "data-testid": "search-status" }, c.status),
      ctx.el("span", { class: "muted" }, c.assignee ? c.assignee.name : "unassigned"),
      ctx.el("span", { class: "muted", title: c.created_at }, new Date(c.created_at).toLocaleString()));
    li.append(head);
    const m = h.match;
    if (m) {
      const p = ctx.el("p", { class: m.private ? "snippet note" : "snippet", "data-testid": "search-snippet" });
      p.append(ctx.el("span", { class: "muted" }, `${m.private ? "Note" : m.sender.name || m.sender.type}: `),
        ctx.el("span", null, m.snippet));
      li.append(p);
    } else if (c.last_message) {
      li.append(ctx.el("p", { class: "snippet muted", "data-testid": "search-snippet" }, c.last_message.text));
    }
    return li;
  }

  async function page(first) {
    ui.error.hidden = true;
    const q = new URLSearchParams(query);
    q.set("limit", "20");
    if (!first && cursor) q.set("cursor", cursor);
    try {
      const res = await ctx.api("GET", `/v1/search?${q}`);
      if (first) ui.list.replaceChildren();
      ui.list.append(...res.data.map(result));
      cursor = res.next_cursor;
      ui.more.hidden = !cursor;
      ui.empty.hidden = ui.list.children.length > 0 || !!cursor;
    } catch (err) {
      if (first) ui.list.replaceChildren();
      ui.more.hidden = true;
      ui.empty.hidden = true;
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
    show() { loadPickLists(); ui.q.focus(); },
    reset() { ui.list.replaceChildren(); cursor = null; query = ""; ui.form.reset(); ui.error.hidden = true;
      ui.empty.hidden = true; ui.more.hidden = true; },
  };
}
