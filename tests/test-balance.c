/*
 * Unit tests for the balancing strategies: exact sequences and exact
 * distributions for the deterministic ones, stated statistical bounds for
 * the random ones (seeded, so they are reproducible too), and the rules
 * every strategy keeps: dead, starting and full slots are never picked,
 * weight 0 is a last resort, sleeping workers come after awake ones.
 *
 * The expected random sequences were computed by an independent Python
 * implementation of splitmix64 + xoshiro256** (checked against the
 * published test vectors) and of the documented draw rule.
 */

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pooltop/balance.h"

#define MAXS	64

/* A pool as the engine drives it: the slots' states mirrored here. */
struct sim {
	struct balancer		*b;
	unsigned		 n;
	struct balance_slot	 st[MAXS];
};

static void
sim_init(struct sim *s, enum balance_strategy strategy, unsigned n,
    const unsigned *weights, unsigned capacity, uint64_t seed)
{
	unsigned	i;

	assert_true(n <= MAXS);
	memset(s, 0, sizeof *s);
	s->n = n;
	assert_int_equal(balancer_new(&s->b, strategy, n, seed), 0);
	for (i = 0; i < n; i++) {
		if (weights != NULL)
			balancer_set_weight(s->b, i, weights[i]);
		s->st[i].live = true;
		s->st[i].capacity = capacity;
		balancer_update(s->b, i, &s->st[i]);
	}
}

static void
sim_set(struct sim *s, unsigned i)
{
	balancer_update(s->b, i, &s->st[i]);
}

/* Picks and, as the engine does, counts the task in flight. */
static int
sim_pick_key(struct sim *s, const char *key)
{
	int	i = balancer_pick(s->b, key, key != NULL ? strlen(key) : 0);

	if (i >= 0) {
		assert_true((unsigned)i < s->n);
		assert_true(s->st[i].live);
		assert_true(s->st[i].in_flight < s->st[i].capacity);
		s->st[i].in_flight++;
		/* The engine's own path for a count alone. */
		balancer_set_in_flight(s->b, (unsigned)i, s->st[i].in_flight);
	}
	return i;
}

static int
sim_pick(struct sim *s)
{
	return sim_pick_key(s, NULL);
}

static void
sim_done(struct sim *s, unsigned i)
{
	assert_true(s->st[i].in_flight > 0);
	s->st[i].in_flight--;
	balancer_set_in_flight(s->b, i, s->st[i].in_flight);
}

static void
sim_free(struct sim *s)
{
	balancer_free(s->b);
	s->b = NULL;
}

static const enum balance_strategy all_strategies[] = {
	BALANCE_POLLING, BALANCE_WEIGHTS, BALANCE_RANDOM, BALANCE_SPECIFY,
	BALANCE_WEIGHTS_POLLING, BALANCE_WEIGHTS_RANDOM,
	BALANCE_MINIMUM_CONNECTION, BALANCE_WEIGHTS_MINIMUM_CONNECTION,
	BALANCE_LEAST_LOAD,
};
#define NALL	(sizeof all_strategies / sizeof all_strategies[0])

static void
test_names(void **state)
{
	enum balance_strategy	s, out;
	unsigned		i;

	(void)state;
	for (i = 0; i < BALANCE_NSTRATEGIES; i++) {
		s = (enum balance_strategy)i;
		assert_non_null(balance_strategy_name(s));
		assert_int_equal(balance_strategy_parse(
		    balance_strategy_name(s), &out), 0);
		assert_int_equal(out, s);
	}
	assert_string_equal(balance_strategy_name(BALANCE_WEIGHTS_POLLING),
	    "weights_polling");
	assert_string_equal(balance_strategy_name(
	    BALANCE_WEIGHTS_MINIMUM_CONNECTION), "weights_minimum_connection");
	assert_string_equal(balance_strategy_name(BALANCE_LEAST_LOAD),
	    "least_load");
	assert_null(balance_strategy_name(BALANCE_NSTRATEGIES));
	assert_int_equal(balance_strategy_parse("MINIMUM_CONNECTION", &out), 0);
	assert_int_equal(out, BALANCE_MINIMUM_CONNECTION);
	assert_int_equal(balance_strategy_parse("wieghts", &out), -EINVAL);
	assert_int_equal(balance_strategy_parse("", &out), -EINVAL);
	assert_int_equal(balance_strategy_parse(NULL, &out), -EINVAL);
}

static void
test_invalid(void **state)
{
	struct balancer	*b = NULL;

	(void)state;
	assert_int_equal(balancer_new(&b, BALANCE_NSTRATEGIES, 4, 1), -EINVAL);
	assert_int_equal(balancer_new(&b, BALANCE_POLLING,
	    BALANCE_SLOTS_MAX + 1, 1), -EINVAL);
	assert_int_equal(balancer_new(NULL, BALANCE_POLLING, 4, 1), -EINVAL);
	assert_null(b);

	/* No slots: nothing to pick, for every strategy. */
	assert_int_equal(balancer_new(&b, BALANCE_POLLING, 0, 1), 0);
	for (unsigned i = 0; i < NALL; i++) {
		assert_int_equal(balancer_set_strategy(b, all_strategies[i]), 0);
		assert_int_equal(balancer_pick(b, "1", 1), -1);
		assert_int_equal(balancer_pick(b, NULL, 0), -1);
	}
	assert_int_equal(balancer_set_strategy(b, BALANCE_NSTRATEGIES),
	    -EINVAL);
	assert_int_equal(balancer_strategy(b), BALANCE_LEAST_LOAD);
	assert_int_equal(balancer_resize(b, BALANCE_SLOTS_MAX + 1), -EINVAL);
	assert_int_equal(balancer_nslots(b), 0);

	/* Out-of-range slots are ignored; weights are clamped. */
	assert_int_equal(balancer_resize(b, 2), 0);
	balancer_set_weight(b, 5, 3);
	balancer_update(b, 7, &(struct balance_slot){ .live = true,
	    .capacity = 1 });
	assert_int_equal(balancer_weight(b, 5), 0);
	assert_int_equal(balancer_pick(b, NULL, 0), -1);
	balancer_set_weight(b, 1, BALANCE_WEIGHT_MAX + 7);
	assert_int_equal(balancer_weight(b, 1), BALANCE_WEIGHT_MAX);
	assert_int_equal(balancer_weight(b, 0), 1);
	balancer_free(b);
	balancer_free(NULL);
}

/* electron-re's case: ten targets, polling x15 visits 0..9 then 0..4. */
static void
test_polling_ten(void **state)
{
	struct sim	s;
	unsigned	i;

	(void)state;
	sim_init(&s, BALANCE_POLLING, 10, NULL, 100, 1);
	for (i = 0; i < 15; i++)
		assert_int_equal(sim_pick(&s), i % 10);
	sim_free(&s);
}

