/*
 * Hostile workers (tests/hostile.c) next to a well-behaved pool: one
 * writes garbage on its reply pipe, one announces an oversized frame,
 * one answers an id it was never sent, one floods stdout.  Each is
 * killed and restarted with the reason in its log, over and over for a
 * few seconds, while the good pool's tasks keep completing; pooltop's
 * RSS stays bounded and its loop stays responsive (a 10 ms timer's
 * lateness is measured).
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

#include "pooltop/config.h"

#include "harness.h"

#define ATTACK_MS	3000
#define TICK_MS		10
#define OUTSTANDING	8		/* good tasks kept in flight */
/* Generous bounds for a loaded 2-core machine and sanitizer builds. */
#define RSS_GROWTH_KB	(96 * 1024)
#define LATE_MAX_MS	1000

static char	hostile_path[1024];
static char	worker_path[1024];

/* What the hostile pools' notices said. */
struct seen {
	const char	*pool;
	const char	*want;		/* a substring of the notice */
	unsigned	 count;
	char		 first[512];
};

static struct seen seen[] = {
	{ "garbage", "garbage/0: protocol error: unknown message type; "
	    "restarting", 0, "" },
	{ "oversized", "oversized/0: protocol error: oversized frame length "
	    "2147483647 (max 16777216); restarting", 0, "" },
	{ "badid", "badid/0: protocol error: reply for id 4242, which is not "
	    "in flight; restarting", 0, "" },
	{ "flood", " lines/s, limit 10000); restarting", 0, "" },
};
#define NSEEN	(sizeof seen / sizeof seen[0])

static unsigned	good_events_failed;

static void
notice_cb(const struct pool_event *ev, void *arg)
{
	size_t	i;

	(void)arg;
	if (ev->type == POOL_EV_FAILED && strcmp(ev->pool_name, "good") == 0)
		good_events_failed++;
	if (ev->type != POOL_EV_NOTICE || ev->slot < 0)
		return;
	for (i = 0; i < NSEEN; i++) {
		if (strcmp(ev->pool_name, seen[i].pool) != 0)
			continue;
		if (seen[i].count++ == 0)
			snprintf(seen[i].first, sizeof seen[i].first, "%.*s",
			    (int)ev->text_len, ev->text);
	}
}

/* Keeps OUTSTANDING echo tasks in flight on the good pool. */
struct traffic {
	struct pool	*p;
	bool		 stop;
	unsigned	 outstanding;
	unsigned	 sent;
	unsigned	 ok;
	unsigned	 failed;
	unsigned	 wrong;
	char		 error[512];
};

static void	traffic_send(struct traffic *);

static void
traffic_cb(bool ok, const void *data, size_t len, void *arg)
{
	struct traffic	*t = arg;

	t->outstanding--;
	if (!ok) {
		if (t->failed++ == 0)
			snprintf(t->error, sizeof t->error, "%.*s", (int)len,
			    (const char *)data);
	} else if (len != 4 || memcmp(data, "ping", 4) != 0)
		t->wrong++;
	else
		t->ok++;
	if (!t->stop)
		traffic_send(t);
}

static void
traffic_send(struct traffic *t)
{
	int	r;

	while (t->outstanding < OUTSTANDING) {
		r = pool_send(t->p, "echo", "ping", 4, NULL, traffic_cb, t);
		if (r != 0) {
			if (t->failed++ == 0)
				snprintf(t->error, sizeof t->error, "send: %s",
				    pool_send_error(t->p, r));
			return;
		}
		t->outstanding++;
		t->sent++;
	}
}

static bool
traffic_idle(struct h_ctx *c, void *arg)
{
	(void)c;
	return ((struct traffic *)arg)->outstanding == 0;
}

/* A periodic timer; its lateness is how long the loop was busy. */
struct late {
	uv_timer_t	 timer;
	uint64_t	 last_ns;
	uint64_t	 max_ns;
	unsigned	 ticks;
};

