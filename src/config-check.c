/*
 * What a config file cannot say by itself: whether each pool's cwd is a
 * directory here and its command an executable file, checked the way
 * the engine will when it starts the pool (worker_resolve), so that
 * `pooltop check` and the start of pooltop report these mistakes as
 * FILE:LINE of the key, like the parser's, instead of a start failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine-internal.h"
#include "pooltop/config.h"

/* One problem, kept until all are known so they print in line order. */
struct check_error {
	int	 line;
	size_t	 seq;		/* keeps the order of errors on a line */
	char	 text[1024];
};

static int
check_error_cmp(const void *a, const void *b)
{
	const struct check_error *x = a, *y = b;

	if (x->line != y->line)
		return (x->line > y->line) - (x->line < y->line);
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* "/usr/local/bin:/usr/bin:/bin": the PATH the engine looks in. */
static const char *
check_path_var(const struct pool_spec *spec)
{
	const char	*v = NULL;
	size_t		 i;

	for (i = 0; i < spec->nenv; i++) {
		if (strcmp(spec->env[i].name, "PATH") == 0)
			v = spec->env[i].value;
	}
	if (v == NULL)
		v = getenv("PATH");
	if (v == NULL || *v == '\0')
		v = "/usr/local/bin:/usr/bin:/bin";
	return v;
}

/* The cwd: a directory that can be entered; 0 or an errno. */
static int
check_cwd(const char *cwd)
{
	struct stat	st;

	if (stat(cwd, &st) != 0)
		return errno;
	if (!S_ISDIR(st.st_mode))
		return ENOTDIR;
	if (access(cwd, X_OK) != 0)
		return errno;
	return 0;
}

/* Checks one pool; adds its problems to errs (room for two). */
static size_t
check_pool(const struct pool_spec *spec, const struct config_lines *where,
    struct check_error *errs)
{
	const char	*kind = where->service ? "service" : "pool";
	const char	*prog = spec->argv[0];
	bool		 slash = strchr(prog, '/') != NULL;
	char		 scratch[512], *path = NULL;
	size_t		 n = 0;
	int		 e;

	if (spec->cwd != NULL && (e = check_cwd(spec->cwd)) != 0) {
		errs[n].line = where->cwd != 0 ? where->cwd : where->section;
		snprintf(errs[n].text, sizeof errs[n].text, "%s %s: cwd \"%s\" "
		    "%s", kind, spec->name, spec->cwd, e == ENOTDIR ?
		    "is not a directory" : e == EACCES ? "cannot be entered "
		    "(Permission denied)" : e == ENOENT ? "does not exist" :
		    strerror(e));
		n++;
		/* A relative command lives in that cwd: nothing to check. */
		if (prog[0] != '/')
			return n;
	}
	e = -worker_resolve(spec, &path, scratch, sizeof scratch);
	free(path);
	if (e == 0)
		return n;
	errs[n].line = where->command != 0 ? where->command : where->section;
	if (e == EACCES)
		snprintf(errs[n].text, sizeof errs[n].text, "%s %s: command "
		    "\"%s\" is not executable%s", kind, spec->name, prog,
		    slash ? "" : " (found in PATH)");
	else if (e == EISDIR)
		snprintf(errs[n].text, sizeof errs[n].text, "%s %s: command "
		    "\"%s\" is a directory (expected a program)", kind,
		    spec->name, prog);
	else if (e == ENOENT && !slash)
		snprintf(errs[n].text, sizeof errs[n].text, "%s %s: command "
		    "\"%s\" not found in PATH (%s)", kind, spec->name, prog,
		    check_path_var(spec));
	else if (e == ENOENT)
		snprintf(errs[n].text, sizeof errs[n].text, "%s %s: command "
		    "\"%s\" does not exist", kind, spec->name, prog);
	else
		snprintf(errs[n].text, sizeof errs[n].text, "%s %s: command "
		    "\"%s\": %s", kind, spec->name, prog, strerror(e));
	return n + 1;
}

int
config_check_paths(const struct config *cfg, FILE *err)
{
	struct config_lines	 none = { 0, 0, 0, false };
	struct check_error	*errs;
	size_t			 i, n = 0;

	if (cfg == NULL || cfg->npools == 0)
		return 0;
	if ((errs = calloc(cfg->npools * 2, sizeof *errs)) == NULL) {
		if (err != NULL)
			fprintf(err, "%s: out of memory\n", cfg->path != NULL ?
			    cfg->path : "config");
		return 1;
	}
	for (i = 0; i < cfg->npools; i++) {
		if (cfg->pools[i].argv == NULL || cfg->pools[i].argv[0] == NULL)
			continue;
		n += check_pool(&cfg->pools[i], cfg->lines != NULL ?
		    &cfg->lines[i] : &none, errs + n);
	}
	for (i = 0; i < n; i++)
		errs[i].seq = i;
	qsort(errs, n, sizeof *errs, check_error_cmp);
	for (i = 0; i < n && err != NULL; i++)
		fprintf(err, "%s:%d: %s\n", cfg->path != NULL ? cfg->path :
		    "config", errs[i].line, errs[i].text);
	free(errs);
	return (int)n;
}