/* Polling skips slots that are not live, keeping slot order. */
static void
test_polling_skips(void **state)
{
	static const int	expect[] = { 0, 2, 4, 0, 2, 4, 0 };
	struct sim		s;
	unsigned		i;

	(void)state;
	sim_init(&s, BALANCE_POLLING, 5, NULL, 100, 1);
	s.st[1].live = false;
	s.st[3].live = false;
	sim_set(&s, 1);
	sim_set(&s, 3);
	for (i = 0; i < sizeof expect / sizeof expect[0]; i++)
		assert_int_equal(sim_pick(&s), expect[i]);
	/* Slot 3 comes back (a replacement): it joins the rotation. */
	s.st[3].live = true;
	sim_set(&s, 3);
	assert_int_equal(sim_pick(&s), 2);
	assert_int_equal(sim_pick(&s), 3);
	assert_int_equal(sim_pick(&s), 4);
	sim_free(&s);
}

/*
 * Runs 6,000 picks over three slots.  complete: 0 keeps every task in
 * flight (the capacity is large enough that no slot fills); k > 0
 * completes, after each pick, the task picked k picks earlier (FIFO).
 */
static void
run_6000(enum balance_strategy strategy, const unsigned *w, unsigned complete,
    const char *const *keys, unsigned nkeys, unsigned counts[3])
{
	struct sim	s;
	int		hist[6000];
	unsigned	i;

	sim_init(&s, strategy, 3, w, 7000, 99);
	counts[0] = counts[1] = counts[2] = 0;
	for (i = 0; i < 6000; i++) {
		hist[i] = sim_pick_key(&s, nkeys ? keys[i % nkeys] : NULL);
		assert_true(hist[i] >= 0);
		counts[hist[i]]++;
		if (complete > 0 && i >= complete)
			sim_done(&s, (unsigned)hist[i - complete]);
	}
	sim_free(&s);
}

static void
assert_counts(const unsigned got[3], unsigned a, unsigned b, unsigned c)
{
	if (got[0] != a || got[1] != b || got[2] != c)
		fail_msg("counts %u/%u/%u, expected %u/%u/%u", got[0], got[1],
		    got[2], a, b, c);
}

/* The deterministic strategies' distributions are exact. */
static void
test_distribution_exact(void **state)
{
	static const unsigned	 w123[3] = { 1, 2, 3 }, weq[3] = { 2, 2, 2 };
	static const char *const named[3] = { "0", "1", "2" };
	unsigned		 c[3], k;

	(void)state;
	for (k = 0; k < 2; k++) {
		unsigned	complete = k ? 2 : 0;

		/* Strategies that ignore weights: an equal share. */
		run_6000(BALANCE_POLLING, w123, complete, NULL, 0, c);
		assert_counts(c, 2000, 2000, 2000);
		run_6000(BALANCE_SPECIFY, w123, complete, NULL, 0, c);
		assert_counts(c, 2000, 2000, 2000);
		run_6000(BALANCE_SPECIFY, w123, complete, named, 3, c);
		assert_counts(c, 2000, 2000, 2000);
		run_6000(BALANCE_MINIMUM_CONNECTION, w123, complete, NULL, 0,
		    c);
		assert_counts(c, 2000, 2000, 2000);
		run_6000(BALANCE_LEAST_LOAD, w123, complete, NULL, 0, c);
		assert_counts(c, 2000, 2000, 2000);

		/* Weighted: exactly proportional. */
		run_6000(BALANCE_WEIGHTS_POLLING, w123, complete, NULL, 0, c);
		assert_counts(c, 1000, 2000, 3000);
		run_6000(BALANCE_WEIGHTS_POLLING, weq, complete, NULL, 0, c);
		assert_counts(c, 2000, 2000, 2000);
		run_6000(BALANCE_WEIGHTS_MINIMUM_CONNECTION, weq, complete,
		    NULL, 0, c);
		assert_counts(c, 2000, 2000, 2000);
		run_6000(BALANCE_POLLING, weq, complete, NULL, 0, c);
		assert_counts(c, 2000, 2000, 2000);
		run_6000(BALANCE_MINIMUM_CONNECTION, weq, complete, NULL, 0,
		    c);
		assert_counts(c, 2000, 2000, 2000);
	}
	/*
	 * weights_minimum_connection with every task kept in flight: the
	 * in-flight counts follow weight exactly at every multiple of 6.
	 */
	run_6000(BALANCE_WEIGHTS_MINIMUM_CONNECTION, w123, 0, NULL, 0, c);
	assert_counts(c, 1000, 2000, 3000);
}

/*
 * Random strategies: each count within 5 standard deviations of its
 * expectation (binomial), and Pearson's chi-square with 2 degrees of
 * freedom below 27.63 (p = 1e-6).  Seeded, so the result never changes
 * from run to run; the bounds say how far from the law it is allowed to be.
 */
static void
assert_random_counts(const unsigned got[3], const double p[3])
{
	double		chi2 = 0;
	unsigned	i;

	for (i = 0; i < 3; i++) {
		double	e = 6000 * p[i];
		double	sd = sqrt(6000 * p[i] * (1 - p[i]));

		if (fabs(got[i] - e) > 5 * sd)
			fail_msg("slot %u: %u picks, expected %.0f +- %.1f",
			    i, got[i], e, 5 * sd);
		chi2 += (got[i] - e) * (got[i] - e) / e;
	}
	if (chi2 >= 27.63)
		fail_msg("chi-square %.2f >= 27.63", chi2);
}

static void
test_distribution_random(void **state)
{
	static const unsigned	w123[3] = { 1, 2, 3 }, weq[3] = { 2, 2, 2 };
	static const double	pw[3] = { 1 / 6., 2 / 6., 3 / 6. };
	static const double	peq[3] = { 1 / 3., 1 / 3., 1 / 3. };
	unsigned		c[3], k;

	(void)state;
	for (k = 0; k < 2; k++) {
		unsigned	complete = k ? 2 : 0;

		run_6000(BALANCE_WEIGHTS, w123, complete, NULL, 0, c);
		assert_random_counts(c, pw);
		run_6000(BALANCE_WEIGHTS_RANDOM, w123, complete, NULL, 0, c);
		assert_random_counts(c, pw);
		run_6000(BALANCE_RANDOM, w123, complete, NULL, 0, c);
		assert_random_counts(c, peq);
		run_6000(BALANCE_WEIGHTS, weq, complete, NULL, 0, c);
		assert_random_counts(c, peq);
		run_6000(BALANCE_WEIGHTS_RANDOM, weq, complete, NULL, 0, c);
		assert_random_counts(c, peq);
		run_6000(BALANCE_RANDOM, weq, complete, NULL, 0, c);
		assert_random_counts(c, peq);
	}
}

