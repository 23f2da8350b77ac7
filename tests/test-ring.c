/*
 * Unit tests for the number and log rings: order, overwrite of the oldest,
 * line numbering, cut of over-long lines and lookups of dropped lines; for
 * the log ring's packed records also wrap-around with mixed lengths, UTF-8
 * cuts and the bytes it takes.
 */

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ring.h"

static void
test_num_invalid(void **state)
{
	(void)state;
	errno = 0;
	assert_null(ring_num_new(0));
	assert_int_equal(errno, EINVAL);
}

static void
test_num_order(void **state)
{
	struct ring_num	*r;
	double		 out[8];

	(void)state;
	r = ring_num_new(4);
	assert_non_null(r);
	assert_int_equal(ring_num_capacity(r), 4);
	assert_int_equal(ring_num_len(r), 0);
	assert_int_equal(ring_num_copy(r, out, 8), 0);

	ring_num_push(r, 1.5);
	ring_num_push(r, 2.5);
	ring_num_push(r, 3.5);
	assert_int_equal(ring_num_len(r), 3);
	assert_true(ring_num_get(r, 0) == 1.5);
	assert_true(ring_num_get(r, 1) == 2.5);
	assert_true(ring_num_get(r, 2) == 3.5);
	assert_int_equal(ring_num_copy(r, out, 8), 3);
	assert_true(out[0] == 1.5 && out[1] == 2.5 && out[2] == 3.5);
	ring_num_free(r);
}

static void
test_num_wrap(void **state)
{
	struct ring_num	*r;
	double		 out[8];
	size_t		 i, n;

	(void)state;
	r = ring_num_new(4);
	assert_non_null(r);
	/* 1..10 into 4 slots: 7 8 9 10 remain, oldest first. */
	for (i = 1; i <= 10; i++)
		ring_num_push(r, (double)i);
	assert_int_equal(ring_num_len(r), 4);
	for (i = 0; i < 4; i++)
		assert_true(ring_num_get(r, i) == (double)(7 + i));

	/* A short copy takes the newest values, oldest of them first. */
	n = ring_num_copy(r, out, 2);
	assert_int_equal(n, 2);
	assert_true(out[0] == 9.0 && out[1] == 10.0);
	n = ring_num_copy(r, out, 8);
	assert_int_equal(n, 4);
	for (i = 0; i < 4; i++)
		assert_true(out[i] == (double)(7 + i));

	ring_num_clear(r);
	assert_int_equal(ring_num_len(r), 0);
	ring_num_push(r, 42.0);
	assert_int_equal(ring_num_len(r), 1);
	assert_true(ring_num_get(r, 0) == 42.0);
	ring_num_free(r);
}

static void
test_log_invalid(void **state)
{
	(void)state;
	errno = 0;
	assert_null(ring_log_new(0, 80));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(ring_log_new(10, 0));
	assert_int_equal(errno, EINVAL);
	ring_log_free(NULL);
}

static void
test_log_order_and_seq(void **state)
{
	struct ring_log		*r;
	struct ring_log_entry	 e;

	(void)state;
	r = ring_log_new(3, 64);
	assert_non_null(r);
	assert_int_equal(ring_log_first(r), 0);
	assert_int_equal(ring_log_next(r), 0);
	assert_int_equal(ring_log_get(r, 0, &e), -ENOENT);

	ring_log_push(r, 1000, 1, "alpha", 5);
	ring_log_push(r, 1001, 2, "beta", 4);
	assert_int_equal(ring_log_first(r), 0);
	assert_int_equal(ring_log_next(r), 2);

	assert_int_equal(ring_log_get(r, 0, &e), 0);
	assert_int_equal(e.seq, 0);
	assert_int_equal(e.time_ms, 1000);
	assert_int_equal(e.stream, 1);
	assert_string_equal(e.text, "alpha");
	assert_int_equal(e.len, 5);
	assert_int_equal(ring_log_get(r, 1, &e), 0);
	assert_int_equal(e.seq, 1);
	assert_int_equal(e.stream, 2);
	assert_string_equal(e.text, "beta");
	assert_int_equal(ring_log_get(r, 2, &e), -ENOENT);

	/* An empty line is a line. */
	ring_log_push(r, 1002, 1, "", 0);
	assert_int_equal(ring_log_get(r, 2, &e), 0);
	assert_string_equal(e.text, "");
	assert_int_equal(e.len, 0);
	ring_log_free(r);
}

