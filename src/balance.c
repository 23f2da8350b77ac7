/*
 * Balancing strategies (see pooltop-balance(7) for the exact rules).
 *
 * The balancer mirrors a pool's slots and keeps one segment tree over
 * them, updated in O(log n) by balancer_update().  Each slot has a tier
 * (which slots a pick may consider first) and a key (what the strategy
 * minimises); a tree node holds the lowest-indexed slot with the smallest
 * (tier, key) in its range, and, for the random strategies, the sum of
 * the draw weights of each tier.  Every pick is then a walk down the tree:
 *
 *   polling, specify, minimum_connection, weights_minimum_connection,
 *   least_load: the first slot at or after a cursor whose (tier, key)
 *   equals the root's (round robin among ties);
 *   weights, weights_random, random: a draw of r in [0, sum) walked down
 *   the per-tier sums;
 *   weights_polling: the root itself (smallest virtual pass time).
 *
 * The tree's content depends on the strategy, so changing the strategy or
 * the number of slots rebuilds it in O(n).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pooltop/balance.h"

/* 64x64 -> 128-bit products for exact fraction comparisons. */
__extension__ typedef unsigned __int128 u128;

/*
 * Tiers, best first.  Weight 0 is "never picked while another worker can
 * take the task": a sleeping worker with a weight can (once woken), so
 * every weighted slot ranks before every weight-0 one.
 */
enum {
	TIER_AWAKE,		/* weight > 0, awake */
	TIER_ASLEEP,		/* weight > 0, SIGSTOPped */
	TIER_ZERO_AWAKE,	/* weight 0, awake */
	TIER_ZERO_ASLEEP,	/* weight 0, SIGSTOPped */
	TIER_NONE,		/* not eligible: not live or full */
	NTIERS = TIER_NONE
};

#define NO_SLOT		UINT32_MAX

/*
 * weights_polling renormalises its virtual clock once it reaches this
 * many rounds, so the fixed-width fractions never overflow: with weights
 * below 2^20 and at most 2^16 slots, a pass's denominator 2mw is below
 * 2^37 and its numerator, at most (clock + 1) * 2mw, below 2^54; their
 * cross products fit in 128 bits.
 */
#define WP_RENORM	(UINT64_C(1) << 16)

struct bslot {
	struct balance_slot st;
	uint32_t	 weight;
	uint8_t		 tier;

	/* The strategy's key: the fraction num/den, then k2 (smaller wins). */
	uint64_t	 num;
	uint64_t	 den;
	uint64_t	 k2;
	uint64_t	 dw;		/* draw weight for the random strategies */

	/* weights_polling: pass = (count + (2k+1)/(2m)) / weight. */
	uint64_t	 wp_count;
	uint32_t	 wp_k;		/* rank among slots of the same weight */
	uint32_t	 wp_m;		/* number of slots of that weight */
};

struct balancer {
	enum balance_strategy strategy;
	unsigned	 nslots;
	unsigned	 size;		/* tree leaves: a power of two >= nslots */
	struct bslot	*slots;
	uint32_t	*best;		/* 2 * size nodes; node 1 is the root */
	uint64_t	*sum;		/* 2 * size * NTIERS, random strategies */
	uint64_t	*scratch;	/* nslots, for weights_polling phases */
	bool		 sums;		/* sum[] is maintained */
	unsigned	 cursor;	/* round robin: where the next scan starts */
	uint64_t	 rng[4];	/* xoshiro256** state */

	/* weights_polling: the virtual clock V = v_num / v_den. */
	bool		 wp_dirty;	/* phases stale: fresh cycle at next pick */
	uint64_t	 v_num;
	uint64_t	 v_den;
};

static const char *const strategy_names[BALANCE_NSTRATEGIES] = {
	[BALANCE_POLLING] = "polling",
	[BALANCE_WEIGHTS] = "weights",
	[BALANCE_RANDOM] = "random",
	[BALANCE_SPECIFY] = "specify",
	[BALANCE_WEIGHTS_POLLING] = "weights_polling",
	[BALANCE_WEIGHTS_RANDOM] = "weights_random",
	[BALANCE_MINIMUM_CONNECTION] = "minimum_connection",
	[BALANCE_WEIGHTS_MINIMUM_CONNECTION] = "weights_minimum_connection",
	[BALANCE_LEAST_LOAD] = "least_load",
};

const char *
balance_strategy_name(enum balance_strategy s)
{
	if ((unsigned)s >= BALANCE_NSTRATEGIES)
		return NULL;
	return strategy_names[s];
}

