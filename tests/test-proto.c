/*
 * Unit tests for the frame codec (src/proto.c): round trips of every type,
 * streams of frames, byte-by-byte decoding, every malformed input and its
 * own status, and encoders running out of space.  Buffers under test are
 * allocated at their exact size, so an over-read trips the sanitizers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto.h"

/* Copies bytes into a heap buffer of exactly len bytes. */
static uint8_t *
exact(const void *data, size_t len)
{
	uint8_t	*p = malloc(len != 0 ? len : 1);

	assert_non_null(p);
	if (len != 0)
		memcpy(p, data, len);
	return p;
}

/* Decodes data[0..len) from an exact-size copy. */
static int
decode_exact(const void *data, size_t len, uint32_t max, struct proto_msg *m,
    size_t *flen)
{
	uint8_t	*p = exact(data, len);
	int	 st;

	st = proto_decode(p, len, max, m, flen);
	free(p);
	return st;
}

/* Decodes a frame that must be whole; returns its length. */
static size_t
decode_ok(const uint8_t *buf, size_t len, struct proto_msg *m)
{
	size_t	flen = 12345;

	assert_int_equal(proto_decode(buf, len, PROTO_MAX_FRAME, m, &flen),
	    PROTO_OK);
	return flen;
}

static void
test_request_bytes(void **state)
{
	/* The worked example of pooltop-protocol(7). */
	static const uint8_t want[] = {
		0x00, 0x00, 0x00, 0x0d, 0x02, 0x00, 0x00, 0x00, 0x07,
		0x00, 0x04, 'e', 'c', 'h', 'o', 'h', 'i',
	};
	static const uint8_t want_reply[] = {
		0x00, 0x00, 0x00, 0x07, 0x03, 0x00, 0x00, 0x00, 0x07, 'h', 'i',
	};
	uint8_t	buf[64];

	assert_int_equal(proto_encode_request(buf, sizeof buf, 7, "echo", 4,
	    "hi", 2), sizeof want);
	assert_memory_equal(buf, want, sizeof want);
	assert_int_equal(proto_encode_reply(buf, sizeof buf, PROTO_RESULT, 7,
	    "hi", 2), sizeof want_reply);
	assert_memory_equal(buf, want_reply, sizeof want_reply);
	assert_int_equal(proto_request_size(4, 2), sizeof want);
	assert_int_equal(proto_reply_size(2), sizeof want_reply);
}

static void
test_hello_roundtrip(void **state)
{
	char		 longest[PROTO_MAX_NAME + 1];
	const char	*names[4] = { "echo", "s", longest, "sleep" };
	uint8_t		 buf[1024], *p;
	struct proto_msg m;
	const char	*name;
	size_t		 pos = 0, len, flen;
	long		 n;
	int		 i;

	memset(longest, 'x', PROTO_MAX_NAME);
	longest[PROTO_MAX_NAME] = '\0';
	n = proto_encode_hello(buf, sizeof buf, names, 4);
	assert_int_equal(n, 4 + 5 + 4 * 2 + 4 + 1 + PROTO_MAX_NAME + 5);
	p = exact(buf, (size_t)n);
	flen = decode_ok(p, (size_t)n, &m);
	assert_int_equal(flen, n);
	assert_int_equal(m.type, PROTO_HELLO);
	assert_int_equal(m.version, PROTO_VERSION);
	assert_int_equal(m.ntasks, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(proto_hello_next(&m, &pos, &name, &len), 1);
		assert_int_equal(len, strlen(names[i]));
		assert_memory_equal(name, names[i], len);
	}
	assert_int_equal(proto_hello_next(&m, &pos, &name, &len), 0);
	free(p);
}

static void
test_hello_empty(void **state)
{
	static const uint8_t want[] = { 0, 0, 0, 5, 1, 0, 1, 0, 0 };
	uint8_t		 buf[16];
	struct proto_msg m;
	const char	*name;
	size_t		 pos = 0, len;

	assert_int_equal(proto_encode_hello(buf, sizeof buf, NULL, 0),
	    sizeof want);
	assert_memory_equal(buf, want, sizeof want);
	assert_int_equal(decode_ok(want, sizeof want, &m), sizeof want);
	assert_int_equal(m.ntasks, 0);
	assert_int_equal(m.tasks_len, 0);
	assert_int_equal(proto_hello_next(&m, &pos, &name, &len), 0);
}

