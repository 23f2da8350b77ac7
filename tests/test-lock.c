/*
 * Integration tests of the locks a pool shares among its workers: real
 * pools of the example workers (C, on libpooltop-host's robust mutexes,
 * and Python, over LOCK/UNLOCK frames the engine serves), a real shared
 * counter in a mapped file, real kill -9 of a holder.  Each test has its
 * own loop; teardown stops the engine, asserts uv_loop_close() == 0 and
 * that no child of this process is left.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
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

#include "pooltop/config.h"
#include "pooltop/pool.h"
#include "proto.h"
#include "harness.h"

#define WAIT_MS		20000	/* generous: a loaded 2-core CI machine */
#define MAX_TASKS	64

struct result {
	int		 calls;
	bool		 ok;
	char		 data[512];
	uint64_t	 ended_ms;	/* uv_now when it ended */
};

struct ctx {
	struct h_ctx	 h;		/* first: waits get the ctx as it */
	unsigned	 lock_notices;
	char		 lock_notice[1024];
	char		 lock_name[64];
	uint64_t	 lock_held_us;
	int		 lock_slot;
	pid_t		 lock_pid;
	struct result	 res[MAX_TASKS];
	int		 done;
	char		 counter[256];	/* the shared counter's file */
};

static char	 worker_path[1024];
static char	 python_path[1024];
static struct ctx *cur;
static char	*locks2[] = { "db", "cache" };

static void
event_cb(const struct pool_event *ev, void *arg)
{
	struct ctx	*c = arg;

	if (ev->type == POOL_EV_NOTICE && ev->lock != NULL) {
		c->lock_notices++;
		snprintf(c->lock_notice, sizeof c->lock_notice, "%.*s",
		    (int)ev->text_len, ev->text);
		snprintf(c->lock_name, sizeof c->lock_name, "%s", ev->lock);
		c->lock_held_us = ev->latency_us;
		c->lock_slot = ev->slot;
		c->lock_pid = ev->pid;
	}
}

