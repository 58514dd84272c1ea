/* tenant — the tenant's settings over the API (docs/openapi.yaml, tag
 * tenant): its name, the origins its widget may be embedded on, the
 * widget's colour, greeting and position, and its time zone.
 *
 * Everyone signed in reads them; a change (settings: admins and owners) is
 * validated field by field here (400 invalid_field naming the field; a
 * time zone must load from /usr/share/zoneinfo through core/tz, never
 * through TZ), then written by one writer request over the stored tenant,
 * so fields left out keep what is stored at that moment. After the commit
 * the tenant's open consoles get a tenant.updated notice
 * (conversations/inbox.h); the widget endpoints read the origins from the
 * store on every request.
 */
#include "actors/kit/api.h"
#include "actors/kit/audit.h"
#include "actors/conversations/inbox.h"
#include "storage/account_store.h"
#include "core/log.h"
#include "core/tz.h"
#include "actors/kit/view.h"
#include "actors/kit/prechat.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORIGINS_MAX 50

static json_t *view_tenant(const rec_tenant *t)
{
	json_t *origins = json_array();
	for (const char *p = t->origins; origins && *p;) {
		size_t n = strcspn(p, ",");
		if (n)
			json_array_append_new(origins, json_stringn(p, n));
		p += n + (p[n] == ',');
	}
	json_t *v = json_pack("{s:o,s:s,s:s,s:s,s:o,s:{s:s,s:s,s:s},s:s,s:I}", "id", view_id(t->id), "name", t->name,
			      "slug", t->slug, "widget_key", t->widget_key, "allowed_origins", origins, "widget",
			      "color", t->widget_color, "greeting", t->greeting, "position", t->widget_position,
			      "timezone", t->timezone, "auto_close_s", (json_int_t)t->auto_close_s);
	if (v)   /* the pre-chat form, transcripts and ratings (agent tools) */
		json_object_update_new(v, json_pack("{s:o,s:b,s:I}", "prechat", view_prechat(t), "transcript_on_close",
						    t->transcript_on_close, "rating_window_s",
						    (json_int_t)t->rating_window_s));
	return v;
}

