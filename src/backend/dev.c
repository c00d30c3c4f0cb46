/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "backend/conn.h"
#include "backend/dev.h"
#include "common/clock.h"
#include "common/log.h"
#include "backend/msg.h"
#include "loop/loop.h"
#include "net/net.h"
#include "vq/held.h"

static uint64_t next_dev_id = 1;

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

struct vhu_dev *vhu_dev_create(struct vhu_socket *s, int fd)
{
	struct vhu_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->sock = s;
	dev->fd = fd;
	dev->id = next_dev_id++;
	dev->log_fd = dev->inflight_fd = dev->reply_fd = -1;
	vhu_backend_chan_init(&dev->backend);
	snprintf(dev->name, sizeof(dev->name), "%s#%llu", s->path,
		 (unsigned long long)dev->id);
	/* Non-blocking, so that a frontend that stops mid-message or stops
	 * reading our replies holds nothing but its own connection. */
	dev->conn = vhu_conn_new(dev);
	if (!dev->conn || !vhu_conn_resume(dev)) {
		vhu_conn_free(dev->conn);
		free(dev);
		return NULL;
	}
	dev->next = s->devs;
	s->devs = dev;
	VHU_INFO("%s: new connection", dev->name);
	/* Read from once it returned (vhu_dev_cb_finish). */
	if (vhu_cb_wanted(dev, VHU_CB_NEW_CONNECTION))
		vhu_cb_start(dev, (struct vhu_cb_args){ .kind = VHU_CB_NEW_CONNECTION });
	return dev;
}

void vhu_dev_cb_finish(struct vhu_dev *dev)
{
	const struct vhu_cb_call *c = &dev->cb_call;
	bool keep = true;

	dev->cb_busy = false;
	if (c->args.kind == VHU_CB_NEW_CONNECTION && c->result != 0) {
		VHU_WARN("%s: application refused the connection", dev->name);
		keep = false;
	} else if (c->args.kind == VHU_CB_NEW_DEVICE && c->result != 0) {
		VHU_WARN("%s: application refused the device; closing", dev->name);
		/* Not running for the application: no destroy_device. */
		__atomic_store_n(&dev->running, false, __ATOMIC_RELAXED);
		keep = false;
	} else if (!dev->closing) {
		/* Watched again first: the held answer may have to wait for
		 * the socket; a callback it leads to pauses it again. */
		keep = vhu_conn_resume(dev) && vhu_dev_msg_resume(dev);
	}
	if (!keep || dev->closing)
		vhu_dev_destroy(dev); /* or its next step */
}

struct vhu_vq *vhu_dev_vq(struct vhu_dev *dev, uint32_t index)
{
	if (index >= VHU_MAX_VRINGS)
		return NULL;
	if (!dev->vq[index]) {
		struct vhu_vq *vq = vhu_vq_new((uint16_t)index, dev->name, &dev->log);
		if (!vq)
			return NULL;
		vq->features = dev->features;
		vq->hdr_len = dev->hdr_len;
		vq->iotlb = vhu_dev_iotlb_view(dev);
		vq->chan = &dev->backend;
		if ((dev->sock->flags & VHU_DEQUEUE_ZERO_COPY) && (index & 1) &&
		    !(vq->held = vhu_held_new(vq)))
			VHU_WARN("%s: vring %u: no memory for zero-copy, it copies",
				 dev->name, index);
		/* Bursts read the pointer without vhu_ctl: publish it whole. */
		__atomic_store_n(&dev->vq[index], vq, __ATOMIC_RELEASE);
		if (index + 1 > dev->nr_vring)
			__atomic_store_n(&dev->nr_vring, (uint16_t)(index + 1), __ATOMIC_RELAXED);
	}
	return dev->vq[index];
}

/* The loops are beyond the analysis; callers are checked against the
 * declarations' vrings_locked. */
void vhu_dev_lock_all(struct vhu_dev *dev) VHU_NO_TSA
{
	for (int i = 0; i < VHU_MAX_VRINGS; i++)
		if (dev->vq[i])
			vhu_spin_lock(&dev->vq[i]->lock);
}

void vhu_dev_unlock_all(struct vhu_dev *dev) VHU_NO_TSA
{
	for (int i = VHU_MAX_VRINGS - 1; i >= 0; i--)
		if (dev->vq[i])
			vhu_spin_unlock(&dev->vq[i]->lock);
}

void vhu_dev_check_ready(struct vhu_dev *dev)
{
	struct vhu_vq *rx = dev->vq[0], *tx = dev->vq[1];
	bool ready;

	if (dev->running || !dev->mem || !rx || !tx)
		return;
	vhu_dev_lock_all(dev);
	ready = rx->active && tx->active;
	vhu_dev_unlock_all(dev);
	if (!ready)
		return;
	__atomic_store_n(&dev->running, true, __ATOMIC_RELAXED);
	VHU_INFO("%s: device ready, features 0x%llx, %u vrings", dev->name,
		 (unsigned long long)dev->features, dev->nr_vring);
	/* Its refusal closes the connection (vhu_dev_cb_finish). */
	if (vhu_cb_wanted(dev, VHU_CB_NEW_DEVICE))
		vhu_cb_start(dev, (struct vhu_cb_args){ .kind = VHU_CB_NEW_DEVICE });
}

