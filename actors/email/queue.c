/* queue — the emails Parley sends through the outbox (see queue.h). */
#include "actors/email/queue.h"
#include "actors/email/email.h"
#include "actors/kit/emit.h"
#include "actors/outbox/outbox.h"
#include "core/id.h"
#include "core/log.h"
#include "storage/account_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INVITE_PAGE "/agent/set-password.html#token="

/* Writes the entry: payload "<to>\n<message>". Rendering failures (out of
 * memory) lose the email, never the write that caused it. */
static int enqueue(app *a, store_txn *tx, const rec_email *e, const char *workspace, const char *to,
		   email_body *b, bool notification, uint8_t event, uint64_t tid, uint64_t cid)
{
	buf p = { 0 };
	int rc = 0;
	if (buf_append(&p, to, strlen(to)) < 0 || buf_append(&p, "\n", 1) < 0 ||
	    email_compose(e, workspace, to, b, notification, &p) < 0) {
		log_error("email.queue", "tid=%llu msg=\"out of memory; the email is not sent\"",
			  (unsigned long long)tid);
		goto out;
	}
	rec_outbox en = { .tid = tid, .kind = OBK_EMAIL, .event = event, .cid = cid,
			  .payload = { .p = (const uint8_t *)p.data, .n = p.len } };
	rc = outbox_enqueue(a, tx, &en);
	rc = rc == 1 ? 0 : rc;   /* dropped over the quota: counted there */
out:
	buf_free(&p);
	email_body_free(b);
	return rc;
}

/* Reads the tenant's settings and name; false when nothing is to be sent. */
static int settings(store_txn *tx, uint64_t tid, rec_email *e, rec_tenant *t, bool *send)
{
	*send = false;
	int rc = account_email_get(tx, tid, e);
	if (rc == STORE_ENOTFOUND || rc == STORE_ECORRUPT)
		return 0;
	if (rc)
		return rc;
	if (!email_configured(e))
		return 0;
	rc = account_tenant_get(tx, tid, t);
	if (rc)
		return rc == STORE_ENOTFOUND || rc == STORE_ECORRUPT ? 0 : rc;
	*send = true;
	return 0;
}

static int on_event(struct app *a, store_txn *tx, const app_event *ev, void *ctx)
{
	(void)ctx;
	if (ev->type != EV_CONVERSATION_CREATED || !ev->conv || !a->outbox)
		return 0;
	rec_email e;
	rec_tenant t;
	bool send;
	int rc = settings(tx, ev->tid, &e, &t, &send);
	if (rc || !send || !e.notify[0])
		return rc;
	const rec_conv *c = ev->conv;
	char path[64], link[sizeof a->cfg.public_url + 64], ids[24];
	snprintf(path, sizeof path, "/agent/#inbox/%s", id_str(c->id, ids));
	email_link(a, path, link, sizeof link);
	tpl_new_conversation v = {
		.workspace = t.name,
		.visitor_name = ev->visitor ? ev->visitor->name : c->visitor_name,
		.visitor_email = ev->visitor ? ev->visitor->email : c->visitor_email,
		.visitor_phone = "",
		.message = ev->first ? ev->first->text : c->lm_text,
		.link = link,
	};
	email_body b;
	if (tpl_new_conversation_render(&v, &b) < 0) {
		log_error("email.queue", "tid=%llu msg=\"out of memory; the email is not sent\"", (unsigned long long)ev->tid);
		return 0;
	}
	return enqueue(a, tx, &e, t.name, e.notify, &b, true, EV_CONVERSATION_CREATED, ev->tid, c->id);
}

int email_queue_invitation(app *a, store_txn *tx, const rec_user *u, const char *inviter, const char *token,
			   int64_t expires_ms)
{
	if (!a->outbox)
		return 0;
	rec_email e;
	rec_tenant t;
	bool send;
	int rc = settings(tx, u->tid, &e, &t, &send);
	if (rc || !send)
		return rc;
	char path[sizeof INVITE_PAGE + 256], link[sizeof a->cfg.public_url + sizeof path];
	snprintf(path, sizeof path, INVITE_PAGE "%s", token);
	email_link(a, path, link, sizeof link);
	tpl_invitation v = { .workspace = t.name, .name = u->name, .role = u->role, .inviter = inviter ? inviter : "",
			     .link = link, .expires_ms = expires_ms };
	email_body b;
	if (tpl_invitation_render(&v, &b) < 0) {
		log_error("email.queue", "tid=%llu msg=\"out of memory; the email is not sent\"", (unsigned long long)u->tid);
		return 0;
	}
	return enqueue(a, tx, &e, t.name, u->email, &b, false, EV_USER_UPDATED, u->tid, 0);
}

