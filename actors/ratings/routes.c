/* ratings — the visitor rates their conversation once it is resolved or
 * closed: POST /v1/widget/conversations/{id}/rating {score 1..5, comment}.
 *
 * The route checks the input and what it can see now (clear errors before
 * anything is sent); the conversation actor decides against its current
 * state (conv.h CM_RATE) and writes the rating record, the conversation's
 * score and the rating event in one transaction, with rating.created to
 * the sinks (kit/emit.h). Once per conversation, even across a reopen:
 * the conversation's `rating` stays set. */
#include "actors/conversations/access.h"
#include "actors/conversations/conv.h"
#include "actors/conversations/rating.h"
#include "actors/kit/prechat.h"
#include "core/clock.h"
#include "storage/account_store.h"

#include <stdlib.h>
#include <string.h>

/* 0 when c may be rated now, else answers the reason and returns -1.
 * Shared reasoning with the actor's check (ratings_refusal). */
static int refuse(http_req *req, const rec_conv *c, int64_t window_ms)
{
	const char *code, *msg;
	int why = ratings_refusal(c, window_ms, clock_now_ms(), &code, &msg);
	if (!why)
		return 0;
	http_respond_error(req, 409, code, msg, NULL);
	return -1;
}

static void rate(http_req *req, const principal *pp)
{
	app *a = api_app(req);
	principal p = *pp;
	static const char *const fields[] = { "score", "comment", NULL };
	json_t *body = api_body(req);
	if (!body)
		return;
	const char *comment = NULL;
	json_t *s = json_object_get(body, "score");
	if (api_only(req, body, fields) < 0)
		goto out;
	if (!s || !json_is_integer(s) || json_integer_value(s) < 1 || json_integer_value(s) > 5) {
		api_bad_field(req, "score", "score must be a whole number from 1 to 5");
		goto out;
	}
	if (api_str(req, body, "comment", false, 0, REC_COMMENT_MAX, &comment) < 0)
		goto out;
	rec_conv c;
	if (api_route_conv(req, &p, &c) < 0)
		goto out;
	rec_tenant t;
	store_txn tx;
	int rc = store_read(a->db, &tx);
	if (rc == 0)
		rc = account_tenant_get(&tx, p.tid, &t);
	store_done(&tx);
	if (rc) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		goto out;
	}
	int64_t window = prechat_rating_window_ms(&t);
	if (refuse(req, &c, window) < 0)
		goto out;
	conv_msg *m = conv_msg_new(CM_RATE);
	if (!m || (comment && comment[0] && !(m->text = strdup(comment)))) {
		conv_msg_free(m);
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		goto out;
	}
	m->text_len = m->text ? strlen(m->text) : 0;
	m->status = (uint8_t)json_integer_value(s);   /* the score */
	m->window_ms = window;
	m->who = p;
	reply_begin_http(a, &m->reply, req);
	conv_send(a, p.tid, c.id, m);
out:
	json_decref(body);
}

static const route_def routes[] = {
	{ "POST", "/v1/widget/conversations/{id}/rating", PERM_VISITOR, rate },
	{ 0 },
};

const feature feature_ratings = { .name = "ratings", .routes = routes };
