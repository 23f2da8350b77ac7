/*
 * Tests of the worker SDK (libpooltop-host) through the real example
 * workers: the C one built on the SDK and the Python one written from
 * pooltop-protocol(7).  Each test spawns a worker with posix_spawn, its
 * fds 3 and 4 on pipes, its stdout and stderr captured, and speaks the
 * protocol to it with the codec in src/proto.c.  No engine involved.
 * The last tests run the SDK in a forked child of this test, to answer
 * from other threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "pooltop/host.h"
#include "proto.h"

extern char **environ;

#define TIMEOUT_MS	15000		/* generous: loaded CI machines */
#define C_WORKER	"examples/workers/pooltop-example-worker"
#define PY_WORKER	"examples/workers/pooltop-example-worker.py"
#define C_TASKS		"echo, sleep, fail, crash, pid, burn, alloc, log, " \
			"logerr"
#define PY_TASKS	"echo, sleep, fail, pid, crash"

struct child {
	pid_t	 pid;
	int	 req;		/* our end of its fd 3 */
	int	 rep;		/* our end of its fd 4 */
	int	 out;		/* its stdout */
	int	 err;		/* its stderr */
	uint8_t	*buf;		/* replies read, not yet decoded */
	size_t	 len;
	int	 status;	/* once reaped */
	int	 reaped;
};

/* A reply, copied out of the read buffer. */
struct reply {
	enum proto_type	type;
	uint32_t	id;
	char		data[1 << 20];
	size_t		len;
};

static struct reply	rep;

static uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A pipe whose ends are close-on-exec and numbered 10 or more. */
static void
high_pipe(int fds[2])
{
	int	p[2], i;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	for (i = 0; i < 2; i++) {
		fds[i] = fcntl(p[i], F_DUPFD_CLOEXEC, 10);
		assert_true(fds[i] >= 10);
		close(p[i]);
	}
}

static char *
build_path(const char *rel)
{
	const char	*root = getenv("POOLTOP_BUILD");
	char		*path;

	if (root == NULL)
		fail_msg("POOLTOP_BUILD is not set (run under meson test)");
	assert_true(asprintf(&path, "%s/%s", root, rel) > 0);
	return path;
}

/*
 * Starts argv[0] (a path under the build dir) as a pool would: requests
 * on its fd 3, replies from its fd 4, POOLTOP_WORKER=test/0.  With
 * protocol_fds 0 its fds 3 and 4 are closed instead.
 */
static void
spawn_worker(struct child *c, const char *rel, const char *arg1,
    const char *arg2, int protocol_fds)
{
	posix_spawn_file_actions_t	fa;
	int				req[2], rp[2], out[2], err[2];
	char				*path = build_path(rel);
	char				*argv[] = { path, (char *)arg1,
					    (char *)arg2, NULL };

	memset(c, 0, sizeof *c);
	high_pipe(req);
	high_pipe(rp);
	high_pipe(out);
	high_pipe(err);
	assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
	if (protocol_fds) {
		posix_spawn_file_actions_adddup2(&fa, req[0], 3);
		posix_spawn_file_actions_adddup2(&fa, rp[1], 4);
	} else {
		posix_spawn_file_actions_addclose(&fa, 3);
		posix_spawn_file_actions_addclose(&fa, 4);
	}
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	setenv("POOLTOP_WORKER", "test/0", 1);
	assert_int_equal(posix_spawn(&c->pid, path, &fa, NULL, argv, environ),
	    0);
	posix_spawn_file_actions_destroy(&fa);
	close(req[0]);
	close(rp[1]);
	close(out[1]);
	close(err[1]);
	c->req = req[1];
	c->rep = rp[0];
	c->out = out[0];
	c->err = err[0];
	c->buf = malloc(4 << 20);
	assert_non_null(c->buf);
	free(path);
}

