/*
 * A pool: its slots and their restarts, the task queue, dispatch through
 * the balancer, sticky keys, timeouts, broadcasts, and what the
 * dashboard and the commands layer read and do.
 *
 * Tasks: pool_send() places a task at once when the queue is empty and a
 * worker has room (the common case, no queue traffic), else queues it
 * FIFO.  A task with a key goes to the worker its key is pinned to; when
 * that worker is full the task waits in the worker's own list, so it
 * does not hold up the pool's queue.  A task ends exactly once: its
 * callback is called from engine_drain(), never from inside pool_send().
 *
 * Timeouts run from pool_send() (queue time included).  A task that
 * times out while in flight is answered at once with the timeout error,
 * but keeps its place on its worker (which is still working on it) until
 * the late reply comes, which is then dropped, or the worker dies.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine-internal.h"
#include "pooltop/sampler.h"
#include "lock.h"
#include "proto.h"

static void	pool_timer_cb(uv_timer_t *);
static void	slot_restart_cb(struct deadline *);
static void	pool_maybe_spawn(struct pool *);
static int	slot_spawn(struct slot *);
static void	slot_spawn_or_backoff(struct slot *);
static void	slot_spawn_failed(struct slot *);
static void	slot_after_exit(struct slot *, enum stop_why, bool failure,
		    const char *what, uint64_t uptime);

/* "5 s" or "250 ms". */
static const char *
fmt_ms(char *buf, size_t len, uint64_t ms)
{
	if (ms >= 1000 && ms % 1000 == 0)
		snprintf(buf, len, "%llu s", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llu ms", (unsigned long long)ms);
	return (buf);
}

/* ---- events and log lines ------------------------------------------------ */

/* Fills the pool/slot/worker part of an event and hands it to listeners. */
void
pool_emit(struct pool *p, enum pool_event_type type, struct slot *s,
    struct worker *w, struct pool_event *ev)
{
	struct pool_event	local;

	if (!engine_listened(p->engine))
		return;
	if (ev == NULL) {
		memset(&local, 0, sizeof local);
		ev = &local;
	}
	ev->type = type;
	ev->pool = p;
	ev->pool_name = p->spec.name;
	ev->slot = s != NULL ? s->index : -1;
	if (ev->pid == 0 && w != NULL)
		ev->pid = w->pid;
	if (w != NULL)
		ev->state = w->state;
	else if (s != NULL)
		ev->state = s->failed ? WORKER_FAILED : WORKER_EXITED;
	engine_emit(p->engine, ev);
}

/* A line in a slot's log ring, and a POOL_EV_LOG event. */
void
pool_log_line(struct slot *s, struct worker *w, enum log_stream stream,
    const char *text, size_t len)
{
	struct pool_event	ev;
	uint64_t		now = engine_now_ms(s->pool->engine);

	if (len > ENGINE_LOG_LINE_MAX)
		len = ENGINE_LOG_LINE_MAX;
	ring_log_push(s->log, now, (int)stream, text, len);
	if (s->pool->log != NULL)
		pool_log_write(s, stream, text, len, now);
	if (!engine_listened(s->pool->engine))
		return;
	memset(&ev, 0, sizeof ev);
	ev.text = text;
	ev.text_len = len;
	ev.stream = stream;
	ev.time_ms = now;
	pool_emit(s->pool, POOL_EV_LOG, s, w, &ev);
}

/*
 * Something pooltop has to say about a worker or the pool: a line from
 * stream LOG_POOLTOP in the slot's log (when there is a slot) and a
 * POOL_EV_NOTICE event built on ev (the caller's extra fields).
 */
void
pool_vnote(struct pool *p, struct slot *s, struct worker *w,
    struct pool_event *ev, const char *fmt, va_list ap)
{
	char	text[1024];
	int	n;

	n = vsnprintf(text, sizeof text, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof text)
		n = sizeof text - 1;
	if (s != NULL)
		ring_log_push(s->log, engine_now_ms(p->engine), LOG_POOLTOP,
		    text, (size_t)n);
	ev->text = text;
	ev->text_len = (size_t)n;
	ev->stream = LOG_POOLTOP;
	pool_emit(p, POOL_EV_NOTICE, s, w, ev);
}

/* pool_vnote with no extra fields. */
void
pool_note(struct pool *p, struct slot *s, struct worker *w,
    const char *fmt, ...)
{
	struct pool_event	ev;
	va_list			ap;

	memset(&ev, 0, sizeof ev);
	va_start(ap, fmt);
	pool_vnote(p, s, w, &ev, fmt, ap);
	va_end(ap);
}

/* A pooltop line in the slot's log only (no event). */
void
pool_slot_log(struct slot *s, const char *fmt, ...)
{
	char	text[1024];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof text)
		n = sizeof text - 1;
	ring_log_push(s->log, engine_now_ms(s->pool->engine), LOG_POOLTOP,
	    text, (size_t)n);
}

/* ---- balancer view ------------------------------------------------------- */

/*
 * The balancer's view of the slots is updated lazily: a change marks the
 * slot, and the marked slots are told to the balancer right before the
 * next pick, only when their view really changed.  A reply followed by a
 * new task for the same worker (the common case under load) thus costs
 * no balancer update at all.
 *
 * A task out or back only moves the worker's count (pool_slot_in_flight):
 * such a mark (BAL_COUNT) is synced by comparing that count alone.  Every
 * other change the balancer sees (live, asleep, cpu, rss, the slot's
 * worker) marks the slot in full (pool_slot_update, BAL_FULL), and a full
 * mark wins over a count mark of the same slot.
 */
static void
pool_bal_mark(struct pool *p, unsigned i)
{
	if (i >= p->bal_cap || p->bal_flag[i] == BAL_FULL)
		return;
	if (p->bal_flag[i] == BAL_NONE)
		p->bal_list[p->nbal_list++] = i;
	p->bal_flag[i] = BAL_FULL;
}

/* The worker's slot changed in a way the balancer may care about. */
void
pool_slot_update(struct pool *p, struct worker *w)
{
	pool_bal_mark(p, (unsigned)w->slot->index);
}

/* Tells the balancer a slot has no worker. */
static void
pool_slot_clear(struct pool *p, struct slot *s)
{
	pool_bal_mark(p, (unsigned)s->index);
}

/* Tells the balancer one slot's view, read in full. */
static void
pool_bal_sync_full(struct pool *p, unsigned i)
{
	struct balance_slot	*seen;
	struct slot		*s;
	struct worker		*w;
	unsigned		 in_flight = 0;
	bool			 live = false, asleep = false;
	double			 cpu = 0;
	uint64_t		 rss = 0;

	s = i < p->nslots ? p->slots[i] : NULL;
	w = s != NULL && !s->removing ? s->w : NULL;
	if (w != NULL && !w->exited) {
		live = worker_takes_tasks(w);
		asleep = w->sleeping;
		in_flight = w->in_flight;
		cpu = w->cpu;
		rss = w->rss;
	}
	seen = &p->bal_seen[i];
	if (seen->capacity == p->spec.parallel_jobs &&
	    seen->live == live && seen->asleep == asleep &&
	    seen->cpu == cpu && seen->rss == rss) {
		/* The common change: a task out or back. */
		if (seen->in_flight != in_flight) {
			seen->in_flight = in_flight;
			balancer_set_in_flight(p->bal, i, in_flight);
		}
		return;
	}
	seen->live = live;
	seen->asleep = asleep;
	seen->in_flight = in_flight;
	seen->capacity = p->spec.parallel_jobs;
	seen->cpu = cpu;
	seen->rss = rss;
	balancer_update(p->bal, i, seen);
}

/* Brings the balancer up to date with the marked slots. */
static void
pool_bal_sync(struct pool *p)
{
	struct slot	*s;
	struct worker	*w;
	unsigned	 i, k;
	uint8_t		 flag;

	for (k = 0; k < p->nbal_list; k++) {
		i = p->bal_list[k];
		flag = p->bal_flag[i];
		p->bal_flag[i] = BAL_NONE;
		if (i >= p->spec.workers)
			continue;
		/*
		 * Only the count moved (nothing else marked the slot since
		 * the last sync): the rest of what the balancer was told is
		 * still true.  A slot without its worker is read in full.
		 */
		if (flag == BAL_COUNT && i < p->nslots &&
		    (s = p->slots[i]) != NULL && !s->removing &&
		    (w = s->w) != NULL && !w->exited) {
			if (p->bal_seen[i].in_flight != w->in_flight) {
				p->bal_seen[i].in_flight = w->in_flight;
				balancer_set_in_flight(p->bal, i,
				    w->in_flight);
			}
			continue;
		}
		pool_bal_sync_full(p, i);
	}
	p->nbal_list = 0;
}

/* Forgets what the balancer was told about slots from i on (resize). */
static void
pool_bal_forget(struct pool *p, unsigned from)
{
	unsigned	i;

	for (i = from; i < p->bal_cap; i++) {
		memset(&p->bal_seen[i], 0, sizeof p->bal_seen[i]);
		pool_bal_mark(p, i);
	}
}

/* Makes room for n slots in the balancer bookkeeping. */
static void
pool_bal_grow(struct pool *p, unsigned n)
{
	unsigned	i;

	if (n <= p->bal_cap)
		return;
	p->bal_flag = realloc(p->bal_flag, n * sizeof *p->bal_flag);
	p->bal_list = realloc(p->bal_list, n * sizeof *p->bal_list);
	p->bal_seen = realloc(p->bal_seen, n * sizeof *p->bal_seen);
	if (p->bal_flag == NULL || p->bal_list == NULL || p->bal_seen == NULL)
		abort();
	for (i = p->bal_cap; i < n; i++) {
		p->bal_flag[i] = BAL_NONE;
		memset(&p->bal_seen[i], 0, sizeof p->bal_seen[i]);
	}
	p->bal_cap = n;
}

/* A pick with the balancer's view brought up to date first. */
static int
pool_pick(struct pool *p, const void *key, size_t key_len)
{
	if (p->nbal_list != 0)
		pool_bal_sync(p);
	return (balancer_pick(p->bal, key, key_len));
}

