/*
 * Integration tests of the engine: real pools of the example workers (C
 * and Python) on a real loop, real pipes, real signals.  Each test has
 * its own loop; teardown stops the engine, asserts uv_loop_close() == 0
 * (no handle left) and that no child of this process remains in /proc.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "pooltop/pool.h"
#include "pooltop/sampler.h"
#include "harness.h"

#define WAIT_MS		10000	/* generous: a loaded 2-core CI machine */
#define MAX_TASKS	2000

struct result {
	int		 calls;
	bool		 ok;
	char		 data[512];
	size_t		 len;
};

struct ctx {
	struct h_ctx	 h;		/* first: waits get the ctx as it */
	struct sampler	*sampler;
	/* Events seen: */
	unsigned	 started;
	unsigned	 finished;
	char		 ready_text[512];
	char		 failed_text[512];
	char		 notice[1024];
	/* Results by index: */
	struct result	 res[MAX_TASKS];
	int		 done;
};

static char	worker_path[1024];
static char	service_path[1024];
static char	python_path[1024];

/* Results of tasks: arg points at a struct result. */
static struct ctx *cur;

static void
event_cb(const struct pool_event *ev, void *arg)
{
	struct ctx	*c = arg;

	switch (ev->type) {
	case POOL_EV_READY:
		if (ev->text != NULL)
			snprintf(c->ready_text, sizeof c->ready_text, "%.*s",
			    (int)ev->text_len, ev->text);
		break;
	case POOL_EV_FAILED:
		snprintf(c->failed_text, sizeof c->failed_text, "%.*s",
		    (int)ev->text_len, ev->text);
		break;
	case POOL_EV_TASK_STARTED:
		c->started++;
		break;
	case POOL_EV_TASK_FINISHED:
		c->finished++;
		break;
	case POOL_EV_NOTICE:
		snprintf(c->notice, sizeof c->notice, "%.*s",
		    (int)ev->text_len, ev->text);
		break;
	default:
		break;
	}
}

static int
setup(void **state)
{
	struct ctx	*c = calloc(1, sizeof *c);

	assert_non_null(c);
	h_init(&c->h);
	assert_int_equal(engine_listen(c->h.e, event_cb, c), 0);
	cur = c;
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx	*c = *state;

	h_stop(&c->h);
	if (c->sampler != NULL)
		sampler_free(c->sampler);
	h_end(&c->h);
	assert_int_equal(h_children(NULL), 0);
	free(c);
	cur = NULL;
	return 0;
}

static bool
done_at_least(struct h_ctx *hc, void *arg)
{
	struct ctx	*c = (struct ctx *)hc;

	return c->done >= *(int *)arg;
}

/* Waits until n tasks ended. */
static void
wait_done(struct ctx *c, int n)
{
	assert_true(h_run_until(&c->h, done_at_least, &n, WAIT_MS));
}

static void
task_cb(bool ok, const void *data, size_t len, void *arg)
{
	struct result	*r = arg;

	r->calls++;
	r->ok = ok;
	r->len = len < sizeof r->data - 1 ? len : sizeof r->data - 1;
	memcpy(r->data, data, r->len);
	r->data[r->len] = '\0';
	if (!ok)
		assert_int_equal(((const char *)data)[len], '\0');
	cur->done++;
}

static char *example_argv[8];

/* A spec for the C example worker with extra arguments. */
static void
spec_worker(struct pool_spec *s, const char *name, unsigned workers,
    const char *const *args)
{
	size_t	i = 0;

	pool_spec_init(s);
	s->name = (char *)name;
	example_argv[i++] = worker_path;
	while (args != NULL && *args != NULL && i < 7)
		example_argv[i++] = (char *)*args++;
	example_argv[i] = NULL;
	s->argv = example_argv;
	s->workers = workers;
	s->min_workers = workers;
	s->backoff_initial_ms = 20;
	s->backoff_max_ms = 100;
	s->stop_timeout_ms = 2000;
}

static struct pool *
add(struct ctx *c, const struct pool_spec *s)
{
	struct pool	*p;
	int		 r = engine_add_pool(c->h.e, s, &p);

	if (r != 0)
		fail_msg("engine_add_pool: %s: %s", uv_strerror(r),
		    engine_error(c->h.e));
	return p;
}

static void
tsend(struct pool *p, const char *task, const char *payload, int idx,
    const struct pool_send_opts *o)
{
	int	r = pool_send(p, task, payload, strlen(payload), o, task_cb,
		    &cur->res[idx]);

	if (r != 0)
		fail_msg("pool_send: %s", pool_send_error(p, r));
}

static void
dump_fn(const struct pool_log_line *l, void *arg)
{
	fprintf(stderr, "  [%s %d] %s\n", (const char *)arg, (int)l->stream,
	    l->text);
}

/* Prints a slot's log (for failure messages). */
static void
dump_log(struct pool *p, int slot)
{
	pool_worker_log(p, slot, 0, dump_fn, (void *)pool_name(p));
}

/* ---- tests --------------------------------------------------------------- */

/* Results are right: binary payloads, errors, unknown task names. */
static void
test_results(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	unsigned char		 bin[300];
	size_t			 i;

	spec_worker(&s, "res", 2, NULL);
	p = add(c, &s);
	h_wait_ready(&c->h, 2);
	for (i = 0; i < sizeof bin; i++)
		bin[i] = (unsigned char)(i * 7);
	assert_int_equal(pool_send(p, "echo", bin, sizeof bin, NULL, task_cb,
	    &c->res[0]), 0);
	tsend(p, "fail", "bad input", 1, NULL);
	tsend(p, "nope", "x", 2, NULL);
	assert_int_equal(pool_send(p, "echo", NULL, 0, NULL, task_cb,
	    &c->res[3]), 0);
	wait_done(c, 4);
	assert_int_equal(c->res[0].calls, 1);
	assert_true(c->res[0].ok);
	assert_int_equal(c->res[0].len, sizeof bin);
	assert_memory_equal(c->res[0].data, bin, sizeof bin);
	assert_false(c->res[1].ok);
	assert_string_equal(c->res[1].data, "bad input");
	assert_false(c->res[2].ok);
	assert_string_equal(c->res[2].data, "task \"nope\" not served by pool "
	    "\"res\" (served: echo, sleep, fail, crash, pid, burn, alloc, log, "
	    "logerr)");
	assert_true(c->res[3].ok);
	assert_int_equal(c->res[3].len, 0);
	assert_int_equal(pool_send(p, "", "x", 1, NULL, task_cb, NULL),
	    -EINVAL);
	assert_int_equal(c->finished, 4);
}

