/* audit — reading the tenant's audit log (docs/openapi.yaml, tag audit)
 * and keeping it to its retention.
 *
 * GET /v1/audit (settings: owners and admins, admin keys) walks the log
 * newest first (storage/audit_store.h) with filters on the actor, the
 * action, the record (type, id) and a time range, a page at a time: the
 * answer's next_cursor, passed back as cursor, goes on where it stopped.
 * One request examines at most SCAN_MAX rows, so a filter that matches
 * little answers a short (even empty) page with a cursor rather than
 * walking the whole log.
 *
 * Rows are written by the features themselves (kit/audit.h), in the
 * transaction of each change. Rows older than --audit-retention-days
 * (default 365) are deleted at start, before the server listens, and then
 * once a day by a timer on loop 0: writer requests of at most PRUNE_BATCH
 * rows each, one after another, so no single commit is long.
 */
#include "actors/kit/api.h"
#include "actors/kit/audit.h"
#include "actors/kit/daily.h"
#include "actors/kit/view.h"
#include "storage/audit_store.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCAN_MAX 10000
#define LIMIT_DEFAULT 50
#define LIMIT_MAX 200
#define PRUNE_BATCH 500
#define DAY_MS (86400 * 1000LL)

/* ---------------------------------------------------------------- reads */

static const char *actor_type(int kind)
{
	switch (kind) {
	case P_AGENT: return "user";
	case P_APIKEY: return "api_key";
	case AUDIT_SYSTEM: return "system";
	default: return "unknown";
	}
}

static json_t *view_row(const rec_audit *r)
{
	json_t *det = json_loads(r->details, 0, NULL);
	if (!det)
		det = json_object();
	return json_pack("{s:o,s:o,s:{s:s,s:o,s:s},s:s,s:s,s:o,s:s,s:o}", "id", view_id(r->id), "at", view_time(r->at_ms),
			 "actor", "type", actor_type(r->actor_kind), "id", view_id(r->actor_id), "name", r->actor_name,
			 "action", r->action, "record_type", r->record_type, "record_id", view_id(r->record_id), "addr",
			 r->addr, "details", det);
}

typedef struct {
	api_list l;
	int64_t left;
} page;

static bool add_row(void *ctx, const rec_audit *r)
{
	page *p = ctx;
	if (!api_list_add(&p->l, view_row(r)))
		return false;
	return --p->left > 0;
}

static int query_word(http_req *req, const char *name, char *out, size_t cap)
{
	char m[80];
	int n = http_query(req, name, out, cap);
	if (n == -1) {
		out[0] = 0;
		return 0;
	}
	if (n > 0)
		return 0;
	snprintf(m, sizeof m, "%s must be 1 to %zu characters", name, cap - 1);
	return api_bad_field(req, name, m);
}

