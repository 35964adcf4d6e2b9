/*
 * session.c - the in-memory trace model (see session.h).
 *
 * Layout. Every id table is a segmented table (intern.h) whose element `id`
 * is the entry with that id; element 0 is a placeholder for "none" (for
 * strings: the empty string). Interned tables add a hash index from the
 * entry's identity to its id. Elements never move, so pointers handed out
 * for strings, frames, stacks, side tables, tracks, processes and devices
 * stay valid for the session's life (meta values excepted: a replaced value
 * is freed).
 *
 * Strings. The bytes live in an arena, each followed by a NUL; per id the
 * session keeps a pointer (8 bytes) and a u32 length (4 bytes). A string of
 * STR_LONG_MIN bytes or more is stored with its full size_t length in front
 * of its bytes and the length slot holds STR_LONG, so that lengths past 4 GiB
 * cost nothing to the common case.
 *
 * Events. Each track owns one array of events, grown by doubling. An append
 * compares the event with the track's last one and clears the track's
 * `sorted` flag when it is out of order, so trace_session_finish() knows
 * which tracks need sorting without a scan. The order is (start, end) and,
 * for events equal there, their other fields, which makes the sorted result
 * a function of the set of events alone, whatever order they came in.
 *
 * Sorting is tuned for nearly sorted input (the usual case: streams arrive in
 * order, nested API calls arrive by end time): one pass keeps the greedy
 * non-decreasing subsequence in place and moves the rest aside; when at most
 * half the events moved, the moved ones are sorted the same way (recursively)
 * and merged back from the end, O(n) for sorted or lightly disordered input.
 * Otherwise the track is sorted in place by a quicksort with the comparison
 * inlined (median-of-three pivots, insertion sort for short ranges, qsort
 * for a range whose recursion grows too deep), several times faster than
 * qsort's indirect calls on 40-byte elements.
 */
#include "trace/session.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "trace/demangle.h"
#include "trace/intern.h"
#include "util/xalloc.h"

#define STR_LONG_MIN ((size_t)1 << 20)
#define STR_LONG     UINT32_MAX

struct stack_rec {
	const uint32_t *frames; /* in the arena */
	uint32_t n;
};

/* A track: its identity and its events. */
struct track_rec {
	struct trace_track_info info;
	struct trace_event *ev;
	size_t n, cap;
	bool sorted; /* ev[0..n) is in event_cmp order (invariant 2 once finished) */
};

struct meta_rec {
	char *key;
	char *value;
};

struct trace_session {
	struct trace_arena arena; /* string bytes and stack frame lists */

	struct trace_table str_ptr; /* const char * per string id */
	struct trace_table str_len; /* uint32_t per string id, STR_LONG: see the file comment */
	struct trace_index str_index;
	const char **display; /* display names by string id, NULL = not computed; lazily allocated */
	size_t display_cap;
	struct trace_arena display_arena; /* demangled names */

	struct trace_table frames; /* struct trace_frame */
	struct trace_index frame_index;
	struct trace_table stacks; /* struct stack_rec */
	struct trace_index stack_index;
	struct trace_table launches; /* struct trace_launch */
	struct trace_index launch_index;
	struct trace_table nvtx_attrs; /* struct trace_nvtx_attr */
	struct trace_index nvtx_index;
	struct trace_table memops; /* struct trace_memop */
	struct trace_table tracks; /* struct track_rec */
	struct trace_index track_index;

	/* keyed tables: the index holds position + 1 */
	struct trace_table processes; /* struct trace_process */
	struct trace_index process_index;
	struct trace_table devices; /* struct trace_device */
	struct trace_index device_index;
	struct trace_table meta; /* struct meta_rec */
	struct trace_index meta_index;
	struct trace_table losses; /* struct trace_loss */
	struct trace_index loss_index;

	uint64_t kind_count[TRACE_KIND_MAX + 1];
	uint64_t nevents;
	int64_t tmin, tmax; /* valid when nevents > 0 */
};

/* Creates an empty session: every id table holds its id-0 placeholder. */
struct trace_session *trace_session_new(void)
{
	struct trace_session *s = xcalloc(1, sizeof(*s));

	trace_table_init(&s->str_ptr, sizeof(const char *));
	trace_table_init(&s->str_len, sizeof(uint32_t));
	*(const char **)trace_table_push(&s->str_ptr) = "";
	trace_table_push(&s->str_len);

