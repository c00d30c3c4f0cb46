/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * INFLIGHT_SHMFD, driver side (vhost-user spec, "Inflight I/O tracking").
 * The backend creates a shared region where it records what it has taken
 * from each vring; the frontend asks for it once (GET_INFLIGHT_FD, before
 * the rings start), keeps the fd and a mapping, and hands the same region
 * to every backend that comes after (SET_INFLIGHT_FD, before SET_VRING_*),
 * so a backend restarted after a crash resumes at the descriptors its
 * predecessor took and never completed.
 *
 * The region belongs to the backend: its sizes are checked before
 * anything is mapped, and what it holds is read once and checked before
 * it is believed (only a packed vring's used position is read here).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/compiler.h"
#include "common/log.h"
#include "frontend/fe_priv.h"
#include "vq/inflight.h"

void fe_inflight_init(struct vhu_fe *fe)
{
	memset(&fe->inflight, 0, sizeof(fe->inflight));
	fe->inflight.fd = -1;
}

void fe_inflight_fini(struct vhu_fe *fe)
{
	struct fe_inflight *in = &fe->inflight;

	if (in->map)
		munmap(in->map, in->map_len);
	if (in->fd >= 0)
		close(in->fd);
	fe_inflight_init(fe);
}

/* Bytes the spec's layout takes for one vring of the negotiated type. */
static uint64_t per_queue_need(const struct vhu_fe *fe)
{
	uint64_t n = fe->opts.ring_size;

	if (fe->packed)
		return sizeof(struct vhu_inflight_packed) +
		       n * sizeof(struct vhu_inflight_packed_desc);
	return sizeof(struct vhu_inflight_split) + n * sizeof(struct vhu_inflight_split_desc);
}

/* The sizes a GET_INFLIGHT_FD reply gave, against what the vrings need
 * and what the file holds. An error string, or NULL when they fit. */
static const char *check_region(const struct vhu_fe *fe, const struct vhu_inflight_wire *w,
				int fd)
{
	uint64_t need = (uint64_t)fe->nvq * per_queue_need(fe);
	struct stat st;

	if (w->mmap_size < need)
		return "too small for the vrings";
	if (w->mmap_size > FE_INFLIGHT_MAX || w->mmap_offset > FE_INFLIGHT_MAX - w->mmap_size)
		return "too large";
	/* Each vring's part at offset + i * size / num_queues, 8-aligned:
	 * the layout every backend we know uses. */
	if (w->mmap_size % fe->nvq || (w->mmap_size / fe->nvq) % 8 || w->mmap_offset % 8)
		return "not a whole number of aligned per-vring parts";
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return "not a regular file (memfd)";
	/* Mapping past the end of the file would fault on first touch. */
	if ((uint64_t)st.st_size < w->mmap_offset + w->mmap_size)
		return "past the end of its file";
	return NULL;
}

static int get_region(struct vhu_fe *fe)
{
	struct vhu_inflight_wire w = { .num_queues = fe->nvq, .queue_size = fe->opts.ring_size };
	struct fe_inflight *in = &fe->inflight;
	const char *bad = NULL;
	struct vhu_msg msg;
	int r, fd;
	void *p;

	r = fe_send_msg(fe, VHU_REQ_GET_INFLIGHT_FD, 0, &w, sizeof(w), NULL, 0);
	if (r < 0) {
		VHU_ERR("fe %s: GET_INFLIGHT_FD: send: %s", fe->path, strerror(-r));
		return r;
	}
	r = fe_get_reply(fe, VHU_REQ_GET_INFLIGHT_FD, &msg, sizeof(w), true);
	if (r < 0)
		return r;
	/* As QEMU: a size of 0 means the backend keeps no region after all. */
	if (msg.p.inflight.mmap_size == 0) {
		VHU_WARN("fe %s: GET_INFLIGHT_FD: the backend gave no region; going on "
			 "without", fe->path);
		vhu_msg_close_fds(&msg);
		return 0;
	}
	if (msg.nfds != 1) {
		VHU_ERR("fe %s: GET_INFLIGHT_FD: reply with %d fds, not 1", fe->path, msg.nfds);
		vhu_msg_close_fds(&msg);
		return -EPROTO;
	}
	fd = msg.fds[0];
	/* Only the sizes are the backend's to say; the geometry is ours. */
	w.mmap_size = msg.p.inflight.mmap_size;
	w.mmap_offset = msg.p.inflight.mmap_offset;
	if ((bad = check_region(fe, &w, fd))) {
		VHU_ERR("fe %s: GET_INFLIGHT_FD: region of 0x%llx bytes at offset 0x%llx for "
			"%u vrings of %u refused: %s", fe->path,
			(unsigned long long)w.mmap_size, (unsigned long long)w.mmap_offset,
			w.num_queues, w.queue_size, bad);
		close(fd);
		return -EPROTO;
	}
	p = mmap(NULL, w.mmap_offset + w.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		r = -errno;
		VHU_ERR("fe %s: GET_INFLIGHT_FD: mmap: %s", fe->path, strerror(errno));
		close(fd);
		return r;
	}
	in->fd = fd;
	in->map = p;
	in->map_len = w.mmap_offset + w.mmap_size;
	in->size = w.mmap_size;
	in->offset = w.mmap_offset;
	in->stride = w.mmap_size / fe->nvq;
	in->num_queues = w.num_queues;
	in->queue_size = w.queue_size;
	VHU_INFO("fe %s: inflight region of %llu bytes for %u vrings of %u", fe->path,
		 (unsigned long long)in->size, in->num_queues, in->queue_size);
	return 0;
}

int fe_inflight_setup(struct vhu_fe *fe)
{
	struct fe_inflight *in = &fe->inflight;

	if (!fe_has(fe->protocol_features, VHU_PROTO_F_INFLIGHT_SHMFD)) {
		if (in->fd >= 0) {
			/* This backend will not keep the region up to date: a
			 * later one must not believe what it says. */
			VHU_WARN("fe %s: this backend does not take the inflight region; "
				 "dropping it", fe->path);
			fe_inflight_fini(fe);
		}
		return 0;
	}
	if (in->fd < 0)
		return get_region(fe);
	struct vhu_inflight_wire w = {
		.mmap_size = in->size, .mmap_offset = in->offset,
		.num_queues = in->num_queues, .queue_size = in->queue_size,
	};
	return fe_request(fe, VHU_REQ_SET_INFLIGHT_FD, &w, sizeof(w), &in->fd, 1);
}

bool fe_inflight_packed_pos(const struct vhu_fe *fe, const struct fe_vq *vq,
			    uint16_t *pos, bool *wrap)
{
	const struct fe_inflight *in = &fe->inflight;
	struct vhu_inflight_packed *r;
	uint16_t version, num, p;
	uint8_t w;

	if (!in->map || !vq->packed || vq->index >= in->num_queues)
		return false;
	r = (struct vhu_inflight_packed *)(void *)(in->map + in->offset +
						   (uint64_t)vq->index * in->stride);
	/* The backend writes these: each read once, then checked. Version 0
	 * is a region no backend has used for this vring yet. */
	version = VHU_READ_ONCE(r->version);
	num = VHU_READ_ONCE(r->desc_num);
	p = VHU_READ_ONCE(r->old_used_idx);
	w = VHU_READ_ONCE(r->old_used_wrap_counter);
	if (version != 1 || num != vq->num)
		return false;
	if (p >= vq->num || w > 1) {
		VHU_WARN("fe %s: vring %u: inflight region says used position %u wrap %u in a "
			 "ring of %u; ignored", fe->path, vq->index, p, w, vq->num);
		return false;
	}
	*pos = p;
	*wrap = w;
	return true;
}