/* ---- tasks --------------------------------------------------------------- */

/*
 * Frees a task whose callback ran (or never will).  Small tasks go back
 * to the engine's cache of blocks: under load, tasks are made and freed
 * in batches too large for malloc's per-thread cache.
 */
void
pool_task_free(struct task *t)
{
	struct engine	*e = t->pool->engine;

	if (t->err_owned)
		free(t->err);
	if (t->small && e->ntask_cache < ENGINE_TASK_CACHE) {
		*(void **)t = e->task_cache;
		e->task_cache = t;
		e->ntask_cache++;
		return;
	}
	free(t);
}

/* Releases the task's hold on its sticky key. */
static void
pin_unref(struct task *t)
{
	struct pin	*pin = t->pin;

	if (pin == NULL)
		return;
	t->pin = NULL;
	if (--pin->refs == 0 && pin->w == NULL)
		free(pin);
}

static void
heap_swap(struct task **h, size_t a, size_t b)
{
	struct task	*t = h[a];

	h[a] = h[b];
	h[b] = t;
	h[a]->heap_idx = a;
	h[b]->heap_idx = b;
}

static void
heap_up(struct task **h, size_t i)
{
	while (i > 0 && h[(i - 1) / 2]->deadline > h[i]->deadline) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(struct task **h, size_t n, size_t i)
{
	size_t	l, r, m;

	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < n && h[l]->deadline < h[m]->deadline)
			m = l;
		if (r < n && h[r]->deadline < h[m]->deadline)
			m = r;
		if (m == i)
			return;
		heap_swap(h, i, m);
		i = m;
	}
}

/* Arms the pool's one timeout timer for the earliest deadline. */
static void
pool_timer_arm(struct pool *p)
{
	uint64_t	now, due;

	if (p->nheap == 0) {
		if (p->timer_open)
			uv_timer_stop(&p->timer);
		return;
	}
	if (!p->timer_open) {
		uv_timer_init(p->engine->loop, &p->timer);
		p->timer.data = p;
		p->timer_open = true;
		p->engine->nhandles++;
	}
	now = uv_now(p->engine->loop);
	due = p->heap[0]->deadline;
	uv_timer_start(&p->timer, pool_timer_cb, due > now ? due - now : 0, 0);
}

static void
heap_push(struct pool *p, struct task *t)
{
	if (p->nheap == p->heap_cap) {
		size_t		cap = p->heap_cap != 0 ? p->heap_cap * 2 : 64;
		struct task	**h = realloc(p->heap, cap * sizeof *h);

		if (h == NULL)
			abort();
		p->heap = h;
		p->heap_cap = cap;
	}
	t->heap_idx = p->nheap;
	p->heap[p->nheap++] = t;
	heap_up(p->heap, t->heap_idx);
	if (t->heap_idx == 0)
		pool_timer_arm(p);
}

static void
heap_remove(struct pool *p, struct task *t)
{
	size_t	i = t->heap_idx;

	if (i == SIZE_MAX)
		return;
	t->heap_idx = SIZE_MAX;
	if (--p->nheap != i) {
		p->heap[i] = p->heap[p->nheap];
		p->heap[i]->heap_idx = i;
		heap_down(p->heap, p->nheap, i);
		heap_up(p->heap, i);
	}
	if (i == 0)
		pool_timer_arm(p);
}

/*
 * Ends a task: its callback is due (engine_drain calls it).  data is
 * the result, or the error message (copied, NUL-terminated).
 */
void
pool_task_finish(struct task *t, bool ok, const void *data, size_t len)
{
	struct pool	*p = t->pool;
	struct engine	*e = p->engine;

	if (t->heap_idx != SIZE_MAX)
		heap_remove(p, t);
	pin_unref(t);
	t->ok = ok;
	if (ok) {
		t->res = data;
		t->res_len = len;
	} else {
		t->err = engine_xalloc(len + 1);
		memcpy(t->err, data, len);
		t->err[len] = '\0';
		t->err_owned = true;
		t->res = t->err;
		t->res_len = len;
	}
	if (t->w != NULL) {
		t->ran_slot = t->w->slot->index;
		t->ran_pid = t->w->pid;
		if (ok)
			t->w->slot->tasks_done++;
		else
			t->w->slot->tasks_failed++;
	}
	if (ok)
		p->tasks_done++;
	else
		p->tasks_failed++;
	t->where = TASK_DONE;
	TAILQ_INSERT_TAIL(&e->done, t, link);
}

/* Ends a task with an error text it takes ownership of. */
void
pool_task_fail(struct task *t, char *text)
{
	pool_task_finish(t, false, "", 0);
	free(t->err);
	t->err = text;
	t->res = text;
	t->res_len = strlen(text);
}

void
pool_task_fail_static(struct task *t, const char *text)
{
	pool_task_finish(t, false, text, strlen(text));
}

/*
 * A task that timed out in flight left its worker's table (its late
 * reply came, or the worker died): its grace deadline goes, and it is
 * freed unless its callback is still due (engine_drain frees it then).
 */
void
pool_task_late_end(struct task *t)
{
	heap_remove(t->pool, t);
	if (t->where == TASK_DONE && t->cb == NULL)
		pool_task_free(t);
}

/* Puts a task back at the head of the queue (its worker left). */
void
pool_task_requeue_front(struct pool *p, struct task *t)
{
	pin_unref(t);
	t->w = NULL;
	t->where = TASK_QUEUED;
	TAILQ_INSERT_HEAD(&p->queue, t, link);
	p->nqueued++;
}

/* POOL_EV_TASK_STARTED. */
void
pool_task_started(struct pool *p, struct task *t)
{
	struct pool_event	ev;

	memset(&ev, 0, sizeof ev);
	ev.task_id = t->id;
	ev.task_name = t->name;
	ev.payload = t->payload;
	ev.payload_len = t->len;
	pool_emit(p, POOL_EV_TASK_STARTED, t->w->slot, t->w, &ev);
}

/* POOL_EV_TASK_FINISHED, from engine_drain right before the callback. */
void
pool_task_finished_event(struct task *t)
{
	struct pool		*p = t->pool;
	struct pool_event	 ev;
	struct slot		*s = NULL;

	memset(&ev, 0, sizeof ev);
	ev.task_id = t->id;
	ev.task_name = t->name;
	ev.payload = t->payload;
	ev.payload_len = t->len;
	ev.ok = t->ok;
	ev.result = t->res;
	ev.result_len = t->res_len;
	if (t->sent_ns != 0)
		ev.latency_us = (uv_hrtime() - t->sent_ns) / 1000;
	ev.pid = t->ran_pid;
	if (t->ran_slot >= 0 && (unsigned)t->ran_slot < p->nslots)
		s = p->slots[t->ran_slot];
	if (!t->ok) {
		ev.text = t->res;
		ev.text_len = t->res_len;
	}
	pool_emit(p, POOL_EV_TASK_FINISHED, s, NULL, &ev);
}

/* Where the last handshake lists this task name, or -1. */
static long
pool_served_index(const struct pool *p, const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < p->nserved; i++) {
		if (p->served_len[i] == len &&
		    proto_bytes_eq(p->served[i], name, len))
			return ((long)i);
	}
	return (-1);
}

/* pool_serves() past its first guess: the whole list; remembers the match. */
static __attribute__((noinline)) bool
pool_serves_scan(struct pool *p, const char *name, size_t len)
{
	long	i;

	if ((i = pool_served_index(p, name, len)) < 0)
		return (false);
	p->served_hint = (size_t)i;
	return (true);
}

/*
 * Does the last handshake list this task name?  The name found last is
 * tried first: a pool is mostly sent the same few names in a row.
 */
static inline bool
pool_serves(struct pool *p, const char *name, size_t len)
{
	size_t	h = p->served_hint;

	if (h < p->nserved && p->served_len[h] == len &&
	    proto_bytes_eq(p->served[h], name, len))
		return (true);
	return (pool_serves_scan(p, name, len));
}

/* `task "x" not served by pool "web" (served: a, b)` */
static char *
pool_unserved_text(const struct pool *p, const char *name)
{
	size_t	i, len = 0;
	char	*list, *text;

	for (i = 0; i < p->nserved; i++)
		len += strlen(p->served[i]) + 2;
	list = engine_xalloc(len + 1);
	list[0] = '\0';
	for (i = 0; i < p->nserved; i++) {
		if (i != 0)
			strcat(list, ", ");
		strcat(list, p->served[i]);
	}
	text = engine_xprintf("task \"%s\" not served by pool \"%s\" "
	    "(served: %s)", name, p->spec.name, p->nserved != 0 ? list :
	    "none");
	free(list);
	return (text);
}

int
pool_task_served(const struct pool *p, const char *name)
{
	if (p == NULL || name == NULL)
		return (-EINVAL);
	if (!p->handshaken)
		return (-EAGAIN);
	return (pool_served_index(p, name, strlen(name)) >= 0 ? 1 : 0);
}

/* ---- sticky keys --------------------------------------------------------- */

static uint64_t
key_hash(const void *key, size_t len)
{
	const uint8_t	*k = key;
	uint64_t	 h = 1469598103934665603ULL;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= k[i];
		h *= 1099511628211ULL;
	}
	return (h);
}

static struct pin *
pin_find(struct pool *p, const struct task *t)
{
	struct pin	*pin;

	if (p->npin_buckets == 0)
		return (NULL);
	pin = p->pins[t->key_hash & (p->npin_buckets - 1)];
	for (; pin != NULL; pin = pin->next) {
		if (pin->hash == t->key_hash && pin->key_len == t->key_len &&
		    memcmp(pin->key, t->key, t->key_len) == 0) {
			TAILQ_REMOVE(&p->pin_lru, pin, lru);
			TAILQ_INSERT_TAIL(&p->pin_lru, pin, lru);
			return (pin);
		}
	}
	return (NULL);
}

