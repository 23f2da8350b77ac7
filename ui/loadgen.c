/*
 * The demo's load generator: sends tasks to every worker pool at a rate
 * and a cost that vary over time, so the CPU sparklines, the queue and the
 * task log have something to show.
 *
 * The rate follows a slow smooth wave (period LG_PERIOD_MS) with bursts on
 * top every 15 to 35 s; the mix is mostly CPU burns of 5 to 80 ms (longer
 * near the crest), echoes of random bytes, sleeps and an occasional
 * failure (tasks of the example workers: pooltop-example-worker's
 * burn, echo, sleep and fail).  Each pool gets only the tasks its workers
 * announced in their handshake (the Python worker has no burn), and
 * nothing before a worker has handshaken, so a run of the demo shows no
 * "not served" errors; only a pool with no worker started at all (all
 * lazy) gets one task to start one.  It never lets its own backlog grow
 * without bound: each pool gets at most a few tasks per slot
 * outstanding, and a full queue makes it skip that pool for the tick.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define LG_TICK_MS	50
#define LG_PERIOD_MS	60000	/* the wave, crest to crest */
#define LG_MAX_POOLS	32
#define LG_BASE_RATE	4.0	/* tasks per second per pool at the trough */
#define LG_PEAK_RATE	14.0	/* ... added at the crest */
#define LG_BURST_RATE	30.0	/* ... added during a burst */

struct loadgen;
struct lg_pool;

/* The mix: what is sent, and how often (per mille). */
enum lg_kind { LG_BURN, LG_ECHO, LG_SLEEP, LG_FAIL, LG_NKINDS };
static const char *const lg_task_names[LG_NKINDS] = {
	"burn", "echo", "sleep", "fail"
};
static const unsigned lg_kind_share[LG_NKINDS] = { 550, 250, 160, 40 };

/* A task's callback argument: its pool and its kind. */
struct lg_task {
	struct lg_pool	*p;
	enum lg_kind	 kind;
};

struct lg_pool {
	struct loadgen	*lg;
	struct pool	*pool;
	struct lg_task	 kinds[LG_NKINDS];
	bool		 unserved[LG_NKINDS];	/* the workers did not announce it */
	unsigned	 outstanding;
	unsigned	 cap;		/* most tasks outstanding at once */
	double		 credit;	/* fractional tasks owed */
};

struct loadgen {
	uv_loop_t	*loop;
	struct engine	*engine;
	uv_timer_t	 timer;
	struct lg_pool	 pools[LG_MAX_POOLS];
	size_t		 npools;
	uint64_t	 start_ms;
	uint64_t	 burst_start_ms;
	uint64_t	 burst_end_ms;
	uint64_t	 rng;
	unsigned	 outstanding;
	bool		 stopped;
	bool		 freeing;
	bool		 closed;
};

static void	lg_timer_cb(uv_timer_t *);
static void	lg_close_cb(uv_handle_t *);
static void	lg_task_cb(bool, const void *, size_t, void *);

/* xorshift64*: a fixed seed, so each demo run has the same shape. */
static uint64_t
lg_rand(struct loadgen *lg)
{
	lg->rng ^= lg->rng >> 12;
	lg->rng ^= lg->rng << 25;
	lg->rng ^= lg->rng >> 27;
	return lg->rng * UINT64_C(2685821657736338717);
}

/* Uniform in [0, 1). */
static double
lg_uniform(struct loadgen *lg)
{
	return (double)(lg_rand(lg) >> 11) / 9007199254740992.0;
}

static void
lg_maybe_free(struct loadgen *lg)
{
	if (lg->freeing && lg->closed && lg->outstanding == 0)
		free(lg);
}

static void
lg_task_cb(bool ok, const void *data, size_t len, void *arg)
{
	struct lg_task	*t = arg;
	struct lg_pool	*p = t->p;
	struct loadgen	*lg = p->lg;

	p->outstanding--;
	lg->outstanding--;
	lg_maybe_free(lg);
}

