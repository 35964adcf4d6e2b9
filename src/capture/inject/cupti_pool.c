/*
 * cupti_pool.c - bounded pool of activity buffers (see cupti_pool.h).
 *
 * Buffers are anonymous mappings rather than heap blocks: a failure to get
 * one must not abort the target (xalloc would), and the pages of a buffer
 * are only resident once CUPTI wrote them.
 */
#include "capture/inject/cupti_pool.h"

#include <sys/mman.h>
#include <unistd.h>

void cupti_pool_init(struct cupti_pool *p, size_t size, unsigned max)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t pg = page > 0 ? (size_t)page : 4096;

	pthread_mutex_init(&p->lock, NULL);
	p->size = (size + pg - 1) / pg * pg;
	p->max = max < CUPTI_POOL_MAX ? max : CUPTI_POOL_MAX;
	p->mapped = 0;
	p->nfree = 0;
}

uint8_t *cupti_pool_get(struct cupti_pool *p)
{
	uint8_t *buf = NULL;

	pthread_mutex_lock(&p->lock);
	if (p->nfree > 0) {
		buf = p->free[--p->nfree];
		pthread_mutex_unlock(&p->lock);
		return buf;
	}
	if (p->mapped >= p->max) {
		pthread_mutex_unlock(&p->lock);
		return NULL;
	}
	p->mapped++; /* reserved: mapped outside the lock */
	pthread_mutex_unlock(&p->lock);

	void *m = mmap(NULL, p->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m != MAP_FAILED)
		return m;
	pthread_mutex_lock(&p->lock);
	p->mapped--;
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

void cupti_pool_put(struct cupti_pool *p, uint8_t *buf)
{
	if (!buf)
		return;
	pthread_mutex_lock(&p->lock);
	/* Only buffers lent by get() come back, so nfree < mapped <= max here. */
	if (p->nfree < CUPTI_POOL_MAX)
		p->free[p->nfree++] = buf;
	pthread_mutex_unlock(&p->lock);
}

void cupti_pool_release(struct cupti_pool *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->nfree > 0) {
		munmap(p->free[--p->nfree], p->size);
		p->mapped--;
	}
	pthread_mutex_unlock(&p->lock);
}