/* 1,000 tasks over 4 workers: each completes exactly once, right. */
static void
thousand(struct ctx *c, unsigned parallel)
{
	struct pool_spec		 s;
	struct pool			*p;
	struct pool_info		 info;
	struct pool_worker_info		 w[4];
	uint64_t			 done_before[4];
	char				 buf[32];
	int				 i;
	size_t				 n;

	spec_worker(&s, "many", 4, NULL);
	s.parallel_jobs = parallel;
	p = add(c, &s);
	for (i = 0; i < 1000; i++) {
		snprintf(buf, sizeof buf, "task %d", i);
		tsend(p, "echo", buf, i, NULL);
	}
	wait_done(c, 1000);
	for (i = 0; i < 1000; i++) {
		snprintf(buf, sizeof buf, "task %d", i);
		assert_int_equal(c->res[i].calls, 1);
		assert_true(c->res[i].ok);
		assert_string_equal(c->res[i].data, buf);
	}
	pool_get_info(p, &info);
	assert_int_equal(info.tasks_done, 1000);
	assert_int_equal(info.tasks_failed, 0);
	assert_int_equal(info.queued, 0);
	n = pool_snapshot(p, w, 4);
	assert_int_equal(n, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(w[i].in_flight, 0);
	/* Let the loop idle: nothing more may be called back. */
	uv_run(&c->h.loop, UV_RUN_NOWAIT);
	assert_int_equal(c->done, 1000);

	/* With every worker ready, a burst is spread over all of them. */
	h_wait_ready(&c->h, 4);
	for (i = 0; i < 4; i++)
		done_before[i] = w[i].tasks_done;
	for (i = 1000; i < 1100; i++)
		tsend(p, "echo", "spread", i, NULL);
	wait_done(c, 1100);
	assert_int_equal(pool_snapshot(p, w, 4), 4);
	for (i = 0; i < 4; i++)
		assert_true(w[i].tasks_done > done_before[i]);
}

/* A result checked byte for byte against the payload it echoes. */
struct echoed {
	const unsigned char	*want;
	size_t			 len;
	int			 calls;
	bool			 ok;
	bool			 same;
};

static void
echoed_cb(bool ok, const void *data, size_t len, void *arg)
{
	struct echoed	*e = arg;

	e->calls++;
	e->ok = ok;
	e->same = len == e->len && (len == 0 || memcmp(data, e->want, len) == 0);
	cur->done++;
}

/*
 * Replies cut anywhere by the pipe's reads (in the length field, in the
 * body, at the read buffer's 64 KiB edge) and replies larger than the
 * read buffer all arrive whole and in their own callback.
 */
static void
test_frames_split(void **state)
{
	static const size_t	 sizes[] = { 0, 1, 2, 17, 31, 4096, 65527,
	    65528, 65535, 65536, 65537, 100000, 300000, 1u << 20 };
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	struct echoed		*e;
	unsigned char		*buf;
	size_t			 i, n = 0, round, nsizes, total;

	nsizes = sizeof sizes / sizeof sizes[0];
	total = 4 * nsizes + 300;
	e = calloc(total, sizeof *e);
	buf = malloc((1u << 20) + 1024);
	assert_non_null(e);
	assert_non_null(buf);
	for (i = 0; i < (1u << 20) + 1024; i++)
		buf[i] = (unsigned char)(i * 131 + i / 251);
	spec_worker(&s, "split", 2, NULL);
	s.parallel_jobs = 8;
	p = add(c, &s);
	h_wait_ready(&c->h, 2);
	for (round = 0; round < 4; round++) {
		for (i = 0; i < nsizes; i++, n++) {
			e[n].want = buf + (n * 7) % 1000;
			e[n].len = sizes[(i + round) % nsizes];
			assert_int_equal(pool_send(p, "echo", e[n].want,
			    e[n].len, NULL, echoed_cb, &e[n]), 0);
		}
	}
	for (i = 0; i < 300; i++, n++) {
		e[n].want = buf + (n * 13) % 1000;
		e[n].len = (n * 977) % 3000;
		assert_int_equal(pool_send(p, "echo", e[n].want, e[n].len,
		    NULL, echoed_cb, &e[n]), 0);
	}
	wait_done(c, (int)n);
	for (i = 0; i < n; i++) {
		assert_int_equal(e[i].calls, 1);
		assert_true(e[i].ok);
		if (!e[i].same)
			fail_msg("task %zu (%zu bytes): wrong result", i,
			    e[i].len);
	}
	free(buf);
	free(e);
}

/*
 * A worker (Python, from the protocol alone) that writes each reply in two
 * pieces with a pause between them, cut one byte further each time: every
 * reply reaches the pool cut at a different place, in its length field,
 * its type, its id or its payload.
 */
static const char dribble_py[] =
    "import os, struct, time\n"
    "def rd(n):\n"
    "    b = b''\n"
    "    while len(b) < n:\n"
    "        c = os.read(3, n - len(b))\n"
    "        if not c:\n"
    "            raise SystemExit(0)\n"
    "        b += c\n"
    "    return b\n"
    "body = struct.pack('>BHHH', 1, 1, 1, 4) + b'echo'\n"
    "os.write(4, struct.pack('>I', len(body)) + body)\n"
    "k = 0\n"
    "while True:\n"
    "    flen, = struct.unpack('>I', rd(4))\n"
    "    req = rd(flen)\n"
    "    t, i, nl = struct.unpack('>BIH', req[:7])\n"
    "    data = req[7 + nl:]\n"
    "    f = struct.pack('>IBI', 5 + len(data), 3, i) + data\n"
    "    k = k % (len(f) - 1) + 1\n"
    "    os.write(4, f[:k])\n"
    "    time.sleep(0.003)\n"
    "    os.write(4, f[k:])\n";

static void
test_frames_dribble(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	char			*argv[] = { "python3", "-c", (char *)dribble_py,
				    NULL };
	char			 want[64];
	int			 i, n = 40;

	pool_spec_init(&s);
	s.name = "dribble";
	s.argv = argv;
	s.workers = s.min_workers = 1;
	s.parallel_jobs = 1;	/* one reply in the pipe at a time */
	s.handshake_ms = 10000;
	p = add(c, &s);
	h_wait_ready(&c->h, 1);
	for (i = 0; i < n; i++) {
		/* A 34-byte reply: 33 places to cut it, each one taken. */
		snprintf(want, sizeof want, "payload number %05d ....", i);
		tsend(p, "echo", want, i, NULL);
	}
	wait_done(c, n);
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof want, "payload number %05d ....", i);
		assert_int_equal(c->res[i].calls, 1);
		if (!c->res[i].ok)
			fail_msg("task %d: %s", i, c->res[i].data);
		assert_string_equal(c->res[i].data, want);
	}
}

