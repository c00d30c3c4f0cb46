/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The frontend as a vIOMMU (opts.iommu): the backend asks for each IOVA it
 * meets (VHOST_IOTLB_MISS on the backend channel) and gets the 4 KiB page
 * around it as an IOTLB update, as QEMU's intel-iommu answers with the
 * guest's page mappings. IOVA = guest-physical + VHU_FE_IOVA_OFFSET, so a
 * backend that took an IOVA for a GPA misses every buffer.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "common/compiler.h"
#include "common/log.h"
#include "frontend/fe_priv.h"
#include "proto/backend_chan.h"

#define FE_IOMMU_PAGE 4096ull

int fe_iotlb_open(struct vhu_fe *fe)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	int r = fe_request(fe, VHU_REQ_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return r;
	}
	fe_iotlb_close(fe);
	fe->backend_fd = sv[0];
	return 0;
}

void fe_iotlb_close(struct vhu_fe *fe)
{
	if (fe->backend_fd >= 0)
		close(fe->backend_fd);
	fe->backend_fd = -1;
}

static int iotlb_msg(struct vhu_fe *fe, uint8_t type, uint64_t iova, uint64_t size,
		     uint64_t uaddr, uint8_t perm)
{
	struct vhost_iotlb_msg m = { .iova = iova, .size = size, .uaddr = uaddr,
				     .perm = perm, .type = type };

	return fe_request(fe, VHU_REQ_IOTLB_MSG, &m, sizeof(m), NULL, 0);
}

VHU_EXPORT int vhu_fe_iotlb_update(struct vhu_fe *fe, uint64_t iova, uint64_t size,
				   uint8_t perm)
{
	if (!fe || !fe->opts.iommu)
		return -ENOTCONN;
	for (uint16_t i = 0; i < fe->nregions; i++) {
		const struct fe_region *r = &fe->regions[i];
		if (iova >= r->dev_addr && iova - r->dev_addr < r->size) {
			uint64_t off = iova - r->dev_addr;
			uint64_t len = VHU_MIN(size, r->size - off);
			return iotlb_msg(fe, VHOST_IOTLB_UPDATE, iova, len,
					 (uint64_t)(uintptr_t)(r->va + off), perm);
		}
	}
	VHU_ERR("fe %s: IOVA 0x%llx is not one of ours", fe->path, (unsigned long long)iova);
	return -EFAULT;
}

VHU_EXPORT int vhu_fe_iotlb_invalidate(struct vhu_fe *fe, uint64_t iova, uint64_t size)
{
	if (!fe || !fe->opts.iommu)
		return -ENOTCONN;
	return iotlb_msg(fe, VHOST_IOTLB_INVALIDATE, iova, size, 0, 0);
}

int fe_iotlb_serve(struct vhu_fe *fe)
{
	int n = 0;

	while (fe->backend_fd >= 0) {
		struct pollfd p = { .fd = fe->backend_fd, .events = POLLIN };
		struct vhu_msg msg;
		if (poll(&p, 1, 0) <= 0)
			break;
		int r = vhu_msg_recv(fe->backend_fd, &msg);
		if (r <= 0) {
			VHU_ERR("fe %s: backend channel %s", fe->path,
				r ? strerror(-r) : "closed");
			fe_iotlb_close(fe);
			return r ? r : -EPIPE;
		}
		vhu_msg_close_fds(&msg);
		if (msg.hdr.request != VHU_BACKEND_REQ_IOTLB_MSG ||
		    msg.hdr.size != sizeof(struct vhost_iotlb_msg) ||
		    msg.p.iotlb.type != VHOST_IOTLB_MISS) {
			VHU_ERR("fe %s: backend channel: request %u size %u is no IOTLB miss",
				fe->path, msg.hdr.request, msg.hdr.size);
			continue;
		}
		fe->iotlb_misses++;
		uint64_t page = msg.p.iotlb.iova & ~(FE_IOMMU_PAGE - 1);
		r = vhu_fe_iotlb_update(fe, page, FE_IOMMU_PAGE, VHOST_ACCESS_RW);
		if (r < 0 && r != -EFAULT)
			return r;
		n++;
	}
	return n;
}

VHU_EXPORT int vhu_fe_iotlb_serve(struct vhu_fe *fe)
{
	if (!fe || !fe->opts.iommu)
		return -ENOTCONN;
	return fe_iotlb_serve(fe);
}

VHU_EXPORT uint64_t vhu_fe_iotlb_misses(const struct vhu_fe *fe)
{
	return fe->iotlb_misses;
}
