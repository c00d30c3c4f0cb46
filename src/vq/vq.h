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
 */
#ifndef VHU_VQ_VQ_H
#define VHU_VQ_VQ_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_ring.h>
#include <vhu/vhu.h>
#include "common/compiler.h"
#include "common/spinlock.h"
#include "mem/memmap.h"

struct vhu_dev;

/* One host-contiguous piece of a descriptor buffer. */
struct vhu_iov {
	uint8_t *base;
	uint32_t len;
	uint64_t gpa; /* for dirty logging */
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
	struct vhu_dev *dev;
	uint64_t features;         /* negotiated, copied for the hot path */
	uint32_t hdr_len;          /* virtio-net header bytes */
	int callfd;
	uint16_t index;
	bool guest_notify;         /* guest asked to kick us */

	/* -- control-path configuration -------------------------------- */
	bool started;              /* kick fd received (or NOFD) */
	bool enabled;
	bool addr_set;
	int kickfd;
	int errfd;
	struct vhost_vring_addr addr; /* as the frontend sent it */
	uint64_t used_gpa;         /* for logging used-ring writes */

	/* -- counters, written by the data path only -------------------- */
	struct vhu_vring_stats stats __vhu_cache_aligned;

	/* Shadow used entries written back once per burst. */
	struct vring_used_elem shadow[VHU_MAX_BURST];
	struct vhu_iov iov[VHU_MAX_IOV];
} __vhu_cache_aligned;

struct vhu_vq *vhu_vq_new(struct vhu_dev *dev, uint16_t index);
void vhu_vq_free(struct vhu_vq *vq);
/* Translates the ring addresses with the device's current memory map;
 * false (and a log line) when they do not fall inside it. */
bool vhu_vq_translate(struct vhu_vq *vq) VHU_REQUIRES(vq->lock);
/* Recomputes `active` from the configuration. */
void vhu_vq_update_active(struct vhu_vq *vq) VHU_REQUIRES(vq->lock);
/* Marks the queue broken with a log line saying why. */
void vhu_vq_break(struct vhu_vq *vq, const char *fmt, ...)
	VHU_REQUIRES(vq->lock) __attribute__((format(printf, 2, 3)));
/* Applies the current notification wish to the ring (used->flags /
 * avail_event). */
void vhu_vq_apply_notify(struct vhu_vq *vq) VHU_REQUIRES(vq->lock);

/* EVENT_IDX: avail_event lives right after the used ring's entries. */
static inline void vhu_vq_set_avail_event(struct vhu_vq *vq, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)&vq->used->ring[vq->size], v,
			 __ATOMIC_RELEASE);
}

/* ---- split ring walkers (src/vq/split.c) ------------------------------ */
enum vhu_chain_err {
	VHU_CHAIN_OK = 0,
	VHU_CHAIN_DROP = 1,  /* legal but unusable: complete it, drop packet */
	VHU_CHAIN_BAD = 2,   /* malformed: break the queue */
};
/* Walks the chain at head into vq->iov pieces (each within one memory
 * region). `writable` selects device-writable (enqueue) or readable
 * (dequeue) buffers; the other kind is malformed. *total gets the bytes. */
enum vhu_chain_err vhu_split_chain(struct vhu_vq *vq, uint16_t head,
				   bool writable, struct vhu_iov *iov,
				   uint32_t *niov, uint32_t max_iov,
				   uint32_t *total) VHU_REQUIRES(vq->lock);
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

#endif
