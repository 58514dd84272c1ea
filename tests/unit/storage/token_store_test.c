/* token_store_test — storage/token_store.c: a session's family and first
 * refresh token, rotation (spent once; a spent, expired or revoked token is
 * refused with nothing written), revoking a family and every family of a
 * user, invite tokens (single use, expiry), tenant isolation of the
 * hashed keys, and the prune of expired tokens in bounded batches.
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

#include "storage/token_store.h"
#include "tmpdb.h"

#define NOW 1700000000000LL
#define DAY (24 * 3600 * 1000LL)

/* A distinct token hash per n. */
static const uint8_t *h(int n)
{
	static uint8_t hs[64][32];
	memset(hs[n], 0, 32);
	hs[n][0] = (uint8_t)n;
	hs[n][31] = 0xA5;
	return hs[n];
}

static void start(tmpdb *f, uint64_t tid, uint64_t uid, uint64_t family, int hn)
{
	assert_int_equal(token_session_start(tmpdb_write(f), tid, uid, family, h(hn), NOW, NOW + DAY), 0);
	tmpdb_commit(f);
}

static void test_session_start_and_get(void **state)
{
	tmpdb *f = *state;
	start(f, 7, 70, 700, 1);
	rec_refresh r;
	rec_family fam;
	store_txn *t = tmpdb_read(f);
	assert_int_equal(token_refresh_get(t, 7, h(1), &r, &fam), 0);
	assert_true(r.tid == 7 && r.uid == 70 && r.family == 700);
	assert_memory_equal(r.hash, h(1), 32);
	assert_true(r.expires_ms == NOW + DAY);
	assert_false(r.used);
	assert_true(fam.tid == 7 && fam.id == 700 && fam.uid == 70 && fam.created_ms == NOW);
	assert_false(fam.revoked);
	/* the same hash under another tenant, and an unknown hash */
	assert_int_equal(token_refresh_get(t, 8, h(1), &r, &fam), STORE_ENOTFOUND);
	assert_int_equal(token_refresh_get(t, 7, h(2), &r, &fam), STORE_ENOTFOUND);
	store_done(t);
	/* a family id or a token hash that exists: refused */
	t = tmpdb_write(f);
	assert_int_equal(token_session_start(t, 7, 70, 700, h(2), NOW, NOW + DAY), STORE_EEXISTS);
	assert_int_equal(token_session_start(t, 7, 70, 701, h(1), NOW, NOW + DAY), STORE_EEXISTS);
	tmpdb_commit(f);
	t = tmpdb_read(f);
	assert_int_equal(token_refresh_get(t, 7, h(2), &r, &fam), STORE_ENOTFOUND);
	store_done(t);
}

static void test_rotate_spends_once(void **state)
{
	tmpdb *f = *state;
	start(f, 7, 70, 700, 1);
	store_txn *t = tmpdb_write(f);
	assert_int_equal(token_refresh_rotate(t, 7, h(1), h(2), NOW + 1000, NOW + 2 * DAY), 0);
	tmpdb_commit(f);

	rec_refresh r;
	rec_family fam;
	t = tmpdb_read(f);
	assert_int_equal(token_refresh_get(t, 7, h(1), &r, &fam), 0);
	assert_true(r.used);
	assert_int_equal(token_refresh_get(t, 7, h(2), &r, &fam), 0);
	assert_false(r.used);
	assert_true(r.uid == 70 && r.family == 700 && r.expires_ms == NOW + 2 * DAY);
	store_done(t);

	/* the spent token again (reuse): refused, no successor stored */
	t = tmpdb_write(f);
	assert_int_equal(token_refresh_rotate(t, 7, h(1), h(3), NOW + 2000, NOW + 2 * DAY), STORE_ECONFLICT);
	assert_int_equal(token_refresh_get(t, 7, h(3), &r, &fam), STORE_ENOTFOUND);
	/* the live successor rotates on; a successor hash that exists is refused */
	assert_int_equal(token_refresh_rotate(t, 7, h(2), h(1), NOW + 3000, NOW + 2 * DAY), STORE_EEXISTS);
	assert_int_equal(token_refresh_rotate(t, 7, h(2), h(4), NOW + 3000, NOW + 2 * DAY), 0);
	/* unknown token, other tenant */
	assert_int_equal(token_refresh_rotate(t, 7, h(9), h(5), NOW, NOW + DAY), STORE_ENOTFOUND);
	assert_int_equal(token_refresh_rotate(t, 8, h(4), h(5), NOW, NOW + DAY), STORE_ENOTFOUND);
	tmpdb_commit(f);
}

