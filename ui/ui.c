/*
 * The dashboard: ncurses on the pooltop process's one libuv loop.
 *
 * Terminal input comes from a uv_poll_t on stdin (nodelay; keys are read
 * until ERR), resizes from a uv_signal_t on SIGWINCH.  Handlers only mark
 * what is dirty; one redraw per loop turn (a uv_prepare_t) draws the
 * windows that changed into ncurses' buffers and doupdate() sends only
 * the difference to the terminal.  Sample ticks redraw at once; engine
 * events are coalesced to at most one redraw per 100 ms.  Rows are read
 * into preallocated arrays, so a frame does not allocate.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "pooltop/balance.h"
#include "view.h"

#define UI_COALESCE_MS		100
#define UI_TASKLOG_CAP		2000
#define UI_HEADER_LINES		2
#define UI_STATUS_LINES		2
/* An action's outcome stays this long before events may replace it. */
#define UI_MSG_HOLD_MS		5000

static void ui_input_cb(uv_poll_t *, int, int);
static void ui_winch_cb(uv_signal_t *, int);
static void ui_term_cb(uv_signal_t *, int);
static void ui_hup_cb(uv_signal_t *, int);
static void ui_coalesce_cb(uv_timer_t *);
static void ui_prepare_cb(uv_prepare_t *);
static void ui_close_cb(uv_handle_t *);
static void ui_refresh_cb(struct sampler *, void *);
static void ui_event_cb(const struct pool_event *, void *);
static void ui_stop_cb(struct engine *, void *);

uint64_t
ui_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

attr_t
ui_attr(struct ui *ui, enum ui_color c)
{
	static const attr_t mono[UI_C_COUNT] = {
		[UI_C_NORMAL] = A_NORMAL,
		[UI_C_TITLE] = A_REVERSE,
		[UI_C_SELECTED] = A_REVERSE | A_BOLD,
		[UI_C_GOOD] = A_NORMAL,
		[UI_C_BAD] = A_BOLD,
		[UI_C_SLEEP] = A_DIM,
		[UI_C_TAG] = A_BOLD | A_UNDERLINE,
		[UI_C_DIM] = A_DIM,
		[UI_C_KEY] = A_REVERSE,
	};

	if (!ui->color || c == UI_C_NORMAL)
		return mono[c];
	if (c == UI_C_BAD || c == UI_C_TAG)
		return COLOR_PAIR(c) | A_BOLD;
	return COLOR_PAIR(c);
}

/*
 * NO_COLOR as https://no-color.org says: present and not empty turns
 * colour off (an empty one is as if unset); pooltop(1) says the same.
 */
bool
ui_color_allowed(bool config_color)
{
	const char	*no = getenv("NO_COLOR");

	return config_color && (no == NULL || no[0] == '\0');
}

/* Colours only where the terminal has them and nobody said no. */
static void
ui_colors_init(struct ui *ui)
{
	bool	want = ui->app->cfg == NULL || ui->app->cfg->global.color;

	ui->color = ui_color_allowed(want) && has_colors();
	if (!ui->color)
		return;
	start_color();
	use_default_colors();
	init_pair(UI_C_TITLE, COLOR_BLACK, COLOR_GREEN);
	init_pair(UI_C_SELECTED, COLOR_BLACK, COLOR_CYAN);
	init_pair(UI_C_GOOD, COLOR_GREEN, -1);
	init_pair(UI_C_BAD, COLOR_RED, -1);
	init_pair(UI_C_SLEEP, COLOR_BLUE, -1);
	init_pair(UI_C_TAG, COLOR_YELLOW, -1);
	init_pair(UI_C_DIM, COLOR_CYAN, -1);
	init_pair(UI_C_KEY, COLOR_BLACK, COLOR_CYAN);
}

int
ui_put(WINDOW *w, const char *s, size_t len, int maxcols)
{
	wchar_t	buf[512];
	int	cols;

	if (maxcols <= 0)
		return 0;
	cols = fmt_wide(buf, sizeof buf / sizeof buf[0], s, len, maxcols);
	waddwstr(w, buf);
	return cols;
}

void
ui_hline(struct ui *ui, WINDOW *w, int n)
{
	int y = getcury(w), x = getcurx(w), i;

	/* Box drawing as text: no alternate character set to go wrong. */
	for (i = 0; i < n && x + i < getmaxx(w); i++)
		waddstr(w, ui->utf8 ? "\u2500" : "-");
	wmove(w, y, x);
}

int
ui_hint(struct ui *ui, WINDOW *w, const char *key, const char *label,
    int room)
{
	int need = (int)(strlen(key) + strlen(label)) + 1;

	if (need > room)
		return 0;
	wattron(w, ui_attr(ui, UI_C_KEY));
	waddstr(w, key);
	wattroff(w, ui_attr(ui, UI_C_KEY));
	waddstr(w, label);
	waddch(w, ' ');
	return need;
}

