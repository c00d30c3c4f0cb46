/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Internet checksum and vhu_pkt_csum_complete(). The sum is taken in
 * native byte order, 32 bits at a time into a 64-bit accumulator, and
 * byte-swapped once at the end: a ones-complement sum does not depend on
 * byte order except for that swap (RFC 1071, 2.(B)), and it costs one
 * add per 4 bytes instead of a shift and an or per 2.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <linux/virtio_net.h>
#include "common/compiler.h"
#include "pkt/csum.h"

/* Native-order sum of len bytes at p, as if p were at an even offset. */
static uint16_t sum_native(const uint8_t *p, uint32_t len)
{
	uint64_t s = 0;
	uint32_t w;
	uint16_t h;

	for (; len >= 4; p += 4, len -= 4) {
		memcpy(&w, p, 4);
		s += w;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		s += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* A last odd byte is the high half of a word padded with 0. */
		uint8_t pad[2] = { p[0], 0 };
		memcpy(&h, pad, 2);
		s += h;
	}
	return vhu_csum_fold(s);
}

static uint16_t to_net(uint16_t native)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_bswap16(native);
#else
	return native;
#endif
}

uint16_t vhu_csum_buf(const void *p, uint32_t len, uint16_t sum)
{
	return vhu_csum_fold((uint32_t)sum + to_net(sum_native(p, len)));
}

uint16_t vhu_csum_pkt(const struct vhu_pkt *pkt, uint32_t off, uint16_t sum)
{
	uint64_t s = sum;
	bool odd = false; /* an odd number of bytes summed so far */

	for (const struct vhu_pkt *seg = pkt; seg; seg = seg->next) {
		if (off >= seg->data_len) {
			off -= seg->data_len;
			continue;
		}
		uint32_t len = seg->data_len - off;
		uint16_t part = to_net(sum_native(vhu_pkt_data(seg) + off, len));
		/* Bytes that start at an odd position pair the other way round:
		 * their sum is the even-position sum byte-swapped. */
		s += odd ? __builtin_bswap16(part) : part;
		odd ^= len & 1;
		off = 0;
	}
	return vhu_csum_fold(s);
}

uint16_t vhu_csum_partial(const struct vhu_pkt *pkt)
{
	uint16_t c = (uint16_t)~vhu_csum_pkt(pkt, pkt->ol.csum_start, 0);

	if (c == 0 && pkt->ol.csum_offset == 6)
		c = 0xffff;
	return c;
}

/* Writes n bytes at offset off of the packet, across segments. */
static void pkt_write(struct vhu_pkt *pkt, uint32_t off, const uint8_t *src, uint32_t n)
{
	for (struct vhu_pkt *seg = pkt; seg && n; seg = seg->next) {
		if (off >= seg->data_len) {
			off -= seg->data_len;
			continue;
		}
		uint32_t k = VHU_MIN(seg->data_len - off, n);
		memcpy(vhu_pkt_data(seg) + off, src, k);
		src += k;
		n -= k;
		off = 0;
	}
}

VHU_EXPORT int vhu_pkt_csum_complete(struct vhu_pkt *pkt)
{
	struct vhu_pkt_offload *ol = &pkt->ol;

	if (!(ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	/* A GSO packet's checksum is per segment: vhu_pkt_gso_segment(). */
	if (ol->gso_type != VIRTIO_NET_HDR_GSO_NONE ||
	    (uint32_t)ol->csum_start + ol->csum_offset + 2 > pkt->pkt_len)
		return -EINVAL;
	uint16_t c = vhu_csum_partial(pkt);
	uint8_t be[2] = { (uint8_t)(c >> 8), (uint8_t)c };
	pkt_write(pkt, (uint32_t)ol->csum_start + ol->csum_offset, be, 2);
	/* DATA_VALID: the virtio spec lets the device set it on a packet
	 * whose checksum is known good (only a driver must not send it), and
	 * a checksum computed here is good by construction, so the receiver
	 * (guest with GUEST_CSUM, tap) need not verify it again. An egress
	 * that cannot take it drops it (vhu_net_hdr_build does).
	 * csum_start/csum_offset mean nothing without NEEDS_CSUM: cleared. */
	ol->flags = (uint8_t)((ol->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) |
			      VIRTIO_NET_HDR_F_DATA_VALID);
	ol->csum_start = ol->csum_offset = 0;
	return 0;
}
