/*
 * Unit tests of the commands layer on a real engine: a pool of real
 * processes (sleep 1000, as a service), resolved by POOL/N and by pid,
 * put to sleep (state T in /proc) and woken, killed and restarted, scaled,
 * and re-balanced; every outcome message checked word for word.
 */
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

#include "pooltop/commands.h"
#include "pooltop/pool.h"

static uv_loop_t	 loop;
static struct engine	*engine;
static struct pool	*svc;
static char		 msg[512];
static char		 want[512];

/* The pid in the slot (0 if none). */
static pid_t
slot_pid(int slot)
{
	struct pool_worker_info	rows[8];
	size_t			n, i;

	n = pool_snapshot(svc, rows, 8);
	for (i = 0; i < n && i < 8; i++)
		if (rows[i].slot == slot)
			return rows[i].pid;
	return 0;
}

/* The state letter of pid in /proc/PID/stat, or 0 if gone. */
static char
proc_state(pid_t pid)
{
	char	 path[64], buf[512], *p;
	FILE	*f;
	size_t	 n;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' ? p[2] : 0;
}

static void
tick_cb(uv_timer_t *t)
{
	(void)t;
}

/* Runs the loop for up to 10 s until done() is true. */
static bool
run_until(bool (*done)(void *), void *arg)
{
	uv_timer_t	t;
	int		i;

	uv_timer_init(&loop, &t);
	uv_timer_start(&t, tick_cb, 10, 10);
	for (i = 0; i < 1000 && !done(arg); i++)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	return done(arg);
}

static bool
slot_has_pid(void *arg)
{
	return slot_pid((int)(intptr_t)arg) > 0;
}

static bool
slot_pid_changed(void *arg)
{
	pid_t	*old = arg;
	pid_t	 now = slot_pid(1);

	return now > 0 && now != *old;
}

static bool
state_is(void *arg)
{
	const char	*a = arg;

	return proc_state(slot_pid(0)) == a[0];
}

static bool
stopped(void *arg)
{
	return *(bool *)arg;
}

static void
stop_cb(struct engine *e, void *arg)
{
	(void)e;
	*(bool *)arg = true;
}

static int
setup(void **state)
{
	static char	*argv[] = { "sleep", "1000", NULL };
	struct pool_spec spec;

	(void)state;
	if (uv_loop_init(&loop) != 0 || engine_new(&engine, &loop, NULL) != 0)
		return -1;
	pool_spec_init(&spec);
	spec.name = "svc";
	spec.argv = argv;
	spec.mode = POOL_MODE_SERVICE;
	spec.workers = 2;
	spec.min_workers = 2;
	spec.backoff_initial_ms = 10;
	spec.stop_timeout_ms = 1000;
	if (engine_add_pool(engine, &spec, &svc) != 0)
		return -1;
	if (!run_until(slot_has_pid, (void *)0) ||
	    !run_until(slot_has_pid, (void *)1))
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	bool	done = false;

	(void)state;
	engine_stop(engine, stop_cb, &done);
	if (!run_until(stopped, &done))
		return -1;
	engine_free(engine);
	uv_run(&loop, UV_RUN_DEFAULT);
	return uv_loop_close(&loop) == 0 ? 0 : -1;
}

static void
test_signal_names(void **state)
{
	(void)state;
	assert_int_equal(cmd_signal_parse("TERM"), SIGTERM);
	assert_int_equal(cmd_signal_parse("SIGTERM"), SIGTERM);
	assert_int_equal(cmd_signal_parse("sigkill"), SIGKILL);
	assert_int_equal(cmd_signal_parse("usr1"), SIGUSR1);
	assert_int_equal(cmd_signal_parse("9"), 9);
	assert_int_equal(cmd_signal_parse("40"), 40);
	assert_int_equal(cmd_signal_parse("0"), -EINVAL);
	assert_int_equal(cmd_signal_parse("65"), -EINVAL);
	assert_int_equal(cmd_signal_parse("9x"), -EINVAL);
	assert_int_equal(cmd_signal_parse("SIG"), -EINVAL);
	assert_int_equal(cmd_signal_parse("FROB"), -EINVAL);
	assert_int_equal(cmd_signal_parse(""), -EINVAL);
	assert_string_equal(cmd_signal_name(SIGTERM), "TERM");
	assert_string_equal(cmd_signal_name(SIGSTOP), "STOP");
	assert_null(cmd_signal_name(40));
	assert_null(cmd_signal_name(0));
}

