/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net on the frontend's split rings: transmit copies packets into
 * guest buffers behind a virtio-net header; receive joins merged buffers
 * (MRG_RXBUF num_buffers) into packets and re-posts the buffers.
 */
#include <errno.h>
#include <string.h>
#include <linux/virtio_net.h>
#include "common/compiler.h"
#include "common/log.h"
#include "frontend/fe_priv.h"

/* A received packet longer than this many pool segments is dropped. */
#define FE_MAX_RX_SEGS 128u

static bool head_in_flight(const struct fe_vq *vq, uint32_t id)
{
	return id < vq->num && vq->heads[id].inflight;
}

/* ---- receive ---------------------------------------------------------- */

/* Rewrites the descriptors every time: the backend must not write them,
 * but if it did, the next packet would land wherever it pointed them. */
static void rx_post(struct vhu_fe *fe, struct fe_vq *vq, uint16_t head)
{
	const struct fe_buf *b = &vq->bufs[vq->head_bufs[(size_t)head * vq->max_bufs]];
	struct vring_desc *d = &vq->desc[head];

	if (vq->split_hdr) {
		d[0].addr = b->gpa;
		d[0].len = fe->hdr_len;
		d[0].flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT;
		d[0].next = (uint16_t)(head + 1);
		d[1].addr = b->gpa + fe->hdr_len;
		d[1].len = vq->buf_size - fe->hdr_len;
		d[1].flags = VRING_DESC_F_WRITE;
		d[1].next = 0;
	} else {
		d->addr = b->gpa;
		d->len = vq->buf_size;
		d->flags = VRING_DESC_F_WRITE;
		d->next = 0;
	}
	vq->heads[head].inflight = true;
	VHU_WRITE_ONCE(vq->avail->ring[vq->avail_idx & (vq->num - 1)], head);
	vq->avail_idx++;
}

void fe_rx_post_all(struct vhu_fe *fe, struct fe_vq *vq)
{
	uint16_t old = vq->avail_idx;
	uint16_t step = vq->split_hdr ? 2 : 1;

	if (vq->packed) {
		fe_packed_rx_post_all(fe, vq);
		return;
	}
	/* Receive heads never move: head i*step always owns buffer i. */
	for (uint32_t i = 0; i < vq->nbufs; i++) {
		uint16_t head = (uint16_t)(i * step);
		vq->heads[head].ndesc = step;
		vq->heads[head].last = (uint16_t)(head + step - 1);
		vq->heads[head].nbufs = 1;
		vq->head_bufs[(size_t)head * vq->max_bufs] = i;
		rx_post(fe, vq, head);
	}
	vq->num_free = 0;
	fe_vq_publish(fe, vq, old);
}

void fe_pkt_set_offload(struct vhu_pkt *p, const struct virtio_net_hdr *h)
{
	p->ol.flags = h->flags;
	p->ol.gso_type = h->gso_type;
	p->ol.hdr_len = h->hdr_len;
	p->ol.gso_size = h->gso_size;
	p->ol.csum_start = h->csum_start;
	p->ol.csum_offset = h->csum_offset;
}

/* Copies the nb used entries in vq->scratch into segs. */
void fe_rx_copy(struct vhu_fe *fe, struct fe_vq *vq, uint16_t nb,
		struct vhu_pkt **segs, uint32_t nseg, uint32_t total)
{
	uint32_t s = 0;
	struct vhu_pkt *seg = segs[0];
	uint32_t room = vhu_pkt_tailroom(seg);

	for (uint16_t k = 0; k < nb; k++) {
		const struct vring_used_elem *e = &vq->scratch[k];
		const uint8_t *src = vq->bufs[vq->head_bufs[(size_t)e->id * vq->max_bufs]].va;
		uint32_t len = e->len;

		if (k == 0) {
			src += fe->hdr_len;
			len -= fe->hdr_len;
		}
		while (len) {
			if (seg->data_len == room) {
				seg = segs[++s];
				room = vhu_pkt_tailroom(seg);
			}
			uint32_t n = VHU_MIN(len, room - seg->data_len);
			memcpy(vhu_pkt_data(seg) + seg->data_len, src, n);
			seg->data_len += n;
			src += n;
			len -= n;
		}
	}
	for (uint32_t i = 0; i + 1 < nseg; i++)
		segs[i]->next = segs[i + 1];
	segs[0]->nb_segs = (uint16_t)nseg;
	segs[0]->pkt_len = total;
}

