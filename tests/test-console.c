/*
 * Unit tests for the console printer of `pooltop --headless` and
 * `pooltop ctl logs` (ui/console.c), on real pipes and a real pty:
 * exact prefixed lines, the WHO column widening, colours in order of
 * the workers, worker lines held until the flush while pooltop's events
 * go at once (after what waits, so the order holds), a closed reader,
 * and when colour is wanted (a terminal, NO_COLOR, TERM=dumb).
 */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "console.h"

#define T0	1767323045678ULL	/* 2026-01-02 03:04:05.678 UTC */

static int
setup(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* What is in the pipe now, NUL-terminated (non-blocking read). */
static char *
drain(int fd)
{
	static char	buf[1 << 16];
	ssize_t		n;
	size_t		o = 0;

	while (o < sizeof buf - 1 &&
	    (n = read(fd, buf + o, sizeof buf - 1 - o)) > 0)
		o += (size_t)n;
	buf[o] = '\0';
	return buf;
}

static struct console *
make(int out_fd, int err_fd, bool color, int width)
{
	struct console_options	o;
	struct console		*c;

	memset(&o, 0, sizeof o);
	o.out_fd = out_fd;
	o.err_fd = err_fd;
	o.color_out = o.color_err = color;
	o.width = width;
	assert_int_equal(console_new(&c, &o), 0);
	return c;
}

static void
test_lines_and_order(void **state)
{
	struct console	*c;
	int		 p[2];

	(void)state;
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	/* out and err on the same pipe, as on a shared terminal. */
	c = make(p[1], p[1], false, 0);
	assert_int_equal(console_width(c), 7);
	console_add(c, "web/0");
	console_add(c, "web/1");
	console_line(c, false, T0, "web/0", LOG_STDOUT, "hello", 5);
	console_line(c, false, T0, "web/1", LOG_STDERR, "oops", 4);
	/* Held until the flush. */
	assert_string_equal(drain(p[0]), "");
	/* An event writes what waits first, then itself. */
	console_line(c, true, T0 + 1000, "web/1", LOG_POOLTOP,
	    "pid 7 exited with status 1", 26);
	assert_string_equal(drain(p[0]),
	    "03:04:05 web/0   out| hello\n"
	    "03:04:05 web/1   err| oops\n"
	    "03:04:06 web/1   pid 7 exited with status 1\n");
	console_line(c, false, T0, "web/0", LOG_STDOUT, "", 0);
	assert_int_equal(console_flush(c), 0);
	assert_string_equal(drain(p[0]), "03:04:05 web/0   out| \n");
	/* Nothing waits: a flush writes nothing. */
	assert_int_equal(console_flush(c), 0);
	assert_string_equal(drain(p[0]), "");
	console_free(c);
	close(p[0]);
	close(p[1]);
}

static void
test_width_grows(void **state)
{
	struct console	*c;
	int		 p[2];

	(void)state;
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	c = make(p[1], p[1], false, 5);
	assert_int_equal(console_width(c), 5);
	console_line(c, false, T0, "a/0", LOG_STDOUT, "x", 1);
	/* A longer name seen in a line widens the column from then on. */
	console_line(c, false, T0, "images/10", LOG_STDOUT, "y", 1);
	console_line(c, false, T0, "a/0", LOG_STDOUT, "z", 1);
	/* pooltop's own names do not take a colour or widen it. */
	console_line(c, false, T0, "pooltop", LOG_POOLTOP, "hi", 2);
	console_flush(c);
	assert_string_equal(drain(p[0]),
	    "03:04:05 a/0   out| x\n"
	    "03:04:05 images/10 out| y\n"
	    "03:04:05 a/0       out| z\n"
	    "03:04:05 pooltop   hi\n");
	console_free(c);
	close(p[0]);
	close(p[1]);
}

static void
test_colors(void **state)
{
	static const char *const want[] = { "36", "33", "32", "35", "34",
	    "96", "93", "92", "95", "94", "36", "33" };
	struct console	*c;
	char		 who[16], line[128];
	int		 p[2], i;

	(void)state;
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	c = make(p[1], p[1], true, 0);
	/* In the order the workers are added, around the palette. */
	for (i = 0; i < 12; i++) {
		snprintf(who, sizeof who, "w/%d", i);
		console_add(c, who);
	}
	for (i = 0; i < 12; i++) {
		snprintf(who, sizeof who, "w/%d", i);
		assert_string_equal(console_color(c, who), want[i]);
	}
	/* A new name takes the next colour; pooltop and pools are bold. */
	assert_string_equal(console_color(c, "x/0"), "32");
	assert_string_equal(console_color(c, "pooltop"), "1");
	assert_string_equal(console_color(c, "web"), "1");

	console_line(c, false, T0, "w/1", LOG_STDOUT, "hi", 2);
	console_line(c, true, T0, "w/1", LOG_POOLTOP, "ready", 5);
	snprintf(line, sizeof line,
	    "03:04:05 \033[33mw/1     out|\033[0m hi\033[0m\n"
	    "03:04:05 \033[33mw/1     \033[0mready\n");
	assert_string_equal(drain(p[0]), line);
	console_free(c);
	close(p[0]);
	close(p[1]);
}

static void
test_many_names(void **state)
{
	struct console	*c;
	char		 who[32];
	int		 p[2], i;

	(void)state;
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	c = make(p[1], p[1], true, 0);
	/* The table grows; every name keeps the colour it was given. */
	for (i = 0; i < 5000; i++) {
		snprintf(who, sizeof who, "pool/%d", i);
		console_add(c, who);
	}
	for (i = 0; i < 5000; i += 7) {
		static const char *const pal[] = { "36", "33", "32", "35",
		    "34", "96", "93", "92", "95", "94" };

		snprintf(who, sizeof who, "pool/%d", i);
		assert_string_equal(console_color(c, who), pal[i % 10]);
	}
	assert_int_equal(console_width(c), 9);	/* pool/4999 */
	console_free(c);
	close(p[0]);
	close(p[1]);
}

static void
test_big_burst_whole_lines(void **state)
{
	struct console	*c;
	char		 text[1000], *got;
	int		 p[2], i, lines = 0;
	size_t		 total = 0;
	ssize_t		 n;
	static char	 buf[1 << 20];

	(void)state;
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	assert_true(fcntl(p[1], F_SETPIPE_SZ, 1 << 20) > 0);
	c = make(p[1], p[1], false, 0);
	memset(text, 'q', sizeof text);
	/* More than the buffer: it is written out in whole lines. */
	for (i = 0; i < 200; i++)
		console_line(c, false, T0, "w/0", LOG_STDOUT, text,
		    sizeof text);
	while ((n = read(p[0], buf + total, sizeof buf - 1 - total)) > 0)
		total += (size_t)n;
	assert_true(total > 0);
	assert_int_equal(total % (sizeof text + 23), 0);
	console_flush(c);
	while ((n = read(p[0], buf + total, sizeof buf - 1 - total)) > 0)
		total += (size_t)n;
	buf[total] = '\0';
	for (got = buf; (got = strchr(got, '\n')) != NULL; got++)
		lines++;
	assert_int_equal(lines, 200);
	assert_int_equal(total, 200 * (sizeof text + 23));
	console_free(c);
	close(p[0]);
	close(p[1]);
}

static void
test_closed_reader(void **state)
{
	struct console	*c;
	int		 p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	c = make(p[1], p[1], false, 0);
	console_line(c, false, T0, "w/0", LOG_STDOUT, "lost", 4);
	assert_int_equal(console_flush(c), -EPIPE);
	/* From then on, out is dropped without trying again. */
	console_line(c, false, T0, "w/0", LOG_STDOUT, "lost", 4);
	assert_int_equal(console_flush(c), 0);
	console_line(c, true, T0, "w/0", LOG_POOLTOP, "lost", 4);
	console_free(c);
	close(p[1]);
}

static void
test_want_color(void **state)
{
	int	p[2], m, s;

	(void)state;
	assert_int_equal(pipe(p), 0);
	unsetenv("NO_COLOR");
	setenv("TERM", "xterm", 1);
	assert_false(console_want_color(p[1], true));	/* not a terminal */
	close(p[0]);
	close(p[1]);

	m = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	s = open(ptsname(m), O_RDWR | O_NOCTTY);
	assert_true(s >= 0);
	assert_true(console_want_color(s, true));
	assert_false(console_want_color(s, false));	/* color = no */
	setenv("NO_COLOR", "", 1);
	assert_true(console_want_color(s, true));	/* empty: ignored */
	setenv("NO_COLOR", "1", 1);
	assert_false(console_want_color(s, true));
	unsetenv("NO_COLOR");
	setenv("TERM", "dumb", 1);
	assert_false(console_want_color(s, true));
	close(s);
	close(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_and_order),
		cmocka_unit_test(test_width_grows),
		cmocka_unit_test(test_colors),
		cmocka_unit_test(test_many_names),
		cmocka_unit_test(test_big_burst_whole_lines),
		cmocka_unit_test(test_closed_reader),
		cmocka_unit_test(test_want_color),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
