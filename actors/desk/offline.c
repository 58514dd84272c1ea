/* offline — the offline email, written in a writer transaction through
 * the outbox (docs/email.md). */
#include "actors/desk/offline.h"
#include "actors/email/queue.h"
#include "core/log.h"
#include "storage/account_store.h"
#include "storage/conv_store.h"
#include "storage/dept_store.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	wr_req w;
	app *app;
	uint64_t tid, did;
	size_t n;
	uint64_t cids[];
} offline_write;

static int apply(wr_req *w, store_txn *t)
{
	offline_write *o = container_of(w, offline_write, w);
	rec_dept d;
	int rc = deptstore_get(t, o->tid, o->did, &d);
	if (rc)
		return rc == STORE_ENOTFOUND || rc == STORE_ECORRUPT ? 0 : rc;
	rec_conv *convs = calloc(o->n, sizeof *convs);
	if (!convs)
		return 0;
	size_t k = 0;
	for (size_t i = 0; i < o->n; i++) {
		if (convstore_get(t, o->tid, o->cids[i], &convs[k]) != 0)
			continue;
		/* the visitor may have left an address since (the offline form:
		 * POST /v1/widget/session with their token) */
		rec_visitor v;
		if (account_visitor_get(t, o->tid, convs[k].visitor_id, &v) == 0) {
			if (v.name[0])
				strcpy(convs[k].visitor_name, v.name);
			if (v.email[0])
				strcpy(convs[k].visitor_email, v.email);
		}
		k++;
	}
	rc = k ? email_queue_offline(o->app, t, &d, convs, k) : 0;
	free(convs);
	return rc;
}

static void done(wr_req *w, int rc)
{
	offline_write *o = container_of(w, offline_write, w);
	if (rc)
		log_warn("desk.offline_email", "tid=%llu dept=%llu n=%zu err=\"%s\"", (unsigned long long)o->tid,
			 (unsigned long long)o->did, o->n, store_strerror(rc));
	free(o);
}

void desk_offline_email(app *a, uint64_t tid, uint64_t did, const uint64_t *cids, size_t n)
{
	offline_write *o = calloc(1, sizeof *o + n * sizeof o->cids[0]);
	if (!o)
		return;
	o->app = a;
	o->tid = tid;
	o->did = did;
	o->n = n;
	memcpy(o->cids, cids, n * sizeof cids[0]);
	o->w.apply = apply;
	o->w.done = done;
	writer_submit(a->wr, &o->w);
}
