#include "core/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYS_ZONEINFO "/usr/share/zoneinfo"
#define FILE_MAX (1 << 20)       /* real TZif files are a few KiB */
#define FOOTER_MAX 255
#define TIME_LIMIT ((int64_t)1 << 59)    /* public arguments */
#define RULE_LIMIT ((int64_t)1 << 60)    /* rule arithmetic, beyond any span looked at */
#define DAY 86400
#define HOUR 3600
/* RFC 8536 §3.2: utoff in -89999..93599, so local - utc lies in (-25h, 26h). */
#define UTOFF_MIN (-89999)
#define UTOFF_MAX 93599

/* ---- types -------------------------------------------------------------- */

typedef struct {
	int32_t utoff;
	bool isdst;
} ttype;

/* One date of a POSIX rule: Jn, n or Mm.w.d, and the local time of day. */
typedef struct {
	char kind;               /* 'J', 'D' (zero-based n) or 'M' */
	int n, mon, week, wday;
	int32_t secs;            /* -167h..167h */
} rdate;

typedef struct {
	int32_t std_off, dst_off; /* seconds east of UTC */
	bool has_dst;
	rdate start, end;         /* into DST (std clock), out of it (DST clock) */
} rule;

struct tz {
	size_t ntrans, ntypes;
	const int64_t *trans;     /* strictly ascending */
	const uint8_t *tidx;      /* type of each transition, < ntypes */
	const ttype *types;
	bool has_rule;            /* footer present and not empty */
	rule rule;
	const char *name;
	/* trans, types, tidx and name follow in the same allocation */
};

/* A stretch of time on one offset: [start, end). */
typedef struct {
	int64_t start, end;
	int32_t off;
	bool dst;
} span;

/* ---- small helpers ------------------------------------------------------ */

