/*
 * Keys and the mouse: the global keys, prompts (search, filter), y/n
 * confirmation, the signal and strategy menus, and the actions.  Every
 * action goes through the commands layer (cmd_*) and reports its outcome
 * in the status line.  Bindings follow htop's where the action is the
 * same.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooltop/balance.h"
#include "view.h"

#define KEY_CTRL(c)	((c) & 0x1f)
#define KEY_ESC		27

/* The kill menu, in htop's spirit: the signals a person reaches for. */
static const struct {
	int		 sig;
	const char	*name;
} ui_signals[] = {
	{ SIGTERM, "TERM" },
	{ SIGKILL, "KILL" },
	{ SIGINT, "INT" },
	{ SIGHUP, "HUP" },
	{ SIGUSR1, "USR1" },
	{ SIGUSR2, "USR2" },
	{ SIGSTOP, "STOP" },
	{ SIGCONT, "CONT" },
};
#define UI_NSIGNALS	((int)(sizeof ui_signals / sizeof ui_signals[0]))

static const char *
ui_signal_name(int sig)
{
	int i;

	for (i = 0; i < UI_NSIGNALS; i++) {
		if (ui_signals[i].sig == sig)
			return ui_signals[i].name;
	}
	return "?";
}

static bool
ui_is_enter(int ch)
{
	return ch == '\r' || ch == '\n' || ch == KEY_ENTER;
}

/*
 * The workers an action applies to: every tagged one, else the selected
 * one.  Returns how many; pooltop's own row and empty slots are skipped.
 */
static size_t
ui_collect_targets(struct ui *ui, bool need_pid)
{
	const struct model_row	*r;
	size_t			 i, n = model_total(&ui->model);
	bool			 tagged = model_ntagged(&ui->model) > 0;
	struct ui_target	*t;

	ui->ntargets = 0;
	if (n > ui->targets_cap) {
		t = realloc(ui->targets, n * sizeof *t);
		if (t == NULL)
			return 0;
		ui->targets = t;
		ui->targets_cap = n;
	}
	for (i = 0; i < (tagged ? n : 1); i++) {
		r = tagged ? model_any_row(&ui->model, i) :
		    model_selected(&ui->model);
		if (r == NULL || (tagged && !r->tagged))
			continue;
		if (r->type == MODEL_MANAGER || (need_pid && r->pid <= 0))
			continue;
		t = &ui->targets[ui->ntargets++];
		t->pool = (struct pool *)(uintptr_t)r->pool;
		t->slot = r->slot;
		t->pid = r->pid;
		t->sleeping = r->state == WORKER_SLEEPING;
		snprintf(t->name, sizeof t->name, "%s/%d", r->pool_name,
		    r->slot);
	}
	return ui->ntargets;
}

/* Describes the targets for a question: "web/2 (pid 123)" or "3 tagged workers". */
static void
ui_targets_text(struct ui *ui, char *buf, size_t len)
{
	if (ui->ntargets == 1)
		snprintf(buf, len, "%s (pid %d)", ui->targets[0].name,
		    (int)ui->targets[0].pid);
	else
		snprintf(buf, len, "%zu tagged workers", ui->ntargets);
}

static void
ui_no_target(struct ui *ui)
{
	const struct model_row *r = model_selected(&ui->model);

	if (r != NULL && r->type == MODEL_MANAGER)
		ui_message(ui, true, "that is pooltop itself: select a worker");
	else if (r != NULL && r->pid <= 0)
		ui_message(ui, true, "%s/%d has no process right now",
		    r->pool_name, r->slot);
	else
		ui_message(ui, true, "select a worker first");
}

/* Runs one command on one target; 0 or -errno, msg filled. */
static int
ui_act_one(struct ui *ui, const struct ui_target *t, char *msg, size_t len)
{
	struct cmd_target	 ct;
	struct pool		*p;
	int			 slot;

	/* The worker asked about must still be the one in the slot. */
	if (t->pid > 0 && (engine_find_pid(ui->engine, t->pid, &p, &slot) != 0 ||
	    p != t->pool || slot != t->slot)) {
		snprintf(msg, len, "%s: pid %d is gone, nothing done", t->name,
		    (int)t->pid);
		return -ESRCH;
	}
	ct.pool = t->pool;
	ct.slot = t->slot;
	switch (ui->act) {
	case UI_ACT_KILL:
		return cmd_kill(ui->engine, &ct, ui->act_sig, msg, len);
	case UI_ACT_SLEEP_WAKE:
		/* Each as it was shown: a sleeping one wakes, others sleep. */
		if (t->sleeping)
			return cmd_wake(ui->engine, &ct, msg, len);
		return cmd_sleep(ui->engine, &ct, msg, len);
	case UI_ACT_RESTART:
		return cmd_restart(ui->engine, &ct, msg, len);
	default:
		snprintf(msg, len, "not an action on a worker");
		return -EINVAL;
	}
}

