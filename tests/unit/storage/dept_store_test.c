/* dept_store_test — storage/dept_store.c: departments put and read back,
 * walked in sort order then id, the default, slug uniqueness per tenant,
 * members kept in both tables (set, replace, walk by department and by
 * agent, drop an agent, delete a department with its members), the
 * seeding of a new tenant and of every tenant on upgrade (once), and
 * tenant isolation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "core/id.h"
#include "storage/account_store.h"
#include "storage/dept_store.h"
#include "tmpdb.h"

#define NOW 1700000000000LL

static rec_dept dept(uint64_t tid, uint64_t id, const char *slug, uint64_t order)
{
	rec_dept d;
	memset(&d, 0, sizeof d);
	d.tid = tid;
	d.id = id;
	strcpy(d.name, slug);
	strcpy(d.slug, slug);
	d.active = true;
	d.sort_order = order;
	strcpy(d.timezone, "Europe/Berlin");
	strcpy(d.hours, "mon 09:00-17:00");
	d.routing = RP_LEAST_BUSY;
	d.sla_medium_s = 30;
	d.sla_high_s = 90;
	d.created_ms = NOW;
	return d;
}

static void put(tmpdb *f, const rec_dept *d)
{
	assert_int_equal(deptstore_put(tmpdb_write(f), d), 0);
	tmpdb_commit(f);
}

typedef struct {
	uint64_t ids[16];
	int n, stop_after;
} seen;

static bool collect(void *ctx, const rec_dept *d)
{
	seen *s = ctx;
	s->ids[s->n++] = d->id;
	return s->n != s->stop_after;
}

static bool collect_id(void *ctx, uint64_t id)
{
	seen *s = ctx;
	s->ids[s->n++] = id;
	return s->n != s->stop_after;
}

static void test_put_get_each_default(void **state)
{
	tmpdb *f = *state;
	rec_dept a = dept(7, 30, "sales", 2), b = dept(7, 20, "billing", 1), c = dept(7, 10, "tech", 2),
		 o = dept(8, 5, "sales", 0);
	b.is_default = true;
	put(f, &a);
	put(f, &b);
	put(f, &c);
	put(f, &o);
	store_txn *t = tmpdb_read(f);
	rec_dept r;
	assert_int_equal(deptstore_get(t, 7, 30, &r), 0);
	assert_true(r.tid == 7 && r.id == 30 && r.active && r.routing == RP_LEAST_BUSY && r.sort_order == 2);
	assert_string_equal(r.slug, "sales");
	assert_string_equal(r.timezone, "Europe/Berlin");
	assert_string_equal(r.hours, "mon 09:00-17:00");
	assert_true(r.sla_medium_s == 30 && r.sla_high_s == 90);
	assert_int_equal(deptstore_get(t, 7, 5, &r), STORE_ENOTFOUND);
	assert_int_equal(deptstore_get(t, 8, 30, &r), STORE_ENOTFOUND);
	assert_int_equal(deptstore_default(t, 7, &r), 0);
	assert_true(r.id == 20);
	assert_int_equal(deptstore_default(t, 8, &r), STORE_ENOTFOUND);
	seen s = { .stop_after = -1 };
	assert_int_equal(deptstore_each(t, 7, collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_true(s.ids[0] == 20 && s.ids[1] == 10 && s.ids[2] == 30);   /* order 1, then 2 by id */
	s = (seen){ .stop_after = 1 };
	assert_int_equal(deptstore_each(t, 7, collect, &s), 0);
	assert_int_equal(s.n, 1);
	s = (seen){ .stop_after = -1 };
	assert_int_equal(deptstore_each(t, 9, collect, &s), 0);
	assert_int_equal(s.n, 0);
	assert_true(deptstore_resolve(t, 7, 0) == 20);
	assert_true(deptstore_resolve(t, 7, 30) == 30);
	assert_true(deptstore_resolve(t, 9, 0) == 0);
	store_done(t);
}

