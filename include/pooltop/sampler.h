/*
 * pooltop sampler: CPU and memory of registered processes from /proc,
 * read with procps-ng's libproc2, on a libuv timer, with a history ring
 * per process.
 *
 * A process is identified by its pid and its start time, so a reused pid
 * is never taken for the process that was registered.
 */
#ifndef POOLTOP_SAMPLER_H
#define POOLTOP_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

struct sampler;

struct sampler_options {
	uint64_t	 interval_ms;	/* default 1000 */
	size_t		 history;	/* samples kept per process, default 60,
					   at most 1,000,000 (else -EINVAL) */
};

/* One reading of one process (its descendants added when tree is set). */
struct proc_sample {
	pid_t		 pid;
	char		 state;		/* R, S, D, T, t, Z, X; 0 if not read yet */
	double		 cpu;		/* percent of one core over the last interval */
	uint64_t	 rss;		/* bytes (from statm) */
	uint64_t	 vsize;		/* bytes */
	unsigned	 threads;
	uint64_t	 start_time;	/* clock ticks after boot, as /proc/PID/stat */
	pid_t		 ppid;
	uint64_t	 samples;	/* readings taken so far */
};

int	sampler_new(struct sampler **out, uv_loop_t *loop,
	    const struct sampler_options *opts /* NULL ok */);
/* Stops the timer and frees the sampler once its handle is closed. */
void	sampler_free(struct sampler *);
/* Starts or stops ticking (sampler_new does not start). */
int	sampler_start(struct sampler *);
void	sampler_stop(struct sampler *);
uint64_t sampler_interval(const struct sampler *);
int	sampler_set_interval(struct sampler *, uint64_t ms);
size_t	sampler_history_len(const struct sampler *);
/* Number of registered pids. */
size_t	sampler_count(const struct sampler *);
/* Command name libproc2 read at sampler_add; NULL if pid is not registered. */
const char *sampler_command(const struct sampler *, pid_t pid);

/*
 * Registers a pid (its start time is read now; -ESRCH if it is gone,
 * -EEXIST if already registered, -EMFILE/-ENFILE when out of fds: each
 * registered pid keeps two fds open).
 * tree: add its descendants' CPU and RSS to it.  Registering pooltop's
 * own pid makes it the "manager" row.
 */
int	sampler_add(struct sampler *, pid_t pid, bool tree);
void	sampler_remove(struct sampler *, pid_t pid);
/* Takes a reading of every registered pid now (also done on each tick). */
void	sampler_sample(struct sampler *);

/* Latest reading of pid; 0, or -ENOENT if not registered or gone. */
int	sampler_get(const struct sampler *, pid_t pid, struct proc_sample *out);
/*
 * Copies the history of pid, oldest first, into cpu[] (percent) and rss[]
 * (bytes), either may be NULL; at most max entries; returns how many.
 */
size_t	sampler_history(const struct sampler *, pid_t pid, double *cpu,
	    uint64_t *rss, size_t max);

typedef void (*sampler_refresh_cb)(struct sampler *, void *arg);
/* Called after every tick's reading; several listeners allowed. */
int	sampler_listen(struct sampler *, sampler_refresh_cb cb, void *arg);
void	sampler_unlisten(struct sampler *, sampler_refresh_cb cb, void *arg);
/* Called once when a registered pid is found gone (or its start time changed). */
typedef void (*sampler_gone_cb)(struct sampler *, pid_t pid, void *arg);
void	sampler_on_gone(struct sampler *, sampler_gone_cb cb, void *arg);

#endif
