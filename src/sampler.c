/*
 * pooltop sampler: CPU and memory of registered processes, read from /proc
 * on a libuv timer, with a history ring per process.
 *
 * libproc2 is the reader of record: it identifies a process when it is
 * registered (start time, command) and reads the whole process table when a
 * registered process wants its descendants added (tree).  The per-tick
 * reading of each registered process goes through /proc/PID/stat and
 * /proc/PID/statm kept open and re-read with pread: the open fds stay bound
 * to the process they were opened for (a read fails with ESRCH once it is
 * reaped, even if the pid is reused), and skipping the path lookup makes a
 * tick cheaper than a bare open/read/close loop.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libproc2/misc.h>
#include <libproc2/pids.h>

#include "sampler-internal.h"

#define SAMPLER_DEFAULT_INTERVAL	1000
#define SAMPLER_DEFAULT_HISTORY		60
#define SAMPLER_HISTORY_MAX		1000000	/* entries per process */

/* Items read by libproc2 when a process is registered. */
static enum pids_item sampler_add_items[] = {
	PIDS_ID_PID, PIDS_TICS_BEGAN, PIDS_CMD,
};
enum { ADD_PID, ADD_BEGAN, ADD_CMD };

/* Items read by libproc2 for every process when building the tree. */
static enum pids_item sampler_tree_items[] = {
	PIDS_ID_PID, PIDS_ID_PPID, PIDS_TICS_ALL, PIDS_TICS_BEGAN, PIDS_MEM_RES,
};
enum { TREE_PID, TREE_PPID, TREE_TICS, TREE_BEGAN, TREE_RES };

#define NITEMS(a)	((int)(sizeof (a) / sizeof (a)[0]))

/* A descendant of a tree process, as seen at the last reading. */
struct sampler_desc {
	pid_t		 pid;
	uint64_t	 start_time;
	uint64_t	 ticks;
	uint64_t	 rss;		/* bytes */
};

/* One process of the last libproc2 reap of the whole table. */
struct sampler_node {
	pid_t		 pid;
	pid_t		 ppid;
	uint64_t	 start_time;
	uint64_t	 ticks;
	uint64_t	 rss;		/* bytes */
};

/*
 * One history entry: 8 bytes rather than two doubles, as a thousand
 * workers each keep a minute of them.  CPU% as a float (7 digits), RSS in
 * KiB (exact for page-sized amounts; saturates at 4 TiB).
 */
struct sampler_hist {
	float		 cpu;
	uint32_t	 rss_kb;
};

struct sampler_proc {
	pid_t			 pid;
	bool			 tree;
	bool			 gone;
	int			 fd_stat;	/* kept open, re-read with pread */
	int			 fd_statm;
	uint64_t		 start_time;	/* identity, from libproc2 */
	char			 cmd[16];	/* comm: at most 15 bytes (TASK_COMM_LEN) */

	uint64_t		 prev_ticks;	/* own utime+stime at last reading */
	uint64_t		 prev_ns;	/* uv_hrtime() of last reading */
	uint64_t		 acc_ticks;	/* ticks not yet turned into cpu */
	uint64_t		 acc_ns;
	struct proc_sample	 last;

	/* tree: descendants at the last reading, sorted by pid. */
	struct sampler_desc	*desc;
	size_t			 ndesc;
	uint64_t		 desc_boot;	/* boot ticks when desc was read */

	uint32_t		 hist_head;	/* index of the oldest entry */
	uint32_t		 hist_len;
	struct sampler_hist	 hist[];	/* s->history entries, a ring */
};

struct sampler_listener {
	sampler_refresh_cb	 cb;	/* NULL: removed during a refresh */
	void			*arg;
};

struct sampler {
	uv_loop_t		*loop;
	uv_timer_t		 timer;
	uint64_t		 interval_ms;
	size_t			 history;
	bool			 running;
	bool			 busy;		/* inside sampler_sample */
	bool			 dead;		/* sampler_free called */
	long			 hertz;
	long			 page_size;

	struct pids_info	*pi_add;
	struct pids_info	*pi_tree;	/* created with the first tree pid */

	struct sampler_proc	**procs;	/* sorted by pid */
	size_t			 nprocs;
	size_t			 procs_size;
	size_t			 ntree;		/* procs with tree set */

