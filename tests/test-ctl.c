/*
 * Unit tests of the control socket's request parser and word encoding
 * (ctl_parse_request, ctl_encode_word, ctl_socket_path), and of the
 * server and client together over a real Unix socket.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "pooltop/ctl.h"

static struct ctl_request req;
static char err[512];

/* Builds a frame: length, header, "\n", payload. */
static size_t
frame(uint8_t *out, const char *hdr, const void *payload, size_t plen)
{
	size_t	hlen = strlen(hdr), len = hlen + 1 + plen;

	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	memcpy(out + 4, hdr, hlen);
	out[4 + hlen] = '\n';
	if (plen > 0)
		memcpy(out + 5 + hlen, payload, plen);
	return 4 + len;
}

static int
parse(const char *hdr, const void *payload, size_t plen)
{
	static uint8_t	buf[CTL_MAX_HEADER * 2 + 64];
	size_t		n, flen;
	int		rc;

	n = frame(buf, hdr, payload, plen);
	err[0] = '\0';
	rc = ctl_parse_request(buf, n, &req, &flen, err, sizeof err);
	if (rc != CTL_PARSE_NEED_MORE)
		assert_int_equal(flen, n);
	return rc;
}

static void
test_send(void **state)
{
	(void)state;
	assert_int_equal(parse("send web echo", "a\0b", 3), CTL_PARSE_OK);
	assert_int_equal(req.op, CTL_OP_SEND);
	assert_string_equal(req.pool, "web");
	assert_string_equal(req.task, "echo");
	assert_null(req.key);
	assert_int_equal(req.timeout_ms, 0);
	assert_int_equal(req.payload_len, 3);
	assert_memory_equal(req.payload, "a\0b", 3);

	assert_int_equal(parse("send web%2Fx ta%20sk key=a%00b%25 timeout=1500",
	    NULL, 0), CTL_PARSE_OK);
	assert_string_equal(req.pool, "web/x");
	assert_string_equal(req.task, "ta sk");
	assert_int_equal(req.key_len, 4);
	assert_memory_equal(req.key, "a\0b%", 4);
	assert_int_equal(req.timeout_ms, 1500);
	assert_int_equal(req.payload_len, 0);
}

static void
test_others(void **state)
{
	(void)state;
	assert_int_equal(parse("list", NULL, 0), CTL_PARSE_OK);
	assert_int_equal(req.op, CTL_OP_LIST);
	assert_false(req.json);
	assert_int_equal(parse("list json", NULL, 0), CTL_PARSE_OK);
	assert_true(req.json);
	assert_int_equal(parse("kill web/2 KILL", NULL, 0), CTL_PARSE_OK);
	assert_int_equal(req.op, CTL_OP_KILL);
	assert_string_equal(req.target, "web/2");
	assert_int_equal(req.sig, 9);
	assert_int_equal(parse("kill 1234 15", NULL, 0), CTL_PARSE_OK);
	assert_int_equal(req.sig, 15);
	assert_int_equal(parse("sleep web/0", NULL, 0), CTL_PARSE_OK);
	assert_int_equal(req.op, CTL_OP_SLEEP);
	assert_int_equal(parse("wake 77", NULL, 0), CTL_PARSE_OK);
	assert_int_equal(req.op, CTL_OP_WAKE);
	assert_string_equal(req.target, "77");
	assert_int_equal(parse("restart web/1", NULL, 0), CTL_PARSE_OK);
	assert_int_equal(req.op, CTL_OP_RESTART);
	assert_int_equal(parse("scale web 12", NULL, 0), CTL_PARSE_OK);
	assert_int_equal(req.op, CTL_OP_SCALE);
	assert_int_equal(req.workers, 12);
	assert_int_equal(parse("strategy web polling", NULL, 0), CTL_PARSE_OK);
	assert_string_equal(req.strategy, "polling");
	assert_int_equal(parse("ping", NULL, 0), CTL_PARSE_OK);
	assert_int_equal(req.op, CTL_OP_PING);
	assert_int_equal(parse("reload web", NULL, 0), CTL_PARSE_OK);
	assert_int_equal(req.op, CTL_OP_RELOAD);
	assert_string_equal(req.pool, "web");
}

static void
test_logs(void **state)
{
	(void)state;
	assert_int_equal(parse("logs", NULL, 0), CTL_PARSE_OK);
	assert_int_equal(req.op, CTL_OP_LOGS);
	assert_int_equal(req.lines, CTL_LOGS_LINES);
	assert_false(req.follow);
	assert_null(req.target);
	assert_int_equal(parse("logs follow lines=0 web/2", NULL, 0),
	    CTL_PARSE_OK);
	assert_int_equal(req.lines, 0);
	assert_true(req.follow);
	assert_string_equal(req.target, "web/2");
	assert_int_equal(parse("logs web lines=1000000", NULL, 0),
	    CTL_PARSE_OK);
	assert_int_equal(req.lines, 1000000);
	assert_false(req.follow);
	assert_string_equal(req.target, "web");
}

