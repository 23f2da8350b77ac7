/*
 * The detail pane under the table: the selected worker's identity, and
 * its CPU% and memory sparklines over the sampler's history (one minute
 * by default) with the current, minimum and maximum values; for a pool
 * with shared locks, which worker holds which lock and for how long.
 */
#include <stdio.h>
#include <string.h>

#include "view.h"

/* One labelled sparkline with its figures at the right. */
static void
view_detail_line(struct ui *ui, WINDOW *w, int y, int width,
    const char *label, const double *v, size_t n, double hi,
    const char *figures)
{
	char	buf[512 * 3 + 1];
	int	room, flen = (int)strlen(figures);
	size_t	cols;

	wmove(w, y, 0);
	wclrtoeol(w);
	wattron(w, A_BOLD);
	waddstr(w, label);
	wattroff(w, A_BOLD);
	room = width - (int)strlen(label) - flen - 2;
	if (room > (int)ui->hcap)
		room = (int)ui->hcap;
	if (room > 512)
		room = 512;
	if (room > 0 && n > 0) {
		/* Left blank where there is no history yet. */
		cols = spark_render(buf, sizeof buf, v, n, 0, hi, (size_t)room,
		    ui->utf8);
		wmove(w, y, (int)strlen(label) + room - (int)cols);
		wattron(w, ui_attr(ui, UI_C_GOOD));
		waddstr(w, buf);
		wattroff(w, ui_attr(ui, UI_C_GOOD));
	}
	wmove(w, y, (int)strlen(label) + (room > 0 ? room : 0) + 1);
	ui_put(w, figures, (size_t)flen, width - getcurx(w));
}

/*
 * The pool's locks in a line ("locks: db 2/pid 41 1.25s +1 waiting,
 * cache free, 1 holder died"), and in mine those the selected worker
 * holds ("holds db 1.25s").  Empty when the pool has no locks.
 */
static void
view_detail_locks(struct ui *ui, const struct model_row *r, char *line,
    size_t len, char *mine, size_t mlen)
{
	struct pool_lock_info	 l[16];
	struct pool		*pool = NULL;
	char			 held[16];
	size_t			 n, i, at = 0, mat = 0;
	int			 k;

	line[0] = mine[0] = '\0';
	for (i = 0; i < ui->npools; i++) {
		if ((const void *)ui->pools[i] == r->pool)
			pool = ui->pools[i];
	}
	if (pool == NULL || (n = pool_locks(pool, l, 16)) == 0)
		return;
	if (n > 16)
		n = 16;
	for (i = 0; i < n && at < len; i++) {
		fmt_latency(held, sizeof held, l[i].held_ms * 1000);
		if (!l[i].held)
			k = snprintf(line + at, len - at, "%s%s free",
			    i == 0 ? "locks: " : ", ", l[i].name);
		else if (l[i].pid == 0)
			k = snprintf(line + at, len - at, "%s%s held",
			    i == 0 ? "locks: " : ", ", l[i].name);
		else
			k = snprintf(line + at, len - at, "%s%s %d/pid %d %s",
			    i == 0 ? "locks: " : ", ", l[i].name, l[i].slot,
			    (int)l[i].pid, held);
		if (k > 0)
			at += (size_t)k;
		if (l[i].waiting != 0 && at < len &&
		    (k = snprintf(line + at, len - at, " +%u waiting",
		    l[i].waiting)) > 0)
			at += (size_t)k;
		if (l[i].deaths != 0 && at < len &&
		    (k = snprintf(line + at, len - at, " (%llu holder%s died)",
		    (unsigned long long)l[i].deaths, l[i].deaths == 1 ? "" :
		    "s")) > 0)
			at += (size_t)k;
		if (l[i].held && l[i].pid == r->pid && r->pid > 0 &&
		    mat < mlen && (k = snprintf(mine + mat, mlen - mat,
		    "%s%s %s", mat == 0 ? " holds " : ", ", l[i].name,
		    held)) > 0)
			mat += (size_t)k;
	}
}

