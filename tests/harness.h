/*
 * What the integration tests share: a loop with an engine and a
 * listener that keeps counts and the last notice per pool, waits that
 * run the loop until a condition holds, readings of /proc (children,
 * descriptors, RSS, process states) and of a pool's slots.
 * Include after <cmocka.h>.
 */
#ifndef POOLTOP_TEST_HARNESS_H
#define POOLTOP_TEST_HARNESS_H

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "pooltop/pool.h"

#define H_WAIT_MS	20000	/* generous: a loaded 2-core machine, ASan */
#define H_NOTICES	64

struct h_ctx {
	uv_loop_t	 loop;
	uv_timer_t	 tick;
	struct engine	*e;
	bool		 stopped;
	unsigned	 ready;
	unsigned	 spawned;
	unsigned	 exited;
	unsigned	 restarting;
	unsigned	 failed;
	unsigned	 notices;
	char		 notice[H_NOTICES][512];	/* a ring, newest at notices - 1 */
	unsigned	 removed;	/* "removed: every worker exited" notices */
};

static inline void
h_event_cb(const struct pool_event *ev, void *arg)
{
	struct h_ctx	*c = arg;

	switch (ev->type) {
	case POOL_EV_READY:
		c->ready++;
		break;
	case POOL_EV_SPAWNED:
		c->spawned++;
		break;
	case POOL_EV_EXITED:
		c->exited++;
		break;
	case POOL_EV_RESTARTING:
		c->restarting++;
		break;
	case POOL_EV_FAILED:
		c->failed++;
		break;
	case POOL_EV_NOTICE:
		/* A worker's notice names it already ("web/2: ..."). */
		snprintf(c->notice[c->notices % H_NOTICES],
		    sizeof c->notice[0], "%s%s%.*s",
		    ev->slot >= 0 ? "" : ev->pool_name,
		    ev->slot >= 0 ? "" : ": ", (int)ev->text_len, ev->text);
		c->notices++;
		if (ev->slot < 0 && strstr(ev->text, "removed: every worker "
		    "exited") != NULL)
			c->removed++;
		break;
	default:
		break;
	}
}

static inline void
h_tick_cb(uv_timer_t *h)
{
	(void)h;
}

/*
 * A fresh loop with an engine listened to; a tick wakes waits.  c may be
 * the first member of a test's own context (its waits then get that
 * context as the struct h_ctx *).
 */
static inline void
h_init(struct h_ctx *c)
{
	uv_signal_t	 sig;
	uv_pipe_t	 pipe;

	memset(c, 0, sizeof *c);
	assert_int_equal(uv_loop_init(&c->loop), 0);
	/*
	 * libuv opens its signal pipes at the first uv_signal_t, and a
	 * spare /dev/null (for EMFILE on accept) at the first stream, and
	 * keeps them: open them now, so descriptor counts start after.
	 */
	assert_int_equal(uv_signal_init(&c->loop, &sig), 0);
	uv_close((uv_handle_t *)&sig, NULL);
	assert_int_equal(uv_pipe_init(&c->loop, &pipe, 0), 0);
	uv_close((uv_handle_t *)&pipe, NULL);
	uv_run(&c->loop, UV_RUN_NOWAIT);
	assert_int_equal(engine_new(&c->e, &c->loop, NULL), 0);
	assert_int_equal(engine_listen(c->e, h_event_cb, c), 0);
	uv_timer_init(&c->loop, &c->tick);
}

static inline struct h_ctx *
h_new(void)
{
	struct h_ctx	*c = malloc(sizeof *c);

	assert_non_null(c);
	h_init(c);
	return c;
}

/* Runs the loop until done() or ms passed; returns done(). */
static inline bool
h_run_until(struct h_ctx *c, bool (*done)(struct h_ctx *, void *), void *arg,
    uint64_t ms)
{
	uint64_t	end = uv_hrtime() + ms * 1000000ull;

	uv_timer_start(&c->tick, h_tick_cb, 5, 5);
	while (!done(c, arg) && uv_hrtime() < end)
		uv_run(&c->loop, UV_RUN_ONCE);
	uv_timer_stop(&c->tick);
	return done(c, arg);
}

/* Runs the loop for ms. */
static inline void
h_run_for(struct h_ctx *c, uint64_t ms)
{
	uint64_t	end = uv_hrtime() + ms * 1000000ull;

	uv_timer_start(&c->tick, h_tick_cb, 5, 5);
	while (uv_hrtime() < end)
		uv_run(&c->loop, UV_RUN_ONCE);
	uv_timer_stop(&c->tick);
}

static inline bool
h_is_stopped(struct h_ctx *c, void *arg)
{
	(void)arg;
	return c->stopped;
}

static inline void
h_stop_cb(struct engine *e, void *arg)
{
	(void)e;
	((struct h_ctx *)arg)->stopped = true;
}

/* Stops and frees the engine; the loop is left open (and empty). */
static inline void
h_stop(struct h_ctx *c)
{
	engine_stop(c->e, h_stop_cb, c);
	assert_true(h_run_until(c, h_is_stopped, NULL, H_WAIT_MS));
	engine_free(c->e);
	c->e = NULL;
	uv_run(&c->loop, UV_RUN_NOWAIT);
}

