/*
 * lanesum.c - per-track summaries for timeline lanes (see lanesum.h).
 *
 * Layout. `blocks[j]` describes events [j*B, (j+1)*B) (B = LANESUM_BLOCK):
 * the start of its first event, the prefix values before it (union measure
 * `pre_cov`, largest end `pre_max` and the index of the first event reaching
 * it) and the Boyer-Moore majority candidate of its events. The last block
 * may be partial; its candidate grows with it. `level[L]` (L >= 1) holds the
 * merged candidates of 2^L whole blocks each; a node exists once all its
 * blocks are whole, so the pyramid only grows at its end. The running prefix
 * values over every indexed event are kept apart (`cov`, `max_end`,
 * `max_idx`), so that extending never rescans.
 *
 * Invariants (checked by the tests):
 *   1. indexed events are sorted by start;
 *   2. nblocks == ceil(n / B), and level[L] holds floor(whole / 2^L) nodes,
 *      whole = floor(n / B);
 *   3. a candidate (name, weight) of a set of events W satisfies, for every
 *      name x, w(x) <= weight * [x == name] + (W - weight) / 2: the events
 *      can be paired off as equal masses of distinct names, plus `weight`
 *      of `name`. Merges and additions keep it, which is why a name with
 *      more than half of a cell's weight always wins the final argmax.
 */
#include "trace/lanesum.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define LS_B         ((size_t)LANESUM_BLOCK)
#define LS_LEVELS    64
#define LS_NO_EVENT  UINT64_MAX
#define LS_MAX_CANDS (LANESUM_EXACT_EVENTS + 2 * LANESUM_BLOCK + 2 * LS_LEVELS + 2)

_Static_assert((LANESUM_BLOCK & (LANESUM_BLOCK - 1)) == 0, "LANESUM_BLOCK must be a power of two");
_Static_assert(LANESUM_EXACT_EVENTS >= 2 * LANESUM_BLOCK, "exact cells must span the edge blocks");

struct ls_block {
	int64_t first;      /* start of the block's first event */
	int64_t pre_max;    /* largest end of the events before the block, INT64_MIN when none */
	uint64_t pre_cov;   /* union measure of the events before the block */
	uint64_t pre_idx;   /* index of the first event reaching pre_max, LS_NO_EVENT when none */
	uint64_t bm_weight; /* majority candidate of the block's events */
	uint32_t bm_name;
	uint32_t reserved;
};

struct ls_node {
	uint64_t weight;
	uint32_t name;
};

struct lanesum {
	struct ls_block *blocks;
	size_t nblocks, blocks_cap;
	struct ls_node *level[LS_LEVELS]; /* level[0] unused: blocks hold the level-0 candidates */
	size_t level_n[LS_LEVELS], level_cap[LS_LEVELS];
	size_t n; /* events indexed */
	/* running prefix values over ev[0 .. n) */
	uint64_t cov;
	int64_t max_end;
	uint64_t max_idx;
};

/* Prefix values over ev[0 .. k): union measure, largest end and its event. */
struct ls_prefix {
	uint64_t cov;
	int64_t max_end;
	uint64_t max_idx;
};

static uint64_t ls_sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* (uint64)a - (uint64)b for a >= b: the distance, which may exceed INT64_MAX. */
static uint64_t ls_dist(int64_t a, int64_t b)
{
	return (uint64_t)a - (uint64_t)b;
}

/* t0 + off for an off that keeps the result within int64 (no signed overflow). */
static int64_t ls_offset(int64_t t0, uint64_t off)
{
	uint64_t u = (uint64_t)t0 + off;
	return u <= (uint64_t)INT64_MAX ? (int64_t)u : (int64_t)(u - (uint64_t)INT64_MIN) + INT64_MIN;
}

/* Adds event `i` to the prefix values *p. */
static void ls_prefix_step(struct ls_prefix *p, const struct trace_event *ev, size_t i)
{
	int64_t s = ev[i].start, e = ev[i].end;
	if (e > p->max_end) {
		int64_t from = s > p->max_end ? s : p->max_end;
		p->cov = ls_sat_add(p->cov, ls_dist(e, from));
		p->max_end = e;
		p->max_idx = i;
	}
}

/* Adds (name, w) to a Boyer-Moore candidate. */
static void ls_bm_add(uint32_t *name, uint64_t *weight, uint32_t n, uint64_t w)
{
	if (*name == n) {
		*weight = ls_sat_add(*weight, w);
	} else if (w > *weight) {
		*name = n;
		*weight = w - *weight;
	} else {
		*weight -= w;
	}
}

