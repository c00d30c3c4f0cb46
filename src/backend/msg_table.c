/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include "backend/msg.h"
#include "common/compiler.h"
#include "common/log.h"

/* The handler of each request the list (src/proto/requests.h) marks as
 * spoken, by the name H_<request>. The list holds what the protocol says
 * of a request; which function of this layer handles it stays here. A
 * request added to the list as spoken without a line here does not
 * compile, so no spoken request is left without a handler. */
#define H_GET_FEATURES          vhu_h_get_features
#define H_SET_FEATURES          vhu_h_set_features
#define H_SET_OWNER             vhu_h_set_owner
#define H_RESET_OWNER           vhu_h_reset_owner
#define H_SET_MEM_TABLE         vhu_h_set_mem_table
#define H_SET_LOG_BASE          vhu_h_set_log_base
#define H_SET_LOG_FD            vhu_h_set_log_fd
#define H_SET_VRING_NUM         vhu_h_set_vring_num
#define H_SET_VRING_ADDR        vhu_h_set_vring_addr
#define H_SET_VRING_BASE        vhu_h_set_vring_base
#define H_GET_VRING_BASE        vhu_h_get_vring_base
#define H_SET_VRING_KICK        vhu_h_set_vring_kick
#define H_SET_VRING_CALL        vhu_h_set_vring_call
#define H_SET_VRING_ERR         vhu_h_set_vring_err
#define H_GET_PROTOCOL_FEATURES vhu_h_get_protocol_features
#define H_SET_PROTOCOL_FEATURES vhu_h_set_protocol_features
#define H_GET_QUEUE_NUM         vhu_h_get_queue_num
#define H_SET_VRING_ENABLE      vhu_h_set_vring_enable
#define H_SEND_RARP             vhu_h_send_rarp
#define H_NET_SET_MTU           vhu_h_net_set_mtu
#define H_SET_BACKEND_REQ_FD    vhu_h_set_backend_req_fd
#define H_GET_INFLIGHT_FD       vhu_h_get_inflight_fd
#define H_SET_INFLIGHT_FD       vhu_h_set_inflight_fd
#define H_RESET_DEVICE          vhu_h_reset_owner /* the same reset */
#define H_GET_MAX_MEM_SLOTS     vhu_h_get_max_mem_slots
#define H_ADD_MEM_REG           vhu_h_add_mem_reg
#define H_REM_MEM_REG           vhu_h_rem_mem_reg
#define H_SET_STATUS            vhu_h_set_status
#define H_IOTLB_MSG             vhu_h_iotlb_msg
#define H_GET_STATUS            vhu_h_get_status

