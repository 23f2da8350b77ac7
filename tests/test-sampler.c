/*
 * Tests for the sampler, on real processes forked here: CPU of a busy and
 * a sleeping child, RSS of a child that touches 100 MB, pids that die or
 * change identity, descendants added with tree, and the fast path checked
 * against libproc2 on the same processes.
 */

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <libproc2/misc.h>
#include <libproc2/pids.h>

#include "pooltop/sampler.h"
#include "sampler-internal.h"

#define MIB		(1024u * 1024u)
#define MAX_CHILDREN	16

/* Children forked by the running test; killed and reaped by teardown. */
static pid_t	children[MAX_CHILDREN];
static int	nchildren;

struct fixture {
	uv_loop_t	 loop;
	struct sampler	*s;
	struct sampler	*s2;
};

typedef void (*child_fn)(int wfd);

/* Tells the parent the child is ready: writes what it has to say. */
static void
child_ready(int wfd, const void *what, size_t len)
{
	if (write(wfd, what, len) != (ssize_t)len)
		_exit(1);
	close(wfd);
}

static void
child_sleep(int wfd)
{
	child_ready(wfd, "r", 1);
	for (;;)
		pause();
}

static void
child_busy(int wfd)
{
	volatile unsigned long	 n = 0;
	FILE			*fp;

	/*
	 * Ask for a core even on a loaded machine: with autogroup scheduling
	 * the nice value only counts within a session, so start a session
	 * of our own and raise that session's share.
	 */
	(void)setsid();
	fp = fopen("/proc/self/autogroup", "w");
	if (fp != NULL) {
		fputs("-20\n", fp);
		fclose(fp);
	}
	(void)setpriority(PRIO_PROCESS, 0, -20);
	child_ready(wfd, "r", 1);
	for (;;)
		n++;
}

/* Where touched memory escapes, so the compiler keeps the stores. */
static char *volatile	touched;

/* Allocates and touches size bytes. */
static void
touch(size_t size)
{
	char	*p;

	p = malloc(size);
	if (p == NULL)
		_exit(1);
	memset(p, 0x5a, size);
	touched = p;
}

/* Allocates and touches size bytes, then sleeps. */
static void
child_touch(int wfd, size_t size)
{
	touch(size);
	child_ready(wfd, "r", 1);
	for (;;)
		pause();
}

static void
child_touch100(int wfd)
{
	child_touch(wfd, 100 * MIB);
}

static void
child_touch20(int wfd)
{
	child_touch(wfd, 20 * MIB);
}

static void *
thread_pause(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* Three threads in all. */
static void
child_threads(int wfd)
{
	pthread_t	t;
	int		i;

	for (i = 0; i < 2; i++) {
		if (pthread_create(&t, NULL, thread_pause, NULL) != 0)
			_exit(1);
	}
	child_ready(wfd, "r", 1);
	for (;;)
		pause();
}

/* Forks fn as a child that dies with us; returns once it said ready. */
static pid_t
spawn_fd(child_fn fn, int *rfd_out)
{
	int	fds[2];
	pid_t	pid, parent = getpid();

	assert_int_equal(pipe(fds), 0);
	assert_true(nchildren < MAX_CHILDREN);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Never outlive the test, even when it fails half way. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		close(fds[0]);
		fn(fds[1]);
		_exit(0);
	}
	close(fds[1]);
	children[nchildren++] = pid;
	*rfd_out = fds[0];
	return pid;
}

static pid_t
spawn(child_fn fn)
{
	char	c;
	int	rfd;
	pid_t	pid;

	pid = spawn_fd(fn, &rfd);
	assert_int_equal(read(rfd, &c, 1), 1);
	close(rfd);
	return pid;
}

/* The tree child: a busy grandchild touching 20 MB, itself asleep. */
static void
child_tree(int wfd)
{
	pid_t	gc, me = getpid();
	int	fds[2];
	char	c;

	if (pipe(fds) != 0)
		_exit(1);
	gc = fork();
	if (gc < 0)
		_exit(1);
	if (gc == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != me)
			_exit(1);
		close(fds[0]);
		touch(20 * MIB);
		child_busy(fds[1]);
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1)
		_exit(1);
	child_ready(wfd, &gc, sizeof gc);
	for (;;)
		pause();
}

