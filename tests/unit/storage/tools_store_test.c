/* tools_store_test — storage/tools_store.c: canned responses (shortcode
 * unique per owner, moved on update, freed on delete, the tenant limit),
 * tags (names unique case-folded, rename, delete with its conversation
 * index), attribute definitions (key unique per owner kind, limit, key and
 * owner fixed on update), attribute values (put, empty deletes, walk by
 * owner kind), unread mentions (add, walk, clear per conversation), and
 * tenant isolation throughout.
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

#include "storage/tools_store.h"
#include "tmpdb.h"

static rec_canned canned(uint64_t tid, uint64_t id, uint64_t owner, const char *code)
{
	rec_canned c;
	memset(&c, 0, sizeof c);
	c.tid = tid;
	c.id = id;
	c.owner_id = owner;
	strcpy(c.shortcode, code);
	strcpy(c.title, "Refund");
	strcpy(c.body, "Hello {{visitor.name}}");
	return c;
}

static bool count_canned(void *ctx, const rec_canned *c)
{
	(void)c;
	++*(int *)ctx;
	return true;
}

static void test_canned(void **state)
{
	tmpdb *f = *state;
	store_txn *t = tmpdb_write(f);
	rec_canned a = canned(1, 10, 0, "refund"), b = canned(1, 11, 5, "refund"), c = canned(1, 12, 0, "refund");
	assert_int_equal(canned_create(t, &a, 3), 0);
	assert_int_equal(canned_create(t, &b, 3), 0);          /* another owner: same shortcode is fine */
	assert_int_equal(canned_create(t, &c, 3), STORE_EEXISTS);
	rec_canned bad = canned(1, 13, 0, "Bad Code");
	assert_int_equal(canned_create(t, &bad, 3), STORE_ECONFLICT);
	bad = canned(1, 13, 0, "");
	assert_int_equal(canned_create(t, &bad, 3), STORE_ECONFLICT);
	c = canned(1, 12, 0, "hello");
	assert_int_equal(canned_create(t, &c, 3), 0);
	rec_canned d = canned(1, 14, 0, "more");
	assert_int_equal(canned_create(t, &d, 3), STORE_ELIMIT);
	rec_canned other = canned(2, 14, 0, "more");          /* another tenant has its own limit */
	assert_int_equal(canned_create(t, &other, 3), 0);
	tmpdb_commit(f);

	t = tmpdb_write(f);
	uint64_t id = 0;
	assert_int_equal(canned_by_code(t, 1, 0, "refund", &id), 0);
	assert_int_equal(id, 10);
	assert_int_equal(canned_by_code(t, 1, 5, "refund", &id), 0);
	assert_int_equal(id, 11);
	assert_int_equal(canned_by_code(t, 2, 0, "refund", &id), STORE_ENOTFOUND);
	a.shortcode[0] = 0;
	strcpy(a.shortcode, "hello");
	assert_int_equal(canned_update(t, &a), STORE_EEXISTS);
	strcpy(a.shortcode, "money-back");
	strcpy(a.body, "changed");
	assert_int_equal(canned_update(t, &a), 0);
	assert_int_equal(canned_by_code(t, 1, 0, "refund", &id), STORE_ENOTFOUND);
	assert_int_equal(canned_by_code(t, 1, 0, "money-back", &id), 0);
	rec_canned got;
	assert_int_equal(canned_get(t, 1, 10, &got), 0);
	assert_string_equal(got.body, "changed");
	a.owner_id = 5;
	assert_int_equal(canned_update(t, &a), STORE_ECONFLICT);   /* the owner does not change */
	assert_int_equal(canned_delete(t, 1, 10), 0);
	assert_int_equal(canned_delete(t, 1, 10), STORE_ENOTFOUND);
	assert_int_equal(canned_by_code(t, 1, 0, "money-back", &id), STORE_ENOTFOUND);
	int n = 0;
	assert_int_equal(canned_each(t, 1, count_canned, &n), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(canned_each(t, 2, count_canned, &n), 0);
	assert_int_equal(n, 1);
	tmpdb_commit(f);
}

static rec_tag tag(uint64_t tid, uint64_t id, const char *name, const char *color)
{
	rec_tag g;
	memset(&g, 0, sizeof g);
	g.tid = tid;
	g.id = id;
	strcpy(g.name, name);
	strcpy(g.color, color);
	return g;
}

