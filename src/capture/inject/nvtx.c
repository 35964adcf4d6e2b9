/*
 * nvtx.c - the NVTX backend of the collector: NVTX v3 ranges, marks,
 * domains, registered strings and thread names, turned into events.
 *
 * How it gets called. An application built with the NVTX v3 headers carries
 * its own NVTX loader. On the first NVTX call, that loader dlopens the
 * library named by NVTX_INJECTION64_PATH and calls its exported
 * InitializeInjectionNvtx2 with a function that hands out export tables.
 * The CALLBACKS table gives, per module (CORE, CORE2, CUDA, ...), an array
 * of pointers to the loader's function-pointer slots indexed by callback id;
 * we store our functions into the CORE and CORE2 slots we implement, and
 * the loader turns every slot we leave alone into a no-op. Returning 0
 * instead makes the loader unload us and turn every NVTX call into a no-op:
 * that is what happens when tstop is not there (no socket, refused), so a
 * program that merely has the variable set pays nothing. Each NVTX instance
 * in the process (one per library built with the headers) initializes
 * separately; all share this backend.
 *
 * Push/pop. Each thread has a fixed stack of NVTX_STACK_MAX open ranges
 * (start time, name id, attribute id, domain), reached through one
 * initial-exec thread-local pointer. A push interns its message and
 * attributes (an ASCII message seen before at the same address is answered
 * by a small per-thread cache that compares the bytes; otherwise a lock-free
 * table lookup) and reads the clock; a pop reads the clock and sends one
 * TRACE_NVTX_RANGE event. No lock, allocation or system call on that path
 * besides the vDSO clock reads, which are most of its cost. NVTX keeps one push/pop stack per domain
 * and thread: a pop of domain D closes the innermost open range of D, which
 * is the top of the stack unless domains interleave. Pushes beyond the
 * fixed depth are counted as lost ("nvtx") and their pops only unwind the
 * count; a pop with nothing open of its domain is an anomaly counted as
 * "nvtx_unmatched_pop" and otherwise ignored.
 *
 * Start/end. Open start/end ranges live in a fixed table of NVTX_OPEN_SLOTS
 * slots shared by all threads, each owned through one atomic word: 0 free,
 * NVTX_SLOT_BUSY while a thread fills or empties it, else the id of the
 * range in it. The id returned to the application is (sequence << 13 |
 * slot), unique for the life of the process, so nvtxRangeEnd on any thread
 * finds its slot in O(1) and a stale or repeated id cannot match a reused
 * slot. The event goes on the starting thread's track with
 * TRACE_FLAG_NVTX_STARTEND. A full table loses the range ("nvtx"); an id
 * that matches nothing counts as "nvtx_unmatched_end".
 *
 * What is still open when the process exits (or a thread ends) is sent
 * with TRACE_FLAG_OPEN and end = that time.
 *
 * Attach (inject.h). In a process started for attach the loader gets our
 * callbacks even while the collector is dormant. Until a session records
 * NVTX, pushes and pops only keep each thread's nesting ("quiet": no clock
 * read, no interning, no event, no count), start/end calls return id 0, and
 * thread names are remembered. So in a session:
 *   - a range pushed before the attach and popped during the session is not
 *     recorded (its start is unknown) and its pop is not an anomaly; a
 *     start/end range started before the attach is not recorded either, and
 *     its end is not an anomaly;
 *   - ranges still open at the detach are sent with TRACE_FLAG_OPEN and
 *     end = the detach time, as at exit, and are not sent again later;
 *   - thread names given before the attach are sent when it starts, and
 *     loss and anomaly counts start at 0.
 * Ranges carry the generation they were opened in, so one opened in an
 * earlier session never reaches a later one.
 *
 * Capture windows (proto.h). While tstop is connected but capture is
 * paused (tstop's switch, or outside the capture range), pushes and pops
 * are kept quietly as in a dormant process, so that a range pushed while
 * paused and popped after is neither recorded nor an anomaly; a range
 * opened while capture was on is still sent when it ends while paused, and
 * thread names are sent whatever the switch says. With a capture range,
 * each push and start (recorded or quiet) tests its message and domain
 * against it (inject_range_is; one load when the session has none); a
 * match enters the range before the range's start is read, so that capture
 * is on for it, and the frame or slot is marked (`trig`) so that its pop or
 * end, or its thread's exit, leaves it. Marks do not open windows.
 *
 * Domains and registered strings are handles to immutable objects of ours
 * (deduplicated by content, never freed: an application that destroys a
 * domain may still hold its handles). Their collector string ids are cached
 * in the object together with the id generation (inject_generation), so a
 * fork child interns them again in its own id space. Wide strings are
 * converted to UTF-8.
 *
 * Category names (nvtxNameCategory*) are not taken: the trace model and the
 * protocol have no place for them, so the loader keeps those calls no-ops;
 * events still carry their category numbers.
 *
 * Payloads are stored as the raw bits of their NVTX type: 64-bit types as
 * they are, 32-bit types (u32, i32, float) zero-extended from their 32-bit
 * pattern.
 */
#define NVTX_NO_IMPL
#include <nvtx3/nvToolsExt.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/inject/inject.h"
#include "capture/inject/inject_hot.h"
#include "capture/inject/inject_table.h"
#include "capture/inject/inject_text.h"

#define NVTX_STACK_MAX  128u /* open push/pop ranges kept per thread */
#define NVTX_SLOT_BITS  13u  /* log2 of the start/end table size */
#define NVTX_OPEN_SLOTS (1u << NVTX_SLOT_BITS)
#define NVTX_SLOT_BUSY  1u        /* slot word: being filled or emptied */
#define NVTX_NO_EMIT    INT64_MIN /* start time of a range whose event cannot be sent */
#define NVTX_MSG_CACHE  16u       /* per-thread message cache entries, a power of two */
#define NVTX_MSG_CACHED 47u       /* longest message the cache holds */

/* The loader's "no tool tracks push/pop" return value. */
#define NVTX_UNTRACKED (-2)

/* One open push/pop range. */
struct nvtx_frame {
	int64_t start; /* session clock, or NVTX_NO_EMIT */
	uint32_t name; /* collector string id */
	uint32_t attr; /* collector NVTX attribute id */
	const void *domain;
	bool trig; /* a range of the capture range: its pop calls inject_range_leave */
};

/* A cached ASCII message: the string id of the NUL-terminated `bytes`
 * last seen at address `ptr` in generation `gen`. */
struct nvtx_msg {
	const char *ptr;
	uint32_t gen;
	uint32_t id;
	char bytes[NVTX_MSG_CACHED + 1];
};