/* Takes a pin out of the hash, the LRU and its worker's list. */
static void
pin_unlink(struct pool *p, struct pin *pin)
{
	struct pin	**pp;

	pp = &p->pins[pin->hash & (p->npin_buckets - 1)];
	while (*pp != pin)
		pp = &(*pp)->next;
	*pp = pin->next;
	TAILQ_REMOVE(&p->pin_lru, pin, lru);
	if (pin->w != NULL)
		LIST_REMOVE(pin, wlink);
	pin->w = NULL;
	p->npins--;
	if (pin->refs == 0)
		free(pin);
}

static void
pin_rehash(struct pool *p)
{
	size_t		 n = p->npin_buckets != 0 ? p->npin_buckets * 2 : 64, i;
	struct pin	**b, *pin, *next;

	b = engine_xalloc(n * sizeof *b);
	memset(b, 0, n * sizeof *b);
	for (i = 0; i < p->npin_buckets; i++) {
		for (pin = p->pins[i]; pin != NULL; pin = next) {
			next = pin->next;
			pin->next = b[pin->hash & (n - 1)];
			b[pin->hash & (n - 1)] = pin;
		}
	}
	free(p->pins);
	p->pins = b;
	p->npin_buckets = n;
}

/* The first sticky key a pool forgets is worth a NOTICE (once). */
static void
pin_forgot(struct pool *p)
{
	if (p->pins_forgetting)
		return;
	p->pins_forgetting = true;
	pool_note(p, NULL, NULL, "more than %u sticky keys; the least "
	    "recently used are forgotten from now on (a forgotten key's next "
	    "task may go to another worker)", (unsigned)ENGINE_PIN_MAX);
}

/*
 * Pins the task's key to w (creating the pin, or moving it from a worker
 * that no longer takes tasks).  Past ENGINE_PIN_MAX keys the least
 * recently used key with no task out is forgotten.
 */
static void
pin_attach(struct pool *p, struct task *t, struct worker *w)
{
	struct pin	*pin = pin_find(p, t), *old;

	if (pin == NULL) {
		if (p->npins + 1 > p->npin_buckets)
			pin_rehash(p);
		pin = engine_xalloc(sizeof *pin + t->key_len);
		memset(pin, 0, sizeof *pin);
		pin->hash = t->key_hash;
		pin->key_len = t->key_len;
		memcpy(pin->key, t->key, t->key_len);
		pin->next = p->pins[pin->hash & (p->npin_buckets - 1)];
		p->pins[pin->hash & (p->npin_buckets - 1)] = pin;
		TAILQ_INSERT_TAIL(&p->pin_lru, pin, lru);
		p->npins++;
		if (p->npins > ENGINE_PIN_MAX) {
			TAILQ_FOREACH(old, &p->pin_lru, lru) {
				if (old != pin && old->refs == 0) {
					pin_unlink(p, old);
					pin_forgot(p);
					break;
				}
			}
		}
	}
	if (pin->w != w) {
		if (pin->w != NULL)
			LIST_REMOVE(pin, wlink);
		pin->w = w;
		LIST_INSERT_HEAD(&w->pins, pin, wlink);
	}
	pin->refs++;
	t->pin = pin;
}

/* The worker is gone: its keys are free to be pinned again. */
void
pool_drop_pins(struct pool *p, struct worker *w)
{
	struct pin	*pin;

	while ((pin = LIST_FIRST(&w->pins)) != NULL)
		pin_unlink(p, pin);
}

/* ---- dispatch ------------------------------------------------------------ */

/*
 * Why the pool cannot serve a task now nor later, or NULL when a worker
 * is ready, starting, due to restart, or can be spawned on demand.
 */
static const char *
pool_serve_block(struct pool *p)
{
	unsigned	i;
	struct slot	*s;

	if (p->ready != 0 || p->starting != 0)
		return (NULL);
	if (p->stopping)
		return ("pool stopping");
	for (i = 0; i < p->nslots; i++) {
		s = p->slots[i];
		if (s != NULL && deadline_armed(&s->restart_deadline) &&
		    !p->failed)
			return (NULL);
	}
	if (p->spec.mode == POOL_MODE_SERVICE) {
		snprintf(p->errbuf, sizeof p->errbuf, "pool \"%s\" runs "
		    "services, which take no tasks", p->spec.name);
		return (p->errbuf);
	}
	if (p->failed)
		return (p->failure);
	for (i = 0; i < p->spec.workers; i++) {
		s = i < p->nslots ? p->slots[i] : NULL;
		if (s == NULL || (s->w == NULL && !s->failed && !s->removing &&
		    !s->no_respawn))
			return (NULL);
		/*
		 * Stopping to be replaced (restart, reload), or ending by a
		 * signal sent by request (restarted per the policy): one
		 * comes, or pool_worker_gone() ends the tasks then.
		 */
		if (s->w != NULL && s->w->stopping && !s->removing &&
		    (s->w->stop_why == STOP_RESTART ||
		    s->w->stop_why == STOP_RELOAD ||
		    (s->w->stop_why == STOP_NONE &&
		    p->spec.restart != POOL_RESTART_NEVER)))
			return (NULL);
	}
	if (p->live != 0) {
		snprintf(p->errbuf, sizeof p->errbuf, "pool \"%s\" has no "
		    "worker that answered the handshake: its processes run as "
		    "services, which take no tasks", p->spec.name);
		return (p->errbuf);
	}
	snprintf(p->errbuf, sizeof p->errbuf, "pool \"%s\" has no worker "
	    "left and will not start one (restart policy)", p->spec.name);
	return (p->errbuf);
}

/* Ends every queued task when nothing will ever take them. */
void
pool_check_serve(struct pool *p)
{
	const char	*why;
	struct task	*t;

	if (p->nqueued == 0 || (why = pool_serve_block(p)) == NULL)
		return;
	while ((t = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, t, link);
		p->nqueued--;
		pool_task_fail(t, engine_xstrdup(why));
	}
}

/*
 * A retried task whose worker died in slot avoid goes to another slot's
 * worker while one takes tasks (it waits for room there); only when no
 * other does may it go back to avoid.  The balancer is shown avoid as
 * not live for this one pick.
 */
static int
pool_pick_other(struct pool *p, const struct task *t, int avoid)
{
	struct balance_slot	 off;
	struct slot		*s;
	unsigned		 i;
	int			 r;

	for (i = 0; i < p->nslots && i < p->spec.workers; i++) {
		s = p->slots[i];
		if ((int)i != avoid && s != NULL && !s->removing &&
		    worker_takes_tasks(s->w))
			break;
	}
	if (i == p->nslots || i >= p->spec.workers)
		return (avoid);
	off = p->bal_seen[avoid];
	off.live = false;
	balancer_update(p->bal, (unsigned)avoid, &off);
	r = balancer_pick(p->bal, t->key, t->key_len);
	balancer_update(p->bal, (unsigned)avoid, &p->bal_seen[avoid]);
	return (r);
}

/*
 * Hands queued tasks to workers, FIFO, until the balancer finds no
 * worker with room.  Keyed tasks whose key is pinned go to their
 * worker's own list instead of waiting here.
 */
void
pool_dispatch(struct pool *p)
{
	struct task	*t;
	struct worker	*w;
	struct pin	*pin;
	int		 i;

	if (p->dispatching)
		return;
	p->dispatching = true;
	while ((t = TAILQ_FIRST(&p->queue)) != NULL) {
		if (p->handshaken && !pool_serves(p, t->name, t->name_len)) {
			TAILQ_REMOVE(&p->queue, t, link);
			p->nqueued--;
			pool_task_fail(t, pool_unserved_text(p, t->name));
			continue;
		}
		if (t->key_len != 0 && (pin = pin_find(p, t)) != NULL &&
		    worker_takes_tasks(pin->w)) {
			TAILQ_REMOVE(&p->queue, t, link);
			p->nqueued--;
			pin_attach(p, t, pin->w);
			worker_assign(pin->w, t);
			continue;
		}
		i = pool_pick(p, t->key, t->key_len);
		if (i >= 0 && i == t->avoid_slot)
			i = pool_pick_other(p, t, i);
		if (i < 0)
			break;
		w = (unsigned)i < p->nslots && p->slots[i] != NULL ?
		    p->slots[i]->w : NULL;
		if (!worker_takes_tasks(w) ||
		    w->in_flight >= p->spec.parallel_jobs) {
			/* The balancer's view was stale: resend it, stop. */
			if ((unsigned)i < p->bal_cap) {
				memset(&p->bal_seen[i], 0,
				    sizeof p->bal_seen[i]);
				pool_bal_mark(p, (unsigned)i);
				pool_bal_sync(p);
			}
			break;
		}
		TAILQ_REMOVE(&p->queue, t, link);
		p->nqueued--;
		if (t->key_len != 0)
			pin_attach(p, t, w);
		worker_start_task(w, t);
	}
	p->dispatching = false;
	if (p->nqueued != 0)
		pool_maybe_spawn(p);
}

/* Ends queued tasks whose name the (new) handshake does not list. */
static void
pool_drop_unserved(struct pool *p)
{
	struct task	*t, *next;

	for (t = TAILQ_FIRST(&p->queue); t != NULL; t = next) {
		next = TAILQ_NEXT(t, link);
		if (pool_serves(p, t->name, t->name_len))
			continue;
		TAILQ_REMOVE(&p->queue, t, link);
		p->nqueued--;
		pool_task_fail(t, pool_unserved_text(p, t->name));
	}
}

/* Records the task names of a handshake (workers of a pool run one program). */
void
pool_set_served(struct pool *p, const struct proto_msg *m)
{
	const char	*name;
	size_t		 pos = 0, len, i;

	for (i = 0; i < p->nserved; i++)
		free(p->served[i]);
	free(p->served);
	free(p->served_len);
	p->served = engine_xalloc((m->ntasks + 1) * sizeof *p->served);
	p->served_len = engine_xalloc((m->ntasks + 1) *
	    sizeof *p->served_len);
	p->nserved = 0;
	p->served_hint = 0;
	while (proto_hello_next(m, &pos, &name, &len) == 1) {
		p->served_len[p->nserved] = len;
		p->served[p->nserved] = engine_xalloc(len + 1);
		memcpy(p->served[p->nserved], name, len);
		p->served[p->nserved][len] = '\0';
		p->nserved++;
	}
	p->handshaken = true;
	pool_drop_unserved(p);
}

