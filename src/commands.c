/*
 * The commands layer: the one place that acts on workers.  The
 * dashboard's keys and the control socket both come through here, so a
 * kill from either says the same thing, and nothing else signals.
 *
 * Signals go through the engine (pool_worker_*), which sends them through
 * the worker's pidfd, so a pid reused by another process is never hit.
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pooltop/balance.h"
#include "pooltop/commands.h"
#include "pooltop/config.h"
#include "pooltop/pool.h"

static const struct {
	int		 sig;
	const char	*name;
} cmd_signals[] = {
	{ SIGHUP, "HUP" },	{ SIGINT, "INT" },	{ SIGQUIT, "QUIT" },
	{ SIGILL, "ILL" },	{ SIGTRAP, "TRAP" },	{ SIGABRT, "ABRT" },
	{ SIGBUS, "BUS" },	{ SIGFPE, "FPE" },	{ SIGKILL, "KILL" },
	{ SIGUSR1, "USR1" },	{ SIGSEGV, "SEGV" },	{ SIGUSR2, "USR2" },
	{ SIGPIPE, "PIPE" },	{ SIGALRM, "ALRM" },	{ SIGTERM, "TERM" },
	{ SIGCHLD, "CHLD" },	{ SIGCONT, "CONT" },	{ SIGSTOP, "STOP" },
	{ SIGTSTP, "TSTP" },	{ SIGTTIN, "TTIN" },	{ SIGTTOU, "TTOU" },
	{ SIGURG, "URG" },	{ SIGXCPU, "XCPU" },	{ SIGXFSZ, "XFSZ" },
	{ SIGVTALRM, "VTALRM" }, { SIGPROF, "PROF" },	{ SIGWINCH, "WINCH" },
	{ SIGIO, "IO" },	{ SIGPWR, "PWR" },	{ SIGSYS, "SYS" },
};
#define CMD_NSIGNALS (sizeof cmd_signals / sizeof cmd_signals[0])

int
cmd_signal_parse(const char *name)
{
	const char	*p;
	long		 n;
	char		*end;
	size_t		 i;

	if (name == NULL || *name == '\0')
		return -EINVAL;
	if (*name >= '0' && *name <= '9') {
		errno = 0;
		n = strtol(name, &end, 10);
		if (errno != 0 || *end != '\0' || n < 1 || n > SIGRTMAX)
			return -EINVAL;
		return (int)n;
	}
	p = name;
	if (strncasecmp(p, "SIG", 3) == 0)
		p += 3;
	for (i = 0; i < CMD_NSIGNALS; i++) {
		if (strcasecmp(p, cmd_signals[i].name) == 0)
			return cmd_signals[i].sig;
	}
	return -EINVAL;
}

const char *
cmd_signal_name(int sig)
{
	size_t	i;

	for (i = 0; i < CMD_NSIGNALS; i++) {
		if (cmd_signals[i].sig == sig)
			return cmd_signals[i].name;
	}
	return NULL;
}

/* "SIGTERM", or "signal 40" for one without a name. */
static const char *
cmd_signal_text(int sig, char *buf, size_t len)
{
	const char	*name = cmd_signal_name(sig);

	if (name != NULL)
		snprintf(buf, len, "SIG%s", name);
	else
		snprintf(buf, len, "signal %d", sig);
	return buf;
}

/* Finds the row of slot in the pool's snapshot; false if it has none. */
static bool
cmd_slot_info(const struct pool *pool, int slot, struct pool_worker_info *out)
{
	struct pool_worker_info	 small[32], *rows = small;
	size_t			 n, i, max = 32;
	bool			 found = false;

	n = pool_snapshot(pool, rows, max);
	if (n > max) {
		rows = calloc(n, sizeof *rows);
		if (rows == NULL)
			return false;
		max = n;
		n = pool_snapshot(pool, rows, max);
		if (n > max)
			n = max;
	}
	for (i = 0; i < n; i++) {
		if (rows[i].slot == slot) {
			*out = rows[i];
			found = true;
			break;
		}
	}
	if (rows != small)
		free(rows);
	return found;
}

