#include "core/id.h"
#include "core/clock.h"
#include "core/crypto.h"

#include <stdio.h>

uint64_t id_next(id_gen *g)
{
	if (!g->salt) {
		uint16_t r = 0;
		crypto_random(&r, sizeof r);
		g->salt = ((uint64_t)(r & 0x7F) << 8) | 1;   /* benign race: any value is fine */
	}
	uint64_t want = (uint64_t)clock_now_ms() << 16 | (g->salt & 0x7F00);
	uint64_t last = atomic_load_explicit(&g->last, memory_order_relaxed);
	for (;;) {
		uint64_t next = want > last ? want : last + 1;
		if (atomic_compare_exchange_weak_explicit(&g->last, &last, next, memory_order_relaxed,
							  memory_order_relaxed))
			return next;
	}
}

char *id_str(uint64_t id, char out[24])
{
	snprintf(out, 24, "%llu", (unsigned long long)id);
	return out;
}

bool id_parse(const char *s, size_t len, uint64_t *out)
{
	if (len == 0 || len > 20)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v == 0)
		return false;
	*out = v;
	return true;
}
