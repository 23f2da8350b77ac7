/*
 * Fixed-capacity rings for numbers (history) and for log lines.
 *
 * Both are bounded for their whole life: a ring_num holds at most its
 * capacity of doubles inline, a ring_log at most max_lines lines of at most
 * max_line bytes each (plus the cut marker).  Once full, the oldest entry
 * makes room for the newest.
 *
 * A ring_log's table of lines starts small and doubles as lines come, up
 * to max_lines: a quiet worker's log (the common case, a thousand of them
 * under one dashboard) costs a few hundred bytes, not max_lines entries.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

/* UTF-8 HORIZONTAL ELLIPSIS, appended to a line that was cut. */
#define RING_CUT_MARK		"\xe2\x80\xa6"
#define RING_CUT_MARK_LEN	(sizeof RING_CUT_MARK - 1)

#define RING_LOG_FIRST_CAP	4	/* line slots allocated up front */

struct ring_num {
	size_t		 capacity;
	size_t		 head;		/* index of the oldest value */
	size_t		 len;
	double		 values[];
};

struct ring_log_slot {
	uint64_t	 time_ms;
	int		 stream;
	char		*text;		/* NUL-terminated, reused across pushes */
	size_t		 len;
	size_t		 size;		/* allocated bytes of text */
};

struct ring_log {
	size_t			 max_lines;
	size_t			 max_line;
	uint64_t		 first;	/* seq of the oldest kept line */
	uint64_t		 next;	/* seq of the next line to come */
	size_t			 cap;	/* slots allocated, <= max_lines */
	struct ring_log_slot	*slots;	/* line seq lives in slots[seq % cap] */
};

/* Allocation failure in a void push cannot be reported: abort like xmalloc. */
static void *
ring_xrealloc(void *p, size_t size)
{
	void	*q;

	q = realloc(p, size);
	if (q == NULL) {
		fprintf(stderr, "pooltop: ring: out of memory (%zu bytes)\n",
		    size);
		abort();
	}
	return q;
}

struct ring_num *
ring_num_new(size_t capacity)
{
	struct ring_num	*r;

	if (capacity == 0 ||
	    capacity > (SIZE_MAX - sizeof *r) / sizeof r->values[0]) {
		errno = EINVAL;
		return NULL;
	}
	r = malloc(sizeof *r + capacity * sizeof r->values[0]);
	if (r == NULL)
		return NULL;
	r->capacity = capacity;
	r->head = 0;
	r->len = 0;
	return r;
}

void
ring_num_free(struct ring_num *r)
{
	free(r);
}

/* Appends v; when full, the oldest value is overwritten. */
void
ring_num_push(struct ring_num *r, double v)
{
	if (r->len < r->capacity) {
		r->values[(r->head + r->len) % r->capacity] = v;
		r->len++;
		return;
	}
	r->values[r->head] = v;
	r->head = (r->head + 1) % r->capacity;
}

size_t
ring_num_len(const struct ring_num *r)
{
	return r->len;
}

size_t
ring_num_capacity(const struct ring_num *r)
{
	return r->capacity;
}

double
ring_num_get(const struct ring_num *r, size_t i)
{
	if (i >= r->len)
		return 0.0;
	return r->values[(r->head + i) % r->capacity];
}

/* Copies the newest min(len, max) values, oldest of those first. */
size_t
ring_num_copy(const struct ring_num *r, double *out, size_t max)
{
	size_t	n, skip, i;

	n = r->len < max ? r->len : max;
	skip = r->len - n;
	for (i = 0; i < n; i++)
		out[i] = r->values[(r->head + skip + i) % r->capacity];
	return n;
}

void
ring_num_clear(struct ring_num *r)
{
	r->head = 0;
	r->len = 0;
}

