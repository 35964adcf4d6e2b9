/*
 * server.c - the capture socket: owner-only directory, listener, one
 * connection and one ring per target process (see server.h).
 *
 * A connection moves through two states:
 *
 *      accept4 ──► HANDSHAKE ──(proto_connect checked, ring made,
 *                      │        `connected` took it, proto_accept + memfd)──► ACTIVE
 *                      │                                                      │
 *        refused (uid, pid, magic, version, timeout, peer gone)     EOF or error: `closed`
 *                      ▼                                                      ▼
 *                    freed                                                  freed
 *
 * The uid is checked at accept (SO_PEERCRED), before anything is read. The
 * pid in proto_connect must equal the credential's pid, so the process the
 * ring is recorded under is the one on the socket. A refusal sends a
 * proto_accept with a nonzero status and no descriptor, then closes.
 *
 * All descriptors are non-blocking and close-on-exec (the program tstop
 * launches must not inherit them). Sends use MSG_NOSIGNAL: a peer that went
 * away cannot raise SIGPIPE in tstop.
 */
#include "capture/server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "capture/proto.h"
#include "util/xalloc.h"

#define SERVER_MAX_CONNS   4096 /* open connections at once; more are refused */
#define SERVER_EVENTS      64   /* epoll events per wait */
#define SERVER_SOCKET_NAME "socket"
#define SERVER_PF_EXITING  0x4u /* task flag: the task is in do_exit */
#define SERVER_STALE_S     60   /* a dead session's directory is swept after this */

enum conn_state {
	CONN_HANDSHAKE,
	CONN_ACTIVE,
};

struct server_conn {
	int fd;
	enum conn_state state;
	uint32_t pid; /* from SO_PEERCRED */
	uint8_t buf[sizeof(struct proto_connect)];
	size_t got;
	int64_t deadline_ms; /* HANDSHAKE: give up after this */
	void *handle;        /* ACTIVE: the caller's */
	size_t index;        /* position in server.conns */
};

struct capture_server {
	struct capture_server_options o;
	int listen_fd;
	int epoll_fd;
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool dir_made, socket_made;
	struct server_conn **conns;
	size_t nconns, conns_cap;
	struct capture_server_stats stats;
};

/* Milliseconds of CLOCK_MONOTONIC. */
static int64_t server_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether `path` is an existing directory (following links). */
static bool server_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Makes the per-user directory /tmp/tstop-UID, or checks the one that is
 * there: a real directory (not a symlink), ours, mode 0700. */
static int server_user_dir(char *base, size_t cap, struct err *e)
{
	uid_t uid = getuid();
	snprintf(base, cap, "/tmp/tstop-%u", (unsigned)uid);
	if (mkdir(base, 0700) < 0 && errno != EEXIST)
		return err_errno(e, errno, "cannot create %s", base);
	struct stat st;
	if (lstat(base, &st) < 0)
		return err_errno(e, errno, "cannot inspect %s", base);
	if (!S_ISDIR(st.st_mode))
		return err_fmt(e, "%s is not a directory (a symlink or file is in the way); remove it", base);
	if (st.st_uid != uid)
		return err_fmt(e, "%s belongs to uid %u, not to you (uid %u); refusing to use it", base,
		               (unsigned)st.st_uid, (unsigned)uid);
	if ((st.st_mode & 07777) != 0700)
		return err_fmt(e, "%s has mode %04o; it must be 0700 (chmod 700 %s)", base,
		               (unsigned)(st.st_mode & 07777), base);
	return 0;
}

/* Whether nothing listens on the Unix socket `path` any more. */
static bool server_socket_dead(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path))
		return false;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool dead = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno == ECONNREFUSED;
	close(fd);
	return dead;
}

/* Removes the directories that tstop sessions killed before their clean-up
 * left in `base` (names starting with `prefix`): ours, not symlinks, older
 * than SERVER_STALE_S, and whose socket nobody listens on (or that are
 * empty). Best effort: anything unexpected is left alone. */
static void server_sweep(const char *base, const char *prefix)
{
	DIR *dir = opendir(base);
	if (!dir)
		return;
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 64], sock[sizeof(path) + 16];
		int n = snprintf(path, sizeof(path), "%s/%s", base, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		struct stat st;
		if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
		    now - st.st_mtime < SERVER_STALE_S)
			continue;
		snprintf(sock, sizeof(sock), "%s/%s", path, SERVER_SOCKET_NAME);
		if (lstat(sock, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_uid == getuid() &&
		    now - st.st_mtime >= SERVER_STALE_S && server_socket_dead(sock))
			unlink(sock);
		rmdir(path); /* fails, harmlessly, unless it is empty now */
	}
	closedir(dir);
}

/* Makes the session's fresh owner-only directory into s->dir, after
 * sweeping away what killed sessions left there. */
