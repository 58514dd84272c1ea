/* bench_hist — log-linear latency histogram (HDR-like) for parley-bench.
 *
 * Values are nanoseconds. Values below 128 ns are stored exactly; above,
 * each power-of-two range [2^k, 2^(k+1)) is split into 128 equal
 * sub-buckets, so a recorded value is known to within 1/128 (< 0.8 %) of
 * itself. Values above 2^37 ns (~137 s, beyond the 100 s we promise) are
 * clamped into the top bucket; the exact maximum is kept separately. */
#ifndef PARLEY_BENCH_HIST_H
#define PARLEY_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB (1 << HIST_SUB_BITS)		/* 128 sub-buckets per octave */
#define HIST_MAX_EXP 37				/* top octave: [2^37, 2^38) ns */
#define HIST_BUCKETS (HIST_SUB + (HIST_MAX_EXP - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t count;
	int64_t min;
	int64_t max;
	double sum;
	uint64_t buckets[HIST_BUCKETS];
};

void hist_reset(struct hist *h);
void hist_record(struct hist *h, int64_t ns);
/* Adds every sample of src into dst. */
void hist_merge(struct hist *dst, const struct hist *src);
/* The value at quantile q (0..1): the upper edge of the bucket holding the
 * ceil(q*count)-th sample, capped at the exact max; 0 when empty. */
int64_t hist_quantile(const struct hist *h, double q);
double hist_mean(const struct hist *h);

#endif
