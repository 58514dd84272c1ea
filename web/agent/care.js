// The visitor's side of a conversation in the agent console: the rating
// (score, comment, who had the conversation then), the transcript
// downloads (HTML, text, JSON: GET /v1/conversations/{id}/transcript) and
// the visitor profile panel (GET/PATCH /v1/visitors/{id}: name, email,
// phone, notes, and the custom attributes the tenant defined for visitors,
// one input each by type: text, number, yes/no, date; an empty input
// removes the value; the server checks them and its error is shown).
// Values people typed are only ever set with textContent or as input
// values.

const FORMATS = [["html", "HTML"], ["text", "Text"], ["json", "JSON"]];

export function createConversationCare(ctx) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    rating: $("conv-rating"), downloads: $("transcript-downloads"), profileBtn: $("profile-button"),
    panel: $("visitor-panel"), name: $("visitor-name"), email: $("visitor-email"),
    phone: $("visitor-phone"), notes: $("visitor-notes"), error: $("visitor-error"), saved: $("visitor-saved"),
    close: $("visitor-close"), attrs: $("visitor-attrs"),
  };
  let attrInputs = [];   // [{def, input, was}] of the panel shown
  const details = new Map();   // conversation id -> rating details (GET /v1/conversations/{id})
  let shownVisitor = null;

  for (const [fmt, label] of FORMATS) {
    const b = ctx.el("button", { type: "button", "data-testid": `transcript-${fmt}`, "data-format": fmt },
      `Transcript (${label})`);
    b.addEventListener("click", () => download(fmt, b));
    ui.downloads.append(b);
  }

  async function download(fmt, btn) {
    const c = ctx.current();
    if (!c) return;
    btn.disabled = true;
    try {
      const res = await ctx.fetchAuthed(`/v1/conversations/${encodeURIComponent(c.id)}/transcript?format=${fmt}`);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const url = URL.createObjectURL(await res.blob());
      const a = ctx.el("a", { href: url, download: `conversation-${c.id}.${fmt === "text" ? "txt" : fmt}` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      ctx.showError(`The transcript could not be downloaded: ${err.message}`);
    } finally {
      btn.disabled = false;
    }
  }

  function stars(n) {
    return "\u2605".repeat(n) + "\u2606".repeat(5 - n);
  }

  function renderRating(c) {
    const d = c.rating_details || details.get(c.id);
    if (c.rating_details) details.set(c.id, c.rating_details);
    ui.rating.replaceChildren();
    ui.rating.hidden = !c.rating;
    if (!c.rating) return;
    ui.rating.dataset.score = String(c.rating);
    ui.rating.append(ctx.el("span", { class: "stars", "data-testid": "rating-stars", title: `${c.rating} of 5` },
      stars(c.rating)));
    if (d && d.comment) ui.rating.append(ctx.el("span", { class: "comment", "data-testid": "rating-comment" }, d.comment));
    if (d && d.agent && d.agent.name) ui.rating.append(ctx.el("span", { class: "muted" }, `(${d.agent.name})`));
    if (!d) loadDetails(c.id);
  }

  async function loadDetails(id) {
    try {
      const c = await ctx.api("GET", `/v1/conversations/${encodeURIComponent(id)}`);
      if (c && c.rating_details) {
        details.set(id, c.rating_details);
        const cur = ctx.current();
        if (cur && cur.id === id) renderRating(cur);
      }
    } catch { /* the score stays shown */ }
  }

  function render(c) {
    if (!c) return;
    renderRating(c);
    if (shownVisitor && (!c.visitor || c.visitor.id !== shownVisitor)) hidePanel();
  }

  // A rating event arrived: the details are new.
  function onRating(ev) {
    details.set(ev.conversation_id, { score: ev.score, comment: ev.comment || "", agent: null });
    const c = ctx.current();
    if (c && c.id === ev.conversation_id) loadDetails(c.id);
  }

  function hidePanel() {
    ui.panel.hidden = true;
    shownVisitor = null;
  }

  async function showPanel() {
    const c = ctx.current();
    if (!c || !c.visitor || !c.visitor.id) return;
    ui.error.hidden = true;
    ui.saved.hidden = true;
    try {
      const [v, defs] = await Promise.all([ctx.api("GET", `/v1/visitors/${encodeURIComponent(c.visitor.id)}`),
        ctx.api("GET", "/v1/attributes?owner=visitor")]);
      ui.name.value = v.name || "";
      ui.email.value = v.email || "";
      ui.phone.value = v.phone || "";
      ui.notes.value = v.notes || "";
      renderAttrs((defs && defs.data) || [], v.attributes || {});
      shownVisitor = v.id;
      ui.panel.hidden = false;
    } catch (err) {
      ctx.showError(`The visitor's profile could not be loaded: ${err.message}`);
    }
  }

  // One input per definition, by its type. Numbers are typed as text so
  // that what the agent wrote reaches the server, which says what is wrong.
  function attrInput(d, value) {
    const attrs = { "data-testid": `visitor-attr-${d.key}`, "data-key": d.key, "data-type": d.type };
    if (d.type === "boolean") {
      const sel = ctx.el("select", attrs);
      sel.append(ctx.el("option", { value: "" }, "—"), ctx.el("option", { value: "true" }, "Yes"),
        ctx.el("option", { value: "false" }, "No"));
      sel.value = value === true ? "true" : value === false ? "false" : "";
      return sel;
    }
    const type = d.type === "date" ? "date" : "text";
    const input = ctx.el("input", { ...attrs, type, ...(d.type === "number" ? { inputmode: "decimal" } : {}) });
    input.value = value == null ? "" : String(value);
    return input;
  }

  function renderAttrs(defs, values) {
    attrInputs = defs.map((d) => ({ def: d, input: attrInput(d, values[d.key]), was: values[d.key] ?? null }));
    ui.attrs.replaceChildren(ctx.el("legend", null, "Custom attributes"), ...attrInputs.map(({ def, input }) => {
      const label = ctx.el("label", null, `${def.label || def.key} `);
      label.append(input);
      return label;
    }));
    ui.attrs.hidden = !defs.length;
  }

  // The value an input holds, as its type's JSON (null: none).
  function attrValue({ def, input }) {
    const raw = input.value.trim();
    if (raw === "") return null;
    if (def.type === "boolean") return raw === "true";
    if (def.type === "number") {
      const n = Number(raw);
      return raw !== "" && Number.isFinite(n) ? n : raw;   // not a number: sent as typed, refused by the server
    }
    return def.type === "text" ? input.value : raw;
  }

  // The attributes that differ from what was loaded.
  function attrPatch() {
    const patch = {};
    for (const a of attrInputs) {
      a.input.removeAttribute("aria-invalid");
      const v = attrValue(a);
      if (v !== a.was) patch[a.def.key] = v;
    }
    return patch;
  }

  ui.profileBtn.addEventListener("click", () => (ui.panel.hidden ? showPanel() : hidePanel()));
  ui.close.addEventListener("click", hidePanel);
  ui.panel.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!shownVisitor) return;
    ui.error.hidden = true;
    ui.saved.hidden = true;
    const body = { name: ui.name.value.trim(), email: ui.email.value.trim(), phone: ui.phone.value.trim(),
      notes: ui.notes.value };
    const attributes = attrPatch();
    if (Object.keys(attributes).length) body.attributes = attributes;
    try {
      const v = await ctx.api("PATCH", `/v1/visitors/${encodeURIComponent(shownVisitor)}`, body);
      ui.name.value = v.name;
      ui.email.value = v.email;
      ui.phone.value = v.phone;
      ui.notes.value = v.notes;
      renderAttrs(attrInputs.map((a) => a.def), v.attributes || {});
      ui.saved.hidden = false;
    } catch (err) {
      ui.error.textContent = err.message;
      ui.error.hidden = false;
      // the server names the attribute it refused first in its message ("key: ...")
      const bad = attrInputs.find((a) => String(err.message || "").startsWith(`${a.def.key}:`));
      if (bad) bad.input.setAttribute("aria-invalid", "true");
    }
  });

  return { render, onRating };
}
