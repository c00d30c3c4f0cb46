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
 * vhu_loop_run() on vhu_loop_fd(). Callbacks run on threads the library
 * starts for them (see struct vhu_device_ops). Bursts may run on any
 * other thread; one thread per vring at a time.
 *
 * Vring numbering follows virtio-net: vring 2*q is the guest's receive
 * queue of pair q (host to guest, vhu_enqueue_burst) and 2*q+1 its
 * transmit queue (guest to host, vhu_dequeue_burst).
 *
 * All functions returning int give 0 on success and a negative errno
 * value on failure (a few return a count or an fd, said where they do).
 * The library never exits or aborts the process.
 *
 * Which thread may call what; each function says which of these it is:
 *   [any]      any thread, any time.
 *   [control]  any thread that is not bursting: it takes the library's
 *              control lock, which the event loop holds while it handles
 *              events (callbacks run without it). From a callback too,
 *              unless said otherwise. Never from a data thread that
 *              destroy_device waits for: that deadlocks.
 *   [device]   while the device exists (new_connection until
 *              destroy_connection returns): its callbacks, or any thread
 *              the application has told the device exists.
 *   [data]     the one thread bursting on that vring, between new_device
 *              and destroy_device.
 *
 * Binary compatibility: programs built against these headers keep
 * running on later libvhu.so.<major> (version and rules in
 * <vhu/version.h>). struct vhu_device_ops and struct vhu_vring_stats have
 * reserved room that later fields are carved out of, so their size
 * never changes within a major; struct vhu_pkt and struct
 * vhu_pkt_offload (<vhu/pkt.h>) are fixed layout, as are the enums and
 * the vhu_log_fn signature. Every other struct is opaque.
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
/* Dequeue zero-copy: a packet vhu_dequeue_burst() returns may refer to
 * the guest's transmit buffer instead of a copy of it. Its first segment
 * is always the library's own copy of the packet's start (at least
 * VHU_PKT_ZC_HEAD bytes, and the offload fields ol asks for: checksum
 * field, GSO headers); the segments after it are the guest's memory,
 * read-only (never write into them) and rewritable by the guest while
 * you hold them, so decide on the first segment's bytes only. The
 * buffer goes back to the guest when the packet is freed (any thread;
 * the vring's next burst returns it when the free could not). At most
 * half a ring is held this way, then bursts copy; small packets are
 * always copied. Stopping the vring (GET_VRING_BASE, disconnect) takes
 * held buffers back; their packets stay readable (the memory stays
 * mapped) until freed. Not with inflight tracking (INFLIGHT_SHMFD in
 * use) nor behind a vIOMMU (VIRTIO_F_ACCESS_PLATFORM): bursts copy. */
#define VHU_DEQUEUE_ZERO_COPY (1ULL << 3)
/* Fault every page of guest memory in when it is mapped (MAP_POPULATE's
 * effect): the time and RSS are paid at connect rather than on first use,
 * and memory overcommit and ballooning are undone. Without it pages come
 * in as the data path first touches them, as in DPDK. */
#define VHU_POPULATE_MEM  (1ULL << 4)

#define VHU_MAX_QUEUE_PAIRS 16
#define VHU_MAX_VRINGS      (2 * VHU_MAX_QUEUE_PAIRS)
#define VHU_MAX_RING_SIZE   32768
#define VHU_MAX_BURST       256

/* virtio-net UDP segmentation feature bits (virtio 1.2), which older
 * UAPI headers (Debian 12's) lack. */
#define VHU_NET_F_GUEST_USO4 54
#define VHU_NET_F_GUEST_USO6 55
#define VHU_NET_F_HOST_USO   56

#define VHU_VRING_RX(q) ((uint16_t)(2 * (q)))     /* host -> guest */
#define VHU_VRING_TX(q) ((uint16_t)(2 * (q) + 1)) /* guest -> host */

struct vhu_dev;

