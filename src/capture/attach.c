/*
 * attach.c - tstop's side of attaching to a dormant collector (see
 * attach.h and proto.h: attach).
 *
 * Finding a process's rendezvous repeats the collector's own choice
 * (attach_path.h) with the variables from the process's environment, so a
 * process started with another XDG_RUNTIME_DIR or TSTOP_ATTACH_DIR than
 * tstop's is still found. When no rendezvous is there, the same
 * environment tells the user why: not started for attach, the collector not
 * loaded, or not listening yet.
 */
#include "capture/attach.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "capture/attach_path.h"
#include "capture/launch.h"
#include "util/xalloc.h"

#define ATTACH_SEND_TIMEOUT_S 2

/* Reads file `path` (a /proc file: its size is not known in advance), at
 * most `max` bytes. Returns the bytes (allocated, NUL-terminated beyond
 * *len) or NULL with errno set. */
static char *attach_read_file(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			if (cap >= max)
				break;
			cap = cap * 2 < max ? cap * 2 : max;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int saved = errno;
			close(fd);
			free(buf);
			errno = saved;
			return NULL;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The value of an environment entry (attach.h). */
const char *capture_environ_get(const char *block, size_t len, const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);
	for (size_t i = 0; i < len;) {
		const char *entry = block + i;
		const char *nul = memchr(entry, '\0', len - i);
		size_t elen = nul ? (size_t)(nul - entry) : len - i;
		if (elen > nlen && !memcmp(entry, name, nlen) && entry[nlen] == '=') {
			*vlen = elen - nlen - 1;
			return entry + nlen + 1;
		}
		i += elen + 1;
	}
	return NULL;
}

/* Whether a path list names the collector (attach.h). */
bool capture_names_collector(const char *list, size_t len)
{
	static const char name[] = CAPTURE_COLLECTOR_NAME;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && list[j] != ':' && list[j] != ' ')
			j++;
		size_t base = i;
		for (size_t k = i; k < j; k++)
			if (list[k] == '/')
				base = k + 1;
		if (j - base == sizeof(name) - 1 && !memcmp(list + base, name, sizeof(name) - 1))
			return true;
		i = j + 1;
	}
	return false;
}

/* A sentence for an attach status (attach.h). */
const char *capture_attach_status_text(int status)
{
	switch (status) {
	case PROTO_ATTACH_OK:
		return "attached";
	case PROTO_ATTACH_BUSY:
		return "another tstop is attached to it already";
	case PROTO_ATTACH_FAILED:
		return "its collector could not connect to tstop or map the capture ring "
		       "(TSTOP_DEBUG=1 in its environment makes it say why)";
	case PROTO_ATTACH_BAD:
		return "its collector does not understand this tstop (another version?)";
	case PROTO_ATTACH_EXITING:
		return "it is exiting";
	default:
		return "its collector gave an unknown answer";
	}
}

/* Parses a process id (attach.h). */
int capture_attach_parse_pid(const char *arg, uint32_t *pid)
{
	if (!arg || *arg < '0' || *arg > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	if (errno || *end || v < 1 || v > INT32_MAX)
		return -1;
	*pid = (uint32_t)v;
	return 0;
}

/* Writes "name (uid N)" or "uid N" for `uid` to `out`. */
static void attach_user(char *out, size_t cap, uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res && res->pw_name)
		snprintf(out, cap, "%s (uid %u)", res->pw_name, (unsigned)uid);
	else
		snprintf(out, cap, "uid %u", (unsigned)uid);
}

/* Copies environment value `v` (`n` bytes, NULL when unset) to `out` as a
 * string; false when it does not fit. */
static bool attach_env_copy(char *out, size_t cap, const char *v, size_t n)
{
	out[0] = '\0';
	if (!v)
		return true;
	if (n >= cap)
		return false;
	memcpy(out, v, n);
	out[n] = '\0';
	return true;
}

