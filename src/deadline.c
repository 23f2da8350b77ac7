/*
 * Deadlines: a binary min-heap of (due, arming order) served by one
 * uv_timer_t.  See deadline.h for who uses it and why.
 *
 * The heap holds entries, not pointers: each carries its key and its
 * callback, and its owner's struct deadline holds its place (index + 1)
 * so that a stop or a re-arm is O(log n) without a search.  Every move of
 * an entry updates that place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadline.h"

#define DEADLINE_CAP_MIN	16	/* entries of the first heap */
#define DEADLINE_CAP_SHRINK	256	/* shrinks from here when 3/4 empty */

struct deadline_entry {
	uint64_t	 due;		/* loop time, ms */
	uint64_t	 seq;		/* arming order, for ties */
	struct deadline	*d;
	deadline_cb	 cb;
};

static void	deadline_timer_cb(uv_timer_t *);

/* Does a fire before b? */
static inline bool
deadline_before(const struct deadline_entry *a, const struct deadline_entry *b)
{
	return (a->due < b->due || (a->due == b->due && a->seq < b->seq));
}

/* Puts x at i and tells its owner. */
static inline void
deadline_place(struct deadline_queue *q, size_t i,
    const struct deadline_entry *x)
{
	q->heap[i] = *x;
	x->d->pos = (uint32_t)(i + 1);
}

/* Moves the entry at i towards the root while it fires before its parent. */
static void
deadline_sift_up(struct deadline_queue *q, size_t i)
{
	struct deadline_entry	x = q->heap[i];
	size_t			parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (!deadline_before(&x, &q->heap[parent]))
			break;
		deadline_place(q, i, &q->heap[parent]);
		i = parent;
	}
	deadline_place(q, i, &x);
}

/* Moves the entry at i towards the leaves while a child fires before it. */
static void
deadline_sift_down(struct deadline_queue *q, size_t i)
{
	struct deadline_entry	x = q->heap[i];
	size_t			c, n = q->n;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && deadline_before(&q->heap[c + 1], &q->heap[c]))
			c++;
		if (!deadline_before(&q->heap[c], &x))
			break;
		deadline_place(q, i, &q->heap[c]);
		i = c;
	}
	deadline_place(q, i, &x);
}

/* Restores the heap around i after its key changed either way. */
static void
deadline_fix(struct deadline_queue *q, size_t i)
{
	if (i > 0 && deadline_before(&q->heap[i], &q->heap[(i - 1) / 2]))
		deadline_sift_up(q, i);
	else
		deadline_sift_down(q, i);
}

/* Gives the heap cap entries (grows, or shrinks when that is allowed). */
static bool
deadline_resize(struct deadline_queue *q, uint32_t cap)
{
	struct deadline_entry	*h;

	h = realloc(q->heap, (size_t)cap * sizeof *h);
	if (h == NULL)
		return (false);
	q->heap = h;
	q->cap = cap;
	return (true);
}

/* Takes the entry at i out of the heap; its owner is no longer armed. */
static void
deadline_remove_at(struct deadline_queue *q, size_t i)
{
	q->heap[i].d->pos = DEADLINE_IDLE;
	if (--q->n != i) {
		deadline_place(q, i, &q->heap[q->n]);
		deadline_fix(q, i);
	}
	/* A burst (a thousand workers stopping) does not keep its heap. */
	if (q->cap >= DEADLINE_CAP_SHRINK && q->n < q->cap / 4)
		deadline_resize(q, q->cap / 2);	/* a failure keeps the old */
}

/*
 * Arms the timer for the earliest deadline when that changed; stops it
 * when none is left.  Not while firing: the pass re-arms once at its end.
 */
static void
deadline_arm(struct deadline_queue *q)
{
	uint64_t	now, due;

	if (q->firing || !q->open)
		return;
	if (q->n == 0) {
		if (q->timer_armed) {
			uv_timer_stop(&q->timer);
			q->timer_armed = false;
		}
		return;
	}
	due = q->heap[0].due;
	if (q->timer_armed && q->timer_due == due)
		return;
	now = uv_now(q->loop);
	uv_timer_start(&q->timer, deadline_timer_cb, due > now ? due - now : 0,
	    0);
	q->timer_armed = true;
	q->timer_due = due;
}

void
deadline_queue_init(struct deadline_queue *q, uv_loop_t *loop)
{
	memset(q, 0, sizeof *q);
	q->loop = loop;
}

void
deadline_queue_open(struct deadline_queue *q)
{
	if (q->open)
		return;
	uv_timer_init(q->loop, &q->timer);
	q->open = true;
	deadline_arm(q);
}

void
deadline_queue_close(struct deadline_queue *q, uv_close_cb cb)
{
	if (!q->open)
		return;
	q->open = false;
	q->timer_armed = false;
	uv_close((uv_handle_t *)&q->timer, cb);
}

void
deadline_queue_free(struct deadline_queue *q)
{
	size_t	i;

	/* Owners outliving the queue see their deadline disarmed. */
	for (i = 0; i < q->n; i++)
		q->heap[i].d->pos = DEADLINE_IDLE;
	free(q->heap);
	q->heap = NULL;
	q->n = q->cap = 0;
}

/*
 * Fires every deadline due at now, earliest first.  Each is out of the
 * heap before its callback runs, and is never looked at again: the
 * callback may re-arm it, stop others, or free its owner.
 */
void
deadline_queue_run(struct deadline_queue *q, uint64_t now)
{
	struct deadline_entry	top;

	if (q->firing)
		return;
	q->firing = true;
	while (q->n != 0 && q->heap[0].due <= now) {
		top = q->heap[0];
		deadline_remove_at(q, 0);
		top.cb(top.d);
	}
	q->firing = false;
	deadline_arm(q);
}

static void
deadline_timer_cb(uv_timer_t *h)
{
	struct deadline_queue	*q = container_of(h, struct deadline_queue,
				    timer);

	q->timer_armed = false;
	deadline_queue_run(q, uv_now(q->loop));
}

void
deadline_start(struct deadline_queue *q, struct deadline *d, uint64_t ms,
    deadline_cb cb)
{
	struct deadline_entry	x;
	uint64_t		now = uv_now(q->loop);

	x.due = ms > UINT64_MAX - now ? UINT64_MAX : now + ms;
	x.seq = q->next_seq++;
	x.d = d;
	x.cb = cb;
	if (d->pos != DEADLINE_IDLE) {
		/* Moved: now armed after every equal due time. */
		deadline_place(q, d->pos - 1, &x);
		deadline_fix(q, d->pos - 1);
	} else {
		if (q->n == q->cap && (q->cap >= UINT32_MAX / 2 ||
		    !deadline_resize(q, q->cap != 0 ? q->cap * 2 :
		    DEADLINE_CAP_MIN))) {
			fprintf(stderr, "pooltop: out of memory "
			    "(%u deadlines)\n", q->n);
			abort();
		}
		deadline_place(q, q->n++, &x);
		deadline_sift_up(q, q->n - 1);
	}
	deadline_arm(q);
}

void
deadline_stop(struct deadline_queue *q, struct deadline *d)
{
	if (d->pos == DEADLINE_IDLE)
		return;
	deadline_remove_at(q, d->pos - 1);
	deadline_arm(q);
}

uint64_t
deadline_due(const struct deadline_queue *q, const struct deadline *d)
{
	return (d->pos != DEADLINE_IDLE ? q->heap[d->pos - 1].due : 0);
}
