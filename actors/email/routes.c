/* email — the tenant's outgoing email over the API (docs/openapi.yaml, tag
 * email): the SMTP settings and a test send. Settings permission (admins
 * and owners) for all of it.
 *
 * Settings are read in a snapshot on the I/O thread and changed by one
 * writer request over what is stored at that moment (fields left out
 * keep their value). The password is sealed on the I/O thread before the
 * write (core/secretbox.h, bound to the tenant) and never leaves the
 * server again: the settings answer says only whether one is set.
 *
 * The test send builds the message on the I/O thread (one snapshot: the
 * settings, the tenant, the caller) and hands the SMTP conversation to the
 * feature's own senders: EMAIL_SENDERS threads, so a server that stalls
 * holds a sender for at most --smtp-timeout-ms and never the job threads
 * that hash passwords. The answer waits for the server's verdict.
 */
#include "actors/email/email.h"
#include "actors/email/queue.h"
#include "actors/email/mime.h"
#include "actors/kit/api.h"
#include "actors/kit/audit.h"
#include "actors/kit/view.h"
#include "storage/account_store.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ the view */

static void defaults(rec_email *e, uint64_t tid)
{
	memset(e, 0, sizeof *e);
	e->tid = tid;
	e->port = 587;
	e->security = SMTP_STARTTLS;
}

static json_t *view_settings(const rec_email *e)
{
	return json_pack("{s:b,s:s,s:I,s:s,s:s,s:b,s:s,s:s,s:o}", "configured", email_configured(e), "host", e->host,
			 "port", (json_int_t)e->port, "security", rec_security_name(e->security), "username",
			 e->username, "password_set", e->password[0] != 0, "from", e->from, "notify_address",
			 e->notify, "updated_at", e->updated_ms ? view_time(e->updated_ms) : json_null());
}

/* The stored settings or the defaults; 0 or a store code. */
static int read_settings(store_txn *t, uint64_t tid, rec_email *e)
{
	int rc = account_email_get(t, tid, e);
	if (rc == STORE_ENOTFOUND) {
		defaults(e, tid);
		return 0;
	}
	return rc;
}

