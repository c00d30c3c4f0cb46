/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A whole copy of a packet, for a flood that wants one frame in two forms
 * (tagged for some ports, untagged for others: ../core/vlan.h).
 */
#include <errno.h>
#include <string.h>
#include <vhu/pkt.h>
#include "sw.h"

/* Segments a copy may take: a 64 KiB packet in the PMD pool's 2 KiB ones. */
#define COPY_SEGS_MAX 64

struct vhu_pkt *pkt_copy(const struct vhu_pkt *pkt, struct vhu_pkt_pool *pool)
{
	uint32_t room = vhu_pkt_pool_data_room(pool), len = pkt->pkt_len;
	unsigned n = len ? (len + room - 1) / room : 1;
	struct vhu_pkt *seg[COPY_SEGS_MAX];

	if (n > COPY_SEGS_MAX || vhu_pkt_alloc_bulk(pool, seg, n) < 0)
		return NULL;
	for (unsigned i = 0, off = 0; i < n; i++) {
		uint32_t k = len - off < room ? len - off : room;
		seg[i]->data_len = vhu_pkt_read(pkt, off, vhu_pkt_data(seg[i]), k);
		seg[i]->next = i + 1 < n ? seg[i + 1] : NULL;
		off += k;
	}
	seg[0]->pkt_len = len;
	seg[0]->nb_segs = (uint16_t)n;
	seg[0]->port = pkt->port;
	seg[0]->user = pkt->user;
	seg[0]->ol = pkt->ol;
	return seg[0];
}
