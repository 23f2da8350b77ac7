/*
 * The dashboard's model and view logic: sorting, stable selection across
 * re-sorts and refreshes, filter and search, tags, column layout, number
 * formatting, sparkline scaling (blocks and the ASCII fallback), the task
 * log ring and text clipping.  No engine and no terminal needed.
 */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include "dash.h"
#include "view.h"

/* Pool identities: the model never dereferences them. */
static const char pool_a[1], pool_b[1];

struct fake {
	const void	*pool;
	const char	*name;
	int		 slot;
	pid_t		 pid;
	double		 cpu;
	uint64_t	 rss;
	int		 state;
};

static void
fill(struct model *m, const struct fake *f, size_t n)
{
	size_t i;

	model_clear(m);
	for (i = 0; i < n; i++) {
		struct model_row *r = model_add(m);

		assert_non_null(r);
		r->pool = f[i].pool;
		snprintf(r->pool_name, sizeof r->pool_name, "%s", f[i].name);
		r->slot = f[i].slot;
		r->pid = f[i].pid;
		r->cpu = f[i].cpu;
		r->rss = f[i].rss;
		r->state = f[i].state;
		r->state_name = f[i].state == 3 ? "sleeping" : "idle";
		r->type = f[i].pool ? MODEL_WORKER : MODEL_MANAGER;
		r->done = (uint64_t)(n - i);
	}
	model_finish(m);
}

static const struct fake rows1[] = {
	{ NULL,   "",    -1, 100,  1.0, 5000000, -1 },
	{ pool_a, "web",  0, 201, 30.0, 1000000, 1 },
	{ pool_a, "web",  1, 202, 80.0, 9000000, 1 },
	{ pool_b, "jobs", 0, 301, 10.0, 3000000, 3 },
	{ pool_b, "jobs", 1, 302, 80.0, 2000000, 1 },
};
#define NROWS1 (sizeof rows1 / sizeof rows1[0])

/* The visible order as a list of pids. */
static void
assert_pids(const struct model *m, const pid_t *want, size_t n)
{
	size_t i;

	assert_int_equal(model_count(m), n);
	for (i = 0; i < n; i++)
		assert_int_equal(model_row(m, i)->pid, want[i]);
}

static void
test_sort_default_and_columns(void **state)
{
	struct model	m;
	const pid_t	by_pool[] = { 100, 301, 302, 201, 202 };
	const pid_t	by_cpu_desc[] = { 302, 202, 201, 301, 100 };
	const pid_t	by_cpu_asc[] = { 100, 301, 201, 302, 202 };
	const pid_t	by_rss_desc[] = { 202, 100, 301, 302, 201 };
	const pid_t	by_pid_desc[] = { 302, 301, 202, 201, 100 };

	assert_int_equal(model_init(&m, 2), 0);	/* grows past 2 rows */
	fill(&m, rows1, NROWS1);
	/* Default: pool then slot, the manager ("") first. */
	assert_pids(&m, by_pool, NROWS1);
	/* CPU descending: ties (80.0) broken by pool name then slot. */
	model_set_sort(&m, COL_CPU, true);
	assert_pids(&m, by_cpu_desc, NROWS1);
	/* Inverting flips the key, not the tie-break. */
	model_invert(&m);
	assert_false(m.sort_desc);
	assert_pids(&m, by_cpu_asc, NROWS1);
	model_set_sort(&m, COL_RSS, true);
	assert_pids(&m, by_rss_desc, NROWS1);
	model_set_sort(&m, COL_PID, true);
	assert_pids(&m, by_pid_desc, NROWS1);
	/* The sparkline column sorts as CPU%. */
	model_set_sort(&m, COL_SPARK, true);
	assert_pids(&m, by_cpu_desc, NROWS1);
	model_free(&m);
}

static void
test_sort_step(void **state)
{
	struct model m;

	assert_int_equal(model_init(&m, 8), 0);
	fill(&m, rows1, NROWS1);
	assert_int_equal(m.sort_col, COL_POOL);
	model_sort_step(&m, 1);
	assert_int_equal(m.sort_col, COL_SLOT);
	assert_false(m.sort_desc);
	model_sort_step(&m, -1);
	model_sort_step(&m, -1);
	/* Backwards from POOL wraps past the sparkline to UPTIME. */
	assert_int_equal(m.sort_col, COL_UPTIME);
	assert_true(m.sort_desc);	/* numbers default to descending */
	model_set_sort(&m, COL_UPTIME, true);
	model_sort_step(&m, 1);
	assert_int_equal(m.sort_col, COL_POOL);
	assert_string_equal(model_col_name(COL_CPU), "CPU%");
	assert_null(model_col_name(COL_COUNT));
	model_free(&m);
}

