/* analytics — the dashboard's figures over the API (docs/openapi.yaml, tag
 * analytics; definitions in docs/analytics.md) and the emit sink that keeps
 * the rollups (storage/rollup_store.h) in each event's transaction.
 *
 * Every figure is read from the rollups, never from the history: a range
 * of up to 30 days reads at most a few hundred keys (whole UTC days in its
 * middle, hours and quarter hours at its edges). The current state —
 * conversations active and waiting now, a department's queue — comes from
 * the status index (conversations open, pending or waiting), not a scan.
 *
 * Who sees what (permission `analytics`): supervisors and up the whole
 * tenant; agents and read API keys their own figures only — the agent
 * filter is forced to the caller, and naming anyone else is 403.
 *
 * Query parameters of every route: from, to (ISO-8601 UTC; default the
 * last 7 days; rounded outwards to quarter hours; 1 hour to 30 days),
 * department_id, agent_id (unknown or another tenant's → 404), format=csv
 * (the same figures as RFC 4180 CSV with a header row); satisfaction's
 * rows=comments (with format=csv: its recent comments instead of the
 * distribution).
 */
#include "actors/analytics/analytics.h"
#include "actors/analytics/internal.h"
#include "actors/kit/api.h"
#include "actors/kit/emit.h"
#include "actors/kit/perm.h"
#include "actors/kit/view.h"
#include "storage/account_store.h"
#include "storage/conv_store.h"
#include "storage/db.h"
#include "storage/dept_store.h"
#include "storage/presence_store.h"
#include "storage/rating_store.h"
#include "storage/rollup_store.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define Q_MS 900000LL
#define H_MS 3600000LL
#define D_MS 86400000LL
#define RANGE_MAX (30 * D_MS)
#define RANGE_DEFAULT (7 * D_MS)

/* ---------------------------------------------------------------- the sink */

static int on_event(struct app *a, store_txn *tx, const app_event *ev, void *ctx)
{
	(void)ctx;
	if (!ev->conv)
		return 0;
	/* (a write with no event: its time is now) */
	const rec_event *known[2] = { ev->event, ev->first };
	int rc = rollup_conv_changed_with(tx, ev->conv, ev->type == EV_CONV_WRITTEN ? clock_now_ms() : ev->at_ms,
					  known, 2);
	const rec_event *e = ev->event;
	if (rc == 0 && e && e->kind == EK_RATING && e->score >= 1 && e->score <= 2) {
		rec_alert al = { .tid = ev->tid, .kind = ALERT_RATING, .at_ms = e->created_ms, .cid = ev->conv->id,
				 .dept_id = ev->conv->dept_id, .agent_id = ev->conv->assignee_id, .score = e->score };
		snprintf(al.message, sizeof al.message, "%s rated a conversation %d of 5",
			 ev->conv->visitor_name[0] ? ev->conv->visitor_name : "A visitor", e->score);
		rc = alerts_raise(a, tx, &al, true, ev->conv->id, (int64_t)e->seq);
	}
	return rc;
}

/* ---------------------------------------------------------------- the query */

typedef struct {
	int64_t from, to;        /* quarter-aligned UTC ms */
	uint64_t dept, agent;
	bool csv;
	bool own;                /* an agent's (or read key's) own figures */
	rec_tenant tenant;
	store_txn t;
} query;

static bool is_own_only(const principal *p)
{
	return role_parse(p->role) <= ROLE_AGENT;
}

/* Parses and checks the common parameters, opens the read snapshot; 0, or
 * -1 after answering. */
