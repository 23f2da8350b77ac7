/*
 * bench-sampler: cost per pid per sample of the ways to read a process's
 * numbers from /proc, for N sleeping children (100 and 1,000 by default):
 *
 *   bare      open/read/close of /proc/PID/stat and /proc/PID/statm
 *   pread     the same two files kept open, re-read with pread
 *   select    libproc2 procps_pids_select, chunks of at most 255 pids
 *   reap      libproc2 procps_pids_reap of every process (per process read)
 *   sampler   pooltop's sampler_sample() over the N registered pids
 *
 * Each is timed in interleaved rounds in the same run; the median round is
 * printed in µs per pid with its ratio to the bare loop.  The sampler's
 * goal is at most 1.0x the bare loop.
 *
 * usage: bench-sampler [-r rounds] [N ...]
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libproc2/pids.h>
#include <uv.h>

#include "pooltop/sampler.h"
#include "sampler-internal.h"

enum { M_BARE, M_PREAD, M_SELECT, M_REAP, M_SAMPLER, M_COUNT };

static const char *method_names[M_COUNT] = {
	"bare open/read/close stat+statm",
	"kept-open pread stat+statm",
	"libproc2 procps_pids_select",
	"libproc2 procps_pids_reap (all)",
	"sampler_sample()",
};

/* The items the sampler needs, as libproc2 would read them. */
static enum pids_item bench_items[] = {
	PIDS_ID_PID, PIDS_STATE, PIDS_ID_PPID, PIDS_TICS_ALL, PIDS_TICS_BEGAN,
	PIDS_MEM_RES, PIDS_VSIZE_BYTES, PIDS_NLWP,
};
#define BENCH_NITEMS	((int)(sizeof bench_items / sizeof bench_items[0]))

static pid_t	*kids;
static size_t	 nkids;

/* Something the compiler cannot drop, fed by every method's reads. */
static volatile unsigned long	sink;

static double
now_us(void)
{
	return (double)uv_hrtime() / 1e3;
}