static void
test_selection_stable_across_sorts(void **state)
{
	struct model m;

	assert_int_equal(model_init(&m, 8), 0);
	fill(&m, rows1, NROWS1);
	model_select(&m, 3);		/* web/0, pid 201 */
	assert_int_equal(model_selected(&m)->pid, 201);
	model_set_sort(&m, COL_CPU, true);
	assert_int_equal(model_selected(&m)->pid, 201);
	assert_int_equal(model_selection(&m), 2);
	model_invert(&m);
	assert_int_equal(model_selected(&m)->pid, 201);
	assert_int_equal(model_selection(&m), 2);
	model_set_sort(&m, COL_RSS, false);
	assert_int_equal(model_selected(&m)->pid, 201);
	assert_int_equal(model_selection(&m), 0);
	model_free(&m);
}

static void
test_selection_stable_across_refreshes(void **state)
{
	struct model	m;
	struct fake	f[NROWS1];

	assert_int_equal(model_init(&m, 8), 0);
	memcpy(f, rows1, sizeof f);
	fill(&m, f, NROWS1);
	model_set_sort(&m, COL_CPU, true);
	model_select(&m, 1);		/* 202 at 80% */
	assert_int_equal(model_selected(&m)->pid, 202);

	/* Its CPU drops: it moves to the bottom and the selection follows. */
	f[2].cpu = 0.5;
	fill(&m, f, NROWS1);
	assert_int_equal(model_selected(&m)->pid, 202);
	assert_int_equal(model_selection(&m), 4);

	/* Rows arrive in another order: still the same worker. */
	{
		struct fake g[NROWS1];
		size_t i;

		for (i = 0; i < NROWS1; i++)
			g[i] = f[NROWS1 - 1 - i];
		fill(&m, g, NROWS1);
		assert_int_equal(model_selected(&m)->pid, 202);
	}

	/* Restarted in its slot with a new pid: the slot stays selected. */
	f[2].pid = 999;
	fill(&m, f, NROWS1);
	assert_int_equal(model_selected(&m)->pid, 999);
	assert_int_equal(model_selected(&m)->slot, 1);
	assert_ptr_equal(model_selected(&m)->pool, pool_a);

	/* Its slot disappears (scaled down): the position is kept. */
	{
		size_t at = model_selection(&m);

		memmove(&f[2], &f[3], 2 * sizeof f[0]);
		fill(&m, f, NROWS1 - 1);
		assert_int_equal(model_selection(&m), at - 1);
		assert_non_null(model_selected(&m));
	}
	model_free(&m);
}

static void
test_selection_same_slot_other_pool(void **state)
{
	struct model m;

	/* jobs/0 and web/0 share a slot number; the pool tells them apart. */
	assert_int_equal(model_init(&m, 8), 0);
	fill(&m, rows1, NROWS1);
	model_select(&m, 1);		/* jobs/0 (pools sort by name) */
	assert_int_equal(model_selected(&m)->pid, 301);
	model_set_sort(&m, COL_PID, true);
	assert_int_equal(model_selected(&m)->pid, 301);
	model_free(&m);
}

static void
test_move_and_clamp(void **state)
{
	struct model m;

	assert_int_equal(model_init(&m, 8), 0);
	model_move(&m, 1);		/* empty: nothing happens */
	assert_null(model_selected(&m));
	fill(&m, rows1, NROWS1);
	assert_int_equal(model_selection(&m), 0);	/* first row by default */
	model_move(&m, -5);
	assert_int_equal(model_selection(&m), 0);
	model_move(&m, 100);
	assert_int_equal(model_selection(&m), NROWS1 - 1);
	model_move(&m, -2);
	assert_int_equal(model_selection(&m), NROWS1 - 3);
	model_free(&m);
}

static void
test_filter(void **state)
{
	struct model	m;
	const pid_t	jobs[] = { 301, 302 };
	const pid_t	web1[] = { 202 };

	assert_int_equal(model_init(&m, 8), 0);
	fill(&m, rows1, NROWS1);
	model_select(&m, 2);		/* 302 */
	model_set_filter(&m, "JOBS");	/* case-insensitive */
	assert_pids(&m, jobs, 2);
	assert_int_equal(model_selected(&m)->pid, 302);
	assert_int_equal(model_total(&m), NROWS1);
	model_set_filter(&m, "web/1");
	assert_pids(&m, web1, 1);
	model_set_filter(&m, "sleeping");
	assert_int_equal(model_count(&m), 1);
	assert_int_equal(model_row(&m, 0)->pid, 301);
	model_set_filter(&m, "manager");
	assert_int_equal(model_count(&m), 1);
	assert_int_equal(model_row(&m, 0)->pid, 100);
	model_set_filter(&m, "nothing-matches");
	assert_int_equal(model_count(&m), 0);
	assert_null(model_selected(&m));
	/* Refreshes keep the filter. */
	model_set_filter(&m, "jobs");
	fill(&m, rows1, NROWS1);
	assert_pids(&m, jobs, 2);
	model_set_filter(&m, "");
	assert_int_equal(model_count(&m), NROWS1);
	model_free(&m);
}