static void
test_thousand_p1(void **state)
{
	thousand(*state, 1);
}

static void
test_thousand_p8(void **state)
{
	thousand(*state, 8);
}

/* A key always lands on the same worker. */
static void
test_sticky(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	struct pool_send_opts	 ka = { "alpha", 5, 0 }, kb = { "beta", 4, 0 };
	int			 i;

	spec_worker(&s, "sticky", 4, NULL);
	s.parallel_jobs = 2;
	p = add(c, &s);
	h_wait_ready(&c->h, 4);
	for (i = 0; i < 150; i += 3) {
		tsend(p, "pid", "", i, &ka);
		tsend(p, "pid", "", i + 1, &kb);
		tsend(p, "sleep", "1", i + 2, NULL);
	}
	wait_done(c, 150);
	for (i = 0; i < 150; i += 3) {
		assert_true(c->res[i].ok);
		assert_true(c->res[i + 1].ok);
		assert_true(c->res[i + 2].ok);
		assert_string_equal(c->res[i].data, c->res[0].data);
		assert_string_equal(c->res[i + 1].data, c->res[1].data);
	}
}

struct renewal {
	const char	*pool;
	pid_t		 old;
};

/* Slot 0 of the pool runs a new process, ready and idle. */
static bool
slot_has_new_pid(struct h_ctx *hc, void *arg)
{
	struct ctx		*c = (struct ctx *)hc;
	struct renewal		*r = arg;
	struct pool		*p = engine_pool(c->h.e, r->pool);
	struct pool_worker_info	 w[1];

	return pool_snapshot(p, w, 1) == 1 && w[0].pid != 0 &&
	    w[0].pid != r->old && w[0].state == WORKER_IDLE;
}

static bool
slot_busy(struct h_ctx *hc, void *arg)
{
	struct ctx		*c = (struct ctx *)hc;
	struct pool	*p = arg;
	struct pool_worker_info	w[1];

	(void)c;
	return pool_snapshot(p, w, 1) == 1 && w[0].in_flight == 2 &&
	    w[0].state == WORKER_BUSY;
}

/* kill -9 of a busy worker ends its tasks with that error; it comes back. */
static void
test_kill9(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	struct pool_worker_info	 w[1];
	struct renewal		 rn;
	char			 want[200];
	pid_t			 pid;

	spec_worker(&s, "k9", 1, NULL);
	s.parallel_jobs = 4;
	p = add(c, &s);
	h_wait_ready(&c->h, 1);
	pid = h_slot_pid(p, 0);
	tsend(p, "sleep", "5000", 0, NULL);
	tsend(p, "sleep", "5000", 1, NULL);
	assert_true(h_run_until(&c->h, slot_busy, p, WAIT_MS));
	assert_int_equal(kill(pid, SIGKILL), 0);
	wait_done(c, 2);
	snprintf(want, sizeof want, "worker k9/0 (pid %d) exited with signal "
	    "9 (Killed)", (int)pid);
	assert_false(c->res[0].ok);
	assert_string_equal(c->res[0].data, want);
	assert_false(c->res[1].ok);
	assert_string_equal(c->res[1].data, want);
	rn.pool = "k9";
	rn.old = pid;
	assert_true(h_run_until(&c->h, slot_has_new_pid, &rn, WAIT_MS));
	assert_int_equal(pool_snapshot(p, w, 1), 1);
	assert_int_equal(w[0].restarts, 1);
	assert_int_equal(w[0].last_signal, SIGKILL);
	tsend(p, "echo", "back", 2, NULL);
	wait_done(c, 3);
	assert_string_equal(c->res[2].data, "back");
}

/* With retry = 1 the task of a killed worker runs again elsewhere. */
static void
test_retry(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	pid_t			 pid;

	spec_worker(&s, "k9", 1, NULL);
	s.retry = 1;
	p = add(c, &s);
	h_wait_ready(&c->h, 1);
	pid = h_slot_pid(p, 0);
	tsend(p, "sleep", "300", 0, NULL);
	tsend(p, "sleep", "200", 1, NULL);
	while (c->started < 1)
		uv_run(&c->h.loop, UV_RUN_ONCE);
	assert_int_equal(kill(pid, SIGKILL), 0);
	wait_done(c, 2);
	assert_true(c->res[0].ok);
	assert_string_equal(c->res[0].data, "slept 300");
	assert_true(c->res[1].ok);
	assert_string_equal(c->res[1].data, "slept 200");
	assert_int_equal(c->res[0].calls, 1);
	assert_int_equal(c->h.exited, 1);
}

static bool
pool_failed(struct h_ctx *hc, void *arg)
{
	struct ctx	*c = (struct ctx *)hc;

	(void)arg;
	return c->h.failed != 0;
}