static void
send_all(int fd, const void *data, size_t len)
{
	const uint8_t	*p = data;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static void
send_request(struct child *c, uint32_t id, const char *task,
    const void *payload, size_t len)
{
	size_t	 size = proto_request_size(strlen(task), len);
	uint8_t	*buf = malloc(size);

	assert_non_null(buf);
	assert_int_equal(proto_encode_request(buf, size, id, task,
	    strlen(task), payload, len), size);
	send_all(c->req, buf, size);
	free(buf);
}

/*
 * Reads the next frame from the worker into rep (HELLO: its task list
 * as "a, b, c").  Returns 0, or -1 at end of file.
 */
static int
read_frame(struct child *c)
{
	struct proto_msg m;
	struct pollfd	 pfd = { .fd = c->rep, .events = POLLIN };
	uint64_t	 deadline = now_ms() + TIMEOUT_MS;
	const char	*name;
	size_t		 flen, pos = 0, nlen;
	ssize_t		 n;
	int		 st;

	for (;;) {
		st = proto_decode(c->buf, c->len, PROTO_MAX_FRAME, &m, &flen);
		if (st == PROTO_OK)
			break;
		if (st < 0)
			fail_msg("worker sent a malformed frame: %s",
			    proto_strerror(st));
		if (now_ms() > deadline)
			fail_msg("no reply from the worker in %d ms",
			    TIMEOUT_MS);
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(c->rep, c->buf + c->len, (4u << 20) - c->len);
		if (n == 0)
			return -1;
		assert_true(n > 0);
		c->len += (size_t)n;
	}

	rep.type = m.type;
	rep.id = m.id;
	rep.len = 0;
	if (m.type == PROTO_HELLO) {
		assert_int_equal(m.version, PROTO_VERSION);
		while (proto_hello_next(&m, &pos, &name, &nlen)) {
			if (rep.len != 0) {
				memcpy(rep.data + rep.len, ", ", 2);
				rep.len += 2;
			}
			memcpy(rep.data + rep.len, name, nlen);
			rep.len += nlen;
		}
	} else {
		assert_true(m.data_len < sizeof rep.data);
		memcpy(rep.data, m.data, m.data_len);
		rep.len = m.data_len;
	}
	rep.data[rep.len] = '\0';
	memmove(c->buf, c->buf + flen, c->len - flen);
	c->len -= flen;
	return 0;
}

/* The next frame must be this reply. */
static void
expect_reply(struct child *c, enum proto_type type, uint32_t id,
    const char *text)
{
	assert_int_equal(read_frame(c), 0);
	assert_int_equal(rep.type, type);
	assert_int_equal(rep.id, id);
	assert_string_equal(rep.data, text);
}

static void
expect_hello(struct child *c, const char *tasks)
{
	assert_int_equal(read_frame(c), 0);
	assert_int_equal(rep.type, PROTO_HELLO);
	assert_string_equal(rep.data, tasks);
}

/* Waits for the worker to exit; returns its wait status. */
static int
wait_exit(struct child *c)
{
	uint64_t	deadline = now_ms() + TIMEOUT_MS;
	pid_t		r;

	if (c->reaped)
		return c->status;
	for (;;) {
		r = waitpid(c->pid, &c->status, WNOHANG);
		if (r == c->pid)
			break;
		assert_int_equal(r, 0);
		if (now_ms() > deadline) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &c->status, 0);
			c->reaped = 1;
			fail_msg("worker %ld did not exit in %d ms",
			    (long)c->pid, TIMEOUT_MS);
		}
		usleep(5000);
	}
	c->reaped = 1;
	return c->status;
}

/* Everything the worker wrote to fd (its stdout or stderr), once it exited. */
static char *
slurp(int fd)
{
	static char	text[65536];
	size_t		len = 0;
	ssize_t		n;

	while (len < sizeof text - 1 &&
	    (n = read(fd, text + len, sizeof text - 1 - len)) > 0)
		len += (size_t)n;
	text[len] = '\0';
	return text;
}

static void
child_close(struct child *c)
{
	if (!c->reaped) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, &c->status, 0);
		c->reaped = 1;
	}
	if (c->req >= 0)
		close(c->req);
	close(c->rep);
	close(c->out);
	close(c->err);
	free(c->buf);
}

