/*
 * Locks shared by a pool's workers: the layout of the shared region, and
 * the engine's side (lock.c).  The SDK's side is host-lock.c, which
 * includes this header for the layout only; so nothing here needs libuv.
 *
 * The region is one memfd per pool (pooltop.conf(5) `locks`), created and
 * initialised by the engine, inherited by every worker on fd 5 (fd 3 for
 * a service pool) and named in its environment:
 *
 *	POOLTOP_LOCKS_FD=5
 *	POOLTOP_LOCKS=db,cache
 *
 * A header, then one record per lock, in the order of the config.  Each
 * record holds a process-shared, robust, error-checking pthread mutex and
 * what its holder wrote about itself.  Native byte order and alignment:
 * every process that maps it runs on this machine, with this libc.
 * Documented field by field in pooltop-protocol(7), section LOCKS.
 */
#ifndef POOLTOP_LOCK_H
#define POOLTOP_LOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define LOCK_MAGIC		0x4b4c5450u	/* "PTLK" in little-endian memory */
#define LOCK_VERSION		1
#define LOCK_HEADER_SIZE	64
#define LOCK_RECORD_SIZE	256
#define LOCK_MUTEX_SPACE	64		/* room kept for a pthread_mutex_t */
#define LOCK_NAME_MAX		63		/* bytes of a lock name */
#define LOCK_MAX		64		/* locks per pool */
#define LOCK_FD_WORKER		5		/* the region's fd in a worker */
#define LOCK_FD_SERVICE		3		/* ... in a service (no fds 3/4) */

/* holder_flags */
#define LOCK_HELD_BY_ENGINE	0x1	/* taken by the engine for a protocol worker */

struct lock_header {
	uint32_t	magic;		/* LOCK_MAGIC */
	uint32_t	version;	/* LOCK_VERSION */
	uint32_t	count;		/* records */
	uint32_t	header_size;	/* LOCK_HEADER_SIZE: the first record's offset */
	uint32_t	record_size;	/* LOCK_RECORD_SIZE */
	uint32_t	mutex_size;	/* sizeof (pthread_mutex_t) where it was made */
	uint8_t		reserved[40];
};

/*
 * One lock.  The holder fields are written by whoever holds the mutex
 * (right after taking it, and cleared right before giving it back), so
 * they are only as exact as that: a holder killed between taking the
 * mutex and writing them is "unknown" (pid 0).  Readers that do not hold
 * the mutex (the engine, for the dashboard) read them with atomic loads.
 */
struct lock_rec {
	union {
		pthread_mutex_t	m;
		uint8_t		space[LOCK_MUTEX_SPACE];
	} mutex;				/*   0 */
	char		name[LOCK_NAME_MAX + 1];	/*  64: NUL-terminated */
	uint32_t	holder_pid;		/* 128: 0 when free or unknown */
	uint32_t	holder_tid;		/* 132 */
	int32_t		holder_slot;		/* 136: -1 unknown */
	uint32_t	holder_flags;		/* 140: LOCK_HELD_BY_ENGINE */
	uint64_t	holder_since;		/* 144: CLOCK_MONOTONIC, ms */
	uint64_t	acquisitions;		/* 152: times taken */
	uint32_t	owner_died;		/* 160: 1: the next locker is told "owner died" */
	uint32_t	dead_pid;		/* 164: the last holder that died with it (0: unknown) */
	int32_t		dead_slot;		/* 168 */
	uint32_t	recovered_by;		/* 172: pid told "owner died" last */
	uint64_t	deaths;			/* 176: holders that died with it */
	uint64_t	death_time;		/* 184: CLOCK_MONOTONIC ms of the last */
	uint64_t	dead_since;		/* 192: when that holder had taken it */
	uint8_t		reserved[LOCK_RECORD_SIZE - 200];
};

_Static_assert(sizeof(struct lock_header) == LOCK_HEADER_SIZE,
    "lock header layout");
_Static_assert(sizeof(struct lock_rec) == LOCK_RECORD_SIZE,
    "lock record layout");
_Static_assert(sizeof(pthread_mutex_t) <= LOCK_MUTEX_SPACE,
    "pthread_mutex_t fits its room");

/* The record of lock i (0-based) in a region mapped at base. */
static inline struct lock_rec *
lock_region_rec(void *base, unsigned i)
{
	return (struct lock_rec *)((uint8_t *)base + LOCK_HEADER_SIZE +
	    (size_t)i * LOCK_RECORD_SIZE);
}

/*
 * Fields are written by the mutex's holder and read by anyone: through
 * atomics, relaxed but for the holder's pid, which is stored last with
 * release and loaded with acquire, so a reader that sees a new holder
 * also sees a death that holder recorded before it.
 */
