// Replies & tags page of the agent console: canned responses (everyone:
// their own at /v1/me/canned; admins and owners also the tenant's at
// /v1/canned), the tenant's tag list (everyone reads, admins edit) and the
// custom attribute definitions (admins). Every user-provided string is put
// in the page as text (textContent), never as HTML; the server decides
// every rule and its errors are shown as they come.

import { canEditSettings } from "./roles.js";

const TYPES = ["text", "number", "boolean", "date"];

export function createToolsPage(ctx) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    cannedForm: $("canned-form"), cannedId: $("canned-id"), cannedCode: $("canned-code"), cannedTitle: $("canned-title"),
    cannedBody: $("canned-body"), cannedScope: $("canned-scope"), cannedSubmit: $("canned-submit"),
    cannedCancel: $("canned-cancel"), cannedError: $("canned-error"), cannedList: $("canned-list"),
    cannedEmpty: $("canned-empty"),
    tagForm: $("tag-form"), tagName: $("tag-name"), tagColor: $("tag-color"), tagError: $("tag-error"),
    tagList: $("tag-list"), tagEmpty: $("tag-empty"),
    attrCard: $("attr-card"), attrForm: $("attr-form"), attrOwner: $("attr-owner"), attrKey: $("attr-key"),
    attrLabel: $("attr-label"), attrType: $("attr-type"), attrError: $("attr-error"), attrList: $("attr-list"),
    attrEmpty: $("attr-empty"),
  };
  const admin = () => canEditSettings((ctx.user() || {}).role);
  const fail = (node, err) => {
    node.textContent = err.field ? `${err.field}: ${err.message}` : err.message;
    node.hidden = false;
  };

  // ---------------------------------------------------------------- canned
  let canned = [];
  async function loadCanned() {
    try { canned = (await ctx.api("GET", "/v1/canned")).data || []; } catch (err) { ctx.showError(`Could not load the canned responses: ${err.message}`); }
    renderCanned();
  }
  function mayEdit(c) { return c.scope === "personal" ? c.owner_id === (ctx.user() || {}).id : admin(); }
  function cannedPath(c) { return c.scope === "personal" ? `/v1/me/canned/${encodeURIComponent(c.id)}` : `/v1/canned/${encodeURIComponent(c.id)}`; }
  function renderCanned() {
    ui.cannedList.replaceChildren(...canned.map((c) => {
      const tr = ctx.el("tr", { "data-testid": "canned-row", "data-id": c.id, "data-shortcode": c.shortcode });
      const actions = ctx.el("td", { class: "actions" });
      if (mayEdit(c)) {
        const edit = ctx.el("button", { type: "button", "data-testid": "canned-edit" }, "Edit");
        edit.addEventListener("click", () => {
          ui.cannedId.value = c.id; ui.cannedCode.value = c.shortcode; ui.cannedTitle.value = c.title; ui.cannedBody.value = c.body;
          ui.cannedScope.value = c.scope; ui.cannedScope.disabled = true; ui.cannedSubmit.textContent = "Save"; ui.cannedCancel.hidden = false;
        });
        const del = ctx.el("button", { type: "button", "data-testid": "canned-delete" }, "Delete");
        del.addEventListener("click", async () => {
          del.disabled = true;
          try { await ctx.api("DELETE", cannedPath(c)); await loadCanned(); } catch (err) { ctx.showError(err.message); del.disabled = false; }
        });
        actions.append(edit, del);
      }
      tr.append(ctx.el("td", { class: "mono" }, `/${c.shortcode}`), ctx.el("td", { "data-testid": "canned-title" }, c.title),
        ctx.el("td", { class: "canned-body" }, c.body), ctx.el("td", null, c.scope === "personal" ? "Mine" : "Team"), actions);
      return tr;
    }));
    ui.cannedEmpty.hidden = canned.length > 0;
  }
  function resetCannedForm() {
    ui.cannedForm.reset(); ui.cannedId.value = ""; ui.cannedScope.disabled = false; ui.cannedSubmit.textContent = "Add";
    ui.cannedCancel.hidden = true; ui.cannedError.hidden = true;
  }
  ui.cannedCancel.addEventListener("click", resetCannedForm);
  ui.cannedForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    ui.cannedError.hidden = true;
    const body = { shortcode: ui.cannedCode.value.trim().replace(/^\//, ""), title: ui.cannedTitle.value, body: ui.cannedBody.value };
    const id = ui.cannedId.value;
    const tenant = ui.cannedScope.value === "tenant";
    ui.cannedSubmit.disabled = true;
    try {
      if (id) await ctx.api("PATCH", cannedPath(canned.find((c) => c.id === id) || { id, scope: tenant ? "tenant" : "personal" }), body);
      else await ctx.api("POST", tenant ? "/v1/canned" : "/v1/me/canned", body);
      resetCannedForm();
      await loadCanned();
    } catch (err) { fail(ui.cannedError, err); } finally { ui.cannedSubmit.disabled = false; }
  });

  // ---------------------------------------------------------------- tags
  let tags = [];
  async function loadTags() {
    try { tags = (await ctx.api("GET", "/v1/tags")).data || []; } catch (err) { ctx.showError(`Could not load the tags: ${err.message}`); }
    renderTags();
  }
  function renderTags() {
    ui.tagList.replaceChildren(...tags.map((g) => {
      const li = ctx.el("li", { class: "tag-item", "data-testid": "tag-row", "data-id": g.id });
      const chip = ctx.el("span", { class: "tag-chip", "data-testid": "tag-name" }, g.name);
      chip.style.borderColor = g.color;
      li.append(chip);
      if (admin()) {
        const del = ctx.el("button", { type: "button", "data-testid": "tag-delete", "aria-label": `Delete tag ${g.name}` }, "Delete");
        del.addEventListener("click", async () => {
          del.disabled = true;
          try { await ctx.api("DELETE", `/v1/tags/${encodeURIComponent(g.id)}`); await loadTags(); } catch (err) { ctx.showError(err.message); del.disabled = false; }
        });
        li.append(del);
      }
      return li;
    }));
    ui.tagEmpty.hidden = tags.length > 0;
  }
  ui.tagForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    ui.tagError.hidden = true;
    try {
      await ctx.api("POST", "/v1/tags", { name: ui.tagName.value, color: ui.tagColor.value });
      ui.tagName.value = "";
      await loadTags();
    } catch (err) { fail(ui.tagError, err); }
  });

  // ---------------------------------------------------------------- attributes
  let defs = [];
  async function loadDefs() {
    try { defs = (await ctx.api("GET", "/v1/attributes")).data || []; } catch (err) { ctx.showError(`Could not load the attributes: ${err.message}`); }
    renderDefs();
  }
  function renderDefs() {
    ui.attrList.replaceChildren(...defs.map((d) => {
      const tr = ctx.el("tr", { "data-testid": "attr-row", "data-id": d.id, "data-key": d.key });
      const type = ctx.el("select", { "data-testid": "attr-type-cell", "aria-label": `Type of ${d.key}` });
      type.append(...TYPES.map((t) => ctx.el("option", { value: t }, t)));
      type.value = d.type;
      type.addEventListener("change", async () => {
        const path = `/v1/attributes/${encodeURIComponent(d.id)}`;
        try {
          await ctx.api("PATCH", path, { type: type.value });
        } catch (err) {
          if (err.code !== "attribute_in_use") { ctx.showError(err.message); type.value = d.type; return; }
          // values exist: say what happens to them and ask
          if (!window.confirm(`${err.message}\n\nChange the type and drop the values that do not fit?`)) { type.value = d.type; return; }
          try {
            const r = await ctx.api("PATCH", `${path}?convert=drop`, { type: type.value });
            ctx.showError(`${d.key} is now ${r.type}; ${r.dropped} value(s) dropped.`);
          } catch (err2) { ctx.showError(err2.message); type.value = d.type; return; }
        }
        await loadDefs();
      });
      const del = ctx.el("button", { type: "button", "data-testid": "attr-delete" }, "Delete");
      del.addEventListener("click", async () => {
        try { await ctx.api("DELETE", `/v1/attributes/${encodeURIComponent(d.id)}`); await loadDefs(); } catch (err) { ctx.showError(err.message); }
      });
      const tdType = ctx.el("td"); tdType.append(type);
      const tdAct = ctx.el("td", { class: "actions" }); tdAct.append(del);
      tr.append(ctx.el("td", null, d.owner), ctx.el("td", { class: "mono" }, d.key), ctx.el("td", null, d.label), tdType, tdAct);
      return tr;
    }));
    ui.attrEmpty.hidden = defs.length > 0;
  }
  ui.attrForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    ui.attrError.hidden = true;
    const body = { owner: ui.attrOwner.value, key: ui.attrKey.value.trim(), type: ui.attrType.value };
    if (ui.attrLabel.value.trim()) body.label = ui.attrLabel.value.trim();
    try { await ctx.api("POST", "/v1/attributes", body); ui.attrForm.reset(); await loadDefs(); } catch (err) { fail(ui.attrError, err); }
  });

  return {
    show() {
      const a = admin();
      ui.cannedScope.querySelector("option[value=tenant]").hidden = !a;
      ui.tagForm.hidden = !a;
      ui.attrCard.hidden = !a;
      return Promise.all([loadCanned(), loadTags(), a ? loadDefs() : null]);
    },
    reset() { canned = []; tags = []; defs = []; ui.cannedList.replaceChildren(); ui.tagList.replaceChildren(); ui.attrList.replaceChildren(); },
  };
}
