/* SPDX-License-Identifier: BSD-3-Clause */
/* Offload needs and capabilities (offload.h). */
#include <stdio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <vhu/vhu.h>
#include "offload.h"

#define F(b) (1ULL << (b))

static unsigned uso_needs(const struct vhu_pkt *pkt)
{
	switch (vhu_pkt_ip_version(pkt)) {
	case 4: return SW_OL_USO4;
	case 6: return SW_OL_USO6;
	default: return SW_OL_USO4 | SW_OL_USO6;
	}
}

unsigned sw_ol_needs(const struct vhu_pkt *pkt)
{
	const struct vhu_pkt_offload *ol = &pkt->ol;
	unsigned need = 0;

	if (__builtin_expect(!(ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
			     ol->gso_type == VIRTIO_NET_HDR_GSO_NONE, 1))
		return 0;
	if (ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		need |= SW_OL_CSUM;
	switch (ol->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE: break;
	case VIRTIO_NET_HDR_GSO_TCPV4: need |= SW_OL_TSO4; break;
	case VIRTIO_NET_HDR_GSO_TCPV6: need |= SW_OL_TSO6; break;
	case VHU_NET_HDR_GSO_UDP_L4: need |= uso_needs(pkt); break;
	default: need |= SW_OL_ALL; break; /* nobody takes it whole */
	}
	if (ol->gso_type & VIRTIO_NET_HDR_GSO_ECN)
		need |= SW_OL_ECN;
	return need;
}

unsigned sw_ol_of_guest(uint64_t f)
{
	unsigned ol = 0;

	if (!(f & F(VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	ol |= SW_OL_CSUM;
	if (f & F(VIRTIO_NET_F_GUEST_TSO4))
		ol |= SW_OL_TSO4;
	if (f & F(VIRTIO_NET_F_GUEST_TSO6))
		ol |= SW_OL_TSO6;
	if (f & F(VIRTIO_NET_F_GUEST_ECN))
		ol |= SW_OL_ECN;
	if (f & F(VHU_NET_F_GUEST_USO4))
		ol |= SW_OL_USO4;
	if (f & F(VHU_NET_F_GUEST_USO6))
		ol |= SW_OL_USO6;
	return ol;
}

void sw_ol_names(unsigned ol, char *buf, size_t len)
{
	static const char *const names[] = { "csum", "tso4", "tso6", "ecn", "uso4", "uso6" };
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned b = 0; b < sizeof(names) / sizeof(names[0]) && off < len; b++)
		if (ol & (1u << b)) {
			int w = snprintf(buf + off, len - off, "%s%s", off ? " " : "", names[b]);
			if (w < 0)
				break;
			off += (size_t)w;
		}
	if (!ol)
		snprintf(buf, len, "none");
}
