/*
 * Private to the engine (engine.c, pool.c, worker.c, lifecycle.c): the
 * bodies of the opaque structs of pool.h and the calls between the files.
 *
 * Objects:
 *  - struct engine: the loop's handles shared by every pool (SIGCHLD,
 *    the once-per-turn flush, the deadlines' timer), the listeners, the
 *    list of tasks whose callbacks are due.
 *  - struct pool: a spec, its slots, the queue, the timeout heap, the
 *    sticky keys.  Lives until engine_free().
 *  - struct slot: a place for one worker (index 0..workers-1).  Outlives
 *    the processes that fill it: it keeps the log ring, the weight, the
 *    restart count and backoff, and the deadline of a scheduled restart.
 *  - struct worker: one process in a slot, from spawn until its pipes are
 *    closed after it was reaped; freed in its last close callback.
 *  - struct task: one pool_send() (or one worker's part of a broadcast),
 *    from the call until its callback ran (and, when it timed out on a
 *    worker, until the late reply came or the worker died).
 *
 * Timeouts of workers and slots are struct deadlines (deadline.h) on the
 * engine's one queue, not timers of their own: a deadline is stopped
 * before its owner is freed, and is not a handle (not in nopen/nhandles).
 */
#ifndef POOLTOP_ENGINE_INTERNAL_H
#define POOLTOP_ENGINE_INTERNAL_H

#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "pooltop/balance.h"
#include "pooltop/pool.h"
#include "deadline.h"
#include "lifecycle.h"
#include "ring.h"

#define ENGINE_LOG_LINE_MAX	4096	/* a log line is cut there */
#define ENGINE_LOG_PARTIAL_MS	200	/* a line with no newline yet goes out after this */
#define ENGINE_SCRATCH_SIZE	(64u * 1024)
#define ENGINE_PIN_MAX		65536	/* sticky keys remembered per pool */
#define ENGINE_MAX_PARALLEL	65536	/* parallel_jobs cap */
#define ENGINE_STABLE_MS	10000	/* a run this long resets the backoff */
#define ENGINE_MEM_STRIKES	3	/* samples over memory_limit before a restart */
#define ENGINE_TASK_BLOCK	512	/* tasks this small come from a cache */
#define ENGINE_TASK_CACHE	1024	/* blocks kept */

struct worker;
struct slot;
struct task;
struct pin;
struct broadcast;
struct proto_msg;
struct sampler;
struct pool_log;
struct lockset;
struct reload;

TAILQ_HEAD(task_list, task);
TAILQ_HEAD(worker_list, worker);
LIST_HEAD(pin_list, pin);
TAILQ_HEAD(pin_lru, pin);

/* A growable byte buffer. */
struct buf {
	uint8_t		*p;
	size_t		 len;
	size_t		 cap;
};

enum task_where {
	TASK_NEW,
	TASK_QUEUED,		/* in the pool's queue */
	TASK_PENDING,		/* in a worker's own list (key or broadcast) */
	TASK_INFLIGHT,		/* written to a worker, in its table */
	TASK_DONE,		/* ended, callback due or run */
};

struct task {
	/* Hot: the first two cache lines are what a send and a reply touch. */
	TAILQ_ENTRY(task) link;		/* queue, pending or done list */
	struct pool	*pool;
	struct worker	*w;		/* pending on or in flight on */
	uint32_t	 wid;		/* id on the wire, per worker */
	enum task_where	 where;
	bool		 in_table;	/* holds a slot of w's in-flight table */
	bool		 timed_out;	/* ended by its timeout while in flight */
	bool		 err_owned;
	bool		 small;		/* an ENGINE_TASK_BLOCK block */
	bool		 ok;		/* the end: result or error */
	unsigned	 retries;	/* times re-queued after a worker died */
	int		 ran_slot;	/* where it ended, for events (-1: none) */
	pool_task_cb	 cb;
	void		*arg;
	struct pin	*pin;		/* the sticky key it went out through */
	size_t		 heap_idx;	/* in the pool's timeout heap, or SIZE_MAX */
	const char	*name;		/* inline, NUL-terminated */
	size_t		 name_len;
	const uint8_t	*payload;	/* inline */
	size_t		 len;
	size_t		 key_len;
	const void	*res;		/* result bytes, or error text */
	size_t		 res_len;
	char		*err;		/* owned error text (err_owned) */
	uint64_t	 id;		/* engine-wide, from 1 */
	/* Cold: */
	const uint8_t	*key;		/* inline */
	uint64_t	 key_hash;
	uint64_t	 deadline;	/* loop time, ms */
	uint64_t	 timeout_ms;
	uint64_t	 sent_ns;	/* uv_hrtime() at pool_send, if listened */
	struct broadcast *bc;		/* a part of this broadcast, or NULL */
	unsigned	 bc_idx;
	pid_t		 ran_pid;
	int		 avoid_slot;	/* retried after its worker died there: another
					   slot's worker takes it when one can (-1: any) */
	uint8_t		 data[];	/* name, key, payload */
};

