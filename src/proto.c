/*
 * pooltop wire protocol: the frame codec (see proto.h and
 * man/pooltop-protocol.7).  Pure functions over byte buffers: no I/O, no
 * allocation, and every read is bounds-checked against the caller's buffer.
 */
#include <string.h>

#include "proto.h"

/* Bytes of each type's fixed part, counted in the length field. */
#define HELLO_FIXED	(1 + 2 + 2)	/* type, version, count */
#define REQUEST_FIXED	(1 + 4 + 2)	/* type, id, name_len */
#define REPLY_FIXED	(1 + 4)		/* type, id */
#define LOCK_FIXED	(1 + 4 + 4)	/* type, id, timeout_ms */
#define UNLOCK_FIXED	(1 + 4)		/* type, id */
#define LOCKED_FIXED	(1 + 4 + 1)	/* type, id, status */

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

/* A task name is 1..PROTO_MAX_NAME bytes without a NUL byte. */
static int
name_valid(const char *name, size_t len)
{
	if (len == 0 || len > PROTO_MAX_NAME)
		return 0;
	return memchr(name, '\0', len) == NULL;
}

/* A lock name is 1..PROTO_MAX_LOCK_NAME bytes without a NUL byte. */
static int
lock_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > PROTO_MAX_LOCK_NAME)
		return 0;
	return memchr(name, '\0', len) == NULL;
}

const char *
proto_strerror(int status)
{
	switch (status) {
	case PROTO_NEED_MORE:
		return "incomplete frame (more bytes needed)";
	case PROTO_OK:
		return "ok";
	case PROTO_ESHORT:
		return "frame length too small for its type";
	case PROTO_ETOOBIG:
		return "oversized frame length";
	case PROTO_ETYPE:
		return "unknown message type";
	case PROTO_ETRUNC:
		return "field runs past the end of the frame";
	case PROTO_EVERSION:
		return "unsupported protocol version";
	case PROTO_ETRAILING:
		return "trailing bytes after the last field";
	case PROTO_ENAME:
		return "bad name (a task name has 1 to 255 bytes, a lock "
		    "name 1 to 63, and no NUL byte)";
	case PROTO_ESPACE:
		return "output buffer too small";
	}
	return "unknown protocol status";
}

/* The fixed part of a type's body (type byte included), or 0 if unknown. */
static size_t
type_fixed(uint8_t type)
{
	switch (type) {
	case PROTO_HELLO:
		return HELLO_FIXED;
	case PROTO_REQUEST:
		return REQUEST_FIXED;
	case PROTO_RESULT:
	case PROTO_ERROR:
		return REPLY_FIXED;
	case PROTO_LOCK:
		return LOCK_FIXED;
	case PROTO_UNLOCK:
		return UNLOCK_FIXED;
	case PROTO_LOCKED:
		return LOCKED_FIXED;
	}
	return 0;
}

/* Validates a HELLO's task list: count entries, each a good name, no more. */
static int
decode_hello_tasks(const uint8_t *p, size_t len, unsigned count)
{
	size_t		off = 0, nlen;
	unsigned	i;

	for (i = 0; i < count; i++) {
		if (len - off < 2)
			return PROTO_ETRUNC;
		nlen = get16(p + off);
		off += 2;
		if (nlen == 0 || nlen > PROTO_MAX_NAME)
			return PROTO_ENAME;
		if (len - off < nlen)
			return PROTO_ETRUNC;
		if (memchr(p + off, '\0', nlen) != NULL)
			return PROTO_ENAME;
		off += nlen;
	}
	if (off != len)
		return PROTO_ETRAILING;
	return PROTO_OK;
}

/*
 * Checks run in this order, each as soon as the bytes it needs are there:
 * the length field (ETOOBIG, ESHORT if 0), the type (ETYPE), the length
 * against the type's fixed part (ESHORT), then, once the whole frame is
 * in, the body (EVERSION, ENAME, ETRUNC, ETRAILING).
 */
int
proto_decode(const uint8_t *buf, size_t len, uint32_t max_frame,
    struct proto_msg *msg, size_t *frame_len)
{
	const uint8_t	*body;
	uint32_t	 flen;
	size_t		 fixed, nlen, i;
	uint8_t		 type;
	int		 rc;

	*frame_len = 0;
	if (max_frame == 0 || max_frame > PROTO_MAX_FRAME)
		max_frame = PROTO_MAX_FRAME;
	if (len < PROTO_LEN_SIZE)
		return PROTO_NEED_MORE;

