/*
 * The engine's rules at their edges, on real pools of the example
 * workers: a hung worker (no late reply after a timeout) is restarted;
 * broadcasts count against queue_cap; the first forgotten sticky key
 * says so; a retried task goes to another worker; signals to a sleeping
 * worker (it is continued, and one that ends it takes it out of
 * dispatch); the engine's own SIGCONT is not taken for one from
 * outside; a busy worker never sleeps; what a worker costs in
 * descriptors; a memory restart always restarts; the workers range.
 */
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "pooltop/sampler.h"

#define MAX_RES		64
#define MAX_SEEN	64

static char	worker_path[1024];
static char	service_path[1024];

/* A task's end. */
struct res {
	int		 calls;
	bool		 ok;
	char		 data[512];
};

/* A task start or end the engine reported: where it ran. */
struct seen {
	bool		 finished;
	char		 payload[32];
	int		 slot;
	pid_t		 pid;
	unsigned	 ready;		/* READY events so far, at this one */
};

/* What the second listener keeps besides the harness's counts. */
struct extra {
	struct h_ctx	*c;
	struct seen	 seen[MAX_SEEN];
	unsigned	 nseen;
	char		 states[MAX_SEEN][300];	/* STATE events' texts */
	unsigned	 nstates;
	unsigned	 state_sleeping;	/* STATE events to WORKER_SLEEPING */
	unsigned	 done;
};

static struct extra	 X;

static void
extra_cb(const struct pool_event *ev, void *arg)
{
	struct extra	*x = arg;
	struct seen	*s;

	switch (ev->type) {
	case POOL_EV_TASK_STARTED:
	case POOL_EV_TASK_FINISHED:
		if (x->nseen == MAX_SEEN)
			break;
		s = &x->seen[x->nseen++];
		s->finished = ev->type == POOL_EV_TASK_FINISHED;
		snprintf(s->payload, sizeof s->payload, "%.*s",
		    (int)ev->payload_len, (const char *)ev->payload);
		s->slot = ev->slot;
		s->pid = ev->pid;
		s->ready = x->c->ready;
		break;
	case POOL_EV_STATE:
		if (ev->state == WORKER_SLEEPING)
			x->state_sleeping++;
		if (ev->text != NULL && x->nstates < MAX_SEEN)
			snprintf(x->states[x->nstates++], sizeof x->states[0],
			    "%.*s", (int)ev->text_len, ev->text);
		break;
	default:
		break;
	}
}

static void
res_cb(bool ok, const void *data, size_t len, void *arg)
{
	struct res	*r = arg;

	r->calls++;
	r->ok = ok;
	snprintf(r->data, sizeof r->data, "%.*s", (int)len,
	    (const char *)data);
	X.done++;
}

/* A harness context whose engine has a sampler (NULL: none). */
static struct h_ctx *
ctx_new(struct sampler **smp, uint64_t interval_ms)
{
	struct h_ctx		*c = h_new();
	struct sampler_options	 so = { interval_ms, 10 };
	struct engine_options	 eo = { NULL };

	memset(&X, 0, sizeof X);
	X.c = c;
	if (smp != NULL) {
		engine_free(c->e);	/* no pool yet: freed at once */
		assert_int_equal(sampler_new(smp, &c->loop, &so), 0);
		assert_int_equal(sampler_start(*smp), 0);
		eo.sampler = *smp;
		assert_int_equal(engine_new(&c->e, &c->loop, &eo), 0);
		assert_int_equal(engine_listen(c->e, h_event_cb, c), 0);
	}
	assert_int_equal(engine_listen(c->e, extra_cb, &X), 0);
	return c;
}

/* Stops the engine, then frees the sampler and the loop. */
static void
ctx_free(struct h_ctx *c, struct sampler *sm)
{
	h_stop(c);
	if (sm != NULL)
		sampler_free(sm);
	h_free(c);
	assert_int_equal(h_children(NULL), 0);
}

static char	*argv_worker[] = { worker_path, NULL };
static char	*argv_service[] = { service_path, NULL };

static void
spec_worker(struct pool_spec *s, const char *name, unsigned workers)
{
	pool_spec_init(s);
	s->name = (char *)name;
	s->argv = argv_worker;
	s->workers = s->min_workers = workers;
	s->backoff_initial_ms = 20;
	s->backoff_max_ms = 100;
}