void
ui_message(struct ui *ui, bool bad, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ui->msg, sizeof ui->msg, fmt, ap);
	va_end(ap);
	ui->msg_bad = bad;
	ui->msg_at = uv_now(ui->loop);
	ui->dirty |= UI_DIRTY_STATUS;
}

/* A message from an event: it does not hide a fresh action outcome. */
static void
ui_notice(struct ui *ui, bool bad, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void
ui_notice(struct ui *ui, bool bad, const char *fmt, ...)
{
	va_list ap;

	if (ui->msg[0] != '\0' && ui->msg_at + UI_MSG_HOLD_MS > uv_now(ui->loop))
		return;
	va_start(ap, fmt);
	vsnprintf(ui->msg, sizeof ui->msg, fmt, ap);
	va_end(ap);
	ui->msg_bad = bad;
	ui->msg_at = 0;
	ui->dirty |= UI_DIRTY_STATUS;
}

void
ui_set_view(struct ui *ui, const struct view_ops *v)
{
	if (ui->view != NULL && ui->view != v && ui->view->close != NULL)
		ui->view->close(ui);
	ui->view = v;
	ui->dirty |= UI_DIRTY_BODY | UI_DIRTY_STATUS;
}

/* Grows an array to hold n elements (only when the pools grew). */
static int
ui_reserve(void **p, size_t *cap, size_t n, size_t size)
{
	void	*np;
	size_t	 c = *cap ? *cap : 16;

	if (n <= *cap)
		return 0;
	while (c < n)
		c *= 2;
	np = realloc(*p, c * size);
	if (np == NULL)
		return -ENOMEM;
	*p = np;
	*cap = c;
	return 0;
}

/* The manager row: pooltop itself. */
static void
ui_snapshot_self(struct ui *ui, uint64_t now)
{
	struct model_row	*r = model_add(&ui->model);
	struct proc_sample	 s;

	if (r == NULL)
		return;
	r->pool = NULL;
	r->slot = -1;
	r->pid = ui->self;
	r->ppid = getppid();
	r->type = MODEL_MANAGER;
	r->state = -1;
	r->state_name = ui->quitting ? "stopping" : "running";
	r->uptime_ms = now > ui->self_start_ms ? now - ui->self_start_ms : 0;
	if (ui->sampler != NULL && sampler_get(ui->sampler, ui->self, &s) == 0) {
		r->cpu = s.cpu;
		r->rss = s.rss;
		r->proc_state = s.state;
		ui->stats.self_cpu = s.cpu;
		ui->stats.self_rss = s.rss;
	}
}

/* Re-reads every pool's workers and their samples into the model. */
static void
ui_snapshot(struct ui *ui)
{
	struct pool_info	 info;
	struct proc_sample	 s;
	struct model_row	*r;
	size_t			 n, i, k;
	uint64_t		 now = ui_wall_ms();
	double			 rate = ui->stats.rate;

	for (;;) {
		n = engine_pools(ui->engine, ui->pools, ui->pools_cap);
		if (n <= ui->pools_cap)
			break;
		if (ui_reserve((void **)&ui->pools, &ui->pools_cap, n,
		    sizeof *ui->pools) != 0) {
			n = ui->pools_cap;
			break;
		}
	}
	ui->npools = n;
	memset(&ui->stats, 0, sizeof ui->stats);
	ui->stats.rate = rate;
	ui->stats.pools = (unsigned)n;
	model_clear(&ui->model);
	ui_snapshot_self(ui, now);
	for (i = 0; i < ui->npools; i++) {
		struct pool *p = ui->pools[i];

		pool_get_info(p, &info);
		ui->stats.live += info.live;
		ui->stats.configured += info.workers;
		ui->stats.queued += info.queued;
		ui->stats.finished += info.tasks_done + info.tasks_failed;
		ui->stats.errors += info.tasks_failed;
		if (info.failed)
			ui->stats.failed_pools++;
		for (;;) {
			k = pool_snapshot(p, ui->winfo, ui->winfo_cap);
			if (k <= ui->winfo_cap)
				break;
			if (ui_reserve((void **)&ui->winfo, &ui->winfo_cap, k,
			    sizeof *ui->winfo) != 0) {
				k = ui->winfo_cap;
				break;
			}
		}
		for (size_t j = 0; j < k; j++) {
			const struct pool_worker_info *w = &ui->winfo[j];

			if ((r = model_add(&ui->model)) == NULL)
				break;
			r->pool = p;
			snprintf(r->pool_name, sizeof r->pool_name, "%s",
			    info.name);
			r->slot = w->slot;
			r->pid = w->pid;
			r->type = w->service ? MODEL_SERVICE : MODEL_WORKER;
			r->state = (int)w->state;
			r->state_name = worker_state_name(w->state);
			r->done = w->tasks_done;
			r->errors = w->tasks_failed;
			r->in_flight = w->in_flight;
			r->restarts = w->restarts;
			r->weight = w->weight;
			r->last_status = w->last_status;
			r->last_signal = w->last_signal;
			if (w->pid > 0 && w->started_ms > 0 && now > w->started_ms)
				r->uptime_ms = now - w->started_ms;
			if (w->state == WORKER_SLEEPING)
				ui->stats.sleeping++;
			ui->stats.in_flight += w->in_flight;
			if (w->pid > 0 && ui->sampler != NULL &&
			    sampler_get(ui->sampler, w->pid, &s) == 0) {
				r->cpu = s.cpu;
				r->rss = s.rss;
				r->ppid = s.ppid;
				r->proc_state = s.state;
			} else if (w->pid > 0)
				r->ppid = ui->self;
		}
	}
	model_finish(&ui->model);
	view_table_ensure_visible(ui);
}

/* tasks/s over the last sample interval, from the engine's own counts. */
static void
ui_update_rate(struct ui *ui)
{
	uint64_t now = uv_now(ui->loop);

	if (ui->rate_at != 0 && now > ui->rate_at &&
	    ui->stats.finished >= ui->rate_finished)
		ui->stats.rate = (double)(ui->stats.finished -
		    ui->rate_finished) * 1000.0 / (double)(now - ui->rate_at);
	ui->rate_at = now;
	ui->rate_finished = ui->stats.finished;
}

/* One header figure after two spaces, if it fits whole. */
static void
ui_header_item(struct ui *ui, WINDOW *w, const char *text, enum ui_color c)
{
	int len = (int)strlen(text);

	if (getcurx(w) + 2 + len >= getmaxx(w))
		return;
	waddstr(w, "  ");
	wattron(w, ui_attr(ui, c));
	ui_put(w, text, (size_t)len, len);
	wattroff(w, ui_attr(ui, c));
}

static void
ui_draw_header(struct ui *ui)
{
	WINDOW	*w = ui->header;
	char	 cpu[16], rss[16], up[16], line[256];
	int	 width = getmaxx(w);
	const struct model_row *self = NULL;

	for (size_t i = 0; i < model_total(&ui->model); i++) {
		if (model_any_row(&ui->model, i)->type == MODEL_MANAGER) {
			self = model_any_row(&ui->model, i);
			break;
		}
	}
	wmove(w, 0, 0);
	wattron(w, A_BOLD);
	waddstr(w, "pooltop");
	wattroff(w, A_BOLD);
	/* Figures by importance: one that does not fit is left out whole. */
	snprintf(line, sizeof line, "pools %u", ui->stats.pools);
	ui_header_item(ui, w, line, UI_C_NORMAL);
	snprintf(line, sizeof line, "workers %u/%u", ui->stats.live,
	    ui->stats.configured);
	ui_header_item(ui, w, line, UI_C_NORMAL);
	snprintf(line, sizeof line, "tasks/s %.1f", ui->stats.rate);
	ui_header_item(ui, w, line, UI_C_NORMAL);
	snprintf(line, sizeof line, "queued %zu", ui->stats.queued);
	ui_header_item(ui, w, line, UI_C_NORMAL);
	snprintf(line, sizeof line, "errors %" PRIu64, ui->stats.errors);
	ui_header_item(ui, w, line, ui->stats.errors ? UI_C_BAD : UI_C_NORMAL);
	snprintf(line, sizeof line, "in flight %" PRIu64, ui->stats.in_flight);
	ui_header_item(ui, w, line, UI_C_NORMAL);
	snprintf(line, sizeof line, "sleeping %u", ui->stats.sleeping);
	ui_header_item(ui, w, line, ui->stats.sleeping ? UI_C_SLEEP :
	    UI_C_NORMAL);
	if (ui->stats.failed_pools > 0) {
		snprintf(line, sizeof line, "FAILED pools %u",
		    ui->stats.failed_pools);
		ui_header_item(ui, w, line, UI_C_BAD);
	}
	wclrtoeol(w);

	fmt_cpu(cpu, sizeof cpu, ui->stats.self_cpu);
	fmt_bytes(rss, sizeof rss, ui->stats.self_rss);
	fmt_uptime(up, sizeof up, self ? self->uptime_ms : 0);
	snprintf(line, sizeof line,
	    "manager pid %d  CPU %s%%  RSS %s  up %s  sort %s %s%s%s%s",
	    (int)ui->self, cpu, rss, up, model_col_name(ui->model.sort_col),
	    ui->model.sort_desc ? "desc" : "asc",
	    ui->model.filter[0] ? "  filter \"" : "", ui->model.filter,
	    ui->model.filter[0] ? "\"" : "");
	wmove(w, 1, 0);
	ui_put(w, line, strlen(line), width);
	if (model_ntagged(&ui->model) > 0) {
		snprintf(line, sizeof line, "  %zu tagged",
		    model_ntagged(&ui->model));
		wattron(w, ui_attr(ui, UI_C_TAG));
		ui_put(w, line, strlen(line), width - getcurx(w));
		wattroff(w, ui_attr(ui, UI_C_TAG));
	}
	if (ui->quitting) {
		wattron(w, ui_attr(ui, UI_C_BAD));
		ui_put(w, "  STOPPING", 10, width - getcurx(w));
		wattroff(w, ui_attr(ui, UI_C_BAD));
	}
	wclrtoeol(w);
	wnoutrefresh(w);
}

static void
ui_draw_status(struct ui *ui)
{
	WINDOW	*w = ui->status;
	int	 width = getmaxx(w);
	char	 line[300];

	wmove(w, 0, 0);
	switch (ui->mode) {
	case UI_MODE_PROMPT:
		snprintf(line, sizeof line, "%s: %s",
		    ui->prompt == UI_PROMPT_FILTER ? "Filter" : "Search",
		    ui->input_buf);
		wattron(w, A_BOLD);
		ui_put(w, line, strlen(line), width - 1);
		wattroff(w, A_BOLD);
		break;
	case UI_MODE_CONFIRM:
		wattron(w, ui_attr(ui, UI_C_BAD));
		ui_put(w, ui->question, strlen(ui->question), width);
		wattroff(w, ui_attr(ui, UI_C_BAD));
		break;
	default:
		if (ui->msg_bad)
			wattron(w, ui_attr(ui, UI_C_BAD));
		ui_put(w, ui->msg, strlen(ui->msg), width);
		wattroff(w, ui_attr(ui, UI_C_BAD));
		break;
	}
	wclrtoeol(w);
	wmove(w, 1, 0);
	if (ui->mode == UI_MODE_PROMPT) {
		int room = width;

		room -= ui_hint(ui, w, "Enter", "Done", room);
		room -= ui_hint(ui, w, "Esc", "Cancel", room);
		if (ui->prompt != UI_PROMPT_FILTER)
			room -= ui_hint(ui, w, "F3", "Next", room);
	} else if (ui->mode == UI_MODE_CONFIRM) {
		int room = width;

		room -= ui_hint(ui, w, "y", "Yes", room);
		room -= ui_hint(ui, w, "n", "No", room);
	} else
		ui->view->hints(ui, w, width);
	wclrtoeol(w);
	if (ui->mode == UI_MODE_PROMPT) {
		/* The cursor sits where the next character goes. */
		wmove(w, 0, (int)strlen(ui->prompt == UI_PROMPT_FILTER ?
		    "Filter: " : "Search: ") + (int)ui->input_len);
		curs_set(1);
	} else
		curs_set(0);
	wnoutrefresh(w);
}

/* Draws what is dirty; ncurses sends the terminal only what changed. */
static void
ui_redraw(struct ui *ui)
{
	unsigned d = ui->dirty;

	/* Stepped aside: the dirt waits for ui_resume(). */
	if (ui->debugging)
		return;
	ui->dirty = 0;
	if (ui->stopped || ui->body == NULL)
		return;
	if (d & UI_DIRTY_MODEL) {
		ui_snapshot(ui);
		d |= UI_DIRTY_HEADER | UI_DIRTY_BODY;
	}
	if (d & UI_DIRTY_RATE)
		ui_update_rate(ui);
	if (d & UI_DIRTY_HEADER)
		ui_draw_header(ui);
	if (d & UI_DIRTY_BODY) {
		ui->view->draw(ui, ui->body);
		wnoutrefresh(ui->body);
	}
	if ((d & (UI_DIRTY_BODY | UI_DIRTY_STATUS)) || ui->mode != UI_MODE_NORMAL)
		ui_draw_status(ui);
	if (ui->mode == UI_MODE_MENU && (d & (UI_DIRTY_BODY | UI_DIRTY_STATUS)))
		ui_draw_popup(ui);
	if (ui->mode == UI_MODE_PROMPT)
		wnoutrefresh(ui->status);	/* cursor last */
	doupdate();
}

/* (Re)creates the windows for the terminal's size. */
static int
ui_layout(struct ui *ui)
{
	int lines = LINES, cols = COLS, body;

	if (ui->header != NULL)
		delwin(ui->header);
	if (ui->body != NULL)
		delwin(ui->body);
	if (ui->status != NULL)
		delwin(ui->status);
	ui->header = ui->body = ui->status = NULL;
	body = lines - UI_HEADER_LINES - UI_STATUS_LINES;
	if (body < 1)
		body = 1;
	/*
	 * Subwindows of stdscr: they share its cells, so the screen's
	 * contents are held once (a 200x50 window of cchar_t is 280 KB) and
	 * not twice.  Only they are refreshed, never stdscr itself.
	 */
	ui->header = derwin(stdscr, UI_HEADER_LINES, cols, 0, 0);
	ui->body = derwin(stdscr, body, cols, UI_HEADER_LINES, 0);
	ui->status = derwin(stdscr, UI_STATUS_LINES, cols,
	    UI_HEADER_LINES + body, 0);
	if (ui->header == NULL || ui->body == NULL || ui->status == NULL)
		return -ENOMEM;
	/* Keys are read from the status window: a new one needs both again. */
	keypad(ui->status, TRUE);
	nodelay(ui->status, TRUE);
	model_layout(&ui->layout, cols);
	ui->dirty = UI_DIRTY_ALL & ~UI_DIRTY_RATE;
	return 0;
}

static void
ui_prepare_cb(uv_prepare_t *h)
{
	struct ui *ui = h->data;

	if (ui->dirty != 0)
		ui_redraw(ui);
}

static void
ui_coalesce_cb(uv_timer_t *t)
{
	struct ui *ui = t->data;

	ui->dirty |= ui->pending;
	ui->pending = 0;
}

/* Event dirt waits for the timer, so a burst makes one frame. */
static void
ui_coalesce(struct ui *ui, unsigned bits)
{
	ui->pending |= bits;
	if (!ui->stopped && !uv_is_active((uv_handle_t *)&ui->coalesce))
		uv_timer_start(&ui->coalesce, ui_coalesce_cb, UI_COALESCE_MS, 0);
}

static void
ui_refresh_cb(struct sampler *s, void *arg)
{
	struct ui *ui = arg;

	ui->dirty |= UI_DIRTY_MODEL | UI_DIRTY_RATE;
}

/* Records a finished task in the task log ring (no allocation). */
static void
ui_record_task(struct ui *ui, const struct pool_event *ev)
{
	struct task_rec	 rec, *r = &rec;

	memset(r, 0, sizeof *r);
	r->time_ms = ev->time_ms ? ev->time_ms : ui_wall_ms();
	r->latency_us = ev->latency_us;
	r->id = ev->task_id;
	r->pool = ev->pool;
	snprintf(r->pool_name, sizeof r->pool_name, "%s",
	    ev->pool_name ? ev->pool_name : "?");
	r->slot = ev->slot;
	r->pid = ev->pid;
	r->ok = ev->ok;
	snprintf(r->task, sizeof r->task, "%s",
	    ev->task_name ? ev->task_name : "?");
	fmt_excerpt(r->payload, sizeof r->payload, ev->payload,
	    ev->payload ? ev->payload_len : 0);
	fmt_excerpt(r->result, sizeof r->result, ev->result,
	    ev->result ? ev->result_len : 0);
	tasklog_push(&ui->tasks, r);
}

/*
 * A notice in the task log too, flagged as an error: a holder that died
 * with a shared lock (task "lock NAME", held time as its latency), or
 * anything else pooltop says about a pool or a worker (task "notice":
 * a memory_limit restart, a hung worker, a protocol error...).
 */
static void
ui_record_lock(struct ui *ui, const struct pool_event *ev)
{
	struct task_rec	 rec, *r = &rec;

	memset(r, 0, sizeof *r);
	r->time_ms = ev->time_ms ? ev->time_ms : ui_wall_ms();
	r->latency_us = ev->latency_us;
	r->pool = ev->pool;
	snprintf(r->pool_name, sizeof r->pool_name, "%s",
	    ev->pool_name ? ev->pool_name : "?");
	r->slot = ev->slot;
	r->pid = ev->pid;
	r->ok = false;
	if (ev->lock != NULL)
		snprintf(r->task, sizeof r->task, "lock %s", ev->lock);
	else
		snprintf(r->task, sizeof r->task, "notice");
	fmt_excerpt(r->result, sizeof r->result, ev->text,
	    ev->text ? ev->text_len : 0);
	tasklog_push(&ui->tasks, r);
}

static void
ui_event_cb(const struct pool_event *ev, void *arg)
{
	struct ui	*ui = arg;
	const char	*name = ev->pool_name ? ev->pool_name : "?";
	int		 tl = ev->text ? (int)ev->text_len : 0;
	const char	*text = ev->text ? ev->text : "";

	switch (ev->type) {
	case POOL_EV_TASK_FINISHED:
		ui_record_task(ui, ev);
		ui_coalesce(ui, UI_DIRTY_MODEL);
		break;
	case POOL_EV_LOG:
		if (ui->view == &view_log_ops && ev->pool == ui->log.pool &&
		    ev->slot == ui->log.slot)
			ui_coalesce(ui, UI_DIRTY_BODY);
		break;
	case POOL_EV_FAILED:
		ui_message(ui, true, "pool %s: %.*s", name, tl, text);
		ui_coalesce(ui, UI_DIRTY_MODEL);
		break;
	case POOL_EV_NOTICE:
		ui_record_lock(ui, ev);
		if (ui->view == &view_tasks_ops)
			ui_coalesce(ui, UI_DIRTY_BODY);
		if (ev->slot >= 0)
			ui_notice(ui, false, "%s/%d: %.*s", name, ev->slot, tl,
			    text);
		else
			ui_notice(ui, false, "%s: %.*s", name, tl, text);
		ui_coalesce(ui, UI_DIRTY_MODEL);
		break;
	case POOL_EV_EXITED:
		if (!ui->quitting && ev->term_signal != 0)
			ui_notice(ui, true, "%s/%d (pid %d) exited with signal "
			    "%d", name, ev->slot, (int)ev->pid,
			    ev->term_signal);
		else if (!ui->quitting && ev->exit_status != 0)
			ui_notice(ui, true, "%s/%d (pid %d) exited with status "
			    "%d", name, ev->slot, (int)ev->pid,
			    ev->exit_status);
		ui_coalesce(ui, UI_DIRTY_MODEL);
		break;
	default:
		ui_coalesce(ui, UI_DIRTY_MODEL);
		break;
	}
	if (ui->view == &view_tasks_ops && ev->type == POOL_EV_TASK_FINISHED)
		ui_coalesce(ui, UI_DIRTY_BODY);
}

static void
ui_input_cb(uv_poll_t *p, int status, int events)
{
	struct ui	*ui = p->data;
	int		 ch;

	if (status < 0) {
		/* The terminal went away: stop as if asked. */
		uv_poll_stop(p);
		if (!ui->quitting)
			ui_quit(ui);
		return;
	}
	/*
	 * Why stop at the debugger's key: the terminal is the debugger's
	 * from then on (and blocking: libuv clears O_NONBLOCK for a child's
	 * stdio); a wgetch would race it for the keys, and could block.
	 */
	while (!ui->stopped && !ui->debugging &&
	    (ch = wgetch(ui->status)) != ERR) {
		if (ch == KEY_MOUSE)
			ui_mouse(ui);
		else
			ui_key(ui, ch);
	}
}

static void
ui_winch_cb(uv_signal_t *s, int signum)
{
	struct ui	*ui = s->data;
	struct winsize	 ws;

	/* The terminal is the debugger's now: resize when it is back. */
	if (ui->debugging) {
		ui->debug_winch = true;
		return;
	}
	/* Why ioctl: LINES and COLS are only updated by resizeterm. */
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	if (ui_layout(ui) != 0) {
		ui_message(ui, true, "out of memory for the windows");
		return;
	}
	if (ui->popup != NULL) {
		delwin(ui->popup);
		ui->popup = NULL;
		if (ui->mode == UI_MODE_MENU)
			ui->mode = UI_MODE_NORMAL;
	}
	clearok(curscr, TRUE);
	view_table_ensure_visible(ui);
}

void
ui_suspend(struct ui *ui)
{
	def_prog_mode();
	endwin();
	uv_poll_stop(&ui->input);
	ui->debugging = true;
}

void
ui_resume(struct ui *ui)
{
	int	fl;

	ui->debugging = false;
	if (ui->stopped)
		return;		/* ui_run ends the terminal */
	reset_prog_mode();
	/*
	 * Why: the terminal's open file is shared with the child, and libuv
	 * makes a child's stdio blocking before its exec; uv_poll needs it
	 * non-blocking again (a read must never wait on the loop).
	 */
	if ((fl = fcntl(STDIN_FILENO, F_GETFL)) != -1 && !(fl & O_NONBLOCK))
		fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK);
	if (ui->debug_winch) {
		ui->debug_winch = false;
		ui_winch_cb(&ui->winch, SIGWINCH);
	}
	clearok(curscr, TRUE);
	uv_poll_start(&ui->input, UV_READABLE, ui_input_cb);
	ui->dirty |= UI_DIRTY_ALL;
}

