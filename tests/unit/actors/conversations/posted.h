/* posted — the frames an actor posts to connections, for the unit tests
 * that compile an actor in (conv_test, inbox_test).
 *
 * The test renames ws_post to fake_ws_post before it includes the actor's
 * .c (and kit/reply.c), then includes this after cmocka.h: every frame
 * posted is parsed and kept with its connection's slot, and the test takes
 * them per slot, in the order they were posted. */
#ifndef PARLEY_TEST_POSTED_H
#define PARLEY_TEST_POSTED_H

#include <jansson.h>
#include <string.h>
#include "net/ws.h"

enum { POSTED_MAX = 8192, POSTED_SLOTS = 64 };

typedef struct {
	uint32_t slot;
	json_t *v;
} posted_frame;

static posted_frame outs[POSTED_MAX];
static int nouts;
static int seen[POSTED_SLOTS];   /* per slot: frames already taken by the test */

void fake_ws_post(http_server *s, conn_ref ref, rbuf *b)
{
	assert_true(nouts < POSTED_MAX);
	assert_true(ref.slot < POSTED_SLOTS);
	json_error_t err;
	json_t *v = json_loadb(b->data, b->len, 0, &err);
	assert_non_null(v);   /* every frame is JSON */
	outs[nouts].slot = ref.slot;
	outs[nouts].v = v;
	nouts++;
}

/* Frames slot got that the test has not taken yet. */
static inline int frames_left(uint32_t slot)
{
	int n = 0, k = 0;
	for (int i = 0; i < nouts; i++)
		if (outs[i].slot == slot && k++ >= seen[slot])
			n++;
	return n;
}

/* The next frame slot got (fails the test if none). */
static inline json_t *take(uint32_t slot)
{
	int k = 0;
	for (int i = 0; i < nouts; i++)
		if (outs[i].slot == slot && k++ == seen[slot]) {
			seen[slot]++;
			return outs[i].v;
		}
	fail_msg("no frame left for slot %u", slot);
	return NULL;
}

/* Drops every frame kept. */
static inline void forget_frames(void)
{
	for (int i = 0; i < nouts; i++)
		json_decref(outs[i].v);
	nouts = 0;
	memset(seen, 0, sizeof seen);
}

static inline const char *str(json_t *v, const char *k)
{
	return json_string_value(json_object_get(v, k));
}

static inline json_int_t num(json_t *v, const char *k)
{
	json_t *n = json_object_get(v, k);
	assert_true(json_is_integer(n));
	return json_integer_value(n);
}

#endif
