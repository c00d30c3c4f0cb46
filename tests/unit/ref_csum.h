/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The tests' own Internet checksum, written straight from RFC 1071 and
 * independent of the library's (src/pkt/csum.c), so that a test checks the
 * library against something it did not compute itself.
 */
#ifndef VHU_TESTS_UNIT_REF_CSUM_H
#define VHU_TESTS_UNIT_REF_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* s plus the 16-bit big-endian words of n bytes at p (an odd last byte
 * is the high half of a word), not folded. */
static inline uint32_t ref_add(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

/* End-around carry down to 16 bits. */
static inline uint16_t ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

#endif
