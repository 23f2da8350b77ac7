/*
 * Pools removed or changed while the engine runs (a SIGHUP reload):
 * engine_remove_pool(), engine_update_pool(), engine_check_pool() and
 * pool_spec_diff().
 *
 * A removed pool leaves the engine's list at once and waits on the
 * engine's "retired" list while its workers stop.  Its end comes in
 * three steps, each driven from engine_check_stopped() (which runs at
 * the end of every engine_drain(), so every loop turn):
 *
 *   RETIRE_STOPPING  its workers stop; when none is left and no task
 *                    callback is due, its handles are closed;
 *   RETIRE_CLOSING   the close callbacks come; the last one runs the
 *                    caller's callback;
 *   RETIRE_FREE_DUE  freed at the next turn: handles closed in the same
 *                    turn as ours (by other modules' teardown) may have
 *                    their close callbacks after ours, and their memory
 *                    is in the pool.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-internal.h"

enum {
	RETIRE_NONE,
	RETIRE_STOPPING,
	RETIRE_CLOSING,
	RETIRE_FREE_DUE,
};

static void	retire_close_cb(uv_handle_t *);

/* ---- comparing specs ----------------------------------------------------- */

/* Appends ", key" (or "key") to text. */
static void
diff_add(char *text, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
diff_add(char *text, size_t len, size_t *off, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (text == NULL || *off >= len)
		return;
	if (*off != 0) {
		n = snprintf(text + *off, len - *off, ", ");
		if (n < 0)
			return;
		*off += (size_t)n;
		if (*off >= len) {
			*off = len;
			return;
		}
	}
	va_start(ap, fmt);
	n = vsnprintf(text + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
	if (*off > len)
		*off = len;
}

static bool
str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

/* Two arrays of n strings (either may be NULL when n is 0). */
static bool
strv_same(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t	i;

	if (na != nb)
		return (false);
	for (i = 0; i < na; i++) {
		if (!str_same(a[i], b[i]))
			return (false);
	}
	return (true);
}

/* Two NULL-terminated argv arrays. */
static bool
argv_same(char *const *a, char *const *b)
{
	size_t	i;

	if (a == NULL || b == NULL)
		return (a == b);
	for (i = 0; a[i] != NULL && b[i] != NULL; i++) {
		if (strcmp(a[i], b[i]) != 0)
			return (false);
	}
	return (a[i] == NULL && b[i] == NULL);
}

static bool
env_same(const struct pool_spec *a, const struct pool_spec *b)
{
	size_t	i;

	if (a->nenv != b->nenv)
		return (false);
	for (i = 0; i < a->nenv; i++) {
		if (!str_same(a->env[i].name, b->env[i].name) ||
		    !str_same(a->env[i].value, b->env[i].value))
			return (false);
	}
	return (true);
}

static bool
weights_same(const struct pool_spec *a, const struct pool_spec *b)
{
	if (a->nweights != b->nweights)
		return (false);
	return (a->nweights == 0 ||
	    memcmp(a->weights, b->weights, a->nweights * sizeof *a->weights) ==
	    0);
}

/*
 * Every key of struct pool_spec is compared here: a key added to the
 * spec must be added below, as live (engine_update_pool applies it to
 * the running pool) or replace.
 */
unsigned
pool_spec_diff(const struct pool_spec *a, const struct pool_spec *b,
    char *text, size_t len)
{
	unsigned	diff = 0;
	size_t		off = 0;

#define LIVE(cond, ...) do {						\
	if (!(cond)) {							\
		diff |= POOL_DIFF_LIVE;					\
		diff_add(text, len, &off, __VA_ARGS__);			\
	}								\
} while (0)
#define REPLACE(cond, name) do {					\
	if (!(cond)) {							\
		diff |= POOL_DIFF_REPLACE;				\
		diff_add(text, len, &off, "%s", name);			\
	}								\
} while (0)

	if (text != NULL && len != 0)
		text[0] = '\0';
	REPLACE(str_same(a->name, b->name), "name");
	REPLACE(argv_same(a->argv, b->argv), "command");
	REPLACE(str_same(a->cwd, b->cwd), "cwd");
	REPLACE(env_same(a, b), "env");
	REPLACE(a->mode == b->mode, "mode");
	LIVE(a->workers == b->workers, "workers %u -> %u", a->workers,
	    b->workers);
	LIVE(a->min_workers == b->min_workers, "min_workers");
	REPLACE(a->parallel_jobs == b->parallel_jobs, "parallel_jobs");
	LIVE(a->strategy == b->strategy, "strategy");
	REPLACE(weights_same(a, b), "weights");
	REPLACE(a->seed == b->seed, "seed");
	LIVE(a->task_timeout_ms == b->task_timeout_ms, "task_timeout");
	LIVE(a->queue_cap == b->queue_cap, "queue_cap");
	LIVE(a->retry == b->retry, "retry");
	REPLACE(a->idle_sleep_ms == b->idle_sleep_ms, "idle_sleep");
	REPLACE(a->handshake_ms == b->handshake_ms, "handshake");
	LIVE(a->restart == b->restart, "restart");
	REPLACE(a->max_restarts == b->max_restarts, "max_restarts");
	REPLACE(a->restart_window_ms == b->restart_window_ms,
	    "restart_window");
	LIVE(a->backoff_initial_ms == b->backoff_initial_ms &&
	    a->backoff_max_ms == b->backoff_max_ms, "backoff");
	LIVE(a->stop_signal == b->stop_signal, "stop_signal");
	LIVE(a->stop_timeout_ms == b->stop_timeout_ms, "stop_timeout");
	LIVE(a->memory_limit == b->memory_limit, "memory_limit");
	REPLACE(a->tree == b->tree, "tree");
	REPLACE(a->log_lines == b->log_lines, "log_lines");
	LIVE(a->log_rate_limit == b->log_rate_limit, "log_rate_limit");
	REPLACE(str_same(a->log_file, b->log_file), "log_file");
	REPLACE(a->log_max == b->log_max, "log_max");
	REPLACE(a->log_keep == b->log_keep, "log_keep");
	REPLACE(strv_same(a->watch, a->nwatch, b->watch, b->nwatch), "watch");
	REPLACE(strv_same(a->watch_ignore, a->nwatch_ignore, b->watch_ignore,
	    b->nwatch_ignore), "watch_ignore");
	REPLACE(a->watch_delay_ms == b->watch_delay_ms, "watch_delay");
	REPLACE(a->reload == b->reload, "reload");
	REPLACE(strv_same(a->locks, a->nlocks, b->locks, b->nlocks), "locks");
#undef LIVE
#undef REPLACE
	return (diff);
}