/* Exact sequences for a seed; weights and weights_random draw alike. */
static void
test_random_sequences(void **state)
{
	static const int	r42[20] = { 2, 2, 9, 3, 6, 4, 4, 7, 8, 5, 9, 3,
	    0, 2, 3, 0, 1, 6, 5, 8 };
	static const int	w7[20] = { 0, 1, 0, 2, 1, 2, 2, 2, 2, 1, 2, 2,
	    2, 2, 0, 2, 1, 0, 1, 1 };
	static const unsigned	w123[3] = { 1, 2, 3 };
	struct sim		s, t;
	unsigned		i;
	bool			differ = false;

	(void)state;
	sim_init(&s, BALANCE_RANDOM, 10, NULL, 100, 42);
	for (i = 0; i < 20; i++)
		assert_int_equal(sim_pick(&s), r42[i]);
	sim_free(&s);

	sim_init(&s, BALANCE_WEIGHTS, 3, w123, 100, 7);
	sim_init(&t, BALANCE_WEIGHTS_RANDOM, 3, w123, 100, 7);
	for (i = 0; i < 20; i++) {
		assert_int_equal(sim_pick(&s), w7[i]);
		assert_int_equal(sim_pick(&t), w7[i]);
	}
	sim_free(&s);
	sim_free(&t);

	/* Same seed, same sequence; another seed, another one. */
	sim_init(&s, BALANCE_RANDOM, 10, NULL, 1000, 123);
	sim_init(&t, BALANCE_RANDOM, 10, NULL, 1000, 124);
	for (i = 0; i < 100; i++)
		differ |= sim_pick(&s) != sim_pick(&t);
	assert_true(differ);
	sim_free(&s);
	sim_free(&t);
	sim_init(&s, BALANCE_WEIGHTS, 10, NULL, 1000, 123);
	sim_init(&t, BALANCE_WEIGHTS, 10, NULL, 1000, 123);
	for (i = 0; i < 500; i++)
		assert_int_equal(sim_pick(&s), sim_pick(&t));
	sim_free(&s);
	sim_free(&t);
}

/* nginx's smooth weighted round robin, O(n) per pick: the reference. */
static void
nginx_swrr(const unsigned *w, unsigned n, unsigned picks, int *out)
{
	long		cur[MAXS] = { 0 };
	long		total = 0;
	unsigned	i, p;

	for (i = 0; i < n; i++)
		total += w[i];
	for (p = 0; p < picks; p++) {
		int	best = -1;

		for (i = 0; i < n; i++) {
			if (w[i] == 0)
				continue;
			cur[i] += w[i];
			if (best < 0 || cur[i] > cur[best])
				best = (int)i;
		}
		cur[best] -= total;
		out[p] = best;
	}
}

/*
 * Checks a weights_polling sequence: every window of W = sum(weights)
 * consecutive picks holds slot i exactly w[i] times, and consecutive
 * picks of a slot are W / w[i] apart give or take n - 1 (interleaved).
 */
static void
assert_swrr(const int *seq, unsigned len, const unsigned *w, unsigned n)
{
	unsigned	W = 0, i, j, cnt[MAXS] = { 0 };
	long		last[MAXS];

	for (i = 0; i < n; i++) {
		W += w[i];
		last[i] = -1;
	}
	assert_true(len >= W);
	for (i = 0; i < len; i++) {
		cnt[seq[i]]++;
		if (i >= W)
			cnt[seq[i - W]]--;
		if (i + 1 >= W) {
			for (j = 0; j < n; j++)
				if (cnt[j] != w[j])
					fail_msg("window ending at %u: slot "
					    "%u picked %u times, weight %u",
					    i, j, cnt[j], w[j]);
		}
		if (last[seq[i]] >= 0) {
			double	gap = (double)(i - (unsigned long)last[seq[i]]);
			double	ideal = (double)W / w[seq[i]];

			if (fabs(gap - ideal) > n - 1)
				fail_msg("slot %d picked %.0f picks apart at "
				    "%u (ideal %.2f)", seq[i], gap, i, ideal);
		}
		last[seq[i]] = (long)i;
	}
}

static void
test_weights_polling_windows(void **state)
{
	static const unsigned	w123[3] = { 1, 2, 3 };
	static const int	first[6] = { 2, 1, 0, 2, 1, 2 };
	struct sim		s;
	int			seq[6000], ref[6000];
	unsigned		i;

	(void)state;
	sim_init(&s, BALANCE_WEIGHTS_POLLING, 3, w123, 7000, 1);
	for (i = 0; i < 6000; i++)
		seq[i] = sim_pick(&s);
	sim_free(&s);
	for (i = 0; i < 6; i++)
		assert_int_equal(seq[i], first[i]);
	assert_swrr(seq, 6000, w123, 3);
	/* Not runs: the weight-1 and weight-2 slots never repeat back to back. */
	for (i = 1; i < 6000; i++)
		assert_false(seq[i] == seq[i - 1] && seq[i] != 2);
	/* Identical to nginx for these weights. */
	nginx_swrr(w123, 3, 6000, ref);
	assert_memory_equal(seq, ref, sizeof seq);
}

/* Many weight sets: the window guarantee always; nginx's order for some. */
static void
test_weights_polling_sets(void **state)
{
	static const unsigned	sets[][MAXS] = {
		{ 3, 1, 1 }, { 4, 3, 2, 1 }, { 3, 2 }, { 1, 1, 1, 1 },
		{ 1, 1, 10 }, { 5, 1, 1 }, { 1, 2, 3, 4, 5 }, { 7, 3, 1, 1 },
	};
	static const unsigned	lens[] = { 3, 4, 2, 4, 3, 3, 5, 4 };
	static const int	c1110[12] = { 2, 2, 0, 2, 2, 2, 2, 2, 1, 2, 2,
	    2 };
	struct sim		s;
	int			seq[2000], ref[2000];
	unsigned		k, i, n, W;
	uint32_t		lcg = 12345;

	(void)state;
	for (k = 0; k < sizeof lens / sizeof lens[0]; k++) {
		n = lens[k];
		sim_init(&s, BALANCE_WEIGHTS_POLLING, n, sets[k], 100000, 1);
		for (i = 0; i < 2000; i++)
			seq[i] = sim_pick(&s);
		sim_free(&s);
		assert_swrr(seq, 2000, sets[k], n);
		if (k < 4) {
			nginx_swrr(sets[k], n, 2000, ref);
			assert_memory_equal(seq, ref, sizeof seq);
		}
		if (k == 4) {
			/* Equal weights are spread apart: runs of 5 and 5. */
			for (i = 0; i < 12; i++)
				assert_int_equal(seq[i], c1110[i]);
		}
	}
	/* Pseudo-random weight sets, up to 40 slots with weights 1..9. */
	for (k = 0; k < 40; k++) {
		unsigned	w[MAXS];

		lcg = lcg * 1103515245u + 12345u;
		n = 2 + (lcg >> 16) % 39;
		W = 0;
		for (i = 0; i < n; i++) {
			lcg = lcg * 1103515245u + 12345u;
			w[i] = 1 + (lcg >> 16) % 9;
			W += w[i];
		}
		sim_init(&s, BALANCE_WEIGHTS_POLLING, n, w, 100000, 1);
		for (i = 0; i < 3 * W && i < 2000; i++)
			seq[i] = sim_pick(&s);
		sim_free(&s);
		assert_swrr(seq, i, w, n);
	}
}

/*
 * Long runs cross the virtual clock's renormalisation (every 65,536
 * rounds): the sequence stays exactly periodic across it.
 */
