/*
 * The task log (the original's "Signals"): a bounded ring of the tasks
 * that finished, filled from the engine's POOL_EV_TASK_FINISHED events
 * from the start.  Pure.
 *
 * Why two rings: the fixed part of a record (times, ids, pool, worker,
 * outcome) is the same size for every task, its texts are not, and most
 * are short (a task name of a few letters, a payload and a result of a
 * few dozen bytes), so a fixed 224-byte slot for them would be mostly
 * padding, 2,000 times over.  The texts of the kept records sit packed,
 * oldest first, in one byte ring; a record's texts may wrap around its
 * end (tasklog_get copies them out anyway).  Neither ring allocates after
 * tasklog_init, and both stay untouched (so not resident) until used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dash.h"

enum { TEXT_POOL, TEXT_TASK, TEXT_PAYLOAD, TEXT_RESULT, TEXT_N };

struct tasklog_ent {
	uint64_t	 time_ms;
	uint64_t	 latency_us;
	uint64_t	 id;
	const void	*pool;
	uint64_t	 toff;		/* its texts, from tasklog.tfirst on */
	int32_t		 slot;
	int32_t		 pid;
	uint8_t		 tlen[TEXT_N];	/* bytes of each text, no NUL */
	bool		 ok;
};

/* The longest texts of a record: each field of task_rec less its NUL. */
#define TEXT_MAX \
	(MODEL_POOL_MAX + sizeof ((struct task_rec *)0)->task + \
	sizeof ((struct task_rec *)0)->payload + \
	sizeof ((struct task_rec *)0)->result - TEXT_N)

int
tasklog_init(struct tasklog *t, size_t cap)
{
	memset(t, 0, sizeof *t);
	if (cap == 0 || cap > SIZE_MAX / TASKLOG_TEXT_AVG)
		return -EINVAL;
	t->tcap = cap * TASKLOG_TEXT_AVG;
	if (t->tcap < TEXT_MAX)
		t->tcap = TEXT_MAX;	/* any one record fits */
	t->ents = calloc(cap, sizeof *t->ents);
	t->text = calloc(t->tcap, 1);
	if (t->ents == NULL || t->text == NULL) {
		tasklog_free(t);
		return -ENOMEM;
	}
	t->cap = cap;
	return 0;
}

void
tasklog_free(struct tasklog *t)
{
	free(t->ents);
	free(t->text);
	memset(t, 0, sizeof *t);
}

/* Entry of record i (0 the newest; i < len). */
static struct tasklog_ent *
tasklog_ent(const struct tasklog *t, size_t i)
{
	return &t->ents[(t->head + t->cap - 1 - i) % t->cap];
}

/* The oldest record goes; its texts' bytes are free again. */
static void
tasklog_drop_oldest(struct tasklog *t)
{
	t->len--;
	t->tfirst = t->len != 0 ? tasklog_ent(t, t->len - 1)->toff : t->tnext;
}

/* Copies n bytes in at ring offset off (wrapping at the end). */
static void
tasklog_text_put(struct tasklog *t, uint64_t off, const char *src, size_t n)
{
	size_t	at = (size_t)(off % t->tcap), first = t->tcap - at;

	if (first > n)
		first = n;
	memcpy(t->text + at, src, first);
	memcpy(t->text, src + first, n - first);
}

/* Copies n bytes out from ring offset off into dst, NUL-terminated. */
static void
tasklog_text_get(const struct tasklog *t, uint64_t off, char *dst, size_t n)
{
	size_t	at = (size_t)(off % t->tcap), first = t->tcap - at;

	if (first > n)
		first = n;
	memcpy(dst, t->text + at, first);
	memcpy(dst + first, t->text, n - first);
	dst[n] = '\0';
}

void
tasklog_push(struct tasklog *t, const struct task_rec *r)
{
	const char		*text[TEXT_N] = { r->pool_name, r->task,
				    r->payload, r->result };
	const size_t		 max[TEXT_N] = { sizeof r->pool_name - 1,
				    sizeof r->task - 1, sizeof r->payload - 1,
				    sizeof r->result - 1 };
	struct tasklog_ent	*e;
	size_t			 n[TEXT_N], need = 0, k;

	for (k = 0; k < TEXT_N; k++) {
		n[k] = strnlen(text[k], max[k]);
		need += n[k];
	}
	if (t->len == t->cap)
		tasklog_drop_oldest(t);
	while (t->len != 0 && t->tnext + need - t->tfirst > t->tcap)
		tasklog_drop_oldest(t);

	e = &t->ents[t->head];
	e->time_ms = r->time_ms;
	e->latency_us = r->latency_us;
	e->id = r->id;
	e->pool = r->pool;
	e->slot = r->slot;
	e->pid = r->pid;
	e->ok = r->ok;
	e->toff = t->tnext;
	for (k = 0; k < TEXT_N; k++) {
		tasklog_text_put(t, t->tnext, text[k], n[k]);
		t->tnext += n[k];
		e->tlen[k] = (uint8_t)n[k];
	}
	if (t->len == 0)
		t->tfirst = e->toff;
	t->head = (t->head + 1) % t->cap;
	t->len++;
	t->total++;
}

size_t
tasklog_len(const struct tasklog *t)
{
	return t->len;
}

const struct task_rec *
tasklog_get(struct tasklog *t, size_t i)
{
	const struct tasklog_ent *e;
	struct task_rec		*r = &t->out;
	char			*dst[TEXT_N] = { r->pool_name, r->task,
				    r->payload, r->result };
	uint64_t		 off;
	size_t			 k;

	if (i >= t->len)
		return NULL;
	e = tasklog_ent(t, i);
	r->time_ms = e->time_ms;
	r->latency_us = e->latency_us;
	r->id = e->id;
	r->pool = e->pool;
	r->slot = e->slot;
	r->pid = e->pid;
	r->ok = e->ok;
	off = e->toff;
	for (k = 0; k < TEXT_N; k++) {
		tasklog_text_get(t, off, dst[k], e->tlen[k]);
		off += e->tlen[k];
	}
	return r;
}

/* The filter on what both the entry and the record hold. */
static bool
tasklog_match_fields(const void *rpool, bool ok, const void *pool,
    enum tasklog_outcome outcome)
{
	if (pool != NULL && rpool != pool)
		return false;
	if (outcome == TASKLOG_OK && !ok)
		return false;
	if (outcome == TASKLOG_ERROR && ok)
		return false;
	return true;
}

bool
tasklog_match(const struct task_rec *r, const void *pool,
    enum tasklog_outcome outcome)
{
	return tasklog_match_fields(r->pool, r->ok, pool, outcome);
}

size_t
tasklog_count(const struct tasklog *t, const void *pool,
    enum tasklog_outcome outcome)
{
	const struct tasklog_ent *e;
	size_t			 i, n = 0;

	for (i = 0; i < t->len; i++) {
		e = tasklog_ent(t, i);
		if (tasklog_match_fields(e->pool, e->ok, pool, outcome))
			n++;
	}
	return n;
}

size_t
tasklog_bytes(const struct tasklog *t)
{
	return t->cap * sizeof *t->ents + t->tcap;
}