/* What a reload reported, for the message line. */
struct ui_reload {
	unsigned	 errors;
	char		 first_error[512];
	char		 last[512];
};

static void
ui_reload_report(void *arg, bool error, const char *text)
{
	struct ui_reload *r = arg;

	if (error && r->errors++ == 0)
		snprintf(r->first_error, sizeof r->first_error, "%s", text);
	snprintf(r->last, sizeof r->last, "%s", text);
}

/*
 * SIGHUP.  From a terminal that hung up (its ioctls then fail), a stop as
 * for SIGTERM; else the config file is read again and its changes
 * applied (reconfig.c): a file with errors changes nothing, and the
 * message line says so with the first error.
 */
static void
ui_hup_cb(uv_signal_t *s, int signum)
{
	struct ui	*ui = s->data;
	struct winsize	 ws;
	struct ui_reload r;
	size_t		 i;
	bool		 listed = false;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) != 0) {
		ui_term_cb(s, signum);
		return;
	}
	if (ui->quitting || ui->app->reload == NULL)
		return;
	memset(&r, 0, sizeof r);
	ui->app->reload(ui->app, ui_reload_report, &r);
	if (r.errors != 0)
		ui_message(ui, true, "%s (%s%s)", r.last, r.first_error,
		    r.errors > 1 ? "; pooltop check -c FILE lists all" : "");
	else
		ui_message(ui, false, "%s", r.last);
	/*
	 * Removed pools are freed once their workers exited: no row nor
	 * view may keep pointing at one.
	 */
	ui_snapshot(ui);
	if (ui->view == &view_log_ops) {
		for (i = 0; i < ui->npools; i++)
			listed = listed || ui->pools[i] == ui->log.pool;
		if (!listed)
			ui_set_view(ui, &view_table_ops);
	}
	ui->dirty |= UI_DIRTY_MODEL | UI_DIRTY_BODY | UI_DIRTY_STATUS;
}

