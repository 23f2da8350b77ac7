/*
 * pooltop configuration: an INI file read with inih into pool specs and
 * global settings, then validated.  Every mistake is collected as
 * "FILE:LINE: what is wrong (expected ...)" and all of them are printed
 * in line order at the end, so one run shows everything to fix.
 *
 * inih splits "key = value" lines and strips blanks; we hand it the text
 * through our own reader, one line per call, which lets us count lines,
 * own the [section] headers (inih does not report empty sections and cuts
 * long names) and report malformed lines with their numbers (inih only
 * returns the first one).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/*
 * Debian builds libinih with INI_HANDLER_LINENO, so the handler gets the
 * line number as a fifth argument: declare the handler type that way so
 * it matches the library.  We count lines in our reader all the same
 * (inih hands the handler the line the reader last returned), so the
 * numbers stay right with a libinih built without it.
 */
#define INI_HANDLER_LINENO 1
#include <ini.h>

#include "pooltop/balance.h"
#include "pooltop/config.h"

#define CONFIG_MAX_LINE		16384		/* bytes in a line */
#define CONFIG_MAX_FILE		(1u << 20)	/* bytes in a file */
#define CONFIG_MAX_NAME		64		/* bytes in a pool name */
#define CONFIG_MAX_WORKERS	POOL_WORKERS_MAX	/* 4096, as pool_scale() */
#define CONFIG_MAX_WEIGHT	1000000
#define CONFIG_MAX_SOCKET	107		/* sun_path minus the NUL */
#define CONFIG_QUOTE_MAX	60		/* bytes shown of a value */
#define CONFIG_MAX_LOCKS	64		/* locks per pool (lock.h) */
#define CONFIG_MAX_LOCK_NAME	63		/* bytes in a lock name */

enum section_kind {
	SECTION_NONE,		/* before the first header */
	SECTION_GLOBAL,		/* [pooltop] */
	SECTION_POOL,		/* [pool NAME] */
	SECTION_SERVICE,	/* [service NAME] */
	SECTION_UNKNOWN,	/* reported; its keys are skipped */
};

/* What a key's value is. */
enum key_type {
	KEY_COMMAND,
	KEY_SHELL,
	KEY_PATH,
	KEY_FILE,		/* a file's path: log_file */
	KEY_ENV,
	KEY_UINT,
	KEY_DURATION,
	KEY_SIZE,
	KEY_BOOL,
	KEY_STRATEGY,
	KEY_WEIGHTS,
	KEY_BACKOFF,
	KEY_RESTART,
	KEY_SIGNAL,
	KEY_MODE,
	KEY_SOCKET,
	KEY_WATCH_LIST,		/* "a, b, c": watch, watch_ignore */
	KEY_RELOAD_MODE,
	KEY_LOCKS,
};

#define KEY_TASKS	0x1	/* only where tasks are sent: not [service] */
#define KEY_OFF		0x2	/* "off" is accepted and means 0 */

struct key_def {
	const char	*name;
	enum key_type	 type;
	size_t		 offset;	/* in pool_spec or config_global */
	size_t		 width;		/* of the field, for numbers */
	uint64_t	 min;
	uint64_t	 max;
	unsigned	 flags;
	const char	*range;		/* bounds of a duration, for messages */
};

#define SPEC(f)		offsetof(struct pool_spec, f), \
			sizeof(((struct pool_spec *)0)->f)
#define GLOBAL(f)	offsetof(struct config_global, f), \
			sizeof(((struct config_global *)0)->f)

/* The keys of [pool NAME] and [service NAME], in pooltop.conf(5)'s order. */
static const struct key_def pool_keys[] = {
	{ "command", KEY_COMMAND, 0, 0, 0, 0, 0, NULL },
	{ "shell", KEY_SHELL, 0, 0, 0, 0, 0, NULL },
	{ "cwd", KEY_PATH, SPEC(cwd), 0, 0, 0, NULL },
	{ "env.NAME", KEY_ENV, 0, 0, 0, 0, 0, NULL },
	{ "mode", KEY_MODE, SPEC(mode), 0, 0, KEY_TASKS, NULL },
	{ "workers", KEY_UINT, SPEC(workers), 1, CONFIG_MAX_WORKERS, 0, NULL },
	{ "min_workers", KEY_UINT, SPEC(min_workers), 0, CONFIG_MAX_WORKERS,
	    KEY_TASKS, NULL },
	{ "parallel_jobs", KEY_UINT, SPEC(parallel_jobs), 1, 65535,
	    KEY_TASKS, NULL },
	{ "strategy", KEY_STRATEGY, SPEC(strategy), 0, 0, KEY_TASKS, NULL },
	{ "weights", KEY_WEIGHTS, 0, 0, 0, CONFIG_MAX_WEIGHT, KEY_TASKS, NULL },
	{ "seed", KEY_UINT, SPEC(seed), 0, UINT64_MAX, KEY_TASKS, NULL },
	{ "queue_cap", KEY_UINT, SPEC(queue_cap), 1, 1000000, KEY_TASKS,
	    NULL },
	{ "task_timeout", KEY_DURATION, SPEC(task_timeout_ms), 0, UINT64_MAX,
	    KEY_TASKS | KEY_OFF, NULL },
	{ "retry", KEY_UINT, SPEC(retry), 0, 100, KEY_TASKS, NULL },
	{ "handshake", KEY_DURATION, SPEC(handshake_ms), 1, UINT64_MAX,
	    KEY_TASKS, "at least 1ms" },
	{ "idle_sleep", KEY_DURATION, SPEC(idle_sleep_ms), 0, UINT64_MAX,
	    KEY_TASKS | KEY_OFF, NULL },
	{ "restart", KEY_RESTART, SPEC(restart), 0, 0, 0, NULL },
	{ "max_restarts", KEY_UINT, SPEC(max_restarts), 1, 1000000, 0, NULL },
	{ "restart_window", KEY_DURATION, SPEC(restart_window_ms), 1,
	    UINT64_MAX, 0, "at least 1ms" },
	{ "backoff", KEY_BACKOFF, 0, 0, 1, UINT64_MAX, 0, NULL },
	{ "stop_signal", KEY_SIGNAL, SPEC(stop_signal), 0, 0, 0, NULL },
	{ "stop_timeout", KEY_DURATION, SPEC(stop_timeout_ms), 0, UINT64_MAX,
	    0, NULL },
	{ "memory_limit", KEY_SIZE, SPEC(memory_limit), 0, UINT64_MAX, KEY_OFF,
	    NULL },
	{ "tree", KEY_BOOL, SPEC(tree), 0, 0, 0, NULL },
	{ "log_lines", KEY_UINT, SPEC(log_lines), 1, 1000000, 0, NULL },
	{ "log_file", KEY_FILE, SPEC(log_file), 0, 0, 0, NULL },
	{ "log_max", KEY_SIZE, SPEC(log_max), 1024, UINT64_MAX, KEY_OFF,
	    "at least 1K, or off" },
	{ "log_keep", KEY_UINT, SPEC(log_keep), 0, 100, 0, NULL },
	{ "watch", KEY_WATCH_LIST, SPEC(watch), 0, 0, 0, NULL },
	{ "watch_ignore", KEY_WATCH_LIST, SPEC(watch_ignore), 0, 0, 0, NULL },
	{ "watch_delay", KEY_DURATION, SPEC(watch_delay_ms), 0, 3600000, 0,
	    "from 0ms to 1h" },
	{ "reload", KEY_RELOAD_MODE, SPEC(reload), 0, 0, 0, NULL },
	{ "locks", KEY_LOCKS, 0, 0, 0, 0, 0, NULL },
	{ "log_rate_limit", KEY_UINT, SPEC(log_rate_limit), 0, 100000000, 0,
	    NULL },
};
#define NPOOL_KEYS (sizeof pool_keys / sizeof pool_keys[0])

/* The keys of [pooltop]. */
static const struct key_def global_keys[] = {
	{ "interval", KEY_DURATION, GLOBAL(sample_interval_ms), 100, 3600000,
	    0, "from 100ms to 1h" },
	{ "history", KEY_UINT, GLOBAL(history), 1, 100000, 0, NULL },
	{ "socket", KEY_SOCKET, GLOBAL(socket), 0, 0, 0, NULL },
	{ "color", KEY_BOOL, GLOBAL(color), 0, 0, 0, NULL },
	{ "confirm", KEY_BOOL, GLOBAL(confirm), 0, 0, 0, NULL },
};
#define NGLOBAL_KEYS (sizeof global_keys / sizeof global_keys[0])

static const char *const section_kinds[] = { "pool", "service", "pooltop" };

