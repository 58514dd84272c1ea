/* app — configuration and lifetime of the server (see app.h for the order).
 *
 * Configuration is table-driven: every option has one name used three
 * ways — a flag (--ws-max-message 65536 or --ws-max-message=65536), an
 * environment variable (PARLEY_WS_MAX_MESSAGE) and a key in the optional
 * config file (ws-max-message = 65536). Precedence: flag > environment >
 * file > default.
 */
#include "actors/app/server.h"
#include "storage/db.h"
#include "storage/rating_store.h"
#include "storage/search_store.h"
#include "actors/app/features.h"
#include "actors/kit/feature.h"
#include "actors/kit/address.h"
#include "actors/kit/apikey.h"
#include "actors/conversations/cidset.h"
#include "actors/kit/api.h"
#include "actors/conversations/conv.h"
#include "actors/conversations/inbox.h"
#include "actors/desk/desk.h"
#include "actors/kit/jobs.h"
#include "actors/kit/jwt.h"
#include "actors/conversations/lcache.h"
#include "actors/auth/password.h"
#include "actors/kit/registry.h"
#include "actors/kit/tokmemo.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/hours.h"
#include "core/log.h"
#include "core/secretbox.h"
#include "net/tls.h"
#include "storage/account_store.h"
#include "storage/dept_store.h"

#include <ctype.h>
#include <libgen.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void app_config_default(app_config *c)
{
	memset(c, 0, sizeof *c);
	strcpy(c->data_dir, "./data");
	strcpy(c->host, "0.0.0.0");
	c->port = 8080;
	strcpy(c->web_dir, "./web");
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	/* measured on 2 cores (docs/performance.md): one I/O loop per core and
	 * half as many actor workers gave the lowest p99 at 10k msg/s */
	c->io_threads = n > 0 ? (int)n : 2;
	c->workers = n > 1 ? (int)(n / 2) : 1;
	c->job_threads = 1;
	c->access_ttl_s = 900;
	c->refresh_ttl_s = 30 * 86400;
	c->invite_ttl_s = 72 * 3600;
	c->smtp_timeout_ms = 30000;
	c->visitor_ttl_s = 180 * 86400;
	c->login_max_failures = 5;
	c->login_window_s = 300;
	c->conv_mailbox = 1024;
	c->conv_idle_ms = 60000;
	c->dedupe_window = CIDSET_WINDOW_DEFAULT;
	c->malloc_arenas = 2;
	c->webhook_concurrency = 4;
	c->webhook_connect_timeout_ms = 10000;
	c->webhook_timeout_ms = 10000;
	c->outbox_horizon_s = 86400;
	c->outbox_quota = 100000;
	c->webhook_log_max = 10000;
	c->argon2_m_kib = 19456;
	c->argon2_t = 2;
	c->upload_max = 5u << 20;
	c->tenant_quota = (size_t)1 << 30;
	c->upload_rate = 10;
	c->max_canned = 1000;
	c->max_tags = 500;
	c->max_attr_defs = 100;
	c->default_capacity = 3;
	c->offline_email_window_ms = 300000;
	c->audit_retention_days = 365;
	c->alert_check_ms = 10000;
	http_opts_default(&c->http);
	c->http.cors_prefix = "/v1/widget/";
}

enum otype { O_STR, O_INT, O_I64, O_SIZE, O_MS, O_BOOL, O_SYNC, O_LEVEL, O_UINT, O_CLOCK, O_OFF };

typedef struct {
	const char *name;
	uint8_t type;
	size_t off;
	size_t cap;
	const char *help;
} option;

