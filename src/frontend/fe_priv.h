/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of the in-tree vhost-user frontend (include/vhu/frontend.h).
 *
 * Everything the backend can write (used rings, receive buffers, even our
 * own descriptor tables) is read once and checked; what we need to trust
 * (free descriptor lists, which heads are in flight, buffer addresses)
 * lives in private memory only.
 */
#ifndef VHU_FRONTEND_FE_PRIV_H
#define VHU_FRONTEND_FE_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <vhu/frontend.h>
#include "proto/wire.h"

/* Virtio 1.0 fields are little endian and legacy ones guest-native; on a
 * little-endian host both are plain stores. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the frontend writes ring fields in host byte order");

#define FE_DEFAULT_RING      256u
#define FE_DEFAULT_MEM       (64ull << 20)
#define FE_DEFAULT_BUF       2048u
#define FE_DEFAULT_TIMEOUT   5000
#define FE_REPLY_TIMEOUT_MS  5000
/* Guest-physical stride between regions: real VMs have holes too. */
#define FE_REGION_STRIDE     (1ull << 30)
/* Largest packet the transmit side accepts (a 64 KiB GSO frame). */
#define FE_MAX_PKT           65536u
/* Largest inflight region (offset included) a backend may hand us: the
 * spec's layout for 32 packed vrings of 32768 is about 32 MiB. */
#define FE_INFLIGHT_MAX      (64ull << 20)

struct fe_region {
	int fd;
	uint8_t *va;
	uint64_t gpa;
	uint64_t dev_addr; /* what the rings say: gpa, or its IOVA (opts.iommu) */
	uint64_t size;
	uint64_t used; /* bump allocator */
};

struct fe_buf {
	uint8_t *va;
	uint64_t gpa; /* as the rings say it (fe_region.dev_addr) */
};

struct fe_head {
	uint16_t ndesc;   /* ring descriptors the chain holds */
	uint16_t last;    /* its last descriptor, to splice back into the free list */
	uint16_t nbufs;   /* buffers held, in vq->head_bufs[head * max_bufs ...] */
	bool inflight;    /* posted, not yet seen in the used ring */
};

struct fe_vq {
	uint16_t index;
	uint16_t num;
	bool tx;
	bool split_hdr;
	bool indirect;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t *used_event;  /* avail->ring[num]: ours (EVENT_IDX) */
	uint16_t *avail_event; /* used->ring[num]: the backend's (EVENT_IDX) */
	uint16_t avail_idx;    /* private copy of avail->idx */
	uint16_t last_used;
	uint16_t free_head;
	uint16_t num_free;
	uint16_t *free_next;   /* private descriptor free list */
	struct fe_head *heads;
	uint32_t *head_bufs;
	uint16_t max_bufs;     /* per head */
	struct fe_buf *bufs;
	uint32_t nbufs;
	uint32_t buf_size;
	uint32_t *buf_free;    /* stack of free buffer indexes */
	uint32_t buf_free_n;
	struct vring_desc *indir; /* per-head tables of indir_n entries */
	uint64_t indir_gpa;
	uint16_t indir_n;
	struct vring_used_elem *scratch; /* rx: used entries being joined */
	struct vring_desc *sg;  /* tx: the chain being built, before it is placed */
	/* Packed rings (fe_packed.c): avail_idx and last_used are then ring
	 * positions with the wrap counters below; free_next/free_head list
	 * free buffer ids, num_free counts free ring slots. */
	bool packed;
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *drv_event; /* ours: call suppression */
	struct vring_packed_desc_event *dev_event; /* the backend's: kick suppression */
	bool avail_wrap;
	bool used_wrap;
	uint16_t ids_free;
	int kickfd;
	int callfd;
	uint64_t err_logged;
	struct vhu_fe_vring_stats st;
};

/* The backend's inflight region (INFLIGHT_SHMFD), kept across backend
 * restarts. Its sizes are the backend's, checked when it gave them. */
