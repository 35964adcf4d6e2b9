/*
 * inject_text.c - the collector's text conversions (see inject_text.h).
 */
#include "capture/inject/inject_text.h"

#include <stdint.h>

/* Encodes code point `c` (a Unicode scalar value) as UTF-8 in `b`; returns
 * its length (1..4). */
static size_t inj_utf8_put(uint32_t c, char *b)
{
	if (c < 0x80) {
		b[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		b[0] = (char)(0xc0 | (c >> 6));
		b[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		b[0] = (char)(0xe0 | (c >> 12));
		b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	b[0] = (char)(0xf0 | (c >> 18));
	b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	b[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* Wide string to UTF-8 into at most `cap` bytes (see inject_text.h). O(n). */
size_t inj_wide_to_utf8(const wchar_t *w, char *out, size_t cap)
{
	size_t n = 0;
	if (!w)
		return 0;
	for (; *w; w++) {
		uint32_t c = (uint32_t)*w;
		if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			c = 0xfffd;
		char b[4];
		size_t k = inj_utf8_put(c, b);
		if (k > cap - n)
			break;
		for (size_t i = 0; i < k; i++)
			out[n + i] = b[i];
		n += k;
	}
	return n;
}

/* Joins cmdline arguments with spaces in place (see inject_text.h). O(len). */
size_t inj_cmdline_join(char *buf, size_t len)
{
	while (len && buf[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\0')
			buf[i] = ' ';
	}
	return len;
}
