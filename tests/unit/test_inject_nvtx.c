/*
 * test_inject_nvtx.c - the collector end to end, from the NVTX entry point
 * to the ring, with this test playing both other parties: the NVTX loader
 * inside a target process (a forked child that dlopens the built
 * libtstop-inject.so and calls InitializeInjectionNvtx2 with a loader-shaped
 * export table) and tstop (a Unix socket server that checks the peer, creates
 * a ring per process and passes its memfd, then decodes every record).
 *
 * Checked: HELLO first with the right pids, sizes and command line; every id
 * defined before it is used; push/pop nesting, attributes (color, category,
 * every payload type tested, domains, registered and wide strings), marks,
 * start/end ended on another thread (on the starting thread's track), thread
 * names set from another thread, interleaved domains, depth overflow and
 * unmatched pops/ends counted as losses, ranges open at exit sent with
 * TRACE_FLAG_OPEN, GOODBYE last; a fork child connecting as its own process
 * with its parent recorded and no parent ranges; and the bad cases: no
 * socket, a socket nobody listens on, a refusal, and tstop vanishing with a
 * ring too small (the target runs on, drops are counted, nothing printed).
 *
 * The loader's ABI (nvtxTypes.h, nvToolsExt.h) is declared here from its
 * documented layout, so that the test builds without the NVTX headers; when
 * the library was built without them (no InitializeInjectionNvtx2) the test
 * is skipped.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <cmocka.h>

#include "capture/proto.h"
#include "capture/ring.h"

/* --- the NVTX v3 loader ABI ------------------------------------------------ */

typedef void (*test_nvtx_fn)(void);
typedef test_nvtx_fn **test_nvtx_table;

struct test_nvtx_callbacks {
	size_t struct_size;
	int (*get_module_table)(int module, test_nvtx_table *out_table, unsigned int *out_size);
};

struct test_nvtx_version {
	size_t struct_size;
	uint32_t version;
	uint32_t reserved0;
	void (*set_version)(uint32_t version);
};

/* nvtxEventAttributes_v2 */
struct test_nvtx_attr {
	uint16_t version;
	uint16_t size;
	uint32_t category;
	int32_t color_type;
	uint32_t color;
	int32_t payload_type;
	int32_t reserved0;
	union {
		uint64_t u64;
		int64_t i64;
		double d;
		uint32_t u32;
		int32_t i32;
		float f;
	} payload;
	int32_t message_type;
	union {
		const char *ascii;
		const wchar_t *unicode;
		const void *registered;
	} message;
};

enum { TEST_MOD_CORE = 1, TEST_MOD_CORE2 = 5, TEST_ETID_CALLBACKS = 1, TEST_ETID_VERSIONINFO = 3 };
enum {
	CORE_MarkEx = 1,
	CORE_MarkA = 2,
	CORE_MarkW = 3,
	CORE_RangeStartEx = 4,
	CORE_RangeStartA = 5,
	CORE_RangeStartW = 6,
	CORE_RangeEnd = 7,
	CORE_RangePushEx = 8,
	CORE_RangePushA = 9,
	CORE_RangePushW = 10,
	CORE_RangePop = 11,
	CORE_NameCategoryA = 12,
	CORE_NameCategoryW = 13,
	CORE_NameOsThreadA = 14,
	CORE_NameOsThreadW = 15,
	CORE_SIZE = 16,
};
enum {
	CORE2_DomainMarkEx = 1,
	CORE2_DomainRangeStartEx = 2,
	CORE2_DomainRangeEnd = 3,
	CORE2_DomainRangePushEx = 4,
	CORE2_DomainRangePop = 5,
	CORE2_DomainRegisterStringA = 10,
	CORE2_DomainRegisterStringW = 11,
	CORE2_DomainCreateA = 12,
	CORE2_DomainCreateW = 13,
	CORE2_DomainDestroy = 14,
	CORE2_SIZE = 16,
};
enum { TEST_COLOR_ARGB = 1, TEST_MSG_ASCII = 1, TEST_MSG_UNICODE = 2, TEST_MSG_REGISTERED = 3 };
enum { TEST_PAYLOAD_DOUBLE = 3, TEST_PAYLOAD_I32 = 5, TEST_PAYLOAD_FLOAT = 6 };

