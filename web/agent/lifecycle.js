// Conversation controls of the agent console: status (waiting is the
// server's, so it is shown, never offered), priority, snooze until a time,
// and the transfer dialog (an agent from GET /v1/users, a department from
// GET /v1/departments, a reason). The server decides every rule
// (docs/openapi.yaml: PATCH /v1/conversations/{id}, POST …/transfer);
// its errors are shown as they come.

const STATUSES = ["open", "pending", "snoozed", "resolved", "closed"];
const PRIORITIES = ["low", "medium", "high", "urgent"];

export function createConversationControls(ctx) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $("status-select"), priority: $("priority-select"), snoozeUntil: $("snooze-until"),
    snooze: $("snooze-button"), transfer: $("transfer-button"), dialog: $("transfer-dialog"),
    form: $("transfer-form"), agent: $("transfer-agent"), dept: $("transfer-department"),
    reason: $("transfer-reason"), error: $("transfer-error"), cancel: $("transfer-cancel"),
    submit: $("transfer-submit"),
  };

  function option(value, label) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = label;
    return o;
  }

  for (const p of PRIORITIES) ui.priority.append(option(p, p));

  // The status list: the settable ones, plus the current one when it is
  // the server's own (waiting), shown but not offered.
  function fillStatus(current) {
    ui.status.replaceChildren();
    const list = STATUSES.includes(current) ? STATUSES : [current, ...STATUSES];
    for (const s of list) {
      const o = option(s, s);
      if (!STATUSES.includes(s)) o.disabled = true;
      ui.status.append(o);
    }
    ui.status.value = current;
  }

  function render(c) {
    if (!c) return;
    fillStatus(c.status || "open");
    ui.priority.value = c.priority || "medium";
    ui.snooze.textContent = c.status === "snoozed" && c.snooze_until
      ? `Snoozed until ${new Date(c.snooze_until).toLocaleString()}` : "Snooze";
  }

  async function change(body, control) {
    const c = ctx.current();
    if (!c) return;
    control.disabled = true;
    try {
      const res = await ctx.api("PATCH", `/v1/conversations/${encodeURIComponent(c.id)}`, body);
      if (res && res.id) ctx.upsert(res);
    } catch (err) {
      ctx.showError(err.message);
    } finally {
      control.disabled = false;
      render(ctx.current());
    }
  }

  ui.status.addEventListener("change", () => {
    if (ui.status.value === "snoozed") {
      ui.snoozeUntil.focus();
      ctx.showError("Pick a time to snooze until, then press Snooze.");
      render(ctx.current());
      return;
    }
    change({ status: ui.status.value }, ui.status);
  });
  ui.priority.addEventListener("change", () => change({ priority: ui.priority.value }, ui.priority));
  ui.snooze.addEventListener("click", () => {
    const v = ui.snoozeUntil.value; // local date-time
    const t = v ? new Date(v) : null;
    if (!t || isNaN(t.getTime())) {
      ctx.showError("Pick a time to snooze until.");
      return;
    }
    change({ status: "snoozed", snooze_until: t.toISOString() }, ui.snooze);
  });

  async function openTransfer() {
    const c = ctx.current();
    if (!c) return;
    ui.error.textContent = "";
    ui.reason.value = "";
    ui.agent.replaceChildren(option("", "— nobody (the department's queue) —"));
    ui.dept.replaceChildren(option("", "— the current department —"));
    try {
      const [users, depts] = await Promise.all([ctx.api("GET", "/v1/users"), ctx.api("GET", "/v1/departments")]);
      for (const u of (users && users.data) || [])
        if (u.active !== false) ui.agent.append(option(u.id, `${u.name || u.email} (${u.role})`));
      for (const d of (depts && depts.data) || [])
        if (d.active !== false) ui.dept.append(option(d.id, d.name));
    } catch (err) {
      ui.error.textContent = `Could not load the team or the departments: ${err.message}`;
    }
    if (typeof ui.dialog.showModal === "function") ui.dialog.showModal();
    else ui.dialog.setAttribute("open", "");
    ui.reason.focus();
  }

  function closeTransfer() {
    if (typeof ui.dialog.close === "function") ui.dialog.close();
    else ui.dialog.removeAttribute("open");
  }

  ui.transfer.addEventListener("click", openTransfer);
  ui.cancel.addEventListener("click", closeTransfer);
  ui.form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const c = ctx.current();
    if (!c) return;
    const body = { reason: ui.reason.value.trim() };
    if (ui.agent.value) body.agent_id = ui.agent.value;
    if (ui.dept.value) body.department_id = ui.dept.value;
    if (!body.agent_id && !body.department_id) {
      ui.error.textContent = "Pick an agent, a department, or both.";
      return;
    }
    if (!body.reason) {
      ui.error.textContent = "Give a reason.";
      return;
    }
    ui.submit.disabled = true;
    try {
      const res = await ctx.api("POST", `/v1/conversations/${encodeURIComponent(c.id)}/transfer`, body);
      if (res && res.id) ctx.upsert(res);
      closeTransfer();
    } catch (err) {
      ui.error.textContent = err.message;
    } finally {
      ui.submit.disabled = false;
    }
  });

  return { render };
}
