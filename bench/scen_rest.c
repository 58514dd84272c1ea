/* scen_rest — `--mode rest`: REST reads at an offered rate over keep-alive
 * connections.
 *
 * Setup (unless --url-path): agent login, V visitors with one conversation
 * each, and --messages M messages per conversation (agent REST posts over
 * --setup-threads connections; not measured).
 * Measured: request k has the intended time t0 + k/R; even k fetch
 * GET /v1/conversations?limit=25, odd k GET /v1/conversations/{id}/messages
 * ?limit=100 of conversation (k/2) % V, with the agent token
 * (--rest-reads list: every k the list; messages: every k the messages of
 * conversation k % V). A request goes
 * out on the first idle connection of --http-conns; when none is idle the
 * due requests wait (the schedule is the queue, nothing is dropped) and the
 * wait counts in the latency, which runs from the intended time to the
 * last byte of the response. With --url-path PATH every request is
 * GET PATH without Authorization and no setup is done (e.g. nginx serving a
 * static file: the upper bound for the HTTP path on this machine); with
 * --password as well, the agent logs in first and every request carries
 * its token (the dashboard's analytics routes, docs/performance.md). */
#include "scen.h"

#include "bench_setup.h"
#include "core/clock.h"

#include <inttypes.h>
#include <math.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REASONS 8

static struct {
	const struct scen_opts *o;
	struct ev_loop *loop;
	char *token;
	char **conv_id;
	struct hcl *cl;
	int *freel;
	int nfree;
	struct scen_sched sch;
	int64_t t_end_window;
	uint64_t completed, ok, bad_status, io_errors, in_window, bytes;
	const char *reason[MAX_REASONS];
	uint64_t reason_n[MAX_REASONS];
	struct hist *h_all, *h_list, *h_msgs, *h_service, *h_lag;
	ev_timer tick;
	int64_t deadline, next_print;
	uint64_t prev_completed, prev_issued;
	struct hist *h_tick;	/* latencies since the last progress line */
	bool done;
} R;

static void note(const char *why)
{
	for (int i = 0; i < MAX_REASONS; i++) {
		if (!R.reason[i] || strcmp(R.reason[i], why) == 0) {
			R.reason[i] = why;
			R.reason_n[i]++;
			return;
		}
	}
}

/* ---- setup: seed messages ---- */

struct seed_job {
	const struct scen_opts *o;
	atomic_int next, failed;
	int total;
};

static void *seed_thread(void *arg)
{
	struct seed_job *j = arg;
	const struct scen_opts *o = j->o;
	struct http_client hc;
	http_client_init(&hc, &o->dst, o->dlen, o->host_hdr, (int)(o->connect_timeout * 1000));
	char path[256], body[512];
	for (int guard = 0; guard < 100000000 && !atomic_load(&j->failed); guard++) {
		int i = atomic_fetch_add(&j->next, 1);
		if (i >= j->total)
			break;
		int conv = i % o->visitors, m = i / o->visitors;
		snprintf(path, sizeof(path), "/v1/conversations/%s/messages", R.conv_id[conv]);
		snprintf(body, sizeof(body),
			 "{\"client_id\":\"seed-%d\",\"text\":\"seeded message %d of conversation %d, "
			 "about a hundred bytes of text like a short chat line\"}",
			 m, m, conv);
		struct http_response r;
		char err[160];
		int tries = 0;
		for (; tries < 5; tries++) {
			if (http_request(&hc, "POST", path, R.token, body, &r, err, sizeof(err)) < 0) {
				scen_sleep(0.2);
				continue;
			}
			free(r.body);
			if (r.status == 201 || r.status == 200)
				break;
			if (r.status != 503 && r.status != 429) {
				fprintf(stderr, "parley-bench: seeding: HTTP %d\n", r.status);
				tries = 5;
				break;
			}
			scen_sleep(0.5);
		}
		if (tries == 5)
			atomic_store(&j->failed, 1);
	}
	http_client_close(&hc);
	return NULL;
}

static int seed(const struct scen_opts *o)
{
	struct seed_job j = { .o = o, .total = o->visitors * o->messages };
	atomic_init(&j.next, 0);
	atomic_init(&j.failed, 0);
	pthread_t th[64];
	int n = o->setup_threads < 64 ? o->setup_threads : 64, started = 0;
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, seed_thread, &j) == 0)
			started++;
	if (!started)
		seed_thread(&j);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	return atomic_load(&j.failed) ? -1 : 0;
}

