/*
 * The console printer of `pooltop --headless` and `pooltop ctl logs`:
 * lines prefixed with the time, the worker (POOL/N, padded so the texts
 * line up) and the stream (pooltop/logline.h), one colour per worker
 * when the output is a terminal, as foreman and docker compose print
 * their processes' output.
 *
 * Two outputs: "out" (worker lines) is buffered and written in whole
 * lines when the owner flushes (once per loop turn) or the buffer fills;
 * "err" (pooltop's events) is written at once, after what waits on out,
 * so that the two keep their order on a shared terminal.  A line is
 * always written whole, so lines never mix mid-line.
 */
#ifndef POOLTOP_CONSOLE_H
#define POOLTOP_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pooltop/pool.h"

#define CONSOLE_BUFFER		(64u * 1024)
#define CONSOLE_NCOLORS		10

struct console_options {
	int	 out_fd;	/* worker lines */
	int	 err_fd;	/* pooltop's events */
	bool	 color_out;	/* colour the prefixes written to out_fd */
	bool	 color_err;
	int	 width;		/* of the WHO column to start with (0: 7) */
};

struct console;

int	console_new(struct console **out, const struct console_options *);
/* Flushes and frees.  NULL ok. */
void	console_free(struct console *);

/*
 * Whether to colour what goes to fd: it is a terminal, NO_COLOR is unset
 * or empty, TERM is not "dumb", and the config allows it.
 */
bool	console_want_color(int fd, bool allowed);

/*
 * Gives who the next colour of the palette (in the order of the calls)
 * and widens the WHO column for it; a name seen for the first time in a
 * line gets the next colour then.
 */
void	console_add(struct console *, const char *who);
/* The colour of who, as an SGR parameter ("36"), adding it if new. */
const char *console_color(struct console *, const char *who);
int	console_width(const struct console *);

/*
 * One line: to err (written now) or to out (buffered).  stream
 * LOG_POOLTOP for pooltop's own lines (no tag); time_ms 0: now.
 */
void	console_line(struct console *, bool to_err, uint64_t time_ms,
	    const char *who, enum log_stream stream, const char *text,
	    size_t len);
/* Writes the buffered lines; 0 or -errno (the output is then dropped). */
int	console_flush(struct console *);

#endif
