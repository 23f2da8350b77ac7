/*
 * The worker log view: the selected worker's stdout and stderr lines with
 * their timestamps and stream, scrolling, follow mode and search.  Lines
 * are copied from the engine's ring for the slot into a ring of our own
 * (bounded the same way) as they arrive, so scrolling back is stable
 * while the worker keeps writing.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "view.h"

#define LOG_MAX_LINE	2048
#define LOG_PREFIX	17	/* "HH:MM:SS.mmm out " */

static void
view_log_line_cb(const struct pool_log_line *l, void *arg)
{
	struct ui *ui = arg;

	ring_log_push(ui->log.lines, l->time_ms, (int)l->stream, l->text,
	    l->len);
}

/* Copies the lines written since the last call. */
void
view_log_fetch(struct ui *ui)
{
	if (ui->log.lines == NULL || ui->log.pool == NULL)
		return;
	ui->log.next = pool_worker_log(ui->log.pool, ui->log.slot,
	    ui->log.next, view_log_line_cb, ui);
}

int
view_log_open(struct ui *ui, struct pool *pool, int slot, const char *name)
{
	const struct pool_spec	*spec = pool_get_spec(pool);
	size_t			 max = spec && spec->log_lines ? spec->log_lines :
	    1000;

	if (ui->log.lines != NULL)
		ring_log_free(ui->log.lines);
	memset(&ui->log, 0, sizeof ui->log);
	if ((ui->log.lines = ring_log_new(max, LOG_MAX_LINE)) == NULL)
		return -1;
	ui->log.pool = pool;
	ui->log.slot = slot;
	ui->log.follow = true;
	ui->log.match = UINT64_MAX;
	snprintf(ui->log.name, sizeof ui->log.name, "%s", name);
	view_log_fetch(ui);
	ui_set_view(ui, &view_log_ops);
	return 0;
}

static void
view_log_close(struct ui *ui)
{
	if (ui->log.lines != NULL)
		ring_log_free(ui->log.lines);
	ui->log.lines = NULL;
	ui->log.pool = NULL;
}

static int
view_log_rows(struct ui *ui)
{
	int h = ui->body ? getmaxy(ui->body) - 1 : 1;

	return h > 0 ? h : 1;
}

/* Keeps top within the kept lines (and at the end when following). */
static void
view_log_clamp(struct ui *ui)
{
	uint64_t	first = ring_log_first(ui->log.lines);
	uint64_t	next = ring_log_next(ui->log.lines);
	uint64_t	rows = (uint64_t)view_log_rows(ui);
	uint64_t	last_top = next > first + rows ? next - rows : first;

	if (ui->log.follow || ui->log.top > last_top)
		ui->log.top = last_top;
	if (ui->log.top < first)
		ui->log.top = first;
}

/* The pid and state now in the slot, from the table's model. */
static const struct model_row *
view_log_row(struct ui *ui)
{
	size_t i;

	for (i = 0; i < model_total(&ui->model); i++) {
		const struct model_row *r = model_any_row(&ui->model, i);

		if (r->pool == ui->log.pool && r->slot == ui->log.slot)
			return r;
	}
	return NULL;
}

static void
view_log_draw(struct ui *ui, WINDOW *w)
{
	const struct model_row	*r = view_log_row(ui);
	struct ring_log_entry	 e;
	char			 line[256], ts[32];
	int			 width = getmaxx(w), rows, i;
	uint64_t		 seq, next;
	time_t			 t;
	struct tm		 tm;

	view_log_fetch(ui);
	view_log_clamp(ui);
	rows = view_log_rows(ui);
	next = ring_log_next(ui->log.lines);
	snprintf(line, sizeof line, " Log of %s  pid %d  %s  %llu lines kept"
	    "  follow %s%s%s%s ", ui->log.name, r ? (int)r->pid : 0,
	    r && r->state_name ? r->state_name : "gone",
	    (unsigned long long)(next - ring_log_first(ui->log.lines)),
	    ui->log.follow ? "on" : "off",
	    ui->log.search[0] ? "  search \"" : "", ui->log.search,
	    ui->log.search[0] ? "\"" : "");
	wmove(w, 0, 0);
	wattrset(w, ui_attr(ui, UI_C_TITLE));
	whline(w, ' ', width);
	ui_put(w, line, strlen(line), width);
	wattrset(w, A_NORMAL);
	for (i = 0; i < rows; i++) {
		seq = ui->log.top + (uint64_t)i;
		wmove(w, i + 1, 0);
		wclrtoeol(w);
		if (seq >= next || ring_log_get(ui->log.lines, seq, &e) != 0)
			continue;
		t = (time_t)(e.time_ms / 1000);
		localtime_r(&t, &tm);
		snprintf(ts, sizeof ts, "%02d:%02d:%02d.%03d ", tm.tm_hour,
		    tm.tm_min, tm.tm_sec, (int)(e.time_ms % 1000));
		if (seq == ui->log.match)
			wattrset(w, ui_attr(ui, UI_C_SELECTED));
		else
			wattrset(w, ui_attr(ui, UI_C_DIM));
		ui_put(w, ts, strlen(ts), width);
		if (seq != ui->log.match)
			wattrset(w, ui_attr(ui, e.stream == LOG_STDERR ?
			    UI_C_BAD : e.stream == LOG_STDOUT ? UI_C_GOOD :
			    UI_C_SLEEP));
		ui_put(w, e.stream == LOG_STDERR ? "err " :
		    e.stream == LOG_STDOUT ? "out " : "--- ", 4,
		    width - getcurx(w));
		if (seq != ui->log.match)
			wattrset(w, A_NORMAL);
		ui_put(w, e.text, e.len, width - getcurx(w));
		if (seq == ui->log.match)
			whline(w, ' ', width - getcurx(w));
		wattrset(w, A_NORMAL);
	}
}

