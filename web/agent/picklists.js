// The composer's pick lists: "/" at the start of the reply box lists the
// canned responses the agent may use (GET /v1/canned: the team's and their
// own), filtered by shortcode or word prefix as they type; choosing one
// puts its text in the box with the placeholders the console knows filled
// in, and the reply is then sent with `canned_id` so the server fills them
// in (unless the agent edited the text: then the text is sent as it is).
// "@" in a note lists the team (GET /v1/users); choosing inserts "@Name"
// and the note is sent with `mentions` for the names still in it.
// Arrow keys move, Enter or Tab choose, Escape closes. Text only: every
// name and title is put in the page with textContent.

const PLACEHOLDER = /\{\{\s*([a-z.]+)\s*\}\}/g;

export function expandPreview(body, vars) {
  return body.replace(PLACEHOLDER, (all, name) => (name in vars ? vars[name] : all));
}

export function createPicklists(opts) {
  const { input, anchor, api, el } = opts;
  const list = el("ul", { class: "picklist", role: "listbox", "data-testid": "picklist", hidden: "" });
  anchor.style.position = "relative";
  anchor.append(list);
  let items = [];
  let sel = 0;
  let mode = null; // "canned" | "mention"
  let canned = null; // cached GET /v1/canned
  let users = null; // cached GET /v1/users
  let chosen = null; // { id, text } of the canned response in the box
  const mentioned = new Map(); // "@Name" -> user id

  async function loadCanned() {
    if (!canned) canned = ((await api("GET", "/v1/canned")) || {}).data || [];
    return canned;
  }
  async function loadUsers() {
    if (!users) users = (((await api("GET", "/v1/users")) || {}).data || []).filter((u) => u.active !== false);
    return users;
  }

  function close() { list.hidden = true; list.replaceChildren(); items = []; mode = null; }

  function render() {
    list.replaceChildren(...items.map((it, i) => {
      const li = el("li", { role: "option", "data-testid": mode === "canned" ? "canned-option" : "mention-option",
        "aria-selected": String(i === sel), "data-value": it.key });
      li.append(el("strong", null, it.label), el("span", { class: "muted" }, ` ${it.hint || ""}`));
      li.addEventListener("mousedown", (e) => { e.preventDefault(); choose(i); });
      return li;
    }));
    list.hidden = items.length === 0;
  }

  const words = (s) => s.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);

  async function update() {
    const v = input.value;
    const caret = input.selectionStart ?? v.length;
    const slash = /^\/([a-z0-9_-]*)$/i.exec(v);
    if (slash && !opts.isNote()) {
      const q = slash[1].toLowerCase();
      const all = await loadCanned().catch(() => []);
      mode = "canned";
      items = all.filter((c) => !q || c.shortcode.startsWith(q) || words(`${c.title} ${c.body}`).some((w) => w.startsWith(q)))
        .slice(0, 20).map((c) => ({ key: c.shortcode, label: `/${c.shortcode}`, hint: c.title, c }));
      sel = 0;
      render();
      return;
    }
    const at = /(^|\s)@([^\s@]*)$/.exec(v.slice(0, caret));
    if (at && opts.isNote()) {
      const q = at[2].toLowerCase();
      const me = (opts.user() || {}).id;
      const all = await loadUsers().catch(() => []);
      mode = "mention";
      items = all.filter((u) => u.id !== me && (!q || (u.name || "").toLowerCase().split(/\s+/).some((w) => w.startsWith(q))))
        .slice(0, 20).map((u) => ({ key: u.id, label: u.name || u.email, hint: u.role, u, start: caret - at[2].length - 1 }));
      sel = 0;
      render();
      return;
    }
    close();
  }

  function choose(i) {
    const it = items[i];
    if (!it) return;
    if (mode === "canned") {
      const text = expandPreview(it.c.body, opts.vars());
      input.value = text;
      chosen = { id: it.c.id, text };
    } else {
      const name = `@${it.label}`;
      const v = input.value;
      const caret = input.selectionStart ?? v.length;
      input.value = `${v.slice(0, it.start)}${name} ${v.slice(caret)}`;
      mentioned.set(name, it.u.id);
      const pos = it.start + name.length + 1;
      input.setSelectionRange(pos, pos);
    }
    close();
    input.focus();
  }

  input.addEventListener("input", () => { update(); });
  // capture: runs before the composer's own Enter-to-send
  anchor.addEventListener("keydown", (e) => {
    if (list.hidden || !items.length) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      sel = (sel + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      render();
    } else if (e.key === "Enter" || e.key === "Tab") {
      choose(sel);
    } else if (e.key === "Escape") {
      close();
    } else {
      return;
    }
    e.preventDefault();
    e.stopImmediatePropagation();
  }, true);
  input.addEventListener("blur", () => setTimeout(close, 150));

  return {
    // What to send with the text in the box: { canned_id } when it is a
    // chosen canned response unchanged, { mentions } for a note.
    take(text, note) {
      const extra = {};
      if (chosen && !note && text === chosen.text.trim()) extra.canned_id = chosen.id;
      if (note) {
        const ids = [...new Set([...mentioned].filter(([name]) => text.includes(name)).map(([, id]) => id))];
        if (ids.length) extra.mentions = ids;
      }
      chosen = null;
      mentioned.clear();
      close();
      return extra;
    },
    reset() { canned = null; users = null; chosen = null; mentioned.clear(); close(); },
  };
}