	flen = get32(buf);
	if (flen > max_frame)
		return PROTO_ETOOBIG;
	if (flen == 0)
		return PROTO_ESHORT;
	if (len < PROTO_LEN_SIZE + 1) {
		*frame_len = PROTO_LEN_SIZE + (size_t)flen;
		return PROTO_NEED_MORE;
	}
	type = buf[PROTO_LEN_SIZE];
	if ((fixed = type_fixed(type)) == 0)
		return PROTO_ETYPE;
	if (flen < fixed)
		return PROTO_ESHORT;
	if (len - PROTO_LEN_SIZE < flen) {
		*frame_len = PROTO_LEN_SIZE + (size_t)flen;
		return PROTO_NEED_MORE;
	}

	memset(msg, 0, sizeof *msg);
	msg->type = (enum proto_type)type;
	body = buf + PROTO_LEN_SIZE + 1;
	switch (type) {
	case PROTO_HELLO:
		msg->version = get16(body);
		if (msg->version != PROTO_VERSION)
			return PROTO_EVERSION;
		msg->ntasks = get16(body + 2);
		msg->tasks = body + 4;
		msg->tasks_len = flen - HELLO_FIXED;
		rc = decode_hello_tasks(msg->tasks, msg->tasks_len,
		    msg->ntasks);
		if (rc != PROTO_OK)
			return rc;
		break;
	case PROTO_REQUEST:
		msg->id = get32(body);
		nlen = get16(body + 4);
		if (nlen == 0 || nlen > PROTO_MAX_NAME)
			return PROTO_ENAME;
		if (flen - REQUEST_FIXED < nlen)
			return PROTO_ETRUNC;
		msg->name = (const char *)body + 6;
		msg->name_len = nlen;
		/* Names are short: a plain loop beats a memchr call. */
		for (i = 0; i < nlen; i++) {
			if (body[6 + i] == 0)
				return PROTO_ENAME;
		}
		msg->data = body + 6 + nlen;
		msg->data_len = flen - REQUEST_FIXED - nlen;
		break;
	case PROTO_LOCK:
	case PROTO_UNLOCK:
		msg->id = get32(body);
		msg->data = NULL;
		msg->data_len = 0;
		msg->status = 0;
		fixed = type == PROTO_LOCK ? LOCK_FIXED : UNLOCK_FIXED;
		msg->timeout_ms = type == PROTO_LOCK ? get32(body + 4) : 0;
		msg->name = (const char *)body + fixed - 1;
		msg->name_len = flen - fixed;
		if (!lock_name_valid(msg->name, msg->name_len))
			return PROTO_ENAME;
		break;
	case PROTO_LOCKED:
		msg->id = get32(body);
		msg->timeout_ms = 0;
		msg->status = body[4];
		msg->data = body + 5;
		msg->data_len = flen - LOCKED_FIXED;
		break;
	default: /* PROTO_RESULT, PROTO_ERROR */
		msg->id = get32(body);
		msg->data = body + 4;
		msg->data_len = flen - REPLY_FIXED;
		break;
	}
	*frame_len = PROTO_LEN_SIZE + (size_t)flen;
	return PROTO_OK;
}

int
proto_hello_next(const struct proto_msg *msg, size_t *pos,
    const char **name, size_t *len)
{
	size_t	nlen;

	if (msg->type != PROTO_HELLO || *pos + 2 > msg->tasks_len)
		return 0;
	nlen = get16(msg->tasks + *pos);
	if (nlen > msg->tasks_len - *pos - 2)
		return 0;	/* not validated by proto_decode: stop */
	*name = (const char *)msg->tasks + *pos + 2;
	*len = nlen;
	*pos += 2 + nlen;
	return 1;
}

