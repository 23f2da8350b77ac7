/*
 * The console printer (see console.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pooltop/logline.h"

#include "console.h"

#define CONSOLE_NAMES_MAX	65536	/* names remembered; later ones hash */

/* foreman's and docker compose's choice: no red, which says "error". */
static const char *const console_palette[CONSOLE_NCOLORS] = {
	"36", "33", "32", "35", "34", "96", "93", "92", "95", "94",
};
#define CONSOLE_POOLTOP_COLOR	"1"	/* pooltop's own lines: bold */

struct console_name {
	char		*who;
	unsigned	 color;
};

struct console {
	int			 out_fd;
	int			 err_fd;
	bool			 color_out;
	bool			 color_err;
	bool			 out_broken;	/* a write failed: out is dropped */
	bool			 err_broken;
	int			 width;
	struct logline_clock	 clock;
	char			*buf;		/* CONSOLE_BUFFER bytes for out */
	size_t			 len;
	struct console_name	*names;		/* open addressing, cap a power of 2 */
	size_t			 nnames;
	size_t			 cap;
	unsigned		 next_color;
};

int
console_new(struct console **out, const struct console_options *opts)
{
	struct console	*c;

	*out = NULL;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return (-ENOMEM);
	c->buf = malloc(CONSOLE_BUFFER);
	c->cap = 64;
	c->names = calloc(c->cap, sizeof *c->names);
	if (c->buf == NULL || c->names == NULL) {
		free(c->buf);
		free(c->names);
		free(c);
		return (-ENOMEM);
	}
	c->out_fd = opts->out_fd;
	c->err_fd = opts->err_fd;
	c->color_out = opts->color_out;
	c->color_err = opts->color_err;
	c->width = opts->width > 0 ? opts->width : 7;	/* "pooltop" */
	if (c->width > LOGLINE_WIDTH_MAX)
		c->width = LOGLINE_WIDTH_MAX;
	*out = c;
	return (0);
}

void
console_free(struct console *c)
{
	size_t	i;

	if (c == NULL)
		return;
	console_flush(c);
	for (i = 0; i < c->cap; i++)
		free(c->names[i].who);
	free(c->names);
	free(c->buf);
	free(c);
}

bool
console_want_color(int fd, bool allowed)
{
	const char	*v;

	if (!allowed || !isatty(fd))
		return (false);
	/* https://no-color.org: present and not empty disables colour. */
	if ((v = getenv("NO_COLOR")) != NULL && *v != '\0')
		return (false);
	if ((v = getenv("TERM")) != NULL && strcmp(v, "dumb") == 0)
		return (false);
	return (true);
}

/* FNV-1a: names are short, and their order of arrival is the colour. */
static size_t
console_hash(const char *s)
{
	uint64_t	h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return ((size_t)h);
}

/* Doubles the name table; false on ENOMEM (the table stays as it was). */
static bool
console_grow(struct console *c)
{
	struct console_name	*n;
	size_t			 cap = c->cap * 2, i, j;

	n = calloc(cap, sizeof *n);
	if (n == NULL)
		return (false);
	for (i = 0; i < c->cap; i++) {
		if (c->names[i].who == NULL)
			continue;
		for (j = console_hash(c->names[i].who) & (cap - 1);
		    n[j].who != NULL; j = (j + 1) & (cap - 1))
			;
		n[j] = c->names[i];
	}
	free(c->names);
	c->names = n;
	c->cap = cap;
	return (true);
}

/* The colour index of who; a new name gets the next one. */
static unsigned
console_lookup(struct console *c, const char *who)
{
	size_t	h = console_hash(who), i;
	int	w;

	for (i = h & (c->cap - 1); c->names[i].who != NULL;
	    i = (i + 1) & (c->cap - 1)) {
		if (strcmp(c->names[i].who, who) == 0)
			return (c->names[i].color);
	}
	w = (int)strlen(who);
	if (w > c->width)
		c->width = w > LOGLINE_WIDTH_MAX ? LOGLINE_WIDTH_MAX : w;
	if (c->nnames >= CONSOLE_NAMES_MAX ||
	    (2 * (c->nnames + 1) > c->cap && !console_grow(c)))
		return ((unsigned)(h % CONSOLE_NCOLORS));
	for (i = h & (c->cap - 1); c->names[i].who != NULL;
	    i = (i + 1) & (c->cap - 1))
		;
	if ((c->names[i].who = strdup(who)) == NULL)
		return ((unsigned)(h % CONSOLE_NCOLORS));
	c->names[i].color = c->next_color++ % CONSOLE_NCOLORS;
	c->nnames++;
	return (c->names[i].color);
}

void
console_add(struct console *c, const char *who)
{
	console_lookup(c, who);
}

const char *
console_color(struct console *c, const char *who)
{
	if (strchr(who, '/') == NULL)
		return (CONSOLE_POOLTOP_COLOR);	/* pooltop, a pool */
	return (console_palette[console_lookup(c, who)]);
}

int
console_width(const struct console *c)
{
	return (c->width);
}

/* Writes all of data to fd; 0 or -errno. */
static int
console_write_all(int fd, const char *data, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return (-errno);
		}
		data += n;
		len -= (size_t)n;
	}
	return (0);
}

int
console_flush(struct console *c)
{
	int	r;

	if (c->len == 0)
		return (0);
	r = c->out_broken ? -EPIPE : console_write_all(c->out_fd, c->buf,
	    c->len);
	c->len = 0;
	if (r != 0)
		c->out_broken = true;	/* a closed pipe: stop trying */
	return (r);
}

void
console_line(struct console *c, bool to_err, uint64_t time_ms,
    const char *who, enum log_stream stream, const char *text, size_t len)
{
	char		 line[4096 + 8 + LOGLINE_PREFIX_MAX];
	char		 stamp[LOGLINE_STAMP_MAX];
	struct logline	 ll;
	struct timespec	 ts;
	bool		 color = to_err ? c->color_err : c->color_out;
	size_t		 n;

	if (time_ms == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		time_ms = (uint64_t)ts.tv_sec * 1000 +
		    (uint64_t)ts.tv_nsec / 1000000;
	}
	memset(&ll, 0, sizeof ll);
	ll.stamp = logline_stamp(&c->clock, time_ms, false, stamp,
	    sizeof stamp);
	ll.who = who;
	ll.color = color ? console_color(c, who) : NULL;
	if (!color && strchr(who, '/') != NULL)
		console_lookup(c, who);	/* widens the column */
	ll.width = c->width;
	ll.stream = stream;
	ll.text = text;
	ll.len = len;
	n = logline_format(line, sizeof line, &ll);
	if (to_err) {
		console_flush(c);
		if (!c->err_broken && console_write_all(c->err_fd, line, n) != 0)
			c->err_broken = true;
		return;
	}
	if (c->out_broken)
		return;
	if (c->len + n > CONSOLE_BUFFER)
		console_flush(c);
	memcpy(c->buf + c->len, line, n);
	c->len += n;
}
