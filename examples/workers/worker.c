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
 * When the pool has locks (POOLTOP_LOCKS set; pooltop.conf(5) `locks`),
 * also these, whose payload starts with a lock's name ("-" for no lock,
 * in incr).  "owner died" in a reply: the lock's previous holder died
 * holding it.
 *
 *   lock       NAME: takes it and keeps it; "locked"
 *   unlock     NAME: gives it back; "unlocked"
 *   trylock    NAME: "locked", or "busy" when another holds it
 *   timedlock  NAME MS: "locked", or "timed out" after MS ms
 *   hold       NAME MS: takes it, blocks MS ms, gives it back; "held MS"
 *   incr       NAME N PATH: N times, under the lock, adds 1 to the
 *              64-bit counter at the start of file PATH (mapped shared);
 *              "incr N owner_died K"
 *
 * Options: --hello-delay MS (sleep before the handshake), --no-hello
 * (never handshake: sleeps like a service), --exit-at-start N (exit with
 * status N at once).
 */
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
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

static void	sleep_ms(unsigned long long);

/*
 * Splits "NAME REST" and finds the lock; fails req (and returns NULL)
 * when the name is missing or not one of the pool's locks.  name "-"
 * gives NULL without failing (*none set).
 */
static struct pooltop_lock *
lock_arg(struct pooltop_req *req, const void *data, size_t len,
    char *rest, size_t restlen, int *none)
{
	struct pooltop_lock	*l;
	const char		*p = data, *end = p + len, *sp;
	char			 name[64];
	size_t			 n;
	int			 rc;

	*none = 0;
	sp = memchr(p, ' ', len);
	n = sp != NULL ? (size_t)(sp - p) : len;
	if (n == 0 || n >= sizeof name) {
		pooltop_fail(req, "%s: expected a lock name, got \"%.*s\"",
		    pooltop_req_task(req), len > 64 ? 64 : (int)len, p);
		return NULL;
	}
	memcpy(name, p, n);
	name[n] = '\0';
	if (sp != NULL) {
		sp++;
		n = (size_t)(end - sp);
		if (n >= restlen)
			n = restlen - 1;
		memcpy(rest, sp, n);
		rest[n] = '\0';
	} else
		rest[0] = '\0';
	if (strcmp(name, "-") == 0) {
		*none = 1;
		return NULL;
	}
	if ((rc = pooltop_lock_get(name, &l)) != 0) {
		if (rc == -ENOENT)
			pooltop_fail(req, "%s: no lock \"%s\" in this pool "
			    "(its locks: %s)", pooltop_req_task(req), name,
			    getenv("POOLTOP_LOCKS"));
		else
			pooltop_fail(req, "%s: lock \"%s\": %s",
			    pooltop_req_task(req), name, strerror(-rc));
		return NULL;
	}
	return l;
}

/* Answers a take: "locked", "locked owner_died", "busy", "timed out". */
static void
lock_answer(struct pooltop_req *req, struct pooltop_lock *l, int rc)
{
	if (rc == 0)
		pooltop_reply(req, "locked", 6);
	else if (rc == POOLTOP_LOCK_OWNER_DIED)
		pooltop_reply(req, "locked owner_died", 17);
	else if (rc == -EBUSY)
		pooltop_reply(req, "busy", 4);
	else if (rc == -ETIMEDOUT)
		pooltop_reply(req, "timed out", 9);
	else
		pooltop_fail(req, "%s %s: %s", pooltop_req_task(req),
		    pooltop_lock_name(l), strerror(-rc));
}

static void
task_lock(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	struct pooltop_lock	*l;
	char			 rest[64];
	int			 none;

	if ((l = lock_arg(req, data, len, rest, sizeof rest, &none)) != NULL)
		lock_answer(req, l, pooltop_lock(l));
	else if (none)
		pooltop_fail(req, "lock: expected a lock name, got \"-\"");
}

static void
task_trylock(struct pooltop_req *req, const void *data, size_t len,
    void *arg)
{
	struct pooltop_lock	*l;
	char			 rest[64];
	int			 none;

	if ((l = lock_arg(req, data, len, rest, sizeof rest, &none)) != NULL)
		lock_answer(req, l, pooltop_lock_try(l));
	else if (none)
		pooltop_fail(req, "trylock: expected a lock name, got \"-\"");
}

static void
task_timedlock(struct pooltop_req *req, const void *data, size_t len,
    void *arg)
{
	struct pooltop_lock	*l;
	unsigned long long	 ms;
	char			 rest[64];
	int			 none;

	if ((l = lock_arg(req, data, len, rest, sizeof rest, &none)) == NULL) {
		if (none)
			pooltop_fail(req, "timedlock: expected a lock name, "
			    "got \"-\"");
		return;
	}
	if (parse_number(rest, strlen(rest), &ms) != 0) {
		fail_number(req, "NAME and milliseconds", data, len);
		return;
	}
	lock_answer(req, l, pooltop_lock_timed(l, ms));
}

