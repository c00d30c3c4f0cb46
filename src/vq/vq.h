/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One virtqueue as the backend sees it.
 *
 * Ownership: the control thread (event loop) writes configuration only
 * while holding `lock`; a data-path burst holds `lock` (trylock, once per
 * burst) for as long as it touches the ring. `active` sums up whether a
 * burst may run: addresses translated, started (kick fd received),
 * enabled, not broken. A queue that met malformed input becomes `broken`
 * and stays so until the frontend stops and restarts it.
 *
 * A vring carries what it needs from the layers below it (its memory map,
 * the device's IOTLB and backend channel, the device's dirty log, a name
 * for log lines), so the ring code never reaches up to the device that
 * owns it.
 */
#ifndef VHU_VQ_VQ_H
#define VHU_VQ_VQ_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/vhost_types.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <vhu/vhu.h>
#include "common/compiler.h"
#include "common/spinlock.h"
#include "mem/dirty_log.h"
#include "mem/iotlb.h"
#include "mem/memmap.h"
#include "proto/backend_chan.h"

struct vhu_held;

/* One host-contiguous piece of a descriptor buffer. */
struct vhu_iov {
	uint8_t *base;
	uint32_t len;
	uint64_t gpa; /* for dirty logging: the descriptor's address (an IOVA with ACCESS_PLATFORM) */
};

/* One used buffer of a packed ring, before write-back: its id, the bytes
 * written and how many ring descriptors it took. */
struct vhu_packed_used {
	uint16_t id;
	uint16_t ndesc;
	uint32_t len;
};

/* Longest chain a packet may use; longer (legal but absurd) chains are
 * dropped, not parsed. */
#define VHU_MAX_IOV 256

struct vhu_vq {
	vhu_spinlock_t lock;

	/* -- read by the data path under lock -------------------------- */
	bool active;
	bool broken;
	uint16_t size;             /* entries */
	uint16_t last_avail_idx;   /* next avail entry to take */
	uint16_t last_used_idx;    /* next used entry to write */
	uint16_t signalled_used;   /* EVENT_IDX: used idx at last call */
	bool signalled_used_valid;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	const struct vhu_memmap *mem;
	/* The device's with VIRTIO_F_ACCESS_PLATFORM: ring and buffer
	 * addresses are IOVAs, translated through it (mem/iotlb.h). NULL
	 * otherwise: buffer addresses are GPAs, ring addresses frontend VAs. */
	const struct vhu_iotlb *iotlb;
	struct vhu_backend_chan *chan; /* the device's: IOTLB misses go there */
	const struct vhu_dirty_log *log; /* the device's; see mem/dirty_log.h */
	const char *name;          /* the device's, for log lines */
	uint64_t features;         /* negotiated, copied for the hot path */
	uint32_t hdr_len;          /* virtio-net header bytes */
	int callfd;
	uint16_t index;
	bool guest_notify;         /* guest asked to kick us */
	bool hdr_warned;           /* a bad offload header was logged at WARN */

	/* Packed ring (VIRTIO_F_RING_PACKED): desc/avail/used above stay
	 * NULL. last_avail_idx and last_used_idx are ring positions
	 * (0..size-1) with their wrap counters beside them. */
	struct vring_packed_desc *desc_packed;
	struct vring_packed_desc_event *driver_event; /* written by the guest */
	struct vring_packed_desc_event *device_event; /* written by us */
	bool avail_wrap;
	bool used_wrap;
	uint64_t desc_gpa;         /* for logging used-descriptor writes */

