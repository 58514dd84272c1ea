/* account_store_test — storage/account_store.c: tenants (create, the slug
 * and widget-key lookups, settings), users (create, the case-insensitive
 * email index within and across tenants, lists, updates that move the
 * index, the last-owner rule), visitors and the signing key in meta; a
 * tenant's ids never reach another tenant's records; a refused write
 * leaves nothing behind.
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

#include "storage/account_store.h"
#include "tmpdb.h"

static id_gen ids;

/* Creates tenant slug (name = slug) in its own committed transaction. */
static rec_tenant mk_tenant(tmpdb *f, const char *slug)
{
	rec_tenant t;
	assert_int_equal(account_tenant_create(tmpdb_write(f), &ids, slug, slug, "https://a.example", &t), 0);
	tmpdb_commit(f);
	return t;
}

static rec_user mk_user(tmpdb *f, uint64_t tid, const char *email, const char *role)
{
	rec_user u;
	assert_int_equal(account_user_create(tmpdb_write(f), &ids, tid, email, "$argon2id$x", role, "", &u), 0);
	tmpdb_commit(f);
	return u;
}

/* ---- tenants ---------------------------------------------------------------- */

static void test_tenant_create_and_find(void **state)
{
	tmpdb *f = *state;
	assert_int_equal(account_tenant_any(tmpdb_read(f)), 0);
	store_done(&f->t);

	rec_tenant t = mk_tenant(f, "acme"), got;
	assert_true(t.id != 0);
	assert_string_equal(t.slug, "acme");
	assert_true(strncmp(t.widget_key, "wk_", 3) == 0 && strlen(t.widget_key) == 27);
	assert_string_equal(t.origins, "https://a.example");
	/* the v2 settings start at their defaults */
	assert_string_equal(t.widget_color, "#1f6feb");
	assert_string_equal(t.greeting, "");
	assert_string_equal(t.widget_position, "right");
	assert_string_equal(t.timezone, "UTC");

	store_txn *r = tmpdb_read(f);
	assert_int_equal(account_tenant_any(r), 1);
	assert_int_equal(account_tenant_by_slug(r, "acme", &got), 0);
	assert_memory_equal(&got, &t, sizeof t);
	assert_int_equal(account_tenant_by_key(r, t.widget_key, &got), 0);
	assert_true(got.id == t.id);
	assert_int_equal(account_tenant_get(r, t.id, &got), 0);
	assert_string_equal(got.slug, "acme");
	assert_int_equal(account_tenant_by_slug(r, "acm", &got), STORE_ENOTFOUND);
	assert_int_equal(account_tenant_by_slug(r, "ACME", &got), STORE_ENOTFOUND);
	assert_int_equal(account_tenant_by_key(r, "wk_nope", &got), STORE_ENOTFOUND);
	/* empty and over-long handles are simply not found */
	char longest[600];
	memset(longest, 'a', sizeof longest - 1);
	longest[sizeof longest - 1] = 0;
	assert_int_equal(account_tenant_by_slug(r, "", &got), STORE_ENOTFOUND);
	assert_int_equal(account_tenant_by_key(r, "", &got), STORE_ENOTFOUND);
	assert_int_equal(account_tenant_by_slug(r, longest, &got), STORE_ENOTFOUND);
	assert_int_equal(account_tenant_by_key(r, longest, &got), STORE_ENOTFOUND);
	assert_int_equal(account_tenant_get(r, t.id + 1, &got), STORE_ENOTFOUND);
	store_done(r);
}