#define OFF(f) offsetof(app_config, f)
static const option options[] = {
	{ "data", O_STR, OFF(data_dir), sizeof(((app_config *)0)->data_dir), "data directory [./data]" },
	{ "host", O_STR, OFF(host), sizeof(((app_config *)0)->host), "address to listen on [0.0.0.0]" },
	{ "port", O_INT, OFF(port), 0, "port [8080]; 0 picks a free one" },
	{ "tls-cert", O_STR, OFF(tls_cert), sizeof(((app_config *)0)->tls_cert),
	  "PEM certificate chain (the server's first): --port speaks HTTPS and WSS; SIGHUP re-reads it" },
	{ "tls-key", O_STR, OFF(tls_key), sizeof(((app_config *)0)->tls_key), "PEM private key (RSA or EC) of --tls-cert" },
	{ "plain-port", O_INT, OFF(plain_port), 0, "a plain HTTP port beside the TLS one (health checks, metrics) [none]" },
	{ "web", O_STR, OFF(web_dir), sizeof(((app_config *)0)->web_dir), "static files [./web]" },
	{ "io-threads", O_INT, OFF(io_threads), 0, "I/O threads [cores]" },
	{ "workers", O_INT, OFF(workers), 0, "actor worker threads [cores/2]" },
	{ "job-threads", O_INT, OFF(job_threads), 0, "threads for password hashing [1]" },
	{ "sync", O_SYNC, OFF(no_sync), 0, "full (fsync each commit) | none (benchmarks only) [full]" },
	{ "search-index", O_OFF, OFF(search_index_off), 0,
	  "on | off: off leaves new messages out of the search index (benchmark A/B only) [on]" },
	{ "demo-password", O_STR, OFF(demo_password), sizeof(((app_config *)0)->demo_password),
	  "password of the demo admin created on first start [random]" },
	{ "no-demo", O_BOOL, OFF(no_demo), 0, "do not create the demo tenant" },
	{ "allowed-origins", O_STR, OFF(allowed_origins), sizeof(((app_config *)0)->allowed_origins),
	  "extra origins allowed for the agent WebSocket (comma-separated)" },
	{ "outbound-allow", O_STR, OFF(outbound_allow), sizeof(((app_config *)0)->outbound_allow),
	  "private networks webhooks and mail may reach (CIDRs, comma-separated) [none]" },
	{ "secret-key-file", O_STR, OFF(secret_key_file), sizeof(((app_config *)0)->secret_key_file),
	  "key sealing stored secrets (SMTP passwords), created 0600 on first start; keep it out of the data "
	  "directory and its backups [<data dir>/../parley-secret.key]" },
	{ "public-url", O_STR, OFF(public_url), sizeof(((app_config *)0)->public_url),
	  "this server's address as people reach it, for links in emails [http://127.0.0.1:<port>]" },
	{ "smtp-timeout-ms", O_I64, OFF(smtp_timeout_ms), 0, "one SMTP delivery, connect to last reply [30000]" },
	{ "access-ttl", O_I64, OFF(access_ttl_s), 0, "access token lifetime, seconds [900]" },
	{ "refresh-ttl", O_I64, OFF(refresh_ttl_s), 0, "refresh token lifetime, seconds [2592000]" },
	{ "invite-ttl", O_I64, OFF(invite_ttl_s), 0, "set-password link lifetime, seconds [259200]" },
	{ "visitor-ttl", O_I64, OFF(visitor_ttl_s), 0, "visitor token lifetime, seconds [15552000]" },
	{ "login-max-failures", O_INT, OFF(login_max_failures), 0, "failed logins per email per window [5]" },
	{ "login-window", O_INT, OFF(login_window_s), 0, "login rate-limit window, seconds [300]" },
	{ "conv-mailbox", O_INT, OFF(conv_mailbox), 0, "conversation mailbox bound [1024]" },
	{ "conv-idle-ms", O_I64, OFF(conv_idle_ms), 0, "idle conversation actors leave memory after [60000]; 0 = never" },
	{ "dedupe-window", O_INT, OFF(dedupe_window), 0,
	  "resent client_ids are recognised among this many latest messages of a conversation [1000]" },
	{ "malloc-arenas", O_INT, OFF(malloc_arenas), 0,
	  "heap arenas shared by all threads [2]; 0 = the C library's default (8 per core)" },
	{ "webhook-concurrency", O_INT, OFF(webhook_concurrency), 0, "deliveries in flight per webhook endpoint [4]" },
	{ "webhook-connect-timeout-ms", O_I64, OFF(webhook_connect_timeout_ms), 0, "time to connect to a webhook receiver [10000]" },
	{ "webhook-timeout-ms", O_I64, OFF(webhook_timeout_ms), 0, "time for a whole webhook delivery [10000]" },
	{ "outbox-horizon-s", O_I64, OFF(outbox_horizon_s), 0,
	  "failed deliveries are retried this long after the event, then parked [86400]" },
	{ "outbox-quota", O_I64, OFF(outbox_quota), 0,
	  "outbox entries per tenant; past it new ones are dropped (counted and logged) [100000]; 0 = no limit" },
	{ "webhook-log-max", O_I64, OFF(webhook_log_max), 0, "delivery log rows kept per tenant [10000]" },
	{ "argon2-m-kib", O_UINT, OFF(argon2_m_kib), 0, "Argon2id memory cost, KiB [19456]" },
	{ "argon2-t", O_UINT, OFF(argon2_t), 0, "Argon2id iterations [2]" },
	{ "upload-max", O_SIZE, OFF(upload_max), 0, "largest uploaded file, bytes [5242880]" },
	{ "tenant-storage-quota", O_SIZE, OFF(tenant_quota), 0,
	  "bytes of files each tenant may store [1073741824]; 0 = no limit" },
	{ "upload-rate", O_INT, OFF(upload_rate), 0, "uploads per visitor per minute [10]; 0 = no limit" },
	{ "max-canned", O_UINT, OFF(max_canned), 0, "canned responses per tenant [1000]; 0 = no limit" },
	{ "max-tags", O_UINT, OFF(max_tags), 0, "tags per tenant [500]; 0 = no limit" },
	{ "max-attribute-defs", O_UINT, OFF(max_attr_defs), 0, "custom attribute definitions per tenant [100]; 0 = no limit" },
	{ "max-header", O_SIZE, OFF(http.max_head), 0, "request line + headers, bytes [8192]" },
	{ "max-uri", O_SIZE, OFF(http.max_uri), 0, "request target, bytes [4096]" },
	{ "max-body", O_SIZE, OFF(http.max_body), 0, "request body, bytes [1048576]" },
	{ "header-timeout-ms", O_MS, OFF(http.header_timeout), 0, "time from a request's first byte to the end of its head [10000]" },
	{ "body-min-rate", O_SIZE, OFF(http.body_min_rate), 0, "slowest accepted request body, bytes/s (added to the header time) [1024]" },
	{ "idle-timeout-ms", O_MS, OFF(http.idle_timeout), 0, "keep-alive idle time [60000]" },
	{ "ws-max-message", O_SIZE, OFF(http.ws_max_message), 0, "WebSocket message, bytes [65536]" },
	{ "ws-send-queue", O_SIZE, OFF(http.ws_send_queue), 0, "per-connection send queue, bytes [1048576]" },
	{ "ws-ping-ms", O_MS, OFF(http.ws_ping_interval), 0, "WebSocket ping interval [30000]" },
	{ "ws-auth-timeout-ms", O_MS, OFF(http.ws_auth_timeout), 0, "time to authenticate a WebSocket [10000]" },
	{ "ws-frame-timeout-ms", O_MS, OFF(http.ws_frame_timeout), 0, "time from a WebSocket frame's first byte to its last [10000]" },
	{ "log-level", O_LEVEL, 0, 0, "debug | info | warn | error [info]" },
	{ "default-capacity", O_INT, OFF(default_capacity), 0, "concurrent chats of an agent whose capacity is not set [3]" },
	{ "offline-email-window-ms", O_I64, OFF(offline_email_window_ms), 0,
	  "one offline email per department lists the conversations of this window [300000]" },
	{ "test-clock", O_BOOL, OFF(test_clock), 0, "tests only: PUT /v1/ops/clock moves the server's clock" },
	{ "trusted-proxies", O_STR, OFF(trusted_proxies), sizeof(((app_config *)0)->trusted_proxies),
	  "proxies whose X-Forwarded-For gives the caller's address for the audit log (IPs/CIDRs, comma-separated) [none]" },
	{ "audit-retention-days", O_I64, OFF(audit_retention_days), 0, "days audit log rows are kept [365]" },
	{ "clock-offset-ms", O_CLOCK, OFF(clock_offset_ms), 0,
	  "shifts the server's clock by this many ms, for tests (may be negative) [0]" },
	{ "alert-check-ms", O_I64, OFF(alert_check_ms), 0,
	  "how often waiting conversations and staffed hours are checked for alerts, ms (100..3600000) [10000]" },
	{ "no-rollups", O_BOOL, OFF(no_rollups), 0,
	  "keep no analytics rollups (the benchmark's A/B of their cost only: the figures go stale)" },
	{ "print-routes", O_BOOL, OFF(print_routes), 0, "print the route and frame tables (method, path, permission) and exit" },
};

