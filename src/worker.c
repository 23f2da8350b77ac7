/*
 * One worker process: spawn, its pipes, the frame reader and the request
 * writer, its log lines, stop and kill, and what happens when it is
 * reaped.  Decisions that concern the pool (restart, retry, dispatch) are
 * in pool.c.
 */
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine-internal.h"
#include "pooltop/sampler.h"
#include "lock.h"
#include "proto.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC	(1U << 2)
#endif

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_ASAN	__attribute__((no_sanitize("address")))
#endif
#endif
#if !defined(NO_ASAN) && defined(__SANITIZE_ADDRESS__)
#define NO_ASAN	__attribute__((no_sanitize_address))
#endif
#ifndef NO_ASAN
#define NO_ASAN
#endif

#define SPAWN_FD_FLOOR	10	/* the child moves its fds above this first */
#define EXIT_DRAIN_MAX	(1u << 20)	/* bytes read from a pipe after exit */
#define WORKER_BUF_KEEP	4096		/* a busy worker's buffers kept up to this */

/* Where the child failed, for the message. */
enum spawn_stage {
	STAGE_OK,
	STAGE_PDEATHSIG,
	STAGE_PARENT,
	STAGE_FDS,
	STAGE_CHDIR,
	STAGE_EXEC,
};

/*
 * What the child needs, prepared by the parent: the child shares the
 * parent's memory (CLONE_VM) and must not allocate.  err and stage are
 * written by the child and read by the parent after the child exec'd or
 * exited (CLONE_VFORK suspends the parent until then).
 */
struct spawn_args {
	const char	*path;
	char *const	*argv;
	char *const	*envp;
	const char	*cwd;
	int		 fds[6];	/* become 0..nfds-1 in the child */
	int		 nfds;
	pid_t		 ppid;
	bool		 set_nofile;
	struct rlimit	 nofile;
	volatile int	 err;
	volatile int	 stage;
};

/* The kernel's struct sigaction (x86_64, aarch64 and the generic ABI). */
struct kernel_sigaction {
	void		*handler;
	unsigned long	 flags;
	void		*restorer;
	uint64_t	 mask;
};

extern char **environ;

/* The soft RLIMIT_NOFILE before engine_raise_nofile(), for workers. */
static bool		nofile_raised;
static struct rlimit	nofile_orig;

static void	worker_rep_alloc_cb(uv_handle_t *, size_t, uv_buf_t *);
static void	worker_rep_read_cb(uv_stream_t *, ssize_t, const uv_buf_t *);
static void	worker_log_alloc_cb(uv_handle_t *, size_t, uv_buf_t *);
static void	worker_log_read_cb(uv_stream_t *, ssize_t, const uv_buf_t *);
static void	worker_write_cb(uv_write_t *, int);
static void	worker_deadline_cb(struct deadline *);
static void	worker_line_deadline_cb(struct deadline *);
static void	worker_drain_fd(struct worker *, uv_pipe_t *, int);
static void	worker_term(struct worker *);
static void	worker_protocol_error(struct worker *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* "web/2", for messages. */
const char *
worker_label(const struct worker *w, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%d", w->pool->spec.name, w->slot->index);
	return (buf);
}

/* "exited with status 3" or "exited with signal 9 (Killed)". */
void
worker_exit_text(char *buf, size_t len, int code, int status)
{
	const char	*name;

	switch (code) {
	case CLD_EXITED:
		if (status < 0)
			snprintf(buf, len, "exited (status unknown: "
			    "reaped by another part of the program)");
		else
			snprintf(buf, len, "exited with status %d", status);
		break;
	case CLD_KILLED:
	case CLD_DUMPED:
		name = strsignal(status);
		snprintf(buf, len, "exited with signal %d (%s)%s", status,
		    name != NULL ? name : "?",
		    code == CLD_DUMPED ? ", core dumped" : "");
		break;
	default:
		snprintf(buf, len, "exited (code %d, status %d)", code, status);
		break;
	}
}

void
engine_note_nofile_raised(const struct rlimit *orig)
{
	if (!nofile_raised) {
		nofile_orig = *orig;
		nofile_raised = true;
	}
}

/*
 * Where a relative path leads once the worker is in its cwd: the exec
 * runs after the chdir, so that is the file it will find.
 */
static const char *
worker_at_cwd(const struct pool_spec *spec, const char *path, char *buf,
    size_t len)
{
	int	n;

	if (path[0] == '/' || spec->cwd == NULL)
		return (path);
	n = snprintf(buf, len, "%s/%s", spec->cwd, path);
	return (n > 0 && (size_t)n < len ? buf : path);
}

/*
 * Finds the program to run: argv[0] as is when it has a slash, else the
 * first executable file of that name in PATH (the pool's PATH when its
 * env sets one); a relative one is looked for from the pool's cwd, where
 * the exec will look.  Returns 0 and a malloc'd path, or a negative errno
 * with the reason in err.
 */
int
worker_resolve(const struct pool_spec *spec, char **path, char *err,
    size_t errlen)
{
	const char	*name = spec->argv[0], *pathvar = NULL, *p, *end, *at;
	char		*cand, atbuf[PATH_MAX];
	struct stat	 st;
	size_t		 i, dlen, nlen;
	int		 saw_eacces = 0;

	*path = NULL;
	if (strchr(name, '/') != NULL) {
		at = worker_at_cwd(spec, name, atbuf, sizeof atbuf);
		if (access(at, X_OK) != 0 || stat(at, &st) != 0) {
			int	error = errno;

			snprintf(err, errlen, "pool %s: cannot start \"%s\": %s",
			    spec->name, name, strerror(error));
			return (-error);
		}
		if (S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "pool %s: cannot start \"%s\": %s",
			    spec->name, name, strerror(EISDIR));
			return (-EISDIR);
		}
		*path = engine_xstrdup(name);
		return (0);
	}
	for (i = 0; i < spec->nenv; i++) {
		if (strcmp(spec->env[i].name, "PATH") == 0)
			pathvar = spec->env[i].value;
	}
	if (pathvar == NULL)
		pathvar = getenv("PATH");
	if (pathvar == NULL || *pathvar == '\0')
		pathvar = "/usr/local/bin:/usr/bin:/bin";
	nlen = strlen(name);
	for (p = pathvar; ; p = end + 1) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		dlen = end - p;
		cand = engine_xalloc(dlen + nlen + 3);
		if (dlen == 0)
			snprintf(cand, dlen + nlen + 3, "./%s", name);
		else
			snprintf(cand, dlen + nlen + 3, "%.*s/%s", (int)dlen,
			    p, name);
		at = worker_at_cwd(spec, cand, atbuf, sizeof atbuf);
		if (stat(at, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(at, X_OK) == 0) {
				*path = cand;
				return (0);
			}
			saw_eacces = 1;
		}
		free(cand);
		if (*end == '\0')
			break;
	}
	if (saw_eacces) {
		snprintf(err, errlen, "pool %s: cannot start \"%s\": %s "
		    "(found in PATH, not executable)", spec->name, name,
		    strerror(EACCES));
		return (-EACCES);
	}
	snprintf(err, errlen, "pool %s: cannot start \"%s\": %s (not found in "
	    "PATH=%s)", spec->name, name, strerror(ENOENT), pathvar);
	return (-ENOENT);
}

