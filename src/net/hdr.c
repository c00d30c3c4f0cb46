/* SPDX-License-Identifier: BSD-3-Clause */
#include <endian.h>
#include <string.h>
#include <linux/virtio_config.h>
#include "common/compiler.h"
#include <vhu/vhu.h>
#include "net/net.h"

uint32_t vhu_net_hdr_len(uint64_t features)
{
	if (features & ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MRG_RXBUF)))
		return sizeof(struct virtio_net_hdr_mrg_rxbuf);
	return sizeof(struct virtio_net_hdr);
}

#define F(x) (1ULL << (x))

bool vhu_net_hdr_build_any(uint64_t features, const struct vhu_pkt *pkt,
			   struct vhu_net_rxhdr *h, bool *csum_fixup)
{
	const struct vhu_pkt_offload *ol = &pkt->ol;
	uint64_t flags = 0, gso_type = 0, hdr_len = 0, gso_size = 0, csum_start = 0;
	uint32_t csum_offset = 0;

	*h = (struct vhu_net_rxhdr){ 0, 0 };
	*csum_fixup = false;
	if (ol->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		uint64_t need;
		switch (ol->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
		case VIRTIO_NET_HDR_GSO_TCPV4: need = F(VIRTIO_NET_F_GUEST_TSO4); break;
		case VIRTIO_NET_HDR_GSO_TCPV6: need = F(VIRTIO_NET_F_GUEST_TSO6); break;
		case VIRTIO_NET_HDR_GSO_UDP:   need = F(VIRTIO_NET_F_GUEST_UFO); break;
		case VHU_NET_HDR_GSO_UDP_L4:
			switch (vhu_pkt_ip_version(pkt)) {
			case 4: need = F(VHU_NET_F_GUEST_USO4); break;
			case 6: need = F(VHU_NET_F_GUEST_USO6); break;
			default: return false;
			}
			break;
		default: return false;
		}
		if ((ol->gso_type & VIRTIO_NET_HDR_GSO_ECN))
			need |= F(VIRTIO_NET_F_GUEST_ECN);
		/* The guest must also take the partial checksum GSO implies. */
		if ((features & need) != need || !(features & F(VIRTIO_NET_F_GUEST_CSUM)))
			return false;
		gso_type = ol->gso_type;
		gso_size = ol->gso_size;
		hdr_len = ol->hdr_len;
	}
	if (ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (features & F(VIRTIO_NET_F_GUEST_CSUM)) {
			flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			csum_start = ol->csum_start;
			csum_offset = ol->csum_offset;
		} else if ((uint32_t)ol->csum_start + ol->csum_offset + 2 <= pkt->pkt_len) {
			*csum_fixup = true;
		} else {
			return false; /* the application's metadata: not ours to trust */
		}
	} else if ((ol->flags & VIRTIO_NET_HDR_F_DATA_VALID) &&
		   (features & F(VIRTIO_NET_F_GUEST_CSUM))) {
		flags = VIRTIO_NET_HDR_F_DATA_VALID;
	}
	/* The byte offsets of struct virtio_net_hdr. */
	h->lo = flags | gso_type << 8 | hdr_len << 16 | gso_size << 32 | csum_start << 48;
	h->hi = csum_offset;
	return true;
}

bool vhu_net_ol_check(const struct vhu_pkt_offload *ol, uint32_t pkt_len, uint64_t features)
{
	if (ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!(features & F(VIRTIO_NET_F_CSUM)) ||
		    (uint32_t)ol->csum_start + ol->csum_offset + 2 > pkt_len)
			return false;
	}
	if (ol->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		uint64_t need;
		switch (ol->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
		case VIRTIO_NET_HDR_GSO_TCPV4: need = F(VIRTIO_NET_F_HOST_TSO4); break;
		case VIRTIO_NET_HDR_GSO_TCPV6: need = F(VIRTIO_NET_F_HOST_TSO6); break;
		case VIRTIO_NET_HDR_GSO_UDP:   need = F(VIRTIO_NET_F_HOST_UFO); break;
		case VHU_NET_HDR_GSO_UDP_L4:   need = F(VHU_NET_F_HOST_USO); break;
		default: return false;
		}
		if (ol->gso_type & VIRTIO_NET_HDR_GSO_ECN)
			need |= F(VIRTIO_NET_F_HOST_ECN);
		/* A segment size of 0 or past the packet is no segmentation
		 * anyone can do; GSO always comes with a partial checksum. */
		if ((features & need) != need || ol->gso_size == 0 || ol->gso_size > pkt_len ||
		    !(ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			return false;
	}
	return true;
}

uint64_t vhu_net_features_fix(uint64_t f)
{
	/* virtio 1.2, 5.1.3.1: each offload needs the checksum offload in
	 * its direction, ECN needs TSO in its direction. */
	if (!(f & F(VIRTIO_NET_F_CSUM)))
		f &= ~(F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |
		       F(VIRTIO_NET_F_HOST_UFO) | F(VHU_NET_F_HOST_USO));
	if (!(f & (F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6))))
		f &= ~F(VIRTIO_NET_F_HOST_ECN);
	if (!(f & F(VIRTIO_NET_F_GUEST_CSUM)))
		f &= ~(F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |
		       F(VIRTIO_NET_F_GUEST_UFO) | F(VHU_NET_F_GUEST_USO4) |
		       F(VHU_NET_F_GUEST_USO6));
	if (!(f & (F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6))))
		f &= ~F(VIRTIO_NET_F_GUEST_ECN);
	return f;
}

uint32_t vhu_iov_to_buf(const struct vhu_iov *iov, uint32_t niov, uint32_t off,
			void *dst, uint32_t len)
{
	uint32_t done = 0;

	for (uint32_t i = 0; i < niov && done < len; i++) {
		if (off >= iov[i].len) {
			off -= iov[i].len;
			continue;
		}
		uint32_t n = VHU_MIN(iov[i].len - off, len - done);
		memcpy((uint8_t *)dst + done, iov[i].base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

uint32_t vhu_buf_to_iov(const struct vhu_iov *iov, uint32_t niov, uint32_t off,
			const void *src, uint32_t len)
{
	uint32_t done = 0;

	for (uint32_t i = 0; i < niov && done < len; i++) {
		if (off >= iov[i].len) {
			off -= iov[i].len;
			continue;
		}
		uint32_t n = VHU_MIN(iov[i].len - off, len - done);
		memcpy(iov[i].base + off, (const uint8_t *)src + done, n);
		done += n;
		off = 0;
	}
	return done;
}

struct vhu_pkt *vhu_net_make_rarp(struct vhu_pkt_pool *pool, const uint8_t mac[6])
{
	struct vhu_pkt *p = vhu_pkt_alloc(pool);
	uint8_t *f;

	if (!p)
		return NULL;
	f = vhu_pkt_append(p, 60);
	if (!f) {
		vhu_pkt_free(p);
		return NULL;
	}
	memset(f, 0, 60);
	memset(f, 0xff, 6);             /* broadcast */
	memcpy(f + 6, mac, 6);
	f[12] = 0x80; f[13] = 0x35;     /* RARP */
	f[14] = 0; f[15] = 1;           /* Ethernet */
	f[16] = 0x08; f[17] = 0x00;     /* IPv4 */
	f[18] = 6; f[19] = 4;
	f[20] = 0; f[21] = 3;           /* reverse request */
	memcpy(f + 22, mac, 6);
	memcpy(f + 32, mac, 6);
	return p;
}
