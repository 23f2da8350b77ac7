/*
 * The process table: a row per worker and service plus pooltop itself,
 * the columns that fit the width (model_layout), a CPU sparkline per
 * row, and the detail pane of the selected worker below.
 */
#include <stdio.h>
#include <string.h>

#include "view.h"

/* Detail pane lines, when the terminal has room for them. */
#define TABLE_DETAIL_LINES	4
#define TABLE_MIN_FOR_DETAIL	12

static int
view_table_height(struct ui *ui)
{
	int h = ui->body ? getmaxy(ui->body) : 0;

	if (h >= TABLE_MIN_FOR_DETAIL)
		h -= TABLE_DETAIL_LINES;
	return h - 1 > 0 ? h - 1 : 1;	/* less the header line */
}

/* Scrolls so the selection is on the screen. */
void
view_table_ensure_visible(struct ui *ui)
{
	int	rows = view_table_height(ui);
	int	sel = (int)model_selection(&ui->model);
	int	n = (int)model_count(&ui->model);

	if (sel < ui->table_top)
		ui->table_top = sel;
	if (sel >= ui->table_top + rows)
		ui->table_top = sel - rows + 1;
	if (ui->table_top > n - rows)
		ui->table_top = n - rows;
	if (ui->table_top < 0)
		ui->table_top = 0;
	ui->table_rows = rows;
}

static bool
view_table_numeric(enum model_col c)
{
	return c != COL_POOL && c != COL_TYPE && c != COL_STATE &&
	    c != COL_SPARK;
}

static void
view_table_header(struct ui *ui, WINDOW *w, int y)
{
	const struct model_layout *l = &ui->layout;
	char		 buf[64];
	int		 c, width = getmaxx(w);
	const char	*mark;

	wmove(w, y, 0);
	wattrset(w, ui_attr(ui, UI_C_TITLE));
	whline(w, ' ', width);
	for (c = 0; c < COL_COUNT; c++) {
		if (!l->shown[c])
			continue;
		mark = "";
		if (ui->model.sort_col == (enum model_col)c)
			mark = ui->utf8 ? (ui->model.sort_desc ? "\u25bc" :
			    "\u25b2") : (ui->model.sort_desc ? "v" : "^");
		snprintf(buf, sizeof buf, "%s%s", model_col_name(c), mark);
		/* Right-aligned over numbers; the mark takes one column. */
		wmove(w, y, l->x[c]);
		if (view_table_numeric(c)) {
			int len = (int)strlen(model_col_name(c)) +
			    (mark[0] ? 1 : 0);

			if (len < l->w[c])
				wmove(w, y, l->x[c] + l->w[c] - len);
		}
		if (ui->model.sort_col == (enum model_col)c)
			wattron(w, A_BOLD);
		ui_put(w, buf, strlen(buf), l->w[c]);
		wattroff(w, A_BOLD);
	}
	wattrset(w, A_NORMAL);
}

/* The colour of a state, or of nothing in particular. */
static enum ui_color
view_table_state_color(const struct model_row *r)
{
	if (r->type == MODEL_MANAGER)
		return UI_C_DIM;
	switch (r->state) {
	case WORKER_BUSY:
		return UI_C_GOOD;
	case WORKER_SLEEPING:
		return UI_C_SLEEP;
	case WORKER_EXITED:
	case WORKER_FAILED:
	case WORKER_STOPPING:
		return UI_C_BAD;
	default:
		return UI_C_NORMAL;
	}
}

/* Formats one cell; NULL for the sparkline (drawn apart). */
static const char *
view_table_cell(const struct model_row *r, enum model_col c, char *buf,
    size_t len)
{
	bool	proc = r->pid > 0;

	switch (c) {
	case COL_POOL:
		return r->type == MODEL_MANAGER ? "pooltop" : r->pool_name;
	case COL_SLOT:
		if (r->slot < 0)
			return "-";
		snprintf(buf, len, "%d", r->slot);
		return buf;
	case COL_PID:
		if (!proc)
			return "-";
		snprintf(buf, len, "%d", (int)r->pid);
		return buf;
	case COL_PPID:
		if (!proc || r->ppid <= 0)
			return "-";
		snprintf(buf, len, "%d", (int)r->ppid);
		return buf;
	case COL_TYPE:
		return r->type == MODEL_MANAGER ? "manager" :
		    r->type == MODEL_SERVICE ? "service" : "worker";
	case COL_STATE:
		/* Under a debugger (ptrace stop) the worker is not dead. */
		if (proc && r->proc_state == 't' && r->state != WORKER_EXITED &&
		    r->state != WORKER_FAILED)
			return "traced";
		return r->state_name ? r->state_name : "?";
	case COL_CPU:
		if (!proc)
			return "-";
		fmt_cpu(buf, len, r->cpu);
		return buf;
	case COL_RSS:
		if (!proc)
			return "-";
		fmt_bytes(buf, len, r->rss);
		return buf;
	case COL_DONE:
		fmt_count(buf, len, r->done);
		return buf;
	case COL_INFLIGHT:
		snprintf(buf, len, "%u", r->in_flight);
		return buf;
	case COL_ERRORS:
		fmt_count(buf, len, r->errors);
		return buf;
	case COL_RESTARTS:
		snprintf(buf, len, "%u", r->restarts);
		return buf;
	case COL_UPTIME:
		if (!proc)
			return "-";
		fmt_uptime(buf, len, r->uptime_ms);
		return buf;
	case COL_SPARK:
	case COL_COUNT:
		break;
	}
	return NULL;
}