static int q_open(http_req *req, const principal *p, query *q)
{
	memset(q, 0, sizeof *q);
	int64_t now = clock_now_ms();
	q->to = (now + Q_MS - 1) / Q_MS * Q_MS;
	int hf, ht;
	if ((hf = api_query_time(req, "from", &q->from)) < 0 || (ht = api_query_time(req, "to", &q->to)) < 0 ||
	    api_query_id(req, "department_id", &q->dept) < 0 || api_query_id(req, "agent_id", &q->agent) < 0)
		return -1;
	if (!hf)
		q->from = q->to - RANGE_DEFAULT;
	char fmt[8];
	int n = http_query(req, "format", fmt, sizeof fmt);
	if (n >= 0 && strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0)
		return api_bad_field(req, "format", "format must be json or csv");
	q->csv = n >= 0 && strcmp(fmt, "csv") == 0;
	if (q->from >= q->to)
		return api_bad_field(req, "from", "from must be before to");
	if (q->to - q->from > RANGE_MAX)
		return api_bad_field(req, "to", "the range must be at most 30 days");
	if (q->to - q->from < H_MS)
		return api_bad_field(req, "to", "the range must be at least 1 hour");
	if (q->from < 0)
		return api_bad_field(req, "from", "from must be after 1970");
	/* outwards to quarter hours (the buckets) */
	q->from = q->from / Q_MS * Q_MS;
	q->to = (q->to + Q_MS - 1) / Q_MS * Q_MS;
	q->own = is_own_only(p);
	if (q->own) {
		if (q->agent && q->agent != p->id) {
			http_respond_error(req, 403, "forbidden", "agents see their own figures only", "agent_id");
			return -1;
		}
		q->agent = p->id;
	}
	if (store_read(api_app(req)->db, &q->t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return -1;
	}
	int rc = account_tenant_get(&q->t, p->tid, &q->tenant);
	if (rc)
		goto fail;
	if (q->dept) {
		rec_dept d;
		if ((rc = deptstore_get(&q->t, p->tid, q->dept, &d)) == STORE_ENOTFOUND) {
			store_done(&q->t);
			http_respond_error(req, 404, "not_found", "no such department", "department_id");
			return -1;
		} else if (rc) {
			goto fail;
		}
	}
	if (q->agent && !(q->own && p->kind == P_APIKEY)) {
		rec_user u;
		if ((rc = account_user_get(&q->t, p->tid, q->agent, &u)) == STORE_ENOTFOUND) {
			store_done(&q->t);
			http_respond_error(req, 404, "not_found", "no such agent", "agent_id");
			return -1;
		} else if (rc) {
			goto fail;
		}
	}
	return 0;
fail:
	store_done(&q->t);
	http_respond_error(req, 500, "internal", "storage unavailable", NULL);
	return -1;
}

static void answer_rc(http_req *req, query *q, int rc)
{
	store_done(&q->t);
	if (rc == STORE_ENOMEM)
		http_respond_error(req, 503, "busy", "out of memory", NULL);
	else
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
}

/* ---------------------------------------------------------------- figures */

static uint64_t msgs(const rollup_vec *v, int sender, int kind)
{
	return v->v[RM_MSG + sender * RK__COUNT + kind];
}

static uint64_t msg_len(const rollup_vec *v, int sender, int kind)
{
	return v->v[RM_MSG_LEN + sender * RK__COUNT + kind];
}

/* Chat messages: visitors' and agents' text and files (not notes or system). */
static uint64_t chat_msgs(const rollup_vec *v)
{
	return msgs(v, ST_VISITOR, RK_TEXT) + msgs(v, ST_VISITOR, RK_FILE) + msgs(v, ST_AGENT, RK_TEXT) +
	       msgs(v, ST_AGENT, RK_FILE);
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0;
}

static double round2(double x)
{
	return (double)(int64_t)(x * 100 + (x < 0 ? -0.5 : 0.5)) / 100;
}

static uint64_t ratings_n(const rollup_vec *v)
{
	uint64_t n = 0;
	for (int i = 0; i < 5; i++)
		n += v->v[RM_RATING + i];
	return n;
}

static double rating_avg(const rollup_vec *v)
{
	uint64_t n = 0, s = 0;
	for (int i = 0; i < 5; i++) {
		n += v->v[RM_RATING + i];
		s += v->v[RM_RATING + i] * (uint64_t)(i + 1);
	}
	return round2(ratio(s, n));
}

/* Conversations now: active (open or pending) and waiting, the longest wait. */
typedef struct {
	uint64_t dept, agent;
	uint64_t n;
	int64_t oldest;
	int64_t now;
	rec_dept def;
	bool has_def;
} now_count;

static bool count_now(void *ctx, uint64_t cid, const rec_conv *c)
{
	(void)cid;
	now_count *nc = ctx;
	uint64_t d = c->dept_id ? c->dept_id : nc->has_def ? nc->def.id : 0;
	if (nc->dept && d != nc->dept)
		return true;
	if (nc->agent && c->assignee_id != nc->agent)
		return true;
	nc->n++;
	int64_t since = c->waiting_since_ms ? c->waiting_since_ms : c->created_ms;
	if (c->status == CS_WAITING && (!nc->oldest || since < nc->oldest))
		nc->oldest = since;
	return true;
}

static int count_status(store_txn *t, uint64_t tid, int status, now_count *nc)
{
	return convstore_each_conv(t, tid, CONVSTORE_BY_STATUS, (uint64_t)status, 0, count_now, nc);
}

static int now_counts(query *q, uint64_t tid, uint64_t dept, uint64_t agent, uint64_t *active, uint64_t *waiting,
		      int64_t *longest_ms)
{
	now_count nc = { .dept = dept, .agent = agent };
	nc.has_def = deptstore_default(&q->t, tid, &nc.def) == 0;
	int rc = count_status(&q->t, tid, CS_OPEN, &nc);
	if (!rc)
		rc = count_status(&q->t, tid, CS_PENDING, &nc);
	*active = nc.n;
	nc.n = 0;
	nc.oldest = 0;
	if (!rc)
		rc = count_status(&q->t, tid, CS_WAITING, &nc);
	*waiting = nc.n;
	if (longest_ms)
		*longest_ms = nc.oldest ? clock_now_ms() - nc.oldest : 0;
	return rc;
}

/* ---------------------------------------------------------------- CSV */

static void csv_field(buf *b, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		buf_append(b, s, strlen(s));
		return;
	}
	buf_append(b, "\"", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			buf_append(b, "\"", 1);
		buf_append(b, p, 1);
	}
	buf_append(b, "\"", 1);
}

