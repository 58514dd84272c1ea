/* multipart — the multipart/form-data push parser (see multipart.h).
 *
 * The body is read as if "\r\n" preceded it, so the first delimiter
 * ("--boundary" at the very start, or after a preamble line) is found by
 * the same search as every later one ("\r\n--boundary"). Bytes held back
 * while they match a prefix of the delimiter are, by that very fact, equal
 * to that prefix: when the match fails they are handed on from the
 * delimiter string, and the input slice need not be kept.
 */
#include "net/multipart.h"

#include <string.h>
#include <strings.h>

enum {
	S_PREAMBLE,      /* looking for the first delimiter; bytes dropped */
	S_AFTER_DELIM,   /* transport padding, then CRLF or "--" */
	S_DASH,          /* the second '-' of a close delimiter */
	S_LF,            /* the LF ending a delimiter line */
	S_HEADER,        /* a part's header lines */
	S_BODY,          /* a part's data, looking for the next delimiter */
	S_EPILOGUE,      /* after the close delimiter: ignored */
	S_ERROR,
};

#define PADDING_MAX 64

static const mp_limits default_limits = { 16, 2048, UINT64_MAX };

static bool boundary_char(unsigned char c)
{
	/* bchars of RFC 2046: DIGIT / ALPHA / ' ( ) + _ , - . / : = ? and space */
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       strchr("'()+_,-./:=? ", c) != NULL;
}

