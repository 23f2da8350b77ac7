/*
 * Unit tests for the engine's deadline queue (src/deadline.c): random
 * arm/stop/re-arm sequences checked against a plain reference (every
 * armed deadline in an array, sorted at each firing), the order of equal
 * due times, callbacks that stop, re-arm and free, and the one uv timer
 * on a real loop.
 *
 * The loop is not run in the model tests: its time stays where it was
 * when the loop was made (T0), deadlines are armed at T0 + ms, and the
 * queue is fired by hand at later "now"s, so every figure is exact.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "deadline.h"

#define NOWNERS		64
#define NOPS		30000
#define LOG_MAX		(NOWNERS * 4)

struct owner {
	int		 id;
	struct deadline	 d;
	/* the reference */
	bool		 armed;
	uint64_t	 due;
	uint64_t	 seq;
};

struct fixture {
	uv_loop_t		 loop;
	struct deadline_queue	 q;
	uint64_t		 t0;
	int			 log[LOG_MAX];	/* ids in firing order */
	size_t			 nlog;
	bool			 closed;
};

/* The fixture of the callbacks (one test runs at a time). */
static struct fixture	*fx;

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof *f);

	if (f == NULL || uv_loop_init(&f->loop) != 0)
		return (-1);
	deadline_queue_init(&f->q, &f->loop);
	deadline_queue_open(&f->q);
	f->t0 = uv_now(&f->loop);
	fx = f;
	*state = f;
	return (0);
}

static void
close_cb(uv_handle_t *h)
{
	struct fixture	*f = h->data;

	f->closed = true;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	f->q.timer.data = f;
	deadline_queue_close(&f->q, close_cb);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_true(f->closed);
	/* Every handle closed: the queue leaves nothing on the loop. */
	assert_int_equal(uv_loop_close(&f->loop), 0);
	deadline_queue_free(&f->q);
	free(f);
	fx = NULL;
	return (0);
}

static void
record_cb(struct deadline *d)
{
	struct owner	*o = container_of(d, struct owner, d);

	assert_false(deadline_armed(d));	/* out of the heap first */
	assert_true(fx->nlog < LOG_MAX);
	fx->log[fx->nlog++] = o->id;
}

/* A small deterministic generator (the test must not depend on libc's). */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (*s);
}

static int
ref_cmp(const void *a, const void *b)
{
	const struct owner	*x = *(const struct owner *const *)a;
	const struct owner	*y = *(const struct owner *const *)b;

	if (x->due != y->due)
		return (x->due < y->due ? -1 : 1);
	return (x->seq < y->seq ? -1 : x->seq > y->seq);
}

/* The queue agrees with the reference: who is armed, when, and the timer. */
static void
check_model(struct fixture *f, struct owner *o, size_t n)
{
	size_t		i, armed = 0;
	uint64_t	min = UINT64_MAX;

	for (i = 0; i < n; i++) {
		assert_int_equal(deadline_armed(&o[i].d), o[i].armed);
		if (!o[i].armed)
			continue;
		armed++;
		assert_int_equal(deadline_due(&f->q, &o[i].d), o[i].due);
		if (o[i].due < min)
			min = o[i].due;
	}
	assert_int_equal(deadline_queue_len(&f->q), armed);
	/* The one timer is armed exactly for the earliest, or is off. */
	assert_int_equal(uv_is_active((uv_handle_t *)&f->q.timer), armed != 0);
	if (armed != 0)
		assert_int_equal(uv_timer_get_due_in(&f->q.timer),
		    min - f->t0);
}

