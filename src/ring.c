/*
 * Fixed-capacity rings for numbers (history) and for log lines.
 *
 * Both are bounded for their whole life: a ring_num holds at most its
 * capacity of doubles inline; a ring_log keeps the newest max_lines lines
 * of at most max_line bytes each (plus the cut marker).  Once full, the
 * oldest entry makes room for the newest.
 *
 * A ring_log costs about the bytes it holds, since a thousand of them sit
 * under one dashboard and most belong to quiet workers with a handful of
 * short lines.  Its lines are packed records in one byte buffer used as a
 * FIFO ring:
 *
 *	varint len | varint stream | varint time | text[len] | NUL
 *
 * (stream zigzag-coded, time as the zigzag-coded difference from the time
 * of the ring's first line), and the same buffer starts with that time and
 * an index: the offset of line seq is in slot seq % icap, 2 bytes wide
 * while the records take at most 64 KiB, 4 beyond.  So ring_log_get is
 * O(1): one slot, three varints.  A record never wraps around the end of
 * the buffer (one that does not fit there goes to the start and leaves a
 * gap), so each text is contiguous and NUL-terminated where it lies.
 *
 * Nothing is allocated until the first line.  The buffer then grows to fit
 * while it is small (a rebuild per few lines, each under 300 bytes), and
 * by doubling beyond, up to ring_log_cap(); a ring at its size allocates
 * no more.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

/* UTF-8 HORIZONTAL ELLIPSIS, appended to a line that was cut. */
#define RING_CUT_MARK		"\xe2\x80\xa6"
#define RING_CUT_MARK_LEN	(sizeof RING_CUT_MARK - 1)

#define RING_LOG_FIRST_LINES	4	/* index slots of the first buffer */
#define RING_LOG_EXACT		256	/* records grown to fit below this */
#define RING_LOG_EPOCH		8	/* bytes of the time base, at buf[0] */
#define RING_LOG_HDR_STREAM	5	/* varint of a zigzag int, at most */
#define RING_LOG_HDR_TIME	10	/* varint of a uint64_t, at most */

struct ring_num {
	size_t		 capacity;
	size_t		 head;		/* index of the oldest value */
	size_t		 len;
	double		 values[];
};

struct ring_log {
	/* NULL until the first line; then epoch, index[icap], records. */
	unsigned char	*buf;
	uint64_t	 next;		/* seq of the next line to come */
	uint32_t	 max_lines;
	uint32_t	 max_line;
	uint32_t	 count;		/* lines kept: first = next - count */
	uint32_t	 icap;		/* index slots: seq in seq % icap */
	uint32_t	 dcap;		/* bytes for records */
	uint32_t	 tail;		/* end of the newest record */
};

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

/* ---- ring_log ------------------------------------------------------------ */

/* Allocation failure in a void push cannot be reported: abort like xmalloc. */
static void *
ring_xmalloc(size_t size)
{
	void	*p;

	if ((p = malloc(size)) == NULL) {
		fprintf(stderr, "pooltop: ring: out of memory (%zu bytes)\n",
		    size);
		abort();
	}
	return p;
}

/*
 * Bytes a malloc(n) takes from the heap with glibc on 64-bit: n plus its
 * 8-byte size field, rounded up to 16, at least 32.  (A block past the
 * mmap threshold, 128 KiB, is rounded up to a page instead.)
 */
static uint64_t
ring_chunk(uint64_t n)
{
	n = (n + 8 + 15) & ~(uint64_t)15;
	return n < 32 ? 32 : n;
}