/* The fake loader's function-pointer slots, as one NVTX instance has them. */
static test_nvtx_fn test_core_fn[CORE_SIZE], test_core2_fn[CORE2_SIZE];
static test_nvtx_fn *test_core_tab[CORE_SIZE + 1], *test_core2_tab[CORE2_SIZE + 1];
static uint32_t test_version_set;

static int test_get_module_table(int module, test_nvtx_table *out_table, unsigned int *out_size)
{
	if (module == TEST_MOD_CORE) {
		*out_table = test_core_tab;
		*out_size = CORE_SIZE;
		return 1;
	}
	if (module == TEST_MOD_CORE2) {
		*out_table = test_core2_tab;
		*out_size = CORE2_SIZE;
		return 1;
	}
	return 0;
}

static void test_set_version(uint32_t v)
{
	test_version_set = v;
}

static const struct test_nvtx_callbacks test_callbacks = {sizeof(test_callbacks), test_get_module_table};
static const struct test_nvtx_version test_version = {sizeof(test_version), 3, 0, test_set_version};

static const void *test_get_export_table(uint32_t id)
{
	if (id == TEST_ETID_CALLBACKS)
		return &test_callbacks;
	if (id == TEST_ETID_VERSIONINFO)
		return &test_version;
	return NULL;
}

/* Typed access to the installed callbacks. */
#define CORE(id, type)  ((type)test_core_fn[CORE_##id])
#define CORE2(id, type) ((type)test_core2_fn[CORE2_##id])
typedef void (*t_mark_a)(const char *);
typedef void (*t_mark_ex)(const struct test_nvtx_attr *);
typedef uint64_t (*t_start_a)(const char *);
typedef void (*t_end)(uint64_t);
typedef int (*t_push_a)(const char *);
typedef int (*t_push_w)(const wchar_t *);
typedef int (*t_push_ex)(const struct test_nvtx_attr *);
typedef int (*t_pop)(void);
typedef void (*t_name_thread)(uint32_t, const char *);
typedef void *(*t_domain_create)(const char *);
typedef void *(*t_register)(void *, const char *);
typedef int (*t_domain_push)(void *, const struct test_nvtx_attr *);
typedef int (*t_domain_pop)(void *);
typedef void (*t_domain_mark)(void *, const struct test_nvtx_attr *);

/* --- the library -------------------------------------------------------------- */

static char test_lib[PATH_MAX];

/* Finds the built libtstop-inject.so from this test's own location in the
 * build tree. */
static bool test_find_lib(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = '\0';
	static const char *const pats[] = {"%s/../lib*/tstop/libtstop-inject.so",
	                                   "%s/../lib*/*/tstop/libtstop-inject.so"};
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		char pat[PATH_MAX + 64];
		snprintf(pat, sizeof(pat), pats[i], exe);
		glob_t g;
		if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
			snprintf(test_lib, sizeof(test_lib), "%s", g.gl_pathv[0]);
			globfree(&g);
			return true;
		}
		globfree(&g);
	}
	return false;
}

/* In a target child: loads the library as the NVTX loader does and asks
 * it to initialize. Returns what InitializeInjectionNvtx2 returned, or -1
 * when it could not be loaded. */
static int test_child_init(void)
{
	for (int i = 1; i < CORE_SIZE; i++)
		test_core_tab[i] = &test_core_fn[i];
	for (int i = 1; i < CORE2_SIZE; i++)
		test_core2_tab[i] = &test_core2_fn[i];
	void *h = dlopen(test_lib, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return -1;
	int (*init)(const void *(*)(uint32_t)) =
	    (int (*)(const void *(*)(uint32_t)))dlsym(h, "InitializeInjectionNvtx2");
	if (!init)
		return -1;
	int rc = init(test_get_export_table);
	if (rc == 0)
		dlclose(h); /* as the loader does */
	return rc;
}

/* --- the tstop side ------------------------------------------------------------ */

#define TEST_MAX_CONN 8

struct test_server {
	char dir[64];
	char path[108];
	int lfd;
	size_t ring_size;
	int32_t status; /* proto_accept.status to answer */
	bool vanish;    /* close the connection and the ring right after accepting */
	int conns[TEST_MAX_CONN];
	struct ring *rings[TEST_MAX_CONN];
	uint32_t pids[TEST_MAX_CONN];
	size_t n;
};

static void test_server_open(struct test_server *s, size_t ring_size)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/tstop-test-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/sock", s->dir);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(s->lfd >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 8), 0);
	s->ring_size = ring_size;
}

