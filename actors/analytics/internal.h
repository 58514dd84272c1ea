/* The analytics folder's parts, shared between its files. */
#ifndef PARLEY_ANALYTICS_INTERNAL_H
#define PARLEY_ANALYTICS_INTERNAL_H

#include <jansson.h>
#include "actors/kit/app.h"
#include "actors/kit/feature.h"
#include "storage/records.h"
#include "storage/store.h"

/* Raises alert a in tx (marked: once per (subject, breach)) and, after the
 * commit, sends it to the tenant's supervisors (staged in
 * ap->alerts_staged); 0 (raised, or already) or a store code. Writer
 * thread. */
int alerts_raise(app *ap, store_txn *tx, rec_alert *a, bool marked, uint64_t subject, int64_t breach);

/* The writer hook; at start. 0 or -1. */
int alerts_start(app *a);

/* The periodic checks (SLA breaches, departments in hours with nobody
 * online): a timer on loop 0 every --alert-check-ms. */
int alerts_start_checks(app *a);
void alerts_stop(app *a);

json_t *alert_view(const rec_alert *a);

/* GET /v1/alerts */
void alerts_list(http_req *req, const principal *p);

#endif