/*
 * SIGTERM (and SIGHUP from a terminal that hung up): a graceful stop,
 * and a second one forces it.
 */
static void
ui_term_cb(uv_signal_t *s, int signum)
{
	struct ui *ui = s->data;

	if (signum == SIGHUP)
		uv_poll_stop(&ui->input);	/* no terminal to read */
	ui_quit(ui);
}

static void
ui_close_cb(uv_handle_t *h)
{
	struct ui *ui = h->data;

	ui->nopen--;
}

/* Every worker has exited: leave the loop (main closes the rest). */
static void
ui_stop_cb(struct engine *e, void *arg)
{
	struct ui *ui = arg;

	if (ui->stopped)
		return;
	ui->stopped = true;
	if (ui->sampler != NULL)
		sampler_unlisten(ui->sampler, ui_refresh_cb, ui);
	engine_unlisten(ui->engine, ui_event_cb, ui);
	uv_close((uv_handle_t *)&ui->input, ui_close_cb);
	uv_close((uv_handle_t *)&ui->winch, ui_close_cb);
	uv_close((uv_handle_t *)&ui->term, ui_close_cb);
	uv_close((uv_handle_t *)&ui->hup, ui_close_cb);
	uv_close((uv_handle_t *)&ui->coalesce, ui_close_cb);
	uv_close((uv_handle_t *)&ui->prepare, ui_close_cb);
	uv_stop(ui->loop);
}