static const char *
ui_act_name(struct ui *ui)
{
	static char buf[32];

	switch (ui->act) {
	case UI_ACT_KILL:
		snprintf(buf, sizeof buf, "SIG%s", ui_signal_name(ui->act_sig));
		return buf;
	case UI_ACT_SLEEP_WAKE:
		return "sleep/wake";
	case UI_ACT_RESTART:
		return "restart";
	default:
		return "action";
	}
}

/* A reload asked for with R ended: its outcome in the status line. */
static void
ui_reload_cb(struct pool *pool, bool ok, const char *text, void *arg)
{
	struct ui	*ui = arg;

	(void)pool;
	if (!ui->quitting)
		ui_message(ui, !ok, "%s", text);
	ui->dirty |= UI_DIRTY_MODEL;
}

/* Carries out the pending action and reports it. */
static void
ui_act_run(struct ui *ui)
{
	char	msg[256], first_err[256] = "";
	size_t	i, ok = 0;
	int	r;

	ui->mode = UI_MODE_NORMAL;
	switch (ui->act) {
	case UI_ACT_QUIT:
		ui_quit(ui);
		return;
	case UI_ACT_SCALE:
		r = cmd_scale(ui->engine, ui->act_pool, ui->act_workers, msg,
		    sizeof msg);
		ui_message(ui, r < 0, "%s", msg);
		ui->dirty |= UI_DIRTY_MODEL;
		return;
	case UI_ACT_STRATEGY:
		r = cmd_strategy(ui->engine, ui->act_pool,
		    balance_strategy_name(ui->act_strategy), msg, sizeof msg);
		ui_message(ui, r < 0, "%s", msg);
		return;
	case UI_ACT_RELOAD:
		r = cmd_reload(ui->engine, ui->act_pool, ui_reload_cb, ui, msg,
		    sizeof msg);
		ui_message(ui, r < 0, "%s", msg);
		ui->dirty |= UI_DIRTY_MODEL;
		return;
	default:
		break;
	}
	for (i = 0; i < ui->ntargets; i++) {
		r = ui_act_one(ui, &ui->targets[i], msg, sizeof msg);
		if (r == 0)
			ok++;
		else if (first_err[0] == '\0')
			snprintf(first_err, sizeof first_err, "%s", msg);
	}
	if (ui->ntargets == 1)
		ui_message(ui, ok == 0, "%s", msg);
	else if (ok == ui->ntargets)
		ui_message(ui, false, "%s: done for all %zu tagged workers",
		    ui_act_name(ui), ui->ntargets);
	else
		ui_message(ui, true, "%s: done for %zu of %zu workers; %s",
		    ui_act_name(ui), ok, ui->ntargets, first_err);
	ui->dirty |= UI_DIRTY_MODEL;
}

