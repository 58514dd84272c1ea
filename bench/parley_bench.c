/* parley-bench — load generator for parleyd's realtime (WebSocket) path.
 *
 * Design
 * ------
 * Modes:
 *   chat (default): V visitors each own one conversation; A agent
 *     connections (all logged in as one agent account) subscribe to the
 *     conversations j with j % A == i. The visitors then send `send` frames
 *     at an aggregate rate R for D seconds and we time each message from
 *     its intended send time to the moment the subscribed agent connection
 *     receives the matching `event` (delivery latency), and to the moment
 *     the visitor receives its `ack` (ack latency).
 *   idle: N authenticated visitor connections are opened and held; with
 *     --server-pid the server's VmRSS growth per connection is reported.
 *
 * Open-loop schedule (no coordinated omission): send k (k = 0 .. R*D-1)
 * has the intended time t0 + k/R and goes to visitor k % V. A per-loop
 * timer fires at the next intended time and sends every send whose time
 * has come; when the generator (or a congested socket) falls behind, the
 * sends go out late, but latency is still measured from the *intended*
 * time, so server stalls show up in the tail instead of silently lowering
 * the offered load. The client_id of send k is "<run nonce>-<k>", so the
 * agent side finds the send (and its intended time) from the event alone;
 * events of earlier runs replayed by `subscribe after_seq 0` carry another
 * nonce and are ignored.
 *
 * Histograms (bench_hist.c) are log-linear like HdrHistogram: 128 linear
 * sub-buckets per power of two of nanoseconds, i.e. every recorded value
 * is within 1/128 (< 0.8 %) of the truth, from 1 µs up to past 100 s.
 *
 * Threads: --threads N runs N independent libev loops (default 1). The
 * work is partitioned so that a conversation's visitor and its agent
 * connection live on the same loop (agent i on loop i % N, visitor j on
 * loop (j % A) % N): all matching is loop-local and needs no locks; the
 * main thread only prints progress and sequences the phases. All setup
 * (REST calls) happens before the measured phase and is not timed.
 *
 * Everything is bounded: connect + upgrade + auth have a time-out, the
 * measured phase ends after D seconds plus a drain period, loops over
 * input have fixed upper limits, and output queues are capped. */
#include "bench_hist.h"
#include "bench_net.h"
#include "bench_setup.h"
#include "scen.h"
#include "bench_sio.h"
#include "core/clock.h"

#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define MAX_SOURCES 64
#define MAX_PROCS 64
#define MAX_REASONS 16

/* ------------------------------------------------------------- options */

enum mode { MODE_CHAT, MODE_IDLE, MODE_STORM, MODE_FANOUT, MODE_RESUME, MODE_REST };

static struct {
	enum mode mode;
	const char *host;
	int port;
	const char *widget_key;
	const char *email;
	const char *password;
	const char *tenant;
	int visitors;
	int agents;
	double rate;
	double duration;
	double drain;
	int msg_size;
	bool visitor_subscribe;
	int threads;
	int connections;
	int procs;		/* idle: generator processes sharing the connections */
	long server_pid;
	double settle;
	const char *source_addrs;
	int concurrency;
	double connect_timeout;
	int setup_threads;
	const char *json_path;
	bool quiet;
	int http_conns;		/* rest: keep-alive connections */
	int messages;		/* resume / rest / fanout, -1: per-mode default */
	const char *url_path;	/* rest: GET this path without auth */
	int rest_reads;		/* rest: REST_BOTH | REST_LIST | REST_MESSAGES */
	const char *sweep;	/* chat: "R1,R2,…" */
	bool socketio;		/* --protocol socketio (bench_sio.c) */
	bool tls;		/* --tls: WebSockets over TLS (bench_net.c) */
	int setup_port;		/* --setup-port: setup HTTP and /metrics (default: --port) */
} O = {
	.mode = MODE_CHAT,
	.host = "127.0.0.1",
	.port = 8080,
	.email = "admin@demo.parley",
	.visitors = 100,
	.agents = 10,
	.rate = 1000,
	.duration = 10,
	.drain = 2,
	.msg_size = 100,
	.threads = 1,
	.connections = 1000,
	.server_pid = 0,
	.settle = 5,
	.concurrency = 256,
	.connect_timeout = 10,
	.setup_threads = 8,
	.http_conns = 16,
	.messages = -1,
};

/* ------------------------------------------------------ shared run state */

enum phase { PH_SETUP, PH_RUN, PH_STOP, PH_PAUSE };

/* per-send state bits */
enum { S_SENT = 1, S_ACK = 2, S_DELIV = 4, S_ERR = 8, S_FAIL = 16 };

static struct {
	struct sockaddr_storage dst;
	socklen_t dlen;
	struct sockaddr_storage sdst;	/* setup requests and /metrics (--setup-port) */
	socklen_t sdlen;
	char shost_hdr[300];
	struct sockaddr_storage src[MAX_SOURCES];
	int nsrc;
	char host_hdr[300];
	char visitor_path[600];

	char **vtoken;		/* per visitor (idle mode: one shared) */
	char **conv_id;		/* per visitor = per conversation */
	char *agent_token;
	char nonce[12];
	size_t nonce_len;
	uint64_t total;		/* sends in the schedule */
	char *filler;		/* message text padding */

	/* conversation id -> index (open addressing) */
	int *ctab;
	size_t ctab_mask;

	uint8_t *sstate;	/* per send */
	atomic_int phase;
	atomic_llong t0;	/* start of the schedule, mono ns */
} G;

static inline int64_t intended_ns(uint64_t k)
{
	return (int64_t)atomic_load_explicit(&G.t0, memory_order_relaxed) +
	       (int64_t)((double)k * 1e9 / O.rate);
}

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static void ctab_build(int n)
{
	size_t sz = 16;
	while (sz < (size_t)n * 2)
		sz *= 2;
	G.ctab = malloc(sz * sizeof(int));
	G.ctab_mask = sz - 1;
	for (size_t i = 0; i < sz; i++)
		G.ctab[i] = -1;
	for (int j = 0; j < n; j++) {
		size_t h = fnv1a(G.conv_id[j], strlen(G.conv_id[j])) & G.ctab_mask;
		while (G.ctab[h] >= 0)
			h = (h + 1) & G.ctab_mask;
		G.ctab[h] = j;
	}
}

static int ctab_find(const char *s, size_t n)
{
	if (!G.ctab)
		return -1;
	size_t h = fnv1a(s, n) & G.ctab_mask;
	for (size_t probes = 0; probes <= G.ctab_mask; probes++) {
		int j = G.ctab[h];
		if (j < 0)
			return -1;
		if (strlen(G.conv_id[j]) == n && memcmp(G.conv_id[j], s, n) == 0)
			return j;
		h = (h + 1) & G.ctab_mask;
	}
	return -1;
}

/* ------------------------------------------------------------- workers */

enum role { R_VISITOR, R_AGENT, R_IDLE };

struct worker;

struct conn {
	struct wsc ws;
	struct worker *w;
	enum role role;
	int idx;		/* visitor / agent / idle index */
	bool ready;		/* setup finished successfully */
	bool done;		/* setup finished (ok or not) */
	bool lost;		/* closed after setup */
	int pending_subs;
	int nconvs;		/* agents: conversations idx, idx+A, ... */
	int64_t *max_seq;	/* agents: highest seq seen per conversation */
};

struct reason_count {
	const char *reason;
	uint64_t count;
};

struct worker {
	int id;
	pthread_t th;
	struct ev_loop *loop;
	ev_async async;
	ev_io sched;		/* on a timerfd: wakes at the exact intended time */
	int sched_fd;
	ev_timer tick;
	bool running;

	struct conn **conns;	/* everything this loop owns, in start order */
	int nconns;
	int next_start;
	int inflight;

	uint64_t next_k;	/* schedule cursor */
	bool sched_done;

	/* counters read by the main thread (relaxed) */
	atomic_int setup_ok, setup_failed;
	atomic_bool ready;	/* all of this loop's connections are set up */
	atomic_bool finished;	/* schedule done and nothing outstanding */
	atomic_ullong n_sent, n_ack, n_deliv, n_err, n_fail, n_dup, n_lost;
	atomic_llong cur_p99;

	/* loop-private */
	uint64_t errors_by_frame, errors_busy, ack_dups, client_id_dups, misrouted, seq_gaps,
		unknown_k, foreign_events, visitor_events, deliv_in_window;
	struct reason_count reasons[MAX_REASONS];
	struct hist h_deliv, h_ack, h_int, h_lag;
};

static struct worker *W;
static struct conn *VIS, *AGT, *IDL;

#define INC(x) atomic_fetch_add_explicit(&(x), 1, memory_order_relaxed)
#define LD(x) atomic_load_explicit(&(x), memory_order_relaxed)

static void note_reason(struct worker *w, const char *reason)
{
	for (int i = 0; i < MAX_REASONS; i++) {
		if (w->reasons[i].reason == reason || !w->reasons[i].reason) {
			w->reasons[i].reason = reason;
			w->reasons[i].count++;
			return;
		}
		if (strcmp(w->reasons[i].reason, reason) == 0) {
			w->reasons[i].count++;
			return;
		}
	}
}

static void start_more(struct worker *w);