/* Whether `env` (a block, NULL: unknown) loads the collector. */
static bool attach_env_loads_collector(const char *env, size_t len)
{
	static const char *const vars[] = {"LD_PRELOAD", "NVTX_INJECTION64_PATH", "CUDA_INJECTION64_PATH"};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		size_t n;
		const char *v = capture_environ_get(env, len, vars[i], &n);
		if (v && capture_names_collector(v, n))
			return true;
	}
	return false;
}

/* Fills t->dir and t->socket from the environment block `env` (or tstop's
 * own environment when `env` is NULL). */
static int attach_locate(struct capture_attach_target *t, const char *env, size_t len, struct err *e)
{
	char adir[PROTO_SOCKET_PATH_MAX * 2], xdg[PROTO_SOCKET_PATH_MAX * 2];
	const char *av, *xv;
	size_t an = 0, xn = 0;
	if (env) {
		av = capture_environ_get(env, len, PROTO_ENV_ATTACH_DIR, &an);
		xv = capture_environ_get(env, len, "XDG_RUNTIME_DIR", &xn);
	} else {
		av = getenv(PROTO_ENV_ATTACH_DIR);
		xv = getenv("XDG_RUNTIME_DIR");
		an = av ? strlen(av) : 0;
		xn = xv ? strlen(xv) : 0;
	}
	if (!attach_env_copy(adir, sizeof(adir), av, an))
		return err_fmt(e, "pid %u: its %s is too long for a socket path", t->pid,
		               PROTO_ENV_ATTACH_DIR);
	/* An XDG_RUNTIME_DIR too long to copy is too long to be used. */
	bool xdg_ok = attach_env_copy(xdg, sizeof(xdg), xv, xn);
	struct stat st;
	bool xdg_dir = xdg_ok && xv && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode);
	if (attach_path_dir(t->dir, sizeof(t->dir), av ? adir : NULL, xdg_ok && xv ? xdg : NULL, xdg_dir,
	                    (unsigned)getuid(), &t->dir_fallback) < 0 ||
	    attach_path_socket(t->socket, sizeof(t->socket), t->dir, t->pid) < 0)
		return err_fmt(e, "pid %u: its %s (%s) is relative or too long for a socket path", t->pid,
		               PROTO_ENV_ATTACH_DIR, adir);
	return 0;
}