/* A command that exits at once: restarts stop, the pool says why. */
static void
test_crash_loop(void **state)
{
	struct ctx		*c = *state;
	static const char	*args[] = { "--exit-at-start", "3", NULL };
	struct pool_spec	 s;
	struct pool		*p;
	struct pool_info	 info;
	struct pool_worker_info	 w[1];
	const char		*want = "worker loop/0 failed 3 times within 10 s "
				    "(last: exited with status 3); not restarting";

	spec_worker(&s, "loop", 1, args);
	s.max_restarts = 3;
	s.restart_window_ms = 10000;
	/*
	 * Why a long grace: under load the default 2 s could pass before
	 * an exit is seen, and the pool would take its workers for services.
	 */
	s.handshake_ms = 30000;
	p = add(c, &s);
	tsend(p, "echo", "never", 0, NULL);
	assert_true(h_run_until(&c->h, pool_failed, NULL, WAIT_MS));
	pool_get_info(p, &info);
	assert_true(info.failed);
	assert_string_equal(info.failure, want);
	assert_string_equal(c->failed_text, want);
	assert_int_equal(c->h.exited, 3);
	assert_int_equal(c->h.restarting, 2);
	wait_done(c, 1);
	assert_false(c->res[0].ok);
	assert_string_equal(c->res[0].data, want);
	assert_int_equal(pool_snapshot(p, w, 1), 1);
	assert_int_equal(w[0].state, WORKER_FAILED);
	assert_int_equal(w[0].last_status, 3);
	/* A task sent now ends at once with the same reason. */
	tsend(p, "echo", "late", 1, NULL);
	wait_done(c, 2);
	assert_string_equal(c->res[1].data, want);
}

/* A missing command fails the pool's start with a clear error. */
static void
test_missing_command(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p = NULL;
	char			*argv1[] = { "/nonexistent/pooltop-nope", NULL };
	char			*argv2[] = { "pooltop-no-such-command", NULL };
	const char		*want = "pool miss: cannot start \"pooltop-no-"
				    "such-command\": No such file or directory "
				    "(not found in PATH=";

	pool_spec_init(&s);
	s.name = "miss";
	s.argv = argv1;
	assert_int_equal(engine_add_pool(c->h.e, &s, &p), -ENOENT);
	assert_null(p);
	assert_string_equal(engine_error(c->h.e), "pool miss: cannot start "
	    "\"/nonexistent/pooltop-nope\": No such file or directory");
	s.argv = argv2;
	assert_int_equal(engine_add_pool(c->h.e, &s, &p), -ENOENT);
	assert_memory_equal(engine_error(c->h.e), want, strlen(want));
	assert_int_equal(engine_pools(c->h.e, NULL, 0), 0);
	assert_int_equal(h_children(NULL), 0);
}

/* A full queue answers at once. */
static void
test_queue_full(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	int			 r;

	spec_worker(&s, "full", 1, NULL);
	s.queue_cap = 2;
	p = add(c, &s);
	h_wait_ready(&c->h, 1);
	tsend(p, "sleep", "200", 0, NULL);
	tsend(p, "echo", "a", 1, NULL);
	tsend(p, "echo", "b", 2, NULL);
	r = pool_send(p, "echo", "c", 1, NULL, task_cb, &c->res[3]);
	assert_int_equal(r, -ENOBUFS);
	assert_string_equal(pool_send_error(p, r),
	    "pool \"full\": queue full (2 tasks waiting, queue_cap 2)");
	wait_done(c, 3);
	assert_string_equal(c->res[0].data, "slept 200");
	assert_string_equal(c->res[1].data, "a");
	assert_string_equal(c->res[2].data, "b");
	assert_int_equal(c->res[3].calls, 0);
}

static bool
late_reply_seen(struct h_ctx *hc, void *arg)
{
	struct ctx		*c = (struct ctx *)hc;
	struct pool_info	info;

	(void)c;
	pool_get_info(arg, &info);
	return info.late_replies == 1;
}

/* A task past its timeout ends with the timeout; the late reply is dropped. */
static void
test_timeout(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	struct pool_worker_info	 w[1];
	struct pool_send_opts	 o = { NULL, 0, 150 };

	spec_worker(&s, "slow", 1, NULL);
	s.parallel_jobs = 2;
	p = add(c, &s);
	h_wait_ready(&c->h, 1);
	tsend(p, "sleep", "600", 0, &o);
	tsend(p, "sleep", "10", 1, &o);
	wait_done(c, 2);
	assert_false(c->res[0].ok);
	assert_string_equal(c->res[0].data, "timed out after 150 ms");
	assert_true(c->res[1].ok);
	/* Its place on the worker stays taken until the reply comes. */
	assert_int_equal(pool_snapshot(p, w, 1), 1);
	assert_int_equal(w[0].in_flight, 1);
	assert_true(h_run_until(&c->h, late_reply_seen, p, WAIT_MS));
	assert_int_equal(c->res[0].calls, 1);
	assert_int_equal(pool_snapshot(p, w, 1), 1);
	assert_int_equal(w[0].in_flight, 0);
	tsend(p, "echo", "after", 2, NULL);
	wait_done(c, 3);
	assert_string_equal(c->res[2].data, "after");
	assert_int_equal(c->res[0].calls, 1);
}

struct bcast {
	int			 calls;
	size_t			 n;
	pid_t			 pid[8];
	char			 data[8][32];
	bool			 ok[8];
};

static void
bcast_cb(const struct pool_reply *r, size_t n, void *arg)
{
	struct bcast	*b = arg;
	size_t		 i;

	b->calls++;
	b->n = n;
	for (i = 0; i < n && i < 8; i++) {
		b->pid[i] = r[i].pid;
		b->ok[i] = r[i].ok;
		snprintf(b->data[i], sizeof b->data[i], "%.*s", (int)r[i].len,
		    (const char *)r[i].data);
	}
	cur->done++;
}

/* A broadcast reaches every worker and completes once. */
static void
test_broadcast(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	struct bcast		 b;
	char			 pid[32];
	int			 i;

	memset(&b, 0, sizeof b);
	spec_worker(&s, "all", 3, NULL);
	p = add(c, &s);
	h_wait_ready(&c->h, 3);
	assert_int_equal(pool_broadcast(p, "pid", NULL, 0, bcast_cb, &b), 0);
	wait_done(c, 1);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.n, 3);
	for (i = 0; i < 3; i++) {
		snprintf(pid, sizeof pid, "%d", (int)h_slot_pid(p, i));
		assert_true(b.ok[i]);
		assert_int_equal(b.pid[i], h_slot_pid(p, i));
		assert_string_equal(b.data[i], pid);
	}
}

