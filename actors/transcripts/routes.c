/* transcripts — a conversation's transcript over the API: downloaded by
 * the agents who may read it (their version: private notes and the
 * agent-only events) and by the visitor for their own conversation (the
 * visitor's version), as JSON, plain text or HTML (transcript.h); emailed
 * to the visitor on request (at most one per conversation per
 * TRANSCRIPT_EMAIL_EVERY_S) and, when the tenant asks for it
 * (transcript_on_close), when the conversation closes — both through the
 * outbox and the email templates of actors/email (docs/email.md).
 *
 * Downloads are streamed (http_respond_stream, chunked): the head is
 * rendered in the request's read snapshot, then the events piece by piece
 * on the I/O thread, each piece (about TRANSCRIPT_PIECE bytes) in a fresh
 * read snapshot from a cursor, asked for only when the client has taken
 * the previous ones — so no snapshot stays open while a slow client
 * reads, and what a download holds is one piece, however long the
 * conversation. The document covers the events up to the conversation's
 * last one when the request came. No cap; a conversation deleted
 * meanwhile ends the body early (the connection closes without the last
 * chunk). Emails are rendered whole, bounded by TRANSCRIPT_EMAIL_CAP. */
#include "actors/transcripts/transcript.h"
#include "actors/conversations/access.h"
#include "actors/email/queue.h"
#include "actors/kit/emit.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"
#include "storage/account_store.h"
#include "storage/conv_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The size of a downloaded transcript's pieces. */
#define TRANSCRIPT_PIECE (32u << 10)

/* One emailed transcript per conversation per this long. */
#define TRANSCRIPT_EMAIL_EVERY_S 300

/* Reads conversation route parameter 0 for p with its tenant in one
 * snapshot t (left open on success); answers 404/500 and returns -1. */
