/* files — the file thread, blobs and the sweep (see files.h). */
#include "actors/files/files.h"
#include "actors/kit/auth.h"
#include "actors/kit/view.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/id.h"
#include "core/log.h"
#include "core/sniff.h"
#include "storage/file_store.h"
#include "storage/writer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum job_type { J_OPEN, J_WRITE, J_FINISH, J_ABORT, J_SERVE };

typedef struct job {
	struct job *next;
	uint8_t type;
	upload *u;
	char *data;               /* J_WRITE */
	size_t n;
	reply_to reply;           /* J_FINISH, J_SERVE */
	rec_file file;            /* J_SERVE */
} job;

struct files_rt {
	app *a;
	char root[PATH_MAX - 200];   /* <data>/blobs */
	pthread_t th;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	job *head, *tail;
	bool stop;
	bool stopped;                /* the thread has gone: jobs run where they are queued */
	ratelimit *rate;             /* uploads per visitor per minute */
	atomic_uint_fast64_t stored, refused, bytes_written, swept, paused;
};

struct upload {
	files_rt *fr;
	atomic_int refs;
	atomic_long pending;         /* bytes queued, not yet written */
	bool finish_queued;          /* the caller's side only */
	conn_ref ref;
	uint64_t tid, cid;
	uint8_t uploader_type;
	uint64_t uploader_id;
	char name[REC_FILE_NAME_MAX + 1];
	char url_base[96];
	/* the file thread's */
	int fd;
	bool failed;
	char tmp[PATH_MAX];
	crypto_sha256_ctx *sha;
	sniff_state sniff;
};

/* ---------- the queue ---------- */

static void run_job(files_rt *fr, job *j);

static void push(files_rt *fr, job *j)
{
	pthread_mutex_lock(&fr->mu);
	if (fr->stopped) {
		/* stopping: what a connection still sends (an abort, mostly) is
		 * done at once on its own thread */
		pthread_mutex_unlock(&fr->mu);
		run_job(fr, j);
		return;
	}
	if (fr->tail)
		fr->tail->next = j;
	else
		fr->head = j;
	fr->tail = j;
	pthread_cond_signal(&fr->cv);
	pthread_mutex_unlock(&fr->mu);
}

static void upload_unref(upload *u)
{
	if (atomic_fetch_sub(&u->refs, 1) != 1)
		return;
	if (u->fd >= 0)
		close(u->fd);
	if (u->sha) {
		uint8_t d[32];
		crypto_sha256_final(u->sha, d);
	}
	free(u);
}

/* ---------- paths ---------- */

static void tid_dir(files_rt *fr, uint64_t tid, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%016llx", fr->root, (unsigned long long)tid);
}

