/*
 * The pooltop program: what main() builds and hands to the dashboard,
 * the headless runner and the control socket server.
 */
#ifndef POOLTOP_APP_H
#define POOLTOP_APP_H

#include <stdbool.h>
#include <uv.h>

#include "pooltop/config.h"
#include "pooltop/pool.h"
#include "pooltop/sampler.h"

struct ctl_server;

/* A line of a reload's report: what changed, or an error. */
typedef void (*app_report_fn)(void *arg, bool error, const char *text);

struct app {
	uv_loop_t		*loop;
	struct config		*cfg;		/* the file given, or the demo's */
	struct engine		*engine;
	struct sampler		*sampler;
	struct ctl_server	*ctl;		/* NULL if not listening */
	bool			 demo;		/* the bundled demo with its load generator */
	/*
	 * Reads the config file again and applies what changed (SIGHUP):
	 * returns the number of pools added, removed or changed, or -1
	 * when the file has errors (each reported; the running config
	 * stays).  Set by main.c; NULL: reloading is not available.
	 */
	int			(*reload)(struct app *, app_report_fn, void *arg);
};

/*
 * Runs the dashboard on app->loop until the user quits (graceful engine
 * stop); returns the exit status for main.
 */
int	ui_run(struct app *);

#endif