static void
test_search(void **state)
{
	struct model m;

	assert_int_equal(model_init(&m, 8), 0);
	fill(&m, rows1, NROWS1);	/* 100 301 302 201 202 */
	assert_true(model_search(&m, "web", true, false));
	assert_int_equal(model_selected(&m)->pid, 201);
	/* Without skipping, the current row is a match already. */
	assert_true(model_search(&m, "web", true, false));
	assert_int_equal(model_selected(&m)->pid, 201);
	assert_true(model_search(&m, "web", true, true));
	assert_int_equal(model_selected(&m)->pid, 202);
	/* Wraps around. */
	assert_true(model_search(&m, "web", true, true));
	assert_int_equal(model_selected(&m)->pid, 201);
	assert_true(model_search(&m, "web", false, true));
	assert_int_equal(model_selected(&m)->pid, 202);
	assert_true(model_search(&m, "302", false, true));
	assert_int_equal(model_selected(&m)->pid, 302);
	assert_false(model_search(&m, "zzz", true, true));
	assert_int_equal(model_selected(&m)->pid, 302);
	/* The search does not hide rows. */
	assert_int_equal(model_count(&m), NROWS1);
	model_free(&m);
}

static void
test_tags_survive_refresh_and_sort(void **state)
{
	struct model	m;
	struct fake	f[NROWS1];
	size_t		i, n;

	assert_int_equal(model_init(&m, 8), 0);
	memcpy(f, rows1, sizeof f);
	fill(&m, f, NROWS1);
	model_select(&m, 1);		/* 301 */
	model_tag_toggle(&m);		/* tags 301 and moves down */
	assert_int_equal(model_selected(&m)->pid, 302);
	model_move(&m, 1);		/* 201 */
	model_tag_toggle(&m);
	assert_int_equal(model_ntagged(&m), 2);
	model_set_sort(&m, COL_CPU, false);
	fill(&m, f, NROWS1);
	for (i = 0, n = 0; i < model_total(&m); i++) {
		const struct model_row *r = model_any_row(&m, i);

		if (r->tagged) {
			assert_true(r->pid == 301 || r->pid == 201);
			n++;
		}
	}
	assert_int_equal(n, 2);
	/* A tagged worker replaced by a new process loses its tag. */
	f[3].pid = 399;
	fill(&m, f, NROWS1);
	assert_int_equal(model_ntagged(&m), 1);
	/* Toggling again untags. */
	for (i = 0; i < model_count(&m); i++) {
		if (model_row(&m, i)->pid == 201)
			model_select(&m, i);
	}
	model_tag_toggle(&m);
	assert_int_equal(model_ntagged(&m), 0);
	model_select(&m, 0);
	model_tag_toggle(&m);
	model_untag_all(&m);
	assert_int_equal(model_ntagged(&m), 0);
	fill(&m, f, NROWS1);
	assert_int_equal(model_ntagged(&m), 0);
	model_free(&m);
}

static void
test_layout(void **state)
{
	struct model_layout	l;
	int			c;

	/* 80 columns: the essentials, nothing past the edge. */
	model_layout(&l, 80);
	assert_true(l.width <= 80);
	assert_true(l.shown[COL_POOL] && l.shown[COL_SLOT] &&
	    l.shown[COL_PID] && l.shown[COL_STATE] && l.shown[COL_CPU] &&
	    l.shown[COL_RSS] && l.shown[COL_DONE] && l.shown[COL_INFLIGHT]);
	assert_false(l.shown[COL_PPID]);
	assert_false(l.shown[COL_TYPE]);
	assert_int_equal(l.x[COL_POOL], 1);	/* after the tag mark */
	assert_int_equal(l.x[COL_SLOT], 1 + l.w[COL_POOL] + 1);
	/* 120 columns: everything, the sparkline takes the rest. */
	model_layout(&l, 120);
	for (c = 0; c < COL_COUNT; c++)
		assert_true(l.shown[c]);
	assert_true(l.width <= 120);
	assert_true(l.w[COL_SPARK] > 8);
	assert_int_equal(l.x[COL_SPARK] + l.w[COL_SPARK], l.width);
	/* Very wide: the sparkline stops at 60, pool names widen. */
	model_layout(&l, 250);
	assert_int_equal(l.w[COL_SPARK], 60);
	assert_int_equal(l.w[COL_POOL], MODEL_POOL_MAX - 1);
	/* Very narrow: never past the edge. */
	model_layout(&l, 30);
	assert_true(l.width <= 30);
	assert_true(l.shown[COL_POOL]);
	/* Header clicks. */
	model_layout(&l, 120);
	assert_int_equal(model_layout_hit(&l, l.x[COL_CPU]), COL_CPU);
	assert_int_equal(model_layout_hit(&l, l.x[COL_CPU] + l.w[COL_CPU] - 1),
	    COL_CPU);
	assert_int_equal(model_layout_hit(&l, l.x[COL_RSS]), COL_RSS);
	assert_int_equal(model_layout_hit(&l, 0), -1);
	assert_int_equal(model_layout_hit(&l, l.width + 1), -1);
}

