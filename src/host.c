/*
 * libpooltop-host: the worker side of a pooltop pool.
 *
 * One small poll() loop on the worker's main thread: fd 3 (requests from
 * the pool), an eventfd (wake-ups from other threads) and a sorted list of
 * timers.  Each read takes as much as the pipe holds and every complete
 * frame in it is dispatched; replies made on the loop thread meanwhile
 * are batched in one output buffer and written to fd 4 before the loop
 * blocks again.  Replies from other threads are written at once.  All
 * writes to fd 4 happen under one mutex, so frames never interleave.
 *
 * The loop thread's own work takes no lock per request: its batch, its
 * count of requests handed out and answered, and its cache of request
 * objects are its alone; the mutex is taken once per loop turn (to write
 * the batch and look at what other threads did), and by other threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "pooltop/host.h"
#include "proto.h"

#define IN_BASE		(64u << 10)	/* read buffer kept between frames */
#define OUT_FLUSH	(64u << 10)	/* flush a batch once it is this big */
#define OUT_DIRECT	(64u << 10)	/* larger payloads skip the buffer */
#define REQ_CACHE	256		/* request objects kept for reuse */

struct handler {
	char		*name;		/* NUL-terminated */
	size_t		 len;
	pooltop_handler	 fn;
	void		*arg;
};

struct timer {
	struct timer	*next;
	uint64_t	 due;		/* CLOCK_MONOTONIC, ns */
	pooltop_timer_cb cb;
	void		*arg;
};

struct pooltop_req {
	struct pooltop_host	*host;
	const char		*task;	/* the handler's name */
	uint32_t		 id;
	struct pooltop_req	*next;	/* in the host's cache */
};

struct pooltop_host {
	struct handler	*handlers;
	size_t		 nhandlers;
	char		*served;	/* "a, b, c" for unknown-task errors */
	char		 who[80];	/* " (worker POOL/SLOT)" or "" */

	int		 rfd;
	int		 wfd;

	/* The loop thread's alone: */
	uint8_t		*in;		/* read buffer */
	size_t		 inlen;
	size_t		 incap;
	uint8_t		*out;		/* batched replies (written under lock) */
	size_t		 outlen;
	size_t		 outcap;
	size_t		 handed;	/* requests handed to handlers */
	size_t		 hint;		/* handler matched last */
	size_t		 answered;	/* of those, answered on the loop thread */
	struct pooltop_req *free_reqs;	/* cache, linked through host */
	unsigned	 nfree_reqs;

	pthread_mutex_t	 lock;		/* guards everything below */
	int		 eof;		/* fd 3 closed by the pool */
	pthread_t	 loop_thread;
	int		 running;
	int		 wakefd;	/* eventfd while running, else -1 */
	atomic_int	 quit;		/* also read without the lock */
	atomic_int	 werr;		/* first error writing fd 4 (the same) */
	size_t		 answered_mt;	/* answered on other threads */
	struct timer	*timers;	/* sorted by due */
};

/* Writes "pooltop-host (worker POOL/SLOT): ..." and a newline to stderr. */
static void __attribute__((format(printf, 2, 3)))
host_warn(struct pooltop_host *h, const char *fmt, ...)
{
	char	line[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "pooltop-host%s: %s\n", h->who, line);
}

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
on_loop_thread(struct pooltop_host *h)
{
	return h->running && pthread_equal(pthread_self(), h->loop_thread);
}

/* Wakes the loop from another thread; called with the lock held. */
static void
host_wake_locked(struct pooltop_host *h)
{
	uint64_t	one = 1;
	ssize_t		n;

	if (h->wakefd < 0 || on_loop_thread(h))
		return;
	do
		n = write(h->wakefd, &one, sizeof one);
	while (n < 0 && errno == EINTR);
}

struct pooltop_host *
pooltop_host_new(void)
{
	struct pooltop_host	*h;
	const char		*w;

	if ((h = calloc(1, sizeof *h)) == NULL)
		return NULL;
	if (pthread_mutex_init(&h->lock, NULL) != 0) {
		free(h);
		return NULL;
	}
	h->rfd = PROTO_FD_REQUESTS;
	h->wfd = PROTO_FD_REPLIES;
	h->wakefd = -1;
	/* POOLTOP_WORKER ("POOL/SLOT") only names the worker in messages. */
	if ((w = getenv("POOLTOP_WORKER")) != NULL && *w != '\0')
		snprintf(h->who, sizeof h->who, " (worker %s)", w);
	return h;
}

