/* scen_resume — `--mode resume`: resume storm.
 *
 * Setup: agent login; N (--connections) visitors, each with a widget
 * session and one conversation (REST, --setup-threads connections); A
 * (--agents) agent WebSockets; N visitor WebSockets, each `auth` +
 * `subscribe` to its conversation (after_seq 0), remembering the highest
 * seq seen.
 * 1. Drop: every visitor socket is shut down at once (no close frame, as a
 *    network loss); we wait (bounded) until the server's
 *    parley_http_connections shows them gone.
 * 2. While they are away, the agents send --messages M messages into every
 *    conversation (agent j % A sends for conversation j; at most 256
 *    unacknowledged sends per agent) and wait for every ack; the acks give
 *    the highest seq of each conversation.
 * 3. Resume storm: at time Tr every visitor reconnects (at most
 *    --concurrency attempts in flight), authenticates and sends
 *    `subscribe` with after_seq = its last seen seq (again with the new
 *    after_seq when the server answers "more":true). A visitor is complete
 *    when the subscribe is acknowledged; it must then have received exactly
 *    the events (last seen, highest acked] — no fewer (missing), none twice
 *    or out of order (duplicates).
 * Reported: resume time percentiles from Tr (what a user waits in a storm)
 * and from the visitor's own reconnect attempt, the time until every
 * visitor is complete, missing / duplicate / failed counts (all must be 0). */
#include "scen.h"

#include "bench_setup.h"
#include "core/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_REASONS 16
#define AGENT_WINDOW 256

enum { PH_CONNECT, PH_SEND, PH_RESUME, PH_DONE };

struct rvis {
	struct wsc ws;
	int idx;
	int64_t last_seq;	/* highest seq seen */
	int64_t before_drop;	/* last_seq when dropped */
	int64_t target;		/* highest acked seq after the agents' sends */
	uint64_t got;		/* events received after the resume */
	int64_t t_start;
	bool ready, done, ok, lost;
};

struct ragent {
	struct wsc ws;
	int idx;
	bool ready;
	int inflight;
	uint64_t next;		/* next send of this agent (in its own sequence) */
	uint64_t nsends;	/* sends this agent owns */
};

static struct {
	const struct scen_opts *o;
	struct ev_loop *loop;
	char *agent_token;
	char **vtoken, **conv;
	struct rvis *v;
	struct ragent *a;
	int N, A, M;
	int phase;
	char nonce[16];
	int next_start, inflight;
	int ready, failed, agents_ready, agents_failed;
	int done, done_ok, done_failed;
	uint64_t acked, send_errors, dups, seq_gaps, lost, extra;
	struct hist *h_storm, *h_conn, *h_connect;
	const char *reason[MAX_REASONS];
	uint64_t reason_n[MAX_REASONS];
	ev_timer tick;
	int64_t deadline, next_print, t_resume, t_last_done;
} Z;

static void note(const char *why)
{
	for (int i = 0; i < MAX_REASONS; i++)
		if (!Z.reason[i] || strcmp(Z.reason[i], why) == 0) {
			Z.reason[i] = why;
			Z.reason_n[i]++;
			return;
		}
}

static void send_str(struct wsc *ws, const char *s, int n)
{
	if (n > 0)
		(void)wsc_send_text(ws, s, (size_t)n, true);
}

/* ---- visitors ---- */

static void start_more(void);

static void visitor_subscribe(struct rvis *v, int64_t after)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf),
			 "{\"type\":\"subscribe\",\"id\":\"sub\",\"conversation_id\":\"%s\","
			 "\"after_seq\":%" PRId64 "}",
			 Z.conv[v->idx], after);
	send_str(&v->ws, buf, n);
}

static void visitor_finish(struct rvis *v, bool ok)
{
	int64_t now = clock_mono_ns();
	wsc_set_timeout(&v->ws, 0);
	if (Z.phase == PH_CONNECT) {
		if (v->ready)
			return;
		v->ready = true;
		Z.inflight--;
		if (ok) {
			Z.ready++;
			hist_record(Z.h_connect, now - v->t_start);
		} else {
			Z.failed++;
		}
		start_more();
		return;
	}
	if (v->done)
		return;
	v->done = true;
	v->ok = ok;
	Z.inflight--;
	Z.done++;
	if (ok) {
		Z.done_ok++;
		hist_record(Z.h_storm, now - Z.t_resume);
		hist_record(Z.h_conn, now - v->t_start);
	} else {
		Z.done_failed++;
	}
	Z.t_last_done = now;
	start_more();
}

