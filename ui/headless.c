/*
 * pooltop --headless: the engine without the dashboard.  Every engine
 * event becomes one line on stderr, stamped with the wall clock and
 * prefixed with the worker it is about, padded so the text lines up:
 *
 *   12:00:01 web/2   pid 1234 exited with signal 9 (Killed)
 *   12:00:01 web/2   restarting in 100 ms
 *   12:00:02 web/0   out| hello from a worker
 *
 * SIGINT and SIGTERM stop the engine gracefully (engine_stop); a second
 * one forces it (SIGKILL to every worker).
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

#include "cli.h"

struct headless {
	struct app	*app;
	bool		 quiet;
	int		 width;		/* of the "pool/slot" column */
	uv_signal_t	 sigint;
	uv_signal_t	 sigterm;
	unsigned	 signals;	/* stop requests received */
	bool		 stopped;
	int		 status;
};

static void	headless_event_cb(const struct pool_event *, void *);
static void	headless_signal_cb(uv_signal_t *, int);
static void	headless_stop_cb(struct engine *, void *);

static void
headless_line(struct headless *h, uint64_t time_ms, const char *who,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Writes one line, in one write, so lines never interleave mid-line with
 * anything else writing to stderr.
 */
static void
headless_line(struct headless *h, uint64_t time_ms, const char *who,
    const char *fmt, ...)
{
	char		 line[8192];
	struct tm	 tm;
	time_t		 t;
	va_list		 ap;
	int		 n, m;

	if (time_ms == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		time_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec /
		    1000000;
	}
	t = (time_t)(time_ms / 1000);
	localtime_r(&t, &tm);
	n = snprintf(line, sizeof line, "%02d:%02d:%02d %-*s ", tm.tm_hour,
	    tm.tm_min, tm.tm_sec, h->width, who);
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, stderr);
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
		headless_line(h, ev->time_ms, who, "%s| %.*s",
		    ev->stream == LOG_STDERR ? "err" :
		    ev->stream == LOG_STDOUT ? "out" : "pooltop", tlen,
		    ev->text != NULL ? ev->text : "");
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
	uv_stop(engine_loop(e));
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
	struct headless	 h;
	struct pool	*pools[256];
	size_t		 np, i;
	int		 w, rc;

	memset(&h, 0, sizeof h);
	h.app = app;
	h.quiet = opts->quiet;
	h.width = 7;	/* "pooltop" */
	np = engine_pools(app->engine, pools, 256);
	for (i = 0; i < np && i < 256; i++) {
		const struct pool_spec *spec = pool_get_spec(pools[i]);
		char buf[32];

		w = (int)strlen(pool_name(pools[i])) + snprintf(buf,
		    sizeof buf, "/%u", spec->workers > 0 ?
		    spec->workers - 1 : 0);
		if (w > h.width && w < 64)
			h.width = w;
	}

	rc = engine_listen(app->engine, headless_event_cb, &h);
	if (rc == 0)
		rc = uv_signal_init(app->loop, &h.sigint);
	if (rc == 0)
		rc = uv_signal_init(app->loop, &h.sigterm);
	if (rc != 0) {
		fprintf(stderr, "pooltop: cannot start: %s\n", uv_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	h.sigint.data = &h;
	h.sigterm.data = &h;
	uv_signal_start(&h.sigint, headless_signal_cb, SIGINT);
	uv_signal_start(&h.sigterm, headless_signal_cb, SIGTERM);

	headless_line(&h, 0, "pooltop", "pid %ld: %zu pool%s from %s%s; "
	    "control socket %s", (long)getpid(), np, np == 1 ? "" : "s",
	    app->cfg->path != NULL ? app->cfg->path : "?",
	    app->demo ? " (the demo, with its load generator)" : "",
	    opts->socket != NULL ? opts->socket : "(none)");

	/* Runs until headless_stop_cb stops the loop. */
	while (!h.stopped)
		uv_run(app->loop, UV_RUN_DEFAULT);
	engine_unlisten(app->engine, headless_event_cb, &h);
	/* Let the signal handles' close callbacks run. */
	uv_run(app->loop, UV_RUN_NOWAIT);
	return h.status;
}
