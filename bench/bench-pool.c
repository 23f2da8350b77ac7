/*
 * bench-pool: the engine's throughput, latency and start-up time, each
 * next to a baseline measured in the same run on the same machine.
 *
 *  1. Tiny echo tasks (32-byte payloads) over 2 workers, 1 in flight in
 *     total, against a raw pipe ping-pong between this process and two
 *     bare children (1 message in flight).
 *  2. The same with 64 in flight per worker, against raw pipes with 64
 *     messages in flight per child, read and written in batches.
 *  3. Starting 100 workers until all have handshaken, against 100 bare
 *     posix_spawn calls of a trivial C program that writes one byte back.
 *
 * Not a test: it prints figures and ratios (goals from issue 2: >= 0.5x
 * raw at 64 in flight, 1-in-flight round trip within 1.5x of raw,
 * start-up within 1.5x of posix_spawn).  Run it from the build dir:
 *	build/bench/bench-pool [-q] [-v] [one figure]
 * (-q: shorter runs; -v: this process's CPU time per message).  Each figure is the best of three runs.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "pooltop/pool.h"

#define MSG		48	/* raw message: about a framed 32-byte echo */
#define DEPTH		64	/* in flight per worker */
#define PAYLOAD		32

extern char **environ;

static char	 worker_path[1024];
static char	 byte_path[1024];
static int	 quick;

/* This process's CPU time (user, system) in seconds. */
static void
cpu_self(double *user, double *sys)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	*user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	*sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int	 verbose;

/* With -v: the parent's CPU per message over a measured stretch. */
static void
cpu_report(const char *what, unsigned n, double u0, double s0)
{
	double	u1, s1;

	if (!verbose)
		return;
	cpu_self(&u1, &s1);
	fprintf(stderr, "  [%s: parent CPU %.0f ns/msg (user %.0f, sys %.0f)]\n",
	    what, (u1 - u0 + s1 - s0) / n * 1e9, (u1 - u0) / n * 1e9,
	    (s1 - s0) / n * 1e9);
}

static double
now_s(void)
{
	return (double)uv_hrtime() / 1e9;
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static void
write_all(int fd, const void *p, size_t n)
{
	const char	*c = p;
	ssize_t		 w;

	while (n != 0) {
		w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		c += w;
		n -= (size_t)w;
	}
}

static void
read_all(int fd, void *p, size_t n)
{
	char	*c = p;
	ssize_t	 r;

	while (n != 0) {
		r = read(fd, c, n);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			die("read");
		}
		c += r;
		n -= (size_t)r;
	}
}

/* ---- raw baselines ------------------------------------------------------- */

static uint32_t
get32(const char *p)
{
	const unsigned char	*u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
	    (uint32_t)u[2] << 8 | u[3];
}

/* A frame of MSG bytes: a 4-byte big-endian length, then the body. */
static void
put_msg(char *p)
{
	uint32_t	len = MSG - 4;

	p[0] = (char)(len >> 24);
	p[1] = (char)(len >> 16);
	p[2] = (char)(len >> 8);
	p[3] = (char)len;
	memset(p + 4, 'x', MSG - 4);
}

/*
 * A bare child: reads in batches, walks the length-prefixed frames one
 * by one, answers each with a copy, and writes all answers of a batch
 * at once: the least work any framed protocol does.
 */
static void
raw_child(int in, int out)
{
	static char	buf[65536], reply[65536];
	size_t		have = 0, off, olen, flen;
	ssize_t		r;

	for (;;) {
		r = read(in, buf + have, sizeof buf - have);
		if (r <= 0)
			_exit(0);
		have += (size_t)r;
		off = olen = 0;
		while (have - off >= 4 &&
		    have - off >= (flen = 4 + get32(buf + off))) {
			memcpy(reply + olen, buf + off, flen);
			olen += flen;
			off += flen;
		}
		if (olen != 0)
			write_all(out, reply, olen);
		memmove(buf, buf + off, have - off);
		have -= off;
	}
}

struct raw {
	pid_t	pid[2];
	int	to[2];
	int	from[2];
};

static void
raw_start(struct raw *r)
{
	int	a[2], b[2], i;

	for (i = 0; i < 2; i++) {
		if (pipe(a) != 0 || pipe(b) != 0)
			die("pipe");
		r->pid[i] = fork();
		if (r->pid[i] < 0)
			die("fork");
		if (r->pid[i] == 0) {
			close(a[1]);
			close(b[0]);
			if (i == 1) {
				close(r->to[0]);
				close(r->from[0]);
			}
			raw_child(a[0], b[1]);
		}
		close(a[0]);
		close(b[1]);
		r->to[i] = a[1];
		r->from[i] = b[0];
	}
}