static int
setup(void **state)
{
	struct ctx	*c = calloc(1, sizeof *c);
	const char	*tmp = getenv("TMPDIR");
	int		 fd;

	assert_non_null(c);
	h_init(&c->h);
	assert_int_equal(engine_listen(c->h.e, event_cb, c), 0);
	snprintf(c->counter, sizeof c->counter, "%s/pooltop-test-lock-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	fd = mkstemp(c->counter);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8), 0);
	close(fd);
	cur = c;
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx	*c = *state;

	h_end(&c->h);
	assert_int_equal(h_children(NULL), 0);
	unlink(c->counter);
	free(c);
	cur = NULL;
	return 0;
}

static bool
result_in(struct h_ctx *hc, void *arg)
{
	(void)hc;
	return ((struct result *)arg)->calls != 0;
}

/* Waits for the task of res[i] to end. */
static struct result *
wait_result(struct ctx *c, int i)
{
	if (!h_run_until(&c->h, result_in, &c->res[i], WAIT_MS))
		fail_msg("task %d did not end within %d ms", i, WAIT_MS);
	assert_int_equal(c->res[i].calls, 1);
	return &c->res[i];
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
	r->ended_ms = uv_now(&cur->h.loop);
	cur->done++;
}

/* Sends a task to the worker of the slot (strategy specify). */
static void
send_to(struct pool *p, int slot, const char *task, const char *payload,
    int i)
{
	struct pool_send_opts	o;
	char			key[16];
	int			r;

	snprintf(key, sizeof key, "%d", slot);
	memset(&o, 0, sizeof o);
	o.key = key;
	o.key_len = strlen(key);
	memset(&cur->res[i], 0, sizeof cur->res[i]);
	r = pool_send(p, task, payload, strlen(payload), &o, task_cb,
	    &cur->res[i]);
	if (r != 0)
		fail_msg("pool_send: %s", pool_send_error(p, r));
}

/* Sends and waits; asserts the outcome and the text. */
static void
expect(struct pool *p, int slot, const char *task, const char *payload,
    bool ok, const char *text)
{
	struct result	*r;

	send_to(p, slot, task, payload, MAX_TASKS - 1);
	r = wait_result(cur, MAX_TASKS - 1);
	if (r->ok != ok || strcmp(r->data, text) != 0)
		fail_msg("%s %s on slot %d: got %s \"%s\", expected %s \"%s\"",
		    task, payload, slot, r->ok ? "ok" : "error", r->data,
		    ok ? "ok" : "error", text);
}

static char	*pool_argv[8];
static char	 env_c[1100], env_py[1100];
static struct pool_env pool_envs[2];

/*
 * A pool of workers sharing the locks "db" and "cache", strategy specify
 * (a task's key is its slot).  kind "c": the C example worker; "py": the
 * Python one; "mixed": slots 0 and 1 C, the others Python (one command,
 * through sh, choosing by POOLTOP_WORKER).
 */
static void
make_spec(struct pool_spec *sp, const char *name, const char *kind,
    unsigned workers)
{
	struct pool_spec	s;

	pool_spec_init(&s);
	s.name = (char *)name;
	if (strcmp(kind, "c") == 0) {
		pool_argv[0] = worker_path;
		pool_argv[1] = NULL;
	} else if (strcmp(kind, "py") == 0) {
		pool_argv[0] = "python3";
		pool_argv[1] = python_path;
		pool_argv[2] = NULL;
	} else {
		snprintf(env_c, sizeof env_c, "%s", worker_path);
		snprintf(env_py, sizeof env_py, "%s", python_path);
		pool_envs[0].name = "LOCKTEST_C";
		pool_envs[0].value = env_c;
		pool_envs[1].name = "LOCKTEST_PY";
		pool_envs[1].value = env_py;
		s.env = pool_envs;
		s.nenv = 2;
		pool_argv[0] = "/bin/sh";
		pool_argv[1] = "-c";
		pool_argv[2] = "case $POOLTOP_WORKER in */0|*/1) exec "
		    "\"$LOCKTEST_C\" ;; *) exec python3 \"$LOCKTEST_PY\" ;; "
		    "esac";
		pool_argv[3] = NULL;
	}
	s.argv = pool_argv;
	s.workers = workers;
	s.min_workers = workers;
	s.strategy = BALANCE_SPECIFY;
	s.locks = locks2;
	s.nlocks = 2;
	s.backoff_initial_ms = 20;
	s.backoff_max_ms = 100;
	s.stop_timeout_ms = 2000;
	s.handshake_ms = 10000;
	s.mode = POOL_MODE_WORKER;
	*sp = s;
}

static struct pool *
add_pool(struct ctx *c, const char *name, const char *kind, unsigned workers)
{
	struct pool_spec	s;
	struct pool		*p;
	int			 r;

	make_spec(&s, name, kind, workers);
	r = engine_add_pool(c->h.e, &s, &p);
	if (r != 0)
		fail_msg("engine_add_pool: %s: %s", uv_strerror(r),
		    engine_error(c->h.e));
	h_wait_ready(&c->h, workers);
	return p;
}

static struct pool_lock_info
lock_info(struct pool *p, const char *name)
{
	struct pool_lock_info	l[8];
	size_t			n = pool_locks(p, l, 8), i;

	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		if (strcmp(l[i].name, name) == 0)
			return l[i];
	}
	fail_msg("no lock %s", name);
	return l[0];
}

struct held_by {
	struct pool	*p;
	pid_t		 pid;
};

static bool
is_held_by(struct h_ctx *hc, void *arg)
{
	struct ctx		*c = (struct ctx *)hc;
	struct held_by		*h = arg;
	struct pool_lock_info	 l = lock_info(h->p, "db");

	(void)c;
	return l.held && l.pid == h->pid;
}

/* Waits until the worker of the slot holds "db". */
static void
wait_held(struct pool *p, int slot)
{
	struct held_by	h = { p, h_slot_pid(p, slot) };

	if (!h_run_until(&cur->h, is_held_by, &h, WAIT_MS))
		fail_msg("slot %d (pid %d) did not take the lock", slot,
		    (int)h.pid);
}

struct waiting {
	struct pool	*p;
	unsigned	 n;
};

static bool
is_waiting(struct h_ctx *hc, void *arg)
{
	struct ctx	*c = (struct ctx *)hc;
	struct waiting	*wt = arg;

	(void)c;
	return lock_info(wt->p, "db").waiting == wt->n;
}

/* Waits until n workers wait for "db" through the engine. */
static void
wait_waiting(struct pool *p, unsigned n)
{
	struct waiting	wt = { p, n };

	if (!h_run_until(&cur->h, is_waiting, &wt, WAIT_MS))
		fail_msg("%u workers did not come to wait for the lock", n);
}

