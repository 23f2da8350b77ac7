/*
 * The process table's model: rows copied from the engine and the sampler
 * at each refresh into preallocated arrays, then tagged, filtered and
 * sorted, with the selection kept on the same worker (pool, slot, pid)
 * across re-sorts and refreshes.  Pure: no engine, no terminal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash.h"

/* Column definitions: header text, width (room for the sort mark), priority. */
static const struct {
	const char	*name;
	int		 width;
	int		 prio;		/* lower: shown first on narrow screens */
	bool		 desc;		/* default direction when chosen */
} model_cols[COL_COUNT] = {
	[COL_POOL] =	 { "POOL",	10, 0, false },
	[COL_SLOT] =	 { "SLOT",	 5, 0, false },
	[COL_PID] =	 { "PID",	 7, 0, false },
	[COL_PPID] =	 { "PPID",	 7, 6, false },
	[COL_TYPE] =	 { "TYPE",	 8, 5, false },
	[COL_STATE] =	 { "STATE",	 9, 0, false },
	[COL_CPU] =	 { "CPU%",	 6, 0, true },
	[COL_RSS] =	 { "RSS",	 6, 0, true },
	[COL_DONE] =	 { "DONE",	 7, 1, true },
	[COL_INFLIGHT] = { "INFL",	 5, 1, true },
	[COL_ERRORS] =	 { "ERR",	 5, 2, true },
	[COL_RESTARTS] = { "RST",	 4, 4, true },
	[COL_UPTIME] =	 { "UPTIME",	 7, 3, true },
	[COL_SPARK] =	 { "CPU HISTORY", 8, 2, true },
};

#define MODEL_PRIO_MAX		6
#define MODEL_SPARK_MAX		60
#define MODEL_POOL_WIDTH_MAX	(MODEL_POOL_MAX - 1)

const char *
model_col_name(enum model_col c)
{
	if (c < 0 || c >= COL_COUNT)
		return NULL;
	return model_cols[c].name;
}

bool
model_col_default_desc(enum model_col c)
{
	if (c < 0 || c >= COL_COUNT)
		return false;
	return model_cols[c].desc;
}

int
model_init(struct model *m, size_t cap)
{
	memset(m, 0, sizeof *m);
	if (cap == 0)
		cap = 16;
	m->rows = calloc(cap, sizeof *m->rows);
	m->order = calloc(cap, sizeof *m->order);
	m->tags = calloc(cap, sizeof *m->tags);
	if (m->rows == NULL || m->order == NULL || m->tags == NULL)
		goto fail;
	m->cap = cap;
	m->sort_col = COL_POOL;
	return 0;

fail:
	model_free(m);
	return -ENOMEM;
}

void
model_free(struct model *m)
{
	free(m->rows);
	free(m->order);
	free(m->tags);
	m->rows = NULL;
	m->order = NULL;
	m->tags = NULL;
	m->cap = m->nrows = m->nvisible = m->ntags = 0;
}

void
model_clear(struct model *m)
{
	m->nrows = 0;
}

/* Doubles every array; only when the workers outgrow the last refresh. */
static int
model_grow(struct model *m)
{
	size_t			 cap = m->cap * 2;
	struct model_row	*rows;
	size_t			*order;
	struct model_key	*tags;

	rows = realloc(m->rows, cap * sizeof *rows);
	if (rows == NULL)
		return -ENOMEM;
	m->rows = rows;
	order = realloc(m->order, cap * sizeof *order);
	if (order == NULL)
		return -ENOMEM;
	m->order = order;
	tags = realloc(m->tags, cap * sizeof *tags);
	if (tags == NULL)
		return -ENOMEM;
	m->tags = tags;
	m->cap = cap;
	return 0;
}

struct model_row *
model_add(struct model *m)
{
	struct model_row *r;

	if (m->nrows == m->cap && model_grow(m) != 0)
		return NULL;
	r = &m->rows[m->nrows++];
	memset(r, 0, sizeof *r);
	return r;
}

static int
model_key_cmp(const void *a, const void *b)
{
	const struct model_key	*x = a, *y = b;

	if (x->pool != y->pool)
		return (uintptr_t)x->pool < (uintptr_t)y->pool ? -1 : 1;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return 0;
}

static struct model_key
model_row_key(const struct model_row *r)
{
	struct model_key k;

	memset(&k, 0, sizeof k);
	k.pool = r->pool;
	k.slot = r->slot;
	k.pid = r->pid;
	return k;
}

/* The tag set becomes exactly the tagged rows (stale keys are dropped). */
static void
model_tags_collect(struct model *m)
{
	size_t i;

	m->ntags = 0;
	for (i = 0; i < m->nrows; i++) {
		if (m->rows[i].tagged)
			m->tags[m->ntags++] = model_row_key(&m->rows[i]);
	}
	qsort(m->tags, m->ntags, sizeof *m->tags, model_key_cmp);
}

static int
model_num_cmp(double a, double b)
{
	return a < b ? -1 : a > b;
}

