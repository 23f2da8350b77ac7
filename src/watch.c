/*
 * File-system watches for reload on change: libuv's uv_fs_event_t
 * (inotify), one per directory, with a debounce timer.
 *
 * Why a watched file is watched through its directory: editors and build
 * tools often save by writing a new file and renaming it over the old
 * one, and an inotify watch on the old file would then watch a file that
 * is gone.  The directory's watch sees the rename, and every later one.
 *
 * Why every directory gets its own watch: inotify (and so libuv on
 * Linux) is not recursive.  A directory created below a watched one is
 * watched as soon as its creation is seen; one removed (or renamed away)
 * loses its watch.  Symbolic links to directories are not followed
 * (a link loop would never end); a watched path given as a link is.
 *
 * Why a watched directory that goes away is awaited in its parent: an
 * inotify watch belongs to the directory's inode, so once a build's
 * `rm -rf out && mkdir out` removed it, nothing would be seen in the new
 * one.  The removal is a change (it is told); from then on the parent
 * directory is watched for the name to come back, and when it does the
 * new directory (and everything below it) is watched as the old one was.
 */
#include <sys/queue.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watch.h"

/* One directory under watch. */
struct watch_dir {
	TAILQ_ENTRY(watch_dir) link;
	uv_fs_event_t	 h;
	struct watch	*watch;
	char		*path;		/* as opened */
	size_t		 root;		/* index in watch->roots */
	unsigned	 depth;		/* levels below its root */
	dev_t		 dev;		/* the directory's identity: the watch */
	ino_t		 ino;		/* follows this inode, not the path */
	bool		 awaiting;	/* watches the root's parent for the root
					   directory to come back */
	bool		 closing;
};

/* A path the user asked to watch. */
struct watch_root {
	char		*given;		/* as written, for messages */
	char		*path;		/* joined with the base, no trailing '/' */
	char		*name;		/* a file: its name in its directory */
};

TAILQ_HEAD(watch_dirs, watch_dir);

struct watch {
	uv_loop_t		*loop;
	struct watch_root	*roots;
	size_t			 nroots;
	char			**ignore;
	size_t			 nignore;
	uint64_t		 delay_ms;
	unsigned		 max_dirs;
	watch_change_cb		 change;
	watch_notice_cb		 notice;
	watch_closed_cb		 closed;
	void			*arg;
	struct watch_dirs	 dirs;
	size_t			 ndirs;
	bool			 warned_max;
	uv_timer_t		 timer;
	bool			 pending;	/* a burst is under way */
	uint64_t		 first_ms;	/* loop time of its first change */
	char			*first_path;
	unsigned		 nopen;		/* handles not yet closed */
	bool			 closing;
};

static void	watch_event_cb(uv_fs_event_t *, const char *, int, int);
static void	watch_timer_cb(uv_timer_t *);
static void	watch_dir_close_cb(uv_handle_t *);
static void	watch_timer_close_cb(uv_handle_t *);
static int	watch_add_dir(struct watch *, size_t root, const char *path,
		    unsigned depth, char *err, size_t errlen);
static void	watch_await(struct watch *, size_t root);

char *
watch_join(const char *base, const char *path)
{
	size_t	 blen, plen;
	char	*out;

	if (base == NULL || base[0] == '\0' || path[0] == '/')
		return (strdup(path));
	blen = strlen(base);
	while (blen > 1 && base[blen - 1] == '/')
		blen--;
	plen = strlen(path);
	if ((out = malloc(blen + plen + 2)) == NULL)
		return (NULL);
	memcpy(out, base, blen);
	out[blen] = '/';
	memcpy(out + blen + 1, path, plen + 1);
	return (out);
}

