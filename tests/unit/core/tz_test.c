/* tz_test — time zones from TZif files: known offsets from the tz database,
 * a cross-check against glibc's localtime_r (this test is single-threaded,
 * so it may set TZ; the server never does) every 6 hours from 1970 to 2040
 * and to the second at every transition, wall time to UTC in gaps and
 * overlaps, local day starts (midnight skipped or repeated), the POSIX TZ
 * footer parser, corrupt and truncated files, unsafe names, and one zone
 * shared by several threads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/tz.h"

#define ZONEINFO "/usr/share/zoneinfo"
#define H 3600
#define M 60

/* ---- helpers ------------------------------------------------------------ */

/* A UTC instant from civil fields (timegm ignores TZ). */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = s };
	return (int64_t)timegm(&tm);
}

/* A local wall time as seconds: the same arithmetic, read as local. */
static int64_t wall(int y, int mo, int d, int h, int mi, int s)
{
	return utc(y, mo, d, h, mi, s);
}

static tz *load(const char *name)
{
	int err = 1;
	tz *z = tz_load(name, &err);
	if (!z)
		fail_msg("tz_load(%s): %s", name, tz_strerror(err));
	assert_int_equal(err, TZ_OK);
	assert_string_equal(tz_name(z), name);
	return z;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("open %s: %s", path, strerror(errno));
	uint8_t *data = malloc(1 << 16);
	assert_non_null(data);
	*len = fread(data, 1, 1 << 16, f);
	fclose(f);
	return data;
}

static void spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char tmp_root[64];

