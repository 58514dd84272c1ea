/* bench_hist — see bench_hist.h for the bucket layout. */
#include "bench_hist.h"

#include <string.h>

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

static int bucket_of(int64_t v)
{
	if (v < 0)
		v = 0;
	if (v < HIST_SUB)
		return (int)v;
	int k = 63 - __builtin_clzll((unsigned long long)v);
	if (k > HIST_MAX_EXP)
		return HIST_BUCKETS - 1;
	int sub = (int)((uint64_t)v >> (k - HIST_SUB_BITS)) - HIST_SUB;
	return HIST_SUB + (k - HIST_SUB_BITS) * HIST_SUB + sub;
}

/* Largest value that maps into bucket b. */
static int64_t bucket_high(int b)
{
	if (b < HIST_SUB)
		return b;
	int k = (b - HIST_SUB) / HIST_SUB + HIST_SUB_BITS;
	int sub = (b - HIST_SUB) % HIST_SUB;
	int64_t lo = ((int64_t)(HIST_SUB + sub)) << (k - HIST_SUB_BITS);
	return lo + ((int64_t)1 << (k - HIST_SUB_BITS)) - 1;
}

void hist_record(struct hist *h, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	if (h->count == 0 || ns < h->min)
		h->min = ns;
	if (ns > h->max)
		h->max = ns;
	h->count++;
	h->sum += (double)ns;
	h->buckets[bucket_of(ns)]++;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	if (src->count == 0)
		return;
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	for (int i = 0; i < HIST_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
}

int64_t hist_quantile(const struct hist *h, double q)
{
	if (h->count == 0)
		return 0;
	if (q <= 0)
		return h->min;
	if (q >= 1)
		return h->max;
	uint64_t rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (int i = 0; i < HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			int64_t v = bucket_high(i);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}

double hist_mean(const struct hist *h)
{
	return h->count ? h->sum / (double)h->count : 0.0;
}