static bool valid_boundary(const char *b, size_t n)
{
	if (n < 1 || n > MP_BOUNDARY_MAX || b[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!b[i] || !boundary_char((unsigned char)b[i]))
			return false;
	return true;
}

static bool tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Reads the next "; name=value" parameter of a header value from *sp
 * (the value a token or a quoted string, in which a backslash escapes only
 * a quote or a backslash: browsers send Windows paths unescaped) into
 * val (NUL-terminated, at most cap bytes). 0 with the name at *ns, *nl;
 * 1 at the end of the value; MP_EBAD, or MP_EPARAM for a value over cap. */
static int next_param(const char **sp, const char *end, const char **ns, size_t *nl, char *val, size_t cap,
		      size_t *vl)
{
	const char *s = *sp;
	while (s < end && ows(*s))
		s++;
	if (s == end)
		return 1;
	if (*s++ != ';')
		return MP_EBAD;
	while (s < end && ows(*s))
		s++;
	*ns = s;
	while (s < end && tchar((unsigned char)*s))
		s++;
	*nl = (size_t)(s - *ns);
	while (s < end && ows(*s))
		s++;
	if (!*nl || s == end || *s != '=')
		return MP_EBAD;
	s++;
	while (s < end && ows(*s))
		s++;
	size_t n = 0;
	if (s < end && *s == '"') {
		s++;
		while (s < end && *s != '"') {
			if (*s == '\\' && s + 1 < end && (s[1] == '"' || s[1] == '\\'))
				s++;
			if (n == cap)
				return MP_EPARAM;
			val[n++] = *s++;
		}
		if (s == end)
			return MP_EBAD;
		s++;
	} else {
		while (s < end && tchar((unsigned char)*s)) {
			if (n == cap)
				return MP_EPARAM;
			val[n++] = *s++;
		}
		if (!n)
			return MP_EBAD;
	}
	val[n] = 0;
	*vl = n;
	*sp = s;
	return 0;
}

int mp_boundary(const char *ct, size_t len, char out[MP_BOUNDARY_MAX + 1])
{
	static const char type[] = "multipart/form-data";
	const char *p = ct, *end = ct + len;
	while (p < end && ows(*p))
		p++;
	if ((size_t)(end - p) < sizeof type - 1 || strncasecmp(p, type, sizeof type - 1) != 0)
		return -1;
	p += sizeof type - 1;
	bool found = false;
	const char *ns;
	size_t nl, vl;
	char val[MP_BOUNDARY_MAX + 1];
	int rc;
	while ((rc = next_param(&p, end, &ns, &nl, val, MP_BOUNDARY_MAX, &vl)) == 0) {
		if (nl == 8 && strncasecmp(ns, "boundary", 8) == 0) {
			if (found || !valid_boundary(val, vl))
				return -1;
			memcpy(out, val, vl + 1);
			found = true;
		}
	}
	return rc == 1 && found ? 0 : -1;
}

int mp_init(mp_parser *p, const char *boundary, const mp_limits *lim, const mp_callbacks *cb,
	    void *ctx)
{
	size_t bl = strlen(boundary);
	if (!valid_boundary(boundary, bl))
		return -1;
	memset(p, 0, offsetof(mp_parser, line));
	memcpy(p->delim, "\r\n--", 4);
	memcpy(p->delim + 4, boundary, bl);
	p->dlen = 4 + bl;
	/* KMP: fail[k] = length of the longest proper prefix of delim[0..k]
	 * that is also its suffix */
	p->fail[0] = 0;
	for (size_t k = 1, m = 0; k < p->dlen; k++) {
		while (m && p->delim[k] != p->delim[m])
			m = p->fail[m - 1];
		if (p->delim[k] == p->delim[m])
			m++;
		p->fail[k] = (uint8_t)m;
	}
	p->lim = lim ? *lim : default_limits;
	if (!p->lim.max_parts)
		p->lim.max_parts = default_limits.max_parts;
	if (!p->lim.max_header || p->lim.max_header > MP_HEADER_MAX)
		p->lim.max_header = p->lim.max_header ? MP_HEADER_MAX : default_limits.max_header;
	if (!p->lim.max_total)
		p->lim.max_total = UINT64_MAX;
	if (cb)
		p->cb = *cb;
	p->ctx = ctx;
	p->state = S_PREAMBLE;
	p->match = 2;   /* as if "\r\n" came first */
	return 0;
}

static int fail_with(mp_parser *p, int rc)
{
	p->state = S_ERROR;
	p->rc = rc;
	return rc;
}

/* Hands on stream bytes [from, to) relative to d, where the (negative)
 * positions before 0 are the `held` bytes held back from earlier slices,
 * i.e. delim[0..held). 0 or MP_ESTOP. */
static int emit(mp_parser *p, const char *d, size_t held, ptrdiff_t from, ptrdiff_t to)
{
	if (from >= to || !p->cb.on_data)
		return 0;
	if (from < 0) {
		ptrdiff_t e = to < 0 ? to : 0;
		if (p->cb.on_data(p->ctx, p->delim + held + from, (size_t)(e - from)))
			return MP_ESTOP;
		from = e;
	}
	if (from < to && p->cb.on_data(p->ctx, d + from, (size_t)(to - from)))
		return MP_ESTOP;
	return 0;
}

/* Searches d[0..n) for the delimiter, continuing a partial match; sets
 * *found when it completes (*used then ends at its last byte) and hands on
 * the data before it when out is set. 0 or MP_ESTOP. */
static int scan(mp_parser *p, const char *d, size_t n, bool out, size_t *used, bool *found)
{
	size_t held = p->match, i = 0;
	*found = false;
	while (i < n) {
		if (p->match == 0) {
			const char *cr = memchr(d + i, '\r', n - i);
			if (!cr) {
				i = n;
				break;
			}
			i = (size_t)(cr - d) + 1;
			p->match = 1;
			continue;
		}
		char c = d[i++];
		size_t m = p->match;
		while (m && p->delim[m] != c)
			m = p->fail[m - 1];
		if (p->delim[m] == c)
			m++;
		p->match = m;
		if (m == p->dlen) {
			*found = true;
			break;
		}
	}
	*used = i;
	ptrdiff_t data_end = (ptrdiff_t)i - (ptrdiff_t)p->match;
	if (*found)
		p->match = 0;
	return out ? emit(p, d, held, -(ptrdiff_t)held, data_end) : 0;
}

static bool ieq(const char *a, size_t n, const char *lit)
{
	return n == strlen(lit) && strncasecmp(a, lit, n) == 0;
}

/* Parses a Content-Disposition value into p->part. 0 or an error. */
static int parse_disposition(mp_parser *p, const char *v, size_t n)
{
	mp_part *pt = &p->part;
	if (pt->has_disposition)
		return MP_EBAD;
	pt->has_disposition = true;
	const char *s = v, *end = v + n;
	const char *ts = s;
	while (s < end && tchar((unsigned char)*s))
		s++;
	if (!ieq(ts, (size_t)(s - ts), "form-data"))
		return MP_EBAD;
	bool have_name = false;
	const char *ns;
	size_t nl, vl;
	char val[MP_PARAM_MAX + 1];
	int rc;
	while ((rc = next_param(&s, end, &ns, &nl, val, MP_PARAM_MAX, &vl)) == 0) {
		if (ieq(ns, nl, "name")) {
			if (have_name)
				return MP_EBAD;
			have_name = true;
			memcpy(pt->name, val, vl + 1);
		} else if (ieq(ns, nl, "filename")) {
			if (pt->has_filename)
				return MP_EBAD;
			pt->has_filename = true;
			memcpy(pt->filename, val, vl + 1);
		}
		/* other parameters (filename*, which RFC 7578 says not to use) are ignored */
	}
	return rc == 1 ? 0 : rc;
}

/* A complete header line p->line[0..line_len). 0 or an error. */
static int header_line(mp_parser *p)
{
	const char *l = p->line;
	size_t n = p->line_len;
	if (ows(l[0]))
		return MP_EBAD;   /* obs-fold */
	size_t k = 0;
	while (k < n && tchar((unsigned char)l[k]))
		k++;
	if (!k || k == n || l[k] != ':')
		return MP_EBAD;
	const char *v = l + k + 1, *ve = l + n;
	while (v < ve && ows(*v))
		v++;
	while (ve > v && ows(ve[-1]))
		ve--;
	size_t vl = (size_t)(ve - v);
	if (ieq(l, k, "Content-Disposition"))
		return parse_disposition(p, v, vl);
	if (ieq(l, k, "Content-Type")) {
		if (p->part.ctype[0])
			return MP_EBAD;
		if (vl > MP_CTYPE_MAX)
			return MP_EPARAM;
		memcpy(p->part.ctype, v, vl);
		p->part.ctype[vl] = 0;
	}
	return 0;
}

/* Header bytes: returns bytes used (the block may end inside d) or an error. */
static ptrdiff_t headers(mp_parser *p, const char *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (++p->hdr_bytes > p->lim.max_header)
			return MP_EHEADER;
		if (p->line_cr) {
			if (c != '\n')
				return MP_EBAD;
			p->line_cr = false;
			if (p->line_len == 0) {
				p->state = S_BODY;
				p->match = 0;
				if (p->cb.on_part && p->cb.on_part(p->ctx, &p->part))
					return MP_ESTOP;
				return (ptrdiff_t)i + 1;
			}
			int rc = header_line(p);
			if (rc)
				return rc;
			p->line_len = 0;
		} else if (c == '\r') {
			p->line_cr = true;
		} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			return MP_EBAD;   /* bare LF, NUL, other controls */
		} else {
			p->line[p->line_len++] = (char)c;   /* < max_header <= MP_HEADER_MAX */
		}
	}
	return (ptrdiff_t)n;
}