/* Gathers the nb entries of one packet into vq->scratch, marking their
 * heads taken. Returns the payload bytes, or -1 when an entry is bad
 * (unknown or repeated id, length beyond its buffer): the packet is then
 * dropped, the good heads re-posted. */
static int64_t rx_gather(struct vhu_fe *fe, struct fe_vq *vq, uint16_t nb)
{
	int64_t total = 0;
	bool bad = false;

	for (uint16_t k = 0; k < nb; k++) {
		const struct vring_used_elem *u =
			&vq->used->ring[(uint16_t)(vq->last_used + k) & (vq->num - 1)];
		struct vring_used_elem *e = &vq->scratch[k];

		e->id = VHU_READ_ONCE(u->id);
		e->len = VHU_READ_ONCE(u->len);
		if (!head_in_flight(vq, e->id)) {
			fe_vq_error(vq, "used id %u is not a posted buffer", e->id);
			e->id = UINT32_MAX;
			bad = true;
			continue;
		}
		vq->heads[e->id].inflight = false;
		if (e->len > vq->buf_size || (k == 0 && e->len < fe->hdr_len)) {
			fe_vq_error(vq, "used len %u of id %u outside 0..%u", e->len,
				    e->id, vq->buf_size);
			bad = true;
		}
		total += e->len;
	}
	return bad ? -1 : total - fe->hdr_len;
}

static void rx_ungather(struct fe_vq *vq, uint16_t nb)
{
	for (uint16_t k = 0; k < nb; k++)
		if (vq->scratch[k].id != UINT32_MAX)
			vq->heads[vq->scratch[k].id].inflight = true;
}

static void rx_repost(struct vhu_fe *fe, struct fe_vq *vq, uint16_t nb)
{
	for (uint16_t k = 0; k < nb; k++)
		if (vq->scratch[k].id != UINT32_MAX)
			rx_post(fe, vq, (uint16_t)vq->scratch[k].id);
}

VHU_EXPORT uint16_t vhu_fe_recv_burst(struct vhu_fe *fe, uint16_t qp,
				      struct vhu_pkt_pool *pool,
				      struct vhu_pkt **pkts, uint16_t n)
{
	struct fe_vq *vq;
	uint16_t got = 0, ready, old;
	uint32_t room;

	if (fe && unlikely(fe->backend_fd >= 0))
		fe_iotlb_serve(fe); /* misses first: the backend waits on them */
	if (!fe || qp >= fe->nqp || !pool || !pkts)
		return 0;
	vq = &fe->vqs[VHU_VRING_RX(qp)];
	if (vq->packed)
		return fe_packed_recv_burst(fe, vq, pool, pkts, n);
	room = vhu_pkt_pool_data_room(pool);
	old = vq->avail_idx;
	ready = fe_vq_used_ready(vq);
	while (got < n && ready > 0) {
		const struct vring_used_elem *u =
			&vq->used->ring[vq->last_used & (vq->num - 1)];
		uint32_t id = VHU_READ_ONCE(u->id);
		struct virtio_net_hdr_mrg_rxbuf hdr = { 0 };
		uint16_t nb = 1;
		bool drop = false;

		if (!head_in_flight(vq, id)) {
			fe_vq_error(vq, "used id %u is not a posted buffer", id);
			vq->last_used++;
			ready--;
			continue;
		}
		/* The buffer is shared: read the header once. */
		memcpy(&hdr, vq->bufs[vq->head_bufs[(size_t)id * vq->max_bufs]].va,
		       fe->hdr_len);
		if (fe->mrg_rxbuf)
			nb = hdr.num_buffers;
		if (nb == 0 || nb > vq->num) {
			fe_vq_error(vq, "num_buffers %u in a ring of %u", nb, vq->num);
			nb = 1;
			drop = true;
		} else if (nb > ready) {
			break; /* the rest of the packet is not published yet */
		}

		int64_t total = rx_gather(fe, vq, nb);
		uint32_t nseg = total > 0 ? (uint32_t)((total + room - 1) / room) : 1;
		struct vhu_pkt *segs[FE_MAX_RX_SEGS];

		if (total >= 0 && nseg > FE_MAX_RX_SEGS) {
			fe_vq_error(vq, "packet of %lld bytes needs %u segments",
				    (long long)total, nseg);
			total = -1;
		}
		if (total < 0 || drop) {
			rx_repost(fe, vq, nb);
			vq->last_used = (uint16_t)(vq->last_used + nb);
			ready = (uint16_t)(ready - nb);
			continue;
		}
		if (vhu_pkt_alloc_bulk(pool, segs, nseg) < 0) {
			rx_ungather(vq, nb); /* retried on the next call */
			break;
		}
		fe_rx_copy(fe, vq, nb, segs, nseg, (uint32_t)total);
		fe_pkt_set_offload(segs[0], &hdr.hdr);
		pkts[got++] = segs[0];
		vq->st.packets++;
		vq->st.bytes += (uint64_t)total;
		rx_repost(fe, vq, nb);
		vq->last_used = (uint16_t)(vq->last_used + nb);
		ready = (uint16_t)(ready - nb);
	}
	fe_vq_after_used(fe, vq);
	fe_vq_publish(fe, vq, old);
	return got;
}