#define LOCK_LD(f)	__atomic_load_n(&(f), __ATOMIC_RELAXED)
#define LOCK_ST(f, v)	__atomic_store_n(&(f), (v), __ATOMIC_RELAXED)

/*
 * A holder died with the lock: keeps who it was (from the holder fields,
 * still its own) and counts it.  Called, holding the mutex, by whoever
 * recovered it (got EOWNERDEAD and made it consistent).
 */
static inline void
lock_rec_death(struct lock_rec *r, uint64_t now)
{
	LOCK_ST(r->dead_pid, LOCK_LD(r->holder_pid));
	LOCK_ST(r->dead_slot, LOCK_LD(r->holder_slot));
	LOCK_ST(r->dead_since, LOCK_LD(r->holder_since));
	LOCK_ST(r->death_time, now);
	LOCK_ST(r->deaths, LOCK_LD(r->deaths) + 1);
}

/*
 * Writes the new holder, holding the mutex.  died: the caller recovered
 * it itself.  Returns whether the new holder is to be told "owner died":
 * died, or the mark left by someone who recovered it without keeping it.
 */
static inline bool
lock_rec_set_holder(struct lock_rec *r, uint32_t pid, uint32_t tid,
    int32_t slot, uint32_t flags, uint64_t now, bool died)
{
	if (LOCK_LD(r->owner_died) != 0) {
		LOCK_ST(r->owner_died, 0);
		died = true;
	}
	if (died)
		LOCK_ST(r->recovered_by, pid);
	LOCK_ST(r->holder_tid, tid);
	LOCK_ST(r->holder_slot, slot);
	LOCK_ST(r->holder_flags, flags);
	LOCK_ST(r->holder_since, now);
	LOCK_ST(r->acquisitions, LOCK_LD(r->acquisitions) + 1);
	__atomic_store_n(&r->holder_pid, pid, __ATOMIC_RELEASE);
	return (died);
}

/* Clears the holder fields, holding the mutex, right before unlocking. */
static inline void
lock_rec_clear_holder(struct lock_rec *r)
{
	__atomic_store_n(&r->holder_pid, 0, __ATOMIC_RELEASE);
	LOCK_ST(r->holder_tid, 0);
	LOCK_ST(r->holder_slot, -1);
	LOCK_ST(r->holder_flags, 0);
	LOCK_ST(r->holder_since, 0);
}

/*
 * CLOCK_MONOTONIC_COARSE in ms: the same clock in every process of the
 * machine, read without a system call and at a few ns (the precise one
 * costs a third of an uncontended lock); it lags by at most a tick, which
 * is less than the milliseconds shown.
 */
static inline uint64_t
lock_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/*
 * Checks a list of lock names: 1..LOCK_NAME_MAX bytes of [A-Za-z0-9_.-],
 * no duplicate, at most LOCK_MAX.  0, or -EINVAL with the reason in err.
 */
int	lock_names_check(char *const *names, size_t n, char *err,
	    size_t errlen);

/*
 * Makes a region for the named locks: a sealed memfd (it cannot shrink
 * or grow, so no holder can make another's mapping fault) with every
 * mutex initialised.  Returns 0 with the fd (close-on-exec), the mapping
 * and its size, or -errno with the reason in err.
 */
int	lock_region_create(char *const *names, size_t n, int *fd, void **map,
	    size_t *size, char *err, size_t errlen);

/* ---- the engine's side (lock.c; engine-internal.h declares the rest) -- */

struct pool;
struct worker;
struct proto_msg;
struct lockset;

/* Makes the pool's lockset (NULL when it has no locks); engine_error() on failure. */
int	lockset_new(struct pool *, struct lockset **out);
/* Releases what the engine holds and frees; after lockset_teardown's close. NULL ok. */
void	lockset_free(struct lockset *);
/* Closes the lockset's timer (with the pool's other handles). */
void	lockset_teardown(struct lockset *);
/* The region's fd in pooltop, and the fd number a worker gets it on. */
int	lockset_fd(const struct lockset *);
int	lockset_child_fd(const struct pool *);
/* "db,cache", for POOLTOP_LOCKS. */
const char *lockset_names(const struct lockset *);
/* A LOCK or UNLOCK frame from a worker. */
void	lock_frame(struct worker *, const struct proto_msg *);
/*
 * The worker was reaped: the locks the engine held for it are released
 * with the owner-died mark, its waits end, a lock it held itself is
 * recovered, and each of these shows as a NOTICE naming the lock.
 */
void	lock_worker_gone(struct pool *, struct worker *);

#endif