static void
test_request_roundtrip(void **state)
{
	uint8_t		 payload[256], *buf;
	char		 longest[PROTO_MAX_NAME];
	struct proto_msg m;
	size_t		 size, i;
	long		 n;

	for (i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)i;	/* includes NUL and 0xff */
	memset(longest, 'n', sizeof longest);

	/* Binary payload, 1-byte name. */
	size = proto_request_size(1, sizeof payload);
	buf = malloc(size);
	n = proto_encode_request(buf, size, 0xfffffffeu, "e", 1, payload,
	    sizeof payload);
	assert_int_equal(n, size);
	assert_int_equal(decode_ok(buf, size, &m), size);
	assert_int_equal(m.type, PROTO_REQUEST);
	assert_int_equal(m.id, 0xfffffffeu);
	assert_int_equal(m.name_len, 1);
	assert_memory_equal(m.name, "e", 1);
	assert_int_equal(m.data_len, sizeof payload);
	assert_memory_equal(m.data, payload, sizeof payload);
	free(buf);

	/* Empty payload, 255-byte name: the frame ends with the name. */
	size = proto_request_size(PROTO_MAX_NAME, 0);
	buf = malloc(size);
	n = proto_encode_request(buf, size, 0, longest, sizeof longest, NULL,
	    0);
	assert_int_equal(n, size);
	assert_int_equal(decode_ok(buf, size, &m), size);
	assert_int_equal(m.id, 0);
	assert_int_equal(m.name_len, PROTO_MAX_NAME);
	assert_memory_equal(m.name, longest, PROTO_MAX_NAME);
	assert_int_equal(m.data_len, 0);
	free(buf);
}

static void
test_reply_roundtrip(void **state)
{
	static const uint8_t bin[] = { 0, 1, 0xff, 0, '\n', 0x80 };
	static const enum proto_type types[] = { PROTO_RESULT, PROTO_ERROR };
	struct proto_msg m;
	uint8_t		*buf;
	size_t		 size, i, plen;

	for (i = 0; i < 4; i++) {
		plen = i < 2 ? sizeof bin : 0;
		size = proto_reply_size(plen);
		buf = malloc(size);
		assert_int_equal(proto_encode_reply(buf, size, types[i % 2],
		    (uint32_t)i * 1000003u, plen ? bin : NULL, plen), size);
		assert_int_equal(decode_ok(buf, size, &m), size);
		assert_int_equal(m.type, types[i % 2]);
		assert_int_equal(m.id, (uint32_t)i * 1000003u);
		assert_int_equal(m.data_len, plen);
		if (plen)
			assert_memory_equal(m.data, bin, plen);
		free(buf);
	}
}

static void
test_header_variants(void **state)
{
	uint8_t	whole[64], split[64];
	long	n, h;

	n = proto_encode_request(whole, sizeof whole, 9, "sleep", 5, "300", 3);
	h = proto_encode_request_header(split, sizeof split, 9, "sleep", 5, 3);
	assert_int_equal(h, 4 + 7 + 5);
	memcpy(split + h, "300", 3);
	assert_int_equal(n, h + 3);
	assert_memory_equal(whole, split, (size_t)n);

	n = proto_encode_reply(whole, sizeof whole, PROTO_ERROR, 9, "bad", 3);
	h = proto_encode_reply_header(split, sizeof split, PROTO_ERROR, 9, 3);
	assert_int_equal(h, 4 + 5);
	memcpy(split + h, "bad", 3);
	assert_int_equal(n, h + 3);
	assert_memory_equal(whole, split, (size_t)n);
}

/* Frame i of the stream test: a mix of every type and size. */
static long
stream_frame(uint8_t *out, size_t cap, unsigned i)
{
	static const char *const names[] = { "echo", "sleep", "x" };
	uint8_t	payload[300];

	memset(payload, (int)(i & 0xff), sizeof payload);
	switch (i % 4) {
	case 0:
		return proto_encode_request(out, cap, i, names[i % 3],
		    strlen(names[i % 3]), payload, i % 300);
	case 1:
		return proto_encode_reply(out, cap, PROTO_RESULT, i, payload,
		    i % 7);
	case 2:
		return proto_encode_reply(out, cap, PROTO_ERROR, i, payload,
		    i % 300);
	default:
		return proto_encode_hello(out, cap, names, i % 4);
	}
}

