/* search — GET /v1/search: conversations by words in their messages and
 * notes, the visitor's name and email, tag, status, agent, department and
 * date range, combined; newest first, paged by cursor, each with the
 * newest message that matches as a snippet.
 *
 * Served on the I/O thread from one read snapshot: the word, tag, status
 * and agent filters are lists of conversation ids intersected in the index
 * (storage/search_store.h), the date range bounds the ids (they are
 * time-ordered), and only the conversations that come out of that are
 * read, to check the caller may see them (agents: their scope) and the
 * department. That check is bounded: after SEARCH_SCAN_MAX conversations
 * looked at, the page ends early with a cursor to go on from.
 */
#include "actors/conversations/access.h"
#include "actors/conversations/view.h"
#include "actors/kit/api.h"
#include "actors/kit/view.h"
#include "actors/search/query.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/text.h"
#include "storage/account_store.h"
#include "storage/conv_store.h"
#include "storage/dept_store.h"
#include "storage/search_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEARCH_SCAN_MAX 2000      /* conversations one request looks at */
#define SNIPPET_BACK    16        /* events read back from the newest for a snippet */
#define SNIPPET_BEFORE  60        /* bytes of context before the match */
#define SNIPPET_MAX     240       /* bytes of a snippet */
#define DATE_SLACK_MS   60000     /* an id's time and its record's created_ms differ by less */

typedef struct {
	search_list lists[SEARCH_LISTS_MAX];
	int n, nterms;            /* lists; the first nterms are terms */
	uint64_t from, upto;      /* id bounds */
	int64_t from_ms, to_ms;   /* created_ms bounds */
	uint64_t dept;            /* 0: any */
	bool by_dept;
} search_req;

/* ---------- parsing ---------- */

static int bad(http_req *req, int status, const char *code, const char *msg, const char *field)
{
	http_respond_error(req, status, code, msg, field);
	return -1;
}

/* An optional id parameter: 0 absent, 1 given (in *id), -1 answered. */
static int id_query(http_req *req, const char *name, uint64_t *id)
{
	char s[32];
	int n = http_query(req, name, s, sizeof s);
	if (n == -1 || n == 0)
		return 0;
	if (n < 0 || !id_parse(s, (size_t)n, id))
		return bad(req, 400, "invalid_field", "must be an id", name);
	return 1;
}

/* A date or time: "YYYY-MM-DD" (a UTC day; `to` takes in the whole day)
 * or "YYYY-MM-DDTHH:MM:SS[.fff]Z". 0 absent, 1 given, -1 answered. */
static int date_query(http_req *req, const char *name, bool end, int64_t *ms)
{
	char s[40];
	int n = http_query(req, name, s, sizeof s);
	if (n == -1 || n == 0)
		return 0;
	if (n == 10) {
		char full[64];
		snprintf(full, sizeof full, "%sT00:00:00Z", s);
		if (clock_parse_iso8601(full, strlen(full), ms) == 0) {
			if (end)
				*ms += 86400000 - 1;
			return 1;
		}
	} else if (n > 0 && clock_parse_iso8601(s, (size_t)n, ms) == 0) {
		return 1;
	}
	return bad(req, 400, "invalid_field", "must be a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDTHH:MM:SSZ)",
		   name);
}

/* A tag or department the tenant has: 0, or -1 answered (404 naming field). */
static int known(http_req *req, store_txn *t, uint64_t tid, bool tag, uint64_t id, const char *field)
{
	rec_dept d;
	int rc = tag ? searchstore_known(t, tid, SK_TAG, id) : deptstore_get(t, tid, id, &d);
	if (rc == STORE_ENOTFOUND)
		return bad(req, 404, "not_found", tag ? "no such tag" : "no such department", field);
	return rc ? bad(req, 500, "internal", "storage unavailable", NULL) : 0;
}

static bool add_list(search_req *r, uint8_t kind, uint64_t key)
{
	if (r->n == SEARCH_LISTS_MAX)
		return false;
	search_list *l = &r->lists[r->n++];
	memset(l, 0, sizeof *l);
	l->kind = kind;
	l->key = key;
	return true;
}

