/* scen_fanout — `--mode fanout`: inbox fan-out.
 *
 * Setup: agent login; V (--visitors) widget sessions; A (--agents) agent
 * WebSockets, each `auth` + `subscribe_inbox` (replayed entries of earlier
 * runs are ignored; "more":true is followed). Each visitor gets one
 * keep-alive HTTP connection.
 * Measured (open loop): operation k (0 <= k < R*D) has the intended time
 * t0 + k/R and belongs to visitor k % V; the visitor's i-th operation
 * (i = k / V) creates a conversation when i % (M+1) == 0
 * (POST /v1/widget/conversations with a first message) and otherwise posts
 * a message into the visitor's latest conversation
 * (POST /v1/widget/conversations/{id}/messages); M = --messages. A
 * visitor's operations run one after the other on its connection (a later
 * one waits for the earlier, in a bounded per-visitor queue); the wait
 * counts in the latency. Every text starts with "<nonce>-<k> ".
 * Every agent must receive, per create, one `conversation.created` (the
 * conversation's last_message carries the text) and one
 * `conversation.message` (the preview), per message one
 * `conversation.message`. Delivery latency = arrival at that agent −
 * intended time of k. Reported: deliveries/s, percentiles (all frames,
 * and per kind), REST latency, missing and duplicate frames. */
#include "scen.h"

#include "bench_setup.h"
#include "core/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QCAP 4096		/* pending operations per visitor */
#define MAX_REASONS 16
#define F_CREATED 1
#define F_MESSAGE 2

struct fagent {
	struct wsc ws;
	int idx;
	bool ready, lost;
};

struct fvisitor {
	struct hcl http;
	int idx;
	char conv[64];		/* current conversation ("" before the first create) */
	uint64_t q[QCAP];
	int qh, qn;
};

static struct {
	const struct scen_opts *o;
	struct ev_loop *loop;
	char *agent_token;
	char **vtoken;
	struct fagent *ag;
	struct fvisitor *vis;
	int A, V, M;
	char nonce[16];
	size_t nonce_len;
	char *filler;
	uint64_t total;
	uint8_t *seen;		/* total * A bits per (op, agent) */
	uint8_t *opst;		/* per op: 1 issued, 2 ok, 4 failed */
	struct scen_sched sch;
	int agents_ready, agents_failed;
	uint64_t ops_ok, ops_failed, ops_dropped, deliveries, dups, foreign, in_window, lost;
	struct hist *h_all, *h_created, *h_message, *h_rest, *h_lag;
	const char *reason[MAX_REASONS];
	uint64_t reason_n[MAX_REASONS];
	ev_timer tick;
	int64_t t_end_window, deadline, next_print;
	uint64_t prev_deliv, prev_issued;
	struct hist *h_tick;	/* delivery latencies since the last progress line */
	bool running;
} F;

static void note(const char *why)
{
	for (int i = 0; i < MAX_REASONS; i++)
		if (!F.reason[i] || strcmp(F.reason[i], why) == 0) {
			F.reason[i] = why;
			F.reason_n[i]++;
			return;
		}
}

static bool is_create(uint64_t k)
{
	return (k / (uint64_t)F.V) % (uint64_t)(F.M + 1) == 0;
}

static unsigned expected_bits(uint64_t k)
{
	return is_create(k) ? F_CREATED | F_MESSAGE : F_MESSAGE;
}

/* ---- agents ---- */

static void agent_send(struct fagent *a, const char *s)
{
	(void)wsc_send_text(&a->ws, s, strlen(s), true);
}

static void agent_open(struct wsc *ws)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "{\"type\":\"auth\",\"id\":\"auth\",\"token\":\"%s\"}", F.agent_token);
	wsc_set_timeout(ws, F.o->connect_timeout);
	agent_send(ws->user, buf);
}

/* "<nonce>-<k> …" -> k, or -1 */
static int64_t text_k(const char *t)
{
	if (!t || strncmp(t, F.nonce, F.nonce_len) != 0 || t[F.nonce_len] != '-')
		return -1;
	char *end;
	unsigned long long k = strtoull(t + F.nonce_len + 1, &end, 10);
	if (end == t + F.nonce_len + 1 || (*end != ' ' && *end != '\0') || k >= F.total)
		return -1;
	return (int64_t)k;
}

