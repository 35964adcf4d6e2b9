/*
 * inject.h - the collector's core, shared by its backends (NVTX, CUPTI,
 * OpenCL) inside libtstop-inject.so.
 *
 * The library is loaded into the target by the CUDA driver
 * (CUDA_INJECTION64_PATH -> InitializeInjection), the NVTX loader
 * (NVTX_INJECTION64_PATH -> InitializeInjectionNvtx2) or the dynamic linker
 * (LD_PRELOAD, for the OpenCL interposer and for child processes). Whichever
 * comes first, the core connects to tstop on first use (proto.h: connection),
 * maps the ring it receives and sends HELLO. Backends then describe what they
 * see with the calls below, which intern values (sending each definition
 * once, before the id is published) and write records into the ring.
 *
 * Rules every function here follows, because it runs inside someone else's
 * program:
 *   - never block the application: when the ring is full the record is
 *     dropped and counted by the ring (unless tstop asked for blocking mode);
 *   - never crash or exit it: without tstop (no socket, tstop died, refused)
 *     every call is a cheap no-op and the application runs on untouched;
 *   - no allocation on the per-event path once the values are interned;
 *   - thread-safe: any thread may call anything; interning takes a lock only
 *     when a value is new; fork() in the target starts a fresh connection in
 *     the child (its own process in the session, parent recorded).
 *
 * Ids returned are collector ids (proto.h); 0 means "none" or "could not be
 * sent" (then the caller drops the event that needed it, which the ring
 * already counted).
 *
 * Attach (proto.h: attach). In a process started for attach the collector
 * is dormant until `tstop attach`, and goes dormant again when tstop
 * detaches; each session is a new id generation. A backend therefore
 * installs its hooks when inject_present() is true (not only when
 * inject_active() is), records only while inject_active() says so, and
 * registers session functions (inject_register_session) to turn its
 * recording on and off with the sessions: the CUPTI backend enables its
 * activity kinds in `start` and disables them in `stop`; the NVTX backend
 * keeps push/pop nesting while dormant so that a pop of a range pushed
 * before the attach is neither recorded nor an anomaly.
 */
#ifndef TSTOP_CAPTURE_INJECT_H
#define TSTOP_CAPTURE_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/proto.h"
#include "trace/event.h"
#include "trace/session.h"

/* Connects to tstop if that has not been tried yet in this process (after
 * fork: in this child). Returns true when a ring is mapped, capture of
 * `option` (a PROTO_OPT_* bit) is on, and capture is not paused (proto.h:
 * capture windows); option 0 asks only whether a ring is mapped. Cheap
 * after the first call. */
bool inject_active(uint32_t option);

/* Like inject_active, but true while capture is paused too: whether this
 * session captures `option` at all. A backend sets itself up (CUPTI,
 * OpenCL queue profiling) and sends definitions (thread names) by this,
 * and records events by inject_active. */
bool inject_enabled(uint32_t option);

/* Whether capture is paused now, by tstop's switch or outside the
 * process's capture range; false when not connected. Lock-free. */
bool inject_paused(void);

/* Capture ranges (proto.h: capture windows). Whether an NVTX range whose
 * message is the `len` bytes at `name` (or the NUL-terminated `name`) and
 * whose domain is named by the `domain_len` bytes at `domain` (NULL: the
 * default domain) is one of this session's capture range; false when the
 * session has none. */
bool inject_range_is(const char *name, size_t len, const char *domain, size_t domain_len);
bool inject_range_is_cstr(const char *name, const char *domain, size_t domain_len);

/* A range of the capture range begins (enter) or ends (leave) on any
 * thread: capture turns on at the first enter and off again when every
 * one entered has left (for good with PROTO_RANGE_STOP). A backend calls
 * enter before it reads the range's start (so that the range is recorded)
 * and leave once per enter, in the same id generation; a leave without an
 * enter is ignored. Takes a short lock. */
void inject_range_enter(void);
void inject_range_leave(void);

/* Whether capture was on (neither switch off) at time `t` of the session
 * clock, as far as the collector has seen: for records that describe the
 * past (CUPTI's API and synchronization records, delivered by the
 * buffer). tstop's switch is sampled at each call, so a pause shorter than
 * the time between two calls may go unseen. True when not connected.
 * Takes a short lock. */
bool inject_captured_at(int64_t t);

/* Whether tstop is connected, or the process waits dormant for `tstop
 * attach` (connecting, or starting dormant, on first use like
 * inject_active): a backend installs its hooks when this is true. */