static void make_tmp_root(void)
{
	strcpy(tmp_root, "/tmp/parley_tz_test.XXXXXX");
	assert_non_null(mkdtemp(tmp_root));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void remove_tmp_root(void)
{
	nftw(tmp_root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Loads bytes written to <tmp_root>/<name>; NULL and *err on failure. */
static tz *load_bytes(const char *name, const void *data, size_t len, int *err)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", tmp_root, name);
	spit(path, data, len);
	return tz_load_from(tmp_root, name, err);
}

/* ---- glibc as the reference -------------------------------------------- */

/* Points glibc at a zone file (":/path") or a POSIX TZ string. */
static void glibc_use(const char *tzvalue)
{
	setenv("TZ", tzvalue, 1);
	tzset();
}

static void glibc_use_zone(const char *name)
{
	char v[256];
	snprintf(v, sizeof v, ":" ZONEINFO "/%s", name);
	glibc_use(v);
}

typedef struct {
	long off;
	bool dst;
	int64_t day;   /* local days since the epoch */
} glibc_local;

static glibc_local glibc_at(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	assert_non_null(localtime_r(&tt, &tm));
	int64_t local = t + tm.tm_gmtoff;
	return (glibc_local){ tm.tm_gmtoff, tm.tm_isdst > 0,
			      (local >= 0 ? local : local - 86399) / 86400 };
}

/* A key that changes whenever the offset or the DST flag does. */
static long glibc_key(int64_t t)
{
	glibc_local g = glibc_at(t);
	return g.off * 2 + g.dst;
}

static long ours_key(const tz *z, int64_t t)
{
	bool dst;
	int32_t off = tz_offset(z, t, &dst);
	return (long)off * 2 + dst;
}

/* The first instant in (a, b] whose key differs from a's. */
static int64_t glibc_change(int64_t a, int64_t b)
{
	long k = glibc_key(a);
	while (b - a > 1) {
		int64_t mid = a + (b - a) / 2;
		if (glibc_key(mid) == k)
			a = mid;
		else
			b = mid;
	}
	return b;
}

static int64_t ours_change(const tz *z, int64_t a, int64_t b)
{
	long k = ours_key(z, a);
	while (b - a > 1) {
		int64_t mid = a + (b - a) / 2;
		if (ours_key(z, mid) == k)
			a = mid;
		else
			b = mid;
	}
	return b;
}

typedef struct {
	long samples, transitions;
} sweep_count;

/* Compares z with glibc's current TZ every step seconds in [from, to): the
 * offset and DST flag; every transition to the second; the day start (it
 * is in the sample's local day, at local midnight or at a transition, and
 * the instant before it is in an earlier day); and local -> UTC, which
 * gives back the sample (one of the two policies in an overlap). */
static sweep_count sweep(const tz *z, const char *what, int64_t from, int64_t to, int64_t step)
{
	sweep_count n = { 0, 0 };
	for (int64_t t = from; t < to; t += step) {
		glibc_local g = glibc_at(t);
		bool dst;
		int32_t off = tz_offset(z, t, &dst);
		if (off != g.off || dst != g.dst)
			fail_msg("%s at %lld: offset %d dst %d, glibc %ld dst %d", what,
				 (long long)t, off, dst, g.off, g.dst);
		n.samples++;

		long k0 = glibc_key(t), k1 = glibc_key(t + step);
		if (k0 != k1 || ours_key(z, t + step) != k1) {
			int64_t tg = glibc_change(t, t + step), to_ = ours_change(z, t, t + step);
			if (tg != to_)
				fail_msg("%s: transition after %lld at %lld, glibc %lld", what,
					 (long long)t, (long long)to_, (long long)tg);
			n.transitions++;
		}

		int64_t ds = tz_day_start(z, t);
		glibc_local gd = glibc_at(ds), gb = glibc_at(ds - 1);
		bool at_midnight = (ds + gd.off) % 86400 == 0;
		bool at_change = glibc_key(ds - 1) != glibc_key(ds);
		if (ds > t || gd.day != g.day || gb.day >= g.day || !(at_midnight || at_change))
			fail_msg("%s: day start of %lld is %lld", what, (long long)t, (long long)ds);

		int64_t local = t + off;
		int64_t e = tz_local_to_utc(z, local, TZ_EARLIER);
		int64_t l = tz_local_to_utc(z, local, TZ_LATER);
		if (e > l || (e != t && l != t) || e + tz_offset(z, e, NULL) != local ||
		    l + tz_offset(z, l, NULL) != local)
			fail_msg("%s: local %lld of %lld gives %lld / %lld", what,
				 (long long)local, (long long)t, (long long)e, (long long)l);
	}
	return n;
}

/* ---- known values from the tz database ---------------------------------- */

typedef struct {
	const char *zone;
	int y, mo, d, h, mi, s;   /* UTC */
	int32_t off;
	bool dst;
} known;

static const known KNOWN[] = {
	{ "UTC", 2024, 6, 1, 12, 0, 0, 0, false },
	{ "Etc/UTC", 1970, 1, 1, 0, 0, 0, 0, false },
	{ "America/New_York", 1970, 1, 1, 0, 0, 0, -5 * H, false },
	{ "America/New_York", 2024, 3, 10, 6, 59, 59, -5 * H, false },
	{ "America/New_York", 2024, 3, 10, 7, 0, 0, -4 * H, true },
	{ "America/New_York", 2024, 11, 3, 5, 59, 59, -4 * H, true },
	{ "America/New_York", 2024, 11, 3, 6, 0, 0, -5 * H, false },
	{ "America/New_York", 2039, 7, 1, 12, 0, 0, -4 * H, true },     /* footer */
	{ "America/New_York", 2100, 1, 1, 0, 0, 0, -5 * H, false },
	/* British Standard Time, 1968-1971: +1 all year, not DST. */
	{ "Europe/London", 1970, 1, 1, 0, 0, 0, 1 * H, false },
	{ "Europe/London", 2024, 3, 31, 0, 59, 59, 0, false },
	{ "Europe/London", 2024, 3, 31, 1, 0, 0, 1 * H, true },
	{ "Europe/London", 2024, 10, 27, 0, 59, 59, 1 * H, true },
	{ "Europe/London", 2024, 10, 27, 1, 0, 0, 0, false },
	{ "Europe/Berlin", 2024, 3, 31, 0, 59, 59, 1 * H, false },
	{ "Europe/Berlin", 2024, 3, 31, 1, 0, 0, 2 * H, true },
	{ "Europe/Berlin", 2024, 10, 27, 0, 59, 59, 2 * H, true },
	{ "Europe/Berlin", 2024, 10, 27, 1, 0, 0, 1 * H, false },
	{ "Australia/Sydney", 2024, 4, 6, 15, 59, 59, 11 * H, true },
	{ "Australia/Sydney", 2024, 4, 6, 16, 0, 0, 10 * H, false },
	{ "Australia/Sydney", 2024, 10, 5, 15, 59, 59, 10 * H, false },
	{ "Australia/Sydney", 2024, 10, 5, 16, 0, 0, 11 * H, true },
	/* Chile changes at 24:00 Saturday: midnight skipped in September. */
	{ "America/Santiago", 2024, 4, 7, 2, 59, 59, -3 * H, true },
	{ "America/Santiago", 2024, 4, 7, 3, 0, 0, -4 * H, false },
	{ "America/Santiago", 2024, 9, 8, 3, 59, 59, -4 * H, false },
	{ "America/Santiago", 2024, 9, 8, 4, 0, 0, -3 * H, true },
	{ "America/Santiago", 2045, 1, 1, 0, 0, 0, -3 * H, true },      /* footer */
	{ "Pacific/Auckland", 2024, 4, 6, 13, 59, 59, 13 * H, true },
	{ "Pacific/Auckland", 2024, 4, 6, 14, 0, 0, 12 * H, false },
	{ "Pacific/Auckland", 2024, 9, 28, 13, 59, 59, 12 * H, false },
	{ "Pacific/Auckland", 2024, 9, 28, 14, 0, 0, 13 * H, true },
	{ "Asia/Kolkata", 1970, 1, 1, 0, 0, 0, 5 * H + 30 * M, false },
	{ "Asia/Kolkata", 2024, 6, 1, 0, 0, 0, 5 * H + 30 * M, false },
	{ "Asia/Kathmandu", 1985, 12, 31, 18, 29, 59, 5 * H + 30 * M, false },
	{ "Asia/Kathmandu", 1985, 12, 31, 18, 30, 0, 5 * H + 45 * M, false },
	{ "Asia/Kathmandu", 2060, 6, 1, 0, 0, 0, 5 * H + 45 * M, false },
	/* Lord Howe: DST is 30 minutes. */
	{ "Australia/Lord_Howe", 2024, 4, 6, 14, 59, 59, 11 * H, true },
	{ "Australia/Lord_Howe", 2024, 4, 6, 15, 0, 0, 10 * H + 30 * M, false },
	{ "Australia/Lord_Howe", 2024, 10, 5, 15, 29, 59, 10 * H + 30 * M, false },
	{ "Australia/Lord_Howe", 2024, 10, 5, 15, 30, 0, 11 * H, true },
	/* Iran: DST until 2022, none since. */
	{ "Asia/Tehran", 2021, 3, 21, 20, 29, 59, 3 * H + 30 * M, false },
	{ "Asia/Tehran", 2021, 3, 21, 20, 30, 0, 4 * H + 30 * M, true },
	{ "Asia/Tehran", 2021, 9, 21, 19, 29, 59, 4 * H + 30 * M, true },
	{ "Asia/Tehran", 2021, 9, 21, 19, 30, 0, 3 * H + 30 * M, false },
	{ "Asia/Tehran", 2024, 6, 1, 0, 0, 0, 3 * H + 30 * M, false },
	/* Morocco: +01 standard, "DST" of +00 during Ramadan (negative). */
	{ "Africa/Casablanca", 2024, 3, 10, 1, 59, 59, 1 * H, false },
	{ "Africa/Casablanca", 2024, 3, 10, 2, 0, 0, 0, true },
	{ "Africa/Casablanca", 2024, 4, 14, 1, 59, 59, 0, true },
	{ "Africa/Casablanca", 2024, 4, 14, 2, 0, 0, 1 * H, false },
	{ "America/St_Johns", 2024, 3, 10, 5, 29, 59, -3 * H - 30 * M, false },
	{ "America/St_Johns", 2024, 3, 10, 5, 30, 0, -2 * H - 30 * M, true },
	{ "America/St_Johns", 2024, 11, 3, 4, 29, 59, -2 * H - 30 * M, true },
	{ "America/St_Johns", 2024, 11, 3, 4, 30, 0, -3 * H - 30 * M, false },
	/* Kiribati's Line Islands skipped 1994-12-31 entirely. */
	{ "Pacific/Kiritimati", 1994, 12, 31, 9, 59, 59, -10 * H, false },
	{ "Pacific/Kiritimati", 1994, 12, 31, 10, 0, 0, 14 * H, false },
	{ "Pacific/Kiritimati", 2024, 6, 1, 0, 0, 0, 14 * H, false },
	/* Ireland: winter GMT is the "DST" (negative DST). */
	{ "Europe/Dublin", 2024, 1, 15, 12, 0, 0, 0, true },
	{ "Europe/Dublin", 2024, 7, 15, 12, 0, 0, 1 * H, false },
	{ "Europe/Dublin", 2050, 1, 15, 12, 0, 0, 0, true },             /* footer */
	{ "Asia/Beirut", 2016, 3, 26, 21, 59, 59, 2 * H, false },
	{ "Asia/Beirut", 2016, 3, 26, 22, 0, 0, 3 * H, true },
	{ "America/Havana", 2024, 11, 3, 4, 59, 59, -4 * H, true },
	{ "America/Havana", 2024, 11, 3, 5, 0, 0, -5 * H, false },
	/* Samoa skipped 2011-12-30. */
	{ "Pacific/Apia", 2011, 12, 30, 9, 59, 59, -10 * H, true },
	{ "Pacific/Apia", 2011, 12, 30, 10, 0, 0, 14 * H, true },
};

static void test_known_offsets(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof KNOWN / sizeof KNOWN[0]; i++) {
		const known *k = &KNOWN[i];
		tz *z = load(k->zone);
		int64_t t = utc(k->y, k->mo, k->d, k->h, k->mi, k->s);
		bool dst = !k->dst;
		int32_t off = tz_offset(z, t, &dst);
		if (off != k->off || dst != k->dst)
			fail_msg("%s %04d-%02d-%02d %02d:%02d:%02dZ: %d dst %d, want %d dst %d",
				 k->zone, k->y, k->mo, k->d, k->h, k->mi, k->s, off, dst,
				 k->off, k->dst);
		assert_int_equal(tz_offset(z, t, NULL), off);   /* is_dst may be NULL */
		/* The same value, according to glibc. */
		glibc_use_zone(k->zone);
		glibc_local g = glibc_at(t);
		assert_int_equal(g.off, k->off);
		assert_int_equal(g.dst, k->dst);
		tz_free(&z);
		assert_null(z);
	}
	unsetenv("TZ");
}

/* ---- the glibc cross-check ---------------------------------------------- */

static const char *const ZONES[] = {
	"America/New_York", "Europe/London", "Europe/Berlin", "Australia/Sydney",
	"America/Santiago", "Pacific/Auckland", "Asia/Kolkata", "Asia/Kathmandu",
	"Australia/Lord_Howe", "Asia/Tehran", "Africa/Casablanca", "America/St_Johns",
	"Pacific/Kiritimati", "UTC",
	/* and some with odd rules: negative DST, changes at 00:00, 24:00, 26:00
	 * or 50:00 (Gaza), the hour before midnight, a day skipped */
	"Europe/Dublin", "Asia/Beirut", "America/Havana", "America/Nuuk",
	"Asia/Gaza", "Asia/Jerusalem", "Pacific/Apia", "Africa/Cairo",
};
#define NZONES (sizeof ZONES / sizeof ZONES[0])

static void test_cross_check_glibc(void **state)
{
	(void)state;
	int64_t from = utc(1970, 1, 1, 0, 0, 0), to = utc(2040, 1, 1, 0, 0, 0);
	sweep_count total = { 0, 0 };
	for (size_t i = 0; i < NZONES; i++) {
		tz *z = load(ZONES[i]);
		glibc_use_zone(ZONES[i]);
		sweep_count n = sweep(z, ZONES[i], from, to, 6 * H);
		total.samples += n.samples;
		total.transitions += n.transitions;
		tz_free(&z);
	}
	unsetenv("TZ");
	assert_true(total.samples > 2000000);
	assert_true(total.transitions > 2000);
	print_message("tz: %zu zones x 1970-2040 every 6 h: %ld instants and %ld "
		      "transitions agree with glibc\n", NZONES, total.samples, total.transitions);
}

/* ---- wall time to UTC --------------------------------------------------- */

typedef struct {
	const char *zone;
	int y, mo, d, h, mi;        /* local wall time */
	int64_t earlier, later;     /* expected UTC, as utc(...) fields below */
} l2u;

static void check_l2u(const char *zone, int64_t local, int64_t earlier, int64_t later)
{
	tz *z = load(zone);
	int64_t e = tz_local_to_utc(z, local, TZ_EARLIER);
	int64_t l = tz_local_to_utc(z, local, TZ_LATER);
	if (e != earlier || l != later)
		fail_msg("%s local %lld: %lld / %lld, want %lld / %lld", zone, (long long)local,
			 (long long)e, (long long)l, (long long)earlier, (long long)later);
	tz_free(&z);
}

static void test_local_to_utc_gaps_and_overlaps(void **state)
{
	(void)state;
	/* Unambiguous. */
	check_l2u("America/New_York", wall(2024, 7, 1, 12, 0, 0),
		  utc(2024, 7, 1, 16, 0, 0), utc(2024, 7, 1, 16, 0, 0));
	check_l2u("Asia/Kathmandu", wall(2024, 7, 1, 12, 0, 0),
		  utc(2024, 7, 1, 6, 15, 0), utc(2024, 7, 1, 6, 15, 0));
	check_l2u("UTC", wall(2024, 7, 1, 12, 0, 0),
		  utc(2024, 7, 1, 12, 0, 0), utc(2024, 7, 1, 12, 0, 0));

	/* Northern spring forward: 02:30 does not exist; read as EST, it is
	 * the instant shown as 03:30 EDT. */
	check_l2u("America/New_York", wall(2024, 3, 10, 2, 30, 0),
		  utc(2024, 3, 10, 7, 30, 0), utc(2024, 3, 10, 7, 30, 0));
	/* The gap's edges: 02:00 is 03:00 EDT, 03:00 exists. */
	check_l2u("America/New_York", wall(2024, 3, 10, 2, 0, 0),
		  utc(2024, 3, 10, 7, 0, 0), utc(2024, 3, 10, 7, 0, 0));
	check_l2u("America/New_York", wall(2024, 3, 10, 3, 0, 0),
		  utc(2024, 3, 10, 7, 0, 0), utc(2024, 3, 10, 7, 0, 0));
	/* Northern fall back: 01:30 is EDT then EST. */
	check_l2u("America/New_York", wall(2024, 11, 3, 1, 30, 0),
		  utc(2024, 11, 3, 5, 30, 0), utc(2024, 11, 3, 6, 30, 0));
	check_l2u("Europe/Berlin", wall(2024, 3, 31, 2, 30, 0),
		  utc(2024, 3, 31, 1, 30, 0), utc(2024, 3, 31, 1, 30, 0));
	check_l2u("Europe/Berlin", wall(2024, 10, 27, 2, 30, 0),
		  utc(2024, 10, 27, 0, 30, 0), utc(2024, 10, 27, 1, 30, 0));
	check_l2u("America/St_Johns", wall(2024, 11, 3, 1, 15, 0),
		  utc(2024, 11, 3, 3, 45, 0), utc(2024, 11, 3, 4, 45, 0));

	/* Southern spring forward (October) and fall back (April). */
	check_l2u("Australia/Sydney", wall(2024, 10, 6, 2, 30, 0),
		  utc(2024, 10, 5, 16, 30, 0), utc(2024, 10, 5, 16, 30, 0));
	check_l2u("Australia/Sydney", wall(2024, 4, 7, 2, 30, 0),
		  utc(2024, 4, 6, 15, 30, 0), utc(2024, 4, 6, 16, 30, 0));
	check_l2u("Pacific/Auckland", wall(2024, 9, 29, 2, 30, 0),
		  utc(2024, 9, 28, 14, 30, 0), utc(2024, 9, 28, 14, 30, 0));
	check_l2u("Pacific/Auckland", wall(2024, 4, 7, 2, 30, 0),
		  utc(2024, 4, 6, 13, 30, 0), utc(2024, 4, 6, 14, 30, 0));
	/* Lord Howe: a 30-minute gap (02:00-02:30) and overlap (01:30-02:00). */
	check_l2u("Australia/Lord_Howe", wall(2024, 10, 6, 2, 15, 0),
		  utc(2024, 10, 5, 15, 45, 0), utc(2024, 10, 5, 15, 45, 0));
	check_l2u("Australia/Lord_Howe", wall(2024, 4, 7, 1, 45, 0),
		  utc(2024, 4, 6, 14, 45, 0), utc(2024, 4, 6, 15, 15, 0));
	/* Santiago: midnight skipped in September, 23:00 repeated in April. */
	check_l2u("America/Santiago", wall(2024, 9, 8, 0, 30, 0),
		  utc(2024, 9, 8, 4, 30, 0), utc(2024, 9, 8, 4, 30, 0));
	check_l2u("America/Santiago", wall(2024, 4, 6, 23, 30, 0),
		  utc(2024, 4, 7, 2, 30, 0), utc(2024, 4, 7, 3, 30, 0));
	/* Casablanca's negative DST: the clocks go back when Ramadan "DST"
	 * starts (02:00-03:00 repeated) and forward when it ends. */
	check_l2u("Africa/Casablanca", wall(2024, 3, 10, 2, 30, 0),
		  utc(2024, 3, 10, 1, 30, 0), utc(2024, 3, 10, 2, 30, 0));
	check_l2u("Africa/Casablanca", wall(2024, 4, 14, 2, 30, 0),
		  utc(2024, 4, 14, 2, 30, 0), utc(2024, 4, 14, 2, 30, 0));
	/* A whole day skipped: noon on 1994-12-31 in Kiritimati, read at -10,
	 * is shown as noon on 1995-01-01 at +14. */
	check_l2u("Pacific/Kiritimati", wall(1994, 12, 31, 12, 0, 0),
		  utc(1994, 12, 31, 22, 0, 0), utc(1994, 12, 31, 22, 0, 0));
	check_l2u("Pacific/Apia", wall(2011, 12, 30, 12, 0, 0),
		  utc(2011, 12, 30, 22, 0, 0), utc(2011, 12, 30, 22, 0, 0));
	/* After the file's transitions, from the footer. */
	check_l2u("America/New_York", wall(2050, 3, 13, 2, 30, 0),
		  utc(2050, 3, 13, 7, 30, 0), utc(2050, 3, 13, 7, 30, 0));
	check_l2u("America/New_York", wall(2050, 11, 6, 1, 30, 0),
		  utc(2050, 11, 6, 5, 30, 0), utc(2050, 11, 6, 6, 30, 0));

	/* Round trip far out (clamped arithmetic stays sane). */
	tz *z = load("Europe/Berlin");
	int64_t big = (int64_t)1 << 58;
	int64_t local = big + tz_offset(z, big, NULL);
	assert_true(tz_local_to_utc(z, local, TZ_EARLIER) == big ||
		    tz_local_to_utc(z, local, TZ_LATER) == big);
	(void)tz_local_to_utc(z, INT64_MAX, TZ_LATER);
	(void)tz_local_to_utc(z, INT64_MIN, TZ_EARLIER);
	(void)tz_offset(z, INT64_MAX, NULL);
	(void)tz_offset(z, INT64_MIN, NULL);
	assert_true(tz_day_start(z, INT64_MAX) <= INT64_MAX);
	(void)tz_day_start(z, INT64_MIN);
	tz_free(&z);
}

/* ---- local day starts --------------------------------------------------- */

static void check_day(const char *zone, int64_t t, int64_t want)
{
	tz *z = load(zone);
	int64_t got = tz_day_start(z, t);
	if (got != want)
		fail_msg("%s day start of %lld: %lld, want %lld", zone, (long long)t,
			 (long long)got, (long long)want);
	tz_free(&z);
}

static void test_day_start(void **state)
{
	(void)state;
	/* An ordinary day, and at its first and last second. */
	check_day("Asia/Kolkata", utc(2024, 6, 15, 10, 0, 0), utc(2024, 6, 14, 18, 30, 0));
	check_day("Asia/Kolkata", utc(2024, 6, 14, 18, 30, 0), utc(2024, 6, 14, 18, 30, 0));
	check_day("Asia/Kolkata", utc(2024, 6, 14, 18, 29, 59), utc(2024, 6, 13, 18, 30, 0));
	check_day("UTC", utc(2024, 6, 15, 10, 0, 0), utc(2024, 6, 15, 0, 0, 0));
	check_day("Pacific/Kiritimati", utc(2024, 6, 15, 9, 59, 59), utc(2024, 6, 14, 10, 0, 0));
	check_day("Pacific/Kiritimati", utc(2024, 6, 15, 10, 0, 0), utc(2024, 6, 15, 10, 0, 0));
	/* New York: a 23-hour day and a 25-hour day. */
	check_day("America/New_York", utc(2024, 3, 10, 12, 0, 0), utc(2024, 3, 10, 5, 0, 0));
	check_day("America/New_York", utc(2024, 3, 11, 12, 0, 0), utc(2024, 3, 11, 4, 0, 0));
	check_day("America/New_York", utc(2024, 11, 3, 12, 0, 0), utc(2024, 11, 3, 4, 0, 0));
	check_day("America/New_York", utc(2024, 11, 4, 12, 0, 0), utc(2024, 11, 4, 5, 0, 0));
	/* Sydney: the southern spring-forward day. */
	check_day("Australia/Sydney", utc(2024, 10, 6, 2, 0, 0), utc(2024, 10, 5, 14, 0, 0));
	check_day("Australia/Sydney", utc(2024, 10, 6, 20, 0, 0), utc(2024, 10, 6, 13, 0, 0));
	/* Santiago 2024-09-08: 00:00 never happened; the day began at 01:00 -03. */
	check_day("America/Santiago", utc(2024, 9, 8, 15, 0, 0), utc(2024, 9, 8, 4, 0, 0));
	check_day("America/Santiago", utc(2024, 9, 8, 3, 59, 59), utc(2024, 9, 7, 4, 0, 0));
	check_day("America/Santiago", utc(2024, 4, 7, 12, 0, 0), utc(2024, 4, 7, 4, 0, 0));
	/* Beirut 2016-03-27 and 2024-03-31: clocks jump from 00:00 to 01:00. */
	check_day("Asia/Beirut", utc(2016, 3, 27, 12, 0, 0), utc(2016, 3, 26, 22, 0, 0));
	check_day("Asia/Beirut", utc(2024, 3, 31, 12, 0, 0), utc(2024, 3, 30, 22, 0, 0));
	/* Havana: midnight skipped in March, repeated in November (01:00 CDT
	 * back to 00:00 CST): the day starts at the first midnight, also for
	 * instants in the repeated hour. */
	check_day("America/Havana", utc(2024, 3, 10, 12, 0, 0), utc(2024, 3, 10, 5, 0, 0));
	check_day("America/Havana", utc(2024, 11, 3, 12, 0, 0), utc(2024, 11, 3, 4, 0, 0));
	check_day("America/Havana", utc(2024, 11, 3, 5, 30, 0), utc(2024, 11, 3, 4, 0, 0));
	check_day("America/Havana", utc(2024, 11, 3, 4, 30, 0), utc(2024, 11, 3, 4, 0, 0));
	/* Apia skipped 2011-12-30: 12-31 began at the jump, 12-29 as usual. */
	check_day("Pacific/Apia", utc(2011, 12, 30, 12, 0, 0), utc(2011, 12, 30, 10, 0, 0));
	check_day("Pacific/Apia", utc(2011, 12, 30, 9, 0, 0), utc(2011, 12, 29, 10, 0, 0));
	check_day("Pacific/Kiritimati", utc(1994, 12, 31, 12, 0, 0), utc(1994, 12, 31, 10, 0, 0));
	/* Footer era, southern hemisphere, midnight skipped (Santiago 2050-09-04). */
	check_day("America/Santiago", utc(2050, 9, 4, 12, 0, 0), utc(2050, 9, 4, 4, 0, 0));
}

/* ---- the POSIX TZ string parser ----------------------------------------- */

static tz *posix(const char *spec)
{
	int err = 1;
	tz *z = tz_from_posix(spec, &err);
	if (!z)
		fail_msg("tz_from_posix(%s): %s", spec, tz_strerror(err));
	assert_int_equal(err, TZ_OK);
	assert_string_equal(tz_name(z), spec);
	return z;
}

static void check_posix(const char *spec, int64_t t, int32_t off, bool dst)
{
	tz *z = posix(spec);
	bool d = !dst;
	int32_t o = tz_offset(z, t, &d);
	if (o != off || d != dst)
		fail_msg("%s at %lld: %d dst %d, want %d dst %d", spec, (long long)t, o, d, off, dst);
	tz_free(&z);
}

/* Strings glibc parses the same way: compared over 2000-2060. */
static const char *const SPECS[] = {
	"UTC0",
	"EST5EDT,M3.2.0,M11.1.0",
	"EST+5EDT,M3.2.0/2,M11.1.0/2:00:00",
	"EST5EDT4,M3.2.0,M11.1.0",
	"<+0545>-5:45",
	"<+14>-14",
	"<-0930>9:30",
	"NST3:30NDT,M3.2.0,M11.1.0",
	"CET-1CEST,M3.5.0,M10.5.0/3",
	"GMT0BST,M3.5.0/1,M10.5.0",
	"IST-1GMT0,M10.5.0,M3.5.0/1",                 /* negative DST (Dublin) */
	"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",      /* 30-minute DST */
	"AEST-10AEDT,M10.1.0,M4.1.0/3",
	"NZST-12NZDT,M9.5.0,M4.1.0/3",
	"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",          /* old America/Godthab */
	"<-02>2<-01>,M3.5.0/-1,M10.5.0/0",           /* America/Nuuk */
	"<-04>4<-03>,M9.1.6/24,M4.1.6/24",           /* America/Santiago */
	"EET-2EEST,M4.5.5/0,M10.5.4/24",             /* Africa/Cairo */
	"IST-2IDT,M3.4.4/26,M10.5.0",                /* Asia/Jerusalem */
	"EET-2EEST,M3.4.4/50,M10.4.4/50",            /* Asia/Gaza */
	"EST5EDT,J60,J300",                          /* Jn: Feb 29 never counted */
	"EST5EDT,59/3,299/1:30",                     /* n: zero-based, Feb 29 counted */
	"XXX3YYY,M3.5.0/-167,M10.5.0/167",           /* the v3 limits */
};
#define NSPECS (sizeof SPECS / sizeof SPECS[0])

static void test_posix_strings_against_glibc(void **state)
{
	(void)state;
	int64_t from = utc(2000, 1, 1, 0, 0, 0), to = utc(2060, 1, 1, 0, 0, 0);
	sweep_count total = { 0, 0 };
	for (size_t i = 0; i < NSPECS; i++) {
		tz *z = posix(SPECS[i]);
		glibc_use(SPECS[i]);
		sweep_count n = sweep(z, SPECS[i], from, to, 6 * H);
		total.samples += n.samples;
		total.transitions += n.transitions;
		tz_free(&z);
	}
	unsetenv("TZ");
	print_message("tz: %zu POSIX TZ strings x 2000-2060 every 6 h: %ld instants and "
		      "%ld transitions agree with glibc\n", NSPECS, total.samples,
		      total.transitions);
}

static void test_posix_strings_known(void **state)
{
	(void)state;
	/* Fixed offsets, quoted names, minutes. */
	check_posix("<+0545>-5:45", utc(2024, 1, 1, 0, 0, 0), 5 * H + 45 * M, false);
	check_posix("<-0930>9:30", utc(2024, 1, 1, 0, 0, 0), -9 * H - 30 * M, false);
	check_posix("UTC0", 0, 0, false);
	check_posix("XXX-1:02:03", 0, H + 2 * M + 3, false);
	/* US rules: second Sunday of March, first Sunday of November. */
	check_posix("EST5EDT,M3.2.0,M11.1.0", utc(2024, 3, 10, 6, 59, 59), -5 * H, false);
	check_posix("EST5EDT,M3.2.0,M11.1.0", utc(2024, 3, 10, 7, 0, 0), -4 * H, true);
	check_posix("EST5EDT,M3.2.0,M11.1.0", utc(2024, 11, 3, 5, 59, 59), -4 * H, true);
	check_posix("EST5EDT,M3.2.0,M11.1.0", utc(2024, 11, 3, 6, 0, 0), -5 * H, false);
	/* Mm.5.d is the last such weekday: 2024-03-31 and 2024-10-27. */
	check_posix("CET-1CEST,M3.5.0,M10.5.0/3", utc(2024, 3, 31, 1, 0, 0), 2 * H, true);
	check_posix("CET-1CEST,M3.5.0,M10.5.0/3", utc(2024, 10, 27, 1, 0, 0), 1 * H, false);
	/* Negative rule times: Saturday 22:00 -03 and 23:00 -02, both Sunday
	 * 01:00 UTC like the EU. */
	const char *godthab = "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1";
	check_posix(godthab, utc(2024, 3, 31, 0, 59, 59), -3 * H, false);
	check_posix(godthab, utc(2024, 3, 31, 1, 0, 0), -2 * H, true);
	check_posix(godthab, utc(2024, 10, 27, 0, 59, 59), -2 * H, true);
	check_posix(godthab, utc(2024, 10, 27, 1, 0, 0), -3 * H, false);
	/* /24: Saturday 24:00 is Sunday 00:00. */
	check_posix("<-04>4<-03>,M9.1.6/24,M4.1.6/24", utc(2024, 9, 8, 4, 0, 0), -3 * H, true);
	/* /50 (Gaza): Thursday + 50 h = Saturday 02:00 EET = Saturday 00:00Z. */
	check_posix("EET-2EEST,M3.4.4/50,M10.4.4/50", utc(2030, 3, 29, 23, 59, 59), 2 * H, false);
	check_posix("EET-2EEST,M3.4.4/50,M10.4.4/50", utc(2030, 3, 30, 0, 0, 0), 3 * H, true);
	/* Jn never counts Feb 29 (J60 is always March 1); n does (59 is Feb 29
	 * in a leap year, March 1 otherwise). */
	check_posix("EST5EDT,J60,J300", utc(2024, 3, 1, 6, 59, 59), -5 * H, false);
	check_posix("EST5EDT,J60,J300", utc(2024, 3, 1, 7, 0, 0), -4 * H, true);
	check_posix("EST5EDT,J60,J300", utc(2023, 3, 1, 7, 0, 0), -4 * H, true);
	check_posix("EST5EDT,59/3,299/1:30", utc(2024, 2, 29, 7, 59, 59), -5 * H, false);
	check_posix("EST5EDT,59/3,299/1:30", utc(2024, 2, 29, 8, 0, 0), -4 * H, true);
	check_posix("EST5EDT,59/3,299/1:30", utc(2023, 3, 1, 8, 0, 0), -4 * H, true);
	/* 299 is 10-26 (leap) or 10-27; 01:30 EDT = 05:30Z. */
	check_posix("EST5EDT,59/3,299/1:30", utc(2024, 10, 26, 5, 29, 59), -4 * H, true);
	check_posix("EST5EDT,59/3,299/1:30", utc(2024, 10, 26, 5, 30, 0), -5 * H, false);
	/* DST all year (RFC 8536 §3.3.1): from Jan 1 00:00 to Dec 31 25:00 DST,
	 * which is next Jan 1 00:00 standard time. glibc 2.36 gets this wrong
	 * (standard time from Dec 31 20:00 to midnight UTC), so it is checked
	 * here rather than against glibc. */
	const char *perm = "WART4WARST,J1/0,J365/25";
	check_posix(perm, utc(2024, 1, 1, 4, 0, 0), -3 * H, true);
	check_posix(perm, utc(2024, 7, 1, 0, 0, 0), -3 * H, true);
	check_posix(perm, utc(2024, 12, 31, 23, 0, 0), -3 * H, true);
	check_posix(perm, utc(2025, 1, 1, 3, 59, 59), -3 * H, true);
	check_posix(perm, utc(2025, 1, 1, 4, 0, 0), -3 * H, true);
	/* A default DST offset is one hour ahead of standard time. */
	check_posix("AAA-10BBB,M1.1.0,M12.5.0", utc(2024, 6, 1, 0, 0, 0), 11 * H, true);
	/* Day starts under a rule that skips midnight. */
	tz *z = posix("EET-2EEST,M3.5.0/0,M10.5.0/0");
	assert_int_equal(tz_day_start(z, utc(2024, 3, 31, 12, 0, 0)), utc(2024, 3, 30, 22, 0, 0));
	tz_free(&z);
}

static void test_posix_strings_rejected(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "E", "ES", "EST", "ES5", "5", "EST 5", "EST5 ", "EST5x", "EST25",
		"EST-25", "EST5:60", "EST5:00:60", "EST5:", "EST+", "<+05", "<+5>-5",
		"<+05 30>-5", "<>0", "EST5EDT", "EST5EDT,", "EST5EDT,M3.2.0",
		"EST5EDT,M3.2.0,", "EST5EDT,M3.2.0,M11.1.0,", "EST5EDT,M3.2.0,M11.1.0x",
		"EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M0.1.0,M11.1.0", "EST5EDT,M3.0.0,M11.1.0",
		"EST5EDT,M3.6.0,M11.1.0", "EST5EDT,M3.2.7,M11.1.0", "EST5EDT,M3.2,M11.1.0",
		"EST5EDT,M3,M11.1.0", "EST5EDT,J0,J300", "EST5EDT,J366,J300",
		"EST5EDT,366,0", "EST5EDT,M3.2.0/168,M11.1.0", "EST5EDT,M3.2.0/-168,M11.1.0",
		"EST5EDT,M3.2.0/1:60,M11.1.0", "EST5EDT,M3.2.0/,M11.1.0",
		"EST5EDT25,M3.2.0,M11.1.0", "EST5ED,M3.2.0,M11.1.0", "EST5EDT;M3.2.0,M11.1.0",
		"EST5EDT,M3.2.0/2M11.1.0", "E1T5", "EST5\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int err = 0;
		tz *z = tz_from_posix(bad[i], &err);
		if (z || err != TZ_ERULE)
			fail_msg("\"%s\" accepted (err %d)", bad[i], err);
	}
	int err = 0;
	assert_null(tz_from_posix(NULL, &err));
	assert_int_equal(err, TZ_ERULE);
	char longspec[400];
	memset(longspec, 'A', sizeof longspec - 3);
	strcpy(longspec + sizeof longspec - 3, "0");
	assert_null(tz_from_posix(longspec, &err));
	assert_int_equal(err, TZ_ERULE);
	assert_null(tz_from_posix("EST", NULL));   /* err may be NULL */
}