static void usage(void)
{
	fprintf(stderr, "usage: parleyd [--config FILE] [--option VALUE]...\n\noptions (also PARLEY_<OPTION> "
			"in the environment, or 'option = value' in the config file):\n");
	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
		fprintf(stderr, "  --%-22s %s\n", options[i].name, options[i].help);
}

static int set_option(app_config *c, const option *o, const char *val)
{
	char *base = (char *)c;
	char *end = NULL;
	errno = 0;
	switch (o->type) {
	case O_STR:
		if (strlen(val) >= o->cap)
			return -1;
		strcpy(base + o->off, val);
		return 0;
	case O_BOOL:
		*(bool *)(base + o->off) = !val || !*val || strcmp(val, "1") == 0 || strcmp(val, "true") == 0;
		return 0;
	case O_SYNC:
		if (strcmp(val, "full") && strcmp(val, "none"))
			return -1;
		*(bool *)(base + o->off) = strcmp(val, "none") == 0;
		return 0;
	case O_OFF:
		if (strcmp(val, "on") && strcmp(val, "off"))
			return -1;
		*(bool *)(base + o->off) = strcmp(val, "off") == 0;
		return 0;
	case O_LEVEL: {
		const char *names[] = { "debug", "info", "warn", "error" };
		for (int i = 0; i < 4; i++)
			if (strcmp(val, names[i]) == 0) {
				log_set_level((enum log_level)i);
				return 0;
			}
		return -1;
	}
	case O_CLOCK: {
		long long v = strtoll(val, &end, 10);
		if (errno || !*val || *end)
			return -1;
		*(int64_t *)(base + o->off) = v;
		clock_set_offset_ms(v);
		return 0;
	}
	default: break;
	}
	long long v = strtoll(val, &end, 10);
	if (errno || !*val || *end || v < 0)
		return -1;
	switch (o->type) {
	case O_INT: *(int *)(base + o->off) = (int)v; break;
	case O_UINT: *(unsigned *)(base + o->off) = (unsigned)v; break;
	case O_I64: *(int64_t *)(base + o->off) = v; break;
	case O_SIZE: *(size_t *)(base + o->off) = (size_t)v; break;
	case O_MS: *(double *)(base + o->off) = (double)v / 1000.0; break;
	}
	return 0;
}

static const option *find_option(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
		if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
			return &options[i];
	return NULL;
}

static int load_file(app_config *c, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "parleyd: cannot read config %s: %s\n", path, strerror(errno));
		return -1;
	}
	char line[1200];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			continue;
		char *eq = strchr(p, '=');
		char *e = eq ? eq : p + strlen(p);
		while (e > p && isspace((unsigned char)e[-1]))
			e--;
		const option *o = find_option(p, (size_t)(e - p));
		char *val = eq ? eq + 1 : (char *)"";
		while (isspace((unsigned char)*val))
			val++;
		val[strcspn(val, "\r\n")] = 0;
		for (size_t n = strlen(val); n && isspace((unsigned char)val[n - 1]); n--)
			val[n - 1] = 0;
		if (!o || set_option(c, o, val) < 0) {
			fprintf(stderr, "parleyd: %s:%d: bad option\n", path, lineno);
			rc = -1;
		}
	}
	fclose(f);
	return rc;
}

