/* files routes — uploading a file to a conversation and downloading it,
 * for agents (within their scope) and visitors (their own conversations).
 *
 * An upload is a multipart/form-data body with one file part (any name;
 * other, non-file fields are ignored), streamed: the route takes the body
 * in pieces (net/http.h http_stream) through the multipart parser
 * (net/multipart.h), and the file part's bytes go to the file thread
 * (files.h) as they arrive, so neither the body nor the file is ever held
 * whole. The limit (--upload-max) counts the file's bytes and is enforced
 * as they come (413), and early for a Content-Length that cannot fit. The
 * type comes from the bytes only (core/sniff.h): the part's filename and
 * Content-Type are never consulted for it.
 *
 * The name kept is the filename's last path component (a client may send
 * "C:\dir\a.png" or "../a.png"); one that is then empty, "." or "..", has
 * control characters or is not UTF-8 is refused (400 invalid_filename).
 *
 * Answers: 201 the file ({id, name, type, size, sha256, url}); 400
 * invalid_multipart, truncated, too_many_parts, too_many_files, no_file,
 * invalid_filename, empty_file; 413 too_large, quota_exceeded; 415
 * unsupported_media_type (not multipart/form-data), unsupported_type (the
 * bytes are none of the accepted types); 429 rate_limited (visitors,
 * --upload-rate a minute); 404 for a conversation the caller may not read.
 */
#include "actors/conversations/access.h"
#include "actors/files/files.h"
#include "core/crypto.h"
#include "core/id.h"
#include "core/sniff.h"
#include "net/multipart.h"
#include "net/ws_frame.h"
#include "storage/file_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORM_SLACK 16384        /* multipart framing and small fields around the file */
#define FORM_MAX_PARTS 8

typedef struct {
	app *a;
	mp_parser mp;
	upload *up;
	bool in_file, had_file;
	uint64_t file_bytes;
	/* a refusal decided inside a multipart callback */
	int st;
	const char *code, *msg;
	/* who and where */
	conn_ref ref;
	uint64_t tid, cid;
	uint8_t utype;
	uint64_t uid;
	char url_base[96];
} form;

static int stop_with(form *f, int st, const char *code, const char *msg)
{
	f->st = st;
	f->code = code;
	f->msg = msg;
	return 1;
}