/* Device events, copied by vhu_driver_callback_register(). Every
 * callback is optional (NULL: not called).
 *
 * Threads and locks: each call runs on a thread the library starts for
 * it, not on the control thread, and without the control lock: a slow
 * callback holds only its own device. While it runs, that device's
 * connection is paused (nothing read from the frontend, the answer to
 * the message that caused it sent once it returned); every other
 * connection is served. One callback at a time per device, in the
 * device's order (new_connection first, destroy_connection last);
 * callbacks of different devices may run at the same time,
 * so state they share needs the application's own lock or atomics. A
 * device is not freed while its callback runs, even when its frontend
 * leaves meanwhile: destroy_device (if it was running) and then
 * destroy_connection follow once it returned. Every API call is allowed
 * from a callback except vhu_driver_unregister() of the device's own path
 * (-EDEADLK: it waits for its devices' callbacks) and the loop calls
 * marked so; nor may a callback wait on a lock the application holds
 * around vhu_driver_unregister(). One that takes 100 ms or more is named
 * in a log line.
 *
 * Fill it with a designated initializer (or
 * zero it first): reserved must be all NULL. A later release puts new
 * callbacks in reserved's place without changing the size, so a program
 * built today keeps working, and a program that sets one is refused
 * (-ENOTSUP) by an older library rather than silently not called. */
struct vhu_device_ops {
	/* The device is ready for bursts (memory mapped, first queue pair
	 * started). Return non-zero to refuse it: the connection is closed. */
	int (*new_device)(struct vhu_dev *dev);
	/* The device stops: no burst may be issued on it once this returns. */
	void (*destroy_device)(struct vhu_dev *dev);
	/* A vring of a running device was enabled or disabled by the
	 * frontend. The return value is ignored (return 0). */
	int (*vring_state_changed)(struct vhu_dev *dev, uint16_t vring,
				   int enable);
	/* Negotiated features changed on a running device (e.g. dirty page
	 * logging, VHOST_F_LOG_ALL, at the start and end of migration).
	 * Called with the vrings unlocked. The return value is ignored
	 * (return 0). */
	int (*features_changed)(struct vhu_dev *dev, uint64_t features);
	/* A frontend connected; the device exists but is not ready. Return
	 * non-zero to refuse it: the connection is closed. */
	int (*new_connection)(struct vhu_dev *dev);
	/* The connection is gone; dev is freed after this returns. */
	void (*destroy_connection)(struct vhu_dev *dev);
	/* Room for callbacks of later releases; must be NULL. */
	void (*reserved[8])(void);
};

/* ---- registration ---------------------------------------------------- */
/* All [control]. A registered socket is named by its path in every call;
 * calls on a path that is not registered return -ENOENT. Settings made
 * after vhu_driver_start() apply to connections that come later. */

/* Registers a socket: a server socket created at path, or with
 * VHU_CLIENT one that connects to it. Nothing happens until
 * vhu_driver_start(). 0, -EINVAL (empty path, unknown flags),
 * -ENAMETOOLONG, -EEXIST (already registered) or -ENOMEM. */
int vhu_driver_register(const char *path, uint64_t flags);
/* Closes the socket and every device on it and removes a server's
 * socket file. Waits until every callback of its devices returned
 * (destroy_device and destroy_connection included), so none runs after;
 * the control lock is released meanwhile. From a callback of a device of
 * this path: -EDEADLK. */
int vhu_driver_unregister(const char *path);
/* Virtio features offered to frontends (default vhu_default_features()).
 * set replaces, enable adds (-ENOTSUP for features libvhu cannot do),
 * disable removes, get reads. The offloads offered by default are the
 * checksum ones (CSUM, GUEST_CSUM), TSO (HOST_/GUEST_TSO4/6 and ECN) and
 * USO (HOST_USO, GUEST_USO4/6); set and disable also withdraw an offload
 * whose prerequisite is gone (virtio 1.2, 5.1.3.1: TSO and USO need the
 * checksum offload of their direction, ECN needs TSO), so disabling CSUM
 * withdraws HOST_TSO4/6, HOST_ECN and HOST_USO with it.
 *
 * A guest that negotiated HOST_TSO4/6 or HOST_USO sends packets of up to
 * 64 KiB plus headers: dequeue chains as many pool segments as one takes
 * (33 of 2 KiB), so size pools for bursts of those, or turn the HOST_
 * offloads off. Enqueue gives a GSO packet only to a guest that took its
 * GUEST_ offload (and drops it otherwise, counted: segment it first with
 * vhu_pkt_gso_segment()), and completes a partial checksum in software
 * for a guest without GUEST_CSUM. */