static int server_make_dir(struct capture_server *s, struct err *e)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	size_t room = sizeof(s->dir) - sizeof("/" SERVER_SOCKET_NAME);
	int n = -1;
	if (xdg && xdg[0] == '/' && server_is_dir(xdg))
		n = snprintf(s->dir, sizeof(s->dir), "%s/tstop-XXXXXX", xdg);
	if (n >= 0 && (size_t)n < room) {
		server_sweep(xdg, "tstop-");
	} else {
		char base[64];
		if (server_user_dir(base, sizeof(base), e) < 0)
			return -1;
		server_sweep(base, "");
		n = snprintf(s->dir, sizeof(s->dir), "%s/XXXXXX", base);
	}
	if (n < 0 || (size_t)n >= room)
		return err_fmt(e, "socket directory path is too long");
	if (!mkdtemp(s->dir))
		return err_errno(e, errno, "cannot create a socket directory like %s", s->dir);
	s->dir_made = true;
	/* Fits: the directory's length was checked against `room` above. */
	size_t dlen = strlen(s->dir);
	memcpy(s->path, s->dir, dlen);
	memcpy(s->path + dlen, "/" SERVER_SOCKET_NAME, sizeof("/" SERVER_SOCKET_NAME));
	return 0;
}

/* Creates the server; the caller frees it with capture_server_delete. */
struct capture_server *capture_server_new(const struct capture_server_options *o, struct err *e)
{
	struct capture_server *s = xcalloc(1, sizeof(*s));
	s->o = *o;
	s->listen_fd = -1;
	s->epoll_fd = -1;
	if (server_make_dir(s, e) < 0)
		goto err;
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0) {
		err_errno(e, errno, "cannot create a Unix socket");
		goto err;
	}
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	memcpy(addr.sun_path, s->path, strlen(s->path) + 1);
	if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		err_errno(e, errno, "cannot bind %s", s->path);
		goto err;
	}
	s->socket_made = true;
	if (chmod(s->path, 0600) < 0 || listen(s->listen_fd, 128) < 0) {
		err_errno(e, errno, "cannot listen on %s", s->path);
		goto err;
	}
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epoll_fd < 0) {
		err_errno(e, errno, "epoll_create1");
		goto err;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->listen_fd, &ev) < 0) {
		err_errno(e, errno, "epoll_ctl");
		goto err;
	}
	return s;
err:
	capture_server_delete(s);
	return NULL;
}

/* Closes and frees connection `c` (no callback). */
static void server_conn_free(struct capture_server *s, struct server_conn *c)
{
	size_t i = c->index;
	s->conns[i] = s->conns[--s->nconns];
	s->conns[i]->index = i;
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

/* Closes every connection, the sockets, and removes the socket and directory. */
void capture_server_delete(struct capture_server *s)
{
	if (!s)
		return;
	while (s->nconns)
		server_conn_free(s, s->conns[s->nconns - 1]);
	free(s->conns);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	if (s->socket_made)
		unlink(s->path);
	if (s->dir_made)
		rmdir(s->dir);
	free(s);
}

/* The socket path. */
const char *capture_server_path(const struct capture_server *s)
{
	return s->path;
}

/* The descriptor to poll. */
int capture_server_fd(const struct capture_server *s)
{
	return s->epoll_fd;
}

/* Open connections. */
size_t capture_server_connections(const struct capture_server *s)
{
	return s->nconns;
}

/* Counters. */
const struct capture_server_stats *capture_server_stats(const struct capture_server *s)
{
	return &s->stats;
}

/* Reads the task flags (field 9) and exit_code (field 52) of /proc/PID/stat. */
bool capture_exit_status(uint32_t pid, int *wait_status)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* The command name (field 2) may hold anything: skip to its last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return false;
	p++;
	unsigned long long flags = 0;
	long long code = 0;
	bool have_code = false;
	for (int field = 3; field <= 52; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return false;
		char *end;
		if (field == 9)
			flags = strtoull(p, &end, 10);
		else if (field == 52) {
			code = strtoll(p, &end, 10);
			have_code = end != p;
		}
		while (*p && *p != ' ')
			p++;
	}
	/* Only a task that is exiting has its final exit code; a live task
	 * with this pid is another process that reused it. */
	if (!have_code || !(flags & SERVER_PF_EXITING) || code < 0 || code > 0xffff)
		return false;
	*wait_status = (int)code;
	return true;
}

