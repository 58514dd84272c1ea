/* http_parser — strict HTTP/1.1 request heads and chunked bodies.
 *
 * Design, in the spirit of picohttpparser and nginx: one forward pass over
 * the caller's bytes, no allocation, no copying of the head, no I/O.
 *
 * The head parser keeps no state between calls: it re-scans the buffered
 * prefix each time (bounded by max_head, so the cost is small) and writes
 * the hp_request fields only when it succeeds, so a caller just calls again
 * with more bytes. Every check happens at the first byte that decides it,
 * so any prefix of an input gives either HP_AGAIN or the same answer as the
 * whole input; a byte-at-a-time client sees exactly what a one-shot one does.
 * Framing rules (Content-Length, Transfer-Encoding, Host) are applied as
 * each header line completes.
 *
 * The chunked decoder is a byte-level state machine (bulk copy for chunk
 * data) that survives a split at any byte and compacts the decoded body to
 * the front of the buffer it is given.
 */
#include "net/http_parser.h"

#include <limits.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#define HP_MAX_CONTENT_LENGTH ((uint64_t)1 << 62)
#define HPC_MAX_SIZE_DIGITS   15    /* 60 bits: no overflow possible */
#define HPC_MAX_LINE          4096  /* chunk-size line / one trailer line */
#define HPC_MAX_TRAILER       8192  /* whole trailer section */

/* tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 *         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA   (RFC 9110 5.6.2) */
static inline bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
	case '+': case '-': case '.': case '^': case '_': case '`': case '|':
	case '~':
		return true;
	default:
		return false;
	}
}

/* field-value bytes: HTAB, SP, VCHAR, obs-text. No other controls, no DEL. */
static inline bool is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* request-target bytes: visible ASCII only. */
static inline bool is_target_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

static inline bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static inline unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Case-insensitive equality of p[0..len) with the NUL-terminated lit. */
static bool ieq(const char *p, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	if (n != len)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)p[i]) != lower((unsigned char)lit[i]))
			return false;
	return true;
}

/* ------------------------------------------------------------------ head */

/* What the header lines seen so far imply for framing and connection use. */
struct head_state {
	int minor;
	int64_t content_length;
	bool chunked;
	bool have_te;
	bool have_host;
	bool conn_close;
	bool conn_keep_alive;
	bool conn_upgrade;
	bool upgrade_ws;
	hp_str host;
};

/* Content-Length: 1*DIGIT, at most 2^62. A list ("5, 5") is refused as
 * smuggling; anything else that is not plain digits is malformed. */
static int parse_content_length(hp_str v, int64_t *out)
{
	if (v.len == 0)
		return HP_EBAD;
	if (memchr(v.p, ',', v.len))
		return HP_ESMUGGLE;
	uint64_t x = 0;
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if (c < '0' || c > '9')
			return HP_EBAD;
		unsigned d = c - '0';
		if (x > (HP_MAX_CONTENT_LENGTH - d) / 10)
			return HP_EBAD;
		x = x * 10 + d;
	}
	*out = (int64_t)x;
	return 0;
}

/* Applies the rules that depend on one completed header line. */
static int on_header(struct head_state *st, const hp_header *h)
{
	const char *n = h->name.p;
	size_t nl = h->name.len;

	if (ieq(n, nl, "content-length")) {
		/* Two Content-Lengths (even equal ones) or CL alongside TE. */
		if (st->content_length >= 0 || st->have_te)
			return HP_ESMUGGLE;
		return parse_content_length(h->value, &st->content_length);
	}
	if (ieq(n, nl, "transfer-encoding")) {
		if (st->minor == 0 || st->have_te || st->content_length >= 0)
			return HP_ESMUGGLE;
		if (!ieq(h->value.p, h->value.len, "chunked"))
			return HP_ESMUGGLE;
		st->have_te = true;
		st->chunked = true;
		return 0;
	}
	if (ieq(n, nl, "host")) {
		if (st->have_host)
			return HP_EBAD;
		st->have_host = true;
		st->host = h->value;
		return 0;
	}
	if (ieq(n, nl, "connection")) {
		st->conn_close |= hp_has_token(h->value, "close");
		st->conn_keep_alive |= hp_has_token(h->value, "keep-alive");
		st->conn_upgrade |= hp_has_token(h->value, "upgrade");
		return 0;
	}
	if (ieq(n, nl, "upgrade")) {
		st->upgrade_ws |= hp_has_token(h->value, "websocket");
		return 0;
	}
	return 0;
}

