/*
 * Numbers and text as the dashboard shows them: sizes, durations, CPU%,
 * excerpts of task payloads, and terminal-safe text clipped to a width.
 * Pure functions.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "dash.h"

void
fmt_bytes(char *buf, size_t len, uint64_t bytes)
{
	static const char	 units[] = "BKMGTPE";
	uint64_t		 whole = bytes, tenths;
	size_t			 u = 0;

	while (whole >= 1024 && u < sizeof units - 2) {
		whole /= 1024;
		u++;
	}
	if (u == 0) {
		snprintf(buf, len, "%" PRIu64 "B", bytes);
		return;
	}
	if (whole < 10) {
		/* One decimal, truncated so 9.99M never shows as "10.0M". */
		tenths = (uint64_t)((double)bytes * 10 /
		    (double)(1ULL << (10 * u)));
		snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "%c", tenths / 10,
		    tenths % 10, units[u]);
		return;
	}
	snprintf(buf, len, "%" PRIu64 "%c", whole, units[u]);
}

void
fmt_uptime(char *buf, size_t len, uint64_t ms)
{
	uint64_t s = ms / 1000;

	if (s < 60)
		snprintf(buf, len, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60,
		    s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
		    s / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400,
		    s / 3600 % 24);
}

void
fmt_cpu(char *buf, size_t len, double pct)
{
	if (!(pct > 0))		/* also NaN */
		pct = 0;
	if (pct < 99.95)
		snprintf(buf, len, "%.1f", pct);
	else if (pct < 99999.5)
		snprintf(buf, len, "%.0f", pct);
	else
		snprintf(buf, len, "99999");
}

void
fmt_count(char *buf, size_t len, uint64_t n)
{
	if (n < 1000000)
		snprintf(buf, len, "%" PRIu64, n);
	else if (n < 1000000000)
		snprintf(buf, len, "%.1fM", (double)(n / 100000) / 10);
	else if (n < 1000000000000ULL)
		snprintf(buf, len, "%.1fG", (double)(n / 100000000) / 10);
	else
		snprintf(buf, len, "%" PRIu64 "T", (uint64_t)(n / 1000000000000ULL));
}

void
fmt_latency(char *buf, size_t len, uint64_t us)
{
	if (us < 1000)
		snprintf(buf, len, "%" PRIu64 "us", us);
	else if (us < 100000)
		snprintf(buf, len, "%.1fms", (double)us / 1000);
	else if (us < 10000000)
		snprintf(buf, len, "%.2fs", (double)us / 1000000);
	else
		snprintf(buf, len, "%" PRIu64 "s", us / 1000000);
}

size_t
fmt_excerpt(char *buf, size_t len, const void *data, size_t n)
{
	const unsigned char	*p = data;
	size_t			 i, o = 0;

	if (len == 0)
		return 0;
	for (i = 0; i < n && o + 1 < len; i++) {
		if (p[i] == '\n' || p[i] == '\t' || p[i] == '\r')
			buf[o++] = ' ';
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			buf[o++] = (char)p[i];
		else
			buf[o++] = '.';
	}
	if (i < n) {
		/* Cut: the last three characters say so. */
		o = len - 1 >= 3 ? len - 1 - 3 : 0;
		memcpy(buf + o, "...", len - 1 - o);
		o = len - 1;
	}
	buf[o] = '\0';
	return o;
}

int
fmt_wide(wchar_t *out, size_t outn, const char *s, size_t len, int maxcols)
{
	mbstate_t	 st;
	size_t		 i = 0, o = 0, r;
	wchar_t		 wc;
	int		 cols = 0, w;

	if (outn == 0)
		return 0;
	memset(&st, 0, sizeof st);
	while (i < len && o + 1 < outn && cols < maxcols) {
		r = mbrtowc(&wc, s + i, len - i, &st);
		if (r == 0)
			break;
		if (r == (size_t)-1 || r == (size_t)-2) {
			/* Invalid or cut sequence: show one '?', resync. */
			memset(&st, 0, sizeof st);
			wc = L'?';
			r = 1;
		}
		i += r;
		if (wc == L'\t')
			wc = L' ';
		w = wcwidth(wc);
		if (w < 0) {
			wc = L'?';
			w = 1;
		}
		if (cols + w > maxcols)
			break;
		out[o++] = wc;
		cols += w;
	}
	out[o] = L'\0';
	return cols;
}

const char *
fmt_find(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle), i, j;

	if (n == 0)
		return s;
	for (i = 0; i + n <= len; i++) {
		for (j = 0; j < n; j++) {
			if (tolower((unsigned char)s[i + j]) !=
			    tolower((unsigned char)needle[j]))
				break;
		}
		if (j == n)
			return s + i;
	}
	return NULL;
}
