/*
 * rnd: the randomized tests' generator (xorshift64), seeded from an
 * environment variable so that a failure can be replayed:
 *
 *	rnd_seed("SF_SCAN_SEED", 88172645463325252ULL);
 *	n = rnd(10);    // 0 to 9
 *
 * One generator per test program (static in each).
 */
#ifndef SF_TESTS_UNIT_RND_H
#define SF_TESTS_UNIT_RND_H

#include <stdint.h>
#include <stdlib.h>

static uint64_t rnd_state;

/* rnd_seed: seed from the variable env (a decimal number), else from
 * fallback; never 0, which xorshift cannot leave. */
static inline void
rnd_seed(const char *env, uint64_t fallback)
{
	const char *seed = getenv(env);

	rnd_state = seed != NULL ? strtoull(seed, NULL, 10) : fallback;
	if (rnd_state == 0)
		rnd_state = 1;
}

/* rnd: a number below n (n > 0). */
static inline unsigned
rnd(unsigned n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (unsigned)(rnd_state % n);
}

#endif