/* A JSON object's scalar as CSV text. */
static void csv_value(buf *b, json_t *v)
{
	char tmp[64];
	if (json_is_string(v)) {
		csv_field(b, json_string_value(v));
	} else if (json_is_integer(v)) {
		snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
		buf_append(b, tmp, strlen(tmp));
	} else if (json_is_real(v)) {
		snprintf(tmp, sizeof tmp, "%.2f", json_real_value(v));
		buf_append(b, tmp, strlen(tmp));
	} else if (json_is_true(v) || json_is_false(v)) {
		buf_append(b, json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5);
	}
}

/* A CSV export being streamed: the header row, then rows as the client
 * takes them (http_respond_stream), CSV_PIECE bytes or so a piece. The
 * figures themselves are aggregates of the rollups, computed before the
 * head goes out (a few hundred rows at most: the range is bounded). */
#define CSV_PIECE (4u << 10)

typedef struct {
	const char *const *cols;   /* static, NULL-terminated */
	json_t *rows;              /* owned */
	size_t next;               /* the next row */
	bool header_done;
} csv_stream;

static void csv_free(void *ctx)
{
	csv_stream *cs = ctx;
	json_decref(cs->rows);
	free(cs);
}

static int csv_next(void *ctx, buf *b)
{
	csv_stream *cs = ctx;
	if (!cs->header_done) {
		for (int i = 0; cs->cols[i]; i++) {
			if (i)
				buf_append(b, ",", 1);
			csv_field(b, cs->cols[i]);
		}
		buf_append(b, "\r\n", 2);
		cs->header_done = true;
	}
	size_t n = json_array_size(cs->rows);
	while (cs->next < n && b->len < CSV_PIECE) {
		json_t *row = json_array_get(cs->rows, cs->next++);
		for (int c = 0; cs->cols[c]; c++) {
			if (c)
				buf_append(b, ",", 1);
			csv_value(b, json_object_get(row, cs->cols[c]));
		}
		buf_append(b, "\r\n", 2);
	}
	return cs->next < n ? HTTP_BODY_MORE : HTTP_BODY_END;
}

static const http_body_src csv_src = { .next = csv_next, .on_free = csv_free };

/* Rows (an array of flat objects, reference stolen) as CSV with the
 * columns of cols, streamed. */
static void answer_csv(http_req *req, const char *name, const char *const *cols, json_t *rows)
{
	csv_stream *cs = calloc(1, sizeof *cs);
	if (!cs) {
		json_decref(rows);
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		return;
	}
	cs->cols = cols;
	cs->rows = rows;
	char hdr[160];
	snprintf(hdr, sizeof hdr, "Content-Disposition: attachment; filename=\"%s.csv\"\r\nCache-Control: no-store\r\n",
		 name);
	http_respond_stream(req, 200, "text/csv; charset=utf-8", hdr, &csv_src, cs);
}

static json_t *range_view(const query *q)
{
	return json_pack("{s:o,s:o,s:s,s:o,s:o}", "from", view_time(q->from), "to", view_time(q->to), "timezone",
			 q->tenant.timezone[0] ? q->tenant.timezone : "UTC", "department_id",
			 q->dept ? view_id(q->dept) : json_null(), "agent_id", q->agent ? view_id(q->agent) : json_null());
}

static void answer(http_req *req, query *q, json_t *body)
{
	store_done(&q->t);
	json_object_set_new(body, "range", range_view(q));
	http_respond_json(req, 200, body);
}

/* ---------------------------------------------------------------- overview */