static void
expect_resolve(const char *spec, int rc, int slot, const char *text)
{
	struct cmd_target	t = { NULL, -1 };

	msg[0] = '\0';
	assert_int_equal(cmd_resolve(engine, spec, &t, msg, sizeof msg), rc);
	if (rc == 0) {
		assert_ptr_equal(t.pool, svc);
		assert_int_equal(t.slot, slot);
	} else
		assert_string_equal(msg, text);
}

static void
test_resolve(void **state)
{
	(void)state;
	expect_resolve("svc/0", 0, 0, NULL);
	expect_resolve("svc/1", 0, 1, NULL);
	snprintf(want, sizeof want, "%ld", (long)slot_pid(1));
	expect_resolve(want, 0, 1, NULL);
	expect_resolve("svc/2", -ENOENT, 0, "no worker svc/2: pool svc has 2 "
	    "slots (0 to 1)");
	expect_resolve("web/0", -ENOENT, 0, "no worker web/0: no pool "
	    "\"web\"");
	expect_resolve("1", -ENOENT, 0, "no worker with pid 1");
	expect_resolve("svc/x", -EINVAL, 0, "bad worker \"svc/x\" (expected "
	    "POOL/N or a pid)");
	expect_resolve("svc/1x", -EINVAL, 0, "bad worker \"svc/1x\" (expected "
	    "POOL/N or a pid)");
	expect_resolve("/0", -EINVAL, 0, "bad worker \"/0\" (expected POOL/N "
	    "or a pid)");
	expect_resolve("svc", -EINVAL, 0, "bad worker \"svc\" (expected "
	    "POOL/N or a pid)");
	expect_resolve("0", -EINVAL, 0, "bad worker \"0\" (expected POOL/N or "
	    "a pid)");
	expect_resolve("", -EINVAL, 0, "no worker given (expected POOL/N or a "
	    "pid)");
}

static void
test_sleep_wake(void **state)
{
	struct cmd_target	t = { svc, 0 };
	pid_t			pid = slot_pid(0);

	(void)state;
	assert_int_equal(cmd_sleep(engine, &t, msg, sizeof msg), 0);
	snprintf(want, sizeof want, "svc/0 (pid %ld) is asleep (SIGSTOP)",
	    (long)pid);
	assert_string_equal(msg, want);
	assert_true(run_until(state_is, "T"));
	assert_int_equal(cmd_sleep(engine, &t, msg, sizeof msg), 0);
	snprintf(want, sizeof want, "svc/0 (pid %ld) is already asleep",
	    (long)pid);
	assert_string_equal(msg, want);

	assert_int_equal(cmd_wake(engine, &t, msg, sizeof msg), 0);
	snprintf(want, sizeof want, "svc/0 (pid %ld) is awake (SIGCONT)",
	    (long)pid);
	assert_string_equal(msg, want);
	assert_true(run_until(state_is, "S"));
	assert_int_equal(slot_pid(0), pid);

	/* kill -STOP and -CONT go the same way. */
	assert_int_equal(cmd_kill(engine, &t, SIGSTOP, msg, sizeof msg), 0);
	snprintf(want, sizeof want, "svc/0 (pid %ld) is asleep (SIGSTOP)",
	    (long)pid);
	assert_string_equal(msg, want);
	assert_true(run_until(state_is, "T"));
	assert_int_equal(cmd_kill(engine, &t, SIGCONT, msg, sizeof msg), 0);
	assert_true(run_until(state_is, "S"));
}