static void
test_log_overwrite(void **state)
{
	struct ring_log		*r;
	struct ring_log_entry	 e;
	char			 buf[64];
	int			 i, n;

	(void)state;
	r = ring_log_new(3, 64);
	assert_non_null(r);
	for (i = 0; i < 10; i++) {
		n = snprintf(buf, sizeof buf, "line %d%s", i,
		    i == 4 ? " with a longer tail to force a realloc" : "");
		ring_log_push(r, (uint64_t)i, 0, buf, (size_t)n);
	}
	/* Lines 7, 8 and 9 are kept; 0..6 were dropped, oldest first. */
	assert_int_equal(ring_log_first(r), 7);
	assert_int_equal(ring_log_next(r), 10);
	for (i = 0; i < 7; i++)
		assert_int_equal(ring_log_get(r, (uint64_t)i, &e), -ENOENT);
	for (i = 7; i < 10; i++) {
		assert_int_equal(ring_log_get(r, (uint64_t)i, &e), 0);
		assert_int_equal(e.seq, (uint64_t)i);
		assert_int_equal(e.time_ms, (uint64_t)i);
		snprintf(buf, sizeof buf, "line %d", i);
		assert_string_equal(e.text, buf);
		assert_int_equal(e.len, strlen(buf));
	}
	assert_int_equal(ring_log_get(r, 10, &e), -ENOENT);
	ring_log_free(r);
}

static void
test_log_cut(void **state)
{
	struct ring_log		*r;
	struct ring_log_entry	 e;
	/* "ab" then U+20AC (3 bytes) then "cd": 7 bytes. */
	static const char	 euro[] = "ab\xe2\x82\xac" "cd";

	(void)state;
	r = ring_log_new(8, 4);
	assert_non_null(r);

	/* Exactly max_line bytes: kept whole. */
	ring_log_push(r, 0, 0, "abcd", 4);
	assert_int_equal(ring_log_get(r, 0, &e), 0);
	assert_string_equal(e.text, "abcd");
	assert_int_equal(e.len, 4);

	/* Longer: cut at max_line and marked with an ellipsis. */
	ring_log_push(r, 0, 0, "abcdefgh", 8);
	assert_int_equal(ring_log_get(r, 1, &e), 0);
	assert_string_equal(e.text, "abcd\xe2\x80\xa6");
	assert_int_equal(e.len, 7);

	/* A cut never splits a UTF-8 sequence: it backs up to its start. */
	ring_log_push(r, 0, 0, euro, sizeof euro - 1);
	assert_int_equal(ring_log_get(r, 2, &e), 0);
	assert_string_equal(e.text, "ab\xe2\x80\xa6");
	assert_int_equal(e.len, 5);

	/* Embedded bytes are copied as given, length included. */
	ring_log_push(r, 0, 0, "x\ny", 3);
	assert_int_equal(ring_log_get(r, 3, &e), 0);
	assert_memory_equal(e.text, "x\ny", 4);
	assert_int_equal(e.len, 3);
	ring_log_free(r);
}

/*
 * The table of lines grows as lines come (8, 16, ... up to max_lines):
 * every line survives each growth in order, and once max_lines is
 * reached the oldest go first as with a table allocated up front.
 */
