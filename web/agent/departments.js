// Departments page of the agent console (admins and owners: settings): the
// tenant's departments in their order (GET /v1/departments), creating and
// editing one (name, slug, description, notification address, time zone,
// business hours, routing policy, SLA thresholds, members), moving one up
// or down (POST /v1/departments/reorder), activating and deactivating it,
// making it the default, and deleting it. The server decides every rule;
// its refusals are shown next to the form.

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_NAMES = { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" };
const ROUTING = [
  { value: "round_robin", label: "Round robin (in turn)" },
  { value: "least_busy", label: "Least busy" },
  { value: "off", label: "Off (picked up by hand)" },
];
const ZONES = ["UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York", "America/Chicago",
  "America/Los_Angeles", "America/Sao_Paulo", "Asia/Kolkata", "Asia/Tokyo", "Asia/Singapore", "Australia/Sydney"];

// "Mon 09:00-17:00, Sat 10:00-14:00" or "Always open" / "Never open".
export function hoursSummary(hours) {
  if (hours === null || hours === undefined) return "Always open";
  if (!hours.length) return "Never open";
  const by = new Map();
  for (const r of hours) by.set(r.day, [...(by.get(r.day) || []), `${r.open}-${r.close}`]);
  return DAYS.filter((d) => by.has(d)).map((d) => `${DAY_NAMES[d]} ${by.get(d).join(", ")}`).join("; ");
}

export function createDepartmentsPage(ctx) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    view: $("departments-view"), list: $("dept-list"), empty: $("dept-empty"), form: $("dept-form"),
    title: $("dept-form-title"), name: $("dept-name"), slug: $("dept-slug"), desc: $("dept-description"),
    email: $("dept-email"), zone: $("dept-timezone"), zones: $("dept-zones"), routing: $("dept-routing"),
    slaMed: $("dept-sla-medium"), slaHigh: $("dept-sla-high"), active: $("dept-active"), always: $("dept-always"),
    ranges: $("dept-ranges"), addRange: $("dept-add-range"), members: $("dept-members"), error: $("dept-error"),
    save: $("dept-save"), cancel: $("dept-cancel"), saved: $("dept-saved"),
  };
  const depts = []; // in order
  const users = new Map();
  let editing = null; // the department being edited, or null (a new one)
  let slugTouched = false;

  ui.zones.replaceChildren(...ZONES.map((z) => ctx.el("option", { value: z })));
  ui.routing.replaceChildren(...ROUTING.map((r) => ctx.el("option", { value: r.value }, r.label)));

  async function load() {
    try {
      const [d, u] = await Promise.all([ctx.api("GET", "/v1/departments"), ctx.api("GET", "/v1/users")]);
      depts.splice(0, depts.length, ...((d && d.data) || []));
      users.clear();
      for (const x of (u && u.data) || []) users.set(x.id, x);
      render();
      if (!editing) resetForm();
    } catch (err) { ctx.showError(`Could not load the departments: ${err.message}`); }
  }

  function render() {
    ui.list.replaceChildren(...depts.map(row));
    ui.empty.hidden = depts.length > 0;
  }

  function button(text, testid, label, onClick) {
    const b = ctx.el("button", { type: "button", "data-testid": testid, "aria-label": label }, text);
    b.addEventListener("click", async () => {
      b.disabled = true;
      try { await onClick(); } catch (err) { ctx.showError(err.message); } finally { b.disabled = false; }
    });
    return b;
  }

  function row(d, i) {
    const tr = ctx.el("tr", { "data-testid": "dept-row", "data-id": d.id, "data-slug": d.slug,
      "data-active": String(d.active), "data-default": String(d.is_default) });
    const name = ctx.el("td", { class: "who" }, d.name);
    if (d.is_default) name.append(" ", ctx.el("span", { class: "badge", "data-testid": "dept-default" }, "default"));
    if (d.description) name.append(ctx.el("span", { class: "muted title" }, d.description));
    const names = d.members.map((id) => (users.get(id) || {}).name || id);
    const actions = ctx.el("td", { class: "actions" });
    if (i > 0) actions.append(button("↑", "dept-up", `Move ${d.name} up`, () => move(i, -1)));
    if (i < depts.length - 1) actions.append(button("↓", "dept-down", `Move ${d.name} down`, () => move(i, 1)));
    actions.append(button("Edit", "dept-edit", `Edit ${d.name}`, async () => edit(d)));
    if (!d.is_default) {
      actions.append(button(d.active ? "Deactivate" : "Activate", "dept-toggle", `${d.active ? "Deactivate" : "Activate"} ${d.name}`,
        async () => replace(await ctx.api("PATCH", `/v1/departments/${d.id}`, { active: !d.active }))));
      if (d.active) {
        actions.append(button("Make default", "dept-make-default", `Make ${d.name} the default`, async () => {
          await ctx.api("PATCH", `/v1/departments/${d.id}`, { is_default: true });
          await load();
        }));
      }
      actions.append(button("Delete", "dept-delete", `Delete ${d.name}`, async () => {
        if (!window.confirm(`Delete the department ${d.name}?`)) return;
        try {
          await ctx.api("DELETE", `/v1/departments/${d.id}`);
          depts.splice(depts.findIndex((x) => x.id === d.id), 1);
          if (editing && editing.id === d.id) resetForm();
          render();
        } catch (err) { ctx.showError(`Could not delete ${d.name}: ${err.message}`); }
      }));
    }
    tr.append(name, ctx.el("td", { class: "hint" }, d.slug),
      ctx.el("td", { "data-testid": "dept-hours" }, `${hoursSummary(d.hours)} (${d.timezone})`),
      ctx.el("td", { "data-testid": "dept-routing-cell" }, d.routing),
      ctx.el("td", null, `${d.sla_medium_s} s / ${d.sla_high_s} s`),
      ctx.el("td", { "data-testid": "dept-members-cell", title: names.join(", ") }, names.length ? names.join(", ") : "none"),
      ctx.el("td", { "data-testid": "dept-status" }, d.active ? "Active" : "Inactive"), actions);
    return tr;
  }

  function replace(d) {
    const i = depts.findIndex((x) => x.id === d.id);
    if (i >= 0) depts[i] = d; else depts.push(d);
    render();
  }

  async function move(i, by) {
    const ids = depts.map((d) => d.id);
    [ids[i], ids[i + by]] = [ids[i + by], ids[i]];
    const res = await ctx.api("POST", "/v1/departments/reorder", { ids });
    depts.splice(0, depts.length, ...res.data);
    render();
  }

  // ---- the form

  function rangeRow(r) {
    const day = ctx.el("select", { "data-testid": "range-day", "aria-label": "Day" });
    day.append(...DAYS.map((d) => ctx.el("option", { value: d }, DAY_NAMES[d])));
    day.value = r.day;
    const open = ctx.el("input", { type: "text", "data-testid": "range-open", "aria-label": "Opens", value: r.open, size: 5, placeholder: "09:00" });
    const close = ctx.el("input", { type: "text", "data-testid": "range-close", "aria-label": "Closes", value: r.close, size: 5, placeholder: "17:00" });
    const rm = ctx.el("button", { type: "button", "data-testid": "range-remove", "aria-label": "Remove range" }, "Remove");
    const div = ctx.el("div", { class: "row range", "data-testid": "range-row" });
    rm.addEventListener("click", () => div.remove());
    div.append(day, open, ctx.el("span", null, "to"), close, rm);
    return div;
  }

  function setHours(hours) {
    ui.always.checked = hours === null || hours === undefined;
    ui.ranges.replaceChildren(...(hours || []).map(rangeRow));
    ui.ranges.hidden = ui.always.checked;
    ui.addRange.hidden = ui.always.checked;
  }

  function readHours() {
    if (ui.always.checked) return null;
    return [...ui.ranges.querySelectorAll("[data-testid=range-row]")].map((r) => ({
      day: r.querySelector("[data-testid=range-day]").value,
      open: r.querySelector("[data-testid=range-open]").value.trim(),
      close: r.querySelector("[data-testid=range-close]").value.trim(),
    }));
  }

  function setMembers(ids) {
    const chosen = new Set(ids);
    const list = [...users.values()].filter((u) => u.active || chosen.has(u.id))
      .sort((a, b) => (a.name || a.email).localeCompare(b.name || b.email));
    ui.members.replaceChildren(...list.map((u) => {
      const box = ctx.el("input", { type: "checkbox", value: u.id, "data-testid": "dept-member", "data-email": u.email });
      box.checked = chosen.has(u.id);
      const label = ctx.el("label", { class: "check" });
      label.append(box, ctx.el("span", null, `${u.name || u.email} (${u.role})`));
      return label;
    }));
  }

  const readMembers = () => [...ui.members.querySelectorAll("input[type=checkbox]")].filter((b) => b.checked).map((b) => b.value);

  function resetForm() {
    editing = null;
    slugTouched = false;
    ui.title.textContent = "New department";
    ui.save.textContent = "Create department";
    ui.cancel.hidden = true;
    ui.name.value = ""; ui.slug.value = ""; ui.desc.value = ""; ui.email.value = "";
    ui.zone.value = (ctx.tenant() && ctx.tenant().timezone) || "UTC";
    ui.routing.value = "round_robin";
    ui.slaMed.value = "60"; ui.slaHigh.value = "180";
    ui.active.checked = true;
    ui.error.hidden = true;
    setHours(null);
    setMembers([]);
  }

  function edit(d) {
    editing = d;
    slugTouched = true;
    ui.title.textContent = `Edit ${d.name}`;
    ui.save.textContent = "Save";
    ui.cancel.hidden = false;
    ui.name.value = d.name; ui.slug.value = d.slug; ui.desc.value = d.description; ui.email.value = d.notify_email;
    ui.zone.value = d.timezone; ui.routing.value = d.routing;
    ui.slaMed.value = String(d.sla_medium_s); ui.slaHigh.value = String(d.sla_high_s);
    ui.active.checked = d.active;
    ui.error.hidden = true;
    setHours(d.hours);
    setMembers(d.members);
    ui.name.focus();
  }

  ui.always.addEventListener("change", () => {
    ui.ranges.hidden = ui.always.checked;
    ui.addRange.hidden = ui.always.checked;
    if (!ui.always.checked && !ui.ranges.children.length) {
      for (const day of DAYS.slice(0, 5)) ui.ranges.append(rangeRow({ day, open: "09:00", close: "17:00" }));
    }
  });
  ui.addRange.addEventListener("click", () => ui.ranges.append(rangeRow({ day: "mon", open: "09:00", close: "17:00" })));
  ui.slug.addEventListener("input", () => { slugTouched = true; });
  ui.name.addEventListener("input", () => {
    if (!slugTouched && !editing) ui.slug.value = ui.name.value.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 48);
  });
  ui.cancel.addEventListener("click", resetForm);

  ui.form.addEventListener("submit", async (e) => {
    e.preventDefault();
    ui.error.hidden = true;
    ui.saved.hidden = true;
    const body = {
      name: ui.name.value.trim(), slug: ui.slug.value.trim(), description: ui.desc.value.trim(),
      notify_email: ui.email.value.trim(), timezone: ui.zone.value.trim(), routing: ui.routing.value,
      sla_medium_s: Number(ui.slaMed.value), sla_high_s: Number(ui.slaHigh.value), hours: readHours(),
    };
    if (!editing || !editing.is_default) body.active = ui.active.checked;
    const members = readMembers();
    ui.save.disabled = true;
    try {
      let d = editing ? await ctx.api("PATCH", `/v1/departments/${editing.id}`, body)
        : await ctx.api("POST", "/v1/departments", body);
      const before = [...(editing ? editing.members : [])].sort().join();
      if ([...members].sort().join() !== before) d = await ctx.api("PUT", `/v1/departments/${d.id}/members`, { agent_ids: members });
      replace(d);
      ui.saved.hidden = false;
      resetForm();
    } catch (err) {
      const names = { name: "Name", slug: "Slug", hours: "Business hours", timezone: "Time zone", routing: "Routing",
        sla_medium_s: "Medium after", sla_high_s: "High after", notify_email: "Notification email",
        description: "Description", agent_ids: "Members", active: "Active" };
      ui.error.textContent = err.field ? `${names[err.field] || err.field}: ${err.message}` : err.message;
      ui.error.dataset.code = err.code || "";
      ui.error.hidden = false;
    } finally { ui.save.disabled = false; }
  });

  return {
    show() { return load(); },
    reset() { depts.length = 0; users.clear(); ui.list.replaceChildren(); editing = null; ui.error.hidden = true; },
  };
}
