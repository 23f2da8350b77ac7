/*
 * Reading the workers' log rings for `pooltop ctl logs` (see
 * pooltop/logtail.h).
 *
 * Each read walks the chosen slots' rings from their cursors with
 * pool_worker_log(), collects pointers to the lines (valid until the next
 * line is pushed, which cannot happen during the read: it is all on the
 * loop's thread), sorts them by time, and writes the records.  Within a
 * slot the order is the ring's: the sort key is the line's time made
 * monotonic per slot, so a wall clock that steps back never reorders a
 * worker's own lines, and a batch cut at max bytes always leaves each
 * slot at a clean cursor.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pooltop/logline.h"
#include "pooltop/logtail.h"

struct tail_pool {
	struct pool	*pool;
	uint64_t	*next;		/* per slot: the next line to read */
	bool		*seen;		/* per slot: next is known */
	size_t		 nslots;
};

struct tail_entry {
	uint64_t	 key;		/* time, monotonic within the slot */
	uint64_t	 time_ms;
	uint64_t	 seq;		/* in the slot's ring */
	uint64_t	 count;		/* a dropped record: lines left out */
	size_t		 tp;		/* index in t->pools */
	int		 slot;
	int		 stream;	/* 0: a dropped record */
	const char	*text;
	size_t		 len;
};

struct logtail {
	struct engine		*engine;
	char			*only_pool;	/* a pool's name; NULL: every pool */
	int			 only_slot;	/* -1: every slot */
	struct tail_pool	*pools;
	size_t			 npools;
	struct tail_entry	*ents;
	size_t			 nents;
	size_t			 ents_cap;
	struct pool_worker_info	*rows;
	size_t			 rows_cap;
	bool			 oom;
	int			 error;		/* of logtail_pools() */
};

/* What the ring callback appends to. */
struct tail_collect {
	struct logtail	*t;
	size_t		 tp;
	int		 slot;
};

int
logtail_new(struct logtail **out, struct engine *e, struct pool *pool,
    int slot)
{
	struct logtail	*t;

	*out = NULL;
	t = calloc(1, sizeof *t);
	if (t == NULL)
		return (-ENOMEM);
	t->engine = e;
	t->only_slot = pool != NULL ? slot : -1;
	/* By name: a pool replaced by a config reload is followed on. */
	if (pool != NULL && (t->only_pool = strdup(pool_name(pool))) == NULL) {
		free(t);
		return (-ENOMEM);
	}
	*out = t;
	return (0);
}

void
logtail_free(struct logtail *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->npools; i++) {
		free(t->pools[i].next);
		free(t->pools[i].seen);
	}
	free(t->pools);
	free(t->ents);
	free(t->rows);
	free(t->only_pool);
	free(t);
}

/* The entry to fill next, or NULL (and oom) when the array cannot grow. */
static struct tail_entry *
logtail_entry(struct logtail *t)
{
	struct tail_entry	*n;
	size_t			 cap;

	if (t->nents == t->ents_cap) {
		cap = t->ents_cap == 0 ? 256 : t->ents_cap * 2;
		n = realloc(t->ents, cap * sizeof *n);
		if (n == NULL) {
			t->oom = true;
			return (NULL);
		}
		t->ents = n;
		t->ents_cap = cap;
	}
	return (&t->ents[t->nents++]);
}

static void
logtail_collect_cb(const struct pool_log_line *l, void *arg)
{
	struct tail_collect	*c = arg;
	struct tail_entry	*e;

	if ((e = logtail_entry(c->t)) == NULL)
		return;
	memset(e, 0, sizeof *e);
	e->time_ms = l->time_ms;
	e->tp = c->tp;
	e->slot = c->slot;
	e->stream = (int)l->stream;
	e->text = l->text;
	e->len = l->len;
}

static void
logtail_nothing_cb(const struct pool_log_line *l, void *arg)
{
	(void)l;
	(void)arg;
}

