/*
 * Chaos: 20,000 tasks (echo, and every 4th a 2 ms sleep) over 4 workers,
 * 4 in flight each, while a worker is killed with SIGKILL at random
 * every ~50 ms.  Every task ends exactly once, with its right result or
 * with an error saying its worker died; at the end
 * every slot has a live worker again, and after the stop no child (nor
 * zombie) is left and the process's descriptor count is back where it
 * started.  POOLTOP_CHAOS_TASKS sets a smaller count (valgrind).
 */
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
#define KILL_MS		50		/* on average: 25 to 75 ms */
#define SEND_MS		5		/* a batch of tasks this often */
#define RUN_MS		4000		/* the sends span this, whatever the count */
/* Every 4th task sleeps 2 ms, so that workers are killed mid-task. */
#define SLEEPS(i)	((i) % 4 == 0)

static char	worker_path[1024];

struct outcome {
	uint8_t		 calls;
	uint8_t		 ok;
};

struct chaos {
	struct h_ctx	*c;
	struct pool	*p;
	uv_timer_t	 kill_timer;
	uv_timer_t	 send_timer;
	struct outcome	*out;
	unsigned	 ntasks;
	unsigned	 sent;
	unsigned	 done;
	unsigned	 ok;
	unsigned	 died;		/* ended with their worker's death */
	unsigned	 bad;		/* wrong result or unexpected error */
	unsigned	 twice;
	unsigned	 kills;
	uint64_t	 rng;
	char		 first_bad[512];
};

static struct chaos	*ch;

static uint64_t
rnd(void)
{
	ch->rng ^= ch->rng << 13;
	ch->rng ^= ch->rng >> 7;
	ch->rng ^= ch->rng << 17;
	return ch->rng;
}

/* "worker chaos/N (pid P) exited with signal 9 (Killed)", exactly. */
static bool
died_text(const char *s, size_t len)
{
	char		 copy[256];
	unsigned	 slot;
	int		 pid, n = 0;

	if (len >= sizeof copy)
		return false;
	memcpy(copy, s, len);
	copy[len] = '\0';
	if (sscanf(copy, "worker chaos/%u (pid %d) exited with signal 9 "
	    "(Killed)%n", &slot, &pid, &n) != 2)
		return false;
	return n == (int)len && slot < WORKERS && pid > 0;
}

static void
task_cb(bool ok, const void *data, size_t len, void *arg)
{
	unsigned	 i = (unsigned)(uintptr_t)arg;
	char		 want[32];
	int		 n;

	if (ch->out[i].calls++ != 0) {
		ch->twice++;
		return;
	}
	ch->out[i].ok = ok;
	ch->done++;
	n = snprintf(want, sizeof want, SLEEPS(i) ? "slept 2" : "t%u", i);
	if (ok && len == (size_t)n && memcmp(data, want, len) == 0)
		ch->ok++;
	else if (!ok && died_text(data, len))
		ch->died++;
	else if (ch->bad++ == 0)
		snprintf(ch->first_bad, sizeof ch->first_bad, "task %u: %s "
		    "\"%.*s\"", i, ok ? "result" : "error",
		    (int)(len > 300 ? 300 : len), (const char *)data);
}

static void
send_cb(uv_timer_t *h)
{
	unsigned	 batch = (ch->ntasks * SEND_MS + RUN_MS - 1) / RUN_MS, k;
	char		 payload[32];
	int		 n, r;

	(void)h;
	for (k = 0; k < batch && ch->sent < ch->ntasks; k++) {
		n = snprintf(payload, sizeof payload, SLEEPS(ch->sent) ? "2" :
		    "t%u", ch->sent);
		r = pool_send(ch->p, SLEEPS(ch->sent) ? "sleep" : "echo",
		    payload, (size_t)n, NULL, task_cb,
		    (void *)(uintptr_t)ch->sent);
		if (r != 0)
			fail_msg("pool_send: %s", pool_send_error(ch->p, r));
		ch->sent++;
	}
	if (ch->sent == ch->ntasks)
		uv_timer_stop(&ch->send_timer);
}

