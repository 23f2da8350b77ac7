/*
 * SIGHUP: the config file is read again and what changed in it is
 * applied to the running engine, in both the headless runner and the
 * dashboard.  Pools no longer in the file are removed (gracefully: their
 * in-flight tasks get stop_timeout), new ones are added, and a changed
 * pool is changed live or replaced as engine_update_pool() decides;
 * pools whose section did not change are not touched (same workers,
 * same pids).  A file with any error changes nothing: every error is
 * reported and the running config stays.  The [pooltop] settings apply
 * at the next start.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pooltop/config.h"
#include "pooltop/pool.h"

#include "cli.h"

struct reconfig {
	struct app	*app;
	app_report_fn	 report;
	void		*arg;
	const char	*path;
};

static void
reconfig_say(struct reconfig *rc, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
reconfig_say(struct reconfig *rc, bool error, const char *fmt, ...)
{
	char	text[2048];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	rc->report(rc->arg, error, text);
}

/* The spec of the pool named name in cfg, or NULL. */
static const struct pool_spec *
reconfig_find(const struct config *cfg, const char *name)
{
	size_t	i;

	for (i = 0; i < cfg->npools; i++) {
		if (strcmp(cfg->pools[i].name, name) == 0)
			return &cfg->pools[i];
	}
	return NULL;
}

/*
 * Reads the file into next; reports each error (one per line, as
 * config_load writes them) and returns the count, 0 when good.
 */
static int
reconfig_load(struct reconfig *rc, struct config *next)
{
	char	*buf = NULL, *line, *nl;
	size_t	 len = 0;
	FILE	*err;
	int	 n, lines = 0;

	memset(next, 0, sizeof *next);
	if ((err = open_memstream(&buf, &len)) == NULL) {
		reconfig_say(rc, true, "%s: cannot reload: %s", rc->path,
		    strerror(errno));
		return 1;
	}
	n = config_load(next, rc->path, err);
	fclose(err);
	for (line = buf; line != NULL && *line != '\0'; line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		if (*line != '\0') {
			reconfig_say(rc, true, "%s", line);
			lines++;
		}
	}
	free(buf);
	if (n > 0)
		config_free(next);
	if (n != 0 && lines == 0)
		reconfig_say(rc, true, "%s: cannot reload (%d)", rc->path, n);
	return n < 0 ? 1 : n;
}

/* The new or changed pools must be able to start (command, cwd, ...). */
static int
reconfig_check(struct reconfig *rc, const struct config *running,
    const struct config *next)
{
	struct engine		*e = rc->app->engine;
	const struct pool_spec	*old;
	size_t			 i;
	int			 errors = 0;

	for (i = 0; i < next->npools; i++) {
		old = reconfig_find(running, next->pools[i].name);
		if (old != NULL && engine_pool(e, old->name) != NULL &&
		    pool_spec_diff(old, &next->pools[i], NULL, 0) == 0)
			continue;
		if (engine_check_pool(e, &next->pools[i]) != 0) {
			reconfig_say(rc, true, "%s: %s", rc->path,
			    engine_error(e));
			errors++;
		}
	}
	return errors;
}

/* Notes changes to [pooltop]: they need a restart. */
static void
reconfig_globals(struct reconfig *rc, const struct config_global *a,
    const struct config_global *b)
{
	char	keys[128] = "";

	if (a->sample_interval_ms != b->sample_interval_ms)
		strcat(keys, ", interval");
	if (a->history != b->history)
		strcat(keys, ", history");
	if ((a->socket == NULL) != (b->socket == NULL) ||
	    (a->socket != NULL && strcmp(a->socket, b->socket) != 0))
		strcat(keys, ", socket");
	if (a->color != b->color)
		strcat(keys, ", color");
	if (a->confirm != b->confirm)
		strcat(keys, ", confirm");
	if (keys[0] != '\0')
		reconfig_say(rc, false, "%s: [pooltop] %s changed: applies at "
		    "the next start", rc->path, keys + 2);
}

