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

#ifdef __cplusplus
}
#endif

#endif
