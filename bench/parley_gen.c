/* parley-gen — fills a data directory with conversations spread over the
 * last D days, through the real writer (storage/writer.h) and the real
 * stores: each conversation is one write request whose apply stores the
 * conversation and its events (convstore_write) and keeps the analytics
 * rollups as the server's sink does (rollup_conv_changed) — so the
 * rollups the dashboard reads are the ones live traffic would have left.
 *
 *   parley-gen --data DIR --tenant SLUG --messages N [--per-conv M] [--days D]
 *
 * The tenant and its agents exist already (parley tenant create, parley
 * user create); conversations go to the tenant's departments and agents in
 * turn, each: created by a visitor, assigned, M messages alternating
 * visitor and agent 20–120 s apart, resolved, every message delivered and
 * read. Offline use only (the server must not run on DIR).
 */
#include "storage/account_store.h"
#include "storage/conv_store.h"
#include "storage/db.h"
#include "storage/dept_store.h"
#include "storage/rollup_store.h"
#include "storage/writer.h"
#include "core/clock.h"
#include "core/id.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IN_FLIGHT 64
#define MAX_IDS 256

typedef struct {
	wr_req w;
	rec_conv conv;
	rec_event **ev;
	int nev;
} gen_req;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int in_flight, failed;

static int apply(wr_req *w, store_txn *tx)
{
	gen_req *g = (gen_req *)w;
	convstore_change ch = { .kind = CONVSTORE_CREATE, .conv = &g->conv, .ev = g->ev, .nev = g->nev };
	int rc = convstore_write(tx, &ch);
	return rc ? rc : rollup_conv_changed(tx, &g->conv, g->conv.updated_ms);
}