static void
test_fmt_bytes(void **state)
{
	char b[16];

	fmt_bytes(b, sizeof b, 0);
	assert_string_equal(b, "0B");
	fmt_bytes(b, sizeof b, 1023);
	assert_string_equal(b, "1023B");
	fmt_bytes(b, sizeof b, 1024);
	assert_string_equal(b, "1.0K");
	fmt_bytes(b, sizeof b, 1536);
	assert_string_equal(b, "1.5K");
	fmt_bytes(b, sizeof b, 10 * 1024);
	assert_string_equal(b, "10K");
	fmt_bytes(b, sizeof b, 1024 * 1024 - 1);
	assert_string_equal(b, "1023K");
	fmt_bytes(b, sizeof b, 5ULL * 1024 * 1024 + 300 * 1024);
	assert_string_equal(b, "5.2M");
	/* Truncated, never rounded up to "10.0M". */
	fmt_bytes(b, sizeof b, 10ULL * 1024 * 1024 - 1);
	assert_string_equal(b, "9.9M");
	fmt_bytes(b, sizeof b, 120ULL * 1024 * 1024);
	assert_string_equal(b, "120M");
	fmt_bytes(b, sizeof b, 3ULL * 1024 * 1024 * 1024 / 2);
	assert_string_equal(b, "1.5G");
	fmt_bytes(b, sizeof b, 2048ULL * 1024 * 1024 * 1024);
	assert_string_equal(b, "2.0T");
}

static void
test_fmt_uptime_cpu_latency(void **state)
{
	char b[16];

	fmt_uptime(b, sizeof b, 0);
	assert_string_equal(b, "0s");
	fmt_uptime(b, sizeof b, 59999);
	assert_string_equal(b, "59s");
	fmt_uptime(b, sizeof b, 60000);
	assert_string_equal(b, "1m00s");
	fmt_uptime(b, sizeof b, (12 * 60 + 5) * 1000);
	assert_string_equal(b, "12m05s");
	fmt_uptime(b, sizeof b, (3 * 3600 + 5 * 60 + 59) * 1000ULL);
	assert_string_equal(b, "3h05m");
	fmt_uptime(b, sizeof b, (2 * 86400 + 3 * 3600 + 1) * 1000ULL);
	assert_string_equal(b, "2d03h");

	fmt_cpu(b, sizeof b, 0);
	assert_string_equal(b, "0.0");
	fmt_cpu(b, sizeof b, -1);
	assert_string_equal(b, "0.0");
	fmt_cpu(b, sizeof b, 0.0 / 0.0);
	assert_string_equal(b, "0.0");
	fmt_cpu(b, sizeof b, 12.34);
	assert_string_equal(b, "12.3");
	fmt_cpu(b, sizeof b, 99.94);
	assert_string_equal(b, "99.9");
	fmt_cpu(b, sizeof b, 99.96);
	assert_string_equal(b, "100");
	fmt_cpu(b, sizeof b, 250.4);
	assert_string_equal(b, "250");

	fmt_count(b, sizeof b, 999999);
	assert_string_equal(b, "999999");
	fmt_count(b, sizeof b, 1000000);
	assert_string_equal(b, "1.0M");
	fmt_count(b, sizeof b, 12399999);
	assert_string_equal(b, "12.3M");
	fmt_count(b, sizeof b, 999999999);
	assert_string_equal(b, "999.9M");
	fmt_count(b, sizeof b, 4560000000ULL);
	assert_string_equal(b, "4.5G");

	fmt_latency(b, sizeof b, 850);
	assert_string_equal(b, "850us");
	fmt_latency(b, sizeof b, 12345);
	assert_string_equal(b, "12.3ms");
	fmt_latency(b, sizeof b, 1200000);
	assert_string_equal(b, "1.20s");
	fmt_latency(b, sizeof b, 75000000);
	assert_string_equal(b, "75s");
}

