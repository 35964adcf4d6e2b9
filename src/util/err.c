/*
 * err.c - formatting of library error messages (see err.h).
 */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Formats the printf-style message into e->msg (truncated to fit, always
 * NUL-terminated) unless `e` is NULL; always returns -1. */
int err_fmt(struct err *e, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Like err_fmt(), then appends ": " and strerror(errnum) when room is left;
 * always returns -1. */
int err_errno(struct err *e, int errnum, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < sizeof(e->msg))
			snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s", strerror(errnum));
	}
	return -1;
}