/* ---- slots and their processes ------------------------------------------- */

/* A scheduled restart is off. */
static void
slot_cancel_restart(struct slot *s)
{
	deadline_stop(&s->pool->engine->deadlines, &s->restart_deadline);
}

static struct slot *
slot_new(struct pool *p, unsigned index)
{
	struct slot	*s;
	unsigned	 n = p->spec.max_restarts != 0 ?
			    p->spec.max_restarts : 1;

	s = engine_xalloc(sizeof *s);
	memset(s, 0, sizeof *s);
	s->pool = p;
	s->index = (int)index;
	s->log = ring_log_new(p->spec.log_lines, ENGINE_LOG_LINE_MAX + 4);
	if (s->log == NULL)
		abort();
	s->weight = index < p->spec.nweights ? p->spec.weights[index] : 1;
	s->backoff_ms = p->spec.backoff_initial_ms;
	s->exits = engine_xalloc(n * sizeof *s->exits);
	if (index < p->spec.workers)
		balancer_set_weight(p->bal, index, s->weight);
	return (s);
}

static void
slot_free(struct slot *s)
{
	if (s == NULL)
		return;
	slot_cancel_restart(s);
	ring_log_free(s->log);
	free(s->exits);
	free(s);
}

/* Gets the slot at index, creating it (and growing the array). */
static struct slot *
pool_slot(struct pool *p, unsigned index)
{
	if (index >= p->nslots) {
		unsigned	 n = index + 1;
		struct slot	**a = realloc(p->slots, n * sizeof *a);

		if (a == NULL)
			abort();
		memset(a + p->nslots, 0, (n - p->nslots) * sizeof *a);
		p->slots = a;
		p->nslots = n;
		pool_bal_grow(p, n);
	}
	if (p->slots[index] == NULL)
		p->slots[index] = slot_new(p, index);
	return (p->slots[index]);
}

/* Starts a process in the slot; 0 or -errno (text in engine_error()). */
static int
slot_spawn(struct slot *s)
{
	struct pool	*p = s->pool;
	struct engine	*e = p->engine;
	struct worker	*w;
	int		 r;

	r = worker_spawn(s, &w);
	e->spawn_errno = -r;
	if (r != 0)
		return (r);
	s->w = w;
	if (s->spawned++ != 0)
		s->restarts++;
	p->live++;
	if (w->protocol) {
		p->starting++;
		w->cnt_starting = true;
	}
	pool_slot_log(s, "started pid %d", (int)w->pid);
	if (e->sampler != NULL &&
	    (r = sampler_add(e->sampler, w->pid, p->spec.tree)) != 0) {
		char	label[300];

		pool_note(p, s, w, "%s: pid %d is not sampled (no CPU, memory "
		    "nor memory_limit for it): %s%s", worker_label(w, label,
		    sizeof label), (int)w->pid, strerror(-r), r == -EMFILE ||
		    r == -ENFILE ? " (verify if you hit the OS open files "
		    "limit)" : "");
	}
	pool_emit(p, POOL_EV_SPAWNED, s, w, NULL);
	if (!w->protocol && !w->exited) {
		w->state = WORKER_IDLE;
		pool_slot_log(s, "running as a service");
		pool_emit(p, POOL_EV_READY, s, w, NULL);
	}
	return (0);
}

/*
 * A start failed: said in the slot's log, then handled like a crash,
 * except that a lack of descriptors, processes or memory is not counted
 * towards the crash loop: the slot backs off and retries until the
 * limit is lifted.
 */
static void
slot_spawn_failed(struct slot *s)
{
	struct pool	*p = s->pool;
	char		 text[512];
	int		 error = p->engine->spawn_errno;

	snprintf(text, sizeof text, "%s", p->engine->error);
	pool_note(p, s, NULL, "%s", text);
	slot_after_exit(s, error == EMFILE || error == ENFILE ||
	    error == EAGAIN || error == ENOMEM ? STOP_LIMIT : STOP_NONE, true,
	    text, 0);
	pool_check_serve(p);
}

/* Starts a process; a failure is handled like a crash (backoff, crash loop). */
static void
slot_spawn_or_backoff(struct slot *s)
{
	if (slot_spawn(s) != 0)
		slot_spawn_failed(s);
}

/* Marks the pool failed: no more restarts; tasks nobody can take end. */
static void
pool_fail(struct pool *p, struct slot *why, char *text)
{
	struct pool_event	ev;
	unsigned		i;
	struct slot		*s;

	p->failed = true;
	free(p->failure);
	p->failure = text;
	for (i = 0; i < p->nslots; i++) {
		s = p->slots[i];
		if (s == NULL || s->w != NULL)
			continue;
		s->failed = true;
		slot_cancel_restart(s);
	}
	if (why != NULL)
		pool_slot_log(why, "%s", text);
	memset(&ev, 0, sizeof ev);
	ev.text = text;
	ev.text_len = strlen(text);
	pool_emit(p, POOL_EV_FAILED, NULL, NULL, &ev);
	pool_check_serve(p);
}

/* Frees a slot scaled away (slot_free stops its restart deadline). */
static void
slot_remove(struct slot *s)
{
	struct pool	*p = s->pool;

	p->slots[s->index] = NULL;
	slot_free(s);
}

/* A slot scaled away goes once no process of it is left (reload.c). */
static void
slot_remove_if_done(struct slot *s)
{
	if (s->w == NULL && s->others == 0)
		slot_remove(s);
}

/*
 * Starts a process in an empty slot now (reload.c), clearing a failure
 * and the crash count as a restart by hand does.  A failed start is
 * handled like a crash; returns 0 or -errno (text in engine_error()).
 */
int
pool_slot_start(struct slot *s)
{
	struct pool	*p = s->pool;
	int		 r;

	if (s->w != NULL)
		return (0);
	slot_cancel_restart(s);
	s->failed = false;
	s->no_respawn = false;
	s->nexits = 0;
	s->exits_head = 0;
	s->backoff_ms = p->spec.backoff_initial_ms;
	if (p->failed) {
		p->failed = false;
		free(p->failure);
		p->failure = NULL;
	}
	if ((r = slot_spawn(s)) != 0)
		slot_spawn_failed(s);
	return (r);
}

/*
 * After a worker left the slot (or could not start): restart per the
 * policy, with exponential backoff (reset by a run of ENGINE_STABLE_MS
 * or more); max_restarts exits within restart_window_ms is a crash loop
 * and fails the pool.
 */
static void
slot_after_exit(struct slot *s, enum stop_why why, bool failure,
    const char *what, uint64_t uptime)
{
	struct pool		*p = s->pool;
	struct engine		*e = p->engine;
	const struct pool_spec	*spec = &p->spec;
	struct pool_event	 ev;
	uint64_t		 now, delay;
	unsigned		 i, n, cap, recent = 0;
	char			 win[32], label[300];

	if (p->stopping || e->stopping)
		return;
	if (s->removing) {
		slot_remove_if_done(s);
		return;
	}
	if (why == STOP_RELOAD)
		return;		/* the reload (restart) starts it again */
	if (why == STOP_RESTART) {
		s->backoff_ms = spec->backoff_initial_ms;
		slot_spawn_or_backoff(s);
		return;
	}
	if (spec->restart == POOL_RESTART_NEVER ||
	    (spec->restart == POOL_RESTART_ON_FAILURE && !failure &&
	    why != STOP_FAILURE)) {
		if (spec->restart == POOL_RESTART_NEVER)
			s->no_respawn = true;
		return;
	}
	if (p->failed) {
		s->failed = true;
		return;
	}

	now = uv_now(e->loop);
	cap = spec->max_restarts != 0 ? spec->max_restarts : 1;
	if (why == STOP_LIMIT)
		goto backoff;	/* a resource limit, not a crash loop */
	s->exits[s->exits_head] = now;
	s->exits_head = (s->exits_head + 1) % cap;
	if (s->nexits < cap)
		s->nexits++;
	n = s->nexits;
	for (i = 0; i < n; i++) {
		if (now - s->exits[i] < spec->restart_window_ms)
			recent++;
	}
	if (spec->max_restarts != 0 && recent >= spec->max_restarts) {
		snprintf(label, sizeof label, "%s/%d", spec->name, s->index);
		s->failed = true;
		pool_fail(p, s, engine_xprintf("worker %s failed %u times "
		    "within %s (last: %s); not restarting", label, recent,
		    fmt_ms(win, sizeof win, spec->restart_window_ms), what));
		return;
	}

backoff:
	if (uptime >= ENGINE_STABLE_MS && uptime >= spec->backoff_max_ms)
		s->backoff_ms = spec->backoff_initial_ms;
	delay = s->backoff_ms;
	s->backoff_ms = delay * 2 > spec->backoff_max_ms ?
	    spec->backoff_max_ms : delay * 2;
	if (s->backoff_ms == 0)
		s->backoff_ms = 1;
	deadline_start(&e->deadlines, &s->restart_deadline, delay,
	    slot_restart_cb);
	pool_slot_log(s, "restarting in %s", fmt_ms(win, sizeof win, delay));
	memset(&ev, 0, sizeof ev);
	ev.delay_ms = delay;
	pool_emit(p, POOL_EV_RESTARTING, s, NULL, &ev);
}

static void
slot_restart_cb(struct deadline *d)
{
	struct slot	*s = container_of(d, struct slot, restart_deadline);
	struct pool	*p = s->pool;

	if (p->stopping || s->w != NULL || s->removing)
		return;
	slot_spawn_or_backoff(s);
	pool_dispatch(p);
	engine_drain(p->engine);
}

/* Is the slot free for a process started on demand? */
static bool
slot_spawnable(const struct pool *p, unsigned i)
{
	const struct slot	*s = i < p->nslots ? p->slots[i] : NULL;

	return (s == NULL || (s->w == NULL &&
	    !deadline_armed(&s->restart_deadline) && !s->failed &&
	    !s->removing && !s->no_respawn));
}