/* A broadcast: one part per worker, one callback when all ended. */
struct broadcast {
	pool_broadcast_cb cb;
	void		*arg;
	size_t		 n;
	size_t		 left;
	struct pool_reply *replies;
};

/* A sticky key pinned to a worker. */
struct pin {
	struct pin	*next;		/* hash chain */
	LIST_ENTRY(pin)	 wlink;		/* on its worker */
	TAILQ_ENTRY(pin) lru;
	struct worker	*w;
	uint64_t	 hash;
	unsigned	 refs;		/* tasks that went out through it, not ended */
	size_t		 key_len;
	uint8_t		 key[];
};

/* Why a worker is being stopped, which decides what happens after it exits. */
enum stop_why {
	STOP_NONE,
	STOP_POOL,		/* engine_stop: no restart */
	STOP_SCALE,		/* pool_scale down: slot removed */
	STOP_RESTART,		/* pool_worker_restart, memory_limit, a task that got no
				   reply after its timeout: respawn at once (whatever
				   restart says), not a failure */
	STOP_FAILURE,		/* protocol error, no handshake, flooding:
				   respawn as after a crash */
	STOP_RELOAD,		/* replaced by a reload (reload.c says what follows) */
	STOP_LIMIT,		/* could not start for lack of descriptors, processes
				   or memory: back off and retry, not a crash */
};

struct worker {
	TAILQ_ENTRY(worker) live_link;	/* engine's unreaped workers */
	TAILQ_ENTRY(worker) dirty_link;	/* engine's to-flush list */
	struct engine	*engine;
	struct pool	*pool;
	struct slot	*slot;
	pid_t		 pid;
	int		 pidfd;
	enum worker_state state;	/* as shown; derived by worker_set_state */
	bool		 protocol;	/* has the fd 3/4 pipes */
	bool		 hello;		/* handshake done */
	bool		 service;	/* runs as a plain service */
	bool		 sleeping;	/* stopped (SIGSTOP), by us or from outside */
	bool		 stopping;
	bool		 termed;	/* stop signal sent */
	bool		 exited;	/* reaped */
	bool		 bad;		/* protocol error: input ignored */
	bool		 req_broken;	/* EPIPE on its request pipe */
	bool		 dirty;
	bool		 writing;	/* a uv_write is under way */
	bool		 req_open;	/* request pipe not yet closed */
	bool		 cnt_starting;	/* counted in pool->starting */
	bool		 cnt_ready;	/* counted in pool->ready */
	enum stop_why	 stop_why;
	char		*reason;	/* why we stopped or killed it */
	unsigned	 nopen;		/* handles not yet closed */
	/* On the engine's deadline queue (stopped before w is freed): */
	struct deadline	 deadline;	/* handshake, then stop deadlines */
	struct deadline	 line_deadline;	/* flushes a partial line after
					   ENGINE_LOG_PARTIAL_MS */
	struct deadline	 idle_deadline;	/* lifecycle.c: idle sleep */
	uint64_t	 started_ms;	/* wall clock */
	uint64_t	 started_loop;	/* loop time */
	unsigned	 mem_strikes;
	double		 cpu;		/* last sample, for least_load */
	uint64_t	 rss;

	uv_pipe_t	 req;		/* we write requests (its fd 3) */
	uv_pipe_t	 rep;		/* we read replies (its fd 4) */
	uv_pipe_t	 out;		/* its stdout */
	uv_pipe_t	 err;		/* its stderr */
	uv_write_t	*wreq;		/* while a uv_write is under way */

	struct buf	 obuf;		/* requests not yet written */
	struct buf	 wbuf;		/* requests handed to uv_write */
	struct buf	 ibuf;		/* a partial reply frame */
	size_t		 ibuf_need;	/* bytes of the frame being read, if known */
	char		*line[2];	/* partial stdout / stderr line */
	size_t		 line_len[2];

