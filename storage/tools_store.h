/* tools_store — the agents' tools of a tenant: canned responses, the tag
 * list, custom attribute definitions and values, unread mentions.
 *
 * Owns the tables (keys in docs/storage.md):
 *   canned        tid · id → canned response
 *   canned_code   tid · owner · shortcode → id      (unique per owner)
 *   tags          tid · id → tag
 *   tag_name      tid · folded name → id            (unique per tenant)
 *   tag_convs     tid · tag · cid → ""              (conversations by tag)
 *   attr_defs     tid · id → attribute definition
 *   attrs         tid · owner kind · id → values    (one record per
 *                                                    conversation or visitor)
 *   mentions      tid · uid · cid · seq → by · at_ms (unread mentions)
 *
 * Calls run inside a store_txn (storage/account_store.h). The creates take
 * the tenant's limit (max; 0 = none) and answer STORE_ELIMIT when the
 * tenant holds max records already. Fields are checked here as the tables
 * need them (lengths, shortcode and key alphabets, colour format); what a
 * value of an attribute must look like is the caller's check
 * (actors/attributes/attrs.h): values are stored as the JSON bytes given.
 *
 * Tag names are unique per tenant compared case-folded: ASCII letters are
 * folded to lower case, other characters compared as they are.
 */
#ifndef PARLEY_TOOLS_STORE_H
#define PARLEY_TOOLS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

/* ------------------------------------------------------------ canned */

/* True for a shortcode of 1..REC_SHORTCODE_MAX bytes of [a-z0-9_-]. */
bool canned_code_ok(const char *s);

/* Stores a new canned response and its shortcode; 0, STORE_ECONFLICT (no
 * tid or id, a bad shortcode, an empty title or body), STORE_EEXISTS (the
 * owner has this shortcode already), STORE_ELIMIT, STORE_EIO. */
int canned_create(store_txn *t, const rec_canned *c, uint32_t max);

/* 0, STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int canned_get(store_txn *t, uint64_t tid, uint64_t id, rec_canned *out);

/* Replaces a stored canned response (same tid, id and owner) and moves its
 * shortcode entry when the shortcode changed; 0, STORE_ENOTFOUND,
 * STORE_ECONFLICT, STORE_EEXISTS, STORE_EIO. */
int canned_update(store_txn *t, const rec_canned *c);

/* 0, STORE_ENOTFOUND, STORE_EIO. */
int canned_delete(store_txn *t, uint64_t tid, uint64_t id);

/* The id of owner's canned response with this shortcode; 0, STORE_ENOTFOUND, STORE_EIO. */
int canned_by_code(store_txn *t, uint64_t tid, uint64_t owner, const char *code, uint64_t *id);

typedef bool (*canned_fn)(void *ctx, const rec_canned *c);   /* false stops */

/* Every canned response of the tenant (all owners), in id order; records
 * that do not decode are skipped. 0 or STORE_EIO. */
int canned_each(store_txn *t, uint64_t tid, canned_fn fn, void *ctx);

/* ------------------------------------------------------------ tags */

/* True for "#rrggbb" (hex digits, either case). */
bool tag_color_ok(const char *s);

/* Stores a new tag and its name entry; 0, STORE_ECONFLICT (no tid or id,
 * an empty name, a bad colour), STORE_EEXISTS (the name, folded, is
 * taken), STORE_ELIMIT, STORE_EIO. */
int tag_create(store_txn *t, const rec_tag *g, uint32_t max);

int tag_get(store_txn *t, uint64_t tid, uint64_t id, rec_tag *out);

/* Replaces a stored tag (rename: the name entry moves); 0,
 * STORE_ENOTFOUND, STORE_ECONFLICT, STORE_EEXISTS, STORE_EIO. */
int tag_update(store_txn *t, const rec_tag *g);

/* Deletes a tag, its name entry and its conversation index entries
 * (*convs: how many; may be NULL). Conversations keep the id in their
 * tags field until their next tag change, which drops ids of deleted tags
 * (the views leave them out). 0, STORE_ENOTFOUND, STORE_ENOMEM, STORE_EIO. */