static struct pool *
add(struct h_ctx *c, const struct pool_spec *s)
{
	struct pool	*p;
	int		 r = engine_add_pool(c->e, s, &p);

	if (r != 0)
		fail_msg("engine_add_pool: %s", engine_error(c->e));
	return p;
}

static void
send_task(struct pool *p, const char *task, const char *payload,
    struct res *r, const struct pool_send_opts *o)
{
	int	rc = pool_send(p, task, payload, strlen(payload), o, res_cb, r);

	if (rc != 0)
		fail_msg("pool_send: %s", pool_send_error(p, rc));
}

static bool
all_ready(struct h_ctx *c, void *arg)
{
	(void)c;
	return h_live_ready(arg) == pool_get_spec(arg)->workers;
}

static bool
done_at_least(struct h_ctx *c, void *arg)
{
	(void)c;
	return X.done >= *(unsigned *)arg;
}

static void
wait_done(struct h_ctx *c, unsigned n)
{
	assert_true(h_run_until(c, done_at_least, &n, H_WAIT_MS));
}

static enum worker_state
slot_state(struct pool *p, int slot)
{
	struct pool_worker_info	w[8];
	size_t			n = pool_snapshot(p, w, 8);

	assert_true((size_t)slot < n);
	return w[slot].state;
}

static bool
proc_stopped(struct h_ctx *c, void *arg)
{
	(void)c;
	return h_proc_state(*(pid_t *)arg) == 'T';
}

struct renewal {
	struct pool	*p;
	int		 slot;
	pid_t		 old;
};

/* The slot runs a new process, ready and idle. */
static bool
renewed(struct h_ctx *c, void *arg)
{
	struct renewal		*r = arg;
	struct pool_worker_info	 w[8];
	size_t			 n = pool_snapshot(r->p, w, 8);

	(void)c;
	return (size_t)r->slot < n && w[r->slot].pid != 0 &&
	    w[r->slot].pid != r->old && w[r->slot].state == WORKER_IDLE;
}

/* How many STATE texts contain s. */
static unsigned
states_with(const char *s)
{
	unsigned	i, n = 0;

	for (i = 0; i < X.nstates; i++) {
		if (strstr(X.states[i], s) != NULL)
			n++;
	}
	return n;
}

/* ---- tests --------------------------------------------------------------- */

/*
 * A task times out in flight and its late reply does not come within
 * stop_timeout: the worker is restarted with the reason, and its other
 * task in flight ends with the worker's exit.
 */
static void
test_hung_worker(void **state)
{
	struct h_ctx		*c = ctx_new(NULL, 0);
	struct pool_spec	 s;
	struct pool		*p;
	struct pool_info	 info;
	struct pool_send_opts	 o = { NULL, 0, 200 };
	struct res		 r[2];
	struct renewal		 rn;
	char			 want[300], tail[200];
	size_t			 n;

	(void)state;
	memset(r, 0, sizeof r);
	spec_worker(&s, "hung", 1);
	s.parallel_jobs = 2;
	s.stop_timeout_ms = 300;
	p = add(c, &s);
	assert_true(h_run_until(c, all_ready, p, H_WAIT_MS));
	rn.p = p;
	rn.slot = 0;
	rn.old = h_slot_pid(p, 0);
	send_task(p, "sleep", "30000", &r[0], &o);	/* task 1: hangs */
	send_task(p, "sleep", "30000", &r[1], NULL);	/* task 2 */
	wait_done(c, 1);
	assert_false(r[0].ok);
	assert_string_equal(r[0].data, "timed out after 200 ms");

	snprintf(want, sizeof want, "hung/0: task 1 got no reply 300 ms "
	    "after its timeout; restarting");
	assert_true(h_run_until(c, h_noticed_cb, want, H_WAIT_MS));
	assert_int_equal(h_log_count(p, 0, "task 1 got no reply 300 ms after "
	    "its timeout"), 2);	/* the notice, and "stopping pid N: ..." */
	/* Task 2 gets stop_timeout, then ends with the worker's exit. */
	wait_done(c, 2);
	assert_false(r[1].ok);
	snprintf(want, sizeof want, "worker hung/0 (pid %d) exited ",
	    (int)rn.old);
	snprintf(tail, sizeof tail, ": task 1 got no reply 300 ms after its "
	    "timeout");
	assert_memory_equal(r[1].data, want, strlen(want));
	n = strlen(r[1].data);
	assert_true(n > strlen(tail));
	assert_string_equal(r[1].data + n - strlen(tail), tail);
	/* A restart, not a crash: back at once. */
	assert_true(h_run_until(c, renewed, &rn, H_WAIT_MS));
	assert_int_equal(r[0].calls, 1);
	assert_int_equal(r[1].calls, 1);
	pool_get_info(p, &info);
	assert_int_equal(info.late_replies, 0);
	assert_false(info.failed);
	ctx_free(c, NULL);
}