/* ---- transmit ----------------------------------------------------------- */

void fe_tx_reclaim(struct vhu_fe *fe, struct fe_vq *vq)
{
	uint16_t ready = fe_vq_used_ready(vq);

	if (!ready)
		return;
	for (; ready; ready--, vq->last_used++) {
		uint32_t id = VHU_READ_ONCE(vq->used->ring[vq->last_used & (vq->num - 1)].id);
		if (!head_in_flight(vq, id)) {
			fe_vq_error(vq, "used id %u is not a posted chain", id);
			continue;
		}
		fe_vq_put_head(vq, (uint16_t)id);
	}
	fe_vq_after_used(fe, vq);
}

bool fe_tx_size(const struct vhu_fe *fe, struct fe_vq *vq, const struct vhu_pkt *p,
		struct fe_tx_size *sz)
{
	uint32_t len = 0, nsegs = 0;

	for (const struct vhu_pkt *s = p; s && len <= FE_MAX_PKT; s = s->next) {
		len += s->data_len;
		if (++nsegs > FE_MAX_PKT)
			break;
	}
	sz->len = len;
	sz->need = len + fe->hdr_len;
	sz->nb = (uint16_t)VHU_MIN((sz->need + vq->buf_size - 1) / vq->buf_size, 0xffffu);
	if (len > FE_MAX_PKT || nsegs > FE_MAX_PKT || sz->nb > vq->max_bufs) {
		fe_vq_error(vq, "packet of %u bytes does not fit %u buffers", len, vq->max_bufs);
		return false;
	}
	/* Descriptors: the header's own (split), then one per buffer with
	 * bytes of data. */
	sz->nsg = (uint16_t)(sz->nb + (vq->split_hdr && len > 0 && vq->buf_size > fe->hdr_len));
	return true;
}

/* Lays the packet out in buffers as [header | data ...] and describes it
 * in vq->sg. Returns the number of sg entries. */
uint16_t fe_tx_fill(struct vhu_fe *fe, struct fe_vq *vq, const struct vhu_pkt *p,
		    const uint32_t *bi, uint16_t nb, uint32_t need)
{
	struct virtio_net_hdr_mrg_rxbuf h = { 0 };
	const struct vhu_pkt *s = p;
	uint32_t soff = 0, hl = fe->hdr_len, bs = vq->buf_size;
	uint16_t k = 0;

	h.hdr.flags = p->ol.flags;
	h.hdr.gso_type = p->ol.gso_type;
	h.hdr.hdr_len = p->ol.hdr_len;
	h.hdr.gso_size = p->ol.gso_size;
	h.hdr.csum_start = p->ol.csum_start;
	h.hdr.csum_offset = p->ol.csum_offset;
	memcpy(vq->bufs[bi[0]].va, &h, hl);

	for (uint16_t j = 0; j < nb; j++) {
		const struct fe_buf *b = &vq->bufs[bi[j]];
		uint32_t start = j == 0 ? hl : 0;
		uint32_t end = VHU_MIN(bs, need - j * bs);

		for (uint32_t off = start; off < end;) {
			while (s && soff == s->data_len) {
				s = s->next;
				soff = 0;
			}
			if (!s)
				break; /* segments shrank under us: send what we have */
			uint32_t n = VHU_MIN(end - off, s->data_len - soff);
			memcpy(b->va + off, vhu_pkt_data(s) + soff, n);
			off += n;
			soff += n;
		}
		if (j == 0 && vq->split_hdr) {
			vq->sg[k++] = (struct vring_desc){ .addr = b->gpa, .len = hl };
			if (end > hl)
				vq->sg[k++] = (struct vring_desc){ .addr = b->gpa + hl,
								   .len = end - hl };
		} else {
			vq->sg[k++] = (struct vring_desc){ .addr = b->gpa, .len = end };
		}
	}
	return k;
}