static void test_server_close(struct test_server *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->conns[i] >= 0)
			close(s->conns[i]);
		ring_close(s->rings[i]);
	}
	close(s->lfd);
	unlink(s->path);
	rmdir(s->dir);
}

/* The parent pid of process `pid`, from /proc. */
static uint32_t test_ppid_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	assert_non_null(p);
	unsigned ppid = 0;
	char state;
	assert_int_equal(sscanf(p + 1, " %c %u", &state, &ppid), 2);
	return ppid;
}

/* Accepts one pending connection: checks the request and the peer's
 * credentials, creates its ring and answers with the memfd. */
static void test_server_accept(struct test_server *s)
{
	int c = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	assert_true(s->n < TEST_MAX_CONN);
	struct timeval tv = {5, 0};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct proto_connect req;
	size_t got = 0;
	while (got < sizeof(req)) {
		ssize_t k = read(c, (char *)&req + got, sizeof(req) - got);
		assert_true(k > 0);
		got += (size_t)k;
	}
	assert_true(req.magic == PROTO_MAGIC);
	assert_int_equal(req.version, PROTO_VERSION);
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	assert_int_equal(getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &clen), 0);
	assert_int_equal((uint32_t)cred.pid, req.pid);
	assert_int_equal(cred.uid, getuid());
	assert_int_equal(req.ppid, test_ppid_of((pid_t)cred.pid));
	struct err e;
	struct ring *r = ring_create(s->ring_size, 0, 0, &e);
	assert_non_null(r);
	struct proto_accept acc = {.magic = PROTO_MAGIC,
	                           .version = PROTO_VERSION,
	                           .status = s->status,
	                           .flags = PROTO_OPT_NVTX | PROTO_OPT_STACKS,
	                           .flush_ms = 100};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {&acc, sizeof(acc)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (s->status == 0) {
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		int fd = ring_fd(r);
		memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	}
	assert_int_equal(sendmsg(c, &msg, MSG_NOSIGNAL), (ssize_t)sizeof(acc));
	s->pids[s->n] = req.pid;
	s->conns[s->n] = c;
	s->rings[s->n] = r;
	if (s->vanish) {
		ring_consumer_detach(r);
		close(c);
		s->conns[s->n] = -1;
	}
	s->n++;
}

/* Runs `body` in a forked target child with PROTO_ENV_SOCKET set to
 * `socket_path` (unset when NULL), serving connections on `s` (may be
 * NULL) until the child has exited. Everything the child writes to stdout
 * and stderr is returned in `out`. Returns the child's wait status. */
static int test_run_child(struct test_server *s, const char *socket_path, void (*body)(void), char *out,
                          size_t outcap)
{
	int pfd[2];
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		if (socket_path)
			setenv(PROTO_ENV_SOCKET, socket_path, 1);
		else
			unsetenv(PROTO_ENV_SOCKET);
		unsetenv("TSTOP_DEBUG");
		body();
		exit(0);
	}
	close(pfd[1]);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	size_t outlen = 0;
	int status = 0;
	bool exited = false, eof = false;
	for (int spins = 0; !(exited && eof); spins++) {
		assert_true(spins < 20000); /* 20 s */
		struct pollfd pf[2] = {{pfd[0], POLLIN, 0}, {s ? s->lfd : -1, POLLIN, 0}};
		poll(pf, 2, 1);
		if (s)
			test_server_accept(s);
		char buf[256];
		ssize_t n;
		while ((n = read(pfd[0], buf, sizeof(buf))) > 0) {
			size_t k = (size_t)n < outcap - 1 - outlen ? (size_t)n : outcap - 1 - outlen;
			memcpy(out + outlen, buf, k);
			outlen += k;
		}
		if (n == 0)
			eof = true;
		if (!exited && waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
	}
	out[outlen] = '\0';
	close(pfd[0]);
	return status;
}

/* --- decoding a ring -------------------------------------------------------------- */

#define TEST_MAX_IDS 4096

struct test_proc {
	bool hello, goodbye;
	unsigned before_hello, after_goodbye, bad_refs, bad_ids, bad_len;
	struct proto_hello h;
	char cmd[PROTO_STRING_MAX + 1];
	char *str[TEST_MAX_IDS];
	uint32_t nstr, ntrack, nattr, nframe, nstack;
	struct trace_track_info track[TEST_MAX_IDS];
	struct trace_nvtx_attr attr[TEST_MAX_IDS];
	struct trace_event ev[4096];
	size_t nev;
	uint32_t loss_source[16];
	uint64_t loss_count[16];
	size_t nloss;
};

