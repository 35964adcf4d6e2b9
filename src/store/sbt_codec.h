/*
 * sbt_codec.h - SBT v1 constants and byte-level helpers shared by the writer
 * (sbt_write.c) and the reader (sbt_read.c).
 *
 * Everything here is fixed by docs/sbt-format.md: magic numbers, chunk and
 * record type codes, event presence bits and size limits. Changing a value
 * changes the file format. Integers are little-endian; most are LEB128
 * varints (util/varint.h).
 */
#ifndef TSTOP_STORE_SBT_CODEC_H
#define TSTOP_STORE_SBT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "trace/event.h"
#include "util/crc32c.h"

/* File header: magic, u16 major, u16 minor, u32 flags. */
#define SBT_MAGIC          "\x89SBT\r\n\x1a\n"
#define SBT_MAGIC_BYTES    8
#define SBT_HEADER_BYTES   16
#define SBT_FILE_FLAG_ZSTD 0x1u /* the writer compressed chunks it could shrink */

/* Chunk framing: 16-byte header, payload, u32 CRC32C of the stored payload. */
#define SBT_CHUNK_MAGIC         0x4B48439Cu /* bytes 9C 43 48 4B: "\x9cCHK" */
#define SBT_CHUNK_HEADER_BYTES  16
#define SBT_CHUNK_TRAILER_BYTES 4
#define SBT_CHUNK_OVERHEAD      (SBT_CHUNK_HEADER_BYTES + SBT_CHUNK_TRAILER_BYTES)
#define SBT_CHUNK_FLAG_ZSTD     0x01u
#define SBT_CHUNK_FLAGS_KNOWN   SBT_CHUNK_FLAG_ZSTD

/* Footer: u64 offset of the INDEX chunk, then the end magic. */
#define SBT_END_MAGIC     "\x89SBTEND\n"
#define SBT_TRAILER_BYTES 16

/* Limits. A payload, stored or decompressed, never exceeds SBT_MAX_PAYLOAD;
 * readers check both before allocating. The writer keeps one record below
 * SBT_MAX_RECORD and closes a chunk once it passes chunk_bytes (at most
 * SBT_MAX_CHUNK_BYTES), so no chunk it writes reaches the cap. */
#define SBT_MAX_PAYLOAD         (64u << 20)
#define SBT_MAX_RECORD          (32u << 20)
#define SBT_MAX_CHUNK_BYTES     (16u << 20)
#define SBT_DEFAULT_CHUNK_BYTES (256u << 10)
#define SBT_MAX_CHUNKS          (1u << 20) /* chunks in one file, so that the index fits a chunk */
#define SBT_MAX_ZSTD_LEVEL      19

/* Chunk types. */
enum sbt_chunk_type {
	SBT_CHUNK_STRINGS = 1,
	SBT_CHUNK_STACKS = 2,
	SBT_CHUNK_TOPOLOGY = 3,
	SBT_CHUNK_ATTRS = 4,
	SBT_CHUNK_META = 5,
	SBT_CHUNK_EVENTS = 6,
	SBT_CHUNK_LOSS = 7,
	SBT_CHUNK_INDEX = 8,
};
#define SBT_CHUNK_TYPE_MAX 8

/* Record tags, per chunk type. */
#define SBT_REC_STRING    1 /* STRINGS */
#define SBT_REC_FRAME     1 /* STACKS */
#define SBT_REC_STACK     2 /* STACKS */
#define SBT_REC_TRACK     1 /* TOPOLOGY */
#define SBT_REC_PROCESS   2 /* TOPOLOGY */
#define SBT_REC_DEVICE    3 /* TOPOLOGY */
#define SBT_REC_LAUNCH    1 /* ATTRS */
#define SBT_REC_NVTX_ATTR 2 /* ATTRS */
#define SBT_REC_MEMOP     3 /* ATTRS */
#define SBT_REC_META      1 /* META */
#define SBT_REC_LOSS      1 /* LOSS */

/* Tables whose entries are defined with ids (each its own id space). */
enum sbt_table {
	SBT_TABLE_STRING,
	SBT_TABLE_FRAME,
	SBT_TABLE_STACK,
	SBT_TABLE_TRACK,
	SBT_TABLE_LAUNCH,
	SBT_TABLE_NVTX_ATTR,
	SBT_TABLE_MEMOP,
	SBT_TABLE_COUNT
};

/* Event presence bits: which optional fields follow the fixed ones. */
#define SBT_EV_CORR     0x01u /* correlation: zigzag delta from the previous non-zero one */
#define SBT_EV_FLAGS    0x02u /* flags: one byte */
#define SBT_EV_SUB      0x04u /* sub: varint */
#define SBT_EV_U0       0x08u /* first kind-specific member */
#define SBT_EV_U1       0x10u /* second kind-specific member (stack id of API and NVTX events) */
#define SBT_EV_RESERVED 0xE0u

/* Smallest encoded event: kind, presence, start delta, duration, name, track. */
#define SBT_EVENT_MIN_BYTES 6
/* Largest encoded event (all fields present, widest varints). */
#define SBT_EVENT_MAX_BYTES 64

/* True when events of `kind` carry a second member (a stack id). */
static inline bool sbt_kind_has_u1(unsigned kind)
{
	return kind == TRACE_API || kind == TRACE_NVTX_RANGE || kind == TRACE_NVTX_MARK;
}

/* Little-endian stores and loads at any alignment. */
static inline void sbt_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void sbt_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void sbt_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t sbt_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t sbt_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t sbt_get_le64(const uint8_t *p)
{
	return (uint64_t)sbt_get_le32(p) | (uint64_t)sbt_get_le32(p + 4) << 32;
}

/* Lays out a chunk header for a payload of `len` stored bytes, its CRC
 * included. */
static inline void sbt_chunk_header_encode(uint8_t h[SBT_CHUNK_HEADER_BYTES], uint8_t type, uint8_t flags,
                                           uint32_t len)
{
	sbt_put_le32(h, SBT_CHUNK_MAGIC);
	h[4] = type;
	h[5] = flags;
	sbt_put_le16(h + 6, 0);
	sbt_put_le32(h + 8, len);
	sbt_put_le32(h + 12, crc32c(0, h, 12));
}

/* Reinterprets the bits of a uint64_t as an int64_t (two's complement). */
static inline int64_t sbt_u2i(uint64_t u)
{
	int64_t v;
	memcpy(&v, &u, sizeof(v));
	return v;
}

#endif