static void
test_log_grow(void **state)
{
	static const size_t	 caps[] = { 1, 7, 8, 9, 100, 1000 };
	struct ring_log		*r;
	struct ring_log_entry	 e;
	char			 buf[64];
	size_t			 c, max, i, total;
	int			 n;

	(void)state;
	for (c = 0; c < sizeof caps / sizeof caps[0]; c++) {
		max = caps[c];
		r = ring_log_new(max, 64);
		assert_non_null(r);
		total = 2 * max + 5;
		for (i = 0; i < total; i++) {
			n = snprintf(buf, sizeof buf, "line %zu", i);
			ring_log_push(r, (uint64_t)i, (int)(i % 2), buf,
			    (size_t)n);
			/* Everything pushed so far, up to max, is kept. */
			assert_int_equal(ring_log_next(r), i + 1);
			assert_int_equal(ring_log_first(r),
			    i + 1 > max ? i + 1 - max : 0);
		}
		for (i = 0; i < total; i++) {
			if (i < total - max) {
				assert_int_equal(ring_log_get(r, i, &e),
				    -ENOENT);
				continue;
			}
			assert_int_equal(ring_log_get(r, i, &e), 0);
			assert_int_equal(e.seq, i);
			assert_int_equal(e.time_ms, i);
			assert_int_equal(e.stream, (int)(i % 2));
			snprintf(buf, sizeof buf, "line %zu", i);
			assert_string_equal(e.text, buf);
		}
		ring_log_free(r);
	}

	/* Lines read back while the table grows under them stay right. */
	r = ring_log_new(1000, 64);
	assert_non_null(r);
	for (i = 0; i < 300; i++) {
		n = snprintf(buf, sizeof buf, "%zu", i);
		ring_log_push(r, 0, 0, buf, (size_t)n);
		assert_int_equal(ring_log_get(r, i / 2, &e), 0);
		snprintf(buf, sizeof buf, "%zu", i / 2);
		assert_string_equal(e.text, buf);
	}
	ring_log_free(r);
}

/* ---- packed records: wrap-around, cuts, memory --------------------------- */

#define T0	UINT64_C(1767225600000)	/* 2026-01-01, in ms */

/* A deterministic generator, so each line can be made again to compare. */
static uint32_t
lcg(uint32_t *x)
{
	*x = *x * 1103515245u + 12345u;
	return *x >> 8;
}

/* Line s of a test: its text (len bytes, any byte but NUL), time, stream. */
struct line {
	char		text[5000];
	size_t		len;
	uint64_t	time_ms;
	int		stream;
};

static void
line_make(struct line *l, uint64_t s, size_t min, size_t max)
{
	uint32_t	x = (uint32_t)(s * 2654435761u) ^ 0x5bd1e995u;
	size_t		i;

	lcg(&x);
	l->len = min + lcg(&x) % (max - min + 1);
	for (i = 0; i < l->len; i++)
		l->text[i] = (char)('!' + (s * 7 + i * 13 + lcg(&x)) % 94);
	l->text[l->len] = '\0';
	/* Mostly forward, sometimes back (a wall clock step), rare jumps. */
	l->time_ms = T0 + s * 37;
	if (s % 11 == 5)
		l->time_ms -= 90000;
	if (s % 1009 == 1000)
		l->time_ms += UINT64_C(1) << 40;
	if (s % 997 == 3)
		l->time_ms = 0;
	switch (s % 7) {
	case 0:
		l->stream = INT_MIN;
		break;
	case 1:
		l->stream = INT_MAX;
		break;
	default:
		l->stream = (int)(s % 5) - 2;
	}
}

/* What the ring keeps of line l, cut at max (all ASCII here). */
static void
line_expect(const struct line *l, size_t max, char *out, size_t *len)
{
	if (l->len <= max) {
		memcpy(out, l->text, l->len + 1);
		*len = l->len;
		return;
	}
	memcpy(out, l->text, max);
	memcpy(out + max, "\xe2\x80\xa6", 4);
	*len = max + 3;
}

/* Line s is in the ring exactly as line_make and line_expect say. */
static void
check_line(struct ring_log *r, uint64_t s, size_t min, size_t max,
    size_t max_line)
{
	static struct line	l;
	static char		want[5004];
	struct ring_log_entry	e;
	size_t			len;

	line_make(&l, s, min, max);
	line_expect(&l, max_line, want, &len);
	memset(&e, 0, sizeof e);
	assert_int_equal(ring_log_get(r, s, &e), 0);
	assert_int_equal(e.seq, s);
	assert_int_equal(e.time_ms, l.time_ms);
	assert_int_equal(e.stream, l.stream);
	assert_int_equal(e.len, len);
	assert_memory_equal(e.text, want, len + 1);
}

/* Bytes glibc takes for malloc(n) on 64-bit (as ring_log_bytes counts). */
static size_t
chunk(size_t n)
{
	n = (n + 8 + 15) & ~(size_t)15;
	return n < 32 ? 32 : n;
}

/*
 * What the ring of one malloc per line (before the packed records) took
 * when full: a 48-byte struct, a table of 40-byte slots, one text each.
 */
static size_t
old_full_bytes(size_t max_lines, size_t max_line)
{
	return chunk(48) + chunk(40 * max_lines) +
	    max_lines * chunk(max_line + 3 + 1);
}