static void tx_place(struct fe_vq *vq, uint16_t head, uint16_t nsg)
{
	struct vring_desc *t;
	uint16_t idx = head;

	if (vq->indirect) {
		t = &vq->indir[(size_t)head * vq->indir_n];
		for (uint16_t k = 0; k < nsg; k++) {
			t[k] = vq->sg[k];
			t[k].flags = k + 1 < nsg ? VRING_DESC_F_NEXT : 0;
			t[k].next = k + 1 < nsg ? (uint16_t)(k + 1) : 0;
		}
		vq->desc[head].addr = vq->indir_gpa +
				      (uint64_t)head * vq->indir_n * sizeof(*t);
		vq->desc[head].len = (uint32_t)(nsg * sizeof(*t));
		vq->desc[head].flags = VRING_DESC_F_INDIRECT;
		vq->desc[head].next = 0;
		return;
	}
	for (uint16_t k = 0; k < nsg; k++) {
		struct vring_desc *d = &vq->desc[idx];
		d->addr = vq->sg[k].addr;
		d->len = vq->sg[k].len;
		d->flags = k + 1 < nsg ? VRING_DESC_F_NEXT : 0;
		d->next = k + 1 < nsg ? vq->free_next[idx] : 0;
		idx = vq->free_next[idx];
	}
}

VHU_EXPORT uint16_t vhu_fe_send_burst(struct vhu_fe *fe, uint16_t qp,
				      struct vhu_pkt *const *pkts, uint16_t n)
{
	struct fe_vq *vq;
	uint16_t sent = 0, old;

	if (fe && unlikely(fe->backend_fd >= 0))
		fe_iotlb_serve(fe); /* misses first: the backend waits on them */
	if (!fe || qp >= fe->nqp || !pkts)
		return 0;
	vq = &fe->vqs[VHU_VRING_TX(qp)];
	if (vq->packed)
		return fe_packed_send_burst(fe, vq, pkts, n);
	fe_tx_reclaim(fe, vq);
	old = vq->avail_idx;
	for (; sent < n; sent++) {
		const struct vhu_pkt *p = pkts[sent];
		struct fe_tx_size sz;

		if (!fe_tx_size(fe, vq, p, &sz))
			continue;
		uint32_t len = sz.len, need = sz.need;
		uint16_t nb = sz.nb, nsg = sz.nsg;
		if (vq->num_free < (vq->indirect ? 1 : nsg) || vq->buf_free_n < nb)
			break;

		uint16_t head = fe_vq_take_descs(vq, vq->indirect ? 1 : nsg);
		uint32_t *bi = &vq->head_bufs[(size_t)head * vq->max_bufs];
		for (uint16_t j = 0; j < nb; j++)
			bi[j] = vq->buf_free[--vq->buf_free_n];
		vq->heads[head].nbufs = nb;
		vq->heads[head].inflight = true;
		tx_place(vq, head, fe_tx_fill(fe, vq, p, bi, nb, need));
		VHU_WRITE_ONCE(vq->avail->ring[vq->avail_idx & (vq->num - 1)], head);
		vq->avail_idx++;
		vq->st.packets++;
		vq->st.bytes += len;
	}
	fe_vq_publish(fe, vq, old);
	return sent;
}
