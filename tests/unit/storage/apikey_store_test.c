/* apikey_store_test — storage/apikey_store.c: creating a key and finding it
 * by id and by the hash of its secret, the checks before a write (nothing
 * written when refused), listing in creation order, revocation (kept, not
 * deleted; once), the last-use interval, and tenant isolation of both
 * tables.
 *
 * Each test gets its own database in a mkdtemp directory (tmpdb.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "storage/apikey_store.h"
#include "tmpdb.h"

#define NOW 1700000000000LL
#define MINUTE 60000LL

/* A distinct secret hash per n. */
static const uint8_t *h(int n)
{
	static uint8_t hs[64][32];
	memset(hs[n], 0x11, 32);
	hs[n][0] = (uint8_t)n;
	return hs[n];
}

static rec_apikey key(uint64_t tid, uint64_t id, int hn, const char *name, int scope)
{
	rec_apikey k;
	memset(&k, 0, sizeof k);
	k.tid = tid;
	k.id = id;
	strcpy(k.name, name);
	k.scope = (uint8_t)scope;
	memcpy(k.hash, h(hn), 32);
	strcpy(k.hint, "Ab1_");
	k.created_by = 900;
	strcpy(k.created_by_name, "Ada Admin");
	k.created_ms = NOW;
	k.expires_ms = NOW + 86400000LL;
	return k;
}

static void create(tmpdb *f, const rec_apikey *k)
{
	assert_int_equal(apikey_create(tmpdb_write(f), k), 0);
	tmpdb_commit(f);
}

static void test_create_get_by_hash(void **state)
{
	tmpdb *f = *state;
	rec_apikey k = key(7, 70, 1, "CRM sync", KS_WRITE);
	k.revoked = true;          /* ignored: a new key is live and unused */
	k.last_used_ms = NOW;
	create(f, &k);
	rec_apikey r;
	store_txn *t = tmpdb_read(f);
	assert_int_equal(apikey_get(t, 7, 70, &r), 0);
	assert_true(r.tid == 7 && r.id == 70 && r.scope == KS_WRITE && r.created_by == 900);
	assert_string_equal(r.name, "CRM sync");
	assert_string_equal(r.hint, "Ab1_");
	assert_string_equal(r.created_by_name, "Ada Admin");
	assert_false(r.created_by_key);
	assert_true(r.created_ms == NOW && r.expires_ms == NOW + 86400000LL);
	assert_false(r.revoked);
	assert_true(r.revoked_ms == 0 && r.last_used_ms == 0);
	assert_memory_equal(r.hash, h(1), 32);
	memset(&r, 0, sizeof r);
	assert_int_equal(apikey_by_hash(t, 7, h(1), &r), 0);
	assert_true(r.id == 70);
	/* an unknown hash; the right hash under another tenant; another tenant's id */
	assert_int_equal(apikey_by_hash(t, 7, h(2), &r), STORE_ENOTFOUND);
	assert_int_equal(apikey_by_hash(t, 8, h(1), &r), STORE_ENOTFOUND);
	assert_int_equal(apikey_get(t, 8, 70, &r), STORE_ENOTFOUND);
	store_done(t);
}

static void test_create_refused_writes_nothing(void **state)
{
	tmpdb *f = *state;
	rec_apikey first = key(7, 70, 1, "a", KS_READ);
	memset(first.hash, 0, 32);
	create(f, &first);
	store_txn *t = tmpdb_write(f);
	rec_apikey k = key(7, 71, 2, "x", KS_READ);
	k.scope = KS_NONE;
	assert_int_equal(apikey_create(t, &k), STORE_ECONFLICT);
	k.scope = KS__COUNT;
	assert_int_equal(apikey_create(t, &k), STORE_ECONFLICT);
	k = key(7, 71, 2, "", KS_READ);
	assert_int_equal(apikey_create(t, &k), STORE_ECONFLICT);
	k = key(0, 71, 2, "x", KS_READ);
	assert_int_equal(apikey_create(t, &k), STORE_ECONFLICT);
	k = key(7, 0, 2, "x", KS_READ);
	assert_int_equal(apikey_create(t, &k), STORE_ECONFLICT);
	/* a name filling the array without its NUL */
	k = key(7, 71, 2, "x", KS_READ);
	memset(k.name, 'n', sizeof k.name);
	assert_int_equal(apikey_create(t, &k), STORE_ECONFLICT);
	/* the id is taken; the hash is taken (by the first key: all-zero hash) */
	k = key(7, 70, 3, "again", KS_READ);
	assert_int_equal(apikey_create(t, &k), STORE_EEXISTS);
	k = key(7, 72, 0, "same hash", KS_READ);
	memset(k.hash, 0, 32);
	assert_int_equal(apikey_create(t, &k), STORE_EEXISTS);
	tmpdb_commit(f);
	rec_apikey r;
	t = tmpdb_read(f);
	assert_int_equal(apikey_get(t, 7, 71, &r), STORE_ENOTFOUND);
	assert_int_equal(apikey_get(t, 7, 72, &r), STORE_ENOTFOUND);
	assert_int_equal(apikey_by_hash(t, 7, h(2), &r), STORE_ENOTFOUND);
	assert_int_equal(apikey_get(t, 7, 70, &r), 0);
	assert_string_equal(r.name, "a");
	store_done(t);
}

