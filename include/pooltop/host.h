/*
 * libpooltop-host: the worker side of a pooltop pool (the SDK).
 *
 * A worker registers named handlers, then runs pooltop_host_run(), which
 * announces the handlers to the pool, reads requests from fd 3 and writes
 * replies to fd 4.  stdout and stderr stay the worker's own.  No libuv.
 *
 *	static void
 *	echo(struct pooltop_req *req, const void *data, size_t len, void *arg)
 *	{
 *		pooltop_reply(req, data, len);
 *	}
 *
 *	int
 *	main(void)
 *	{
 *		struct pooltop_host *h = pooltop_host_new();
 *		pooltop_host_on(h, "echo", echo, NULL);
 *		return pooltop_host_run(h);
 *	}
 *
 * Every request must be answered exactly once, with pooltop_reply() or
 * pooltop_fail().  A handler may answer before it returns (synchronous)
 * or keep the request and answer later (asynchronous): from a timer of
 * the host's loop (pooltop_host_after), or from any other thread; the
 * reply calls are thread-safe.  A request's payload is valid only until
 * its handler returns; copy what an asynchronous answer needs.
 *
 * Errors: functions return 0 or a negative errno.
 */
#ifndef POOLTOP_HOST_H
#define POOLTOP_HOST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pooltop_host;
struct pooltop_req;

typedef void (*pooltop_handler)(struct pooltop_req *req, const void *data,
	    size_t len, void *arg);
typedef void (*pooltop_timer_cb)(struct pooltop_host *, void *arg);

/* NULL on out-of-memory. */
struct pooltop_host *pooltop_host_new(void);
/* NULL ok; only once run() returned and no thread still holds a request. */
void	pooltop_host_free(struct pooltop_host *);

/* Registers a handler for a task name (1..255 bytes); before run. */
int	pooltop_host_on(struct pooltop_host *, const char *task,
	    pooltop_handler fn, void *arg);

/*
 * Handshakes, then serves requests until the pool closes fd 3 (returns 0),
 * pooltop_host_quit() is called (returns 0), or an error (negative errno,
 * with a line on stderr saying what).  -ENOTCONN when fd 3 and 4 are not
 * open (the program was not started by pooltop).
 *
 * When the pool closes fd 3, requests still pending are NOT dropped: the
 * loop keeps running timers and accepting replies from other threads
 * until every one is answered, then returns 0.  After quit, requests not
 * yet dispatched are dropped (never answered).
 *
 * Errors: a frame from the pool over PROTO_MAX_FRAME (-EMSGSIZE), or a
 * malformed or unexpected one (-EPROTO); writing fd 4 failed (-EPIPE when
 * the pool closed it; run() ignores SIGPIPE process-wide for this).
 * fd 3 and 4 are made close-on-exec, so the worker's own children do not
 * inherit them.  POOLTOP_WORKER ("POOL/SLOT") only names the worker in
 * the stderr lines.
 */
int	pooltop_host_run(struct pooltop_host *);
/* Makes run() return after the current callbacks; from any thread. */
void	pooltop_host_quit(struct pooltop_host *);

/*
 * Runs cb once, after ms milliseconds, on the host's loop (thread-safe:
 * another thread may add a timer while the loop runs).
 */
int	pooltop_host_after(struct pooltop_host *, uint64_t ms,
	    pooltop_timer_cb cb, void *arg);

/* The request's task name (NUL-terminated) and id. */
const char *pooltop_req_task(const struct pooltop_req *);
uint32_t pooltop_req_id(const struct pooltop_req *);
/* The host that received the request (for pooltop_host_after). */
struct pooltop_host *pooltop_req_host(const struct pooltop_req *);

/*
 * Answers with result bytes; frees the request.  A result too large for a
 * frame is answered with an error saying so instead (returns -EMSGSIZE).
 */
int	pooltop_reply(struct pooltop_req *, const void *data, size_t len);
/* Answers with an error message (printf format); frees the request. */
int	pooltop_fail(struct pooltop_req *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Locks shared by the pool's workers (pooltop.conf(5): locks = db, cache).
 * Each is a robust, process-shared pthread mutex in a region the pool
 * hands down (POOLTOP_LOCKS_FD, see pooltop-protocol(7), LOCKS), mapped
 * once per process on the first pooltop_lock_get(); the fd is then made
 * close-on-exec.  No round trip to the pool: an uncontended lock and
 * unlock cost what a pthread mutex does.  A lock is held by a thread:
 * the thread that took it unlocks it.  Taking a lock blocks the calling
 * thread (in a handler: the worker's loop too).
 *
 * The take calls return 0, or POOLTOP_LOCK_OWNER_DIED: taken, but its
 * previous holder died holding it (whatever it guarded may be half
 * updated); the lock was made consistent and is held normally, and the
 * pool shows the death.  Or a negative errno: -EDEADLK (this thread
 * holds it already), -EBUSY (pooltop_lock_try: held by another),
 * -ETIMEDOUT (pooltop_lock_timed), -ENOTRECOVERABLE (a holder gave it
 * back without it being made consistent: not by this library).
 */
#define POOLTOP_LOCK_OWNER_DIED	1

struct pooltop_lock;

/*
 * Finds the pool's lock of that name: 0, -ENOENT (the pool has no such
 * lock; POOLTOP_LOCKS lists them), -ENOTCONN (no region: the pool has no
 * locks, or this program was not started by pooltop), -EPROTO (the
 * region is not one this library knows: another pooltop version).
 * Thread-safe; the handle lives as long as the process.
 */
int	pooltop_lock_get(const char *name, struct pooltop_lock **out);
const char *pooltop_lock_name(const struct pooltop_lock *);
/* Waits as long as it takes. */
int	pooltop_lock(struct pooltop_lock *);
/* Does not wait: -EBUSY. */
int	pooltop_lock_try(struct pooltop_lock *);
/* Waits at most ms milliseconds (CLOCK_MONOTONIC): -ETIMEDOUT. */
int	pooltop_lock_timed(struct pooltop_lock *, uint64_t ms);
/* 0, or -EPERM when this thread does not hold it. */
int	pooltop_unlock(struct pooltop_lock *);

/* Runs under a lock; owner_died: as POOLTOP_LOCK_OWNER_DIED above. */
typedef int (*pooltop_locked_fn)(void *arg, int owner_died);
/*
 * Takes the lock (waiting), runs fn, gives the lock back.  Returns fn's
 * return value, or the lock's negative errno (fn not run).  fn must not
 * unlock it.
 */
int	pooltop_with_lock(struct pooltop_lock *, pooltop_locked_fn fn,
	    void *arg);

#ifdef __cplusplus
}
#endif

#endif
