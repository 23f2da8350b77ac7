/*
 * pooltop balancing strategies.  Pure: no I/O, no loop, no clock.
 *
 * A balancer keeps its own view of a pool's slots, updated by the engine
 * whenever a slot changes (spawned, ready, full, freed, sleeping, exited),
 * so a pick does not scan every worker: it costs O(1) or O(log n).
 * Deterministic under its seed, so tests can assert exact sequences.
 */
#ifndef POOLTOP_BALANCE_H
#define POOLTOP_BALANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum balance_strategy {
	BALANCE_POLLING,
	BALANCE_WEIGHTS,
	BALANCE_RANDOM,
	BALANCE_SPECIFY,
	BALANCE_WEIGHTS_POLLING,
	BALANCE_WEIGHTS_RANDOM,
	BALANCE_MINIMUM_CONNECTION,
	BALANCE_WEIGHTS_MINIMUM_CONNECTION,
	BALANCE_LEAST_LOAD,
	BALANCE_NSTRATEGIES
};

/* "polling", "weights", ... as in the config file; NULL if out of range. */
const char *balance_strategy_name(enum balance_strategy);
/* Parses a name; returns 0 and sets *out, or -EINVAL. */
int	balance_strategy_parse(const char *name, enum balance_strategy *out);

/* Limits: weights above the maximum are clamped to it; more slots: -EINVAL. */
#define BALANCE_WEIGHT_MAX	1000000u
#define BALANCE_SLOTS_MAX	65536u

struct balancer;

/* A slot's state as the balancer needs it. */
struct balance_slot {
	bool		 live;		/* ready worker that may take tasks (not starting, stopping, dead) */
	bool		 asleep;	/* SIGSTOPped: picked only when no awake worker has room */
	unsigned	 in_flight;	/* tasks in flight */
	unsigned	 capacity;	/* parallel_jobs */
	double		 cpu;		/* recent CPU%, for least_load (0 until sampled) */
	uint64_t	 rss;		/* bytes, for least_load */
};

/*
 * nslots: the pool's max workers (slots are 0..nslots-1, not live until
 * balancer_update() says so, weight 1).  seed: the random strategies'
 * generator (see pooltop-balance(7)).  Returns 0, -EINVAL or -ENOMEM.
 */
int	balancer_new(struct balancer **out, enum balance_strategy,
	    unsigned nslots, uint64_t seed);
void	balancer_free(struct balancer *);
int	balancer_set_strategy(struct balancer *, enum balance_strategy);
enum balance_strategy balancer_strategy(const struct balancer *);
/*
 * Grows or shrinks the slot range (scale); slots beyond n are forgotten,
 * new ones are not live and weigh 1.  0, -EINVAL or -ENOMEM (unchanged).
 */
int	balancer_resize(struct balancer *, unsigned nslots);
/* Weight of a slot (kept across restarts of its worker); 0: last resort. */
void	balancer_set_weight(struct balancer *, unsigned slot, unsigned weight);
/*
 * The slot's new state; call on every change the balancer cares about.
 * O(log n), and cheap when nothing the strategy looks at changed.
 */
void	balancer_update(struct balancer *, unsigned slot,
	    const struct balance_slot *);
/* The same when only in_flight changed (a task went out or came back). */
void	balancer_set_in_flight(struct balancer *, unsigned slot,
	    unsigned in_flight);
/*
 * Picks a slot with room for one more task (live, in_flight < capacity),
 * or returns -1 when none has room.  key/key_len: the task's key (for
 * specify and for sticky keys; NULL for none).  The engine then updates
 * the slot's in_flight with balancer_update().
 */
int	balancer_pick(struct balancer *, const void *key, size_t key_len);
/* The slot range, and a slot's weight (default 1; 0 if out of range). */
unsigned balancer_nslots(const struct balancer *);
unsigned balancer_weight(const struct balancer *, unsigned slot);

#endif