static void
test_fmt_excerpt(void **state)
{
	char	b[12];
	size_t	n;

	n = fmt_excerpt(b, sizeof b, "hello", 5);
	assert_int_equal(n, 5);
	assert_string_equal(b, "hello");
	n = fmt_excerpt(b, sizeof b, "a\nb\x01\xff", 5);
	assert_string_equal(b, "a b..");
	assert_int_equal(n, 5);
	/* Exactly fits: no mark. */
	n = fmt_excerpt(b, sizeof b, "0123456789a", 11);
	assert_string_equal(b, "0123456789a");
	/* One byte too many: cut and marked. */
	n = fmt_excerpt(b, sizeof b, "0123456789ab", 12);
	assert_string_equal(b, "01234567...");
	assert_int_equal(n, 11);
	n = fmt_excerpt(b, sizeof b, "", 0);
	assert_string_equal(b, "");
}

static void
test_fmt_wide(void **state)
{
	wchar_t	w[16];
	int	cols;

	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	cols = fmt_wide(w, 16, "abc", 3, 10);
	assert_int_equal(cols, 3);
	assert_true(wcscmp(w, L"abc") == 0);
	/* Clipped to the width. */
	cols = fmt_wide(w, 16, "abcdef", 6, 4);
	assert_int_equal(cols, 4);
	assert_true(wcscmp(w, L"abcd") == 0);
	/* Multibyte: one column each; a wide CJK character takes two. */
	cols = fmt_wide(w, 16, "\xc3\xa9t\xc3\xa9", 5, 10);
	assert_int_equal(cols, 3);
	assert_true(wcscmp(w, L"\u00e9t\u00e9") == 0);
	cols = fmt_wide(w, 16, "a\xe4\xb8\xad", 4, 2);
	assert_int_equal(cols, 1);	/* the CJK one does not fit */
	/* Control and invalid bytes are shown as '?', a tab as a space. */
	cols = fmt_wide(w, 16, "a\x1b[1\tb\xffz", 8, 20);
	assert_true(wcscmp(w, L"a?[1 b?z") == 0);
	assert_int_equal(cols, 8);
	/* The output buffer bounds it too. */
	cols = fmt_wide(w, 3, "abcdef", 6, 20);
	assert_int_equal(cols, 2);
	assert_true(wcscmp(w, L"ab") == 0);

	assert_non_null(fmt_find("Hello World", 11, "WORLD"));
	assert_null(fmt_find("Hello World", 5, "World"));
	{
		const char *abc = "abc";

		assert_ptr_equal(fmt_find(abc, 3, ""), abc);
		assert_ptr_equal(fmt_find(abc, 3, "C"), abc + 2);
	}
}

static void
test_spark_levels(void **state)
{
	assert_int_equal(spark_level(0, 0, 100, 8), 0);
	assert_int_equal(spark_level(-3, 0, 100, 8), 0);
	assert_int_equal(spark_level(0.01, 0, 100, 8), 1);	/* any > 0 shows */
	assert_int_equal(spark_level(12.5, 0, 100, 8), 1);
	assert_int_equal(spark_level(12.6, 0, 100, 8), 2);
	assert_int_equal(spark_level(50, 0, 100, 8), 4);
	assert_int_equal(spark_level(99.9, 0, 100, 8), 8);
	assert_int_equal(spark_level(100, 0, 100, 8), 8);
	assert_int_equal(spark_level(250, 0, 100, 8), 8);	/* clamped */
	assert_int_equal(spark_level(5, 5, 5, 8), 0);		/* no range */
	assert_int_equal(spark_level(0.0 / 0.0, 0, 100, 8), 0);
	assert_int_equal(spark_level(50, 0, 100, 9), 5);
	assert_int_equal(spark_level(100, 0, 100, 9), 9);
}

static void
test_spark_render(void **state)
{
	const double	v[] = { 0, 12.5, 25, 37.5, 50, 62.5, 75, 87.5, 100 };
	const double	a[] = { 0, 10, 21, 32, 43, 54, 65, 76, 87, 100 };
	char		b[128];
	size_t		cols;

	cols = spark_render(b, sizeof b, v, 9, 0, 100, 20, true);
	assert_int_equal(cols, 9);
	assert_string_equal(b, " \u2581\u2582\u2583\u2584\u2585\u2586\u2587"
	    "\u2588");
	cols = spark_render(b, sizeof b, a, 10, 0, 100, 20, false);
	assert_int_equal(cols, 10);
	assert_string_equal(b, " .:-=+*#%@");
	/* Only the newest values that fit the width. */
	cols = spark_render(b, sizeof b, v, 9, 0, 100, 3, false);
	assert_int_equal(cols, 3);
	assert_string_equal(b, "#%@");	/* 75 87.5 100 of 9 levels */
	/* Scaling to a different maximum. */
	cols = spark_render(b, sizeof b, v, 5, 0, 50, 10, true);
	assert_string_equal(b, " \u2582\u2584\u2586\u2588");
	/* A small buffer never overflows (3 bytes a block + NUL). */
	cols = spark_render(b, 8, v, 9, 0, 100, 9, true);
	assert_int_equal(cols, 3);
	assert_int_equal(strlen(b), 7);
	cols = spark_render(b, sizeof b, v, 0, 0, 100, 10, true);
	assert_int_equal(cols, 0);
	assert_string_equal(b, "");
}