static void
test_weights_polling_long(void **state)
{
	static const unsigned	w123[3] = { 1, 2, 3 };
	struct sim		s;
	int			window[6], p;
	unsigned		i, cnt[3] = { 0 };

	(void)state;
	sim_init(&s, BALANCE_WEIGHTS_POLLING, 3, w123, UINT32_MAX, 1);
	for (i = 0; i < 6; i++) {
		window[i] = balancer_pick(s.b, NULL, 0);
		cnt[window[i]]++;
	}
	assert_counts(cnt, 1, 2, 3);
	for (i = 6; i < 6 * 140000; i++) {
		p = balancer_pick(s.b, NULL, 0);
		if (p != window[i % 6])
			fail_msg("pick %u: %d, period says %d", i, p,
			    window[i % 6]);
	}
	sim_free(&s);
}

/*
 * A slot that was away (full, dead, asleep) re-enters at the virtual
 * clock: no burst for the picks it missed.  Checked early and after
 * the clock has been renormalised twice.
 */
static void
test_weights_polling_rejoin(void **state)
{
	static const unsigned	w[2] = { 1, 1 };
	struct sim		s;
	unsigned		round, i;

	(void)state;
	sim_init(&s, BALANCE_WEIGHTS_POLLING, 2, w, UINT32_MAX, 1);
	for (round = 0; round < 2; round++) {
		if (round == 1)
			for (i = 0; i < 2 * 140000; i++)
				balancer_pick(s.b, NULL, 0);
		s.st[1].live = false;
		sim_set(&s, 1);
		for (i = 0; i < 100; i++)
			assert_int_equal(balancer_pick(s.b, NULL, 0), 0);
		s.st[1].live = true;
		sim_set(&s, 1);
		/* Alternates at once: 1 enters just before 0's next turn. */
		for (i = 0; i < 10; i++)
			assert_int_equal(balancer_pick(s.b, NULL, 0),
			    (int)((i + 1) % 2));
		/* The same for a slot coming back from sleep. */
		s.st[0].asleep = true;
		sim_set(&s, 0);
		for (i = 0; i < 50; i++)
			assert_int_equal(balancer_pick(s.b, NULL, 0), 1);
		s.st[0].asleep = false;
		sim_set(&s, 0);
		for (i = 0; i < 10; i++)
			assert_int_equal(balancer_pick(s.b, NULL, 0),
			    (int)(i % 2));
	}
	sim_free(&s);
}

/* A weight survives its worker's death and replacement. */
static void
test_weights_survive(void **state)
{
	static const unsigned	w[3] = { 1, 3, 1 };
	struct sim		s;
	int			seq[500];
	unsigned		i;

	(void)state;
	sim_init(&s, BALANCE_WEIGHTS_POLLING, 3, w, 100000, 1);
	for (i = 0; i < 7; i++)
		sim_pick(&s);
	s.st[1] = (struct balance_slot){ .live = false };	/* exited */
	sim_set(&s, 1);
	s.st[1] = (struct balance_slot){ .live = false, .capacity = 4 };
	sim_set(&s, 1);						/* starting */
	s.st[1] = (struct balance_slot){ .live = true, .capacity = 100000 };
	sim_set(&s, 1);						/* ready */
	assert_int_equal(balancer_weight(s.b, 1), 3);
	for (i = 0; i < 500; i++)
		seq[i] = sim_pick(&s);
	assert_swrr(seq, 500, w, 3);
	sim_free(&s);
}

/* electron-re's specify case, and hashed keys that stay put. */
static void
test_specify(void **state)
{
	static const char *const keys[] = { "alpha", "beta", "gamma",
	    "user:42", "03", "10" };
	static const int	hashed[] = { 4, 6, 7, 2, 9, 6 };
	struct sim		s;
	unsigned		i, k;
	int			first;

	(void)state;
	sim_init(&s, BALANCE_SPECIFY, 10, NULL, 1000, 1);
	for (i = 0; i < 5; i++)
		assert_int_equal(sim_pick_key(&s, "3"), 3);
	assert_int_equal(sim_pick_key(&s, "9"), 9);
	assert_int_equal(sim_pick_key(&s, "0"), 0);
	/* No key: polling. */
	assert_int_equal(sim_pick(&s), 0);
	assert_int_equal(sim_pick(&s), 1);
	assert_int_equal(sim_pick_key(&s, ""), 2);

	/*
	 * Keys that are not slot numbers ("03" is not canonical, 10 is out
	 * of range) start at FNV-1a-then-mix(key) mod 10.
	 */
	for (k = 0; k < 6; k++)
		for (i = 0; i < 10; i++)
			assert_int_equal(sim_pick_key(&s, keys[k]), hashed[k]);

	/* The named slot dies: its key is hashed instead, stably. */
	s.st[3].live = false;
	sim_set(&s, 3);
	first = sim_pick_key(&s, "3");
	assert_true(first >= 0 && first != 3);
	for (i = 0; i < 20; i++)
		assert_int_equal(sim_pick_key(&s, "3"), first);
	/* Slot 6 dies: "beta" and "10" move to the next slot, 7. */
	s.st[6].live = false;
	sim_set(&s, 6);
	for (i = 0; i < 10; i++) {
		assert_int_equal(sim_pick_key(&s, "beta"), 7);
		assert_int_equal(sim_pick_key(&s, "10"), 7);
		assert_int_equal(sim_pick_key(&s, "alpha"), 4);
	}
	/* A named slot that is full is not taken. */
	s.st[9].in_flight = s.st[9].capacity;
	sim_set(&s, 9);
	assert_int_not_equal(sim_pick_key(&s, "9"), 9);
	sim_free(&s);
}

/* electron-re's case: the least loaded; ties in round robin. */
static void
test_minimum_connection(void **state)
{
	static const unsigned	load[10] = { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3 };
	static const int	expect[] = { 1, 3, 6, 1, 3, 6, 9, 0, 1, 3 };
	struct sim		s;
	unsigned		i;

	(void)state;
	sim_init(&s, BALANCE_MINIMUM_CONNECTION, 10, NULL, 100, 1);
	for (i = 0; i < 10; i++) {
		s.st[i].in_flight = load[i];
		sim_set(&s, i);
	}
	/* Without updates, ties take turns. */
	assert_int_equal(balancer_pick(s.b, NULL, 0), 1);
	assert_int_equal(balancer_pick(s.b, NULL, 0), 3);
	assert_int_equal(balancer_pick(s.b, NULL, 0), 1);
	sim_free(&s);

	sim_init(&s, BALANCE_MINIMUM_CONNECTION, 10, NULL, 100, 1);
	for (i = 0; i < 10; i++) {
		s.st[i].in_flight = load[i];
		sim_set(&s, i);
	}
	for (i = 0; i < sizeof expect / sizeof expect[0]; i++)
		assert_int_equal(sim_pick(&s), expect[i]);
	/* A task ends on slot 5: still the busiest, not picked. */
	sim_done(&s, 5);
	assert_int_equal(sim_pick(&s), 6);
	sim_free(&s);
}