int app_config_parse(app_config *c, int argc, char **argv)
{
	/* the config file first, then the environment, then flags */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			if (load_file(c, argv[i + 1]) < 0)
				return -1;
		} else if (strncmp(argv[i], "--config=", 9) == 0 && load_file(c, argv[i] + 9) < 0) {
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
		char env[64] = "PARLEY_";
		size_t n = 7;
		for (const char *p = options[i].name; *p && n < sizeof env - 1; p++)
			env[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
		env[n] = 0;
		const char *v = getenv(env);
		if (v && set_option(c, &options[i], v) < 0) {
			fprintf(stderr, "parleyd: bad value in %s\n", env);
			return -1;
		}
	}
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage();
			return -1;
		}
		if (strncmp(arg, "--", 2) != 0)
			goto bad;
		arg += 2;
		const char *eq = strchr(arg, '=');
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
		if (len == 6 && strncmp(arg, "config", 6) == 0) {
			if (!eq)
				i++;
			continue;
		}
		const option *o = find_option(arg, len);
		if (!o)
			goto bad;
		const char *val = eq ? eq + 1 : NULL;
		if (!val && o->type != O_BOOL) {
			if (i + 1 >= argc)
				goto bad;
			val = argv[++i];
		}
		if (set_option(c, o, val ? val : "") < 0)
			goto bad;
	}
	if (c->io_threads < 1 || c->io_threads > 64 || c->workers < 1 || c->workers > 256 ||
	    c->job_threads < 1 || c->job_threads > 64) {
		fprintf(stderr, "parleyd: io-threads must be 1..64, workers 1..256, job-threads 1..64\n");
		return -1;
	}
	/* a zero time limit or rate would mean "none" (a stopped timer) or
	 * "close at once", never what was meant */
	const http_opts *h = &c->http;
	if (h->header_timeout <= 0 || h->idle_timeout <= 0 || h->ws_ping_interval <= 0 ||
	    h->ws_auth_timeout <= 0 || h->ws_frame_timeout <= 0 || h->body_min_rate == 0) {
		fprintf(stderr, "parleyd: header-timeout-ms, idle-timeout-ms, ws-ping-ms, ws-auth-timeout-ms, "
				"ws-frame-timeout-ms and body-min-rate must be above 0\n");
		return -1;
	}
	if (!c->tls_cert[0] != !c->tls_key[0] || (c->plain_port && !c->tls_cert[0]) || c->plain_port > 65535) {
		fprintf(stderr, "parleyd: tls-cert and tls-key go together; plain-port (1..65535) needs them\n");
		return -1;
	}
	if (c->dedupe_window < 1 || c->dedupe_window > (int)CIDSET_WINDOW_MAX) {
		fprintf(stderr, "parleyd: dedupe-window must be 1..%u\n", CIDSET_WINDOW_MAX);
		return -1;
	}
	if (c->upload_max < 1 || c->upload_max > ((size_t)1 << 30) || c->upload_rate < 0) {
		fprintf(stderr, "parleyd: upload-max must be 1..1073741824 bytes, upload-rate >= 0\n");
		return -1;
	}
	if (c->smtp_timeout_ms < 100 || c->smtp_timeout_ms > 600000) {
		fprintf(stderr, "parleyd: smtp-timeout-ms must be 100..600000\n");
		return -1;
	}
	if (c->public_url[0] && strncmp(c->public_url, "http://", 7) != 0 && strncmp(c->public_url, "https://", 8) != 0) {
		fprintf(stderr, "parleyd: public-url must start with http:// or https://\n");
		return -1;
	}
	for (size_t n = strlen(c->public_url); n && c->public_url[n - 1] == '/'; n--)
		c->public_url[n - 1] = 0;
	if (c->invite_ttl_s < 1 || c->invite_ttl_s > 366 * 86400) {
		fprintf(stderr, "parleyd: invite-ttl must be 1..31622400 seconds\n");
		return -1;
	}
	if (c->webhook_concurrency < 1 || c->webhook_concurrency > 64 || c->webhook_connect_timeout_ms < 1 ||
	    c->webhook_connect_timeout_ms > 600000 || c->webhook_timeout_ms < 1 || c->webhook_timeout_ms > 600000 ||
	    c->outbox_horizon_s < 1 || c->outbox_horizon_s > 30 * 86400 || c->webhook_log_max < 1 ||
	    c->webhook_log_max > 10000000) {
		fprintf(stderr, "parleyd: webhook-concurrency must be 1..64, webhook-connect-timeout-ms and "
				"webhook-timeout-ms 1..600000, outbox-horizon-s 1..2592000, webhook-log-max 1..10000000\n");
		return -1;
	}
	char err[160];
	egress *g = egress_new(c->outbound_allow, err, sizeof err);
	if (!g) {
		fprintf(stderr, "parleyd: outbound-allow: %s\n", err);
		return -1;
	}
	egress_free(&g);
	auth_proxies *px = auth_proxies_new(c->trusted_proxies, err, sizeof err);
	if (!px) {
		fprintf(stderr, "parleyd: trusted-proxies: %s\n", err);
		return -1;
	}
	auth_proxies_free(&px);
	if (c->alert_check_ms < 100 || c->alert_check_ms > 3600000) {
		fprintf(stderr, "parleyd: --alert-check-ms must be 100..3600000\n");
		return -1;
	}
	if (c->audit_retention_days < 1 || c->audit_retention_days > 36500) {
		fprintf(stderr, "parleyd: audit-retention-days must be 1..36500\n");
		return -1;
	}
	if (c->default_capacity < 0 || c->default_capacity > 100) {
		fprintf(stderr, "parleyd: default-capacity must be 0..100\n");
		return -1;
	}
	if (c->offline_email_window_ms < 100 || c->offline_email_window_ms > 86400000) {
		fprintf(stderr, "parleyd: offline-email-window-ms must be 100..86400000\n");
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "parleyd: bad option or value\n");
	usage();
	return -1;
}

