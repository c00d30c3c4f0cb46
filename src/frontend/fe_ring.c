/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueues, driver side: layout in guest memory, the private
 * descriptor free list, publishing avail entries and deciding whether the
 * backend wants a kick (VRING_USED_F_NO_NOTIFY, or avail_event with
 * EVENT_IDX).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <linux/virtio_net.h>
#include "common/compiler.h"
#include "common/log.h"
#include "frontend/fe_priv.h"

/* Buffers are carved in chunks that rotate over the regions, so one
 * packet's buffers may sit in different regions. */
#define FE_BUF_CHUNK 64u

void fe_vq_error(struct fe_vq *vq, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	vq->st.errors++;
	/* A hostile backend could make every burst fail: keep the log short. */
	if (vq->err_logged++ >= 8)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	VHU_ERR("fe: vring %u: %s", vq->index, buf);
}

static int alloc_bufs(struct vhu_fe *fe, struct fe_vq *vq, unsigned hint)
{
	for (uint32_t i = 0; i < vq->nbufs; i += FE_BUF_CHUNK) {
		uint32_t n = VHU_MIN(FE_BUF_CHUNK, vq->nbufs - i);
		uint64_t gpa;
		uint8_t *va = fe_mem_alloc(fe, (uint64_t)n * vq->buf_size, 64,
					   hint + i / FE_BUF_CHUNK, &gpa);
		if (!va)
			return -ENOMEM;
		for (uint32_t k = 0; k < n; k++) {
			vq->bufs[i + k].va = va + (uint64_t)k * vq->buf_size;
			vq->bufs[i + k].gpa = gpa + (uint64_t)k * vq->buf_size;
		}
	}
	return 0;
}

int fe_vq_init(struct vhu_fe *fe, struct fe_vq *vq, uint16_t index)
{
	uint16_t num = fe->opts.ring_size;
	bool any_layout = fe_has(fe->features, VIRTIO_F_VERSION_1) ||
			  fe_has(fe->features, VIRTIO_F_ANY_LAYOUT);
	unsigned hint = index * 3u;
	uint64_t gpa;

	vq->index = index;
	vq->num = num;
	vq->tx = index & 1;
	vq->kickfd = vq->callfd = -1;
	vq->buf_size = fe->opts.buf_size;
	vq->split_hdr = !any_layout ||
			(vq->tx ? fe->opts.tx_split_hdr : fe->opts.rx_split_hdr);
	vq->indirect = vq->tx && fe->opts.tx_indirect &&
		       fe_has(fe->features, VIRTIO_RING_F_INDIRECT_DESC);
	if (vq->tx) {
		uint32_t m = (FE_MAX_PKT + fe->hdr_len + vq->buf_size - 1) / vq->buf_size;
		/* A direct chain cannot be longer than the ring. */
		if (!vq->indirect && m + vq->split_hdr > num)
			m = num - vq->split_hdr;
		vq->max_bufs = (uint16_t)m;
		vq->nbufs = 2u * num;
	} else {
		vq->max_bufs = 1;
		vq->nbufs = vq->split_hdr ? num / 2u : num;
	}

	if (fe->packed) {
		if (fe_packed_ring_alloc(fe, vq, hint) < 0)
			return -ENOMEM;
	} else {
		vq->desc = fe_mem_alloc(fe, 16ull * num, 64, hint, &gpa);
		vq->avail = fe_mem_alloc(fe, 6ull + 2ull * num, 64, hint + 1, &gpa);
		vq->used = fe_mem_alloc(fe, 6ull + 8ull * num, 64, hint + 2, &gpa);
		if (!vq->desc || !vq->avail || !vq->used)
			return -ENOMEM;
		vq->used_event = &vq->avail->ring[num];
		vq->avail_event = (uint16_t *)(void *)&vq->used->ring[num];
	}

	vq->free_next = calloc(num, sizeof(*vq->free_next));
	vq->heads = calloc(num, sizeof(*vq->heads));
	vq->head_bufs = calloc((size_t)num * vq->max_bufs, sizeof(*vq->head_bufs));
	vq->bufs = calloc(vq->nbufs, sizeof(*vq->bufs));
	vq->buf_free = calloc(vq->nbufs, sizeof(*vq->buf_free));
	if (vq->tx)
		vq->sg = calloc(vq->max_bufs + 1u, sizeof(*vq->sg));
	else
		vq->scratch = calloc(num, sizeof(*vq->scratch));
	if (!vq->free_next || !vq->heads || !vq->head_bufs || !vq->bufs ||
	    !vq->buf_free || !(vq->tx ? (void *)vq->sg : (void *)vq->scratch))
		return -ENOMEM;
	if (alloc_bufs(fe, vq, hint + 3) < 0)
		return -ENOMEM;
	if (vq->indirect) {
		vq->indir_n = (uint16_t)(vq->max_bufs + 1);
		vq->indir = fe_mem_alloc(fe, 16ull * num * vq->indir_n, 64,
					 hint + 2, &vq->indir_gpa);
		if (!vq->indir)
			return -ENOMEM;
	}

	for (uint16_t i = 0; i < num; i++)
		vq->free_next[i] = (uint16_t)(i + 1 < num ? i + 1 : 0);
	vq->free_head = 0;
	vq->num_free = num;
	vq->ids_free = num;
	for (uint32_t i = 0; i < vq->nbufs; i++)
		vq->buf_free[i] = vq->nbufs - 1 - i;
	vq->buf_free_n = vq->nbufs;

	if (fe->opts.poll_mode && !vq->packed)
		VHU_WRITE_ONCE(vq->avail->flags, (uint16_t)VRING_AVAIL_F_NO_INTERRUPT);
	fe_vq_after_used(fe, vq);

	vq->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	vq->callfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vq->kickfd < 0 || vq->callfd < 0)
		return -errno;
	return 0;
}

