/*
 * The engine: what every pool shares on the loop.  One SIGCHLD watcher
 * (reaping through each worker's pidfd), one flush per loop turn (the
 * requests buffered during the turn go out in one write per worker, and
 * the task callbacks that became due run), the listeners, and stop.
 */
#include <sys/resource.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine-internal.h"
#include "pooltop/sampler.h"

#define CLONE_STACK_SIZE	(64u * 1024)

static void	engine_sigchld_cb(uv_signal_t *, int);
static void	engine_prepare_cb(uv_prepare_t *);
static void	engine_check_cb(uv_check_t *);
static void	engine_sampler_cb(struct sampler *, void *);

/* ---- small helpers ------------------------------------------------------- */

/* Allocation failure is fatal, as in tmux: there is no sane recovery. */
void *
engine_xalloc(size_t n)
{
	void	*p = malloc(n != 0 ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "pooltop: out of memory (%zu bytes)\n", n);
		abort();
	}
	return (p);
}

char *
engine_xstrdup(const char *s)
{
	size_t	 n = strlen(s) + 1;
	char	*p = engine_xalloc(n);

	memcpy(p, s, n);
	return (p);
}

char *
engine_xprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fprintf(stderr, "pooltop: out of memory\n");
		abort();
	}
	return (p);
}

/* Makes room for more bytes after len. */
void
buf_reserve(struct buf *b, size_t more)
{
	size_t	cap;

	if (b->cap - b->len >= more)
		return;
	cap = b->cap != 0 ? b->cap : 4096;
	while (cap - b->len < more)
		cap *= 2;
	b->p = realloc(b->p, cap);
	if (b->p == NULL) {
		fprintf(stderr, "pooltop: out of memory (%zu bytes)\n", cap);
		abort();
	}
	b->cap = cap;
}

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

uint64_t
engine_wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/*
 * Wall clock for events and log lines without a system call each time:
 * the loop's cached time since the last real reading, which is taken
 * again every second.
 */
uint64_t
engine_now_ms(struct engine *e)
{
	uint64_t	now = uv_now(e->loop);

	if (!e->wall_synced || now < e->wall_sync_loop ||
	    now - e->wall_sync_loop >= 1000) {
		e->wall_base = engine_wall_ms();
		e->wall_sync_loop = now;
		e->wall_synced = true;
	}
	return (e->wall_base + (now - e->wall_sync_loop));
}

void
engine_set_error(struct engine *e, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(e->error, sizeof e->error, fmt, ap);
	va_end(ap);
}

const char *
engine_error(const struct engine *e)
{
	return (e->error);
}

const char *
worker_state_name(enum worker_state st)
{
	switch (st) {
	case WORKER_STARTING:
		return ("starting");
	case WORKER_IDLE:
		return ("idle");
	case WORKER_BUSY:
		return ("busy");
	case WORKER_SLEEPING:
		return ("sleeping");
	case WORKER_STOPPING:
		return ("stopping");
	case WORKER_EXITED:
		return ("exited");
	case WORKER_FAILED:
		return ("failed");
	}
	return ("?");
}

/* ---- the engine ---------------------------------------------------------- */

int
engine_new(struct engine **out, uv_loop_t *loop,
    const struct engine_options *opts)
{
	struct engine		*e;
	struct sigaction	 sa;
	int			 r;

	*out = NULL;
	if (loop == NULL)
		return (-EINVAL);
	e = calloc(1, sizeof *e);
	if (e == NULL)
		return (-ENOMEM);
	e->loop = loop;
	deadline_queue_init(&e->deadlines, loop);
	TAILQ_INIT(&e->pools);
	TAILQ_INIT(&e->retired);
	TAILQ_INIT(&e->done);
	TAILQ_INIT(&e->live);
	TAILQ_INIT(&e->dirty);
	e->clone_stack_size = CLONE_STACK_SIZE;
	e->clone_stack = malloc(e->clone_stack_size);
	if (e->clone_stack == NULL) {
		free(e);
		return (-ENOMEM);
	}
	if (opts != NULL && opts->sampler != NULL) {
		e->sampler = opts->sampler;
		r = sampler_listen(e->sampler, engine_sampler_cb, e);
		if (r != 0) {
			free(e->clone_stack);
			free(e);
			return (r);
		}
		e->sampler_listening = true;
	}

	/*
	 * A write to the request pipe of a worker that just died must be an
	 * EPIPE error, not a SIGPIPE that kills pooltop.  Only when nobody
	 * chose a disposition already; workers get the default back.
	 */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, NULL);
	}
	*out = e;
	return (0);
}

