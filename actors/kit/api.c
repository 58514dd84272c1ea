/* api_common — request validation helpers and the handlers shared by the
 * agent and widget routes. */
#include "actors/kit/api.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/jw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *api_body(http_req *req)
{
	const hp_str *ct = http_header(req, "Content-Type");
	if (ct && !(ct->len >= 16 && strncasecmp(ct->p, "application/json", 16) == 0)) {
		http_respond_error(req, 415, "unsupported_media_type", "Content-Type must be application/json", NULL);
		return NULL;
	}
	json_error_t err;
	json_t *v = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &err);
	if (!v) {
		char msg[200];
		snprintf(msg, sizeof msg, "invalid JSON: %s", err.text);
		http_respond_error(req, 400, "invalid_json", msg, NULL);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		http_respond_error(req, 400, "invalid_json", "the body must be a JSON object", NULL);
		return NULL;
	}
	return v;
}

int api_str(http_req *req, json_t *obj, const char *name, bool required, size_t min, size_t max,
	    const char **out)
{
	json_t *v = json_object_get(obj, name);
	char msg[160];
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		snprintf(msg, sizeof msg, "%s is required", name);
		http_respond_error(req, 400, "invalid_field", msg, name);
		return -1;
	}
	if (!json_is_string(v)) {
		snprintf(msg, sizeof msg, "%s must be a string", name);
		http_respond_error(req, 400, "invalid_field", msg, name);
		return -1;
	}
	size_t n = json_string_length(v);
	if (n < min || n > max || strlen(json_string_value(v)) != n) {
		snprintf(msg, sizeof msg, "%s must be %zu to %zu bytes (no NUL)", name, min, max);
		http_respond_error(req, 400, "invalid_field", msg, name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

int api_opt_str(http_req *req, json_t *obj, const char *name, size_t min, size_t max, const char **out)
{
	*out = NULL;
	json_t *v = json_object_get(obj, name);
	if (!v)
		return 0;
	if (json_is_null(v)) {
		char msg[160];
		snprintf(msg, sizeof msg, "%s must be a string (leave it out to keep it)", name);
		http_respond_error(req, 400, "invalid_field", msg, name);
		return -1;
	}
	return api_str(req, obj, name, true, min, max, out);
}

int api_only(http_req *req, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		const char *const *a = allowed;
		while (*a && strcmp(*a, key) != 0)
			a++;
		if (!*a) {
			char msg[200];
			snprintf(msg, sizeof msg, "unknown or read-only field %.100s", key);
			http_respond_error(req, 400, "invalid_field", msg, key);
			return -1;
		}
	}
	return 0;
}

json_t *api_body_opt(http_req *req)
{
	return req->body_len ? api_body(req) : json_object();
}

int api_bad_field(http_req *req, const char *field, const char *msg)
{
	http_respond_error(req, 400, "invalid_field", msg, field);
	return -1;
}

void api_list_init(api_list *l)
{
	l->data = json_array();
	l->failed = !l->data;
}

bool api_list_add(api_list *l, json_t *view)
{
	if (!l->failed && json_array_append_new(l->data, view))
		l->failed = true;
	return !l->failed;
}

void api_list_answer(http_req *req, api_list *l, int rc)
{
	if (rc || l->failed) {
		json_decref(l->data);
		http_respond_error(req, 500, "internal", "storage failure", NULL);
	} else {
		http_respond_json(req, 200, json_pack("{s:o}", "data", l->data));
	}
	l->data = NULL;
}

void api_list_read(http_req *req, uint64_t tid, api_list_fill fill, void *arg)
{
	store_txn t;
	if (store_read(api_app(req)->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	api_list l;
	api_list_init(&l);
	int rc = l.failed ? STORE_ENOMEM : fill(&t, tid, &l, arg);
	store_done(&t);
	api_list_answer(req, &l, rc);
}

int api_id_param(http_req *req, int i, uint64_t *out)
{
	if (i >= req->nparams || !id_parse(req->params[i].p, req->params[i].len, out)) {
		http_respond_error(req, 404, "not_found", "no such resource", NULL);
		return -1;
	}
	return 0;
}

int api_query_int(http_req *req, const char *name, int64_t def, int64_t min, int64_t max, int64_t *out)
{
	char s[32], msg[160];
	int n = http_query(req, name, s, sizeof s);
	if (n == -1) {
		*out = def;
		return 0;
	}
	if (n < 0)
		goto bad;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (n == 0 || *end || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	snprintf(msg, sizeof msg, "%s must be an integer from %lld to %lld", name, (long long)min,
		 (long long)max);
	http_respond_error(req, 400, "invalid_field", msg, name);
	return -1;
}


int api_query_id(http_req *req, const char *name, uint64_t *out)
{
	char s[32], m[80];
	int n = http_query(req, name, s, sizeof s);
	*out = 0;
	if (n == -1)
		return 0;
	if (n > 0 && id_parse(s, (size_t)n, out))
		return 1;
	snprintf(m, sizeof m, "%s must be an id", name);
	return api_bad_field(req, name, m);
}

int api_query_time(http_req *req, const char *name, int64_t *out)
{
	char s[40], m[120];
	int n = http_query(req, name, s, sizeof s);
	if (n == -1)
		return 0;
	if (n > 0 && clock_parse_iso8601(s, (size_t)n, out) == 0)
		return 1;
	snprintf(m, sizeof m, "%s must be an ISO-8601 UTC time (2026-01-31T00:00:00Z)", name);
	return api_bad_field(req, name, m);
}