static json_t *overview_of(const rollup_vec *v)
{
	uint64_t created = v->v[RM_CREATED], finished = v->v[RM_RESOLVED] + v->v[RM_CLOSED];
	(void)finished;
	uint64_t m = chat_msgs(v);
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:I,s:f,s:I,s:f}", "conversations",
			 (json_int_t)created, "resolved", (json_int_t)v->v[RM_RESOLVED], "closed",
			 (json_int_t)v->v[RM_CLOSED], "reopened", (json_int_t)v->v[RM_REOPENED], "transferred",
			 (json_int_t)v->v[RM_TRANSFERRED], "missed", (json_int_t)v->v[RM_MISSED], "offline",
			 (json_int_t)v->v[RM_OFFLINE], "resolution_rate",
			 round2(ratio(v->v[RM_RESOLVED] + v->v[RM_CLOSED] - 0, created ? created : 0)),
			 "first_response_avg_s", round2(ratio(v->v[RM_FRT_SUM], v->v[RM_FRT_N])), "first_response_p90_s",
			 round2(rollup_percentile(&v->v[RM_FRT_HIST], 90)), "resolution_avg_s",
			 round2(ratio(v->v[RM_RES_SUM], v->v[RM_RES_N])), "wait_avg_s",
			 round2(ratio(v->v[RM_WAIT_SUM], v->v[RM_WAIT_N])), "messages", (json_int_t)m,
			 "messages_per_conversation", round2(ratio(m, created)), "ratings", (json_int_t)ratings_n(v),
			 "rating_avg", rating_avg(v));
}

static void get_overview(http_req *req, const principal *p)
{
	query q;
	if (q_open(req, p, &q) < 0)
		return;
	rollup_vec v;
	uint64_t active = 0, waiting = 0;
	int rc = rollup_sum(&q.t, p->tid, q.dept, q.agent, q.from, q.to, &v);
	if (!rc)
		rc = now_counts(&q, p->tid, q.dept, q.agent, &active, &waiting, NULL);
	if (rc) {
		answer_rc(req, &q, rc);
		return;
	}
	json_t *o = overview_of(&v);
	json_object_set_new(o, "active", json_integer((json_int_t)active));
	json_object_set_new(o, "waiting", json_integer((json_int_t)waiting));
	if (q.csv) {
		static const char *const cols[] = { "conversations", "active", "waiting", "resolved", "closed",
						    "reopened", "transferred", "missed", "offline", "resolution_rate",
						    "first_response_avg_s", "first_response_p90_s", "resolution_avg_s",
						    "wait_avg_s", "messages", "messages_per_conversation", "ratings",
						    "rating_avg", NULL };
		store_done(&q.t);
		json_t *rows = json_array();
		json_array_append_new(rows, o);
		answer_csv(req, "overview", cols, rows);
		return;
	}
	answer(req, &q, json_pack("{s:o}", "data", o));
}

/* ---------------------------------------------------------------- volume */

static tz *tenant_tz(const rec_tenant *t)
{
	tz *z = tz_load(t->timezone[0] ? t->timezone : "UTC", NULL);
	return z ? z : tz_load("UTC", NULL);
}

/* The start of the local day or hour holding utc ms (quarter-aligned). */
static int64_t local_floor(const tz *z, int64_t ms, int64_t unit)
{
	int64_t off = (int64_t)tz_offset(z, ms / 1000, NULL) * 1000;
	int64_t start = (ms + off) / unit * unit - off;
	if (start > ms)   /* an offset change inside: step back */
		start -= unit;
	return start;
}

/* The volume's periods: [start[i], start[i + 1]), local hours or days. */
typedef struct {
	int64_t *start;
	rollup_vec *v;
	int n;
	int at;
} periods;

static bool add_bucket(void *ctx, int64_t start_ms, const rollup_vec *v)
{
	periods *ps = ctx;
	while (ps->at + 1 < ps->n && start_ms >= ps->start[ps->at + 1])
		ps->at++;
	if (start_ms < ps->start[ps->at] || ps->at + 1 >= ps->n)
		return true;
	for (int m = 0; m < RM__COUNT; m++)
		ps->v[ps->at].v[m] += v->v[m];
	return true;
}

