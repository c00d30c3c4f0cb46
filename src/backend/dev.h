/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A device is one frontend connection on a registered socket. The control
 * thread (whoever runs the event loop, holding vhu_ctl) owns every field
 * here except the vrings' data-path state, which bursts touch under each
 * vring's own lock (see src/vq/vq.h).
 *
 * States:  CONNECTED --(mem table + first queue pair started & enabled)-->
 *          RUNNING (new_device called) --(GET_VRING_BASE, RESET_OWNER,
 *          disconnect)--> CONNECTED (destroy_device called) --> freed on
 *          disconnect (destroy_connection called).
 */
#ifndef VHU_BACKEND_DEV_H
#define VHU_BACKEND_DEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <vhu/vhu.h>
#include "common/tsa.h"
#include "loop/loop.h"
#include "mem/dirty_log.h"
#include "mem/iotlb.h"
#include "backend/cb.h"
#include "mem/memmap.h"
#include "proto/backend_chan.h"
#include "proto/wire.h"
#include "vq/vq.h"

struct vhu_socket;
struct vhu_loop_entry;
struct vhu_conn;
struct vhu_held_msg;

/* Fields marked VHU_CTL are written and read only under vhu_ctl (clang
 * checks it); the others say who may touch them. */
#define VHU_CTL VHU_GUARDED_BY(vhu_ctl)
struct vhu_dev {
	struct vhu_socket *sock VHU_CTL;
	struct vhu_dev *next VHU_CTL;          /* in sock->devs */
	int fd VHU_CTL;
	struct vhu_loop_entry *ev VHU_CTL;
	struct vhu_conn *conn VHU_CTL;         /* its I/O, src/backend/conn.h */
	uint64_t id;                     /* set at creation, then read-only */
	char name[48];                   /* "path#id" for log lines; read-only */

	uint64_t features VHU_CTL;             /* negotiated */
	uint64_t protocol_features VHU_CTL;
	bool features_set VHU_CTL;
	bool running VHU_CTL;
	uint32_t hdr_len VHU_CTL;
	uint8_t status VHU_CTL;

	struct vhu_memmap *mem VHU_CTL;
	/* Written under vhu_ctl, published whole (release); bursts load it
	 * (acquire) without vhu_ctl. */
	struct vhu_vq *vq[VHU_MAX_VRINGS];
	uint16_t nr_vring VHU_CTL;

	uint16_t mtu VHU_CTL;                  /* 0: not set */
	uint8_t mac[6];                  /* from SEND_RARP; written before
					  * rarp_pending is set (release) */
	int rarp_pending;                /* atomic: inject a RARP on dequeue */
	struct vhu_backend_chan backend; /* SET_BACKEND_REQ_FD's socket: bursts
					  * send IOTLB misses on it (own lock) */
	/* ACCESS_PLATFORM's IOTLB, made when the feature is first negotiated;
	 * changed with every vring locked, as the dirty log (mem/iotlb.h). */
	struct vhu_iotlb *iotlb VHU_CTL;
	int log_fd VHU_CTL;
	struct vhu_dirty_log log;        /* its vrings point here; changed with
					  * every vring locked (mem/dirty_log.h) */
	void *log_map VHU_CTL;
	uint64_t log_map_size VHU_CTL;

	int inflight_fd VHU_CTL;               /* INFLIGHT_SHMFD region, ours */
	void *inflight_map VHU_CTL;
	uint64_t inflight_size VHU_CTL;
	int reply_fd VHU_CTL;                  /* sent with the next reply, not closed */
	struct vhu_role vrings_locked;   /* held from vhu_dev_lock_all to unlock_all */

	void *priv;                      /* the application's */

	/* A callback in flight (backend/cb.h): the connection is paused and
	 * the device is not freed until it has returned. */
	bool cb_busy VHU_CTL;
	struct vhu_cb_call cb_call;      /* the calling thread's while cb_busy */
	bool closing VHU_CTL;            /* vhu_dev_destroy began */
	bool conn_cb_called VHU_CTL;     /* destroy_connection started */
	/* The callback a handler asks for (features_changed,
	 * vring_state_changed), started once the message's answer is ready;
	 * kind VHU_CB_NONE when none is. */
	struct vhu_cb_args post VHU_CTL;
	/* The message waiting for the callback: answered, or handled again,
	 * when it returns (dispatch.c). */
	struct vhu_held_msg *held VHU_CTL;
};

