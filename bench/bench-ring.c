/*
 * bench-ring: what a worker's log ring costs, in bytes and in time.
 *
 * Memory: 1,000 rings holding a quiet worker's 5 lines of 40 bytes, as
 * ring_log_bytes() counts them and as the heap really grew (mallinfo2),
 * next to the layout the ring replaced (a 48-byte struct, a table of
 * 40-byte slots doubled from 4 to 8, one malloc per line) allocated the
 * same way in the same run; and a full 1,000-line ring of 40-byte lines.
 *
 * Time: ns per push and per get of 40-byte and 4,000-byte lines into a
 * 1,000-line ring that has reached its size, next to the replaced
 * layout's steady state (a slot per line whose text buffer is reused:
 * a memcpy into it), measured in the same run; "ratio" is ring / slots.
 * Each figure is the best of five rounds.
 *
 * Usage: bench-ring [pushes]   (default 1000000)
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ring.h"
#include "bench.h"

#define RINGS		1000
#define LINES		1000
#define RUNS		5
#define T0		UINT64_C(1767225600000)

static uint64_t	sink;

static void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n)) == NULL) {
		perror("bench-ring");
		exit(1);
	}
	return p;
}

/* The replaced layout's line slot (40 bytes). */
struct slot {
	uint64_t	 time_ms;
	int		 stream;
	char		*text;
	size_t		 len;
	size_t		 size;
};

static size_t
heap_used(void)
{
	return mallinfo2().uordblks;
}

/* Bytes per ring for 1,000 quiet rings, both layouts, measured. */
static void
bench_memory(void)
{
	static struct ring_log	*rings[RINGS];
	static void		*olds[RINGS][7];
	struct slot		*slots;
	char			 line[41];
	size_t			 i, k, before, counted = 0, heap, old;

	memset(line, 'x', 40);
	line[40] = '\0';
	before = heap_used();
	for (i = 0; i < RINGS; i++) {
		if ((rings[i] = ring_log_new(1000, 4100)) == NULL) {
			perror("bench-ring");
			exit(1);
		}
		for (k = 0; k < 5; k++)
			ring_log_push(rings[i], T0 + k * 700, 3, line, 40);
		counted += ring_log_bytes(rings[i]);
	}
	heap = heap_used() - before;

	before = heap_used();
	for (i = 0; i < RINGS; i++) {
		olds[i][0] = xmalloc(48);
		slots = xmalloc(4 * sizeof *slots);
		slots = realloc(slots, 8 * sizeof *slots);
		if (slots == NULL)
			exit(1);
		olds[i][1] = slots;
		for (k = 0; k < 5; k++) {
			olds[i][2 + k] = xmalloc(41);
			memcpy(olds[i][2 + k], line, 41);
		}
	}
	old = heap_used() - before;

	printf("quiet ring, 5 lines of 40 B: ring_log_bytes %zu B, heap %zu B;"
	    " replaced layout heap %zu B; ratio %.2f\n", counted / RINGS,
	    heap / RINGS, old / RINGS, (double)heap / (double)old);
	for (i = 0; i < RINGS; i++) {
		ring_log_free(rings[i]);
		for (k = 0; k < 7; k++)
			free(olds[i][k]);
	}
}

/* ns per push and per get, steady state, against reused slots. */
static void
bench_time(size_t pushes, size_t len)
{
	struct ring_log		*r;
	struct ring_log_entry	 e;
	struct slot		*slots;
	char			*line;
	uint64_t		 t, best_push, best_get, best_spush, best_sget;
	size_t			 i, run, seq, full;

	best_push = best_get = best_spush = best_sget = UINT64_MAX;
	line = xmalloc(len);
	memset(line, 'y', len);
	r = ring_log_new(LINES, 4100);
	slots = calloc(LINES, sizeof *slots);
	if (r == NULL || slots == NULL)
		exit(1);
	for (i = 0; i < LINES; i++) {
		slots[i].text = xmalloc(len + 1);
		slots[i].size = len + 1;
		ring_log_push(r, T0, 1, line, len);
	}
	for (run = 0; run < RUNS; run++) {
		t = now_ns();
		for (i = 0; i < pushes; i++) {
			line[i % len] = (char)('a' + i % 26);
			ring_log_push(r, T0 + i, 1, line, len);
		}
		t = now_ns() - t;
		if (t < best_push)
			best_push = t;

		t = now_ns();
		for (i = 0; i < pushes; i++) {
			struct slot	*s = &slots[i % LINES];

			line[i % len] = (char)('a' + i % 26);
			s->time_ms = T0 + i;
			s->stream = 1;
			memcpy(s->text, line, len);
			s->text[len] = '\0';
			s->len = len;
		}
		t = now_ns() - t;
		if (t < best_spush)
			best_spush = t;

		full = (size_t)ring_log_first(r);
		t = now_ns();
		for (i = 0; i < pushes; i++) {
			seq = full + (i * 7919) % LINES;
			if (ring_log_get(r, seq, &e) == 0)
				sink += e.len + (unsigned char)e.text[0];
		}
		t = now_ns() - t;
		if (t < best_get)
			best_get = t;

		t = now_ns();
		for (i = 0; i < pushes; i++) {
			seq = full + (i * 7919) % LINES;
			sink += slots[seq % LINES].len +
			    (unsigned char)slots[seq % LINES].text[0];
		}
		t = now_ns() - t;
		if (t < best_sget)
			best_sget = t;
	}
	printf("%4zu-byte lines: push %.1f ns (slots %.1f ns, ratio %.2f);"
	    " get %.1f ns (slots %.1f ns, ratio %.2f); ring %zu B\n", len,
	    (double)best_push / (double)pushes,
	    (double)best_spush / (double)pushes,
	    (double)best_push / (double)best_spush,
	    (double)best_get / (double)pushes,
	    (double)best_sget / (double)pushes,
	    (double)best_get / (double)best_sget, ring_log_bytes(r));
	for (i = 0; i < LINES; i++)
		free(slots[i].text);
	free(slots);
	ring_log_free(r);
	free(line);
}

int
main(int argc, char **argv)
{
	size_t	pushes = 1000000;

	if (argc > 1 && (pushes = strtoul(argv[1], NULL, 10)) == 0) {
		fprintf(stderr, "usage: bench-ring [pushes]\n");
		return 2;
	}
	bench_memory();
	bench_time(pushes, 40);
	bench_time(pushes / 10 > 0 ? pushes / 10 : 1, 4000);
	printf("(sink %llu)\n", (unsigned long long)(sink & 1));
	return 0;
}