struct fe_inflight {
	int fd;                /* -1: no region */
	uint8_t *map;          /* [0, offset + size) of fd */
	uint64_t map_len;
	uint64_t size;         /* mmap_size, as GET_INFLIGHT_FD said */
	uint64_t offset;       /* mmap_offset */
	uint64_t stride;       /* bytes per vring: size / num_queues */
	uint16_t num_queues;
	uint16_t queue_size;
};

struct vhu_fe {
	struct vhu_fe_opts opts;
	char *path;
	int sock;
	bool listening_created; /* server mode: we own the socket file */
	uint64_t features;
	uint64_t protocol_features;
	uint16_t nqp;
	uint16_t nvq;
	uint16_t hdr_len;
	bool mrg_rxbuf;
	bool event_idx;
	bool packed;
	struct fe_region regions[VHU_MAX_MEM_REGIONS];
	uint16_t nregions;
	/* Regions added since (vhu_fe_add_mem_region), in the order added;
	 * the frontend places nothing there. */
	struct fe_region *hot;
	unsigned nhot;
	uint64_t max_mem_slots; /* GET_MAX_MEM_SLOTS' answer (CONFIGURE_MEM_SLOTS) */
	struct fe_vq *vqs;
	struct fe_inflight inflight;
	int backend_fd;         /* our end of the backend channel, or -1 */
	uint64_t iotlb_misses;
};

/* fe_mem.c */
int fe_mem_init(struct vhu_fe *fe, uint64_t size, uint16_t nregions);
void fe_mem_fini(struct vhu_fe *fe);
/* Tells the backend of every region: SET_MEM_TABLE, or one ADD_MEM_REG
 * each when CONFIGURE_MEM_SLOTS is in force (as QEMU does). */
int fe_mem_announce(struct vhu_fe *fe);
/* Carves size bytes aligned to align, from region hint if it has room
 * (else any); NULL when memory is exhausted. *gpa gets the address the
 * rings carry for it (the IOVA with opts.iommu). */
void *fe_mem_alloc(struct vhu_fe *fe, uint64_t size, uint64_t align,
		   unsigned hint, uint64_t *gpa);

/* The address the rings carry for our pointer p (0 if not ours). */
uint64_t fe_mem_dev_addr(const struct vhu_fe *fe, const void *p);

/* fe_iotlb.c */
/* With BACKEND_REQ negotiated: a new backend channel (SET_BACKEND_REQ_FD). */
int fe_iotlb_open(struct vhu_fe *fe);
void fe_iotlb_close(struct vhu_fe *fe);
/* Answers pending misses; a no-op without a channel. */
int fe_iotlb_serve(struct vhu_fe *fe);

/* fe_conn.c */
int fe_connect(struct vhu_fe *fe);
int fe_send_msg(struct vhu_fe *fe, uint32_t request, uint32_t flags,
		const void *payload, uint32_t size, const int *fds, int nfds);
/* Closes any fds the message carried unless keep_fds. */
int fe_recv_msg(struct vhu_fe *fe, struct vhu_msg *msg, int timeout_ms, bool keep_fds);
/* Waits for the reply to request and checks it is one, of size bytes;
 * its fds are closed unless keep_fds (and always when it is refused). */
int fe_get_reply(struct vhu_fe *fe, uint32_t request, struct vhu_msg *msg,
		 uint32_t size, bool keep_fds);
/* Sends a request without a reply of its own (acked with REPLY_ACK). */
int fe_request(struct vhu_fe *fe, uint32_t req, const void *payload,
	       uint32_t size, const int *fds, int nfds);
/* again: a reconnection, where the virtio features must not change. */
int fe_negotiate(struct vhu_fe *fe, bool again);
int fe_setup_vrings(struct vhu_fe *fe);
int fe_get_vring_base(struct vhu_fe *fe, uint16_t vring);
void fe_stop(struct vhu_fe *fe);