int vhu_driver_set_features(const char *path, uint64_t features);
int vhu_driver_get_features(const char *path, uint64_t *features);
int vhu_driver_enable_features(const char *path, uint64_t features);
int vhu_driver_disable_features(const char *path, uint64_t features);
/* vhost-user protocol features offered (default
 * vhu_default_protocol_features()); -ENOTSUP for ones libvhu lacks. */
int vhu_driver_set_protocol_features(const char *path, uint64_t features);
int vhu_driver_get_protocol_features(const char *path, uint64_t *features);
/* Queue pairs offered (GET_QUEUE_NUM); default and maximum
 * VHU_MAX_QUEUE_PAIRS; -EINVAL outside 1..VHU_MAX_QUEUE_PAIRS. */
int vhu_driver_set_max_queue_pairs(const char *path, uint16_t n);
int vhu_driver_get_max_queue_pairs(const char *path, uint16_t *n);
/* Mode of a server socket file (default 0660; -EINVAL beyond 0777).
 * Set before start. */
int vhu_driver_set_socket_mode(const char *path, unsigned mode);
/* Server: frontends connected at once (default
 * VHU_DEFAULT_MAX_CONNECTIONS); one more is accepted and closed at once,
 * with a log line (one a second at most, counting them). -EINVAL for 0.
 * Applies to the next connection. */
#define VHU_DEFAULT_MAX_CONNECTIONS 1024
int vhu_driver_set_max_connections(const char *path, unsigned n);
/* Longest a frontend may leave a message half sent, or its replies
 * unread, before its connection is closed with a log line (default
 * VHU_DEFAULT_IO_TIMEOUT_MS, precision 0.1 s). Nobody else waits
 * meanwhile: the library reads and writes every connection without
 * blocking. -EINVAL outside VHU_MIN_IO_TIMEOUT_MS..VHU_MAX_IO_TIMEOUT_MS.
 * Applies at once, also to connections already there. */
#define VHU_DEFAULT_IO_TIMEOUT_MS 3000
#define VHU_MIN_IO_TIMEOUT_MS 100
#define VHU_MAX_IO_TIMEOUT_MS 3600000
int vhu_driver_set_io_timeout(const char *path, unsigned ms);
/* Copies *ops (NULL: no callbacks) and keeps ctx, which
 * vhu_dev_get_ctx() gives back on every device of this path. Set before
 * start. -ENOTSUP when ops->reserved is not all NULL (see struct
 * vhu_device_ops). */
int vhu_driver_callback_register(const char *path,
				 const struct vhu_device_ops *ops, void *ctx);
/* Listens (server) or connects (client; with reconnect, a peer that is
 * not there yet is retried every second), starting the library's event
 * loop thread unless vhu_loop_set_external() was called. 0, -EALREADY
 * when started already, or a negative errno from socket, bind, listen,
 * connect or thread creation. */
int vhu_driver_start(const char *path);

/* Everything libvhu offers by default: virtio features, vhost-user
 * protocol features. [any] */
uint64_t vhu_default_features(void);
uint64_t vhu_default_protocol_features(void);

/* ---- event loop -------------------------------------------------------- */
/* Before the first vhu_driver_start(): the application drives the loop
 * itself with vhu_loop_run(); no library thread is created. 0, or -EBUSY
 * when the library thread already runs. [any] */
int vhu_loop_set_external(void);
/* An fd that becomes readable when vhu_loop_run() has work (the epoll
 * fd; the library owns it). The fd, or a negative errno when the loop
 * cannot be created. [any] */
