/* transcript — rendering a conversation's history (see transcript.h). */
#include "actors/transcripts/transcript.h"
#include "actors/conversations/view.h"
#include "actors/email/mime.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/jw.h"
#include "storage/conv_store.h"

#include <stdio.h>
#include <string.h>

int transcript_format_parse(const char *s)
{
	static const char *const names[] = { "json", "text", "html" };
	for (int i = 0; i < TF__COUNT; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

const char *transcript_ctype(int format)
{
	return format == TF_HTML ? "text/html; charset=utf-8"
	       : format == TF_TEXT ? "text/plain; charset=utf-8"
				   : "application/json";
}

const char *transcript_ext(int format)
{
	return format == TF_HTML ? "html" : format == TF_TEXT ? "txt" : "json";
}

bool transcript_visitor_sees(int kind)
{
	return !view_event_agents_only(kind) && (kind == EK_CREATED || kind == EK_MESSAGE || kind == EK_STATUS ||
						 kind == EK_ASSIGNED || kind == EK_RATING);
}

/* ------------------------------------------------------------------ escaping */

static int html_esc(buf *b, const char *s)
{
	return mime_html_escape(b, s) ? 1 : 0;
}

/* Plain text: control characters other than newlines become spaces, and
 * continuation lines are indented so a message cannot pose as another. */
static int text_esc(buf *b, const char *s)
{
	int rc = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
		if (*p == '\n')
			rc |= buf_puts(b, "\n    ");
		else if (*p < ' ' || *p == 0x7f)
			rc |= buf_puts(b, " ");
		else
			rc |= buf_append(b, p, 1);
	}
	return rc;
}

static void when(int64_t ms, char out[32])
{
	clock_iso8601(ms, out);
	char *dot = strchr(out, '.');   /* to the second: "2026-12-07 03:00:00 UTC" */
	if (dot)
		strcpy(dot, " UTC");
	char *t = strchr(out, 'T');
	if (t)
		*t = ' ';
}

/* What happened, as a sentence after the sender's name (no user text). */
static void action(const rec_event *e, char *out, size_t cap)
{
	switch (e->kind) {
	case EK_CREATED: snprintf(out, cap, "started the conversation"); break;
	case EK_STATUS: snprintf(out, cap, "set the status to %s", rec_status_name(e->status)); break;
	case EK_ASSIGNED: snprintf(out, cap, e->assignee_id ? "assigned the conversation to" : "unassigned the conversation"); break;
	case EK_TRANSFER: snprintf(out, cap, "transferred the conversation"); break;
	case EK_PRIORITY: snprintf(out, cap, "set the priority to %s", rec_priority_name(e->priority)); break;
	case EK_TAG: {
		char ids[24];
		snprintf(out, cap, "%s tag %s", e->flag ? "added" : "removed", id_str(e->tag_id, ids));
		break;
	}
	case EK_RATING: snprintf(out, cap, "rated the conversation %u/5", (unsigned)e->score); break;
	case EK_PROFILE: snprintf(out, cap, "changed the visitor's profile"); break;
	case EK_ATTRS: snprintf(out, cap, "changed the custom attributes"); break;
	default: snprintf(out, cap, "%s", rec_kind_name(e->kind)); break;
	}
}

/* ------------------------------------------------------------------ the walk */

typedef struct {
	const transcript_opts *o;
	transcript_info *info;
	buf *out;
	buf one;                   /* the event being rendered */
	size_t piece;              /* stop once out holds this much */
	uint64_t cursor;           /* the last event read */
	bool stopped;              /* stopped at the piece's size */
	int rc;
} walk;

static int render_json(buf *b, const rec_event *e)
{
	return view_event_write(e, b);
}

static int render_text(buf *b, const rec_event *e)
{
	char at[32], what[96];
	when(e->created_ms, at);
	int rc = buf_printf(b, "[%s] ", at) | text_esc(b, e->sender_name[0] ? e->sender_name : rec_sender_name(e->sender_type));
	if (e->kind == EK_MESSAGE || e->kind == EK_NOTE) {
		rc |= buf_puts(b, e->kind == EK_NOTE ? " (private note): " : ": ") | text_esc(b, e->text);
		for (int i = 0; i < e->files.n && i < REC_FILES_MAX; i++)
			rc |= buf_puts(b, "\n    [file] ") | text_esc(b, e->files.f[i].name) |
			      buf_printf(b, " (%llu bytes)", (unsigned long long)e->files.f[i].size);
	} else {
		action(e, what, sizeof what);
		rc |= buf_printf(b, " %s", what);
		if (e->kind == EK_ASSIGNED && e->assignee_id)
			rc |= buf_puts(b, " ") | text_esc(b, e->assignee_name);
		if ((e->kind == EK_RATING || e->kind == EK_TRANSFER) && e->text[0])
			rc |= buf_puts(b, ": ") | text_esc(b, e->text);
	}
	return rc | buf_puts(b, "\n");
}

static int render_html(buf *b, const rec_event *e)
{
	char at[32], what[96];
	when(e->created_ms, at);
	const char *cls = e->kind == EK_NOTE ? "note" : e->kind == EK_MESSAGE ? rec_sender_name(e->sender_type) : "event";
	int rc = buf_printf(b, "<div class=\"ev %s\"><div class=\"meta\"><b>", cls) |
		 html_esc(b, e->sender_name[0] ? e->sender_name : rec_sender_name(e->sender_type)) |
		 buf_printf(b, "</b> <time>%s</time>%s</div>", at, e->kind == EK_NOTE ? " <em>private note</em>" : "");
	if (e->kind == EK_MESSAGE || e->kind == EK_NOTE) {
		rc |= buf_puts(b, "<div class=\"text\">") | html_esc(b, e->text) | buf_puts(b, "</div>");
		for (int i = 0; i < e->files.n && i < REC_FILES_MAX; i++)
			rc |= buf_puts(b, "<div class=\"file\">") | html_esc(b, e->files.f[i].name) |
			      buf_printf(b, " (%llu bytes)</div>", (unsigned long long)e->files.f[i].size);
	} else {
		action(e, what, sizeof what);
		rc |= buf_printf(b, "<div class=\"text\">%s", what);
		if (e->kind == EK_ASSIGNED && e->assignee_id)
			rc |= buf_puts(b, " ") | html_esc(b, e->assignee_name);
		if ((e->kind == EK_RATING || e->kind == EK_TRANSFER) && e->text[0])
			rc |= buf_puts(b, ": ") | html_esc(b, e->text);
		rc |= buf_puts(b, "</div>");
	}
	return rc | buf_puts(b, "</div>\n");
}

/* Room kept at the cap for the document's end and the truncation note. */
#define TAIL_ROOM 512

static bool step(void *arg, uint64_t seq, const rec_event *e)
{
	walk *w = arg;
	if (!e || (!w->o->agents && !transcript_visitor_sees(e->kind))) {
		w->cursor = seq;
		return true;
	}
	w->one.len = 0;
	int rc = w->o->format == TF_JSON   ? (w->info->events ? buf_puts(&w->one, ",") : 0) | render_json(&w->one, e)
		 : w->o->format == TF_TEXT ? render_text(&w->one, e)
					   : render_html(&w->one, e);
	if (rc) {
		w->rc = STORE_ENOMEM;
		return false;
	}
	if (w->o->cap && w->out->len + w->one.len + TAIL_ROOM > w->o->cap) {
		w->info->truncated = true;
		w->info->next_after_seq = seq - 1;
		return false;
	}
	if (buf_append(w->out, w->one.data, w->one.len) < 0) {
		w->rc = STORE_ENOMEM;
		return false;
	}
	w->info->events++;
	w->cursor = seq;
	if (w->out->len >= w->piece) {
		w->stopped = true;
		return false;
	}
	return true;
}

static const char CSS[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2430;background:#f6f7fb;"
	"margin:0;padding:24px}"
	".doc{max-width:760px;margin:0 auto;background:#fff;border:1px solid #e3e6ee;border-radius:8px;padding:20px 24px}"
	"h1{font-size:18px;margin:0 0 4px}.sub{color:#6b7380;font-size:12px;margin:0 0 16px}"
	".ev{padding:8px 0;border-top:1px solid #eef0f5}.meta{font-size:12px;color:#6b7380}"
	".meta b{color:#1d2430}.text{white-space:pre-wrap;word-wrap:break-word;margin-top:2px}"
	".ev.visitor .meta b{color:#3554d1}.ev.event .text{color:#6b7380;font-style:italic}"
	".ev.note{background:#fff8e1;padding:8px}.file{font-size:12px;color:#6b7380}"
	".cut{margin-top:12px;color:#a01c20;font-size:12px}";

int transcript_head(buf *b, const rec_tenant *t, const rec_conv *c, const transcript_opts *o)
{
	char ids[24], at[32];
	id_str(c->id, ids);
	when(c->created_ms, at);
	const char *who = c->visitor_name[0] ? c->visitor_name : "Visitor";
	switch (o->format) {
	case TF_JSON:
		return buf_puts(b, "{\"conversation\":") | view_conv_write(c, b) | buf_puts(b, ",\"workspace\":") |
		       jw_cstr(b, t->name) | buf_puts(b, ",\"version\":") | jw_cstr(b, o->agents ? "agents" : "visitor") |
		       buf_puts(b, ",\"events\":[");
	case TF_TEXT:
		return buf_puts(b, "Conversation ") | buf_puts(b, ids) | buf_puts(b, " with ") | text_esc(b, who) |
		       buf_puts(b, " (") | text_esc(b, t->name) | buf_printf(b, "), started %s\n\n", at);
	default: {
		int rc = 0;
		if (!o->fragment)
			rc |= buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
					  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
					  "style-src 'unsafe-inline'\"><title>Conversation ") |
			      buf_puts(b, ids) | buf_puts(b, "</title><style>") | buf_puts(b, CSS) |
			      buf_puts(b, "</style></head><body>");
		return rc | buf_puts(b, "<div class=\"doc\"><h1>Conversation with ") | html_esc(b, who) |
		       buf_puts(b, "</h1><p class=\"sub\">") | html_esc(b, t->name) |
		       buf_printf(b, " &middot; conversation %s &middot; started %s</p>\n", ids, at);
	}
	}
}

int transcript_tail(buf *b, const transcript_opts *o, const transcript_info *info)
{
	switch (o->format) {
	case TF_JSON:
		return buf_printf(b, "],\"truncated\":%s,\"next_after_seq\":", info->truncated ? "true" : "false") |
		       (info->truncated ? jw_u64(b, info->next_after_seq) : buf_puts(b, "null")) | buf_puts(b, "}");
	case TF_TEXT:
		return info->truncated ? buf_printf(b, "\n[The transcript stops here: it is too long for one document; "
						    "the rest follows seq %llu.]\n",
						    (unsigned long long)info->next_after_seq)
				       : 0;
	default: {
		int rc = info->truncated ? buf_printf(b, "<p class=\"cut\">The transcript stops here: it is too long for "
							 "one document; the rest follows seq %llu.</p>",
						      (unsigned long long)info->next_after_seq)
					 : 0;
		return rc | buf_puts(b, o->fragment ? "</div>\n" : "</div></body></html>\n");
	}
	}
}

int transcript_render(store_txn *tx, const rec_tenant *t, const rec_conv *c, const transcript_opts *o, buf *out,
		      transcript_info *info)
{
	memset(info, 0, sizeof *info);
	if (transcript_head(out, t, c, o))
		return STORE_ENOMEM;
	walk w = { .o = o, .info = info, .out = out, .piece = SIZE_MAX };
	int rc = convstore_each_event(tx, c->tid, c->id, o->after_seq, c->last_seq, SIZE_MAX, step, &w);
	buf_free(&w.one);
	if (rc == 0)
		rc = w.rc;
	if (rc == 0 && transcript_tail(out, o, info))
		rc = STORE_ENOMEM;
	return rc;
}

int transcript_events(store_txn *tx, uint64_t tid, uint64_t cid, const transcript_opts *o, uint64_t *cursor,
		      uint64_t upto, size_t piece, buf *out, transcript_info *info, bool *done)
{
	transcript_opts po = *o;
	po.cap = 0;   /* pieces are bounded by `piece`, the document by nothing */
	walk w = { .o = &po, .info = info, .out = out, .piece = piece, .cursor = *cursor };
	*done = false;
	int rc = *cursor >= upto ? 0 : convstore_each_event(tx, tid, cid, *cursor, upto, SIZE_MAX, step, &w);
	buf_free(&w.one);
	if (rc == 0)
		rc = w.rc;
	if (rc == 0) {
		*cursor = w.cursor;
		*done = !w.stopped;
	}
	return rc;
}
