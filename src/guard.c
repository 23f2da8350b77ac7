/*
 * Guards against a worker that floods its output.  Every line a worker
 * writes costs pooltop a copy into the slot's ring and an event to each
 * listener (the dashboard, a console); a worker writing as fast as it
 * can would keep the loop busy with its lines alone.  The rings bound
 * the memory, this bounds the time: a worker writing more than
 * spec.log_rate_limit lines (stdout and stderr together) within a
 * second is killed and restarted like after a crash, with the reason
 * "flooding stdout (N lines/s, limit L)" in its log; pooltop stops
 * reading its output at once and drops the rest.
 *
 * The count runs over windows of one second, each starting at the line
 * that found the previous one over: the check costs an increment and a
 * compare per line, and a clock read once per window at most.
 */
#include <stdio.h>

#include "engine-internal.h"

#define GUARD_WINDOW_NS	1000000000ull

/*
 * The line count passed the limit: a new window if the current one is
 * over, else the worker is flooding.  Returns whether to keep the line.
 */
bool
guard_log_over(struct worker *w, int stream)
{
	struct pool	*p = w->pool;
	uint64_t	 now = uv_hrtime(), elapsed, rate;
	char		 label[300], why[200];

	elapsed = now - w->log_win_ns;
	if (w->log_win_ns == 0 || elapsed >= GUARD_WINDOW_NS) {
		w->log_win_ns = now;
		w->log_win_lines = 1;
		return (true);
	}
	/* Lines per second over what the window lasted so far (>= 1 ms). */
	if (elapsed < 1000000)
		elapsed = 1000000;
	rate = w->log_win_lines * 1000000000ull / elapsed;
	w->log_muted = true;
	if (w->exited)
		return (false);
	/* Why stop reading: its pipes fill up and the worker blocks. */
	uv_read_stop((uv_stream_t *)&w->out);
	uv_read_stop((uv_stream_t *)&w->err);
	snprintf(why, sizeof why, "flooding %s (%llu lines/s, limit %u)",
	    stream == LOG_STDERR ? "stderr" : "stdout",
	    (unsigned long long)rate, p->spec.log_rate_limit);
	pool_note(p, w->slot, w, "%s: %s; restarting",
	    worker_label(w, label, sizeof label), why);
	worker_kill(w, STOP_FAILURE, why);
	return (false);
}