/* No handshake: a service, and tasks are refused with a clear error. */
static void
test_service(void **state)
{
	struct ctx		*c = *state;
	static const char	*args[] = { "--no-hello", NULL };
	struct pool_spec	 s;
	struct pool		*p, *q;
	struct pool_worker_info	 w[1];
	char			*sargv[] = { service_path, NULL };

	spec_worker(&s, "svc", 1, args);
	s.handshake_ms = 200;
	p = add(c, &s);
	h_wait_ready(&c->h, 1);
	assert_string_equal(c->ready_text, "svc/0: no handshake within 200 "
	    "ms; running as a service (sent no tasks)");
	assert_int_equal(pool_snapshot(p, w, 1), 1);
	assert_true(w[0].service);
	assert_int_equal(w[0].state, WORKER_IDLE);
	tsend(p, "echo", "x", 0, NULL);
	wait_done(c, 1);
	assert_false(c->res[0].ok);
	assert_string_equal(c->res[0].data, "pool \"svc\" has no worker that "
	    "answered the handshake: its processes run as services, which "
	    "take no tasks");

	pool_spec_init(&s);
	s.name = "svc2";
	s.argv = sargv;
	s.mode = POOL_MODE_SERVICE;
	q = add(c, &s);
	h_wait_ready(&c->h, 2);
	tsend(q, "echo", "x", 1, NULL);
	wait_done(c, 2);
	assert_string_equal(c->res[1].data, "pool \"svc2\" runs services, "
	    "which take no tasks");
	assert_int_equal(pool_snapshot(q, w, 1), 1);
	assert_true(w[0].service);
	assert_true(w[0].pid > 0);
}

static bool
slot_state_is(struct h_ctx *hc, void *arg)
{
	struct ctx		*c = (struct ctx *)hc;
	struct pool		*p = engine_pool(c->h.e, "stop");
	struct pool_worker_info	 w[1];

	return pool_snapshot(p, w, 1) == 1 &&
	    w[0].state == *(enum worker_state *)arg;
}

/* kill -STOP from outside: sleeping, not dead; kill -CONT: awake. */
static void
test_stop_from_outside(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	struct pool_worker_info	 w[1];
	enum worker_state	 st;
	pid_t			 pid;

	spec_worker(&s, "stop", 1, NULL);
	p = add(c, &s);
	h_wait_ready(&c->h, 1);
	pid = h_slot_pid(p, 0);
	assert_int_equal(kill(pid, SIGSTOP), 0);
	st = WORKER_SLEEPING;
	assert_true(h_run_until(&c->h, slot_state_is, &st, WAIT_MS));
	assert_int_equal(pool_snapshot(p, w, 1), 1);
	assert_int_equal(w[0].pid, pid);
	assert_int_equal(w[0].restarts, 0);
	assert_int_equal(c->h.exited, 0);
	assert_int_equal(kill(pid, SIGCONT), 0);
	st = WORKER_IDLE;
	assert_true(h_run_until(&c->h, slot_state_is, &st, WAIT_MS));
	tsend(p, "echo", "awake", 0, NULL);
	wait_done(c, 1);
	assert_string_equal(c->res[0].data, "awake");
	assert_int_equal(h_slot_pid(p, 0), pid);
}

/* A task sent to a worker stopped from outside wakes it when it is the only one. */
static void
test_stopped_worker_woken_for_task(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	enum worker_state	 st = WORKER_SLEEPING;
	pid_t			 pid;

	spec_worker(&s, "stop", 1, NULL);
	p = add(c, &s);
	h_wait_ready(&c->h, 1);
	pid = h_slot_pid(p, 0);
	assert_int_equal(kill(pid, SIGSTOP), 0);
	assert_true(h_run_until(&c->h, slot_state_is, &st, WAIT_MS));
	tsend(p, "echo", "wake up", 0, NULL);
	wait_done(c, 1);
	assert_string_equal(c->res[0].data, "wake up");
	assert_int_equal(h_slot_pid(p, 0), pid);
}

/* The Python worker, written from the man page, works in a pool too. */
static void
test_python(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	char			*argv[] = { "python3", python_path, NULL };

	if (access(python_path, R_OK) != 0)
		skip();
	pool_spec_init(&s);
	s.name = "py";
	s.argv = argv;
	s.workers = s.min_workers = 2;
	s.handshake_ms = 10000;
	p = add(c, &s);
	h_wait_ready(&c->h, 2);
	tsend(p, "echo", "from python", 0, NULL);
	tsend(p, "echo", "twice", 1, NULL);
	wait_done(c, 2);
	if (!c->res[0].ok) {
		dump_log(p, 0);
		dump_log(p, 1);
		fail_msg("python echo failed: %s", c->res[0].data);
	}
	assert_string_equal(c->res[0].data, "from python");
	assert_string_equal(c->res[1].data, "twice");
}

static bool
noticed(struct h_ctx *hc, void *arg)
{
	struct ctx	*c = (struct ctx *)hc;

	return c->h.notices != 0 && strstr(c->notice, arg) != NULL;
}

/* Garbage on fd 4: the worker is killed and restarted, the reason logged. */
static void
test_protocol_error(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	char			*argv[] = { "/bin/sh", "-c",
				    "printf '\\377\\377\\377\\377x' >&4; "
				    "exec sleep 30", NULL };
	const char		*want = "bad/0: protocol error: oversized frame "
				    "length 4294967295 (max 16777216); "
				    "restarting";

	pool_spec_init(&s);
	s.name = "bad";
	s.argv = argv;
	s.max_restarts = 0;
	s.backoff_initial_ms = 1000;
	p = add(c, &s);
	assert_true(h_run_until(&c->h, noticed, "protocol error", WAIT_MS));
	assert_string_equal(c->notice, want);
	(void)p;
}