void
ui_quit(struct ui *ui)
{
	if (ui->quitting) {
		ui_message(ui, true, "forcing the stop: SIGKILL to every worker");
		engine_stop(ui->engine, ui_stop_cb, ui);
		return;
	}
	ui->quitting = true;
	ui_message(ui, false, "stopping: waiting for the workers to exit "
	    "(q again to force)");
	ui->dirty |= UI_DIRTY_MODEL;
	engine_stop(ui->engine, ui_stop_cb, ui);
}

/* When pooltop itself started, as wall-clock ms (from /proc). */
static uint64_t
ui_self_start_ms(void)
{
	char			 buf[1024], *p;
	FILE			*f;
	unsigned long long	 start = 0, btime = 0;
	long			 hz = sysconf(_SC_CLK_TCK);
	int			 i;

	if ((f = fopen("/proc/self/stat", "r")) == NULL)
		return ui_wall_ms();
	p = fgets(buf, sizeof buf, f);
	fclose(f);
	/* The command may hold spaces and ')': skip to the last ')'. */
	if (p == NULL || (p = strrchr(buf, ')')) == NULL)
		return ui_wall_ms();
	for (i = 0; i < 20 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, "%llu", &start) != 1)
		return ui_wall_ms();
	if ((f = fopen("/proc/stat", "r")) == NULL)
		return ui_wall_ms();
	while (fgets(buf, sizeof buf, f) != NULL) {
		if (sscanf(buf, "btime %llu", &btime) == 1)
			break;
	}
	fclose(f);
	if (btime == 0 || hz <= 0)
		return ui_wall_ms();
	return btime * 1000 + start * 1000 / (unsigned long long)hz;
}

