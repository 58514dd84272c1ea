/* text — the search tokenizer (text.h). */
#include "core/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define NORM_OPTS (UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | \
		   UTF8PROC_STRIPMARK | UTF8PROC_IGNORE)

/* Scripts written without spaces between words: their runs give bigrams. */
static bool is_bigram_script(int32_t c)
{
	return (c >= 0x3040 && c <= 0x30ff) ||   /* Hiragana, Katakana */
	       (c >= 0x31f0 && c <= 0x31ff) ||   /* Katakana phonetic extensions */
	       (c >= 0x3400 && c <= 0x4dbf) ||   /* CJK extension A */
	       (c >= 0x4e00 && c <= 0x9fff) ||   /* CJK unified ideographs */
	       (c >= 0xf900 && c <= 0xfaff) ||   /* CJK compatibility ideographs */
	       (c >= 0x20000 && c <= 0x3134f) || /* CJK extensions B..G */
	       c == 0x3005 || c == 0x3006 || c == 0x3007 || /* 々 〆 〇 */
	       (c >= 0x1100 && c <= 0x11ff) ||   /* Hangul jamo */
	       (c >= 0x3130 && c <= 0x318f) ||   /* Hangul compatibility jamo */
	       (c >= 0xac00 && c <= 0xd7af);     /* Hangul syllables */
}

static bool is_word_char(int32_t c)
{
	if (c < 0x80)   /* ASCII: letters and digits are its only L* and N* */
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
	case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
		return true;
	default:
		return false;
	}
}

/* Characters dropped inside a word without splitting it: the Arabic
 * tatweel (a stretching stroke, not a letter). */
static bool is_filler(int32_t c)
{
	return c == 0x0640;
}

/* A copy of s (at most TEXT_INPUT_MAX bytes, cut at a character) with
 * every byte that is not part of valid UTF-8 turned into a space. */
