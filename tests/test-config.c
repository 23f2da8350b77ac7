/*
 * Tests for the config module: every key and unit into the right spec
 * field, the defaults, and every error message with its FILE:LINE.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "pooltop/balance.h"
#include "pooltop/config.h"

/* Parses text as "t.conf"; *out gets what was written to err. */
static int
parse(struct config *cfg, const char *text, char **out)
{
	size_t	 len = 0;
	FILE	*f;
	int	 rc;

	*out = NULL;
	f = open_memstream(out, &len);
	assert_non_null(f);
	rc = config_parse(cfg, "t.conf", text, f);
	assert_int_equal(fclose(f), 0);
	return rc;
}

/* Parses text that must be valid; fails the test with its errors if not. */
static void
parse_ok(struct config *cfg, const char *text)
{
	char	*out;
	int	 rc;

	rc = parse(cfg, text, &out);
	if (rc != 0)
		print_error("unexpected errors (%d):\n%s", rc, out);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "");
	free(out);
}

static int
count_lines(const char *s)
{
	int	n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* text must give exactly the errors in expected, and no config. */
static void
check_errors(const char *text, const char *expected)
{
	struct config	 cfg;
	char		*out;
	int		 rc;

	rc = parse(&cfg, text, &out);
	assert_string_equal(out, expected);
	assert_int_equal(rc, count_lines(expected));
	assert_int_equal(cfg.npools, 0);
	assert_null(cfg.pools);
	assert_null(cfg.path);
	free(out);
	config_free(&cfg);
}

/* A one-pool config: "[pool p]\ncommand = x\n" and then extra (line 3). */
static void
parse_pool(struct config *cfg, const char *extra)
{
	char	*text;

	assert_true(asprintf(&text, "[pool p]\ncommand = x\n%s\n", extra) > 0);
	parse_ok(cfg, text);
	free(text);
	assert_int_equal(cfg->npools, 1);
}

/* One key's error in a pool: the message for line 3. */
static void
check_pool_error(const char *extra, const char *message)
{
	char	*text, *expected;

	assert_true(asprintf(&text, "[pool p]\ncommand = x\n%s\n", extra) > 0);
	assert_true(asprintf(&expected, "t.conf:3: %s\n", message) > 0);
	check_errors(text, expected);
	free(text);
	free(expected);
}

static void
assert_argv(char **argv, const char *const *expected)
{
	size_t	i;

	assert_non_null(argv);
	for (i = 0; expected[i] != NULL; i++) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], expected[i]);
	}
	assert_null(argv[i]);
}

/* ---- defaults and keys ------------------------------------------------- */

static void
test_defaults(void **state)
{
	struct config		 cfg;
	const struct pool_spec	*s;
	static const char *const argv[] = { "x", NULL };

	parse_ok(&cfg, "[pool web]\ncommand = x\n");
	assert_string_equal(cfg.path, "t.conf");
	assert_int_equal(cfg.npools, 1);
	s = &cfg.pools[0];
	assert_string_equal(s->name, "web");
	assert_argv(s->argv, argv);
	assert_null(s->cwd);
	assert_null(s->env);
	assert_int_equal(s->nenv, 0);
	assert_int_equal(s->mode, POOL_MODE_AUTO);
	assert_int_equal(s->workers, 1);
	assert_int_equal(s->min_workers, 1);
	assert_int_equal(s->parallel_jobs, 1);
	assert_int_equal(s->strategy, BALANCE_MINIMUM_CONNECTION);
	assert_null(s->weights);
	assert_int_equal(s->nweights, 0);
	assert_int_equal(s->seed, 1);
	assert_int_equal(s->task_timeout_ms, 0);
	assert_int_equal(s->queue_cap, 10000);
	assert_int_equal(s->retry, 0);
	assert_int_equal(s->idle_sleep_ms, 0);
	assert_int_equal(s->handshake_ms, 2000);
	assert_int_equal(s->restart, POOL_RESTART_ON_FAILURE);
	assert_int_equal(s->max_restarts, 5);
	assert_int_equal(s->restart_window_ms, 60000);
	assert_int_equal(s->backoff_initial_ms, 100);
	assert_int_equal(s->backoff_max_ms, 10000);
	assert_int_equal(s->stop_signal, SIGTERM);
	assert_int_equal(s->stop_timeout_ms, 5000);
	assert_int_equal(s->memory_limit, 0);
	assert_false(s->tree);
	assert_int_equal(s->log_lines, 1000);

	assert_int_equal(cfg.global.sample_interval_ms, 1000);
	assert_int_equal(cfg.global.history, 60);
	assert_null(cfg.global.socket);
	assert_true(cfg.global.color);
	assert_true(cfg.global.confirm);
	config_free(&cfg);
	assert_null(cfg.pools);
	assert_null(cfg.path);
	config_free(&cfg);	/* twice is fine */
	config_free(NULL);
}

static void
test_every_pool_key(void **state)
{
	struct config		 cfg;
	const struct pool_spec	*s;
	static const char *const argv[] = { "/usr/bin/worker", "--fast",
	    "a b", NULL };

	parse_ok(&cfg,
	    "; a comment\n"
	    "# another\n"
	    "[pool compute]\n"
	    "command = /usr/bin/worker --fast 'a b'\n"
	    "cwd = /tmp\n"
	    "env.FOO = bar baz\n"
	    "env.EMPTY =\n"
	    "mode = worker\n"
	    "workers = 8\n"
	    "min_workers = 0\n"
	    "parallel_jobs = 65535\n"
	    "strategy = weights_random\n"
	    "weights = 3, 2,2 ,1\n"
	    "seed = 18446744073709551615\n"
	    "queue_cap = 500\n"
	    "task_timeout = 1.5s\n"
	    "retry = 2\n"
	    "handshake = 250ms\n"
	    "idle_sleep = 2m\n"
	    "restart = always\n"
	    "max_restarts = 9\n"
	    "restart_window = 1h\n"
	    "backoff = 50ms, 2s\n"
	    "stop_signal = SIGINT\n"
	    "stop_timeout = 0\n"
	    "memory_limit = 512M\n"
	    "tree = yes\n"
	    "log_lines = 42\n");
	assert_int_equal(cfg.npools, 1);
	s = &cfg.pools[0];
	assert_string_equal(s->name, "compute");
	assert_argv(s->argv, argv);
	assert_string_equal(s->cwd, "/tmp");
	assert_int_equal(s->nenv, 2);
	assert_string_equal(s->env[0].name, "FOO");
	assert_string_equal(s->env[0].value, "bar baz");
	assert_string_equal(s->env[1].name, "EMPTY");
	assert_string_equal(s->env[1].value, "");
	assert_int_equal(s->mode, POOL_MODE_WORKER);
	assert_int_equal(s->workers, 8);
	assert_int_equal(s->min_workers, 0);
	assert_int_equal(s->parallel_jobs, 65535);
	assert_int_equal(s->strategy, BALANCE_WEIGHTS_RANDOM);
	assert_int_equal(s->nweights, 4);
	assert_int_equal(s->weights[0], 3);
	assert_int_equal(s->weights[1], 2);
	assert_int_equal(s->weights[2], 2);
	assert_int_equal(s->weights[3], 1);
	assert_true(s->seed == UINT64_MAX);
	assert_int_equal(s->queue_cap, 500);
	assert_int_equal(s->task_timeout_ms, 1500);
	assert_int_equal(s->retry, 2);
	assert_int_equal(s->handshake_ms, 250);
	assert_int_equal(s->idle_sleep_ms, 120000);
	assert_int_equal(s->restart, POOL_RESTART_ALWAYS);
	assert_int_equal(s->max_restarts, 9);
	assert_int_equal(s->restart_window_ms, 3600000);
	assert_int_equal(s->backoff_initial_ms, 50);
	assert_int_equal(s->backoff_max_ms, 2000);
	assert_int_equal(s->stop_signal, SIGINT);
	assert_int_equal(s->stop_timeout_ms, 0);
	assert_int_equal(s->memory_limit, 512u << 20);
	assert_true(s->tree);
	assert_int_equal(s->log_lines, 42);
	config_free(&cfg);
}