	struct task	**table;	/* in flight, indexed by wid & mask */
	uint32_t	 mask;
	uint32_t	 next_wid;
	unsigned	 in_flight;	/* table entries, timed-out ones included */
	unsigned	 zombies;	/* timed out, awaiting a late reply */
	struct task_list pending;	/* keyed or broadcast tasks waiting for room */
	size_t		 npending;
	struct pin_list	 pins;
	/* guard.c: the output rate check (spec.log_rate_limit) */
	uint64_t	 log_win_ns;	/* uv_hrtime() at the window's start */
	uint64_t	 log_win_lines;	/* lines in the window */
	bool		 log_muted;	/* flooding: its output is dropped */
};

struct slot {
	struct pool	*pool;
	int		 index;
	struct worker	*w;		/* the current process, or NULL */
	struct ring_log	*log;
	unsigned	 weight;
	unsigned	 restarts;
	uint64_t	 tasks_done;
	uint64_t	 tasks_failed;
	int		 last_status;
	int		 last_signal;
	bool		 failed;	/* given up */
	bool		 no_respawn;	/* restart = never and it exited */
	unsigned	 spawned;	/* processes started in this slot */
	bool		 removing;	/* scaled away: freed once its workers are gone */
	unsigned	 others;	/* unreaped processes of the slot other than w
					   (a reload's new one, old ones stopping) */
	struct deadline	 restart_deadline; /* restart after backoff (armed:
					   a restart is due) */
	uint64_t	 backoff_ms;	/* next restart delay */
	uint64_t	*exits;		/* loop times of recent exits (ring) */
	unsigned	 nexits;
	unsigned	 exits_head;
};

struct pool {
	TAILQ_ENTRY(pool) link;
	struct engine	*engine;
	struct pool_spec spec;
	struct slot	**slots;	/* nslots entries, NULL where unused */
	unsigned	 nslots;
	struct balancer	*bal;
	uint8_t		*bal_flag;	/* BAL_*: slot marked for the next sync */
	unsigned	*bal_list;	/* the marked slots */
	unsigned	 nbal_list;
	struct balance_slot *bal_seen;	/* what the balancer was last told */
	unsigned	 bal_cap;
	struct task_list queue;
	size_t		 nqueued;
	size_t		 npending;	/* in workers' own lists */
	struct task	**heap;		/* timeouts, earliest first */
	size_t		 nheap;
	size_t		 heap_cap;
	uv_timer_t	 timer;		/* fires at heap[0]'s deadline */
	bool		 timer_open;
	struct pin	**pins;		/* hash buckets */
	size_t		 npin_buckets;
	size_t		 npins;
	struct pin_lru	 pin_lru;
	char		**served;	/* task names of the last handshake */
	size_t		*served_len;
	size_t		 nserved;
	size_t		 served_hint;	/* index matched last by pool_serves() */
	bool		 handshaken;	/* some worker has said hello */
	bool		 stopping;
	bool		 failed;
	bool		 dispatching;
	char		*failure;
	uint64_t	 tasks_done;
	uint64_t	 tasks_failed;
	uint64_t	 late_replies;
	unsigned	 live;		/* unreaped processes */
	unsigned	 starting;	/* spawned, no handshake yet */
	unsigned	 ready;		/* handshaken, not stopping */
	char		 errbuf[256];	/* pool_send_error() */
	bool		 pins_forgetting; /* past ENGINE_PIN_MAX keys once (NOTICE given) */
	struct pool_log	*log;		/* pool-log.c: spec.log_file; NULL: none */
	struct lockset	*locks;		/* lock.c: the workers' shared locks; NULL: none */
	struct reload	*reload;	/* reload.c: watch and reloads; NULL: none yet */
	/* retire.c: taken out by engine_remove_pool() (RETIRE_*) */
	int		 retired;
	unsigned	 retire_open;	/* its handles still closing */
	engine_removed_cb retire_cb;
	void		*retire_arg;
	uv_timer_t	 retire_timer;	/* closed last: marks the end */
};

struct listener {
	pool_event_cb	 cb;
	void		*arg;
};