int app_load_key(db *d, uint8_t key[32])
{
	store_txn txn;
	int rc = store_write(d, &txn);
	if (rc == 0 && (rc = account_signing_key(&txn, key)) == 0)
		rc = store_commit(&txn);
	store_done(&txn);
	if (rc)
		log_error("app.key", "err=\"%s\"", store_strerror(rc));
	return rc ? -1 : 0;
}

/* The key that seals stored secrets: --secret-key-file, or
 * parley-secret.key beside the data directory (not in it: a copy of the
 * data alone must not open the secrets); created on first start. */
static int load_secret_key(app *a)
{
	char path[sizeof a->cfg.secret_key_file + 32];
	if (a->cfg.secret_key_file[0]) {
		snprintf(path, sizeof path, "%s", a->cfg.secret_key_file);
	} else {
		char dir[sizeof a->cfg.data_dir];
		snprintf(dir, sizeof dir, "%s", a->cfg.data_dir);
		for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
			dir[n - 1] = 0;
		snprintf(path, sizeof path, "%s/parley-secret.key", dirname(dir));
	}
	char err[1200];
	bool created;
	if (secretbox_key_file(path, a->secret_key, &created, err, sizeof err) < 0) {
		fprintf(stderr, "parleyd: secret key: %s\n", err);
		return -1;
	}
	if (created)
		log_info("app.secret_key_created", "path=\"%s\"", path);
	return 0;
}

/* First start: a demo tenant with an admin and a widget key, printed once. */
static int seed_demo(app *a)
{
	store_txn txn;
	if (store_write(a->db, &txn))
		return -1;
	int any = a->cfg.no_demo ? 1 : account_tenant_any(&txn);
	if (any) {
		store_done(&txn);
		return any < 0 ? -1 : 0;
	}
	char pw[sizeof a->cfg.demo_password];
	if (a->cfg.demo_password[0]) {
		strcpy(pw, a->cfg.demo_password);
	} else {
		uint8_t raw[12];
		crypto_random(raw, sizeof raw);
		crypto_b64url_encode(raw, sizeof raw, pw);
	}
	char hash[PASSWORD_HASH_MAX];
	rec_tenant t;
	rec_user u;
	if (password_hash(pw, strlen(pw), hash) < 0 ||
	    account_tenant_create(&txn, &a->ids, "Demo", "demo", "*", &t) ||
	    deptstore_seed(&txn, t.id, t.created_ms) < 0 ||
	    account_user_create(&txn, &a->ids, t.id, "admin@demo.parley", hash, "owner", "Demo Admin", &u) ||
	    store_commit(&txn)) {
		store_done(&txn);
		log_error("app.seed", "msg=\"could not create the demo tenant (password must be 8-256 bytes)\"");
		return -1;
	}
	printf("parleyd: demo tenant created: slug=demo id=%llu\n", (unsigned long long)t.id);
	printf("parleyd: demo widget key: %s\n", t.widget_key);
	printf("parleyd: demo admin login: admin@demo.parley / %s\n", pw);
	fflush(stdout);
	return 0;
}

/* Runs one backfill (step: a batch in a write transaction; the number
 * done, 0 when nothing is left, or a store code) until it is done. 0 or
 * -1, logged under event. */
static int backfill(app *a, int (*step)(store_txn *t, int n), const char *event, const char *what,
		    const char *unit)
{
	store_txn txn;
	long total = 0;
	for (;;) {
		if (store_write(a->db, &txn))
			return -1;
		int n = step(&txn, 1000);
		if (n < 0 || store_commit(&txn)) {
			store_done(&txn);
			log_error(event, "msg=\"could not index the stored %s\" err=\"%s\"", what,
				  store_strerror(n < 0 ? n : STORE_EIO));
			return -1;
		}
		total += n;
		if (n == 0)
			break;
	}
	if (total > 0)
		log_info(event, "%s=%ld", unit, total);
	return 0;
}

/* The upgrade steps of this version, before the server listens: tenants
 * of a data directory written before departments get the four a new
 * tenant starts with (once; storage/dept_store.h). */
