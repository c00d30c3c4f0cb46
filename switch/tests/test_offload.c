/* SPDX-License-Identifier: BSD-3-Clause */
/* Offload needs and capabilities (core/offload.h): what each packet asks
 * of its egress, and what a guest's negotiated features let it take. */
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <vhu/vhu.h>
#include "offload.h"
#include "sw_t.h"

#define F(b) (1ULL << (b))

/* A one-segment packet on the stack: Ethernet, tags, then an IP version
 * nibble. */
struct fake {
	struct vhu_pkt p;
	uint8_t buf[64];
};

static struct vhu_pkt *mk(struct fake *f, uint16_t type, unsigned tags, uint8_t flags,
			  uint8_t gso)
{
	memset(f, 0, sizeof(*f));
	f->p.buf = f->buf;
	f->p.buf_len = sizeof(f->buf);
	f->p.data_len = f->p.pkt_len = sizeof(f->buf);
	uint32_t off = 12;
	for (unsigned t = 0; t < tags; t++, off += 4)
		f->buf[off] = 0x81, f->buf[off + 1] = 0x00;
	f->buf[off] = (uint8_t)(type >> 8);
	f->buf[off + 1] = (uint8_t)type;
	f->p.ol.flags = flags;
	f->p.ol.gso_type = gso;
	return &f->p;
}

static void test_needs(void)
{
	struct fake f;
	const uint8_t NC = VIRTIO_NET_HDR_F_NEEDS_CSUM;

	CHECK_EQ(sw_ol_needs(mk(&f, 0x0800, 0, 0, 0)), 0);
	CHECK_EQ(sw_ol_needs(mk(&f, 0x0800, 0, VIRTIO_NET_HDR_F_DATA_VALID, 0)), 0);
	CHECK_EQ(sw_ol_needs(mk(&f, 0x0800, 0, NC, 0)), SW_OL_CSUM);
	CHECK_EQ(sw_ol_needs(mk(&f, 0x0800, 0, NC, VIRTIO_NET_HDR_GSO_TCPV4)),
		 SW_OL_CSUM | SW_OL_TSO4);
	CHECK_EQ(sw_ol_needs(mk(&f, 0x86dd, 0, NC, VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN)),
		 SW_OL_CSUM | SW_OL_TSO6 | SW_OL_ECN);
	CHECK_EQ(sw_ol_needs(mk(&f, 0x0800, 0, NC, VHU_NET_HDR_GSO_UDP_L4)), SW_OL_CSUM | SW_OL_USO4);
	CHECK_EQ(sw_ol_needs(mk(&f, 0x86dd, 2, NC, VHU_NET_HDR_GSO_UDP_L4)), SW_OL_CSUM | SW_OL_USO6);
	/* USO under four tags is found, under five or not IP both versions
	 * are needed */
	CHECK_EQ(sw_ol_needs(mk(&f, 0x86dd, 4, NC, VHU_NET_HDR_GSO_UDP_L4)), SW_OL_CSUM | SW_OL_USO6);
	CHECK_EQ(sw_ol_needs(mk(&f, 0x86dd, 5, NC, VHU_NET_HDR_GSO_UDP_L4)),
		 SW_OL_CSUM | SW_OL_USO4 | SW_OL_USO6);
	CHECK_EQ(sw_ol_needs(mk(&f, 0x0806, 0, NC, VHU_NET_HDR_GSO_UDP_L4)),
		 SW_OL_CSUM | SW_OL_USO4 | SW_OL_USO6);
	/* a GSO type nobody takes whole: legacy UFO */
	CHECK_EQ(sw_ol_needs(mk(&f, 0x0800, 0, NC, VIRTIO_NET_HDR_GSO_UDP)), SW_OL_ALL);
}

static void test_of_guest(void)
{
	uint64_t all = F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4) |
		       F(VIRTIO_NET_F_GUEST_TSO6) | F(VIRTIO_NET_F_GUEST_ECN) |
		       F(VHU_NET_F_GUEST_USO4) | F(VHU_NET_F_GUEST_USO6);
	CHECK_EQ(sw_ol_of_guest(all), SW_OL_ALL);
	/* the host-side bits say nothing of what the guest takes */
	CHECK_EQ(sw_ol_of_guest(F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4)), 0);
	CHECK_EQ(sw_ol_of_guest(all & ~F(VIRTIO_NET_F_GUEST_CSUM)), 0);
	CHECK_EQ(sw_ol_of_guest(F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4)),
		 SW_OL_CSUM | SW_OL_TSO4);
	char b[64];
	sw_ol_names(SW_OL_CSUM | SW_OL_TSO6, b, sizeof(b));
	CHECK_STR(b, "csum tso6");
	sw_ol_names(0, b, sizeof(b));
	CHECK_STR(b, "none");
}

int main(void)
{
	RUN(test_needs);
	RUN(test_of_guest);
	return t_done("switch_offload");
}