/* The message for a failed spawn, with a hint for the limits. */
static void
worker_spawn_error(struct slot *s, int error, int stage, const char *path)
{
	struct pool	*p = s->pool;
	struct engine	*e = p->engine;
	struct rlimit	 rl;
	const char	*name = p->spec.name;

	switch (error) {
	case EMFILE:
		getrlimit(RLIMIT_NOFILE, &rl);
		engine_set_error(e, "pool %s: cannot start worker: too many "
		    "open files (limit %llu); raise it with ulimit -n (verify "
		    "if you hit the OS open files limit)", name,
		    (unsigned long long)rl.rlim_cur);
		return;
	case ENFILE:
		engine_set_error(e, "pool %s: cannot start worker: the system "
		    "has too many open files (fs.file-max); verify if you hit "
		    "the OS open files limit", name);
		return;
	case EAGAIN:
		getrlimit(RLIMIT_NPROC, &rl);
		engine_set_error(e, "pool %s: cannot start worker: too many "
		    "processes (limit %llu); raise it with ulimit -u "
		    "(verify if you hit the OS process limit, or "
		    "kernel.pid_max)", name, (unsigned long long)rl.rlim_cur);
		return;
	case ENOMEM:
		engine_set_error(e, "pool %s: cannot start worker: out of "
		    "memory", name);
		return;
	}
	switch (stage) {
	case STAGE_CHDIR:
		engine_set_error(e, "pool %s: cannot start \"%s\": cannot "
		    "change to directory \"%s\": %s", name, path, p->spec.cwd,
		    strerror(error));
		break;
	case STAGE_PDEATHSIG:
	case STAGE_FDS:
		engine_set_error(e, "pool %s: cannot start \"%s\": cannot set "
		    "up the new process: %s", name, path, strerror(error));
		break;
	case STAGE_PARENT:
		engine_set_error(e, "pool %s: cannot start \"%s\": pooltop "
		    "exited during the start", name, path);
		break;
	default:
		engine_set_error(e, "pool %s: cannot start \"%s\": %s", name,
		    path, strerror(error));
		break;
	}
}

/*
 * The child, on its own stack, sharing the parent's memory until exec:
 * only raw system calls here (no allocation, no libc state, no
 * sanitizer hooks), and nothing written to memory but its own stack and
 * a->err/a->stage.  Signals were blocked by the parent so that none of
 * its handlers can run here; dispositions go back to default before
 * the mask is cleared.
 */
NO_ASAN static int
worker_child(void *arg)
{
	struct spawn_args	*a = arg;
	struct kernel_sigaction	 sa;
	uint64_t		 empty = 0;
	int			 fds[6], i, fd, stage;

	memset(&sa, 0, sizeof sa);	/* SIG_DFL, no flags */
	for (i = 1; i <= 64; i++) {
		if (i != SIGKILL && i != SIGSTOP)
			syscall(SYS_rt_sigaction, i, &sa, NULL, 8);
	}

	/*
	 * Die with pooltop.  If pooltop died between clone and here, the
	 * parent-death signal was never armed: check that the parent is
	 * still the one that started us.
	 */
	stage = STAGE_PDEATHSIG;
	if (syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		goto fail;
	stage = STAGE_PARENT;
	if (syscall(SYS_getppid) != a->ppid)
		goto fail;
	/* Its own process group: a terminal's ^C goes to pooltop only. */
	syscall(SYS_setpgid, 0, 0);

	/*
	 * Put the pipes on 0..4.  A source fd may itself be one of 0..4 (an
	 * embedding program with stdin closed): move every source above
	 * SPAWN_FD_FLOOR first so that no dup2 overwrites a source still
	 * to be placed.
	 */
	stage = STAGE_FDS;
	for (i = 0; i < a->nfds; i++) {
		fd = syscall(SYS_fcntl, a->fds[i], F_DUPFD_CLOEXEC,
		    SPAWN_FD_FLOOR);
		if (fd < 0)
			goto fail;
		fds[i] = fd;
	}
	for (i = 0; i < a->nfds; i++) {
		if (syscall(SYS_dup3, fds[i], i, 0) < 0)
			goto fail;
	}
	/* Nothing else leaks into the worker (before Linux 5.11: no-op). */
	syscall(SYS_close_range, (unsigned)a->nfds, ~0U, CLOSE_RANGE_CLOEXEC);
	if (a->set_nofile)
		syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &a->nofile, NULL);

	stage = STAGE_CHDIR;
	if (a->cwd != NULL && syscall(SYS_chdir, a->cwd) != 0)
		goto fail;

	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, 8);
	stage = STAGE_EXEC;
	syscall(SYS_execve, a->path, a->argv, a->envp);
fail:
	a->err = errno;
	a->stage = stage;
	syscall(SYS_exit_group, 127);
	return (127);
}

/*
 * The environment of a worker: pooltop's, the pool's, POOLTOP_WORKER.
 * The strings from *owned on are ours (worker_envp_free frees them).
 */
static char **
worker_envp(const struct slot *s, size_t *owned)
{
	const struct pool_spec	*spec = &s->pool->spec;
	char			**envp;
	size_t			 n = 0, i, j, k = 0, nlen;
	bool			 skip;

	for (i = 0; environ != NULL && environ[i] != NULL; i++)
		n++;
	envp = engine_xalloc((n + spec->nenv + 4) * sizeof *envp);
	for (i = 0; i < n; i++) {
		skip = strncmp(environ[i], "POOLTOP_WORKER=", 15) == 0 ||
		    strncmp(environ[i], "POOLTOP_LOCKS", 13) == 0;
		for (j = 0; j < spec->nenv && !skip; j++) {
			nlen = strlen(spec->env[j].name);
			if (strncmp(environ[i], spec->env[j].name, nlen) == 0 &&
			    environ[i][nlen] == '=')
				skip = true;
		}
		if (!skip)
			envp[k++] = environ[i];
	}
	*owned = k;
	for (j = 0; j < spec->nenv; j++) {
		if (spec->env[j].value == NULL)
			continue;
		envp[k++] = engine_xprintf("%s=%s", spec->env[j].name,
		    spec->env[j].value);
	}
	envp[k++] = engine_xprintf("POOLTOP_WORKER=%s/%d", spec->name,
	    s->index);
	if (s->pool->locks != NULL) {
		/* The lock region (lock.c), inherited on that fd. */
		envp[k++] = engine_xprintf("POOLTOP_LOCKS_FD=%d",
		    lockset_child_fd(s->pool));
		envp[k++] = engine_xprintf("POOLTOP_LOCKS=%s",
		    lockset_names(s->pool->locks));
	}
	envp[k] = NULL;
	return (envp);
}