static void on_inbox(struct fagent *a, json_t *m, int64_t now)
{
	const char *ev = json_string_value(json_object_get(m, "event"));
	unsigned bit;
	const char *text;
	if (ev && strcmp(ev, "conversation.created") == 0) {
		bit = F_CREATED;
		text = json_string_value(
			json_object_get(json_object_get(json_object_get(m, "conversation"), "last_message"),
					"text"));
	} else if (ev && strcmp(ev, "conversation.message") == 0) {
		bit = F_MESSAGE;
		text = json_string_value(json_object_get(m, "preview"));
	} else {
		return;	/* conversation.updated: not part of this scenario */
	}
	int64_t k = text_k(text);
	if (k < 0) {
		F.foreign++;
		return;
	}
	uint8_t *s = &F.seen[(uint64_t)k * (uint64_t)F.A + (uint64_t)a->idx];
	if (*s & bit) {
		F.dups++;
		return;
	}
	*s |= (uint8_t)bit;
	F.deliveries++;
	int64_t lat = now - scen_intended(&F.sch, (uint64_t)k);
	hist_record(F.h_all, lat);
	hist_record(F.h_tick, lat);
	hist_record(bit == F_CREATED ? F.h_created : F.h_message, lat);
	if (now <= F.t_end_window)
		F.in_window++;
}

static void agent_text(struct wsc *ws, char *data, size_t len)
{
	struct fagent *a = ws->user;
	int64_t now = clock_mono_ns();
	json_error_t je;
	json_t *m = json_loadb(data, len, 0, &je);
	const char *type = json_string_value(json_object_get(m, "type"));
	const char *id = json_string_value(json_object_get(m, "id"));
	if (!type) {
		note("agent: unparsable frame");
	} else if (strcmp(type, "inbox") == 0) {
		if (F.running)
			on_inbox(a, m, now);
	} else if (strcmp(type, "ack") == 0 && id && strcmp(id, "auth") == 0) {
		agent_send(a, "{\"type\":\"subscribe_inbox\",\"id\":\"inbox\",\"after\":0}");
	} else if (strcmp(type, "ack") == 0 && id && strcmp(id, "inbox") == 0) {
		json_t *more = json_object_get(m, "more");
		if (json_is_true(more)) {
			char buf[128];
			snprintf(buf, sizeof(buf),
				 "{\"type\":\"subscribe_inbox\",\"id\":\"inbox\",\"after\":%" JSON_INTEGER_FORMAT
				 "}",
				 json_integer_value(json_object_get(m, "last")));
			agent_send(a, buf);
		} else if (!a->ready) {
			a->ready = true;
			wsc_set_timeout(ws, 0);
			F.agents_ready++;
		}
	} else if (strcmp(type, "error") == 0) {
		note("agent: error frame");
		if (!a->ready) {
			wsc_close(ws, 1000);
			F.agents_failed++;
		}
	}
	json_decref(m);
}

static void agent_close(struct wsc *ws, const char *reason, int code)
{
	(void)code;
	struct fagent *a = ws->user;
	note(reason);
	if (!a->ready)
		F.agents_failed++;
	else if (!a->lost) {
		a->lost = true;
		F.lost++;
	}
}

static const struct wsc_callbacks ACB = { .on_open = agent_open, .on_text = agent_text,
					  .on_close = agent_close };

/* ---- visitors (REST) ---- */

static void visitor_next(struct fvisitor *v);

static void op_failed(uint64_t k, const char *why)
{
	F.opst[k] |= 4;
	F.ops_failed++;
	note(why);
}

