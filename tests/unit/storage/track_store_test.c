/* track_store_test — storage/track_store.c: sessions (continued under 30
 * minutes, a new one after), the live index (one row a visitor, newest
 * first, bounded by time and count), a visitor's sessions, the per-session
 * cap on stored page views, the day counters with their distinct-name
 * bound and `(other)` row, tenant isolation, and the retention prune in
 * bounded batches (page views, counters, live rows, ended sessions;
 * a session still going is kept). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "storage/account_store.h"
#include "storage/track_store.h"
#include "tmpdb.h"

#define NOW 1800000000000LL
#define MIN 60000LL

static id_gen ids;

static uint64_t tenant(tmpdb *f, const char *slug)
{
	rec_tenant t;
	assert_int_equal(account_tenant_create(tmpdb_write(f), &ids, "T", slug, "*", &t), 0);
	tmpdb_commit(f);
	return t.id;
}

/* A page view at `at`; returns the session after. */
static rec_vsession view(tmpdb *f, uint64_t tid, uint64_t vid, int64_t at, const char *url, bool *stored, bool *fresh)
{
	static uint64_t n = 1;
	trackstore_view in = { .tid = tid, .vid = vid, .session_id = (uint64_t)at << 16 | n++,
			       .pageview_id = (uint64_t)at << 16 | n++, .now_ms = at, .day = (uint32_t)(at / TRACK_DAY_MS),
			       .url = url, .title = "T",
			       .referrer = "", .referrer_host = "(direct)", .device = 1, .browser = "Chrome",
			       .os = "Linux", .lang = "en", .screen = "", .browser_major = 120 };
	rec_vsession s;
	bool st, fr;
	assert_int_equal(trackstore_pageview(tmpdb_write(f), &in, &s, stored ? stored : &st, fresh ? fresh : &fr), 0);
	tmpdb_commit(f);
	return s;
}

typedef struct {
	uint64_t vid[16], sid[16];
	uint64_t pages[16];
	int n;
} seen;

static bool collect(void *ctx, const rec_vsession *s)
{
	seen *x = ctx;
	x->vid[x->n] = s->visitor_id;
	x->sid[x->n] = s->id;
	x->pages[x->n++] = s->pages;
	return x->n < 16;
}

static void test_sessions_and_live(void **state)
{
	tmpdb *f = *state;
	uint64_t a = tenant(f, "a"), b = tenant(f, "b");
	bool fresh;
	rec_vsession s1 = view(f, a, 1, NOW, "https://x/1", NULL, &fresh);
	assert_true(fresh);
	rec_vsession s2 = view(f, a, 1, NOW + 29 * MIN, "https://x/2", NULL, &fresh);
	assert_false(fresh);
	assert_true(s2.id == s1.id && s2.pages == 2 && s2.started_ms == NOW && s2.last_ms == NOW + 29 * MIN);
	assert_string_equal(s2.url, "https://x/2");
	rec_vsession s3 = view(f, a, 1, NOW + 59 * MIN + 1, "https://x/3", NULL, &fresh);   /* 30 min after the last */
	assert_true(fresh && s3.id != s1.id && s3.pages == 1);
	view(f, a, 2, NOW + 50 * MIN, "https://x/other", NULL, NULL);
	view(f, b, 3, NOW + 55 * MIN, "https://b/", NULL, NULL);

	store_txn *t = tmpdb_read(f);
	seen x = { 0 };
	assert_int_equal(trackstore_live(t, a, NOW + 45 * MIN, 10, collect, &x), 0);
	assert_int_equal(x.n, 2);   /* one row a visitor, newest first, tenant b's apart */
	assert_true(x.vid[0] == 1 && x.sid[0] == s3.id && x.vid[1] == 2);
	x = (seen){ 0 };
	assert_int_equal(trackstore_live(t, a, NOW + 45 * MIN, 1, collect, &x), 0);
	assert_int_equal(x.n, 1);
	x = (seen){ 0 };
	assert_int_equal(trackstore_live(t, a, NOW + 58 * MIN, 10, collect, &x), 0);
	assert_true(x.n == 1 && x.vid[0] == 1);
	x = (seen){ 0 };
	assert_int_equal(trackstore_sessions(t, a, 1, 10, collect, &x), 0);
	assert_true(x.n == 2 && x.sid[0] == s3.id && x.sid[1] == s1.id && x.pages[1] == 2);
	x = (seen){ 0 };
	assert_int_equal(trackstore_sessions(t, b, 1, 10, collect, &x), 0);   /* another tenant's visitor id */
	assert_int_equal(x.n, 0);
	store_done(t);
}

typedef struct {
	uint64_t total, other;
	int rows;
	char first[64];
} sums;

static bool sum(void *ctx, uint32_t day, const char *name, uint64_t count)
{
	sums *s = ctx;
	(void)day;
	if (!s->rows++)
		snprintf(s->first, sizeof s->first, "%s", name);
	s->total += count;
	if (!*name)
		s->other += count;
	return true;
}