static void visitor_open(struct wsc *ws)
{
	struct rvis *v = ws->user;
	char buf[2048];
	int n = snprintf(buf, sizeof(buf), "{\"type\":\"auth\",\"id\":\"auth\",\"token\":\"%s\"}",
			 Z.vtoken[v->idx]);
	wsc_set_timeout(ws, Z.o->connect_timeout);
	send_str(ws, buf, n);
}

static void visitor_text(struct wsc *ws, char *data, size_t len)
{
	struct rvis *v = ws->user;
	json_error_t je;
	json_t *m = json_loadb(data, len, 0, &je);
	const char *type = json_string_value(json_object_get(m, "type"));
	const char *id = json_string_value(json_object_get(m, "id"));
	if (!type) {
		note("visitor: unparsable frame");
	} else if (strcmp(type, "event") == 0) {
		json_t *js = json_object_get(m, "seq");
		int64_t seq = json_is_integer(js) ? (int64_t)json_integer_value(js) : -1;
		if (seq <= v->last_seq) {
			Z.dups++;
		} else {
			if (Z.phase >= PH_RESUME) {
				v->got++;
				if (seq != v->last_seq + 1)
					Z.seq_gaps++;
				if (seq > v->target)
					Z.extra++;
			}
			v->last_seq = seq;
		}
	} else if (strcmp(type, "ack") == 0 && id && strcmp(id, "auth") == 0) {
		visitor_subscribe(v, v->last_seq);
	} else if (strcmp(type, "ack") == 0 && id && strcmp(id, "sub") == 0) {
		if (json_is_true(json_object_get(m, "more"))) {
			visitor_subscribe(v, v->last_seq);
		} else {
			visitor_finish(v, true);
		}
	} else if (strcmp(type, "error") == 0) {
		note("visitor: error frame");
		if (id) {
			wsc_close(ws, 1000);
			visitor_finish(v, false);
		}
	}
	json_decref(m);
}

static void visitor_close(struct wsc *ws, const char *reason, int code)
{
	(void)code;
	struct rvis *v = ws->user;
	note(reason);
	bool pending = Z.phase == PH_CONNECT ? !v->ready : !v->done;
	if (pending)
		visitor_finish(v, false);
	else if (!v->lost) {
		v->lost = true;
		Z.lost++;
	}
}

static const struct wsc_callbacks VCB = { .on_open = visitor_open, .on_text = visitor_text,
					  .on_close = visitor_close };

static void start_more(void)
{
	const struct scen_opts *o = Z.o;
	for (int guard = 0; guard < 10000000 && Z.inflight < o->concurrency && Z.next_start < Z.N;
	     guard++) {
		struct rvis *v = &Z.v[Z.next_start++];
		v->t_start = clock_mono_ns();
		Z.inflight++;
		const struct sockaddr *src =
			o->nsrc ? (const struct sockaddr *)&o->src[(v->idx + (Z.phase == PH_RESUME)) % o->nsrc]
			 : NULL;
		if (wsc_start(&v->ws, Z.loop, &VCB, v, (const struct sockaddr *)&o->dst, o->dlen, src,
			      o->host_hdr, o->visitor_path, o->connect_timeout) < 0) {
			note(errno == EMFILE || errno == ENFILE ? "out of file descriptors"
			     : errno == EADDRNOTAVAIL ? "no source port available"
			     : "socket/connect failed");
			visitor_finish(v, false);
		}
	}
}

/* ---- agents ---- */

/* Agent a owns conversations j = a, a+A, …; its send s goes to conversation
 * a + (s % per) * A, message number s / per (per = conversations it owns). */