static void test_tenant_duplicate_and_invalid(void **state)
{
	tmpdb *f = *state;
	rec_tenant t = mk_tenant(f, "acme"), x;
	store_txn *w = tmpdb_write(f);
	assert_int_equal(account_tenant_create(w, &ids, "Other", "acme", NULL, &x), STORE_EEXISTS);
	static const char *bad_slugs[] = { "", "Acme", "a b", "a_b", "a.b", "ümlaut",
		"0123456789012345678901234567890123456789012345678" /* 49 */ };
	for (size_t i = 0; i < sizeof bad_slugs / sizeof *bad_slugs; i++)
		assert_int_equal(account_tenant_create(w, &ids, "Name", bad_slugs[i], NULL, &x), STORE_ECONFLICT);
	assert_int_equal(account_tenant_create(w, &ids, "", "ok", NULL, &x), STORE_ECONFLICT);
	char long_origins[REC_ORIGINS_MAX + 2];
	memset(long_origins, 'o', sizeof long_origins - 1);
	long_origins[sizeof long_origins - 1] = 0;
	assert_int_equal(account_tenant_create(w, &ids, "Name", "ok", long_origins, &x), STORE_ECONFLICT);
	/* 48 characters of [a-z0-9-] is the longest slug */
	assert_int_equal(account_tenant_create(w, &ids, "Name", "012345678901234567890123456789012345678901234-ab", NULL, &x), 0);
	tmpdb_commit(f);
	/* the refused ones left nothing: only acme and the long one */
	store_txn *r = tmpdb_read(f);
	assert_int_equal(account_tenant_by_slug(r, "ok", &x), STORE_ENOTFOUND);
	assert_int_equal(account_tenant_by_slug(r, "acme", &x), 0);
	assert_true(x.id == t.id);
	store_done(r);
}

static void test_tenant_update_settings(void **state)
{
	tmpdb *f = *state;
	rec_tenant t = mk_tenant(f, "acme"), u = t, got;
	strcpy(u.name, "Acme Inc.");
	strcpy(u.origins, "*");
	strcpy(u.widget_color, "#A0b1C2");
	strcpy(u.greeting, "Hi! How can we help?");
	strcpy(u.widget_position, "left");
	strcpy(u.timezone, "America/Argentina/Buenos_Aires");
	/* slug, key and creation time are not settings: ignored */
	strcpy(u.slug, "other");
	strcpy(u.widget_key, "wk_mine");
	u.created_ms = 5;
	store_txn *w = tmpdb_write(f);
	assert_int_equal(account_tenant_update(w, &u), 0);
	assert_string_equal(u.slug, "acme");
	assert_string_equal(u.widget_key, t.widget_key);
	assert_true(u.created_ms == t.created_ms);
	tmpdb_commit(f);

	store_txn *r = tmpdb_read(f);
	assert_int_equal(account_tenant_by_slug(r, "acme", &got), 0);
	assert_memory_equal(&got, &u, sizeof u);
	assert_int_equal(account_tenant_by_slug(r, "other", &got), STORE_ENOTFOUND);
	assert_int_equal(account_tenant_by_key(r, "wk_mine", &got), STORE_ENOTFOUND);
	store_done(r);

	/* invalid values: refused, nothing written */
	static const struct { const char *color, *pos, *tz, *name; } bad[] = {
		{ "#1f6fe", "right", "UTC", "N" }, { "1f6feb0", "right", "UTC", "N" },
		{ "#1f6fgb", "right", "UTC", "N" }, { "", "right", "UTC", "N" },
		{ "#1f6feb", "center", "UTC", "N" }, { "#1f6feb", "", "UTC", "N" },
		{ "#1f6feb", "left", "", "N" }, { "#1f6feb", "left", "../etc/passwd", "N" },
		{ "#1f6feb", "left", "Europe/ Berlin", "N" }, { "#1f6feb", "left", "/UTC", "N" },
		{ "#1f6feb", "left", "UTC", "" },
	};
	w = tmpdb_write(f);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		rec_tenant b = got;
		strcpy(b.widget_color, bad[i].color);
		strcpy(b.widget_position, bad[i].pos);
		strcpy(b.timezone, bad[i].tz);
		strcpy(b.name, bad[i].name);
		assert_int_equal(account_tenant_update(w, &b), STORE_ECONFLICT);
	}
	rec_tenant b = got;
	memset(b.greeting, 'g', sizeof b.greeting);   /* no NUL inside the field */
	assert_int_equal(account_tenant_update(w, &b), STORE_ECONFLICT);
	b = got;
	b.id++;
	assert_int_equal(account_tenant_update(w, &b), STORE_ENOTFOUND);
	tmpdb_commit(f);
	r = tmpdb_read(f);
	assert_int_equal(account_tenant_get(r, t.id, &b), 0);
	assert_memory_equal(&b, &u, sizeof u);
	store_done(r);
}

