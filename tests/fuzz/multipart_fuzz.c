/* Fuzz target for net/multipart.
 *
 * Input: byte 0 picks the boundary (bits 0-1), the limits (bits 2-4) and
 * the largest piece size (bits 5-7); byte 1 seeds the piece sizes; the
 * rest is a request body. It is parsed three ways: by mp_feed over the
 * whole body at once, by mp_feed in pieces (each from a fresh allocation,
 * so ASan sees any read past a piece), and by a whole-buffer reference
 * written here (delimiters found with memmem, header lines by index). All
 * three must agree on the result and on every part's headers; the data
 * of every finished part must be the same bytes; the data of a part the
 * body ends inside must be, in the streaming parsers, a prefix of the
 * reference's that falls short of it by less than a delimiter (bytes held
 * back while they might start one). Any disagreement aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)
#define MAXP 64

static const char *const boundaries[4] = { "b", "ab-ab", "----WebKitFormBoundaryQ1w2", "x'()+_,-./:=? y" };
static const mp_limits limits[8] = {
	{ 16, 2048, UINT64_MAX }, { 1, 2048, UINT64_MAX }, { 3, 64, UINT64_MAX }, { 16, 4096, 100 },
	{ 2, 300, 1000 },         { 16, 32, 64 },          { 64, 4096, 4096 },   { 8, 128, 10 },
};
static const size_t max_pieces[8] = { 1, 2, 3, 5, 8, 16, 64, 4096 };

typedef struct {
	mp_part hdr;
	size_t off, len;     /* data in the pool (stream) or in the body (reference) */
	bool ended;
} part;

typedef struct {
	part p[MAXP];
	int n;
	bool overflow;
	char *pool;
	size_t plen, pcap;
	int rc;
} trace;

static int t_part(void *ctx, const mp_part *h)
{
	trace *t = ctx;
	if (t->n == MAXP) {
		t->overflow = true;
		return 0;
	}
	part *p = &t->p[t->n++];
	p->hdr = *h;
	p->off = t->plen;
	p->len = 0;
	p->ended = false;
	return 0;
}

static int t_data(void *ctx, const char *d, size_t n)
{
	trace *t = ctx;
	CHECK(n > 0);
	CHECK(t->n > 0 || t->overflow);
	if (t->overflow)
		return 0;
	if (t->plen + n > t->pcap) {
		size_t cap = t->pcap ? t->pcap : 1024;
		while (cap < t->plen + n)
			cap *= 2;
		t->pool = realloc(t->pool, cap);
		CHECK(t->pool);
		t->pcap = cap;
	}
	memcpy(t->pool + t->plen, d, n);
	t->plen += n;
	t->p[t->n - 1].len += n;
	return 0;
}

static int t_end(void *ctx)
{
	trace *t = ctx;
	if (!t->overflow) {
		CHECK(t->n > 0 && !t->p[t->n - 1].ended);
		t->p[t->n - 1].ended = true;
	}
	return 0;
}

static const mp_callbacks cbs = { t_part, t_data, t_end };

static void run_stream(const char *bnd, const mp_limits *lim, const uint8_t *body, size_t len,
		       size_t maxpiece, uint8_t seed, trace *t)
{
	mp_parser *p = malloc(sizeof *p);
	CHECK(p);
	CHECK(mp_init(p, bnd, lim, &cbs, t) == 0);
	int rc = MP_OK;
	size_t off = 0;
	uint32_t x = seed * 2654435761u + 1;
	while (off < len) {
		size_t n = len - off;
		if (maxpiece) {
			x = x * 1103515245u + 12345u;
			size_t k = 1 + (x >> 16) % maxpiece;
			if (k < n)
				n = k;
		}
		char *piece = malloc(n);
		CHECK(piece);
		memcpy(piece, body + off, n);
		rc = mp_feed(p, piece, n);
		free(piece);
		off += n;
		CHECK(rc == MP_OK || rc == MP_DONE || rc < 0);
		if (rc < 0)
			break;
	}
	if (rc >= 0)
		rc = mp_finish(p);
	CHECK(mp_finish(p) == rc);
	t->rc = rc;
	free(p);
}

/* ---------- reference ---------- */

static bool r_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool r_token(unsigned char c)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";
	if (r_tchar(c))
		return true;
	for (const char *e = extra; *e; e++)
		if ((unsigned char)*e == c)
			return true;
	return false;
}