static void agent_pump(struct ragent *a)
{
	int per = Z.N > a->idx ? (Z.N - 1 - a->idx) / Z.A + 1 : 0;
	char buf[512];
	for (int guard = 0; guard < AGENT_WINDOW * 2 && a->inflight < AGENT_WINDOW && a->next < a->nsends;
	     guard++) {
		uint64_t s = a->next++;
		int j = a->idx + (int)(s % (uint64_t)per) * Z.A;
		int m = (int)(s / (uint64_t)per);
		int n = snprintf(buf, sizeof(buf),
				 "{\"type\":\"send\",\"id\":\"m%d\",\"conversation_id\":\"%s\","
				 "\"client_id\":\"%s-%d-%d\",\"text\":\"missed message %d while you were away\"}",
				 j, Z.conv[j], Z.nonce, j, m, m);
		a->inflight++;
		send_str(&a->ws, buf, n);
	}
}

static void agent_open(struct wsc *ws)
{
	char buf[4096];
	int n = snprintf(buf, sizeof(buf), "{\"type\":\"auth\",\"id\":\"auth\",\"token\":\"%s\"}",
			 Z.agent_token);
	wsc_set_timeout(ws, Z.o->connect_timeout);
	send_str(ws, buf, n);
}

static void agent_text(struct wsc *ws, char *data, size_t len)
{
	struct ragent *a = ws->user;
	json_error_t je;
	json_t *m = json_loadb(data, len, 0, &je);
	const char *type = json_string_value(json_object_get(m, "type"));
	const char *id = json_string_value(json_object_get(m, "id"));
	if (type && id && strcmp(type, "ack") == 0 && strcmp(id, "auth") == 0) {
		a->ready = true;
		wsc_set_timeout(ws, 0);
		Z.agents_ready++;
	} else if (type && id && id[0] == 'm' && (strcmp(type, "ack") == 0 || strcmp(type, "error") == 0)) {
		int j = atoi(id + 1);
		json_t *js = json_object_get(m, "seq");
		a->inflight--;
		if (strcmp(type, "ack") == 0 && json_is_integer(js) && j >= 0 && j < Z.N) {
			Z.acked++;
			if ((int64_t)json_integer_value(js) > Z.v[j].target)
				Z.v[j].target = (int64_t)json_integer_value(js);
		} else {
			Z.send_errors++;
			note("agent send refused");
		}
		agent_pump(a);
	} else if (type && strcmp(type, "error") == 0) {
		note("agent: error frame");
		if (!a->ready) {
			wsc_close(ws, 1000);
			Z.agents_failed++;
		}
	}
	json_decref(m);
}

static void agent_close(struct wsc *ws, const char *reason, int code)
{
	(void)code;
	struct ragent *a = ws->user;
	note(reason);
	if (!a->ready)
		Z.agents_failed++;
	else
		Z.lost++;
	a->inflight = 0;
	a->next = a->nsends;
}

static const struct wsc_callbacks ACB = { .on_open = agent_open, .on_text = agent_text,
					  .on_close = agent_close };

/* ---- phases ---- */

static volatile sig_atomic_t res_interrupted;
static void res_sigint(int sig)
{
	(void)sig;
	res_interrupted = 1;
}

static bool phase_complete(void)
{
	switch (Z.phase) {
	case PH_CONNECT:
		return Z.ready + Z.failed >= Z.N && Z.agents_ready + Z.agents_failed >= Z.A;
	case PH_SEND: {
		for (int i = 0; i < Z.A; i++)
			if (Z.a[i].ready && (Z.a[i].inflight > 0 || Z.a[i].next < Z.a[i].nsends))
				return false;
		return true;
	}
	case PH_RESUME:
		return Z.done >= Z.N;
	default:
		return true;
	}
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	int64_t now = clock_mono_ns();
	if (!Z.o->quiet && now >= Z.next_print) {
		if (Z.phase == PH_CONNECT)
			fprintf(stderr, "[connect] visitors ready=%d failed=%d agents=%d of %d\n", Z.ready,
				Z.failed, Z.agents_ready, Z.A);
		else if (Z.phase == PH_SEND)
			fprintf(stderr, "[agents send] acked=%" PRIu64 " errors=%" PRIu64 "\n", Z.acked,
				Z.send_errors);
		else
			fprintf(stderr, "[resume %5.1fs] complete=%d failed=%d in_flight=%d of %d\n",
				(double)(now - Z.t_resume) / 1e9, Z.done_ok, Z.done_failed, Z.inflight, Z.N);
		Z.next_print = now + 1000000000;
	}
	if (phase_complete() || now >= Z.deadline || res_interrupted)
		ev_break(loop, EVBREAK_ALL);
}