/* A definition's id must be the next one of its table (dense, in order);
 * `redefine` also accepts a known id (a renamed track). */
static void test_def_id(struct test_proc *p, uint32_t *count, uint32_t id, bool redefine)
{
	if (id == *count + 1 && id < TEST_MAX_IDS)
		*count = id;
	else if (!(redefine && id >= 1 && id <= *count))
		p->bad_ids++;
}

#define TEST_REF(p, id, count)                                                                               \
	do {                                                                                                 \
		if ((id) > (count))                                                                          \
			(p)->bad_refs++;                                                                     \
	} while (0)

static int test_on_record(void *arg, const void *data, uint32_t len)
{
	struct test_proc *p = arg;
	struct proto_header h;
	if (len < sizeof(h)) {
		p->bad_len++;
		return 0;
	}
	memcpy(&h, data, sizeof(h));
	const char *body = (const char *)data + sizeof(h);
	size_t blen = len - sizeof(h);
	if (!p->hello && h.type != PROTO_HELLO)
		p->before_hello++;
	if (p->goodbye)
		p->after_goodbye++;
	switch (h.type) {
	case PROTO_HELLO:
		if (blen < sizeof(p->h) || p->hello) {
			p->bad_len++;
			break;
		}
		p->hello = true;
		memcpy(&p->h, body, sizeof(p->h));
		memcpy(p->cmd, body + sizeof(p->h), blen - sizeof(p->h));
		break;
	case PROTO_STRING:
		test_def_id(p, &p->nstr, h.id, false);
		if (h.id < TEST_MAX_IDS && !p->str[h.id])
			p->str[h.id] = strndup(body, blen);
		if (blen == 0)
			p->bad_len++; /* the empty string is never defined */
		break;
	case PROTO_TRACK: {
		struct trace_track_info t;
		if (blen != sizeof(t)) {
			p->bad_len++;
			break;
		}
		memcpy(&t, body, sizeof(t));
		test_def_id(p, &p->ntrack, h.id, true);
		TEST_REF(p, t.name, p->nstr);
		if (h.id < TEST_MAX_IDS)
			p->track[h.id] = t;
		break;
	}
	case PROTO_NVTX_ATTR: {
		struct trace_nvtx_attr a;
		if (blen != sizeof(a)) {
			p->bad_len++;
			break;
		}
		memcpy(&a, body, sizeof(a));
		test_def_id(p, &p->nattr, h.id, false);
		TEST_REF(p, a.domain, p->nstr);
		if (h.id < TEST_MAX_IDS)
			p->attr[h.id] = a;
		break;
	}
	case PROTO_EVENT: {
		struct trace_event e;
		if (blen != sizeof(e)) {
			p->bad_len++;
			break;
		}
		memcpy(&e, body, sizeof(e));
		TEST_REF(p, e.name, p->nstr);
		TEST_REF(p, e.u.nvtx.attr, p->nattr);
		if (e.track == 0)
			p->bad_refs++;
		TEST_REF(p, e.track, p->ntrack);
		if (p->nev < sizeof(p->ev) / sizeof(p->ev[0]))
			p->ev[p->nev++] = e;
		break;
	}
	case PROTO_LOSS: {
		struct proto_loss l;
		if (blen != sizeof(l)) {
			p->bad_len++;
			break;
		}
		memcpy(&l, body, sizeof(l));
		TEST_REF(p, l.source, p->nstr);
		size_t i = 0;
		while (i < p->nloss && p->loss_source[i] != l.source)
			i++;
		if (i < 16) {
			p->loss_source[i] = l.source;
			p->loss_count[i] = l.count;
			if (i == p->nloss)
				p->nloss++;
		}
		break;
	}
	case PROTO_GOODBYE:
		p->goodbye = true;
		break;
	default:
		break;
	}
	return 0;
}

/* Reads everything in the ring of process `pid` served by `s`. */
static struct test_proc *test_decode(struct test_server *s, uint32_t pid)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->pids[i] != pid)
			continue;
		struct test_proc *p = calloc(1, sizeof(*p));
		assert_non_null(p);
		struct err e;
		long n;
		while ((n = ring_read(s->rings[i], 1000, test_on_record, p, &e)) > 0)
			;
		assert_int_equal(n, 0);
		return p;
	}
	fail_msg("no connection from pid %u", pid);
	return NULL;
}

