/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packed virtqueues, driver side (virtio 1.2, 2.8): one descriptor ring,
 * descriptors made available with AVAIL = our wrap counter and USED = its
 * inverse, the head descriptor's flags written last; used descriptors read
 * back at our used position (AVAIL = USED = the used wrap counter), each
 * skipping the descriptors its buffer took. Buffer ids and what each holds
 * live in private memory; everything read from the ring is checked.
 *
 * Call suppression: the driver event structure says ENABLE, DISABLE (poll
 * mode) or, with EVENT_IDX, DESC at our used position, so backends' event
 * index logic gets exercised. Kicks: unless the backend's device event
 * structure says DISABLE (DESC is answered with a kick: always correct).
 */
#include <errno.h>
#include <string.h>
#include <linux/virtio_net.h>
#include "common/compiler.h"
#include "common/log.h"
#include "frontend/fe_priv.h"

#define F_AVAIL ((uint16_t)(1u << VRING_PACKED_DESC_F_AVAIL))
#define F_USED  ((uint16_t)(1u << VRING_PACKED_DESC_F_USED))
/* A received packet longer than this many pool segments is dropped. */
#define FE_MAX_RX_SEGS 128u

int fe_packed_ring_alloc(struct vhu_fe *fe, struct fe_vq *vq, unsigned hint)
{
	uint64_t gpa;

	vq->packed = true;
	vq->pdesc = fe_mem_alloc(fe, 16ull * vq->num, 64, hint, &gpa);
	vq->drv_event = fe_mem_alloc(fe, 4, 64, hint + 1, &gpa);
	vq->dev_event = fe_mem_alloc(fe, 4, 64, hint + 2, &gpa);
	if (!vq->pdesc || !vq->drv_event || !vq->dev_event)
		return -ENOMEM;
	memset(vq->pdesc, 0, 16ull * vq->num);
	vq->drv_event->off_wrap = 0;
	vq->drv_event->flags = fe->opts.poll_mode ? VRING_PACKED_EVENT_FLAG_DISABLE
				: fe->event_idx ? VRING_PACKED_EVENT_FLAG_DESC
				: VRING_PACKED_EVENT_FLAG_ENABLE;
	vq->avail_idx = 0;
	vq->last_used = 0;
	vq->avail_wrap = true;
	vq->used_wrap = true;
	return 0;
}

static inline void pos_add(const struct fe_vq *vq, uint16_t *idx, bool *wrap, uint16_t n)
{
	uint32_t i = (uint32_t)*idx + n;

	while (i >= vq->num) {
		i -= vq->num;
		*wrap = !*wrap;
	}
	*idx = (uint16_t)i;
}

void fe_packed_after_used(struct vhu_fe *fe, struct fe_vq *vq)
{
	if (!fe->event_idx || fe->opts.poll_mode)
		return;
	/* Signal us once the backend writes a used descriptor here. */
	VHU_WRITE_ONCE(vq->drv_event->off_wrap,
		       (uint16_t)(vq->last_used | (uint16_t)vq->used_wrap << 15));
	/* Visible before we look at the ring again, so a used descriptor
	 * written meanwhile is either seen or signalled. */
	vhu_smp_mb();
}

/* The used descriptor at (idx, wrap), if the backend wrote one. */
static bool used_at(const struct fe_vq *vq, uint16_t idx, bool wrap, uint16_t *id,
		    uint32_t *len)
{
	const struct vring_packed_desc *d = &vq->pdesc[idx];
	uint16_t f = VHU_LOAD_ACQ(d->flags);

	if (!!(f & F_AVAIL) != wrap || !!(f & F_USED) != wrap)
		return false;
	*id = VHU_READ_ONCE(d->id);
	*len = VHU_READ_ONCE(d->len);
	return true;
}

/* Makes nsg descriptors (addr, len, flags from sg) available as buffer id,
 * the first one's flags last. */
static void place(struct fe_vq *vq, const struct vring_desc *sg, uint16_t nsg, uint16_t id)
{
	uint16_t head = vq->avail_idx, idx = head, head_flags = 0;
	bool wrap = vq->avail_wrap;

	for (uint16_t k = 0; k < nsg; k++) {
		struct vring_packed_desc *d = &vq->pdesc[idx];
		uint16_t f = (uint16_t)(sg[k].flags | (k + 1 < nsg ? VRING_DESC_F_NEXT : 0) |
					(wrap ? F_AVAIL : F_USED));
		d->addr = sg[k].addr;
		d->len = sg[k].len;
		d->id = id;
		if (k == 0)
			head_flags = f;
		else
			VHU_WRITE_ONCE(d->flags, f);
		pos_add(vq, &idx, &wrap, 1);
	}
	VHU_STORE_REL(vq->pdesc[head].flags, head_flags);
	vq->avail_idx = idx;
	vq->avail_wrap = wrap;
	vq->num_free = (uint16_t)(vq->num_free - nsg);
}