static int load(http_req *req, const principal *p, store_txn *t, rec_conv *c, rec_tenant *ten)
{
	uint64_t cid;
	if (api_id_param(req, 0, &cid) < 0)
		return -1;
	if (store_read(api_app(req)->db, t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return -1;
	}
	int rc = convstore_get(t, p->tid, cid, c);
	if (rc == STORE_ENOTFOUND || (rc == 0 && !api_conv_visible(p, c))) {
		store_done(t);
		http_respond_error(req, 404, "not_found", "no such conversation", NULL);
		return -1;
	}
	if (rc == 0)
		rc = account_tenant_get(t, p->tid, ten);
	if (rc) {
		store_done(t);
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return -1;
	}
	return 0;
}

/* A download being streamed. */
typedef struct {
	db *db;
	uint64_t tid, cid;
	uint64_t cursor, upto;     /* events after cursor up to upto are still to come */
	transcript_opts o;
	transcript_info info;
	buf piece;                 /* the head, until the first piece takes it */
	bool events_done;
} tstream;

static void ts_free(void *ctx)
{
	tstream *ts = ctx;
	if (!ts)
		return;
	buf_free(&ts->piece);
	free(ts);
}

static int ts_next(void *ctx, buf *out)
{
	tstream *ts = ctx;
	if (ts->piece.len) {   /* the head */
		int rc = buf_append(out, ts->piece.data, ts->piece.len);
		buf_free(&ts->piece);
		return rc < 0 ? HTTP_BODY_FAIL : HTTP_BODY_MORE;
	}
	store_txn t;
	if (store_read(ts->db, &t))
		return HTTP_BODY_FAIL;
	rec_conv c;
	int rc = convstore_get(&t, ts->tid, ts->cid, &c);   /* still there */
	if (rc == 0)
		rc = transcript_events(&t, ts->tid, ts->cid, &ts->o, &ts->cursor, ts->upto, TRANSCRIPT_PIECE, out,
				       &ts->info, &ts->events_done);
	store_done(&t);
	if (rc) {
		log_warn("transcript.stream", "tid=%llu cid=%llu rc=%d msg=\"the download ends early\"",
			 (unsigned long long)ts->tid, (unsigned long long)ts->cid, rc);
		return HTTP_BODY_FAIL;
	}
	if (!ts->events_done)
		return HTTP_BODY_MORE;
	return transcript_tail(out, &ts->o, &ts->info) ? HTTP_BODY_FAIL : HTTP_BODY_END;
}

static const http_body_src tstream_src = { .next = ts_next, .on_free = ts_free };

static void download(http_req *req, const principal *p)
{
	char f[16];
	int n = http_query(req, "format", f, sizeof f);
	int format = n == -1 ? TF_JSON : n < 0 ? -1 : transcript_format_parse(f);
	if (format < 0) {
		http_respond_error(req, 400, "invalid_field", "format must be json, text or html", "format");
		return;
	}
	int64_t after;
	if (api_query_int(req, "after_seq", 0, 0, INT64_MAX, &after) < 0)
		return;
	store_txn t;
	rec_conv c;
	rec_tenant ten;
	if (load(req, p, &t, &c, &ten) < 0)
		return;
	tstream *ts = calloc(1, sizeof *ts);
	int rc = ts ? 0 : STORE_ENOMEM;
	if (ts) {
		ts->db = api_app(req)->db;
		ts->tid = c.tid;
		ts->cid = c.id;
		ts->cursor = (uint64_t)after;
		ts->upto = c.last_seq;
		ts->o = (transcript_opts){ .format = (uint8_t)format, .agents = p->kind != P_VISITOR,
					   .after_seq = (uint64_t)after };
		rc = transcript_head(&ts->piece, &ten, &c, &ts->o);
	}
	store_done(&t);
	if (rc) {
		ts_free(ts);
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		return;
	}
	char ids[24], extra[256];
	snprintf(extra, sizeof extra,
		 "Content-Disposition: attachment; filename=\"conversation-%s.%s\"\r\n"
		 "Cache-Control: private, no-store\r\n%s",
		 id_str(c.id, ids), transcript_ext(format),
		 format == TF_HTML ? "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n" : "");
	http_respond_stream(req, 200, transcript_ctype(format), extra, &tstream_src, ts);
}

/* ------------------------------------------------------------------ email */

/* Renders the visitor's transcript email for c; 0 or a store error. */
static int render_email(store_txn *t, const rec_tenant *ten, const rec_conv *c, const char *visitor_name,
			email_body *out)
{
	transcript_opts o = { .format = TF_TEXT, .cap = TRANSCRIPT_EMAIL_CAP / 2 };
	transcript_info info;
	buf text = { 0 }, html = { 0 };
	int rc = transcript_render(t, ten, c, &o, &text, &info);
	o.format = TF_HTML;
	o.fragment = true;
	if (rc == 0)
		rc = transcript_render(t, ten, c, &o, &html, &info);
	if (rc == 0 && (buf_puts(&text, "") || buf_puts(&html, "")))
		rc = STORE_ENOMEM;
	if (rc == 0) {
		tpl_transcript v = { .workspace = ten->name, .visitor_name = visitor_name, .text = text.data,
				     .html = html.data };
		if (tpl_transcript_render(&v, out) < 0)
			rc = STORE_ENOMEM;
	}
	buf_free(&text);
	buf_free(&html);
	return rc;
}

/* The per-conversation limit of requested emails: a small table of the
 * last request's time, by a hash of (tid, cid); a collision only makes two
 * conversations share a limit. */
#define LIMIT_SLOTS 4096
static struct {
	pthread_mutex_t mu;
	uint64_t tid[LIMIT_SLOTS], cid[LIMIT_SLOTS];
	int64_t at_ms[LIMIT_SLOTS];
} limits = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* 0 and the time taken, or the seconds to wait. */
static int64_t limit_take(uint64_t tid, uint64_t cid, int64_t now)
{
	uint64_t h = (tid * 0x9E3779B97F4A7C15ull) ^ (cid * 0xC2B2AE3D27D4EB4Full);
	size_t i = (size_t)(h >> 52) % LIMIT_SLOTS;
	int64_t wait = 0;
	pthread_mutex_lock(&limits.mu);
	int64_t next = limits.at_ms[i] + TRANSCRIPT_EMAIL_EVERY_S * 1000;
	if (limits.tid[i] == tid && limits.cid[i] == cid && limits.at_ms[i] && now < next) {
		wait = (next - now + 999) / 1000;
	} else {
		limits.tid[i] = tid;
		limits.cid[i] = cid;
		limits.at_ms[i] = now;
	}
	pthread_mutex_unlock(&limits.mu);
	return wait;
}

/* A failed or refused write gives the conversation its limit back. */
static void limit_return(uint64_t tid, uint64_t cid)
{
	uint64_t h = (tid * 0x9E3779B97F4A7C15ull) ^ (cid * 0xC2B2AE3D27D4EB4Full);
	size_t i = (size_t)(h >> 52) % LIMIT_SLOTS;
	pthread_mutex_lock(&limits.mu);
	if (limits.tid[i] == tid && limits.cid[i] == cid)
		limits.at_ms[i] = 0;
	pthread_mutex_unlock(&limits.mu);
}

typedef struct {
	wr_req w;
	app *app;
	reply_to reply;
	uint64_t tid, cid;
	char to[REC_EMAIL_MAX + 1];
	email_body body;
	bool sent;
} email_op;

static int email_apply(wr_req *w, store_txn *tx)
{
	email_op *op = container_of(w, email_op, w);
	email_body b = op->body;   /* taken by the queue whatever happens */
	memset(&op->body, 0, sizeof op->body);
	return email_queue_send(op->app, tx, op->tid, op->to, &b, EV_CONVERSATION_UPDATED, op->cid, &op->sent);
}

static void email_done(wr_req *w, int rc)
{
	email_op *op = container_of(w, email_op, w);
	if (rc) {
		limit_return(op->tid, op->cid);
		reply_error(op->app, &op->reply, 500, "internal", "storage failure");
	} else if (!op->sent) {
		limit_return(op->tid, op->cid);
		reply_error(op->app, &op->reply, 409, "email_not_configured", "this workspace sends no email");
	} else {
		reply_json(op->app, &op->reply, 202, json_pack("{s:s}", "sent_to", op->to));
	}
	email_body_free(&op->body);
	free(op);
}

static void email_request(http_req *req, const principal *p)
{
	app *a = api_app(req);
	store_txn t;
	rec_conv c;
	rec_tenant ten;
	if (load(req, p, &t, &c, &ten) < 0)
		return;
	rec_visitor v;
	int rc = account_visitor_get(&t, p->tid, c.visitor_id, &v);
	if (rc) {
		store_done(&t);
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	if (!v.email[0]) {
		store_done(&t);
		http_respond_error(req, 400, "no_email", "the visitor has no email address", "email");
		return;
	}
	int64_t wait = limit_take(p->tid, c.id, clock_now_ms());
	if (wait) {
		store_done(&t);
		char extra[48], msg[96];
		snprintf(extra, sizeof extra, "Retry-After: %lld\r\n", (long long)wait);
		snprintf(msg, sizeof msg, "a transcript of this conversation was just sent; try again in %lld s",
			 (long long)wait);
		json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code", "rate_limited", "message", msg);
		char *body = e ? json_dumps(e, JSON_COMPACT) : NULL;
		json_decref(e);
		if (body)
			http_respond(req, 429, "application/json", body, strlen(body), extra);
		else
			http_respond_error(req, 429, "rate_limited", "try again later", NULL);
		free(body);
		return;
	}
	email_op *op = calloc(1, sizeof *op);
	rc = op ? render_email(&t, &ten, &c, v.name, &op->body) : STORE_ENOMEM;
	store_done(&t);
	if (rc) {
		limit_return(p->tid, c.id);
		free(op);
		http_respond_error(req, 500, "internal", "could not render the transcript", NULL);
		return;
	}
	op->app = a;
	op->tid = p->tid;
	op->cid = c.id;
	snprintf(op->to, sizeof op->to, "%s", v.email);
	op->w.apply = email_apply;
	op->w.done = email_done;
	reply_begin_http(a, &op->reply, req);
	writer_submit(a->wr, &op->w);
}

/* The emit sink: a conversation that closes in a tenant with
 * transcript_on_close sends its visitor (when they left an email address)
 * the transcript, in the closing write's transaction. */
static int on_event(struct app *a, store_txn *tx, const app_event *ev, void *ctx)
{
	(void)ctx;
	if (ev->type != EV_CONVERSATION_RESOLVED || !ev->conv || ev->conv->status != CS_CLOSED || !ev->event ||
	    ev->event->kind != EK_STATUS)
		return 0;
	rec_tenant ten;
	int rc = account_tenant_get(tx, ev->tid, &ten);
	if (rc || !ten.transcript_on_close)
		return rc == STORE_ENOTFOUND || rc == STORE_ECORRUPT ? 0 : rc;
	rec_visitor v;
	rc = account_visitor_get(tx, ev->tid, ev->conv->visitor_id, &v);
	if (rc || !v.email[0])
		return rc == STORE_ENOTFOUND || rc == STORE_ECORRUPT ? 0 : rc;
	email_body b;
	rc = render_email(tx, &ten, ev->conv, v.name, &b);
	if (rc == STORE_ENOMEM) {
		log_error("transcript.email", "tid=%llu msg=\"out of memory; the transcript is not sent\"",
			  (unsigned long long)ev->tid);
		return 0;
	}
	if (rc)
		return rc;
	bool sent;
	return email_queue_send(a, tx, ev->tid, v.email, &b, EV_CONVERSATION_RESOLVED, ev->conv->id, &sent);
}

static int start(app *a)
{
	static const emit_sink sink = { .name = "transcripts", .in_txn = on_event };
	return emit_register(a, &sink) < 0 ? -1 : 0;
}

static const route_def routes[] = {
	{ "GET", "/v1/conversations/{id}/transcript", PERM_CONV, download },
	{ "GET", "/v1/widget/conversations/{id}/transcript", PERM_VISITOR, download },
	{ "POST", "/v1/widget/conversations/{id}/transcript/email", PERM_VISITOR, email_request },
	{ 0 },
};

const feature feature_transcripts = { .name = "transcripts", .routes = routes, .start = start };
