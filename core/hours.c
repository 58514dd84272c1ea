/* hours — see hours.h. */
#include "core/hours.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const days[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

const char *hours_day_name(int d)
{
	return d >= 0 && d < 7 ? days[d] : NULL;
}

static int day_parse(const char *s)
{
	for (int i = 0; i < 7; i++)
		if (strcmp(s, days[i]) == 0)
			return i;
	return -1;
}

/* "HH:MM" (exactly five characters) into minutes; -1 otherwise. 24:00 is
 * 1440 (only a close may be). */
static int hm_parse(const char *s, size_t len)
{
	if (len != 5 || s[2] != ':')
		return -1;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

static void hm_fmt(int m, char out[6])
{
	int h = m / 60 % 100;
	m %= 60;
	out[0] = (char)('0' + h / 10);
	out[1] = (char)('0' + h % 10);
	out[2] = ':';
	out[3] = (char)('0' + m / 10);
	out[4] = (char)('0' + m % 10);
	out[5] = '\0';
}

__attribute__((format(printf, 3, 4)))
static void say(char *why, size_t len, const char *fmt, ...)
{
	if (!why || !len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* Adds a range to day d, refusing bad ones; ranges are sorted by check(). */
static int add(hours *h, int d, int open, int close, char *why, size_t wl)
{
	char o[6], c[6];
	hm_fmt(open, o);
	hm_fmt(close, c);
	if (open >= 1440) {
		say(why, wl, "open %s is not a time of the day (00:00 to 23:59)", o);
		return HOURS_EPARSE;
	}
	if (close <= open) {
		say(why, wl, "close %s is not after open %s", c, o);
		return HOURS_ERANGE;
	}
	if (h->n[d] == HOURS_DAY_MAX) {
		say(why, wl, "%s has more than %d ranges", days[d], HOURS_DAY_MAX);
		return HOURS_ETOOMANY;
	}
	h->r[d][h->n[d]].open = (uint16_t)open;
	h->r[d][h->n[d]].close = (uint16_t)close;
	h->n[d]++;
	return HOURS_OK;
}

static int by_open(const void *a, const void *b)
{
	const uint16_t *x = a, *y = b;
	return (int)x[0] - (int)y[0];
}

/* Sorts each day's ranges and refuses overlaps. */
static int check(hours *h, char *why, size_t wl)
{
	for (int d = 0; d < 7; d++) {
		qsort(h->r[d], h->n[d], sizeof h->r[d][0], by_open);
		for (int i = 1; i < h->n[d]; i++)
			if (h->r[d][i].open < h->r[d][i - 1].close) {
				char a[32], b[32], o1[6], c1[6], o2[6], c2[6];
				hm_fmt(h->r[d][i - 1].open, o1);
				hm_fmt(h->r[d][i - 1].close, c1);
				hm_fmt(h->r[d][i].open, o2);
				hm_fmt(h->r[d][i].close, c2);
				snprintf(a, sizeof a, "%s %s-%s", days[d], o1, c1);
				snprintf(b, sizeof b, "%s %s-%s", days[d], o2, c2);
				say(why, wl, "%s overlaps %s", a, b);
				return HOURS_EOVERLAP;
			}
	}
	return HOURS_OK;
}

int hours_from_json(const json_t *v, hours *out, char *why, size_t wl)
{
	memset(out, 0, sizeof *out);
	if (why && wl)
		why[0] = '\0';
	if (!v || json_is_null(v)) {
		out->always = true;
		return HOURS_OK;
	}
	if (!json_is_array(v)) {
		say(why, wl, "hours must be an array of {day, open, close} or null");
		return HOURS_EPARSE;
	}
	size_t i;
	const json_t *e;
	json_array_foreach(v, i, e) {
		char at[32];
		snprintf(at, sizeof at, "%zu", i);
		if (!json_is_object(e) || json_object_size(e) != 3) {
			say(why, wl, "range %s must be an object with day, open and close", at);
			return HOURS_EPARSE;
		}
		const json_t *jd = json_object_get(e, "day"), *jo = json_object_get(e, "open"),
			     *jc = json_object_get(e, "close");
		if (!json_is_string(jd) || !json_is_string(jo) || !json_is_string(jc)) {
			say(why, wl, "range %s must be an object with day, open and close", at);
			return HOURS_EPARSE;
		}
		int d = day_parse(json_string_value(jd));
		if (d < 0) {
			say(why, wl, "range %s: day must be one of mon tue wed thu fri sat sun", at);
			return HOURS_EPARSE;
		}
		int o = hm_parse(json_string_value(jo), json_string_length(jo));
		int c = hm_parse(json_string_value(jc), json_string_length(jc));
		if (o < 0 || c < 0) {
			say(why, wl, "range %s: times must be HH:MM (00:00 to 24:00)", at);
			return HOURS_EPARSE;
		}
		int rc = add(out, d, o, c, why, wl);
		if (rc)
			return rc;
	}
	int rc = check(out, why, wl);
	if (rc)
		return rc;
	char text[HOURS_TEXT_MAX + 1];
	if (hours_format(out, text, sizeof text) < 0) {
		say(why, wl, "too many ranges");
		return HOURS_ETOOMANY;
	}
	return HOURS_OK;
}

int hours_parse(const char *text, hours *out)
{
	memset(out, 0, sizeof *out);
	if (!text[0]) {
		out->always = true;
		return HOURS_OK;
	}
	if (strcmp(text, "none") == 0)
		return HOURS_OK;
	const char *p = text;
	int prev = -1;
	for (;;) {
		if (strlen(p) < 4 || p[3] != ' ')
			return HOURS_EPARSE;
		char dn[4] = { p[0], p[1], p[2], 0 };
		int d = day_parse(dn);
		if (d <= prev)
			return HOURS_EPARSE;
		prev = d;
		p += 4;
		for (;;) {
			if (strlen(p) < 11 || p[5] != '-')
				return HOURS_EPARSE;
			int o = hm_parse(p, 5), c = hm_parse(p + 6, 5);
			if (o < 0 || c < 0)
				return HOURS_EPARSE;
			int rc = add(out, d, o, c, NULL, 0);
			if (rc)
				return rc;
			p += 11;
			if (*p != ',')
				break;
			p++;
		}
		if (*p == '\0')
			break;
		if (*p != ';')
			return HOURS_EPARSE;
		p++;
	}
	return check(out, NULL, 0);
}

int hours_format(const hours *h, char *out, size_t cap)
{
	if (cap == 0)
		return -1;
	out[0] = '\0';
	if (h->always)
		return 0;
	size_t n = 0;
	bool any = false;
	for (int d = 0; d < 7; d++) {
		if (!h->n[d])
			continue;
		int w = snprintf(out + n, cap - n, "%s%s ", any ? ";" : "", days[d]);
		if (w < 0 || (size_t)w >= cap - n)
			return -1;
		n += (size_t)w;
		any = true;
		for (int i = 0; i < h->n[d]; i++) {
			char o[6], c[6];
			hm_fmt(h->r[d][i].open, o);
			hm_fmt(h->r[d][i].close, c);
			w = snprintf(out + n, cap - n, "%s%s-%s", i ? "," : "", o, c);
			if (w < 0 || (size_t)w >= cap - n)
				return -1;
			n += (size_t)w;
		}
	}
	if (!any) {
		if (cap < 5)
			return -1;
		strcpy(out, "none");
		return 4;
	}
	return n > HOURS_TEXT_MAX ? -1 : (int)n;
}

json_t *hours_to_json(const hours *h)
{
	if (h->always)
		return json_null();
	json_t *a = json_array();
	for (int d = 0; a && d < 7; d++)
		for (int i = 0; i < h->n[d]; i++) {
			char o[6], c[6];
			hm_fmt(h->r[d][i].open, o);
			hm_fmt(h->r[d][i].close, c);
			if (json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "day", days[d], "open", o, "close", c))) {
				json_decref(a);
				return NULL;
			}
		}
	return a;
}

bool hours_is_open_tz(const hours *h, const tz *z, int64_t now_ms)
{
	if (h->always)
		return true;
	int64_t utc = now_ms >= 0 ? now_ms / 1000 : -((-now_ms + 999) / 1000);
	int64_t local = utc + tz_offset(z, utc, NULL);
	int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	int64_t sec = local - day * 86400;
	int wd = (int)(((day + 3) % 7 + 7) % 7);   /* 1970-01-01 was a Thursday */
	int m = (int)(sec / 60);
	for (int i = 0; i < h->n[wd]; i++)
		if (m >= h->r[wd][i].open && m < h->r[wd][i].close)
			return true;
	return false;
}

/* The zones loaded so far: a list that only grows (a handful of zones per
 * installation), under its lock. */
#define ZONES_MAX 256
struct hours_zones {
	pthread_mutex_t mu;
	tz *z[ZONES_MAX];
	int n;
};

hours_zones *hours_zones_new(void)
{
	hours_zones *zs = calloc(1, sizeof *zs);
	if (zs && pthread_mutex_init(&zs->mu, NULL)) {
		free(zs);
		return NULL;
	}
	return zs;
}

void hours_zones_free(hours_zones **zsp)
{
	hours_zones *zs = *zsp;
	if (!zs)
		return;
	for (int i = 0; i < zs->n; i++)
		tz_free(&zs->z[i]);
	pthread_mutex_destroy(&zs->mu);
	free(zs);
	*zsp = NULL;
}

const tz *hours_zone(hours_zones *zs, const char *name, int *err)
{
	int e = 0;
	if (!err)
		err = &e;
	*err = 0;
	if (!name || !tz_name_valid(name)) {
		*err = TZ_ENAME;
		return NULL;
	}
	pthread_mutex_lock(&zs->mu);
	for (int i = 0; i < zs->n; i++)
		if (strcmp(tz_name(zs->z[i]), name) == 0) {
			tz *z = zs->z[i];
			pthread_mutex_unlock(&zs->mu);
			return z;
		}
	tz *z = NULL;
	if (zs->n == ZONES_MAX)
		*err = TZ_ENOMEM;   /* full: the callers load it for the moment */
	else if ((z = tz_load(name, err)))
		zs->z[zs->n++] = z;
	pthread_mutex_unlock(&zs->mu);
	return z;
}

int hours_is_open(hours_zones *zs, const hours *h, const char *zone, int64_t now_ms)
{
	if (h->always)
		return 1;
	int err;
	const tz *z = hours_zone(zs, zone, &err);
	if (z)
		return hours_is_open_tz(h, z, now_ms) ? 1 : 0;
	if (err != TZ_ENOMEM)
		return err;
	/* the kept zones are full: this one is loaded for the call */
	tz *t = tz_load(zone, &err);
	if (!t)
		return err;
	int open = hours_is_open_tz(h, t, now_ms) ? 1 : 0;
	tz_free(&t);
	return open;
}

bool hours_zone_valid(hours_zones *zs, const char *name, int *err)
{
	int e = 0;
	if (!err)
		err = &e;
	if (hours_zone(zs, name, err))
		return true;
	if (*err != TZ_ENOMEM)
		return false;
	tz *t = tz_load(name, err);
	tz_free(&t);
	return *err == 0;
}
