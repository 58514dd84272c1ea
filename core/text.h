/* text — the search tokenizer: words of a text as normalised terms.
 *
 * A text is normalised with Unicode NFKC, case folded and stripped of its
 * marks (accents, Arabic harakat) and default-ignorable characters
 * (libutf8proc: STABLE | COMPAT | CASEFOLD | STRIPMARK | IGNORE), so
 * "Élève" and "ELEVE" both give "eleve", a full-width "ＡＢＣ" gives "abc".
 * It is then split into terms:
 *
 *  - a word is a run of Unicode letters and numbers (categories L* and N*)
 *    outside the scripts below; everything else separates words;
 *  - Han, Hiragana, Katakana and Hangul are written without spaces between
 *    words (Hangul usually with, but bigrams serve it too): a run of them
 *    gives its overlapping character bigrams ("東京都" → "東京", "京都"),
 *    a run of one character that character alone;
 *  - a term is at most TEXT_TERM_MAX bytes: a longer word is cut at a
 *    character boundary (a query cuts the same way, so it still matches);
 *  - a text gives at most max_terms terms, and only its first
 *    TEXT_INPUT_MAX bytes are read.
 *
 * Bytes that are not valid UTF-8 separate words. A term never contains a
 * NUL byte nor anything but letters and numbers, so it can sit in a key
 * before a 0 separator (storage/search_store.h).
 */
#ifndef PARLEY_TEXT_H
#define PARLEY_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#define TEXT_TERM_MAX  40        /* bytes of one term */
#define TEXT_TERMS_MAX 1024      /* terms one stored text gives at most */
#define TEXT_INPUT_MAX 65536     /* bytes of a text read at most */

/* Called for each term in text order (repeats included); return false to
 * stop. term is not NUL-terminated and is valid only for the call. */
typedef bool (*text_term_fn)(void *ctx, const char *term, size_t len);

/* Normalises and splits s (n bytes) and calls fn for each term, at most
 * max_terms of them; returns how many were given, or -1 when out of
 * memory (fn may have been called). */
int text_terms(const char *s, size_t n, size_t max_terms, text_term_fn fn, void *ctx);

/* The byte offset in s of the first stretch of letters, numbers, marks and
 * format characters that gives a term for which match returns true (for a
 * snippet around a search hit), or -1 when none does (or out of memory).
 * Reads the first TEXT_INPUT_MAX bytes. */
typedef bool (*text_match_fn)(void *ctx, const char *term, size_t len);
long text_find(const char *s, size_t n, text_match_fn match, void *ctx);

/* Whether a text gives at least one term (a query that gives none is
 * empty: only punctuation, operators or marks). */
bool text_has_terms(const char *s, size_t n);

#endif
