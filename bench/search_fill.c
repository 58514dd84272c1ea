/* parley-search-fill — fills a data directory with conversations and
 * messages through the real writer (storage/writer.h) and the real
 * conversation write (convstore_write, which indexes each message for
 * search in the same transaction), for the search benchmark
 * (bench/search-bench.sh, docs/performance.md).
 *
 *   parley-search-fill --data DIR [--tenant demo] [--messages 1000000]
 *                      [--per-conv 20] [--seed 1] [--sync none|full]
 *                      [--search-index on|off]
 *
 * --search-index=off writes the same without indexing: the writer's apply
 * time per request with and without it is the index's CPU cost.
 *
 * Each request is one message appended to one conversation (as a send is),
 * conversations written round-robin in waves so that batches mix many of
 * them. Texts: 6 to 24 words drawn from a vocabulary of 20,000 made-up
 * words with a Zipf-like law (a few very common, most rare), plus a list
 * of real support words; one message in ten is Chinese or Japanese.
 * Visitor names and emails come from small lists. Prints the search
 * table's size (pages, entries) per message at the end, and the words
 * of each frequency class the query benchmark uses.
 */
#include "core/clock.h"
#include "core/id.h"
#include "storage/account_store.h"
#include "storage/conv_store.h"
#include "storage/db.h"
#include "storage/search_store.h"
#include "storage/writer.h"

#include <getopt.h>
#include <math.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *common[] = {
	"order", "refund", "shipping", "delivery", "invoice", "account", "password", "login", "payment", "card",
	"help", "please", "thanks", "hello", "problem", "error", "package", "tracking", "return", "cancel",
	"subscription", "price", "discount", "coupon", "address", "email", "phone", "support", "agent", "time",
	"today", "tomorrow", "week", "late", "broken", "damaged", "missing", "wrong", "size", "color",
};
static const char *cjk[] = { "我的订单还没有到", "请帮我查询一下物流", "退款什么时候到账", "东京都から注文しました",
			     "配送が遅れています", "パスワードを忘れました", "发票需要重新开", "商品が壊れていました" };
static const char *first[] = { "Alice", "Bruno", "Chloé", "Dmitri", "Emma", "Farid", "Giulia", "Hiro", "Inès", "Jonas",
			       "Kenji", "Lena", "Marta", "Nadia", "Omar", "Paula", "Quentin", "Rosa", "Sven", "Tariq" };
static const char *last[] = { "Martin", "Rossi", "Tanaka", "Nguyen", "Schmidt", "Haddad", "Kowalski", "García",
			      "Dubois", "Okafor", "Larsen", "Moreau", "Silva", "Chen", "Novak", "Ivanova" };

#define VOCAB 20000
static char vocab[VOCAB][12];
static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A Zipf-like rank in [0, n): 1/(rank+1) weights, by inverse transform of
 * the continuous approximation. */
static size_t zipf(size_t n)
{
	double u = (double)(rnd() % 1000000) / 1000000.0;
	double r = exp(u * log((double)n + 1.0)) - 1.0;
	size_t k = (size_t)r;
	return k < n ? k : n - 1;
}

static void make_vocab(void)
{
	static const char *syl[] = { "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "fe",
				     "gu", "ha", "ji", "ko", "bra", "tor", "vin", "sel" };
	for (size_t i = 0; i < VOCAB; i++) {
		size_t x = i * 2654435761u;
		snprintf(vocab[i], sizeof vocab[i], "%s%s%s", syl[x % 20], syl[(x / 20) % 20], syl[(x / 400) % 20]);
		if (i >= 8000)   /* four syllables: distinct past 8,000 */
			snprintf(vocab[i], sizeof vocab[i], "%s%s%s%s", syl[i % 20], syl[(i / 20) % 20],
				 syl[(i / 400) % 20], syl[(i / 8000) % 20]);
	}
}

static void make_text(char *out, size_t cap)
{
	if (rnd() % 10 == 0) {
		snprintf(out, cap, "%s %s", cjk[rnd() % 8], cjk[rnd() % 8]);
		return;
	}
	size_t o = 0, nw = 6 + rnd() % 19;
	for (size_t i = 0; i < nw && o + 16 < cap; i++) {
		const char *w = rnd() % 3 == 0 ? common[zipf(40)] : vocab[zipf(VOCAB)];
		o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? " " : "", w);
	}
}