/* Closes fd 3: the worker must exit 0. */
static void
expect_clean_exit(struct child *c)
{
	int	st;

	close(c->req);
	c->req = -1;
	st = wait_exit(c);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void
start_c(struct child *c)
{
	spawn_worker(c, C_WORKER, NULL, NULL, 1);
	expect_hello(c, C_TASKS);
}

/* ---- the C example worker ------------------------------------------- */

static void
test_c_hello_and_eof(void **state)
{
	struct child	c;
	char		line[128];

	start_c(&c);
	expect_clean_exit(&c);
	snprintf(line, sizeof line, "worker test/0 started (pid %ld)\n",
	    (long)c.pid);
	assert_string_equal(slurp(c.out), line);
	assert_string_equal(slurp(c.err), "");
	child_close(&c);
}

static void
test_c_echo_binary(void **state)
{
	struct child	 c;
	uint8_t		*big;
	size_t		 i, bigsz = 300000;	/* over the SDK's batch size */
	uint8_t		 bin[256];

	for (i = 0; i < sizeof bin; i++)
		bin[i] = (uint8_t)(255 - i);
	big = malloc(bigsz);
	for (i = 0; i < bigsz; i++)
		big[i] = (uint8_t)(i * 7);

	start_c(&c);
	send_request(&c, 1, "echo", bin, sizeof bin);
	send_request(&c, 2, "echo", NULL, 0);
	send_request(&c, 3, "echo", big, bigsz);
	assert_int_equal(read_frame(&c), 0);
	assert_int_equal(rep.type, PROTO_RESULT);
	assert_int_equal(rep.id, 1);
	assert_int_equal(rep.len, sizeof bin);
	assert_memory_equal(rep.data, bin, sizeof bin);
	expect_reply(&c, PROTO_RESULT, 2, "");
	assert_int_equal(read_frame(&c), 0);
	assert_int_equal(rep.id, 3);
	assert_int_equal(rep.len, bigsz);
	assert_memory_equal(rep.data, big, bigsz);
	expect_clean_exit(&c);
	child_close(&c);
	free(big);
}

/* Many requests in one write: every one answered once, ids intact. */
static void
test_c_many_in_one_write(void **state)
{
	enum { N = 2000 };
	struct child	 c;
	uint8_t		*buf, *p;
	char		 payload[32];
	unsigned char	 seen[N] = { 0 };
	size_t		 size = (size_t)N * 64;
	long		 n;
	int		 i;

	buf = p = malloc(size);
	for (i = 0; i < N; i++) {
		snprintf(payload, sizeof payload, "msg %d", i);
		n = proto_encode_request(p, size - (size_t)(p - buf),
		    (uint32_t)i, "echo", 4, payload, strlen(payload));
		assert_true(n > 0);
		p += n;
	}
	start_c(&c);
	send_all(c.req, buf, (size_t)(p - buf));
	for (i = 0; i < N; i++) {
		assert_int_equal(read_frame(&c), 0);
		assert_int_equal(rep.type, PROTO_RESULT);
		assert_true(rep.id < N);
		assert_int_equal(seen[rep.id], 0);
		seen[rep.id] = 1;
		snprintf(payload, sizeof payload, "msg %u", rep.id);
		assert_string_equal(rep.data, payload);
	}
	expect_clean_exit(&c);
	child_close(&c);
	free(buf);
}

static void
test_c_unknown_task(void **state)
{
	struct child	c;

	start_c(&c);
	send_request(&c, 41, "nope", "x", 1);
	expect_reply(&c, PROTO_ERROR, 41, "unknown task \"nope\" "
	    "(this worker serves: " C_TASKS ")");
	/* The worker goes on serving. */
	send_request(&c, 42, "echo", "still here", 10);
	expect_reply(&c, PROTO_RESULT, 42, "still here");
	expect_clean_exit(&c);
	child_close(&c);
}

/* A 300 ms sleep sent before a 10 ms one answers after it. */
static void
test_c_sleep_out_of_order(void **state)
{
	struct child	c;

	start_c(&c);
	send_request(&c, 1, "sleep", "300", 3);
	send_request(&c, 2, "sleep", "10", 2);
	send_request(&c, 3, "sleep", "0", 1);
	expect_reply(&c, PROTO_RESULT, 3, "slept 0");
	expect_reply(&c, PROTO_RESULT, 2, "slept 10");
	expect_reply(&c, PROTO_RESULT, 1, "slept 300");
	send_request(&c, 4, "sleep", "soon", 4);
	expect_reply(&c, PROTO_ERROR, 4,
	    "sleep: expected milliseconds in decimal, got \"soon\"");
	expect_clean_exit(&c);
	child_close(&c);
}

/* fd 3 closed with a sleep pending: the reply still comes, then exit 0. */
static void
test_c_eof_waits_for_pending(void **state)
{
	struct child	c;
	int		st;

	start_c(&c);
	send_request(&c, 5, "sleep", "200", 3);
	close(c.req);
	c.req = -1;
	expect_reply(&c, PROTO_RESULT, 5, "slept 200");
	assert_int_equal(read_frame(&c), -1);
	st = wait_exit(&c);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	child_close(&c);
}

static void
test_c_fail(void **state)
{
	struct child	c;

	start_c(&c);
	send_request(&c, 7, "fail", NULL, 0);
	expect_reply(&c, PROTO_ERROR, 7, "failed on purpose");
	send_request(&c, 8, "fail", "disk on fire", 12);
	expect_reply(&c, PROTO_ERROR, 8, "disk on fire");
	expect_clean_exit(&c);
	child_close(&c);
}

/* crash: no reply, and the given exit status or signal. */
static void
check_crash(const char *payload, int code, int sig)
{
	struct child	c;
	int		st;

	start_c(&c);
	send_request(&c, 9, "crash", payload, strlen(payload));
	assert_int_equal(read_frame(&c), -1);
	st = wait_exit(&c);
	if (sig == 0) {
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), code);
	} else {
		assert_true(WIFSIGNALED(st));
		assert_int_equal(WTERMSIG(st), sig);
	}
	child_close(&c);
}