/* Creates an empty summary; the caller owns it. */
struct lanesum *lanesum_new(void)
{
	struct lanesum *ls = xcalloc(1, sizeof(*ls));
	lanesum_reset(ls);
	return ls;
}

/* Frees `ls` and its arrays. */
void lanesum_delete(struct lanesum *ls)
{
	if (!ls)
		return;
	free(ls->blocks);
	for (int l = 0; l < LS_LEVELS; l++)
		free(ls->level[l]);
	free(ls);
}

/* Empties `ls`, keeping its allocations. */
void lanesum_reset(struct lanesum *ls)
{
	ls->nblocks = 0;
	for (int l = 0; l < LS_LEVELS; l++)
		ls->level_n[l] = 0;
	ls->n = 0;
	ls->cov = 0;
	ls->max_end = INT64_MIN;
	ls->max_idx = LS_NO_EVENT;
}

size_t lanesum_events(const struct lanesum *ls)
{
	return ls->n;
}

/* Allocated bytes of `ls`, capacity included. */
size_t lanesum_bytes(const struct lanesum *ls)
{
	size_t bytes = sizeof(*ls) + ls->blocks_cap * sizeof(struct ls_block);
	for (int l = 0; l < LS_LEVELS; l++)
		bytes += ls->level_cap[l] * sizeof(struct ls_node);
	return bytes;
}

/* The candidate of node x of level l (l = 0: a block). */
static struct ls_node ls_node_at(const struct lanesum *ls, int l, size_t x)
{
	if (l == 0)
		return (struct ls_node){.weight = ls->blocks[x].bm_weight, .name = ls->blocks[x].bm_name};
	return ls->level[l][x];
}

/* Block j just became whole: adds the pyramid nodes it completes. */
static void ls_block_done(struct lanesum *ls, size_t j)
{
	size_t x = j;
	for (int l = 1; l < LS_LEVELS && (x & 1); l++, x >>= 1) {
		struct ls_node a = ls_node_at(ls, l - 1, x - 1), b = ls_node_at(ls, l - 1, x);
		ls_bm_add(&a.name, &a.weight, b.name, b.weight);
		ls->level[l] =
		    xgrow(ls->level[l], &ls->level_cap[l], ls->level_n[l] + 1, sizeof(struct ls_node));
		ls->level[l][ls->level_n[l]++] = a;
	}
}

/* Indexes the events appended since the last call; see lanesum.h. */
int lanesum_extend(struct lanesum *ls, const struct trace_event *ev, size_t n, struct err *e)
{
	if (n < ls->n)
		return err_fmt(e, "lane summary: %zu events given, %zu already indexed", n, ls->n);
	for (size_t i = ls->n; i < n; i++) {
		if (i > 0 && ev[i].start < ev[i - 1].start)
			return err_fmt(e, "lane summary: event %zu starts before the one before it", i);
		if (i % LS_B == 0) {
			ls->blocks =
			    xgrow(ls->blocks, &ls->blocks_cap, ls->nblocks + 1, sizeof(struct ls_block));
			ls->blocks[ls->nblocks++] = (struct ls_block){
			    .first = ev[i].start,
			    .pre_max = ls->max_end,
			    .pre_cov = ls->cov,
			    .pre_idx = ls->max_idx,
			};
		}
		struct ls_prefix p = {ls->cov, ls->max_end, ls->max_idx};
		ls_prefix_step(&p, ev, i);
		ls->cov = p.cov;
		ls->max_end = p.max_end;
		ls->max_idx = p.max_idx;
		struct ls_block *b = &ls->blocks[ls->nblocks - 1];
		ls_bm_add(&b->bm_name, &b->bm_weight, ev[i].name,
		          ls_sat_add(ls_dist(ev[i].end, ev[i].start), 1));
		ls->n = i + 1;
		if (ls->n % LS_B == 0)
			ls_block_done(ls, ls->nblocks - 1);
	}
	return 0;
}

/* Re-indexes ev[0 .. n) from scratch. */
int lanesum_build(struct lanesum *ls, const struct trace_event *ev, size_t n, struct err *e)
{
	lanesum_reset(ls);
	return lanesum_extend(ls, ev, n, e);
}