	/* -- control-path configuration -------------------------------- */
	bool started;              /* kick fd received (or NOFD) */
	bool enabled;
	bool addr_set;
	int kickfd;
	int errfd;
	struct vhost_vring_addr addr; /* as the frontend sent it */
	uint64_t used_gpa;         /* for logging used-ring writes */
	void *inflight;            /* this vring's INFLIGHT_SHMFD region, or NULL */
	uint16_t inflight_room;    /* entries that region has room for */
	uint64_t inflight_counter; /* order in which heads were taken */
	/* Zero-copy transmit vrings (VHU_DEQUEUE_ZERO_COPY): the buffers
	 * packets still refer to (vq/held.h); NULL otherwise. Set at
	 * creation, freed with the vring. */
	struct vhu_held *held;

	/* -- counters, written by the data path only -------------------- */
	struct vhu_vring_stats stats __vhu_cache_aligned;

	/* Shadow used entries written back once per burst. */
	struct vring_used_elem shadow[VHU_MAX_BURST];
	struct vhu_packed_used shadow_packed[VHU_MAX_BURST];
	struct vhu_iov iov[VHU_MAX_IOV];
} __vhu_cache_aligned;

/* name and log belong to the owner and must outlive the vring. */
struct vhu_vq *vhu_vq_new(uint16_t index, const char *name, const struct vhu_dirty_log *log);
void vhu_vq_free(struct vhu_vq *vq);
/* Takes m (NULL: none yet) as the vring's memory map and translates the
 * ring addresses with it; false (and a log line) when they do not fall
 * inside it. */
bool vhu_vq_translate(struct vhu_vq *vq, const struct vhu_memmap *m) VHU_REQUIRES(vq->lock);
/* Recomputes `active` from the configuration. */
void vhu_vq_update_active(struct vhu_vq *vq) VHU_REQUIRES(vq->lock);
/* Marks the queue broken with a log line saying why. */
void vhu_vq_break(struct vhu_vq *vq, const char *fmt, ...)
	VHU_REQUIRES(vq->lock) __attribute__((format(printf, 2, 3)));
/* Applies the current notification wish to the ring (used->flags /
 * avail_event). */
void vhu_vq_apply_notify(struct vhu_vq *vq) VHU_REQUIRES(vq->lock);

/* A vring's counters have one writer, the thread bursting on it (or the
 * control thread with the vring locked), and are read from any thread by
 * vhu_vring_get_stats: the writer reads plainly and stores atomically. */
#define VHU_STAT_ADD(field, n) \
	__atomic_store_n(&(field), (field) + (n), __ATOMIC_RELAXED)

/* ---- addresses a guest puts in a vring ------------------------------- */
/* The rights a buffer needs: the device writes receive buffers. */
static inline uint8_t vhu_vq_perm(bool writable)
{
	return writable ? VHOST_ACCESS_WO : VHOST_ACCESS_RO;
}

/* Asks the frontend (backend channel) for the IOTLB entry of iova alone,
 * counting it in the vring's iotlb_misses when it went out. */
void vhu_vq_iotlb_ask(struct vhu_vq *vq, uint64_t iova, uint8_t perm)
	VHU_REQUIRES(vq->lock);
/* Asks the frontend (backend channel) for the IOTLB entry of iova, and for
 * those of the next buffers the guest made available that miss too
 * (src/vq/iotlb_miss.c). The caller leaves the buffer for a later burst. */
void vhu_vq_iotlb_miss(struct vhu_vq *vq, uint64_t iova, uint8_t perm)
	VHU_REQUIRES(vq->lock);
/* Only the asking for the next buffers (after an invalidation: a guest
 * unmapping a used buffer may take its neighbours' pages along). */
void vhu_vq_iotlb_ahead(struct vhu_vq *vq) VHU_REQUIRES(vq->lock);

/* Our pointer for [addr, addr + *len) as far as it stays in one piece
 * (*len cut to it): addr is a GPA, or an IOVA with ACCESS_PLATFORM. NULL
 * with *why: VHU_XLATE_MISS (ask the frontend, retry later) or
 * VHU_XLATE_BAD (outside guest memory: the guest's error). Off the
 * IOMMU, one predictable branch on top of the memmap lookup. */
