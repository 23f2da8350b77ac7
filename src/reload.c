/*
 * Reloads: a pool's workers replaced by new processes, by hand
 * (pool_reload) or when a watched file changes (watch.c), without losing
 * a task.
 *
 * Rolling (PM2's reload), one slot at a time:
 *   1. a new process starts in the slot beside the old one (the slot's
 *      `others`: it is not the slot's worker yet, takes no task);
 *   2. it comes up: its handshake (pool_worker_ready), or for a service
 *      still running RELOAD_SERVICE_GRACE_MS after its start;
 *   3. it takes over the slot (new tasks go to it), and only then is the
 *      old one stopped gracefully: tasks waiting for it go back to the
 *      queue, its in-flight tasks get stop_timeout to finish;
 *   4. the next slot.
 * A new process that exits, or does not handshake within the grace,
 * stops the reload: it is killed, the slots not yet done keep their old
 * processes, and the reason goes out as POOL_EV_FAILED, in the slot's
 * log, in pool_info.reload_error and to the callbacks.
 *
 * Restart: every worker is stopped gracefully (as by a restart, their
 * slots are not restarted by the policy), and once the last one is gone
 * all start again; the reload is done when every new one came up.
 *
 * A reload asked for while one runs is remembered: one more pass follows
 * (the files may have changed again meanwhile), whatever the number of
 * requests.  Everything runs from the loop: a pass begins on a timer,
 * never inside pool_reload(), so its callbacks never run from there.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine-internal.h"
#include "pooltop/sampler.h"
#include "watch.h"

#define RELOAD_SERVICE_GRACE_MS	1000	/* a new service is up once it ran this long */
#define RELOAD_SLACK_MS		1000	/* past the handshake grace: a new worker is stuck */
#define RELOAD_NO_GRACE_MS	10000	/* the same for a pool without a handshake grace */

/* What the timer does when it fires. */
enum reload_due {
	DUE_NONE,
	DUE_BEGIN,		/* a pass begins */
	DUE_STEP,		/* rolling: the next slot */
	DUE_START,		/* restart: the old workers are gone, start anew */
	DUE_GRACE,		/* the grace of the new processes ended */
	DUE_DONE,		/* restart: the last new process came up */
};

struct reload_waiter {
	pool_reload_cb	 cb;
	void		*arg;
};

struct reload {
	struct pool	*pool;
	struct engine	*engine;
	struct watch	*watch;
	bool		 watch_due;	/* starts at the first turn of the loop */
	/* The pass: */
	bool		 requested;	/* a pass begins at the timer */
	bool		 running;
	bool		 again;		/* asked for again during the pass */
	enum pool_reload_mode mode;
	char		*why;		/* what asked for the pass (NULL: a request) */
	char		*next_why;
	unsigned	 ntargets;	/* slots 0..ntargets-1 */
	unsigned	 next;		/* rolling: the next slot to replace */
	unsigned	 replaced;
	unsigned	 started;	/* empty slots (failed) started */
	struct worker	**await;	/* new processes not up yet */
	unsigned	 nawait;
	struct worker	**old;		/* restart: old processes not gone yet */
	unsigned	 nold;
	bool		*stopped;	/* restart: slots whose process we stopped */
	unsigned	 cap;
	struct reload_waiter *waiters;	/* told at the end of this pass */
	size_t		 nwaiters;
	struct reload_waiter *next_waiters; /* ... of the pass after it */
	size_t		 nnext;
	/* Outcome: */
	unsigned	 reloads;
	char		*error;
	uv_timer_t	 timer;
	bool		 timer_open;
	enum reload_due	 due;
};

static void	reload_timer_cb(uv_timer_t *);
static void	reload_watch_start(struct reload *);
static void	reload_fail(struct reload *, struct slot *, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));

static const char *
reload_mode_name(enum pool_reload_mode m)
{
	return (m == POOL_RELOAD_RESTART ? "restart" : "rolling");
}

/* The pool's reload state, made on first use. */
static struct reload *
reload_get(struct pool *p)
{
	struct reload	*r = p->reload;

	if (r == NULL) {
		r = engine_xalloc(sizeof *r);
		memset(r, 0, sizeof *r);
		r->pool = p;
		r->engine = p->engine;
		p->reload = r;
	}
	return (r);
}

