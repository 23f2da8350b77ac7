/*
 * pooltop wire protocol: the frame codec.  Pure functions over byte
 * buffers: no I/O, no allocation.  Documented byte by byte in
 * man/pooltop-protocol.7.
 *
 * Frame: u32 length (big-endian; bytes after this field, 1..max), u8 type,
 * then the body of that type.  Integers are big-endian.
 *
 *   HELLO   (1) worker->pool  u16 version, u16 count, count x (u16 len, name)
 *   REQUEST (2) pool->worker  u32 id, u16 name_len, name, payload (rest)
 *   RESULT  (3) worker->pool  u32 id, payload (rest)
 *   ERROR   (4) worker->pool  u32 id, message (rest, UTF-8)
 *   LOCK   (16) worker->pool  u32 id, u32 timeout_ms, lock name (rest)
 *   UNLOCK (17) worker->pool  u32 id, lock name (rest)
 *   LOCKED (18) pool->worker  u32 id, u8 status, message (rest, UTF-8)
 *
 * The pool writes requests to the worker's fd 3 and reads replies from
 * its fd 4.
 */
#ifndef POOLTOP_PROTO_H
#define POOLTOP_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PROTO_VERSION		1
#define PROTO_LEN_SIZE		4		/* the length field */
#define PROTO_MAX_FRAME		(16u << 20)	/* max of the length field */
#define PROTO_MAX_NAME		255		/* task name bytes */
#define PROTO_FD_REQUESTS	3		/* worker reads requests here */
#define PROTO_FD_REPLIES	4		/* worker writes replies here */
#define PROTO_FD_LOCKS		5		/* the pool's lock region, if it has locks */
#define PROTO_MAX_LOCK_NAME	63		/* lock name bytes */
#define PROTO_LOCK_FOREVER	0xffffffffu	/* LOCK timeout: wait as long as it takes */

enum proto_type {
	PROTO_HELLO	= 1,
	PROTO_REQUEST	= 2,
	PROTO_RESULT	= 3,
	PROTO_ERROR	= 4,
	/* Locks served by the engine for workers that do not map the region: */
	PROTO_LOCK	= 16,
	PROTO_UNLOCK	= 17,
	PROTO_LOCKED	= 18,
};

/* The status of a LOCKED answer. */
enum proto_lock_status {
	PROTO_LOCK_OK		= 0,	/* taken (LOCK) or given back (UNLOCK) */
	PROTO_LOCK_OWNER_DIED	= 1,	/* taken; its last holder died holding it */
	PROTO_LOCK_BUSY		= 2,	/* timeout 0 and another holds it */
	PROTO_LOCK_TIMEDOUT	= 3,	/* not taken within the timeout */
	PROTO_LOCK_ERROR	= 4,	/* the message says why */
};

/* Decoder results: > 0 more bytes needed, 0 a frame, < 0 malformed. */
enum proto_status {
	PROTO_NEED_MORE	= 1,
	PROTO_OK	= 0,
	PROTO_ESHORT	= -1,	/* length field smaller than the type's fixed part */
	PROTO_ETOOBIG	= -2,	/* length field over the maximum frame size */
	PROTO_ETYPE	= -3,	/* unknown type byte */
	PROTO_ETRUNC	= -4,	/* a field runs past the end of the frame */
	PROTO_EVERSION	= -5,	/* HELLO with a version we do not speak */
	PROTO_ETRAILING	= -6,	/* bytes left after the last field (HELLO) */
	PROTO_ENAME	= -7,	/* task or lock name empty, too long, or with a NUL */
	PROTO_ESPACE	= -8,	/* encoder: output buffer too small */
};

/* Human text for a status ("oversized frame length", ...). */
const char *proto_strerror(int status);

/* A decoded frame; pointers point into the decoded buffer (no copy). */
struct proto_msg {
	enum proto_type	 type;
	uint32_t	 id;		/* REQUEST, RESULT, ERROR */
	const char	*name;		/* REQUEST: task name (not NUL-terminated) */
	size_t		 name_len;
	const uint8_t	*data;		/* REQUEST payload, RESULT payload, ERROR message */
	size_t		 data_len;
	uint16_t	 version;	/* HELLO */
	uint16_t	 ntasks;	/* HELLO */
	const uint8_t	*tasks;		/* HELLO: the count x (u16 len, name) list */
	size_t		 tasks_len;
	uint32_t	 timeout_ms;	/* LOCK (name: the lock's) */
	uint8_t		 status;	/* LOCKED (data: the message) */
};

/*
 * Decodes the frame at the start of buf.  On PROTO_OK fills *msg and sets
 * *frame_len to the bytes the frame takes (length field included).  On
 * PROTO_NEED_MORE sets *frame_len to the total bytes needed when known
 * (else 0).  max_frame: the largest length field accepted (<= PROTO_MAX_FRAME;
 * 0 means PROTO_MAX_FRAME).  Never reads outside buf[0..len).
 * Checks run as soon as their bytes are there: the length field (ETOOBIG,
 * ESHORT if 0) from 4 bytes, the type (ETYPE, ESHORT) from 5, the body
 * once the whole frame is in.
 */