/*
 * The most a ring may take: the old layout's bytes, or, for a ring of few
 * long lines, max_lines + 1 of the longest records (at most 23 bytes of
 * header, cut marker and NUL) with the time base and a 4-byte index.
 */
static size_t
full_bound(size_t max_lines, size_t max_line)
{
	size_t	old = old_full_bytes(max_lines, max_line);
	size_t	exact = chunk(48) + chunk(8 + 4 * max_lines +
		    (max_lines + 1) * (max_line + 23));

	return old > exact ? old : exact;
}

/*
 * Thousands of lines from 1 byte to max_line + 10 through small rings:
 * after every push the newest max_lines are kept with their exact text,
 * time and stream (times going back and jumping, any int stream), older
 * ones are -ENOENT, and the bytes stay under the old layout's.
 */
static void
test_log_wrap_mixed(void **state)
{
	static const size_t	 shapes[][2] = {
		{ 1, 64 }, { 2, 64 }, { 7, 100 }, { 37, 100 }, { 64, 300 },
	};
	struct ring_log		*r;
	struct ring_log_entry	 e;
	size_t			 c, ml, max, total, s, k, bound;

	(void)state;
	for (c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
		ml = shapes[c][0];
		max = shapes[c][1];
		r = ring_log_new(ml, max);
		assert_non_null(r);
		bound = full_bound(ml, max);
		total = 4000 + 50 * ml;
		for (s = 0; s < total; s++) {
			static struct line	l;

			line_make(&l, s, 1, max + 10);
			ring_log_push(r, l.time_ms, l.stream, l.text, l.len);
			assert_int_equal(ring_log_next(r), s + 1);
			assert_int_equal(ring_log_first(r),
			    s + 1 > ml ? s + 1 - ml : 0);
			check_line(r, s, 1, max + 10, max);
			check_line(r, ring_log_first(r), 1, max + 10, max);
			assert_true(ring_log_bytes(r) <= bound);
			if (s % 97 != 0)
				continue;
			for (k = ring_log_first(r); k <= s; k++)
				check_line(r, k, 1, max + 10, max);
			if (ring_log_first(r) > 0) {
				assert_int_equal(ring_log_get(r,
				    ring_log_first(r) - 1, &e), -ENOENT);
				assert_int_equal(ring_log_get(r, 0, &e),
				    -ENOENT);
			}
			assert_int_equal(ring_log_get(r, s + 1, &e), -ENOENT);
			assert_int_equal(ring_log_get(r, UINT64_MAX, &e),
			    -ENOENT);
		}
		ring_log_free(r);
	}
}

/*
 * Tiny rings at their cap, lines of 0 to max_line + 4 bytes: records land
 * in every tight spot (a free run exactly one byte too short, or just
 * long enough), and after each push every kept line is intact.
 */
static void
test_log_wrap_tight(void **state)
{
	static const size_t	 shapes[][2] = {
		{ 2, 8 }, { 3, 8 }, { 2, 16 }, { 4, 16 }, { 3, 30 }, { 5, 30 },
	};
	struct ring_log		*r;
	size_t			 c, ml, max, s, k;

	(void)state;
	for (c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
		ml = shapes[c][0];
		max = shapes[c][1];
		r = ring_log_new(ml, max);
		assert_non_null(r);
		for (s = 0; s < 20000; s++) {
			static struct line	l;

			line_make(&l, s, 0, max + 4);
			ring_log_push(r, l.time_ms, l.stream, l.text, l.len);
			assert_int_equal(ring_log_first(r),
			    s + 1 > ml ? s + 1 - ml : 0);
			for (k = ring_log_first(r); k <= s; k++)
				check_line(r, k, 0, max + 4, max);
		}
		ring_log_free(r);
	}
}

/*
 * Hundreds of fresh small rings, each pushed lines of 0 to max_line + 4
 * bytes (plain ASCII, all kept lines read back after every push): each
 * goes through growing and wrapping, where free runs of every length meet
 * records of every length.
 */
