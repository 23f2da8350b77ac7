/*
 * libpooltop-host: the locks a pool shares among its workers
 * (pooltop.conf(5) `locks`).  The pool hands each worker a region of
 * robust, process-shared mutexes on the fd named by POOLTOP_LOCKS_FD
 * (layout in lock.h and pooltop-protocol(7), LOCKS); this file maps it
 * once per process and takes the mutexes directly: no round trip to the
 * pool, the uncontended cost of a pthread mutex.
 *
 * A holder that dies leaves its mutex marked by the kernel; the next
 * taker gets EOWNERDEAD, makes the mutex consistent, records the death
 * in the lock's record (which the pool shows) and returns
 * POOLTOP_LOCK_OWNER_DIED.  A lock the pool recovered itself (at the
 * death of a holder nobody waited for) carries a mark that gives the
 * next taker the same answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pooltop/host.h"
#include "lock.h"

struct pooltop_lock {
	struct lock_rec	*rec;		/* in the shared region */
	char		*name;		/* our own copy */
	uint32_t	 owner;		/* tid of this process's holding thread;
					   0: no thread of this process holds it */
};

static pthread_once_t	 locks_once = PTHREAD_ONCE_INIT;
static int		 locks_err;	/* 0, or why the region is not usable */
static struct pooltop_lock *locks;
static unsigned		 nlocks;
static uint32_t		 locks_pid;	/* getpid(), refreshed in a fork's child */
static int32_t		 locks_slot = -1;	/* from POOLTOP_WORKER */
/* gettid(), once per thread; initial-exec: no __tls_get_addr call per lock */
static __thread uint32_t locks_tid __attribute__((tls_model("initial-exec")));

/* A forked child holds none of its parent's locks and has its own ids. */
static void
locks_atfork_child(void)
{
	unsigned	i;

	for (i = 0; i < nlocks; i++)
		__atomic_store_n(&locks[i].owner, 0, __ATOMIC_RELAXED);
	locks_pid = (uint32_t)getpid();
	locks_tid = 0;
}

/* The slot in POOLTOP_WORKER ("POOL/SLOT"), or -1. */
static int32_t
locks_env_slot(void)
{
	const char	*w = getenv("POOLTOP_WORKER"), *s;
	char		*end;
	long		 v;

	if (w == NULL || (s = strrchr(w, '/')) == NULL || s[1] == '\0')
		return -1;
	errno = 0;
	v = strtol(s + 1, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > INT32_MAX)
		return -1;
	return (int32_t)v;
}

/*
 * Maps the region once per process.  Every field of the header is
 * checked against what this library was built for: a region from
 * another version, or one that does not fit its own size, is -EPROTO.
 */
static void
locks_open(void)
{
	const struct lock_header *h;
	struct stat		 st;
	const char		*s;
	char			*end;
	void			*map;
	size_t			 need;
	long			 fd;
	unsigned		 i;

	if ((s = getenv("POOLTOP_LOCKS_FD")) == NULL || *s == '\0') {
		locks_err = -ENOTCONN;
		return;
	}
	errno = 0;
	fd = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || fd < 0 || fd > INT_MAX ||
	    fstat((int)fd, &st) != 0) {
		locks_err = -ENOTCONN;
		return;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < LOCK_HEADER_SIZE) {
		locks_err = -EPROTO;
		return;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
	    MAP_SHARED, (int)fd, 0);
	if (map == MAP_FAILED) {
		locks_err = -errno;
		return;
	}
	h = map;
	need = (size_t)LOCK_HEADER_SIZE + (size_t)h->count * LOCK_RECORD_SIZE;
	if (h->magic != LOCK_MAGIC || h->version != LOCK_VERSION ||
	    h->header_size != LOCK_HEADER_SIZE ||
	    h->record_size != LOCK_RECORD_SIZE ||
	    h->mutex_size != sizeof(pthread_mutex_t) || h->count > LOCK_MAX ||
	    need > (size_t)st.st_size) {
		munmap(map, (size_t)st.st_size);
		locks_err = -EPROTO;
		return;
	}
	if (h->count != 0 && (locks = calloc(h->count, sizeof *locks)) == NULL) {
		munmap(map, (size_t)st.st_size);
		locks_err = -ENOMEM;
		return;
	}
	for (i = 0; i < h->count; i++) {
		locks[i].rec = lock_region_rec(map, i);
		locks[i].name = strndup(locks[i].rec->name, LOCK_NAME_MAX);
		if (locks[i].name == NULL) {
			while (i-- > 0)
				free(locks[i].name);
			free(locks);
			locks = NULL;
			munmap(map, (size_t)st.st_size);
			locks_err = -ENOMEM;
			return;
		}
	}
	nlocks = h->count;
	locks_pid = (uint32_t)getpid();
	locks_slot = locks_env_slot();
	/* The mapping stays; programs this worker starts do not get the fd. */
	(void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	pthread_atfork(NULL, NULL, locks_atfork_child);
}

