/* board_test — the desk's pure parts: the effective priority of a waiting
 * conversation (SLA thresholds), capacity defaults, and the board REST
 * reads (actors/desk/desk.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "actors/desk/desk.h"

static void test_effective_priority(void **state)
{
	int64_t now = 1000000;
	/* defaults: low under 60 s, medium under 180 s, high after */
	assert_int_equal(desk_effective_priority(CP_LOW, now - 59999, now, 0, 0), CP_LOW);
	assert_int_equal(desk_effective_priority(CP_LOW, now - 60000, now, 0, 0), CP_MEDIUM);
	assert_int_equal(desk_effective_priority(CP_LOW, now - 179999, now, 0, 0), CP_MEDIUM);
	assert_int_equal(desk_effective_priority(CP_LOW, now - 180000, now, 0, 0), CP_HIGH);
	/* the department's thresholds */
	assert_int_equal(desk_effective_priority(CP_LOW, now - 10000, now, 10, 20), CP_MEDIUM);
	assert_int_equal(desk_effective_priority(CP_LOW, now - 20000, now, 10, 20), CP_HIGH);
	/* never below the priority as set; the wait never makes urgent */
	assert_int_equal(desk_effective_priority(CP_URGENT, now, now, 0, 0), CP_URGENT);
	assert_int_equal(desk_effective_priority(CP_HIGH, now - 1, now, 0, 0), CP_HIGH);
	assert_int_equal(desk_effective_priority(CP_MEDIUM, now - 999999, now, 0, 0), CP_HIGH);
	/* a clock that went back: no wait */
	assert_int_equal(desk_effective_priority(CP_LOW, now + 5000, now, 0, 0), CP_LOW);
}

static void test_board(void **state)
{
	app a;
	memset(&a, 0, sizeof a);
	a.cfg.default_capacity = 3;
	assert_int_equal(desk_capacity(&a, 0), 3);
	assert_int_equal(desk_capacity(&a, 7), 7);
	assert_int_equal(desk_runtime_start(&a), 0);
	desk_agent_view v;
	assert_false(desk_board_agent_get(&a, 1, 2, &v));
	assert_int_equal(v.state, PR_OFFLINE);
	desk_board_agent_set(&a, 1, 2, &(desk_agent_view){ PR_ONLINE, 2, 3, 1000 });
	assert_true(desk_board_agent_get(&a, 1, 2, &v));
	assert_int_equal(v.state, PR_ONLINE);
	assert_int_equal(v.load, 2);
	assert_false(desk_board_agent_get(&a, 2, 2, &v));   /* another tenant */
	desk_entry_view q[3] = { { 10, CP_LOW, 5, false }, { 11, CP_HIGH, 6, true }, { 12, CP_MEDIUM, 7, false } };
	desk_board_queue_set(&a, 1, 9, q, 3);
	desk_entry_view *got;
	assert_int_equal(desk_board_queue_get(&a, 1, 9, &got), 3);
	assert_int_equal(got[1].cid, 11);
	assert_true(got[1].offline);
	free(got);
	desk_board_queue_set(&a, 1, 9, NULL, 0);
	assert_int_equal(desk_board_queue_get(&a, 1, 9, &got), 0);
	assert_null(got);
	desk_runtime_free(&a);
	assert_null(a.desk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_effective_priority),
		cmocka_unit_test(test_board),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