/* One registered path. */
struct vhu_socket {
	struct vhu_socket *next VHU_CTL;
	char *path VHU_CTL;
	uint64_t flags VHU_CTL;
	bool is_server VHU_CTL;
	bool reconnect VHU_CTL;
	bool started VHU_CTL;
	unsigned mode VHU_CTL;
	uint64_t features VHU_CTL;
	uint64_t protocol_features VHU_CTL;
	uint16_t max_queue_pairs VHU_CTL;
	struct vhu_device_ops ops VHU_CTL;
	void *ctx VHU_CTL;
	int listen_fd VHU_CTL;
	struct vhu_loop_entry *listen_ev VHU_CTL;
	int timer_fd VHU_CTL;                  /* client reconnect */
	struct vhu_loop_entry *timer_ev VHU_CTL;
	struct vhu_dev *devs VHU_CTL;
	unsigned io_timeout_ms VHU_CTL;        /* a message partial, replies unread */
	unsigned max_conns VHU_CTL;            /* server: devices at once */
	uint64_t refused VHU_CTL;              /* connections over max_conns */
	int64_t refused_logged_ms VHU_CTL;     /* last log line about them */
};

struct vhu_dev *vhu_dev_create(struct vhu_socket *s, int fd) VHU_REQUIRES(vhu_ctl);
/* Stops the device (destroy_device if running), closes everything and
 * frees it (destroy_connection first). */
void vhu_dev_destroy(struct vhu_dev *dev) VHU_REQUIRES(vhu_ctl);
/* Destroying is done in steps, each after a callback has returned
 * (destroy_device, then destroy_connection); the device stays on its
 * socket's list, closing, until the last. */
/* Marks a running device stopped and starts destroy_device; true when
 * that callback is now in flight. */
bool vhu_dev_stop(struct vhu_dev *dev) VHU_REQUIRES(vhu_ctl);
/* Starts new_device when the device just became ready. */
void vhu_dev_check_ready(struct vhu_dev *dev) VHU_REQUIRES(vhu_ctl);
/* A handler's callback, started after the message's answer is ready and
 * sent when it returns (vring_state_changed, features_changed). */
void vhu_dev_post_cb(struct vhu_dev *dev, struct vhu_cb_args args) VHU_REQUIRES(vhu_ctl);
/* On the control thread, once dev's callback returned: what the
 * message or close waited for, then the connection resumes. */
void vhu_dev_cb_finish(struct vhu_dev *dev) VHU_REQUIRES(vhu_ctl);
/* dispatch.c's half of it: the held message answered or handled again,
 * then check_ready. false: close. */
bool vhu_dev_msg_resume(struct vhu_dev *dev) VHU_REQUIRES(vhu_ctl);
/* Frees the held message, closing its fds. */
void vhu_dev_msg_drop(struct vhu_dev *dev) VHU_REQUIRES(vhu_ctl);
/* The vring, created on first use. NULL when index is out of range. */
struct vhu_vq *vhu_dev_vq(struct vhu_dev *dev, uint32_t index) VHU_REQUIRES(vhu_ctl);
/* Every vring's lock, in index order: no burst runs while they are held. */
void vhu_dev_lock_all(struct vhu_dev *dev) VHU_REQUIRES(vhu_ctl)
	VHU_ACQUIRE(dev->vrings_locked);
void vhu_dev_unlock_all(struct vhu_dev *dev) VHU_REQUIRES(vhu_ctl)
	VHU_RELEASE(dev->vrings_locked);
/* Handles one whole message (its fds closed or taken after); false:
 * close the connection. */
bool vhu_dev_handle_msg(struct vhu_dev *dev, struct vhu_msg *msg) VHU_REQUIRES(vhu_ctl);
/* Frees mem and everything the frontend configured (RESET_OWNER). */
void vhu_dev_reset(struct vhu_dev *dev) VHU_REQUIRES(vhu_ctl);

/* A callback that took this long or more gets a log line naming it
 * (backend/cb.c): it held its device that long. */
#define VHU_SLOW_CALLBACK_MS 100
/* The IOTLB the vrings translate through: the device's with
 * VIRTIO_F_ACCESS_PLATFORM negotiated, else NULL (addresses are GPAs). */
static inline struct vhu_iotlb *vhu_dev_iotlb_view(const struct vhu_dev *dev)
	VHU_REQUIRES(vhu_ctl)
{
	return dev->features & (1ULL << VIRTIO_F_ACCESS_PLATFORM) ? dev->iotlb : NULL;
}
/* After the IOTLB changed: every vring's ring addresses translated again
 * (rings an invalidation took stop, rings an update completes start). */
void vhu_dev_iotlb_retranslate(struct vhu_dev *dev) VHU_REQUIRES(vhu_ctl, dev->vrings_locked);

/* Socket layer callbacks into the device layer. */
void vhu_socket_dev_closed(struct vhu_socket *s, struct vhu_dev *dev) VHU_REQUIRES(vhu_ctl);

#endif
