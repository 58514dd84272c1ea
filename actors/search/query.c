/* query — the search box's text as lists of terms (query.h). */
#include "actors/search/query.h"
#include "core/text.h"

#include <string.h>
#include <strings.h>

typedef struct {
	search_list *lists;
	int *n, first, terms;
	uint8_t field;
	int rc;
} adder;

static bool add_term(void *ctx, const char *t, size_t len)
{
	adder *a = ctx;
	for (int i = a->first; i < *a->n; i++) {
		const search_list *l = &a->lists[i];
		if (l->field == a->field && l->len == len && memcmp(l->t, t, len) == 0)
			return true;
	}
	if (a->terms == SEARCH_TERMS_MAX || *a->n == SEARCH_LISTS_MAX) {
		a->rc = SQ_TOO_MANY;
		return false;
	}
	searchstore_term(&a->lists[(*a->n)++], a->field, t, len);
	a->terms++;
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int search_parse_q(const char *q, size_t len, search_list *lists, int *n)
{
	adder a = { lists, n, *n, 0, SF_TEXT, SQ_OK };
	size_t i = 0;
	while (i < len && a.rc == SQ_OK) {
		while (i < len && is_space(q[i]))
			i++;
		size_t s = i;
		while (i < len && !is_space(q[i]))
			i++;
		const char *tok = q + s;
		size_t tl = i - s;
		if (tl == 0)
			break;
		a.field = SF_TEXT;
		if (tl >= 5 && strncasecmp(tok, "name:", 5) == 0) {
			a.field = SF_NAME;
			tok += 5;
			tl -= 5;
		} else if (tl >= 6 && strncasecmp(tok, "email:", 6) == 0) {
			a.field = SF_EMAIL;
			tok += 6;
			tl -= 6;
		} else if (memchr(tok, '@', tl)) {
			a.field = SF_EMAIL;
		}
		if (text_terms(tok, tl, SEARCH_TERMS_MAX + 1, add_term, &a) < 0)
			a.rc = SQ_NOMEM;
	}
	return a.rc;
}
