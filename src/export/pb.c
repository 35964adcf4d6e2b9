/*
 * pb.c - the protocol-buffers writer of pb.h: varints, fixed-width fields,
 * UTF-8-checked strings and nested messages whose length is patched in when
 * they close.
 */
#include "export/pb.h"

#include <stdlib.h>
#include <string.h>

#include "util/varint.h"
#include "util/xalloc.h"

/* Makes room for `n` more bytes. */
static void pb_reserve(struct pb_buf *b, size_t n)
{
	if (b->cap - b->len < n)
		b->data = xgrow(b->data, &b->cap, b->len + n, 1);
}

/* Appends `n` raw bytes. */
static void pb_raw(struct pb_buf *b, const void *p, size_t n)
{
	pb_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* Appends a bare varint. */
static void pb_varint(struct pb_buf *b, uint64_t v)
{
	pb_reserve(b, VARINT_MAX_BYTES);
	b->len += varint_put(b->data + b->len, v);
}

/* Initializes an empty buffer. */
void pb_init(struct pb_buf *b)
{
	memset(b, 0, sizeof(*b));
}

/* Frees the buffer's memory and leaves it empty. */
void pb_free(struct pb_buf *b)
{
	free(b->data);
	pb_init(b);
}

/* Empties the buffer, keeping its memory. */
void pb_reset(struct pb_buf *b)
{
	b->len = 0;
	b->depth = 0;
}

/* Appends the key of field `field` with wire type `wire`. */
void pb_key(struct pb_buf *b, uint32_t field, enum pb_wire wire)
{
	pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

/* Appends a varint field. */
void pb_uint(struct pb_buf *b, uint32_t field, uint64_t v)
{
	pb_key(b, field, PB_VARINT);
	pb_varint(b, v);
}

/* Appends an int32/int64 field (two's complement varint). */
void pb_int(struct pb_buf *b, uint32_t field, int64_t v)
{
	pb_uint(b, field, (uint64_t)v);
}

/* Appends a fixed64 field, little-endian. */
void pb_fixed64(struct pb_buf *b, uint32_t field, uint64_t v)
{
	uint8_t le[8];
	for (unsigned i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	pb_key(b, field, PB_FIXED64);
	pb_raw(b, le, sizeof(le));
}

/* Appends a double field (its IEEE bits as a fixed64). */
void pb_double(struct pb_buf *b, uint32_t field, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	pb_fixed64(b, field, bits);
}

/* Appends a length-delimited field of raw bytes. */
void pb_bytes(struct pb_buf *b, uint32_t field, const void *p, size_t n)
{
	pb_key(b, field, PB_LEN);
	pb_varint(b, n);
	pb_raw(b, p, n);
}

/* Length of the well-formed UTF-8 prefix of [s, s + n) (Unicode 15, table
 * 3-7: no overlong forms, no surrogates, nothing above U+10FFFF); *bad gets
 * the number of bytes after it to replace (0 or 1). O(n). */
size_t pb_utf8_valid_prefix(const uint8_t *s, size_t n, size_t *bad)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		size_t need;
		uint8_t lo = 0x80, hi = 0xbf; /* range of the second byte */
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			break;
		}
		if (n - i <= need || s[i + 1] < lo || s[i + 1] > hi)
			break;
		size_t k = 2;
		while (k <= need && s[i + k] >= 0x80 && s[i + k] <= 0xbf)
			k++;
		if (k <= need)
			break;
		i += need + 1;
	}
	*bad = i < n ? 1 : 0;
	return i;
}

/* Appends a string field, replacing each byte that starts no well-formed
 * UTF-8 sequence by U+FFFD. Two passes: the length, then the bytes. */
void pb_string(struct pb_buf *b, uint32_t field, const char *s, size_t n)
{
	static const uint8_t repl[3] = {0xef, 0xbf, 0xbd};
	const uint8_t *p = (const uint8_t *)s;
	size_t out = 0, i = 0, bad;
	while (i < n) {
		size_t ok = pb_utf8_valid_prefix(p + i, n - i, &bad);
		out += ok + bad * sizeof(repl);
		i += ok + bad;
	}
	pb_key(b, field, PB_LEN);
	pb_varint(b, out);
	for (i = 0; i < n;) {
		size_t ok = pb_utf8_valid_prefix(p + i, n - i, &bad);
		pb_raw(b, p + i, ok);
		if (bad)
			pb_raw(b, repl, sizeof(repl));
		i += ok + bad;
	}
}

/* Appends a string field from a C string. */
void pb_cstr(struct pb_buf *b, uint32_t field, const char *s)
{
	pb_string(b, field, s, strlen(s));
}

/* Opens a nested message: the key, one byte reserved for the length. */
void pb_begin(struct pb_buf *b, uint32_t field)
{
	if (b->depth >= PB_MAX_DEPTH)
		abort(); /* a programming error: the exporter's nesting is fixed */
	pb_key(b, field, PB_LEN);
	pb_reserve(b, 1);
	b->data[b->len++] = 0;
	b->open[b->depth++] = b->len;
}

/* Closes the innermost message: writes its length in the reserved byte,
 * moving the contents when the length needs more than one byte. */
void pb_end(struct pb_buf *b)
{
	if (b->depth == 0)
		abort();
	size_t start = b->open[--b->depth];
	size_t n = b->len - start;
	size_t w = varint_size(n);
	if (w > 1) {
		pb_reserve(b, w - 1);
		memmove(b->data + start + w - 1, b->data + start, n);
		b->len += w - 1;
	}
	varint_put(b->data + start - 1, n);
}
