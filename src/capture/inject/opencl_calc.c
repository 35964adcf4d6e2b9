/*
 * opencl_calc.c - launch configurations, rectangle sizes and clock offsets
 * for the OpenCL backend (opencl_calc.h): pure functions, no state.
 */
#include "capture/inject/opencl_calc.h"

#include <string.h>

/* A size_t cut to 32 bits. */
static uint32_t ocl_calc_u32(size_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Fills an NDRange launch configuration (opencl_calc.h). */
void ocl_calc_ndrange(unsigned dim, const size_t *global, const size_t *local, struct trace_launch *l)
{
	memset(l, 0, sizeof(*l));
	if (dim < 1 || dim > 3 || !global)
		return;
	bool known = local != NULL;
	for (unsigned i = 0; known && i < dim; i++)
		known = local[i] != 0;
	for (unsigned i = 0; i < 3; i++) {
		if (i >= dim) {
			l->grid[i] = 1;
			l->block[i] = known ? 1 : 0;
		} else if (known) {
			size_t groups = global[i] / local[i] + (global[i] % local[i] != 0);
			l->grid[i] = ocl_calc_u32(groups);
			l->block[i] = ocl_calc_u32(local[i]);
		} else {
			l->grid[i] = ocl_calc_u32(global[i]);
		}
	}
}

/* Fills a task's launch configuration (opencl_calc.h). */
void ocl_calc_task(struct trace_launch *l)
{
	memset(l, 0, sizeof(*l));
	for (unsigned i = 0; i < 3; i++)
		l->grid[i] = l->block[i] = 1;
}

/* Bytes of a rectangular region, saturating (opencl_calc.h). */
uint64_t ocl_calc_rect_bytes(const size_t *region)
{
	if (!region)
		return 0;
	uint64_t n = 1;
	for (unsigned i = 0; i < 3; i++) {
		if (__builtin_mul_overflow(n, (uint64_t)region[i], &n))
			return UINT64_MAX;
	}
	return n;
}

/* The offset interval [t0 - dev, t1 - dev], or false when it does not fit
 * in int64. */
static bool ocl_offset_interval(int64_t t0, int64_t t1, uint64_t dev, int64_t *lo, int64_t *hi)
{
	if (t1 < t0 || dev > (uint64_t)INT64_MAX)
		return false;
	return !__builtin_sub_overflow(t0, (int64_t)dev, lo) && !__builtin_sub_overflow(t1, (int64_t)dev, hi);
}

/* Replaces the offset with one bracketed reading (opencl_calc.h). */
bool ocl_offset_set(struct ocl_offset *o, int64_t t0, int64_t t1, uint64_t dev)
{
	int64_t lo, hi;
	if (!ocl_offset_interval(t0, t1, dev, &lo, &hi))
		return false;
	o->valid = true;
	o->lo = lo;
	o->hi = hi;
	return true;
}

/* Intersects the offset with one observation, following the drift when
 * they do not meet (opencl_calc.h). */
bool ocl_offset_observe(struct ocl_offset *o, int64_t t0, int64_t t1, uint64_t dev)
{
	int64_t lo, hi;
	if (!ocl_offset_interval(t0, t1, dev, &lo, &hi))
		return false;
	if (o->valid && lo <= o->hi && hi >= o->lo) {
		if (lo > o->lo)
			o->lo = lo;
		if (hi < o->hi)
			o->hi = hi;
		return true;
	}
	if (!o->valid) {
		o->valid = true;
		o->lo = lo;
		o->hi = hi;
		return true;
	}
	/* The clocks drifted: keep the part of the observation nearest the
	 * old interval, no wider than it was. */
	uint64_t width = (uint64_t)o->hi - (uint64_t)o->lo;
	o->shifts++;
	if (lo > o->hi) {
		o->lo = lo;
		o->hi = (uint64_t)hi - (uint64_t)lo > width ? (int64_t)((uint64_t)lo + width) : hi;
	} else {
		o->hi = hi;
		o->lo = (uint64_t)hi - (uint64_t)lo > width ? (int64_t)((uint64_t)hi - width) : lo;
	}
	return true;
}

/* Device time to session time with the interval's middle (opencl_calc.h). */
int64_t ocl_offset_apply(const struct ocl_offset *o, uint64_t dev)
{
	int64_t off = 0;
	if (o->valid)
		off = o->lo + (int64_t)(((uint64_t)o->hi - (uint64_t)o->lo) / 2);
	if (dev > (uint64_t)INT64_MAX)
		dev = (uint64_t)INT64_MAX;
	int64_t t;
	if (__builtin_add_overflow((int64_t)dev, off, &t))
		return off > 0 ? INT64_MAX : 0;
	return t < 0 ? 0 : t;
}

/* Half the interval's width (opencl_calc.h). */
int64_t ocl_offset_error(const struct ocl_offset *o)
{
	if (!o->valid)
		return INT64_MAX;
	return (int64_t)(((uint64_t)o->hi - (uint64_t)o->lo + 1) / 2);
}
