/*
 * test_attach.c - tstop's side of attach (capture/attach.h) and the
 * rendezvous rule it shares with the collector (capture/attach_path.h):
 * the directory chosen from the environment and its checks, socket paths,
 * environment blocks as /proc holds them, collector names in path lists,
 * pid parsing, what a process's own environment says about it, and the
 * request/answer exchange against a rendezvous played by this test: the
 * listener's pid is checked, the request names tstop's capture socket, and
 * every answer (yes, busy, another version, a close, one byte at a time)
 * reads as it should; and the sweep of sockets that killed processes left.
 */
#include <errno.h>
#include <fcntl.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "capture/attach.h"
#include "capture/attach_path.h"

/* A private directory for the test's sockets (removed by test_rmdir). */
static char test_dir[64];

static void test_mkdir(void)
{
	snprintf(test_dir, sizeof(test_dir), "/tmp/test-attach-XXXXXX");
	assert_non_null(mkdtemp(test_dir));
}

static void test_rmdir(void)
{
	char path[128];
	snprintf(path, sizeof(path), "rm -rf '%s'", test_dir);
	assert_int_equal(system(path), 0);
}

static void test_path_dir(void **state)
{
	(void)state;
	char out[PROTO_SOCKET_PATH_MAX];
	bool fb;
	assert_int_equal(attach_path_dir(out, sizeof(out), "/a/b", "/run/user/7", true, 7, &fb), 4);
	assert_string_equal(out, "/a/b");
	assert_false(fb);
	/* TSTOP_ATTACH_DIR wins; trailing slashes go. */
	assert_int_equal(attach_path_dir(out, sizeof(out), "/a/b//", NULL, false, 7, &fb), 4);
	assert_string_equal(out, "/a/b");
	assert_int_equal(attach_path_dir(out, sizeof(out), "/", NULL, false, 7, &fb), 1);
	/* A relative one is refused, not skipped. */
	assert_int_equal(attach_path_dir(out, sizeof(out), "rel", "/run/user/7", true, 7, &fb), -1);
	/* Empty is unset: XDG_RUNTIME_DIR when it is an absolute directory. */
	assert_int_equal(attach_path_dir(out, sizeof(out), "", "/run/user/7", true, 7, &fb), 11);
	assert_string_equal(out, "/run/user/7");
	assert_false(fb);
	assert_true(attach_path_dir(out, sizeof(out), NULL, "/run/user/7", false, 7, &fb) > 0);
	assert_string_equal(out, "/tmp/tstop-7");
	assert_true(fb);
	assert_true(attach_path_dir(out, sizeof(out), NULL, "run/user/7", true, 1000, &fb) > 0);
	assert_string_equal(out, "/tmp/tstop-1000");
	/* Too long for a socket path once the name is added. */
	char longdir[PROTO_SOCKET_PATH_MAX];
	memset(longdir, 'x', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	assert_int_equal(attach_path_dir(out, sizeof(out), longdir, NULL, false, 7, &fb), -1);
	/* 84 bytes + "/" + the prefix + 10 digits + NUL = 109: one too many. */
	longdir[PROTO_SOCKET_PATH_MAX - 1 - (sizeof(PROTO_ATTACH_PREFIX) - 1) - 10] = '\0';
	assert_int_equal(attach_path_dir(out, sizeof(out), longdir, NULL, false, 7, &fb), -1);
	longdir[strlen(longdir) - 1] = '\0';
	assert_true(attach_path_dir(out, sizeof(out), longdir, NULL, false, 7, &fb) > 0);
	char sock[PROTO_SOCKET_PATH_MAX];
	assert_true(attach_path_socket(sock, sizeof(sock), out, 4294967295u) > 0);
	assert_true(strlen(sock) < PROTO_SOCKET_PATH_MAX);
}

static void test_path_socket(void **state)
{
	(void)state;
	char out[PROTO_SOCKET_PATH_MAX];
	assert_int_equal(attach_path_socket(out, sizeof(out), "/run/user/7", 4242), 29);
	assert_string_equal(out, "/run/user/7/tstop-attach-4242");
	assert_true(attach_path_socket(out, sizeof(out), "/", 1) > 0);
	assert_string_equal(out, "/tstop-attach-1");
	/* Longer than a socket path. */
	char dir[100];
	memset(dir, 'd', sizeof(dir) - 1);
	dir[0] = '/';
	dir[sizeof(dir) - 1] = '\0';
	assert_int_equal(attach_path_socket(out, sizeof(out), dir, 1), -1);
}

static void test_path_enabled(void **state)
{
	(void)state;
	assert_false(attach_path_enabled(NULL));
	assert_false(attach_path_enabled(""));
	assert_false(attach_path_enabled("0"));
	assert_true(attach_path_enabled("1"));
	assert_true(attach_path_enabled("yes"));
	assert_true(attach_path_enabled("00"));
}

static void test_path_check_dir(void **state)
{
	(void)state;
	test_mkdir();
	unsigned uid = (unsigned)getuid();
	assert_int_equal(attach_path_check_dir(test_dir, false, uid), 0);
	assert_int_equal(attach_path_check_dir(test_dir, true, uid), 0);
	assert_int_equal(attach_path_check_dir(test_dir, false, uid + 1), EPERM);
	char path[128], link[128];
	snprintf(path, sizeof(path), "%s/open", test_dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(attach_path_check_dir(path, false, uid), EACCES);
	assert_int_equal(chmod(path, 0710), 0);
	assert_int_equal(attach_path_check_dir(path, false, uid), EACCES);
	assert_int_equal(chmod(path, 0700), 0);
	assert_int_equal(attach_path_check_dir(path, false, uid), 0);
	/* A symlink to a good directory: fine for the variables, not for the
	 * /tmp fallback. */
	snprintf(link, sizeof(link), "%s/link", test_dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(attach_path_check_dir(link, false, uid), 0);
	assert_int_equal(attach_path_check_dir(link, true, uid), ELOOP);
	snprintf(path, sizeof(path), "%s/file", test_dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(attach_path_check_dir(path, false, uid), ENOTDIR);
	snprintf(path, sizeof(path), "%s/missing", test_dir);
	assert_int_equal(attach_path_check_dir(path, false, uid), ENOENT);
	test_rmdir();
}

static void test_environ_get(void **state)
{
	(void)state;
	static const char block[] = "A=1\0TSTOP_ATTACH=\0PATH=/bin:/usr/bin\0AB=x=y\0A=2";
	size_t len = sizeof(block) - 1, n;
	const char *v = capture_environ_get(block, len, "A", &n);
	assert_non_null(v);
	assert_int_equal(n, 1);
	assert_memory_equal(v, "1", 1); /* the first one wins */
	v = capture_environ_get(block, len, "TSTOP_ATTACH", &n);
	assert_non_null(v);
	assert_int_equal(n, 0);
	v = capture_environ_get(block, len, "AB", &n);
	assert_non_null(v);
	assert_int_equal(n, 3);
	assert_memory_equal(v, "x=y", 3);
	v = capture_environ_get(block, len, "PATH", &n);
	assert_int_equal(n, 13);
	assert_null(capture_environ_get(block, len, "P", &n));
	assert_null(capture_environ_get(block, len, "B", &n));
	assert_null(capture_environ_get(block, 0, "A", &n));
	/* The last entry without its NUL. */
	v = capture_environ_get("X=ab", 4, "X", &n);
	assert_non_null(v);
	assert_int_equal(n, 2);
	/* A name alone, no '=': not a definition. */
	assert_null(capture_environ_get("X\0", 2, "X", &n));
}

static void test_names_collector(void **state)
{
	(void)state;
	const char *yes[] = {"libtstop-inject.so", "/usr/lib/tstop/libtstop-inject.so",
	                     "/a/libfoo.so:/b/libtstop-inject.so", "libfoo.so libtstop-inject.so",
	                     "/x/libtstop-inject.so:"};
	const char *no[] = {"", "libtstop-inject.so.1", "/a/libtstop-inject.so/x", "xlibtstop-inject.so",
	                    "/usr/lib/libfoo.so"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(capture_names_collector(yes[i], strlen(yes[i])));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(capture_names_collector(no[i], strlen(no[i])));
}

static void test_parse_pid(void **state)
{
	(void)state;
	uint32_t pid = 0;
	assert_int_equal(capture_attach_parse_pid("4242", &pid), 0);
	assert_int_equal(pid, 4242);
	assert_int_equal(capture_attach_parse_pid("2147483647", &pid), 0);
	const char *bad[] = {"",    "0", "-1", "+5", " 5", "5 ", "5x", "2147483648", "99999999999999999999",
	                     "0x10"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(capture_attach_parse_pid(bad[i], &pid), -1);
	assert_int_equal(capture_attach_parse_pid(NULL, &pid), -1);
}

static void test_status_text(void **state)
{
	(void)state;
	assert_non_null(strstr(capture_attach_status_text(PROTO_ATTACH_BUSY), "another tstop"));
	assert_non_null(strstr(capture_attach_status_text(PROTO_ATTACH_EXITING), "exiting"));
	assert_non_null(strstr(capture_attach_status_text(PROTO_ATTACH_BAD), "version"));
	assert_non_null(strstr(capture_attach_status_text(PROTO_ATTACH_FAILED), "TSTOP_DEBUG"));
	assert_non_null(strstr(capture_attach_status_text(77), "unknown"));
}

/* Starts `sleep 30` with environment `env` (NULL-terminated); returns its
 * pid once it has exec'd. */
static pid_t test_spawn(char *const env[])
{
	int pfd[2];
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = {"sleep", "30", NULL};
		execve("/bin/sleep", argv, env);
		_exit(127);
	}
	close(pfd[1]);
	char c;
	assert_int_equal(read(pfd[0], &c, 1), 0); /* closed at exec */
	close(pfd[0]);
	return pid;
}

static void test_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* What a process's own environment says: where its rendezvous is and why
 * there is none yet. */
static void test_find(void **state)
{
	(void)state;
	test_mkdir();
	struct err e = {{0}};
	struct capture_attach_target t;
	assert_int_equal(capture_attach_find(2147483647u, &t, &e), -1);
	assert_non_null(strstr(e.msg, "no process with pid 2147483647"));

	char dir_env[128];
	snprintf(dir_env, sizeof(dir_env), "TSTOP_ATTACH_DIR=%s", test_dir);
	char *plain[] = {"PATH=/bin", NULL};
	char *attach_only[] = {"TSTOP_ATTACH=1", dir_env, NULL};
	char *zero[] = {"TSTOP_ATTACH=0", "NVTX_INJECTION64_PATH=/x/libtstop-inject.so", dir_env, NULL};
	char *ready[] = {"TSTOP_ATTACH=1", "CUDA_INJECTION64_PATH=/nowhere/libtstop-inject.so", dir_env,
	                 NULL};

	pid_t pid = test_spawn(plain);
	assert_int_equal(capture_attach_find((uint32_t)pid, &t, &e), 0);
	assert_true(t.env_read);
	assert_false(t.env_attach);
	assert_string_equal(t.command, "sleep 30");
	bool later = true;
	assert_int_equal(capture_attach_ready(&t, &later, &e), -1);
	assert_false(later);
	capture_attach_done(&t);
	test_reap(pid);

	pid = test_spawn(attach_only);
	assert_int_equal(capture_attach_find((uint32_t)pid, &t, &e), 0);
	assert_true(t.env_attach);
	assert_false(t.env_collector);
	assert_string_equal(t.dir, test_dir);
	assert_false(t.dir_fallback);
	char want[128];
	snprintf(want, sizeof(want), "%s/tstop-attach-%d", test_dir, (int)pid);
	assert_string_equal(t.socket, want);
	assert_int_equal(capture_attach_ready(&t, &later, &e), -1);
	assert_false(later);
	assert_non_null(strstr(e.msg, "does not load the collector"));
	capture_attach_done(&t);
	test_reap(pid);

	pid = test_spawn(zero);
	assert_int_equal(capture_attach_find((uint32_t)pid, &t, &e), 0);
	assert_false(t.env_attach);
	assert_true(t.env_collector);
	assert_int_equal(capture_attach_ready(&t, &later, &e), -1);
	assert_non_null(strstr(e.msg, "not started for attach"));
	capture_attach_done(&t);
	test_reap(pid);

	pid = test_spawn(ready);
	assert_int_equal(capture_attach_find((uint32_t)pid, &t, &e), 0);
	assert_true(t.env_attach);
	assert_true(t.env_collector);
	assert_int_equal(capture_attach_ready(&t, &later, &e), -1);
	assert_true(later);
	assert_non_null(strstr(e.msg, "not listening yet"));
	/* Its socket appears (bound here, by another pid): ready, but the
	 * request refuses a listener that is not the process. */
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, t.socket, strlen(t.socket) + 1);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(capture_attach_ready(&t, &later, &e), 0);
	assert_int_equal(capture_attach_request(&t, "/tmp/x/socket", &later, &e), -1);
	assert_non_null(strstr(e.msg, "refusing it"));
	close(l);
	/* Nobody listens any more: a stale socket. */
	assert_int_equal(capture_attach_request(&t, "/tmp/x/socket", &later, &e), -1);
	assert_true(later);
	assert_non_null(strstr(e.msg, "nobody listens"));
	capture_attach_done(&t);
	/* A directory open to others is refused. */
	assert_int_equal(chmod(test_dir, 0755), 0);
	assert_int_equal(capture_attach_find((uint32_t)pid, &t, &e), 0);
	assert_int_equal(capture_attach_ready(&t, &later, &e), -1);
	assert_non_null(strstr(e.msg, "open to other users"));
	capture_attach_done(&t);
	test_reap(pid);
	test_rmdir();
}

/* Plays the rendezvous of this very process: binds t->socket, lets
 * capture_attach_request connect and send, and returns the accepted
 * connection with the request checked. */
static int test_rendezvous(struct capture_attach_target *t, int *ctrl)
{
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, t->socket, strlen(t->socket) + 1);
	unlink(t->socket);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 4), 0);
	struct err e = {{0}};
	bool later;
	*ctrl = capture_attach_request(t, "/run/tstop-XYZ/socket", &later, &e);
	assert_true(*ctrl >= 0);
	int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c >= 0);
	close(l);
	struct proto_attach req;
	assert_int_equal(recv(c, &req, sizeof(req), MSG_WAITALL), sizeof(req));
	assert_true(req.magic == PROTO_MAGIC);
	assert_int_equal(req.version, PROTO_VERSION);
	assert_string_equal(req.socket, "/run/tstop-XYZ/socket");
	return c;
}

