/*
 * pooltop engine: pools of worker processes on one libuv loop.
 *
 * Conventions (as libuv): calls return 0 or a negative errno; when a call
 * fails its callback never runs.  Every task handed to pool_send() ends
 * exactly once through its callback, with a result or an error that says
 * why.  Nothing here is thread-safe: use it from the loop's thread only.
 *
 * Ownership: the engine owns its pools; pools own their workers.  Strings
 * and buffers passed in are copied unless said otherwise; pointers handed
 * to callbacks are valid only during the callback.
 *
 * Processes: workers are started with clone(CLONE_VM|CLONE_VFORK) and
 * exec (like posix_spawn), in their own process group, with stdin on
 * /dev/null, stdout and stderr on pipes, requests on fd 3 and replies on
 * fd 4 (not for POOL_MODE_SERVICE), signals unblocked and at their
 * defaults, PR_SET_PDEATHSIG = SIGKILL (they die with the thread that
 * started them: use the engine from one long-lived thread), and
 * POOLTOP_WORKER=POOL/SLOT in their environment.  Every signal goes
 * through a pidfd.  The engine watches SIGCHLD with a uv_signal_t and
 * reaps each worker with waitid on its pidfd only, never waitpid(-1); an
 * embedding program must not reap children it did not start with
 * waitpid(-1) either (the exit status would be lost).  Where pidfds are
 * missing (Linux < 5.3, valgrind) the engine falls back to its unreaped
 * children's pids, exact under that same rule.  engine_new() sets
 * SIGPIPE to SIG_IGN if it was at its default, so that a write to a
 * dead worker is an error, not the death of the program.
 */
#ifndef POOLTOP_POOL_H
#define POOLTOP_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "pooltop/balance.h"

struct engine;
struct pool;
struct sampler;

/* Restart policy after a worker exits (PM2 and supervisord's names). */
enum pool_restart {
	POOL_RESTART_ON_FAILURE,	/* restart unless it exited 0 */
	POOL_RESTART_ALWAYS,
	POOL_RESTART_NEVER,
};

/* What a pool's processes are: protocol workers or plain services. */
enum pool_mode {
	POOL_MODE_AUTO,		/* workers; no handshake in grace => service */
	POOL_MODE_WORKER,	/* must handshake; otherwise it is a failure */
	POOL_MODE_SERVICE,	/* never expected to speak the protocol: all
				   `workers` start at once, without fds 3/4 */
};

/* An environment variable to set (value NULL: unset it). */
struct pool_env {
	char	*name;
	char	*value;
};

/*
 * Everything that defines a pool.  pool_spec_init() fills the defaults;
 * the config module and embedding programs fill the rest.  The engine
 * copies the spec in pool_new(); the caller keeps ownership of its own.
 */
struct pool_spec {
	char		*name;		/* required, [A-Za-z0-9_.-]+ */
	char	       **argv;		/* required, NULL-terminated, argv[0] looked up in PATH */
	char		*cwd;		/* NULL: pooltop's cwd */
	struct pool_env	*env;		/* added to pooltop's environment */
	size_t		 nenv;
	enum pool_mode	 mode;		/* default POOL_MODE_AUTO */

	unsigned	 workers;	/* max workers, default 1 */
	unsigned	 min_workers;	/* started at once, default 1 (0: all lazy) */
	unsigned	 parallel_jobs;	/* tasks in flight per worker, default 1 */
	enum balance_strategy strategy;	/* default BALANCE_MINIMUM_CONNECTION */
	unsigned	*weights;	/* per slot, nweights entries, missing => 1 */
	size_t		 nweights;
	uint64_t	 seed;		/* for the random strategies, default 1 */

	uint64_t	 task_timeout_ms;	/* 0: none (default); counted from pool_send */
	size_t		 queue_cap;	/* tasks waiting, default 10000 */
	unsigned	 retry;		/* times a task whose worker died is re-queued (at the front), default 0 */
	uint64_t	 idle_sleep_ms;	/* 0: never (default) */
	uint64_t	 handshake_ms;	/* grace for the handshake, default 2000 */