static void kick_maybe(struct fe_vq *vq)
{
	/* Our descriptors before the backend's wish, or both sides may
	 * decide not to notify. */
	vhu_smp_mb();
	if (VHU_READ_ONCE(vq->dev_event->flags) == VRING_PACKED_EVENT_FLAG_DISABLE)
		vq->st.kicks_suppressed++;
	else
		fe_vq_kick(vq);
}

/* ---- receive ---------------------------------------------------------- */

static void rx_post(struct vhu_fe *fe, struct fe_vq *vq, uint16_t id)
{
	const struct fe_buf *b = &vq->bufs[vq->head_bufs[(size_t)id * vq->max_bufs]];
	struct vring_desc sg[2];
	uint16_t nsg = 1;

	if (vq->split_hdr) {
		sg[0] = (struct vring_desc){ .addr = b->gpa, .len = fe->hdr_len,
					     .flags = VRING_DESC_F_WRITE };
		sg[1] = (struct vring_desc){ .addr = b->gpa + fe->hdr_len,
					     .len = vq->buf_size - fe->hdr_len,
					     .flags = VRING_DESC_F_WRITE };
		nsg = 2;
	} else {
		sg[0] = (struct vring_desc){ .addr = b->gpa, .len = vq->buf_size,
					     .flags = VRING_DESC_F_WRITE };
	}
	vq->heads[id].inflight = true;
	place(vq, sg, nsg, id);
}

void fe_packed_rx_post_all(struct vhu_fe *fe, struct fe_vq *vq)
{
	uint16_t step = vq->split_hdr ? 2 : 1;

	/* Receive buffer i is always id i, taking `step` descriptors. */
	for (uint32_t i = 0; i < vq->nbufs; i++) {
		vq->heads[i].ndesc = step;
		vq->heads[i].nbufs = 1;
		vq->head_bufs[(size_t)i * vq->max_bufs] = i;
		rx_post(fe, vq, (uint16_t)i);
	}
	if (vq->nbufs)
		kick_maybe(vq);
}

static bool rx_id_ok(const struct fe_vq *vq, uint16_t id)
{
	return id < vq->nbufs && vq->heads[id].inflight;
}

