/*
 * The workers' log rings as `pooltop ctl logs` reads them: the lines of
 * the chosen workers merged in time order, as the records of the control
 * socket's logs replies, and the decoder the client uses for them.
 *
 * A record is one line of text, ended by a newline:
 *
 *   TIME POOL/N STREAM TEXT
 *
 * TIME is the line's wall-clock time in ms since the epoch; STREAM is
 * out or err (the worker's stdout, stderr), pooltop (pooltop's own line
 * about the worker: started, exited, restarting), or dropped: TEXT is
 * then the number of the worker's lines left out here (the reader was
 * slower than the worker and its ring moved on, or the backlog was over
 * the reply limit).  A newline inside TEXT is sent as a space.
 *
 * Memory: a reader keeps one cursor per worker slot, nothing else: the
 * lines wait in the engine's bounded rings, so a slow reader costs no
 * buffer, only lost lines (counted in dropped records).
 */
#ifndef POOLTOP_LOGTAIL_H
#define POOLTOP_LOGTAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pooltop/pool.h"

struct logtail;

/*
 * A reader of the rings of every slot of pool (every pool when NULL), or
 * of one slot (slot >= 0, pool given).  Slots that appear later (scale
 * up) are read too.  Pools are looked up again at each read: a pool
 * removed from the engine is no longer read (its memory may go), and a
 * pool given by the caller is followed by name, so its replacement (a
 * config reload) is read from its first line.  Returns 0 or -ENOMEM.
 */
int	logtail_new(struct logtail **out, struct engine *, struct pool *pool,
	    int slot);
void	logtail_free(struct logtail *);	/* NULL ok */

/*
 * The backlog: the last `lines` lines of each chosen slot, merged in
 * time order, as records in *out (malloc'd; *len bytes, may be 0).
 * Over max bytes, the oldest lines are left out, and a dropped record
 * per slot says how many.  The cursors then stand after the newest
 * line.  Returns 0 or -ENOMEM.
 */
int	logtail_backlog(struct logtail *, size_t lines, size_t max,
	    char **out, size_t *len);
/*
 * The lines that came since the cursors, merged in time order, at most
 * max bytes of records (at least one record, if any); *more says that
 * more are waiting.  Returns 0, -ENOENT when the pool given to
 * logtail_new() is gone (removed with no replacement), or -ENOMEM; the
 * same for logtail_backlog().
 */
int	logtail_next(struct logtail *, size_t max, char **out, size_t *len,
	    bool *more);

/* A decoded record. */
struct logtail_record {
	uint64_t	 time_ms;
	const char	*pool;		/* not NUL-terminated: pool_len bytes */
	size_t		 pool_len;
	int		 slot;
	bool		 dropped;	/* a dropped record: count is set */
	uint64_t	 count;
	enum log_stream	 stream;	/* not for dropped */
	const char	*text;		/* len bytes, not NUL-terminated */
	size_t		 len;
};

/*
 * Decodes one record (len bytes, without its newline); pointers point
 * into line.  Returns 0 or -EINVAL.
 */
int	logtail_parse(const char *line, size_t len, struct logtail_record *);

#endif