/* uri-host [":" port] (RFC 3986 3.2.2): an IP-literal in brackets or a
 * reg-name (unreserved, pct-encoded, sub-delims); no userinfo; the port is
 * digits only, at most 65535. An empty value is allowed (RFC 9112 3.2). */
static bool valid_authority(hp_str a)
{
	const char *p = a.p, *end = a.p + a.len;
	if (p < end && *p == '[') {
		p++;
		while (p < end && *p != ']') {
			char c = *p;
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
			      c == ':' || c == '.' || c == 'v' || c == 'V'))
				return false;
			p++;
		}
		if (p == end)
			return false;
		p++;
	} else {
		while (p < end && *p != ':') {
			unsigned char c = (unsigned char)*p;
			bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				  strchr("-._~!$&'()*+,;=", c) != NULL;
			if (c == '%') {
				ok = end - p >= 3 && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2]);
				if (ok)
					p += 2;
			}
			if (!ok || c == 0)
				return false;
			p++;
		}
	}
	if (p == end)
		return true;
	if (*p != ':')
		return false;
	p++;
	if (end - p > 5)
		return false;
	unsigned port = 0;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		port = port * 10 + (unsigned)(*p - '0');
	}
	return port <= 65535;
}

/* Expects CRLF at b[*i]. */
static int expect_crlf(const unsigned char *b, size_t *i, size_t end)
{
	if (*i == end)
		return HP_AGAIN;
	if (b[*i] != '\r')
		return HP_EBAD;
	if (*i + 1 == end)
		return HP_AGAIN;
	if (b[*i + 1] != '\n')
		return HP_EBAD;
	*i += 2;
	return 0;
}

