/*
 * pb.h - a tiny protocol-buffers writer, enough for Perfetto traces.
 *
 * A `struct pb_buf` is a growable byte buffer into which fields are appended
 * in wire format: varints (wire type 0), fixed64 and doubles (wire type 1),
 * length-delimited bytes, strings and nested messages (wire type 2). Nested
 * messages are opened with pb_begin() and closed with pb_end(), which writes
 * the length in front of the contents (up to PB_MAX_DEPTH levels). Strings go
 * through pb_string(), which writes valid UTF-8 whatever bytes it is given:
 * each byte that is not part of a well-formed UTF-8 sequence becomes U+FFFD.
 *
 * Nothing here does I/O; allocation goes through util/xalloc.h (a failure
 * aborts). Encodings are the canonical ones protoc writes, so tests can
 * compare bytes.
 */
#ifndef TSTOP_EXPORT_PB_H
#define TSTOP_EXPORT_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PB_MAX_DEPTH 8

/* Wire types. */
enum pb_wire {
	PB_VARINT = 0,
	PB_FIXED64 = 1,
	PB_LEN = 2,
	PB_FIXED32 = 5,
};

struct pb_buf {
	uint8_t *data;
	size_t len, cap;
	size_t open[PB_MAX_DEPTH]; /* offsets where the open messages' contents start */
	unsigned depth;
};

/* Initializes an empty buffer. Free it with pb_free(). */
void pb_init(struct pb_buf *b);
/* Frees the buffer's memory; it is empty (and reusable) afterwards. */
void pb_free(struct pb_buf *b);
/* Empties the buffer, keeping its memory. Requires no message open. */
void pb_reset(struct pb_buf *b);

/* Appends a field key (field number and wire type). */
void pb_key(struct pb_buf *b, uint32_t field, enum pb_wire wire);
/* Appends field `field` as a varint: uint32/uint64/bool/enum, and int32 or
 * int64 passed as their two's complement (pb_int). */
void pb_uint(struct pb_buf *b, uint32_t field, uint64_t v);
/* An int32 or int64 field: negative values take ten bytes, as protobuf says. */
void pb_int(struct pb_buf *b, uint32_t field, int64_t v);
/* A fixed64 field (little-endian, eight bytes). */
void pb_fixed64(struct pb_buf *b, uint32_t field, uint64_t v);
/* A double field (IEEE 754 bits, little-endian). */
void pb_double(struct pb_buf *b, uint32_t field, double v);
/* A bytes field of `n` bytes. */
void pb_bytes(struct pb_buf *b, uint32_t field, const void *p, size_t n);
/* A string field of `n` bytes, made valid UTF-8 (invalid bytes become
 * U+FFFD, EF BF BD). O(n). */
void pb_string(struct pb_buf *b, uint32_t field, const char *s, size_t n);
/* A string field from a NUL-terminated string. */
void pb_cstr(struct pb_buf *b, uint32_t field, const char *s);

/* Opens a nested message in field `field`; close it with pb_end(). Aborts
 * (a programming error) beyond PB_MAX_DEPTH levels. */
void pb_begin(struct pb_buf *b, uint32_t field);
/* Closes the innermost open message, writing its length before it. */
void pb_end(struct pb_buf *b);

/* Length of the longest prefix of [s, s + n) that is well-formed UTF-8 and
 * the number of bytes after it that form no valid sequence (at least 1 when
 * the prefix is shorter than n). Exposed for tests. */
size_t pb_utf8_valid_prefix(const uint8_t *s, size_t n, size_t *bad);

#endif