/* A late reply within the grace: counted and dropped, no restart. */
static void
test_late_reply_in_grace(void **state)
{
	struct h_ctx		*c = ctx_new(NULL, 0);
	struct pool_spec	 s;
	struct pool		*p;
	struct pool_info	 info;
	struct pool_send_opts	 o = { NULL, 0, 100 };
	struct res		 r[2];
	pid_t			 pid;

	(void)state;
	memset(r, 0, sizeof r);
	spec_worker(&s, "late", 1);
	s.stop_timeout_ms = 3000;
	p = add(c, &s);
	assert_true(h_run_until(c, all_ready, p, H_WAIT_MS));
	pid = h_slot_pid(p, 0);
	send_task(p, "sleep", "400", &r[0], &o);
	wait_done(c, 1);
	assert_string_equal(r[0].data, "timed out after 100 ms");
	send_task(p, "echo", "next", &r[1], NULL);
	wait_done(c, 2);
	assert_true(r[1].ok);
	assert_string_equal(r[1].data, "next");
	pool_get_info(p, &info);
	assert_int_equal(info.late_replies, 1);
	/* Past the grace's end: still the same process, no notice. */
	h_run_for(c, 300);
	assert_int_equal(h_slot_pid(p, 0), pid);
	assert_int_equal(c->notices, 0);
	assert_int_equal(c->exited, 0);
	ctx_free(c, NULL);
}

static void
bcast_count_cb(const struct pool_reply *replies, size_t n, void *arg)
{
	(void)replies;
	(void)n;
	(*(unsigned *)arg)++;
}

static bool
counted(struct h_ctx *c, void *arg)
{
	(void)c;
	return *(unsigned *)arg != 0;
}

/* Broadcast parts that must wait on full workers count against queue_cap. */
static void
test_broadcast_queue_cap(void **state)
{
	struct h_ctx		*c = ctx_new(NULL, 0);
	struct pool_spec	 s;
	struct pool		*p;
	struct pool_info	 info;
	struct res		 r[2];
	unsigned		 calls = 0;
	int			 rc;

	(void)state;
	memset(r, 0, sizeof r);
	spec_worker(&s, "bc", 2);
	s.queue_cap = 1;
	p = add(c, &s);
	assert_true(h_run_until(c, all_ready, p, H_WAIT_MS));
	send_task(p, "sleep", "500", &r[0], NULL);
	send_task(p, "sleep", "500", &r[1], NULL);
	assert_int_equal(slot_state(p, 0), WORKER_BUSY);
	assert_int_equal(slot_state(p, 1), WORKER_BUSY);
	/* Both parts would wait in their worker's list: 2 > queue_cap 1. */
	rc = pool_broadcast(p, "pid", NULL, 0, bcast_count_cb, &calls);
	assert_int_equal(rc, -ENOBUFS);
	assert_string_equal(pool_send_error(p, rc), "pool \"bc\": queue full "
	    "(0 tasks waiting, queue_cap 1)");
	pool_get_info(p, &info);
	assert_int_equal(info.queued, 0);
	wait_done(c, 2);
	/* Room again: the broadcast goes, and its callback runs once. */
	assert_int_equal(pool_broadcast(p, "pid", NULL, 0, bcast_count_cb,
	    &calls), 0);
	assert_true(h_run_until(c, counted, &calls, H_WAIT_MS));
	h_run_for(c, 50);
	assert_int_equal(calls, 1);
	ctx_free(c, NULL);
}

static unsigned	pins_done;

static void
pin_task_cb(bool ok, const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	(void)arg;
	if (ok)
		pins_done++;
}

