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

struct app {
	uv_loop_t		*loop;
	struct config		*cfg;		/* the file given, or the demo's */
	struct engine		*engine;
	struct sampler		*sampler;
	struct ctl_server	*ctl;		/* NULL if not listening */
	bool			 demo;		/* the bundled demo with its load generator */
};

/*
 * Runs the dashboard on app->loop until the user quits (graceful engine
 * stop); returns the exit status for main.
 */
int	ui_run(struct app *);

#endif