static void
test_global_keys(void **state)
{
	struct config	cfg;

	parse_ok(&cfg,
	    "[pooltop]\n"
	    "interval = 250ms\n"
	    "history = 300\n"
	    "socket = /run/pooltop.sock\n"
	    "color = no\n"
	    "confirm = off\n"
	    "[pool a]\n"
	    "command = a\n");
	assert_int_equal(cfg.global.sample_interval_ms, 250);
	assert_int_equal(cfg.global.history, 300);
	assert_string_equal(cfg.global.socket, "/run/pooltop.sock");
	assert_false(cfg.global.color);
	assert_false(cfg.global.confirm);
	config_free(&cfg);
	assert_null(cfg.global.socket);
}

static void
test_service(void **state)
{
	struct config		 cfg;
	static const char *const argv[] = { "svc", "-v", NULL };

	parse_ok(&cfg,
	    "[service beat]\n"
	    "command = svc -v\n"
	    "workers = 3\n"
	    "restart = never\n"
	    "[pool p]\n"
	    "command = w\n"
	    "mode = service\n"
	    "workers = 2\n"
	    "[pool q]\n"
	    "command = w\n"
	    "mode = auto\n"
	    "workers = 2\n");
	assert_int_equal(cfg.npools, 3);
	assert_string_equal(cfg.pools[0].name, "beat");
	assert_argv(cfg.pools[0].argv, argv);
	assert_int_equal(cfg.pools[0].mode, POOL_MODE_SERVICE);
	assert_int_equal(cfg.pools[0].workers, 3);
	/* Nothing spawns a service lazily: all start at once. */
	assert_int_equal(cfg.pools[0].min_workers, 3);
	assert_int_equal(cfg.pools[0].restart, POOL_RESTART_NEVER);
	assert_int_equal(cfg.pools[1].mode, POOL_MODE_SERVICE);
	assert_int_equal(cfg.pools[1].min_workers, 2);
	assert_int_equal(cfg.pools[2].mode, POOL_MODE_AUTO);
	assert_int_equal(cfg.pools[2].min_workers, 1);
	config_free(&cfg);
}

static void
test_shell(void **state)
{
	struct config		 cfg;
	static const char *const argv[] = { "/bin/sh", "-c",
	    "echo \"$HOME\" | wc -c; exit 0", NULL };

	/* shell may come after command. */
	parse_ok(&cfg, "[pool p]\ncommand = echo \"$HOME\" | wc -c; exit 0\n"
	    "shell = yes\n");
	assert_argv(cfg.pools[0].argv, argv);
	config_free(&cfg);
}

static void
test_command_quoting(void **state)
{
	static const struct {
		const char	*command;
		const char	*argv[6];
	} cases[] = {
		{ "a b  c", { "a", "b", "c", NULL } },
		{ "a\tb", { "a", "b", NULL } },
		{ "'a b' c", { "a b", "c", NULL } },
		{ "\"a \\\"b\\\" \\\\ c\"", { "a \"b\" \\ c", NULL } },
		{ "\"a\\nb\"", { "a\\nb", NULL } },
		{ "a\\ b", { "a b", NULL } },
		{ "\\'x\\\"", { "'x\"", NULL } },
		{ "x'y'\"z\"w", { "xyzw", NULL } },
		{ "p \"\" ''", { "p", "", "", NULL } },
		{ "'a\\'", { "a\\", NULL } },
		{ "'$HOME' \"*\" ;", { "$HOME", "*", ";", NULL } },
		{ "sh -c 'echo \"hi\"; exit 3'",
		    { "sh", "-c", "echo \"hi\"; exit 3", NULL } },
	};
	struct config	 cfg;
	size_t		 i;
	char		*text;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_true(asprintf(&text, "[pool p]\ncommand = %s\n",
		    cases[i].command) > 0);
		parse_ok(&cfg, text);
		assert_argv(cfg.pools[0].argv, cases[i].argv);
		config_free(&cfg);
		free(text);
	}
}

static void
test_durations(void **state)
{
	static const struct {
		const char	*s;
		uint64_t	 ms;
	} good[] = {
		{ "250ms", 250 }, { "5s", 5000 }, { "2m", 120000 },
		{ "1h", 3600000 }, { "7", 7000 }, { "0", 0 }, { "1.5s", 1500 },
		{ "0.5m", 30000 }, { "0.001", 1 }, { " 5 s ", 5000 },
		{ "10.000ms", 10 }, { "5.", 5000 },
		{ "18446744073709551615ms", UINT64_MAX },
	};
	static const char *const bad[] = {
		"", "ms", "5x", "-5s", "+5s", "5S", "1.5ms", "0.0001",
		"5ms5", "5 m s", "1e3", "18446744073709551616ms",
		"5124095576030432h", ".", "off", "5 5",
	};
	uint64_t	ms;
	size_t		i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		ms = 12345;
		if (config_parse_duration(good[i].s, &ms) != 0)
			fail_msg("duration \"%s\" rejected", good[i].s);
		assert_true(ms == good[i].ms);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ms = 12345;
		if (config_parse_duration(bad[i], &ms) != -EINVAL)
			fail_msg("duration \"%s\" accepted", bad[i]);
		assert_int_equal(ms, 12345);
	}
}

static void
test_sizes(void **state)
{
	static const struct {
		const char	*s;
		uint64_t	 bytes;
	} good[] = {
		{ "512", 512 }, { "512B", 512 }, { "512K", 512 << 10 },
		{ "1k", 1024 }, { "1KiB", 1024 }, { "1KB", 1024 },
		{ "100M", 100u << 20 }, { "2G", 2ull << 30 },
		{ "1.5G", 3ull << 29 }, { "0.5K", 512 }, { "1T", 1ull << 40 },
		{ "3 mib", 3u << 20 }, { "0", 0 },
		{ "16777215T", 16777215ull << 40 },
	};
	static const char *const bad[] = {
		"", "K", "12Q", "-1K", "1.5", "0.1K", "16777216T",
		"18446744073709551616", "1 2K", "1KK",
	};
	uint64_t	b;
	size_t		i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		b = 7;
		if (config_parse_size(good[i].s, &b) != 0)
			fail_msg("size \"%s\" rejected", good[i].s);
		assert_true(b == good[i].bytes);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		b = 7;
		if (config_parse_size(bad[i], &b) != -EINVAL)
			fail_msg("size \"%s\" accepted", bad[i]);
		assert_int_equal(b, 7);
	}
}

