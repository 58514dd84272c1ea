/* registry_test — lookups stay right while actors are retired (the table
 * uses backward-shift deletion), and retirement is refused while anyone
 * borrows the actor or it has mail. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "actors/kit/registry.h"

static int created, freed;

static void noop(actor *self, actor_msg *m)
{
	free(m);
}

static actor *ctor(void *ctx, uint64_t a, uint64_t b)
{
	actor *act = calloc(1, sizeof *act);
	actor_init(act, ctx, noop, 0);
	created++;
	return act;
}

static void dtor(actor *act)
{
	freed++;
	free(act);
}

static void test_retire_keeps_other_lookups(void **state)
{
	actor_rt *rt = actor_rt_start(&(actor_rt_opts){ .workers = 1 });
	registry *r = registry_new(ctor, dtor, rt);
	enum { N = 5000 };
	static actor *acts[N];
	created = freed = 0;
	for (uint64_t i = 0; i < N; i++) {
		acts[i] = registry_get(r, i % 7, i);
		registry_put(r, i % 7, i);
	}
	assert_int_equal(created, N);
	/* retire every third one, then every other key must still map to its actor */
	for (uint64_t i = 0; i < N; i += 3)
		assert_true(registry_retire(r, i % 7, i, acts[i]));
	assert_int_equal(freed, (N + 2) / 3);
	for (uint64_t i = 0; i < N; i++) {
		if (i % 3 == 0)
			continue;
		assert_ptr_equal(registry_get(r, i % 7, i), acts[i]);
		registry_put(r, i % 7, i);
	}
	assert_int_equal(created, N);   /* nothing re-created by mistake */
	assert_int_equal(registry_count(r), N - (N + 2) / 3);
	/* a retired key gets a fresh actor */
	actor *fresh = registry_get(r, 0, 0);
	assert_non_null(fresh);
	assert_int_equal(created, N + 1);
	registry_put(r, 0, 0);
	registry_free(&r);
	actor_rt_stop(&rt);
}

static void test_retire_refused_while_borrowed_or_mailed(void **state)
{
	actor_rt *rt = actor_rt_start(&(actor_rt_opts){ .workers = 1 });
	registry *r = registry_new(ctor, dtor, rt);
	actor *a = registry_get(r, 1, 2);
	assert_false(registry_retire(r, 1, 2, a));   /* borrowed */
	registry_put(r, 1, 2);
	/* fake a pending message without running it */
	atomic_store(&a->pending, 1);
	assert_false(registry_retire(r, 1, 2, a));
	atomic_store(&a->pending, 0);
	atomic_store(&a->scheduled, 1);
	assert_false(registry_retire(r, 1, 2, a));
	atomic_store(&a->scheduled, 0);
	assert_true(registry_retire(r, 1, 2, a));
	assert_int_equal(registry_count(r), 0);
	registry_free(&r);
	actor_rt_stop(&rt);
}

/* The table grows with the live actors and shrinks back once they retire;
 * lookups stay right across both. */
static void test_table_follows_live_actors(void **state)
{
	actor_rt *rt = actor_rt_start(&(actor_rt_opts){ .workers = 1 });
	registry *r = registry_new(ctor, dtor, rt);
	enum { N = 20000 };
	static actor *acts[N];
	assert_int_equal(registry_capacity(r), 1024);
	for (uint64_t i = 0; i < N; i++) {
		acts[i] = registry_get(r, 3, i);
		registry_put(r, 3, i);
	}
	assert_true(registry_capacity(r) >= 2 * N);
	/* all but 100 retire: the table ends small, the rest still found */
	for (uint64_t i = 100; i < N; i++)
		assert_true(registry_retire(r, 3, i, acts[i]));
	assert_int_equal(registry_count(r), 100);
	assert_int_equal(registry_capacity(r), 1024);
	for (uint64_t i = 0; i < 100; i++) {
		assert_ptr_equal(registry_get(r, 3, i), acts[i]);
		registry_put(r, 3, i);
	}
	registry_free(&r);
	actor_rt_stop(&rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retire_keeps_other_lookups),
		cmocka_unit_test(test_retire_refused_while_borrowed_or_mailed),
		cmocka_unit_test(test_table_follows_live_actors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
