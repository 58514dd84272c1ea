/* outbox — the durable outbox and the webhooks it delivers
 * (docs/webhooks.md; the tables: storage/outbox_store.h).
 *
 * Work for the outside world is an outbox entry written in the same
 * transaction as the event that causes it: the webhook sink (sink.c) is an
 * emit sink (kit/emit.h) that adds one entry per active endpoint of the
 * tenant subscribed to the event, with the JSON body built there. One
 * outbound thread (deliver.c: libcurl multi on its own libev loop) sends
 * them — at least once, in order per (endpoint, conversation), with
 * back-off and jitter up to a horizon, then parked with the last error —
 * and writes every attempt's result through the writer. Nothing of that
 * runs on the chat path: a slow or dead receiver only lengthens its own
 * queue. A tenant's outbox holds at most --outbox-quota entries; past it
 * new entries are dropped (counted, with an alert row in the delivery log),
 * chat goes on.
 *
 * Other senders (email) add entries of their own kind through
 * outbox_enqueue and deliver them themselves; the webhook thread leaves
 * entries of any other kind alone.
 */
#ifndef PARLEY_OUTBOX_H
#define PARLEY_OUTBOX_H

#include <stddef.h>
#include <stdint.h>
#include "actors/kit/app.h"
#include "core/buf.h"
#include "storage/records.h"

/* Writer thread, inside tx (an apply() or an emit sink, after its checks):
 * adds entry e — its id and created_ms are set when 0, next_attempt_ms
 * when 0 — unless the tenant's outbox is full: then nothing is added, the
 * drop is counted and at most one alert a minute is written to the
 * tenant's delivery log. The delivery thread hears of the entry once tx
 * commits. 0 (added), 1 (dropped), or a store error (the transaction is
 * unusable: return STORE_EIO from the apply). */
int outbox_enqueue(app *a, store_txn *tx, rec_outbox *e);

/* The signature header's value for a delivery: "v1=" and the lower-case
 * hex HMAC-SHA256, keyed with the endpoint's secret, of the decimal unix
 * time, ".", and the body. out holds OUTBOX_SIG_LEN + 1 bytes. */
#define OUTBOX_SIG_LEN (3 + 64)
void outbox_sign(const char *secret, int64_t ts, const void *body, size_t len, char *out);

/* Appends the outbox's /metrics lines (Prometheus text) to b. */
void outbox_metrics(app *a, buf *b);

#endif
