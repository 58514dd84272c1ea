/* lcache_test — rendered lists and their validity by transaction id. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>

#include "actors/conversations/lcache.h"
#include "net/http.h"

static lc_key key(uint64_t tid, int32_t status, uint32_t limit)
{
	lc_key k;
	memset(&k, 0, sizeof k);
	k.tid = tid;
	k.status = status;
	k.limit = limit;
	return k;
}

static void test_hit_until_touched(void **state)
{
	lcache *c = lc_new(2, 64, 1024);
	assert_non_null(c);
	lc_key k = key(7, -1, 25);
	assert_null(lc_get(c, 0, &k));
	const lc_entry *e = lc_put(c, 0, &k, 10, "[1]", 3);
	assert_non_null(e);
	e = lc_get(c, 0, &k);
	assert_non_null(e);
	assert_int_equal(e->len, 3);
	assert_memory_equal(e->body, "[1]", 3);
	assert_int_equal(strlen(e->etag), 18);
	/* other threads keep their own tables */
	assert_null(lc_get(c, 1, &k));
	/* a write transaction no newer than the snapshot leaves it valid */
	lc_touch(c, 7, 10);
	assert_non_null(lc_get(c, 0, &k));
	/* a newer one invalidates it */
	lc_touch(c, 7, 11);
	assert_null(lc_get(c, 0, &k));
	/* a mark never goes back */
	lc_touch(c, 7, 5);
	assert_int_equal(lc_mark(c, 7), 11);
	/* re-rendered from a snapshot that includes the write: valid again */
	assert_non_null(lc_put(c, 0, &k, 11, "[1,2]", 5));
	e = lc_get(c, 0, &k);
	assert_non_null(e);
	assert_int_equal(e->len, 5);
	lc_stats s;
	lc_get_stats(c, &s);
	assert_int_equal(s.hits, 3);
	assert_int_equal(s.stores, 2);
	assert_int_equal(s.misses, 3);
	lc_free(&c);
	assert_null(c);
}

static void test_stale_snapshot_not_stored(void **state)
{
	lcache *c = lc_new(1, 16, 1024);
	lc_key k = key(3, 0, 10);
	lc_touch(c, 3, 20);
	/* rendered from a snapshot older than a write already marked */
	assert_null(lc_put(c, 0, &k, 19, "x", 1));
	assert_null(lc_get(c, 0, &k));
	assert_non_null(lc_put(c, 0, &k, 20, "x", 1));
	lc_free(&c);
}

static void test_keys_are_distinct(void **state)
{
	lcache *c = lc_new(1, 1, 1024);   /* one slot: every key collides */
	lc_key a = key(1, -1, 25), b = key(1, -1, 26), other_tenant = key(2, -1, 25);
	assert_non_null(lc_put(c, 0, &a, 1, "a", 1));
	assert_null(lc_get(c, 0, &b));
	assert_null(lc_get(c, 0, &other_tenant));
	assert_non_null(lc_get(c, 0, &a));
	assert_non_null(lc_put(c, 0, &b, 1, "b", 1));   /* replaces a */
	assert_null(lc_get(c, 0, &a));
	assert_memory_equal(lc_get(c, 0, &b)->body, "b", 1);
	lc_free(&c);
}

static void test_other_tenant_untouched(void **state)
{
	/* a different tenant's writes leave a list valid unless the two share
	 * a mark slot: use the first tenant id that does not */
	lc_key k = key(100, -1, 25);
	for (uint64_t other = 101;; other++) {
		assert_true(other < 1000);
		lcache *c = lc_new(1, 64, 1024);
		assert_non_null(lc_put(c, 0, &k, 5, "x", 1));
		lc_touch(c, other, 9);
		bool shared_slot = lc_mark(c, 100) != 0;
		if (!shared_slot)
			assert_non_null(lc_get(c, 0, &k));
		else
			assert_null(lc_get(c, 0, &k));
		lc_free(&c);
		if (!shared_slot)
			break;
	}
}

static void test_too_large_not_kept(void **state)
{
	lcache *c = lc_new(1, 8, 4);
	lc_key k = key(1, -1, 25);
	assert_null(lc_put(c, 0, &k, 1, "12345", 5));
	assert_non_null(lc_put(c, 0, &k, 1, "1234", 4));
	lc_free(&c);
}

static void test_etag_depends_on_body(void **state)
{
	char a[20], b[20], a2[20];
	http_etag("abc", 3, a);
	http_etag("abd", 3, b);
	http_etag("abc", 3, a2);
	assert_string_equal(a, a2);
	assert_string_not_equal(a, b);
	assert_int_equal(a[0], '"');
	assert_int_equal(a[17], '"');
}

/* marks from several writer threads: the maximum wins */
static lcache *shared;
static void *toucher(void *arg)
{
	uint64_t base = (uint64_t)(uintptr_t)arg;
	for (uint64_t i = 0; i < 100000; i++)
		lc_touch(shared, 42, base + i * 4);
	return NULL;
}

static void test_concurrent_touch(void **state)
{
	shared = lc_new(1, 8, 16);
	pthread_t t[4];
	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, toucher, (void *)(i + 1));
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(lc_mark(shared, 42), 4 + 99999 * 4);
	lc_free(&shared);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_until_touched),
		cmocka_unit_test(test_stale_snapshot_not_stored),
		cmocka_unit_test(test_keys_are_distinct),
		cmocka_unit_test(test_other_tenant_untouched),
		cmocka_unit_test(test_too_large_not_kept),
		cmocka_unit_test(test_etag_depends_on_body),
		cmocka_unit_test(test_concurrent_touch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