/* Parses b[0..end); end is already clipped to max_head. */
static int parse_head(hp_request *req, const unsigned char *b, size_t end)
{
	size_t i = 0;
	int rc;

	/* Empty lines before the request line (RFC 9112 2.2). */
	for (;;) {
		if (i == end)
			return HP_AGAIN;
		if (b[i] != '\r' && b[i] != '\n')
			break;
		if ((rc = expect_crlf(b, &i, end)) != 0)
			return rc;
	}

	/* method SP */
	size_t m0 = i;
	while (i < end && is_tchar(b[i]))
		i++;
	if (i == end)
		return HP_AGAIN;
	if (b[i] == '\r' || b[i] == '\n')
		return HP_EBAD;
	if (b[i] != ' ' || i == m0)
		return HP_EMETHOD;
	size_t m1 = i++;

	/* request-target SP */
	size_t t0 = i;
	for (;;) {
		if (i == end)
			return HP_AGAIN;
		if (b[i] == ' ')
			break;
		if (!is_target_char(b[i]))
			return HP_EBAD;
		i++;
		if (i - t0 > req->max_uri)
			return HP_EURI_TOO_LONG;
	}
	if (i == t0)
		return HP_EBAD;
	size_t t1 = i++;

	/* HTTP-version CRLF: "HTTP/" DIGIT "." DIGIT, case-sensitive. */
	static const char proto[] = "HTTP/";
	for (size_t k = 0; k < sizeof proto - 1; k++, i++) {
		if (i == end)
			return HP_AGAIN;
		if (b[i] != (unsigned char)proto[k])
			return HP_EBAD;
	}
	int ver[2];
	for (int k = 0; k < 2; k++) {
		if (i == end)
			return HP_AGAIN;
		if (b[i] < '0' || b[i] > '9')
			return HP_EBAD;
		ver[k] = b[i++] - '0';
		if (k == 0) {
			if (i == end)
				return HP_AGAIN;
			if (b[i++] != '.')
				return HP_EBAD;
		}
	}
	if (ver[0] != 1 || ver[1] > 1)
		return HP_EVERSION;
	if ((rc = expect_crlf(b, &i, end)) != 0)
		return rc;

	/* field-lines, then the empty line */
	struct head_state st = {
		.minor = ver[1],
		.content_length = -1,
		.host = { (const char *)b, 0 },
	};
	size_t cap = req->num_headers;
	size_t n = 0;
	for (;;) {
		if (i == end)
			return HP_AGAIN;
		unsigned char c = b[i];
		if (c == '\r' || c == '\n') {
			if ((rc = expect_crlf(b, &i, end)) != 0)
				return rc;
			break;
		}
		if (is_ows(c))          /* obs-fold, or space after the start-line */
			return HP_EBAD;
		if (n == cap)
			return HP_ETOO_MANY;

		size_t n0 = i;
		while (i < end && is_tchar(b[i]))
			i++;
		if (i == end)
			return HP_AGAIN;
		if (b[i] != ':' || i == n0)  /* includes space before the colon */
			return HP_EBAD;
		size_t n1 = i++;

		while (i < end && is_ows(b[i]))
			i++;
		size_t v0 = i;
		for (;;) {
			if (i == end)
				return HP_AGAIN;
			if (b[i] == '\r')
				break;
			if (!is_value_char(b[i]))
				return HP_EBAD;
			i++;
		}
		size_t v1 = i;
		while (v1 > v0 && is_ows(b[v1 - 1]))
			v1--;
		if ((rc = expect_crlf(b, &i, end)) != 0)
			return rc;

		hp_header *h = &req->headers[n++];
		h->name = (hp_str){ (const char *)b + n0, n1 - n0 };
		h->value = (hp_str){ (const char *)b + v0, v1 - v0 };
		if ((rc = on_header(&st, h)) != 0)
			return rc;
	}

	/* The request-target's form (RFC 9112 3.2) and the Host it implies. */
	size_t p0 = t0;   /* where origin-form path[?query] starts */
	hp_str host = st.host;
	if (st.have_host && !valid_authority(host))
		return HP_EBAD;
	if (b[t0] == '/') {
		/* origin-form */
	} else if (t1 - t0 == 1 && b[t0] == '*') {
		/* asterisk-form: OPTIONS only */
		if (m1 - m0 != 7 || memcmp(b + m0, "OPTIONS", 7) != 0)
			return HP_EBAD;
	} else {
		/* absolute-form: http(s)://authority[path-abempty][?query]; the
		 * authority replaces Host (RFC 9112 3.2.2) */
		size_t k = t0;
		if (t1 - t0 >= 7 && strncasecmp((const char *)b + t0, "http://", 7) == 0)
			k += 7;
		else if (t1 - t0 >= 8 && strncasecmp((const char *)b + t0, "https://", 8) == 0)
			k += 8;
		else
			return HP_EBAD;   /* authority-form (CONNECT) or garbage */
		size_t a0 = k;
		while (k < t1 && b[k] != '/' && b[k] != '?')
			k++;
		host = (hp_str){ (const char *)b + a0, k - a0 };
		if (host.len == 0 || !valid_authority(host))
			return HP_EBAD;
		p0 = k;
	}

	/* Complete: publish the results. */
	req->method = (hp_str){ (const char *)b + m0, m1 - m0 };
	req->target = (hp_str){ (const char *)b + t0, t1 - t0 };
	const unsigned char *q = memchr(b + p0, '?', t1 - p0);
	if (q) {
		size_t pl = (size_t)(q - (b + p0));
		req->path = (hp_str){ (const char *)b + p0, pl };
		req->query = (hp_str){ (const char *)q + 1, t1 - p0 - pl - 1 };
	} else {
		req->path = (hp_str){ (const char *)b + p0, t1 - p0 };
		req->query = (hp_str){ (const char *)b + t1, 0 };
	}
	req->minor_version = st.minor;
	req->num_headers = n;
	req->content_length = st.content_length;
	req->chunked = st.chunked;
	if (st.minor == 1)
		req->keep_alive = !st.conn_close;
	else
		req->keep_alive = st.conn_keep_alive && !st.conn_close;
	/* RFC 9110 7.8: Upgrade in an HTTP/1.0 request is ignored. */
	req->upgrade_websocket = st.minor == 1 && st.upgrade_ws && st.conn_upgrade;
	req->host = host;
	return (int)i;
}

