/*
 * inject_text.h - text conversions of the collector: wide strings to UTF-8
 * (NVTX's *W entry points) and /proc/self/cmdline to one line (HELLO).
 *
 * Pure functions over caller buffers: no allocation, no locks, so they may
 * run on the collector's per-event path. Output is bounded by the caller's
 * capacity and never ends in the middle of a UTF-8 sequence.
 */
#ifndef TSTOP_CAPTURE_INJECT_TEXT_H
#define TSTOP_CAPTURE_INJECT_TEXT_H

#include <stddef.h>
#include <wchar.h>

/* Converts the NUL-terminated wide string `w` (UTF-32 code points, as
 * wchar_t is on Linux) to UTF-8 in `out`, writing at most `cap` bytes and
 * no terminating NUL; a value that is not a Unicode scalar value (a
 * surrogate, or above U+10FFFF) becomes U+FFFD. Stops at the NUL or before
 * the first character that would not fit whole. Returns the bytes written.
 * `w` may be NULL (nothing is written). */
size_t inj_wide_to_utf8(const wchar_t *w, char *out, size_t cap);

/* Turns the `len` bytes of a /proc/PID/cmdline image in `buf` (arguments
 * each followed by a NUL) into one line in place: NULs between arguments
 * become spaces, trailing NULs are dropped. Returns the new length. */
size_t inj_cmdline_join(char *buf, size_t len);

#endif