/* Lazy start: more workers when tasks wait and every worker is full. */
static void
pool_maybe_spawn(struct pool *p)
{
	uint64_t	coming;
	unsigned	i;

	if (p->failed || p->stopping || p->spec.mode == POOL_MODE_SERVICE)
		return;
	coming = (uint64_t)p->starting * p->spec.parallel_jobs;
	for (i = 0; i < p->spec.workers && p->nqueued > coming; i++) {
		if (!slot_spawnable(p, i))
			continue;
		if (slot_spawn(pool_slot(p, i)) != 0) {
			slot_spawn_failed(p->slots[i]);
			break;
		}
		coming += p->spec.parallel_jobs;
	}
}

/* ---- worker transitions (called by worker.c) ----------------------------- */

/* The worker handshook (or a service handshook late). */
void
pool_worker_ready(struct pool *p, struct worker *w, bool was_service)
{
	struct slot	*s = w->slot;
	char		 list[512];
	size_t		 i, o = 0;

	/* A reload's new process takes its slot here, or is not the slot's. */
	if (reload_worker_up(p, w, false))
		return;
	if (w->cnt_starting) {
		w->cnt_starting = false;
		p->starting--;
	}
	if (!w->stopping && !w->exited) {
		w->cnt_ready = true;
		p->ready++;
	}
	worker_set_state(w);
	pool_slot_update(p, w);
	if (w->in_flight == 0)
		lifecycle_idle(w);
	list[0] = '\0';
	for (i = 0; i < p->nserved && o < sizeof list; i++)
		o += snprintf(list + o, sizeof list - o, "%s%s",
		    i != 0 ? ", " : "", p->served[i]);
	pool_slot_log(s, "ready (pid %d): serves %s", (int)w->pid,
	    p->nserved != 0 ? list : "no task");
	pool_emit(p, POOL_EV_READY, s, w, NULL);
	(void)was_service;
	if (p->nqueued != 0)
		pool_dispatch(p);
}

/* No handshake within the grace period (POOL_MODE_AUTO): a service. */
void
pool_worker_service(struct pool *p, struct worker *w)
{
	struct pool_event	ev;
	char			label[300], text[512];

	if (reload_worker_up(p, w, true))
		return;
	w->service = true;
	if (w->cnt_starting) {
		w->cnt_starting = false;
		p->starting--;
	}
	worker_set_state(w);
	pool_slot_update(p, w);
	snprintf(text, sizeof text, "%s: no handshake within %llu ms; "
	    "running as a service (sent no tasks)", worker_label(w, label,
	    sizeof label), (unsigned long long)p->spec.handshake_ms);
	pool_slot_log(w->slot, "%s", text);
	memset(&ev, 0, sizeof ev);
	ev.text = text;
	ev.text_len = strlen(text);
	pool_emit(p, POOL_EV_READY, w->slot, w, &ev);
	pool_check_serve(p);
}

/* The worker began to stop: it no longer counts as ready or starting. */
void
pool_worker_stopping(struct pool *p, struct worker *w)
{
	struct pool_event	ev;

	if (w->cnt_starting) {
		w->cnt_starting = false;
		p->starting--;
	}
	if (w->cnt_ready) {
		w->cnt_ready = false;
		p->ready--;
	}
	w->state = WORKER_STOPPING;
	memset(&ev, 0, sizeof ev);
	if (w->reason != NULL) {
		ev.text = w->reason;
		ev.text_len = strlen(w->reason);
	}
	pool_slot_log(w->slot, "stopping pid %d%s%s", (int)w->pid,
	    w->reason != NULL ? ": " : "", w->reason != NULL ? w->reason : "");
	pool_emit(p, POOL_EV_STATE, w->slot, w, &ev);
}

static int
task_cmp_id(const void *a, const void *b)
{
	const struct task	*x = *(struct task *const *)a;
	const struct task	*y = *(struct task *const *)b;

	return (x->id < y->id ? -1 : x->id > y->id);
}

/*
 * The worker was reaped: its in-flight tasks end with an error naming it
 * and its exit (or go back to the queue, once per retry), its keys are
 * unpinned, and the slot restarts per the policy.
 */
void
pool_worker_gone(struct pool *p, struct worker *w, int code, int status)
{
	struct slot		*s = w->slot;
	struct pool_event	 ev;
	struct task		**arr = NULL, *t;
	char			 exit_text[256], what[1024], label[300];
	size_t			 n = 0, i;
	uint64_t		 uptime;
	bool			 failure, current = s->w == w;

	worker_exit_text(exit_text, sizeof exit_text, code, status);
	snprintf(what, sizeof what, "%s%s%s", exit_text,
	    w->reason != NULL ? ": " : "", w->reason != NULL ? w->reason : "");
	if (w->cnt_starting) {
		w->cnt_starting = false;
		p->starting--;
	}
	if (w->cnt_ready) {
		w->cnt_ready = false;
		p->ready--;
	}
	p->live--;
	if (current) {
		s->w = NULL;
		s->last_status = code == CLD_EXITED ? status : 0;
		s->last_signal = code == CLD_EXITED ? 0 : status;
		pool_slot_clear(p, s);
	}

	if (w->table != NULL) {
		arr = engine_xalloc((w->mask + 1) * sizeof *arr);
		for (i = 0; i <= w->mask; i++) {
			t = w->table[i];
			if (t == NULL)
				continue;
			w->table[i] = NULL;
			t->in_table = false;
			w->in_flight--;
			if (t->timed_out) {
				pool_task_late_end(t);
				continue;
			}
			arr[n++] = t;
		}
	}
	if (n > 1)
		qsort(arr, n, sizeof *arr, task_cmp_id);
	worker_label(w, label, sizeof label);
	for (i = 0; i < n; i++) {
		t = arr[i];
		if (!p->stopping && t->bc == NULL &&
		    t->retries < p->spec.retry)
			continue;
		arr[i] = NULL;
		pool_task_fail(t, engine_xprintf("worker %s (pid %d) %s", label,
		    (int)w->pid, what));
	}
	for (i = n; i-- > 0; ) {
		t = arr[i];
		if (t == NULL)
			continue;
		t->retries++;
		pool_task_requeue_front(p, t);
		t->avoid_slot = s->index;	/* another worker, if one can */
	}
	free(arr);
	while ((t = TAILQ_LAST(&w->pending, task_list)) != NULL) {
		TAILQ_REMOVE(&w->pending, t, link);
		w->npending--;
		w->pool->npending--;
		if (t->bc != NULL || p->stopping)
			pool_task_fail(t, engine_xprintf("worker %s "
			    "(pid %d) %s", label, (int)w->pid, what));
		else
			pool_task_requeue_front(p, t);
	}
	pool_drop_pins(p, w);

	pool_slot_log(s, "pid %d %s", (int)w->pid, what);
	memset(&ev, 0, sizeof ev);
	ev.exit_status = code == CLD_EXITED ? status : 0;
	ev.term_signal = code == CLD_EXITED ? 0 : status;
	ev.text = what;
	ev.text_len = strlen(what);
	ev.pid = w->pid;
	pool_emit(p, POOL_EV_EXITED, s, w, &ev);
	lock_worker_gone(p, w);
	reload_worker_gone(p, w, what);

	failure = w->stop_why == STOP_FAILURE ||
	    !(code == CLD_EXITED && status == 0);
	uptime = uv_now(p->engine->loop) - w->started_loop;
	if (!current) {
		/* A reload's process (new, or old and replaced): not the slot's. */
		s->others--;
		if (s->removing && !p->stopping && !p->engine->stopping)
			slot_remove_if_done(s);
	} else if (w->stop_why != STOP_POOL)
		slot_after_exit(s, w->stop_why, failure, what, uptime);
	if (p->nqueued != 0)
		pool_dispatch(p);
	pool_check_serve(p);
}

/* ---- timeouts ------------------------------------------------------------ */

/* How long a task that timed out in flight waits for its late reply. */
static uint64_t
pool_late_grace_ms(const struct pool *p)
{
	return (p->spec.stop_timeout_ms != 0 ? p->spec.stop_timeout_ms : 1);
}

/*
 * A task timed out in flight and its late reply did not come within
 * pool_late_grace_ms() either: the worker is taken for hung and is
 * restarted gracefully (its other tasks in flight get stop_timeout to
 * finish), so the task's place on it is not held forever.
 */
static void
pool_task_hung(struct pool *p, struct task *t)
{
	struct worker	*w = t->w;
	char		 label[300], why[200], d[32];

	if (!t->in_table || w == NULL || w->exited || w->stopping)
		return;
	snprintf(why, sizeof why, "task %llu got no reply %s after its "
	    "timeout", (unsigned long long)t->id, fmt_ms(d, sizeof d,
	    pool_late_grace_ms(p)));
	pool_note(p, w->slot, w, "%s: %s; restarting",
	    worker_label(w, label, sizeof label), why);
	worker_stop(w, STOP_RESTART, why);
}

/*
 * A task's deadline passed: it ends with the timeout error.  For a task
 * that already timed out in flight, it is the end of the grace for its
 * late reply.
 */
static void
pool_task_timeout(struct pool *p, struct task *t)
{
	struct worker	*w = t->w;
	char		 d[32];
	char		*text;

	if (t->timed_out) {
		pool_task_hung(p, t);
		return;
	}
	text = engine_xprintf("timed out after %s", fmt_ms(d, sizeof d,
	    t->timeout_ms));
	switch (t->where) {
	case TASK_QUEUED:
		TAILQ_REMOVE(&p->queue, t, link);
		p->nqueued--;
		t->w = NULL;
		break;
	case TASK_PENDING:
		TAILQ_REMOVE(&w->pending, t, link);
		w->npending--;
		w->pool->npending--;
		t->w = NULL;
		break;
	case TASK_INFLIGHT:
		/* Its place stays taken until the late reply comes. */
		t->timed_out = true;
		w->zombies++;
		break;
	default:
		free(text);
		return;
	}
	pool_task_fail(t, text);
	if (w != NULL && t->timed_out) {
		/*
		 * The late reply has stop_timeout to come (pool_task_hung);
		 * the task stays in the heap with that deadline.
		 */
		t->deadline = uv_now(p->engine->loop) +
		    pool_late_grace_ms(p);
		heap_push(p, t);
		worker_check_drained(w);
	}
}

