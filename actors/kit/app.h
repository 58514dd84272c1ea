/* app — the running server's parts every feature uses: configuration,
 * storage, the actor runtimes, the I/O loops and the registries.
 * Start-up, the option table and the first-run seed are actors/app/.
 *
 * (The lifetime, from actors/app/server.h:)
 *
 * Start order: storage (db, writer) → actor runtime → I/O loops → HTTP
 * server (routes, listen). Stop order (SIGINT/SIGTERM): stop accepting and
 * close WebSockets with 1001 → wait (bounded) for in-flight requests to be
 * answered → stop the actor runtime (drains mailboxes) → stop the writer
 * (commits what is queued) → join the loops → close the db.
 */
#ifndef PARLEY_APP_H
#define PARLEY_APP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "core/actor.h"
#include "actors/kit/address.h"
#include "actors/kit/emit.h"
#include "core/id.h"
#include "core/ioloop.h"
#include "net/egress.h"
#include "net/http.h"
#include "net/static.h"
#include "storage/store.h"

typedef struct db db;
#include "storage/writer.h"

typedef struct registry registry;
typedef struct ratelimit ratelimit;
typedef struct jobs jobs;
typedef struct lcache lcache;
typedef struct tokmemo tokmemo;
typedef struct keyuse keyuse;
struct outbox;
struct outbox_sender;
typedef struct files_rt files_rt;
struct feature;
struct route_entry;

typedef struct {
	char data_dir[1024];       /* --data [./data] */
	char host[256];            /* --host [0.0.0.0] */
	int port;                  /* --port [8080]; 0 = any */
	char web_dir[1024];        /* --web [./web] */
	int io_threads;            /* --io-threads [cores] */
	int workers;               /* --workers [cores/2] */
	int job_threads;           /* --job-threads [1] */
	bool no_sync;              /* --sync=none: relaxed durability (benchmarks) */
	bool search_index_off;     /* --search-index=off: messages not indexed (the benchmark's A/B only) */
	char demo_password[256];   /* --demo-password: demo admin password */
	bool no_demo;              /* --no-demo: do not create the demo tenant */
	char allowed_origins[1024];/* --allowed-origins for the agent WebSocket */
	char outbound_allow[1024]; /* --outbound-allow: CIDRs webhooks and mail may reach though private [none] */
	char secret_key_file[1024];/* --secret-key-file: the key sealing stored secrets [<data dir>/../parley-secret.key] */
	char tls_cert[1024];       /* --tls-cert: PEM chain, the server's certificate first (HTTPS/WSS on --port) */
	char tls_key[1024];        /* --tls-key: its PEM private key (RSA or EC) */
	int plain_port;            /* --plain-port: a plain HTTP listener beside the TLS one [none] */
	char public_url[512];      /* --public-url: where people reach this server, for links in emails [http://127.0.0.1:<port>] */
	int64_t smtp_timeout_ms;   /* --smtp-timeout-ms: one SMTP delivery, connect to last reply [30000] */
	int64_t access_ttl_s;      /* access token lifetime [900] */
	int64_t refresh_ttl_s;     /* refresh token lifetime [30 days] */
	int64_t invite_ttl_s;      /* set-password link lifetime [72 h] */
	int64_t visitor_ttl_s;     /* visitor token lifetime [180 days] */
	int login_max_failures;    /* per email (and 4× per IP) per window [5] */
	int login_window_s;        /* [300] */
	int conv_mailbox;          /* conversation mailbox bound [1024] */
	int64_t conv_idle_ms;      /* idle conversation actors retire after this [60000]; 0 = never */
	int dedupe_window;         /* client_ids remembered per conversation [10000] */
	int malloc_arenas;         /* glibc malloc arenas [2]; 0 = glibc's default (8 per core) */
	int webhook_concurrency;   /* deliveries in flight per webhook endpoint [4] */
	int64_t webhook_connect_timeout_ms; /* [10000] */
	int64_t webhook_timeout_ms;/* a whole delivery [10000] */
	int64_t outbox_horizon_s;  /* failed deliveries are retried this long, then parked [86400] */
	int64_t outbox_quota;      /* entries per tenant [100000]; 0 = no limit */
	int64_t webhook_log_max;   /* delivery log rows kept per tenant [10000] */
	unsigned argon2_m_kib;     /* [19456] */
	unsigned argon2_t;         /* [2] */
	size_t upload_max;         /* --upload-max: bytes of one uploaded file [5 MiB] */
	size_t tenant_quota;       /* --tenant-storage-quota: blob bytes per tenant [1 GiB]; 0 = none */
	int upload_rate;           /* --upload-rate: uploads per visitor per minute [10]; 0 = no limit */
	unsigned max_canned;       /* --max-canned: canned responses per tenant [1000]; 0 = no limit */
	unsigned max_tags;         /* --max-tags: tags per tenant [500]; 0 = no limit */
	unsigned max_attr_defs;    /* --max-attribute-defs: attribute definitions per tenant [100]; 0 = no limit */
	char trusted_proxies[1024];/* --trusted-proxies: IPs/CIDRs whose X-Forwarded-For is believed [none] */
	int64_t audit_retention_days; /* --audit-retention-days: audit rows kept [365] */
	int64_t alert_check_ms;        /* --alert-check-ms: the alert checks' period [10000] */
	int64_t clock_offset_ms;   /* --clock-offset-ms: the clock's shift, for tests [0] */
	bool print_routes;         /* --print-routes: list routes and exit */
	bool no_rollups;               /* --no-rollups: the analytics sink keeps nothing (benchmark A/B) */
	int default_capacity;      /* --default-capacity: an agent's concurrent chats when not set [3] */
	int64_t offline_email_window_ms; /* --offline-email-window-ms: offline conversations per email, per department [300000] */
	bool test_clock;           /* --test-clock: PUT /v1/ops/clock may move the clock (tests only) */
	http_opts http;            /* limits and time-outs */
} app_config;

