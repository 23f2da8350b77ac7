/*
 * pooltop --headless: the engine without the dashboard, as a console
 * (console.c).  Every line a worker prints goes to stdout as it comes,
 * and every engine event to stderr, stamped with the wall clock and
 * prefixed with the worker it is about, padded so the texts line up, in
 * one colour per worker on a terminal:
 *
 *   12:00:01 web/2   pid 1234 exited with signal 9 (Killed)     (stderr)
 *   12:00:01 web/2   restarting in 100 ms                       (stderr)
 *   12:00:02 web/0   out| hello from a worker                   (stdout)
 *
 * Worker lines are buffered and written once per loop turn (before the
 * loop waits), in whole lines; an event first writes out what waits, so
 * the order holds on a shared terminal.  --quiet leaves worker lines out.
 *
 * SIGINT and SIGTERM stop the engine gracefully (engine_stop); a second
 * one forces it (SIGKILL to every worker).  SIGHUP reads the config file
 * again and applies what changed (reconfig.c).
 */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pooltop/commands.h"
#include "pooltop/ctl.h"
#include "pooltop/logline.h"

#include "cli.h"
#include "console.h"

struct headless {
	struct app	*app;
	bool		 quiet;
	int		 width;		/* of the "pool/slot" column */
	struct console	*con;
	uv_prepare_t	 flush;		/* worker lines out before the loop waits */
	uv_signal_t	 sigint;
	uv_signal_t	 sigterm;
	uv_signal_t	 sighup;		/* reloads the config (reconfig.c) */
	unsigned	 signals;	/* stop requests received */
	bool		 stopped;
	int		 status;
};

static void	headless_event_cb(const struct pool_event *, void *);
static void	headless_signal_cb(uv_signal_t *, int);
static void	headless_hup_cb(uv_signal_t *, int);
static void	headless_stop_cb(struct engine *, void *);

static void
headless_line(struct headless *h, uint64_t time_ms, const char *who,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * One of pooltop's own lines, on stderr in one write (console.c), so
 * lines never interleave mid-line with anything else writing there.
 */
static void
headless_line(struct headless *h, uint64_t time_ms, const char *who,
    const char *fmt, ...)
{
	char		 text[4096];
	va_list		 ap;
	int		 n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof text)
		n = sizeof text - 1;
	console_line(h->con, true, time_ms, who, LOG_POOLTOP, text,
	    (size_t)n);
}

/* Right before the loop waits: the worker lines of this turn go out. */
static void
headless_flush_cb(uv_prepare_t *p)
{
	struct headless	*h = p->data;

	console_flush(h->con);
}

/* "web/2", "web" for the pool itself. */
static const char *
headless_who(const struct pool_event *ev, char *buf, size_t len)
{
	if (ev->slot >= 0)
		snprintf(buf, len, "%s/%d", ev->pool_name, ev->slot);
	else
		snprintf(buf, len, "%s", ev->pool_name);
	return buf;
}

/* " (reason)" when the event carries a text, else "". */
static const char *
headless_reason(const struct pool_event *ev, char *buf, size_t len)
{
	if (ev->text == NULL || ev->text_len == 0)
		return "";
	snprintf(buf, len, " (%.*s)", (int)(ev->text_len > 1000 ? 1000 :
	    ev->text_len), ev->text);
	return buf;
}

