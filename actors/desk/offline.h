/* offline — the offline email of a department (see dept.c). */
#ifndef PARLEY_DESK_OFFLINE_H
#define PARLEY_DESK_OFFLINE_H

#include <stddef.h>
#include <stdint.h>
#include "actors/kit/app.h"

/* Writes, through the writer, one email listing conversations cids[0..n)
 * of department did to its notification address (actors/email/queue.h);
 * cids is copied. Fire and forget: a failure is logged. */
void desk_offline_email(app *a, uint64_t tid, uint64_t did, const uint64_t *cids, size_t n);

#endif
