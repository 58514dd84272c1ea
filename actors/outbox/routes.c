/* routes — webhooks over the API (docs/openapi.yaml, tag webhooks; every
 * route needs `settings`: admins and owners).
 *
 * Endpoints: list, create (the secret is shown in this answer and after a
 * rotation, never again), read, change (url, events, description, active),
 * delete (with the deliveries still waiting for it), rotate the secret.
 * The delivery log: rows newest first with filters (endpoint, status
 * ok / failed / dropped, or pending for what waits in the outbox, event,
 * since), paged by cursor; redelivering a logged delivery sends its body
 * again as a new delivery (a new id, with "redelivery_of").
 *
 * Reads run on the I/O thread in a read snapshot. Every change is one
 * writer request whose apply decides on the stored records and stages the
 * change for the webhook sink's snapshot and the outbound thread, which
 * take it up after the commit (internal.h). A URL is checked here for its
 * form (http or https, at most 2,048 bytes, no user name or password); where it
 * may connect is decided when it connects (net/egress.h).
 */
#include "actors/kit/api.h"
#include "actors/kit/audit.h"
#include "actors/kit/view.h"
#include "actors/outbox/internal.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/id.h"
#include "core/jw.h"
#include "core/log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SECRET_RAW 24

enum wh_op_kind { OP_CREATE = 1, OP_UPDATE, OP_DELETE, OP_ROTATE, OP_REDELIVER };

typedef struct {
	wr_req w;
	app *app;
	reply_to reply;
	int kind;                  /* enum wh_op_kind */
	uint64_t tid, id;          /* the endpoint, or the log row to redeliver */
	/* the change (OP_CREATE, OP_UPDATE) */
	bool set_url, set_events, set_desc, set_active;
	char url[REC_WEBHOOK_URL_MAX + 1];
	char desc[REC_NAME_MAX + 1];
	uint64_t events;
	bool active;
	/* the outcome */
	rec_webhook hook;
	uint64_t delivery;         /* OP_REDELIVER: the new delivery */
	int status;                /* 0: done; else the refusal */
	const char *code, *msg;
	principal who;             /* the caller (the audit row) */
} wh_op;

/* The audit row of a change to endpoint w (kit/audit.h); 0 or STORE_EIO. */
static int audit_hook(wh_op *op, store_txn *t, const char *action, uint64_t id, const char *url)
{
	return audit_json(op->app, t, op->tid, &op->who, action, "webhook", id, json_pack("{s:s}", "url", url))
		       ? STORE_EIO : 0;
}

/* ------------------------------------------------------------------ views */

static json_t *event_names(uint64_t mask)
{
	json_t *a = json_array();
	for (int i = 0; a && i < EV__COUNT; i++)
		if (mask & (1ull << i))
			json_array_append_new(a, json_string(ev_type_name(i)));
	return a;
}

static json_t *view_webhook(const rec_webhook *w, bool secret)
{
	size_t n = strlen(w->secret);
	json_t *v = json_pack("{s:o,s:s,s:s,s:o,s:b,s:s+,s:o,s:o}", "id", view_id(w->id), "url", w->url,
			      "description", w->description, "events", event_names(w->events), "active", w->active,
			      "secret_hint", "…", n > 4 ? w->secret + n - 4 : "", "created_at", view_time(w->created_ms),
			      "updated_at", view_time(w->updated_ms));
	if (v && secret)
		json_object_set_new(v, "secret", json_string(w->secret));
	return v;
}

static const char *const status_names[OBR__COUNT] = { "ok", "failed", "failed", "dropped" };

