/*
 * The dashboard's private header: one section per ui/ file, as tmux.h.
 * Only ui/ includes this (and <curses.h>); the pure parts (model, spark,
 * text, tasklog) need no engine and no terminal, so tests link them alone.
 */
#ifndef POOLTOP_DASH_H
#define POOLTOP_DASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <wchar.h>

/* ---- model.c: the process table's rows, sorted and filtered ----------- */

enum model_col {
	COL_POOL,
	COL_SLOT,
	COL_PID,
	COL_PPID,
	COL_TYPE,
	COL_STATE,
	COL_CPU,
	COL_RSS,
	COL_DONE,
	COL_INFLIGHT,
	COL_ERRORS,
	COL_RESTARTS,
	COL_UPTIME,
	COL_SPARK,		/* CPU history; sorts as COL_CPU */
	COL_COUNT
};

enum model_type {
	MODEL_MANAGER,		/* pooltop itself */
	MODEL_WORKER,
	MODEL_SERVICE,
};

#define MODEL_POOL_MAX	32

/* One row: a worker, a service or the manager, as of the last refresh. */
struct model_row {
	const void	*pool;		/* identity only, never dereferenced; NULL: manager */
	char		 pool_name[MODEL_POOL_MAX];
	int		 slot;		/* -1: manager */
	pid_t		 pid;		/* 0: no process in the slot */
	pid_t		 ppid;
	enum model_type	 type;
	int		 state;		/* enum worker_state; -1: manager */
	const char	*state_name;	/* static text */
	char		 proc_state;	/* from /proc; 0 unknown */
	double		 cpu;		/* percent of one core */
	uint64_t	 rss;		/* bytes */
	uint64_t	 done;
	uint64_t	 errors;
	unsigned	 in_flight;
	unsigned	 restarts;
	uint64_t	 uptime_ms;
	unsigned	 weight;
	int		 last_status;	/* of the previous process */
	int		 last_signal;
	bool		 tagged;	/* set by model_finish() from the tag set */
};

/* Who a row is, across refreshes: pool, slot and pid. */
struct model_key {
	const void	*pool;
	int		 slot;
	pid_t		 pid;
};

struct model {
	struct model_row *rows;		/* every row of the refresh */
	size_t		 nrows;
	size_t		 cap;
	size_t		*order;		/* visible rows, sorted: indices into rows */
	size_t		 nvisible;
	struct model_key *tags;		/* tagged rows, sorted */
	size_t		 ntags;
	enum model_col	 sort_col;
	bool		 sort_desc;
	char		 filter[64];	/* hides rows not matching; "" none */
	size_t		 sel;		/* index into order */
	bool		 have_sel;
	struct model_key sel_key;
};

int	model_init(struct model *, size_t cap);
void	model_free(struct model *);
/* A refresh: model_clear(), model_add() per row, model_finish(). */
void	model_clear(struct model *);
struct model_row *model_add(struct model *);	/* zeroed; NULL on ENOMEM */
void	model_finish(struct model *);

size_t	model_count(const struct model *);	/* visible rows */
const struct model_row *model_row(const struct model *, size_t i);
size_t	model_total(const struct model *);	/* all rows, filtered or not */
const struct model_row *model_any_row(const struct model *, size_t i);

const struct model_row *model_selected(const struct model *);	/* NULL: none */
size_t	model_selection(const struct model *);
void	model_select(struct model *, size_t i);
void	model_move(struct model *, long delta);

void	model_set_sort(struct model *, enum model_col, bool desc);
void	model_sort_step(struct model *, int dir);	/* < and > */
void	model_invert(struct model *);
bool	model_col_default_desc(enum model_col);
const char *model_col_name(enum model_col);

void	model_set_filter(struct model *, const char *);
bool	model_row_matches(const struct model_row *, const char *text);
/* Moves the selection to the next (or previous) match; false if none. */
bool	model_search(struct model *, const char *text, bool forward,
	    bool skip_current);

void	model_tag_toggle(struct model *);	/* the selected row */
void	model_untag_all(struct model *);
size_t	model_ntagged(const struct model *);

/* Which columns fit in a width, and where (the pure part of the table). */
struct model_layout {
	bool	 shown[COL_COUNT];
	int	 x[COL_COUNT];
	int	 w[COL_COUNT];
	int	 width;			/* columns used */
};
void	model_layout(struct model_layout *, int width);
/* The column at screen x of a header drawn with that layout; -1: none. */
int	model_layout_hit(const struct model_layout *, int x);

/* ---- format.c: numbers and text for a person --------------------------- */

