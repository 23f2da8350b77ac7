/*
 * Unit tests for the log line prefix (logline.c), the size-rotated log
 * file (logfile.c) and the decoder of `ctl logs` records (logtail.c):
 * exact bytes of formatted lines, rotation at the size limit keeping
 * log_keep files and never splitting a line, truncation with keep 0,
 * failures reported and recovered from, and records good and bad.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "logfile.h"
#include "pooltop/logline.h"
#include "pooltop/logtail.h"

static char	tmpdir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/pt-logfile-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	/* Stamps in UTC, so the expected text does not depend on the zone. */
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The whole content of a file, NUL-terminated (NULL if it is not there). */
static char *
slurp(const char *path, size_t *len)
{
	char	*buf;
	FILE	*f;
	long	 n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

static const char *
path_of(char *buf, const char *name)
{
	snprintf(buf, PATH_MAX, "%s/%s", tmpdir, name);
	return buf;
}

/* ---- logline ------------------------------------------------------------- */

static void
test_tag_who_width(void **state)
{
	char	who[LOGLINE_WHO_MAX], small[5];

	(void)state;
	assert_string_equal(logline_tag(LOG_STDOUT), "out");
	assert_string_equal(logline_tag(LOG_STDERR), "err");
	assert_null(logline_tag(LOG_POOLTOP));
	assert_int_equal(logline_who(who, sizeof who, "web", 12), 6);
	assert_string_equal(who, "web/12");
	assert_int_equal(logline_who(who, sizeof who, "web", -1), 3);
	assert_string_equal(who, "web");
	/* Cut to fit, NUL-terminated. */
	assert_int_equal(logline_who(small, sizeof small, "images", 3), 4);
	assert_string_equal(small, "imag");
	assert_int_equal(logline_pool_width("web", 1), 5);	/* web/0 */
	assert_int_equal(logline_pool_width("web", 10), 5);	/* web/9 */
	assert_int_equal(logline_pool_width("web", 11), 6);	/* web/10 */
	assert_int_equal(logline_pool_width("images", 0), 8);
}

static void
test_format_plain(void **state)
{
	struct logline	l;
	char		buf[LOGLINE_PREFIX_MAX + 100];
	size_t		n;

	(void)state;
	memset(&l, 0, sizeof l);
	l.stamp = "12:00:06";
	l.who = "web/0";
	l.width = 7;
	l.stream = LOG_STDOUT;
	l.text = "hello world";
	l.len = 11;
	n = logline_format(buf, sizeof buf, &l);
	buf[n] = '\0';
	assert_string_equal(buf, "12:00:06 web/0   out| hello world\n");

	l.stream = LOG_STDERR;
	l.text = "";
	l.len = 0;
	n = logline_format(buf, sizeof buf, &l);
	buf[n] = '\0';
	assert_string_equal(buf, "12:00:06 web/0   err| \n");

	/* pooltop's own line: no tag; no stamp. */
	l.stamp = NULL;
	l.stream = LOG_POOLTOP;
	l.text = "pid 12 exited with status 1";
	l.len = strlen(l.text);
	n = logline_format(buf, sizeof buf, &l);
	buf[n] = '\0';
	assert_string_equal(buf, "web/0   pid 12 exited with status 1\n");

	/* A name wider than the column is not cut, just not padded. */
	l.who = "images/10";
	l.width = 7;
	l.stream = LOG_STDOUT;
	l.text = "x";
	l.len = 1;
	n = logline_format(buf, sizeof buf, &l);
	buf[n] = '\0';
	assert_string_equal(buf, "images/10 out| x\n");

	/* Bytes of the text are kept as they are, NULs included. */
	l.text = "a\0b";
	l.len = 3;
	n = logline_format(buf, sizeof buf, &l);
	assert_int_equal(n, strlen("images/10 out| ") + 4);
	assert_memory_equal(buf + n - 4, "a\0b\n", 4);
}

static void
test_format_color_and_cut(void **state)
{
	struct logline	 l;
	char		 buf[LOGLINE_PREFIX_MAX + 40], *big;
	size_t		 n;

	(void)state;
	memset(&l, 0, sizeof l);
	l.stamp = "12:00:06";
	l.who = "web/1";
	l.width = 6;
	l.stream = LOG_STDERR;
	l.text = "boom";
	l.len = 4;
	l.color = "33";
	n = logline_format(buf, sizeof buf, &l);
	buf[n] = '\0';
	assert_string_equal(buf, "12:00:06 \033[33mweb/1  err|\033[0m boom"
	    "\033[0m\n");
	/* pooltop's line in colour: the prefix only. */
	l.stream = LOG_POOLTOP;
	l.color = "1";
	n = logline_format(buf, sizeof buf, &l);
	buf[n] = '\0';
	assert_string_equal(buf, "12:00:06 \033[1mweb/1  \033[0mboom\n");

	/* Too small a buffer: nothing. */
	assert_int_equal(logline_format(buf, 10, &l), 0);

	/* A long text is cut to fit; the newline is always there. */
	big = malloc(1000);
	assert_non_null(big);
	memset(big, 'x', 1000);
	l.color = NULL;
	l.stream = LOG_STDOUT;
	l.text = big;
	l.len = 1000;
	n = logline_format(buf, sizeof buf, &l);
	assert_int_equal(n, sizeof buf);
	assert_int_equal(buf[n - 1], '\n');
	assert_int_equal(buf[n - 2], 'x');
	assert_memory_equal(buf, "12:00:06 web/1  out| xxx", 24);
	free(big);
}

static void
test_stamp(void **state)
{
	struct logline_clock	c;
	char			buf[LOGLINE_STAMP_MAX];

	(void)state;
	memset(&c, 0, sizeof c);
	/* 2026-01-02 03:04:05.678 UTC */
	assert_string_equal(logline_stamp(&c, 1767323045678ULL, true, buf,
	    sizeof buf), "2026-01-02 03:04:05.678");
	assert_string_equal(logline_stamp(&c, 1767323045001ULL, false, buf,
	    sizeof buf), "03:04:05");
	/* The cache follows the second. */
	assert_string_equal(logline_stamp(&c, 1767323046000ULL, true, buf,
	    sizeof buf), "2026-01-02 03:04:06.000");
	assert_string_equal(logline_stamp(&c, 1767323045999ULL, true, buf,
	    sizeof buf), "2026-01-02 03:04:05.999");
}

/* ---- logfile --------------------------------------------------------------- */

/* "line NNN\n": 9 bytes. */
static void
put_line(struct logfile *lf, unsigned i)
{
	char	line[16];

	snprintf(line, sizeof line, "line %03u\n", i);
	assert_int_equal(logfile_write(lf, line, strlen(line)), 0);
}

static void
test_logfile_append_existing(void **state)
{
	char		 path[PATH_MAX], *text;
	struct logfile	*lf;
	int		 fd;

	(void)state;
	path_of(path, "append.log");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old\n", 4), 4);
	close(fd);

	assert_int_equal(logfile_open(&lf, path, 0, 5), 0);
	assert_int_equal(logfile_size(lf), 4);
	assert_string_equal(logfile_path(lf), path);
	put_line(lf, 1);
	/* Buffered: not in the file before a flush. */
	assert_true(logfile_pending(lf));
	text = slurp(path, NULL);
	assert_string_equal(text, "old\n");
	free(text);
	assert_int_equal(logfile_flush(lf), 0);
	assert_false(logfile_pending(lf));
	text = slurp(path, NULL);
	assert_string_equal(text, "old\nline 001\n");
	free(text);
	put_line(lf, 2);
	assert_int_equal(logfile_size(lf), 22);
	/* Closing flushes. */
	assert_int_equal(logfile_close(lf), 0);
	text = slurp(path, NULL);
	assert_string_equal(text, "old\nline 001\nline 002\n");
	free(text);
}

static void
test_logfile_rotate_keep(void **state)
{
	char		 path[PATH_MAX], name[PATH_MAX + 64], want[64], *text;
	struct logfile	*lf;
	unsigned	 i, k;
	size_t		 len;

	(void)state;
	path_of(path, "rot.log");
	/* 4 lines of 9 bytes fit in 40; the 5th starts a new file. */
	assert_int_equal(logfile_open(&lf, path, 40, 3), 0);
	for (i = 0; i < 4; i++)
		put_line(lf, i);
	assert_int_equal(logfile_size(lf), 36);
	snprintf(name, sizeof name, "%s.1", path);
	assert_int_equal(access(name, F_OK), -1);
	put_line(lf, 4);
	assert_int_equal(logfile_size(lf), 9);
	text = slurp(name, NULL);
	assert_string_equal(text, "line 000\nline 001\nline 002\nline 003\n");
	free(text);

	/* 5 files' worth: PATH, then .1 .2 .3 (keep 3), the oldest gone. */
	for (i = 5; i < 20; i++)
		put_line(lf, i);
	assert_int_equal(logfile_close(lf), 0);
	text = slurp(path, &len);
	assert_string_equal(text, "line 016\nline 017\nline 018\nline 019\n");
	free(text);
	for (k = 1; k <= 3; k++) {
		snprintf(name, sizeof name, "%s.%u", path, k);
		text = slurp(name, &len);
		assert_non_null(text);
		/* .1 holds 12..15, .2 holds 8..11, .3 holds 4..7 */
		snprintf(want, sizeof want, "line %03u\nline %03u\nline %03u\n"
		    "line %03u\n", 16 - 4 * k, 17 - 4 * k, 18 - 4 * k,
		    19 - 4 * k);
		assert_string_equal(text, want);
		free(text);
	}
	snprintf(name, sizeof name, "%s.4", path);
	assert_int_equal(access(name, F_OK), -1);
}

static void
test_logfile_keep_zero_and_big_line(void **state)
{
	char		 path[PATH_MAX], name[PATH_MAX + 64], *text, big[100];
	struct logfile	*lf;
	unsigned	 i;

	(void)state;
	path_of(path, "trunc.log");
	assert_int_equal(logfile_open(&lf, path, 20, 0), 0);
	for (i = 0; i < 5; i++)
		put_line(lf, i);
	assert_int_equal(logfile_flush(lf), 0);
	text = slurp(path, NULL);
	assert_string_equal(text, "line 004\n");
	free(text);
	snprintf(name, sizeof name, "%s.1", path);
	assert_int_equal(access(name, F_OK), -1);

	/* A line over the limit goes whole into a file of its own. */
	memset(big, 'y', sizeof big - 1);
	big[sizeof big - 1] = '\n';
	assert_int_equal(logfile_write(lf, big, sizeof big), 0);
	assert_int_equal(logfile_size(lf), sizeof big);
	put_line(lf, 9);
	assert_int_equal(logfile_close(lf), 0);
	text = slurp(path, NULL);
	assert_string_equal(text, "line 009\n");
	free(text);
}

static void
test_logfile_buffer_fills(void **state)
{
	char		 path[PATH_MAX], line[1000];
	struct logfile	*lf;
	struct stat	 st;
	unsigned	 i, n = 2 * LOGFILE_BUFFER / sizeof line;

	(void)state;
	path_of(path, "burst.log");
	memset(line, 'z', sizeof line - 1);
	line[sizeof line - 1] = '\n';
	assert_int_equal(logfile_open(&lf, path, 0, 5), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(logfile_write(lf, line, sizeof line), 0);
	/* Without a flush, what overflowed the buffer is already written. */
	assert_int_equal(stat(path, &st), 0);
	assert_true((size_t)st.st_size >= (size_t)n * sizeof line -
	    LOGFILE_BUFFER);
	assert_true(st.st_size % (off_t)sizeof line == 0);
	assert_int_equal(logfile_close(lf), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, (off_t)n * (off_t)sizeof line);
}

static void
test_logfile_errors(void **state)
{
	char		 path[PATH_MAX];
	struct logfile	*lf;

	(void)state;
	assert_int_equal(logfile_open(&lf, "", 0, 5), -EINVAL);
	path_of(path, "x.log");
	assert_int_equal(logfile_open(&lf, path, 0, LOGFILE_KEEP_MAX + 1),
	    -EINVAL);
	path_of(path, "no/such/dir.log");
	assert_int_equal(logfile_open(&lf, path, 0, 5), -ENOENT);
	assert_null(lf);

	/* /dev/full: every write fails; the lines are counted as dropped
	 * and the error text says what failed. */
	if (access("/dev/full", W_OK) == 0) {
		assert_int_equal(logfile_open(&lf, "/dev/full", 10, 5), 0);
		put_line(lf, 1);
		put_line(lf, 2);
		assert_int_equal(logfile_flush(lf), -ENOSPC);
		assert_int_equal(logfile_error(lf), -ENOSPC);
		assert_string_equal(logfile_error_text(lf), "cannot write "
		    "/dev/full: No space left on device");
		assert_int_equal(logfile_take_dropped(lf), 2);
		assert_int_equal(logfile_take_dropped(lf), 0);
		/* Not a regular file: never rotated, whatever its size. */
		put_line(lf, 3);
		put_line(lf, 4);
		assert_int_equal(logfile_close(lf), -ENOSPC);
	}
}

static void
test_logfile_rename_refused(void **state)
{
	char		 path[PATH_MAX], name[2 * PATH_MAX + 64], *text;
	struct logfile	*lf;

	(void)state;
	path_of(path, "busy.log");
	assert_int_equal(logfile_open(&lf, path, 20, 1), 0);
	put_line(lf, 1);
	put_line(lf, 2);
	/* A directory where PATH.1 must go: the rename cannot replace it. */
	snprintf(name, sizeof name, "%s.1", path);
	assert_int_equal(mkdir(name, 0755), 0);
	snprintf(name, sizeof name, "%s.1/keep", path);
	assert_int_equal(mkdir(name, 0755), 0);
	assert_int_equal(logfile_write(lf, "line 003\n", 9), -EISDIR);
	assert_int_equal(logfile_error(lf), -EISDIR);
	snprintf(name, sizeof name, "cannot rename %s to %s.1: ", path, path);
	assert_memory_equal(logfile_error_text(lf), name, strlen(name));
	/* Started over: the file holds only the new line. */
	assert_int_equal(logfile_flush(lf), 0);
	assert_int_equal(logfile_error(lf), 0);
	text = slurp(path, NULL);
	assert_string_equal(text, "line 003\n");
	free(text);
	assert_int_equal(logfile_close(lf), 0);
}

/* ---- logtail records --------------------------------------------------- */

static void
test_record_parse(void **state)
{
	struct logtail_record	r;
	const char		*s;

	(void)state;
	s = "1767323045678 web/12 out hello world";
	assert_int_equal(logtail_parse(s, strlen(s), &r), 0);
	assert_true(r.time_ms == 1767323045678ULL);
	assert_int_equal(r.pool_len, 3);
	assert_memory_equal(r.pool, "web", 3);
	assert_int_equal(r.slot, 12);
	assert_int_equal(r.stream, LOG_STDOUT);
	assert_false(r.dropped);
	assert_int_equal(r.len, 11);
	assert_memory_equal(r.text, "hello world", 11);

	s = "5 a.b-c_d/0 err ";
	assert_int_equal(logtail_parse(s, strlen(s), &r), 0);
	assert_int_equal(r.stream, LOG_STDERR);
	assert_int_equal(r.pool_len, 7);
	assert_int_equal(r.len, 0);

	s = "5 web/1 pooltop pid 3 exited with status 1";
	assert_int_equal(logtail_parse(s, strlen(s), &r), 0);
	assert_int_equal(r.stream, LOG_POOLTOP);
	assert_int_equal(r.len, strlen("pid 3 exited with status 1"));

	s = "5 web/1 dropped 42";
	assert_int_equal(logtail_parse(s, strlen(s), &r), 0);
	assert_true(r.dropped);
	assert_int_equal(r.count, 42);

	/* Malformed: each field. */
	s = "x web/1 out a";
	assert_int_equal(logtail_parse(s, strlen(s), &r), -EINVAL);
	s = "5 web out a";
	assert_int_equal(logtail_parse(s, strlen(s), &r), -EINVAL);
	s = "5 /1 out a";
	assert_int_equal(logtail_parse(s, strlen(s), &r), -EINVAL);
	s = "5 web/x out a";
	assert_int_equal(logtail_parse(s, strlen(s), &r), -EINVAL);
	s = "5 web/1 stdout a";
	assert_int_equal(logtail_parse(s, strlen(s), &r), -EINVAL);
	s = "5 web/1 out";
	assert_int_equal(logtail_parse(s, strlen(s), &r), -EINVAL);
	s = "5 web/1 dropped many";
	assert_int_equal(logtail_parse(s, strlen(s), &r), -EINVAL);
	s = "99999999999999999999999 web/1 out a";
	assert_int_equal(logtail_parse(s, strlen(s), &r), -EINVAL);
	assert_int_equal(logtail_parse("", 0, &r), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tag_who_width),
		cmocka_unit_test(test_format_plain),
		cmocka_unit_test(test_format_color_and_cut),
		cmocka_unit_test(test_stamp),
		cmocka_unit_test(test_logfile_append_existing),
		cmocka_unit_test(test_logfile_rotate_keep),
		cmocka_unit_test(test_logfile_keep_zero_and_big_line),
		cmocka_unit_test(test_logfile_buffer_fills),
		cmocka_unit_test(test_logfile_errors),
		cmocka_unit_test(test_logfile_rename_refused),
		cmocka_unit_test(test_record_parse),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