static void
test_units_in_keys(void **state)
{
	struct config	cfg;

	parse_pool(&cfg, "idle_sleep = off\ntask_timeout = OFF\n"
	    "memory_limit = off");
	assert_int_equal(cfg.pools[0].idle_sleep_ms, 0);
	assert_int_equal(cfg.pools[0].task_timeout_ms, 0);
	assert_int_equal(cfg.pools[0].memory_limit, 0);
	config_free(&cfg);

	parse_pool(&cfg, "idle_sleep = 30\nmemory_limit = 2G\n"
	    "stop_timeout = 1m");
	assert_int_equal(cfg.pools[0].idle_sleep_ms, 30000);
	assert_true(cfg.pools[0].memory_limit == 2ull << 30);
	assert_int_equal(cfg.pools[0].stop_timeout_ms, 60000);
	config_free(&cfg);
}

static void
test_booleans(void **state)
{
	static const struct {
		const char	*s;
		bool		 v;
	} words[] = {
		{ "yes", true }, { "no", false }, { "true", true },
		{ "false", false }, { "on", true }, { "off", false },
		{ "1", true }, { "0", false }, { "YES", true },
		{ "Off", false },
	};
	struct config	 cfg;
	char		*extra;
	size_t		 i;

	for (i = 0; i < sizeof words / sizeof words[0]; i++) {
		assert_true(asprintf(&extra, "tree = %s", words[i].s) > 0);
		parse_pool(&cfg, extra);
		assert_true(cfg.pools[0].tree == words[i].v);
		config_free(&cfg);
		free(extra);
	}
}

static void
test_strategies(void **state)
{
	struct config	 cfg;
	char		*extra;
	unsigned	 i;

	for (i = 0; i < BALANCE_NSTRATEGIES; i++) {
		assert_true(asprintf(&extra, "strategy = %s",
		    balance_strategy_name((enum balance_strategy)i)) > 0);
		parse_pool(&cfg, extra);
		assert_int_equal(cfg.pools[0].strategy, i);
		config_free(&cfg);
		free(extra);
	}
}

static void
test_signals(void **state)
{
	static const struct {
		const char	*s;
		int		 sig;
	} sigs[] = {
		{ "TERM", SIGTERM }, { "SIGTERM", SIGTERM }, { "15", SIGTERM },
		{ "term", SIGTERM }, { "INT", SIGINT }, { "HUP", SIGHUP },
		{ "KILL", SIGKILL }, { "9", SIGKILL }, { "USR1", SIGUSR1 },
		{ "SIGUSR2", SIGUSR2 }, { "QUIT", SIGQUIT }, { "2", SIGINT },
	};
	struct config	 cfg;
	char		*extra;
	size_t		 i;

	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		assert_true(asprintf(&extra, "stop_signal = %s",
		    sigs[i].s) > 0);
		parse_pool(&cfg, extra);
		assert_int_equal(cfg.pools[0].stop_signal, sigs[i].sig);
		config_free(&cfg);
		free(extra);
	}
}

static void
test_words(void **state)
{
	struct config	cfg;

	parse_pool(&cfg, "restart = on-failure\nmode = service\n"
	    "min_workers = 0");
	assert_int_equal(cfg.pools[0].restart, POOL_RESTART_ON_FAILURE);
	assert_int_equal(cfg.pools[0].mode, POOL_MODE_SERVICE);
	/* An explicit min_workers is kept. */
	assert_int_equal(cfg.pools[0].min_workers, 0);
	config_free(&cfg);
	parse_pool(&cfg, "restart = never\nmode = worker");
	assert_int_equal(cfg.pools[0].restart, POOL_RESTART_NEVER);
	assert_int_equal(cfg.pools[0].mode, POOL_MODE_WORKER);
	config_free(&cfg);
}

static void
test_backoff(void **state)
{
	struct config	cfg;

	parse_pool(&cfg, "backoff = 250ms");
	assert_int_equal(cfg.pools[0].backoff_initial_ms, 250);
	assert_int_equal(cfg.pools[0].backoff_max_ms, 10000);
	config_free(&cfg);
	/* A single initial delay above the default maximum raises it. */
	parse_pool(&cfg, "backoff = 30s");
	assert_int_equal(cfg.pools[0].backoff_initial_ms, 30000);
	assert_int_equal(cfg.pools[0].backoff_max_ms, 30000);
	config_free(&cfg);
	parse_pool(&cfg, "backoff = 1s,1s");
	assert_int_equal(cfg.pools[0].backoff_initial_ms, 1000);
	assert_int_equal(cfg.pools[0].backoff_max_ms, 1000);
	config_free(&cfg);
}

static void
test_syntax_variants(void **state)
{
	struct config		 cfg;
	static const char *const argv[] = { "x", "y", NULL };

	/* BOM, CRLF, ':' separator, indentation, blank lines, no final \n. */
	parse_ok(&cfg, "\xef\xbb\xbf[pool  a ]\r\n"
	    "  command: x y\r\n"
	    "\r\n"
	    "\tworkers=3\r\n"
	    "   ; indented comment\n"
	    "[ service b]\n"
	    "command = z");
	assert_int_equal(cfg.npools, 2);
	assert_string_equal(cfg.pools[0].name, "a");
	assert_argv(cfg.pools[0].argv, argv);
	assert_int_equal(cfg.pools[0].workers, 3);
	assert_string_equal(cfg.pools[1].name, "b");
	config_free(&cfg);
}

static void
test_long_line(void **state)
{
	struct config	 cfg;
	char		*text, *arg;
	size_t		 n = 16000;

	/* Longer than inih's default 200-byte line: still one value. */
	arg = malloc(n + 1);
	assert_non_null(arg);
	memset(arg, 'a', n);
	arg[n] = '\0';
	assert_true(asprintf(&text, "[pool p]\ncommand = x %s\nworkers = 2\n",
	    arg) > 0);
	parse_ok(&cfg, text);
	assert_string_equal(cfg.pools[0].argv[1], arg);
	assert_int_equal(cfg.pools[0].workers, 2);
	config_free(&cfg);
	free(text);
	free(arg);
}

static void
test_demo_conf(void **state)
{
	const char	*src = getenv("POOLTOP_SOURCE");
	struct config	 cfg;
	char		*path, *out = NULL;
	size_t		 len = 0;
	FILE		*f;
	int		 rc;

	assert_non_null(src);
	assert_true(asprintf(&path, "%s/examples/demo.conf", src) > 0);
	f = open_memstream(&out, &len);
	rc = config_load(&cfg, path, f);
	fclose(f);
	assert_string_equal(out, "");
	assert_int_equal(rc, 0);
	assert_string_equal(cfg.path, path);
	assert_int_equal(cfg.npools, 3);
	assert_string_equal(cfg.pools[0].name, "compute");
	assert_string_equal(cfg.pools[0].argv[0], "pooltop-example-worker");
	assert_int_equal(cfg.pools[0].workers, 4);
	assert_int_equal(cfg.pools[0].parallel_jobs, 2);
	assert_int_equal(cfg.pools[0].nweights, 4);
	assert_true(cfg.pools[0].idle_sleep_ms > 0);
	assert_string_equal(cfg.pools[1].name, "py");
	assert_string_equal(cfg.pools[1].argv[0], "pooltop-example-worker.py");
	assert_int_equal(cfg.pools[1].workers, 2);
	assert_string_equal(cfg.pools[2].name, "heartbeat");
	assert_string_equal(cfg.pools[2].argv[0], "pooltop-example-service");
	assert_int_equal(cfg.pools[2].mode, POOL_MODE_SERVICE);
	config_free(&cfg);
	free(out);
	free(path);
}

