/*
 * The prefix of a log line as people read it (see pooltop/logline.h).
 */
#include <stdio.h>
#include <string.h>

#include "pooltop/logline.h"

const char *
logline_tag(enum log_stream stream)
{
	switch (stream) {
	case LOG_STDOUT:
		return ("out");
	case LOG_STDERR:
		return ("err");
	case LOG_POOLTOP:
		break;
	}
	return (NULL);
}

size_t
logline_who(char *buf, size_t len, const char *pool, int slot)
{
	int	n;

	if (len == 0)
		return (0);
	if (slot >= 0)
		n = snprintf(buf, len, "%s/%d", pool, slot);
	else
		n = snprintf(buf, len, "%s", pool);
	if (n < 0) {
		buf[0] = '\0';
		return (0);
	}
	return ((size_t)n < len ? (size_t)n : len - 1);
}

int
logline_pool_width(const char *pool, unsigned workers)
{
	char	num[16];
	int	n;

	n = snprintf(num, sizeof num, "/%u", workers > 0 ? workers - 1 : 0);
	return ((int)strlen(pool) + (n > 0 ? n : 0));
}

const char *
logline_stamp(struct logline_clock *c, uint64_t time_ms, bool long_form,
    char *buf, size_t len)
{
	time_t		sec = (time_t)(time_ms / 1000);
	struct tm	tm;

	if (!c->valid || c->sec != sec) {
		localtime_r(&sec, &tm);
		snprintf(c->hms, sizeof c->hms, "%02d:%02d:%02d", tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		snprintf(c->ymd, sizeof c->ymd, "%04d-%02d-%02d %02d:%02d:%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		c->sec = sec;
		c->valid = true;
	}
	if (!long_form)
		snprintf(buf, len, "%s", c->hms);
	else
		snprintf(buf, len, "%s.%03u", c->ymd,
		    (unsigned)(time_ms % 1000));
	return (buf);
}

/* Appends s[0..n) to buf at *o, as much as fits below limit. */
static void
logline_put(char *buf, size_t limit, size_t *o, const char *s, size_t n)
{
	if (*o >= limit)
		return;
	if (n > limit - *o)
		n = limit - *o;
	memcpy(buf + *o, s, n);
	*o += n;
}

size_t
logline_format(char *buf, size_t cap, const struct logline *l)
{
	static const char	 reset[] = "\033[0m";
	const char		*tag = logline_tag(l->stream);
	size_t			 o = 0, wlen, tail, limit;
	char			 sgr[32];
	int			 pad;

	if (cap < LOGLINE_PREFIX_MAX)
		return (0);
	/* What must fit after the text: a reset and the newline. */
	tail = (l->color != NULL ? sizeof reset - 1 : 0) + 1;
	limit = cap - tail;

	if (l->stamp != NULL) {
		logline_put(buf, limit, &o, l->stamp, strnlen(l->stamp,
		    LOGLINE_STAMP_MAX - 1));
		logline_put(buf, limit, &o, " ", 1);
	}
	if (l->color != NULL) {
		snprintf(sgr, sizeof sgr, "\033[%.20sm", l->color);
		logline_put(buf, limit, &o, sgr, strlen(sgr));
	}
	wlen = strnlen(l->who, LOGLINE_WHO_MAX - 1);
	logline_put(buf, limit, &o, l->who, wlen);
	pad = (l->width > LOGLINE_WIDTH_MAX ? LOGLINE_WIDTH_MAX : l->width) -
	    (int)wlen;
	for (; pad > 0; pad--)
		logline_put(buf, limit, &o, " ", 1);
	logline_put(buf, limit, &o, " ", 1);
	if (tag != NULL) {
		logline_put(buf, limit, &o, tag, strlen(tag));
		logline_put(buf, limit, &o, "|", 1);
	}
	if (l->color != NULL)
		logline_put(buf, limit, &o, reset, sizeof reset - 1);
	if (tag != NULL)
		logline_put(buf, limit, &o, " ", 1);
	if (l->text != NULL)
		logline_put(buf, limit, &o, l->text, l->len);
	if (l->color != NULL && tag != NULL) {
		/* A worker's own colour stops at its line's end. */
		memcpy(buf + o, reset, sizeof reset - 1);
		o += sizeof reset - 1;
	}
	buf[o++] = '\n';
	return (o);
}