static void
test_back_to_back(void **state)
{
	enum { N = 1000 };
	struct proto_msg m;
	uint8_t		*buf, one[512];
	size_t		 len = 0, cap = (size_t)N * 512, off = 0, flen;
	unsigned	 i;
	long		 n;

	buf = malloc(cap);
	for (i = 0; i < N; i++) {
		n = stream_frame(buf + len, cap - len, i);
		assert_true(n > 0);
		len += (size_t)n;
	}
	buf = realloc(buf, len);	/* exact size */
	for (i = 0; i < N; i++) {
		n = stream_frame(one, sizeof one, i);
		flen = decode_ok(buf + off, len - off, &m);
		assert_int_equal(flen, n);
		assert_memory_equal(buf + off, one, flen);
		if (i % 4 != 3)
			assert_int_equal(m.id, i);
		off += flen;
	}
	assert_int_equal(off, len);
	assert_int_equal(proto_decode(buf + off, 0, 0, &m, &flen),
	    PROTO_NEED_MORE);
	assert_int_equal(flen, 0);
	free(buf);
}

/* Every prefix of a frame needs more; the hint appears with the length. */
static void
check_bytewise(const uint8_t *frame, size_t size)
{
	struct proto_msg m;
	size_t		 i, flen;

	for (i = 0; i < size; i++) {
		flen = 999;
		assert_int_equal(decode_exact(frame, i, PROTO_MAX_FRAME, &m,
		    &flen), PROTO_NEED_MORE);
		assert_int_equal(flen, i < PROTO_LEN_SIZE ? 0 : size);
	}
	assert_int_equal(decode_exact(frame, size, PROTO_MAX_FRAME, &m,
	    &flen), PROTO_OK);
	assert_int_equal(flen, size);
}

static void
test_byte_by_byte(void **state)
{
	const char	*names[] = { "echo", "sleep" };
	uint8_t		 buf[128];
	long		 n;

	n = proto_encode_hello(buf, sizeof buf, names, 2);
	check_bytewise(buf, (size_t)n);
	n = proto_encode_request(buf, sizeof buf, 1, "echo", 4, "\0\1\2", 3);
	check_bytewise(buf, (size_t)n);
	n = proto_encode_reply(buf, sizeof buf, PROTO_RESULT, 2, "ok", 2);
	check_bytewise(buf, (size_t)n);
	n = proto_encode_reply(buf, sizeof buf, PROTO_ERROR, 3, NULL, 0);
	check_bytewise(buf, (size_t)n);
}

/* A frame given as bytes must decode to exactly this status. */
#define BAD(status, ...) do {						\
	static const uint8_t f_[] = { __VA_ARGS__ };			\
	struct proto_msg m_;						\
	size_t fl_;							\
	assert_int_equal(decode_exact(f_, sizeof f_, PROTO_MAX_FRAME,	\
	    &m_, &fl_), status);					\
} while (0)

