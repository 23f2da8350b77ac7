/*
 * bench-balance: nanoseconds per pick for every strategy with 10 and 1,000
 * slots, driven as the engine drives a balancer: each pick is followed by
 * an update (the task goes in flight) and by the end of the oldest task
 * in flight (another update), keeping about two tasks per slot in flight
 * against a capacity of four.
 *
 * "pick" is the pick alone: the cycle's time minus a replay of the same
 * updates without picks.  "cycle" is pick + 2 updates.  The baseline is a
 * naive O(n) scan for minimum_connection (ties round robin) over a plain
 * array with the same task pattern, measured in the same run; "ratio" is
 * cycle / baseline.  Each figure is the best of five rounds, each round
 * running every contender once.
 *
 * Usage: bench-balance [iterations]   (default 200000)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pooltop/balance.h"
#include "bench.h"

#define CAPACITY	4
#define RUNS		5

static uint64_t	sink;

/* The task pattern shared by every contender: a FIFO of tasks in flight. */
struct fifo {
	unsigned	*q;
	size_t		 head, tail, cap, depth;
};

static void
fifo_init(struct fifo *f, unsigned depth, size_t iters)
{
	f->cap = iters + 1;
	f->q = calloc(f->cap, sizeof *f->q);
	if (f->q == NULL) {
		perror("bench-balance");
		exit(1);
	}
	f->head = f->tail = 0;
	f->depth = depth;
}

static void
slots_init(struct balance_slot *st, unsigned n)
{
	unsigned	i;

	for (i = 0; i < n; i++) {
		memset(&st[i], 0, sizeof st[i]);
		st[i].live = true;
		st[i].capacity = CAPACITY;
		st[i].cpu = (double)((i * 37) % 90);	/* least_load sees samples */
		st[i].rss = (uint64_t)(20 + i % 7) << 20;
	}
}

static struct balancer *
setup(enum balance_strategy strategy, unsigned n, struct balance_slot *st)
{
	struct balancer	*b;
	unsigned	 i;

	if (balancer_new(&b, strategy, n, 42) < 0) {
		fprintf(stderr, "bench-balance: balancer_new failed\n");
		exit(1);
	}
	slots_init(st, n);
	for (i = 0; i < n; i++) {
		balancer_set_weight(b, i, i % 3 + 1);
		balancer_update(b, i, &st[i]);
	}
	return b;
}

/*
 * The engine's cycle with the balancer; records the picks in rec so that
 * the replay can do the same updates.  Returns ns per cycle.
 */
static double
run_balancer(enum balance_strategy strategy, unsigned n, size_t iters,
    unsigned *rec, char keys[][16])
{
	struct balance_slot	*st = calloc(n, sizeof *st);
	struct balancer		*b;
	struct fifo		 f;
	uint64_t		 t0, t1;
	size_t			 i;

	if (st == NULL)
		exit(1);
	b = setup(strategy, n, st);
	fifo_init(&f, 2 * n, iters);
	balancer_pick(b, NULL, 0);	/* weights_polling: fresh cycle now */
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		const char	*key = keys[i % 64];
		int		 p = balancer_pick(b, key,
		    strategy == BALANCE_SPECIFY ? strlen(key) : 0);
		unsigned	 s;

		if (p < 0)
			p = 0;	/* not reached: the FIFO leaves room */
		s = (unsigned)p;
		rec[i] = s;
		st[s].in_flight++;
		balancer_update(b, s, &st[s]);
		f.q[f.tail++] = s;
		if (f.tail - f.head > f.depth) {
			unsigned	d = f.q[f.head++];

			st[d].in_flight--;
			balancer_update(b, d, &st[d]);
		}
	}
	t1 = now_ns();
	sink += rec[iters / 2];
	balancer_free(b);
	free(f.q);
	free(st);
	return (double)(t1 - t0) / (double)iters;
}

