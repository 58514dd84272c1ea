/* emit — domain events handed to sinks inside the write transaction that
 * makes them true.
 *
 * A feature that changes state (a conversation created, a message stored,
 * a user updated) calls emit_in_txn from its wr_req apply, on the writer
 * thread, inside the transaction; each registered sink (the outbox's
 * webhooks and emails) decides from in-memory state whether the tenant
 * wants the event and, if so, adds its rows in the same transaction — so
 * an event and the work it causes for the outside world commit together
 * or not at all. Sinks are registered at start-up (before the server
 * listens) and never removed; with no sink, or a tenant with no interest,
 * an emit costs a function call and a lookup.
 */
#ifndef PARLEY_EMIT_H
#define PARLEY_EMIT_H

#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

struct app;

/* Event types (the webhook event names of docs/openapi.yaml). */
enum ev_type {
	EV_CONVERSATION_CREATED = 0,
	EV_CONVERSATION_UPDATED,
	EV_CONVERSATION_ASSIGNED,
	EV_CONVERSATION_RESOLVED,
	EV_MESSAGE_CREATED,
	EV_VISITOR_CREATED,
	EV_USER_UPDATED,
	EV_CONVERSATION_TRANSFERRED,   /* to an agent and/or a department, with a reason */
	EV_RATING_CREATED,             /* the visitor rated a conversation */
	EV__COUNT
};

/* Internal events: no webhook name, no endpoint subscribes to them (the
 * webhook sink's masks never hold their bit); sinks that know them act.
 * EV_CONV_WRITTEN: a conversation write that is no domain event — a
 * receipt moved its watermarks, the queue set its offline flag, a due
 * entry moved (conv: the record after it; event: NULL). The analytics
 * sink counts what receipts passed and conversations going offline. */
#define EV_CONV_WRITTEN 40

/* "conversation.created", ...; NULL if out of range. */
const char *ev_type_name(int type);

/* -1 if unknown. */
int ev_type_parse(const char *name);

/* What happened; the pointed-to records are valid during the call only. */
typedef struct {
	uint8_t type;              /* enum ev_type */
	uint64_t tid;
	int64_t at_ms;
	const rec_conv *conv;      /* conversation events, message.created: the conversation after the change */
	const rec_event *event;    /* message.created: the message; conversation events: the event that records the change */
	const rec_visitor *visitor;/* visitor.created (and conversation.created when known) */
	const rec_user *user;      /* user.updated */
	const rec_event *first;    /* conversation.created: the first message, when it starts with one */
	const rec_rating *rating;  /* rating.created: the rating (event: its rating event) */
} app_event;

typedef struct emit_sink {
	const char *name;
	/* Writer thread, inside tx: 0, or a store code (the write fails). */
	int (*in_txn)(struct app *a, store_txn *tx, const app_event *ev, void *ctx);
	void *ctx;
} emit_sink;

#define EMIT_MAX_SINKS 8

/* Registers a sink (start-up only); 0 or -1 when full. */
int emit_register(struct app *a, const emit_sink *s);

/* Hands ev to every sink inside tx; 0 or the first sink's error. */
int emit_in_txn(struct app *a, store_txn *tx, const app_event *ev);

#endif