int
cmd_resolve(struct engine *e, const char *spec, struct cmd_target *t,
    char *msg, size_t msglen)
{
	struct pool_info	 info;
	struct pool		*pool;
	const char		*slash;
	char			 name[256], *end;
	unsigned long		 n;
	size_t			 len;
	int			 slot;

	if (spec == NULL || *spec == '\0') {
		snprintf(msg, msglen, "no worker given (expected POOL/N or a "
		    "pid)");
		return -EINVAL;
	}
	slash = strrchr(spec, '/');
	if (slash != NULL) {
		len = (size_t)(slash - spec);
		if (len == 0 || len >= sizeof name || slash[1] < '0' ||
		    slash[1] > '9') {
			snprintf(msg, msglen, "bad worker \"%s\" (expected "
			    "POOL/N or a pid)", spec);
			return -EINVAL;
		}
		errno = 0;
		n = strtoul(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || n > 1000000) {
			snprintf(msg, msglen, "bad worker \"%s\" (expected "
			    "POOL/N or a pid)", spec);
			return -EINVAL;
		}
		memcpy(name, spec, len);
		name[len] = '\0';
		pool = engine_pool(e, name);
		if (pool == NULL) {
			snprintf(msg, msglen, "no worker %s: no pool \"%s\"",
			    spec, name);
			return -ENOENT;
		}
		pool_get_info(pool, &info);
		if (n >= info.workers) {
			snprintf(msg, msglen, "no worker %s: pool %s has %u "
			    "slot%s (0 to %u)", spec, name, info.workers,
			    info.workers == 1 ? "" : "s",
			    info.workers > 0 ? info.workers - 1 : 0);
			if (info.workers == 0)
				snprintf(msg, msglen, "no worker %s: pool %s "
				    "has no slots (scaled to 0)", spec, name);
			return -ENOENT;
		}
		t->pool = pool;
		t->slot = (int)n;
		return 0;
	}
	if (*spec < '0' || *spec > '9') {
		snprintf(msg, msglen, "bad worker \"%s\" (expected POOL/N or a "
		    "pid)", spec);
		return -EINVAL;
	}
	errno = 0;
	n = strtoul(spec, &end, 10);
	if (errno != 0 || *end != '\0' || n == 0 || n > 0x7fffffffUL) {
		snprintf(msg, msglen, "bad worker \"%s\" (expected POOL/N or a "
		    "pid)", spec);
		return -EINVAL;
	}
	if (engine_find_pid(e, (pid_t)n, &pool, &slot) != 0) {
		snprintf(msg, msglen, "no worker with pid %lu", n);
		return -ENOENT;
	}
	t->pool = pool;
	t->slot = slot;
	return 0;
}

/*
 * Describes the target ("web/2 (pid 1234)") and says whether it has a
 * process to act on; when it has none, msg says so.
 */
static bool
cmd_describe(const struct cmd_target *t, char *who, size_t wholen,
    struct pool_worker_info *info, char *msg, size_t msglen)
{
	bool	found;

	found = cmd_slot_info(t->pool, t->slot, info);
	if (found && info->pid > 0) {
		snprintf(who, wholen, "%s/%d (pid %ld)", pool_name(t->pool),
		    t->slot, (long)info->pid);
		return true;
	}
	snprintf(who, wholen, "%s/%d", pool_name(t->pool), t->slot);
	snprintf(msg, msglen, "%s has no process (%s)", who, found ?
	    worker_state_name(info->state) : "not started");
	return false;
}

int
cmd_kill(struct engine *e, const struct cmd_target *t, int sig, char *msg,
    size_t msglen)
{
	struct pool_worker_info	 info;
	char			 who[300], sname[32];
	int			 rc;

	(void)e;
	if (sig <= 0 || sig > SIGRTMAX) {
		snprintf(msg, msglen, "bad signal %d (expected 1 to %d)", sig,
		    SIGRTMAX);
		return -EINVAL;
	}
	/* The engine tracks stops and continues: route them through it. */
	if (sig == SIGSTOP)
		return cmd_sleep(e, t, msg, msglen);
	if (sig == SIGCONT)
		return cmd_wake(e, t, msg, msglen);
	if (!cmd_describe(t, who, sizeof who, &info, msg, msglen))
		return -ESRCH;
	rc = pool_worker_signal(t->pool, t->slot, sig);
	if (rc != 0) {
		snprintf(msg, msglen, "cannot send %s to %s: %s",
		    cmd_signal_text(sig, sname, sizeof sname), who,
		    strerror(-rc));
		return rc;
	}
	snprintf(msg, msglen, "sent %s to %s",
	    cmd_signal_text(sig, sname, sizeof sname), who);
	return 0;
}

int
cmd_sleep(struct engine *e, const struct cmd_target *t, char *msg,
    size_t msglen)
{
	struct pool_worker_info	 info;
	char			 who[300];
	int			 rc;

	(void)e;
	if (!cmd_describe(t, who, sizeof who, &info, msg, msglen))
		return -ESRCH;
	if (info.state == WORKER_SLEEPING) {
		snprintf(msg, msglen, "%s is already asleep", who);
		return 0;
	}
	rc = pool_worker_sleep(t->pool, t->slot);
	if (rc != 0) {
		snprintf(msg, msglen, "cannot put %s to sleep: %s", who,
		    strerror(-rc));
		return rc;
	}
	snprintf(msg, msglen, "%s is asleep (SIGSTOP)", who);
	return 0;
}

int
cmd_wake(struct engine *e, const struct cmd_target *t, char *msg,
    size_t msglen)
{
	struct pool_worker_info	 info;
	char			 who[300];
	int			 rc;

	(void)e;
	if (!cmd_describe(t, who, sizeof who, &info, msg, msglen))
		return -ESRCH;
	rc = pool_worker_wake(t->pool, t->slot);
	if (rc != 0) {
		snprintf(msg, msglen, "cannot wake %s: %s", who,
		    strerror(-rc));
		return rc;
	}
	if (info.state == WORKER_SLEEPING)
		snprintf(msg, msglen, "%s is awake (SIGCONT)", who);
	else
		snprintf(msg, msglen, "%s was not asleep (sent SIGCONT "
		    "anyway)", who);
	return 0;
}