static const struct {
	const char	*name;
	bool		 value;
} bool_words[] = {
	{ "yes", true }, { "no", false }, { "true", true }, { "false", false },
	{ "on", true }, { "off", false }, { "1", true }, { "0", false },
};

static const struct {
	const char	*name;
	enum pool_restart value;
} restart_words[] = {
	{ "on-failure", POOL_RESTART_ON_FAILURE },
	{ "always", POOL_RESTART_ALWAYS },
	{ "never", POOL_RESTART_NEVER },
};

static const struct {
	const char		*name;
	enum pool_reload_mode	 value;
} reload_words[] = {
	{ "rolling", POOL_RELOAD_ROLLING },
	{ "restart", POOL_RELOAD_RESTART },
};

static const struct {
	const char	*name;
	enum pool_mode	 value;
} mode_words[] = {
	{ "auto", POOL_MODE_AUTO },
	{ "worker", POOL_MODE_WORKER },
	{ "service", POOL_MODE_SERVICE },
};

static const struct {
	const char	*name;
	int		 value;
} signal_words[] = {
	{ "TERM", SIGTERM }, { "INT", SIGINT }, { "HUP", SIGHUP },
	{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
	{ "QUIT", SIGQUIT },
};

#define NITEMS(a) (sizeof (a) / sizeof (a)[0])

/* A pool being read, with what validation needs to know about its keys. */
struct pool_entry {
	struct pool_spec spec;
	enum section_kind kind;
	int		 line;		/* of its [header] */
	char		*command;	/* the raw value */
	int		 command_line;
	int		 command_col;	/* 1-based column of the value */
	bool		 shell;
	int		 min_workers_line;	/* 0: not set */
	int		 weights_line;
	int		 log_file_line;		/* 0: not set */
	int		 log_rotate_line;	/* log_max or log_keep; 0: not set */
	int		 cwd_line;		/* 0: not set */
};

/* A key already set in the current section. */
struct seen_key {
	char	*name;
	int	 line;
};

/* One error, kept until the end so they print in line order. */
struct config_error {
	int	 line;		/* 0: about the whole file */
	size_t	 seq;		/* keeps the order of errors on a line */
	char	*text;
};

struct parser {
	const char		*name;		/* for messages */
	bool			 oom;

	/* The reader's position and the line it last handed to inih. */
	const char		*pos;
	int			 lineno;
	const char		*line;
	size_t			 line_len;

	enum section_kind	 kind;
	struct pool_entry	*entries;
	size_t			 nentries;
	size_t			 cap;
	struct seen_key		*seen;
	size_t			 nseen;
	size_t			 seen_cap;

	struct config_global	 global;
	int			 global_line;	/* first [pooltop], 0: none */

	struct config_error	*errors;
	size_t			 nerrors;
	size_t			 errors_cap;
};

/* A quoted, escaped and shortened copy of a value for a message. */
struct quoted {
	char	 s[CONFIG_QUOTE_MAX * 4 + 8];
};

static void	config_global_init(struct config_global *);

/* Records an error about line (0: the whole file). */
static void __attribute__((format(printf, 3, 4)))
parser_error(struct parser *p, int line, const char *fmt, ...)
{
	struct config_error	*e;
	va_list			 ap;
	char			*text;
	int			 n;

	if (p->nerrors == p->errors_cap) {
		size_t	ncap = p->errors_cap ? p->errors_cap * 2 : 16;

		e = realloc(p->errors, ncap * sizeof *e);
		if (e == NULL) {
			p->oom = true;
			return;
		}
		p->errors = e;
		p->errors_cap = ncap;
	}
	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		p->oom = true;
		return;
	}
	e = &p->errors[p->nerrors];
	e->line = line;
	e->seq = p->nerrors;
	e->text = text;
	p->nerrors++;
}

static int
config_error_cmp(const void *a, const void *b)
{
	const struct config_error *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Prints the errors in line order ("FILE:LINE: text") and frees them. */
static void
parser_flush_errors(struct parser *p, FILE *err)
{
	size_t	i;

	qsort(p->errors, p->nerrors, sizeof *p->errors, config_error_cmp);
	for (i = 0; i < p->nerrors; i++) {
		if (err != NULL && p->errors[i].line > 0)
			fprintf(err, "%s:%d: %s\n", p->name, p->errors[i].line,
			    p->errors[i].text);
		else if (err != NULL)
			fprintf(err, "%s: %s\n", p->name, p->errors[i].text);
		free(p->errors[i].text);
	}
	if (err != NULL)
		fflush(err);
	free(p->errors);
	p->errors = NULL;
	p->nerrors = p->errors_cap = 0;
}

/*
 * Quotes len bytes of s for a message: control bytes, '"' and '\' are
 * escaped and a long value is cut (at a character boundary) with "...".
 */
static const char *
quote_n(struct quoted *q, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char		*o = q->s;
	size_t		 i, shown = len;
	unsigned char	 c;

	if (shown > CONFIG_QUOTE_MAX) {
		shown = CONFIG_QUOTE_MAX;
		while (shown > 0 && ((unsigned char)s[shown] & 0xc0) == 0x80)
			shown--;
	}
	*o++ = '"';
	for (i = 0; i < shown; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 0xf];
		} else
			*o++ = (char)c;
	}
	if (shown < len) {
		memcpy(o, "...", 3);
		o += 3;
	}
	*o++ = '"';
	*o = '\0';
	return q->s;
}

static const char *
quote(struct quoted *q, const char *s)
{
	return quote_n(q, s, strlen(s));
}

/*
 * Optimal string alignment distance (Damerau-Levenshtein where a swapped
 * pair counts as one edit), ignoring case; SIZE_MAX for long strings.
 */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), i, j, cost, v;
	size_t	d[33][33];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			cost = tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]);
			v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 &&
			    tolower((unsigned char)a[i - 1]) ==
			    tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) ==
			    tolower((unsigned char)b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/*
 * The closest of n names to word, if near enough to be a likely typo: at
 * most two edits (one for words under three characters), and fewer edits
 * than the word has characters.  NULL if none.
 */
static const char *
closest(const char *word, const char *const *names, size_t n)
{
	const char	*best = NULL;
	size_t		 i, d, bestd = SIZE_MAX, limit, len = strlen(word);

	limit = len < 3 ? 1 : 2;
	for (i = 0; i < n; i++) {
		if (names[i] == NULL)
			continue;
		d = edit_distance(word, names[i]);
		if (d <= limit && d < len && d < bestd) {
			best = names[i];
			bestd = d;
		}
	}
	return best;
}

/* Builds "a, b, c" from the names that are not NULL. */
static const char *
names_join(char *buf, size_t size, const char *const *names, size_t n)
{
	size_t	used = 0, i;
	bool	first = true;
	int	w;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (names[i] == NULL)
			continue;
		w = snprintf(buf + used, size - used, "%s%s",
		    first ? "" : ", ", names[i]);
		if (w < 0 || (size_t)w >= size - used)
			break;
		used += (size_t)w;
		first = false;
	}
	return buf;
}

const char *
config_suggest(const char *word, const char *const *names, size_t n)
{
	return word != NULL ? closest(word, names, n) : NULL;
}

/* "; did you mean \"b\"?" when word is near one of names, else "". */
static const char *
did_you_mean(char *buf, size_t size, const char *word,
    const char *const *names, size_t n)
{
	const char	*best;

	buf[0] = '\0';
	if ((best = closest(word, names, n)) != NULL)
		snprintf(buf, size, "; did you mean \"%s\"?", best);
	return buf;
}

#define LABEL_SIZE	(CONFIG_QUOTE_MAX * 4 + 32)

/* "[pool web]" or "[service x]" (a bad name shown quoted). */
static const char *
entry_label(const struct pool_entry *e, char *buf, size_t size)
{
	const char	*kind = e->kind == SECTION_SERVICE ? "service" : "pool";
	const char	*s;
	struct quoted	 q;

	for (s = e->spec.name; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("_.-", *s) == NULL)
			break;
	if (*s == '\0' && s - e->spec.name <= CONFIG_MAX_NAME)
		snprintf(buf, size, "[%s %s]", kind, e->spec.name);
	else
		snprintf(buf, size, "[%s %s]", kind, quote(&q, e->spec.name));
	return buf;
}

/* "[pool web]", "[service x]" or "[pooltop]" for the current section. */
static const char *
section_label(struct parser *p, char *buf, size_t size)
{
	if (p->kind == SECTION_GLOBAL || p->nentries == 0)
		return "[pooltop]";
	return entry_label(&p->entries[p->nentries - 1], buf, size);
}