struct engine {
	uv_loop_t	*loop;
	struct sampler	*sampler;
	TAILQ_HEAD(, pool) pools;
	TAILQ_HEAD(, pool) retired;	/* retire.c: removed, still stopping */
	size_t		 npools;
	struct listener	*listeners;
	size_t		 nlisteners;
	unsigned	 emitting;	/* nesting depth */
	bool		 unlistened;
	struct task_list done;		/* callbacks due */
	bool		 draining;
	struct worker_list live;	/* unreaped workers */
	struct worker_list dirty;	/* workers with requests to write */
	uint64_t	 next_task_id;
	void		*task_cache;	/* free task blocks, linked */
	unsigned	 ntask_cache;
	bool		 handles_open;
	bool		 closing;
	unsigned	 nhandles;	/* every open handle of the engine */
	bool		 stopping;
	bool		 stop_called;
	engine_stop_cb	 stop_cb;
	void		*stop_arg;
	bool		 free_pending;
	bool		 sampler_listening;
	bool		 wall_synced;
	uint64_t	 wall_base;	/* engine_now_ms() */
	uint64_t	 wall_sync_loop;
	uv_signal_t	 sigchld;
	uv_prepare_t	 prepare;
	uv_check_t	 check;
	struct deadline_queue deadlines; /* workers' and slots' timeouts on
					   one timer, opened with the above */
	void		*clone_stack;
	size_t		 clone_stack_size;
	int		 spawn_errno;	/* of the last start (pool.c), 0: it worked */
	char		 error[512];
	uint8_t		 scratch[ENGINE_SCRATCH_SIZE];
};