static void get_tenant(http_req *req, const principal *p)
{
	store_txn t;
	if (store_read(api_app(req)->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	rec_tenant r;
	int rc = account_tenant_get(&t, p->tid, &r);
	store_done(&t);
	if (rc)
		http_respond_error(req, 500, "internal", "storage failure", NULL);
	else
		http_respond_json(req, 200, view_tenant(&r));
}

/* ------------------------------------------------------------------ the change */

typedef struct {
	wr_req w;
	app *app;
	reply_to reply;
	uint64_t tid;
	/* NULL = unchanged (pointers into the strings below) */
	const char *name, *origins, *color, *greeting, *position, *timezone;
	char name_s[REC_NAME_MAX + 1], origins_s[REC_ORIGINS_MAX + 1], color_s[REC_COLOR_MAX + 1];
	char greeting_s[REC_GREETING_MAX + 1], position_s[REC_POSITION_MAX + 1], timezone_s[REC_TZ_MAX + 1];
	rec_tenant tenant;
	bool invalid;
	prechat_change care;       /* pre-chat form, transcripts, rating window */
	principal who;                  /* the caller (the audit row) */
	int64_t auto_close_s;      /* -1 = unchanged */
} tenant_op;

static int op_apply(wr_req *w, store_txn *t)
{
	tenant_op *op = container_of(w, tenant_op, w);
	rec_tenant *r = &op->tenant;
	int rc = account_tenant_get(t, op->tid, r);
	if (rc)
		return rc;
#define TAKE(field, v) \
	if (v) \
		snprintf(field, sizeof field, "%s", v)
	TAKE(r->name, op->name);
	TAKE(r->origins, op->origins);
	TAKE(r->widget_color, op->color);
	TAKE(r->greeting, op->greeting);
	TAKE(r->widget_position, op->position);
	TAKE(r->timezone, op->timezone);
#undef TAKE
	if (op->auto_close_s >= 0)
		r->auto_close_s = (uint64_t)op->auto_close_s;
	prechat_apply(&op->care, r);
	rc = account_tenant_update(t, r);
	if (rc == STORE_ECONFLICT) {   /* validated before; the store checks before it writes */
		op->invalid = true;
		return 0;
	}
	if (rc)
		return rc;
	const char *const names[] = { "name", "allowed_origins", "widget.color", "widget.greeting", "widget.position",
				      "timezone" };
	const char *const given[] = { op->name, op->origins, op->color, op->greeting, op->position, op->timezone };
	json_t *fields = json_array();
	for (size_t i = 0; fields && i < sizeof names / sizeof *names; i++)
		if (given[i])
			json_array_append_new(fields, json_string(names[i]));
	if (fields && op->auto_close_s >= 0)
		json_array_append_new(fields, json_string("auto_close_s"));
	const char *const care_names[] = { "prechat.name", "prechat.email", "prechat.phone", "prechat.question",
					   "transcript_on_close", "rating_window_s" };
	const int64_t care_given[] = { op->care.name, op->care.email, op->care.phone, op->care.question,
				       op->care.transcript_on_close, op->care.rating_window_s };
	for (size_t i = 0; fields && i < sizeof care_names / sizeof *care_names; i++)
		if (care_given[i] >= 0)
			json_array_append_new(fields, json_string(care_names[i]));
	return audit_json(op->app, t, op->tid, &op->who, "tenant.update", "tenant", op->tid,
			  json_pack("{s:o}", "fields", fields ? fields : json_array())) ? STORE_EIO : 0;
}

static void op_done(wr_req *w, int rc)
{
	tenant_op *op = container_of(w, tenant_op, w);
	app *a = op->app;
	if (rc) {
		log_error("tenant.write", "err=\"%s\"", store_strerror(rc));
		reply_error(a, &op->reply, rc == STORE_ENOTFOUND ? 404 : 500, rc == STORE_ENOTFOUND ? "not_found" : "internal",
			    rc == STORE_ENOTFOUND ? "no such tenant" : "storage failure");
	} else if (op->invalid) {
		reply_error(a, &op->reply, 400, "invalid_field", "invalid settings");
	} else {
		json_t *v = view_tenant(&op->tenant);
		json_t *f = v ? json_pack("{s:s,s:s,s:O}", "type", "inbox", "event", "tenant.updated", "tenant", v) : NULL;
		if (f)
			inbox_broadcast(a, op->tid, f);
		if (v)
			reply_json(a, &op->reply, 200, v);
		else
			reply_error(a, &op->reply, 500, "internal", "out of memory");
	}
	free(op);
}

/* ------------------------------------------------------------------ input */

/* "*", or http(s)://host[:port] (host: letters, digits, '-', '.'; or
 * [IPv6]), written lower-case into out. */
static bool valid_origin(const char *o, char *out, size_t cap)
{
	size_t n = strlen(o);
	if (n >= cap)
		return false;
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)tolower((unsigned char)o[i]);
	if (strcmp(out, "*") == 0)
		return true;
	const char *h = strncmp(out, "https://", 8) == 0 ? out + 8 : strncmp(out, "http://", 7) == 0 ? out + 7 : NULL;
	if (!h || !*h)
		return false;
	const char *p = h;
	if (*p == '[') {
		for (p++; isxdigit((unsigned char)*p) || *p == ':' || *p == '.'; p++)
			;
		if (*p != ']' || p == h + 1)
			return false;
		p++;
	} else {
		for (; isalnum((unsigned char)*p) || *p == '-' || *p == '.'; p++)
			;
		if (p == h || *h == '.' || *h == '-')
			return false;
	}
	if (!*p)
		return true;
	if (*p != ':' || !p[1] || strlen(p + 1) > 5)
		return false;
	long port = 0;
	for (p++; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return false;
		port = port * 10 + (*p - '0');
	}
	return port >= 1 && port <= 65535;
}

static int read_origins(http_req *req, json_t *body, tenant_op *op)
{
	json_t *list = json_object_get(body, "allowed_origins");
	if (!list)
		return 0;
	if (!json_is_array(list))
		return api_bad_field(req, "allowed_origins", "allowed_origins must be an array of origins");
	if (json_array_size(list) > ORIGINS_MAX)
		return api_bad_field(req, "allowed_origins", "at most 50 allowed origins");
	size_t len = 0, i;
	json_t *v;
	json_array_foreach(list, i, v) {
		char one[REC_ORIGINS_MAX + 1];
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
		    !valid_origin(json_string_value(v), one, sizeof one))
			return api_bad_field(req, "allowed_origins", "each origin must be * or http(s)://host[:port] without a path");
		size_t n = strlen(one);
		if (len + (i > 0) + n > REC_ORIGINS_MAX)
			return api_bad_field(req, "allowed_origins", "the allowed origins take at most 1,024 bytes together");
		if (i > 0)
			op->origins_s[len++] = ',';
		memcpy(op->origins_s + len, one, n + 1);
		len += n;
	}
	op->origins = op->origins_s;
	return 0;
}

