/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Handlers for per-vring requests. The vring index was range-checked by
 * vhu_msg_check(); each handler changes the vring under its lock so a
 * burst on another thread sees either the old or the new configuration.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include "backend/msg.h"
#include "common/log.h"
#include "vq/held.h"
#include "vq/inflight.h"

static struct vhu_vq *msg_vq(struct vhu_dev *dev, uint32_t index) VHU_REQUIRES(vhu_ctl)
{
	struct vhu_vq *vq = vhu_dev_vq(dev, index);
	if (!vq)
		VHU_ERR("%s: vring %u: out of memory", dev->name, index);
	return vq;
}

int vhu_h_set_vring_num(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	uint32_t num = msg->p.state.num;
	/* Packed rings may have any size up to 2^15 (virtio 1.2, 2.8). */
	bool packed = dev->features & (1ULL << VIRTIO_F_RING_PACKED);
	struct vhu_vq *vq;

	if (num == 0 || num > VHU_MAX_RING_SIZE || (!packed && (num & (num - 1)))) {
		VHU_ERR("%s: vring %u: size %u invalid (%s up to %u)", dev->name,
			msg->p.state.index, num, packed ? "a size" : "a power of two",
			VHU_MAX_RING_SIZE);
		return -EINVAL;
	}
	if (!(vq = msg_vq(dev, msg->p.state.index)))
		return -ENOMEM;
	vhu_spin_lock(&vq->lock);
	VHU_WRITE_ONCE(vq->size, (uint16_t)num);
	if (vq->addr_set)
		vhu_vq_translate(vq, dev->mem);
	vhu_vq_update_active(vq);
	vhu_spin_unlock(&vq->lock);
	return 0;
}

int vhu_h_set_vring_addr(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	struct vhost_vring_addr *a = &msg->p.addr;
	struct vhu_vq *vq;
	int r = 0;

	if ((a->desc_user_addr & 15) || (a->avail_user_addr & 1) || (a->used_user_addr & 3)) {
		VHU_ERR("%s: vring %u: ring addresses misaligned (desc 0x%llx avail 0x%llx "
			"used 0x%llx)", dev->name, a->index,
			(unsigned long long)a->desc_user_addr,
			(unsigned long long)a->avail_user_addr,
			(unsigned long long)a->used_user_addr);
		return -EINVAL;
	}
	if (!(vq = msg_vq(dev, a->index)))
		return -ENOMEM;
	vhu_spin_lock(&vq->lock);
	vq->addr = *a;
	vq->addr_set = true;
	/* Before the memory table arrives there is nothing to check against;
	 * it is checked again when the table comes. IOVAs are known when the
	 * IOTLB has them: a miss now is no error (and is sent). */
	if (dev->mem && vq->size && !vhu_vq_translate(vq, dev->mem) && !vq->iotlb)
		r = -EFAULT;
	vhu_vq_update_active(vq);
	vhu_spin_unlock(&vq->lock);
	return r;
}

int vhu_h_set_vring_base(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	struct vhu_vq *vq;
	uint32_t base = msg->p.state.num;
	bool packed = dev->features & (1ULL << VIRTIO_F_RING_PACKED);

	/* Packed: QEMU also sends the used position and wrap counter in bits
	 * 16-31; we keep used equal to avail (nothing is ever in flight
	 * across a restart), as DPDK does. */
	if (packed)
		base &= 0xffff;
	else if (base > 0xffff) {
		VHU_ERR("%s: vring %u: base %u does not fit 16 bits", dev->name,
			msg->p.state.index, base);
		return -EINVAL;
	}
	if (!(vq = msg_vq(dev, msg->p.state.index)))
		return -ENOMEM;
	vhu_spin_lock(&vq->lock);
	if (packed) {
		/* Bits 0-14: the next descriptor position; bit 15: its wrap
		 * counter. Used starts where avail is (nothing in flight). */
		vq->last_avail_idx = vq->last_used_idx = (uint16_t)(base & 0x7fff);
		vq->avail_wrap = vq->used_wrap = (base >> 15) & 1;
	} else {
		vq->last_avail_idx = vq->last_used_idx = (uint16_t)base;
	}
	vq->signalled_used_valid = false;
	vhu_spin_unlock(&vq->lock);
	return 0;
}

