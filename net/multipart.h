/* multipart — a resumable push parser for multipart/form-data bodies
 * (RFC 7578, RFC 2046 §5.1), no I/O, no allocation.
 *
 * The body is fed in slices split at any byte (one byte at a time works
 * the same as all at once); the parser calls back with each part's
 * headers, its data in pieces and its end. Nothing of a part's data is
 * kept: a data byte is handed on as soon as it cannot belong to a
 * delimiter, so a part of any size passes through a fixed-size state
 * (the delimiter, at most 74 bytes, is matched with its KMP table; bytes
 * held back while they might start one are handed on from the delimiter
 * itself when they turn out not to).
 *
 * Limits (each an error, reported at the byte that exceeds it): parts,
 * bytes of one part's header block, bytes in all (preamble and epilogue
 * included), a Content-Disposition parameter value (name, filename).
 *
 * Strict: header lines end in CRLF (a bare LF or CR is an error), no
 * obs-fold, no control characters but HT in a header line, a header line
 * needs a colon, Content-Disposition must be form-data. Other header
 * fields are ignored, as is the transport padding (spaces, tabs) after a
 * delimiter, the preamble and the epilogue. After the close delimiter
 * ("--boundary--") the body is complete; mp_finish tells whether it got
 * there (a body that ends before is truncated).
 */
#ifndef PARLEY_MULTIPART_H
#define PARLEY_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_BOUNDARY_MAX 70     /* RFC 2046 */
#define MP_PARAM_MAX    255    /* name and filename values, bytes */
#define MP_CTYPE_MAX    127    /* a part's Content-Type value, bytes */
#define MP_HEADER_MAX   4096   /* the largest header block a parser accepts */

enum {
	MP_OK = 0,                 /* all input consumed, the body goes on */
	MP_DONE = 1,               /* the close delimiter was seen */
	MP_EBAD = -1,              /* malformed (framing, header syntax) */
	MP_EPARTS = -2,            /* more parts than max_parts */
	MP_EHEADER = -3,           /* a part's header block longer than max_header */
	MP_ETOTAL = -4,            /* more bytes than max_total */
	MP_EPARAM = -5,            /* a name or filename longer than MP_PARAM_MAX */
	MP_ESTOP = -6,             /* a callback returned non-zero */
	MP_ETRUNCATED = -7,        /* (mp_finish) the body ended before the close delimiter */
};

/* One part's headers, as its on_part callback sees them. Strings are
 * NUL-terminated; a value containing NUL is refused (control character). */
typedef struct {
	char name[MP_PARAM_MAX + 1];       /* Content-Disposition name ("" if none) */
	char filename[MP_PARAM_MAX + 1];   /* filename parameter, raw ("" if none) */
	bool has_filename;                 /* a filename parameter was given (a file part) */
	bool has_disposition;
	char ctype[MP_CTYPE_MAX + 1];      /* Content-Type value ("" if none) */
} mp_part;

typedef struct {
	/* return 0 to go on; anything else stops the parser (MP_ESTOP) */
	int (*on_part)(void *ctx, const mp_part *part);
	int (*on_data)(void *ctx, const char *p, size_t n);
	int (*on_part_end)(void *ctx);
} mp_callbacks;

typedef struct {
	size_t max_parts;          /* [16] */
	size_t max_header;         /* bytes of one header block, <= MP_HEADER_MAX [2048] */
	uint64_t max_total;        /* [UINT64_MAX] */
} mp_limits;

typedef struct {
	/* configuration */
	char delim[4 + MP_BOUNDARY_MAX];   /* "\r\n--" boundary */
	uint8_t fail[4 + MP_BOUNDARY_MAX]; /* KMP failure table of delim */
	size_t dlen;
	mp_limits lim;
	mp_callbacks cb;
	void *ctx;
	/* state (private) */
	int state;
	int rc;                    /* sticky result once done or failed */
	size_t match;              /* delimiter bytes matched (held back) */
	size_t nparts;
	uint64_t total;
	size_t hdr_bytes;          /* bytes of the current header block */
	size_t line_len;
	bool line_cr;              /* the line so far ends in CR */
	size_t padding;            /* transport padding bytes after a delimiter */
	mp_part part;
	char line[MP_HEADER_MAX];
} mp_parser;

/* Extracts the boundary parameter of a Content-Type value (which must be
 * multipart/form-data) into out (NUL-terminated). 0, or -1 when the type
 * is another, or the boundary is missing, empty, longer than 70, or has a
 * character RFC 2046 does not allow. */
int mp_boundary(const char *ctype, size_t len, char out[MP_BOUNDARY_MAX + 1]);

/* Sets the parser up for boundary (1..70 bytes); lim NULL takes the
 * defaults. 0 or -1 (bad boundary). */
int mp_init(mp_parser *p, const char *boundary, const mp_limits *lim, const mp_callbacks *cb,
	    void *ctx);

/* Feeds data[0..len): MP_OK, MP_DONE or an error. After MP_DONE more
 * bytes are epilogue (ignored, counted against max_total); after an error
 * every call returns it again. */
int mp_feed(mp_parser *p, const char *data, size_t len);

/* At the end of the body: MP_DONE when the close delimiter was seen, the
 * sticky error if one was returned, else MP_ETRUNCATED. */
int mp_finish(const mp_parser *p);

/* A short name for a result code (never NULL). */
const char *mp_strerror(int rc);

#endif
