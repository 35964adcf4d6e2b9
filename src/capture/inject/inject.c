/*
 * inject.c - the collector's core inside libtstop-inject.so: the connection
 * to tstop, the ring, the interning tables and per-thread caches that every
 * backend (nvtx.c, cupti*.c, opencl*.c) uses through inject.h.
 *
 * State of one process image (inj_hot.state):
 *
 *      UNTRIED --first use, connected, HELLO sent--> ACTIVE --shutdown--> DONE
 *         |                                           ^    |
 *         |                              attach (1)   |    | detach (2), generation + 1
 *         |                                           |    v
 *         +--no PROTO_ENV_SOCKET, PROTO_ENV_ATTACH--> DORMANT --shutdown--> DONE
 *         |
 *         +--no PROTO_ENV_SOCKET, connect/refusal/attach failed--> OFF
 *
 *      fork child (any state): UNTRIED again, generation + 1
 *
 * Only the first use of a process image pays for the connection (under
 * conn_lock; other threads arriving meanwhile wait for its outcome). Every
 * later call costs one acquire load of inj_hot.state. OFF and DONE are for good:
 * the application runs on with every call a no-op. While ACTIVE, a dead
 * tstop only means the ring fills and records are dropped and counted by the
 * ring; nothing here waits except a ring in blocking mode, which bounds its
 * own wait.
 *
 * Attach (proto.h: attach). A process started for attach binds its
 * rendezvous socket at first use and goes DORMANT: every entry point is a
 * no-op as in OFF, and one thread of the collector's own (inj_attach_main,
 * all signals blocked) sleeps in poll() on the rendezvous, and while a
 * session runs on its control connection and capture socket too; it is the
 * only thread that moves between DORMANT and ACTIVE, under conn_lock.
 *   (1) A same-user `tstop attach` asks: the thread connects to tstop's
 *       capture socket as in record, maps the new ring, sends HELLO, goes
 *       ACTIVE, runs the backends' session start functions and answers.
 *   (2) The control connection or the capture socket closes: the thread
 *       runs the flush, exit and session stop functions (what is open is
 *       sent), goes DORMANT with the next generation, waits INJ_RETIRE_MS
 *       for threads that were writing records, closes the capture
 *       connection and retires the ring: its pages are replaced with
 *       private zero pages, so tstop's memory goes back to the system while
 *       a thread that still holds the ring writes into nothing. The handle
 *       itself is freed INJ_RETIRED_KEEP sessions later.
 * Process exit (inject_shutdown) and a detach both claim `shutting`, so one
 * session is ended once. A thread that was inside the collector when a
 * session ended reads only memory that stays valid (tables keep their
 * entries, see Ids); at worst one record it was writing lands in the next
 * session, where tstop checks it like any other.
 *
 * Windows (proto.h: capture windows). While ACTIVE, capture may be paused
 * by tstop's switch (a word in the ring header that inj_fast_active reads
 * through inj_hot.control) or, when the session has a capture range, by
 * INJ_PAUSE_RANGE in inj_hot.flags, which inject_range_enter and _leave
 * clear and set under win_lock as ranges of that name open and close. A
 * paused collector still sends definitions, process records, LOSS and
 * GOODBYE; backends record no event. inject_captured_at answers for times
 * in the past from the histories of both switches (win_lock too).
 *
 * Ids. Each table (strings, tracks, launches, NVTX attributes, frames,
 * stacks; memops are numbered, not interned) hands out ids densely from 1
 * per generation, in the order their definitions enter the ring: a new
 * value takes the table's lock, its definition is reserved and committed,
 * and only then is its id published (inject_table.h). A definition that
 * finds the ring full is not published and its id is not used up; the
 * caller gets 0. Each session is a generation: after a detach, every value
 * is defined again, under a new id, at its first use in the next session.
 *
 * Fork. The child handler closes the parent's sockets, forgets the parent's
 * ring, bumps the generation and goes back to UNTRIED: the child's next
 * collector call connects as a process of its own (its parent recorded), or
 * goes DORMANT with a rendezvous of its own, and that first use empties the
 * tables, whose entries belonged to the parent (no other thread reads them
 * before the state leaves UNTRIED). Per-thread caches carry the generation
 * they were filled in.
 *
 * Fork never waits for tstop. conn_lock is held across the handshake with
 * tstop, which may take up to twice INJ_IO_TIMEOUT_S when tstop is stopped
 * (SIGSTOP, a debugger); the fork prepare handler therefore only tries it.
 * When another thread holds it, fork goes on without it: the parent is
 * untouched (that thread finishes its handshake), and the child, where that
 * thread does not exist, gets a fresh conn_lock, closes what the handshake
 * had open (the socket in g.dial_fd until g.sock holds it, the ring memfd in
 * g.dial_memfd until it is mapped and closed: inj_session_open) and starts
 * UNTRIED like any fork child; so a fork-only child never keeps the
 * parent's capture socket open. What is left: the few instructions between
 * socket() or recvmsg() returning a descriptor and its store into the
 * field. The other locks are never held across I/O.
 *
 * Lock order (the fork prepare handler takes them all in this order, the
 * first one only when it is free):
 * conn_lock, memop_lock, hook_lock, the tables as listed in inj_tables, win_lock. Table
 * locks are never nested: values a definition refers to (strings in a
 * track, frames in a stack) are interned before the table's lock is taken.
 * Backend hooks (flush, exit, session) are called with no lock held.
 *
 * Nothing here prints to the target's stdout; diagnostics without a
 * connection go to stderr only when TSTOP_DEBUG is set.
 */
#include "capture/inject/inject.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "capture/attach_path.h"
#include "capture/inject/inject_hot.h"
#include "capture/inject/inject_table.h"
#include "capture/inject/inject_text.h"
#include "capture/inject/inject_window.h"
#include "capture/ring.h"
#include "util/err.h"

#define INJ_MAX_HOOKS       8u    /* flush and exit functions, each */
#define INJ_IO_TIMEOUT_S    5     /* connect handshake: longest wait for tstop */
#define INJ_LOG_MAX         1024u /* bytes of one PROTO_LOG message */
#define INJ_STACK_SKIP_MAX  16u   /* frames inject_stack skips at most */
#define INJ_THREAD_NAME_MAX 64u
#define INJ_RETIRE_MS       20 /* detach: grace for records being written before the ring goes */
#define INJ_RETIRED_KEEP    4u /* handles of retired rings kept before they are freed */

/* Identity of a track in the tracks table: what trace_track_info calls the
 * identity (the pid is the ring's), without padding bytes. */
struct inj_track_key {
	uint32_t kind;
	uint32_t tid;
	uint32_t device;
	uint32_t context;
	uint32_t stream;
	uint32_t counter_name; /* COUNTER: the name is the identity; else 0 */
};

/* What inj_hot.control points at while no ring is mapped: capture on. */
static _Atomic uint32_t inj_control_none;

/* The hot part of the state (inject_hot.h): state, generation, flags, ring,
 * tstop's capture switch. */
struct inj_hot inj_hot = {.control = &inj_control_none};