static void
test_spark_range(void **state)
{
	const double	v[] = { 3, -1, 7, 2 };
	double		lo, hi;

	spark_range(v, 4, &lo, &hi);
	assert_true(lo == -1 && hi == 7);
	spark_range(v, 0, &lo, &hi);
	assert_true(lo == 0 && hi == 0);
}

static void
test_tasklog_ring(void **state)
{
	struct tasklog		 t;
	struct task_rec		 r;
	int			 i;

	(void)state;
	assert_int_equal(tasklog_init(&t, 4), 0);
	assert_null(tasklog_get(&t, 0));
	for (i = 1; i <= 6; i++) {
		memset(&r, 0, sizeof r);
		r.id = (uint64_t)i;
		r.pool = i % 2 ? pool_a : pool_b;
		r.ok = i != 5;
		tasklog_push(&t, &r);
	}
	assert_int_equal(tasklog_len(&t), 4);
	assert_int_equal(t.total, 6);
	/* Newest first; 1 and 2 made room. */
	assert_int_equal(tasklog_get(&t, 0)->id, 6);
	assert_int_equal(tasklog_get(&t, 3)->id, 3);
	assert_null(tasklog_get(&t, 4));
	assert_int_equal(tasklog_count(&t, NULL, TASKLOG_ALL), 4);
	assert_int_equal(tasklog_count(&t, pool_a, TASKLOG_ALL), 2);
	assert_int_equal(tasklog_count(&t, NULL, TASKLOG_ERROR), 1);
	assert_int_equal(tasklog_count(&t, pool_a, TASKLOG_ERROR), 1);
	assert_int_equal(tasklog_count(&t, pool_b, TASKLOG_ERROR), 0);
	assert_int_equal(tasklog_count(&t, pool_b, TASKLOG_OK), 2);
	assert_false(tasklog_match(tasklog_get(&t, 1), NULL, TASKLOG_OK));
	tasklog_free(&t);
	assert_int_equal(tasklog_init(&t, 0), -22);
}

/* Record n of the text test: texts of lengths that vary with n. */
static void
tasklog_rec_make(struct task_rec *r, unsigned n)
{
	size_t	k, len;

	memset(r, 0, sizeof *r);
	r->time_ms = 1000 + n;
	r->latency_us = 7 * n;
	r->id = n;
	r->pool = n % 3 ? pool_a : pool_b;
	r->slot = (int)(n % 5) - 1;
	r->pid = (pid_t)(4000 + n);
	r->ok = n % 4 != 0;
	snprintf(r->pool_name, sizeof r->pool_name, "pool-%u", n % 7);
	snprintf(r->task, sizeof r->task, "%.*s", (int)(n % 31),
	    "abcdefghijklmnopqrstuvwxyz01234");
	len = (n * 13) % sizeof r->payload;
	for (k = 0; k < len && k < sizeof r->payload - 1; k++)
		r->payload[k] = (char)('a' + (n + k) % 26);
	len = (n * 29) % (sizeof r->result + 10);	/* some past the field */
	for (k = 0; k < len && k < sizeof r->result - 1; k++)
		r->result[k] = (char)('A' + (n * 3 + k) % 26);
}

/*
 * Texts come back exactly (through many wraps of the byte ring), record
 * counts never pass cap, and records of long texts make old ones go by
 * bytes while the bytes held stay those of init.
 */