	/* The last reap, for tree processes. */
	struct sampler_node	*nodes;
	uint32_t		*by_ppid;	/* node indices sorted by ppid */
	uint32_t		*queue;
	size_t			 nnodes;
	size_t			 nodes_size;
	uint64_t		 reap_boot;	/* boot ticks when reaped */
	struct sampler_desc	*scratch;
	size_t			 scratch_size;

	struct sampler_listener	*listeners;
	size_t			 nlisteners;
	size_t			 listeners_size;
	bool			 listeners_dirty;

	sampler_gone_cb		 gone_cb;
	void			*gone_arg;
	pid_t			*gone;
	size_t			 gone_size;
};

static void	sampler_tick_cb(uv_timer_t *);
static void	sampler_close_cb(uv_handle_t *);

/* Grows *array to hold at least want elements of size each; 0 or -ENOMEM. */
static int
sampler_grow(void *array, size_t *size, size_t want, size_t each)
{
	void	**p = array;
	void	 *q;
	size_t	  n;

	if (want <= *size)
		return 0;
	n = *size < 16 ? 16 : *size;
	while (n < want)
		n *= 2;
	if (n > SIZE_MAX / each)
		return -ENOMEM;
	q = realloc(*p, n * each);
	if (q == NULL)
		return -ENOMEM;
	*p = q;
	*size = n;
	return 0;
}

/* Clock ticks since boot now, on the clock /proc/PID/stat start times use. */
static uint64_t
sampler_boot_ticks(long hertz)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * (uint64_t)hertz +
	    (uint64_t)ts.tv_nsec * (uint64_t)hertz / 1000000000u;
}

/*
 * Parses the fields pooltop needs from a /proc/PID/stat line.  The command
 * may hold spaces and parentheses, so fields are counted from the last ')'.
 */
static int
sampler_parse_stat(const char *buf, size_t len, struct sampler_raw *out)
{
	const char	*p, *end = buf + len, *start;
	uint64_t	 v, utime = 0;
	int		 field;

	p = memrchr(buf, ')', len);
	if (p == NULL || end - p < 4 || p[1] != ' ')
		return -1;
	out->state = p[2];
	p += 3;
	for (field = 4; field <= 23; field++) {
		if (p >= end || *p != ' ')
			return -1;
		p++;
		if (p < end && *p == '-')
			p++;
		start = p;
		v = 0;
		while (p < end && *p >= '0' && *p <= '9')
			v = v * 10 + (uint64_t)(*p++ - '0');
		if (p == start)
			return -1;
		switch (field) {
		case 4:
			out->ppid = (pid_t)v;
			break;
		case 14:
			utime = v;
			break;
		case 15:
			out->ticks = utime + v;
			break;
		case 20:
			out->threads = (unsigned)v;
			break;
		case 22:
			out->start_time = v;
			break;
		case 23:
			out->vsize = v;
			break;
		}
	}
	return 0;
}

/* Parses the resident field (the second) of a /proc/PID/statm line. */
static int
sampler_parse_statm(const char *buf, size_t len, uint64_t *resident)
{
	const char	*p = buf, *end = buf + len, *start;
	uint64_t	 v = 0;

	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p == buf || p >= end || *p != ' ')
		return -1;
	start = ++p;
	while (p < end && *p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	if (p == start)
		return -1;
	*resident = v;
	return 0;
}

/* Re-reads stat and statm from offset 0 of fds kept open. */
int
sampler_read_fds(int fd_stat, int fd_statm, long page_size,
    struct sampler_raw *out)
{
	char		buf[1024];
	ssize_t		n;
	uint64_t	resident;

