/* canned — see canned.h. */
#include "actors/canned/canned.h"
#include "storage/tools_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char *p;
	size_t n, cap;
	int failed;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
	if (b->failed || n == 0)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->failed = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

/* The value of placeholder name (n bytes), or NULL when it is unknown. */
static const char *value(const canned_vars *v, const char *name, size_t n, char idbuf[24])
{
#define IS(s) (n == sizeof(s) - 1 && memcmp(name, s, n) == 0)
	if (IS("visitor.name"))
		return v->visitor_name ? v->visitor_name : "";
	if (IS("visitor.email"))
		return v->visitor_email ? v->visitor_email : "";
	if (IS("agent.name"))
		return v->agent_name ? v->agent_name : "";
	if (IS("conversation.id")) {
		idbuf[0] = 0;
		if (v->conversation_id)
			snprintf(idbuf, 24, "%" PRIu64, v->conversation_id);
		return idbuf;
	}
	return NULL;
#undef IS
}

char *canned_expand(const char *body, const canned_vars *v, size_t *len)
{
	sbuf b = { 0 };
	put(&b, "", 0);
	const char *s = body;
	while (*s) {
		const char *open = strstr(s, "{{");
		if (!open) {
			put(&b, s, strlen(s));
			break;
		}
		put(&b, s, (size_t)(open - s));
		const char *close = strstr(open + 2, "}}");
		const char *nl = open + 2;
		while (*nl == ' ')
			nl++;
		const char *ne = nl;
		while (*ne && *ne != ' ' && *ne != '}' && *ne != '{')
			ne++;
		const char *after = ne;
		while (*after == ' ')
			after++;
		char idbuf[24];
		const char *val = close && after == close ? value(v, nl, (size_t)(ne - nl), idbuf) : NULL;
		if (val) {
			put(&b, val, strlen(val));
			s = close + 2;
		} else {
			put(&b, "{", 1);    /* not a placeholder: kept as written, looked at again one brace on */
			s = open + 1;
		}
	}
	if (!b.p && !b.failed) {
		b.p = calloc(1, 1);
		b.failed = !b.p;
	}
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	if (len)
		*len = b.n;
	return b.p;
}

int canned_usable(store_txn *t, uint64_t tid, uint64_t uid, uint64_t id, rec_canned *out)
{
	int rc = canned_get(t, tid, id, out);
	if (rc == 0 && out->owner_id && out->owner_id != uid)
		return STORE_ENOTFOUND;
	return rc;
}