static void get_volume(http_req *req, const principal *p)
{
	char iv[8] = "day";
	int n = http_query(req, "interval", iv, sizeof iv);
	if (n == -2 || (n >= 0 && strcmp(iv, "day") != 0 && strcmp(iv, "hour") != 0)) {
		api_bad_field(req, "interval", "interval must be hour or day");
		return;
	}
	query q;
	if (q_open(req, p, &q) < 0)
		return;
	int64_t unit = strcmp(iv, "hour") == 0 ? H_MS : D_MS;
	tz *z = tenant_tz(&q.tenant);
	/* the period boundaries, clipped to the range; one pass over the
	 * coarsest buckets every boundary falls on */
	int cap = (int)((q.to - q.from) / unit) + 3, np = 0;
	periods ps = { .start = malloc((size_t)(cap + 1) * sizeof *ps.start), .v = calloc((size_t)cap, sizeof *ps.v) };
	int64_t *shown = malloc((size_t)(cap + 1) * sizeof *shown);
	int gran = RG_HOUR, rc = ps.start && ps.v && shown ? 0 : STORE_ENOMEM;
	for (int64_t at = local_floor(z, q.from, unit); !rc && at < q.to && np < cap;) {
		int64_t next = local_floor(z, at + unit + 2 * H_MS, unit);   /* (a DST day is 23 or 25 hours) */
		if (next <= at)
			next = at + unit;
		shown[np] = at;
		ps.start[np++] = at < q.from ? q.from : at;
		if (np > 1 && ps.start[np - 1] % H_MS)   /* an inner boundary off the hour (+5:30, +5:45) */
			gran = RG_QUARTER;
		at = next;
	}
	ps.start[np] = q.to;
	ps.n = np + 1;
	tz_free(&z);
	/* quarter hours up to the first whole hour and after the last, whole
	 * hours between (when every inner boundary is on the hour) */
	int64_t h0 = (q.from + H_MS - 1) / H_MS * H_MS, h1 = q.to / H_MS * H_MS;
	if (gran == RG_QUARTER || h1 <= h0)
		h0 = h1 = q.to;
	if (!rc)
		rc = rollup_series(&q.t, p->tid, q.dept, q.agent, RG_QUARTER, q.from, h0, add_bucket, &ps);
	if (!rc && h1 > h0)
		rc = rollup_series(&q.t, p->tid, q.dept, q.agent, RG_HOUR, h0, h1, add_bucket, &ps);
	if (!rc && h1 < q.to)
		rc = rollup_series(&q.t, p->tid, q.dept, q.agent, RG_QUARTER, h1, q.to, add_bucket, &ps);
	json_t *rows = json_array();
	for (int i = 0; !rc && i < np; i++) {
		const rollup_vec *v = &ps.v[i];
		json_array_append_new(rows, json_pack("{s:o,s:I,s:I,s:I,s:I,s:f,s:I}", "start", view_time(shown[i]),
						      "conversations", (json_int_t)v->v[RM_CREATED], "resolved",
						      (json_int_t)(v->v[RM_RESOLVED] + v->v[RM_CLOSED]), "messages",
						      (json_int_t)chat_msgs(v), "first_responses",
						      (json_int_t)v->v[RM_FRT_N], "first_response_avg_s",
						      round2(ratio(v->v[RM_FRT_SUM], v->v[RM_FRT_N])), "missed",
						      (json_int_t)v->v[RM_MISSED]));
	}
	free(ps.start);
	free(ps.v);
	free(shown);
	if (rc) {
		json_decref(rows);
		answer_rc(req, &q, rc);
		return;
	}
	if (q.csv) {
		static const char *const cols[] = { "start", "conversations", "resolved", "messages",
						    "first_responses", "first_response_avg_s", "missed", NULL };
		store_done(&q.t);
		answer_csv(req, "volume", cols, rows);
		return;
	}
	answer(req, &q, json_pack("{s:s,s:o}", "interval", iv, "data", rows));
}

/* ---------------------------------------------------------------- agents, departments */

typedef struct {
	query *q;
	uint64_t tid;
	json_t *rows;
	bool agents;
	int rc;
} each_ctx;

static json_t *perf_row(const rollup_vec *v)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:I,s:f,s:I}", "conversations", (json_int_t)v->v[RM_CREATED],
			 "handled", (json_int_t)v->v[RM_ASSIGNED], "resolved",
			 (json_int_t)(v->v[RM_RESOLVED] + v->v[RM_CLOSED]), "messages_sent",
			 (json_int_t)(msgs(v, ST_AGENT, RK_TEXT) + msgs(v, ST_AGENT, RK_FILE)), "first_response_avg_s",
			 round2(ratio(v->v[RM_FRT_SUM], v->v[RM_FRT_N])), "resolution_avg_s",
			 round2(ratio(v->v[RM_RES_SUM], v->v[RM_RES_N])), "rating_avg", rating_avg(v), "ratings",
			 (json_int_t)ratings_n(v), "wait_avg_s", round2(ratio(v->v[RM_WAIT_SUM], v->v[RM_WAIT_N])),
			 "missed", (json_int_t)v->v[RM_MISSED]);
}