/* ---- TZif files: versions, corruption, names ---------------------------- */

/* Offsets of the interesting parts of a version 2+ file. */
typedef struct {
	size_t v2_header, v2_data, idx, types, chars, footer, len;
	uint32_t timecnt, typecnt, charcnt;
} layout;

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static layout layout_of(const uint8_t *f, size_t len)
{
	layout L = { 0 };
	const uint8_t *h = f;
	size_t v1 = (size_t)rd32(h + 32) * 5 + rd32(h + 36) * 6 + rd32(h + 40) +
		    rd32(h + 28) * 8 + rd32(h + 24) + rd32(h + 20);
	L.v2_header = 44 + v1;
	h = f + L.v2_header;
	L.timecnt = rd32(h + 32);
	L.typecnt = rd32(h + 36);
	L.charcnt = rd32(h + 40);
	L.v2_data = L.v2_header + 44;
	L.idx = L.v2_data + (size_t)L.timecnt * 8;
	L.types = L.idx + L.timecnt;
	L.chars = L.types + (size_t)L.typecnt * 6;
	L.footer = L.chars + L.charcnt + rd32(h + 28) * 12 + rd32(h + 24) + rd32(h + 20);
	L.len = len;
	assert_true(L.footer < len);
	assert_int_equal(f[L.footer], '\n');
	assert_int_equal(f[len - 1], '\n');
	return L;
}