static void run_phase(double limit_s)
{
	Z.deadline = clock_mono_ns() + (int64_t)(limit_s * 1e9);
	Z.next_print = clock_mono_ns() + 1000000000;
	ev_run(Z.loop, 0);
}

int scen_resume(const struct scen_opts *o)
{
	Z.o = o;
	Z.N = o->connections;
	Z.A = o->agents;
	Z.M = o->messages;
	if (Z.M < 1 || Z.A < 1) {
		fprintf(stderr, "parley-bench: resume needs --messages >= 1 and --agents >= 1\n");
		return 2;
	}
	snprintf(Z.nonce, sizeof(Z.nonce), "rs%08x",
		 (unsigned)((uint64_t)clock_now_ms() ^ ((uint64_t)getpid() << 16) ^
			    (uint64_t)clock_mono_ns()));
	Z.vtoken = calloc((size_t)Z.N, sizeof(char *));
	Z.conv = calloc((size_t)Z.N, sizeof(char *));
	Z.v = calloc((size_t)Z.N, sizeof(*Z.v));
	Z.a = calloc((size_t)Z.A, sizeof(*Z.a));
	Z.h_storm = scen_hist_new();
	Z.h_conn = scen_hist_new();
	Z.h_connect = scen_hist_new();
	Z.loop = ev_loop_new(EVFLAG_AUTO);
	if (!Z.vtoken || !Z.conv || !Z.v || !Z.a || !Z.loop)
		return 1;
	int64_t ts = clock_mono_ns();
	struct setup_target tgt = { .addr = o->dst, .alen = o->dlen, .host_hdr = o->host_hdr,
				    .timeout_ms = (int)(o->connect_timeout * 1000) };
	if (setup_login(&tgt, o->email, o->password, o->tenant, &Z.agent_token) < 0) {
		fprintf(stderr, "parley-bench: setup failed: agent login\n");
		return 1;
	}
	if (setup_visitors(&tgt, o->widget_key, Z.N, o->setup_threads, Z.vtoken, Z.conv) < 0) {
		fprintf(stderr, "parley-bench: setup failed: widget sessions / conversations\n");
		return 1;
	}
	if (!o->quiet)
		fprintf(stderr, "parley-bench: REST setup: %d visitors + conversations in %.2fs\n", Z.N,
			(double)(clock_mono_ns() - ts) / 1e9);
	signal(SIGINT, res_sigint);
	ev_timer_init(&Z.tick, tick_cb, 0.005, 0.005);
	ev_timer_start(Z.loop, &Z.tick);

	/* connect: agents, then visitors (subscribed after_seq 0) */
	Z.phase = PH_CONNECT;
	for (int i = 0; i < Z.A; i++) {
		struct ragent *a = &Z.a[i];
		a->idx = i;
		int per = Z.N > i ? (Z.N - 1 - i) / Z.A + 1 : 0;
		a->nsends = (uint64_t)per * (uint64_t)Z.M;
		if (wsc_start(&a->ws, Z.loop, &ACB, a, (const struct sockaddr *)&o->dst, o->dlen, NULL,
			      o->host_hdr, "/v1/ws", o->connect_timeout) < 0)
			Z.agents_failed++;
	}
	for (int i = 0; i < Z.N; i++)
		Z.v[i].idx = i;
	int64_t tc = clock_mono_ns();
	start_more();
	run_phase(o->connect_timeout * 2 + (double)Z.N / 200.0 + 10);
	double connect_s = (double)(clock_mono_ns() - tc) / 1e9;
	if (Z.ready != Z.N || Z.agents_ready != Z.A) {
		fprintf(stderr, "parley-bench: setup failed: %d of %d visitors subscribed, %d of %d agents\n",
			Z.ready, Z.N, Z.agents_ready, Z.A);
		for (int i = 0; i < MAX_REASONS && Z.reason[i]; i++)
			fprintf(stderr, "  problem: %s x%" PRIu64 "\n", Z.reason[i], Z.reason_n[i]);
		return 1;
	}
	if (!o->quiet)
		fprintf(stderr, "parley-bench: %d visitors subscribed in %.2fs; dropping them all\n", Z.N,
			connect_s);
	scen_server_start(o->server_pid, &o->dst, o->dlen, o->host_hdr);

	/* 1. drop */
	double conns_before = scen_metric_now(&o->dst, o->dlen, o->host_hdr, "parley_http_connections");
	int64_t td = clock_mono_ns();
	for (int i = 0; i < Z.N; i++) {
		struct rvis *v = &Z.v[i];
		v->before_drop = v->last_seq;
		v->target = v->last_seq;
		if (v->ws.fd >= 0)
			shutdown(v->ws.fd, SHUT_RDWR);
		wsc_close(&v->ws, 1006);	/* the close frame cannot go out any more */
	}
	double conns_after = NAN, drop_s = 0;
	for (int i = 0; i < 1000; i++) {	/* up to 10 s */
		conns_after = scen_metric_now(&o->dst, o->dlen, o->host_hdr, "parley_http_connections");
		if (isnan(conns_after) || conns_after <= (double)Z.A + 2)
			break;
		scen_sleep(0.01);
	}
	drop_s = (double)(clock_mono_ns() - td) / 1e9;
	if (isnan(conns_after))
		scen_sleep(1.0);	/* no metrics: give the server a second */
	if (!o->quiet)
		fprintf(stderr, "parley-bench: server connections %.0f -> %.0f in %.2fs; agents send %d "
			"messages into each conversation\n",
			conns_before, conns_after, drop_s, Z.M);

	/* 2. agents send while the visitors are away */
	Z.phase = PH_SEND;
	int64_t tsnd = clock_mono_ns();
	for (int i = 0; i < Z.A; i++)
		if (Z.a[i].ready)
			agent_pump(&Z.a[i]);
	run_phase(o->connect_timeout + (double)Z.N * Z.M / 2000.0 + 10);
	double send_s = (double)(clock_mono_ns() - tsnd) / 1e9;
	uint64_t expected = 0;
	for (int i = 0; i < Z.N; i++)
		expected += (uint64_t)(Z.v[i].target - Z.v[i].before_drop);

	/* 3. resume storm */
	Z.phase = PH_RESUME;
	Z.next_start = 0;
	Z.inflight = 0;
	Z.t_resume = clock_mono_ns();
	if (!o->quiet)
		fprintf(stderr, "parley-bench: %" PRIu64 " messages acked in %.2fs; all %d visitors resume\n",
			Z.acked, send_s, Z.N);
	start_more();
	run_phase(o->connect_timeout * 2 + (double)Z.N / 200.0 + 30);
	Z.phase = PH_DONE;
	scen_server_stop();
	double total_s = Z.t_last_done > Z.t_resume ? (double)(Z.t_last_done - Z.t_resume) / 1e9 : 0;

	uint64_t missing = 0, got = 0, incomplete = 0;
	for (int i = 0; i < Z.N; i++) {
		struct rvis *v = &Z.v[i];
		uint64_t want = (uint64_t)(v->target - v->before_drop);
		got += v->got;
		if (v->got < want)
			missing += want - v->got;
		if (!v->done || !v->ok)
			incomplete++;
		if (v->ws.state != WSC_IDLE)
			wsc_close(&v->ws, 1000);
	}
	for (int i = 0; i < Z.A; i++)
		wsc_close(&Z.a[i].ws, 1000);
	uint64_t errors = missing + Z.dups + Z.seq_gaps + Z.extra + incomplete + Z.send_errors + Z.lost;

	printf("parley-bench resume: %d visitors dropped at once, %d agents sent %d messages into each "
	       "conversation, all resumed with after_seq\n",
	       Z.N, Z.A, Z.M);
	scen_hist_header(stdout);
	scen_hist_row(stdout, "first_connect", Z.h_connect);
	scen_hist_row(stdout, "resume_storm", Z.h_storm);
	scen_hist_row(stdout, "resume_conn", Z.h_conn);
	printf("  initial connect %.2fs; drop noticed by the server in %.2fs; agents' %" PRIu64
	       " sends acked in %.2fs (%.0f msg/s, %" PRIu64 " refused)\n",
	       connect_s, drop_s, Z.acked, send_s, send_s > 0 ? (double)Z.acked / send_s : 0,
	       Z.send_errors);
	printf("  resumed ok=%d failed=%d incomplete=%" PRIu64 " in %.3fs; events expected=%" PRIu64
	       " received=%" PRIu64 " missing=%" PRIu64 " duplicates=%" PRIu64 " seq_gaps=%" PRIu64
	       " beyond_target=%" PRIu64 " lost=%" PRIu64 "\n",
	       Z.done_ok, Z.done_failed, incomplete, total_s, expected, got, missing, Z.dups, Z.seq_gaps,
	       Z.extra, Z.lost);
	for (int i = 0; i < MAX_REASONS && Z.reason[i]; i++)
		printf("  problem: %s x%" PRIu64 "\n", Z.reason[i], Z.reason_n[i]);
	scen_server_print(stdout);
	printf("resume_total_s=%.3f resumed_per_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f "
	       "max_ms=%.3f missing=%" PRIu64 " duplicates=%" PRIu64 " errors=%" PRIu64 "\n",
	       total_s, total_s > 0 ? Z.done_ok / total_s : 0, scen_ms(hist_quantile(Z.h_storm, 0.5)),
	       scen_ms(hist_quantile(Z.h_storm, 0.9)), scen_ms(hist_quantile(Z.h_storm, 0.99)),
	       scen_ms(hist_quantile(Z.h_storm, 0.999)), scen_ms(Z.h_storm->max), missing, Z.dups,
	       errors);
	fflush(stdout);

	json_t *root = json_object();
	json_object_set_new(root, "mode", json_string("resume"));
	json_object_set_new(root, "params",
			    json_pack("{s:i, s:i, s:i, s:i, s:i}", "visitors", Z.N, "agents", Z.A,
				      "messages_per_conversation", Z.M, "concurrency", o->concurrency,
				      "source_addrs", o->nsrc ? o->nsrc : 1));
	json_object_set_new(root, "resume_total_s", json_real(total_s));
	json_object_set_new(root, "resumed_per_s", json_real(total_s > 0 ? Z.done_ok / total_s : 0));
	json_object_set_new(root, "latency", scen_hist_json(Z.h_storm));
	json_object_set_new(root, "latency_per_connection", scen_hist_json(Z.h_conn));
	json_object_set_new(root, "first_connect", scen_hist_json(Z.h_connect));
	json_object_set_new(root, "initial_connect_s", json_real(connect_s));
	json_object_set_new(root, "drop_noticed_s", json_real(drop_s));
	json_object_set_new(root, "agent_send_s", json_real(send_s));
	json_object_set_new(root, "agent_sends_acked", json_integer((json_int_t)Z.acked));
	json_object_set_new(root, "events",
			    json_pack("{s:I, s:I}", "expected", (json_int_t)expected, "received",
				      (json_int_t)got));
	json_t *reasons = json_object();
	for (int i = 0; i < MAX_REASONS && Z.reason[i]; i++)
		json_object_set_new(reasons, Z.reason[i], json_integer((json_int_t)Z.reason_n[i]));
	json_object_set_new(root, "errors",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "total",
				      (json_int_t)errors, "missing", (json_int_t)missing, "duplicates",
				      (json_int_t)Z.dups, "seq_gaps", (json_int_t)Z.seq_gaps,
				      "beyond_target", (json_int_t)Z.extra, "incomplete",
				      (json_int_t)incomplete, "agent_send_refused",
				      (json_int_t)Z.send_errors, "lost", (json_int_t)Z.lost, "reasons",
				      reasons));
	json_object_set_new(root, "resumed_ok", json_integer(Z.done_ok));
	int rc = scen_write_json(o->json_path, root) < 0 ? 1 : 0;
	json_decref(root);
	return rc;
}
