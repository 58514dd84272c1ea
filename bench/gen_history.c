/* parley-gen-history — fills a data directory with closed conversations,
 * for the routing benchmark's "routing cost must not grow with stored
 * history" check (bench/routing.py, docs/performance.md).
 *
 *   parley-gen-history --data DIR --tenant SLUG --count N
 *
 * Writes N resolved-then-closed conversations of one visitor of the
 * tenant, each with a created event and one visitor message, 10,000 per
 * transaction, through the conversation store (the same records and
 * indexes the server writes). Run it with the server stopped.
 */
#include "core/clock.h"
#include "core/id.h"
#include "storage/account_store.h"
#include "storage/conv_store.h"
#include "storage/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *arg(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return def;
}

int main(int argc, char **argv)
{
	const char *dir = arg(argc, argv, "--data", NULL), *slug = arg(argc, argv, "--tenant", "demo");
	long n = atol(arg(argc, argv, "--count", "1000000"));
	if (!dir || n <= 0) {
		fprintf(stderr, "usage: parley-gen-history --data DIR [--tenant SLUG] [--count N]\n");
		return 2;
	}
	int err = 0;
	db_opts o = { .no_sync = true };
	db *d = db_open(dir, &o, &err);
	if (!d) {
		fprintf(stderr, "cannot open %s: %s\n", dir, store_strerror(err));
		return 1;
	}
	id_gen ids = { 0 };
	store_txn t;
	rec_tenant ten;
	if (store_read(d, &t) || account_tenant_by_slug(&t, slug, &ten)) {
		fprintf(stderr, "no tenant %s\n", slug);
		return 1;
	}
	store_done(&t);
	int64_t now = clock_now_ms() - 86400000;
	rec_visitor v = { .tid = ten.id, .id = id_next(&ids), .created_ms = now };
	strcpy(v.name, "History");
	rec_event *ev[2];
	ev[0] = calloc(1, sizeof **ev);
	ev[1] = calloc(1, sizeof **ev);
	long done = 0;
	int64_t t0 = clock_mono_ns();
	while (done < n) {
		if (store_write(d, &t)) {
			fprintf(stderr, "write failed\n");
			return 1;
		}
		if (done == 0 && account_visitor_put(&t, &v)) {
			fprintf(stderr, "visitor failed\n");
			return 1;
		}
		long end = done + 10000 < n ? done + 10000 : n;
		for (; done < end; done++) {
			rec_conv c = { .tid = ten.id, .id = id_next(&ids), .visitor_id = v.id, .status = CS_CLOSED,
				       .priority = CP_MEDIUM, .last_seq = 2, .created_ms = now, .updated_ms = now,
				       .resolved_ms = now, .closed_ms = now, .lm_seq = 2, .lm_sender = ST_VISITOR,
				       .lm_ms = now };
			strcpy(c.visitor_name, "History");
			strcpy(c.lm_text, "an old question");
			for (int i = 0; i < 2; i++) {
				memset(ev[i], 0, sizeof *ev[i]);
				ev[i]->tid = c.tid;
				ev[i]->cid = c.id;
				ev[i]->seq = (uint64_t)i + 1;
				ev[i]->kind = i ? EK_MESSAGE : EK_CREATED;
				ev[i]->sender_type = ST_VISITOR;
				ev[i]->sender_id = v.id;
				ev[i]->created_ms = now;
			}
			strcpy(ev[1]->text, "an old question");
			convstore_change ch = { .kind = CONVSTORE_CREATE, .conv = &c, .ev = ev, .nev = 2 };
			int rc = convstore_write(&t, &ch);
			if (rc) {
				fprintf(stderr, "conversation %ld: %s\n", done, store_strerror(rc));
				store_done(&t);
				return 1;
			}
		}
		if (store_commit(&t)) {
			fprintf(stderr, "commit failed\n");
			return 1;
		}
	}
	printf("%ld closed conversations in %.1f s\n", n, (double)(clock_mono_ns() - t0) / 1e9);
	free(ev[0]);
	free(ev[1]);
	db_close(&d);
	return 0;
}
