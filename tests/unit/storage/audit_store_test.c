/* audit_store_test — storage/audit_store.c: appended rows get time-ordered
 * ids (several in a millisecond, a clock set back), the walk newest first
 * with each filter and the cursor, the scan bound and its cursor, tenant
 * isolation, and the retention prune in bounded batches across tenants. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "storage/audit_store.h"
#include "tmpdb.h"

#define NOW 1700000000000LL

static uint64_t append(tmpdb *f, uint64_t tid, int64_t at, uint64_t actor, const char *action,
		       const char *rtype, uint64_t rid)
{
	rec_audit r;
	memset(&r, 0, sizeof r);
	r.tid = tid;
	r.at_ms = at;
	r.actor_kind = 1;
	r.actor_id = actor;
	snprintf(r.actor_name, sizeof r.actor_name, "user %llu", (unsigned long long)actor);
	strcpy(r.action, action);
	strcpy(r.record_type, rtype);
	r.record_id = rid;
	strcpy(r.addr, "203.0.113.7");
	strcpy(r.details, "{\"name\":\"x\"}");
	assert_int_equal(auditstore_append(tmpdb_write(f), &r), 0);
	tmpdb_commit(f);
	return r.id;
}

typedef struct {
	uint64_t ids[64];
	int n, stop_after;
} seen;

static bool collect(void *ctx, const rec_audit *r)
{
	seen *s = ctx;
	s->ids[s->n++] = r->id;
	return s->n != s->stop_after;
}

static void test_ids_and_round_trip(void **state)
{
	tmpdb *f = *state;
	uint64_t a = append(f, 7, NOW, 1, "user.role", "user", 10);
	uint64_t b = append(f, 7, NOW, 1, "user.role", "user", 11);
	uint64_t c = append(f, 7, NOW - 5000, 1, "user.role", "user", 12);   /* clock set back */
	uint64_t d = append(f, 8, NOW, 1, "user.role", "user", 12);
	assert_true(a == (uint64_t)NOW << 16);
	assert_true(b == a + 1 && c == b + 1);
	assert_true(d == (uint64_t)NOW << 16);   /* per tenant */
	store_txn *t = tmpdb_read(f);
	seen s = { .stop_after = -1 };
	auditstore_filter all = { 0 };
	uint64_t next = 99;
	assert_int_equal(auditstore_each(t, 7, &all, collect, &s, &next), 0);
	assert_int_equal(s.n, 3);
	assert_true(s.ids[0] == c && s.ids[1] == b && s.ids[2] == a);
	assert_true(next == 0);
	store_done(t);
	/* refusals */
	rec_audit r;
	memset(&r, 0, sizeof r);
	r.tid = 7;
	t = tmpdb_write(f);
	assert_int_equal(auditstore_append(t, &r), STORE_ECONFLICT);   /* no action */
	strcpy(r.action, "x");
	r.tid = 0;
	assert_int_equal(auditstore_append(t, &r), STORE_ECONFLICT);
	r.tid = 7;
	memset(r.addr, 'a', sizeof r.addr);
	assert_int_equal(auditstore_append(t, &r), STORE_ECONFLICT);
	store_done(t);
	/* every field back */
	t = tmpdb_read(f);
	s = (seen){ .stop_after = 1 };
	auditstore_filter one = { .record_id = 10 };
	assert_int_equal(auditstore_each(t, 7, &one, collect, &s, &next), 0);
	assert_true(s.n == 1 && s.ids[0] == a && next == a);
	store_done(t);
}

static bool keep_row(void *ctx, const rec_audit *r)
{
	*(rec_audit *)ctx = *r;
	return false;
}

