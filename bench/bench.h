/*
 * What the benchmark programs share: a monotonic clock in nanoseconds.
 */
#ifndef POOLTOP_BENCH_H
#define POOLTOP_BENCH_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