int hp_parse_head(hp_request *req, const char *buf, size_t len)
{
	size_t limit = req->max_head < (size_t)INT_MAX ? req->max_head : (size_t)INT_MAX;
	size_t end = len < limit ? len : limit;
	int rc = parse_head(req, (const unsigned char *)buf, end);
	if (rc == HP_AGAIN && len > limit)
		return HP_EHEAD_TOO_LARGE;
	return rc;
}

const hp_header *hp_find(const hp_request *req, const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < req->num_headers; i++)
		if (ieq(req->headers[i].name.p, req->headers[i].name.len, name))
			return &req->headers[i];
	return NULL;
}

bool hp_has_token(hp_str value, const char *token)
{
	if (!token || !*token || !value.p)
		return false;
	size_t i = 0;
	while (i < value.len) {
		size_t e = i;
		while (e < value.len && value.p[e] != ',')
			e++;
		size_t a = i, z = e;
		while (a < z && is_ows((unsigned char)value.p[a]))
			a++;
		while (z > a && is_ows((unsigned char)value.p[z - 1]))
			z--;
		if (ieq(value.p + a, z - a, token))
			return true;
		i = e + 1;
	}
	return false;
}

/* --------------------------------------------------------------- chunked */

enum {
	C_SIZE0,        /* first byte of a chunk-size line: must be a hex digit */
	C_SIZE,         /* more hex digits, ';', BWS or CR */
	C_SIZE_WS,      /* BWS after the size: only more BWS or ';' */
	C_EXT,          /* chunk-ext: ignored up to CR */
	C_SIZE_LF,
	C_DATA,
	C_DATA_CR,
	C_DATA_LF,
	C_TRL_START,    /* start of a trailer line, or CR of the final line */
	C_TRL_NAME,
	C_TRL_VALUE,
	C_TRL_LF,
	C_END_LF,
	C_DONE,
	C_ERR_BAD,
	C_ERR_LARGE,
};

void hp_chunked_init(hp_chunked *c, uint64_t max_body)
{
	memset(c, 0, sizeof *c);
	c->state = C_SIZE0;
	c->max_body = max_body;
}

static int chunk_fail(hp_chunked *c, int rc)
{
	c->state = rc == HPC_ETOO_LARGE ? C_ERR_LARGE : C_ERR_BAD;
	return rc;
}

/* One byte of framing (everything but chunk data). Returns 0 to go on,
 * HPC_DONE after the final LF, or an error. */
