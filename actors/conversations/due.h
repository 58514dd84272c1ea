/* due — the due timer: brings each entry of the due-time index (`due`,
 * storage/conv_store.h) to its conversation actor as CM_DUE when its time
 * comes (a snooze ends, an auto-close is due).
 *
 * One thread sleeps until the earliest entry (no periodic sweep): it scans
 * the index from where it last stopped up to now, sends CM_DUE for each
 * entry, then waits until the next one. The conversation actor, which
 * writes the index inside its own transactions, calls due_note after a
 * commit that wrote an entry; an entry earlier than the one the thread
 * waits for wakes it. At start the scan begins at 0: entries that came due
 * while the server was down are applied at once. An entry sent twice is
 * harmless: the actor acts only on the entry its record still names, once
 * its time has come (conv.c, on_due).
 *
 * The clock is clock_now_ms (core/clock.h); when a test moves it,
 * due_wake makes the thread look again.
 */
#ifndef PARLEY_DUE_H
#define PARLEY_DUE_H

#include <stdint.h>

struct app;

/* Starts the timer's thread (the conversations feature's start); 0 or -1. */
int due_start(struct app *a);

/* Stops and frees it (the feature's stop). */
void due_stop(struct app *a);

/* An entry due at due_ms was written: wakes the thread if it waits for a
 * later one. Any thread; a no-op without a timer. */
void due_note(struct app *a, int64_t due_ms);

/* The clock moved: look again. Any thread; a no-op without a timer. */
void due_wake(struct app *a);

#endif
