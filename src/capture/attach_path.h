/*
 * attach_path.h - where a dormant collector's rendezvous socket lives
 * (proto.h: attach): the one rule that the collector and `tstop attach`
 * must apply alike. Header-only because libtstop-inject.so links no tstop
 * library.
 *
 * The directory is, in this order:
 *   1. $TSTOP_ATTACH_DIR, when set and not empty (it must be absolute);
 *   2. $XDG_RUNTIME_DIR, when it is an absolute path to a directory;
 *   3. /tmp/tstop-UID, which the collector creates (mode 0700) when missing.
 * Whichever it is, it must belong to the user and give nobody else any
 * access (mode & 077 == 0), and /tmp/tstop-UID must not be a symlink. The
 * socket in it is PROTO_ATTACH_PREFIX followed by the decimal pid, mode 0600.
 */
#ifndef TSTOP_CAPTURE_ATTACH_PATH_H
#define TSTOP_CAPTURE_ATTACH_PATH_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "capture/proto.h"

/* Whether a value of PROTO_ENV_ATTACH (NULL when unset) asks for a dormant
 * start: anything but unset, "" and "0". Pure. */
static inline bool attach_path_enabled(const char *value)
{
	return value && *value && strcmp(value, "0") != 0;
}

/* Writes the rendezvous directory to `out` (`cap` bytes) from the values of
 * PROTO_ENV_ATTACH_DIR and XDG_RUNTIME_DIR (NULL when unset);
 * `runtime_is_dir` tells whether `runtime_dir` names a directory;
 * *fallback is set when the result is /tmp/tstop-UID. Returns the length,
 * or -1 when `attach_dir` is relative or the result does not fit in a socket
 * path with its file name. Pure. */
static inline int attach_path_dir(char *out, size_t cap, const char *attach_dir, const char *runtime_dir,
                                  bool runtime_is_dir, unsigned uid, bool *fallback)
{
	int n;
	*fallback = false;
	if (attach_dir && *attach_dir) {
		if (attach_dir[0] != '/')
			return -1;
		n = snprintf(out, cap, "%s", attach_dir);
	} else if (runtime_dir && runtime_dir[0] == '/' && runtime_is_dir) {
		n = snprintf(out, cap, "%s", runtime_dir);
	} else {
		*fallback = true;
		n = snprintf(out, cap, "/tmp/tstop-%u", uid);
	}
	/* Room for "/" PROTO_ATTACH_PREFIX and a 10-digit pid in a sun_path. */
	if (n < 0 || (size_t)n >= cap ||
	    (size_t)n + 1 + sizeof(PROTO_ATTACH_PREFIX) - 1 + 10 >= PROTO_SOCKET_PATH_MAX)
		return -1;
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	return n;
}

/* Writes the rendezvous socket path of process `pid` in directory `dir` to
 * `out` (`cap` bytes). Returns the length, or -1 when it does not fit in a
 * socket path or in `out`. Pure. */
static inline int attach_path_socket(char *out, size_t cap, const char *dir, unsigned pid)
{
	const char *sep = strcmp(dir, "/") ? "/" : "";
	int n = snprintf(out, cap, "%s%s%s%u", dir, sep, PROTO_ATTACH_PREFIX, pid);
	if (n < 0 || (size_t)n >= cap || n >= PROTO_SOCKET_PATH_MAX)
		return -1;
	return n;
}

/* Whether `dir` may hold rendezvous sockets of user `uid`: 0 when it is a
 * directory of the user's that nobody else can access, else ENOENT (missing),
 * ENOTDIR, ELOOP (`fallback`, the /tmp/tstop-UID kind, and a symlink), EPERM
 * (someone else's) or EACCES (others have access), or the errno of stat. */
static inline int attach_path_check_dir(const char *dir, bool fallback, unsigned uid)
{
	struct stat st;
	if ((fallback ? lstat(dir, &st) : stat(dir, &st)) < 0)
		return errno;
	if (fallback && S_ISLNK(st.st_mode))
		return ELOOP;
	if (!S_ISDIR(st.st_mode))
		return ENOTDIR;
	if (st.st_uid != uid)
		return EPERM;
	if (st.st_mode & 077)
		return EACCES;
	return 0;
}

#endif