static void
test_weights_minimum_connection(void **state)
{
	static const unsigned	w123[3] = { 1, 2, 3 }, w011[3] = { 0, 1, 1 };
	static const unsigned	w000[3] = { 0, 0, 0 };
	static const int	expect[6] = { 2, 1, 2, 0, 1, 2 };
	struct sim		s;
	unsigned		i, c[3] = { 0 };

	(void)state;
	/* (in_flight + 1) / weight: 1/3 < 1/2 < 2/3 < 1 = 1 = 1 ... */
	sim_init(&s, BALANCE_WEIGHTS_MINIMUM_CONNECTION, 3, w123, 100, 1);
	for (i = 0; i < 6; i++)
		assert_int_equal(sim_pick(&s), expect[i]);
	/* Higher weight takes more at equal load. */
	for (i = 0; i < 3; i++) {
		s.st[i].in_flight = 4;
		sim_set(&s, i);
	}
	assert_int_equal(sim_pick(&s), 2);
	sim_free(&s);

	/* Weight 0: never while another can take it; no division. */
	sim_init(&s, BALANCE_WEIGHTS_MINIMUM_CONNECTION, 3, w011, 3, 1);
	for (i = 0; i < 6; i++)
		c[sim_pick(&s)]++;
	assert_counts(c, 0, 3, 3);
	assert_int_equal(sim_pick(&s), 0);	/* the others are full */
	sim_free(&s);

	/* Every weight 0: minimum_connection among them. */
	sim_init(&s, BALANCE_WEIGHTS_MINIMUM_CONNECTION, 3, w000, 100, 1);
	s.st[0].in_flight = 2;
	sim_set(&s, 0);
	assert_int_equal(sim_pick(&s), 1);
	assert_int_equal(sim_pick(&s), 2);
	assert_int_equal(sim_pick(&s), 1);
	sim_free(&s);
}

/* least_load: 100 per task in flight + CPU%; then RSS in MiB; then turns. */
static void
test_least_load(void **state)
{
	struct sim	s, m;
	unsigned	i;
	uint32_t	lcg = 7;

	(void)state;
	/* Before any sample it is minimum_connection, pick for pick. */
	sim_init(&s, BALANCE_LEAST_LOAD, 8, NULL, 4, 1);
	sim_init(&m, BALANCE_MINIMUM_CONNECTION, 8, NULL, 4, 1);
	for (i = 0; i < 2000; i++) {
		int	a = sim_pick(&s), b = sim_pick(&m);

		assert_int_equal(a, b);
		lcg = lcg * 1103515245u + 12345u;
		if (a < 0 || (lcg >> 16) % 3 != 0) {
			unsigned	j = (lcg >> 8) % 8;

			if (s.st[j].in_flight > 0) {
				sim_done(&s, j);
				sim_done(&m, j);
			}
		}
	}
	sim_free(&s);
	sim_free(&m);

	sim_init(&s, BALANCE_LEAST_LOAD, 3, NULL, 4, 1);
	s.st[0].cpu = 50;
	s.st[1].cpu = 5;
	s.st[2].cpu = 20;
	for (i = 0; i < 3; i++)
		sim_set(&s, i);
	assert_int_equal(sim_pick(&s), 1);	/* 5 < 20 < 50 */
	assert_int_equal(sim_pick(&s), 2);	/* 20 < 50 < 105 */
	assert_int_equal(sim_pick(&s), 0);	/* 50 < 105 < 120 */
	assert_int_equal(sim_pick(&s), 1);	/* 105 < 120 < 150 */

	/* Equal score: less RSS (in MiB) first; equal both: turns. */
	for (i = 0; i < 3; i++) {
		s.st[i].in_flight = 0;
		s.st[i].cpu = 10.2;
	}
	s.st[0].rss = 300u << 20;
	s.st[1].rss = 200u << 20;
	s.st[2].rss = (200u << 20) + 4096;	/* same MiB as slot 1 */
	for (i = 0; i < 3; i++)
		sim_set(&s, i);
	assert_int_equal(balancer_pick(s.b, NULL, 0), 2);	/* after 1 */
	assert_int_equal(balancer_pick(s.b, NULL, 0), 1);
	assert_int_equal(balancer_pick(s.b, NULL, 0), 2);
	s.st[1].cpu = 9.6;	/* rounds to 10 too: still a tie */
	sim_set(&s, 1);
	assert_int_equal(balancer_pick(s.b, NULL, 0), 1);
	s.st[1].cpu = 10.6;	/* 11: slot 2 alone is best */
	sim_set(&s, 1);
	assert_int_equal(balancer_pick(s.b, NULL, 0), 2);
	assert_int_equal(balancer_pick(s.b, NULL, 0), 2);
	sim_free(&s);
}

/* A worker that dies mid-run is never picked again, by any strategy. */
static void
test_dead_never_picked(void **state)
{
	static const unsigned	w[6] = { 1, 2, 3, 1, 2, 3 };
	struct sim		s;
	unsigned		k, i;
	int			q[4096];
	unsigned		head = 0, tail = 0;
	char			key[16];

	(void)state;
	for (k = 0; k < NALL; k++) {
		sim_init(&s, all_strategies[k], 6, w, 3, 5);
		head = tail = 0;
		for (i = 0; i < 3000; i++) {
			int	p;

			if (i == 300) {		/* slot 2 dies mid-run */
				s.st[2].live = false;
				s.st[2].in_flight = 0;
				sim_set(&s, 2);
			}
			if (i == 900) {		/* then slot 5, busy */
				s.st[5].live = false;
				sim_set(&s, 5);
			}
			snprintf(key, sizeof key, "%u", i % 7);
			p = sim_pick_key(&s, all_strategies[k] ==
			    BALANCE_SPECIFY ? key : NULL);
			assert_true(p >= 0);
			if (i >= 300)
				assert_int_not_equal(p, 2);
			if (i >= 900)
				assert_int_not_equal(p, 5);
			q[tail++ % 4096] = p;
			/* Tasks end in order, keeping about 8 in flight. */
			while (tail - head > 8) {
				int	d = q[head++ % 4096];

				if (s.st[d].live)
					sim_done(&s, (unsigned)d);
			}
		}
		sim_free(&s);
	}
}

/* Full slots are never picked; when all are full the answer is -1. */
static void
test_full_never_picked(void **state)
{
	struct sim	s;
	unsigned	k, i, seen;

	(void)state;
	for (k = 0; k < NALL; k++) {
		sim_init(&s, all_strategies[k], 4, NULL, 1, 3);
		seen = 0;
		for (i = 0; i < 4; i++) {
			int	p = sim_pick_key(&s, "1");

			assert_true(p >= 0);
			assert_false(seen & (1u << p));
			seen |= 1u << p;
		}
		assert_int_equal(seen, 0xf);
		assert_int_equal(sim_pick(&s), -1);
		assert_int_equal(sim_pick_key(&s, "2"), -1);
		sim_done(&s, 2);
		assert_int_equal(sim_pick(&s), 2);
		assert_int_equal(sim_pick(&s), -1);
		sim_free(&s);
	}
}

/*
 * Awake slots with room come first; sleeping ones only when none has
 * room; weight-0 slots after every weighted one, sleeping or not.
 */