bool vhu_dev_stop(struct vhu_dev *dev)
{
	if (!dev->running)
		return false;
	__atomic_store_n(&dev->running, false, __ATOMIC_RELAXED);
	VHU_INFO("%s: device stopped", dev->name);
	if (!vhu_cb_wanted(dev, VHU_CB_DESTROY_DEVICE))
		return false;
	vhu_cb_start(dev, (struct vhu_cb_args){ .kind = VHU_CB_DESTROY_DEVICE });
	return true;
}

void vhu_dev_post_cb(struct vhu_dev *dev, struct vhu_cb_args args)
{
	if (vhu_cb_wanted(dev, args.kind))
		dev->post = args;
}

/* The caller holds every vring (vhu_dev_lock_all), which the analysis
 * cannot tie to this vring's lock. */
static void take_back_locked(struct vhu_vq *vq) VHU_NO_TSA
{
	vhu_held_take_back(vq);
}

static void vq_reset(struct vhu_vq *vq)
{
	int kfd = vq->kickfd;
	VHU_WRITE_ONCE(vq->kickfd, -1);
	if (kfd >= 0)
		close(kfd);
	close_fd(&vq->callfd);
	close_fd(&vq->errfd);
	vq->started = vq->addr_set = false;
	VHU_WRITE_ONCE(vq->enabled, false);
	VHU_WRITE_ONCE(vq->broken, false);
	vq->active = false;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	/* The packed ring's too: they point into the memory just unmapped. */
	vq->desc_packed = NULL;
	vq->driver_event = NULL;
	vq->device_event = NULL;
	vq->last_avail_idx = vq->last_used_idx = 0;
	vq->signalled_used_valid = false;
	vq->iotlb = NULL; /* features are gone too */
	VHU_WRITE_ONCE(vq->size, 0);
	/* Zero-copy buffers still out: their packets keep the memory, the
	 * gone ring gets nothing. */
	take_back_locked(vq);
}

/* With every vring locked (see mem/dirty_log.h). */
static void log_unmap(struct vhu_dev *dev) VHU_REQUIRES(vhu_ctl, dev->vrings_locked)
{
	dev->log.bitmap = NULL;
	dev->log.size = 0;
	if (dev->log_map)
		munmap(dev->log_map, dev->log_map_size);
	dev->log_map = NULL;
}

/* The device is stopped by then: its messages stop it first
 * (dispatch.c), as closing does. */
void vhu_dev_reset(struct vhu_dev *dev)
{
	vhu_dev_lock_all(dev);
	for (int i = 0; i < VHU_MAX_VRINGS; i++)
		if (dev->vq[i])
			vq_reset(dev->vq[i]);
	struct vhu_memmap *old = dev->mem;
	dev->mem = NULL;
	log_unmap(dev);
	if (dev->iotlb)
		vhu_iotlb_clear(dev->iotlb);
	__atomic_store_n(&dev->features, 0, __ATOMIC_RELAXED);
	dev->features_set = false;
	__atomic_store_n(&dev->protocol_features, 0, __ATOMIC_RELAXED);
	vhu_dev_unlock_all(dev);
	vhu_memmap_put(old);
	close_fd(&dev->log_fd);
}

void vhu_dev_destroy(struct vhu_dev *dev)
{
	struct vhu_socket *s = dev->sock;

	if (!dev->closing) {
		dev->closing = true;
		vhu_conn_pause(dev);
		vhu_conn_free(dev->conn);
		dev->conn = NULL;
		vhu_dev_msg_drop(dev);
		dev->post.kind = VHU_CB_NONE;
		VHU_INFO("%s: connection closed", dev->name);
	}
	/* Each step waits for the callback before it; the call's return
	 * comes back here (vhu_dev_cb_finish). */
	if (dev->cb_busy || vhu_dev_stop(dev))
		return;
	if (!dev->conn_cb_called && vhu_cb_wanted(dev, VHU_CB_DESTROY_CONNECTION)) {
		dev->conn_cb_called = true;
		vhu_cb_start(dev, (struct vhu_cb_args){ .kind = VHU_CB_DESTROY_CONNECTION });
		return;
	}
	vhu_dev_reset(dev);
	vhu_backend_chan_fini(&dev->backend);
	vhu_iotlb_free(dev->iotlb);
	vhu_dev_inflight_unmap(dev);
	close(dev->fd);
	for (struct vhu_dev **pp = &s->devs; *pp; pp = &(*pp)->next) {
		if (*pp == dev) {
			*pp = dev->next;
			break;
		}
	}
	for (int i = 0; i < VHU_MAX_VRINGS; i++)
		vhu_vq_free(dev->vq[i]);
	free(dev);
	vhu_socket_dev_closed(s, NULL);
}