	enum pool_restart restart;	/* default POOL_RESTART_ON_FAILURE */
	unsigned	 max_restarts;	/* crash loop: this many exits of one slot ... default 5 (0: never give up) */
	uint64_t	 restart_window_ms; /* ... within this window, default 60000 */
	uint64_t	 backoff_initial_ms; /* default 100; doubles per restart; back to this after a 10 s run */
	uint64_t	 backoff_max_ms;	/* default 10000 */
	int		 stop_signal;	/* default SIGTERM */
	uint64_t	 stop_timeout_ms; /* grace for in-flight tasks, then again from the signal to SIGKILL; default 5000 */

	uint64_t	 memory_limit;	/* bytes of RSS, 0: none */
	bool		 tree;		/* sample a worker's descendants with it */
	size_t		 log_lines;	/* per-worker log ring, default 1000 */
};

void	pool_spec_init(struct pool_spec *);
/* Frees what a spec points to (as the config module allocates it). */
void	pool_spec_release(struct pool_spec *);
/* Deep copy; returns 0 or -ENOMEM. */
int	pool_spec_copy(struct pool_spec *dst, const struct pool_spec *src);

/* ---- engine ---------------------------------------------------------- */

struct engine_options {
	struct sampler	*sampler;	/* optional: pids are registered with it */
};

int	engine_new(struct engine **out, uv_loop_t *loop,
	    const struct engine_options *opts /* NULL ok */);
/*
 * Frees the engine; only after engine_stop()'s callback ran (or when no
 * pool was ever started).  NULL ok.  Called earlier, it stops at once
 * (SIGKILL) and frees when the last handle closed: the loop must run.
 */
void	engine_free(struct engine *);
uv_loop_t *engine_loop(const struct engine *);
struct sampler *engine_sampler(const struct engine *);

/*
 * Adds and starts a pool; *out (may be NULL) points to it.  The command
 * is looked up and min_workers processes are started now: a missing
 * command, a bad cwd or a failed first start returns an error and
 * engine_error() says what, as "pool web: cannot start \"/x/y\": No such
 * file or directory"; later start failures (EMFILE, EAGAIN) back off and
 * retry like crashes.
 */
int	engine_add_pool(struct engine *, const struct pool_spec *,
	    struct pool **out);
/* The message of the last failed engine call (empty if none). */
const char *engine_error(const struct engine *);
struct pool *engine_pool(const struct engine *, const char *name);
/* Copies up to max pool pointers; returns the number of pools. */
size_t	engine_pools(const struct engine *, struct pool **out, size_t max);

typedef void (*engine_stop_cb)(struct engine *, void *arg);
/*
 * Graceful stop of every pool: no new tasks, queued ones end with
 * "pool stopping", in-flight ones are given stop_timeout to finish,
 * then each worker's request pipe is closed (a libpooltop-host worker
 * returns at EOF) and it gets stop_signal, then SIGKILL stop_timeout
 * later.  Tasks still in flight when a worker exits end with its exit
 * ("worker web/0 (pid 12) exited with signal 15 (Terminated): pool
 * stopping").  cb runs once every worker has exited and every handle
 * is closed (from a close callback; it may call engine_free()); if no
 * pool was ever added it runs at once.  A second call forces: SIGKILL
 * at once.
 */
void	engine_stop(struct engine *, engine_stop_cb cb, void *arg);

/* ---- events ------------------------------------------------------------ */

enum pool_event_type {
	POOL_EV_SPAWNED,	/* worker process started (pid known) */
	POOL_EV_READY,		/* handshake done, or became a service */
	POOL_EV_EXITED,		/* worker exited; status/signal set */
	POOL_EV_RESTARTING,	/* restart scheduled after delay_ms */
	POOL_EV_FAILED,		/* pool gave up (crash loop) or spawn failed; text says why */
	POOL_EV_STATE,		/* worker state changed (sleep, wake, stop...) */
	POOL_EV_TASK_STARTED,	/* task written to a worker */
	POOL_EV_TASK_FINISHED,	/* task ended: ok, error text, latency */
	POOL_EV_LOG,		/* a line from a worker's stdout/stderr */
	POOL_EV_NOTICE,		/* anything else worth a line: text */
};

enum worker_state {
	WORKER_STARTING,	/* spawned, no handshake yet */
	WORKER_IDLE,		/* ready, nothing in flight */
	WORKER_BUSY,		/* ready, tasks in flight */
	WORKER_SLEEPING,	/* stopped with SIGSTOP (by us or from outside) */
	WORKER_STOPPING,	/* stop signal sent */
	WORKER_EXITED,		/* gone; slot waits for restart or scale-up */
	WORKER_FAILED,		/* gone and will not be restarted */
};
const char *worker_state_name(enum worker_state);