static void
late_cb(uv_timer_t *h)
{
	struct late	*l = h->data;
	uint64_t	 now = uv_hrtime(), gap;

	if (l->last_ns != 0) {
		gap = now - l->last_ns;
		if (gap > TICK_MS * 1000000ull &&
		    gap - TICK_MS * 1000000ull > l->max_ns)
			l->max_ns = gap - TICK_MS * 1000000ull;
	}
	l->last_ns = now;
	l->ticks++;
}

static struct pool *
add_hostile(struct h_ctx *c, const char *name, const char *mode)
{
	struct pool_spec	 s;
	struct pool		*p;
	char			*argv[] = { hostile_path, (char *)mode, NULL };
	int			 r;

	pool_spec_init(&s);
	s.name = (char *)name;
	s.argv = argv;
	s.mode = POOL_MODE_WORKER;
	s.max_restarts = 0;		/* never give up: attack all along */
	s.backoff_initial_ms = 50;
	s.backoff_max_ms = 200;
	s.stop_timeout_ms = 1000;
	if (strcmp(mode, "flood") == 0)
		s.log_lines = 100000;	/* keeps a few processes' lines */
	r = engine_add_pool(c->e, &s, &p);
	if (r != 0)
		fail_msg("%s: %s", name, engine_error(c->e));
	return p;
}

static bool
good_ready(struct h_ctx *c, void *arg)
{
	(void)c;
	return h_live_ready(arg) == 2;
}

static void
test_hostile(void **state)
{
	struct h_ctx		*c = h_new();
	struct pool_spec	 s;
	struct pool		*good, *hp[NSEEN];
	struct pool_worker_info	 w, gw[2];
	struct traffic		 t;
	struct late		 l;
	char			*argv[] = { worker_path, NULL };
	long			 rss0, rss1;
	size_t			 i;
	int			 zombies;
	/* POOLTOP_TEST_SLOW=N: under valgrind, N times wider time bounds. */
	unsigned		 slow = getenv("POOLTOP_TEST_SLOW") != NULL ?
				    (unsigned)atoi(getenv("POOLTOP_TEST_SLOW")) :
				    1;

	(void)state;
	if (slow == 0)
		slow = 1;
	assert_int_equal(engine_listen(c->e, notice_cb, NULL), 0);
	pool_spec_init(&s);
	s.name = "good";
	s.argv = argv;
	s.workers = s.min_workers = 2;
	s.parallel_jobs = 4;
	assert_int_equal(engine_add_pool(c->e, &s, &good), 0);
	for (i = 0; i < NSEEN; i++)
		hp[i] = add_hostile(c, seen[i].pool, seen[i].pool);
	assert_true(h_run_until(c, good_ready, good, H_WAIT_MS));

	memset(&t, 0, sizeof t);
	t.p = good;
	traffic_send(&t);
	h_run_for(c, 300);		/* warm up: allocator, rings */
	rss0 = h_rss_kb();

	memset(&l, 0, sizeof l);
	uv_timer_init(&c->loop, &l.timer);
	l.timer.data = &l;
	uv_timer_start(&l.timer, late_cb, TICK_MS, TICK_MS);
	h_run_for(c, ATTACK_MS);
	uv_timer_stop(&l.timer);
	uv_close((uv_handle_t *)&l.timer, NULL);
	t.stop = true;
	assert_true(h_run_until(c, traffic_idle, &t, H_WAIT_MS));
	rss1 = h_rss_kb();

	print_message("good pool: %u tasks ok, %u failed; loop lateness max "
	    "%.1f ms over %u ticks; RSS %ld -> %ld KiB\n", t.ok, t.failed,
	    (double)l.max_ns / 1e6, l.ticks, rss0, rss1);
	for (i = 0; i < NSEEN; i++) {
		assert_int_equal(pool_snapshot(hp[i], &w, 1), 1);
		print_message("%-9s restarted %u times: %s\n", seen[i].pool,
		    w.restarts, seen[i].first);
	}

	/* The good pool was not disturbed. */
	if (t.failed != 0)
		fail_msg("good pool: %u tasks failed, first: %s", t.failed,
		    t.error);
	assert_int_equal(t.wrong, 0);
	assert_true(t.ok >= 100);
	assert_int_equal(good_events_failed, 0);
	assert_int_equal(pool_snapshot(good, gw, 2), 2);
	assert_int_equal(gw[0].restarts + gw[1].restarts, 0);

	/* Each hostile worker was stopped, more than once, with its reason. */
	for (i = 0; i < NSEEN; i++) {
		assert_true(seen[i].count >= 2);
		if (strstr(seen[i].first, seen[i].want) == NULL)
			fail_msg("%s: notice \"%s\", expected \"%s\"",
			    seen[i].pool, seen[i].first, seen[i].want);
		assert_int_equal(pool_snapshot(hp[i], &w, 1), 1);
		assert_true(w.restarts >= 1);
		assert_true(h_log_count(hp[i], 0, seen[i].want) >= 1);
		assert_true(h_log_count(hp[i], 0, "stopping pid ") >= 1);
	}
	assert_memory_equal(seen[3].first, "flood/0: flooding stdout (", 26);
	assert_true(h_log_count(hp[3], 0, ": flooding stdout (") >= 1);

	/* Bounded: the rings cap what the flood and garbage can take. */
	assert_true(rss1 - rss0 < RSS_GROWTH_KB);
	assert_true(l.max_ns < LATE_MAX_MS * 1000000ull * slow);
	assert_true(l.ticks >= ATTACK_MS / TICK_MS / 4 / slow);

	h_free(c);
	assert_int_equal(h_children(&zombies), 0);
}