/* Looks a process up (attach.h). */
int capture_attach_find(uint32_t pid, struct capture_attach_target *t, struct err *e)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%u", pid);
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return err_fmt(e, "no process with pid %u", pid);
		return err_errno(e, errno, "cannot look at pid %u", pid);
	}
	uid_t uid = getuid();
	if (st.st_uid != uid) {
		char owner[160], me[160];
		attach_user(owner, sizeof(owner), st.st_uid);
		attach_user(me, sizeof(me), uid);
		return err_fmt(e,
		               "pid %u belongs to %s, not to you (%s): tstop attaches only to processes "
		               "of your own user",
		               pid, owner, me);
	}
	size_t len;
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	char *stat_text = attach_read_file(path, 4096, &len);
	const char *paren = stat_text ? strrchr(stat_text, ')') : NULL;
	bool gone = !stat_text || (paren && (paren[1] == ' ') && (paren[2] == 'Z' || paren[2] == 'X'));
	free(stat_text);
	if (gone)
		return err_fmt(e, "pid %u has exited", pid);
	snprintf(path, sizeof(path), "/proc/%u/environ", pid);
	char *env = attach_read_file(path, CAPTURE_ENVIRON_MAX, &len);
	t->env_read = env != NULL;
	if (env) {
		size_t n;
		const char *v = capture_environ_get(env, len, PROTO_ENV_ATTACH, &n);
		char val[8];
		if (v && n >= sizeof(val))
			t->env_attach = true; /* a long value is neither "" nor "0" */
		else if (v)
			t->env_attach = attach_env_copy(val, sizeof(val), v, n) && attach_path_enabled(val);
		t->env_collector = attach_env_loads_collector(env, len);
	}
	int rc = attach_locate(t, env, env ? len : 0, e);
	free(env);
	if (rc < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	char *cmd = attach_read_file(path, PROTO_STRING_MAX, &len);
	if (cmd) {
		while (len && cmd[len - 1] == '\0')
			len--;
		for (size_t i = 0; i < len; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		cmd[len] = '\0';
	}
	t->command = cmd ? cmd : xstrdup("");
	return 0;
}

/* Frees the target's allocations. */
void capture_attach_done(struct capture_attach_target *t)
{
	free(t->command);
	t->command = NULL;
}

/* Explains why `t` has no rendezvous (see capture_attach_ready). */
static int attach_why_not(const struct capture_attach_target *t, bool *later, struct err *e)
{
	if (t->env_read && !t->env_attach) {
		*later = false;
		return err_fmt(e,
		               "pid %u was not started for attach (no %s=1 in its environment): start it "
		               "with 'tstop launch', or see tstop-attach(1) for the variables to set",
		               t->pid, PROTO_ENV_ATTACH);
	}
	if (t->env_read && !t->env_collector) {
		*later = false;
		return err_fmt(e,
		               "pid %u has %s set but does not load the collector: LD_PRELOAD (or "
		               "NVTX_INJECTION64_PATH, CUDA_INJECTION64_PATH) must name %s; 'tstop launch' "
		               "sets them",
		               t->pid, PROTO_ENV_ATTACH, CAPTURE_COLLECTOR_NAME);
	}
	*later = true;
	if (!t->env_read)
		return err_fmt(e,
		               "pid %u has no attach socket (%s): it was not started with 'tstop launch', or "
		               "has made no CUDA, NVTX or OpenCL call yet",
		               t->pid, t->socket);
	return err_fmt(e,
	               "pid %u was started for attach but its collector is not listening yet (no %s): it "
	               "starts at the program's first CUDA, NVTX or OpenCL call; --wait waits for it",
	               t->pid, t->socket);
}

/* Checks the rendezvous directory; 0, or -1 with `e` (later set for a
 * directory that is not there yet). */
static int attach_check_dir(const struct capture_attach_target *t, bool *later, struct err *e)
{
	int bad = attach_path_check_dir(t->dir, t->dir_fallback, (unsigned)getuid());
	if (bad == ENOENT)
		return attach_why_not(t, later, e);
	*later = false;
	switch (bad) {
	case 0:
		return 0;
	case ELOOP:
		return err_fmt(e, "the attach directory %s is a symlink; refusing to use it", t->dir);
	case EPERM:
		return err_fmt(e, "the attach directory %s is not yours; refusing to use it", t->dir);
	case EACCES:
		return err_fmt(e, "the attach directory %s is open to other users; chmod 700 %s", t->dir,
		               t->dir);
	default:
		return err_errno(e, bad, "the attach directory %s", t->dir);
	}
}

/* Whether the rendezvous is there (attach.h). */
int capture_attach_ready(const struct capture_attach_target *t, bool *later, struct err *e)
{
	*later = false;
	if (attach_check_dir(t, later, e) < 0)
		return -1;
	struct stat st;
	if (stat(t->socket, &st) == 0 && S_ISSOCK(st.st_mode))
		return 0;
	return attach_why_not(t, later, e);
}

/* Connects to the rendezvous and sends the request (attach.h). */
int capture_attach_request(const struct capture_attach_target *t, const char *capture_socket, bool *later,
                           struct err *e)
{
	*later = false;
	if (attach_check_dir(t, later, e) < 0)
		return -1;
	struct proto_attach req;
	memset(&req, 0, sizeof(req));
	req.magic = PROTO_MAGIC;
	req.version = PROTO_VERSION;
	size_t slen = strlen(capture_socket);
	if (slen >= sizeof(req.socket))
		return err_fmt(e, "the capture socket path %s is too long", capture_socket);
	memcpy(req.socket, capture_socket, slen + 1);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, t->socket, strlen(t->socket) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_errno(e, errno, "cannot create a Unix socket");
	int rc;
	do {
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	} while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		int saved = errno;
		close(fd);
		if (saved == ENOENT)
			return attach_why_not(t, later, e);
		if (saved == ECONNREFUSED) {
			*later = true;
			return err_fmt(e,
			               "nobody listens on %s: the collector of pid %u is gone (the process "
			               "exec'd another program or is exiting) or is just starting",
			               t->socket, t->pid);
		}
		return err_errno(e, saved, "cannot connect to %s", t->socket);
	}
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || clen != sizeof(cred)) {
		close(fd);
		return err_errno(e, errno, "cannot check who listens on %s", t->socket);
	}
	if (cred.uid != getuid() || cred.pid != (pid_t)t->pid) {
		close(fd);
		return err_fmt(e, "%s is served by pid %d of uid %u, not by pid %u of yours; refusing it",
		               t->socket, (int)cred.pid, (unsigned)cred.uid, t->pid);
	}
	struct timeval tv = {ATTACH_SEND_TIMEOUT_S, 0};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	size_t sent = 0;
	while (sent < sizeof(req)) {
		ssize_t n = send(fd, (const char *)&req + sent, sizeof(req) - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int saved = n < 0 ? errno : EPIPE;
			close(fd);
			return err_errno(e, saved, "cannot send the attach request to pid %u", t->pid);
		}
		sent += (size_t)n;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		int saved = errno;
		close(fd);
		return err_errno(e, saved, "fcntl");
	}
	return fd;
}