static void
test_c_crash(void **state)
{
	check_crash("", 3, 0);
	check_crash("abort", 0, SIGABRT);
	check_crash("segv", 0, SIGSEGV);
}

static void
test_c_pid_burn_alloc(void **state)
{
	struct child	c;
	char		text[64];

	start_c(&c);
	send_request(&c, 1, "pid", NULL, 0);
	snprintf(text, sizeof text, "%ld", (long)c.pid);
	expect_reply(&c, PROTO_RESULT, 1, text);
	send_request(&c, 2, "burn", "20", 2);
	expect_reply(&c, PROTO_RESULT, 2, "burned 20");
	send_request(&c, 3, "alloc", "8", 1);
	expect_reply(&c, PROTO_RESULT, 3, "holding 8 MB");
	send_request(&c, 4, "alloc", "0", 1);
	expect_reply(&c, PROTO_RESULT, 4, "holding 0 MB");
	send_request(&c, 5, "alloc", "-1", 2);
	expect_reply(&c, PROTO_ERROR, 5,
	    "alloc: expected megabytes in decimal, got \"-1\"");
	expect_clean_exit(&c);
	child_close(&c);
}

static void
test_c_log(void **state)
{
	struct child	c;
	char		want[128];

	start_c(&c);
	send_request(&c, 1, "log", "to stdout", 9);
	expect_reply(&c, PROTO_RESULT, 1, "ok");
	send_request(&c, 2, "logerr", "to stderr", 9);
	expect_reply(&c, PROTO_RESULT, 2, "ok");
	expect_clean_exit(&c);
	snprintf(want, sizeof want, "worker test/0 started (pid %ld)\n"
	    "to stdout\n", (long)c.pid);
	assert_string_equal(slurp(c.out), want);
	assert_string_equal(slurp(c.err), "to stderr\n");
	child_close(&c);
}