/*
 * The SIGCHLD watcher, the per-turn flush and the deadlines' timer, at
 * the first pool.
 */
static int
engine_open_handles(struct engine *e)
{
	int	r;

	if (e->handles_open)
		return (0);
	uv_signal_init(e->loop, &e->sigchld);
	uv_prepare_init(e->loop, &e->prepare);
	uv_check_init(e->loop, &e->check);
	deadline_queue_open(&e->deadlines);
	e->sigchld.data = e->prepare.data = e->check.data = e;
	e->deadlines.timer.data = e;
	e->nhandles += 4;
	e->handles_open = true;
	r = uv_signal_start(&e->sigchld, engine_sigchld_cb, SIGCHLD);
	if (r != 0)
		return (r);
	/*
	 * These three do not keep the loop alive: workers' pipes do, and the
	 * deadlines' timer while a deadline is armed.
	 */
	uv_prepare_start(&e->prepare, engine_prepare_cb);
	uv_check_start(&e->check, engine_check_cb);
	uv_unref((uv_handle_t *)&e->sigchld);
	uv_unref((uv_handle_t *)&e->prepare);
	uv_unref((uv_handle_t *)&e->check);
	return (0);
}

void
engine_handle_close_cb(uv_handle_t *h)
{
	engine_handle_closed(h->data);
}

/* Frees what the engine holds; every handle is closed. */
static void
engine_destroy(struct engine *e)
{
	struct pool	*p;

	while ((p = TAILQ_FIRST(&e->pools)) != NULL) {
		TAILQ_REMOVE(&e->pools, p, link);
		pool_free_all(p);
	}
	retire_free_all(e);
	if (e->sampler_listening)
		sampler_unlisten(e->sampler, engine_sampler_cb, e);
	while (e->task_cache != NULL) {
		void	*next = *(void **)e->task_cache;

		free(e->task_cache);
		e->task_cache = next;
	}
	deadline_queue_free(&e->deadlines);
	free(e->listeners);
	free(e->clone_stack);
	free(e);
}

/* Runs the stop callback once the last handle closed. */
static void
engine_finished(struct engine *e)
{
	engine_stop_cb	 cb = e->stop_cb;
	void		*arg = e->stop_arg;

	if (e->stop_called)
		return;
	e->stop_called = true;
	if (e->free_pending) {
		engine_destroy(e);
		return;
	}
	if (cb != NULL)
		cb(e, arg);	/* may free the engine: nothing after this */
}

void
engine_handle_closed(struct engine *e)
{
	if (--e->nhandles == 0 && e->closing)
		engine_finished(e);
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	if (e->nhandles == 0) {
		engine_destroy(e);
		return;
	}
	/*
	 * Handles are still open (no stop, or its callback has not run):
	 * stop now, forced, and free when the last handle closes (the loop
	 * must run for that).
	 */
	e->free_pending = true;
	if (!e->stopping)
		engine_stop(e, NULL, NULL);
	engine_stop(e, NULL, NULL);
}

uv_loop_t *
engine_loop(const struct engine *e)
{
	return (e->loop);
}

struct sampler *
engine_sampler(const struct engine *e)
{
	return (e->sampler);
}

int
engine_add_pool(struct engine *e, const struct pool_spec *spec,
    struct pool **out)
{
	struct pool	*p;
	int		 r;

	if (out != NULL)
		*out = NULL;
	if (spec == NULL)
		return (-EINVAL);
	if (e->stopping) {
		engine_set_error(e, "pool %s: the engine is stopping",
		    spec->name != NULL ? spec->name : "?");
		return (-ESHUTDOWN);
	}
	if ((r = pool_create(e, spec, &p)) != 0)
		return (r);
	if ((r = engine_open_handles(e)) != 0) {
		engine_set_error(e, "pool %s: cannot watch SIGCHLD: %s",
		    spec->name, uv_strerror(r));
		pool_free_all(p);
		return (r);
	}
	TAILQ_INSERT_TAIL(&e->pools, p, link);
	e->npools++;
	/* The first process starts now, so a bad command fails here. */
	if ((r = pool_start(p)) != 0) {
		TAILQ_REMOVE(&e->pools, p, link);
		e->npools--;
		pool_free_all(p);
		return (r);
	}
	if (out != NULL)
		*out = p;
	return (0);
}

