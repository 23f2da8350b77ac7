/*
 * The pooltop program's command-line side (private to ui/): the headless
 * runner, the demo's load generator and the control-socket clients
 * (`pooltop send`, `pooltop ctl`).
 */
#ifndef POOLTOP_CLI_H
#define POOLTOP_CLI_H

#include <stdbool.h>
#include <uv.h>

#include "app.h"

/* Exit statuses, as pooltop(1) documents them. */
#define CLI_EXIT_OK		0	/* done; send: the task's result */
#define CLI_EXIT_FAIL		1	/* a task or command failed, or start-up did */
#define CLI_EXIT_USAGE		2	/* bad command line or bad config */
#define CLI_EXIT_NOCONNECT	3	/* no pooltop on the control socket */

/* ---- headless.c ---------------------------------------------------------- */

struct headless_options {
	bool		 quiet;		/* only pooltop's own events */
	const char	*socket;	/* control socket path, for the banner */
};

/*
 * Runs the engine without the dashboard until SIGINT or SIGTERM (a second
 * one forces), printing every engine event as a line on stderr.  Returns
 * the exit status.
 */
int	headless_run(struct app *, const struct headless_options *);

/* ---- reconfig.c ---------------------------------------------------------- */

/*
 * Reloads running->path and applies the differences to app->engine (see
 * reconfig.c); on success the new config replaces *running.  Returns as
 * app->reload does.
 */
int	reconfig_run(struct app *, struct config *running, app_report_fn,
	    void *arg);

/* ---- loadgen.c ------------------------------------------------------------- */

struct loadgen;

/*
 * Starts sending tasks to the engine's worker pools at a rate and cost
 * that vary over time (the demo).  Its timer does not keep the loop alive.
 */
int	loadgen_new(struct loadgen **out, uv_loop_t *, struct engine *);
/* Sends no more tasks (those in flight still end). */
void	loadgen_stop(struct loadgen *);
/* Stops, and frees once the timer is closed and every task ended.  NULL ok. */
void	loadgen_free(struct loadgen *);
/* Tasks sent and not yet answered. */
unsigned loadgen_outstanding(const struct loadgen *);

/* ---- client.c --------------------------------------------------------------- */

/*
 * `pooltop send` and `pooltop ctl`: argv starts at the command's name;
 * socket is a path given before it (-s), or NULL.  Return exit statuses.
 */
int	client_send(int argc, char **argv, const char *socket);
int	client_ctl(int argc, char **argv, const char *socket);
/* The option getopt just refused, as typed ("-x", "--frob"). */
const char *cli_optname(char **argv);

#endif