/* One thread's push/pop state; owned by the thread, listed in nvtx_threads
 * so that exit can send what is open. */
struct nvtx_thread {
	struct nvtx_thread *next, *prev; /* under nvtx_lock */
	uint32_t gen;                    /* generation of `track` and of the frames' ids */
	uint32_t track;                  /* the thread's track, 0 until it could be sent */
	_Atomic uint32_t depth;          /* open pushes, counting those beyond the stack */
	struct nvtx_frame stack[NVTX_STACK_MAX];
	struct nvtx_msg msgs[NVTX_MSG_CACHE]; /* direct-mapped by message address */
};

/* One open start/end range (see the file comment for `state`). */
struct nvtx_open {
	_Atomic uint64_t state;
	int64_t start; /* session clock, or NVTX_NO_EMIT */
	uint32_t name, attr, track;
	uint32_t gen; /* generation of the ids */
	bool trig;    /* a range of the capture range (see nvtx_frame) */
};

/* A thread name given while the process may be attached later. */
struct nvtx_tname {
	struct nvtx_tname *next; /* under nvtx_lock */
	uint32_t tid;
	uint32_t len;
	char name[];
};

/* A domain or registered-string handle: immutable but for the cache. */
struct nvtx_handle {
	_Atomic uint64_t cache; /* generation << 32 | string id of the bytes */
	uint32_t len;
	char bytes[];
};

/* Initial-exec: one pointer of static TLS instead of a __tls_get_addr call
 * per NVTX call. tstop preloads the collector, so it is loaded at start-up;
 * a dlopen without preloading needs 8 bytes of glibc's static TLS surplus. */
static __thread struct nvtx_thread *nvtx_self __attribute__((tls_model("initial-exec")));

static pthread_mutex_t nvtx_lock = PTHREAD_MUTEX_INITIALIZER; /* threads list, handle registries */
static struct nvtx_thread *nvtx_threads;
static pthread_key_t nvtx_key;
static pthread_once_t nvtx_once = PTHREAD_ONCE_INIT;
static bool nvtx_key_ok;

/* Handle registry under nvtx_lock: kind + owner + content -> id, id - 1
 * indexes nvtx_handles. */
static struct inj_table nvtx_handle_index = INJ_TABLE_INITIALIZER;
static struct nvtx_handle **nvtx_handles;
static size_t nvtx_handles_cap;

static struct nvtx_open nvtx_opens[NVTX_OPEN_SLOTS];
static _Atomic uint64_t nvtx_open_seq;

static _Atomic uint64_t nvtx_lost, nvtx_unmatched_pop, nvtx_unmatched_end;

static struct nvtx_tname *nvtx_tnames; /* under nvtx_lock; only in a process started for attach */

/* --- losses and events ----------------------------------------------------------- */

/* Counts one loss of `source`; sends the total when it reaches a power of
 * two, so that live views see it without a record per loss. */
static void nvtx_count(_Atomic uint64_t *counter, const char *source)
{
	uint64_t n = atomic_fetch_add_explicit(counter, 1, memory_order_relaxed) + 1;
	if ((n & (n - 1)) == 0)
		inject_loss(source, n);
}

/* Sends one NVTX event on `track`; end is raised to start when an exit
 * time precedes it. */
static void nvtx_emit(uint8_t kind, uint8_t flags, int64_t start, int64_t end, uint32_t name, uint32_t attr,
                      uint32_t track)
{
	struct trace_event ev = {
	    .start = start,
	    .end = end < start ? start : end,
	    .name = name,
	    .track = track,
	    .kind = kind,
	    .flags = flags,
	    .u.nvtx = {.attr = attr},
	};
	inj_fast_event(&ev);
}

/* --- per-thread state ------------------------------------------------------------- */

/* Sends a thread's open push/pop ranges with TRACE_FLAG_OPEN, ending at
 * `now`. The owner, or exit while the owner may still run (then the reads
 * can race with its pushes: the depth is read once, the frames below it
 * were written before it was published). */
static void nvtx_thread_flush_open(struct nvtx_thread *t, int64_t now)
{
	if (t->gen != inj_fast_gen() || !t->track)
		return;
	uint32_t depth = atomic_load_explicit(&t->depth, memory_order_acquire);
	if (depth > NVTX_STACK_MAX)
		depth = NVTX_STACK_MAX;
	for (uint32_t i = 0; i < depth; i++) {
		const struct nvtx_frame *f = &t->stack[i];
		if (f->start != NVTX_NO_EMIT)
			nvtx_emit(TRACE_NVTX_RANGE, TRACE_FLAG_OPEN, f->start, now, f->name, f->attr,
			          t->track);
	}
}

/* Thread-exit destructor (pthread key): sends the thread's open ranges,
 * leaves the capture-range ones still open, and frees its state. */
static void nvtx_thread_exit(void *p)
{
	struct nvtx_thread *t = p;
	if (inj_fast_enabled(PROTO_OPT_NVTX))
		nvtx_thread_flush_open(t, inj_fast_now());
	if (t->gen == inj_fast_gen()) {
		uint32_t depth = atomic_load_explicit(&t->depth, memory_order_relaxed);
		for (uint32_t i = 0; i < depth && i < NVTX_STACK_MAX; i++)
			if (t->stack[i].trig)
				inject_range_leave();
	}
	pthread_mutex_lock(&nvtx_lock);
	if (t->prev)
		t->prev->next = t->next;
	else
		nvtx_threads = t->next;
	if (t->next)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&nvtx_lock);
	if (nvtx_self == t)
		nvtx_self = NULL;
	free(t);
}

/* The slow path of nvtx_thread_get and nvtx_thread_quiet: creates the
 * thread's state, or brings it to generation `gen` (a fork child, or a new
 * session: frames pushed before are popped without an event), and with
 * `track` resolves the thread's track. NULL only when memory runs out. */
static struct nvtx_thread *nvtx_thread_slow(struct nvtx_thread *t, uint32_t gen, bool track)
{
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return NULL;
		t->gen = gen;
		pthread_mutex_lock(&nvtx_lock);
		t->next = nvtx_threads;
		if (nvtx_threads)
			nvtx_threads->prev = t;
		nvtx_threads = t;
		pthread_mutex_unlock(&nvtx_lock);
		if (nvtx_key_ok)
			pthread_setspecific(nvtx_key, t);
		nvtx_self = t;
	}
	if (t->gen != gen) {
		uint32_t depth = atomic_load_explicit(&t->depth, memory_order_relaxed);
		for (uint32_t i = 0; i < depth && i < NVTX_STACK_MAX; i++) {
			t->stack[i].start = NVTX_NO_EMIT;
			t->stack[i].trig = false;
		}
		t->gen = gen;
		t->track = 0;
	}
	if (track && !t->track)
		t->track = inject_thread_track();
	return t;
}