static void test_rotate_refuses_expired_and_revoked(void **state)
{
	tmpdb *f = *state;
	start(f, 7, 70, 700, 1);
	start(f, 7, 70, 701, 2);
	rec_refresh r;
	rec_family fam;
	store_txn *t = tmpdb_write(f);
	/* at the expiry instant the token is dead */
	assert_int_equal(token_refresh_rotate(t, 7, h(1), h(3), NOW + DAY, NOW + 2 * DAY), STORE_ECONFLICT);
	assert_int_equal(token_refresh_get(t, 7, h(1), &r, &fam), 0);
	assert_false(r.used);
	/* a revoked family's tokens are refused */
	assert_int_equal(token_family_revoke(t, 7, 701), 0);
	assert_int_equal(token_family_revoke(t, 7, 701), 0);   /* again: still fine */
	assert_int_equal(token_family_revoke(t, 7, 799), STORE_ENOTFOUND);
	assert_int_equal(token_family_revoke(t, 8, 700), STORE_ENOTFOUND);
	assert_int_equal(token_refresh_rotate(t, 7, h(2), h(3), NOW, NOW + DAY), STORE_ECONFLICT);
	assert_int_equal(token_refresh_get(t, 7, h(2), &r, &fam), 0);
	assert_true(fam.revoked);
	assert_false(r.used);
	assert_int_equal(token_refresh_get(t, 7, h(3), &r, &fam), STORE_ENOTFOUND);
	/* the other family is untouched */
	assert_int_equal(token_refresh_get(t, 7, h(1), &r, &fam), 0);
	assert_false(fam.revoked);
	tmpdb_commit(f);
}

static void test_revoke_user(void **state)
{
	tmpdb *f = *state;
	/* user 70 of tenant 7: three sessions, one already revoked; user 71
	 * of tenant 7 and user 70 of tenant 8 (same uid, other tenant) one each */
	start(f, 7, 70, 700, 1);
	start(f, 7, 70, 701, 2);
	start(f, 7, 70, 702, 3);
	start(f, 7, 71, 703, 4);
	start(f, 8, 70, 704, 5);
	assert_int_equal(token_family_revoke(tmpdb_write(f), 7, 701), 0);
	tmpdb_commit(f);

	assert_int_equal(token_revoke_user(tmpdb_write(f), 7, 70), 2);
	tmpdb_commit(f);
	rec_refresh r;
	rec_family fam;
	store_txn *t = tmpdb_read(f);
	for (int n = 1; n <= 3; n++) {
		assert_int_equal(token_refresh_get(t, 7, h(n), &r, &fam), 0);
		assert_true(fam.revoked);
	}
	assert_int_equal(token_refresh_get(t, 7, h(4), &r, &fam), 0);
	assert_false(fam.revoked);
	assert_int_equal(token_refresh_get(t, 8, h(5), &r, &fam), 0);
	assert_false(fam.revoked);
	store_done(t);
	/* nothing left to revoke; a user without sessions */
	t = tmpdb_write(f);
	assert_int_equal(token_revoke_user(t, 7, 70), 0);
	assert_int_equal(token_revoke_user(t, 9, 90), 0);
	tmpdb_commit(f);
}