int
reconfig_run(struct app *app, struct config *running, app_report_fn report,
    void *arg)
{
	struct reconfig		 rc;
	struct config		 next;
	struct engine		*e = app->engine;
	struct pool		*pools[256], *p, *np;
	const struct pool_spec	*old, *spec;
	struct pool_info	 info;
	char			 what[512];
	size_t			 n, i;
	unsigned		 added = 0, removed = 0, changed = 0, same = 0;
	int			 errors, r;

	rc.app = app;
	rc.report = report;
	rc.arg = arg;
	rc.path = running->path != NULL ? running->path : "?";
	if (running->path == NULL) {
		reconfig_say(&rc, true, "no config file to reload");
		return -1;
	}
	if ((errors = reconfig_load(&rc, &next)) != 0) {
		reconfig_say(&rc, true, "%s: %d error%s; the running config is "
		    "kept", rc.path, errors, errors == 1 ? "" : "s");
		return -1;
	}
	if ((errors = reconfig_check(&rc, running, &next)) != 0) {
		reconfig_say(&rc, true, "%s: %d error%s; the running config is "
		    "kept", rc.path, errors, errors == 1 ? "" : "s");
		config_free(&next);
		return -1;
	}

	/* Gone from the file: removed. */
	n = engine_pools(e, pools, 256);
	for (i = 0; i < n && i < 256; i++) {
		if (reconfig_find(&next, pool_name(pools[i])) != NULL)
			continue;
		pool_get_info(pools[i], &info);
		if (engine_remove_pool(e, pools[i], NULL, NULL) != 0) {
			reconfig_say(&rc, true, "pool %s: cannot remove: %s",
			    info.name, engine_error(e));
			continue;
		}
		removed++;
		reconfig_say(&rc, false, "pool %s: removed (stopping %u "
		    "worker%s)", info.name, info.live, info.live == 1 ? "" :
		    "s");
	}

	/* New in the file: added; changed: updated; the rest untouched. */
	for (i = 0; i < next.npools; i++) {
		spec = &next.pools[i];
		p = engine_pool(e, spec->name);
		if (p == NULL) {
			if (engine_add_pool(e, spec, NULL) != 0) {
				reconfig_say(&rc, true, "%s: %s", rc.path,
				    engine_error(e));
				continue;
			}
			added++;
			reconfig_say(&rc, false, "pool %s: added (%u worker%s)",
			    spec->name, spec->workers, spec->workers == 1 ?
			    "" : "s");
			continue;
		}
		old = reconfig_find(running, spec->name);
		if (old == NULL)
			old = pool_get_spec(p);
		if (pool_spec_diff(old, spec, what, sizeof what) == 0) {
			same++;
			continue;
		}
		r = engine_update_pool(e, p, spec, &np);
		if (r < 0) {
			reconfig_say(&rc, true, "%s: %s; it keeps its running "
			    "config", rc.path, engine_error(e));
			/* Remembered as running, so the next reload retries. */
			pool_spec_release(&next.pools[i]);
			if (pool_spec_copy(&next.pools[i], old) != 0)
				abort();
			continue;
		}
		changed++;
		if (r == POOL_UPDATE_REPLACED)
			reconfig_say(&rc, false, "pool %s: %s changed: replaced "
			    "by a new pool", spec->name, what);
		else
			reconfig_say(&rc, false, "pool %s: %s changed: applied",
			    spec->name, what);
	}
	reconfig_globals(&rc, &running->global, &next.global);
	if (added + removed + changed == 0)
		reconfig_say(&rc, false, "%s reloaded: no change (%u pool%s)",
		    rc.path, same, same == 1 ? "" : "s");
	else
		reconfig_say(&rc, false, "%s reloaded: %u added, %u removed, "
		    "%u changed, %u unchanged", rc.path, added, removed,
		    changed, same);

	config_free(running);
	*running = next;
	return (int)(added + removed + changed);
}