static size_t
ring_varint_len(uint64_t v)
{
	size_t	n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Writes v as a little-endian base-128 varint; returns the byte after. */
static unsigned char *
ring_varint_put(unsigned char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return p;
}

/* Reads a varint written by ring_varint_put; returns the byte after. */
static const unsigned char *
ring_varint_get(const unsigned char *p, uint64_t *v)
{
	uint64_t	x = 0;
	unsigned	shift = 0;

	while (*p & 0x80) {
		x |= (uint64_t)(*p++ & 0x7f) << shift;
		shift += 7;
	}
	*v = x | (uint64_t)*p++ << shift;
	return p;
}

/* Two's complement v to zigzag: small values of either sign stay small. */
static uint64_t
ring_zigzag(uint64_t v)
{
	return (v << 1) ^ (0 - (v >> 63));
}

static uint64_t
ring_unzigzag(uint64_t z)
{
	return (z >> 1) ^ (0 - (z & 1));
}

/* Bytes of the longest record: its header, a cut line, the marker, NUL. */
static uint64_t
ring_log_rec_max(size_t max_line)
{
	return ring_varint_len(max_line + RING_CUT_MARK_LEN) +
	    RING_LOG_HDR_STREAM + RING_LOG_HDR_TIME + max_line +
	    RING_CUT_MARK_LEN + 1;
}

/*
 * The most bytes the records may take.  (max_lines + 1) records of the
 * longest kind, less one byte, always hold the newest max_lines lines:
 * with max_lines - 1 lines kept, the free bytes are either one run of at
 * least a record (the records wrapped: their gap at the end is shorter
 * than a record) or two runs, at the end and at the start, one of which
 * holds a record.  For rings of many lines that is less than the old
 * layout took (one malloc per line); a ring of few long lines pays up to
 * one record more, so that it keeps exactly max_lines lines.  0 if
 * max_lines records cannot be indexed with 32-bit offsets.
 */
static uint64_t
ring_log_cap(size_t max_lines, size_t max_line)
{
	uint64_t	rec, cap;

	rec = ring_log_rec_max(max_line);
	cap = ((uint64_t)max_lines + 1) * rec - 1;
	if (cap > UINT32_MAX)
		cap = UINT32_MAX;
	return cap >= max_lines * rec ? cap : 0;
}

/* Width of an index slot: 2 bytes while every record offset fits. */
static size_t
ring_log_width(uint64_t dcap)
{
	return dcap <= 0x10000 ? 2 : 4;
}

/* Bytes of a buffer with icap index slots and dcap bytes for records. */
static size_t
ring_log_size(size_t icap, size_t dcap)
{
	return RING_LOG_EPOCH + icap * ring_log_width(dcap) + dcap;
}

static unsigned char *
ring_log_data(unsigned char *buf, size_t icap, size_t dcap)
{
	return buf + RING_LOG_EPOCH + icap * ring_log_width(dcap);
}

/* Offset of line seq's record in a buffer laid out for icap and dcap. */
static size_t
ring_log_idx(const unsigned char *buf, size_t icap, size_t dcap, uint64_t seq)
{
	const unsigned char	*p;
	uint16_t		 o16;
	uint32_t		 o32;

	p = buf + RING_LOG_EPOCH + (size_t)(seq % icap) * ring_log_width(dcap);
	if (ring_log_width(dcap) == 2) {
		memcpy(&o16, p, sizeof o16);
		return o16;
	}
	memcpy(&o32, p, sizeof o32);
	return o32;
}

static void
ring_log_idx_set(unsigned char *buf, size_t icap, size_t dcap, uint64_t seq,
    size_t off)
{
	unsigned char	*p;
	uint16_t	 o16 = (uint16_t)off;
	uint32_t	 o32 = (uint32_t)off;

	p = buf + RING_LOG_EPOCH + (size_t)(seq % icap) * ring_log_width(dcap);
	if (ring_log_width(dcap) == 2)
		memcpy(p, &o16, sizeof o16);
	else
		memcpy(p, &o32, sizeof o32);
}

/* Offset of the record of line seq (a kept line). */
static size_t
ring_log_off(const struct ring_log *r, uint64_t seq)
{
	return ring_log_idx(r->buf, r->icap, r->dcap, seq);
}

static uint64_t
ring_log_epoch(const struct ring_log *r)
{
	uint64_t	epoch;

	memcpy(&epoch, r->buf, sizeof epoch);
	return epoch;
}

/* Decodes the record at p into out (all but seq); returns its bytes. */
static size_t
ring_log_decode(const unsigned char *p, uint64_t epoch,
    struct ring_log_entry *out)
{
	const unsigned char	*q = p;
	uint64_t		 len, stream, dt;

	q = ring_varint_get(q, &len);
	q = ring_varint_get(q, &stream);
	q = ring_varint_get(q, &dt);
	/* The zigzag of an int: its magnitude fits an int. */
	out->stream = (stream & 1) ? -(int)(stream >> 1) - 1 :
	    (int)(stream >> 1);
	out->time_ms = epoch + ring_unzigzag(dt);
	out->text = (const char *)q;
	out->len = (size_t)len;
	return (size_t)(q - p) + (size_t)len + 1;
}

struct ring_log *
ring_log_new(size_t max_lines, size_t max_line)
{
	struct ring_log	*r;

	if (max_lines == 0 || max_line == 0 || max_lines > UINT32_MAX ||
	    max_line > RING_LOG_LINE_LIMIT ||
	    ring_log_cap(max_lines, max_line) == 0) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->max_lines = (uint32_t)max_lines;
	r->max_line = (uint32_t)max_line;
	return r;
}

void
ring_log_free(struct ring_log *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

size_t
ring_log_bytes(const struct ring_log *r)
{
	uint64_t	n = ring_chunk(sizeof *r);

	if (r->buf != NULL)
		n += ring_chunk(ring_log_size(r->icap, r->dcap));
	return (size_t)n;
}

/* Forgets the oldest line; its bytes are free for the next records. */
static void
ring_log_drop(struct ring_log *r)
{
	if (--r->count == 0)
		r->tail = 0;
}

/*
 * Where a record of rs bytes fits without moving others: after the newest
 * record, else (records not wrapped) at the start, before the oldest.
 * 0 and *off, or -1.
 */
static int
ring_log_place(const struct ring_log *r, size_t rs, size_t *off)
{
	size_t	head;

	*off = r->tail;
	if (r->count == 0)
		return rs <= r->dcap ? 0 : -1;
	head = ring_log_off(r, r->next - r->count);
	if (r->tail > head) {
		/* Not wrapped: free are [tail, dcap) and [0, head). */
		if (r->dcap - r->tail >= rs)
			return 0;
		*off = 0;
		return head >= rs ? 0 : -1;
	}
	/* Wrapped (or full): free is [tail, head). */
	return head - r->tail >= rs ? 0 : -1;
}

/*
 * A new buffer for the kept lines and one more record of rs bytes: twice
 * the index slots when they are all taken, more room for records when rs
 * does not fit (to fit while small, twice as much beyond, up to the cap).
 * The kept records are copied in order to its start, unwrapped.
 */
static void
ring_log_grow(struct ring_log *r, size_t rs, uint64_t epoch)
{
	struct ring_log_entry	 e;
	unsigned char		*buf, *data, *odata = NULL;
	uint64_t		 seq, first = r->next - r->count, cap;
	size_t			 used = 0, icap = r->icap, dcap = r->dcap;
	size_t			 want, size, spare, pos, off, n;

	if (r->buf != NULL) {
		odata = ring_log_data(r->buf, r->icap, r->dcap);
		for (seq = first; seq < r->next; seq++)
			used += ring_log_decode(odata + ring_log_off(r, seq),
			    0, &e);
	}
	if (r->count == r->icap) {
		icap = icap * 2 < RING_LOG_FIRST_LINES ? RING_LOG_FIRST_LINES :
		    icap * 2;
		if (icap > r->max_lines)
			icap = r->max_lines;
	}
	cap = ring_log_cap(r->max_lines, r->max_line);
	if (r->count < r->icap || used + rs > dcap) {
		want = used + rs > dcap ? used + rs : dcap + 1;
		if (want > RING_LOG_EXACT && want < 2 * dcap)
			want = 2 * dcap;
		dcap = want < cap ? want : (size_t)cap;
	}
	/* The heap rounds the block up: give those bytes to the records. */
	size = ring_log_size(icap, dcap);
	spare = (size_t)ring_chunk(size) - 8 - size;
	if (dcap + spare > cap)
		spare = (size_t)cap - dcap;
	if (ring_log_width(dcap + spare) == ring_log_width(dcap))
		dcap += spare;
	size = ring_log_size(icap, dcap);

	buf = ring_xmalloc(size);
	memcpy(buf, &epoch, sizeof epoch);
	data = ring_log_data(buf, icap, dcap);
	pos = 0;
	for (seq = first; seq < r->next; seq++) {
		off = ring_log_off(r, seq);
		n = ring_log_decode(odata + off, 0, &e);
		memcpy(data + pos, odata + off, n);
		ring_log_idx_set(buf, icap, dcap, seq, pos);
		pos += n;
	}
	free(r->buf);
	r->buf = buf;
	r->icap = (uint32_t)icap;
	r->dcap = (uint32_t)dcap;
	r->tail = (uint32_t)pos;
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

/*
 * Appends a copy of text[0..len) as line next: the oldest line goes when
 * max_lines are kept, or when the records have reached their cap and this
 * one does not fit.
 */
void
ring_log_push(struct ring_log *r, uint64_t time_ms, int stream,
    const char *text, size_t len)
{
	unsigned char	*p;
	uint64_t	 epoch, dt, zs;
	size_t		 keep, tlen, rs, off;

	if (text == NULL)
		len = 0;
	keep = ring_log_cut(text, len, r->max_line);
	tlen = keep < len ? keep + RING_CUT_MARK_LEN : keep;
	epoch = r->buf != NULL ? ring_log_epoch(r) : time_ms;
	dt = ring_zigzag(time_ms - epoch);
	zs = ring_zigzag((uint64_t)(int64_t)stream);
	rs = ring_varint_len(tlen) + ring_varint_len(zs) +
	    ring_varint_len(dt) + tlen + 1;

	if (r->count == r->max_lines)
		ring_log_drop(r);
	for (;;) {
		/* A free index slot (count < icap) and room: done. */
		if (r->count < r->icap && ring_log_place(r, rs, &off) == 0)
			break;
		if (r->count < r->icap &&
		    r->dcap >= ring_log_cap(r->max_lines, r->max_line))
			ring_log_drop(r);
		else
			ring_log_grow(r, rs, epoch);
	}

	p = ring_log_data(r->buf, r->icap, r->dcap) + off;
	p = ring_varint_put(p, tlen);
	p = ring_varint_put(p, zs);
	p = ring_varint_put(p, dt);
	if (keep > 0)
		memcpy(p, text, keep);
	if (tlen > keep)
		memcpy(p + keep, RING_CUT_MARK, RING_CUT_MARK_LEN);
	p[tlen] = '\0';
	ring_log_idx_set(r->buf, r->icap, r->dcap, r->next, off);
	r->tail = (uint32_t)(off + rs);
	r->count++;
	r->next++;
}

uint64_t
ring_log_first(const struct ring_log *r)
{
	return r->next - r->count;
}

uint64_t
ring_log_next(const struct ring_log *r)
{
	return r->next;
}

/* Fills out with line seq; out->text stays valid until the next push. */
int
ring_log_get(const struct ring_log *r, uint64_t seq, struct ring_log_entry *out)
{
	if (seq >= r->next || seq < r->next - r->count)
		return -ENOENT;
	ring_log_decode(ring_log_data(r->buf, r->icap, r->dcap) +
	    ring_log_off(r, seq), ring_log_epoch(r), out);
	out->seq = seq;
	return 0;
}