/* log_rate_limit = 0: no limit; a flood runs on (the rings bound it). */
static void
test_flood_unlimited(void **state)
{
	struct h_ctx		*c = h_new();
	struct pool_spec	 s;
	struct pool		*p;
	struct pool_worker_info	 w;
	char			*argv[] = { hostile_path, "flood", NULL };
	long			 rss0, rss1;

	(void)state;
	pool_spec_init(&s);
	s.name = "chatty";
	s.argv = argv;
	s.log_rate_limit = 0;
	assert_int_equal(engine_add_pool(c->e, &s, &p), 0);
	h_run_for(c, 300);
	rss0 = h_rss_kb();
	h_run_for(c, 1000);
	rss1 = h_rss_kb();
	assert_int_equal(pool_snapshot(p, &w, 1), 1);
	assert_int_equal(w.restarts, 0);
	assert_true(w.pid > 0);
	assert_int_equal(h_log_count(p, 0, "flooding"), 0);
	assert_int_equal(h_log_count(p, 0, "flood!!"), 1000);
	assert_true(rss1 - rss0 < RSS_GROWTH_KB);
	h_free(c);
}

/* The key in a config file: default, a value, 0, and the errors. */
static void
test_config_key(void **state)
{
	struct config	 cfg;
	char		*err = NULL;
	size_t		 len = 0;
	FILE		*f;

	(void)state;
	assert_int_equal(config_parse(&cfg, "t.conf", "[pool a]\n"
	    "command = x\n[pool b]\ncommand = x\nlog_rate_limit = 500\n"
	    "[pool c]\ncommand = x\nlog_rate_limit = 0\n", NULL), 0);
	assert_int_equal(cfg.npools, 3);
	assert_int_equal(cfg.pools[0].log_rate_limit, 10000);
	assert_int_equal(cfg.pools[1].log_rate_limit, 500);
	assert_int_equal(cfg.pools[2].log_rate_limit, 0);
	config_free(&cfg);

	f = open_memstream(&err, &len);
	assert_non_null(f);
	assert_int_equal(config_parse(&cfg, "t.conf", "[pool a]\n"
	    "command = x\nlog_rate_limit = lots\n", f), 1);
	fclose(f);
	config_free(&cfg);
	assert_string_equal(err, "t.conf:3: bad value \"lots\" for "
	    "log_rate_limit (expected a whole number from 0 to 100000000)\n");
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_key),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_flood_unlimited),
	};

	h_build_path(hostile_path, sizeof hostile_path,
	    "tests/pooltop-hostile");
	h_build_path(worker_path, sizeof worker_path,
	    "examples/workers/pooltop-example-worker");
	return cmocka_run_group_tests_name("hostile", tests, NULL, NULL);
}
