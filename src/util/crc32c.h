/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of SBT chunks.
 *
 * CRC-32C uses the reflected polynomial 0x82F63B78 with an initial value and
 * final XOR of 0xFFFFFFFF (the iSCSI / ext4 / SSE4.2 CRC32 instruction
 * variant): crc32c(0, "123456789", 9) == 0xE3069283. On x86-64 processors
 * with SSE4.2 the hardware instruction is used; elsewhere a table-driven
 * slicing-by-8 loop. Both give the same results.
 */
#ifndef TSTOP_UTIL_CRC32C_H
#define TSTOP_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC-32C over `len` bytes at `buf`: pass 0 as `crc` to start,
 * or the previous result to checksum data given in pieces. Thread-safe. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* The same function computed without the hardware instruction (what
 * crc32c() falls back to); exposed so that tests can compare the two. */
uint32_t crc32c_portable(uint32_t crc, const void *buf, size_t len);

#endif
