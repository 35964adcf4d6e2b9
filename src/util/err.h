/*
 * err.h - error reports for library code.
 *
 * Library functions never print and never exit: they return -1 (or NULL) and,
 * when the caller passed a `struct err`, leave a one-line human message in it.
 * The command layer decides what to do with the message (print it, show it in
 * the TUI status line, ...). Messages carry no trailing newline.
 */
#ifndef TSTOP_UTIL_ERR_H
#define TSTOP_UTIL_ERR_H

#include <stddef.h>

#define ERR_MSG_MAX 512

struct err {
	char msg[ERR_MSG_MAX];
};

/* Formats a message into `e` (ignored when NULL) and returns -1, so that
 * callers can write `return err_fmt(e, "...", ...);`. */
int err_fmt(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like err_fmt, then appends ": " and strerror(errnum). Returns -1. */
int err_errno(struct err *e, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
