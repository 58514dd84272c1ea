/* db — the LMDB environment and its named databases.
 *
 * One environment per node under <data>/db/. Every key starts with the
 * tenant id (8 bytes big-endian) except the global lookup tables listed in
 * docs/storage.md. Values are msgpack with the schema version first
 * (storage/records.h). Readers use read-only transactions from any thread
 * (MDB_NOTLS); the only writer is storage/writer.c's thread (and the offline
 * `parley` CLI, which LMDB's own writer lock serialises with it).
 */
#ifndef PARLEY_DB_H
#define PARLEY_DB_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "storage/store.h"

#define DB_SCHEMA_VERSION 1

enum db_table {
	DB_META,          /* "schema", "jwt_key" → bytes (global) */
	DB_TENANTS,       /* tid → tenant */
	DB_TENANT_SLUG,   /* slug → tid (global lookup) */
	DB_WIDGET_KEYS,   /* widget key → tid (global lookup) */
	DB_USERS,         /* tid|uid → user */
	DB_USER_EMAIL,    /* email \0 tid → uid (global lookup) */
	DB_VISITORS,      /* tid|vid → visitor */
	DB_CONVS,         /* tid|cid → conversation */
	DB_CONV_STATUS,   /* tid|status|cid → "" (index) */
	DB_CONV_ASSIGNEE, /* tid|uid|cid → "" (index; uid 0 = unassigned) */
	DB_VISITOR_CONVS, /* tid|vid|cid → "" (index) */
	DB_EVENTS,        /* tid|cid|seq → event */
	DB_INBOX,         /* tid|cursor → inbox event */
	DB_REFRESH,       /* tid|sha256(token) → refresh token */
	DB_FAMILIES,      /* tid|family → token family (revocation) */
	DB_INVITES,       /* tid|sha256(token) → invite / password-reset token */
	DB_EMAIL,         /* tid → email settings */
	DB_API_KEYS,      /* tid|id → API key */
	DB_API_KEY_HASH,  /* tid|sha256(secret) → key id (index) */
	DB_WEBHOOKS,      /* tid|endpoint id → webhook endpoint */
	DB_OUTBOX,        /* tid|entry id → outbox entry (work for the outside world) */
	DB_OUTBOX_LOG,    /* tid|row id → delivery log row */
	DB_OUTBOX_COUNTS, /* tid → the tenant's outbox figures (quota) */
	DB_FILES,         /* tid|fid → file (metadata of an upload) */
	DB_BLOBS,         /* tid|sha256 → blob (a stored file's bytes, by content) */
	DB_USAGE,         /* tid → what the tenant stores */
	DB_DEPTS,         /* tid|did → department */
	DB_DEPT_MEMBERS,  /* tid|did|uid → "" (a department's member agents) */
	DB_AGENT_DEPTS,   /* tid|uid|did → "" (the same, by agent) */
	DB_PRESENCE,      /* tid|uid|at_ms → presence change (an agent's presence history) */
	DB_AUDIT,         /* tid|id → audit row (id time-ordered, append-only) */
	DB_DUE,           /* due_ms|tid|cid → u8 enum due_kind (snooze ends, auto-closes) */
	DB_CANNED,        /* tid|id → canned response */
	DB_CANNED_CODE,   /* tid|owner|shortcode → id (unique per owner; prefix search) */
	DB_TAGS,          /* tid|id → tag */
	DB_TAG_NAME,      /* tid|case-folded name → id */
	DB_TAG_CONVS,     /* tid|tag|cid → "" (conversations by tag) */
	DB_ATTR_DEFS,     /* tid|id → custom attribute definition */
	DB_ATTRS,         /* tid|owner|id → custom attribute values */
	DB_MENTIONS,      /* tid|uid|cid|seq → "" (unread mentions) */
	DB_SEARCH,        /* tid|term|0|cid → posting (the search index; docs/storage.md) */
	DB_RATINGS,       /* tid|cid → rating */
	DB_RATING_TIME,   /* tid|created_ms|cid → agent|dept|commented (ratings by time) */
	DB_ROLLUPS,       /* analytics rollups (docs/storage.md) */
	DB_ALERTS,        /* tid|id → alert */
	DB_PAGEVIEWS,     /* visitor tracking: page views (docs/storage.md) */
	DB_VSESSIONS,     /* visitor tracking: visitor sessions (docs/storage.md) */
	DB__COUNT
};


typedef struct db db;

typedef struct {
	size_t map_size;       /* bytes of address space (default 64 GiB; sparse) */
	bool no_sync;          /* MDB_NOSYNC: relaxed durability, benchmarks only */
	bool read_only;
} db_opts;

/* Opens (creating) <dir>/db; NULL on failure with *err set to an LMDB code. */
db *db_open(const char *dir, const db_opts *opts, int *err);

/* Closes the environment; no transactions may be open. */
void db_close(db **db_p);

/* Whether writes keep the search index (default true): a property of the
 * open database, set before writes begin (storage/search_store.h). */
void db_set_search_index(db *d, bool on);
bool db_search_index(const db *d);

