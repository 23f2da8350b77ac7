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

/* How a reload replaces a pool's workers (pool_reload(), watch). */
enum pool_reload_mode {
	POOL_RELOAD_ROLLING,	/* one slot at a time: the new process takes
				   over once up, then the old one stops */
	POOL_RELOAD_RESTART,	/* stop every worker, then start them all */
};

/* The most workers a pool can have (spec.workers, pool_scale()). */
#define POOL_WORKERS_MAX	4096

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

	unsigned	 workers;	/* max workers, default 1 (1 to POOL_WORKERS_MAX) */
	unsigned	 min_workers;	/* started at once, default 1 (0: all lazy) */
	unsigned	 parallel_jobs;	/* tasks in flight per worker, default 1 */
	enum balance_strategy strategy;	/* default BALANCE_MINIMUM_CONNECTION */
	unsigned	*weights;	/* per slot, nweights entries, missing => 1 */
	size_t		 nweights;
	uint64_t	 seed;		/* for the random strategies, default 1 */

	uint64_t	 task_timeout_ms;	/* 0: none (default); counted from pool_send */
	size_t		 queue_cap;	/* tasks waiting (in the queue and in workers'
					   own lists, broadcast parts too), default 10000 */
	unsigned	 retry;		/* times a task whose worker died is re-queued (at
					   the front, for another slot's worker while one
					   takes tasks), default 0 */
	uint64_t	 idle_sleep_ms;	/* 0: never (default); protocol workers only:
					   a service is never put to sleep by it */
	uint64_t	 handshake_ms;	/* grace for the handshake, default 2000 */

	enum pool_restart restart;	/* default POOL_RESTART_ON_FAILURE */
	unsigned	 max_restarts;	/* crash loop: this many exits of one slot ... default 5 (0: never give up) */
	uint64_t	 restart_window_ms; /* ... within this window, default 60000 */
	uint64_t	 backoff_initial_ms; /* default 100; doubles per restart; back to this after a 10 s run */
	uint64_t	 backoff_max_ms;	/* default 10000 */
	int		 stop_signal;	/* default SIGTERM */
	uint64_t	 stop_timeout_ms; /* grace for in-flight tasks, then again from the signal to SIGKILL; default 5000 */

	uint64_t	 memory_limit;	/* bytes of RSS, 0: none; over it for 3 samples
					   in a row: a graceful restart, whatever
					   restart says, not counted as a crash */
	bool		 tree;		/* sample a worker's descendants with it */
	size_t		 log_lines;	/* per-worker log ring, default 1000 */
	unsigned	 log_rate_limit; /* lines per second (stdout and stderr
					   together) a worker may write; more is
					   flooding: it is restarted.  Default
					   10000, 0: no limit */
	char		*log_file;	/* also write the workers' lines here (with
					   time stamps and prefixes); NULL: none */
	uint64_t	 log_max;	/* rotate log_file before it passes this
					   many bytes, default 10 MiB; 0: never */
	unsigned	 log_keep;	/* rotated files kept (PATH.1 ..), default 5 */

	/* Reload on change (watch.c, reload.c): */
	char	       **watch;		/* files or directories (recursive), nwatch
					   entries; relative to cwd (the pool's,
					   else pooltop's); NULL: no watch */
	size_t		 nwatch;
	char	       **watch_ignore;	/* fnmatch globs, on the path relative to
					   the watched one and on the file name */
	size_t		 nwatch_ignore;
	uint64_t	 watch_delay_ms;	/* quiet time before a reload, default 500 */
	enum pool_reload_mode reload;	/* default POOL_RELOAD_ROLLING */

	/* Locks shared by the workers (lock.c; pooltop-protocol(7) LOCKS): */
	char	       **locks;		/* names, nlocks entries (at most 64, each
					   1..63 of [A-Za-z0-9_.-]); NULL: none */
	size_t		 nlocks;
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

/*
 * Removing and changing pools while the engine runs (a SIGHUP reload).
 *
 * engine_remove_pool: the pool leaves engine_pools() and engine_pool()
 * at once (its name is free for a new pool), takes no new task
 * (-ESHUTDOWN), its queued tasks end with "pool stopping" and its
 * workers stop gracefully as in engine_stop() (a second engine_stop()
 * forces them too).  Once every worker exited and every task callback
 * ran, cb runs (NULL ok) and the pool is freed: the pointer stays valid
 * until then, and events about its workers still come (a NOTICE with
 * slot -1 says "removed" at each end).  Returns 0, -EALREADY (already
 * removed) or -ESHUTDOWN (the engine is stopping).
 */
typedef void (*engine_removed_cb)(struct engine *, void *arg);
int	engine_remove_pool(struct engine *, struct pool *,
	    engine_removed_cb cb, void *arg);