static void
expect_error(const char *hdr, const void *payload, size_t plen,
    const char *want)
{
	assert_int_equal(parse(hdr, payload, plen), CTL_PARSE_EINVAL);
	assert_string_equal(err, want);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("frob", NULL, 0, "unknown request \"frob\" (expected "
	    "send, list, kill, sleep, wake, restart, scale, strategy, logs, "
	    "reload or ping)");
	expect_error("fr%0Aob", NULL, 0, "unknown request \"fr\\x0aob\" "
	    "(expected send, list, kill, sleep, wake, restart, scale, "
	    "strategy, logs, reload or ping)");
	expect_error("reload", NULL, 0, "bad reload request: 0 arguments "
	    "given (expected \"reload POOL\")");
	expect_error("reload web now", NULL, 0, "bad reload request: 2 "
	    "arguments given (expected \"reload POOL\")");
	expect_error("", NULL, 0, "empty header line (expected a request such "
	    "as \"list\")");
	expect_error("list  json", NULL, 0, "empty word in the header line "
	    "(words are separated by one space)");
	expect_error("list ", NULL, 0, "empty word in the header line (words "
	    "are separated by one space)");
	expect_error("send web", NULL, 0, "bad send request: 1 argument given "
	    "(expected \"send POOL TASK [key=K] [timeout=MS]\")");
	expect_error("ping now", NULL, 0, "bad ping request: 1 argument given "
	    "(expected \"ping\")");
	expect_error("send web echo ttl=5", NULL, 0, "bad send request: "
	    "unknown option \"ttl=5\" (expected key=K or timeout=MS)");
	expect_error("logs lines=1000001", NULL, 0, "bad logs request: lines "
	    "\"1000001\" (expected a number from 0 to 1000000)");
	expect_error("logs lines=-1", NULL, 0, "bad logs request: lines "
	    "\"-1\" (expected a number from 0 to 1000000)");
	expect_error("logs lines=1 lines=2", NULL, 0, "bad logs request: "
	    "lines given twice");
	/* The engine's range of workers (POOL_WORKERS_MAX). */
	expect_error("scale web 0", NULL, 0, "bad scale request: worker count "
	    "\"0\" (expected a number from 1 to 4096)");
	expect_error("scale web 4097", NULL, 0, "bad scale request: worker "
	    "count \"4097\" (expected a number from 1 to 4096)");
	expect_error("logs follow web follow", NULL, 0, "bad logs request: "
	    "follow given twice");
	expect_error("logs web db", NULL, 0, "bad logs request: a second "
	    "target \"db\" (expected one POOL, POOL/N or pid at most)");
	expect_error("logs a b c d", NULL, 0, "bad logs request: 4 arguments "
	    "given (expected \"logs [lines=N] [follow] [TARGET]\")");
	expect_error("logs", "x", 1, "bad logs request: it takes no payload "
	    "(1 bytes given)");
	expect_error("send web echo timeout=5s", NULL, 0, "bad send request: "
	    "timeout \"5s\" (expected milliseconds, 1 or more)");
	expect_error("send web echo key=a key=b", NULL, 0, "bad send request: "
	    "key given twice");
	expect_error("send w%00eb echo", NULL, 0, "bad send request: argument "
	    "1 holds a NUL byte");
	expect_error("send web echo key=%4", NULL, 0, "bad %-escape in word 4 "
	    "of the header line (expected %XX with two hex digits)");
	expect_error("send web echo key=%g0", NULL, 0, "bad %-escape in word "
	    "4 of the header line (expected %XX with two hex digits)");
	expect_error("list yaml", NULL, 0, "bad list request: format \"yaml\" "
	    "(expected text or json)");
	expect_error("list", "x", 1, "bad list request: it takes no payload "
	    "(1 bytes given)");
	expect_error("kill web/0 FROB", NULL, 0, "bad kill request: unknown "
	    "signal \"FROB\" (expected a name such as TERM or a number)");
	expect_error("scale web -1", NULL, 0, "bad scale request: worker count "
	    "\"-1\" (expected a number from 1 to 4096)");
	expect_error("scale web 100001", NULL, 0, "bad scale request: worker "
	    "count \"100001\" (expected a number from 1 to 4096)");
	expect_error("a b c d e f g h i", NULL, 0, "too many words in the "
	    "header line (at most 8)");
}

