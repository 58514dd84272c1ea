/* rating — when a conversation may be rated (see rating.h). */
#include "actors/conversations/rating.h"
#include "actors/conversations/view.h"
#include "actors/kit/app.h"
#include "storage/account_store.h"
#include "storage/rating_store.h"

int64_t rating_ended_ms(const rec_conv *c)
{
	if (c->status == CS_CLOSED && c->closed_ms)
		return c->closed_ms;
	return c->resolved_ms ? c->resolved_ms : c->updated_ms;
}

int ratings_refusal(const rec_conv *c, int64_t window_ms, int64_t now_ms, const char **code, const char **msg)
{
	if (c->rating) {
		*code = "already_rated";
		*msg = "this conversation has been rated already";
		return 409;
	}
	if (c->status != CS_RESOLVED && c->status != CS_CLOSED) {
		*code = "not_resolved";
		*msg = "a conversation is rated once it is resolved or closed";
		return 409;
	}
	if (now_ms > rating_ended_ms(c) + window_ms) {
		*code = "rating_window_over";
		*msg = "the time to rate this conversation is over";
		return 409;
	}
	return 0;
}

json_t *rating_load_view(struct app *a, const rec_conv *c)
{
	if (!c->rating)
		return json_null();
	store_txn t;
	rec_rating r;
	int rc = store_read(a->db, &t);
	if (rc == 0)
		rc = rating_get(&t, c->tid, c->id, &r);
	json_t *agent = NULL;
	rec_user u;
	if (rc == 0 && r.agent_id && account_user_get(&t, c->tid, r.agent_id, &u) == 0)
		agent = json_string(u.name);
	store_done(&t);
	if (rc)
		return json_null();
	json_t *v = view_rating(&r, agent ? json_string_value(agent) : "");
	json_decref(agent);
	return v ? v : json_null();
}