/* Tells the notice callback, printf-style. */
static void
watch_notice(struct watch *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
watch_notice(struct watch *w, const char *fmt, ...)
{
	char	text[1024];
	va_list	ap;

	if (w->notice == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	w->notice(text, w->arg);
}

/* Does an ignore glob match the relative path or the name? */
static bool
watch_ignored(const struct watch *w, const char *rel, const char *name)
{
	size_t	i;

	for (i = 0; i < w->nignore; i++) {
		if (fnmatch(w->ignore[i], rel, 0) == 0 ||
		    fnmatch(w->ignore[i], name, 0) == 0)
			return (true);
	}
	return (false);
}

/* dir/name into buf; false when it does not fit. */
static bool
watch_path(char *buf, size_t len, const char *dir, const char *name)
{
	int	n;

	if (name[0] == '\0')
		n = snprintf(buf, len, "%s", dir);
	else if (strcmp(dir, "/") == 0)
		n = snprintf(buf, len, "/%s", name);
	else
		n = snprintf(buf, len, "%s/%s", dir, name);
	return (n >= 0 && (size_t)n < len);
}

/* The part of path below its root directory ("" for the root itself). */
static const char *
watch_rel(const struct watch_root *r, const char *path)
{
	size_t	n = strlen(r->path);

	if (strncmp(path, r->path, n) != 0)
		return (path);
	path += n;
	while (*path == '/')
		path++;
	return (path);
}

/* Watches the directories below dir (already watched), depth first. */
static void
watch_scan(struct watch *w, size_t root, const char *dir, unsigned depth)
{
	const struct watch_root	*r = &w->roots[root];
	DIR			*d;
	struct dirent		*de;
	struct stat		 st;
	char			 child[PATH_MAX], err[PATH_MAX + 128];

	if ((d = opendir(dir)) == NULL) {
		watch_notice(w, "cannot read directory \"%s\" to watch what "
		    "is in it: %s", dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL && !w->closing) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (!watch_path(child, sizeof child, dir, de->d_name))
			continue;
		if (watch_ignored(w, watch_rel(r, child), de->d_name))
			continue;
		/* lstat: a link to a directory is not followed. */
		if (lstat(child, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		if (watch_add_dir(w, root, child, depth + 1, err,
		    sizeof err) != 0 && err[0] != '\0')
			watch_notice(w, "%s", err);
	}
	closedir(d);
}

/* Stops one directory's watch; its memory goes in the close callback. */
static void
watch_dir_close(struct watch *w, struct watch_dir *d)
{
	TAILQ_REMOVE(&w->dirs, d, link);
	w->ndirs--;
	d->closing = true;
	uv_close((uv_handle_t *)&d->h, watch_dir_close_cb);
}

/*
 * Starts a watch on one directory.  0, or -errno with the reason in err
 * ("" when a limit was reached and already told).
 */
static int
watch_open_dir(struct watch *w, size_t root, const char *path, unsigned depth,
    bool awaiting, char *err, size_t errlen)
{
	struct watch_dir	*d;
	struct stat		 st;
	int			 rc;

	err[0] = '\0';
	if (w->ndirs >= w->max_dirs || depth > WATCH_MAX_DEPTH) {
		if (!w->warned_max)
			watch_notice(w, "watching only %zu directories (at "
			    "most %u, %u levels deep): \"%s\" and others are "
			    "not watched; use watch_ignore to leave some out",
			    w->ndirs, w->max_dirs, WATCH_MAX_DEPTH, path);
		w->warned_max = true;
		return (-ENOSPC);
	}
	if ((d = calloc(1, sizeof *d)) == NULL ||
	    (d->path = strdup(path)) == NULL) {
		free(d);
		snprintf(err, errlen, "cannot watch \"%s\": %s", path,
		    strerror(ENOMEM));
		return (-ENOMEM);
	}
	d->watch = w;
	d->root = root;
	d->depth = depth;
	d->awaiting = awaiting;
	if (stat(path, &st) == 0) {
		d->dev = st.st_dev;
		d->ino = st.st_ino;
	}
	uv_fs_event_init(w->loop, &d->h);
	d->h.data = d;
	w->nopen++;
	TAILQ_INSERT_TAIL(&w->dirs, d, link);
	w->ndirs++;
	rc = uv_fs_event_start(&d->h, watch_event_cb, path, 0);
	if (rc != 0) {
		if (rc == UV_ENOSPC)
			snprintf(err, errlen, "cannot watch \"%s\": %s (the "
			    "limit is fs.inotify.max_user_watches)", path,
			    uv_strerror(rc));
		else
			snprintf(err, errlen, "cannot watch \"%s\": %s", path,
			    uv_strerror(rc));
		watch_dir_close(w, d);
		return (rc);
	}
	uv_unref((uv_handle_t *)&d->h);
	return (0);
}

/*
 * Watches one directory: every entry of it when its root is a directory,
 * then the directories below it; only the root's file otherwise.  0, or
 * -errno as watch_open_dir.
 */
static int
watch_add_dir(struct watch *w, size_t root, const char *path, unsigned depth,
    char *err, size_t errlen)
{
	int	rc;

	rc = watch_open_dir(w, root, path, depth, false, err, errlen);
	if (rc == 0 && w->roots[root].name == NULL)
		watch_scan(w, root, path, depth);
	return (rc);
}

/* Stops watching path and every directory below it. */
static void
watch_drop(struct watch *w, const char *path)
{
	struct watch_dir	*d, *next;
	size_t			 n = strlen(path);

	for (d = TAILQ_FIRST(&w->dirs); d != NULL; d = next) {
		next = TAILQ_NEXT(d, link);
		if (w->roots[d->root].name != NULL || d->awaiting ||
		    strncmp(d->path, path, n) != 0 ||
		    (d->path[n] != '\0' && d->path[n] != '/'))
			continue;
		watch_dir_close(w, d);
	}
}

/* Is path a directory now (following a link, as a root given as one)? */
static bool
watch_is_dir(const char *path)
{
	struct stat	st;

	return (stat(path, &st) == 0 && S_ISDIR(st.st_mode));
}

/*
 * A directory root is gone: its parent is watched for the name to come
 * back, or, when it already has, the new directory is watched at once.
 */
static void
watch_await(struct watch *w, size_t root)
{
	const struct watch_root	*r = &w->roots[root];
	struct watch_dir	*d;
	char			 parent[PATH_MAX], err[PATH_MAX + 128];
	const char		*slash = strrchr(r->path, '/');

	if (slash == NULL)
		snprintf(parent, sizeof parent, ".");
	else
		snprintf(parent, sizeof parent, "%.*s",
		    slash == r->path ? 1 : (int)(slash - r->path), r->path);
	if (!watch_is_dir(r->path) && watch_open_dir(w, root, parent, 0, true,
	    err, sizeof err) != 0) {
		if (err[0] != '\0')
			watch_notice(w, "\"%s\" is gone and will not be watched "
			    "again: %s", r->given, err);
		return;
	}
	/* Back already (before or while the parent's watch started)? */
	if (!watch_is_dir(r->path))
		return;
	TAILQ_FOREACH(d, &w->dirs, link) {
		if (d->root == root && d->awaiting) {
			watch_dir_close(w, d);
			break;
		}
	}
	if (watch_add_dir(w, root, r->path, 0, err, sizeof err) != 0 &&
	    err[0] != '\0')
		watch_notice(w, "%s", err);
}

/* The directory watched for this path, if any (directory roots only). */
static struct watch_dir *
watch_find(struct watch *w, size_t root, const char *path)
{
	struct watch_dir	*d;

	TAILQ_FOREACH(d, &w->dirs, link) {
		if (d->root == root && !d->awaiting &&
		    strcmp(d->path, path) == 0)
			return (d);
	}
	return (NULL);
}

/* A change: starts or extends the burst. */
static void
watch_touch(struct watch *w, const char *shown)
{
	uint64_t	now = uv_now(w->loop), delay = w->delay_ms, last;

	if (!w->pending) {
		w->pending = true;
		w->first_ms = now;
		free(w->first_path);
		w->first_path = strdup(shown);
	}
	/* At most 10 delays after the first change, however busy. */
	last = w->first_ms + (w->delay_ms > UINT64_MAX / 10 ? UINT64_MAX :
	    w->delay_ms * 10);
	if (last < w->first_ms)
		last = UINT64_MAX;
	if (now + delay > last)
		delay = last > now ? last - now : 0;
	uv_timer_start(&w->timer, watch_timer_cb, delay, 0);
}

/*
 * inotify said something changed in a watched directory: filename is
 * the entry (libuv names the directory itself for events about it).
 */
static void
watch_event_cb(uv_fs_event_t *h, const char *filename, int events,
    int status)
{
	struct watch_dir	*d = h->data;
	struct watch		*w = d->watch;
	const struct watch_root	*r = &w->roots[d->root];
	struct stat		 st;
	char			 child[PATH_MAX], shown[PATH_MAX], err[PATH_MAX + 128];
	const char		*name = filename != NULL ? filename : "";
	const char		*rel, *slash;
	size_t			 root;
	unsigned		 depth;

	(void)events;
	if (w->closing || d->closing || status < 0)
		return;
	if (r->name != NULL) {
		/* A watched file: only its own name counts. */
		if (strcmp(name, r->name) != 0)
			return;
		watch_touch(w, r->given);
		return;
	}
	if (d->awaiting) {
		/* The parent of a root that went away: only its name counts. */
		slash = strrchr(r->path, '/');
		if (strcmp(name, slash != NULL ? slash + 1 : r->path) != 0 ||
		    !watch_is_dir(r->path))
			return;
		watch_await(w, d->root);
		watch_touch(w, r->given);
		return;
	}
	if (!watch_path(child, sizeof child, d->path, name))
		return;
	slash = strrchr(d->path, '/');
	if (stat(d->path, &st) != 0 || st.st_dev != d->dev ||
	    st.st_ino != d->ino || (strcmp(name, slash != NULL ? slash + 1 :
	    d->path) == 0 && lstat(child, &st) != 0)) {
		/*
		 * The watched directory itself was removed or renamed away:
		 * libuv names it by its own name then, and another directory
		 * (even one with its inode number) may already have its
		 * path.  Its watch and those below it go; a root's name is
		 * awaited in its parent.
		 */
		snprintf(child, sizeof child, "%s", d->path);
		root = d->root;
		depth = d->depth;
		watch_drop(w, child);
		if (depth == 0) {
			watch_await(w, root);
			snprintf(shown, sizeof shown, "%s", r->given);
		} else if (!watch_path(shown, sizeof shown, r->given,
		    watch_rel(r, child)))
			snprintf(shown, sizeof shown, "%s", child);
		watch_touch(w, shown);
		return;
	}
	rel = watch_rel(r, child);
	if (name[0] != '\0' && watch_ignored(w, rel, name))
		return;
	if (name[0] != '\0') {
		if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
			/* New (or moved in): watch it and what is in it. */
			if (watch_find(w, d->root, child) == NULL &&
			    watch_add_dir(w, d->root, child, d->depth + 1, err,
			    sizeof err) != 0 && err[0] != '\0')
				watch_notice(w, "%s", err);
		} else
			watch_drop(w, child);
	}
	if (rel[0] == '\0')
		snprintf(shown, sizeof shown, "%s", r->given);
	else if (!watch_path(shown, sizeof shown, r->given, rel))
		snprintf(shown, sizeof shown, "%s", child);
	watch_touch(w, shown);
}

/* The burst is over: one change callback for all of it. */
static void
watch_timer_cb(uv_timer_t *h)
{
	struct watch	*w = h->data;
	char		*path = w->first_path;

	w->first_path = NULL;
	w->pending = false;
	if (w->closing) {
		free(path);
		return;
	}
	w->change(path != NULL ? path : "?", w->arg);
	free(path);
}

/* Frees the watch once its last handle closed, then says so. */
static void
watch_closed(struct watch *w)
{
	watch_closed_cb	 closed = w->closed;
	void		*arg = w->arg;
	size_t		 i;

	for (i = 0; i < w->nroots; i++) {
		free(w->roots[i].given);
		free(w->roots[i].path);
		free(w->roots[i].name);
	}
	free(w->roots);
	for (i = 0; i < w->nignore; i++)
		free(w->ignore[i]);
	free(w->ignore);
	free(w->first_path);
	free(w);
	if (closed != NULL)
		closed(arg);
}

static void
watch_dir_close_cb(uv_handle_t *h)
{
	struct watch_dir	*d = h->data;
	struct watch		*w = d->watch;

	free(d->path);
	free(d);
	if (--w->nopen == 0)
		watch_closed(w);
}

static void
watch_timer_close_cb(uv_handle_t *h)
{
	struct watch	*w = h->data;

	if (--w->nopen == 0)
		watch_closed(w);
}

void
watch_close(struct watch *w)
{
	struct watch_dir	*d;

	if (w == NULL || w->closing)
		return;
	w->closing = true;
	while ((d = TAILQ_FIRST(&w->dirs)) != NULL)
		watch_dir_close(w, d);
	uv_close((uv_handle_t *)&w->timer, watch_timer_close_cb);
}

size_t
watch_count(const struct watch *w)
{
	return (w->ndirs);
}

/* Fills a root: its joined path and, for a file, its directory and name. */
static int
watch_root_init(struct watch_root *r, const char *base, const char *given,
    char *dir, size_t dirlen, char *err, size_t errlen)
{
	struct stat	 st;
	size_t		 n;
	char		*slash;
	int		 error;

	if (given[0] == '\0') {
		snprintf(err, errlen, "cannot watch \"\": an empty path");
		return (-EINVAL);
	}
	if ((r->given = strdup(given)) == NULL ||
	    (r->path = watch_join(base, given)) == NULL)
		goto nomem;
	n = strlen(r->path);
	while (n > 1 && r->path[n - 1] == '/')
		r->path[--n] = '\0';
	if (stat(r->path, &st) != 0) {
		error = errno;
		snprintf(err, errlen, "cannot watch \"%s\": %s", r->path,
		    strerror(error));
		return (-error);
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(dir, dirlen, "%s", r->path);
		return (0);
	}
	slash = strrchr(r->path, '/');
	if (slash == NULL) {
		snprintf(dir, dirlen, ".");
		r->name = strdup(r->path);
	} else {
		snprintf(dir, dirlen, "%.*s", slash == r->path ? 1 :
		    (int)(slash - r->path), r->path);
		r->name = strdup(slash + 1);
	}
	if (r->name == NULL)
		goto nomem;
	return (0);

nomem:
	snprintf(err, errlen, "cannot watch \"%s\": %s", given,
	    strerror(ENOMEM));
	return (-ENOMEM);
}

int
watch_new(struct watch **out, uv_loop_t *loop,
    const struct watch_options *o, char *err, size_t errlen)
{
	struct watch	*w;
	char		 dir[PATH_MAX];
	size_t		 i;
	int		 rc;

	*out = NULL;
	err[0] = '\0';
	if (o->npaths == 0 || o->change == NULL) {
		snprintf(err, errlen, "nothing to watch");
		return (-EINVAL);
	}
	if ((w = calloc(1, sizeof *w)) == NULL) {
		snprintf(err, errlen, "cannot watch: %s", strerror(ENOMEM));
		return (-ENOMEM);
	}
	w->loop = loop;
	w->delay_ms = o->delay_ms;
	w->max_dirs = o->max_dirs != 0 ? o->max_dirs : WATCH_MAX_DIRS;
	w->change = o->change;
	w->notice = o->notice;
	w->closed = o->closed;
	w->arg = o->arg;
	TAILQ_INIT(&w->dirs);
	uv_timer_init(loop, &w->timer);
	w->timer.data = w;
	uv_unref((uv_handle_t *)&w->timer);
	w->nopen = 1;

	rc = -ENOMEM;
	w->roots = calloc(o->npaths, sizeof *w->roots);
	w->ignore = calloc(o->nignore + 1, sizeof *w->ignore);
	if (w->roots == NULL || w->ignore == NULL) {
		snprintf(err, errlen, "cannot watch: %s", strerror(ENOMEM));
		goto fail;
	}
	for (i = 0; i < o->nignore; i++) {
		if ((w->ignore[i] = strdup(o->ignore[i])) == NULL) {
			snprintf(err, errlen, "cannot watch: %s",
			    strerror(ENOMEM));
			goto fail;
		}
		w->nignore++;
	}
	for (i = 0; i < o->npaths; i++) {
		w->nroots++;
		rc = watch_root_init(&w->roots[i], o->base, o->paths[i], dir,
		    sizeof dir, err, errlen);
		if (rc != 0)
			goto fail;
		rc = watch_add_dir(w, i, dir, 0, err, errlen);
		if (rc != 0) {
			if (err[0] == '\0')
				snprintf(err, errlen, "cannot watch \"%s\": "
				    "too many directories", dir);
			goto fail;
		}
	}
	*out = w;
	return (0);

fail:
	/* What was opened closes; closed() runs once it has. */
	watch_close(w);
	return (rc);
}