/* The calling thread's state, current generation; NULL when memory ran
 * out. One thread-local load and a generation check when known. */
static inline struct nvtx_thread *nvtx_thread_get(void)
{
	struct nvtx_thread *t = nvtx_self;
	uint32_t gen = inj_fast_gen();
	if (t && t->gen == gen && t->track)
		return t;
	return nvtx_thread_slow(t, gen, true);
}

/* The calling thread's state for a quiet push or pop (see the file
 * comment), or NULL when the process was not started for attach and tstop
 * is not connected, or memory ran out. */
static inline struct nvtx_thread *nvtx_thread_quiet(void)
{
	if (!inj_fast_attach() && !inj_fast_connected())
		return NULL;
	struct nvtx_thread *t = nvtx_self;
	uint32_t gen = inj_fast_gen();
	if (t && t->gen == gen)
		return t;
	return nvtx_thread_slow(t, gen, false);
}

/* --- handles and attributes ------------------------------------------------------- */

/* The string id of a handle's bytes in this generation, interned when the
 * cached one is stale. Returns false when the string could not be sent. */
static bool nvtx_handle_id(struct nvtx_handle *h, uint32_t *id)
{
	uint64_t gen = inj_fast_gen();
	uint64_t c = atomic_load_explicit(&h->cache, memory_order_acquire);
	if (c >> 32 == gen && (uint32_t)c) {
		*id = (uint32_t)c;
		return true;
	}
	*id = inject_string(h->bytes, h->len);
	if (!*id)
		return h->len == 0;
	atomic_store_explicit(&h->cache, gen << 32 | *id, memory_order_release);
	return true;
}

/* The handle of (kind, owner, bytes): a domain ('D', no owner) or a string
 * registered in a domain ('S', owner = the domain handle). The same content
 * gives the same handle. NULL when memory runs out. Takes nvtx_lock; O(len). */
static struct nvtx_handle *nvtx_handle_get(char kind, const void *owner, const char *bytes, size_t len)
{
	unsigned char key[1 + sizeof(owner) + PROTO_STRING_MAX];
	if (len > PROTO_STRING_MAX)
		len = PROTO_STRING_MAX;
	key[0] = (unsigned char)kind;
	memcpy(key + 1, &owner, sizeof(owner));
	if (len)
		memcpy(key + 1 + sizeof(owner), bytes, len);
	size_t klen = 1 + sizeof(owner) + len;
	uint64_t hash = inj_hash(key, klen);
	struct nvtx_handle *h = NULL;
	pthread_mutex_lock(&nvtx_lock);
	uint32_t id = inj_table_find(&nvtx_handle_index, 0, hash, key, klen);
	if (id) {
		h = nvtx_handles[id - 1];
		goto out;
	}
	size_t need = nvtx_handle_index.next_id;
	if (need > nvtx_handles_cap) {
		size_t cap = nvtx_handles_cap ? nvtx_handles_cap * 2 : 16;
		struct nvtx_handle **a =
		    cap < SIZE_MAX / sizeof(*a) ? realloc(nvtx_handles, cap * sizeof(*a)) : NULL;
		if (!a)
			goto out;
		nvtx_handles = a;
		nvtx_handles_cap = cap;
	}
	h = malloc(sizeof(*h) + len);
	if (!h)
		goto out;
	atomic_init(&h->cache, 0);
	h->len = (uint32_t)len;
	if (len)
		memcpy(h->bytes, bytes, len);
	struct inj_entry *e = inj_table_prepare(&nvtx_handle_index, 0, hash, key, klen);
	if (!e) {
		free(h);
		h = NULL;
		goto out;
	}
	nvtx_handles[e->id - 1] = h;
	inj_table_publish(&nvtx_handle_index, e);
out:
	pthread_mutex_unlock(&nvtx_lock);
	return h;
}

/* Interns an ASCII message; false when it could not be sent. The thread's
 * cache answers a message seen before at the same address with the same
 * bytes without hashing it (strncmp stops at the first difference or NUL,
 * so it never reads past the application's string). */
static bool nvtx_ascii(struct nvtx_thread *t, const char *s, uint32_t *name)
{
	*name = 0;
	if (!s)
		return true;
	uintptr_t a = (uintptr_t)s;
	struct nvtx_msg *m = &t->msgs[(a >> 3 ^ a >> 9) & (NVTX_MSG_CACHE - 1)];
	if (m->ptr == s && m->gen == t->gen && m->id && strncmp(m->bytes, s, sizeof(m->bytes)) == 0) {
		*name = m->id;
		return true;
	}
	size_t len = strnlen(s, PROTO_STRING_MAX);
	*name = inject_string(s, len);
	if (!*name)
		return len == 0;
	if (len <= NVTX_MSG_CACHED) {
		m->ptr = s;
		m->gen = t->gen;
		m->id = *name;
		memcpy(m->bytes, s, len);
		m->bytes[len] = '\0';
	}
	return true;
}

/* Interns a wide message as UTF-8; false when it could not be sent. */
static bool nvtx_wide(const wchar_t *w, uint32_t *name)
{
	char buf[PROTO_STRING_MAX];
	size_t n = inj_wide_to_utf8(w, buf, sizeof(buf));
	*name = inject_string(buf, n);
	return *name || !n;
}

/* The string id of an event's message of NVTX type `type`. */
static bool nvtx_message(struct nvtx_thread *t, int32_t type, const nvtxMessageValue_t *m, uint32_t *name)
{
	*name = 0;
	switch (type) {
	case NVTX_MESSAGE_TYPE_ASCII:
		return nvtx_ascii(t, m->ascii, name);
	case NVTX_MESSAGE_TYPE_UNICODE:
		return nvtx_wide(m->unicode, name);
	case NVTX_MESSAGE_TYPE_REGISTERED:
		return !m->registered || nvtx_handle_id((struct nvtx_handle *)m->registered, name);
	default:
		return true;
	}
}