/* Bad bytes from the pool: a line on stderr naming the worker, exit 1. */
static void
check_bad_input(const void *bytes, size_t len, const char *want_err)
{
	struct child	c;
	int		st;

	start_c(&c);
	send_all(c.req, bytes, len);
	assert_int_equal(read_frame(&c), -1);
	st = wait_exit(&c);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_string_equal(slurp(c.err), want_err);
	child_close(&c);
}

static void
test_c_malformed_input(void **state)
{
	static const uint8_t type9[] = { 0, 0, 0, 5, 9, 0, 0, 0, 1 };
	static const uint8_t huge[] = { 0x7f, 0xff, 0xff, 0xff, 2 };
	static const uint8_t result[] = { 0, 0, 0, 5, 3, 0, 0, 0, 1 };

	check_bad_input(type9, sizeof type9, "pooltop-host (worker test/0): "
	    "malformed frame from the pool on fd 3 (at byte 0 of this read): "
	    "unknown message type\n");
	check_bad_input(huge, sizeof huge, "pooltop-host (worker test/0): "
	    "malformed frame from the pool on fd 3 (at byte 0 of this read): "
	    "oversized frame length\n");
	check_bad_input(result, sizeof result, "pooltop-host (worker test/0): "
	    "unexpected message type 3 from the pool on fd 3 (only REQUEST "
	    "frames go to a worker)\n");
}

/*
 * A task name with a NUL byte is a malformed frame, not an unknown task:
 * the worker matches names against its handlers before it looks for a
 * NUL, and must still refuse this one ("ec\0o", and "echo\0" whose first
 * four bytes are a handler's name).
 */
static void
test_c_nul_in_task_name(void **state)
{
	static const uint8_t mid[] = { 0, 0, 0, 11, 2, 0, 0, 0, 1, 0, 4,
	    'e', 'c', 0, 'o' };
	static const uint8_t tail[] = { 0, 0, 0, 12, 2, 0, 0, 0, 1, 0, 5,
	    'e', 'c', 'h', 'o', 0 };
	static const char *const want = "pooltop-host (worker test/0): "
	    "malformed frame from the pool on fd 3 (at byte 0 of this read): "
	    "bad name (a task name has 1 to 255 bytes, a lock name 1 to 63, "
	    "and no NUL byte)\n";

	(void)state;
	check_bad_input(mid, sizeof mid, want);
	check_bad_input(tail, sizeof tail, want);
}

/* The pool dies mid-frame: fd 3 ends inside a frame. */
static void
test_c_eof_mid_frame(void **state)
{
	static const uint8_t partial[] = { 0, 0, 0, 9, 2, 0 };
	struct child	c;
	int		st;

	start_c(&c);
	send_all(c.req, partial, sizeof partial);
	close(c.req);
	c.req = -1;
	st = wait_exit(&c);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_string_equal(slurp(c.err), "pooltop-host (worker test/0): the "
	    "pool closed fd 3 in the middle of a frame (6 bytes of it "
	    "received)\n");
	child_close(&c);
}

static void
test_c_options(void **state)
{
	struct child	c;
	uint64_t	t0;
	int		st;

	spawn_worker(&c, C_WORKER, "--exit-at-start", "7", 1);
	st = wait_exit(&c);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 7);
	assert_string_equal(slurp(c.out), "");
	child_close(&c);

	t0 = now_ms();
	spawn_worker(&c, C_WORKER, "--hello-delay", "300", 1);
	expect_hello(&c, C_TASKS);
	assert_true(now_ms() - t0 >= 300);
	expect_clean_exit(&c);
	child_close(&c);

	/* No handshake ever, even when fd 3 closes; SIGTERM ends it. */
	spawn_worker(&c, C_WORKER, "--no-hello", NULL, 1);
	close(c.req);
	c.req = -1;
	usleep(200000);
	assert_int_equal(waitpid(c.pid, &st, WNOHANG), 0);
	kill(c.pid, SIGTERM);
	st = wait_exit(&c);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGTERM);
	assert_int_equal(read_frame(&c), -1);	/* not a byte written */
	child_close(&c);

	spawn_worker(&c, C_WORKER, "--bogus", NULL, 1);
	st = wait_exit(&c);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 2);
	child_close(&c);
}

