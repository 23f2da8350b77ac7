/*
 * The dashboard's terminal side: struct ui (the one dashboard of the
 * process) and the views, each behind a view_ops (as tmux's window_mode).
 * Only ui/ includes this: it pulls in <curses.h>.
 */
#ifndef POOLTOP_VIEW_H
#define POOLTOP_VIEW_H

#include <curses.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "app.h"
#include "dash.h"
#include "pooltop/commands.h"
#include "ring.h"

struct ui;

/* What needs doing before the next frame. */
#define UI_DIRTY_MODEL	0x01	/* rows must be re-read from the engine */
#define UI_DIRTY_HEADER	0x02
#define UI_DIRTY_BODY	0x04
#define UI_DIRTY_STATUS	0x08
#define UI_DIRTY_RATE	0x10	/* a sample tick: recompute tasks/s */
#define UI_DIRTY_ALL	0x1f

/* Colours (or, on a monochrome terminal, attributes) by meaning. */
enum ui_color {
	UI_C_NORMAL,
	UI_C_TITLE,		/* table header, bars */
	UI_C_SELECTED,
	UI_C_GOOD,		/* busy, ok */
	UI_C_BAD,		/* errors, exited, failed, stderr */
	UI_C_SLEEP,
	UI_C_TAG,
	UI_C_DIM,
	UI_C_KEY,		/* key names in the hint bar */
	UI_C_COUNT
};

struct view_ops {
	const char	*name;
	/* Draws the body window; the view owns every line of it. */
	void		 (*draw)(struct ui *, WINDOW *);
	/* Handles a key; false: not this view's (the global keys try). */
	bool		 (*key)(struct ui *, int ch);
	/* Key hints for the bottom line. */
	void		 (*hints)(struct ui *, WINDOW *, int width);
	/* Leaves the view (frees what it holds); NULL: nothing to do. */
	void		 (*close)(struct ui *);
};

extern const struct view_ops view_table_ops;
extern const struct view_ops view_log_ops;
extern const struct view_ops view_tasks_ops;
extern const struct view_ops view_help_ops;

enum ui_mode { UI_MODE_NORMAL, UI_MODE_PROMPT, UI_MODE_CONFIRM, UI_MODE_MENU };
enum ui_prompt { UI_PROMPT_SEARCH, UI_PROMPT_FILTER, UI_PROMPT_LOG_SEARCH };
enum ui_menu { UI_MENU_SIGNAL, UI_MENU_STRATEGY };
enum ui_act {
	UI_ACT_KILL,
	UI_ACT_SLEEP_WAKE,	/* each target: wake if asleep, else sleep */
	UI_ACT_RESTART,
	UI_ACT_SCALE,
	UI_ACT_STRATEGY,
	UI_ACT_RELOAD,
	UI_ACT_QUIT,
};

/* A worker an action applies to, as it was when the action was asked. */
struct ui_target {
	struct pool	*pool;
	int		 slot;
	pid_t		 pid;
	bool		 sleeping;	/* as shown: z wakes it, else sleeps it */
	char		 name[MODEL_POOL_MAX + 12];	/* "web/2" */
};

/* Totals for the header, from the last refresh. */
struct ui_stats {
	unsigned	 pools;
	unsigned	 failed_pools;
	unsigned	 live;
	unsigned	 configured;
	unsigned	 sleeping;
	size_t		 queued;
	uint64_t	 in_flight;
	uint64_t	 finished;	/* tasks done + failed, every pool */
	uint64_t	 errors;
	double		 rate;		/* tasks/s over the last sample interval */
	double		 self_cpu;
	uint64_t	 self_rss;
};

/* The worker log view. */
struct ui_log {
	struct pool	*pool;
	int		 slot;
	char		 name[MODEL_POOL_MAX + 12];
	struct ring_log	*lines;		/* our copy, numbered by the ring */
	uint64_t	 next;		/* the engine's next line number */
	uint64_t	 top;		/* ring number of the first line shown */
	bool		 follow;
	char		 search[64];
	uint64_t	 match;		/* ring number; UINT64_MAX: none */
	int		 height;	/* lines shown at the last draw */
};

/* The task log view. */
struct ui_tasks {
	size_t		 top;		/* first shown, among the matching */
	int		 pool_idx;	/* -1: every pool, else index in ui->pools */
	const void	*pool;
	enum tasklog_outcome outcome;
	int		 height;
};

struct ui {
	struct app	*app;
	uv_loop_t	*loop;
	struct engine	*engine;
	struct sampler	*sampler;

	uv_poll_t	 input;
	uv_signal_t	 winch;
	uv_signal_t	 term;		/* SIGTERM: stop as if q was pressed */
	uv_signal_t	 hup;		/* SIGHUP: the terminal is gone */
	uv_timer_t	 coalesce;	/* at most one redraw per 100 ms from events */
	uv_prepare_t	 prepare;	/* one redraw per loop turn, when dirty */
	int		 nopen;		/* handles not yet closed */
	unsigned	 dirty;
	unsigned	 pending;	/* event dirt waiting for the coalesce timer */

	SCREEN		*screen;
	WINDOW		*header;
	WINDOW		*body;
	WINDOW		*status;
	WINDOW		*popup;		/* menus */
	bool		 utf8;
	bool		 color;
	bool		 confirm;

	const struct view_ops *view;
	struct model	 model;
	struct model_layout layout;
	int		 table_top;	/* first visible row */
	int		 table_y;	/* body line of the table header */
	int		 table_rows;	/* rows shown at the last draw */

	struct tasklog	 tasks;
	struct ui_stats	 stats;
	uint64_t	 rate_at;	/* uv_now of the last rate */
	uint64_t	 rate_finished;