static void
worker_envp_free(char **envp, size_t owned)
{
	size_t	i;

	for (i = owned; envp[i] != NULL; i++)
		free(envp[i]);
	free(envp);
}

static void
close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

/* Opens a uv_pipe_t on fd and counts the handle; -errno on failure. */
static int
worker_pipe_open(struct worker *w, uv_pipe_t *h, int fd)
{
	int	r;

	uv_pipe_init(w->engine->loop, h, 0);
	h->data = w;
	w->nopen++;
	w->engine->nhandles++;
	r = uv_pipe_open(h, fd);
	if (r != 0)
		close(fd);
	return (r);
}

/*
 * Starts a process in the slot: pipes, clone(CLONE_VM|CLONE_VFORK) like
 * posix_spawn, exec; then a pidfd (the child cannot have been reaped
 * yet, so the pid is exact) and the libuv handles.  A failure before the
 * process exists returns -errno with the message in engine_error() and
 * leaves nothing open.
 */
int
worker_spawn(struct slot *s, struct worker **out)
{
	struct pool		*p = s->pool;
	struct engine		*e = p->engine;
	const struct pool_spec	*spec = &p->spec;
	struct spawn_args	 a;
	struct worker		*w;
	sigset_t		 all, old;
	char			 errbuf[512], **envp, *path = NULL;
	size_t			 owned;
	int			 req[2] = { -1, -1 }, rep[2] = { -1, -1 };
	int			 out_[2] = { -1, -1 }, err_[2] = { -1, -1 };
	int			 devnull = -1, pidfd, r, error;
	bool			 protocol = spec->mode != POOL_MODE_SERVICE;
	pid_t			 pid;

	*out = NULL;
	r = worker_resolve(spec, &path, errbuf, sizeof errbuf);
	if (r != 0) {
		engine_set_error(e, "%s", errbuf);
		return (r);
	}
	if (pipe2(out_, O_CLOEXEC) != 0 || pipe2(err_, O_CLOEXEC) != 0 ||
	    (protocol && (pipe2(req, O_CLOEXEC) != 0 ||
	    pipe2(rep, O_CLOEXEC) != 0)) ||
	    (devnull = open("/dev/null", O_RDONLY|O_CLOEXEC)) < 0) {
		error = errno;
		worker_spawn_error(s, error, STAGE_OK, path);
		goto fail;
	}

	memset(&a, 0, sizeof a);
	a.path = path;
	a.argv = spec->argv;
	envp = worker_envp(s, &owned);
	a.envp = envp;
	a.cwd = spec->cwd;
	a.fds[0] = devnull;
	a.fds[1] = out_[1];
	a.fds[2] = err_[1];
	a.nfds = 3;
	if (protocol) {
		a.fds[PROTO_FD_REQUESTS] = req[0];
		a.fds[PROTO_FD_REPLIES] = rep[1];
		a.nfds = 5;
	}
	if (p->locks != NULL)	/* fd 5, or 3 in a service (lockset_child_fd) */
		a.fds[a.nfds++] = lockset_fd(p->locks);
	a.ppid = getpid();
	if (nofile_raised) {
		a.set_nofile = true;
		a.nofile = nofile_orig;
	}

	/*
	 * Block every signal so that no handler of ours runs in the child
	 * while it shares our memory; the child resets dispositions and
	 * its mask before exec.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = clone(worker_child, (char *)e->clone_stack + e->clone_stack_size,
	    CLONE_VM|CLONE_VFORK|SIGCHLD, &a);
	error = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	worker_envp_free(envp, owned);

	close(devnull);
	devnull = -1;
	close(out_[1]);
	close(err_[1]);
	out_[1] = err_[1] = -1;
	if (protocol) {
		close(req[0]);
		close(rep[1]);
		req[0] = rep[1] = -1;
	}
	if (pid < 0) {
		worker_spawn_error(s, error, STAGE_OK, path);
		goto fail;
	}
	if (a.stage != STAGE_OK) {
		/* Our own child, already exited: reaping it by pid is exact. */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		error = a.err;
		worker_spawn_error(s, error, a.stage, path);
		goto fail;
	}
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0 && errno != ENOSYS) {
		error = errno;
		/*
		 * The child is ours and unreaped, so its pid cannot have
		 * been reused: signalling the bare pid is exact here.
		 */
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		engine_set_error(e, "pool %s: cannot open a pidfd for the "
		    "new worker: %s", spec->name, strerror(error));
		goto fail;
	}
	/*
	 * ENOSYS (Linux before 5.3, or valgrind, which does not know
	 * pidfd_open): the worker is handled by its pid, which stays exact
	 * because the pid of a child nobody reaped cannot be reused and
	 * the engine reaps its workers by pid only (never waitpid(-1)).
	 * Only another part of the program reaping our children with
	 * waitpid(-1) could break that; with a pidfd nothing can.
	 */
	if (pidfd >= 0)
		fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	free(path);
	path = NULL;

	w = engine_xalloc(sizeof *w);
	memset(w, 0, sizeof *w);
	w->engine = e;
	w->pool = p;
	w->slot = s;
	w->pid = pid;
	w->pidfd = pidfd;
	w->protocol = protocol;
	w->service = !protocol;
	w->started_ms = engine_wall_ms();
	w->started_loop = uv_now(e->loop);
	w->state = WORKER_STARTING;
	TAILQ_INIT(&w->pending);
	LIST_INIT(&w->pins);
	if (protocol) {
		uint32_t	size = 4;

		while (size < 2 * spec->parallel_jobs + 2)
			size <<= 1;
		w->table = engine_xalloc(size * sizeof *w->table);
		memset(w->table, 0, size * sizeof *w->table);
		w->mask = size - 1;
		w->next_wid = 1;
	}
	TAILQ_INSERT_TAIL(&e->live, w, live_link);

	/* Its deadlines are idle as zeroed (on the engine's queue). */
	lifecycle_init(w);
	r = worker_pipe_open(w, &w->out, out_[0]);
	if (r == 0)
		r = uv_read_start((uv_stream_t *)&w->out, worker_log_alloc_cb,
		    worker_log_read_cb);
	out_[0] = -1;
	if (r == 0)
		r = worker_pipe_open(w, &w->err, err_[0]);
	err_[0] = -1;
	if (r == 0)
		r = uv_read_start((uv_stream_t *)&w->err, worker_log_alloc_cb,
		    worker_log_read_cb);
	if (protocol) {
		if (r == 0) {
			r = worker_pipe_open(w, &w->req, req[1]);
			w->req_open = r == 0;
		} else
			close(req[1]);
		req[1] = -1;
		if (r == 0)
			r = worker_pipe_open(w, &w->rep, rep[0]);
		else
			close(rep[0]);
		rep[0] = -1;
		if (r == 0)
			r = uv_read_start((uv_stream_t *)&w->rep,
			    worker_rep_alloc_cb, worker_rep_read_cb);
	}
	*out = w;
	if (r != 0) {
		/* The process runs but cannot be watched: end it. */
		char	why[128];

		snprintf(why, sizeof why, "cannot watch its pipes: %s",
		    uv_strerror(r));
		worker_kill(w, STOP_FAILURE, why);
		return (0);
	}
	if (protocol && spec->handshake_ms != 0)
		deadline_start(&e->deadlines, &w->deadline, spec->handshake_ms,
		    worker_deadline_cb);
	return (0);