/* One row of the delivery log, or a pending entry (status "pending"). */
static int write_row(buf *b, uint64_t id, uint64_t delivery, uint64_t target, uint8_t event, uint64_t cid,
		     uint64_t seq, uint64_t attempt, const char *status, bool final, int64_t code, int64_t latency,
		     const char *error, int64_t next_ms, int64_t created_ms, bool has_latency)
{
	const char *ename = ev_type_name(event);
	int rc = buf_puts(b, "{\"id\":");
	rc |= jw_id(b, id);
	rc |= jw_key(b, "delivery_id", 0);
	rc |= jw_id(b, delivery);
	rc |= jw_key(b, "endpoint_id", 0);
	rc |= jw_id(b, target);
	rc |= jw_key(b, "event", 0);
	rc |= ename ? jw_cstr(b, ename) : buf_puts(b, "null");
	rc |= jw_key(b, "conversation_id", 0);
	rc |= jw_id(b, cid);
	rc |= jw_key(b, "seq", 0);
	rc |= cid ? jw_u64(b, seq) : buf_puts(b, "null");
	rc |= jw_key(b, "attempt", 0);
	rc |= jw_u64(b, attempt);
	rc |= jw_key(b, "status", 0);
	rc |= jw_cstr(b, status);
	rc |= buf_puts(b, final ? ",\"final\":true" : ",\"final\":false");
	rc |= jw_key(b, "status_code", 0);
	rc |= code ? jw_i64(b, code) : buf_puts(b, "null");
	rc |= jw_key(b, "latency_ms", 0);
	rc |= has_latency ? jw_i64(b, latency) : buf_puts(b, "null");
	rc |= jw_key(b, "error", 0);
	rc |= error[0] ? jw_cstr(b, error) : buf_puts(b, "null");
	rc |= jw_key(b, "next_attempt_at", 0);
	rc |= jw_time(b, next_ms);
	rc |= jw_key(b, "created_at", 0);
	rc |= jw_time(b, created_ms);
	rc |= buf_puts(b, "}");
	return rc ? -1 : 0;
}

/* ------------------------------------------------------------------ answers */

static json_t *error_body(const char *code, const char *msg, const char *field)
{
	json_t *e = json_pack("{s:s,s:s}", "code", code, "message", msg);
	if (e && field)
		json_object_set_new(e, "field", json_string(field));
	return json_pack("{s:o}", "error", e);
}

static int refuse(wh_op *op, int status, const char *code, const char *msg)
{
	op->status = status;
	op->code = code;
	op->msg = msg;
	return 0;   /* nothing was written: the batch goes on */
}

static void op_done(wr_req *w, int rc)
{
	wh_op *op = container_of(w, wh_op, w);
	app *a = op->app;
	if (rc) {
		log_error("webhooks.write", "kind=%d err=\"%s\"", op->kind, store_strerror(rc));
		reply_error(a, &op->reply, 500, "internal", "storage failure");
	} else if (op->status) {
		reply_json(a, &op->reply, op->status, error_body(op->code, op->msg, NULL));
	} else if (op->kind == OP_DELETE) {
		http_post_response(a->http, op->reply.ref, 204, NULL, NULL, 0, NULL);
		reply_done(a, &op->reply);
	} else if (op->kind == OP_REDELIVER) {
		reply_json(a, &op->reply, 202, json_pack("{s:o,s:s}", "delivery_id", view_id(op->delivery), "status",
							 "pending"));
	} else {
		json_t *v = view_webhook(&op->hook, op->kind == OP_CREATE || op->kind == OP_ROTATE);
		if (v)
			reply_json(a, &op->reply, op->kind == OP_CREATE ? 201 : 200, v);
		else
			reply_error(a, &op->reply, 500, "internal", "out of memory");
	}
	memset(op->hook.secret, 0, sizeof op->hook.secret);
	free(op);
}

/* ------------------------------------------------------------------ the writes */

static void new_secret(char *out)
{
	uint8_t raw[SECRET_RAW];
	crypto_random(raw, sizeof raw);
	memcpy(out, "whsec_", 6);
	crypto_b64url_encode(raw, sizeof raw, out + 6);
}

static bool count_one(void *arg, uint64_t tid, uint64_t id, const rec_webhook *w)
{
	(*(int *)arg)++;
	return true;
}

