/*
 * test_capture_server.c - the capture socket (src/capture/server.c) and the
 * launcher (src/capture/launch.c), driven in-process.
 *
 * Covers: the owner-only directory under $XDG_RUNTIME_DIR and, without it,
 * under /tmp/tstop-UID (created 0700); the sweep of directories that
 * killed sessions left behind;
 * the handshake (proto_accept with the memfd and the options, a ring that
 * ring_attach accepts and that records flow through), refusals (wrong pid,
 * wrong magic, wrong version: a nonzero status and no descriptor), a
 * connection that closes (the `closed` callback, with the handle), clean-up
 * of the socket and the directory; the exit status of an unreaped process
 * read from /proc; the collector search ($TSTOP_INJECT_LIBRARY); and the
 * launcher's environment (LD_PRELOAD appended, injection variables set) and
 * its "program not found" failure.
 */
#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
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

#include <cmocka.h>

#include "capture/launch.h"
#include "capture/proto.h"
#include "capture/ring.h"
#include "capture/server.h"

/* What the callbacks saw. */
struct cb_log {
	int connected, closed;
	uint32_t pid, ppid;
	struct ring *ring;
	void *closed_handle;
	bool refuse;
};

static int cb_token;

static void *cb_connected(void *arg, uint32_t pid, uint32_t ppid, struct ring *r)
{
	struct cb_log *l = arg;
	l->connected++;
	l->pid = pid;
	l->ppid = ppid;
	if (l->refuse)
		return NULL;
	l->ring = r;
	return &cb_token;
}

static void cb_closed(void *arg, void *handle, bool have_status, int wait_status)
{
	struct cb_log *l = arg;
	l->closed++;
	l->closed_handle = handle;
	ring_close(l->ring);
	l->ring = NULL;
}

static struct capture_server *new_server(struct cb_log *l)
{
	struct capture_server_options o = {.ring_size = 1u << 16,
	                                   .flags = PROTO_OPT_NVTX | PROTO_OPT_STACKS,
	                                   .flush_ms = 250,
	                                   .connected = cb_connected,
	                                   .closed = cb_closed,
	                                   .arg = l};
	struct err e = {{0}};
	struct capture_server *s = capture_server_new(&o, &e);
	if (!s)
		fail_msg("capture_server_new: %s", e.msg);
	return s;
}

/* Connects a client socket to the server. */
static int client_connect(const struct capture_server *s)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", capture_server_path(s));
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

/* Receives proto_accept and the descriptor that came with it (-1: none). */
static void client_receive(int fd, struct proto_accept *a, int *memfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = a, .iov_len = sizeof(*a)};
	struct msghdr msg = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	ssize_t n = recvmsg(fd, &msg, 0);
	assert_int_equal(n, sizeof(*a));
	*memfd = -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(memfd, CMSG_DATA(cm), sizeof(int));
}

static void step(struct capture_server *s)
{
	struct err e = {{0}};
	assert_int_equal(capture_server_step(s, &e), 0);
}

/* Steps until `cond` holds (the kernel delivers socket events promptly). */
#define STEP_UNTIL(s, cond)                                                                                  \
	do {                                                                                                 \
		for (int i_ = 0; i_ < 1000 && !(cond); i_++) {                                               \
			step(s);                                                                             \
			if (!(cond))                                                                         \
				usleep(1000);                                                                \
		}                                                                                            \
		assert_true(cond);                                                                           \
	} while (0)