struct pool *
engine_pool(const struct engine *e, const char *name)
{
	struct pool	*p;

	TAILQ_FOREACH(p, &e->pools, link) {
		if (strcmp(p->spec.name, name) == 0)
			return (p);
	}
	return (NULL);
}

size_t
engine_pools(const struct engine *e, struct pool **out, size_t max)
{
	struct pool	*p;
	size_t		 n = 0;

	TAILQ_FOREACH(p, &e->pools, link) {
		if (n < max)
			out[n] = p;
		n++;
	}
	return (n);
}

int
engine_find_pid(const struct engine *e, pid_t pid, struct pool **pool,
    int *slot)
{
	struct worker	*w;

	if (pid <= 0)
		return (-ESRCH);
	TAILQ_FOREACH(w, &e->live, live_link) {
		if (w->pid == pid && w->slot->w == w) {
			if (pool != NULL)
				*pool = w->pool;
			if (slot != NULL)
				*slot = w->slot->index;
			return (0);
		}
	}
	return (-ESRCH);
}

/* ---- the loop's side ----------------------------------------------------- */

void
engine_mark_dirty(struct engine *e, struct worker *w)
{
	if (!w->dirty) {
		w->dirty = true;
		TAILQ_INSERT_TAIL(&e->dirty, w, dirty_link);
	}
}

/*
 * Runs the callbacks of tasks that ended.  Never nested: a callback that
 * ends more tasks (pool_send to a stopping pool, engine_stop) adds them
 * to the list this loop is walking.
 */
void
engine_drain(struct engine *e)
{
	struct task	*t;
	pool_task_cb	 cb;

	if (e->draining)
		return;
	e->draining = true;
	while ((t = TAILQ_FIRST(&e->done)) != NULL) {
		TAILQ_REMOVE(&e->done, t, link);
		if (engine_listened(e))
			pool_task_finished_event(t);
		cb = t->cb;
		t->cb = NULL;		/* marks "called" */
		cb(t->ok, t->res, t->res_len, t->arg);
		if (!t->in_table)
			pool_task_free(t);
	}
	e->draining = false;
	engine_check_stopped(e);
}

/* Writes every worker's buffered requests, one write each. */
void
engine_flush(struct engine *e)
{
	struct worker	*w;

	while ((w = TAILQ_FIRST(&e->dirty)) != NULL) {
		TAILQ_REMOVE(&e->dirty, w, dirty_link);
		w->dirty = false;
		worker_flush(w);
	}
}

/* Callbacks due, then every buffered request in one write per worker. */
static void
engine_turn(struct engine *e)
{
	int	rounds = 0;

	do {
		engine_drain(e);
		engine_flush(e);
	} while (!TAILQ_EMPTY(&e->done) && ++rounds < 16);
	pool_log_flush(e);
}

/*
 * Both ends of the poll phase: check runs right after the I/O callbacks
 * of this turn (their replies' callbacks queued new requests), prepare
 * right before the loop blocks (requests from timers and from code
 * outside the loop).
 */
static void
engine_prepare_cb(uv_prepare_t *h)
{
	engine_turn(h->data);
}

static void
engine_check_cb(uv_check_t *h)
{
	engine_turn(h->data);
}

/*
 * SIGCHLD: some child changed state.  Each of our workers is asked
 * through its own pidfd (waitid P_PIDFD, WNOHANG), never waitpid(-1):
 * children of an embedding program are not ours to reap.  libuv
 * coalesces signals, so every worker is asked each time.
 */
static void
engine_sigchld_cb(uv_signal_t *h, int signum)
{
	struct engine	*e = h->data;
	struct worker	*w, *next;

	for (w = TAILQ_FIRST(&e->live); w != NULL; w = next) {
		next = TAILQ_NEXT(w, live_link);
		worker_reap(w);
	}
	engine_drain(e);
	(void)signum;
}

static void
engine_sampler_cb(struct sampler *sm, void *arg)
{
	struct engine	*e = arg;
	struct pool	*p;

	TAILQ_FOREACH(p, &e->pools, link)
		pool_sampler_refresh(p, sm);
	engine_drain(e);
}

/* ---- listeners ----------------------------------------------------------- */

int
engine_listen(struct engine *e, pool_event_cb cb, void *arg)
{
	struct listener	*l;

	if (cb == NULL)
		return (-EINVAL);
	l = realloc(e->listeners, (e->nlisteners + 1) * sizeof *l);
	if (l == NULL)
		return (-ENOMEM);
	e->listeners = l;
	l[e->nlisteners].cb = cb;
	l[e->nlisteners].arg = arg;
	e->nlisteners++;
	return (0);
}