static void
reload_arm(struct reload *r, enum reload_due due, uint64_t ms)
{
	struct engine	*e = r->engine;

	if (!r->timer_open) {
		uv_timer_init(e->loop, &r->timer);
		r->timer.data = r;
		r->timer_open = true;
		e->nhandles++;
	}
	r->due = due;
	uv_timer_start(&r->timer, reload_timer_cb, ms, 0);
}

static void
reload_disarm(struct reload *r)
{
	r->due = DUE_NONE;
	if (r->timer_open)
		uv_timer_stop(&r->timer);
}

/* A line from pooltop in the slot's log (no event). */
static void
reload_wait_add(struct reload_waiter **list, size_t *n, pool_reload_cb cb,
    void *arg)
{
	if (cb == NULL)
		return;
	*list = realloc(*list, (*n + 1) * sizeof **list);
	if (*list == NULL)
		abort();
	(*list)[*n].cb = cb;
	(*list)[*n].arg = arg;
	(*n)++;
}

/* Tells the callbacks of this pass (they may ask for another reload). */
static void
reload_tell(struct reload *r, bool ok, const char *text)
{
	struct reload_waiter	*list = r->waiters;
	size_t			 n = r->nwaiters, i;

	r->waiters = NULL;
	r->nwaiters = 0;
	for (i = 0; i < n; i++)
		list[i].cb(r->pool, ok, text, list[i].arg);
	free(list);
}

/* Makes room for one entry per slot in the pass's lists. */
static void
reload_size(struct reload *r, unsigned n)
{
	if (n <= r->cap)
		return;
	r->await = realloc(r->await, n * sizeof *r->await);
	r->old = realloc(r->old, n * sizeof *r->old);
	r->stopped = realloc(r->stopped, n * sizeof *r->stopped);
	if (r->await == NULL || r->old == NULL || r->stopped == NULL)
		abort();
	r->cap = n;
}

/* Takes w out of a list; false if it was not there. */
static bool
reload_take(struct worker **list, unsigned *n, const struct worker *w)
{
	unsigned	i;

	for (i = 0; i < *n; i++) {
		if (list[i] == w) {
			list[i] = list[--*n];
			return (true);
		}
	}
	return (false);
}

/* The pass after this one, if asked for meanwhile. */
static void
reload_next_pass(struct reload *r)
{
	struct pool	*p = r->pool;

	if (!r->again || r->running)
		return;
	r->again = false;
	free(r->waiters);
	r->waiters = r->next_waiters;
	r->nwaiters = r->nnext;
	r->next_waiters = NULL;
	r->nnext = 0;
	free(r->why);
	r->why = r->next_why;
	r->next_why = NULL;
	if (p->stopping || p->engine->stopping) {
		reload_tell(r, false, "pool stopping");
		return;
	}
	r->requested = true;
	reload_arm(r, DUE_BEGIN, 0);
}

/* The pass completed. */
static void
reload_done(struct reload *r)
{
	struct pool	*p = r->pool;
	char		 text[512];
	int		 n;

	r->running = false;
	reload_disarm(r);
	r->reloads++;
	free(r->error);
	r->error = NULL;
	if (r->replaced == 0 && r->started == 0)
		snprintf(text, sizeof text, "pool %s reloaded (%s): no worker "
		    "was running", p->spec.name, reload_mode_name(r->mode));
	else {
		n = snprintf(text, sizeof text, "pool %s reloaded (%s): %u "
		    "worker%s %s", p->spec.name, reload_mode_name(r->mode),
		    r->replaced, r->replaced == 1 ? "" : "s",
		    r->mode == POOL_RELOAD_RESTART ? "restarted" : "replaced");
		if (r->started != 0 && n > 0 && (size_t)n < sizeof text)
			snprintf(text + n, sizeof text - (size_t)n, ", %u "
			    "failed one%s started", r->started,
			    r->started == 1 ? "" : "s");
	}
	pool_note(p, NULL, NULL, "%s", text);
	reload_tell(r, true, text);
	reload_next_pass(r);
}

/*
 * The pass stops: new processes not yet up are killed (rolling: they
 * never took a slot), the reason goes out, the next pass (if asked for)
 * begins.
 */