static void blob_path(files_rt *fr, uint64_t tid, const uint8_t sha[32], char *out, size_t cap)
{
	char hex[65];
	crypto_hex(sha, 32, hex);
	snprintf(out, cap, "%s/%016llx/%s", fr->root, (unsigned long long)tid, hex);
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* ---------- an upload, on the file thread ---------- */

static void do_open(upload *u)
{
	files_rt *fr = u->fr;
	uint8_t rnd[12];
	char hex[25];
	if (crypto_random(rnd, sizeof rnd) < 0) {
		u->failed = true;
		return;
	}
	crypto_hex(rnd, sizeof rnd, hex);
	snprintf(u->tmp, sizeof u->tmp, "%s/tmp/%s.part", fr->root, hex);
	u->fd = open(u->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	u->sha = crypto_sha256_new();
	sniff_init(&u->sniff);
	if (u->fd < 0 || !u->sha) {
		log_error("files.open", "path=%s err=\"%s\"", u->tmp, strerror(errno));
		u->failed = true;
	}
}

static void do_write(upload *u, const char *p, size_t n)
{
	files_rt *fr = u->fr;
	if (!u->failed && u->fd >= 0) {
		crypto_sha256_update(u->sha, p, n);
		sniff_feed(&u->sniff, p, n);
		for (size_t off = 0; off < n;) {
			ssize_t w = write(u->fd, p + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				log_error("files.write", "path=%s err=\"%s\"", u->tmp, strerror(errno));
				u->failed = true;
				break;
			}
			off += (size_t)w;
		}
		atomic_fetch_add(&fr->bytes_written, n);
	}
	/* the connection paused above the mark: it reads on once we are below */
	long before = atomic_fetch_sub(&u->pending, (long)n);
	if (before > UPLOAD_HIGH && before - (long)n <= UPLOAD_HIGH)
		http_post_resume(fr->a->http, u->ref);
}

static void drop_tmp(upload *u)
{
	if (u->fd >= 0) {
		close(u->fd);
		u->fd = -1;
	}
	if (u->tmp[0]) {
		unlink(u->tmp);
		u->tmp[0] = 0;
	}
}

static int read_at(void *ctx, uint64_t off, void *dst, size_t n)
{
	int fd = *(int *)ctx;
	for (size_t got = 0; got < n;) {
		ssize_t r = pread(fd, (char *)dst + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* The file record's write, waited for by the file thread. */
typedef struct {
	wr_req w;
	rec_file f;
	uint64_t quota;
	bool blob_new;
	int rc;
	bool done;
	pthread_mutex_t mu;
	pthread_cond_t cv;
} put_req;

static int put_apply(wr_req *w, store_txn *tx)
{
	put_req *p = container_of(w, put_req, w);
	return filestore_put(tx, &p->f, p->quota, &p->blob_new);
}

static void put_done(wr_req *w, int rc)
{
	put_req *p = container_of(w, put_req, w);
	pthread_mutex_lock(&p->mu);
	p->rc = rc;
	p->done = true;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Whether tenant tid has a blob record of sha (after a refused write). */
static bool blob_recorded(app *a, uint64_t tid, const uint8_t sha[32])
{
	store_txn t;
	if (store_read(a->db, &t))
		return true;   /* unsure: keep the file; the next start's sweep decides */
	int rc = filestore_blob_exists(&t, tid, sha);
	store_done(&t);
	return rc != STORE_ENOTFOUND;
}

static void refuse(files_rt *fr, reply_to *r, int status, const char *code, const char *msg)
{
	atomic_fetch_add(&fr->refused, 1);
	reply_error(fr->a, r, status, code, msg);
}

static void do_finish(upload *u, reply_to *r)
{
	files_rt *fr = u->fr;
	app *a = fr->a;
	if (u->failed || u->fd < 0 || fsync(u->fd) < 0) {
		drop_tmp(u);
		refuse(fr, r, 500, "internal", "the file could not be stored");
		return;
	}
	int why;
	int type = sniff_finish(&u->sniff, read_at, &u->fd, &why);
	if (type == FT_UNKNOWN) {
		drop_tmp(u);
		if (why == SNIFF_EMPTY)
			refuse(fr, r, 400, "empty_file", sniff_why(why));
		else if (why == SNIFF_EIO)
			refuse(fr, r, 500, "internal", sniff_why(why));
		else
			refuse(fr, r, 415, "unsupported_type", sniff_why(why));
		return;
	}
	rec_file f;
	memset(&f, 0, sizeof f);
	f.tid = u->tid;
	f.id = id_next(&a->ids);
	f.cid = u->cid;
	f.uploader_type = u->uploader_type;
	f.uploader_id = u->uploader_id;
	rec_strcpy(f.name, sizeof f.name, u->name, strlen(u->name));
	rec_strcpy(f.type, sizeof f.type, sniff_name(type), strlen(sniff_name(type)));
	f.size = u->sniff.size;
	f.created_ms = clock_now_ms();
	crypto_sha256_final(u->sha, f.sha256);
	u->sha = NULL;
	/* into place: <root>/<tid>/<sha>, the directory made and synced first */
	char dir[PATH_MAX], path[PATH_MAX];
	tid_dir(fr, u->tid, dir, sizeof dir);
	if (mkdir(dir, 0700) == 0)
		fsync_dir(fr->root);
	blob_path(fr, u->tid, f.sha256, path, sizeof path);
	close(u->fd);
	u->fd = -1;
	if (rename(u->tmp, path) < 0 || fsync_dir(dir) < 0) {
		log_error("files.rename", "path=%s err=\"%s\"", path, strerror(errno));
		drop_tmp(u);
		refuse(fr, r, 500, "internal", "the file could not be stored");
		return;
	}
	u->tmp[0] = 0;
	/* the record, waited for: the next upload of this thread must see it */
	put_req p = { .f = f, .quota = a->cfg.tenant_quota };
	p.w.apply = put_apply;
	p.w.done = put_done;
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	writer_submit(a->wr, &p.w);
	pthread_mutex_lock(&p.mu);
	while (!p.done)
		pthread_cond_wait(&p.cv, &p.mu);
	pthread_mutex_unlock(&p.mu);
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.cv);
	if (p.rc) {
		if (!blob_recorded(a, f.tid, f.sha256))
			unlink(path);
		if (p.rc == STORE_ELIMIT)
			refuse(fr, r, 413, "quota_exceeded", "the tenant's file storage quota is used up");
		else
			refuse(fr, r, 500, "internal", "the file could not be stored");
		return;
	}
	atomic_fetch_add(&fr->stored, 1);
	log_info("files.stored", "tid=%llu fid=%llu type=%s size=%llu new_blob=%d", (unsigned long long)f.tid,
		 (unsigned long long)f.id, f.type, (unsigned long long)f.size, p.blob_new);
	reply_json(a, r, 201, files_view(&f, u->url_base));
}

/* ---------- downloads ---------- */

/* Content-Disposition: an ASCII fallback (quotes, backslashes and
 * non-ASCII replaced) and the UTF-8 name percent-encoded (RFC 6266). */
static void disposition(const rec_file *f, bool inline_, buf *b)
{
	buf_puts(b, inline_ ? "Content-Disposition: inline; filename=\"" : "Content-Disposition: attachment; filename=\"");
	for (const unsigned char *p = (const unsigned char *)f->name; *p; p++) {
		char ch = (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\') ? '_' : (char)*p;
		buf_append(b, &ch, 1);
	}
	buf_puts(b, "\"; filename*=UTF-8''");
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)f->name; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~", *p)) {
			buf_append(b, p, 1);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			buf_append(b, e, 3);
		}
	}
	buf_puts(b, "\r\n");
}

static void do_serve(files_rt *fr, const rec_file *f, reply_to *r)
{
	app *a = fr->a;
	char path[PATH_MAX];
	blob_path(fr, f->tid, f->sha256, path, sizeof path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *body = NULL;
	if (fd < 0 || fstat(fd, &st) < 0 || (uint64_t)st.st_size != f->size ||
	    !(body = malloc(f->size ? f->size : 1)) || read_at(&fd, 0, body, f->size) < 0) {
		log_error("files.read", "path=%s err=\"%s\"", path, fd < 0 ? strerror(errno) : "short or wrong size");
		if (fd >= 0)
			close(fd);
		free(body);
		reply_error(a, r, 500, "internal", "the file could not be read");
		return;
	}
	close(fd);
	int type = sniff_parse(f->type);
	const char *mime = type == FT_TXT ? "text/plain; charset=utf-8" : sniff_mime(type);
	buf h = { 0 };
	disposition(f, sniff_is_image(type), &h);
	char hex[17];
	crypto_hex(f->sha256, 8, hex);
	buf_printf(&h,
		   "Content-Security-Policy: default-src 'none'; sandbox\r\n"
		   "Cache-Control: private, max-age=86400\r\n"
		   "ETag: \"%s\"\r\n", hex);
	http_post_response(a->http, r->ref, 200, mime ? mime : "application/octet-stream", body, f->size,
			   h.data);
	reply_done(a, r);
	buf_free(&h);
}

/* ---------- the thread ---------- */

static void run_job(files_rt *fr, job *j)
{
	switch (j->type) {
	case J_OPEN: do_open(j->u); break;
	case J_WRITE: do_write(j->u, j->data, j->n); break;
	case J_FINISH:
		do_finish(j->u, &j->reply);
		upload_unref(j->u);
		break;
	case J_ABORT:
		drop_tmp(j->u);
		upload_unref(j->u);
		break;
	case J_SERVE: do_serve(fr, &j->file, &j->reply); break;
	}
	free(j->data);
	free(j);
}

static void *run(void *arg)
{
	files_rt *fr = arg;
	for (;;) {
		pthread_mutex_lock(&fr->mu);
		while (!fr->head && !fr->stop)
			pthread_cond_wait(&fr->cv, &fr->mu);
		job *j = fr->head;
		if (j) {
			fr->head = j->next;
			if (!fr->head)
				fr->tail = NULL;
		}
		pthread_mutex_unlock(&fr->mu);
		if (!j)
			break;   /* stopping, and nothing left */
		run_job(fr, j);
	}
	return NULL;
}

/* ---------- the caller's side ---------- */

upload *upload_new(app *a, conn_ref ref, uint64_t tid, uint64_t cid, uint8_t uploader_type,
		   uint64_t uploader_id, const char *name, const char *url_base)
{
	upload *u = calloc(1, sizeof *u);
	job *j = calloc(1, sizeof *j);
	if (!u || !j) {
		free(u);
		free(j);
		return NULL;
	}
	u->fr = a->files;
	atomic_init(&u->refs, 2);   /* the caller's and the file thread's */
	atomic_init(&u->pending, 0);
	u->ref = ref;
	u->tid = tid;
	u->cid = cid;
	u->uploader_type = uploader_type;
	u->uploader_id = uploader_id;
	u->fd = -1;
	rec_strcpy(u->name, sizeof u->name, name, strlen(name));
	snprintf(u->url_base, sizeof u->url_base, "%s", url_base);
	j->type = J_OPEN;
	j->u = u;
	push(u->fr, j);
	return u;
}

long upload_write(upload *u, const char *p, size_t n)
{
	job *j = calloc(1, sizeof *j);
	char *copy = malloc(n);
	if (!j || !copy) {
		free(j);
		free(copy);
		return -1;
	}
	memcpy(copy, p, n);
	j->type = J_WRITE;
	j->u = u;
	j->data = copy;
	j->n = n;
	long now = atomic_fetch_add(&u->pending, (long)n) + (long)n;
	push(u->fr, j);
	return now;
}

long upload_pending(upload *u)
{
	return atomic_load(&u->pending);
}

void upload_finish(upload *u, reply_to *r)
{
	job *j = calloc(1, sizeof *j);
	if (!j) {
		reply_error(u->fr->a, r, 500, "internal", "out of memory");
		return;
	}
	u->finish_queued = true;
	j->type = J_FINISH;
	j->u = u;
	j->reply = *r;
	r->kind = REPLY_NONE;
	push(u->fr, j);
}

void upload_release(upload *u)
{
	if (!u->finish_queued) {
		job *j = calloc(1, sizeof *j);
		if (j) {
			j->type = J_ABORT;
			j->u = u;
			push(u->fr, j);
		} else {
			/* cannot queue the abort: the temporary file stays until the next
			 * start's sweep, and the thread's reference with it */
			log_error("files.abort", "msg=\"out of memory\"");
		}
	}
	upload_unref(u);
}

void files_serve(app *a, const rec_file *f, reply_to *r)
{
	job *j = calloc(1, sizeof *j);
	if (!j) {
		reply_error(a, r, 500, "internal", "out of memory");
		return;
	}
	j->type = J_SERVE;
	j->file = *f;
	j->reply = *r;
	r->kind = REPLY_NONE;
	push(a->files, j);
}

json_t *files_view(const rec_file *f, const char *url_base)
{
	char id[24], hex[65], url[160];
	id_str(f->id, id);
	crypto_hex(f->sha256, 32, hex);
	snprintf(url, sizeof url, "%s/files/%s", url_base, id);
	int type = sniff_parse(f->type);
	return json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:o}", "id", id, "name", f->name, "type",
			 sniff_mime(type) ? sniff_mime(type) : "application/octet-stream", "size",
			 (json_int_t)f->size, "sha256", hex, "url", url, "created_at",
			 view_time(f->created_ms));
}

int files_rate_take(app *a, uint64_t tid, uint64_t vid)
{
	files_rt *fr = a->files;
	if (!fr->rate)
		return 0;
	char key[48];
	snprintf(key, sizeof key, "%llu:%llu", (unsigned long long)tid, (unsigned long long)vid);
	int64_t now = clock_now_ms();
	int wait = ratelimit_check(fr->rate, key, now);
	if (wait > 0)
		return wait;
	ratelimit_fail(fr->rate, key, now);
	return 0;
}

void files_get_stats(app *a, files_stats *out)
{
	files_rt *fr = a->files;
	memset(out, 0, sizeof *out);
	if (!fr)
		return;
	out->stored = atomic_load(&fr->stored);
	out->refused = atomic_load(&fr->refused);
	out->bytes_written = atomic_load(&fr->bytes_written);
	out->swept = atomic_load(&fr->swept);
	out->paused = atomic_load(&fr->paused);
}

void files_count_pause(app *a)
{
	atomic_fetch_add(&a->files->paused, 1);
}

/* ---------- start: the directory and the sweep ---------- */

static bool hex_name(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* Removes every temporary file and every blob no record names. */
static int sweep(files_rt *fr)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/tmp", fr->root);
	DIR *d = opendir(path);
	unsigned tmp = 0, removed = 0, kept = 0;
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.' && unlinkat(dirfd(d), e->d_name, 0) == 0)
				tmp++;
		closedir(d);
	}
	store_txn t;
	if (store_read(fr->a->db, &t))
		return -1;
	d = opendir(fr->root);
	if (!d) {
		store_done(&t);
		return -1;
	}
	struct dirent *te;
	while ((te = readdir(d))) {
		if (!hex_name(te->d_name, 16))
			continue;
		uint64_t tid = strtoull(te->d_name, NULL, 16);
		int dfd = openat(dirfd(d), te->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *bd = dfd >= 0 ? fdopendir(dfd) : NULL;
		if (!bd) {
			if (dfd >= 0)
				close(dfd);
			continue;
		}
		struct dirent *be;
		bool changed = false;
		while ((be = readdir(bd))) {
			if (be->d_name[0] == '.')
				continue;
			uint8_t sha[32];
			bool named = hex_name(be->d_name, 64) && unhex(be->d_name, sha, 32) == 0 &&
				     filestore_blob_exists(&t, tid, sha) == 0;
			if (named) {
				kept++;
			} else if (unlinkat(dirfd(bd), be->d_name, 0) == 0) {
				removed++;
				changed = true;
			}
		}
		if (changed)
			fsync(dirfd(bd));
		closedir(bd);
	}
	closedir(d);
	store_done(&t);
	atomic_store(&fr->swept, removed);
	log_info("files.sweep", "root=%s kept=%u removed=%u tmp_removed=%u", fr->root, kept, removed, tmp);
	return 0;
}

int files_start(app *a)
{
	files_rt *fr = calloc(1, sizeof *fr);
	if (!fr)
		return -1;
	fr->a = a;
	a->files = fr;
	pthread_mutex_init(&fr->mu, NULL);
	pthread_cond_init(&fr->cv, NULL);
	if (snprintf(fr->root, sizeof fr->root, "%s/blobs", a->cfg.data_dir) >= (int)sizeof fr->root)
		goto fail;
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s/tmp", fr->root);
	if ((mkdir(fr->root, 0700) < 0 && errno != EEXIST) || (mkdir(tmp, 0700) < 0 && errno != EEXIST)) {
		fprintf(stderr, "parleyd: cannot create %s: %s\n", tmp, strerror(errno));
		goto fail;
	}
	if (sweep(fr) < 0) {
		fprintf(stderr, "parleyd: cannot sweep %s\n", fr->root);
		goto fail;
	}
	if (a->cfg.upload_rate > 0 && !(fr->rate = ratelimit_new(a->cfg.upload_rate, 60)))
		goto fail;
	if (pthread_create(&fr->th, NULL, run, fr) != 0)
		goto fail;
	fr->running = true;
	return 0;
fail:
	files_release(a);
	return -1;
}

void files_stop(app *a)
{
	files_rt *fr = a->files;
	if (!fr)
		return;
	if (fr->running) {
		pthread_mutex_lock(&fr->mu);
		fr->stop = true;
		pthread_cond_signal(&fr->cv);
		pthread_mutex_unlock(&fr->mu);
		pthread_join(fr->th, NULL);
		fr->running = false;
	}
	pthread_mutex_lock(&fr->mu);
	fr->stopped = true;
	pthread_mutex_unlock(&fr->mu);
}

void files_release(app *a)
{
	files_rt *fr = a->files;
	if (!fr)
		return;
	files_stop(a);
	ratelimit_free(&fr->rate);
	pthread_mutex_destroy(&fr->mu);
	pthread_cond_destroy(&fr->cv);
	a->files = NULL;
	free(fr);
}