int tag_delete(store_txn *t, uint64_t tid, uint64_t id, size_t *convs);

typedef bool (*tag_fn)(void *ctx, const rec_tag *g);

/* The tenant's tags in id (creation) order; 0 or STORE_EIO. */
int tag_each(store_txn *t, uint64_t tid, tag_fn fn, void *ctx);

/* The conversation index: cid carries tag (add) or not (del). 0 or STORE_EIO. */
int tag_conv_add(store_txn *t, uint64_t tid, uint64_t tag, uint64_t cid);
int tag_conv_del(store_txn *t, uint64_t tid, uint64_t tag, uint64_t cid);

/* Conversations carrying tag, in cid order; fn returns false to stop. 0 or STORE_EIO. */
int tag_conv_each(store_txn *t, uint64_t tid, uint64_t tag, bool (*fn)(void *ctx, uint64_t cid), void *ctx);

/* ------------------------------------------------------------ attribute definitions */

/* True for a key of 1..REC_ATTRKEY_MAX bytes of [a-z0-9_]. */
bool attrdef_key_ok(const char *s);

/* Stores a definition; 0, STORE_ECONFLICT (no tid or id, a bad key,
 * owner or type, an empty label), STORE_EEXISTS (the key is defined for
 * this owner kind), STORE_ELIMIT, STORE_EIO. */
int attrdef_create(store_txn *t, const rec_attrdef *d, uint32_t max);

int attrdef_get(store_txn *t, uint64_t tid, uint64_t id, rec_attrdef *out);

/* The definition of key for owner kind; 0, STORE_ENOTFOUND, STORE_EIO. */
int attrdef_find(store_txn *t, uint64_t tid, int owner, const char *key, rec_attrdef *out);

/* Replaces a stored definition (key and owner unchanged); 0,
 * STORE_ENOTFOUND, STORE_ECONFLICT, STORE_EIO. What happens to stored
 * values of a changed type is the caller's (actors/attributes). */
int attrdef_update(store_txn *t, const rec_attrdef *d);

/* 0, STORE_ENOTFOUND, STORE_EIO. Stored values keep the key; the views
 * and the next write of each record drop keys without a definition. */
int attrdef_delete(store_txn *t, uint64_t tid, uint64_t id);

typedef bool (*attrdef_fn)(void *ctx, const rec_attrdef *d);

/* The tenant's definitions in id order (owner < 0: every owner kind). */
int attrdef_each(store_txn *t, uint64_t tid, int owner, attrdef_fn fn, void *ctx);

/* ------------------------------------------------------------ attribute values */

/* The values of one conversation or visitor (json points into the
 * transaction's view); 0, STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int attrs_get(store_txn *t, uint64_t tid, int owner, uint64_t id, rec_attrs *out);

/* Stores the values (json of 0 bytes or "{}": the record is deleted);
 * 0, STORE_ECONFLICT (no tid or id, a bad owner), STORE_EIO. */
int attrs_put(store_txn *t, const rec_attrs *a);

typedef bool (*attrs_fn)(void *ctx, const rec_attrs *a);

/* Every value record of an owner kind of the tenant; 0 or STORE_EIO. */
int attrs_each(store_txn *t, uint64_t tid, int owner, attrs_fn fn, void *ctx);

/* ------------------------------------------------------------ mentions */

/* An unread mention of uid in conversation cid at event seq by user by. 0 or STORE_EIO. */
int mention_add(store_txn *t, uint64_t tid, uint64_t uid, uint64_t cid, uint64_t seq, uint64_t by, int64_t at_ms);

/* Clears uid's unread mentions in cid (*n: how many; may be NULL); 0,
 * STORE_ENOMEM or STORE_EIO. */
int mention_clear(store_txn *t, uint64_t tid, uint64_t uid, uint64_t cid, size_t *n);

typedef bool (*mention_fn)(void *ctx, uint64_t cid, uint64_t seq, uint64_t by, int64_t at_ms);

/* uid's unread mentions in (cid, seq) order; 0 or STORE_EIO. */
int mention_each(store_txn *t, uint64_t tid, uint64_t uid, mention_fn fn, void *ctx);

#endif
