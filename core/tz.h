/* tz — UTC offsets and local wall time in IANA time zones, without TZ.
 *
 * Business hours and analytics need local time in many zones at once inside
 * one threaded process, so Parley never sets TZ or calls tzset()/localtime()
 * (process-wide state, racy and one zone at a time). Instead each zone is
 * loaded once from the system's TZif file, /usr/share/zoneinfo/<name>
 * (RFC 8536 / RFC 9636, versions 1 to 4; the 64-bit block when present),
 * into a value that is immutable after loading: any number of threads may
 * use one tz at the same time without locks. Instants after the file's last
 * transition come from its footer, a POSIX TZ string such as
 * "EST5EDT,M3.2.0,M11.1.0" (with the RFC 8536 §3.3 extensions: quoted names
 * like <+0545>, rule times from -167 to 167 hours), so "slim" files with few
 * transitions give the same answers as "fat" ones.
 *
 * Units: whole seconds. A UTC instant is POSIX time (seconds since
 * 1970-01-01T00:00:00Z, no leap seconds). A local time is the same count on
 * the zone's wall clock, local = utc + offset, so gmtime_r() of a local
 * value gives its civil fields. Arguments are clamped to ±2^59 s (about
 * ±18 billion years), which keeps all arithmetic inside int64_t.
 */
#ifndef PARLEY_TZ_H
#define PARLEY_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tz tz;

enum {
	TZ_OK      = 0,
	TZ_ENAME   = -401,   /* unsafe or malformed zone name */
	TZ_ENOZONE = -402,   /* no such zone (no file, or not a regular file) */
	TZ_EIO     = -403,   /* the file exists but could not be read */
	TZ_EFORMAT = -404,   /* not a valid TZif file: magic, version, counts,
	                        indices, order, truncation or trailing bytes */
	TZ_ERULE   = -405,   /* malformed POSIX TZ string (footer or argument) */
	TZ_ELEAP   = -406,   /* leap-second records ("right/" zones) unsupported */
	TZ_ENOMEM  = -407,
};

/* What tz_local_to_utc does with a wall time that occurs twice (the hour
 * repeated when clocks fall back). A wall time that never occurs (skipped
 * when clocks spring forward) is always moved forward by the length of the
 * gap: it is read with the offset in effect before the change, so 02:30 on
 * the day New York skips 02:00-03:00 gives the instant shown as 03:30 EDT. */
enum tz_policy {
	TZ_EARLIER = 0,      /* the first occurrence (still on the old offset) */
	TZ_LATER   = 1,      /* the second occurrence (on the new offset) */
};

/* Longest zone name accepted ("America/Argentina/ComodRivadavia" is 32). */
#define TZ_NAME_MAX 64

/* True when name has the form tz_load accepts (it may still not exist). */
bool tz_name_valid(const char *name);

/* Loads /usr/share/zoneinfo/<name>, e.g. "Europe/Berlin". NULL on failure
 * with *err (may be NULL) set to a TZ_E* code. name must be 1..TZ_NAME_MAX
 * characters of [A-Za-z0-9_+-./], relative, with no empty, "." or ".."
 * component. "UTC" and "Etc/UTC" work even where the file is missing. */
tz *tz_load(const char *name, int *err);

/* Same, from <root>/<name> (root is trusted, e.g. a test's directory). */
tz *tz_load_from(const char *root, const char *name, int *err);

/* Parses TZif bytes already in memory; name is only remembered. */
tz *tz_parse(const void *data, size_t len, const char *name, int *err);

/* A zone given by a POSIX TZ string alone, e.g. "<+0545>-5:45" or
 * "CET-1CEST,M3.5.0,M10.5.0/3"; a DST name needs its ",start,end" rule. */
tz *tz_from_posix(const char *spec, int *err);

/* Frees the zone and sets *z to NULL; NULL or *z == NULL is a no-op. The
 * caller makes sure no other thread still uses it. */
void tz_free(tz **z);

/* The name it was loaded under (the spec for tz_from_posix). */
const char *tz_name(const tz *z);

/* UTC offset in seconds east of Greenwich at the UTC instant utc_s;
 * *is_dst (may be NULL) says whether it is daylight-saving time. Before the
 * file's first transition: time type 0 (RFC 8536 §3.2; zic makes it the
 * zone's first standard-time type, local mean time). */
int32_t tz_offset(const tz *z, int64_t utc_s, bool *is_dst);

/* The UTC instant shown as local_s on the zone's wall clock; gaps and
 * overlaps as enum tz_policy says. */
int64_t tz_local_to_utc(const tz *z, int64_t local_s, enum tz_policy policy);

/* The first instant of the local day containing utc_s: its local midnight,
 * the earlier one if midnight occurs twice, or, where the clocks skip
 * midnight (America/Santiago, Asia/Beirut, America/Havana springing forward
 * at 00:00), the instant they jump past it. Always <= utc_s. */
int64_t tz_day_start(const tz *z, int64_t utc_s);

/* A short English description of a TZ_E* code. */
const char *tz_strerror(int err);

#endif