static void test_cap_and_counters(void **state)
{
	tmpdb *f = *state;
	uint64_t a = tenant(f, "a");
	bool stored;
	for (int i = 0; i < TRACK_SESSION_PAGES_MAX + 5; i++) {
		rec_vsession s = view(f, a, 1, NOW + i, "https://x/same", &stored, NULL);
		assert_true(stored == (i < TRACK_SESSION_PAGES_MAX));
		assert_true(s.pages == (uint64_t)i + 1 && s.stored == (uint64_t)(i < TRACK_SESSION_PAGES_MAX ? i + 1 : 200));
	}
	/* distinct pages of one day: TRACK_DISTINCT_MAX named, the rest as one row */
	char url[64];
	for (int i = 0; i < TRACK_DISTINCT_MAX + 3; i++) {
		snprintf(url, sizeof url, "https://x/p%d", i);
		view(f, a, 100 + (uint64_t)i, NOW + 1000 + i, url, NULL, NULL);
	}
	uint32_t day = (uint32_t)(NOW / TRACK_DAY_MS);
	store_txn *t = tmpdb_read(f);
	sums s = { 0 };
	assert_int_equal(trackstore_counts(t, a, TD_PAGE, day, day, 5000, sum, &s), 0);
	assert_int_equal(s.rows, TRACK_DISTINCT_MAX + 1);
	assert_true(s.total == TRACK_SESSION_PAGES_MAX + TRACK_DISTINCT_MAX + 3 && s.other == 4);
	s = (sums){ 0 };
	assert_int_equal(trackstore_counts(t, a, TD_PAGE, day, day, 10, sum, &s), STORE_ELIMIT);
	s = (sums){ 0 };
	assert_int_equal(trackstore_counts(t, a, TD_TOTAL, day, day, 10, sum, &s), 0);
	assert_int_equal(s.rows, 2);   /* pageviews, sessions */
	s = (sums){ 0 };
	assert_int_equal(trackstore_counts(t, a, TD_BROWSER, day, day, 10, sum, &s), 0);
	assert_true(s.rows == 1 && s.total == 1 + TRACK_DISTINCT_MAX + 3 && !strcmp(s.first, "Chrome"));
	s = (sums){ 0 };
	assert_int_equal(trackstore_counts(t, a, TD_PAGE, day + 1, day + 30, 10, sum, &s), 0);
	assert_int_equal(s.rows, 0);
	store_done(t);
}

static void test_prune(void **state)
{
	tmpdb *f = *state;
	uint64_t a = tenant(f, "a"), b = tenant(f, "b");
	int64_t old = NOW - 100 * TRACK_DAY_MS;
	for (int i = 0; i < 6; i++)
		view(f, a, 1, old + i * MIN, "https://x/old", NULL, NULL);
	view(f, b, 2, old, "https://b/old", NULL, NULL);
	/* a session that started long ago and is still going: kept */
	for (int64_t at = NOW - 92 * TRACK_DAY_MS; at < NOW - 88 * TRACK_DAY_MS; at += 20 * MIN)
		view(f, a, 3, at, "https://x/long", NULL, NULL);
	view(f, a, 4, NOW, "https://x/new", NULL, NULL);
	int n, total = 0, rounds = 0;
	do {
		n = trackstore_prune(tmpdb_write(f), NOW, 5);
		tmpdb_commit(f);
		assert_true(n >= 0 && n <= 5);
		total += n;
		rounds++;
	} while (n == 5 && rounds < 1000);
	assert_true(rounds > 1 && total > 5);
	store_txn *t = tmpdb_read(f);
	seen x = { 0 };
	assert_int_equal(trackstore_sessions(t, a, 1, 10, collect, &x), 0);
	assert_int_equal(x.n, 0);
	assert_int_equal(trackstore_sessions(t, b, 2, 10, collect, &x), 0);
	assert_int_equal(x.n, 0);
	assert_int_equal(trackstore_sessions(t, a, 3, 10, collect, &x), 0);
	assert_int_equal(x.n, 1);
	x = (seen){ 0 };
	assert_int_equal(trackstore_live(t, a, 0, 10, collect, &x), 0);
	assert_true(x.n == 2 && x.vid[0] == 4 && x.vid[1] == 3);   /* 1's row went with its session */
	sums s = { 0 };
	uint32_t od = (uint32_t)(old / TRACK_DAY_MS);
	assert_int_equal(trackstore_counts(t, a, TD_PAGE, od, od, 10, sum, &s), 0);
	assert_int_equal(s.rows, 0);
	assert_int_equal(trackstore_counts(t, a, TD_PAGE, (uint32_t)(NOW / TRACK_DAY_MS), (uint32_t)(NOW / TRACK_DAY_MS), 10,
					   sum, &s), 0);
	assert_int_equal(s.rows, 1);
	store_done(t);
	/* nothing more to do */
	assert_int_equal(trackstore_prune(tmpdb_write(f), NOW, 5), 0);
	tmpdb_commit(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sessions_and_live, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_cap_and_counters, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_prune, tmpdb_setup, tmpdb_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
