/* rating — when a conversation may be rated (see rating.h). */
#include "actors/conversations/rating.h"

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