int
pooltop_lock_get(const char *name, struct pooltop_lock **out)
{
	unsigned	i;

	*out = NULL;
	if (name == NULL)
		return -EINVAL;
	pthread_once(&locks_once, locks_open);
	if (locks_err != 0)
		return locks_err;
	for (i = 0; i < nlocks; i++) {
		if (strcmp(locks[i].name, name) == 0) {
			*out = &locks[i];
			return 0;
		}
	}
	return -ENOENT;
}

const char *
pooltop_lock_name(const struct pooltop_lock *l)
{
	return l->name;
}

/*
 * What follows a pthread_mutex_*lock: EOWNERDEAD is a lock taken from a
 * dead holder (made consistent, its death recorded); then the holder
 * fields, and whether the pool left the owner-died mark.
 */
static int
lock_taken(struct pooltop_lock *l, int rc)
{
	bool	died = false;

	if (rc == EOWNERDEAD) {
		pthread_mutex_consistent(&l->rec->mutex.m);
		lock_rec_death(l->rec, lock_mono_ms());
		died = true;
	} else if (rc != 0)
		return -rc;
	if (locks_tid == 0)
		locks_tid = (uint32_t)gettid();
	died = lock_rec_set_holder(l->rec, locks_pid, locks_tid, locks_slot, 0,
	    lock_mono_ms(), died);
	__atomic_store_n(&l->owner, locks_tid, __ATOMIC_RELAXED);
	return died ? POOLTOP_LOCK_OWNER_DIED : 0;
}

int
pooltop_lock(struct pooltop_lock *l)
{
	return lock_taken(l, pthread_mutex_lock(&l->rec->mutex.m));
}

int
pooltop_lock_try(struct pooltop_lock *l)
{
	return lock_taken(l, pthread_mutex_trylock(&l->rec->mutex.m));
}

int
pooltop_lock_timed(struct pooltop_lock *l, uint64_t ms)
{
	struct timespec	ts;
	uint64_t	ns;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ms > (uint64_t)INT32_MAX * 1000u)
		ms = (uint64_t)INT32_MAX * 1000u;	/* ~68 years */
	ns = (uint64_t)ts.tv_nsec + (ms % 1000u) * 1000000u;
	ts.tv_sec += (time_t)(ms / 1000u + ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
	return lock_taken(l, pthread_mutex_clocklock(&l->rec->mutex.m,
	    CLOCK_MONOTONIC, &ts));
}

/*
 * Only the holding thread may unlock: checked here, before the holder
 * fields are cleared (they are the holder's to clear), and by the
 * error-checking mutex itself.
 */
int
pooltop_unlock(struct pooltop_lock *l)
{
	uint32_t	owner = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);

	if (owner == 0 || owner != locks_tid)
		return -EPERM;
	__atomic_store_n(&l->owner, 0, __ATOMIC_RELAXED);
	lock_rec_clear_holder(l->rec);
	return -pthread_mutex_unlock(&l->rec->mutex.m);
}

int
pooltop_with_lock(struct pooltop_lock *l, pooltop_locked_fn fn, void *arg)
{
	int	rc, ret;

	if (fn == NULL)
		return -EINVAL;
	if ((rc = pooltop_lock(l)) < 0)
		return rc;
	ret = fn(arg, rc == POOLTOP_LOCK_OWNER_DIED);
	pooltop_unlock(l);
	return ret;
}
