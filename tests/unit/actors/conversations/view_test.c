/* view_test — the hand-written event frame encoder must produce exactly the
 * JSON of the jansson-built view, for every event kind and awkward text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "actors/conversations/view.h"
#include "core/jw.h"

static void check_plain(const rec_event *e)
{
	buf b = { 0 };
	assert_int_equal(view_event_write(e, &b), 0);
	json_error_t err;
	json_t *fast = json_loadb(b.data, b.len, 0, &err);
	assert_non_null(fast);
	json_t *ref = view_event(e);
	assert_true(json_equal(fast, ref));
	json_decref(fast);
	json_decref(ref);
	buf_free(&b);
}

static void check_conv(const rec_conv *c)
{
	buf b = { 0 };
	assert_int_equal(view_conv_write(c, &b), 0);
	json_error_t err;
	json_t *fast = json_loadb(b.data, b.len, 0, &err);
	assert_non_null(fast);
	json_t *ref = view_conv(c);
	if (!json_equal(fast, ref)) {
		char *s = json_dumps(ref, JSON_COMPACT | JSON_SORT_KEYS);
		fail_msg("conversations differ:\n fast %s\n ref  %s", b.data, s);
	}
	json_decref(fast);
	json_decref(ref);
	buf_free(&b);
}

static void test_conv(void **state)
{
	rec_conv c;
	memset(&c, 0, sizeof c);
	c.tid = 1;
	c.id = 99887766;
	check_conv(&c);   /* all zero: nulls */
	c.visitor_id = 5;
	strcpy(c.visitor_name, "Vera \"V\" \\ x");
	strcpy(c.visitor_email, "v@example.com");
	c.status = CS_RESOLVED;
	c.priority = CP_URGENT;
	c.assignee_id = 77;
	strcpy(c.assignee_name, "Agent ✓");
	c.last_seq = 12;
	c.visitor_read_seq = 3;
	c.visitor_delivered_seq = 4;
	c.agent_read_seq = 5;
	c.agent_delivered_seq = 6;
	c.created_ms = 1795318266673;
	c.updated_ms = 1795318266999;
	c.first_response_ms = 1795318266700;
	c.resolved_ms = 1795318267000;
	c.lm_seq = 12;
	c.lm_sender = ST_AGENT;
	c.lm_ms = 1795318266999;
	strcpy(c.lm_text, "line\nbreak \"quoted\"");
	check_conv(&c);
}

static void check(const rec_event *e)
{
	check_plain(e);
	buf b = { 0 };
	assert_int_equal(view_event_frame_write(e, &b), 0);
	json_error_t err;
	json_t *fast = json_loadb(b.data, b.len, 0, &err);
	assert_non_null(fast);
	json_t *ref = view_event(e);
	json_object_set_new(ref, "type", json_string("event"));
	if (!json_equal(fast, ref)) {
		char *s = json_dumps(ref, JSON_COMPACT | JSON_SORT_KEYS);
		fail_msg("frames differ:\n fast %s\n ref  %s", b.data, s);
	}
	json_decref(fast);
	json_decref(ref);
	buf_free(&b);
}

static void test_all_kinds(void **state)
{
	rec_event e;
	memset(&e, 0, sizeof e);
	e.tid = 7;
	e.cid = 123456789012345ull;
	e.sender_id = 42;
	strcpy(e.sender_name, "Zoë \"Z\" O'Neil");
	e.created_ms = 1795318266673;
	const char *texts[] = { "hello", "quote \" backslash \\ slash /", "tab\tnl\ncr\rbell\x07 nul-free",
				"ünïcødé ✓ 😀", "" };
	for (int k = 0; k < EK__COUNT; k++) {
		for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
			e.kind = (uint8_t)k;
			e.seq = (uint64_t)k * 10 + t + 1;
			e.sender_type = (uint8_t)(t % ST__COUNT);
			strcpy(e.text, texts[t]);
			strcpy(e.client_id, t % 2 ? "c-\"1\"" : "");
			e.status = (uint8_t)(t % CS__COUNT);
			e.assignee_id = t % 2 ? 99 : 0;
			strcpy(e.assignee_name, "Agent \\ Smith");
			check(&e);
		}
	}
}

/* The agents' tools: a note's mentions, a tag event, an attribute write
 * (its JSON as stored), a conversation's tags. */
static void test_tools(void **state)
{
	rec_event e;
	memset(&e, 0, sizeof e);
	e.tid = 7;
	e.cid = 55;
	e.seq = 3;
	e.sender_type = ST_AGENT;
	e.sender_id = 42;
	strcpy(e.sender_name, "Ann");
	e.created_ms = 1795318266673;
	e.kind = EK_NOTE;
	strcpy(e.text, "@Ben <b>look</b>");
	e.mentions.n = 2;
	e.mentions.v[0] = 11;
	e.mentions.v[1] = 12;
	check(&e);
	json_t *v = view_event(&e);
	assert_int_equal(json_array_size(json_object_get(v, "mentions")), 2);
	json_decref(v);
	memset(&e.mentions, 0, sizeof e.mentions);
	e.kind = EK_TAG;
	e.tag_id = 900;
	e.flag = true;
	check(&e);
	e.flag = false;
	check(&e);
	e.kind = EK_ATTRS;
	strcpy(e.text, "{\"plan\":\"<script>x</script>\",\"seats\":2.5,\"vip\":null}");
	check(&e);
	v = view_event(&e);
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "attributes"), "plan")),
			    "<script>x</script>");
	json_decref(v);
	rec_conv c;
	memset(&c, 0, sizeof c);
	c.tid = 1;
	c.id = 2;
	c.tags.n = 3;
	c.tags.v[0] = 5;
	c.tags.v[1] = 6;
	c.tags.v[2] = 7;
	check_conv(&c);
}

static void test_jw_numbers(void **state)
{
	buf b = { 0 };
	jw_u64(&b, 0);
	buf_puts(&b, " ");
	jw_u64(&b, UINT64_MAX);
	buf_puts(&b, " ");
	jw_i64(&b, INT64_MIN);
	buf_puts(&b, " ");
	jw_id(&b, 0);
	assert_string_equal(b.data, "0 18446744073709551615 -9223372036854775808 null");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_kinds),
		cmocka_unit_test(test_jw_numbers),
		cmocka_unit_test(test_conv),
		cmocka_unit_test(test_tools),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