/* Started by hand, without fds 3 and 4: a clear error, exit 1. */
static void
test_c_not_a_pool(void **state)
{
	struct child	c;
	int		st;

	spawn_worker(&c, C_WORKER, NULL, NULL, 0);
	st = wait_exit(&c);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_string_equal(slurp(c.err), "pooltop-host (worker test/0): fd 3 "
	    "and fd 4 are not open for requests and replies: this program is "
	    "a pooltop worker, to be started by a pooltop pool (see "
	    "pooltop-protocol(7))\n");
	child_close(&c);
}

/* ---- the SDK in-process: answers from other threads -------------------- */

struct late {
	struct pooltop_req	*req;
	unsigned		 ms;
};

static void *
late_thread(void *arg)
{
	struct late	*l = arg;
	char		 text[32];

	usleep(l->ms * 1000);
	snprintf(text, sizeof text, "thread %u", l->ms);
	pooltop_reply(l->req, text, strlen(text));
	free(l);
	return NULL;
}

/* thread: answers "thread N" from a new thread, N ms later. */
static void
sdk_thread(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	struct late	*l = malloc(sizeof *l);
	pthread_t	 t;

	l->req = req;
	l->ms = (unsigned)atoi(data);	/* NUL-terminated by the test */
	if (pthread_create(&t, NULL, late_thread, l) != 0)
		_exit(10);
	pthread_detach(t);
}

/*
 * wait and go: a wait request is answered by its thread only after a go
 * request was answered by another thread, so the answers come back in
 * the opposite order of the requests, without depending on timing.
 */
static pthread_mutex_t	go_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	go_cond = PTHREAD_COND_INITIALIZER;
static int		go_done;

static void *
wait_thread(void *arg)
{
	pthread_mutex_lock(&go_lock);
	while (!go_done)
		pthread_cond_wait(&go_cond, &go_lock);
	pthread_mutex_unlock(&go_lock);
	pooltop_reply(arg, "waited", 6);
	return NULL;
}

static void *
go_thread(void *arg)
{
	pooltop_reply(arg, "go", 2);
	pthread_mutex_lock(&go_lock);
	go_done = 1;
	pthread_cond_signal(&go_cond);
	pthread_mutex_unlock(&go_lock);
	return NULL;
}

static void
sdk_wait(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	pthread_t	t;

	if (pthread_create(&t, NULL, wait_thread, req) != 0)
		_exit(10);
	pthread_detach(t);
}

static void
sdk_go(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	pthread_t	t;

	if (pthread_create(&t, NULL, go_thread, req) != 0)
		_exit(10);
	pthread_detach(t);
}

static void *
quit_thread(void *arg)
{
	usleep(50000);
	pooltop_host_quit(arg);
	return NULL;
}

/* quit: answers "bye", then another thread makes run() return. */
static void
sdk_quit(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	pthread_t	t;

	pooltop_reply(req, "bye", 3);
	if (pthread_create(&t, NULL, quit_thread, arg) != 0)
		_exit(10);
	pthread_detach(t);
}

/* big: a result over the maximum frame size becomes an error. */
static void
sdk_big(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	size_t	 size = PROTO_MAX_FRAME;
	char	*p = calloc(1, size);

	if (pooltop_reply(req, p, size) != -EMSGSIZE)
		_exit(11);
	free(p);
}

static void
sdk_tick_cb(struct pooltop_host *h, void *arg)
{
	int	*n = arg;

	if (++*n < 100)
		pooltop_host_after(h, 0, sdk_tick_cb, n);
}

/* ticks: a timer re-arming itself at 0 ms must not starve the loop. */
static void
sdk_ticks(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	static int	n;

	pooltop_host_after(pooltop_req_host(req), 0, sdk_tick_cb, &n);
	pooltop_reply(req, "ticking", 7);
}

