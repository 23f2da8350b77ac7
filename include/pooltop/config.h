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

struct config {
	char			*path;		/* the file read */
	struct config_global	 global;
	struct pool_spec	*pools;		/* [pool X] and [service X], file order */
	size_t			 npools;
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
 * Parsers for values, shared with the command line: 0, or -EINVAL (also
 * for negative values and 64-bit overflow; *out is then unchanged).
 * Fractions are allowed when they come to a whole unit ("1.5s").
 */
int	config_parse_duration(const char *s, uint64_t *ms);	/* 250ms 5s 2m 1h; bare number: s */
int	config_parse_size(const char *s, uint64_t *bytes);	/* 512K 100M 2G (binary); bare number: bytes */

#endif