int vhu_loop_fd(void);
/* Handles pending events, waiting at most timeout_ms (-1: forever);
 * callbacks are started from it and their devices resumed by it when
 * they returned (vhu_loop_fd() becomes readable then). Returns the number of events handled (0 on
 * timeout or a signal) or a negative errno. Only with an external loop,
 * from one thread (that thread is then the control thread), not from a
 * callback. */
int vhu_loop_run(int timeout_ms);
/* Starts the library's loop thread ("vhu-ctl") if it is not running;
 * vhu_driver_start() does this itself. 0 or a negative errno. [any], not
 * from a callback. */
int vhu_loop_start_thread(void);
/* Stops the library thread, if any, and waits for it; registered
 * sockets stay (and are served again after vhu_loop_start_thread()).
 * [any], not from a callback (it would wait for itself). */
void vhu_loop_stop_thread(void);

/* ---- device queries ---------------------------------------------------- */
/* All [device]; dev must be a live device (these do not check). Values
 * the frontend sets change only on the control thread, so a data thread
 * sees them stable between new_device and destroy_device (features
 * changes are announced by features_changed). */

/* The ctx given to vhu_driver_callback_register() for dev's path. */
void *vhu_dev_get_ctx(const struct vhu_dev *dev);
/* One pointer of the application's per device (NULL at first); plain
 * loads and stores, so set it before other threads read it (e.g. in
 * new_connection or new_device). */
void vhu_dev_set_priv(struct vhu_dev *dev, void *priv);
void *vhu_dev_get_priv(const struct vhu_dev *dev);
/* Socket path the device came in on (the library's copy, valid while the
 * device exists). */
const char *vhu_dev_get_path(const struct vhu_dev *dev);
/* Small unique number for log lines, never reused in a process. */
uint64_t vhu_dev_get_id(const struct vhu_dev *dev);
/* Negotiated virtio and vhost-user protocol features. */
uint64_t vhu_dev_get_features(const struct vhu_dev *dev);
uint64_t vhu_dev_get_protocol_features(const struct vhu_dev *dev);
/* Vrings the frontend has set up (highest index + 1). */
uint16_t vhu_dev_get_vring_num(const struct vhu_dev *dev);
/* MTU set by the frontend (NET_SET_MTU) into *mtu: 0, or -ENOENT when
 * none was set. */
int vhu_dev_get_mtu(const struct vhu_dev *dev, uint16_t *mtu);
/* Between new_device and destroy_device. */
bool vhu_dev_is_running(const struct vhu_dev *dev);
/* The vring's state (false, or 0 for the size, when the vring index is
 * out of range or the vring does not exist). */
bool vhu_vring_is_enabled(const struct vhu_dev *dev, uint16_t vring);
/* A vring that met malformed input stays broken until the frontend
 * reconfigures it. */
bool vhu_vring_is_broken(const struct vhu_dev *dev, uint16_t vring);
uint16_t vhu_vring_get_size(const struct vhu_dev *dev, uint16_t vring);
/* Descriptors the guest has made available and the device has not taken
 * (DPDK's rte_vhost_avail_entries); 0 when the vring is not active or is
 * being reconfigured. Meant for the [data] thread of the vring; from any
 * other thread it takes the vring's lock and may make a burst running
 * at that moment return 0 packets. On a packed ring counting reads each
 * available descriptor (at most VHU_MAX_BURST), and on a full ring the
 * last ones read are those the guest is writing again: a caller that
 * can use only a burst asks vhu_vring_avail_count for that many. */
uint16_t vhu_vring_avail_entries(struct vhu_dev *dev, uint16_t vring);
/* The same, counting no further than max: min(available, max). */
uint16_t vhu_vring_avail_count(struct vhu_dev *dev, uint16_t vring, uint16_t max);

/* A vring's counters; filled by the library, so its size is part of the
 * ABI: later counters are carved out of reserved (which reads 0 until
 * then). */