/* ---- invites ------------------------------------------------------------------- */

static rec_invite invite(uint64_t tid, uint64_t uid, int hn, int64_t expires_ms)
{
	rec_invite inv = { .tid = tid, .uid = uid, .purpose = INV_INVITE, .expires_ms = expires_ms,
			   .created_ms = NOW };
	memcpy(inv.hash, h(hn), 32);
	return inv;
}

static void test_invite_single_use(void **state)
{
	tmpdb *f = *state;
	rec_invite inv = invite(7, 70, 1, NOW + DAY), got;
	inv.used = true;   /* put stores it unused whatever the caller says */
	store_txn *t = tmpdb_write(f);
	assert_int_equal(token_invite_put(t, &inv), 0);
	assert_int_equal(token_invite_put(t, &inv), STORE_EEXISTS);
	tmpdb_commit(f);

	t = tmpdb_read(f);
	assert_int_equal(token_invite_get(t, 7, h(1), &got), 0);
	assert_true(got.tid == 7 && got.uid == 70 && got.purpose == INV_INVITE);
	assert_true(got.expires_ms == NOW + DAY && got.created_ms == NOW);
	assert_false(got.used);
	assert_int_equal(token_invite_get(t, 8, h(1), &got), STORE_ENOTFOUND);
	store_done(t);

	t = tmpdb_write(f);
	assert_int_equal(token_invite_spend(t, 8, h(1), NOW, &got), STORE_ENOTFOUND);
	assert_int_equal(token_invite_spend(t, 7, h(1), NOW + 5, &got), 0);
	assert_true(got.uid == 70);
	assert_true(got.used);
	tmpdb_commit(f);
	/* a second spend, in a later transaction */
	t = tmpdb_write(f);
	assert_int_equal(token_invite_spend(t, 7, h(1), NOW + 6, &got), STORE_ECONFLICT);
	assert_int_equal(token_invite_spend(t, 7, h(2), NOW + 6, &got), STORE_ENOTFOUND);
	tmpdb_commit(f);
	assert_int_equal(token_invite_get(tmpdb_read(f), 7, h(1), &got), 0);
	assert_true(got.used);
	store_done(&f->t);
}

static void test_invite_expiry_and_invalid(void **state)
{
	tmpdb *f = *state;
	rec_invite inv = invite(7, 70, 1, NOW + DAY), got;
	rec_invite reset = invite(7, 71, 2, NOW + DAY);
	reset.purpose = INV_RESET;
	store_txn *t = tmpdb_write(f);
	assert_int_equal(token_invite_put(t, &inv), 0);
	assert_int_equal(token_invite_put(t, &reset), 0);
	/* at the expiry instant: refused and left unused */
	assert_int_equal(token_invite_spend(t, 7, h(1), NOW + DAY, &got), STORE_ECONFLICT);
	assert_int_equal(token_invite_get(t, 7, h(1), &got), 0);
	assert_false(got.used);
	assert_int_equal(token_invite_spend(t, 7, h(2), NOW + DAY - 1, &got), 0);
	assert_int_equal(got.purpose, INV_RESET);
	/* no tenant, no user, an unknown purpose */
	rec_invite bad = invite(0, 70, 3, NOW + DAY);
	assert_int_equal(token_invite_put(t, &bad), STORE_ECONFLICT);
	bad = invite(7, 0, 3, NOW + DAY);
	assert_int_equal(token_invite_put(t, &bad), STORE_ECONFLICT);
	bad = invite(7, 70, 3, NOW + DAY);
	bad.purpose = INV__COUNT;
	assert_int_equal(token_invite_put(t, &bad), STORE_ECONFLICT);
	assert_int_equal(token_invite_get(t, 7, h(3), &got), STORE_ENOTFOUND);
	tmpdb_commit(f);
}

