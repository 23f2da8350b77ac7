/*
 * Lifecycle: idle sleep and wake of one worker.
 *
 * Each worker has one idle deadline (on the engine's deadline queue, which
 * serves every worker's deadlines from one timer): armed when its last
 * task in flight ends, disarmed when a task goes out.  When it passes, the
 * worker is stopped with SIGSTOP through its pidfd and shows as sleeping;
 * the next task for it wakes it with SIGCONT first.  Nothing scans: the cost
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
#include <string.h>

#include "engine-internal.h"
#include "lifecycle.h"

static void	lifecycle_idle_cb(struct deadline *);

/*
 * The worker's idle deadline is a struct deadline in the worker, not a
 * handle: nothing to set up beyond its zeroed (idle) state.
 */
int
lifecycle_init(struct worker *w)
{
	memset(&w->idle_deadline, 0, sizeof w->idle_deadline);
	return (0);
}

/* A task went out (or the worker is stopping): no idle deadline. */
void
lifecycle_busy(struct worker *w)
{
	deadline_stop(&w->engine->deadlines, &w->idle_deadline);
}

/* Nothing in flight any more: the idle deadline starts now. */
void
lifecycle_idle(struct worker *w)
{
	uint64_t	ms = w->pool->spec.idle_sleep_ms;

	if (ms == 0 || w->sleeping || w->stopping || w->exited || !w->hello)
		return;
	deadline_start(&w->engine->deadlines, &w->idle_deadline, ms,
	    lifecycle_idle_cb);
}

static void
lifecycle_idle_cb(struct deadline *d)
{
	struct worker	*w = container_of(d, struct worker, idle_deadline);
	char		 why[64];

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

/* Stops the idle deadline for good (the worker is gone). */
void
lifecycle_close(struct worker *w)
{
	deadline_stop(&w->engine->deadlines, &w->idle_deadline);
}