typedef void (*mutator)(uint8_t *f, size_t *len, const layout *L);

static void m_magic(uint8_t *f, size_t *len, const layout *L) { (void)len; (void)L; f[3] = 'F'; }
static void m_version(uint8_t *f, size_t *len, const layout *L) { (void)len; (void)L; f[4] = '1'; }
static void m_version5(uint8_t *f, size_t *len, const layout *L)
{
	(void)len;
	f[4] = '5';
	f[L->v2_header + 4] = '5';
}
static void m_v2_version_differs(uint8_t *f, size_t *len, const layout *L) { (void)len; f[L->v2_header + 4] = '3'; }
static void m_v2_magic(uint8_t *f, size_t *len, const layout *L) { (void)len; f[L->v2_header] = 'X'; }
static void m_timecnt_huge(uint8_t *f, size_t *len, const layout *L) { (void)len; wr32(f + L->v2_header + 32, 0xffffffffu); }
static void m_timecnt_plus1(uint8_t *f, size_t *len, const layout *L) { (void)len; wr32(f + L->v2_header + 32, L->timecnt + 1); }
static void m_v1_timecnt_huge(uint8_t *f, size_t *len, const layout *L) { (void)len; (void)L; wr32(f + 32, 0x7fffffffu); }
static void m_charcnt_huge(uint8_t *f, size_t *len, const layout *L) { (void)len; wr32(f + L->v2_header + 40, 0xfffffff0u); }
static void m_typecnt_zero(uint8_t *f, size_t *len, const layout *L) { (void)len; wr32(f + L->v2_header + 36, 0); }
static void m_typecnt_257(uint8_t *f, size_t *len, const layout *L) { (void)len; wr32(f + L->v2_header + 36, 257); }
static void m_charcnt_zero(uint8_t *f, size_t *len, const layout *L) { (void)len; wr32(f + L->v2_header + 40, 0); }
static void m_isutcnt_odd(uint8_t *f, size_t *len, const layout *L) { (void)len; wr32(f + L->v2_header + 20, L->typecnt - 1); }
static void m_leapcnt_huge(uint8_t *f, size_t *len, const layout *L) { (void)len; wr32(f + L->v2_header + 28, 0x10000000u); }
static void m_index_oob(uint8_t *f, size_t *len, const layout *L) { (void)len; f[L->idx + L->timecnt / 2] = (uint8_t)L->typecnt; }
static void m_index_255(uint8_t *f, size_t *len, const layout *L) { (void)len; f[L->idx] = 255; }
static void m_unsorted(uint8_t *f, size_t *len, const layout *L)
{
	(void)len;
	uint8_t tmp[8];
	uint8_t *a = f + L->v2_data + 8 * 10, *b = a + 8;
	memcpy(tmp, a, 8);
	memcpy(a, b, 8);
	memcpy(b, tmp, 8);
}
static void m_duplicate_time(uint8_t *f, size_t *len, const layout *L)
{
	(void)len;
	memcpy(f + L->v2_data + 8 * 11, f + L->v2_data + 8 * 10, 8);
}
static void m_utoff_huge(uint8_t *f, size_t *len, const layout *L) { (void)len; wr32(f + L->types + 6, 0x7fffffffu); }
static void m_utoff_min(uint8_t *f, size_t *len, const layout *L) { (void)len; wr32(f + L->types, 0x80000000u); }
static void m_utoff_26h(uint8_t *f, size_t *len, const layout *L) { (void)len; wr32(f + L->types, 26 * 3600); }
static void m_isdst_2(uint8_t *f, size_t *len, const layout *L) { (void)len; f[L->types + 4] = 2; }
static void m_abbr_oob(uint8_t *f, size_t *len, const layout *L) { (void)len; f[L->types + 5] = (uint8_t)L->charcnt; }
static void m_chars_unterminated(uint8_t *f, size_t *len, const layout *L) { (void)len; f[L->chars + L->charcnt - 1] = 'X'; }
static void m_isstd_2(uint8_t *f, size_t *len, const layout *L) { (void)len; f[L->chars + L->charcnt] = 2; }
static void m_no_footer_nl(uint8_t *f, size_t *len, const layout *L) { (void)len; f[L->footer] = 'X'; }
static void m_no_final_nl(uint8_t *f, size_t *len, const layout *L) { (void)L; f[*len - 1] = 'X'; }
static void m_footer_nul(uint8_t *f, size_t *len, const layout *L) { (void)len; f[L->footer + 2] = 0; }
static void m_footer_bad(uint8_t *f, size_t *len, const layout *L) { (void)len; f[L->footer + 1] = '9'; }
static void m_trailing(uint8_t *f, size_t *len, const layout *L) { (void)L; f[(*len)++] = 'x'; }
static void m_extra_line(uint8_t *f, size_t *len, const layout *L)
{
	(void)L;
	memcpy(f + *len, "UTC0\n", 5);
	*len += 5;
}

