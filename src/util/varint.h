/*
 * varint.h - LEB128 variable-length integers and zigzag signed mapping.
 *
 * An unsigned value is written 7 bits at a time, least significant group
 * first; every byte but the last has its high bit set. A 64-bit value takes
 * 1 to 10 bytes. Signed values are first mapped by zigzag (0, -1, 1, -2, 2
 * ... become 0, 1, 2, 3, 4 ...) so that small magnitudes stay short. SBT
 * (docs/sbt-format.md) stores nearly every integer this way.
 *
 * Decoders never read at or past `end`, reject encodings longer than 10
 * bytes or whose value does not fit in 64 bits, and leave *pp unchanged on
 * failure.
 */
#ifndef TSTOP_UTIL_VARINT_H
#define TSTOP_UTIL_VARINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define VARINT_MAX_BYTES 10

/* Writes `v` at `p` (which has room for VARINT_MAX_BYTES) and returns the
 * number of bytes written. */
static inline size_t varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Number of bytes varint_put() writes for `v`. */
static inline size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Reads a varint from [*pp, end) into *out and advances *pp past it.
 * Returns false (nothing consumed) when the bytes run out or the encoding
 * is invalid. */
static inline bool varint_get(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	const uint8_t *p = *pp;
	if (p < end && *p < 0x80) {
		*out = *p;
		*pp = p + 1;
		return true;
	}
	if (end - p >= 4) {
		/* the common 2- and 3-byte cases, without a bounds check per byte */
		uint64_t v = (uint64_t)(p[0] & 0x7f) | (uint64_t)(p[1] & 0x7f) << 7;
		if (p[1] < 0x80) {
			*out = v;
			*pp = p + 2;
			return true;
		}
		if (p[2] < 0x80) {
			*out = v | (uint64_t)p[2] << 14;
			*pp = p + 3;
			return true;
		}
	}
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (p >= end)
			return false;
		uint8_t b = *p++;
		if (shift == 63 && b > 1)
			return false;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			*pp = p;
			return true;
		}
	}
	return false;
}

/* Reads a varint that must fit in 32 bits. */
static inline bool varint_get32(const uint8_t **pp, const uint8_t *end, uint32_t *out)
{
	const uint8_t *p = *pp;
	uint64_t v;
	if (!varint_get(&p, end, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	*pp = p;
	return true;
}

/* Maps a signed value to an unsigned one, small magnitudes first. */
static inline uint64_t varint_zigzag_encode(int64_t v)
{
	return ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63));
}

/* Inverse of varint_zigzag_encode(). */
static inline int64_t varint_zigzag_decode(uint64_t u)
{
	uint64_t v = (u >> 1) ^ (0 - (u & 1));
	int64_t s;
	memcpy(&s, &v, sizeof(s));
	return s;
}

/* Writes a zigzag varint; returns the number of bytes written. */
static inline size_t varint_put_signed(uint8_t *p, int64_t v)
{
	return varint_put(p, varint_zigzag_encode(v));
}

/* Reads a zigzag varint. Same contract as varint_get(). */
static inline bool varint_get_signed(const uint8_t **pp, const uint8_t *end, int64_t *out)
{
	uint64_t u;
	if (!varint_get(pp, end, &u))
		return false;
	*out = varint_zigzag_decode(u);
	return true;
}

#endif