static bool r_ieq(const char *a, size_t n, const char *lit)
{
	if (n != strlen(lit))
		return false;
	for (size_t i = 0; i < n; i++) {
		char x = a[i], y = lit[i];
		if (x >= 'A' && x <= 'Z')
			x += 32;
		if (y >= 'A' && y <= 'Z')
			y += 32;
		if (x != y)
			return false;
	}
	return true;
}

/* The parameters of a Content-Disposition value, RFC 7578 + the
 * parser's rules for backslashes. */
static int r_disposition(const char *v, size_t n, mp_part *h)
{
	size_t i = 0;
	while (i < n && r_token((unsigned char)v[i]))
		i++;
	if (!r_ieq(v, i, "form-data"))
		return MP_EBAD;
	bool seen_name = false;
	for (;;) {
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i == n)
			return 0;
		if (v[i] != ';')
			return MP_EBAD;
		i++;
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		size_t ns = i;
		while (i < n && r_token((unsigned char)v[i]))
			i++;
		size_t nl = i - ns;
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (nl == 0 || i == n || v[i] != '=')
			return MP_EBAD;
		i++;
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		char val[MP_PARAM_MAX + 2];
		size_t vl = 0;
		if (i < n && v[i] == '"') {
			i++;
			for (;;) {
				if (i == n)
					return MP_EBAD;
				if (v[i] == '"') {
					i++;
					break;
				}
				if (v[i] == '\\' && i + 1 < n && (v[i + 1] == '"' || v[i + 1] == '\\'))
					i++;
				if (vl == MP_PARAM_MAX)
					return MP_EPARAM;
				val[vl++] = v[i++];
			}
		} else {
			while (i < n && r_token((unsigned char)v[i])) {
				if (vl == MP_PARAM_MAX)
					return MP_EPARAM;
				val[vl++] = v[i++];
			}
			if (vl == 0)
				return MP_EBAD;
		}
		val[vl] = 0;
		if (r_ieq(v + ns, nl, "name")) {
			if (seen_name)
				return MP_EBAD;
			seen_name = true;
			memcpy(h->name, val, vl + 1);
		} else if (r_ieq(v + ns, nl, "filename")) {
			if (h->has_filename)
				return MP_EBAD;
			h->has_filename = true;
			memcpy(h->filename, val, vl + 1);
		}
	}
}

static int r_line(const char *l, size_t n, mp_part *h)
{
	if (l[0] == ' ' || l[0] == '\t')
		return MP_EBAD;
	size_t k = 0;
	while (k < n && r_token((unsigned char)l[k]))
		k++;
	if (k == 0 || k == n || l[k] != ':')
		return MP_EBAD;
	size_t vs = k + 1, ve = n;
	while (vs < ve && (l[vs] == ' ' || l[vs] == '\t'))
		vs++;
	while (ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'))
		ve--;
	if (r_ieq(l, k, "content-disposition")) {
		if (h->has_disposition)
			return MP_EBAD;
		h->has_disposition = true;
		return r_disposition(l + vs, ve - vs, h);
	}
	if (r_ieq(l, k, "content-type")) {
		if (h->ctype[0])
			return MP_EBAD;
		if (ve - vs > MP_CTYPE_MAX)
			return MP_EPARAM;
		memcpy(h->ctype, l + vs, ve - vs);
		h->ctype[ve - vs] = 0;
	}
	return 0;
}

/* The whole body b[0..n) (already cut at max_total). */
static int reference(const char *bnd, const mp_limits *lim, const char *b, size_t n, trace *t)
{
	char delim[4 + MP_BOUNDARY_MAX];
	size_t dl = 4 + strlen(bnd);
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, bnd, dl - 4);
	/* the body as if CRLF came first */
	char *s = malloc(n + 2);
	CHECK(s);
	s[0] = '\r';
	s[1] = '\n';
	memcpy(s + 2, b, n);
	size_t len = n + 2;
	int rc;
	const char *d = memmem(s, len, delim, dl);
	if (!d) {
		rc = MP_ETRUNCATED;
		goto out;
	}
	size_t i = (size_t)(d - s) + dl;
	size_t lim_parts = lim->max_parts, lim_hdr = lim->max_header;
	for (int nparts = 0;;) {
		/* after a delimiter */
		size_t pad = 0;
		while (i < len && (s[i] == ' ' || s[i] == '\t') && pad < 64) {
			i++;
			pad++;
		}
		if (i == len) {
			rc = MP_ETRUNCATED;
			goto out;
		}
		if (s[i] == '-') {
			if (i + 1 == len)
				rc = MP_ETRUNCATED;
			else
				rc = s[i + 1] == '-' ? MP_DONE : MP_EBAD;
			goto out;
		}
		if (s[i] != '\r') {
			rc = MP_EBAD;
			goto out;
		}
		if (i + 1 == len) {
			rc = MP_ETRUNCATED;
			goto out;
		}
		if (s[i + 1] != '\n') {
			rc = MP_EBAD;
			goto out;
		}
		i += 2;
		if ((size_t)++nparts > lim_parts) {
			rc = MP_EPARTS;
			goto out;
		}
		/* headers */
		mp_part h;
		memset(&h, 0, sizeof h);
		size_t count = 0, ls = i;
		for (;;) {
			if (i == len) {
				rc = MP_ETRUNCATED;
				goto out;
			}
			if (++count > lim_hdr) {
				rc = MP_EHEADER;
				goto out;
			}
			unsigned char c = (unsigned char)s[i];
			if (i > ls && s[i - 1] == '\r') {
				if (c != '\n') {
					rc = MP_EBAD;
					goto out;
				}
				size_t ll = i - 1 - ls;
				i++;
				if (ll == 0)
					break;
				if ((rc = r_line(s + ls, ll, &h)) != 0)
					goto out;
				ls = i;
				continue;
			}
			if (c != '\r' && ((c < 0x20 && c != '\t') || c == 0x7f)) {
				rc = MP_EBAD;
				goto out;
			}
			i++;
		}
		if (t->n == MAXP) {
			t->overflow = true;
		} else {
			part *p = &t->p[t->n++];
			p->hdr = h;
			p->off = i - 2;   /* offset into b */
		}
		part *cur = t->overflow ? NULL : &t->p[t->n - 1];
		d = memmem(s + i, len - i, delim, dl);
		if (!d) {
			if (cur)
				cur->len = len - i;
			rc = MP_ETRUNCATED;
			goto out;
		}
		if (cur) {
			cur->len = (size_t)(d - s) - i;
			cur->ended = true;
		}
		i = (size_t)(d - s) + dl;
	}
out:
	free(s);
	return rc;
}

