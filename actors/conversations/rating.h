/* rating — when a visitor may rate their conversation: resolved or
 * closed, not rated before (even across a reopen), within the tenant's
 * window from the resolve or close. The ratings route asks first for a
 * clear answer; the conversation actor asks again against its current
 * state before it writes (CM_RATE). */
#ifndef PARLEY_CONV_RATING_H
#define PARLEY_CONV_RATING_H

#include <jansson.h>
#include <stdint.h>
#include "storage/records.h"

/* The time the window counts from: the close, else the resolve. */
int64_t rating_ended_ms(const rec_conv *c);

/* 0 when c may be rated at now_ms; else 409 with *code and *msg:
 * already_rated, not_resolved or rating_window_over. */
int ratings_refusal(const rec_conv *c, int64_t window_ms, int64_t now_ms, const char **code, const char **msg);

/* The rating of conversation c as the API shows it (view_rating), read
 * from the store; JSON null when c is not rated or the read fails. */
struct app;
json_t *rating_load_view(struct app *a, const rec_conv *c);

#endif
