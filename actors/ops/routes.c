/* api_ops — health, readiness and Prometheus metrics. */
#include "actors/kit/api.h"
#include "storage/db.h"
#include "actors/conversations/due.h"
#include "actors/conversations/lcache.h"
#include "actors/files/files.h"
#include "actors/kit/registry.h"
#include "actors/outbox/outbox.h"
#include "core/buf.h"
#include "core/clock.h"
#include "net/tls.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void healthz(http_req *req, const principal *unused)
{
	http_respond_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static void readyz(http_req *req, const principal *unused)
{
	app *a = api_app(req);
	if (atomic_load(&a->ready))
		http_respond_json(req, 200, json_pack("{s:s}", "status", "ready"));
	else
		http_respond_error(req, 503, "not_ready", "starting or stopping", NULL);
}

/* Resident set size and its anonymous part (heap, stacks: resident minus
 * file-backed and shared pages such as LMDB's map), from /proc/self/statm. */
static void rss_bytes(double *rss, double *anon)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0, shared = 0;
	if (f) {
		if (fscanf(f, "%ld %ld %ld", &pages, &res, &shared) != 3)
			res = shared = 0;
		fclose(f);
	}
	long pg = sysconf(_SC_PAGESIZE);
	*rss = (double)res * (double)pg;
	*anon = (double)(res - shared) * (double)pg;
}

static void metric(buf *b, const char *name, const char *type, const char *help, double v)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

static void metrics(http_req *req, const principal *unused)
{
	app *a = api_app(req);
	buf b = { 0 };
	http_stats hs;
	writer_stats ws;
	actor_rt_stats as;
	http_server_get_stats(a->http, &hs);
	writer_get_stats(a->wr, &ws);
	actor_rt_get_stats(a->rt, &as);
	lc_stats ls;
	lc_get_stats(a->lists, &ls);
	metric(&b, "parley_uptime_seconds", "gauge", "Seconds since start",
	       (double)(clock_now_ms() - a->started_ms) / 1000.0);
	double rss, anon;
	rss_bytes(&rss, &anon);
	metric(&b, "parley_process_resident_memory_bytes", "gauge", "Resident set size", rss);
	metric(&b, "parley_process_anonymous_memory_bytes", "gauge",
	       "Resident memory not backed by a file (heap, stacks)", anon);
	metric(&b, "parley_memory_trims_total", "counter",
	       "Times freed heap memory was given back (malloc_trim)", (double)atomic_load(&a->trims));
	metric(&b, "parley_memory_trim_seconds_total", "counter", "Time spent in malloc_trim",
	       (double)atomic_load(&a->trim_ns) / 1e9);
	metric(&b, "parley_http_connections", "gauge", "Open connections", hs.open);
	metric(&b, "parley_http_accepted_total", "counter", "Accepted connections", (double)hs.accepted);
	metric(&b, "parley_http_accept_paused_total", "counter", "Times accepting paused for want of file descriptors",
	       (double)hs.accept_paused);
	metric(&b, "parley_http_requests_total", "counter", "HTTP requests dispatched", (double)hs.requests);
	metric(&b, "parley_http_bad_requests_total", "counter", "Requests refused as malformed", (double)hs.bad_requests);
	metric(&b, "parley_http_timeouts_total", "counter", "Requests timed out (408)", (double)hs.timeouts);
	metric(&b, "parley_http_streams_total", "counter", "Streamed (chunked) responses begun", (double)hs.streams);
	metric(&b, "parley_http_streams_aborted_total", "counter",
	       "Streamed responses ended before their end (client gone or too slow, a failure, a stop)",
	       (double)hs.streams_aborted);
	metric(&b, "parley_http_streams_active", "gauge", "Streamed responses being sent", (double)hs.streams_active);
	if (a->tls) {
		tls_stats ts;
		tls_ctx_stats(a->tls, &ts);
		metric(&b, "parley_tls_connections_open", "gauge", "Connections on the TLS port", (double)ts.open);
		metric(&b, "parley_tls_handshakes_total", "counter", "TLS handshakes completed", (double)ts.handshakes);
		metric(&b, "parley_tls_handshake_failures_total", "counter",
		       "TLS connections ended by an engine error (refused hello, bad record)", (double)ts.failed);
		metric(&b, "parley_tls_handshake_timeouts_total", "counter",
		       "TLS handshakes not finished within the header timeout", (double)ts.timeouts);
		metric(&b, "parley_tls_plain_refused_total", "counter", "Plain HTTP requests on the TLS port (400)",
		       (double)ts.plain_refused);
		metric(&b, "parley_tls_reloads_total", "counter", "Certificate reloads (SIGHUP)", (double)ts.reloads);
		metric(&b, "parley_tls_reload_failures_total", "counter", "Certificate reloads refused (old pair kept)",
		       (double)ts.reload_failed);
	}
	metric(&b, "parley_ws_upgrades_total", "counter", "WebSocket upgrades", (double)hs.ws_upgrades);
	metric(&b, "parley_ws_frames_in_total", "counter", "WebSocket text messages received", (double)hs.ws_in);
	metric(&b, "parley_ws_frames_out_total", "counter", "WebSocket text messages queued", (double)hs.ws_out);
	metric(&b, "parley_ws_slow_dropped_total", "counter", "Connections dropped for a full send queue",
	       (double)hs.ws_dropped_slow);
	metric(&b, "parley_storage_commits_total", "counter", "Write transactions committed", (double)ws.batches);
	metric(&b, "parley_storage_requests_total", "counter", "Write requests applied", (double)ws.requests);
	metric(&b, "parley_storage_refused_total", "counter", "Write requests refused or aborted", (double)ws.failures);
	metric(&b, "parley_storage_commit_seconds_total", "counter", "Time spent committing",
	       (double)ws.commit_ns_total / 1e9);
	metric(&b, "parley_storage_apply_seconds_total", "counter", "Time spent applying requests in transactions",
	       (double)ws.apply_ns_total / 1e9);
	metric(&b, "parley_storage_batch_max", "gauge", "Largest commit batch seen", (double)ws.max_batch_seen);
	metric(&b, "parley_storage_commit_max_seconds", "gauge", "Slowest commit seen", (double)ws.commit_ns_max / 1e9);
	metric(&b, "parley_storage_slow_commits_total", "counter", "Transactions over 50 ms (apply + commit)",
	       (double)ws.slow_commits);
	metric(&b, "parley_storage_queue", "gauge", "Write requests waiting", ws.queued);
	metric(&b, "parley_storage_bytes", "gauge", "Size of the LMDB data file", (double)db_file_size(a->db));
	metric(&b, "parley_actor_turns_total", "counter", "Actor turns run", (double)as.turns);
	metric(&b, "parley_actor_messages_total", "counter", "Actor messages handled", (double)as.messages);
	metric(&b, "parley_actor_refused_total", "counter", "Actor messages refused (mailbox full)", (double)as.refused);
	metric(&b, "parley_actor_run_queue", "gauge", "Actors waiting for a worker", as.run_queue);
	metric(&b, "parley_conversation_actors", "gauge", "Conversation actors in memory",
	       (double)registry_count(a->convs));
	metric(&b, "parley_conversation_actors_retired_total", "counter",
	       "Idle conversation actors removed from memory", (double)atomic_load(&a->convs_retired));
	metric(&b, "parley_messages_stored_total", "counter", "Messages and notes stored",
	       (double)atomic_load(&a->msgs_stored));
	metric(&b, "parley_messages_duplicate_total", "counter", "Sends answered from an existing client_id",
	       (double)atomic_load(&a->msgs_duplicate));
	metric(&b, "parley_logins_failed_total", "counter", "Failed logins", (double)atomic_load(&a->logins_failed));
	metric(&b, "parley_logins_rate_limited_total", "counter", "Logins refused by the rate limit",
	       (double)atomic_load(&a->logins_rate_limited));
	metric(&b, "parley_list_cache_hits_total", "counter", "Conversation lists served from the cache",
	       (double)ls.hits);
	metric(&b, "parley_list_cache_misses_total", "counter", "Conversation lists rendered from storage",
	       (double)ls.misses);
	metric(&b, "parley_list_cache_stores_total", "counter", "Rendered conversation lists kept",
	       (double)ls.stores);
	metric(&b, "parley_inflight_requests", "gauge", "Requests waiting for an actor or a commit",
	       atomic_load(&a->inflight));
	outbox_metrics(a, &b);
	files_stats fs;
	files_get_stats(a, &fs);
	metric(&b, "parley_files_stored_total", "counter", "Uploads stored", (double)fs.stored);
	metric(&b, "parley_files_refused_total", "counter",
	       "Uploads refused after their body (type, size, quota, storage)", (double)fs.refused);
	metric(&b, "parley_files_bytes_written_total", "counter", "Upload bytes written by the file thread",
	       (double)fs.bytes_written);
	metric(&b, "parley_files_swept", "gauge", "Unreferenced blobs removed at the last start", (double)fs.swept);
	metric(&b, "parley_upload_pauses_total", "counter",
	       "Times an upload's connection stopped reading for the file thread to catch up", (double)fs.paused);
	http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len,
		     "Cache-Control: no-store\r\n");
	buf_free(&b);
}