struct vhu_vring_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t drops;   /* enqueue: packets not delivered for lack of room
			   * or a bad packet; dequeue: packets dropped */
	uint64_t errors;  /* malformed descriptors seen */
	uint64_t kicks;   /* notifications sent to the guest */
	/* Behind a vIOMMU (ACCESS_PLATFORM): IOTLB misses this vring sent
	 * the frontend (its rings', its buffers', and those of the next
	 * buffers asked for ahead), as many as the frontend receives. A page
	 * asked for is not asked, nor counted, again until an update comes
	 * or 100 ms passed, so bursts retried while an answer is on its way
	 * count one miss. 0 from libvhu 0.1 (reserved there). */
	uint64_t iotlb_misses;
	uint64_t reserved[2]; /* 0; keeps the struct one 64-byte line */
};
/* Copies the vring's counters into *st. Each counter is read whole, not
 * all of them at one instant. 0, or -ENOENT when the vring does not
 * exist. [device] */
int vhu_vring_get_stats(const struct vhu_dev *dev, uint16_t vring,
			struct vhu_vring_stats *st);
/* Zeroes the vring's counters, taking the vring's lock (so it waits
 * for a burst in progress). 0 or -ENOENT. [device] */
int vhu_vring_reset_stats(struct vhu_dev *dev, uint16_t vring);

/* ---- notifications ------------------------------------------------------ */
/* Ask the guest to kick (enable=1) or not to kick (0) when it adds
 * buffers to this vring. Kicks are off by default: the backend polls.
 * Takes the vring's lock. 0, or -EINVAL when the vring does not exist.
 * [device] */
int vhu_vring_enable_guest_notification(struct vhu_dev *dev, uint16_t vring,
					int enable);
/* The vring's kick eventfd (the library's, non-blocking) for epoll;
 * -EINVAL when the vring does not exist, -ENOENT when the frontend gave
 * none. Valid until destroy_device. [device] */
int vhu_vring_get_kickfd(const struct vhu_dev *dev, uint16_t vring);
/* Reads (clears) a pending kick; nothing when there is none. [data] */
void vhu_vring_drain_kick(struct vhu_dev *dev, uint16_t vring);

/* ---- data path --------------------------------------------------------- */
/* Both [data]. They return 0 packets, never an error, when the vring is
 * not active, broken, of the wrong direction or being reconfigured by
 * the control thread at that moment: the caller just polls again. */

/* Copies up to n packets into the guest's receive vring (an even vring).
 * Returns how many were taken; the caller still owns (and frees) all of
 * pkts. */
uint16_t vhu_enqueue_burst(struct vhu_dev *dev, uint16_t vring,
			   struct vhu_pkt *const *pkts, uint16_t n);
/* Takes up to n packets from the guest's transmit vring (an odd vring)
 * into segments allocated from pool; returns how many are in pkts[0..).
 * The caller owns the returned packets. */
uint16_t vhu_dequeue_burst(struct vhu_dev *dev, uint16_t vring,
			   struct vhu_pkt_pool *pool, struct vhu_pkt **pkts,
			   uint16_t n);

/* ---- logging --------------------------------------------------------- */
/* Log lines of libvhu and libvhu-frontend. The handler gets one line
 * without a newline (msg is valid during the call only) and is called
 * on whichever thread logs: the control thread, and data threads (e.g.
 * when a vring breaks), possibly at once. */
enum vhu_log_level { VHU_LOG_ERR = 0, VHU_LOG_WARN, VHU_LOG_INFO, VHU_LOG_DEBUG };
typedef void (*vhu_log_fn)(enum vhu_log_level lvl, const char *msg, void *arg);
/* Replaces the default logger (stderr); NULL restores it. Not
 * synchronised: call it before vhu_driver_start() and before any other
 * thread uses the library. */
void vhu_log_set_handler(vhu_log_fn fn, void *arg);
/* Lines above lvl are dropped (default VHU_LOG_INFO). Not synchronised
 * either: set it with the handler. */
void vhu_log_set_level(enum vhu_log_level lvl);

#ifdef __cplusplus
}
#endif
#endif