static void
run_random(struct fixture *f, uint64_t seed)
{
	struct owner	*o = calloc(NOWNERS, sizeof *o), **ref;
	uint64_t	 s = seed, vt = 0, seq = 0, r, ms;
	size_t		 i, k, nref, fired = 0, stops = 0, rearms = 0, ties = 0;
	int		 op;

	assert_non_null(o);
	ref = calloc(NOWNERS, sizeof *ref);
	assert_non_null(ref);
	for (i = 0; i < NOWNERS; i++)
		o[i].id = (int)i;
	for (op = 0; op < NOPS; op++) {
		r = rnd(&s);
		i = (size_t)(r >> 8) % NOWNERS;
		switch (r % 8) {
		case 0: case 1: case 2: case 3:
			/* Small delays: many equal due times. */
			ms = vt + (r >> 32) % 48;
			if (o[i].armed)
				rearms++;
			deadline_start(&f->q, &o[i].d, ms, record_cb);
			o[i].armed = true;
			o[i].due = f->t0 + ms;
			o[i].seq = seq++;
			break;
		case 4: case 5:
			if (o[i].armed)
				stops++;
			deadline_stop(&f->q, &o[i].d);
			o[i].armed = false;
			break;
		default:
			vt += (r >> 32) % 4;
			nref = 0;
			for (k = 0; k < NOWNERS; k++) {
				if (o[k].armed && o[k].due <= f->t0 + vt)
					ref[nref++] = &o[k];
			}
			qsort(ref, nref, sizeof *ref, ref_cmp);
			f->nlog = 0;
			deadline_queue_run(&f->q, f->t0 + vt);
			assert_int_equal(f->nlog, nref);
			for (k = 0; k < nref; k++) {
				assert_int_equal(f->log[k], ref[k]->id);
				ref[k]->armed = false;
				if (k > 0 && ref[k]->due == ref[k - 1]->due)
					ties++;
			}
			fired += nref;
			break;
		}
		check_model(f, o, NOWNERS);
	}
	/* The sequence did what it is meant to test. */
	assert_true(fired > NOPS / 8);
	assert_true(stops > NOPS / 20);
	assert_true(rearms > NOPS / 20);
	assert_true(ties > NOPS / 100);	/* equal due times in one pass */
	for (i = 0; i < NOWNERS; i++)
		deadline_stop(&f->q, &o[i].d);
	check_model(f, o, 0);
	assert_int_equal(deadline_queue_len(&f->q), 0);
	free(ref);
	free(o);
}

static void
test_random_against_reference(void **state)
{
	struct fixture	*f = *state;

	run_random(f, 0x9e3779b97f4a7c15ULL);
	run_random(f, 12345);
	run_random(f, 0xdeadbeef);
}

/* Equal due times fire in arming order; a re-arm counts as armed last. */
static void
test_equal_due_stable(void **state)
{
	struct fixture	*f = *state;
	struct owner	 o[10];
	static const int order[10] = { 3, 1, 4, 0, 5, 9, 2, 6, 8, 7 };
	static const int want[8] = { 3, 1, 0, 5, 2, 6, 7, 4 };
	int		 i;

	memset(o, 0, sizeof o);
	for (i = 0; i < 10; i++) {
		o[i].id = i;
		assert_false(deadline_armed(&o[i].d));	/* zeroed: idle */
	}
	for (i = 0; i < 10; i++)
		deadline_start(&f->q, &o[order[i]].d, 50, record_cb);
	deadline_start(&f->q, &o[4].d, 50, record_cb);	/* now last */
	deadline_stop(&f->q, &o[9].d);
	deadline_stop(&f->q, &o[8].d);
	deadline_stop(&f->q, &o[8].d);			/* twice: nothing */
	assert_int_equal(deadline_queue_len(&f->q), 8);
	assert_int_equal(uv_timer_get_due_in(&f->q.timer), 50);

	deadline_queue_run(&f->q, f->t0 + 49);
	assert_int_equal(f->nlog, 0);
	deadline_queue_run(&f->q, f->t0 + 50);
	assert_int_equal(f->nlog, 8);
	for (i = 0; i < 8; i++)
		assert_int_equal(f->log[i], want[i]);
	assert_int_equal(deadline_queue_len(&f->q), 0);
	assert_false(uv_is_active((uv_handle_t *)&f->q.timer));
}

/* The owners of test_callback_edits: the first one's callback edits. */
static struct owner	cb_o[6];

