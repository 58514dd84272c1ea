/* perm_test — actors/kit/perm.c: the least role of each permission, the
 * role order, and what an API key of each scope holds (its scope's role,
 * GET only for read, never the permissions for users only). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "actors/kit/perm.h"

static void test_roles_and_names(void **state)
{
	(void)state;
	static const char *names[] = { "agent", "supervisor", "admin", "owner" };
	for (int r = ROLE_AGENT; r < ROLE__COUNT; r++) {
		assert_string_equal(role_name(r), names[r - 1]);
		assert_int_equal(role_parse(names[r - 1]), r);
	}
	assert_int_equal(role_parse("visitor"), ROLE_NONE);
	assert_string_equal(perm_name(PERM_SELF), "self");
	for (int p = 0; p < PERM__COUNT; p++)
		for (int q = 0; q < p; q++)
			assert_string_not_equal(perm_name(p), perm_name(q));
}

static void test_users(void **state)
{
	(void)state;
	for (int r = ROLE_AGENT; r < ROLE__COUNT; r++) {
		assert_true(perm_allows(r, PERM_SELF));
		assert_true(perm_allows(r, PERM_CONV));
		assert_int_equal(perm_allows(r, PERM_SETTINGS), r >= ROLE_ADMIN);
		assert_int_equal(perm_allows(r, PERM_TEAM_MANAGE), r >= ROLE_ADMIN);
		assert_false(perm_allows(r, PERM_PUBLIC));
		assert_false(perm_allows(r, PERM_VISITOR));
	}
	assert_false(perm_allows(ROLE_NONE, PERM_SIGNED_IN));
}

static void test_scope_roles(void **state)
{
	(void)state;
	assert_int_equal(perm_scope_role(KS_READ), ROLE_AGENT);
	assert_int_equal(perm_scope_role(KS_WRITE), ROLE_SUPERVISOR);
	assert_int_equal(perm_scope_role(KS_ADMIN), ROLE_ADMIN);
	assert_int_equal(perm_scope_role(KS_NONE), ROLE_NONE);
	assert_int_equal(perm_scope_role(KS__COUNT), ROLE_NONE);
	assert_int_equal(perm_scope_role(-1), ROLE_NONE);
}

/* Every cell: a key holds perm on a method exactly when its scope's role
 * does, the permission is not for users only, and a read key only GETs. */
static void test_keys_follow_the_table(void **state)
{
	(void)state;
	static const char *methods[] = { "GET", "POST", "PATCH", "DELETE", "PUT" };
	for (int scope = KS_NONE; scope <= KS__COUNT; scope++)
		for (int p = 0; p < PERM__COUNT; p++)
			for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
				bool want = scope > KS_NONE && scope < KS__COUNT && p != PERM_SELF &&
					    perm_allows(perm_scope_role(scope), p) &&
					    (scope != KS_READ || strcmp(methods[m], "GET") == 0);
				if (perm_allows_key(scope, p, methods[m]) != want)
					fail_msg("scope %d perm %s %s: want %d", scope, perm_name(p), methods[m], want);
			}
	/* the cells that matter most, spelled out */
	assert_true(perm_allows_key(KS_READ, PERM_CONV, "GET"));
	assert_false(perm_allows_key(KS_READ, PERM_CONV, "POST"));
	assert_false(perm_allows_key(KS_READ, PERM_SETTINGS, "GET"));
	assert_true(perm_allows_key(KS_WRITE, PERM_CONV_ASSIGN, "POST"));
	assert_false(perm_allows_key(KS_WRITE, PERM_TEAM_MANAGE, "POST"));
	assert_false(perm_allows_key(KS_WRITE, PERM_SETTINGS, "GET"));
	assert_true(perm_allows_key(KS_ADMIN, PERM_SETTINGS, "DELETE"));
	assert_true(perm_allows_key(KS_ADMIN, PERM_TEAM_MANAGE, "PATCH"));
	assert_false(perm_allows_key(KS_ADMIN, PERM_SELF, "GET"));
	assert_false(perm_allows_key(KS_ADMIN, PERM_PUBLIC, "GET"));
	assert_false(perm_allows_key(KS_ADMIN, PERM_VISITOR, "GET"));
	assert_true(perm_users_only(PERM_SELF));
	assert_false(perm_users_only(PERM_SIGNED_IN));
	assert_true(perm_users_only(PERM__COUNT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles_and_names),
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_scope_roles),
		cmocka_unit_test(test_keys_follow_the_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