static void
test_malformed(void **state)
{
	/* Short: length 0, or below the type's fixed part. */
	BAD(PROTO_ESHORT, 0, 0, 0, 0);
	BAD(PROTO_ESHORT, 0, 0, 0, 0, 2, 0, 0, 0, 1);
	BAD(PROTO_ESHORT, 0, 0, 0, 6, 2, 0, 0, 0, 1, 0);	/* REQUEST */
	BAD(PROTO_ESHORT, 0, 0, 0, 4, 3, 0, 0, 0);		/* RESULT < 5 */
	BAD(PROTO_ESHORT, 0, 0, 0, 4, 4, 0, 0, 0);		/* ERROR < 5 */
	BAD(PROTO_ESHORT, 0, 0, 0, 4, 1, 0, 1, 0);		/* HELLO < 5 */
	/* Short is known before the rest of the frame arrives. */
	BAD(PROTO_ESHORT, 0, 0, 0, 3, 2);

	/* Oversized: known from the length field alone. */
	BAD(PROTO_ETOOBIG, 0x01, 0x00, 0x00, 0x01);
	BAD(PROTO_ETOOBIG, 0xff, 0xff, 0xff, 0xff, 3);

	/* Unknown type, known from the fifth byte. */
	BAD(PROTO_ETYPE, 0, 0, 0, 5, 0);
	BAD(PROTO_ETYPE, 0, 0, 0, 5, 5, 0, 0, 0, 0);
	BAD(PROTO_ETYPE, 0, 0, 0, 1, 0xff);

	/* Truncated fields. */
	BAD(PROTO_ETRUNC, 0, 0, 0, 9, 2, 0, 0, 0, 1, 0, 4, 'e', 'c');
	BAD(PROTO_ETRUNC, 0, 0, 0, 7, 1, 0, 1, 0, 1, 0, 4);	/* name len */
	BAD(PROTO_ETRUNC, 0, 0, 0, 8, 1, 0, 1, 0, 1, 0, 4, 'e');
	BAD(PROTO_ETRUNC, 0, 0, 0, 9, 1, 0, 1, 0, 2, 0, 2, 'a', 'b');
	BAD(PROTO_ETRUNC, 0, 0, 0, 6, 1, 0, 1, 0, 1, 0);	/* half a u16 */

	/* Versions other than ours. */
	BAD(PROTO_EVERSION, 0, 0, 0, 5, 1, 0, 2, 0, 0);
	BAD(PROTO_EVERSION, 0, 0, 0, 5, 1, 0, 0, 0, 0);
	BAD(PROTO_EVERSION, 0, 0, 0, 5, 1, 1, 1, 0, 0);

	/* Trailing bytes after a HELLO's last name. */
	BAD(PROTO_ETRAILING, 0, 0, 0, 6, 1, 0, 1, 0, 0, 'x');
	BAD(PROTO_ETRAILING, 0, 0, 0, 9, 1, 0, 1, 0, 1, 0, 1, 'a', 'b');

	/* Bad names: empty, over 255 bytes, with a NUL byte. */
	BAD(PROTO_ENAME, 0, 0, 0, 7, 2, 0, 0, 0, 1, 0, 0);
	BAD(PROTO_ENAME, 0, 0, 0, 9, 2, 0, 0, 0, 1, 0, 2, 'a', 0);
	BAD(PROTO_ENAME, 0, 0, 0, 7, 1, 0, 1, 0, 1, 0, 0);
	BAD(PROTO_ENAME, 0, 0, 0, 9, 1, 0, 1, 0, 1, 0, 2, 0, 'b');
	BAD(PROTO_ENAME, 0, 0, 0, 9, 2, 0, 0, 0, 1, 1, 0, 'a', 'b');
	BAD(PROTO_ENAME, 0, 0, 0, 9, 1, 0, 1, 0, 1, 1, 0, 'a', 'b');
}

static void
test_max_frame(void **state)
{
	struct proto_msg m;
	uint8_t		*buf, *payload, hdr[16];
	size_t		 plen = PROTO_MAX_FRAME - 5, size, flen;

	/* A reply of exactly the maximum frame size. */
	size = proto_reply_size(plen);
	assert_int_equal(size, PROTO_LEN_SIZE + PROTO_MAX_FRAME);
	buf = malloc(size);
	payload = malloc(plen);
	assert_non_null(buf);
	assert_non_null(payload);
	memset(payload, 0x5a, plen);
	assert_int_equal(proto_encode_reply(buf, size, PROTO_RESULT, 1,
	    payload, plen), size);
	assert_int_equal(decode_ok(buf, size, &m), size);
	assert_int_equal(m.data_len, plen);
	assert_memory_equal(m.data, payload, plen);
	free(payload);

	/* The caller's limit applies; 0 means PROTO_MAX_FRAME. */
	assert_int_equal(proto_decode(buf, size, PROTO_MAX_FRAME - 1, &m,
	    &flen), PROTO_ETOOBIG);
	assert_int_equal(proto_decode(buf, size, 0, &m, &flen), PROTO_OK);
	assert_int_equal(proto_decode(buf, 4, 100, &m, &flen), PROTO_ETOOBIG);
	free(buf);

	/* One byte more cannot be encoded. */
	assert_int_equal(proto_encode_reply_header(hdr, sizeof hdr,
	    PROTO_RESULT, 1, plen + 1), PROTO_ETOOBIG);
	assert_int_equal(proto_encode_request_header(hdr, sizeof hdr, 1, "a",
	    1, PROTO_MAX_FRAME - 7), PROTO_ETOOBIG);
	assert_int_equal(proto_encode_request_header(hdr, sizeof hdr, 1, "a",
	    1, PROTO_MAX_FRAME - 8), 4 + 7 + 1);
	assert_int_equal(proto_request_size(1, SIZE_MAX), SIZE_MAX);
	assert_int_equal(proto_reply_size(SIZE_MAX - 3), SIZE_MAX);
}

