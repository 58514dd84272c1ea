/* Fuzz target for core/tz.
 *
 * An input starting with "TZif" is parsed as a TZif file (tz_parse), any
 * other as a POSIX TZ string (tz_from_posix, up to the first NUL). A zone
 * that loads is queried at fixed instants and at instants taken from the
 * input, and must keep its promises: an offset within RFC 8536's bounds,
 * a day start not after the instant, and wall time mapped back to the
 * instants showing it (the earlier not after the later, the instant itself
 * between them). A broken promise aborts, so the fuzzer reports logic bugs
 * as well as memory errors.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void check_instant(const tz *z, int64_t t)
{
	t = t < -((int64_t)1 << 58) ? -((int64_t)1 << 58) : t;
	t = t > ((int64_t)1 << 58) ? ((int64_t)1 << 58) : t;
	bool dst;
	int32_t off = tz_offset(z, t, &dst);
	CHECK(off > -25 * 3600 && off < 26 * 3600);
	CHECK(tz_day_start(z, t) <= t);
	int64_t local = t + off;
	int64_t e = tz_local_to_utc(z, local, TZ_EARLIER);
	int64_t l = tz_local_to_utc(z, local, TZ_LATER);
	CHECK(e <= t && t <= l);
	CHECK(e + tz_offset(z, e, NULL) == local && l + tz_offset(z, l, NULL) == local);
	/* Any wall time at all: defined, whatever it is. */
	(void)tz_local_to_utc(z, t, TZ_EARLIER);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tz *z;
	int err = 1;
	if (size >= 4 && memcmp(data, "TZif", 4) == 0) {
		z = tz_parse(data, size, "fuzz", &err);
	} else {
		char spec[512];
		size_t n = size < sizeof spec - 1 ? size : sizeof spec - 1;
		memcpy(spec, data, n);
		spec[n] = 0;
		z = tz_from_posix(spec, &err);
	}
	CHECK((z != NULL) == (err == TZ_OK));
	if (!z)
		return 0;
	static const int64_t fixed[] = { INT64_MIN, -((int64_t)1 << 40), -2208988800, -1, 0,
					 1711846800, 2147483647, 4102444800, (int64_t)1 << 40,
					 INT64_MAX };
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		check_instant(z, fixed[i]);
	for (size_t i = 0; i + 8 <= size && i < 8 * 64; i += 8) {
		int64_t t;
		memcpy(&t, data + i, 8);
		check_instant(z, t >> 24);   /* mostly within a few hundred years */
	}
	tz_free(&z);
	CHECK(z == NULL);
	return 0;
}