static void visitor_done(struct hcl *c, int status, const char *body, size_t len, const char *err)
{
	struct fvisitor *v = c->user;
	uint64_t k = c->tag;
	int64_t now = clock_mono_ns();
	if (status == 201 || status == 200) {
		F.opst[k] |= 2;
		F.ops_ok++;
		hist_record(F.h_rest, now - scen_intended(&F.sch, k));
		if (is_create(k)) {
			json_error_t je;
			json_t *r = json_loadb(body, len, 0, &je);
			const char *id = json_string_value(json_object_get(r, "id"));
			snprintf(v->conv, sizeof(v->conv), "%s", id ? id : "");
			json_decref(r);
		}
	} else {
		op_failed(k, status == 0 ? (err ? err : "REST error")
			     : status == 503 ? "REST HTTP 503" : status == 429 ? "REST HTTP 429"
			     : "REST HTTP error");
		if (is_create(k))
			v->conv[0] = '\0';
	}
	visitor_next(v);
}

static void visitor_next(struct fvisitor *v)
{
	const struct scen_opts *o = F.o;
	for (int guard = 0; guard < QCAP && v->qn > 0 && v->http.state != HCL_BUSY &&
			    v->http.state != HCL_CONNECTING;
	     guard++) {
		uint64_t k = v->q[v->qh];
		v->qh = (v->qh + 1) % QCAP;
		v->qn--;
		F.opst[k] |= 1;
		hist_record(F.h_lag, clock_mono_ns() - scen_intended(&F.sch, k));
		char path[256];
		char *body = malloc((size_t)o->msg_size + 256);
		if (!body) {
			op_failed(k, "out of memory");
			continue;
		}
		if (is_create(k)) {
			snprintf(path, sizeof(path), "/v1/widget/conversations");
			snprintf(body, (size_t)o->msg_size + 256,
				 "{\"client_id\":\"%s-%" PRIu64 "\",\"text\":\"%s-%" PRIu64 " %s\"}", F.nonce,
				 k, F.nonce, k, F.filler);
		} else if (v->conv[0]) {
			snprintf(path, sizeof(path), "/v1/widget/conversations/%s/messages", v->conv);
			snprintf(body, (size_t)o->msg_size + 256,
				 "{\"client_id\":\"%s-%" PRIu64 "\",\"text\":\"%s-%" PRIu64 " %s\"}", F.nonce,
				 k, F.nonce, k, F.filler);
		} else {
			free(body);
			op_failed(k, "no conversation (its create failed)");
			continue;
		}
		v->http.tag = k;
		int rc = hcl_request(&v->http, "POST", path, F.vtoken[v->idx], body);
		free(body);
		if (rc < 0)
			op_failed(k, "socket/connect failed");
		/* otherwise visitor_done continues with the queue (maybe already did) */
		return;
	}
}

static void fire(struct scen_sched *s, int64_t now)
{
	for (int guard = 0; guard < 100000 && s->next < s->total; guard++) {
		uint64_t k = s->next;
		if (scen_intended(s, k) > now)
			return;
		s->next++;
		struct fvisitor *v = &F.vis[k % (uint64_t)F.V];
		if (v->qn == QCAP) {
			F.ops_dropped++;
			op_failed(k, "visitor queue full");
			continue;
		}
		v->q[(v->qh + v->qn) % QCAP] = k;
		v->qn++;
		visitor_next(v);
	}
}

static volatile sig_atomic_t fan_interrupted;
static void fan_sigint(int sig)
{
	(void)sig;
	fan_interrupted = 1;
}

