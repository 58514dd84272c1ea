/* departments/view — what other features use of the departments feature.
 *
 * A conversation's dept_id is 0 when it was written before departments
 * existed (and for a conversation started without a choice before the
 * department was decided): it means the tenant's default department.
 * Views and routes that show a conversation's department show
 * dept_shown_id(), never 0, and never rewrite the record to do so.
 */
#ifndef PARLEY_DEPARTMENTS_VIEW_H
#define PARLEY_DEPARTMENTS_VIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

/* The API object of a department (docs/openapi.yaml Department), with its
 * members' ids read in t; NULL when out of memory. */
json_t *dept_view(store_txn *t, const rec_dept *d);

/* The id a conversation of tenant tid with dept_id shows: dept_id, or the
 * tenant's default department's for 0 (0 only if the tenant has none). */
uint64_t dept_shown_id(store_txn *t, uint64_t tid, uint64_t dept_id);

/* True for a slug of 1 to 48 of a-z, 0-9 and '-', not at either end. */
bool dept_slug_ok(const char *s);

#endif
