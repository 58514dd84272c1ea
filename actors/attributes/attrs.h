/* attrs — custom attribute values: their validation against the tenant's
 * definitions (storage/tools_store.h), shared by every writer of values
 * (the attribute routes, the conversation actor, the visitor profile).
 *
 * A write is a JSON object {key: value}: a value of the definition's type
 * sets the key, null removes it. Types: text (a string of at most
 * ATTR_TEXT_MAX bytes, stored as sent: HTML is text), number (a finite
 * JSON number), boolean (true or false), date (a string "YYYY-MM-DD" that
 * names a real day, ISO 8601 calendar date). Stored values are a JSON
 * object with keys sorted; keys whose definition was deleted are dropped
 * on the next write and left out of views.
 */
#ifndef PARLEY_ATTRS_H
#define PARLEY_ATTRS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

#define ATTR_TEXT_MAX 1000

/* True when v is a valid value of attribute type (enum attr_type). */
bool attrs_value_fits(int type, const json_t *v);

/* What a write came to. */
typedef struct {
	int error;                           /* 0, ATTRS_UNKNOWN, ATTRS_INVALID */
	char key[REC_ATTRKEY_MAX + 1];       /* the key refused */
	char *json;                          /* the values after (malloc'ed; attrs_result_free) */
	size_t json_n;
	bool changed;                        /* false: the write changed nothing */
} attrs_result;

enum { ATTRS_UNKNOWN = 1, ATTRS_INVALID };

/* Checks patch (a JSON object) against the definitions of owner kind
 * (enum attr_owner) of tenant tid — every key defined, every value of its
 * type or null — and, when it passes, merges it into the stored values of
 * record id and stores them (updated_ms now). A refusal writes nothing and
 * sets res->error and res->key (400 unknown_attribute, 400
 * invalid_attribute_value). Returns 0 (res filled, refusal or not) or a
 * STORE_* code. Call inside a write transaction (a writer apply). */
int attrs_validate(store_txn *t, uint64_t tid, int owner, uint64_t id, json_t *patch, int64_t now,
		   attrs_result *res);

/* The check of attrs_validate alone, in any transaction (a read snapshot
 * before a write is queued): res->error and res->key as there, nothing
 * merged or written. 0 or a STORE_* code. */
int attrs_check(store_txn *t, uint64_t tid, int owner, json_t *patch, attrs_result *res);

void attrs_result_free(attrs_result *res);

/* The stored values of record id as a JSON object holding only keys that
 * have a definition (new reference; an empty object when none). NULL when
 * out of memory or on a store failure. */
json_t *attrs_view(store_txn *t, uint64_t tid, int owner, uint64_t id);

/* The error code and a message of a refusal (res->error). */
const char *attrs_error_code(int error);

#endif
