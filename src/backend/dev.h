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
#include "mem/memmap.h"
#include "proto/wire.h"
#include "vq/vq.h"

struct vhu_socket;
struct vhu_loop_entry;

/* Longest a connection may stall mid-message (or leave a reply unread
 * with its socket buffer full) before the backend drops it. */
#define VHU_CONN_IO_TIMEOUT_MS 3000

struct vhu_dev {
	struct vhu_socket *sock;
	struct vhu_dev *next;          /* in sock->devs */
	int fd;
	struct vhu_loop_entry *ev;
	uint64_t id;
	char name[48];                 /* "path#id" for log lines */

	uint64_t features;             /* negotiated */
	uint64_t protocol_features;
	bool features_set;
	bool running;
	uint32_t hdr_len;
	uint8_t status;

	struct vhu_memmap *mem;
	struct vhu_vq *vq[VHU_MAX_VRINGS];
	uint16_t nr_vring;

	uint16_t mtu;                  /* 0: not set */
	uint8_t mac[6];                /* from SEND_RARP */
	int rarp_pending;              /* atomic: inject a RARP on dequeue */
	int backend_req_fd;
	int log_fd;
	uint8_t *log_base;             /* dirty bitmap, NULL when not logging */
	uint64_t log_size;             /* bytes of bitmap */
	void *log_map;
	uint64_t log_map_size;

	int inflight_fd;               /* INFLIGHT_SHMFD region, ours */
	void *inflight_map;
	uint64_t inflight_size;
	uint16_t inflight_queue_size;  /* entries each vring's part has room for */
	int reply_fd;                  /* sent with the next reply, not closed */

	void *priv;
};

/* One registered path. */
struct vhu_socket {
	struct vhu_socket *next;
	char *path;
	uint64_t flags;
	bool is_server;
	bool reconnect;
	bool started;
	unsigned mode;
	uint64_t features;
	uint64_t protocol_features;
	uint16_t max_queue_pairs;
	struct vhu_device_ops ops;
	void *ctx;
	int listen_fd;
	struct vhu_loop_entry *listen_ev;
	int timer_fd;                  /* client reconnect */
	struct vhu_loop_entry *timer_ev;
	struct vhu_dev *devs;
};

/* The control lock: held by the event loop while it handles an event and
 * by every registration call, so control state has one owner at a time.
 * Recursive, so callbacks may call back into the registration API. */
extern pthread_mutex_t vhu_ctl;

struct vhu_dev *vhu_dev_create(struct vhu_socket *s, int fd);
/* Stops the device (destroy_device if running), closes everything and
 * frees it (destroy_connection first). */
void vhu_dev_destroy(struct vhu_dev *dev);
/* Stops a running device: destroy_device, vrings inactive. */
void vhu_dev_stop(struct vhu_dev *dev);
/* Calls new_device when the device just became ready. */
void vhu_dev_check_ready(struct vhu_dev *dev);
/* The vring, created on first use. NULL when index is out of range. */
struct vhu_vq *vhu_dev_vq(struct vhu_dev *dev, uint32_t index);
void vhu_dev_lock_all(struct vhu_dev *dev) VHU_NO_TSA;
void vhu_dev_unlock_all(struct vhu_dev *dev) VHU_NO_TSA;
/* Handles readable data on the connection; false: close it. */
bool vhu_dev_handle_msg(struct vhu_dev *dev);
/* Frees mem and everything the frontend configured (RESET_OWNER). */
void vhu_dev_reset(struct vhu_dev *dev);

/* Socket layer callbacks into the device layer. */
void vhu_socket_dev_closed(struct vhu_socket *s, struct vhu_dev *dev);

#endif
