/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Public entry points of the frontend: create/destroy, queries, and the
 * raw access tests use to misbehave on purpose.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include "common/compiler.h"
#include "common/log.h"
#include "frontend/fe_priv.h"

VHU_EXPORT uint64_t vhu_fe_default_features(uint16_t queue_pairs)
{
	uint64_t f = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_MRG_RXBUF) |
		     (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
		     (1ull << VIRTIO_RING_F_EVENT_IDX);

	if (queue_pairs > 1)
		f |= 1ull << VIRTIO_NET_F_MQ;
	return f;
}

static int check_opts(struct vhu_fe_opts *o)
{
	if (!o->path)
		return -EINVAL;
	/* Options of a later release: honouring them is not possible, and
	 * ignoring them would run something the caller did not ask for. */
	for (size_t i = 0; i < VHU_ARRAY_SIZE(o->reserved); i++)
		if (o->reserved[i])
			return -EINVAL;
	if (!o->queue_pairs)
		o->queue_pairs = 1;
	if (!o->ring_size)
		o->ring_size = FE_DEFAULT_RING;
	if (!o->mem_size)
		o->mem_size = FE_DEFAULT_MEM;
	if (!o->mem_regions)
		o->mem_regions = 1;
	if (!o->buf_size)
		o->buf_size = FE_DEFAULT_BUF;
	if (o->connect_timeout_ms <= 0)
		o->connect_timeout_ms = FE_DEFAULT_TIMEOUT;
	/* Split rings are powers of two (virtio 1.x 2.7), packed ones any
	 * size (checked again once negotiated), and a receive
	 * buffer must hold a header and some data. */
	if (o->queue_pairs > VHU_MAX_QUEUE_PAIRS || o->ring_size < 2 ||
	    o->ring_size > VHU_MAX_RING_SIZE ||
	    (!o->packed && (o->ring_size & (o->ring_size - 1))) ||
	    o->mem_regions > VHU_MAX_MEM_REGIONS || o->buf_size < 128 ||
	    o->buf_size > (1u << 20))
		return -EINVAL;
	return 0;
}

static void fe_free(struct vhu_fe *fe)
{
	if (fe->sock >= 0)
		close(fe->sock);
	for (uint16_t i = 0; fe->vqs && i < fe->nvq; i++)
		fe_vq_fini(&fe->vqs[i]);
	free(fe->vqs);
	fe_inflight_fini(fe);
	fe_iotlb_close(fe);
	fe_mem_fini(fe);
	if (fe->listening_created)
		unlink(fe->path);
	free(fe->path);
	free(fe);
}

VHU_EXPORT struct vhu_fe *vhu_fe_create(const struct vhu_fe_opts *opts)
{
	struct vhu_fe *fe;
	int r;

	if (!opts) {
		errno = EINVAL;
		return NULL;
	}
	fe = calloc(1, sizeof(*fe));
	if (!fe)
		return NULL;
	fe->sock = -1;
	fe->backend_fd = -1;
	for (unsigned i = 0; i < VHU_MAX_MEM_REGIONS; i++)
		fe->regions[i].fd = -1;
	fe_inflight_init(fe);
	fe->opts = *opts;
	r = check_opts(&fe->opts);
	if (r < 0) {
		VHU_ERR("fe %s: invalid options", opts->path ? opts->path : "(null)");
		goto fail;
	}
	fe->path = strdup(opts->path);
	fe->opts.path = fe->path;
	fe->nqp = fe->opts.queue_pairs;
	fe->nvq = (uint16_t)(2 * fe->nqp);
	fe->vqs = calloc(fe->nvq, sizeof(*fe->vqs));
	if (!fe->path || !fe->vqs) {
		r = -ENOMEM;
		goto fail;
	}
	for (uint16_t i = 0; i < fe->nvq; i++)
		fe->vqs[i].kickfd = fe->vqs[i].callfd = -1;
	r = fe_mem_init(fe, fe->opts.mem_size, fe->opts.mem_regions);
	if (r < 0)
		goto fail;
	r = fe_connect(fe);
	if (r < 0)
		goto fail;
	r = fe_negotiate(fe, false);
	if (r < 0)
		goto fail;
	for (uint16_t i = 0; i < fe->nvq; i++) {
		r = fe_vq_init(fe, &fe->vqs[i], i);
		if (r < 0) {
			VHU_ERR("fe %s: vring %u: %s (guest memory %llu bytes)", fe->path,
				i, strerror(-r), (unsigned long long)fe->opts.mem_size);
			goto fail;
		}
	}
	/* Receive buffers go up before the backend learns of the rings; the
	 * kick this leaves in the eventfd tells it they are there. */
	for (uint16_t q = 0; q < fe->nqp; q++)
		fe_rx_post_all(fe, &fe->vqs[VHU_VRING_RX(q)]);
	r = fe_setup_vrings(fe);
	if (r < 0)
		goto fail;
	VHU_INFO("fe %s: up, features %#llx protocol %#llx, %u queue pairs, "
		 "%u regions", fe->path, (unsigned long long)fe->features,
		 (unsigned long long)fe->protocol_features, fe->nqp, fe->nregions);
	return fe;
fail:
	fe_free(fe);
	errno = -r;
	return NULL;
}