/* Raises the soft open-files limit to cover want fds (the hard one too). */
static int
raise_nofile(rlim_t want)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -errno;
	if (rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		rl.rlim_max = want;	/* needs CAP_SYS_RESOURCE */
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		getrlimit(RLIMIT_NOFILE, &rl);
		fprintf(stderr, "bench-sampler: open-files limit %llu/%llu is "
		    "too small for %llu fds and cannot be raised: %s\n",
		    (unsigned long long)rl.rlim_cur,
		    (unsigned long long)rl.rlim_max,
		    (unsigned long long)want, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Forks n children that sleep until killed (or until we die). */
static int
spawn_sleepers(size_t n)
{
	pid_t	pid, parent = getpid();

	kids = calloc(n, sizeof *kids);
	if (kids == NULL)
		return -ENOMEM;
	for (nkids = 0; nkids < n; nkids++) {
		pid = fork();
		if (pid < 0) {
			fprintf(stderr, "bench-sampler: fork child %zu of %zu: "
			    "%s\n", nkids + 1, n, strerror(errno));
			return -errno;
		}
		if (pid == 0) {
			/* Die with the benchmark even if it is killed. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			for (;;)
				pause();
		}
		kids[nkids] = pid;
	}
	return 0;
}

static void
kill_sleepers(void)
{
	size_t	i;
	int	status;

	for (i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	for (i = 0; i < nkids; i++)
		waitpid(kids[i], &status, 0);
	free(kids);
	kids = NULL;
	nkids = 0;
}

static int
read_path(const char *path, char *buf, size_t size)
{
	ssize_t	n;
	int	fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size);
	close(fd);
	return (int)n;
}

static void
run_bare(void)
{
	char	path[64], buf[1024];
	size_t	i;
	int	n;

	for (i = 0; i < nkids; i++) {
		snprintf(path, sizeof path, "/proc/%d/stat", (int)kids[i]);
		n = read_path(path, buf, sizeof buf);
		snprintf(path, sizeof path, "/proc/%d/statm", (int)kids[i]);
		n += read_path(path, buf, sizeof buf);
		sink += (unsigned long)n;
	}
}

static void
run_pread(const int *fds)
{
	char	buf[1024];
	size_t	i;
	ssize_t	n;

	for (i = 0; i < nkids; i++) {
		n = pread(fds[2 * i], buf, sizeof buf, 0);
		n += pread(fds[2 * i + 1], buf, sizeof buf, 0);
		sink += (unsigned long)n;
	}
}

static int
run_select(struct pids_info *pi, unsigned *pids)
{
	struct pids_fetch	*fetch;
	size_t			 off, chunk;
	int			 i;

	for (off = 0; off < nkids; off += chunk) {
		chunk = nkids - off;
		if (chunk > SAMPLER_SELECT_MAX)
			chunk = SAMPLER_SELECT_MAX;
		fetch = procps_pids_select(pi, pids + off, (int)chunk,
		    PIDS_SELECT_PID);
		if (fetch == NULL)
			return -1;
		for (i = 0; i < fetch->counts->total; i++)
			sink += SAMPLER_PIDS_VAL(3, ull_int, fetch->stacks[i],
			    pi);
	}
	return 0;
}

static int
run_reap(struct pids_info *pi)
{
	struct pids_fetch	*fetch;
	int			 i;

	fetch = procps_pids_reap(pi, PIDS_FETCH_TASKS_ONLY);
	if (fetch == NULL)
		return -1;
	for (i = 0; i < fetch->counts->total; i++)
		sink += SAMPLER_PIDS_VAL(3, ull_int, fetch->stacks[i], pi);
	return fetch->counts->total;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Times every method over n children; prints one table. */
static int
bench(size_t n, int rounds)
{
	struct pids_info	*pi_sel = NULL, *pi_reap = NULL;
	struct sampler		*s = NULL;
	uv_loop_t		 loop;
	unsigned		*pids = NULL;
	int			*fds = NULL;
	double			*t[M_COUNT] = { 0 }, t0, med[M_COUNT];
	size_t			 i;
	int			 r, m, rc = -1, reaped = 0;

	if (uv_loop_init(&loop) != 0)
		return -1;
	if (spawn_sleepers(n) != 0)
		goto out;
	pids = calloc(n, sizeof *pids);
	fds = malloc(2 * n * sizeof *fds);
	if (fds != NULL) {
		for (i = 0; i < 2 * n; i++)
			fds[i] = -1;
	}
	if (pids == NULL || fds == NULL)
		goto out;
	for (m = 0; m < M_COUNT; m++) {
		t[m] = calloc((size_t)rounds, sizeof *t[m]);
		if (t[m] == NULL)
			goto out;
	}
	for (i = 0; i < n; i++) {
		char	path[64];

		pids[i] = (unsigned)kids[i];
		snprintf(path, sizeof path, "/proc/%d/stat", (int)kids[i]);
		fds[2 * i] = open(path, O_RDONLY | O_CLOEXEC);
		snprintf(path, sizeof path, "/proc/%d/statm", (int)kids[i]);
		fds[2 * i + 1] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[2 * i] < 0 || fds[2 * i + 1] < 0) {
			fprintf(stderr, "bench-sampler: open %s: %s\n", path,
			    strerror(errno));
			goto out;
		}
	}
	if (procps_pids_new(&pi_sel, bench_items, BENCH_NITEMS) < 0 ||
	    procps_pids_new(&pi_reap, bench_items, BENCH_NITEMS) < 0) {
		fprintf(stderr, "bench-sampler: procps_pids_new failed\n");
		goto out;
	}
	if (sampler_new(&s, &loop, NULL) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		r = sampler_add(s, kids[i], false);
		if (r != 0) {
			fprintf(stderr, "bench-sampler: sampler_add %d: %s\n",
			    (int)kids[i], strerror(-r));
			goto out;
		}
	}

	/* One warm-up pass, then interleaved timed rounds. */
	run_bare();
	run_pread(fds);
	run_select(pi_sel, pids);
	run_reap(pi_reap);
	sampler_sample(s);
	for (r = 0; r < rounds; r++) {
		t0 = now_us();
		run_bare();
		t[M_BARE][r] = (now_us() - t0) / (double)n;

		t0 = now_us();
		run_pread(fds);
		t[M_PREAD][r] = (now_us() - t0) / (double)n;

		t0 = now_us();
		if (run_select(pi_sel, pids) != 0)
			goto out;
		t[M_SELECT][r] = (now_us() - t0) / (double)n;

		t0 = now_us();
		reaped = run_reap(pi_reap);
		if (reaped <= 0)
			goto out;
		t[M_REAP][r] = (now_us() - t0) / (double)reaped;

		t0 = now_us();
		sampler_sample(s);
		t[M_SAMPLER][r] = (now_us() - t0) / (double)n;
	}
	if (sampler_count(s) != n) {
		fprintf(stderr, "bench-sampler: %zu of %zu pids left in the "
		    "sampler\n", sampler_count(s), n);
		goto out;
	}

	for (m = 0; m < M_COUNT; m++) {
		qsort(t[m], (size_t)rounds, sizeof *t[m], cmp_double);
		med[m] = t[m][rounds / 2];
	}
	printf("%zu sleeping children, %d rounds, median µs per pid per "
	    "sample (reap: per process read, %d processes)\n", n, rounds,
	    reaped);
	for (m = 0; m < M_COUNT; m++)
		printf("  %-34s %8.2f µs  %5.2fx bare\n", method_names[m],
		    med[m], med[m] / med[M_BARE]);
	printf("  goal sampler <= 1.0x bare: %s (%.2fx)\n\n",
	    med[M_SAMPLER] <= med[M_BARE] ? "met" : "NOT met",
	    med[M_SAMPLER] / med[M_BARE]);
	fflush(stdout);
	rc = 0;

out:
	if (s != NULL)
		sampler_free(s);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	if (pi_sel != NULL)
		procps_pids_unref(&pi_sel);
	if (pi_reap != NULL)
		procps_pids_unref(&pi_reap);
	if (fds != NULL) {
		for (i = 0; i < 2 * n; i++) {
			if (fds[i] >= 0)
				close(fds[i]);
		}
	}
	free(fds);
	free(pids);
	for (m = 0; m < M_COUNT; m++)
		free(t[m]);
	kill_sleepers();
	return rc;
}

int
main(int argc, char **argv)
{
	size_t	sizes[16], nsizes = 0, max = 0, i;
	int	rounds = 0, opt;
	char	*end;

	while ((opt = getopt(argc, argv, "r:")) != -1) {
		switch (opt) {
		case 'r':
			rounds = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || rounds < 1) {
				fprintf(stderr, "bench-sampler: -r %s: expected "
				    "a positive number of rounds\n", optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: bench-sampler [-r rounds] "
			    "[N ...]\n");
			return 2;
		}
	}
	for (; optind < argc && nsizes < 16; optind++) {
		sizes[nsizes] = strtoul(argv[optind], &end, 10);
		if (*end != '\0' || sizes[nsizes] == 0) {
			fprintf(stderr, "bench-sampler: %s: expected a number "
			    "of children\n", argv[optind]);
			return 2;
		}
		nsizes++;
	}
	if (nsizes == 0) {
		sizes[nsizes++] = 100;
		sizes[nsizes++] = 1000;
	}
	for (i = 0; i < nsizes; i++)
		max = sizes[i] > max ? sizes[i] : max;
	/* Two kept-open fds per pid for the pread loop, two for the sampler. */
	if (raise_nofile((rlim_t)(4 * max + 64)) != 0)
		return 1;

	for (i = 0; i < nsizes; i++) {
		if (bench(sizes[i], rounds > 0 ? rounds :
		    sizes[i] >= 1000 ? 15 : 51) != 0)
			return 1;
	}
	return 0;
}
