/*
 * crc32c.c - CRC-32C, hardware-accelerated where possible (see crc32c.h).
 *
 * The portable path is "slicing-by-8": eight 256-entry tables, built once on
 * first use, let the loop fold eight input bytes per step with eight table
 * lookups. Table k holds the CRC of a byte followed by k zero bytes. The
 * x86-64 path feeds eight bytes at a time to the SSE4.2 CRC32 instruction,
 * which implements exactly this polynomial.
 */
#include "util/crc32c.h"

#include <pthread.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u /* reflected Castagnoli polynomial */

static uint32_t crc32c_tables[8][256];
static pthread_once_t crc32c_tables_once = PTHREAD_ONCE_INIT;

/* Fills crc32c_tables; run once through pthread_once. */
static void crc32c_init_tables(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1u)));
		crc32c_tables[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = crc32c_tables[0][i];
		for (int t = 1; t < 8; t++) {
			c = (c >> 8) ^ crc32c_tables[0][c & 0xff];
			crc32c_tables[t][i] = c;
		}
	}
}

/* Reads a little-endian 64-bit word at any alignment. */
static inline uint64_t crc32c_load64(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

uint32_t crc32c_portable(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc32c_tables_once, crc32c_init_tables);
	const unsigned char *p = buf;
	uint32_t c = ~crc;

	while (len >= 8) {
		uint64_t w = crc32c_load64(p) ^ c;
		c = crc32c_tables[7][w & 0xff] ^ crc32c_tables[6][(w >> 8) & 0xff] ^
		    crc32c_tables[5][(w >> 16) & 0xff] ^ crc32c_tables[4][(w >> 24) & 0xff] ^
		    crc32c_tables[3][(w >> 32) & 0xff] ^ crc32c_tables[2][(w >> 40) & 0xff] ^
		    crc32c_tables[1][(w >> 48) & 0xff] ^ crc32c_tables[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = (c >> 8) ^ crc32c_tables[0][(c ^ *p++) & 0xff];
	return ~c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* CRC-32C with the SSE4.2 CRC32 instruction; only called when the processor
 * has it. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t c = ~crc;

	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	uint32_t c32 = (uint32_t)c;
	while (len--)
		c32 = __builtin_ia32_crc32qi(c32, *p++);
	return ~c32;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (__builtin_cpu_supports("sse4.2"))
		return crc32c_sse42(crc, buf, len);
	return crc32c_portable(crc, buf, len);
}
#else
uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	return crc32c_portable(crc, buf, len);
}
#endif