/* ---------- the writes ---------- */

typedef struct {
	wr_req r;
	convstore_change ch;
	rec_conv conv;
	rec_event *ev[2];
	int nev;
} fill_req;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long in_flight, failed;

static int apply(wr_req *r, store_txn *t)
{
	fill_req *f = (fill_req *)r;
	return convstore_write(t, &f->ch);
}

static void done(wr_req *r, int rc)
{
	fill_req *f = (fill_req *)r;
	for (int i = 0; i < f->nev; i++)
		free(f->ev[i]);
	free(f);
	pthread_mutex_lock(&mu);
	in_flight--;
	if (rc)
		failed++;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

static rec_event *event(const rec_conv *c, uint64_t seq, int kind, int64_t now)
{
	rec_event *e = calloc(1, sizeof *e);
	if (!e)
		abort();
	e->tid = c->tid;
	e->cid = c->id;
	e->seq = seq;
	e->kind = (uint8_t)kind;
	e->created_ms = now;
	if (kind == EK_MESSAGE) {
		e->sender_type = seq % 2 ? ST_VISITOR : ST_AGENT;
		e->sender_id = e->sender_type == ST_VISITOR ? c->visitor_id : 1;
		snprintf(e->sender_name, sizeof e->sender_name, "%s", e->sender_type == ST_VISITOR ? c->visitor_name : "Agent");
		make_text(e->text, 400);
		snprintf(e->client_id, sizeof e->client_id, "f-%" PRIu64, seq);
	}
	return e;
}

int main(int argc, char **argv)
{
	const char *data = NULL, *slug = "demo";
	long messages = 1000000, per_conv = 20;
	bool sync = false, index = true;
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' }, { "tenant", required_argument, NULL, 't' },
		{ "messages", required_argument, NULL, 'm' }, { "per-conv", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' }, { "sync", required_argument, NULL, 'y' },
		{ "search-index", required_argument, NULL, 'i' },
		{ 0, 0, 0, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': data = optarg; break;
		case 't': slug = optarg; break;
		case 'm': messages = atol(optarg); break;
		case 'p': per_conv = atol(optarg); break;
		case 's': rng ^= (uint64_t)atoll(optarg) * 0x9e3779b97f4a7c15ull; break;
		case 'y': sync = strcmp(optarg, "full") == 0; break;
		case 'i': index = strcmp(optarg, "off") != 0; break;
		default: return 2;
		}
	}
	if (!data || messages < 1 || per_conv < 1) {
		fprintf(stderr, "usage: parley-search-fill --data DIR [--tenant demo] [--messages N] [--per-conv N] "
				"[--seed N] [--sync none|full] [--search-index on|off]\n");
		return 2;
	}
	make_vocab();
	int err = 0;
	db_opts o = { .no_sync = !sync };
	db *d = db_open(data, &o, &err);
	if (!d) {
		fprintf(stderr, "parley-search-fill: cannot open %s: %s\n", data, store_strerror(err));
		return 1;
	}
	searchstore_set_enabled(d, index);
	store_txn t;
	rec_tenant ten;
	if (store_read(d, &t) || account_tenant_by_slug(&t, slug, &ten)) {
		fprintf(stderr, "parley-search-fill: no tenant %s (start parleyd on the directory once)\n", slug);
		return 1;
	}
	store_done(&t);
	writer *w = writer_start(d, 4096);
	id_gen ids = { 0 };
	long nconv = (messages + per_conv - 1) / per_conv;
	rec_conv *convs = calloc((size_t)nconv, sizeof *convs);
	if (!convs || !w)
		return 1;
	int64_t t0 = clock_mono_ns();
	long written = 0, wave = 1000;
	/* waves of `wave` conversations: create each, then their messages round-robin */
	for (long base = 0; base < nconv; base += wave) {
		long end = base + wave < nconv ? base + wave : nconv;
		for (long round = 0; round <= per_conv && written < messages; round++) {
			for (long i = base; i < end && written < messages; i++) {
				rec_conv *cv0 = &convs[i];
				fill_req *f = calloc(1, sizeof *f);
				if (!f)
					abort();
				int64_t now = clock_now_ms();
				if (round == 0) {
					cv0->tid = ten.id;
					cv0->id = id_next(&ids);
					cv0->visitor_id = id_next(&ids);
					const char *fn = first[rnd() % 20], *ln = last[rnd() % 16];
					snprintf(cv0->visitor_name, sizeof cv0->visitor_name, "%s %s", fn, ln);
					snprintf(cv0->visitor_email, sizeof cv0->visitor_email, "%c.%s%ld@example.com",
						 fn[0] | 0x20, ln, i);
					for (char *p = cv0->visitor_email; *p; p++)
						*p = (char)(*p >= 'A' && *p <= 'Z' ? *p | 0x20 : *p);
					cv0->status = (uint8_t)(rnd() % 3 == 0 ? CS_RESOLVED : CS_OPEN);
					cv0->created_ms = cv0->updated_ms = now;
					f->ch.kind = CONVSTORE_CREATE;
					f->ev[f->nev++] = event(cv0, 1, EK_CREATED, now);
				} else {
					f->ch.kind = CONVSTORE_UPDATE;
					f->ch.prev_seq = cv0->last_seq;
					rec_event *e = event(cv0, cv0->last_seq + 1, EK_MESSAGE, now);
					f->ev[f->nev++] = e;
					cv0->lm_seq = e->seq;
					cv0->lm_sender = e->sender_type;
					cv0->lm_ms = now;
					snprintf(cv0->lm_text, sizeof cv0->lm_text, "%.140s", e->text);
					written++;
				}
				cv0->last_seq += 1;
				cv0->updated_ms = now;
				f->conv = *cv0;
				f->ch.conv = &f->conv;
				f->ch.ev = f->ev;
				f->ch.nev = f->nev;
				f->r.apply = apply;
				f->r.done = done;
				pthread_mutex_lock(&mu);
				while (in_flight >= 8192)
					pthread_cond_wait(&cv, &mu);
				in_flight++;
				pthread_mutex_unlock(&mu);
				writer_submit(w, &f->r);
			}
		}
		if (base % 10000 == 0)
			fprintf(stderr, "\r%ld messages", written);
	}
	pthread_mutex_lock(&mu);
	while (in_flight > 0)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	double secs = (double)(clock_mono_ns() - t0) / 1e9;
	writer_stats ws;
	writer_get_stats(w, &ws);
	writer_stop(&w);
	free(convs);

	/* the sizes */
	MDB_txn *txn;
	MDB_stat st, ev;
	if (mdb_txn_begin(db_env(d), NULL, MDB_RDONLY, &txn) || mdb_stat(txn, db_dbi(d, DB_SEARCH), &st) ||
	    mdb_stat(txn, db_dbi(d, DB_EVENTS), &ev))
		return 1;
	mdb_txn_abort(txn);
	size_t sbytes = (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) * st.ms_psize;
	size_t ebytes = (ev.ms_branch_pages + ev.ms_leaf_pages + ev.ms_overflow_pages) * ev.ms_psize;
	printf("messages %ld conversations %ld failed %ld seconds %.1f msgs_per_s %.0f batches %" PRIu64
	       " apply_us_per_request %.2f commit_ms_per_batch %.2f index %s\n",
	       written, nconv, failed, secs, (double)written / secs, ws.batches,
	       (double)ws.apply_ns_total / 1e3 / (double)(ws.requests ? ws.requests : 1),
	       (double)ws.commit_ns_total / 1e6 / (double)(ws.batches ? ws.batches : 1),
	       searchstore_enabled(d) ? "on" : "off");
	printf("search_entries %zu search_bytes %zu bytes_per_message %.1f entries_per_message %.2f "
	       "events_bytes %zu events_bytes_per_message %.1f file_bytes %zu\n",
	       (size_t)st.ms_entries, sbytes, (double)sbytes / (double)written,
	       (double)st.ms_entries / (double)written, ebytes, (double)ebytes / (double)written, db_file_size(d));
	/* words for the queries: by frequency class */
	printf("words common %s %s %s mid %s %s %s rare %s %s %s\n", common[0], common[1], vocab[0], vocab[40],
	       vocab[200], vocab[500], vocab[9000], vocab[15000], vocab[19000]);
	printf("tenant %" PRIu64 "\n", ten.id);
	db_close(&d);
	return failed ? 1 : 0;
}
