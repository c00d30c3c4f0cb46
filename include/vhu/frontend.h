/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The in-tree vhost-user frontend: the driver side, the role DPDK's
 * virtio-user plays. It shares memfd-backed "guest" memory with a backend,
 * negotiates, sets up split or packed rings and sends and receives packets,
 * and can reconnect to a restarted backend keeping its rings. The
 * project's tests use it (including to misbehave on purpose: see the raw
 * access functions at the end), and a program without a VM can use it to
 * talk to any vhost-user backend.
 *
 * Library: libvhu-frontend (pkg-config libvhu-frontend), which links
 * libvhu for packets, pools and logging (vhu_log_set_handler() and
 * vhu_log_set_level() apply to its lines too).
 *
 * Threads: one vhu_fe is driven by one thread at a time, any thread; it
 * starts no thread. Different vhu_fe are independent.
 *
 * Returns: functions returning int give 0 (or the count or value they
 * describe) on success and a negative errno on failure.
 *
 * ABI: struct vhu_fe_opts and struct vhu_fe_vring_stats have reserved
 * room that later fields are carved out of, so their size stays the
 * same within a soname major; struct vhu_fe is opaque.
 */
#ifndef VHU_FRONTEND_H
#define VHU_FRONTEND_H

#include <stdbool.h>
#include <stdint.h>
#include <vhu/pkt.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vhu_fe;

/* Options of vhu_fe_create(), copied there. Fill with a designated
 * initializer (or zero it first): reserved must be all zero, and zero in
 * any field means its default, so options of later releases (carved out
 * of reserved) keep today's behaviour for programs built today, and a
 * program that sets one is refused (EINVAL) by an older library. */
struct vhu_fe_opts {
	const char *path;        /* backend socket */
	bool server;             /* listen on path and accept one backend */
	uint64_t features;       /* virtio features to accept if offered; 0 = a sensible default */
	uint64_t protocol_features; /* 0 = all the frontend knows */
	uint16_t queue_pairs;    /* 0 = 1 */
	uint16_t ring_size;      /* 0 = 256 */
	uint64_t mem_size;       /* guest memory bytes; 0 = 64 MiB */
	uint16_t mem_regions;    /* split the memory into this many regions (memfds); 0 = 1 */
	uint32_t buf_size;       /* bytes per rx buffer posted; 0 = 2048 */
	int connect_timeout_ms;  /* retry connect/accept this long; 0 = 5000 */
	/* Descriptor shapes, so backends see every layout a driver may use.
	 * Without VERSION_1 or ANY_LAYOUT both split flags are forced on. */
	bool tx_split_hdr;       /* virtio-net header in its own descriptor */
	bool rx_split_hdr;       /* receive buffers posted as header + data descriptors */
	bool tx_indirect;        /* transmit chains through indirect tables (if INDIRECT_DESC) */
	bool poll_mode;          /* ask the backend not to signal call eventfds */
	bool no_protocol_features; /* do not accept VHOST_USER_F_PROTOCOL_FEATURES */
	/* Ask for VIRTIO_F_RING_PACKED and use packed rings when the backend
	 * offers it; ring_size then need not be a power of two (creation fails
	 * if it is not one and packed rings were not negotiated). */
	bool packed;
	/* Negotiate VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD when the backend
	 * offers it (also when protocol_features names it): the frontend
	 * asks for the backend's inflight region (GET_INFLIGHT_FD) before
	 * the rings start, keeps it, and hands it to the backend again on
	 * every vhu_fe_reconnect() (SET_INFLIGHT_FD), so a backend that
	 * crashed with descriptors taken and not completed resumes at them. */
	bool inflight;
	/* Play a vIOMMU: negotiate VIRTIO_F_ACCESS_PLATFORM (creation fails
	 * if the backend does not offer it, or BACKEND_REQ and REPLY_ACK);
	 * every address the rings hold is then an IOVA, the guest-physical
	 * address plus VHU_FE_IOVA_OFFSET, unknown to the backend until it
	 * asks (an IOTLB miss on the backend channel) and the frontend
	 * answers with an update of the 4 KiB page. Misses are answered in
	 * every burst call and by vhu_fe_iotlb_serve(). Nonzero: on. Carved
	 * out of reserved, so a library without it refuses it. */
	uint64_t iommu;
	uint64_t reserved[7];    /* room for later options; must be 0 */
};