static void
view_table_spark(struct ui *ui, WINDOW *w, int y, int x, int width,
    const struct model_row *r)
{
	char	buf[60 * 3 + 1];
	size_t	n, cols;
	double	lo, hi;

	if (ui->sampler == NULL || r->pid <= 0 || width <= 0)
		return;
	n = sampler_history(ui->sampler, r->pid, ui->hcpu, NULL, ui->hcap);
	if (n == 0)
		return;
	/* One scale for every row (a core is 100%), so rows compare. */
	spark_range(ui->hcpu, n, &lo, &hi);
	cols = spark_render(buf, sizeof buf, ui->hcpu, n, 0,
	    hi > 100 ? hi : 100, (size_t)width, ui->utf8);
	wmove(w, y, x + width - (int)cols);
	waddstr(w, buf);
}

static void
view_table_row(struct ui *ui, WINDOW *w, int y, const struct model_row *r,
    bool selected)
{
	const struct model_layout *l = &ui->layout;
	char		 buf[64];
	const char	*text;
	int		 c, len;
	attr_t		 base = selected ? ui_attr(ui, UI_C_SELECTED) : A_NORMAL;
	enum ui_color	 color;

	wmove(w, y, 0);
	wattrset(w, base);
	if (selected)
		whline(w, ' ', getmaxx(w));
	else
		wclrtoeol(w);
	if (r->tagged) {
		wattron(w, ui_attr(ui, UI_C_TAG));
		mvwaddch(w, y, 0, '*');
		wattrset(w, base);
	}
	for (c = 0; c < COL_COUNT; c++) {
		if (!l->shown[c])
			continue;
		if (c == COL_SPARK) {
			if (!selected)
				wattrset(w, ui_attr(ui, UI_C_GOOD));
			view_table_spark(ui, w, y, l->x[c], l->w[c], r);
			wattrset(w, base);
			continue;
		}
		text = view_table_cell(r, c, buf, sizeof buf);
		if (text == NULL)
			continue;
		len = (int)strlen(text);
		if (view_table_numeric(c) && len < l->w[c])
			wmove(w, y, l->x[c] + l->w[c] - len);
		else
			wmove(w, y, l->x[c]);
		color = UI_C_NORMAL;
		if (c == COL_STATE)
			color = view_table_state_color(r);
		else if (c == COL_ERRORS && r->errors > 0)
			color = UI_C_BAD;
		else if (r->tagged)
			color = UI_C_TAG;
		else if (r->type == MODEL_MANAGER)
			color = UI_C_DIM;
		if (!selected && color != UI_C_NORMAL)
			wattrset(w, ui_attr(ui, color));
		ui_put(w, text, (size_t)len, l->w[c]);
		wattrset(w, base);
	}
	wattrset(w, A_NORMAL);
}

static void
view_table_draw(struct ui *ui, WINDOW *w)
{
	int	h = getmaxy(w), rows, i, n = (int)model_count(&ui->model);
	int	sel = (int)model_selection(&ui->model);

	view_table_ensure_visible(ui);
	rows = ui->table_rows;
	ui->table_y = 0;
	view_table_header(ui, w, 0);
	for (i = 0; i < rows && i + 1 < h; i++) {
		int idx = ui->table_top + i;

		if (idx < n)
			view_table_row(ui, w, i + 1, model_row(&ui->model,
			    (size_t)idx), idx == sel);
		else {
			wmove(w, i + 1, 0);
			wclrtoeol(w);
		}
	}
	if (h >= TABLE_MIN_FOR_DETAIL)
		view_detail_draw(ui, w, rows + 1, h - rows - 1, getmaxx(w));
}

/* A click: on the header it sorts (again: inverts), on a row it selects. */
int
view_table_click(struct ui *ui, int y, int x, bool header)
{
	int c, idx;

	if (header) {
		c = model_layout_hit(&ui->layout, x);
		if (c < 0)
			return 0;
		if (ui->model.sort_col == (enum model_col)c)
			model_invert(&ui->model);
		else
			model_set_sort(&ui->model, (enum model_col)c,
			    model_col_default_desc(c));
		ui_message(ui, false, "sorted by %s, %s", model_col_name(c),
		    ui->model.sort_desc ? "descending" : "ascending");
		view_table_ensure_visible(ui);
		ui->dirty |= UI_DIRTY_BODY | UI_DIRTY_HEADER;
		return 1;
	}
	idx = ui->table_top + y - ui->table_y - 1;
	if (y <= ui->table_y || y > ui->table_y + ui->table_rows ||
	    idx >= (int)model_count(&ui->model))
		return 0;
	model_select(&ui->model, (size_t)idx);
	ui->dirty |= UI_DIRTY_BODY;
	return 1;
}

