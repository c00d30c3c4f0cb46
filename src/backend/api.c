/* SPDX-License-Identifier: BSD-3-Clause */
/* The public registration and query API: thin, locked wrappers. */
#include <errno.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include "backend/dev.h"
#include "backend/socket.h"
#include "common/log.h"
#include "net/net.h"

#define F(x) (1ULL << (x))

VHU_EXPORT uint64_t vhu_default_features(void)
{
	return F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_MQ) |
	       F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_RING_F_INDIRECT_DESC) |
	       F(VIRTIO_F_ANY_LAYOUT) | F(VIRTIO_NET_F_MTU) |
	       F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
	       F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_HOST_ECN) |
	       F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |
	       F(VIRTIO_NET_F_GUEST_ECN) | F(VHU_NET_F_HOST_USO) | F(VHU_NET_F_GUEST_USO4) |
	       F(VHU_NET_F_GUEST_USO6) |
	       F(VIRTIO_F_IN_ORDER) | F(VIRTIO_RING_F_EVENT_IDX) |
	       F(VHU_F_LOG_ALL) | F(VIRTIO_NET_F_GUEST_ANNOUNCE) | F(VIRTIO_F_RING_PACKED) |
	       F(VIRTIO_F_ACCESS_PLATFORM);
}

VHU_EXPORT uint64_t vhu_default_protocol_features(void)
{
	return F(VHU_PROTO_F_MQ) | F(VHU_PROTO_F_REPLY_ACK) | F(VHU_PROTO_F_NET_MTU) |
	       F(VHU_PROTO_F_RARP) | F(VHU_PROTO_F_BACKEND_REQ) | F(VHU_PROTO_F_STATUS) |
	       F(VHU_PROTO_F_LOG_SHMFD) | F(VHU_PROTO_F_INFLIGHT_SHMFD) |
	       F(VHU_PROTO_F_RESET_DEVICE) | F(VHU_PROTO_F_CONFIGURE_MEM_SLOTS);
}

/* Runs body with the socket for path found, under vhu_ctl. */
#define WITH_SOCKET(path, s, body) do {                              \
	int ret_;                                                    \
	vhu_ctl_lock();                                             \
	struct vhu_socket *s = path ? vhu_socket_find(path) : NULL;  \
	if (!s) {                                                    \
		ret_ = -ENOENT;                                      \
	} else {                                                     \
		body                                                 \
	}                                                            \
	vhu_ctl_unlock();                              \
	return ret_;                                                 \
} while (0)

VHU_EXPORT int vhu_driver_register(const char *path, uint64_t flags)
{
	vhu_ctl_lock();
	int r = vhu_socket_register(path, flags);
	vhu_ctl_unlock();
	return r;
}

VHU_EXPORT int vhu_driver_unregister(const char *path)
{
	/* It waits for its devices' callbacks: not from one of them. */
	WITH_SOCKET(path, s, {
		const struct vhu_dev *cur = vhu_cb_current();
		if (cur && cur->sock == s) {
			VHU_ERR("%s: cannot unregister from one of its own callbacks", path);
			ret_ = -EDEADLK;
		} else {
			ret_ = vhu_socket_unregister(s);
		}
	});
}

VHU_EXPORT int vhu_driver_set_features(const char *path, uint64_t features)
{
	WITH_SOCKET(path, s, { s->features = vhu_net_features_fix(features); ret_ = 0; });
}

VHU_EXPORT int vhu_driver_get_features(const char *path, uint64_t *features)
{
	WITH_SOCKET(path, s, { *features = s->features; ret_ = 0; });
}

VHU_EXPORT int vhu_driver_enable_features(const char *path, uint64_t features)
{
	WITH_SOCKET(path, s, {
		if (features & ~vhu_default_features()) {
			VHU_ERR("%s: cannot enable features 0x%llx: not supported", path,
				(unsigned long long)(features & ~vhu_default_features()));
			ret_ = -ENOTSUP;
		} else {
			s->features |= features;
			ret_ = 0;
		}
	});
}

VHU_EXPORT int vhu_driver_disable_features(const char *path, uint64_t features)
{
	WITH_SOCKET(path, s, {
		s->features = vhu_net_features_fix(s->features & ~features);
		ret_ = 0;
	});
}