/* ---- checking ------------------------------------------------------------ */

int
engine_check_pool(struct engine *e, const struct pool_spec *spec)
{
	char	 err[512], *path;
	int	 r;

	if (spec == NULL)
		return (-EINVAL);
	r = pool_validate(e, spec);
	if (r != 0 && r != -EEXIST)
		return (r);
	if ((r = worker_resolve(spec, &path, err, sizeof err)) != 0) {
		engine_set_error(e, "%s", err);
		return (r);
	}
	free(path);
	engine_set_error(e, "%s", "");
	return (0);
}

/* ---- removing ------------------------------------------------------------ */

/* Moves a pool (already out of e->pools) to the retired list; stops it. */
static void
retire_start(struct engine *e, struct pool *p, engine_removed_cb cb,
    void *arg, const char *why)
{
	p->retired = RETIRE_STOPPING;
	p->retire_cb = cb;
	p->retire_arg = arg;
	TAILQ_INSERT_TAIL(&e->retired, p, link);
	pool_note(p, NULL, NULL, "removed (%s): stopping %u worker%s", why,
	    p->live, p->live == 1 ? "" : "s");
	if (!p->stopping)
		pool_begin_stop(p);
	engine_drain(e);
}

int
engine_remove_pool(struct engine *e, struct pool *p, engine_removed_cb cb,
    void *arg)
{
	if (p == NULL)
		return (-EINVAL);
	if (p->retired != RETIRE_NONE) {
		engine_set_error(e, "pool %s: already removed", p->spec.name);
		return (-EALREADY);
	}
	if (e->stopping) {
		engine_set_error(e, "pool %s: the engine is stopping",
		    p->spec.name);
		return (-ESHUTDOWN);
	}
	TAILQ_REMOVE(&e->pools, p, link);
	e->npools--;
	retire_start(e, p, cb, arg, "no longer configured");
	return (0);
}

/* Closes the retired pool's handles; the last close callback ends it. */
static void
retire_close(struct pool *p)
{
	struct engine	*e = p->engine;

	p->retired = RETIRE_CLOSING;
	/*
	 * pool_teardown() closes the pool's timers (and what other modules
	 * keep per pool) with the engine's close callback; ours only counts
	 * for the caller's callback.  The memory goes at a later turn.
	 */
	pool_teardown(p);
	uv_timer_init(e->loop, &p->retire_timer);
	p->retire_timer.data = p;
	e->nhandles++;
	p->retire_open++;
	uv_close((uv_handle_t *)&p->retire_timer, retire_close_cb);
}

/* The last handle of a retired pool closed: it is over. */
static void
retire_close_cb(uv_handle_t *h)
{
	struct pool		*p = h->data;
	struct engine		*e = p->engine;
	engine_removed_cb	 cb;

	if (--p->retire_open == 0) {
		p->retired = RETIRE_FREE_DUE;
		pool_note(p, NULL, NULL, "removed: every worker exited");
		cb = p->retire_cb;
		p->retire_cb = NULL;
		if (cb != NULL)
			cb(e, p->retire_arg);
	}
	engine_handle_closed(e);	/* may finish the engine: last */
}

/*
 * From engine_check_stopped(): retired pools whose workers are all gone
 * (and whose tasks all ended) close their handles; those closed at an
 * earlier turn are freed.
 */