static bool
lock_noticed(struct h_ctx *hc, void *arg)
{
	struct ctx	*c = (struct ctx *)hc;

	return c->lock_notices >= *(unsigned *)arg;
}

static bool
ends_with(const char *s, const char *tail)
{
	size_t	n = strlen(s), t = strlen(tail);

	return (n >= t && strcmp(s + n - t, tail) == 0);
}

static uint64_t
read_counter(struct ctx *c)
{
	uint64_t	v = 0;
	int		fd = open(c->counter, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &v, sizeof v, 0), (ssize_t)sizeof v);
	close(fd);
	return v;
}

/* ---- tests --------------------------------------------------------------- */

/* The lock frames: exact bytes, and what the decoder refuses. */
static void
test_frames(void **state)
{
	static const uint8_t lock[] = { 0, 0, 0, 11, 16, 0, 0, 0, 1,
	    0, 0, 1, 0xf4, 'd', 'b' };
	static const uint8_t unlock[] = { 0, 0, 0, 7, 17, 0, 0, 0, 2,
	    'd', 'b' };
	static const uint8_t locked[] = { 0, 0, 0, 8, 18, 0, 0, 0, 1, 1,
	    'h', 'i' };
	static const uint8_t short_lock[] = { 0, 0, 0, 8, 16, 0, 0, 0, 1,
	    0, 0, 1 };
	static const uint8_t empty_name[] = { 0, 0, 0, 9, 16, 0, 0, 0, 1,
	    0, 0, 0, 0 };
	uint8_t			 buf[128], big[128];
	struct proto_msg	 m;
	size_t			 flen;

	(void)state;
	assert_int_equal(proto_encode_lock(buf, sizeof buf, PROTO_LOCK, 1, 500,
	    "db", 2), sizeof lock);
	assert_memory_equal(buf, lock, sizeof lock);
	assert_int_equal(proto_encode_lock(buf, sizeof buf, PROTO_UNLOCK, 2, 99,
	    "db", 2), sizeof unlock);
	assert_memory_equal(buf, unlock, sizeof unlock);
	assert_int_equal(proto_encode_locked(buf, sizeof buf, 1,
	    PROTO_LOCK_OWNER_DIED, "hi", 2), sizeof locked);
	assert_memory_equal(buf, locked, sizeof locked);

	assert_int_equal(proto_decode(lock, sizeof lock, 0, &m, &flen), 0);
	assert_int_equal(flen, sizeof lock);
	assert_int_equal(m.type, PROTO_LOCK);
	assert_int_equal(m.id, 1);
	assert_int_equal(m.timeout_ms, 500);
	assert_int_equal(m.name_len, 2);
	assert_memory_equal(m.name, "db", 2);
	assert_int_equal(proto_decode(unlock, sizeof unlock, 0, &m, &flen), 0);
	assert_int_equal(m.type, PROTO_UNLOCK);
	assert_int_equal(m.id, 2);
	assert_int_equal(m.timeout_ms, 0);
	assert_memory_equal(m.name, "db", 2);
	assert_int_equal(proto_decode(locked, sizeof locked, 0, &m, &flen), 0);
	assert_int_equal(m.type, PROTO_LOCKED);
	assert_int_equal(m.status, PROTO_LOCK_OWNER_DIED);
	assert_int_equal(m.data_len, 2);
	assert_memory_equal(m.data, "hi", 2);

	assert_int_equal(proto_decode(short_lock, sizeof short_lock, 0, &m,
	    &flen), PROTO_ESHORT);
	assert_int_equal(proto_decode(empty_name, sizeof empty_name, 0, &m,
	    &flen), PROTO_ENAME);
	memset(big, 'a', sizeof big);
	assert_int_equal(proto_encode_lock(buf, sizeof buf, PROTO_LOCK, 1, 0,
	    (const char *)big, 64), PROTO_ENAME);
	assert_int_equal(proto_encode_lock(buf, sizeof buf, PROTO_LOCK, 1, 0,
	    "a\0b", 3), PROTO_ENAME);
	assert_int_equal(proto_encode_lock(buf, sizeof buf, PROTO_RESULT, 1, 0,
	    "db", 2), PROTO_ETYPE);
	assert_int_equal(proto_encode_lock(buf, 10, PROTO_LOCK, 1, 0, "db",
	    2), PROTO_ESPACE);
	assert_int_equal(proto_encode_lock(buf, sizeof buf, PROTO_LOCK, 1, 0,
	    (const char *)big, 63), 4 + 9 + 63);
}