/* ---- values ------------------------------------------------------------ */

enum parse_result {
	PARSE_OK,
	PARSE_BAD,		/* not of the expected form */
	PARSE_NEGATIVE,
	PARSE_TOO_LARGE,	/* overflows 64 bits */
};

struct unit {
	const char	*suffix;
	uint64_t	 factor;
};

static const struct unit duration_units[] = {
	{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
	{ "h", 3600000 }, { NULL, 0 },
};

/* Matched ignoring case: binary units, with optional B or iB. */
static const struct unit size_units[] = {
	{ "", 1 }, { "b", 1 },
	{ "k", 1ull << 10 }, { "kb", 1ull << 10 }, { "kib", 1ull << 10 },
	{ "m", 1ull << 20 }, { "mb", 1ull << 20 }, { "mib", 1ull << 20 },
	{ "g", 1ull << 30 }, { "gb", 1ull << 30 }, { "gib", 1ull << 30 },
	{ "t", 1ull << 40 }, { "tb", 1ull << 40 }, { "tib", 1ull << 40 },
	{ NULL, 0 },
};

static uint64_t
gcd64(uint64_t a, uint64_t b)
{
	uint64_t	t;

	while (b != 0) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/*
 * Parses "NUMBER[.FRACTION][ ]UNIT" (surrounding blanks allowed) into
 * the base unit, exactly: a fraction must come to a whole base unit.
 */
static enum parse_result
parse_scaled(const char *s, const struct unit *units, bool icase,
    uint64_t *out)
{
	const char	*q = s, *suffix;
	uint64_t	 ip = 0, fp = 0, pow10 = 1, f, g, frac, v;
	size_t		 ndigits = 0, slen;
	bool		 overflow = false, inexact = false;
	int		 d;

	while (isspace((unsigned char)*q))
		q++;
	if (*q == '-' && (isdigit((unsigned char)q[1]) || q[1] == '.'))
		return PARSE_NEGATIVE;
	for (; isdigit((unsigned char)*q); q++, ndigits++) {
		d = *q - '0';
		if (ip > (UINT64_MAX - (uint64_t)d) / 10)
			overflow = true;
		else
			ip = ip * 10 + (uint64_t)d;
	}
	if (*q == '.') {
		for (q++; isdigit((unsigned char)*q); q++, ndigits++) {
			d = *q - '0';
			if (pow10 < 1000000000000000000ull) {
				fp = fp * 10 + (uint64_t)d;
				pow10 *= 10;
			} else if (d != 0)
				inexact = true;
		}
	}
	if (ndigits == 0)
		return PARSE_BAD;
	while (*q == ' ' || *q == '\t')
		q++;
	suffix = q;
	for (slen = strlen(suffix); slen > 0 &&
	    isspace((unsigned char)suffix[slen - 1]); slen--)
		;
	for (; units->suffix != NULL; units++) {
		if (strlen(units->suffix) != slen)
			continue;
		if (icase ? strncasecmp(units->suffix, suffix, slen) == 0 :
		    strncmp(units->suffix, suffix, slen) == 0)
			break;
	}
	if (units->suffix == NULL || inexact)
		return PARSE_BAD;
	if (overflow)
		return PARSE_TOO_LARGE;
	f = units->factor;
	if (ip > UINT64_MAX / f)
		return PARSE_TOO_LARGE;
	v = ip * f;
	/* fp / pow10 * f, exactly: reduce by the common factor first. */
	g = gcd64(f, pow10);
	if (fp % (pow10 / g) != 0)
		return PARSE_BAD;
	frac = fp / (pow10 / g) * (f / g);
	if (v > UINT64_MAX - frac)
		return PARSE_TOO_LARGE;
	*out = v + frac;
	return PARSE_OK;
}

/* Parses a duration into milliseconds: 250ms 5s 2m 1h, a bare number is s. */
int
config_parse_duration(const char *s, uint64_t *ms)
{
	uint64_t	v;

	if (s == NULL || parse_scaled(s, duration_units, false, &v) != PARSE_OK)
		return -EINVAL;
	*ms = v;
	return 0;
}

/* Parses a size into bytes: 512K 100M 2G (binary), a bare number is bytes. */
int
config_parse_size(const char *s, uint64_t *bytes)
{
	uint64_t	v;

	if (s == NULL || parse_scaled(s, size_units, true, &v) != PARSE_OK)
		return -EINVAL;
	*bytes = v;
	return 0;
}

/* Parses a whole decimal number (no sign, no blanks). */
static enum parse_result
parse_u64(const char *s, uint64_t *out)
{
	uint64_t	v = 0;
	int		d;
	bool		overflow = false;

	if (s[0] == '-' && isdigit((unsigned char)s[1]))
		return PARSE_NEGATIVE;
	if (!isdigit((unsigned char)*s))
		return PARSE_BAD;
	for (; isdigit((unsigned char)*s); s++) {
		d = *s - '0';
		if (v > (UINT64_MAX - (uint64_t)d) / 10)
			overflow = true;
		else
			v = v * 10 + (uint64_t)d;
	}
	if (*s != '\0')
		return PARSE_BAD;
	if (overflow)
		return PARSE_TOO_LARGE;
	*out = v;
	return PARSE_OK;
}

/* Stores v in a numeric field of width bytes. */
static void
store_number(void *base, size_t offset, size_t width, uint64_t v)
{
	char	*field = (char *)base + offset;

	switch (width) {
	case sizeof(uint64_t): {
		uint64_t	x = v;

		memcpy(field, &x, sizeof x);
		break;
	}
	case sizeof(uint32_t): {
		uint32_t	x = (uint32_t)v;

		memcpy(field, &x, sizeof x);
		break;
	}
	default:
		abort();
	}
}

/* Reads a whole number for key k; reports and returns false if bad. */
static bool
value_uint(struct parser *p, int line, const char *key, const char *value,
    uint64_t min, uint64_t max, uint64_t *out)
{
	struct quoted	q;
	const char	*what = NULL;
	uint64_t	v = 0;

	switch (parse_u64(value, &v)) {
	case PARSE_OK:
		if (v >= min && v <= max) {
			*out = v;
			return true;
		}
		what = "is out of range";
		break;
	case PARSE_NEGATIVE:
		what = "is negative";
		break;
	case PARSE_TOO_LARGE:
		what = "is out of range";
		break;
	case PARSE_BAD:
		break;
	}
	if (what == NULL)
		parser_error(p, line, "bad value %s for %s (expected a whole "
		    "number from %llu to %llu)", quote(&q, value), key,
		    (unsigned long long)min, (unsigned long long)max);
	else
		parser_error(p, line, "%s = %s %s (expected a whole number "
		    "from %llu to %llu)", key, quote(&q, value), what,
		    (unsigned long long)min, (unsigned long long)max);
	return false;
}

#define DURATION_EXPECTED \
	"a number and a unit: ms, s, m or h, such as 250ms or 5s"
#define SIZE_EXPECTED \
	"a number and a unit: K, M or G, such as 512K or 100M"

/*
 * Reads a duration (size false) or a size for key k; "off" gives 0 when
 * the key allows it.  Reports and returns false if bad.
 */
static bool
value_scaled(struct parser *p, int line, const struct key_def *k,
    const char *value, bool size, uint64_t *out)
{
	struct quoted	 q;
	const char	*expected = size ? SIZE_EXPECTED : DURATION_EXPECTED;
	const char	*off = (k->flags & KEY_OFF) ? ", or off" : "";
	uint64_t	 v = 0;

	if ((k->flags & KEY_OFF) && strcasecmp(value, "off") == 0) {
		*out = 0;
		return true;
	}
	switch (parse_scaled(value, size ? size_units : duration_units, size,
	    &v)) {
	case PARSE_OK:
		if (v >= k->min && v <= k->max) {
			*out = v;
			return true;
		}
		parser_error(p, line, "%s = %s is out of range (expected %s)",
		    k->name, quote(&q, value), k->range != NULL ? k->range :
		    expected);
		return false;
	case PARSE_NEGATIVE:
		parser_error(p, line, "%s = %s is negative (expected %s%s)",
		    k->name, quote(&q, value), expected, off);
		return false;
	case PARSE_TOO_LARGE:
		parser_error(p, line, "%s = %s is too large (expected %s%s)",
		    k->name, quote(&q, value), expected, off);
		return false;
	case PARSE_BAD:
		break;
	}
	parser_error(p, line, "bad %s %s for %s (expected %s%s)",
	    size ? "size" : "duration", quote(&q, value), k->name, expected,
	    off);
	return false;
}

/* Reads yes/no/true/false/on/off/1/0; reports and returns false if bad. */
static bool
value_bool(struct parser *p, int line, const char *key, const char *value,
    bool *out)
{
	const char	*names[NITEMS(bool_words)];
	char		 list[256], hint[64];
	struct quoted	 q;
	size_t		 i;

	for (i = 0; i < NITEMS(bool_words); i++) {
		if (strcasecmp(value, bool_words[i].name) == 0) {
			*out = bool_words[i].value;
			return true;
		}
		names[i] = bool_words[i].name;
	}
	parser_error(p, line, "bad value %s for %s (expected one of %s%s)",
	    quote(&q, value), key,
	    names_join(list, sizeof list, names, NITEMS(names)),
	    did_you_mean(hint, sizeof hint, value, names, NITEMS(names)));
	return false;
}

/* ---- command lines ----------------------------------------------------- */

enum split_fault {
	SPLIT_SQUOTE,		/* a ' never closed */
	SPLIT_DQUOTE,		/* a " never closed */
	SPLIT_BACKSLASH,	/* a \ with nothing after it */
};

/*
 * Splits a command into words: blanks (spaces, tabs) separate words;
 * '...' is literal; "..." is literal but for \" and \\; outside quotes
 * a backslash takes the next character literally.  Returns 0 (*out is
 * NULL for no words), -ENOMEM, or -EINVAL with *why and *at (the byte
 * offset of the fault in s).
 */
static int
split_command(const char *s, char ***out, enum split_fault *why, size_t *at)
{
	char		**argv = NULL, **nargv, *buf, *word;
	const char	 *q = s, *open;
	size_t		  n = 0, cap = 0, len;
	int		  rc = -ENOMEM;

	if ((buf = malloc(strlen(s) + 1)) == NULL)
		return -ENOMEM;
	for (;;) {
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '\0')
			break;
		len = 0;
		while (*q != '\0' && *q != ' ' && *q != '\t') {
			if (*q == '\'') {
				open = q++;
				while (*q != '\0' && *q != '\'')
					buf[len++] = *q++;
				if (*q == '\0') {
					*why = SPLIT_SQUOTE;
					*at = (size_t)(open - s);
					rc = -EINVAL;
					goto fail;
				}
				q++;
			} else if (*q == '"') {
				open = q++;
				while (*q != '\0' && *q != '"') {
					if (q[0] == '\\' &&
					    (q[1] == '"' || q[1] == '\\'))
						q++;
					buf[len++] = *q++;
				}
				if (*q == '\0') {
					*why = SPLIT_DQUOTE;
					*at = (size_t)(open - s);
					rc = -EINVAL;
					goto fail;
				}
				q++;
			} else if (*q == '\\') {
				if (q[1] == '\0') {
					*why = SPLIT_BACKSLASH;
					*at = (size_t)(q - s);
					rc = -EINVAL;
					goto fail;
				}
				q++;
				buf[len++] = *q++;
			} else
				buf[len++] = *q++;
		}
		if (n + 2 > cap) {
			cap = cap ? cap * 2 : 8;
			if ((nargv = realloc(argv, cap * sizeof *argv)) == NULL)
				goto fail;
			argv = nargv;
		}
		if ((word = strndup(buf, len)) == NULL)
			goto fail;
		argv[n++] = word;
		argv[n] = NULL;
	}
	free(buf);
	*out = argv;
	return 0;

fail:
	while (n > 0)
		free(argv[--n]);
	free(argv);
	free(buf);
	return rc;
}

/* Turns the entry's command (and shell) into the spec's argv. */
static void
entry_build_argv(struct parser *p, struct pool_entry *e, const char *label)
{
	static const char *const faults[][2] = {
		[SPLIT_SQUOTE] = { "unterminated ' quote", "a closing '" },
		[SPLIT_DQUOTE] = { "unterminated \" quote", "a closing \"" },
		[SPLIT_BACKSLASH] = { "lone backslash",
		    "a character after it" },
	};
	enum split_fault why = SPLIT_SQUOTE;
	char		**argv = NULL;
	size_t		 at = 0;
	int		 rc;

	if (e->command == NULL) {
		parser_error(p, e->line, "%s has no command (expected a "
		    "\"command = PROGRAM ARGS...\" line)", label);
		return;
	}
	if (e->shell) {
		if (e->command[0] == '\0')
			goto empty;
		if ((argv = calloc(4, sizeof *argv)) == NULL ||
		    (argv[0] = strdup("/bin/sh")) == NULL ||
		    (argv[1] = strdup("-c")) == NULL ||
		    (argv[2] = strdup(e->command)) == NULL) {
			if (argv != NULL) {
				free(argv[0]);
				free(argv[1]);
			}
			free(argv);
			p->oom = true;
			return;
		}
		e->spec.argv = argv;
		return;
	}
	rc = split_command(e->command, &argv, &why, &at);
	if (rc == -ENOMEM) {
		p->oom = true;
		return;
	}
	if (rc != 0) {
		parser_error(p, e->command_line, "%s in command at column %zu "
		    "(expected %s)", faults[why][0],
		    (size_t)e->command_col + at, faults[why][1]);
		return;
	}
	if (argv == NULL)
		goto empty;
	e->spec.argv = argv;
	return;

empty:
	parser_error(p, e->command_line, "command is empty (expected a "
	    "program and its arguments)");
}

/*
 * log_max and log_keep need a log_file, and two pools cannot share one
 * (each would rotate the other's file away).
 */
static void
entry_check_log(struct parser *p, struct pool_entry *e)
{
	char		 label[LABEL_SIZE], other[LABEL_SIZE];
	struct quoted	 q;
	size_t		 i;

	if (e->spec.log_file == NULL) {
		if (e->log_rotate_line != 0)
			parser_error(p, e->log_rotate_line, "log_max and "
			    "log_keep rotate a log_file, and %s has none "
			    "(expected log_file = PATH)", entry_label(e, label,
			    sizeof label));
		return;
	}
	for (i = 0; i < p->nentries && &p->entries[i] != e; i++) {
		if (p->entries[i].spec.log_file == NULL ||
		    strcmp(p->entries[i].spec.log_file, e->spec.log_file) != 0)
			continue;
		parser_error(p, e->log_file_line, "log_file %s is already the "
		    "log file of %s (line %d): give %s a file of its own",
		    quote(&q, e->spec.log_file), entry_label(&p->entries[i],
		    other, sizeof other), p->entries[i].log_file_line,
		    entry_label(e, label, sizeof label));
		return;
	}
}

/* Checks what depends on several keys, once the section is complete. */
static void
entry_finish(struct parser *p, struct pool_entry *e)
{
	char	label[LABEL_SIZE];

	entry_build_argv(p, e, entry_label(e, label, sizeof label));
	if (e->kind == SECTION_SERVICE)
		e->spec.mode = POOL_MODE_SERVICE;
	if (e->spec.mode == POOL_MODE_SERVICE && e->min_workers_line == 0) {
		/* No task ever spawns a service: start them all. */
		e->spec.min_workers = e->spec.workers;
	} else if (e->spec.min_workers > e->spec.workers)
		parser_error(p, e->min_workers_line, "min_workers = %u is more "
		    "than workers = %u (expected at most %u)",
		    e->spec.min_workers, e->spec.workers, e->spec.workers);
	if (e->spec.nweights > e->spec.workers)
		parser_error(p, e->weights_line, "weights lists %zu weights "
		    "for %u workers (expected at most %u)", e->spec.nweights,
		    e->spec.workers, e->spec.workers);
	entry_check_log(p, e);
}

/* ---- keys -------------------------------------------------------------- */

/* Items in a comma-separated list (empty items count). */
static size_t
list_count(const char *value)
{
	size_t	n = 1;

	for (; *value != '\0'; value++)
		n += *value == ',';
	return (n);
}

/*
 * The next item of a comma-separated list being cut in place, with its
 * blanks trimmed, or NULL after the last; *cursor starts at a copy of the
 * value.  Unlike strtok_r, empty items are returned (as "").
 */
static char *
list_next(char **cursor)
{
	char	*item = *cursor, *end;

	if (item == NULL)
		return (NULL);
	if ((*cursor = strchr(item, ',')) != NULL)
		*(*cursor)++ = '\0';
	while (isspace((unsigned char)*item))
		item++;
	for (end = item + strlen(item); end > item &&
	    isspace((unsigned char)end[-1]); end--)
		;
	*end = '\0';
	return (item);
}

/* Reads "w1, w2, ..." into the spec's weights. */
static void
key_weights(struct parser *p, int line, struct pool_entry *e,
    const char *value)
{
	unsigned	*w = NULL;
	char		*copy, *item, *save = NULL;
	size_t		 n = 0, ncommas = 0;
	uint64_t	 v;
	struct quoted	 q;

	ncommas = list_count(value) - 1;
	if ((copy = strdup(value)) == NULL ||
	    (w = calloc(ncommas + 1, sizeof *w)) == NULL) {
		free(copy);
		p->oom = true;
		return;
	}
	save = copy;
	while ((item = list_next(&save)) != NULL) {
		if (parse_u64(item, &v) != PARSE_OK || v > CONFIG_MAX_WEIGHT) {
			parser_error(p, line, "bad weight %s in weights "
			    "(expected whole numbers from 0 to %u, separated "
			    "by commas)", quote(&q, item), CONFIG_MAX_WEIGHT);
			free(copy);
			free(w);
			return;
		}
		w[n++] = (unsigned)v;
	}
	free(copy);
	free(e->spec.weights);
	e->spec.weights = w;
	e->spec.nweights = n;
	e->weights_line = line;
}

/*
 * Reads "db, cache" into the spec's lock names: at most CONFIG_MAX_LOCKS,
 * each 1..CONFIG_MAX_LOCK_NAME of [A-Za-z0-9_.-], none twice.
 */
static void
key_locks(struct parser *p, int line, struct pool_entry *e,
    const char *value)
{
	char		**names = NULL, *copy, *item, *save = NULL;
	const char	 *c;
	size_t		  n = 0, ncommas = 0, i;
	struct quoted	  q;

	ncommas = list_count(value) - 1;
	if (ncommas + 1 > CONFIG_MAX_LOCKS) {
		parser_error(p, line, "too many locks in locks (%zu; expected "
		    "at most %d)", ncommas + 1, CONFIG_MAX_LOCKS);
		return;
	}
	if ((copy = strdup(value)) == NULL ||
	    (names = calloc(ncommas + 1, sizeof *names)) == NULL) {
		free(copy);
		p->oom = true;
		return;
	}
	save = copy;
	while ((item = list_next(&save)) != NULL) {
		for (c = item; *c != '\0'; c++) {
			if (!((*c >= 'a' && *c <= 'z') ||
			    (*c >= 'A' && *c <= 'Z') ||
			    (*c >= '0' && *c <= '9') || *c == '_' ||
			    *c == '.' || *c == '-'))
				break;
		}
		if (*item == '\0' || *c != '\0' ||
		    strlen(item) > CONFIG_MAX_LOCK_NAME) {
			parser_error(p, line, "bad lock name %s in locks "
			    "(expected names of 1 to %d letters, digits, '_', "
			    "'.' or '-', separated by commas)", quote(&q, item),
			    CONFIG_MAX_LOCK_NAME);
			goto fail;
		}
		for (i = 0; i < n; i++) {
			if (strcmp(names[i], item) == 0) {
				parser_error(p, line, "lock %s is named twice "
				    "in locks", quote(&q, item));
				goto fail;
			}
		}
		if ((names[n] = strdup(item)) == NULL) {
			p->oom = true;
			goto fail;
		}
		n++;
	}
	free(copy);
	for (i = 0; i < e->spec.nlocks; i++)
		free(e->spec.locks[i]);
	free(e->spec.locks);
	e->spec.locks = names;
	e->spec.nlocks = n;
	return;

fail:
	while (n > 0)
		free(names[--n]);
	free(names);
	free(copy);
}

/* Reads "INITIAL[, MAX]" into the spec's backoff. */
static void
key_backoff(struct parser *p, int line, struct pool_entry *e,
    const char *value)
{
	static const struct key_def initial = { "backoff", KEY_DURATION, 0, 0,
	    1, UINT64_MAX, 0, "at least 1ms" };
	const char	*comma = strchr(value, ',');
	char		*first, *end, *second;
	uint64_t	 a, b;
	struct quoted	 q;
	bool		 ok;

	if (comma != NULL && strchr(comma + 1, ',') != NULL) {
		parser_error(p, line, "bad backoff %s (expected an initial and "
		    "a maximum duration, such as \"100ms, 10s\", or only the "
		    "initial one)", quote(&q, value));
		return;
	}
	if (comma == NULL) {
		if (!value_scaled(p, line, &initial, value, false, &a))
			return;
		e->spec.backoff_initial_ms = a;
		if (e->spec.backoff_max_ms < a)
			e->spec.backoff_max_ms = a;
		return;
	}
	if ((first = strndup(value, (size_t)(comma - value))) == NULL) {
		p->oom = true;
		return;
	}
	for (end = first + strlen(first); end > first &&
	    isspace((unsigned char)end[-1]); end--)
		;
	*end = '\0';
	ok = value_scaled(p, line, &initial, first, false, &a);
	free(first);
	for (second = (char *)comma + 1; isspace((unsigned char)*second);
	    second++)
		;
	if (!ok || !value_scaled(p, line, &initial, second, false, &b))
		return;
	if (a > b) {
		parser_error(p, line, "backoff = %s starts above its maximum "
		    "(expected the initial delay first, then a maximum at "
		    "least as long)", quote(&q, value));
		return;
	}
	e->spec.backoff_initial_ms = a;
	e->spec.backoff_max_ms = b;
}

/* Reads a signal by name (TERM, SIGTERM, term) or number. */
static void
key_signal(struct parser *p, int line, struct pool_entry *e,
    const char *value)
{
	const char	*names[NITEMS(signal_words)];
	const char	*name = value;
	char		 list[256], hint[64];
	struct quoted	 q;
	uint64_t	 n;
	size_t		 i;

	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (i = 0; i < NITEMS(signal_words); i++) {
		names[i] = signal_words[i].name;
		if (strcasecmp(name, signal_words[i].name) == 0 ||
		    (parse_u64(value, &n) == PARSE_OK &&
		    n == (uint64_t)signal_words[i].value)) {
			e->spec.stop_signal = signal_words[i].value;
			return;
		}
	}
	parser_error(p, line, "unknown stop_signal %s (expected one of %s, "
	    "with or without SIG, or its number%s)", quote(&q, value),
	    names_join(list, sizeof list, names, NITEMS(names)),
	    did_you_mean(hint, sizeof hint, name, names, NITEMS(names)));
}

/* Reads env.NAME = value. */
static void
key_env(struct parser *p, int line, struct pool_entry *e, const char *key,
    const char *value)
{
	const char	*var = key + 4;
	struct pool_env	*env;
	struct quoted	 q;
	size_t		 i;

	for (i = 0; var[i] != '\0'; i++)
		if (!(isalnum((unsigned char)var[i]) || var[i] == '_') ||
		    (i == 0 && isdigit((unsigned char)var[i])))
			break;
	if (i == 0 || var[i] != '\0') {
		parser_error(p, line, "bad environment variable name %s in %s "
		    "(expected letters, digits and '_', not starting with a "
		    "digit)", quote(&q, var), key);
		return;
	}
	env = realloc(e->spec.env, (e->spec.nenv + 1) * sizeof *env);
	if (env == NULL) {
		p->oom = true;
		return;
	}
	e->spec.env = env;
	env[e->spec.nenv].name = strdup(var);
	env[e->spec.nenv].value = strdup(value);
	e->spec.nenv++;
	if (env[e->spec.nenv - 1].name == NULL ||
	    env[e->spec.nenv - 1].value == NULL)
		p->oom = true;
}

/* Reads one of a list of words (any case) into *out, its index. */
static bool
value_word(struct parser *p, int line, const char *what, const char *value,
    const char *const *names, size_t n, size_t *out)
{
	char		list[512], hint[64];
	struct quoted	q;
	size_t		i;

	for (i = 0; i < n; i++) {
		if (strcasecmp(value, names[i]) == 0) {
			*out = i;
			return true;
		}
	}
	parser_error(p, line, "unknown %s %s (expected one of %s%s)", what,
	    quote(&q, value), names_join(list, sizeof list, names, n),
	    did_you_mean(hint, sizeof hint, value, names, n));
	return false;
}

/* Reads a strategy name through the balancer's own parser. */
static void
key_strategy(struct parser *p, int line, struct pool_entry *e,
    const char *value)
{
	const char		*names[BALANCE_NSTRATEGIES];
	enum balance_strategy	 s;
	size_t			 i;

	if (balance_strategy_parse(value, &s) == 0) {
		e->spec.strategy = s;
		return;
	}
	for (i = 0; i < BALANCE_NSTRATEGIES; i++)
		names[i] = balance_strategy_name((enum balance_strategy)i);
	value_word(p, line, "strategy", value, names, BALANCE_NSTRATEGIES, &i);
}

/*
 * Reads "a, b, c" (watch: paths; watch_ignore: globs) into the spec's
 * array for that key, replacing what it held.
 */
static void
key_watch_list(struct parser *p, int line, struct pool_entry *e,
    const struct key_def *k, const char *value)
{
	bool		 paths = k->offset == offsetof(struct pool_spec, watch);
	const char	*expected = paths ? "files or directories separated "
			    "by commas, such as \"src, app.py\"" : "patterns "
			    "separated by commas, such as \"*.pyc, .git\"";
	char		***field = paths ? &e->spec.watch :
			    &e->spec.watch_ignore;
	size_t		*count = paths ? &e->spec.nwatch :
			    &e->spec.nwatch_ignore;
	char		**v = NULL, *copy, *item, *next;
	size_t		 n = 0, ncommas = 0, i;

	if (value[0] == '\0') {
		parser_error(p, line, "empty value for %s (expected %s)",
		    k->name, expected);
		return;
	}
	ncommas = list_count(value) - 1;
	if ((copy = strdup(value)) == NULL ||
	    (v = calloc(ncommas + 1, sizeof *v)) == NULL) {
		free(copy);
		p->oom = true;
		return;
	}
	/* Empty items are mistakes. */
	next = copy;
	while ((item = list_next(&next)) != NULL) {
		if (*item == '\0') {
			parser_error(p, line, "an empty %s in %s (expected %s)",
			    paths ? "path" : "pattern", k->name, expected);
			goto fail;
		}
		if ((v[n] = strdup(item)) == NULL) {
			p->oom = true;
			goto fail;
		}
		n++;
	}
	free(copy);
	for (i = 0; i < *count; i++)
		free((*field)[i]);
	free(*field);
	*field = v;
	*count = n;
	return;

fail:
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	free(copy);
}

/* Replaces a string field; reports an empty value. */
static void
value_string(struct parser *p, int line, const char *key, const char *value,
    char **field, const char *expected)
{
	char	*copy;

	if (value[0] == '\0') {
		parser_error(p, line, "empty value for %s (expected %s)", key,
		    expected);
		return;
	}
	if ((copy = strdup(value)) == NULL) {
		p->oom = true;
		return;
	}
	free(*field);
	*field = copy;
}

/* Looks key up in a table; NULL if unknown. */
static const struct key_def *
key_find(const struct key_def *keys, size_t n, const char *key)
{
	size_t	i;

	if (strncmp(key, "env.", 4) == 0)
		key = "env.NAME";
	for (i = 0; i < n; i++)
		if (strcmp(keys[i].name, key) == 0)
			return &keys[i];
	return NULL;
}

/* Reports an unknown key with the section's keys and a likely one. */
static void
key_unknown(struct parser *p, int line, const char *key,
    const struct key_def *keys, size_t n, bool service)
{
	const char	*names[NPOOL_KEYS > NGLOBAL_KEYS ? NPOOL_KEYS :
			    NGLOBAL_KEYS];
	const char	*dot = strchr(key, '.');
	char		 list[1024], label[LABEL_SIZE], prefix[8];
	char		 hint[CONFIG_QUOTE_MAX * 4 + 40];
	struct quoted	 q, q2;
	size_t		 i;

	if (strcmp(key, "env") == 0 && keys == pool_keys) {
		parser_error(p, line, "key \"env\" needs a variable name "
		    "(expected env.NAME = VALUE)");
		return;
	}
	for (i = 0; i < n; i++)
		names[i] = service && (keys[i].flags & KEY_TASKS) ? NULL :
		    keys[i].name;
	did_you_mean(hint, sizeof hint, key, names, n);
	/* "evn.PATH": suggest "env.PATH" rather than "env.NAME". */
	if (keys == pool_keys && dot != NULL && dot - key < 8) {
		memcpy(prefix, key, (size_t)(dot - key));
		prefix[dot - key] = '\0';
		if (edit_distance(prefix, "env") <= 1)
			snprintf(hint, sizeof hint, "; did you mean \"env%s?",
			    quote(&q2, dot) + 1);
	}
	parser_error(p, line, "unknown key %s in %s (expected one of %s%s)",
	    quote(&q, key), section_label(p, label, sizeof label),
	    names_join(list, sizeof list, names, n), hint);
}

/* Remembers that key was set on line; false (and reports) if it was. */
static bool
seen_add(struct parser *p, int line, const char *key)
{
	char		 label[LABEL_SIZE];
	struct seen_key	*s;
	struct quoted	 q;
	size_t		 i;

	for (i = 0; i < p->nseen; i++) {
		if (strcmp(p->seen[i].name, key) == 0) {
			parser_error(p, line, "duplicate key %s in %s (first "
			    "set on line %d)", quote(&q, key),
			    section_label(p, label, sizeof label),
			    p->seen[i].line);
			return false;
		}
	}
	if (p->nseen == p->seen_cap) {
		size_t	ncap = p->seen_cap ? p->seen_cap * 2 : 16;

		if ((s = realloc(p->seen, ncap * sizeof *s)) == NULL) {
			p->oom = true;
			return false;
		}
		p->seen = s;
		p->seen_cap = ncap;
	}
	if ((p->seen[p->nseen].name = strdup(key)) == NULL) {
		p->oom = true;
		return false;
	}
	p->seen[p->nseen++].line = line;
	return true;
}

static void
seen_clear(struct parser *p)
{
	while (p->nseen > 0)
		free(p->seen[--p->nseen].name);
}

/* Sets a key of the current [pool] or [service]. */
static void
pool_key(struct parser *p, int line, const char *key, const char *value)
{
	struct pool_entry	*e = &p->entries[p->nentries - 1];
	bool			 service = e->kind == SECTION_SERVICE;
	const struct key_def	*k;
	char			 label[LABEL_SIZE];
	const char		*names[NITEMS(restart_words)];
	const char		*colon;
	struct quoted		 q;
	uint64_t		 v;
	size_t			 i;
	bool			 b;

	if ((k = key_find(pool_keys, NPOOL_KEYS, key)) == NULL) {
		key_unknown(p, line, key, pool_keys, NPOOL_KEYS, service);
		return;
	}
	if (service && (k->flags & KEY_TASKS)) {
		parser_error(p, line, "key %s does not apply to %s (services "
		    "take no tasks%s)", quote(&q, key),
		    section_label(p, label, sizeof label),
		    k->offset == offsetof(struct pool_spec, idle_sleep_ms) ?
		    ", and only a task wakes a worker that idle_sleep put to "
		    "sleep" : "");
		return;
	}
	if (!seen_add(p, line, key))
		return;
	if (k->offset == offsetof(struct pool_spec, log_max) ||
	    k->offset == offsetof(struct pool_spec, log_keep))
		e->log_rotate_line = line;

	switch (k->type) {
	case KEY_COMMAND:
		free(e->command);
		if ((e->command = strdup(value)) == NULL)
			p->oom = true;
		e->command_line = line;
		/* The value's column: inih strips blanks after '=' or ':'. */
		colon = p->line;
		while (colon < p->line + p->line_len && *colon != '=' &&
		    *colon != ':')
			colon++;
		for (colon++; colon < p->line + p->line_len &&
		    isspace((unsigned char)*colon); colon++)
			;
		e->command_col = (int)(colon - p->line) + 1;
		break;
	case KEY_SHELL:
		value_bool(p, line, key, value, &e->shell);
		break;
	case KEY_PATH:
		value_string(p, line, key, value, &e->spec.cwd, "a directory");
		e->cwd_line = line;
		break;
	case KEY_FILE:
		value_string(p, line, key, value,
		    (char **)((char *)&e->spec + k->offset), "a file's path");
		e->log_file_line = line;
		break;
	case KEY_ENV:
		key_env(p, line, e, key, value);
		break;
	case KEY_UINT:
		if (value_uint(p, line, key, value, k->min, k->max, &v)) {
			store_number(&e->spec, k->offset, k->width, v);
			if (k->offset == offsetof(struct pool_spec,
			    min_workers))
				e->min_workers_line = line;
		}
		break;
	case KEY_DURATION:
	case KEY_SIZE:
		if (value_scaled(p, line, k, value, k->type == KEY_SIZE, &v))
			store_number(&e->spec, k->offset, k->width, v);
		break;
	case KEY_BOOL:
		if (value_bool(p, line, key, value, &b))
			*(bool *)((char *)&e->spec + k->offset) = b;
		break;
	case KEY_STRATEGY:
		key_strategy(p, line, e, value);
		break;
	case KEY_WEIGHTS:
		key_weights(p, line, e, value);
		break;
	case KEY_BACKOFF:
		key_backoff(p, line, e, value);
		break;
	case KEY_RESTART:
		for (i = 0; i < NITEMS(restart_words); i++)
			names[i] = restart_words[i].name;
		if (value_word(p, line, "restart policy", value, names,
		    NITEMS(names), &i))
			e->spec.restart = restart_words[i].value;
		break;
	case KEY_SIGNAL:
		key_signal(p, line, e, value);
		break;
	case KEY_MODE: {
		const char	*modes[NITEMS(mode_words)];

		for (i = 0; i < NITEMS(mode_words); i++)
			modes[i] = mode_words[i].name;
		if (value_word(p, line, "mode", value, modes, NITEMS(modes),
		    &i))
			e->spec.mode = mode_words[i].value;
		break;
	}
	case KEY_LOCKS:
		key_locks(p, line, e, value);
		break;
	case KEY_WATCH_LIST:
		key_watch_list(p, line, e, k, value);
		break;
	case KEY_RELOAD_MODE: {
		const char	*modes[NITEMS(reload_words)];

		for (i = 0; i < NITEMS(reload_words); i++)
			modes[i] = reload_words[i].name;
		if (value_word(p, line, "reload", value, modes, NITEMS(modes),
		    &i))
			e->spec.reload = reload_words[i].value;
		break;
	}
	case KEY_SOCKET:
		abort();
	}
}

/* Sets a key of [pooltop]. */
static void
global_key(struct parser *p, int line, const char *key, const char *value)
{
	const struct key_def	*k;
	struct quoted		 q;
	uint64_t		 v;
	bool			 b;

	if ((k = key_find(global_keys, NGLOBAL_KEYS, key)) == NULL) {
		key_unknown(p, line, key, global_keys, NGLOBAL_KEYS, false);
		return;
	}
	if (!seen_add(p, line, key))
		return;
	switch (k->type) {
	case KEY_UINT:
		if (value_uint(p, line, key, value, k->min, k->max, &v))
			store_number(&p->global, k->offset, k->width, v);
		break;
	case KEY_DURATION:
		if (value_scaled(p, line, k, value, false, &v))
			store_number(&p->global, k->offset, k->width, v);
		break;
	case KEY_BOOL:
		if (value_bool(p, line, key, value, &b))
			*(bool *)((char *)&p->global + k->offset) = b;
		break;
	case KEY_SOCKET:
		if (strlen(value) > CONFIG_MAX_SOCKET) {
			parser_error(p, line, "socket path %s is too long "
			    "(expected at most %d bytes)", quote(&q, value),
			    CONFIG_MAX_SOCKET);
			break;
		}
		value_string(p, line, key, value, &p->global.socket,
		    "a socket path");
		break;
	default:
		abort();
	}
}

/*
 * inih's callback for each "key = value" line.  section is always "": the
 * reader keeps headers from inih and tracks the section itself.
 */
static int
config_key_cb(void *arg, const char *section, const char *key,
    const char *value, int inih_lineno)
{
	struct parser	*p = arg;
	struct quoted	 q;
	int		 lineno = p->lineno;

	if (p->oom)
		return 1;
	if (key[0] == '\0') {
		parser_error(p, lineno, "missing key before \"=\" (expected "
		    "KEY = VALUE)");
		return 1;
	}
	switch (p->kind) {
	case SECTION_NONE:
		parser_error(p, lineno, "key %s is outside any section "
		    "(expected a [pool NAME], [service NAME] or [pooltop] "
		    "line above it)", quote(&q, key));
		break;
	case SECTION_UNKNOWN:
		break;
	case SECTION_GLOBAL:
		global_key(p, lineno, key, value);
		break;
	case SECTION_POOL:
	case SECTION_SERVICE:
		pool_key(p, lineno, key, value);
		break;
	}
	return 1;
}

/* ---- sections and lines ------------------------------------------------ */

/* Ends the current section: validates a pool once all its keys are in. */
static void
section_end(struct parser *p)
{
	if ((p->kind == SECTION_POOL || p->kind == SECTION_SERVICE) &&
	    p->nentries > 0)
		entry_finish(p, &p->entries[p->nentries - 1]);
	seen_clear(p);
	p->kind = SECTION_NONE;
}

/* Starts [kind name] at line; the name was checked. */
static void
section_pool(struct parser *p, int line, enum section_kind kind,
    const char *name, size_t len)
{
	struct pool_entry	*e;
	size_t			 i;
	struct quoted		 q;

	for (i = 0; i < p->nentries; i++) {
		if (strlen(p->entries[i].spec.name) == len &&
		    memcmp(p->entries[i].spec.name, name, len) == 0) {
			parser_error(p, line, "duplicate pool name %s (first "
			    "defined on line %d)", quote_n(&q, name, len),
			    p->entries[i].line);
			break;
		}
	}
	if (p->nentries == p->cap) {
		size_t	ncap = p->cap ? p->cap * 2 : 8;

		if ((e = realloc(p->entries, ncap * sizeof *e)) == NULL) {
			p->oom = true;
			p->kind = SECTION_UNKNOWN;
			return;
		}
		p->entries = e;
		p->cap = ncap;
	}
	e = &p->entries[p->nentries];
	memset(e, 0, sizeof *e);
	pool_spec_init(&e->spec);
	if ((e->spec.name = strndup(name, len)) == NULL) {
		p->oom = true;
		p->kind = SECTION_UNKNOWN;
		return;
	}
	e->kind = kind;
	e->line = line;
	p->nentries++;
	p->kind = kind;
}

/* Handles a "[...]" line (s, len: the line without surrounding blanks). */
static void
section_begin(struct parser *p, const char *s, size_t len)
{
	const char	*names[NITEMS(section_kinds)];
	const char	*close, *inner, *name, *best;
	size_t		 ilen, klen, nlen, i;
	char		 kind[32], sugg[CONFIG_QUOTE_MAX * 4 + 32];
	struct quoted	 q;
	int		 line = p->lineno;

	section_end(p);
	p->kind = SECTION_UNKNOWN;

	if ((close = memchr(s, ']', len)) == NULL) {
		parser_error(p, line, "unterminated section header %s "
		    "(expected \"]\")", quote_n(&q, s, len));
		return;
	}
	if ((size_t)(close - s) + 1 != len) {
		parser_error(p, line, "unexpected text %s after \"]\" "
		    "(expected nothing after a section header)",
		    quote_n(&q, close + 1, len - (size_t)(close - s) - 1));
		return;
	}
	inner = s + 1;
	ilen = (size_t)(close - inner);
	while (ilen > 0 && isspace((unsigned char)*inner)) {
		inner++;
		ilen--;
	}
	while (ilen > 0 && isspace((unsigned char)inner[ilen - 1]))
		ilen--;
	for (klen = 0; klen < ilen && !isspace((unsigned char)inner[klen]);
	    klen++)
		;
	for (name = inner + klen; name < inner + ilen &&
	    isspace((unsigned char)*name); name++)
		;
	nlen = (size_t)(inner + ilen - name);

	if (klen == 4 && memcmp(inner, "pool", 4) == 0) {
		p->kind = SECTION_POOL;
	} else if (klen == 7 && memcmp(inner, "service", 7) == 0) {
		p->kind = SECTION_SERVICE;
	} else if (klen == 7 && memcmp(inner, "pooltop", 7) == 0) {
		if (nlen > 0)
			parser_error(p, line, "section [pooltop] takes no name "
			    "(expected [pooltop], got a name %s)",
			    quote_n(&q, name, nlen));
		if (p->global_line != 0)
			parser_error(p, line, "duplicate section [pooltop] "
			    "(first on line %d)", p->global_line);
		else
			p->global_line = line;
		p->kind = SECTION_GLOBAL;
		return;
	} else {
		for (i = 0; i < NITEMS(section_kinds); i++)
			names[i] = section_kinds[i];
		snprintf(kind, sizeof kind, "%.*s", (int)(klen < 31 ? klen :
		    31), inner);
		sugg[0] = '\0';
		if (klen < sizeof kind &&
		    (best = closest(kind, names, NITEMS(names))) != NULL) {
			if (strcmp(best, "pooltop") == 0 || nlen == 0)
				snprintf(sugg, sizeof sugg, "; did you mean "
				    "[%s]?", best);
			else if (nlen <= CONFIG_MAX_NAME)
				snprintf(sugg, sizeof sugg, "; did you mean "
				    "[%s %.*s]?", best, (int)nlen, name);
		}
		parser_error(p, line, "unknown section %s (expected one of "
		    "[pool NAME], [service NAME], [pooltop]%s)",
		    quote_n(&q, s, len), sugg);
		return;
	}

	/* [pool NAME] or [service NAME]: check the name. */
	if (nlen == 0) {
		parser_error(p, line, "section [%.*s] has no name (expected "
		    "[%.*s NAME])", (int)klen, inner, (int)klen, inner);
		p->kind = SECTION_UNKNOWN;
		return;
	}
	for (i = 0; i < nlen; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' &&
		    name[i] != '.' && name[i] != '-')
			break;
	if (i < nlen)
		parser_error(p, line, "bad pool name %s (expected letters, "
		    "digits, '_', '.' and '-')", quote_n(&q, name, nlen));
	else if (nlen > CONFIG_MAX_NAME)
		parser_error(p, line, "pool name %s is too long (expected at "
		    "most %d characters)", quote_n(&q, name, nlen),
		    CONFIG_MAX_NAME);
	section_pool(p, line, p->kind, name, nlen);
}

/*
 * inih's reader: hands it the text one line per call, counting lines.
 * Section headers and malformed lines are handled here and passed on as
 * blank lines, so inih only ever sees comments and "key = value".
 */
static char *
config_read_cb(char *buf, int size, void *arg)
{
	struct parser	*p = arg;
	const char	*start, *end, *nl, *s;
	size_t		 len, slen;
	struct quoted	 q;

	if (*p->pos == '\0')
		return NULL;
	start = p->pos;
	nl = strchr(start, '\n');
	len = nl != NULL ? (size_t)(nl - start) : strlen(start);
	p->pos = nl != NULL ? nl + 1 : start + len;
	p->lineno++;
	/* A UTF-8 byte order mark, as some editors write. */
	if (p->lineno == 1 && len >= 3 &&
	    memcmp(start, "\xef\xbb\xbf", 3) == 0) {
		start += 3;
		len -= 3;
	}
	p->line = start;
	p->line_len = len;
	strcpy(buf, "\n");

	if (len > CONFIG_MAX_LINE || len + 2 > (size_t)size) {
		parser_error(p, p->lineno, "line too long (%zu bytes; expected "
		    "at most %d)", len, CONFIG_MAX_LINE);
		return buf;
	}
	s = start;
	end = start + len;
	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	slen = (size_t)(end - s);
	if (slen == 0 || *s == ';' || *s == '#')
		return buf;
	if (*s == '[') {
		section_begin(p, s, slen);
		return buf;
	}
	if (memchr(s, '=', slen) == NULL && memchr(s, ':', slen) == NULL) {
		parser_error(p, p->lineno, "cannot parse %s (expected KEY = "
		    "VALUE, a [section] or a comment)", quote_n(&q, s, slen));
		return buf;
	}
	memcpy(buf, s, slen);
	buf[slen] = '\n';
	buf[slen + 1] = '\0';
	return buf;
}

/* ---- entry points ------------------------------------------------------ */

static void
config_global_init(struct config_global *g)
{
	memset(g, 0, sizeof *g);
	g->sample_interval_ms = 1000;
	g->history = 60;
	g->socket = NULL;
	g->color = true;
	g->confirm = true;
}

static void
parser_free(struct parser *p)
{
	size_t	i;

	for (i = 0; i < p->nentries; i++) {
		pool_spec_release(&p->entries[i].spec);
		free(p->entries[i].command);
	}
	free(p->entries);
	seen_clear(p);
	free(p->seen);
	free(p->global.socket);
	for (i = 0; i < p->nerrors; i++)
		free(p->errors[i].text);
	free(p->errors);
}

/* Parses and validates text; see config.h. */
int
config_parse(struct config *cfg, const char *name, const char *text,
    FILE *err)
{
	struct parser	p;
	size_t		i;
	int		rc;

	memset(cfg, 0, sizeof *cfg);
	config_global_init(&cfg->global);
	memset(&p, 0, sizeof p);
	p.name = name;
	p.pos = text;
	config_global_init(&p.global);

	/*
	 * Debian's libinih makes its build options process-wide variables;
	 * set the ones we rely on each time (this module is inih's only
	 * user): one value per line, comments only on their own lines, a
	 * heap line buffer as long as our longest line.
	 */
	ini_allow_multiline = false;
	ini_allow_inline_comments = false;
	ini_allow_bom = false;
	ini_allow_no_value = false;
	ini_stop_on_first_error = false;
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_initial_alloc = CONFIG_MAX_LINE + 3;
	ini_max_line = CONFIG_MAX_LINE + 3;

	rc = ini_parse_stream(config_read_cb, &p, config_key_cb, &p);
	if (rc == -2)
		p.oom = true;
	section_end(&p);
	if (!p.oom && p.nerrors == 0 && p.nentries == 0)
		parser_error(&p, 0, "no pools (expected at least one "
		    "[pool NAME] or [service NAME] section)");
	if (p.oom) {
		if (err != NULL)
			fprintf(err, "%s: out of memory\n", name);
		parser_free(&p);
		return -ENOMEM;
	}
	if (p.nerrors > 0) {
		rc = (int)(p.nerrors > INT_MAX ? INT_MAX : p.nerrors);
		parser_flush_errors(&p, err);
		parser_free(&p);
		return rc;
	}

	if ((cfg->path = strdup(name)) == NULL ||
	    (cfg->pools = calloc(p.nentries, sizeof *cfg->pools)) == NULL ||
	    (cfg->lines = calloc(p.nentries, sizeof *cfg->lines)) == NULL) {
		free(cfg->path);
		free(cfg->pools);
		cfg->path = NULL;
		cfg->pools = NULL;
		if (err != NULL)
			fprintf(err, "%s: out of memory\n", name);
		parser_free(&p);
		return -ENOMEM;
	}
	/* Move the specs and settings out of the parser. */
	for (i = 0; i < p.nentries; i++) {
		cfg->pools[i] = p.entries[i].spec;
		pool_spec_init(&p.entries[i].spec);
		cfg->lines[i].section = p.entries[i].line;
		cfg->lines[i].command = p.entries[i].command_line;
		cfg->lines[i].cwd = p.entries[i].cwd_line;
		cfg->lines[i].service = p.entries[i].kind == SECTION_SERVICE;
	}
	cfg->npools = p.nentries;
	cfg->global = p.global;
	p.global.socket = NULL;
	parser_free(&p);
	return 0;
}

/* Line number (from 1) of offset off in text. */
static int
line_of(const char *text, size_t off)
{
	int	line = 1;
	size_t	i;

	for (i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

/* Reads a file and parses it; see config.h. */
int
config_load(struct config *cfg, const char *path, FILE *err)
{
	char	*text = NULL, *nul, *ntext;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;
	int	 fd, rc;

	memset(cfg, 0, sizeof *cfg);
	config_global_init(&cfg->global);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		rc = -errno;
		if (err != NULL)
			fprintf(err, "%s: cannot open: %s\n", path,
			    strerror(-rc));
		return rc;
	}
	for (;;) {
		if (len + 1 >= cap) {
			cap = cap ? cap * 2 : 8192;
			if ((ntext = realloc(text, cap)) == NULL) {
				rc = -ENOMEM;
				goto fail;
			}
			text = ntext;
		}
		n = read(fd, text + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_MAX_FILE) {
			if (err != NULL)
				fprintf(err, "%s: too large (expected at most "
				    "%u bytes)\n", path, CONFIG_MAX_FILE);
			free(text);
			close(fd);
			return -EFBIG;
		}
	}
	close(fd);
	fd = -1;
	text[len] = '\0';

	/* A NUL byte ends the text inih can see: parse what comes before. */
	if ((nul = memchr(text, '\0', len)) != NULL) {
		rc = config_parse(cfg, path, text, err);
		if (rc < 0) {
			free(text);
			return rc;
		}
		config_free(cfg);
		if (err != NULL)
			fprintf(err, "%s:%d: NUL byte (expected text)\n", path,
			    line_of(text, (size_t)(nul - text)));
		free(text);
		return rc + 1;
	}
	rc = config_parse(cfg, path, text, err);
	free(text);
	return rc;

fail:
	if (err != NULL)
		fprintf(err, "%s: cannot read: %s\n", path, strerror(-rc));
	free(text);
	if (fd != -1)
		close(fd);
	return rc;
}

/* Frees what a config owns and resets it; NULL ok. */
void
config_free(struct config *cfg)
{
	size_t	i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->npools; i++)
		pool_spec_release(&cfg->pools[i]);
	free(cfg->pools);
	free(cfg->lines);
	free(cfg->path);
	free(cfg->global.socket);
	memset(cfg, 0, sizeof *cfg);
	config_global_init(&cfg->global);
}
