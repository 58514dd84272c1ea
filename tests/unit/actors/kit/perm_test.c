/* kit/perm: the role order, the permission table, the scope and grant
 * rules, and agreement with the roles the account store accepts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "actors/kit/perm.h"
#include "storage/account_store.h"

#include <string.h>

static void test_role_names(void **state)
{
	(void)state;
	const char *names[] = { "agent", "supervisor", "admin", "owner" };
	for (int r = ROLE_AGENT; r < ROLE__COUNT; r++) {
		assert_string_equal(role_name(r), names[r - 1]);
		assert_int_equal(role_parse(names[r - 1]), r);
		/* the store stores exactly the roles the table knows */
		assert_true(account_valid_role(names[r - 1]));
	}
	const char *bad[] = { "", "Owner", "visitor", "root", "agent " };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(role_parse(bad[i]), ROLE_NONE);
		assert_false(account_valid_role(bad[i]));
	}
	assert_string_equal(role_name(ROLE_NONE), "");
	assert_string_equal(role_name(ROLE__COUNT), "");
}

static void test_table(void **state)
{
	(void)state;
	/* the default of docs/architecture.md */
	static const struct {
		int perm;
		int min;
	} want[] = {
		{ PERM_SIGNED_IN, ROLE_AGENT }, { PERM_CONV, ROLE_AGENT }, { PERM_CONV_ASSIGN, ROLE_AGENT },
		{ PERM_TEAM_READ, ROLE_AGENT }, { PERM_TEAM_MANAGE, ROLE_ADMIN }, { PERM_SETTINGS, ROLE_ADMIN },
		{ PERM_ANALYTICS, ROLE_AGENT },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		assert_int_equal(perm_min_role(want[i].perm), want[i].min);
		for (int r = ROLE_NONE; r <= ROLE__COUNT; r++)
			assert_int_equal(perm_allows(r, want[i].perm), r >= want[i].min && r < ROLE__COUNT);
		assert_true(strlen(perm_name(want[i].perm)) > 0);
	}
	/* public and visitor routes are not role permissions */
	for (int r = ROLE_NONE; r < ROLE__COUNT; r++) {
		assert_false(perm_allows(r, PERM_PUBLIC));
		assert_false(perm_allows(r, PERM_VISITOR));
		assert_false(perm_allows(r, PERM__COUNT));
		assert_false(perm_allows(r, -1));
	}
}

static void test_conv_scope(void **state)
{
	(void)state;
	rec_conv c;
	memset(&c, 0, sizeof c);
	assert_true(perm_conv_visible(ROLE_AGENT, 7, &c));      /* unassigned */
	c.assignee_id = 7;
	assert_true(perm_conv_visible(ROLE_AGENT, 7, &c));      /* their own */
	assert_false(perm_conv_visible(ROLE_AGENT, 8, &c));     /* another's */
	for (int r = ROLE_SUPERVISOR; r < ROLE__COUNT; r++)
		assert_true(perm_conv_visible(r, 8, &c));
	assert_false(perm_conv_visible(ROLE_NONE, 7, &c));
	assert_false(perm_conv_visible(ROLE__COUNT, 7, &c));
}

static void test_assign_rules(void **state)
{
	(void)state;
	/* agent 7: pick up for themselves only */
	assert_true(perm_may_assign(ROLE_AGENT, 7, 0, 7));
	assert_false(perm_may_assign(ROLE_AGENT, 7, 0, 8));
	/* their own: hand back or transfer */
	assert_true(perm_may_assign(ROLE_AGENT, 7, 7, 0));
	assert_true(perm_may_assign(ROLE_AGENT, 7, 7, 8));
	/* someone else's: no */
	assert_false(perm_may_assign(ROLE_AGENT, 7, 8, 7));
	assert_false(perm_may_assign(ROLE_AGENT, 7, 8, 0));
	for (int r = ROLE_SUPERVISOR; r < ROLE__COUNT; r++) {
		assert_true(perm_may_assign(r, 7, 8, 9));
		assert_true(perm_may_assign(r, 7, 8, 0));
	}
	assert_false(perm_may_assign(ROLE_NONE, 7, 0, 7));
}

static void test_grant_and_manage(void **state)
{
	(void)state;
	/* only team managers grant, never above their own role */
	for (int t = ROLE_AGENT; t < ROLE__COUNT; t++) {
		assert_false(perm_may_grant(ROLE_AGENT, t));
		assert_false(perm_may_grant(ROLE_SUPERVISOR, t));
		assert_int_equal(perm_may_grant(ROLE_ADMIN, t), t <= ROLE_ADMIN);
		assert_true(perm_may_grant(ROLE_OWNER, t));
	}
	assert_false(perm_may_grant(ROLE_OWNER, ROLE_NONE));
	assert_false(perm_may_grant(ROLE_OWNER, ROLE__COUNT));
	/* an admin manages users up to admin, not owners */
	assert_true(perm_may_manage(ROLE_ADMIN, ROLE_ADMIN));
	assert_false(perm_may_manage(ROLE_ADMIN, ROLE_OWNER));
	assert_true(perm_may_manage(ROLE_OWNER, ROLE_OWNER));
	assert_false(perm_may_manage(ROLE_SUPERVISOR, ROLE_AGENT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_role_names),      cmocka_unit_test(test_table),
		cmocka_unit_test(test_conv_scope),      cmocka_unit_test(test_assign_rules),
		cmocka_unit_test(test_grant_and_manage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