static void done(wr_req *w, int rc)
{
	gen_req *g = (gen_req *)w;
	for (int i = 0; i < g->nev; i++)
		free(g->ev[i]);
	free(g->ev);
	free(g);
	pthread_mutex_lock(&mu);
	in_flight--;
	if (rc)
		failed++;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

typedef struct {
	uint64_t v[MAX_IDS];
	int n;
} idlist;

static bool add_user(void *ctx, uint64_t uid, const rec_user *u)
{
	idlist *l = ctx;
	(void)uid;
	if (u && u->active && l->n < MAX_IDS)
		l->v[l->n++] = u->id;
	return true;
}

static bool add_dept(void *ctx, const rec_dept *d)
{
	idlist *l = ctx;
	if (d && l->n < MAX_IDS)
		l->v[l->n++] = d->id;
	return true;
}

static uint64_t rnd_state = 88172645463325252ull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static rec_event *event(const rec_conv *c, uint64_t seq, int kind, int sender, uint64_t sid, int64_t at)
{
	rec_event *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->tid = c->tid;
	e->cid = c->id;
	e->seq = seq;
	e->kind = (uint8_t)kind;
	e->sender_type = (uint8_t)sender;
	e->sender_id = sid;
	e->created_ms = at;
	return e;
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *slug = NULL;
	long long messages = 100000;
	int per = 20, days = 30;
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },     { "tenant", required_argument, NULL, 't' },
		{ "messages", required_argument, NULL, 'm' }, { "per-conv", required_argument, NULL, 'p' },
		{ "days", required_argument, NULL, 'D' },     { 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 't': slug = optarg; break;
		case 'm': messages = atoll(optarg); break;
		case 'p': per = atoi(optarg); break;
		case 'D': days = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!dir || !slug || messages < 1 || per < 2 || per > 500 || days < 1 || days > 365) {
		fprintf(stderr, "usage: parley-gen --data DIR --tenant SLUG --messages N [--per-conv 2..500] [--days 1..365]\n");
		return 2;
	}
	int err = 0;
	db *d = db_open(dir, NULL, &err);
	if (!d) {
		fprintf(stderr, "parley-gen: cannot open %s: %s\n", dir, store_strerror(err));
		return 1;
	}
	store_txn t;
	rec_tenant ten;
	idlist agents = { 0 }, depts = { 0 };
	if (store_read(d, &t) || account_tenant_by_slug(&t, slug, &ten) ||
	    account_user_list(&t, ten.id, 0, add_user, &agents) || deptstore_each(&t, ten.id, add_dept, &depts)) {
		fprintf(stderr, "parley-gen: no tenant %s (create it and its agents with parley)\n", slug);
		return 1;
	}
	store_done(&t);
	if (!agents.n || !depts.n) {
		fprintf(stderr, "parley-gen: the tenant needs an agent and a department\n");
		return 1;
	}
	writer *w = writer_start(d, 64);
	if (!w)
		return 1;
	id_gen ids = { 0 };
	long long convs = (messages + per - 1) / per, stored = 0;
	int64_t now = clock_now_ms(), span = (int64_t)days * 86400000LL - 3 * 3600000LL;
	int64_t t0 = clock_mono_ns();
	for (long long i = 0; i < convs && !failed; i++) {
		gen_req *g = calloc(1, sizeof *g);
		int m = (int)(messages - stored < per ? messages - stored : per);
		g->ev = calloc((size_t)m + 3, sizeof *g->ev);
		rec_conv *c = &g->conv;
		c->tid = ten.id;
		c->id = id_next(&ids);
		c->visitor_id = 1 + (uint64_t)i;
		snprintf(c->visitor_name, sizeof c->visitor_name, "Visitor %lld", i);
		c->dept_id = depts.v[i % depts.n];
		c->assignee_id = agents.v[i % agents.n];
		int64_t at = now - span + (int64_t)((double)span * (double)i / (double)convs);
		c->created_ms = at;
		uint64_t seq = 0;
		rec_event *e = event(c, ++seq, EK_CREATED, ST_VISITOR, c->visitor_id, at);
		e->dept_id = c->dept_id;
		g->ev[g->nev++] = e;
		for (int k = 0; k < m; k++) {
			at += 20000 + (int64_t)(rnd() % 100000);
			bool agent = k % 2 == 1;
			if (k == 1) {   /* assigned before the first answer */
				e = event(c, ++seq, EK_ASSIGNED, ST_AGENT, c->assignee_id, at - 1000);
				e->assignee_id = c->assignee_id;
				g->ev[g->nev++] = e;
			}
			e = event(c, ++seq, EK_MESSAGE, agent ? ST_AGENT : ST_VISITOR, agent ? c->assignee_id : c->visitor_id, at);
			int len = 20 + (int)(rnd() % 100);
			for (int j = 0; j < len; j++)
				e->text[j] = (char)('a' + (int)(rnd() % 26));
			g->ev[g->nev++] = e;
			if (!c->first_response_ms && agent)
				c->first_response_ms = at;
		}
		at += 60000;
		e = event(c, ++seq, EK_STATUS, ST_AGENT, c->assignee_id, at);
		e->status = CS_RESOLVED;
		g->ev[g->nev++] = e;
		c->status = CS_RESOLVED;
		c->resolved_ms = c->updated_ms = at;
		c->last_seq = seq;
		c->visitor_delivered_seq = c->visitor_read_seq = c->agent_delivered_seq = c->agent_read_seq = seq;
		stored += m;
		g->w.apply = apply;
		g->w.done = done;
		pthread_mutex_lock(&mu);
		while (in_flight >= IN_FLIGHT)
			pthread_cond_wait(&cv, &mu);
		in_flight++;
		pthread_mutex_unlock(&mu);
		writer_submit(w, &g->w);
		if ((i + 1) % 20000 == 0)
			fprintf(stderr, "parley-gen: %lld messages, %.0f/s\n", stored,
				(double)stored / ((double)(clock_mono_ns() - t0) / 1e9));
	}
	writer_stop(&w);
	db_close(&d);
	double secs = (double)(clock_mono_ns() - t0) / 1e9;
	printf("parley-gen: %lld conversations, %lld messages over %d days in %.1f s (%.0f messages/s)%s\n", convs,
	       stored, days, secs, (double)stored / secs, failed ? "; WRITES FAILED" : "");
	return failed ? 1 : 0;
}