static void
test_framing(void **state)
{
	uint8_t		 buf[CTL_MAX_HEADER + 64];
	size_t		 n, flen;
	char		*big;

	(void)state;
	/* Short reads: more needed, and how much once the length is known. */
	n = frame(buf, "ping", NULL, 0);
	assert_int_equal(ctl_parse_request(buf, 2, &req, &flen, err,
	    sizeof err), CTL_PARSE_NEED_MORE);
	assert_int_equal(flen, 4);
	assert_int_equal(ctl_parse_request(buf, n - 1, &req, &flen, err,
	    sizeof err), CTL_PARSE_NEED_MORE);
	assert_int_equal(flen, n);
	/* Two requests back to back: the first one's length only. */
	memcpy(buf + n, buf, n);
	assert_int_equal(ctl_parse_request(buf, 2 * n, &req, &flen, err,
	    sizeof err), CTL_PARSE_OK);
	assert_int_equal(flen, n);

	memcpy(buf, "\xff\xff\xff\xff", 4);
	assert_int_equal(ctl_parse_request(buf, 4, &req, &flen, err,
	    sizeof err), CTL_PARSE_ETOOBIG);
	assert_string_equal(err, "request of 4294967295 bytes is over the "
	    "limit of 16781312 bytes");
	memset(buf, 0, 4);
	assert_int_equal(ctl_parse_request(buf, 4, &req, &flen, err,
	    sizeof err), CTL_PARSE_EINVAL);
	assert_string_equal(err, "empty request (length 0)");
	assert_int_equal(flen, 4);

	/* A header line of 4095 bytes is fine; 4096 is too long. */
	big = malloc(CTL_MAX_HEADER + 1);
	assert_non_null(big);
	memset(big, 'a', CTL_MAX_HEADER);
	memcpy(big, "send web ", 9);
	big[CTL_MAX_HEADER - 1] = '\0';
	assert_int_equal(parse(big, NULL, 0), CTL_PARSE_EINVAL);
	assert_string_equal(err, "bad send request: task name of 4086 bytes "
	    "(at most 255)");
	big[CTL_MAX_HEADER - 1] = 'a';
	big[CTL_MAX_HEADER] = '\0';
	assert_int_equal(parse(big, NULL, 0), CTL_PARSE_EINVAL);
	assert_string_equal(err, "header line longer than 4095 bytes");
	free(big);
	n = frame(buf, "list", NULL, 0) - 1;	/* no newline */
	buf[3] = (uint8_t)(n - 4);
	assert_int_equal(ctl_parse_request(buf, n, &req, &flen, err,
	    sizeof err), CTL_PARSE_EINVAL);
	assert_string_equal(err, "request has no header line (no newline in "
	    "4 bytes)");
}

static void
test_encode_word(void **state)
{
	char	out[64];
	size_t	pos = 0;

	(void)state;
	assert_int_equal(ctl_encode_word(out, sizeof out, &pos, "a b%\n\xff/",
	    7), 0);
	assert_int_equal(pos, 15);
	assert_memory_equal(out, "a%20b%25%0A%FF/", 15);
	pos = 0;
	assert_int_equal(ctl_encode_word(out, 4, &pos, "a b", 3), -ENOSPC);
}

static void
test_socket_path(void **state)
{
	char	out[256];
	char	longp[200];

	(void)state;
	assert_int_equal(ctl_socket_path("/x/y.sock", false, out, sizeof out,
	    err, sizeof err), 0);
	assert_string_equal(out, "/x/y.sock");
	setenv("XDG_RUNTIME_DIR", "/run/user/1234", 1);
	assert_int_equal(ctl_socket_path(NULL, false, out, sizeof out, err,
	    sizeof err), 0);
	assert_string_equal(out, "/run/user/1234/pooltop.sock");
	memset(longp, 'a', sizeof longp - 1);
	longp[0] = '/';
	longp[sizeof longp - 1] = '\0';
	assert_int_equal(ctl_socket_path(longp, false, out, sizeof out, err,
	    sizeof err), -ENAMETOOLONG);
	assert_true(strncmp(err, "socket path too long (199 bytes, at most "
	    "107): /aaa", 51) == 0);
}

/* The client against a fake server: a reply with a bad status line. */
static void
test_client_bad_reply(void **state)
{
	struct ctl_reply	 reply;
	int			 sv[2], rc;
	const char		*words[] = { "ping" };
	uint8_t			 buf[64];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], "\0\0\0\x05hello", 9), 9);
	rc = ctl_call(sv[0], words, NULL, 1, NULL, 0, &reply, err,
	    sizeof err);
	assert_int_equal(rc, -EPROTO);
	assert_string_equal(err, "malformed reply (no status line)");
	/* What the client sent: length 5, "ping\n". */
	assert_int_equal(read(sv[1], buf, sizeof buf), 9);
	assert_memory_equal(buf, "\0\0\0\x05ping\n", 9);

	assert_int_equal(write(sv[1], "\0\0\0\x08ok\nhello", 12), 12);
	rc = ctl_call(sv[0], words, NULL, 1, NULL, 0, &reply, err,
	    sizeof err);
	assert_int_equal(rc, 0);
	assert_true(reply.ok);
	assert_int_equal(reply.len, 5);
	assert_string_equal((char *)reply.data, "hello");
	free(reply.data);
	assert_int_equal(read(sv[1], buf, sizeof buf), 9);
	close(sv[1]);
	rc = ctl_call(sv[0], words, NULL, 1, NULL, 0, &reply, err,
	    sizeof err);
	assert_true(rc < 0);
	close(sv[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send),
		cmocka_unit_test(test_others),
		cmocka_unit_test(test_logs),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_encode_word),
		cmocka_unit_test(test_socket_path),
		cmocka_unit_test(test_client_bad_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
