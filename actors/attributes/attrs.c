/* attrs — see attrs.h. */
#include "actors/attributes/attrs.h"
#include "storage/tools_store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool date_ok(const char *s, size_t n)
{
	if (n != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m < 1 || m > 12 || d < 1)
		return false;
	int max = days[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
	return d <= max;
}

bool attrs_value_fits(int type, const json_t *v)
{
	switch (type) {
	case AT_TEXT:
		return json_is_string(v) && json_string_length(v) <= ATTR_TEXT_MAX &&
		       strlen(json_string_value(v)) == json_string_length(v);
	case AT_NUMBER:
		return json_is_number(v) && isfinite(json_number_value(v));
	case AT_BOOLEAN:
		return json_is_boolean(v);
	case AT_DATE:
		return json_is_string(v) && date_ok(json_string_value(v), json_string_length(v));
	default:
		return false;
	}
}

const char *attrs_error_code(int error)
{
	return error == ATTRS_UNKNOWN ? "unknown_attribute" : "invalid_attribute_value";
}

typedef struct {
	rec_attrdef *d;
	size_t n, cap;
	bool failed;
} defs;

static bool add_def(void *ctx, const rec_attrdef *d)
{
	defs *s = ctx;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		void *p = realloc(s->d, cap * sizeof *s->d);
		if (!p) {
			s->failed = true;
			return false;
		}
		s->d = p;
		s->cap = cap;
	}
	s->d[s->n++] = *d;
	return true;
}

static const rec_attrdef *def_of(const defs *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->d[i].key, key) == 0)
			return &s->d[i];
	return NULL;
}

static int load_defs(store_txn *t, uint64_t tid, int owner, defs *s)
{
	int rc = attrdef_each(t, tid, owner, add_def, s);
	return rc ? rc : s->failed ? STORE_ENOMEM : 0;
}

/* The stored values as a JSON object (new), keeping defined keys only. */
static json_t *load_values(store_txn *t, uint64_t tid, int owner, uint64_t id, const defs *s, int *rc)
{
	rec_attrs a;
	*rc = attrs_get(t, tid, owner, id, &a);
	json_t *o = NULL;
	if (*rc == 0 && a.json.n)
		o = json_loadb((const char *)a.json.p, a.json.n, 0, NULL);
	if (*rc == STORE_ENOTFOUND || *rc == STORE_ECORRUPT)
		*rc = 0;
	if (*rc)
		return NULL;
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(o, tmp, k, v) {
		const rec_attrdef *d = def_of(s, k);
		if (!d || !attrs_value_fits(d->type, v))
			json_object_del(o, k);
	}
	if (!o)
		*rc = STORE_ENOMEM;
	return o;
}

/* Checks every key of patch against defs; 0 or ATTRS_* with res->key set. */
static int check_patch(const defs *s, json_t *patch, attrs_result *res)
{
	const char *k;
	json_t *v;
	json_object_foreach(patch, k, v) {
		const rec_attrdef *d = def_of(s, k);
		int err = !d ? ATTRS_UNKNOWN : !json_is_null(v) && !attrs_value_fits(d->type, v) ? ATTRS_INVALID : 0;
		if (err) {
			res->error = err;
			rec_strcpy(res->key, sizeof res->key, k, strlen(k));
			return err;
		}
	}
	return 0;
}

int attrs_check(store_txn *t, uint64_t tid, int owner, json_t *patch, attrs_result *res)
{
	memset(res, 0, sizeof *res);
	defs s = { 0 };
	int rc = load_defs(t, tid, owner, &s);
	if (rc == 0)
		check_patch(&s, patch, res);
	free(s.d);
	return rc;
}

int attrs_validate(store_txn *t, uint64_t tid, int owner, uint64_t id, json_t *patch, int64_t now,
		   attrs_result *res)
{
	memset(res, 0, sizeof *res);
	defs s = { 0 };
	int rc = load_defs(t, tid, owner, &s);
	json_t *cur = NULL, *before = NULL;
	if (rc || check_patch(&s, patch, res))
		goto out;
	if (!(cur = load_values(t, tid, owner, id, &s, &rc)))
		goto out;
	before = json_deep_copy(cur);
	const char *k;
	json_t *v;
	json_object_foreach(patch, k, v) {
		if (json_is_null(v))
			json_object_del(cur, k);
		else
			json_object_set(cur, k, v);
	}
	res->json = json_dumps(cur, JSON_COMPACT | JSON_SORT_KEYS);
	if (!res->json || !before) {
		rc = STORE_ENOMEM;
		goto out;
	}
	res->json_n = strlen(res->json);
	res->changed = !json_equal(before, cur);
	rec_attrs a = { .tid = tid, .owner = (uint8_t)owner, .id = id, .updated_ms = now };
	a.json.p = (const uint8_t *)res->json;
	a.json.n = res->json_n;
	rc = res->changed ? attrs_put(t, &a) : 0;
out:
	json_decref(cur);
	json_decref(before);
	free(s.d);
	return rc;
}

void attrs_result_free(attrs_result *res)
{
	free(res->json);
	res->json = NULL;
}

json_t *attrs_view(store_txn *t, uint64_t tid, int owner, uint64_t id)
{
	defs s = { 0 };
	int rc = load_defs(t, tid, owner, &s);
	json_t *o = rc ? NULL : load_values(t, tid, owner, id, &s, &rc);
	free(s.d);
	return o;
}