/* Picks a kind of task by its share of the mix, among those p serves. */
static int
lg_pick_kind(struct loadgen *lg, struct lg_pool *p)
{
	unsigned	total = 0, r;
	int		k;

	for (k = 0; k < LG_NKINDS; k++)
		if (!p->unserved[k])
			total += lg_kind_share[k];
	if (total == 0)
		return -1;
	r = (unsigned)(lg_rand(lg) % total);
	for (k = 0; k < LG_NKINDS; k++) {
		if (p->unserved[k])
			continue;
		if (r < lg_kind_share[k])
			return k;
		r -= lg_kind_share[k];
	}
	return -1;
}

/* Sends one task of the mix to p; false when the pool takes no more now. */
static bool
lg_send_one(struct loadgen *lg, struct lg_pool *p, double wave)
{
	char		 payload[512];
	size_t		 len = 0;
	double		 x;
	int		 k, rc;

	k = lg_pick_kind(lg, p);
	if (k < 0)
		return false;
	switch (k) {
	case LG_BURN:
		/* 5 to 80 ms of CPU, skewed short, longer near the crest. */
		x = lg_uniform(lg);
		len = (size_t)snprintf(payload, sizeof payload, "%d",
		    5 + (int)(75 * x * x * (0.4 + 0.6 * wave)));
		break;
	case LG_ECHO:
		len = 16 + (size_t)(lg_uniform(lg) * 200);
		for (size_t i = 0; i < len; i++)
			payload[i] = (char)('a' + lg_rand(lg) % 26);
		break;
	case LG_SLEEP:
		len = (size_t)snprintf(payload, sizeof payload, "%d",
		    20 + (int)(lg_uniform(lg) * 280));
		break;
	case LG_FAIL:
		len = (size_t)snprintf(payload, sizeof payload, "demo: an "
		    "occasional failure (order %u declined)",
		    (unsigned)(lg_rand(lg) % 100000));
		break;
	}
	rc = pool_send(p->pool, lg_task_names[k], payload, len, NULL,
	    lg_task_cb, &p->kinds[k]);
	if (rc == -ESHUTDOWN) {
		loadgen_stop(lg);
		return false;
	}
	if (rc != 0)
		return false;	/* queue full or similar: skip this tick */
	p->outstanding++;
	lg->outstanding++;
	return true;
}

/*
 * What p's workers serve, from their handshake; false while no worker
 * has handshaken (nothing is known yet).
 */
static bool
lg_served(struct lg_pool *p)
{
	int	k, r;

	for (k = 0; k < LG_NKINDS; k++) {
		r = pool_task_served(p->pool, lg_task_names[k]);
		if (r < 0)
			return false;
		p->unserved[k] = r == 0;
	}
	return true;
}

/*
 * A smooth wave between 0 and 1, period LG_PERIOD_MS, 1 at el = 0: a
 * smoothstep over a triangle, close to a raised cosine (within 0.02) and
 * without libm, whose pages would be pooltop's only reason to map it.
 */
static double
lg_wave(uint64_t el)
{
	double	t, tri;

	t = (double)(el % LG_PERIOD_MS) / LG_PERIOD_MS;
	tri = t < 0.5 ? 1 - 2 * t : 2 * t - 1;
	return tri * tri * (3 - 2 * tri);
}