/* PUT /v1/ops/clock {"now": ISO-8601}: tests only (parleyd --test-clock;
 * otherwise 404): the server's clock reads `now` from here on, advancing
 * in real time. Times decided by the clock (business hours, heartbeats,
 * snoozes) follow it. */
static void set_clock(http_req *req, const principal *unused)
{
	app *a = api_app(req);
	if (!a->cfg.test_clock) {
		http_respond_error(req, 404, "not_found", "the clock is the system's (no --test-clock)", NULL);
		return;
	}
	json_t *body = api_body(req);
	if (!body)
		return;
	const char *now;
	int64_t ms;
	if (api_str(req, body, "now", true, 1, 40, &now) == 0) {
		if (clock_parse_iso8601(now, strlen(now), &ms) < 0) {
			api_bad_field(req, "now", "now must be an ISO-8601 UTC time");
		} else {
			clock_set_now_ms(ms);
			due_wake(a);   /* snooze ends and auto-closes now due */
			char iso[32];
			http_respond_json(req, 200, json_pack("{s:s}", "now", clock_iso8601(clock_now_ms(), iso)));
		}
	}
	json_decref(body);
}

static const route_def routes[] = {
	{ "GET", "/healthz", PERM_PUBLIC, healthz },
	{ "GET", "/readyz", PERM_PUBLIC, readyz },
	{ "GET", "/metrics", PERM_PUBLIC, metrics },
	{ "PUT", "/v1/ops/clock", PERM_SETTINGS, set_clock },
	{ 0 },
};

const feature feature_ops = { .name = "ops", .routes = routes };