static void
headless_event_cb(const struct pool_event *ev, void *arg)
{
	struct headless	*h = arg;
	char		 who[300], why[1100], sname[32];
	const char	*name;
	double		 ms = (double)ev->latency_us / 1000;
	int		 tlen = (int)(ev->text_len > 4000 ? 4000 : ev->text_len);

	headless_who(ev, who, sizeof who);
	switch (ev->type) {
	case POOL_EV_SPAWNED:
		headless_line(h, ev->time_ms, who, "pid %ld started",
		    (long)ev->pid);
		break;
	case POOL_EV_READY:
		headless_line(h, ev->time_ms, who, "pid %ld ready%s",
		    (long)ev->pid, headless_reason(ev, why, sizeof why));
		break;
	case POOL_EV_EXITED:
		/* The engine's text says it all ("exited with signal 9 ..."). */
		if (ev->text != NULL && ev->text_len > 0) {
			headless_line(h, ev->time_ms, who, "pid %ld %.*s",
			    (long)ev->pid, tlen, ev->text);
			break;
		}
		if (ev->term_signal != 0) {
			name = cmd_signal_name(ev->term_signal);
			if (name != NULL)
				snprintf(sname, sizeof sname, "SIG%s", name);
			else
				snprintf(sname, sizeof sname, "%d",
				    ev->term_signal);
			headless_line(h, ev->time_ms, who, "pid %ld exited "
			    "with signal %d (%s)", (long)ev->pid,
			    ev->term_signal, sname);
		} else
			headless_line(h, ev->time_ms, who, "pid %ld exited "
			    "with status %d", (long)ev->pid, ev->exit_status);
		break;
	case POOL_EV_RESTARTING:
		headless_line(h, ev->time_ms, who, "restarting in %llu ms",
		    (unsigned long long)ev->delay_ms);
		break;
	case POOL_EV_FAILED:
		headless_line(h, ev->time_ms, who, "failed: %.*s", tlen,
		    ev->text != NULL ? ev->text : "");
		break;
	case POOL_EV_STATE:
		if (ev->pid > 0)
			headless_line(h, ev->time_ms, who, "pid %ld is %s%s",
			    (long)ev->pid, worker_state_name(ev->state),
			    headless_reason(ev, why, sizeof why));
		else
			headless_line(h, ev->time_ms, who, "is %s%s",
			    worker_state_name(ev->state),
			    headless_reason(ev, why, sizeof why));
		break;
	case POOL_EV_TASK_STARTED:
		/* Told with its end: one line per task. */
		break;
	case POOL_EV_TASK_FINISHED:
		if (ev->ok) {
			if (!h->quiet)
				headless_line(h, ev->time_ms, who, "task %llu "
				    "%s ok in %.1f ms (%zu bytes)",
				    (unsigned long long)ev->task_id,
				    ev->task_name != NULL ? ev->task_name : "?",
				    ms, ev->result_len);
		} else
			headless_line(h, ev->time_ms, who, "task %llu %s "
			    "failed in %.1f ms: %.*s",
			    (unsigned long long)ev->task_id,
			    ev->task_name != NULL ? ev->task_name : "?", ms,
			    (int)(ev->result_len > 1000 ? 1000 :
			    ev->result_len), ev->result != NULL ?
			    (const char *)ev->result : "");
		break;
	case POOL_EV_LOG:
		if (h->quiet)
			break;
		console_line(h->con, false, ev->time_ms, who, ev->stream,
		    ev->text, ev->text != NULL ? ev->text_len : 0);
		break;
	case POOL_EV_NOTICE:
		headless_line(h, ev->time_ms, who, "%.*s", tlen,
		    ev->text != NULL ? ev->text : "");
		break;
	}
}

static void
headless_stop_cb(struct engine *e, void *arg)
{
	struct headless	*h = arg;

	h->stopped = true;
	headless_line(h, 0, "pooltop", "stopped");
	uv_close((uv_handle_t *)&h->sigint, NULL);
	uv_close((uv_handle_t *)&h->sigterm, NULL);
	uv_close((uv_handle_t *)&h->sighup, NULL);
	uv_close((uv_handle_t *)&h->flush, NULL);
	uv_stop(engine_loop(e));
}

/* A line of a reload's report. */
static void
headless_report(void *arg, bool error, const char *text)
{
	headless_line(arg, 0, "pooltop", "%s%s", error ? "error: " : "",
	    text);
}

/* SIGHUP: the config file again; a file with errors changes nothing. */
static void
headless_hup_cb(uv_signal_t *s, int signum)
{
	struct headless	*h = s->data;

	(void)signum;
	if (h->stopped || h->signals != 0 || h->app->reload == NULL)
		return;		/* stopping: nothing to reload */
	headless_line(h, 0, "pooltop", "SIGHUP: reloading %s",
	    h->app->cfg != NULL && h->app->cfg->path != NULL ?
	    h->app->cfg->path : "the config");
	h->app->reload(h->app, headless_report, h);
}