static void
lg_timer_cb(uv_timer_t *t)
{
	struct loadgen		*lg = t->data;
	struct pool_info	 info;
	uint64_t		 now = uv_now(lg->loop), el = now - lg->start_ms;
	double			 wave, rate;
	size_t			 i;
	bool			 served;

	if (lg->stopped)
		return;
	/* A burst every 15 to 35 s, lasting 2 to 5 s. */
	if (now >= lg->burst_end_ms && now >= lg->burst_start_ms) {
		lg->burst_start_ms = now + 15000 +
		    (uint64_t)(lg_uniform(lg) * 20000);
		lg->burst_end_ms = lg->burst_start_ms + 2000 +
		    (uint64_t)(lg_uniform(lg) * 3000);
	}
	wave = lg_wave(el);
	rate = LG_BASE_RATE + LG_PEAK_RATE * wave;
	if (now >= lg->burst_start_ms && now < lg->burst_end_ms)
		rate += LG_BURST_RATE;

	for (i = 0; i < lg->npools && !lg->stopped; i++) {
		struct lg_pool *p = &lg->pools[i];

		pool_get_info(p->pool, &info);
		if (info.stopping) {
			loadgen_stop(lg);
			break;
		}
		p->credit += rate * LG_TICK_MS / 1000.0;
		if (p->credit > 50)
			p->credit = 50;
		/* Room for a few tasks per slot: the queue moves, and stays bounded. */
		p->cap = info.workers * 4 + 8;
		if (info.queue_cap > 0 && p->cap > info.queue_cap)
			p->cap = (unsigned)info.queue_cap;
		/*
		 * Until a worker said what it serves, wait (it is starting);
		 * a pool with none started (all lazy) gets one task to
		 * start one.
		 */
		served = lg_served(p);
		if (!served && (info.live > 0 || p->outstanding > 0))
			continue;
		while (p->credit >= 1 && p->outstanding < p->cap) {
			if (!lg_send_one(lg, p, wave))
				break;
			p->credit -= 1;
			if (!served)
				break;
		}
	}
}

int
loadgen_new(struct loadgen **out, uv_loop_t *loop, struct engine *engine)
{
	struct loadgen	*lg;
	struct pool	*pools[LG_MAX_POOLS];
	size_t		 n, i;
	int		 rc;

	*out = NULL;
	lg = calloc(1, sizeof *lg);
	if (lg == NULL)
		return -ENOMEM;
	lg->loop = loop;
	lg->engine = engine;
	lg->rng = UINT64_C(0x9e3779b97f4a7c15);
	n = engine_pools(engine, pools, LG_MAX_POOLS);
	for (i = 0; i < n && i < LG_MAX_POOLS; i++) {
		/* Services speak no protocol: nothing to send them. */
		if (pool_get_spec(pools[i])->mode == POOL_MODE_SERVICE)
			continue;
		struct lg_pool *p = &lg->pools[lg->npools++];

		p->lg = lg;
		p->pool = pools[i];
		for (int k = 0; k < LG_NKINDS; k++) {
			p->kinds[k].p = p;
			p->kinds[k].kind = (enum lg_kind)k;
		}
	}
	rc = uv_timer_init(loop, &lg->timer);
	if (rc != 0) {
		free(lg);
		return rc;
	}
	lg->timer.data = lg;
	lg->start_ms = uv_now(loop);
	lg->burst_start_ms = lg->start_ms + 8000;
	lg->burst_end_ms = lg->burst_start_ms + 3000;
	rc = uv_timer_start(&lg->timer, lg_timer_cb, LG_TICK_MS, LG_TICK_MS);
	if (rc != 0) {
		lg->freeing = true;
		uv_close((uv_handle_t *)&lg->timer, lg_close_cb);
		return rc;
	}
	/* The demo's traffic alone never keeps pooltop running. */
	uv_unref((uv_handle_t *)&lg->timer);
	*out = lg;
	return 0;
}

void
loadgen_stop(struct loadgen *lg)
{
	if (lg == NULL || lg->stopped)
		return;
	lg->stopped = true;
	uv_timer_stop(&lg->timer);
}

static void
lg_close_cb(uv_handle_t *h)
{
	struct loadgen	*lg = h->data;

	lg->closed = true;
	lg_maybe_free(lg);
}

void
loadgen_free(struct loadgen *lg)
{
	if (lg == NULL || lg->freeing)
		return;
	loadgen_stop(lg);
	lg->freeing = true;
	uv_close((uv_handle_t *)&lg->timer, lg_close_cb);
}

unsigned
loadgen_outstanding(const struct loadgen *lg)
{
	return lg->outstanding;
}