/* The child: serves the tasks above on the pipes, exits with run()'s say. */
static void
sdk_child(int req[2], int rp[2])
{
	struct pooltop_host	*h;
	int			 rc;

	/* Only fds 3 and 4 stay: our own pipe ends would hide the EOF. */
	if (dup2(req[0], 3) != 3 || dup2(rp[1], 4) != 4)
		_exit(12);
	close(req[0]);
	close(req[1]);
	close(rp[0]);
	close(rp[1]);
	h = pooltop_host_new();
	if (pooltop_host_on(h, "thread", sdk_thread, NULL) != 0 ||
	    pooltop_host_on(h, "quit", sdk_quit, h) != 0 ||
	    pooltop_host_on(h, "big", sdk_big, NULL) != 0 ||
	    pooltop_host_on(h, "ticks", sdk_ticks, NULL) != 0 ||
	    pooltop_host_on(h, "wait", sdk_wait, NULL) != 0 ||
	    pooltop_host_on(h, "go", sdk_go, NULL) != 0)
		_exit(13);
	rc = pooltop_host_run(h);
	pooltop_host_free(h);
	_exit(rc == 0 ? 0 : 14);
}

static void
test_sdk_registration(void **state)
{
	struct pooltop_host	*h = pooltop_host_new();
	char			 name[PROTO_MAX_NAME + 2];

	memset(name, 'n', sizeof name);
	name[PROTO_MAX_NAME] = '\0';
	assert_non_null(h);
	assert_int_equal(pooltop_host_on(h, "a", sdk_big, NULL), 0);
	assert_int_equal(pooltop_host_on(h, "a", sdk_big, NULL), -EEXIST);
	assert_int_equal(pooltop_host_on(h, "", sdk_big, NULL), -EINVAL);
	assert_int_equal(pooltop_host_on(h, "b", NULL, NULL), -EINVAL);
	assert_int_equal(pooltop_host_on(h, name, sdk_big, NULL), 0);
	name[PROTO_MAX_NAME] = 'n';
	name[PROTO_MAX_NAME + 1] = '\0';
	assert_int_equal(pooltop_host_on(h, name, sdk_big, NULL), -EINVAL);
	pooltop_host_free(h);
	pooltop_host_free(NULL);
}

static void
test_sdk_threads(void **state)
{
	enum { N = 20 };
	struct child	 c;
	unsigned char	 seen[N] = { 0 };
	char		 ms[16], want[32];
	int		 req[2], rp[2], i, st;

	memset(&c, 0, sizeof c);
	high_pipe(req);
	high_pipe(rp);
	c.pid = fork();
	assert_true(c.pid >= 0);
	if (c.pid == 0)
		sdk_child(req, rp);
	close(req[0]);
	close(rp[1]);
	c.req = req[1];
	c.rep = rp[0];
	c.out = open("/dev/null", O_RDONLY | O_CLOEXEC);
	c.err = open("/dev/null", O_RDONLY | O_CLOEXEC);
	c.buf = malloc(4 << 20);

	expect_hello(&c, "thread, quit, big, ticks, wait, go");
	send_request(&c, 50, "wait", NULL, 0);
	send_request(&c, 51, "go", NULL, 0);
	expect_reply(&c, PROTO_RESULT, 51, "go");
	expect_reply(&c, PROTO_RESULT, 50, "waited");

	/* N threads in flight at once, each answered exactly once. */
	for (i = 0; i < N; i++) {
		snprintf(ms, sizeof ms, "%d", (N - i) * 20);
		send_request(&c, (uint32_t)i, "thread", ms, strlen(ms) + 1);
	}
	for (i = 0; i < N; i++) {
		assert_int_equal(read_frame(&c), 0);
		assert_int_equal(rep.type, PROTO_RESULT);
		assert_true(rep.id < N);
		assert_int_equal(seen[rep.id], 0);
		seen[rep.id] = 1;
		snprintf(want, sizeof want, "thread %u", (N - rep.id) * 20);
		assert_string_equal(rep.data, want);
	}

	send_request(&c, 100, "big", NULL, 0);
	expect_reply(&c, PROTO_ERROR, 100, "task \"big\": result too large "
	    "(16777216 bytes; a frame holds at most 16777211)");
	send_request(&c, 101, "ticks", NULL, 0);
	expect_reply(&c, PROTO_RESULT, 101, "ticking");
	send_request(&c, 102, "thread", "1", 2);
	expect_reply(&c, PROTO_RESULT, 102, "thread 1");

	/* quit from another thread: run() returns 0 with fd 3 still open. */
	send_request(&c, 103, "quit", NULL, 0);
	expect_reply(&c, PROTO_RESULT, 103, "bye");
	st = wait_exit(&c);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	child_close(&c);
}