static int parse(http_req *req, const principal *p, store_txn *t, search_req *r, bool *any_filter)
{
	memset(r, 0, sizeof *r);
	r->upto = UINT64_MAX;
	r->to_ms = INT64_MAX;
	*any_filter = false;
	char *q = malloc(SEARCH_Q_MAX + 1);
	if (!q)
		return bad(req, 500, "internal", "out of memory", NULL);
	int n = http_query(req, "q", q, SEARCH_Q_MAX + 1);
	bool q_given = false;
	if (n == -2) {
		free(q);
		return bad(req, 400, "query_too_long", "q is longer than 1000 bytes", "q");
	}
	if (n > 0) {
		bool blank = true;
		for (int i = 0; i < n && blank; i++)
			blank = q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r';
		q_given = !blank;
		int rc = q_given ? search_parse_q(q, (size_t)n, r->lists, &r->n) : SQ_OK;
		if (rc == SQ_TOO_MANY) {
			free(q);
			return bad(req, 400, "too_many_terms", "q gives more than 24 search terms", "q");
		}
		if (rc == SQ_NOMEM) {
			free(q);
			return bad(req, 500, "internal", "out of memory", NULL);
		}
	}
	free(q);
	r->nterms = r->n;
	if (q_given && r->n == 0)
		return bad(req, 400, "empty_query", "q has no words to search for (only punctuation or operators)",
			   "q");

	uint64_t id;
	int g;
	if ((g = id_query(req, "tag", &id)) < 0)
		return -1;
	if (g) {
		if (known(req, t, p->tid, true, id, "tag") < 0)
			return -1;
		add_list(r, SL_TAG, id);
		*any_filter = true;
	}

	char s[32];
	n = http_query(req, "status", s, sizeof s);
	if (n != -1) {
		int st = n > 0 ? rec_status_parse(s) : -1;
		if (st < 0)
			return bad(req, 400, "invalid_field",
				   "status must be open, waiting, pending, snoozed, resolved or closed", "status");
		add_list(r, SL_STATUS, (uint64_t)st);
		*any_filter = true;
	}

	n = http_query(req, "agent_id", s, sizeof s);
	if (n != -1) {
		uint64_t uid = 0;
		if (n >= 0 && strcmp(s, "me") == 0) {
			if (p->kind != P_AGENT)
				return bad(req, 400, "invalid_field", "agent_id=me names a user; an API key is none",
					   "agent_id");
			uid = p->id;
		} else if (n >= 0 && strcmp(s, "none") == 0) {
			uid = 0;
		} else if (n <= 0 || !id_parse(s, (size_t)n, &uid)) {
			return bad(req, 400, "invalid_field", "agent_id must be me, none or a user id", "agent_id");
		} else {
			rec_user u;
			int rc = account_user_get(t, p->tid, uid, &u);
			if (rc == STORE_ENOTFOUND)
				return bad(req, 404, "not_found", "no such agent", "agent_id");
			if (rc)
				return bad(req, 500, "internal", "storage unavailable", NULL);
		}
		add_list(r, SL_ASSIGNEE, uid);
		*any_filter = true;
	}

	if ((g = id_query(req, "department_id", &id)) < 0)
		return -1;
	if (g) {
		if (known(req, t, p->tid, false, id, "department_id") < 0)
			return -1;
		r->by_dept = true;
		r->dept = id;
		*any_filter = true;
	}

	int64_t from_ms = 0, to_ms = 0;
	int gf = date_query(req, "from", false, &from_ms);
	if (gf < 0)
		return -1;
	int gt = date_query(req, "to", true, &to_ms);
	if (gt < 0)
		return -1;
	if (gf && gt && from_ms > to_ms)
		return bad(req, 400, "invalid_field", "from is after to", "from");
	/* ids are ms << 16 | a counter (core/id.h), taken a moment apart from
	 * created_ms: the id range, widened by DATE_SLACK_MS, bounds the walk;
	 * each hit's created_ms decides */
	if (gf) {
		r->from_ms = from_ms;
		r->from = from_ms > DATE_SLACK_MS ? (uint64_t)(from_ms - DATE_SLACK_MS) << 16 : 0;
		*any_filter = true;
	}
	if (gt) {
		r->to_ms = to_ms;
		r->upto = ((uint64_t)(to_ms + DATE_SLACK_MS) << 16) | 0xffff;
		*any_filter = true;
	}
	if ((g = id_query(req, "cursor", &id)) < 0)
		return -1;
	if (g && id - 1 < r->upto)
		r->upto = id - 1;

	if (r->n == 0 && !*any_filter)
		return bad(req, 400, "empty_query", "give words to search for (q) or a filter", "q");
	if (r->n == 0)
		add_list(r, SL_ALL, 0);
	return 0;
}