static void same_headers(const mp_part *a, const mp_part *b)
{
	CHECK(strcmp(a->name, b->name) == 0);
	CHECK(strcmp(a->filename, b->filename) == 0);
	CHECK(strcmp(a->ctype, b->ctype) == 0);
	CHECK(a->has_filename == b->has_filename);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	const char *bnd = boundaries[data[0] & 3];
	const mp_limits *lim = &limits[(data[0] >> 2) & 7];
	size_t maxpiece = max_pieces[data[0] >> 5];
	const uint8_t *body = data + 2;
	size_t len = size - 2;

	trace whole = { 0 }, split = { 0 }, ref = { 0 };
	run_stream(bnd, lim, body, len, 0, data[1], &whole);
	run_stream(bnd, lim, body, len, maxpiece, data[1], &split);

	/* one shot and pieces: the same, byte for byte */
	CHECK(whole.rc == split.rc);
	CHECK(whole.n == split.n && whole.overflow == split.overflow);
	CHECK(whole.plen == split.plen);
	CHECK(whole.plen == 0 || memcmp(whole.pool, split.pool, whole.plen) == 0);
	for (int i = 0; i < whole.n; i++) {
		same_headers(&whole.p[i].hdr, &split.p[i].hdr);
		CHECK(whole.p[i].len == split.p[i].len && whole.p[i].ended == split.p[i].ended);
	}

	/* the reference, on the bytes within max_total */
	size_t cut = (uint64_t)len > lim->max_total ? (size_t)lim->max_total : len;
	int rrc = reference(bnd, lim, (const char *)body, cut, &ref);
	if (cut < len && (rrc == MP_DONE || rrc == MP_ETRUNCATED))
		rrc = MP_ETOTAL;
	CHECK(rrc == whole.rc);
	CHECK(ref.n == whole.n && ref.overflow == whole.overflow);
	size_t dl = 4 + strlen(bnd);
	for (int i = 0; i < whole.n; i++) {
		const part *w = &whole.p[i], *r = &ref.p[i];
		same_headers(&w->hdr, &r->hdr);
		CHECK(w->ended == r->ended);
		if (w->ended) {
			CHECK(w->len == r->len);
		} else {
			CHECK(i == whole.n - 1);
			CHECK(w->len <= r->len && r->len - w->len < dl);
		}
		CHECK(w->len == 0 || memcmp(whole.pool + w->off, body + r->off, w->len) == 0);
	}
	free(whole.pool);
	free(split.pool);
	return 0;
}
