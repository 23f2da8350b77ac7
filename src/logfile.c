/*
 * A buffered log file rotated by size (see logfile.h).
 *
 * Writes are plain write(2) calls on a regular file from the loop's
 * thread: the page cache absorbs them, and buffering makes one call out
 * of a burst of lines.  (uv_fs_write would move the write to libuv's
 * thread pool at the price of keeping buffers alive across callbacks and
 * ordering rotations after writes in flight; a log on a healthy local
 * disk does not need it.)
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logfile.h"

struct logfile {
	char		*path;
	char		*from;		/* scratch for the names PATH.N */
	char		*to;
	size_t		 name_size;
	int		 fd;		/* -1 after a failed reopen: retried at the next flush */
	bool		 regular;	/* only a regular file is rotated */
	uint64_t	 max;
	unsigned	 keep;
	uint64_t	 size;		/* bytes in the file, buffered ones included */
	char		*buf;		/* LOGFILE_BUFFER bytes */
	size_t		 len;
	size_t		 nlines;	/* lines in buf */
	int		 error;
	char		 errtext[512];
	uint64_t	 dropped;
};

static void
logfile_fail(struct logfile *lf, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Remembers a failure: the error and what failed, for a message. */
static void
logfile_fail(struct logfile *lf, int err, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	lf->error = err;
	va_start(ap, fmt);
	n = vsnprintf(lf->errtext, sizeof lf->errtext, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof lf->errtext)
		snprintf(lf->errtext + n, sizeof lf->errtext - (size_t)n,
		    ": %s", strerror(-err));
}

/* Opens the path for appending (truncated when asked); 0 or -errno. */
static int
logfile_reopen(struct logfile *lf, bool truncate)
{
	struct stat	st;
	int		fd, flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
			    O_NOCTTY;

	if (truncate)
		flags |= O_TRUNC;
	fd = open(lf->path, flags, 0644);
	if (fd < 0) {
		logfile_fail(lf, -errno, "cannot open %s", lf->path);
		return (lf->error);
	}
	if (fstat(fd, &st) != 0) {
		logfile_fail(lf, -errno, "cannot stat %s", lf->path);
		close(fd);
		return (lf->error);
	}
	lf->fd = fd;
	lf->regular = S_ISREG(st.st_mode);
	lf->size = lf->regular ? (uint64_t)st.st_size : 0;
	return (0);
}

int
logfile_open(struct logfile **out, const char *path, uint64_t max,
    unsigned keep)
{
	struct logfile	*lf;
	int		 r;

	*out = NULL;
	if (path == NULL || *path == '\0' || keep > LOGFILE_KEEP_MAX)
		return (-EINVAL);
	lf = calloc(1, sizeof *lf);
	if (lf == NULL)
		return (-ENOMEM);
	lf->fd = -1;
	lf->max = max;
	lf->keep = keep;
	lf->name_size = strlen(path) + 16;
	lf->path = strdup(path);
	lf->from = malloc(lf->name_size);
	lf->to = malloc(lf->name_size);
	lf->buf = malloc(LOGFILE_BUFFER);
	if (lf->path == NULL || lf->from == NULL || lf->to == NULL ||
	    lf->buf == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	if ((r = logfile_reopen(lf, false)) != 0)
		goto fail;
	*out = lf;
	return (0);

fail:
	free(lf->path);
	free(lf->from);
	free(lf->to);
	free(lf->buf);
	free(lf);
	return (r);
}

/* Writes all of data; 0, or -errno with the bytes that made it in *done. */
static int
logfile_write_all(int fd, const char *data, size_t len, size_t *done)
{
	ssize_t	n;

	*done = 0;
	while (*done < len) {
		n = write(fd, data + *done, len - *done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return (-errno);
		}
		if (n == 0)
			return (-EIO);
		*done += (size_t)n;
	}
	return (0);
}

int
logfile_flush(struct logfile *lf)
{
	size_t	done;
	int	r;

	if (lf->len == 0)
		return (0);
	if (lf->fd < 0 && (r = logfile_reopen(lf, false)) != 0)
		goto drop;
	r = logfile_write_all(lf->fd, lf->buf, lf->len, &done);
	if (r != 0) {
		logfile_fail(lf, r, "cannot write %s", lf->path);
		/* The part that did not make it is not in the file. */
		lf->size -= lf->len - done;
		goto drop;
	}
	lf->error = 0;
	lf->errtext[0] = '\0';
	lf->len = 0;
	lf->nlines = 0;
	return (0);

drop:
	lf->dropped += lf->nlines;
	lf->len = 0;
	lf->nlines = 0;
	return (r);
}

/* PATH.n into buf. */
static const char *
logfile_name(const struct logfile *lf, char *buf, unsigned n)
{
	snprintf(buf, lf->name_size, "%s.%u", lf->path, n);
	return (buf);
}

int
logfile_rotate(struct logfile *lf)
{
	unsigned	i;
	int		r, rr = 0;
	bool		truncate = lf->keep == 0;

	r = logfile_flush(lf);
	if (!lf->regular && lf->fd >= 0)
		return (r);
	if (lf->fd >= 0)
		close(lf->fd);
	lf->fd = -1;
	for (i = lf->keep; i >= 2; i--) {
		if (rename(logfile_name(lf, lf->from, i - 1),
		    logfile_name(lf, lf->to, i)) != 0 && errno != ENOENT) {
			logfile_fail(lf, -errno, "cannot rename %s to %s",
			    lf->from, lf->to);
			rr = lf->error;
		}
	}
	if (lf->keep > 0 && rename(lf->path, logfile_name(lf, lf->to, 1)) != 0
	    && errno != ENOENT) {
		/* Cannot keep it: start it over rather than grow without end. */
		logfile_fail(lf, -errno, "cannot rename %s to %s", lf->path,
		    lf->to);
		rr = lf->error;
		truncate = true;
	}
	if ((r = logfile_reopen(lf, truncate)) != 0)
		return (r);
	return (rr);
}

int
logfile_write(struct logfile *lf, const char *line, size_t len)
{
	size_t	done;
	int	r = 0, rr;

	if (len == 0)
		return (0);
	if (lf->max != 0 && lf->regular && lf->size + len > lf->max &&
	    lf->size != 0)
		r = logfile_rotate(lf);
	if (lf->len + len > LOGFILE_BUFFER && (rr = logfile_flush(lf)) != 0)
		r = rr;
	if (len > LOGFILE_BUFFER) {
		/* Only with a huge line: straight to the file. */
		if (lf->fd < 0 && (rr = logfile_reopen(lf, false)) != 0) {
			lf->dropped++;
			return (rr);
		}
		rr = logfile_write_all(lf->fd, line, len, &done);
		lf->size += done;
		if (rr != 0) {
			logfile_fail(lf, rr, "cannot write %s", lf->path);
			lf->dropped++;
			return (rr);
		}
		return (r);
	}
	memcpy(lf->buf + lf->len, line, len);
	lf->len += len;
	lf->nlines++;
	lf->size += len;
	return (r);
}

int
logfile_close(struct logfile *lf)
{
	int	r;

	if (lf == NULL)
		return (0);
	r = logfile_flush(lf);
	if (lf->fd >= 0 && close(lf->fd) != 0 && r == 0)
		r = -errno;
	free(lf->path);
	free(lf->from);
	free(lf->to);
	free(lf->buf);
	free(lf);
	return (r);
}

const char *
logfile_path(const struct logfile *lf)
{
	return (lf->path);
}

uint64_t
logfile_size(const struct logfile *lf)
{
	return (lf->size);
}

bool
logfile_pending(const struct logfile *lf)
{
	return (lf->len != 0);
}

int
logfile_error(const struct logfile *lf)
{
	return (lf->error);
}

const char *
logfile_error_text(const struct logfile *lf)
{
	return (lf->errtext);
}

uint64_t
logfile_take_dropped(struct logfile *lf)
{
	uint64_t	n = lf->dropped;

	lf->dropped = 0;
	return (n);
}