/* ---------- the walk ---------- */

typedef struct {
	http_req *req;
	const principal *p;
	store_txn *t;
	const search_req *r;
	size_t limit, scanned;
	uint64_t last;            /* the last conversation looked at */
	bool more;                /* stopped before the end: a next page exists */
	json_t *data;
	bool failed;
	rec_conv c;
	rec_event *e;             /* the event a match reads */
} walk;

static bool term_in(const search_req *r, const char *t, size_t len)
{
	for (int i = 0; i < r->nterms; i++) {
		const search_list *l = &r->lists[i];
		if (l->field == SF_TEXT && l->len == len && memcmp(l->t, t, len) == 0)
			return true;
	}
	return false;
}

static bool match_text_term(void *ctx, const char *t, size_t len)
{
	return term_in(ctx, t, len);
}

/* The text terms of a query that a text holds: a bit per term list. */
typedef struct {
	const search_req *r;
	uint32_t seen;
} holds;

static bool hold_term(void *ctx, const char *t, size_t len)
{
	holds *h = ctx;
	for (int i = 0; i < h->r->nterms; i++) {
		const search_list *l = &h->r->lists[i];
		if (l->field == SF_TEXT && l->len == len && memcmp(l->t, t, len) == 0)
			h->seen |= 1u << i;
	}
	return true;
}

static uint32_t text_mask(const search_req *r)
{
	uint32_t m = 0;
	for (int i = 0; i < r->nterms; i++)
		if (r->lists[i].field == SF_TEXT)
			m |= 1u << i;
	return m;
}

/* Whether event e is a message or note holding every text word of the
 * query (*any: at least one). */
static bool holds_all(const search_req *r, const rec_event *e, bool *any)
{
	*any = false;
	if ((e->kind != EK_MESSAGE && e->kind != EK_NOTE) || !e->text[0])
		return false;
	holds h = { r, 0 };
	text_terms(e->text, strlen(e->text), TEXT_TERMS_MAX, hold_term, &h);
	uint32_t want = text_mask(r);
	*any = (h.seen & want) != 0;
	return (h.seen & want) == want;
}

/* A snippet of text around byte off: at most SNIPPET_MAX bytes, cut at
 * characters, "…" where cut. */
static json_t *snippet_of(const char *text, long off)
{
	size_t len = strlen(text);
	size_t s = off > SNIPPET_BEFORE ? (size_t)off - SNIPPET_BEFORE : 0;
	while (s > 0 && ((unsigned char)text[s] & 0xc0) == 0x80)
		s--;
	size_t e = s + SNIPPET_MAX < len ? s + SNIPPET_MAX : len;
	while (e < len && e > s && ((unsigned char)text[e] & 0xc0) == 0x80)
		e--;
	char out[SNIPPET_MAX + 16];
	int n = snprintf(out, sizeof out, "%s%.*s%s", s > 0 ? "…" : "", (int)(e - s), text + s, e < len ? "…" : "");
	return json_stringn(out, n > 0 ? (size_t)n : 0);
}

/* The match of conversation c: the newest message or note holding every
 * word among its last SNIPPET_BACK events — else the event that first
 * gave one of the words (the greatest posting seq: a posting keeps the
 * first event with its term, search_store.h); null when only the name or
 * email matched. */