typedef struct app {
	app_config cfg;
	db *db;
	writer *wr;
	actor_rt *rt;              /* conversations, inboxes */
	actor_rt *jobs_rt;         /* password hashing */
	ioloop **loops;
	int nloops;
	struct rt_session **sessions;  /* per I/O loop: its agent sessions (kit/session.h; loop thread only) */
	http_server *http;
	const struct feature *const *features;  /* the command tables (kit/feature.h) */
	struct route_entry *route_entries;       /* route data of the table routes */
	emit_sink sinks[EMIT_MAX_SINKS];         /* kit/emit.h: registered at start-up, read by the writer */
	int nsinks;
	bool features_started;
	static_site *site;
	egress *egress;            /* where webhooks and mail may connect (--outbound-allow; net/egress.h) */
	struct auth_proxies *proxies; /* --trusted-proxies (kit/auth.h auth_peer_addr) */
	ev_timer audit_prune;      /* the audit log's daily retention prune (on loop 0, actors/audit) */
	atomic_bool audit_pruning; /* a daily audit prune run is under way */
	struct daily_prune *track_prune;  /* visitor tracking's retention prune (kit/daily.h, actors/tracking) */
	struct daily_prune *token_prune;  /* expired session and invite tokens' prune (kit/daily.h, actors/auth) */
	ratelimit *pageview_rl;    /* page views a visitor may report a minute (actors/tracking) */
	ev_timer alert_check;      /* the periodic alert checks (on loop 0, actors/analytics) */
	atomic_bool alert_checking;/* a check is under way, from its read to its write's done */
	struct alert_staged *alerts_staged; /* alerts raised in the writer's open batch, sent after its
					     * commit (writer thread only; actors/analytics) */
	registry *actors[AK__COUNT]; /* each actor kind's registry (kit/address.h) */
	registry *convs;           /* = actors[AK_CONV]: conversation actors by (tenant, id) */
	registry *tenants;         /* = actors[AK_INBOX]: tenant (inbox) actors by tenant id */
	struct due_timer *due;     /* the due timer (conversations/due.h) */
	ratelimit *login_rl;        /* failed logins per email */
	ratelimit *login_rl_ip;     /* failed logins per IP (4x the budget) */
	jobs *jobs;                /* CPU-heavy work (password hashing) */
	lcache *lists;             /* rendered conversation lists (actors/conversations/lcache.h) */
	struct hours_zones *zones; /* the time zones loaded so far (core/hours.h; business hours, alerts) */
	tokmemo *tokens;           /* verified bearer tokens per I/O thread (actors/kit/tokmemo.h) */
	keyuse *key_use;           /* API keys with a last-use write in flight (actors/kit/apikey.h) */
	struct outbox *outbox;     /* webhooks and their deliveries (actors/outbox/, set by its start) */
	const struct outbox_sender *outbox_senders[4]; /* who sends entries of the other kinds (actors/outbox/outbox.h) */
	files_rt *files;           /* uploads: the file thread, blob directory, rates (actors/files) */
	id_gen ids;
	uint8_t jwt_key[32];
	uint8_t secret_key[32];    /* seals stored secrets (core/secretbox.h; --secret-key-file) */
	struct email *email;       /* the email feature's senders (actors/email) */
	void *desk;                /* the desk's timer thread and board (actors/desk) */
	int port;                  /* bound port */
	int plain_port;            /* bound --plain-port (0: none) */
	struct tls_ctx *tls;       /* --tls-cert/--tls-key (net/tls.h), NULL: plain */
	ev_timer sweep;            /* idle sweep of conversation actors (on loop 0) */
	ev_timer trim;             /* gives freed heap memory back (on loop 0, app.c) */
	int64_t trim_ref;          /* resident minus allocated bytes after the last trim (loop 0) */
	atomic_uint_fast64_t trims, trim_ns;  /* malloc_trim calls and their time */
	atomic_int inflight;       /* requests handed to actors, not yet answered */
	atomic_bool ready;
	int64_t started_ms;
	atomic_uint_fast64_t msgs_stored, msgs_duplicate, logins_failed, logins_rate_limited;
	atomic_uint_fast64_t convs_retired;
	atomic_bool sweep_stopped;
} app;

#endif