/* A reply for an id never sent, and a second handshake. */
static void
test_protocol_bad_replies(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	/* HELLO (version 1, task "x"), then RESULT for id 99 / HELLO again. */
	char			*argv1[] = { "/bin/sh", "-c",
				    "printf '\\000\\000\\000\\010\\001\\000\\001"
				    "\\000\\001\\000\\001x' >&4; "
				    "printf '\\000\\000\\000\\005\\003\\000\\000"
				    "\\000\\143' >&4; exec sleep 30", NULL };
	char			*argv2[] = { "/bin/sh", "-c",
				    "printf '\\000\\000\\000\\010\\001\\000\\001"
				    "\\000\\001\\000\\001x' >&4; "
				    "printf '\\000\\000\\000\\010\\001\\000\\001"
				    "\\000\\001\\000\\001x' >&4; exec sleep 30", NULL };

	pool_spec_init(&s);
	s.name = "bad1";
	s.argv = argv1;
	s.backoff_initial_ms = 1000;
	add(c, &s);
	assert_true(h_run_until(&c->h, noticed, "protocol error", WAIT_MS));
	assert_string_equal(c->notice, "bad1/0: protocol error: reply for id "
	    "99, which is not in flight; restarting");
	c->h.notices = 0;
	s.name = "bad2";
	s.argv = argv2;
	add(c, &s);
	assert_true(h_run_until(&c->h, noticed, "protocol error", WAIT_MS));
	assert_string_equal(c->notice, "bad2/0: protocol error: a second "
	    "handshake; restarting");
}

struct logfind {
	const char	*want;
	int		 stream;
	int		 found;
};

static void
log_fn(const struct pool_log_line *l, void *arg)
{
	struct logfind	*f = arg;

	if (strcmp(l->text, f->want) == 0 && (int)l->stream == f->stream)
		f->found++;
}

/* stdout and stderr lines land in the slot's ring; kept across restarts. */
static void
test_logs(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	struct logfind		 f;
	struct renewal		 rn;
	char			 line[100];
	pid_t			 pid;

	spec_worker(&s, "logs", 1, NULL);
	p = add(c, &s);
	h_wait_ready(&c->h, 1);
	pid = h_slot_pid(p, 0);
	tsend(p, "log", "hello out", 0, NULL);
	tsend(p, "logerr", "hello err", 1, NULL);
	wait_done(c, 2);
	assert_int_equal(kill(pid, SIGKILL), 0);
	rn.pool = "logs";
	rn.old = pid;
	assert_true(h_run_until(&c->h, slot_has_new_pid, &rn, WAIT_MS));
	f = (struct logfind){ "hello out", LOG_STDOUT, 0 };
	pool_worker_log(p, 0, 0, log_fn, &f);
	assert_int_equal(f.found, 1);
	f = (struct logfind){ "hello err", LOG_STDERR, 0 };
	pool_worker_log(p, 0, 0, log_fn, &f);
	assert_int_equal(f.found, 1);
	/* The first process's start line, POOLTOP_WORKER included. */
	snprintf(line, sizeof line, "worker logs/0 started (pid %d)",
	    (int)pid);
	f = (struct logfind){ line, LOG_STDOUT, 0 };
	pool_worker_log(p, 0, 0, log_fn, &f);
	assert_int_equal(f.found, 1);
}

static bool
log_has(struct h_ctx *hc, void *arg)
{
	struct ctx	*c = (struct ctx *)hc;
	struct logfind	*f = arg;

	f->found = 0;
	pool_worker_log(engine_pool(c->h.e, "env"), 0, 0, log_fn, f);
	return f->found != 0;
}

/* argv as given (no shell of ours), cwd and env reach the process. */
static void
test_env_cwd(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool_env		 env[2] = { { "POOLTOP_T_FOO", "bar" },
				    { "POOLTOP_T_GONE", NULL } };
	char			*argv[] = { "sh", "-c", "echo \"$POOLTOP_T_FOO "
				    "${POOLTOP_T_GONE-unset} $(pwd) $1\"; "
				    "exec sleep 30", "sh", "a b", NULL };
	struct logfind		 f = { "bar unset /tmp a b", LOG_STDOUT, 0 };

	setenv("POOLTOP_T_GONE", "set", 1);
	pool_spec_init(&s);
	s.name = "env";
	s.argv = argv;
	s.cwd = "/tmp";
	s.env = env;
	s.nenv = 2;
	s.mode = POOL_MODE_SERVICE;
	add(c, &s);
	unsetenv("POOLTOP_T_GONE");
	assert_true(h_run_until(&c->h, log_has, &f, WAIT_MS));
}


static bool
proc_stopped(struct h_ctx *hc, void *arg)
{
	(void)hc;
	return h_proc_state(*(pid_t *)arg) == 'T';
}

/* An idle worker sleeps (state T in /proc); a task wakes it. */
static void
test_idle_sleep(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	enum worker_state	 st = WORKER_SLEEPING;
	pid_t			 pid;

	spec_worker(&s, "stop", 1, NULL);
	s.idle_sleep_ms = 200;
	p = add(c, &s);
	h_wait_ready(&c->h, 1);
	pid = h_slot_pid(p, 0);
	assert_true(h_run_until(&c->h, slot_state_is, &st, WAIT_MS));
	assert_true(h_run_until(&c->h, proc_stopped, &pid, WAIT_MS));
	tsend(p, "echo", "woken", 0, NULL);
	wait_done(c, 1);
	assert_string_equal(c->res[0].data, "woken");
	assert_int_not_equal(h_proc_state(pid), 'T');
	assert_int_equal(h_slot_pid(p, 0), pid);
	assert_int_equal(c->h.exited, 0);
}

