/*
 * pooltop: the command line.  Builds the app (config, sampler, engine,
 * control socket) for the dashboard or the headless runner, and runs the
 * one-shot commands: check, send, ctl.
 */

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooltop/config.h"
#include "pooltop/ctl.h"
#include "pooltop/pool.h"
#include "pooltop/sampler.h"

#include "app.h"
#include "cli.h"

#ifndef POOLTOP_VERSION
#define POOLTOP_VERSION "unknown"
#endif
/* Set by ui/meson.build: where the demo lives, built and installed. */
#ifndef POOLTOP_EXE_BUILD_DIR
#define POOLTOP_EXE_BUILD_DIR ""
#endif
#ifndef POOLTOP_DEMO_CONF_SOURCE
#define POOLTOP_DEMO_CONF_SOURCE ""
#endif
#ifndef POOLTOP_WORKERS_BUILD
#define POOLTOP_WORKERS_BUILD ""
#endif
#ifndef POOLTOP_DEMO_CONF
#define POOLTOP_DEMO_CONF "/usr/local/share/pooltop/demo.conf"
#endif
#ifndef POOLTOP_WORKERS_DIR
#define POOLTOP_WORKERS_DIR "/usr/local/libexec/pooltop"
#endif

/* Descriptors pooltop needs besides its workers' (loop, socket, clients). */
#define MAIN_BASE_FDS	64

static const char usage_text[] =
"usage: pooltop [-c FILE] [-s SOCKET]\n"
"       pooltop --headless [-c FILE] [-s SOCKET] [--quiet]\n"
"       pooltop check -c FILE\n"
"       pooltop send [-s SOCKET] [--key K] [--timeout D] POOL TASK [PAYLOAD | -]\n"
"       pooltop ctl [-s SOCKET] list [--json]\n"
"       pooltop ctl [-s SOCKET] kill [-SIGNAL] TARGET\n"
"       pooltop ctl [-s SOCKET] sleep|wake|restart TARGET\n"
"       pooltop ctl [-s SOCKET] scale POOL N\n"
"       pooltop ctl [-s SOCKET] strategy POOL NAME\n"
"       pooltop ctl [-s SOCKET] reload POOL\n"
"       pooltop ctl [-s SOCKET] logs [-f] [-n N] [POOL | POOL/N | PID]\n"
"       pooltop ctl [-s SOCKET] ping\n"
"       pooltop --help | --version\n";

static const char help_text[] =
"\n"
"Runs pools of worker processes from a config file and shows them in a\n"
"terminal dashboard; with no -c, runs the bundled demo under synthetic load.\n"
"\n"
"Options:\n"
"  -c, --config FILE   the pools to run (see pooltop.conf(5))\n"
"  -s, --socket SOCKET the control socket (default $XDG_RUNTIME_DIR/pooltop.sock,\n"
"                      or /tmp/pooltop-UID/pooltop.sock)\n"
"      --headless      no dashboard: the workers' output goes to stdout and\n"
"                      engine events to stderr, as prefixed lines; SIGINT or\n"
"                      SIGTERM stops, a second one forces\n"
"      --quiet         with --headless: no worker output, no lines for tasks\n"
"                      that succeeded\n"
"  -h, --help          this help\n"
"  -V, --version       the version\n"
"\n"
"Commands:\n"
"  check -c FILE       validate a config, each pool's cwd and command on this\n"
"                      machine included: every error, or \"FILE: ok (N pools)\"\n"
"  send POOL TASK      send a task to a running pooltop; PAYLOAD is the\n"
"                      argument, or stdin with -; the result goes to stdout\n"
"      -k, --key K     sticky key: tasks with the same key go to the same worker\n"
"      -t, --timeout D fail the task after D (500ms, 5s, 2m)\n"
"  ctl list [--json]   every worker: pool, slot, pid, state, CPU%, RSS, tasks\n"
"                      done, in flight, errors, restarts\n"
"  ctl kill [-SIGNAL] TARGET   send a signal (default TERM)\n"
"  ctl sleep TARGET    stop a worker (SIGSTOP); ctl wake TARGET continues it\n"
"  ctl restart TARGET  restart a worker gracefully\n"
"  ctl scale POOL N    set the pool's number of workers\n"
"  ctl strategy POOL NAME   set the pool's balancing strategy\n"
"  ctl reload POOL     replace the pool's workers with new processes (as the\n"
"                      pool's reload says: rolling or restart) and wait for\n"
"                      the outcome; exit status 1 if the reload stopped\n"
"  ctl logs [-f] [-n N] [TARGET]   the last N (default 20) lines of each\n"
"                      worker's output, merged in time order; -f follows\n"
"                      new lines; TARGET may also be a whole POOL\n"
"  ctl ping            check that pooltop answers\n"
"TARGET is POOL/N (a pool and a slot) or the pid of a worker.\n"
"\n"
"Exit status: 0 success; 1 a task, command or start-up failed; 2 a usage or\n"
"config error; 3 cannot connect to the control socket.\n";

