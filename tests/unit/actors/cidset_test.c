/* cidset_test — the in-memory client-id multimap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "actors/cidset.h"

static void test_add_find_many(void **state)
{
	cidset c = { 0 };
	char id[32];
	for (uint64_t i = 1; i <= 20000; i++) {
		snprintf(id, sizeof id, "client-%llu", (unsigned long long)i);
		assert_int_equal(cidset_add(&c, cidset_hash(id, strlen(id)), i), 0);
	}
	assert_int_equal(c.n, 20000);
	for (uint64_t i = 1; i <= 20000; i += 997) {
		snprintf(id, sizeof id, "client-%llu", (unsigned long long)i);
		uint64_t out[8];
		size_t n = cidset_find(&c, cidset_hash(id, strlen(id)), out, 8);
		int found = 0;
		for (size_t j = 0; j < n; j++)
			found |= out[j] == i;
		assert_true(found);
	}
	uint64_t out[8];
	assert_int_equal(cidset_find(&c, cidset_hash("absent", 6), out, 8), 0);
	cidset_clear(&c);
	assert_int_equal(cidset_find(&c, cidset_hash("client-1", 8), out, 8), 0);
}

static void test_same_hash_kept_twice(void **state)
{
	cidset c = { 0 };
	assert_int_equal(cidset_add(&c, 42, 7), 0);
	assert_int_equal(cidset_add(&c, 42, 9), 0);
	uint64_t out[8];
	assert_int_equal(cidset_find(&c, 42, out, 8), 2);
	assert_true((out[0] == 7 && out[1] == 9) || (out[0] == 9 && out[1] == 7));
	assert_int_equal(cidset_find(&c, 42, out, 1), 1);
	cidset_clear(&c);
}

static void test_hash_never_zero_and_spreads(void **state)
{
	assert_int_not_equal(cidset_hash("", 0), 0);
	assert_int_not_equal(cidset_hash("a", 1), cidset_hash("b", 1));
	assert_int_not_equal(cidset_hash("ab", 2), cidset_hash("ba", 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find_many),
		cmocka_unit_test(test_same_hash_kept_twice),
		cmocka_unit_test(test_hash_never_zero_and_spreads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