/* The rest of the collector of this process image. */
struct inj_core {
	_Atomic int shutting; /* inject_shutdown claimed in this generation */
	uint32_t flush_ms;    /* from proto_accept */
	struct ring *stale;   /* a parent's mapping inherited by fork, unmapped at connect */
	int sock;             /* connection to tstop, -1 when none */
	int dial_fd;          /* the socket of a handshake in progress (under conn_lock), or -1 */
	int dial_memfd;       /* the ring memfd that handshake received, until mapped and closed, or -1 */
	uint32_t pid, ppid;   /* of this process, read at connect */
	uint32_t tables_gen;  /* generation the tables' ids belong to */
	pthread_mutex_t conn_lock;
	pthread_mutex_t memop_lock;
	uint32_t memop_next; /* next memop id, under memop_lock */
	struct inj_table strings, tracks, launches, attrs, frames, stacks;
	pthread_mutex_t hook_lock; /* registration of hooks only */
	void (*flush[INJ_MAX_HOOKS])(void);
	void (*at_exit[INJ_MAX_HOOKS])(int64_t now);
	_Atomic unsigned nflush, nexit;
	void (*sess_start[INJ_MAX_HOOKS])(void);
	void (*sess_stop[INJ_MAX_HOOKS])(void);
	_Atomic unsigned nsession;
	bool process_hooks; /* atexit and pthread_atfork registered in this image */
	char exe[PATH_MAX]; /* path of the main executable, for frames; "" unknown */
	/* Attach: written by the attach thread (and the fork child handler). */
	int listen_fd;                           /* rendezvous socket, -1 when none */
	int ctrl_fd;                             /* the attached tstop's rendezvous connection, or -1 */
	pid_t listen_pid;                        /* the process that bound listen_path */
	char listen_path[PROTO_SOCKET_PATH_MAX]; /* "" when none */
	struct ring *retired[INJ_RETIRED_KEEP];  /* rings of ended sessions, memory replaced */
	unsigned retired_next;                   /* slot of the next retired ring */
	/* Capture windows (win_lock, a leaf lock; see Windows above). */
	pthread_mutex_t win_lock;
	struct inj_range range;      /* the session's capture range, while inj_hot.range */
	uint32_t range_open;         /* ranges of it open now, in this generation */
	bool range_done;             /* PROTO_RANGE_STOP: its window has closed for good */
	uint32_t tstop_seen;         /* tstop's switch word as last sampled */
	struct inj_winlog win_range; /* on/off history of the capture range */
	struct inj_winlog win_tstop; /* and of tstop's switch, as sampled */
};

static struct inj_core g = {
    .sock = -1,
    .dial_fd = -1,
    .dial_memfd = -1,
    .listen_fd = -1,
    .ctrl_fd = -1,
    .conn_lock = PTHREAD_MUTEX_INITIALIZER,
    .memop_lock = PTHREAD_MUTEX_INITIALIZER,
    .memop_next = 1,
    .strings = INJ_TABLE_INITIALIZER,
    .tracks = INJ_TABLE_INITIALIZER,
    .launches = INJ_TABLE_INITIALIZER,
    .attrs = INJ_TABLE_INITIALIZER,
    .frames = INJ_TABLE_INITIALIZER,
    .stacks = INJ_TABLE_INITIALIZER,
    .hook_lock = PTHREAD_MUTEX_INITIALIZER,
    .win_lock = PTHREAD_MUTEX_INITIALIZER,
};

/* The tables in lock order. */
static struct inj_table *const inj_tables[] = {&g.strings, &g.tracks, &g.launches,
                                               &g.attrs,   &g.frames, &g.stacks};
#define INJ_NTABLES (sizeof(inj_tables) / sizeof(inj_tables[0]))

/* Per-thread cache: the thread's id and track, valid in generation `gen`. */
struct inj_thread {
	uint32_t gen;
	uint32_t tid; /* 0 until read */
	uint32_t track;
	bool connecting; /* this thread is inside the connection: no recursion */
};

static __thread struct inj_thread inj_self;

/* Writes a diagnostic line to stderr when TSTOP_DEBUG is set and non-empty;
 * the only output the collector ever makes on its own. */
__attribute__((format(printf, 1, 2))) static void inj_debug(const char *fmt, ...)
{
	const char *dbg = getenv("TSTOP_DEBUG");
	if (!dbg || !*dbg)
		return;
	char msg[INJ_LOG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "tstop-inject[%d]: %s\n", (int)getpid(), msg);
}

/* The session clock (inject.h). */
int64_t inject_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The id generation (inject.h). */
uint32_t inject_generation(void)
{
	return atomic_load_explicit(&inj_hot.gen, memory_order_acquire);
}

/* Writes one proto record (header, body, tail) into the ring. The caller
 * has seen state ACTIVE. Returns false when the ring dropped it. Lock-free
 * unless the ring is in blocking mode. */
static bool inj_send(uint8_t type, uint32_t id, const void *body, size_t blen, const void *tail, size_t tlen)
{
	size_t len = sizeof(struct proto_header) + blen + tlen;
	struct ring *r = atomic_load_explicit(&inj_hot.ring, memory_order_relaxed);
	int saved_errno = errno; /* a blocking reserve may sleep */
	unsigned char *p = ring_reserve(r, (uint32_t)len);
	errno = saved_errno;
	if (!p)
		return false;
	struct proto_header h = {.type = type, .id = id};
	memcpy(p, &h, sizeof(h));
	if (blen)
		memcpy(p + sizeof(h), body, blen);
	if (tlen)
		memcpy(p + sizeof(h) + blen, tail, tlen);
	ring_commit(r, p);
	return true;
}

/* Reads the calling thread's OS id, once per generation. */
static uint32_t inj_tid(void)
{
	struct inj_thread *t = &inj_self;
	uint32_t gen = atomic_load_explicit(&inj_hot.gen, memory_order_acquire);
	if (!t->tid || t->gen != gen) {
		t->gen = gen;
		t->tid = (uint32_t)gettid();
		t->track = 0;
	}
	return t->tid;
}

/* --- connection -------------------------------------------------------------- */

/* Reads exactly `len` bytes of tstop's answer from `sock`, collecting the
 * first file descriptor passed with them into *fd (extra ones are closed).
 * Returns 0, or -1 on error, timeout or end of stream. */
static int inj_recv_accept(int sock, void *buf, size_t len, int *fd)
{
	size_t got = 0;
	while (got < len) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int) * 4)];
		} ctl;
		struct iovec iov = {(char *)buf + got, len - got};
		struct msghdr msg = {.msg_iov = &iov,
		                     .msg_iovlen = 1,
		                     .msg_control = ctl.buf,
		                     .msg_controllen = sizeof(ctl.buf)};
		ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfd; i++) {
				int f;
				memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (*fd < 0)
					*fd = f;
				else
					close(f);
			}
		}
		got += (size_t)n;
	}
	return 0;
}

/* Connects to tstop's socket at `path`, checks that tstop runs as our user,
 * sends proto_connect and reads proto_accept and the ring's memfd. Returns
 * the connected socket with *acc and *memfd filled, or -1 (with nothing left
 * open) when tstop is not there or refused. */