fail:
	if (devnull >= 0)
		close(devnull);
	close_pair(req);
	close_pair(rep);
	close_pair(out_);
	close_pair(err_);
	free(path);
	return (-error);
}

/*
 * Sends a signal through the pidfd: a reused pid can never be hit.
 * Without pidfds (see worker_spawn), the pid of our unreaped child.
 */
int
worker_signal(struct worker *w, int sig)
{
	if (w->exited)
		return (-ESRCH);
	if (w->pidfd < 0) {
		if (kill(w->pid, sig) != 0)
			return (-errno);
		return (0);
	}
	if (syscall(SYS_pidfd_send_signal, w->pidfd, sig, NULL, 0) != 0)
		return (-errno);
	return (0);
}

/* Recomputes the state shown for the worker. */
void
worker_set_state(struct worker *w)
{
	if (w->exited)
		w->state = WORKER_EXITED;
	else if (w->stopping)
		w->state = WORKER_STOPPING;
	else if (w->sleeping)
		w->state = WORKER_SLEEPING;
	else if (!w->hello && !w->service)
		w->state = WORKER_STARTING;
	else if (w->in_flight != 0)
		w->state = WORKER_BUSY;
	else
		w->state = WORKER_IDLE;
}

/*
 * Writes a task to the worker: takes the next id whose place in the
 * in-flight table is free (ids increase, skipping places still held by
 * an old task, so a lookup by id is one array access), encodes the
 * request into the output buffer and marks the worker for the flush at
 * the end of this loop turn.
 */
void
worker_start_task(struct worker *w, struct task *t)
{
	struct pool	*p = w->pool;
	struct buf	*b = &w->obuf;
	size_t		 need = PROTO_REQUEST_HEADER(t->name_len) + t->len;
	uint32_t	 wid;

	if (w->sleeping)
		lifecycle_wake(w, "woken for a task");
	do {
		wid = w->next_wid++;
	} while (wid == 0 || w->table[wid & w->mask] != NULL);
	w->table[wid & w->mask] = t;
	t->in_table = true;
	t->wid = wid;
	t->w = w;
	t->where = TASK_INFLIGHT;
	if (w->in_flight++ == 0) {
		lifecycle_busy(w);
		w->state = WORKER_BUSY;
	}

	/*
	 * pool_send checked the name (1..255 bytes from strlen: no NUL) and
	 * the frame size, so the unchecked encoder is safe here.
	 */
	if (b->cap - b->len < need)
		buf_reserve(b, need);
	b->len += proto_put_request_header(b->p + b->len, wid, t->name,
	    t->name_len, t->len);
	proto_copy(b->p + b->len, t->payload, t->len);
	b->len += t->len;
	if (!w->dirty)
		engine_mark_dirty(w->engine, w);
	pool_slot_started(p, w);
	if (engine_listened(p->engine))
		pool_task_started(p, t);
}

/* Gives a task to this worker: now if it has room, else in its own list. */
void
worker_assign(struct worker *w, struct task *t)
{
	if (w->in_flight < w->pool->spec.parallel_jobs &&
	    TAILQ_EMPTY(&w->pending)) {
		worker_start_task(w, t);
		return;
	}
	t->where = TASK_PENDING;
	t->w = w;
	TAILQ_INSERT_TAIL(&w->pending, t, link);
	w->npending++;
	w->pool->npending++;
}

/*
 * Writes what is buffered: uv_try_write first (most turns it all goes at
 * once), uv_write for the rest, one write under way at a time; requests
 * made meanwhile wait in obuf and go in the write callback.
 */
void
worker_flush(struct worker *w)
{
	struct buf	 tmp;
	uv_buf_t	 b;
	int		 r;

	if (w->writing || w->obuf.len == 0 || !w->req_open)
		return;
	b = uv_buf_init((char *)w->obuf.p, (unsigned)w->obuf.len);
	r = uv_try_write((uv_stream_t *)&w->req, &b, 1);
	if (r >= 0 && (size_t)r == w->obuf.len) {
		w->obuf.len = 0;
		if (w->obuf.cap > (1u << 20))
			buf_free(&w->obuf);
		return;
	}
	if (r < 0 && r != UV_EAGAIN) {
		/*
		 * EPIPE: the worker closed fd 3 or is exiting.  Its exit
		 * ends the tasks; one that lives on without reading its
		 * requests is killed after a grace period (nothing hangs).
		 */
		w->obuf.len = 0;
		if (!w->req_broken && !w->stopping && !w->exited)
			deadline_start(&w->engine->deadlines, &w->deadline,
			    1000, worker_deadline_cb);
		w->req_broken = true;
		pool_slot_update(w->pool, w);
		return;
	}
	if (r < 0)
		r = 0;
	tmp = w->wbuf;
	w->wbuf = w->obuf;
	w->obuf = tmp;
	w->obuf.len = 0;
	memmove(w->wbuf.p, w->wbuf.p + r, w->wbuf.len - r);
	w->wbuf.len -= r;
	b = uv_buf_init((char *)w->wbuf.p, (unsigned)w->wbuf.len);
	/* Only under back-pressure: not a request object per idle worker. */
	w->wreq = engine_xalloc(sizeof *w->wreq);
	if (uv_write(w->wreq, (uv_stream_t *)&w->req, &b, 1,
	    worker_write_cb) == 0)
		w->writing = true;
	else {
		free(w->wreq);
		w->wreq = NULL;
		w->wbuf.len = 0;
	}
}