static int
ui_init(struct ui *ui, struct app *app)
{
	size_t	hist;
	int	r;

	ui->app = app;
	ui->loop = app->loop;
	ui->engine = app->engine;
	ui->sampler = app->sampler ? app->sampler : engine_sampler(app->engine);
	ui->confirm = app->cfg == NULL || app->cfg->global.confirm;
	ui->self = getpid();
	ui->self_start_ms = ui_self_start_ms();
	ui->view = &view_table_ops;
	ui->tv.pool_idx = -1;
	ui->log.match = UINT64_MAX;
	if ((r = model_init(&ui->model, 64)) != 0)
		return r;
	ui->model.sort_col = COL_POOL;
	if ((r = tasklog_init(&ui->tasks, UI_TASKLOG_CAP)) != 0)
		return r;
	hist = ui->sampler ? sampler_history_len(ui->sampler) : 0;
	if (hist < 1)
		hist = 1;
	ui->hcap = hist;
	ui->hcpu = calloc(hist, sizeof *ui->hcpu);
	ui->hrss = calloc(hist, sizeof *ui->hrss);
	ui->hrssd = calloc(hist, sizeof *ui->hrssd);
	if (ui->hcpu == NULL || ui->hrss == NULL || ui->hrssd == NULL)
		return -ENOMEM;
	if (ui->sampler != NULL) {
		/* The manager row: harmless if main registered it already. */
		sampler_add(ui->sampler, ui->self, false);
	}
	return 0;
}

