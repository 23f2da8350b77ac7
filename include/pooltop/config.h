/*
 * pooltop configuration: an INI file (parsed with inih) turned into pool
 * specs and global settings, then validated.  Documented in
 * pooltop.conf(5).
 */
#ifndef POOLTOP_CONFIG_H
#define POOLTOP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pooltop/pool.h"

/* The [pooltop] section. */
struct config_global {
	uint64_t	 sample_interval_ms;	/* default 1000 */
	size_t		 history;		/* default 60 */
	char		*socket;		/* NULL: the default path */
	bool		 color;			/* default yes (NO_COLOR still wins) */
	bool		 confirm;		/* ask before destructive keys, default yes */
};

/* Where a pool's section and keys are in the file (for messages). */
struct config_lines {
	int	 section;	/* the [pool NAME] or [service NAME] line */
	int	 command;	/* the command key's line */
	int	 cwd;		/* the cwd key's line; 0: not set */
	bool	 service;	/* a [service NAME] section */
};

struct config {
	char			*path;		/* the file read */
	struct config_global	 global;
	struct pool_spec	*pools;		/* [pool X] and [service X], file order */
	size_t			 npools;
	struct config_lines	*lines;		/* npools entries, as pools */
};

/*
 * Reads and validates a config file.  Returns 0 and fills *cfg, or the
 * number of errors (> 0) after writing each to err as
 * "FILE:LINE: what is wrong (expected ...)", in line order, or a negative
 * errno when the file cannot be read (also written to err, as
 * "FILE: cannot open: No such file or directory").  On any failure *cfg
 * holds no pools and the defaults, and config_free() on it is harmless.
 * err may be NULL (errors are then only counted).  Not thread-safe:
 * inih's options are process-wide variables.
 */
int	config_load(struct config *cfg, const char *path, FILE *err);
/* The same from a string (name is used in messages). */
int	config_parse(struct config *cfg, const char *name, const char *text,
	    FILE *err);
/* Frees what cfg owns and resets it to the defaults; NULL ok. */
void	config_free(struct config *);

/*
 * What only this machine can tell, checked as the engine will at start
 * (config-check.c): each pool's cwd is a directory it can enter, and
 * its program (argv[0], looked up in PATH when it has no slash: the
 * pool's env.PATH if set, else pooltop's; relative to cwd when it has
 * one) is an executable file.  Writes each problem to err (NULL ok) as
 * "FILE:LINE: pool a: command \"/etc/passwd\" is not executable", with
 * the line of the cwd or command key, in line order; returns how many.
 * A relative command is not checked when the cwd is not there (that
 * one error says it).
 */
int	config_check_paths(const struct config *, FILE *err);

/*
 * Parsers for values, shared with the command line: 0, or -EINVAL (also
 * for negative values and 64-bit overflow; *out is then unchanged).
 * Fractions are allowed when they come to a whole unit ("1.5s").
 */
int	config_parse_duration(const char *s, uint64_t *ms);	/* 250ms 5s 2m 1h; bare number: s */
int	config_parse_size(const char *s, uint64_t *bytes);	/* 512K 100M 2G (binary); bare number: bytes */

/*
 * The "did you mean" of the config's messages, for the command line's
 * too: the one of n names (NULL entries skipped) that word is a likely
 * typo of (at most two edits, case ignored, a swapped pair is one), or
 * NULL.
 */
const char *config_suggest(const char *word, const char *const *names,
	    size_t n);

#endif