/* First index in [lo, hi) of ev whose start is >= t, hi when none. */
static size_t ls_search(const struct trace_event *ev, size_t lo, size_t hi, int64_t t)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ev[mid].start < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* lower_bound over the indexed events: blocks first, then one block. */
size_t lanesum_lower_bound(const struct lanesum *ls, const struct trace_event *ev, int64_t t)
{
	size_t lo = 0, hi = ls->nblocks; /* count blocks whose first start is < t */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ls->blocks[mid].first < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	size_t begin = (lo - 1) * LS_B, end = lo * LS_B < ls->n ? lo * LS_B : ls->n;
	return ls_search(ev, begin + 1, end, t);
}

/* The prefix values over ev[0 .. k), k <= n: O(LANESUM_BLOCK). */
static struct ls_prefix ls_prefix_at(const struct lanesum *ls, const struct trace_event *ev, size_t k)
{
	if (k == ls->n)
		return (struct ls_prefix){ls->cov, ls->max_end, ls->max_idx};
	size_t j = k / LS_B;
	const struct ls_block *b = &ls->blocks[j];
	struct ls_prefix p = {b->pre_cov, b->pre_max, b->pre_idx};
	for (size_t i = j * LS_B; i < k; i++)
		ls_prefix_step(&p, ev, i);
	return p;
}

/* Union measure of the events within (-inf, t), given the prefix over the
 * events that start before t. */
static uint64_t ls_covered_before(const struct ls_prefix *p, int64_t t)
{
	return p->max_end > t ? p->cov - ls_dist(p->max_end, t) : p->cov;
}

/* Candidate names of one cell with their summed weights. */
struct ls_cands {
	uint32_t name[LS_MAX_CANDS];
	uint64_t weight[LS_MAX_CANDS];
	size_t n;
};

static void ls_cand_add(struct ls_cands *c, uint32_t name, uint64_t w)
{
	for (size_t i = 0; i < c->n; i++) {
		if (c->name[i] == name) {
			c->weight[i] = ls_sat_add(c->weight[i], w);
			return;
		}
	}
	if (c->n < LS_MAX_CANDS) {
		c->name[c->n] = name;
		c->weight[c->n++] = w;
	}
}

/* Adds events [lo, hi), all starting in [c0, c1), weighed by their overlap
 * with the cell plus 1. */
static void ls_cand_scan(struct ls_cands *c, const struct trace_event *ev, size_t lo, size_t hi, int64_t c1)
{
	for (size_t i = lo; i < hi; i++) {
		int64_t end = ev[i].end < c1 ? ev[i].end : c1;
		ls_cand_add(c, ev[i].name, ls_sat_add(ls_dist(end, ev[i].start), 1));
	}
}

/* The heaviest candidate (ties: the smaller id), 0 when none. */
static uint32_t ls_cand_best(const struct ls_cands *c)
{
	uint32_t best = 0;
	uint64_t bw = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (i == 0 || c->weight[i] > bw || (c->weight[i] == bw && c->name[i] < best)) {
			best = c->name[i];
			bw = c->weight[i];
		}
	}
	return best;
}

/* The dominant name of cell [c0, c1), whose starting events are [a, b) and
 * whose prefix before a is *pa; sets *exact. See lanesum.h. */
static uint32_t ls_dominant(const struct lanesum *ls, const struct trace_event *ev, size_t a, size_t b,
                            const struct ls_prefix *pa, int64_t c0, int64_t c1, bool *exact)
{
	struct ls_cands c;
	c.n = 0;
	if (pa->max_idx != LS_NO_EVENT && pa->max_end > c0) {
		int64_t end = pa->max_end < c1 ? pa->max_end : c1;
		ls_cand_add(&c, ev[pa->max_idx].name, ls_sat_add(ls_dist(end, c0), 1));
	}
	*exact = true;
	if (b - a <= LANESUM_EXACT_EVENTS) {
		ls_cand_scan(&c, ev, a, b, c1);
		return ls_cand_best(&c);
	}
	size_t lo = (a + LS_B - 1) / LS_B, hi = (b - 1) / LS_B; /* whole blocks inside: [lo, hi) */
	ls_cand_scan(&c, ev, a, lo * LS_B, c1);
	ls_cand_scan(&c, ev, hi * LS_B, b, c1);
	if (lo < hi)
		*exact = false;
	for (int l = 0; lo < hi; l++, lo >>= 1, hi >>= 1) {
		if (lo & 1) {
			struct ls_node nd = ls_node_at(ls, l, lo++);
			ls_cand_add(&c, nd.name, nd.weight);
		}
		if (hi & 1) {
			struct ls_node nd = ls_node_at(ls, l, --hi);
			ls_cand_add(&c, nd.name, nd.weight);
		}
	}
	return ls_cand_best(&c);
}