#define ROW(name, nr, payload, fds_min, fds_max, reply, lock_all, gate)              \
	[VHU_REQ_##name] = { H_##name, VHU_PL_##payload, VHU_PL_SIZES_##payload,     \
			     fds_min, fds_max, reply, lock_all, VHU_GATE_##gate },
#define NOT_SPOKEN(name, nr)

static const struct vhu_msg_meta table[VHU_REQ_MAX] = { VHU_REQUESTS(ROW, NOT_SPOKEN) };

const struct vhu_msg_meta *vhu_msg_meta_get(uint32_t req)
{
	if (req >= VHU_REQ_MAX || !table[req].handler)
		return NULL;
	return &table[req];
}

/* The row's protocol feature is in force on this connection. */
static bool gate_open(const struct vhu_dev *dev, const struct vhu_msg *msg,
		      const struct vhu_msg_meta *m) VHU_REQUIRES(vhu_ctl)
{
	uint64_t have;

	switch (m->gate.rule) {
	case VHU_GATE_RULE_ALWAYS:
		return true;
	case VHU_GATE_RULE_NEGOTIATED:
		have = dev->protocol_features;
		break;
	case VHU_GATE_RULE_OFFERED:
		have = dev->sock->protocol_features;
		break;
	default:
		have = 0;
		break;
	}
	if (have & (1ULL << m->gate.bit))
		return true;
	VHU_WARN("%s: %s needs protocol feature %u, not %s: refused", dev->name,
		 vhu_req_name(msg->hdr.request), m->gate.bit,
		 m->gate.rule == VHU_GATE_RULE_OFFERED ? "offered" : "negotiated");
	return false;
}

/* What the frontend may tell us of its IOTLB: updates and invalidations
 * of non-empty ranges that do not wrap, updates with known rights. */
static int iotlb_check(const struct vhu_dev *dev, const struct vhost_iotlb_msg *t)
	VHU_REQUIRES(vhu_ctl)
{
	uint64_t end;

	if (!(dev->features & (1ULL << VIRTIO_F_ACCESS_PLATFORM))) {
		VHU_ERR("%s: IOTLB_MSG without VIRTIO_F_ACCESS_PLATFORM negotiated", dev->name);
		return -EOPNOTSUPP;
	}
	if (t->type != VHOST_IOTLB_UPDATE && t->type != VHOST_IOTLB_INVALIDATE) {
		VHU_ERR("%s: IOTLB_MSG of type %u (only update %u and invalidate %u "
			"come from the frontend)", dev->name, t->type, VHOST_IOTLB_UPDATE,
			VHOST_IOTLB_INVALIDATE);
		return -EINVAL;
	}
	if (t->size == 0 || __builtin_add_overflow(t->iova, t->size - 1, &end)) {
		VHU_ERR("%s: IOTLB_MSG: range iova 0x%llx size 0x%llx is empty or wraps",
			dev->name, (unsigned long long)t->iova, (unsigned long long)t->size);
		return -EINVAL;
	}
	if (t->type == VHOST_IOTLB_INVALIDATE)
		return 0;
	if (t->perm != VHOST_ACCESS_RO && t->perm != VHOST_ACCESS_WO &&
	    t->perm != VHOST_ACCESS_RW) {
		VHU_ERR("%s: IOTLB_MSG: update with rights %u (1 RO, 2 WO, 3 RW)", dev->name,
			t->perm);
		return -EINVAL;
	}
	if (__builtin_add_overflow(t->uaddr, t->size - 1, &end)) {
		VHU_ERR("%s: IOTLB_MSG: uaddr 0x%llx + size 0x%llx wraps", dev->name,
			(unsigned long long)t->uaddr, (unsigned long long)t->size);
		return -EINVAL;
	}
	return 0;
}

int vhu_msg_check(const struct vhu_dev *dev, const struct vhu_msg *msg,
		  const struct vhu_msg_meta *m)
{
	const char *name = vhu_req_name(msg->hdr.request);
	uint32_t idx;

	if ((msg->hdr.flags & VHU_MSG_VERSION_MASK) != VHU_MSG_VERSION) {
		VHU_ERR("%s: %s: protocol version %u, expected 1", dev->name, name,
			msg->hdr.flags & VHU_MSG_VERSION_MASK);
		return -EPROTO;
	}
	if (!gate_open(dev, msg, m))
		return -EOPNOTSUPP;
	if (msg->hdr.size < m->size_min || msg->hdr.size > m->size_max) {
		VHU_ERR("%s: %s: payload of %u bytes (expected %u to %u)", dev->name, name,
			msg->hdr.size, m->size_min, m->size_max);
		return -EMSGSIZE;
	}
	if (m->payload == VHU_PL_MEM &&
	    msg->hdr.size != offsetof(struct vhu_mem_table_wire, regions) +
			     msg->p.mem.nregions * sizeof(struct vhu_mem_region_wire)) {
		VHU_ERR("%s: %s: payload of %u bytes does not match %u regions", dev->name,
			name, msg->hdr.size, msg->p.mem.nregions);
		return -EMSGSIZE;
	}
	int fds_min = m->fds_min, fds_max = m->fds_max;
	if (m->payload == VHU_PL_VRING_FD)
		fds_min = fds_max = (msg->p.u64 & VHU_VRING_NOFD) ? 0 : 1;
	if (msg->nfds < fds_min || msg->nfds > fds_max) {
		VHU_ERR("%s: %s: %d fds attached (expected %d to %d)", dev->name, name,
			msg->nfds, fds_min, fds_max);
		return -EBADF;
	}
	if (m->payload == VHU_PL_IOTLB)
		return iotlb_check(dev, &msg->p.iotlb);
	switch (m->payload) {
	case VHU_PL_STATE:
		idx = msg->p.state.index;
		break;
	case VHU_PL_ADDR:
		idx = msg->p.addr.index;
		break;
	case VHU_PL_VRING_FD:
		if (msg->p.u64 & ~(uint64_t)(VHU_VRING_IDX_MASK | VHU_VRING_NOFD)) {
			VHU_ERR("%s: %s: unknown bits in 0x%llx", dev->name, name,
				(unsigned long long)msg->p.u64);
			return -EINVAL;
		}
		idx = msg->p.u64 & VHU_VRING_IDX_MASK;
		break;
	default: /* no vring index in the payload */
		return 0;
	}
	/* Compared at full width: 65536 must not pass as vring 0. */
	if (idx >= VHU_MAX_VRINGS ||
	    idx >= 2u * dev->sock->max_queue_pairs) {
		VHU_ERR("%s: %s: vring index %u out of range (%u vrings)", dev->name, name,
			idx, 2u * dev->sock->max_queue_pairs);
		return -ERANGE;
	}
	return 0;
}