	/* Snapshot buffers, grown only when the pools grow. */
	struct pool	**pools;
	size_t		 npools;
	size_t		 pools_cap;
	struct pool_worker_info *winfo;
	size_t		 winfo_cap;
	double		*hcpu;		/* history for the selected/visible rows */
	uint64_t	*hrss;
	double		*hrssd;
	size_t		 hcap;

	struct ui_log	 log;
	struct ui_tasks	 tv;
	int		 help_top;

	enum ui_mode	 mode;
	enum ui_prompt	 prompt;
	char		 input_buf[64];
	size_t		 input_len;
	char		 saved_filter[64];
	char		 last_search[64];
	enum ui_menu	 menu;
	int		 menu_sel;
	int		 menu_n;
	enum ui_act	 act;		/* pending, for confirm and menus */
	int		 act_sig;
	unsigned	 act_workers;	/* scale: the new size */
	struct pool	*act_pool;	/* scale, strategy */
	int		 act_strategy;
	struct ui_target *targets;
	size_t		 ntargets;
	size_t		 targets_cap;
	char		 question[200];

	char		 msg[256];
	bool		 msg_bad;
	uint64_t	 msg_at;	/* uv_now when set by an action */

	bool		 quitting;
	bool		 stopped;
	pid_t		 self;
	uint64_t	 self_start_ms;	/* wall clock */

	/*
	 * The debugger (d): a child on the loop while the dashboard has
	 * stepped aside (no keys read, nothing drawn); the engine runs on.
	 */
	uv_process_t	 debugger;
	bool		 debugging;
	bool		 debug_winch;	/* a resize came meanwhile */
	char		 debug_shown[256];	/* "gdb -p 123", for messages */
	struct sigaction debug_old[3];	/* SIGINT, SIGQUIT, SIGTSTP before */
};

/*
 * What a key does in the process table.  Letters htop binds keep htop's
 * action there (or do nothing); pooltop's own actions take letters htop
 * leaves free.
 */
enum ui_cmd {
	UI_CMD_NONE,
	UI_CMD_HELP,		/* F1 h ? */
	UI_CMD_QUIT,		/* F10 q Ctrl-C */
	UI_CMD_REDRAW,		/* Ctrl-L */
	UI_CMD_SEARCH,		/* F3 / */
	UI_CMD_SEARCH_NEXT,	/* n */
	UI_CMD_SEARCH_PREV,	/* Shift-F3 */
	UI_CMD_FILTER,		/* F4 \ */
	UI_CMD_SORT_NEXT,	/* F6 > . */
	UI_CMD_SORT_PREV,	/* < , */
	UI_CMD_SORT_CPU,	/* P */
	UI_CMD_SORT_MEM,	/* M */
	UI_CMD_SORT_TIME,	/* T */
	UI_CMD_SORT_PID,	/* N */
	UI_CMD_INVERT,		/* I */
	UI_CMD_TAG,		/* Space */
	UI_CMD_UNTAG_ALL,	/* U */
	UI_CMD_KILL,		/* F9 k */
	UI_CMD_SLEEP_WAKE,	/* z */
	UI_CMD_RESTART,		/* r */
	UI_CMD_SCALE_UP,	/* A: add a worker */
	UI_CMD_SCALE_DOWN,	/* D: drop a worker */
	UI_CMD_STRATEGY,	/* B: balancing */
	UI_CMD_RELOAD,		/* R */
	UI_CMD_DEBUG,		/* d */
	UI_CMD_LOG,		/* L Enter */
	UI_CMD_TASKS,		/* j: jobs */
};

/* ui.c */
/* Colours unless the config says no or NO_COLOR is set and not empty. */
bool	ui_color_allowed(bool config_color);
/*
 * The dashboard steps aside for a program on the terminal (the
 * debugger): the terminal back in its normal mode, no keys read, nothing
 * drawn; ui_resume() takes it back.  The loop and the engine run on.
 */
void	ui_suspend(struct ui *);
void	ui_resume(struct ui *);
attr_t	ui_attr(struct ui *, enum ui_color);
void	ui_set_view(struct ui *, const struct view_ops *);
void	ui_message(struct ui *, bool bad, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
uint64_t ui_wall_ms(void);
/* Draws text clipped to maxcols at the cursor; returns columns used. */
int	ui_put(WINDOW *, const char *s, size_t len, int maxcols);
/* A horizontal line of n columns from the cursor (which stays). */
void	ui_hline(struct ui *, WINDOW *, int n);
/* A hint: the key highlighted, then its label; returns columns used. */
int	ui_hint(struct ui *, WINDOW *, const char *key, const char *label,
	    int room);

/* input.c */
enum ui_cmd ui_table_cmd(int ch);	/* the process table's bindings */
void	ui_key(struct ui *, int ch);
void	ui_mouse(struct ui *);
void	ui_quit(struct ui *);
void	ui_draw_popup(struct ui *);
void	ui_prompt_start(struct ui *, enum ui_prompt, const char *initial);

/* view-table.c, view-detail.c */
void	view_table_ensure_visible(struct ui *);
void	view_detail_draw(struct ui *, WINDOW *, int y, int h, int width);
int	view_table_click(struct ui *, int y, int x, bool header);

/* view-help.c: the help screen's lines (for the tests too). */
extern const char *const view_help_text[];
extern const size_t view_help_nlines;

/* view-log.c */
int	view_log_open(struct ui *, struct pool *, int slot, const char *name);
void	view_log_fetch(struct ui *);
bool	view_log_search(struct ui *, const char *text, bool forward,
	    bool skip_current);

#endif