VHU_EXPORT void vhu_fe_destroy(struct vhu_fe *fe)
{
	if (!fe)
		return;
	fe_stop(fe);
	fe_free(fe);
}

VHU_EXPORT int vhu_fe_reconnect(struct vhu_fe *fe)
{
	int r;

	if (!fe)
		return -EINVAL;
	/* The old backend is gone (or going): nothing to stop there. Guest
	 * memory, rings, eventfds and the inflight region all stay. */
	if (fe->sock >= 0)
		close(fe->sock);
	fe->sock = -1;
	r = fe_connect(fe);
	if (r < 0)
		return r;
	r = fe_negotiate(fe, true);
	if (r == 0)
		r = fe_setup_vrings(fe);
	if (r < 0) {
		VHU_ERR("fe %s: reconnection failed: %s", fe->path, strerror(-r));
		close(fe->sock);
		fe->sock = -1;
		return r;
	}
	/* Whatever is outstanding is news to this backend, and the kicks the
	 * last one drained from the eventfds are gone. */
	for (uint16_t i = 0; i < fe->nvq; i++)
		fe_vq_kick(&fe->vqs[i]);
	VHU_INFO("fe %s: reconnected, features %#llx protocol %#llx%s", fe->path,
		 (unsigned long long)fe->features, (unsigned long long)fe->protocol_features,
		 fe->inflight.fd >= 0 ? ", inflight region handed over" : "");
	return 0;
}

VHU_EXPORT uint64_t vhu_fe_features(const struct vhu_fe *fe)
{
	return fe->features;
}

VHU_EXPORT uint64_t vhu_fe_protocol_features(const struct vhu_fe *fe)
{
	return fe->protocol_features;
}

VHU_EXPORT uint16_t vhu_fe_queue_pairs(const struct vhu_fe *fe)
{
	return fe->nqp;
}

VHU_EXPORT int vhu_fe_wait_call(struct vhu_fe *fe, uint16_t vring, int timeout_ms)
{
	struct pollfd pfd;
	uint64_t v;
	int r;

	if (vring >= fe->nvq)
		return -EINVAL;
	pfd.fd = fe->vqs[vring].callfd;
	pfd.events = POLLIN;
	do {
		r = poll(&pfd, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	if (read(pfd.fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	return 1;
}

VHU_EXPORT int vhu_fe_sock(const struct vhu_fe *fe)
{
	return fe->sock;
}

VHU_EXPORT int vhu_fe_send_raw(struct vhu_fe *fe, uint32_t request, uint32_t flags,
			       const void *payload, uint32_t size, const int *fds,
			       int nfds)
{
	return fe_send_msg(fe, request, flags, payload, size, fds, nfds);
}

VHU_EXPORT int vhu_fe_recv_raw(struct vhu_fe *fe, uint32_t *request, void *payload,
			       uint32_t cap, int timeout_ms)
{
	struct vhu_msg msg;
	int r = fe_recv_msg(fe, &msg, timeout_ms, false);

	if (r < 0)
		return r;
	if (request)
		*request = msg.hdr.request;
	if (payload)
		memcpy(payload, msg.p.raw, VHU_MIN(cap, msg.hdr.size));
	return (int)msg.hdr.size;
}

VHU_EXPORT void *vhu_fe_mem(const struct vhu_fe *fe, uint16_t region, uint64_t *gpa,
			    uint64_t *size)
{
	const struct fe_region *r;

	if (region < fe->nregions)
		r = &fe->regions[region];
	else if ((unsigned)(region - fe->nregions) < fe->nhot)
		r = &fe->hot[region - fe->nregions];
	else
		return NULL;
	if (gpa)
		*gpa = r->gpa;
	if (size)
		*size = r->size;
	return r->va;
}

VHU_EXPORT struct vring_desc *vhu_fe_vring_desc(const struct vhu_fe *fe, uint16_t vring)
{
	return vring < fe->nvq ? fe->vqs[vring].desc : NULL;
}

VHU_EXPORT struct vring_avail *vhu_fe_vring_avail(const struct vhu_fe *fe, uint16_t vring)
{
	return vring < fe->nvq ? fe->vqs[vring].avail : NULL;
}

VHU_EXPORT struct vring_used *vhu_fe_vring_used(const struct vhu_fe *fe, uint16_t vring)
{
	return vring < fe->nvq ? fe->vqs[vring].used : NULL;
}

VHU_EXPORT struct vring_packed_desc *vhu_fe_vring_packed_desc(const struct vhu_fe *fe,
								uint16_t vring)
{
	return vring < fe->nvq ? fe->vqs[vring].pdesc : NULL;
}

VHU_EXPORT void vhu_fe_kick(struct vhu_fe *fe, uint16_t vring)
{
	if (vring < fe->nvq)
		fe_vq_kick(&fe->vqs[vring]);
}

VHU_EXPORT int vhu_fe_vring_stats(const struct vhu_fe *fe, uint16_t vring,
				  struct vhu_fe_vring_stats *st)
{
	if (vring >= fe->nvq || !st)
		return -EINVAL;
	*st = fe->vqs[vring].st;
	return 0;
}

VHU_EXPORT int vhu_fe_get_vring_base(struct vhu_fe *fe, uint16_t vring)
{
	if (vring >= fe->nvq)
		return -EINVAL;
	return fe_get_vring_base(fe, vring);
}
