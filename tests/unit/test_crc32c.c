/*
 * test_crc32c.c - CRC-32C: published check values, the hardware and
 * portable paths agreeing on every length and alignment, and incremental
 * use matching one-shot use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/crc32c.h"

/* The CRC catalogue's check value and the iSCSI test vectors of RFC 3720,
 * appendix B.4. */
static void test_known_values(void **state)
{
	(void)state;
	assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(crc32c_portable(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(crc32c(0, "", 0), 0);

	uint8_t buf[32];
	memset(buf, 0, sizeof(buf));
	assert_int_equal(crc32c(0, buf, 32), 0x8A9136AAu);
	assert_int_equal(crc32c_portable(0, buf, 32), 0x8A9136AAu);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(crc32c(0, buf, 32), 0x62A8AB43u);
	assert_int_equal(crc32c_portable(0, buf, 32), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(crc32c(0, buf, 32), 0x46DD794Eu);
	assert_int_equal(crc32c_portable(0, buf, 32), 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(crc32c(0, buf, 32), 0x113FDB5Cu);
	assert_int_equal(crc32c_portable(0, buf, 32), 0x113FDB5Cu);
}

/* Bit-at-a-time reference, written from the definition. */
static uint32_t crc32c_reference(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
	}
	return ~c;
}

static void test_paths_agree(void **state)
{
	(void)state;
	uint8_t buf[600];
	uint64_t x = 0x9E3779B97F4A7C15ull;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	for (size_t align = 0; align < 8; align++) {
		for (size_t len = 0; len + align <= 520; len++) {
			uint32_t want = crc32c_reference(buf + align, len);
			assert_int_equal(crc32c(0, buf + align, len), want);
			assert_int_equal(crc32c_portable(0, buf + align, len), want);
		}
	}
}

static void test_incremental(void **state)
{
	(void)state;
	uint8_t buf[300];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	uint32_t whole = crc32c(0, buf, sizeof(buf));
	for (size_t cut = 0; cut <= sizeof(buf); cut++) {
		assert_int_equal(crc32c(crc32c(0, buf, cut), buf + cut, sizeof(buf) - cut), whole);
		assert_int_equal(crc32c_portable(crc32c_portable(0, buf, cut), buf + cut, sizeof(buf) - cut),
		                 whole);
	}
	/* a single changed bit always changes the CRC */
	for (size_t i = 0; i < sizeof(buf) * 8; i += 13) {
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_not_equal(crc32c(0, buf, sizeof(buf)), whole);
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_values),
	    cmocka_unit_test(test_paths_agree),
	    cmocka_unit_test(test_incremental),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