static int chunk_byte(hp_chunked *c, unsigned char ch)
{
	int d;

	switch (c->state) {
	case C_SIZE0:
	case C_SIZE:
	case C_SIZE_WS:
	case C_EXT:
		if (++c->line_len > HPC_MAX_LINE)
			return HPC_EBAD;
		break;
	case C_TRL_START:
	case C_TRL_NAME:
	case C_TRL_VALUE:
	case C_TRL_LF:
	case C_END_LF:
		/* remaining counts the trailer section's bytes. */
		if (++c->line_len > HPC_MAX_LINE || ++c->remaining > HPC_MAX_TRAILER)
			return HPC_EBAD;
		break;
	default:
		break;
	}

	switch (c->state) {
	case C_SIZE0:
		if ((d = hexval(ch)) < 0)
			return HPC_EBAD;
		c->remaining = (uint64_t)d;
		c->state = C_SIZE;
		goto check_size;
	case C_SIZE:
		if ((d = hexval(ch)) >= 0) {
			if (c->line_len > HPC_MAX_SIZE_DIGITS)
				return HPC_EBAD;
			c->remaining = c->remaining << 4 | (uint64_t)d;
			goto check_size;
		}
		if (ch == '\r')
			c->state = C_SIZE_LF;
		else if (ch == ';')
			c->state = C_EXT;
		else if (is_ows(ch))
			c->state = C_SIZE_WS;
		else
			return HPC_EBAD;
		return 0;
	case C_SIZE_WS:
		if (ch == ';')
			c->state = C_EXT;
		else if (!is_ows(ch))
			return HPC_EBAD;
		return 0;
	case C_EXT:
		if (ch == '\r')
			c->state = C_SIZE_LF;
		else if (!is_value_char(ch))
			return HPC_EBAD;
		return 0;
	case C_SIZE_LF:
		if (ch != '\n')
			return HPC_EBAD;
		c->line_len = 0;
		if (c->remaining == 0) {
			c->state = C_TRL_START;  /* last-chunk */
		} else {
			c->state = C_DATA;
		}
		return 0;
	case C_DATA_CR:
		if (ch != '\r')
			return HPC_EBAD;
		c->state = C_DATA_LF;
		return 0;
	case C_DATA_LF:
		if (ch != '\n')
			return HPC_EBAD;
		c->state = C_SIZE0;
		c->line_len = 0;
		return 0;
	case C_TRL_START:
		if (ch == '\r')
			c->state = C_END_LF;
		else if (is_tchar(ch))
			c->state = C_TRL_NAME;
		else
			return HPC_EBAD;
		return 0;
	case C_TRL_NAME:
		if (ch == ':')
			c->state = C_TRL_VALUE;
		else if (!is_tchar(ch))
			return HPC_EBAD;
		return 0;
	case C_TRL_VALUE:
		if (ch == '\r')
			c->state = C_TRL_LF;
		else if (!is_value_char(ch))
			return HPC_EBAD;
		return 0;
	case C_TRL_LF:
		if (ch != '\n')
			return HPC_EBAD;
		c->state = C_TRL_START;
		c->line_len = 0;
		return 0;
	case C_END_LF:
		if (ch != '\n')
			return HPC_EBAD;
		c->state = C_DONE;
		return HPC_DONE;
	default:
		return HPC_EBAD;
	}

check_size:
	/* Refuse as soon as the declared size cannot fit. */
	if (c->total > c->max_body || c->remaining > c->max_body - c->total)
		return HPC_ETOO_LARGE;
	return 0;
}

int hp_chunked_decode(hp_chunked *c, char *buf, size_t *len, size_t *consumed)
{
	size_t in = *len, r = 0, w = 0;
	int rc = HPC_AGAIN;

	switch (c->state) {
	case C_DONE:
		*len = 0;
		*consumed = 0;
		return HPC_DONE;
	case C_ERR_BAD:
	case C_ERR_LARGE:
		*len = 0;
		*consumed = 0;
		return c->state == C_ERR_LARGE ? HPC_ETOO_LARGE : HPC_EBAD;
	default:
		break;
	}

	while (r < in) {
		if (c->state == C_DATA) {
			size_t n = in - r;
			if ((uint64_t)n > c->remaining)
				n = (size_t)c->remaining;
			if (w != r)
				memmove(buf + w, buf + r, n);
			w += n;
			r += n;
			c->remaining -= n;
			c->total += n;
			if (c->remaining == 0)
				c->state = C_DATA_CR;
			continue;
		}
		int brc = chunk_byte(c, (unsigned char)buf[r++]);
		if (brc == HPC_DONE) {
			rc = HPC_DONE;
			break;
		}
		if (brc < 0) {
			rc = chunk_fail(c, brc);
			break;
		}
	}
	*len = w;
	*consumed = r;
	return rc;
}

/* ---------------------------------------------------------------- errors */

const char *hp_strerror(int rc)
{
	if (rc > 1)
		return "ok";
	switch (rc) {
	case HPC_DONE:           return "body complete";
	case HPC_AGAIN:          return "need more data (body)";
	case HP_AGAIN:           return "need more data";
	case HP_EBAD:            return "malformed request";
	case HP_EHEAD_TOO_LARGE: return "request head too large";
	case HP_ETOO_MANY:       return "too many header fields";
	case HP_EURI_TOO_LONG:   return "request target too long";
	case HP_ESMUGGLE:        return "ambiguous message framing";
	case HP_EVERSION:        return "HTTP version not supported";
	case HP_EMETHOD:         return "invalid method";
	case HPC_ETOO_LARGE:     return "request body too large";
	default:                 return "unknown error";
	}
}
