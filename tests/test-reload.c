/*
 * Integration tests of reloads and the watch: real pools of the example
 * workers started through a shell script the tests rewrite (a new
 * "version" of the code), real inotify events, real signals.  Each test
 * has its own loop; teardown stops the engine, asserts uv_loop_close()
 * == 0 (no handle left) and that no child of this process remains.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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
#include "harness.h"

#define WAIT_MS		15000	/* generous: a loaded 2-core CI machine */
#define MAX_TASKS	4000
#define MAX_SLOTS	8

struct result {
	int		 calls;
	bool		 ok;
	char		 data[256];
};

struct ctx {
	struct h_ctx	 h;		/* first: waits get the ctx as it */
	uv_timer_t	 feed;		/* the steady stream of tasks */
	struct pool	*p;
	char		 dir[64];	/* a temporary directory */
	char		 script[128];	/* dir/worker.sh */
	/* Events: */
	unsigned	 failed;
	char		 failed_text[1024];
	unsigned	 spawned;
	char		 notice[1024];
	/* Reload callbacks: */
	unsigned	 reload_calls;
	bool		 reload_ok;
	char		 reload_text[1024];
	/* Tasks: */
	struct result	 res[MAX_TASKS];
	int		 sent;
	int		 done;
	int		 feed_max;	/* the stream stops after this many */
	const char	*feed_task;
	const char	*feed_payload;
};

static char	worker_path[1024];
static char	service_path[1024];
static struct ctx *cur;

