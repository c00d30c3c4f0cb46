/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Internet checksum (RFC 1071), the library's one implementation:
 * vhu_pkt_csum_complete(), the segmenter and the device layer's software
 * fallback for a guest without GUEST_CSUM all sum through here.
 *
 * Sums are 16-bit ones-complement sums in network byte order, folded and
 * not inverted, so they chain: pass one call's result as the next one's
 * sum. A header's checksum field gets ~sum.
 */
#ifndef VHU_PKT_CSUM_H
#define VHU_PKT_CSUM_H

#include <stdint.h>
#include <vhu/pkt.h>

/* Folds a wide accumulator of 16-bit words (end-around carry). */
static inline uint16_t vhu_csum_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The sum of len bytes at p, added to sum. */
uint16_t vhu_csum_buf(const void *p, uint32_t len, uint16_t sum);

/* The sum of pkt's bytes from offset off to the end of its last segment,
 * across segment boundaries (odd-length segments included), added to
 * sum. */
uint16_t vhu_csum_pkt(const struct vhu_pkt *pkt, uint32_t off, uint16_t sum);

/* The value for the checksum field of a packet with NEEDS_CSUM, in host
 * order: the field holds the pseudo-header sum, so the sum over
 * [csum_start, end) inverted is the result. A UDP checksum (csum_offset
 * 6) that comes out 0 is sent as 0xffff: 0 means "no checksum" there.
 * The caller has checked csum_start against the packet. */
uint16_t vhu_csum_partial(const struct vhu_pkt *pkt);

#endif
