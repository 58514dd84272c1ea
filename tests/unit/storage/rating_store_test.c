/* rating_store_test — storage/rating_store.c: a rating and its time index
 * row written together (a second rating of the conversation refused,
 * nothing written); the newest-first walk bounded by the range, filtered
 * by department, agent and comment, stopped when asked, one tenant's
 * only; the backfill of ratings stored before the index (in bounded
 * batches, its mark making later calls nothing); the reindex. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "storage/rating_store.h"
#include "tmpdb.h"

#define T1 1
#define T2 2

static rec_rating rating(uint64_t tid, uint64_t cid, int64_t at, uint64_t agent, uint64_t dept, const char *comment)
{
	rec_rating r = { .tid = tid, .cid = cid, .score = (uint8_t)(cid % 5 + 1), .visitor_id = 100 + cid,
			 .agent_id = agent, .dept_id = dept, .created_ms = at };
	snprintf(r.comment, sizeof r.comment, "%s", comment);
	return r;
}

typedef struct {
	int n, stop_at;
	uint64_t cid[16];
} seen;

static bool collect(void *ctx, const rec_rating *r)
{
	seen *s = ctx;
	s->cid[s->n++] = r->cid;
	return s->n != s->stop_at;
}

static seen walk(tmpdb *f, uint64_t tid, rating_filter rf, int stop_at)
{
	seen s = { .stop_at = stop_at };
	store_txn *t = tmpdb_read(f);
	assert_int_equal(rating_each_recent(t, tid, &rf, collect, &s), 0);
	store_done(t);
	return s;
}

static void put_all(tmpdb *f)
{
	store_txn *t = tmpdb_write(f);
	rec_rating rs[] = {
		rating(T1, 10, 1000, 7, 1, "first"), rating(T1, 11, 2000, 8, 1, ""),
		rating(T1, 12, 3000, 7, 2, "third"), rating(T1, 13, 4000, 8, 2, "fourth"),
		rating(T2, 14, 2500, 7, 1, "other tenant"),
	};
	for (size_t i = 0; i < sizeof rs / sizeof *rs; i++)
		assert_int_equal(rating_put(t, &rs[i]), 0);
	tmpdb_commit(f);
}

static void test_put_and_walk(void **state)
{
	tmpdb *f = *state;
	put_all(f);
	store_txn *t = tmpdb_write(f);
	rec_rating again = rating(T1, 10, 9000, 7, 1, "again");
	assert_int_equal(rating_put(t, &again), STORE_EEXISTS);
	tmpdb_commit(f);
	seen s = walk(f, T1, (rating_filter){ .from_ms = 0, .to_ms = 10000 }, 0);
	assert_int_equal(s.n, 4);                      /* "again" wrote no row */
	assert_true(s.cid[0] == 13 && s.cid[1] == 12 && s.cid[2] == 11 && s.cid[3] == 10);
	s = walk(f, T1, (rating_filter){ .from_ms = 0, .to_ms = 10000, .commented = true }, 0);
	assert_true(s.n == 3 && s.cid[0] == 13 && s.cid[2] == 10);
	s = walk(f, T1, (rating_filter){ .from_ms = 2000, .to_ms = 4000 }, 0);   /* from inclusive, to not */
	assert_true(s.n == 2 && s.cid[0] == 12 && s.cid[1] == 11);
	s = walk(f, T1, (rating_filter){ .from_ms = 0, .to_ms = 10000, .agent_id = 7 }, 0);
	assert_true(s.n == 2 && s.cid[0] == 12 && s.cid[1] == 10);
	s = walk(f, T1, (rating_filter){ .from_ms = 0, .to_ms = 10000, .dept_id = 2, .agent_id = 8 }, 0);
	assert_true(s.n == 1 && s.cid[0] == 13);
	s = walk(f, T1, (rating_filter){ .from_ms = 0, .to_ms = 10000 }, 2);   /* stopped */
	assert_int_equal(s.n, 2);
	s = walk(f, T2, (rating_filter){ .from_ms = 0, .to_ms = 10000 }, 0);
	assert_true(s.n == 1 && s.cid[0] == 14);
	s = walk(f, 3, (rating_filter){ .from_ms = 0, .to_ms = 10000 }, 0);
	assert_int_equal(s.n, 0);
}

static void test_backfill_and_reindex(void **state)
{
	tmpdb *f = *state;
	put_all(f);
	/* as if stored before the index: its rows gone */
	store_txn *t = tmpdb_write(f);
	assert_int_equal(mdb_drop(t->txn, db_dbi(t->db, DB_RATING_TIME), 0), 0);
	tmpdb_commit(f);
	assert_int_equal(walk(f, T1, (rating_filter){ .from_ms = 0, .to_ms = 10000 }, 0).n, 0);
	/* two a call: three calls, the last finds nothing left */
	int want[] = { 2, 2, 1, 0, 0 };
	for (int i = 0; i < 5; i++) {
		t = tmpdb_write(f);
		assert_int_equal(rating_backfill(t, 2), want[i]);
		tmpdb_commit(f);
	}
	seen s = walk(f, T1, (rating_filter){ .from_ms = 0, .to_ms = 10000 }, 0);
	assert_true(s.n == 4 && s.cid[0] == 13 && s.cid[3] == 10);
	assert_int_equal(walk(f, T2, (rating_filter){ .from_ms = 0, .to_ms = 10000 }, 0).n, 1);
	/* the reindex: the same rows from nothing, whatever the mark said */
	t = tmpdb_write(f);
	assert_int_equal(rating_reindex(t), 5);
	tmpdb_commit(f);
	s = walk(f, T1, (rating_filter){ .from_ms = 0, .to_ms = 10000, .commented = true }, 0);
	assert_true(s.n == 3 && s.cid[0] == 13);
	t = tmpdb_write(f);
	assert_int_equal(rating_backfill(t, 2), 0);   /* marked done */
	tmpdb_commit(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_and_walk, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_backfill_and_reindex, tmpdb_setup, tmpdb_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