/* Copies an event's payload, as raw bits of its type, into `at`. */
static void nvtx_payload(const nvtxEventAttributes_t *a, struct trace_nvtx_attr *at)
{
	uint32_t bits32;
	switch (a->payloadType) {
	case NVTX_PAYLOAD_TYPE_UNSIGNED_INT64:
		at->payload_type = TRACE_NVTX_PAYLOAD_U64;
		at->payload = a->payload.ullValue;
		break;
	case NVTX_PAYLOAD_TYPE_INT64:
		at->payload_type = TRACE_NVTX_PAYLOAD_I64;
		at->payload = (uint64_t)a->payload.llValue;
		break;
	case NVTX_PAYLOAD_TYPE_DOUBLE:
		at->payload_type = TRACE_NVTX_PAYLOAD_DOUBLE;
		memcpy(&at->payload, &a->payload.dValue, sizeof(at->payload));
		break;
	case NVTX_PAYLOAD_TYPE_UNSIGNED_INT32:
		at->payload_type = TRACE_NVTX_PAYLOAD_U32;
		at->payload = a->payload.uiValue;
		break;
	case NVTX_PAYLOAD_TYPE_INT32:
		at->payload_type = TRACE_NVTX_PAYLOAD_I32;
		at->payload = (uint32_t)a->payload.iValue;
		break;
	case NVTX_PAYLOAD_TYPE_FLOAT:
		at->payload_type = TRACE_NVTX_PAYLOAD_FLOAT;
		memcpy(&bits32, &a->payload.fValue, sizeof(bits32));
		at->payload = bits32;
		break;
	default:
		break;
	}
}

/* Whether the application's attribute struct, `size` bytes as it declares,
 * holds member `field`. */
#define NVTX_HAS(size, field)                                                                                \
	(offsetof(nvtxEventAttributes_t, field) + sizeof(((nvtxEventAttributes_t *)0)->field) <= (size))

/* Turns an event of `domain` with attributes `a` (the application's, may
 * be NULL) into a name id and an attribute id (0 when the event has no
 * domain and no attributes). Returns false when an id could not be sent
 * (the event is then dropped; the ring counted the drop). */
static bool nvtx_resolve(struct nvtx_thread *t, struct nvtx_handle *domain, const nvtxEventAttributes_t *a,
                         uint32_t *name, uint32_t *attr)
{
	struct trace_nvtx_attr at;
	memset(&at, 0, sizeof(at));
	*name = 0;
	*attr = 0;
	if (domain && !nvtx_handle_id(domain, &at.domain))
		return false;
	if (a) {
		size_t size = a->size;
		if (NVTX_HAS(size, category))
			at.category = a->category;
		if (NVTX_HAS(size, color) && a->colorType == NVTX_COLOR_ARGB) {
			at.color = a->color;
			at.has_color = 1;
		}
		if (NVTX_HAS(size, payload))
			nvtx_payload(a, &at);
		if (NVTX_HAS(size, message) && !nvtx_message(t, a->messageType, &a->message, name))
			return false;
	}
	if (at.domain || at.category || at.has_color || at.payload_type) {
		*attr = inject_nvtx_attr(&at);
		if (!*attr)
			return false;
	}
	return true;
}

/* --- push/pop, marks, start/end ----------------------------------------------------- */

/* Pushes a range of `domain` on the calling thread's stack; `ok` false
 * keeps the pairing but sends no event; `trig`: a range of the capture
 * range, entered by the caller (left here when it cannot be kept). Returns
 * the range's 0-based level. */
static int nvtx_push(struct nvtx_thread *t, const void *domain, bool ok, uint32_t name, uint32_t attr,
                     bool trig)
{
	uint32_t depth = atomic_load_explicit(&t->depth, memory_order_relaxed);
	if (depth == UINT32_MAX || depth >= NVTX_STACK_MAX) {
		if (trig)
			inject_range_leave();
		if (depth == UINT32_MAX)
			return NVTX_UNTRACKED;
		nvtx_count(&nvtx_lost, "nvtx");
	} else {
		struct nvtx_frame *f = &t->stack[depth];
		f->name = name;
		f->attr = attr;
		f->domain = domain;
		f->trig = trig;
		f->start = ok && t->track ? inj_fast_now() : NVTX_NO_EMIT;
	}
	atomic_store_explicit(&t->depth, depth + 1, memory_order_release);
	return (int)depth;
}

/* Pops the innermost open range of `domain` on the calling thread and
 * sends it, ending at `now` (0: read the clock when there is something to
 * send). Returns the level it had, or -1 when nothing of the domain is open
 * (counted unless `quiet`). O(1) unless domains interleave. */
static int nvtx_pop(struct nvtx_thread *t, const void *domain, bool quiet, int64_t now)
{
	uint32_t depth = atomic_load_explicit(&t->depth, memory_order_relaxed);
	if (depth > NVTX_STACK_MAX) {
		atomic_store_explicit(&t->depth, depth - 1, memory_order_release);
		return (int)(depth - 1);
	}
	uint32_t i = depth;
	while (i > 0 && t->stack[i - 1].domain != domain)
		i--;
	if (i == 0) {
		if (!quiet)
			nvtx_count(&nvtx_unmatched_pop, "nvtx_unmatched_pop");
		return -1;
	}
	struct nvtx_frame f = t->stack[--i];
	if (i + 1 < depth)
		memmove(&t->stack[i], &t->stack[i + 1], (depth - 1 - i) * sizeof(f));
	atomic_store_explicit(&t->depth, depth - 1, memory_order_release);
	if (f.start != NVTX_NO_EMIT)
		nvtx_emit(TRACE_NVTX_RANGE, 0, f.start, now ? now : inj_fast_now(), f.name, f.attr, t->track);
	if (f.trig)
		inject_range_leave();
	return (int)i;
}

/* Sends a mark on the calling thread's track. */
static void nvtx_mark(struct nvtx_thread *t, bool ok, uint32_t name, uint32_t attr)
{
	if (!ok || !t->track)
		return;
	int64_t now = inj_fast_now();
	nvtx_emit(TRACE_NVTX_MARK, 0, now, now, name, attr, t->track);
}

/* Opens a start/end range in a free slot, on track `track` with ids of
 * generation `gen`; `ok` and `trig` as for nvtx_push. Returns its id, or 0
 * (counted as lost) when every slot is taken. */
static nvtxRangeId_t nvtx_start(uint32_t track, uint32_t gen, bool ok, uint32_t name, uint32_t attr,
                                bool trig)
{
	uint64_t seq = atomic_fetch_add_explicit(&nvtx_open_seq, 1, memory_order_relaxed) + 1;
	for (uint32_t k = 0; k < NVTX_OPEN_SLOTS; k++) {
		uint32_t slot = (uint32_t)(seq + k) & (NVTX_OPEN_SLOTS - 1);
		struct nvtx_open *o = &nvtx_opens[slot];
		uint64_t expected = 0;
		if (!atomic_compare_exchange_strong_explicit(&o->state, &expected, NVTX_SLOT_BUSY,
		                                             memory_order_acquire, memory_order_relaxed))
			continue;
		o->name = name;
		o->attr = attr;
		o->track = track;
		o->gen = gen;
		o->trig = trig;
		o->start = ok && track ? inj_fast_now() : NVTX_NO_EMIT;
		uint64_t id = seq << NVTX_SLOT_BITS | slot;
		atomic_store_explicit(&o->state, id, memory_order_release);
		return id;
	}
	nvtx_count(&nvtx_lost, "nvtx");
	if (trig)
		inject_range_leave();
	return 0;
}

