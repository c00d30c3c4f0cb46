/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libvhu: the device side of vhost-user for virtio-net.
 *
 * Shape (the one DPDK's vhost library made familiar):
 *   vhu_driver_register(path, flags)       one socket, server or client
 *   vhu_driver_set/enable/disable_features  fine-tune what is offered
 *   vhu_driver_callback_register(path, ops) device events
 *   vhu_driver_start(path)                  listen / connect
 *   vhu_enqueue_burst / vhu_dequeue_burst   the data path
 *
 * Every accepted (or established) connection is one device, seen by the
 * application as an opaque struct vhu_dev *. The pointer is valid from
 * new_connection until destroy_connection returns; bursts may be issued on
 * it between new_device and destroy_device.
 *
 * Threads. Control events (sockets, messages, reconnect timers) are handled
 * by whoever runs the event loop: either the library's own thread
 * (vhu_loop_start_thread(), started by vhu_driver_start() unless the
 * application asked for an external loop), or the application calling
 * vhu_loop_run() on vhu_loop_fd(). Callbacks run on that thread. Bursts
 * may run on any other thread; one thread per vring at a time.
 *
 * Vring numbering follows virtio-net: vring 2*q is the guest's receive
 * queue of pair q (host to guest, vhu_enqueue_burst) and 2*q+1 its
 * transmit queue (guest to host, vhu_dequeue_burst).
 *
 * All functions returning int give 0 on success and a negative errno
 * value on failure. The library never exits or aborts the process.
 */
#ifndef VHU_VHU_H
#define VHU_VHU_H

#include <stdbool.h>
#include <stdint.h>
#include <vhu/pkt.h>

#ifdef __cplusplus
extern "C" {
#endif

/* vhu_driver_register() flags */
#define VHU_CLIENT        (1ULL << 0) /* connect to path instead of listening */
#define VHU_NO_RECONNECT  (1ULL << 1) /* client: do not retry when the peer is absent or leaves */
/* Packed rings: always start where the frontend says, even when the ring
 * shows the previous backend stopped elsewhere (see vhu_packed_resync in
 * docs/architecture.md, "Backend restart"). */
#define VHU_NO_RING_RESYNC (1ULL << 2)

#define VHU_MAX_QUEUE_PAIRS 16
#define VHU_MAX_VRINGS      (2 * VHU_MAX_QUEUE_PAIRS)
#define VHU_MAX_RING_SIZE   32768
#define VHU_MAX_BURST       256

#define VHU_VRING_RX(q) ((uint16_t)(2 * (q)))     /* host -> guest */
#define VHU_VRING_TX(q) ((uint16_t)(2 * (q) + 1)) /* guest -> host */

struct vhu_dev;

struct vhu_device_ops {
	/* The device is ready for bursts (memory mapped, first queue pair
	 * started). Return non-zero to refuse it: the connection is closed. */
	int (*new_device)(struct vhu_dev *dev);
	/* The device stops: no burst may be issued on it once this returns. */
	void (*destroy_device)(struct vhu_dev *dev);
	/* A vring was enabled or disabled by the frontend. */
	int (*vring_state_changed)(struct vhu_dev *dev, uint16_t vring,
				   int enable);
	/* Negotiated features changed on a running device (e.g. dirty page
	 * logging, VHOST_F_LOG_ALL, at the start and end of migration). */
	int (*features_changed)(struct vhu_dev *dev, uint64_t features);
	/* A frontend connected; the device exists but is not ready. */
	int (*new_connection)(struct vhu_dev *dev);
	/* The connection is gone; dev is freed after this returns. */
	void (*destroy_connection)(struct vhu_dev *dev);
};

/* ---- registration ---------------------------------------------------- */
int vhu_driver_register(const char *path, uint64_t flags);
/* Closes the socket and every device on it (destroy callbacks run). */
int vhu_driver_unregister(const char *path);
int vhu_driver_set_features(const char *path, uint64_t features);
int vhu_driver_get_features(const char *path, uint64_t *features);
int vhu_driver_enable_features(const char *path, uint64_t features);
int vhu_driver_disable_features(const char *path, uint64_t features);
int vhu_driver_set_protocol_features(const char *path, uint64_t features);
int vhu_driver_get_protocol_features(const char *path, uint64_t *features);
/* Queue pairs offered (GET_QUEUE_NUM); default and maximum
 * VHU_MAX_QUEUE_PAIRS. */
int vhu_driver_set_max_queue_pairs(const char *path, uint16_t n);
int vhu_driver_get_max_queue_pairs(const char *path, uint16_t *n);
/* Mode of a server socket file (default 0660). Set before start. */
int vhu_driver_set_socket_mode(const char *path, unsigned mode);
/* ctx is given back by vhu_dev_get_ctx() on every device of this path. */
int vhu_driver_callback_register(const char *path,
				 const struct vhu_device_ops *ops, void *ctx);
int vhu_driver_start(const char *path);

/* Everything libvhu offers by default. */
uint64_t vhu_default_features(void);
uint64_t vhu_default_protocol_features(void);

/* ---- event loop -------------------------------------------------------- */
/* Before the first vhu_driver_start(): the application drives the loop
 * itself with vhu_loop_run(); no library thread is created. */
int vhu_loop_set_external(void);
/* An fd that becomes readable when vhu_loop_run() has work (epoll fd). */
int vhu_loop_fd(void);
/* Handles pending events, waiting at most timeout_ms (-1: forever).
 * Returns the number of events handled or a negative errno. */
int vhu_loop_run(int timeout_ms);
int vhu_loop_start_thread(void);
/* Stops the library thread, if any, and waits for it. */
void vhu_loop_stop_thread(void);

/* ---- device queries ---------------------------------------------------- */
void *vhu_dev_get_ctx(const struct vhu_dev *dev);
void vhu_dev_set_priv(struct vhu_dev *dev, void *priv);
void *vhu_dev_get_priv(const struct vhu_dev *dev);
/* Socket path the device came in on. */
const char *vhu_dev_get_path(const struct vhu_dev *dev);
/* Small unique number for log lines, never reused in a process. */
uint64_t vhu_dev_get_id(const struct vhu_dev *dev);
uint64_t vhu_dev_get_features(const struct vhu_dev *dev);
uint64_t vhu_dev_get_protocol_features(const struct vhu_dev *dev);
/* Vrings the frontend has set up (highest index + 1). */
uint16_t vhu_dev_get_vring_num(const struct vhu_dev *dev);
/* MTU set by the frontend (NET_SET_MTU); -ENOENT when none. */
int vhu_dev_get_mtu(const struct vhu_dev *dev, uint16_t *mtu);
bool vhu_dev_is_running(const struct vhu_dev *dev);
bool vhu_vring_is_enabled(const struct vhu_dev *dev, uint16_t vring);
/* A vring that met malformed input stays broken until the frontend
 * reconfigures it. */
bool vhu_vring_is_broken(const struct vhu_dev *dev, uint16_t vring);
uint16_t vhu_vring_get_size(const struct vhu_dev *dev, uint16_t vring);
/* Descriptors the guest has made available and the device has not taken
 * (the seeds' rte_vring_available_entries). */
uint16_t vhu_vring_avail_entries(struct vhu_dev *dev, uint16_t vring);

struct vhu_vring_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t drops;   /* enqueue: packets not delivered for lack of room
			   * or a bad packet; dequeue: packets dropped */
	uint64_t errors;  /* malformed descriptors seen */
	uint64_t kicks;   /* notifications sent to the guest */
};
int vhu_vring_get_stats(const struct vhu_dev *dev, uint16_t vring,
			struct vhu_vring_stats *st);
int vhu_vring_reset_stats(struct vhu_dev *dev, uint16_t vring);

/* ---- notifications ------------------------------------------------------ */
/* Ask the guest to kick (enable=1) or not to kick (0) when it adds
 * buffers to this vring. Kicks are off by default: the backend polls. */
int vhu_vring_enable_guest_notification(struct vhu_dev *dev, uint16_t vring,
					int enable);
/* The vring's kick eventfd for epoll, or -1. Valid until destroy_device. */
int vhu_vring_get_kickfd(const struct vhu_dev *dev, uint16_t vring);
/* Reads (clears) a pending kick. */
void vhu_vring_drain_kick(struct vhu_dev *dev, uint16_t vring);

/* ---- data path --------------------------------------------------------- */
/* Copies up to n packets into the guest's receive vring. Returns how many
 * were taken; the caller still owns (and frees) all of pkts. */
uint16_t vhu_enqueue_burst(struct vhu_dev *dev, uint16_t vring,
			   struct vhu_pkt *const *pkts, uint16_t n);
/* Takes up to n packets from the guest's transmit vring into segments
 * allocated from pool. The caller owns the returned packets. */
uint16_t vhu_dequeue_burst(struct vhu_dev *dev, uint16_t vring,
			   struct vhu_pkt_pool *pool, struct vhu_pkt **pkts,
			   uint16_t n);

/* ---- logging --------------------------------------------------------- */
enum vhu_log_level { VHU_LOG_ERR = 0, VHU_LOG_WARN, VHU_LOG_INFO, VHU_LOG_DEBUG };
typedef void (*vhu_log_fn)(enum vhu_log_level lvl, const char *msg, void *arg);
/* Replaces the default logger (stderr, INFO and above). */
void vhu_log_set_handler(vhu_log_fn fn, void *arg);
void vhu_log_set_level(enum vhu_log_level lvl);

#ifdef __cplusplus
}
#endif
#endif