static void
reload_fail(struct reload *r, struct slot *s, const char *fmt, ...)
{
	struct pool		*p = r->pool;
	struct pool_event	 ev;
	struct worker		*w;
	char			 detail[700], text[1024];
	unsigned		 i;
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (r->mode == POOL_RELOAD_ROLLING && r->replaced == 0)
		snprintf(text, sizeof text, "reload of pool %s stopped: %s; "
		    "the old workers keep serving", p->spec.name, detail);
	else if (r->mode == POOL_RELOAD_ROLLING)
		snprintf(text, sizeof text, "reload of pool %s stopped: %s; "
		    "%u worker%s had been replaced, the others keep serving",
		    p->spec.name, detail, r->replaced,
		    r->replaced == 1 ? "" : "s");
	else
		snprintf(text, sizeof text, "reload of pool %s stopped: %s",
		    p->spec.name, detail);
	r->running = false;
	reload_disarm(r);
	for (i = 0; i < r->nawait; i++) {
		w = r->await[i];
		if (w != w->slot->w && !w->exited)
			worker_kill(w, STOP_RELOAD, "its reload stopped");
	}
	r->nawait = 0;
	r->nold = 0;
	free(r->error);
	r->error = engine_xstrdup(text);
	if (s != NULL)
		pool_slot_log(s, "%s", text);
	memset(&ev, 0, sizeof ev);
	ev.text = text;
	ev.text_len = strlen(text);
	pool_emit(p, POOL_EV_FAILED, NULL, NULL, &ev);
	reload_tell(r, false, text);
	reload_next_pass(r);
}

/* "pool web: cannot start ..." without the "pool web: " the text repeats. */
static const char *
reload_engine_error(struct pool *p)
{
	const char	*err = engine_error(p->engine);
	size_t		 n = strlen(p->spec.name);

	if (strncmp(err, "pool ", 5) == 0 &&
	    strncmp(err + 5, p->spec.name, n) == 0 &&
	    strncmp(err + 5 + n, ": ", 2) == 0)
		return (err + 7 + n);
	return (err);
}

/* How long a new process may take to come up before it counts as stuck. */
static uint64_t
reload_grace(const struct pool *p, const struct worker *w)
{
	if (!w->protocol)
		return (RELOAD_SERVICE_GRACE_MS);
	return ((p->spec.handshake_ms != 0 ? p->spec.handshake_ms :
	    RELOAD_NO_GRACE_MS) + RELOAD_SLACK_MS);
}

/*
 * Starts a process beside the slot's worker (rolling); it is the slot's
 * only once it came up.  0 or -errno (text in engine_error()).
 */
static int
reload_spawn(struct reload *r, struct slot *s, struct worker **out)
{
	struct pool	*p = r->pool;
	struct engine	*e = p->engine;
	struct worker	*w;
	int		 rc;

	if ((rc = worker_spawn(s, &w)) != 0)
		return (rc);
	s->others++;
	p->live++;
	if (w->protocol) {
		p->starting++;
		w->cnt_starting = true;
	}
	if (e->sampler != NULL)
		sampler_add(e->sampler, w->pid, p->spec.tree);
	pool_slot_log(s, "started pid %d to replace pid %d in a reload",
	    (int)w->pid, s->w != NULL ? (int)s->w->pid : 0);
	pool_emit(p, POOL_EV_SPAWNED, s, w, NULL);
	*out = w;
	return (0);
}

/* Rolling: replaces the next slot that has a worker, or ends the pass. */
static void
reload_step(struct reload *r)
{
	struct pool	*p = r->pool;
	struct slot	*s;
	struct worker	*w, *nw;
	char		 label[300];
	unsigned	 i;

	while (r->next < r->ntargets) {
		i = r->next++;
		s = i < p->nslots ? p->slots[i] : NULL;
		if (s == NULL || s->removing || i >= p->spec.workers)
			continue;
		if ((w = s->w) == NULL) {
			/* Gave up (or restart = never): try the new code. */
			if ((s->failed || s->no_respawn) &&
			    pool_slot_start(s) == 0)
				r->started++;
			continue;
		}
		if (w->stopping)
			continue;	/* a new process comes anyway */
		if (reload_spawn(r, s, &nw) != 0) {
			snprintf(label, sizeof label, "%s/%u", p->spec.name, i);
			reload_fail(r, s, "cannot start a new worker for %s: "
			    "%s", label, reload_engine_error(p));
			return;
		}
		r->await[r->nawait++] = nw;
		reload_arm(r, DUE_GRACE, reload_grace(p, nw));
		return;
	}
	reload_done(r);
}