/* Sends proto_accept with `status`, and the memfd `fd` when it is >= 0. */
static int server_reply(struct server_conn *c, int32_t status, int fd, const struct capture_server_options *o)
{
	struct proto_accept a = {.magic = PROTO_MAGIC,
	                         .version = PROTO_VERSION,
	                         .status = status,
	                         .flags = status ? 0 : o->flags,
	                         .flush_ms = o->flush_ms};
	struct iovec iov = {.iov_base = &a, .iov_len = sizeof(a)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	ssize_t n;
	do {
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(a) ? 0 : -1;
}

/* Refuses connection `c`: replies with a nonzero status (best effort) and frees it. */
static void server_refuse(struct capture_server *s, struct server_conn *c)
{
	server_reply(c, -1, -1, &s->o);
	s->stats.refused++;
	server_conn_free(s, c);
}

/* The process of ACTIVE connection `c` is gone: tells the caller, frees `c`. */
static void server_closed(struct capture_server *s, struct server_conn *c)
{
	int status = 0;
	bool have = capture_exit_status(c->pid, &status);
	void *handle = c->handle;
	server_conn_free(s, c);
	s->o.closed(s->o.arg, handle, have, status);
}

/* A complete proto_connect arrived on `c`: check it, make the ring, reply. */
static void server_handshake(struct capture_server *s, struct server_conn *c)
{
	struct proto_connect pc;
	memcpy(&pc, c->buf, sizeof(pc));
	if (pc.magic != PROTO_MAGIC || pc.version != PROTO_VERSION || pc.pid != c->pid) {
		server_refuse(s, c);
		return;
	}
	struct err e = {{0}};
	struct ring *r = ring_create(s->o.ring_size, s->o.block ? RING_BLOCKING : 0, 0, &e);
	if (!r) {
		server_refuse(s, c);
		return;
	}
	void *handle = s->o.connected(s->o.arg, c->pid, pc.ppid, r);
	if (!handle) {
		ring_close(r);
		server_refuse(s, c);
		return;
	}
	c->state = CONN_ACTIVE;
	c->handle = handle;
	s->stats.accepted++;
	if (server_reply(c, 0, ring_fd(r), &s->o) < 0)
		server_closed(s, c); /* the process went before it got its ring */
}

/* Reads what HANDSHAKE connection `c` has sent. */
static void server_read_handshake(struct capture_server *s, struct server_conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->got, sizeof(c->buf) - c->got, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			s->stats.refused++;
			server_conn_free(s, c);
			return;
		}
		c->got += (size_t)n;
		if (c->got == sizeof(c->buf)) {
			server_handshake(s, c);
			return;
		}
	}
}

/* Reads (and discards) what ACTIVE connection `c` sends; notices its end. */
static void server_read_active(struct capture_server *s, struct server_conn *c)
{
	char buf[4096];
	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			server_closed(s, c);
			return;
		}
	}
}

/* Accepts every pending connection, checking the peer's uid first. */
static int server_accept(struct capture_server *s, struct err *e)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				return 0; /* try again at the next step */
			return err_errno(e, errno, "accept on %s", s->path);
		}
		struct ucred cred;
		socklen_t len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred) ||
		    cred.uid != getuid() || cred.pid <= 0 || s->nconns >= SERVER_MAX_CONNS) {
			s->stats.refused++;
			close(fd);
			continue;
		}
		struct server_conn *c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		c->state = CONN_HANDSHAKE;
		c->pid = (uint32_t)cred.pid;
		c->deadline_ms = server_now_ms() + CAPTURE_HANDSHAKE_MS;
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
		if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			s->stats.refused++;
			close(fd);
			free(c);
			continue;
		}
		s->conns = xgrow(s->conns, &s->conns_cap, s->nconns + 1, sizeof(*s->conns));
		c->index = s->nconns;
		s->conns[s->nconns++] = c;
		/* The handshake is usually there already. */
		server_read_handshake(s, c);
	}
}

/* Handles what is ready without blocking. */
int capture_server_step(struct capture_server *s, struct err *e)
{
	struct epoll_event evs[SERVER_EVENTS];
	int n;
	do {
		n = epoll_wait(s->epoll_fd, evs, SERVER_EVENTS, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_errno(e, errno, "epoll_wait");
	/* Each connection's event can free only that connection, and the
	 * listening socket is served last, so no event of this batch points
	 * at freed memory. */
	bool listen_ready = false;
	for (int i = 0; i < n; i++) {
		struct server_conn *c = evs[i].data.ptr;
		if (!c) {
			listen_ready = true;
			continue;
		}
		if (c->state == CONN_HANDSHAKE)
			server_read_handshake(s, c);
		else
			server_read_active(s, c);
	}
	if (listen_ready && server_accept(s, e) < 0)
		return -1;
	int64_t now = server_now_ms();
	for (size_t i = 0; i < s->nconns;) {
		struct server_conn *c = s->conns[i];
		if (c->state == CONN_HANDSHAKE && now > c->deadline_ms) {
			s->stats.refused++;
			server_conn_free(s, c);
			continue;
		}
		i++;
	}
	return 0;
}

/* Closes the connection whose handle is `handle`, without a callback. */
void capture_server_drop(struct capture_server *s, void *handle)
{
	for (size_t i = 0; i < s->nconns; i++) {
		struct server_conn *c = s->conns[i];
		if (c->state == CONN_ACTIVE && c->handle == handle) {
			server_conn_free(s, c);
			return;
		}
	}
}