static bool add_each(void *ctx, uint64_t id, const rollup_vec *v)
{
	each_ctx *e = ctx;
	if (!id && e->agents)
		return true;   /* figures of nobody's conversations */
	json_t *row = perf_row(v);
	json_object_set_new(row, "id", view_id(id));
	if (e->agents) {
		rec_user u;
		json_object_set_new(row, "name",
				    json_string(account_user_get(&e->q->t, e->tid, id, &u) == 0 ? u.name : ""));
		int64_t online = 0;
		e->rc = presencestore_online_ms(&e->q->t, e->tid, id, e->q->from, e->q->to, &online);
		json_object_set_new(row, "online_s", json_integer(online / 1000));
	} else {
		rec_dept d;
		json_object_set_new(row, "name",
				    json_string(deptstore_get(&e->q->t, e->tid, id, &d) == 0 ? d.name : ""));
		uint64_t active = 0, waiting = 0;
		int64_t longest = 0;
		e->rc = now_counts(e->q, e->tid, id, e->q->agent, &active, &waiting, &longest);
		json_object_set_new(row, "active", json_integer((json_int_t)active));
		json_object_set_new(row, "queue", json_integer((json_int_t)waiting));
		json_object_set_new(row, "longest_wait_s", json_integer(longest / 1000));
	}
	json_array_append_new(e->rows, row);
	return e->rc == 0;
}

typedef struct {
	each_ctx *e;
	uint64_t only;
} missing_ctx;

static bool add_missing_dept(void *ctx, const rec_dept *d)
{
	missing_ctx *mc = ctx;
	if (!d || (mc->only && d->id != mc->only))
		return true;
	size_t i;
	json_t *row;
	char ids[24];
	id_str(d->id, ids);
	json_array_foreach(mc->e->rows, i, row)
		if (strcmp(json_string_value(json_object_get(row, "id")), ids) == 0)
			return true;
	static const rollup_vec zero;
	return add_each(mc->e, d->id, &zero);
}

static void list_perf(http_req *req, const principal *p, bool agents)
{
	query q;
	if (q_open(req, p, &q) < 0)
		return;
	each_ctx e = { .q = &q, .tid = p->tid, .rows = json_array(), .agents = agents };
	int rc = rollup_each(&q.t, p->tid, agents, q.dept, q.agent, q.from, q.to, add_each, &e);
	if (!rc)
		rc = e.rc;
	if (!rc && !agents && !q.agent) {   /* every department, with no figures in the range too */
		missing_ctx mc = { .e = &e, .only = q.dept };
		rc = deptstore_each(&q.t, p->tid, add_missing_dept, &mc);
		if (!rc)
			rc = e.rc;
	}
	if (rc) {
		json_decref(e.rows);
		answer_rc(req, &q, rc);
		return;
	}
	if (q.csv) {
		static const char *const acols[] = { "id", "name", "conversations", "handled", "resolved",
						     "messages_sent", "first_response_avg_s", "resolution_avg_s",
						     "rating_avg", "ratings", "wait_avg_s", "missed", "online_s", NULL };
		static const char *const dcols[] = { "id", "name", "conversations", "handled", "resolved",
						     "messages_sent", "first_response_avg_s", "resolution_avg_s",
						     "rating_avg", "ratings", "wait_avg_s", "missed", "active", "queue",
						     "longest_wait_s", NULL };
		store_done(&q.t);
		answer_csv(req, agents ? "agents" : "departments", agents ? acols : dcols, e.rows);
		return;
	}
	answer(req, &q, json_pack("{s:o}", "data", e.rows));
}

static void get_agents(http_req *req, const principal *p)
{
	list_perf(req, p, true);
}

static void get_departments(http_req *req, const principal *p)
{
	list_perf(req, p, false);
}

/* ---------------------------------------------------------------- satisfaction */

typedef struct {
	query *q;
	uint64_t tid;
	json_t *top;
} top_ctx;

static bool add_top(void *ctx, uint64_t id, const rollup_vec *v)
{
	top_ctx *tc = ctx;
	if (!id || !ratings_n(v))
		return true;
	rec_user u;
	json_array_append_new(tc->top, json_pack("{s:o,s:s,s:f,s:I}", "id", view_id(id), "name",
						 account_user_get(&tc->q->t, tc->tid, id, &u) == 0 ? u.name : "",
						 "rating_avg", rating_avg(v), "ratings", (json_int_t)ratings_n(v)));
	return true;
}