static void test_answers(void **state)
{
	(void)state;
	test_mkdir();
	struct err e = {{0}};
	struct capture_attach_target t;
	assert_int_equal(capture_attach_find((uint32_t)getpid(), &t, &e), 0);
	/* Whatever this test's environment says, the rendezvous is here. */
	snprintf(t.dir, sizeof(t.dir), "%s", test_dir);
	t.dir_fallback = false;
	snprintf(t.socket, sizeof(t.socket), "%s/tstop-attach-%d", test_dir, (int)getpid());

	struct {
		int32_t status;
		uint32_t version;
		int want;
		const char *msg;
	} cases[] = {
	    {PROTO_ATTACH_OK, PROTO_VERSION, 1, NULL},
	    {PROTO_ATTACH_BUSY, PROTO_VERSION, -1, "another tstop"},
	    {PROTO_ATTACH_EXITING, PROTO_VERSION, -1, "exiting"},
	    {PROTO_ATTACH_OK, PROTO_VERSION + 1, -1, "another version"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ctrl;
		int c = test_rendezvous(&t, &ctrl);
		struct capture_attach_answer a;
		memset(&a, 0, sizeof(a));
		assert_int_equal(capture_attach_read_answer(ctrl, t.pid, &a, &e), 0); /* nothing yet */
		struct proto_attached ans = {
		    .magic = PROTO_MAGIC, .version = cases[i].version, .status = cases[i].status};
		/* One byte at a time: partial answers wait. */
		for (size_t k = 0; k < sizeof(ans); k++) {
			assert_int_equal(send(c, (char *)&ans + k, 1, MSG_NOSIGNAL), 1);
			int rc = capture_attach_read_answer(ctrl, t.pid, &a, &e);
			assert_int_equal(rc, k + 1 < sizeof(ans) ? 0 : cases[i].want);
		}
		if (cases[i].msg)
			assert_non_null(strstr(e.msg, cases[i].msg));
		close(c);
		close(ctrl);
	}
	/* Closed without an answer. */
	int ctrl;
	int c = test_rendezvous(&t, &ctrl);
	close(c);
	struct capture_attach_answer a;
	memset(&a, 0, sizeof(a));
	assert_int_equal(capture_attach_read_answer(ctrl, t.pid, &a, &e), -1);
	assert_non_null(strstr(e.msg, "without answering"));
	close(ctrl);
	capture_attach_done(&t);
	test_rmdir();
}

/* Binds a Unix socket at DIR/tstop-attach-PID; returns it listening, or
 * closed (-1: a socket file nobody listens on). */
static int test_bind(uint32_t pid, bool listening)
{
	char path[PROTO_SOCKET_PATH_MAX];
	assert_true(attach_path_socket(path, sizeof(path), test_dir, pid) > 0);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening) {
		assert_int_equal(listen(l, 4), 0);
		return l;
	}
	close(l);
	return -1;
}

