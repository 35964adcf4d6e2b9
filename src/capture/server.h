/*
 * server.h - tstop's end of the capture connection: the socket the
 * collectors connect to, one connection and one ring per target process.
 *
 * The server makes an owner-only directory (mode 0700: a fresh mkdtemp
 * directory under $XDG_RUNTIME_DIR, or under the per-user directory
 * /tmp/tstop-UID, which must be ours, mode 0700 and not a symlink) and
 * listens on a Unix stream socket in it; its path goes to the targets in
 * PROTO_ENV_SOCKET. For each connection it checks the peer's credentials
 * (SO_PEERCRED: same uid as tstop, and the pid the collector claims in
 * struct proto_connect), creates a ring (ring_create with the configured
 * size and mode), hands it to the caller through the `connected` callback,
 * and replies with struct proto_accept and the ring's memfd (SCM_RIGHTS).
 * A connection stays open for the life of its process: when it closes, the
 * `closed` callback tells the caller the process is gone, with its exit
 * status when /proc still shows it.
 *
 * Everything is non-blocking and driven by the caller's loop: poll
 * capture_server_fd() for input, then call capture_server_step(). Nothing
 * a peer sends can block the server, make it allocate more than a fixed
 * amount per connection, or keep a half-open handshake beyond
 * CAPTURE_HANDSHAKE_MS.
 */
#ifndef TSTOP_CAPTURE_SERVER_H
#define TSTOP_CAPTURE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/ring.h"
#include "util/err.h"

#define CAPTURE_HANDSHAKE_MS 5000 /* a connection must send proto_connect within this */

struct capture_server;

struct capture_server_options {
	size_t ring_size;  /* data area bytes: a power of two, RING_MIN_SIZE..RING_MAX_SIZE */
	bool block;        /* rings in blocking mode (RING_BLOCKING) */
	uint32_t flags;    /* PROTO_OPT_* sent to every collector */
	uint32_t flush_ms; /* CUPTI flush period sent to every collector */
	/* A process connected with ring `r` (owned by the callee from now on,
	 * which must keep it open while the connection lives). Returns the
	 * caller's handle for the connection (given back to `closed`), or
	 * NULL to refuse the process (then `r` is still the callee's to
	 * close). */
	void *(*connected)(void *arg, uint32_t pid, uint32_t ppid, struct ring *r);
	/* The process behind `handle` closed its connection: it is gone.
	 * `have_status` says whether `wait_status` (waitpid-style) holds its
	 * real end, read from /proc before its parent reaped it. */
	void (*closed)(void *arg, void *handle, bool have_status, int wait_status);
	/* Neither callback may call capture_server_drop or _delete. */
	void *arg;
};

/* Counters of the server. */
struct capture_server_stats {
	uint64_t accepted; /* connections whose process got a ring */
	uint64_t refused;  /* connections refused: other uid, wrong pid, bad handshake, timeout */
};

/* Creates the directory and the listening socket. Returns NULL with `e`
 * filled when the directory cannot be made safely or the socket cannot be
 * bound. Free with capture_server_delete, which removes both. */
struct capture_server *capture_server_new(const struct capture_server_options *o, struct err *e);

/* Closes every connection (without calling `closed`), the socket, and
 * removes the socket file and the directory. NULL is a no-op. */
void capture_server_delete(struct capture_server *s);

/* The socket's path, for PROTO_ENV_SOCKET. */
const char *capture_server_path(const struct capture_server *s);

/* A descriptor that becomes readable when the server has work: poll it
 * (POLLIN) alongside the caller's own. */
int capture_server_fd(const struct capture_server *s);

/* Does the work that is ready: accepts connections, reads handshakes,
 * replies, notices closed connections (calling the callbacks), and drops
 * handshakes that took too long. Never blocks. Returns 0, or -1 with `e`
 * filled on a failure of the server itself (the listening socket broke). */
int capture_server_step(struct capture_server *s, struct err *e);

/* Closes the connection of `handle` without calling `closed` (capture
 * detached from the process, which runs on). */
void capture_server_drop(struct capture_server *s, void *handle);

/* Number of open connections (accepted processes and pending handshakes). */
size_t capture_server_connections(const struct capture_server *s);

/* The server's counters. */
const struct capture_server_stats *capture_server_stats(const struct capture_server *s);

/* Reads the waitpid-style status of process `pid` from /proc/PID/stat (its
 * exit_code field) when it has ended but is not yet reaped; returns false
 * when that is not known. */
bool capture_exit_status(uint32_t pid, int *wait_status);

#endif