static void
task_unlock(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	struct pooltop_lock	*l;
	char			 rest[64];
	int			 none, rc;

	if ((l = lock_arg(req, data, len, rest, sizeof rest, &none)) == NULL) {
		if (none)
			pooltop_fail(req, "unlock: expected a lock name, got "
			    "\"-\"");
		return;
	}
	if ((rc = pooltop_unlock(l)) == 0)
		pooltop_reply(req, "unlocked", 8);
	else if (rc == -EPERM)
		pooltop_fail(req, "unlock %s: not held by this worker",
		    pooltop_lock_name(l));
	else
		pooltop_fail(req, "unlock %s: %s", pooltop_lock_name(l),
		    strerror(-rc));
}

/* Takes the lock, blocks the worker ms milliseconds, gives it back. */
static void
task_hold(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	struct pooltop_lock	*l;
	unsigned long long	 ms;
	char			 rest[64], buf[64];
	int			 none, rc, n;

	if ((l = lock_arg(req, data, len, rest, sizeof rest, &none)) == NULL) {
		if (none)
			pooltop_fail(req, "hold: expected a lock name, got "
			    "\"-\"");
		return;
	}
	if (parse_number(rest, strlen(rest), &ms) != 0) {
		fail_number(req, "NAME and milliseconds", data, len);
		return;
	}
	if ((rc = pooltop_lock(l)) < 0) {
		lock_answer(req, l, rc);
		return;
	}
	sleep_ms(ms);
	pooltop_unlock(l);
	n = snprintf(buf, sizeof buf, "held %llu%s", ms,
	    rc == POOLTOP_LOCK_OWNER_DIED ? " owner_died" : "");
	pooltop_reply(req, buf, (size_t)n);
}

/* The critical section of incr: one increment of the shared counter. */
static int
incr_one(void *arg, int owner_died)
{
	volatile uint64_t	*counter = arg;

	*counter = *counter + 1;
	return owner_died;
}

static void
task_incr(struct pooltop_req *req, const void *data, size_t len, void *arg)
{
	struct pooltop_lock	*l;
	unsigned long long	 n, i, died = 0;
	char			 rest[1100], buf[96], *sp;
	void			*map;
	int			 none, fd, rc;

	l = lock_arg(req, data, len, rest, sizeof rest, &none);
	if (l == NULL && !none)
		return;
	if ((sp = strchr(rest, ' ')) == NULL ||
	    parse_number(rest, (size_t)(sp - rest), &n) != 0) {
		pooltop_fail(req, "incr: expected NAME N PATH, got \"%.*s\"",
		    len > 64 ? 64 : (int)len, (const char *)data);
		return;
	}
	if ((fd = open(sp + 1, O_RDWR | O_CLOEXEC)) < 0) {
		pooltop_fail(req, "incr: %s: %s", sp + 1, strerror(errno));
		return;
	}
	map = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		pooltop_fail(req, "incr: %s: %s", sp + 1, strerror(errno));
		return;
	}
	for (i = 0; i < n; i++) {
		if (l == NULL) {
			incr_one(map, 0);
			continue;
		}
		rc = pooltop_with_lock(l, incr_one, map);
		if (rc < 0) {
			munmap(map, sizeof(uint64_t));
			lock_answer(req, l, rc);
			return;
		}
		died += (unsigned long long)rc;
	}
	munmap(map, sizeof(uint64_t));
	rc = snprintf(buf, sizeof buf, "incr %llu owner_died %llu", n, died);
	pooltop_reply(req, buf, (size_t)rc);
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
	}, lock_tasks[] = {
		{ "lock", task_lock },
		{ "unlock", task_unlock },
		{ "trylock", task_trylock },
		{ "timedlock", task_timedlock },
		{ "hold", task_hold },
		{ "incr", task_incr },
	};
	struct pooltop_host	*h;
	unsigned long long	 hello_delay = 0;
	const char		*who, *locks;
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
	/* The lock tasks, when the pool gives its workers locks. */
	if ((locks = getenv("POOLTOP_LOCKS")) != NULL && *locks != '\0') {
		for (i = 0; i < sizeof lock_tasks / sizeof lock_tasks[0];
		    i++) {
			if ((rc = pooltop_host_on(h, lock_tasks[i].name,
			    lock_tasks[i].fn, NULL)) != 0) {
				fprintf(stderr, "pooltop-example-worker: %s: "
				    "%s\n", lock_tasks[i].name, strerror(-rc));
				return 1;
			}
		}
	}
	rc = pooltop_host_run(h);
	pooltop_host_free(h);
	free(held);
	return rc == 0 ? 0 : 1;
}