/* The locks key: names, and each mistake with its line. */
static void
test_config(void **state)
{
	struct config	cfg;
	char		err[1024];
	FILE		*f;

	(void)state;
	assert_int_equal(config_parse(&cfg, "t.conf", "[pool web]\n"
	    "command = w\nlocks = db , cache,x.y-z_1\n", NULL), 0);
	assert_int_equal(cfg.npools, 1);
	assert_int_equal(cfg.pools[0].nlocks, 3);
	assert_string_equal(cfg.pools[0].locks[0], "db");
	assert_string_equal(cfg.pools[0].locks[1], "cache");
	assert_string_equal(cfg.pools[0].locks[2], "x.y-z_1");
	config_free(&cfg);

	memset(err, 0, sizeof err);
	f = fmemopen(err, sizeof err - 1, "w");
	assert_non_null(f);
	assert_int_equal(config_parse(&cfg, "t.conf", "[pool a]\n"
	    "command = w\nlocks = db, db\n[pool b]\ncommand = w\n"
	    "locks = d b\n[service c]\ncommand = w\nlocks = db,,x\n", f), 3);
	fclose(f);
	assert_string_equal(err,
	    "t.conf:3: lock \"db\" is named twice in locks\n"
	    "t.conf:6: bad lock name \"d b\" in locks (expected names of 1 to "
	    "63 letters, digits, '_', '.' or '-', separated by commas)\n"
	    "t.conf:9: bad lock name \"\" in locks (expected names of 1 to 63 "
	    "letters, digits, '_', '.' or '-', separated by commas)\n");
	config_free(&cfg);
}

/* A spec from a program with a bad lock name is refused, with the reason. */
static void
test_bad_spec(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	char			*argv[] = { worker_path, NULL };
	char			*bad[] = { "ok", "not ok" };
	char			*twice[] = { "a", "b", "a" };

	pool_spec_init(&s);
	s.name = "bad";
	s.argv = argv;
	s.locks = bad;
	s.nlocks = 2;
	assert_int_equal(engine_add_pool(c->h.e, &s, &p), -EINVAL);
	assert_string_equal(engine_error(c->h.e), "pool bad: lock name "
	    "\"not ok\": only letters, digits, '_', '.' and '-' are allowed");
	s.locks = twice;
	s.nlocks = 3;
	assert_int_equal(engine_add_pool(c->h.e, &s, &p), -EINVAL);
	assert_string_equal(engine_error(c->h.e), "pool bad: lock \"a\" is "
	    "named twice");
}

/* 4 C workers, 10,000 increments each under the lock: exactly 40,000. */
static void
test_counter_c(void **state)
{
	struct ctx		*c = *state;
	struct pool		*p = add_pool(c, "cnt", "c", 4);
	struct pool_lock_info	 l;
	char			 payload[600];
	int			 i;

	snprintf(payload, sizeof payload, "db 10000 %s", c->counter);
	for (i = 0; i < 4; i++)
		send_to(p, i, "incr", payload, i);
	for (i = 0; i < 4; i++) {
		wait_result(c, i);
		if (!c->res[i].ok)
			fail_msg("incr on slot %d: %s", i, c->res[i].data);
		assert_string_equal(c->res[i].data, "incr 10000 owner_died 0");
	}
	assert_int_equal(read_counter(c), 40000);
	l = lock_info(p, "db");
	assert_false(l.held);
	assert_int_equal(l.acquisitions, 40000);
	assert_int_equal(l.deaths, 0);
	assert_int_equal(lock_info(p, "cache").acquisitions, 0);
	assert_int_equal(c->lock_notices, 0);
}

/* C and Python workers on one lock: every increment counts. */
static void
test_counter_mixed(void **state)
{
	struct ctx		*c = *state;
	struct pool		*p = add_pool(c, "mix", "mixed", 4);
	char			 payload[600];
	int			 i;

	for (i = 0; i < 4; i++) {
		snprintf(payload, sizeof payload, "db %d %s", i < 2 ? 3000 :
		    300, c->counter);
		send_to(p, i, "incr", payload, i);
	}
	for (i = 0; i < 4; i++) {
		wait_result(c, i);
		if (!c->res[i].ok)
			fail_msg("incr on slot %d: %s", i, c->res[i].data);
		assert_string_equal(c->res[i].data, i < 2 ?
		    "incr 3000 owner_died 0" : "incr 300 owner_died 0");
	}
	assert_int_equal(read_counter(c), 6600);
	assert_int_equal(lock_info(p, "db").acquisitions, 6600);
	assert_false(lock_info(p, "db").held);
}

