/* query — the search box's text as lists of terms (storage/search_store.h).
 *
 * The text is split at whitespace into tokens. A token "name:WORDS" gives
 * the terms of WORDS in the visitor's name, "email:WORDS" in the visitor's
 * email; a token with an "@" is an email ("alice@example.com" is the same
 * as "email:alice@example.com"); any other token gives its terms (words,
 * CJK bigrams: core/text.h) in the text of messages and notes (and the
 * visitor's name). Every term must match (AND); a repeated term counts
 * once. There are no other operators: quotes, "+", "-", "*", "OR" and the
 * like are punctuation or plain words.
 */
#ifndef PARLEY_SEARCH_QUERY_H
#define PARLEY_SEARCH_QUERY_H

#include <stddef.h>
#include "storage/search_store.h"

#define SEARCH_Q_MAX     1000    /* bytes of the query text */
#define SEARCH_TERMS_MAX 24      /* terms a query may give */

enum search_q_rc {
	SQ_OK = 0,
	SQ_TOO_MANY = -1,        /* more than SEARCH_TERMS_MAX terms */
	SQ_NOMEM = -2,
};

/* Appends the terms of q (len bytes) to lists (*n in use, room for
 * SEARCH_LISTS_MAX); an enum search_q_rc. A text without terms adds none. */
int search_parse_q(const char *q, size_t len, search_list *lists, int *n);

#endif