struct ring_log *
ring_log_new(size_t max_lines, size_t max_line)
{
	struct ring_log	*r;

	if (max_lines == 0 || max_line == 0 ||
	    max_line > SIZE_MAX / 2 ||
	    max_lines > SIZE_MAX / sizeof *r->slots) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->cap = max_lines < RING_LOG_FIRST_CAP ? max_lines :
	    RING_LOG_FIRST_CAP;
	r->slots = calloc(r->cap, sizeof *r->slots);
	if (r->slots == NULL) {
		free(r);
		return NULL;
	}
	r->max_lines = max_lines;
	r->max_line = max_line;
	return r;
}

void
ring_log_free(struct ring_log *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->cap; i++)
		free(r->slots[i].text);
	free(r->slots);
	free(r);
}

/*
 * Doubles the table of a full ring that is below max_lines (so no line
 * was ever dropped): every slot holds a line, each moves to its place in
 * the larger table.
 */
static void
ring_log_grow(struct ring_log *r)
{
	struct ring_log_slot	*slots;
	size_t			 cap;
	uint64_t		 seq;

	cap = r->cap > r->max_lines / 2 ? r->max_lines : r->cap * 2;
	slots = calloc(cap, sizeof *slots);
	if (slots == NULL) {
		fprintf(stderr, "pooltop: ring: out of memory (%zu lines)\n",
		    cap);
		abort();
	}
	for (seq = r->first; seq < r->next; seq++)
		slots[seq % cap] = r->slots[seq % r->cap];
	free(r->slots);
	r->slots = slots;
	r->cap = cap;
}

/*
 * Length of text[0..len) cut to at most max bytes without splitting a UTF-8
 * sequence (continuation bytes are 10xxxxxx); plain bytes are cut at max.
 */
static size_t
ring_log_cut(const char *text, size_t len, size_t max)
{
	size_t	cut = max;

	if (len <= max)
		return len;
	/* text[max] is the first byte dropped; if it continues a sequence,
	 * back up (at most 3 bytes) to that sequence's lead byte. */
	while (cut > 0 && max - cut < 3 &&
	    ((unsigned char)text[cut] & 0xc0) == 0x80)
		cut--;
	if (((unsigned char)text[cut] & 0xc0) == 0x80 ||
	    (cut < max && ((unsigned char)text[cut] & 0xc0) != 0xc0))
		return max;	/* not UTF-8 here: a plain byte cut */
	return cut;
}

/* Appends a copy of text[0..len) as line next, dropping the oldest if full. */
void
ring_log_push(struct ring_log *r, uint64_t time_ms, int stream,
    const char *text, size_t len)
{
	struct ring_log_slot	*s;
	size_t			 keep, need;
	int			 cut;

	if (text == NULL)
		len = 0;
	keep = ring_log_cut(text, len, r->max_line);
	cut = keep < len;
	need = keep + (cut ? RING_CUT_MARK_LEN : 0) + 1;

	if (r->next - r->first == r->cap) {
		if (r->cap < r->max_lines)
			ring_log_grow(r);
		else
			r->first++;	/* the slot of the oldest line is reused */
	}
	s = &r->slots[r->next % r->cap];
	if (s->size < need) {
		s->text = ring_xrealloc(s->text, need);
		s->size = need;
	}
	if (keep > 0)
		memcpy(s->text, text, keep);
	if (cut)
		memcpy(s->text + keep, RING_CUT_MARK, RING_CUT_MARK_LEN);
	s->len = need - 1;
	s->text[s->len] = '\0';
	s->time_ms = time_ms;
	s->stream = stream;
	r->next++;
}

uint64_t
ring_log_first(const struct ring_log *r)
{
	return r->first;
}

uint64_t
ring_log_next(const struct ring_log *r)
{
	return r->next;
}

/* Fills out with line seq; out->text stays valid until that line is dropped. */
int
ring_log_get(const struct ring_log *r, uint64_t seq, struct ring_log_entry *out)
{
	const struct ring_log_slot	*s;

	if (seq < r->first || seq >= r->next)
		return -ENOENT;
	s = &r->slots[seq % r->cap];
	out->seq = seq;
	out->time_ms = s->time_ms;
	out->stream = s->stream;
	out->text = s->text;
	out->len = s->len;
	return 0;
}
