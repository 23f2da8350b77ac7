/*
 * Lifecycle: idle sleep and wake of one worker.
 *
 * Each worker has one deadline on one timer: armed when its last task in
 * flight ends, disarmed when a task goes out.  When it passes, the worker
 * is stopped with SIGSTOP through its pidfd and shows as sleeping; the
 * next task for it wakes it with SIGCONT first.  Nothing scans: the cost
 * does not grow with the number of idle workers.
 *
 * Stops and continues from outside (kill -STOP / -CONT) are reported by
 * waitid on the pidfd (worker_reap) and land here: the worker shows as
 * sleeping or awake; it is never taken for dead.  A sleeping worker is
 * offered to the balancer as asleep, which picks it only when no awake
 * worker has room, and then it is woken before the task is written.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-internal.h"
#include "lifecycle.h"

static void	lifecycle_timer_cb(uv_timer_t *);
static void	lifecycle_close_cb(uv_handle_t *);

/*
 * The worker's idle timer (a handle of the worker) is made the first time
 * an idle deadline is armed: a pool without idle_sleep keeps none per
 * worker.
 */
int
lifecycle_init(struct worker *w)
{
	w->idle_timer = NULL;
	return (0);
}

/* A task went out (or the worker is stopping): no idle deadline. */
void
lifecycle_busy(struct worker *w)
{
	if (w->idle_armed) {
		w->idle_armed = false;
		uv_timer_stop(w->idle_timer);
	}
}

/* Nothing in flight any more: the idle deadline starts now. */
void
lifecycle_idle(struct worker *w)
{
	uint64_t	ms = w->pool->spec.idle_sleep_ms;

	if (ms == 0 || w->sleeping || w->stopping || w->exited || !w->hello)
		return;
	if (w->idle_timer == NULL) {
		w->idle_timer = engine_xalloc(sizeof *w->idle_timer);
		uv_timer_init(w->engine->loop, w->idle_timer);
		w->idle_timer->data = w;
		w->nopen++;
		w->engine->nhandles++;
	}
	w->idle_armed = true;
	uv_timer_start(w->idle_timer, lifecycle_timer_cb, ms, 0);
}

static void
lifecycle_timer_cb(uv_timer_t *h)
{
	struct worker	*w = h->data;
	char		 why[64];

	w->idle_armed = false;
	if (w->in_flight != 0 || w->stopping || w->exited)
		return;
	snprintf(why, sizeof why, "idle for %llu ms",
	    (unsigned long long)w->pool->spec.idle_sleep_ms);
	lifecycle_sleep(w, why);
	engine_drain(w->engine);
}

/* A STATE event and a line in the slot's log. */
static void
lifecycle_state(struct worker *w, const char *what, const char *why)
{
	struct pool_event	ev;
	char			text[300];

	snprintf(text, sizeof text, "pid %d %s: %s", (int)w->pid, what, why);
	memset(&ev, 0, sizeof ev);
	ev.text = text;
	ev.text_len = strlen(text);
	ring_log_push(w->slot->log, engine_now_ms(w->engine), LOG_POOLTOP, text,
	    strlen(text));
	pool_emit(w->pool, POOL_EV_STATE, w->slot, w, &ev);
}

/* Stops the worker with SIGSTOP; it shows as sleeping. */
int
lifecycle_sleep(struct worker *w, const char *why)
{
	int	r;

	if (w->sleeping)
		return (0);
	if (w->stopping)
		return (-EBUSY);
	r = worker_signal(w, SIGSTOP);
	if (r != 0)
		return (r);
	lifecycle_busy(w);
	w->sleeping = true;
	worker_set_state(w);
	pool_slot_update(w->pool, w);
	lifecycle_state(w, "sleeping", why);
	return (0);
}

/* Continues the worker with SIGCONT; it is awake again. */
int
lifecycle_wake(struct worker *w, const char *why)
{
	int	r;

	if (!w->sleeping)
		return (0);
	r = worker_signal(w, SIGCONT);
	if (r != 0)
		return (r);
	w->sleeping = false;
	worker_set_state(w);
	pool_slot_update(w->pool, w);
	lifecycle_state(w, "awake", why);
	if (w->in_flight == 0)
		lifecycle_idle(w);
	if (w->pool->nqueued != 0)
		pool_dispatch(w->pool);
	return (0);
}

/* waitid saw the worker stop (by us, or kill -STOP from outside). */
void
lifecycle_stopped(struct worker *w, int sig)
{
	char	why[64];

	if (w->sleeping)
		return;
	lifecycle_busy(w);
	w->sleeping = true;
	worker_set_state(w);
	pool_slot_update(w->pool, w);
	snprintf(why, sizeof why, "stopped by signal %d (%s) from outside",
	    sig, strsignal(sig));
	lifecycle_state(w, "sleeping", why);
}

/* waitid saw the worker continue. */
void
lifecycle_continued(struct worker *w)
{
	if (!w->sleeping)
		return;
	w->sleeping = false;
	worker_set_state(w);
	pool_slot_update(w->pool, w);
	lifecycle_state(w, "awake", "continued from outside");
	if (w->in_flight == 0)
		lifecycle_idle(w);
	if (w->pool->nqueued != 0)
		pool_dispatch(w->pool);
}

static void
lifecycle_close_cb(uv_handle_t *h)
{
	/* h->data is the worker; the timer itself is ours to free. */
	worker_handle_close_cb(h);
	free(h);
}

/* Closes the idle timer (the worker is gone). */
void
lifecycle_close(struct worker *w)
{
	w->idle_armed = false;
	if (w->idle_timer != NULL)
		uv_close((uv_handle_t *)w->idle_timer, lifecycle_close_cb);
}