/* The cursor arrays of a pool, grown to hold slot; false on ENOMEM. */
static bool
logtail_grow(struct logtail *t, struct tail_pool *tp, int slot)
{
	uint64_t	*next;
	bool		*seen;
	size_t		 n = (size_t)slot + 1;

	if (n <= tp->nslots)
		return (true);
	next = realloc(tp->next, n * sizeof *next);
	if (next != NULL)
		tp->next = next;
	seen = realloc(tp->seen, n * sizeof *seen);
	if (seen != NULL)
		tp->seen = seen;
	if (next == NULL || seen == NULL) {
		t->oom = true;
		return (false);
	}
	memset(tp->next + tp->nslots, 0, (n - tp->nslots) * sizeof *next);
	memset(tp->seen + tp->nslots, 0, (n - tp->nslots) * sizeof *seen);
	tp->nslots = n;
	return (true);
}

/*
 * The pools to read, in the engine's order, as they are now: a pool
 * removed from the engine (a config reload) is forgotten at once, since
 * its memory goes once its workers are gone, and a new one is read from
 * its first line.  0, -ENOENT (the one pool asked for is gone) or
 * -ENOMEM.
 */
static int
logtail_pools(struct logtail *t)
{
	struct pool		**all, *one;
	struct tail_pool	 *np;
	size_t			  n, i, j;

	if (t->only_pool != NULL) {
		if ((one = engine_pool(t->engine, t->only_pool)) == NULL)
			return (-ENOENT);
		n = 1;
		all = &one;
	} else {
		n = engine_pools(t->engine, NULL, 0);
		if ((all = calloc(n + 1, sizeof *all)) == NULL)
			return (-ENOMEM);
		n = engine_pools(t->engine, all, n);
	}
	if ((np = calloc(n + 1, sizeof *np)) == NULL) {
		if (all != &one)
			free(all);
		return (-ENOMEM);
	}
	for (i = 0; i < n; i++) {
		np[i].pool = all[i];
		for (j = 0; j < t->npools; j++) {
			if (t->pools[j].pool == all[i]) {
				np[i] = t->pools[j];
				t->pools[j].pool = NULL;	/* moved */
				break;
			}
		}
	}
	for (j = 0; j < t->npools; j++) {
		if (t->pools[j].pool != NULL) {
			free(t->pools[j].next);
			free(t->pools[j].seen);
		}
	}
	free(t->pools);
	t->pools = np;
	t->npools = n;
	if (all != &one)
		free(all);
	return (0);
}

/*
 * Collects the lines of one slot from its cursor (backlog: its last
 * `lines`), with a dropped record first when the ring moved past the
 * cursor.  Sets the entries' sequence numbers and sort keys.
 */
static void
logtail_scan_slot(struct logtail *t, size_t tpi, int slot, bool backlog,
    size_t lines)
{
	struct tail_pool	*tp = &t->pools[tpi];
	struct tail_collect	 c;
	struct tail_entry	*e;
	uint64_t		 from, next, first, key = 0;
	size_t			 start, k, i;
	bool			 was_seen;

	if (!logtail_grow(t, tp, slot))
		return;
	c.t = t;
	c.tp = tpi;
	c.slot = slot;
	was_seen = tp->seen[slot];
	if (backlog) {
		next = pool_worker_log(tp->pool, slot, UINT64_MAX,
		    logtail_nothing_cb, NULL);
		from = next > lines ? next - lines : 0;
	} else
		from = was_seen ? tp->next[slot] : 0;
	start = t->nents;
	next = pool_worker_log(tp->pool, slot, from, logtail_collect_cb, &c);
	if (next < from) {
		/* A new ring: the slot was removed and made again. */
		from = 0;
		was_seen = false;
		next = pool_worker_log(tp->pool, slot, from,
		    logtail_collect_cb, &c);
	}
	tp->seen[slot] = true;
	/* The backlog consumes it all; a batch moves the cursor later. */
	tp->next[slot] = backlog ? next : from;
	if (t->oom)
		return;
	k = t->nents - start;
	if (k == 0)
		return;
	first = next - k;
	for (i = 0; i < k; i++) {
		e = &t->ents[start + i];
		e->seq = first + i;
		if (e->time_ms > key)
			key = e->time_ms;
		e->key = key;
	}
	if (!backlog && was_seen && first > from) {
		/* Lost before they were read: say so, in place. */
		if ((e = logtail_entry(t)) == NULL)
			return;
		memset(e, 0, sizeof *e);
		e->tp = tpi;
		e->slot = slot;
		e->count = first - from;
		e->seq = first - 1;
		e->time_ms = t->ents[start].time_ms;
		e->key = t->ents[start].key;
	}
}