/*
 * Rolling: the new process came up and takes the slot; the old one
 * stops gracefully.  Returns false when it cannot (its slot was scaled
 * away meanwhile: it is killed).
 */
static bool
reload_takeover(struct reload *r, struct worker *w)
{
	struct pool	*p = r->pool;
	struct slot	*s = w->slot;
	struct worker	*old = s->w;
	char		 reason[64];

	if (s->removing) {
		worker_kill(w, STOP_RELOAD, "its slot was removed by a scale "
		    "down during the reload");
		reload_arm(r, DUE_STEP, 0);
		return (false);
	}
	s->others--;
	s->w = w;
	deadline_stop(&p->engine->deadlines, &s->restart_deadline);
	s->failed = false;
	s->no_respawn = false;
	s->spawned++;
	pool_slot_update(p, w);
	if (old != NULL) {
		r->replaced++;
		s->others++;
		pool_slot_log(s, "pid %d took over from pid %d in a reload",
		    (int)w->pid, (int)old->pid);
		snprintf(reason, sizeof reason, "replaced by pid %d in a "
		    "reload", (int)w->pid);
		/* Already stopping (restart, memory): it just leaves. */
		if (!old->stopping)
			worker_stop(old, STOP_RELOAD, reason);
	} else {
		r->started++;
		pool_slot_log(s, "pid %d took over the empty slot in a "
		    "reload", (int)w->pid);
	}
	reload_arm(r, DUE_STEP, 0);
	return (true);
}

/* Restart: every old worker is gone; starts the slots anew. */
static void
reload_restart_start(struct reload *r)
{
	struct pool	*p = r->pool;
	struct slot	*s;
	struct worker	*w;
	char		 first[600] = "";
	uint64_t	 grace = 0, g;
	unsigned	 i;

	for (i = 0; i < r->ntargets; i++) {
		s = i < p->nslots ? p->slots[i] : NULL;
		if (s == NULL || s->removing || i >= p->spec.workers)
			continue;
		if (s->w == NULL && !r->stopped[i] && !s->failed &&
		    !s->no_respawn)
			continue;	/* never started, or done: stays so */
		if (s->w == NULL && pool_slot_start(s) != 0) {
			if (first[0] == '\0')
				snprintf(first, sizeof first, "cannot start "
				    "%s/%u again: %s", p->spec.name, i,
				    reload_engine_error(p));
			continue;
		}
		if ((w = s->w) == NULL)
			continue;
		if (r->stopped[i])
			r->replaced++;
		else
			r->started++;
		if (w->hello || w->service || w->stopping)
			continue;	/* up already, or going */
		r->await[r->nawait++] = w;
		if ((g = reload_grace(p, w)) > grace)
			grace = g;
	}
	if (first[0] != '\0') {
		reload_fail(r, NULL, "%s", first);
		return;
	}
	if (r->nawait == 0)
		reload_done(r);
	else
		reload_arm(r, DUE_GRACE, grace);
}

/* Restart: stops every worker; the slots wait for the last exit. */
static void
reload_restart_stop(struct reload *r)
{
	struct pool	*p = r->pool;
	struct slot	*s;
	unsigned	 i;

	for (i = 0; i < r->ntargets; i++) {
		r->stopped[i] = false;
		s = i < p->nslots ? p->slots[i] : NULL;
		if (s == NULL || s->removing || i >= p->spec.workers ||
		    s->w == NULL || s->w->stopping)
			continue;
		r->old[r->nold++] = s->w;
		r->stopped[i] = true;
	}
	for (i = 0; i < r->nold; i++) {
		if (!r->old[i]->exited && !r->old[i]->stopping)
			worker_stop(r->old[i], STOP_RELOAD, "restarted by a "
			    "reload");
	}
	if (r->nold == 0)
		reload_arm(r, DUE_START, 0);
}

