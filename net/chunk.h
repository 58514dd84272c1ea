/* chunk — the framing of a response body sent with Transfer-Encoding:
 * chunked (RFC 9112 7.1): each piece as its size in hex, CRLF, the bytes,
 * CRLF; the end as a zero-size chunk with no trailers. Pure functions, no
 * I/O (net/http.c writes what they build; the request side's decoder is
 * hp_chunked_decode in net/http_parser.h). */
#ifndef PARLEY_CHUNK_H
#define PARLEY_CHUNK_H

#include <stddef.h>

/* The longest chunk head: 16 hex digits and CRLF, and a NUL. */
#define CHUNK_HEAD_MAX 19

/* Writes the head of a chunk of n bytes (n > 0: a zero-size chunk is the
 * end, CHUNK_LAST) into out; returns its length. */
size_t chunk_head(char out[CHUNK_HEAD_MAX], size_t n);

/* What follows each chunk's bytes, and the end of the body. */
#define CHUNK_TAIL "\r\n"
#define CHUNK_TAIL_LEN 2
#define CHUNK_LAST "0\r\n\r\n"
#define CHUNK_LAST_LEN 5

#endif
