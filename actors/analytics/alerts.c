/* alerts — what supervisors are told at once (docs/analytics.md, "Alerts"):
 * a rating of 1 or 2; a conversation waiting past its department's SLA;
 * a department in business hours with no member online.
 *
 * Each alert is a row of the alert store (storage/alert_store.h) written in a
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
#include "actors/kit/daily.h"
#include "actors/conversations/inbox.h"
#include "actors/kit/api.h"
#include "actors/kit/perm.h"
#include "actors/kit/view.h"
#include "storage/account_store.h"
#include "storage/alert_store.h"
#include "storage/conv_store.h"
#include "storage/dept_store.h"
#include "storage/presence_store.h"
#include "storage/rollup_store.h"
#include "core/clock.h"
#include "core/hours.h"
#include "core/tz.h"
#include "core/id.h"
#include "core/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
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

/* An alert raised in the writer's open batch (app.alerts_staged). */
typedef struct alert_staged {
	struct alert_staged *next;
	rec_alert a;
} staged;

/* The rollups' figures of the batch, written once before its commit
 * (storage/rollup_store.h, deferred figures). */
static int before_commit(void *ctx, store_txn *tx)
{
	(void)ctx;
	return rollup_flush_deferred(tx);
}

static void after_batch(void *ctx, int rc)
{
	app *ap = ctx;
	if (rc)
		rollup_drop_deferred(ap->db);
	while (ap->alerts_staged) {
		staged *s = ap->alerts_staged;
		ap->alerts_staged = s->next;
		if (rc == 0) {
			json_t *f = json_pack("{s:s,s:s,s:o}", "type", "inbox", "event", "alert", "alert", alert_view(&s->a));
			inbox_broadcast_to(ap, s->a.tid, f, ROLE_SUPERVISOR, 0);
		}
		free(s);
	}
}

int alerts_raise(app *ap, store_txn *tx, rec_alert *a, bool marked, uint64_t subject, int64_t breach)
{
	int rc = alertstore_raise(tx, a, marked, subject, breach);
	if (rc != 0)
		return rc == 1 ? 0 : rc;
	staged *s = malloc(sizeof *s);
	if (!s)
		return STORE_ENOMEM;
	s->a = *a;
	s->next = ap->alerts_staged;
	ap->alerts_staged = s;
	log_info("alert.raised", "tid=%llu kind=%s cid=%llu", (unsigned long long)a->tid, kind_names[a->kind],
		 (unsigned long long)a->cid);
	return 0;
}

