/*
 * libFuzzer target for the frame codec: decodes frames back to back, and
 * re-encodes each one that decoded, which must give back the same bytes.
 * Every prefix of a good frame must ask for more with the right hint.
 * Built with -Dfuzz=true (clang); tests/fuzz/run-corpus.c replays the
 * corpus in ordinary builds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t	out[PROTO_LEN_SIZE + PROTO_MAX_FRAME];

#define CHECK(x) do { if (!(x)) abort(); } while (0)

/* Re-encodes a decoded HELLO through the public encoder. */
static long
encode_hello(const struct proto_msg *m)
{
	const char	**names, *name;
	char		 *copy, *p;
	size_t		  pos = 0, len, i = 0;
	long		  n;

	names = malloc((m->ntasks + 1) * sizeof *names);
	copy = p = malloc(m->tasks_len + m->ntasks + 1);
	CHECK(names != NULL && copy != NULL);
	while (proto_hello_next(m, &pos, &name, &len)) {
		CHECK(i < m->ntasks && len >= 1 && len <= PROTO_MAX_NAME);
		memcpy(p, name, len);
		p[len] = '\0';
		names[i++] = p;
		p += len + 1;
	}
	CHECK(i == m->ntasks && pos == m->tasks_len);
	n = proto_encode_hello(out, sizeof out, names, i);
	free(names);
	free(copy);
	return n;
}

/*
 * The hot paths' decoders (proto_peek_reply on the pool's side,
 * proto_peek_request on the worker's) take exactly the whole, valid
 * frames of their type that proto_decode takes, with the same fields.
 */
static void
check_peek(const uint8_t *buf, size_t len, int st, const struct proto_msg *d,
    size_t flen)
{
	struct proto_msg p;
	size_t		 n;

	memset(&p, 0, sizeof p);
	n = proto_peek_reply(buf, len, &p);
	if (st == PROTO_OK &&
	    (d->type == PROTO_RESULT || d->type == PROTO_ERROR)) {
		CHECK(n == flen && p.type == d->type && p.id == d->id &&
		    p.data == d->data && p.data_len == d->data_len);
	} else
		CHECK(n == 0);
	memset(&p, 0, sizeof p);
	n = proto_peek_request(buf, len, &p);
	if (st == PROTO_OK && d->type == PROTO_REQUEST) {
		CHECK(n == flen && p.type == d->type && p.id == d->id &&
		    p.name == d->name && p.name_len == d->name_len &&
		    p.data == d->data && p.data_len == d->data_len);
	} else
		CHECK(n == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_msg m;
	size_t		 off = 0, flen, hint;
	long		 n;
	int		 st;

	while (off < size) {
		st = proto_decode(data + off, size - off, PROTO_MAX_FRAME, &m,
		    &flen);
		check_peek(data + off, size - off, st, &m, flen);
		if (st == PROTO_NEED_MORE) {
			CHECK(flen == 0 || flen > size - off);
			break;
		}
		if (st != PROTO_OK) {
			CHECK(st >= PROTO_ESPACE && st <= PROTO_ESHORT);
			CHECK(strcmp(proto_strerror(st),
			    proto_strerror(100)) != 0);
			break;
		}
		CHECK(flen >= PROTO_LEN_SIZE + 5 && flen <= size - off);

		switch (m.type) {
		case PROTO_HELLO:
			CHECK(m.version == PROTO_VERSION);
			n = encode_hello(&m);
			break;
		case PROTO_REQUEST:
			CHECK(m.name_len >= 1 && m.name_len <= PROTO_MAX_NAME);
			CHECK(proto_request_size(m.name_len, m.data_len) ==
			    flen);
			n = proto_encode_request(out, sizeof out, m.id, m.name,
			    m.name_len, m.data, m.data_len);
			break;
		case PROTO_RESULT:
		case PROTO_ERROR:
			CHECK(proto_reply_size(m.data_len) == flen);
			n = proto_encode_reply(out, sizeof out, m.type, m.id,
			    m.data, m.data_len);
			break;
		case PROTO_LOCK:
		case PROTO_UNLOCK:
			CHECK(m.name_len >= 1 &&
			    m.name_len <= PROTO_MAX_LOCK_NAME);
			n = proto_encode_lock(out, sizeof out, m.type, m.id,
			    m.timeout_ms, m.name, m.name_len);
			break;
		case PROTO_LOCKED:
			n = proto_encode_locked(out, sizeof out, m.id,
			    (enum proto_lock_status)m.status, m.data,
			    m.data_len);
			break;
		default:
			abort();
		}
		CHECK(n > 0 && (size_t)n == flen);
		CHECK(memcmp(out, data + off, flen) == 0);

		/* One byte short: more needed, and the frame's size known. */
		st = proto_decode(data + off, flen - 1, PROTO_MAX_FRAME, &m,
		    &hint);
		CHECK(st == PROTO_NEED_MORE && hint == flen);
		check_peek(data + off, flen - 1, st, NULL, 0);
		off += flen;
	}
	return 0;
}