/* Virtio features the frontend accepts when opts->features is 0:
 * VERSION_1, MRG_RXBUF, INDIRECT_DESC, EVENT_IDX, MQ when queue_pairs > 1.
 * (VHOST_USER_F_PROTOCOL_FEATURES is accepted apart from these.) Any
 * thread. */
uint64_t vhu_fe_default_features(uint16_t queue_pairs);

/* Connects (or accepts), negotiates features and protocol features,
 * sends SET_OWNER, the memory table and every vring of every queue pair,
 * enables them and posts receive buffers; blocks until done (at most
 * about connect_timeout_ms plus the backend's replies). NULL with errno
 * on failure (EINVAL for bad options, ENOMEM, or the connection's
 * errno). Any thread. */
struct vhu_fe *vhu_fe_create(const struct vhu_fe_opts *opts);
/* Stops the rings (GET_VRING_BASE), closes the connection, frees all
 * (NULL: nothing). */
void vhu_fe_destroy(struct vhu_fe *fe);
/* After the backend went away (crashed or restarted): drops the old
 * connection, connects (or accepts) again within connect_timeout_ms and
 * sets the device up as it is: the same virtio features (the new backend
 * must offer them), the same guest memory and rings, the driver side
 * untouched (buffers posted and not yet used stay outstanding). Each
 * vring's base is where the frontend has seen used buffers up to (split:
 * its used index; packed: its used position, or the inflight region's
 * when in use); with an inflight region, SET_INFLIGHT_FD comes first and
 * the backend resumes where it really stopped. Every vring is kicked at
 * the end. 0, or a negative errno with the frontend disconnected (it may
 * be retried). */
int vhu_fe_reconnect(struct vhu_fe *fe);

/* Negotiated virtio and protocol features; queue pairs in use. */
uint64_t vhu_fe_features(const struct vhu_fe *fe);
uint64_t vhu_fe_protocol_features(const struct vhu_fe *fe);
uint16_t vhu_fe_queue_pairs(const struct vhu_fe *fe);

/* Guest transmit: copies each packet (all segments) into guest buffers
 * behind a virtio-net header built from pkt->ol, posts them on the
 * transmit vring of queue pair qp and kicks the backend unless it asked
 * not to be. Reclaims completed transmit buffers first. Returns how many
 * were posted; the caller keeps ownership of pkts. A packet that could
 * never fit (over 64 KiB) is skipped but counted, with an error in the
 * vring's stats, so a caller's retry loop cannot stall on it. */
uint16_t vhu_fe_send_burst(struct vhu_fe *fe, uint16_t qp,
			   struct vhu_pkt *const *pkts, uint16_t n);
/* Guest receive: takes up to n used receive buffers (merged buffers
 * joined), copies them into packets from pool (header fields into ->ol),
 * and re-posts the buffers. Returns how many are in pkts[0..); the
 * caller owns them. */
uint16_t vhu_fe_recv_burst(struct vhu_fe *fe, uint16_t qp,
			   struct vhu_pkt_pool *pool, struct vhu_pkt **pkts,
			   uint16_t n);
/* Waits up to timeout_ms for the backend's call eventfd of the vring;
 * 1 when signalled, 0 on timeout, or a negative errno (-EINVAL: no such
 * vring). */
int vhu_fe_wait_call(struct vhu_fe *fe, uint16_t vring, int timeout_ms);

/* ---- raw access, for fault injection ---------------------------------- */
/* The control socket fd (the frontend's; -1 while disconnected). */
int vhu_fe_sock(const struct vhu_fe *fe);
/* Sends one message: request, flags (VHU_MSG_VERSION is added), payload
 * of size bytes, fds. Returns 0 or negative errno. */
int vhu_fe_send_raw(struct vhu_fe *fe, uint32_t request, uint32_t flags,
		    const void *payload, uint32_t size, const int *fds,
		    int nfds);
/* Receives one reply. Returns payload size or negative errno; reply
 * request code in *request when not NULL. */
int vhu_fe_recv_raw(struct vhu_fe *fe, uint32_t *request, void *payload,
		    uint32_t cap, int timeout_ms);
/* Host pointer to guest memory region `region`, its guest-physical
 * address in *gpa and length in *size (either may be NULL); NULL when
 * there is no such region. The regions of opts.mem_regions come first,
 * then those added with vhu_fe_add_mem_region(), in the order added. */