static int upgrade(app *a)
{
	store_txn txn;
	if (store_write(a->db, &txn))
		return -1;
	int n = deptstore_upgrade(&txn, clock_now_ms());
	if (n < 0 || store_commit(&txn)) {
		store_done(&txn);
		log_error("depts.seed", "msg=\"could not give the tenants their departments\" err=\"%s\"",
			  store_strerror(n < 0 ? n : STORE_EIO));
		return -1;
	}
	if (n > 0)
		log_info("depts.seed", "tenants=%d", n);
	/* messages stored before the search index existed, and ratings before
	 * their time index: indexed once, a thousand conversations (ratings) a
	 * transaction (search_store.h, rating_store.h) */
	if (searchstore_enabled(a->db) &&
	    backfill(a, searchstore_backfill, "search.backfill", "messages", "conversations") < 0)
		return -1;
	return backfill(a, rating_backfill, "ratings.backfill", "ratings", "ratings");
}

typedef struct {
	ioloop_task t;
	app *a;
} stop_sweep_task;

static void run_stop_sweep(ioloop *l, ioloop_task *t)
{
	stop_sweep_task *st = (stop_sweep_task *)t;
	ev_ref(l->ev);
	ev_timer_stop(l->ev, &st->a->sweep);
	atomic_store(&st->a->sweep_stopped, true);
	free(st);
}

/* Stops the sweep timer on its loop and waits (bounded) until it has. */
static void stop_sweep(app *a)
{
	stop_sweep_task *st = calloc(1, sizeof *st);
	if (!st)
		return;
	st->t.run = run_stop_sweep;
	st->a = a;
	ioloop_post(a->loops[0], &st->t);
	struct timespec tick = { 0, 1000 * 1000 };
	for (int i = 0; i < 2000 && !atomic_load(&a->sweep_stopped); i++)
		nanosleep(&tick, NULL);
}

static void on_sweep(struct ev_loop *ev, ev_timer *w, int revents)
{
	app *a = w->data;
	if (atomic_load(&a->ready))
		conv_sweep(a);
}

/* Giving memory back. glibc keeps what a thread frees in that thread's
 * arena for later reuse and returns pages to the system only from the top
 * of an arena's heap, so one live block above a large freed region (a
 * connection opened later, a message in flight) keeps the region resident
 * for good. malloc_trim(0) releases every whole free page inside every
 * arena (madvise), wherever it lies.
 *
 * When: once a second loop 0 compares the anonymous resident memory with
 * what the allocator has handed out (mallinfo2). Their difference is
 * memory that was freed but is still resident; when it has grown by
 * TRIM_SLACK since the last trim (slow clients gone, a burst of
 * conversations retired, however briefly they were there), trim. Memory
 * that is freed and soon reused (steady traffic, a scrape of /metrics)
 * keeps the difference level and costs nothing but the check (reading
 * /proc/self/statm and walking the arenas' free lists: tens of µs). A trim
 * locks each arena in turn for as long as it takes to walk that arena's
 * free chunks: 0.1-0.7 ms after a chat run, 1.5-3.6 ms with ~50 MB to
 * release (docs/performance.md); pages it released are faulted in again
 * (zeroed) only when they are reused. */
#define TRIM_CHECK_S 1.0
#define TRIM_SLACK (2 << 20)

/* Anonymous resident bytes (resident minus file-backed and shared pages,
 * such as LMDB's map) minus the bytes the allocator has handed out. */
static int64_t free_resident(void)
{
	long size = 0, res = 0, shared = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld %ld", &size, &res, &shared) != 3)
		res = shared = 0;
	fclose(f);
	struct mallinfo2 mi = mallinfo2();
	return (int64_t)(res - shared) * sysconf(_SC_PAGESIZE) - (int64_t)(mi.uordblks + mi.hblkhd);
}

static void on_trim(struct ev_loop *ev, ev_timer *w, int revents)
{
	app *a = w->data;
	if (!atomic_load(&a->ready))
		return;
	int64_t gap = free_resident();
	if (gap < a->trim_ref)
		a->trim_ref = gap;   /* freed memory was reused: follow it down */
	if (gap < a->trim_ref + TRIM_SLACK)
		return;
	int64_t t0 = clock_mono_ns();
	malloc_trim(0);
	atomic_fetch_add(&a->trim_ns, (uint64_t)(clock_mono_ns() - t0));
	atomic_fetch_add(&a->trims, 1);
	a->trim_ref = free_resident();
}

