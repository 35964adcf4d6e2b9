/*
 * opencl_calc.c - launch configurations, rectangle sizes, clock offsets and
 * the placement of commands on the session clock for the OpenCL backend
 * (opencl_calc.h): pure functions over the caller's structures, no locks
 * and no state of their own.
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

/* dev + off, clamped to [0, INT64_MAX] (device times above INT64_MAX
 * count as INT64_MAX). */
static int64_t ocl_offset_add(uint64_t dev, int64_t off)
{
	if (dev > (uint64_t)INT64_MAX)
		dev = (uint64_t)INT64_MAX;
	int64_t t;
	if (__builtin_add_overflow((int64_t)dev, off, &t))
		return off > 0 ? INT64_MAX : 0;
	return t < 0 ? 0 : t;
}

/* The middle of a valid interval. */
static int64_t ocl_offset_mid(const struct ocl_offset *o)
{
	return o->lo + (int64_t)(((uint64_t)o->hi - (uint64_t)o->lo) / 2);
}

/* Device time to session time with the interval's middle (opencl_calc.h). */
int64_t ocl_offset_apply(const struct ocl_offset *o, uint64_t dev)
{
	return ocl_offset_add(dev, o->valid ? ocl_offset_mid(o) : 0);
}

/* Places a command of an in-order queue after the previous one
 * (opencl_calc.h). */
bool ocl_offset_place(const struct ocl_offset *o, struct ocl_order *q, uint64_t start, uint64_t end,
                      int64_t *out_start, int64_t *out_end)
{
	int64_t off = 0;
	if (o->valid) {
		/* clamp(max(middle, last offset), lo, hi); the middle is in it. */
		off = ocl_offset_mid(o);
		if (q->valid && q->off > off)
			off = q->off < o->hi ? q->off : o->hi;
	}
	uint64_t dur = end > start ? end - start : 0;
	int64_t s = ocl_offset_add(start, off);
	bool shifted = q->valid && s < q->end;
	if (shifted) {
		s = q->end;
		q->shifts++;
	}
	int64_t e;
	if (dur > (uint64_t)INT64_MAX || __builtin_add_overflow(s, (int64_t)dur, &e))
		e = INT64_MAX;
	q->valid = true;
	q->off = off;
	q->end = e;
	*out_start = s;
	*out_end = e;
	return shifted;
}

/* Half the interval's width (opencl_calc.h). */
int64_t ocl_offset_error(const struct ocl_offset *o)
{
	if (!o->valid)
		return INT64_MAX;
	return (int64_t)(((uint64_t)o->hi - (uint64_t)o->lo + 1) / 2);
}

/* Appends a command to a chain (opencl_calc.h). */
void ocl_chain_enter(struct ocl_chain *ch, struct ocl_cmd *c)
{
	c->next = NULL;
	c->state = OCL_CMD_WAIT;
	c->linked = true;
	if (ch->tail)
		ch->tail->next = c;
	else
		ch->head = c;
	ch->tail = c;
}

/* Places one command whose waiting is over: with its queue's order, or the
 * middle when order is NULL. */
static void ocl_cmd_place(struct ocl_order *order, struct ocl_offset *o, bool observe, struct ocl_cmd *c)
{
	c->next = NULL;
	c->linked = false;
	if (c->state != OCL_CMD_TIMED)
		return;
	if (observe && c->queued)
		ocl_offset_observe(o, c->host_start, c->host_end, c->queued);
	if (order) {
		ocl_offset_place(o, order, c->start, c->end, &c->out_start, &c->out_end);
	} else {
		c->out_start = ocl_offset_apply(o, c->start);
		c->out_end = ocl_offset_apply(o, c->end);
		if (c->out_end < c->out_start)
			c->out_end = c->out_start;
	}
	c->state = OCL_CMD_PLACED;
}

/* Places what is ready at the head of a chain (opencl_calc.h). */
struct ocl_cmd *ocl_chain_ready(struct ocl_chain *ch, struct ocl_offset *o, bool observe, struct ocl_cmd *c,
                                bool timed)
{
	c->state = timed ? OCL_CMD_TIMED : OCL_CMD_DROPPED;
	if (!ch || !c->linked) {
		ocl_cmd_place(ch ? &ch->order : NULL, o, observe, c);
		return c;
	}
	struct ocl_cmd *list = NULL, **tail = &list;
	while (ch->head && ch->head->state != OCL_CMD_WAIT) {
		struct ocl_cmd *h = ch->head;
		ch->head = h->next;
		if (!ch->head)
			ch->tail = NULL;
		ocl_cmd_place(&ch->order, o, observe, h);
		*tail = h;
		tail = &h->next;
	}
	return list;
}