static void
pool_timer_cb(uv_timer_t *h)
{
	struct pool	*p = h->data;
	uint64_t	 now = uv_now(p->engine->loop);
	struct task	*t;

	while (p->nheap != 0 && p->heap[0]->deadline <= now) {
		t = p->heap[0];
		heap_remove(p, t);
		pool_task_timeout(p, t);
	}
	pool_timer_arm(p);
	engine_drain(p->engine);
}

/* ---- sending ------------------------------------------------------------- */

const char *
pool_send_error(struct pool *p, int err)
{
	static char	buf[256];
	char		*out = p != NULL ? p->errbuf : buf;
	size_t		 len = p != NULL ? sizeof p->errbuf : sizeof buf;
	const char	*name = p != NULL ? p->spec.name : "?";

	switch (err) {
	case -ENOBUFS:
		snprintf(out, len, "pool \"%s\": queue full (%zu tasks "
		    "waiting, queue_cap %zu)", name, p != NULL ? p->nqueued +
		    p->npending : (size_t)0, p != NULL ? p->spec.queue_cap :
		    (size_t)0);
		break;
	case -ESHUTDOWN:
		snprintf(out, len, "pool stopping");
		break;
	case -E2BIG:
		snprintf(out, len, "payload over the frame limit of %u bytes "
		    "(pool %s)", (unsigned)PROTO_MAX_FRAME, name);
		break;
	case -EAGAIN:
		snprintf(out, len, "no worker of pool %s is ready", name);
		break;
	case -EINVAL:
		snprintf(out, len, "invalid arguments (a task name of 1 to %d "
		    "bytes, a callback, a payload when its length is not 0)",
		    PROTO_MAX_NAME);
		break;
	case -ENOMEM:
		snprintf(out, len, "out of memory");
		break;
	default:
		snprintf(out, len, "%s", strerror(err < 0 ? -err : err));
		break;
	}
	return (out);
}

/* Checks a send's arguments; 0 or a negative errno. */
static inline int
pool_send_check(struct pool *p, const char *task, size_t *nlenp,
    const void *payload, size_t len, bool has_cb)
{
	size_t	nlen;

	if (p == NULL || task == NULL || !has_cb ||
	    (len != 0 && payload == NULL))
		return (-EINVAL);
	nlen = *nlenp = strlen(task);
	if (nlen == 0 || nlen > PROTO_MAX_NAME)
		return (-EINVAL);
	if (p->stopping || p->engine->stopping)
		return (-ESHUTDOWN);
	if (len > PROTO_MAX_FRAME ||
	    PROTO_REQUEST_HEADER(nlen) - PROTO_LEN_SIZE + len > PROTO_MAX_FRAME)
		return (-E2BIG);
	return (0);
}

/* One allocation: the task, its name, key and payload. */
static inline struct task *
task_new(struct pool *p, const char *name, size_t nlen, const void *payload,
    size_t len, const void *key, size_t key_len, pool_task_cb cb, void *arg)
{
	struct engine	*e = p->engine;
	size_t		 size = sizeof(struct task) + nlen + 1 + key_len + len;
	struct task	*t;
	uint8_t		*d;
	bool		 small = size <= ENGINE_TASK_BLOCK;

	if (small && e->task_cache != NULL) {
		t = e->task_cache;
		e->task_cache = *(void **)t;
		e->ntask_cache--;
	} else {
		t = malloc(small ? ENGINE_TASK_BLOCK : size);
		if (t == NULL)
			return (NULL);
	}
	/* Field by field: a memset of the struct is a slow rep stos here. */
	t->pool = p;
	t->id = ++e->next_task_id;
	t->w = NULL;
	t->wid = 0;
	t->where = TASK_NEW;
	t->in_table = false;
	t->timed_out = false;
	t->err_owned = false;
	t->small = small;
	t->ok = false;
	t->retries = 0;
	t->heap_idx = SIZE_MAX;
	t->deadline = 0;
	t->timeout_ms = 0;
	/* For the latency of TASK_FINISHED: only when someone listens. */
	t->sent_ns = engine_listened(e) ? uv_hrtime() : 0;
	t->cb = cb;
	t->arg = arg;
	t->bc = NULL;
	t->bc_idx = 0;
	t->pin = NULL;
	t->ran_slot = -1;
	t->ran_pid = 0;
	t->avoid_slot = -1;
	t->res = NULL;
	t->res_len = 0;
	t->err = NULL;
	d = t->data;
	proto_copy(d, name, nlen);
	d[nlen] = '\0';
	t->name = (char *)d;
	t->name_len = nlen;
	d += nlen + 1;
	t->key = NULL;
	t->key_len = 0;
	t->key_hash = 0;
	if (key_len != 0) {
		memcpy(d, key, key_len);
		t->key = d;
		t->key_len = key_len;
		t->key_hash = key_hash(key, key_len);
		d += key_len;
	}
	proto_copy(d, payload, len);
	t->payload = d;
	t->len = len;
	return (t);
}

static void
task_arm_timeout(struct pool *p, struct task *t, uint64_t timeout_ms)
{
	if (timeout_ms == 0 || t->where == TASK_DONE)
		return;
	t->timeout_ms = timeout_ms;
	t->deadline = uv_now(p->engine->loop) + timeout_ms;
	heap_push(p, t);
}

int
pool_send(struct pool *p, const char *task, const void *payload, size_t len,
    const struct pool_send_opts *opts, pool_task_cb cb, void *arg)
{
	const void	*key = opts != NULL ? opts->key : NULL;
	size_t		 key_len = key != NULL ? opts->key_len : 0;
	uint64_t	 timeout = opts != NULL && opts->timeout_ms != 0 ?
			    opts->timeout_ms : (p != NULL ?
			    p->spec.task_timeout_ms : 0);
	struct task	*t;
	struct pin	*pin;
	const char	*why;
	struct worker	*w;
	size_t		 nlen;
	int		 r, i;

	r = pool_send_check(p, task, &nlen, payload, len, cb != NULL);
	if (r != 0)
		return (r);
	if (!TAILQ_EMPTY(&p->queue) &&
	    p->nqueued + p->npending >= p->spec.queue_cap)
		return (-ENOBUFS);
	t = task_new(p, task, nlen, payload, len, key, key_len, cb, arg);
	if (t == NULL)
		return (-ENOMEM);

	if (p->handshaken && !pool_serves(p, t->name, t->name_len)) {
		pool_task_fail(t, pool_unserved_text(p, t->name));
		return (0);
	}
	/* A worker ready or starting: pool_serve_block's first answer. */
	if (p->ready == 0 && p->starting == 0 &&
	    (why = pool_serve_block(p)) != NULL) {
		pool_task_fail(t, engine_xstrdup(why));
		return (0);
	}
	if (key_len != 0 && (pin = pin_find(p, t)) != NULL &&
	    worker_takes_tasks(pin->w)) {
		w = pin->w;
		if (w->in_flight >= p->spec.parallel_jobs &&
		    p->nqueued + p->npending >= p->spec.queue_cap) {
			pool_task_free(t);
			return (-ENOBUFS);
		}
		pin_attach(p, t, w);
		worker_assign(w, t);
		task_arm_timeout(p, t, timeout);
		return (0);
	}
	if (TAILQ_EMPTY(&p->queue) &&
	    (i = pool_pick(p, key, key_len)) >= 0 &&
	    (unsigned)i < p->nslots && p->slots[i] != NULL &&
	    worker_takes_tasks(w = p->slots[i]->w) &&
	    w->in_flight < p->spec.parallel_jobs) {
		if (key_len != 0)
			pin_attach(p, t, w);
		worker_start_task(w, t);
		task_arm_timeout(p, t, timeout);
		return (0);
	}
	if (p->nqueued + p->npending >= p->spec.queue_cap) {
		pool_task_free(t);
		return (-ENOBUFS);
	}
	t->where = TASK_QUEUED;
	TAILQ_INSERT_TAIL(&p->queue, t, link);
	p->nqueued++;
	task_arm_timeout(p, t, timeout);
	pool_dispatch(p);
	return (0);
}

/* A broadcast part ended: keep its reply; the last one calls back. */
static void
broadcast_part_cb(bool ok, const void *data, size_t len, void *arg)
{
	struct task		*t = arg;
	struct broadcast	*bc = t->bc;
	struct pool_reply	*r = &bc->replies[t->bc_idx];
	size_t			 i;
	void			*copy;

	copy = engine_xalloc(len + 1);
	if (len != 0)
		memcpy(copy, data, len);
	((char *)copy)[len] = '\0';
	r->slot = t->ran_slot >= 0 ? t->ran_slot : r->slot;
	r->pid = t->ran_pid != 0 ? t->ran_pid : r->pid;
	r->ok = ok;
	r->data = copy;
	r->len = len;
	if (--bc->left != 0)
		return;
	bc->cb(bc->replies, bc->n, bc->arg);
	for (i = 0; i < bc->n; i++)
		free((void *)bc->replies[i].data);
	free(bc->replies);
	free(bc);
}