static bool
pins_all_done(struct h_ctx *c, void *arg)
{
	(void)c;
	return pins_done >= *(unsigned *)arg;
}

/* How many notices of the last H_NOTICES contain s. */
static unsigned
notices_with(struct h_ctx *c, const char *s)
{
	unsigned	i, n = 0, kept = c->notices < H_NOTICES ? c->notices :
			    H_NOTICES;

	for (i = 0; i < kept; i++) {
		if (strstr(c->notice[i], s) != NULL)
			n++;
	}
	return n;
}

/*
 * Past 65,536 sticky keys the least recently used are forgotten: the
 * first time, and only then, a NOTICE says so.
 */
static void
test_pins_forgotten_notice(void **state)
{
	struct h_ctx		*c = ctx_new(NULL, 0);
	struct pool_spec	 s;
	struct pool		*p;
	struct pool_send_opts	 o;
	const char		*want = "keys: more than 65536 sticky keys; "
				    "the least recently used are forgotten "
				    "from now on (a forgotten key's next task "
				    "may go to another worker)";
	char			 key[32];
	unsigned		 i, sent = 0, total = 65536 + 600, batch;

	(void)state;
	pins_done = 0;
	spec_worker(&s, "keys", 2);
	s.parallel_jobs = 64;
	p = add(c, &s);
	assert_true(h_run_until(c, all_ready, p, H_WAIT_MS));
	memset(&o, 0, sizeof o);
	o.key = key;
	while (sent < total) {
		batch = total - sent < 4096 ? total - sent : 4096;
		for (i = 0; i < batch; i++, sent++) {
			o.key_len = (size_t)snprintf(key, sizeof key, "k%u",
			    sent);
			assert_int_equal(pool_send(p, "echo", "x", 1, &o,
			    pin_task_cb, NULL), 0);
		}
		assert_true(h_run_until(c, pins_all_done, &sent, H_WAIT_MS));
		if (sent <= 65536)
			assert_int_equal(notices_with(c, "sticky keys"), 0);
	}
	assert_int_equal(pins_done, total);
	assert_int_equal(c->notices, 1);
	assert_string_equal(c->notice[0], want);
	ctx_free(c, NULL);
}

/* The n-th (from 0) start of the task with this payload, or NULL. */
static const struct seen *
started(const char *payload, unsigned nth)
{
	unsigned	i;

	for (i = 0; i < X.nseen; i++) {
		if (!X.seen[i].finished &&
		    strcmp(X.seen[i].payload, payload) == 0 && nth-- == 0)
			return &X.seen[i];
	}
	return NULL;
}

static bool
started_twice(struct h_ctx *c, void *arg)
{
	(void)c;
	return started(arg, 1) != NULL;
}

static bool
started_once(struct h_ctx *c, void *arg)
{
	(void)c;
	return started(arg, 0) != NULL;
}

/*
 * retry: the task of a worker killed under it goes to the other live
 * worker, even though that one is busy and the dead worker's
 * replacement is ready and idle first.
 */
static void
test_retry_elsewhere(void **state)
{
	struct h_ctx		*c = ctx_new(NULL, 0);
	struct pool_spec	 s;
	struct pool		*p;
	struct res		 r[2];
	const struct seen	*first, *other, *again;
	unsigned		 ready_before;

	(void)state;
	memset(r, 0, sizeof r);
	spec_worker(&s, "retry", 2);
	s.retry = 1;
	p = add(c, &s);
	assert_true(h_run_until(c, all_ready, p, H_WAIT_MS));
	ready_before = c->ready;
	send_task(p, "sleep", "1000", &r[0], NULL);	/* killed, retried */
	send_task(p, "sleep", "1500", &r[1], NULL);	/* keeps the other busy */
	assert_true(h_run_until(c, started_once, "1500", H_WAIT_MS));
	first = started("1000", 0);
	other = started("1500", 0);
	assert_non_null(first);
	assert_int_not_equal(first->slot, other->slot);
	assert_int_equal(kill(first->pid, SIGKILL), 0);
	assert_true(h_run_until(c, started_twice, "1000", H_WAIT_MS));
	again = started("1000", 1);
	/* The replacement was up before, yet the task waited for the other. */
	assert_true(again->ready > ready_before);
	assert_int_equal(again->slot, other->slot);
	assert_int_equal(again->pid, other->pid);
	wait_done(c, 2);
	assert_true(r[0].ok);
	assert_string_equal(r[0].data, "slept 1000");
	assert_int_equal(r[0].calls, 1);
	assert_true(r[1].ok);
	ctx_free(c, NULL);
}