static void
test_asleep_and_weight_zero(void **state)
{
	static const unsigned	w[5] = { 1, 1, 1, 1, 0 };
	struct sim		s;
	unsigned		k, i;
	int			p;

	(void)state;
	for (k = 0; k < NALL; k++) {
		sim_init(&s, all_strategies[k], 5, w, 2, 11);
		s.st[0].asleep = true;
		s.st[1].asleep = true;
		sim_set(&s, 0);
		sim_set(&s, 1);
		for (i = 0; i < 4; i++) {	/* slots 2 and 3, twice each */
			p = sim_pick(&s);
			assert_true(p == 2 || p == 3);
		}
		assert_int_equal(s.st[2].in_flight, 2);
		assert_int_equal(s.st[3].in_flight, 2);
		for (i = 0; i < 4; i++) {	/* then the sleepers */
			p = sim_pick(&s);
			assert_true(p == 0 || p == 1);
		}
		/* Last, the weight-0 slot, awake as it is. */
		assert_int_equal(sim_pick(&s), 4);
		assert_int_equal(sim_pick(&s), 4);
		assert_int_equal(sim_pick(&s), -1);

		/* A slot woken with room wins over sleepers again. */
		sim_done(&s, 0);
		sim_done(&s, 1);
		sim_done(&s, 4);
		s.st[1].asleep = false;
		sim_set(&s, 1);
		assert_int_equal(sim_pick(&s), 1);
		assert_int_equal(sim_pick(&s), 0);	/* asleep, weight 1 */
		assert_int_equal(sim_pick(&s), 4);	/* weight 0 */
		sim_free(&s);
	}
}

/* A weight-0 slot takes nothing while another slot has room. */
static void
test_weight_zero_every_strategy(void **state)
{
	static const unsigned	w[3] = { 0, 1, 2 };
	struct sim		s;
	unsigned		k, i;

	(void)state;
	for (k = 0; k < NALL; k++) {
		sim_init(&s, all_strategies[k], 3, w, 1000, 2);
		for (i = 0; i < 1000; i++) {
			int	p = sim_pick(&s);

			assert_true(p == 1 || p == 2);
			if (i % 2)
				sim_done(&s, (unsigned)p);
		}
		s.st[1].live = false;
		s.st[2].live = false;
		sim_set(&s, 1);
		sim_set(&s, 2);
		assert_int_equal(sim_pick(&s), 0);
		sim_free(&s);
	}
}

/* The strategy can change at runtime; the next pick follows it. */
static void
test_set_strategy(void **state)
{
	static const unsigned	w123[3] = { 1, 2, 3 };
	struct sim		s;

	(void)state;
	sim_init(&s, BALANCE_POLLING, 3, w123, 100, 1);
	assert_int_equal(sim_pick(&s), 0);
	assert_int_equal(sim_pick(&s), 1);
	assert_int_equal(balancer_set_strategy(s.b,
	    BALANCE_MINIMUM_CONNECTION), 0);
	assert_int_equal(balancer_strategy(s.b), BALANCE_MINIMUM_CONNECTION);
	assert_int_equal(sim_pick(&s), 2);	/* the only one at 0 */
	assert_int_equal(sim_pick(&s), 0);	/* ties from the cursor */
	assert_int_equal(balancer_set_strategy(s.b, BALANCE_WEIGHTS_POLLING),
	    0);
	/* A fresh weights_polling cycle, in_flight notwithstanding. */
	assert_int_equal(sim_pick(&s), 2);
	assert_int_equal(sim_pick(&s), 1);
	assert_int_equal(sim_pick(&s), 0);
	assert_int_equal(balancer_set_strategy(s.b, BALANCE_RANDOM), 0);
	assert_true(sim_pick(&s) >= 0);
	sim_free(&s);
}

/* Scaling: new slots join as they come up; removed ones are gone. */
static void
test_resize(void **state)
{
	static const unsigned	w[3] = { 2, 1, 1 };
	struct sim		s;
	unsigned		i, c[6] = { 0 };

	(void)state;
	sim_init(&s, BALANCE_WEIGHTS_POLLING, 3, w, 1000, 1);
	assert_int_equal(balancer_resize(s.b, 6), 0);
	assert_int_equal(balancer_nslots(s.b), 6);
	assert_int_equal(balancer_weight(s.b, 0), 2);
	assert_int_equal(balancer_weight(s.b, 5), 1);
	/* Not live until the engine says so. */
	for (i = 0; i < 8; i++)
		assert_true(sim_pick(&s) < 3);
	s.n = 6;
	for (i = 3; i < 6; i++) {
		s.st[i].live = true;
		s.st[i].capacity = 1000;
		sim_set(&s, i);
	}
	for (i = 0; i < 700; i++)
		c[sim_pick(&s)]++;
	/* W = 7 and 700 picks: exactly 100 per unit of weight. */
	assert_int_equal(c[0], 200);
	for (i = 1; i < 6; i++)
		assert_int_equal(c[i], 100);

	/* Shrink: slots 2.. are forgotten; the weights below stay. */
	assert_int_equal(balancer_resize(s.b, 2), 0);
	s.n = 2;
	assert_int_equal(balancer_weight(s.b, 0), 2);
	assert_int_equal(balancer_weight(s.b, 4), 0);
	for (i = 0; i < 30; i++)
		assert_true(sim_pick(&s) < 2);
	/* And grow again, on polling: the new slots join the rotation. */
	assert_int_equal(balancer_set_strategy(s.b, BALANCE_POLLING), 0);
	assert_int_equal(sim_pick(&s), 0);
	assert_int_equal(sim_pick(&s), 1);
	assert_int_equal(balancer_resize(s.b, 1000), 0);
	s.n = 10;
	for (i = 2; i < 10; i++) {
		s.st[i] = (struct balance_slot){ .live = true,
		    .capacity = 1000 };
		sim_set(&s, i);
	}
	for (i = 0; i < 20; i++)
		assert_int_equal(sim_pick(&s), i % 10);
	sim_free(&s);
}

/*
 * The engine's life: tasks end out of order, workers die, restart and
 * sleep; every strategy keeps to the rules and never reports "none"
 * while a slot has room.
 */
static void
test_engine_churn(void **state)
{
	struct sim	s;
	unsigned	k, i, j;
	uint32_t	lcg = 99;
	char		key[16];

	(void)state;
	for (k = 0; k < NALL; k++) {
		unsigned	w[12];

		for (i = 0; i < 12; i++)
			w[i] = i % 4;
		sim_init(&s, all_strategies[k], 12, w, 2, 77);
		for (i = 0; i < 20000; i++) {
			bool	room = false;
			int	p;

			lcg = lcg * 1103515245u + 12345u;
			j = (lcg >> 16) % 12;
			switch ((lcg >> 8) % 16) {
			case 0:		/* dies, then is replaced */
				s.st[j].live = !s.st[j].live;
				s.st[j].in_flight = 0;
				sim_set(&s, j);
				break;
			case 1:		/* sleeps or wakes */
				s.st[j].asleep = !s.st[j].asleep;
				sim_set(&s, j);
				break;
			case 2:
				s.st[j].cpu = (lcg >> 4) % 300;
				s.st[j].rss = (uint64_t)(lcg % 64) << 20;
				sim_set(&s, j);
				break;
			default:	/* a task ends */
				if (s.st[j].in_flight > 0)
					sim_done(&s, j);
				break;
			}
			for (j = 0; j < 12; j++)
				room |= s.st[j].live &&
				    s.st[j].in_flight < s.st[j].capacity;
			snprintf(key, sizeof key, "k%u", i % 13);
			p = sim_pick_key(&s, all_strategies[k] ==
			    BALANCE_SPECIFY ? key : NULL);
			assert_int_equal(p >= 0, room);
			if (p >= 0 && s.st[p].asleep) {
				for (j = 0; j < 12; j++)
					assert_false(s.st[j].live &&
					    !s.st[j].asleep && w[j] > 0 &&
					    s.st[j].in_flight + (j ==
					    (unsigned)p) < s.st[j].capacity);
			}
		}
		sim_free(&s);
	}
}

