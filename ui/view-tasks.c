/*
 * The task log view (the original's "Signals"): the tasks that finished
 * since pooltop started (the newest few thousand), newest first, with
 * time, pool, worker, task name, payload and result or error excerpts and
 * latency, filtered by pool and by outcome.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "view.h"

static const char *
view_tasks_outcome_name(enum tasklog_outcome o)
{
	return o == TASKLOG_OK ? "ok" : o == TASKLOG_ERROR ? "errors" : "all";
}

static int
view_tasks_rows(struct ui *ui)
{
	int h = ui->body ? getmaxy(ui->body) - 2 : 1;

	return h > 0 ? h : 1;
}

/* Puts text at x, clipped to w columns. */
static void
view_tasks_cell(WINDOW *win, int y, int x, int w, const char *text)
{
	if (w <= 0 || x >= getmaxx(win))
		return;
	wmove(win, y, x);
	ui_put(win, text, strlen(text), w);
}

static void
view_tasks_draw(struct ui *ui, WINDOW *w)
{
	const struct task_rec	*r;
	char			 line[256], ts[32], lat[16], who[48];
	int			 width = getmaxx(w), rows = view_tasks_rows(ui);
	int			 y, rest, wres, wpay;
	size_t			 i, shown = 0, matches;
	time_t			 t;
	struct tm		 tm;
	const char		*pname = "all";

	if (ui->tv.pool_idx >= 0 && (size_t)ui->tv.pool_idx < ui->npools)
		pname = pool_name(ui->pools[ui->tv.pool_idx]);
	else {
		ui->tv.pool_idx = -1;
		ui->tv.pool = NULL;
	}
	matches = tasklog_count(&ui->tasks, ui->tv.pool, ui->tv.outcome);
	if (ui->tv.top + (size_t)rows > matches)
		ui->tv.top = matches > (size_t)rows ? matches - (size_t)rows : 0;
	snprintf(line, sizeof line, " Tasks: %llu finished since start, "
	    "%zu kept, %zu shown  pool: %s  outcome: %s ",
	    (unsigned long long)ui->tasks.total, tasklog_len(&ui->tasks),
	    matches, pname, view_tasks_outcome_name(ui->tv.outcome));
	wmove(w, 0, 0);
	wattrset(w, ui_attr(ui, UI_C_TITLE));
	whline(w, ' ', width);
	ui_put(w, line, strlen(line), width);

	/* Fixed columns, then result and payload share the rest. */
	rest = width - 63;
	wres = rest > 20 ? rest * 3 / 5 : rest;
	wpay = rest - wres - 1;
	wmove(w, 1, 0);
	wattrset(w, A_BOLD);
	whline(w, ' ', width);
	view_tasks_cell(w, 1, 0, 12, "TIME");
	view_tasks_cell(w, 1, 13, 10, "POOL");
	view_tasks_cell(w, 1, 24, 14, "WORKER");
	view_tasks_cell(w, 1, 39, 10, "TASK");
	view_tasks_cell(w, 1, 50, 8, " LATENCY");
	view_tasks_cell(w, 1, 59, 3, "OK");
	view_tasks_cell(w, 1, 63, wres, "RESULT / ERROR");
	view_tasks_cell(w, 1, 64 + wres, wpay, "PAYLOAD");
	wattrset(w, A_NORMAL);

	y = 2;
	for (i = 0; i < tasklog_len(&ui->tasks) && y < rows + 2; i++) {
		r = tasklog_get(&ui->tasks, i);
		if (!tasklog_match(r, ui->tv.pool, ui->tv.outcome))
			continue;
		if (shown++ < ui->tv.top)
			continue;
		wmove(w, y, 0);
		wclrtoeol(w);
		t = (time_t)(r->time_ms / 1000);
		localtime_r(&t, &tm);
		snprintf(ts, sizeof ts, "%02d:%02d:%02d.%03d", tm.tm_hour,
		    tm.tm_min, tm.tm_sec, (int)(r->time_ms % 1000));
		fmt_latency(lat, sizeof lat, r->latency_us);
		if (r->slot >= 0)
			snprintf(who, sizeof who, "%d (pid %d)", r->slot,
			    (int)r->pid);
		else
			snprintf(who, sizeof who, "-");
		wattrset(w, ui_attr(ui, UI_C_DIM));
		view_tasks_cell(w, y, 0, 12, ts);
		wattrset(w, A_NORMAL);
		view_tasks_cell(w, y, 13, 10, r->pool_name);
		view_tasks_cell(w, y, 24, 14, who);
		view_tasks_cell(w, y, 39, 10, r->task);
		snprintf(line, sizeof line, "%8s", lat);
		view_tasks_cell(w, y, 50, 8, line);
		wattrset(w, ui_attr(ui, r->ok ? UI_C_GOOD : UI_C_BAD));
		view_tasks_cell(w, y, 59, 3, r->ok ? "ok" : "ERR");
		view_tasks_cell(w, y, 63, wres, r->result);
		wattrset(w, A_NORMAL);
		view_tasks_cell(w, y, 64 + wres, wpay, r->payload);
		y++;
	}
	for (; y < rows + 2; y++) {
		wmove(w, y, 0);
		wclrtoeol(w);
	}
	ui->tv.height = rows;
}