/* ---- users ------------------------------------------------------------------- */

static void test_roles(void **state)
{
	(void)state;
	assert_true(account_valid_role("owner"));
	assert_true(account_valid_role("admin"));
	assert_true(account_valid_role("supervisor"));
	assert_true(account_valid_role("agent"));
	assert_false(account_valid_role(""));
	assert_false(account_valid_role("Owner"));
	assert_false(account_valid_role("visitor"));
	assert_false(account_valid_role("agents"));
}

static void test_user_create_and_find_any_case(void **state)
{
	tmpdb *f = *state;
	rec_tenant t = mk_tenant(f, "acme");
	rec_user u;
	store_txn *w = tmpdb_write(f);
	assert_int_equal(account_user_create(w, &ids, t.id, "Bob.Smith@Acme.EXAMPLE", "$argon2id$h", "supervisor",
					     "", &u), 0);
	tmpdb_commit(f);
	assert_string_equal(u.email, "bob.smith@acme.example");
	assert_string_equal(u.name, "bob.smith@acme.example");   /* no name: the email */
	assert_string_equal(u.role, "supervisor");
	assert_true(u.active);
	assert_true(u.tid == t.id && u.id != 0);
	assert_true(u.created_ms > 0 && u.pw_changed_ms == u.created_ms);
	assert_string_equal(u.title, "");
	assert_string_equal(u.avatar_url, "");
	assert_int_equal(u.deactivated_ms, 0);

	rec_user got;
	store_txn *r = tmpdb_read(f);
	static const char *spellings[] = { "bob.smith@acme.example", "BOB.SMITH@ACME.EXAMPLE", "Bob.Smith@acme.Example" };
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(account_user_by_email(r, t.id, spellings[i], &got), 0);
		assert_memory_equal(&got, &u, sizeof u);
	}
	assert_int_equal(account_user_get(r, t.id, u.id, &got), 0);
	assert_memory_equal(&got, &u, sizeof u);
	assert_int_equal(account_user_by_email(r, t.id, "bob.smith@acme.exampl", &got), STORE_ENOTFOUND);
	assert_int_equal(account_user_by_email(r, t.id, "", &got), STORE_ENOTFOUND);
	char huge[400];
	memset(huge, 'a', sizeof huge - 1);
	huge[sizeof huge - 1] = 0;
	assert_int_equal(account_user_by_email(r, t.id, huge, &got), STORE_ENOTFOUND);
	store_done(r);
}

static void test_user_duplicate_and_invalid(void **state)
{
	tmpdb *f = *state;
	rec_tenant t = mk_tenant(f, "acme"), t2 = mk_tenant(f, "beta");
	mk_user(f, t.id, "ann@x.example", "agent");
	rec_user u;
	store_txn *w = tmpdb_write(f);
	/* the same email in any case: taken in this tenant, free in another */
	assert_int_equal(account_user_create(w, &ids, t.id, "ANN@x.example", "", "agent", "", &u), STORE_EEXISTS);
	assert_int_equal(account_user_create(w, &ids, t2.id, "ANN@x.example", "", "agent", "", &u), 0);
	/* invalid values and an unknown tenant */
	assert_int_equal(account_user_create(w, &ids, t.id, "no-at-sign", "", "agent", "", &u), STORE_ECONFLICT);
	assert_int_equal(account_user_create(w, &ids, t.id, "", "", "agent", "", &u), STORE_ECONFLICT);
	assert_int_equal(account_user_create(w, &ids, t.id, "c@x.example", "", "root", "", &u), STORE_ECONFLICT);
	assert_int_equal(account_user_create(w, &ids, t.id + 999, "c@x.example", "", "agent", "", &u), STORE_ECONFLICT);
	char long_hash[REC_HASH_MAX + 2];
	memset(long_hash, 'h', sizeof long_hash - 1);
	long_hash[sizeof long_hash - 1] = 0;
	assert_int_equal(account_user_create(w, &ids, t.id, "c@x.example", long_hash, "agent", "", &u), STORE_ECONFLICT);
	tmpdb_commit(f);
	store_txn *r = tmpdb_read(f);
	assert_int_equal(account_user_by_email(r, t.id, "c@x.example", &u), STORE_ENOTFOUND);
	assert_int_equal(account_user_by_email(r, t2.id, "ann@x.example", &u), 0);
	store_done(r);
}