/* ---- errors ------------------------------------------------------------ */

#define POOL_KEY_LIST "command, shell, cwd, env.NAME, mode, workers, " \
	"min_workers, parallel_jobs, strategy, weights, seed, queue_cap, " \
	"task_timeout, retry, handshake, idle_sleep, restart, max_restarts, " \
	"restart_window, backoff, stop_signal, stop_timeout, memory_limit, " \
	"tree, log_lines, log_file, log_max, log_keep, watch, watch_ignore, " \
	"watch_delay, reload, locks, log_rate_limit"
#define SERVICE_KEY_LIST "command, shell, cwd, env.NAME, workers, " \
	"restart, max_restarts, restart_window, backoff, " \
	"stop_signal, stop_timeout, memory_limit, tree, log_lines, log_file, " \
	"log_max, log_keep, watch, watch_ignore, watch_delay, reload, locks, " \
	"log_rate_limit"
#define DURATION_EXPECTED "a number and a unit: ms, s, m or h, such as " \
	"250ms or 5s"
#define SIZE_EXPECTED "a number and a unit: K, M or G, such as 512K or 100M"
#define STRATEGIES "polling, weights, random, specify, weights_polling, " \
	"weights_random, minimum_connection, weights_minimum_connection, " \
	"least_load"
#define BOOLS "yes, no, true, false, on, off, 1, 0"

static void
test_error_unknown_key(void **state)
{
	check_errors("[pool web]\ncommand = x\nwrokers = 4\n",
	    "t.conf:3: unknown key \"wrokers\" in [pool web] (expected one "
	    "of " POOL_KEY_LIST "; did you mean \"workers\"?)\n");
	check_pool_error("Workers = 4", "unknown key \"Workers\" in [pool p] "
	    "(expected one of " POOL_KEY_LIST "; did you mean \"workers\"?)");
	check_pool_error("frobnicate = 4", "unknown key \"frobnicate\" in "
	    "[pool p] (expected one of " POOL_KEY_LIST ")");
	check_pool_error("evn.PATH = /bin", "unknown key \"evn.PATH\" in "
	    "[pool p] (expected one of " POOL_KEY_LIST "; did you mean "
	    "\"env.PATH\"?)");
	check_errors("[service s]\ncommand = x\nworker = 2\n",
	    "t.conf:3: unknown key \"worker\" in [service s] (expected one "
	    "of " SERVICE_KEY_LIST "; did you mean \"workers\"?)\n");
	check_errors("[pooltop]\ncolour = no\n[pool p]\ncommand = x\n",
	    "t.conf:2: unknown key \"colour\" in [pooltop] (expected one of "
	    "interval, history, socket, color, confirm; did you mean "
	    "\"color\"?)\n");
	check_pool_error("env = A=1", "key \"env\" needs a variable name "
	    "(expected env.NAME = VALUE)");
	check_pool_error("env.1X = 1", "bad environment variable name \"1X\" "
	    "in env.1X (expected letters, digits and '_', not starting with "
	    "a digit)");
	check_pool_error("env. = 1", "bad environment variable name \"\" "
	    "in env. (expected letters, digits and '_', not starting with "
	    "a digit)");
	check_pool_error("= 4", "missing key before \"=\" (expected KEY = "
	    "VALUE)");
}

static void
test_error_sections(void **state)
{
	check_errors("[pol web]\ncommand = x\n[pool a]\ncommand = y\n",
	    "t.conf:1: unknown section \"[pol web]\" (expected one of "
	    "[pool NAME], [service NAME], [pooltop]; did you mean "
	    "[pool web]?)\n");
	check_errors("[pooltp]\n[pool a]\ncommand = y\n",
	    "t.conf:1: unknown section \"[pooltp]\" (expected one of "
	    "[pool NAME], [service NAME], [pooltop]; did you mean "
	    "[pooltop]?)\n");
	check_errors("[global]\n[pool a]\ncommand = y\n",
	    "t.conf:1: unknown section \"[global]\" (expected one of "
	    "[pool NAME], [service NAME], [pooltop])\n");
	check_errors("[pool]\ncommand = x\n[pool a]\ncommand = y\n",
	    "t.conf:1: section [pool] has no name (expected [pool NAME])\n");
	check_errors("[pool a/b]\ncommand = x\n",
	    "t.conf:1: bad pool name \"a/b\" (expected letters, digits, "
	    "'_', '.' and '-')\n");
	check_errors("[pool a b]\ncommand = x\n",
	    "t.conf:1: bad pool name \"a b\" (expected letters, digits, "
	    "'_', '.' and '-')\n");
	check_errors("[pool web\ncommand = x\n",
	    "t.conf:1: unterminated section header \"[pool web\" (expected "
	    "\"]\")\n");
	check_errors("[pool web] ; pool\ncommand = x\n",
	    "t.conf:1: unexpected text \" ; pool\" after \"]\" (expected "
	    "nothing after a section header)\n");
	check_errors("[pooltop x]\n[pool a]\ncommand = y\n",
	    "t.conf:1: section [pooltop] takes no name (expected [pooltop], "
	    "got a name \"x\")\n");
	check_errors("[pooltop]\n[pool a]\ncommand = y\n[pooltop]\n",
	    "t.conf:4: duplicate section [pooltop] (first on line 1)\n");
	check_errors("workers = 2\n[pool a]\ncommand = y\n",
	    "t.conf:1: key \"workers\" is outside any section (expected a "
	    "[pool NAME], [service NAME] or [pooltop] line above it)\n");
	check_errors("[pool a]\ncommand = y\nworkers 4\n",
	    "t.conf:3: cannot parse \"workers 4\" (expected KEY = VALUE, a "
	    "[section] or a comment)\n");
	check_errors("", "t.conf: no pools (expected at least one "
	    "[pool NAME] or [service NAME] section)\n");
	check_errors("# nothing\n[pooltop]\n", "t.conf: no pools (expected "
	    "at least one [pool NAME] or [service NAME] section)\n");
}