app *app_start(const app_config *cfg)
{
	app *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->cfg = *cfg;
	a->started_ms = clock_now_ms();
	password_set_cost(cfg->argon2_m_kib, cfg->argon2_t);
	char why[160];
	a->egress = egress_new(cfg->outbound_allow, why, sizeof why);
	if (!a->egress) {
		fprintf(stderr, "parleyd: outbound-allow: %s\n", why);
		free(a);
		return NULL;
	}
	if (cfg->outbound_allow[0])
		log_info("app.outbound_allow", "cidrs=\"%s\"", cfg->outbound_allow);
	a->proxies = auth_proxies_new(cfg->trusted_proxies, why, sizeof why);
	if (!a->proxies) {
		fprintf(stderr, "parleyd: trusted-proxies: %s\n", why);
		egress_free(&a->egress);
	auth_proxies_free(&a->proxies);
		free(a);
		return NULL;
	}
	if (cfg->trusted_proxies[0])
		log_info("app.trusted_proxies", "cidrs=\"%s\"", cfg->trusted_proxies);

	/* signals are taken by app_run_until_signal's sigwait; every thread
	 * started from here inherits the blocked mask */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* many connections: raise the soft open-file limit to the hard one */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	int err = 0;
	db_opts dbo = { .no_sync = cfg->no_sync };
	a->db = db_open(cfg->data_dir, &dbo, &err);
	if (!a->db) {
		fprintf(stderr, "parleyd: cannot open the database in %s: %s\n", cfg->data_dir, store_strerror(err));
		goto fail;
	}
	printf("parleyd: data dir %s (sync=%s)\n", cfg->data_dir,
	       cfg->no_sync ? "none: RELAXED DURABILITY, benchmarks only" : "full");
	searchstore_set_enabled(a->db, !cfg->search_index_off);
	if (cfg->search_index_off)
		printf("parleyd: search index off: new messages are not indexed (benchmarks only)\n");
	fflush(stdout);
	if (load_secret_key(a) < 0 || app_load_key(a->db, a->jwt_key) < 0 || seed_demo(a) < 0 ||
	    upgrade(a) < 0)
		goto fail;
	/* rendered conversation lists, one table per I/O thread; created
	 * before the writer, whose transactions mark tenants in it */
	a->lists = lc_new(cfg->io_threads, 256, 64 * 1024);
	/* tokens kept inline, 512 bytes at most (ours are ~300; a longer one
	 * is verified every time): 1024 × 576 B per I/O thread */
	a->tokens = tm_new(cfg->io_threads, 1024, 512);
	a->key_use = keyuse_new();
	if (!a->lists || !a->tokens || !a->key_use)
		goto fail;
	a->wr = writer_start(a->db, 4096);
	a->rt = actor_rt_start(&(actor_rt_opts){ .workers = cfg->workers, .batch = 64 });
	a->convs = registry_new(conv_actor_new, conv_actor_free, a);
	a->tenants = registry_new(inbox_actor_new, inbox_actor_free, a);
	a->actors[AK_CONV] = a->convs;
	a->actors[AK_INBOX] = a->tenants;
	/* departments and agents stay resident (actors/desk/desk.h) */
	a->actors[AK_DEPT] = registry_new(desk_dept_new, desk_dept_free, a);
	a->actors[AK_AGENT] = registry_new(desk_agent_new, desk_agent_free, a);
	if (!a->actors[AK_DEPT] || !a->actors[AK_AGENT])
		goto fail;
	a->login_rl = ratelimit_new(cfg->login_max_failures, cfg->login_window_s);
	a->login_rl_ip = ratelimit_new(cfg->login_max_failures * 4, cfg->login_window_s);
	a->zones = hours_zones_new();
	if (!a->wr || !a->rt || !a->convs || !a->tenants || !a->login_rl || !a->login_rl_ip || !a->zones)
		goto fail;
	/* password hashing gets its own threads: a burst of logins must not
	 * hold up conversations */
	a->jobs_rt = actor_rt_start(&(actor_rt_opts){ .workers = cfg->job_threads, .batch = 1 });
	a->jobs = a->jobs_rt ? jobs_new(a->jobs_rt, cfg->job_threads) : NULL;
	a->nloops = cfg->io_threads;
	a->loops = calloc((size_t)a->nloops, sizeof *a->loops);
	a->sessions = calloc((size_t)a->nloops, sizeof *a->sessions);
	if (!a->jobs || !a->loops || !a->sessions)
		goto fail;
	for (int i = 0; i < a->nloops; i++)
		if (!(a->loops[i] = ioloop_new(i)))
			goto fail;
	a->http = http_server_new(&cfg->http, a->loops, a->nloops);
	if (!a->http)
		goto fail;
	a->site = static_load(cfg->web_dir);
	if (!a->site)
		log_warn("static.missing", "root=%s msg=\"no web pages will be served\"", cfg->web_dir);
	if (feature_install(a, app_features) < 0)
		goto fail;
	http_set_fallback(a->http, static_handler, a->site);
	if (feature_start(a) < 0)
		goto fail;
	if (cfg->tls_cert[0]) {
		char terr[600];
		if (!(a->tls = tls_ctx_new(cfg->tls_cert, cfg->tls_key, terr, sizeof terr))) {
			fprintf(stderr, "parleyd: tls: %s\n", terr);
			goto fail;
		}
		a->port = http_server_listen_tls(a->http, cfg->host, cfg->port, a->tls);
	} else {
		a->port = http_server_listen(a->http, cfg->host, cfg->port);
	}
	if (a->port < 0) {
		fprintf(stderr, "parleyd: cannot listen on %s:%d\n", cfg->host, cfg->port);
		goto fail;
	}
	if (cfg->plain_port && (a->plain_port = http_server_listen(a->http, cfg->host, cfg->plain_port)) < 0) {
		fprintf(stderr, "parleyd: cannot listen on %s:%d\n", cfg->host, cfg->plain_port);
		goto fail;
	}
	if (cfg->conv_idle_ms > 0) {
		/* two sweeps with nothing else in between retire an actor */
		ev_timer_init(&a->sweep, on_sweep, cfg->conv_idle_ms / 2000.0, cfg->conv_idle_ms / 2000.0);
		a->sweep.data = a;
		ev_timer_start(a->loops[0]->ev, &a->sweep);
		ev_unref(a->loops[0]->ev);
	}
	a->trim_ref = free_resident();
	ev_timer_init(&a->trim, on_trim, TRIM_CHECK_S, TRIM_CHECK_S);
	a->trim.data = a;
	ev_timer_start(a->loops[0]->ev, &a->trim);
	ev_unref(a->loops[0]->ev);
	for (int i = 0; i < a->nloops; i++)
		if (ioloop_start(a->loops[i]) < 0)
			goto fail;
	atomic_store(&a->ready, true);
	const char *shown = strcmp(cfg->host, "0.0.0.0") == 0 ? "127.0.0.1" : cfg->host;
	printf("parleyd: listening on %s://%s:%d\n", a->tls ? "https" : "http", shown, a->port);
	if (a->plain_port)
		printf("parleyd: listening on http://%s:%d\n", shown, a->plain_port);
	fflush(stdout);
	if (a->tls) {
		char d[64];
		tls_ctx_describe(a->tls, d, sizeof d);
		log_info("app.tls", "port=%d plain_port=%d key=\"%s\"", a->port, a->plain_port, d);
	}
	log_info("app.started", "port=%d io_threads=%d workers=%d sync=%s", a->port, a->nloops, cfg->workers,
		 cfg->no_sync ? "none" : "full");
	return a;
fail:
	app_stop(&a);
	return NULL;
}

