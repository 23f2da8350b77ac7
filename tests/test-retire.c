/*
 * Pools removed and changed while the engine runs (what a SIGHUP reload
 * does): engine_remove_pool(), engine_update_pool(), engine_check_pool()
 * and pool_spec_diff(), on real pools of the example worker.
 */
#include <sys/wait.h>

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

static char	worker_path[1024];
static char	*plain_argv[] = { worker_path, NULL };
static char	*delay_argv[] = { worker_path, "--hello-delay", "1", NULL };

static void
spec_pool(struct pool_spec *s, const char *name, unsigned workers)
{
	pool_spec_init(s);
	s->name = (char *)name;
	s->argv = plain_argv;
	s->workers = s->min_workers = workers;
	s->stop_timeout_ms = 3000;
}

static struct pool *
add(struct h_ctx *c, const struct pool_spec *s)
{
	struct pool	*p;

	if (engine_add_pool(c->e, s, &p) != 0)
		fail_msg("engine_add_pool: %s", engine_error(c->e));
	return p;
}

static bool
live_n(struct h_ctx *c, void *arg)
{
	struct pool	**pp = arg;

	(void)c;
	return h_live_ready(pp[0]) == (unsigned)(uintptr_t)pp[1];
}

static void
wait_live(struct h_ctx *c, struct pool *p, unsigned n)
{
	void	*arg[2] = { p, (void *)(uintptr_t)n };

	if (!h_run_until(c, live_n, arg, H_WAIT_MS))
		fail_msg("pool %s: %u live, expected %u", pool_name(p),
		    h_live_ready(p), n);
}

/* The pids of a pool's first n slots. */
static void
pids(struct pool *p, pid_t *out, size_t n)
{
	struct pool_worker_info	w[16];
	size_t			k = pool_snapshot(p, w, 16), i;

	assert_true(k >= n);
	for (i = 0; i < n; i++)
		out[i] = w[i].pid;
}

static bool
pid_gone(pid_t pid)
{
	return kill(pid, 0) != 0 && errno == ESRCH;
}

struct gone {
	pid_t	*pids;
	size_t	 n;
};

static bool
all_gone(struct h_ctx *c, void *arg)
{
	struct gone	*g = arg;
	size_t		 i;

	(void)c;
	for (i = 0; i < g->n; i++) {
		if (!pid_gone(g->pids[i]))
			return false;
	}
	return true;
}

struct res {
	int	 calls;
	bool	 ok;
	char	 data[256];
};

static void
res_cb(bool ok, const void *data, size_t len, void *arg)
{
	struct res	*r = arg;

	r->calls++;
	r->ok = ok;
	snprintf(r->data, sizeof r->data, "%.*s", (int)len,
	    (const char *)data);
}

static bool
res_done(struct h_ctx *c, void *arg)
{
	struct res	*r = arg;

	(void)c;
	return r[0].calls != 0 && r[1].calls != 0;
}

static void
removed_cb(struct engine *e, void *arg)
{
	(void)e;
	(*(int *)arg)++;
}

static bool
flag_set(struct h_ctx *c, void *arg)
{
	(void)c;
	return *(int *)arg != 0;
}

/* Removed: out of the list at once, in-flight tasks finish, then gone. */
static void
test_remove(void **state)
{
	struct h_ctx		*c = h_new();
	struct pool_spec	 s;
	struct pool		*a, *b, *b2, *list[4];
	struct res		 r[2];
	struct gone		 g;
	pid_t			 apids[2], bpids[2], apids2[2];
	int			 removed = 0;

	(void)state;
	spec_pool(&s, "a", 2);
	a = add(c, &s);
	spec_pool(&s, "b", 2);
	s.parallel_jobs = 2;
	b = add(c, &s);
	wait_live(c, a, 2);
	wait_live(c, b, 2);
	pids(a, apids, 2);
	pids(b, bpids, 2);

	memset(r, 0, sizeof r);
	assert_int_equal(pool_send(b, "sleep", "300", 3, NULL, res_cb, &r[0]),
	    0);
	assert_int_equal(pool_send(b, "sleep", "300", 3, NULL, res_cb, &r[1]),
	    0);
	h_run_for(c, 50);
	assert_int_equal(engine_remove_pool(c->e, b, removed_cb, &removed), 0);
	assert_int_equal(engine_remove_pool(c->e, b, NULL, NULL), -EALREADY);
	assert_int_equal(engine_pools(c->e, list, 4), 1);
	assert_ptr_equal(list[0], a);
	assert_null(engine_pool(c->e, "b"));
	assert_int_equal(pool_send(b, "echo", "x", 1, NULL, res_cb, NULL),
	    -ESHUTDOWN);
	assert_true(h_noticed(c, "b: removed (no longer configured): stopping "
	    "2 workers"));

	/* The name is free at once: a new "b" runs beside the old one. */
	spec_pool(&s, "b", 1);
	b2 = add(c, &s);
	assert_ptr_not_equal(b2, b);

	/* Graceful: the tasks in flight finish with their results. */
	assert_true(h_run_until(c, res_done, r, H_WAIT_MS));
	assert_true(r[0].ok && r[1].ok);
	assert_string_equal(r[0].data, "slept 300");
	assert_true(h_run_until(c, flag_set, &removed, H_WAIT_MS));
	assert_int_equal(removed, 1);
	assert_true(h_noticed(c, "b: removed: every worker exited"));
	g.pids = bpids;
	g.n = 2;
	assert_true(h_run_until(c, all_gone, &g, H_WAIT_MS));

	/* The other pool was not touched. */
	pids(a, apids2, 2);
	assert_memory_equal(apids, apids2, sizeof apids);
	wait_live(c, b2, 1);
	h_run_for(c, 50);	/* the freeing turn */
	h_free(c);
	assert_int_equal(h_children(NULL), 0);
}