/*
 * kill -9 of a C holder inside its critical section while two others
 * wait: both go on, exactly one is told the owner died, every increment
 * counts, and the death shows as a NOTICE naming the lock.
 */
static void
test_kill_holder(void **state)
{
	struct ctx		*c = *state;
	struct pool		*p = add_pool(c, "kill", "c", 3);
	struct pool_lock_info	 l;
	char			 payload[600], want[200];
	unsigned		 one = 1;
	pid_t			 victim;
	int			 died;

	send_to(p, 0, "hold", "db 60000", 0);
	wait_held(p, 0);
	/*
	 * Why wait: the held time is counted in whole ms; a kill in the
	 * millisecond the lock was taken would report 0 (checked below).
	 */
	usleep(20000);
	victim = h_slot_pid(p, 0);
	snprintf(payload, sizeof payload, "db 100 %s", c->counter);
	send_to(p, 1, "incr", payload, 1);
	send_to(p, 2, "incr", payload, 2);
	assert_int_equal(pool_worker_signal(p, 0, SIGKILL), 0);

	wait_result(c, 0);
	assert_false(c->res[0].ok);
	snprintf(want, sizeof want, "worker kill/0 (pid %d) exited with "
	    "signal 9 (Killed)", (int)victim);
	if (strncmp(c->res[0].data, want, strlen(want)) != 0)
		fail_msg("hold ended with \"%s\"", c->res[0].data);
	wait_result(c, 1);
	wait_result(c, 2);
	assert_true(c->res[1].ok);
	assert_true(c->res[2].ok);
	died = (strcmp(c->res[1].data, "incr 100 owner_died 1") == 0) +
	    (strcmp(c->res[2].data, "incr 100 owner_died 1") == 0);
	if (died != 1)
		fail_msg("owner died told %d times: \"%s\", \"%s\"", died,
		    c->res[1].data, c->res[2].data);
	assert_true(strcmp(c->res[1].data, "incr 100 owner_died 0") == 0 ||
	    strcmp(c->res[2].data, "incr 100 owner_died 0") == 0);
	assert_int_equal(read_counter(c), 200);

	assert_true(h_run_until(&c->h, lock_noticed, &one, WAIT_MS));
	assert_int_equal(c->lock_notices, 1);
	assert_string_equal(c->lock_name, "db");
	assert_int_equal(c->lock_slot, 0);
	assert_int_equal(c->lock_pid, victim);
	snprintf(want, sizeof want, "worker kill/0 (pid %d) died holding lock "
	    "\"db\" (held ", (int)victim);
	/* Taken over by a waiter, or recovered by the engine at the reap. */
	if (strncmp(c->lock_notice, want, strlen(want)) != 0 ||
	    (strstr(c->lock_notice, "); taken over by ") == NULL &&
	    strstr(c->lock_notice, "); recovered: the next holder is told "
	    "the owner died") == NULL) ||
	    !ends_with(c->lock_notice, "the owner died"))
		fail_msg("notice: %s", c->lock_notice);
	assert_true(c->lock_held_us > 0);
	l = lock_info(p, "db");
	assert_false(l.held);
	assert_int_equal(l.deaths, 1);
	assert_int_equal(l.dead_pid, victim);
	assert_int_equal(l.dead_slot, 0);
	assert_int_equal(l.acquisitions, 201);
}

/*
 * A holder dies with nobody waiting: the engine recovers the lock when
 * it reaps the worker, and the next taker is still told, once.
 */
static void
test_kill_holder_no_waiter(void **state)
{
	struct ctx		*c = *state;
	struct pool		*p = add_pool(c, "alone", "c", 2);
	struct pool_lock_info	 l;
	char			 want[200];
	unsigned		 one = 1;
	pid_t			 victim;

	send_to(p, 0, "hold", "db 60000", 0);
	wait_held(p, 0);
	victim = h_slot_pid(p, 0);
	assert_int_equal(pool_worker_signal(p, 0, SIGKILL), 0);
	wait_result(c, 0);
	assert_true(h_run_until(&c->h, lock_noticed, &one, WAIT_MS));
	snprintf(want, sizeof want, "worker alone/0 (pid %d) died holding lock "
	    "\"db\" (held ", (int)victim);
	if (strncmp(c->lock_notice, want, strlen(want)) != 0 ||
	    strstr(c->lock_notice, "); recovered: the next holder is told "
	    "the owner died") == NULL)
		fail_msg("notice: %s", c->lock_notice);
	l = lock_info(p, "db");
	assert_false(l.held);
	assert_int_equal(l.deaths, 1);
	assert_int_equal(l.dead_pid, victim);

	expect(p, 1, "trylock", "db", true, "locked owner_died");
	expect(p, 1, "unlock", "db", true, "unlocked");
	expect(p, 1, "trylock", "db", true, "locked");
	expect(p, 1, "unlock", "db", true, "unlocked");
	assert_int_equal(c->lock_notices, 1);
}