static void test_handshake(void **state)
{
	char xdg[] = "/tmp/test_capture_xdg.XXXXXX";
	assert_non_null(mkdtemp(xdg));
	setenv("XDG_RUNTIME_DIR", xdg, 1);
	struct cb_log l = {0};
	struct capture_server *s = new_server(&l);
	const char *path = capture_server_path(s);
	assert_int_equal(strncmp(path, xdg, strlen(xdg)), 0);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	struct stat st;
	assert_int_equal(lstat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(st.st_uid, getuid());
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));

	int fd = client_connect(s);
	struct proto_connect pc = {
	    .magic = PROTO_MAGIC, .version = PROTO_VERSION, .pid = (uint32_t)getpid(), .ppid = 77};
	/* In two pieces: the server keeps what it has. */
	assert_int_equal(write(fd, &pc, 5), 5);
	step(s);
	assert_int_equal(l.connected, 0);
	assert_int_equal(write(fd, (char *)&pc + 5, sizeof(pc) - 5), (ssize_t)(sizeof(pc) - 5));
	STEP_UNTIL(s, l.connected == 1);
	assert_int_equal(l.pid, (uint32_t)getpid());
	assert_int_equal(l.ppid, 77);
	struct proto_accept a;
	int memfd;
	client_receive(fd, &a, &memfd);
	assert_int_equal(a.magic, PROTO_MAGIC);
	assert_int_equal(a.status, 0);
	assert_int_equal(a.flags, PROTO_OPT_NVTX | PROTO_OPT_STACKS);
	assert_int_equal(a.flush_ms, 250);
	assert_true(memfd >= 0);
	struct err e = {{0}};
	struct ring *target = ring_attach(memfd, &e);
	assert_non_null(target);
	close(memfd);
	assert_int_equal(ring_data_size(target), 1u << 16);
	uint8_t *p = ring_reserve(target, 8);
	assert_non_null(p);
	memcpy(p, "abcdefgh", 8);
	ring_commit(target, p);
	uint64_t rec, bytes;
	ring_drops(l.ring, &rec, &bytes);
	assert_int_equal(rec, 0);
	struct ring_stats rs;
	ring_get_stats(l.ring, &rs);
	assert_int_equal(rs.reserve_pos, 16);
	ring_close(target);
	assert_int_equal(capture_server_connections(s), 1);
	assert_int_equal(capture_server_stats(s)->accepted, 1);

	close(fd);
	STEP_UNTIL(s, l.closed == 1);
	assert_ptr_equal(l.closed_handle, &cb_token);
	assert_int_equal(capture_server_connections(s), 0);

	capture_server_delete(s);
	assert_int_equal(lstat(dir, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(rmdir(xdg), 0);
	unsetenv("XDG_RUNTIME_DIR");
}

/* Sends `pc` and expects a refusal: status != 0, no descriptor. */
static void expect_refused(struct capture_server *s, struct cb_log *l, const struct proto_connect *pc)
{
	int fd = client_connect(s);
	assert_int_equal(write(fd, pc, sizeof(*pc)), (ssize_t)sizeof(*pc));
	uint64_t before = capture_server_stats(s)->refused;
	STEP_UNTIL(s, capture_server_stats(s)->refused == before + 1);
	struct proto_accept a;
	int memfd;
	client_receive(fd, &a, &memfd);
	assert_int_not_equal(a.status, 0);
	assert_int_equal(memfd, -1);
	char c;
	assert_int_equal(read(fd, &c, 1), 0); /* closed by the server */
	close(fd);
	assert_int_equal(capture_server_connections(s), 0);
}

static void test_refusals(void **state)
{
	unsetenv("XDG_RUNTIME_DIR");
	struct cb_log l = {0};
	struct capture_server *s = new_server(&l);
	char base[64];
	snprintf(base, sizeof(base), "/tmp/tstop-%u/", (unsigned)getuid());
	assert_int_equal(strncmp(capture_server_path(s), base, strlen(base)), 0);
	struct stat st;
	base[strlen(base) - 1] = '\0';
	assert_int_equal(lstat(base, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	struct proto_connect pc = {
	    .magic = PROTO_MAGIC, .version = PROTO_VERSION, .pid = (uint32_t)getpid() + 1};
	expect_refused(s, &l, &pc);
	pc.pid = (uint32_t)getpid();
	pc.magic ^= 1;
	expect_refused(s, &l, &pc);
	pc.magic = PROTO_MAGIC;
	pc.version = PROTO_VERSION + 1;
	expect_refused(s, &l, &pc);
	/* The caller refuses the process: its ring was handed back. */
	pc.version = PROTO_VERSION;
	l.refuse = true;
	expect_refused(s, &l, &pc);
	assert_int_equal(l.connected, 1);
	assert_int_equal(l.closed, 0);
	/* A connection that closes during the handshake just goes. */
	int fd = client_connect(s);
	assert_int_equal(write(fd, &pc, 3), 3);
	close(fd);
	uint64_t before = capture_server_stats(s)->refused;
	STEP_UNTIL(s, capture_server_stats(s)->refused == before + 1);
	assert_int_equal(capture_server_connections(s), 0);
	capture_server_delete(s);
}

/* Makes `dir` (and a socket in it when `sock`: bound, listening when
 * `listening`, else closed) with times `age` seconds in the past. Returns
 * the listening descriptor, or -1. */
static int make_session_dir(const char *dir, bool sock, bool listening, int age)
{
	assert_int_equal(mkdir(dir, 0700), 0);
	int fd = -1;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/socket", dir);
	if (sock) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un addr = {.sun_family = AF_UNIX};
		assert_true(strlen(path) < sizeof(addr.sun_path));
		memcpy(addr.sun_path, path, strlen(path) + 1);
		assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
		if (listening) {
			assert_int_equal(listen(fd, 1), 0);
		} else {
			close(fd);
			fd = -1;
		}
	}
	struct timespec t[2];
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= age;
	t[1] = t[0];
	if (sock)
		assert_int_equal(utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(utimensat(AT_FDCWD, dir, t, 0), 0);
	return fd;
}

/* Directories that killed sessions left are swept; live or recent ones stay. */
static void test_sweep(void **state)
{
	char xdg[] = "/tmp/test_capture_sweep.XXXXXX";
	assert_non_null(mkdtemp(xdg));
	setenv("XDG_RUNTIME_DIR", xdg, 1);
	char dead[PATH_MAX], recent[PATH_MAX], live[PATH_MAX], empty[PATH_MAX], other[PATH_MAX];
	snprintf(dead, sizeof(dead), "%s/tstop-dead", xdg);
	snprintf(recent, sizeof(recent), "%s/tstop-recent", xdg);
	snprintf(live, sizeof(live), "%s/tstop-live", xdg);
	snprintf(empty, sizeof(empty), "%s/tstop-empty", xdg);
	snprintf(other, sizeof(other), "%s/other", xdg);
	make_session_dir(dead, true, false, 3600);
	make_session_dir(recent, true, false, 5);
	int lfd = make_session_dir(live, true, true, 3600);
	make_session_dir(empty, false, false, 3600);
	make_session_dir(other, true, false, 3600);
	struct cb_log l = {0};
	struct capture_server *s = new_server(&l);
	struct stat st;
	assert_int_equal(lstat(dead, &st), -1);
	assert_int_equal(lstat(empty, &st), -1);
	assert_int_equal(lstat(recent, &st), 0);
	assert_int_equal(lstat(live, &st), 0);
	assert_int_equal(lstat(other, &st), 0);
	capture_server_delete(s);
	close(lfd);
	char path[PATH_MAX];
	const char *left[] = {recent, live, other};
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/socket", left[i]);
		assert_int_equal(unlink(path), 0);
		assert_int_equal(rmdir(left[i]), 0);
	}
	assert_int_equal(rmdir(xdg), 0);
	unsetenv("XDG_RUNTIME_DIR");
}

/* The exit status of an ended, unreaped child; none for a live process. */
static void test_exit_status(void **state)
{
	int status;
	assert_false(capture_exit_status((uint32_t)getpid(), &status));
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(7);
	/* Wait until it is a zombie, without reaping it. */
	siginfo_t si;
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	assert_true(capture_exit_status((uint32_t)pid, &status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 7);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_false(capture_exit_status((uint32_t)pid, &status));
}

static void test_find_collector(void **state)
{
	char dir[] = "/tmp/test_capture_lib.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char lib[PATH_MAX];
	snprintf(lib, sizeof(lib), "%s/libtstop-inject.so", dir);
	int fd = open(lib, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	char rel[PATH_MAX];
	snprintf(rel, sizeof(rel), "%s/../%s/libtstop-inject.so", dir, strrchr(dir, '/') + 1);
	setenv(PROTO_ENV_LIBRARY, rel, 1);
	char out[PATH_MAX];
	struct err e = {{0}};
	assert_int_equal(capture_find_collector(out, sizeof(out), &e), 0);
	assert_string_equal(out, lib); /* made absolute and canonical */
	setenv(PROTO_ENV_LIBRARY, "/nonexistent/libtstop-inject.so", 1);
	assert_int_equal(capture_find_collector(out, sizeof(out), &e), -1);
	assert_non_null(strstr(e.msg, PROTO_ENV_LIBRARY));
	unsetenv(PROTO_ENV_LIBRARY);
	unlink(lib);
	rmdir(dir);
}

/* Reads the whole small file `path` into `buf`. */
static void slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, cap - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
}

static void test_launch(void **state)
{
	char dir[] = "/tmp/test_capture_launch.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char out[PATH_MAX], script[PATH_MAX * 2];
	snprintf(out, sizeof(out), "%s/env", dir);
	snprintf(script, sizeof(script),
	         "printf '%%s\\n' \"$TSTOP_SOCKET\" \"$TSTOP_INJECT_LIBRARY\" \"$CUDA_INJECTION64_PATH\" "
	         "\"$NVTX_INJECTION64_PATH\" \"$LD_PRELOAD\" > %s; exit 5",
	         out);
	char *argv[] = {"sh", "-c", script, NULL};
	/* Real libraries, so that the dynamic linker has nothing to say: libc
	 * stands for the collector, libcmocka for a preload already there
	 * (found through functions no sanitizer runtime intercepts). */
	Dl_info libc, other;
	assert_true(dladdr((void *)gnu_get_libc_version, &libc) && libc.dli_fname &&
	            libc.dli_fname[0] == '/');
	assert_true(dladdr((void *)_cmocka_run_group_tests, &other) && other.dli_fname &&
	            other.dli_fname[0] == '/');
	const char *inj = libc.dli_fname, *first = other.dli_fname;
	char expect[4 * PATH_MAX];
	setenv("LD_PRELOAD", "", 1);
	struct capture_launch_options o = {.argv = argv, .socket_path = "/run/x/socket", .library = inj};
	struct err e = {{0}};
	pid_t pid = capture_launch(&o, &e);
	assert_true(pid > 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 5);
	char buf[4096];
	slurp(out, buf, sizeof(buf));
	snprintf(expect, sizeof(expect), "/run/x/socket\n%s\n%s\n%s\n%s\n", inj, inj, inj, inj);
	assert_string_equal(buf, expect);

	/* An existing LD_PRELOAD is kept, the collector appended once. */
	char list[2 * PATH_MAX + 2];
	snprintf(list, sizeof(list), "%s %s", first, inj);
	setenv("LD_PRELOAD", list, 1);
	pid = capture_launch(&o, &e);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	slurp(out, buf, sizeof(buf));
	snprintf(expect, sizeof(expect), "\n%s\n", list);
	assert_non_null(strstr(buf, expect));
	setenv("LD_PRELOAD", first, 1);
	pid = capture_launch(&o, &e);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	slurp(out, buf, sizeof(buf));
	snprintf(expect, sizeof(expect), "\n%s:%s\n", first, inj);
	assert_non_null(strstr(buf, expect));
	unsetenv("LD_PRELOAD");
	unlink(out);

	char *missing[] = {"/nonexistent/program", NULL};
	o.argv = missing;
	assert_int_equal(capture_launch(&o, &e), -1);
	assert_non_null(strstr(e.msg, "not found"));
	char *noexec[] = {dir, NULL}; /* a directory */
	o.argv = noexec;
	assert_int_equal(capture_launch(&o, &e), -1);
	assert_non_null(strstr(e.msg, "cannot start"));
	/* No child is left behind. */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_handshake),      cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_sweep),          cmocka_unit_test(test_exit_status),
	    cmocka_unit_test(test_find_collector), cmocka_unit_test(test_launch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
