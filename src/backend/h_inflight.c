/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * GET_INFLIGHT_FD / SET_INFLIGHT_FD: the shared region that lets a
 * restarted backend know where each vring stopped (src/vq/inflight.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "backend/msg.h"
#include "common/log.h"
#include "vq/inflight.h"

static bool geometry_ok(struct vhu_dev *dev, const struct vhu_inflight_wire *w)
{
	/* INFLIGHT_SHMFD being negotiated is checked by vhu_msg_check (the
	 * gate column of src/proto/requests.h). */
	if (w->num_queues == 0 || w->num_queues > VHU_MAX_VRINGS ||
	    w->queue_size == 0 || w->queue_size > VHU_MAX_RING_SIZE) {
		VHU_ERR("%s: inflight region for %u queues of %u entries refused (1 to %d "
			"queues, 1 to %d entries)", dev->name, w->num_queues, w->queue_size,
			VHU_MAX_VRINGS, VHU_MAX_RING_SIZE);
		return false;
	}
	return true;
}

void vhu_dev_inflight_unmap(struct vhu_dev *dev) VHU_REQUIRES(vhu_ctl)
{
	for (int i = 0; i < VHU_MAX_VRINGS; i++) {
		struct vhu_vq *vq = dev->vq[i];
		if (!vq)
			continue;
		vhu_spin_lock(&vq->lock);
		vq->inflight = NULL;
		vq->inflight_room = 0;
		vhu_spin_unlock(&vq->lock);
	}
	if (dev->inflight_map)
		munmap(dev->inflight_map, dev->inflight_size);
	if (dev->inflight_fd >= 0)
		close(dev->inflight_fd);
	dev->inflight_map = NULL;
	dev->inflight_fd = -1;
	dev->inflight_size = 0;
}

/* Points each vring at its part of the region. */
static void attach(struct vhu_dev *dev, uint8_t *base, uint16_t nq, uint16_t qsize)
	VHU_REQUIRES(vhu_ctl)
{
	size_t stride = vhu_inflight_stride(qsize);
	for (uint16_t i = 0; i < nq; i++) {
		struct vhu_vq *vq = vhu_dev_vq(dev, i);
		if (!vq)
			continue;
		vhu_spin_lock(&vq->lock);
		vq->inflight = base + (size_t)i * stride;
		vq->inflight_room = qsize;
		vhu_spin_unlock(&vq->lock);
	}
}

int vhu_h_get_inflight_fd(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	struct vhu_inflight_wire w = msg->p.inflight;
	size_t size;
	int fd;
	void *p;

	if (!geometry_ok(dev, &w))
		return VHU_H_CLOSE;
	size = (size_t)w.num_queues * vhu_inflight_stride(w.queue_size);
	fd = memfd_create("vhu-inflight", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		VHU_ERR("%s: inflight region of %zu bytes: %s", dev->name, size, strerror(errno));
		if (fd >= 0)
			close(fd);
		return VHU_H_CLOSE;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		VHU_ERR("%s: inflight region mmap: %s", dev->name, strerror(errno));
		close(fd);
		return VHU_H_CLOSE;
	}
	vhu_dev_inflight_unmap(dev);
	dev->inflight_fd = fd;
	dev->inflight_map = p;
	dev->inflight_size = size;
	attach(dev, p, w.num_queues, w.queue_size);
	VHU_INFO("%s: inflight region of %zu bytes for %u queues of %u", dev->name, size,
		 w.num_queues, w.queue_size);
	msg->p.inflight.mmap_size = size;
	msg->p.inflight.mmap_offset = 0;
	msg->hdr.size = sizeof(msg->p.inflight);
	dev->reply_fd = fd;
	return VHU_H_REPLY;
}

int vhu_h_set_inflight_fd(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	struct vhu_inflight_wire w = msg->p.inflight;
	uint64_t need, end;
	struct stat st;
	void *p;

	if (!geometry_ok(dev, &w))
		return -EINVAL;
	need = (uint64_t)w.num_queues * vhu_inflight_stride(w.queue_size);
	/* The region's fields are 8-byte words: a misaligned offset would
	 * make every access to them misaligned. */
	if (w.mmap_size < need || (w.mmap_offset & 7) ||
	    __builtin_add_overflow(w.mmap_size, w.mmap_offset, &end) ||
	    fstat(msg->fds[0], &st) < 0 || (S_ISREG(st.st_mode) && end > (uint64_t)st.st_size)) {
		VHU_ERR("%s: SET_INFLIGHT_FD size 0x%llx offset 0x%llx does not hold %u queues "
			"of %u, is misaligned or is past the end of its file", dev->name,
			(unsigned long long)w.mmap_size, (unsigned long long)w.mmap_offset,
			w.num_queues, w.queue_size);
		return -EINVAL;
	}
	p = mmap(NULL, end, PROT_READ | PROT_WRITE, MAP_SHARED, msg->fds[0], 0);
	if (p == MAP_FAILED) {
		VHU_ERR("%s: SET_INFLIGHT_FD mmap: %s", dev->name, strerror(errno));
		return -errno;
	}
	vhu_dev_inflight_unmap(dev);
	dev->inflight_fd = vhu_msg_take_fd(msg, 0);
	dev->inflight_map = p;
	dev->inflight_size = end;
	attach(dev, (uint8_t *)p + w.mmap_offset, w.num_queues, w.queue_size);
	VHU_INFO("%s: inflight region set for %u queues of %u", dev->name, w.num_queues,
		 w.queue_size);
	return 0;
}