static void
event_cb(const struct pool_event *ev, void *arg)
{
	struct ctx	*c = arg;

	switch (ev->type) {
	case POOL_EV_FAILED:
		c->failed++;
		snprintf(c->failed_text, sizeof c->failed_text, "%.*s",
		    (int)ev->text_len, ev->text);
		break;
	case POOL_EV_SPAWNED:
		c->spawned++;
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
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static int
setup(void **state)
{
	struct ctx	*c = calloc(1, sizeof *c);

	assert_non_null(c);
	h_init(&c->h);
	assert_int_equal(engine_listen(c->h.e, event_cb, c), 0);
	uv_timer_init(&c->h.loop, &c->feed);
	snprintf(c->dir, sizeof c->dir, "/tmp/pooltop-reload-XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	snprintf(c->script, sizeof c->script, "%s/worker.sh", c->dir);
	cur = c;
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx	*c = *state;

	uv_timer_stop(&c->feed);
	h_stop(&c->h);
	uv_close((uv_handle_t *)&c->feed, NULL);
	h_end(&c->h);
	assert_int_equal(h_children(NULL), 0);
	nftw(c->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(c);
	cur = NULL;
	return 0;
}

/* Writes a file in place (as a build tool or `echo >` does). */
static void
write_file(const char *path, const char *text)
{
	int	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

/* Replaces a file by a rename (as editors save). */
static void
save_file(const char *path, const char *text)
{
	char	tmp[300];

	snprintf(tmp, sizeof tmp, "%s.new~", path);
	write_file(tmp, text);
	assert_int_equal(rename(tmp, path), 0);
}

/* The script that runs the example worker (a working version). */
static void
script_good(struct ctx *c, const char *args)
{
	char	text[2048];

	snprintf(text, sizeof text, "#!/bin/sh\nexec '%s' %s \"$@\"\n",
	    worker_path, args != NULL ? args : "");
	save_file(c->script, text);
}

/* A spec that runs the script with /bin/sh. */
static void
spec_script(struct ctx *c, struct pool_spec *s, unsigned workers)
{
	static char	*argv[3];

	argv[0] = (char *)"/bin/sh";
	argv[1] = c->script;
	argv[2] = NULL;
	pool_spec_init(s);
	s->name = (char *)"t";
	s->argv = argv;
	s->workers = workers;
	s->min_workers = workers;
	s->backoff_initial_ms = 20;
	s->backoff_max_ms = 100;
	s->stop_timeout_ms = 3000;
}

static struct pool *
add(struct ctx *c, const struct pool_spec *s)
{
	struct pool	*p;
	int		 r = engine_add_pool(c->h.e, s, &p);

	if (r != 0)
		fail_msg("engine_add_pool: %s: %s", uv_strerror(r),
		    engine_error(c->h.e));
	c->p = p;
	return p;
}

/* The pids of the slots (0 for an empty one); returns the slot count. */
static size_t
pids(struct pool *p, pid_t *out)
{
	struct pool_worker_info	w[MAX_SLOTS];
	size_t			n = pool_snapshot(p, w, MAX_SLOTS), i;

	assert_true(n <= MAX_SLOTS);
	for (i = 0; i < n; i++)
		out[i] = w[i].pid;
	return n;
}

static void
wait_ready(struct ctx *c)
{
	assert_true(h_run_until(&c->h, h_all_live_cb, c->p, WAIT_MS));
}

/* pool_info.reloads reached *arg and no reload runs. */
static bool
reloads_reached(struct h_ctx *hc, void *arg)
{
	struct ctx		*c = (struct ctx *)hc;
	struct pool_info	info;

	pool_get_info(c->p, &info);
	return info.reloads >= *(unsigned *)arg && !info.reloading;
}

static void
wait_reloads(struct ctx *c, unsigned n)
{
	if (!h_run_until(&c->h, reloads_reached, &n, WAIT_MS))
		fail_msg("no reload %u (failed: %u, %s)", n, c->failed,
		    c->failed_text);
}

static bool
failed_reached(struct h_ctx *hc, void *arg)
{
	struct ctx	*c = (struct ctx *)hc;

	return c->failed >= *(unsigned *)arg;
}

static bool
none_live(struct h_ctx *hc, void *arg)
{
	struct ctx		*c = (struct ctx *)hc;
	struct pool_info	info;

	(void)arg;
	pool_get_info(c->p, &info);
	return info.live == 0;
}

static bool
reload_called(struct h_ctx *hc, void *arg)
{
	struct ctx	*c = (struct ctx *)hc;

	return c->reload_calls >= *(unsigned *)arg;
}

static void
reload_cb(struct pool *p, bool ok, const char *text, void *arg)
{
	struct ctx	*c = arg;

	assert_ptr_equal(p, c->p);
	c->reload_calls++;
	c->reload_ok = ok;
	snprintf(c->reload_text, sizeof c->reload_text, "%s", text);
}

static void
task_cb(bool ok, const void *data, size_t len, void *arg)
{
	struct result	*r = arg;

	r->calls++;
	r->ok = ok;
	if (len >= sizeof r->data)
		len = sizeof r->data - 1;
	memcpy(r->data, data, len);
	r->data[len] = '\0';
	cur->done++;
}

static void
tsend(struct ctx *c, const char *task, const char *payload)
{
	int	r;

	assert_true(c->sent < MAX_TASKS);
	r = pool_send(c->p, task, payload, strlen(payload), NULL, task_cb,
	    &c->res[c->sent]);
	if (r != 0)
		fail_msg("pool_send: %s", pool_send_error(c->p, r));
	c->sent++;
}

/* One task of the steady stream per tick. */
static void
feed_cb(uv_timer_t *h)
{
	struct ctx	*c = h->data;

	if (c->sent >= c->feed_max) {
		uv_timer_stop(h);
		return;
	}
	tsend(c, c->feed_task, c->feed_payload);
}

static void
feed_start(struct ctx *c, const char *task, const char *payload,
    uint64_t every_ms, int max)
{
	c->feed_task = task;
	c->feed_payload = payload;
	c->feed_max = max;
	c->feed.data = c;
	uv_timer_start(&c->feed, feed_cb, every_ms, every_ms);
}

static bool
done_all(struct h_ctx *hc, void *arg)
{
	struct ctx	*c = (struct ctx *)hc;

	(void)arg;
	return c->sent > 0 && c->done == c->sent &&
	    !uv_is_active((uv_handle_t *)&c->feed);
}

/* Every task sent ended once, with its result. */
static void
assert_all_ok(struct ctx *c, const char *expect)
{
	int	i;

	assert_true(h_run_until(&c->h, done_all, NULL, WAIT_MS));
	for (i = 0; i < c->sent; i++) {
		if (c->res[i].calls != 1 || !c->res[i].ok)
			fail_msg("task %d of %d: %d calls, %s: %s", i, c->sent,
			    c->res[i].calls, c->res[i].ok ? "ok" : "error",
			    c->res[i].data);
		if (expect != NULL)
			assert_string_equal(c->res[i].data, expect);
	}
}

static void
assert_all_new(const pid_t *before, const pid_t *after, size_t n)
{
	size_t	i, j;

	for (i = 0; i < n; i++) {
		assert_true(after[i] > 0);
		for (j = 0; j < n; j++)
			assert_int_not_equal(after[i], before[j]);
		for (j = 0; j < i; j++)
			assert_int_not_equal(after[i], after[j]);
		assert_int_equal(kill(after[i], 0), 0);
	}
}

/* ---- tests --------------------------------------------------------------- */

/*
 * A burst of 20 writes to a watched file (within ~100 ms) replaces every
 * worker once; an ignored file does nothing; a directory made after the
 * start is watched too.
 */
static void
test_watch_burst(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool_info	 info;
	pid_t			 before[MAX_SLOTS], after[MAX_SLOTS],
				 again[MAX_SLOTS];
	char			 src[128], file[160], sub[160], deep[200];
	char			*watch[1], *ignore[1];
	unsigned		 i;

	snprintf(src, sizeof src, "%s/src", c->dir);
	assert_int_equal(mkdir(src, 0755), 0);
	snprintf(file, sizeof file, "%s/app.txt", src);
	write_file(file, "v1\n");
	script_good(c, NULL);
	spec_script(c, &s, 3);
	watch[0] = src;
	ignore[0] = (char *)"*.log";
	s.watch = watch;
	s.nwatch = 1;
	s.watch_ignore = ignore;
	s.nwatch_ignore = 1;
	s.watch_delay_ms = 400;
	add(c, &s);
	wait_ready(c);
	assert_int_equal(pids(c->p, before), 3);

	for (i = 0; i < 20; i++) {
		write_file(file, i % 2 ? "v2\n" : "v3\n");
		usleep(5000);
	}
	wait_reloads(c, 1);
	assert_int_equal(pids(c->p, after), 3);
	assert_all_new(before, after, 3);
	assert_string_equal(c->notice, "pool t reloaded (rolling): 3 workers "
	    "replaced");
	/* Once: nothing more comes from that burst. */
	h_run_for(&c->h, 1500);
	pool_get_info(c->p, &info);
	assert_int_equal(info.reloads, 1);
	assert_null(info.reload_error);
	assert_int_equal(pids(c->p, again), 3);
	assert_memory_equal(again, after, sizeof after[0] * 3);

	/* An ignored file: no reload. */
	snprintf(deep, sizeof deep, "%s/debug.log", src);
	write_file(deep, "noise\n");
	h_run_for(&c->h, 1000);
	pool_get_info(c->p, &info);
	assert_int_equal(info.reloads, 1);

	/* A new directory is a change, and is watched from then on. */
	snprintf(sub, sizeof sub, "%s/new", src);
	assert_int_equal(mkdir(sub, 0755), 0);
	wait_reloads(c, 2);
	pids(c->p, before);
	snprintf(deep, sizeof deep, "%s/deep.txt", sub);
	write_file(deep, "x\n");
	wait_reloads(c, 3);
	assert_int_equal(pids(c->p, after), 3);
	assert_all_new(before, after, 3);
	assert_int_equal(c->failed, 0);
}

/*
 * A steady stream of tasks (and tasks in flight on the old workers when
 * they are replaced) all succeed through a rolling reload.
 */
static void
test_rolling_no_loss(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	pid_t			 before[MAX_SLOTS], after[MAX_SLOTS];
	unsigned		 one = 1;
	int			 i;

	script_good(c, NULL);
	spec_script(c, &s, 3);
	s.parallel_jobs = 2;
	add(c, &s);
	wait_ready(c);
	assert_int_equal(pids(c->p, before), 3);
	/* Every old worker busy with slow tasks when the reload begins. */
	for (i = 0; i < 6; i++)
		tsend(c, "sleep", "300");
	assert_int_equal(pool_reload(c->p, reload_cb, c), 0);
	assert_int_equal(c->reload_calls, 0);	/* never from inside */
	feed_start(c, "sleep", "20", 5, 400);
	assert_true(h_run_until(&c->h, reload_called, &one, WAIT_MS));
	assert_true(c->reload_ok);
	assert_string_equal(c->reload_text, "pool t reloaded (rolling): 3 "
	    "workers replaced");
	assert_all_ok(c, NULL);
	for (i = 0; i < 6; i++)
		assert_string_equal(c->res[i].data, "slept 300");
	for (i = 6; i < c->sent; i++)
		assert_string_equal(c->res[i].data, "slept 20");
	assert_int_equal(pids(c->p, after), 3);
	assert_all_new(before, after, 3);
	assert_int_equal(c->failed, 0);
}

/*
 * A broken new version (the watched script now exits at once) stops the
 * reload: the old workers keep serving, the reason is in the event and
 * the pool's info.  The fixed version then reloads.
 */
static void
test_broken_version(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool_info	 info;
	pid_t			 before[MAX_SLOTS], after[MAX_SLOTS];
	char			*watch[1];
	const char		*tail = " exited with status 3 before it was "
				    "ready; the old workers keep serving";
	unsigned		 one = 1;

	script_good(c, NULL);
	spec_script(c, &s, 2);
	watch[0] = c->script;
	s.watch = watch;
	s.nwatch = 1;
	s.watch_delay_ms = 100;
	add(c, &s);
	wait_ready(c);
	assert_int_equal(pids(c->p, before), 2);

	save_file(c->script, "#!/bin/sh\necho 'broken: syntax error' >&2\n"
	    "exit 3\n");
	assert_true(h_run_until(&c->h, failed_reached, &one, WAIT_MS));
	assert_non_null(strstr(c->failed_text, "reload of pool t stopped: new "
	    "worker t/0 (pid "));
	assert_non_null(strstr(c->failed_text, tail));
	assert_string_equal(c->failed_text + strlen(c->failed_text) -
	    strlen(tail), tail);
	pool_get_info(c->p, &info);
	assert_false(info.reloading);
	assert_false(info.failed);
	assert_int_equal(info.reloads, 0);
	assert_non_null(info.reload_error);
	assert_string_equal(info.reload_error, c->failed_text);
	/* The old workers serve on, with no restart counted. */
	assert_int_equal(pids(c->p, after), 2);
	assert_memory_equal(after, before, sizeof before[0] * 2);
	tsend(c, "echo", "still here");
	tsend(c, "echo", "still here");
	assert_all_ok(c, "still here");

	/* The fix reloads, and the error is cleared. */
	script_good(c, NULL);
	wait_reloads(c, 1);
	pool_get_info(c->p, &info);
	assert_null(info.reload_error);
	assert_int_equal(pids(c->p, after), 2);
	assert_all_new(before, after, 2);
	assert_int_equal(c->failed, 1);
}

/*
 * A new version that never handshakes (its old workers did) stops the
 * reload after the handshake grace.
 */
static void
test_no_handshake(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	pid_t			 before[MAX_SLOTS], after[MAX_SLOTS];
	unsigned		 one = 1;

	script_good(c, NULL);
	spec_script(c, &s, 2);
	s.handshake_ms = 300;
	add(c, &s);
	wait_ready(c);
	pids(c->p, before);
	script_good(c, "--no-hello");
	assert_int_equal(pool_reload(c->p, reload_cb, c), 0);
	assert_true(h_run_until(&c->h, reload_called, &one, WAIT_MS));
	assert_false(c->reload_ok);
	assert_non_null(strstr(c->reload_text, "reload of pool t stopped: "
	    "new worker t/0 (pid "));
	assert_non_null(strstr(c->reload_text, ") did not handshake within "
	    "300 ms; the old workers keep serving"));
	assert_string_equal(c->failed_text, c->reload_text);
	pids(c->p, after);
	assert_memory_equal(after, before, sizeof before[0] * 2);
	tsend(c, "echo", "ok");
	assert_all_ok(c, "ok");
}

/* reload = restart: every worker stops, then all start; no task lost. */
static void
test_restart_mode(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	pid_t			 before[MAX_SLOTS], after[MAX_SLOTS];
	unsigned		 one = 1;

	script_good(c, NULL);
	spec_script(c, &s, 2);
	s.reload = POOL_RELOAD_RESTART;
	add(c, &s);
	wait_ready(c);
	pids(c->p, before);
	tsend(c, "sleep", "200");
	tsend(c, "sleep", "200");
	assert_int_equal(pool_reload(c->p, reload_cb, c), 0);
	feed_start(c, "echo", "x", 10, 60);
	assert_true(h_run_until(&c->h, reload_called, &one, WAIT_MS));
	assert_true(c->reload_ok);
	assert_string_equal(c->reload_text, "pool t reloaded (restart): 2 "
	    "workers restarted");
	assert_all_ok(c, NULL);
	assert_string_equal(c->res[0].data, "slept 200");
	assert_int_equal(pids(c->p, after), 2);
	assert_all_new(before, after, 2);
}

/* Services: a new one is up once it ran for a second. */
static void
test_service_rolling(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	pid_t			 before[MAX_SLOTS], after[MAX_SLOTS];
	char			*argv[] = { service_path, NULL };
	unsigned		 one = 1;

	pool_spec_init(&s);
	s.name = (char *)"t";
	s.argv = argv;
	s.mode = POOL_MODE_SERVICE;
	s.workers = 2;
	s.min_workers = 2;
	add(c, &s);
	wait_ready(c);
	pids(c->p, before);
	assert_int_equal(pool_reload(c->p, reload_cb, c), 0);
	assert_true(h_run_until(&c->h, reload_called, &one, WAIT_MS));
	assert_true(c->reload_ok);
	assert_string_equal(c->reload_text, "pool t reloaded (rolling): 2 "
	    "workers replaced");
	assert_int_equal(pids(c->p, after), 2);
	assert_all_new(before, after, 2);
}

/*
 * Requests during a reload make one more pass; each callback runs once.
 * A reload asked for while stopping is refused; one under way ends with
 * "pool stopping".
 */
static void
test_coalesce_and_stop(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool_info	 info;
	unsigned		 three = 3, four = 4;

	script_good(c, "--hello-delay 100");
	spec_script(c, &s, 2);
	add(c, &s);
	wait_ready(c);
	assert_int_equal(pool_reload(c->p, reload_cb, c), 0);
	h_run_for(&c->h, 20);
	pool_get_info(c->p, &info);
	assert_true(info.reloading);	/* the first pass is under way */
	assert_int_equal(pool_reload(c->p, reload_cb, c), 0);
	assert_int_equal(pool_reload(c->p, reload_cb, c), 0);
	assert_true(h_run_until(&c->h, reload_called, &three, WAIT_MS));
	assert_true(c->reload_ok);
	pool_get_info(c->p, &info);
	assert_int_equal(info.reloads, 2);
	h_run_for(&c->h, 300);
	assert_int_equal(c->reload_calls, 3);

	/* New processes slow to come up: the stop comes first. */
	script_good(c, "--hello-delay 1000");
	assert_int_equal(pool_reload(c->p, reload_cb, c), 0);
	h_run_for(&c->h, 100);
	pool_get_info(c->p, &info);
	assert_true(info.reloading);
	engine_stop(c->h.e, h_stop_cb, &c->h);
	assert_true(h_run_until(&c->h, reload_called, &four, WAIT_MS));
	assert_false(c->reload_ok);
	assert_string_equal(c->reload_text, "pool stopping");
	assert_int_equal(pool_reload(c->p, reload_cb, c), -ESHUTDOWN);
}

static bool
spawned_reached(struct h_ctx *hc, void *arg)
{
	struct ctx	*c = (struct ctx *)hc;

	return c->spawned >= *(unsigned *)arg;
}

static bool
one_live(struct h_ctx *hc, void *arg)
{
	struct ctx		*c = (struct ctx *)hc;
	struct pool_info	info;

	(void)arg;
	pool_get_info(c->p, &info);
	return info.live == 1;
}

/*
 * A scale down while the last slot's new process starts: that process
 * never takes the removed slot, and nothing is left behind.
 */
static void
test_scale_during_reload(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool_info	 info;
	unsigned		 one = 1, six = 6;

	script_good(c, "--hello-delay 200");
	spec_script(c, &s, 3);
	add(c, &s);
	wait_ready(c);
	assert_int_equal(c->spawned, 3);
	assert_int_equal(pool_reload(c->p, reload_cb, c), 0);
	/* Slot 2's new process started: it handshakes 200 ms later. */
	assert_true(h_run_until(&c->h, spawned_reached, &six, WAIT_MS));
	assert_int_equal(pool_scale(c->p, 1), 0);
	assert_true(h_run_until(&c->h, reload_called, &one, WAIT_MS));
	assert_true(c->reload_ok);
	assert_string_equal(c->reload_text, "pool t reloaded (rolling): 2 "
	    "workers replaced");
	assert_true(h_run_until(&c->h, one_live, NULL, WAIT_MS));
	pool_get_info(c->p, &info);
	assert_int_equal(info.workers, 1);
	tsend(c, "echo", "one");
	assert_all_ok(c, "one");
	assert_int_equal(c->spawned, 6);
}

/*
 * The pool's own log file in a watched directory is not a change: its
 * workers' lines (the new ones' too) would reload the pool for ever.
 */
static void
test_own_log_ignored(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool_info	 info;
	char			*watch[1], log[128], other[128];
	struct stat		 st;

	script_good(c, NULL);
	spec_script(c, &s, 2);
	snprintf(log, sizeof log, "%s/pool.log", c->dir);
	snprintf(other, sizeof other, "%s/code.txt", c->dir);
	watch[0] = c->dir;
	s.watch = watch;
	s.nwatch = 1;
	s.watch_delay_ms = 100;
	s.log_file = log;
	s.log_max = 1024;	/* rotates: pool.log.1 is written too */
	add(c, &s);
	wait_ready(c);
	tsend(c, "log", "a line for the log file, long enough to fill it "
	    "up and rotate it after a few dozen of them ................");
	while (c->sent < 40)
		tsend(c, "log", "more of the same, to rotate the log file once "
		    "or twice ...........................................");
	assert_all_ok(c, "ok");
	h_run_for(&c->h, 800);
	assert_int_equal(stat(log, &st), 0);
	pool_get_info(c->p, &info);
	assert_int_equal(info.reloads, 0);
	assert_false(info.reloading);

	write_file(other, "v2\n");
	wait_reloads(c, 1);
	h_run_for(&c->h, 1000);	/* the new workers log their start */
	pool_get_info(c->p, &info);
	assert_int_equal(info.reloads, 1);
	assert_false(info.reloading);
}

/* A pool that gave up (a crash loop) starts again at a reload. */
static void
test_failed_pool_restarts(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool_info	 info;
	unsigned		 one = 1;

	save_file(c->script, "#!/bin/sh\nexit 3\n");
	spec_script(c, &s, 2);
	s.max_restarts = 2;
	add(c, &s);
	assert_true(h_run_until(&c->h, failed_reached, &one, WAIT_MS));
	assert_true(h_run_until(&c->h, none_live, NULL, WAIT_MS));
	pool_get_info(c->p, &info);
	assert_true(info.failed);

	script_good(c, NULL);
	assert_int_equal(pool_reload(c->p, reload_cb, c), 0);
	assert_true(h_run_until(&c->h, reload_called, &one, WAIT_MS));
	assert_true(c->reload_ok);
	assert_string_equal(c->reload_text, "pool t reloaded (rolling): 0 "
	    "workers replaced, 2 failed ones started");
	wait_ready(c);
	pool_get_info(c->p, &info);
	assert_false(info.failed);
	assert_null(info.failure);
	tsend(c, "echo", "back");
	assert_all_ok(c, "back");
}

/* A watched path that does not exist is the caller's error. */
static void
test_missing_watch(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	char			*watch[1], path[128];
	char			 expect[300];

	script_good(c, NULL);
	spec_script(c, &s, 1);
	snprintf(path, sizeof path, "%s/nope", c->dir);
	watch[0] = path;
	s.watch = watch;
	s.nwatch = 1;
	assert_int_equal(engine_add_pool(c->h.e, &s, NULL), -ENOENT);
	snprintf(expect, sizeof expect, "pool t: cannot watch \"%s\": No such "
	    "file or directory", path);
	assert_string_equal(engine_error(c->h.e), expect);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_watch_burst, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rolling_no_loss, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_broken_version, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_handshake, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_restart_mode, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_service_rolling, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_coalesce_and_stop, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_scale_during_reload,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_log_ignored, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_failed_pool_restarts,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_watch, setup,
		    teardown),
	};
	const char	*build = getenv("POOLTOP_BUILD");

	if (build == NULL) {
		fprintf(stderr, "test-reload: POOLTOP_BUILD is not set (run "
		    "it with meson test)\n");
		return 77;
	}
	snprintf(worker_path, sizeof worker_path,
	    "%s/examples/workers/pooltop-example-worker", build);
	snprintf(service_path, sizeof service_path,
	    "%s/examples/workers/pooltop-example-service", build);
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests_name("reload", tests, NULL, NULL);
}