static inline void *vhu_vq_piece(const struct vhu_vq *vq, uint64_t addr, uint64_t *len,
				 bool writable, enum vhu_xlate *why) VHU_REQUIRES(vq->lock)
{
	if (likely(!vq->iotlb)) {
		*why = VHU_XLATE_BAD;
		return vhu_gpa_piece(vq->mem, addr, len);
	}
	return vhu_iotlb_piece(vq->iotlb, vq->mem, addr, len, vhu_vq_perm(writable),
			       why);
}

/* The whole of [addr, addr+len) contiguous in our memory (indirect
 * tables), else NULL with *why as vhu_vq_piece; *fail is the IOVA to ask
 * for on a miss. */
static inline void *vhu_vq_span(const struct vhu_vq *vq, uint64_t addr, uint64_t len,
				uint8_t perm, enum vhu_xlate *why, uint64_t *fail)
	VHU_REQUIRES(vq->lock)
{
	if (likely(!vq->iotlb)) {
		*why = VHU_XLATE_BAD;
		return vhu_gpa_to_hva(vq->mem, addr, len);
	}
	return vhu_iotlb_span(vq->iotlb, vq->mem, addr, len, perm, why, fail);
}

/* As vhu_gpa_to_hva_hint with the IOTLB (tlb: the vring's, loaded once
 * per burst; NULL off the IOMMU, the branch then always goes one way). */
static inline void *vhu_vq_to_hva_hint(const struct vhu_memmap *m, const struct vhu_iotlb *tlb,
				       struct vhu_gpa_hint *h, uint64_t addr, uint64_t len,
				       bool writable)
{
	if (likely(!tlb))
		return vhu_gpa_to_hva_hint(m, h, addr, len);
	uint64_t off = addr - h->gpa;
	if (likely(off < h->size && len <= h->size - off))
		return h->hva + off;
	return vhu_iotlb_hint(tlb, m, h, addr, len, vhu_vq_perm(writable));
}

/* Whether writes into guest memory must be marked in the dirty log. */
static inline bool vhu_vq_logging(const struct vhu_vq *vq) VHU_REQUIRES(vq->lock)
{
	return unlikely(vq->log->bitmap != NULL) && (vq->features & (1ULL << VHOST_F_LOG_ALL));
}

/* Marks [addr, addr+len) of a buffer written in the dirty log: addr as
 * the descriptor gave it, a GPA, or with ACCESS_PLATFORM an IOVA that is
 * translated for the log (indexed by GPA). Call when vhu_vq_logging. */
static inline void vhu_vq_log_buf(const struct vhu_vq *vq, uint64_t addr, uint64_t len)
	VHU_REQUIRES(vq->lock)
{
	if (likely(!vq->iotlb))
		vhu_dirty_log_mark(vq->log, addr, len);
	else
		vhu_iotlb_log_mark(vq->iotlb, vq->mem, vq->log, addr, len);
}

/* EVENT_IDX: avail_event lives right after the used ring's entries. */
static inline void vhu_vq_set_avail_event(struct vhu_vq *vq, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)&vq->used->ring[vq->size], v,
			 __ATOMIC_RELEASE);
}

/* Copies guest memory byte by byte through volatile, so each byte is read
 * exactly once even where the source is not aligned for wider loads (an
 * indirect table may sit at any guest address). Slow; only for that case. */
static inline void vhu_copy_once_unaligned(void *dst, const void *src, size_t n)
{
	const volatile uint8_t *s = src;
	uint8_t *d = dst;
	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
}

/* ---- split ring walkers (src/vq/split.c) ------------------------------ */
enum vhu_chain_err {
	VHU_CHAIN_OK = 0,
	VHU_CHAIN_DROP = 1,  /* legal but unusable: complete it, drop packet */
	VHU_CHAIN_BAD = 2,   /* malformed: break the queue */
	VHU_CHAIN_NONE = 3,  /* no buffer usable there yet: packed, none
			      * available; either ring, an IOTLB miss (sent:
			      * nothing consumed, a later burst retries) */
};
/* Walks the chain at head into vq->iov pieces (each within one memory
 * region). `writable` selects device-writable (enqueue) or readable
 * (dequeue) buffers; the other kind is malformed. *total gets the bytes. */