static int64_t clamp_time(int64_t t)
{
	return t < -TIME_LIMIT ? -TIME_LIMIT : t > TIME_LIMIT ? TIME_LIMIT : t;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static void set_err(int *err, int code)
{
	if (err)
		*err = code;
}

/* ---- civil calendar (proleptic Gregorian, days since 1970-01-01) -------- */

static bool is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int month_days(int64_t y, int m)
{
	static const int md[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return md[m - 1] + (m == 2 && is_leap(y));
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t year_of_days(int64_t days)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	return yoe + era * 400 + (mp >= 10);
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int weekday(int64_t days)
{
	return (int)(((days % 7) + 11) % 7);
}

/* ---- POSIX TZ strings (RFC 8536 §3.3) ----------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* An unsigned number of 1..maxd digits no larger than max; NULL if not. */
static const char *parse_num(const char *s, int maxd, int max, int *out)
{
	int v = 0, nd = 0;
	while (is_digit(*s) && nd < maxd) {
		v = v * 10 + (*s++ - '0');
		nd++;
	}
	if (nd == 0 || is_digit(*s) || v > max)
		return NULL;
	*out = v;
	return s;
}

/* A name: three or more letters, or <...> of [A-Za-z0-9+-] (three or more). */
static const char *parse_name(const char *s)
{
	const char *b = s;
	if (*s == '<') {
		for (b = ++s; is_alpha(*s) || is_digit(*s) || *s == '+' || *s == '-'; s++)
			;
		return (*s == '>' && s - b >= 3) ? s + 1 : NULL;
	}
	while (is_alpha(*s))
		s++;
	return s - b >= 3 ? s : NULL;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h; the signed value in seconds. */
static const char *parse_hms(const char *s, int max_h, int32_t *out)
{
	int sign = 1, h, m = 0, sec = 0;
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	s = parse_num(s, 3, max_h, &h);
	if (s && *s == ':') {
		s = parse_num(s + 1, 2, 59, &m);
		if (s && *s == ':')
			s = parse_num(s + 1, 2, 59, &sec);
	}
	if (s)
		*out = sign * (h * HOUR + m * 60 + sec);
	return s;
}

/* Jn (1..365, Feb 29 never counted), n (0..365) or Mm.w.d, then [/time]. */
static const char *parse_rdate(const char *s, rdate *d)
{
	if (*s == 'J') {
		d->kind = 'J';
		s = parse_num(s + 1, 3, 365, &d->n);
		if (s && d->n < 1)
			return NULL;
	} else if (*s == 'M') {
		d->kind = 'M';
		s = parse_num(s + 1, 2, 12, &d->mon);
		if (s && *s == '.')
			s = parse_num(s + 1, 1, 5, &d->week);
		else
			s = NULL;
		if (s && *s == '.')
			s = parse_num(s + 1, 1, 6, &d->wday);
		else
			s = NULL;
		if (s && (d->mon < 1 || d->week < 1))
			return NULL;
	} else {
		d->kind = 'D';
		s = parse_num(s, 3, 365, &d->n);
	}
	d->secs = 2 * HOUR;
	if (s && *s == '/')
		s = parse_hms(s + 1, 167, &d->secs);
	return s;
}

/* std offset [dst [offset] ,start[/time],end[/time]] */
static int parse_rule(const char *s, rule *r)
{
	int32_t posix;
	memset(r, 0, sizeof *r);
	if (strlen(s) > FOOTER_MAX || !(s = parse_name(s)) || !(s = parse_hms(s, 24, &posix)))
		return TZ_ERULE;
	r->std_off = -posix;
	if (*s == 0)
		return TZ_OK;
	if (!(s = parse_name(s)))
		return TZ_ERULE;
	r->has_dst = true;
	r->dst_off = r->std_off + HOUR;
	if (*s != ',' && *s != 0) {
		if (!(s = parse_hms(s, 24, &posix)))
			return TZ_ERULE;
		r->dst_off = -posix;
	}
	if (*s != ',' || !(s = parse_rdate(s + 1, &r->start)) || *s != ',' ||
	    !(s = parse_rdate(s + 1, &r->end)) || *s != 0)
		return TZ_ERULE;
	return TZ_OK;
}

/* ---- rule arithmetic ---------------------------------------------------- */

/* Days since the epoch of the rule's date in year y. */
static int64_t rdate_day(const rdate *d, int64_t y)
{
	int64_t jan1 = days_from_civil(y, 1, 1);
	if (d->kind == 'J')
		return jan1 + d->n - 1 + (is_leap(y) && d->n >= 60);
	if (d->kind == 'D')
		return jan1 + d->n;
	int64_t first = days_from_civil(y, d->mon, 1);
	int day = (d->wday - weekday(first) + 7) % 7 + 7 * (d->week - 1);
	while (day >= month_days(y, d->mon))
		day -= 7;
	return first + day;
}

typedef struct {
	int64_t at;
	bool into_dst;
} event;

/* The UTC instants at which DST starts and ends in year y. */
static void year_events(const rule *r, int64_t y, event ev[2])
{
	ev[0] = (event){ rdate_day(&r->start, y) * DAY + r->start.secs - r->std_off, true };
	ev[1] = (event){ rdate_day(&r->end, y) * DAY + r->end.secs - r->dst_off, false };
}

/* Orders events by time; at a tie the end comes first, so DST that ends
 * exactly when next year's starts ("0/0,J365/25") stays on. */
static bool event_before(event a, event b)
{
	return a.at < b.at || (a.at == b.at && !a.into_dst && b.into_dst);
}

/* The rule's span containing t, starting no earlier than floor. */
static span rule_span(const rule *r, int64_t t, int64_t floor)
{
	span s = { floor, INT64_MAX, r->std_off, false };
	if (!r->has_dst)
		return s;
	t = t < -RULE_LIMIT ? -RULE_LIMIT : t > RULE_LIMIT ? RULE_LIMIT : t;
	/* Rule times reach ±167 h past their dates, so look two years each way. */
	int64_t y = year_of_days(floor_div(t + r->std_off, DAY));
	event last = { INT64_MIN, false }, next = { INT64_MAX, false };
	for (int64_t k = y - 2; k <= y + 2; k++) {
		event ev[2];
		year_events(r, k, ev);
		for (int i = 0; i < 2; i++) {
			if (ev[i].at <= t && (last.at == INT64_MIN || event_before(last, ev[i])))
				last = ev[i];
			if (ev[i].at > t && ev[i].at < next.at)
				next = ev[i];
		}
	}
	s.start = max64(floor, last.at);
	s.end = next.at;
	s.dst = last.into_dst;
	s.off = s.dst ? r->dst_off : r->std_off;
	return s;
}

/* ---- offset lookup ------------------------------------------------------ */

/* Number of transitions at or before t. */
static size_t trans_upto(const tz *z, int64_t t)
{
	size_t lo = 0, hi = z->ntrans;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->trans[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static span type_span(const tz *z, size_t type, int64_t start, int64_t end)
{
	return (span){ start, end, z->types[type].utoff, z->types[type].isdst };
}

/* The stretch of one offset that contains t. */
static span span_at(const tz *z, int64_t t)
{
	size_t n = z->ntrans, i = trans_upto(z, t);
	if (n == 0)
		return z->has_rule ? rule_span(&z->rule, t, INT64_MIN)
				   : type_span(z, 0, INT64_MIN, INT64_MAX);
	if (i == 0)
		return type_span(z, 0, INT64_MIN, z->trans[0]);
	if (i < n)
		return type_span(z, z->tidx[i - 1], z->trans[i - 1], z->trans[i]);
	return z->has_rule ? rule_span(&z->rule, t, z->trans[n - 1])
			   : type_span(z, z->tidx[n - 1], z->trans[n - 1], INT64_MAX);
}

int32_t tz_offset(const tz *z, int64_t utc_s, bool *is_dst)
{
	span s = span_at(z, clamp_time(utc_s));
	if (is_dst)
		*is_dst = s.dst;
	return s.off;
}

/* ---- local to UTC ------------------------------------------------------- */

/* Every way the wall clock can show local: the earliest and latest instants
 * showing it (count of them in n), or, if it is skipped, the first gap that
 * skips it: the transition instant and the offset before it. */
typedef struct {
	int n;
	int64_t first, last;
	bool gap;
	int64_t gap_end;
	int32_t gap_off_before;
} matches;

static matches find_local(const tz *z, int64_t local)
{
	matches m = { 0 };
	/* local - utc lies in (-25h, 26h), so every match is in this window. */
	int64_t lo = local - 26 * HOUR, hi = local + 25 * HOUR;
	span s = span_at(z, lo);
	for (;;) {
		int64_t cand = local - s.off;
		if (cand >= s.start && cand < s.end) {
			if (m.n++ == 0)
				m.first = cand;
			m.last = cand;
		}
		if (s.end > hi || s.end == INT64_MAX)
			break;
		span next = span_at(z, s.end);
		if (next.start < s.end)
			break;   /* cannot happen: spans tile time */
		if (!m.gap && local >= s.end + s.off && local < s.end + next.off) {
			m.gap = true;
			m.gap_end = s.end;
			m.gap_off_before = s.off;
		}
		s = next;
	}
	return m;
}

int64_t tz_local_to_utc(const tz *z, int64_t local_s, enum tz_policy policy)
{
	local_s = clamp_time(local_s);
	matches m = find_local(z, local_s);
	if (m.n > 0)
		return policy == TZ_LATER ? m.last : m.first;
	if (m.gap)
		return local_s - m.gap_off_before;
	return local_s - tz_offset(z, local_s, NULL);   /* unreachable */
}

int64_t tz_day_start(const tz *z, int64_t utc_s)
{
	utc_s = clamp_time(utc_s);
	int64_t local = utc_s + tz_offset(z, utc_s, NULL);
	int64_t midnight = floor_div(local, DAY) * DAY;
	matches m = find_local(z, midnight);
	/* The earliest of the midnights and the gap's end not after utc_s. */
	int64_t best = INT64_MAX;
	if (m.n > 0 && m.first <= utc_s)
		best = m.first;
	if (m.gap && m.gap_end <= utc_s && m.gap_end < best)
		best = m.gap_end;
	if (best == INT64_MAX)   /* unreachable: some entry into the day precedes utc_s */
		best = utc_s - (local - midnight);
	return best;
}

/* ---- TZif parsing ------------------------------------------------------- */

typedef struct {
	const uint8_t *p;
	size_t left;
} cursor;

static const uint8_t *take(cursor *c, size_t n)
{
	if (n > c->left)
		return NULL;
	const uint8_t *p = c->p;
	c->p += n;
	c->left -= n;
	return p;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct {
	char version;            /* 0, '2', '3' or '4' */
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} header;

static int read_header(cursor *c, header *h)
{
	const uint8_t *p = take(c, 44);
	if (!p || memcmp(p, "TZif", 4) != 0)
		return TZ_EFORMAT;
	h->version = (char)p[4];
	if (h->version != 0 && (h->version < '2' || h->version > '4'))
		return TZ_EFORMAT;
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	return TZ_OK;
}

/* Bytes of the data block after a header; timesz is 4 (v1) or 8. */
static uint64_t block_size(const header *h, unsigned timesz)
{
	return (uint64_t)h->timecnt * (timesz + 1) + (uint64_t)h->typecnt * 6 +
	       h->charcnt + (uint64_t)h->leapcnt * (timesz + 4) + h->isstdcnt +
	       h->isutcnt;
}

/* The counts RFC 8536 §3.1 requires of the block we use. */
static int check_counts(const header *h)
{
	if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0 ||
	    (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
		return TZ_EFORMAT;
	return TZ_OK;
}

/* The parsed data block, pointing into the file and a scratch tz. */
typedef struct {
	const uint8_t *times, *idx, *types, *chars, *isstd, *isut;
	unsigned timesz;
	header h;
} block;

static int split_block(cursor *c, const header *h, unsigned timesz, block *b)
{
	b->h = *h;
	b->timesz = timesz;
	if (block_size(h, timesz) > c->left)
		return TZ_EFORMAT;
	b->times = take(c, (size_t)h->timecnt * timesz);
	b->idx = take(c, h->timecnt);
	b->types = take(c, (size_t)h->typecnt * 6);
	b->chars = take(c, h->charcnt);
	take(c, (size_t)h->leapcnt * (timesz + 4));
	b->isstd = take(c, h->isstdcnt);
	b->isut = take(c, h->isutcnt);
	return TZ_OK;
}

static int64_t block_time(const block *b, size_t i)
{
	const uint8_t *p = b->times + i * b->timesz;
	return b->timesz == 8 ? be64(p) : (int64_t)(int32_t)be32(p);
}

/* Every value in range, every index in bounds, times strictly ascending. */
static int check_block(const block *b)
{
	const header *h = &b->h;
	for (size_t i = 0; i < h->timecnt; i++) {
		if (b->idx[i] >= h->typecnt)
			return TZ_EFORMAT;
		if (i > 0 && block_time(b, i) <= block_time(b, i - 1))
			return TZ_EFORMAT;
	}
	for (size_t i = 0; i < h->typecnt; i++) {
		const uint8_t *t = b->types + i * 6;
		int32_t off = (int32_t)be32(t);
		if (off < UTOFF_MIN || off > UTOFF_MAX || t[4] > 1 || t[5] >= h->charcnt)
			return TZ_EFORMAT;
		if ((h->isstdcnt && b->isstd[i] > 1) || (h->isutcnt && b->isut[i] > 1) ||
		    (h->isutcnt && b->isut[i] && !(h->isstdcnt && b->isstd[i])))
			return TZ_EFORMAT;
	}
	if (b->chars[h->charcnt - 1] != 0)   /* every designation terminated */
		return TZ_EFORMAT;
	return h->leapcnt ? TZ_ELEAP : TZ_OK;
}

/* "\n<TZ string>\n" and nothing after it; the string without newlines. */
static int read_footer(cursor *c, char out[FOOTER_MAX + 1])
{
	const uint8_t *nl = take(c, 1);
	if (!nl || *nl != '\n')
		return TZ_EFORMAT;
	const uint8_t *end = memchr(c->p, '\n', c->left);
	size_t len = end ? (size_t)(end - c->p) : 0;
	if (!end || len > FOOTER_MAX || memchr(c->p, 0, len) || c->left != len + 1)
		return TZ_EFORMAT;
	memcpy(out, c->p, len);
	out[len] = 0;
	take(c, len + 1);
	return TZ_OK;
}

/* One allocation holding the tz, its arrays and its name. */
static tz *tz_alloc(size_t ntrans, size_t ntypes, const char *name)
{
	size_t namelen = strlen(name) + 1;
	size_t size = sizeof(tz) + ntrans * sizeof(int64_t) + ntypes * sizeof(ttype) +
		      ntrans + namelen;
	tz *z = calloc(1, size);
	if (!z)
		return NULL;
	int64_t *trans = (int64_t *)(z + 1);
	ttype *types = (ttype *)(trans + ntrans);
	uint8_t *tidx = (uint8_t *)(types + ntypes);
	char *nm = (char *)(tidx + ntrans);
	memcpy(nm, name, namelen);
	z->ntrans = ntrans;
	z->ntypes = ntypes;
	z->trans = trans;
	z->types = types;
	z->tidx = tidx;
	z->name = nm;
	return z;
}

static tz *build(const block *b, const rule *r, const char *name, int *err)
{
	tz *z = tz_alloc(b->h.timecnt, b->h.typecnt, name);
	if (!z) {
		set_err(err, TZ_ENOMEM);
		return NULL;
	}
	int64_t *trans = (int64_t *)z->trans;
	ttype *types = (ttype *)z->types;
	for (size_t i = 0; i < z->ntrans; i++)
		trans[i] = block_time(b, i);
	memcpy((uint8_t *)z->tidx, b->idx, z->ntrans);
	for (size_t i = 0; i < z->ntypes; i++) {
		types[i].utoff = (int32_t)be32(b->types + i * 6);
		types[i].isdst = b->types[i * 6 + 4];
	}
	if (r) {
		z->has_rule = true;
		z->rule = *r;
	}
	set_err(err, TZ_OK);
	return z;
}

tz *tz_parse(const void *data, size_t len, const char *name, int *err)
{
	cursor c = { data, len };
	header h;
	block b;
	char footer[FOOTER_MAX + 1] = "";
	rule r;
	int rc = read_header(&c, &h);
	if (rc == TZ_OK && h.version >= '2') {
		/* Skip the 32-bit block; use the 64-bit one after it. */
		rc = split_block(&c, &h, 4, &b);
		char v1 = h.version;
		if (rc == TZ_OK)
			rc = read_header(&c, &h);
		if (rc == TZ_OK && h.version != v1)
			rc = TZ_EFORMAT;
	}
	if (rc == TZ_OK)
		rc = check_counts(&h);
	if (rc == TZ_OK)
		rc = split_block(&c, &h, h.version ? 8 : 4, &b);
	if (rc == TZ_OK)
		rc = check_block(&b);
	if (rc == TZ_OK && h.version)
		rc = read_footer(&c, footer);
	else if (rc == TZ_OK && c.left)
		rc = TZ_EFORMAT;   /* bytes after a version 1 file */
	if (rc == TZ_OK && footer[0])
		rc = parse_rule(footer, &r);
	if (rc != TZ_OK) {
		set_err(err, rc);
		return NULL;
	}
	return build(&b, footer[0] ? &r : NULL, name ? name : "", err);
}

/* A zone with no transitions, the rule spec all the time. */
static tz *from_rule(const char *spec, const char *name, int *err)
{
	rule r;
	int rc = spec ? parse_rule(spec, &r) : TZ_ERULE;
	if (rc != TZ_OK) {
		set_err(err, rc);
		return NULL;
	}
	tz *z = tz_alloc(0, 1, name);
	if (!z) {
		set_err(err, TZ_ENOMEM);
		return NULL;
	}
	((ttype *)z->types)[0] = (ttype){ r.std_off, false };
	z->has_rule = true;
	z->rule = r;
	set_err(err, TZ_OK);
	return z;
}

tz *tz_from_posix(const char *spec, int *err)
{
	return from_rule(spec, spec, err);
}

/* ---- files -------------------------------------------------------------- */

static bool name_char_ok(char c)
{
	return is_alpha(c) || is_digit(c) || c == '_' || c == '+' || c == '-' ||
	       c == '.' || c == '/';
}

/* Relative, [A-Za-z0-9_+-./] only, no "", "." or ".." component. */
static bool name_ok(const char *name)
{
	if (!name)
		return false;
	size_t len = strnlen(name, TZ_NAME_MAX + 1);
	if (len == 0 || len > TZ_NAME_MAX)
		return false;
	const char *comp = name;
	for (const char *p = name;; p++) {
		if (*p == '/' || *p == 0) {
			size_t n = (size_t)(p - comp);
			if (n == 0 || (n == 1 && comp[0] == '.') ||
			    (n == 2 && comp[0] == '.' && comp[1] == '.'))
				return false;
			if (*p == 0)
				return true;
			comp = p + 1;
		} else if (!name_char_ok(*p)) {
			return false;
		}
	}
}

/* Reads a regular file of at most FILE_MAX bytes into *out (malloc'd). */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) ? TZ_ENOZONE : TZ_EIO;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return TZ_ENOZONE;
	}
	uint8_t *data = malloc(FILE_MAX + 1);
	size_t got = 0;
	int rc = data ? TZ_OK : TZ_ENOMEM;
	while (rc == TZ_OK && got <= FILE_MAX) {
		ssize_t n = read(fd, data + got, FILE_MAX + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = TZ_EIO;
		else if (n == 0)
			break;
		else
			got += (size_t)n;
	}
	close(fd);
	if (rc == TZ_OK && got > FILE_MAX)
		rc = TZ_EFORMAT;
	if (rc != TZ_OK) {
		free(data);
		return rc;
	}
	*out = data;
	*len = got;
	return TZ_OK;
}

bool tz_name_valid(const char *name)
{
	return name_ok(name);
}

static bool is_utc_name(const char *name)
{
	return strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0;
}

tz *tz_load_from(const char *root, const char *name, int *err)
{
	if (!root || !name_ok(name)) {
		set_err(err, TZ_ENAME);
		return NULL;
	}
	char path[4096];
	int n = snprintf(path, sizeof path, "%s/%s", root, name);
	if (n < 0 || (size_t)n >= sizeof path) {
		set_err(err, TZ_ENAME);
		return NULL;
	}
	uint8_t *data;
	size_t len;
	int rc = read_file(path, &data, &len);
	if (rc == TZ_ENOZONE && is_utc_name(name))
		return from_rule("UTC0", name, err);   /* no tzdata installed */
	if (rc != TZ_OK) {
		set_err(err, rc);
		return NULL;
	}
	tz *z = tz_parse(data, len, name, err);
	free(data);
	return z;
}

tz *tz_load(const char *name, int *err)
{
	return tz_load_from(SYS_ZONEINFO, name, err);
}

void tz_free(tz **z)
{
	if (z) {
		free(*z);
		*z = NULL;
	}
}

const char *tz_name(const tz *z)
{
	return z->name;
}

const char *tz_strerror(int err)
{
	switch (err) {
	case TZ_OK: return "ok";
	case TZ_ENAME: return "unsafe or malformed time zone name";
	case TZ_ENOZONE: return "no such time zone";
	case TZ_EIO: return "time zone file could not be read";
	case TZ_EFORMAT: return "not a valid TZif file";
	case TZ_ERULE: return "malformed POSIX TZ string";
	case TZ_ELEAP: return "time zone files with leap seconds are not supported";
	case TZ_ENOMEM: return "out of memory";
	default: return "unknown time zone error";
	}
}