static void
test_log_fresh_rings(void **state)
{
	struct ring_log		*r;
	size_t			 cfg, ml, max, s, k, base;

	(void)state;
	for (cfg = 0; cfg < 600; cfg++) {
		ml = 1 + cfg % 10;
		max = 4 + (cfg * 7) % 60;
		base = cfg * 1000;
		r = ring_log_new(ml, max);
		assert_non_null(r);
		for (s = 0; s < 150; s++) {
			static struct line	l;

			line_make(&l, base + s, 0, max + 4);
			ring_log_push(r, l.time_ms, l.stream, l.text, l.len);
			assert_int_equal(ring_log_next(r), s + 1);
			for (k = ring_log_first(r); k <= s; k++) {
				struct ring_log_entry	e;
				static struct line	m;
				static char		want[5004];
				size_t			len;

				line_make(&m, base + k, 0, max + 4);
				line_expect(&m, max, want, &len);
				assert_int_equal(ring_log_get(r, k, &e), 0);
				assert_int_equal(e.time_ms, m.time_ms);
				assert_int_equal(e.stream, m.stream);
				assert_int_equal(e.len, len);
				assert_memory_equal(e.text, want, len + 1);
			}
		}
		ring_log_free(r);
	}
}

/*
 * Records past 64 KiB (where index slots widen from 2 to 4 bytes): a
 * thousand lines of up to 200 bytes, every one read back.
 */
static void
test_log_wide_index(void **state)
{
	struct ring_log		*r;
	size_t			 s, k;

	(void)state;
	r = ring_log_new(1000, 200);
	assert_non_null(r);
	for (s = 0; s < 3000; s++) {
		static struct line	l;

		line_make(&l, s, 1, 210);
		ring_log_push(r, l.time_ms, l.stream, l.text, l.len);
		check_line(r, s, 1, 210, 200);
		if (s % 250 == 249)
			for (k = ring_log_first(r); k <= s; k++)
				check_line(r, k, 1, 210, 200);
	}
	assert_true(ring_log_bytes(r) > 0x10000);
	ring_log_free(r);
}

/*
 * The buffer grows to fit while small and by doubling beyond: filling a
 * 1000-line ring with 40-byte lines reallocates a few times, not once per
 * line (pushes stay O(len) amortized).
 */
static void
test_log_growth_doubles(void **state)
{
	struct ring_log		*r;
	char			 buf[64];
	size_t			 i, bytes, changes = 0;
	int			 n;

	(void)state;
	r = ring_log_new(1000, 4100);
	assert_non_null(r);
	bytes = ring_log_bytes(r);
	for (i = 0; i < 1000; i++) {
		n = snprintf(buf, sizeof buf, "%039zu|", i);
		ring_log_push(r, T0, 1, buf, (size_t)n);
		if (ring_log_bytes(r) != bytes)
			changes++;
		bytes = ring_log_bytes(r);
	}
	/* 5 while under 256 bytes, then 8 doublings of the records (to
	 * 44,000 bytes) and 7 of the index (8 to 1000 slots): 20.  Grown to
	 * fit each time, it would be about 1000. */
	assert_true(changes <= 24);
	ring_log_free(r);
}

/*
 * Texts got from a ring stay valid together until the next push: a reader
 * (the ctl log tail) collects pointers to many lines, then uses them.
 */
static void
test_log_texts_stable(void **state)
{
	struct ring_log		*r;
	struct ring_log_entry	 e[50];
	static struct line	 l;
	static char		 want[5004];
	size_t			 s, k, len;

	(void)state;
	r = ring_log_new(50, 200);
	assert_non_null(r);
	for (s = 0; s < 1234; s++) {
		line_make(&l, s, 1, 210);
		ring_log_push(r, l.time_ms, l.stream, l.text, l.len);
	}
	for (k = 0; k < 50; k++)
		assert_int_equal(ring_log_get(r, 1184 + k, &e[k]), 0);
	for (k = 0; k < 50; k++) {
		line_make(&l, 1184 + k, 1, 210);
		line_expect(&l, 200, want, &len);
		assert_int_equal(e[k].len, len);
		assert_memory_equal(e[k].text, want, len + 1);
	}
	ring_log_free(r);
}

/* One cut: text cut at max reads want (NUL-terminated, with its length). */
static void
check_cut(size_t max, const char *text, const char *want)
{
	struct ring_log		*r;
	struct ring_log_entry	 e;

	r = ring_log_new(2, max);
	assert_non_null(r);
	ring_log_push(r, T0, 1, text, strlen(text));
	assert_int_equal(ring_log_get(r, 0, &e), 0);
	assert_string_equal(e.text, want);
	assert_int_equal(e.len, strlen(want));
	ring_log_free(r);
}