/* fe_inflight.c */
void fe_inflight_init(struct vhu_fe *fe);
void fe_inflight_fini(struct vhu_fe *fe);
/* Before the memory table, when INFLIGHT_SHMFD was negotiated: the
 * region from GET_INFLIGHT_FD the first time, SET_INFLIGHT_FD with it
 * after. */
int fe_inflight_setup(struct vhu_fe *fe);
/* Packed vring: the used position the region says the backend reached;
 * false (and nothing written) without a region or when it says nothing
 * usable. */
bool fe_inflight_packed_pos(const struct vhu_fe *fe, const struct fe_vq *vq,
			    uint16_t *pos, bool *wrap);

/* fe_ring.c */
int fe_vq_init(struct vhu_fe *fe, struct fe_vq *vq, uint16_t index);
void fe_vq_fini(struct fe_vq *vq);
/* Used entries ready; 0 (and an error counted) if the backend moved
 * used->idx further than the ring holds. */
uint16_t fe_vq_used_ready(struct fe_vq *vq);
/* Takes descriptor chain of n from the free list; returns its head. */
uint16_t fe_vq_take_descs(struct fe_vq *vq, uint16_t n);
void fe_vq_put_head(struct fe_vq *vq, uint16_t head);
/* Publishes avail entries added since old_idx and kicks if the backend
 * wants it. */
void fe_vq_publish(struct vhu_fe *fe, struct fe_vq *vq, uint16_t old_idx);
void fe_vq_after_used(struct vhu_fe *fe, struct fe_vq *vq);
void fe_vq_kick(struct fe_vq *vq);
void fe_vq_error(struct fe_vq *vq, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* fe_net.c */
void fe_rx_post_all(struct vhu_fe *fe, struct fe_vq *vq);
void fe_tx_reclaim(struct vhu_fe *fe, struct fe_vq *vq);
/* Shared with fe_packed.c: copies the nb entries in vq->scratch (id, len)
 * into segs; header fields into pkt metadata; lays a packet out in the
 * buffers bi[] and describes it in vq->sg (returns the entries). */
void fe_rx_copy(struct vhu_fe *fe, struct fe_vq *vq, uint16_t nb,
		struct vhu_pkt **segs, uint32_t nseg, uint32_t total);
void fe_pkt_set_offload(struct vhu_pkt *p, const struct virtio_net_hdr *h);
uint16_t fe_tx_fill(struct vhu_fe *fe, struct fe_vq *vq, const struct vhu_pkt *p,
		    const uint32_t *bi, uint16_t nb, uint32_t need);
/* What a packet to send takes (both layouts): its length, the buffers
 * (nb) and the sg entries (nsg) with the header. false, with the queue's
 * error counted, for one that never fits: the caller counts it sent, or
 * its caller would retry it forever. */
struct fe_tx_size {
	uint32_t len, need;
	uint16_t nb, nsg;
};
bool fe_tx_size(const struct vhu_fe *fe, struct fe_vq *vq, const struct vhu_pkt *p,
		struct fe_tx_size *sz);

/* fe_packed.c */
int fe_packed_ring_alloc(struct vhu_fe *fe, struct fe_vq *vq, unsigned hint);
void fe_packed_after_used(struct vhu_fe *fe, struct fe_vq *vq);
void fe_packed_rx_post_all(struct vhu_fe *fe, struct fe_vq *vq);
uint16_t fe_packed_recv_burst(struct vhu_fe *fe, struct fe_vq *vq,
			      struct vhu_pkt_pool *pool, struct vhu_pkt **pkts,
			      uint16_t n);
uint16_t fe_packed_send_burst(struct vhu_fe *fe, struct fe_vq *vq,
			      struct vhu_pkt *const *pkts, uint16_t n);

static inline bool fe_has(uint64_t features, unsigned bit)
{
	return (features >> bit) & 1;
}

#endif
