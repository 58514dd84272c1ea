/* parley-gen — fills a data directory with conversations spread over the
 * last D days, through the real writer (storage/writer.h) and the real
 * stores: each conversation is one write request whose apply stores the
 * conversation and its events (convstore_write) and keeps the analytics
 * rollups as the server's sink does (rollup_conv_changed) — so the
 * rollups the dashboard reads are the ones live traffic would have left.
 *
 *   parley-gen --data DIR --tenant SLUG --messages N [--per-conv M] [--days D]
 *              [--rated PCT] [--pageviews K]
 *
 * The tenant and its agents exist already (parley tenant create, parley
 * user create); conversations go to the tenant's departments and agents in
 * turn, each: created by a visitor, assigned, M messages alternating
 * visitor and agent 20–120 s apart, resolved, every message delivered and
 * read; PCT in a hundred (default 30) rated 1–5 after the resolve, half of
 * those with a comment (the rating record and event, as the server writes
 * them, and an alert for a score of 1 or 2); and before it starts, the visitor's K page views (default 3) of
 * the site's 200 pages from 12 referrers and a few devices, browsers and
 * systems, through the tracking store. Offline use only (the server must
 * not run on DIR).
 */
#include "storage/account_store.h"
#include "storage/alert_store.h"
#include "storage/conv_store.h"
#include "storage/db.h"
#include "storage/dept_store.h"
#include "storage/rating_store.h"
#include "storage/rollup_store.h"
#include "storage/track_store.h"
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
#define MAX_VIEWS 16

typedef struct {
	wr_req w;
	rec_conv conv;
	rec_event **ev;
	int nev;
	rec_rating rating;         /* rating.score 0: not rated */
	trackstore_view views[MAX_VIEWS];
	char urls[MAX_VIEWS][64];
	int nviews;
} gen_req;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int in_flight, failed;

static int apply(wr_req *w, store_txn *tx)
{
	gen_req *g = (gen_req *)w;
	for (int i = 0; i < g->nviews; i++) {
		rec_vsession s;
		bool stored, fresh;
		int rc = trackstore_pageview(tx, &g->views[i], &s, &stored, &fresh);
		if (rc)
			return rc;
	}
	convstore_change ch = { .kind = CONVSTORE_CREATE, .conv = &g->conv, .ev = g->ev, .nev = g->nev };
	int rc = convstore_write(tx, &ch);
	if (rc == 0 && g->rating.score)
		rc = rating_put(tx, &g->rating);
	if (rc == 0 && g->rating.score && g->rating.score <= 2) {   /* a low rating alerts, as the server's sink does */
		rec_alert al = { .tid = g->conv.tid, .kind = ALERT_RATING, .at_ms = g->rating.created_ms,
				 .cid = g->conv.id, .dept_id = g->conv.dept_id, .agent_id = g->conv.assignee_id,
				 .score = g->rating.score };
		snprintf(al.message, sizeof al.message, "%s rated a conversation %d of 5", g->conv.visitor_name,
			 g->rating.score);
		rc = alertstore_raise(tx, &al, true, g->conv.id, (int64_t)g->conv.last_seq);
		rc = rc == 1 ? 0 : rc;
	}
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
	int per = 20, days = 30, rated = 30, views = 3;
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },     { "tenant", required_argument, NULL, 't' },
		{ "messages", required_argument, NULL, 'm' }, { "per-conv", required_argument, NULL, 'p' },
		{ "days", required_argument, NULL, 'D' },     { "rated", required_argument, NULL, 'r' },
		{ "pageviews", required_argument, NULL, 'v' }, { 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 't': slug = optarg; break;
		case 'm': messages = atoll(optarg); break;
		case 'p': per = atoi(optarg); break;
		case 'D': days = atoi(optarg); break;
		case 'r': rated = atoi(optarg); break;
		case 'v': views = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!dir || !slug || messages < 1 || per < 2 || per > 500 || days < 1 || days > 365 || rated < 0 ||
	    rated > 100 || views < 0 || views > MAX_VIEWS) {
		fprintf(stderr, "usage: parley-gen --data DIR --tenant SLUG --messages N [--per-conv 2..500] [--days 1..365]"
				" [--rated 0..100] [--pageviews 0..%d]\n", MAX_VIEWS);
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
		g->ev = calloc((size_t)m + 4, sizeof *g->ev);
		rec_conv *c = &g->conv;
		c->tid = ten.id;
		c->id = id_next(&ids);
		c->visitor_id = 1 + (uint64_t)i;
		snprintf(c->visitor_name, sizeof c->visitor_name, "Visitor %lld", i);
		c->dept_id = depts.v[i % depts.n];
		c->assignee_id = agents.v[i % agents.n];
		int64_t at = now - span + (int64_t)((double)span * (double)i / (double)convs);
		c->created_ms = at;
		/* the visitor's page views in the minutes before the chat */
		static const char *refs[] = { "", "", "", "www.google.com", "www.bing.com", "duckduckgo.com",
					      "news.ycombinator.com", "t.co", "www.facebook.com", "partner.example",
					      "docs.example", "mail.example" };
		static const char *browsers[] = { "Chrome", "Chrome", "Safari", "Firefox", "Edge", "Other" };
		static const char *oses[] = { "Windows", "macOS", "Android", "iOS", "Linux", "Other" };
		uint64_t session = id_next(&ids);
		const char *ref = refs[rnd() % 12];
		int device = 1 + (int)(rnd() % 3), b = (int)(rnd() % 6);
		for (int v = 0; v < views; v++) {
			trackstore_view *pv = &g->views[g->nviews];
			snprintf(g->urls[g->nviews], sizeof g->urls[0], "https://shop.example/p/%u",
				 (unsigned)(rnd() % 200));
			*pv = (trackstore_view){ .tid = c->tid, .vid = c->visitor_id, .session_id = session,
						 .pageview_id = id_next(&ids), .now_ms = at - (views - v) * 45000LL,
						 .day = (uint32_t)((at - (views - v) * 45000LL) / TRACK_DAY_MS),
						 .url = g->urls[g->nviews], .title = "A page of the shop",
						 .referrer = v == 0 && ref[0] ? "https://referrer.example/" : "",
						 .referrer_host = v == 0 ? (ref[0] ? ref : "(direct)") : "", .device = (uint8_t)device,
						 .browser = browsers[b], .os = oses[(b + device) % 6], .lang = "en",
						 .screen = "1280x800", .browser_major = 120 };
			g->nviews++;
		}
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
		if ((int)(rnd() % 100) < rated) {   /* the visitor rates it */
			at += 30000;
			e = event(c, ++seq, EK_RATING, ST_VISITOR, c->visitor_id, at);
			e->score = (uint8_t)(1 + (rnd() % 100 < 70 ? 3 + rnd() % 2 : rnd() % 3));
			if (rnd() % 2)
				snprintf(e->text, sizeof e->text, "Comment %lld: %s", i,
					 e->score >= 4 ? "quick and helpful, thanks" : "took too long to answer");
			g->ev[g->nev++] = e;
			c->rating = e->score;
			c->updated_ms = at;
			g->rating = (rec_rating){ .tid = c->tid, .cid = c->id, .score = e->score,
						  .visitor_id = c->visitor_id, .agent_id = c->assignee_id,
						  .dept_id = c->dept_id, .created_ms = at };
			rec_strcpy(g->rating.comment, sizeof g->rating.comment, e->text, strlen(e->text));
		}
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