static void get_settings(http_req *req, const principal *p)
{
	store_txn t;
	if (store_read(api_app(req)->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	rec_email e;
	int rc = read_settings(&t, p->tid, &e);
	store_done(&t);
	if (rc)
		http_respond_error(req, 500, "internal", "storage failure", NULL);
	else
		http_respond_json(req, 200, view_settings(&e));
}

/* ------------------------------------------------------------------ the change */

typedef struct {
	wr_req w;
	app *app;
	reply_to reply;
	uint64_t tid;
	/* NULL / -1 = unchanged */
	const char *host, *username, *password, *from, *notify;
	long port;
	int security;
	char host_s[REC_HOST_MAX + 1], username_s[REC_EMAIL_MAX + 1], password_s[REC_SEALED_MAX + 1];
	char from_s[REC_EMAIL_MAX + 1], notify_s[REC_EMAIL_MAX + 1];
	rec_email result;
	bool invalid;
	principal who;                  /* the caller (the audit row) */
} settings_op;

static int op_apply(wr_req *w, store_txn *t)
{
	settings_op *op = container_of(w, settings_op, w);
	rec_email *e = &op->result;
	int rc = account_email_get(t, op->tid, e);
	if (rc == STORE_ENOTFOUND) {
		defaults(e, op->tid);
		/* a first save without a port: the usual one of its security */
		if (op->port < 0 && op->security >= 0)
			e->port = op->security == SMTP_TLS ? 465 : op->security == SMTP_PLAIN ? 25 : 587;
	} else if (rc) {
		return rc;
	}
#define TAKE(field, v) \
	if (v) \
		snprintf(field, sizeof field, "%s", v)
	TAKE(e->host, op->host);
	TAKE(e->username, op->username);
	TAKE(e->password, op->password);
	TAKE(e->from, op->from);
	TAKE(e->notify, op->notify);
#undef TAKE
	if (op->port >= 0)
		e->port = (uint64_t)op->port;
	if (op->security >= 0)
		e->security = (uint8_t)op->security;
	rc = account_email_put(t, e);
	if (rc == STORE_ECONFLICT) {   /* validated before; the store checks before it writes */
		op->invalid = true;
		return 0;
	}
	if (rc)
		return rc;
	/* the audit row names the fields changed, never the password */
	json_t *fields = json_array();
	const char *const names[] = { "host", "username", "password", "from", "notify" };
	const char *const given[] = { op->host, op->username, op->password, op->from, op->notify };
	for (size_t i = 0; fields && i < sizeof names / sizeof *names; i++)
		if (given[i])
			json_array_append_new(fields, json_string(names[i]));
	if (fields && op->port >= 0)
		json_array_append_new(fields, json_string("port"));
	if (fields && op->security >= 0)
		json_array_append_new(fields, json_string("security"));
	return audit_json(op->app, t, op->tid, &op->who, "email.update", "email_settings", op->tid,
			  json_pack("{s:o}", "fields", fields ? fields : json_array())) ? STORE_EIO : 0;
}

static void op_done(wr_req *w, int rc)
{
	settings_op *op = container_of(w, settings_op, w);
	app *a = op->app;
	if (rc) {
		log_error("email.settings_write", "err=\"%s\"", store_strerror(rc));
		reply_error(a, &op->reply, 500, "internal", "storage failure");
	} else if (op->invalid) {
		reply_error(a, &op->reply, 400, "invalid_field", "invalid settings");
	} else {
		log_info("email.settings_changed", "tenant=%llu host=\"%s\" port=%llu security=%s",
			 (unsigned long long)op->tid, op->result.host, (unsigned long long)op->result.port,
			 rec_security_name(op->result.security));
		reply_json(a, &op->reply, 200, view_settings(&op->result));
	}
	memset(op->password_s, 0, sizeof op->password_s);
	free(op);
}

static int bad(http_req *req, const char *field, const char *msg)
{
	http_respond_error(req, 400, "invalid_field", msg, field);
	return -1;
}

/* An optional address field: empty (none) or one address. */
static int read_address(http_req *req, json_t *body, const char *name, char *out, const char **set)
{
	const char *v;
	if (api_opt_str(req, body, name, 0, REC_EMAIL_MAX, &v) < 0)
		return -1;
	if (!v)
		return 0;
	if (v[0] && !account_email_address_ok(v))
		return bad(req, name, "must be empty or one address, name@domain (no display name, spaces or <>)");
	*set = strcpy(out, v);
	return 0;
}

static int read_fields(http_req *req, json_t *body, const principal *p, settings_op *op)
{
	static const char *const fields[] = { "host", "port", "security", "username", "password", "from",
					      "notify_address", NULL };
	const char *host, *security, *username, *password;
	if (api_only(req, body, fields) < 0 || api_opt_str(req, body, "host", 0, REC_HOST_MAX, &host) < 0 ||
	    api_opt_str(req, body, "security", 1, 16, &security) < 0 ||
	    api_opt_str(req, body, "username", 0, REC_EMAIL_MAX, &username) < 0 ||
	    api_opt_str(req, body, "password", 0, SMTP_PASSWORD_MAX, &password) < 0 ||
	    read_address(req, body, "from", op->from_s, &op->from) < 0 ||
	    read_address(req, body, "notify_address", op->notify_s, &op->notify) < 0)
		return -1;
	if (host) {
		if (host[0] && !account_email_host_ok(host))
			return bad(req, "host", "host must be a host name or an IP address (empty: no SMTP server)");
		op->host = strcpy(op->host_s, host);
	}
	json_t *port = json_object_get(body, "port");
	if (port) {
		if (!json_is_integer(port) || json_integer_value(port) < 1 || json_integer_value(port) > 65535)
			return bad(req, "port", "port must be an integer 1..65535");
		op->port = (long)json_integer_value(port);
	}
	if (security && (op->security = rec_security_parse(security)) < 0)
		return bad(req, "security", "security must be starttls, tls or none");
	if (username) {
		for (const unsigned char *c = (const unsigned char *)username; *c; c++)
			if (*c < ' ' || *c == 0x7f)
				return bad(req, "username", "username may not hold control characters");
		op->username = strcpy(op->username_s, username);
	}
	if (password) {
		if (password[0] && email_seal_password(op->app, p->tid, password, op->password_s) < 0) {
			http_respond_error(req, 500, "internal", "could not seal the password", NULL);
			return -1;
		}
		op->password = op->password_s;   /* "" clears it */
	}
	return 0;
}

static void patch_settings(http_req *req, const principal *p)
{
	app *a = api_app(req);
	json_t *body = api_body(req);
	if (!body)
		return;
	settings_op *op = calloc(1, sizeof *op);
	if (!op) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		goto out;
	}
	op->app = a;
	op->tid = p->tid;
	op->who = *p;
	op->port = -1;
	op->security = -1;
	if (read_fields(req, body, p, op) < 0)
		goto out;
	op->w.apply = op_apply;
	op->w.done = op_done;
	reply_begin_http(a, &op->reply, req);
	writer_submit(a->wr, &op->w);
	op = NULL;
out:
	if (op)
		memset(op->password_s, 0, sizeof op->password_s);
	free(op);
	json_decref(body);
}

/* ------------------------------------------------------------------ the test send */

typedef struct {
	app *app;
	reply_to reply;
	uint64_t tid;
	smtp_server server;
	char to[REC_EMAIL_MAX + 1];
	buf msg;
} test_send;

static void test_free(test_send *ts)
{
	smtp_server_wipe(&ts->server);
	buf_free(&ts->msg);
	free(ts);
}

/* On a sender thread: the whole SMTP conversation, then the answer. */
static void run_test(void *arg)
{
	test_send *ts = arg;
	app *a = ts->app;
	smtp_job j;
	char what[320], server[REC_HOST_MAX + 32];
	smtp_server_describe(&ts->server, server, sizeof server);
	int outcome = SMTP_FAILED;
	if (smtp_job_init(&j, &ts->server, ts->to, &ts->msg, a->egress, a->cfg.smtp_timeout_ms,
			  a->cfg.smtp_timeout_ms) < 0) {
		snprintf(what, sizeof what, "could not set up the SMTP client");
	} else {
		j.cancel = &a->email->stopping;
		CURLcode rc = atomic_load(&a->email->stopping) ? CURLE_ABORTED_BY_CALLBACK : curl_easy_perform(j.h);
		outcome = smtp_job_outcome(&j, rc, what, sizeof what);
		if (atomic_load(&a->email->stopping) && outcome != SMTP_SENT)
			snprintf(what, sizeof what, "the server is stopping");
		smtp_job_cleanup(&j);
	}
	log_info("email.test_send", "tenant=%llu server=\"%s\" outcome=%d what=\"%s\"", (unsigned long long)ts->tid,
		 server, outcome, what);
	if (outcome == SMTP_SENT) {
		reply_json(a, &ts->reply, 200, json_pack("{s:b,s:s,s:s,s:s}", "sent", 1, "to", ts->to, "server", server,
							 "reply", what));
	} else {
		static const char *const codes[] = { [SMTP_REJECTED] = "smtp_rejected", [SMTP_FAILED] = "smtp_failed",
						     [SMTP_TIMEOUT] = "smtp_timeout", [SMTP_FORBIDDEN] = "smtp_forbidden" };
		reply_error(a, &ts->reply, 502, codes[outcome], what);
	}
	test_free(ts);
}

static void send_test(http_req *req, const principal *p)
{
	static const char *const fields[] = { "to", NULL };
	app *a = api_app(req);
	json_t *body = api_body_opt(req);
	if (!body)
		return;
	const char *to;
	test_send *ts = NULL;
	store_txn t;
	if (api_only(req, body, fields) < 0 || api_opt_str(req, body, "to", 3, REC_EMAIL_MAX, &to) < 0)
		goto out;
	if (to && !account_email_address_ok(to)) {
		bad(req, "to", "to must be one address, name@domain");
		goto out;
	}
	if (!to && p->kind == P_APIKEY) {   /* a key has no address of its own */
		bad(req, "to", "an API key has no address: give to");
		goto out;
	}
	if (store_read(a->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		goto out;
	}
	rec_email e;
	rec_tenant tenant;
	rec_user user;
	int rc = read_settings(&t, p->tid, &e);
	if (rc == 0)
		rc = account_tenant_get(&t, p->tid, &tenant);
	memset(&user, 0, sizeof user);
	if (rc == 0 && p->kind == P_APIKEY)   /* requested by the key, under its name */
		snprintf(user.name, sizeof user.name, "%s", p->name);
	else if (rc == 0)
		rc = account_user_get(&t, p->tid, p->id, &user);
	store_done(&t);
	if (rc) {
		http_respond_error(req, 500, "internal", "storage failure", NULL);
		goto out;
	}
	if (!email_configured(&e)) {
		http_respond_error(req, 409, "not_configured", "set the SMTP host and the from address first", NULL);
		goto out;
	}
	if (!(ts = calloc(1, sizeof *ts))) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		goto out;
	}
	ts->app = a;
	ts->tid = p->tid;
	snprintf(ts->to, sizeof ts->to, "%s", to ? to : user.email);
	if (email_open_server(a, &e, &ts->server) < 0) {
		http_respond_error(req, 409, "password_unreadable",
				   "the stored SMTP password does not open with this server's key (was --secret-key-file "
				   "replaced?): enter the password again", "password");
		goto out;
	}
	char server[REC_HOST_MAX + 32];
	smtp_server_describe(&ts->server, server, sizeof server);
	email_body b;
	tpl_test v = { .workspace = tenant.name, .server = server, .requested_by = user.name };
	rc = tpl_test_render(&v, &b);   /* frees b itself when it fails */
	if (rc == 0) {
		rc = email_compose(&e, tenant.name, ts->to, &b, false, &ts->msg);
		email_body_free(&b);
	}
	if (rc < 0) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		goto out;
	}
	reply_begin_http(a, &ts->reply, req);
	if (jobs_run(a->email->senders, run_test, ts) < 0) {
		reply_error(a, &ts->reply, 503, "busy", "too many test emails at once, retry");
		goto out;
	}
	ts = NULL;
out:
	if (ts)
		test_free(ts);
	json_decref(body);
}