static void start_part(mp_parser *p)
{
	p->state = S_HEADER;
	p->hdr_bytes = 0;
	p->line_len = 0;
	p->line_cr = false;
	memset(&p->part, 0, sizeof p->part);
}

/* Feeds bytes without the total check. */
static int feed(mp_parser *p, const char *d, size_t n)
{
	size_t i = 0;
	while (i < n) {
		switch (p->state) {
		case S_PREAMBLE:
		case S_BODY: {
			bool body = p->state == S_BODY, found;
			size_t used;
			if (scan(p, d + i, n - i, body, &used, &found))
				return fail_with(p, MP_ESTOP);
			i += used;
			if (found) {
				if (body && p->cb.on_part_end && p->cb.on_part_end(p->ctx))
					return fail_with(p, MP_ESTOP);
				p->state = S_AFTER_DELIM;
				p->padding = 0;
			}
			break;
		}
		case S_AFTER_DELIM: {
			char c = d[i++];
			if (c == '-') {
				p->state = S_DASH;
			} else if (c == '\r') {
				p->state = S_LF;
			} else if (ows(c) && ++p->padding <= PADDING_MAX) {
				/* transport padding */
			} else {
				return fail_with(p, MP_EBAD);
			}
			break;
		}
		case S_DASH:
			if (d[i++] != '-')
				return fail_with(p, MP_EBAD);
			p->state = S_EPILOGUE;
			p->rc = MP_DONE;
			break;
		case S_LF:
			if (d[i++] != '\n')
				return fail_with(p, MP_EBAD);
			if (++p->nparts > p->lim.max_parts)
				return fail_with(p, MP_EPARTS);
			start_part(p);
			break;
		case S_HEADER: {
			ptrdiff_t used = headers(p, d + i, n - i);
			if (used < 0)
				return fail_with(p, (int)used);
			i += (size_t)used;
			break;
		}
		case S_EPILOGUE:
			return MP_DONE;
		default:
			return p->rc;
		}
	}
	return p->state == S_EPILOGUE ? MP_DONE : MP_OK;
}

int mp_feed(mp_parser *p, const char *data, size_t len)
{
	if (p->state == S_ERROR)
		return p->rc;
	uint64_t room = p->lim.max_total - p->total;
	size_t n = (uint64_t)len > room ? (size_t)room : len;
	p->total += n;
	int rc = feed(p, data, n);
	if (rc < 0)
		return rc;
	if (n < len)
		return fail_with(p, MP_ETOTAL);
	return rc;
}

int mp_finish(const mp_parser *p)
{
	if (p->state == S_ERROR)
		return p->rc;
	return p->state == S_EPILOGUE ? MP_DONE : MP_ETRUNCATED;
}

const char *mp_strerror(int rc)
{
	switch (rc) {
	case MP_OK: return "ok";
	case MP_DONE: return "done";
	case MP_EBAD: return "malformed multipart body";
	case MP_EPARTS: return "too many parts";
	case MP_EHEADER: return "part headers too large";
	case MP_ETOTAL: return "body too large";
	case MP_EPARAM: return "part name or filename too long";
	case MP_ESTOP: return "stopped";
	case MP_ETRUNCATED: return "multipart body truncated";
	default: return "unknown";
	}
}
