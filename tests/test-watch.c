/*
 * The watch (src/watch.c) on real inotify events in a temporary
 * directory: recursion, and a watched directory that is removed, renamed
 * away or replaced and comes back is watched again, with what is below
 * it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "watch.h"

#define WAIT_MS		5000	/* for a change that must come */
#define QUIET_MS	400	/* for one that must not */
#define DELAY_MS	50

struct ctx {
	uv_loop_t	 loop;
	char		 dir[64];	/* the temporary base */
	struct watch	*w;
	unsigned	 changes;
	char		 last[512];	/* path of the last change */
	unsigned	 notices;
	char		 notice[512];
	bool		 closed;
};

static void
change_cb(const char *path, void *arg)
{
	struct ctx *c = arg;

	c->changes++;
	snprintf(c->last, sizeof c->last, "%s", path);
}

static void
notice_cb(const char *text, void *arg)
{
	struct ctx *c = arg;

	c->notices++;
	snprintf(c->notice, sizeof c->notice, "%s", text);
}

static void
closed_cb(void *arg)
{
	struct ctx *c = arg;

	c->closed = true;
}

static void
wake_cb(uv_timer_t *t)
{
	(void)t;
}

/* Runs the loop until n changes in all were seen or ms passed. */
static void
run_until(struct ctx *c, unsigned n, uint64_t ms)
{
	uv_timer_t	t;
	uint64_t	end = uv_now(&c->loop) + ms;

	uv_timer_init(&c->loop, &t);
	uv_timer_start(&t, wake_cb, 20, 20);
	while (c->changes < n && uv_now(&c->loop) < end)
		uv_run(&c->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&c->loop, UV_RUN_NOWAIT);
}

/*
 * Waits for exactly one more change (a burst is told once), whose path
 * must be want, or start with want and a '/' when under is set (rm -rf
 * first removes what is in a directory).
 */
static void
expect_change_at(struct ctx *c, const char *want, bool under)
{
	unsigned	n = c->changes;
	size_t		len = strlen(want);

	run_until(c, n + 1, WAIT_MS);
	assert_int_equal(c->changes, n + 1);
	if (!under || strcmp(c->last, want) == 0)
		assert_string_equal(c->last, want);
	else {
		assert_memory_equal(c->last, want, len);
		assert_int_equal(c->last[len], '/');
	}
	run_until(c, n + 2, QUIET_MS);
	assert_int_equal(c->changes, n + 1);
}

static void
expect_change(struct ctx *c, const char *want)
{
	expect_change_at(c, want, false);
}

/* No change comes for a while. */
static void
expect_quiet(struct ctx *c)
{
	unsigned n = c->changes;

	run_until(c, n + 1, QUIET_MS);
	assert_int_equal(c->changes, n);
}

static void
path_of(struct ctx *c, char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", c->dir, rel);
}

static void
make_dir(struct ctx *c, const char *rel)
{
	char p[256];

	path_of(c, p, sizeof p, rel);
	assert_int_equal(mkdir(p, 0700), 0);
}

static void
write_file(struct ctx *c, const char *rel)
{
	char	p[256];
	int	fd;

	path_of(c, p, sizeof p, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x\n", 2), 2);
	close(fd);
}

static void
remove_tree(const char *path)
{
	char cmd[512];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

/* Watches base/app (given as "app", relative to the base). */
static int
setup(void **state)
{
	struct ctx		*c = calloc(1, sizeof *c);
	const char *const	 paths[] = { "app" };
	struct watch_options	 o;
	char			 err[512];

	assert_non_null(c);
	assert_int_equal(uv_loop_init(&c->loop), 0);
	snprintf(c->dir, sizeof c->dir, "/tmp/pooltop-watch.XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	make_dir(c, "app");
	memset(&o, 0, sizeof o);
	o.paths = paths;
	o.npaths = 1;
	o.base = c->dir;
	o.delay_ms = DELAY_MS;
	o.change = change_cb;
	o.notice = notice_cb;
	o.closed = closed_cb;
	o.arg = c;
	assert_int_equal(watch_new(&c->w, &c->loop, &o, err, sizeof err), 0);
	assert_int_equal(watch_count(c->w), 1);
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx *c = *state;

	watch_close(c->w);
	while (!c->closed)
		uv_run(&c->loop, UV_RUN_ONCE);
	assert_int_equal(uv_loop_close(&c->loop), 0);
	remove_tree(c->dir);
	free(c);
	return 0;
}

/* A directory made below the root is watched, and what is made in it. */
static void
test_recursive(void **state)
{
	struct ctx *c = *state;

	write_file(c, "app/a.txt");
	expect_change(c, "app/a.txt");
	make_dir(c, "app/sub");
	expect_change(c, "app/sub");
	assert_int_equal(watch_count(c->w), 2);
	write_file(c, "app/sub/b.txt");
	expect_change(c, "app/sub/b.txt");
	/* A subdirectory removed loses its watch; the root keeps its own. */
	path_of(c, c->notice, sizeof c->notice, "app/sub");
	remove_tree(c->notice);
	expect_change_at(c, "app/sub", true);
	assert_int_equal(watch_count(c->w), 1);
	assert_int_equal(c->notices, 0);
}

/* rm -rf app, later mkdir app: the new directory is watched, recursively. */
static void
test_root_removed_and_made_again(void **state)
{
	struct ctx	*c = *state;
	char		 p[256];

	write_file(c, "app/a.txt");
	make_dir(c, "app/sub");
	expect_change(c, "app/a.txt");
	path_of(c, p, sizeof p, "app");
	remove_tree(p);
	expect_change_at(c, "app", true);
	/* Only the parent, waiting for the name. */
	assert_int_equal(watch_count(c->w), 1);
	/* Something else in the parent is not a change of app. */
	write_file(c, "other.txt");
	expect_quiet(c);
	make_dir(c, "app");
	expect_change(c, "app");
	assert_int_equal(watch_count(c->w), 1);
	make_dir(c, "app/new");
	expect_change(c, "app/new");
	write_file(c, "app/new/c.txt");
	expect_change(c, "app/new/c.txt");
	assert_int_equal(watch_count(c->w), 2);
	assert_int_equal(c->notices, 0);
}

/* Removed and made again before the loop saw it: the new one is watched. */
static void
test_root_replaced_at_once(void **state)
{
	struct ctx	*c = *state;
	char		 p[256];

	path_of(c, p, sizeof p, "app");
	remove_tree(p);
	make_dir(c, "app");
	expect_change(c, "app");
	write_file(c, "app/d.txt");
	expect_change(c, "app/d.txt");
	assert_int_equal(watch_count(c->w), 1);
}

/* Renamed away (the inode lives on elsewhere), then renamed back. */
static void
test_root_renamed_away_and_back(void **state)
{
	struct ctx	*c = *state;
	char		 from[256], to[256];

	path_of(c, from, sizeof from, "app");
	path_of(c, to, sizeof to, "app.old");
	assert_int_equal(rename(from, to), 0);
	expect_change(c, "app");
	/* What happens in the old directory is no longer app's. */
	write_file(c, "app.old/e.txt");
	expect_quiet(c);
	assert_int_equal(rename(to, from), 0);
	expect_change(c, "app");
	write_file(c, "app/f.txt");
	expect_change(c, "app/f.txt");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_recursive, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_root_removed_and_made_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_replaced_at_once,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_root_renamed_away_and_back, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