static void
raw_stop(struct raw *r)
{
	int	i;

	for (i = 0; i < 2; i++) {
		close(r->to[i]);
		close(r->from[i]);
		waitpid(r->pid[i], NULL, 0);
	}
}

/* One message in flight in total, alternating between the children. */
static double
raw_pingpong(unsigned n)
{
	struct raw	r;
	char		msg[MSG];
	unsigned	i;
	double		t0, t;

	put_msg(msg);
	raw_start(&r);
	t0 = now_s();
	for (i = 0; i < n; i++) {
		write_all(r.to[i & 1], msg, MSG);
		read_all(r.from[i & 1], msg, 4);
		read_all(r.from[i & 1], msg + 4, get32(msg));
	}
	t = now_s() - t0;
	raw_stop(&r);
	return n / t;
}

/*
 * DEPTH messages in flight per child: each read's replies are walked one
 * by one and answered with as many new messages in one write.
 */
static double
raw_batched(unsigned n)
{
	static char	buf[2][65536], out[65536];
	struct raw	r;
	struct pollfd	pfd[2];
	size_t		have[2] = { 0, 0 }, off, olen, flen;
	unsigned	done = 0, sent = 0, i, k;
	ssize_t		got;
	double		t0, t, u0, s0;

	raw_start(&r);
	cpu_self(&u0, &s0);
	t0 = now_s();
	for (i = 0; i < 2; i++) {
		for (k = 0; k < DEPTH; k++)
			put_msg(out + k * MSG);
		write_all(r.to[i], out, (size_t)DEPTH * MSG);
		sent += DEPTH;
		pfd[i].fd = r.from[i];
		pfd[i].events = POLLIN;
	}
	while (done < n) {
		if (poll(pfd, 2, -1) < 0)
			die("poll");
		for (i = 0; i < 2; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			got = read(r.from[i], buf[i] + have[i],
			    sizeof buf[i] - have[i]);
			if (got <= 0)
				die("read");
			have[i] += (size_t)got;
			off = olen = 0;
			while (have[i] - off >= 4 && have[i] - off >=
			    (flen = 4 + get32(buf[i] + off))) {
				off += flen;
				done++;
				if (sent < n) {
					put_msg(out + olen);
					olen += MSG;
					sent++;
				}
			}
			memmove(buf[i], buf[i] + off, have[i] - off);
			have[i] -= off;
			if (olen != 0)
				write_all(r.to[i], out, olen);
		}
	}
	t = now_s() - t0;
	cpu_report("raw batched", n, u0, s0);
	{
		struct rusage	ru0, ru1;

		getrusage(RUSAGE_CHILDREN, &ru0);
		raw_stop(&r);
		getrusage(RUSAGE_CHILDREN, &ru1);
		if (verbose)
			fprintf(stderr, "  [raw children CPU %.0f ns/msg]\n",
			    ((ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec +
			    ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e6 +
			    (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec +
			    ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) /
			    n * 1e3);
	}
	return n / t;
}

/* 100 posix_spawn calls of a program writing one byte; until all bytes came. */
static double
raw_spawn(unsigned n)
{
	posix_spawn_file_actions_t	 fa;
	char				*argv[] = { byte_path, NULL };
	pid_t				*pids = calloc(n, sizeof *pids);
	int				*fds = calloc(n, sizeof *fds), p[2];
	unsigned			 i;
	char				 c;
	double				 t0, t;

	t0 = now_s();
	for (i = 0; i < n; i++) {
		if (pipe2(p, O_CLOEXEC) != 0)
			die("pipe");
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, p[1], 1);
		if (posix_spawn(&pids[i], byte_path, &fa, NULL, argv,
		    environ) != 0)
			die("posix_spawn");
		posix_spawn_file_actions_destroy(&fa);
		close(p[1]);
		fds[i] = p[0];
	}
	for (i = 0; i < n; i++) {
		read_all(fds[i], &c, 1);
		close(fds[i]);
	}
	t = now_s() - t0;
	for (i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
	free(pids);
	free(fds);
	return t;
}

/* ---- the engine ---------------------------------------------------------- */

struct run {
	uv_loop_t	 loop;
	struct engine	*e;
	struct pool	*p;
	unsigned	 ready;
	unsigned	 want_ready;
	double		 t_ready;
	unsigned	 sent;
	unsigned	 done;
	unsigned	 total;
	unsigned	 errors;
	bool		 stopped;
	char		 payload[PAYLOAD];
};

static void	echo_cb(bool, const void *, size_t, void *);

static void
event_cb(const struct pool_event *ev, void *arg)
{
	struct run	*r = arg;

	if (ev->type == POOL_EV_READY && ++r->ready == r->want_ready) {
		r->t_ready = now_s();
		uv_stop(&r->loop);
		/* Measured without a listener (an embedding program's case). */
		engine_unlisten(r->e, event_cb, r);
	}
}

static void
send_one(struct run *r)
{
	int	rc;

	rc = pool_send(r->p, "echo", r->payload, PAYLOAD, NULL, echo_cb, r);
	if (rc != 0) {
		fprintf(stderr, "bench-pool: pool_send: %s\n",
		    pool_send_error(r->p, rc));
		exit(1);
	}
	r->sent++;
}

static void
echo_cb(bool ok, const void *data, size_t len, void *arg)
{
	struct run	*r = arg;

	if (!ok || len != PAYLOAD)
		r->errors++;
	(void)data;
	if (++r->done == r->total)
		uv_stop(&r->loop);
	else if (r->sent < r->total)
		send_one(r);
}

static void
stop_cb(struct engine *e, void *arg)
{
	struct run	*r = arg;

	(void)e;
	r->stopped = true;
}

static void
run_start(struct run *r, unsigned workers, unsigned parallel)
{
	struct pool_spec	 s;
	char			*argv[] = { worker_path, NULL };
	int			 rc;

	memset(r, 0, sizeof *r);
	memset(r->payload, 'p', sizeof r->payload);
	if (uv_loop_init(&r->loop) != 0)
		die("uv_loop_init");
	if (engine_new(&r->e, &r->loop, NULL) != 0)
		die("engine_new");
	engine_listen(r->e, event_cb, r);
	pool_spec_init(&s);
	s.name = "bench";
	s.argv = argv;
	s.workers = s.min_workers = workers;
	s.parallel_jobs = parallel;
	s.handshake_ms = 30000;
	r->want_ready = workers;
	rc = engine_add_pool(r->e, &s, &r->p);
	if (rc != 0) {
		fprintf(stderr, "bench-pool: %s\n", engine_error(r->e));
		exit(1);
	}
}

static void
run_finish(struct run *r)
{
	engine_stop(r->e, stop_cb, r);
	while (!r->stopped)
		uv_run(&r->loop, UV_RUN_ONCE);
	engine_free(r->e);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&r->loop) != 0)
		fprintf(stderr, "bench-pool: handles left open\n");
	if (r->errors != 0) {
		fprintf(stderr, "bench-pool: %u tasks failed\n", r->errors);
		exit(1);
	}
}