/*
 * A brute-force model of the rules as pooltop-balance(7) states them:
 * O(n) scans, no tree.  The balancer must agree with it pick for pick
 * under random churn, for every strategy.
 */
__extension__ typedef unsigned __int128 u128;

struct model {
	enum balance_strategy	 strategy;
	unsigned		 n;
	unsigned		 w[MAXS];
	struct balance_slot	 st[MAXS];
	unsigned		 cursor;
	uint64_t		 rng[4];
	/* weights_polling */
	bool			 dirty;
	uint64_t		 c[MAXS], k[MAXS], m[MAXS];
	uint64_t		 vn, vd;
	int			 tier[MAXS];
};

static uint64_t
model_rng(struct model *m)
{
	uint64_t	*s = m->rng;
	uint64_t	 r = ((s[1] * 5) << 7 | (s[1] * 5) >> 57) * 9;
	uint64_t	 t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = s[3] << 45 | s[3] >> 19;
	return r;
}

static int
model_tier(const struct model *m, unsigned i)
{
	const struct balance_slot	*s = &m->st[i];

	if (!s->live || s->in_flight >= s->capacity)
		return 4;
	return (m->w[i] == 0 ? 2 : 0) + (s->asleep ? 1 : 0);
}

/* The strategy's key as a fraction (num/den) plus a tie-breaker. */
static void
model_key(const struct model *m, unsigned i, u128 *num, u128 *den,
    uint64_t *k2)
{
	const struct balance_slot	*s = &m->st[i];
	int				 t = model_tier(m, i);
	uint64_t			 cpu;

	*num = 0;
	*den = 1;
	*k2 = 0;
	switch (m->strategy) {
	case BALANCE_MINIMUM_CONNECTION:
		*num = s->in_flight;
		break;
	case BALANCE_WEIGHTS_MINIMUM_CONNECTION:
		*num = t < 2 ? s->in_flight + 1u : s->in_flight;
		*den = t < 2 ? m->w[i] : 1;
		break;
	case BALANCE_LEAST_LOAD:
		cpu = s->cpu > 0 ? (uint64_t)llround(s->cpu) : 0;
		*num = 100 * (uint64_t)s->in_flight + cpu;
		*k2 = s->rss >> 20;
		break;
	case BALANCE_WEIGHTS_POLLING:
		if (t < 2) {
			*num = 2 * m->m[i] * m->c[i] + 2 * m->k[i] + 1;
			*den = 2 * m->m[i] * m->w[i];
		}
		break;
	default:
		break;
	}
}

static int
model_cmp(const struct model *m, unsigned i, unsigned j)
{
	u128		an, ad, bn, bd;
	uint64_t	a2, b2;

	if (model_tier(m, i) != model_tier(m, j))
		return model_tier(m, i) < model_tier(m, j) ? -1 : 1;
	model_key(m, i, &an, &ad, &a2);
	model_key(m, j, &bn, &bd, &b2);
	if (an * bd != bn * ad)
		return an * bd < bn * ad ? -1 : 1;
	return a2 < b2 ? -1 : a2 > b2;
}

static void
model_wp_reset(struct model *m)
{
	unsigned	i, j;

	for (i = 0; i < m->n; i++) {
		m->c[i] = 0;
		m->k[i] = 0;
		m->m[i] = 0;
		for (j = 0; j < m->n; j++) {
			if (m->w[j] != m->w[i])
				continue;
			m->m[i]++;
			if (j < i)
				m->k[i]++;
		}
	}
	m->vn = 0;
	m->vd = 1;
	m->dirty = false;
}

static void
model_update(struct model *m, unsigned i, const struct balance_slot *st)
{
	int	old = model_tier(m, i), t;

	m->st[i] = *st;
	t = model_tier(m, i);
	if (m->strategy == BALANCE_WEIGHTS_POLLING && !m->dirty && t != old &&
	    t < 2) {
		/* First pass not before the clock: (c + phase) / w >= V. */
		while ((u128)(2 * m->m[i] * m->c[i] + 2 * m->k[i] + 1) *
		    m->vd < (u128)m->vn * 2 * m->m[i] * m->w[i])
			m->c[i]++;
	}
	m->tier[i] = t;
}

static uint64_t
model_hash(const char *key, size_t len)
{
	uint64_t	h = 14695981039346656037u;
	size_t		i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 1099511628211u;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9u;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebu;
	return h ^ (h >> 31);
}

static int
model_pick(struct model *m, const char *key)
{
	unsigned	i, best = MAXS, t, from;
	size_t		len = key != NULL ? strlen(key) : 0;

	if (m->dirty)
		model_wp_reset(m);
	for (i = 0; i < m->n; i++)
		if (model_tier(m, i) < 4 &&
		    (best == MAXS || model_cmp(m, i, best) < 0))
			best = i;
	if (best == MAXS)
		return -1;
	t = (unsigned)model_tier(m, best);

	switch (m->strategy) {
	case BALANCE_RANDOM:
	case BALANCE_WEIGHTS:
	case BALANCE_WEIGHTS_RANDOM: {
		uint64_t	total = 0, r, th;
		bool		weighted = m->strategy != BALANCE_RANDOM &&
			    t < 2;

		for (i = 0; i < m->n; i++)
			if ((unsigned)model_tier(m, i) == t)
				total += weighted ? m->w[i] : 1;
		th = (0 - total) % total;
		do
			r = model_rng(m);
		while (r < th);
		r %= total;
		for (i = 0; i < m->n; i++) {
			uint64_t	dw = weighted ? m->w[i] : 1;

			if ((unsigned)model_tier(m, i) != t)
				continue;
			if (r < dw)
				return (int)i;
			r -= dw;
		}
		fail_msg("model draw fell off the end");
	}
	/* FALLTHROUGH */
	case BALANCE_WEIGHTS_POLLING:
		if (m->strategy == BALANCE_WEIGHTS_POLLING && t < 2) {
			u128	pn = 2 * m->m[best] * m->c[best] +
			    2 * m->k[best] + 1;
			u128	pd = 2 * m->m[best] * m->w[best];

			if (pn * m->vd > (u128)m->vn * pd) {
				m->vn = (uint64_t)pn;
				m->vd = (uint64_t)pd;
			}
			m->c[best]++;
			return (int)best;
		}
		break;
	case BALANCE_SPECIFY:
		if (len == 0)
			break;
		if (key[0] != '0' || len == 1) {
			char		*end;
			unsigned long	 v = strtoul(key, &end, 10);

			if (*end == '\0' && key[0] >= '0' && key[0] <= '9' &&
			    v < m->n && model_tier(m, (unsigned)v) < 4)
				return (int)v;
		}
		from = (unsigned)(model_hash(key, len) % m->n);
		for (i = 0; i < m->n; i++) {
			unsigned	j = (from + i) % m->n;

			if (model_cmp(m, j, best) == 0)
				return (int)j;
		}
		fail_msg("model specify found nothing");
	default:
		break;
	}
	/* Round robin among the slots tied with the best. */
	for (i = 0; i < m->n; i++) {
		unsigned	j = (m->cursor + i) % m->n;

		if (model_cmp(m, j, best) == 0) {
			m->cursor = (j + 1) % m->n;
			return (int)j;
		}
	}
	fail_msg("model round robin found nothing");
	return -1;
}