/* A pass begins. */
static void
reload_begin(struct reload *r)
{
	struct pool	*p = r->pool;
	unsigned	 n = p->spec.workers > p->nslots ? p->spec.workers :
			    p->nslots, i, live = 0;

	r->requested = false;
	r->running = true;
	r->mode = p->spec.reload;
	r->ntargets = p->spec.workers;
	r->next = 0;
	r->replaced = 0;
	r->started = 0;
	r->nawait = 0;
	r->nold = 0;
	reload_size(r, n);
	for (i = 0; i < r->ntargets && i < p->nslots; i++) {
		if (p->slots[i] != NULL && p->slots[i]->w != NULL)
			live++;
	}
	pool_note(p, NULL, NULL, "reloading (%s, %u worker%s running): %s",
	    reload_mode_name(r->mode), live, live == 1 ? "" : "s",
	    r->why != NULL ? r->why : "asked for");
	if (r->mode == POOL_RELOAD_ROLLING)
		reload_step(r);
	else
		reload_restart_stop(r);
}

/* The new processes' grace ended: services are up, workers are stuck. */
static void
reload_grace_ended(struct reload *r)
{
	struct pool	*p = r->pool;
	struct worker	*w;
	char		 label[300];
	unsigned	 i;

	for (i = 0; i < r->nawait; ) {
		w = r->await[i];
		if (w->exited || w->protocol) {
			i++;
			continue;
		}
		/* A service still running: it is up. */
		r->await[i] = r->await[--r->nawait];
		if (r->mode == POOL_RELOAD_ROLLING) {
			if (!reload_takeover(r, w))
				return;
			worker_set_state(w);
			pool_slot_log(w->slot, "running as a service");
			pool_emit(p, POOL_EV_READY, w->slot, w, NULL);
			return;
		}
	}
	if (r->nawait != 0) {
		w = r->await[0];
		reload_fail(r, w->slot, "new worker %s (pid %d) did not "
		    "handshake within %llu ms", worker_label(w, label,
		    sizeof label), (int)w->pid, (unsigned long long)
		    (reload_grace(p, w) - RELOAD_SLACK_MS));
		return;
	}
	if (r->mode == POOL_RELOAD_RESTART)
		reload_done(r);
}

static void
reload_timer_cb(uv_timer_t *h)
{
	struct reload	*r = h->data;
	enum reload_due	 due = r->due;

	r->due = DUE_NONE;
	if (r->watch_due) {
		r->watch_due = false;
		reload_watch_start(r);
	}
	switch (due) {
	case DUE_BEGIN:
		if (r->requested)
			reload_begin(r);
		break;
	case DUE_STEP:
		if (r->running)
			reload_step(r);
		break;
	case DUE_START:
		if (r->running)
			reload_restart_start(r);
		break;
	case DUE_GRACE:
		if (r->running)
			reload_grace_ended(r);
		break;
	case DUE_DONE:
		if (r->running)
			reload_done(r);
		break;
	case DUE_NONE:
		break;
	}
	engine_drain(r->engine);
}

/* ---- hooks from pool.c ---------------------------------------------------- */

/*
 * A worker handshook (service false) or became a service (true): called
 * first thing by pool_worker_ready() and pool_worker_service().  Returns
 * true when the caller has nothing more to do: a process that is not
 * (or no longer) its slot's, or a new one that failed.
 */
bool
reload_worker_up(struct pool *p, struct worker *w, bool service)
{
	struct reload	*r = p->reload;
	struct slot	*s = w->slot;
	char		 label[300];

	if (r != NULL && r->running && reload_take(r->await, &r->nawait, w)) {
		if (service && p->handshaken) {
			/* The old workers speak the protocol; this one not. */
			worker_label(w, label, sizeof label);
			if (w != s->w) {
				worker_kill(w, STOP_RELOAD, "no handshake "
				    "within the grace");
				reload_fail(r, s, "new worker %s (pid %d) did "
				    "not handshake within %llu ms", label,
				    (int)w->pid, (unsigned long long)
				    p->spec.handshake_ms);
				return (true);
			}
			reload_fail(r, s, "new worker %s (pid %d) did not "
			    "handshake within %llu ms (it runs as a service)",
			    label, (int)w->pid,
			    (unsigned long long)p->spec.handshake_ms);
			return (false);
		}
		if (r->mode == POOL_RELOAD_ROLLING)
			return (!reload_takeover(r, w));
		/* Done after its READY event, at the next turn. */
		if (r->nawait == 0 && r->due == DUE_GRACE)
			reload_arm(r, DUE_DONE, 0);
		return (false);
	}
	if (w != s->w) {
		/* An old process, or a new one of a stopped reload. */
		if (w->cnt_starting) {
			w->cnt_starting = false;
			p->starting--;
		}
		worker_set_state(w);
		return (true);
	}
	return (false);
}