void
pooltop_host_free(struct pooltop_host *h)
{
	struct pooltop_req	*req;
	struct timer		*t;
	size_t			 i;

	if (h == NULL)
		return;
	while ((t = h->timers) != NULL) {
		h->timers = t->next;
		free(t);
	}
	while ((req = h->free_reqs) != NULL) {
		h->free_reqs = req->next;
		free(req);
	}
	for (i = 0; i < h->nhandlers; i++)
		free(h->handlers[i].name);
	free(h->handlers);
	free(h->served);
	free(h->in);
	free(h->out);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

int
pooltop_host_on(struct pooltop_host *h, const char *task, pooltop_handler fn,
    void *arg)
{
	struct handler	*hs;
	size_t		 len, i;

	if (task == NULL || fn == NULL)
		return -EINVAL;
	len = strlen(task);
	if (len == 0 || len > PROTO_MAX_NAME)
		return -EINVAL;
	if (h->running)
		return -EBUSY;
	if (h->nhandlers >= UINT16_MAX)
		return -E2BIG;
	for (i = 0; i < h->nhandlers; i++) {
		if (strcmp(h->handlers[i].name, task) == 0)
			return -EEXIST;
	}
	hs = realloc(h->handlers, (h->nhandlers + 1) * sizeof *hs);
	if (hs == NULL)
		return -ENOMEM;
	h->handlers = hs;
	if ((hs[h->nhandlers].name = strdup(task)) == NULL)
		return -ENOMEM;
	hs[h->nhandlers].len = len;
	hs[h->nhandlers].fn = fn;
	hs[h->nhandlers].arg = arg;
	h->nhandlers++;
	return 0;
}

/*
 * The handler for a task name, or NULL.  On the loop thread only: the
 * handler found last is tried first (a worker is mostly sent the same
 * few task names in a row).
 */
static struct handler *
host_find(struct pooltop_host *h, const char *name, size_t len)
{
	struct handler	*hd;
	size_t		 i;

	if (h->hint < h->nhandlers) {
		hd = &h->handlers[h->hint];
		if (hd->len == len && proto_bytes_eq(hd->name, name, len))
			return hd;
	}
	for (i = 0; i < h->nhandlers; i++) {
		hd = &h->handlers[i];
		if (hd->len == len && proto_bytes_eq(hd->name, name, len)) {
			h->hint = i;
			return hd;
		}
	}
	return NULL;
}

/* Writes every iovec fully, waiting on POLLOUT if fd 4 is non-blocking. */
static int
write_full(int fd, struct iovec *iov, int iovcnt)
{
	struct pollfd	pfd;
	ssize_t		n;

	while (iovcnt > 0) {
		n = writev(fd, iov, iovcnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				pfd.fd = fd;
				pfd.events = POLLOUT;
				(void)poll(&pfd, 1, -1);
				continue;
			}
			return -errno;
		}
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/*
 * Writes the loop thread's batch; called on the loop thread with the lock
 * held (other threads write their frames at once, under the lock).
 */
static int
host_flush_locked(struct pooltop_host *h)
{
	struct iovec	iov;
	int		rc;

	if (h->outlen == 0)
		return h->werr;
	iov.iov_base = h->out;
	iov.iov_len = h->outlen;
	rc = write_full(h->wfd, &iov, 1);
	h->outlen = 0;
	if (rc < 0 && h->werr == 0)
		h->werr = rc;
	return rc;
}

/* Makes room for more bytes in the loop thread's batch; 0 or -ENOMEM. */
static int
host_out_reserve(struct pooltop_host *h, size_t more)
{
	size_t	 need = h->outlen + more, cap;
	uint8_t	*out;

	if (need <= h->outcap)
		return 0;
	cap = h->outcap != 0 ? h->outcap : 4096;
	while (cap < need)
		cap *= 2;
	if ((out = realloc(h->out, cap)) == NULL)
		return -ENOMEM;
	h->out = out;
	h->outcap = cap;
	return 0;
}

/*
 * Sends one RESULT or ERROR frame.  On the loop thread while it runs, the
 * frame joins the batch (flushed before the loop blocks) without taking
 * the lock; from any other thread, or for a large payload, it is written
 * at once under the lock.
 */
static int
host_send_from(struct pooltop_host *h, int loop, enum proto_type type,
    uint32_t id, const void *data, size_t len)
{
	uint8_t		hdr[PROTO_REPLY_HEADER];
	struct iovec	iov[2];
	int		rc;

	if (len > PROTO_MAX_FRAME - (PROTO_REPLY_HEADER - PROTO_LEN_SIZE))
		return -EMSGSIZE;
	if (loop && len <= OUT_DIRECT) {
		if ((rc = h->werr) != 0)
			return rc;
		if (host_out_reserve(h, PROTO_REPLY_HEADER + len) == 0) {
			h->outlen += proto_put_reply_header(h->out + h->outlen,
			    type, id, len);
			proto_copy(h->out + h->outlen, data, len);
			h->outlen += len;
			if (h->outlen < OUT_FLUSH)
				return 0;
			pthread_mutex_lock(&h->lock);
			rc = host_flush_locked(h);
			pthread_mutex_unlock(&h->lock);
			return rc;
		}
	}
	proto_put_reply_header(hdr, type, id, len);
	pthread_mutex_lock(&h->lock);
	if ((rc = h->werr) != 0)
		goto out;
	/* The loop thread's earlier replies go first. */
	if (loop && (rc = host_flush_locked(h)) != 0)
		goto out;
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof hdr;
	iov[1].iov_base = (void *)(uintptr_t)data;
	iov[1].iov_len = len;
	if ((rc = write_full(h->wfd, iov, 2)) != 0 && h->werr == 0)
		h->werr = rc;
out:
	pthread_mutex_unlock(&h->lock);
	return rc;
}

/* host_send_from, for a caller that has not asked which thread it is on. */
static int
host_send(struct pooltop_host *h, enum proto_type type, uint32_t id,
    const void *data, size_t len)
{
	return host_send_from(h, on_loop_thread(h), type, id, data, len);
}

/*
 * Forgets an answered request.  On the loop thread: counted, and the
 * object kept for the next request.  From another thread: counted under
 * the lock, and once fd 3 is closed the loop is woken to see whether that
 * was the last one.
 */
static void
req_done_from(struct pooltop_req *req, int loop)
{
	struct pooltop_host	*h = req->host;

	if (loop) {
		h->answered++;
		if (h->nfree_reqs < REQ_CACHE) {
			req->next = h->free_reqs;
			h->free_reqs = req;
			h->nfree_reqs++;
			return;
		}
	} else {
		pthread_mutex_lock(&h->lock);
		h->answered_mt++;
		if (h->eof)
			host_wake_locked(h);
		pthread_mutex_unlock(&h->lock);
	}
	free(req);
}

static void
req_done(struct pooltop_req *req)
{
	req_done_from(req, on_loop_thread(req->host));
}

const char *
pooltop_req_task(const struct pooltop_req *req)
{
	return req->task;
}

uint32_t
pooltop_req_id(const struct pooltop_req *req)
{
	return req->id;
}

struct pooltop_host *
pooltop_req_host(const struct pooltop_req *req)
{
	return req->host;
}

/* Sends an ERROR frame with a printf-formatted message. */
static int __attribute__((format(printf, 3, 0)))
host_vsend_error(struct pooltop_host *h, uint32_t id, const char *fmt,
    va_list ap)
{
	char	 small[512], *msg = small;
	va_list	 ap2;
	int	 n, rc;

	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof small, fmt, ap);
	if (n < 0) {
		va_end(ap2);
		return host_send(h, PROTO_ERROR, id, "(bad error format)", 18);
	}
	if ((size_t)n >= sizeof small) {
		if ((msg = malloc((size_t)n + 1)) != NULL)
			vsnprintf(msg, (size_t)n + 1, fmt, ap2);
		else {
			msg = small;	/* send what fits */
			n = (int)sizeof small - 1;
		}
	}
	va_end(ap2);
	if ((size_t)n > PROTO_MAX_FRAME - 5)
		n = PROTO_MAX_FRAME - 5;
	rc = host_send(h, PROTO_ERROR, id, msg, (size_t)n);
	if (msg != small)
		free(msg);
	return rc;
}

static int __attribute__((format(printf, 3, 4)))
host_send_error(struct pooltop_host *h, uint32_t id, const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = host_vsend_error(h, id, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * A result over the maximum frame size cannot be sent; the pool gets an
 * error saying so instead (the request still ends exactly once).  Which
 * thread this is is asked once, for the send and the request's end.
 */
int
pooltop_reply(struct pooltop_req *req, const void *data, size_t len)
{
	struct pooltop_host	*h = req->host;
	int			 rc, loop = on_loop_thread(h);

	if (len > PROTO_MAX_FRAME - (PROTO_REPLY_HEADER - PROTO_LEN_SIZE)) {
		rc = host_send_error(h, req->id, "task \"%s\": result too "
		    "large (%zu bytes; a frame holds at most %u)", req->task,
		    len, PROTO_MAX_FRAME - 5);
		if (rc == 0)
			rc = -EMSGSIZE;
	} else
		rc = host_send_from(h, loop, PROTO_RESULT, req->id, data,
		    len);
	req_done_from(req, loop);
	return rc;
}

int
pooltop_fail(struct pooltop_req *req, const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = host_vsend_error(req->host, req->id, fmt, ap);
	va_end(ap);
	req_done(req);
	return rc;
}

int
pooltop_host_after(struct pooltop_host *h, uint64_t ms, pooltop_timer_cb cb,
    void *arg)
{
	struct timer	*t, **tp;

	if (cb == NULL)
		return -EINVAL;
	if ((t = malloc(sizeof *t)) == NULL)
		return -ENOMEM;
	if (ms > UINT64_MAX / 2000000u)
		ms = UINT64_MAX / 2000000u;	/* ~290 years: never */
	t->due = now_ns() + ms * 1000000u;
	t->cb = cb;
	t->arg = arg;

	pthread_mutex_lock(&h->lock);
	for (tp = &h->timers; *tp != NULL && (*tp)->due <= t->due;
	    tp = &(*tp)->next)
		;
	t->next = *tp;
	*tp = t;
	if (tp == &h->timers)
		host_wake_locked(h);	/* a new earliest deadline */
	pthread_mutex_unlock(&h->lock);
	return 0;
}

void
pooltop_host_quit(struct pooltop_host *h)
{
	pthread_mutex_lock(&h->lock);
	h->quit = 1;
	host_wake_locked(h);
	pthread_mutex_unlock(&h->lock);
}

/* Read without the lock: it is checked after every request. */
static int
host_quitting(struct pooltop_host *h)
{
	return atomic_load_explicit(&h->quit, memory_order_acquire);
}

/*
 * Runs the timers due now.  They are detached first, so a callback that
 * re-arms itself with 0 ms runs again on the next turn, not in a loop here.
 */
static void
host_run_timers(struct pooltop_host *h)
{
	struct timer	*due = NULL, **tail = &due, *t;
	uint64_t	 now = now_ns();

	pthread_mutex_lock(&h->lock);
	while ((t = h->timers) != NULL && t->due <= now) {
		h->timers = t->next;
		t->next = NULL;
		*tail = t;
		tail = &t->next;
	}
	pthread_mutex_unlock(&h->lock);

	while ((t = due) != NULL) {
		due = t->next;
		t->cb(h, t->arg);
		free(t);
	}
}

/* Milliseconds poll() may sleep: until the first timer (-1: none). */
static int
host_timeout_locked(struct pooltop_host *h)
{
	uint64_t	now, ms;
	int		timeout = -1;

	if (h->timers != NULL) {
		now = now_ns();
		if (h->timers->due <= now)
			timeout = 0;
		else {
			ms = (h->timers->due - now + 999999u) / 1000000u;
			timeout = ms > 86400000u ? 86400000 : (int)ms;
		}
	}
	return timeout;
}

/* Builds "a, b, c" once, for unknown-task errors. */
static int
host_build_served(struct pooltop_host *h)
{
	size_t	len = 1, i;
	char	*p;

	for (i = 0; i < h->nhandlers; i++)
		len += h->handlers[i].len + 2;
	free(h->served);
	if ((h->served = p = malloc(len)) == NULL)
		return -ENOMEM;
	*p = '\0';
	for (i = 0; i < h->nhandlers; i++) {
		if (i > 0) {
			memcpy(p, ", ", 2);
			p += 2;
		}
		memcpy(p, h->handlers[i].name, h->handlers[i].len);
		p += h->handlers[i].len;
		*p = '\0';
	}
	return 0;
}

/* Sends HELLO: protocol version and every registered task name. */
static int
host_hello(struct pooltop_host *h)
{
	const char	**names;
	struct iovec	  iov;
	uint8_t		 *buf;
	size_t		  size = PROTO_LEN_SIZE + 5, i;
	long		  n;
	int		  rc;

	for (i = 0; i < h->nhandlers; i++)
		size += 2 + h->handlers[i].len;
	names = malloc((h->nhandlers + 1) * sizeof *names);
	buf = malloc(size);
	if (names == NULL || buf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < h->nhandlers; i++)
		names[i] = h->handlers[i].name;
	n = proto_encode_hello(buf, size, names, h->nhandlers);
	if (n < 0) {
		host_warn(h, "cannot encode the handshake: %s",
		    proto_strerror((int)n));
		rc = -EINVAL;
		goto out;
	}
	iov.iov_base = buf;
	iov.iov_len = (size_t)n;
	if ((rc = write_full(h->wfd, &iov, 1)) != 0)
		host_warn(h, "writing the handshake to fd %d: %s", h->wfd,
		    strerror(-rc));
out:
	free(names);
	free(buf);
	return rc;
}

/*
 * Hands one REQUEST to its handler hd (host_find's answer), or answers it
 * when there is none: unknown task.
 */
static void
host_dispatch(struct pooltop_host *h, const struct proto_msg *msg,
    struct handler *hd)
{
	struct pooltop_req	*req;

	if (hd == NULL) {
		if (h->nhandlers == 0)
			host_send_error(h, msg->id, "unknown task \"%.*s\" "
			    "(this worker serves no tasks)",
			    (int)msg->name_len, msg->name);
		else
			host_send_error(h, msg->id, "unknown task \"%.*s\" "
			    "(this worker serves: %s)", (int)msg->name_len,
			    msg->name, h->served);
		return;
	}
	if ((req = h->free_reqs) != NULL) {
		h->free_reqs = req->next;
		h->nfree_reqs--;
	} else if ((req = malloc(sizeof *req)) == NULL) {
		host_send_error(h, msg->id, "task \"%s\": worker out of memory",
		    hd->name);
		return;
	}
	req->host = h;
	req->task = hd->name;
	req->id = msg->id;
	req->next = NULL;
	h->handed++;
	hd->fn(req, msg->data, msg->data_len, hd->arg);
}

/* Makes room in the read buffer for a frame of need bytes. */
static int
host_reserve(struct pooltop_host *h, size_t need)
{
	uint8_t	*in;

	if (need <= h->incap)
		return 0;
	if ((in = realloc(h->in, need)) == NULL)
		return -ENOMEM;
	h->in = in;
	h->incap = need;
	return 0;
}

/*
 * Reads what fd 3 holds and dispatches every complete frame.  Returns 0,
 * 1 at end of file, or a negative errno after a line on stderr.
 */
static int
host_read(struct pooltop_host *h)
{
	struct proto_msg	 msg;
	struct handler		*hd;
	size_t			 off = 0, flen, need = 0;
	ssize_t			 n;
	uint8_t			*in;
	int			 rc = 0, st;

	n = read(h->rfd, h->in + h->inlen, h->incap - h->inlen);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		rc = -errno;
		host_warn(h, "reading requests from fd %d: %s", h->rfd,
		    strerror(errno));
		return rc;
	}
	if (n == 0) {
		if (h->inlen == 0)
			return 1;
		host_warn(h, "the pool closed fd %d in the middle of a frame "
		    "(%zu bytes of it received)", h->rfd, h->inlen);
		return -EPROTO;
	}
	h->inlen += (size_t)n;

	while (off < h->inlen) {
		/*
		 * Most frames are whole requests: those skip the full decoder.
		 * A name equal to a handler's holds no NUL byte; only another
		 * name is scanned for one (then the decoder says what is wrong).
		 */
		if ((flen = proto_peek_request_nonul(h->in + off,
		    h->inlen - off, &msg)) != 0 &&
		    ((hd = host_find(h, msg.name, msg.name_len)) != NULL ||
		    memchr(msg.name, '\0', msg.name_len) == NULL)) {
			off += flen;
			host_dispatch(h, &msg, hd);
			if (host_quitting(h))
				break;	/* frames left over are dropped */
			continue;
		}
		st = proto_decode(h->in + off, h->inlen - off, PROTO_MAX_FRAME,
		    &msg, &flen);
		if (st == PROTO_NEED_MORE) {
			need = flen;
			if (flen > h->incap && (rc = host_reserve(h, flen))) {
				host_warn(h, "no memory for a %zu-byte frame",
				    flen);
				return rc;
			}
			break;
		}
		if (st < 0) {
			host_warn(h, "malformed frame from the pool on fd %d "
			    "(at byte %zu of this read): %s", h->rfd, off,
			    proto_strerror(st));
			return st == PROTO_ETOOBIG ? -EMSGSIZE : -EPROTO;
		}
		off += flen;
		if (msg.type != PROTO_REQUEST) {
			host_warn(h, "unexpected message type %d from the pool "
			    "on fd %d (only REQUEST frames go to a worker)",
			    (int)msg.type, h->rfd);
			return -EPROTO;
		}
		host_dispatch(h, &msg, host_find(h, msg.name, msg.name_len));
		if (host_quitting(h))
			break;	/* frames left over are dropped */
	}

	h->inlen -= off;
	if (h->inlen != 0 && off != 0)
		memmove(h->in, h->in + off, h->inlen);
	/* Give a big frame's buffer back once it has been served. */
	if (h->incap > IN_BASE && need <= IN_BASE && h->inlen <= IN_BASE &&
	    (in = realloc(h->in, IN_BASE)) != NULL) {
		h->in = in;
		h->incap = IN_BASE;
	}
	return 0;
}

/* -ENOTCONN unless fd is open with the access mode we need. */
static int
host_check_fd(struct pooltop_host *h, int fd, int writing)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) < 0)
		return -ENOTCONN;
	fl &= O_ACCMODE;
	if (fl != O_RDWR && fl != (writing ? O_WRONLY : O_RDONLY))
		return -ENOTCONN;
	/* The worker's own children must not hold the pool's pipes. */
	fl = fcntl(fd, F_GETFD);
	if (fl >= 0 && !(fl & FD_CLOEXEC))
		(void)fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
	return 0;
}

