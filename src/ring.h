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
 * than max_line bytes is cut there (and marked with a trailing "…").
 * Lines are numbered from 0 for the ring's life, so a reader can ask for
 * "everything after line N" and tell when lines were dropped.
 */
struct ring_log;

struct ring_log_entry {
	uint64_t	 seq;		/* line number */
	uint64_t	 time_ms;	/* wall clock */
	int		 stream;	/* caller's tag (stdout, stderr, ...) */
	const char	*text;		/* NUL-terminated */
	size_t		 len;
};

struct ring_log *ring_log_new(size_t max_lines, size_t max_line);
void	ring_log_free(struct ring_log *);
/* Copies text[0..len) (no newline) as a new line. */
void	ring_log_push(struct ring_log *, uint64_t time_ms, int stream,
	    const char *text, size_t len);
/* Sequence number of the oldest kept line and of the next line to come. */
uint64_t ring_log_first(const struct ring_log *);
uint64_t ring_log_next(const struct ring_log *);
/* Gets line seq (first <= seq < next); 0, or -ENOENT if no longer kept. */
int	ring_log_get(const struct ring_log *, uint64_t seq,
	    struct ring_log_entry *out);

#endif
