/* outbox_store_test — storage/outbox_store.c: webhook endpoints (put, get,
 * walks per tenant and over all tenants, delete with the endpoint's
 * entries), entries (add with the per-tenant quota, the count kept beside
 * them, the payload read back as a view into the stored value, retry
 * state that keeps the payload, remove, walks oldest and newest first),
 * drop alerts at most once per interval, and the delivery log (append,
 * pruning to the newest rows, walks); a tenant never sees another's
 * records; a refused write leaves nothing behind.
 *
 * Each test gets its own database in a mkdtemp directory (tmpdb.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "storage/outbox_store.h"
#include "tmpdb.h"

#define NOW 1700000000000LL

static rec_webhook mk_webhook(uint64_t tid, uint64_t id, const char *url)
{
	rec_webhook w = { .tid = tid, .id = id, .events = 0x11, .active = true, .created_ms = NOW, .updated_ms = NOW };
	snprintf(w.url, sizeof w.url, "%s", url);
	snprintf(w.secret, sizeof w.secret, "whsec_%llu", (unsigned long long)id);
	return w;
}

static rec_outbox mk_entry(uint64_t tid, uint64_t id, uint64_t target, uint64_t cid, const char *body)
{
	rec_outbox e = { .tid = tid, .id = id, .kind = OBK_WEBHOOK, .target = target, .event = 4, .cid = cid,
			 .seq = id, .created_ms = NOW, .next_attempt_ms = NOW };
	e.payload.p = (const uint8_t *)body;
	e.payload.n = strlen(body);
	return e;
}

static uint64_t pending(tmpdb *f, uint64_t tid)
{
	rec_outbox_count c;
	store_txn *t = tmpdb_read(f);
	assert_int_equal(outbox_count(t, tid, &c), 0);
	store_done(t);
	return c.pending;
}

/* ---- endpoints ---------------------------------------------------------------- */

typedef struct {
	uint64_t tids[16], ids[16];
	int n;
} seen;

static bool see_webhook(void *arg, uint64_t tid, uint64_t id, const rec_webhook *w)
{
	seen *s = arg;
	assert_non_null(w);
	assert_true(w->tid == tid && w->id == id);
	s->tids[s->n] = tid;
	s->ids[s->n++] = id;
	return true;
}

static void test_webhook_put_get_each(void **state)
{
	tmpdb *f = *state;
	store_txn *t = tmpdb_write(f);
	rec_webhook a = mk_webhook(7, 2, "https://a.example/hook"), b = mk_webhook(7, 1, "http://b.example/"),
		    c = mk_webhook(8, 1, "https://c.example/x");
	assert_int_equal(outbox_webhook_put(t, &a), 0);
	assert_int_equal(outbox_webhook_put(t, &b), 0);
	assert_int_equal(outbox_webhook_put(t, &c), 0);
	rec_webhook bad = mk_webhook(7, 3, "");
	assert_int_equal(outbox_webhook_put(t, &bad), STORE_ECONFLICT);
	bad = mk_webhook(0, 3, "https://x.example/");
	assert_int_equal(outbox_webhook_put(t, &bad), STORE_ECONFLICT);
	tmpdb_commit(f);

	rec_webhook got;
	t = tmpdb_read(f);
	assert_int_equal(outbox_webhook_get(t, 7, 2, &got), 0);
	assert_string_equal(got.url, "https://a.example/hook");
	assert_string_equal(got.secret, "whsec_2");
	assert_true(got.events == 0x11 && got.active && got.created_ms == NOW);
	/* another tenant's id, an unknown one */
	assert_int_equal(outbox_webhook_get(t, 8, 2, &got), STORE_ENOTFOUND);
	assert_int_equal(outbox_webhook_get(t, 7, 3, &got), STORE_ENOTFOUND);
	seen s = { 0 };
	assert_int_equal(outbox_webhook_each(t, 7, see_webhook, &s), 0);
	assert_int_equal(s.n, 2);
	assert_true(s.ids[0] == 1 && s.ids[1] == 2);
	memset(&s, 0, sizeof s);
	assert_int_equal(outbox_webhook_each(t, 0, see_webhook, &s), 0);
	assert_int_equal(s.n, 3);
	assert_true(s.tids[0] == 7 && s.tids[1] == 7 && s.tids[2] == 8);
	store_done(t);

	/* a change replaces the record */
	a.active = false;
	strcpy(a.url, "https://a.example/v2");
	assert_int_equal(outbox_webhook_put(tmpdb_write(f), &a), 0);
	tmpdb_commit(f);
	t = tmpdb_read(f);
	assert_int_equal(outbox_webhook_get(t, 7, 2, &got), 0);
	assert_false(got.active);
	assert_string_equal(got.url, "https://a.example/v2");
	store_done(t);
}