static void
test_encode_errors(void **state)
{
	char		 toolong[PROTO_MAX_NAME + 2];
	const char	*bad1[] = { "ok", "" }, *bad2[] = { toolong };
	const char	*bad3[] = { "ok" };
	uint8_t		 buf[600];

	memset(toolong, 'x', PROTO_MAX_NAME + 1);
	toolong[PROTO_MAX_NAME + 1] = '\0';

	assert_int_equal(proto_encode_hello(buf, sizeof buf, bad1, 2),
	    PROTO_ENAME);
	assert_int_equal(proto_encode_hello(buf, sizeof buf, bad2, 1),
	    PROTO_ENAME);
	assert_int_equal(proto_encode_hello(buf, sizeof buf, bad3, 65536),
	    PROTO_ETOOBIG);
	assert_int_equal(proto_encode_request(buf, sizeof buf, 1, "", 0, "p",
	    1), PROTO_ENAME);
	assert_int_equal(proto_encode_request(buf, sizeof buf, 1, toolong,
	    PROTO_MAX_NAME + 1, "p", 1), PROTO_ENAME);
	assert_int_equal(proto_encode_request(buf, sizeof buf, 1, "a\0b", 3,
	    "p", 1), PROTO_ENAME);
	assert_int_equal(proto_encode_reply(buf, sizeof buf, PROTO_REQUEST, 1,
	    "p", 1), PROTO_ETYPE);
	assert_int_equal(proto_encode_reply(buf, sizeof buf, PROTO_HELLO, 1,
	    "p", 1), PROTO_ETYPE);
}

static void
test_encode_space(void **state)
{
	const char	*names[] = { "echo", "sleep" };
	uint8_t		 buf[64];
	size_t		 cap;

	/* Every capacity short of the frame fails, and writes nothing past. */
	for (cap = 0; cap < 4 + 5 + 6 + 7; cap++)
		assert_int_equal(proto_encode_hello(buf, cap, names, 2),
		    PROTO_ESPACE);
	assert_int_equal(proto_encode_hello(buf, cap, names, 2), cap);
	for (cap = 0; cap < 4 + 7 + 4 + 2; cap++)
		assert_int_equal(proto_encode_request(buf, cap, 1, "echo", 4,
		    "hi", 2), PROTO_ESPACE);
	assert_int_equal(proto_encode_request(buf, cap, 1, "echo", 4, "hi", 2),
	    cap);
	for (cap = 0; cap < 4 + 7 + 4; cap++)
		assert_int_equal(proto_encode_request_header(buf, cap, 1,
		    "echo", 4, 1000), PROTO_ESPACE);
	assert_int_equal(proto_encode_request_header(buf, cap, 1, "echo", 4,
	    1000), cap);
	for (cap = 0; cap < 4 + 5 + 2; cap++)
		assert_int_equal(proto_encode_reply(buf, cap, PROTO_RESULT, 1,
		    "hi", 2), PROTO_ESPACE);
	assert_int_equal(proto_encode_reply(buf, cap, PROTO_RESULT, 1, "hi",
	    2), cap);
	for (cap = 0; cap < 4 + 5; cap++)
		assert_int_equal(proto_encode_reply_header(buf, cap,
		    PROTO_ERROR, 1, 1000), PROTO_ESPACE);
	assert_int_equal(proto_encode_reply_header(buf, cap, PROTO_ERROR, 1,
	    1000), cap);
}

static void
test_strerror(void **state)
{
	static const int st[] = {
		PROTO_NEED_MORE, PROTO_OK, PROTO_ESHORT, PROTO_ETOOBIG,
		PROTO_ETYPE, PROTO_ETRUNC, PROTO_EVERSION, PROTO_ETRAILING,
		PROTO_ENAME, PROTO_ESPACE,
	};
	size_t	i, j;

	assert_string_equal(proto_strerror(PROTO_ETOOBIG),
	    "oversized frame length");
	assert_string_equal(proto_strerror(PROTO_EVERSION),
	    "unsupported protocol version");
	assert_string_equal(proto_strerror(42), "unknown protocol status");
	for (i = 0; i < sizeof st / sizeof st[0]; i++) {
		assert_string_not_equal(proto_strerror(st[i]),
		    proto_strerror(42));
		for (j = 0; j < i; j++)
			assert_string_not_equal(proto_strerror(st[i]),
			    proto_strerror(st[j]));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_bytes),
		cmocka_unit_test(test_hello_roundtrip),
		cmocka_unit_test(test_hello_empty),
		cmocka_unit_test(test_request_roundtrip),
		cmocka_unit_test(test_reply_roundtrip),
		cmocka_unit_test(test_header_variants),
		cmocka_unit_test(test_back_to_back),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_max_frame),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_encode_space),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