/* Names match case-insensitively ("WEIGHTS_POLLING" as in electron-re). */
int
balance_strategy_parse(const char *name, enum balance_strategy *out)
{
	unsigned	i;

	if (name == NULL)
		return -EINVAL;
	for (i = 0; i < BALANCE_NSTRATEGIES; i++) {
		if (strcasecmp(name, strategy_names[i]) == 0) {
			if (out != NULL)
				*out = (enum balance_strategy)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* splitmix64: expands the seed into the generator's state. */
static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline uint64_t
rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna, 2018). */
static uint64_t
rng_next(struct balancer *b)
{
	uint64_t	*s = b->rng;
	uint64_t	 result = rotl64(s[1] * 5, 7) * 9;
	uint64_t	 t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

/* Uniform in [0, bound), bound > 0: rejects the biased low values. */
static uint64_t
rng_below(struct balancer *b, uint64_t bound)
{
	uint64_t	threshold = (0 - bound) % bound;
	uint64_t	r;

	do
		r = rng_next(b);
	while (r < threshold);
	return r % bound;
}

/* FNV-1a over the key, then splitmix64's finaliser to spread the bits. */
static uint64_t
key_hash(const void *key, size_t len)
{
	const unsigned char	*p = key;
	uint64_t		 h = UINT64_C(0xcbf29ce484222325);
	size_t			 i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	h = (h ^ (h >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	h = (h ^ (h >> 27)) * UINT64_C(0x94d049bb133111eb);
	return h ^ (h >> 31);
}

/*
 * A key that is a slot number in canonical decimal ("0", "7", "12"; no
 * sign, no leading zero) names that slot; returns it, or -1.
 */
static long
key_slot(const void *key, size_t len, unsigned nslots)
{
	const char	*p = key;
	uint64_t	 v = 0;
	size_t		 i;

	if (len == 0 || len > 10 || (len > 1 && p[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	return v < nslots ? (long)v : -1;
}

static bool
uses_sums(enum balance_strategy s)
{
	return s == BALANCE_WEIGHTS || s == BALANCE_WEIGHTS_RANDOM ||
	    s == BALANCE_RANDOM;
}

static uint8_t
slot_tier(const struct bslot *s)
{
	if (!s->st.live || s->st.in_flight >= s->st.capacity)
		return TIER_NONE;
	return (uint8_t)((s->weight == 0 ? TIER_ZERO_AWAKE : TIER_AWAKE) +
	    (s->st.asleep ? 1 : 0));
}

/* least_load's score: 100 per task in flight plus recent CPU% rounded. */
static uint64_t
load_score(const struct balance_slot *st)
{
	uint64_t	pct = 0;

	if (st->cpu > 1e9)
		pct = 1000000000u;
	else if (st->cpu > 0)	/* false for NaN and negatives */
		pct = (uint64_t)(st->cpu + 0.5);
	return (uint64_t)st->in_flight * 100 + pct;
}

/* Computes a slot's tier and the current strategy's key for it. */
static inline void
slot_key(const struct balancer *b, struct bslot *s)
{
	bool	weighted;

	s->tier = slot_tier(s);
	weighted = s->tier == TIER_AWAKE || s->tier == TIER_ASLEEP;
	s->num = 0;
	s->den = 1;
	s->k2 = 0;
	s->dw = 1;
	switch (b->strategy) {
	case BALANCE_WEIGHTS:
	case BALANCE_WEIGHTS_RANDOM:
		if (weighted)
			s->dw = s->weight;
		break;
	case BALANCE_MINIMUM_CONNECTION:
		s->num = s->st.in_flight;
		break;
	case BALANCE_WEIGHTS_MINIMUM_CONNECTION:
		/* (in_flight + 1) / weight, compared by cross-multiplying. */
		if (weighted) {
			s->num = (uint64_t)s->st.in_flight + 1;
			s->den = s->weight;
		} else
			s->num = s->st.in_flight;
		break;
	case BALANCE_LEAST_LOAD:
		s->num = load_score(&s->st);
		s->k2 = s->st.rss >> 20;
		break;
	case BALANCE_WEIGHTS_POLLING:
		if (weighted) {
			s->num = 2 * (uint64_t)s->wp_m * s->wp_count +
			    2 * (uint64_t)s->wp_k + 1;
			s->den = 2 * (uint64_t)s->wp_m * s->weight;
		}
		break;
	default:
		break;
	}
}

/* Orders two slots by (tier, key); 0 when they tie. */
static inline int
slot_cmp(const struct balancer *b, uint32_t i, uint32_t j)
{
	const struct bslot	*x = &b->slots[i], *y = &b->slots[j];

	if (x->tier != y->tier)
		return x->tier < y->tier ? -1 : 1;
	if (x->den == y->den) {
		if (x->num != y->num)
			return x->num < y->num ? -1 : 1;
	} else {
		u128	l = (u128)x->num * y->den;
		u128	r = (u128)y->num * x->den;

		if (l != r)
			return l < r ? -1 : 1;
	}
	if (x->k2 != y->k2)
		return x->k2 < y->k2 ? -1 : 1;
	return 0;
}

/* The better of two subtrees' best slots; the left (lower index) on ties. */
static inline uint32_t
tree_better(const struct balancer *b, uint32_t l, uint32_t r)
{
	if (r == NO_SLOT)
		return l;
	if (l == NO_SLOT)
		return r;
	return slot_cmp(b, l, r) <= 0 ? l : r;
}

static inline void
tree_pull(struct balancer *b, size_t k)
{
	b->best[k] = tree_better(b, b->best[2 * k], b->best[2 * k + 1]);
	if (b->sums) {
		uint64_t	*d = &b->sum[k * NTIERS];
		const uint64_t	*l = &b->sum[2 * k * NTIERS];
		const uint64_t	*r = &b->sum[(2 * k + 1) * NTIERS];
		unsigned	 t;

		for (t = 0; t < NTIERS; t++)
			d[t] = l[t] + r[t];
	}
}

static inline void
tree_leaf(struct balancer *b, unsigned i)
{
	size_t		 k = b->size + i;
	struct bslot	*s = i < b->nslots ? &b->slots[i] : NULL;

	b->best[k] = s != NULL && s->tier != TIER_NONE ? i : NO_SLOT;
	if (b->sums) {
		uint64_t	*d = &b->sum[k * NTIERS];

		memset(d, 0, NTIERS * sizeof *d);
		if (s != NULL && s->tier != TIER_NONE)
			d[s->tier] = s->dw;
	}
}

/*
 * Re-reads slot i into its leaf and fixes the path to the root.  Without
 * sums, the walk stops at a node whose best is unchanged and is not i:
 * nothing above it can depend on slot i's key.
 */
static inline void
tree_set(struct balancer *b, unsigned i)
{
	size_t		k;
	uint32_t	old, best;

	tree_leaf(b, i);
	if (b->sums) {
		for (k = (b->size + i) / 2; k >= 1; k /= 2)
			tree_pull(b, k);
		return;
	}
	for (k = (b->size + i) / 2; k >= 1; k /= 2) {
		old = b->best[k];
		best = tree_better(b, b->best[2 * k], b->best[2 * k + 1]);
		b->best[k] = best;
		if (best == old && old != i)
			break;
	}
}

/* Recomputes every key and the whole tree: O(n). */
static void
tree_rebuild(struct balancer *b)
{
	size_t		k;
	unsigned	i;

	b->sums = uses_sums(b->strategy);
	for (i = 0; i < b->nslots; i++)
		slot_key(b, &b->slots[i]);
	for (i = 0; i < b->size; i++)
		tree_leaf(b, i);
	for (k = b->size - 1; k >= 1; k--)
		tree_pull(b, k);
}

/*
 * The first slot in [from, end of subtree k) whose (tier, key) equals
 * target's, or NO_SLOT.  Subtrees wholly at or after from answer from
 * their node, so at most two nodes per level are visited: O(log n).
 */
static uint32_t
tree_find_from(const struct balancer *b, size_t k, unsigned lo, unsigned hi,
    unsigned from, uint32_t target)
{
	unsigned	mid;
	uint32_t	found;

	if (hi <= from || b->best[k] == NO_SLOT ||
	    slot_cmp(b, b->best[k], target) != 0)
		return NO_SLOT;
	if (lo >= from)
		return b->best[k];
	mid = lo + (hi - lo) / 2;
	found = tree_find_from(b, 2 * k, lo, mid, from, target);
	if (found != NO_SLOT)
		return found;
	return tree_find_from(b, 2 * k + 1, mid, hi, from, target);
}

/* Round robin among the slots tied with the root, from the cursor on. */
static inline uint32_t
pick_round_robin(struct balancer *b)
{
	uint32_t	root = b->best[1];
	uint32_t	s = NO_SLOT;

	/*
	 * The root is the lowest-indexed of the ties, so it is the answer
	 * when it is at or after the cursor; the cursor's own slot is when
	 * it ties.  Only otherwise is the tree searched (one pick per task:
	 * the common cases stay O(1)).
	 */
	if (b->cursor <= root)
		s = root;
	else if (slot_cmp(b, b->cursor, root) == 0)
		s = b->cursor;
	else if (b->cursor + 1 < b->nslots)
		s = tree_find_from(b, 1, 0, b->size, b->cursor + 1, root);
	if (s == NO_SLOT)
		s = root;	/* wrap */
	b->cursor = s + 1 < b->nslots ? s + 1 : 0;
	return s;
}

/* A draw proportional to dw among the slots of the root's tier. */
static uint32_t
pick_draw(struct balancer *b)
{
	unsigned	tier = b->slots[b->best[1]].tier;
	uint64_t	r = rng_below(b, b->sum[1 * NTIERS + tier]);
	size_t		k = 1;

	while (k < b->size) {
		uint64_t	left = b->sum[2 * k * NTIERS + tier];

		if (r < left)
			k = 2 * k;
		else {
			r -= left;
			k = 2 * k + 1;
		}
	}
	return (uint32_t)(k - b->size);
}

static int
phase_cmp(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * weights_polling: starts a fresh cycle.  Among the m slots sharing a
 * weight, the k-th (in slot order) gets the phase (2k+1)/(2m), so equal
 * weights interleave evenly instead of clumping; O(n log n).
 */
static void
wp_reset(struct balancer *b)
{
	unsigned	i, n = 0, run;

	for (i = 0; i < b->nslots; i++) {
		struct bslot	*s = &b->slots[i];

		s->wp_count = 0;
		s->wp_k = 0;
		s->wp_m = 1;
		if (s->weight > 0)
			b->scratch[n++] = (uint64_t)s->weight << 32 | i;
	}
	qsort(b->scratch, n, sizeof *b->scratch, phase_cmp);
	for (i = 0; i < n; i += run) {
		uint64_t	w = b->scratch[i] >> 32;
		unsigned	j;

		for (run = 1; i + run < n && b->scratch[i + run] >> 32 == w;
		    run++)
			;
		for (j = 0; j < run; j++) {
			struct bslot	*s;

			s = &b->slots[(uint32_t)b->scratch[i + j]];
			s->wp_k = j;
			s->wp_m = run;
		}
	}
	b->v_num = 0;
	b->v_den = 1;
	b->wp_dirty = false;
	tree_rebuild(b);
}

/*
 * weights_polling: a slot (re)entering a tier starts no earlier than the
 * virtual clock, so the picks it missed while away do not come back as
 * a burst; a lead it had is kept.
 */
static void
wp_clamp(struct balancer *b, struct bslot *s)
{
	u128	m2 = 2 * (u128)s->wp_m;
	u128	lhs = m2 * s->weight * b->v_num;
	u128	off = (2 * (u128)s->wp_k + 1) * b->v_den;
	u128	need;

	if (lhs <= off)
		return;
	/* Smallest count with (2m count + 2k + 1) / (2m w) >= V. */
	need = (lhs - off + m2 * b->v_den - 1) / (m2 * b->v_den);
	if (need > s->wp_count)
		s->wp_count = (uint64_t)need;
}

/* weights_polling: subtracts whole rounds from every pass; O(n). */
static void
wp_renorm(struct balancer *b)
{
	uint64_t	rounds = b->v_num / b->v_den;
	unsigned	i;

	for (i = 0; i < b->nslots; i++) {
		struct bslot	*s = &b->slots[i];
		uint64_t	 sub = rounds * s->weight;

		s->wp_count = s->wp_count > sub ? s->wp_count - sub : 0;
	}
	b->v_num -= rounds * b->v_den;
	tree_rebuild(b);
}

/* weights_polling: the root has the smallest pass; advance it. */
static uint32_t
pick_weights_polling(struct balancer *b)
{
	uint32_t	 i = b->best[1];
	struct bslot	*s = &b->slots[i];

	if ((u128)s->num * b->v_den > (u128)b->v_num * s->den) {
		b->v_num = s->num;
		b->v_den = s->den;
	}
	s->wp_count++;
	slot_key(b, s);
	tree_set(b, i);
	if (b->v_num >= WP_RENORM * b->v_den)	/* v_den < 2^38: no overflow */
		wp_renorm(b);
	return i;
}

/* (Re)allocates for n slots, keeping the first min(n, old) slots. */
static int
balancer_alloc(struct balancer *b, unsigned n)
{
	unsigned	 size = 1, i;
	struct bslot	*slots;
	uint32_t	*best;
	uint64_t	*sum, *scratch;

	while (size < n)
		size *= 2;
	slots = calloc(n > 0 ? n : 1, sizeof *slots);
	best = calloc(2 * (size_t)size, sizeof *best);
	sum = calloc(2 * (size_t)size * NTIERS, sizeof *sum);
	scratch = calloc(n > 0 ? n : 1, sizeof *scratch);
	if (slots == NULL || best == NULL || sum == NULL || scratch == NULL)
		goto fail;

	for (i = 0; i < n; i++) {
		if (i < b->nslots)
			slots[i] = b->slots[i];
		else {
			slots[i].weight = 1;
			slots[i].wp_m = 1;
		}
	}
	free(b->slots);
	free(b->best);
	free(b->sum);
	free(b->scratch);
	b->slots = slots;
	b->best = best;
	b->sum = sum;
	b->scratch = scratch;
	b->nslots = n;
	b->size = size;
	return 0;

fail:
	free(slots);
	free(best);
	free(sum);
	free(scratch);
	return -ENOMEM;
}

int
balancer_new(struct balancer **out, enum balance_strategy strategy,
    unsigned nslots, uint64_t seed)
{
	struct balancer	*b;
	unsigned	 i;
	int		 r;

	if (out == NULL || (unsigned)strategy >= BALANCE_NSTRATEGIES ||
	    nslots > BALANCE_SLOTS_MAX)
		return -EINVAL;
	b = calloc(1, sizeof *b);
	if (b == NULL)
		return -ENOMEM;
	b->strategy = strategy;
	b->v_den = 1;
	for (i = 0; i < 4; i++)
		b->rng[i] = splitmix64(&seed);
	r = balancer_alloc(b, nslots);
	if (r < 0)
		goto fail;
	if (strategy == BALANCE_WEIGHTS_POLLING)
		wp_reset(b);
	else
		tree_rebuild(b);
	*out = b;
	return 0;

fail:
	free(b);
	return r;
}

void
balancer_free(struct balancer *b)
{
	if (b == NULL)
		return;
	free(b->slots);
	free(b->best);
	free(b->sum);
	free(b->scratch);
	free(b);
}

/* Switching strategy rebuilds the tree; weights_polling starts a cycle. */
int
balancer_set_strategy(struct balancer *b, enum balance_strategy strategy)
{
	if ((unsigned)strategy >= BALANCE_NSTRATEGIES)
		return -EINVAL;
	b->strategy = strategy;
	if (strategy == BALANCE_WEIGHTS_POLLING)
		wp_reset(b);
	else
		tree_rebuild(b);
	return 0;
}

enum balance_strategy
balancer_strategy(const struct balancer *b)
{
	return b->strategy;
}

unsigned
balancer_nslots(const struct balancer *b)
{
	return b->nslots;
}

unsigned
balancer_weight(const struct balancer *b, unsigned slot)
{
	return slot < b->nslots ? b->slots[slot].weight : 0;
}

/* New slots are not live and weigh 1; on failure nothing changes. */
int
balancer_resize(struct balancer *b, unsigned nslots)
{
	int	r;

	if (nslots > BALANCE_SLOTS_MAX)
		return -EINVAL;
	r = balancer_alloc(b, nslots);
	if (r < 0)
		return r;
	if (b->cursor >= nslots)
		b->cursor = 0;
	if (b->strategy == BALANCE_WEIGHTS_POLLING)
		b->wp_dirty = true;	/* the weight groups changed */
	tree_rebuild(b);
	return 0;
}

/*
 * Weight changes are rare (the pool spec, at start and on scale), so
 * weights_polling only notes them and starts a fresh cycle at the next
 * pick, instead of recomputing the phases once per slot.
 */
void
balancer_set_weight(struct balancer *b, unsigned slot, unsigned weight)
{
	struct bslot	*s;

	if (slot >= b->nslots)
		return;
	if (weight > BALANCE_WEIGHT_MAX)
		weight = BALANCE_WEIGHT_MAX;
	s = &b->slots[slot];
	if (s->weight == weight)
		return;
	s->weight = weight;
	if (b->strategy == BALANCE_WEIGHTS_POLLING)
		b->wp_dirty = true;
	slot_key(b, s);
	tree_set(b, slot);
}

/*
 * Slot s's state changed (st already stored): recomputes its key and,
 * when the key moved, its path in the tree.
 */
static inline void
slot_changed(struct balancer *b, unsigned slot, struct bslot *s,
    uint8_t tier, uint64_t num, uint64_t den, uint64_t k2, uint64_t dw)
{
	slot_key(b, s);
	if (b->strategy == BALANCE_WEIGHTS_POLLING && !b->wp_dirty &&
	    s->tier != tier &&
	    (s->tier == TIER_AWAKE || s->tier == TIER_ASLEEP)) {
		wp_clamp(b, s);
		slot_key(b, s);
	}
	/* The sampler updates cpu and rss often; skip what changes nothing. */
	if (s->tier == tier && s->num == num && s->den == den &&
	    s->k2 == k2 && s->dw == dw)
		return;
	tree_set(b, slot);
}

void
balancer_update(struct balancer *b, unsigned slot,
    const struct balance_slot *st)
{
	struct bslot	*s;

	if (slot >= b->nslots || st == NULL)
		return;
	s = &b->slots[slot];
	/* The key before is passed along (not a copy of the whole slot). */
	s->st = *st;
	slot_changed(b, slot, s, s->tier, s->num, s->den, s->k2, s->dw);
}

/*
 * The engine's hot path: a task went out or came back.  The count comes
 * in a register, not in a struct the caller has just written field by
 * field (a wide reload of that would stall on store forwarding).
 */
void
balancer_set_in_flight(struct balancer *b, unsigned slot, unsigned in_flight)
{
	struct bslot	*s;
	unsigned	 cap;
	uint64_t	 num;

	if (slot >= b->nslots)
		return;
	s = &b->slots[slot];
	cap = s->st.capacity;
	if (s->st.live && (s->st.in_flight >= cap) != (in_flight >= cap)) {
		/* Full or no longer full: the tier moves, the general way. */
		s->st.in_flight = in_flight;
		slot_changed(b, slot, s, s->tier, s->num, s->den, s->k2,
		    s->dw);
		return;
	}
	/*
	 * The tier stays (what slot_tier() gives did not change), so only
	 * the key of a strategy that counts tasks can move: computed here
	 * as slot_key() would, in O(1) for the others.  A slot outside the
	 * tree (TIER_NONE) keeps its leaf, so its path needs no walk.
	 */
	s->st.in_flight = in_flight;
	switch (b->strategy) {
	case BALANCE_MINIMUM_CONNECTION:
		num = in_flight;
		break;
	case BALANCE_WEIGHTS_MINIMUM_CONNECTION:
		num = in_flight;
		if (s->tier == TIER_AWAKE || s->tier == TIER_ASLEEP)
			num++;
		break;
	case BALANCE_LEAST_LOAD:
		num = load_score(&s->st);
		break;
	default:
		return;
	}
	if (num == s->num)
		return;
	s->num = num;
	if (s->tier != TIER_NONE)
		tree_set(b, slot);
}

int
balancer_pick(struct balancer *b, const void *key, size_t key_len)
{
	long	named;

	if (b->wp_dirty)
		wp_reset(b);
	if (b->best[1] == NO_SLOT)
		return -1;

	switch (b->strategy) {
	case BALANCE_WEIGHTS:
	case BALANCE_WEIGHTS_RANDOM:
	case BALANCE_RANDOM:
		return (int)pick_draw(b);
	case BALANCE_WEIGHTS_POLLING:
		if (b->slots[b->best[1]].tier <= TIER_ASLEEP)
			return (int)pick_weights_polling(b);
		return (int)pick_round_robin(b);
	case BALANCE_SPECIFY:
		if (key == NULL || key_len == 0)
			return (int)pick_round_robin(b);
		/* A named slot is taken whenever it has room. */
		named = key_slot(key, key_len, b->nslots);
		if (named >= 0 && b->slots[named].tier != TIER_NONE)
			return (int)named;
		/* Otherwise the first best-tier slot from the key's hash on. */
		{
			unsigned	from = (unsigned)(key_hash(key, key_len) %
			    b->nslots);
			uint32_t	s;

			s = tree_find_from(b, 1, 0, b->size, from, b->best[1]);
			return (int)(s != NO_SLOT ? s : b->best[1]);
		}
	default:
		return (int)pick_round_robin(b);
	}
}
