/*
 * Deadlines: one-shot timeouts that share one uv_timer_t (src/deadline.c).
 *
 * A thousand workers each waiting for a handshake, a partial log line or
 * an idle sleep would need a thousand libuv timers (152 bytes each, and a
 * node in the loop's heap) whose only job is to hold one due time.  A
 * struct deadline_queue (one per engine) keeps every armed deadline in
 * one min-heap and arms its one timer for the earliest, as nginx's event
 * timers and the kernel's timerqueue do.
 *
 * The owner embeds a struct deadline (4 bytes, zero = not armed, so a
 * zeroed owner needs no init) and recovers itself in the callback with
 * container_of.  The due time, the arming order and the callback live in
 * the heap entry: only armed deadlines pay for them, and sifting compares
 * keys in one array without touching the owners' memory (libev's
 * EV_HEAP_CACHE_AT).  A callback pointer rather than a "kind" keeps this
 * module ignorant of its users.
 *
 * Firing: every deadline due at the loop time is taken out of the heap
 * before its callback runs, in (due, arming order): equal due times fire
 * in the order they were armed, like libuv's own timers.  A callback may
 * start or stop any deadline (one due in the same pass fires in it, as
 * with libuv 1.44's timers) and may free its owner: nothing touches a
 * deadline after its callback returned.
 *
 * Ownership: a deadline must be stopped before its owner's memory goes;
 * the queue's timer is a handle of its owner (deadline_queue_close), and
 * its heap goes in deadline_queue_free once every owner is gone.
 * Private to the engine.
 */
#ifndef POOLTOP_DEADLINE_H
#define POOLTOP_DEADLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#ifndef container_of
#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))
#endif

#define DEADLINE_IDLE	0	/* struct deadline.pos when not armed */

struct deadline {
	uint32_t	pos;	/* heap index + 1, or DEADLINE_IDLE */
};

typedef void (*deadline_cb)(struct deadline *);

struct deadline_entry;

struct deadline_queue {
	uv_loop_t		*loop;
	uv_timer_t		 timer;		/* armed for heap[0]'s due */
	struct deadline_entry	*heap;
	uint32_t		 n;
	uint32_t		 cap;
	uint64_t		 next_seq;	/* arming order */
	uint64_t		 timer_due;	/* the due it is armed for */
	bool			 timer_armed;
	bool			 open;		/* timer open, not closing */
	bool			 firing;	/* in deadline_queue_run */
};

/* Sets up an empty queue on loop; no handle yet (deadline_queue_open). */
void	 deadline_queue_init(struct deadline_queue *, uv_loop_t *);
/*
 * Initialises the timer (one handle of the caller's, inactive while no
 * deadline is armed) and arms it for what is already due.
 */
void	 deadline_queue_open(struct deadline_queue *);
/*
 * Closes the timer; close_cb gets the timer's handle (its data is the
 * caller's to set).  Deadlines still armed never fire after this.
 */
void	 deadline_queue_close(struct deadline_queue *, uv_close_cb);
/* Frees the heap (the timer is closed, or was never opened). */
void	 deadline_queue_free(struct deadline_queue *);
/*
 * Runs every deadline due at now (loop time, ms), earliest first, then
 * re-arms the timer; the timer's callback calls it with uv_now().
 */
void	 deadline_queue_run(struct deadline_queue *, uint64_t now);
/* Deadlines armed. */
static inline size_t
deadline_queue_len(const struct deadline_queue *q)
{
	return (q->n);
}

/*
 * Arms d to call cb in ms milliseconds of loop time (from uv_now); an
 * armed d is moved (and now counts as armed last for its due time).
 */
void	 deadline_start(struct deadline_queue *, struct deadline *,
	    uint64_t ms, deadline_cb);
/* Disarms d; nothing if it is not armed. */
void	 deadline_stop(struct deadline_queue *, struct deadline *);
/* The loop time d is due at (d armed). */
uint64_t deadline_due(const struct deadline_queue *, const struct deadline *);

static inline bool
deadline_armed(const struct deadline *d)
{
	return (d->pos != DEADLINE_IDLE);
}

#endif
