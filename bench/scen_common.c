/* scen_common — metadata, JSON helpers, server sampling and the open-loop
 * schedule shared by the scenario modes; see scen.h. */
#include "scen.h"

#include "core/clock.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------- metadata */

static int g_argc;
static char **g_argv;

void scen_set_argv(int argc, char **argv)
{
	g_argc = argc;
	g_argv = argv;
}

/* Shell-quotes s onto b when it holds anything but safe characters. */
static void quote_arg(struct bbuf *b, const char *s)
{
	bool safe = *s != '\0';
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_./=,:@+%", *p))
			safe = false;
	if (safe) {
		bbuf_append(b, s, strlen(s));
		return;
	}
	bbuf_append(b, "'", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			bbuf_append(b, "'\\''", 4);
		else
			bbuf_append(b, p, 1);
	}
	bbuf_append(b, "'", 1);
}

static json_t *machine_json(void)
{
	json_t *m = json_object();
	json_object_set_new(m, "nproc", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	struct utsname u;
	if (uname(&u) == 0) {
		json_object_set_new(m, "kernel", json_string(u.release));
		json_object_set_new(m, "arch", json_string(u.machine));
	}
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	for (int i = 0; f && i < 200 && fgets(line, sizeof(line), f); i++) {
		if (strncmp(line, "model name", 10) == 0) {
			char *v = strchr(line, ':');
			if (v) {
				v++;
				while (*v == ' ')
					v++;
				v[strcspn(v, "\n")] = '\0';
				json_object_set_new(m, "cpu", json_string(v));
			}
			break;
		}
	}
	if (f)
		fclose(f);
	f = fopen("/proc/meminfo", "r");
	if (f) {
		if (fgets(line, sizeof(line), f) && strncmp(line, "MemTotal:", 9) == 0)
			json_object_set_new(m, "mem_kb", json_integer(strtol(line + 9, NULL, 10)));
		fclose(f);
	}
	double la[3];
	if (getloadavg(la, 3) == 3)
		json_object_set_new(m, "loadavg_at_end", json_pack("[f,f,f]", la[0], la[1], la[2]));
	return m;
}

void scen_add_meta(json_t *root)
{
	struct bbuf cmd = { 0 };
	json_t *argv = json_array();
	for (int i = 0; i < g_argc; i++) {
		if (i)
			bbuf_append(&cmd, " ", 1);
		quote_arg(&cmd, g_argv[i]);
		json_array_append_new(argv, json_string(g_argv[i]));
	}
	json_object_set_new(root, "command", json_string(cmd.data ? cmd.data : ""));
	json_object_set_new(root, "argv", argv);
	bbuf_free(&cmd);
	json_object_set_new(root, "machine", machine_json());
	char iso[32];
	json_object_set_new(root, "date", json_string(clock_iso8601(clock_now_ms(), iso)));
	json_t *srv = scen_server_json();
	if (srv)
		json_object_set_new(root, "server", srv);
}

int scen_write_json(const char *path, json_t *root)
{
	if (!path)
		return 0;
	scen_add_meta(root);
	if (json_dump_file(root, path, JSON_INDENT(2)) != 0) {
		fprintf(stderr, "parley-bench: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

double scen_ms(int64_t ns)
{
	return (double)ns / 1e6;
}

void scen_sleep(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

struct hist *scen_hist_new(void)
{
	struct hist *h = malloc(sizeof(*h));
	if (!h) {
		fprintf(stderr, "parley-bench: out of memory\n");
		exit(1);
	}
	hist_reset(h);
	return h;
}

json_t *scen_hist_json(const struct hist *h)
{
	return json_pack("{s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "count", (json_int_t)h->count,
			 "p50_ms", scen_ms(hist_quantile(h, 0.5)), "p90_ms",
			 scen_ms(hist_quantile(h, 0.9)), "p99_ms", scen_ms(hist_quantile(h, 0.99)),
			 "p999_ms", scen_ms(hist_quantile(h, 0.999)), "max_ms", scen_ms(h->max),
			 "min_ms", scen_ms(h->count ? h->min : 0), "mean_ms", hist_mean(h) / 1e6);
}

void scen_hist_header(FILE *f)
{
	fprintf(f, "  %-14s %10s %10s %10s %10s %10s %10s %10s\n", "latency", "count", "p50_ms",
		"p90_ms", "p99_ms", "p99.9_ms", "max_ms", "mean_ms");
}

void scen_hist_row(FILE *f, const char *name, const struct hist *h)
{
	fprintf(f, "  %-14s %10llu %10.3f %10.3f %10.3f %10.3f %10.3f %10.3f\n", name,
		(unsigned long long)h->count, scen_ms(hist_quantile(h, 0.5)),
		scen_ms(hist_quantile(h, 0.9)), scen_ms(hist_quantile(h, 0.99)),
		scen_ms(hist_quantile(h, 0.999)), scen_ms(h->max), hist_mean(h) / 1e6);
}

/* ------------------------------------------------------- server metrics */

#define MAX_TASKS 512
#define MAX_GROUPS 16

struct task_cpu {
	int tid;
	char name[20];
	uint64_t ticks;
	uint64_t sticks;	/* of which in the kernel */
};

struct metrics_snap {
	bool ok;
	double commits, requests, commit_s, apply_s, run_queue, storage_queue, http_conns,
		stored;
};

static struct {
	bool active, have_results;
	long pid;
	struct sockaddr_storage addr;
	socklen_t alen;
	char host_hdr[300];
	pthread_t th;
	atomic_bool stop;
	int64_t t_start, t_end;
	struct task_cpu start[MAX_TASKS];
	int nstart;
	struct metrics_snap m0, m1;
	/* sampled gauges */
	long rss0_kb, rss1_kb, rss_max_kb;
	double rq_max, rq_sum, sq_max, sq_sum;
	int gauge_samples;
	/* results */
	char gname[MAX_GROUPS][20];
	double gcpu[MAX_GROUPS];
	int gthreads[MAX_GROUPS];
	int ngroups;
	double cpu_total;
	double cpu_sys;		/* server CPU in the kernel */
	struct rusage gen0, gen1;	/* the generator's own CPU over the window */
	struct rusage kid0, kid1;	/* and its reaped child processes' (idle --procs) */
} S;

static long rss_kb(long pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long kb = -1;
	for (int i = 0; i < 200 && fgets(line, sizeof(line), f); i++)
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* Reads utime+stime and the name of every thread of pid. */
static int read_tasks(long pid, struct task_cpu *out, int max)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	for (int guard = 0; guard < 100000 && n < max && (de = readdir(d)); guard++) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char sp[160], buf[1024];
		snprintf(sp, sizeof(sp), "/proc/%ld/task/%.20s/stat", pid, de->d_name);
		FILE *f = fopen(sp, "r");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
		if (!lp || !rp || rp < lp)
			continue;
		struct task_cpu *t = &out[n];
		t->tid = atoi(de->d_name);
		size_t nl = (size_t)(rp - lp - 1);
		if (nl >= sizeof(t->name))
			nl = sizeof(t->name) - 1;
		memcpy(t->name, lp + 1, nl);
		t->name[nl] = '\0';
		/* after ") ": state(3) ppid pgrp session tty tpgid flags minflt
		 * cminflt majflt cmajflt utime(14) stime(15) */
		char *p = rp + 2;
		unsigned long long ut = 0, st = 0;
		if (sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
			continue;
		t->ticks = ut + st;
		t->sticks = st;
		n++;
	}
	closedir(d);
	return n;
}

/* "io-0" -> "io", "worker" -> "worker": the thread kind. */
static void kind_of(const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	while (n > 0 && (isdigit((unsigned char)name[n - 1]) || name[n - 1] == '-' ||
			 name[n - 1] == '_'))
		n--;
	if (n == 0)
		n = strlen(name);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, name, n);
	out[n] = '\0';
}

static double metric_value(const char *text, const char *name)
{
	size_t nl = strlen(name);
	const char *p = text;
	for (int guard = 0; guard < 100000 && p && *p; guard++) {
		if (strncmp(p, name, nl) == 0 && (p[nl] == ' ' || p[nl] == '{'))
			return strtod(strchr(p + nl, ' ') ? strchr(p + nl, ' ') + 1 : p + nl, NULL);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NAN;
}

static char *fetch_metrics(const struct sockaddr_storage *addr, socklen_t alen, const char *host_hdr)
{
	struct http_client hc;
	struct http_response r;
	char err[128];
	http_client_init(&hc, addr, alen, host_hdr, 2000);
	int rc = http_request(&hc, "GET", "/metrics", NULL, NULL, &r, err, sizeof(err));
	http_client_close(&hc);
	if (rc < 0)
		return NULL;
	if (r.status != 200) {
		free(r.body);
		return NULL;
	}
	return r.body;
}

double scen_metric_now(const struct sockaddr_storage *addr, socklen_t alen, const char *host_hdr,
		       const char *name)
{
	char *t = fetch_metrics(addr, alen, host_hdr);
	double v = t ? metric_value(t, name) : NAN;
	free(t);
	return v;
}

static void snap_metrics(struct metrics_snap *m)
{
	char *t = fetch_metrics(&S.addr, S.alen, S.host_hdr);
	memset(m, 0, sizeof(*m));
	if (!t)
		return;
	m->commits = metric_value(t, "parley_storage_commits_total");
	m->requests = metric_value(t, "parley_storage_requests_total");
	m->commit_s = metric_value(t, "parley_storage_commit_seconds_total");
	m->apply_s = metric_value(t, "parley_storage_apply_seconds_total");
	m->run_queue = metric_value(t, "parley_actor_run_queue");
	m->storage_queue = metric_value(t, "parley_storage_queue");
	m->http_conns = metric_value(t, "parley_http_connections");
	m->stored = metric_value(t, "parley_messages_stored_total");
	m->ok = !isnan(m->commits);
	free(t);
}

static void *sampler_main(void *arg)
{
	(void)arg;
	/* gauges 4 times a second; bounded by the stop flag (set by the run) */
	for (int i = 0; i < 10000000 && !atomic_load(&S.stop); i++) {
		for (int j = 0; j < 25 && !atomic_load(&S.stop); j++)
			scen_sleep(0.01);
		if (atomic_load(&S.stop))
			break;
		long kb = rss_kb(S.pid);
		if (kb > S.rss_max_kb)
			S.rss_max_kb = kb;
		if (S.m0.ok) {
			struct metrics_snap m;
			snap_metrics(&m);
			if (m.ok) {
				S.gauge_samples++;
				S.rq_sum += m.run_queue;
				S.sq_sum += m.storage_queue;
				if (m.run_queue > S.rq_max)
					S.rq_max = m.run_queue;
				if (m.storage_queue > S.sq_max)
					S.sq_max = m.storage_queue;
			}
		}
	}
	return NULL;
}

void scen_server_start(long pid, const struct sockaddr_storage *addr, socklen_t alen,
		       const char *host_hdr)
{
	if (!pid || S.active)
		return;
	memset(&S, 0, sizeof(S));
	S.pid = pid;
	S.addr = *addr;
	S.alen = alen;
	snprintf(S.host_hdr, sizeof(S.host_hdr), "%s", host_hdr);
	atomic_init(&S.stop, false);
	S.nstart = read_tasks(pid, S.start, MAX_TASKS);
	if (S.nstart < 0) {
		fprintf(stderr, "parley-bench: cannot read /proc/%ld/task (server stats off)\n", pid);
		return;
	}
	S.rss0_kb = S.rss_max_kb = rss_kb(pid);
	snap_metrics(&S.m0);
	getrusage(RUSAGE_SELF, &S.gen0);
	getrusage(RUSAGE_CHILDREN, &S.kid0);
	S.t_start = clock_mono_ns();
	if (pthread_create(&S.th, NULL, sampler_main, NULL) != 0)
		return;
	S.active = true;
}

void scen_server_stop(void)
{
	if (!S.active)
		return;
	atomic_store(&S.stop, true);
	pthread_join(S.th, NULL);
	S.active = false;
	S.t_end = clock_mono_ns();
	struct task_cpu *end = calloc(MAX_TASKS, sizeof(*end));
	int nend = end ? read_tasks(S.pid, end, MAX_TASKS) : -1;
	getrusage(RUSAGE_SELF, &S.gen1);
	getrusage(RUSAGE_CHILDREN, &S.kid1);
	S.rss1_kb = rss_kb(S.pid);
	if (S.rss1_kb > S.rss_max_kb)
		S.rss_max_kb = S.rss1_kb;
	snap_metrics(&S.m1);
	double hz = (double)sysconf(_SC_CLK_TCK);
	S.ngroups = 0;
	S.cpu_total = S.cpu_sys = 0;
	for (int i = 0; i < nend; i++) {
		uint64_t before = 0, sbefore = 0;
		for (int j = 0; j < S.nstart; j++)
			if (S.start[j].tid == end[i].tid) {
				before = S.start[j].ticks;
				sbefore = S.start[j].sticks;
			}
		double cpu = (double)(end[i].ticks - (end[i].ticks >= before ? before : end[i].ticks)) / hz;
		S.cpu_sys += (double)(end[i].sticks - (end[i].sticks >= sbefore ? sbefore : end[i].sticks)) / hz;
		char kind[20];
		kind_of(end[i].name, kind, sizeof(kind));
		int g = 0;
		while (g < S.ngroups && strcmp(S.gname[g], kind) != 0)
			g++;
		if (g == S.ngroups) {
			if (S.ngroups == MAX_GROUPS)
				g = MAX_GROUPS - 1;	/* lump the rest into the last */
			else
				snprintf(S.gname[S.ngroups++], sizeof(S.gname[0]), "%s", kind);
		}
		S.gcpu[g] += cpu;
		S.gthreads[g]++;
		S.cpu_total += cpu;
	}
	free(end);
	S.have_results = nend >= 0;
}

static double tv_s(struct timeval a, struct timeval b)
{
	return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_usec - a.tv_usec) / 1e6;
}

/* the generator's CPU over the window (its child processes included, which
 * are reaped before the window closes): all of it, or only in the kernel */
static double gen_cpu(bool sys_only)
{
	double sys = tv_s(S.gen0.ru_stime, S.gen1.ru_stime) + tv_s(S.kid0.ru_stime, S.kid1.ru_stime);
	double usr = tv_s(S.gen0.ru_utime, S.gen1.ru_utime) + tv_s(S.kid0.ru_utime, S.kid1.ru_utime);
	return sys_only ? sys : sys + usr;
}

void scen_server_print(FILE *f)
{
	if (!S.have_results)
		return;
	double wall = (double)(S.t_end - S.t_start) / 1e9;
	fprintf(f, "  server: wall %.1fs cpu %.2fs (%.0f%% of one core)", wall, S.cpu_total,
		wall > 0 ? 100 * S.cpu_total / wall : 0);
	for (int g = 0; g < S.ngroups; g++)
		fprintf(f, " %s=%.2fs", S.gname[g], S.gcpu[g]);
	fprintf(f, " (kernel %.2fs) generator_cpu=%.2fs (kernel %.2fs)", S.cpu_sys, gen_cpu(false), gen_cpu(true));
	fprintf(f, " rss_kb=%ld->%ld (max %ld)", S.rss0_kb, S.rss1_kb, S.rss_max_kb);
	if (S.m0.ok && S.m1.ok) {
		double dc = S.m1.commits - S.m0.commits, dr = S.m1.requests - S.m0.requests;
		double ds = S.m1.commit_s - S.m0.commit_s;
		fprintf(f, " commits=%.0f requests=%.0f batch=%.1f commit_ms=%.3f run_queue_max=%.0f "
			   "storage_queue_max=%.0f",
			dc, dr, dc > 0 ? dr / dc : 0, dc > 0 ? 1000 * ds / dc : 0, S.rq_max, S.sq_max);
	}
	fprintf(f, "\n");
}

json_t *scen_server_json(void)
{
	if (!S.have_results)
		return NULL;
	double wall = (double)(S.t_end - S.t_start) / 1e9;
	json_t *o = json_object();
	json_object_set_new(o, "pid", json_integer(S.pid));
	json_object_set_new(o, "wall_s", json_real(wall));
	json_object_set_new(o, "cpu_s", json_real(S.cpu_total));
	json_object_set_new(o, "cpu_kernel_s", json_real(S.cpu_sys));
	/* the load generator itself over the same window (getrusage) */
	json_object_set_new(o, "generator", json_pack("{s:f, s:f}", "cpu_s", gen_cpu(false), "cpu_kernel_s",
						      gen_cpu(true)));
	json_t *th = json_object();
	for (int g = 0; g < S.ngroups; g++)
		json_object_set_new(th, S.gname[g],
				    json_pack("{s:f, s:i, s:f}", "cpu_s", S.gcpu[g], "threads",
					      S.gthreads[g], "cpu_pct_of_core",
					      wall > 0 ? 100 * S.gcpu[g] / wall : 0.0));
	json_object_set_new(o, "threads", th);
	json_object_set_new(o, "rss_kb", json_pack("{s:I, s:I, s:I}", "start", (json_int_t)S.rss0_kb,
						   "end", (json_int_t)S.rss1_kb, "max",
						   (json_int_t)S.rss_max_kb));
	if (S.m0.ok && S.m1.ok) {
		double dc = S.m1.commits - S.m0.commits, dr = S.m1.requests - S.m0.requests;
		double ds = S.m1.commit_s - S.m0.commit_s, da = S.m1.apply_s - S.m0.apply_s;
		json_t *m = json_object();
		json_object_set_new(m, "storage_commits", json_real(dc));
		json_object_set_new(m, "storage_requests", json_real(dr));
		json_object_set_new(m, "mean_commit_batch", json_real(dc > 0 ? dr / dc : 0));
		json_object_set_new(m, "mean_commit_ms", json_real(dc > 0 ? 1000 * ds / dc : 0));
		json_object_set_new(m, "commit_s", json_real(ds));
		json_object_set_new(m, "apply_s", json_real(da));
		json_object_set_new(m, "messages_stored", json_real(S.m1.stored - S.m0.stored));
		json_object_set_new(m, "actor_run_queue_max", json_real(S.rq_max));
		json_object_set_new(m, "actor_run_queue_mean",
				    json_real(S.gauge_samples ? S.rq_sum / S.gauge_samples : 0));
		json_object_set_new(m, "storage_queue_max", json_real(S.sq_max));
		json_object_set_new(m, "storage_queue_mean",
				    json_real(S.gauge_samples ? S.sq_sum / S.gauge_samples : 0));
		json_object_set_new(m, "gauge_samples", json_integer(S.gauge_samples));
		json_object_set_new(o, "metrics", m);
	}
	return o;
}

/* ------------------------------------------------------------- schedule */

void scen_timerfd_arm(int fd, int64_t at_ns)
{
	if (at_ns < 1)
		at_ns = 1;
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(at_ns / 1000000000),
						.tv_nsec = (long)(at_ns % 1000000000) } };
	if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		fprintf(stderr, "parley-bench: timerfd_settime: %s\n", strerror(errno));
		abort();
	}
}

static void sched_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct scen_sched *s = w->data;
	uint64_t exp;
	if (read(s->fd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		return;
	s->fire(s, clock_mono_ns());
	scen_sched_rearm(s, loop);
}

int scen_sched_init(struct scen_sched *s, struct ev_loop *loop, double rate, uint64_t total,
		    int64_t t0, void (*fire)(struct scen_sched *, int64_t), void *user)
{
	memset(s, 0, sizeof(*s));
	s->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->fd < 0)
		return -1;
	s->rate = rate;
	s->total = total;
	s->t0 = t0;
	s->fire = fire;
	s->user = user;
	ev_io_init(&s->io, sched_io_cb, s->fd, EV_READ);
	ev_set_priority(&s->io, EV_MAXPRI);
	s->io.data = s;
	ev_io_start(loop, &s->io);
	scen_timerfd_arm(s->fd, t0);
	return 0;
}

void scen_sched_rearm(struct scen_sched *s, struct ev_loop *loop)
{
	if (s->next >= s->total) {
		ev_io_stop(loop, &s->io);
		return;
	}
	if (s->blocked) {	/* nothing can be issued now: the owner re-fires */
		struct itimerspec off = { 0 };
		timerfd_settime(s->fd, TFD_TIMER_ABSTIME, &off, NULL);
		return;
	}
	scen_timerfd_arm(s->fd, scen_intended(s, s->next));
}

void scen_sched_close(struct scen_sched *s, struct ev_loop *loop)
{
	if (s->fd < 0)
		return;
	ev_io_stop(loop, &s->io);
	close(s->fd);
	s->fd = -1;
}