/* Ids from one tenant never find another tenant's records. */
static void test_other_tenants_ids_never_found(void **state)
{
	tmpdb *f = *state;
	rec_tenant a = mk_tenant(f, "a"), b = mk_tenant(f, "b");
	rec_user ua = mk_user(f, a.id, "x@a.example", "owner");
	rec_visitor va = { .tid = a.id, .id = id_next(&ids), .name = "V" };
	assert_int_equal(account_visitor_put(tmpdb_write(f), &va), 0);
	tmpdb_commit(f);
	rec_user u;
	rec_visitor v;
	store_txn *r = tmpdb_read(f);
	assert_int_equal(account_user_get(r, a.id, ua.id, &u), 0);
	assert_int_equal(account_user_get(r, b.id, ua.id, &u), STORE_ENOTFOUND);
	assert_int_equal(account_user_by_email(r, b.id, "x@a.example", &u), STORE_ENOTFOUND);
	assert_int_equal(account_visitor_get(r, a.id, va.id, &v), 0);
	assert_string_equal(v.name, "V");
	assert_int_equal(account_visitor_get(r, b.id, va.id, &v), STORE_ENOTFOUND);
	assert_int_equal(account_owner_count(r, b.id), 0);
	store_done(r);
}

static void test_users_by_email_across_tenants(void **state)
{
	tmpdb *f = *state;
	rec_tenant t[3] = { mk_tenant(f, "t1"), mk_tenant(f, "t2"), mk_tenant(f, "t3") };
	for (int i = 0; i < 3; i++)
		mk_user(f, t[i].id, "same@x.example", "agent");
	mk_user(f, t[0].id, "same@x.exampleX", "agent");   /* a longer email with that prefix */
	mk_user(f, t[1].id, "same@x.exampl", "agent");     /* a shorter one */
	rec_user out[8];
	store_txn *r = tmpdb_read(f);
	assert_int_equal(account_users_by_email(r, "SAME@x.example", 0, out, 8), 3);
	for (int i = 0; i < 3; i++) {
		assert_true(out[i].tid == t[i].id);
		assert_string_equal(out[i].email, "same@x.example");
	}
	assert_int_equal(account_users_by_email(r, "same@x.example", t[1].id, out, 8), 1);
	assert_true(out[0].tid == t[1].id);
	assert_int_equal(account_users_by_email(r, "same@x.example", 0, out, 2), 2);
	assert_int_equal(account_users_by_email(r, "none@x.example", 0, out, 8), 0);
	assert_int_equal(account_users_by_email(r, "same@x.example", t[2].id + 1, out, 8), 0);
	store_done(r);
}

typedef struct {
	uint64_t ids[16];
	int n, stop_after;
} user_log;

static bool log_user(void *ctx, uint64_t uid, const rec_user *u)
{
	user_log *l = ctx;
	assert_non_null(u);
	assert_true(u->id == uid);
	assert_true(l->n < 16);
	l->ids[l->n++] = uid;
	return l->n != l->stop_after;
}

typedef struct {
	int n;
	uint64_t uid;
} null_log;

static bool log_null(void *ctx, uint64_t uid, const rec_user *u)
{
	null_log *l = ctx;
	assert_null(u);
	l->n++;
	l->uid = uid;
	return true;
}