/* Closes start/end range `id` (from any thread) and sends it, ending at
 * `now` (0: read the clock when there is something to send), on the track
 * of the thread that started it. An id that matches no open range is
 * counted unless `quiet`; id 0 (a range that was never opened) is ignored. */
static void nvtx_end(nvtxRangeId_t id, int64_t now, bool quiet)
{
	struct nvtx_open *o = &nvtx_opens[id & (NVTX_OPEN_SLOTS - 1)];
	uint64_t expected = id;
	if (id < NVTX_OPEN_SLOTS ||
	    !atomic_compare_exchange_strong_explicit(&o->state, &expected, NVTX_SLOT_BUSY,
	                                             memory_order_acquire, memory_order_relaxed)) {
		if (id && !quiet)
			nvtx_count(&nvtx_unmatched_end, "nvtx_unmatched_end");
		return;
	}
	int64_t start = o->start;
	uint32_t name = o->name, attr = o->attr, track = o->track, gen = o->gen;
	bool trig = o->trig;
	atomic_store_explicit(&o->state, 0, memory_order_release);
	if (start != NVTX_NO_EMIT && gen == inj_fast_gen())
		nvtx_emit(TRACE_NVTX_RANGE, TRACE_FLAG_NVTX_STARTEND, start, now ? now : inj_fast_now(), name,
		          attr, track);
	if (trig && gen == inj_fast_gen())
		inject_range_leave();
}

/* --- the NVTX callbacks ------------------------------------------------------------- */
/* Each does nothing (and returns what the loader's no-op would) unless
 * tstop captures NVTX and the thread's state exists, but for the quiet
 * nesting of a process started for attach. Pops and ends read the clock
 * first (right after the one load that says NVTX is recorded), pushes,
 * starts and marks last, so that the collector's own work stays outside
 * the ranges. */

/* The calling thread's state when NVTX is captured, else NULL. */
static inline struct nvtx_thread *nvtx_enter(void)
{
	return inj_fast_active(PROTO_OPT_NVTX) ? nvtx_thread_get() : NULL;
}

/* After nvtx_enter() gave `t`, for a range that may open a capture window:
 * one of the capture range (`trig`) is entered, and when capture was off
 * the thread's state is asked for again, so that capture is on when its
 * start is read. */
static inline struct nvtx_thread *nvtx_enter_range(struct nvtx_thread *t, bool trig)
{
	if (!trig)
		return t;
	inject_range_enter();
	return t ? t : nvtx_enter();
}

/* Whether a range with ASCII message `s` in `domain` (NULL: the default
 * domain) is one of the capture range. One load when there is none. */
static inline bool nvtx_trig_ascii(const struct nvtx_handle *domain, const char *s)
{
	return inj_fast_ranged() && s &&
	       inject_range_is_cstr(s, domain ? domain->bytes : NULL, domain ? domain->len : 0);
}

/* The same for a wide message (converted to UTF-8 first). */
static bool nvtx_trig_wide(const struct nvtx_handle *domain, const wchar_t *w)
{
	if (!inj_fast_ranged() || !w)
		return false;
	char buf[PROTO_STRING_MAX];
	size_t n = inj_wide_to_utf8(w, buf, sizeof(buf));
	return inject_range_is(buf, n, domain ? domain->bytes : NULL, domain ? domain->len : 0);
}

/* The same for an event's attributes (the application's, may be NULL). */
static bool nvtx_trig_attr(const struct nvtx_handle *domain, const nvtxEventAttributes_t *a)
{
	if (!inj_fast_ranged() || !a || !NVTX_HAS(a->size, message))
		return false;
	switch (a->messageType) {
	case NVTX_MESSAGE_TYPE_ASCII:
		return nvtx_trig_ascii(domain, a->message.ascii);
	case NVTX_MESSAGE_TYPE_UNICODE:
		return nvtx_trig_wide(domain, a->message.unicode);
	case NVTX_MESSAGE_TYPE_REGISTERED: {
		const struct nvtx_handle *h = (const struct nvtx_handle *)a->message.registered;
		return h && inject_range_is(h->bytes, h->len, domain ? domain->bytes : NULL,
		                            domain ? domain->len : 0);
	}
	default:
		return false;
	}
}

/* A start while NVTX is not recorded: only a range of the capture range
 * takes a slot (sending nothing), so that its end closes the window. */
static nvtxRangeId_t nvtx_quiet_start(bool trig)
{
	return trig ? nvtx_start(0, inj_fast_gen(), false, 0, 0, true) : 0;
}

/* A push while NVTX is not recorded: kept quietly while tstop is connected
 * or may attach (only the domain, whether it is of the capture range, and
 * a start that is never sent), else what the loader's no-op answers. */
static int nvtx_quiet_push(const void *domain, bool trig)
{
	struct nvtx_thread *t = nvtx_thread_quiet();
	uint32_t depth = t ? atomic_load_explicit(&t->depth, memory_order_relaxed) : UINT32_MAX;
	if (trig && depth >= NVTX_STACK_MAX)
		inject_range_leave();
	if (depth == UINT32_MAX)
		return NVTX_UNTRACKED;
	if (depth < NVTX_STACK_MAX) {
		t->stack[depth].domain = domain;
		t->stack[depth].start = NVTX_NO_EMIT;
		t->stack[depth].trig = trig;
	}
	atomic_store_explicit(&t->depth, depth + 1, memory_order_release);
	return (int)depth;
}

/* A pop while NVTX is not recorded (see nvtx_quiet_push): nvtx_pop,
 * without counting an unmatched pop. A range pushed while capture was on
 * is still sent when capture was paused since (its end is read then). */
static int nvtx_quiet_pop(const void *domain)
{
	struct nvtx_thread *t = nvtx_thread_quiet();
	if (!t)
		return NVTX_UNTRACKED;
	return nvtx_pop(t, domain, true, 0);
}

/* An end while NVTX is not recorded: a range started while capture was on
 * is still sent; nothing is counted. */
static void nvtx_quiet_end(nvtxRangeId_t id)
{
	if (inj_fast_connected())
		nvtx_end(id, 0, true);
}

/* Remembers that thread `tid` (0: the caller) is named `name` (`len`
 * bytes), for the sessions of a process started for attach; a thread named
 * again keeps only its last name. Takes nvtx_lock; O(named threads). */