int
pool_broadcast(struct pool *p, const char *task, const void *payload,
    size_t len, pool_broadcast_cb cb, void *arg)
{
	struct broadcast	*bc;
	struct task		*t;
	struct worker		*w;
	unsigned		 i, n = 0;
	size_t			 nlen, waiting = 0;
	int			 r;

	r = pool_send_check(p, task, &nlen, payload, len, cb != NULL);
	if (r != 0)
		return (r);
	for (i = 0; i < p->nslots; i++) {
		if (p->slots[i] == NULL ||
		    !worker_takes_tasks(w = p->slots[i]->w))
			continue;
		n++;
		/* A part for a full worker waits in its list: queue_cap. */
		if (w->in_flight >= p->spec.parallel_jobs ||
		    !TAILQ_EMPTY(&w->pending))
			waiting++;
	}
	if (n == 0)
		return (-EAGAIN);
	if (p->handshaken && !pool_serves(p, task, nlen))
		waiting = 0;	/* every part ends at once */
	if (waiting != 0 &&
	    p->nqueued + p->npending + waiting > p->spec.queue_cap)
		return (-ENOBUFS);
	bc = engine_xalloc(sizeof *bc);
	bc->cb = cb;
	bc->arg = arg;
	bc->n = n;
	bc->left = n;
	bc->replies = engine_xalloc(n * sizeof *bc->replies);
	memset(bc->replies, 0, n * sizeof *bc->replies);
	n = 0;
	for (i = 0; i < p->nslots; i++) {
		if (p->slots[i] == NULL ||
		    !worker_takes_tasks(w = p->slots[i]->w))
			continue;
		t = task_new(p, task, nlen, payload, len, NULL, 0,
		    broadcast_part_cb, NULL);
		if (t == NULL)
			abort();
		t->arg = t;
		t->bc = bc;
		t->bc_idx = n;
		bc->replies[n].slot = (int)i;
		bc->replies[n].pid = w->pid;
		n++;
		if (p->handshaken && !pool_serves(p, t->name, t->name_len)) {
			pool_task_fail(t, pool_unserved_text(p, t->name));
			continue;
		}
		worker_assign(w, t);
		task_arm_timeout(p, t, p->spec.task_timeout_ms);
	}
	return (0);
}

/* ---- the pool's life ----------------------------------------------------- */

/*
 * Checks a spec; 0 or -EINVAL with the reason in engine_error() (-EEXIST
 * last, when only the name is taken: retire.c relies on that order).
 */
int
pool_validate(struct engine *e, const struct pool_spec *spec)
{
	const char	*c;

	if (spec->name == NULL || spec->name[0] == '\0') {
		engine_set_error(e, "a pool needs a name");
		return (-EINVAL);
	}
	for (c = spec->name; *c != '\0'; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' ||
		    *c == '-')) {
			engine_set_error(e, "pool name \"%s\": only letters, "
			    "digits, '_', '.' and '-' are allowed", spec->name);
			return (-EINVAL);
		}
	}
	if (spec->argv == NULL || spec->argv[0] == NULL ||
	    spec->argv[0][0] == '\0') {
		engine_set_error(e, "pool %s: no command", spec->name);
		return (-EINVAL);
	}
	if (spec->workers == 0 || spec->workers > POOL_WORKERS_MAX) {
		engine_set_error(e, "pool %s: workers = %u (expected 1 to %u)",
		    spec->name, spec->workers, POOL_WORKERS_MAX);
		return (-EINVAL);
	}
	if (spec->parallel_jobs == 0 ||
	    spec->parallel_jobs > ENGINE_MAX_PARALLEL) {
		engine_set_error(e, "pool %s: parallel_jobs must be 1 to %u",
		    spec->name, ENGINE_MAX_PARALLEL);
		return (-EINVAL);
	}
	if (spec->log_lines == 0 || spec->queue_cap == 0) {
		engine_set_error(e, "pool %s: log_lines and queue_cap must be "
		    "at least 1", spec->name);
		return (-EINVAL);
	}
	if (spec->stop_signal <= 0 || spec->stop_signal >= NSIG) {
		engine_set_error(e, "pool %s: bad stop signal %d", spec->name,
		    spec->stop_signal);
		return (-EINVAL);
	}
	if (spec->cwd != NULL && access(spec->cwd, X_OK) != 0) {
		int	error = errno;

		engine_set_error(e, "pool %s: cannot use directory \"%s\": %s",
		    spec->name, spec->cwd, strerror(error));
		return (-error);
	}
	if (engine_pool(e, spec->name) != NULL) {
		engine_set_error(e, "pool %s: a pool of that name exists",
		    spec->name);
		return (-EEXIST);
	}
	return (0);
}

/* Makes a pool (no process yet); 0 or -errno with engine_error(). */
int
pool_create(struct engine *e, const struct pool_spec *spec, struct pool **out)
{
	struct pool	*p;
	char		 err[512], *path;
	unsigned	 i;
	int		 r;

	*out = NULL;
	if ((r = pool_validate(e, spec)) != 0)
		return (r);
	if ((r = worker_resolve(spec, &path, err, sizeof err)) != 0) {
		engine_set_error(e, "%s", err);
		return (r);
	}
	free(path);
	if ((r = reload_check_spec(e, spec)) != 0)
		return (r);
	p = engine_xalloc(sizeof *p);
	memset(p, 0, sizeof *p);
	p->engine = e;
	TAILQ_INIT(&p->queue);
	TAILQ_INIT(&p->pin_lru);
	if (pool_spec_copy(&p->spec, spec) != 0) {
		free(p);
		engine_set_error(e, "pool %s: out of memory", spec->name);
		return (-ENOMEM);
	}
	if (p->spec.min_workers > p->spec.workers)
		p->spec.min_workers = p->spec.workers;
	r = balancer_new(&p->bal, p->spec.strategy, p->spec.workers,
	    p->spec.seed);
	if (r != 0) {
		pool_spec_release(&p->spec);
		free(p);
		engine_set_error(e, "pool %s: cannot make its balancer: %s",
		    spec->name, strerror(-r));
		return (r);
	}
	for (i = 0; i < p->spec.workers; i++)
		pool_slot(p, i);
	if ((r = pool_log_open(p)) != 0) {
		pool_free_all(p);
		return (r);
	}
	if ((r = lockset_new(p, &p->locks)) != 0) {
		pool_free_all(p);
		return (r);
	}
	*out = p;
	return (0);
}

/*
 * Starts min_workers processes (every process for a service pool).  A
 * failure of the first one is the caller's error; later ones back off
 * and retry like crashes.
 */
int
pool_start(struct pool *p)
{
	unsigned	n = p->spec.mode == POOL_MODE_SERVICE ?
			    p->spec.workers : p->spec.min_workers, i;
	int		r;

	for (i = 0; i < n; i++) {
		if (i == 0) {
			if ((r = slot_spawn(p->slots[0])) != 0)
				return (r);
			continue;
		}
		slot_spawn_or_backoff(p->slots[i]);
	}
	reload_pool_started(p);
	return (0);
}

/* engine_stop: no new tasks, queued ones end, workers stop gracefully. */
void
pool_begin_stop(struct pool *p)
{
	struct task	*t;
	struct slot	*s;
	unsigned	 i;

	p->stopping = true;
	while ((t = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, t, link);
		p->nqueued--;
		pool_task_fail_static(t, "pool stopping");
	}
	reload_pool_stop(p);
	for (i = 0; i < p->nslots; i++) {
		if ((s = p->slots[i]) == NULL)
			continue;
		slot_cancel_restart(s);
		if (s->w != NULL)
			worker_stop(s->w, STOP_POOL, "pool stopping");
	}
}

/*
 * The second engine_stop: SIGKILL now, to every process of the pool
 * (a reload's too, which are not their slot's worker).
 */
void
pool_force_stop(struct pool *p)
{
	struct worker	*w;

	TAILQ_FOREACH(w, &p->engine->live, live_link) {
		if (w->pool == p)
			worker_kill(w, STOP_POOL, NULL);
	}
}

/* Closes the pool's own handles (every worker is gone). */
void
pool_teardown(struct pool *p)
{
	unsigned	i;
	struct slot	*s;

	if (p->timer_open) {
		p->timer_open = false;
		p->timer.data = p->engine;
		uv_close((uv_handle_t *)&p->timer, engine_handle_close_cb);
	}
	lockset_teardown(p->locks);
	reload_teardown(p);
	/* Stopped already (pool_begin_stop); a retired pool is freed later. */
	for (i = 0; i < p->nslots; i++) {
		if ((s = p->slots[i]) != NULL)
			slot_cancel_restart(s);
	}
}

/* Frees the pool (after pool_teardown's handles closed). */
void
pool_free_all(struct pool *p)
{
	struct pin	*pin, *next;
	unsigned	 i;
	size_t		 b;

	for (i = 0; i < p->nslots; i++)
		slot_free(p->slots[i]);
	free(p->slots);
	for (b = 0; b < p->npin_buckets; b++) {
		for (pin = p->pins[b]; pin != NULL; pin = next) {
			next = pin->next;
			free(pin);
		}
	}
	free(p->pins);
	for (i = 0; i < p->nserved; i++)
		free(p->served[i]);
	free(p->served);
	free(p->served_len);
	free(p->heap);
	free(p->failure);
	free(p->bal_flag);
	free(p->bal_list);
	free(p->bal_seen);
	balancer_free(p->bal);
	lockset_free(p->locks);
	pool_log_close(p);
	reload_free(p);
	pool_spec_release(&p->spec);
	free(p);
}

/* After each sampler tick: least_load's inputs, and memory_limit. */
void
pool_sampler_refresh(struct pool *p, struct sampler *sm)
{
	struct proc_sample	 ps;
	struct worker		*w;
	unsigned		 i;
	char			 label[300], why[200];

	for (i = 0; i < p->nslots; i++) {
		if (p->slots[i] == NULL || (w = p->slots[i]->w) == NULL ||
		    w->exited)
			continue;
		worker_trim(w);
		if (sampler_get(sm, w->pid, &ps) != 0)
			continue;
		w->cpu = ps.cpu;
		w->rss = ps.rss;
		pool_slot_update(p, w);
		if (p->spec.memory_limit == 0 || w->stopping)
			continue;
		if (ps.rss <= p->spec.memory_limit) {
			w->mem_strikes = 0;
			continue;
		}
		if (++w->mem_strikes < ENGINE_MEM_STRIKES)
			continue;
		snprintf(why, sizeof why, "memory %llu MB over limit %llu MB",
		    (unsigned long long)(ps.rss >> 20),
		    (unsigned long long)(p->spec.memory_limit >> 20));
		pool_note(p, w->slot, w, "%s: %s; restarting",
		    worker_label(w, label, sizeof label), why);
		/* PM2's max_memory_restart: always back, not a crash. */
		worker_stop(w, STOP_RESTART, why);
	}
}

/* ---- inspection ---------------------------------------------------------- */

