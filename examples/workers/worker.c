/*
 * pooltop-example-worker: a worker built on libpooltop-host, used by the
 * demo and by the tests.  Tasks:
 *
 *   echo    replies with the payload
 *   sleep   payload: ms in decimal; replies "slept N" after N ms, answered
 *           asynchronously from a timer, so sleeps overlap
 *   fail    fails with the payload as the error text (empty: "failed on
 *           purpose")
 *   crash   exits at once with status 3, without answering ("abort":
 *           abort(); "segv": raise(SIGSEGV))
 *   pid     replies with the worker's pid in decimal
 *   burn    payload: ms; busy-loops on the CPU that long, replies
 *           "burned N"
 *   alloc   payload: MB; allocates and touches that many (replacing the
 *           previous alloc), replies "holding N MB"
 *   log     writes the payload as one line to stdout, replies "ok"
 *   logerr  the same to stderr
 *
 * Options: --hello-delay MS (sleep before the handshake), --no-hello
 * (never handshake: sleeps like a service), --exit-at-start N (exit with
 * status N at once).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pooltop/host.h"

struct sleeper {
	struct pooltop_req	*req;
	unsigned long long	 ms;
};

static void	*held;		/* the alloc task's memory */
static size_t	 held_mb;

/*
 * Parses a payload as a decimal number (surrounding blanks allowed).
 * Returns 0 or -1 when it is not one.
 */
static int
parse_number(const void *data, size_t len, unsigned long long *out)
{
	const char		*p = data, *end = p + len;
	unsigned long long	 v = 0;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (p == end || end - p > 15)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned)(*p - '0');
	}
	*out = v;
	return 0;
}

/* Fails req with "TASK: expected WHAT in decimal, got "PAYLOAD"". */
static void
fail_number(struct pooltop_req *req, const char *what, const void *data,
    size_t len)
{
	pooltop_fail(req, "%s: expected %s in decimal, got \"%.*s\"",
	    pooltop_req_task(req), what, len > 64 ? 64 : (int)len,
	    (const char *)data);
}

static void
task_echo(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	pooltop_reply(req, data, len);
}

static void
sleep_done_cb(struct pooltop_host *h, void *arg)
{
	struct sleeper	*s = arg;
	char		 buf[64];
	int		 n;

	n = snprintf(buf, sizeof buf, "slept %llu", s->ms);
	pooltop_reply(s->req, buf, (size_t)n);
	free(s);
}

static void
task_sleep(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	struct sleeper		*s;
	unsigned long long	 ms;
	int			 rc;

	if (parse_number(data, len, &ms) != 0) {
		fail_number(req, "milliseconds", data, len);
		return;
	}
	if ((s = malloc(sizeof *s)) == NULL) {
		pooltop_fail(req, "sleep: out of memory");
		return;
	}
	s->req = req;
	s->ms = ms;
	rc = pooltop_host_after(pooltop_req_host(req), ms, sleep_done_cb, s);
	if (rc != 0) {
		pooltop_fail(req, "sleep: %s", strerror(-rc));
		free(s);
	}
}

static void
task_fail(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	if (len == 0)
		pooltop_fail(req, "failed on purpose");
	else
		pooltop_fail(req, "%.*s", (int)len, (const char *)data);
}

/* Dies without answering: the pool must end the task with an error. */
static void
task_crash(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	fflush(stdout);
	fflush(stderr);
	if (len == 5 && memcmp(data, "abort", 5) == 0)
		abort();
	if (len == 4 && memcmp(data, "segv", 4) == 0) {
		/* The default action, even under a sanitizer's handler. */
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
	}
	_exit(3);
}

static void
task_pid(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	char	buf[32];
	int	n;

	n = snprintf(buf, sizeof buf, "%ld", (long)getpid());
	pooltop_reply(req, buf, (size_t)n);
}

static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Keeps the CPU busy for the given time, synchronously. */
static void
task_burn(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	unsigned long long	ms;
	volatile uint64_t	x = 0;
	double			end;
	char			buf[64];
	int			n, i;

	if (parse_number(data, len, &ms) != 0) {
		fail_number(req, "milliseconds", data, len);
		return;
	}
	end = now_ms() + (double)ms;
	while (now_ms() < end) {
		for (i = 0; i < 10000; i++)
			x = x * 6364136223846793005u + 1;
	}
	n = snprintf(buf, sizeof buf, "burned %llu", ms);
	pooltop_reply(req, buf, (size_t)n);
}