static void
ui_free(struct ui *ui)
{
	if (ui->view != NULL && ui->view->close != NULL)
		ui->view->close(ui);
	if (ui->log.lines != NULL)
		ring_log_free(ui->log.lines);
	model_free(&ui->model);
	tasklog_free(&ui->tasks);
	free(ui->pools);
	free(ui->winfo);
	free(ui->hcpu);
	free(ui->hrss);
	free(ui->hrssd);
	free(ui->targets);
	free(ui);
}

/* Sets up the terminal: raw keys (Ctrl-C is a key), no echo, mouse. */
static int
ui_term_start(struct ui *ui)
{
	const char *cs;

	setlocale(LC_ALL, "");
	cs = nl_langinfo(CODESET);
	ui->utf8 = cs != NULL && strcmp(cs, "UTF-8") == 0;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "pooltop: the dashboard needs a terminal "
		    "(use --headless to run without one)\n");
		return -ENOTTY;
	}
	ui->screen = newterm(NULL, stdout, stdin);
	if (ui->screen == NULL) {
		fprintf(stderr, "pooltop: cannot use terminal type \"%s\" "
		    "(use --headless to run without a dashboard)\n",
		    getenv("TERM") ? getenv("TERM") : "");
		return -ENOTTY;
	}
	set_escdelay(25);
	raw();
	noecho();
	nonl();
	curs_set(0);
	ui_colors_init(ui);
	mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED |
	    BUTTON5_PRESSED, NULL);
	mouseinterval(0);
	if (ui_layout(ui) != 0)
		return -ENOMEM;
	keypad(ui->status, TRUE);
	nodelay(ui->status, TRUE);
	return 0;
}

