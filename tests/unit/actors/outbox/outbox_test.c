/* outbox_test — actors/outbox: the signature header (HMAC-SHA256 over
 * "<unix time>." and the body, against values computed independently with
 * Python's hmac module), the back-off (doubling from 1 s, capped at an
 * hour, jitter between half and all of each wait), and the delivery bodies
 * the sink builds for each event (valid JSON with the envelope's fields,
 * the conversation's seq, the message).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/outbox/internal.h"

static void test_signature(void **state)
{
	(void)state;
	char sig[OUTBOX_SIG_LEN + 1];
	outbox_sign("whsec_test", 1700000000, "{\"id\":\"1\"}", 10, sig);
	assert_string_equal(sig, "v1=11bf4466ea17c3df3fd743af0b435368e16b7a05eb8eced85e8c4670767bdec5");
	outbox_sign("k", 0, NULL, 0, sig);
	assert_string_equal(sig, "v1=6b4a4b8b3c40f1e8f53a3d36682e5f99f7ad2ac1df1c93dfe336f329167641e7");
	/* a body larger than the stack buffer */
	char *big = malloc(5000);
	assert_non_null(big);
	memset(big, 'x', 5000);
	outbox_sign("whsec_big", 1700000001, big, 5000, sig);
	assert_string_equal(sig, "v1=7a1160630df07970f8113485de351f2f2a009b35fe1fe1ad955f5b6d8ccc3df8");
	free(big);
}

static void test_backoff(void **state)
{
	(void)state;
	/* attempt n waits between half and all of 1 s * 2^(n-1), at most an hour */
	for (uint64_t n = 1; n <= 40; n++) {
		int64_t full = OUTBOX_BACKOFF_BASE_MS;
		for (uint64_t i = 1; i < n && full < OUTBOX_BACKOFF_CAP_MS; i++)
			full *= 2;
		if (full > OUTBOX_BACKOFF_CAP_MS)
			full = OUTBOX_BACKOFF_CAP_MS;
		int64_t lo = INT64_MAX, hi = 0;
		for (uint64_t r = 0; r < 2000; r++) {
			int64_t w = deliver_backoff_ms(n, r * 2654435761u + n);
			lo = w < lo ? w : lo;
			hi = w > hi ? w : hi;
		}
		assert_true(lo >= full / 2 && hi <= full);
		assert_true(hi - lo > full / 4);   /* the jitter spreads */
	}
	assert_int_equal(deliver_backoff_ms(1, 0), 500);
	assert_int_equal(deliver_backoff_ms(1, 500), 1000);
	assert_int_equal(deliver_backoff_ms(3, 0), 2000);
	assert_true(deliver_backoff_ms(1000000, UINT64_MAX) <= OUTBOX_BACKOFF_CAP_MS);
}

static json_t *parse(const buf *b)
{
	json_error_t err;
	json_t *v = json_loadb(b->data, b->len, 0, &err);
	if (!v)
		fail_msg("not JSON (%s): %.*s", err.text, (int)b->len, b->data);
	return v;
}

static void test_payloads(void **state)
{
	(void)state;
	rec_conv c = { .tid = 7, .id = 100, .visitor_id = 5, .status = CS_OPEN, .priority = CP_HIGH, .last_seq = 3,
		       .created_ms = 1700000000000, .updated_ms = 1700000001000 };
	strcpy(c.visitor_name, "Ann \"A\"");
	rec_event e = { .tid = 7, .cid = 100, .seq = 3, .kind = EK_MESSAGE, .sender_type = ST_VISITOR, .sender_id = 5,
			.created_ms = 1700000001000 };
	strcpy(e.sender_name, "Ann");
	strcpy(e.text, "hello\nwörld \\ \"quoted\"");
	strcpy(e.client_id, "c-1");
	app_event ev = { .type = EV_MESSAGE_CREATED, .tid = 7, .at_ms = 1700000001000, .conv = &c, .event = &e };
	buf b = { 0 };
	assert_int_equal(sink_payload(&ev, 42, &b), 0);
	json_t *v = parse(&b);
	assert_string_equal(json_string_value(json_object_get(v, "id")), "42");
	assert_string_equal(json_string_value(json_object_get(v, "event")), "message.created");
	assert_string_equal(json_string_value(json_object_get(v, "tenant_id")), "7");
	assert_string_equal(json_string_value(json_object_get(v, "created_at")), "2023-11-14T22:13:21.000Z");
	json_t *data = json_object_get(v, "data");
	json_t *conv = json_object_get(data, "conversation");
	assert_string_equal(json_string_value(json_object_get(conv, "id")), "100");
	assert_int_equal(json_integer_value(json_object_get(conv, "seq")), 3);
	assert_string_equal(json_string_value(json_object_get(conv, "priority")), "high");
	json_t *msg = json_object_get(data, "message");
	assert_string_equal(json_string_value(json_object_get(msg, "text")), e.text);
	assert_int_equal(json_integer_value(json_object_get(msg, "seq")), 3);
	assert_false(json_is_true(json_object_get(msg, "private")));
	json_decref(v);

	/* a conversation event carries the seq of its own event, not the last */
	rec_event st = { .tid = 7, .cid = 100, .seq = 2, .kind = EK_STATUS, .status = CS_RESOLVED };
	ev = (app_event){ .type = EV_CONVERSATION_RESOLVED, .tid = 7, .at_ms = 1, .conv = &c, .event = &st };
	b.len = 0;
	assert_int_equal(sink_payload(&ev, 43, &b), 0);
	v = parse(&b);
	assert_string_equal(json_string_value(json_object_get(v, "event")), "conversation.resolved");
	conv = json_object_get(json_object_get(v, "data"), "conversation");
	assert_int_equal(json_integer_value(json_object_get(conv, "seq")), 2);
	assert_null(json_object_get(json_object_get(v, "data"), "message"));
	json_decref(v);

	/* visitors and users */
	rec_visitor vis = { .tid = 7, .id = 5, .created_ms = 1700000000000 };
	strcpy(vis.name, "Ann");
	ev = (app_event){ .type = EV_VISITOR_CREATED, .tid = 7, .at_ms = 1, .visitor = &vis };
	b.len = 0;
	assert_int_equal(sink_payload(&ev, 44, &b), 0);
	v = parse(&b);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(v, "data"), "visitor"),
								 "name")), "Ann");
	json_decref(v);
	rec_user u = { .tid = 7, .id = 9, .active = true };
	strcpy(u.email, "bo@example.org");
	strcpy(u.role, "agent");
	strcpy(u.pw_hash, "$argon2id$secret");
	ev = (app_event){ .type = EV_USER_UPDATED, .tid = 7, .at_ms = 1, .user = &u };
	b.len = 0;
	assert_int_equal(sink_payload(&ev, 45, &b), 0);
	v = parse(&b);
	json_t *user = json_object_get(json_object_get(v, "data"), "user");
	assert_string_equal(json_string_value(json_object_get(user, "email")), "bo@example.org");
	assert_null(json_object_get(user, "pw_hash"));
	assert_null(strstr(b.data, "argon2"));
	json_decref(v);

	/* an event without what it needs is refused */
	ev = (app_event){ .type = EV_MESSAGE_CREATED, .tid = 7, .conv = &c };
	b.len = 0;
	assert_int_equal(sink_payload(&ev, 46, &b), -1);
	ev = (app_event){ .type = EV__COUNT, .tid = 7, .conv = &c };
	assert_int_equal(sink_payload(&ev, 46, &b), -1);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_payloads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