static bool add_cid(void *ctx, uint64_t cid)
{
	uint64_t *s = ctx;
	s[++s[0]] = cid;
	return true;
}

static void test_tags(void **state)
{
	tmpdb *f = *state;
	store_txn *t = tmpdb_write(f);
	rec_tag a = tag(1, 20, "Billing", "#aabbcc"), b = tag(1, 21, "bILLING", "#000000");
	assert_int_equal(tag_create(t, &a, 2), 0);
	assert_int_equal(tag_create(t, &b, 2), STORE_EEXISTS);
	b = tag(1, 21, "Bug", "red");
	assert_int_equal(tag_create(t, &b, 2), STORE_ECONFLICT);
	b = tag(1, 21, "Bug", "#A0b1C2");
	assert_int_equal(tag_create(t, &b, 2), 0);
	rec_tag c = tag(1, 22, "Third", "#ffffff");
	assert_int_equal(tag_create(t, &c, 2), STORE_ELIMIT);
	rec_tag o = tag(2, 22, "billing", "#ffffff");
	assert_int_equal(tag_create(t, &o, 2), 0);
	strcpy(b.name, "BILLING");
	assert_int_equal(tag_update(t, &b), STORE_EEXISTS);
	strcpy(a.name, "BILLING");                             /* its own name in another case */
	assert_int_equal(tag_update(t, &a), 0);
	assert_int_equal(tag_conv_add(t, 1, 20, 100), 0);
	assert_int_equal(tag_conv_add(t, 1, 20, 101), 0);
	assert_int_equal(tag_conv_add(t, 1, 21, 100), 0);
	assert_int_equal(tag_conv_add(t, 2, 22, 100), 0);
	uint64_t s[8] = { 0 };
	assert_int_equal(tag_conv_each(t, 1, 20, add_cid, s), 0);
	assert_int_equal(s[0], 2);
	assert_int_equal(s[1], 100);
	assert_int_equal(s[2], 101);
	size_t n = 0;
	assert_int_equal(tag_delete(t, 1, 20, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(tag_delete(t, 1, 20, &n), STORE_ENOTFOUND);
	memset(s, 0, sizeof s);
	assert_int_equal(tag_conv_each(t, 1, 20, add_cid, s), 0);
	assert_int_equal(s[0], 0);
	assert_int_equal(tag_conv_each(t, 1, 21, add_cid, s), 0);
	assert_int_equal(s[0], 1);
	c = tag(1, 23, "billing", "#ffffff");                  /* the name is free again */
	assert_int_equal(tag_create(t, &c, 2), 0);
	rec_tag got;
	assert_int_equal(tag_get(t, 2, 22, &got), 0);
	assert_int_equal(tag_get(t, 2, 21, &got), STORE_ENOTFOUND);
	tmpdb_commit(f);
}

static rec_attrdef def(uint64_t tid, uint64_t id, int owner, const char *key, int type)
{
	rec_attrdef d;
	memset(&d, 0, sizeof d);
	d.tid = tid;
	d.id = id;
	d.owner = (uint8_t)owner;
	strcpy(d.key, key);
	strcpy(d.label, "Label");
	d.type = (uint8_t)type;
	return d;
}

static bool count_attrs(void *ctx, const rec_attrs *a)
{
	(void)a;
	++*(int *)ctx;
	return true;
}

static void test_attrs(void **state)
{
	tmpdb *f = *state;
	store_txn *t = tmpdb_write(f);
	rec_attrdef a = def(1, 30, AO_CONVERSATION, "plan", AT_TEXT), b = def(1, 31, AO_VISITOR, "plan", AT_NUMBER);
	assert_int_equal(attrdef_create(t, &a, 2), 0);
	assert_int_equal(attrdef_create(t, &b, 2), 0);         /* the same key for the other owner kind */
	rec_attrdef c = def(1, 32, AO_CONVERSATION, "plan", AT_DATE);
	assert_int_equal(attrdef_create(t, &c, 0), STORE_EEXISTS);
	c = def(1, 32, AO_CONVERSATION, "Plan", AT_DATE);
	assert_int_equal(attrdef_create(t, &c, 0), STORE_ECONFLICT);
	c = def(1, 32, AO_CONVERSATION, "renewal", AT_DATE);
	assert_int_equal(attrdef_create(t, &c, 2), STORE_ELIMIT);
	rec_attrdef got;
	assert_int_equal(attrdef_find(t, 1, AO_VISITOR, "plan", &got), 0);
	assert_int_equal(got.id, 31);
	assert_int_equal(attrdef_find(t, 2, AO_VISITOR, "plan", &got), STORE_ENOTFOUND);
	a.type = AT_NUMBER;
	assert_int_equal(attrdef_update(t, &a), 0);
	strcpy(a.key, "other");
	assert_int_equal(attrdef_update(t, &a), STORE_ECONFLICT);

	rec_attrs v = { .tid = 1, .owner = AO_CONVERSATION, .id = 100 };
	v.json.p = (const uint8_t *)"{\"plan\":3}";
	v.json.n = strlen("{\"plan\":3}");
	assert_int_equal(attrs_put(t, &v), 0);
	v.id = 101;
	assert_int_equal(attrs_put(t, &v), 0);
	v.owner = AO_VISITOR;
	assert_int_equal(attrs_put(t, &v), 0);
	rec_attrs r;
	assert_int_equal(attrs_get(t, 1, AO_CONVERSATION, 100, &r), 0);
	assert_int_equal(r.json.n, v.json.n);
	assert_memory_equal(r.json.p, v.json.p, v.json.n);
	int n = 0;
	assert_int_equal(attrs_each(t, 1, AO_CONVERSATION, count_attrs, &n), 0);
	assert_int_equal(n, 2);
	v = (rec_attrs){ .tid = 1, .owner = AO_CONVERSATION, .id = 100, .json = { (const uint8_t *)"{}", 2 } };
	assert_int_equal(attrs_put(t, &v), 0);
	assert_int_equal(attrs_get(t, 1, AO_CONVERSATION, 100, &r), STORE_ENOTFOUND);
	assert_int_equal(attrs_get(t, 2, AO_CONVERSATION, 101, &r), STORE_ENOTFOUND);
	assert_int_equal(attrdef_delete(t, 1, 30), 0);
	assert_int_equal(attrdef_delete(t, 1, 30), STORE_ENOTFOUND);
	tmpdb_commit(f);
}

static bool add_mention(void *ctx, uint64_t cid, uint64_t seq, uint64_t by, int64_t at)
{
	uint64_t *s = ctx;
	s[++s[0]] = cid * 1000 + seq;
	assert_int_equal(by, 7);
	assert_int_equal(at, 123);
	return true;
}

static void test_mentions(void **state)
{
	tmpdb *f = *state;
	store_txn *t = tmpdb_write(f);
	assert_int_equal(mention_add(t, 1, 5, 100, 3, 7, 123), 0);
	assert_int_equal(mention_add(t, 1, 5, 100, 9, 7, 123), 0);
	assert_int_equal(mention_add(t, 1, 5, 101, 1, 7, 123), 0);
	assert_int_equal(mention_add(t, 1, 6, 100, 3, 7, 123), 0);
	assert_int_equal(mention_add(t, 2, 5, 100, 3, 7, 123), 0);
	uint64_t s[8] = { 0 };
	assert_int_equal(mention_each(t, 1, 5, add_mention, s), 0);
	assert_int_equal(s[0], 3);
	assert_int_equal(s[1], 100003);
	assert_int_equal(s[2], 100009);
	assert_int_equal(s[3], 101001);
	size_t n = 0;
	assert_int_equal(mention_clear(t, 1, 5, 100, &n), 0);
	assert_int_equal(n, 2);
	memset(s, 0, sizeof s);
	assert_int_equal(mention_each(t, 1, 5, add_mention, s), 0);
	assert_int_equal(s[0], 1);
	memset(s, 0, sizeof s);
	assert_int_equal(mention_each(t, 1, 6, add_mention, s), 0);   /* another agent's stay */
	assert_int_equal(s[0], 1);
	memset(s, 0, sizeof s);
	assert_int_equal(mention_each(t, 2, 5, add_mention, s), 0);
	assert_int_equal(s[0], 1);
	tmpdb_commit(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_canned, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_tags, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_attrs, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_mentions, tmpdb_setup, tmpdb_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