static void test_corrupt_files_rejected(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		mutator m;
		int err;
	} cases[] = {
		{ "bad magic", m_magic, TZ_EFORMAT },
		{ "version '1'", m_version, TZ_EFORMAT },
		{ "version '5'", m_version5, TZ_EFORMAT },
		{ "second header's version differs", m_v2_version_differs, TZ_EFORMAT },
		{ "second header's magic", m_v2_magic, TZ_EFORMAT },
		{ "timecnt 2^32-1", m_timecnt_huge, TZ_EFORMAT },
		{ "timecnt + 1", m_timecnt_plus1, TZ_EFORMAT },
		{ "v1 timecnt 2^31-1", m_v1_timecnt_huge, TZ_EFORMAT },
		{ "charcnt huge", m_charcnt_huge, TZ_EFORMAT },
		{ "typecnt 0", m_typecnt_zero, TZ_EFORMAT },
		{ "typecnt 257", m_typecnt_257, TZ_EFORMAT },
		{ "charcnt 0", m_charcnt_zero, TZ_EFORMAT },
		{ "isutcnt neither 0 nor typecnt", m_isutcnt_odd, TZ_EFORMAT },
		{ "leapcnt huge", m_leapcnt_huge, TZ_EFORMAT },
		{ "type index = typecnt", m_index_oob, TZ_EFORMAT },
		{ "type index 255", m_index_255, TZ_EFORMAT },
		{ "transitions out of order", m_unsorted, TZ_EFORMAT },
		{ "transition repeated", m_duplicate_time, TZ_EFORMAT },
		{ "utoff 2^31-1", m_utoff_huge, TZ_EFORMAT },
		{ "utoff -2^31", m_utoff_min, TZ_EFORMAT },
		{ "utoff 26 h", m_utoff_26h, TZ_EFORMAT },
		{ "isdst 2", m_isdst_2, TZ_EFORMAT },
		{ "designation index = charcnt", m_abbr_oob, TZ_EFORMAT },
		{ "designations not NUL-terminated", m_chars_unterminated, TZ_EFORMAT },
		{ "standard/wall indicator 2", m_isstd_2, TZ_EFORMAT },
		{ "footer without its newline", m_no_footer_nl, TZ_EFORMAT },
		{ "footer without the final newline", m_no_final_nl, TZ_EFORMAT },
		{ "NUL in the footer", m_footer_nul, TZ_EFORMAT },
		{ "malformed footer", m_footer_bad, TZ_ERULE },
		{ "a byte after the footer", m_trailing, TZ_EFORMAT },
		{ "a line after the footer", m_extra_line, TZ_EFORMAT },
	};
	size_t len;
	uint8_t *orig = slurp(ZONEINFO "/America/New_York", &len);
	layout L = layout_of(orig, len);
	assert_true(L.timecnt > 20 && L.typecnt > 2);
	uint8_t *f = malloc(len + 16);
	assert_non_null(f);
	make_tmp_root();

	int err = 1;
	tz *z = load_bytes("intact", orig, len, &err);   /* the copy itself loads */
	assert_non_null(z);
	assert_int_equal(err, TZ_OK);
	tz_free(&z);

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memcpy(f, orig, len);
		size_t n = len;
		cases[i].m(f, &n, &L);
		err = 0;
		z = load_bytes("bad", f, n, &err);
		if (z || err != cases[i].err)
			fail_msg("%s: loaded %d, err %d (%s), want %d", cases[i].what, z != NULL,
				 err, tz_strerror(err), cases[i].err);
		/* The same bytes from memory. */
		err = 0;
		assert_null(tz_parse(f, n, "bad", &err));
		assert_int_equal(err, cases[i].err);
	}
	free(f);
	free(orig);
	remove_tmp_root();
}