static int inj_dial(const char *path, struct proto_accept *acc, int *memfd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t plen = strlen(path);
	if (plen >= sizeof(sa.sun_path)) {
		inj_debug("socket path too long: %s", path);
		return -1;
	}
	memcpy(sa.sun_path, path, plen + 1);
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		inj_debug("socket: %s", strerror(errno));
		return -1;
	}
	g.dial_fd = sock; /* a fork child closes it (see Fork never waits) */
	int rc;
	do {
		rc = connect(sock, (struct sockaddr *)&sa, sizeof(sa));
	} while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		inj_debug("cannot connect to %s: %s", path, strerror(errno));
		goto err;
	}
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || clen != sizeof(cred) ||
	    cred.uid != getuid()) {
		inj_debug("refusing %s: its owner is not this user", path);
		goto err;
	}
	struct timeval tv = {INJ_IO_TIMEOUT_S, 0};
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct proto_connect req = {
	    .magic = PROTO_MAGIC, .version = PROTO_VERSION, .pid = g.pid, .ppid = g.ppid};
	size_t sent = 0;
	while (sent < sizeof(req)) {
		ssize_t n = send(sock, (const char *)&req + sent, sizeof(req) - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			inj_debug("cannot send to %s: %s", path, strerror(errno));
			goto err;
		}
		sent += (size_t)n;
	}
	/* Received straight into g.dial_memfd, which a fork child closes too. */
	g.dial_memfd = -1;
	int got = inj_recv_accept(sock, acc, sizeof(*acc), &g.dial_memfd);
	*memfd = g.dial_memfd;
	if (got < 0) {
		inj_debug("no answer from tstop at %s", path);
		goto err_fd;
	}
	if (acc->magic != PROTO_MAGIC || acc->version != PROTO_VERSION) {
		inj_debug("tstop at %s speaks another protocol (version %u)", path, acc->version);
		goto err_fd;
	}
	if (acc->status != 0 || *memfd < 0) {
		inj_debug("tstop at %s refused this process (status %d)", path, acc->status);
		goto err_fd;
	}
	return sock; /* g.dial_fd and g.dial_memfd stay set: inj_session_open clears them */
err_fd:
	g.dial_memfd = -1;
	if (*memfd >= 0)
		close(*memfd);
	*memfd = -1;
err:
	g.dial_fd = -1;
	close(sock);
	return -1;
}

/* Sends HELLO, the first record of the ring: sizes, pids, start time and
 * the command line (arguments joined by spaces, cut at PROTO_STRING_MAX).
 * Returns false when it could not be sent. */
static bool inj_send_hello(void)
{
	char cmd[PROTO_STRING_MAX];
	size_t len = 0;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		while (len < sizeof(cmd)) {
			ssize_t n = read(fd, cmd + len, sizeof(cmd) - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			len += (size_t)n;
		}
		close(fd);
	}
	len = inj_cmdline_join(cmd, len);
	struct proto_hello h = {
	    .version = PROTO_VERSION,
	    .pid = g.pid,
	    .ppid = g.ppid,
	    .size_event = sizeof(struct trace_event),
	    .size_track = sizeof(struct trace_track_info),
	    .size_device = sizeof(struct trace_device),
	    .size_launch = sizeof(struct trace_launch),
	    .size_nvtx_attr = sizeof(struct trace_nvtx_attr),
	    .size_memop = sizeof(struct trace_memop),
	    .size_frame = sizeof(struct proto_frame),
	    .start = inject_now(),
	};
	return inj_send(PROTO_HELLO, 0, &h, sizeof(h), cmd, len);
}

static void inj_at_exit(void);
static void inj_fork_prepare(void);
static void inj_fork_parent(void);
static void inj_fork_child(void);
static int inj_dormant_start(void);
static void inj_ring_retire(struct ring *r);

/* Registers the process-wide handlers (atexit, pthread_atfork) once per
 * process image. Under conn_lock. */
static void inj_process_hooks(void)
{
	if (!g.process_hooks) {
		g.process_hooks = true;
		atexit(inj_at_exit);
		pthread_atfork(inj_fork_prepare, inj_fork_parent, inj_fork_child);
	}
}

/* Under conn_lock, before the state becomes ACTIVE: starts the capture
 * windows of the session whose ring is `r`: its capture range from the
 * ring's note (none when there is no valid one), no range open, and the
 * histories starting from tstop's switch as it is and from the range (off
 * when there is one). Returns whether the session has a capture range. */
static bool inj_windows_open(struct ring *r)
{
	static char note[RING_NOTE_MAX];
	pthread_mutex_lock(&g.win_lock);
	atomic_store_explicit(&inj_hot.range, false, memory_order_release);
	size_t n = ring_note(r, note, sizeof(note));
	bool ranged = inj_range_parse(&g.range, note, n);
	g.range_open = 0;
	g.range_done = false;
	g.tstop_seen = ring_control(r, NULL);
	inj_winlog_reset(&g.win_range, !ranged);
	inj_winlog_reset(&g.win_tstop, !(g.tstop_seen & RING_CTRL_PAUSE));
	atomic_store_explicit(&inj_hot.range, ranged, memory_order_release);
	pthread_mutex_unlock(&g.win_lock);
	return ranged;
}

/* Under conn_lock: maps the ring in `memfd` (closed here) for the session on
 * capture socket `sock` with the options of `acc` (both from inj_dial, still
 * in g.dial_memfd and g.dial_fd), and sends HELLO. Returns the ring, or NULL
 * with `sock` closed when either failed. The state is left to the caller.
 * At every instant a fork child finds each of the two fds in a field it
 * closes (g.dial_fd, g.dial_memfd, g.sock): a field is set before the one
 * that held the fd is cleared, and cleared before the fd is closed (so a
 * child never closes a number the parent has reused). */
static struct ring *inj_session_open(int sock, const struct proto_accept *acc, int memfd)
{
	struct err e;
	struct ring *r = ring_attach(memfd, &e);
	g.dial_memfd = -1;
	close(memfd);
	if (!r) {
		inj_debug("cannot map the ring: %s", e.msg);
		g.dial_fd = -1;
		close(sock);
		return NULL;
	}
	pthread_mutex_lock(&g.memop_lock);
	g.memop_next = 1;
	pthread_mutex_unlock(&g.memop_lock);
	bool ranged = inj_windows_open(r);
	atomic_store_explicit(&inj_hot.ring, r, memory_order_relaxed);
	atomic_store_explicit(&inj_hot.control, ring_control_word(r), memory_order_relaxed);
	g.sock = sock;
	g.dial_fd = -1;
	atomic_store_explicit(&inj_hot.flags, acc->flags | (ranged ? INJ_PAUSE_RANGE : 0u),
	                      memory_order_relaxed);
	g.flush_ms = acc->flush_ms;
	if (!g.exe[0]) {
		/* Once per process image: threads of an earlier session may read it. */
		ssize_t n = readlink("/proc/self/exe", g.exe, sizeof(g.exe) - 1);
		g.exe[n > 0 ? n : 0] = '\0';
	}
	if (!inj_send_hello()) {
		inj_debug("the ring has no room for HELLO");
		/* Closing the socket tells tstop; no thread has used the ring. */
		g.sock = -1;
		close(sock);
		inj_ring_retire(r);
		return NULL;
	}
	return r;
}

/* Under conn_lock, state UNTRIED: empties the tables when they belong to
 * another generation, then connects, maps the ring and sends HELLO (record),
 * or binds the rendezvous and starts the attach thread (attach), and leaves
 * the state ACTIVE, DORMANT or OFF. */
static void inj_connect_locked(void)
{
	uint32_t gen = atomic_load_explicit(&inj_hot.gen, memory_order_relaxed);
	if (g.tables_gen != gen) {
		/* A fork child: only this thread exists, and none reads the
		 * tables or the parent's retired rings before the state is
		 * ACTIVE or DORMANT again. */
		for (size_t i = 0; i < INJ_NTABLES; i++)
			inj_table_clear(inj_tables[i]);
		for (unsigned i = 0; i < INJ_RETIRED_KEEP; i++) {
			ring_close(g.retired[i]);
			g.retired[i] = NULL;
		}
		g.memop_next = 1;
		g.tables_gen = gen;
	}
	if (g.stale) {
		ring_close(g.stale);
		g.stale = NULL;
	}
	g.pid = (uint32_t)getpid();
	g.ppid = (uint32_t)getppid();
	int state = INJ_OFF;
	const char *path = getenv(PROTO_ENV_SOCKET);
	if (!path || !*path) {
		if (attach_path_enabled(getenv(PROTO_ENV_ATTACH)) && inj_dormant_start() == 0) {
			inj_process_hooks();
			state = INJ_DORMANT;
		}
		goto out;
	}
	struct proto_accept acc;
	int memfd;
	int sock = inj_dial(path, &acc, &memfd);
	if (sock < 0 || !inj_session_open(sock, &acc, memfd))
		goto out;
	inj_process_hooks();
	state = INJ_ACTIVE;
out:
	atomic_store_explicit(&inj_hot.state, state, memory_order_release);
}

