/* presence_store_test — an agent's presence history: put, walks by time
 * range, the latest change, refusals (storage/presence_store.h).
 * Each test gets its own database in a mkdtemp directory (tmpdb.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "storage/presence_store.h"
#include "tmpdb.h"

typedef struct {
	rec_presence p[16];
	int n;
	int stop_after;
} walk;

static bool collect(void *ctx, const rec_presence *p)
{
	walk *w = ctx;
	w->p[w->n++] = *p;
	return w->stop_after == 0 || w->n < w->stop_after;
}

static void put(tmpdb *f, uint64_t tid, uint64_t uid, int64_t at, int state)
{
	rec_presence p = { .tid = tid, .uid = uid, .at_ms = at, .state = (uint8_t)state };
	assert_int_equal(presencestore_put(tmpdb_write(f), &p), 0);
	tmpdb_commit(f);
}

static void test_history(void **state)
{
	tmpdb *f = *state;
	put(f, 1, 7, 1000, PR_ONLINE);
	put(f, 1, 7, 2000, PR_AWAY);
	put(f, 1, 7, 3000, PR_OFFLINE);
	put(f, 1, 8, 1500, PR_ONLINE);   /* another agent */
	put(f, 2, 7, 1500, PR_ONLINE);   /* another tenant's user of the same id */
	put(f, 1, 7, 2000, PR_ONLINE);   /* the same millisecond: replaces */
	walk w = { 0 };
	store_txn *t = tmpdb_read(f);
	assert_int_equal(presencestore_each(t, 1, 7, 0, 0, collect, &w), 0);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.p[0].at_ms, 1000);
	assert_int_equal(w.p[1].state, PR_ONLINE);
	assert_int_equal(w.p[2].state, PR_OFFLINE);
	/* a range: from 1500 (inclusive) to 3000 (exclusive) */
	memset(&w, 0, sizeof w);
	assert_int_equal(presencestore_each(t, 1, 7, 1500, 3000, collect, &w), 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.p[0].at_ms, 2000);
	/* the walk stops when told */
	memset(&w, 0, sizeof w);
	w.stop_after = 1;
	assert_int_equal(presencestore_each(t, 1, 7, 0, 0, collect, &w), 0);
	assert_int_equal(w.n, 1);
	rec_presence last;
	assert_int_equal(presencestore_last(t, 1, 7, &last), 0);
	assert_int_equal(last.at_ms, 3000);
	assert_int_equal(last.state, PR_OFFLINE);
	assert_int_equal(presencestore_last(t, 1, 9, &last), STORE_ENOTFOUND);
	store_done(t);
}

static void test_refusals(void **state)
{
	tmpdb *f = *state;
	store_txn *t = tmpdb_write(f);
	rec_presence p = { .tid = 0, .uid = 1, .at_ms = 1, .state = PR_ONLINE };
	assert_int_equal(presencestore_put(t, &p), STORE_ECONFLICT);
	p = (rec_presence){ .tid = 1, .uid = 0, .at_ms = 1, .state = PR_ONLINE };
	assert_int_equal(presencestore_put(t, &p), STORE_ECONFLICT);
	p = (rec_presence){ .tid = 1, .uid = 1, .at_ms = 1, .state = PR__COUNT };
	assert_int_equal(presencestore_put(t, &p), STORE_ECONFLICT);
	p = (rec_presence){ .tid = 1, .uid = 1, .at_ms = -5, .state = PR_ONLINE };
	assert_int_equal(presencestore_put(t, &p), STORE_ECONFLICT);
	store_done(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_history, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_refusals, tmpdb_setup, tmpdb_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