static int apply_create(wh_op *op, store_txn *t, int64_t now)
{
	int n = 0;
	int rc = outbox_webhook_each(t, op->tid, count_one, &n);
	if (rc)
		return rc;
	if (n >= OUTBOX_ENDPOINTS_MAX)
		return refuse(op, 409, "limit_reached", "a workspace has at most 20 webhook endpoints");
	rec_webhook *w = &op->hook;
	memset(w, 0, sizeof *w);
	w->tid = op->tid;
	w->id = id_next(&op->app->ids);
	memcpy(w->url, op->url, sizeof w->url);
	memcpy(w->description, op->desc, sizeof w->description);
	w->events = op->events;
	w->active = op->set_active ? op->active : true;
	new_secret(w->secret);
	w->created_ms = w->updated_ms = now;
	if ((rc = outbox_webhook_put(t, w)))
		return rc == STORE_ECONFLICT ? refuse(op, 400, "invalid_field", "invalid endpoint") : rc;
	if ((rc = audit_hook(op, t, "webhook.create", w->id, w->url)))
		return rc;
	return sink_stage_endpoint(op->app->outbox, w->tid, w->id, w) ? STORE_EIO : 0;
}

/* The delivery body of a log row again, with a new id and the row's
 * delivery as "redelivery_of". */
static char *rebody(const rec_outbox_log *r, uint64_t id, size_t *len)
{
	json_error_t err;
	json_t *v = json_loadb((const char *)r->payload.p, r->payload.n, 0, &err);
	char ids[24], was[24];
	if (!v || !json_is_object(v) ||
	    json_object_set_new(v, "id", json_string(id_str(id, ids))) < 0 ||
	    json_object_set_new(v, "redelivery_of", json_string(id_str(r->delivery, was))) < 0) {
		json_decref(v);
		return NULL;
	}
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(v);
	if (s)
		*len = strlen(s);
	return s;
}

static int apply_redeliver(wh_op *op, store_txn *t)
{
	rec_outbox_log r;
	int rc = outbox_log_get(t, op->tid, op->id, &r);
	if (rc == STORE_ENOTFOUND) {
		rec_outbox e;
		rc = outbox_get(t, op->tid, op->id, &e);
		if (rc == 0 && e.kind == OBK_WEBHOOK)
			return refuse(op, 409, "conflict", "this delivery is still pending: it is tried again by itself");
		if (rc == 0 || rc == STORE_ENOTFOUND)
			return refuse(op, 404, "not_found", "no such delivery");
		return rc;
	}
	if (rc)
		return rc;
	if (r.kind != OBK_WEBHOOK)
		return refuse(op, 404, "not_found", "no such delivery");
	if (r.result == OBR_DROPPED || !r.payload.n)
		return refuse(op, 409, "conflict", "nothing was sent: there is nothing to redeliver");
	rec_webhook w;
	rc = outbox_webhook_get(t, op->tid, r.target, &w);
	if (rc == STORE_ENOTFOUND)
		return refuse(op, 409, "conflict", "the endpoint of this delivery was deleted");
	if (rc)
		return rc;
	rec_outbox e = { .tid = op->tid, .id = id_next(&op->app->ids), .kind = OBK_WEBHOOK, .target = r.target,
			 .event = r.event, .cid = r.cid, .seq = r.seq };
	size_t len = 0;
	char *body = rebody(&r, e.id, &len);
	if (!body)
		return refuse(op, 409, "conflict", "the stored body of this delivery cannot be read");
	e.payload.p = (const uint8_t *)body;
	e.payload.n = len;
	rc = outbox_enqueue(op->app, t, &e);
	free(body);
	if (rc == 1)
		return refuse(op, 409, "outbox_full", "the workspace's outbox is full: try again later");
	if (rc)
		return STORE_EIO;
	op->delivery = e.id;
	return 0;
}