/* Over memory_limit for three samples: restarted with the reason. */
static void
test_memory_limit(void **state)
{
	struct ctx		*c = *state;
	struct sampler_options	 so = { 100, 10 };
	struct engine_options	 eo;
	struct pool_spec	 s;
	struct pool		*p;
	struct renewal		 rn;

	engine_free(c->h.e);	/* no pool yet: freed at once */
	assert_int_equal(sampler_new(&c->sampler, &c->h.loop, &so), 0);
	assert_int_equal(sampler_start(c->sampler), 0);
	eo.sampler = c->sampler;
	assert_int_equal(engine_new(&c->h.e, &c->h.loop, &eo), 0);
	assert_int_equal(engine_listen(c->h.e, h_event_cb, &c->h), 0);
	assert_int_equal(engine_listen(c->h.e, event_cb, c), 0);
	spec_worker(&s, "mem", 1, NULL);
	s.memory_limit = 50u << 20;
	p = add(c, &s);
	h_wait_ready(&c->h, 1);
	rn.pool = "mem";
	rn.old = h_slot_pid(p, 0);
	tsend(p, "alloc", "80", 0, NULL);
	wait_done(c, 1);
	assert_string_equal(c->res[0].data, "holding 80 MB");
	assert_true(h_run_until(&c->h, noticed, "over limit 50 MB; restarting",
	    WAIT_MS));
	assert_memory_equal(c->notice, "mem/0: memory ", 14);
	assert_true(h_run_until(&c->h, slot_has_new_pid, &rn, WAIT_MS));
}

static bool
rows_are(struct h_ctx *hc, void *arg)
{
	struct ctx		*c = (struct ctx *)hc;
	struct pool		*p = engine_pool(c->h.e, "scale");
	struct pool_worker_info	 w[8];

	return pool_snapshot(p, w, 8) == *(size_t *)arg;
}