static void nvtx_remember_name(uint32_t tid, const char *name, size_t len)
{
	if (!inj_fast_attach())
		return;
	if (!tid)
		tid = (uint32_t)gettid();
	if (len > PROTO_STRING_MAX)
		len = PROTO_STRING_MAX;
	struct nvtx_tname *n = malloc(sizeof(*n) + len);
	if (!n)
		return;
	n->tid = tid;
	n->len = (uint32_t)len;
	memcpy(n->name, name, len);
	pthread_mutex_lock(&nvtx_lock);
	for (struct nvtx_tname **p = &nvtx_tnames; *p; p = &(*p)->next) {
		if ((*p)->tid == tid) {
			struct nvtx_tname *old = *p;
			*p = old->next;
			free(old);
			break;
		}
	}
	n->next = nvtx_tnames;
	nvtx_tnames = n;
	pthread_mutex_unlock(&nvtx_lock);
}

static void nvtx_cb_mark_ex(const nvtxEventAttributes_t *a)
{
	uint32_t name, attr;
	struct nvtx_thread *t = nvtx_enter();
	if (t) {
		bool ok = nvtx_resolve(t, NULL, a, &name, &attr);
		nvtx_mark(t, ok, name, attr);
	}
}

static void nvtx_cb_mark_a(const char *message)
{
	uint32_t name;
	struct nvtx_thread *t = nvtx_enter();
	if (t) {
		bool ok = nvtx_ascii(t, message, &name);
		nvtx_mark(t, ok, name, 0);
	}
}

static void nvtx_cb_mark_w(const wchar_t *message)
{
	uint32_t name;
	struct nvtx_thread *t = nvtx_enter();
	if (t) {
		bool ok = nvtx_wide(message, &name);
		nvtx_mark(t, ok, name, 0);
	}
}

static nvtxRangeId_t nvtx_cb_start_ex(const nvtxEventAttributes_t *a)
{
	uint32_t name, attr;
	struct nvtx_thread *t = nvtx_enter();
	bool trig = nvtx_trig_attr(NULL, a);
	t = nvtx_enter_range(t, trig);
	if (!t)
		return nvtx_quiet_start(trig);
	bool ok = nvtx_resolve(t, NULL, a, &name, &attr);
	return nvtx_start(t->track, t->gen, ok, name, attr, trig);
}

static nvtxRangeId_t nvtx_cb_start_a(const char *message)
{
	uint32_t name;
	struct nvtx_thread *t = nvtx_enter();
	bool trig = nvtx_trig_ascii(NULL, message);
	t = nvtx_enter_range(t, trig);
	if (!t)
		return nvtx_quiet_start(trig);
	bool ok = nvtx_ascii(t, message, &name);
	return nvtx_start(t->track, t->gen, ok, name, 0, trig);
}

static nvtxRangeId_t nvtx_cb_start_w(const wchar_t *message)
{
	uint32_t name;
	struct nvtx_thread *t = nvtx_enter();
	bool trig = nvtx_trig_wide(NULL, message);
	t = nvtx_enter_range(t, trig);
	if (!t)
		return nvtx_quiet_start(trig);
	bool ok = nvtx_wide(message, &name);
	return nvtx_start(t->track, t->gen, ok, name, 0, trig);
}

static void nvtx_cb_end(nvtxRangeId_t id)
{
	if (inj_fast_active(PROTO_OPT_NVTX))
		nvtx_end(id, inj_fast_now(), false);
	else
		nvtx_quiet_end(id);
}

static int nvtx_cb_push_ex(const nvtxEventAttributes_t *a)
{
	uint32_t name, attr;
	struct nvtx_thread *t = nvtx_enter();
	bool trig = nvtx_trig_attr(NULL, a);
	t = nvtx_enter_range(t, trig);
	if (!t)
		return nvtx_quiet_push(NULL, trig);
	bool ok = nvtx_resolve(t, NULL, a, &name, &attr);
	return nvtx_push(t, NULL, ok, name, attr, trig);
}

static int nvtx_cb_push_a(const char *message)
{
	uint32_t name;
	struct nvtx_thread *t = nvtx_enter();
	bool trig = nvtx_trig_ascii(NULL, message);
	t = nvtx_enter_range(t, trig);
	if (!t)
		return nvtx_quiet_push(NULL, trig);
	bool ok = nvtx_ascii(t, message, &name);
	return nvtx_push(t, NULL, ok, name, 0, trig);
}

static int nvtx_cb_push_w(const wchar_t *message)
{
	uint32_t name;
	struct nvtx_thread *t = nvtx_enter();
	bool trig = nvtx_trig_wide(NULL, message);
	t = nvtx_enter_range(t, trig);
	if (!t)
		return nvtx_quiet_push(NULL, trig);
	bool ok = nvtx_wide(message, &name);
	return nvtx_push(t, NULL, ok, name, 0, trig);
}

static int nvtx_cb_pop(void)
{
	if (!inj_fast_active(PROTO_OPT_NVTX))
		return nvtx_quiet_pop(NULL);
	int64_t now = inj_fast_now();
	struct nvtx_thread *t = nvtx_thread_get();
	return t ? nvtx_pop(t, NULL, false, now) : NVTX_UNTRACKED;
}

static void nvtx_cb_name_thread_a(uint32_t tid, const char *name)
{
	if (!name)
		return;
	size_t len = strnlen(name, PROTO_STRING_MAX);
	nvtx_remember_name(tid, name, len);
	if (inj_fast_enabled(PROTO_OPT_NVTX))
		inject_thread_name(tid, name, len);
}

static void nvtx_cb_name_thread_w(uint32_t tid, const wchar_t *name)
{
	char buf[PROTO_STRING_MAX];
	if (!name)
		return;
	size_t len = inj_wide_to_utf8(name, buf, sizeof(buf));
	nvtx_remember_name(tid, buf, len);
	if (inj_fast_enabled(PROTO_OPT_NVTX))
		inject_thread_name(tid, buf, len);
}

static void nvtx_cb_domain_mark_ex(nvtxDomainHandle_t d, const nvtxEventAttributes_t *a)
{
	uint32_t name, attr;
	struct nvtx_thread *t = nvtx_enter();
	if (t) {
		bool ok = nvtx_resolve(t, (struct nvtx_handle *)d, a, &name, &attr);
		nvtx_mark(t, ok, name, attr);
	}
}