static int op_apply(wr_req *w, store_txn *t)
{
	wh_op *op = container_of(w, wh_op, w);
	int64_t now = clock_now_ms();
	if (op->kind == OP_CREATE)
		return apply_create(op, t, now);
	if (op->kind == OP_REDELIVER)
		return apply_redeliver(op, t);
	int rc;
	if (op->kind == OP_DELETE) {
		uint64_t removed = 0;
		rec_webhook was;
		rc = outbox_webhook_get(t, op->tid, op->id, &was);
		if (rc == 0)
			rc = outbox_webhook_del(t, op->tid, op->id, &removed);
		if (rc == STORE_ENOTFOUND)
			return refuse(op, 404, "not_found", "no such webhook endpoint");
		if (rc || (rc = audit_hook(op, t, "webhook.delete", op->id, was.url)))
			return rc;
		return sink_stage_endpoint(op->app->outbox, op->tid, op->id, NULL) ? STORE_EIO : 0;
	}
	rec_webhook *h = &op->hook;
	rc = outbox_webhook_get(t, op->tid, op->id, h);
	if (rc == STORE_ENOTFOUND)
		return refuse(op, 404, "not_found", "no such webhook endpoint");
	if (rc)
		return rc;
	if (op->kind == OP_ROTATE) {
		new_secret(h->secret);
	} else {
		if (op->set_url)
			memcpy(h->url, op->url, sizeof h->url);
		if (op->set_desc)
			memcpy(h->description, op->desc, sizeof h->description);
		if (op->set_events)
			h->events = op->events;
		if (op->set_active)
			h->active = op->active;
	}
	h->updated_ms = now;
	if ((rc = outbox_webhook_put(t, h)) ||
	    (rc = audit_hook(op, t, op->kind == OP_ROTATE ? "webhook.rotate_secret" : "webhook.update", h->id, h->url)))
		return rc;
	return sink_stage_endpoint(op->app->outbox, op->tid, op->id, h) ? STORE_EIO : 0;
}

static wh_op *op_new(http_req *req, int kind, const principal *p)
{
	wh_op *op = calloc(1, sizeof *op);
	if (!op) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		return NULL;
	}
	op->app = api_app(req);
	op->kind = kind;
	op->tid = p->tid;
	op->who = *p;
	op->w.apply = op_apply;
	op->w.done = op_done;
	return op;
}

static void submit(http_req *req, wh_op *op)
{
	if (!op->app->outbox) {
		http_respond_error(req, 503, "unavailable", "webhooks are not running", NULL);
		free(op);
		return;
	}
	reply_begin_http(op->app, &op->reply, req);
	writer_submit(op->app->wr, &op->w);
}

/* ------------------------------------------------------------------ input */

static int bad(http_req *req, const char *field, const char *msg)
{
	http_respond_error(req, 400, "invalid_field", msg, field);
	return -1;
}

/* http(s)://host[:port][/path][?query]: no user name or password, no
 * fragment, no white space or control characters. */