static bool all_delivered(void)
{
	if (F.sch.next < F.sch.total)
		return false;
	uint64_t expect = 0;
	for (int i = 0; i < F.V; i++)
		if (F.vis[i].qn || F.vis[i].http.state == HCL_BUSY || F.vis[i].http.state == HCL_CONNECTING)
			return false;
	for (uint64_t k = 0; k < F.total; k++)
		if (F.opst[k] & 2)
			expect += (expected_bits(k) == 3 ? 2u : 1u) * (uint64_t)(F.A - (int)F.lost);
	return F.deliveries >= expect;
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	int64_t now = clock_mono_ns();
	if (!F.running) {
		if (F.agents_ready + F.agents_failed >= F.A || now >= F.deadline || fan_interrupted)
			ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (!F.o->quiet && now >= F.next_print) {
		fprintf(stderr, "[%5.1fs] offered=%" PRIu64 " ops/s (target %.0f) ok=%" PRIu64
			" failed=%" PRIu64 " deliveries=%" PRIu64 " (%" PRIu64 "/s) p99=%.2fms\n",
			(double)(now - F.sch.t0) / 1e9, F.sch.next - F.prev_issued, F.o->rate, F.ops_ok,
			F.ops_failed, F.deliveries, F.deliveries - F.prev_deliv,
			F.h_tick->count ? scen_ms(hist_quantile(F.h_tick, 0.99)) : NAN);
		F.prev_deliv = F.deliveries;
		F.prev_issued = F.sch.next;
		hist_reset(F.h_tick);
		while (F.next_print <= now)   /* after a stall: one line, not a burst */
			F.next_print += 1000000000;
	}
	bool check = now > F.t_end_window && (now / 10000000) % 10 == 0;	/* ~10 Hz */
	if (now >= F.deadline || fan_interrupted || (check && all_delivered()))
		ev_break(loop, EVBREAK_ALL);
}

int scen_fanout(const struct scen_opts *o)
{
	F.o = o;
	F.A = o->agents;
	F.V = o->visitors;
	F.M = o->messages;
	double total_d = o->rate * o->duration;
	if (total_d < 1 || total_d * F.A > 4e8) {
		fprintf(stderr, "parley-bench: rate*duration*agents must be between 1 and 4e8\n");
		return 2;
	}
	F.total = (uint64_t)total_d;
	snprintf(F.nonce, sizeof(F.nonce), "fo%08x",
		 (unsigned)((uint64_t)clock_now_ms() ^ ((uint64_t)getpid() << 16) ^
			    (uint64_t)clock_mono_ns()));
	F.nonce_len = strlen(F.nonce);
	int fl = o->msg_size > 24 ? o->msg_size - 20 : 4;
	F.filler = malloc((size_t)fl + 1);
	F.seen = calloc((size_t)(F.total * (uint64_t)F.A), 1);
	F.opst = calloc((size_t)F.total, 1);
	F.vtoken = calloc((size_t)F.V, sizeof(char *));
	F.ag = calloc((size_t)F.A, sizeof(*F.ag));
	F.vis = calloc((size_t)F.V, sizeof(*F.vis));
	if (!F.filler || !F.seen || !F.opst || !F.vtoken || !F.ag || !F.vis) {
		fprintf(stderr, "parley-bench: out of memory\n");
		return 1;
	}
	for (int i = 0; i < fl; i++)
		F.filler[i] = "abcdefghijklmnopqrstuvwxyz "[i % 27];
	F.filler[fl] = '\0';

	int64_t ts = clock_mono_ns();
	struct setup_target tgt = { .addr = o->dst, .alen = o->dlen, .host_hdr = o->host_hdr,
				    .timeout_ms = (int)(o->connect_timeout * 1000) };
	if (setup_login(&tgt, o->email, o->password, o->tenant, &F.agent_token) < 0) {
		fprintf(stderr, "parley-bench: setup failed: agent login\n");
		return 1;
	}
	if (setup_visitors(&tgt, o->widget_key, F.V, o->setup_threads, F.vtoken, NULL) < 0) {
		fprintf(stderr, "parley-bench: setup failed: widget sessions\n");
		return 1;
	}
	F.loop = ev_loop_new(EVFLAG_AUTO);
	if (!F.loop)
		return 1;
	F.h_all = scen_hist_new();
	F.h_tick = scen_hist_new();
	F.h_created = scen_hist_new();
	F.h_message = scen_hist_new();
	F.h_rest = scen_hist_new();
	F.h_lag = scen_hist_new();
	signal(SIGINT, fan_sigint);
	ev_timer_init(&F.tick, tick_cb, 0.01, 0.01);
	ev_timer_start(F.loop, &F.tick);
	/* connect the agents (concurrency-bounded in effect: A is small) */
	for (int i = 0; i < F.A; i++) {
		F.ag[i].idx = i;
		const struct sockaddr *src = o->nsrc ? (const struct sockaddr *)&o->src[i % o->nsrc] : NULL;
		if (wsc_start(&F.ag[i].ws, F.loop, &ACB, &F.ag[i], (const struct sockaddr *)&o->dst,
			      o->dlen, src, o->host_hdr, "/v1/ws", o->connect_timeout) < 0) {
			note(errno == EMFILE ? "out of file descriptors" : "socket/connect failed");
			F.agents_failed++;
		}
	}
	F.deadline = clock_mono_ns() + (int64_t)((o->connect_timeout * 2 + 10) * 1e9);
	ev_run(F.loop, 0);
	if (F.agents_ready != F.A) {
		fprintf(stderr, "parley-bench: setup failed: %d of %d agents subscribed to the inbox\n",
			F.agents_ready, F.A);
		for (int i = 0; i < MAX_REASONS && F.reason[i]; i++)
			fprintf(stderr, "  problem: %s x%" PRIu64 "\n", F.reason[i], F.reason_n[i]);
		return 1;
	}
	for (int i = 0; i < F.V; i++) {
		F.vis[i].idx = i;
		const struct sockaddr *src = o->nsrc ? (const struct sockaddr *)&o->src[i % o->nsrc] : NULL;
		hcl_init(&F.vis[i].http, F.loop, (const struct sockaddr *)&o->dst, o->dlen, src,
			 o->host_hdr, o->connect_timeout, visitor_done, &F.vis[i]);
	}
	if (!o->quiet)
		fprintf(stderr, "parley-bench: fanout setup (%d agents on the inbox, %d visitors) in %.2fs; "
			"run: %" PRIu64 " operations at %.0f/s, nonce %s\n",
			F.A, F.V, (double)(clock_mono_ns() - ts) / 1e9, F.total, o->rate, F.nonce);

	scen_server_start(o->server_pid, &o->dst, o->dlen, o->host_hdr);
	int64_t t0 = clock_mono_ns() + 20000000;
	if (scen_sched_init(&F.sch, F.loop, o->rate, F.total, t0, fire, NULL) < 0)
		return 1;
	F.running = true;
	F.t_end_window = t0 + (int64_t)(o->duration * 1e9);
	F.deadline = F.t_end_window + (int64_t)(o->drain * 1e9);
	F.next_print = t0 + 1000000000;
	ev_run(F.loop, 0);
	F.running = false;
	scen_server_stop();
	scen_sched_close(&F.sch, F.loop);

	/* missing: every successful operation, every agent, every expected frame */
	uint64_t missing = 0, missing_created = 0, never_issued = 0, pending = 0;
	for (uint64_t k = 0; k < F.total; k++) {
		if (!(F.opst[k] & 1) && !(F.opst[k] & 4))
			never_issued++;
		if ((F.opst[k] & 1) && !(F.opst[k] & 6))
			pending++;
		if (!(F.opst[k] & 2))
			continue;
		unsigned want = expected_bits(k);
		for (int a = 0; a < F.A; a++) {
			uint8_t s = F.seen[k * (uint64_t)F.A + (uint64_t)a];
			if ((want & F_CREATED) && !(s & F_CREATED)) {
				missing++;
				missing_created++;
			}
			if (!(s & F_MESSAGE))
				missing++;
		}
	}
	for (int i = 0; i < F.V; i++)
		hcl_close(&F.vis[i].http);
	for (int i = 0; i < F.A; i++)
		wsc_close(&F.ag[i].ws, 1000);
	uint64_t errors = F.ops_failed + missing + F.dups + F.lost + never_issued + pending;
	double dps = (double)F.deliveries / o->duration, dps_win = (double)F.in_window / o->duration;

	printf("parley-bench fanout: %d agents on the inbox, %d visitors, %.0f ops/s for %.1fs "
	       "(1 create + %d messages per conversation), %d-byte texts\n",
	       F.A, F.V, o->rate, o->duration, F.M, o->msg_size);
	scen_hist_header(stdout);
	scen_hist_row(stdout, "inbox_all", F.h_all);
	scen_hist_row(stdout, "inbox_created", F.h_created);
	scen_hist_row(stdout, "inbox_message", F.h_message);
	scen_hist_row(stdout, "rest", F.h_rest);
	scen_hist_row(stdout, "send_lag", F.h_lag);
	printf("  ops scheduled=%" PRIu64 " ok=%" PRIu64 " failed=%" PRIu64 " (queue full %" PRIu64
	       ") pending_at_end=%" PRIu64 " never_issued=%" PRIu64 "; deliveries=%" PRIu64
	       " (in window %" PRIu64 ") missing=%" PRIu64 " (created %" PRIu64 ") duplicates=%" PRIu64
	       " foreign=%" PRIu64 " agents_lost=%" PRIu64 "\n",
	       F.total, F.ops_ok, F.ops_failed, F.ops_dropped, pending, never_issued, F.deliveries,
	       F.in_window, missing, missing_created, F.dups, F.foreign, F.lost);
	for (int i = 0; i < MAX_REASONS && F.reason[i]; i++)
		printf("  problem: %s x%" PRIu64 "\n", F.reason[i], F.reason_n[i]);
	scen_server_print(stdout);
	printf("deliveries_per_s=%.1f in_window_per_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
	       "p999_ms=%.3f max_ms=%.3f rest_p99_ms=%.3f errors=%" PRIu64 " duplicates=%" PRIu64
	       " missing=%" PRIu64 "\n",
	       dps, dps_win, scen_ms(hist_quantile(F.h_all, 0.5)), scen_ms(hist_quantile(F.h_all, 0.9)),
	       scen_ms(hist_quantile(F.h_all, 0.99)), scen_ms(hist_quantile(F.h_all, 0.999)),
	       scen_ms(F.h_all->max), scen_ms(hist_quantile(F.h_rest, 0.99)), errors, F.dups, missing);
	fflush(stdout);

	json_t *root = json_object();
	json_object_set_new(root, "mode", json_string("fanout"));
	json_object_set_new(root, "params",
			    json_pack("{s:f, s:f, s:f, s:i, s:i, s:i, s:i}", "rate", o->rate,
				      "duration_s", o->duration, "drain_s", o->drain, "agents", F.A,
				      "visitors", F.V, "messages_per_conversation", F.M, "msg_size",
				      o->msg_size));
	json_object_set_new(root, "rate", json_real(o->rate));
	json_object_set_new(root, "deliveries_per_s", json_real(dps));
	json_object_set_new(root, "in_window_per_s", json_real(dps_win));
	json_object_set_new(root, "latency", scen_hist_json(F.h_all));
	json_object_set_new(root, "latency_created", scen_hist_json(F.h_created));
	json_object_set_new(root, "latency_message", scen_hist_json(F.h_message));
	json_object_set_new(root, "rest", scen_hist_json(F.h_rest));
	json_object_set_new(root, "send_lag", scen_hist_json(F.h_lag));
	json_object_set_new(root, "ops",
			    json_pack("{s:I, s:I, s:I, s:I, s:I}", "scheduled", (json_int_t)F.total,
				      "ok", (json_int_t)F.ops_ok, "failed", (json_int_t)F.ops_failed,
				      "pending_at_end", (json_int_t)pending, "never_issued",
				      (json_int_t)never_issued));
	json_t *reasons = json_object();
	for (int i = 0; i < MAX_REASONS && F.reason[i]; i++)
		json_object_set_new(reasons, F.reason[i], json_integer((json_int_t)F.reason_n[i]));
	json_object_set_new(root, "errors",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "total", (json_int_t)errors,
				      "missing", (json_int_t)missing, "missing_created",
				      (json_int_t)missing_created, "duplicates", (json_int_t)F.dups,
				      "foreign", (json_int_t)F.foreign, "agents_lost",
				      (json_int_t)F.lost, "reasons", reasons));
	json_object_set_new(root, "deliveries", json_integer((json_int_t)F.deliveries));
	int rc = scen_write_json(o->json_path, root) < 0 ? 1 : 0;
	json_decref(root);
	return rc;
}