static void
test_tasklog_texts(void **state)
{
	struct tasklog		 t;
	struct task_rec		 want;
	const struct task_rec	*got;
	unsigned		 n, i, kept;
	size_t			 bytes;

	(void)state;
	assert_int_equal(tasklog_init(&t, 50), 0);
	bytes = tasklog_bytes(&t);
	/* The fixed part and 96 text bytes a record: under half the 272-byte
	 * records this replaced. */
	assert_true(bytes <= 50 * (56 + TASKLOG_TEXT_AVG));
	for (n = 1; n <= 5000; n++) {
		tasklog_rec_make(&want, n);
		tasklog_push(&t, &want);
		kept = (unsigned)tasklog_len(&t);
		assert_true(kept >= 1 && kept <= 50);
		assert_int_equal(t.total, n);
		if (n % 97 != 0 && n > 60)
			continue;
		for (i = 0; i < kept; i++) {
			tasklog_rec_make(&want, n - i);
			got = tasklog_get(&t, i);
			assert_non_null(got);
			assert_int_equal(got->id, want.id);
			assert_int_equal(got->time_ms, want.time_ms);
			assert_int_equal(got->latency_us, want.latency_us);
			assert_ptr_equal(got->pool, want.pool);
			assert_int_equal(got->slot, want.slot);
			assert_int_equal(got->pid, want.pid);
			assert_int_equal(got->ok, want.ok);
			assert_string_equal(got->pool_name, want.pool_name);
			assert_string_equal(got->task, want.task);
			assert_string_equal(got->payload, want.payload);
			assert_string_equal(got->result, want.result);
		}
	}
	assert_int_equal(tasklog_bytes(&t), bytes);
	tasklog_free(&t);

	/* Longest texts only: fewer than cap kept, never past the bytes. */
	assert_int_equal(tasklog_init(&t, 50), 0);
	for (n = 0; n < 300; n++) {
		memset(&want, 'x', sizeof want);
		want.id = n;
		want.pool_name[sizeof want.pool_name - 1] = '\0';
		want.task[sizeof want.task - 1] = '\0';
		want.payload[sizeof want.payload - 1] = '\0';
		want.result[sizeof want.result - 1] = '\0';
		tasklog_push(&t, &want);
	}
	/* 31 + 31 + 63 + 95 = 220 text bytes a record, in 50 * 96. */
	assert_int_equal(tasklog_len(&t), 50 * 96 / 220);
	got = tasklog_get(&t, 0);
	assert_int_equal(got->id, 299);
	assert_int_equal(strlen(got->result), sizeof want.result - 1);
	assert_int_equal(tasklog_count(&t, NULL, TASKLOG_ALL),
	    tasklog_len(&t));
	tasklog_free(&t);

	/* One record alone always fits, however small cap is. */
	assert_int_equal(tasklog_init(&t, 1), 0);
	tasklog_push(&t, &want);
	assert_int_equal(tasklog_len(&t), 1);
	assert_string_equal(tasklog_get(&t, 0)->payload, want.payload);
	tasklog_free(&t);
}

/*
 * Every key htop binds in its main screen (htop-dev/htop Action.c,
 * Action_setBindings) does the same thing here, or nothing: pooltop's
 * own actions must not take a letter a person's htop habits use.
 */
static void
test_keys_follow_htop(void **state)
{
	static const struct {
		int		 key;
		enum ui_cmd	 cmd;	/* htop's action here, or NONE */
	} htop[] = {
		{ ' ', UI_CMD_TAG },		{ '#', UI_CMD_NONE },
		{ '*', UI_CMD_NONE },		{ '+', UI_CMD_NONE },
		{ ',', UI_CMD_SORT_PREV },	{ '-', UI_CMD_NONE },
		{ '.', UI_CMD_SORT_NEXT },	{ '/', UI_CMD_SEARCH },
		{ '<', UI_CMD_SORT_PREV },	{ '=', UI_CMD_NONE },
		{ '>', UI_CMD_SORT_NEXT },	{ '?', UI_CMD_HELP },
		{ 'C', UI_CMD_NONE },		{ 'F', UI_CMD_NONE },
		{ 'H', UI_CMD_NONE },		{ 'I', UI_CMD_INVERT },
		{ 'K', UI_CMD_NONE },		{ 'M', UI_CMD_SORT_MEM },
		{ 'N', UI_CMD_SORT_PID },	{ 'O', UI_CMD_NONE },
		{ 'P', UI_CMD_SORT_CPU },	{ 'S', UI_CMD_NONE },
		{ 'T', UI_CMD_SORT_TIME },	{ 'U', UI_CMD_UNTAG_ALL },
		{ 'Y', UI_CMD_NONE },		{ 'Z', UI_CMD_NONE },
		{ '[', UI_CMD_NONE },		{ '\014', UI_CMD_REDRAW },
		{ '\177', UI_CMD_NONE },	{ '\\', UI_CMD_FILTER },
		{ ']', UI_CMD_NONE },		{ 'a', UI_CMD_NONE },
		{ 'b', UI_CMD_NONE },		{ 'c', UI_CMD_NONE },
		{ 'e', UI_CMD_NONE },		{ 'h', UI_CMD_HELP },
		{ 'k', UI_CMD_KILL },		{ 'l', UI_CMD_NONE },
		{ 'm', UI_CMD_NONE },		{ 'p', UI_CMD_NONE },
		{ 'q', UI_CMD_QUIT },		{ 's', UI_CMD_NONE },
		{ 't', UI_CMD_NONE },		{ 'u', UI_CMD_NONE },
		{ 'w', UI_CMD_NONE },		{ 'x', UI_CMD_NONE },
		{ '\t', UI_CMD_NONE },
		{ KEY_F(1), UI_CMD_HELP },	{ KEY_F(2), UI_CMD_NONE },
		{ KEY_F(3), UI_CMD_SEARCH },	{ KEY_F(4), UI_CMD_FILTER },
		{ KEY_F(5), UI_CMD_NONE },	{ KEY_F(6), UI_CMD_SORT_NEXT },
		{ KEY_F(7), UI_CMD_NONE },	{ KEY_F(8), UI_CMD_NONE },
		{ KEY_F(9), UI_CMD_KILL },	{ KEY_F(10), UI_CMD_QUIT },
	};
	/* pooltop's own, each on a letter htop leaves free. */
	static const struct {
		int		 key;
		enum ui_cmd	 cmd;
	} own[] = {
		{ 'z', UI_CMD_SLEEP_WAKE },	{ 'r', UI_CMD_RESTART },
		{ 'j', UI_CMD_TASKS },		{ 'L', UI_CMD_LOG },
		{ '\r', UI_CMD_LOG },		{ KEY_ENTER, UI_CMD_LOG },
		{ 'A', UI_CMD_SCALE_UP },	{ 'D', UI_CMD_SCALE_DOWN },
		{ 'B', UI_CMD_STRATEGY },	{ 'd', UI_CMD_DEBUG },
		{ 'R', UI_CMD_RELOAD },		{ 'n', UI_CMD_SEARCH_NEXT },
	};
	size_t	i, j;

	(void)state;
	for (i = 0; i < sizeof htop / sizeof htop[0]; i++) {
		if (ui_table_cmd(htop[i].key) != htop[i].cmd)
			fail_msg("key %d (%c): command %d, expected %d",
			    htop[i].key, htop[i].key < 0x7f &&
			    htop[i].key >= 0x20 ? htop[i].key : '?',
			    (int)ui_table_cmd(htop[i].key), (int)htop[i].cmd);
	}
	for (i = 0; i < sizeof own / sizeof own[0]; i++) {
		assert_int_equal(ui_table_cmd(own[i].key), own[i].cmd);
		for (j = 0; j < sizeof htop / sizeof htop[0]; j++)
			assert_int_not_equal(own[i].key, htop[j].key);
	}
	assert_int_equal(ui_table_cmd('y'), UI_CMD_NONE);
}