static nvtxRangeId_t nvtx_cb_domain_start_ex(nvtxDomainHandle_t d, const nvtxEventAttributes_t *a)
{
	uint32_t name, attr;
	struct nvtx_thread *t = nvtx_enter();
	bool trig = nvtx_trig_attr((struct nvtx_handle *)d, a);
	t = nvtx_enter_range(t, trig);
	if (!t)
		return nvtx_quiet_start(trig);
	bool ok = nvtx_resolve(t, (struct nvtx_handle *)d, a, &name, &attr);
	return nvtx_start(t->track, t->gen, ok, name, attr, trig);
}

static void nvtx_cb_domain_end(nvtxDomainHandle_t d, nvtxRangeId_t id)
{
	(void)d;
	if (inj_fast_active(PROTO_OPT_NVTX))
		nvtx_end(id, inj_fast_now(), false);
	else
		nvtx_quiet_end(id);
}

static int nvtx_cb_domain_push_ex(nvtxDomainHandle_t d, const nvtxEventAttributes_t *a)
{
	uint32_t name, attr;
	struct nvtx_thread *t = nvtx_enter();
	bool trig = nvtx_trig_attr((struct nvtx_handle *)d, a);
	t = nvtx_enter_range(t, trig);
	if (!t)
		return nvtx_quiet_push(d, trig);
	bool ok = nvtx_resolve(t, (struct nvtx_handle *)d, a, &name, &attr);
	return nvtx_push(t, d, ok, name, attr, trig);
}

static int nvtx_cb_domain_pop(nvtxDomainHandle_t d)
{
	if (!inj_fast_active(PROTO_OPT_NVTX))
		return nvtx_quiet_pop(d);
	int64_t now = inj_fast_now();
	struct nvtx_thread *t = nvtx_thread_get();
	return t ? nvtx_pop(t, d, false, now) : NVTX_UNTRACKED;
}

static nvtxStringHandle_t nvtx_cb_register_a(nvtxDomainHandle_t d, const char *s)
{
	if (!s)
		return NULL;
	return (nvtxStringHandle_t)nvtx_handle_get('S', d, s, strnlen(s, PROTO_STRING_MAX));
}

static nvtxStringHandle_t nvtx_cb_register_w(nvtxDomainHandle_t d, const wchar_t *s)
{
	char buf[PROTO_STRING_MAX];
	if (!s)
		return NULL;
	return (nvtxStringHandle_t)nvtx_handle_get('S', d, buf, inj_wide_to_utf8(s, buf, sizeof(buf)));
}

static nvtxDomainHandle_t nvtx_cb_domain_create_a(const char *name)
{
	if (!name)
		return NULL;
	return (nvtxDomainHandle_t)nvtx_handle_get('D', NULL, name, strnlen(name, PROTO_STRING_MAX));
}

static nvtxDomainHandle_t nvtx_cb_domain_create_w(const wchar_t *name)
{
	char buf[PROTO_STRING_MAX];
	if (!name)
		return NULL;
	return (nvtxDomainHandle_t)nvtx_handle_get('D', NULL, buf, inj_wide_to_utf8(name, buf, sizeof(buf)));
}

/* --- process exit, fork, initialization ---------------------------------------------- */

/* Exit function (inject_register_exit): sends every range still open, with
 * TRACE_FLAG_OPEN and end = `now`, and the final loss totals. */
static void nvtx_at_exit(int64_t now)
{
	pthread_mutex_lock(&nvtx_lock);
	for (struct nvtx_thread *t = nvtx_threads; t; t = t->next)
		nvtx_thread_flush_open(t, now);
	pthread_mutex_unlock(&nvtx_lock);
	for (uint32_t i = 0; i < NVTX_OPEN_SLOTS; i++) {
		struct nvtx_open *o = &nvtx_opens[i];
		uint64_t st = atomic_load_explicit(&o->state, memory_order_acquire);
		if (st <= NVTX_SLOT_BUSY ||
		    !atomic_compare_exchange_strong_explicit(&o->state, &st, NVTX_SLOT_BUSY,
		                                             memory_order_acquire, memory_order_relaxed))
			continue;
		if (o->start != NVTX_NO_EMIT && o->gen == inj_fast_gen())
			nvtx_emit(TRACE_NVTX_RANGE, TRACE_FLAG_NVTX_STARTEND | TRACE_FLAG_OPEN, o->start, now,
			          o->name, o->attr, o->track);
		atomic_store_explicit(&o->state, st, memory_order_release);
	}
	uint64_t n;
	if ((n = atomic_load_explicit(&nvtx_lost, memory_order_relaxed)))
		inject_loss("nvtx", n);
	if ((n = atomic_load_explicit(&nvtx_unmatched_pop, memory_order_relaxed)))
		inject_loss("nvtx_unmatched_pop", n);
	if ((n = atomic_load_explicit(&nvtx_unmatched_end, memory_order_relaxed)))
		inject_loss("nvtx_unmatched_end", n);
}

/* Before fork: holds nvtx_lock so that the child gets it free. */
static void nvtx_fork_prepare(void)
{
	pthread_mutex_lock(&nvtx_lock);
}

/* After fork, in the parent. */
static void nvtx_fork_parent(void)
{
	pthread_mutex_unlock(&nvtx_lock);
}

/* After fork, in the child: only the calling thread survives, so the other
 * threads' states are freed; the parent's start/end ranges, loss counts and
 * thread names are not the child's. The surviving thread's frames are retired by the
 * generation change (nvtx_thread_slow). */
static void nvtx_fork_child(void)
{
	struct nvtx_thread *self = nvtx_self, *next;
	for (struct nvtx_thread *t = nvtx_threads; t; t = next) {
		next = t->next;
		if (t != self)
			free(t);
	}
	nvtx_threads = self;
	if (self)
		self->next = self->prev = NULL;
	while (nvtx_tnames) {
		struct nvtx_tname *n = nvtx_tnames;
		nvtx_tnames = n->next;
		free(n);
	}
	for (uint32_t i = 0; i < NVTX_OPEN_SLOTS; i++)
		atomic_store_explicit(&nvtx_opens[i].state, 0, memory_order_relaxed);
	atomic_store_explicit(&nvtx_lost, 0, memory_order_relaxed);
	atomic_store_explicit(&nvtx_unmatched_pop, 0, memory_order_relaxed);
	atomic_store_explicit(&nvtx_unmatched_end, 0, memory_order_relaxed);
	pthread_mutex_unlock(&nvtx_lock);
}

/* Session start function (inject_register_session): counts start at 0,
 * and the names threads were given before are sent when the thread is
 * still there. */