/* SIGKILL to a random slot's live worker (through the engine's pidfd). */
static void
kill_cb(uv_timer_t *h)
{
	struct pool_worker_info	 w[WORKERS];
	size_t			 n = pool_snapshot(ch->p, w, WORKERS);
	unsigned		 i = (unsigned)(rnd() % WORKERS);

	if (i < n && w[i].pid > 0 &&
	    pool_worker_signal(ch->p, (int)i, SIGKILL) == 0)
		ch->kills++;
	uv_timer_start(h, kill_cb, KILL_MS / 2 + rnd() % KILL_MS, 0);
}

static bool
all_done(struct h_ctx *c, void *arg)
{
	(void)c;
	(void)arg;
	return ch->done == ch->ntasks;
}

static bool
all_live(struct h_ctx *c, void *arg)
{
	(void)c;
	return h_live_ready(arg) == WORKERS;
}

static void
test_chaos(void **state)
{
	struct h_ctx		*c = h_new();
	struct pool_spec	 s;
	struct pool_worker_info	 w[WORKERS];
	char			*argv[] = { worker_path, NULL };
	const char		*env = getenv("POOLTOP_CHAOS_TASKS");
	uint64_t		 t0, t1;
	int			 fds0, fds1, zombies, i;

	(void)state;
	fds0 = h_fds();
	ch = calloc(1, sizeof *ch);
	assert_non_null(ch);
	ch->c = c;
	ch->ntasks = env != NULL ? (unsigned)strtoul(env, NULL, 10) : 20000;
	assert_true(ch->ntasks > 0);
	ch->out = calloc(ch->ntasks, sizeof *ch->out);
	assert_non_null(ch->out);
	ch->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();

	pool_spec_init(&s);
	s.name = "chaos";
	s.argv = argv;
	s.workers = s.min_workers = WORKERS;
	s.parallel_jobs = 4;
	s.queue_cap = ch->ntasks;
	s.max_restarts = 0;		/* killed all along: never give up */
	s.backoff_initial_ms = 5;
	s.backoff_max_ms = 40;
	assert_int_equal(engine_add_pool(c->e, &s, &ch->p), 0);
	assert_true(h_run_until(c, all_live, ch->p, H_WAIT_MS));

	t0 = uv_hrtime();
	uv_timer_init(&c->loop, &ch->send_timer);
	uv_timer_init(&c->loop, &ch->kill_timer);
	uv_timer_start(&ch->send_timer, send_cb, 0, SEND_MS);
	uv_timer_start(&ch->kill_timer, kill_cb, KILL_MS, 0);
	assert_true(h_run_until(c, all_done, NULL, 120000));
	uv_timer_stop(&ch->kill_timer);
	t1 = uv_hrtime();
	/* Late callbacks would show here. */
	h_run_for(c, 100);
	print_message("%u tasks in %.1f s: %u ok, %u ended with their "
	    "worker's death; %u kills\n", ch->ntasks, (double)(t1 - t0) / 1e9,
	    ch->ok, ch->died, ch->kills);

	assert_int_equal(ch->twice, 0);
	assert_int_equal(ch->done, ch->ntasks);
	if (ch->bad != 0)
		fail_msg("%u tasks ended wrong; first: %s", ch->bad,
		    ch->first_bad);
	assert_int_equal(ch->ok + ch->died, ch->ntasks);
	for (i = 0; i < (int)ch->ntasks; i++)
		assert_int_equal(ch->out[i].calls, 1);
	assert_true(ch->kills >= 10);
	assert_true(ch->died >= 1);

	/* No worker is left dead: every slot runs a ready worker again. */
	assert_true(h_run_until(c, all_live, ch->p, H_WAIT_MS));
	assert_int_equal(pool_snapshot(ch->p, w, WORKERS), WORKERS);
	for (i = 0; i < WORKERS; i++)
		assert_true(w[i].pid > 0);

	uv_close((uv_handle_t *)&ch->send_timer, NULL);
	uv_close((uv_handle_t *)&ch->kill_timer, NULL);
	h_stop(c);
	/* No child and no zombie left; every descriptor given back. */
	assert_int_equal(h_children(&zombies), 0);
	assert_int_equal(zombies, 0);
	fds1 = h_fds();
	if (fds1 != fds0)
		fail_msg("open descriptors: %d before, %d after", fds0, fds1);
	h_free(c);
	free(ch->out);
	free(ch);
	ch = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chaos),
	};

	h_build_path(worker_path, sizeof worker_path,
	    "examples/workers/pooltop-example-worker");
	return cmocka_run_group_tests_name("chaos", tests, NULL, NULL);
}