/* Whether nobody listens on the Unix socket at `path`. */
static bool attach_socket_dead(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool dead = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno == ECONNREFUSED;
	close(fd);
	return dead;
}

/* Sweeps stale rendezvous sockets (attach.h). A socket is only removed
 * when both its process is gone and nobody listens on it, so a collector
 * between bind and listen, or one whose pid belongs to another pid
 * namespace, keeps its socket. */
void capture_attach_sweep(const struct capture_attach_target *t)
{
	if (attach_path_check_dir(t->dir, t->dir_fallback, (unsigned)getuid()) != 0)
		return;
	DIR *d = opendir(t->dir);
	if (!d)
		return;
	struct dirent *de;
	size_t plen = sizeof(PROTO_ATTACH_PREFIX) - 1;
	while ((de = readdir(d))) {
		uint32_t pid;
		if (strncmp(de->d_name, PROTO_ATTACH_PREFIX, plen) ||
		    capture_attach_parse_pid(de->d_name + plen, &pid) < 0)
			continue;
		char path[PROTO_SOCKET_PATH_MAX];
		struct stat st;
		if (attach_path_socket(path, sizeof(path), t->dir, pid) < 0 || lstat(path, &st) < 0 ||
		    !S_ISSOCK(st.st_mode) || st.st_uid != getuid())
			continue;
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH && attach_socket_dead(path))
			unlink(path);
	}
	closedir(d);
}

/* Reads the answer as it arrives (attach.h). */
int capture_attach_read_answer(int fd, uint32_t pid, struct capture_attach_answer *a, struct err *e)
{
	while (a->got < sizeof(a->buf)) {
		ssize_t n = recv(fd, a->buf + a->got, sizeof(a->buf) - a->got, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return err_errno(e, errno, "pid %u: reading its answer", pid);
		if (n == 0)
			return err_fmt(
			    e, "pid %u closed the attach connection without answering (it is exiting?)", pid);
		a->got += (size_t)n;
	}
	struct proto_attached ans;
	memcpy(&ans, a->buf, sizeof(ans));
	if (ans.magic != PROTO_MAGIC || ans.version != PROTO_VERSION)
		return err_fmt(e, "pid %u: %s", pid, capture_attach_status_text(PROTO_ATTACH_BAD));
	if (ans.status != PROTO_ATTACH_OK)
		return err_fmt(e, "cannot attach to pid %u: %s", pid, capture_attach_status_text(ans.status));
	return 1;
}
