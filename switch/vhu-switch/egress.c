/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Software offloads per egress port (sw.h, egress_send). A burst without
 * offload metadata, the common case for small frames, costs one scan of
 * the flags and goes to the port as it is. Otherwise each packet is
 * passed whole when the port takes what it needs (a guest with GUEST_TSO4
 * gets a 64 KiB TCP packet in one piece), segmented into MSS-sized frames
 * when it is GSO the port cannot take, or has its partial checksum
 * completed. What cannot be segmented (the pool ran dry, headers the
 * library does not handle) is dropped and counted as a tx error.
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <vhu/pkt.h>
#include "sw.h"

static void port_send(struct port *p, unsigned pmd, struct vhu_pkt **pkts, uint16_t n)
{
	if (!n)
		return;
	switch (p->type) {
	case PORT_VHOST:
		vhost_tx(p, pmd, pkts, n);
		break;
	case PORT_TAP:
		tap_tx(p, pmd, pkts, n);
		break;
	case PORT_VXLAN:
		vxlan_tx(p, pmd, pkts, n);
		break;
	default:
		afxdp_tx(p, pmd, pkts, n);
	}
}

static void flush(struct sw_egress *e, struct port *p, unsigned pmd, unsigned *k, unsigned *nown)
{
	port_send(p, pmd, e->out, (uint16_t)*k);
	vhu_pkt_free_bulk(e->own, *nown);
	*k = *nown = 0;
}

static void fit(struct sw_egress *e, struct port *p, unsigned pmd, unsigned caps,
		struct vhu_pkt **pkts, uint16_t n)
{
	unsigned k = 0, nown = 0;
	uint64_t whole = 0, seg = 0, csum = 0, errs = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct vhu_pkt *pkt = pkts[i];
		unsigned need = sw_ol_needs(pkt);
		if ((need & ~caps) == 0) {
			whole += need != 0;
		} else if (pkt->ol.gso_type != 0) {
			uint32_t est = pkt->ol.gso_size ? pkt->pkt_len / pkt->ol.gso_size + 1 : 1;
			if (k + est > SW_EG_MAX)
				flush(e, p, pmd, &k, &nown);
			int r = vhu_pkt_gso_segment(pkt, e->pool, e->out + k, SW_EG_MAX - k);
			if ((r == -ENOMEM || r == -ENOBUFS) && k) {
				/* The frames made so far hold the pool or the
				 * room: send them, then try once more. */
				flush(e, p, pmd, &k, &nown);
				r = vhu_pkt_gso_segment(pkt, e->pool, e->out, SW_EG_MAX);
			}
			if (r < 0) {
				errs++;
				continue;
			}
			for (int j = 0; j < r; j++)
				e->own[nown++] = e->out[k + (unsigned)j];
			k += (unsigned)r;
			seg++;
			continue;
		} else if (vhu_pkt_csum_complete(pkt) == 0) {
			csum++;
		} else {
			errs++;
			continue;
		}
		if (k == SW_EG_MAX)
			flush(e, p, pmd, &k, &nown);
		e->out[k++] = pkt;
	}
	flush(e, p, pmd, &k, &nown);
	if (whole)
		atomic_fetch_add_explicit(&p->ol_whole, whole, memory_order_relaxed);
	if (seg)
		atomic_fetch_add_explicit(&p->ol_segmented, seg, memory_order_relaxed);
	if (csum)
		atomic_fetch_add_explicit(&p->ol_csum, csum, memory_order_relaxed);
	if (errs)
		atomic_fetch_add_explicit(&p->tx[0].errors, errs, memory_order_relaxed);
}

void egress_send(struct sw_egress *e, struct port *p, unsigned pmd,
		 struct vhu_pkt **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		const struct vhu_pkt_offload *ol = &pkts[i]->ol;
		if (__builtin_expect((ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || ol->gso_type, 0)) {
			fit(e, p, pmd, atomic_load_explicit(&p->ol_caps, memory_order_relaxed),
			    pkts, n);
			return;
		}
	}
	port_send(p, pmd, pkts, n);
}