/*
 * A worker was reaped (its tasks handled, its slot not yet told): a new
 * one that had not come up stops the reload; a restart's old one may
 * let the slots start.
 */
void
reload_worker_gone(struct pool *p, struct worker *w, const char *what)
{
	struct reload	*r = p->reload;
	char		 label[300];

	if (r == NULL || !r->running)
		return;
	if (reload_take(r->await, &r->nawait, w)) {
		worker_label(w, label, sizeof label);
		if (w->reason != NULL)
			reload_fail(r, w->slot, "new worker %s (pid %d) did "
			    "not come up: %s", label, (int)w->pid, what);
		else
			reload_fail(r, w->slot, "new worker %s (pid %d) %s "
			    "before it was ready", label, (int)w->pid, what);
		return;
	}
	if (r->mode == POOL_RELOAD_RESTART &&
	    reload_take(r->old, &r->nold, w) && r->nold == 0)
		reload_arm(r, DUE_START, 0);
}

/* engine_stop: the pass ends ("pool stopping"); new processes stop too. */
void
reload_pool_stop(struct pool *p)
{
	struct reload	*r = p->reload;
	struct worker	*w;
	unsigned	 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nawait; i++) {
		w = r->await[i];
		if (w != w->slot->w && !w->exited)
			worker_stop(w, STOP_POOL, "pool stopping");
	}
	r->nawait = 0;
	r->nold = 0;
	r->running = false;
	r->requested = false;
	reload_disarm(r);
	r->again = true;
	reload_tell(r, false, "pool stopping");
	reload_next_pass(r);	/* tells the next pass's callbacks */
}

/* Closes the timer and the watch (engine_stop is done with the workers). */
void
reload_teardown(struct pool *p)
{
	struct reload	*r = p->reload;

	if (r == NULL)
		return;
	if (r->timer_open) {
		r->timer_open = false;
		r->timer.data = p->engine;
		uv_close((uv_handle_t *)&r->timer, engine_handle_close_cb);
	}
	watch_close(r->watch);
	r->watch = NULL;
}

void
reload_free(struct pool *p)
{
	struct reload	*r = p->reload;

	if (r == NULL)
		return;
	free(r->why);
	free(r->next_why);
	free(r->await);
	free(r->old);
	free(r->stopped);
	free(r->waiters);
	free(r->next_waiters);
	free(r->error);
	free(r);
	p->reload = NULL;
}

void
reload_info(const struct pool *p, struct pool_info *info)
{
	const struct reload	*r = p->reload;

	if (r == NULL)
		return;
	info->reloading = r->running || r->requested;
	info->reloads = r->reloads;
	info->reload_error = r->error;
}

/* ---- requests ------------------------------------------------------------- */

/* Asks for a pass (why: what changed; NULL: asked by hand). */
static int
reload_request(struct pool *p, const char *why, pool_reload_cb cb, void *arg)
{
	struct reload	*r;

	if (p == NULL)
		return (-EINVAL);
	if (p->stopping || p->engine->stopping)
		return (-ESHUTDOWN);
	r = reload_get(p);
	if (r->requested) {
		/* Not begun yet: this request joins it. */
		reload_wait_add(&r->waiters, &r->nwaiters, cb, arg);
		return (0);
	}
	if (r->running) {
		r->again = true;
		if (r->next_why == NULL && why != NULL)
			r->next_why = engine_xstrdup(why);
		reload_wait_add(&r->next_waiters, &r->nnext, cb, arg);
		return (0);
	}
	free(r->why);
	r->why = why != NULL ? engine_xstrdup(why) : NULL;
	reload_wait_add(&r->waiters, &r->nwaiters, cb, arg);
	r->requested = true;
	reload_arm(r, DUE_BEGIN, 0);
	return (0);
}

int
pool_reload(struct pool *p, pool_reload_cb cb, void *arg)
{
	return (reload_request(p, NULL, cb, arg));
}

/* ---- the watch ------------------------------------------------------------ */

static void
reload_watch_change_cb(const char *path, void *arg)
{
	struct reload	*r = arg;
	char		 why[1100];

	snprintf(why, sizeof why, "%s changed", path);
	reload_request(r->pool, why, NULL, NULL);
	engine_drain(r->engine);
}

static void
reload_watch_notice_cb(const char *text, void *arg)
{
	struct reload	*r = arg;

	pool_note(r->pool, NULL, NULL, "watch: %s", text);
}