/* Asks y/n when confirmation is on, else acts at once. */
static void
ui_ask(struct ui *ui, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void
ui_ask(struct ui *ui, const char *fmt, ...)
{
	va_list	ap;
	size_t	n;

	if (!ui->confirm) {
		ui_act_run(ui);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(ui->question, sizeof ui->question, fmt, ap);
	va_end(ap);
	n = strlen(ui->question);
	snprintf(ui->question + n, sizeof ui->question - n, " [y/n]");
	ui->mode = UI_MODE_CONFIRM;
	ui->dirty |= UI_DIRTY_STATUS;
}

static void
ui_menu_open(struct ui *ui, enum ui_menu menu, int n, int sel)
{
	ui->mode = UI_MODE_MENU;
	ui->menu = menu;
	ui->menu_n = n;
	ui->menu_sel = sel;
	ui->dirty |= UI_DIRTY_BODY | UI_DIRTY_STATUS;
}

static void
ui_menu_close(struct ui *ui)
{
	ui->mode = UI_MODE_NORMAL;
	if (ui->popup != NULL) {
		delwin(ui->popup);
		ui->popup = NULL;
	}
	/* What the popup covered must be drawn again. */
	touchwin(ui->body);
	ui->dirty |= UI_DIRTY_BODY | UI_DIRTY_STATUS;
}

/* A frame drawn as text (see ui_hline). */
static void
ui_box(struct ui *ui, WINDOW *w)
{
	int		 h = getmaxy(w), wd = getmaxx(w), y;
	const char	*v = ui->utf8 ? "\u2502" : "|";

	wmove(w, 0, 0);
	waddstr(w, ui->utf8 ? "\u250c" : "+");
	ui_hline(ui, w, wd - 2);
	mvwaddstr(w, 0, wd - 1, ui->utf8 ? "\u2510" : "+");
	for (y = 1; y < h - 1; y++) {
		mvwaddstr(w, y, 0, v);
		mvwaddstr(w, y, wd - 1, v);
	}
	mvwaddstr(w, h - 1, 0, ui->utf8 ? "\u2514" : "+");
	ui_hline(ui, w, wd - 2);
	/* The last cell of a window: waddstr may report ERR there, harmless. */
	mvwaddstr(w, h - 1, wd - 1, ui->utf8 ? "\u2518" : "+");
}

void
ui_draw_popup(struct ui *ui)
{
	int		 h = ui->menu_n + 2, w = 42, y, x, i;
	char		 line[64], title[128], who[96];

	if (ui->mode != UI_MODE_MENU)
		return;
	if (ui->popup == NULL) {
		y = getbegy(ui->body) + (getmaxy(ui->body) - h) / 2;
		x = (COLS - w) / 2;
		if (y < 0)
			y = 0;
		if (x < 0)
			x = 0;
		if (h > LINES)
			h = LINES;
		if (w > COLS)
			w = COLS;
		if ((ui->popup = newwin(h, w, y, x)) == NULL)
			return;
	}
	werase(ui->popup);
	ui_box(ui, ui->popup);
	if (ui->menu == UI_MENU_SIGNAL) {
		ui_targets_text(ui, who, sizeof who);
		snprintf(title, sizeof title, " Send signal to %s ", who);
	} else
		snprintf(title, sizeof title, " Strategy of pool %s ",
		    ui->act_pool ? pool_name(ui->act_pool) : "?");
	wmove(ui->popup, 0, 2);
	ui_put(ui->popup, title, strlen(title), getmaxx(ui->popup) - 4);
	for (i = 0; i < ui->menu_n && i + 1 < getmaxy(ui->popup) - 1; i++) {
		if (ui->menu == UI_MENU_SIGNAL)
			snprintf(line, sizeof line, " %d %2d %-8s", i + 1,
			    ui_signals[i].sig, ui_signals[i].name);
		else
			snprintf(line, sizeof line, " %d %-26s%s", i + 1,
			    balance_strategy_name(i),
			    ui->act_strategy == i ? "*" : "");
		if (i == ui->menu_sel)
			wattron(ui->popup, ui_attr(ui, UI_C_SELECTED));
		mvwaddnstr(ui->popup, i + 1, 1, line, getmaxx(ui->popup) - 2);
		wattroff(ui->popup, ui_attr(ui, UI_C_SELECTED));
	}
	wnoutrefresh(ui->popup);
}

static void
ui_menu_pick(struct ui *ui, int i)
{
	char what[96];

	ui_menu_close(ui);
	if (ui->menu == UI_MENU_SIGNAL) {
		ui->act = UI_ACT_KILL;
		ui->act_sig = ui_signals[i].sig;
		ui_targets_text(ui, what, sizeof what);
		ui_ask(ui, "Send SIG%s to %s?", ui_signals[i].name, what);
		return;
	}
	ui->act = UI_ACT_STRATEGY;
	ui->act_strategy = i;
	ui_act_run(ui);
}

static void
ui_menu_key(struct ui *ui, int ch)
{
	switch (ch) {
	case KEY_UP:
		if (ui->menu_sel > 0)
			ui->menu_sel--;
		break;
	case KEY_DOWN:
		if (ui->menu_sel + 1 < ui->menu_n)
			ui->menu_sel++;
		break;
	case KEY_HOME:
		ui->menu_sel = 0;
		break;
	case KEY_END:
		ui->menu_sel = ui->menu_n - 1;
		break;
	case KEY_ESC:
	case 'q':
	case KEY_F(10):
		ui_menu_close(ui);
		ui_message(ui, false, "cancelled");
		return;
	default:
		if (ui_is_enter(ch)) {
			ui_menu_pick(ui, ui->menu_sel);
			return;
		}
		if (ch >= '1' && ch < '1' + ui->menu_n) {
			ui_menu_pick(ui, ch - '1');
			return;
		}
		return;
	}
	ui->dirty |= UI_DIRTY_BODY;
}

void
ui_prompt_start(struct ui *ui, enum ui_prompt kind, const char *initial)
{
	ui->mode = UI_MODE_PROMPT;
	ui->prompt = kind;
	snprintf(ui->input_buf, sizeof ui->input_buf, "%s",
	    initial ? initial : "");
	ui->input_len = strlen(ui->input_buf);
	snprintf(ui->saved_filter, sizeof ui->saved_filter, "%s",
	    ui->model.filter);
	ui->dirty |= UI_DIRTY_STATUS;
}

/* Applies the prompt's text as it is typed (incremental, as htop). */
static void
ui_prompt_apply(struct ui *ui, bool next, bool forward)
{
	bool found = true;

	switch (ui->prompt) {
	case UI_PROMPT_SEARCH:
		if (ui->input_len > 0)
			found = model_search(&ui->model, ui->input_buf, forward,
			    next);
		view_table_ensure_visible(ui);
		break;
	case UI_PROMPT_FILTER:
		model_set_filter(&ui->model, ui->input_buf);
		view_table_ensure_visible(ui);
		ui->dirty |= UI_DIRTY_HEADER;
		break;
	case UI_PROMPT_LOG_SEARCH:
		if (ui->input_len > 0)
			found = view_log_search(ui, ui->input_buf, forward, next);
		break;
	}
	if (!found)
		ui_message(ui, true, "not found: %s", ui->input_buf);
	else
		ui->msg[0] = '\0';
	ui->dirty |= UI_DIRTY_BODY | UI_DIRTY_STATUS;
}

static void
ui_prompt_key(struct ui *ui, int ch)
{
	if (ch == KEY_ESC) {
		ui->mode = UI_MODE_NORMAL;
		if (ui->prompt == UI_PROMPT_FILTER) {
			model_set_filter(&ui->model, ui->saved_filter);
			view_table_ensure_visible(ui);
			ui->dirty |= UI_DIRTY_HEADER;
		}
		ui->dirty |= UI_DIRTY_BODY | UI_DIRTY_STATUS;
		return;
	}
	if (ui_is_enter(ch)) {
		ui->mode = UI_MODE_NORMAL;
		if (ui->prompt != UI_PROMPT_FILTER)
			snprintf(ui->last_search, sizeof ui->last_search, "%s",
			    ui->input_buf);
		if (ui->prompt == UI_PROMPT_LOG_SEARCH)
			snprintf(ui->log.search, sizeof ui->log.search, "%s",
			    ui->input_buf);
		ui->dirty |= UI_DIRTY_BODY | UI_DIRTY_STATUS;
		return;
	}
	switch (ch) {
	case KEY_BACKSPACE:
	case 127:
	case KEY_CTRL('h'):
		if (ui->input_len > 0)
			ui->input_buf[--ui->input_len] = '\0';
		ui_prompt_apply(ui, false, true);
		return;
	case KEY_CTRL('u'):
		ui->input_len = 0;
		ui->input_buf[0] = '\0';
		ui_prompt_apply(ui, false, true);
		return;
	case KEY_F(3):
	case KEY_DOWN:
		if (ui->prompt != UI_PROMPT_FILTER)
			ui_prompt_apply(ui, true, true);
		return;
	case KEY_UP:
		if (ui->prompt != UI_PROMPT_FILTER)
			ui_prompt_apply(ui, true, false);
		return;
	}
	if (ch >= 0x20 && ch < 0x7f && ui->input_len + 1 < sizeof ui->input_buf) {
		ui->input_buf[ui->input_len++] = (char)ch;
		ui->input_buf[ui->input_len] = '\0';
		ui_prompt_apply(ui, false, true);
	}
}

/* The process table's keys; the movement keys are the view's own. */
static const struct {
	int		 key;
	enum ui_cmd	 cmd;
} ui_table_keys[] = {
	/* htop's, for the same actions. */
	{ KEY_F(1), UI_CMD_HELP },		{ 'h', UI_CMD_HELP },
	{ '?', UI_CMD_HELP },
	{ KEY_F(10), UI_CMD_QUIT },		{ 'q', UI_CMD_QUIT },
	{ KEY_CTRL('c'), UI_CMD_QUIT },
	{ KEY_CTRL('l'), UI_CMD_REDRAW },
	{ KEY_F(3), UI_CMD_SEARCH },		{ '/', UI_CMD_SEARCH },
	{ KEY_F(15), UI_CMD_SEARCH_PREV },	/* Shift-F3 */
	{ KEY_F(4), UI_CMD_FILTER },		{ '\\', UI_CMD_FILTER },
	{ KEY_F(6), UI_CMD_SORT_NEXT },		{ '>', UI_CMD_SORT_NEXT },
	{ '.', UI_CMD_SORT_NEXT },
	{ '<', UI_CMD_SORT_PREV },		{ ',', UI_CMD_SORT_PREV },
	{ 'P', UI_CMD_SORT_CPU },		{ 'M', UI_CMD_SORT_MEM },
	{ 'T', UI_CMD_SORT_TIME },		{ 'N', UI_CMD_SORT_PID },
	{ 'I', UI_CMD_INVERT },
	{ ' ', UI_CMD_TAG },			{ 'U', UI_CMD_UNTAG_ALL },
	{ KEY_F(9), UI_CMD_KILL },		{ 'k', UI_CMD_KILL },
	/* pooltop's own, on letters htop leaves free. */
	{ 'n', UI_CMD_SEARCH_NEXT },
	{ 'z', UI_CMD_SLEEP_WAKE },
	{ 'r', UI_CMD_RESTART },
	{ 'A', UI_CMD_SCALE_UP },		{ 'D', UI_CMD_SCALE_DOWN },
	{ 'B', UI_CMD_STRATEGY },
	{ 'R', UI_CMD_RELOAD },
	{ 'd', UI_CMD_DEBUG },
	{ 'L', UI_CMD_LOG },			{ '\r', UI_CMD_LOG },
	{ '\n', UI_CMD_LOG },			{ KEY_ENTER, UI_CMD_LOG },
	{ 'j', UI_CMD_TASKS },
};

enum ui_cmd
ui_table_cmd(int ch)
{
	size_t	i;

	for (i = 0; i < sizeof ui_table_keys / sizeof ui_table_keys[0]; i++) {
		if (ui_table_keys[i].key == ch)
			return ui_table_keys[i].cmd;
	}
	return UI_CMD_NONE;
}

static void
ui_debug_close_cb(uv_handle_t *h)
{
	struct ui *ui = h->data;

	ui->nopen--;
}

/* Signals the terminal sends in its normal mode: the debugger's, not ours. */
static const int ui_debug_signals[] = { SIGINT, SIGQUIT, SIGTSTP };

/* The debugger exited: the dashboard takes the terminal back. */
static void
ui_debug_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	struct ui	*ui = p->data;
	size_t		 i;

	uv_close((uv_handle_t *)p, ui_debug_close_cb);
	for (i = 0; i < 3; i++)
		sigaction(ui_debug_signals[i], &ui->debug_old[i], NULL);
	ui_resume(ui);
	if (sig != 0)
		ui_message(ui, true, "debugger (%s) ended by signal %d",
		    ui->debug_shown, sig);
	else
		ui_message(ui, status != 0, "debugger (%s) exited with status "
		    "%d", ui->debug_shown, (int)status);
}

/*
 * The debugger: the dashboard steps aside (the terminal back in its
 * normal mode, no keys read, nothing drawn), $POOLTOP_DEBUGGER or
 * gdb -p runs on the terminal as a child on the loop, and the dashboard
 * comes back in its exit callback.  The engine runs on meanwhile (tasks,
 * timeouts, the control socket); a worker stopped under the debugger is
 * not taken for dead (libuv reaps by pid and never asks for stops).
 */
static void
ui_debug(struct ui *ui, const struct model_row *r)
{
	const char		*dbg = getenv("POOLTOP_DEBUGGER");
	char			 pid[16];
	char			*argv[6];
	uv_process_options_t	 opts;
	uv_stdio_container_t	 stdio[3];
	struct sigaction	 ign;
	size_t			 i;
	int			 rc;

	snprintf(pid, sizeof pid, "%d", (int)r->pid);
	if (dbg != NULL && dbg[0] != '\0') {
		/* The shell splits the setting into words; the pid is $1. */
		argv[0] = (char *)"/bin/sh";
		argv[1] = (char *)"-c";
		argv[2] = (char *)"exec $POOLTOP_DEBUGGER \"$1\"";
		argv[3] = (char *)"pooltop-debugger";
		argv[4] = pid;
		argv[5] = NULL;
		snprintf(ui->debug_shown, sizeof ui->debug_shown, "%s %s", dbg,
		    pid);
	} else {
		argv[0] = (char *)"gdb";
		argv[1] = (char *)"-p";
		argv[2] = pid;
		argv[3] = NULL;
		snprintf(ui->debug_shown, sizeof ui->debug_shown, "gdb -p %s",
		    pid);
	}
	memset(&opts, 0, sizeof opts);
	for (i = 0; i < 3; i++) {
		stdio[i].flags = UV_INHERIT_FD;
		stdio[i].data.fd = (int)i;
	}
	opts.file = argv[0];
	opts.args = argv;
	opts.stdio = stdio;
	opts.stdio_count = 3;
	opts.exit_cb = ui_debug_exit_cb;

	ui_suspend(ui);
	printf("pooltop: running %s for %s/%d; the dashboard comes back when "
	    "it exits (the pools keep running)\n", ui->debug_shown,
	    r->pool_name, r->slot);
	fflush(stdout);
	/*
	 * Why ignore SIGINT, SIGQUIT and SIGTSTP meanwhile: the terminal is
	 * in its normal mode, so a Ctrl-C or Ctrl-Z meant for the debugger
	 * reaches pooltop too (it is in the same process group); the child
	 * gets the defaults back (libuv resets them before exec).
	 */
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	for (i = 0; i < 3; i++)
		sigaction(ui_debug_signals[i], &ign, &ui->debug_old[i]);

	rc = uv_spawn(ui->loop, &ui->debugger, &opts);
	/* Initialized even when the spawn failed: it must be closed. */
	ui->debugger.data = ui;
	ui->nopen++;
	if (rc != 0) {
		uv_close((uv_handle_t *)&ui->debugger, ui_debug_close_cb);
		for (i = 0; i < 3; i++)
			sigaction(ui_debug_signals[i], &ui->debug_old[i], NULL);
		ui_resume(ui);
		ui_message(ui, true, "cannot run %s: %s (set POOLTOP_DEBUGGER)",
		    ui->debug_shown, uv_strerror(rc));
	}
}

/* The selected row's pool, for scale and strategy. */
static struct pool *
ui_selected_pool(struct ui *ui)
{
	const struct model_row *r = model_selected(&ui->model);

	if (r == NULL || r->type == MODEL_MANAGER) {
		ui_message(ui, true, "select a worker of the pool first");
		return NULL;
	}
	return (struct pool *)(uintptr_t)r->pool;
}

/* Keys that act on workers and pools (table view only). */
static bool
ui_action_key(struct ui *ui, int ch)
{
	const struct model_row	*r;
	struct pool_info	 info;
	struct pool		*p;
	char			 what[96];
	enum ui_cmd		 cmd = ui_table_cmd(ch);

	switch (cmd) {
	case UI_CMD_KILL:
		if (ui_collect_targets(ui, true) == 0) {
			ui_no_target(ui);
			return true;
		}
		ui_menu_open(ui, UI_MENU_SIGNAL, UI_NSIGNALS, 0);
		return true;
	case UI_CMD_SLEEP_WAKE:
		if (ui_collect_targets(ui, true) == 0) {
			ui_no_target(ui);
			return true;
		}
		ui->act = UI_ACT_SLEEP_WAKE;
		ui_act_run(ui);
		return true;
	case UI_CMD_RESTART:
		if (ui_collect_targets(ui, true) == 0) {
			ui_no_target(ui);
			return true;
		}
		ui->act = UI_ACT_RESTART;
		ui_targets_text(ui, what, sizeof what);
		ui_ask(ui, "Restart %s?", what);
		return true;
	case UI_CMD_SCALE_UP:
	case UI_CMD_SCALE_DOWN:
		if ((p = ui_selected_pool(ui)) == NULL)
			return true;
		pool_get_info(p, &info);
		ui->act = UI_ACT_SCALE;
		ui->act_pool = p;
		if (cmd == UI_CMD_SCALE_UP) {
			ui->act_workers = info.workers + 1;
			ui_act_run(ui);
			return true;
		}
		if (info.workers <= 1) {
			ui_message(ui, true, "pool %s has %u worker%s: cannot "
			    "drop one (at least 1)", info.name, info.workers,
			    info.workers == 1 ? "" : "s");
			return true;
		}
		ui->act_workers = info.workers - 1;
		ui_ask(ui, "Scale pool %s down from %u to %u workers?",
		    info.name, info.workers, info.workers - 1);
		return true;
	case UI_CMD_RELOAD:
		if ((p = ui_selected_pool(ui)) == NULL)
			return true;
		pool_get_info(p, &info);
		ui->act = UI_ACT_RELOAD;
		ui->act_pool = p;
		ui_ask(ui, "Reload pool %s (%s: every worker replaced by a new "
		    "process)?", info.name, pool_get_spec(p)->reload ==
		    POOL_RELOAD_RESTART ? "restart" : "rolling");
		return true;
	case UI_CMD_STRATEGY:
		if ((p = ui_selected_pool(ui)) == NULL)
			return true;
		pool_get_info(p, &info);
		ui->act_pool = p;
		ui->act_strategy = (int)info.strategy;
		ui_menu_open(ui, UI_MENU_STRATEGY, BALANCE_NSTRATEGIES,
		    (int)info.strategy);
		return true;
	case UI_CMD_DEBUG:
		r = model_selected(&ui->model);
		if (r == NULL || r->type == MODEL_MANAGER || r->pid <= 0) {
			ui_no_target(ui);
			return true;
		}
		ui_debug(ui, r);
		return true;
	default:
		return false;
	}
}

/* q, F10, Ctrl-C: a graceful stop; asks first if tasks would be cut. */
static void
ui_quit_key(struct ui *ui)
{
	if (!ui->quitting && ui->stats.in_flight + ui->stats.queued > 0) {
		ui->act = UI_ACT_QUIT;
		ui_ask(ui, "%llu tasks in flight and %zu queued: stop anyway?",
		    (unsigned long long)ui->stats.in_flight, ui->stats.queued);
		return;
	}
	ui_quit(ui);
}

void
ui_key(struct ui *ui, int ch)
{
	if (ch == KEY_RESIZE)
		return;
	switch (ui->mode) {
	case UI_MODE_PROMPT:
		ui_prompt_key(ui, ch);
		return;
	case UI_MODE_MENU:
		ui_menu_key(ui, ch);
		return;
	case UI_MODE_CONFIRM:
		if (ch == 'y' || ch == 'Y')
			ui_act_run(ui);
		else {
			ui->mode = UI_MODE_NORMAL;
			ui_message(ui, false, "cancelled");
		}
		ui->dirty |= UI_DIRTY_STATUS;
		return;
	case UI_MODE_NORMAL:
		break;
	}
	if (ui->view->key(ui, ch))
		return;
	if (ui->view == &view_table_ops && ui_action_key(ui, ch))
		return;
	/* The keys of every view (each view's own came first). */
	switch (ch) {
	case KEY_F(1):
	case 'h':
	case '?':
		ui->help_top = 0;
		ui_set_view(ui, &view_help_ops);
		return;
	case 'j':
		ui->tv.top = 0;
		ui_set_view(ui, &view_tasks_ops);
		return;
	case KEY_F(10):
	case 'q':
	case KEY_CTRL('c'):
		ui_quit_key(ui);
		return;
	case KEY_CTRL('l'):
		clearok(curscr, TRUE);
		ui->dirty |= UI_DIRTY_ALL;
		return;
	}
}

void
ui_mouse(struct ui *ui)
{
	MEVENT	ev;
	int	y;

	if (getmouse(&ev) != OK || ui->mode != UI_MODE_NORMAL ||
	    ui->view != &view_table_ops)
		return;
	if (ev.bstate & BUTTON4_PRESSED) {
		model_move(&ui->model, -3);
		view_table_ensure_visible(ui);
		ui->dirty |= UI_DIRTY_BODY;
		return;
	}
	if (ev.bstate & BUTTON5_PRESSED) {
		model_move(&ui->model, 3);
		view_table_ensure_visible(ui);
		ui->dirty |= UI_DIRTY_BODY;
		return;
	}
	if (!(ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)))
		return;
	y = ev.y - getbegy(ui->body);
	if (y < 0 || y >= getmaxy(ui->body))
		return;
	view_table_click(ui, y, ev.x, y == ui->table_y);
}
