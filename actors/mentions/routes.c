/* mentions routes — the caller's unread mentions (docs/openapi.yaml, tag
 * mentions).
 *
 * A note that mentions agents (`mentions` on a note, actors/conversations)
 * stores one unread mention per agent in the note's transaction and sends
 * each a live `mention` frame (docs/realtime.md). They stay unread until
 * the agent reads the conversation: POST /v1/mentions/read
 * {conversation_id} (the console sends it when it opens a conversation),
 * or a `read` receipt of theirs in it that moves the agents' read mark.
 * GET /v1/mentions lists them, oldest conversation first, with their
 * count. Users only: an API key is
 * mentioned by nobody.
 */
#include "actors/kit/api.h"
#include "actors/kit/view.h"
#include "actors/kit/wrop.h"
#include "storage/tools_store.h"

#include "core/id.h"

#include <stdlib.h>
#include <string.h>

#define MENTIONS_LIST_MAX 500

typedef struct {
	api_list l;
	size_t n;
} mention_list;

static bool add_mention(void *ctx, uint64_t cid, uint64_t seq, uint64_t by, int64_t at_ms)
{
	mention_list *m = ctx;
	if (m->n++ >= MENTIONS_LIST_MAX)
		return true;   /* counted, not listed */
	return api_list_add(&m->l, json_pack("{s:o,s:I,s:o,s:o}", "conversation_id", view_id(cid), "seq",
					     (json_int_t)seq, "by", view_id(by), "at", view_time(at_ms)));
}

static void list_mentions(http_req *req, const principal *p)
{
	store_txn t;
	if (store_read(api_app(req)->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	mention_list m = { 0 };
	api_list_init(&m.l);
	int rc = m.l.failed ? STORE_ENOMEM : mention_each(&t, p->tid, p->id, add_mention, &m);
	store_done(&t);
	if (rc || m.l.failed) {
		api_list_answer(req, &m.l, rc ? rc : STORE_ENOMEM);
		return;
	}
	http_respond_json(req, 200, json_pack("{s:o,s:I}", "data", m.l.data, "count", (json_int_t)m.n));
}

typedef struct {
	wrop op;
	uint64_t tid, uid, cid;
	size_t cleared;
} read_op;

static int apply_read(wrop *w, store_txn *t)
{
	read_op *op = (read_op *)w;
	return mention_clear(t, op->tid, op->uid, op->cid, &op->cleared);
}

static json_t *answer_read(wrop *w)
{
	read_op *op = (read_op *)w;
	return json_pack("{s:I}", "cleared", (json_int_t)op->cleared);
}

static void read_mentions(http_req *req, const principal *p)
{
	static const char *const fields[] = { "conversation_id", NULL };
	json_t *body = api_body(req);
	if (!body)
		return;
	const char *cid_s;
	uint64_t cid = 0;
	if (api_only(req, body, fields) < 0 || api_str(req, body, "conversation_id", true, 1, 20, &cid_s) < 0)
		goto out;
	if (!id_parse(cid_s, strlen(cid_s), &cid)) {
		api_bad_field(req, "conversation_id", "conversation_id is an id");
		goto out;
	}
	read_op *op = wrop_new(req, sizeof *op);
	if (!op)
		goto out;
	op->op.apply = apply_read;
	op->op.answer = answer_read;
	op->tid = p->tid;
	op->uid = p->id;
	op->cid = cid;
	wrop_submit_http(req, &op->op);
out:
	json_decref(body);
}

static const route_def routes[] = {
	{ "GET", "/v1/mentions", PERM_SELF, list_mentions },
	{ "POST", "/v1/mentions/read", PERM_SELF, read_mentions },
	{ 0 },
};

const feature feature_mentions = { .name = "mentions", .routes = routes };