/* Live keys change the running pool; its workers stay. */
static void
test_update_live(void **state)
{
	struct h_ctx		*c = h_new();
	struct pool_spec	 s;
	struct pool		*p, *out;
	struct pool_info	 info;
	const struct pool_spec	*cur;
	pid_t			 before[2], after[3];

	(void)state;
	spec_pool(&s, "live", 2);
	p = add(c, &s);
	wait_live(c, p, 2);
	pids(p, before, 2);

	assert_int_equal(engine_update_pool(c->e, p, &s, &out),
	    POOL_UPDATE_NONE);
	assert_ptr_equal(out, p);

	s.workers = 3;
	s.strategy = BALANCE_POLLING;
	s.task_timeout_ms = 1500;
	s.log_rate_limit = 500;
	assert_int_equal(engine_update_pool(c->e, p, &s, &out),
	    POOL_UPDATE_LIVE);
	assert_ptr_equal(out, p);
	assert_true(h_noticed(c, "live: config changed (workers 2 -> 3, "
	    "strategy, task_timeout, log_rate_limit): applied"));
	wait_live(c, p, 3);
	pids(p, after, 3);
	assert_memory_equal(before, after, sizeof before);
	pool_get_info(p, &info);
	assert_int_equal(info.strategy, BALANCE_POLLING);
	assert_int_equal(info.workers, 3);
	cur = pool_get_spec(p);
	assert_int_equal(cur->task_timeout_ms, 1500);
	assert_int_equal(cur->log_rate_limit, 500);

	/* Down again: the highest slot goes, the others stay. */
	s.workers = 1;
	s.min_workers = 1;
	assert_int_equal(engine_update_pool(c->e, p, &s, NULL),
	    POOL_UPDATE_LIVE);
	wait_live(c, p, 1);
	pids(p, after, 1);
	assert_int_equal(after[0], before[0]);
	h_free(c);
	assert_int_equal(h_children(NULL), 0);
}

/* Other keys replace the pool, in its place; a bad spec changes nothing. */
static void
test_update_replace(void **state)
{
	struct h_ctx		*c = h_new();
	struct pool_spec	 s, t;
	struct pool		*x, *p, *y, *np, *list[4];
	struct gone		 g;
	pid_t			 old[2], xp[1], xp2[1];
	char			*missing[] = { "/nonexistent/worker", NULL };
	int			 r;

	(void)state;
	spec_pool(&t, "x", 1);
	x = add(c, &t);
	spec_pool(&s, "rep", 2);
	p = add(c, &s);
	spec_pool(&t, "y", 1);
	y = add(c, &t);
	wait_live(c, x, 1);
	wait_live(c, p, 2);
	wait_live(c, y, 1);
	pids(p, old, 2);
	pids(x, xp, 1);

	/* A command that does not exist: refused, the pool runs on. */
	s.argv = missing;
	r = engine_update_pool(c->e, p, &s, &np);
	assert_true(r < 0);
	assert_string_equal(engine_error(c->e), "pool rep: cannot start "
	    "\"/nonexistent/worker\": No such file or directory");
	assert_ptr_equal(np, p);
	assert_ptr_equal(engine_pool(c->e, "rep"), p);
	assert_int_equal(engine_check_pool(c->e, &s), -ENOENT);

	s.argv = delay_argv;
	s.parallel_jobs = 3;
	assert_int_equal(engine_check_pool(c->e, &s), 0);
	assert_int_equal(engine_update_pool(c->e, p, &s, &np),
	    POOL_UPDATE_REPLACED);
	assert_ptr_not_equal(np, p);
	assert_ptr_equal(engine_pool(c->e, "rep"), np);
	assert_int_equal(engine_pools(c->e, list, 4), 3);
	assert_ptr_equal(list[0], x);
	assert_ptr_equal(list[1], np);
	assert_ptr_equal(list[2], y);
	assert_true(h_noticed(c, "rep: config changed (command, "
	    "parallel_jobs): replaced by a new pool"));
	assert_true(h_noticed(c, "rep: removed (replaced by its new config): "
	    "stopping 2 workers"));
	wait_live(c, np, 2);
	g.pids = old;
	g.n = 2;
	assert_true(h_run_until(c, all_gone, &g, H_WAIT_MS));
	assert_true(h_run_until(c, h_noticed_cb,
	    "rep: removed: every worker exited", H_WAIT_MS));
	pids(x, xp2, 1);
	assert_int_equal(xp[0], xp2[0]);
	h_free(c);
	assert_int_equal(h_children(NULL), 0);
}

