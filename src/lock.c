/*
 * Locks shared by a pool's workers, the engine's side: the region (one
 * sealed memfd per pool holding a robust, process-shared pthread mutex
 * per lock), the LOCK and UNLOCK frames of workers that do not map it
 * (the engine takes the mutex on their behalf), and what happens when a
 * holder dies.
 *
 * A worker built on libpooltop-host takes the mutexes itself
 * (host-lock.c); a worker in another language sends LOCK and the engine
 * answers LOCKED once it holds the mutex for that worker.  The engine
 * never blocks on a mutex: it tries (pthread_mutex_trylock), and while a
 * lock it is asked for is held by a process outside its reach it tries
 * again on a timer with a short backoff (1 ms doubling to 16 ms), armed
 * only while such waits exist.  A lock the engine holds for one worker
 * goes to the next protocol waiter as soon as it is unlocked.
 *
 * Robust mutexes make a holder's death visible: the kernel marks the
 * mutex of a thread that died holding it, and the next taker gets
 * EOWNERDEAD, makes it consistent and records the death in the lock's
 * record.  When the engine reaps a worker it looks at every lock of the
 * pool, recovers one left in that state with nobody waiting (leaving a
 * mark so that the next taker is still told the owner died), releases
 * the locks it held for that worker the same way, and says so in a
 * NOTICE that names the lock (pool_event.lock).
 */
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine-internal.h"
#include "lock.h"
#include "proto.h"

#define LOCK_BACKOFF_MIN	1	/* ms: first retry of a contended lock */
#define LOCK_BACKOFF_MAX	16	/* ms: the longest between retries */

/* A protocol worker waiting for a lock. */
struct lock_waiter {
	TAILQ_ENTRY(lock_waiter) link;
	struct worker	*w;
	uint32_t	 id;		/* of its LOCK frame */
	uint32_t	 timeout_ms;	/* as asked, for the message */
	uint64_t	 deadline;	/* loop time, ms; UINT64_MAX: none */
};
TAILQ_HEAD(lock_waiters, lock_waiter);

/* One lock, as the engine keeps it. */
struct lock_ent {
	struct lock_rec	*rec;		/* in the region */
	char		*name;		/* our own copy */
	size_t		 name_len;
	struct worker	*holder;	/* the engine holds it for this worker
					   (NULL: not this lockset; another one
					   sharing the region may) */
	struct lock_waiters waiters;	/* FIFO */
	unsigned	 nwaiters;
	uint64_t	 seen_deaths;	/* rec->deaths when last looked at */
};

struct lockset {
	LIST_ENTRY(lockset) link;	/* every live lockset */
	struct engine	*engine;
	char		*pool_name;
	struct pool	*pool;
	int		 fd;
	void		*map;
	size_t		 size;
	unsigned	 n;
	struct lock_ent	*ents;
	char		*names;		/* "db,cache" (POOLTOP_LOCKS) */
	char		*list;		/* "db, cache" (messages) */
	uv_timer_t	 timer;		/* retries and timeouts */
	bool		 timer_open;
	uint64_t	 backoff_ms;
};

static void	lock_timer_cb(uv_timer_t *);
static void	lock_arm(struct lockset *);

/*
 * Every live lockset, so that a pool that replaces another of the same
 * name and the same locks (a changed config, SIGHUP) shares its region:
 * the old pool's workers, still finishing their tasks, and the new
 * pool's are kept out of each other's critical sections.
 */
static LIST_HEAD(, lockset) locksets = LIST_HEAD_INITIALIZER(locksets);

/* ---- the region ---------------------------------------------------------- */

static bool
lock_name_char(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-');
}

int
lock_names_check(char *const *names, size_t n, char *err, size_t errlen)
{
	size_t		 i, j, len;
	const char	*c;

	if (n > LOCK_MAX) {
		snprintf(err, errlen, "%zu locks (at most %d)", n, LOCK_MAX);
		return (-EINVAL);
	}
	for (i = 0; i < n; i++) {
		len = names[i] != NULL ? strlen(names[i]) : 0;
		if (len == 0 || len > LOCK_NAME_MAX) {
			snprintf(err, errlen, "lock name \"%.80s\": expected "
			    "1 to %d bytes", names[i] != NULL ? names[i] : "",
			    LOCK_NAME_MAX);
			return (-EINVAL);
		}
		for (c = names[i]; *c != '\0'; c++) {
			if (!lock_name_char(*c)) {
				snprintf(err, errlen, "lock name \"%s\": only "
				    "letters, digits, '_', '.' and '-' are "
				    "allowed", names[i]);
				return (-EINVAL);
			}
		}
		for (j = 0; j < i; j++) {
			if (strcmp(names[i], names[j]) == 0) {
				snprintf(err, errlen, "lock \"%s\" is named "
				    "twice", names[i]);
				return (-EINVAL);
			}
		}
	}
	return (0);
}