void
pool_get_info(const struct pool *p, struct pool_info *info)
{
	memset(info, 0, sizeof *info);
	info->name = p->spec.name;
	info->strategy = balancer_strategy(p->bal);
	info->workers = p->spec.workers;
	info->live = p->live;
	info->queued = p->nqueued + p->npending;
	info->queue_cap = p->spec.queue_cap;
	info->tasks_done = p->tasks_done;
	info->tasks_failed = p->tasks_failed;
	info->failed = p->failed;
	info->stopping = p->stopping;
	info->failure = p->failed ? p->failure : NULL;
	info->late_replies = p->late_replies;
	reload_info(p, info);
}

size_t
pool_snapshot(const struct pool *p, struct pool_worker_info *out, size_t max)
{
	const struct slot	*s;
	const struct worker	*w;
	struct pool_worker_info	*r;
	size_t			 n = 0;
	unsigned		 i;

	for (i = 0; i < p->nslots; i++) {
		/* A slot whose first worker is still to be spawned (lazily)
		 * has no process to show. */
		if ((s = p->slots[i]) == NULL || (s->w == NULL && s->spawned == 0))
			continue;
		if (n < max) {
			r = &out[n];
			memset(r, 0, sizeof *r);
			w = s->w;
			r->slot = s->index;
			r->weight = s->weight;
			r->tasks_done = s->tasks_done;
			r->tasks_failed = s->tasks_failed;
			r->restarts = s->restarts;
			r->last_status = s->last_status;
			r->last_signal = s->last_signal;
			if (w != NULL) {
				r->pid = w->pid;
				r->state = w->state;
				r->service = w->service;
				r->in_flight = w->in_flight;
				r->started_ms = w->started_ms;
			} else
				r->state = s->failed ? WORKER_FAILED :
				    WORKER_EXITED;
		}
		n++;
	}
	return (n);
}

const char *
pool_name(const struct pool *p)
{
	return (p->spec.name);
}

const struct pool_spec *
pool_get_spec(const struct pool *p)
{
	return (&p->spec);
}

uint64_t
pool_worker_log(const struct pool *p, int slot, uint64_t from,
    void (*fn)(const struct pool_log_line *, void *), void *arg)
{
	const struct slot	*s;
	struct ring_log_entry	 ent;
	struct pool_log_line	 line;
	uint64_t		 seq, next;

	if (slot < 0 || (unsigned)slot >= p->nslots ||
	    (s = p->slots[slot]) == NULL)
		return (from);
	next = ring_log_next(s->log);
	seq = ring_log_first(s->log);
	if (from > seq)
		seq = from;
	for (; seq < next; seq++) {
		if (ring_log_get(s->log, seq, &ent) != 0)
			continue;
		line.time_ms = ent.time_ms;
		line.stream = (enum log_stream)ent.stream;
		line.text = ent.text;
		line.len = ent.len;
		fn(&line, arg);
	}
	return (next);
}

/* ---- actions ------------------------------------------------------------- */

static struct worker *
pool_live_worker(struct pool *p, int slot)
{
	struct worker	*w;

	if (slot < 0 || (unsigned)slot >= p->nslots || p->slots[slot] == NULL)
		return (NULL);
	w = p->slots[slot]->w;
	return (w != NULL && !w->exited ? w : NULL);
}

/*
 * Will sig end the worker?  Its default action does, and the worker
 * neither catches nor ignores it: the SigCgt and SigIgn masks of its
 * /proc/PID/status (exact: the pid is our unreaped child's).  Unreadable
 * masks count as the default.
 */
static bool
worker_signal_ends(const struct worker *w, int sig)
{
	unsigned long long	 mask, handled = 0;
	char			 path[64], line[256];
	FILE			*f;

	switch (sig) {
	case SIGCHLD:
	case SIGCONT:
	case SIGSTOP:
	case SIGTSTP:
	case SIGTTIN:
	case SIGTTOU:
	case SIGURG:
	case SIGWINCH:
		return (false);	/* default: ignore or stop */
	case SIGKILL:
		return (true);
	}
	if (sig <= 0 || sig > 64)
		return (false);
	snprintf(path, sizeof path, "/proc/%d/status", (int)w->pid);
	if ((f = fopen(path, "re")) == NULL)
		return (true);
	while (fgets(line, sizeof line, f) != NULL) {
		if ((sscanf(line, "SigIgn: %llx", &mask) == 1 ||
		    sscanf(line, "SigCgt: %llx", &mask) == 1))
			handled |= mask;
	}
	fclose(f);
	return ((handled & (1ULL << (sig - 1))) == 0);
}

/*
 * A signal by request.  SIGSTOP and SIGCONT are sleep and wake.  Any
 * other but the stop signals, sent to a sleeping worker, is followed by
 * SIGCONT (a stopped process acts on nothing else), as the stop path
 * does; one that will end the worker first begins its stop, so that no
 * task is given to it meanwhile.
 */
int
pool_worker_signal(struct pool *p, int slot, int sig)
{
	struct worker	*w = pool_live_worker(p, slot);
	char		 why[128];
	const char	*name;
	bool		 ends;
	int		 r;

	if (w == NULL)
		return (-ESRCH);
	if (sig == SIGSTOP)
		r = lifecycle_sleep(w, "stopped by request (SIGSTOP)");
	else if (sig == SIGCONT)
		r = lifecycle_wake(w, "continued by request (SIGCONT)");
	else {
		ends = worker_signal_ends(w, sig);
		r = worker_signal(w, sig);
		name = strsignal(sig);
		if (r == 0 && ends && !w->stopping) {
			/* No reason kept: its exit says it all. */
			pool_slot_log(w->slot, "signal %d (%s) sent by request to "
			    "pid %d: it takes no new task", sig, name != NULL ?
			    name : "?", (int)w->pid);
			worker_stop(w, STOP_NONE, NULL);
		}
		if (r == 0 && w->sleeping && sig != SIGKILL &&
		    sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU) {
			snprintf(why, sizeof why, "continued so that it acts "
			    "on signal %d (%s)", sig, name != NULL ? name :
			    "?");
			lifecycle_wake(w, why);
		}
	}
	engine_drain(p->engine);
	return (r);
}

int
pool_worker_sleep(struct pool *p, int slot)
{
	struct worker	*w = pool_live_worker(p, slot);

	if (w == NULL)
		return (-ESRCH);
	return (lifecycle_sleep(w, "put to sleep by request"));
}

int
pool_worker_wake(struct pool *p, int slot)
{
	struct worker	*w = pool_live_worker(p, slot);

	if (w == NULL)
		return (-ESRCH);
	return (lifecycle_wake(w, "woken by request"));
}

/*
 * Restarts a slot gracefully (in-flight tasks may finish, up to
 * stop_timeout); a slot without a process (exited, or failed: this
 * clears the pool's failure) starts one now.
 */
int
pool_worker_restart(struct pool *p, int slot)
{
	struct slot	*s;
	int		 r;

	if (p->stopping || p->engine->stopping)
		return (-ESHUTDOWN);
	if (slot < 0 || (unsigned)slot >= p->spec.workers)
		return (-ENOENT);
	s = pool_slot(p, (unsigned)slot);
	if (s->w != NULL) {
		worker_stop(s->w, STOP_RESTART, "restart requested");
		engine_drain(p->engine);
		return (0);
	}
	slot_cancel_restart(s);
	s->failed = false;
	s->no_respawn = false;
	s->nexits = 0;
	s->exits_head = 0;
	s->backoff_ms = p->spec.backoff_initial_ms;
	if (p->failed) {
		p->failed = false;
		free(p->failure);
		p->failure = NULL;
	}
	r = slot_spawn(s);
	if (r != 0) {
		pool_note(p, s, NULL, "%s", p->engine->error);
		return (r);
	}
	pool_dispatch(p);
	engine_drain(p->engine);
	return (0);
}

/*
 * Sets the number of workers.  Up: the new slots start now.  Down: the
 * highest slots stop gracefully (no new tasks, in-flight ones get
 * stop_timeout to finish) and are removed once their process is gone.
 */
int
pool_scale(struct pool *p, unsigned workers)
{
	unsigned	old = p->spec.workers, i;
	struct slot	*s;
	int		r;

	if (workers == 0 || workers > POOL_WORKERS_MAX)
		return (-EINVAL);
	if (p->stopping || p->engine->stopping)
		return (-ESHUTDOWN);
	if (workers == old)
		return (0);
	if ((r = balancer_resize(p->bal, workers)) != 0)
		return (r);
	pool_bal_grow(p, workers);
	pool_bal_forget(p, workers < old ? workers : old);
	p->spec.workers = workers;
	if (p->spec.min_workers > workers)
		p->spec.min_workers = workers;
	if (workers < old) {
		for (i = workers; i < p->nslots; i++) {
			if ((s = p->slots[i]) == NULL || s->removing)
				continue;
			s->removing = true;
			if (s->w != NULL)
				worker_stop(s->w, STOP_SCALE, "scaled down");
			else {
				slot_cancel_restart(s);
				slot_remove_if_done(s);
			}
		}
		pool_check_serve(p);
		engine_drain(p->engine);
		return (0);
	}
	for (i = 0; i < workers; i++) {
		s = pool_slot(p, i);
		balancer_set_weight(p->bal, i, s->weight);
		if (s->removing) {
			/* Stopping from an earlier scale-down: respawn. */
			s->removing = false;
			if (s->w != NULL) {
				s->w->stop_why = STOP_RESTART;
				continue;
			}
		}
		if (i >= old && s->w == NULL &&
		    !deadline_armed(&s->restart_deadline))
			slot_spawn_or_backoff(s);
		else if (s->w != NULL)
			pool_slot_update(p, s->w);
	}
	pool_dispatch(p);
	engine_drain(p->engine);
	return (0);
}

int
pool_set_strategy(struct pool *p, enum balance_strategy st)
{
	int	r;

	if ((r = balancer_set_strategy(p->bal, st)) != 0)
		return (r);
	p->spec.strategy = st;
	if (p->nqueued != 0)
		pool_dispatch(p);
	return (0);
}