/* The engine stops (and is forced) while a removed pool still drains. */
static void
test_stop_while_removing(void **state)
{
	struct h_ctx		*c = h_new();
	struct pool_spec	 s;
	struct pool		*p;
	struct res		 r;
	int			 removed = 0;

	(void)state;
	spec_pool(&s, "slow", 1);
	s.stop_timeout_ms = 30000;
	p = add(c, &s);
	wait_live(c, p, 1);
	memset(&r, 0, sizeof r);
	assert_int_equal(pool_send(p, "sleep", "20000", 5, NULL, res_cb, &r),
	    0);
	h_run_for(c, 50);
	assert_int_equal(engine_remove_pool(c->e, p, removed_cb, &removed), 0);
	h_run_for(c, 100);
	assert_int_equal(removed, 0);
	engine_stop(c->e, h_stop_cb, c);
	assert_int_equal(engine_remove_pool(c->e, p, NULL, NULL), -EALREADY);
	engine_stop(c->e, NULL, NULL);		/* forced: SIGKILL */
	assert_true(h_run_until(c, h_is_stopped, NULL, H_WAIT_MS));
	assert_int_equal(r.calls, 1);
	assert_false(r.ok);
	assert_non_null(strstr(r.data, "exited with signal 9 (Killed)"));
	assert_int_equal(removed, 1);
	engine_free(c->e);
	c->e = NULL;
	h_free(c);
	assert_int_equal(h_children(NULL), 0);
}

static void
test_spec_diff(void **state)
{
	struct pool_spec	a, b;
	char			text[256];
	char			*argv2[] = { "other", NULL };
	struct pool_env		env = { "K", "v" };

	(void)state;
	spec_pool(&a, "d", 2);
	spec_pool(&b, "d", 2);
	assert_int_equal(pool_spec_diff(&a, &b, text, sizeof text), 0);
	assert_string_equal(text, "");
	b.workers = 4;
	b.memory_limit = 1 << 20;
	assert_int_equal(pool_spec_diff(&a, &b, text, sizeof text),
	    POOL_DIFF_LIVE);
	assert_string_equal(text, "workers 2 -> 4, memory_limit");
	b.argv = argv2;
	b.env = &env;
	b.nenv = 1;
	b.idle_sleep_ms = 5;
	assert_int_equal(pool_spec_diff(&a, &b, text, sizeof text),
	    POOL_DIFF_LIVE | POOL_DIFF_REPLACE);
	assert_string_equal(text, "command, env, workers 2 -> 4, idle_sleep, "
	    "memory_limit");
	/* Cut to the buffer, still terminated. */
	assert_int_equal(pool_spec_diff(&a, &b, text, 12),
	    POOL_DIFF_LIVE | POOL_DIFF_REPLACE);
	assert_string_equal(text, "command, en");
	assert_int_equal(pool_spec_diff(&a, &b, NULL, 0),
	    POOL_DIFF_LIVE | POOL_DIFF_REPLACE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_diff),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_update_live),
		cmocka_unit_test(test_update_replace),
		cmocka_unit_test(test_stop_while_removing),
	};

	h_build_path(worker_path, sizeof worker_path,
	    "examples/workers/pooltop-example-worker");
	return cmocka_run_group_tests_name("retire", tests, NULL, NULL);
}
