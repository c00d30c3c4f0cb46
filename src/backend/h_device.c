/* SPDX-License-Identifier: BSD-3-Clause */
/* Handlers for device-wide requests: features, ownership, status, net. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "backend/msg.h"
#include "common/log.h"
#include "net/net.h"

int vhu_h_get_features(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	return vhu_msg_reply_u64(msg, dev->sock->features | (1ULL << VHU_F_PROTOCOL_FEATURES));
}

int vhu_h_set_features(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl, dev->vrings_locked)
{
	uint64_t offered = dev->sock->features | (1ULL << VHU_F_PROTOCOL_FEATURES);
	uint64_t f = msg->p.u64, old = dev->features;

	if (f & ~offered) {
		VHU_ERR("%s: SET_FEATURES 0x%llx has bits never offered (0x%llx)", dev->name,
			(unsigned long long)f, (unsigned long long)(f & ~offered));
		return -EINVAL;
	}
	/* Once a vring runs, its layout, header and translation were set up
	 * for the features then (a split ring given packed bursts would read
	 * a ring never translated): only dirty logging may change under it,
	 * as migration does. DPDK refuses the same. */
	if ((old ^ f) & ~(1ULL << VHU_F_LOG_ALL)) {
		for (int i = 0; i < VHU_MAX_VRINGS; i++) {
			if (dev->vq[i] && dev->vq[i]->active) {
				VHU_ERR("%s: SET_FEATURES 0x%llx changes 0x%llx while vring %d "
					"runs; only dirty logging may change then", dev->name,
					(unsigned long long)f, (unsigned long long)(old ^ f), i);
				return -EINVAL;
			}
		}
	}
	if ((f & (1ULL << VIRTIO_F_ACCESS_PLATFORM)) && !dev->iotlb &&
	    !(dev->iotlb = vhu_iotlb_new()))
		return -ENOMEM;
	__atomic_store_n(&dev->features, f, __ATOMIC_RELAXED);
	dev->features_set = true;
	dev->hdr_len = vhu_net_hdr_len(f);
	for (int i = 0; i < VHU_MAX_VRINGS; i++) {
		struct vhu_vq *vq = dev->vq[i];
		if (!vq)
			continue;
		vq->features = f;
		vq->hdr_len = dev->hdr_len;
		vq->iotlb = vhu_dev_iotlb_view(dev);
	}
	VHU_INFO("%s: features 0x%llx (header %u bytes)%s", dev->name,
		 (unsigned long long)f, dev->hdr_len,
		 ((old ^ f) & (1ULL << VHU_F_LOG_ALL)) ?
		 (f & (1ULL << VHU_F_LOG_ALL) ? ", dirty logging on" : ", dirty logging off") : "");
	/* Called once the vrings are unlocked and the ack is ready. */
	if (dev->running && old != f)
		vhu_dev_post_cb(dev, (struct vhu_cb_args){ .kind = VHU_CB_FEATURES_CHANGED,
						    .features = f });
	return 0;
}

int vhu_h_get_protocol_features(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	return vhu_msg_reply_u64(msg, dev->sock->protocol_features);
}

int vhu_h_set_protocol_features(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	uint64_t f = msg->p.u64;

	if (f & ~dev->sock->protocol_features) {
		VHU_ERR("%s: SET_PROTOCOL_FEATURES 0x%llx has bits never offered", dev->name,
			(unsigned long long)f);
		return -EINVAL;
	}
	__atomic_store_n(&dev->protocol_features, f, __ATOMIC_RELAXED);
	return 0;
}

int vhu_h_set_owner(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	(void)dev;
	(void)msg;
	return 0;
}

int vhu_h_reset_owner(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	VHU_INFO("%s: %s", dev->name, vhu_req_name(msg->hdr.request));
	vhu_dev_reset(dev);
	return 0;
}

int vhu_h_get_queue_num(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	return vhu_msg_reply_u64(msg, dev->sock->max_queue_pairs);
}

int vhu_h_send_rarp(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	memcpy(dev->mac, &msg->p.u64, 6);
	VHU_INFO("%s: SEND_RARP for %02x:%02x:%02x:%02x:%02x:%02x", dev->name,
		 dev->mac[0], dev->mac[1], dev->mac[2], dev->mac[3], dev->mac[4], dev->mac[5]);
	__atomic_store_n(&dev->rarp_pending, 1, __ATOMIC_RELEASE);
	return 0;
}

int vhu_h_net_set_mtu(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	uint64_t mtu = msg->p.u64;

	if (mtu < 68 || mtu > 65535) {
		VHU_ERR("%s: NET_SET_MTU %llu out of range 68..65535", dev->name,
			(unsigned long long)mtu);
		return -EINVAL;
	}
	__atomic_store_n(&dev->mtu, (uint16_t)mtu, __ATOMIC_RELAXED);
	VHU_INFO("%s: MTU %u", dev->name, dev->mtu);
	return 0;
}

int vhu_h_set_backend_req_fd(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	vhu_backend_chan_set_fd(&dev->backend, vhu_msg_take_fd(msg, 0));
	return 0;
}

int vhu_h_set_status(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	if (msg->p.u64 > 0xff) {
		VHU_ERR("%s: SET_STATUS 0x%llx is not a status byte", dev->name,
			(unsigned long long)msg->p.u64);
		return -EINVAL;
	}
	dev->status = (uint8_t)msg->p.u64;
	return 0;
}

int vhu_h_get_status(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	return vhu_msg_reply_u64(msg, dev->status);
}