/* a + b, saturating at SIZE_MAX. */
static size_t
add_sat(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

size_t
proto_request_size(size_t name_len, size_t payload_len)
{
	return add_sat(PROTO_LEN_SIZE + REQUEST_FIXED + name_len, payload_len);
}

size_t
proto_reply_size(size_t payload_len)
{
	return add_sat(PROTO_LEN_SIZE + REPLY_FIXED, payload_len);
}

long
proto_encode_hello(uint8_t *out, size_t cap, const char *const *names,
    size_t count)
{
	size_t	 total = PROTO_LEN_SIZE + HELLO_FIXED, i, nlen;
	uint8_t	*p;

	if (count > UINT16_MAX)
		return PROTO_ETOOBIG;
	for (i = 0; i < count; i++) {
		nlen = strlen(names[i]);
		if (!name_valid(names[i], nlen))
			return PROTO_ENAME;
		total += 2 + nlen;
	}
	if (total - PROTO_LEN_SIZE > PROTO_MAX_FRAME)
		return PROTO_ETOOBIG;
	if (cap < total)
		return PROTO_ESPACE;

	p = put32(out, (uint32_t)(total - PROTO_LEN_SIZE));
	*p++ = PROTO_HELLO;
	p = put16(p, PROTO_VERSION);
	p = put16(p, (uint16_t)count);
	for (i = 0; i < count; i++) {
		nlen = strlen(names[i]);
		p = put16(p, (uint16_t)nlen);
		memcpy(p, names[i], nlen);
		p += nlen;
	}
	return (long)total;
}

long
proto_encode_request_header(uint8_t *out, size_t cap, uint32_t id,
    const char *name, size_t name_len, size_t payload_len)
{
	size_t	 total = proto_request_size(name_len, payload_len);
	size_t	 hlen = PROTO_LEN_SIZE + REQUEST_FIXED + name_len;

	if (!name_valid(name, name_len))
		return PROTO_ENAME;
	if (total - PROTO_LEN_SIZE > PROTO_MAX_FRAME)
		return PROTO_ETOOBIG;
	if (cap < hlen)
		return PROTO_ESPACE;

	proto_put_request_header(out, id, name, name_len, payload_len);
	return (long)hlen;
}

long
proto_encode_request(uint8_t *out, size_t cap, uint32_t id, const char *name,
    size_t name_len, const void *payload, size_t payload_len)
{
	long	hlen;

	hlen = proto_encode_request_header(out, cap, id, name, name_len,
	    payload_len);
	if (hlen < 0)
		return hlen;
	if (cap - (size_t)hlen < payload_len)
		return PROTO_ESPACE;
	if (payload_len != 0)
		memcpy(out + hlen, payload, payload_len);
	return hlen + (long)payload_len;
}

long
proto_encode_reply_header(uint8_t *out, size_t cap, enum proto_type type,
    uint32_t id, size_t payload_len)
{
	size_t	 total = proto_reply_size(payload_len);

	if (type != PROTO_RESULT && type != PROTO_ERROR)
		return PROTO_ETYPE;
	if (total - PROTO_LEN_SIZE > PROTO_MAX_FRAME)
		return PROTO_ETOOBIG;
	if (cap < PROTO_LEN_SIZE + REPLY_FIXED)
		return PROTO_ESPACE;

	return (long)proto_put_reply_header(out, type, id, payload_len);
}

long
proto_encode_reply(uint8_t *out, size_t cap, enum proto_type type,
    uint32_t id, const void *payload, size_t payload_len)
{
	long	hlen;

	hlen = proto_encode_reply_header(out, cap, type, id, payload_len);
	if (hlen < 0)
		return hlen;
	if (cap - (size_t)hlen < payload_len)
		return PROTO_ESPACE;
	if (payload_len != 0)
		memcpy(out + hlen, payload, payload_len);
	return hlen + (long)payload_len;
}

long
proto_encode_lock(uint8_t *out, size_t cap, enum proto_type type, uint32_t id,
    uint32_t timeout_ms, const char *name, size_t name_len)
{
	size_t	 fixed, total;
	uint8_t	*p;

	if (type != PROTO_LOCK && type != PROTO_UNLOCK)
		return PROTO_ETYPE;
	if (!lock_name_valid(name, name_len))
		return PROTO_ENAME;
	fixed = type == PROTO_LOCK ? LOCK_FIXED : UNLOCK_FIXED;
	total = PROTO_LEN_SIZE + fixed + name_len;
	if (cap < total)
		return PROTO_ESPACE;

	p = put32(out, (uint32_t)(total - PROTO_LEN_SIZE));
	*p++ = (uint8_t)type;
	p = put32(p, id);
	if (type == PROTO_LOCK)
		p = put32(p, timeout_ms);
	memcpy(p, name, name_len);
	return (long)total;
}

long
proto_encode_locked(uint8_t *out, size_t cap, uint32_t id,
    enum proto_lock_status status, const void *msg, size_t msg_len)
{
	size_t	 total;
	uint8_t	*p;

	if (msg_len > PROTO_MAX_FRAME - LOCKED_FIXED)
		return PROTO_ETOOBIG;
	total = PROTO_LEN_SIZE + LOCKED_FIXED + msg_len;
	if (cap < total)
		return PROTO_ESPACE;

	p = put32(out, (uint32_t)(total - PROTO_LEN_SIZE));
	*p++ = PROTO_LOCKED;
	p = put32(p, id);
	*p++ = (uint8_t)status;
	if (msg_len != 0)
		memcpy(p, msg, msg_len);
	return (long)total;
}
