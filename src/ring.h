/*
 * Fixed-capacity rings: numbers (history for sparklines and least_load)
 * and log lines (a worker's stdout/stderr).  Bounded memory: once full,
 * the oldest entry makes room for the newest.
 */
#ifndef POOLTOP_RING_H
#define POOLTOP_RING_H

#include <stddef.h>
#include <stdint.h>

/* A ring of doubles; storage is inline after the struct. */
struct ring_num;

struct ring_num *ring_num_new(size_t capacity);	/* NULL on ENOMEM */
void	ring_num_free(struct ring_num *);
void	ring_num_push(struct ring_num *, double);
size_t	ring_num_len(const struct ring_num *);
size_t	ring_num_capacity(const struct ring_num *);
/* i = 0 is the oldest kept; i < len. */
double	ring_num_get(const struct ring_num *, size_t i);
/* Copies the newest min(len, max) values, oldest first; returns the count. */
size_t	ring_num_copy(const struct ring_num *, double *out, size_t max);
void	ring_num_clear(struct ring_num *);

/*
 * A ring of text lines, bounded both in lines and in bytes: a line longer
 * than max_line bytes is cut there (without splitting a UTF-8 sequence)
 * and marked with a trailing "…".  It keeps the newest max_lines lines.
 * Lines are numbered from 0 for the ring's life, so a reader can ask for
 * "everything after line N" and tell when lines were dropped.
 *
 * Memory follows the bytes held: an empty ring is its struct (nothing
 * else is allocated before the first line), a quiet one with 5 lines of
 * 40 bytes about 300 bytes, and a full one at most max_lines + 1 records
 * of max_line bytes (and about 20 bytes of header each) with its index.
 * Once it has grown to its size a push allocates nothing.
 */
struct ring_log;

struct ring_log_entry {
	uint64_t	 seq;		/* line number */
	uint64_t	 time_ms;	/* wall clock */
	int		 stream;	/* caller's tag (stdout, stderr, ...) */
	const char	*text;		/* NUL-terminated */
	size_t		 len;
};

/* The largest max_line a ring takes (16 MiB). */
#define RING_LOG_LINE_LIMIT	(1u << 24)

/*
 * NULL on ENOMEM, or EINVAL: max_lines or max_line 0, max_line past
 * RING_LOG_LINE_LIMIT, or max_lines lines of max_line bytes past 4 GiB.
 */
struct ring_log *ring_log_new(size_t max_lines, size_t max_line);
void	ring_log_free(struct ring_log *);
/*
 * Copies text[0..len) (no newline) as a new line; text must not point
 * into this ring (a push moves and overwrites its lines).  Cannot fail:
 * aborts when out of memory, as xmalloc does.
 */
void	ring_log_push(struct ring_log *, uint64_t time_ms, int stream,
	    const char *text, size_t len);
/* Sequence number of the oldest kept line and of the next line to come. */
uint64_t ring_log_first(const struct ring_log *);
uint64_t ring_log_next(const struct ring_log *);
/*
 * Gets line seq (first <= seq < next); 0, or -ENOENT if no longer kept.
 * O(1).  out->text points into the ring: it stays valid, with every other
 * text got from this ring, until the next push to this ring (any push:
 * one may move all the lines).
 */
int	ring_log_get(const struct ring_log *, uint64_t seq,
	    struct ring_log_entry *out);
/*
 * Bytes the ring holds allocated, counting each block as the chunk glibc's
 * malloc takes for it on 64-bit (its size plus 8, rounded up to 16).  For
 * tests and benchmarks.
 */
size_t	ring_log_bytes(const struct ring_log *);

#endif