/*
 * The region: a memfd sized to a whole number of pages, sealed against
 * shrinking and growing (a worker that truncated it would make every
 * other mapping of it fault), the header, and each record with its
 * mutex initialised robust, process-shared and error-checking.
 */
int
lock_region_create(char *const *names, size_t n, int *fdp, void **mapp,
    size_t *sizep, char *err, size_t errlen)
{
	pthread_mutexattr_t	 attr;
	struct lock_header	*h;
	struct lock_rec		*r;
	const char		*what;
	void			*map = MAP_FAILED;
	size_t			 size, page;
	long			 pg;
	unsigned		 i;
	int			 fd, error, rc;

	*fdp = -1;
	*mapp = NULL;
	*sizep = 0;
	if ((rc = lock_names_check(names, n, err, errlen)) != 0)
		return (rc);
	pg = sysconf(_SC_PAGESIZE);
	page = pg > 0 ? (size_t)pg : 4096;
	size = LOCK_HEADER_SIZE + n * LOCK_RECORD_SIZE;
	size = (size + page - 1) / page * page;

	what = "create";
	fd = memfd_create("pooltop-locks", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		goto fail;
	what = "size";
	if (ftruncate(fd, (off_t)size) != 0)
		goto fail;
	what = "map";
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		goto fail;
	what = "seal";
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_SEAL) != 0)
		goto fail;

	h = map;
	h->magic = LOCK_MAGIC;
	h->version = LOCK_VERSION;
	h->count = (uint32_t)n;
	h->header_size = LOCK_HEADER_SIZE;
	h->record_size = LOCK_RECORD_SIZE;
	h->mutex_size = (uint32_t)sizeof(pthread_mutex_t);

	what = "initialise the mutexes of";
	if ((rc = pthread_mutexattr_init(&attr)) != 0) {
		errno = rc;
		goto fail;
	}
	if ((rc = pthread_mutexattr_setpshared(&attr,
	    PTHREAD_PROCESS_SHARED)) != 0 ||
	    (rc = pthread_mutexattr_setrobust(&attr,
	    PTHREAD_MUTEX_ROBUST)) != 0 ||
	    (rc = pthread_mutexattr_settype(&attr,
	    PTHREAD_MUTEX_ERRORCHECK)) != 0) {
		pthread_mutexattr_destroy(&attr);
		errno = rc;
		goto fail;
	}
	for (i = 0; i < n; i++) {
		r = lock_region_rec(map, i);
		memcpy(r->name, names[i], strlen(names[i]) + 1);
		r->holder_slot = -1;
		r->dead_slot = -1;
		if ((rc = pthread_mutex_init(&r->mutex.m, &attr)) != 0) {
			pthread_mutexattr_destroy(&attr);
			errno = rc;
			goto fail;
		}
	}
	pthread_mutexattr_destroy(&attr);
	*fdp = fd;
	*mapp = map;
	*sizep = size;
	return (0);

fail:
	error = errno;
	snprintf(err, errlen, "cannot %s the lock region: %s", what,
	    strerror(error));
	if (map != MAP_FAILED)
		munmap(map, size);
	if (fd >= 0)
		close(fd);
	return (-error);
}

/* ---- the pool's lockset ---------------------------------------------------- */

/* Joins the names with sep. */
static char *
lock_join(char *const *names, size_t n, const char *sep)
{
	size_t	 len = 1, i, at = 0, slen = strlen(sep);
	char	*s;

	for (i = 0; i < n; i++)
		len += strlen(names[i]) + slen;
	s = engine_xalloc(len);
	s[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0) {
			memcpy(s + at, sep, slen);
			at += slen;
		}
		memcpy(s + at, names[i], strlen(names[i]) + 1);
		at += strlen(names[i]);
	}
	return (s);
}