	trace_table_init(&s->frames, sizeof(struct trace_frame));
	trace_table_init(&s->stacks, sizeof(struct stack_rec));
	trace_table_init(&s->launches, sizeof(struct trace_launch));
	trace_table_init(&s->nvtx_attrs, sizeof(struct trace_nvtx_attr));
	trace_table_init(&s->memops, sizeof(struct trace_memop));
	trace_table_init(&s->tracks, sizeof(struct track_rec));
	trace_table_push(&s->frames);
	trace_table_push(&s->stacks);
	trace_table_push(&s->launches);
	trace_table_push(&s->nvtx_attrs);
	trace_table_push(&s->memops);
	trace_table_push(&s->tracks);

	trace_table_init(&s->processes, sizeof(struct trace_process));
	trace_table_init(&s->devices, sizeof(struct trace_device));
	trace_table_init(&s->meta, sizeof(struct meta_rec));
	trace_table_init(&s->losses, sizeof(struct trace_loss));
	return s;
}

/* Frees the session, its tables, events and strings. */
void trace_session_delete(struct trace_session *s)
{
	if (!s)
		return;
	for (uint32_t i = 1; i < s->tracks.n; i++)
		free(((struct track_rec *)trace_table_at(&s->tracks, i))->ev);
	for (uint32_t i = 0; i < s->meta.n; i++) {
		struct meta_rec *m = trace_table_at(&s->meta, i);
		free(m->key);
		free(m->value);
	}
	struct trace_table *tables[] = {&s->str_ptr,   &s->str_len,    &s->frames, &s->stacks,
	                                &s->launches,  &s->nvtx_attrs, &s->memops, &s->tracks,
	                                &s->processes, &s->devices,    &s->meta,   &s->losses};
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		trace_table_free(tables[i]);
	struct trace_index *indexes[] = {&s->str_index,  &s->frame_index, &s->stack_index,   &s->launch_index,
	                                 &s->nvtx_index, &s->track_index, &s->process_index, &s->device_index,
	                                 &s->meta_index, &s->loss_index};
	for (size_t i = 0; i < sizeof(indexes) / sizeof(indexes[0]); i++)
		trace_index_free(indexes[i]);
	free(s->display);
	trace_arena_free(&s->display_arena);
	trace_arena_free(&s->arena);
	free(s);
}

/* --- strings -------------------------------------------------------------- */

struct bytes_key {
	const char *p;
	size_t len;
};

/* Bytes and length of string `id` (< string count). */
static const char *string_get(const struct trace_session *s, uint32_t id, size_t *len)
{
	const char *p = *(const char *const *)trace_table_at(&s->str_ptr, id);
	uint32_t l = *(const uint32_t *)trace_table_at(&s->str_len, id);
	if (l == STR_LONG) {
		size_t full;
		memcpy(&full, p - sizeof(size_t), sizeof(full));
		*len = full;
	} else {
		*len = l;
	}
	return p;
}

/* Index equality: string `id` holds exactly the key's bytes. */
static bool string_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct bytes_key *k = key;
	size_t len;
	const char *p = string_get(ctx, id, &len);
	return len == k->len && memcmp(p, k->p, len) == 0;
}

/* Interns `len` bytes; see session.h. */
uint32_t trace_session_intern(struct trace_session *s, const char *bytes, size_t len)
{
	if (len == 0)
		return 0;
	struct bytes_key key = {bytes, len};
	uint32_t hash = trace_hash_bytes(bytes, len);
	uint32_t id = trace_index_find(&s->str_index, hash, string_eq, s, &key);
	if (id)
		return id;

	char *p;
	uint32_t stored_len;
	if (len >= STR_LONG_MIN) {
		if (len > SIZE_MAX - sizeof(size_t) - 1)
			abort(); /* no such allocation can succeed */
		char *base = trace_arena_alloc(&s->arena, sizeof(size_t) + len + 1, sizeof(size_t));
		memcpy(base, &len, sizeof(size_t));
		p = base + sizeof(size_t);
		stored_len = STR_LONG;
	} else {
		p = trace_arena_alloc(&s->arena, len + 1, 1);
		stored_len = (uint32_t)len;
	}
	memcpy(p, bytes, len);
	p[len] = '\0';

	id = s->str_ptr.n;
	*(const char **)trace_table_push(&s->str_ptr) = p;
	*(uint32_t *)trace_table_push(&s->str_len) = stored_len;
	trace_index_insert(&s->str_index, hash, id);
	return id;
}

