/*
 * A log file rotated by size: lines are appended to a buffer and written
 * with plain write(2) when the buffer fills or when the owner flushes
 * (the engine does it once per loop turn), so a burst of lines costs one
 * write, not one per line.  Before a line would take the file past its
 * maximum size, PATH.(keep-1) becomes PATH.keep, ..., PATH becomes
 * PATH.1, and a new PATH starts; with keep 0, PATH is truncated instead.
 * A line is never split across two files.
 *
 * Errors are returned (0 or -errno) and remembered: logfile_error() is
 * the current failure, cleared by the next write that succeeds.  Lines
 * that could not be written are dropped and counted.
 */
#ifndef POOLTOP_LOGFILE_H
#define POOLTOP_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGFILE_BUFFER		(64u * 1024)	/* written out when this full */
#define LOGFILE_KEEP_MAX	100

struct logfile;

/*
 * Opens (creates, mode 0644 less the umask) path for appending; a file
 * that is there is continued and its size counts.  max: bytes (0: never
 * rotate); keep: rotated files kept, 0 to LOGFILE_KEEP_MAX.  Something
 * other than a regular file (/dev/null, a FIFO) is written but never
 * rotated.  Returns 0 or -errno.
 */
int	logfile_open(struct logfile **out, const char *path, uint64_t max,
	    unsigned keep);
/* Flushes, closes and frees; returns the flush's result.  NULL ok. */
int	logfile_close(struct logfile *);

/*
 * Appends one line, newline included (len bytes), rotating first if
 * needed.  Returns 0, or -errno when a write, a rotation or a reopen
 * failed (the line may still have been written, after a rotation that
 * fell back to truncating).
 */
int	logfile_write(struct logfile *, const char *line, size_t len);
/* Writes the buffer out; 0 or -errno (the buffered lines are dropped). */
int	logfile_flush(struct logfile *);
/* Rotates now (as if the file were full). */
int	logfile_rotate(struct logfile *);

const char *logfile_path(const struct logfile *);
/* Bytes in the current file, buffered ones included. */
uint64_t logfile_size(const struct logfile *);
/* True when lines wait in the buffer. */
bool	logfile_pending(const struct logfile *);
/* The current failure (-errno), 0 if the last write succeeded. */
int	logfile_error(const struct logfile *);
/* What failed, for a message ("cannot rename x to x.1"), "" if nothing. */
const char *logfile_error_text(const struct logfile *);
/* Lines dropped because of failures, since the last call; resets it. */
uint64_t logfile_take_dropped(struct logfile *);

#endif