static void
engine_compact_listeners(struct engine *e)
{
	size_t	i, j = 0;

	for (i = 0; i < e->nlisteners; i++) {
		if (e->listeners[i].cb != NULL)
			e->listeners[j++] = e->listeners[i];
	}
	e->nlisteners = j;
	e->unlistened = false;
}

void
engine_unlisten(struct engine *e, pool_event_cb cb, void *arg)
{
	size_t	i;

	for (i = 0; i < e->nlisteners; i++) {
		if (e->listeners[i].cb == cb && e->listeners[i].arg == arg) {
			e->listeners[i].cb = NULL;
			e->unlistened = true;
			break;
		}
	}
	if (e->emitting == 0)
		engine_compact_listeners(e);
}

/* Hands an event to every listener. */
void
engine_emit(struct engine *e, struct pool_event *ev)
{
	size_t	i;

	if (ev->time_ms == 0)
		ev->time_ms = engine_now_ms(e);
	e->emitting++;
	for (i = 0; i < e->nlisteners; i++) {
		if (e->listeners[i].cb != NULL)
			e->listeners[i].cb(ev, e->listeners[i].arg);
	}
	if (--e->emitting == 0 && e->unlistened)
		engine_compact_listeners(e);
}

/* ---- stop ---------------------------------------------------------------- */

/*
 * Once stopping and every worker is reaped and every callback ran: close
 * the pools' timers and the engine's handles (the deadlines' timer too:
 * no worker is left, and the pools stopped their slots' restarts); the
 * last close callback calls the stop callback.
 */
void
engine_check_stopped(struct engine *e)
{
	struct pool	*p;

	if (!TAILQ_EMPTY(&e->retired))
		retire_check(e);
	if (!e->stopping || e->closing || e->draining ||
	    !TAILQ_EMPTY(&e->live) || !TAILQ_EMPTY(&e->done))
		return;
	e->closing = true;
	TAILQ_FOREACH(p, &e->pools, link)
		pool_teardown(p);
	if (e->handles_open) {
		e->handles_open = false;
		uv_close((uv_handle_t *)&e->sigchld, engine_handle_close_cb);
		uv_close((uv_handle_t *)&e->prepare, engine_handle_close_cb);
		uv_close((uv_handle_t *)&e->check, engine_handle_close_cb);
		deadline_queue_close(&e->deadlines, engine_handle_close_cb);
	}
	if (e->nhandles == 0)
		engine_finished(e);	/* no pool ever started */
}

void
engine_stop(struct engine *e, engine_stop_cb cb, void *arg)
{
	struct pool	*p;

	if (cb != NULL && e->stop_cb == NULL) {
		e->stop_cb = cb;
		e->stop_arg = arg;
	}
	if (e->closing)
		return;
	if (!e->stopping) {
		e->stopping = true;
		TAILQ_FOREACH(p, &e->pools, link)
			pool_begin_stop(p);
	} else {
		TAILQ_FOREACH(p, &e->pools, link)
			pool_force_stop(p);
		retire_force(e);
	}
	engine_drain(e);
	engine_check_stopped(e);
}

/* ---- limits -------------------------------------------------------------- */

long
engine_raise_nofile(void)
{
	struct rlimit	rl, orig;
	rlim_t		max;
	FILE		*f;
	unsigned long	nr_open;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return (-errno);
	orig = rl;
	max = rl.rlim_max;
	if (max == RLIM_INFINITY) {
		/* The kernel caps it at fs.nr_open. */
		max = 1048576;
		f = fopen("/proc/sys/fs/nr_open", "r");
		if (f != NULL) {
			if (fscanf(f, "%lu", &nr_open) == 1)
				max = nr_open;
			fclose(f);
		}
	}
	if (rl.rlim_cur < max) {
		rl.rlim_cur = max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			return (-errno);
		engine_note_nofile_raised(&orig);
	}
	return (rl.rlim_cur > LONG_MAX ? LONG_MAX : (long)rl.rlim_cur);
}

/*
 * Descriptors pooltop holds per worker: the request and reply pipes,
 * stdout, stderr and the pidfd (5), and the two the sampler keeps open
 * (/proc/PID/stat and statm; tree = yes adds none per worker).
 */
unsigned
engine_fds_per_worker(void)
{
	return (7);
}