static int
setup(void **state)
{
	struct fixture	*f;

	f = calloc(1, sizeof *f);
	if (f == NULL || uv_loop_init(&f->loop) != 0)
		return -1;
	nchildren = 0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	int		 i, status;

	for (i = 0; i < nchildren; i++) {
		kill(children[i], SIGKILL);
		waitpid(children[i], &status, 0);
	}
	nchildren = 0;
	sampler_free(f->s);
	sampler_free(f->s2);
	/* The sampler's memory goes in its timer's close callback. */
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

/* Counting refresh listener that stops the loop after target ticks. */
struct ticker {
	int		 ticks;
	int		 target;
	uv_timer_t	 guard;
	bool		 timed_out;
};

static void
ticker_cb(struct sampler *s, void *arg)
{
	struct ticker	*t = arg;

	(void)s;
	if (++t->ticks == t->target)
		uv_stop(t->guard.loop);
}

static void
guard_cb(uv_timer_t *h)
{
	struct ticker	*t = h->data;

	t->timed_out = true;
	uv_stop(h->loop);
}

/* Runs the loop until s has ticked n more times (at most 20 s). */
static void
run_ticks(struct fixture *f, struct sampler *s, int n)
{
	struct ticker	t = { .target = n };

	assert_int_equal(uv_timer_init(&f->loop, &t.guard), 0);
	t.guard.data = &t;
	assert_int_equal(uv_timer_start(&t.guard, guard_cb, 20000, 0), 0);
	assert_int_equal(sampler_listen(s, ticker_cb, &t), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	sampler_unlisten(s, ticker_cb, &t);
	uv_close((uv_handle_t *)&t.guard, NULL);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_false(t.timed_out);
	assert_int_equal(t.ticks, n);
}

/* Mean of the last n CPU samples of pid. */
static double
cpu_mean(struct sampler *s, pid_t pid, size_t n)
{
	double	cpu[64], sum = 0;
	size_t	got, i;

	got = sampler_history(s, pid, cpu, NULL, n);
	assert_int_equal(got, n);
	for (i = 0; i < got; i++)
		sum += cpu[i];
	return sum / (double)got;
}

/* Start time of pid from field 22 of /proc/PID/stat, read here by hand. */
static uint64_t
start_time_of(pid_t pid)
{
	char		 path[64], buf[1024], *p;
	FILE		*fp;
	size_t		 n;
	int		 field;
	uint64_t	 v;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	assert_non_null(p);
	p += 2;		/* field 3 */
	for (field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		assert_non_null(p);
		p++;
	}
	v = strtoull(p, NULL, 10);
	return v;
}

struct gone_log {
	int	count;
	pid_t	pids[8];
	int	refresh_seen_at_gone;	/* refreshes counted when gone fired */
	int	refreshes;
};

static void
gone_cb(struct sampler *s, pid_t pid, void *arg)
{
	struct gone_log	*g = arg;
	struct proc_sample ps;

	/* Already dropped when the callback runs. */
	assert_int_equal(sampler_get(s, pid, &ps), -ENOENT);
	if (g->count < 8)
		g->pids[g->count] = pid;
	g->count++;
	g->refresh_seen_at_gone = g->refreshes;
}

static void
refresh_count_cb(struct sampler *s, void *arg)
{
	struct gone_log	*g = arg;

	(void)s;
	g->refreshes++;
}

static void
test_defaults_and_interval(void **state)
{
	struct fixture		*f = *state;
	struct sampler_options	 o = { .interval_ms = 500, .history = 10 };
	struct sampler		*big = NULL;

	assert_int_equal(sampler_new(&f->s, &f->loop, NULL), 0);
	assert_int_equal(sampler_interval(f->s), 1000);
	assert_int_equal(sampler_history_len(f->s), 60);
	assert_int_equal(sampler_count(f->s), 0);
	assert_int_equal(sampler_set_interval(f->s, 0), -EINVAL);
	assert_int_equal(sampler_interval(f->s), 1000);
	assert_int_equal(sampler_set_interval(f->s, 250), 0);
	assert_int_equal(sampler_interval(f->s), 250);

	assert_int_equal(sampler_new(&f->s2, &f->loop, &o), 0);
	assert_int_equal(sampler_interval(f->s2), 500);
	assert_int_equal(sampler_history_len(f->s2), 10);
	sampler_free(NULL);

	/* A history too long for the ring's 32-bit indices is refused. */
	o.history = 1000001;
	assert_int_equal(sampler_new(&big, &f->loop, &o), -EINVAL);
	assert_null(big);
	o.history = 1000000;
	assert_int_equal(sampler_new(&big, &f->loop, &o), 0);
	assert_int_equal(sampler_history_len(big), 1000000);
	sampler_free(big);
}

/* Changing the interval of a running sampler takes effect at once. */
static void
test_interval_at_runtime(void **state)
{
	struct fixture	*f = *state;
	uint64_t	 t0;

	assert_int_equal(sampler_new(&f->s, &f->loop, NULL), 0);
	assert_int_equal(sampler_add(f->s, getpid(), false), 0);
	assert_int_equal(sampler_start(f->s), 0);
	assert_int_equal(sampler_set_interval(f->s, 40), 0);
	t0 = uv_hrtime();
	run_ticks(f, f->s, 5);
	/* Five ticks of the old 1 s interval would take 5 s. */
	assert_true(uv_hrtime() - t0 < 4000000000u);
	sampler_stop(f->s);
}

static void
test_add_errors_and_remove(void **state)
{
	struct fixture		*f = *state;
	struct proc_sample	 ps;
	struct gone_log		 g = { 0 };
	char			 comm[64] = "";
	FILE			*fp;
	struct rlimit		 rl, low;
	pid_t			 dead;
	int			 status, lowest, rc;

	assert_int_equal(sampler_new(&f->s, &f->loop, NULL), 0);
	sampler_on_gone(f->s, gone_cb, &g);
	assert_int_equal(sampler_add(f->s, 0, false), -EINVAL);
	assert_int_equal(sampler_add(f->s, -5, false), -EINVAL);

	/* A pid that was reaped is not there to register. */
	dead = fork();
	assert_true(dead >= 0);
	if (dead == 0)
		_exit(0);
	assert_int_equal(waitpid(dead, &status, 0), dead);
	assert_int_equal(sampler_add(f->s, dead, false), -ESRCH);
	assert_int_equal(sampler_count(f->s), 0);

	/* Out of fds: said as such, not as a missing process. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	lowest = dup(0);
	assert_true(lowest >= 0);
	close(lowest);
	low = rl;
	low.rlim_cur = (rlim_t)lowest;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	rc = sampler_add(f->s, getpid(), false);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(rc, -EMFILE);
	assert_int_equal(sampler_count(f->s), 0);

	assert_int_equal(sampler_add(f->s, getpid(), false), 0);
	assert_int_equal(sampler_add(f->s, getpid(), true), -EEXIST);
	assert_int_equal(sampler_count(f->s), 1);

	/* Identity from libproc2: command and start time. */
	fp = fopen("/proc/self/comm", "r");
	assert_non_null(fp);
	assert_non_null(fgets(comm, sizeof comm, fp));
	fclose(fp);
	comm[strcspn(comm, "\n")] = '\0';
	assert_string_equal(sampler_command(f->s, getpid()), comm);
	assert_null(sampler_command(f->s, dead));

	/* Registered but not read yet. */
	assert_int_equal(sampler_get(f->s, getpid(), &ps), 0);
	assert_int_equal(ps.pid, getpid());
	assert_int_equal(ps.state, 0);
	assert_int_equal(ps.samples, 0);
	assert_int_equal(ps.ppid, getppid());
	assert_int_equal(ps.start_time, start_time_of(getpid()));
	assert_int_equal(sampler_history(f->s, getpid(), NULL, NULL, 60), 0);

	/* Removing is not "gone". */
	sampler_remove(f->s, getpid());
	sampler_remove(f->s, getpid());
	assert_int_equal(sampler_get(f->s, getpid(), &ps), -ENOENT);
	assert_int_equal(sampler_count(f->s), 0);
	sampler_sample(f->s);
	assert_int_equal(g.count, 0);
}

/* pooltop's own pid is sampled like any other: the manager row. */
static void
test_manager_row(void **state)
{
	struct fixture		*f = *state;
	struct proc_sample	 ps;

	assert_int_equal(sampler_new(&f->s, &f->loop, NULL), 0);
	assert_int_equal(sampler_add(f->s, getpid(), false), 0);
	sampler_sample(f->s);
	assert_int_equal(sampler_get(f->s, getpid(), &ps), 0);
	assert_int_equal(ps.pid, getpid());
	assert_int_equal(ps.state, 'R');	/* it is reading itself */
	assert_int_equal(ps.ppid, getppid());
	assert_int_equal(ps.start_time, start_time_of(getpid()));
	assert_true(ps.threads >= 1);
	assert_true(ps.rss > 0);
	assert_true(ps.vsize >= ps.rss);
	assert_int_equal(ps.samples, 1);
}

static void
test_cpu_busy_and_sleeping(void **state)
{
	struct fixture		*f = *state;
	struct sampler_options	 o = { .interval_ms = 200 };
	struct proc_sample	 ps;
	pid_t			 busy, idle;
	double			 cb, ci;

	busy = spawn(child_busy);
	idle = spawn(child_sleep);
	assert_int_equal(sampler_new(&f->s, &f->loop, &o), 0);
	assert_int_equal(sampler_add(f->s, busy, false), 0);
	assert_int_equal(sampler_add(f->s, idle, false), 0);
	assert_int_equal(sampler_start(f->s), 0);
	run_ticks(f, f->s, 7);

	/* Averaged over the last five intervals (one second). */
	cb = cpu_mean(f->s, busy, 5);
	ci = cpu_mean(f->s, idle, 5);
	print_message("busy child %.1f%%, sleeping child %.1f%%\n", cb, ci);
	assert_true(cb >= 80.0);
	assert_true(cb <= 110.0);	/* one thread: at most one core */
	assert_true(ci < 5.0);
	assert_int_equal(sampler_get(f->s, busy, &ps), 0);
	assert_int_equal(ps.samples, 7);
	assert_int_equal(ps.state, 'R');
	assert_int_equal(sampler_get(f->s, idle, &ps), 0);
	assert_int_equal(ps.state, 'S');
	assert_int_equal(ps.ppid, getpid());
}

static void
test_rss_100mb(void **state)
{
	struct fixture		*f = *state;
	struct proc_sample	 ps;
	uint64_t		 rss[4];
	pid_t			 pid;

	pid = spawn(child_touch100);
	assert_int_equal(sampler_new(&f->s, &f->loop, NULL), 0);
	assert_int_equal(sampler_add(f->s, pid, false), 0);
	sampler_sample(f->s);
	assert_int_equal(sampler_get(f->s, pid, &ps), 0);
	print_message("rss %.1f MiB\n", (double)ps.rss / MIB);
	assert_true(ps.rss >= 100 * (uint64_t)MIB);
	assert_true(ps.vsize >= 100 * (uint64_t)MIB);
	assert_int_equal(sampler_history(f->s, pid, NULL, rss, 4), 1);
	assert_int_equal(rss[0], ps.rss);
}

/* A pid that dies stays while it is a zombie, then drops out once. */
static void
test_gone_once(void **state)
{
	struct fixture		*f = *state;
	struct proc_sample	 ps;
	struct gone_log		 g = { 0 };
	siginfo_t		 si;
	pid_t			 pid, other;
	int			 i, status;

	pid = spawn(child_sleep);
	other = spawn(child_sleep);
	assert_int_equal(sampler_new(&f->s, &f->loop, NULL), 0);
	sampler_on_gone(f->s, gone_cb, &g);
	assert_int_equal(sampler_listen(f->s, refresh_count_cb, &g), 0);
	assert_int_equal(sampler_add(f->s, pid, false), 0);
	assert_int_equal(sampler_add(f->s, other, false), 0);
	sampler_sample(f->s);
	assert_int_equal(sampler_get(f->s, pid, &ps), 0);
	assert_int_equal(ps.samples, 1);

	/* Dead but not reaped: still there, as a zombie. */
	assert_int_equal(kill(pid, SIGKILL), 0);
	memset(&si, 0, sizeof si);
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	sampler_sample(f->s);
	assert_int_equal(g.count, 0);
	assert_int_equal(sampler_get(f->s, pid, &ps), 0);
	assert_int_equal(ps.state, 'Z');

	/* Reaped: gone, once, before that tick's refresh. */
	assert_int_equal(waitpid(pid, &status, 0), pid);
	for (i = 0; i < nchildren; i++) {
		if (children[i] == pid)
			children[i] = children[--nchildren];
	}
	sampler_sample(f->s);
	assert_int_equal(g.count, 1);
	assert_int_equal(g.pids[0], pid);
	assert_int_equal(g.refresh_seen_at_gone, 2);
	assert_int_equal(g.refreshes, 3);
	assert_int_equal(sampler_get(f->s, pid, &ps), -ENOENT);
	assert_int_equal(sampler_history(f->s, pid, NULL, NULL, 60), 0);
	assert_null(sampler_command(f->s, pid));
	sampler_sample(f->s);
	sampler_sample(f->s);
	assert_int_equal(g.count, 1);

	/* The other pid is untouched. */
	assert_int_equal(sampler_get(f->s, other, &ps), 0);
	assert_int_equal(ps.samples, 5);
	assert_int_equal(sampler_count(f->s), 1);
}

/* A pid whose start time changed is another process: the worker is gone. */
static void
test_start_time_changed(void **state)
{
	struct fixture		*f = *state;
	struct proc_sample	 ps;
	struct gone_log		 g = { 0 };
	pid_t			 pid;

	pid = spawn(child_sleep);
	assert_int_equal(sampler_new(&f->s, &f->loop, NULL), 0);
	sampler_on_gone(f->s, gone_cb, &g);
	assert_int_equal(sampler_add(f->s, pid, false), 0);
	sampler_sample(f->s);
	assert_int_equal(sampler_get(f->s, pid, &ps), 0);
	assert_int_equal(ps.start_time, start_time_of(pid));

	assert_int_equal(sampler_test_set_start_time(f->s, pid,
	    ps.start_time + 1), 0);
	sampler_sample(f->s);
	assert_int_equal(g.count, 1);
	assert_int_equal(g.pids[0], pid);
	assert_int_equal(sampler_get(f->s, pid, &ps), -ENOENT);
	sampler_sample(f->s);
	assert_int_equal(g.count, 1);
	/* The process itself lives on; it is just not ours any more. */
	assert_int_equal(kill(pid, 0), 0);

	/* Registered again, it is a new worker with its own numbers. */
	assert_int_equal(sampler_add(f->s, pid, false), 0);
	sampler_sample(f->s);
	assert_int_equal(sampler_get(f->s, pid, &ps), 0);
	assert_int_equal(ps.samples, 1);
}

/* tree = yes adds a busy grandchild's CPU and RSS to its parent. */
static void
test_tree(void **state)
{
	struct fixture		*f = *state;
	struct sampler_options	 o = { .interval_ms = 200 };
	struct sampler		*flat;
	struct proc_sample	 pt, pf;
	pid_t			 parent, gc;
	double			 ct, cf;
	int			 rfd;

	parent = spawn_fd(child_tree, &rfd);
	assert_int_equal(read(rfd, &gc, sizeof gc), (ssize_t)sizeof gc);
	close(rfd);
	assert_true(gc > 0);

	assert_int_equal(sampler_new(&f->s, &f->loop, &o), 0);
	assert_int_equal(sampler_new(&f->s2, &f->loop, &o), 0);
	flat = f->s2;
	assert_int_equal(sampler_add(f->s, parent, true), 0);
	assert_int_equal(sampler_add(flat, parent, false), 0);
	assert_int_equal(sampler_start(f->s), 0);
	assert_int_equal(sampler_start(flat), 0);
	run_ticks(f, f->s, 7);

	ct = cpu_mean(f->s, parent, 5);
	cf = cpu_mean(flat, parent, 5);
	assert_int_equal(sampler_get(f->s, parent, &pt), 0);
	assert_int_equal(sampler_get(flat, parent, &pf), 0);
	print_message("parent with tree %.1f%% %.1f MiB, alone %.1f%% "
	    "%.1f MiB\n", ct, (double)pt.rss / MIB, cf, (double)pf.rss / MIB);
	assert_true(ct >= 80.0);
	assert_true(cf < 5.0);
	assert_true(pt.rss >= pf.rss + 20 * (uint64_t)MIB);
	/* Only CPU and RSS are summed. */
	assert_int_equal(pt.state, 'S');
	assert_int_equal(pt.threads, pf.threads);
}

/* The fast path and libproc2 read the same numbers for the same processes. */
static void
test_fast_path_agrees(void **state)
{
	struct fixture		*f = *state;
	static enum pids_item	 items[] = {
		PIDS_ID_PID, PIDS_STATE, PIDS_ID_PPID, PIDS_TICS_ALL,
		PIDS_TICS_BEGAN, PIDS_MEM_RES, PIDS_VSIZE_BYTES, PIDS_NLWP,
	};
	enum { I_PID, I_STATE, I_PPID, I_TICS, I_BEGAN, I_RES, I_VSIZE,
	    I_NLWP };
	struct pids_info	*pi = NULL;
	struct pids_fetch	*fetch;
	struct pids_stack	*st;
	struct sampler_raw	 raw;
	struct proc_sample	 ps;
	unsigned		 pids[5];
	pid_t			 stopped;
	uint64_t		 t0, slack, ticks;
	long			 hertz = procps_hertz_get();
	int			 i, j, status, matched = 0;

	pids[0] = (unsigned)spawn(child_sleep);
	pids[1] = (unsigned)spawn(child_busy);
	pids[2] = (unsigned)spawn(child_threads);
	pids[3] = (unsigned)spawn(child_touch20);
	stopped = spawn(child_sleep);
	pids[4] = (unsigned)stopped;
	assert_int_equal(kill(stopped, SIGSTOP), 0);
	assert_int_equal(waitpid(stopped, &status, WUNTRACED), stopped);
	assert_true(WIFSTOPPED(status));

	assert_int_equal(procps_pids_new(&pi, items, 8), 0);
	assert_int_equal(sampler_new(&f->s, &f->loop, NULL), 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(sampler_add(f->s, (pid_t)pids[i], false), 0);

	t0 = uv_hrtime();
	sampler_sample(f->s);
	fetch = procps_pids_select(pi, pids, 5, PIDS_SELECT_PID);
	/* Ticks the busy child may have run between the two readings. */
	slack = (uv_hrtime() - t0) * (uint64_t)hertz / 1000000000u + 2;
	assert_non_null(fetch);
	assert_int_equal(fetch->counts->total, 5);

	for (i = 0; i < 5; i++) {
		st = fetch->stacks[i];
		for (j = 0; j < 5; j++) {
			if ((unsigned)SAMPLER_PIDS_VAL(I_PID, s_int, st, pi) ==
			    pids[j])
				break;
		}
		assert_true(j < 5);
		assert_int_equal(sampler_test_raw(f->s, (pid_t)pids[j], &raw),
		    0);
		assert_int_equal(sampler_get(f->s, (pid_t)pids[j], &ps), 0);

		assert_int_equal(raw.state,
		    SAMPLER_PIDS_VAL(I_STATE, s_ch, st, pi));
		assert_int_equal(raw.ppid,
		    SAMPLER_PIDS_VAL(I_PPID, s_int, st, pi));
		assert_int_equal(raw.start_time,
		    SAMPLER_PIDS_VAL(I_BEGAN, ull_int, st, pi));
		assert_int_equal(raw.rss,
		    (uint64_t)SAMPLER_PIDS_VAL(I_RES, ul_int, st, pi) * 1024);
		assert_int_equal(raw.vsize,
		    SAMPLER_PIDS_VAL(I_VSIZE, ul_int, st, pi));
		assert_int_equal(raw.threads,
		    (unsigned)SAMPLER_PIDS_VAL(I_NLWP, s_int, st, pi));
		ticks = SAMPLER_PIDS_VAL(I_TICS, ull_int, st, pi);
		assert_true(ticks >= raw.ticks);
		assert_true(ticks - raw.ticks <= slack);

		/* What sampler_get reports is that reading. */
		assert_int_equal(ps.state, raw.state);
		assert_int_equal(ps.rss, raw.rss);
		assert_int_equal(ps.vsize, raw.vsize);
		assert_int_equal(ps.threads, raw.threads);
		assert_int_equal(ps.start_time, raw.start_time);
		assert_int_equal(ps.ppid, raw.ppid);
		matched |= 1 << j;
	}
	assert_int_equal(matched, 0x1f);

	/* The processes differ the way they were made to. */
	assert_int_equal(sampler_get(f->s, (pid_t)pids[0], &ps), 0);
	assert_int_equal(ps.state, 'S');
	assert_int_equal(sampler_get(f->s, (pid_t)pids[1], &ps), 0);
	assert_int_equal(ps.state, 'R');
	assert_int_equal(sampler_get(f->s, (pid_t)pids[2], &ps), 0);
	assert_int_equal(ps.threads, 3);
	assert_int_equal(sampler_get(f->s, (pid_t)pids[3], &ps), 0);
	assert_true(ps.rss >= 20 * (uint64_t)MIB);
	assert_int_equal(sampler_get(f->s, stopped, &ps), 0);
	assert_int_equal(ps.state, 'T');

	procps_pids_unref(&pi);
	kill(stopped, SIGCONT);
}

static void
test_history_wrap(void **state)
{
	struct fixture		*f = *state;
	struct sampler_options	 o = { .history = 4 };
	struct proc_sample	 ps;
	double			 cpu[8];
	uint64_t		 rss[8], rss2[2];
	size_t			 i;

	assert_int_equal(sampler_new(&f->s, &f->loop, &o), 0);
	assert_int_equal(sampler_add(f->s, getpid(), false), 0);
	for (i = 0; i < 6; i++)
		sampler_sample(f->s);
	assert_int_equal(sampler_history(f->s, getpid(), cpu, rss, 8), 4);
	for (i = 0; i < 4; i++) {
		assert_true(rss[i] > 0);
		assert_true(cpu[i] >= 0.0);
	}
	/* The newest entry is last: the last reading (RSS exact, CPU% to
	 * a float's precision). */
	assert_int_equal(sampler_get(f->s, getpid(), &ps), 0);
	assert_int_equal(rss[3], ps.rss);
	assert_true(cpu[3] - ps.cpu < 1e-4 * (1 + ps.cpu) &&
	    ps.cpu - cpu[3] < 1e-4 * (1 + ps.cpu));
	/* Fewer asked for: the newest ones. */
	assert_int_equal(sampler_history(f->s, getpid(), NULL, rss2, 2), 2);
	assert_int_equal(rss2[0], rss[2]);
	assert_int_equal(rss2[1], rss[3]);
	assert_int_equal(sampler_history(f->s, getpid(), cpu, NULL, 0), 0);
}

struct listen_log {
	int		 a, b, c;
	struct sampler	*s;
};

static void
listen_a_cb(struct sampler *s, void *arg)
{
	(void)s;
	((struct listen_log *)arg)->a++;
}

static void
listen_b_cb(struct sampler *s, void *arg)
{
	(void)s;
	((struct listen_log *)arg)->b++;
}

/* Removes itself on its first call. */
static void
listen_once_cb(struct sampler *s, void *arg)
{
	((struct listen_log *)arg)->c++;
	sampler_unlisten(s, listen_once_cb, arg);
}

static void
test_listeners(void **state)
{
	struct fixture		*f = *state;
	struct listen_log	 x = { 0 }, y = { 0 };

	assert_int_equal(sampler_new(&f->s, &f->loop, NULL), 0);
	assert_int_equal(sampler_listen(f->s, NULL, NULL), -EINVAL);
	assert_int_equal(sampler_listen(f->s, listen_a_cb, &x), 0);
	assert_int_equal(sampler_listen(f->s, listen_once_cb, &x), 0);
	assert_int_equal(sampler_listen(f->s, listen_a_cb, &y), 0);
	assert_int_equal(sampler_listen(f->s, listen_b_cb, &x), 0);
	sampler_sample(f->s);
	assert_int_equal(x.a, 1);
	assert_int_equal(x.b, 1);
	assert_int_equal(x.c, 1);
	assert_int_equal(y.a, 1);

	sampler_unlisten(f->s, listen_a_cb, &y);
	sampler_unlisten(f->s, listen_a_cb, &y);	/* not there: no-op */
	sampler_sample(f->s);
	sampler_sample(f->s);
	assert_int_equal(x.a, 3);
	assert_int_equal(x.b, 3);
	assert_int_equal(x.c, 1);
	assert_int_equal(y.a, 1);
}

static void
free_in_listener_cb(struct sampler *s, void *arg)
{
	int	*n = arg;

	(*n)++;
	sampler_free(s);
}

/* Freed from its own refresh: no later listener runs, the loop closes. */
static void
test_free_in_listener(void **state)
{
	struct fixture	*f = *state;
	struct sampler	*s;
	int		 n = 0, after = 0;

	assert_int_equal(sampler_new(&s, &f->loop, NULL), 0);
	assert_int_equal(sampler_add(s, getpid(), false), 0);
	assert_int_equal(sampler_set_interval(s, 20), 0);
	assert_int_equal(sampler_listen(s, free_in_listener_cb, &n), 0);
	assert_int_equal(sampler_listen(s, listen_a_cb, &after), 0);
	assert_int_equal(sampler_start(s), 0);
	/* Returns once the freed sampler's timer is closed. */
	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(n, 1);
	assert_int_equal(after, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults_and_interval,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_interval_at_runtime,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_errors_and_remove,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_manager_row,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_busy_and_sleeping,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_rss_100mb,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_once,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_time_changed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_fast_path_agrees,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_wrap,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_listeners,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_in_listener,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