int
cmd_restart(struct engine *e, const struct cmd_target *t, char *msg,
    size_t msglen)
{
	struct pool_worker_info	 info;
	char			 who[300];
	bool			 live;
	int			 rc;

	(void)e;
	live = cmd_describe(t, who, sizeof who, &info, msg, msglen);
	rc = pool_worker_restart(t->pool, t->slot);
	if (rc != 0) {
		snprintf(msg, msglen, "cannot restart %s: %s", who,
		    strerror(-rc));
		return rc;
	}
	if (live)
		snprintf(msg, msglen, "restarting %s", who);
	else
		snprintf(msg, msglen, "starting %s", who);
	return 0;
}

int
cmd_scale(struct engine *e, struct pool *pool, unsigned workers, char *msg,
    size_t msglen)
{
	struct pool_info	 info;
	unsigned		 before;
	int			 rc;

	(void)e;
	pool_get_info(pool, &info);
	before = info.workers;
	rc = pool_scale(pool, workers);
	if (rc == -EINVAL) {
		snprintf(msg, msglen, "cannot scale pool %s to %u workers "
		    "(expected 1 to %u)", pool_name(pool), workers,
		    POOL_WORKERS_MAX);
		return rc;
	}
	if (rc != 0) {
		snprintf(msg, msglen, "cannot scale pool %s to %u workers: %s",
		    pool_name(pool), workers, strerror(-rc));
		return rc;
	}
	if (before == workers)
		snprintf(msg, msglen, "pool %s already has %u worker%s",
		    pool_name(pool), workers, workers == 1 ? "" : "s");
	else
		snprintf(msg, msglen, "pool %s: %u -> %u worker%s",
		    pool_name(pool), before, workers, workers == 1 ? "" : "s");
	return 0;
}

int
cmd_strategy(struct engine *e, struct pool *pool, const char *name,
    char *msg, size_t msglen)
{
	enum balance_strategy	 s, before;
	struct pool_info	 info;
	const char		*names[BALANCE_NSTRATEGIES], *best;
	size_t			 o;
	int			 rc, k;
	unsigned		 i;

	(void)e;
	if (name == NULL || balance_strategy_parse(name, &s) != 0) {
		k = snprintf(msg, msglen, "unknown strategy \"%s\" (expected "
		    "one of ", name != NULL ? name : "");
		o = k > 0 && (size_t)k < msglen ? (size_t)k : 0;
		for (i = 0; i < BALANCE_NSTRATEGIES && o < msglen; i++) {
			names[i] = balance_strategy_name(i);
			k = snprintf(msg + o, msglen - o, "%s%s", i == 0 ? "" :
			    ", ", names[i]);
			if (k < 0)
				break;
			o += (size_t)k;
		}
		/* The config parser's "did you mean", for the same typos. */
		best = config_suggest(name, names, i);
		if (o < msglen && best != NULL)
			snprintf(msg + o, msglen - o, "; did you mean \"%s\"?)",
			    best);
		else if (o < msglen)
			snprintf(msg + o, msglen - o, ")");
		return -EINVAL;
	}
	pool_get_info(pool, &info);
	before = info.strategy;
	rc = pool_set_strategy(pool, s);
	if (rc != 0) {
		snprintf(msg, msglen, "cannot set the strategy of pool %s to "
		    "%s: %s", pool_name(pool), balance_strategy_name(s),
		    strerror(-rc));
		return rc;
	}
	if (before == s)
		snprintf(msg, msglen, "pool %s already uses %s",
		    pool_name(pool), balance_strategy_name(s));
	else
		snprintf(msg, msglen, "pool %s: strategy %s -> %s",
		    pool_name(pool), balance_strategy_name(before),
		    balance_strategy_name(s));
	return 0;
}

int
cmd_reload(struct engine *e, struct pool *pool, pool_reload_cb cb, void *arg,
    char *msg, size_t msglen)
{
	const struct pool_spec	*spec = pool_get_spec(pool);
	const char		*mode = spec->reload == POOL_RELOAD_RESTART ?
				    "restart" : "rolling";
	struct pool_info	 info;
	int			 rc;

	(void)e;
	pool_get_info(pool, &info);
	rc = pool_reload(pool, cb, arg);
	if (rc != 0) {
		snprintf(msg, msglen, "cannot reload pool %s: %s",
		    pool_name(pool), rc == -ESHUTDOWN ? "pool stopping" :
		    strerror(-rc));
		return rc;
	}
	if (info.reloading)
		snprintf(msg, msglen, "pool %s is reloading: another %s "
		    "reload follows it", pool_name(pool), mode);
	else
		snprintf(msg, msglen, "reloading pool %s (%s, %u worker%s)",
		    pool_name(pool), mode, info.workers,
		    info.workers == 1 ? "" : "s");
	return 0;
}