static void
test_error_duplicates(void **state)
{
	check_errors("[pool web]\ncommand = x\nworkers = 2\nworkers = 3\n",
	    "t.conf:4: duplicate key \"workers\" in [pool web] (first set "
	    "on line 3)\n");
	check_errors("[pool web]\ncommand = x\nenv.A = 1\nenv.B = 2\n"
	    "env.A = 3\n",
	    "t.conf:5: duplicate key \"env.A\" in [pool web] (first set "
	    "on line 3)\n");
	check_errors("[pool web]\ncommand = x\n\n[service web]\ncommand = y\n",
	    "t.conf:4: duplicate pool name \"web\" (first defined on line "
	    "1)\n");
	check_errors("[pooltop]\nhistory = 5\nhistory = 6\n[pool a]\n"
	    "command = b\n",
	    "t.conf:3: duplicate key \"history\" in [pooltop] (first set on "
	    "line 2)\n");
	/* A key is per section: the same key in two pools is fine. */
	check_errors("[pool a]\ncommand = x\n[pool b]\ncommand = x\n"
	    "command = y\n",
	    "t.conf:5: duplicate key \"command\" in [pool b] (first set on "
	    "line 4)\n");
}

static void
test_error_validation(void **state)
{
	struct config	 cfg;
	char		 a[115], *text, *expected;

	check_errors("[pool web]\nworkers = 2\n\n",
	    "t.conf:1: [pool web] has no command (expected a \"command = "
	    "PROGRAM ARGS...\" line)\n");
	check_errors("[service s]\nshell = yes\n",
	    "t.conf:1: [service s] has no command (expected a \"command = "
	    "PROGRAM ARGS...\" line)\n");
	check_errors("[pool web]\ncommand = x\nworkers = 4\nmin_workers = 5\n",
	    "t.conf:4: min_workers = 5 is more than workers = 4 (expected "
	    "at most 4)\n");
	/* min_workers before workers: checked once the section is read. */
	check_errors("[pool web]\nmin_workers = 2\ncommand = x\n",
	    "t.conf:2: min_workers = 2 is more than workers = 1 (expected "
	    "at most 1)\n");
	check_errors("[pool web]\ncommand = x\nweights = 1, 2, 3\n"
	    "workers = 2\n",
	    "t.conf:3: weights lists 3 weights for 2 workers (expected at "
	    "most 2)\n");
	check_pool_error("backoff = 10s, 1s", "backoff = \"10s, 1s\" starts "
	    "above its maximum (expected the initial delay first, then a "
	    "maximum at least as long)");
	check_pool_error("backoff = 1s, 2s, 3s", "bad backoff \"1s, 2s, 3s\" "
	    "(expected an initial and a maximum duration, such as \"100ms, "
	    "10s\", or only the initial one)");
	check_pool_error("backoff = 0", "backoff = \"0\" is out of range "
	    "(expected at least 1ms)");
	check_pool_error("backoff = 1s, soon", "bad duration \"soon\" for "
	    "backoff (expected " DURATION_EXPECTED ")");
	check_pool_error("weights = 1,,2", "bad weight \"\" in weights "
	    "(expected whole numbers from 0 to 1000000, separated by "
	    "commas)");
	check_pool_error("weights = 1, heavy", "bad weight \"heavy\" in "
	    "weights (expected whole numbers from 0 to 1000000, separated "
	    "by commas)");
	check_pool_error("cwd =", "empty value for cwd (expected a "
	    "directory)");
	/* 114 a's: too long for sun_path; the message shows 60 bytes. */
	memset(a, 'a', sizeof a - 1);
	a[sizeof a - 1] = '\0';
	assert_true(asprintf(&text, "[pooltop]\nsocket = /tmp/%s\n[pool a]\n"
	    "command = x\n", a) > 0);
	assert_true(asprintf(&expected, "t.conf:2: socket path \"/tmp/%.55s"
	    "...\" is too long (expected at most 107 bytes)\n", a) > 0);
	check_errors(text, expected);
	free(text);
	free(expected);
	/* 102 a's fit. */
	a[102] = '\0';
	assert_true(asprintf(&text, "[pooltop]\nsocket = /tmp/%s\n[pool a]\n"
	    "command = x\n", a) > 0);
	parse_ok(&cfg, text);
	assert_int_equal(strlen(cfg.global.socket), 107);
	config_free(&cfg);
	free(text);
	check_errors("[pooltop]\ninterval = 10ms\n[pool a]\ncommand = x\n",
	    "t.conf:2: interval = \"10ms\" is out of range (expected from "
	    "100ms to 1h)\n");
}

static void
test_error_numbers(void **state)
{
	check_pool_error("workers = 0", "workers = \"0\" is out of range "
	    "(expected a whole number from 1 to 4096)");
	check_pool_error("workers = 4097", "workers = \"4097\" is out of "
	    "range (expected a whole number from 1 to 4096)");
	check_pool_error("workers = -1", "workers = \"-1\" is negative "
	    "(expected a whole number from 1 to 4096)");
	check_pool_error("workers = four", "bad value \"four\" for workers "
	    "(expected a whole number from 1 to 4096)");
	check_pool_error("workers = 4 # four", "bad value \"4 # four\" for "
	    "workers (expected a whole number from 1 to 4096)");
	check_pool_error("workers =", "bad value \"\" for workers "
	    "(expected a whole number from 1 to 4096)");
	check_pool_error("parallel_jobs = 0", "parallel_jobs = \"0\" is out "
	    "of range (expected a whole number from 1 to 65535)");
	check_pool_error("parallel_jobs = 65536", "parallel_jobs = \"65536\" "
	    "is out of range (expected a whole number from 1 to 65535)");
	check_pool_error("seed = 18446744073709551616", "seed = "
	    "\"18446744073709551616\" is out of range (expected a whole "
	    "number from 0 to 18446744073709551615)");
	check_pool_error("retry = 101", "retry = \"101\" is out of range "
	    "(expected a whole number from 0 to 100)");
	check_pool_error("queue_cap = 0", "queue_cap = \"0\" is out of range "
	    "(expected a whole number from 1 to 1000000)");
}

static void
test_error_units(void **state)
{
	check_pool_error("idle_sleep = 5x", "bad duration \"5x\" for "
	    "idle_sleep (expected " DURATION_EXPECTED ", or off)");
	check_pool_error("task_timeout = -5s", "task_timeout = \"-5s\" is "
	    "negative (expected " DURATION_EXPECTED ", or off)");
	check_pool_error("stop_timeout = 99999999999999999999h",
	    "stop_timeout = \"99999999999999999999h\" is too large "
	    "(expected " DURATION_EXPECTED ")");
	check_pool_error("stop_timeout = off", "bad duration \"off\" for "
	    "stop_timeout (expected " DURATION_EXPECTED ")");
	check_pool_error("handshake = 0", "handshake = \"0\" is out of range "
	    "(expected at least 1ms)");
	check_pool_error("memory_limit = 12Q", "bad size \"12Q\" for "
	    "memory_limit (expected " SIZE_EXPECTED ", or off)");
	check_pool_error("memory_limit = -1G", "memory_limit = \"-1G\" is "
	    "negative (expected " SIZE_EXPECTED ", or off)");
	check_pool_error("memory_limit = 17179869184G", "memory_limit = "
	    "\"17179869184G\" is too large (expected " SIZE_EXPECTED
	    ", or off)");
}