static void test_put_refused(void **state)
{
	tmpdb *f = *state;
	rec_dept a = dept(7, 30, "sales", 0);
	put(f, &a);
	store_txn *t = tmpdb_write(f);
	rec_dept d = dept(7, 31, "sales", 0);
	assert_int_equal(deptstore_put(t, &d), STORE_EEXISTS);          /* slug taken */
	d = dept(8, 31, "sales", 0);
	assert_int_equal(deptstore_put(t, &d), 0);                      /* another tenant's */
	d = dept(7, 30, "sales", 5);
	assert_int_equal(deptstore_put(t, &d), 0);                      /* its own slug */
	d = dept(0, 31, "x", 0);
	assert_int_equal(deptstore_put(t, &d), STORE_ECONFLICT);
	d = dept(7, 0, "x", 0);
	assert_int_equal(deptstore_put(t, &d), STORE_ECONFLICT);
	d = dept(7, 31, "x", 0);
	d.name[0] = '\0';
	assert_int_equal(deptstore_put(t, &d), STORE_ECONFLICT);
	d = dept(7, 31, "x", 0);
	d.slug[0] = '\0';
	assert_int_equal(deptstore_put(t, &d), STORE_ECONFLICT);
	d = dept(7, 31, "x", 0);
	memset(d.slug, 's', sizeof d.slug);
	assert_int_equal(deptstore_put(t, &d), STORE_ECONFLICT);
	tmpdb_commit(f);
	t = tmpdb_read(f);
	rec_dept r;
	assert_int_equal(deptstore_get(t, 7, 31, &r), STORE_ENOTFOUND);
	assert_int_equal(deptstore_get(t, 7, 30, &r), 0);
	assert_true(r.sort_order == 5);
	store_done(t);
}