int email_queue_send(app *a, store_txn *tx, uint64_t tid, const char *to, email_body *b, uint8_t event, uint64_t cid,
		     bool *sent)
{
	*sent = false;
	if (!a->outbox) {
		email_body_free(b);
		return 0;
	}
	rec_email e;
	rec_tenant t;
	bool send;
	int rc = settings(tx, tid, &e, &t, &send);
	if (rc || !send) {
		email_body_free(b);
		return rc;
	}
	*sent = true;
	return enqueue(a, tx, &e, t.name, to, b, false, event, tid, cid);
}

int email_queue_offline(app *a, store_txn *tx, const rec_dept *d, const rec_conv *convs, size_t n)
{
	if (!a->outbox || !n)
		return 0;
	rec_email e;
	rec_tenant t;
	bool send;
	int rc = settings(tx, d->tid, &e, &t, &send);
	if (rc || !send)
		return rc;
	const char *to = d->notify_email[0] ? d->notify_email : e.notify;
	if (!to[0])
		return 0;
	tpl_offline_item *items = calloc(n, sizeof *items);
	char (*links)[sizeof a->cfg.public_url + 64] = calloc(n, sizeof *links);
	if (!items || !links) {
		free(items);
		free(links);
		log_error("email.queue", "tid=%llu msg=\"out of memory; the email is not sent\"", (unsigned long long)d->tid);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		char path[64], ids[24];
		snprintf(path, sizeof path, "/agent/#inbox/%s", id_str(convs[i].id, ids));
		email_link(a, path, links[i], sizeof links[i]);
		items[i] = (tpl_offline_item){ convs[i].visitor_name, convs[i].visitor_email, convs[i].lm_text, links[i] };
	}
	tpl_offline_digest v = { .workspace = t.name, .department = d->name, .items = items, .n = n };
	email_body b;
	rc = tpl_offline_digest_render(&v, &b);
	free(items);
	free(links);
	if (rc < 0) {
		log_error("email.queue", "tid=%llu msg=\"out of memory; the email is not sent\"", (unsigned long long)d->tid);
		return 0;
	}
	return enqueue(a, tx, &e, t.name, to, &b, true, EV_CONVERSATION_CREATED, d->tid, convs[0].id);
}

/* Outbound thread: sets up j to send entry en (read in t) through the
 * tenant's current settings. 0; or -1 with a reason in why (the settings
 * are gone or do not open, out of memory) — an attempt that failed. */
static int email_queue_job(app *a, store_txn *t, const rec_outbox *en, smtp_job *j, long connect_ms, long total_ms,
		    char *why, size_t cap)
{
	memset(j, 0, sizeof *j);
	const char *p = (const char *)en->payload.p;
	const char *nl = p ? memchr(p, '\n', en->payload.n) : NULL;
	char to[REC_EMAIL_MAX + 1];
	if (!nl || (size_t)(nl - p) > REC_EMAIL_MAX) {
		snprintf(why, cap, "the stored email is malformed");
		return -1;
	}
	memcpy(to, p, (size_t)(nl - p));
	to[nl - p] = 0;
	rec_email e;
	int rc = account_email_get(t, en->tid, &e);
	if (rc || !email_configured(&e)) {
		snprintf(why, cap, "the workspace has no SMTP settings");
		return -1;
	}
	smtp_server s;
	if (email_open_server(a, &e, &s) < 0) {
		smtp_server_wipe(&s);
		snprintf(why, cap, "the SMTP password does not open with this server's key; set it again");
		return -1;
	}
	buf msg = { 0 };
	size_t off = (size_t)(nl - p) + 1;
	if (buf_append(&msg, p + off, en->payload.n - off) < 0) {
		smtp_server_wipe(&s);
		snprintf(why, cap, "out of memory");
		return -1;
	}
	rc = smtp_job_init(j, &s, to, &msg, a->egress, connect_ms, total_ms);
	smtp_server_wipe(&s);
	if (rc < 0) {
		snprintf(why, cap, "cannot set up the SMTP transfer");
		return -1;
	}
	return 0;
}

static int send_setup(app *a, store_txn *t, const rec_outbox *en, long connect_ms, long total_ms, void **job, CURL **h,
		      char *why, size_t cap)
{
	smtp_job *j = calloc(1, sizeof *j);
	if (!j) {
		snprintf(why, cap, "out of memory");
		return -1;
	}
	if (email_queue_job(a, t, en, j, connect_ms, total_ms, why, cap) < 0) {
		free(j);
		return -1;
	}
	*job = j;
	*h = j->h;
	return 0;
}

static bool send_outcome(void *job, CURLcode rc, char *what, size_t cap)
{
	return smtp_job_outcome(job, rc, what, cap) == SMTP_SENT;
}

static void send_done(void *job)
{
	smtp_job_cleanup(job);
	free(job);
}

int email_queue_start(app *a)
{
	static const emit_sink sink = { .name = "email", .in_txn = on_event };
	static const outbox_sender sender = { .setup = send_setup, .outcome = send_outcome, .done = send_done };
	return emit_register(a, &sink) < 0 || outbox_sender_register(a, OBK_EMAIL, &sender) < 0 ? -1 : 0;
}
