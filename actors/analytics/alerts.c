/* alerts — what supervisors are told at once (docs/analytics.md, "Alerts"):
 * a rating of 1 or 2; a conversation waiting past its department's SLA;
 * a department in business hours with no member online.
 *
 * Each alert is a row of DB_ALERTS (storage/alert_store.h) written in a
 * write transaction — the rating's own (from the analytics sink), or a
 * check's — with a marker so one breach raises one alert however often it
 * is seen. After the commit (the writer's after-batch hook) each new alert
 * goes live to the tenant's consoles watching the inbox, supervisors and
 * up only: {"type":"inbox","event":"alert","alert":{…}}.
 *
 * GET /v1/alerts lists them newest first with filters (kind, department,
 * agent, conversation, from, to) and a cursor.
 */
#include "actors/analytics/analytics.h"
#include "actors/analytics/internal.h"
#include "actors/conversations/inbox.h"
#include "actors/kit/api.h"
#include "actors/kit/perm.h"
#include "actors/kit/view.h"
#include "storage/alert_store.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[ALERT__COUNT] = { "sla", "no_agent", "rating" };

static int kind_parse(const char *s)
{
	for (int i = 0; i < ALERT__COUNT; i++)
		if (strcmp(s, kind_names[i]) == 0)
			return i;
	return -1;
}

json_t *alert_view(const rec_alert *a)
{
	return json_pack("{s:o,s:s,s:o,s:s,s:o,s:o,s:o,s:o,s:I}", "id", view_id(a->id), "kind",
			 a->kind < ALERT__COUNT ? kind_names[a->kind] : "unknown", "at", view_time(a->at_ms), "message",
			 a->message, "conversation_id", a->cid ? view_id(a->cid) : json_null(), "department_id",
			 a->dept_id ? view_id(a->dept_id) : json_null(), "agent_id",
			 a->agent_id ? view_id(a->agent_id) : json_null(), "score",
			 a->score ? json_integer(a->score) : json_null(), "wait_s", (json_int_t)a->wait_s);
}

/* ---------------------------------------------------------------- after the commit */

typedef struct staged {
	struct staged *next;
	rec_alert a;
} staged;

static staged *pending;          /* writer thread only: raised in the open batch */
static app *the_app;

static void after_batch(void *ctx, int rc)
{
	(void)ctx;
	while (pending) {
		staged *s = pending;
		pending = s->next;
		if (rc == 0 && the_app) {
			json_t *f = json_pack("{s:s,s:s,s:o}", "type", "inbox", "event", "alert", "alert", alert_view(&s->a));
			inbox_broadcast_role(the_app, s->a.tid, f, ROLE_SUPERVISOR);
		}
		free(s);
	}
}

int alerts_raise(store_txn *tx, rec_alert *a, bool marked, uint64_t subject, int64_t breach)
{
	int rc = alertstore_raise(tx, a, marked, subject, breach);
	if (rc != 0)
		return rc == 1 ? 0 : rc;
	staged *s = malloc(sizeof *s);
	if (!s)
		return STORE_ENOMEM;
	s->a = *a;
	s->next = pending;
	pending = s;
	log_info("alert.raised", "tid=%llu kind=%s cid=%llu", (unsigned long long)a->tid, kind_names[a->kind],
		 (unsigned long long)a->cid);
	return 0;
}

int alerts_start(app *a)
{
	the_app = a;
	writer_hook h = { after_batch, NULL, NULL };
	return writer_add_hook(a->wr, &h);
}

/* ---------------------------------------------------------------- the list */

typedef struct {
	api_list l;
	int64_t left;
} page;

static bool add_row(void *ctx, const rec_alert *a)
{
	page *p = ctx;
	if (!api_list_add(&p->l, alert_view(a)))
		return false;
	return --p->left > 0;
}

static int q_id(http_req *req, const char *name, uint64_t *out)
{
	char s[32], m[80];
	int n = http_query(req, name, s, sizeof s);
	*out = 0;
	if (n == -1)
		return 0;
	if (n > 0 && id_parse(s, (size_t)n, out))
		return 0;
	snprintf(m, sizeof m, "%s must be an id", name);
	return api_bad_field(req, name, m);
}

static int q_time(http_req *req, const char *name, int64_t *out)
{
	char s[40], m[120];
	int n = http_query(req, name, s, sizeof s);
	*out = 0;
	if (n == -1)
		return 0;
	if (n > 0 && clock_parse_iso8601(s, (size_t)n, out) == 0)
		return 0;
	snprintf(m, sizeof m, "%s must be an ISO-8601 UTC time (2026-01-31T00:00:00Z)", name);
	return api_bad_field(req, name, m);
}

void alerts_list(http_req *req, const principal *p)
{
	alertstore_filter f = { .kind = -1, .max_scan = 10000 };
	char kind[16];
	int64_t limit;
	int n = http_query(req, "kind", kind, sizeof kind);
	if (n != -1 && (n < 0 || (f.kind = kind_parse(kind)) < 0)) {
		api_bad_field(req, "kind", "kind must be sla, no_agent or rating");
		return;
	}
	if (q_id(req, "department_id", &f.dept_id) < 0 || q_id(req, "agent_id", &f.agent_id) < 0 ||
	    q_id(req, "conversation_id", &f.cid) < 0 || q_time(req, "from", &f.from_ms) < 0 ||
	    q_time(req, "to", &f.to_ms) < 0 || q_id(req, "cursor", &f.before) < 0 ||
	    api_query_int(req, "limit", 50, 1, 200, &limit) < 0)
		return;
	if (f.from_ms && f.to_ms && f.from_ms > f.to_ms) {
		api_bad_field(req, "from", "from must not be after to");
		return;
	}
	if (role_parse(p->role) <= ROLE_AGENT) {   /* agents: alerts about them only */
		if (f.agent_id && f.agent_id != p->id) {
			http_respond_error(req, 403, "forbidden", "agents see their own alerts only", "agent_id");
			return;
		}
		f.agent_id = p->id;
	}
	store_txn t;
	if (store_read(api_app(req)->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	page pg = { .left = limit };
	api_list_init(&pg.l);
	uint64_t next = 0;
	int rc = pg.l.failed ? STORE_ENOMEM : alertstore_each(&t, p->tid, &f, add_row, &pg, &next);
	store_done(&t);
	if (rc || pg.l.failed) {
		api_list_answer(req, &pg.l, rc);
		return;
	}
	http_respond_json(req, 200, json_pack("{s:o,s:o}", "data", pg.l.data, "next_cursor", view_id(next)));
}
