/*
 * pooltop log lines as people read them: the prefix that names the worker
 * and the stream, shared by the headless console, `pooltop ctl logs` and
 * the pools' log files, so that all three print a line the same way:
 *
 *   12:00:06 web/0   out| a line the worker printed on stdout
 *   12:00:06 web/0   err| a line the worker printed on stderr
 *   12:00:07 web/0   pid 1234 exited with status 1
 *
 * WHO (POOL/N) is padded to a width so the texts line up; worker lines
 * carry their stream's tag, pooltop's own lines none.  Pure functions:
 * no I/O, no allocation.
 */
#ifndef POOLTOP_LOGLINE_H
#define POOLTOP_LOGLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pooltop/pool.h"

#define LOGLINE_WHO_MAX		300	/* "POOL/N" with its NUL */
#define LOGLINE_WIDTH_MAX	64	/* widest WHO column padded to */
#define LOGLINE_STAMP_MAX	32	/* a time stamp with its NUL */

/* The tag of a stream: "out", "err"; NULL for pooltop's own lines. */
const char *logline_tag(enum log_stream);

/* Writes "POOL/N" into buf; returns its length (cut to fit, NUL-terminated). */
size_t	logline_who(char *buf, size_t len, const char *pool, int slot);

/*
 * The widest WHO of a pool of `workers` slots: strlen(pool) + strlen("/N")
 * for N = workers - 1.
 */
int	logline_pool_width(const char *pool, unsigned workers);

/*
 * Time stamps, cached per second (localtime_r is not cheap and lines come
 * in bursts): "12:00:06" (short) or "2026-01-02 12:00:06.123" (long).
 * Zero-fill a struct logline_clock before its first use.
 */
struct logline_clock {
	time_t	 sec;
	bool	 valid;
	char	 hms[80];	/* "HH:MM:SS" (room for any int) */
	char	 ymd[80];	/* "YYYY-MM-DD HH:MM:SS" */
};
/* Returns the stamp (in the clock); valid until the next call on it. */
const char *logline_stamp(struct logline_clock *, uint64_t time_ms,
	    bool long_form, char *buf, size_t len);

/* How to print one line. */
struct logline {
	const char	*stamp;		/* NULL: none */
	const char	*who;
	int		 width;		/* WHO padded to this */
	enum log_stream	 stream;	/* LOG_POOLTOP: no tag */
	const char	*text;
	size_t		 len;
	const char	*color;		/* SGR for the prefix, as "36"; NULL: none */
};

/*
 * Formats "STAMP WHO<pad> TAG| TEXT\n" (with color: the prefix wrapped in
 * ESC[...m and ESC[0m, and a reset after the text, so a worker's own
 * unfinished colour cannot leak into the next line) into buf[0..cap).
 * The text is cut to fit, the prefix and the newline never are (cap must
 * be at least LOGLINE_PREFIX_MAX).  Returns the length written (no NUL).
 */
#define LOGLINE_PREFIX_MAX	(LOGLINE_STAMP_MAX + LOGLINE_WHO_MAX + 64)
size_t	logline_format(char *buf, size_t cap, const struct logline *);

#endif