bool inject_present(void);

/* The session clock: CLOCK_MONOTONIC in nanoseconds. */
int64_t inject_now(void);

/* Interns `len` bytes (cut at PROTO_STRING_MAX) and returns their id. The
 * empty string is id 0 ("none", as in the session) and is never sent. */
uint32_t inject_string(const char *bytes, size_t len);
uint32_t inject_cstr(const char *str);

/* The track of the calling thread (cached per thread; the thread's name is
 * read once from /proc or pthread_getname_np and sent with it). */
uint32_t inject_thread_track(void);

/* The track of thread `tid` of this process, for records that arrive on
 * another thread than the one they describe (CUPTI hands API records to its
 * own thread; they carry the caller's Linux tid). Cached per tid like
 * inject_thread_track(); the name is read once from
 * /proc/self/task/<tid>/comm. Returns inject_thread_track() when tid is the
 * caller's own, 0 when no connection. */
uint32_t inject_thread_track_of(uint32_t tid);

/* Re-sends the calling thread's track with a new name (nvtxNameOsThread,
 * pthread_setname_np seen through NVTX). */
void inject_thread_rename(const char *name, size_t len);

/* Names thread `tid` (an OS thread id of this process; 0 = the calling
 * thread): its track is created if needed and (re-)sent with the name. */
void inject_thread_name(uint32_t tid, const char *name, size_t len);

/* The collector's id generation: it changes when a fork child starts its own
 * connection and when an attached session ends, which empties every id
 * space. A backend that caches ids outside these functions stores the
 * generation with them and looks the value up again when it differs.
 * Lock-free. */
uint32_t inject_generation(void);

/* The track of a GPU stream or OpenCL queue of this process. */
uint32_t inject_stream_track(uint32_t device, uint32_t context, uint32_t stream);

/* The track of a counter of this process (name is the identity). */
uint32_t inject_counter_track(uint32_t device, uint32_t name);

/* Interned side-table values (event.h); inject_memop is not interned. */
uint32_t inject_launch(const struct trace_launch *l);
uint32_t inject_nvtx_attr(const struct trace_nvtx_attr *a);
uint32_t inject_memop(const struct trace_memop *m);

/* The calling thread's stack (libunwind), interned, skipping `skip` frames
 * of the collector itself; 0 when stacks are off or unwinding failed. */
uint32_t inject_stack(unsigned skip);

/* Sends a device description (name: a collector string id). */
void inject_device(const struct trace_device *d);

/* Sends one event whose ids are collector ids. Returns false when it was
 * dropped (ring full or no connection). */
bool inject_event(const struct trace_event *ev);

/* Sends a cumulative loss total for `source` ("cupti", ...). */
void inject_loss(const char *source, uint64_t count);

/* Sends a message for the user (which CUPTI was loaded, why none would). */
void inject_log(enum proto_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The CUPTI flush period tstop asked for (proto_accept.flush_ms), in ms;
 * a default of 100 when tstop sent 0 or there is no connection. */
uint32_t inject_flush_ms(void);

/* Called by each backend's own shutdown path and at exit: flushes what the
 * backends hold (each registers a flush function) and sends GOODBYE once. */
void inject_shutdown(void);

/* Registers a function that inject_shutdown() and tstop-requested flushes
 * call (e.g. the CUPTI backend's cuptiActivityFlushAll). */
void inject_register_flush(void (*flush)(void));

/* Registers a function called at the end of every capture session, after
 * the flush functions, with the end time on the session clock: once by
 * inject_shutdown() at process exit (before GOODBYE), and in a process
 * started for attach also at each detach. A backend sends there what is
 * still open (NVTX ranges, with TRACE_FLAG_OPEN) and its loss totals. */
void inject_register_exit(void (*at_exit)(int64_t now));

/* Registers functions for the sessions of a process started for attach
 * (either may be NULL): `start` runs right after each attach has connected
 * (HELLO sent, inject_active() true for the kinds tstop asked for) and
 * before tstop hears that it worked: a backend turns its recording on there
 * and resets what it counts per session. `stop` runs at each detach after
 * the flush and exit functions, while the session's ring is still mapped:
 * the backend turns off what `start` turned on. Both run on the collector's
 * attach thread with no lock held; never in a recorded (not attached)
 * process. At most 8 pairs; a repeated pair is registered once. */
void inject_register_session(void (*start)(void), void (*stop)(void));

#endif