enum log_stream { LOG_STDOUT = 1, LOG_STDERR = 2, LOG_POOLTOP = 3 };

struct pool_event {
	enum pool_event_type	 type;
	struct pool		*pool;
	const char		*pool_name;
	int			 slot;		/* -1: the pool itself */
	pid_t			 pid;		/* 0: none */
	enum worker_state	 state;		/* POOL_EV_STATE: the new state */
	int			 exit_status;	/* POOL_EV_EXITED */
	int			 term_signal;	/* POOL_EV_EXITED, 0 if none */
	uint64_t		 delay_ms;	/* POOL_EV_RESTARTING */
	/* Tasks: */
	uint64_t		 task_id;	/* engine-wide, from 1 */
	const char		*task_name;
	const void		*payload;	/* the task's payload */
	size_t			 payload_len;
	bool			 ok;		/* TASK_FINISHED: result or error */
	const void		*result;	/* TASK_FINISHED: result bytes or error text */
	size_t			 result_len;
	uint64_t		 latency_us;	/* TASK_FINISHED: send to end */
	/* Text for FAILED, NOTICE, LOG, and a reason on EXITED/STATE: */
	const char		*text;
	size_t			 text_len;
	enum log_stream		 stream;	/* POOL_EV_LOG */
	uint64_t		 time_ms;	/* wall clock, ms since the epoch */
};

typedef void (*pool_event_cb)(const struct pool_event *, void *arg);
/* Adds a listener for every pool's events; returns 0 or -ENOMEM. */
int	engine_listen(struct engine *, pool_event_cb cb, void *arg);
void	engine_unlisten(struct engine *, pool_event_cb cb, void *arg);

/* ---- tasks ------------------------------------------------------------- */

/*
 * The end of a task.  ok: data is the result.  !ok: data is a
 * NUL-terminated error message (len excludes the NUL), such as
 * "timed out after 5 s", "worker web/2 (pid 123) exited with signal 9
 * (Killed)", "pool stopping", "task \"x\" not served by pool \"web\"
 * (served: a, b)", or the pool's failure ("worker web/0 failed 5 times
 * within 60 s (last: exited with status 3); not restarting").  The
 * callback is never called from inside pool_send().
 */
typedef void (*pool_task_cb)(bool ok, const void *data, size_t len,
	    void *arg);

struct pool_send_opts {
	const void	*key;		/* sticky key: same key, same worker */
	size_t		 key_len;
	uint64_t	 timeout_ms;	/* 0: the pool's task_timeout */
};

/*
 * Queues a task.  Returns 0 and cb runs later exactly once, or a negative
 * errno (cb never runs): -EINVAL (bad arguments), -ESHUTDOWN (pool
 * stopping), -ENOBUFS (queue full), -E2BIG (payload over the frame limit).
 * pool_send_error() gives the text for such a return.
 *
 * A task goes FIFO to a worker with room (chosen by the pool's strategy)
 * and waits while none has; with a key it goes to the worker the key is
 * pinned to while that worker lives, waiting in that worker's own list
 * when it is full (queue_cap counts those too).  A task whose name the
 * pool's workers did not announce ends with an error once a worker has
 * handshaken; a task for a pool that can never serve it (services only,
 * failed) ends with the reason.
 *
 * The timeout runs from pool_send().  A task that times out on a worker
 * is answered then, but keeps its place on that worker (which is still
 * working on it) until its late reply comes, which is dropped and
 * counted (pool_info.late_replies), or the worker dies.  A reply for an
 * id the worker was never sent is a protocol error: the worker is
 * killed and restarted, with the reason in its log and a NOTICE.
 */
int	pool_send(struct pool *, const char *task, const void *payload,
	    size_t len, const struct pool_send_opts *opts /* NULL ok */,
	    pool_task_cb cb, void *arg);
/*
 * The text for a negative return of pool_send() or pool_broadcast(),
 * such as "queue full (10000 tasks waiting)"; valid until the next call
 * for the same pool (pool may be NULL for -EINVAL).
 */
const char *pool_send_error(struct pool *, int err);