static void test_user_list(void **state)
{
	tmpdb *f = *state;
	rec_tenant a = mk_tenant(f, "a"), b = mk_tenant(f, "b"), c = mk_tenant(f, "c");
	rec_user ua[5];
	char email[32];
	for (int i = 0; i < 5; i++) {
		snprintf(email, sizeof email, "u%d@a.example", i);
		ua[i] = mk_user(f, a.id, email, i ? "agent" : "owner");
		mk_user(f, b.id, email, "agent");
	}
	store_txn *r = tmpdb_read(f);
	user_log l = { .stop_after = -1 };
	assert_int_equal(account_user_list(r, a.id, 0, log_user, &l), 0);
	assert_int_equal(l.n, 5);
	for (int i = 0; i < 5; i++)
		assert_true(l.ids[i] == ua[i].id);   /* id order = creation order */
	/* a page after the second */
	l = (user_log){ .stop_after = -1 };
	assert_int_equal(account_user_list(r, a.id, ua[1].id, log_user, &l), 0);
	assert_int_equal(l.n, 3);
	assert_true(l.ids[0] == ua[2].id);
	/* the callback stops the walk */
	l = (user_log){ .stop_after = 2 };
	assert_int_equal(account_user_list(r, a.id, 0, log_user, &l), 0);
	assert_int_equal(l.n, 2);
	/* a tenant with no users, and the end of the id space */
	l = (user_log){ .stop_after = -1 };
	assert_int_equal(account_user_list(r, c.id, 0, log_user, &l), 0);
	assert_int_equal(account_user_list(r, a.id, UINT64_MAX, log_user, &l), 0);
	assert_int_equal(l.n, 0);
	store_done(r);

	/* a record that does not decode reaches the walk as NULL with its id,
	 * and is no active owner */
	uint8_t k[16];
	store_txn *w = tmpdb_write(f);
	assert_int_equal(db_put(f->d, w->txn, DB_USERS, k, rec_key2(k, c.id, 77), "\xc1", 1), 0);
	tmpdb_commit(f);
	r = tmpdb_read(f);
	null_log nl = { 0 };
	assert_int_equal(account_user_list(r, c.id, 0, log_null, &nl), 0);
	assert_int_equal(nl.n, 1);
	assert_true(nl.uid == 77);
	assert_int_equal(account_owner_count(r, c.id), 0);
	assert_int_equal(account_owner_count(r, a.id), 1);
	store_done(r);
}

static void test_user_update_moves_email_and_tracks_times(void **state)
{
	tmpdb *f = *state;
	rec_tenant t = mk_tenant(f, "acme");
	rec_user owner = mk_user(f, t.id, "own@x.example", "owner");
	rec_user u = mk_user(f, t.id, "old@x.example", "agent");
	mk_user(f, t.id, "taken@x.example", "agent");
	rec_user orig = u, got;

	/* a new email, name, title, avatar and role */
	strcpy(u.email, "New@X.example");
	strcpy(u.name, "Dana");
	strcpy(u.title, "Support lead");
	strcpy(u.avatar_url, "https://cdn.example/d.png");
	strcpy(u.role, "supervisor");
	u.created_ms = 1;                       /* kept from the stored record */
	store_txn *w = tmpdb_write(f);
	assert_int_equal(account_user_update(w, &u), 0);
	tmpdb_commit(f);
	assert_string_equal(u.email, "new@x.example");
	assert_true(u.created_ms == orig.created_ms);
	assert_true(u.pw_changed_ms == orig.pw_changed_ms);   /* same hash */
	store_txn *r = tmpdb_read(f);
	assert_int_equal(account_user_by_email(r, t.id, "old@x.example", &got), STORE_ENOTFOUND);
	assert_int_equal(account_user_by_email(r, t.id, "new@x.example", &got), 0);
	assert_memory_equal(&got, &u, sizeof u);
	store_done(r);

	/* the email of another user of the tenant: refused, nothing moved */
	rec_user v = u;
	strcpy(v.email, "TAKEN@x.example");
	w = tmpdb_write(f);
	assert_int_equal(account_user_update(w, &v), STORE_EEXISTS);
	/* invalid values */
	static const char *bad_avatars[] = { "javascript:alert(1)", "ftp://x", "//cdn.example/a.png" };
	for (size_t i = 0; i < 3; i++) {
		v = u;
		strcpy(v.avatar_url, bad_avatars[i]);
		assert_int_equal(account_user_update(w, &v), STORE_ECONFLICT);
	}
	v = u;
	strcpy(v.role, "boss");
	assert_int_equal(account_user_update(w, &v), STORE_ECONFLICT);
	v = u;
	v.name[0] = 0;
	assert_int_equal(account_user_update(w, &v), STORE_ECONFLICT);
	v = u;
	strcpy(v.email, "nobody");
	assert_int_equal(account_user_update(w, &v), STORE_ECONFLICT);
	v = u;
	v.id = owner.id + u.id;                 /* no such user */
	assert_int_equal(account_user_update(w, &v), STORE_ENOTFOUND);
	tmpdb_commit(f);
	r = tmpdb_read(f);
	assert_int_equal(account_user_get(r, t.id, u.id, &got), 0);
	assert_memory_equal(&got, &u, sizeof u);
	store_done(r);

	/* a new password hash moves pw_changed_ms to now; a given later time is kept */
	v = u;
	strcpy(v.pw_hash, "$argon2id$new");
	assert_int_equal(account_user_update(tmpdb_write(f), &v), 0);
	tmpdb_commit(f);
	assert_true(v.pw_changed_ms >= u.pw_changed_ms);
	int64_t later = v.pw_changed_ms + 60000;
	v.pw_changed_ms = later;
	assert_int_equal(account_user_update(tmpdb_write(f), &v), 0);
	tmpdb_commit(f);
	assert_true(v.pw_changed_ms == later);
	v.pw_changed_ms = 0;                    /* never back */
	assert_int_equal(account_user_update(tmpdb_write(f), &v), 0);
	tmpdb_commit(f);
	assert_true(v.pw_changed_ms == later);

	/* deactivation is dated; reactivation clears the date */
	v.active = false;
	assert_int_equal(account_user_update(tmpdb_write(f), &v), 0);
	tmpdb_commit(f);
	assert_false(v.active);
	assert_true(v.deactivated_ms > 0);
	assert_int_equal(account_user_get(tmpdb_read(f), t.id, v.id, &got), 0);
	store_done(&f->t);
	assert_false(got.active);
	assert_true(got.deactivated_ms == v.deactivated_ms);
	v.active = true;
	assert_int_equal(account_user_update(tmpdb_write(f), &v), 0);
	tmpdb_commit(f);
	assert_int_equal(v.deactivated_ms, 0);
}