/*
 * A Python worker holds the lock through the engine and is killed: the
 * engine releases it with the owner-died mark; the C worker waiting in
 * pthread_mutex_lock goes on and is told.
 */
static void
test_kill_python_holder(void **state)
{
	struct ctx		*c = *state;
	struct pool		*p = add_pool(c, "pyk", "mixed", 3);
	struct pool_lock_info	 l;
	char			 payload[600], want[200];
	unsigned		 one = 1;
	pid_t			 victim;

	send_to(p, 2, "hold", "db 60000", 0);
	wait_held(p, 2);
	victim = h_slot_pid(p, 2);
	l = lock_info(p, "db");
	assert_true(l.by_engine);
	assert_int_equal(l.slot, 2);
	snprintf(payload, sizeof payload, "db 50 %s", c->counter);
	send_to(p, 1, "incr", payload, 1);
	assert_int_equal(pool_worker_signal(p, 2, SIGKILL), 0);
	wait_result(c, 0);
	assert_false(c->res[0].ok);
	wait_result(c, 1);
	assert_true(c->res[1].ok);
	assert_string_equal(c->res[1].data, "incr 50 owner_died 1");
	assert_int_equal(read_counter(c), 50);
	assert_true(h_run_until(&c->h, lock_noticed, &one, WAIT_MS));
	snprintf(want, sizeof want, "worker pyk/2 (pid %d) died holding lock "
	    "\"db\" (taken for it by the engine, held ", (int)victim);
	if (strncmp(c->lock_notice, want, strlen(want)) != 0 ||
	    strstr(c->lock_notice, "); released: the next holder is told the "
	    "owner died") == NULL)
		fail_msg("notice: %s", c->lock_notice);
	l = lock_info(p, "db");
	assert_int_equal(l.deaths, 1);
	assert_int_equal(l.dead_pid, victim);
	assert_int_equal(l.dead_slot, 2);
}

/*
 * A C holder is killed while a Python worker waits through the engine
 * (which retries on its timer): the Python worker gets it, told the
 * owner died.
 */
static void
test_kill_c_holder_python_waiter(void **state)
{
	struct ctx	*c = *state;
	struct pool	*p = add_pool(c, "cpy", "mixed", 3);
	char		 want[200], tail[200];
	unsigned	 one = 1;
	pid_t		 victim;

	send_to(p, 0, "hold", "db 60000", 0);
	wait_held(p, 0);
	victim = h_slot_pid(p, 0);
	send_to(p, 2, "lock", "db", 1);
	wait_waiting(p, 1);
	assert_int_equal(c->res[1].calls, 0);
	assert_int_equal(pool_worker_signal(p, 0, SIGKILL), 0);
	wait_result(c, 1);
	assert_true(c->res[1].ok);
	assert_string_equal(c->res[1].data, "locked owner_died");
	assert_true(h_run_until(&c->h, lock_noticed, &one, WAIT_MS));
	snprintf(want, sizeof want, "worker cpy/0 (pid %d) died holding lock "
	    "\"db\" (held ", (int)victim);
	snprintf(tail, sizeof tail, "); taken over by cpy/2 (pid %d), told "
	    "the owner died", (int)h_slot_pid(p, 2));
	if (strncmp(c->lock_notice, want, strlen(want)) != 0 ||
	    !ends_with(c->lock_notice, tail))
		fail_msg("notice: %s", c->lock_notice);
	assert_int_equal(lock_info(p, "db").pid, h_slot_pid(p, 2));
	assert_int_equal(lock_info(p, "db").waiting, 0);
	expect(p, 2, "unlock", "db", true, "unlocked");
	assert_int_equal(c->lock_notices, 1);
}