/* ---- measured phase ---- */

/* whether request k fetches the conversation list, and which conversation
 * otherwise */
static bool is_list(uint64_t k)
{
	return R.o->rest_reads == REST_LIST || (R.o->rest_reads == REST_BOTH && k % 2 == 0);
}

static uint64_t conv_of(uint64_t k)
{
	return (R.o->rest_reads == REST_MESSAGES ? k : k / 2) % (uint64_t)R.o->visitors;
}

static const char *const rest_desc[] = {
	"GET /v1/conversations?limit=25 + GET …/messages?limit=100",
	"GET /v1/conversations?limit=25",
	"GET /v1/conversations/{id}/messages?limit=100",
};

static void issue(int ci, uint64_t k);

static void fire(struct scen_sched *s, int64_t now)
{
	s->blocked = false;
	for (int guard = 0; guard < 100000 && s->next < s->total; guard++) {
		if (scen_intended(s, s->next) > now)
			return;
		if (R.nfree == 0) {
			s->blocked = true;
			return;
		}
		issue(R.freel[--R.nfree], s->next++);
	}
}

static void on_done(struct hcl *c, int status, const char *body, size_t len, const char *err)
{
	(void)body;
	int64_t now = clock_mono_ns();
	uint64_t k = c->tag;
	int64_t lat = now - scen_intended(&R.sch, k);
	R.completed++;
	if (status == 200) {
		R.ok++;
		R.bytes += len;
		hist_record(R.h_all, lat);
		hist_record(R.h_tick, lat);
		if (!R.o->url_path)
			hist_record(is_list(k) ? R.h_list : R.h_msgs, lat);
		hist_record(R.h_service, now - c->t_sent);
		if (now <= R.t_end_window)
			R.in_window++;
	} else if (status > 0) {
		R.bad_status++;
		note(status == 404 ? "HTTP 404" : status == 401 ? "HTTP 401" : status == 503 ? "HTTP 503"
		     : status >= 500 ? "HTTP 5xx" : "HTTP other");
	} else {
		R.io_errors++;
		note(err ? err : "error");
	}
	int ci = (int)(c - R.cl);
	R.freel[R.nfree++] = ci;
	if (R.sch.blocked && !R.done) {
		fire(&R.sch, now);
		scen_sched_rearm(&R.sch, R.loop);
	}
}

static void issue(int ci, uint64_t k)
{
	struct hcl *c = &R.cl[ci];
	char path[512];
	const char *p = R.o->url_path;
	if (!p) {
		if (is_list(k))
			snprintf(path, sizeof(path), "/v1/conversations?limit=25");
		else
			snprintf(path, sizeof(path), "/v1/conversations/%s/messages?limit=100",
				 R.conv_id[conv_of(k)]);
		p = path;
	}
	c->tag = k;
	hist_record(R.h_lag, clock_mono_ns() - scen_intended(&R.sch, k));
	if (hcl_request(c, "GET", p, R.token, NULL) < 0) {
		/* could not even create a socket: count and free the client */
		R.completed++;
		R.io_errors++;
		note("socket/connect failed");
		R.freel[R.nfree++] = ci;
	}
}

static volatile sig_atomic_t rest_interrupted;
static void rest_sigint(int sig)
{
	(void)sig;
	rest_interrupted = 1;
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	int64_t now = clock_mono_ns();
	bool all = R.sch.next >= R.sch.total && R.nfree == R.o->http_conns;
	if (!R.o->quiet && now >= R.next_print) {
		fprintf(stderr, "[%5.1fs] offered=%" PRIu64 "/s (target %.0f) achieved=%" PRIu64
			"/s errors=%" PRIu64 " p99=%.2fms backlog=%" PRIu64 "\n",
			(double)(now - R.sch.t0) / 1e9, R.sch.next - R.prev_issued, R.o->rate,
			R.completed - R.prev_completed, R.bad_status + R.io_errors,
			R.h_tick->count ? scen_ms(hist_quantile(R.h_tick, 0.99)) : NAN,
			R.sch.next < R.sch.total && R.sch.blocked ? R.sch.total - R.sch.next : 0);
		R.prev_completed = R.completed;
		R.prev_issued = R.sch.next;
		hist_reset(R.h_tick);
		while (R.next_print <= now)   /* after a stall: one line, not a burst */
			R.next_print += 1000000000;
	}
	if (all || now >= R.deadline || rest_interrupted) {
		R.done = true;
		ev_break(loop, EVBREAK_ALL);
	}
}