/* The kept name of a raw filename (see above); 0 or -1. */
static int clean_name(const char *raw, char *out, size_t cap)
{
	const char *base = raw;
	for (const char *p = raw; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	size_t n = strlen(base);
	if (!n || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 || n >= cap ||
	    !wsf_utf8_valid((const uint8_t *)base, n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)base[i];
		if (c < 0x20 || c == 0x7f)
			return -1;
	}
	memcpy(out, base, n + 1);
	return 0;
}

static int on_part(void *ctx, const mp_part *pt)
{
	form *f = ctx;
	if (!pt->has_filename)
		return 0;   /* a plain field: ignored */
	if (f->had_file)
		return stop_with(f, 400, "too_many_files", "one file per request");
	char name[REC_FILE_NAME_MAX + 1];
	/* control characters never reach here (the parser refuses them in a
	 * header line); a NUL cannot either */
	if (clean_name(pt->filename, name, sizeof name) < 0)
		return stop_with(f, 400, "invalid_filename",
				 "the filename is empty, '.' or '..', not UTF-8, or has control characters");
	f->up = upload_new(f->a, f->ref, f->tid, f->cid, f->utype, f->uid, name, f->url_base);
	if (!f->up)
		return stop_with(f, 500, "internal", "out of memory");
	f->had_file = f->in_file = true;
	return 0;
}

static int on_data(void *ctx, const char *p, size_t n)
{
	form *f = ctx;
	if (!f->in_file)
		return 0;
	f->file_bytes += n;
	if (f->file_bytes > f->a->cfg.upload_max)
		return stop_with(f, 413, "too_large", "the file is larger than the upload limit");
	if (upload_write(f->up, p, n) < 0)
		return stop_with(f, 500, "internal", "out of memory");
	return 0;
}

static int on_part_end(void *ctx)
{
	((form *)ctx)->in_file = false;
	return 0;
}

static const mp_callbacks mp_cbs = { on_part, on_data, on_part_end };

static void refuse_mp(http_req *req, form *f, int rc)
{
	switch (rc) {
	case MP_ESTOP: http_respond_error(req, f->st, f->code, f->msg, NULL); break;
	case MP_ETOTAL: http_respond_error(req, 413, "too_large", "the request is larger than the upload limit", NULL); break;
	case MP_EPARTS: http_respond_error(req, 400, "too_many_parts", "too many parts in the form", NULL); break;
	case MP_EPARAM: http_respond_error(req, 400, "invalid_filename", "the field name or filename is too long", NULL); break;
	case MP_ETRUNCATED:
		http_respond_error(req, 400, "truncated", "the body ended before the form's closing boundary", NULL);
		break;
	default: http_respond_error(req, 400, "invalid_multipart", mp_strerror(rc), NULL); break;
	}
}

static int body_data(http_req *req, const char *p, size_t n)
{
	form *f = req->stream_ctx;
	int rc = mp_feed(&f->mp, p, n);
	if (rc < 0) {
		refuse_mp(req, f, rc);
		return HTTP_STREAM_GO;
	}
	/* the file thread is behind: read nothing more until it catches up */
	if (f->up && upload_pending(f->up) > UPLOAD_HIGH) {
		files_count_pause(f->a);
		return HTTP_STREAM_PAUSE;
	}
	return HTTP_STREAM_GO;
}

static void body_end(http_req *req)
{
	form *f = req->stream_ctx;
	int rc = mp_finish(&f->mp);
	if (rc != MP_DONE) {
		refuse_mp(req, f, rc);
		return;
	}
	if (!f->had_file) {
		http_respond_error(req, 400, "no_file", "the form has no file part (a part with a filename)", NULL);
		return;
	}
	reply_to r;
	reply_begin_http(f->a, &r, req);
	upload_finish(f->up, &r);
}

static void body_free(http_req *req)
{
	form *f = req->stream_ctx;
	if (!f)
		return;
	if (f->up)
		upload_release(f->up);
	free(f);
	req->stream_ctx = NULL;
}

static const http_stream_cbs stream_cbs = { body_data, body_end, body_free };

static void upload_route(http_req *req, const principal *p)
{
	app *a = api_app(req);
	rec_conv c;
	if (api_route_conv(req, p, &c) < 0)
		return;
	char bnd[MP_BOUNDARY_MAX + 1];
	const hp_str *ct = http_header(req, "Content-Type");
	if (!ct || mp_boundary(ct->p, ct->len, bnd) < 0) {
		http_respond_error(req, 415, "unsupported_media_type",
				   "expected a multipart/form-data body with a boundary", NULL);
		return;
	}
	uint64_t limit = (uint64_t)a->cfg.upload_max + FORM_SLACK;
	if (req->head.content_length > 0 && (uint64_t)req->head.content_length > limit) {
		http_respond_error(req, 413, "too_large", "the request is larger than the upload limit", NULL);
		return;
	}
	/* a tenant whose quota is used up is told before any of the body is
	 * read (the commit checks again: uploads may race to the last bytes) */
	if (a->cfg.tenant_quota) {
		store_txn t;
		rec_usage u = { 0 };
		if (store_read(a->db, &t) == 0) {
			filestore_usage(&t, p->tid, &u);
			store_done(&t);
		}
		if (u.bytes >= a->cfg.tenant_quota) {
			http_respond_error(req, 413, "quota_exceeded", "the tenant's file storage quota is used up", NULL);
			return;
		}
	}
	if (p->kind == P_VISITOR) {
		int wait = files_rate_take(a, p->tid, p->id);
		if (wait > 0) {
			char extra[64];
			snprintf(extra, sizeof extra, "Retry-After: %d\r\nCache-Control: no-store\r\n", wait);
			static const char body[] =
				"{\"error\":{\"code\":\"rate_limited\",\"message\":\"too many uploads; try again later\"}}";
			http_respond(req, 429, "application/json", body, sizeof body - 1, extra);
			return;
		}
	}
	form *f = calloc(1, sizeof *f);
	if (!f) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		return;
	}
	f->a = a;
	f->ref = conn_ref_of(req->conn);
	f->tid = p->tid;
	f->cid = c.id;
	f->utype = p->kind == P_VISITOR ? ST_VISITOR : ST_AGENT;
	f->uid = p->id;
	char cid[24];
	id_str(c.id, cid);
	snprintf(f->url_base, sizeof f->url_base, "%s/%s",
		 p->kind == P_VISITOR ? "/v1/widget/conversations" : "/v1/conversations", cid);
	mp_limits lim = { .max_parts = FORM_MAX_PARTS, .max_header = 2048, .max_total = limit };
	mp_init(&f->mp, bnd, &lim, &mp_cbs, f);
	http_stream(req, &stream_cbs, f, limit);   /* on a refusal, body_free frees f */
}

static void download_route(http_req *req, const principal *p)
{
	app *a = api_app(req);
	rec_conv c;
	uint64_t fid;
	if (api_route_conv(req, p, &c) < 0 || api_id_param(req, 1, &fid) < 0)
		return;
	store_txn t;
	rec_file f;
	if (store_read(a->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	int rc = filestore_get(&t, p->tid, fid, &f);
	store_done(&t);
	/* another conversation's file, or another tenant's id: not here */
	if (rc == STORE_ENOTFOUND || (rc == 0 && f.cid != c.id)) {
		http_respond_error(req, 404, "not_found", "no such file", NULL);
		return;
	}
	if (rc) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	char etag[24], hex[17];
	crypto_hex(f.sha256, 8, hex);
	snprintf(etag, sizeof etag, "\"%s\"", hex);
	if (http_etag_match(req, etag)) {
		char extra[64];
		snprintf(extra, sizeof extra, "ETag: %s\r\n", etag);
		http_respond(req, 304, NULL, NULL, 0, extra);
		return;
	}
	reply_to r;
	reply_begin_http(a, &r, req);
	files_serve(a, &f, &r);
}

static const route_def routes[] = {
	{ "GET", "/v1/conversations/{id}/files/{fid}", PERM_CONV, download_route },
	{ "GET", "/v1/widget/conversations/{id}/files/{fid}", PERM_VISITOR, download_route },
	{ 0 },
};

static const route_def stream_routes[] = {
	{ "POST", "/v1/conversations/{id}/files", PERM_CONV, upload_route },
	{ "POST", "/v1/widget/conversations/{id}/files", PERM_VISITOR, upload_route },
	{ 0 },
};

const feature feature_files = {
	.name = "files",
	.routes = routes,
	.stream_routes = stream_routes,
	.start = files_start,
	.stop = files_stop,
	.release = files_release,
};