void *vhu_fe_mem(const struct vhu_fe *fe, uint16_t region, uint64_t *gpa,
		 uint64_t *size);
/* Host pointers to a vring's split-ring structures (NULL on packed rings
 * or for a vring that does not exist). */
struct vring_desc *vhu_fe_vring_desc(const struct vhu_fe *fe, uint16_t vring);
struct vring_avail *vhu_fe_vring_avail(const struct vhu_fe *fe, uint16_t vring);
struct vring_used *vhu_fe_vring_used(const struct vhu_fe *fe, uint16_t vring);
/* Host pointer to a packed vring's descriptor ring (NULL on split rings
 * or for a vring that does not exist). */
struct vring_packed_desc *vhu_fe_vring_packed_desc(const struct vhu_fe *fe,
						   uint16_t vring);
/* Kicks the backend on a vring (writes its kick eventfd); nothing for a
 * vring that does not exist. */
void vhu_fe_kick(struct vhu_fe *fe, uint16_t vring);

/* ---- memory hotplug (VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) ------- */
/* Negotiated by default when the backend offers it; the frontend then
 * sends its guest memory region by region (ADD_MEM_REG), as QEMU does,
 * and a reconnect sends the added regions again. */
/* Adds size bytes of guest memory (a memfd of its own) at guest-physical
 * address gpa, both page-aligned, and tells the backend (ADD_MEM_REG,
 * acknowledged when REPLY_ACK is in force). The frontend places no buffers
 * there: it is the caller's (vhu_fe_mem()). -EOPNOTSUPP without
 * CONFIGURE_MEM_SLOTS, -EINVAL misaligned or empty, -EEXIST overlapping a
 * region, -ENOSPC past the backend's GET_MAX_MEM_SLOTS, -EIO when the
 * backend refused it (nothing added then). */
int vhu_fe_add_mem_region(struct vhu_fe *fe, uint64_t gpa, uint64_t size);
/* Removes the region added at gpa (REM_MEM_REG); the frontend unmaps its
 * memory once the backend acknowledged. -ENOENT when no region added
 * starts there. */
int vhu_fe_remove_mem_region(struct vhu_fe *fe, uint64_t gpa);

/* Per-vring counters, for tests to check what the backend did. Filled
 * by the library: later counters are carved out of reserved (0 until
 * then), so the size stays. */
struct vhu_fe_vring_stats {
	uint64_t packets;   /* sent (tx) or received (rx) */
	uint64_t bytes;     /* packet bytes, without virtio-net headers */
	uint64_t kicks;     /* kick eventfd writes */
	uint64_t kicks_suppressed; /* kicks the backend asked us to skip */
	uint64_t errors;    /* bad used entries from the backend, dropped packets */
	uint64_t reserved[3];
};
/* Copies vring's counters into *st: 0, or -EINVAL (no such vring, or st
 * NULL). */
int vhu_fe_vring_stats(const struct vhu_fe *fe, uint16_t vring,
		       struct vhu_fe_vring_stats *st);
/* Sends GET_VRING_BASE now (the backend stops the vring) and returns the
 * next avail index the backend reports, or a negative errno. */
int vhu_fe_get_vring_base(struct vhu_fe *fe, uint16_t vring);

/* ---- vIOMMU (opts.iommu) ------------------------------------------------ */
/* IOVA of guest-physical address g: g + VHU_FE_IOVA_OFFSET. */
#define VHU_FE_IOVA_OFFSET (1ull << 40)
/* Answers the IOTLB misses the backend sent so far (an update each).
 * Returns how many, or a negative errno (-ENOTCONN: no vIOMMU). */
int vhu_fe_iotlb_serve(struct vhu_fe *fe);
/* Sends an IOTLB update of [iova, iova+size) onto guest memory (the IOVA
 * must be one of ours) with rights perm (VHOST_ACCESS_*), or an
 * invalidation of the range. 0, or a negative errno (-EIO: refused). */
int vhu_fe_iotlb_update(struct vhu_fe *fe, uint64_t iova, uint64_t size, uint8_t perm);
int vhu_fe_iotlb_invalidate(struct vhu_fe *fe, uint64_t iova, uint64_t size);
/* IOTLB misses received from the backend since creation. */
uint64_t vhu_fe_iotlb_misses(const struct vhu_fe *fe);

#ifdef __cplusplus
}
#endif
#endif