/* What engine_update_pool() did. */
enum pool_update {
	POOL_UPDATE_NONE,	/* nothing differed */
	POOL_UPDATE_LIVE,	/* applied to the running pool */
	POOL_UPDATE_REPLACED,	/* a new pool replaced it */
};
/*
 * Makes a running pool follow a changed spec (same name).  These keys
 * apply live, to the running workers: workers (pool_scale), min_workers,
 * strategy (pool_set_strategy), task_timeout (for new tasks), queue_cap,
 * retry, restart, backoff, stop_signal, stop_timeout, memory_limit and
 * log_rate_limit.  A change to any other key replaces the pool: the new
 * one is added under the same name at the same place in engine_pools()
 * (*out points to it) and the old one is removed as by
 * engine_remove_pool().  Returns a pool_update (>= 0), or a negative
 * errno with engine_error() saying why; the pool is then unchanged.
 * out may be NULL.
 */
int	engine_update_pool(struct engine *, struct pool *,
	    const struct pool_spec *, struct pool **out);
/*
 * Checks a spec as engine_add_pool() would (values, name, command, cwd)
 * without starting anything; a pool of the same name may exist (it
 * would be replaced).  0 or a negative errno with engine_error().
 */
int	engine_check_pool(struct engine *, const struct pool_spec *);

/* pool_spec_diff(): which kind of keys differ. */
#define POOL_DIFF_LIVE		0x1	/* keys engine_update_pool applies live */
#define POOL_DIFF_REPLACE	0x2	/* keys that need a new pool */
/*
 * Compares two specs of a pool; returns POOL_DIFF_* bits (0: same) and
 * writes the changed keys to text (NULL ok) as pooltop.conf(5) names
 * them: "workers 2 -> 3, strategy, command".
 */
unsigned pool_spec_diff(const struct pool_spec *a, const struct pool_spec *b,
	    char *text, size_t len);
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
	POOL_EV_FAILED,		/* pool gave up (crash loop), spawn failed, or
				   a reload stopped (slot -1, the pool keeps
				   running); text says why */
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
	const char		*lock;		/* NOTICE about a shared lock (a holder
						   died with it): its name; else NULL.
						   latency_us: how long it was held,
						   0 if unknown */
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
 * when it is full (queue_cap counts those too).  A pool remembers at
 * most 65,536 keys (ENGINE_PIN_MAX): past that, the least recently used
 * key with no task out is forgotten (its next task is pinned anew,
 * maybe to another worker), and the first time it happens in a pool a
 * NOTICE says so.  A task whose name the
 * pool's workers did not announce ends with an error once a worker has
 * handshaken; a task for a pool that can never serve it (services only,
 * failed) ends with the reason.
 *
 * The timeout runs from pool_send().  A task that times out on a worker
 * is answered then, but keeps its place on that worker (which is still
 * working on it) until its late reply comes, which is dropped and
 * counted (pool_info.late_replies), or the worker dies.  A late reply
 * that has not come stop_timeout after the timeout marks the worker
 * hung: it is restarted gracefully, with a NOTICE and a line in its log
 * ("web/0: task 12 got no reply 5 s after its timeout; restarting"),
 * and its other tasks in flight end as when a worker exits (or retry).
 *
 * retry: a task whose worker died goes back to the head of the queue,
 * for a worker of another slot while one takes tasks (waiting for room
 * there); only when none does may the dead worker's replacement take
 * it.  A reply for an
 * id the worker was never sent is a protocol error: the worker is
 * killed and restarted, with the reason in its log and a NOTICE.
 */
int	pool_send(struct pool *, const char *task, const void *payload,
	    size_t len, const struct pool_send_opts *opts /* NULL ok */,
	    pool_task_cb cb, void *arg);
/*
 * The text for a negative return of pool_send() or pool_broadcast(),
 * such as `pool "web": queue full (10000 tasks waiting, queue_cap
 * 10000)`; valid until the next call
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
	bool			 reloading;	/* a reload is under way */
	unsigned		 reloads;	/* reloads that completed */
	const char		*reload_error;	/* why the last reload stopped; NULL
						   if it completed (valid until the
						   next reload ends) */
};

void	pool_get_info(const struct pool *, struct pool_info *);
/*
 * Slots: one per configured worker (0..workers-1); a slot keeps its log
 * ring, weight and counters across the processes that fill it.
 */
/*
 * Copies at most max rows, one per slot that has had a process (a slot
 * still waiting for its first, lazy spawn is not listed); returns the
 * number of such rows.
 */
size_t	pool_snapshot(const struct pool *, struct pool_worker_info *out,
	    size_t max);
