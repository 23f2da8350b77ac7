/*
 * Watching files and directories for changes, on libuv's file-system
 * events (inotify on Linux), with a debounce: a burst of changes (a
 * build, an editor's save) is told once, after the paths were quiet for
 * a while.  Directories are watched recursively: libuv's events are not
 * recursive on Linux, so every directory below a watched one gets its
 * own watch, and directories created later are added as they appear.
 *
 * Private to the engine (reload.c uses it); needs only libuv.
 */
#ifndef POOLTOP_WATCH_H
#define POOLTOP_WATCH_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define WATCH_MAX_DIRS		4096	/* directories watched per watch */
#define WATCH_MAX_DEPTH		64	/* levels below a watched directory */

struct watch;

/* A burst ended: path is its first change, as "ROOT/REL" (ROOT as given). */
typedef void (*watch_change_cb)(const char *path, void *arg);
/* Something worth telling a person (a directory that cannot be watched). */
typedef void (*watch_notice_cb)(const char *text, void *arg);
/* Every handle of a closed watch is closed; its memory is gone. */
typedef void (*watch_closed_cb)(void *arg);

struct watch_options {
	const char *const *paths;	/* files or directories */
	size_t		 npaths;
	const char *const *ignore;	/* fnmatch globs: on the path relative
					   to its watched root, and on the name */
	size_t		 nignore;
	const char	*base;		/* relative paths start here; NULL: cwd */
	uint64_t	 delay_ms;	/* quiet time that ends a burst */
	unsigned	 max_dirs;	/* 0: WATCH_MAX_DIRS */
	watch_change_cb	 change;
	watch_notice_cb	 notice;	/* NULL ok */
	watch_closed_cb	 closed;	/* NULL ok */
	void		*arg;		/* for change, notice and closed */
};

/*
 * Starts watching.  Returns 0, or a negative errno with "cannot watch
 * \"PATH\": REASON" in err; then what was opened is closing, and
 * closed(arg) runs once it is (the loop must run).  The handles do not
 * keep the loop alive.  A burst ends delay_ms after its last change,
 * and at the latest 10 times delay_ms after its first (a file written
 * without pause still reloads).
 */
int	watch_new(struct watch **out, uv_loop_t *loop,
	    const struct watch_options *opts, char *err, size_t errlen);
/* Directories (and files' directories) watched now. */
size_t	watch_count(const struct watch *);
/*
 * Stops watching; no callback but closed runs after this.  The memory
 * goes when the last handle closed, then closed(arg) runs.  NULL ok.
 */
void	watch_close(struct watch *);

/*
 * The path a watched path names: path itself when absolute or base is
 * NULL, else base/path.  Returns a malloc'd string or NULL (ENOMEM).
 */
char	*watch_join(const char *base, const char *path);

#endif