static int read_widget(http_req *req, json_t *body, tenant_op *op)
{
	static const char *const fields[] = { "color", "greeting", "position", NULL };
	json_t *w = json_object_get(body, "widget");
	if (!w)
		return 0;
	if (!json_is_object(w))
		return api_bad_field(req, "widget", "widget must be an object");
	const char *color, *greeting, *position;
	if (api_only(req, w, fields) < 0 || api_opt_str(req, w, "color", 7, 7, &color) < 0 ||
	    api_opt_str(req, w, "greeting", 0, REC_GREETING_MAX, &greeting) < 0 ||
	    api_opt_str(req, w, "position", 4, 5, &position) < 0)
		return -1;
	if (color) {
		for (int i = 1; i < 7; i++)
			if (color[0] != '#' || !isxdigit((unsigned char)color[i]))
				return api_bad_field(req, "color", "color must be #rrggbb");
		op->color = strcpy(op->color_s, color);
	}
	if (greeting)
		op->greeting = strcpy(op->greeting_s, greeting);
	if (position) {
		if (strcmp(position, "left") != 0 && strcmp(position, "right") != 0)
			return api_bad_field(req, "position", "position must be left or right");
		op->position = strcpy(op->position_s, position);
	}
	return 0;
}

static int read_timezone(http_req *req, json_t *body, tenant_op *op)
{
	const char *name;
	if (api_opt_str(req, body, "timezone", 1, REC_TZ_MAX, &name) < 0)
		return -1;
	if (!name)
		return 0;
	int err = 0;
	tz *z = tz_name_valid(name) ? tz_load(name, &err) : NULL;
	if (!z)
		return api_bad_field(req, "timezone", "timezone must be an IANA time zone this server knows, e.g. Europe/Berlin");
	tz_free(&z);
	op->timezone = strcpy(op->timezone_s, name);
	return 0;
}

/* auto_close_s: close conversations inactive this long; 0 = never, else
 * one minute to a year */
static int read_auto_close(http_req *req, json_t *body, tenant_op *op)
{
	json_t *v = json_object_get(body, "auto_close_s");
	op->auto_close_s = -1;
	if (!v)
		return 0;
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
	if (n != 0 && (n < 60 || n > 366 * 86400))
		return api_bad_field(req, "auto_close_s", "auto_close_s must be 0 (never) or 60 to 31622400 seconds");
	op->auto_close_s = n;
	return 0;
}

static void patch_tenant(http_req *req, const principal *p)
{
	static const char *const fields[] = { "name", "allowed_origins", "widget", "timezone", "auto_close_s",
					      "prechat", "transcript_on_close", "rating_window_s", NULL };
	app *a = api_app(req);
	json_t *body = api_body(req);
	if (!body)
		return;
	tenant_op *op = calloc(1, sizeof *op);
	const char *name;
	if (!op) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		goto out;
	}
	if (api_only(req, body, fields) < 0 || api_opt_str(req, body, "name", 1, REC_NAME_MAX, &name) < 0 ||
	    read_origins(req, body, op) < 0 || read_widget(req, body, op) < 0 || read_timezone(req, body, op) < 0 ||
	    read_auto_close(req, body, op) < 0 ||
	    prechat_read(req, body, &op->care) < 0)
		goto out;
	if (name)
		op->name = strcpy(op->name_s, name);
	op->app = a;
	op->tid = p->tid;
	op->who = *p;
	op->w.apply = op_apply;
	op->w.done = op_done;
	reply_begin_http(a, &op->reply, req);
	writer_submit(a->wr, &op->w);
	op = NULL;
out:
	free(op);
	json_decref(body);
}

static const route_def routes[] = {
	{ "GET", "/v1/tenant", PERM_SIGNED_IN, get_tenant },
	{ "PATCH", "/v1/tenant", PERM_SETTINGS, patch_tenant },
	{ 0 },
};

const feature feature_tenant = { .name = "tenant", .routes = routes };