/* The slow path of every entry point while no connection was tried in this
 * process image: tries it once. Returns whether the collector is ACTIVE. */
static bool inj_connect(void)
{
	struct inj_thread *t = &inj_self;
	if (t->connecting)
		return false;
	int saved_errno = errno; /* the application's, whatever connecting does */
	t->connecting = true;
	pthread_mutex_lock(&g.conn_lock);
	if (atomic_load_explicit(&inj_hot.state, memory_order_acquire) == INJ_UNTRIED)
		inj_connect_locked();
	pthread_mutex_unlock(&g.conn_lock);
	t->connecting = false;
	errno = saved_errno;
	return atomic_load_explicit(&inj_hot.state, memory_order_acquire) == INJ_ACTIVE;
}

/* Whether records may be sent: ACTIVE, connecting first when untried. */
static inline bool inj_live(void)
{
	int s = atomic_load_explicit(&inj_hot.state, memory_order_acquire);
	if (s == INJ_ACTIVE)
		return true;
	return s == INJ_UNTRIED && inj_connect();
}

/* Connected and capturing `option` in this session, paused or not
 * (inject.h). */
bool inject_enabled(uint32_t option)
{
	if (!inj_live())
		return false;
	return option == 0 || (atomic_load_explicit(&inj_hot.flags, memory_order_relaxed) & option) != 0;
}

/* Whether capture is paused now (inject.h). */
bool inject_paused(void)
{
	if (atomic_load_explicit(&inj_hot.state, memory_order_acquire) != INJ_ACTIVE)
		return false;
	uint32_t f = atomic_load_explicit(&inj_hot.flags, memory_order_relaxed);
	const _Atomic uint32_t *c = atomic_load_explicit(&inj_hot.control, memory_order_relaxed);
	return (f & INJ_PAUSE_RANGE) || (atomic_load_explicit(c, memory_order_relaxed) & RING_CTRL_PAUSE);
}

/* Connected, capturing `option` and not paused (inject.h); option 0 asks
 * only whether the collector is connected. */
bool inject_active(uint32_t option)
{
	if (!inject_enabled(option))
		return false;
	return option == 0 || !inject_paused();
}

/* --- capture windows ------------------------------------------------------------ */

/* Whether an NVTX range is one of the capture range (inject.h). */
bool inject_range_is(const char *name, size_t len, const char *domain, size_t domain_len)
{
	return atomic_load_explicit(&inj_hot.range, memory_order_acquire) &&
	       inj_range_match(&g.range, name, len, domain, domain_len);
}

/* The same for a NUL-terminated message (inject.h). */
bool inject_range_is_cstr(const char *name, const char *domain, size_t domain_len)
{
	return atomic_load_explicit(&inj_hot.range, memory_order_acquire) &&
	       inj_range_match_cstr(&g.range, name, domain, domain_len);
}

/* A range of the capture range begins (inject.h). */
void inject_range_enter(void)
{
	pthread_mutex_lock(&g.win_lock);
	if (g.range_open++ == 0 && !g.range_done) {
		atomic_fetch_and_explicit(&inj_hot.flags, ~INJ_PAUSE_RANGE, memory_order_release);
		inj_winlog_note(&g.win_range, inject_now(), true);
	}
	pthread_mutex_unlock(&g.win_lock);
}

/* A range of the capture range ends (inject.h). */
void inject_range_leave(void)
{
	pthread_mutex_lock(&g.win_lock);
	if (g.range_open > 0 && --g.range_open == 0 && !g.range_done) {
		atomic_fetch_or_explicit(&inj_hot.flags, INJ_PAUSE_RANGE, memory_order_release);
		inj_winlog_note(&g.win_range, inject_now(), false);
		g.range_done = g.range.end == PROTO_RANGE_STOP;
	}
	pthread_mutex_unlock(&g.win_lock);
}

/* Whether capture was on at time t (inject.h): tstop's switch is sampled
 * now, its change taken at the time tstop stamped it with. */
bool inject_captured_at(int64_t t)
{
	if (atomic_load_explicit(&inj_hot.state, memory_order_acquire) != INJ_ACTIVE)
		return true;
	pthread_mutex_lock(&g.win_lock);
	struct ring *r = atomic_load_explicit(&inj_hot.ring, memory_order_relaxed);
	int64_t when = 0;
	uint32_t c = ring_control(r, &when);
	if (c != g.tstop_seen) {
		g.tstop_seen = c;
		inj_winlog_note(&g.win_tstop, when, !(c & RING_CTRL_PAUSE));
	}
	bool on = inj_winlog_on_at(&g.win_tstop, t) && inj_winlog_on_at(&g.win_range, t);
	pthread_mutex_unlock(&g.win_lock);
	return on;
}

/* Connected, or dormant waiting for tstop attach (inject.h). */
bool inject_present(void)
{
	int s = atomic_load_explicit(&inj_hot.state, memory_order_acquire);
	if (s == INJ_UNTRIED) {
		inj_connect();
		s = atomic_load_explicit(&inj_hot.state, memory_order_acquire);
	}
	return s == INJ_ACTIVE || s == INJ_DORMANT;
}

/* --- attach ------------------------------------------------------------------- */

/* Runs the session start (or stop) functions the backends registered. */
static void inj_session_hooks(bool start)
{
	unsigned n = atomic_load_explicit(&g.nsession, memory_order_acquire);
	for (unsigned i = 0; i < n; i++) {
		void (*fn)(void) = start ? g.sess_start[i] : g.sess_stop[i];
		if (fn)
			fn();
	}
}

/* Runs the flush functions, then the exit functions with time `now`. */
static void inj_end_hooks(int64_t now)
{
	unsigned n = atomic_load_explicit(&g.nflush, memory_order_acquire);
	for (unsigned i = 0; i < n; i++)
		g.flush[i]();
	n = atomic_load_explicit(&g.nexit, memory_order_acquire);
	for (unsigned i = 0; i < n; i++)
		g.at_exit[i](now);
}

/* Replaces this process's mapping of ring `r` (an ended session's) with
 * private zero pages of the same size, so that the memfd's pages go back to
 * the system while a thread still holding `r` writes into nothing; keeps the
 * handle, freeing the one retired INJ_RETIRED_KEEP sessions ago. The layout
 * is ring.h's: the header page, then the data area, in one mapping. */
