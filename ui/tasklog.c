/*
 * The task log (the original's "Signals"): a bounded ring of the tasks
 * that finished, filled from the engine's POOL_EV_TASK_FINISHED events
 * from the start, with fixed-size records so adding one never allocates.
 * Pure.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dash.h"

int
tasklog_init(struct tasklog *t, size_t cap)
{
	memset(t, 0, sizeof *t);
	if (cap == 0)
		return -EINVAL;
	t->recs = calloc(cap, sizeof *t->recs);
	if (t->recs == NULL)
		return -ENOMEM;
	t->cap = cap;
	return 0;
}

void
tasklog_free(struct tasklog *t)
{
	free(t->recs);
	memset(t, 0, sizeof *t);
}

struct task_rec *
tasklog_add(struct tasklog *t)
{
	struct task_rec *r = &t->recs[t->head];

	t->head = (t->head + 1) % t->cap;
	if (t->len < t->cap)
		t->len++;
	t->total++;
	memset(r, 0, sizeof *r);
	return r;
}

size_t
tasklog_len(const struct tasklog *t)
{
	return t->len;
}

const struct task_rec *
tasklog_get(const struct tasklog *t, size_t i)
{
	if (i >= t->len)
		return NULL;
	return &t->recs[(t->head + t->cap - 1 - i) % t->cap];
}

bool
tasklog_match(const struct task_rec *r, const void *pool,
    enum tasklog_outcome outcome)
{
	if (pool != NULL && r->pool != pool)
		return false;
	if (outcome == TASKLOG_OK && !r->ok)
		return false;
	if (outcome == TASKLOG_ERROR && r->ok)
		return false;
	return true;
}

size_t
tasklog_count(const struct tasklog *t, const void *pool,
    enum tasklog_outcome outcome)
{
	size_t i, n = 0;

	for (i = 0; i < t->len; i++) {
		if (tasklog_match(tasklog_get(t, i), pool, outcome))
			n++;
	}
	return n;
}