/* h_stop (unless done), then closes the loop: no handle may be left. */
static inline void
h_end(struct h_ctx *c)
{
	if (c->e != NULL)
		h_stop(c);
	uv_close((uv_handle_t *)&c->tick, NULL);
	uv_run(&c->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&c->loop), 0);
}

/* h_end, then frees c (from h_new). */
static inline void
h_free(struct h_ctx *c)
{
	h_end(c);
	free(c);
}

/* Is the newest notice (or any of the last H_NOTICES) containing s? */
static inline bool
h_noticed(struct h_ctx *c, const char *s)
{
	unsigned	i, n = c->notices < H_NOTICES ? c->notices : H_NOTICES;

	for (i = 0; i < n; i++) {
		if (strstr(c->notice[(c->notices - 1 - i) % H_NOTICES], s) !=
		    NULL)
			return true;
	}
	return false;
}

static inline bool
h_noticed_cb(struct h_ctx *c, void *arg)
{
	return h_noticed(c, arg);
}

/* Children of this process in /proc, zombies included. */
static inline int
h_children(int *zombies)
{
	DIR		*d = opendir("/proc");
	struct dirent	*de;
	char		 path[300], buf[1024], *p, st;
	FILE		*f;
	int		 n = 0, ppid;

	assert_non_null(d);
	if (zombies != NULL)
		*zombies = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof buf, f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 2, "%c %d", &st, &ppid) == 2 &&
		    ppid == getpid()) {
			n++;
			if (st == 'Z' && zombies != NULL)
				(*zombies)++;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

/* Open descriptors of this process. */
static inline int
h_fds(void)
{
	DIR		*d = opendir("/proc/self/fd");
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n - 1;	/* the directory's own */
}

/* VmRSS of this process, in KiB. */
static inline long
h_rss_kb(void)
{
	FILE	*f = fopen("/proc/self/status", "r");
	char	 line[256];
	long	 kb = -1;

	assert_non_null(f);
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* Path of a program built in the build tree (POOLTOP_BUILD). */
static inline void
h_build_path(char *buf, size_t len, const char *rel)
{
	const char	*build = getenv("POOLTOP_BUILD");

	if (build == NULL) {
		fprintf(stderr, "POOLTOP_BUILD is not set (run the tests with "
		    "meson test)\n");
		exit(77);
	}
	snprintf(buf, len, "%s/%s", build, rel);
}

/* The pid in a pool's slot (the slot must exist). */
static inline pid_t
h_slot_pid(struct pool *p, int slot)
{
	struct pool_worker_info	w[64];
	size_t			n = pool_snapshot(p, w, 64);

	assert_true((size_t)slot < n);
	return w[slot].pid;
}

/* The state letter of /proc/PID/stat (0: gone). */
static inline char
h_proc_state(pid_t pid)
{
	char	 path[64], buf[512], *p, st = 0;
	FILE	*f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof buf, f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL)
		st = p[2];
	fclose(f);
	return st;
}

/* Live workers of a pool: slots with a pid that handshook or run. */
static inline unsigned
h_live_ready(struct pool *p)
{
	struct pool_worker_info	w[64];
	size_t			n = pool_snapshot(p, w, 64), i;
	unsigned		live = 0;

	for (i = 0; i < n && i < 64; i++) {
		if (w[i].pid > 0 && (w[i].state == WORKER_IDLE ||
		    w[i].state == WORKER_BUSY || w[i].state == WORKER_SLEEPING))
			live++;
	}
	return live;
}

/* The READY events reached *(unsigned *)arg. */
static inline bool
h_ready_cb(struct h_ctx *c, void *arg)
{
	return c->ready >= *(unsigned *)arg;
}

/* Waits for n READY events in all. */
static inline void
h_wait_ready(struct h_ctx *c, unsigned n)
{
	assert_true(h_run_until(c, h_ready_cb, &n, H_WAIT_MS));
}

/*
 * Every slot of the pool arg holds a handshaken worker whose process
 * runs (a killed one not yet reaped still shows in its slot: its /proc
 * state tells).
 */
static inline bool
h_all_live_cb(struct h_ctx *c, void *arg)
{
	struct pool_worker_info	w[64];
	size_t			n = pool_snapshot(arg, w, 64), i;
	char			st;

	(void)c;
	for (i = 0; i < n && i < 64; i++) {
		if (w[i].pid <= 0 || (w[i].state != WORKER_IDLE &&
		    w[i].state != WORKER_BUSY))
			return false;
		st = h_proc_state(w[i].pid);
		if (st == 0 || st == 'Z')
			return false;
	}
	return n > 0;
}

struct h_logfind {
	const char	*want;
	unsigned	 found;
};

static inline void
h_log_fn(const struct pool_log_line *l, void *arg)
{
	struct h_logfind	*f = arg;

	if (strstr(l->text, f->want) != NULL)
		f->found++;
}

/* Lines of a slot's log containing s. */
static inline unsigned
h_log_count(struct pool *p, int slot, const char *s)
{
	struct h_logfind	f = { s, 0 };

	pool_worker_log(p, slot, 0, h_log_fn, &f);
	return f.found;
}

#endif
