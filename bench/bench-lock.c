/*
 * bench-lock: what a lock/unlock pair of the pool's shared locks costs
 * (pooltop_lock + pooltop_unlock of libpooltop-host on a region made by
 * the engine, as a worker sees it), uncontended and contended by 2 and 4
 * processes, next to baselines measured in the same run:
 *
 *   - a plain PTHREAD_PROCESS_SHARED mutex (not robust), in shared memory;
 *   - the same robust, error-checking mutex without the SDK's holder
 *     bookkeeping (what robustness costs, apart from what pooltop adds);
 *   - flock(2) on a file (what a worker without shared memory would use).
 *
 * Contended: each process does its share of lock; counter++; unlock on
 * one counter in shared memory; the counter is checked at the end (a
 * lock that let two in at once would lose increments).  Figures are ns
 * per lock/unlock pair: wall time / pairs, all processes together.
 *
 * Usage: bench-lock [pairs per process, default 1000000]
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pooltop/host.h"
#include "lock.h"
#include "bench.h"

enum kind { K_PSHARED, K_ROBUST, K_SDK, K_FLOCK, NKINDS };

static const char *const kind_names[NKINDS] = {
	"pthread mutex, process-shared (baseline)",
	"pthread mutex, robust + process-shared",
	"pooltop_lock / pooltop_unlock (SDK)",
	"flock(2) on a file",
};

/* Shared by the processes of a run. */
struct shared {
	pthread_mutex_t	 plain;
	pthread_mutex_t	 robust;
	volatile uint64_t counter;
};

static struct shared	*sh;
static struct pooltop_lock *sdk;
static char		 flock_path[256];

static void
die(const char *what, int err)
{
	fprintf(stderr, "bench-lock: %s: %s\n", what, strerror(err));
	exit(1);
}

/* n pairs of the kind, each with one increment inside. */
static void
run_pairs(enum kind k, uint64_t n, int flock_fd)
{
	uint64_t	i;
	int		rc;

	for (i = 0; i < n; i++) {
		switch (k) {
		case K_PSHARED:
			pthread_mutex_lock(&sh->plain);
			sh->counter++;
			pthread_mutex_unlock(&sh->plain);
			break;
		case K_ROBUST:
			rc = pthread_mutex_lock(&sh->robust);
			if (rc == EOWNERDEAD)
				pthread_mutex_consistent(&sh->robust);
			sh->counter++;
			pthread_mutex_unlock(&sh->robust);
			break;
		case K_SDK:
			if ((rc = pooltop_lock(sdk)) < 0)
				die("pooltop_lock", -rc);
			sh->counter++;
			pooltop_unlock(sdk);
			break;
		case K_FLOCK:
			if (flock(flock_fd, LOCK_EX) != 0)
				die("flock", errno);
			sh->counter++;
			flock(flock_fd, LOCK_UN);
			break;
		default:
			break;
		}
	}
}

/*
 * nprocs processes (1: this one) do n pairs each; returns ns per pair.
 * Children wait on a pipe so that they all start together.
 */