/* Computes the cells of [t0, t1); see lanesum.h. */
int lanesum_cells(const struct lanesum *ls, const struct trace_event *ev, int64_t t0, int64_t t1,
                  uint32_t ncells, struct lanesum_cell *out, struct err *e)
{
	if (t1 <= t0)
		return err_fmt(e, "lane summary: empty window [%lld, %lld)", (long long)t0, (long long)t1);
	if (ncells == 0 || ncells > LANESUM_MAX_CELLS)
		return err_fmt(e, "lane summary: %u cells (1 to %d)", ncells, LANESUM_MAX_CELLS);
	uint64_t span = ls_dist(t1, t0), q = span / ncells, r = span % ncells;

	int64_t c0 = t0;
	size_t k0 = lanesum_lower_bound(ls, ev, c0);
	struct ls_prefix p0 = ls_prefix_at(ls, ev, k0);
	uint64_t cov0 = ls_covered_before(&p0, c0);
	for (uint32_t i = 0; i < ncells; i++) {
		uint32_t i1 = i + 1;
		int64_t c1 = i1 == ncells ? t1 : ls_offset(t0, q * i1 + r * i1 / ncells);
		size_t k1 = k0;
		if (k1 < ls->n && ev[k1].start < c1)
			k1 = lanesum_lower_bound(ls, ev, c1);
		struct ls_prefix p1 = k1 == k0 ? p0 : ls_prefix_at(ls, ev, k1);
		uint64_t cov1 = ls_covered_before(&p1, c1);

		struct lanesum_cell *cell = &out[i];
		cell->count = k1 - k0;
		cell->covered = cov1 - cov0;
		cell->width = ls_dist(c1, c0);
		cell->touched = k1 > k0 || p0.max_end > c0;
		cell->exact_name = true;
		cell->name = cell->touched ? ls_dominant(ls, ev, k0, k1, &p0, c0, c1, &cell->exact_name) : 0;

		c0 = c1;
		k0 = k1;
		p0 = p1;
		cov0 = cov1;
	}
	return 0;
}

/* Whether event i contains t (half-open, or an instant at t). */
static bool ls_contains(const struct trace_event *ev, size_t i, int64_t t)
{
	return ev[i].start <= t && (t < ev[i].end || (ev[i].end == t && ev[i].start == t));
}

/* Index of the first event starting after t. */
static size_t ls_upper_bound(const struct lanesum *ls, const struct trace_event *ev, int64_t t)
{
	return t == INT64_MAX ? ls->n : lanesum_lower_bound(ls, ev, t + 1);
}

/* The event at t; see lanesum.h. */
size_t lanesum_event_at(const struct lanesum *ls, const struct trace_event *ev, int64_t t)
{
	size_t k = ls_upper_bound(ls, ev, t);
	size_t stop = k > LS_B ? k - LS_B : 0;
	for (size_t i = k; i > stop; i--) {
		if (ls_contains(ev, i - 1, t))
			return i - 1;
	}
	struct ls_prefix p = ls_prefix_at(ls, ev, k);
	if (p.max_idx != LS_NO_EVENT && p.max_end > t)
		return (size_t)p.max_idx;
	return SIZE_MAX;
}

/* The event at or nearest to t within slop; see lanesum.h. */
size_t lanesum_event_near(const struct lanesum *ls, const struct trace_event *ev, int64_t t, uint64_t slop)
{
	size_t at = lanesum_event_at(ls, ev, t);
	if (at != SIZE_MAX)
		return at;
	size_t k = ls_upper_bound(ls, ev, t);
	struct ls_prefix p = ls_prefix_at(ls, ev, k);
	size_t best = SIZE_MAX;
	uint64_t gap = 0;
	if (p.max_idx != LS_NO_EVENT && ls_dist(t, p.max_end) <= slop) {
		best = (size_t)p.max_idx;
		gap = ls_dist(t, p.max_end);
	}
	if (k < ls->n && ls_dist(ev[k].start, t) <= slop &&
	    (best == SIZE_MAX || ls_dist(ev[k].start, t) < gap))
		best = k;
	return best;
}