/* With one worker, the retried task goes to its replacement. */
static void
test_retry_alone(void **state)
{
	struct h_ctx		*c = ctx_new(NULL, 0);
	struct pool_spec	 s;
	struct pool		*p;
	struct res		 r[1];
	pid_t			 pid;

	(void)state;
	memset(r, 0, sizeof r);
	spec_worker(&s, "alone", 1);
	s.retry = 1;
	p = add(c, &s);
	assert_true(h_run_until(c, all_ready, p, H_WAIT_MS));
	pid = h_slot_pid(p, 0);
	send_task(p, "sleep", "300", &r[0], NULL);
	assert_true(h_run_until(c, started_once, "300", H_WAIT_MS));
	assert_int_equal(kill(pid, SIGKILL), 0);
	wait_done(c, 1);
	assert_true(r[0].ok);
	assert_string_equal(r[0].data, "slept 300");
	assert_int_not_equal(started("300", 1)->pid, pid);
	ctx_free(c, NULL);
}

/*
 * SIGTERM to a sleeping worker: it is continued (a stopped process acts
 * on no signal but SIGKILL), so it dies now, and no task is given to it
 * meanwhile: the task sent right after runs on its replacement.
 */
static void
test_signal_sleeping_terminates(void **state)
{
	struct h_ctx		*c = ctx_new(NULL, 0);
	struct pool_spec	 s;
	struct pool		*p;
	struct res		 r[1];
	struct pool_worker_info	 w[1];
	pid_t			 pid;

	(void)state;
	memset(r, 0, sizeof r);
	spec_worker(&s, "sig", 1);
	p = add(c, &s);
	assert_true(h_run_until(c, all_ready, p, H_WAIT_MS));
	pid = h_slot_pid(p, 0);
	assert_int_equal(pool_worker_sleep(p, 0), 0);
	assert_true(h_run_until(c, proc_stopped, &pid, H_WAIT_MS));
	assert_int_equal(pool_worker_signal(p, 0, SIGTERM), 0);
	/* Taken out of dispatch at once. */
	assert_int_equal(slot_state(p, 0), WORKER_STOPPING);
	send_task(p, "echo", "after", &r[0], NULL);
	wait_done(c, 1);
	assert_true(r[0].ok);
	assert_string_equal(r[0].data, "after");
	assert_int_not_equal(X.seen[X.nseen - 1].pid, pid);
	assert_int_equal(c->exited, 1);
	assert_int_equal(pool_snapshot(p, w, 1), 1);
	assert_int_equal(w[0].last_signal, SIGTERM);
	assert_int_equal(h_proc_state(pid), 0);
	ctx_free(c, NULL);
}

/*
 * A signal the worker does not die of (SIGWINCH: ignored by default)
 * continues a sleeping worker too; it stays, awake, and serves.
 */
static void
test_signal_sleeping_harmless(void **state)
{
	struct h_ctx		*c = ctx_new(NULL, 0);
	struct pool_spec	 s;
	struct pool		*p;
	struct res		 r[1];
	pid_t			 pid;

	(void)state;
	memset(r, 0, sizeof r);
	spec_worker(&s, "winch", 1);
	p = add(c, &s);
	assert_true(h_run_until(c, all_ready, p, H_WAIT_MS));
	pid = h_slot_pid(p, 0);
	assert_int_equal(pool_worker_sleep(p, 0), 0);
	assert_true(h_run_until(c, proc_stopped, &pid, H_WAIT_MS));
	assert_int_equal(pool_worker_signal(p, 0, SIGWINCH), 0);
	assert_int_equal(slot_state(p, 0), WORKER_IDLE);
	assert_int_equal(states_with("awake: continued so that it acts on "
	    "signal 28 (Window changed)"), 1);
	h_run_for(c, 100);
	assert_int_not_equal(h_proc_state(pid), 'T');
	send_task(p, "echo", "still", &r[0], NULL);
	wait_done(c, 1);
	assert_string_equal(r[0].data, "still");
	assert_int_equal(h_slot_pid(p, 0), pid);
	assert_int_equal(c->exited, 0);
	assert_int_equal(states_with("from outside"), 0);
	ctx_free(c, NULL);
}