/* Every proper prefix of real files, written to disk and loaded. */
static void test_truncated_files_rejected(void **state)
{
	(void)state;
	static const char *const names[] = { "America/New_York", "Asia/Kathmandu", "UTC",
					     "America/Santiago" };
	make_tmp_root();
	long tried = 0;
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		char path[256];
		snprintf(path, sizeof path, ZONEINFO "/%s", names[k]);
		size_t len;
		uint8_t *orig = slurp(path, &len);
		for (size_t cut = 0; cut < len; cut++) {
			int err = 0;
			tz *z = load_bytes("cut", orig, cut, &err);
			if (z || err != TZ_EFORMAT)
				fail_msg("%s cut at %zu of %zu: loaded %d err %d", names[k], cut,
					 len, z != NULL, err);
			tried++;
		}
		int err = 1;
		tz *z = load_bytes("cut", orig, len, &err);
		assert_non_null(z);
		tz_free(&z);
		free(orig);
	}
	remove_tmp_root();
	print_message("tz: %ld truncated files rejected\n", tried);
}

/* Builds a TZif file: the v1 block (32-bit) then, unless version is 0, the
 * v2 block (64-bit) and the footer. */
typedef struct {
	char version;
	size_t ntimes;
	const int64_t *times;
	const uint8_t *idx;
	size_t ntypes;
	const int32_t *utoff;
	const uint8_t *isdst;
	uint32_t leapcnt;
	const char *footer;
} spec_file;

