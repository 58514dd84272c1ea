/* sniff — what a file is, decided from its bytes alone.
 *
 * Never from its name or the type its sender declared: an upload is fed
 * through a sniff_state as it is written (the first bytes are kept, the
 * whole is checked as UTF-8 text on the way), then sniff_finish decides.
 * Accepted: JPEG, PNG, GIF, WEBP (magic numbers); PDF ("%PDF-"); DOC (an
 * OLE2 compound file whose first directory sector names a WordDocument
 * stream); DOCX (a zip whose central directory lists [Content_Types].xml
 * and a word/ part: read from the end of the file through a callback, never
 * inflated); TXT (non-empty, valid UTF-8, no NUL, not starting with '<'
 * after an optional BOM and white space, so HTML, SVG and XML are not
 * text). Everything else is refused with a reason a person can read.
 *
 * Zip bombs are refused from the central directory alone: more than
 * SNIFF_ZIP_MAX_ENTRIES entries, an entry claiming more than
 * SNIFF_ZIP_MAX_RATIO times its compressed size (past 1 MiB), more than
 * SNIFF_ZIP_MAX_TOTAL bytes uncompressed in all, entries whose data
 * overlap (one compressed stream shared by many entries), or ZIP64 fields.
 */
#ifndef PARLEY_SNIFF_H
#define PARLEY_SNIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum file_type {
	FT_UNKNOWN = 0,
	FT_JPEG, FT_PNG, FT_GIF, FT_WEBP, FT_PDF, FT_DOC, FT_DOCX, FT_TXT,
	FT__COUNT
};

#define SNIFF_HEAD 64
#define SNIFF_ZIP_MAX_ENTRIES 5000
#define SNIFF_ZIP_MAX_RATIO 100
#define SNIFF_ZIP_MAX_TOTAL (100ull << 20)

/* Why a file was refused. */
enum sniff_refusal {
	SNIFF_OK = 0,
	SNIFF_EMPTY,          /* zero bytes */
	SNIFF_MARKUP,         /* HTML, SVG, XML */
	SNIFF_ZIP_BOMB,       /* a zip whose directory promises far more than it holds */
	SNIFF_UNKNOWN,        /* none of the accepted types */
	SNIFF_EIO,            /* the file could not be read back */
};

typedef struct {
	uint8_t head[SNIFF_HEAD];
	size_t head_len;
	uint64_t size;
	bool text;            /* valid UTF-8 without NUL so far */
	uint8_t need;         /* continuation bytes still expected */
	uint8_t lo, hi;       /* bounds of the next continuation byte */
} sniff_state;

/* Reads n bytes at off into dst; 0 or -1. */
typedef int (*sniff_read_fn)(void *ctx, uint64_t off, void *dst, size_t n);

void sniff_init(sniff_state *s);

/* The next bytes of the file, in order. */
void sniff_feed(sniff_state *s, const void *p, size_t n);

/* Decides once all bytes were fed: the type, or FT_UNKNOWN with *why set
 * (never SNIFF_OK then). read reaches the whole file (zip and OLE2 need
 * more than the head). */
int sniff_finish(const sniff_state *s, sniff_read_fn read, void *ctx, int *why);

/* The media type served for a type ("image/png", …) and its short name
 * ("png", …); NULL for FT_UNKNOWN. */
const char *sniff_mime(int type);
const char *sniff_name(int type);

/* The type of a short name or a media type, FT_UNKNOWN if none. */
int sniff_parse(const char *s);

/* True for the image types (shown inline). */
bool sniff_is_image(int type);

/* A message for a refusal ("the file is empty", …). */
const char *sniff_why(int why);

#endif