static void test_webhook_del_takes_its_entries(void **state)
{
	tmpdb *f = *state;
	store_txn *t = tmpdb_write(f);
	rec_webhook a = mk_webhook(7, 1, "https://a.example/"), b = mk_webhook(7, 2, "https://b.example/");
	assert_int_equal(outbox_webhook_put(t, &a), 0);
	assert_int_equal(outbox_webhook_put(t, &b), 0);
	for (uint64_t i = 1; i <= 6; i++) {
		rec_outbox e = mk_entry(7, 100 + i, i % 2 ? 1 : 2, 5, "{}");
		assert_int_equal(outbox_add(t, &e, 0), 0);
	}
	/* an email entry whose target happens to be 1 stays */
	rec_outbox mail = mk_entry(7, 200, 1, 0, "mail");
	mail.kind = OBK_EMAIL;
	assert_int_equal(outbox_add(t, &mail, 0), 0);
	tmpdb_commit(f);
	assert_int_equal(pending(f, 7), 7);

	uint64_t removed = 99;
	t = tmpdb_write(f);
	assert_int_equal(outbox_webhook_del(t, 7, 1, &removed), 0);
	assert_int_equal(removed, 3);
	assert_int_equal(outbox_webhook_del(t, 7, 1, &removed), STORE_ENOTFOUND);
	assert_int_equal(outbox_webhook_del(t, 8, 2, &removed), STORE_ENOTFOUND);
	tmpdb_commit(f);
	assert_int_equal(pending(f, 7), 4);
	rec_outbox e;
	rec_webhook w;
	t = tmpdb_read(f);
	assert_int_equal(outbox_webhook_get(t, 7, 1, &w), STORE_ENOTFOUND);
	assert_int_equal(outbox_webhook_get(t, 7, 2, &w), 0);
	assert_int_equal(outbox_get(t, 7, 101, &e), STORE_ENOTFOUND);
	assert_int_equal(outbox_get(t, 7, 102, &e), 0);
	assert_int_equal(outbox_get(t, 7, 200, &e), 0);
	store_done(t);
}

/* ---- entries ---------------------------------------------------------------- */