static void check_finished(struct worker *w)
{
	if (!w->sched_done || LD(w->finished))
		return;
	uint64_t sent = LD(w->n_sent), bad = LD(w->n_err) + LD(w->n_fail);
	if (LD(w->n_deliv) + bad >= sent && LD(w->n_ack) + bad >= sent)
		atomic_store(&w->finished, true);
}

static void conn_setup_done(struct conn *c, bool ok)
{
	struct worker *w = c->w;
	if (c->done)
		return;
	c->done = true;
	c->ready = ok;
	w->inflight--;
	if (ok)
		INC(w->setup_ok);
	else
		INC(w->setup_failed);
	wsc_set_timeout(&c->ws, 0);
	if (LD(w->setup_ok) + LD(w->setup_failed) == w->nconns)
		atomic_store(&w->ready, true);
	start_more(w);
}

/* --protocol socketio: parley frames go out as Socket.IO packets */
static int ws_send(struct conn *c, const char *s, size_t n, bool flush)
{
	return O.socketio ? sio_send_frame(&c->ws, s, n, flush) : wsc_send_text(&c->ws, s, n, flush);
}

static void send_json(struct conn *c, const char *s, int n)
{
	if (n > 0)
		(void)ws_send(c, s, (size_t)n, true);
}

static void agent_subscribe(struct conn *c, int j, long long after)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf),
			 "{\"type\":\"subscribe\",\"id\":\"s%d\",\"conversation_id\":\"%s\","
			 "\"after_seq\":%lld}",
			 j, G.conv_id[j], after);
	send_json(c, buf, n);
}

static void on_open(struct wsc *ws)
{
	struct conn *c = ws->user;
	const char *tok = c->role == R_AGENT ? G.agent_token
			  : c->role == R_VISITOR ? G.vtoken[c->idx] : G.vtoken[0];
	char buf[4096];
	int n = snprintf(buf, sizeof(buf), "{\"type\":\"auth\",\"id\":\"auth\",\"token\":\"%s\"}", tok);
	/* auth (and the subscriptions) get their own time-out */
	wsc_set_timeout(ws, O.connect_timeout);
	send_json(c, buf, n);
}

static void on_close(struct wsc *ws, const char *reason, int code)
{
	(void)code;
	struct conn *c = ws->user;
	struct worker *w = c->w;
	if (!c->done) {
		note_reason(w, reason);
		conn_setup_done(c, false);
		return;
	}
	if (!c->lost) {
		c->lost = true;
		INC(w->n_lost);
		note_reason(w, reason);
	}
}

/* Reads "m<k>" style ids; returns false unless the id has that prefix. */
static bool id_number(const char *id, char prefix, unsigned long long *out)
{
	if (!id || id[0] != prefix || id[1] < '0' || id[1] > '9')
		return false;
	char *end;
	*out = strtoull(id + 1, &end, 10);
	return *end == '\0';
}

static void handle_event(struct conn *c, json_t *msg, int64_t now)
{
	struct worker *w = c->w;
	if (c->role != R_AGENT) {
		w->visitor_events++;
		return;
	}
	const char *cid = json_string_value(json_object_get(msg, "conversation_id"));
	json_t *jseq = json_object_get(msg, "seq");
	int j = cid ? ctab_find(cid, strlen(cid)) : -1;
	if (j < 0 || j % O.agents != c->idx || !json_is_integer(jseq)) {
		w->foreign_events++;
		return;
	}
	int li = j / O.agents;
	int64_t seq = json_integer_value(jseq);
	if (seq <= c->max_seq[li]) {
		INC(w->n_dup);
		return;
	}
	if (seq != c->max_seq[li] + 1)
		w->seq_gaps++;
	c->max_seq[li] = seq;
	const char *cl = json_string_value(json_object_get(msg, "client_id"));
	if (!cl || strncmp(cl, G.nonce, G.nonce_len) != 0 || cl[G.nonce_len] != '-')
		return;	/* another run's message or a non-message event */
	char *end;
	unsigned long long k = strtoull(cl + G.nonce_len + 1, &end, 10);
	if (*end != '\0' || k >= G.total || !(G.sstate[k] & S_SENT)) {
		w->unknown_k++;
		return;
	}
	if ((uint64_t)j != k % (uint64_t)O.visitors) {
		w->misrouted++;
		return;
	}
	if (G.sstate[k] & S_DELIV) {
		w->client_id_dups++;
		return;
	}
	G.sstate[k] |= S_DELIV;
	INC(w->n_deliv);
	if (now <= intended_ns(0) + (int64_t)(O.duration * 1e9))
		w->deliv_in_window++;
	int64_t lat = now - intended_ns(k);
	hist_record(&w->h_deliv, lat);
	hist_record(&w->h_int, lat);
	check_finished(w);
}

static void handle_ack(struct conn *c, json_t *msg, int64_t now)
{
	struct worker *w = c->w;
	const char *id = json_string_value(json_object_get(msg, "id"));
	unsigned long long k;
	if (!id)
		return;
	if (strcmp(id, "auth") == 0) {
		if (c->role == R_AGENT) {
			c->pending_subs = c->nconvs;
			if (c->nconvs == 0)
				conn_setup_done(c, true);
			for (int li = 0; li < c->nconvs; li++)
				agent_subscribe(c, c->idx + li * O.agents, 0);
		} else if (c->role == R_VISITOR && O.visitor_subscribe) {
			agent_subscribe(c, c->idx, 0);
		} else {
			conn_setup_done(c, true);
		}
		return;
	}
	if (id_number(id, 's', &k)) {
		if (json_is_true(json_object_get(msg, "more"))) {
			json_t *ls = json_object_get(msg, "last_seq");
			agent_subscribe(c, (int)k, json_is_integer(ls) ? (long long)json_integer_value(ls)
								       : 0);
			return;
		}
		if (c->role == R_VISITOR || --c->pending_subs == 0)
			conn_setup_done(c, true);
		return;
	}
	if (id_number(id, 'm', &k) && k < G.total) {
		if (G.sstate[k] & (S_ACK | S_ERR)) {
			w->ack_dups++;
			return;
		}
		G.sstate[k] |= S_ACK;
		INC(w->n_ack);
		if (json_is_true(json_object_get(msg, "duplicate")))
			w->ack_dups++;
		hist_record(&w->h_ack, now - intended_ns(k));
		check_finished(w);
	}
}