static void
ui_term_end(struct ui *ui)
{
	if (ui->screen == NULL)
		return;
	if (ui->popup != NULL)
		delwin(ui->popup);
	if (ui->header != NULL)
		delwin(ui->header);
	if (ui->body != NULL)
		delwin(ui->body);
	if (ui->status != NULL)
		delwin(ui->status);
	endwin();
	delscreen(ui->screen);
	ui->screen = NULL;
}

static void
ui_fail_stop_cb(struct engine *e, void *arg)
{
	*(bool *)arg = true;
}

/* The dashboard could not start: the workers must not outlive us. */
static void
ui_fail_stop(struct app *app)
{
	bool done = false;

	engine_stop(app->engine, ui_fail_stop_cb, &done);
	while (!done)
		uv_run(app->loop, UV_RUN_ONCE);
}

int
ui_run(struct app *app)
{
	struct ui	*ui;
	int		 r;

	if ((ui = calloc(1, sizeof *ui)) == NULL) {
		fprintf(stderr, "pooltop: out of memory\n");
		ui_fail_stop(app);
		return 1;
	}
	if ((r = ui_init(ui, app)) != 0) {
		fprintf(stderr, "pooltop: dashboard: %s\n", strerror(-r));
		ui_free(ui);
		ui_fail_stop(app);
		return 1;
	}
	if ((r = ui_term_start(ui)) != 0) {
		ui_term_end(ui);
		ui_free(ui);
		ui_fail_stop(app);
		return 1;
	}
	/* Keys: the window the keys are read from must have keypad on. */
	keypad(ui->status, TRUE);
	uv_poll_init(ui->loop, &ui->input, STDIN_FILENO);
	uv_signal_init(ui->loop, &ui->winch);
	uv_signal_init(ui->loop, &ui->term);
	uv_signal_init(ui->loop, &ui->hup);
	uv_timer_init(ui->loop, &ui->coalesce);
	uv_prepare_init(ui->loop, &ui->prepare);
	ui->input.data = ui->winch.data = ui->term.data = ui->hup.data =
	    ui->coalesce.data = ui->prepare.data = ui;
	ui->nopen = 6;
	uv_poll_start(&ui->input, UV_READABLE, ui_input_cb);
	uv_signal_start(&ui->winch, ui_winch_cb, SIGWINCH);
	uv_signal_start(&ui->term, ui_term_cb, SIGTERM);
	uv_signal_start(&ui->hup, ui_hup_cb, SIGHUP);
	uv_prepare_start(&ui->prepare, ui_prepare_cb);
	if (ui->sampler != NULL)
		sampler_listen(ui->sampler, ui_refresh_cb, ui);
	engine_listen(ui->engine, ui_event_cb, ui);
	ui_message(ui, false, "F1 or ? lists every key");
	ui->msg_at = 0;
	ui->dirty = UI_DIRTY_ALL;
	ui_redraw(ui);

	uv_run(ui->loop, UV_RUN_DEFAULT);
	if (!ui->stopped) {
		/* The loop ended without a stop (nothing left to run). */
		ui_stop_cb(ui->engine, ui);
	}
	/*
	 * Our handles' close callbacks must run before ui is freed; a
	 * debugger still running has the terminal: wait for its exit.
	 */
	while (ui->nopen > 0)
		uv_run(ui->loop, ui->debugging ? UV_RUN_ONCE : UV_RUN_NOWAIT);
	ui_term_end(ui);
	ui_free(ui);
	return 0;
}
