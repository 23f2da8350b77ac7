/*
 * Starting workers near RLIMIT_NOFILE and RLIMIT_NPROC: the workers that
 * do not fit fail to start with the clear error (in the slot's log and a
 * NOTICE), the pool backs off and retries without giving up (a limit is
 * not a crash loop), and once the limit is lifted every slot runs.
 *
 * RLIMIT_NPROC does not bind root (the kernel exempts the root user), so
 * that part runs in a child that drops to nobody first.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define WORKERS		4
#define NOBODY		65534
#define HOLD_MS		1500	/* the limit holds while slots retry */

static char	worker_path[1024];

static void
spec_pool(struct pool_spec *s, char **argv, const char *name)
{
	pool_spec_init(s);
	s->name = (char *)name;
	argv[0] = worker_path;
	argv[1] = NULL;
	s->argv = argv;
	s->workers = s->min_workers = WORKERS;
	/* The defaults (5 within 60 s) would give up in these retries. */
	s->backoff_initial_ms = 20;
	s->backoff_max_ms = 100;
}

static bool
all_live(struct h_ctx *c, void *arg)
{
	(void)c;
	return h_live_ready(arg) == WORKERS;
}

static bool
some_live(struct h_ctx *c, void *arg)
{
	(void)c;
	return h_live_ready(arg) >= 1;
}

/* Descriptors: room for about two workers; the rest back off. */
static void
test_nofile(void **state)
{
	struct h_ctx		*c = h_new();
	struct pool_spec	 s;
	struct pool		*p;
	struct pool_info	 info;
	struct rlimit		 old, low;
	char			*argv[2], want[300];
	unsigned		 live;
	int			 fd, r;

	(void)state;
	spec_pool(&s, argv, "lim");
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	/*
	 * The lowest free descriptor, then room above it for two workers
	 * (5 each kept, and 5 more while one starts).
	 */
	fd = dup(0);
	assert_true(fd >= 0);
	close(fd);
	low = old;
	low.rlim_cur = (rlim_t)fd + 2 * 5 + 5;
	snprintf(want, sizeof want, "pool lim: cannot start worker: too "
	    "many open files (limit %llu); raise it with ulimit -n (verify if "
	    "you hit the OS open files limit)",
	    (unsigned long long)low.rlim_cur);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	r = engine_add_pool(c->e, &s, &p);
	if (r == 0) {
		h_run_until(c, h_noticed_cb, want, H_WAIT_MS);
		h_run_until(c, some_live, p, H_WAIT_MS);
		h_run_for(c, HOLD_MS);
	}
	live = r == 0 ? h_live_ready(p) : 0;
	if (r == 0)
		pool_get_info(p, &info);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);

	if (r != 0)
		fail_msg("engine_add_pool: %s", engine_error(c->e));
	if (!h_noticed(c, want))
		fail_msg("no notice \"%s\"; last: \"%s\"", want,
		    c->notice[(c->notices + H_NOTICES - 1) % H_NOTICES]);
	assert_true(live >= 1 && live < WORKERS);
	/* Many failed starts, yet the pool did not give up. */
	assert_false(info.failed);
	assert_int_equal(c->failed, 0);
	assert_true(h_log_count(p, WORKERS - 1, want) >= 5);

	/* Lifted: every slot starts. */
	assert_true(h_run_until(c, all_live, p, H_WAIT_MS));
	h_free(c);
}

/* Processes of a user, from /proc (what RLIMIT_NPROC counts: threads). */
static unsigned
user_tasks(uid_t uid)
{
	DIR		*d = opendir("/proc");
	struct dirent	*de;
	char		 path[300], line[256];
	unsigned	 n = 0, ruid, threads;
	bool		 mine;
	FILE		*f;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/status", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		mine = false;
		threads = 1;
		while (fgets(line, sizeof line, f) != NULL) {
			if (sscanf(line, "Uid: %u", &ruid) == 1)
				mine = ruid == uid;
			sscanf(line, "Threads: %u", &threads);
		}
		fclose(f);
		if (mine)
			n += threads;
	}
	closedir(d);
	return n;
}