struct cli {
	const char	*config;
	const char	*socket;
	bool		 headless;
	bool		 quiet;
};

/* Everything a run of the engine holds, for an orderly teardown. */
struct run {
	struct app	 app;
	struct config	 cfg;
	bool		 cfg_loaded;
	struct loadgen	*lg;
	bool		 pools_added;
	bool		 stopped;
	char		 socket[PATH_MAX];
};

static int
main_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports a usage error (what was expected) and returns exit status 2. */
static int
main_usage(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "pooltop: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_text);
	return CLI_EXIT_USAGE;
}

/* True when this binary is the one in the build tree (not installed). */
static bool
main_in_build_tree(void)
{
	char	exe[PATH_MAX], root[PATH_MAX];
	ssize_t	n;

	if (POOLTOP_EXE_BUILD_DIR[0] == '\0')
		return false;
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	if (realpath(POOLTOP_EXE_BUILD_DIR, root) == NULL)
		return false;
	return strcmp(dirname(exe), root) == 0;
}

/* Puts dir first in PATH, so the demo config can name workers bare. */
static int
main_prepend_path(const char *dir)
{
	const char	*old = getenv("PATH");
	char		*path;
	int		 rc;

	if (asprintf(&path, "%s:%s", dir, old != NULL && *old != '\0' ? old :
	    "/usr/local/bin:/usr/bin:/bin") < 0)
		return -ENOMEM;
	rc = setenv("PATH", path, 1) == 0 ? 0 : -errno;
	free(path);
	return rc;
}

static int
cmd_check(int argc, char **argv, const char *config)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct config	cfg;
	int		ch, rc;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+:c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case ':':
			return main_usage("check: option %s needs a value "
			    "(FILE)", cli_optname(argv));
		default:
			return main_usage("check: unknown option %s "
			    "(expected -c FILE)", cli_optname(argv));
		}
	}
	if (optind < argc)
		return main_usage("check: unexpected argument \"%s\" (expected "
		    "-c FILE)", argv[optind]);
	if (config == NULL)
		return main_usage("check: expected -c FILE (the config to "
		    "check)");
	memset(&cfg, 0, sizeof cfg);
	rc = config_load(&cfg, config, stderr);
	if (rc != 0) {
		if (rc > 0)
			config_free(&cfg);
		return CLI_EXIT_USAGE;
	}
	/* What the engine would refuse at start: cwd and command here. */
	if (config_check_paths(&cfg, stderr) != 0) {
		config_free(&cfg);
		return CLI_EXIT_USAGE;
	}
	printf("%s: ok (%zu pool%s)\n", config, cfg.npools,
	    cfg.npools == 1 ? "" : "s");
	config_free(&cfg);
	return CLI_EXIT_OK;
}

/*
 * Checks that the open-files limit (raised to the hard limit first) can
 * hold every configured worker.
 */
static int
main_check_nofile(const struct config *cfg)
{
	unsigned long	workers = 0, need;
	long		limit;
	size_t		i;

	limit = engine_raise_nofile();
	if (limit < 0) {
		fprintf(stderr, "pooltop: cannot read the open-files limit: "
		    "%s\n", strerror((int)-limit));
		return -1;
	}
	for (i = 0; i < cfg->npools; i++)
		workers += cfg->pools[i].workers;
	need = workers * engine_fds_per_worker() + MAIN_BASE_FDS;
	if (need > (unsigned long)limit) {
		fprintf(stderr, "pooltop: the open-files limit (%ld) is too "
		    "small for %lu workers: they need about %lu descriptors "
		    "(%u each, plus %d); raise the hard limit (ulimit -Hn, or "
		    "LimitNOFILE= for a service) or configure fewer workers\n",
		    limit, workers, need, engine_fds_per_worker(),
		    MAIN_BASE_FDS);
		return -1;
	}
	return 0;
}

/* True once engine_stop() was called (every pool is stopping). */
static bool
main_engine_stopping(struct engine *e)
{
	struct pool		*pool;
	struct pool_info	 info;

	if (engine_pools(e, &pool, 1) == 0)
		return true;
	pool_get_info(pool, &info);
	return info.stopping;
}