VHU_EXPORT int vhu_driver_set_protocol_features(const char *path, uint64_t features)
{
	WITH_SOCKET(path, s, {
		if (features & ~vhu_default_protocol_features()) {
			VHU_ERR("%s: cannot offer protocol features 0x%llx: not supported", path,
				(unsigned long long)(features & ~vhu_default_protocol_features()));
			ret_ = -ENOTSUP;
		} else {
			s->protocol_features = features;
			ret_ = 0;
		}
	});
}

VHU_EXPORT int vhu_driver_get_protocol_features(const char *path, uint64_t *features)
{
	WITH_SOCKET(path, s, { *features = s->protocol_features; ret_ = 0; });
}

VHU_EXPORT int vhu_driver_set_max_queue_pairs(const char *path, uint16_t n)
{
	WITH_SOCKET(path, s, {
		if (n == 0 || n > VHU_MAX_QUEUE_PAIRS) {
			ret_ = -EINVAL;
		} else {
			s->max_queue_pairs = n;
			ret_ = 0;
		}
	});
}

VHU_EXPORT int vhu_driver_get_max_queue_pairs(const char *path, uint16_t *n)
{
	WITH_SOCKET(path, s, { *n = s->max_queue_pairs; ret_ = 0; });
}

VHU_EXPORT int vhu_driver_set_socket_mode(const char *path, unsigned mode)
{
	WITH_SOCKET(path, s, {
		if (mode & ~0777u) {
			ret_ = -EINVAL;
		} else {
			s->mode = mode;
			ret_ = 0;
		}
	});
}

VHU_EXPORT int vhu_driver_set_max_connections(const char *path, unsigned n)
{
	WITH_SOCKET(path, s, {
		if (n == 0) {
			ret_ = -EINVAL;
		} else {
			s->max_conns = n;
			ret_ = 0;
		}
	});
}

VHU_EXPORT int vhu_driver_set_io_timeout(const char *path, unsigned ms)
{
	WITH_SOCKET(path, s, {
		if (ms < VHU_MIN_IO_TIMEOUT_MS || ms > VHU_MAX_IO_TIMEOUT_MS) {
			ret_ = -EINVAL;
		} else {
			s->io_timeout_ms = ms;
			ret_ = 0;
		}
	});
}

VHU_EXPORT int vhu_driver_callback_register(const char *path,
					    const struct vhu_device_ops *ops, void *ctx)
{
	/* Reserved slots are callbacks of later releases: a program that set
	 * one relies on a callback this library would never call. */
	for (size_t i = 0; ops && i < VHU_ARRAY_SIZE(ops->reserved); i++) {
		if (ops->reserved[i]) {
			VHU_ERR("%s: callbacks: reserved slot %zu set (program built "
				"against a newer libvhu?)", path ? path : "(null)", i);
			return -ENOTSUP;
		}
	}
	WITH_SOCKET(path, s, {
		memset(&s->ops, 0, sizeof(s->ops));
		if (ops)
			s->ops = *ops;
		s->ctx = ctx;
		ret_ = 0;
	});
}

VHU_EXPORT int vhu_driver_start(const char *path)
{
	WITH_SOCKET(path, s, { ret_ = vhu_socket_start(s); });
}

/* ---- device queries: called from callbacks or any thread while the
 * device exists (see vhu.h) ---------------------------------------------- */