static void
test_kill(void **state)
{
	struct cmd_target	t = { svc, 1 };
	pid_t			pid = slot_pid(1);

	(void)state;
	assert_int_equal(cmd_kill(engine, &t, 0, msg, sizeof msg), -EINVAL);
	assert_string_equal(msg, "bad signal 0 (expected 1 to 64)");
	assert_int_equal(cmd_kill(engine, &t, SIGKILL, msg, sizeof msg), 0);
	snprintf(want, sizeof want, "sent SIGKILL to svc/1 (pid %ld)",
	    (long)pid);
	assert_string_equal(msg, want);
	assert_true(run_until(slot_pid_changed, &pid));
	assert_true(proc_state(pid) == 0);
}

static void
test_restart(void **state)
{
	struct cmd_target	t = { svc, 1 };
	pid_t			pid = slot_pid(1);

	(void)state;
	assert_int_equal(cmd_restart(engine, &t, msg, sizeof msg), 0);
	snprintf(want, sizeof want, "restarting svc/1 (pid %ld)", (long)pid);
	assert_string_equal(msg, want);
	assert_true(run_until(slot_pid_changed, &pid));
}

static void
test_scale_strategy(void **state)
{
	(void)state;
	assert_int_equal(cmd_scale(engine, svc, 3, msg, sizeof msg), 0);
	assert_string_equal(msg, "pool svc: 2 -> 3 workers");
	assert_int_equal(cmd_scale(engine, svc, 3, msg, sizeof msg), 0);
	assert_string_equal(msg, "pool svc already has 3 workers");
	assert_int_equal(cmd_scale(engine, svc, 2, msg, sizeof msg), 0);
	assert_string_equal(msg, "pool svc: 3 -> 2 workers");
	/* The range is the config's: 1 to 4096 (POOL_WORKERS_MAX). */
	assert_int_equal(cmd_scale(engine, svc, 0, msg, sizeof msg), -EINVAL);
	assert_string_equal(msg, "cannot scale pool svc to 0 workers "
	    "(expected 1 to 4096)");
	assert_int_equal(cmd_scale(engine, svc, 4097, msg, sizeof msg),
	    -EINVAL);
	assert_string_equal(msg, "cannot scale pool svc to 4097 workers "
	    "(expected 1 to 4096)");

	assert_int_equal(cmd_strategy(engine, svc, "wat", msg, sizeof msg),
	    -EINVAL);
	assert_string_equal(msg, "unknown strategy \"wat\" (expected one of "
	    "polling, weights, random, specify, weights_polling, "
	    "weights_random, minimum_connection, weights_minimum_connection, "
	    "least_load)");
	/* A near miss gets the config parser's "did you mean". */
	assert_int_equal(cmd_strategy(engine, svc, "weigths", msg, sizeof msg),
	    -EINVAL);
	assert_string_equal(msg, "unknown strategy \"weigths\" (expected one "
	    "of polling, weights, random, specify, weights_polling, "
	    "weights_random, minimum_connection, weights_minimum_connection, "
	    "least_load; did you mean \"weights\"?)");
	assert_int_equal(cmd_strategy(engine, svc, "Least-Laod", msg,
	    sizeof msg), -EINVAL);
	assert_non_null(strstr(msg, "; did you mean \"least_load\"?)"));
	assert_int_equal(cmd_strategy(engine, svc, "polling", msg, sizeof msg),
	    0);
	assert_string_equal(msg, "pool svc: strategy minimum_connection -> "
	    "polling");
	assert_int_equal(cmd_strategy(engine, svc, "polling", msg, sizeof msg),
	    0);
	assert_string_equal(msg, "pool svc already uses polling");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signal_names),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_sleep_wake),
		cmocka_unit_test(test_kill),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_scale_strategy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
