/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include "backend/msg.h"
#include "common/compiler.h"
#include "common/log.h"

#define U64 sizeof(uint64_t)
#define STATE sizeof(struct vhost_vring_state)
#define ADDR sizeof(struct vhost_vring_addr)
#define INFL sizeof(struct vhu_inflight_wire)
#define MEM_HDR offsetof(struct vhu_mem_table_wire, regions)

/*                      handler                    size min,max      fds   vring arg      reply  lock_all */
#define ROW(req, h, smin, smax, fmin, fmax, arg, reply, lock) \
	[VHU_REQ_##req] = { h, smin, smax, fmin, fmax, arg, reply, lock }

static const struct vhu_msg_meta table[VHU_REQ_MAX] = {
	ROW(GET_FEATURES,          vhu_h_get_features,          0, 0,     0, 0, VHU_ARG_NONE,  true,  false),
	ROW(SET_FEATURES,          vhu_h_set_features,          U64, U64, 0, 0, VHU_ARG_NONE,  false, true),
	ROW(SET_OWNER,             vhu_h_set_owner,             0, 0,     0, 0, VHU_ARG_NONE,  false, false),
	ROW(RESET_OWNER,           vhu_h_reset_owner,           0, U64,   0, 0, VHU_ARG_NONE,  false, false),
	ROW(SET_MEM_TABLE,         vhu_h_set_mem_table,         MEM_HDR + sizeof(struct vhu_mem_region_wire),
							sizeof(struct vhu_mem_table_wire),
							1, VHU_MAX_MEM_REGIONS, VHU_ARG_NONE, false, false),
	ROW(SET_LOG_BASE,          vhu_h_set_log_base,          sizeof(struct vhu_log_wire), sizeof(struct vhu_log_wire),
							1, 1, VHU_ARG_NONE, true, false),
	ROW(SET_LOG_FD,            vhu_h_set_log_fd,            0, U64,   1, 1, VHU_ARG_NONE,  false, false),
	ROW(SET_VRING_NUM,         vhu_h_set_vring_num,         STATE, STATE, 0, 0, VHU_ARG_STATE, false, false),
	ROW(SET_VRING_ADDR,        vhu_h_set_vring_addr,        ADDR, ADDR, 0, 0, VHU_ARG_ADDR,  false, false),
	ROW(SET_VRING_BASE,        vhu_h_set_vring_base,        STATE, STATE, 0, 0, VHU_ARG_STATE, false, false),
	ROW(GET_VRING_BASE,        vhu_h_get_vring_base,        STATE, STATE, 0, 0, VHU_ARG_STATE, true,  false),
	ROW(SET_VRING_KICK,        vhu_h_set_vring_kick,        U64, U64, 0, 1, VHU_ARG_U64FD, false, false),
	ROW(SET_VRING_CALL,        vhu_h_set_vring_call,        U64, U64, 0, 1, VHU_ARG_U64FD, false, false),
	ROW(SET_VRING_ERR,         vhu_h_set_vring_err,         U64, U64, 0, 1, VHU_ARG_U64FD, false, false),
	ROW(GET_PROTOCOL_FEATURES, vhu_h_get_protocol_features, 0, 0,     0, 0, VHU_ARG_NONE,  true,  false),
	ROW(SET_PROTOCOL_FEATURES, vhu_h_set_protocol_features, U64, U64, 0, 0, VHU_ARG_NONE,  false, false),
	ROW(GET_QUEUE_NUM,         vhu_h_get_queue_num,         0, 0,     0, 0, VHU_ARG_NONE,  true,  false),
	ROW(SET_VRING_ENABLE,      vhu_h_set_vring_enable,      STATE, STATE, 0, 0, VHU_ARG_STATE, false, false),
	ROW(SEND_RARP,             vhu_h_send_rarp,             U64, U64, 0, 0, VHU_ARG_NONE,  false, false),
	ROW(NET_SET_MTU,           vhu_h_net_set_mtu,           U64, U64, 0, 0, VHU_ARG_NONE,  false, false),
	ROW(SET_BACKEND_REQ_FD,    vhu_h_set_backend_req_fd,    0, U64,   1, 1, VHU_ARG_NONE,  false, false),
	ROW(RESET_DEVICE,          vhu_h_reset_owner,           0, U64,   0, 0, VHU_ARG_NONE,  false, false),
	ROW(SET_STATUS,            vhu_h_set_status,            U64, U64, 0, 0, VHU_ARG_NONE,  false, false),
	ROW(GET_INFLIGHT_FD,       vhu_h_get_inflight_fd,       INFL, INFL, 0, 0, VHU_ARG_NONE,  true,  false),
	ROW(SET_INFLIGHT_FD,       vhu_h_set_inflight_fd,       INFL, INFL, 1, 1, VHU_ARG_NONE,  false, false),
	ROW(GET_STATUS,            vhu_h_get_status,            0, 0,     0, 0, VHU_ARG_NONE,  true,  false),
};

const struct vhu_msg_meta *vhu_msg_meta_get(uint32_t req)
{
	if (req >= VHU_REQ_MAX || !table[req].handler)
		return NULL;
	return &table[req];
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
	if (msg->hdr.size < m->size_min || msg->hdr.size > m->size_max) {
		VHU_ERR("%s: %s: payload of %u bytes (expected %u to %u)", dev->name, name,
			msg->hdr.size, m->size_min, m->size_max);
		return -EMSGSIZE;
	}
	if (msg->hdr.request == VHU_REQ_SET_MEM_TABLE &&
	    msg->hdr.size != MEM_HDR + msg->p.mem.nregions * sizeof(struct vhu_mem_region_wire)) {
		VHU_ERR("%s: %s: payload of %u bytes does not match %u regions", dev->name,
			name, msg->hdr.size, msg->p.mem.nregions);
		return -EMSGSIZE;
	}
	int fds_min = m->fds_min;
	if (m->vring == VHU_ARG_U64FD)
		fds_min = (msg->p.u64 & VHU_VRING_NOFD) ? 0 : 1;
	int fds_max = m->vring == VHU_ARG_U64FD ? fds_min : m->fds_max;
	if (msg->nfds < fds_min || msg->nfds > fds_max) {
		VHU_ERR("%s: %s: %d fds attached (expected %d to %d)", dev->name, name,
			msg->nfds, fds_min, fds_max);
		return -EBADF;
	}
	switch (m->vring) {
	case VHU_ARG_NONE:
		return 0;
	case VHU_ARG_STATE:
		idx = msg->p.state.index;
		break;
	case VHU_ARG_ADDR:
		idx = msg->p.addr.index;
		break;
	case VHU_ARG_U64FD:
		if (msg->p.u64 & ~(uint64_t)(VHU_VRING_IDX_MASK | VHU_VRING_NOFD)) {
			VHU_ERR("%s: %s: unknown bits in 0x%llx", dev->name, name,
				(unsigned long long)msg->p.u64);
			return -EINVAL;
		}
		idx = msg->p.u64 & VHU_VRING_IDX_MASK;
		break;
	default:
		return -EINVAL;
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