const char *pool_name(const struct pool *);
/*
 * Whether the pool's workers announced the task in their handshake: 1
 * yes, 0 no (pool_send() would end it "not served"), -EAGAIN when no
 * worker has handshaken yet (not known).
 */
int	pool_task_served(const struct pool *, const char *task);
const struct pool_spec *pool_get_spec(const struct pool *);

/* A lock shared by the pool's workers, as pool_locks() sees it now. */
struct pool_lock_info {
	const char	*name;		/* valid while the pool lives */
	bool		 held;
	pid_t		 pid;		/* the holder, 0 if free or not yet known */
	int		 slot;		/* the holder's slot, -1 if unknown */
	bool		 by_engine;	/* taken by the engine for a worker that
					   locks over the protocol */
	uint64_t	 held_ms;	/* for how long, if known */
	unsigned	 waiting;	/* protocol workers waiting for it */
	uint64_t	 acquisitions;	/* times taken */
	uint64_t	 deaths;	/* holders that died holding it */
	pid_t		 dead_pid;	/* the last of them (0: unknown) */
	int		 dead_slot;
	uint64_t	 dead_ago_ms;	/* how long ago (when deaths > 0) */
};
/* Copies at most max locks, in config order; returns how many the pool has. */
size_t	pool_locks(const struct pool *, struct pool_lock_info *out,
	    size_t max);

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

/*
 * Sends sig through the pidfd; -ESRCH: no process.  SIGSTOP and SIGCONT
 * also set sleeping / awake.  A sleeping worker cannot act on any other
 * signal but SIGTSTP, SIGTTIN and SIGTTOU while stopped: it gets
 * SIGCONT right after (and shows as awake).  A signal whose default
 * action ends the process (SIGTERM, SIGINT, SIGKILL, SIGUSR1...), unless
 * the worker catches or ignores it (SigCgt, SigIgn in /proc/PID/status),
 * also begins the worker's stop: it takes no new task, tasks waiting in
 * its own list go back to the queue, and if it has not exited
 * stop_timeout later it gets stop_signal, then SIGKILL; after its exit
 * the slot restarts per the restart policy, as after a crash.
 */
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
 * workers: 1 to POOL_WORKERS_MAX, else -EINVAL.  Up: the new slots start
 * at once.  Down: the highest slots take no new tasks, their in-flight
 * tasks get stop_timeout to finish, and a slot is removed once its
 * process is gone.
 */
int	pool_scale(struct pool *, unsigned workers);
int	pool_set_strategy(struct pool *, enum balance_strategy);

/*
 * The end of a reload: ok and "pool web reloaded (rolling): 4 workers
 * replaced", or !ok and why it stopped ("reload of pool web stopped:
 * new worker web/1 (pid 42) exited with status 3 before it was ready;
 * the old workers keep serving").  Called once, from the loop, never
 * from inside pool_reload().
 */
typedef void (*pool_reload_cb)(struct pool *, bool ok, const char *text,
	    void *arg);
/*
 * Replaces every worker of the pool with a new process, as the spec's
 * reload says (also what a change under `watch` does).  Rolling: one
 * slot at a time, a new process starts beside the old one and, once it
 * handshook (a service: still running 1 s after its start), takes over
 * the slot; the old one then stops gracefully (its in-flight tasks get
 * stop_timeout to finish, tasks waiting for it go back to the queue).
 * A new process that exits, or does not handshake within the grace,
 * stops the reload: it is killed and the old workers keep serving.
 * Restart: every worker stops gracefully, then all start again.  Empty
 * slots that failed are started anew (clearing the pool's failure).
 * Asked while a reload runs, another pass follows it (cb runs at its
 * end).  Returns 0, or -ESHUTDOWN when the pool is stopping (cb never
 * runs).  cb may be NULL.
 */
int	pool_reload(struct pool *, pool_reload_cb cb, void *arg);
/* Finds the pool and slot of a live worker pid; 0 or -ESRCH. */
int	engine_find_pid(const struct engine *, pid_t pid, struct pool **pool,
	    int *slot);

/*
 * Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft
 * limit or a negative errno.  Workers get the original soft limit back.
 * engine_fds_per_worker() is what one worker costs pooltop in
 * descriptors, for the "limit too small" check: request and reply
 * pipes, stdout, stderr and the pidfd (5), and the sampler's /proc/PID/
 * stat and statm kept open (2).  tree = yes keeps no more per worker
 * (the process table is read one file at a time).  Starting a worker
 * briefly takes up to 9 (the pipes' both ends and /dev/null).
 */
long	engine_raise_nofile(void);
unsigned engine_fds_per_worker(void);

#endif