/* Interns a C string. */
uint32_t trace_session_intern_cstr(struct trace_session *s, const char *str)
{
	return trace_session_intern(s, str, strlen(str));
}

/* String `id`, "" when unknown; see session.h. */
const char *trace_session_string(const struct trace_session *s, uint32_t id, size_t *len)
{
	size_t l = 0;
	const char *p = "";
	if (id < s->str_ptr.n)
		p = string_get(s, id, &l);
	if (len)
		*len = l;
	return p;
}

/* Number of strings, "" included. */
uint32_t trace_session_string_count(const struct trace_session *s)
{
	return s->str_ptr.n;
}

/* Demangled name of string `id`, computed on first use and cached in
 * s->display (grown to the string count as needed). */
const char *trace_session_display_name(struct trace_session *s, uint32_t id)
{
	if (id >= s->str_ptr.n)
		return "";
	if (id >= s->display_cap) {
		size_t old = s->display_cap;
		s->display = xgrow(s->display, &s->display_cap, s->str_ptr.n, sizeof(*s->display));
		memset(s->display + old, 0, (s->display_cap - old) * sizeof(*s->display));
	}
	if (s->display[id])
		return s->display[id];

	size_t len;
	const char *raw = string_get(s, id, &len);
	const char *shown = raw;
	if (strlen(raw) == len) { /* a name with NULs inside is not a symbol */
		char *d = trace_demangle(raw);
		if (d) {
			size_t dl = strlen(d);
			char *copy = trace_arena_alloc(&s->display_arena, dl + 1, 1);
			memcpy(copy, d, dl + 1);
			free(d);
			shown = copy;
		}
	}
	s->display[id] = shown;
	return shown;
}

/* --- stacks ---------------------------------------------------------------- */

/* Hash of a frame's fields (padding never enters). */
static uint32_t frame_hash(const struct trace_frame *f)
{
	uint64_t w[4] = {f->pc, f->offset, f->function | (uint64_t)f->module << 32,
	                 f->file | (uint64_t)f->line << 32};
	return trace_hash_bytes(w, sizeof(w));
}

/* Index equality for frames, field by field. */
static bool frame_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct trace_frame *a = trace_table_at(ctx, id), *b = key;
	return a->pc == b->pc && a->offset == b->offset && a->function == b->function &&
	       a->module == b->module && a->file == b->file && a->line == b->line;
}

/* Interns a frame. */
uint32_t trace_session_add_frame(struct trace_session *s, const struct trace_frame *f)
{
	uint32_t hash = frame_hash(f);
	uint32_t id = trace_index_find(&s->frame_index, hash, frame_eq, &s->frames, f);
	if (id)
		return id;
	id = s->frames.n;
	*(struct trace_frame *)trace_table_push(&s->frames) = *f;
	trace_index_insert(&s->frame_index, hash, id);
	return id;
}

/* Frame `id`, NULL when unknown. */
const struct trace_frame *trace_session_frame(const struct trace_session *s, uint32_t id)
{
	return id && id < s->frames.n ? trace_table_at(&s->frames, id) : NULL;
}

/* Frames + 1. */
uint32_t trace_session_frame_count(const struct trace_session *s)
{
	return s->frames.n;
}

/* Index equality for stacks: same frame ids in the same order. */
static bool stack_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct stack_rec *a = trace_table_at(ctx, id), *b = key;
	return a->n == b->n && memcmp(a->frames, b->frames, (size_t)a->n * sizeof(uint32_t)) == 0;
}

/* Interns a stack of known frames; 0 for an empty stack or an unknown frame. */
uint32_t trace_session_add_stack(struct trace_session *s, const uint32_t *frames, uint32_t n)
{
	if (n == 0)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		if (frames[i] == 0 || frames[i] >= s->frames.n)
			return 0;
	struct stack_rec key = {frames, n};
	uint32_t hash = trace_hash_bytes(frames, (size_t)n * sizeof(uint32_t));
	uint32_t id = trace_index_find(&s->stack_index, hash, stack_eq, &s->stacks, &key);
	if (id)
		return id;
	uint32_t *copy = trace_arena_alloc(&s->arena, (size_t)n * sizeof(uint32_t), sizeof(uint32_t));
	memcpy(copy, frames, (size_t)n * sizeof(uint32_t));
	id = s->stacks.n;
	struct stack_rec *r = trace_table_push(&s->stacks);
	r->frames = copy;
	r->n = n;
	trace_index_insert(&s->stack_index, hash, id);
	return id;
}