/*
 * app->reload: the config file again (reconfig.c).  The demo's load
 * generator holds pool pointers, so it starts anew when pools changed.
 */
static int
main_reload(struct app *app, app_report_fn report, void *arg)
{
	struct run	*r = (struct run *)(void *)((char *)app -
			    offsetof(struct run, app));
	int		 n;

	n = reconfig_run(app, &r->cfg, report, arg);
	if (n > 0 && r->lg != NULL) {
		loadgen_free(r->lg);
		r->lg = NULL;
		if (loadgen_new(&r->lg, app->loop, app->engine) != 0)
			report(arg, true, "cannot restart the demo's load "
			    "generator");
	}
	return n;
}

static void
main_stop_cb(struct engine *e, void *arg)
{
	struct run	*r = arg;

	(void)e;
	r->stopped = true;
}

/* Tears down what run_start built, in the order the handles need. */
static void
run_finish(struct run *r)
{
	struct app	*app = &r->app;

	loadgen_free(r->lg);
	r->lg = NULL;
	ctl_server_free(app->ctl);
	app->ctl = NULL;
	if (app->engine != NULL && r->pools_added && !r->stopped) {
		engine_stop(app->engine, main_stop_cb, r);
		while (!r->stopped)
			uv_run(app->loop, UV_RUN_ONCE);
	}
	/* The engine first: it unregisters its pids from the sampler. */
	engine_free(app->engine);
	app->engine = NULL;
	if (app->sampler != NULL)
		sampler_free(app->sampler);
	app->sampler = NULL;
	/* Let every close callback run before the loop goes. */
	uv_run(app->loop, UV_RUN_DEFAULT);
	if (r->cfg_loaded)
		config_free(&r->cfg);
	uv_loop_close(app->loop);
}

/*
 * Builds the app: config (the demo's when none is given), the open-files
 * check, sampler, engine, control socket, then the pools.  Returns an
 * exit status (0: running).
 */