static size_t put_block(uint8_t *out, const spec_file *s, unsigned timesz)
{
	uint8_t *p = out;
	memcpy(p, "TZif", 4);
	p[4] = (uint8_t)s->version;
	memset(p + 5, 0, 15);
	wr32(p + 20, 0);
	wr32(p + 24, 0);
	wr32(p + 28, s->leapcnt);
	wr32(p + 32, (uint32_t)s->ntimes);
	wr32(p + 36, (uint32_t)s->ntypes);
	wr32(p + 40, 4);
	p += 44;
	for (size_t i = 0; i < s->ntimes; i++) {
		if (timesz == 8) {
			wr32(p, (uint32_t)((uint64_t)s->times[i] >> 32));
			wr32(p + 4, (uint32_t)s->times[i]);
		} else {
			wr32(p, (uint32_t)s->times[i]);
		}
		p += timesz;
	}
	if (s->ntimes)
		memcpy(p, s->idx, s->ntimes);
	p += s->ntimes;
	for (size_t i = 0; i < s->ntypes; i++) {
		wr32(p, (uint32_t)s->utoff[i]);
		p[4] = s->isdst[i];
		p[5] = 0;
		p += 6;
	}
	memcpy(p, "ABC", 4);
	p += 4;
	memset(p, 0, s->leapcnt * (timesz + 4));
	p += s->leapcnt * (timesz + 4);
	return (size_t)(p - out);
}

static size_t build_file(uint8_t *out, const spec_file *s)
{
	size_t n = put_block(out, s, 4);
	if (s->version) {
		n += put_block(out + n, s, 8);
		n += (size_t)sprintf((char *)out + n, "\n%s\n", s->footer);
	}
	return n;
}

static void test_versions_and_type_zero(void **state)
{
	(void)state;
	uint8_t file[512];
	int err;
	/* Type 0 is DST (+1), type 1 standard (0); one transition at 0 to type
	 * 1. Before it RFC 8536 §3.2 says type 0 (glibc 2.36 still picks the
	 * first standard type; zic always makes these the same). */
	static const int64_t times[] = { 0 };
	static const uint8_t idx[] = { 1 };
	static const int32_t utoff[] = { 3600, 0 };
	static const uint8_t isdst[] = { 1, 0 };
	for (char v = 0; v <= '4'; v = v ? (char)(v + 1) : '2') {
		spec_file s = { v, 1, times, idx, 2, utoff, isdst, 0, "" };
		size_t n = build_file(file, &s);
		err = 1;
		tz *z = tz_parse(file, n, "synthetic", &err);
		if (!z)
			fail_msg("version %d: %s", v, tz_strerror(err));
		assert_string_equal(tz_name(z), "synthetic");
		bool dst = false;
		assert_int_equal(tz_offset(z, -1, &dst), 3600);
		assert_true(dst);
		assert_int_equal(tz_offset(z, 0, &dst), 0);
		assert_false(dst);
		/* No footer (empty, or version 1): the last type stays. */
		assert_int_equal(tz_offset(z, (int64_t)1 << 40, NULL), 0);
		tz_free(&z);
		/* A version 1 file ends after its block. */
		if (v == 0) {
			file[n] = 0;
			assert_null(tz_parse(file, n + 1, "x", &err));
			assert_int_equal(err, TZ_EFORMAT);
		}
	}
	/* No transitions, a footer: the footer rules all time. */
	static const int32_t est[] = { -5 * 3600 };
	static const uint8_t no[] = { 0 };
	spec_file s = { '2', 0, NULL, NULL, 1, est, no, 0, "EST5EDT,M3.2.0,M11.1.0" };
	size_t n = build_file(file, &s);
	tz *z = tz_parse(file, n, "footer only", &err);
	assert_non_null(z);
	assert_int_equal(tz_offset(z, utc(1950, 7, 1, 0, 0, 0), NULL), -4 * H);
	assert_int_equal(tz_offset(z, utc(2050, 1, 1, 0, 0, 0), NULL), -5 * H);
	tz_free(&z);
	/* No transitions, no footer: type 0 for ever. */
	s.footer = "";
	n = build_file(file, &s);
	z = tz_parse(file, n, "fixed", &err);
	assert_non_null(z);
	assert_int_equal(tz_offset(z, utc(2050, 7, 1, 0, 0, 0), NULL), -5 * H);
	tz_free(&z);
	/* Leap-second records are refused (Parley's clock is POSIX time). */
	s.leapcnt = 1;
	n = build_file(file, &s);
	assert_null(tz_parse(file, n, "leap", &err));
	assert_int_equal(err, TZ_ELEAP);
	if (access(ZONEINFO "/right/UTC", R_OK) == 0) {
		assert_null(tz_load("right/UTC", &err));
		assert_int_equal(err, TZ_ELEAP);
	}
}