static uint8_t *clean_utf8(const char *s, size_t n, size_t *out_len)
{
	if (n > TEXT_INPUT_MAX)
		n = TEXT_INPUT_MAX;
	uint8_t *o = malloc(n + 1);
	if (!o)
		return NULL;
	size_t i = 0, j = 0;
	while (i < n) {
		utf8proc_int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate((const uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &c);
		if (k <= 0) {
			o[j++] = ' ';
			i++;
			continue;
		}
		memcpy(o + j, s + i, (size_t)k);
		i += (size_t)k;
		j += (size_t)k;
	}
	o[j] = 0;
	*out_len = j;
	return o;
}

static bool is_ascii(const char *s, size_t n)
{
	unsigned char any = 0;
	for (size_t i = 0; i < n; i++)
		any |= (unsigned char)s[i];
	return any < 0x80;
}

typedef struct {
	text_term_fn fn;
	void *ctx;
	size_t max, given;
	bool stop;
} emitter;

static void emit(emitter *e, const char *t, size_t len)
{
	if (e->stop || len == 0)
		return;
	if (e->given == e->max) {
		e->stop = true;
		return;
	}
	e->given++;
	if (!e->fn(e->ctx, t, len))
		e->stop = true;
}

/* A word being built: its bytes up to TEXT_TERM_MAX, cut at a character. */
typedef struct {
	char b[TEXT_TERM_MAX];
	size_t len;
	bool full;
} word;

static void word_add(word *w, const uint8_t *p, size_t k)
{
	if (w->full)
		return;
	if (w->len + k > TEXT_TERM_MAX) {
		w->full = true;
		return;
	}
	memcpy(w->b + w->len, p, k);
	w->len += k;
}

static void word_end(emitter *e, word *w)
{
	emit(e, w->b, w->len);
	w->len = 0;
	w->full = false;
}

int text_terms(const char *s, size_t n, size_t max_terms, text_term_fn fn, void *ctx)
{
	emitter e = { fn, ctx, max_terms, 0, false };
	if (n == 0 || max_terms == 0)
		return 0;
	uint8_t *norm = NULL;
	utf8proc_ssize_t nn;
	if (is_ascii(s, n)) {
		/* ASCII: NFKC leaves it as it is, case folding is lowering, no
		 * marks nor ignorables to strip (utf8proc's map gives the same) */
		nn = (utf8proc_ssize_t)(n > TEXT_INPUT_MAX ? TEXT_INPUT_MAX : n);
		if (!(norm = malloc((size_t)nn + 1)))
			return -1;
		for (utf8proc_ssize_t j = 0; j < nn; j++)
			norm[j] = (uint8_t)(s[j] >= 'A' && s[j] <= 'Z' ? s[j] + ('a' - 'A') : s[j]);
	} else {
		size_t cn;
		uint8_t *clean = clean_utf8(s, n, &cn);
		if (!clean)
			return -1;
		nn = utf8proc_map(clean, (utf8proc_ssize_t)cn, &norm, NORM_OPTS);
		free(clean);
		if (nn < 0)
			return nn == UTF8PROC_ERROR_NOMEM ? -1 : 0;
	}
	word w = { .len = 0 };
	/* the previous character of a bigram run (its bytes), or none */
	const uint8_t *prev = NULL;
	size_t prev_k = 0;
	bool run_emitted = false;
	size_t i = 0;
	while (i < (size_t)nn && !e.stop) {
		utf8proc_int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate(norm + i, nn - (utf8proc_ssize_t)i, &c);
		if (k <= 0) {          /* cannot happen after utf8proc_map; be safe */
			i++;
			continue;
		}
		const uint8_t *p = norm + i;
		i += (size_t)k;
		if (is_bigram_script(c)) {
			word_end(&e, &w);
			if (prev) {
				char bg[8];
				memcpy(bg, prev, prev_k);
				memcpy(bg + prev_k, p, (size_t)k);
				emit(&e, bg, prev_k + (size_t)k);
				run_emitted = true;
			}
			prev = p;
			prev_k = (size_t)k;
			continue;
		}
		if (prev && !run_emitted)
			emit(&e, (const char *)prev, prev_k);   /* a run of one character */
		prev = NULL;
		run_emitted = false;
		if (is_filler(c))
			continue;
		if (is_word_char(c))
			word_add(&w, p, (size_t)k);
		else
			word_end(&e, &w);
	}
	if (prev && !run_emitted)
		emit(&e, (const char *)prev, prev_k);
	word_end(&e, &w);
	free(norm);
	return (int)e.given;
}

static bool stop_at_first(void *ctx, const char *t, size_t len)
{
	(void)t;
	(void)len;
	*(bool *)ctx = true;
	return false;
}

bool text_has_terms(const char *s, size_t n)
{
	bool any = false;
	text_terms(s, n, 1, stop_at_first, &any);
	return any;
}

/* Part of a stretch text_find tokenizes: what the tokenizer keeps in a
 * word, before normalisation (marks and format characters included). */
static bool in_stretch(int32_t c)
{
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
	case UTF8PROC_CATEGORY_CF:
		return true;
	default:
		return is_word_char(c) || is_filler(c);
	}
}

typedef struct {
	text_match_fn match;
	void *ctx;
	bool found;
} finder;

static bool find_one(void *arg, const char *t, size_t len)
{
	finder *f = arg;
	if (f->match(f->ctx, t, len))
		f->found = true;
	return !f->found;
}

long text_find(const char *s, size_t n, text_match_fn match, void *ctx)
{
	if (n > TEXT_INPUT_MAX)
		n = TEXT_INPUT_MAX;
	finder f = { match, ctx, false };
	size_t i = 0;
	while (i < n) {
		/* the next stretch [start, end) */
		size_t start = i, end = i;
		while (end < n) {
			utf8proc_int32_t c;
			utf8proc_ssize_t k = utf8proc_iterate((const uint8_t *)s + end, (utf8proc_ssize_t)(n - end), &c);
			if (k <= 0 || !in_stretch(c))
				break;
			end += (size_t)k;
		}
		if (end > start) {
			if (text_terms(s + start, end - start, TEXT_TERMS_MAX, find_one, &f) < 0)
				return -1;
			if (f.found)
				return (long)start;
			i = end;
		} else {
			utf8proc_int32_t c;
			utf8proc_ssize_t k = utf8proc_iterate((const uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &c);
			i += k > 0 ? (size_t)k : 1;
		}
	}
	return -1;
}