static void
test_model(void **state)
{
	struct sim	s;
	struct model	m;
	unsigned	k, i, j;
	uint32_t	lcg = 4242;
	char		key[16];

	(void)state;
	for (k = 0; k < NALL; k++) {
		uint64_t	seed = 1000 + k;
		unsigned	n = 13;

		memset(&m, 0, sizeof m);
		m.strategy = all_strategies[k];
		m.n = n;
		for (i = 0; i < 4; i++) {
			uint64_t	z = (seed += 0x9e3779b97f4a7c15u);

			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
			m.rng[i] = z ^ (z >> 31);
		}
		for (i = 0; i < n; i++)
			m.w[i] = (i * 7) % 5;	/* 0,2,4,1,3,0,... */
		sim_init(&s, m.strategy, n, m.w, 3, 1000 + k);
		for (i = 0; i < n; i++)
			m.st[i] = s.st[i];
		model_wp_reset(&m);

		for (i = 0; i < 30000; i++) {
			int	a, b;

			lcg = lcg * 1103515245u + 12345u;
			j = (lcg >> 16) % n;
			switch ((lcg >> 8) % 24) {
			case 0:
				s.st[j].live = !s.st[j].live;
				break;
			case 1:
				s.st[j].asleep = !s.st[j].asleep;
				break;
			case 2:
				s.st[j].cpu = (double)((lcg >> 3) % 400) / 3;
				s.st[j].rss = (uint64_t)((lcg >> 5) % 5) << 20;
				break;
			case 3:
				if (i % 7 == 0) {	/* a weight changes */
					m.w[j] = (lcg >> 4) % 4;
					balancer_set_weight(s.b, j, m.w[j]);
					if (m.strategy ==
					    BALANCE_WEIGHTS_POLLING)
						m.dirty = true;
				}
				break;
			default:
				if (s.st[j].in_flight > 0)
					s.st[j].in_flight--;
				break;
			}
			sim_set(&s, j);
			model_update(&m, j, &s.st[j]);

			if (i % 3 == 0)
				snprintf(key, sizeof key, "%u", i % 17);
			else
				snprintf(key, sizeof key, "t%u", i % 29);
			a = sim_pick_key(&s, m.strategy == BALANCE_SPECIFY &&
			    i % 5 ? key : NULL);
			b = model_pick(&m, m.strategy == BALANCE_SPECIFY &&
			    i % 5 ? key : NULL);
			if (a != b)
				fail_msg("%s, step %u: balancer %d, model %d",
				    balance_strategy_name(m.strategy), i, a,
				    b);
			if (a >= 0)
				model_update(&m, (unsigned)a, &s.st[a]);
		}
		sim_free(&s);
	}
}

/*
 * balancer_set_in_flight() takes shortcuts (O(1) when the strategy does
 * not count tasks, no tree walk for a slot outside the tree): a balancer
 * told each count that way picks exactly as one told every change in
 * full by balancer_update(), for every strategy, counts on dead, asleep,
 * full and weight-0 slots included.
 */
static void
test_in_flight_shortcut(void **state)
{
	struct balancer		*a, *b;
	struct balance_slot	 st[10];
	unsigned		 k, i, j, w[10];
	uint32_t		 lcg = 4242;
	int			 pa, pb;

	(void)state;
	for (k = 0; k < NALL; k++) {
		assert_int_equal(balancer_new(&a, all_strategies[k], 10, 9), 0);
		assert_int_equal(balancer_new(&b, all_strategies[k], 10, 9), 0);
		memset(st, 0, sizeof st);
		for (i = 0; i < 10; i++) {
			w[i] = i % 3;
			balancer_set_weight(a, i, w[i]);
			balancer_set_weight(b, i, w[i]);
			st[i].live = i != 7;
			st[i].asleep = i == 4;
			st[i].capacity = 3;
			st[i].cpu = (double)(i * 7 % 5);
			balancer_update(a, i, &st[i]);
			balancer_update(b, i, &st[i]);
		}
		for (i = 0; i < 30000; i++) {
			lcg = lcg * 1103515245u + 12345u;
			j = (lcg >> 16) % 10;
			switch ((lcg >> 8) % 8) {
			case 0:		/* dies or comes back, count kept */
				st[j].live = !st[j].live;
				balancer_update(a, j, &st[j]);
				balancer_update(b, j, &st[j]);
				break;
			case 1:
				st[j].asleep = !st[j].asleep;
				balancer_update(a, j, &st[j]);
				balancer_update(b, j, &st[j]);
				break;
			case 2:		/* a count moves, any slot */
			case 3:
				if (((lcg >> 4) & 1) && st[j].in_flight > 0)
					st[j].in_flight--;
				else if (st[j].in_flight < st[j].capacity)
					st[j].in_flight++;
				balancer_update(a, j, &st[j]);
				balancer_set_in_flight(b, j, st[j].in_flight);
				break;
			default:
				pa = balancer_pick(a, NULL, 0);
				pb = balancer_pick(b, NULL, 0);
				if (pa != pb)
					fail_msg("%s, step %u: full %d, "
					    "shortcut %d", balance_strategy_name(
					    all_strategies[k]), i, pa, pb);
				if (pa < 0)
					break;
				st[pa].in_flight++;
				balancer_update(a, (unsigned)pa, &st[pa]);
				balancer_set_in_flight(b, (unsigned)pa,
				    st[pa].in_flight);
				break;
			}
		}
		balancer_free(a);
		balancer_free(b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_polling_ten),
		cmocka_unit_test(test_polling_skips),
		cmocka_unit_test(test_distribution_exact),
		cmocka_unit_test(test_distribution_random),
		cmocka_unit_test(test_random_sequences),
		cmocka_unit_test(test_weights_polling_windows),
		cmocka_unit_test(test_weights_polling_sets),
		cmocka_unit_test(test_weights_polling_long),
		cmocka_unit_test(test_weights_polling_rejoin),
		cmocka_unit_test(test_weights_survive),
		cmocka_unit_test(test_specify),
		cmocka_unit_test(test_minimum_connection),
		cmocka_unit_test(test_weights_minimum_connection),
		cmocka_unit_test(test_least_load),
		cmocka_unit_test(test_dead_never_picked),
		cmocka_unit_test(test_full_never_picked),
		cmocka_unit_test(test_asleep_and_weight_zero),
		cmocka_unit_test(test_weight_zero_every_strategy),
		cmocka_unit_test(test_set_strategy),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_engine_churn),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_in_flight_shortcut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