/* Frame ids of stack `id`; NULL and *n = 0 when unknown. */
const uint32_t *trace_session_stack(const struct trace_session *s, uint32_t id, uint32_t *n)
{
	if (!id || id >= s->stacks.n) {
		*n = 0;
		return NULL;
	}
	const struct stack_rec *r = trace_table_at(&s->stacks, id);
	*n = r->n;
	return r->frames;
}

/* Stacks + 1. */
uint32_t trace_session_stack_count(const struct trace_session *s)
{
	return s->stacks.n;
}

/* --- side tables ------------------------------------------------------------ */

/* Hash of a launch configuration's fields. */
static uint32_t launch_hash(const struct trace_launch *l)
{
	uint32_t w[12] = {l->grid[0],      l->grid[1],    l->grid[2],    l->block[0],
	                  l->block[1],     l->block[2],   l->registers,  l->static_smem,
	                  l->dynamic_smem, l->cluster[0], l->cluster[1], l->cluster[2]};
	return trace_hash_bytes(w, sizeof(w));
}

/* Index equality for launch configurations, field by field. */
static bool launch_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct trace_launch *a = trace_table_at(ctx, id), *b = key;
	for (int i = 0; i < 3; i++)
		if (a->grid[i] != b->grid[i] || a->block[i] != b->block[i] || a->cluster[i] != b->cluster[i])
			return false;
	return a->registers == b->registers && a->static_smem == b->static_smem &&
	       a->dynamic_smem == b->dynamic_smem;
}

/* Interns a launch configuration. */
uint32_t trace_session_add_launch(struct trace_session *s, const struct trace_launch *l)
{
	uint32_t hash = launch_hash(l);
	uint32_t id = trace_index_find(&s->launch_index, hash, launch_eq, &s->launches, l);
	if (id)
		return id;
	id = s->launches.n;
	*(struct trace_launch *)trace_table_push(&s->launches) = *l;
	trace_index_insert(&s->launch_index, hash, id);
	return id;
}

/* Launch configuration `id`, NULL when unknown. */
const struct trace_launch *trace_session_launch(const struct trace_session *s, uint32_t id)
{
	return id && id < s->launches.n ? trace_table_at(&s->launches, id) : NULL;
}

/* Launch configurations + 1. */
uint32_t trace_session_launch_count(const struct trace_session *s)
{
	return s->launches.n;
}

/* Hash of NVTX attributes' fields (padding never enters). */
static uint32_t nvtx_hash(const struct trace_nvtx_attr *a)
{
	uint64_t w[3] = {a->domain | (uint64_t)a->category << 32,
	                 a->color | (uint64_t)a->has_color << 32 | (uint64_t)a->payload_type << 40,
	                 a->payload};
	return trace_hash_bytes(w, sizeof(w));
}

/* Index equality for NVTX attributes, field by field. */
static bool nvtx_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct trace_nvtx_attr *a = trace_table_at(ctx, id), *b = key;
	return a->domain == b->domain && a->category == b->category && a->color == b->color &&
	       a->has_color == b->has_color && a->payload_type == b->payload_type && a->payload == b->payload;
}

/* Interns NVTX attributes. */
uint32_t trace_session_add_nvtx_attr(struct trace_session *s, const struct trace_nvtx_attr *a)
{
	uint32_t hash = nvtx_hash(a);
	uint32_t id = trace_index_find(&s->nvtx_index, hash, nvtx_eq, &s->nvtx_attrs, a);
	if (id)
		return id;
	id = s->nvtx_attrs.n;
	*(struct trace_nvtx_attr *)trace_table_push(&s->nvtx_attrs) = *a;
	trace_index_insert(&s->nvtx_index, hash, id);
	return id;
}

/* NVTX attributes `id`, NULL when unknown (id 0 included). */
const struct trace_nvtx_attr *trace_session_nvtx_attr(const struct trace_session *s, uint32_t id)
{
	return id && id < s->nvtx_attrs.n ? trace_table_at(&s->nvtx_attrs, id) : NULL;
}

/* NVTX attributes + 1. */
uint32_t trace_session_nvtx_attr_count(const struct trace_session *s)
{
	return s->nvtx_attrs.n;
}

