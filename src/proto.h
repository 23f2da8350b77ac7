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
 *
 * The pool writes requests to the worker's fd 3 and reads replies from
 * its fd 4.
 */
#ifndef POOLTOP_PROTO_H
#define POOLTOP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION		1
#define PROTO_LEN_SIZE		4		/* the length field */
#define PROTO_MAX_FRAME		(16u << 20)	/* max of the length field */
#define PROTO_MAX_NAME		255		/* task name bytes */
#define PROTO_FD_REQUESTS	3		/* worker reads requests here */
#define PROTO_FD_REPLIES	4		/* worker writes replies here */

enum proto_type {
	PROTO_HELLO	= 1,
	PROTO_REQUEST	= 2,
	PROTO_RESULT	= 3,
	PROTO_ERROR	= 4,
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
	PROTO_ENAME	= -7,	/* task name empty, too long, or with a NUL */
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

#endif