/* The same updates as run_balancer() made, without the picks. */
static double
run_replay(enum balance_strategy strategy, unsigned n, size_t iters,
    const unsigned *rec)
{
	struct balance_slot	*st = calloc(n, sizeof *st);
	struct balancer		*b;
	struct fifo		 f;
	uint64_t		 t0, t1;
	size_t			 i;

	if (st == NULL)
		exit(1);
	b = setup(strategy, n, st);
	fifo_init(&f, 2 * n, iters);
	balancer_pick(b, NULL, 0);
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		unsigned	s = rec[i];

		st[s].in_flight++;
		balancer_update(b, s, &st[s]);
		f.q[f.tail++] = s;
		if (f.tail - f.head > f.depth) {
			unsigned	d = f.q[f.head++];

			st[d].in_flight--;
			balancer_update(b, d, &st[d]);
		}
	}
	t1 = now_ns();
	balancer_free(b);
	free(f.q);
	free(st);
	return (double)(t1 - t0) / (double)iters;
}

/* Baseline: minimum_connection by scanning every slot, O(n) per pick. */
static double
run_naive(unsigned n, size_t iters)
{
	struct balance_slot	*st = calloc(n, sizeof *st);
	struct fifo		 f;
	unsigned		 cursor = 0;
	uint64_t		 t0, t1;
	size_t			 i;

	if (st == NULL)
		exit(1);
	slots_init(st, n);
	fifo_init(&f, 2 * n, iters);
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		unsigned	best = UINT32_MAX, bestv = UINT32_MAX, j, k;

		/* First slot with the fewest in flight, from the cursor on. */
		for (k = 0; k < n; k++) {
			j = cursor + k < n ? cursor + k : cursor + k - n;
			if (st[j].live && st[j].in_flight < st[j].capacity &&
			    st[j].in_flight < bestv) {
				best = j;
				bestv = st[j].in_flight;
			}
		}
		if (best == UINT32_MAX)
			best = 0;
		cursor = best + 1 < n ? best + 1 : 0;
		st[best].in_flight++;
		f.q[f.tail++] = best;
		if (f.tail - f.head > f.depth)
			st[f.q[f.head++]].in_flight--;
		sink += best;
	}
	t1 = now_ns();
	free(f.q);
	free(st);
	return (double)(t1 - t0) / (double)iters;
}

static double
min2(double a, double b)
{
	return a < b ? a : b;
}

int
main(int argc, char **argv)
{
	static const unsigned	sizes[] = { 10, 1000 };
	static char		keys[64][16];
	size_t			iters = 200000;
	unsigned		*rec;
	unsigned		z, s, r, i;

	if (argc > 1) {
		iters = strtoul(argv[1], NULL, 10);
		if (iters == 0) {
			fprintf(stderr, "usage: bench-balance [iterations]\n");
			return 2;
		}
	}
	/* specify: half the keys name slots, half are hashed. */
	for (i = 0; i < 64; i++) {
		if (i % 2)
			snprintf(keys[i], sizeof keys[i], "%u", i * 7 % 10);
		else
			snprintf(keys[i], sizeof keys[i], "user:%u", i);
	}
	rec = calloc(iters, sizeof *rec);
	if (rec == NULL)
		return 1;

	printf("%-27s %6s %10s %10s %12s %7s\n", "strategy", "slots",
	    "ns/pick", "ns/cycle", "naive ns/cyc", "ratio");
	for (z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
		unsigned	n = sizes[z];
		double		naive = 1e30;
		double		cycle[BALANCE_NSTRATEGIES];
		double		replay[BALANCE_NSTRATEGIES];

		for (s = 0; s < BALANCE_NSTRATEGIES; s++)
			cycle[s] = replay[s] = 1e30;
		/* Rounds interleave the contenders, so load hits all alike. */
		for (r = 0; r < RUNS; r++) {
			naive = min2(naive, run_naive(n, iters));
			for (s = 0; s < BALANCE_NSTRATEGIES; s++) {
				enum balance_strategy	 e = s;

				cycle[s] = min2(cycle[s],
				    run_balancer(e, n, iters, rec, keys));
				replay[s] = min2(replay[s],
				    run_replay(e, n, iters, rec));
			}
		}
		for (s = 0; s < BALANCE_NSTRATEGIES; s++) {
			double	pick = cycle[s] - replay[s];

			printf("%-27s %6u %10.1f %10.1f %12.1f %7.2f\n",
			    balance_strategy_name((enum balance_strategy)s),
			    n, pick > 0 ? pick : 0, cycle[s], naive,
			    cycle[s] / naive);
		}
	}
	free(rec);
	fprintf(stderr, "(checksum %llu)\n", (unsigned long long)sink);
	return 0;
}