/* Adds a memory operation (never interned). */
uint32_t trace_session_add_memop(struct trace_session *s, const struct trace_memop *m)
{
	uint32_t id = s->memops.n;
	*(struct trace_memop *)trace_table_push(&s->memops) = *m;
	return id;
}

/* Memory operation `id`, NULL when unknown. */
const struct trace_memop *trace_session_memop(const struct trace_session *s, uint32_t id)
{
	return id && id < s->memops.n ? trace_table_at(&s->memops, id) : NULL;
}

/* Memory operations + 1. */
uint32_t trace_session_memop_count(const struct trace_session *s)
{
	return s->memops.n;
}

/* --- tracks ----------------------------------------------------------------- */

/* Copies into *out the identity fields of *in for its kind, zeroing the
 * rest (the name too, unless it is a counter's). False for a bad kind. */
static bool track_identity(const struct trace_track_info *in, struct trace_track_info *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = in->kind;
	out->pid = in->pid;
	switch (in->kind) {
	case TRACE_TRACK_THREAD:
		out->tid = in->tid;
		return true;
	case TRACE_TRACK_STREAM:
		out->device = in->device;
		out->context = in->context;
		out->stream = in->stream;
		return true;
	case TRACE_TRACK_COUNTER:
		out->device = in->device;
		out->name = in->name;
		return true;
	case TRACE_TRACK_PROCESS:
		return true;
	default:
		return false;
	}
}

/* Hash of a normalized identity. */
static uint32_t track_hash(const struct trace_track_info *k)
{
	uint32_t w[7] = {k->kind, k->pid, k->tid, k->device, k->context, k->stream, k->name};
	return trace_hash_bytes(w, sizeof(w));
}

/* Index equality: track `id` has the normalized identity `key`. */
static bool track_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct trace_track_info *a = &((const struct track_rec *)trace_table_at(ctx, id))->info,
	                              *b = key;
	return a->kind == b->kind && a->pid == b->pid && a->tid == b->tid && a->device == b->device &&
	       a->context == b->context && a->stream == b->stream &&
	       (a->kind != TRACE_TRACK_COUNTER || a->name == b->name);
}

/* Finds or creates the track of this identity; a non-zero name renames it. */
uint32_t trace_session_add_track(struct trace_session *s, const struct trace_track_info *info)
{
	struct trace_track_info key;
	if (!track_identity(info, &key))
		return 0;
	uint32_t hash = track_hash(&key);
	uint32_t id = trace_index_find(&s->track_index, hash, track_eq, &s->tracks, &key);
	if (!id) {
		id = s->tracks.n;
		struct track_rec *t = trace_table_push(&s->tracks);
		t->info = key;
		t->sorted = true;
		trace_index_insert(&s->track_index, hash, id);
	}
	if (info->name) {
		struct track_rec *t = trace_table_at(&s->tracks, id);
		t->info.name = info->name;
	}
	return id;
}

/* Identity of track `id`, NULL when unknown. */
const struct trace_track_info *trace_session_track_info(const struct trace_session *s, uint32_t id)
{
	return id && id < s->tracks.n ? &((const struct track_rec *)trace_table_at(&s->tracks, id))->info
	                              : NULL;
}

/* Tracks + 1. */
uint32_t trace_session_track_count(const struct trace_session *s)
{
	return s->tracks.n;
}

/* --- processes, devices, metadata, losses ----------------------------------- */

/* Index equality for processes by pid. */
static bool process_eq(const void *ctx, uint32_t id, const void *key)
{
	return ((const struct trace_process *)trace_table_at(ctx, id - 1))->pid == *(const uint32_t *)key;
}

/* Adds or replaces (same pid) a process; a replaced one keeps its position. */
void trace_session_set_process(struct trace_session *s, const struct trace_process *p)
{
	uint32_t hash = trace_hash_bytes(&p->pid, sizeof(p->pid));
	uint32_t pos = trace_index_find(&s->process_index, hash, process_eq, &s->processes, &p->pid);
	if (pos) {
		*(struct trace_process *)trace_table_at(&s->processes, pos - 1) = *p;
		return;
	}
	*(struct trace_process *)trace_table_push(&s->processes) = *p;
	trace_index_insert(&s->process_index, hash, s->processes.n);
}

/* Number of processes. */
size_t trace_session_process_count(const struct trace_session *s)
{
	return s->processes.n;
}