static void test_proc_free(struct test_proc *p)
{
	for (uint32_t i = 0; i < TEST_MAX_IDS; i++)
		free(p->str[i]);
	free(p);
}

static const char *test_str(const struct test_proc *p, uint32_t id)
{
	return id && id < TEST_MAX_IDS && p->str[id] ? p->str[id] : "";
}

/* Events of `kind` named `name`: how many, and the first in *first. */
static size_t test_events(const struct test_proc *p, uint8_t kind, const char *name,
                          const struct trace_event **first)
{
	size_t n = 0;
	for (size_t i = 0; i < p->nev; i++) {
		if (p->ev[i].kind == kind && !strcmp(test_str(p, p->ev[i].name), name)) {
			if (!n && first)
				*first = &p->ev[i];
			n++;
		}
	}
	return n;
}

static uint64_t test_loss(const struct test_proc *p, const char *source)
{
	for (size_t i = 0; i < p->nloss; i++) {
		if (!strcmp(test_str(p, p->loss_source[i]), source))
			return p->loss_count[i];
	}
	return 0;
}

/* Checks what every well-formed ring holds. */
static void test_check_framing(const struct test_proc *p, uint32_t pid, uint32_t ppid)
{
	assert_true(p->hello);
	assert_int_equal(p->before_hello, 0);
	assert_int_equal(p->h.version, PROTO_VERSION);
	assert_int_equal(p->h.pid, pid);
	assert_int_equal(p->h.ppid, ppid);
	assert_int_equal(p->h.size_event, sizeof(struct trace_event));
	assert_int_equal(p->h.size_track, sizeof(struct trace_track_info));
	assert_int_equal(p->h.size_nvtx_attr, sizeof(struct trace_nvtx_attr));
	assert_int_equal(p->h.size_frame, sizeof(struct proto_frame));
	assert_true(p->h.start > 0);
	assert_non_null(strstr(p->cmd, "test_inject_nvtx"));
	assert_int_equal(p->bad_refs, 0);
	assert_int_equal(p->bad_ids, 0);
	assert_int_equal(p->bad_len, 0);
	assert_true(p->goodbye);
	assert_int_equal(p->after_goodbye, 0);
	for (size_t i = 0; i < p->nev; i++) {
		assert_true(p->ev[i].end >= p->ev[i].start);
		assert_true(p->ev[i].start >= p->h.start);
	}
}

/* --- the target's workload ------------------------------------------------------- */

#define CHECK(cond, code)                                                                                    \
	do {                                                                                                 \
		if (!(cond))                                                                                 \
			_exit(code);                                                                         \
	} while (0)

static int test_tid_pipe[2], test_go_pipe[2];
static uint64_t test_handoff;

/* A second thread: reports its tid, waits until main has named it, ends
 * main's start/end range and pushes a range of its own. */
static void *test_worker(void *arg)
{
	(void)arg;
	uint32_t tid = (uint32_t)gettid();
	char go;
	if (write(test_tid_pipe[1], &tid, sizeof(tid)) != sizeof(tid) || read(test_go_pipe[0], &go, 1) != 1)
		_exit(40);
	CORE(RangeEnd, t_end)(test_handoff);
	CHECK(CORE(RangePushA, t_push_a)("worker-range") == 0, 41);
	CHECK(CORE(RangePop, t_pop)() == 0, 42);
	return NULL;
}

static struct test_nvtx_attr test_attr(int32_t msg_type)
{
	struct test_nvtx_attr a;
	memset(&a, 0, sizeof(a));
	a.version = 3;
	a.size = sizeof(a);
	a.message_type = msg_type;
	return a;
}