static void nvtx_session_start(void)
{
	atomic_store_explicit(&nvtx_lost, 0, memory_order_relaxed);
	atomic_store_explicit(&nvtx_unmatched_pop, 0, memory_order_relaxed);
	atomic_store_explicit(&nvtx_unmatched_end, 0, memory_order_relaxed);
	if (!inj_fast_enabled(PROTO_OPT_NVTX))
		return;
	pthread_mutex_lock(&nvtx_lock);
	for (struct nvtx_tname **p = &nvtx_tnames; *p;) {
		struct nvtx_tname *n = *p;
		char task[48];
		snprintf(task, sizeof(task), "/proc/self/task/%u", n->tid);
		if (access(task, F_OK) < 0) {
			*p = n->next;
			free(n);
			continue;
		}
		inject_thread_name(n->tid, n->name, n->len);
		p = &n->next;
	}
	pthread_mutex_unlock(&nvtx_lock);
}

/* Once per process: the thread-exit key, fork handlers, exit and session
 * functions. */
static void nvtx_setup(void)
{
	nvtx_key_ok = pthread_key_create(&nvtx_key, nvtx_thread_exit) == 0;
	pthread_atfork(nvtx_fork_prepare, nvtx_fork_parent, nvtx_fork_child);
	inject_register_exit(nvtx_at_exit);
	inject_register_session(nvtx_session_start, NULL);
}

/* One callback to install: its id in its module and our function. */
struct nvtx_slot {
	unsigned cbid;
	NvtxFunctionPointer fn;
};

#define NVTX_FN(f) ((NvtxFunctionPointer)(f))

static const struct nvtx_slot nvtx_core_slots[] = {
    {NVTX_CBID_CORE_MarkEx, NVTX_FN(nvtx_cb_mark_ex)},
    {NVTX_CBID_CORE_MarkA, NVTX_FN(nvtx_cb_mark_a)},
    {NVTX_CBID_CORE_MarkW, NVTX_FN(nvtx_cb_mark_w)},
    {NVTX_CBID_CORE_RangeStartEx, NVTX_FN(nvtx_cb_start_ex)},
    {NVTX_CBID_CORE_RangeStartA, NVTX_FN(nvtx_cb_start_a)},
    {NVTX_CBID_CORE_RangeStartW, NVTX_FN(nvtx_cb_start_w)},
    {NVTX_CBID_CORE_RangeEnd, NVTX_FN(nvtx_cb_end)},
    {NVTX_CBID_CORE_RangePushEx, NVTX_FN(nvtx_cb_push_ex)},
    {NVTX_CBID_CORE_RangePushA, NVTX_FN(nvtx_cb_push_a)},
    {NVTX_CBID_CORE_RangePushW, NVTX_FN(nvtx_cb_push_w)},
    {NVTX_CBID_CORE_RangePop, NVTX_FN(nvtx_cb_pop)},
    {NVTX_CBID_CORE_NameOsThreadA, NVTX_FN(nvtx_cb_name_thread_a)},
    {NVTX_CBID_CORE_NameOsThreadW, NVTX_FN(nvtx_cb_name_thread_w)},
};

/* nvtxDomainDestroy is left to the loader's no-op: handles stay valid (see
 * the file comment). */
static const struct nvtx_slot nvtx_core2_slots[] = {
    {NVTX_CBID_CORE2_DomainMarkEx, NVTX_FN(nvtx_cb_domain_mark_ex)},
    {NVTX_CBID_CORE2_DomainRangeStartEx, NVTX_FN(nvtx_cb_domain_start_ex)},
    {NVTX_CBID_CORE2_DomainRangeEnd, NVTX_FN(nvtx_cb_domain_end)},
    {NVTX_CBID_CORE2_DomainRangePushEx, NVTX_FN(nvtx_cb_domain_push_ex)},
    {NVTX_CBID_CORE2_DomainRangePop, NVTX_FN(nvtx_cb_domain_pop)},
    {NVTX_CBID_CORE2_DomainRegisterStringA, NVTX_FN(nvtx_cb_register_a)},
    {NVTX_CBID_CORE2_DomainRegisterStringW, NVTX_FN(nvtx_cb_register_w)},
    {NVTX_CBID_CORE2_DomainCreateA, NVTX_FN(nvtx_cb_domain_create_a)},
    {NVTX_CBID_CORE2_DomainCreateW, NVTX_FN(nvtx_cb_domain_create_w)},
};

/* The loader's table of function-pointer slots of `module` and its size;
 * false when the loader has none. */
static bool nvtx_table(const NvtxExportTableCallbacks *cb, NvtxCallbackModule module,
                       NvtxFunctionTable *table, unsigned int *size)
{
	*table = NULL;
	*size = 0;
	return cb->GetModuleFunctionTable(module, table, size) && *table;
}

/* Stores our functions into the slots of a loader table of `size` slots. */
static void nvtx_install(NvtxFunctionTable table, unsigned int size, const struct nvtx_slot *slots, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (slots[i].cbid < size && table[slots[i].cbid])
			*table[slots[i].cbid] = slots[i].fn;
	}
}

/* The NVTX injection entry point, called by each NVTX instance's loader
 * with its export-table getter. Returns 1 with our callbacks installed when
 * tstop is connected or may attach later (a dormant collector), else 0
 * (the loader unloads us and makes NVTX calls
 * no-ops); nothing that outlives an unload (thread key, fork handlers) is
 * set up before the answer is known to be 1. */
__attribute__((visibility("default"))) int InitializeInjectionNvtx2(NvtxGetExportTableFunc_t get_table);
int InitializeInjectionNvtx2(NvtxGetExportTableFunc_t get_table)
{
	if (!get_table || !inject_present())
		return 0;
	const NvtxExportTableCallbacks *cb = get_table(NVTX_ETID_CALLBACKS);
	if (!cb || cb->struct_size < sizeof(*cb) || !cb->GetModuleFunctionTable)
		return 0;
	NvtxFunctionTable core, core2;
	unsigned int ncore, ncore2;
	if (!nvtx_table(cb, NVTX_CB_MODULE_CORE, &core, &ncore))
		return 0;
	pthread_once(&nvtx_once, nvtx_setup);
	nvtx_install(core, ncore, nvtx_core_slots, sizeof(nvtx_core_slots) / sizeof(nvtx_core_slots[0]));
	if (nvtx_table(cb, NVTX_CB_MODULE_CORE2, &core2, &ncore2))
		nvtx_install(core2, ncore2, nvtx_core2_slots,
		             sizeof(nvtx_core2_slots) / sizeof(nvtx_core2_slots[0]));
	const NvtxExportTableVersionInfo *vi = get_table(NVTX_ETID_VERSIONINFO);
	if (vi && vi->struct_size >= sizeof(*vi) && vi->SetInjectionNvtxVersion)
		vi->SetInjectionNvtxVersion(NVTX_VERSION);
	return 1;
}