/*
 * A sleeping service restarted: the engine's own SIGCONT (so that it
 * acts on its stop signal) is said as such, never as "from outside".
 * SIGWINCH as stop_signal keeps it alive after the continue, until the
 * SIGKILL at stop_timeout, so the continue is surely reported.
 */
static void
test_own_sigcont(void **state)
{
	struct h_ctx		*c = ctx_new(NULL, 0);
	struct pool_spec	 s;
	struct pool		*p;
	struct renewal		 rn;

	(void)state;
	pool_spec_init(&s);
	s.name = "svc";
	s.argv = argv_service;
	s.mode = POOL_MODE_SERVICE;
	s.stop_signal = SIGWINCH;
	s.stop_timeout_ms = 500;
	p = add(c, &s);
	assert_true(h_run_until(c, all_ready, p, H_WAIT_MS));
	rn.p = p;
	rn.slot = 0;
	rn.old = h_slot_pid(p, 0);
	assert_int_equal(pool_worker_sleep(p, 0), 0);
	assert_true(h_run_until(c, proc_stopped, &rn.old, H_WAIT_MS));
	assert_int_equal(pool_worker_restart(p, 0), 0);
	assert_true(h_run_until(c, renewed, &rn, H_WAIT_MS));
	assert_int_equal(states_with("awake: continued so that it acts on its "
	    "stop signal"), 1);
	assert_int_equal(states_with("from outside"), 0);
	assert_true(h_noticed(c, "did not exit within 500 ms of signal 28"));
	ctx_free(c, NULL);
}

/* A worker with a task in flight never sleeps, however long the task. */
static void
test_busy_never_sleeps(void **state)
{
	struct h_ctx		*c = ctx_new(NULL, 0);
	struct pool_spec	 s;
	struct pool		*p;
	struct res		 r[1];
	unsigned		 reads = 0;
	pid_t			 pid;

	(void)state;
	memset(r, 0, sizeof r);
	spec_worker(&s, "busy", 1);
	s.idle_sleep_ms = 200;
	p = add(c, &s);
	assert_true(h_run_until(c, all_ready, p, H_WAIT_MS));
	pid = h_slot_pid(p, 0);
	send_task(p, "sleep", "1000", &r[0], NULL);
	while (X.done == 0) {
		h_run_for(c, 10);
		assert_int_not_equal(h_proc_state(pid), 'T');
		if (X.done == 0)
			assert_int_equal(slot_state(p, 0), WORKER_BUSY);
		reads++;
	}
	assert_string_equal(r[0].data, "slept 1000");
	assert_true(reads >= 20);
	assert_int_equal(X.state_sleeping, 0);
	/* Idle now: it does sleep, 200 ms on. */
	assert_true(h_run_until(c, proc_stopped, &pid, H_WAIT_MS));
	assert_int_equal(X.state_sleeping, 1);
	ctx_free(c, NULL);
}

/*
 * engine_fds_per_worker() is what a worker costs in descriptors, with
 * the sampler's kept-open files (and with tree = yes).
 */
static void
test_fds_per_worker(void **state)
{
	struct sampler		*sm = NULL;
	struct h_ctx		*c = ctx_new(&sm, 100);
	struct pool_spec	 s;
	struct pool		*p, *q;
	int			 before, after, fd, each;

	(void)state;
	assert_int_equal(engine_fds_per_worker(), 7);
	/* Without pidfds (valgrind: ENOSYS) a worker takes one less. */
	each = (int)engine_fds_per_worker();
	if ((fd = (int)syscall(SYS_pidfd_open, getpid(), 0)) >= 0)
		close(fd);
	else
		each--;
	spec_worker(&s, "fds", 1);
	p = add(c, &s);
	assert_true(h_run_until(c, all_ready, p, H_WAIT_MS));
	spec_worker(&s, "tree", 1);
	s.tree = true;
	q = add(c, &s);
	assert_true(h_run_until(c, all_ready, q, H_WAIT_MS));
	sampler_sample(sm);
	before = h_fds();
	assert_int_equal(pool_scale(p, 4), 0);
	assert_int_equal(pool_scale(q, 3), 0);
	assert_true(h_run_until(c, all_ready, p, H_WAIT_MS));
	assert_true(h_run_until(c, all_ready, q, H_WAIT_MS));
	sampler_sample(sm);
	h_run_for(c, 250);	/* ticks of the sampler */
	after = h_fds();
	assert_int_equal(sampler_count(sm), 7);
	assert_int_equal(after - before, 5 * each);
	ctx_free(c, sm);
}

