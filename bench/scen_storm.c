/* scen_storm — `--mode storm`: connect storm.
 *
 * Setup: min(--visitors, --connections) widget sessions (visitor tokens,
 * used round-robin). Measured: --connections N visitor WebSockets are
 * opened as fast as possible with at most --concurrency attempts in flight;
 * each is TCP connect + HTTP upgrade + `auth` frame + its `ack`. Reported:
 * handshakes/s (authenticated connections / time from the first attempt to
 * the last ack), the latency of each attempt from its own start to the
 * upgrade response and to the auth ack, failures by reason. The
 * connections stay open until all attempts are done, then are closed. */
#include "scen.h"

#include "bench_setup.h"
#include "core/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REASONS 16

struct sconn {
	struct wsc ws;
	int idx;
	int64_t t_start;
	bool done, ok, lost;
};

static struct {
	const struct scen_opts *o;
	struct ev_loop *loop;
	char **tokens;
	int ntokens;
	struct sconn *c;
	int n, next, inflight, ok, failed, lost;
	int64_t t_first, t_last;
	struct hist *h_upgrade, *h_auth;
	const char *reason[MAX_REASONS];
	uint64_t reason_n[MAX_REASONS];
	ev_timer tick;
	int64_t deadline, next_print;
} T;

static void note(const char *why)
{
	for (int i = 0; i < MAX_REASONS; i++)
		if (!T.reason[i] || strcmp(T.reason[i], why) == 0) {
			T.reason[i] = why;
			T.reason_n[i]++;
			return;
		}
}

static void start_more(void);

static void finish(struct sconn *c, bool ok)
{
	if (c->done)
		return;
	c->done = true;
	c->ok = ok;
	T.inflight--;
	if (ok)
		T.ok++;
	else
		T.failed++;
	T.t_last = clock_mono_ns();
	start_more();
}

static void on_open(struct wsc *ws)
{
	struct sconn *c = ws->user;
	hist_record(T.h_upgrade, clock_mono_ns() - c->t_start);
	char buf[2048];
	int n = snprintf(buf, sizeof(buf), "{\"type\":\"auth\",\"id\":\"auth\",\"token\":\"%s\"}",
			 T.tokens[c->idx % T.ntokens]);
	wsc_set_timeout(ws, T.o->connect_timeout);
	if (n > 0 && (size_t)n < sizeof(buf))
		(void)wsc_send_text(ws, buf, (size_t)n, true);
}

static void on_text(struct wsc *ws, char *data, size_t len)
{
	struct sconn *c = ws->user;
	if (c->done)
		return;
	json_error_t je;
	json_t *m = json_loadb(data, len, 0, &je);
	const char *type = json_string_value(json_object_get(m, "type"));
	const char *id = json_string_value(json_object_get(m, "id"));
	if (type && id && strcmp(id, "auth") == 0) {
		if (strcmp(type, "ack") == 0) {
			hist_record(T.h_auth, clock_mono_ns() - c->t_start);
			wsc_set_timeout(ws, 0);
			finish(c, true);
		} else {
			note("auth refused");
			wsc_close(ws, 1000);
			finish(c, false);
		}
	}
	json_decref(m);
}

static void on_close(struct wsc *ws, const char *reason, int code)
{
	(void)code;
	struct sconn *c = ws->user;
	note(reason);
	if (!c->done) {
		finish(c, false);
	} else if (!c->lost) {
		c->lost = true;
		T.lost++;
	}
}

static const struct wsc_callbacks CB = { .on_open = on_open, .on_text = on_text,
					 .on_close = on_close };

static void start_more(void)
{
	const struct scen_opts *o = T.o;
	for (int guard = 0; guard < 1000000 && T.inflight < o->concurrency && T.next < T.n; guard++) {
		struct sconn *c = &T.c[T.next];
		c->idx = T.next++;
		c->t_start = clock_mono_ns();
		if (!T.t_first)
			T.t_first = c->t_start;
		T.inflight++;
		const struct sockaddr *src =
			o->nsrc ? (const struct sockaddr *)&o->src[c->idx % o->nsrc] : NULL;
		if (wsc_start(&c->ws, T.loop, &CB, c, (const struct sockaddr *)&o->dst, o->dlen, src,
			      o->host_hdr, o->visitor_path, o->connect_timeout) < 0) {
			note(errno == EMFILE || errno == ENFILE ? "out of file descriptors"
			     : errno == EADDRNOTAVAIL ? "no source port available"
			     : "socket/connect failed");
			finish(c, false);
		}
	}
}

static volatile sig_atomic_t storm_interrupted;
static void storm_sigint(int sig)
{
	(void)sig;
	storm_interrupted = 1;
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	int64_t now = clock_mono_ns();
	if (!T.o->quiet && now >= T.next_print) {
		fprintf(stderr, "[storm %5.1fs] ok=%d failed=%d in_flight=%d of %d\n",
			(double)(now - T.t_first) / 1e9, T.ok, T.failed, T.inflight, T.n);
		T.next_print += 1000000000;
	}
	if (T.ok + T.failed >= T.n || now >= T.deadline || storm_interrupted)
		ev_break(loop, EVBREAK_ALL);
}