/* engine.c */
void	 engine_emit(struct engine *, struct pool_event *);
static inline bool
engine_listened(const struct engine *e)
{
	return (e->nlisteners != 0);
}
void	 engine_set_error(struct engine *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 engine_drain(struct engine *);
void	 engine_mark_dirty(struct engine *, struct worker *);
void	 engine_flush(struct engine *);
void	 engine_handle_closed(struct engine *);
void	 engine_handle_close_cb(uv_handle_t *);	/* h->data: the engine */
void	 engine_check_stopped(struct engine *);
uint64_t engine_wall_ms(void);
uint64_t engine_now_ms(struct engine *);
void	*engine_xalloc(size_t);
char	*engine_xstrdup(const char *);
char	*engine_xprintf(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	 buf_reserve(struct buf *, size_t more);
void	 buf_free(struct buf *);

/* pool.c */
void	 pool_emit(struct pool *, enum pool_event_type, struct slot *,
	    struct worker *, struct pool_event *ev /* NULL ok */);
void	 pool_note(struct pool *, struct slot *, struct worker *,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	 pool_vnote(struct pool *, struct slot *, struct worker *,
	    struct pool_event *, const char *fmt, va_list)
	    __attribute__((format(printf, 5, 0)));
void	 pool_slot_log(struct slot *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 pool_log_line(struct slot *, struct worker *, enum log_stream,
	    const char *, size_t);
void	 pool_dispatch(struct pool *);
void	 pool_slot_update(struct pool *, struct worker *);
/* How a slot is marked for the balancer's next sync (pool.c). */
enum {
	BAL_NONE,
	BAL_COUNT,		/* only its worker's in_flight moved */
	BAL_FULL,		/* anything else too: read it all */
};
/*
 * A task went out to w or came back from it: only its in_flight moved
 * (every other change the balancer sees goes through pool_slot_update).
 */
static inline void
pool_slot_in_flight(struct pool *p, struct worker *w)
{
	unsigned	i = (unsigned)w->slot->index;

	if (i < p->bal_cap && p->bal_flag[i] == BAL_NONE) {
		p->bal_flag[i] = BAL_COUNT;
		p->bal_list[p->nbal_list++] = i;
	}
}
/*
 * A task went out to w.  When nothing else about its slot awaits the next
 * sync, the balancer is told the new count at once (the pick for the next
 * task then needs no sync); otherwise the sync reads it with the rest.
 * Either way the balancer sees the same counts at every pick.
 */
static inline void
pool_slot_started(struct pool *p, struct worker *w)
{
	struct slot	*s = w->slot;
	unsigned	 i = (unsigned)s->index;

	if (i < p->bal_cap && p->bal_flag[i] == BAL_NONE && s->w == w &&
	    !s->removing && !w->exited && i < p->spec.workers) {
		p->bal_seen[i].in_flight = w->in_flight;
		balancer_set_in_flight(p->bal, i, w->in_flight);
		return;
	}
	pool_slot_in_flight(p, w);
}
void	 pool_task_finish(struct task *, bool ok, const void *data,
	    size_t len);
void	 pool_task_fail(struct task *, char *owned_text);
void	 pool_task_fail_static(struct task *, const char *text);
void	 pool_task_free(struct task *);
void	 pool_task_requeue_front(struct pool *, struct task *);
/* A timed-out task left its worker's table (late reply, or the worker died). */
void	 pool_task_late_end(struct task *);
void	 pool_task_started(struct pool *, struct task *);
void	 pool_task_finished_event(struct task *);
void	 pool_set_served(struct pool *, const struct proto_msg *);
void	 pool_worker_ready(struct pool *, struct worker *, bool was_service);
void	 pool_worker_service(struct pool *, struct worker *);
void	 pool_worker_stopping(struct pool *, struct worker *);
void	 pool_worker_gone(struct pool *, struct worker *, int code,
	    int status);
void	 pool_drop_pins(struct pool *, struct worker *);
void	 pool_check_serve(struct pool *);
void	 pool_sampler_refresh(struct pool *, struct sampler *);
int	 pool_create(struct engine *, const struct pool_spec *,
	    struct pool **);
int	 pool_start(struct pool *);
void	 pool_begin_stop(struct pool *);
void	 pool_force_stop(struct pool *);
void	 pool_teardown(struct pool *);
void	 pool_free_all(struct pool *);

/* worker.c */
int	 worker_spawn(struct slot *, struct worker **out);
void	 worker_start_task(struct worker *, struct task *);
void	 worker_assign(struct worker *, struct task *);
void	 worker_flush(struct worker *);
void	 worker_trim(struct worker *);
void	 worker_reap(struct worker *);
void	 worker_stop(struct worker *, enum stop_why, const char *reason);
void	 worker_kill(struct worker *, enum stop_why, const char *reason);
void	 worker_check_drained(struct worker *);
int	 worker_signal(struct worker *, int sig);
void	 worker_set_state(struct worker *);
/* True when tasks may be given to the worker (now or in its own list). */
static inline bool
worker_takes_tasks(const struct worker *w)
{
	return (w != NULL && !w->exited && !w->stopping && w->hello &&
	    !w->bad && !w->req_broken);
}
void	 worker_handle_close_cb(uv_handle_t *);	/* h->data: the worker */
const char *worker_label(const struct worker *, char *buf, size_t len);
int	 worker_resolve(const struct pool_spec *, char **path, char *err,
	    size_t errlen);
void	 worker_exit_text(char *buf, size_t len, int code, int status);
void	 engine_note_nofile_raised(const struct rlimit *orig);

/* pool-log.c: the pool's log file (spec.log_file). */
int	 pool_log_open(struct pool *);
void	 pool_log_write(struct slot *, enum log_stream, const char *, size_t,
	    uint64_t time_ms);
void	 pool_log_flush(struct engine *);
void	 pool_log_close(struct pool *);

/* reload.c: rolling and restart reloads, and the watch that starts them. */
int	 reload_check_spec(struct engine *, const struct pool_spec *);
void	 reload_pool_started(struct pool *);
bool	 reload_worker_up(struct pool *, struct worker *, bool service);
void	 reload_worker_gone(struct pool *, struct worker *, const char *what);
void	 reload_pool_stop(struct pool *);
void	 reload_teardown(struct pool *);
void	 reload_free(struct pool *);
void	 reload_info(const struct pool *, struct pool_info *);
/* pool.c, for reload.c */
int	 pool_slot_start(struct slot *);

/* retire.c: pools removed or replaced while the engine runs. */
void	 retire_check(struct engine *);
void	 retire_force(struct engine *);
void	 retire_free_all(struct engine *);
int	 pool_validate(struct engine *, const struct pool_spec *);

/* guard.c: a worker flooding its output is restarted. */
bool	 guard_log_over(struct worker *, int stream);
/* Counts a line of output; false: drop it (the worker is flooding). */
static inline bool
guard_log_line(struct worker *w, int stream)
{
	if (w->log_muted)
		return (false);
	if (++w->log_win_lines <= w->pool->spec.log_rate_limit ||
	    w->pool->spec.log_rate_limit == 0)
		return (true);
	return (guard_log_over(w, stream));
}

#endif