static void inj_ring_retire(struct ring *r)
{
	unsigned char *data = (unsigned char *)(uintptr_t)ring_data(r);
	size_t len = RING_HEADER_SIZE + ring_data_size(r);
	if (mmap(data - RING_HEADER_SIZE, len, PROT_READ | PROT_WRITE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED)
		inj_debug("cannot release the ring's memory: %s", strerror(errno));
	unsigned slot = g.retired_next++ % INJ_RETIRED_KEEP;
	ring_close(g.retired[slot]);
	g.retired[slot] = r;
}

/* Ends the attached session (on the attach thread): see the file comment,
 * (2). Does nothing when process exit is ending it. */
static void inj_detach(void)
{
	if (atomic_exchange_explicit(&g.shutting, 1, memory_order_acq_rel))
		return;
	inj_end_hooks(inject_now());
	inj_session_hooks(false);
	pthread_mutex_lock(&g.conn_lock);
	int expected = INJ_ACTIVE;
	atomic_compare_exchange_strong_explicit(&inj_hot.state, &expected, INJ_DORMANT, memory_order_acq_rel,
	                                        memory_order_acquire);
	uint32_t gen = atomic_fetch_add_explicit(&inj_hot.gen, 1, memory_order_acq_rel) + 1;
	g.tables_gen = gen; /* the tables keep their entries: ids are per generation */
	pthread_mutex_unlock(&g.conn_lock);
	struct timespec ts = {0, INJ_RETIRE_MS * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&g.conn_lock);
	int fd = g.sock;
	g.sock = -1; /* before the close: a fork child must not close a reused number */
	if (fd >= 0)
		close(fd);
	if (g.ctrl_fd >= 0)
		close(g.ctrl_fd);
	g.ctrl_fd = -1;
	inj_ring_retire(atomic_load_explicit(&inj_hot.ring, memory_order_relaxed));
	pthread_mutex_unlock(&g.conn_lock);
	atomic_store_explicit(&g.shutting, 0, memory_order_release);
}

/* Starts a session for the tstop whose capture socket is `path` (the attach
 * thread, state DORMANT): see the file comment, (1). Returns a
 * proto_attach_status. */
static int inj_attach_session(const char *path)
{
	pthread_mutex_lock(&g.conn_lock);
	if (atomic_load_explicit(&inj_hot.state, memory_order_acquire) != INJ_DORMANT) {
		pthread_mutex_unlock(&g.conn_lock);
		return PROTO_ATTACH_EXITING;
	}
	g.pid = (uint32_t)getpid();
	g.ppid = (uint32_t)getppid();
	struct proto_accept acc;
	int memfd;
	int sock = inj_dial(path, &acc, &memfd);
	struct ring *r = sock < 0 ? NULL : inj_session_open(sock, &acc, memfd);
	int expected = INJ_DORMANT;
	if (r && !atomic_compare_exchange_strong_explicit(&inj_hot.state, &expected, INJ_ACTIVE,
	                                                  memory_order_acq_rel, memory_order_acquire)) {
		/* The process began exiting meanwhile. */
		int fd = g.sock;
		g.sock = -1;
		close(fd);
		pthread_mutex_unlock(&g.conn_lock);
		return PROTO_ATTACH_EXITING;
	}
	pthread_mutex_unlock(&g.conn_lock);
	if (!r)
		return PROTO_ATTACH_FAILED;
	inj_session_hooks(true);
	return PROTO_ATTACH_OK;
}

/* Sends the answer `status` on rendezvous connection `fd` (best effort). */
static void inj_attach_reply(int fd, int status)
{
	struct proto_attached a = {.magic = PROTO_MAGIC, .version = PROTO_VERSION, .status = status};
	ssize_t n;
	do {
		n = send(fd, &a, sizeof(a), MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
}

/* Reads exactly `len` bytes from `fd` (which has a receive timeout).
 * Returns 0, or -1 on error, timeout or end of stream. */
static int inj_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = recv(fd, (char *)buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* Serves one connection on the rendezvous (the attach thread): checks that
 * the peer is this user, reads its request and starts the session, keeping
 * the connection as the session's control, or answers why not. */
static void inj_attach_accept(void)
{
	int fd = accept4(g.listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || clen != sizeof(cred) ||
	    cred.uid != getuid()) {
		inj_debug("refused an attach from another user");
		close(fd);
		return;
	}
	struct timeval tv = {INJ_IO_TIMEOUT_S, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct proto_attach req;
	int status;
	if (inj_read_full(fd, &req, sizeof(req)) < 0 || req.magic != PROTO_MAGIC ||
	    req.version != PROTO_VERSION || !memchr(req.socket, '\0', sizeof(req.socket)) || !req.socket[0]) {
		status = PROTO_ATTACH_BAD;
	} else {
		int s = atomic_load_explicit(&inj_hot.state, memory_order_acquire);
		if (s == INJ_ACTIVE)
			status = PROTO_ATTACH_BUSY;
		else if (s != INJ_DORMANT)
			status = PROTO_ATTACH_EXITING;
		else
			status = inj_attach_session(req.socket);
	}
	inj_attach_reply(fd, status);
	if (status == PROTO_ATTACH_OK)
		g.ctrl_fd = fd;
	else
		close(fd);
}

/* The attach thread: sleeps in poll() on the rendezvous and, during a
 * session, on its control connection and capture socket, until the process
 * image is done. */
static void *inj_attach_main(void *arg)
{
	(void)arg;
	/* The thread that started this one holds conn_lock until the state
	 * (DORMANT) is published. */
	pthread_mutex_lock(&g.conn_lock);
	pthread_mutex_unlock(&g.conn_lock);
	for (;;) {
		int s = atomic_load_explicit(&inj_hot.state, memory_order_acquire);
		if (s != INJ_DORMANT && s != INJ_ACTIVE)
			break;
		struct pollfd pfd[3] = {{.fd = g.listen_fd, .events = POLLIN},
		                        {.fd = g.ctrl_fd, .events = POLLIN},
		                        {.fd = g.sock, .events = POLLIN}};
		/* poll ignores negative descriptors. */
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR || errno == ENOMEM)
				continue;
			break;
		}
		if ((pfd[1].revents | pfd[2].revents) && g.ctrl_fd >= 0)
			inj_detach();
		if (pfd[0].revents & POLLIN)
			inj_attach_accept();
		else if (pfd[0].revents)
			break; /* the rendezvous was shut down */
	}
	return NULL;
}

/* Whether nobody listens on the Unix socket at `sa` (a dead process's). */
static bool inj_socket_stale(const struct sockaddr_un *sa)
{
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return false;
	bool stale = connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) < 0 && errno == ECONNREFUSED;
	close(probe);
	return stale;
}

/* Binds the rendezvous at `path` (0600), replacing a stale socket that
 * nobody listens on (left by a killed process whose pid this one reuses).
 * Returns the listening socket, or -1. */
static int inj_rendezvous_bind(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc < 0 && errno == EADDRINUSE && inj_socket_stale(&sa)) {
		unlink(path);
		rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	if (rc < 0) {
		inj_debug("cannot bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (chmod(path, 0600) < 0 || listen(fd, 8) < 0) {
		inj_debug("cannot listen on %s: %s", path, strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Under conn_lock, at the first use of a process started for attach: binds
 * the rendezvous (attach_path.h) and starts the attach thread. Returns 0,
 * or -1 (the process then runs without the collector). */
static int inj_dormant_start(void)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	bool xdg_dir = xdg && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode);
	char dir[PROTO_SOCKET_PATH_MAX], path[PROTO_SOCKET_PATH_MAX];
	bool fallback;
	unsigned uid = (unsigned)getuid();
	if (attach_path_dir(dir, sizeof(dir), getenv(PROTO_ENV_ATTACH_DIR), xdg, xdg_dir, uid, &fallback) <
	        0 ||
	    attach_path_socket(path, sizeof(path), dir, g.pid) < 0) {
		inj_debug("no usable directory for the attach socket (%s is relative or too long)",
		          PROTO_ENV_ATTACH_DIR);
		return -1;
	}
	if (fallback && mkdir(dir, 0700) < 0 && errno != EEXIST) {
		inj_debug("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	int bad = attach_path_check_dir(dir, fallback, uid);
	if (bad) {
		inj_debug("%s cannot hold the attach socket: %s", dir,
		          bad == EACCES ? "others may access it" : strerror(bad));
		return -1;
	}
	int fd = inj_rendezvous_bind(path);
	if (fd < 0)
		return -1;
	g.listen_fd = fd;
	g.listen_pid = getpid();
	memcpy(g.listen_path, path, strlen(path) + 1);
	atomic_store_explicit(&inj_hot.attach, true, memory_order_relaxed);
	/* The thread gets no signal of the application's. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	pthread_t th;
	int rc = pthread_attr_init(&attr);
	if (!rc) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&th, &attr, inj_attach_main, NULL);
		pthread_attr_destroy(&attr);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		inj_debug("cannot start the attach thread: %s", strerror(rc));
		unlink(path);
		close(fd);
		g.listen_fd = -1;
		g.listen_path[0] = '\0';
		return -1;
	}
	pthread_setname_np(th, "tstop-attach");
	inj_debug("dormant; attach with: tstop attach %u", (unsigned)g.pid);
	return 0;
}

/* At exit: a dormant process refuses later attaches, and the process that
 * bound the rendezvous removes it. The attach thread ends with the process. */
static void inj_attach_exit(void)
{
	int expected = INJ_DORMANT;
	atomic_compare_exchange_strong_explicit(&inj_hot.state, &expected, INJ_DONE, memory_order_acq_rel,
	                                        memory_order_acquire);
	if (g.listen_path[0] && g.listen_pid == getpid()) {
		unlink(g.listen_path);
		g.listen_path[0] = '\0';
	}
}

/* --- fork and exit ------------------------------------------------------------ */

/* Whether this thread's fork prepare handler got conn_lock (per thread:
 * two threads may fork at once). */
static __thread bool inj_fork_conn;

/* Before fork: takes every lock so that the child gets them free, but
 * conn_lock only when it is free (see Fork never waits, above). */
static void inj_fork_prepare(void)
{
	inj_fork_conn = pthread_mutex_trylock(&g.conn_lock) == 0;
	pthread_mutex_lock(&g.memop_lock);
	pthread_mutex_lock(&g.hook_lock);
	for (size_t i = 0; i < INJ_NTABLES; i++)
		pthread_mutex_lock(&inj_tables[i]->lock);
	pthread_mutex_lock(&g.win_lock);
}

/* After fork, in the parent: releases what inj_fork_prepare took. */
static void inj_fork_parent(void)
{
	pthread_mutex_unlock(&g.win_lock);
	for (size_t i = INJ_NTABLES; i-- > 0;)
		pthread_mutex_unlock(&inj_tables[i]->lock);
	pthread_mutex_unlock(&g.hook_lock);
	pthread_mutex_unlock(&g.memop_lock);
	if (inj_fork_conn)
		pthread_mutex_unlock(&g.conn_lock);
}

/* After fork, in the child: releases the locks and starts over as a new
 * process (see the file comment). When another thread of the parent held
 * conn_lock, the child gets it new and closes that thread's handshake
 * socket, whose other end tstop refuses or times out. Only
 * async-signal-safe calls, but for the mutex initialization. */
static void inj_fork_child(void)
{
	bool had_conn = inj_fork_conn;
	inj_fork_parent(); /* conn_lock only when this thread took it */
	if (!had_conn) {
		/* A handshake was in progress in another thread: close what it
		 * has open, wherever it is recorded (inj_session_open). */
		pthread_mutex_init(&g.conn_lock, NULL);
		if (g.dial_fd >= 0 && g.dial_fd != g.sock)
			close(g.dial_fd);
		g.dial_fd = -1;
		if (g.dial_memfd >= 0)
			close(g.dial_memfd);
		g.dial_memfd = -1;
	}
	if (g.sock >= 0)
		close(g.sock);
	g.sock = -1;
	/* The parent's rendezvous and control stay the parent's: the child has
	 * no attach thread, and binds its own rendezvous at first use. */
	if (g.listen_fd >= 0)
		close(g.listen_fd);
	g.listen_fd = -1;
	if (g.ctrl_fd >= 0)
		close(g.ctrl_fd);
	g.ctrl_fd = -1;
	g.listen_path[0] = '\0';
	struct ring *r = atomic_load_explicit(&inj_hot.ring, memory_order_relaxed);
	bool retired = false;
	for (unsigned i = 0; i < INJ_RETIRED_KEEP; i++)
		retired |= g.retired[i] == r;
	if (r && !g.stale && !retired)
		g.stale = r;
	atomic_store_explicit(&inj_hot.ring, NULL, memory_order_relaxed);
	atomic_store_explicit(&inj_hot.control, &inj_control_none, memory_order_relaxed);
	atomic_store_explicit(&inj_hot.range, false, memory_order_relaxed);
	atomic_store_explicit(&g.shutting, 0, memory_order_relaxed);
	atomic_fetch_add_explicit(&inj_hot.gen, 1, memory_order_release);
	atomic_store_explicit(&inj_hot.state, INJ_UNTRIED, memory_order_release);
}

/* The atexit handler: runs while the application's libraries still work. */
static void inj_at_exit(void)
{
	inject_shutdown();
}

/* Library constructor. Loaded at start-up (LD_PRELOAD, as tstop record and
 * tstop launch do) in a process tstop may capture, the collector registers
 * its exit and fork handlers now, before the application registers its own
 * atexit handlers: those then run first (atexit order is last in, first
 * out) and what they record is still sent before GOODBYE. Connecting still
 * waits for first use. */
__attribute__((constructor)) static void inj_init(void)
{
	if (!getenv(PROTO_ENV_SOCKET) && !attach_path_enabled(getenv(PROTO_ENV_ATTACH)))
		return;
	pthread_mutex_lock(&g.conn_lock);
	inj_process_hooks();
	pthread_mutex_unlock(&g.conn_lock);
}

/* Library destructor: shuts down if exit did not (dlclose, or an exit path
 * that skipped the atexit handler). */
__attribute__((destructor)) static void inj_fini(void)
{
	inject_shutdown();
}

/* Flushes the backends, runs their exit functions and sends GOODBYE, once
 * per process image (inject.h); a process started for attach also stops
 * taking attaches and removes its rendezvous. */
void inject_shutdown(void)
{
	inj_attach_exit();
	if (atomic_load_explicit(&inj_hot.state, memory_order_acquire) != INJ_ACTIVE)
		return;
	if (atomic_exchange_explicit(&g.shutting, 1, memory_order_acq_rel))
		return;
	inj_end_hooks(inject_now());
	struct proto_goodbye bye = {.time = inject_now()};
	inj_send(PROTO_GOODBYE, 0, &bye, sizeof(bye), NULL, 0);
	atomic_store_explicit(&inj_hot.state, INJ_DONE, memory_order_release);
}

/* Registers a flush function (inject.h); at most INJ_MAX_HOOKS of them
 * (there are three backends), a repeated one once. */
void inject_register_flush(void (*flush)(void))
{
	pthread_mutex_lock(&g.hook_lock);
	unsigned n = atomic_load_explicit(&g.nflush, memory_order_relaxed);
	bool dup = false;
	for (unsigned i = 0; i < n; i++)
		dup |= g.flush[i] == flush;
	if (flush && !dup && n < INJ_MAX_HOOKS) {
		g.flush[n] = flush;
		atomic_store_explicit(&g.nflush, n + 1, memory_order_release);
	}
	pthread_mutex_unlock(&g.hook_lock);
}

/* Registers an exit function (inject.h); limits as for flush functions. */
void inject_register_exit(void (*at_exit)(int64_t now))
{
	pthread_mutex_lock(&g.hook_lock);
	unsigned n = atomic_load_explicit(&g.nexit, memory_order_relaxed);
	bool dup = false;
	for (unsigned i = 0; i < n; i++)
		dup |= g.at_exit[i] == at_exit;
	if (at_exit && !dup && n < INJ_MAX_HOOKS) {
		g.at_exit[n] = at_exit;
		atomic_store_explicit(&g.nexit, n + 1, memory_order_release);
	}
	pthread_mutex_unlock(&g.hook_lock);
}

/* Registers a pair of session functions (inject.h); limits as for flush
 * functions. */
void inject_register_session(void (*start)(void), void (*stop)(void))
{
	pthread_mutex_lock(&g.hook_lock);
	unsigned n = atomic_load_explicit(&g.nsession, memory_order_relaxed);
	bool dup = false;
	for (unsigned i = 0; i < n; i++)
		dup |= g.sess_start[i] == start && g.sess_stop[i] == stop;
	if ((start || stop) && !dup && n < INJ_MAX_HOOKS) {
		g.sess_start[n] = start;
		g.sess_stop[n] = stop;
		atomic_store_explicit(&g.nsession, n + 1, memory_order_release);
	}
	pthread_mutex_unlock(&g.hook_lock);
}

/* --- interning ---------------------------------------------------------------- */

/* Interns `key` in `t` when it is new: under the table's lock, finds it
 * again, and otherwise sends the definition (body, tail) under the next id
 * and publishes it. Returns the id, or 0 when the ring or memory had no
 * room. */
static uint32_t inj_insert(struct inj_table *t, uint64_t hash, const void *key, size_t klen, uint8_t type,
                           const void *body, size_t blen, const void *tail, size_t tlen)
{
	pthread_mutex_lock(&t->lock);
	uint32_t gen = inj_fast_gen();
	uint32_t id = inj_table_find(t, gen, hash, key, klen);
	if (!id) {
		struct inj_entry *e = inj_table_prepare(t, gen, hash, key, klen);
		if (e && inj_send(type, e->id, body, blen, tail, tlen)) {
			id = e->id;
			inj_table_publish(t, e);
		} else if (e) {
			inj_table_discard(e);
		}
	}
	pthread_mutex_unlock(&t->lock);
	return id;
}

/* Interns a value whose key is its definition body. */
static uint32_t inj_intern(struct inj_table *t, uint8_t type, const void *key, size_t len)
{
	uint64_t hash = inj_hash(key, len);
	uint32_t id = inj_table_find(t, inj_fast_gen(), hash, key, len);
	return id ? id : inj_insert(t, hash, key, len, type, key, len, NULL, 0);
}

/* Interns bytes as a string (inject.h); the empty string is id 0 without
 * a definition, as in the session. Lock-free when known. */
uint32_t inject_string(const char *bytes, size_t len)
{
	if (!inj_live())
		return 0;
	if (!bytes || !len)
		return 0; /* the empty string is "none" */
	if (len > PROTO_STRING_MAX)
		len = PROTO_STRING_MAX;
	uint64_t hash = inj_hash(bytes, len);
	uint32_t id = inj_table_find(&g.strings, inj_fast_gen(), hash, bytes, len);
	return id ? id : inj_insert(&g.strings, hash, bytes, len, PROTO_STRING, bytes, len, NULL, 0);
}

/* Interns a NUL-terminated string, read up to PROTO_STRING_MAX bytes. */
uint32_t inject_cstr(const char *str)
{
	return inject_string(str, str ? strnlen(str, PROTO_STRING_MAX) : 0);
}

/* The identity of a track: what makes two track infos the same track. */
static struct inj_track_key inj_track_key_of(const struct trace_track_info *info)
{
	struct inj_track_key k = {
	    .kind = info->kind,
	    .tid = info->tid,
	    .device = info->device,
	    .context = info->context,
	    .stream = info->stream,
	    .counter_name = info->kind == TRACE_TRACK_COUNTER ? info->name : 0,
	};
	return k;
}

/* The id of the track with info's identity, or 0 when it was never sent in
 * this generation. Lock-free. */
static uint32_t inj_track_find(const struct trace_track_info *info)
{
	struct inj_track_key k = inj_track_key_of(info);
	return inj_table_find(&g.tracks, inj_fast_gen(), inj_hash(&k, sizeof(k)), &k, sizeof(k));
}

/* Interns a track by identity (inject_track_key) and returns its id. With
 * `rename`, an existing track is sent again with info->name. */
static uint32_t inj_track(struct trace_track_info *info, bool rename)
{
	struct inj_track_key k = inj_track_key_of(info);
	info->pid = g.pid;
	uint64_t hash = inj_hash(&k, sizeof(k));
	uint32_t id = inj_table_find(&g.tracks, inj_fast_gen(), hash, &k, sizeof(k));
	if (id && !rename)
		return id;
	if (!id)
		return inj_insert(&g.tracks, hash, &k, sizeof(k), PROTO_TRACK, info, sizeof(*info), NULL, 0);
	pthread_mutex_lock(&g.tracks.lock);
	inj_send(PROTO_TRACK, id, info, sizeof(*info), NULL, 0);
	pthread_mutex_unlock(&g.tracks.lock);
	return id;
}

/* The calling thread's track (inject.h): cached per thread and generation. */
uint32_t inject_thread_track(void)
{
	if (!inj_live())
		return 0;
	uint32_t tid = inj_tid();
	struct inj_thread *t = &inj_self;
	if (t->track)
		return t->track;
	char name[INJ_THREAD_NAME_MAX] = "";
	int saved_errno = errno; /* pthread_getname_np reads /proc */
	if (pthread_getname_np(pthread_self(), name, sizeof(name)) != 0)
		name[0] = '\0';
	errno = saved_errno;
	name[sizeof(name) - 1] = '\0';
	uint32_t nid = inject_string(name, strnlen(name, sizeof(name)));
	if (!nid && name[0])
		return 0;
	struct trace_track_info info;
	memset(&info, 0, sizeof(info));
	info.kind = TRACE_TRACK_THREAD;
	info.tid = tid;
	info.name = nid;
	t->track = inj_track(&info, false);
	return t->track;
}

/* The track of thread `tid` of this process (inject.h): found by identity,
 * or sent once with the name the kernel gives the thread
 * (/proc/self/task/TID/comm), so that records CUPTI delivers on its own
 * thread land on the thread that made the call. */
uint32_t inject_thread_track_of(uint32_t tid)
{
	if (!inj_live())
		return 0;
	if (tid == inj_tid())
		return inject_thread_track();
	struct trace_track_info info;
	memset(&info, 0, sizeof(info));
	info.kind = TRACE_TRACK_THREAD;
	info.tid = tid;
	uint32_t id = inj_track_find(&info);
	if (id)
		return id;
	char path[64], name[INJ_THREAD_NAME_MAX] = "";
	snprintf(path, sizeof(path), "/proc/self/task/%" PRIu32 "/comm", tid);
	int saved_errno = errno;
	FILE *f = fopen(path, "re");
	if (f) {
		if (fgets(name, sizeof(name), f))
			name[strcspn(name, "\n")] = '\0';
		fclose(f);
	}
	errno = saved_errno;
	info.name = inject_string(name, strlen(name));
	if (!info.name && name[0])
		return 0;
	return inj_track(&info, false);
}

/* The CUPTI flush period tstop asked for, in ms (inject.h). */
uint32_t inject_flush_ms(void)
{
	return g.flush_ms ? g.flush_ms : 100;
}

/* Names thread `tid` of this process, 0 = the caller (inject.h). */
void inject_thread_name(uint32_t tid, const char *name, size_t len)
{
	if (!inj_live())
		return;
	uint32_t own = inj_tid();
	if (!tid)
		tid = own;
	uint32_t nid = inject_string(name, len);
	if (!nid && name && len)
		return;
	struct trace_track_info info;
	memset(&info, 0, sizeof(info));
	info.kind = TRACE_TRACK_THREAD;
	info.tid = tid;
	info.name = nid;
	uint32_t id = inj_track(&info, true);
	if (id && tid == own)
		inj_self.track = id;
}

/* Renames the calling thread's track (inject.h). */
void inject_thread_rename(const char *name, size_t len)
{
	inject_thread_name(0, name, len);
}

/* The track of a GPU stream or OpenCL queue (inject.h). */
uint32_t inject_stream_track(uint32_t device, uint32_t context, uint32_t stream)
{
	if (!inj_live())
		return 0;
	struct trace_track_info info;
	memset(&info, 0, sizeof(info));
	info.kind = TRACE_TRACK_STREAM;
	info.device = device;
	info.context = context;
	info.stream = stream;
	return inj_track(&info, false);
}

/* The track of a counter, identified by its name (inject.h). */
uint32_t inject_counter_track(uint32_t device, uint32_t name)
{
	if (!inj_live())
		return 0;
	struct trace_track_info info;
	memset(&info, 0, sizeof(info));
	info.kind = TRACE_TRACK_COUNTER;
	info.device = device;
	info.name = name;
	return inj_track(&info, false);
}

/* Interns a launch configuration (inject.h). */
uint32_t inject_launch(const struct trace_launch *l)
{
	if (!inj_live())
		return 0;
	return inj_intern(&g.launches, PROTO_LAUNCH, l, sizeof(*l));
}

/* Interns NVTX attributes (inject.h); padding bytes are zeroed so that
 * equal attributes hash equally. */
uint32_t inject_nvtx_attr(const struct trace_nvtx_attr *a)
{
	if (!inj_live())
		return 0;
	struct trace_nvtx_attr k;
	memset(&k, 0, sizeof(k));
	k.domain = a->domain;
	k.category = a->category;
	k.color = a->color;
	k.has_color = a->has_color;
	k.payload_type = a->payload_type;
	k.payload = a->payload;
	return inj_intern(&g.attrs, PROTO_NVTX_ATTR, &k, sizeof(k));
}

/* Numbers and sends a memory operation (inject.h): not interned. */
uint32_t inject_memop(const struct trace_memop *m)
{
	if (!inj_live())
		return 0;
	struct trace_memop c;
	memset(&c, 0, sizeof(c));
	c.address = m->address;
	c.bytes = m->bytes;
	c.device = m->device;
	c.mem_kind = m->mem_kind;
	pthread_mutex_lock(&g.memop_lock);
	uint32_t id = g.memop_next;
	if (id == UINT32_MAX || !inj_send(PROTO_MEMOP, id, &c, sizeof(c), NULL, 0))
		id = 0;
	else
		g.memop_next++;
	pthread_mutex_unlock(&g.memop_lock);
	return id;
}

/* --- stacks ------------------------------------------------------------------- */

/* Interns the frame at return address `pc`: module and nearest dynamic
 * symbol from dladdr, looked up only the first time. 0 when a string or
 * the frame could not be sent. */
static uint32_t inj_frame(uint64_t pc)
{
	uint64_t hash = inj_hash(&pc, sizeof(pc));
	uint32_t id = inj_table_find(&g.frames, inj_fast_gen(), hash, &pc, sizeof(pc));
	if (id)
		return id;
	struct proto_frame f;
	memset(&f, 0, sizeof(f));
	f.pc = pc;
	Dl_info di;
	if (dladdr((void *)(uintptr_t)pc, &di)) {
		const char *mod = di.dli_fname;
		if (!mod || mod[0] != '/')
			mod = g.exe; /* the main program is named as it was started */
		if (mod && *mod && !(f.module = inject_cstr(mod)))
			return 0;
		f.module_offset = pc - (uint64_t)(uintptr_t)di.dli_fbase;
		if (di.dli_sname && di.dli_saddr) {
			if (!(f.function = inject_cstr(di.dli_sname)))
				return 0;
			f.function_offset = pc - (uint64_t)(uintptr_t)di.dli_saddr;
		}
	}
	return inj_insert(&g.frames, hash, &pc, sizeof(pc), PROTO_FRAME, &f, sizeof(f), NULL, 0);
}

/* The calling thread's stack, interned (inject.h). Not inlined: its own
 * frame is the first one unw_backtrace reports, and is skipped. */
__attribute__((noinline)) uint32_t inject_stack(unsigned skip)
{
	if (!inject_active(PROTO_OPT_STACKS))
		return 0;
	if (skip > INJ_STACK_SKIP_MAX)
		skip = INJ_STACK_SKIP_MAX;
	void *pcs[PROTO_STACK_MAX + 1 + INJ_STACK_SKIP_MAX];
	unsigned first = 1 + skip;
	int n = unw_backtrace(pcs, (int)(PROTO_STACK_MAX + first));
	if (n <= (int)first)
		return 0;
	unsigned count = (unsigned)n - first;
	if (count > PROTO_STACK_MAX)
		count = PROTO_STACK_MAX;
	uint64_t key[PROTO_STACK_MAX];
	for (unsigned i = 0; i < count; i++)
		key[i] = (uint64_t)(uintptr_t)pcs[first + i];
	size_t klen = count * sizeof(key[0]);
	uint64_t hash = inj_hash(key, klen);
	uint32_t id = inj_table_find(&g.stacks, inj_fast_gen(), hash, key, klen);
	if (id)
		return id;
	uint32_t frames[PROTO_STACK_MAX];
	for (unsigned i = 0; i < count; i++) {
		if (!(frames[i] = inj_frame(key[i])))
			return 0;
	}
	return inj_insert(&g.stacks, hash, key, klen, PROTO_STACK, frames, count * sizeof(frames[0]), NULL,
	                  0);
}

/* --- records ------------------------------------------------------------------ */

/* Sends a device description (inject.h). */
void inject_device(const struct trace_device *d)
{
	if (inj_live())
		inj_send(PROTO_DEVICE, 0, d, sizeof(*d), NULL, 0);
}

/* Sends one event (inject.h). */
bool inject_event(const struct trace_event *ev)
{
	return inj_live() && inj_send(PROTO_EVENT, 0, ev, sizeof(*ev), NULL, 0);
}

/* Sends a cumulative loss total for `source` (inject.h). */
void inject_loss(const char *source, uint64_t count)
{
	uint32_t sid = inject_cstr(source);
	if (!sid)
		return;
	struct proto_loss l = {.source = sid, .count = count};
	inj_send(PROTO_LOSS, 0, &l, sizeof(l), NULL, 0);
}

/* Sends a message for the user (inject.h); without a connection it goes to
 * stderr only when TSTOP_DEBUG is set. */
void inject_log(enum proto_log_level level, const char *fmt, ...)
{
	char msg[INJ_LOG_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	while (len && msg[len - 1] == '\n')
		len--;
	if (!inj_live()) {
		inj_debug("%.*s", (int)len, msg);
		return;
	}
	struct proto_log l = {.level = (uint8_t)level};
	inj_send(PROTO_LOG, 0, &l, sizeof(l), msg, len);
}