static void
worker_write_cb(uv_write_t *req, int status)
{
	struct worker	*w = req->handle->data;

	free(w->wreq);
	w->wreq = NULL;
	w->writing = false;
	w->wbuf.len = 0;
	if (w->wbuf.cap > WORKER_BUF_KEEP)
		buf_free(&w->wbuf);
	if (status < 0)
		return;		/* cancelled at close, or EPIPE */
	if (w->obuf.len != 0)
		worker_flush(w);
}

/*
 * Frees the buffers of a worker with nothing pending in them: called on
 * the sampler's tick, so a busy worker keeps its buffers between turns
 * and a quiet one (most of a thousand) holds none.
 */
void
worker_trim(struct worker *w)
{
	if (w->obuf.len == 0)
		buf_free(&w->obuf);
	if (!w->writing)
		buf_free(&w->wbuf);
	if (w->ibuf.len == 0 && !w->exited)
		buf_free(&w->ibuf);
}

/* Stops reading replies and kills the worker for a protocol violation. */
static void
worker_protocol_error(struct worker *w, const char *fmt, ...)
{
	char	 label[300], what[512], reason[600];
	va_list	 ap;

	if (w->bad && w->reason != NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	w->bad = true;
	if (w->protocol && !w->exited)
		uv_read_stop((uv_stream_t *)&w->rep);
	snprintf(reason, sizeof reason, "protocol error: %s", what);
	pool_note(w->pool, w->slot, w, "%s: %s; restarting",
	    worker_label(w, label, sizeof label), reason);
	worker_kill(w, STOP_FAILURE, reason);
}

/* A RESULT or ERROR frame: the task in flight with that id ends. */
static void
worker_reply(struct worker *w, const struct proto_msg *m)
{
	struct task	*t = w->table[m->id & w->mask];
	struct pool	*p = w->pool;

	if (t == NULL || t->wid != m->id) {
		worker_protocol_error(w, "reply for id %u, which is not in "
		    "flight", m->id);
		return;
	}
	w->table[m->id & w->mask] = NULL;
	t->in_table = false;
	w->in_flight--;
	if (t->timed_out) {
		/* Answered at the timeout: drop the late reply. */
		w->zombies--;
		p->late_replies++;
		pool_task_late_end(t);
	} else
		pool_task_finish(t, m->type == PROTO_RESULT, m->data,
		    m->data_len);

	if (w->stopping || w->exited) {
		/* Exited: its last replies, read after it died. */
		worker_check_drained(w);
		pool_slot_update(p, w);
		return;
	}
	while (!TAILQ_EMPTY(&w->pending) &&
	    w->in_flight < p->spec.parallel_jobs) {
		t = TAILQ_FIRST(&w->pending);
		TAILQ_REMOVE(&w->pending, t, link);
		w->npending--;
		w->pool->npending--;
		worker_start_task(w, t);
	}
	if (w->in_flight == 0) {
		w->state = w->sleeping ? WORKER_SLEEPING : WORKER_IDLE;
		lifecycle_idle(w);
	}
	pool_slot_in_flight(p, w);
	if (p->nqueued != 0)
		pool_dispatch(p);
}

/* A HELLO frame: the worker is ready and says which tasks it serves. */
static void
worker_hello(struct worker *w, const struct proto_msg *m)
{
	struct pool	*p = w->pool;
	char		 label[300];
	bool		 was_service = w->service;

	if (w->hello) {
		worker_protocol_error(w, "a second handshake");
		return;
	}
	w->hello = true;
	w->service = false;
	if (!w->stopping)
		deadline_stop(&w->engine->deadlines, &w->deadline);
	pool_set_served(p, m);
	if (was_service)
		pool_note(p, w->slot, w, "%s: answered the handshake late; "
		    "now a worker", worker_label(w, label, sizeof label));
	pool_worker_ready(p, w, was_service);
}

/*
 * Decodes every complete frame in buf; returns the bytes consumed (a
 * partial frame at the end stays for the next read).  Results point into
 * buf: the caller drains the due callbacks before reusing it.
 */
static size_t
worker_frames(struct worker *w, const uint8_t *buf, size_t len)
{
	struct proto_msg m;
	size_t		 off = 0, flen;
	int		 r;

	while (off < len && !w->bad) {
		/* Most frames are whole replies: those skip the full decoder. */
		if (w->hello &&
		    (flen = proto_peek_reply(buf + off, len - off, &m)) != 0) {
			w->ibuf_need = 0;
			off += flen;
			worker_reply(w, &m);
			continue;
		}
		flen = 0;
		r = proto_decode(buf + off, len - off, PROTO_MAX_FRAME, &m,
		    &flen);
		if (r == PROTO_NEED_MORE) {
			w->ibuf_need = flen;
			break;
		}
		if (r < 0) {
			if (r == PROTO_ETOOBIG && len - off >= 4) {
				const uint8_t *b = buf + off;
				uint32_t flen32 = (uint32_t)b[0] << 24 |
				    (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
				    b[3];

				worker_protocol_error(w, "%s %u (max %u)",
				    proto_strerror(r), flen32,
				    (unsigned)PROTO_MAX_FRAME);
			} else
				worker_protocol_error(w, "%s",
				    proto_strerror(r));
			break;
		}
		w->ibuf_need = 0;
		off += flen;
		switch (m.type) {
		case PROTO_HELLO:
			worker_hello(w, &m);
			break;
		case PROTO_RESULT:
		case PROTO_ERROR:
			if (!w->hello) {
				worker_protocol_error(w, "a reply before the "
				    "handshake");
				break;
			}
			worker_reply(w, &m);
			break;
		case PROTO_LOCK:
		case PROTO_UNLOCK:
			if (!w->hello) {
				worker_protocol_error(w, "a lock request "
				    "before the handshake");
				break;
			}
			lock_frame(w, &m);
			break;
		default:
			worker_protocol_error(w, "unexpected frame type %d "
			    "from a worker", (int)m.type);
			break;
		}
	}
	return (w->bad ? len : off);
}

/* Makes room in ibuf for total bytes, exactly (it holds one frame). */
static void
worker_ibuf_reserve(struct worker *w, size_t total)
{
	uint8_t	*p;

	if (w->ibuf.cap >= total)
		return;
	p = realloc(w->ibuf.p, total);
	if (p == NULL) {
		fprintf(stderr, "pooltop: out of memory (%zu bytes)\n", total);
		abort();
	}
	w->ibuf.p = p;
	w->ibuf.cap = total;
}

/*
 * The size of the frame begun in ibuf once its length field is in, or 0:
 * unknown yet, or a length the decoder will refuse (then what is there is
 * handed to it as it is).
 */
static size_t
worker_partial_size(const struct worker *w)
{
	uint32_t	flen;

	if (w->ibuf.len < PROTO_LEN_SIZE)
		return (0);
	flen = proto_get32(w->ibuf.p);
	if (flen == 0 || flen > PROTO_MAX_FRAME)
		return (0);
	return (PROTO_LEN_SIZE + (size_t)flen);
}

/*
 * Reads go into the engine's scratch buffer, one for the whole loop: a
 * worker keeps bytes of its own only for a frame cut by the end of a read,
 * in a buffer the size of that frame, freed once the frame is complete.
 * The rest of a frame larger than the scratch buffer is read straight
 * into its own buffer.
 */
static void
worker_rep_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct worker	*w = h->data;
	size_t		 size = worker_partial_size(w);

	if (size != 0 && size - w->ibuf.len > ENGINE_SCRATCH_SIZE) {
		worker_ibuf_reserve(w, size);
		*buf = uv_buf_init((char *)w->ibuf.p + w->ibuf.len,
		    (unsigned)(size - w->ibuf.len));
		return;
	}
	*buf = uv_buf_init((char *)w->engine->scratch, ENGINE_SCRATCH_SIZE);
	(void)suggested;
}

/*
 * Moves from p the bytes that complete the frame begun in ibuf (its length
 * field first, then the rest); returns the bytes taken.  The frame is
 * complete when the length field is in and ibuf reaches its size (or the
 * length is one the decoder will refuse).
 */
static size_t
worker_fill_partial(struct worker *w, const uint8_t *p, size_t len,
    bool *complete)
{
	size_t	taken = 0, want, take;

	*complete = false;
	while (taken < len) {
		if (w->ibuf.len < PROTO_LEN_SIZE)
			want = PROTO_LEN_SIZE;
		else if ((want = worker_partial_size(w)) == 0 ||
		    w->ibuf.len == want)
			break;		/* whole, or a bad length: decode it */
		take = want - w->ibuf.len;
		if (take > len - taken)
			take = len - taken;
		worker_ibuf_reserve(w, w->ibuf.len + take);
		memcpy(w->ibuf.p + w->ibuf.len, p + taken, take);
		w->ibuf.len += take;
		taken += take;
	}
	if (w->ibuf.len >= PROTO_LEN_SIZE) {
		want = worker_partial_size(w);
		*complete = want == 0 || w->ibuf.len == want;
	}
	return (taken);
}

/*
 * Decodes the frame completed in ibuf and runs its callback; a buffer
 * grown for a large frame goes at once, a small one stays for the next
 * cut frame (worker_trim frees it once the worker is quiet).
 */
static void
worker_partial_done(struct worker *w)
{
	worker_frames(w, w->ibuf.p, w->ibuf.len);
	/* The results point into ibuf: their callbacks run before it goes. */
	engine_drain(w->engine);
	w->ibuf.len = 0;
	if (w->ibuf.cap > WORKER_BUF_KEEP)
		buf_free(&w->ibuf);
}

static void
worker_rep_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct worker	*w = st->data;
	struct engine	*e = w->engine;
	const uint8_t	*p = e->scratch;
	size_t		 len = (size_t)nread, used, take;
	bool		 complete;

	if (nread == 0)
		return;
	if (nread < 0) {
		/* EOF: it closed fd 4 or exited; the exit comes by SIGCHLD. */
		uv_read_stop(st);
		return;
	}
	if (w->bad)
		return;
	if ((uint8_t *)buf->base != e->scratch) {
		/* More of a large frame, read in place. */
		w->ibuf.len += len;
		if (w->ibuf.len == worker_partial_size(w)) {
			worker_partial_done(w);
			engine_flush(e);
		}
		return;
	}
	if (w->ibuf.len != 0) {
		take = worker_fill_partial(w, p, len, &complete);
		if (!complete)
			return;		/* all of it went into the frame */
		p += take;
		len -= take;
		worker_partial_done(w);
	}
	used = worker_frames(w, p, len);
	engine_drain(e);
	/*
	 * The callbacks just run made new requests (one batch per batch
	 * of replies): write them now rather than after the other workers'
	 * replies of this turn, so this worker works while we read theirs.
	 */
	engine_flush(e);
	if (w->bad) {
		buf_free(&w->ibuf);
		return;
	}
	if (used < len) {
		/* A frame cut by the end of the read: kept for the next. */
		worker_ibuf_reserve(w, len - used);
		memcpy(w->ibuf.p, p + used, len - used);
		w->ibuf.len = len - used;
	}
}