/* One worker's part of a broadcast. */
struct pool_reply {
	int		 slot;
	pid_t		 pid;
	bool		 ok;
	const void	*data;
	size_t		 len;
};
typedef void (*pool_broadcast_cb)(const struct pool_reply *replies,
	    size_t n, void *arg);
/*
 * Sends the task to every live ready worker (each part goes to its worker
 * even when that worker is full: it waits in the worker's own list); cb
 * runs once with all replies, in slot order.  -EAGAIN when no worker is
 * ready yet.  Parts time out per the pool's task_timeout.
 */
int	pool_broadcast(struct pool *, const char *task, const void *payload,
	    size_t len, pool_broadcast_cb cb, void *arg);

/* ---- inspection -------------------------------------------------------- */

struct pool_worker_info {
	int			 slot;
	pid_t			 pid;		/* 0 when no process */
	enum worker_state	 state;
	bool			 service;	/* no protocol */
	unsigned		 weight;
	unsigned		 in_flight;
	uint64_t		 tasks_done;	/* answered ok */
	uint64_t		 tasks_failed;	/* answered with an error */
	unsigned		 restarts;
	uint64_t		 started_ms;	/* wall clock of the current process */
	int			 last_status;	/* of the previous process */
	int			 last_signal;
};

struct pool_info {
	const char		*name;		/* valid while the pool lives */
	enum balance_strategy	 strategy;
	unsigned		 workers;	/* configured max */
	unsigned		 live;		/* processes running */
	size_t			 queued;
	size_t			 queue_cap;
	uint64_t		 tasks_done;
	uint64_t		 tasks_failed;
	bool			 failed;	/* gave up restarting */
	bool			 stopping;
	const char		*failure;	/* why, when failed; else NULL */
	uint64_t		 late_replies;	/* replies that came after their task timed out (dropped) */
};

void	pool_get_info(const struct pool *, struct pool_info *);
/*
 * Slots: one per configured worker (0..workers-1); a slot keeps its log
 * ring, weight and counters across the processes that fill it.
 */
/* Copies at most max rows (one per slot in use); returns rows in use. */
size_t	pool_snapshot(const struct pool *, struct pool_worker_info *out,
	    size_t max);
const char *pool_name(const struct pool *);
const struct pool_spec *pool_get_spec(const struct pool *);

/* A log line kept in a worker's ring. */
struct pool_log_line {
	uint64_t	 time_ms;
	enum log_stream	 stream;
	const char	*text;		/* NUL-terminated, no newline */
	size_t		 len;
};
/*
 * Calls fn for the slot's kept log lines, oldest first, starting at the
 * line numbered from (lines are numbered from 0 for the slot's life);
 * returns the number of the next line to come.
 */
uint64_t pool_worker_log(const struct pool *, int slot, uint64_t from,
	    void (*fn)(const struct pool_log_line *, void *), void *arg);

/* ---- actions (used by the commands layer, not directly by the UI) ------ */

/* Through the pidfd; SIGSTOP and SIGCONT also set sleeping / awake.  -ESRCH: no process. */
int	pool_worker_signal(struct pool *, int slot, int sig);
int	pool_worker_sleep(struct pool *, int slot);	/* SIGSTOP */
int	pool_worker_wake(struct pool *, int slot);	/* SIGCONT */
/*
 * Graceful (in-flight tasks get stop_timeout), then a new process at
 * once.  On a slot without a process (exited, or failed: this clears
 * the pool's failure and the slot's crash count) it starts one now.
 */
int	pool_worker_restart(struct pool *, int slot);
/*
 * Up: the new slots start at once.  Down: the highest slots take no new
 * tasks, their in-flight tasks get stop_timeout to finish, and a slot is
 * removed once its process is gone.
 */
int	pool_scale(struct pool *, unsigned workers);
int	pool_set_strategy(struct pool *, enum balance_strategy);
/* Finds the pool and slot of a live worker pid; 0 or -ESRCH. */
int	engine_find_pid(const struct engine *, pid_t pid, struct pool **pool,
	    int *slot);

/*
 * Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft
 * limit or a negative errno.  Workers get the original soft limit back.
 * engine_fds_per_worker() is what one worker costs pooltop in
 * descriptors (request and reply pipes, stdout, stderr, pidfd; starting
 * one briefly takes 4 more), for the "limit too small" check.
 */
long	engine_raise_nofile(void);
unsigned engine_fds_per_worker(void);

#endif
