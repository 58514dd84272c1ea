/* scen — the scenario modes of parley-bench beyond chat/idle, and what they
 * share: run metadata (command line, machine, date), server-side sampling
 * (--server-pid), a non-blocking keep-alive HTTP/1.1 client and an
 * open-loop schedule on a timerfd.
 *
 * Modes (one libev loop in the main thread each; see bench/README.md):
 *   storm   connect storm: N visitor WebSockets (upgrade + auth), bounded
 *           concurrency; handshakes/s and connect latency percentiles.
 *   fanout  inbox fan-out: A agents on subscribe_inbox while V visitors
 *           create conversations and post messages over REST at an offered
 *           rate; latency of every inbox frame at every agent from the
 *           operation's intended time.
 *   resume  resume storm: N visitors subscribed to their conversation are
 *           dropped at once, agents add M messages to each conversation,
 *           all visitors reconnect and resume with after_seq; missing and
 *           duplicate counts, resume time percentiles.
 *   rest    REST reads at an offered rate over keep-alive connections (or
 *           any --url-path without auth, e.g. a static file on nginx).
 *
 * Everything is bounded: every connection and request has a time-out,
 * every phase a deadline, every queue a fixed capacity. */
#ifndef PARLEY_BENCH_SCEN_H
#define PARLEY_BENCH_SCEN_H

#include "bench_hist.h"
#include "bench_net.h"

#include <ev.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SCEN_MAX_SOURCES 64

struct scen_opts {
	const char *mode;
	const char *host;
	int port;
	struct sockaddr_storage dst;
	socklen_t dlen;
	struct sockaddr_storage sdst;		/* setup and /metrics (--setup-port) */
	socklen_t sdlen;
	const char *shost_hdr;
	const struct sockaddr_storage *src;	/* --source-addrs, nsrc entries */
	int nsrc;
	const char *host_hdr;
	const char *visitor_path;		/* /v1/widget/ws?key=… */
	const char *widget_key;
	const char *email, *password, *tenant;
	int visitors, agents, connections, concurrency, setup_threads;
	int http_conns;		/* rest: keep-alive connections */
	int messages;		/* resume: missed per visitor; rest: seeded per
				   conversation; fanout: per conversation after the create */
	int msg_size;
	double rate, duration, drain, connect_timeout;
	long server_pid;
	const char *url_path;	/* rest: fetch this path without auth */
	int rest_reads;		/* rest: REST_BOTH, REST_LIST or REST_MESSAGES */
	const char *json_path;
	bool quiet;
};

enum { REST_BOTH, REST_LIST, REST_MESSAGES };

/* ---- entry points (scen_*.c); each returns the process exit status ---- */
int scen_storm(const struct scen_opts *o);
int scen_fanout(const struct scen_opts *o);
int scen_resume(const struct scen_opts *o);
int scen_rest(const struct scen_opts *o);

/* ---- run metadata and JSON (scen_common.c) ---- */

/* Remembers the command line for the results (call first in main). */
void scen_set_argv(int argc, char **argv);
/* Adds "command", "argv", "machine" {nproc, kernel, cpu, mem_kb}, "date"
 * and, when the sampler ran, "server" to root. */
void scen_add_meta(json_t *root);
/* Writes root (with metadata) to path; NULL path: nothing. 0 / -1. */
int scen_write_json(const char *path, json_t *root);
/* {"count","p50_ms","p90_ms","p99_ms","p999_ms","max_ms","min_ms","mean_ms"} */
json_t *scen_hist_json(const struct hist *h);
/* One table row "  name count p50 p90 p99 p99.9 max mean" (ms). */
void scen_hist_row(FILE *f, const char *name, const struct hist *h);
void scen_hist_header(FILE *f);
double scen_ms(int64_t ns);
void scen_sleep(double s);
struct hist *scen_hist_new(void);

/* ---- server-side sampling (--server-pid) ---- */

/* Starts a sampler thread: thread CPU by name from /proc/PID/task/ * /stat,
 * VmRSS, and GET /metrics on the server (storage and actor figures).
 * pid 0: does nothing. Call scen_server_stop() before reading results. */
void scen_server_start(long pid, const struct sockaddr_storage *addr, socklen_t alen,
		       const char *host_hdr);
void scen_server_stop(void);
/* One summary line ("  server: …"), nothing when the sampler did not run. */
void scen_server_print(FILE *f);
/* NULL when the sampler did not run. New reference. */
json_t *scen_server_json(void);
/* A gauge/counter from GET /metrics now (blocking, 2 s time-out); NAN on
 * failure. */
double scen_metric_now(const struct sockaddr_storage *addr, socklen_t alen, const char *host_hdr,
		       const char *name);

/* ---- open-loop schedule: a timerfd with an absolute deadline ---- */

struct scen_sched {
	ev_io io;
	int fd;
	int64_t t0;
	double rate;
	uint64_t total;
	uint64_t next;	/* next send index to issue */
	bool blocked;	/* set by fire(): due sends wait for a free client */
	void (*fire)(struct scen_sched *s, int64_t now);	/* issue what is due */
	void *user;
};

/* Arms timerfd fd for absolute monotonic time at_ns (the past fires at
 * once). A timerfd rather than an ev_timer because libev's epoll back end
 * rounds time-outs up to whole milliseconds, which would add up to 1 ms of
 * generator lateness to every measured latency. */
void scen_timerfd_arm(int fd, int64_t at_ns);

int scen_sched_init(struct scen_sched *s, struct ev_loop *loop, double rate, uint64_t total,
		    int64_t t0, void (*fire)(struct scen_sched *, int64_t), void *user);
static inline int64_t scen_intended(const struct scen_sched *s, uint64_t k)
{
	return s->t0 + (int64_t)((double)k * 1e9 / s->rate);
}
/* Re-arms for the next due send (or stops when all are issued). */
void scen_sched_rearm(struct scen_sched *s, struct ev_loop *loop);
void scen_sched_close(struct scen_sched *s, struct ev_loop *loop);

/* ---- non-blocking keep-alive HTTP/1.1 client (scen_http.c) ---- */

enum hcl_state { HCL_DOWN, HCL_CONNECTING, HCL_IDLE, HCL_BUSY };

struct hcl;
typedef void (*hcl_done_fn)(struct hcl *c, int status, const char *body, size_t len,
			    const char *err);

struct hcl {
	struct ev_loop *loop;
	ev_io io;
	ev_timer timer;
	int fd;
	enum hcl_state state;
	int io_events;
	const struct sockaddr *dst;
	socklen_t dlen;
	const struct sockaddr *src;
	const char *host_hdr;
	double timeout_s;
	struct bbuf w;
	size_t woff;
	struct bbuf r;
	hcl_done_fn done;
	void *user;
	uint64_t tag;		/* caller's request index */
	int64_t t_sent;		/* when the request was written (mono ns) */
	uint64_t connects;	/* TCP connections opened */
};

void hcl_init(struct hcl *c, struct ev_loop *loop, const struct sockaddr *dst, socklen_t dlen,
	      const struct sockaddr *src, const char *host_hdr, double timeout_s, hcl_done_fn done,
	      void *user);
/* Starts one request (connecting first when needed). The callback runs
 * exactly once: status > 0 with the body, or status 0 and err. -1 when the
 * client is busy. bearer / body may be NULL. */
int hcl_request(struct hcl *c, const char *method, const char *path, const char *bearer,
		const char *body);
void hcl_close(struct hcl *c);

#endif