int alerts_start(app *a)
{
	if (rollup_defer(a->db, true))
		return -1;
	writer_hook h = { .after_batch = after_batch, .before_commit = before_commit, .ctx = a };
	return writer_add_hook(a->wr, &h) < 0 ? -1 : 0;
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
	if (api_query_id(req, "department_id", &f.dept_id) < 0 || api_query_id(req, "agent_id", &f.agent_id) < 0 ||
	    api_query_id(req, "conversation_id", &f.cid) < 0 || api_query_time(req, "from", &f.from_ms) < 0 ||
	    api_query_time(req, "to", &f.to_ms) < 0 || api_query_id(req, "cursor", &f.before) < 0 ||
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

/* ---------------------------------------------------------------- the checks */

#define CHECK_MAX 1000   /* candidates one check raises at most (the rest: the next check) */

typedef struct {
	uint8_t kind;
	uint64_t tid, cid, dept;
	int64_t breach;
	uint64_t wait_s;
	char name[REC_NAME_MAX + 1];
} candidate;

typedef struct {
	wr_req w;
	app *app;
	int n;
	candidate c[CHECK_MAX];
} check_req;

static int check_apply(wr_req *w, store_txn *tx)
{
	check_req *r = container_of(w, check_req, w);
	int64_t now = clock_now_ms();
	for (int i = 0; i < r->n; i++) {
		const candidate *c = &r->c[i];
		rec_alert a = { .tid = c->tid, .kind = c->kind, .at_ms = now, .cid = c->cid, .dept_id = c->dept,
				.wait_s = c->wait_s };
		if (c->kind == ALERT_SLA)
			snprintf(a.message, sizeof a.message, "%s has waited %llu min in %s, past its SLA", c->name[0] ? c->name : "A visitor",
				 (unsigned long long)(c->wait_s / 60), "the queue");
		else
			snprintf(a.message, sizeof a.message, "No agent of %s is online during its business hours", c->name);
		int rc = alerts_raise(r->app, tx, &a, true, c->kind == ALERT_SLA ? c->cid : c->dept, c->breach);
		if (rc)
			return rc;
	}
	return 0;
}

static void check_done(wr_req *w, int rc)
{
	if (rc)
		log_error("alert.check", "err=\"%s\"", store_strerror(rc));
	check_req *r = container_of(w, check_req, w);
	app *a = r->app;
	free(r);
	atomic_store(&a->alert_checking, false);
}

typedef struct {
	store_txn *t;
	hours_zones *zones;
	check_req *r;
	uint64_t tid;
	int64_t now;
	rec_dept depts[64];
	int nd;
	uint64_t def;
	bool staffed;
} check_walk;

static const rec_dept *dept_of(check_walk *cw, uint64_t did)
{
	if (!did)
		did = cw->def;
	for (int i = 0; i < cw->nd; i++)
		if (cw->depts[i].id == did)
			return &cw->depts[i];
	return NULL;
}

static bool add_dept(void *ctx, const rec_dept *d)
{
	check_walk *cw = ctx;
	if (d && cw->nd < 64) {
		cw->depts[cw->nd++] = *d;
		if (d->is_default)
			cw->def = d->id;
	}
	return true;
}

static bool waiting_conv(void *ctx, uint64_t cid, const rec_conv *c)
{
	(void)cid;
	check_walk *cw = ctx;
	if (!c || c->status != CS_WAITING || !c->waiting_since_ms || cw->r->n >= CHECK_MAX)
		return cw->r->n < CHECK_MAX;
	const rec_dept *d = dept_of(cw, c->dept_id);
	uint64_t sla = d && d->sla_high_s ? d->sla_high_s : 180;
	int64_t waited = cw->now - c->waiting_since_ms;
	if (waited < (int64_t)sla * 1000)
		return true;
	candidate *k = &cw->r->c[cw->r->n++];
	*k = (candidate){ .kind = ALERT_SLA, .tid = c->tid, .cid = c->id, .dept = d ? d->id : c->dept_id,
			  .breach = c->waiting_since_ms, .wait_s = (uint64_t)waited / 1000 };
	snprintf(k->name, sizeof k->name, "%s", c->visitor_name);
	return true;
}

static bool member_online(void *ctx, uint64_t uid)
{
	check_walk *cw = ctx;
	rec_presence pr;
	if (presencestore_last(cw->t, cw->tid, uid, &pr) == 0 && pr.state == PR_ONLINE)
		cw->staffed = true;
	return !cw->staffed;
}

static bool check_tenant(void *ctx, uint64_t tid)
{
	check_walk *cw = ctx;
	cw->tid = tid;
	cw->nd = 0;
	cw->def = 0;
	if (deptstore_each(cw->t, tid, add_dept, cw))
		return true;
	convstore_each_conv(cw->t, tid, CONVSTORE_BY_STATUS, CS_WAITING, 0, waiting_conv, cw);
	for (int i = 0; i < cw->nd && cw->r->n < CHECK_MAX; i++) {
		const rec_dept *d = &cw->depts[i];
		if (!d->active || !d->hours[0])
			continue;
		hours h;
		if (hours_parse(d->hours, &h) || hours_is_open(cw->zones, &h, d->timezone, cw->now) != 1)
			continue;
		cw->staffed = false;
		deptstore_each_member(cw->t, tid, d->id, member_online, cw);
		if (cw->staffed)
			continue;
		int err = 0;
		const tz *z = hours_zone(cw->zones, d->timezone, &err);
		int64_t off = z ? (int64_t)tz_offset(z, cw->now / 1000, NULL) * 1000 : 0;
		candidate *k = &cw->r->c[cw->r->n++];
		*k = (candidate){ .kind = ALERT_NO_AGENT, .tid = tid, .dept = d->id,
				  .breach = (cw->now + off) / (86400 * 1000LL) };
		snprintf(k->name, sizeof k->name, "%s", d->name);
	}
	return cw->r->n < CHECK_MAX;
}

static void on_check(struct ev_loop *loop, ev_timer *tm, int revents)
{
	(void)loop;
	(void)revents;
	app *a = tm->data;
	if (!atomic_load(&a->ready) || atomic_exchange(&a->alert_checking, true))
		return;
	check_req *r = calloc(1, sizeof *r);
	store_txn t;
	if (!r || store_read(a->db, &t)) {
		free(r);
		atomic_store(&a->alert_checking, false);
		return;
	}
	r->app = a;
	check_walk cw = { .t = &t, .zones = a->zones, .r = r, .now = clock_now_ms() };
	account_tenant_each(&t, check_tenant, &cw);
	store_done(&t);
	if (!r->n) {
		free(r);
		atomic_store(&a->alert_checking, false);
		return;
	}
	r->w.apply = check_apply;
	r->w.done = check_done;
	writer_submit(a->wr, &r->w);
}

int alerts_start_checks(app *a)
{
	periodic_start(a, &a->alert_check, (double)a->cfg.alert_check_ms / 1000.0, on_check, a);
	return 0;
}

void alerts_stop(app *a)
{
	periodic_stop(a, &a->alert_check);
	struct timespec tick = { 0, 1000 * 1000 };
	for (int i = 0; i < 5000 && atomic_load(&a->alert_checking); i++)   /* a check's write under way */
		nanosleep(&tick, NULL);
}