static void
test_error_words(void **state)
{
	check_pool_error("strategy = wieghts", "unknown strategy \"wieghts\" "
	    "(expected one of " STRATEGIES "; did you mean \"weights\"?)");
	check_pool_error("strategy = fastest", "unknown strategy \"fastest\" "
	    "(expected one of " STRATEGIES ")");
	check_pool_error("restart = on_failure", "unknown restart policy "
	    "\"on_failure\" (expected one of on-failure, always, never; did "
	    "you mean \"on-failure\"?)");
	check_pool_error("mode = servce", "unknown mode \"servce\" (expected "
	    "one of auto, worker, service; did you mean \"service\"?)");
	check_pool_error("tree = ye", "bad value \"ye\" for tree (expected "
	    "one of " BOOLS "; did you mean \"yes\"?)");
	check_pool_error("shell = maybe", "bad value \"maybe\" for shell "
	    "(expected one of " BOOLS ")");
	check_pool_error("stop_signal = TREM", "unknown stop_signal \"TREM\" "
	    "(expected one of TERM, INT, HUP, KILL, USR1, USR2, QUIT, with or "
	    "without SIG, or its number; did you mean \"TERM\"?)");
	check_pool_error("stop_signal = 11", "unknown stop_signal \"11\" "
	    "(expected one of TERM, INT, HUP, KILL, USR1, USR2, QUIT, with or "
	    "without SIG, or its number)");
	check_errors("[service s]\ncommand = x\nstrategy = polling\n",
	    "t.conf:3: key \"strategy\" does not apply to [service s] "
	    "(services take no tasks)\n");
	/* A service has no task to wake it: idle_sleep makes no sense. */
	check_errors("[service s]\ncommand = x\nidle_sleep = 1m\n",
	    "t.conf:3: key \"idle_sleep\" does not apply to [service s] "
	    "(services take no tasks, and only a task wakes a worker that "
	    "idle_sleep put to sleep)\n");
}

static void
test_error_command(void **state)
{
	/* "command = " is 10 columns: the value starts at column 11. */
	check_errors("[pool web]\ncommand = run \"a b\n",
	    "t.conf:2: unterminated \" quote in command at column 15 "
	    "(expected a closing \")\n");
	check_errors("[pool web]\n  command:'a b\n",
	    "t.conf:2: unterminated ' quote in command at column 11 "
	    "(expected a closing ')\n");
	check_errors("[pool web]\ncommand = run a\\\n",
	    "t.conf:2: lone backslash in command at column 16 (expected a "
	    "character after it)\n");
	check_errors("[pool web]\ncommand =\n",
	    "t.conf:2: command is empty (expected a program and its "
	    "arguments)\n");
	check_errors("[pool web]\ncommand = \"\"\"\n",
	    "t.conf:2: unterminated \" quote in command at column 13 "
	    "(expected a closing \")\n");
	/* With shell = yes the text goes to sh as is: no quote errors. */
	check_errors("[pool web]\ncommand = echo \"a\nshell = yes\n"
	    "workers = 0\n",
	    "t.conf:4: workers = \"0\" is out of range (expected a whole "
	    "number from 1 to 4096)\n");
}

static void
test_error_quoting_in_messages(void **state)
{
	check_pool_error("strategy = a\"b\\c\x1b", "unknown strategy "
	    "\"a\\\"b\\\\c\\x1b\" (expected one of " STRATEGIES ")");
}

static void
test_error_long_line(void **state)
{
	char	*text, *big;
	size_t	 n = 20000;

	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'a', n);
	big[n] = '\0';
	assert_true(asprintf(&text, "[pool p]\ncommand = %s\nworkers = 0\n",
	    big) > 0);
	/* The next line is still read, with its right number. */
	check_errors(text, "t.conf:1: [pool p] has no command (expected a "
	    "\"command = PROGRAM ARGS...\" line)\n"
	    "t.conf:2: line too long (20010 bytes; expected at most 16384)\n"
	    "t.conf:3: workers = \"0\" is out of range (expected a whole "
	    "number from 1 to 4096)\n");
	free(text);
	free(big);
}

static void
test_line_numbers(void **state)
{
	char	*text, *big;
	size_t	 n = 15000;

	/*
	 * Comments, blank lines, CR LF, a BOM, headers, lines inih would
	 * have split at its default 200 bytes: none may shift the count.
	 */
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'b', n);
	big[n] = '\0';
	assert_true(asprintf(&text,
	    "\xef\xbb\xbf# 1\r\n"			/* 1 */
	    "\r\n"					/* 2 */
	    "[pool a]\r\n"				/* 3 */
	    "  ; 4\r\n"				/* 4 */
	    "command = x %s\r\n"			/* 5 */
	    "cwd = /%s\r\n"				/* 6 */
	    "\n\n\n"					/* 7-9 */
	    "tree = maybe\r\n"			/* 10 */
	    "[pooltop]\n"				/* 11 */
	    "history = 0\n"				/* 12 */
	    "\n"					/* 13 */
	    "[pool b]\n"				/* 14 */
	    "command = y\n"				/* 15 */
	    "log_lines = 0",				/* 16, no newline */
	    big, big) > 0);
	check_errors(text,
	    "t.conf:10: bad value \"maybe\" for tree (expected one of "
	    BOOLS ")\n"
	    "t.conf:12: history = \"0\" is out of range (expected a whole "
	    "number from 1 to 100000)\n"
	    "t.conf:16: log_lines = \"0\" is out of range (expected a whole "
	    "number from 1 to 1000000)\n");
	free(text);
	free(big);
}

static void
test_many_errors(void **state)
{
	static const char text[] =
	    "# pools\n"					/* 1 */
	    "[pool web]\n"				/* 2 */
	    "command = run 'x\n"			/* 3 */
	    "wrokers = 4\n"				/* 4 */
	    "\n"					/* 5 */
	    "; comment\n"				/* 6 */
	    "strategy = wieghts\n"			/* 7 */
	    "idle_sleep = 5x\n"				/* 8 */
	    "strategy = polling\n"			/* 9 */
	    "[pool web]\n"				/* 10 */
	    "min_workers = 3\n"				/* 11 */
	    "[sevrice beat]\n"				/* 12 */
	    "whatever = 1\n"				/* 13 */
	    "[service beat]\n"				/* 14 */
	    "command = beat\n"				/* 15 */
	    "memory_limit = 1Q\n";			/* 16 */

	check_errors(text,
	    "t.conf:3: unterminated ' quote in command at column 15 "
	    "(expected a closing ')\n"
	    "t.conf:4: unknown key \"wrokers\" in [pool web] (expected one "
	    "of " POOL_KEY_LIST "; did you mean \"workers\"?)\n"
	    "t.conf:7: unknown strategy \"wieghts\" (expected one of "
	    STRATEGIES "; did you mean \"weights\"?)\n"
	    "t.conf:8: bad duration \"5x\" for idle_sleep (expected "
	    DURATION_EXPECTED ", or off)\n"
	    "t.conf:9: duplicate key \"strategy\" in [pool web] (first set "
	    "on line 7)\n"
	    "t.conf:10: duplicate pool name \"web\" (first defined on line "
	    "2)\n"
	    "t.conf:10: [pool web] has no command (expected a \"command = "
	    "PROGRAM ARGS...\" line)\n"
	    "t.conf:11: min_workers = 3 is more than workers = 1 (expected "
	    "at most 1)\n"
	    "t.conf:12: unknown section \"[sevrice beat]\" (expected one of "
	    "[pool NAME], [service NAME], [pooltop]; did you mean "
	    "[service beat]?)\n"
	    "t.conf:16: bad size \"1Q\" for memory_limit (expected "
	    SIZE_EXPECTED ", or off)\n");
}