/* Cuts keep whole UTF-8 sequences of 2, 3 and 4 bytes. */
static void
test_log_cut_utf8(void **state)
{
	/* "é" is c3 a9, "€" e2 82 ac, U+1F600 f0 9f 98 80. */
	static const char	 e_acute[] = "abc\xc3\xa9" "d";
	static const char	 grin[] = "a\xf0\x9f\x98\x80" "b";
	char			 many[64], want[64];
	size_t			 max, n;

	(void)state;
	check_cut(6, e_acute, e_acute);
	check_cut(5, e_acute, "abc\xc3\xa9\xe2\x80\xa6");
	check_cut(4, e_acute, "abc\xe2\x80\xa6");
	check_cut(3, e_acute, "abc\xe2\x80\xa6");

	check_cut(6, grin, grin);
	check_cut(5, grin, "a\xf0\x9f\x98\x80\xe2\x80\xa6");
	check_cut(4, grin, "a\xe2\x80\xa6");
	check_cut(3, grin, "a\xe2\x80\xa6");
	check_cut(2, grin, "a\xe2\x80\xa6");
	check_cut(1, grin, "a\xe2\x80\xa6");

	check_cut(6, "\xe2\x82\xac\xe2\x82\xac", "\xe2\x82\xac\xe2\x82\xac");
	check_cut(5, "\xe2\x82\xac\xe2\x82\xac", "\xe2\x82\xac\xe2\x80\xa6");
	/* A sequence cut at its start leaves nothing but the marker. */
	check_cut(2, "\xe2\x82\xac" "x", "\xe2\x80\xa6");

	/* Not UTF-8 (a run of continuation bytes): a plain byte cut. */
	check_cut(4, "ab\x80\x80\x80\x80\x80", "ab\x80\x80\xe2\x80\xa6");

	/* Every cut of a run of "é" ends on a whole character. */
	for (n = 0; n < 15; n++)
		memcpy(many + 2 * n, "\xc3\xa9", 2);
	many[30] = '\0';
	for (max = 1; max < 30; max++) {
		n = max / 2 * 2;
		memcpy(want, many, n);
		memcpy(want + n, "\xe2\x80\xa6", 4);
		check_cut(max, many, want);
	}
}

/*
 * Memory: an empty ring is its struct; 5 lines of 40 bytes (a quiet
 * worker's notes) take at most 304 bytes (720 in the layout of one malloc
 * per line); lines shorter than max_line take about what they hold.
 */
static void
test_log_bytes_small(void **state)
{
	static const uint64_t	 dt[5] = { 0, 3, 250, 1800, 65000 };
	static const int	 streams[5] = { 3, 3, 1, 2, 3 };
	struct ring_log		*r;
	struct ring_log_entry	 e;
	char			 buf[64];
	size_t			 i, bytes;
	int			 n;

	(void)state;
	r = ring_log_new(1000, 4100);
	assert_non_null(r);
	assert_true(ring_log_bytes(r) <= 48);
	for (i = 0; i < 5; i++) {
		n = snprintf(buf, sizeof buf, "pid %5zu note %zu: %-21s|",
		    40000 + i, i, "worker is ready");
		assert_int_equal(n, 40);
		ring_log_push(r, T0 + dt[i], streams[i], buf, (size_t)n);
	}
	bytes = ring_log_bytes(r);
	assert_true(bytes <= 304);
	for (i = 0; i < 5; i++) {
		assert_int_equal(ring_log_get(r, i, &e), 0);
		assert_int_equal(e.time_ms, T0 + dt[i]);
		assert_int_equal(e.stream, streams[i]);
		assert_int_equal(e.len, 40);
	}
	ring_log_free(r);

	/* 5000 lines of 40 bytes through 1000 lines: ~50 bytes per line,
	 * not the 4,112,000 bytes a full ring of 4100-byte lines may take. */
	r = ring_log_new(1000, 4100);
	assert_non_null(r);
	for (i = 0; i < 5000; i++) {
		n = snprintf(buf, sizeof buf, "%039zu|", i);
		ring_log_push(r, T0 + i * 1000, 1, buf, (size_t)n);
	}
	assert_int_equal(ring_log_first(r), 4000);
	assert_true(ring_log_bytes(r) <= 2 * 1000 * 46 + 4 * 1000 + 64);

	/* At its size, a ring of like lines allocates no more. */
	bytes = ring_log_bytes(r);
	for (i = 5000; i < 20000; i++) {
		n = snprintf(buf, sizeof buf, "%039zu|", i);
		ring_log_push(r, T0 + 4999 * 1000, 1, buf, (size_t)n);
	}
	assert_int_equal(ring_log_bytes(r), bytes);
	assert_int_equal(ring_log_get(r, 19000, &e), 0);
	snprintf(buf, sizeof buf, "%039d|", 19000);
	assert_string_equal(e.text, buf);
	ring_log_free(r);
}