enum vhu_chain_err vhu_split_chain_full(struct vhu_vq *vq, uint16_t head,
					bool writable, struct vhu_iov *iov,
					uint32_t *niov, uint32_t max_iov,
					uint32_t *total) VHU_REQUIRES(vq->lock);

/* Upper bound on one packet's buffer bytes; beyond it the chain is
 * dropped rather than parsed (no virtio-net packet needs more). */
#define VHU_MAX_CHAIN_BYTES (1u << 20)

/* The common case inline: one direct descriptor whose buffer lies in one
 * memory region. Anything else, valid or not, goes to the full walk,
 * which loads the descriptor again and decides on its own values alone. */
static inline enum vhu_chain_err vhu_split_chain(struct vhu_vq *vq, uint16_t head,
						 bool writable, struct vhu_iov *iov,
						 uint32_t *niov, uint32_t max_iov,
						 uint32_t *total) VHU_REQUIRES(vq->lock)
{
	const struct vring_desc *src = &vq->desc[head];
	uint16_t flags = VHU_READ_ONCE(src->flags);

	if (likely(!(flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT)) &&
		   !!(flags & VRING_DESC_F_WRITE) == writable && max_iov)) {
		uint64_t addr = VHU_READ_ONCE(src->addr);
		uint32_t len = VHU_READ_ONCE(src->len);
		uint64_t l = len;
		enum vhu_xlate why;
		uint8_t *p = len && len <= VHU_MAX_CHAIN_BYTES ?
			vhu_vq_piece(vq, addr, &l, writable, &why) : NULL;
		if (likely(p && l == len)) {
			iov[0].base = p;
			iov[0].len = len;
			iov[0].gpa = addr;
			*niov = 1;
			*total = len;
			return VHU_CHAIN_OK;
		}
	}
	return vhu_split_chain_full(vq, head, writable, iov, niov, max_iov, total);
}
/* Entries the guest made available; breaks the queue and returns 0 when
 * the avail index ran further than the ring size. */
uint16_t vhu_split_avail_count(struct vhu_vq *vq) VHU_REQUIRES(vq->lock);
/* Head of the n-th entry from last_avail_idx, checked. */
bool vhu_split_avail_head(struct vhu_vq *vq, uint16_t n, uint16_t *head)
	VHU_REQUIRES(vq->lock);
/* Writes n shadow used entries and publishes the used index. */
void vhu_split_flush_used(struct vhu_vq *vq, uint16_t n) VHU_REQUIRES(vq->lock);
/* Signals the guest's call eventfd unless it suppressed notifications. */
void vhu_split_notify(struct vhu_vq *vq) VHU_REQUIRES(vq->lock);

static inline bool vhu_vq_packed(const struct vhu_vq *vq)
{
	return vq->features & (1ULL << VIRTIO_F_RING_PACKED);
}

/* ---- packed ring walkers (src/vq/packed.c) ---------------------------- */
/* A cursor over the descriptor ring: position and wrap counter. */
struct vhu_packed_pos {
	uint16_t idx;
	bool wrap;
};
/* One descriptor on, flipping the wrap counter at the end of the ring. */
static inline void vhu_packed_pos_advance(const struct vhu_vq *vq, struct vhu_packed_pos *p)
{
	if (unlikely(++p->idx == vq->size)) {
		p->idx = 0;
		p->wrap = !p->wrap;
	}
}
/* A descriptor is available when its AVAIL bit equals the wrap counter
 * of its position and its USED bit does not. */