/* Try-lock and timed lock from C workers (the SDK). */
static void
test_try_timed_c(void **state)
{
	struct ctx		*c = *state;
	struct pool		*p = add_pool(c, "tc", "c", 2);
	struct pool_lock_info	 l;
	uint64_t		 t0;

	expect(p, 0, "lock", "db", true, "locked");
	expect(p, 1, "trylock", "db", true, "busy");
	t0 = uv_now(&c->h.loop);
	expect(p, 1, "timedlock", "db 300", true, "timed out");
	assert_true(c->res[MAX_TASKS - 1].ended_ms - t0 >= 290);
	expect(p, 0, "lock", "db", false, "lock db: Resource deadlock "
	    "avoided");
	expect(p, 1, "unlock", "db", false, "unlock db: not held by this "
	    "worker");
	expect(p, 1, "lock", "nosuch", false, "lock: no lock \"nosuch\" in "
	    "this pool (its locks: db,cache)");
	l = lock_info(p, "db");
	assert_true(l.held);
	assert_false(l.by_engine);
	assert_int_equal(l.pid, h_slot_pid(p, 0));
	assert_int_equal(l.slot, 0);
	expect(p, 0, "unlock", "db", true, "unlocked");
	assert_false(lock_info(p, "db").held);
	expect(p, 1, "trylock", "db", true, "locked");
	expect(p, 1, "unlock", "db", true, "unlocked");

	/* A timed wait that ends when the holder gives the lock back. */
	expect(p, 0, "lock", "cache", true, "locked");
	send_to(p, 1, "timedlock", "cache 15000", 0);
	assert_false(h_run_until(&c->h, result_in, &c->res[0], 200));
	expect(p, 0, "unlock", "cache", true, "unlocked");
	wait_result(c, 0);
	assert_true(c->res[0].ok);
	assert_string_equal(c->res[0].data, "locked");
	expect(p, 1, "unlock", "cache", true, "unlocked");
	assert_int_equal(lock_info(p, "cache").acquisitions, 2);
}

/* The same through the engine, from Python workers (LOCK frames). */
static void
test_try_timed_python(void **state)
{
	struct ctx		*c = *state;
	struct pool		*p = add_pool(c, "tpy", "py", 2);
	struct pool_lock_info	 l;
	uint64_t		 t0;

	expect(p, 0, "lock", "db", true, "locked");
	expect(p, 1, "trylock", "db", true, "busy");
	t0 = uv_now(&c->h.loop);
	expect(p, 1, "timedlock", "db 300", true, "timed out");
	assert_true(c->res[MAX_TASKS - 1].ended_ms - t0 >= 290);
	expect(p, 0, "lock", "db", false, "lock \"db\" is already held by "
	    "this worker");
	expect(p, 1, "unlock", "db", false, "lock \"db\" is not held by this "
	    "worker");
	expect(p, 1, "lock", "nosuch", false, "unknown lock \"nosuch\" (pool "
	    "tpy has: db, cache)");
	l = lock_info(p, "db");
	assert_true(l.held);
	assert_true(l.by_engine);
	assert_int_equal(l.pid, h_slot_pid(p, 0));
	assert_int_equal(l.slot, 0);

	/* A waiter gets it as soon as the holder unlocks. */
	send_to(p, 1, "timedlock", "db 15000", 0);
	wait_waiting(p, 1);
	assert_int_equal(c->res[0].calls, 0);
	expect(p, 0, "unlock", "db", true, "unlocked");
	wait_result(c, 0);
	assert_string_equal(c->res[0].data, "locked");
	assert_int_equal(lock_info(p, "db").pid, h_slot_pid(p, 1));
	expect(p, 1, "unlock", "db", true, "unlocked");
	assert_false(lock_info(p, "db").held);
	assert_int_equal(lock_info(p, "db").acquisitions, 2);
}

/* Mixed: a C holder, a Python try-lock and timed lock (the engine's retries). */
static void
test_try_timed_mixed(void **state)
{
	struct ctx	*c = *state;
	struct pool	*p = add_pool(c, "tmx", "mixed", 3);

	expect(p, 0, "lock", "db", true, "locked");
	expect(p, 2, "trylock", "db", true, "busy");
	expect(p, 2, "timedlock", "db 200", true, "timed out");
	send_to(p, 2, "timedlock", "db 15000", 0);
	wait_waiting(p, 1);
	assert_int_equal(c->res[0].calls, 0);
	expect(p, 0, "unlock", "db", true, "unlocked");
	wait_result(c, 0);
	assert_string_equal(c->res[0].data, "locked");
	expect(p, 1, "trylock", "db", true, "busy");
	expect(p, 2, "unlock", "db", true, "unlocked");
	expect(p, 1, "trylock", "db", true, "locked");
	expect(p, 1, "unlock", "db", true, "unlocked");
}

