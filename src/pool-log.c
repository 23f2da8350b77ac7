/*
 * A pool's log file (spec.log_file): every line its workers print on
 * stdout and stderr, as the console shows it with a full time stamp in
 * front, rotated by size (logfile.c):
 *
 *   2026-01-02 12:00:06.123 web/0 out| a line the worker printed
 *
 * Lines are buffered and written once per loop turn (pool_log_flush,
 * from the engine's turn), or sooner when 64 KiB wait.  A failure to
 * write (a full disk, a rename refused) is told once as a NOTICE of the
 * pool, and so is the recovery, with the number of lines lost.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine-internal.h"
#include "logfile.h"
#include "pooltop/logline.h"

struct pool_log {
	struct logfile		*file;
	struct logline_clock	 clock;
	int			 width;		/* of the WHO column */
	bool			 failing;	/* a failure was told */
};

/* Opens the pool's log file, if it has one; 0 or -errno with engine_error(). */
int
pool_log_open(struct pool *p)
{
	struct pool_log	*l;
	int		 r;

	if (p->spec.log_file == NULL)
		return (0);
	l = engine_xalloc(sizeof *l);
	memset(l, 0, sizeof *l);
	r = logfile_open(&l->file, p->spec.log_file, p->spec.log_max,
	    p->spec.log_keep);
	if (r != 0) {
		engine_set_error(p->engine, "pool %s: cannot open the log file "
		    "%s: %s", p->spec.name, p->spec.log_file, strerror(-r));
		free(l);
		return (r);
	}
	l->width = logline_pool_width(p->spec.name, p->spec.workers);
	p->log = l;
	return (0);
}

/* Tells a failure of the log file once, until it works again. */
static void
pool_log_check(struct pool *p, int r)
{
	struct pool_log	*l = p->log;
	uint64_t	 lost;

	if (r != 0 && !l->failing) {
		l->failing = true;
		pool_note(p, NULL, NULL, "log file: %s; lines are dropped "
		    "until writing works again",
		    logfile_error_text(l->file));
	} else if (r == 0 && l->failing && logfile_error(l->file) == 0) {
		l->failing = false;
		lost = logfile_take_dropped(l->file);
		pool_note(p, NULL, NULL, "log file %s: writing again (%" PRIu64
		    " line%s lost)", logfile_path(l->file), lost,
		    lost == 1 ? "" : "s");
	}
}

/* Appends a worker's line to its pool's log file (p->log is set). */
void
pool_log_write(struct slot *s, enum log_stream stream, const char *text,
    size_t len, uint64_t time_ms)
{
	struct pool	*p = s->pool;
	struct pool_log	*l = p->log;
	struct logline	 ll;
	char		 line[ENGINE_LOG_LINE_MAX + LOGLINE_PREFIX_MAX + 16];
	char		 who[LOGLINE_WHO_MAX], stamp[LOGLINE_STAMP_MAX];
	size_t		 n;
	int		 w;

	w = (int)logline_who(who, sizeof who, p->spec.name, s->index);
	if (w > l->width)
		l->width = w;	/* scaled up past the widest name */
	memset(&ll, 0, sizeof ll);
	ll.stamp = logline_stamp(&l->clock, time_ms, true, stamp,
	    sizeof stamp);
	ll.who = who;
	ll.width = l->width;
	ll.stream = stream;
	ll.text = text;
	ll.len = len;
	n = logline_format(line, sizeof line, &ll);
	pool_log_check(p, logfile_write(l->file, line, n));
}

/* Once per loop turn: writes the lines that wait, for every pool. */
void
pool_log_flush(struct engine *e)
{
	struct pool	*p;

	TAILQ_FOREACH(p, &e->pools, link) {
		if (p->log != NULL && (logfile_pending(p->log->file) ||
		    p->log->failing))
			pool_log_check(p, logfile_flush(p->log->file));
	}
}

/* Writes what waits and closes the file.  NULL log ok. */
void
pool_log_close(struct pool *p)
{
	if (p->log == NULL)
		return;
	logfile_close(p->log->file);
	free(p->log);
	p->log = NULL;
}