void
view_detail_draw(struct ui *ui, WINDOW *w, int y, int h, int width)
{
	const struct model_row	*r = model_selected(&ui->model);
	char			 line[256], a[16], b[16], c[16];
	char			 locks[512], mine[128];
	size_t			 n = 0, i;
	double			 lo, hi;
	int			 k;

	locks[0] = mine[0] = '\0';
	for (k = 0; k < h; k++) {
		wmove(w, y + k, 0);
		wclrtoeol(w);
	}
	if (h < 3)
		return;
	wmove(w, y, 0);
	ui_hline(ui, w, width);
	if (r == NULL) {
		mvwaddstr(w, y, 2, " no row selected ");
		return;
	}
	if (r->type == MODEL_MANAGER)
		snprintf(line, sizeof line, " pooltop (manager)  pid %d ",
		    (int)r->pid);
	else {
		int l = snprintf(line, sizeof line,
		    " %s/%d  pid %d  %s  %s  weight %u  restarts %u",
		    r->pool_name, r->slot, (int)r->pid,
		    r->type == MODEL_SERVICE ? "service" : "worker",
		    r->state_name ? r->state_name : "?", r->weight,
		    r->restarts);

		view_detail_locks(ui, r, locks, sizeof locks, mine,
		    sizeof mine);
		if (mine[0] != '\0' && l > 0 && (size_t)l < sizeof line) {
			snprintf(line + l, sizeof line - (size_t)l, " %s",
			    mine);
			l += (int)strlen(line + l);
		}
		if (r->restarts > 0 && l > 0 && (size_t)l < sizeof line) {
			if (r->last_signal != 0)
				snprintf(line + l, sizeof line - (size_t)l,
				    "  last exit: signal %d ", r->last_signal);
			else
				snprintf(line + l, sizeof line - (size_t)l,
				    "  last exit: status %d ", r->last_status);
		} else if (l > 0 && (size_t)l + 1 < sizeof line)
			strcat(line, " ");
	}
	wmove(w, y, 2);
	wattron(w, A_BOLD);
	ui_put(w, line, strlen(line), width - 4);
	wattroff(w, A_BOLD);

	if (ui->sampler != NULL && r->pid > 0)
		n = sampler_history(ui->sampler, r->pid, ui->hcpu, ui->hrss,
		    ui->hcap);
	spark_range(ui->hcpu, n, &lo, &hi);
	fmt_cpu(a, sizeof a, n ? ui->hcpu[n - 1] : 0);
	fmt_cpu(b, sizeof b, lo);
	fmt_cpu(c, sizeof c, hi);
	snprintf(line, sizeof line, "now %5s%%  min %5s%%  max %5s%%", a, b, c);
	/* Scaled to the worker's own maximum (at least 5%), so shape shows. */
	view_detail_line(ui, w, y + 1, width, "CPU ", ui->hcpu, n,
	    hi > 5 ? hi : 5, line);

	for (i = 0; i < n; i++)
		ui->hrssd[i] = (double)ui->hrss[i];
	spark_range(ui->hrssd, n, &lo, &hi);
	fmt_bytes(a, sizeof a, n ? ui->hrss[n - 1] : 0);
	fmt_bytes(b, sizeof b, (uint64_t)lo);
	fmt_bytes(c, sizeof c, (uint64_t)hi);
	snprintf(line, sizeof line, "now %6s  min %6s  max %6s", a, b, c);
	view_detail_line(ui, w, y + 2, width, "MEM ", ui->hrssd, n, hi, line);
	if (h > 3) {
		if (r->pid > 0 && r->proc_state != 0)
			snprintf(line, sizeof line,
			    "    /proc state %c  ppid %d  done %llu  errors %llu"
			    "  in flight %u", r->proc_state, (int)r->ppid,
			    (unsigned long long)r->done,
			    (unsigned long long)r->errors, r->in_flight);
		else
			snprintf(line, sizeof line, "    no process sampled");
		wmove(w, y + 3, 0);
		ui_put(w, line, strlen(line), width);
		if (r->type != MODEL_MANAGER && locks[0] != '\0' &&
		    getcurx(w) + 4 < width) {
			waddstr(w, "  ");
			ui_put(w, locks, strlen(locks), width - getcurx(w));
		}
	}
}
