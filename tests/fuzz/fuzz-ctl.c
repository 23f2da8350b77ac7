/*
 * fuzz-ctl: the control socket's request parser on any bytes.  Parses the
 * input as a stream of requests, as the server does, and checks what the
 * parser promises: frames never run past the input, every string of a
 * parsed request is NUL-terminated inside the request, the payload lies
 * inside the input, and an encoded word always decodes to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pooltop/ctl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_string(const struct ctl_request *req, const char *s)
{
	if (s == NULL)
		return;
	if (s < req->words || s >= req->words + sizeof req->words)
		abort();
	if (memchr(s, '\0', (size_t)(req->words + sizeof req->words - s)) ==
	    NULL)
		abort();
}

/* Encodes a word (the input's first bytes) and parses it back. */
static void
round_trip(const uint8_t *data, size_t size)
{
	static struct ctl_request req;
	uint8_t		 buf[CTL_MAX_HEADER + 64];
	char		*hdr = (char *)buf + CTL_LEN_SIZE;
	size_t		 pos = 0, flen, n = size > 200 ? 200 : size;
	uint32_t	 len;

	memcpy(hdr, "send p t key=", 13);
	pos = 13;
	if (ctl_encode_word(hdr, CTL_MAX_HEADER - 2, &pos, data, n) != 0)
		abort();
	hdr[pos++] = '\n';
	len = (uint32_t)pos;
	buf[0] = len >> 24;
	buf[1] = len >> 16;
	buf[2] = len >> 8;
	buf[3] = len;
	if (ctl_parse_request(buf, CTL_LEN_SIZE + pos, &req, &flen, NULL, 0) !=
	    CTL_PARSE_OK || flen != CTL_LEN_SIZE + pos)
		abort();
	if (req.key == NULL || req.key_len != n ||
	    memcmp(req.key, data, n) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctl_request req;
	char		 err[512];
	size_t		 off = 0, flen;
	int		 rc;

	round_trip(data, size);
	while (off < size) {
		rc = ctl_parse_request(data + off, size - off, &req, &flen, err,
		    sizeof err);
		if (rc == CTL_PARSE_NEED_MORE || rc == CTL_PARSE_ETOOBIG)
			break;
		if (flen < CTL_LEN_SIZE || flen > size - off)
			abort();
		if (rc == CTL_PARSE_EINVAL) {
			if (memchr(err, '\0', sizeof err) == NULL ||
			    err[0] == '\0')
				abort();
		} else if (rc == CTL_PARSE_OK) {
			check_string(&req, req.pool);
			check_string(&req, req.task);
			check_string(&req, req.target);
			check_string(&req, req.strategy);
			if (req.key != NULL && (req.key < req.words ||
			    req.key + req.key_len > req.words +
			    sizeof req.words))
				abort();
			if (req.payload_len > 0 && (req.payload < data + off ||
			    req.payload + req.payload_len > data + off + flen))
				abort();
			if (req.op != CTL_OP_SEND && req.payload_len != 0)
				abort();
		} else
			abort();
		off += flen;
	}
	return 0;
}