void
retire_check(struct engine *e)
{
	struct pool	*p, *next;

	if (e->draining || !TAILQ_EMPTY(&e->done))
		return;
	for (p = TAILQ_FIRST(&e->retired); p != NULL; p = next) {
		next = TAILQ_NEXT(p, link);
		switch (p->retired) {
		case RETIRE_STOPPING:
			if (p->live == 0 && p->nqueued == 0 &&
			    p->npending == 0)
				retire_close(p);
			break;
		case RETIRE_FREE_DUE:
			TAILQ_REMOVE(&e->retired, p, link);
			pool_free_all(p);
			break;
		default:
			break;
		}
	}
}

/* The second engine_stop(): retired pools' workers get SIGKILL too. */
void
retire_force(struct engine *e)
{
	struct pool	*p;

	TAILQ_FOREACH(p, &e->retired, link) {
		if (p->retired == RETIRE_STOPPING)
			pool_force_stop(p);
	}
}

/* engine_destroy(): every handle is closed; what is left is freed. */
void
retire_free_all(struct engine *e)
{
	struct pool	*p;

	while ((p = TAILQ_FIRST(&e->retired)) != NULL) {
		TAILQ_REMOVE(&e->retired, p, link);
		pool_free_all(p);
	}
}

/* ---- changing ------------------------------------------------------------ */

/* The keys that apply to a running pool (see pool.h). */
static int
update_live(struct engine *e, struct pool *p, const struct pool_spec *spec)
{
	struct pool_spec	*cur = &p->spec;
	int			 r;

	if (spec->strategy != cur->strategy &&
	    (r = pool_set_strategy(p, spec->strategy)) != 0) {
		engine_set_error(e, "pool %s: cannot change the strategy: %s",
		    cur->name, strerror(-r));
		return (r);
	}
	if (spec->workers != cur->workers &&
	    (r = pool_scale(p, spec->workers)) != 0) {
		engine_set_error(e, "pool %s: cannot scale to %u workers: %s",
		    cur->name, spec->workers, strerror(-r));
		return (r);
	}
	cur->min_workers = spec->min_workers > cur->workers ? cur->workers :
	    spec->min_workers;
	cur->task_timeout_ms = spec->task_timeout_ms;
	cur->queue_cap = spec->queue_cap;
	cur->retry = spec->retry;
	cur->restart = spec->restart;
	cur->backoff_initial_ms = spec->backoff_initial_ms;
	cur->backoff_max_ms = spec->backoff_max_ms;
	cur->stop_signal = spec->stop_signal;
	cur->stop_timeout_ms = spec->stop_timeout_ms;
	cur->memory_limit = spec->memory_limit;
	cur->log_rate_limit = spec->log_rate_limit;
	return (0);
}

/* A new pool in the old one's place; the old one is removed. */
static int
update_replace(struct engine *e, struct pool *old,
    const struct pool_spec *spec, struct pool **out)
{
	struct pool	*next = TAILQ_NEXT(old, link), *np;
	int		 r;

	TAILQ_REMOVE(&e->pools, old, link);
	e->npools--;
	if ((r = engine_add_pool(e, spec, &np)) != 0) {
		/* Back where it was, untouched. */
		if (next != NULL)
			TAILQ_INSERT_BEFORE(next, old, link);
		else
			TAILQ_INSERT_TAIL(&e->pools, old, link);
		e->npools++;
		return (r);
	}
	TAILQ_REMOVE(&e->pools, np, link);
	if (next != NULL)
		TAILQ_INSERT_BEFORE(next, np, link);
	else
		TAILQ_INSERT_TAIL(&e->pools, np, link);
	retire_start(e, old, NULL, NULL, "replaced by its new config");
	if (out != NULL)
		*out = np;
	return (0);
}

int
engine_update_pool(struct engine *e, struct pool *p,
    const struct pool_spec *spec, struct pool **out)
{
	struct pool	*np = p;
	char		 what[512];
	unsigned	 diff;
	int		 r;

	if (out != NULL)
		*out = p;
	if (p == NULL || spec == NULL || spec->name == NULL)
		return (-EINVAL);
	if (p->retired != RETIRE_NONE || p->stopping || e->stopping) {
		engine_set_error(e, "pool %s: it is stopping", p->spec.name);
		return (-ESHUTDOWN);
	}
	if (strcmp(spec->name, p->spec.name) != 0) {
		engine_set_error(e, "pool %s: the new spec is for pool %s",
		    p->spec.name, spec->name);
		return (-EINVAL);
	}
	diff = pool_spec_diff(&p->spec, spec, what, sizeof what);
	if (diff == 0)
		return (POOL_UPDATE_NONE);
	if ((r = engine_check_pool(e, spec)) != 0)
		return (r);
	if (diff & POOL_DIFF_REPLACE) {
		if ((r = update_replace(e, p, spec, &np)) != 0)
			return (r);
		if (out != NULL)
			*out = np;
		pool_note(np, NULL, NULL, "config changed (%s): replaced by a "
		    "new pool", what);
		return (POOL_UPDATE_REPLACED);
	}
	if ((r = update_live(e, p, spec)) != 0)
		return (r);
	pool_note(p, NULL, NULL, "config changed (%s): applied", what);
	engine_drain(e);
	return (POOL_UPDATE_LIVE);
}