/* 512B 1.5K 12K 3.2M 120M 1.0G: at most 5 characters. */
void	fmt_bytes(char *, size_t, uint64_t bytes);
/* 45s 12m05s 3h05m 2d03h: at most 6 characters. */
void	fmt_uptime(char *, size_t, uint64_t ms);
/* 0.0 12.5 99.9 100 250: at most 5 characters. */
void	fmt_cpu(char *, size_t, double pct);
/* 999999 1.2M 12.3G: a count in at most 6 characters. */
void	fmt_count(char *, size_t, uint64_t n);
/* 850us 12.3ms 1.20s 75s. */
void	fmt_latency(char *, size_t, uint64_t us);
/* Printable ASCII excerpt of bytes; "..." marks a cut.  Returns length. */
size_t	fmt_excerpt(char *, size_t, const void *data, size_t len);
/*
 * Decodes up to len bytes of text into wide characters that fit in
 * maxcols columns (control and invalid bytes become '?', a tab a space);
 * out gets at most outn-1 characters and a terminating L'\0'.  Returns
 * the columns used.
 */
int	fmt_wide(wchar_t *out, size_t outn, const char *s, size_t len,
	    int maxcols);
/* Case-insensitive substring search in the first len bytes. */
const char *fmt_find(const char *s, size_t len, const char *needle);

/* ---- spark.c: sparklines ----------------------------------------------- */

#define SPARK_LEVELS_UTF8	8	/* ▁▂▃▄▅▆▇█ */
#define SPARK_LEVELS_ASCII	9	/* .:-=+*#%@ */

/* 0 for v <= lo (or no range), else 1..levels in proportion to hi. */
int	spark_level(double v, double lo, double hi, int levels);
/*
 * Renders the newest min(n, width) values, oldest first, into out
 * (NUL-terminated, blank for level 0), blocks or ASCII; values at or
 * above hi show as the top level.  Returns the columns drawn.
 */
size_t	spark_render(char *out, size_t outsz, const double *v, size_t n,
	    double lo, double hi, size_t width, bool utf8);
/* Minimum and maximum of n values (0 and 0 when n is 0). */
void	spark_range(const double *v, size_t n, double *min, double *max);

/* ---- tasklog.c: the ring of finished tasks ----------------------------- */

/* A finished task as recorded and as read back. */
struct task_rec {
	uint64_t	 time_ms;
	uint64_t	 latency_us;
	uint64_t	 id;
	const void	*pool;		/* identity for the pool filter */
	char		 pool_name[MODEL_POOL_MAX];
	int		 slot;
	pid_t		 pid;
	bool		 ok;
	char		 task[32];
	char		 payload[64];
	char		 result[96];
};

enum tasklog_outcome { TASKLOG_ALL, TASKLOG_OK, TASKLOG_ERROR };

/* What a kept record holds besides its texts (tasklog.c). */
struct tasklog_ent;

/*
 * At most cap records, newest first; the fixed part of each in a ring of
 * entries, its four texts (pool, task, payload, result) packed in a byte
 * ring of TASKLOG_TEXT_AVG bytes per record.  Records of long texts may
 * make the oldest go before cap are kept; a record never needs more than
 * its share of the bytes kept for cap.
 */
#define TASKLOG_TEXT_AVG	96

struct tasklog {
	struct tasklog_ent *ents;
	char		*text;		/* tcap bytes, a FIFO ring */
	size_t		 tcap;
	uint64_t	 tfirst;	/* text offset of the oldest record */
	uint64_t	 tnext;		/* where the next record's texts go */
	size_t		 cap;
	size_t		 head;		/* next entry written */
	size_t		 len;
	uint64_t	 total;		/* ever added */
	struct task_rec	 out;		/* what tasklog_get returns */
};

int	tasklog_init(struct tasklog *, size_t cap);
void	tasklog_free(struct tasklog *);
/* Copies a record in (texts cut to their fields); the oldest make room. */
void	tasklog_push(struct tasklog *, const struct task_rec *);
size_t	tasklog_len(const struct tasklog *);
/*
 * i = 0 is the newest.  The record is the tasklog's own copy, valid until
 * the next tasklog_get or tasklog_push.
 */
const struct task_rec *tasklog_get(struct tasklog *, size_t i);
bool	tasklog_match(const struct task_rec *, const void *pool,
	    enum tasklog_outcome);
/* How many records match. */
size_t	tasklog_count(const struct tasklog *, const void *pool,
	    enum tasklog_outcome);
/* Bytes held for records (entries and texts), for tests and benches. */
size_t	tasklog_bytes(const struct tasklog *);

#endif