/* The 32-bit block of a real file, alone as a version 1 file, agrees with
 * the full file wherever 32-bit time reaches. */
static void test_version1_block_of_real_file(void **state)
{
	(void)state;
	size_t len;
	uint8_t *f = slurp(ZONEINFO "/Europe/Berlin", &len);
	layout L = layout_of(f, len);
	f[4] = 0;
	int err = 1;
	tz *v1 = tz_parse(f, L.v2_header, "v1", &err);
	assert_non_null(v1);
	tz *v2 = load("Europe/Berlin");
	for (int64_t t = utc(1902, 1, 1, 0, 0, 0); t < utc(2037, 12, 31, 0, 0, 0); t += 6 * H) {
		bool d1, d2;
		int32_t o1 = tz_offset(v1, t, &d1), o2 = tz_offset(v2, t, &d2);
		if (o1 != o2 || d1 != d2)
			fail_msg("at %lld: v1 %d/%d, v2 %d/%d", (long long)t, o1, d1, o2, d2);
	}
	tz_free(&v1);
	tz_free(&v2);
	free(f);
}

static void test_names(void **state)
{
	(void)state;
	static const char *const unsafe[] = {
		"", "/etc/passwd", "/usr/share/zoneinfo/UTC", "../etc/passwd", "..",
		".", "./UTC", "America/../UTC", "America/../../../etc/passwd",
		"America//New_York", "America/New_York/", "America/New York",
		"Europe\\London", "UTC\n", "America/New_York\x01", "%s%s%n", "~root",
		"Europe/Berlin;rm", "Z\xc3\xbcrich", "a:b", "UTC*",
	};
	for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++) {
		int err = 0;
		tz *z = tz_load(unsafe[i], &err);
		if (z || err != TZ_ENAME)
			fail_msg("\"%s\": loaded %d err %d", unsafe[i], z != NULL, err);
	}
	int err = 0;
	assert_null(tz_load(NULL, &err));
	assert_int_equal(err, TZ_ENAME);
	assert_null(tz_load_from(NULL, "UTC", &err));
	assert_int_equal(err, TZ_ENAME);
	/* TZ_NAME_MAX characters pass the check (no such zone), one more not. */
	char name[TZ_NAME_MAX + 2];
	memset(name, 'A', sizeof name);
	name[TZ_NAME_MAX] = 0;
	assert_null(tz_load(name, &err));
	assert_int_equal(err, TZ_ENOZONE);
	name[TZ_NAME_MAX] = 'A';
	name[TZ_NAME_MAX + 1] = 0;
	assert_null(tz_load(name, &err));
	assert_int_equal(err, TZ_ENAME);

	assert_null(tz_load("Mars/Olympus_Mons", &err));
	assert_int_equal(err, TZ_ENOZONE);
	assert_null(tz_load("America", &err));               /* a directory */
	assert_int_equal(err, TZ_ENOZONE);
	assert_null(tz_load("UTC/x", &err));                 /* through a file */
	assert_int_equal(err, TZ_ENOZONE);
	if (access(ZONEINFO "/zone.tab", R_OK) == 0) {
		assert_null(tz_load("zone.tab", &err));     /* not TZif */
		assert_int_equal(err, TZ_EFORMAT);
	}
	/* Names tzdata really uses: digits, '+', '-', '_', symlinks. */
	static const char *const ok[] = { "Etc/GMT+5", "Etc/GMT-14", "America/Port-au-Prince",
					  "America/Argentina/Buenos_Aires", "GB", "US/Eastern",
					  "America/Godthab" };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		tz *z = load(ok[i]);
		tz_free(&z);
	}
	tz *z = load("Etc/GMT+5");                           /* POSIX sign: west */
	assert_int_equal(tz_offset(z, 0, NULL), -5 * H);
	tz_free(&z);
	/* Unreadable file (root reads anything). */
	make_tmp_root();
	size_t len;
	uint8_t *utcf = slurp(ZONEINFO "/UTC", &len);
	char path[256];
	snprintf(path, sizeof path, "%s/locked", tmp_root);
	spit(path, utcf, len);
	chmod(path, 0);
	if (geteuid() != 0) {
		assert_null(tz_load_from(tmp_root, "locked", &err));
		assert_int_equal(err, TZ_EIO);
	}
	free(utcf);
	/* UTC works without tzdata; other names do not. */
	z = tz_load_from(tmp_root, "UTC", &err);
	assert_non_null(z);
	assert_string_equal(tz_name(z), "UTC");
	bool dst = true;
	assert_int_equal(tz_offset(z, utc(2024, 7, 1, 0, 0, 0), &dst), 0);
	assert_false(dst);
	assert_int_equal(tz_day_start(z, utc(2024, 7, 1, 13, 0, 0)), utc(2024, 7, 1, 0, 0, 0));
	tz_free(&z);
	z = tz_load_from(tmp_root, "Etc/UTC", &err);
	assert_non_null(z);
	tz_free(&z);
	assert_null(tz_load_from(tmp_root, "Etc/GMT", &err));
	assert_int_equal(err, TZ_ENOZONE);
	remove_tmp_root();

	tz_free(NULL);
	z = NULL;
	tz_free(&z);
	for (int e = TZ_ENOMEM; e <= TZ_OK; e++)
		assert_non_null(tz_strerror(e));
	assert_string_equal(tz_strerror(TZ_ENAME), "unsafe or malformed time zone name");
}

/* ---- one zone, many threads --------------------------------------------- */

enum { TH = 4, TH_SAMPLES = 20000 };

typedef struct {
	tz *zones[NZONES];
	int32_t want[NZONES][TH_SAMPLES];
	int64_t want_day[NZONES][TH_SAMPLES];
	int errors;
} shared;

static int64_t th_instant(int i)
{
	return utc(2000, 1, 1, 0, 0, 0) + (int64_t)i * 47 * 3607;
}

static void *th_worker(void *arg)
{
	shared *s = arg;
	int errors = 0;
	for (size_t k = 0; k < NZONES; k++)
		for (int i = 0; i < TH_SAMPLES; i++) {
			int64_t t = th_instant(i);
			errors += tz_offset(s->zones[k], t, NULL) != s->want[k][i];
			errors += tz_day_start(s->zones[k], t) != s->want_day[k][i];
		}
	return (void *)(intptr_t)errors;
}

static void test_shared_between_threads(void **state)
{
	(void)state;
	shared *s = calloc(1, sizeof *s);
	assert_non_null(s);
	for (size_t k = 0; k < NZONES; k++) {
		s->zones[k] = load(ZONES[k]);
		for (int i = 0; i < TH_SAMPLES; i++) {
			s->want[k][i] = tz_offset(s->zones[k], th_instant(i), NULL);
			s->want_day[k][i] = tz_day_start(s->zones[k], th_instant(i));
		}
	}
	pthread_t th[TH];
	for (int i = 0; i < TH; i++)
		assert_int_equal(pthread_create(&th[i], NULL, th_worker, s), 0);
	for (int i = 0; i < TH; i++) {
		void *r;
		pthread_join(th[i], &r);
		assert_int_equal((intptr_t)r, 0);
	}
	for (size_t k = 0; k < NZONES; k++)
		tz_free(&s->zones[k]);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_offsets),
		cmocka_unit_test(test_cross_check_glibc),
		cmocka_unit_test(test_local_to_utc_gaps_and_overlaps),
		cmocka_unit_test(test_day_start),
		cmocka_unit_test(test_posix_strings_against_glibc),
		cmocka_unit_test(test_posix_strings_known),
		cmocka_unit_test(test_posix_strings_rejected),
		cmocka_unit_test(test_corrupt_files_rejected),
		cmocka_unit_test(test_truncated_files_rejected),
		cmocka_unit_test(test_versions_and_type_zero),
		cmocka_unit_test(test_version1_block_of_real_file),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_shared_between_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
