/*
 * The help screen: every key, by view.  Bindings follow htop's where the
 * action is the same.
 */
#include <string.h>

#include "view.h"

const char *const view_help_text[] = {
	"pooltop: a process-pool dashboard (keys as in htop where the same).",
	"",
	"Process table (htop's keys where htop has the action; pooltop's own",
	"actions on letters htop leaves free)",
	"  Up Down PgUp PgDn Home End   move the selection",
	"  F3 /        search rows (as you type; F3/Down next, Up previous)",
	"  n S-F3      next / previous match of the last search",
	"  F4 \\        filter rows (only matching rows shown; Esc restores)",
	"  F6 > .      sort by the next column      < ,  the previous column",
	"  P M T N     sort by CPU%, by memory (RSS), by uptime, by PID",
	"  I           invert the sort order",
	"  mouse       click a header cell to sort by it (again: invert),",
	"              click a row to select it, wheel to scroll",
	"  Space       tag or untag the worker (kill, sleep/wake and restart",
	"              then apply to every tagged worker)     U  untag all",
	"  F9 k        kill: choose a signal (TERM KILL INT HUP USR1 USR2 STOP",
	"              CONT), then confirm",
	"  z           sleep the worker (SIGSTOP), or wake it (SIGCONT) if it",
	"              sleeps; each tagged worker the same way",
	"  r           restart the worker gracefully (asks first)",
	"  A           add a worker to the worker's pool (scale up by one)",
	"  D           drop a worker from the pool (scale down by one; asks)",
	"  B           change the worker's pool's balancing strategy",
	"  R           reload the worker's pool: every worker replaced by a",
	"              new process, one at a time (reload = rolling), or all",
	"              stopped, then started (reload = restart); asks first",
	"  d           debugger: runs $POOLTOP_DEBUGGER PID, or gdb -p PID, on",
	"              the terminal and comes back when it exits (the pools",
	"              keep running meanwhile)",
	"  L Enter     the worker's log",
	"  j           the task log (jobs)",
	"",
	"Worker log",
	"  Up Down PgUp PgDn   scroll            Home End   first / last line",
	"  F           follow mode on / off (End turns it on)",
	"  /           search       n N   next / previous match",
	"  Esc q       back to the table",
	"",
	"Task log",
	"  p           filter by pool (each in turn, then all)",
	"  o           filter by outcome: all, ok, errors",
	"  Up Down PgUp PgDn Home End   scroll (Home: newest)",
	"  Esc q j     back to the table",
	"",
	"Everywhere",
	"  F1 h ?      this help            Ctrl-L  redraw the screen",
	"  F10 q       quit: a graceful stop of every pool (asks first if tasks",
	"              are in flight); press again to force (SIGKILL)",
	"  y n         answer a question (destructive keys ask unless",
	"              confirm = no in the [pooltop] section)",
	"",
	"Columns: POOL SLOT PID PPID TYPE (manager, worker, service) STATE",
	"(starting idle busy sleeping stopping exited failed; traced under a",
	"debugger) CPU% (100 = one core) RSS DONE INFL(ight) ERR(ors) RST",
	"(restarts) UPTIME and the CPU history.  Narrow terminals hide the",
	"less important columns.",
};
#define VIEW_HELP_LINES ((int)(sizeof view_help_text / sizeof view_help_text[0]))
const size_t view_help_nlines = VIEW_HELP_LINES;

static void
view_help_draw(struct ui *ui, WINDOW *w)
{
	int h = getmaxy(w), width = getmaxx(w), i, k;

	if (ui->help_top > VIEW_HELP_LINES - h + 1)
		ui->help_top = VIEW_HELP_LINES - h + 1;
	if (ui->help_top < 0)
		ui->help_top = 0;
	wmove(w, 0, 0);
	wattrset(w, ui_attr(ui, UI_C_TITLE));
	whline(w, ' ', width);
	ui_put(w, " Help: every key ", 17, width);
	wattrset(w, A_NORMAL);
	for (i = 1; i < h; i++) {
		k = ui->help_top + i - 1;
		wmove(w, i, 0);
		wclrtoeol(w);
		if (k >= VIEW_HELP_LINES)
			continue;
		if (view_help_text[k][0] != ' ' && view_help_text[k][0] != '\0')
			wattron(w, A_BOLD);
		ui_put(w, view_help_text[k], strlen(view_help_text[k]), width);
		wattroff(w, A_BOLD);
	}
}

static bool
view_help_key(struct ui *ui, int ch)
{
	int page = ui->body ? getmaxy(ui->body) - 2 : 1;

	switch (ch) {
	case KEY_UP:
		ui->help_top--;
		break;
	case KEY_DOWN:
		ui->help_top++;
		break;
	case KEY_PPAGE:
		ui->help_top -= page;
		break;
	case KEY_NPAGE:
	case ' ':
		ui->help_top += page;
		break;
	case KEY_HOME:
		ui->help_top = 0;
		break;
	case KEY_END:
		ui->help_top = VIEW_HELP_LINES;
		break;
	case KEY_F(10):
		return false;	/* quits */
	default:
		/* Any other key leaves, as in htop. */
		ui_set_view(ui, &view_table_ops);
		return true;
	}
	ui->dirty |= UI_DIRTY_BODY;
	return true;
}

static void
view_help_hints(struct ui *ui, WINDOW *w, int width)
{
	int room = width;

	room -= ui_hint(ui, w, "Esc", "Back", room);
	room -= ui_hint(ui, w, "PgUp/PgDn", "Scroll", room);
	room -= ui_hint(ui, w, "F10", "Quit", room);
}

const struct view_ops view_help_ops = {
	.name = "help",
	.draw = view_help_draw,
	.key = view_help_key,
	.hints = view_help_hints,
	.close = NULL,
};