/* Each of pooltop's own keys has its line on the help screen. */
static void
test_help_lists_keys(void **state)
{
	static const char *const want[] = {
		"  z           sleep the worker (SIGSTOP), or wake it",
		"  r           restart the worker",
		"  A           add a worker",
		"  D           drop a worker",
		"  B           change the worker's pool's balancing strategy",
		"  R           reload the worker's pool",
		"  d           debugger",
		"  L Enter     the worker's log",
		"  j           the task log",
		"  P M T N     sort by CPU%, by memory (RSS), by uptime, by PID",
		"  Esc q j     back to the table",
	};
	size_t	i, k;
	bool	found;

	(void)state;
	for (i = 0; i < sizeof want / sizeof want[0]; i++) {
		found = false;
		for (k = 0; k < view_help_nlines && !found; k++)
			found = strncmp(view_help_text[k], want[i],
			    strlen(want[i])) == 0;
		if (!found)
			fail_msg("no help line starting \"%s\"", want[i]);
	}
	/* htop's letters for other actions are not offered. */
	for (k = 0; k < view_help_nlines; k++) {
		assert_null(strstr(view_help_text[k], "  s           "));
		assert_null(strstr(view_help_text[k], "  t           "));
		assert_null(strstr(view_help_text[k], "  + -"));
	}
}

/* NO_COLOR: set and not empty turns colour off; empty is as unset. */
static void
test_no_color(void **state)
{
	(void)state;
	unsetenv("NO_COLOR");
	assert_true(ui_color_allowed(true));
	assert_false(ui_color_allowed(false));		/* color = no */
	setenv("NO_COLOR", "", 1);
	assert_true(ui_color_allowed(true));
	setenv("NO_COLOR", "1", 1);
	assert_false(ui_color_allowed(true));
	setenv("NO_COLOR", "no", 1);			/* any value */
	assert_false(ui_color_allowed(true));
	unsetenv("NO_COLOR");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort_default_and_columns),
		cmocka_unit_test(test_sort_step),
		cmocka_unit_test(test_selection_stable_across_sorts),
		cmocka_unit_test(test_selection_stable_across_refreshes),
		cmocka_unit_test(test_selection_same_slot_other_pool),
		cmocka_unit_test(test_move_and_clamp),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_tags_survive_refresh_and_sort),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_fmt_bytes),
		cmocka_unit_test(test_fmt_uptime_cpu_latency),
		cmocka_unit_test(test_fmt_excerpt),
		cmocka_unit_test(test_fmt_wide),
		cmocka_unit_test(test_spark_levels),
		cmocka_unit_test(test_spark_render),
		cmocka_unit_test(test_spark_range),
		cmocka_unit_test(test_tasklog_ring),
		cmocka_unit_test(test_tasklog_texts),
		cmocka_unit_test(test_keys_follow_htop),
		cmocka_unit_test(test_help_lists_keys),
		cmocka_unit_test(test_no_color),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