static void test_body_full(void)
{
	CHECK(test_child_init() == 1, 10);
	CHECK(test_version_set == 3, 11);
	static const int core_used[] = {
	    CORE_MarkEx,      CORE_MarkA,         CORE_MarkW,        CORE_RangeStartEx, CORE_RangeStartA,
	    CORE_RangeStartW, CORE_RangeEnd,      CORE_RangePushEx,  CORE_RangePushA,   CORE_RangePushW,
	    CORE_RangePop,    CORE_NameOsThreadA, CORE_NameOsThreadW};
	for (size_t i = 0; i < sizeof(core_used) / sizeof(core_used[0]); i++)
		CHECK(test_core_fn[core_used[i]] != NULL, 12);
	static const int core2_used[] = {
	    CORE2_DomainMarkEx,          CORE2_DomainRangeStartEx, CORE2_DomainRangeEnd,
	    CORE2_DomainRangePushEx,     CORE2_DomainRangePop,     CORE2_DomainRegisterStringA,
	    CORE2_DomainRegisterStringW, CORE2_DomainCreateA,      CORE2_DomainCreateW};
	for (size_t i = 0; i < sizeof(core2_used) / sizeof(core2_used[0]); i++)
		CHECK(test_core2_fn[core2_used[i]] != NULL, 13);

	CORE(NameOsThreadA, t_name_thread)((uint32_t)gettid(), "main-thread");
	CHECK(CORE(RangePushA, t_push_a)("outer") == 0, 14);
	struct test_nvtx_attr a = test_attr(TEST_MSG_ASCII);
	a.category = 7;
	a.color_type = TEST_COLOR_ARGB;
	a.color = 0xff00ff00u;
	a.payload_type = TEST_PAYLOAD_DOUBLE;
	a.payload.d = 1.5;
	a.message.ascii = "inner";
	CHECK(CORE(RangePushEx, t_push_ex)(&a) == 1, 15);
	CHECK(CORE(RangePop, t_pop)() == 1, 16);
	CHECK(CORE(RangePop, t_pop)() == 0, 17);
	CORE(RangePushW, t_push_w)(L"w\u00e9");
	CORE(RangePop, t_pop)();
	CORE(MarkA, t_mark_a)("m1");

	/* Start/end ended on another thread, which main names. */
	test_handoff = CORE(RangeStartA, t_start_a)("se");
	CHECK(test_handoff != 0, 18);
	CHECK(pipe(test_tid_pipe) == 0 && pipe(test_go_pipe) == 0, 19);
	pthread_t th;
	CHECK(pthread_create(&th, NULL, test_worker, NULL) == 0, 20);
	uint32_t wtid;
	CHECK(read(test_tid_pipe[0], &wtid, sizeof(wtid)) == sizeof(wtid), 21);
	CORE(NameOsThreadA, t_name_thread)(wtid, "named-by-main");
	CHECK(write(test_go_pipe[1], "g", 1) == 1, 22);
	pthread_join(th, NULL);

	/* Domains and registered strings. */
	void *d = CORE2(DomainCreateA, t_domain_create)("dom");
	CHECK(d != NULL && d == CORE2(DomainCreateA, t_domain_create)("dom"), 23);
	void *reg = CORE2(DomainRegisterStringA, t_register)(d, "reg");
	CHECK(reg != NULL && reg == CORE2(DomainRegisterStringA, t_register)(d, "reg"), 24);
	struct test_nvtx_attr b = test_attr(TEST_MSG_REGISTERED);
	b.message.registered = reg;
	b.payload_type = TEST_PAYLOAD_FLOAT;
	b.payload.f = 2.5f;
	CHECK(CORE2(DomainRangePushEx, t_domain_push)(d, &b) == 0, 25);
	CHECK(CORE2(DomainRangePop, t_domain_pop)(d) == 0, 26);
	struct test_nvtx_attr c = test_attr(TEST_MSG_ASCII);
	c.message.ascii = "dmark";
	c.payload_type = TEST_PAYLOAD_I32;
	c.payload.i32 = -5;
	CORE2(DomainMarkEx, t_domain_mark)(d, &c);

	/* Interleaved domains: each pop closes its own domain's range. */
	CORE(RangePushA, t_push_a)("a");
	struct test_nvtx_attr bb = test_attr(TEST_MSG_ASCII);
	bb.message.ascii = "b";
	CORE2(DomainRangePushEx, t_domain_push)(d, &bb);
	CHECK(CORE(RangePop, t_pop)() == 0, 27);
	CHECK(CORE2(DomainRangePop, t_domain_pop)(d) == 0, 28);

	/* Anomalies. */
	CHECK(CORE(RangePop, t_pop)() == -1, 29);
	CORE(RangeEnd, t_end)(12345678ull);
	for (int i = 0; i < 130; i++)
		CHECK(CORE(RangePushA, t_push_a)("deep") == i, 30);
	for (int i = 129; i >= 0; i--)
		CHECK(CORE(RangePop, t_pop)() == i, 31);

	/* A fork child with one of our ranges open. */
	CORE(RangePushA, t_push_a)("pre-fork");
	pid_t kid = fork();
	CHECK(kid >= 0, 32);
	if (kid == 0) {
		CHECK(CORE(RangePop, t_pop)() == 0, 33);
		CHECK(CORE(RangePushA, t_push_a)("child-range") == 0, 34);
		CHECK(CORE(RangePop, t_pop)() == 0, 35);
		exit(0);
	}
	int st;
	CHECK(waitpid(kid, &st, 0) == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0, 36);
	CHECK(CORE(RangePop, t_pop)() == 0, 37);

	/* Left open at exit. */
	CORE(RangePushA, t_push_a)("left-open");
	CHECK(CORE(RangeStartA, t_start_a)("open-se") != 0, 38);
}

