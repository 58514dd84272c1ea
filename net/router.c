/* router — the route table (see router.h). */
#include "net/router.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct {
	char method[8];
	char pattern[128];
	unsigned flags;
	http_handler h;
	void *data;
} route;

struct router {
	route routes[ROUTER_MAX_ROUTES];
	int n;
	http_handler fallback;
	void *fallback_data;
};

router *router_new(void)
{
	return calloc(1, sizeof(router));
}

void router_free(router **r_p)
{
	free(*r_p);
	*r_p = NULL;
}

int router_add(router *rt, const char *method, const char *pattern, unsigned flags, http_handler h,
	       void *data)
{
	if (rt->n == ROUTER_MAX_ROUTES || strlen(method) >= 8 || strlen(pattern) >= 128)
		return -1;
	route *r = &rt->routes[rt->n++];
	strcpy(r->method, method);
	strcpy(r->pattern, pattern);
	r->flags = flags;
	r->h = h;
	r->data = data;
	return 0;
}

void router_set_fallback(router *rt, http_handler h, void *data)
{
	rt->fallback = h;
	rt->fallback_data = data;
}

void router_each(const router *rt, void (*fn)(const char *, const char *, void *), void *arg)
{
	for (int i = 0; i < rt->n; i++)
		fn(rt->routes[i].method, rt->routes[i].pattern, arg);
}

/* Matches path against pattern, capturing {params}. */
static bool match(const char *pat, hp_str path, http_req *req)
{
	const char *p = path.p, *end = path.p + path.len;
	int np = 0;
	while (*pat) {
		if (*pat == '{') {
			const char *close = strchr(pat, '}');
			const char *seg = p;
			while (p < end && *p != '/')
				p++;
			if (p == seg || np == HTTP_MAX_PARAMS)
				return false;
			req->params[np++] = (hp_str){ seg, (size_t)(p - seg) };
			pat = close + 1;
			continue;
		}
		if (p == end || *p != *pat)
			return false;
		p++;
		pat++;
	}
	if (p != end)
		return false;
	req->nparams = np;
	return true;
}

static bool method_is(hp_str m, const char *s)
{
	return m.len == strlen(s) && memcmp(m.p, s, m.len) == 0;
}

enum router_result router_find(const router *rt, http_req *req, router_hit *hit, char *allow, size_t cap)
{
	bool path_matched = false;
	const route *best = NULL;
	int best_np = 0;
	snprintf(allow, cap, "Allow: ");
	/* The most literal route wins: /v1/visitors/live before
	 * /v1/visitors/{id}, whatever the order they were added in; among
	 * equals, the first added. */
	for (int i = 0; i < rt->n; i++) {
		const route *r = &rt->routes[i];
		if (!match(r->pattern, req->head.path, req))
			continue;
		path_matched = true;
		if (strlen(allow) + strlen(r->method) + 8 < cap)
			snprintf(allow + strlen(allow), cap - strlen(allow), "%s%s%s",
				 strlen(allow) > 7 ? ", " : "", r->method,
				 strcmp(r->method, "GET") == 0 ? ", HEAD" : "");
		if ((method_is(req->head.method, r->method) ||
		     (method_is(req->head.method, "HEAD") && strcmp(r->method, "GET") == 0)) &&
		    (!best || req->nparams < best_np)) {
			best = r;
			best_np = req->nparams;
			if (best_np == 0)
				break;
		}
	}
	if (best) {
		match(best->pattern, req->head.path, req);   /* its params again */
		*hit = (router_hit){ best->h, best->data, best->flags };
		return ROUTER_FOUND;
	}
	if (path_matched)
		return ROUTER_NO_METHOD;
	if (rt->fallback && (method_is(req->head.method, "GET") || method_is(req->head.method, "HEAD"))) {
		*hit = (router_hit){ rt->fallback, rt->fallback_data, 0 };
		return ROUTER_FALLBACK;
	}
	return ROUTER_NOT_FOUND;
}