/* Records one line of a worker's output. */
static void
worker_log_emit(struct worker *w, int stream, const char *text, size_t len)
{
	if (!guard_log_line(w, stream))
		return;		/* flooding: guard.c */
	if (len != 0 && text[len - 1] == '\r')
		len--;
	pool_log_line(w->slot, w, (enum log_stream)stream, text, len);
}

/*
 * A partial line waits for its newline at most ENGINE_LOG_PARTIAL_MS
 * from when it began (a prompt with no newline still shows), counted
 * once: more bytes without a newline do not push the deadline back.
 */
static void
worker_log_arm(struct worker *w)
{
	bool	partial = w->line_len[0] != 0 || w->line_len[1] != 0;

	if (w->exited)
		return;
	if (partial && !deadline_armed(&w->line_deadline))
		deadline_start(&w->engine->deadlines, &w->line_deadline,
		    ENGINE_LOG_PARTIAL_MS, worker_line_deadline_cb);
	else if (!partial)
		deadline_stop(&w->engine->deadlines, &w->line_deadline);
}

/*
 * Splits output into lines: complete lines go out as they are, a partial
 * line waits for its newline, and a line reaching ENGINE_LOG_LINE_MAX
 * is cut there (the rest starts a new line).
 */
static void
worker_log_feed(struct worker *w, int stream, const char *data, size_t len)
{
	int		 i = stream - 1;
	const char	*nl;
	size_t		 take, room;

	while (len != 0) {
		nl = memchr(data, '\n', len);
		take = nl != NULL ? (size_t)(nl - data) : len;
		if (w->line_len[i] == 0 && nl != NULL &&
		    take <= ENGINE_LOG_LINE_MAX) {
			worker_log_emit(w, stream, data, take);
			data += take + 1;
			len -= take + 1;
			continue;
		}
		if (w->line[i] == NULL)
			w->line[i] = engine_xalloc(ENGINE_LOG_LINE_MAX);
		room = ENGINE_LOG_LINE_MAX - w->line_len[i];
		if (take >= room) {
			memcpy(w->line[i] + w->line_len[i], data, room);
			worker_log_emit(w, stream, w->line[i],
			    ENGINE_LOG_LINE_MAX);
			w->line_len[i] = 0;
			data += room;
			len -= room;
			continue;
		}
		memcpy(w->line[i] + w->line_len[i], data, take);
		w->line_len[i] += take;
		data += take;
		len -= take;
		if (nl != NULL) {
			worker_log_emit(w, stream, w->line[i], w->line_len[i]);
			w->line_len[i] = 0;
			data++;
			len--;
		}
	}
	worker_log_arm(w);
}