bool
view_log_search(struct ui *ui, const char *text, bool forward,
    bool skip_current)
{
	struct ring_log_entry	e;
	uint64_t		first, next, n, k, start, seq;

	if (ui->log.lines == NULL || text[0] == '\0')
		return false;
	first = ring_log_first(ui->log.lines);
	next = ring_log_next(ui->log.lines);
	n = next - first;
	if (n == 0)
		return false;
	start = ui->log.match != UINT64_MAX && ui->log.match >= first &&
	    ui->log.match < next ? ui->log.match : (forward ? ui->log.top :
	    ui->log.top + (uint64_t)view_log_rows(ui) - 1);
	if (start < first || start >= next)
		start = forward ? first : next - 1;
	for (k = skip_current ? 1 : 0; k < n + (skip_current ? 1 : 0); k++) {
		if (forward)
			seq = first + (start - first + k) % n;
		else
			seq = first + (start - first + n - (k % n)) % n;
		if (ring_log_get(ui->log.lines, seq, &e) != 0)
			continue;
		if (fmt_find(e.text, e.len, text) != NULL) {
			ui->log.match = seq;
			ui->log.follow = false;
			/* Show the match a third of the way down. */
			ui->log.top = seq > first + (uint64_t)view_log_rows(ui) / 3 ?
			    seq - (uint64_t)view_log_rows(ui) / 3 : first;
			view_log_clamp(ui);
			ui->dirty |= UI_DIRTY_BODY;
			return true;
		}
	}
	return false;
}

static void
view_log_scroll(struct ui *ui, long delta)
{
	uint64_t first = ring_log_first(ui->log.lines);

	ui->log.follow = false;
	if (delta < 0 && ui->log.top < first + (uint64_t)-delta)
		ui->log.top = first;
	else
		ui->log.top += (uint64_t)delta;
	view_log_clamp(ui);
}

static bool
view_log_key(struct ui *ui, int ch)
{
	long page = view_log_rows(ui) > 1 ? view_log_rows(ui) - 1 : 1;

	switch (ch) {
	case 27:
	case 'q':
	case KEY_LEFT:
	case KEY_BACKSPACE:
		ui_set_view(ui, &view_table_ops);
		return true;
	case KEY_UP:
		view_log_scroll(ui, -1);
		break;
	case KEY_DOWN:
		view_log_scroll(ui, 1);
		break;
	case KEY_PPAGE:
		view_log_scroll(ui, -page);
		break;
	case KEY_NPAGE:
	case ' ':
		view_log_scroll(ui, page);
		break;
	case KEY_HOME:
	case 'g':
		ui->log.follow = false;
		ui->log.top = ring_log_first(ui->log.lines);
		break;
	case KEY_END:
	case 'G':
		ui->log.follow = true;
		break;
	case 'F':
	case 'f':
		ui->log.follow = !ui->log.follow;
		ui_message(ui, false, "follow %s", ui->log.follow ? "on" : "off");
		break;
	case '/':
	case KEY_F(3):
		ui->log.match = UINT64_MAX;
		ui_prompt_start(ui, UI_PROMPT_LOG_SEARCH, "");
		return true;
	case 'n':
	case 'N':
		if (ui->log.search[0] == '\0') {
			ui_message(ui, true, "no search yet: press / first");
			return true;
		}
		if (!view_log_search(ui, ui->log.search, ch == 'n', true))
			ui_message(ui, true, "not found: %s", ui->log.search);
		break;
	default:
		return false;
	}
	view_log_clamp(ui);
	ui->dirty |= UI_DIRTY_BODY;
	return true;
}

static void
view_log_hints(struct ui *ui, WINDOW *w, int width)
{
	int room = width;

	room -= ui_hint(ui, w, "Esc", "Back", room);
	room -= ui_hint(ui, w, "F", ui->log.follow ? "Follow(on)" :
	    "Follow(off)", room);
	room -= ui_hint(ui, w, "/", "Search", room);
	room -= ui_hint(ui, w, "n/N", "Next/Prev", room);
	room -= ui_hint(ui, w, "PgUp/PgDn", "Scroll", room);
	room -= ui_hint(ui, w, "Home/End", "Top/End", room);
	room -= ui_hint(ui, w, "F10", "Quit", room);
}

const struct view_ops view_log_ops = {
	.name = "log",
	.draw = view_log_draw,
	.key = view_log_key,
	.hints = view_log_hints,
	.close = view_log_close,
};