static int by_rating(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	double ax = json_real_value(json_object_get(x, "rating_avg")), ay = json_real_value(json_object_get(y, "rating_avg"));
	if (ax != ay)
		return ax < ay ? 1 : -1;
	json_int_t nx = json_integer_value(json_object_get(x, "ratings")), ny = json_integer_value(json_object_get(y, "ratings"));
	return nx < ny ? 1 : nx > ny ? -1 : 0;
}

/* The newest comments of the range (ratings with a comment, under the
 * query's filters), newest first, from the ratings' time index. */
#define RECENT_COMMENTS 10

typedef struct {
	query *q;
	uint64_t tid;
	json_t *rows;
} comments_ctx;

static bool add_comment(void *ctx, const rec_rating *r)
{
	comments_ctx *cc = ctx;
	rec_user u;
	rec_dept d;
	bool has_u = r->agent_id && account_user_get(&cc->q->t, cc->tid, r->agent_id, &u) == 0;
	bool has_d = r->dept_id && deptstore_get(&cc->q->t, cc->tid, r->dept_id, &d) == 0;
	json_array_append_new(cc->rows, json_pack("{s:o,s:o,s:i,s:s,s:o,s:s,s:o,s:s}", "at", view_time(r->created_ms),
						  "conversation_id", view_id(r->cid), "score", (int)r->score,
						  "comment", r->comment, "agent_id",
						  r->agent_id ? view_id(r->agent_id) : json_null(), "agent_name",
						  has_u ? u.name : "", "department_id",
						  r->dept_id ? view_id(r->dept_id) : json_null(), "department_name",
						  has_d ? d.name : ""));
	return json_array_size(cc->rows) < RECENT_COMMENTS;
}

static int recent_comments(query *q, uint64_t tid, json_t **out)
{
	comments_ctx cc = { .q = q, .tid = tid, .rows = json_array() };
	rating_filter f = { .from_ms = q->from, .to_ms = q->to, .dept_id = q->dept, .agent_id = q->agent,
			    .commented = true };
	int rc = cc.rows ? rating_each_recent(&q->t, tid, &f, add_comment, &cc) : STORE_ENOMEM;
	if (rc) {
		json_decref(cc.rows);
		return rc;
	}
	*out = cc.rows;
	return 0;
}

static void get_satisfaction(http_req *req, const principal *p)
{
	query q;
	if (q_open(req, p, &q) < 0)
		return;
	char rows_of[16];
	int rn = http_query(req, "rows", rows_of, sizeof rows_of);
	if (rn >= 0 && strcmp(rows_of, "scores") != 0 && strcmp(rows_of, "comments") != 0) {
		store_done(&q.t);
		api_bad_field(req, "rows", "rows must be scores or comments");
		return;
	}
	json_t *comments = NULL;
	int crc = recent_comments(&q, p->tid, &comments);
	if (crc) {
		answer_rc(req, &q, crc);
		return;
	}
	if (q.csv && rn >= 0 && strcmp(rows_of, "comments") == 0) {
		static const char *const ccols[] = { "at", "conversation_id", "score", "comment", "agent_id",
						     "agent_name", "department_id", "department_name", NULL };
		store_done(&q.t);
		answer_csv(req, "satisfaction-comments", ccols, comments);
		return;
	}
	rollup_vec v;
	top_ctx tc = { .q = &q, .tid = p->tid, .top = json_array() };
	int rc = rollup_sum(&q.t, p->tid, q.dept, q.agent, q.from, q.to, &v);
	if (!rc)
		rc = rollup_each(&q.t, p->tid, true, q.dept, q.agent, q.from, q.to, add_top, &tc);
	if (rc) {
		json_decref(tc.top);
		json_decref(comments);
		answer_rc(req, &q, rc);
		return;
	}
	size_t n = json_array_size(tc.top);
	json_t **items = n ? malloc(n * sizeof *items) : NULL;
	json_t *top = json_array();
	if (items) {
		for (size_t i = 0; i < n; i++)
			items[i] = json_incref(json_array_get(tc.top, i));
		qsort(items, n, sizeof *items, by_rating);
		for (size_t i = 0; i < n; i++) {
			if (i < 10)
				json_array_append(top, items[i]);
			json_decref(items[i]);
		}
		free(items);
	}
	json_decref(tc.top);
	uint64_t rated = ratings_n(&v), finished = v.v[RM_RESOLVED] + v.v[RM_CLOSED];
	json_t *dist = json_object();
	for (int i = 0; i < 5; i++) {
		char k[2] = { (char)('1' + i), 0 };
		json_object_set_new(dist, k, json_integer((json_int_t)v.v[RM_RATING + i]));
	}
	if (q.csv) {
		static const char *const cols[] = { "score", "ratings", NULL };
		json_t *rows = json_array();
		for (int i = 0; i < 5; i++)
			json_array_append_new(rows, json_pack("{s:i,s:I}", "score", i + 1, "ratings",
							      (json_int_t)v.v[RM_RATING + i]));
		json_decref(dist);
		json_decref(top);
		json_decref(comments);
		store_done(&q.t);
		answer_csv(req, "satisfaction", cols, rows);
		return;
	}
	answer(req, &q, json_pack("{s:{s:o,s:I,s:f,s:f,s:o,s:o}}", "data", "distribution", dist, "ratings",
				  (json_int_t)rated, "average", rating_avg(&v), "response_rate",
				  round2(ratio(rated, finished)), "top_agents", top, "recent_comments", comments));
}