static int
model_u64_cmp(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/* Orders two rows by the sort column, then by pool, slot and pid. */
static int
model_row_cmp(const void *a, const void *b, void *arg)
{
	const struct model	*m = arg;
	const struct model_row	*x = &m->rows[*(const size_t *)a];
	const struct model_row	*y = &m->rows[*(const size_t *)b];
	int			 c = 0;

	switch (m->sort_col) {
	case COL_POOL:
		c = strcmp(x->pool_name, y->pool_name);
		break;
	case COL_SLOT:
		c = model_num_cmp(x->slot, y->slot);
		break;
	case COL_PID:
		c = model_num_cmp(x->pid, y->pid);
		break;
	case COL_PPID:
		c = model_num_cmp(x->ppid, y->ppid);
		break;
	case COL_TYPE:
		c = model_num_cmp(x->type, y->type);
		break;
	case COL_STATE:
		c = model_num_cmp(x->state, y->state);
		break;
	case COL_CPU:
	case COL_SPARK:
		c = model_num_cmp(x->cpu, y->cpu);
		break;
	case COL_RSS:
		c = model_u64_cmp(x->rss, y->rss);
		break;
	case COL_DONE:
		c = model_u64_cmp(x->done, y->done);
		break;
	case COL_INFLIGHT:
		c = model_num_cmp(x->in_flight, y->in_flight);
		break;
	case COL_ERRORS:
		c = model_u64_cmp(x->errors, y->errors);
		break;
	case COL_RESTARTS:
		c = model_num_cmp(x->restarts, y->restarts);
		break;
	case COL_UPTIME:
		c = model_u64_cmp(x->uptime_ms, y->uptime_ms);
		break;
	case COL_COUNT:
		break;
	}
	if (m->sort_desc)
		c = -c;
	if (c == 0)
		c = strcmp(x->pool_name, y->pool_name);
	if (c == 0)
		c = model_num_cmp(x->slot, y->slot);
	if (c == 0)
		c = model_num_cmp(x->pid, y->pid);
	return c;
}

/* Puts the selection back on the row it was on, by key. */
static void
model_reselect(struct model *m)
{
	size_t	i, slot_match = (size_t)-1;

	if (m->nvisible == 0) {
		m->sel = 0;
		return;
	}
	if (!m->have_sel) {
		model_select(m, 0);
		return;
	}
	for (i = 0; i < m->nvisible; i++) {
		const struct model_row *r = &m->rows[m->order[i]];

		if (r->pool != m->sel_key.pool || r->slot != m->sel_key.slot)
			continue;
		if (r->pid == m->sel_key.pid) {
			m->sel = i;
			return;
		}
		if (slot_match == (size_t)-1)
			slot_match = i;
	}
	/* The worker was replaced in its slot: follow the slot. */
	if (slot_match != (size_t)-1) {
		model_select(m, slot_match);
		return;
	}
	/* Gone (or filtered out): stay at the same place on the screen. */
	model_select(m, m->sel < m->nvisible ? m->sel : m->nvisible - 1);
}

static void
model_sort(struct model *m)
{
	qsort_r(m->order, m->nvisible, sizeof *m->order, model_row_cmp, m);
}

/* Filters, sorts and reselects after rows or settings changed. */
static void
model_update(struct model *m)
{
	size_t i;

	m->nvisible = 0;
	for (i = 0; i < m->nrows; i++) {
		if (m->filter[0] == '\0' ||
		    model_row_matches(&m->rows[i], m->filter))
			m->order[m->nvisible++] = i;
	}
	model_sort(m);
	model_reselect(m);
}

void
model_finish(struct model *m)
{
	size_t			 i;
	struct model_key	 k;

	for (i = 0; i < m->nrows; i++) {
		k = model_row_key(&m->rows[i]);
		m->rows[i].tagged = m->ntags > 0 && bsearch(&k, m->tags,
		    m->ntags, sizeof *m->tags, model_key_cmp) != NULL;
	}
	model_tags_collect(m);
	model_update(m);
}

size_t
model_count(const struct model *m)
{
	return m->nvisible;
}

const struct model_row *
model_row(const struct model *m, size_t i)
{
	if (i >= m->nvisible)
		return NULL;
	return &m->rows[m->order[i]];
}

size_t
model_total(const struct model *m)
{
	return m->nrows;
}

const struct model_row *
model_any_row(const struct model *m, size_t i)
{
	if (i >= m->nrows)
		return NULL;
	return &m->rows[i];
}

const struct model_row *
model_selected(const struct model *m)
{
	if (!m->have_sel || m->sel >= m->nvisible)
		return NULL;
	return &m->rows[m->order[m->sel]];
}

size_t
model_selection(const struct model *m)
{
	return m->sel;
}

void
model_select(struct model *m, size_t i)
{
	if (m->nvisible == 0)
		return;
	if (i >= m->nvisible)
		i = m->nvisible - 1;
	m->sel = i;
	m->have_sel = true;
	m->sel_key = model_row_key(&m->rows[m->order[i]]);
}

void
model_move(struct model *m, long delta)
{
	long i;

	if (m->nvisible == 0)
		return;
	i = (long)m->sel + delta;
	if (i < 0)
		i = 0;
	if (i >= (long)m->nvisible)
		i = (long)m->nvisible - 1;
	model_select(m, (size_t)i);
}

void
model_set_sort(struct model *m, enum model_col c, bool desc)
{
	if (c < 0 || c >= COL_COUNT)
		return;
	m->sort_col = c;
	m->sort_desc = desc;
	model_sort(m);
	model_reselect(m);
}

void
model_sort_step(struct model *m, int dir)
{
	int c = (int)m->sort_col;

	/* The sparkline sorts as CPU%, so stepping skips it. */
	do
		c = (c + (dir < 0 ? COL_COUNT - 1 : 1)) % COL_COUNT;
	while (c == COL_SPARK);
	model_set_sort(m, (enum model_col)c, model_cols[c].desc);
}

void
model_invert(struct model *m)
{
	model_set_sort(m, m->sort_col, !m->sort_desc);
}

void
model_set_filter(struct model *m, const char *text)
{
	snprintf(m->filter, sizeof m->filter, "%s", text ? text : "");
	model_update(m);
}

static const char *
model_type_name(enum model_type t)
{
	switch (t) {
	case MODEL_MANAGER:
		return "manager";
	case MODEL_WORKER:
		return "worker";
	case MODEL_SERVICE:
		return "service";
	}
	return "?";
}

bool
model_row_matches(const struct model_row *r, const char *text)
{
	char	buf[MODEL_POOL_MAX + 96];
	int	n;

	if (text == NULL || text[0] == '\0')
		return true;
	if (r->type == MODEL_MANAGER)
		n = snprintf(buf, sizeof buf, "pooltop %d %s", (int)r->pid,
		    model_type_name(r->type));
	else
		n = snprintf(buf, sizeof buf, "%s/%d %d %s %s", r->pool_name,
		    r->slot, (int)r->pid,
		    r->state_name ? r->state_name : "",
		    model_type_name(r->type));
	if (n < 0)
		return false;
	if ((size_t)n >= sizeof buf)
		n = sizeof buf - 1;
	return fmt_find(buf, (size_t)n, text) != NULL;
}

bool
model_search(struct model *m, const char *text, bool forward,
    bool skip_current)
{
	size_t	n = m->nvisible, k, i;

	if (n == 0 || text == NULL || text[0] == '\0')
		return false;
	for (k = skip_current ? 1 : 0; k < n + (skip_current ? 1 : 0); k++) {
		if (forward)
			i = (m->sel + k) % n;
		else
			i = (m->sel + n - (k % n)) % n;
		if (model_row_matches(&m->rows[m->order[i]], text)) {
			model_select(m, i);
			return true;
		}
	}
	return false;
}

void
model_tag_toggle(struct model *m)
{
	struct model_row *r;

	if (!m->have_sel || m->sel >= m->nvisible)
		return;
	r = &m->rows[m->order[m->sel]];
	r->tagged = !r->tagged;
	model_tags_collect(m);
	model_move(m, 1);
}

void
model_untag_all(struct model *m)
{
	size_t i;

	for (i = 0; i < m->nrows; i++)
		m->rows[i].tagged = false;
	m->ntags = 0;
}

size_t
model_ntagged(const struct model *m)
{
	return m->ntags;
}

void
model_layout(struct model_layout *l, int width)
{
	int	used = 1, prio, c, x, extra, add;	/* column 0: the tag mark */

	memset(l, 0, sizeof *l);
	for (prio = 0; prio <= MODEL_PRIO_MAX; prio++) {
		for (c = 0; c < COL_COUNT; c++) {
			if (model_cols[c].prio != prio)
				continue;
			if (used + model_cols[c].width + 1 > width)
				continue;
			l->shown[c] = true;
			l->w[c] = model_cols[c].width;
			used += model_cols[c].width + 1;
		}
	}
	/* What is left widens the sparkline, then the pool names. */
	extra = width - used;
	if (l->shown[COL_SPARK] && extra > 0) {
		add = MODEL_SPARK_MAX - l->w[COL_SPARK];
		if (add > extra)
			add = extra;
		l->w[COL_SPARK] += add;
		extra -= add;
	}
	if (l->shown[COL_POOL] && extra > 0) {
		add = MODEL_POOL_WIDTH_MAX - l->w[COL_POOL];
		if (add > extra)
			add = extra;
		if (add > 0)
			l->w[COL_POOL] += add;
	}
	x = 1;
	for (c = 0; c < COL_COUNT; c++) {
		if (!l->shown[c])
			continue;
		l->x[c] = x;
		x += l->w[c] + 1;
	}
	l->width = x - 1;
}

int
model_layout_hit(const struct model_layout *l, int x)
{
	int c;

	for (c = 0; c < COL_COUNT; c++) {
		if (l->shown[c] && x >= l->x[c] && x <= l->x[c] + l->w[c])
			return c;
	}
	return -1;
}