static void handle_error(struct conn *c, json_t *msg)
{
	struct worker *w = c->w;
	const char *id = json_string_value(json_object_get(msg, "id"));
	json_t *e = json_object_get(msg, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	unsigned long long k;
	w->errors_by_frame++;
	if (code && strcmp(code, "busy") == 0)
		w->errors_busy++;
	if (!c->done) {
		if (!c->ws.close_code)
			fprintf(stderr, "parley-bench: setup error on %s %d: %s\n",
				c->role == R_AGENT ? "agent" : "visitor", c->idx, code ? code : "?");
		note_reason(w, "error frame during setup");
		wsc_close(&c->ws, 1000);
		conn_setup_done(c, false);
		return;
	}
	if (id && id_number(id, 'm', &k) && k < G.total) {
		if (!(G.sstate[k] & (S_ERR | S_ACK))) {
			G.sstate[k] |= S_ERR;
			INC(w->n_err);
			check_finished(w);
		}
		return;
	}
	INC(w->n_err);	/* an error we cannot pin to a send */
}

static void on_text(struct wsc *ws, char *data, size_t len)
{
	struct conn *c = ws->user;
	int64_t now = clock_mono_ns();
	json_error_t je;
	json_t *msg = json_loadb(data, len, 0, &je);
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (!type) {
		c->w->errors_by_frame++;
		INC(c->w->n_err);
	} else if (strcmp(type, "event") == 0) {
		handle_event(c, msg, now);
	} else if (strcmp(type, "ack") == 0) {
		handle_ack(c, msg, now);
	} else if (strcmp(type, "error") == 0) {
		handle_error(c, msg);
	}
	/* typing / receipt / inbox frames are not part of the measurement */
	json_decref(msg);
}

static const struct wsc_callbacks CBS = { .on_open = on_open, .on_text = on_text,
					  .on_close = on_close };

static void start_more(struct worker *w)
{
	while (w->inflight < O.concurrency && w->next_start < w->nconns) {
		struct conn *c = w->conns[w->next_start++];
		const char *path = O.socketio ? SIO_WS_PATH : c->role == R_AGENT ? "/v1/ws" : G.visitor_path;
		const struct wsc_callbacks *cbs = O.socketio ? sio_callbacks(&CBS, O.connect_timeout) : &CBS;
		const struct sockaddr *src = NULL;
		if (G.nsrc > 0)
			src = (const struct sockaddr *)&G.src[(unsigned)c->idx % (unsigned)G.nsrc];
		w->inflight++;
		if (!cbs || wsc_start(&c->ws, w->loop, cbs, c, (struct sockaddr *)&G.dst, G.dlen, src,
			      G.host_hdr, path, O.connect_timeout) < 0) {
			note_reason(w, errno == EMFILE || errno == ENFILE ? "out of file descriptors"
				       : errno == EADDRNOTAVAIL ? "no source port available"
				       : "socket/connect failed");
			c->done = false;
			conn_setup_done(c, false);
		}
	}
}

/* ---------------------------------------------------------- schedule */

static void do_send(struct worker *w, uint64_t k)
{
	int v = (int)(k % (uint64_t)O.visitors);
	struct conn *c = &VIS[v];
	G.sstate[k] |= S_SENT;
	INC(w->n_sent);
	if (!c->ready || c->ws.state != WSC_OPEN) {
		G.sstate[k] |= S_FAIL;
		INC(w->n_fail);
		return;
	}
	hist_record(&w->h_lag, clock_mono_ns() - intended_ns(k));
	char buf[256 + 8192];
	int n = snprintf(buf, sizeof(buf),
			 "{\"type\":\"send\",\"id\":\"m%" PRIu64 "\",\"conversation_id\":\"%s\","
			 "\"client_id\":\"%s-%" PRIu64 "\",\"text\":\"k=%" PRIu64 " %s\"}",
			 k, G.conv_id[v], G.nonce, k, k, G.filler);
	if (n <= 0 || (size_t)n >= sizeof(buf) || ws_send(c, buf, (size_t)n, true) < 0) {
		G.sstate[k] |= S_FAIL;
		INC(w->n_fail);
	}
}

static int owner_of_visitor(int v)
{
	return (v % O.agents) % O.threads;
}

static void sched_cb(struct ev_loop *loop, ev_io *t, int revents)
{
	(void)revents;
	struct worker *w = t->data;
	uint64_t expirations;
	if (read(w->sched_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	int64_t now = clock_mono_ns();
	int sent = 0;
	for (int steps = 0; steps < 200000 && sent < 2000 && w->next_k < G.total; steps++) {
		uint64_t k = w->next_k;
		if (intended_ns(k) > now)
			break;
		w->next_k++;
		if (owner_of_visitor((int)(k % (uint64_t)O.visitors)) != w->id)
			continue;
		do_send(w, k);
		sent++;
	}
	if (w->next_k >= G.total) {
		w->sched_done = true;
		ev_io_stop(loop, t);
		check_finished(w);
		return;
	}
	scen_timerfd_arm(w->sched_fd, intended_ns(w->next_k));
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct worker *w = t->data;
	atomic_store_explicit(&w->cur_p99, hist_quantile(&w->h_int, 0.99), memory_order_relaxed);
	hist_reset(&w->h_int);
}

static void chat_pause(struct worker *w);

static void async_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	(void)revents;
	struct worker *w = a->data;
	int ph = atomic_load(&G.phase);
	if (ph == PH_PAUSE) {	/* --sweep: between two rates */
		chat_pause(w);
		ph = atomic_load(&G.phase);
	}
	if (ph == PH_STOP) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (ph == PH_RUN && !w->running && O.mode == MODE_CHAT) {
		w->running = true;
		ev_io_init(&w->sched, sched_cb, w->sched_fd, EV_READ);
		ev_set_priority(&w->sched, EV_MAXPRI);	/* sends go first in each loop turn */
		w->sched.data = w;
		ev_io_start(loop, &w->sched);
		scen_timerfd_arm(w->sched_fd, intended_ns(0));
		ev_timer_init(&w->tick, tick_cb, 1.0, 1.0);
		w->tick.data = w;
		ev_timer_start(loop, &w->tick);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);	/* precise wake-ups */
	if (w->nconns == 0)
		atomic_store(&w->ready, true);
	start_more(w);
	ev_run(w->loop, 0);
	for (int i = 0; i < w->nconns; i++)
		wsc_close(&w->conns[i]->ws, 1000);
	return NULL;
}

/* ------------------------------------------------------------ helpers */

static long read_rss_kb(long pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long kb = -1;
	for (int i = 0; i < 200 && fgets(line, sizeof(line), f); i++) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

/* Pages of memory the kernel holds for TCP sockets, system-wide
 * (/proc/net/sockstat "TCP: ... mem N"); -1 if unreadable. */
static long read_tcp_mem_pages(void)
{
	FILE *f = fopen("/proc/net/sockstat", "r");
	if (!f)
		return -1;
	char line[256];
	long pages = -1;
	for (int i = 0; i < 16 && fgets(line, sizeof(line), f); i++) {
		const char *m = strncmp(line, "TCP:", 4) == 0 ? strstr(line, " mem ") : NULL;
		if (m) {
			pages = strtol(m + 5, NULL, 10);
			break;
		}
	}
	fclose(f);
	return pages;
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			fprintf(stderr, "parley-bench: cannot raise RLIMIT_NOFILE: %s\n", strerror(errno));
	}
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

static void url_encode(const char *in, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *in && o + 4 < cap; in++) {
		unsigned char ch = (unsigned char)*in;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void signal_workers(int phase)
{
	atomic_store(&G.phase, phase);
	for (int t = 0; t < O.threads; t++)
		ev_async_send(W[t].loop, &W[t].async);
}

static int create_workers(void)
{
	W = calloc((size_t)O.threads, sizeof(*W));
	if (!W)
		return -1;
	for (int t = 0; t < O.threads; t++) {
		struct worker *w = &W[t];
		w->id = t;
		w->loop = ev_loop_new(EVFLAG_AUTO);
		if (!w->loop)
			return -1;
		ev_async_init(&w->async, async_cb);
		w->async.data = w;
		ev_async_start(w->loop, &w->async);
		w->sched_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (w->sched_fd < 0)
			return -1;
		hist_reset(&w->h_lag);
		hist_reset(&w->h_deliv);
		hist_reset(&w->h_ack);
		hist_reset(&w->h_int);
	}
	return 0;
}

static int start_workers(void)
{
	for (int t = 0; t < O.threads; t++)
		if (pthread_create(&W[t].th, NULL, worker_main, &W[t]) != 0)
			return -1;
	return 0;
}

static void join_workers(void)
{
	for (int t = 0; t < O.threads; t++)
		pthread_join(W[t].th, NULL);
}

/* Waits (bounded) until every loop finished connecting; prints progress. */
static bool wait_connected(double limit_s, int expected)
{
	int64_t start = clock_mono_ns(), last = start;
	for (;;) {
		bool all = true;
		int ok = 0, bad = 0;
		for (int t = 0; t < O.threads; t++) {
			all = all && LD(W[t].ready);
			ok += LD(W[t].setup_ok);
			bad += LD(W[t].setup_failed);
		}
		int64_t now = clock_mono_ns();
		if (!O.quiet && (all || now - last >= 1000000000)) {
			fprintf(stderr, "[connect %5.1fs] open=%d/%d failed=%d\n", (double)(now - start) / 1e9,
				ok, expected, bad);
			last = now;
		}
		if (all)
			return true;
		if (interrupted || (double)(now - start) / 1e9 > limit_s)
			return false;
		sleep_s(0.02);
	}
}

static void print_reasons(FILE *f)
{
	for (int t = 0; t < O.threads; t++)
		for (int i = 0; i < MAX_REASONS && W[t].reasons[i].reason; i++)
			fprintf(f, "  connection problem: %s x%" PRIu64 " (loop %d)\n",
				W[t].reasons[i].reason, W[t].reasons[i].count, t);
}

static json_t *reasons_json(void)
{
	json_t *o = json_object();
	for (int t = 0; t < O.threads; t++)
		for (int i = 0; i < MAX_REASONS && W[t].reasons[i].reason; i++) {
			const char *r = W[t].reasons[i].reason;
			json_int_t prev = json_integer_value(json_object_get(o, r));
			json_object_set_new(o, r, json_integer(prev + (json_int_t)W[t].reasons[i].count));
		}
	return o;
}

static json_t *sweep_rounds;	/* --sweep: one result object per rate */

static int write_json(json_t *root)
{
	if (!O.json_path)
		return 0;
	scen_add_meta(root);	/* command line, machine, date, server figures */
	if (sweep_rounds)
		return json_array_append(sweep_rounds, root);
	if (json_dump_file(root, O.json_path, JSON_INDENT(2)) != 0) {
		fprintf(stderr, "parley-bench: cannot write %s\n", O.json_path);
		return -1;
	}
	return 0;
}

/* ------------------------------------------ --sweep and scenario modes */

#define MAX_SWEEP 64
static double sweep_rates[MAX_SWEEP];
static int nsweep, sweep_round;
static pthread_mutex_t pause_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pause_cv = PTHREAD_COND_INITIALIZER;
static int npaused;

static int chat_measure(void);

static int parse_sweep(void)
{
	const char *p = O.sweep;
	while (p && *p && nsweep < MAX_SWEEP) {
		char *end;
		double r = strtod(p, &end);
		if (end == p || r < 0.001 || r > 1e8 || (*end && *end != ','))
			break;
		sweep_rates[nsweep++] = r;
		p = *end ? end + 1 : end;
	}
	if (O.mode != MODE_CHAT || nsweep == 0 || (p && *p)) {
		fprintf(stderr, "parley-bench: --sweep wants chat mode and rates like 5000,10000\n");
		return -1;
	}
	O.rate = sweep_rates[0];
	return 0;
}

/* Worker side of a pause between two sweep rates: stop the schedule and
 * block (the loop handles nothing meanwhile; bytes wait in the kernel)
 * until the main thread has moved the phase on. */
static void chat_pause(struct worker *w)
{
	if (w->running) {
		ev_io_stop(w->loop, &w->sched);
		ev_timer_stop(w->loop, &w->tick);
		w->running = false;
	}
	pthread_mutex_lock(&pause_mu);
	npaused++;
	pthread_cond_broadcast(&pause_cv);
	for (int i = 0; i < 7200 && atomic_load(&G.phase) == PH_PAUSE; i++) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&pause_cv, &pause_mu, &ts);
	}
	npaused--;
	pthread_mutex_unlock(&pause_mu);
}

/* Pauses every loop; false when they did not all stop within 10 s. */
static bool pause_workers(void)
{
	bool ok = false;
	for (int i = 0; i < 1000 && !ok; i++) {	/* all left the previous pause */
		pthread_mutex_lock(&pause_mu);
		ok = npaused == 0;
		pthread_mutex_unlock(&pause_mu);
		if (!ok)
			sleep_s(0.01);
	}
	signal_workers(PH_PAUSE);
	ok = false;
	for (int i = 0; i < 1000 && !ok; i++) {
		pthread_mutex_lock(&pause_mu);
		ok = npaused == O.threads;
		pthread_mutex_unlock(&pause_mu);
		if (!ok)
			sleep_s(0.01);
	}
	return ok;
}

static void resume_workers(void)
{
	pthread_mutex_lock(&pause_mu);
	atomic_store(&G.phase, PH_SETUP);
	pthread_cond_broadcast(&pause_cv);
	pthread_mutex_unlock(&pause_mu);
}

/* End of a measured phase: the last one stops the loops; between sweep
 * rates they are paused instead (the connections stay open). */
static void chat_end_round(void)
{
	scen_server_stop();
	if (!sweep_rounds || sweep_round + 1 >= nsweep || interrupted || !pause_workers()) {
		if (sweep_rounds)
			nsweep = sweep_round + 1;	/* no further rounds */
		resume_workers();
		signal_workers(PH_STOP);
		join_workers();
	}
}

/* Between two sweep rates: let the loops answer what is still outstanding
 * (bounded), then reset every per-round counter for the next rate. */
static uint64_t chat_reset_round(double rate)
{
	resume_workers();
	uint64_t outstanding = 0;
	for (int i = 0; i < 1000; i++) {	/* up to 10 s */
		uint64_t sent = 0, answered = 0;
		for (int t = 0; t < O.threads; t++) {
			sent += LD(W[t].n_sent);
			answered += LD(W[t].n_ack) + LD(W[t].n_err) + LD(W[t].n_fail);
		}
		outstanding = sent > answered ? sent - answered : 0;
		if (!outstanding)
			break;
		sleep_s(0.01);
	}
	sleep_s(0.2);	/* late deliveries of the last round (another nonce) */
	if (!pause_workers())
		return UINT64_MAX;
	O.rate = rate;
	G.total = (uint64_t)(rate * O.duration);
	free(G.sstate);
	G.sstate = calloc((size_t)G.total + 1, 1);
	snprintf(G.nonce, sizeof(G.nonce), "pb%08" PRIx32,
		 (uint32_t)((uint64_t)clock_now_ms() ^ ((uint64_t)getpid() << 16) ^
			    (uint64_t)clock_mono_ns()));
	G.nonce_len = strlen(G.nonce);
	for (int t = 0; t < O.threads; t++) {
		struct worker *w = &W[t];
		w->next_k = 0;
		w->sched_done = false;
		atomic_store(&w->finished, false);
		atomic_store(&w->n_sent, 0);
		atomic_store(&w->n_ack, 0);
		atomic_store(&w->n_deliv, 0);
		atomic_store(&w->n_err, 0);
		atomic_store(&w->n_fail, 0);
		atomic_store(&w->n_dup, 0);
		atomic_store(&w->n_lost, 0);
		atomic_store(&w->cur_p99, 0);
		w->errors_by_frame = w->errors_busy = w->ack_dups = w->client_id_dups = 0;
		w->misrouted = w->seq_gaps = w->unknown_k = w->foreign_events = 0;
		w->visitor_events = w->deliv_in_window = 0;
		memset(w->reasons, 0, sizeof(w->reasons));
		hist_reset(&w->h_deliv);
		hist_reset(&w->h_ack);
		hist_reset(&w->h_int);
		hist_reset(&w->h_lag);
	}
	resume_workers();
	return outstanding;
}

/* chat: one measured phase, or one per --sweep rate on the same
 * connections (one result line each; with --json one file holding every
 * round). */
static int chat_rounds(void)
{
	if (!O.sweep)
		return chat_measure();
	sweep_rounds = json_array();
	json_t *undrained = json_array();
	int rc = 0;
	for (sweep_round = 0; sweep_round < nsweep && !interrupted; sweep_round++) {
		if (sweep_round > 0) {
			uint64_t left = chat_reset_round(sweep_rates[sweep_round]);
			json_array_append_new(undrained, json_integer((json_int_t)left));
			if (left == UINT64_MAX) {
				fprintf(stderr, "parley-bench: sweep: loops did not pause\n");
				break;
			}
			if (left)
				fprintf(stderr, "parley-bench: sweep: %" PRIu64 " sends of the previous rate were "
					"still unanswered after 10 s\n", left);
		}
		if (!O.quiet)
			fprintf(stderr, "parley-bench: sweep %d/%d: %.0f msg/s\n", sweep_round + 1, nsweep,
				O.rate);
		rc |= chat_measure();
	}
	json_t *rates = json_array();
	for (int i = 0; i < nsweep; i++)
		json_array_append_new(rates, json_real(sweep_rates[i]));
	json_t *root = json_pack("{s:s, s:o, s:o, s:o, s:i, s:i, s:f, s:i}", "mode", "chat",
				 "sweep_rates", rates, "rounds", sweep_rounds,
				 "undrained_between_rounds", undrained, "visitors", O.visitors,
				 "agents", O.agents, "duration_s", O.duration, "msg_size", O.msg_size);
	sweep_rounds = NULL;
	if (O.json_path) {
		scen_add_meta(root);
		json_object_del(root, "server");	/* per round, inside "rounds" */
		if (json_dump_file(root, O.json_path, JSON_INDENT(2)) != 0) {
			fprintf(stderr, "parley-bench: cannot write %s\n", O.json_path);
			rc = 1;
		}
	}
	json_decref(root);
	return rc;
}

/* storm / fanout / resume / rest live in scen_*.c */
static int run_scenario(void)
{
	static const char *const names[] = { [MODE_STORM] = "storm", [MODE_FANOUT] = "fanout",
					      [MODE_RESUME] = "resume", [MODE_REST] = "rest" };
	struct scen_opts so = {
		.mode = names[O.mode], .host = O.host, .port = O.port, .dst = G.dst, .dlen = G.dlen,
		.sdst = G.sdst, .sdlen = G.sdlen, .shost_hdr = G.shost_hdr,
		.src = G.src, .nsrc = G.nsrc, .host_hdr = G.host_hdr, .visitor_path = G.visitor_path,
		.widget_key = O.widget_key, .email = O.email, .password = O.password,
		.tenant = O.tenant, .visitors = O.visitors, .agents = O.agents,
		.connections = O.connections, .concurrency = O.concurrency,
		.setup_threads = O.setup_threads, .http_conns = O.http_conns,
		.messages = O.messages >= 0 ? O.messages
			    : O.mode == MODE_RESUME ? 5 : O.mode == MODE_REST ? 100 : 4,
		.msg_size = O.msg_size, .rate = O.rate, .duration = O.duration, .drain = O.drain,
		.connect_timeout = O.connect_timeout, .server_pid = O.server_pid,
		.url_path = O.url_path, .rest_reads = O.rest_reads, .json_path = O.json_path, .quiet = O.quiet,
	};
	switch (O.mode) {
	case MODE_STORM: return scen_storm(&so);
	case MODE_FANOUT: return scen_fanout(&so);
	case MODE_RESUME: return scen_resume(&so);
	default: return scen_rest(&so);
	}
}

/* ------------------------------------------------------------ chat mode */

static int run_chat(const struct setup_target *tgt)
{
	int V = O.visitors, A = O.agents;
	double total_d = O.rate * O.duration;
	if (total_d < 1 || total_d > 4e9) {
		fprintf(stderr, "parley-bench: rate*duration must be between 1 and 4e9\n");
		return 2;
	}
	G.total = (uint64_t)total_d;

	/* setup: REST */
	int64_t ts = clock_mono_ns();
	if (setup_login(tgt, O.email, O.password, O.tenant, &G.agent_token) < 0) {
		fprintf(stderr, "parley-bench: setup failed: agent login\n");
		return 1;
	}
	G.vtoken = calloc((size_t)V, sizeof(char *));
	G.conv_id = calloc((size_t)V, sizeof(char *));
	if (setup_visitors(tgt, O.widget_key, V, O.setup_threads, G.vtoken, G.conv_id) < 0) {
		fprintf(stderr, "parley-bench: setup failed: widget sessions / conversations\n");
		return 1;
	}
	ctab_build(V);
	if (!O.quiet)
		fprintf(stderr, "parley-bench: REST setup: %d visitors + conversations in %.2fs\n", V,
			(double)(clock_mono_ns() - ts) / 1e9);

	G.sstate = calloc((size_t)G.total, 1);
	G.filler = malloc((size_t)O.msg_size + 1);
	if (!G.sstate || !G.filler) {
		fprintf(stderr, "parley-bench: out of memory for %" PRIu64 " sends\n", G.total);
		return 1;
	}
	/* "k=<n> " takes ~8-10 bytes; the rest is filler */
	int fl = O.msg_size > 12 ? O.msg_size - 10 : 1;
	for (int i = 0; i < fl; i++)
		G.filler[i] = "abcdefghijklmnopqrstuvwxyz "[i % 27];
	G.filler[fl] = '\0';

	/* setup: WebSockets */
	if (create_workers() < 0)
		return 1;
	VIS = calloc((size_t)V, sizeof(*VIS));
	AGT = calloc((size_t)A, sizeof(*AGT));
	for (int t = 0; t < O.threads; t++)
		W[t].conns = calloc((size_t)(V + A), sizeof(struct conn *));
	/* agents first, so that subscriptions are in place when visitors finish */
	for (int i = 0; i < A; i++) {
		struct conn *c = &AGT[i];
		struct worker *w = &W[i % O.threads];
		c->w = w;
		c->role = R_AGENT;
		c->idx = i;
		c->nconvs = i < V ? (V - 1 - i) / A + 1 : 0;
		c->max_seq = calloc((size_t)(c->nconvs + 1), sizeof(int64_t));
		w->conns[w->nconns++] = c;
	}
	for (int v = 0; v < V; v++) {
		struct conn *c = &VIS[v];
		struct worker *w = &W[owner_of_visitor(v)];
		c->w = w;
		c->role = R_VISITOR;
		c->idx = v;
		w->conns[w->nconns++] = c;
	}
	if (start_workers() < 0)
		return 1;
	double limit = O.connect_timeout * 2 + (double)(V + A) / 100.0 + 10;
	bool connected = wait_connected(limit, V + A);
	int okc = 0;
	for (int t = 0; t < O.threads; t++)
		okc += LD(W[t].setup_ok);
	if (!connected || okc != V + A) {
		fprintf(stderr, "parley-bench: setup failed: %d of %d WebSockets authenticated%s\n", okc,
			V + A, connected ? "" : " (gave up waiting)");
		print_reasons(stderr);
		signal_workers(PH_STOP);
		join_workers();
		return 1;
	}

	return chat_rounds();
}

/* One measured phase at O.rate on the connections run_chat set up (once,
 * or once per --sweep rate). */
static int chat_measure(void)
{
	int V = O.visitors, A = O.agents;

	/* measured phase */
	scen_server_start(O.server_pid, &G.sdst, G.sdlen, G.shost_hdr);
	int64_t t0 = clock_mono_ns() + 50000000;	/* 50 ms to let every loop arm */
	atomic_store(&G.t0, t0);
	signal_workers(PH_RUN);
	if (!O.quiet)
		fprintf(stderr, "parley-bench: run: %" PRIu64 " sends at %.0f/s over %.1fs, %d visitors, "
			"%d agents, %d loop(s), nonce %s\n",
			G.total, O.rate, O.duration, V, A, O.threads, G.nonce);
	int64_t end_sched = t0 + (int64_t)(O.duration * 1e9);
	int64_t deadline = end_sched + (int64_t)(O.drain * 1e9);
	uint64_t prev_sent = 0, prev_deliv = 0;
	int64_t next_print = t0 + 1000000000;
	for (int guard = 0; guard < 10000000; guard++) {
		int64_t now = clock_mono_ns();
		bool all_done = true;
		for (int t = 0; t < O.threads; t++)
			all_done = all_done && LD(W[t].finished);
		if (now >= next_print || all_done || now >= deadline || interrupted) {
			uint64_t s = 0, d = 0, e = 0;
			int64_t p99 = 0;
			for (int t = 0; t < O.threads; t++) {
				s += LD(W[t].n_sent);
				d += LD(W[t].n_deliv);
				e += LD(W[t].n_err) + LD(W[t].n_fail) + LD(W[t].n_dup) + LD(W[t].n_lost);
				int64_t p = LD(W[t].cur_p99);
				p99 = p > p99 ? p : p99;
			}
			if (!O.quiet && now >= next_print)
				fprintf(stderr,
					"[%5.1fs] offered=%" PRIu64 "/s (target %.0f) achieved=%" PRIu64
					"/s sent=%" PRIu64 " delivered=%" PRIu64 " errors=%" PRIu64
					" p99=%.2fms\n",
					(double)(now - t0) / 1e9, s - prev_sent, O.rate, d - prev_deliv, s, d,
					e, ms(p99));
			prev_sent = s;
			prev_deliv = d;
			while (next_print <= now)
				next_print += 1000000000;
		}
		if (all_done || now >= deadline || interrupted)
			break;
		sleep_s(0.01);
	}
	chat_end_round();

	/* results */
	struct hist *hd = malloc(sizeof(*hd)), *ha = malloc(sizeof(*ha)), *hl = malloc(sizeof(*hl));
	hist_reset(hd);
	hist_reset(ha);
	hist_reset(hl);
	uint64_t sent = 0, acked = 0, deliv = 0, err_sends = 0, fail = 0, dups = 0, lost = 0;
	uint64_t eframes = 0, busy = 0, ackdups = 0, cdups = 0, misr = 0, gaps = 0, unk = 0,
		 vev = 0, inwin = 0;
	for (int t = 0; t < O.threads; t++) {
		struct worker *w = &W[t];
		hist_merge(hd, &w->h_deliv);
		hist_merge(ha, &w->h_ack);
		hist_merge(hl, &w->h_lag);
		sent += LD(w->n_sent);
		acked += LD(w->n_ack);
		deliv += LD(w->n_deliv);
		err_sends += LD(w->n_err);
		fail += LD(w->n_fail);
		dups += LD(w->n_dup);
		lost += LD(w->n_lost);
		eframes += w->errors_by_frame;
		busy += w->errors_busy;
		ackdups += w->ack_dups;
		cdups += w->client_id_dups;
		misr += w->misrouted;
		gaps += w->seq_gaps;
		unk += w->unknown_k;
		vev += w->visitor_events;
		inwin += w->deliv_in_window;
	}
	uint64_t missing = 0, unacked = 0;
	for (uint64_t k = 0; k < G.total; k++) {
		uint8_t s = G.sstate[k];
		if ((s & S_SENT) && !(s & (S_ERR | S_FAIL))) {
			if (!(s & S_DELIV))
				missing++;
			if (!(s & S_ACK))
				unacked++;
		}
	}
	uint64_t errors = eframes + fail + lost + cdups + misr + unk + missing + dups;
	double achieved = (double)deliv / O.duration;
	double achieved_in_window = (double)inwin / O.duration;

	printf("parley-bench chat: %d visitors, %d agents, %d loop(s), target %.0f msg/s for %.1fs, "
	       "%d-byte messages\n",
	       V, A, O.threads, O.rate, O.duration, O.msg_size);
	printf("  %-10s %10s %10s %10s %10s %10s %10s %10s\n", "latency", "count", "p50_ms", "p90_ms",
	       "p99_ms", "p99.9_ms", "max_ms", "mean_ms");
	struct {
		const char *name;
		struct hist *h;
	} rows[3] = { { "delivery", hd }, { "ack", ha }, { "send_lag", hl } };
	for (int r = 0; r < 3; r++)
		printf("  %-10s %10" PRIu64 " %10.3f %10.3f %10.3f %10.3f %10.3f %10.3f\n", rows[r].name,
		       rows[r].h->count, ms(hist_quantile(rows[r].h, 0.5)),
		       ms(hist_quantile(rows[r].h, 0.9)), ms(hist_quantile(rows[r].h, 0.99)),
		       ms(hist_quantile(rows[r].h, 0.999)), ms(rows[r].h->max), hist_mean(rows[r].h) / 1e6);
	printf("  sends scheduled=%" PRIu64 " sent=%" PRIu64 " acked=%" PRIu64 " delivered=%" PRIu64
	       " (%" PRIu64 " within the %.1fs window, %.1f/s; the rest while draining)\n",
	       G.total, sent, acked, deliv, inwin, O.duration, achieved_in_window);
	if (vev)
		printf("  events seen by visitors: %" PRIu64 "\n", vev);
	printf("  errors: error_frames=%" PRIu64 " (busy=%" PRIu64 ", refusing a send=%" PRIu64
	       ") send_failures=%" PRIu64
	       " connections_lost=%" PRIu64 " missing=%" PRIu64 " unacked=%" PRIu64
	       " duplicates=%" PRIu64 " client_id_dups=%" PRIu64 " ack_dups=%" PRIu64
	       " misrouted=%" PRIu64 " unknown=%" PRIu64 " seq_gaps=%" PRIu64 "\n",
	       eframes, busy, err_sends, fail, lost, missing, unacked, dups, cdups, ackdups, misr, unk, gaps);
	print_reasons(stdout);
	scen_server_print(stdout);
	if (sweep_rounds)
		printf("rate=%.0f ", O.rate);
	printf("delivered_msgs_per_s=%.1f in_window_msgs_per_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f "
	       "max_ms=%.3f ack_p50_ms=%.3f ack_p99_ms=%.3f ack_max_ms=%.3f send_lag_p99_ms=%.3f "
	       "errors=%" PRIu64 " duplicates=%" PRIu64 " missing=%" PRIu64 "\n",
	       achieved, achieved_in_window, ms(hist_quantile(hd, 0.5)), ms(hist_quantile(hd, 0.9)),
	       ms(hist_quantile(hd, 0.99)), ms(hist_quantile(hd, 0.999)), ms(hd->max),
	       ms(hist_quantile(ha, 0.5)), ms(hist_quantile(ha, 0.99)), ms(ha->max),
	       ms(hist_quantile(hl, 0.99)), errors, dups,
	       missing);
	fflush(stdout);

	json_t *root = json_pack(
		"{s:s, s:i, s:i, s:i, s:f, s:f, s:i, s:I, s:I, s:I, s:I, s:f}", "mode", "chat",
		"visitors", V, "agents", A, "threads", O.threads, "rate", O.rate, "duration_s",
		O.duration, "msg_size", O.msg_size, "scheduled", (json_int_t)G.total, "sent",
		(json_int_t)sent, "acked", (json_int_t)acked, "delivered", (json_int_t)deliv,
		"delivered_msgs_per_s", achieved);
	json_object_set_new(root, "tls", json_boolean(O.tls));
	json_object_set_new(root, "delivered_in_window_msgs_per_s", json_real(achieved_in_window));
	json_object_set_new(root, "visitor_events", json_integer((json_int_t)vev));
	for (int r = 0; r < 3; r++) {
		struct hist *h = rows[r].h;
		json_object_set_new(root, rows[r].name,
				    json_pack("{s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "count",
					      (json_int_t)h->count, "p50_ms", ms(hist_quantile(h, 0.5)),
					      "p90_ms", ms(hist_quantile(h, 0.9)), "p99_ms",
					      ms(hist_quantile(h, 0.99)), "p999_ms",
					      ms(hist_quantile(h, 0.999)), "max_ms", ms(h->max), "min_ms",
					      ms(h->min), "mean_ms", hist_mean(h) / 1e6));
	}
	json_object_set_new(root, "errors",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				      "total", (json_int_t)errors, "error_frames", (json_int_t)eframes,
				      "busy", (json_int_t)busy, "refused_sends", (json_int_t)err_sends, "send_failures", (json_int_t)fail,
				      "connections_lost", (json_int_t)lost, "missing",
				      (json_int_t)missing, "unacked", (json_int_t)unacked,
				      "duplicates", (json_int_t)dups, "client_id_dups",
				      (json_int_t)cdups, "ack_dups", (json_int_t)ackdups, "misrouted",
				      (json_int_t)misr, "unknown", (json_int_t)unk, "seq_gaps",
				      (json_int_t)gaps));
	json_object_set_new(root, "connection_problems", reasons_json());
	int rc = write_json(root) < 0 ? 1 : 0;
	json_decref(root);
	free(hd);
	free(ha);
	free(hl);
	return rc;
}

/* ------------------------------------------------------------ idle mode */

/* Opens N idle visitor connections on this process's loops (the shared
 * visitor token is set up); 0, or -1 when the loops cannot start. */
static int idle_open(int N, int *ok, int *bad, double *open_s)
{
	if (create_workers() < 0)
		return -1;
	IDL = calloc((size_t)N, sizeof(*IDL));
	for (int t = 0; t < O.threads; t++)
		W[t].conns = calloc((size_t)N / (size_t)O.threads + 1, sizeof(struct conn *));
	for (int i = 0; i < N; i++) {
		struct conn *c = &IDL[i];
		struct worker *w = &W[i % O.threads];
		c->w = w;
		c->role = R_IDLE;
		c->idx = i;
		w->conns[w->nconns++] = c;
	}
	int64_t ts = clock_mono_ns();
	if (start_workers() < 0)
		return -1;
	double limit = O.connect_timeout * 2 + (double)N / 500.0 + 10;
	if (!wait_connected(limit, N))
		fprintf(stderr, "parley-bench: gave up waiting for all connections after %.0fs\n", limit);
	*open_s = (double)(clock_mono_ns() - ts) / 1e9;
	*ok = *bad = 0;
	for (int t = 0; t < O.threads; t++) {
		*ok += LD(W[t].setup_ok);
		*bad += LD(W[t].setup_failed);
	}
	return 0;
}

static uint64_t idle_lost(void)
{
	uint64_t lost = 0;
	for (int t = 0; t < O.threads; t++)
		lost += LD(W[t].n_lost);
	return lost;
}

/* --procs P: P child processes share the connections (the per-process
 * open-file limit); child i binds only source address i % nsrc. Each
 * reports "ok bad" once open, waits for a byte from the parent, then
 * reports "lost" and closes. */
struct idle_child {
	pid_t pid;
	int up, down;	/* child → parent, parent → child */
	int share;	/* connections asked of it */
	int ok;		/* connections it reported open */
	bool dead;	/* did not report: killed, its connections count as failed or lost */
};

static int read_line(int fd, char *buf, size_t cap, double timeout_s)
{
	size_t n = 0;
	int64_t deadline = clock_mono_ns() + (int64_t)(timeout_s * 1e9);
	while (n + 1 < cap) {
		struct pollfd p = { fd, POLLIN, 0 };
		int left = (int)((deadline - clock_mono_ns()) / 1000000);
		if (left <= 0)
			return -1;
		int pr = poll(&p, 1, left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return -1;
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return 0;
}

/* Ends child i: killed unless it exited by itself within a few seconds;
 * reaped either way. A nonzero or signalled exit is reported. */
static void idle_reap(struct idle_child *c, int i, bool kill_now)
{
	close(c->up);
	close(c->down);
	int st = 0;
	pid_t r = 0;
	for (int k = 0; !kill_now && k < 100 && (r = waitpid(c->pid, &st, WNOHANG)) == 0; k++)
		sleep_s(0.05);
	if (r == 0) {
		kill(c->pid, SIGKILL);
		r = waitpid(c->pid, &st, 0);
	}
	if (r > 0 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0) && !c->dead)
		fprintf(stderr, "parley-bench: generator process %d ended badly (status %d)\n", i, st);
}

static int idle_fork(struct idle_child *ch, int P, int N)
{
	for (int i = 0; i < P; i++) {
		int up[2], down[2];
		pid_t pid = -1;
		if (pipe(up) == 0) {
			if (pipe(down) == 0) {
				fflush(NULL);
				pid = fork();
				if (pid < 0) {
					close(down[0]);
					close(down[1]);
				}
			}
			if (pid < 0) {
				close(up[0]);
				close(up[1]);
			}
		}
		if (pid < 0) {   /* undo the children already started */
			for (int j = 0; j < i; j++) {
				ch[j].dead = true;
				idle_reap(&ch[j], j, true);
			}
			return -1;
		}
		if (pid == 0) {
			close(up[0]);
			close(down[1]);
			for (int j = 0; j < i; j++) {   /* the parent's ends of earlier children */
				close(ch[j].up);
				close(ch[j].down);
			}
			int share = N / P + (i < N % P), ok = 0, bad = 0;
			double open_s;
			if (G.nsrc > 0) {
				G.src[0] = G.src[i % G.nsrc];
				G.nsrc = 1;
			}
			if (idle_open(share, &ok, &bad, &open_s) < 0)
				_exit(1);
			dprintf(up[1], "%d %d\n", ok, bad);
			char b;
			while (read(down[0], &b, 1) < 0 && errno == EINTR)
				;
			dprintf(up[1], "%" PRIu64 "\n", idle_lost());
			print_reasons(stderr);
			signal_workers(PH_STOP);
			join_workers();
			_exit(0);
		}
		close(up[1]);
		close(down[0]);
		ch[i] = (struct idle_child){ pid, up[0], down[1], N / P + (i < N % P), 0, false };
	}
	return 0;
}

static int run_idle(const struct setup_target *tgt)
{
	int N = O.connections;
	int P = O.procs > 1 ? O.procs : 1;
	G.vtoken = calloc(1, sizeof(char *));
	struct http_client hc;
	http_client_init(&hc, &tgt->addr, tgt->alen, tgt->host_hdr, tgt->timeout_ms);
	int r = setup_visitor(&hc, O.widget_key, "bench idle visitor", &G.vtoken[0]);
	http_client_close(&hc);
	if (r < 0) {
		fprintf(stderr, "parley-bench: setup failed: widget session\n");
		return 1;
	}
	long rss0 = O.server_pid ? read_rss_kb(O.server_pid) : -1;
	long tcp0 = read_tcp_mem_pages();
	if (O.server_pid && rss0 < 0) {
		fprintf(stderr, "parley-bench: cannot read /proc/%ld/status\n", O.server_pid);
		return 1;
	}
	int ok = 0, bad = 0;
	double open_s = 0;
	struct idle_child ch[MAX_PROCS];
	if (P > 1) {
		/* children first: no thread of ours exists yet when they fork */
		int64_t ts = clock_mono_ns();
		if (idle_fork(ch, P, N) < 0) {
			fprintf(stderr, "parley-bench: fork/pipe failed: %s\n", strerror(errno));
			return 1;
		}
		scen_server_start(O.server_pid, &G.sdst, G.sdlen, G.shost_hdr);
		double limit = O.connect_timeout * 2 + (double)N / 500.0 + 10;
		for (int i = 0; i < P; i++) {
			char line[64];
			int a = 0, b = 0;
			if (read_line(ch[i].up, line, sizeof line, limit) < 0 ||
			    sscanf(line, "%d %d", &a, &b) != 2) {
				fprintf(stderr, "parley-bench: generator process %d did not report; its %d "
					"connections count as failed\n", i, ch[i].share);
				ch[i].dead = true;
				kill(ch[i].pid, SIGKILL);
				a = 0;
				b = ch[i].share;
			}
			ch[i].ok = a;
			ok += a;
			bad += b;
		}
		open_s = (double)(clock_mono_ns() - ts) / 1e9;
	} else {
		scen_server_start(O.server_pid, &G.sdst, G.sdlen, G.shost_hdr);
		if (idle_open(N, &ok, &bad, &open_s) < 0)
			return 1;
	}
	long rss1 = O.server_pid ? read_rss_kb(O.server_pid) : -1;
	if (!O.quiet)
		fprintf(stderr, "parley-bench: %d open, %d failed in %.2fs; settling %.1fs\n", ok, bad,
			open_s, O.settle);
	int64_t settle_end = clock_mono_ns() + (int64_t)(O.settle * 1e9);
	int64_t last = clock_mono_ns();
	while (!interrupted && clock_mono_ns() < settle_end) {
		sleep_s(0.05);
		if (!O.quiet && clock_mono_ns() - last >= 1000000000) {
			last = clock_mono_ns();
			long rss = O.server_pid ? read_rss_kb(O.server_pid) : -1;
			if (P > 1) {   /* the processes report their losses at the end */
				fprintf(stderr, "[settle] opened=%d lost=? server_rss_kb=%ld\n", ok, rss);
			} else {
				uint64_t lost = idle_lost();
				fprintf(stderr, "[settle] open=%" PRIu64 " lost=%" PRIu64 " server_rss_kb=%ld\n",
					(uint64_t)ok - lost, lost, rss);
			}
		}
	}
	long rss2 = O.server_pid ? read_rss_kb(O.server_pid) : -1;
	long tcp2 = read_tcp_mem_pages();
	uint64_t lost = 0;
	if (P > 1) {
		for (int i = 0; i < P; i++) {
			char line[64];
			unsigned long long l = 0;
			if (!ch[i].dead) {
				(void)!write(ch[i].down, "x", 1);
				if (read_line(ch[i].up, line, sizeof line, 30) < 0 || sscanf(line, "%llu", &l) != 1) {
					/* it died or hung while idle: everything it held is lost */
					fprintf(stderr, "parley-bench: generator process %d did not report at the "
						"end; its %d connections count as lost\n", i, ch[i].ok);
					ch[i].dead = true;
					l = (unsigned long long)ch[i].ok;
				}
			}
			lost += l;
			idle_reap(&ch[i], i, ch[i].dead);
		}
	} else {
		lost = idle_lost();
		signal_workers(PH_STOP);
		join_workers();
	}
	scen_server_stop();

	double per_conn_open = ok > 0 && rss0 >= 0 ? (double)(rss1 - rss0) * 1024.0 / ok : 0;
	double per_conn = ok > 0 && rss0 >= 0 ? (double)(rss2 - rss0) * 1024.0 / ok : 0;
	printf("parley-bench idle: %d connections requested, %d open, %d failed, %" PRIu64
	       " lost while idle, opened in %.2fs (%.0f conn/s), %d process(es) of %d loop(s), "
	       "%d source address(es)\n",
	       N, ok, bad, lost, open_s, open_s > 0 ? ok / open_s : 0, P, O.threads,
	       G.nsrc ? G.nsrc : 1);
	if (P == 1)   /* children print their own to stderr */
		print_reasons(stdout);
	if (O.server_pid)
		printf("  server VmRSS: before=%ld kB after_open=%ld kB after_settle(%.1fs)=%ld kB\n",
		       rss0, rss1, O.settle, rss2);
	scen_server_print(stdout);
	printf("connections_open=%d connect_failures=%d lost=%" PRIu64 " open_s=%.2f", ok, bad, lost,
	       open_s);
	if (O.server_pid)
		printf(" server_rss_per_conn_bytes=%.0f server_rss_per_conn_bytes_at_open=%.0f", per_conn,
		       per_conn_open);
	/* kernel TCP memory, system-wide: on loopback both ends of each connection */
	double tcp_per_conn = ok > 0 && tcp0 >= 0 && tcp2 >= 0 ? (double)(tcp2 - tcp0) * 4096.0 / ok : -1;
	if (tcp_per_conn >= 0)
		printf(" kernel_tcp_mem_per_conn_bytes=%.0f", tcp_per_conn);
	printf("\n");
	fflush(stdout);
	json_t *root = json_pack("{s:s, s:i, s:i, s:i, s:I, s:f, s:i}", "mode", "idle",
				 "connections_requested", N, "connections_open", ok,
				 "connect_failures", bad, "lost", (json_int_t)lost, "open_s", open_s,
				 "threads", O.threads);
	json_object_set_new(root, "generator_processes", json_integer(P));
	json_object_set_new(root, "tls", json_boolean(O.tls));
	if (O.server_pid) {
		json_object_set_new(root, "server_rss_kb",
				    json_pack("{s:I, s:I, s:I}", "before", (json_int_t)rss0,
					      "after_open", (json_int_t)rss1, "after_settle",
					      (json_int_t)rss2));
		json_object_set_new(root, "server_rss_per_conn_bytes", json_real(per_conn));
	}
	if (tcp_per_conn >= 0)
		json_object_set_new(root, "kernel_tcp_mem_per_conn_bytes_both_ends", json_real(tcp_per_conn));
	/* with several processes each prints its own problems to stderr */
	json_object_set_new(root, "connection_problems", P == 1 ? reasons_json() : json_null());
	int rc = write_json(root) < 0 ? 1 : 0;
	json_decref(root);
	if (ok == 0)
		rc = 1;
	return rc;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: parley-bench [--mode chat|idle|storm|fanout|resume|rest] [options]\n"
		"common:\n"
		"  --host H              server address (default 127.0.0.1)\n"
		"  --port P              server port (default 8080)\n"
		"  --widget-key KEY      the tenant's widget key (required)\n"
		"  --threads N           event loops (default 1)\n"
		"  --concurrency C       connection attempts in flight per loop (default 256)\n"
		"  --connect-timeout S   connect + upgrade + auth time-out (default 10)\n"
		"  --source-addrs A,B    bind outgoing sockets round-robin to these addresses\n"
		"  --json FILE           also write the results as JSON\n"
		"  --quiet               no progress lines on stderr\n"
		"  --protocol P          parley (default) or socketio: Socket.IO v4 peer\n"
		"  --tls                 WebSockets over TLS 1.2 (chat, idle, storm; the\n"
		"                        certificate is not checked)\n"
		"  --setup-port P        setup requests and /metrics go here, plain HTTP\n"
		"                        (parleyd --plain-port; default: --port)\n"
		"                        (bench/peers/socketio-pg), same modes and output\n"
		"chat mode:\n"
		"  --email E             agent login (default admin@demo.parley)\n"
		"  --password P          agent password (required)\n"
		"  --tenant SLUG         tenant slug for the login (optional)\n"
		"  --visitors V          visitors = conversations (default 100)\n"
		"  --agents A            agent connections (default 10)\n"
		"  --rate R              offered messages/s, all visitors together (default 1000)\n"
		"  --duration D          measured seconds (default 10)\n"
		"  --drain S             wait for late deliveries after the run (default 2)\n"
		"  --msg-size B          message text bytes (default 100)\n"
		"  --visitor-subscribe   visitors also subscribe to their conversation\n"
		"  --setup-threads N     parallel REST connections for setup (default 8)\n"
		"idle mode:\n"
		"  --connections N       visitor WebSockets to open and hold (default 1000)\n"
		"  --server-pid PID      report the server's VmRSS growth per connection\n"
		"  --settle S            seconds to hold before the final RSS reading (default 5)\n"
		"  --procs P             P generator processes share the connections (each binds\n"
		"                        source address i %% count of --source-addrs): past the\n"
		"                        per-process open-file limit\n"
		"chat: --sweep R1,R2,…  run the measured phase at each rate back to back\n"
		"storm: --connections N visitor WebSockets (upgrade + auth), --concurrency C\n"
		"fanout: --agents A on subscribe_inbox, --visitors V, --rate R operations/s,\n"
		"        --messages M per conversation after its create (default 4)\n"
		"resume: --connections N visitors, --agents A, --messages M missed each (default 5)\n"
		"rest:   --rate R, --duration D, --http-conns N (default 16), --visitors V\n"
		"        conversations with --messages M each (default 100); --url-path P: GET P\n"
		"        without auth and no setup (e.g. nginx serving a static file);\n"
		"        --rest-reads both|list|messages (default both: alternate)\n"
		"all modes: --server-pid PID  sample server CPU per thread kind, RSS, /metrics\n");
}

static bool parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	enum {
		OPT_MODE = 256, OPT_HOST, OPT_PORT, OPT_KEY, OPT_EMAIL, OPT_PASSWORD, OPT_TENANT,
		OPT_VISITORS, OPT_AGENTS, OPT_RATE, OPT_DURATION, OPT_DRAIN, OPT_MSGSIZE, OPT_VSUB,
		OPT_THREADS, OPT_CONNS, OPT_PID, OPT_SETTLE, OPT_SRC, OPT_CONC, OPT_CTIMEOUT,
		OPT_SETUP_THREADS, OPT_JSON, OPT_QUIET, OPT_HELP, OPT_HTTP_CONNS, OPT_MESSAGES, OPT_URL_PATH, OPT_SWEEP, OPT_PROTOCOL, OPT_REST_READS, OPT_PROCS,
		OPT_TLS, OPT_SETUP_PORT
	};
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "widget-key", required_argument, NULL, OPT_KEY },
		{ "email", required_argument, NULL, OPT_EMAIL },
		{ "password", required_argument, NULL, OPT_PASSWORD },
		{ "tenant", required_argument, NULL, OPT_TENANT },
		{ "visitors", required_argument, NULL, OPT_VISITORS },
		{ "agents", required_argument, NULL, OPT_AGENTS },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "drain", required_argument, NULL, OPT_DRAIN },
		{ "msg-size", required_argument, NULL, OPT_MSGSIZE },
		{ "visitor-subscribe", no_argument, NULL, OPT_VSUB },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "connections", required_argument, NULL, OPT_CONNS },
		{ "server-pid", required_argument, NULL, OPT_PID },
		{ "settle", required_argument, NULL, OPT_SETTLE },
		{ "source-addrs", required_argument, NULL, OPT_SRC },
		{ "concurrency", required_argument, NULL, OPT_CONC },
		{ "connect-timeout", required_argument, NULL, OPT_CTIMEOUT },
		{ "setup-threads", required_argument, NULL, OPT_SETUP_THREADS },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "http-conns", required_argument, NULL, OPT_HTTP_CONNS },
		{ "messages", required_argument, NULL, OPT_MESSAGES },
		{ "url-path", required_argument, NULL, OPT_URL_PATH },
		{ "rest-reads", required_argument, NULL, OPT_REST_READS },
		{ "procs", required_argument, NULL, OPT_PROCS },
		{ "sweep", required_argument, NULL, OPT_SWEEP },
		{ "protocol", required_argument, NULL, OPT_PROTOCOL },
		{ "tls", no_argument, NULL, OPT_TLS },
		{ "setup-port", required_argument, NULL, OPT_SETUP_PORT },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	scen_set_argv(argc, argv);
	int opt;
	double v;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		bool good = true;
		switch (opt) {
		case OPT_MODE:
			if (strcmp(optarg, "chat") == 0)
				O.mode = MODE_CHAT;
			else if (strcmp(optarg, "idle") == 0)
				O.mode = MODE_IDLE;
			else if (strcmp(optarg, "storm") == 0)
				O.mode = MODE_STORM;
			else if (strcmp(optarg, "fanout") == 0)
				O.mode = MODE_FANOUT;
			else if (strcmp(optarg, "resume") == 0)
				O.mode = MODE_RESUME;
			else if (strcmp(optarg, "rest") == 0)
				O.mode = MODE_REST;
			else
				good = false;
			break;
		case OPT_HOST: O.host = optarg; break;
		case OPT_PORT: good = parse_num(optarg, 1, 65535, &v); O.port = (int)v; break;
		case OPT_TLS: O.tls = true; break;
		case OPT_SETUP_PORT: good = parse_num(optarg, 1, 65535, &v); O.setup_port = (int)v; break;
		case OPT_KEY: O.widget_key = optarg; break;
		case OPT_EMAIL: O.email = optarg; break;
		case OPT_PASSWORD: O.password = optarg; break;
		case OPT_TENANT: O.tenant = optarg; break;
		case OPT_VISITORS: good = parse_num(optarg, 1, 10000000, &v); O.visitors = (int)v; break;
		case OPT_AGENTS: good = parse_num(optarg, 1, 1000000, &v); O.agents = (int)v; break;
		case OPT_RATE: good = parse_num(optarg, 0.001, 1e8, &O.rate); break;
		case OPT_DURATION: good = parse_num(optarg, 0.001, 86400, &O.duration); break;
		case OPT_DRAIN: good = parse_num(optarg, 0, 3600, &O.drain); break;
		case OPT_MSGSIZE: good = parse_num(optarg, 1, 8000, &v); O.msg_size = (int)v; break;
		case OPT_VSUB: O.visitor_subscribe = true; break;
		case OPT_THREADS: good = parse_num(optarg, 1, MAX_THREADS, &v); O.threads = (int)v; break;
		case OPT_CONNS: good = parse_num(optarg, 1, 10000000, &v); O.connections = (int)v; break;
		case OPT_PROCS: good = parse_num(optarg, 1, MAX_PROCS, &v); O.procs = (int)v; break;
		case OPT_PID: good = parse_num(optarg, 1, 4194304, &v); O.server_pid = (long)v; break;
		case OPT_SETTLE: good = parse_num(optarg, 0, 86400, &O.settle); break;
		case OPT_SRC: O.source_addrs = optarg; break;
		case OPT_CONC: good = parse_num(optarg, 1, 1000000, &v); O.concurrency = (int)v; break;
		case OPT_CTIMEOUT: good = parse_num(optarg, 0.1, 3600, &O.connect_timeout); break;
		case OPT_SETUP_THREADS: good = parse_num(optarg, 1, 64, &v); O.setup_threads = (int)v; break;
		case OPT_JSON: O.json_path = optarg; break;
		case OPT_QUIET: O.quiet = true; break;
		case OPT_HTTP_CONNS: good = parse_num(optarg, 1, 100000, &v); O.http_conns = (int)v; break;
		case OPT_MESSAGES: good = parse_num(optarg, 0, 100000, &v); O.messages = (int)v; break;
		case OPT_URL_PATH: O.url_path = optarg; good = optarg[0] == '/' && strlen(optarg) < 400; break;
		case OPT_REST_READS:
			O.rest_reads = strcmp(optarg, "both") == 0       ? REST_BOTH
				     : strcmp(optarg, "list") == 0     ? REST_LIST
				     : strcmp(optarg, "messages") == 0 ? REST_MESSAGES
								       : -1;
			good = O.rest_reads >= 0;
			break;
		case OPT_SWEEP: O.sweep = optarg; break;
		case OPT_PROTOCOL:
			good = strcmp(optarg, "parley") == 0 || strcmp(optarg, "socketio") == 0;
			O.socketio = strcmp(optarg, "socketio") == 0;
			break;
		case 'h':
		case OPT_HELP: usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (!good) {
			fprintf(stderr, "parley-bench: bad value for %s: %s\n", argv[optind - 1], optarg);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "parley-bench: unexpected argument: %s\n", argv[optind]);
		return 2;
	}
	if (!O.widget_key && !(O.mode == MODE_REST && O.url_path)) {
		fprintf(stderr, "parley-bench: --widget-key is required\n");
		return 2;
	}
	if ((O.mode == MODE_CHAT || O.mode == MODE_FANOUT || O.mode == MODE_RESUME ||
	     (O.mode == MODE_REST && !O.url_path)) && !O.password) {
		fprintf(stderr, "parley-bench: --password is required in this mode\n");
		return 2;
	}
	if (O.mode == MODE_CHAT && O.msg_size < 16) {
		fprintf(stderr, "parley-bench: --msg-size must be at least 16 in chat mode\n");
		return 2;
	}
	if (O.socketio && O.mode != MODE_CHAT && O.mode != MODE_IDLE) {
		fprintf(stderr, "parley-bench: --protocol socketio supports --mode chat and idle only\n");
		return 2;
	}

	if (O.sweep && parse_sweep() < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_sigint);
	raise_nofile();

	if (net_resolve(O.host, O.port, &G.dst, &G.dlen) < 0) {
		fprintf(stderr, "parley-bench: cannot resolve %s\n", O.host);
		return 1;
	}
	if (O.source_addrs) {
		G.nsrc = net_parse_sources(O.source_addrs, G.src, MAX_SOURCES);
		if (G.nsrc <= 0) {
			fprintf(stderr, "parley-bench: bad --source-addrs: %s\n", O.source_addrs);
			return 2;
		}
		for (int i = 0; i < G.nsrc; i++)
			if (G.src[i].ss_family != G.dst.ss_family) {
				fprintf(stderr, "parley-bench: --source-addrs family differs from --host\n");
				return 2;
			}
	}
	if (strchr(O.host, ':'))
		snprintf(G.host_hdr, sizeof(G.host_hdr), "[%s]:%d", O.host, O.port);
	else
		snprintf(G.host_hdr, sizeof(G.host_hdr), "%s:%d", O.host, O.port);
	int sport = O.setup_port ? O.setup_port : O.port;
	if (net_resolve(O.host, sport, &G.sdst, &G.sdlen) < 0)
		return 1;
	if (strchr(O.host, ':'))
		snprintf(G.shost_hdr, sizeof(G.shost_hdr), "[%s]:%d", O.host, sport);
	else
		snprintf(G.shost_hdr, sizeof(G.shost_hdr), "%s:%d", O.host, sport);
	wsc_use_tls(O.tls);
	char key_enc[400];
	url_encode(O.widget_key ? O.widget_key : "", key_enc, sizeof(key_enc));
	snprintf(G.visitor_path, sizeof(G.visitor_path), "/v1/widget/ws?key=%s", key_enc);
	snprintf(G.nonce, sizeof(G.nonce), "pb%08" PRIx32,
		 (uint32_t)((uint64_t)clock_now_ms() ^ ((uint64_t)getpid() << 16) ^
			    (uint64_t)clock_mono_ns()));
	G.nonce_len = strlen(G.nonce);
	atomic_init(&G.phase, PH_SETUP);
	atomic_init(&G.t0, 0);

	struct setup_target tgt = { .addr = G.sdst, .alen = G.sdlen, .host_hdr = G.shost_hdr,
				    .timeout_ms = (int)(O.connect_timeout * 1000) };
	if (O.mode >= MODE_STORM)
		return run_scenario();
	return O.mode == MODE_CHAT ? run_chat(&tgt) : run_idle(&tgt);
}
