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
 * outbox_enqueue and register an outbox_sender for that kind: the
 * outbound thread runs their transfers in its curl multi with the same
 * back-off, horizon, parking and log.
 */
#ifndef PARLEY_OUTBOX_H
#define PARLEY_OUTBOX_H

#include <curl/curl.h>
#include <stdbool.h>
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

/* A sender of entries of another kind (email), run by the outbound
 * thread with the webhooks' back-off, horizon and log; each entry is a lane
 * of its own. setup: an easy handle for entry en (read in t) in *h, its
 * state in *job; -1 with a reason in why counts as a failed attempt.
 * outcome: true when the finished transfer delivered it, else a reason in
 * what. done: frees the job and its handle. */
typedef struct outbox_sender {
	int (*setup)(app *a, store_txn *t, const rec_outbox *en, long connect_ms, long total_ms, void **job, CURL **h,
		     char *why, size_t cap);
	bool (*outcome)(void *job, CURLcode rc, char *what, size_t cap);
	void (*done)(void *job);
} outbox_sender;

/* Start-up (any feature's start, before the server listens): s sends the
 * entries of kind (not OBK_WEBHOOK); 0 or -1. */
int outbox_sender_register(app *a, uint8_t kind, const outbox_sender *s);

/* The signature header's value for a delivery: "v1=" and the lower-case
 * hex HMAC-SHA256, keyed with the endpoint's secret, of the decimal unix
 * time, ".", and the body. out holds OUTBOX_SIG_LEN + 1 bytes. */
#define OUTBOX_SIG_LEN (3 + 64)
void outbox_sign(const char *secret, int64_t ts, const void *body, size_t len, char *out);

/* Appends the outbox's /metrics lines (Prometheus text) to b. */
void outbox_metrics(app *a, buf *b);

#endif
