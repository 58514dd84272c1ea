/* search_store — the search index (DB_SEARCH): term → conversations.
 *
 * Key: tenant (8 bytes BE) · term · 0x00 · conversation id (8 bytes BE);
 * value: the seq (unsigned LEB128, 1 to 3 bytes for any real
 * conversation) of the first event of that conversation whose text gave
 * the term (0 when the visitor's name did first). A posting is written
 * once and never rewritten: a later message with a word its conversation
 * already has costs one B-tree descent and dirties no page, so the write
 * transaction's pages (and what each commit writes to disk) grow with the
 * words new to a conversation only. A term is
 * what core/text.h gives (letters and numbers, never a byte below 0x20),
 * behind a field byte for the visitor's name (SF_NAME) and email
 * (SF_EMAIL); message and note words have none. So one term's postings of
 * a tenant are one key range, conversation ids ascending, read downwards
 * for "newest first" (ids are time-ordered: core/id.h).
 *
 * Written by conv_store's write, in the same transaction as the message
 * (searchstore_index); read by a query that intersects lists of ids: the
 * term postings, and the conversation indexes kept by the other stores
 * (DB_TAG_CONVS tid·tag·cid, DB_CONV_STATUS tid·status·cid,
 * DB_CONV_ASSIGNEE tid·uid·cid, DB_CONVS tid·cid, and DB_TAGS keys), read here only, by the
 * layouts docs/storage.md states. Nothing scans messages.
 *
 * Sizes and the layout: docs/storage.md "Search index".
 */
#ifndef PARLEY_SEARCH_STORE_H
#define PARLEY_SEARCH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/text.h"
#include "storage/records.h"
#include "storage/store.h"

/* What part of a conversation a term comes from (the byte before it). */
enum search_field {
	SF_TEXT = 0,               /* message and note text, and name words too */
	SF_NAME = 1,               /* the visitor's name */
	SF_EMAIL = 2,              /* the visitor's email */
};

/* A list of conversation ids that a query intersects. */
enum search_list_kind {
	SL_TERM,                   /* conversations with term (field, t, len) */
	SL_TAG,                    /* with tag key */
	SL_STATUS,                 /* in status key (enum conv_status) */
	SL_ASSIGNEE,               /* assigned to user key (0: unassigned) */
	SL_ALL,                    /* every conversation of the tenant */
};

typedef struct {
	uint8_t kind;              /* enum search_list_kind */
	uint8_t field;             /* SL_TERM: enum search_field */
	uint8_t len;               /* SL_TERM: bytes of t */
	char t[TEXT_TERM_MAX];     /* SL_TERM: the term */
	uint64_t key;              /* SL_TAG, SL_STATUS, SL_ASSIGNEE */
} search_list;

#define SEARCH_LISTS_MAX 32        /* lists one query intersects at most */

/* Whether writes index (default on). Off only for the benchmark's A/B
 * (parleyd --search-index=off): conversations written then are not found. */
void searchstore_set_enabled(struct db *d, bool on);
bool searchstore_enabled(struct db *d);

/* Frees the cache of known postings searchstore_index keeps on the
 * database handle (db_close calls it). The cache (SEARCH_CACHE_SLOTS keys,
 * 64 bytes each, allocated whole on first use) remembers postings written
 * or found by earlier writes, so a word the conversation already has
 * costs a hash lookup instead of a B-tree descent; it is exact (whole
 * keys compared) and dropped when a write transaction fails to commit
 * (db_aborts), since what it learnt inside one is not stored. */
struct search_cache;
void searchstore_cache_free(struct search_cache **c);
#define SEARCH_CACHE_SLOTS (1 << 16)

/* Indexes what one conversation write adds, in the write transaction t:
 * the words of each message and note of ev (at most TEXT_TERMS_MAX terms
 * a text), and the visitor's name and email of c when old is NULL (a new
 * conversation) or they differ from old's (the old name and email terms
 * are removed; the old name's words stay findable as text). 0, or
 * STORE_EIO / STORE_EFULL / STORE_ENOMEM (the transaction is unusable). */
int searchstore_index(store_txn *t, const rec_conv *old, const rec_conv *c, rec_event *const *ev, int nev);

/* Indexes what was stored before the index existed (a data directory of
 * an earlier release): every conversation's visitor and its messages and
 * notes, in key order, at most `convs` conversations per call, in the
 * write transaction t (the offline start-up step, before the writer runs;
 * one transaction per call keeps each one's dirty pages bounded). Its
 * progress (the last tid · cid done) is kept in DB_META "search", so a
 * stop half-way goes on where it was. Returns the conversations indexed
 * (0: nothing was left; the mark says so from then on) or a store code. */
int searchstore_backfill(store_txn *t, int convs);

/* Called for each conversation in every list, newest first; seq[i] is
 * list i's value for it (SL_TERM: the seq of the first event with the
 * term, 0 when the visitor's name gave it first; 0 for the other kinds).
 * Return false to stop. */
typedef bool (*searchstore_hit_fn)(void *ctx, uint64_t cid, const uint64_t *seq);

/* Walks the conversations of tenant tid present in all n lists (1 <= n <=
 * SEARCH_LISTS_MAX) with from <= cid <= upto, newest first, calling fn
 * for each until it stops; 0, STORE_ECONFLICT (n out of range, an unknown
 * kind) or STORE_EIO. Each step is a seek per list (leapfrog
 * intersection): the cost follows the shortest list, not the longest. */
int searchstore_query(store_txn *t, uint64_t tid, const search_list *lists, int n, uint64_t from,
		      uint64_t upto, searchstore_hit_fn fn, void *ctx);

/* What a filter names, for searchstore_known. */
enum search_known { SK_TAG };

/* Whether tenant tid has tag id (reads the key tid · id of DB_TAGS): 0,
 * STORE_ENOTFOUND, STORE_ECONFLICT (unknown what) or STORE_EIO. */
int searchstore_known(store_txn *t, uint64_t tid, int what, uint64_t id);

/* Fills l as an SL_TERM list of a field's term; false if len is 0 or
 * over TEXT_TERM_MAX. */
bool searchstore_term(search_list *l, uint8_t field, const char *t, size_t len);

#endif
