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
	HP_ESMUGGLE        = -6,  /* ambiguous framing (CL+TE, 2×CL, CL list, bad TE,
	                           * TE in HTTP/1.0): 400 and close */
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
	/* limits (inputs); 0 refuses everything */
	size_t max_head;        /* bytes in request line + headers incl. final CRLF
	                         * (skipped leading CRLFs count too) */
	size_t max_uri;         /* bytes in the request target */
	/* results (valid when hp_parse_head returned > 0) */
	hp_str method;
	hp_str target;          /* raw request target, e.g. "/v1/x?a=b" */
	hp_str path;            /* target up to '?' (absolute-form: the URI's path) */
	hp_str query;           /* after '?', empty if none */
	int minor_version;      /* 0 or 1 */
	hp_header *headers;     /* caller-supplied array */
	size_t num_headers;     /* in: capacity of headers; out: count */
	int64_t content_length; /* -1 when absent; at most 2^62 */
	bool chunked;           /* Transfer-Encoding: chunked */
	bool keep_alive;        /* from version and Connection header */
	bool upgrade_websocket; /* Upgrade: websocket and Connection contains upgrade
	                         * (HTTP/1.1 only: RFC 9110 7.8 ignores Upgrade in 1.0) */
	hp_str host;            /* Host header value, or the absolute-form
	                         * target's authority (empty if none) */
} hp_request;

/* Parses a request head from buf[0..len). Returns bytes consumed (> 0),
 * HP_AGAIN, or a negative error. Does not write to buf. Leading empty lines
 * (CRLF) before the request line are skipped, as RFC 9112 allows.
 *
 * The result fields of req (num_headers included) are written only when the
 * head is complete, so after HP_AGAIN the same req can be passed again with
 * more bytes; only the headers array may have been scribbled on. Empty
 * views (query, host, values) have len 0 and a non-NULL p into buf.
 * Errors are reported at the first byte that decides them (any prefix of
 * an input gives HP_AGAIN or the whole input's answer); HP_EHEAD_TOO_LARGE
 * as soon as len > max_head without a complete head.
 * A Content-Length that is not plain digits (sign, spaces, hex, > 2^62) is
 * HP_EBAD; two Content-Lengths, even equal, or a list are HP_ESMUGGLE.
 * A second Host header is HP_EBAD, and so is one that is not
 * uri-host[:port] (no userinfo, no spaces, port <= 65535).
 *
 * The request-target must be origin-form ("/path?query"), asterisk-form
 * ("*", OPTIONS only) or absolute-form ("http[s]://authority/path?query");
 * anything else (authority-form, "healthz") is HP_EBAD. For absolute-form,
 * path and query are those of the URI (path may be empty: it means "/")
 * and host is its authority, which replaces the Host header (RFC 9112
 * 3.2.2). */
int hp_parse_head(hp_request *req, const char *buf, size_t len);

/* Finds a header by case-insensitive name; NULL if absent. */
const hp_header *hp_find(const hp_request *req, const char *name);

/* True when the comma-separated header value contains token (case-insensitive). */
bool hp_has_token(hp_str value, const char *token);

/* Decoder for chunked request bodies: state machine over input slices,
 * which may be split at any byte. Chunk sizes have at most 15 hex digits;
 * a chunk-size line (with its ignored extensions) is at most 4096 bytes, a
 * trailer line 4096 and the whole trailer section 8192 (trailer fields are
 * syntax-checked, then ignored); bare LF anywhere is HPC_EBAD. A chunk
 * whose declared size would take the body past max_body is refused with
 * HPC_ETOO_LARGE at its size line, before its data is read. */
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
 * pipelined request). Returns HPC_DONE, HPC_AGAIN (all input consumed) or
 * an error. Once HPC_DONE or an error has been returned, later calls
 * return it again with *len = *consumed = 0. */
int hp_chunked_decode(hp_chunked *c, char *buf, size_t *len, size_t *consumed);

/* Human-readable name of a return code (HP_* and HPC_*; "ok" for a byte
 * count > 1; never NULL). */
const char *hp_strerror(int rc);

#endif