static void list_audit(http_req *req, const principal *p)
{
	char action[REC_ACTION_MAX + 1], rtype[REC_ACTION_MAX + 1];
	auditstore_filter f = { .max_scan = SCAN_MAX };
	int64_t limit;
	if (api_query_id(req, "actor_id", &f.actor_id) < 0 || query_word(req, "action", action, sizeof action) < 0 ||
	    query_word(req, "record_type", rtype, sizeof rtype) < 0 || api_query_id(req, "record_id", &f.record_id) < 0 ||
	    api_query_time(req, "from", &f.from_ms) < 0 || api_query_time(req, "to", &f.to_ms) < 0 ||
	    api_query_id(req, "cursor", &f.before) < 0 ||
	    api_query_int(req, "limit", LIMIT_DEFAULT, 1, LIMIT_MAX, &limit) < 0)
		return;
	if (f.from_ms && f.to_ms && f.from_ms > f.to_ms) {
		api_bad_field(req, "from", "from must not be after to");
		return;
	}
	f.action = action;
	f.record_type = rtype;
	store_txn t;
	if (store_read(api_app(req)->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	page pg = { .left = limit };
	api_list_init(&pg.l);
	uint64_t next = 0;
	int rc = pg.l.failed ? STORE_ENOMEM : auditstore_each(&t, p->tid, &f, add_row, &pg, &next);
	store_done(&t);
	if (rc || pg.l.failed) {
		api_list_answer(req, &pg.l, rc);
		return;
	}
	http_respond_json(req, 200, json_pack("{s:o,s:o}", "data", pg.l.data, "next_cursor", view_id(next)));
}

/* ------------------------------------------------------------- retention */

typedef struct {
	wr_req w;
	app *app;
	int64_t before_ms;
	int64_t total;
	int n;                       /* rows the batch deleted */
	bool sync;                   /* the start's run: signal, not chain */
	pthread_mutex_t mu;          /* sync: */
	pthread_cond_t cv;
	int batches;                 /* batches done */
	bool more;                   /* the last one was full */
} prune_op;

static int prune_apply(wr_req *w, store_txn *t)
{
	prune_op *op = container_of(w, prune_op, w);
	op->n = auditstore_prune(t, op->before_ms, PRUNE_BATCH);
	return op->n < 0 ? op->n : 0;
}

static void prune_done(wr_req *w, int rc)
{
	prune_op *op = container_of(w, prune_op, w);
	if (rc == 0)
		op->total += op->n;
	bool more = rc == 0 && op->n == PRUNE_BATCH;
	if (rc)
		log_error("audit.prune", "err=\"%s\"", store_strerror(rc));
	if (op->sync) {
		pthread_mutex_lock(&op->mu);
		op->batches++;
		op->more = more;
		pthread_cond_signal(&op->cv);
		pthread_mutex_unlock(&op->mu);
		return;   /* the starter resubmits it or ends */
	}
	if (more) {
		writer_submit(op->app->wr, &op->w);
		return;
	}
	if (op->total)
		log_info("audit.pruned", "rows=%lld", (long long)op->total);
	atomic_store(&op->app->audit_pruning, false);
	free(op);
}

static int64_t cutoff(app *a)
{
	return clock_now_ms() - a->cfg.audit_retention_days * DAY_MS;
}

static void on_prune(struct ev_loop *ev, ev_timer *tm, int revents)
{
	(void)ev;
	(void)revents;
	app *a = tm->data;
	if (!atomic_load(&a->ready) || atomic_exchange(&a->audit_pruning, true))
		return;
	prune_op *op = calloc(1, sizeof *op);
	if (!op) {
		atomic_store(&a->audit_pruning, false);
		return;
	}
	op->app = a;
	op->before_ms = cutoff(a);
	op->w.apply = prune_apply;
	op->w.done = prune_done;
	writer_submit(a->wr, &op->w);
}

/* At start: prune to the retention before the server listens (batches
 * through the writer, waited for), then once a day. */
static int audit_start(app *a)
{
	prune_op op = { .app = a, .before_ms = cutoff(a), .sync = true };
	pthread_mutex_init(&op.mu, NULL);
	pthread_cond_init(&op.cv, NULL);
	op.w.apply = prune_apply;
	op.w.done = prune_done;
	bool more;
	do {
		pthread_mutex_lock(&op.mu);
		int target = op.batches + 1;
		pthread_mutex_unlock(&op.mu);
		writer_submit(a->wr, &op.w);   /* (done may run in here when the writer stops) */
		pthread_mutex_lock(&op.mu);
		while (op.batches < target)
			pthread_cond_wait(&op.cv, &op.mu);
		more = op.more;
		pthread_mutex_unlock(&op.mu);
	} while (more);
	pthread_mutex_destroy(&op.mu);
	pthread_cond_destroy(&op.cv);
	if (op.total)
		log_info("audit.pruned", "rows=%lld", (long long)op.total);
	daily_start(a, &a->audit_prune, on_prune, a);
	return 0;
}

/* Stops the timer (the writer it submits to goes away after the stop
 * hooks); a daily run under way finishes in the writer's last batches. */
static void audit_stop(app *a)
{
	daily_stop(a, &a->audit_prune);
}

static const route_def routes[] = {
	{ "GET", "/v1/audit", PERM_SETTINGS, list_audit },
	{ 0 },
};

const feature feature_audit = { .name = "audit", .routes = routes, .start = audit_start, .stop = audit_stop };