static void
headless_signal_cb(uv_signal_t *s, int signum)
{
	struct headless	*h = s->data;

	if (h->stopped)
		return;
	if (h->signals++ == 0) {
		headless_line(h, 0, "pooltop", "SIG%s: stopping (send it "
		    "again to force)", cmd_signal_name(signum));
		engine_stop(h->app->engine, headless_stop_cb, h);
	} else {
		/* The second request does not wait for stop_timeout. */
		headless_line(h, 0, "pooltop", "SIG%s again: forcing the stop "
		    "(SIGKILL to every worker)", cmd_signal_name(signum));
		engine_stop(h->app->engine, NULL, NULL);
	}
}

int
headless_run(struct app *app, const struct headless_options *opts)
{
	struct headless		 h;
	struct console_options	 copts;
	struct pool		*pools[256];
	char			 who[LOGLINE_WHO_MAX];
	size_t			 np, i;
	unsigned		 slot;
	int			 w, rc;
	bool			 color = app->cfg == NULL || app->cfg->global.color;

	memset(&h, 0, sizeof h);
	h.app = app;
	h.quiet = opts->quiet;
	h.width = 7;	/* "pooltop" */
	np = engine_pools(app->engine, pools, 256);
	if (np > 256)
		np = 256;
	for (i = 0; i < np; i++) {
		w = logline_pool_width(pool_name(pools[i]),
		    pool_get_spec(pools[i])->workers);
		if (w > h.width && w <= LOGLINE_WIDTH_MAX)
			h.width = w;
	}
	memset(&copts, 0, sizeof copts);
	copts.out_fd = STDOUT_FILENO;
	copts.err_fd = STDERR_FILENO;
	copts.color_out = console_want_color(STDOUT_FILENO, color);
	copts.color_err = console_want_color(STDERR_FILENO, color);
	copts.width = h.width;
	if ((rc = console_new(&h.con, &copts)) != 0) {
		fprintf(stderr, "pooltop: cannot start: %s\n", uv_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	/* Colours in pool and slot order, as the config lists them. */
	for (i = 0; i < np; i++) {
		for (slot = 0; slot < pool_get_spec(pools[i])->workers &&
		    slot < 4096; slot++) {
			logline_who(who, sizeof who, pool_name(pools[i]),
			    (int)slot);
			console_add(h.con, who);
		}
	}

	uv_signal_init(app->loop, &h.sigint);
	uv_signal_init(app->loop, &h.sigterm);
	uv_signal_init(app->loop, &h.sighup);
	uv_prepare_init(app->loop, &h.flush);
	h.sigint.data = &h;
	h.sigterm.data = &h;
	h.sighup.data = &h;
	h.flush.data = &h;
	rc = engine_listen(app->engine, headless_event_cb, &h);
	if (rc != 0) {
		fprintf(stderr, "pooltop: cannot start: %s\n", uv_strerror(rc));
		uv_close((uv_handle_t *)&h.sigint, NULL);
		uv_close((uv_handle_t *)&h.sigterm, NULL);
		uv_close((uv_handle_t *)&h.sighup, NULL);
		uv_close((uv_handle_t *)&h.flush, NULL);
		uv_run(app->loop, UV_RUN_NOWAIT);
		console_free(h.con);
		return CLI_EXIT_FAIL;
	}
	uv_signal_start(&h.sigint, headless_signal_cb, SIGINT);
	uv_signal_start(&h.sigterm, headless_signal_cb, SIGTERM);
	uv_signal_start(&h.sighup, headless_hup_cb, SIGHUP);
	uv_prepare_start(&h.flush, headless_flush_cb);
	uv_unref((uv_handle_t *)&h.flush);

	headless_line(&h, 0, "pooltop", "pid %ld: %zu pool%s from %s%s; "
	    "control socket %s", (long)getpid(), np, np == 1 ? "" : "s",
	    app->cfg->path != NULL ? app->cfg->path : "?",
	    app->demo ? " (the demo, with its load generator)" : "",
	    opts->socket != NULL ? opts->socket : "(none)");

	/* Runs until headless_stop_cb stops the loop. */
	while (!h.stopped)
		uv_run(app->loop, UV_RUN_DEFAULT);
	engine_unlisten(app->engine, headless_event_cb, &h);
	/* Let the handles' close callbacks run. */
	uv_run(app->loop, UV_RUN_NOWAIT);
	console_free(h.con);
	return h.status;
}
