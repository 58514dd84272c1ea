/* cidset_test — the in-memory client-id multimap and its window. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "actors/conversations/cidset.h"

static uint64_t idh(uint64_t i)
{
	char id[32];
	snprintf(id, sizeof id, "client-%llu", (unsigned long long)i);
	return cidset_hash(id, strlen(id));
}

/* true if seq is among the candidates for hash */
static int has(const cidset *c, uint64_t hash, uint64_t seq)
{
	uint64_t out[8];
	size_t n = cidset_find(c, hash, out, 8);
	for (size_t j = 0; j < n; j++)
		if (out[j] == seq)
			return 1;
	return 0;
}

static void test_add_find_many(void **state)
{
	cidset c;
	cidset_init(&c, 20000);
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
	cidset c;
	cidset_init(&c, 100);
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

/* A full set forgets its oldest id first, one per add, and never holds
 * more than the window. */
static void test_window_forgets_oldest_first(void **state)
{
	cidset c;
	cidset_init(&c, 1000);
	/* seqs with gaps, as when events without client ids sit in between */
	for (uint64_t i = 1; i <= 1000; i++)
		assert_int_equal(cidset_add(&c, idh(i), i * 3), 0);
	assert_int_equal(c.n, 1000);
	assert_int_equal(cidset_oldest(&c), 3);
	for (uint64_t i = 1; i <= 1000; i++)
		assert_true(has(&c, idh(i), i * 3));
	for (uint64_t i = 1001; i <= 3500; i++) {
		assert_int_equal(cidset_add(&c, idh(i), i * 3), 0);
		assert_int_equal(c.n, 1000);
		/* exactly the oldest went: i - 1000, and nothing younger */
		assert_false(has(&c, idh(i - 1000), (i - 1000) * 3));
		assert_true(has(&c, idh(i - 999), (i - 999) * 3));
		assert_int_equal(cidset_oldest(&c), (i - 999) * 3);
	}
	for (uint64_t i = 1; i <= 2500; i++)
		assert_false(has(&c, idh(i), i * 3));
	for (uint64_t i = 2501; i <= 3500; i++)
		assert_true(has(&c, idh(i), i * 3));
	cidset_clear(&c);
	assert_int_equal(c.window, 1000);
	assert_int_equal(cidset_bytes(&c), 0);
}

/* Memory grows with the ids held, never past what the window needs, however
 * many ids pass through. */
static void test_memory_bounded_by_window(void **state)
{
	cidset c;
	cidset_init(&c, CIDSET_WINDOW_DEFAULT);
	assert_int_equal(cidset_bytes(&c), 0);
	assert_int_equal(cidset_add(&c, idh(1), 1), 0);
	assert_true(cidset_bytes(&c) <= 512);   /* a short conversation stays small */
	for (uint64_t i = 2; i <= 100; i++)
		cidset_add(&c, idh(i), i);
	assert_true(cidset_bytes(&c) <= 100 * 32);
	size_t full = 0;
	for (uint64_t i = 101; i <= 200000; i++) {
		assert_int_equal(cidset_add(&c, idh(i), i), 0);
		if (i == CIDSET_WINDOW_DEFAULT)
			full = cidset_bytes(&c);
		assert_true(c.n <= CIDSET_WINDOW_DEFAULT);
	}
	assert_int_equal(cidset_bytes(&c), full);
	/* 8 bytes per id in the ring, 4 per index slot at most 3/4 full */
	assert_true(full <= CIDSET_WINDOW_DEFAULT * 8 + 16384 * 4);
	assert_int_equal(c.n, CIDSET_WINDOW_DEFAULT);
	for (uint64_t i = 200000 - CIDSET_WINDOW_DEFAULT + 1; i <= 200000; i += 7)
		assert_true(has(&c, idh(i), i));
	cidset_clear(&c);
}

/* Forgetting by backward shift keeps every colliding id reachable. */
static void test_collisions_survive_eviction(void **state)
{
	cidset c;
	cidset_init(&c, 64);
	/* all in one probe chain: the same low bits, different fingerprints */
	for (uint64_t i = 1; i <= 640; i++) {
		uint64_t h = (i % 5) << 32 | (i << 20) | 7;
		assert_int_equal(cidset_add(&c, h, i), 0);
		for (uint64_t j = i > 63 ? i - 63 : 1; j <= i; j++)
			assert_true(has(&c, (j % 5) << 32 | (j << 20) | 7, j));
	}
	/* same fingerprint many times: every seq still held comes back */
	cidset_clear(&c);
	for (uint64_t i = 1; i <= 100; i++)
		cidset_add(&c, 42, i);
	uint64_t out[8];
	assert_int_equal(cidset_find(&c, 42, out, 8), 8);
	for (size_t j = 0; j < 8; j++)
		assert_true(out[j] > 36 && out[j] <= 100);
	cidset_clear(&c);
}

/* Seqs are stored relative to a base; a conversation past 2^32 events
 * keeps working. */
static void test_large_seqs(void **state)
{
	cidset c;
	cidset_init(&c, 4);
	uint64_t s0 = (1ull << 40) + 5;
	for (uint64_t i = 0; i < 4; i++)
		cidset_add(&c, idh(i), s0 + i);
	/* a jump to 2^32 past the newest: the ids further back than that are
	 * forgotten, the newest stays findable */
	assert_int_equal(cidset_add(&c, idh(4), s0 + 3 + UINT32_MAX), 0);
	assert_true(has(&c, idh(4), s0 + 3 + UINT32_MAX));
	assert_true(has(&c, idh(3), s0 + 3));
	assert_false(has(&c, idh(2), s0 + 2));
	assert_false(has(&c, idh(0), s0));
	assert_int_equal(c.n, 2);
	assert_int_equal(cidset_oldest(&c), s0 + 3);
	/* too far for any: only the new one */
	assert_int_equal(cidset_add(&c, idh(5), s0 + (1ull << 34)), 0);
	assert_int_equal(c.n, 1);
	assert_true(has(&c, idh(5), s0 + (1ull << 34)));
	assert_false(has(&c, idh(4), s0 + 3 + UINT32_MAX));
	cidset_clear(&c);
}

static void test_window_of_one(void **state)
{
	cidset c;
	cidset_init(&c, 0);   /* clamped to 1 */
	assert_int_equal(c.window, 1);
	cidset_add(&c, idh(1), 1);
	cidset_add(&c, idh(2), 2);
	assert_false(has(&c, idh(1), 1));
	assert_true(has(&c, idh(2), 2));
	assert_int_equal(c.n, 1);
	cidset_clear(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find_many),
		cmocka_unit_test(test_same_hash_kept_twice),
		cmocka_unit_test(test_hash_never_zero_and_spreads),
		cmocka_unit_test(test_window_forgets_oldest_first),
		cmocka_unit_test(test_memory_bounded_by_window),
		cmocka_unit_test(test_collisions_survive_eviction),
		cmocka_unit_test(test_large_seqs),
		cmocka_unit_test(test_window_of_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