/* Whether writes keep the analytics rollups (default true; parleyd
 * --no-rollups turns it off for the benchmark's A/B): a property of the
 * open database, set before writes begin (storage/rollup_store.h). */
void db_set_rollups(db *d, bool on);
bool db_rollups(const db *d);

/* The rollup store's figures deferred to the end of the write batch
 * (storage/rollup_store.c; writer thread only): NULL unless deferring;
 * freed by db_close. */
struct rollup_batch;
struct rollup_batch **db_rollup_batch(db *d);

/* The search store's cache of postings known to be stored
 * (storage/search_store.c; writer thread only): NULL until first used;
 * freed by db_close. */
struct search_cache;
struct search_cache **db_search_cache(db *d);

/* Write transactions that did not commit (the writer counts each batch it
 * aborts or whose commit fails): what was cached from inside one of them
 * is not stored, so a cache of stored keys is dropped when this moves.
 * Writer thread only. */
void db_note_abort(db *d);
uint64_t db_aborts(const db *d);

MDB_env *db_env(db *d);
MDB_dbi db_dbi(db *d, enum db_table t);
const char *db_table_name(enum db_table t);

/* Begins a read-only transaction (any thread). 0 or STORE_EIO. */
int db_read(db *d, MDB_txn **txn);

/* Begins a write transaction (writer thread / offline CLI only). */
int db_write(db *d, MDB_txn **txn);

/* Gets a value; STORE_ENOTFOUND, STORE_EIO or 0 (view valid until the txn ends). */
int db_get(db *d, MDB_txn *txn, enum db_table t, const void *k, size_t klen, MDB_val *v);

/* Puts a value; 0 or STORE_EIO. */
int db_put(db *d, MDB_txn *txn, enum db_table t, const void *k, size_t klen,
	   const void *v, size_t vlen);

/* Puts the record an encoder wrote into b (enc_rc: the encoder's result,
 * nonzero = out of memory) and frees b; 0, STORE_ENOMEM or STORE_EIO. */
int db_put_encoded(db *d, MDB_txn *txn, enum db_table t, const void *k, size_t klen,
		   int enc_rc, buf *b);

/* Puts a value under a key greater than any in the table (MDB_APPEND: the
 * page is filled, not split in the middle), or, when a greater key exists,
 * as db_put does; STORE_EEXISTS when the key is taken (nothing written),
 * 0 or STORE_EIO. For tables written in key order. */
int db_put_last(db *d, MDB_txn *txn, enum db_table t, const void *k, size_t klen, const void *v, size_t vlen);

/* Puts a value only when nothing is stored under the key (one descent:
 * MDB_NOOVERWRITE, and a key that is there leaves its page clean); 0
 * (written), STORE_EEXISTS (nothing written) or STORE_EIO. */
int db_put_new(db *d, MDB_txn *txn, enum db_table t, const void *k, size_t klen, const void *v, size_t vlen);

/* 0 when nothing is stored under the key, STORE_EEXISTS when something is,
 * or STORE_EIO. */
int db_absent(db *d, MDB_txn *txn, enum db_table t, const void *k, size_t klen);

/* Deletes a key (absent is fine); 0 or STORE_EIO. */
int db_del(db *d, MDB_txn *txn, enum db_table t, const void *k, size_t klen);

/* A resumable start-up walk over a table keyed tid · id (16 bytes: the
 * search and rating backfills), one write transaction per call. Its place
 * is kept in DB_META under name: the 16-byte key of the last record done
 * while under way, one byte once done.
 * db_walk_begin: 1 when the walk is done; else 0 with c positioned at the
 * first record not yet done (*mrc MDB_NOTFOUND when there is none) and
 * *k, *v on it; or a store code.
 * db_walk_end: records the place after a call, last the key of the last
 * record done, or NULL once the walk reached the end. */
int db_walk_begin(db *d, MDB_txn *txn, const char *name, MDB_cursor *c, MDB_val *k, MDB_val *v, int *mrc);
int db_walk_end(db *d, MDB_txn *txn, const char *name, const uint8_t *last);

/* Maps an LMDB return code to a store code (store_rc). */
int db_rc(int mdb_rc);

/* Big-endian key helpers. */
static inline void db_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}
static inline uint64_t db_get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Finds the greatest key that starts with prefix; 0 (key in *k, value in
 * *v), STORE_ENOTFOUND or STORE_EIO. Views valid until the txn ends. */
int db_last_under(db *d, MDB_txn *txn, enum db_table t, const void *prefix, size_t plen,
		  MDB_val *k, MDB_val *v);

/* Calls each(arg, key, value) for the keys that start with prefix, in key
 * order, beginning at the first key >= start (start NULL: the prefix).
 * Stops at the first nonzero value each returns and returns it; 0 at the
 * end of the range, or STORE_EIO. Views valid until the txn ends. */
int db_each_under(db *d, MDB_txn *txn, enum db_table t, const void *prefix, size_t plen,
		  const void *start, size_t slen,
		  int (*each)(void *arg, const MDB_val *k, const MDB_val *v), void *arg);

/* Size of the data file in bytes (for /metrics). */
size_t db_file_size(db *d);

#endif
