/*
 * faults: rate-limit windows and injected faults.
 *
 * The rate limiter is a fixed window per organization and bucket, like
 * @nestjs/throttler's: the first request opens a window of the bucket's
 * length, later ones count against its limit until it ends. The generator
 * is splitmix64, so a seed gives the same sequence on every machine.
 */
#include "common/base.h"

#include <inttypes.h>

#include "common/timeutil.h"
#include "common/xalloc.h"
#include "emulator/faults.h"
#include "emulator/htab.h"
#include "emulator/http.h"

static const char *const bucket_names[RL__COUNT] = {
	"create",
	"lifecycle",
	"other",
};
static const char *const bucket_headers[RL__COUNT] = {
	"sandbox-create",
	"sandbox-lifecycle",
	"authenticated",
};

struct windows {
	int64_t start[RL__COUNT]; /* monotonic ms */
	int count[RL__COUNT];
};

void
faults_init(struct faults *f, const struct server_opts *opts)
{
	f->opts = opts;
	f->rng = opts->seed;
	f->windows = htab_new();
}

void
faults_free(struct faults *f)
{
	htab_free_values(f->windows, free);
	f->windows = NULL;
}

void
faults_reset(struct faults *f)
{
	htab_free_values(f->windows, free);
	f->windows = htab_new();
}

static uint64_t
rng_next(struct faults *f)
{
	uint64_t z = (f->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* uniform in [0, 1) */
static double
rng_unit(struct faults *f)
{
	return (double)(rng_next(f) >> 11) / 9007199254740992.0;
}

int
faults_draw(struct faults *f)
{
	static const int codes[] = { 500, 502, 503 };

	if (f->opts->drop_rate > 0 && rng_unit(f) < f->opts->drop_rate)
		return FAULT_DROP;
	if (f->opts->fail_rate > 0 && rng_unit(f) < f->opts->fail_rate)
		return codes[rng_next(f) % 3];
	return 0;
}

bool
faults_draw_error(struct faults *f)
{
	return f->opts->error_rate > 0 && rng_unit(f) < f->opts->error_rate;
}

bool
faults_draw_throttle(struct faults *f, int bucket, struct resp *r)
{
	char *h;

	if (f->opts->throttle_rate <= 0 || bucket < 0 ||
	    rng_unit(f) >= f->opts->throttle_rate)
		return false;
	h = xasprintf("Retry-After-%s", bucket_headers[bucket]);
	http_header(r, h, "1");
	free(h);
	return true;
}

static void
add_header(struct resp *r, const char *what, int bucket, const char *value)
{
	char *h = xasprintf("%s-%s", what, bucket_headers[bucket]);

	http_header(r, h, value);
	free(h);
}

bool
faults_rate_limit(struct faults *f, const char *org_id, int bucket,
                  struct resp *r)
{
	const struct rate_limit *rl;
	struct windows *w;
	int64_t now = time_mono_ms(), reset_ms;
	char v[32];
	bool over;

	if (bucket < 0 || f->opts->rl[bucket].limit <= 0)
		return false;
	rl = &f->opts->rl[bucket];
	w = htab_get(f->windows, org_id);
	if (!w) {
		w = xcalloc(1, sizeof(*w));
		htab_put(f->windows, org_id, w);
	}
	if (w->count[bucket] == 0 || now - w->start[bucket] >= rl->window_ms) {
		w->start[bucket] = now;
		w->count[bucket] = 0;
	}
	over = w->count[bucket] >= rl->limit;
	if (!over)
		w->count[bucket]++;
	reset_ms = w->start[bucket] + rl->window_ms - now;
	snprintf(v, sizeof(v), "%d", rl->limit);
	add_header(r, "X-RateLimit-Limit", bucket, v);
	snprintf(v, sizeof(v), "%d", rl->limit - w->count[bucket]);
	add_header(r, "X-RateLimit-Remaining", bucket, v);
	snprintf(v, sizeof(v), "%" PRId64, (reset_ms + 999) / 1000);
	add_header(r, "X-RateLimit-Reset", bucket, v);
	if (over)
		add_header(r, "Retry-After", bucket, v);
	return over;
}

const char *
faults_bucket_name(int bucket)
{
	return bucket >= 0 && bucket < RL__COUNT ? bucket_names[bucket] : NULL;
}

const char *
faults_bucket_header(int bucket)
{
	return bucket >= 0 && bucket < RL__COUNT ? bucket_headers[bucket]
	                                         : NULL;
}

int
faults_bucket_parse(const char *s, size_t len)
{
	for (int i = 0; i < RL__COUNT; i++)
		if (strlen(bucket_names[i]) == len &&
		    strncmp(s, bucket_names[i], len) == 0)
			return i;
	return -1;
}
