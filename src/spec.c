/*
 * Pool specs: their defaults, release and deep copy.  The defaults here
 * are the ones documented in pool.h and pooltop.conf(5).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "pooltop/pool.h"

/* Fills a spec with the documented defaults; it then owns nothing. */
void
pool_spec_init(struct pool_spec *spec)
{
	memset(spec, 0, sizeof *spec);
	spec->mode = POOL_MODE_AUTO;
	spec->workers = 1;
	spec->min_workers = 1;
	spec->parallel_jobs = 1;
	spec->strategy = BALANCE_MINIMUM_CONNECTION;
	spec->seed = 1;
	spec->task_timeout_ms = 0;
	spec->queue_cap = 10000;
	spec->retry = 0;
	spec->idle_sleep_ms = 0;
	spec->handshake_ms = 2000;
	spec->restart = POOL_RESTART_ON_FAILURE;
	spec->max_restarts = 5;
	spec->restart_window_ms = 60000;
	spec->backoff_initial_ms = 100;
	spec->backoff_max_ms = 10000;
	spec->stop_signal = SIGTERM;
	spec->stop_timeout_ms = 5000;
	spec->memory_limit = 0;
	spec->tree = false;
	spec->log_lines = 1000;
	spec->log_rate_limit = 10000;
	spec->log_max = 10u << 20;
	spec->log_keep = 5;
	spec->watch_delay_ms = 500;
	spec->reload = POOL_RELOAD_ROLLING;
}

/* Frees an array of n strings. */
static void
spec_strv_free(char **v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Copies an array of n strings; NULL and *failed on ENOMEM. */
static char **
spec_strv_copy(char *const *v, size_t n, bool *failed)
{
	char	**copy;
	size_t	  i;

	if (v == NULL || n == 0)
		return NULL;
	if ((copy = calloc(n, sizeof *copy)) == NULL) {
		*failed = true;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if ((copy[i] = strdup(v[i])) == NULL) {
			spec_strv_free(copy, n);
			*failed = true;
			return NULL;
		}
	}
	return copy;
}

/* Frees every string and array the spec points to, then resets it. */
void
pool_spec_release(struct pool_spec *spec)
{
	size_t	i;

	if (spec == NULL)
		return;
	free(spec->name);
	if (spec->argv != NULL) {
		for (i = 0; spec->argv[i] != NULL; i++)
			free(spec->argv[i]);
		free(spec->argv);
	}
	free(spec->cwd);
	for (i = 0; i < spec->nenv; i++) {
		free(spec->env[i].name);
		free(spec->env[i].value);
	}
	free(spec->env);
	free(spec->weights);
	free(spec->log_file);
	spec_strv_free(spec->watch, spec->nwatch);
	spec_strv_free(spec->watch_ignore, spec->nwatch_ignore);
	spec_strv_free(spec->locks, spec->nlocks);
	pool_spec_init(spec);
}

/* strdup() that keeps NULL as NULL; sets *failed on ENOMEM. */
static char *
spec_strdup(const char *s, bool *failed)
{
	char	*copy;

	if (s == NULL)
		return NULL;
	if ((copy = strdup(s)) == NULL)
		*failed = true;
	return copy;
}

/*
 * Deep copy of src into dst (whose old contents are not freed).  On
 * failure dst owns nothing and holds the defaults.
 */
int
pool_spec_copy(struct pool_spec *dst, const struct pool_spec *src)
{
	bool	failed = false;
	size_t	i, n;

	if (dst == src)
		return 0;
	*dst = *src;
	dst->name = NULL;
	dst->argv = NULL;
	dst->cwd = NULL;
	dst->log_file = NULL;
	dst->env = NULL;
	dst->nenv = 0;
	dst->weights = NULL;
	dst->nweights = 0;
	dst->watch = NULL;
	dst->nwatch = 0;
	dst->watch_ignore = NULL;
	dst->nwatch_ignore = 0;
	dst->locks = NULL;
	dst->nlocks = 0;

	dst->name = spec_strdup(src->name, &failed);
	dst->cwd = spec_strdup(src->cwd, &failed);
	dst->log_file = spec_strdup(src->log_file, &failed);
	if (failed)
		goto fail;

	if (src->argv != NULL) {
		for (n = 0; src->argv[n] != NULL; n++)
			;
		if ((dst->argv = calloc(n + 1, sizeof *dst->argv)) == NULL)
			goto fail;
		for (i = 0; i < n; i++) {
			dst->argv[i] = spec_strdup(src->argv[i], &failed);
			if (failed)
				goto fail;
		}
	}

	if (src->nenv > 0) {
		dst->env = calloc(src->nenv, sizeof *dst->env);
		if (dst->env == NULL)
			goto fail;
		/* Count as we go, so release frees exactly what was made. */
		for (i = 0; i < src->nenv; i++) {
			dst->nenv++;
			dst->env[i].name = spec_strdup(src->env[i].name,
			    &failed);
			dst->env[i].value = spec_strdup(src->env[i].value,
			    &failed);
			if (failed)
				goto fail;
		}
	}

	if (src->nweights > 0) {
		dst->weights = calloc(src->nweights, sizeof *dst->weights);
		if (dst->weights == NULL)
			goto fail;
		memcpy(dst->weights, src->weights,
		    src->nweights * sizeof *dst->weights);
		dst->nweights = src->nweights;
	}

	dst->watch = spec_strv_copy(src->watch, src->nwatch, &failed);
	if (failed)
		goto fail;
	dst->nwatch = dst->watch != NULL ? src->nwatch : 0;
	dst->watch_ignore = spec_strv_copy(src->watch_ignore,
	    src->nwatch_ignore, &failed);
	if (failed)
		goto fail;
	dst->nwatch_ignore = dst->watch_ignore != NULL ?
	    src->nwatch_ignore : 0;
	dst->locks = spec_strv_copy(src->locks, src->nlocks, &failed);
	if (failed)
		goto fail;
	dst->nlocks = dst->locks != NULL ? src->nlocks : 0;
	return 0;

fail:
	pool_spec_release(dst);
	return -ENOMEM;
}
