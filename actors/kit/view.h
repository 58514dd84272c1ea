/* view — JSON renderings shared by every feature: ids, times, users,
 * visitors (docs/openapi.yaml). Feature records have their views in their
 * folders. */
#ifndef PARLEY_KIT_VIEW_H
#define PARLEY_KIT_VIEW_H

#include <jansson.h>
#include "storage/records.h"

/* A user (never the password hash). */
json_t *view_user(const rec_user *u);

/* A visitor. */
json_t *view_visitor(const rec_visitor *v);

/* Decimal id string as a JSON string; JSON null for 0. */
json_t *view_id(uint64_t id);

/* ISO-8601 time string. */
json_t *view_time(int64_t ms);

#endif
