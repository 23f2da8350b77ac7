/*
 * Sparklines: a history of numbers as one line of block characters
 * (▁▂▃▄▅▆▇█) in a UTF-8 locale, or of " .:-=+*#%@" otherwise.  Pure.
 */
#include <math.h>
#include <string.h>

#include "dash.h"

/* Level 0 is blank in both sets, so "nothing" reads as nothing. */
static const char *const spark_utf8[SPARK_LEVELS_UTF8 + 1] = {
	" ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586",
	"\u2587", "\u2588",
};
static const char spark_ascii[SPARK_LEVELS_ASCII + 2] = " .:-=+*#%@";

int
spark_level(double v, double lo, double hi, int levels)
{
	double	f;
	int	l;

	if (!(v > lo) || !(hi > lo))	/* also NaN */
		return 0;
	if (v >= hi)
		return levels;
	f = (v - lo) / (hi - lo) * levels;
	l = (int)ceil(f);
	if (l < 1)
		l = 1;
	if (l > levels)
		l = levels;
	return l;
}

size_t
spark_render(char *out, size_t outsz, const double *v, size_t n, double lo,
    double hi, size_t width, bool utf8)
{
	size_t		 i, o = 0, cols = 0, first, glen;
	int		 levels = utf8 ? SPARK_LEVELS_UTF8 : SPARK_LEVELS_ASCII;
	int		 l;
	const char	*g;
	char		 c[2] = { 0, 0 };

	if (outsz == 0)
		return 0;
	first = n > width ? n - width : 0;
	for (i = first; i < n; i++) {
		l = spark_level(v[i], lo, hi, levels);
		if (utf8)
			g = spark_utf8[l];
		else {
			c[0] = spark_ascii[l];
			g = c;
		}
		glen = strlen(g);
		if (o + glen + 1 > outsz)
			break;
		memcpy(out + o, g, glen);
		o += glen;
		cols++;
	}
	out[o] = '\0';
	return cols;
}

void
spark_range(const double *v, size_t n, double *min, double *max)
{
	size_t i;

	*min = *max = n > 0 ? v[0] : 0;
	for (i = 1; i < n; i++) {
		if (v[i] < *min)
			*min = v[i];
		if (v[i] > *max)
			*max = v[i];
	}
}