/* ---------------------------------------------------------------- messages */

static const char *const kind_names[RK__COUNT] = { "text", "file", "note", "system" };
static const char *const sender_names[ST__COUNT] = { "visitor", "agent", "system" };

static void get_messages(http_req *req, const principal *p)
{
	query q;
	if (q_open(req, p, &q) < 0)
		return;
	rollup_vec v;
	int rc = rollup_sum(&q.t, p->tid, q.dept, q.agent, q.from, q.to, &v);
	if (rc) {
		answer_rc(req, &q, rc);
		return;
	}
	json_t *rows = json_array();
	uint64_t all = 0, all_len = 0;
	for (int s = 0; s < ST__COUNT; s++)
		for (int k = 0; k < RK__COUNT; k++) {
			uint64_t n = msgs(&v, s, k), len = msg_len(&v, s, k);
			all += n;
			all_len += len;
			if (!n)
				continue;
			json_array_append_new(rows, json_pack("{s:s,s:s,s:I,s:f}", "sender", sender_names[s], "kind",
							      kind_names[k], "count", (json_int_t)n,
							      "average_length", round2(ratio(len, n))));
		}
	if (q.csv) {
		static const char *const cols[] = { "sender", "kind", "count", "average_length", NULL };
		store_done(&q.t);
		answer_csv(req, "messages", cols, rows);
		return;
	}
	json_t *kinds = json_object();
	for (int k = 0; k < RK__COUNT; k++) {
		uint64_t n = 0;
		for (int s = 0; s < ST__COUNT; s++)
			n += msgs(&v, s, k);
		json_object_set_new(kinds, kind_names[k], json_integer((json_int_t)n));
	}
	uint64_t asent = msgs(&v, ST_AGENT, RK_TEXT) + msgs(&v, ST_AGENT, RK_FILE);
	uint64_t vsent = msgs(&v, ST_VISITOR, RK_TEXT) + msgs(&v, ST_VISITOR, RK_FILE);
	answer(req, &q,
	       json_pack("{s:{s:I,s:o,s:o,s:{s:I,s:I,s:I},s:{s:I,s:I,s:I},s:f}}", "data", "total", (json_int_t)all,
			 "by_kind", kinds, "by_sender", rows, "to_visitors", "sent", (json_int_t)asent, "delivered",
			 (json_int_t)v.v[RM_VDELIVERED], "read", (json_int_t)v.v[RM_VREAD], "to_agents", "sent",
			 (json_int_t)vsent, "delivered", (json_int_t)v.v[RM_ADELIVERED], "read",
			 (json_int_t)v.v[RM_AREAD], "average_length", round2(ratio(all_len, all))));
}

/* ---------------------------------------------------------------- the feature */

static int analytics_start(app *a)
{
	static const emit_sink sink = { .name = "analytics", .in_txn = on_event };
	db_set_rollups(a->db, !a->cfg.no_rollups);
	return emit_register(a, &sink) < 0 || alerts_start(a) < 0 || alerts_start_checks(a) < 0 ? -1 : 0;
}

static const route_def routes[] = {
	{ "GET", "/v1/analytics/overview", PERM_ANALYTICS, get_overview },
	{ "GET", "/v1/analytics/volume", PERM_ANALYTICS, get_volume },
	{ "GET", "/v1/analytics/agents", PERM_ANALYTICS, get_agents },
	{ "GET", "/v1/analytics/departments", PERM_ANALYTICS, get_departments },
	{ "GET", "/v1/analytics/satisfaction", PERM_ANALYTICS, get_satisfaction },
	{ "GET", "/v1/analytics/messages", PERM_ANALYTICS, get_messages },
	{ "GET", "/v1/alerts", PERM_ANALYTICS, alerts_list },
	{ 0 },
};

const feature feature_analytics = { .name = "analytics", .routes = routes, .start = analytics_start,
				     .stop = alerts_stop };
