/* rbuf — immutable, reference-counted byte buffers for encode-once fan-out.
 *
 * An event is encoded once per audience into an rbuf; every recipient
 * connection holds a reference until its bytes are written. */
#ifndef PARLEY_RBUF_H
#define PARLEY_RBUF_H

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct rbuf {
	atomic_int refs;
	size_t len;
	char data[];
} rbuf;

/* New buffer holding a copy of data (refs = 1); NULL on OOM. */
static inline rbuf *rbuf_new(const void *data, size_t len)
{
	rbuf *b = malloc(sizeof *b + len + 1);
	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	b->len = len;
	if (len)
		memcpy(b->data, data, len);
	b->data[len] = 0;
	return b;
}

/* Takes a reference. */
static inline rbuf *rbuf_ref(rbuf *b)
{
	atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
	return b;
}

/* Drops a reference and nulls the pointer; frees at zero. */
static inline void rbuf_unref(rbuf **b_p)
{
	rbuf *b = *b_p;
	if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
		free(b);
	*b_p = NULL;
}

#endif