static void
reload_watch_closed_cb(void *arg)
{
	struct reload	*r = arg;

	engine_handle_closed(r->engine);
}

/* Checks that every watched path exists; 0 or -errno with engine_error(). */
int
reload_check_spec(struct engine *e, const struct pool_spec *spec)
{
	struct stat	 st;
	char		*path;
	size_t		 i;
	int		 error;

	for (i = 0; i < spec->nwatch; i++) {
		if (spec->watch[i] == NULL || spec->watch[i][0] == '\0') {
			engine_set_error(e, "pool %s: cannot watch \"\": an "
			    "empty path", spec->name);
			return (-EINVAL);
		}
		path = watch_join(spec->cwd, spec->watch[i]);
		if (path == NULL) {
			engine_set_error(e, "pool %s: out of memory",
			    spec->name);
			return (-ENOMEM);
		}
		if (stat(path, &st) != 0) {
			error = errno;
			engine_set_error(e, "pool %s: cannot watch \"%s\": %s",
			    spec->name, path, strerror(error));
			free(path);
			return (-error);
		}
		free(path);
	}
	return (0);
}

/*
 * The pool started: its watch begins at the first turn of the loop, when
 * whoever listens to the engine hears what it says (the directories
 * watched, or why it cannot watch: that is told, not fatal).
 */
void
reload_pool_started(struct pool *p)
{
	struct reload	*r;

	if (p->spec.nwatch == 0)
		return;
	r = reload_get(p);
	r->watch_due = true;
	reload_arm(r, r->due, 0);
}

/* name as an fnmatch pattern that matches only itself, then suffix. */
static char *
reload_glob_literal(const char *name, const char *suffix)
{
	char	*out = engine_xalloc(2 * strlen(name) + strlen(suffix) + 1);
	size_t	 o = 0;

	for (; *name != '\0'; name++) {
		if (strchr("*?[\\", *name) != NULL)
			out[o++] = '\\';
		out[o++] = *name;
	}
	strcpy(out + o, suffix);
	return (out);
}

static void
reload_watch_start(struct reload *r)
{
	struct pool		*p = r->pool;
	const struct pool_spec	*spec = &p->spec;
	struct watch_options	 o;
	const char		**ignore, *base;
	char			 err[1024], *own[2] = { NULL, NULL };
	size_t			 n = spec->nwatch_ignore, i;
	int			 rc;

	if (p->stopping || p->engine->stopping || r->watch != NULL)
		return;
	memset(&o, 0, sizeof o);
	o.paths = (const char *const *)spec->watch;
	o.npaths = spec->nwatch;
	/*
	 * The pool's own log file (and its rotations) is written by every
	 * worker line: a change there would reload the pool for ever.
	 */
	ignore = engine_xalloc((n + 2) * sizeof *ignore);
	for (i = 0; i < n; i++)
		ignore[i] = spec->watch_ignore[i];
	if (spec->log_file != NULL && spec->log_file[0] != '\0') {
		base = strrchr(spec->log_file, '/');
		base = base != NULL ? base + 1 : spec->log_file;
		own[0] = reload_glob_literal(base, "");
		own[1] = reload_glob_literal(base, ".[0-9]*");
		ignore[n++] = own[0];
		ignore[n++] = own[1];
	}
	o.ignore = ignore;
	o.nignore = n;
	o.base = spec->cwd;
	o.delay_ms = spec->watch_delay_ms;
	o.change = reload_watch_change_cb;
	o.notice = reload_watch_notice_cb;
	o.closed = reload_watch_closed_cb;
	o.arg = r;
	/* The watch counts as one handle until its closed callback. */
	p->engine->nhandles++;
	rc = watch_new(&r->watch, p->engine->loop, &o, err, sizeof err);
	free(ignore);
	free(own[0]);
	free(own[1]);
	if (rc != 0) {
		pool_note(p, NULL, NULL, "%s; changes will not reload the "
		    "pool", err);
		return;
	}
	pool_note(p, NULL, NULL, "watching %zu director%s for changes "
	    "(reload: %s, after %llu ms of quiet)", watch_count(r->watch),
	    watch_count(r->watch) == 1 ? "y" : "ies",
	    reload_mode_name(spec->reload),
	    (unsigned long long)spec->watch_delay_ms);
}