static json_t *match_of(walk *w, const uint64_t *seq)
{
	uint64_t top = 0;
	for (int i = 0; i < w->r->nterms; i++)
		if (w->r->lists[i].field == SF_TEXT)
			top = seq[i] > top ? seq[i] : top;
	if (text_mask(w->r) == 0)
		return json_null();
	uint64_t best = 0;
	bool any;
	for (uint64_t s = w->c.last_seq; s > 0 && s + SNIPPET_BACK > w->c.last_seq && !best; s--)
		if (convstore_event(w->t, w->c.tid, w->c.id, s, w->e) == 0 && holds_all(w->r, w->e, &any))
			best = s;
	if (!best)
		best = top;
	if (!best)
		return json_null();
	if ((w->e->seq != best || w->e->cid != w->c.id) && convstore_event(w->t, w->c.tid, w->c.id, best, w->e))
		return json_null();
	const rec_event *e = w->e;
	long off = text_find(e->text, strlen(e->text), match_text_term, (void *)w->r);
	return json_pack("{s:I,s:s,s:b,s:{s:s,s:o,s:s},s:o,s:o}", "seq", (json_int_t)e->seq, "kind",
			 e->kind == EK_NOTE ? "note" : "message", "private", e->kind == EK_NOTE, "sender", "type",
			 rec_sender_name(e->sender_type), "id", view_id(e->sender_id), "name", e->sender_name,
			 "created_at", view_time(e->created_ms), "snippet", snippet_of(e->text, off < 0 ? 0 : off));
}

static bool on_hit(void *ctx, uint64_t cid, const uint64_t *seq)
{
	walk *w = ctx;
	if (json_array_size(w->data) == w->limit || w->scanned == SEARCH_SCAN_MAX) {
		w->more = true;
		return false;
	}
	w->scanned++;
	w->last = cid;
	if (convstore_get(w->t, w->p->tid, cid, &w->c))
		return true;
	if (!api_conv_visible(w->p, &w->c))
		return true;
	/* dept_id 0: the tenant's default department (departments/view.h) */
	if (w->c.created_ms < w->r->from_ms || w->c.created_ms > w->r->to_ms)
		return true;
	if (w->r->by_dept && deptstore_resolve(w->t, w->p->tid, w->c.dept_id) != w->r->dept)
		return true;
	json_t *v = json_pack("{s:o,s:o}", "conversation", view_conv(&w->c), "match", match_of(w, seq));
	if (!v || json_array_append_new(w->data, v)) {
		w->failed = true;
		return false;
	}
	return true;
}

static void search(http_req *req, const principal *p)
{
	app *a = api_app(req);
	int64_t limit;
	if (api_query_int(req, "limit", 20, 1, 50, &limit) < 0)
		return;
	store_txn t;
	if (store_read(a->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	search_req *r = malloc(sizeof *r);
	bool any_filter;
	if (!r) {
		store_done(&t);
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		return;
	}
	if (parse(req, p, &t, r, &any_filter) < 0) {
		store_done(&t);
		free(r);
		return;
	}
	walk w = { .req = req, .p = p, .t = &t, .r = r, .limit = (size_t)limit, .data = json_array(),
		   .e = malloc(sizeof(rec_event)) };
	int rc = w.data && w.e ? searchstore_query(&t, p->tid, r->lists, r->n, r->from, r->upto, on_hit, &w)
			       : STORE_ENOMEM;
	store_done(&t);
	free(w.e);
	free(r);
	if (rc || w.failed) {
		json_decref(w.data);
		http_respond_error(req, 500, "internal", rc == STORE_EIO ? "storage unavailable" : "out of memory",
				   NULL);
		return;
	}
	json_t *body = json_pack("{s:o,s:o}", "data", w.data, "next_cursor", w.more ? view_id(w.last) : json_null());
	if (!body)
		http_respond_error(req, 500, "internal", "out of memory", NULL);
	else
		http_respond_json(req, 200, body);
}

static const route_def routes[] = {
	{ "GET", "/v1/search", PERM_CONV, search },
	{ 0 },
};

const feature feature_search = { .name = "search", .routes = routes };
