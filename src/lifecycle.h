/*
 * Lifecycle: idle sleep and wake of one worker (src/lifecycle.c).
 *
 * The engine calls lifecycle_busy() when a task goes out to a worker that
 * had none in flight, lifecycle_idle() when its last one ends, and
 * lifecycle_stopped()/lifecycle_continued() when waitid reports a stop or
 * a continue.  lifecycle_sleep()/lifecycle_wake() are the actions (idle
 * deadline, the commands layer, and a task picked for a sleeping worker).
 * The worker's state, its balancer view and a STATE event follow each
 * change.  Private to the engine.
 */
#ifndef POOLTOP_LIFECYCLE_H
#define POOLTOP_LIFECYCLE_H

struct worker;

/* Sets up the worker's idle deadline (not a handle: nothing to close). */
int	lifecycle_init(struct worker *);
/* A task went out, or the worker is stopping: the idle deadline is off. */
void	lifecycle_busy(struct worker *);
/* Nothing in flight: after spec.idle_sleep_ms (0: never) it sleeps. */
void	lifecycle_idle(struct worker *);
/* SIGSTOP through the pidfd; 0, -EBUSY (stopping) or -errno. */
int	lifecycle_sleep(struct worker *, const char *why);
/* SIGCONT through the pidfd; 0 or -errno. */
int	lifecycle_wake(struct worker *, const char *why);
/* waitid saw a stop (sig) or a continue, from us or from outside. */
void	lifecycle_stopped(struct worker *, int sig);
void	lifecycle_continued(struct worker *);
/* Stops the idle deadline when the worker is gone (before it is freed). */
void	lifecycle_close(struct worker *);

#endif
