// The agents' tools in the conversation pane: the tag editor (the
// conversation's tags as chips, a select to add one of the tenant's tags,
// a remove button per chip; the server stores each change as an agent-only
// event), the unread-mentions badge in the top bar (GET /v1/mentions,
// bumped by live `mention` frames, cleared with POST /v1/mentions/read
// when the conversation is opened) and the lines shown for tag and
// attribute events. Text only: tag names and values go in as textContent.

export function createConvTools(opts) {
  const { api, el, showError } = opts;
  const head = document.querySelector("#conversation .conv-head");
  const box = el("div", { class: "conv-tags", "data-testid": "conversation-tags" });
  const chips = el("span", { class: "tag-list" });
  const add = el("select", { "data-testid": "tag-add", "aria-label": "Add a tag" });
  box.append(chips, add);
  head.after(box);
  const badge = el("a", { class: "mention-badge", href: "#inbox", "data-testid": "mention-badge", title: "Unread mentions", hidden: "" });
  document.getElementById("me").before(badge);

  let tags = null; // the tenant's tag list: id -> tag
  let current = null;
  let unread = [];

  async function tagList(force) {
    if (!tags || force) {
      const res = await api("GET", "/v1/tags").catch(() => null);
      tags = new Map(((res && res.data) || []).map((g) => [g.id, g]));
    }
    return tags;
  }

  async function render(c) {
    current = c;
    if (!c) return;
    const list = await tagList();
    if (current !== c) return;
    const ids = (c.tags || []).filter((id) => list.has(id)); // ids of deleted tags are left out
    chips.replaceChildren(...ids.map((id) => {
      const g = list.get(id);
      const chip = el("span", { class: "tag-chip", "data-testid": "conversation-tag", "data-id": id }, g.name);
      chip.style.borderColor = g.color;
      const x = el("button", { type: "button", class: "tag-remove", "data-testid": "tag-remove", "aria-label": `Remove tag ${g.name}` }, "×");
      x.addEventListener("click", () => change(c.id, id, false));
      chip.append(x);
      return chip;
    }));
    add.replaceChildren(el("option", { value: "" }, "+ Tag"),
      ...[...list.values()].filter((g) => !ids.includes(g.id)).map((g) => el("option", { value: g.id }, g.name)));
  }

  async function change(convId, tagId, on) {
    try {
      const c = await api(on ? "POST" : "DELETE", `/v1/conversations/${encodeURIComponent(convId)}/tags/${encodeURIComponent(tagId)}`);
      if (c && c.id) opts.upsert(c);
    } catch (err) { showError(`Could not change the tags: ${err.message}`); }
  }
  add.addEventListener("focus", () => { tagList(true).then(() => { if (current) render(current); }); });
  add.addEventListener("change", () => {
    const v = add.value;
    add.value = "";
    if (v && current) change(current.id, v, true);
  });

  function renderBadge() {
    badge.textContent = unread.length ? `@ ${unread.length}` : "";
    badge.hidden = unread.length === 0;
    badge.dataset.count = String(unread.length);
  }

  async function loadMentions() {
    try {
      const res = await api("GET", "/v1/mentions");
      unread = ((res && res.data) || []).map((m) => ({ conversation_id: m.conversation_id, seq: m.seq }));
      renderBadge();
    } catch { /* the badge waits for the next frame */ }
  }

  badge.addEventListener("click", (e) => {
    e.preventDefault();
    if (unread.length) opts.open(unread[0].conversation_id);
  });

  return {
    // the conversation in the pane changed, or its record did
    show(c) { render(c); },
    // a tag event of a conversation (live or replayed, in seq order)
    onTag(c, ev, shown) {
      if (!c) return;
      const ids = (c.tags || []).filter((t) => t !== ev.tag_id);
      if (ev.added) ids.push(ev.tag_id);
      c.tags = ids;
      if (shown) render(c);
    },
    // the agent opened a conversation: its mentions are read
    opened(id) {
      if (!unread.some((m) => m.conversation_id === id)) return;
      unread = unread.filter((m) => m.conversation_id !== id);
      renderBadge();
      api("POST", "/v1/mentions/read", { conversation_id: id }).catch(() => {});
    },
    // {type:"mention", conversation_id, seq, by}
    onMention(f) {
      if (opts.currentId() === f.conversation_id && document.visibilityState === "visible") {
        api("POST", "/v1/mentions/read", { conversation_id: f.conversation_id }).catch(() => {});
        return;
      }
      unread.push({ conversation_id: f.conversation_id, seq: f.seq });
      renderBadge();
    },
    // the session (re)started
    start() { tags = null; loadMentions(); },
    reset() { tags = null; unread = []; current = null; renderBadge(); chips.replaceChildren(); },
    // the line of an agent-only tag or attribute event
    label(ev) {
      const who = (ev.sender && ev.sender.name) || "An agent";
      if (ev.kind === "tag") {
        const g = tags && tags.get(ev.tag_id);
        return `${who} ${ev.added ? "added" : "removed"} the tag ${g ? g.name : "(deleted tag)"}`;
      }
      if (ev.kind === "attrs") {
        const parts = Object.entries(ev.attributes || {}).map(([k, v]) => (v === null ? `${k} removed` : `${k} = ${v}`));
        return `${who} set ${parts.join(", ") || "no attributes"}`;
      }
      return null;
    },
  };
}