/*
 * A full ring of the longest lines never takes more than the layout of
 * one malloc per line did (or, with few lines, one record more), and
 * keeps exactly max_lines lines.
 */
static void
test_log_bytes_full(void **state)
{
	static const size_t	 shapes[][2] = {
		{ 1000, 4100 }, { 1000, 2048 }, { 200, 4100 }, { 100, 4100 },
		{ 5, 4100 }, { 3, 4100 }, { 2, 4100 }, { 1, 4100 },
		{ 2, 64 }, { 3, 1 },
	};
	struct ring_log		*r;
	size_t			 c, ml, max, s, k, kept, bound;

	(void)state;
	for (c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
		ml = shapes[c][0];
		max = shapes[c][1];
		r = ring_log_new(ml, max);
		assert_non_null(r);
		bound = full_bound(ml, max);
		/* Near max_line (cut or not), then mixed, then all cut. */
		for (s = 0; s < 3 * ml + 40; s++) {
			static struct line	l;

			if (s < ml + 20)
				line_make(&l, s, max > 8 ? max - 8 : 1,
				    max + 10);
			else if (s < 2 * ml + 30)
				line_make(&l, s, 1, max + 10);
			else
				line_make(&l, s, max + 1, max + 10);
			ring_log_push(r, l.time_ms, l.stream, l.text, l.len);
			assert_true(ring_log_bytes(r) <= bound);
			kept = ring_log_next(r) - ring_log_first(r);
			assert_true(kept <= ml);
			assert_int_equal(kept, s + 1 < ml ? s + 1 : ml);
		}
		for (k = ring_log_first(r); k < ring_log_next(r); k++)
			check_line(r, k, max + 1, max + 10, max);
		ring_log_free(r);
	}
}

/* Limits: a line size past RING_LOG_LINE_LIMIT or a ring past 4 GiB. */
static void
test_log_limits(void **state)
{
	struct ring_log	*r;

	(void)state;
	errno = 0;
	assert_null(ring_log_new(1, (size_t)RING_LOG_LINE_LIMIT + 1));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(ring_log_new(1u << 20, 1u << 16));
	assert_int_equal(errno, EINVAL);
	/* The largest the config allows (log_lines = 1000000) still works,
	 * with the engine's and the dashboard's line sizes. */
	r = ring_log_new(1000000, 4100);
	assert_non_null(r);
	assert_true(ring_log_bytes(r) <= 48);
	ring_log_push(r, T0, 1, "x", 1);
	ring_log_free(r);
	r = ring_log_new(1000000, 2048);
	assert_non_null(r);
	ring_log_free(r);
	r = ring_log_new(1, RING_LOG_LINE_LIMIT);
	assert_non_null(r);
	ring_log_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_num_invalid),
		cmocka_unit_test(test_num_order),
		cmocka_unit_test(test_num_wrap),
		cmocka_unit_test(test_log_invalid),
		cmocka_unit_test(test_log_order_and_seq),
		cmocka_unit_test(test_log_overwrite),
		cmocka_unit_test(test_log_cut),
		cmocka_unit_test(test_log_grow),
		cmocka_unit_test(test_log_wrap_mixed),
		cmocka_unit_test(test_log_wrap_tight),
		cmocka_unit_test(test_log_fresh_rings),
		cmocka_unit_test(test_log_wide_index),
		cmocka_unit_test(test_log_growth_doubles),
		cmocka_unit_test(test_log_texts_stable),
		cmocka_unit_test(test_log_cut_utf8),
		cmocka_unit_test(test_log_bytes_small),
		cmocka_unit_test(test_log_bytes_full),
		cmocka_unit_test(test_log_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
