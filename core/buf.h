/* buf — growable byte buffer for building responses and frames. */
#ifndef PARLEY_BUF_H
#define PARLEY_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
	char *data;      /* NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
} buf;

/* Ensures room for n more bytes; 0 or -1. */
int buf_reserve(buf *b, size_t n);

/* Appends bytes; 0 or -1. */
int buf_append(buf *b, const void *data, size_t len);

/* Appends a string; 0 or -1. */
int buf_puts(buf *b, const char *s);

/* Appends formatted text; 0 or -1. */
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Drops the first n bytes. */
void buf_consume(buf *b, size_t n);

/* Frees the storage and resets to empty. */
void buf_free(buf *b);

#endif