/* The getters below may be called from any thread while the device
 * exists. The fields they read are written under vhu_ctl, the scalars
 * with atomic stores, so they load atomically without it; the analysis
 * cannot see that pairing, hence VHU_NO_TSA. (Taking vhu_ctl here could
 * deadlock a data thread against destroy_device, which waits for it.) */
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
VHU_EXPORT void *vhu_dev_get_ctx(const struct vhu_dev *dev) VHU_NO_TSA
{
	return dev->sock->ctx;  /* the socket outlives its devices */
}
VHU_EXPORT void vhu_dev_set_priv(struct vhu_dev *dev, void *priv) { dev->priv = priv; }
VHU_EXPORT void *vhu_dev_get_priv(const struct vhu_dev *dev) { return dev->priv; }
VHU_EXPORT const char *vhu_dev_get_path(const struct vhu_dev *dev) VHU_NO_TSA
{
	return dev->sock->path;
}
VHU_EXPORT uint64_t vhu_dev_get_id(const struct vhu_dev *dev) { return dev->id; }
VHU_EXPORT uint64_t vhu_dev_get_features(const struct vhu_dev *dev) VHU_NO_TSA
{
	return LOAD(dev->features);
}
VHU_EXPORT uint64_t vhu_dev_get_protocol_features(const struct vhu_dev *dev) VHU_NO_TSA
{
	return LOAD(dev->protocol_features);
}
VHU_EXPORT uint16_t vhu_dev_get_vring_num(const struct vhu_dev *dev) VHU_NO_TSA
{
	return LOAD(dev->nr_vring);
}
VHU_EXPORT bool vhu_dev_is_running(const struct vhu_dev *dev) VHU_NO_TSA
{
	return LOAD(dev->running);
}

VHU_EXPORT int vhu_dev_get_mtu(const struct vhu_dev *dev, uint16_t *mtu) VHU_NO_TSA
{
	uint16_t m = LOAD(dev->mtu);
	if (!m)
		return -ENOENT;
	*mtu = m;
	return 0;
}

static const struct vhu_vq *get_vq(const struct vhu_dev *dev, uint16_t vring)
{
	if (!dev || vring >= VHU_MAX_VRINGS)
		return NULL;
	return __atomic_load_n(&dev->vq[vring], __ATOMIC_ACQUIRE);
}

VHU_EXPORT bool vhu_vring_is_enabled(const struct vhu_dev *dev, uint16_t vring)
{
	const struct vhu_vq *vq = get_vq(dev, vring);
	return vq && __atomic_load_n(&vq->enabled, __ATOMIC_RELAXED);
}

VHU_EXPORT bool vhu_vring_is_broken(const struct vhu_dev *dev, uint16_t vring)
{
	const struct vhu_vq *vq = get_vq(dev, vring);
	return vq && __atomic_load_n(&vq->broken, __ATOMIC_RELAXED);
}

VHU_EXPORT uint16_t vhu_vring_get_size(const struct vhu_dev *dev, uint16_t vring)
{
	const struct vhu_vq *vq = get_vq(dev, vring);
	return vq ? __atomic_load_n(&vq->size, __ATOMIC_RELAXED) : 0;
}

VHU_EXPORT int vhu_vring_get_stats(const struct vhu_dev *dev, uint16_t vring,
				   struct vhu_vring_stats *st)
{
	const struct vhu_vq *vq = get_vq(dev, vring);
	if (!vq)
		return -ENOENT;
	/* Single writer (the data path); each counter is read whole. */
	memset(st, 0, sizeof(*st));
	st->packets = __atomic_load_n(&vq->stats.packets, __ATOMIC_RELAXED);
	st->bytes = __atomic_load_n(&vq->stats.bytes, __ATOMIC_RELAXED);
	st->drops = __atomic_load_n(&vq->stats.drops, __ATOMIC_RELAXED);
	st->errors = __atomic_load_n(&vq->stats.errors, __ATOMIC_RELAXED);
	st->kicks = __atomic_load_n(&vq->stats.kicks, __ATOMIC_RELAXED);
	st->iotlb_misses = __atomic_load_n(&vq->stats.iotlb_misses, __ATOMIC_RELAXED);
	return 0;
}

VHU_EXPORT int vhu_vring_reset_stats(struct vhu_dev *dev, uint16_t vring)
{
	struct vhu_vq *vq = dev && vring < VHU_MAX_VRINGS ? dev->vq[vring] : NULL;
	if (!vq)
		return -ENOENT;
	vhu_spin_lock(&vq->lock);
	/* Atomic stores: vhu_vring_get_stats may read them meanwhile. */
	__atomic_store_n(&vq->stats.packets, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&vq->stats.bytes, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&vq->stats.drops, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&vq->stats.errors, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&vq->stats.kicks, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&vq->stats.iotlb_misses, 0, __ATOMIC_RELAXED);
	vhu_spin_unlock(&vq->lock);
	return 0;
}