static void test_members_both_tables(void **state)
{
	tmpdb *f = *state;
	rec_dept a = dept(7, 30, "sales", 0), b = dept(7, 40, "tech", 1), o = dept(8, 30, "sales", 0);
	put(f, &a);
	put(f, &b);
	put(f, &o);
	store_txn *t = tmpdb_write(f);
	uint64_t m1[] = { 103, 101, 0, 102, 101 };
	assert_int_equal(deptstore_set_members(t, 7, 30, m1, 5), 0);
	uint64_t m2[] = { 101 };
	assert_int_equal(deptstore_set_members(t, 7, 40, m2, 1), 0);
	uint64_t m3[] = { 101 };
	assert_int_equal(deptstore_set_members(t, 8, 30, m3, 1), 0);
	assert_int_equal(deptstore_set_members(t, 7, 99, m1, 1), STORE_ENOTFOUND);
	assert_int_equal(deptstore_set_members(t, 7, 30, m1, DEPTSTORE_MEMBERS_MAX + 1), STORE_ELIMIT);
	tmpdb_commit(f);
	t = tmpdb_read(f);
	seen s = { .stop_after = -1 };
	assert_int_equal(deptstore_each_member(t, 7, 30, collect_id, &s), 0);
	assert_int_equal(s.n, 3);
	assert_true(s.ids[0] == 101 && s.ids[1] == 102 && s.ids[2] == 103);
	s = (seen){ .stop_after = -1 };
	assert_int_equal(deptstore_each_of_agent(t, 7, 101, collect_id, &s), 0);
	assert_true(s.n == 2 && s.ids[0] == 30 && s.ids[1] == 40);
	assert_int_equal(deptstore_is_member(t, 7, 30, 102), 0);
	assert_int_equal(deptstore_is_member(t, 7, 40, 102), STORE_ENOTFOUND);
	assert_int_equal(deptstore_is_member(t, 8, 30, 102), STORE_ENOTFOUND);
	store_done(t);
	/* replace: 101 stays, 102 and 103 go, 104 comes */
	t = tmpdb_write(f);
	uint64_t m4[] = { 104, 101 };
	assert_int_equal(deptstore_set_members(t, 7, 30, m4, 2), 0);
	tmpdb_commit(f);
	t = tmpdb_read(f);
	s = (seen){ .stop_after = -1 };
	assert_int_equal(deptstore_each_member(t, 7, 30, collect_id, &s), 0);
	assert_true(s.n == 2 && s.ids[0] == 101 && s.ids[1] == 104);
	s = (seen){ .stop_after = -1 };
	assert_int_equal(deptstore_each_of_agent(t, 7, 102, collect_id, &s), 0);
	assert_int_equal(s.n, 0);
	s = (seen){ .stop_after = -1 };
	assert_int_equal(deptstore_each_of_agent(t, 7, 104, collect_id, &s), 0);
	assert_true(s.n == 1 && s.ids[0] == 30);
	store_done(t);
	/* drop an agent everywhere; delete a department with its members */
	t = tmpdb_write(f);
	assert_int_equal(deptstore_drop_agent(t, 7, 101), 0);
	assert_int_equal(deptstore_del(t, 7, 30), 0);
	assert_int_equal(deptstore_del(t, 7, 30), STORE_ENOTFOUND);
	tmpdb_commit(f);
	t = tmpdb_read(f);
	rec_dept r;
	assert_int_equal(deptstore_get(t, 7, 30, &r), STORE_ENOTFOUND);
	assert_int_equal(deptstore_is_member(t, 7, 30, 104), STORE_ENOTFOUND);
	s = (seen){ .stop_after = -1 };
	assert_int_equal(deptstore_each_of_agent(t, 7, 104, collect_id, &s), 0);
	assert_int_equal(s.n, 0);
	s = (seen){ .stop_after = -1 };
	assert_int_equal(deptstore_each_of_agent(t, 7, 101, collect_id, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(deptstore_is_member(t, 8, 30, 101), 0);       /* the other tenant's stays */
	store_done(t);
}

static bool names(void *ctx, const rec_dept *d)
{
	char *out = ctx;
	strcat(out, d->slug);
	strcat(out, d->is_default ? "* " : " ");
	assert_true(d->active && d->routing == RP_ROUND_ROBIN && d->sla_medium_s == 60 && d->sla_high_s == 180);
	assert_string_equal(d->hours, "");
	return true;
}

static void test_seed(void **state)
{
	tmpdb *f = *state;
	id_gen ids = { 0 };
	uint64_t t1, t2;
	store_txn *t = tmpdb_write(f);
	rec_tenant ten;
	assert_int_equal(account_tenant_create(t, &ids, "Acme", "acme", "*", &ten), 0);
	t1 = ten.id;
	assert_int_equal(account_tenant_create(t, &ids, "Beta", "beta", "*", &ten), 0);
	t2 = ten.id;
	strcpy(ten.timezone, "Asia/Kolkata");
	assert_int_equal(account_tenant_update(t, &ten), 0);
	assert_int_equal(deptstore_seed(t, t1, NOW), 1);
	assert_int_equal(deptstore_seed(t, t1, NOW + 1), 0);   /* has some: left */
	tmpdb_commit(f);
	t = tmpdb_write(f);
	assert_int_equal(deptstore_seed_all(t, NOW + 2), 1);   /* only the second tenant */
	assert_int_equal(deptstore_seed_all(t, NOW + 3), 0);
	tmpdb_commit(f);
	t = tmpdb_read(f);
	char out[128] = "";
	assert_int_equal(deptstore_each(t, t1, names, out), 0);
	assert_string_equal(out, "general* sales technical billing ");
	rec_dept r;
	assert_int_equal(deptstore_default(t, t2, &r), 0);
	assert_string_equal(r.slug, "general");
	assert_string_equal(r.timezone, "Asia/Kolkata");
	assert_true(r.created_ms == NOW + 2 && r.id == ((uint64_t)(NOW + 2) << 16 | 1));
	assert_int_equal(deptstore_default(t, t1, &r), 0);
	assert_string_equal(r.timezone, "UTC");
	store_done(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_each_default, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_put_refused, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_members_both_tables, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_seed, tmpdb_setup, tmpdb_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