/* Collects from every chosen slot. */
static void
logtail_scan(struct logtail *t, bool backlog, size_t lines)
{
	struct pool	*p;
	size_t		 tpi, n, i;

	t->nents = 0;
	t->oom = false;
	if ((t->error = logtail_pools(t)) != 0)
		return;
	for (tpi = 0; tpi < t->npools && !t->oom && t->error == 0; tpi++) {
		p = t->pools[tpi].pool;
		if (t->only_slot >= 0) {
			logtail_scan_slot(t, tpi, t->only_slot, backlog, lines);
			continue;
		}
		for (;;) {
			n = pool_snapshot(p, t->rows, t->rows_cap);
			if (n <= t->rows_cap)
				break;
			free(t->rows);
			t->rows_cap = n + 8;
			t->rows = calloc(t->rows_cap, sizeof *t->rows);
			if (t->rows == NULL) {
				t->rows_cap = 0;
				t->oom = true;
				return;
			}
		}
		for (i = 0; i < n && !t->oom; i++)
			logtail_scan_slot(t, tpi, t->rows[i].slot, backlog,
			    lines);
	}
}

static int
logtail_cmp(const void *a, const void *b)
{
	const struct tail_entry	*x = a, *y = b;

	if (x->key != y->key)
		return (x->key < y->key ? -1 : 1);
	if (x->tp != y->tp)
		return (x->tp < y->tp ? -1 : 1);
	if (x->slot != y->slot)
		return (x->slot < y->slot ? -1 : 1);
	if (x->seq != y->seq)
		return (x->seq < y->seq ? -1 : 1);
	return (0);
}

/* Bytes a record takes at most. */
static size_t
logtail_record_size(const struct logtail *t, const struct tail_entry *e)
{
	return (20 + 1 + strlen(pool_name(t->pools[e->tp].pool)) + 1 + 11 +
	    1 + 8 + 1 + (e->stream == 0 ? 20 : e->len) + 1);
}

/* Writes one record at out (room for logtail_record_size); its length. */
static size_t
logtail_record(const struct logtail *t, const struct tail_entry *e,
    char *out)
{
	const char	*stream;
	size_t		 n, i;
	int		 r;

	if (e->stream == 0) {
		r = sprintf(out, "%" PRIu64 " %s/%d dropped %" PRIu64 "\n",
		    e->time_ms, pool_name(t->pools[e->tp].pool), e->slot,
		    e->count);
		return (r > 0 ? (size_t)r : 0);
	}
	stream = logline_tag((enum log_stream)e->stream);
	r = sprintf(out, "%" PRIu64 " %s/%d %s ", e->time_ms,
	    pool_name(t->pools[e->tp].pool), e->slot, stream != NULL ?
	    stream : "pooltop");
	if (r <= 0)
		return (0);
	n = (size_t)r;
	for (i = 0; i < e->len; i++)
		out[n++] = e->text[i] == '\n' ? ' ' : e->text[i];
	out[n++] = '\n';
	return (n);
}

/* Writes the records of ents[from..to) into a new buffer. */
static int
logtail_write(struct logtail *t, size_t from, size_t to,
    const struct tail_entry *pre, size_t npre, char **out, size_t *len)
{
	size_t	i, size = 1, o = 0;
	char	*buf;

	for (i = 0; i < npre; i++)
		size += logtail_record_size(t, &pre[i]);
	for (i = from; i < to; i++)
		size += logtail_record_size(t, &t->ents[i]);
	if ((buf = malloc(size)) == NULL)
		return (-ENOMEM);
	for (i = 0; i < npre; i++)
		o += logtail_record(t, &pre[i], buf + o);
	for (i = from; i < to; i++)
		o += logtail_record(t, &t->ents[i], buf + o);
	*out = buf;
	*len = o;
	return (0);
}