static void
view_table_sort(struct ui *ui, enum model_col c, bool desc)
{
	model_set_sort(&ui->model, c, desc);
	view_table_ensure_visible(ui);
	ui->dirty |= UI_DIRTY_BODY | UI_DIRTY_HEADER;
}

/* Opens the selected worker's log (L, Enter). */
static void
view_table_open_log(struct ui *ui)
{
	const struct model_row	*r = model_selected(&ui->model);
	char			 name[MODEL_POOL_MAX + 12];

	if (r == NULL || r->type == MODEL_MANAGER) {
		ui_message(ui, true, "select a worker to see its log");
		return;
	}
	snprintf(name, sizeof name, "%s/%d", r->pool_name, r->slot);
	if (view_log_open(ui, (struct pool *)(uintptr_t)r->pool, r->slot,
	    name) != 0)
		ui_message(ui, true, "out of memory for the log");
}

static bool
view_table_key(struct ui *ui, int ch)
{
	int page = ui->table_rows > 1 ? ui->table_rows - 1 : 1;

	switch (ch) {
	case KEY_UP:
		model_move(&ui->model, -1);
		goto moved;
	case KEY_DOWN:
		model_move(&ui->model, 1);
		goto moved;
	case KEY_PPAGE:
		model_move(&ui->model, -page);
		goto moved;
	case KEY_NPAGE:
		model_move(&ui->model, page);
		goto moved;
	case KEY_HOME:
		model_select(&ui->model, 0);
		goto moved;
	case KEY_END:
		model_move(&ui->model, (long)model_count(&ui->model));
		goto moved;
	}
	/* The rest as bound in ui_table_cmd() (input.c). */
	switch (ui_table_cmd(ch)) {
	case UI_CMD_SORT_CPU:
		view_table_sort(ui, COL_CPU, true);
		break;
	case UI_CMD_SORT_MEM:
		view_table_sort(ui, COL_RSS, true);
		break;
	case UI_CMD_SORT_TIME:
		view_table_sort(ui, COL_UPTIME, true);
		break;
	case UI_CMD_SORT_PID:
		view_table_sort(ui, COL_PID, true);
		break;
	case UI_CMD_INVERT:
		model_invert(&ui->model);
		ui->dirty |= UI_DIRTY_HEADER;
		break;
	case UI_CMD_SORT_NEXT:
		model_sort_step(&ui->model, 1);
		ui->dirty |= UI_DIRTY_HEADER;
		break;
	case UI_CMD_SORT_PREV:
		model_sort_step(&ui->model, -1);
		ui->dirty |= UI_DIRTY_HEADER;
		break;
	case UI_CMD_SEARCH:
		ui_prompt_start(ui, UI_PROMPT_SEARCH, "");
		return true;
	case UI_CMD_SEARCH_NEXT:
	case UI_CMD_SEARCH_PREV:
		if (ui->last_search[0] == '\0') {
			ui_message(ui, true, "no search yet: press / first");
			return true;
		}
		if (!model_search(&ui->model, ui->last_search,
		    ui_table_cmd(ch) == UI_CMD_SEARCH_NEXT, true))
			ui_message(ui, true, "not found: %s", ui->last_search);
		break;
	case UI_CMD_FILTER:
		ui_prompt_start(ui, UI_PROMPT_FILTER, ui->model.filter);
		return true;
	case UI_CMD_TAG:
		model_tag_toggle(&ui->model);
		ui->dirty |= UI_DIRTY_HEADER;
		break;
	case UI_CMD_UNTAG_ALL:
		model_untag_all(&ui->model);
		ui->dirty |= UI_DIRTY_HEADER;
		break;
	case UI_CMD_LOG:
		view_table_open_log(ui);
		return true;
	default:
		return false;
	}
moved:
	view_table_ensure_visible(ui);
	ui->dirty |= UI_DIRTY_BODY;
	return true;
}

static void
view_table_hints(struct ui *ui, WINDOW *w, int width)
{
	int room = width;

	room -= ui_hint(ui, w, "F1", "Help", room);
	room -= ui_hint(ui, w, "F3", "Search", room);
	room -= ui_hint(ui, w, "F4", "Filter", room);
	room -= ui_hint(ui, w, "F6", "Sort", room);
	room -= ui_hint(ui, w, "F9", "Kill", room);
	room -= ui_hint(ui, w, "F10", "Quit", room);
	room -= ui_hint(ui, w, "L", "Log", room);
	room -= ui_hint(ui, w, "j", "Tasks", room);
	room -= ui_hint(ui, w, "z", "Sleep/Wake", room);
	room -= ui_hint(ui, w, "r", "Restart", room);
	room -= ui_hint(ui, w, "A/D", "Scale", room);
	room -= ui_hint(ui, w, "B", "Balance", room);
	room -= ui_hint(ui, w, "R", "Reload", room);
	room -= ui_hint(ui, w, "Spc", "Tag", room);
	room -= ui_hint(ui, w, "d", "Debug", room);
}

const struct view_ops view_table_ops = {
	.name = "table",
	.draw = view_table_draw,
	.key = view_table_key,
	.hints = view_table_hints,
	.close = NULL,
};