static void test_add_get_payload_view(void **state)
{
	tmpdb *f = *state;
	char big[5000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	rec_outbox e = mk_entry(7, 10, 1, 5, big);
	e.seq = 42;
	store_txn *t = tmpdb_write(f);
	assert_int_equal(outbox_add(t, &e, 0), 0);
	assert_int_equal(outbox_add(t, &e, 0), STORE_EEXISTS);
	rec_outbox noid = mk_entry(7, 0, 1, 5, "{}");
	assert_int_equal(outbox_add(t, &noid, 0), STORE_ECONFLICT);
	tmpdb_commit(f);
	assert_int_equal(pending(f, 7), 1);

	rec_outbox got;
	t = tmpdb_read(f);
	assert_int_equal(outbox_get(t, 7, 10, &got), 0);
	assert_true(got.kind == OBK_WEBHOOK && got.target == 1 && got.cid == 5 && got.seq == 42 && got.event == 4);
	assert_int_equal(got.payload.n, strlen(big));
	assert_memory_equal(got.payload.p, big, got.payload.n);
	/* a view, not a copy of the caller's bytes */
	assert_true(got.payload.p != (const uint8_t *)big);
	assert_int_equal(outbox_get(t, 8, 10, &got), STORE_ENOTFOUND);
	store_done(t);

	/* an empty payload reads back as NULL, 0 */
	rec_outbox empty = mk_entry(7, 11, 1, 5, "");
	assert_int_equal(outbox_add(tmpdb_write(f), &empty, 0), 0);
	tmpdb_commit(f);
	t = tmpdb_read(f);
	assert_int_equal(outbox_get(t, 7, 11, &got), 0);
	assert_null(got.payload.p);
	assert_int_equal(got.payload.n, 0);
	store_done(t);
}

static void test_quota(void **state)
{
	tmpdb *f = *state;
	store_txn *t = tmpdb_write(f);
	for (uint64_t i = 1; i <= 3; i++) {
		rec_outbox e = mk_entry(7, i, 1, 5, "{}");
		assert_int_equal(outbox_add(t, &e, 3), 0);
	}
	rec_outbox e = mk_entry(7, 4, 1, 5, "{}");
	assert_int_equal(outbox_add(t, &e, 3), STORE_ELIMIT);
	/* another tenant has its own count */
	rec_outbox o = mk_entry(8, 4, 1, 5, "{}");
	assert_int_equal(outbox_add(t, &o, 3), 0);
	tmpdb_commit(f);
	assert_int_equal(pending(f, 7), 3);
	assert_int_equal(pending(f, 8), 1);
	rec_outbox got;
	store_txn *r = tmpdb_read(f);
	assert_int_equal(outbox_get(r, 7, 4, &got), STORE_ENOTFOUND);
	store_done(r);

	/* removing one makes room */
	t = tmpdb_write(f);
	assert_int_equal(outbox_remove(t, 7, 2), 0);
	assert_int_equal(outbox_remove(t, 7, 2), STORE_ENOTFOUND);
	assert_int_equal(outbox_remove(t, 8, 1), STORE_ENOTFOUND);
	assert_int_equal(outbox_add(t, &e, 3), 0);
	tmpdb_commit(f);
	assert_int_equal(pending(f, 7), 3);
}

static void test_retry_keeps_payload(void **state)
{
	tmpdb *f = *state;
	rec_outbox e = mk_entry(7, 10, 1, 5, "{\"a\":1}");
	assert_int_equal(outbox_add(tmpdb_write(f), &e, 0), 0);
	tmpdb_commit(f);

	rec_outbox r = { .tid = 7, .id = 10, .attempts = 3, .next_attempt_ms = NOW + 8000, .last_status = 503,
			 .target = 99, .cid = 99 };
	strcpy(r.last_error, "HTTP 503");
	store_txn *t = tmpdb_write(f);
	assert_int_equal(outbox_retry(t, &r), 0);
	r.id = 11;
	assert_int_equal(outbox_retry(t, &r), STORE_ENOTFOUND);
	tmpdb_commit(f);
	assert_int_equal(pending(f, 7), 1);

	rec_outbox got;
	t = tmpdb_read(f);
	assert_int_equal(outbox_get(t, 7, 10, &got), 0);
	assert_true(got.attempts == 3 && got.next_attempt_ms == NOW + 8000 && got.last_status == 503);
	assert_string_equal(got.last_error, "HTTP 503");
	/* what the entry is stays */
	assert_true(got.target == 1 && got.cid == 5);
	assert_int_equal(got.payload.n, 7);
	assert_memory_equal(got.payload.p, "{\"a\":1}", 7);
	store_done(t);
}

static bool see_entry(void *arg, uint64_t tid, uint64_t id, const rec_outbox *e)
{
	seen *s = arg;
	assert_non_null(e);
	assert_true(e->tid == tid && e->id == id);
	s->tids[s->n] = tid;
	s->ids[s->n++] = id;
	return s->n < 16;
}

static bool see_two(void *arg, uint64_t tid, uint64_t id, const rec_outbox *e)
{
	see_entry(arg, tid, id, e);
	return ((seen *)arg)->n < 2;
}

static void test_entry_walks(void **state)
{
	tmpdb *f = *state;
	store_txn *t = tmpdb_write(f);
	const uint64_t order[][2] = { { 8, 3 }, { 7, 5 }, { 7, 1 }, { 9, 2 }, { 7, 3 } };
	for (int i = 0; i < 5; i++) {
		rec_outbox e = mk_entry(order[i][0], order[i][1], 1, 5, "{}");
		assert_int_equal(outbox_add(t, &e, 0), 0);
	}
	tmpdb_commit(f);

	t = tmpdb_read(f);
	seen s = { 0 };
	assert_int_equal(outbox_each(t, 0, see_entry, &s), 0);
	assert_int_equal(s.n, 5);
	const uint64_t all[][2] = { { 7, 1 }, { 7, 3 }, { 7, 5 }, { 8, 3 }, { 9, 2 } };
	for (int i = 0; i < 5; i++)
		assert_true(s.tids[i] == all[i][0] && s.ids[i] == all[i][1]);
	memset(&s, 0, sizeof s);
	assert_int_equal(outbox_each(t, 7, see_entry, &s), 0);
	assert_int_equal(s.n, 3);
	/* newest first, below an id, within the tenant only */
	memset(&s, 0, sizeof s);
	assert_int_equal(outbox_each_back(t, 7, 0, see_entry, &s), 0);
	assert_int_equal(s.n, 3);
	assert_true(s.ids[0] == 5 && s.ids[1] == 3 && s.ids[2] == 1);
	memset(&s, 0, sizeof s);
	assert_int_equal(outbox_each_back(t, 7, 5, see_entry, &s), 0);
	assert_int_equal(s.n, 2);
	assert_true(s.ids[0] == 3 && s.ids[1] == 1);
	memset(&s, 0, sizeof s);
	assert_int_equal(outbox_each_back(t, 8, 0, see_two, &s), 0);
	assert_int_equal(s.n, 1);
	memset(&s, 0, sizeof s);
	assert_int_equal(outbox_each_back(t, 9, 0, see_entry, &s), 0);
	assert_true(s.n == 1 && s.ids[0] == 2);
	memset(&s, 0, sizeof s);
	assert_int_equal(outbox_each_back(t, 6, 0, see_entry, &s), 0);
	assert_int_equal(s.n, 0);
	memset(&s, 0, sizeof s);
	assert_int_equal(outbox_each_back(t, 7, 1, see_entry, &s), 0);
	assert_int_equal(s.n, 0);
	/* a walk stops when told */
	memset(&s, 0, sizeof s);
	assert_int_equal(outbox_each(t, 0, see_two, &s), 0);
	assert_int_equal(s.n, 2);
	store_done(t);
}

/* ---- figures ---------------------------------------------------------------- */

static void test_drop_alerts(void **state)
{
	tmpdb *f = *state;
	bool alert = false;
	store_txn *t = tmpdb_write(f);
	assert_int_equal(outbox_note_drop(t, 7, NOW, 60000, &alert), 0);
	assert_true(alert);
	assert_int_equal(outbox_note_drop(t, 7, NOW + 1000, 60000, &alert), 0);
	assert_false(alert);
	assert_int_equal(outbox_note_drop(t, 8, NOW + 1000, 60000, &alert), 0);
	assert_true(alert);
	assert_int_equal(outbox_note_drop(t, 7, NOW + 60000, 60000, &alert), 0);
	assert_true(alert);
	tmpdb_commit(f);
	rec_outbox_count c;
	t = tmpdb_read(f);
	assert_int_equal(outbox_count(t, 7, &c), 0);
	assert_true(c.tid == 7 && c.dropped == 3 && c.pending == 0 && c.last_alert_ms == NOW + 60000);
	assert_int_equal(outbox_count(t, 9, &c), 0);
	assert_true(c.tid == 9 && c.dropped == 0);
	store_done(t);
}

/* ---- the delivery log ---------------------------------------------------------------- */

static bool see_row(void *arg, uint64_t id, const rec_outbox_log *r)
{
	seen *s = arg;
	assert_non_null(r);
	assert_true(r->id == id);
	s->ids[s->n++] = id;
	return s->n < 16;
}

static void test_log_append_prune_walk(void **state)
{
	tmpdb *f = *state;
	store_txn *t = tmpdb_write(f);
	for (uint64_t i = 1; i <= 6; i++) {
		rec_outbox_log r = { .tid = 7, .id = i, .delivery = 100 + i, .attempt = 1, .result = OBR_OK,
				     .status_code = 200, .latency_ms = 3, .created_ms = NOW };
		r.payload.p = (const uint8_t *)"{}";
		r.payload.n = 2;
		assert_int_equal(outbox_log_append(t, &r, 4), 0);
	}
	rec_outbox_log other = { .tid = 8, .id = 3, .result = OBR_DROPPED, .created_ms = NOW };
	strcpy(other.error, "outbox full");
	assert_int_equal(outbox_log_append(t, &other, 4), 0);
	rec_outbox_log noid = { .tid = 7 };
	assert_int_equal(outbox_log_append(t, &noid, 4), STORE_ECONFLICT);
	tmpdb_commit(f);

	t = tmpdb_read(f);
	rec_outbox_count c;
	assert_int_equal(outbox_count(t, 7, &c), 0);
	assert_int_equal(c.log_rows, 4);
	seen s = { 0 };
	assert_int_equal(outbox_log_each(t, 7, 0, see_row, &s), 0);
	assert_int_equal(s.n, 4);
	assert_true(s.ids[0] == 6 && s.ids[1] == 5 && s.ids[2] == 4 && s.ids[3] == 3);
	memset(&s, 0, sizeof s);
	assert_int_equal(outbox_log_each(t, 7, 5, see_row, &s), 0);
	assert_true(s.n == 2 && s.ids[0] == 4 && s.ids[1] == 3);
	rec_outbox_log got;
	assert_int_equal(outbox_log_get(t, 7, 2, &got), STORE_ENOTFOUND);
	assert_int_equal(outbox_log_get(t, 7, 6, &got), 0);
	assert_true(got.delivery == 106 && got.status_code == 200 && got.payload.n == 2);
	assert_int_equal(outbox_log_get(t, 8, 6, &got), STORE_ENOTFOUND);
	assert_int_equal(outbox_log_get(t, 8, 3, &got), 0);
	assert_true(got.result == OBR_DROPPED && got.payload.n == 0);
	assert_string_equal(got.error, "outbox full");
	store_done(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_webhook_put_get_each, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_webhook_del_takes_its_entries, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_add_get_payload_view, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_quota, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_retry_keeps_payload, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_entry_walks, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_drop_alerts, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_log_append_prune_walk, tmpdb_setup, tmpdb_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
