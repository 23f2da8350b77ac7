/*
 * pooltop-hostile: a worker that misbehaves on purpose, for the tests.
 * It speaks the protocol by hand (no libpooltop-host): a HELLO serving
 * "echo" on fd 4, then, per its one argument:
 *
 *   garbage    writes frames of an unknown type with random bytes on
 *              fd 4, as fast as it can
 *   oversized  announces a frame of 2 GiB - 1 bytes on fd 4, then sleeps
 *   badid      replies to id 4242, which it was never sent, then sleeps
 *   flood      writes short lines to stdout as fast as it can
 *   hello      only the HELLO, then sleeps (well behaved, never answers)
 *
 * Writes that fail (pooltop closed the pipe) end it with status 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FD_REPLIES	4

/* Writes all of buf; exits quietly when the reader is gone. */
static void
write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len != 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		p += n;
		len -= (size_t)n;
	}
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* HELLO: version 1, one task "echo". */
static void
hello(void)
{
	static const uint8_t	frame[] = {
		0, 0, 0, 11,		/* length */
		1,			/* HELLO */
		0, 1,			/* version */
		0, 1,			/* one task */
		0, 4, 'e', 'c', 'h', 'o',
	};

	write_all(FD_REPLIES, frame, sizeof frame);
}

static void
sleep_forever(void)
{
	for (;;)
		pause();
}

int
main(int argc, char **argv)
{
	uint8_t		 buf[65536];
	const char	*mode = argc > 1 ? argv[1] : "";
	uint64_t	 x = (uint64_t)getpid() * 6364136223846793005ull + 1;
	size_t		 i, off;

	signal(SIGPIPE, SIG_DFL);
	hello();
	if (strcmp(mode, "garbage") == 0) {
		for (;;) {
			for (off = 0; off + 64 <= sizeof buf; off += 64) {
				put32(buf + off, 60);
				buf[off + 4] = 0xee;	/* no such type */
				for (i = 5; i < 64; i++) {
					x = x * 6364136223846793005ull + 1;
					buf[off + i] = (uint8_t)(x >> 56);
				}
			}
			write_all(FD_REPLIES, buf, sizeof buf);
		}
	} else if (strcmp(mode, "oversized") == 0) {
		put32(buf, 0x7fffffffu);
		buf[4] = 3;
		write_all(FD_REPLIES, buf, 5);
		sleep_forever();
	} else if (strcmp(mode, "badid") == 0) {
		put32(buf, 5 + 2);
		buf[4] = 3;		/* RESULT */
		put32(buf + 5, 4242);
		buf[9] = 'h';
		buf[10] = 'i';
		write_all(FD_REPLIES, buf, 11);
		sleep_forever();
	} else if (strcmp(mode, "flood") == 0) {
		for (i = 0; i + 8 <= sizeof buf; i += 8)
			memcpy(buf + i, "flood!!\n", 8);
		for (;;)
			write_all(STDOUT_FILENO, buf, sizeof buf);
	} else if (strcmp(mode, "hello") == 0) {
		sleep_forever();
	}
	fprintf(stderr, "usage: pooltop-hostile garbage|oversized|badid|flood|"
	    "hello\n");
	return 2;
}