static bool
view_tasks_key(struct ui *ui, int ch)
{
	size_t	page = (size_t)(view_tasks_rows(ui) > 1 ?
	    view_tasks_rows(ui) - 1 : 1);

	switch (ch) {
	case 27:
	case 'q':
	case KEY_LEFT:
	case 'j':
		ui_set_view(ui, &view_table_ops);
		return true;
	case KEY_UP:
		if (ui->tv.top > 0)
			ui->tv.top--;
		break;
	case KEY_DOWN:
		ui->tv.top++;
		break;
	case KEY_PPAGE:
		ui->tv.top = ui->tv.top > page ? ui->tv.top - page : 0;
		break;
	case KEY_NPAGE:
	case ' ':
		ui->tv.top += page;
		break;
	case KEY_HOME:
		ui->tv.top = 0;
		break;
	case KEY_END:
		ui->tv.top = (size_t)-1 / 2;	/* clamped when drawn */
		break;
	case 'p':
		/* Every pool in turn, then all of them again. */
		ui->tv.pool_idx++;
		if ((size_t)ui->tv.pool_idx >= ui->npools)
			ui->tv.pool_idx = -1;
		ui->tv.pool = ui->tv.pool_idx >= 0 ?
		    ui->pools[ui->tv.pool_idx] : NULL;
		ui->tv.top = 0;
		break;
	case 'o':
		ui->tv.outcome = (ui->tv.outcome + 1) % 3;
		ui->tv.top = 0;
		break;
	default:
		return false;
	}
	ui->dirty |= UI_DIRTY_BODY;
	return true;
}

static void
view_tasks_hints(struct ui *ui, WINDOW *w, int width)
{
	char	pool[64], out[32];
	int	room = width;

	snprintf(pool, sizeof pool, "Pool:%s", ui->tv.pool_idx >= 0 &&
	    (size_t)ui->tv.pool_idx < ui->npools ?
	    pool_name(ui->pools[ui->tv.pool_idx]) : "all");
	snprintf(out, sizeof out, "Outcome:%s",
	    view_tasks_outcome_name(ui->tv.outcome));
	room -= ui_hint(ui, w, "Esc", "Back", room);
	room -= ui_hint(ui, w, "p", pool, room);
	room -= ui_hint(ui, w, "o", out, room);
	room -= ui_hint(ui, w, "PgUp/PgDn", "Scroll", room);
	room -= ui_hint(ui, w, "Home", "Newest", room);
	room -= ui_hint(ui, w, "F10", "Quit", room);
}

const struct view_ops view_tasks_ops = {
	.name = "tasks",
	.draw = view_tasks_draw,
	.key = view_tasks_key,
	.hints = view_tasks_hints,
	.close = NULL,
};