static void
edit_cb(struct deadline *d)
{
	record_cb(d);
	/* B was due in this pass: stopped, it does not fire. */
	deadline_stop(&fx->q, &cb_o[1].d);
	/* C was due in this pass: re-armed later, it fires then. */
	deadline_start(&fx->q, &cb_o[2].d, 100, record_cb);
	/* D was idle: due now (loop time T0 <= the pass's now), fires now. */
	deadline_start(&fx->q, &cb_o[3].d, 0, record_cb);
	/* A itself, again, later than C. */
	deadline_start(&fx->q, d, 100, record_cb);
}

/* A callback that stops, re-arms and arms others, and itself. */
static void
test_callback_edits(void **state)
{
	struct fixture	*f = *state;
	static const int want1[4] = { 0, 3, 4, 5 };
	static const int want2[2] = { 2, 0 };
	int		 i;

	memset(cb_o, 0, sizeof cb_o);
	for (i = 0; i < 6; i++)
		cb_o[i].id = i;
	deadline_start(&f->q, &cb_o[0].d, 10, edit_cb);		/* A */
	deadline_start(&f->q, &cb_o[1].d, 10, record_cb);	/* B */
	deadline_start(&f->q, &cb_o[2].d, 10, record_cb);	/* C */
	deadline_start(&f->q, &cb_o[4].d, 10, record_cb);
	deadline_start(&f->q, &cb_o[5].d, 20, record_cb);

	deadline_queue_run(&f->q, f->t0 + 20);
	assert_int_equal(f->nlog, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(f->log[i], want1[i]);
	assert_false(deadline_armed(&cb_o[1].d));
	assert_true(deadline_armed(&cb_o[2].d));
	assert_true(deadline_armed(&cb_o[0].d));
	assert_int_equal(deadline_due(&f->q, &cb_o[2].d), f->t0 + 100);
	/* Re-armed once at the end of the pass, for C. */
	assert_int_equal(uv_timer_get_due_in(&f->q.timer), 100);

	f->nlog = 0;
	deadline_queue_run(&f->q, f->t0 + 100);
	assert_int_equal(f->nlog, 2);
	for (i = 0; i < 2; i++)
		assert_int_equal(f->log[i], want2[i]);
	assert_int_equal(deadline_queue_len(&f->q), 0);
}

/* A heap-allocated owner: its callback frees it, and another owner too. */
struct heap_owner {
	struct deadline		 d;
	struct heap_owner	*victim;	/* we stop and free it */
	int			 id;
};

static void
free_cb(struct deadline *d)
{
	struct heap_owner	*o = container_of(d, struct heap_owner, d);

	assert_true(fx->nlog < LOG_MAX);
	fx->log[fx->nlog++] = o->id;
	if (o->victim != NULL) {
		deadline_stop(&fx->q, &o->victim->d);
		free(o->victim);
	}
	free(o);	/* nothing touches d after this returns */
}

static void
test_callback_frees_owner(void **state)
{
	struct fixture		*f = *state;
	struct heap_owner	*o[40];
	int			 i;

	for (i = 0; i < 40; i++) {
		o[i] = calloc(1, sizeof *o[i]);
		assert_non_null(o[i]);
		o[i]->id = i;
	}
	/* Even ids free the next odd one, due in the same pass, before it. */
	for (i = 0; i < 40; i += 2)
		o[i]->victim = o[i + 1];
	for (i = 0; i < 40; i++)
		deadline_start(&f->q, &o[i]->d, 5, free_cb);
	deadline_queue_run(&f->q, f->t0 + 5);
	assert_int_equal(f->nlog, 20);
	for (i = 0; i < 20; i++)
		assert_int_equal(f->log[i], 2 * i);
	assert_int_equal(deadline_queue_len(&f->q), 0);
}

/* A thousand armed then stopped in a scattered order: grow and shrink. */
static void
test_many(void **state)
{
	struct fixture	*f = *state;
	struct owner	*o = calloc(1000, sizeof *o);
	uint64_t	 s = 7;
	size_t		 i, j;

	assert_non_null(o);
	for (i = 0; i < 1000; i++) {
		o[i].id = (int)i;
		deadline_start(&f->q, &o[i].d, 1000 - i % 500, record_cb);
		o[i].armed = true;
		o[i].due = f->t0 + 1000 - i % 500;
	}
	assert_int_equal(deadline_queue_len(&f->q), 1000);
	assert_true(f->q.cap >= 1000);
	for (i = 0; i < 990; i++) {
		j = (size_t)rnd(&s) % 1000;
		while (!o[j].armed)
			j = (j + 1) % 1000;
		deadline_stop(&f->q, &o[j].d);
		o[j].armed = false;
		if (i % 97 == 0)
			check_model(f, o, 1000);
	}
	check_model(f, o, 1000);
	assert_true(f->q.cap < 1000);	/* shrunk when mostly empty */
	deadline_queue_run(&f->q, f->t0 + 1000);
	assert_int_equal(f->nlog, 10);
	for (i = 1; i < 10; i++)	/* by due time, then arming order */
		assert_true(o[f->log[i - 1]].due < o[f->log[i]].due ||
		    (o[f->log[i - 1]].due == o[f->log[i]].due &&
		    f->log[i - 1] < f->log[i]));
	free(o);
}

/* On a real loop: the one timer fires them in order, then goes idle. */
static uint64_t	loop_seen[3];

static void
loop_cb(struct deadline *d)
{
	struct owner	*o = container_of(d, struct owner, d);

	loop_seen[o->id] = uv_now(&fx->loop);
	record_cb(d);
}

static void
test_real_loop(void **state)
{
	struct fixture	*f = *state;
	struct owner	 o[4];
	uint64_t	 start;
	int		 i;

	memset(o, 0, sizeof o);
	for (i = 0; i < 4; i++)
		o[i].id = i;
	uv_update_time(&f->loop);
	start = uv_now(&f->loop);
	deadline_start(&f->q, &o[0].d, 30, loop_cb);
	deadline_start(&f->q, &o[1].d, 10, loop_cb);
	deadline_start(&f->q, &o[2].d, 20, loop_cb);
	/* Armed far away, then stopped: the loop must not wait for it. */
	deadline_start(&f->q, &o[3].d, 600000, loop_cb);
	deadline_stop(&f->q, &o[3].d);
	/* Only the queue's timer is active, and only while one is armed. */
	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(f->nlog, 3);
	assert_int_equal(f->log[0], 1);
	assert_int_equal(f->log[1], 2);
	assert_int_equal(f->log[2], 0);
	/* Never early (loop time; late is fine on a loaded machine). */
	assert_true(loop_seen[1] >= start + 10);
	assert_true(loop_seen[2] >= start + 20);
	assert_true(loop_seen[0] >= start + 30);
	assert_false(uv_is_active((uv_handle_t *)&f->q.timer));
}

/* Armed when the queue closes: never fires; freeing disarms them. */
static void
test_close_with_armed(void **state)
{
	struct fixture	*f = *state;
	struct owner	 o[3];
	int		 i;

	memset(o, 0, sizeof o);
	for (i = 0; i < 3; i++)
		deadline_start(&f->q, &o[i].d, 0, record_cb);
	f->q.timer.data = f;
	deadline_queue_close(&f->q, close_cb);
	deadline_queue_close(&f->q, close_cb);		/* twice: nothing */
	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	assert_true(f->closed);
	assert_int_equal(f->nlog, 0);
	assert_int_equal(deadline_queue_len(&f->q), 3);
	deadline_queue_free(&f->q);
	for (i = 0; i < 3; i++)
		assert_false(deadline_armed(&o[i].d));
	assert_int_equal(deadline_queue_len(&f->q), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_random_against_reference,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_equal_due_stable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_callback_edits, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_callback_frees_owner,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_loop, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_close_with_armed, setup,
		    teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