void app_run_until_signal(app *a)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	int sig = 0;
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
		/* SIGHUP: the certificate and key again (renewed files); open
		 * connections keep theirs */
		if (!a->tls)
			continue;
		char why[600], d[64];
		if (tls_ctx_reload(a->tls, why, sizeof why) == 0) {
			tls_ctx_describe(a->tls, d, sizeof d);
			log_info("app.tls_reloaded", "key=\"%s\"", d);
		} else {
			log_error("app.tls_reload_failed", "msg=\"the previous certificate stays in use\" err=\"%s\"", why);
		}
	}
	log_info("app.stopping", "signal=%d", sig);
}

void app_stop(app **a_p)
{
	app *a = *a_p;
	if (!a)
		return;
	atomic_store(&a->ready, false);
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	if (a->cfg.conv_idle_ms > 0 && a->loops && a->loops[0] && a->loops[0]->running)
		stop_sweep(a);   /* no more ticks into a runtime about to stop */
	if (a->http) {
		/* 1. no new connections or frames; idle HTTP closes */
		http_server_quiesce(a->http);
		/* 2. let requests already taken reach their commit and answer (bounded) */
		for (int i = 0; i < 500 && atomic_load(&a->inflight) > 0; i++)
			nanosleep(&tick, NULL);
	}
	/* 2b. the features' own threads (e.g. outbound deliveries) stop
	 * submitting writes */
	feature_stop(a);
	/* 3. commit what is queued (later submits fail fast), then drain the
	 * actors: their last answers are posted to the loops */
	if (a->wr)
		writer_shutdown(a->wr);
	if (a->jobs_rt)
		actor_rt_stop(&a->jobs_rt);
	if (a->rt)
		actor_rt_stop(&a->rt);
	/* 4. close 1001 behind those answers; wait (bounded) for the peers.
	 * Connections closing from here on do not message actors (rt.c checks
	 * a->ready). */
	if (a->http) {
		http_server_shutdown(a->http);
		for (int i = 0; i < 100 && http_server_connections(a->http) > 0; i++)
			nanosleep(&tick, NULL);
	}
	for (int i = 0; a->loops && i < a->nloops; i++)
		if (a->loops[i])
			ioloop_join(a->loops[i]);
	for (int i = 0; a->loops && i < a->nloops; i++)
		if (a->loops[i])
			ioloop_drain(a->loops[i]);
	http_server_free(&a->http);
	feature_uninstall(a);
	for (int i = 0; a->loops && i < a->nloops; i++)
		ioloop_destroy(&a->loops[i]);
	free(a->loops);
	free(a->sessions);
	registry_free(&a->convs);
	registry_free(&a->tenants);
	registry_free(&a->actors[AK_DEPT]);
	registry_free(&a->actors[AK_AGENT]);
	jobs_free(&a->jobs);
	ratelimit_free(&a->login_rl);
	ratelimit_free(&a->login_rl_ip);
	hours_zones_free(&a->zones);
	static_free(&a->site);
	writer_stop(&a->wr);
	lc_free(&a->lists);
	tm_free(&a->tokens);
	keyuse_free(&a->key_use);
	db_close(&a->db);
	egress_free(&a->egress);
	tls_ctx_free(&a->tls);
	auth_proxies_free(&a->proxies);
	memset(a->secret_key, 0, sizeof a->secret_key);
	log_info("app.stopped", "ok=1");
	free(a);
	*a_p = NULL;
}

static void print_route(const route_def *r, void *arg)
{
	printf("%s %s %s\n", r->method, r->path, perm_name(r->perm));
}

static void print_frame(const frame_def *f, void *arg)
{
	printf("FRAME %s %s%s%s\n", f->type, perm_name(f->perm), f->flags & FRAME_AGENTS ? " agents" : "",
	       f->flags & FRAME_VISITORS ? " visitors" : "");
}

int app_print_routes(const app_config *cfg)
{
	feature_each(app_features, print_route, print_frame, NULL);
	return 0;
}