uint16_t fe_packed_recv_burst(struct vhu_fe *fe, struct fe_vq *vq,
			      struct vhu_pkt_pool *pool, struct vhu_pkt **pkts,
			      uint16_t n)
{
	uint16_t step = vq->split_hdr ? 2 : 1, got = 0, posted = 0;
	uint32_t room = vhu_pkt_pool_data_room(pool);

	while (got < n) {
		struct virtio_net_hdr_mrg_rxbuf hdr = { 0 };
		uint16_t id, nb = 1, idx = vq->last_used;
		uint32_t len;
		bool wrap = vq->used_wrap, bad = false;

		if (!used_at(vq, idx, wrap, &id, &len))
			break;
		if (!rx_id_ok(vq, id)) {
			/* Receive buffers all take `step` descriptors: skip it. */
			fe_vq_error(vq, "used id %u is not a posted buffer", id);
			pos_add(vq, &vq->last_used, &vq->used_wrap, step);
			continue;
		}
		memcpy(&hdr, vq->bufs[vq->head_bufs[(size_t)id * vq->max_bufs]].va,
		       fe->hdr_len);
		if (fe->mrg_rxbuf)
			nb = hdr.num_buffers;
		if (nb == 0 || nb > vq->nbufs) {
			fe_vq_error(vq, "num_buffers %u with %u buffers posted", nb, vq->nbufs);
			nb = 1;
			bad = true;
		}
		/* All of the packet's used descriptors, or wait for them. */
		uint16_t k;
		int64_t total = 0;
		for (k = 0; k < nb; k++) {
			struct vring_used_elem *e = &vq->scratch[k];
			uint16_t kid;
			uint32_t klen;
			if (!used_at(vq, idx, wrap, &kid, &klen))
				break;
			e->id = kid;
			e->len = klen;
			pos_add(vq, &idx, &wrap, step);
		}
		if (k < nb)
			break; /* the rest is not written yet */
		for (k = 0; k < nb; k++) {
			struct vring_used_elem *e = &vq->scratch[k];
			if (!rx_id_ok(vq, (uint16_t)e->id)) {
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
		total -= fe->hdr_len;
		uint32_t nseg = total > 0 ? (uint32_t)((total + room - 1) / room) : 1;
		struct vhu_pkt *segs[FE_MAX_RX_SEGS];
		if (!bad && nseg > FE_MAX_RX_SEGS) {
			fe_vq_error(vq, "packet of %lld bytes needs %u segments",
				    (long long)total, nseg);
			bad = true;
		}
		if (!bad && vhu_pkt_alloc_bulk(pool, segs, nseg) < 0) {
			for (k = 0; k < nb; k++) /* retried on the next call */
				vq->heads[vq->scratch[k].id].inflight = true;
			break;
		}
		if (!bad) {
			fe_rx_copy(fe, vq, nb, segs, nseg, (uint32_t)total);
			fe_pkt_set_offload(segs[0], &hdr.hdr);
			pkts[got++] = segs[0];
			vq->st.packets++;
			vq->st.bytes += (uint64_t)total;
		}
		vq->last_used = idx;
		vq->used_wrap = wrap;
		for (k = 0; k < nb; k++) {
			if (vq->scratch[k].id != UINT32_MAX) {
				rx_post(fe, vq, (uint16_t)vq->scratch[k].id);
				posted++;
			}
		}
	}
	fe_packed_after_used(fe, vq);
	if (posted)
		kick_maybe(vq);
	return got;
}

/* ---- transmit ----------------------------------------------------------- */

static void tx_reclaim(struct vhu_fe *fe, struct fe_vq *vq)
{
	uint16_t id;
	uint32_t len;
	bool any = false;

	while (used_at(vq, vq->last_used, vq->used_wrap, &id, &len)) {
		if (id >= vq->num || !vq->heads[id].inflight) {
			/* How far to skip is unknown: stop here. */
			fe_vq_error(vq, "used id %u is not a posted chain", id);
			break;
		}
		struct fe_head *h = &vq->heads[id];
		const uint32_t *b = &vq->head_bufs[(size_t)id * vq->max_bufs];
		pos_add(vq, &vq->last_used, &vq->used_wrap, h->ndesc);
		vq->num_free = (uint16_t)(vq->num_free + h->ndesc);
		for (uint16_t i = 0; i < h->nbufs; i++)
			vq->buf_free[vq->buf_free_n++] = b[i];
		h->nbufs = 0;
		h->ndesc = 0;
		h->inflight = false;
		vq->free_next[id] = vq->free_head;
		vq->free_head = id;
		vq->ids_free++;
		any = true;
	}
	if (any)
		fe_packed_after_used(fe, vq);
}

uint16_t fe_packed_send_burst(struct vhu_fe *fe, struct fe_vq *vq,
			      struct vhu_pkt *const *pkts, uint16_t n)
{
	uint16_t sent = 0, placed = 0;

	tx_reclaim(fe, vq);
	for (; sent < n; sent++) {
		const struct vhu_pkt *p = pkts[sent];
		struct fe_tx_size sz;
		uint16_t slots;

		if (!fe_tx_size(fe, vq, p, &sz))
			continue;
		uint32_t len = sz.len, need = sz.need;
		uint16_t nb = sz.nb, nsg = sz.nsg;
		slots = vq->indirect ? 1 : nsg;
		if (vq->num_free < slots || vq->ids_free == 0 || vq->buf_free_n < nb)
			break;

		uint16_t id = vq->free_head;
		vq->free_head = vq->free_next[id];
		vq->ids_free--;
		uint32_t *bi = &vq->head_bufs[(size_t)id * vq->max_bufs];
		for (uint16_t j = 0; j < nb; j++)
			bi[j] = vq->buf_free[--vq->buf_free_n];
		vq->heads[id].nbufs = nb;
		vq->heads[id].ndesc = slots;
		vq->heads[id].inflight = true;
		nsg = fe_tx_fill(fe, vq, p, bi, nb, need);
		if (vq->indirect) {
			struct vring_packed_desc *t =
				(struct vring_packed_desc *)(void *)&vq->indir[(size_t)id * vq->indir_n];
			for (uint16_t k = 0; k < nsg; k++)
				t[k] = (struct vring_packed_desc){ .addr = vq->sg[k].addr,
								   .len = vq->sg[k].len };
			struct vring_desc d = {
				.addr = vq->indir_gpa + (uint64_t)id * vq->indir_n * sizeof(*t),
				.len = (uint32_t)(nsg * sizeof(*t)),
				.flags = VRING_DESC_F_INDIRECT,
			};
			place(vq, &d, 1, id);
		} else {
			place(vq, vq->sg, nsg, id);
		}
		placed++;
		vq->st.packets++;
		vq->st.bytes += len;
	}
	if (placed)
		kick_maybe(vq);
	return sent;
}