/* Writes text to a fresh temporary file; returns its malloc'd path. */
static char *
temp_file(const void *text, size_t len)
{
	char	*path;
	int	 fd;

	path = strdup("/tmp/test-config-XXXXXX");
	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static int
load(struct config *cfg, const char *path, char **out)
{
	size_t	 len = 0;
	FILE	*f;
	int	 rc;

	f = open_memstream(out, &len);
	assert_non_null(f);
	rc = config_load(cfg, path, f);
	fclose(f);
	return rc;
}

static void
test_load(void **state)
{
	static const char good[] = "[pool a]\ncommand = x\n";
	static const char bad[] = "[pool a]\ncommand = x\nworkers = 0\n"
	    "tree = maybe\n";
	static const char nul[] = "[pool a]\ncommand = x\nworkers = 0\n\0\n";
	struct config	 cfg;
	char		*path, *out, *expected;
	int		 rc;

	rc = load(&cfg, "/nonexistent/pools.conf", &out);
	assert_int_equal(rc, -ENOENT);
	assert_string_equal(out, "/nonexistent/pools.conf: cannot open: "
	    "No such file or directory\n");
	assert_int_equal(cfg.npools, 0);
	config_free(&cfg);
	free(out);

	rc = load(&cfg, "/tmp", &out);
	assert_int_equal(rc, -EISDIR);
	assert_string_equal(out, "/tmp: cannot read: Is a directory\n");
	free(out);

	path = temp_file(good, sizeof good - 1);
	rc = load(&cfg, path, &out);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "");
	assert_string_equal(cfg.path, path);
	assert_int_equal(cfg.npools, 1);
	config_free(&cfg);
	free(out);
	unlink(path);
	free(path);

	path = temp_file(bad, sizeof bad - 1);
	rc = load(&cfg, path, &out);
	assert_int_equal(rc, 2);
	assert_true(asprintf(&expected, "%s:3: workers = \"0\" is out of "
	    "range (expected a whole number from 1 to 4096)\n"
	    "%s:4: bad value \"maybe\" for tree (expected one of " BOOLS
	    ")\n", path, path) > 0);
	assert_string_equal(out, expected);
	assert_int_equal(cfg.npools, 0);
	free(expected);
	free(out);
	unlink(path);
	free(path);

	path = temp_file(nul, sizeof nul - 1);
	rc = load(&cfg, path, &out);
	assert_int_equal(rc, 2);
	assert_true(asprintf(&expected, "%s:3: workers = \"0\" is out of "
	    "range (expected a whole number from 1 to 4096)\n"
	    "%s:4: NUL byte (expected text)\n", path, path) > 0);
	assert_string_equal(out, expected);
	assert_int_equal(cfg.npools, 0);
	assert_null(cfg.pools);
	free(expected);
	free(out);
	unlink(path);
	free(path);
}

static void
test_null_err(void **state)
{
	struct config	cfg;

	/* err may be NULL: errors are counted, not printed. */
	assert_int_equal(config_parse(&cfg, "x", "[pool a]\nworkers = 0\n",
	    NULL), 2);
	assert_int_equal(config_parse(&cfg, "x", "[pool a]\ncommand = a\n",
	    NULL), 0);
	config_free(&cfg);
}

/* ---- pool_spec --------------------------------------------------------- */

/* watch, watch_ignore, watch_delay, reload: values, defaults, copies. */
static void
test_watch_keys(void **state)
{
	struct config		 cfg;
	struct pool_spec	 copy;
	const struct pool_spec	*s;

	(void)state;
	parse_pool(&cfg, "");
	s = &cfg.pools[0];
	assert_null(s->watch);
	assert_int_equal(s->nwatch, 0);
	assert_null(s->watch_ignore);
	assert_int_equal(s->nwatch_ignore, 0);
	assert_int_equal(s->watch_delay_ms, 500);
	assert_int_equal(s->reload, POOL_RELOAD_ROLLING);
	config_free(&cfg);

	parse_pool(&cfg, "watch = src ,app.py, lib/a b\n"
	    "watch_ignore = *.pyc, .git,node_modules\nwatch_delay = 2s\n"
	    "reload = Restart");
	s = &cfg.pools[0];
	assert_int_equal(s->nwatch, 3);
	assert_string_equal(s->watch[0], "src");
	assert_string_equal(s->watch[1], "app.py");
	assert_string_equal(s->watch[2], "lib/a b");
	assert_int_equal(s->nwatch_ignore, 3);
	assert_string_equal(s->watch_ignore[0], "*.pyc");
	assert_string_equal(s->watch_ignore[1], ".git");
	assert_string_equal(s->watch_ignore[2], "node_modules");
	assert_int_equal(s->watch_delay_ms, 2000);
	assert_int_equal(s->reload, POOL_RELOAD_RESTART);

	/* Deep copies, released with the spec. */
	assert_int_equal(pool_spec_copy(&copy, s), 0);
	assert_int_equal(copy.nwatch, 3);
	assert_ptr_not_equal(copy.watch, s->watch);
	assert_ptr_not_equal(copy.watch[2], s->watch[2]);
	assert_int_equal(copy.nwatch_ignore, 3);
	assert_ptr_not_equal(copy.watch_ignore[0], s->watch_ignore[0]);
	config_free(&cfg);
	assert_string_equal(copy.watch[2], "lib/a b");
	assert_string_equal(copy.watch_ignore[2], "node_modules");
	pool_spec_release(&copy);
	assert_null(copy.watch);
	assert_int_equal(copy.nwatch, 0);
	assert_null(copy.watch_ignore);
	assert_int_equal(copy.watch_delay_ms, 500);

	/* Services reload too; 0ms means at the next loop turn. */
	parse_ok(&cfg, "[service s]\ncommand = x\nwatch = /etc\n"
	    "watch_delay = 0\nreload = rolling\n");
	s = &cfg.pools[0];
	assert_int_equal(s->nwatch, 1);
	assert_string_equal(s->watch[0], "/etc");
	assert_int_equal(s->watch_delay_ms, 0);
	assert_int_equal(s->reload, POOL_RELOAD_ROLLING);
	config_free(&cfg);
}

static void
test_error_watch_keys(void **state)
{
	(void)state;
	check_pool_error("watch =", "empty value for watch (expected files "
	    "or directories separated by commas, such as \"src, app.py\")");
	check_pool_error("watch = src,, app.py", "an empty path in watch "
	    "(expected files or directories separated by commas, such as "
	    "\"src, app.py\")");
	check_pool_error("watch_ignore = *.pyc,", "an empty pattern in "
	    "watch_ignore (expected patterns separated by commas, such as "
	    "\"*.pyc, .git\")");
	check_pool_error("reload = rollin", "unknown reload \"rollin\" "
	    "(expected one of rolling, restart; did you mean \"rolling\"?)");
	check_pool_error("reload = graceful", "unknown reload \"graceful\" "
	    "(expected one of rolling, restart)");
	check_pool_error("watch_delay = 2h", "watch_delay = \"2h\" is out of "
	    "range (expected from 0ms to 1h)");
	check_pool_error("watch_delay = soon", "bad duration \"soon\" for "
	    "watch_delay (expected " DURATION_EXPECTED ")");
	check_errors("[pool p]\ncommand = x\nwatch = a\nwatch = b\n",
	    "t.conf:4: duplicate key \"watch\" in [pool p] (first set on "
	    "line 3)\n");
}