/* A live lockset of a pool of that name with the same locks, or NULL. */
static struct lockset *
lockset_same(const struct pool *p)
{
	struct lockset	*o;
	unsigned	 i;

	LIST_FOREACH(o, &locksets, link) {
		if (o->engine != p->engine || o->n != p->spec.nlocks ||
		    strcmp(o->pool_name, p->spec.name) != 0)
			continue;
		for (i = 0; i < o->n; i++) {
			if (strcmp(o->ents[i].name, p->spec.locks[i]) != 0)
				break;
		}
		if (i == o->n)
			return (o);
	}
	return (NULL);
}

/* Maps another lockset's region (its mutexes are live: no init). */
static int
lockset_share(struct lockset *ls, const struct lockset *o, char *err,
    size_t errlen)
{
	int	error;

	if ((ls->fd = fcntl(o->fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		error = errno;
		snprintf(err, errlen, "cannot share the lock region: %s",
		    strerror(error));
		return (-error);
	}
	ls->map = mmap(NULL, o->size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    ls->fd, 0);
	if (ls->map == MAP_FAILED) {
		error = errno;
		close(ls->fd);
		snprintf(err, errlen, "cannot map the lock region: %s",
		    strerror(error));
		return (-error);
	}
	ls->size = o->size;
	return (0);
}

int
lockset_new(struct pool *p, struct lockset **out)
{
	struct lockset	*ls, *o;
	char		 err[256];
	unsigned	 i;
	int		 r;

	*out = NULL;
	if (p->spec.nlocks == 0)
		return (0);
	ls = engine_xalloc(sizeof *ls);
	memset(ls, 0, sizeof *ls);
	if ((o = lockset_same(p)) != NULL)
		r = lockset_share(ls, o, err, sizeof err);
	else
		r = lock_region_create(p->spec.locks, p->spec.nlocks, &ls->fd,
		    &ls->map, &ls->size, err, sizeof err);
	if (r != 0) {
		engine_set_error(p->engine, "pool %s: %s", p->spec.name, err);
		free(ls);
		return (r);
	}
	ls->engine = p->engine;
	ls->pool_name = engine_xstrdup(p->spec.name);
	ls->pool = p;
	ls->n = (unsigned)p->spec.nlocks;
	ls->ents = engine_xalloc(ls->n * sizeof *ls->ents);
	memset(ls->ents, 0, ls->n * sizeof *ls->ents);
	for (i = 0; i < ls->n; i++) {
		ls->ents[i].rec = lock_region_rec(ls->map, i);
		ls->ents[i].name = engine_xstrdup(p->spec.locks[i]);
		ls->ents[i].name_len = strlen(p->spec.locks[i]);
		ls->ents[i].seen_deaths = LOCK_LD(ls->ents[i].rec->deaths);
		TAILQ_INIT(&ls->ents[i].waiters);
	}
	ls->names = lock_join(p->spec.locks, ls->n, ",");
	ls->list = lock_join(p->spec.locks, ls->n, ", ");
	ls->backoff_ms = LOCK_BACKOFF_MIN;
	LIST_INSERT_HEAD(&locksets, ls, link);
	*out = ls;
	return (0);
}

/*
 * Gives back what the engine still holds (only when a pool is freed
 * without its workers having been reaped: the mutexes must not stay on
 * this thread's robust list once their memory is unmapped), then frees.
 */
void
lockset_free(struct lockset *ls)
{
	struct lock_waiter	*wt;
	struct lock_ent		*le;
	unsigned		 i;

	if (ls == NULL)
		return;
	for (i = 0; i < ls->n; i++) {
		le = &ls->ents[i];
		if (le->holder != NULL) {
			lock_rec_clear_holder(le->rec);
			pthread_mutex_unlock(&le->rec->mutex.m);
			le->holder = NULL;
		}
		while ((wt = TAILQ_FIRST(&le->waiters)) != NULL) {
			TAILQ_REMOVE(&le->waiters, wt, link);
			free(wt);
		}
	}
	LIST_REMOVE(ls, link);
	munmap(ls->map, ls->size);
	close(ls->fd);
	for (i = 0; i < ls->n; i++)
		free(ls->ents[i].name);
	free(ls->ents);
	free(ls->pool_name);
	free(ls->names);
	free(ls->list);
	free(ls);
}

void
lockset_teardown(struct lockset *ls)
{
	if (ls == NULL || !ls->timer_open)
		return;
	ls->timer_open = false;
	ls->timer.data = ls->pool->engine;
	uv_close((uv_handle_t *)&ls->timer, engine_handle_close_cb);
}

int
lockset_fd(const struct lockset *ls)
{
	return (ls->fd);
}

int
lockset_child_fd(const struct pool *p)
{
	return (p->spec.mode == POOL_MODE_SERVICE ? LOCK_FD_SERVICE :
	    LOCK_FD_WORKER);
}

const char *
lockset_names(const struct lockset *ls)
{
	return (ls->names);
}

/* ---- answers and notices ------------------------------------------------- */

/* Buffers a LOCKED frame for the worker (written at the turn's flush). */
static void __attribute__((format(printf, 4, 5)))
lock_reply(struct worker *w, uint32_t id, enum proto_lock_status st,
    const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;
	long	 n;
	int	 len = 0;

	if (w->exited || !w->req_open || w->req_broken)
		return;
	if (fmt != NULL) {
		va_start(ap, fmt);
		len = vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		if (len < 0)
			len = 0;
		if ((size_t)len >= sizeof msg)
			len = sizeof msg - 1;
	}
	buf_reserve(&w->obuf, PROTO_LEN_SIZE + 6 + (size_t)len);
	n = proto_encode_locked(w->obuf.p + w->obuf.len,
	    w->obuf.cap - w->obuf.len, id, st, msg, (size_t)len);
	if (n > 0)
		w->obuf.len += (size_t)n;
	if (!w->dirty)
		engine_mark_dirty(w->engine, w);
}

/* "web/2 (pid 123)" for a pid of the pool, "pid 123" otherwise. */
static const char *
lock_who(const struct pool *p, uint32_t pid, int32_t slot, char *buf,
    size_t len)
{
	if (pid == 0)
		snprintf(buf, len, "an unknown holder");
	else if (slot >= 0)
		snprintf(buf, len, "%s/%d (pid %u)", p->spec.name, (int)slot,
		    (unsigned)pid);
	else
		snprintf(buf, len, "pid %u", (unsigned)pid);
	return (buf);
}

/* "1.2 s" or "250 ms". */
static const char *
lock_ms_text(uint64_t ms, char *buf, size_t len)
{
	if (ms >= 1000)
		snprintf(buf, len, "%.1f s", (double)ms / 1000);
	else
		snprintf(buf, len, "%llu ms", (unsigned long long)ms);
	return (buf);
}

/*
 * A NOTICE about a lock, naming it (pool_event.lock, latency_us: how
 * long it was held), and the same line in the slot's log.
 */
static void __attribute__((format(printf, 5, 6)))
lock_note(struct pool *p, struct worker *w, const struct lock_ent *le,
    uint64_t held_ms, const char *fmt, ...)
{
	struct pool_event	ev;
	va_list			ap;

	memset(&ev, 0, sizeof ev);
	ev.lock = le->name;
	ev.latency_us = held_ms * 1000;
	ev.pid = w->pid;
	ev.time_ms = engine_now_ms(p->engine);
	va_start(ap, fmt);
	pool_vnote(p, w->slot, w, &ev, fmt, ap);
	va_end(ap);
}

/* ---- taking and giving back ---------------------------------------------- */

static struct lock_ent *
lock_find(struct lockset *ls, const char *name, size_t len)
{
	unsigned	i;

	if (ls == NULL)
		return (NULL);
	for (i = 0; i < ls->n; i++) {
		if (ls->ents[i].name_len == len &&
		    memcmp(ls->ents[i].name, name, len) == 0)
			return (&ls->ents[i]);
	}
	return (NULL);
}

/*
 * Tries the mutex for the engine: 0 taken, 1 taken after its holder died
 * (made consistent, the death recorded), -EBUSY, or another -errno
 * (-ENOTRECOVERABLE: a taker gave it back without making it consistent).
 */
static int
lock_take(struct lock_ent *le)
{
	struct lock_rec	*r = le->rec;
	int		 rc;

	rc = pthread_mutex_trylock(&r->mutex.m);
	if (rc == 0)
		return (0);
	if (rc == EOWNERDEAD) {
		pthread_mutex_consistent(&r->mutex.m);
		lock_rec_death(r, lock_mono_ms());
		return (1);
	}
	if (rc == EDEADLK)	/* this thread: held for another worker */
		return (-EBUSY);
	return (-rc);
}

/* Why a lock cannot be taken, for a LOCKED error. */
static const char *
lock_error_text(int err)
{
	if (err == -ENOTRECOVERABLE)
		return ("it is not recoverable (a holder died and the next one "
		    "gave it back without making it consistent)");
	return (strerror(-err));
}

/* The mutex is the engine's (just taken): it goes to the worker. */
static void
lock_grant(struct lock_ent *le, struct worker *w, uint32_t id, bool died)
{
	struct lock_rec	*r = le->rec;
	char		 who[300];
	uint32_t	 dpid = LOCK_LD(r->dead_pid);
	int32_t		 dslot = LOCK_LD(r->dead_slot);

	le->holder = w;
	died = lock_rec_set_holder(r, (uint32_t)w->pid, 0,
	    (int32_t)w->slot->index, LOCK_HELD_BY_ENGINE, lock_mono_ms(),
	    died);
	if (died)
		lock_reply(w, id, PROTO_LOCK_OWNER_DIED, "lock \"%s\": its "
		    "holder %s died holding it; it was made consistent",
		    le->name, lock_who(w->pool, dpid, dslot, who, sizeof who));
	else
		lock_reply(w, id, PROTO_LOCK_OK, NULL);
}

/*
 * The engine holds the mutex and nobody it serves is to get it: back to
 * the others.  died: the death was recorded and the next taker is to be
 * told (the mark).
 */
static void
lock_put_back(struct lock_ent *le, bool died)
{
	struct lock_rec	*r = le->rec;

	if (died)
		LOCK_ST(r->owner_died, 1);
	lock_rec_clear_holder(r);
	le->holder = NULL;
	pthread_mutex_unlock(&r->mutex.m);
}

/* The first waiter leaves the queue; returns it (the caller frees it). */
static struct lock_waiter *
lock_dequeue(struct lock_ent *le)
{
	struct lock_waiter	*wt = TAILQ_FIRST(&le->waiters);

	TAILQ_REMOVE(&le->waiters, wt, link);
	le->nwaiters--;
	return (wt);
}

/*
 * Gives a free lock to its first protocol waiter, if it can be taken
 * now.  Returns true when it went to one (or a waiter was answered with
 * an error); false when it is held elsewhere (retry on the timer).
 */
static bool
lock_serve(struct lock_ent *le)
{
	struct lock_waiter	*wt;
	int			 rc;
	bool			 moved = false;

	while (le->holder == NULL && !TAILQ_EMPTY(&le->waiters)) {
		rc = lock_take(le);
		if (rc == -EBUSY)
			return (moved);
		wt = lock_dequeue(le);
		if (rc < 0)
			lock_reply(wt->w, wt->id, PROTO_LOCK_ERROR, "lock "
			    "\"%s\": %s", le->name, lock_error_text(rc));
		else
			lock_grant(le, wt->w, wt->id, rc == 1);
		free(wt);
		moved = true;
	}
	return (moved);
}

/* The engine gives back a lock it held for a worker (UNLOCK, or its death). */
static void
lock_release(struct lock_ent *le, bool died)
{
	if (died)
		lock_rec_death(le->rec, lock_mono_ms());
	lock_put_back(le, died);
	lock_serve(le);
}

/*
 * Arms the timer for the next thing due: a retry while a lock someone
 * waits for is held outside the engine (backoff), or the first waiter's
 * deadline.  Stops it when nothing is.
 */
static void
lock_arm(struct lockset *ls)
{
	struct lock_waiter	*wt;
	struct lock_ent		*le;
	uint64_t		 now, first = UINT64_MAX, delay;
	bool			 retry = false;
	unsigned		 i;

	for (i = 0; i < ls->n; i++) {
		le = &ls->ents[i];
		if (le->nwaiters == 0)
			continue;
		if (le->holder == NULL)
			retry = true;
		TAILQ_FOREACH(wt, &le->waiters, link) {
			if (wt->deadline < first)
				first = wt->deadline;
		}
	}
	if (!retry)
		ls->backoff_ms = LOCK_BACKOFF_MIN;
	if (!retry && first == UINT64_MAX) {
		if (ls->timer_open)
			uv_timer_stop(&ls->timer);
		return;
	}
	now = uv_now(ls->pool->engine->loop);
	delay = retry ? ls->backoff_ms : UINT64_MAX;
	if (first != UINT64_MAX && (first <= now || first - now < delay))
		delay = first > now ? first - now : 0;
	if (!ls->timer_open) {
		uv_timer_init(ls->pool->engine->loop, &ls->timer);
		ls->timer.data = ls;
		ls->timer_open = true;
		ls->pool->engine->nhandles++;
	}
	uv_timer_start(&ls->timer, lock_timer_cb, delay, 0);
}

/* Deadlines first (a wait that ran out is answered), then the retries. */
static void
lock_timer_cb(uv_timer_t *h)
{
	struct lockset		*ls = h->data;
	struct lock_waiter	*wt, *next;
	struct lock_ent		*le;
	struct lock_rec		*r;
	uint64_t		 now = uv_now(ls->pool->engine->loop);
	char			 who[300];
	unsigned		 i;
	bool			 moved = false;

	for (i = 0; i < ls->n; i++) {
		le = &ls->ents[i];
		r = le->rec;
		for (wt = TAILQ_FIRST(&le->waiters); wt != NULL; wt = next) {
			next = TAILQ_NEXT(wt, link);
			if (wt->deadline > now)
				continue;
			TAILQ_REMOVE(&le->waiters, wt, link);
			le->nwaiters--;
			lock_reply(wt->w, wt->id, PROTO_LOCK_TIMEDOUT, "lock "
			    "\"%s\": not taken within %u ms (held by %s)",
			    le->name, wt->timeout_ms, lock_who(ls->pool,
			    __atomic_load_n(&r->holder_pid, __ATOMIC_ACQUIRE),
			    LOCK_LD(r->holder_slot), who, sizeof who));
			free(wt);
		}
		if (lock_serve(le))
			moved = true;
	}
	if (moved)
		ls->backoff_ms = LOCK_BACKOFF_MIN;
	else if (ls->backoff_ms < LOCK_BACKOFF_MAX)
		ls->backoff_ms *= 2;
	lock_arm(ls);
}

/* ---- frames from workers ------------------------------------------------- */

/* A LOCK frame: take it now, answer busy, or wait. */
static void
lock_frame_lock(struct worker *w, struct lockset *ls, struct lock_ent *le,
    const struct proto_msg *m)
{
	struct lock_waiter	*wt;
	struct lock_rec		*r = le->rec;
	char			 who[300];
	uint64_t		 now;
	int			 rc;

	if (le->holder == w) {
		lock_reply(w, m->id, PROTO_LOCK_ERROR, "lock \"%s\" is already "
		    "held by this worker", le->name);
		return;
	}
	TAILQ_FOREACH(wt, &le->waiters, link) {
		if (wt->w == w) {
			lock_reply(w, m->id, PROTO_LOCK_ERROR, "this worker "
			    "already waits for lock \"%s\"", le->name);
			return;
		}
	}
	if (le->holder == NULL && TAILQ_EMPTY(&le->waiters)) {
		rc = lock_take(le);
		if (rc >= 0) {
			lock_grant(le, w, m->id, rc == 1);
			return;
		}
		if (rc != -EBUSY) {
			lock_reply(w, m->id, PROTO_LOCK_ERROR, "lock \"%s\": %s",
			    le->name, lock_error_text(rc));
			return;
		}
	}
	if (m->timeout_ms == 0) {
		lock_reply(w, m->id, PROTO_LOCK_BUSY, "lock \"%s\" is held by "
		    "%s", le->name, lock_who(w->pool, __atomic_load_n(
		    &r->holder_pid, __ATOMIC_ACQUIRE), LOCK_LD(r->holder_slot),
		    who, sizeof who));
		return;
	}
	now = uv_now(w->engine->loop);
	wt = engine_xalloc(sizeof *wt);
	wt->w = w;
	wt->id = m->id;
	wt->timeout_ms = m->timeout_ms;
	wt->deadline = m->timeout_ms == PROTO_LOCK_FOREVER ? UINT64_MAX :
	    now + m->timeout_ms;
	TAILQ_INSERT_TAIL(&le->waiters, wt, link);
	le->nwaiters++;
	if (!ls->timer_open || !uv_is_active((uv_handle_t *)&ls->timer))
		ls->backoff_ms = LOCK_BACKOFF_MIN;
	lock_arm(ls);
}

/*
 * LOCK and UNLOCK from a worker.  Frames read after the worker died
 * (drained from its pipe at the exit) count for UNLOCK only: a dead
 * worker takes nothing.
 */
void
lock_frame(struct worker *w, const struct proto_msg *m)
{
	struct lockset	*ls = w->pool->locks;
	struct lock_ent	*le;

	if (m->type == PROTO_LOCK && w->exited)
		return;
	le = lock_find(ls, m->name, m->name_len);
	if (le == NULL) {
		if (ls == NULL)
			lock_reply(w, m->id, PROTO_LOCK_ERROR, "pool %s has no "
			    "locks (see locks in pooltop.conf(5))",
			    w->pool->spec.name);
		else
			lock_reply(w, m->id, PROTO_LOCK_ERROR, "unknown lock "
			    "\"%.*s\" (pool %s has: %s)", (int)m->name_len,
			    m->name, w->pool->spec.name, ls->list);
		return;
	}
	if (m->type == PROTO_LOCK) {
		lock_frame_lock(w, ls, le, m);
		return;
	}
	if (le->holder != w) {
		lock_reply(w, m->id, PROTO_LOCK_ERROR, "lock \"%s\" is not "
		    "held by this worker", le->name);
		return;
	}
	lock_reply(w, m->id, PROTO_LOCK_OK, NULL);
	lock_release(le, false);
	lock_arm(ls);
}

/* ---- deaths ---------------------------------------------------------------- */

/*
 * What a reaped worker leaves: its waits end (nobody to answer), the
 * locks the engine held for it are released with the owner-died mark,
 * and a lock it held itself (through the SDK) is found either still in
 * the owner-died state (the engine recovers it now: the next taker, or
 * the first protocol waiter, is told) or already recovered by a waiter.
 * Each such lock gets one NOTICE.
 */
void
lock_worker_gone(struct pool *p, struct worker *w)
{
	struct lockset		*ls = p->locks;
	struct lock_waiter	*wt, *next;
	struct lock_ent		*le;
	struct lock_rec		*r;
	char			 label[300], held[32], by[400], who[300];
	uint32_t		 pid = (uint32_t)w->pid, hpid, dpid;
	uint64_t		 since, deaths, now, held_ms, t;
	unsigned		 i;
	int			 rc;

	if (ls == NULL)
		return;
	worker_label(w, label, sizeof label);
	for (i = 0; i < ls->n; i++) {
		le = &ls->ents[i];
		r = le->rec;
		for (wt = TAILQ_FIRST(&le->waiters); wt != NULL; wt = next) {
			next = TAILQ_NEXT(wt, link);
			if (wt->w != w)
				continue;
			TAILQ_REMOVE(&le->waiters, wt, link);
			le->nwaiters--;
			free(wt);
		}
		now = lock_mono_ms();
		if (le->holder == w) {
			since = LOCK_LD(r->holder_since);
			lock_release(le, true);
			le->seen_deaths = LOCK_LD(r->deaths);
			lock_note(p, w, le, now - since, "worker %s (pid %u) "
			    "died holding lock \"%s\" (taken for it by the "
			    "engine, held %s); released: the next holder is "
			    "told the owner died", label, (unsigned)pid,
			    le->name, lock_ms_text(now - since, held,
			    sizeof held));
			continue;
		}
		/* The holder first (acquire), then what it recorded before. */
		hpid = __atomic_load_n(&r->holder_pid, __ATOMIC_ACQUIRE);
		since = LOCK_LD(r->holder_since);
		deaths = LOCK_LD(r->deaths);
		dpid = LOCK_LD(r->dead_pid);
		/*
		 * Held by the engine for another worker: this one's death can
		 * only be the one the engine recovered it from, on its timer.
		 */
		rc = le->holder != NULL ? -EBUSY : lock_take(le);
		snprintf(by, sizeof by, "recovered: the next holder is told "
		    "the owner died");
		if (rc == 0 || rc == 1) {
			/* Free, or left in the owner-died state: ours now. */
			if (!TAILQ_EMPTY(&le->waiters)) {
				wt = lock_dequeue(le);
				lock_grant(le, wt->w, wt->id, rc == 1);
				snprintf(by, sizeof by, "taken over by %s/%d (pid "
				    "%d), told the owner died", p->spec.name,
				    wt->w->slot->index, (int)wt->w->pid);
				free(wt);
			} else
				lock_put_back(le, rc == 1);
		}
		if (rc == -ENOTRECOVERABLE) {
			if (hpid == pid)
				lock_note(p, w, le, 0, "worker %s (pid %u) "
				    "died holding lock \"%s\", which is not "
				    "recoverable (a holder gave it back without "
				    "making it consistent)", label,
				    (unsigned)pid, le->name);
			continue;
		}
		held_ms = since != 0 && since <= now ? now - since : 0;
		if (rc == 1 && (hpid == pid || hpid == 0))
			;	/* recovered here */
		else if (hpid == pid || (deaths > le->seen_deaths &&
		    (dpid == pid || dpid == 0))) {
			/* A waiter got EOWNERDEAD: it recovers it. */
			t = __atomic_load_n(&r->holder_pid, __ATOMIC_ACQUIRE);
			if (t != 0 && t != pid)
				snprintf(by, sizeof by, "taken over by %s, told "
				    "the owner died", lock_who(p, (uint32_t)t,
				    LOCK_LD(r->holder_slot), who, sizeof who));
			else
				snprintf(by, sizeof by, "taken over by the next "
				    "holder, told the owner died");
			if (hpid != pid) {
				since = LOCK_LD(r->dead_since);
				t = LOCK_LD(r->death_time);
				held_ms = since != 0 && since <= t ? t - since :
				    0;
			}
		} else
			continue;	/* not this worker's (seen_deaths kept) */
		le->seen_deaths = LOCK_LD(r->deaths);
		if (held_ms != 0 || since != 0)
			lock_note(p, w, le, held_ms, "worker %s (pid %u) died "
			    "holding lock \"%s\" (held %s); %s", label,
			    (unsigned)pid, le->name, lock_ms_text(held_ms,
			    held, sizeof held), by);
		else
			lock_note(p, w, le, 0, "worker %s (pid %u) died holding "
			    "lock \"%s\"; %s", label, (unsigned)pid, le->name,
			    by);
	}
	lock_arm(ls);
}

/* ---- inspection ------------------------------------------------------------ */

size_t
pool_locks(const struct pool *p, struct pool_lock_info *out, size_t max)
{
	const struct lockset	*ls = p->locks;
	const struct lock_ent	*le;
	struct lock_rec		*r;
	struct pool_lock_info	*o;
	uint64_t		 now, t;
	unsigned		 i;

	if (ls == NULL)
		return (0);
	now = lock_mono_ms();
	for (i = 0; i < ls->n && i < max; i++) {
		le = &ls->ents[i];
		r = le->rec;
		o = &out[i];
		memset(o, 0, sizeof *o);
		o->name = le->name;
		o->pid = (pid_t)__atomic_load_n(&r->holder_pid,
		    __ATOMIC_ACQUIRE);
		o->held = o->pid != 0 || le->holder != NULL;
		o->slot = o->held ? LOCK_LD(r->holder_slot) : -1;
		o->by_engine = le->holder != NULL ||
		    (o->pid != 0 && (LOCK_LD(r->holder_flags) &
		    LOCK_HELD_BY_ENGINE) != 0);
		t = LOCK_LD(r->holder_since);
		o->held_ms = o->held && t != 0 && t <= now ? now - t : 0;
		o->waiting = le->nwaiters;
		o->acquisitions = LOCK_LD(r->acquisitions);
		o->deaths = LOCK_LD(r->deaths);
		if (o->deaths != 0) {
			o->dead_pid = (pid_t)LOCK_LD(r->dead_pid);
			o->dead_slot = LOCK_LD(r->dead_slot);
			t = LOCK_LD(r->death_time);
			o->dead_ago_ms = t <= now ? now - t : 0;
		} else
			o->dead_slot = -1;
	}
	return (ls->n);
}
