/* hours — a department's business hours: parsing, the canonical stored
 * form, and whether they are open at an instant in an IANA time zone.
 *
 * On the API the hours are a JSON array of ranges, each
 *   {"day": "mon", "open": "09:00", "close": "17:00"}
 * day one of mon tue wed thu fri sat sun; times "HH:MM" on the 24-hour
 * clock, open 00:00..23:59, close after open, up to "24:00" (the end of
 * the day). A day may have several ranges (HOURS_DAY_MAX); ranges of one
 * day may touch (12:00-13:00 after 09:00-12:00) but not overlap. A range
 * never crosses midnight: a night shift is two ranges on two days. JSON
 * null means always open; an empty array means never open.
 *
 * The canonical text kept in the department record (rec_dept.hours, at
 * most REC_HOURS_MAX = 512 bytes) is:
 *   ""                 always open (the default)
 *   "none"             never open
 *   otherwise days in the order mon..sun, each once, separated by ';',
 *   each "<day> <range>[,<range>…]" with range "HH:MM-HH:MM", the ranges
 *   of a day in time order; days without ranges are left out. Example:
 *   "mon 09:00-12:00,13:00-17:00;tue 09:00-17:00;sat 10:00-14:00"
 * Equal hours have equal text, so the text may be compared.
 *
 * Whether the hours are open is decided on the zone's wall clock
 * (core/tz.h): at an instant, the local weekday and minute fall in a
 * range. Across a DST change this follows the clock on the wall: hours
 * 09:00-17:00 stay 09:00-17:00 local, and a range inside an hour the
 * clocks skip is never open that day.
 */
#ifndef PARLEY_HOURS_H
#define PARLEY_HOURS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/tz.h"

#define HOURS_DAY_MAX 6          /* ranges per day */
#define HOURS_TEXT_MAX 512       /* canonical text, without its NUL */

enum {
	HOURS_OK       = 0,
	HOURS_EPARSE   = -501,       /* not the form above (why says what) */
	HOURS_ERANGE   = -502,       /* close not after open */
	HOURS_EOVERLAP = -503,       /* two ranges of a day overlap */
	HOURS_ETOOMANY = -504,       /* over HOURS_DAY_MAX ranges on a day */
};

typedef struct {
	bool always;                 /* always open (the other fields unused) */
	uint8_t n[7];                /* ranges per day, 0 = Monday */
	struct {
		uint16_t open, close;    /* minutes since local midnight, close <= 1440 */
	} r[7][HOURS_DAY_MAX];
} hours;

/* Reads the API form (a JSON array, or JSON null / NULL for always open)
 * into *out; HOURS_OK or a HOURS_E* code with a sentence in why (may be
 * NULL) such as "mon 09:00-12:00 overlaps mon 11:00-13:00". */
int hours_from_json(const json_t *v, hours *out, char *why, size_t why_len);

/* Reads the canonical text; HOURS_OK or HOURS_E*. */
int hours_parse(const char *text, hours *out);

/* Writes the canonical text into out (cap bytes, at least
 * HOURS_TEXT_MAX + 1 to always fit); its length, or -1 if it does not fit. */
int hours_format(const hours *h, char *out, size_t cap);

/* The API form: a new JSON array, or JSON null for always open; NULL when
 * out of memory. */
json_t *hours_to_json(const hours *h);

/* The time zones loaded so far, kept for the owner's life (immutable
 * once loaded; any thread, behind a lock): the app owns one (kit/app.h
 * zones). At most 256 are kept. */
typedef struct hours_zones hours_zones;

/* NULL when out of memory. */
hours_zones *hours_zones_new(void);
void hours_zones_free(hours_zones **zs);

/* Whether h is open at epoch ms now_ms on the wall clock of zone: 1 open,
 * 0 closed, or a TZ_E* code (core/tz.h) when the zone does not load.
 * The zone is loaded once into zs and kept; past 256 kept zones one is
 * loaded for the call. */
int hours_is_open(hours_zones *zs, const hours *h, const char *zone, int64_t now_ms);

/* The same with a zone already loaded. */
bool hours_is_open_tz(const hours *h, const tz *z, int64_t now_ms);

/* The zone named, loaded once into zs and kept there (NULL with *err set
 * to a TZ_E* code when it does not load, TZ_ENOMEM when the 256 kept
 * zones are taken). */
const tz *hours_zone(hours_zones *zs, const char *name, int *err);

/* True when the zone exists and loads (the check for an unknown time
 * zone; works when the kept zones are full too). */
bool hours_zone_valid(hours_zones *zs, const char *name, int *err);

/* "mon".."sun" for 0..6; NULL otherwise. */
const char *hours_day_name(int d);

#endif