/* The i-th process, NULL when out of range. */
const struct trace_process *trace_session_process(const struct trace_session *s, size_t i)
{
	return i < s->processes.n ? trace_table_at(&s->processes, (uint32_t)i) : NULL;
}

/* The process with this pid, or NULL. */
const struct trace_process *trace_session_find_process(const struct trace_session *s, uint32_t pid)
{
	uint32_t hash = trace_hash_bytes(&pid, sizeof(pid));
	uint32_t pos = trace_index_find(&s->process_index, hash, process_eq, &s->processes, &pid);
	return pos ? trace_table_at(&s->processes, pos - 1) : NULL;
}

/* Index equality for devices by id. */
static bool device_eq(const void *ctx, uint32_t id, const void *key)
{
	return ((const struct trace_device *)trace_table_at(ctx, id - 1))->id == *(const uint32_t *)key;
}

/* Adds or replaces (same id) a device; a replaced one keeps its position. */
void trace_session_set_device(struct trace_session *s, const struct trace_device *d)
{
	uint32_t hash = trace_hash_bytes(&d->id, sizeof(d->id));
	uint32_t pos = trace_index_find(&s->device_index, hash, device_eq, &s->devices, &d->id);
	if (pos) {
		*(struct trace_device *)trace_table_at(&s->devices, pos - 1) = *d;
		return;
	}
	*(struct trace_device *)trace_table_push(&s->devices) = *d;
	trace_index_insert(&s->device_index, hash, s->devices.n);
}

/* Number of devices. */
size_t trace_session_device_count(const struct trace_session *s)
{
	return s->devices.n;
}

/* The i-th device, NULL when out of range. */
const struct trace_device *trace_session_device(const struct trace_session *s, size_t i)
{
	return i < s->devices.n ? trace_table_at(&s->devices, (uint32_t)i) : NULL;
}

/* The device with this id, or NULL. */
const struct trace_device *trace_session_find_device(const struct trace_session *s, uint32_t id)
{
	uint32_t hash = trace_hash_bytes(&id, sizeof(id));
	uint32_t pos = trace_index_find(&s->device_index, hash, device_eq, &s->devices, &id);
	return pos ? trace_table_at(&s->devices, pos - 1) : NULL;
}

/* Index equality for metadata by key. */
static bool meta_eq(const void *ctx, uint32_t id, const void *key)
{
	return strcmp(((const struct meta_rec *)trace_table_at(ctx, id - 1))->key, key) == 0;
}

/* Position + 1 of metadata `key`, 0 when unset; its hash in *hash. */
static uint32_t meta_find(const struct trace_session *s, const char *key, uint32_t *hash)
{
	*hash = trace_hash_bytes(key, strlen(key));
	return trace_index_find(&s->meta_index, *hash, meta_eq, &s->meta, key);
}

/* Sets `key` to a copy of `value`, freeing the value it replaces. */
void trace_session_set_meta(struct trace_session *s, const char *key, const char *value)
{
	uint32_t hash;
	uint32_t pos = meta_find(s, key, &hash);
	if (pos) {
		struct meta_rec *m = trace_table_at(&s->meta, pos - 1);
		char *copy = xstrdup(value);
		free(m->value);
		m->value = copy;
		return;
	}
	struct meta_rec *m = trace_table_push(&s->meta);
	m->key = xstrdup(key);
	m->value = xstrdup(value);
	trace_index_insert(&s->meta_index, hash, s->meta.n);
}

/* Value of `key`, or NULL; valid until the key is set again. */
const char *trace_session_meta(const struct trace_session *s, const char *key)
{
	uint32_t hash;
	uint32_t pos = meta_find(s, key, &hash);
	return pos ? ((const struct meta_rec *)trace_table_at(&s->meta, pos - 1))->value : NULL;
}

/* Number of metadata keys. */
size_t trace_session_meta_count(const struct trace_session *s)
{
	return s->meta.n;
}

/* The i-th pair; both NULL when i is out of range. */
void trace_session_meta_at(const struct trace_session *s, size_t i, const char **key, const char **value)
{
	if (i >= s->meta.n) {
		*key = NULL;
		*value = NULL;
		return;
	}
	const struct meta_rec *m = trace_table_at(&s->meta, (uint32_t)i);
	*key = m->key;
	*value = m->value;
}