/*
 * After the pool closes fd 3 the loop goes on (timers and wake-ups only)
 * until every request handed out has been answered, then returns 0.
 */
int
pooltop_host_run(struct pooltop_host *h)
{
	struct pollfd		pfd[2];
	struct sigaction	sa;
	uint64_t		val;
	int			rc, quit, werr, done, nfd, timeout;

	if (host_check_fd(h, h->rfd, 0) != 0 ||
	    host_check_fd(h, h->wfd, 1) != 0) {
		host_warn(h, "fd %d and fd %d are not open for requests and "
		    "replies: this program is a pooltop worker, to be started "
		    "by a pooltop pool (see pooltop-protocol(7))", h->rfd,
		    h->wfd);
		return -ENOTCONN;
	}
	if (h->running)
		return -EBUSY;

	/* A closed reply pipe must be an -EPIPE to report, not a death. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);

	if ((rc = host_build_served(h)) != 0)
		return rc;
	if (h->in == NULL) {
		if ((h->in = malloc(IN_BASE)) == NULL)
			return -ENOMEM;
		h->incap = IN_BASE;
	}
	h->inlen = 0;

	pthread_mutex_lock(&h->lock);
	h->eof = 0;
	h->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	h->loop_thread = pthread_self();
	h->running = 1;
	h->quit = 0;
	h->werr = 0;
	pthread_mutex_unlock(&h->lock);
	if (h->wakefd < 0) {
		rc = -errno;
		host_warn(h, "eventfd: %s", strerror(errno));
		goto out;
	}

	if ((rc = host_hello(h)) != 0)
		goto out;

	for (;;) {
		pthread_mutex_lock(&h->lock);
		host_flush_locked(h);
		quit = h->quit;
		werr = h->werr;
		done = h->eof && h->handed == h->answered + h->answered_mt;
		timeout = host_timeout_locked(h);
		pthread_mutex_unlock(&h->lock);
		if (werr != 0) {
			host_warn(h, "writing replies to fd %d: %s", h->wfd,
			    strerror(-werr));
			rc = werr;
			break;
		}
		if (quit || done)
			break;

		nfd = 0;
		pfd[nfd].fd = h->wakefd;
		pfd[nfd++].events = POLLIN;
		if (!h->eof) {
			pfd[nfd].fd = h->rfd;
			pfd[nfd++].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)nfd, timeout) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			host_warn(h, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents & POLLIN)
			(void)!read(h->wakefd, &val, sizeof val);
		if (nfd > 1 && pfd[1].revents != 0) {
			rc = host_read(h);
			if (rc < 0)
				break;
			if (rc == 1) {
				pthread_mutex_lock(&h->lock);
				h->eof = 1;
				pthread_mutex_unlock(&h->lock);
			}
			rc = 0;
		}
		if (!host_quitting(h))
			host_run_timers(h);
	}

out:
	pthread_mutex_lock(&h->lock);
	host_flush_locked(h);
	h->running = 0;
	if (h->wakefd >= 0)
		close(h->wakefd);
	h->wakefd = -1;
	pthread_mutex_unlock(&h->lock);
	return rc;
}