/* ------------------------------------------------------------------ lifetime */

static int email_start(app *a)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	struct email *m = calloc(1, sizeof *m);
	if (!m)
		return -1;
	m->rt = actor_rt_start(&(actor_rt_opts){ .workers = EMAIL_SENDERS, .batch = 1 });
	m->senders = m->rt ? jobs_new(m->rt, EMAIL_SENDERS) : NULL;
	if (!m->senders) {
		if (m->rt)
			actor_rt_stop(&m->rt);
		free(m);
		return -1;
	}
	a->email = m;
	return email_queue_start(a);   /* a failed start is followed by the stop hook */
}

/* Transfers in progress stop at their next progress check (about once a
 * second), queued test sends are answered "stopping", then the senders go. */
static void email_stop(app *a)
{
	struct email *m = a->email;
	if (!m)
		return;
	atomic_store(&m->stopping, true);
	actor_rt_stop(&m->rt);
	jobs_free(&m->senders);
	free(m);
	a->email = NULL;
	curl_global_cleanup();
}

static const route_def routes[] = {
	{ "GET", "/v1/email/settings", PERM_SETTINGS, get_settings },
	{ "PATCH", "/v1/email/settings", PERM_SETTINGS, patch_settings },
	{ "POST", "/v1/email/test", PERM_SETTINGS, send_test },
	{ 0 },
};

const feature feature_email = { .name = "email", .routes = routes, .start = email_start, .stop = email_stop };
