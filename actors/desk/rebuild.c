/* rebuild — the desk's state from the stores, at start, before the
 * listener opens: each department's queue (its waiting, unassigned
 * conversations) and each agent's load (its open, pending and snoozed
 * conversations). The conversations are walked by status through the
 * status index, never through their history, so the cost follows what is
 * live, not what was ever stored. */
#include "actors/desk/desk.h"
#include "core/log.h"
#include "storage/account_store.h"
#include "storage/conv_store.h"
#include "storage/dept_store.h"

#include <stdlib.h>

typedef struct {
	app *a;
	store_txn *t;
	uint64_t tid, def;
	struct {
		uint64_t uid;
		uint32_t n;
	} *loads;
	size_t nloads, cap;
	size_t waiting, open;
	bool failed;
} walk;

static bool count_load(walk *w, uint64_t uid)
{
	for (size_t i = 0; i < w->nloads; i++)
		if (w->loads[i].uid == uid) {
			w->loads[i].n++;
			return true;
		}
	if (w->nloads == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		void *n = realloc(w->loads, cap * sizeof *w->loads);
		if (!n) {
			w->failed = true;
			return false;
		}
		w->loads = n;
		w->cap = cap;
	}
	w->loads[w->nloads].uid = uid;
	w->loads[w->nloads++].n = 1;
	return true;
}

static bool on_waiting(void *ctx, uint64_t cid, const rec_conv *c)
{
	walk *w = ctx;
	if (!c)
		return true;
	if (c->assignee_id)
		return count_load(w, c->assignee_id);
	uint64_t did = c->dept_id ? c->dept_id : w->def;
	desk_msg *m = desk_msg_new(DK_ENQUEUE);
	if (!m || !did) {
		desk_msg_free(m);
		return true;
	}
	m->cid = cid;
	m->priority = c->priority;
	m->since_ms = c->waiting_since_ms ? c->waiting_since_ms : c->updated_ms;
	m->state = 1;        /* rebuilt: no email again */
	m->ok = c->offline;  /* as stored */
	desk_to_dept(w->a, w->tid, did, m);
	w->waiting++;
	return true;
}

static bool on_open(void *ctx, uint64_t cid, const rec_conv *c)
{
	walk *w = ctx;
	if (c && c->assignee_id) {
		w->open++;
		return count_load(w, c->assignee_id);
	}
	return true;
}

static bool init_dept(void *ctx, const rec_dept *d)
{
	walk *w = ctx;
	desk_msg *m = desk_msg_new(DK_INIT);
	if (m)
		desk_to_dept(w->a, w->tid, d->id, m);
	return true;
}

static bool on_tenant(void *ctx, uint64_t tid)
{
	walk *w = ctx;
	w->tid = tid;
	w->nloads = 0;
	w->def = deptstore_resolve(w->t, tid, 0);
	deptstore_each(w->t, tid, init_dept, w);
	if (convstore_each_conv(w->t, tid, CONVSTORE_BY_STATUS, CS_WAITING, 0, on_waiting, w) != 0)
		w->failed = true;
	static const int live[] = { CS_OPEN, CS_PENDING, CS_SNOOZED };
	for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
		if (convstore_each_conv(w->t, tid, CONVSTORE_BY_STATUS, (uint64_t)live[i], 0, on_open, w) != 0)
			w->failed = true;
	for (size_t i = 0; i < w->nloads; i++) {
		desk_msg *m = desk_msg_new(DK_INIT);
		if (!m)
			break;
		m->load = w->loads[i].n;
		desk_to_agent(w->a, tid, w->loads[i].uid, m);
	}
	return !w->failed;
}

int desk_rebuild(app *a)
{
	store_txn t;
	if (store_read(a->db, &t))
		return -1;
	walk w = { .a = a, .t = &t };
	int rc = account_tenant_each(&t, on_tenant, &w);
	store_done(&t);
	free(w.loads);
	if (rc || w.failed) {
		log_error("desk.rebuild", "msg=\"the desk's state could not be read\"");
		return -1;
	}
	log_info("desk.rebuilt", "waiting=%zu assigned=%zu", w.waiting, w.open);
	return 0;
}