int scen_rest(const struct scen_opts *o)
{
	R.o = o;
	double total_d = o->rate * o->duration;
	if (total_d < 1 || total_d > 1e9) {
		fprintf(stderr, "parley-bench: rate*duration must be between 1 and 1e9\n");
		return 2;
	}
	if (o->url_path && o->password) {   /* an authenticated path: the agent's token, no other setup */
		struct setup_target tgt = { .addr = o->dst, .alen = o->dlen, .host_hdr = o->host_hdr,
					    .timeout_ms = (int)(o->connect_timeout * 1000) };
		if (setup_login(&tgt, o->email, o->password, o->tenant, &R.token) < 0) {
			fprintf(stderr, "parley-bench: setup failed: agent login\n");
			return 1;
		}
	}
	if (!o->url_path) {
		int64_t ts = clock_mono_ns();
		struct setup_target tgt = { .addr = o->dst, .alen = o->dlen, .host_hdr = o->host_hdr,
					    .timeout_ms = (int)(o->connect_timeout * 1000) };
		if (setup_login(&tgt, o->email, o->password, o->tenant, &R.token) < 0) {
			fprintf(stderr, "parley-bench: setup failed: agent login\n");
			return 1;
		}
		char **tok = calloc((size_t)o->visitors, sizeof(char *));
		R.conv_id = calloc((size_t)o->visitors, sizeof(char *));
		int vrc = tok && R.conv_id ? setup_visitors(&tgt, o->widget_key, o->visitors, o->setup_threads,
							   tok, R.conv_id) : -1;
		for (int i = 0; tok && i < o->visitors; i++)   /* the visitors' tokens are not used again */
			free(tok[i]);
		free(tok);
		if (vrc < 0) {
			fprintf(stderr, "parley-bench: setup failed: widget sessions / conversations\n");
			return 1;
		}
		if (o->messages > 0 && seed(o) < 0) {
			fprintf(stderr, "parley-bench: setup failed: seeding messages\n");
			return 1;
		}
		if (!o->quiet)
			fprintf(stderr, "parley-bench: REST setup: %d conversations x %d messages in %.2fs\n",
				o->visitors, o->messages, (double)(clock_mono_ns() - ts) / 1e9);
	}
	R.loop = ev_loop_new(EVFLAG_AUTO);
	R.cl = calloc((size_t)o->http_conns, sizeof(*R.cl));
	R.freel = calloc((size_t)o->http_conns, sizeof(int));
	R.h_all = scen_hist_new();
	R.h_tick = scen_hist_new();
	R.h_list = scen_hist_new();
	R.h_msgs = scen_hist_new();
	R.h_service = scen_hist_new();
	R.h_lag = scen_hist_new();
	if (!R.loop || !R.cl || !R.freel)
		return 1;
	for (int i = 0; i < o->http_conns; i++) {
		const struct sockaddr *src =
			o->nsrc ? (const struct sockaddr *)&o->src[i % o->nsrc] : NULL;
		hcl_init(&R.cl[i], R.loop, (const struct sockaddr *)&o->dst, o->dlen, src, o->host_hdr,
			 o->connect_timeout, on_done, NULL);
		R.freel[R.nfree++] = o->http_conns - 1 - i;
	}
	signal(SIGINT, rest_sigint);
	scen_server_start(o->server_pid, &o->dst, o->dlen, o->host_hdr);
	int64_t t0 = clock_mono_ns() + 20000000;
	if (scen_sched_init(&R.sch, R.loop, o->rate, (uint64_t)total_d, t0, fire, NULL) < 0)
		return 1;
	R.t_end_window = t0 + (int64_t)(o->duration * 1e9);
	R.deadline = R.t_end_window + (int64_t)(o->drain * 1e9);
	R.next_print = t0 + 1000000000;
	ev_timer_init(&R.tick, tick_cb, 0.01, 0.01);
	ev_timer_start(R.loop, &R.tick);
	if (!o->quiet)
		fprintf(stderr, "parley-bench: rest: %.0f req/s for %.1fs over %d connections: %s\n",
			o->rate, o->duration, o->http_conns,
			o->url_path ? o->url_path : "conversation list + messages (agent token)");
	ev_run(R.loop, 0);
	scen_server_stop();
	uint64_t inflight = (uint64_t)(o->http_conns - R.nfree);
	uint64_t unsent = R.sch.total - R.sch.next;
	uint64_t conns = 0;
	for (int i = 0; i < o->http_conns; i++) {
		conns += R.cl[i].connects;
		hcl_close(&R.cl[i]);
	}
	scen_sched_close(&R.sch, R.loop);
	uint64_t errors = R.bad_status + R.io_errors + inflight + unsent;
	double rps = (double)R.ok / o->duration, rps_win = (double)R.in_window / o->duration;

	printf("parley-bench rest: %s, target %.0f req/s for %.1fs, %d keep-alive connections\n",
	       o->url_path ? o->url_path : rest_desc[o->rest_reads],
	       o->rate, o->duration, o->http_conns);
	scen_hist_header(stdout);
	scen_hist_row(stdout, "all", R.h_all);
	if (!o->url_path) {
		scen_hist_row(stdout, "list", R.h_list);
		scen_hist_row(stdout, "messages", R.h_msgs);
	}
	scen_hist_row(stdout, "service", R.h_service);
	scen_hist_row(stdout, "send_lag", R.h_lag);
	printf("  scheduled=%" PRIu64 " ok=%" PRIu64 " (in window %" PRIu64 ") bad_status=%" PRIu64
	       " io_errors=%" PRIu64 " in_flight_at_end=%" PRIu64 " unsent=%" PRIu64
	       " tcp_connections=%" PRIu64 " body_bytes=%" PRIu64 "\n",
	       R.sch.total, R.ok, R.in_window, R.bad_status, R.io_errors, inflight, unsent, conns,
	       R.bytes);
	for (int i = 0; i < MAX_REASONS && R.reason[i]; i++)
		printf("  problem: %s x%" PRIu64 "\n", R.reason[i], R.reason_n[i]);
	scen_server_print(stdout);
	printf("requests_per_s=%.1f in_window_per_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
	       "p999_ms=%.3f max_ms=%.3f errors=%" PRIu64 "\n",
	       rps, rps_win, scen_ms(hist_quantile(R.h_all, 0.5)), scen_ms(hist_quantile(R.h_all, 0.9)),
	       scen_ms(hist_quantile(R.h_all, 0.99)), scen_ms(hist_quantile(R.h_all, 0.999)),
	       scen_ms(R.h_all->max), errors);
	fflush(stdout);

	json_t *root = json_object();
	json_object_set_new(root, "mode", json_string("rest"));
	json_object_set_new(root, "params",
			    json_pack("{s:f, s:f, s:f, s:i, s:i, s:i, s:s?, s:s?}", "rate", o->rate,
				      "duration_s", o->duration, "drain_s", o->drain, "http_conns",
				      o->http_conns, "conversations", o->url_path ? 0 : o->visitors,
				      "messages_per_conversation", o->url_path ? 0 : o->messages,
				      "url_path", o->url_path, "reads",
				      o->url_path ? NULL : (const char *[]){ "both", "list", "messages" }[o->rest_reads]));
	json_object_set_new(root, "rate", json_real(o->rate));
	json_object_set_new(root, "requests_per_s", json_real(rps));
	json_object_set_new(root, "in_window_per_s", json_real(rps_win));
	json_object_set_new(root, "latency", scen_hist_json(R.h_all));
	if (!o->url_path) {
		json_object_set_new(root, "latency_list", scen_hist_json(R.h_list));
		json_object_set_new(root, "latency_messages", scen_hist_json(R.h_msgs));
	}
	json_object_set_new(root, "service", scen_hist_json(R.h_service));
	json_object_set_new(root, "send_lag", scen_hist_json(R.h_lag));
	json_t *reasons = json_object();
	for (int i = 0; i < MAX_REASONS && R.reason[i]; i++)
		json_object_set_new(reasons, R.reason[i], json_integer((json_int_t)R.reason_n[i]));
	json_object_set_new(root, "errors",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}", "total", (json_int_t)errors,
				      "bad_status", (json_int_t)R.bad_status, "io_errors",
				      (json_int_t)R.io_errors, "in_flight_at_end", (json_int_t)inflight,
				      "unsent", (json_int_t)unsent, "reasons", reasons));
	json_object_set_new(root, "scheduled", json_integer((json_int_t)R.sch.total));
	json_object_set_new(root, "ok", json_integer((json_int_t)R.ok));
	json_object_set_new(root, "tcp_connections", json_integer((json_int_t)conns));
	json_object_set_new(root, "body_bytes", json_integer((json_int_t)R.bytes));
	int rc = scen_write_json(o->json_path, root) < 0 ? 1 : 0;
	json_decref(root);
	return rc;
}