/* Index equality for losses by (pid, source). */
static bool loss_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct trace_loss *a = trace_table_at(ctx, id - 1), *b = key;
	return a->pid == b->pid && a->source == b->source;
}

/* Sets the total of (pid, source). */
void trace_session_set_loss(struct trace_session *s, uint32_t pid, uint32_t source, uint64_t count)
{
	struct trace_loss key = {.pid = pid, .source = source, .count = count};
	uint32_t w[2] = {pid, source};
	uint32_t hash = trace_hash_bytes(w, sizeof(w));
	uint32_t pos = trace_index_find(&s->loss_index, hash, loss_eq, &s->losses, &key);
	if (pos) {
		((struct trace_loss *)trace_table_at(&s->losses, pos - 1))->count = count;
		return;
	}
	*(struct trace_loss *)trace_table_push(&s->losses) = key;
	trace_index_insert(&s->loss_index, hash, s->losses.n);
}

/* Number of (pid, source) totals. */
size_t trace_session_loss_count(const struct trace_session *s)
{
	return s->losses.n;
}

/* The i-th total, NULL when out of range. */
const struct trace_loss *trace_session_loss(const struct trace_session *s, size_t i)
{
	return i < s->losses.n ? trace_table_at(&s->losses, (uint32_t)i) : NULL;
}

/* Sum of every total. O(number of totals). */
uint64_t trace_session_lost_total(const struct trace_session *s)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < s->losses.n; i++) {
		uint64_t c = ((const struct trace_loss *)trace_table_at(&s->losses, i))->count;
		sum = c > UINT64_MAX - sum ? UINT64_MAX : sum + c;
	}
	return sum;
}

/* --- events ----------------------------------------------------------------- */

/* The event order: (start, end), then the other fields so that only
 * identical events compare equal. */
static int event_cmp(const struct trace_event *a, const struct trace_event *b)
{
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->end != b->end)
		return a->end < b->end ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->name != b->name)
		return a->name < b->name ? -1 : 1;
	if (a->correlation != b->correlation)
		return a->correlation < b->correlation ? -1 : 1;
	if (a->sub != b->sub)
		return a->sub < b->sub ? -1 : 1;
	if (a->flags != b->flags)
		return a->flags < b->flags ? -1 : 1;
	if (a->u.bytes != b->u.bytes)
		return a->u.bytes < b->u.bytes ? -1 : 1;
	return 0;
}

/* qsort adapter of event_cmp. */
static int event_qsort_cmp(const void *a, const void *b)
{
	return event_cmp(a, b);
}

/* Swaps two events. */
static inline void event_swap(struct trace_event *a, struct trace_event *b)
{
	struct trace_event t = *a;
	*a = *b;
	*b = t;
}

/* Sorts a[0..n) by event_cmp in place: quicksort on the larger part in a
 * loop, recursion on the smaller (depth O(log n)), insertion sort below 24
 * events; after `depth` partitions of one range, qsort finishes it. */
static void events_quicksort(struct trace_event *a, size_t n, unsigned depth)
{
	while (n > 24) {
		if (depth-- == 0) {
			qsort(a, n, sizeof(*a), event_qsort_cmp);
			return;
		}
		/* order a[0], a[n/2], a[n-1]; the middle one is the pivot */
		struct trace_event *m = &a[n / 2], *z = &a[n - 1];
		if (event_cmp(m, a) < 0)
			event_swap(m, a);
		if (event_cmp(z, m) < 0) {
			event_swap(z, m);
			if (event_cmp(m, a) < 0)
				event_swap(m, a);
		}
		struct trace_event p = *m;
		/* Hoare partition: a[0] <= p <= a[n-1] keep both scans in range
		 * and the split strictly inside */
		size_t i = 0, j = n - 1;
		for (;;) {
			while (event_cmp(&a[++i], &p) < 0)
				;
			while (event_cmp(&a[--j], &p) > 0)
				;
			if (i >= j)
				break;
			event_swap(&a[i], &a[j]);
		}
		/* a[0..i) <= p <= a[i..n) */
		if (i < n - i) {
			events_quicksort(a, i, depth);
			a += i;
			n -= i;
		} else {
			events_quicksort(a + i, n - i, depth);
			n = i;
		}
	}
	for (size_t i = 1; i < n; i++) {
		struct trace_event x = a[i];
		size_t j = i;
		while (j > 0 && event_cmp(&a[j - 1], &x) > 0) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = x;
	}
}