static bool
pool_has_new_pid(struct h_ctx *c, void *arg)
{
	return renewed(c, arg);
}

/*
 * memory_limit restarts through the normal path: always (even with
 * restart = never), not counted as a crash (max_restarts = 1 would
 * fail the pool at the first crash).
 */
static void
test_memory_restart(void **state)
{
	struct sampler		*sm = NULL;
	struct h_ctx		*c = ctx_new(&sm, 100);
	struct pool_spec	 s;
	struct pool		*p;
	struct pool_info	 info;
	struct res		 r[2];
	struct renewal		 rn;

	(void)state;
	memset(r, 0, sizeof r);
	spec_worker(&s, "mem", 1);
	s.memory_limit = 50u << 20;
	s.restart = POOL_RESTART_NEVER;
	s.max_restarts = 1;
	p = add(c, &s);
	assert_true(h_run_until(c, all_ready, p, H_WAIT_MS));
	rn.p = p;
	rn.slot = 0;
	rn.old = h_slot_pid(p, 0);
	send_task(p, "alloc", "80", &r[0], NULL);
	wait_done(c, 1);
	assert_string_equal(r[0].data, "holding 80 MB");
	assert_true(h_run_until(c, h_noticed_cb, "over limit 50 MB; "
	    "restarting", H_WAIT_MS));
	assert_memory_equal(c->notice[(c->notices - 1) % H_NOTICES],
	    "mem/0: memory ", 14);
	assert_true(h_run_until(c, pool_has_new_pid, &rn, H_WAIT_MS));
	pool_get_info(p, &info);
	assert_false(info.failed);
	assert_int_equal(c->failed, 0);
	send_task(p, "echo", "fresh", &r[1], NULL);
	wait_done(c, 2);
	assert_string_equal(r[1].data, "fresh");
	ctx_free(c, sm);
}

/* The workers range is 1 to 4096, in pool_scale() as in the spec. */
static void
test_workers_range(void **state)
{
	struct h_ctx		*c = ctx_new(NULL, 0);
	struct pool_spec	 s;
	struct pool		*p = NULL;

	(void)state;
	spec_worker(&s, "big", POOL_WORKERS_MAX + 1);
	s.min_workers = 1;
	assert_int_equal(engine_add_pool(c->e, &s, &p), -EINVAL);
	assert_null(p);
	assert_string_equal(engine_error(c->e), "pool big: workers = 4097 "
	    "(expected 1 to 4096)");
	spec_worker(&s, "range", 1);
	p = add(c, &s);
	assert_int_equal(pool_scale(p, 0), -EINVAL);
	assert_int_equal(pool_scale(p, POOL_WORKERS_MAX + 1), -EINVAL);
	assert_int_equal(pool_get_spec(p)->workers, 1);
	ctx_free(c, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hung_worker),
		cmocka_unit_test(test_late_reply_in_grace),
		cmocka_unit_test(test_broadcast_queue_cap),
		cmocka_unit_test(test_pins_forgotten_notice),
		cmocka_unit_test(test_retry_elsewhere),
		cmocka_unit_test(test_retry_alone),
		cmocka_unit_test(test_signal_sleeping_terminates),
		cmocka_unit_test(test_signal_sleeping_harmless),
		cmocka_unit_test(test_own_sigcont),
		cmocka_unit_test(test_busy_never_sleeps),
		cmocka_unit_test(test_fds_per_worker),
		cmocka_unit_test(test_memory_restart),
		cmocka_unit_test(test_workers_range),
	};

	h_build_path(worker_path, sizeof worker_path,
	    "examples/workers/pooltop-example-worker");
	h_build_path(service_path, sizeof service_path,
	    "examples/workers/pooltop-example-service");
	return cmocka_run_group_tests_name("pool-rules", tests, NULL, NULL);
}