static void test_set_password(void **state)
{
	tmpdb *f = *state;
	rec_tenant t = mk_tenant(f, "acme");
	rec_user u = mk_user(f, t.id, "a@x.example", "agent"), got;
	int64_t before = u.pw_changed_ms;
	store_txn *w = tmpdb_write(f);
	assert_int_equal(account_user_set_password(w, &u, "$argon2id$second"), 0);
	tmpdb_commit(f);
	assert_string_equal(u.pw_hash, "$argon2id$second");
	assert_true(u.pw_changed_ms >= before);
	assert_int_equal(account_user_by_email(tmpdb_read(f), t.id, "a@x.example", &got), 0);
	store_done(&f->t);
	assert_string_equal(got.pw_hash, "$argon2id$second");
	rec_user ghost = u;
	ghost.id++;
	assert_int_equal(account_user_set_password(tmpdb_write(f), &ghost, "$x"), STORE_ENOTFOUND);
	store_done(&f->t);
}

/* The last active owner can be neither demoted nor deactivated. */
static void test_last_owner_rule(void **state)
{
	tmpdb *f = *state;
	rec_tenant t = mk_tenant(f, "acme");
	rec_user o1 = mk_user(f, t.id, "o1@x.example", "owner");
	mk_user(f, t.id, "ag@x.example", "agent");
	assert_int_equal(account_owner_count(tmpdb_read(f), t.id), 1);
	store_done(&f->t);

	rec_user v = o1;
	strcpy(v.role, "admin");
	store_txn *w = tmpdb_write(f);
	assert_int_equal(account_user_update(w, &v), STORE_ELIMIT);
	v = o1;
	v.active = false;
	assert_int_equal(account_user_update(w, &v), STORE_ELIMIT);
	/* other changes to the last owner are fine */
	v = o1;
	strcpy(v.title, "Founder");
	assert_int_equal(account_user_update(w, &v), 0);
	tmpdb_commit(f);

	/* with a second owner, the first may step down; then the second is the last */
	rec_user o2 = mk_user(f, t.id, "o2@x.example", "owner");
	assert_int_equal(account_owner_count(tmpdb_read(f), t.id), 2);
	store_done(&f->t);
	v = o1;
	strcpy(v.role, "agent");
	assert_int_equal(account_user_update(tmpdb_write(f), &v), 0);
	tmpdb_commit(f);
	v = o2;
	v.active = false;
	assert_int_equal(account_user_update(tmpdb_write(f), &v), STORE_ELIMIT);
	store_done(&f->t);

	/* an inactive owner does not count */
	rec_user o3 = mk_user(f, t.id, "o3@x.example", "owner");
	v = o3;
	v.active = false;
	assert_int_equal(account_user_update(tmpdb_write(f), &v), 0);
	tmpdb_commit(f);
	assert_int_equal(account_owner_count(tmpdb_read(f), t.id), 1);
	store_done(&f->t);
	v = o2;
	strcpy(v.role, "supervisor");
	assert_int_equal(account_user_update(tmpdb_write(f), &v), STORE_ELIMIT);
	store_done(&f->t);
	/* promoting someone else first makes room */
	v = o1;
	strcpy(v.role, "owner");
	assert_int_equal(account_user_update(tmpdb_write(f), &v), 0);
	v = o2;
	strcpy(v.role, "supervisor");
	assert_int_equal(account_user_update(&f->t, &v), 0);   /* same transaction */
	tmpdb_commit(f);
	assert_int_equal(account_owner_count(tmpdb_read(f), t.id), 1);
	store_done(&f->t);
}