struct log_find {
	struct pool	*p;
	const char	*text;
	bool		 found;
};

static void
log_line_cb(const struct pool_log_line *l, void *arg)
{
	struct log_find	*f = arg;

	if (strcmp(l->text, f->text) == 0)
		f->found = true;
}

static bool
log_has(struct h_ctx *hc, void *arg)
{
	struct ctx	*c = (struct ctx *)hc;
	struct log_find	*f = arg;

	(void)c;
	pool_worker_log(f->p, 0, 0, log_line_cb, f);
	return f->found;
}

/* A service gets the region on fd 3 (it has no fds 3 and 4), named so. */
static void
test_service_fd(void **state)
{
	struct ctx		*c = *state;
	struct pool_spec	 s;
	struct pool		*p;
	struct log_find		 f;
	char			*argv[] = { "/bin/sh", "-c",
	    "echo \"fd $POOLTOP_LOCKS_FD locks $POOLTOP_LOCKS "
	    "$(readlink /proc/self/fd/3)\"; exec sleep 60", NULL };

	pool_spec_init(&s);
	s.name = "svc";
	s.argv = argv;
	s.mode = POOL_MODE_SERVICE;
	s.locks = locks2;
	s.nlocks = 2;
	s.stop_timeout_ms = 2000;
	assert_int_equal(engine_add_pool(c->h.e, &s, &p), 0);
	f.p = p;
	f.text = "fd 3 locks db,cache /memfd:pooltop-locks (deleted)";
	f.found = false;
	if (!h_run_until(&c->h, log_has, &f, WAIT_MS))
		fail_msg("no line \"%s\" in the service's log", f.text);
	assert_int_equal(pool_locks(p, NULL, 0), 2);
}

/*
 * A config change replaces the pool: the new pool shares the old one's
 * locks, so the old workers finishing their tasks and the new ones do
 * not run their critical sections together.
 */
static void
test_replace_shares(void **state)
{
	struct ctx		*c = *state;
	struct pool		*p = add_pool(c, "rep", "c", 2), *np = NULL;
	struct pool_spec	 s;
	pid_t			 old;

	send_to(p, 0, "hold", "db 1500", 0);
	wait_held(p, 0);
	old = h_slot_pid(p, 0);
	make_spec(&s, "rep", "c", 2);
	s.handshake_ms = 9000;		/* a key that replaces the pool */
	assert_int_equal(engine_update_pool(c->h.e, p, &s, &np),
	    POOL_UPDATE_REPLACED);
	assert_non_null(np);
	assert_true(np != p);
	h_wait_ready(&c->h, 4);
	expect(np, 1, "trylock", "db", true, "busy");
	assert_int_equal(lock_info(np, "db").pid, old);
	expect(np, 1, "timedlock", "db 15000", true, "locked");
	wait_result(c, 0);
	assert_true(c->res[0].ok);
	assert_string_equal(c->res[0].data, "held 1500");
	expect(np, 1, "unlock", "db", true, "unlocked");
	assert_int_equal(lock_info(np, "db").deaths, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_config),
		cmocka_unit_test_setup_teardown(test_bad_spec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter_c, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_counter_mixed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_kill_holder, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_kill_holder_no_waiter,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_python_holder, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_kill_c_holder_python_waiter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_try_timed_c, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_try_timed_python, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_try_timed_mixed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_replace_shares, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_service_fd, setup,
		    teardown),
	};
	const char	*build = getenv("POOLTOP_BUILD");
	const char	*src = getenv("POOLTOP_SOURCE");

	if (build == NULL) {
		fprintf(stderr, "test-lock: POOLTOP_BUILD is not set (run it "
		    "with meson test)\n");
		return 77;
	}
	snprintf(worker_path, sizeof worker_path,
	    "%s/examples/workers/pooltop-example-worker", build);
	snprintf(python_path, sizeof python_path,
	    "%s/examples/workers/pooltop-example-worker.py", build);
	if (access(python_path, R_OK) != 0 && src != NULL)
		snprintf(python_path, sizeof python_path,
		    "%s/examples/workers/worker.py", src);
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests_name("lock", tests, NULL, NULL);
}