/* Emits what is left of a partial line (at EOF or exit). */
static void
worker_log_finish(struct worker *w, int stream)
{
	int	i = stream - 1;

	if (w->line_len[i] != 0) {
		worker_log_emit(w, stream, w->line[i], w->line_len[i]);
		w->line_len[i] = 0;
	}
}

/*
 * A partial line waited ENGINE_LOG_PARTIAL_MS.  What the worker wrote
 * meanwhile is read first (a loop that was busy may not have read it
 * yet): if that ends the line, it goes out whole; if nothing ended it,
 * it goes out as it is, as a line.
 */
static void
worker_line_deadline_cb(struct deadline *d)
{
	struct worker	*w = container_of(d, struct worker, line_deadline);
	uint64_t	 before;
	int		 stream;

	for (stream = LOG_STDOUT; stream <= LOG_STDERR; stream++) {
		if (w->line_len[stream - 1] == 0)
			continue;
		before = ring_log_next(w->slot->log);
		worker_drain_fd(w, stream == LOG_STDOUT ? &w->out : &w->err,
		    stream);
		if (ring_log_next(w->slot->log) == before)
			worker_log_finish(w, stream);
	}
	worker_log_arm(w);
	engine_drain(w->engine);
}

static void
worker_log_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct worker	*w = h->data;

	*buf = uv_buf_init((char *)w->engine->scratch, ENGINE_SCRATCH_SIZE);
	(void)suggested;
}

static void
worker_log_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct worker	*w = st->data;
	int		 stream = st == (uv_stream_t *)&w->out ? LOG_STDOUT :
			    LOG_STDERR;

	if (nread == 0)
		return;
	if (nread < 0) {
		uv_read_stop(st);
		worker_log_finish(w, stream);
		engine_drain(w->engine);
		return;
	}
	worker_log_feed(w, stream, buf->base, (size_t)nread);
	engine_drain(w->engine);
}

/*
 * The worker's deadline: the handshake grace while it starts, then the
 * stop deadlines (drain, then SIGKILL), or the grace after it stopped
 * reading its requests.
 */
static void
worker_deadline_cb(struct deadline *d)
{
	struct worker	*w = container_of(d, struct worker, deadline);
	struct pool	*p = w->pool;
	char		 label[300], why[200];

	if (w->exited)
		return;
	if (w->stopping) {
		if (!w->termed)
			worker_term(w);
		else {
			snprintf(why, sizeof why, "did not exit within %llu ms "
			    "of signal %d", (unsigned long long)
			    p->spec.stop_timeout_ms, p->spec.stop_signal);
			pool_note(p, w->slot, w, "%s: %s; killing it",
			    worker_label(w, label, sizeof label), why);
			worker_signal(w, SIGKILL);
		}
	} else if (w->req_broken) {
		worker_kill(w, STOP_FAILURE, "it closed its request pipe "
		    "(fd 3) but did not exit");
	} else if (!w->hello && !w->service) {
		if (p->spec.mode == POOL_MODE_WORKER) {
			snprintf(why, sizeof why, "no handshake within %llu ms",
			    (unsigned long long)p->spec.handshake_ms);
			/* A reload's new process is not restarted. */
			pool_note(p, w->slot, w, "%s: %s; %s",
			    worker_label(w, label, sizeof label), why,
			    w->slot->w == w ? "restarting" : "killing it");
			worker_kill(w, STOP_FAILURE, why);
		} else
			pool_worker_service(p, w);
	}
	engine_drain(w->engine);
}

/*
 * Ends a stopping worker: closes its request pipe (a worker built on
 * libpooltop-host returns at EOF) and sends the stop signal, then gives
 * it stop_timeout before SIGKILL.  A stopped (SIGSTOP) worker cannot act
 * on the signal: it gets SIGCONT too.
 */
static void
worker_term(struct worker *w)
{
	const struct pool_spec *spec = &w->pool->spec;

	w->termed = true;
	if (w->req_open) {
		w->req_open = false;
		uv_close((uv_handle_t *)&w->req, worker_handle_close_cb);
	}
	worker_signal(w, spec->stop_signal);
	/* Our own SIGCONT: awake now, so the log does not say "from outside". */
	if (w->sleeping)
		lifecycle_wake(w, "continued so that it acts on its stop "
		    "signal");
	deadline_start(&w->engine->deadlines, &w->deadline,
	    spec->stop_timeout_ms != 0 ? spec->stop_timeout_ms : 1,
	    worker_deadline_cb);
}

/*
 * Begins a graceful stop: no new tasks; tasks waiting in its own list
 * go back to the pool; in-flight tasks get stop_timeout to finish before
 * the stop signal.
 */
void
worker_stop(struct worker *w, enum stop_why why, const char *reason)
{
	struct pool	*p = w->pool;
	struct task	*t;

	if (w->exited)
		return;
	if (w->stopping) {
		if (why == STOP_POOL || why == STOP_SCALE)
			w->stop_why = why;
		return;
	}
	w->stopping = true;
	w->stop_why = why;
	if (reason != NULL && w->reason == NULL)
		w->reason = engine_xstrdup(reason);
	pool_worker_stopping(p, w);
	lifecycle_busy(w);
	while ((t = TAILQ_LAST(&w->pending, task_list)) != NULL) {
		TAILQ_REMOVE(&w->pending, t, link);
		w->npending--;
		w->pool->npending--;
		t->w = NULL;
		if (t->bc != NULL || p->stopping) {
			char	label[300];

			if (p->stopping)
				pool_task_fail_static(t, "pool stopping");
			else
				pool_task_fail(t, engine_xprintf("worker %s "
				    "is stopping", worker_label(w, label,
				    sizeof label)));
		} else
			pool_task_requeue_front(p, t);
	}
	worker_set_state(w);
	pool_slot_update(p, w);
	if (!w->protocol || w->in_flight == w->zombies)
		worker_term(w);
	else
		deadline_start(&w->engine->deadlines, &w->deadline,
		    p->spec.stop_timeout_ms != 0 ? p->spec.stop_timeout_ms : 1,
		    worker_deadline_cb);
	if (p->nqueued != 0)
		pool_dispatch(p);
}

