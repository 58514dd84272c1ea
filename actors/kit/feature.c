/* feature — installing the command tables and the permission check in
 * front of every table route (see feature.h). */
#include "actors/kit/feature.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct route_entry {
	app *app;
	const route_def *def;
};

app *feature_app(http_req *req)
{
	return ((struct route_entry *)req->route_data)->app;
}

static void dispatch(http_req *req)
{
	struct route_entry *e = req->route_data;
	principal p;
	memset(&p, 0, sizeof p);
	int perm = e->def->perm;
	if (perm == PERM_VISITOR) {
		if (auth_require_visitor(e->app, req, &p) < 0)
			return;
	} else if (perm != PERM_PUBLIC) {
		if (auth_require_agent(e->app, req, &p) < 0)
			return;
		if (p.kind == P_APIKEY) {
			/* the key's scope, and a read key only reads (kit/perm.h) */
			if (!perm_allows_key(p.scope, perm, e->def->method)) {
				http_respond_error(req, 403, "forbidden",
						   perm_users_only(perm) ? "this route is for users, not API keys"
									 : "this API key's scope does not allow this",
						   NULL);
				return;
			}
		} else if (!perm_allows(role_parse(p.role), perm)) {
			http_respond_error(req, 403, "forbidden", "your role does not allow this", NULL);
			return;
		}
	}
	e->def->fn(req, &p);
}

int feature_install(app *a, const feature *const *list)
{
	size_t n = 0;
	for (size_t i = 0; list[i]; i++) {
		for (const route_def *r = list[i]->routes; r && r->method; r++)
			n++;
		for (const route_def *r = list[i]->stream_routes; r && r->method; r++)
			n++;
	}
	struct route_entry *es = calloc(n ? n : 1, sizeof *es);
	if (!es)
		return -1;
	a->features = list;
	a->route_entries = es;
	for (size_t i = 0; list[i]; i++) {
		for (int k = 0; k < 2; k++) {
			const route_def *r = k ? list[i]->stream_routes : list[i]->routes;
			for (; r && r->method; r++) {
				es->app = a;
				es->def = r;
				unsigned flags = (r->perm == PERM_PUBLIC ? 0 : HTTP_BEARER) |
						 (k ? HTTP_STREAM_BODY : 0);
				if (http_route(a->http, r->method, r->path, flags, dispatch, es) < 0) {
					/* a route the server would not serve: refuse to start */
					fprintf(stderr, "parleyd: cannot install route %s %s\n", r->method, r->path);
					return -1;
				}
				es++;
			}
		}
	}
	return 0;
}

void feature_uninstall(app *a)
{
	for (size_t i = 0; a->features && a->features[i]; i++)
		if (a->features[i]->release)
			a->features[i]->release(a);
	free(a->route_entries);
	a->route_entries = NULL;
}

const frame_def *feature_frame(app *a, const char *type)
{
	for (size_t i = 0; a->features && a->features[i]; i++)
		for (const frame_def *f = a->features[i]->frames; f && f->type; f++)
			if (strcmp(f->type, type) == 0)
				return f;
	return NULL;
}

void feature_each(const feature *const *list, void (*route)(const route_def *r, void *arg),
		  void (*frame)(const frame_def *f, void *arg), void *arg)
{
	for (size_t i = 0; list[i]; i++) {
		for (const route_def *r = list[i]->routes; route && r && r->method; r++)
			route(r, arg);
		for (const route_def *r = list[i]->stream_routes; route && r && r->method; r++)
			route(r, arg);
	}
	for (size_t i = 0; list[i]; i++)
		for (const frame_def *f = list[i]->frames; frame && f && f->type; f++)
			frame(f, arg);
}

int feature_start(app *a)
{
	size_t i;
	for (i = 0; a->features && a->features[i]; i++) {
		if (a->features[i]->start && a->features[i]->start(a) < 0) {
			while (i-- > 0)
				if (a->features[i]->stop)
					a->features[i]->stop(a);
			return -1;
		}
	}
	a->features_started = true;
	return 0;
}

void feature_stop(app *a)
{
	if (!a->features_started)
		return;
	a->features_started = false;
	size_t n = 0;
	while (a->features[n])
		n++;
	while (n-- > 0)
		if (a->features[n]->stop)
			a->features[n]->stop(a);
}
