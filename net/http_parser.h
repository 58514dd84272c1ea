/* http_parser — resumable HTTP/1.1 request parser (no I/O, no allocation).
 *
 * The caller owns the bytes and the header array. hp_parse_head() is fed the
 * whole buffered prefix of a connection each time more bytes arrive; it
 * returns HP_AGAIN until the head (request line + headers + CRLF CRLF) is
 * complete, then the number of bytes the head used. All string views in the
 * result point into the caller's buffer and live as long as it does.
 * Bodies are framed by hp_chunked_t (chunked) or by content_length.
 *
 * Strict by design: anything a proxy could read differently (request
 * smuggling) is an error — both Content-Length and Transfer-Encoding, two
 * different Content-Lengths, a Transfer-Encoding other than exactly
 * "chunked", bare LF line ends, obs-fold, spaces before the colon, control
 * characters in header values, bad chunk sizes.
 */
#ifndef PARLEY_HTTP_PARSER_H
#define PARLEY_HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Return codes (negative) of the parser. */
enum {
	HP_AGAIN           = -1,  /* need more bytes */
	HP_EBAD            = -2,  /* malformed: answer 400 and close */
	HP_EHEAD_TOO_LARGE = -3,  /* head longer than max_head: 431 */
	HP_ETOO_MANY       = -4,  /* more headers than the caller's array: 431 */
	HP_EURI_TOO_LONG   = -5,  /* request target longer than max_uri: 414 */
	HP_ESMUGGLE        = -6,  /* ambiguous framing (CL+TE, 2×CL, bad TE): 400 and close */
	HP_EVERSION        = -7,  /* not HTTP/1.0 or HTTP/1.1: 505 */
	HP_EMETHOD         = -8,  /* method token invalid: 400 */
};

typedef struct {
	const char *p;   /* not NUL-terminated */
	size_t len;
} hp_str;

typedef struct {
	hp_str name;
	hp_str value;    /* leading/trailing OWS trimmed */
} hp_header;

typedef struct {
	/* limits (inputs) */
	size_t max_head;        /* bytes in request line + headers incl. final CRLF */
	size_t max_uri;         /* bytes in the request target */
	/* results (valid when hp_parse_head returned > 0) */
	hp_str method;
	hp_str target;          /* raw request target, e.g. "/v1/x?a=b" */
	hp_str path;            /* target up to '?' */
	hp_str query;           /* after '?', empty if none */
	int minor_version;      /* 0 or 1 */
	hp_header *headers;     /* caller-supplied array */
	size_t num_headers;     /* in: capacity of headers; out: count */
	int64_t content_length; /* -1 when absent */
	bool chunked;           /* Transfer-Encoding: chunked */
	bool keep_alive;        /* from version and Connection header */
	bool upgrade_websocket; /* Upgrade: websocket and Connection contains upgrade */
	hp_str host;            /* Host header value (empty if none) */
} hp_request;

/* Parses a request head from buf[0..len). Returns bytes consumed (> 0),
 * HP_AGAIN, or a negative error. Does not write to buf. Leading empty lines
 * (CRLF) before the request line are skipped, as RFC 9112 allows. */
int hp_parse_head(hp_request *req, const char *buf, size_t len);

/* Finds a header by case-insensitive name; NULL if absent. */
const hp_header *hp_find(const hp_request *req, const char *name);

/* True when the comma-separated header value contains token (case-insensitive). */
bool hp_has_token(hp_str value, const char *token);

/* Decoder for chunked request bodies: state machine over input slices. */
typedef struct {
	int state;              /* private */
	uint64_t remaining;     /* private: bytes left in current chunk */
	uint64_t total;         /* body bytes decoded so far */
	uint64_t max_body;      /* input: limit on decoded bytes */
	size_t line_len;        /* private: bytes in current size/trailer line */
} hp_chunked;

enum {
	HPC_DONE      = 1,      /* body complete (after last-chunk and trailers) */
	HPC_AGAIN     = 0,      /* consumed everything given, need more */
	HPC_EBAD      = -2,     /* malformed chunk framing: 400 and close */
	HPC_ETOO_LARGE= -9,     /* decoded body exceeds max_body: 413 */
};

/* Initialises the decoder with a body limit. */
void hp_chunked_init(hp_chunked *c, uint64_t max_body);

/* Decodes in place: reads buf[0..*len), moves decoded body bytes to the
 * front of buf and sets *len to their count; *consumed gets the input bytes
 * used (input after the end of the body is left unconsumed for the next
 * pipelined request). Returns HPC_DONE, HPC_AGAIN or an error. */
int hp_chunked_decode(hp_chunked *c, char *buf, size_t *len, size_t *consumed);

/* Human-readable name of a return code. */
const char *hp_strerror(int rc);

#endif
