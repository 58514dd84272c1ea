/* conv_store — the conversation aggregate: conversations, their events,
 * their indexes and the tenants' inbox streams.
 *
 * Owns the tables convs, conv_status, conv_assignee, visitor_convs, events,
 * inbox and due (docs/storage.md): their keys, cursors and record codecs stay in
 * here. The conversation actor says what one write keeps (the record after
 * the change, the events it appends, whether the inbox hears of it); the
 * store checks it against what is stored and writes the record, the events,
 * the index entries that follow from the old and new record, and the inbox
 * entry, all in the caller's transaction. Readers walk events, lists and
 * the inbox through callbacks, in key order, inside one read snapshot.
 *
 * Every function runs inside a store_txn (storage/store.h); writes need the
 * write transaction. A walk's callback gets views valid only for that call
 * and returns false to stop. Records that do not decode are reported to the
 * callback as NULL (with their key) so a caller can step over them.
 */
#ifndef PARLEY_CONV_STORE_H
#define PARLEY_CONV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

enum convstore_kind {
	CONVSTORE_CREATE,          /* a new conversation */
	CONVSTORE_UPDATE,          /* a change to a stored one */
};

/* The whole change of one conversation write. Events are borrowed, not
 * copied: the pointers must stay valid for the call. */
typedef struct {
	uint8_t kind;              /* enum convstore_kind */
	uint64_t prev_seq;         /* the stored last_seq this change follows (0 for CREATE) */
	const rec_conv *conv;      /* the record after the change */
	rec_event *const *ev;      /* events appended, seqs prev_seq + 1 ... = conv->last_seq */
	int nev;
	uint8_t inbox_type;        /* enum inbox_type, when inbox_cursor is set */
	uint64_t *inbox_cursor;    /* non-NULL: append an inbox entry; receives its cursor */
} convstore_change;

/* Which conversations a tenant list walks. */
enum convstore_by {
	CONVSTORE_ALL,             /* every conversation */
	CONVSTORE_BY_STATUS,       /* key: enum conv_status */
	CONVSTORE_BY_ASSIGNEE,     /* key: user id, 0 = unassigned */
};

/* Walk callbacks: return true to go on, false to stop. A NULL record is one
 * that does not decode (or, in a list, an index entry without a record). */
typedef bool (*convstore_event_fn)(void *ctx, uint64_t seq, const rec_event *e);
typedef bool (*convstore_conv_fn)(void *ctx, uint64_t cid, const rec_conv *c);
typedef bool (*convstore_inbox_fn)(void *ctx, uint64_t cursor, const rec_inbox *ie);
typedef bool (*convstore_due_fn)(void *ctx, int64_t due_ms, uint64_t tid, uint64_t cid, uint8_t kind);

/* Reads conversation (tid, cid); 0, STORE_ENOTFOUND, STORE_ECORRUPT or STORE_EIO. */
int convstore_get(store_txn *t, uint64_t tid, uint64_t cid, rec_conv *out);

/* Applies ch in the write transaction t, checks first then writes:
 * 0; STORE_EEXISTS (CREATE of a stored conversation); STORE_ECONFLICT
 * (UPDATE of a missing one, stored last_seq != prev_seq, or events that do
 * not continue prev_seq up to conv->last_seq); STORE_ECORRUPT (the stored
 * record does not decode) — nothing written for any of these — or
 * STORE_EIO/STORE_EFULL/STORE_ENOMEM while writing (the transaction is
 * unusable). The inbox cursor is the tenant's last + 1. */
int convstore_write(store_txn *t, const convstore_change *ch);

/* Reads event seq of (tid, cid); 0, STORE_ENOTFOUND, STORE_ECORRUPT or STORE_EIO. */
int convstore_event(store_txn *t, uint64_t tid, uint64_t cid, uint64_t seq, rec_event *out);

/* Calls fn for the events of (tid, cid) with after < seq <= upto, oldest
 * first, at most limit of them (SIZE_MAX: no limit); 0 (all given, or fn
 * stopped), STORE_ELIMIT (limit given and another lies in range),
 * STORE_ENOMEM or STORE_EIO. */
int convstore_each_event(store_txn *t, uint64_t tid, uint64_t cid, uint64_t after, uint64_t upto,
			 size_t limit, convstore_event_fn fn, void *ctx);

/* Calls fn for the events of (tid, cid) newest first until it stops;
 * 0, STORE_ENOMEM or STORE_EIO. */
int convstore_each_event_back(store_txn *t, uint64_t tid, uint64_t cid, convstore_event_fn fn,
			      void *ctx);

/* Calls fn for tenant tid's conversations selected by (by, key) with ids
 * below `below` (0: from the newest), newest first; 0, STORE_ECONFLICT
 * (unknown by) or STORE_EIO. */
int convstore_each_conv(store_txn *t, uint64_t tid, int by, uint64_t key, uint64_t below,
			convstore_conv_fn fn, void *ctx);

/* Calls fn for visitor vid's conversations, oldest first; 0 or STORE_EIO. */
int convstore_each_of_visitor(store_txn *t, uint64_t tid, uint64_t vid, convstore_conv_fn fn,
			      void *ctx);

/* Calls fn for the entries of the due-time index (all tenants) with
 * from <= due_ms <= upto, earliest first, until it stops; 0 or STORE_EIO.
 * The index holds one entry per conversation whose record names one
 * (due_ms, due_kind): convstore_write keeps it, deleting the old record's
 * entry and putting the new one's. */
int convstore_each_due(store_txn *t, int64_t from, int64_t upto, convstore_due_fn fn, void *ctx);

/* The tenant's last inbox cursor into *cursor (0 if none); 0 or STORE_EIO. */
int convstore_inbox_last(store_txn *t, uint64_t tid, uint64_t *cursor);

/* Calls fn for tenant tid's inbox entries with after < cursor <= upto in
 * order, at most limit (SIZE_MAX: no limit); 0, STORE_ELIMIT (limit given
 * and another lies in range) or STORE_EIO. */
int convstore_each_inbox(store_txn *t, uint64_t tid, uint64_t after, uint64_t upto, size_t limit,
			 convstore_inbox_fn fn, void *ctx);

#endif
