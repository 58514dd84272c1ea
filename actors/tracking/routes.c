/* tracking — see tracking.h. The widget's page views, the console's live
 * visitors and reports, the tenant's tracking settings and identity
 * secret, and the daily retention prune.
 *
 * A page view (POST /v1/widget/pageview, a visitor token) is refused
 * nothing for being odd, only for being unclear: the URL must be http(s)
 * (400 invalid_url); a longer URL or title is stored truncated at
 * REC_PAGE_URL_MAX / REC_PAGE_TITLE_MAX bytes (at a UTF-8 boundary), its
 * query string (unless the tenant keeps it) and fragment dropped, control
 * characters of the title turned into spaces. Nothing is stored, and the
 * answer is 204 with `Parley-Tracking: off; reason=…`, when the request
 * says `DNT: 1` or `Sec-GPC: 1` or the tenant has tracking off. Past
 * PAGEVIEW_RATE page views a minute from one visitor the answer is 429
 * rate_limited; a session stores at most TRACK_SESSION_PAGES_MAX page
 * views (the session's count and current page still follow).
 *
 * The page view, the session, the live row and the day's counters are one
 * writer request; after its commit the tenant's consoles get a `visitor`
 * frame through the inbox (conversations/inbox.h, inbox_broadcast).
 */
#include "actors/tracking/tracking.h"
#include "actors/conversations/inbox.h"
#include "actors/kit/api.h"
#include "actors/kit/audit.h"
#include "actors/kit/daily.h"
#include "actors/kit/view.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/hours.h"
#include "core/id.h"
#include "core/ioloop.h"
#include "core/log.h"
#include "core/secretbox.h"
#include "core/ua.h"
#include "storage/account_store.h"
#include "storage/track_store.h"
#include "storage/writer.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGEVIEW_RATE 30              /* page views a visitor may report a minute */
#define LIVE_WINDOW_MS (15 * 60 * 1000)
#define LIVE_MAX 500
#define STATS_DAYS_MAX 31
#define SESSIONS_MAX 20
#define PRUNE_BATCH 1000
#define INPUT_MAX (1 << 20)           /* a field's bytes as received (the body limit bounds it first) */

/* ------------------------------------------------------------------ views */

static json_t *view_tracked_visitor(const rec_visitor *v)
{
	return json_pack("{s:o,s:s,s:s,s:s?,s:b}", "id", view_id(v->id), "name", v->name, "email", v->email,
			 "external_id", v->external_id[0] ? v->external_id : NULL, "verified", v->verified);
}

static json_t *view_session(const rec_vsession *s)
{
	char sid[24];
	return json_pack("{s:s,s:o,s:o,s:o,s:I,s:I,s:{s:s,s:s},s:s,s:s,s:s,s:I,s:s,s:s,s:s}", "id", id_str(s->id, sid),
			 "visitor_id", view_id(s->visitor_id), "started_at", view_time(s->started_ms), "last_seen_at",
			 view_time(s->last_ms), "pages", (json_int_t)s->pages, "duration_s",
			 (json_int_t)((s->last_ms - s->started_ms) / 1000), "current_page", "url", s->url, "title",
			 s->title, "referrer", s->referrer, "device", ua_device_name(s->device), "browser", s->browser,
			 "browser_version", (json_int_t)s->browser_major, "os", s->os, "language", s->lang, "screen",
			 s->screen);
}

/* A live visitor: the session with the visitor. */
static json_t *view_live(const rec_vsession *s, const rec_visitor *v)
{
	json_t *o = view_session(s);
	if (o)
		json_object_set_new(o, "visitor", view_tracked_visitor(v));
	return o;
}

/* ------------------------------------------------------------------ input */

static bool ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Normalises an http(s) URL into out (cap bytes): scheme and host lower
 * case, a user name and password dropped, the fragment dropped, the query
 * too unless keep_query, truncated
 * at a UTF-8 boundary. false when it is not an http(s) URL with a host,
 * or holds spaces or control characters. *host (hcap bytes) gets the
 * host. */