/* Replaces the held memory with mb megabytes, every page touched. */
static void
task_alloc(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	unsigned long long	mb;
	char			buf[64];
	int			n;

	if (parse_number(data, len, &mb) != 0) {
		fail_number(req, "megabytes", data, len);
		return;
	}
	if (mb > SIZE_MAX >> 21) {
		pooltop_fail(req, "alloc: %llu MB is more than this machine "
		    "can address", mb);
		return;
	}
	free(held);
	held = NULL;
	held_mb = 0;
	if (mb != 0) {
		if ((held = malloc((size_t)mb << 20)) == NULL) {
			pooltop_fail(req, "alloc: cannot allocate %llu MB", mb);
			return;
		}
		memset(held, 0xa5, (size_t)mb << 20);
		held_mb = (size_t)mb;
	}
	n = snprintf(buf, sizeof buf, "holding %zu MB", held_mb);
	pooltop_reply(req, buf, (size_t)n);
}

/* Writes the payload and a newline to f, flushed at once. */
static void
log_to(FILE *f, struct pooltop_req *req, const void *data, size_t len)
{
	fwrite(data, 1, len, f);
	fputc('\n', f);
	fflush(f);
	pooltop_reply(req, "ok", 2);
}

static void
task_log(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	log_to(stdout, req, data, len);
}

static void
task_logerr(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	log_to(stderr, req, data, len);
}

static void
sleep_ms(unsigned long long ms)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: pooltop-example-worker [--hello-delay MS] "
	    "[--no-hello] [--exit-at-start N]\n");
	exit(2);
}

static unsigned long long
arg_number(const char *opt, const char *s)
{
	unsigned long long	v = 0;

	if (s == NULL || parse_number(s, strlen(s), &v) != 0) {
		fprintf(stderr, "pooltop-example-worker: %s needs a number, "
		    "got \"%s\"\n", opt, s != NULL ? s : "");
		usage();
	}
	return v;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char	*name;
		pooltop_handler	 fn;
	} tasks[] = {
		{ "echo", task_echo },
		{ "sleep", task_sleep },
		{ "fail", task_fail },
		{ "crash", task_crash },
		{ "pid", task_pid },
		{ "burn", task_burn },
		{ "alloc", task_alloc },
		{ "log", task_log },
		{ "logerr", task_logerr },
	};
	struct pooltop_host	*h;
	unsigned long long	 hello_delay = 0;
	const char		*who;
	size_t			 i;
	int			 no_hello = 0, rc;

	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--exit-at-start") == 0)
			exit((int)arg_number(argv[i], argv[i + 1]));
		else if (strcmp(argv[i], "--hello-delay") == 0) {
			hello_delay = arg_number(argv[i], argv[i + 1]);
			i++;
		}
		else if (strcmp(argv[i], "--no-hello") == 0)
			no_hello = 1;
		else
			usage();
	}

	if ((who = getenv("POOLTOP_WORKER")) == NULL || *who == '\0')
		who = "-";
	printf("worker %s started (pid %ld)\n", who, (long)getpid());
	fflush(stdout);

	if (no_hello) {
		/* Never handshakes: the pool treats it as a service. */
		for (;;)
			pause();
	}
	if (hello_delay != 0)
		sleep_ms(hello_delay);

	if ((h = pooltop_host_new()) == NULL) {
		fprintf(stderr, "pooltop-example-worker: out of memory\n");
		return 1;
	}
	for (i = 0; i < sizeof tasks / sizeof tasks[0]; i++) {
		if ((rc = pooltop_host_on(h, tasks[i].name, tasks[i].fn,
		    NULL)) != 0) {
			fprintf(stderr, "pooltop-example-worker: %s: %s\n",
			    tasks[i].name, strerror(-rc));
			return 1;
		}
	}
	rc = pooltop_host_run(h);
	pooltop_host_free(h);
	free(held);
	return rc == 0 ? 0 : 1;
}