static void test_invite_revoke_user(void **state)
{
	tmpdb *f = *state;
	rec_invite a = invite(7, 70, 1, NOW + DAY), b = invite(7, 70, 2, NOW + DAY), other = invite(7, 71, 3, NOW + DAY),
		   b_tenant = invite(8, 70, 4, NOW + DAY), got;
	store_txn *t = tmpdb_write(f);
	assert_int_equal(token_invite_put(t, &a), 0);
	assert_int_equal(token_invite_put(t, &b), 0);
	assert_int_equal(token_invite_put(t, &other), 0);
	assert_int_equal(token_invite_put(t, &b_tenant), 0);
	assert_int_equal(token_invite_spend(t, 7, h(2), NOW, &got), 0);
	/* the user's one unused token; spent ones, other users and tenants stay as they are */
	assert_int_equal(token_invite_revoke_user(t, 7, 70), 1);
	tmpdb_commit(f);
	t = tmpdb_write(f);
	assert_int_equal(token_invite_spend(t, 7, h(1), NOW, &got), STORE_ECONFLICT);
	assert_int_equal(token_invite_spend(t, 7, h(3), NOW, &got), 0);
	assert_int_equal(token_invite_spend(t, 8, h(4), NOW, &got), 0);
	assert_int_equal(token_invite_revoke_user(t, 7, 70), 0);
	assert_int_equal(token_invite_revoke_user(t, 9, 90), 0);
	tmpdb_commit(f);
}

/* The prune: expired refresh and invite tokens go, live ones stay; a walk
 * in batches of 3 rows goes on where the last stopped and ends with
 * more = false. */
static void test_prune(void **state)
{
	tmpdb *f = *state;
	store_txn *t = tmpdb_write(f);
	/* refresh tokens 1..10 (families 100+n): odd ones expired at NOW */
	for (int n = 1; n <= 10; n++)
		assert_int_equal(token_session_start(t, 7, 70, 100 + (uint64_t)n, h(n), NOW - 2 * DAY,
						     n % 2 ? NOW - DAY : NOW + DAY), 0);
	/* invites 20..25: those below 23 expired */
	for (int n = 20; n <= 25; n++) {
		rec_invite inv = invite(7, 70, n, n < 23 ? NOW - 1 : NOW + DAY);
		assert_int_equal(token_invite_put(t, &inv), 0);
	}
	tmpdb_commit(f);
	uint8_t cur[TOKEN_PRUNE_CURSOR];
	size_t cl = 0;
	bool more = true;
	int total = 0, calls = 0;
	while (more) {
		t = tmpdb_write(f);
		int n = token_prune(t, NOW, cur, &cl, 3, &more);
		assert_true(n >= 0 && n <= 3);
		total += n;
		tmpdb_commit(f);
		assert_true(++calls < 20);
	}
	assert_int_equal(total, 5 + 3);
	assert_int_equal(calls, 6);          /* 16 rows, 3 a call: the sixth finds the end */
	rec_refresh r;
	rec_family fam;
	rec_invite got;
	t = tmpdb_read(f);
	for (int n = 1; n <= 10; n++)
		assert_int_equal(token_refresh_get(t, 7, h(n), &r, &fam), n % 2 ? STORE_ENOTFOUND : 0);
	for (int n = 20; n <= 25; n++)
		assert_int_equal(token_invite_get(t, 7, h(n), &got), n < 23 ? STORE_ENOTFOUND : 0);
	store_done(t);
	/* a run over nothing expired deletes nothing, in one call */
	t = tmpdb_write(f);
	cl = 0;
	assert_int_equal(token_prune(t, NOW, cur, &cl, 100, &more), 0);
	assert_false(more);
	tmpdb_commit(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session_start_and_get, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_rotate_spends_once, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_rotate_refuses_expired_and_revoked, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_revoke_user, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_invite_single_use, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_invite_expiry_and_invalid, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_invite_revoke_user, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_prune, tmpdb_setup, tmpdb_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
