/*
 * Unit tests for the number and log rings: order, overwrite of the oldest,
 * line numbering, cut of over-long lines and lookups of dropped lines.
 */

#include <errno.h>
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