/* ---- the Python example worker -------------------------------------- */

static void
start_py(struct child *c)
{
	spawn_worker(c, PY_WORKER, NULL, NULL, 1);
	expect_hello(c, PY_TASKS);
}

static void
test_py_echo(void **state)
{
	struct child	c;
	uint8_t		bin[1000];
	size_t		i;

	for (i = 0; i < sizeof bin; i++)
		bin[i] = (uint8_t)(i * 13);
	start_py(&c);
	send_request(&c, 70000, "echo", bin, sizeof bin);
	assert_int_equal(read_frame(&c), 0);
	assert_int_equal(rep.type, PROTO_RESULT);
	assert_int_equal(rep.id, 70000);
	assert_int_equal(rep.len, sizeof bin);
	assert_memory_equal(rep.data, bin, sizeof bin);
	send_request(&c, 2, "echo", NULL, 0);
	expect_reply(&c, PROTO_RESULT, 2, "");
	send_request(&c, 3, "pid", NULL, 0);
	assert_int_equal(read_frame(&c), 0);
	assert_int_equal(atol(rep.data), (long)c.pid);
	send_request(&c, 4, "fail", NULL, 0);
	expect_reply(&c, PROTO_ERROR, 4, "failed on purpose");
	send_request(&c, 5, "fail", "oops", 4);
	expect_reply(&c, PROTO_ERROR, 5, "oops");
	expect_clean_exit(&c);
	child_close(&c);
}

static void
test_py_sleep_out_of_order(void **state)
{
	struct child	c;

	start_py(&c);
	send_request(&c, 1, "sleep", "300", 3);
	send_request(&c, 2, "sleep", "10", 2);
	send_request(&c, 3, "echo", "now", 3);
	expect_reply(&c, PROTO_RESULT, 3, "now");
	expect_reply(&c, PROTO_RESULT, 2, "slept 10");
	expect_reply(&c, PROTO_RESULT, 1, "slept 300");
	expect_clean_exit(&c);
	child_close(&c);
}

static void
test_py_unknown_task_and_crash(void **state)
{
	struct child	c;
	int		st;

	start_py(&c);
	send_request(&c, 8, "nope", NULL, 0);
	expect_reply(&c, PROTO_ERROR, 8, "unknown task \"nope\" "
	    "(this worker serves: " PY_TASKS ")");
	send_request(&c, 9, "crash", NULL, 0);
	assert_int_equal(read_frame(&c), -1);
	st = wait_exit(&c);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 3);
	child_close(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_c_hello_and_eof),
		cmocka_unit_test(test_c_echo_binary),
		cmocka_unit_test(test_c_many_in_one_write),
		cmocka_unit_test(test_c_unknown_task),
		cmocka_unit_test(test_c_sleep_out_of_order),
		cmocka_unit_test(test_c_eof_waits_for_pending),
		cmocka_unit_test(test_c_fail),
		cmocka_unit_test(test_c_crash),
		cmocka_unit_test(test_c_pid_burn_alloc),
		cmocka_unit_test(test_c_log),
		cmocka_unit_test(test_c_malformed_input),
		cmocka_unit_test(test_c_nul_in_task_name),
		cmocka_unit_test(test_c_eof_mid_frame),
		cmocka_unit_test(test_c_options),
		cmocka_unit_test(test_c_not_a_pool),
		cmocka_unit_test(test_sdk_registration),
		cmocka_unit_test(test_sdk_threads),
		cmocka_unit_test(test_py_echo),
		cmocka_unit_test(test_py_sleep_out_of_order),
		cmocka_unit_test(test_py_unknown_task_and_crash),
	};

	/* A worker that dies must not take the test with it. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