typedef struct {
	uint64_t ids[8];
	int n, stop_after;
} seen;

static bool collect(void *ctx, uint64_t id, const rec_apikey *k)
{
	seen *s = ctx;
	assert_non_null(k);
	assert_true(k->id == id);
	s->ids[s->n++] = id;
	return s->n != s->stop_after;
}

static void test_list_in_id_order_per_tenant(void **state)
{
	tmpdb *f = *state;
	rec_apikey a = key(7, 75, 1, "c", KS_READ), b = key(7, 71, 2, "a", KS_ADMIN), c = key(8, 72, 3, "other", KS_READ),
		   d = key(7, 73, 4, "b", KS_WRITE), e = key(6, 74, 5, "before", KS_READ);
	create(f, &a);
	create(f, &b);
	create(f, &c);
	create(f, &d);
	create(f, &e);
	store_txn *t = tmpdb_read(f);
	seen s = { .stop_after = -1 };
	assert_int_equal(apikey_list(t, 7, 0, collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_true(s.ids[0] == 71 && s.ids[1] == 73 && s.ids[2] == 75);
	s = (seen){ .stop_after = -1 };
	assert_int_equal(apikey_list(t, 7, 71, collect, &s), 0);
	assert_true(s.n == 2 && s.ids[0] == 73);
	s = (seen){ .stop_after = 1 };
	assert_int_equal(apikey_list(t, 7, 0, collect, &s), 0);
	assert_int_equal(s.n, 1);
	s = (seen){ .stop_after = -1 };
	assert_int_equal(apikey_list(t, 9, 0, collect, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(apikey_list(t, 7, UINT64_MAX, collect, &s), 0);
	assert_int_equal(s.n, 0);
	store_done(t);
}

static void test_revoke_once_and_kept(void **state)
{
	tmpdb *f = *state;
	rec_apikey k = key(7, 70, 1, "CRM", KS_READ);
	create(f, &k);
	rec_apikey r;
	store_txn *t = tmpdb_write(f);
	assert_int_equal(apikey_revoke(t, 7, 70, NOW + 5, &r), 0);
	assert_true(r.revoked && r.revoked_ms == NOW + 5);
	/* again: unchanged, still 0 */
	assert_int_equal(apikey_revoke(t, 7, 70, NOW + 9, &r), 0);
	assert_true(r.revoked && r.revoked_ms == NOW + 5);
	assert_int_equal(apikey_revoke(t, 7, 71, NOW, &r), STORE_ENOTFOUND);
	assert_int_equal(apikey_revoke(t, 8, 70, NOW, &r), STORE_ENOTFOUND);
	tmpdb_commit(f);
	t = tmpdb_read(f);
	memset(&r, 0, sizeof r);
	assert_int_equal(apikey_by_hash(t, 7, h(1), &r), 0);
	assert_true(r.revoked && r.revoked_ms == NOW + 5);
	assert_string_equal(r.name, "CRM");
	store_done(t);
}

static void test_touch_at_most_once_per_interval(void **state)
{
	tmpdb *f = *state;
	rec_apikey k = key(7, 70, 1, "CRM", KS_READ);
	create(f, &k);
	rec_apikey r;
	store_txn *t = tmpdb_write(f);
	assert_int_equal(apikey_touch(t, 7, 70, NOW, MINUTE), 1);           /* first use */
	assert_int_equal(apikey_touch(t, 7, 70, NOW + 1, MINUTE), 0);       /* within the minute */
	assert_int_equal(apikey_touch(t, 7, 70, NOW + MINUTE - 1, MINUTE), 0);
	assert_int_equal(apikey_get(t, 7, 70, &r), 0);
	assert_true(r.last_used_ms == NOW);
	assert_int_equal(apikey_touch(t, 7, 70, NOW + MINUTE, MINUTE), 1);  /* a minute later */
	assert_int_equal(apikey_touch(t, 7, 70, NOW - 5 * MINUTE, MINUTE), 0);   /* the clock went back */
	assert_int_equal(apikey_get(t, 7, 70, &r), 0);
	assert_true(r.last_used_ms == NOW + MINUTE);
	assert_int_equal(apikey_touch(t, 7, 71, NOW, MINUTE), STORE_ENOTFOUND);
	assert_int_equal(apikey_touch(t, 8, 70, NOW, MINUTE), STORE_ENOTFOUND);
	/* a revoked key is not touched */
	assert_int_equal(apikey_revoke(t, 7, 70, NOW + 2 * MINUTE, &r), 0);
	assert_int_equal(apikey_touch(t, 7, 70, NOW + 10 * MINUTE, MINUTE), 0);
	tmpdb_commit(f);
	t = tmpdb_read(f);
	assert_int_equal(apikey_get(t, 7, 70, &r), 0);
	assert_true(r.last_used_ms == NOW + MINUTE && r.revoked);
	store_done(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_get_by_hash, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_create_refused_writes_nothing, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_list_in_id_order_per_tenant, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_revoke_once_and_kept, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_touch_at_most_once_per_interval, tmpdb_setup, tmpdb_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