/* A stopping worker whose last live task ended gets its stop signal. */
void
worker_check_drained(struct worker *w)
{
	if (w->stopping && !w->termed && !w->exited &&
	    w->in_flight == w->zombies)
		worker_term(w);
}

/* SIGKILL now; after the exit the slot does what why says. */
void
worker_kill(struct worker *w, enum stop_why why, const char *reason)
{
	if (w->exited)
		return;
	if (reason != NULL && w->reason == NULL)
		w->reason = engine_xstrdup(reason);
	if (!w->stopping) {
		worker_stop(w, why, NULL);
		if (w->exited)
			return;
	} else if (why == STOP_POOL || why == STOP_SCALE)
		w->stop_why = why;
	w->termed = true;
	if (w->req_open) {
		w->req_open = false;
		uv_close((uv_handle_t *)&w->req, worker_handle_close_cb);
	}
	deadline_stop(&w->engine->deadlines, &w->deadline);
	worker_signal(w, SIGKILL);
}

/* Its deadlines are off: it exited, or is being freed. */
static void
worker_stop_deadlines(struct worker *w)
{
	struct deadline_queue	*q = &w->engine->deadlines;

	deadline_stop(q, &w->deadline);
	deadline_stop(q, &w->line_deadline);
	lifecycle_close(w);
}

/* The last close callback frees the worker. */
void
worker_handle_close_cb(uv_handle_t *h)
{
	struct worker	*w = h->data;
	struct engine	*e = w->engine;

	if (--w->nopen != 0) {
		engine_handle_closed(e);
		return;
	}
	/* Stopped at the exit already; nothing may fire on freed memory. */
	worker_stop_deadlines(w);
	buf_free(&w->obuf);
	buf_free(&w->wbuf);
	buf_free(&w->ibuf);
	free(w->line[0]);
	free(w->line[1]);
	free(w->table);
	free(w->reason);
	free(w);
	engine_handle_closed(e);
}

/* Reads what a dead worker left in a pipe (bounded), non-blocking. */
static void
worker_drain_fd(struct worker *w, uv_pipe_t *h, int stream)
{
	struct engine	*e = w->engine;
	uv_os_fd_t	 fd;
	size_t		 total = 0;
	ssize_t		 n;
	int		 avail;

	if (uv_fileno((uv_handle_t *)h, &fd) != 0)
		return;
	while (total < EXIT_DRAIN_MAX) {
		if (stream == 0) {
			/*
			 * Only what the pipe holds gets room: a thousand
			 * workers stopped at once must not each take a
			 * scratch-sized buffer.
			 */
			if (ioctl(fd, FIONREAD, &avail) != 0 || avail <= 0)
				break;
			if ((size_t)avail > EXIT_DRAIN_MAX - total)
				avail = (int)(EXIT_DRAIN_MAX - total);
			worker_ibuf_reserve(w, w->ibuf.len + (size_t)avail);
			n = read(fd, w->ibuf.p + w->ibuf.len, (size_t)avail);
			if (n > 0)
				w->ibuf.len += (size_t)n;
		} else {
			n = read(fd, e->scratch, ENGINE_SCRATCH_SIZE);
			if (n > 0)
				worker_log_feed(w, stream, (char *)e->scratch,
				    (size_t)n);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (size_t)n;
	}
}

/*
 * The worker exited (reaped by waitid on its pidfd).  What it wrote
 * before dying is read first, so replies that made it into the pipe
 * count and its last log lines come before the exit; then its handles
 * close and the pool ends or re-queues what it had in flight.
 */
static void
worker_exited(struct worker *w, int code, int status)
{
	struct engine	*e = w->engine;
	struct pool	*p = w->pool;

	w->exited = true;
	TAILQ_REMOVE(&e->live, w, live_link);
	if (w->dirty) {
		TAILQ_REMOVE(&e->dirty, w, dirty_link);
		w->dirty = false;
	}
	if (w->protocol && !w->bad) {
		/* Results point into ibuf, kept until the worker is freed. */
		worker_drain_fd(w, &w->rep, 0);
		worker_frames(w, w->ibuf.p, w->ibuf.len);
	}
	worker_drain_fd(w, &w->out, LOG_STDOUT);
	worker_drain_fd(w, &w->err, LOG_STDERR);
	worker_log_finish(w, LOG_STDOUT);
	worker_log_finish(w, LOG_STDERR);

	if (w->pidfd >= 0)
		close(w->pidfd);
	w->pidfd = -1;
	if (e->sampler != NULL)
		sampler_remove(e->sampler, w->pid);
	worker_stop_deadlines(w);
	uv_close((uv_handle_t *)&w->out, worker_handle_close_cb);
	uv_close((uv_handle_t *)&w->err, worker_handle_close_cb);
	if (w->protocol) {
		if (w->req_open) {
			w->req_open = false;
			uv_close((uv_handle_t *)&w->req,
			    worker_handle_close_cb);
		}
		uv_close((uv_handle_t *)&w->rep, worker_handle_close_cb);
	}
	worker_set_state(w);
	pool_worker_gone(p, w, code, status);
}

/*
 * Collects what waitid reports for this worker through its pidfd: exits,
 * and stops and continues from anyone (kill -STOP from a shell is a
 * sleep, not a death).  P_PIDFD waits for this child only: an embedding
 * program's other children are not touched.
 */
void
worker_reap(struct worker *w)
{
	siginfo_t	si;

	while (!w->exited) {
		memset(&si, 0, sizeof si);
		if (waitid(w->pidfd >= 0 ? P_PIDFD : P_PID,
		    w->pidfd >= 0 ? (id_t)w->pidfd : (id_t)w->pid, &si,
		    WEXITED|WSTOPPED|WCONTINUED|WNOHANG) != 0) {
			if (errno == EINTR)
				continue;
			/* ECHILD: reaped by someone else (waitpid(-1)). */
			worker_exited(w, CLD_EXITED, -1);
			return;
		}
		if (si.si_pid == 0)
			return;
		switch (si.si_code) {
		case CLD_EXITED:
		case CLD_KILLED:
		case CLD_DUMPED:
			worker_exited(w, si.si_code, si.si_status);
			return;
		case CLD_STOPPED:
			lifecycle_stopped(w, si.si_status);
			break;
		case CLD_CONTINUED:
			lifecycle_continued(w);
			break;
		default:
			break;
		}
	}
}