static bool norm_url(const char *u, bool keep_query, char *out, size_t cap, char *host, size_t hcap)
{
	size_t n = strlen(u), skip;
	if (n > 7 && !strncasecmp(u, "http://", 7))
		skip = 7;
	else if (n > 8 && !strncasecmp(u, "https://", 8))
		skip = 8;
	else
		return false;
	for (size_t i = 0; i < n; i++)
		if (ctl((unsigned char)u[i]) || u[i] == ' ')
			return false;
	size_t hl = strcspn(u + skip, "/?#");
	/* user:password@ is never kept */
	const char *at = memchr(u + skip, '@', hl);
	while (at) {
		size_t cut = (size_t)(at + 1 - (u + skip));
		hl -= cut;
		skip += cut;
		at = memchr(u + skip, '@', hl);
	}
	if (hl == 0 || u[skip] == ':')
		return false;
	size_t scheme = u[4] == ':' ? 7 : 8;
	size_t end = keep_query ? strcspn(u, "#") : strcspn(u, "?#");
	char *tmp = malloc(end + 1);
	if (!tmp)
		return false;
	memcpy(tmp, u, scheme);
	memcpy(tmp + scheme, u + skip, end - skip);
	end -= skip - scheme;
	skip = scheme;
	tmp[end] = 0;
	for (size_t i = 0; i < skip + hl && i < end; i++)
		tmp[i] = (char)tolower((unsigned char)tmp[i]);
	rec_strcpy(out, cap, tmp, end);
	if (host)
		rec_strcpy(host, hcap, tmp + skip, hl < end - skip ? hl : end - skip);
	free(tmp);
	return true;
}

/* The title with control characters as spaces, truncated. */
static void norm_title(const char *t, char *out, size_t cap)
{
	rec_strcpy(out, cap, t, strlen(t));
	for (char *p = out; *p; p++)
		if (ctl((unsigned char)*p))
			*p = ' ';
}

