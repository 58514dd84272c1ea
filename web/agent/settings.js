// Settings page of the agent console: the tenant's name, allowed origins,
// the chat widget's colour, greeting and position (with a live preview)
// and its time zone (GET/PATCH /v1/tenant). Shown to roles holding the
// settings permission (admins and owners). A tenant.updated notice
// (docs/realtime.md) refreshes the form unless it has unsaved edits.

const COLOR_RE = /^#[0-9a-fA-F]{6}$/;

function timeZones() {
  let zones = [];
  try { zones = Intl.supportedValuesOf("timeZone"); } catch { /* older browsers: the current value and UTC */ }
  return ["UTC", ...zones.filter((z) => z !== "UTC")];
}

export function createSettingsPage(ctx) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    view: $("settings-view"), form: $("settings-form"), name: $("set-name"), origins: $("set-origins"),
    colorPick: $("set-color-pick"), color: $("set-color"), greeting: $("set-greeting"), position: $("set-position"),
    timezone: $("set-timezone"), key: $("set-key"), note: $("settings-note"), error: $("settings-error"),
    save: $("settings-save"), saved: $("settings-saved"), preview: $("widget-preview"),
  };
  const bubble = ui.preview.querySelector(".preview-bubble");
  const launcher = ui.preview.querySelector(".preview-launcher");
  let dirty = false;
  let zonesFilled = false;

  function fillZones(current) {
    if (!zonesFilled) {
      ui.timezone.replaceChildren(...timeZones().map((z) => ctx.el("option", { value: z }, z.replaceAll("_", " "))));
      zonesFilled = true;
    }
    if (current && ![...ui.timezone.options].some((o) => o.value === current)) {
      ui.timezone.prepend(ctx.el("option", { value: current }, current.replaceAll("_", " ")));
    }
  }

  function fill(t) {
    if (!t) return;
    ui.name.value = t.name || "";
    ui.origins.value = (t.allowed_origins || []).join("\n");
    const w = t.widget || {};
    ui.color.value = w.color || "#1f6feb";
    ui.greeting.value = w.greeting || "";
    ui.position.value = w.position === "left" ? "left" : "right";
    fillZones(t.timezone);
    ui.timezone.value = t.timezone || "UTC";
    ui.key.textContent = t.widget_key || "";
    dirty = false;
    ui.note.hidden = true;
    preview();
  }

  function preview() {
    const color = COLOR_RE.test(ui.color.value.trim()) ? ui.color.value.trim() : null;
    if (color) {
      ui.colorPick.value = color.toLowerCase();
      ui.preview.style.setProperty("--widget-color", color);
    }
    ui.color.setAttribute("aria-invalid", String(!color));
    ui.preview.dataset.position = ui.position.value;
    ui.preview.dataset.color = color || "";
    bubble.textContent = ui.greeting.value;
    bubble.hidden = !ui.greeting.value.trim();
    launcher.style.background = color || "";
  }

  function edited() {
    dirty = true;
    ui.saved.hidden = true;
    preview();
  }
  for (const input of [ui.name, ui.origins, ui.color, ui.greeting, ui.position, ui.timezone]) {
    input.addEventListener("input", edited);
    input.addEventListener("change", edited);
  }
  ui.colorPick.addEventListener("input", () => { ui.color.value = ui.colorPick.value; edited(); });

  ui.form.addEventListener("submit", async (e) => {
    e.preventDefault();
    ui.error.hidden = true;
    ui.saved.hidden = true;
    const body = {
      name: ui.name.value.trim(),
      allowed_origins: ui.origins.value.split(/[\s,]+/).map((o) => o.trim()).filter(Boolean),
      widget: { color: ui.color.value.trim(), greeting: ui.greeting.value, position: ui.position.value },
      timezone: ui.timezone.value,
    };
    ui.save.disabled = true;
    try {
      const t = await ctx.api("PATCH", "/v1/tenant", body);
      ctx.tenantChanged(t);
      fill(t);
      ui.saved.hidden = false;
    } catch (err) {
      const names = { name: "Workspace name", allowed_origins: "Allowed origins", color: "Colour", greeting: "Greeting", position: "Position", timezone: "Time zone" };
      ui.error.textContent = err.field ? `${names[err.field] || err.field}: ${err.message}` : err.message;
      ui.error.hidden = false;
    } finally { ui.save.disabled = false; }
  });

  return {
    show() {
      fill(ctx.tenant());
      return ctx.loadTenant();
    },
    // the tenant as the server now has it (load, notice, our own save)
    tenantUpdated(t, fromElsewhere) {
      if (!dirty) fill(t);
      else if (fromElsewhere) {
        ui.note.textContent = "These settings were just changed in another console; saving overwrites that change.";
        ui.note.hidden = false;
      }
    },
    reset() { dirty = false; ui.note.hidden = true; ui.error.hidden = true; ui.saved.hidden = true; },
  };
}