#define CHILD_FAIL(...) do {						\
	fprintf(stderr, "nproc child: " __VA_ARGS__);			\
	fprintf(stderr, "\n");						\
	_exit(1);							\
} while (0)

/*
 * In a child that became nobody: room for the child and two workers;
 * the others fail with EAGAIN and retry; lifting the limit lets them
 * all run.  Exits 0 when all of it held.
 */
static void
nproc_child(void)
{
	struct h_ctx		*c;
	struct pool_spec	 s;
	struct pool		*p;
	struct pool_info	 info;
	struct rlimit		 rl;
	char			*argv[2], want[300];
	unsigned		 live;
	int			 r;

	/* Before setuid, while root (and not bound by it): ... */
	if (getrlimit(RLIMIT_NPROC, &rl) != 0)
		CHILD_FAIL("getrlimit: %s", strerror(errno));
	rl.rlim_cur = user_tasks(NOBODY) + 1 + 2;	/* + itself + 2 */
	if (setrlimit(RLIMIT_NPROC, &rl) != 0)
		CHILD_FAIL("setrlimit: %s", strerror(errno));
	/* ... then the limit binds: nobody has no CAP_SYS_RESOURCE. */
	if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 ||
	    setuid(NOBODY) != 0)
		CHILD_FAIL("cannot become nobody: %s", strerror(errno));
	snprintf(want, sizeof want, "pool nproc: cannot start worker: too "
	    "many processes (limit %llu); raise it with ulimit -u (verify if "
	    "you hit the OS process limit, or kernel.pid_max)",
	    (unsigned long long)rl.rlim_cur);

	c = h_new();
	spec_pool(&s, argv, "nproc");
	if ((r = engine_add_pool(c->e, &s, &p)) != 0)
		CHILD_FAIL("engine_add_pool: %s", engine_error(c->e));
	if (!h_run_until(c, h_noticed_cb, want, H_WAIT_MS))
		CHILD_FAIL("no notice \"%s\"; last: \"%s\"", want,
		    c->notice[(c->notices + H_NOTICES - 1) % H_NOTICES]);
	h_run_until(c, some_live, p, H_WAIT_MS);
	h_run_for(c, HOLD_MS);
	live = h_live_ready(p);
	pool_get_info(p, &info);
	if (live < 1 || live >= WORKERS)
		CHILD_FAIL("%u workers live under the limit", live);
	if (info.failed || c->failed != 0)
		CHILD_FAIL("the pool gave up: %s", info.failure);
	if (h_log_count(p, WORKERS - 1, want) < 5)
		CHILD_FAIL("slot %d: %u start failures logged", WORKERS - 1,
		    h_log_count(p, WORKERS - 1, want));

	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NPROC, &rl) != 0)
		CHILD_FAIL("setrlimit: %s", strerror(errno));
	if (!h_run_until(c, all_live, p, H_WAIT_MS))
		CHILD_FAIL("%u workers live after the limit was lifted",
		    h_live_ready(p));
	engine_stop(c->e, h_stop_cb, c);
	if (!h_run_until(c, h_is_stopped, NULL, H_WAIT_MS))
		CHILD_FAIL("the engine did not stop");
	_exit(0);
}

static void
test_nproc(void **state)
{
	pid_t	pid;
	int	status;

	(void)state;
	if (geteuid() != 0)
		skip();		/* cannot become nobody */
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		nproc_child();
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(h_children(NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nofile),
		cmocka_unit_test(test_nproc),
	};

	h_build_path(worker_path, sizeof worker_path,
	    "examples/workers/pooltop-example-worker");
	return cmocka_run_group_tests_name("limits", tests, NULL, NULL);
}