	/*
	 * A /proc/PID file opened before the process was reaped keeps
	 * pointing at that process: once it is gone, read fails with ESRCH
	 * even if the pid now names another process.
	 */
	n = pread(fd_stat, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return n < 0 && errno != ESRCH ? -errno : -ESRCH;
	if (sampler_parse_stat(buf, (size_t)n, out) != 0)
		return -EIO;
	n = pread(fd_statm, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return n < 0 && errno != ESRCH ? -errno : -ESRCH;
	if (sampler_parse_statm(buf, (size_t)n, &resident) != 0)
		return -EIO;
	out->rss = resident * (uint64_t)page_size;
	return 0;
}

/* Opens /proc/PID/name read-only; -ESRCH if there is no such process. */
static int
sampler_open(pid_t pid, const char *name)
{
	char	path[64];
	int	fd;

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	return fd;
}

/* Appends to the process's history ring, dropping the oldest when full. */
static void
sampler_hist_push(const struct sampler *s, struct sampler_proc *p, double cpu,
    uint64_t rss)
{
	struct sampler_hist	*h;
	uint64_t		 kb = rss / 1024;

	if (p->hist_len == s->history)
		p->hist_head = (uint32_t)((p->hist_head + 1) % s->history);
	else
		p->hist_len++;
	h = &p->hist[(p->hist_head + p->hist_len - 1) % s->history];
	h->cpu = (float)cpu;
	h->rss_kb = kb > UINT32_MAX ? UINT32_MAX : (uint32_t)kb;
}

static void
sampler_proc_free(struct sampler_proc *p)
{
	if (p == NULL)
		return;
	if (p->fd_stat >= 0)
		close(p->fd_stat);
	if (p->fd_statm >= 0)
		close(p->fd_statm);
	free(p->desc);
	free(p);
}

/* Index of pid in s->procs, or of where it would go (*found false). */
static size_t
sampler_find(const struct sampler *s, pid_t pid, bool *found)
{
	size_t	lo = 0, hi = s->nprocs, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->procs[mid]->pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < s->nprocs && s->procs[lo]->pid == pid;
	return lo;
}

static struct sampler_proc *
sampler_lookup(const struct sampler *s, pid_t pid)
{
	bool	found;
	size_t	i;

	i = sampler_find(s, pid, &found);
	return found ? s->procs[i] : NULL;
}

int
sampler_new(struct sampler **out, uv_loop_t *loop,
    const struct sampler_options *opts)
{
	struct sampler	*s;
	int		 rc;

	*out = NULL;
	if (opts != NULL && opts->history > SAMPLER_HISTORY_MAX)
		return -EINVAL;
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return -ENOMEM;
	s->loop = loop;
	s->interval_ms = SAMPLER_DEFAULT_INTERVAL;
	s->history = SAMPLER_DEFAULT_HISTORY;
	if (opts != NULL && opts->interval_ms != 0)
		s->interval_ms = opts->interval_ms;
	if (opts != NULL && opts->history != 0)
		s->history = opts->history;
	s->hertz = procps_hertz_get();
	if (s->hertz <= 0)
		s->hertz = 100;
	s->page_size = sysconf(_SC_PAGESIZE);
	if (s->page_size <= 0)
		s->page_size = 4096;

	rc = procps_pids_new(&s->pi_add, sampler_add_items,
	    NITEMS(sampler_add_items));
	if (rc < 0)
		goto fail;

	/* Last, as from here on the memory is freed by the close callback. */
	rc = uv_timer_init(loop, &s->timer);
	if (rc < 0)
		goto fail;
	s->timer.data = s;
	*out = s;
	return 0;

fail:
	if (s->pi_add != NULL)
		procps_pids_unref(&s->pi_add);
	free(s);
	return rc < 0 ? rc : -EIO;
}

/* Frees everything once libuv no longer refers to the timer. */
static void
sampler_close_cb(uv_handle_t *h)
{
	struct sampler	*s = h->data;
	size_t		 i;

	for (i = 0; i < s->nprocs; i++)
		sampler_proc_free(s->procs[i]);
	free(s->procs);
	if (s->pi_add != NULL)
		procps_pids_unref(&s->pi_add);
	if (s->pi_tree != NULL)
		procps_pids_unref(&s->pi_tree);
	free(s->nodes);
	free(s->by_ppid);
	free(s->queue);
	free(s->scratch);
	free(s->listeners);
	free(s->gone);
	free(s);
}

void
sampler_free(struct sampler *s)
{
	if (s == NULL || s->dead)
		return;
	s->dead = true;
	s->running = false;
	uv_timer_stop(&s->timer);
	uv_close((uv_handle_t *)&s->timer, sampler_close_cb);
}

int
sampler_start(struct sampler *s)
{
	int	rc;

	if (s->dead)
		return -EINVAL;
	rc = uv_timer_start(&s->timer, sampler_tick_cb, s->interval_ms,
	    s->interval_ms);
	if (rc == 0)
		s->running = true;
	return rc;
}

void
sampler_stop(struct sampler *s)
{
	if (s->dead)
		return;
	uv_timer_stop(&s->timer);
	s->running = false;
}

uint64_t
sampler_interval(const struct sampler *s)
{
	return s->interval_ms;
}

/* Changes the interval; a running timer restarts with it. */
int
sampler_set_interval(struct sampler *s, uint64_t ms)
{
	if (ms == 0)
		return -EINVAL;
	s->interval_ms = ms;
	if (s->running && !s->dead)
		return sampler_start(s);
	return 0;
}

size_t
sampler_history_len(const struct sampler *s)
{
	return s->history;
}

size_t
sampler_count(const struct sampler *s)
{
	return s->nprocs;
}

const char *
sampler_command(const struct sampler *s, pid_t pid)
{
	struct sampler_proc	*p = sampler_lookup(s, pid);

	return p != NULL ? p->cmd : NULL;
}

/*
 * Registers pid: libproc2 reads its identity (start time, command), then
 * the kept-open fds are checked to name the same process.
 */
int
sampler_add(struct sampler *s, pid_t pid, bool tree)
{
	struct sampler_proc	*p;
	struct pids_fetch	*fetch;
	struct pids_stack	*st;
	struct sampler_raw	 raw;
	unsigned		 upid = (unsigned)pid;
	const char		*cmd;
	bool			 found;
	size_t			 at;
	int			 rc;

	if (s->dead || pid <= 0)
		return -EINVAL;
	at = sampler_find(s, pid, &found);
	if (found)
		return -EEXIST;
	if (tree && s->pi_tree == NULL) {
		rc = procps_pids_new(&s->pi_tree, sampler_tree_items,
		    NITEMS(sampler_tree_items));
		if (rc < 0)
			return rc;
	}
	rc = sampler_grow(&s->procs, &s->procs_size, s->nprocs + 1,
	    sizeof *s->procs);
	if (rc < 0)
		return rc;

	p = calloc(1, sizeof *p + s->history * sizeof p->hist[0]);
	if (p == NULL)
		return -ENOMEM;
	p->pid = pid;
	p->tree = tree;
	p->fd_stat = p->fd_statm = -1;

	/*
	 * Open first, identify second: if the pid changes hands in between,
	 * the start times below disagree and the registration fails.  Out of
	 * fds is -EMFILE (or -ENFILE), for the caller to report the limit.
	 */
	p->fd_stat = sampler_open(pid, "stat");
	if (p->fd_stat < 0) {
		rc = p->fd_stat;
		goto fail;
	}
	p->fd_statm = sampler_open(pid, "statm");
	if (p->fd_statm < 0) {
		rc = p->fd_statm;
		goto fail;
	}

	errno = 0;
	fetch = procps_pids_select(s->pi_add, &upid, 1, PIDS_SELECT_PID);
	if (fetch == NULL) {
		rc = errno != 0 ? -errno : -EIO;
		goto fail;
	}
	if (fetch->counts->total < 1 || (st = fetch->stacks[0]) == NULL ||
	    SAMPLER_PIDS_VAL(ADD_PID, s_int, st, s->pi_add) != pid) {
		rc = -ESRCH;
		goto fail;
	}
	p->start_time = SAMPLER_PIDS_VAL(ADD_BEGAN, ull_int, st, s->pi_add);
	cmd = SAMPLER_PIDS_VAL(ADD_CMD, str, st, s->pi_add);
	snprintf(p->cmd, sizeof p->cmd, "%s", cmd != NULL ? cmd : "");

	rc = sampler_read_fds(p->fd_stat, p->fd_statm, s->page_size, &raw);
	if (rc < 0 || raw.start_time != p->start_time) {
		rc = -ESRCH;
		goto fail;
	}
	p->prev_ticks = raw.ticks;
	p->prev_ns = uv_hrtime();
	p->desc_boot = sampler_boot_ticks(s->hertz);
	p->last.pid = pid;
	p->last.start_time = p->start_time;
	p->last.ppid = raw.ppid;

	memmove(&s->procs[at + 1], &s->procs[at],
	    (s->nprocs - at) * sizeof *s->procs);
	s->procs[at] = p;
	s->nprocs++;
	if (tree)
		s->ntree++;
	return 0;

fail:
	sampler_proc_free(p);
	return rc;
}

/* Removes procs[i] from the array and frees it. */
static void
sampler_drop(struct sampler *s, size_t i)
{
	struct sampler_proc	*p = s->procs[i];

	if (p->tree)
		s->ntree--;
	memmove(&s->procs[i], &s->procs[i + 1],
	    (s->nprocs - i - 1) * sizeof *s->procs);
	s->nprocs--;
	sampler_proc_free(p);
}

void
sampler_remove(struct sampler *s, pid_t pid)
{
	bool	found;
	size_t	i;

	if (s->dead)
		return;
	i = sampler_find(s, pid, &found);
	if (found)
		sampler_drop(s, i);
}

static int
sampler_node_cmp(const void *a, const void *b, void *arg)
{
	const struct sampler_node	*nodes = arg;
	pid_t				 pa, pb;

	pa = nodes[*(const uint32_t *)a].ppid;
	pb = nodes[*(const uint32_t *)b].ppid;
	return (pa > pb) - (pa < pb);
}

static int
sampler_desc_cmp(const void *a, const void *b)
{
	pid_t	pa = ((const struct sampler_desc *)a)->pid;
	pid_t	pb = ((const struct sampler_desc *)b)->pid;

	return (pa > pb) - (pa < pb);
}

/* Makes room for n nodes in the three arrays indexed alike. */
static int
sampler_nodes_grow(struct sampler *s, size_t n)
{
	void	*q;

	n += n / 2 + 64;
	if (n > SIZE_MAX / sizeof *s->nodes)
		return -ENOMEM;
	q = realloc(s->nodes, n * sizeof *s->nodes);
	if (q == NULL)
		return -ENOMEM;
	s->nodes = q;
	q = realloc(s->by_ppid, n * sizeof *s->by_ppid);
	if (q == NULL)
		return -ENOMEM;
	s->by_ppid = q;
	q = realloc(s->queue, n * sizeof *s->queue);
	if (q == NULL)
		return -ENOMEM;
	s->queue = q;
	s->nodes_size = n;
	return 0;
}

/* Reads the whole process table through libproc2 and indexes it by ppid. */
static int
sampler_reap(struct sampler *s)
{
	struct pids_fetch	*fetch;
	struct pids_stack	*st;
	struct pids_info	*pi = s->pi_tree;
	size_t			 i, n;
	int			 rc;

	s->nnodes = 0;
	s->reap_boot = sampler_boot_ticks(s->hertz);
	errno = 0;
	fetch = procps_pids_reap(pi, PIDS_FETCH_TASKS_ONLY);
	if (fetch == NULL)
		return errno != 0 ? -errno : -EIO;
	n = (size_t)fetch->counts->total;
	if (n > s->nodes_size) {
		rc = sampler_nodes_grow(s, n);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < n && (st = fetch->stacks[i]) != NULL; i++) {
		s->nodes[i].pid = SAMPLER_PIDS_VAL(TREE_PID, s_int, st, pi);
		s->nodes[i].ppid = SAMPLER_PIDS_VAL(TREE_PPID, s_int, st, pi);
		s->nodes[i].ticks = SAMPLER_PIDS_VAL(TREE_TICS, ull_int, st, pi);
		s->nodes[i].start_time =
		    SAMPLER_PIDS_VAL(TREE_BEGAN, ull_int, st, pi);
		s->nodes[i].rss =
		    (uint64_t)SAMPLER_PIDS_VAL(TREE_RES, ul_int, st, pi) * 1024;
		s->by_ppid[i] = (uint32_t)i;
	}
	s->nnodes = i;
	qsort_r(s->by_ppid, s->nnodes, sizeof *s->by_ppid, sampler_node_cmp,
	    s->nodes);
	return 0;
}

/*
 * Finds p's descendants in the last reap; returns the ticks they used
 * since p's previous reading and adds their RSS to *rss.  A descendant
 * seen for the first time counts whole if it started after that reading.
 */
static uint64_t
sampler_tree_add(struct sampler *s, struct sampler_proc *p, uint64_t *rss)
{
	struct sampler_desc	*d, *old;
	size_t			 head = 0, tail = 0, n = 0, lo, hi, mid, j = 0;
	uint64_t		 delta = 0;
	pid_t			 parent;
	void			*q;

	if (sampler_grow(&s->scratch, &s->scratch_size, s->nnodes + 1,
	    sizeof *s->scratch) < 0)
		return 0;
	if (s->nnodes == 0)
		return 0;

	/* Breadth first from p, children found by binary search on ppid. */
	parent = p->pid;
	for (;;) {
		lo = 0;
		hi = s->nnodes;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (s->nodes[s->by_ppid[mid]].ppid < parent)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < s->nnodes &&
		    s->nodes[s->by_ppid[lo]].ppid == parent; lo++) {
			const struct sampler_node *c = &s->nodes[s->by_ppid[lo]];

			if (c->pid == p->pid || tail >= s->nnodes)
				continue;	/* never loop back to the root */
			s->queue[tail++] = s->by_ppid[lo];
			d = &s->scratch[n++];
			d->pid = c->pid;
			d->start_time = c->start_time;
			d->ticks = c->ticks;
			d->rss = c->rss;
		}
		if (head == tail)
			break;
		parent = s->nodes[s->queue[head++]].pid;
	}
	qsort(s->scratch, n, sizeof *s->scratch, sampler_desc_cmp);

	/* Both lists are sorted by pid: walk them together. */
	for (mid = 0; mid < n; mid++) {
		d = &s->scratch[mid];
		*rss += d->rss;
		while (j < p->ndesc && p->desc[j].pid < d->pid)
			j++;
		old = j < p->ndesc && p->desc[j].pid == d->pid ?
		    &p->desc[j] : NULL;
		if (old != NULL && old->start_time == d->start_time) {
			if (d->ticks > old->ticks)
				delta += d->ticks - old->ticks;
		} else if (d->start_time >= p->desc_boot)
			delta += d->ticks;
	}

	if (n > p->ndesc) {
		q = realloc(p->desc, n * sizeof *p->desc);
		if (q == NULL) {
			p->ndesc = 0;
			return delta;
		}
		p->desc = q;
	}
	if (n > 0)
		memcpy(p->desc, s->scratch, n * sizeof *p->desc);
	p->ndesc = n;
	p->desc_boot = s->reap_boot;
	return delta;
}

/* Takes one reading of p; false if p is gone (or is another process now). */
static bool
sampler_read_proc(struct sampler *s, struct sampler_proc *p, uint64_t now,
    bool tree_ok)
{
	struct sampler_raw	raw;
	uint64_t		rss, delta, min_ns;
	int			rc;

	rc = sampler_read_fds(p->fd_stat, p->fd_statm, s->page_size, &raw);
	if (rc < 0 || raw.start_time != p->start_time)
		return false;

	delta = raw.ticks > p->prev_ticks ? raw.ticks - p->prev_ticks : 0;
	p->prev_ticks = raw.ticks;
	rss = raw.rss;
	if (p->tree && tree_ok)
		delta += sampler_tree_add(s, p, &rss);

	/*
	 * CPU% is ticks over the measured wall time; readings closer than
	 * one tick apart carry over to the next, or one tick of rounding
	 * would read as a huge percentage.
	 */
	p->acc_ticks += delta;
	p->acc_ns += now - p->prev_ns;
	p->prev_ns = now;
	min_ns = 1000000000u / (uint64_t)s->hertz;
	if (p->acc_ns >= min_ns) {
		p->last.cpu = (double)p->acc_ticks * 100.0 /
		    (double)s->hertz / ((double)p->acc_ns / 1e9);
		p->acc_ticks = 0;
		p->acc_ns = 0;
	}
	p->last.pid = p->pid;
	p->last.state = raw.state;
	p->last.rss = rss;
	p->last.vsize = raw.vsize;
	p->last.threads = raw.threads;
	p->last.start_time = p->start_time;
	p->last.ppid = raw.ppid;
	p->last.samples++;
	sampler_hist_push(s, p, p->last.cpu, rss);
	return true;
}

/*
 * Reads every registered pid, drops those found gone (telling the gone
 * callback once each), then tells the refresh listeners.
 */
void
sampler_sample(struct sampler *s)
{
	struct sampler_listener	*l;
	uint64_t		 now;
	size_t			 i, ngone = 0, n;
	bool			 tree_ok = false;

	if (s->dead || s->busy)
		return;
	s->busy = true;

	/* Room to name every pid gone, so no gone callback is ever lost. */
	if (sampler_grow(&s->gone, &s->gone_size, s->nprocs,
	    sizeof *s->gone) < 0) {
		s->busy = false;
		return;
	}
	if (s->ntree > 0 && s->pi_tree != NULL)
		tree_ok = sampler_reap(s) == 0;
	now = uv_hrtime();
	for (i = 0; i < s->nprocs; i++)
		s->procs[i]->gone = !sampler_read_proc(s, s->procs[i], now,
		    tree_ok);

	for (i = 0; i < s->nprocs; /* nothing */) {
		if (!s->procs[i]->gone) {
			i++;
			continue;
		}
		s->gone[ngone++] = s->procs[i]->pid;
		sampler_drop(s, i);
	}

	/* Callbacks may add, remove, listen or free: check after each. */
	for (i = 0; i < ngone && !s->dead; i++) {
		if (s->gone_cb != NULL)
			s->gone_cb(s, s->gone[i], s->gone_arg);
	}
	n = s->nlisteners;
	for (i = 0; i < n && !s->dead; i++) {
		l = &s->listeners[i];
		if (l->cb != NULL)
			l->cb(s, l->arg);
	}
	if (s->dead)
		return;
	if (s->listeners_dirty) {
		for (i = n = 0; i < s->nlisteners; i++) {
			if (s->listeners[i].cb != NULL)
				s->listeners[n++] = s->listeners[i];
		}
		s->nlisteners = n;
		s->listeners_dirty = false;
	}
	s->busy = false;
}

static void
sampler_tick_cb(uv_timer_t *t)
{
	sampler_sample(t->data);
}

int
sampler_get(const struct sampler *s, pid_t pid, struct proc_sample *out)
{
	struct sampler_proc	*p = sampler_lookup(s, pid);

	if (p == NULL)
		return -ENOENT;
	*out = p->last;
	return 0;
}

size_t
sampler_history(const struct sampler *s, pid_t pid, double *cpu,
    uint64_t *rss, size_t max)
{
	struct sampler_proc		*p = sampler_lookup(s, pid);
	const struct sampler_hist	*h;
	size_t				 len, n, skip, i;

	if (p == NULL)
		return 0;
	len = p->hist_len;
	n = len < max ? len : max;
	skip = len - n;
	for (i = 0; i < n; i++) {
		h = &p->hist[(p->hist_head + skip + i) % s->history];
		if (cpu != NULL)
			cpu[i] = h->cpu;
		if (rss != NULL)
			rss[i] = (uint64_t)h->rss_kb * 1024;
	}
	return n;
}

int
sampler_listen(struct sampler *s, sampler_refresh_cb cb, void *arg)
{
	int	rc;

	if (cb == NULL)
		return -EINVAL;
	rc = sampler_grow(&s->listeners, &s->listeners_size,
	    s->nlisteners + 1, sizeof *s->listeners);
	if (rc < 0)
		return rc;
	s->listeners[s->nlisteners].cb = cb;
	s->listeners[s->nlisteners].arg = arg;
	s->nlisteners++;
	return 0;
}

/* Removes the first listener registered with cb and arg. */
void
sampler_unlisten(struct sampler *s, sampler_refresh_cb cb, void *arg)
{
	size_t	i;

	for (i = 0; i < s->nlisteners; i++) {
		if (s->listeners[i].cb != cb || s->listeners[i].arg != arg)
			continue;
		if (s->busy) {
			/* A refresh is walking the array: compact after it. */
			s->listeners[i].cb = NULL;
			s->listeners_dirty = true;
		} else {
			memmove(&s->listeners[i], &s->listeners[i + 1],
			    (s->nlisteners - i - 1) * sizeof *s->listeners);
			s->nlisteners--;
		}
		return;
	}
}

void
sampler_on_gone(struct sampler *s, sampler_gone_cb cb, void *arg)
{
	s->gone_cb = cb;
	s->gone_arg = arg;
}

int
sampler_test_raw(const struct sampler *s, pid_t pid, struct sampler_raw *out)
{
	struct sampler_proc	*p = sampler_lookup(s, pid);

	if (p == NULL)
		return -ENOENT;
	/* What the last reading kept: own ticks, and rss of a process
	 * registered without tree (with tree, the tree's). */
	memset(out, 0, sizeof *out);
	out->state = p->last.state;
	out->ppid = p->last.ppid;
	out->ticks = p->prev_ticks;
	out->start_time = p->start_time;
	out->vsize = p->last.vsize;
	out->rss = p->last.rss;
	out->threads = p->last.threads;
	return 0;
}

int
sampler_test_set_start_time(struct sampler *s, pid_t pid, uint64_t start_time)
{
	struct sampler_proc	*p = sampler_lookup(s, pid);

	if (p == NULL)
		return -ENOENT;
	p->start_time = start_time;
	return 0;
}