int
logtail_backlog(struct logtail *t, size_t lines, size_t max, char **out,
    size_t *len)
{
	struct tail_entry	*pre = NULL;
	size_t			 from, total = 0, npre = 0, i, j;
	int			 r;

	*out = NULL;
	*len = 0;
	logtail_scan(t, true, lines);
	if (t->error != 0)
		return (t->error);
	if (t->oom)
		return (-ENOMEM);
	if (t->nents > 1)
		qsort(t->ents, t->nents, sizeof *t->ents, logtail_cmp);
	/* The newest lines that fit; the rest are counted per slot. */
	for (from = t->nents; from > 0; from--) {
		size_t s = logtail_record_size(t, &t->ents[from - 1]);

		if (total + s > max)
			break;
		total += s;
	}
	if (from > 0) {
		pre = calloc(from, sizeof *pre);
		if (pre == NULL)
			return (-ENOMEM);
		for (i = 0; i < from; i++) {
			for (j = 0; j < npre; j++)
				if (pre[j].tp == t->ents[i].tp &&
				    pre[j].slot == t->ents[i].slot)
					break;
			if (j == npre) {
				pre[npre].tp = t->ents[i].tp;
				pre[npre].slot = t->ents[i].slot;
				pre[npre].time_ms = from < t->nents ?
				    t->ents[from].time_ms : t->ents[i].time_ms;
				npre++;
			}
			pre[j].count++;
		}
	}
	r = logtail_write(t, from, t->nents, pre, npre, out, len);
	free(pre);
	return (r);
}

int
logtail_next(struct logtail *t, size_t max, char **out, size_t *len,
    bool *more)
{
	struct tail_pool	*tp;
	struct tail_entry	*e;
	size_t			 to, total = 0, s;
	int			 r;

	*out = NULL;
	*len = 0;
	*more = false;
	logtail_scan(t, false, 0);
	if (t->error != 0)
		return (t->error);
	if (t->oom)
		return (-ENOMEM);
	if (t->nents == 0)
		return (0);
	if (t->nents > 1)
		qsort(t->ents, t->nents, sizeof *t->ents, logtail_cmp);
	for (to = 0; to < t->nents; to++) {
		s = logtail_record_size(t, &t->ents[to]);
		if (to > 0 && total + s > max)
			break;
		total += s;
	}
	if ((r = logtail_write(t, 0, to, NULL, 0, out, len)) != 0)
		return (r);
	/* Each slot's included lines are a prefix of its own: move past them. */
	for (s = 0; s < to; s++) {
		e = &t->ents[s];
		tp = &t->pools[e->tp];
		if (e->seq + 1 > tp->next[e->slot])
			tp->next[e->slot] = e->seq + 1;
	}
	*more = to < t->nents;
	return (0);
}

/* Parses a decimal number of at most 20 digits. */
static int
logtail_number(const char *s, size_t len, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (len == 0 || len > 20)
		return (-EINVAL);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-EINVAL);
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return (-EINVAL);
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return (0);
}

int
logtail_parse(const char *line, size_t len, struct logtail_record *rec)
{
	const char	*p = line, *end = line + len, *sp, *slash;
	uint64_t	 v;

	memset(rec, 0, sizeof *rec);
	/* TIME */
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL ||
	    logtail_number(p, (size_t)(sp - p), &rec->time_ms) != 0)
		return (-EINVAL);
	p = sp + 1;
	/* POOL/N */
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL)
		return (-EINVAL);
	for (slash = sp; slash > p && slash[-1] != '/'; slash--)
		;
	if (slash == p || slash - 1 == p ||
	    logtail_number(slash, (size_t)(sp - slash), &v) != 0 ||
	    v > INT32_MAX)
		return (-EINVAL);
	rec->pool = p;
	rec->pool_len = (size_t)(slash - 1 - p);
	rec->slot = (int)v;
	p = sp + 1;
	/* STREAM, then TEXT */
	sp = memchr(p, ' ', (size_t)(end - p));
	if (sp == NULL)
		return (-EINVAL);
	rec->text = sp + 1;
	rec->len = (size_t)(end - sp - 1);
	if ((size_t)(sp - p) == 3 && memcmp(p, "out", 3) == 0)
		rec->stream = LOG_STDOUT;
	else if ((size_t)(sp - p) == 3 && memcmp(p, "err", 3) == 0)
		rec->stream = LOG_STDERR;
	else if ((size_t)(sp - p) == 7 && memcmp(p, "pooltop", 7) == 0)
		rec->stream = LOG_POOLTOP;
	else if ((size_t)(sp - p) == 7 && memcmp(p, "dropped", 7) == 0) {
		rec->dropped = true;
		if (logtail_number(rec->text, rec->len, &rec->count) != 0)
			return (-EINVAL);
	} else
		return (-EINVAL);
	return (0);
}