/* Sorts a[0..n) by event_cmp; see the file comment for the method. */
static void events_sort(struct trace_event *a, size_t n)
{
	if (n < 2)
		return;
	size_t k = 0, last = 0;
	for (size_t i = 1; i < n; i++) {
		if (event_cmp(&a[i], &a[last]) >= 0)
			last = i;
		else
			k++;
	}
	if (k == 0)
		return;
	if (k > n / 2) {
		unsigned depth = 8;
		for (size_t x = n; x > 1; x >>= 1)
			depth += 2;
		events_quicksort(a, n, depth);
		return;
	}

	/* keep the greedy run at the front, move the rest aside */
	struct trace_event *side = xmalloc(k * sizeof(*side));
	size_t m = 1, j = 0;
	for (size_t i = 1; i < n; i++) {
		if (event_cmp(&a[i], &a[m - 1]) >= 0)
			a[m++] = a[i];
		else
			side[j++] = a[i];
	}
	assert(j == k && m + k == n);
	events_sort(side, k);

	/* merge from the back: a[0..m) and side[0..k) into a[0..n) */
	size_t w = n;
	while (k > 0) {
		if (m > 0 && event_cmp(&a[m - 1], &side[k - 1]) > 0)
			a[--w] = a[--m];
		else
			a[--w] = side[--k];
	}
	free(side);
}

/* Validates and appends a copy of *ev to its track. The duration check is
 * done in unsigned arithmetic, exact once end >= start is known. */
int trace_session_append(struct trace_session *s, const struct trace_event *ev)
{
	if (ev->track == 0 || ev->track >= s->tracks.n || ev->kind == 0 || ev->kind > TRACE_KIND_MAX ||
	    ev->end < ev->start || (uint64_t)ev->end - (uint64_t)ev->start > (uint64_t)INT64_MAX)
		return -1;
	struct track_rec *t = trace_table_at(&s->tracks, ev->track);
	if (t->n == t->cap)
		t->ev = xgrow(t->ev, &t->cap, t->n + 1, sizeof(*t->ev));
	if (t->sorted && t->n && event_cmp(&t->ev[t->n - 1], ev) > 0)
		t->sorted = false;
	t->ev[t->n++] = *ev;

	s->kind_count[ev->kind]++;
	if (s->nevents++ == 0) {
		s->tmin = ev->start;
		s->tmax = ev->end;
	} else {
		if (ev->start < s->tmin)
			s->tmin = ev->start;
		if (ev->end > s->tmax)
			s->tmax = ev->end;
	}
	return 0;
}

/* Sorts every track whose events are out of order. */
void trace_session_finish(struct trace_session *s)
{
	for (uint32_t id = 1; id < s->tracks.n; id++) {
		struct track_rec *t = trace_table_at(&s->tracks, id);
		if (!t->sorted) {
			events_sort(t->ev, t->n);
			t->sorted = true;
		}
	}
}

/* Events of track `id`; NULL and *n = 0 when unknown or empty. */
const struct trace_event *trace_session_track_events(const struct trace_session *s, uint32_t id, size_t *n)
{
	if (!id || id >= s->tracks.n) {
		*n = 0;
		return NULL;
	}
	const struct track_rec *t = trace_table_at(&s->tracks, id);
	*n = t->n;
	return t->n ? t->ev : NULL;
}

/* First index of a sorted track whose start is >= t, by binary search. */
size_t trace_session_track_lower_bound(const struct trace_session *s, uint32_t id, int64_t t)
{
	if (!id || id >= s->tracks.n)
		return 0;
	const struct track_rec *tr = trace_table_at(&s->tracks, id);
	assert(tr->sorted);
	size_t lo = 0, hi = tr->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (tr->ev[mid].start < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Number of events appended. */
uint64_t trace_session_event_count(const struct trace_session *s)
{
	return s->nevents;
}

/* Number of events of `kind`, 0 for a kind out of range. */
uint64_t trace_session_kind_count(const struct trace_session *s, unsigned kind)
{
	return kind <= TRACE_KIND_MAX ? s->kind_count[kind] : 0;
}

/* Time range over every event; false when there are none. */
bool trace_session_time_range(const struct trace_session *s, int64_t *start, int64_t *end)
{
	if (!s->nevents)
		return false;
	*start = s->tmin;
	*end = s->tmax;
	return true;
}
