/* attrs_test — actors/attributes/attrs.c: what each type accepts
 * (text length, finite numbers, booleans only, real calendar dates), and
 * attrs_validate against stored definitions: unknown keys and wrong types
 * refused with the key named and nothing written, null removing a key,
 * merging with stored values, keys of deleted definitions dropped, an
 * unchanged write reported as such.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "actors/attributes/attrs.h"
#include "storage/tools_store.h"
#include "../../storage/tmpdb.h"

static bool fits(int type, const char *js)
{
	json_t *v = json_loads(js, JSON_DECODE_ANY, NULL);
	assert_non_null(v);
	bool ok = attrs_value_fits(type, v);
	json_decref(v);
	return ok;
}

static void test_types(void **state)
{
	(void)state;
	assert_true(fits(AT_TEXT, "\"<script>x</script>\""));
	assert_false(fits(AT_TEXT, "3"));
	char big[ATTR_TEXT_MAX + 8];
	memset(big, 'a', sizeof big);
	big[0] = '"';
	big[ATTR_TEXT_MAX + 1] = '"';
	big[ATTR_TEXT_MAX + 2] = 0;
	assert_true(fits(AT_TEXT, big));
	big[ATTR_TEXT_MAX + 1] = 'a';
	big[ATTR_TEXT_MAX + 2] = '"';
	big[ATTR_TEXT_MAX + 3] = 0;
	assert_false(fits(AT_TEXT, big));
	assert_true(fits(AT_NUMBER, "3"));
	assert_true(fits(AT_NUMBER, "-2.5e3"));
	assert_false(fits(AT_NUMBER, "\"3\""));
	assert_false(fits(AT_NUMBER, "true"));
	assert_true(fits(AT_BOOLEAN, "false"));
	assert_false(fits(AT_BOOLEAN, "0"));
	assert_false(fits(AT_BOOLEAN, "\"true\""));
	assert_true(fits(AT_DATE, "\"2024-02-29\""));
	assert_false(fits(AT_DATE, "\"2023-02-29\""));
	assert_false(fits(AT_DATE, "\"2100-02-29\""));
	assert_true(fits(AT_DATE, "\"2000-02-29\""));
	assert_false(fits(AT_DATE, "\"2024-13-01\""));
	assert_false(fits(AT_DATE, "\"2024-04-31\""));
	assert_false(fits(AT_DATE, "\"2024-4-1\""));
	assert_false(fits(AT_DATE, "\"2024-04-01T00:00:00Z\""));
	assert_false(fits(AT_DATE, "20240401"));
	assert_false(fits(99, "1"));
}

static void define(store_txn *t, uint64_t id, const char *key, int type)
{
	rec_attrdef d;
	memset(&d, 0, sizeof d);
	d.tid = 1;
	d.id = id;
	d.owner = AO_VISITOR;
	strcpy(d.key, key);
	strcpy(d.label, key);
	d.type = (uint8_t)type;
	assert_int_equal(attrdef_create(t, &d, 0), 0);
}

static void put_vals(store_txn *t, const char *patch, attrs_result *res)
{
	json_t *p = json_loads(patch, 0, NULL);
	assert_non_null(p);
	assert_int_equal(attrs_validate(t, 1, AO_VISITOR, 9, p, 1000, res), 0);
	json_decref(p);
}

static void test_validate(void **state)
{
	tmpdb *f = *state;
	store_txn *t = tmpdb_write(f);
	define(t, 1, "plan", AT_TEXT);
	define(t, 2, "seats", AT_NUMBER);
	define(t, 3, "vip", AT_BOOLEAN);
	define(t, 4, "renewal", AT_DATE);
	attrs_result r;
	put_vals(t, "{\"plan\":\"<b>pro</b>\",\"seats\":5}", &r);
	assert_int_equal(r.error, 0);
	assert_true(r.changed);
	assert_string_equal(r.json, "{\"plan\":\"<b>pro</b>\",\"seats\":5}");
	attrs_result_free(&r);
	put_vals(t, "{\"seats\":\"five\"}", &r);
	assert_int_equal(r.error, ATTRS_INVALID);
	assert_string_equal(r.key, "seats");
	assert_string_equal(attrs_error_code(r.error), "invalid_attribute_value");
	attrs_result_free(&r);
	put_vals(t, "{\"vip\":true,\"colour\":\"red\"}", &r);
	assert_int_equal(r.error, ATTRS_UNKNOWN);
	assert_string_equal(r.key, "colour");
	assert_string_equal(attrs_error_code(r.error), "unknown_attribute");
	attrs_result_free(&r);
	put_vals(t, "{\"renewal\":\"2026-02-30\"}", &r);
	assert_int_equal(r.error, ATTRS_INVALID);
	attrs_result_free(&r);
	json_t *v = attrs_view(t, 1, AO_VISITOR, 9);   /* the refusals wrote nothing */
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"plan\":\"<b>pro</b>\",\"seats\":5}");
	free(s);
	json_decref(v);
	put_vals(t, "{\"plan\":null,\"vip\":false,\"renewal\":\"2026-03-31\"}", &r);
	assert_int_equal(r.error, 0);
	assert_string_equal(r.json, "{\"renewal\":\"2026-03-31\",\"seats\":5,\"vip\":false}");
	attrs_result_free(&r);
	put_vals(t, "{\"vip\":false}", &r);
	assert_false(r.changed);
	attrs_result_free(&r);
	assert_int_equal(attrdef_delete(t, 1, 2), 0);      /* seats: no longer defined */
	v = attrs_view(t, 1, AO_VISITOR, 9);
	assert_null(json_object_get(v, "seats"));
	json_decref(v);
	put_vals(t, "{\"seats\":1}", &r);
	assert_int_equal(r.error, ATTRS_UNKNOWN);
	attrs_result_free(&r);
	put_vals(t, "{\"vip\":true}", &r);
	assert_string_equal(r.json, "{\"renewal\":\"2026-03-31\",\"vip\":true}");
	attrs_result_free(&r);
	v = attrs_view(t, 1, AO_CONVERSATION, 9);          /* the other owner kind: nothing */
	assert_int_equal(json_object_size(v), 0);
	json_decref(v);
	tmpdb_commit(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test_setup_teardown(test_validate, tmpdb_setup, tmpdb_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