static void test_filters_and_cursor(void **state)
{
	tmpdb *f = *state;
	uint64_t ids[20];
	for (int i = 0; i < 20; i++)
		ids[i] = append(f, 7, NOW + i * 1000, i % 2 ? 100 : 200, i % 3 ? "user.role" : "department.create",
				i % 3 ? "user" : "department", (uint64_t)(i % 4));
	append(f, 8, NOW, 100, "user.role", "user", 1);
	store_txn *t = tmpdb_read(f);
	rec_audit row;
	auditstore_filter one = { .before = ids[5] + 1 };
	assert_int_equal(auditstore_each(t, 7, &one, keep_row, &row, NULL), 0);
	assert_true(row.id == ids[5] && row.tid == 7 && row.at_ms == NOW + 5000 && row.actor_id == 100 &&
		    row.actor_kind == 1 && row.record_id == 1);
	assert_string_equal(row.action, "user.role");
	assert_string_equal(row.record_type, "user");
	assert_string_equal(row.actor_name, "user 100");
	assert_string_equal(row.addr, "203.0.113.7");
	assert_string_equal(row.details, "{\"name\":\"x\"}");

	/* actor */
	seen s = { .stop_after = -1 };
	auditstore_filter fa = { .actor_id = 100 };
	assert_int_equal(auditstore_each(t, 7, &fa, collect, &s, NULL), 0);
	assert_int_equal(s.n, 10);
	assert_true(s.ids[0] == ids[19] && s.ids[9] == ids[1]);
	/* action */
	s = (seen){ .stop_after = -1 };
	auditstore_filter fc = { .action = "department.create" };
	assert_int_equal(auditstore_each(t, 7, &fc, collect, &s, NULL), 0);
	assert_int_equal(s.n, 7);   /* 0 3 6 9 12 15 18 */
	assert_true(s.ids[0] == ids[18] && s.ids[6] == ids[0]);
	/* record type and id */
	s = (seen){ .stop_after = -1 };
	auditstore_filter fr = { .record_type = "user", .record_id = 1 };
	assert_int_equal(auditstore_each(t, 7, &fr, collect, &s, NULL), 0);
	assert_int_equal(s.n, 4);   /* 1 5 13 17 (9 is a department) */
	assert_true(s.ids[0] == ids[17] && s.ids[3] == ids[1]);
	/* time range, inclusive */
	s = (seen){ .stop_after = -1 };
	auditstore_filter ft = { .from_ms = NOW + 3000, .to_ms = NOW + 6000 };
	assert_int_equal(auditstore_each(t, 7, &ft, collect, &s, NULL), 0);
	assert_int_equal(s.n, 4);
	assert_true(s.ids[0] == ids[6] && s.ids[3] == ids[3]);
	/* pages of 6 by the cursor */
	uint64_t cur = 0, next;
	int pages = 0, total = 0;
	do {
		s = (seen){ .stop_after = 6 };
		auditstore_filter fp = { .before = cur };
		assert_int_equal(auditstore_each(t, 7, &fp, collect, &s, &next), 0);
		if (s.n)
			assert_true(s.ids[0] == ids[19 - total]);
		total += s.n;
		pages++;
		cur = next;
	} while (cur && pages < 10);
	assert_int_equal(total, 20);
	assert_int_equal(pages, 4);   /* 6 6 6 2 */
	/* a bounded scan: nothing matches in the first 5 examined; the cursor goes on */
	s = (seen){ .stop_after = -1 };
	auditstore_filter fb = { .actor_id = 999, .max_scan = 5 };
	assert_int_equal(auditstore_each(t, 7, &fb, collect, &s, &next), 0);
	assert_true(s.n == 0 && next == ids[15]);
	fb.before = next;
	assert_int_equal(auditstore_each(t, 7, &fb, collect, &s, &next), 0);
	assert_true(s.n == 0 && next == ids[10]);
	/* another tenant, an unknown one */
	s = (seen){ .stop_after = -1 };
	auditstore_filter all = { 0 };
	assert_int_equal(auditstore_each(t, 8, &all, collect, &s, NULL), 0);
	assert_int_equal(s.n, 1);
	s = (seen){ .stop_after = -1 };
	assert_int_equal(auditstore_each(t, 9, &all, collect, &s, NULL), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(auditstore_each(t, 6, &all, collect, &s, NULL), 0);
	assert_int_equal(s.n, 0);
	store_done(t);
}

static void test_prune(void **state)
{
	tmpdb *f = *state;
	for (int i = 0; i < 10; i++) {
		append(f, 7, NOW + i * 1000, 1, "a", "user", 1);
		append(f, 8, NOW + i * 1000, 1, "a", "user", 1);
	}
	append(f, 9, NOW + 100000, 1, "a", "user", 1);
	/* before NOW + 4000: 4 rows of each of tenants 7 and 8 */
	int n, total = 0, batches = 0;
	do {
		store_txn *t = tmpdb_write(f);
		n = auditstore_prune(t, NOW + 4000, 3);
		assert_true(n >= 0 && n <= 3);
		tmpdb_commit(f);
		total += n;
		batches++;
	} while (n == 3 && batches < 10);
	assert_int_equal(total, 8);
	assert_int_equal(batches, 3);   /* 3 3 2 */
	store_txn *t = tmpdb_read(f);
	seen s = { .stop_after = -1 };
	auditstore_filter all = { 0 };
	assert_int_equal(auditstore_each(t, 7, &all, collect, &s, NULL), 0);
	assert_int_equal(s.n, 6);
	assert_true(s.ids[5] == (uint64_t)(NOW + 4000) << 16);
	s = (seen){ .stop_after = -1 };
	assert_int_equal(auditstore_each(t, 8, &all, collect, &s, NULL), 0);
	assert_int_equal(s.n, 6);
	s = (seen){ .stop_after = -1 };
	assert_int_equal(auditstore_each(t, 9, &all, collect, &s, NULL), 0);
	assert_int_equal(s.n, 1);
	store_done(t);
	t = tmpdb_write(f);
	assert_int_equal(auditstore_prune(t, NOW + 4000, 100), 0);
	assert_int_equal(auditstore_prune(t, 0, 100), 0);
	tmpdb_commit(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ids_and_round_trip, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_filters_and_cursor, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_prune, tmpdb_setup, tmpdb_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
