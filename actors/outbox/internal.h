/* internal — what the outbox feature's files share (not for other folders).
 *
 * Three sides, one struct:
 * - the writer side (sink.c; writer thread only, no locks): the endpoint
 *   snapshot the sink reads, and the notes staged by this transaction's
 *   applies, handed on by the writer's after-batch hook once it commits;
 * - the delivery side (deliver.c; the outbound thread only): lanes of
 *   entries per (tenant, endpoint, conversation), the curl multi handle;
 * - the hand-off between them: a mutex-protected list of notes and an
 *   ev_async, and counters any thread reads for /metrics.
 * The struct lives from the feature's start to its release, after every
 * thread has stopped (kit/feature.h).
 */
#ifndef PARLEY_OUTBOX_INTERNAL_H
#define PARLEY_OUTBOX_INTERNAL_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "actors/outbox/outbox.h"
#include "storage/outbox_store.h"

/* Defaults and limits of the options (actors/app/server.c). */
#define OUTBOX_ENDPOINTS_MAX 20          /* webhook endpoints per tenant */
#define OUTBOX_ALERT_EVERY_MS 60000      /* drop alerts in the log, at most one a minute per tenant */
#define OUTBOX_BACKOFF_BASE_MS 1000
#define OUTBOX_BACKOFF_CAP_MS 3600000    /* no wait between attempts is longer than an hour */

enum note_type {
	NOTE_ENTRY = 1,      /* an entry committed: deliver it */
	NOTE_ENDPOINT,       /* an endpoint was created, changed or deleted */
};

/* A fact handed from the writer thread to the outbound thread after the
 * commit that made it true. */
typedef struct ob_note {
	struct ob_note *next;
	uint8_t type;        /* enum note_type */
	uint8_t kind;        /* NOTE_ENTRY: enum outbox_kind */
	bool deleted;        /* NOTE_ENDPOINT */
	bool active;         /* NOTE_ENDPOINT: (writer side: the snapshot's copy) */
	uint64_t tid, id;    /* the entry, or the endpoint */
	uint64_t target, cid;/* NOTE_ENTRY */
	uint64_t events;     /* NOTE_ENDPOINT (writer side) */
	uint64_t attempts;   /* NOTE_ENTRY */
	int64_t next_ms;     /* NOTE_ENTRY */
} ob_note;

/* One tenant's endpoints as the sink sees them. */
typedef struct snap_ep {
	uint64_t id, events;
	bool active;
} snap_ep;

typedef struct snap_tenant {
	uint64_t tid;
	uint64_t mask;       /* the events any active endpoint wants */
	int n, cap;
	snap_ep *eps;
} snap_tenant;

typedef struct deliverer deliverer;

typedef struct outbox {
	app *app;
	/* options */
	int concurrency;
	long connect_ms, total_ms;
	int64_t horizon_ms;
	uint64_t quota, log_max;
	/* writer side */
	snap_tenant **snap;  /* open addressing by tid; NULL = empty */
	size_t snap_cap, snap_n;
	ob_note *staged, *staged_tail;   /* notes of the transaction being applied */
	bool hooked;         /* the writer hook is registered */
	/* hand-off */
	pthread_mutex_t lock;
	ob_note *inbox, *inbox_tail;     /* guarded by lock */
	bool closed;         /* guarded by lock: the outbound thread is gone, notes are freed */
	deliverer *dl;
	/* counters (any thread) */
	atomic_uint_fast64_t enqueued, dropped, delivered, failed, parked, refused;
	atomic_int_fast64_t pending, inflight;
} outbox;

/* app->outbox */
static inline outbox *outbox_of(app *a)
{
	return a->outbox;
}

/* ---- sink.c (writer thread) ---- */

/* Registers the emit sink and the writer hook, and loads the snapshot
 * (through a writer request, waited for); 0 or -1. */
int sink_start(outbox *ob);

/* Stages a note for the outbound thread, handed on after the commit. */
void sink_stage(outbox *ob, ob_note *n);

/* Stages an endpoint change: the sink's snapshot follows after the commit,
 * and the outbound thread hears of it. w NULL: deleted. 0 or STORE_ENOMEM. */
int sink_stage_endpoint(outbox *ob, uint64_t tid, uint64_t id, const rec_webhook *w);

/* Builds the delivery body of event ev for delivery id into b. */
int sink_payload(const app_event *ev, uint64_t id, buf *b);

/* Frees the writer side (on the writer thread's exit, or a failed start). */
void sink_free(outbox *ob);

/* ---- deliver.c (outbound thread) ---- */

/* Loads the pending webhook entries and starts the thread; 0 or -1. */
int deliver_start(outbox *ob);

/* Hands notes to the thread (any thread; freed when it has stopped). */
void deliver_post(outbox *ob, ob_note *list, ob_note *tail);

/* Stops the thread (transfers in flight are abandoned: their entries stay
 * and are sent again after a restart) and frees its side. */
void deliver_stop(outbox *ob);

/* The next wait after a failed attempt (attempts made so far, >= 1): the
 * exponential back-off from OUTBOX_BACKOFF_BASE_MS, capped, with jitter
 * (between half and all of it); r is a random value. */
int64_t deliver_backoff_ms(uint64_t attempts, uint64_t r);

/* ---- outbox.c ---- */

/* The feature's hooks (kit/feature.h). */
int outbox_feature_start(app *a);
void outbox_feature_stop(app *a);
void outbox_feature_release(app *a);

#endif