static bool valid_url(const char *u)
{
	size_t skip = strncasecmp(u, "https://", 8) == 0 ? 8 : strncasecmp(u, "http://", 7) == 0 ? 7 : 0;
	if (!skip)
		return false;
	for (const unsigned char *c = (const unsigned char *)u; *c; c++)
		if (*c <= ' ' || *c == 0x7f || *c == '#' || *c == '\\')
			return false;
	const char *host = u + skip;
	size_t alen = strcspn(host, "/?");
	if (!alen || memchr(host, '@', alen))
		return false;
	const char *end = host + alen, *port = NULL;
	if (*host == '[') {
		const char *close = memchr(host, ']', alen);
		if (!close || close == host + 1)
			return false;
		for (const char *p = host + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return false;
		if (close + 1 < end) {
			if (close[1] != ':')
				return false;
			port = close + 2;
		}
	} else {
		const char *colon = memchr(host, ':', alen);
		const char *hend = colon ? colon : end;
		if (hend == host)
			return false;
		for (const char *p = host; p < hend; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
				return false;
		if (colon)
			port = colon + 1;
	}
	if (port) {
		if (port == end || end - port > 5)
			return false;
		long v = 0;
		for (const char *p = port; p < end; p++) {
			if (!isdigit((unsigned char)*p))
				return false;
			v = v * 10 + (*p - '0');
		}
		if (v < 1 || v > 65535)
			return false;
	}
	return true;
}

/* The fields of a create or a change: url, events, description, active. */
static int read_endpoint(http_req *req, json_t *body, wh_op *op, bool create)
{
	static const char *const fields[] = { "url", "events", "description", "active", NULL };
	if (api_only(req, body, fields) < 0)
		return -1;
	const char *url, *desc;
	if ((create ? api_str(req, body, "url", true, 1, REC_WEBHOOK_URL_MAX, &url)
		    : api_opt_str(req, body, "url", 1, REC_WEBHOOK_URL_MAX, &url)) < 0 ||
	    api_opt_str(req, body, "description", 0, REC_NAME_MAX, &desc) < 0)
		return -1;
	if (url) {
		if (!valid_url(url))
			return bad(req, "url", "url must be an http or https URL without a user name, password or fragment");
		op->set_url = true;
		snprintf(op->url, sizeof op->url, "%s", url);
	}
	if (desc) {
		op->set_desc = true;
		snprintf(op->desc, sizeof op->desc, "%s", desc);
	}
	json_t *ev = json_object_get(body, "events");
	if (ev || create) {
		if (!json_is_array(ev) || json_array_size(ev) == 0 || json_array_size(ev) > 64)
			return bad(req, "events", "events must be a list of one or more event names");
		size_t i;
		json_t *e;
		json_array_foreach(ev, i, e) {
			int t = json_is_string(e) ? ev_type_parse(json_string_value(e)) : -1;
			if (t < 0)
				return bad(req, "events", "unknown event: see the webhook events in the API reference");
			op->events |= 1ull << t;
		}
		op->set_events = true;
	}
	json_t *act = json_object_get(body, "active");
	if (act) {
		if (!json_is_boolean(act))
			return bad(req, "active", "active must be true or false");
		op->set_active = true;
		op->active = json_is_true(act);
	}
	return 0;
}

/* ------------------------------------------------------------------ endpoint routes */

static bool list_one(void *arg, uint64_t tid, uint64_t id, const rec_webhook *w)
{
	json_t *list = arg;
	if (w)
		json_array_append_new(list, view_webhook(w, false));
	return true;
}

static void list_webhooks(http_req *req, const principal *p)
{
	store_txn t;
	if (store_read(api_app(req)->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	json_t *list = json_array();
	int rc = list ? outbox_webhook_each(&t, p->tid, list_one, list) : STORE_ENOMEM;
	store_done(&t);
	if (rc) {
		json_decref(list);
		http_respond_error(req, 500, "internal", "storage failure", NULL);
		return;
	}
	http_respond_json(req, 200, json_pack("{s:o,s:o}", "data", list, "events", event_names(~0ull)));
}

static void get_webhook(http_req *req, const principal *p)
{
	uint64_t id;
	if (api_id_param(req, 0, &id) < 0)
		return;
	store_txn t;
	if (store_read(api_app(req)->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	rec_webhook w;
	int rc = outbox_webhook_get(&t, p->tid, id, &w);
	store_done(&t);
	if (rc == STORE_ENOTFOUND)
		http_respond_error(req, 404, "not_found", "no such webhook endpoint", NULL);
	else if (rc)
		http_respond_error(req, 500, "internal", "storage failure", NULL);
	else
		http_respond_json(req, 200, view_webhook(&w, false));
}

static void create_webhook(http_req *req, const principal *p)
{
	json_t *body = api_body(req);
	if (!body)
		return;
	wh_op *op = op_new(req, OP_CREATE, p);
	if (op && read_endpoint(req, body, op, true) == 0) {
		submit(req, op);
		op = NULL;
	}
	free(op);
	json_decref(body);
}

static void update_webhook(http_req *req, const principal *p)
{
	uint64_t id;
	if (api_id_param(req, 0, &id) < 0)
		return;
	json_t *body = api_body(req);
	if (!body)
		return;
	wh_op *op = op_new(req, OP_UPDATE, p);
	if (op && read_endpoint(req, body, op, false) == 0) {
		op->id = id;
		submit(req, op);
		op = NULL;
	}
	free(op);
	json_decref(body);
}

/* DELETE, rotate-secret and redeliver: an id and no body (or {}). */
static void action(http_req *req, const principal *p, int kind)
{
	static const char *const none[] = { NULL };
	uint64_t id;
	if (api_id_param(req, 0, &id) < 0)
		return;
	json_t *body = api_body_opt(req);
	if (!body)
		return;
	wh_op *op;
	if (api_only(req, body, none) == 0 && (op = op_new(req, kind, p))) {
		op->id = id;
		submit(req, op);
	}
	json_decref(body);
}

static void delete_webhook(http_req *req, const principal *p)
{
	action(req, p, OP_DELETE);
}

static void rotate_secret(http_req *req, const principal *p)
{
	action(req, p, OP_ROTATE);
}

static void redeliver(http_req *req, const principal *p)
{
	action(req, p, OP_REDELIVER);
}

/* ------------------------------------------------------------------ the delivery log */

enum { ST_ANY = -1, ST_PENDING = OBR__COUNT };

typedef struct {
	uint64_t endpoint;         /* 0: any */
	int status;                /* enum outbox_result (OBR_RETRY: both failures), ST_ANY, ST_PENDING */
	int event;                 /* -1: any */
	int64_t since;             /* 0: any */
	size_t limit, count;
	uint64_t last;
	bool full;
	int wrc;
	buf out;
} dl_ctx;

static bool log_one(void *arg, uint64_t id, const rec_outbox_log *r)
{
	dl_ctx *c = arg;
	if (c->count == c->limit) {
		c->full = true;
		return false;
	}
	if (!r)
		return true;
	if (c->since && r->created_ms < c->since)
		return true;
	if ((c->endpoint && r->target != c->endpoint) || (c->event >= 0 && r->event != c->event) ||
	    r->kind != OBK_WEBHOOK)
		return true;
	if (c->status != ST_ANY && !(r->result == c->status || (c->status == OBR_RETRY && r->result == OBR_PARKED)))
		return true;
	if (c->count++)
		c->wrc |= buf_puts(&c->out, ",");
	c->wrc |= write_row(&c->out, id, r->delivery, r->target, r->event, r->cid, r->seq, r->attempt,
			    r->result < OBR__COUNT ? status_names[r->result] : "failed",
			    r->result == OBR_PARKED || r->result == OBR_OK || r->result == OBR_DROPPED, r->status_code,
			    r->latency_ms, r->error, r->result == OBR_RETRY ? r->next_attempt_ms : 0, r->created_ms,
			    r->result != OBR_DROPPED);
	c->last = id;
	return true;
}

static bool pending_one(void *arg, uint64_t tid, uint64_t id, const rec_outbox *e)
{
	dl_ctx *c = arg;
	if (c->count == c->limit) {
		c->full = true;
		return false;
	}
	if (!e)
		return true;
	if (c->since && e->created_ms < c->since)
		return true;
	if (e->kind != OBK_WEBHOOK || (c->endpoint && e->target != c->endpoint) || (c->event >= 0 && e->event != c->event))
		return true;
	if (c->count++)
		c->wrc |= buf_puts(&c->out, ",");
	c->wrc |= write_row(&c->out, id, id, e->target, e->event, e->cid, e->seq, e->attempts, "pending", false,
			    e->last_status, 0, e->last_error, e->next_attempt_ms, e->created_ms, false);
	c->last = id;
	return true;
}

/* "2026-12-07T10:00:00Z" (optionally with .sss) or epoch milliseconds; -1 if neither. */
static int64_t parse_since(const char *s)
{
	if (*s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 15)
		return strtoll(s, NULL, 10);
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	int ms = 0, n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec, &n) != 6 || n != 19)
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		int digits = 0;
		for (p++; isdigit((unsigned char)*p); p++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
		if (!digits)
			return -1;
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (strcmp(p, "Z") != 0 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

static void deliveries(http_req *req, const principal *p)
{
	dl_ctx c = { .status = ST_ANY, .event = -1 };
	char s[64];
	int n = http_query(req, "endpoint", s, sizeof s);
	if (n != -1 && (n < 0 || !id_parse(s, (size_t)n, &c.endpoint))) {
		http_respond_error(req, 400, "invalid_field", "endpoint must be a webhook endpoint id", "endpoint");
		return;
	}
	n = http_query(req, "status", s, sizeof s);
	if (n != -1) {
		if (n >= 0 && strcmp(s, "ok") == 0)
			c.status = OBR_OK;
		else if (n >= 0 && strcmp(s, "failed") == 0)
			c.status = OBR_RETRY;
		else if (n >= 0 && strcmp(s, "dropped") == 0)
			c.status = OBR_DROPPED;
		else if (n >= 0 && strcmp(s, "pending") == 0)
			c.status = ST_PENDING;
		else {
			http_respond_error(req, 400, "invalid_field", "status must be ok, failed, pending or dropped", "status");
			return;
		}
	}
	n = http_query(req, "event", s, sizeof s);
	if (n != -1 && (n < 0 || (c.event = ev_type_parse(s)) < 0)) {
		http_respond_error(req, 400, "invalid_field", "event must be a webhook event name", "event");
		return;
	}
	n = http_query(req, "since", s, sizeof s);
	if (n != -1 && (n < 0 || (c.since = parse_since(s)) < 0)) {
		http_respond_error(req, 400, "invalid_field", "since must be an ISO-8601 UTC time or epoch milliseconds",
				   "since");
		return;
	}
	int64_t limit;
	if (api_query_int(req, "limit", 25, 1, 100, &limit) < 0)
		return;
	c.limit = (size_t)limit;
	uint64_t below = 0;
	n = http_query(req, "cursor", s, sizeof s);
	if (n != -1 && (n < 0 || !id_parse(s, (size_t)n, &below))) {
		http_respond_error(req, 400, "invalid_field", "cursor is not valid", "cursor");
		return;
	}
	store_txn t;
	if (store_read(api_app(req)->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	c.wrc = buf_puts(&c.out, "{\"data\":[");
	int rc = c.status == ST_PENDING ? outbox_each_back(&t, p->tid, below, pending_one, &c)
					: outbox_log_each(&t, p->tid, below, log_one, &c);
	rec_outbox_count fig;
	if (rc == 0)
		rc = outbox_count(&t, p->tid, &fig);
	store_done(&t);
	c.wrc |= buf_puts(&c.out, "],\"next_cursor\":");
	if (c.full) {
		c.wrc |= buf_puts(&c.out, "\"");
		c.wrc |= jw_u64(&c.out, c.last);
		c.wrc |= buf_puts(&c.out, "\"");
	} else {
		c.wrc |= buf_puts(&c.out, "null");
	}
	if (rc == 0) {
		c.wrc |= buf_puts(&c.out, ",\"outbox\":{\"pending\":");
		c.wrc |= jw_u64(&c.out, fig.pending);
		c.wrc |= buf_puts(&c.out, ",\"dropped\":");
		c.wrc |= jw_u64(&c.out, fig.dropped);
		c.wrc |= buf_puts(&c.out, "}}");
	}
	if (rc)
		http_respond_error(req, 500, "internal", "storage failure", NULL);
	else if (c.wrc)
		http_respond_error(req, 500, "internal", "out of memory", NULL);
	else
		http_respond(req, 200, "application/json", c.out.data, c.out.len, "Cache-Control: no-store\r\n");
	buf_free(&c.out);
}

/* The delivery log's routes go first: /v1/webhooks/{id} would take
 * "deliveries" for an id. */
static const route_def routes[] = {
	{ "GET", "/v1/webhooks/deliveries", PERM_SETTINGS, deliveries },
	{ "POST", "/v1/webhooks/deliveries/{id}/redeliver", PERM_SETTINGS, redeliver },
	{ "GET", "/v1/webhooks", PERM_SETTINGS, list_webhooks },
	{ "POST", "/v1/webhooks", PERM_SETTINGS, create_webhook },
	{ "GET", "/v1/webhooks/{id}", PERM_SETTINGS, get_webhook },
	{ "PATCH", "/v1/webhooks/{id}", PERM_SETTINGS, update_webhook },
	{ "DELETE", "/v1/webhooks/{id}", PERM_SETTINGS, delete_webhook },
	{ "POST", "/v1/webhooks/{id}/rotate-secret", PERM_SETTINGS, rotate_secret },
	{ 0 },
};

const feature feature_outbox = {
	.name = "webhooks",
	.routes = routes,
	.start = outbox_feature_start,
	.stop = outbox_feature_stop,
	.release = outbox_feature_release,
};