int scen_storm(const struct scen_opts *o)
{
	T.o = o;
	T.n = o->connections;
	T.ntokens = o->visitors < o->connections ? o->visitors : o->connections;
	T.tokens = calloc((size_t)T.ntokens, sizeof(char *));
	struct setup_target tgt = { .addr = o->sdst, .alen = o->sdlen, .host_hdr = o->shost_hdr,
				    .timeout_ms = (int)(o->connect_timeout * 1000) };
	if (setup_visitors(&tgt, o->widget_key, T.ntokens, o->setup_threads, T.tokens, NULL) < 0) {
		fprintf(stderr, "parley-bench: setup failed: widget sessions\n");
		return 1;
	}
	T.loop = ev_loop_new(EVFLAG_AUTO);
	T.c = calloc((size_t)T.n, sizeof(*T.c));
	T.h_upgrade = scen_hist_new();
	T.h_auth = scen_hist_new();
	if (!T.loop || !T.c)
		return 1;
	signal(SIGINT, storm_sigint);
	scen_server_start(o->server_pid, &o->sdst, o->sdlen, o->shost_hdr);
	int64_t start = clock_mono_ns();
	T.deadline = start + (int64_t)((o->connect_timeout * 2 + (double)T.n / 200.0 + 10) * 1e9);
	T.next_print = start + 1000000000;
	ev_timer_init(&T.tick, tick_cb, 0.01, 0.01);
	ev_timer_start(T.loop, &T.tick);
	start_more();
	ev_run(T.loop, 0);
	bool gave_up = T.ok + T.failed < T.n;
	scen_server_stop();
	int open_now = 0;
	for (int i = 0; i < T.n; i++) {
		if (T.c[i].ws.state == WSC_OPEN)
			open_now++;
		if (T.c[i].ws.state != WSC_IDLE)
			wsc_close(&T.c[i].ws, 1000);
	}
	double span = T.t_last > T.t_first ? (double)(T.t_last - T.t_first) / 1e9 : 0;
	double hps = span > 0 ? T.ok / span : 0;
	int unfinished = T.n - T.ok - T.failed;

	printf("parley-bench storm: %d visitor WebSockets, %d in flight at most, %d source address(es)"
	       "%s\n",
	       T.n, o->concurrency, o->nsrc ? o->nsrc : 1, gave_up ? " (gave up waiting)" : "");
	scen_hist_header(stdout);
	scen_hist_row(stdout, "upgrade", T.h_upgrade);
	scen_hist_row(stdout, "upgrade+auth", T.h_auth);
	printf("  ok=%d failed=%d unfinished=%d lost_after_auth=%d open_at_end=%d span=%.3fs\n", T.ok,
	       T.failed, unfinished, T.lost, open_now, span);
	for (int i = 0; i < MAX_REASONS && T.reason[i]; i++)
		printf("  problem: %s x%" PRIu64 "\n", T.reason[i], T.reason_n[i]);
	scen_server_print(stdout);
	printf("handshakes_per_s=%.1f ok=%d failed=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f "
	       "max_ms=%.3f\n",
	       hps, T.ok, T.failed + unfinished, scen_ms(hist_quantile(T.h_auth, 0.5)),
	       scen_ms(hist_quantile(T.h_auth, 0.9)), scen_ms(hist_quantile(T.h_auth, 0.99)),
	       scen_ms(hist_quantile(T.h_auth, 0.999)), scen_ms(T.h_auth->max));
	fflush(stdout);

	json_t *root = json_object();
	json_object_set_new(root, "mode", json_string("storm"));
	json_object_set_new(root, "params",
			    json_pack("{s:i, s:i, s:i, s:f, s:i}", "connections", T.n, "concurrency",
				      o->concurrency, "visitor_tokens", T.ntokens, "connect_timeout_s",
				      o->connect_timeout, "source_addrs", o->nsrc ? o->nsrc : 1));
	json_object_set_new(root, "handshakes_per_s", json_real(hps));
	json_object_set_new(root, "tls", json_boolean(wsc_tls()));
	json_object_set_new(root, "span_s", json_real(span));
	json_object_set_new(root, "ok", json_integer(T.ok));
	json_object_set_new(root, "failed", json_integer(T.failed + unfinished));
	json_object_set_new(root, "lost_after_auth", json_integer(T.lost));
	json_object_set_new(root, "latency_upgrade", scen_hist_json(T.h_upgrade));
	json_object_set_new(root, "latency", scen_hist_json(T.h_auth));
	json_t *reasons = json_object();
	for (int i = 0; i < MAX_REASONS && T.reason[i]; i++)
		json_object_set_new(reasons, T.reason[i], json_integer((json_int_t)T.reason_n[i]));
	json_object_set_new(root, "problems", reasons);
	int rc = scen_write_json(o->json_path, root) < 0 ? 1 : 0;
	json_decref(root);
	return T.ok == 0 ? 1 : rc;
}