/* A language tag: letters, digits and '-', 1..REC_LANG_MAX bytes. */
static bool lang_ok(const char *s, size_t n)
{
	if (n == 0 || n > REC_LANG_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool screen_ok(const char *s)
{
	unsigned w, h;
	char tail;
	return strlen(s) <= REC_SCREEN_MAX && sscanf(s, "%5ux%5u%c", &w, &h, &tail) == 2 && w && h;
}

/* "1" (after trimming) in header name. */
static bool header_one(const http_req *req, const char *name)
{
	const hp_str *h = http_header(req, name);
	return h && h->len == 1 && h->p[0] == '1';
}

/* ------------------------------------------------------------------ page view */

typedef struct {
	wr_req w;
	app *app;
	reply_to reply;
	trackstore_view in;
	rec_visitor visitor;
	rec_vsession session;
	bool stored, fresh;
	char url[REC_PAGE_URL_MAX + 1], title[REC_PAGE_TITLE_MAX + 1], referrer[REC_PAGE_URL_MAX + 1];
	char ref_host[REC_HOST_MAX + 1], browser[UA_NAME_MAX + 1], os[UA_NAME_MAX + 1];
	char lang[REC_LANG_MAX + 1], screen[REC_SCREEN_MAX + 1];
} pv_op;

static int pv_apply(wr_req *w, store_txn *t)
{
	pv_op *op = container_of(w, pv_op, w);
	return trackstore_pageview(t, &op->in, &op->session, &op->stored, &op->fresh);
}

static void pv_done(wr_req *w, int rc)
{
	pv_op *op = container_of(w, pv_op, w);
	app *a = op->app;
	if (rc) {
		log_error("tracking.pageview", "err=\"%s\"", store_strerror(rc));
		reply_error(a, &op->reply, 500, "internal", "storage failure");
	} else {
		char sid[24];
		reply_json(a, &op->reply, 201,
			   json_pack("{s:b,s:s,s:I,s:b,s:b}", "recorded", 1, "session_id", id_str(op->session.id, sid),
				     "pages", (json_int_t)op->session.pages, "stored", op->stored, "new_session", op->fresh));
		json_t *live = view_live(&op->session, &op->visitor);
		json_t *f = live ? json_pack("{s:s,s:s,s:o}", "type", "visitor", "event", "visitor.pageview", "visitor", live)
				 : NULL;
		if (f)
			inbox_broadcast(a, op->in.tid, f);
	}
	free(op);
}

/* The day (since 1970-01-01) holding ms in the tenant's time zone: what
 * the counters count by and the reports' from/to name. */
static uint32_t local_day(app *a, const rec_tenant *t, int64_t ms)
{
	int err;
	const tz *z = hours_zone(a->zones, t->timezone[0] ? t->timezone : "UTC", &err);
	int64_t local = ms + (z ? (int64_t)tz_offset(z, ms / 1000, NULL) * 1000 : 0);
	return local > 0 ? (uint32_t)(local / TRACK_DAY_MS) : 0;
}

static int read_tenant_visitor(app *a, uint64_t tid, uint64_t vid, rec_tenant *t, rec_visitor *v)
{
	store_txn txn;
	int rc = store_read(a->db, &txn);
	if (rc)
		return rc;
	rc = account_tenant_get(&txn, tid, t);
	if (rc == 0 && v)
		rc = account_visitor_get(&txn, tid, vid, v);
	store_done(&txn);
	return rc;
}

static void not_recorded(http_req *req, const char *reason)
{
	char extra[80];
	snprintf(extra, sizeof extra, "Parley-Tracking: off; reason=%s\r\nCache-Control: no-store\r\n", reason);
	http_respond(req, 204, NULL, NULL, 0, extra);
}

static void pageview(http_req *req, const principal *pp)
{
	app *a = api_app(req);
	principal p = *pp;
	/* the visitor's own refusal comes first: nothing of the request is kept */
	if (header_one(req, "DNT")) {
		not_recorded(req, "dnt");
		return;
	}
	if (header_one(req, "Sec-GPC")) {
		not_recorded(req, "gpc");
		return;
	}
	pv_op *op = calloc(1, sizeof *op);
	if (!op) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		return;
	}
	rec_tenant tn;
	int rc = read_tenant_visitor(a, p.tid, p.id, &tn, &op->visitor);
	if (rc) {
		free(op);
		if (rc == STORE_ENOTFOUND)
			http_respond_error(req, 401, "unauthenticated", "unknown visitor", NULL);
		else
			http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	if (tn.tracking_off) {
		free(op);
		not_recorded(req, "tenant");
		return;
	}
	char key[48];
	snprintf(key, sizeof key, "%llu:%llu", (unsigned long long)p.tid, (unsigned long long)p.id);
	int64_t now = clock_now_ms();
	ratelimit *rate = api_app(req)->pageview_rl;
	int wait = rate ? ratelimit_check(rate, key, now) : 0;
	if (wait > 0) {
		free(op);
		char extra[64];
		snprintf(extra, sizeof extra, "Retry-After: %d\r\n", wait);
		static const char body[] =
			"{\"error\":{\"code\":\"rate_limited\",\"message\":\"too many page views; try again later\"}}";
		http_respond(req, 429, "application/json", body, sizeof body - 1, extra);
		return;
	}
	if (rate)
		ratelimit_fail(rate, key, now);

	json_t *body = api_body(req);
	if (!body) {
		free(op);
		return;
	}
	static const char *const allowed[] = { "url", "title", "referrer", "language", "screen", NULL };
	const char *url, *title, *referrer, *lang, *screen;
	if (api_only(req, body, allowed) < 0 || api_str(req, body, "url", true, 1, INPUT_MAX, &url) < 0 ||
	    api_str(req, body, "title", false, 0, INPUT_MAX, &title) < 0 ||
	    api_str(req, body, "referrer", false, 0, INPUT_MAX, &referrer) < 0 ||
	    api_str(req, body, "language", false, 0, 64, &lang) < 0 ||
	    api_str(req, body, "screen", false, 0, 64, &screen) < 0)
		goto fail;
	char host[REC_HOST_MAX + 1];
	if (!norm_url(url, tn.keep_query, op->url, sizeof op->url, host, sizeof host)) {
		http_respond_error(req, 400, "invalid_url", "url must be an http(s) URL with a host, without spaces",
				   "url");
		goto fail;
	}
	if (lang && *lang && !lang_ok(lang, strlen(lang))) {
		http_respond_error(req, 400, "invalid_field", "language must be a language tag (en, pt-BR)", "language");
		goto fail;
	}
	if (screen && *screen && !screen_ok(screen)) {
		http_respond_error(req, 400, "invalid_field", "screen must be <width>x<height>", "screen");
		goto fail;
	}
	norm_title(title ? title : "", op->title, sizeof op->title);
	/* a referrer that is not an http(s) URL (an app's, "about:blank") is not kept */
	if (!referrer || !norm_url(referrer, tn.keep_query, op->referrer, sizeof op->referrer, op->ref_host,
				   sizeof op->ref_host))
		op->referrer[0] = op->ref_host[0] = 0;
	if (!op->ref_host[0])
		snprintf(op->ref_host, sizeof op->ref_host, "(direct)");
	if (lang && *lang) {
		snprintf(op->lang, sizeof op->lang, "%s", lang);
	} else {
		const hp_str *al = http_header(req, "Accept-Language");
		if (al) {
			size_t n = 0;
			while (n < al->len && al->p[n] != ',' && al->p[n] != ';' && al->p[n] != ' ')
				n++;
			if (lang_ok(al->p, n))
				rec_strcpy(op->lang, sizeof op->lang, al->p, n);
		}
	}
	if (screen)
		snprintf(op->screen, sizeof op->screen, "%s", screen);
	ua_info ua;
	const hp_str *uah = http_header(req, "User-Agent");
	ua_parse(uah ? uah->p : NULL, uah ? uah->len : 0, &ua);
	snprintf(op->browser, sizeof op->browser, "%s", ua.browser);
	snprintf(op->os, sizeof op->os, "%s", ua.os);
	json_decref(body);

	op->app = a;
	op->in = (trackstore_view){ .tid = p.tid, .vid = p.id, .session_id = id_next(&a->ids),
				    .pageview_id = id_next(&a->ids), .now_ms = now, .day = local_day(a, &tn, now),
				    .url = op->url, .title = op->title,
				    .referrer = op->referrer, .referrer_host = op->ref_host, .device = (uint8_t)ua.device,
				    .browser = op->browser, .os = op->os, .lang = op->lang, .screen = op->screen,
				    .browser_major = (uint64_t)ua.browser_major };
	op->w.apply = pv_apply;
	op->w.done = pv_done;
	reply_begin_http(a, &op->reply, req);
	writer_submit(a->wr, &op->w);
	return;
fail:
	json_decref(body);
	free(op);
}

/* ------------------------------------------------------------------ live visitors */

typedef struct {
	store_txn *t;
	api_list *l;
	size_t limit;
} live_walk;

static bool live_one(void *ctx, const rec_vsession *s)
{
	live_walk *w = ctx;
	rec_visitor v;
	if (account_visitor_get(w->t, s->tid, s->visitor_id, &v))
		return true;   /* the visitor is gone: so is their row in the list */
	return api_list_add(w->l, view_live(s, &v));
}

static int each_live(store_txn *t, uint64_t tid, api_list *l, void *arg)
{
	live_walk *w = arg;
	w->t = t;
	w->l = l;
	return trackstore_live(t, tid, clock_now_ms() - LIVE_WINDOW_MS, w->limit, live_one, w);
}

static void live(http_req *req, const principal *p)
{
	int64_t limit;
	if (api_query_int(req, "limit", 100, 1, LIVE_MAX, &limit) < 0)
		return;
	live_walk w = { .limit = (size_t)limit };
	api_list_read(req, p->tid, each_live, &w);
}

static bool session_one(void *ctx, const rec_vsession *s)
{
	return api_list_add(ctx, view_session(s));
}

/* GET /v1/visitors/{id}/sessions: a visitor's latest sessions. */
static void sessions(http_req *req, const principal *p)
{
	uint64_t vid;
	if (api_id_param(req, 0, &vid) < 0)
		return;
	store_txn t;
	if (store_read(api_app(req)->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	rec_visitor v;
	int rc = account_visitor_get(&t, p->tid, vid, &v);
	if (rc) {
		store_done(&t);
		if (rc == STORE_ENOTFOUND)
			http_respond_error(req, 404, "not_found", "no such visitor", NULL);
		else
			http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	api_list l;
	api_list_init(&l);
	rc = l.failed ? STORE_ENOMEM : trackstore_sessions(&t, p->tid, vid, SESSIONS_MAX, session_one, &l);
	store_done(&t);
	if (rc == 0 && !l.failed) {
		json_t *body = json_pack("{s:o,s:o}", "visitor", view_tracked_visitor(&v), "data", l.data);
		if (body) {
			http_respond_json(req, 200, body);
			return;
		}
		l.data = NULL;
	}
	api_list_answer(req, &l, rc ? rc : STORE_ENOMEM);
}

/* ------------------------------------------------------------------ reports */

/* "YYYY-MM-DD" → days since the epoch; -1 when malformed. */
static int64_t parse_day(const char *s)
{
	int y, m, d;
	char tail;
	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || s[4] != '-' || s[7] != '-')
		return -1;
	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12 };
	time_t tt = timegm(&tm);
	struct tm back;
	if (tt == (time_t)-1 || !gmtime_r(&tt, &back) || back.tm_mday != d || back.tm_mon != m - 1)
		return -1;   /* 2026-02-30 */
	return (int64_t)tt / 86400;
}

static void day_str(int64_t day, char out[11])
{
	time_t tt = (time_t)(day * 86400);
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

typedef struct {
	json_t *sums;      /* name → count */
} sum_walk;

static bool sum_one(void *ctx, uint32_t day, const char *name, uint64_t count)
{
	sum_walk *w = ctx;
	(void)day;
	const char *k = *name ? name : "(other)";
	json_t *v = json_object_get(w->sums, k);
	json_int_t c = (json_int_t)count + (v ? json_integer_value(v) : 0);
	return json_object_set_new(w->sums, k, json_integer(c)) == 0;
}

typedef struct {
	const char *name;
	json_int_t count;
} top_row;

static int top_cmp(const void *x, const void *y)
{
	const top_row *a = x, *b = y;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* The top `limit` of sums as [{label: name, count}], most first. */
static json_t *top(json_t *sums, const char *label, size_t limit)
{
	size_t n = json_object_size(sums), i = 0;
	top_row *rows = calloc(n ? n : 1, sizeof *rows);
	json_t *out = json_array();
	if (!rows || !out) {
		free(rows);
		json_decref(out);
		return NULL;
	}
	const char *k;
	json_t *v;
	json_object_foreach(sums, k, v) rows[i++] = (top_row){ k, json_integer_value(v) };
	qsort(rows, n, sizeof *rows, top_cmp);
	for (i = 0; i < n && i < limit; i++)
		json_array_append_new(out, json_pack("{s:s,s:I}", label, rows[i].name, "count", (json_int_t)rows[i].count));
	free(rows);
	return out;
}

/* The report's days (from, to: days since 1970-01-01, the last 7 up to
 * today by default) and limit; answers a bad one itself and returns -1. */
static int stats_range(http_req *req, int64_t today, int64_t *from, int64_t *to, int64_t *limit)
{
	char from_s[16], to_s[16];
	int fl = http_query(req, "from", from_s, sizeof from_s), tl = http_query(req, "to", to_s, sizeof to_s);
	*to = tl == -1 ? today : tl < 0 ? -1 : parse_day(to_s);
	if (*to < 0) {
		http_respond_error(req, 400, "invalid_field", "to must be a date: YYYY-MM-DD", "to");
		return -1;
	}
	*from = fl == -1 ? *to - 6 : fl < 0 ? -1 : parse_day(from_s);
	if (*from < 0) {
		http_respond_error(req, 400, "invalid_field", "from must be a date: YYYY-MM-DD", "from");
		return -1;
	}
	if (*from > *to) {
		http_respond_error(req, 400, "invalid_range", "from is after to", "from");
		return -1;
	}
	if (*to - *from + 1 > STATS_DAYS_MAX) {
		http_respond_error(req, 400, "invalid_range", "the range is longer than 31 days", "to");
		return -1;
	}
	return api_query_int(req, "limit", 10, 1, 100, limit) < 0 ? -1 : 0;
}

static void stats(http_req *req, const principal *p)
{
	/* one snapshot: the tenant (its zone says which day is today) and the counters */
	store_txn t = { 0 };
	rec_tenant tn;
	if (store_read(api_app(req)->db, &t) || account_tenant_get(&t, p->tid, &tn)) {
		store_done(&t);
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	int64_t from, to, limit;
	if (stats_range(req, local_day(api_app(req), &tn, clock_now_ms()), &from, &to, &limit) < 0) {
		store_done(&t);
		return;
	}
	static const char *const keys[TD__COUNT] = { NULL, "top_pages", "top_referrers", "devices", "browsers", "os" };
	static const char *const labels[TD__COUNT] = { NULL, "url", "host", "name", "name", "name" };
	json_t *out = json_object();
	int rc = out ? 0 : STORE_ENOMEM;
	size_t max_rows = (size_t)(to - from + 1) * (TRACK_DISTINCT_MAX + 1);
	for (int dim = 0; rc == 0 && dim < TD__COUNT; dim++) {
		sum_walk w = { json_object() };
		rc = w.sums ? trackstore_counts(&t, p->tid, dim, (uint32_t)from, (uint32_t)to, max_rows, sum_one, &w)
			    : STORE_ENOMEM;
		if (rc == 0 && dim == TD_TOTAL) {
			json_t *pv = json_object_get(w.sums, "pageviews"), *se = json_object_get(w.sums, "sessions");
			json_object_set_new(out, "pageviews", json_integer(pv ? json_integer_value(pv) : 0));
			json_object_set_new(out, "sessions", json_integer(se ? json_integer_value(se) : 0));
		} else if (rc == 0) {
			json_t *list = top(w.sums, labels[dim], (size_t)limit);
			if (!list || json_object_set_new(out, keys[dim], list))
				rc = STORE_ENOMEM;
		}
		json_decref(w.sums);
	}
	store_done(&t);
	if (rc) {
		json_decref(out);
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	char fd[11], td[11];
	day_str(from, fd);
	day_str(to, td);
	json_object_set_new(out, "from", json_string(fd));
	json_object_set_new(out, "to", json_string(td));
	http_respond_json(req, 200, out);
}

/* ------------------------------------------------------------------ settings */

static size_t identity_aad(uint64_t tid, char *out, size_t cap)
{
	int n = snprintf(out, cap, "identity:%llu", (unsigned long long)tid);
	return n > 0 ? (size_t)n : 0;
}

int tracking_identity_check(app *a, const rec_tenant *t, const char *user_id, const char *user_hash)
{
	if (!t->identity_secret[0])
		return TI_NO_SECRET;
	char aad[48], secret[257];
	size_t al = identity_aad(t->id, aad, sizeof aad);
	long n = secretbox_open(a->secret_key, aad, al, t->identity_secret, secret, sizeof secret);
	if (n < 0)
		return TI_INTERNAL;
	uint8_t mac[32], given[32];
	crypto_hmac_sha256(secret, (size_t)n, user_id, strlen(user_id), mac);
	memset(secret, 0, sizeof secret);
	if (strlen(user_hash) != 64)
		return TI_FORGED;
	for (int i = 0; i < 32; i++) {
		unsigned v;
		if (!isxdigit((unsigned char)user_hash[2 * i]) || !isxdigit((unsigned char)user_hash[2 * i + 1]) ||
		    sscanf(user_hash + 2 * i, "%2x", &v) != 1)
			return TI_FORGED;
		given[i] = (uint8_t)v;
	}
	return crypto_ct_equal(mac, 32, given, 32) ? TI_OK : TI_FORGED;
}

static json_t *view_settings(const rec_tenant *t)
{
	return json_pack("{s:b,s:b,s:I,s:b}", "tracking_enabled", !t->tracking_off, "keep_query", t->keep_query,
			 "pageview_keep_days", (json_int_t)trackstore_keep_days(t), "identity_verification",
			 t->identity_secret[0] != 0);
}

static void get_settings(http_req *req, const principal *p)
{
	rec_tenant t;
	int rc = read_tenant_visitor(api_app(req), p->tid, 0, &t, NULL);
	if (rc)
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
	else
		http_respond_json(req, 200, view_settings(&t));
}

enum { SET_FIELDS, SET_ROTATE, SET_REMOVE };

typedef struct {
	wr_req w;
	app *app;
	reply_to reply;
	principal who;
	int kind;
	int enabled, keep_query;       /* -1 = unchanged */
	int64_t keep_days;             /* -1 = unchanged */
	char secret[64];               /* SET_ROTATE: the new secret (text) */
	char sealed[REC_SEALED_MAX + 1];
	rec_tenant t;
} set_op;

static int set_apply(wr_req *w, store_txn *t)
{
	set_op *op = container_of(w, set_op, w);
	int rc = account_tenant_get(t, op->who.tid, &op->t);
	if (rc)
		return rc;
	json_t *fields = json_array();
	const char *action = "tracking.update";
	if (op->kind == SET_FIELDS) {
		if (op->enabled >= 0) {
			op->t.tracking_off = !op->enabled;
			json_array_append_new(fields, json_string("tracking_enabled"));
		}
		if (op->keep_query >= 0) {
			op->t.keep_query = op->keep_query;
			json_array_append_new(fields, json_string("keep_query"));
		}
		if (op->keep_days >= 0) {
			op->t.pageview_keep_days = (uint64_t)op->keep_days;
			json_array_append_new(fields, json_string("pageview_keep_days"));
		}
	} else if (op->kind == SET_ROTATE) {
		snprintf(op->t.identity_secret, sizeof op->t.identity_secret, "%s", op->sealed);
		action = "tracking.identity_secret.rotate";
	} else {
		op->t.identity_secret[0] = 0;
		action = "tracking.identity_secret.delete";
	}
	rec_tenant from = op->t;
	if ((rc = account_tenant_tracking(t, op->who.tid, &from, &op->t))) {
		json_decref(fields);
		return rc;
	}
	return audit_json(op->app, t, op->who.tid, &op->who, action, "tenant", op->who.tid,
			  json_pack("{s:o}", "fields", fields ? fields : json_array()))
		       ? STORE_EIO
		       : 0;
}

static void set_done(wr_req *w, int rc)
{
	set_op *op = container_of(w, set_op, w);
	app *a = op->app;
	if (rc) {
		log_error("tracking.settings", "err=\"%s\"", store_strerror(rc));
		reply_error(a, &op->reply, 500, "internal", "storage failure");
	} else if (op->kind == SET_ROTATE) {
		json_t *v = view_settings(&op->t);
		json_object_set_new(v, "identity_secret", json_string(op->secret));
		reply_json(a, &op->reply, 201, v);
	} else if (op->kind == SET_REMOVE) {
		reply_json(a, &op->reply, 200, view_settings(&op->t));
	} else {
		reply_json(a, &op->reply, 200, view_settings(&op->t));
	}
	memset(op->secret, 0, sizeof op->secret);
	free(op);
}

static set_op *set_new(http_req *req, const principal *p, int kind)
{
	set_op *op = calloc(1, sizeof *op);
	if (!op) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		return NULL;
	}
	op->app = api_app(req);
	op->who = *p;
	op->kind = kind;
	op->enabled = op->keep_query = -1;
	op->keep_days = -1;
	op->w.apply = set_apply;
	op->w.done = set_done;
	return op;
}

static void set_submit(http_req *req, set_op *op)
{
	reply_begin_http(op->app, &op->reply, req);
	writer_submit(op->app->wr, &op->w);
}

static int opt_bool(http_req *req, json_t *body, const char *name, int *out)
{
	json_t *v = json_object_get(body, name);
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return api_bad_field(req, name, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

static void patch_settings(http_req *req, const principal *p)
{
	json_t *body = api_body(req);
	if (!body)
		return;
	static const char *const allowed[] = { "tracking_enabled", "keep_query", "pageview_keep_days", NULL };
	set_op *op = NULL;
	if (api_only(req, body, allowed) < 0 || !(op = set_new(req, p, SET_FIELDS)))
		goto out;
	if (opt_bool(req, body, "tracking_enabled", &op->enabled) < 0 ||
	    opt_bool(req, body, "keep_query", &op->keep_query) < 0)
		goto fail;
	json_t *kd = json_object_get(body, "pageview_keep_days");
	if (kd) {
		if (!json_is_integer(kd) || json_integer_value(kd) < 1 || json_integer_value(kd) > 3650) {
			api_bad_field(req, "pageview_keep_days", "must be a whole number of days, 1 to 3650");
			goto fail;
		}
		op->keep_days = json_integer_value(kd);
	}
	set_submit(req, op);
	goto out;
fail:
	free(op);
out:
	json_decref(body);
}

static void rotate_secret(http_req *req, const principal *p)
{
	set_op *op = set_new(req, p, SET_ROTATE);
	if (!op)
		return;
	uint8_t raw[32];
	char aad[48];
	size_t al = identity_aad(p->tid, aad, sizeof aad);
	if (crypto_random(raw, sizeof raw)) {
		free(op);
		http_respond_error(req, 500, "internal", "no randomness", NULL);
		return;
	}
	crypto_b64url_encode(raw, sizeof raw, op->secret);
	memset(raw, 0, sizeof raw);
	if (secretbox_seal(op->app->secret_key, aad, al, op->secret, strlen(op->secret), op->sealed, sizeof op->sealed) < 0) {
		free(op);
		http_respond_error(req, 500, "internal", "could not seal the secret", NULL);
		return;
	}
	set_submit(req, op);
}

static void delete_secret(http_req *req, const principal *p)
{
	set_op *op = set_new(req, p, SET_REMOVE);
	if (op)
		set_submit(req, op);
}

/* ------------------------------------------------------------------ retention */

/* A batch of the retention prune (kit/daily.h): up to PRUNE_BATCH rows. */
static int prune_batch(store_txn *t, daily_prune *p, bool *more)
{
	int n = trackstore_prune(t, p->now_ms, PRUNE_BATCH);
	*more = n == PRUNE_BATCH;
	return n;
}

/* At start: a prune run (not waited for: the writer takes it before
 * anything the server's clients send), then once a day. */
static int tracking_start(app *a)
{
	if (!(a->pageview_rl = ratelimit_new(PAGEVIEW_RATE, 60)))
		return -1;
	return (a->track_prune = daily_prune_start(a, "tracking", prune_batch)) ? 0 : -1;
}

/* Stops the timer (a run under way finishes in the writer's last batches). */
static void tracking_stop(app *a)
{
	daily_prune_stop(a, &a->track_prune);
}

static void tracking_release(app *a)
{
	ratelimit_free(&a->pageview_rl);
}

static const route_def routes[] = {
	{ "POST", "/v1/widget/pageview", PERM_VISITOR, pageview },
	{ "GET", "/v1/visitors/live", PERM_CONV, live },
	{ "GET", "/v1/visitors/stats", PERM_ANALYTICS, stats },
	{ "GET", "/v1/visitors/{id}/sessions", PERM_CONV, sessions },
	{ "GET", "/v1/tracking/settings", PERM_SETTINGS, get_settings },
	{ "PATCH", "/v1/tracking/settings", PERM_SETTINGS, patch_settings },
	{ "POST", "/v1/tracking/identity-secret", PERM_SETTINGS, rotate_secret },
	{ "DELETE", "/v1/tracking/identity-secret", PERM_SETTINGS, delete_secret },
	{ 0 },
};

const feature feature_tracking = {
	.name = "tracking",
	.routes = routes,
	.start = tracking_start,
	.stop = tracking_stop,
	.release = tracking_release,
};