static int
run_start(struct run *r, const struct cli *cli)
{
	struct app			*app = &r->app;
	struct sampler_options		 sopts;
	struct engine_options		 eopts;
	const char			*conf = cli->config, *workers;
	char				 err[1024];
	size_t				 i;
	int				 rc;

	app->loop = uv_default_loop();
	app->cfg = &r->cfg;
	app->reload = main_reload;
	if (conf == NULL) {
		bool build = main_in_build_tree();

		app->demo = true;
		conf = build ? POOLTOP_DEMO_CONF_SOURCE : POOLTOP_DEMO_CONF;
		workers = build ? POOLTOP_WORKERS_BUILD : POOLTOP_WORKERS_DIR;
		if (access(conf, R_OK) != 0) {
			fprintf(stderr, "pooltop: cannot read the demo config "
			    "%s: %s (give a config with -c FILE)\n", conf,
			    strerror(errno));
			return CLI_EXIT_FAIL;
		}
		if (main_prepend_path(workers) != 0) {
			fprintf(stderr, "pooltop: cannot set PATH: %s\n",
			    strerror(errno));
			return CLI_EXIT_FAIL;
		}
	}
	rc = config_load(&r->cfg, conf, stderr);
	if (rc != 0) {
		if (rc > 0)
			config_free(&r->cfg);
		return CLI_EXIT_USAGE;
	}
	r->cfg_loaded = true;
	/* As pooltop check: a bad cwd or command is FILE:LINE, status 2. */
	if (config_check_paths(&r->cfg, stderr) != 0)
		return CLI_EXIT_USAGE;
	if (main_check_nofile(&r->cfg) != 0)
		return CLI_EXIT_FAIL;

	memset(&sopts, 0, sizeof sopts);
	sopts.interval_ms = r->cfg.global.sample_interval_ms;
	sopts.history = r->cfg.global.history;
	rc = sampler_new(&app->sampler, app->loop, &sopts);
	if (rc != 0) {
		fprintf(stderr, "pooltop: cannot start the sampler: %s\n",
		    uv_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	memset(&eopts, 0, sizeof eopts);
	eopts.sampler = app->sampler;
	rc = engine_new(&app->engine, app->loop, &eopts);
	if (rc != 0) {
		fprintf(stderr, "pooltop: cannot start the engine: %s\n",
		    uv_strerror(rc));
		return CLI_EXIT_FAIL;
	}

	/* The socket before the workers: a second pooltop stops here. */
	rc = ctl_socket_path(cli->socket != NULL ? cli->socket :
	    r->cfg.global.socket, true, r->socket, sizeof r->socket, err,
	    sizeof err);
	if (rc == 0)
		rc = ctl_server_new(&app->ctl, app->loop, app->engine,
		    r->socket, err, sizeof err);
	if (rc != 0) {
		fprintf(stderr, "pooltop: %s\n", err);
		return CLI_EXIT_FAIL;
	}

	for (i = 0; i < r->cfg.npools; i++) {
		rc = engine_add_pool(app->engine, &r->cfg.pools[i], NULL);
		if (rc != 0) {
			const char *why = engine_error(app->engine);

			if (why != NULL && *why != '\0')
				fprintf(stderr, "pooltop: %s: %s\n",
				    r->cfg.path != NULL ? r->cfg.path : conf,
				    why);
			else
				fprintf(stderr, "pooltop: %s: cannot start "
				    "pool %s: %s\n", r->cfg.path != NULL ?
				    r->cfg.path : conf, r->cfg.pools[i].name,
				    uv_strerror(rc));
			return CLI_EXIT_FAIL;
		}
		r->pools_added = true;
	}
	sampler_add(app->sampler, getpid(), false);
	rc = sampler_start(app->sampler);
	if (rc != 0) {
		fprintf(stderr, "pooltop: cannot start the sampler: %s\n",
		    uv_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	if (app->demo) {
		rc = loadgen_new(&r->lg, app->loop, app->engine);
		if (rc != 0) {
			fprintf(stderr, "pooltop: cannot start the demo's load "
			    "generator: %s\n", uv_strerror(rc));
			return CLI_EXIT_FAIL;
		}
	}
	return CLI_EXIT_OK;
}

/* The dashboard or the headless runner on a freshly built app. */
static int
main_run(const struct cli *cli)
{
	struct headless_options	 hopts;
	struct run		*r;
	int			 status;

	if (!cli->headless && (!isatty(STDIN_FILENO) ||
	    !isatty(STDOUT_FILENO))) {
		fprintf(stderr, "pooltop: the dashboard needs a terminal on "
		    "stdin and stdout (use --headless to run without one)\n");
		return CLI_EXIT_FAIL;
	}
	r = calloc(1, sizeof *r);
	if (r == NULL) {
		fprintf(stderr, "pooltop: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	status = run_start(r, cli);
	if (status == CLI_EXIT_OK) {
		if (cli->headless) {
			memset(&hopts, 0, sizeof hopts);
			hopts.quiet = cli->quiet;
			hopts.socket = r->socket;
			status = headless_run(&r->app, &hopts);
		} else
			status = ui_run(&r->app);
		/*
		 * Both return after a complete engine stop, unless they
		 * failed to start; then run_finish stops the engine.
		 */
		r->stopped = main_engine_stopping(r->app.engine);
	}
	run_finish(r);
	free(r);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "headless", no_argument, NULL, 'H' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli	 cli;
	const char	*cmd;
	int		 ch;

	/* Writes to a client or worker that went away are errors, not death. */
	signal(SIGPIPE, SIG_IGN);

	memset(&cli, 0, sizeof cli);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:c:s:hV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			cli.config = optarg;
			break;
		case 's':
			cli.socket = optarg;
			break;
		case 'H':
			cli.headless = true;
			break;
		case 'q':
			cli.quiet = true;
			break;
		case 'h':
			printf("%s%s", usage_text, help_text);
			return CLI_EXIT_OK;
		case 'V':
			printf("pooltop %s\n", POOLTOP_VERSION);
			return CLI_EXIT_OK;
		case ':':
			return main_usage("option %s needs a value",
			    cli_optname(argv));
		default:
			return main_usage("unknown option %s",
			    cli_optname(argv));
		}
	}
	if (optind < argc) {
		cmd = argv[optind];
		argc -= optind;
		argv += optind;
		if (cli.headless || cli.quiet)
			return main_usage("%s: --headless and --quiet are for "
			    "running pools, not for %s", cmd, cmd);
		if (strcmp(cmd, "check") == 0)
			return cmd_check(argc, argv, cli.config);
		if (cli.config != NULL)
			return main_usage("%s: -c is not an option of %s "
			    "(give -s SOCKET to reach a pooltop that uses "
			    "another socket)", cmd, cmd);
		if (strcmp(cmd, "send") == 0)
			return client_send(argc, argv, cli.socket);
		if (strcmp(cmd, "ctl") == 0)
			return client_ctl(argc, argv, cli.socket);
		return main_usage("unknown command \"%s\" (expected check, "
		    "send or ctl; or options only, to run pools)", cmd);
	}
	if (cli.quiet && !cli.headless)
		return main_usage("--quiet goes with --headless (the dashboard "
		    "shows everything)");
	return main_run(&cli);
}