void fe_vq_fini(struct fe_vq *vq)
{
	if (vq->kickfd >= 0)
		close(vq->kickfd);
	if (vq->callfd >= 0)
		close(vq->callfd);
	vq->kickfd = vq->callfd = -1;
	free(vq->free_next);
	free(vq->heads);
	free(vq->head_bufs);
	free(vq->bufs);
	free(vq->buf_free);
	free(vq->scratch);
	free(vq->sg);
	vq->sg = NULL;
	vq->free_next = NULL;
	vq->heads = NULL;
	vq->head_bufs = NULL;
	vq->bufs = NULL;
	vq->buf_free = NULL;
	vq->scratch = NULL;
}

uint16_t fe_vq_used_ready(struct fe_vq *vq)
{
	/* Acquire: the used entries and the buffers they describe were
	 * written before the backend released this index. */
	uint16_t idx = VHU_LOAD_ACQ(vq->used->idx);
	uint16_t n = (uint16_t)(idx - vq->last_used);

	if (unlikely(n > vq->num)) {
		fe_vq_error(vq, "used idx %u is %u ahead of %u, ring has %u",
			    idx, n, vq->last_used, vq->num);
		return 0;
	}
	return n;
}

uint16_t fe_vq_take_descs(struct fe_vq *vq, uint16_t n)
{
	uint16_t head = vq->free_head, last = head;

	for (uint16_t i = 1; i < n; i++)
		last = vq->free_next[last];
	vq->free_head = vq->free_next[last];
	vq->num_free = (uint16_t)(vq->num_free - n);
	vq->heads[head].ndesc = n;
	vq->heads[head].last = last;
	return head;
}

void fe_vq_put_head(struct fe_vq *vq, uint16_t head)
{
	struct fe_head *h = &vq->heads[head];
	const uint32_t *b = &vq->head_bufs[(size_t)head * vq->max_bufs];

	vq->free_next[h->last] = vq->free_head;
	vq->free_head = head;
	vq->num_free = (uint16_t)(vq->num_free + h->ndesc);
	for (uint16_t i = 0; i < h->nbufs; i++)
		vq->buf_free[vq->buf_free_n++] = b[i];
	h->nbufs = 0;
	h->ndesc = 0;
	h->inflight = false;
}

void fe_vq_kick(struct fe_vq *vq)
{
	uint64_t one = 1;

	if (write(vq->kickfd, &one, sizeof(one)) == (ssize_t)sizeof(one))
		vq->st.kicks++;
}

void fe_vq_publish(struct vhu_fe *fe, struct fe_vq *vq, uint16_t old_idx)
{
	bool kick;

	if (vq->avail_idx == old_idx)
		return;
	/* Release: descriptors and avail ring entries before the index. */
	VHU_STORE_REL(vq->avail->idx, vq->avail_idx);
	/* The index store must be visible before we read the backend's
	 * notification state, or both sides may decide not to notify. */
	vhu_smp_mb();
	if (fe->event_idx)
		kick = vring_need_event(VHU_READ_ONCE(*vq->avail_event),
					vq->avail_idx, old_idx);
	else
		kick = !(VHU_READ_ONCE(vq->used->flags) & VRING_USED_F_NO_NOTIFY);
	if (kick)
		fe_vq_kick(vq);
	else
		vq->st.kicks_suppressed++;
}

void fe_vq_after_used(struct vhu_fe *fe, struct fe_vq *vq)
{
	if (vq->packed) {
		fe_packed_after_used(fe, vq);
		return;
	}
	if (!fe->event_idx)
		return;
	/* Poll mode puts used_event half the index space ahead, where the
	 * backend's used index never catches up with it. */
	uint16_t ev = fe->opts.poll_mode ? (uint16_t)(vq->last_used + 0x8000)
					 : vq->last_used;
	VHU_WRITE_ONCE(*vq->used_event, ev);
	/* Visible before we look at the used index again, so an entry added
	 * meanwhile is either seen or signalled. */
	vhu_smp_mb();
}