/* Scale up starts workers; scale down stops the highest slots. */
static void
test_scale(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	struct pool_worker_info	 w[8];
	size_t			 rows = 1;
	int			 i;

	spec_worker(&s, "scale", 1, NULL);
	p = add(c, &s);
	h_wait_ready(&c->h, 1);
	assert_int_equal(pool_scale(p, 3), 0);
	h_wait_ready(&c->h, 3);
	assert_int_equal(pool_snapshot(p, w, 8), 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(w[i].state, WORKER_IDLE);
	tsend(p, "sleep", "300", 0, NULL);
	tsend(p, "sleep", "300", 1, NULL);
	tsend(p, "sleep", "300", 2, NULL);
	assert_int_equal(pool_scale(p, 1), 0);
	assert_true(h_run_until(&c->h, rows_are, &rows, WAIT_MS));
	wait_done(c, 3);
	/* In-flight tasks of the removed workers finished first. */
	for (i = 0; i < 3; i++)
		assert_string_equal(c->res[i].data, "slept 300");
	tsend(p, "echo", "one", 3, NULL);
	wait_done(c, 4);
	assert_string_equal(c->res[3].data, "one");
}

/* Stop lets in-flight tasks finish; queued ones end with "pool stopping". */
static void
test_graceful_stop(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	int			 r;

	spec_worker(&s, "grace", 1, NULL);
	p = add(c, &s);
	h_wait_ready(&c->h, 1);
	tsend(p, "sleep", "300", 0, NULL);
	tsend(p, "echo", "queued", 1, NULL);
	while (c->started < 1)
		uv_run(&c->h.loop, UV_RUN_ONCE);
	engine_stop(c->h.e, h_stop_cb, &c->h);
	r = pool_send(p, "echo", "late", 4, NULL, task_cb, &c->res[2]);
	assert_int_equal(r, -ESHUTDOWN);
	assert_string_equal(pool_send_error(p, r), "pool stopping");
	assert_true(h_run_until(&c->h, h_is_stopped, NULL, WAIT_MS));
	assert_int_equal(c->done, 2);
	assert_true(c->res[0].ok);
	assert_string_equal(c->res[0].data, "slept 300");
	assert_false(c->res[1].ok);
	assert_string_equal(c->res[1].data, "pool stopping");
	assert_int_equal(h_children(NULL), 0);
}

/* min_workers = 0: nothing starts until a task comes. */
static void
test_lazy(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	struct pool_info	 info;

	struct pool_worker_info	 rows[2];

	spec_worker(&s, "lazy", 2, NULL);
	s.min_workers = 0;
	p = add(c, &s);
	pool_get_info(p, &info);
	assert_int_equal(info.live, 0);
	assert_int_equal(c->h.spawned, 0);
	/* Slots still waiting for their first spawn are not listed. */
	assert_int_equal(pool_snapshot(p, rows, 2), 0);
	tsend(p, "echo", "wake", 0, NULL);
	wait_done(c, 1);
	assert_string_equal(c->res[0].data, "wake");
	pool_get_info(p, &info);
	assert_int_equal(info.live, 1);
	assert_int_equal(pool_snapshot(p, rows, 2), 1);
	assert_int_equal(rows[0].slot, 0);
	assert_true(rows[0].pid > 0);
}

/* Too few descriptors: a clear error at start; recovery once raised. */
static void
test_nofile(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p = NULL;
	struct rlimit		 old, low;
	struct renewal		 rn;
	char			 want[300];
	int			 fd, r;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	/* Room for what is open now and not much more. */
	fd = dup(0);
	assert_true(fd >= 0);
	close(fd);
	low = old;
	low.rlim_cur = (rlim_t)fd + 2;
	snprintf(want, sizeof want, "pool nofile: cannot start worker: too "
	    "many open files (limit %d); raise it with ulimit -n (verify if "
	    "you hit the OS open files limit)", fd + 2);

	spec_worker(&s, "nofile", 1, NULL);
	s.max_restarts = 0;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	r = engine_add_pool(c->h.e, &s, &p);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(r, -EMFILE);
	assert_string_equal(engine_error(c->h.e), want);
	assert_null(p);

	/* A restart that hits the limit backs off and retries. */
	p = add(c, &s);
	h_wait_ready(&c->h, 1);
	rn.pool = "nofile";
	rn.old = h_slot_pid(p, 0);
	fd = dup(0);
	close(fd);
	low.rlim_cur = (rlim_t)fd + 2;
	snprintf(want, sizeof want, "pool nofile: cannot start worker: too "
	    "many open files (limit %d); raise it with ulimit -n (verify if "
	    "you hit the OS open files limit)", fd + 2);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	assert_int_equal(kill(rn.old, SIGKILL), 0);
	r = h_run_until(&c->h, noticed, "too many open files", WAIT_MS);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_true(r);
	assert_string_equal(c->notice, want);
	assert_true(h_run_until(&c->h, slot_has_new_pid, &rn, WAIT_MS));
}

static bool
gone_or_zombie(struct h_ctx *hc, void *arg)
{
	struct ctx	*c = (struct ctx *)hc;
	char	st = h_proc_state(*(pid_t *)arg);

	(void)c;
	return st == 0 || st == 'Z' || st == 'X';
}

/* A worker dies with the process that started it (PR_SET_PDEATHSIG). */
static void
test_dies_with_parent(void **state)
{
	struct ctx	*c = *state;
	int		 fds[2];
	pid_t		 helper, worker = 0;
	ssize_t		 n;

	assert_int_equal(pipe(fds), 0);
	helper = fork();
	assert_true(helper >= 0);
	if (helper == 0) {
		/* A fresh engine in a fresh loop, in a child of the test. */
		struct ctx		*h = calloc(1, sizeof *h);
		struct pool_spec	 s;
		struct pool		*p;

		close(fds[0]);
		cur = h;
		if (h == NULL || uv_loop_init(&h->h.loop) != 0 ||
		    engine_new(&h->h.e, &h->h.loop, NULL) != 0 ||
		    engine_listen(h->h.e, h_event_cb, &h->h) != 0)
			_exit(1);
		uv_timer_init(&h->h.loop, &h->h.tick);
		spec_worker(&s, "orphan", 1, NULL);
		if (engine_add_pool(h->h.e, &s, &p) != 0)
			_exit(1);
		uv_timer_start(&h->h.tick, h_tick_cb, 5, 5);
		while (h->h.ready == 0)
			uv_run(&h->h.loop, UV_RUN_ONCE);
		worker = h_slot_pid(p, 0);
		if (write(fds[1], &worker, sizeof worker) != sizeof worker)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	n = read(fds[0], &worker, sizeof worker);
	close(fds[0]);
	assert_int_equal(n, sizeof worker);
	assert_true(worker > 0);
	assert_int_not_equal(h_proc_state(worker), 0);
	assert_int_equal(kill(helper, SIGKILL), 0);
	assert_int_equal(waitpid(helper, NULL, 0), helper);
	assert_true(h_run_until(&c->h, gone_or_zombie, &worker, WAIT_MS));
}

struct chaos {
	struct ctx	*c;
	struct pool	*p;
	uv_timer_t	 timer;
	unsigned	 kills;
	unsigned	 next;
};

static void
chaos_kill_cb(uv_timer_t *h)
{
	struct chaos		*ch = h->data;
	struct pool_worker_info	 w[4];
	size_t			 n = pool_snapshot(ch->p, w, 4);
	size_t			 i = ch->next++ % 4;

	if (i < n && w[i].pid > 0 && w[i].state != WORKER_STARTING &&
	    kill(w[i].pid, SIGKILL) == 0)
		ch->kills++;
}

static void
chaos_close_cb(uv_handle_t *h)
{
	h->data = NULL;
}

/* Workers killed while tasks flow: every task ends once, right or with the exit. */
static void
test_chaos_small(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct chaos		 ch;
	char			 buf[32];
	int			 i, errors = 0;

	spec_worker(&s, "chaos", 4, NULL);
	s.parallel_jobs = 4;
	s.max_restarts = 0;
	s.backoff_initial_ms = 5;
	s.backoff_max_ms = 20;
	memset(&ch, 0, sizeof ch);
	ch.c = c;
	ch.p = add(c, &s);
	h_wait_ready(&c->h, 4);
	uv_timer_init(&c->h.loop, &ch.timer);
	ch.timer.data = &ch;
	uv_timer_start(&ch.timer, chaos_kill_cb, 30, 30);
	for (i = 0; i < MAX_TASKS; i++) {
		snprintf(buf, sizeof buf, i % 3 == 0 ? "2" : "t%d", i);
		tsend(ch.p, i % 3 == 0 ? "sleep" : "echo", buf, i, NULL);
	}
	wait_done(c, MAX_TASKS);
	uv_timer_stop(&ch.timer);
	uv_close((uv_handle_t *)&ch.timer, chaos_close_cb);
	while (ch.timer.data != NULL)	/* it lives on this stack */
		uv_run(&c->h.loop, UV_RUN_NOWAIT);
	for (i = 0; i < MAX_TASKS; i++) {
		assert_int_equal(c->res[i].calls, 1);
		if (!c->res[i].ok) {
			assert_memory_equal(c->res[i].data, "worker chaos/", 13);
			assert_non_null(strstr(c->res[i].data,
			    ") exited with signal 9 (Killed)"));
			errors++;
			continue;
		}
		snprintf(buf, sizeof buf, i % 3 == 0 ? "slept 2" : "t%d", i);
		assert_string_equal(c->res[i].data, buf);
	}
	assert_true(ch.kills > 0);
	/*
	 * Every slot has a live worker again.  The last kill may not have
	 * been reaped yet (its slot still shows the dead pid): wait for the
	 * processes themselves, not for a count of events.
	 */
	assert_true(h_run_until(&c->h, h_all_live_cb, ch.p, WAIT_MS));
	(void)errors;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_results, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thousand_p1, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_frames_split, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_frames_dribble, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_thousand_p8, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sticky, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_loop, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_command, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_queue_full, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broadcast, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_service, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_from_outside, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_stopped_worker_woken_for_task, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocol_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_protocol_bad_replies,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_logs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_cwd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_sleep, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_memory_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_scale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_graceful_stop, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lazy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nofile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dies_with_parent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chaos_small, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_python, setup, teardown),
	};
	const char	*build = getenv("POOLTOP_BUILD");
	const char	*src = getenv("POOLTOP_SOURCE");

	if (build == NULL) {
		fprintf(stderr, "test-pool: POOLTOP_BUILD is not set (run it "
		    "with meson test)\n");
		return 77;
	}
	snprintf(worker_path, sizeof worker_path,
	    "%s/examples/workers/pooltop-example-worker", build);
	snprintf(service_path, sizeof service_path,
	    "%s/examples/workers/pooltop-example-service", build);
	snprintf(python_path, sizeof python_path,
	    "%s/examples/workers/pooltop-example-worker.py", build);
	if (access(python_path, R_OK) != 0 && src != NULL)
		snprintf(python_path, sizeof python_path,
		    "%s/examples/workers/worker.py", src);
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