/* Echo tasks over 2 workers with depth per worker in flight; tasks/s. */
static double
engine_echo(unsigned n, unsigned depth)
{
	struct run	r;
	unsigned	i;
	double		t0, t, u0, s0;

	run_start(&r, 2, depth);
	uv_run(&r.loop, UV_RUN_DEFAULT);	/* until both are ready */
	r.total = n;
	cpu_self(&u0, &s0);
	t0 = now_s();
	for (i = 0; i < 2 * depth && i < n; i++)
		send_one(&r);
	uv_run(&r.loop, UV_RUN_DEFAULT);
	t = now_s() - t0;
	cpu_report(depth == 1 ? "engine, 1 in flight" : "engine", n, u0, s0);
	{
		struct rusage	ru0, ru1;

		getrusage(RUSAGE_CHILDREN, &ru0);
		run_finish(&r);
		getrusage(RUSAGE_CHILDREN, &ru1);
		if (verbose)
			fprintf(stderr, "  [workers CPU %.0f ns/task]\n",
			    ((ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec +
			    ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e6 +
			    (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec +
			    ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) /
			    n * 1e3);
	}
	return n / t;
}

/* Starts n workers; seconds until all have handshaken. */
static double
engine_spawn(unsigned n)
{
	struct run	r;
	double		t0;

	t0 = now_s();
	run_start(&r, n, 1);
	uv_run(&r.loop, UV_RUN_DEFAULT);
	run_finish(&r);
	return r.t_ready - t0;
}

/* ---- main ---------------------------------------------------------------- */

static double
best_of(double (*fn)(unsigned), unsigned n, int lower_is_better)
{
	double	best = 0, v;
	int	i;

	for (i = 0; i < 3; i++) {
		v = fn(n);
		if (i == 0 || (lower_is_better ? v < best : v > best))
			best = v;
	}
	return best;
}

static double
engine_1(unsigned n)
{
	return engine_echo(n, 1);
}

static double
engine_64(unsigned n)
{
	return engine_echo(n, DEPTH);
}

int
main(int argc, char **argv)
{
	const char	*build = getenv("POOLTOP_BUILD");
	char		*slash, self[900];
	unsigned	 n1, n64, nspawn = 100;
	double		 raw1, eng1, raw64, eng64, rawsp, engsp;
	ssize_t		 len;

	while (argc > 1 && argv[1][0] == '-') {
		if (strcmp(argv[1], "-q") == 0)
			quick = 1;
		else if (strcmp(argv[1], "-v") == 0)
			verbose = 1;
		else
			break;
		argc--;
		argv++;
	}
	n1 = quick ? 20000 : 100000;
	n64 = quick ? 400000 : 2000000;
	len = readlink("/proc/self/exe", self, sizeof self - 1);
	if (len <= 0)
		die("readlink");
	self[len] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	/* The example worker and the byte writer, beside this build. */
	if (build != NULL) {
		snprintf(worker_path, sizeof worker_path,
		    "%s/examples/workers/pooltop-example-worker", build);
		snprintf(byte_path, sizeof byte_path,
		    "%s/bench/bench-pool-byte", build);
	} else {
		snprintf(worker_path, sizeof worker_path,
		    "%s/../examples/workers/pooltop-example-worker", self);
		snprintf(byte_path, sizeof byte_path, "%s/bench-pool-byte",
		    self);
	}
	if (access(worker_path, X_OK) != 0 || access(byte_path, X_OK) != 0) {
		fprintf(stderr, "bench-pool: needs %s and %s (build them "
		    "first)\n", worker_path, byte_path);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);

	if (argc > 1) {
		/* One figure alone, for profiling: raw1 eng1 raw64 eng64 rawsp engsp. */
		static const struct {
			const char	*name;
			double		(*fn)(unsigned);
			int		 spawn;
		} one[] = {
			{ "raw1", raw_pingpong, 0 }, { "eng1", engine_1, 0 },
			{ "raw64", raw_batched, 2 }, { "eng64", engine_64, 2 },
			{ "rawsp", raw_spawn, 1 }, { "engsp", engine_spawn, 1 },
		};
		size_t	i;

		for (i = 0; i < sizeof one / sizeof one[0]; i++) {
			if (strcmp(argv[1], one[i].name) != 0)
				continue;
			printf("%s: %.1f\n", one[i].name, one[i].fn(
			    one[i].spawn == 1 ? nspawn : one[i].spawn == 2 ?
			    n64 : n1) * (one[i].spawn == 1 ? 1e3 : 1));
			return 0;
		}
		fprintf(stderr, "usage: bench-pool [-q] [raw1|eng1|raw64|eng64|"
		    "rawsp|engsp]\n");
		return 1;
	}

	raw1 = best_of(raw_pingpong, n1, 0);
	eng1 = best_of(engine_1, n1, 0);
	raw64 = best_of(raw_batched, n64, 0);
	eng64 = best_of(engine_64, n64, 0);
	rawsp = best_of(raw_spawn, nspawn, 1);
	engsp = best_of(engine_spawn, nspawn, 1);

	printf("bench-pool: %d-byte echo tasks over 2 workers (best of 3)\n",
	    PAYLOAD);
	printf("  1 in flight:   engine %9.0f tasks/s (%6.1f us round trip)"
	    "   raw ping-pong %9.0f msgs/s (%6.1f us)   ratio %.2f "
	    "(goal >= 0.67)\n", eng1, 1e6 / eng1, raw1, 1e6 / raw1,
	    eng1 / raw1);
	printf("  %d in flight per worker: engine %9.0f tasks/s   raw batched "
	    "%9.0f msgs/s   ratio %.2f (goal >= 0.50)\n", DEPTH, eng64, raw64,
	    eng64 / raw64);
	printf("  start %u workers until all handshaken: engine %.1f ms   "
	    "posix_spawn x%u %.1f ms   ratio %.2f (goal <= 1.50)\n", nspawn,
	    engsp * 1e3, nspawn, rawsp * 1e3, engsp / rawsp);
	return 0;
}