static void test_full(void **state)
{
	(void)state;
	if (!test_find_lib())
		fail_msg("libtstop-inject.so not found next to the test binary");
	void *h = dlopen(test_lib, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(h);
	bool has_nvtx = dlsym(h, "InitializeInjectionNvtx2") != NULL;
	dlclose(h);
	if (!has_nvtx)
		skip();

	struct test_server s;
	test_server_open(&s, 1u << 20);
	char out[4096];
	int status = test_run_child(&s, s.path, test_body_full, out, sizeof(out));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(out, "");
	assert_int_equal(s.n, 2);
	uint32_t child = s.pids[0], grandchild = s.pids[1];

	struct test_proc *p = test_decode(&s, child);
	test_check_framing(p, child, (uint32_t)getpid());
	const struct trace_event *outer = NULL, *inner = NULL, *e = NULL;
	assert_int_equal(test_events(p, TRACE_NVTX_RANGE, "outer", &outer), 1);
	uint32_t main_track = outer->track;
	assert_int_equal(p->track[main_track].kind, TRACE_TRACK_THREAD);
	assert_int_equal(p->track[main_track].tid, child);
	assert_string_equal(test_str(p, p->track[main_track].name), "main-thread");
	assert_int_equal(outer->flags, 0);
	assert_int_equal(outer->u.nvtx.attr, 0);

	assert_int_equal(test_events(p, TRACE_NVTX_RANGE, "inner", &inner), 1);
	assert_true(inner->start >= outer->start && inner->end <= outer->end);
	assert_int_equal(inner->track, main_track);
	const struct trace_nvtx_attr *ia = &p->attr[inner->u.nvtx.attr];
	assert_int_equal(ia->domain, 0);
	assert_int_equal(ia->category, 7);
	assert_int_equal(ia->has_color, 1);
	assert_int_equal(ia->color, 0xff00ff00u);
	assert_int_equal(ia->payload_type, TRACE_NVTX_PAYLOAD_DOUBLE);
	double dv;
	memcpy(&dv, &ia->payload, sizeof(dv));
	assert_true(dv == 1.5);

	assert_int_equal(test_events(p, TRACE_NVTX_RANGE, "w\xc3\xa9", NULL), 1);
	assert_int_equal(test_events(p, TRACE_NVTX_MARK, "m1", &e), 1);
	assert_true(e->start == e->end && e->track == main_track);

	assert_int_equal(test_events(p, TRACE_NVTX_RANGE, "se", &e), 1);
	assert_int_equal(e->flags, TRACE_FLAG_NVTX_STARTEND);
	assert_int_equal(e->track, main_track);
	assert_int_equal(test_events(p, TRACE_NVTX_RANGE, "worker-range", &e), 1);
	assert_true(e->track != main_track);
	assert_true(p->track[e->track].tid != child);
	assert_string_equal(test_str(p, p->track[e->track].name), "named-by-main");

	assert_int_equal(test_events(p, TRACE_NVTX_RANGE, "reg", &e), 1);
	const struct trace_nvtx_attr *ra = &p->attr[e->u.nvtx.attr];
	assert_string_equal(test_str(p, ra->domain), "dom");
	assert_int_equal(ra->payload_type, TRACE_NVTX_PAYLOAD_FLOAT);
	float fv = 2.5f;
	uint32_t fbits;
	memcpy(&fbits, &fv, sizeof(fbits));
	assert_int_equal(ra->payload, fbits);
	assert_int_equal(test_events(p, TRACE_NVTX_MARK, "dmark", &e), 1);
	const struct trace_nvtx_attr *ma = &p->attr[e->u.nvtx.attr];
	assert_string_equal(test_str(p, ma->domain), "dom");
	assert_int_equal(ma->payload_type, TRACE_NVTX_PAYLOAD_I32);
	assert_int_equal(ma->payload, (uint32_t)-5);

	const struct trace_event *ea = NULL, *eb = NULL;
	assert_int_equal(test_events(p, TRACE_NVTX_RANGE, "a", &ea), 1);
	assert_int_equal(test_events(p, TRACE_NVTX_RANGE, "b", &eb), 1);
	assert_true(ea->end <= eb->end);
	assert_int_equal(ea->u.nvtx.attr, 0);
	assert_string_equal(test_str(p, p->attr[eb->u.nvtx.attr].domain), "dom");

	assert_int_equal(test_events(p, TRACE_NVTX_RANGE, "deep", NULL), 128);
	assert_int_equal(test_loss(p, "nvtx"), 2);
	assert_int_equal(test_loss(p, "nvtx_unmatched_pop"), 1);
	assert_int_equal(test_loss(p, "nvtx_unmatched_end"), 1);
	assert_int_equal(test_events(p, TRACE_NVTX_RANGE, "pre-fork", NULL), 1);
	assert_int_equal(test_events(p, TRACE_NVTX_RANGE, "child-range", NULL), 0);
	assert_int_equal(test_events(p, TRACE_NVTX_RANGE, "left-open", &e), 1);
	assert_int_equal(e->flags, TRACE_FLAG_OPEN);
	assert_int_equal(test_events(p, TRACE_NVTX_RANGE, "open-se", &e), 1);
	assert_int_equal(e->flags, TRACE_FLAG_OPEN | TRACE_FLAG_NVTX_STARTEND);
	test_proc_free(p);

	p = test_decode(&s, grandchild);
	test_check_framing(p, grandchild, child);
	assert_int_equal(test_events(p, TRACE_NVTX_RANGE, "child-range", &e), 1);
	assert_int_equal(p->track[e->track].tid, grandchild);
	assert_int_equal(test_events(p, TRACE_NVTX_RANGE, "pre-fork", NULL), 0);
	assert_int_equal(test_events(p, TRACE_NVTX_RANGE, "outer", NULL), 0);
	assert_int_equal(p->nev, 1);
	assert_int_equal(test_loss(p, "nvtx_unmatched_pop"), 0);
	test_proc_free(p);
	test_server_close(&s);
}

/* The collector must stay out of the way when tstop is not there. */
static void test_body_expect_off(void)
{
	CHECK(test_child_init() == 0, 50);
}

static void test_no_socket(void **state)
{
	(void)state;
	if (!test_find_lib())
		fail_msg("libtstop-inject.so not found next to the test binary");
	char out[1024];
	int status = test_run_child(NULL, NULL, test_body_expect_off, out, sizeof(out));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(out, "");
	status = test_run_child(NULL, "/nonexistent/tstop/socket", test_body_expect_off, out, sizeof(out));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(out, "");
}

static void test_refused(void **state)
{
	(void)state;
	if (!test_find_lib())
		fail_msg("libtstop-inject.so not found next to the test binary");
	struct test_server s;
	test_server_open(&s, 1u << 16);
	s.status = -1;
	char out[1024];
	int status = test_run_child(&s, s.path, test_body_expect_off, out, sizeof(out));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(out, "");
	assert_int_equal(s.n, 1);
	test_server_close(&s);
}

/* tstop goes away right after accepting, leaving a ring nobody reads. */
static void test_body_flood(void)
{
	if (test_child_init() != 1)
		_exit(60);
	for (int i = 0; i < 20000; i++) {
		CORE(RangePushA, t_push_a)("flood");
		CORE(RangePop, t_pop)();
	}
}

static void test_tstop_vanishes(void **state)
{
	(void)state;
	if (!test_find_lib())
		fail_msg("libtstop-inject.so not found next to the test binary");
	void *h = dlopen(test_lib, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(h);
	bool has_nvtx = dlsym(h, "InitializeInjectionNvtx2") != NULL;
	dlclose(h);
	if (!has_nvtx)
		skip();
	struct test_server s;
	test_server_open(&s, RING_MIN_SIZE);
	s.vanish = true;
	char out[1024];
	int status = test_run_child(&s, s.path, test_body_flood, out, sizeof(out));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(out, "");
	assert_int_equal(s.n, 1);
	uint64_t records, bytes;
	ring_drops(s.rings[0], &records, &bytes);
	assert_true(records > 0);
	test_server_close(&s);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_no_socket),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_tstop_vanishes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