static void
test_log_keys(void **state)
{
	struct config		 cfg;
	struct pool_spec	 copy;
	const struct pool_spec	*s;

	(void)state;
	parse_pool(&cfg, "");
	s = &cfg.pools[0];
	assert_null(s->log_file);
	assert_int_equal(s->log_max, 10 * 1024 * 1024);
	assert_int_equal(s->log_keep, 5);
	config_free(&cfg);

	parse_pool(&cfg, "log_file = /var/log/p out.log\nlog_max = 1.5M\n"
	    "log_keep = 0");
	s = &cfg.pools[0];
	assert_string_equal(s->log_file, "/var/log/p out.log");
	assert_int_equal(s->log_max, 1536 * 1024);
	assert_int_equal(s->log_keep, 0);
	/* Deep copy, released with the spec. */
	assert_int_equal(pool_spec_copy(&copy, s), 0);
	assert_ptr_not_equal(copy.log_file, s->log_file);
	config_free(&cfg);
	assert_string_equal(copy.log_file, "/var/log/p out.log");
	assert_int_equal(copy.log_max, 1536 * 1024);
	pool_spec_release(&copy);
	assert_null(copy.log_file);
	assert_int_equal(copy.log_max, 10 * 1024 * 1024);

	/* Services too; off never rotates; the bounds. */
	parse_ok(&cfg, "[service s]\ncommand = x\nlog_file = s.log\n"
	    "log_max = off\nlog_keep = 100\n[pool q]\ncommand = y\n"
	    "log_file = q.log\nlog_max = 1K\n");
	assert_string_equal(cfg.pools[0].log_file, "s.log");
	assert_int_equal(cfg.pools[0].log_max, 0);
	assert_int_equal(cfg.pools[0].log_keep, 100);
	assert_string_equal(cfg.pools[1].log_file, "q.log");
	assert_int_equal(cfg.pools[1].log_max, 1024);
	config_free(&cfg);
}

static void
test_error_log_keys(void **state)
{
	(void)state;
	check_pool_error("log_file =", "empty value for log_file (expected "
	    "a file's path)");
	check_pool_error("log_max = 1000\nlog_file = a.log", "log_max = "
	    "\"1000\" is out of range (expected at least 1K, or off)");
	check_pool_error("log_max = big\nlog_file = a.log", "bad size "
	    "\"big\" for log_max (expected " SIZE_EXPECTED ", or off)");
	check_pool_error("log_keep = 101\nlog_file = a.log", "log_keep = "
	    "\"101\" is out of range (expected a whole number from 0 to "
	    "100)");
	check_pool_error("log_max = 20M", "log_max and log_keep rotate a "
	    "log_file, and [pool p] has none (expected log_file = PATH)");
	check_errors("[pool p]\ncommand = x\nlog_keep = 2\n",
	    "t.conf:3: log_max and log_keep rotate a log_file, and [pool p] "
	    "has none (expected log_file = PATH)\n");
	check_errors("[pool p]\ncommand = x\nlog_file = a.log\n"
	    "[service s]\ncommand = y\nlog_file = a.log\n",
	    "t.conf:6: log_file \"a.log\" is already the log file of "
	    "[pool p] (line 3): give [service s] a file of its own\n");
	check_errors("[pool p]\ncommand = x\nlog_file = a\nlog_file = b\n",
	    "t.conf:4: duplicate key \"log_file\" in [pool p] (first set on "
	    "line 3)\n");
}

static void
test_spec_copy(void **state)
{
	struct config		 cfg;
	struct pool_spec	 copy, empty;
	const struct pool_spec	*s;
	size_t			 i;

	parse_ok(&cfg, "[pool p]\ncommand = a 'b c' d\ncwd = /\n"
	    "env.A = 1\nenv.B = 2\nweights = 5, 6\nworkers = 3\n"
	    "seed = 77\n");
	s = &cfg.pools[0];
	assert_int_equal(pool_spec_copy(&copy, s), 0);
	assert_string_equal(copy.name, "p");
	assert_ptr_not_equal(copy.name, s->name);
	assert_ptr_not_equal(copy.argv, s->argv);
	for (i = 0; s->argv[i] != NULL; i++) {
		assert_string_equal(copy.argv[i], s->argv[i]);
		assert_ptr_not_equal(copy.argv[i], s->argv[i]);
	}
	assert_null(copy.argv[i]);
	assert_string_equal(copy.cwd, "/");
	assert_int_equal(copy.nenv, 2);
	assert_string_equal(copy.env[1].name, "B");
	assert_string_equal(copy.env[1].value, "2");
	assert_ptr_not_equal(copy.env, s->env);
	assert_int_equal(copy.nweights, 2);
	assert_int_equal(copy.weights[1], 6);
	assert_ptr_not_equal(copy.weights, s->weights);
	assert_int_equal(copy.workers, 3);
	assert_int_equal(copy.seed, 77);
	config_free(&cfg);
	/* The copy outlives its source. */
	assert_string_equal(copy.argv[1], "b c");
	pool_spec_release(&copy);
	assert_null(copy.name);
	assert_null(copy.argv);
	assert_int_equal(copy.workers, 1);
	pool_spec_release(&copy);	/* released twice is fine */
	pool_spec_release(NULL);

	/* A spec with nothing allocated copies to one with nothing. */
	pool_spec_init(&empty);
	assert_int_equal(pool_spec_copy(&copy, &empty), 0);
	assert_null(copy.name);
	assert_null(copy.argv);
	assert_null(copy.env);
	assert_int_equal(copy.queue_cap, 10000);
	pool_spec_release(&copy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_log_keys),
		cmocka_unit_test(test_error_log_keys),
		cmocka_unit_test(test_every_pool_key),
		cmocka_unit_test(test_global_keys),
		cmocka_unit_test(test_service),
		cmocka_unit_test(test_shell),
		cmocka_unit_test(test_command_quoting),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_units_in_keys),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_strategies),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_syntax_variants),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_demo_conf),
		cmocka_unit_test(test_error_unknown_key),
		cmocka_unit_test(test_error_sections),
		cmocka_unit_test(test_error_duplicates),
		cmocka_unit_test(test_error_validation),
		cmocka_unit_test(test_error_numbers),
		cmocka_unit_test(test_error_units),
		cmocka_unit_test(test_error_words),
		cmocka_unit_test(test_error_command),
		cmocka_unit_test(test_error_quoting_in_messages),
		cmocka_unit_test(test_error_long_line),
		cmocka_unit_test(test_line_numbers),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_null_err),
		cmocka_unit_test(test_spec_copy),
		cmocka_unit_test(test_watch_keys),
		cmocka_unit_test(test_error_watch_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