static inline bool vhu_packed_desc_avail(uint16_t flags, bool wrap)
{
	return !!(flags & (1u << VRING_PACKED_DESC_F_AVAIL)) == wrap &&
	       !!(flags & (1u << VRING_PACKED_DESC_F_USED)) != wrap;
}

/* Walks the buffer whose first descriptor is at *pos into iov pieces, as
 * vhu_split_chain does. VHU_CHAIN_NONE when the guest has not made that
 * descriptor available. Otherwise *pos is moved past the buffer's
 * descriptors, *id gets its buffer id and *ndesc how many ring
 * descriptors it took (also for VHU_CHAIN_DROP). */
enum vhu_chain_err vhu_packed_chain_full(struct vhu_vq *vq, struct vhu_packed_pos *pos,
					 bool writable, struct vhu_iov *iov,
					 uint32_t *niov, uint32_t max_iov, uint32_t *total,
					 uint16_t *id, uint16_t *ndesc) VHU_REQUIRES(vq->lock);

/* As vhu_split_chain: one direct descriptor in one region inline, the
 * rest (and every error) through the full walk. */
static inline enum vhu_chain_err vhu_packed_chain(struct vhu_vq *vq,
						  struct vhu_packed_pos *pos,
						  bool writable, struct vhu_iov *iov,
						  uint32_t *niov, uint32_t max_iov,
						  uint32_t *total, uint16_t *id,
						  uint16_t *ndesc) VHU_REQUIRES(vq->lock)
{
	const struct vring_packed_desc *src = &vq->desc_packed[pos->idx];
	/* Acquire: the descriptor's other fields were written before its
	 * flags made it available. */
	uint16_t flags = VHU_LOAD_ACQ(src->flags);

	if (!vhu_packed_desc_avail(flags, pos->wrap))
		return VHU_CHAIN_NONE;
	if (likely(!(flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT)) &&
		   !!(flags & VRING_DESC_F_WRITE) == writable && max_iov)) {
		uint64_t addr = VHU_READ_ONCE(src->addr);
		uint32_t len = VHU_READ_ONCE(src->len);
		uint16_t bid = VHU_READ_ONCE(src->id);
		uint64_t l = len;
		enum vhu_xlate why;
		uint8_t *p = len && len <= VHU_MAX_CHAIN_BYTES && bid < vq->size ?
			vhu_vq_piece(vq, addr, &l, writable, &why) : NULL;
		if (likely(p && l == len)) {
			iov[0].base = p;
			iov[0].len = len;
			iov[0].gpa = addr;
			*niov = 1;
			*total = len;
			*id = bid;
			*ndesc = 1;
			vhu_packed_pos_advance(vq, pos);
			return VHU_CHAIN_OK;
		}
	}
	return vhu_packed_chain_full(vq, pos, writable, iov, niov, max_iov, total, id,
				     ndesc);
}
/* Buffers the guest made available from last_avail_idx, counted up to
 * max (descriptor flags only, nothing walked). */
uint16_t vhu_packed_avail_count(struct vhu_vq *vq, uint16_t max) VHU_REQUIRES(vq->lock);
/* Writes the n shadow_packed entries as used descriptors, flags last,
 * the first one's flags last of all, and moves last_used_idx. */
void vhu_packed_flush_used(struct vhu_vq *vq, uint16_t n, bool writable)
	VHU_REQUIRES(vq->lock);
/* At ring start (after any inflight recovery): when the ring's contents
 * do not fit the position the frontend sent, or the region's, but fit
 * exactly one other (a backend restart under QEMU, which cannot know it),
 * moves there with a log line. True when it moved. */
bool vhu_packed_resync(struct vhu_vq *vq) VHU_REQUIRES(vq->lock);
/* Signals the guest's call eventfd unless its driver event structure
 * suppresses it (flags, or off_wrap with EVENT_IDX). */
void vhu_packed_notify(struct vhu_vq *vq) VHU_REQUIRES(vq->lock);

#endif