int vhu_h_get_vring_base(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	uint32_t index = msg->p.state.index;
	struct vhu_vq *vq;

	/* Stopping any vring stops the device for the application: it must
	 * not run bursts while the frontend takes rings away. dispatch.c
	 * called destroy_device before this (vhu_dev_stop). */
	if (!(vq = msg_vq(dev, index)))
		return VHU_H_CLOSE;
	vhu_spin_lock(&vq->lock);
	/* Zero-copy buffers still out go back first, so that the position
	 * below has nothing in flight. */
	vhu_held_take_back(vq);
	msg->p.state.num = vq->last_avail_idx;
	if (vhu_vq_packed(vq)) {
		/* Bits 0-14 position, 15 wrap counter: avail in the low half,
		 * used (the same: nothing in flight) in the high half, which
		 * is how QEMU reads it back. */
		uint32_t v = vq->last_avail_idx | (uint32_t)vq->avail_wrap << 15;
		uint32_t u = vq->last_used_idx | (uint32_t)vq->used_wrap << 15;
		msg->p.state.num = v | u << 16;
	}
	vq->started = false;
	VHU_WRITE_ONCE(vq->broken, false);
	vq->active = false;
	int kfd = vq->kickfd;
	VHU_WRITE_ONCE(vq->kickfd, -1);
	if (kfd >= 0)
		close(kfd);
	vhu_spin_unlock(&vq->lock);
	VHU_DBG("%s: vring %u stopped at %u", dev->name, index, msg->p.state.num);
	msg->hdr.size = sizeof(msg->p.state);
	return VHU_H_REPLY;
}

/* Kick fds are read lock-free by vhu_vring_get_kickfd(). */
static int swap_fd(int *slot, int fd)
{
	return __atomic_exchange_n(slot, fd, __ATOMIC_RELAXED);
}

int vhu_h_set_vring_kick(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	uint32_t index = msg->p.u64 & VHU_VRING_IDX_MASK;
	int fd = (msg->p.u64 & VHU_VRING_NOFD) ? -1 : vhu_msg_take_fd(msg, 0);
	struct vhu_vq *vq;

	if (!(vq = msg_vq(dev, index))) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	/* vhu_vring_drain_kick() reads it without waiting. */
	if (fd >= 0)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	vhu_spin_lock(&vq->lock);
	int old = swap_fd(&vq->kickfd, fd);
	vq->started = true;
	VHU_WRITE_ONCE(vq->broken, false);
	/* Without protocol features a vring is enabled as soon as it starts. */
	if (!(dev->features & (1ULL << VHU_F_PROTOCOL_FEATURES)))
		VHU_WRITE_ONCE(vq->enabled, true);
	if (vq->addr_set && dev->mem)
		vhu_vq_translate(vq, dev->mem);
	vhu_inflight_recover(vq);
	/* Also after the region's recovery: a crash between the ring's
	 * write-back and the region's update leaves the region one burst
	 * behind, and the ring then tells the truth. */
	if (vhu_vq_packed(vq) && vq->desc_packed &&
	    !(dev->sock->flags & VHU_NO_RING_RESYNC))
		vhu_packed_resync(vq);
	vhu_vq_update_active(vq);
	vhu_spin_unlock(&vq->lock);
	if (old >= 0)
		close(old);
	return 0;
}

static int set_vring_fd(struct vhu_dev *dev, struct vhu_msg *msg, bool call)
	VHU_REQUIRES(vhu_ctl)
{
	uint32_t index = msg->p.u64 & VHU_VRING_IDX_MASK;
	int fd = (msg->p.u64 & VHU_VRING_NOFD) ? -1 : vhu_msg_take_fd(msg, 0);
	struct vhu_vq *vq;

	if (!(vq = msg_vq(dev, index))) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	vhu_spin_lock(&vq->lock);
	int old = swap_fd(call ? &vq->callfd : &vq->errfd, fd);
	vhu_spin_unlock(&vq->lock);
	if (old >= 0)
		close(old);
	return 0;
}

int vhu_h_set_vring_call(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	return set_vring_fd(dev, msg, true);
}

int vhu_h_set_vring_err(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	return set_vring_fd(dev, msg, false);
}

int vhu_h_set_vring_enable(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	uint32_t index = msg->p.state.index, en = msg->p.state.num;
	struct vhu_vq *vq;
	bool changed;

	if (en > 1) {
		VHU_ERR("%s: SET_VRING_ENABLE vring %u: value %u is not 0 or 1", dev->name,
			index, en);
		return -EINVAL;
	}
	if (!(vq = msg_vq(dev, index)))
		return -ENOMEM;
	vhu_spin_lock(&vq->lock);
	changed = vq->enabled != (en == 1);
	VHU_WRITE_ONCE(vq->enabled, en == 1);
	vhu_vq_update_active(vq);
	vhu_spin_unlock(&vq->lock);
	VHU_INFO("%s: vring %u %s", dev->name, index, en ? "enabled" : "disabled");
	if (changed && dev->running)
		vhu_dev_post_cb(dev, (struct vhu_cb_args){ .kind = VHU_CB_VRING_STATE_CHANGED,
						    .vring = (uint16_t)index, .enable = (int)en });
	return 0;
}
