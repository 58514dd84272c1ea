/* conversations/rating: when a conversation may be rated — resolved or
 * closed, not rated yet (a reopen does not clear it), within the window
 * counted from the close, else the resolve. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "actors/conversations/rating.h"

#include <string.h>

static const char *code_of(const rec_conv *c, int64_t window, int64_t now)
{
	const char *code = NULL, *msg = NULL;
	int rc = ratings_refusal(c, window, now, &code, &msg);
	if (rc == 0)
		return "ok";
	assert_int_equal(rc, 409);
	assert_non_null(msg);
	return code;
}

static void test_rules(void **state)
{
	(void)state;
	rec_conv c;
	memset(&c, 0, sizeof c);
	const int64_t H = 3600 * 1000;
	c.status = CS_OPEN;
	assert_string_equal(code_of(&c, H, 0), "not_resolved");
	c.status = CS_PENDING;
	assert_string_equal(code_of(&c, H, 0), "not_resolved");
	c.status = CS_RESOLVED;
	c.resolved_ms = 10 * H;
	assert_string_equal(code_of(&c, H, 10 * H), "ok");
	assert_string_equal(code_of(&c, H, 11 * H), "ok");          /* the last moment */
	assert_string_equal(code_of(&c, H, 11 * H + 1), "rating_window_over");
	/* closed later: the window counts from the close */
	c.status = CS_CLOSED;
	c.closed_ms = 20 * H;
	assert_int_equal(rating_ended_ms(&c), 20 * H);
	assert_string_equal(code_of(&c, H, 20 * H + 10), "ok");
	/* rated: refused whatever the state, across a reopen too */
	c.rating = 3;
	assert_string_equal(code_of(&c, H, 20 * H), "already_rated");
	c.status = CS_OPEN;
	assert_string_equal(code_of(&c, H, 20 * H), "already_rated");
	/* a resolved record without its time (before v3): from its last change */
	memset(&c, 0, sizeof c);
	c.status = CS_RESOLVED;
	c.updated_ms = 5 * H;
	assert_int_equal(rating_ended_ms(&c), 5 * H);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