int	proto_decode(const uint8_t *buf, size_t len, uint32_t max_frame,
	    struct proto_msg *msg, size_t *frame_len);

/*
 * Iterates a HELLO's task list: *pos starts at 0; returns 1 and sets
 * name/len for each task, 0 at the end.  The list was validated by
 * proto_decode, so this cannot fail.
 */
int	proto_hello_next(const struct proto_msg *, size_t *pos,
	    const char **name, size_t *len);

/* Encoded sizes, length field included. */
size_t	proto_request_size(size_t name_len, size_t payload_len);
size_t	proto_reply_size(size_t payload_len);

/*
 * Encoders write one whole frame into out[0..cap) and return the bytes
 * written, or PROTO_ESPACE / PROTO_ENAME / PROTO_ETOOBIG.  Header-only
 * variants write everything but the payload, so a caller can send the
 * payload from its own buffer (writev) without copying.
 */
long	proto_encode_hello(uint8_t *out, size_t cap, const char *const *names,
	    size_t count);
long	proto_encode_request(uint8_t *out, size_t cap, uint32_t id,
	    const char *name, size_t name_len, const void *payload,
	    size_t payload_len);
long	proto_encode_request_header(uint8_t *out, size_t cap, uint32_t id,
	    const char *name, size_t name_len, size_t payload_len);
long	proto_encode_reply(uint8_t *out, size_t cap, enum proto_type type,
	    uint32_t id, const void *payload, size_t payload_len);
long	proto_encode_reply_header(uint8_t *out, size_t cap,
	    enum proto_type type, uint32_t id, size_t payload_len);
/* LOCK (with timeout_ms) or UNLOCK (timeout_ms ignored). */
long	proto_encode_lock(uint8_t *out, size_t cap, enum proto_type type,
	    uint32_t id, uint32_t timeout_ms, const char *name,
	    size_t name_len);
long	proto_encode_locked(uint8_t *out, size_t cap, uint32_t id,
	    enum proto_lock_status status, const void *msg, size_t msg_len);

/*
 * The hot paths' encoders: no checks, inline.  The caller has made sure
 * of what the checked encoders above verify (a valid name, a frame within
 * PROTO_MAX_FRAME, room in out for the header).
 */
#define PROTO_REPLY_HEADER	(PROTO_LEN_SIZE + 1 + 4)
#define PROTO_REQUEST_HEADER(name_len) \
	(PROTO_LEN_SIZE + 1 + 4 + 2 + (size_t)(name_len))

static inline uint8_t *
proto_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return (p + 4);
}

static inline uint32_t
proto_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

/*
 * The hot path's decoder for the common frame: a whole RESULT or ERROR
 * frame at buf[0..len).  Returns its size and fills msg's type, id and
 * data, or returns 0 for anything else (then proto_decode says what).
 */
static inline size_t
proto_peek_reply(const uint8_t *buf, size_t len, struct proto_msg *msg)
{
	uint32_t	flen;

	if (len < PROTO_REPLY_HEADER ||
	    (buf[PROTO_LEN_SIZE] != PROTO_RESULT &&
	    buf[PROTO_LEN_SIZE] != PROTO_ERROR))
		return (0);
	flen = proto_get32(buf);
	if (flen < PROTO_REPLY_HEADER - PROTO_LEN_SIZE ||
	    flen > PROTO_MAX_FRAME || len - PROTO_LEN_SIZE < flen)
		return (0);
	msg->type = (enum proto_type)buf[PROTO_LEN_SIZE];
	msg->id = proto_get32(buf + PROTO_LEN_SIZE + 1);
	msg->data = buf + PROTO_REPLY_HEADER;
	msg->data_len = flen - (PROTO_REPLY_HEADER - PROTO_LEN_SIZE);
	return (PROTO_LEN_SIZE + (size_t)flen);
}

/*
 * proto_peek_request without its check that the name holds no NUL byte:
 * for a caller that compares the name with names that hold none (a match
 * then proves it), and makes that check itself otherwise.
 */
static inline size_t
proto_peek_request_nonul(const uint8_t *buf, size_t len,
    struct proto_msg *msg)
{
	uint32_t	flen;
	size_t		nlen;

	if (len < PROTO_REQUEST_HEADER(0) || buf[PROTO_LEN_SIZE] != PROTO_REQUEST)
		return (0);
	flen = proto_get32(buf);
	nlen = (size_t)buf[PROTO_LEN_SIZE + 5] << 8 | buf[PROTO_LEN_SIZE + 6];
	if (flen > PROTO_MAX_FRAME || len - PROTO_LEN_SIZE < flen ||
	    nlen == 0 || nlen > PROTO_MAX_NAME ||
	    flen < PROTO_REQUEST_HEADER(nlen) - PROTO_LEN_SIZE)
		return (0);
	msg->type = PROTO_REQUEST;
	msg->id = proto_get32(buf + PROTO_LEN_SIZE + 1);
	msg->name = (const char *)buf + PROTO_REQUEST_HEADER(0);
	msg->name_len = nlen;
	msg->data = buf + PROTO_REQUEST_HEADER(nlen);
	msg->data_len = PROTO_LEN_SIZE + flen - PROTO_REQUEST_HEADER(nlen);
	return (PROTO_LEN_SIZE + (size_t)flen);
}