static bool test_exists(uint32_t pid)
{
	char path[PROTO_SOCKET_PATH_MAX];
	attach_path_socket(path, sizeof(path), test_dir, pid);
	return access(path, F_OK) == 0;
}

/* Only sockets of gone processes that nobody listens on are swept. */
static void test_sweep(void **state)
{
	(void)state;
	test_mkdir();
	char *env[] = {NULL};
	pid_t dead = test_spawn(env), dead2 = test_spawn(env);
	test_reap(dead);
	test_reap(dead2);
	uint32_t self = (uint32_t)getpid();
	test_bind((uint32_t)dead, false);         /* stale: swept */
	int l = test_bind((uint32_t)dead2, true); /* listened on: kept */
	test_bind(self, false);                   /* its process lives: kept */
	char path[PROTO_SOCKET_PATH_MAX + 8];
	snprintf(path, sizeof(path), "%s/tstop-attach-1x", test_dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0600); /* not a pid: kept */
	close(fd);
	struct capture_attach_target t;
	memset(&t, 0, sizeof(t));
	snprintf(t.dir, sizeof(t.dir), "%s", test_dir);
	capture_attach_sweep(&t);
	assert_false(test_exists((uint32_t)dead));
	assert_true(test_exists((uint32_t)dead2));
	assert_true(test_exists(self));
	assert_int_equal(access(path, F_OK), 0);
	close(l);
	/* A directory open to others is left alone. */
	assert_int_equal(chmod(test_dir, 0755), 0);
	capture_attach_sweep(&t);
	assert_true(test_exists((uint32_t)dead2));
	test_rmdir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_dir),     cmocka_unit_test(test_path_socket),
	    cmocka_unit_test(test_path_enabled), cmocka_unit_test(test_path_check_dir),
	    cmocka_unit_test(test_environ_get),  cmocka_unit_test(test_names_collector),
	    cmocka_unit_test(test_parse_pid),    cmocka_unit_test(test_status_text),
	    cmocka_unit_test(test_find),         cmocka_unit_test(test_answers),
	    cmocka_unit_test(test_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