/* ---- visitors and meta ----------------------------------------------------- */

static void test_visitor_put_get(void **state)
{
	tmpdb *f = *state;
	rec_tenant t = mk_tenant(f, "acme");
	rec_visitor v = { .tid = t.id, .id = id_next(&ids), .name = "Vi", .email = "vi@x.example", .created_ms = 9 }, got;
	assert_int_equal(account_visitor_put(tmpdb_write(f), &v), 0);
	tmpdb_commit(f);
	strcpy(v.name, "Victoria");   /* a second put replaces it */
	assert_int_equal(account_visitor_put(tmpdb_write(f), &v), 0);
	rec_visitor noid = { .tid = t.id };
	assert_int_equal(account_visitor_put(&f->t, &noid), STORE_ECONFLICT);
	tmpdb_commit(f);
	store_txn *r = tmpdb_read(f);
	assert_int_equal(account_visitor_get(r, t.id, v.id, &got), 0);
	assert_memory_equal(&got, &v, sizeof v);
	assert_int_equal(account_visitor_get(r, t.id, v.id + 1, &got), STORE_ENOTFOUND);
	store_done(r);
}

/* ---- email settings ----------------------------------------------------------- */

static void test_email_settings(void **state)
{
	tmpdb *f = *state;
	rec_tenant a = mk_tenant(f, "acme"), b = mk_tenant(f, "beta");
	rec_email e = { .tid = a.id, .port = 587, .security = SMTP_STARTTLS }, got;
	store_txn *r = tmpdb_read(f);
	assert_int_equal(account_email_get(r, a.id, &got), STORE_ENOTFOUND);
	store_done(r);
	strcpy(e.host, "smtp.acme.example");
	strcpy(e.username, "mailer");
	strcpy(e.password, "c2VhbGVk");
	strcpy(e.from, "support@acme.example");
	strcpy(e.notify, "team@acme.example");
	assert_int_equal(account_email_put(tmpdb_write(f), &e), 0);
	assert_true(e.updated_ms > 0);
	tmpdb_commit(f);
	r = tmpdb_read(f);
	assert_int_equal(account_email_get(r, a.id, &got), 0);
	assert_memory_equal(&got, &e, sizeof e);
	assert_int_equal(account_email_get(r, b.id, &got), STORE_ENOTFOUND);   /* per tenant */
	store_done(r);

	/* refused, nothing written: each bad value in turn */
	static const char *const bad_hosts[] = { "-a.example", "a-.example", "a..example", "a b", "a_b.example",
						 "smtp.example\r\nRCPT", "1::2::3", ":25" };
	for (size_t i = 0; i < sizeof bad_hosts / sizeof bad_hosts[0]; i++) {
		rec_email x = e;
		strcpy(x.host, bad_hosts[i]);
		assert_int_equal(account_email_put(tmpdb_write(f), &x), STORE_ECONFLICT);
		tmpdb_commit(f);
	}
	static const char *const bad_addrs[] = { "no-at", "@acme.example", "a@", "a@@b.example", "a b@c.example",
						 "a<b@c.example", "a@b.example\r\nBcc: x@y.example", "a@-b.example",
						 "\"q\"@c.example", "a@b:25" };
	for (size_t i = 0; i < sizeof bad_addrs / sizeof bad_addrs[0]; i++) {
		rec_email x = e;
		strcpy(x.from, bad_addrs[i]);
		assert_int_equal(account_email_put(tmpdb_write(f), &x), STORE_ECONFLICT);
		tmpdb_commit(f);
		x = e;
		strcpy(x.notify, bad_addrs[i]);
		assert_int_equal(account_email_put(tmpdb_write(f), &x), STORE_ECONFLICT);
		tmpdb_commit(f);
	}
	rec_email x = e;
	x.port = 0;
	assert_int_equal(account_email_put(tmpdb_write(f), &x), STORE_ECONFLICT);
	x.port = 65536;
	assert_int_equal(account_email_put(&f->t, &x), STORE_ECONFLICT);
	x = e;
	x.security = SMTP__COUNT;
	assert_int_equal(account_email_put(&f->t, &x), STORE_ECONFLICT);
	x = e;
	strcpy(x.username, "a\nb");
	assert_int_equal(account_email_put(&f->t, &x), STORE_ECONFLICT);
	x = e;
	x.tid = a.id + b.id;   /* no such tenant */
	assert_int_equal(account_email_put(&f->t, &x), STORE_ECONFLICT);
	tmpdb_commit(f);
	r = tmpdb_read(f);
	assert_int_equal(account_email_get(r, a.id, &got), 0);
	assert_memory_equal(&got, &e, sizeof e);
	store_done(r);

	/* accepted forms: IPv4, IPv6, an empty host (off), empty addresses */
	static const char *const hosts[] = { "192.0.2.1", "::1", "2001:db8::25", "localhost", "" };
	for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
		x = e;
		strcpy(x.host, hosts[i]);
		x.from[0] = x.notify[0] = 0;
		assert_int_equal(account_email_put(tmpdb_write(f), &x), 0);
		tmpdb_commit(f);
	}
	assert_true(account_email_address_ok("first.last+tag@sub.example.org"));
	assert_false(account_email_address_ok(""));
}

