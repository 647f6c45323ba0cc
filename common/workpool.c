/*
 * workpool: see workpool.h.
 */
#include "common/base.h"

#include <pthread.h>
#include <string.h>

#include "common/workpool.h"

struct workpool {
	void (*job)(void *arg, size_t i);
	void *arg;
	size_t n, next;
	pthread_mutex_t mu;
};

static void *
worker(void *p)
{
	struct workpool *w = p;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&w->mu);
		i = w->next++;
		pthread_mutex_unlock(&w->mu);
		if (i >= w->n)
			return NULL;
		w->job(w->arg, i);
	}
}

void
workpool_run(size_t n, size_t max, void (*job)(void *arg, size_t i), void *arg)
{
	pthread_t th[WORKPOOL_MAX];
	struct workpool w;
	size_t nth = n < max ? n : max, i, started = 0;

	if (nth > WORKPOOL_MAX)
		nth = WORKPOOL_MAX;
	memset(&w, 0, sizeof(w));
	w.job = job;
	w.arg = arg;
	w.n = n;
	pthread_mutex_init(&w.mu, NULL);
	for (i = 1; i < nth; i++) {
		if (pthread_create(&th[started], NULL, worker, &w) != 0)
			break; /* fewer workers: the rest run below */
		started++;
	}
	worker(&w);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&w.mu);
}