/*
 * The same for a whole, well-formed REQUEST frame (the worker's side):
 * fills msg's type, id, name and data, or returns 0 (then proto_decode
 * says what is wrong or missing).
 */
static inline size_t
proto_peek_request(const uint8_t *buf, size_t len, struct proto_msg *msg)
{
	size_t	flen, i;

	if ((flen = proto_peek_request_nonul(buf, len, msg)) == 0)
		return (0);
	for (i = 0; i < msg->name_len; i++) {
		if (msg->name[i] == '\0')
			return (0);
	}
	return (flen);
}

/* Writes a RESULT or ERROR header; returns PROTO_REPLY_HEADER. */
static inline size_t
proto_put_reply_header(uint8_t *out, enum proto_type type, uint32_t id,
    size_t payload_len)
{
	uint8_t	*p;

	p = proto_put32(out, (uint32_t)(PROTO_REPLY_HEADER - PROTO_LEN_SIZE +
	    payload_len));
	*p++ = (uint8_t)type;
	proto_put32(p, id);
	return (PROTO_REPLY_HEADER);
}

/*
 * memcpy for the few bytes of a task name or a small payload, without a
 * call: overlapping fixed-size moves (the compiler makes each one or two
 * loads and stores).  Larger copies go to memcpy.
 */
static inline void
proto_copy(void *dst, const void *src, size_t n)
{
	struct chunk { uint64_t a, b; } c0, c1, c2, c3;
	uint8_t		*d = dst;
	const uint8_t	*s = src;
	uint64_t	 q0, q1;
	uint32_t	 w0, w1;

	if (n >= 16 && n <= 64) {
		if (n <= 32) {
			memcpy(&c0, s, 16);
			memcpy(&c1, s + n - 16, 16);
			memcpy(d, &c0, 16);
			memcpy(d + n - 16, &c1, 16);
			return;
		}
		memcpy(&c0, s, 16);
		memcpy(&c1, s + 16, 16);
		memcpy(&c2, s + n - 32, 16);
		memcpy(&c3, s + n - 16, 16);
		memcpy(d, &c0, 16);
		memcpy(d + 16, &c1, 16);
		memcpy(d + n - 32, &c2, 16);
		memcpy(d + n - 16, &c3, 16);
		return;
	}
	if (n >= 8 && n < 16) {
		memcpy(&q0, s, 8);
		memcpy(&q1, s + n - 8, 8);
		memcpy(d, &q0, 8);
		memcpy(d + n - 8, &q1, 8);
		return;
	}
	if (n >= 4 && n < 8) {
		memcpy(&w0, s, 4);
		memcpy(&w1, s + n - 4, 4);
		memcpy(d, &w0, 4);
		memcpy(d + n - 4, &w1, 4);
		return;
	}
	if (n > 0 && n < 4) {
		d[0] = s[0];
		d[n / 2] = s[n / 2];
		d[n - 1] = s[n - 1];
		return;
	}
	if (n != 0)
		memcpy(d, s, n);
}

/*
 * Are n bytes at a and b equal?  For task names: overlapping fixed-size
 * loads instead of a byte loop or a memcmp call when n <= 16.
 */
static inline int
proto_bytes_eq(const void *a, const void *b, size_t n)
{
	const uint8_t	*x = a, *y = b;
	uint64_t	 x0, x1, y0, y1;
	uint32_t	 u0, u1, v0, v1;

	if (n >= 4 && n < 8) {
		memcpy(&u0, x, 4);
		memcpy(&u1, x + n - 4, 4);
		memcpy(&v0, y, 4);
		memcpy(&v1, y + n - 4, 4);
		return ((u0 ^ v0) | (u1 ^ v1)) == 0;
	}
	if (n >= 8 && n <= 16) {
		memcpy(&x0, x, 8);
		memcpy(&x1, x + n - 8, 8);
		memcpy(&y0, y, 8);
		memcpy(&y1, y + n - 8, 8);
		return ((x0 ^ y0) | (x1 ^ y1)) == 0;
	}
	if (n < 4) {
		return (n == 0 || (x[0] == y[0] && x[n / 2] == y[n / 2] &&
		    x[n - 1] == y[n - 1]));
	}
	return memcmp(x, y, n) == 0;
}

/* Writes a REQUEST header, name included; returns its size. */
static inline size_t
proto_put_request_header(uint8_t *out, uint32_t id, const char *name,
    size_t name_len, size_t payload_len)
{
	uint8_t	*p;

	p = proto_put32(out, (uint32_t)(PROTO_REQUEST_HEADER(name_len) -
	    PROTO_LEN_SIZE + payload_len));
	*p++ = PROTO_REQUEST;
	p = proto_put32(p, id);
	*p++ = (uint8_t)(name_len >> 8);
	*p++ = (uint8_t)name_len;
	/* Task names are short: no memcpy call. */
	proto_copy(p, name, name_len);
	return (PROTO_REQUEST_HEADER(name_len));
}

#endif