static void test_signing_key(void **state)
{
	tmpdb *f = *state;
	uint8_t k1[32], k2[32], zero[32] = { 0 };
	/* a read snapshot of a new database has none and makes none */
	store_txn *r = tmpdb_read(f);
	assert_int_equal(account_signing_key(r, k1), STORE_ENOTFOUND);
	assert_int_equal(account_schema_version(r), STORE_ENOTFOUND);
	store_done(r);
	/* the first writer makes it, with the schema version */
	assert_int_equal(account_signing_key(tmpdb_write(f), k1), 0);
	tmpdb_commit(f);
	assert_memory_not_equal(k1, zero, 32);
	r = tmpdb_read(f);
	assert_int_equal(account_signing_key(r, k2), 0);
	assert_memory_equal(k1, k2, 32);
	assert_int_equal(account_schema_version(r), DB_SCHEMA_VERSION);
	store_done(r);
	/* later writers read the same key */
	assert_int_equal(account_signing_key(tmpdb_write(f), k2), 0);
	tmpdb_commit(f);
	assert_memory_equal(k1, k2, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tenant_create_and_find, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_tenant_duplicate_and_invalid, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_tenant_update_settings, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test(test_roles),
		cmocka_unit_test_setup_teardown(test_user_create_and_find_any_case, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_user_duplicate_and_invalid, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_other_tenants_ids_never_found, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_users_by_email_across_tenants, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_user_list, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_user_update_moves_email_and_tracks_times, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_set_password, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_last_owner_rule, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_visitor_put_get, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_email_settings, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_signing_key, tmpdb_setup, tmpdb_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