static double
measure(enum kind k, unsigned nprocs, uint64_t n)
{
	pid_t		 pids[8];
	uint64_t	 t0, t1;
	char		 go[8];
	unsigned	 i;
	int		 gp[2], st, fd = -1;

	sh->counter = 0;
	if (nprocs == 1) {
		if (k == K_FLOCK && (fd = open(flock_path, O_RDWR)) < 0)
			die(flock_path, errno);
		run_pairs(k, n / 100, fd);	/* warm up */
		sh->counter = 0;
		t0 = now_ns();
		run_pairs(k, n, fd);
		t1 = now_ns();
		if (fd >= 0)
			close(fd);
		if (sh->counter != n)
			die("uncontended counter is wrong", EPROTO);
		return (double)(t1 - t0) / (double)n;
	}
	if (nprocs > sizeof go)
		die("too many processes", EINVAL);
	if (pipe(gp) != 0)
		die("pipe", errno);
	for (i = 0; i < nprocs; i++) {
		if ((pids[i] = fork()) < 0)
			die("fork", errno);
		if (pids[i] == 0) {
			close(gp[1]);
			/* flock belongs to the open file: one per process. */
			if (k == K_FLOCK &&
			    (fd = open(flock_path, O_RDWR)) < 0)
				_exit(2);
			if (read(gp[0], go, 1) != 1)
				_exit(3);
			run_pairs(k, n, fd);
			_exit(0);
		}
	}
	close(gp[0]);
	memset(go, 'g', sizeof go);
	t0 = now_ns();
	if (write(gp[1], go, nprocs) != (ssize_t)nprocs)
		die("write", errno);
	for (i = 0; i < nprocs; i++) {
		if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			die("a child failed", ECHILD);
	}
	t1 = now_ns();
	close(gp[1]);
	if (sh->counter != (uint64_t)nprocs * n) {
		fprintf(stderr, "bench-lock: %s, %u processes: counter %llu, "
		    "expected %llu\n", kind_names[k], nprocs,
		    (unsigned long long)sh->counter,
		    (unsigned long long)nprocs * n);
		exit(1);
	}
	return (double)(t1 - t0) / (double)((uint64_t)nprocs * n);
}

int
main(int argc, char **argv)
{
	static char		*names[] = { "bench" };
	pthread_mutexattr_t	 a;
	double			 ns[NKINDS][3];
	uint64_t		 n = 1000000, nk;
	const unsigned		 procs[3] = { 1, 2, 4 };
	const char		*tmp = getenv("TMPDIR");
	char			 err[256], num[32];
	void			*map;
	size_t			 size;
	int			 fd, rc, k, j;

	if (argc > 1)
		n = strtoull(argv[1], NULL, 10);
	if (n < 1000)
		n = 1000;

	/* The region, as the engine makes it for a pool; the SDK maps it. */
	rc = lock_region_create(names, 1, &fd, &map, &size, err, sizeof err);
	if (rc != 0) {
		fprintf(stderr, "bench-lock: %s\n", err);
		return 1;
	}
	snprintf(num, sizeof num, "%d", fd);
	setenv("POOLTOP_LOCKS_FD", num, 1);
	setenv("POOLTOP_LOCKS", "bench", 1);
	if ((rc = pooltop_lock_get("bench", &sdk)) != 0)
		die("pooltop_lock_get", -rc);

	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap", errno);
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&sh->plain, &a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&sh->robust, &a);
	pthread_mutexattr_destroy(&a);

	snprintf(flock_path, sizeof flock_path, "%s/bench-lock-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if ((fd = mkstemp(flock_path)) < 0)
		die("mkstemp", errno);
	close(fd);

	printf("bench-lock: ns per lock/unlock pair (one increment inside), "
	    "%llu pairs per process (flock: 1/10 of that); %ld CPUs\n",
	    (unsigned long long)n, sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-44s %12s %12s %12s\n", "", "uncontended", "2 processes",
	    "4 processes");
	for (k = 0; k < NKINDS; k++) {
		nk = k == K_FLOCK ? n / 10 : n;
		for (j = 0; j < 3; j++)
			ns[k][j] = measure((enum kind)k, procs[j],
			    procs[j] == 1 ? nk : nk / procs[j]);
		printf("%-44s %12.1f %12.1f %12.1f\n", kind_names[k],
		    ns[k][0], ns[k][1], ns[k][2]);
	}
	printf("ratios (the SDK against each baseline; < 1: the SDK is "
	    "cheaper):\n");
	for (k = 0; k < NKINDS; k++) {
		if (k == K_SDK)
			continue;
		printf("  %-42s %12.2fx %11.2fx %11.2fx\n", kind_names[k],
		    ns[K_SDK][0] / ns[k][0], ns[K_SDK][1] / ns[k][1],
		    ns[K_SDK][2] / ns[k][2]);
	}
	unlink(flock_path);
	munmap(sh, sizeof *sh);
	munmap(map, size);
	return 0;
}
