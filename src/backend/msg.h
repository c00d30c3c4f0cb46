/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Message handling metadata. Every request the backend speaks has one row
 * (src/backend/msg_table.c, expanded from the list in src/proto/requests.h)
 * saying what a well-formed message looks like and which protocol feature
 * it needs; vhu_msg_check() enforces the row before any handler runs, so
 * handlers see only messages of the right size, fd count and vring index,
 * on a connection that negotiated what they need.
 */
#ifndef VHU_BACKEND_MSG_H
#define VHU_BACKEND_MSG_H

#include <stdbool.h>
#include "backend/dev.h"
#include "proto/wire.h"

/* Handler results besides 0 (done, no payload to send back). */
#define VHU_H_REPLY 1          /* msg holds the reply payload */
#define VHU_H_CLOSE (-10000)   /* drop the connection */

typedef int (*vhu_msg_handler)(struct vhu_dev *dev, struct vhu_msg *msg);

/* One row per request the backend speaks, expanded from the list in
 * src/proto/requests.h (the meaning of each column is there). */
struct vhu_msg_meta {
	vhu_msg_handler handler;
	enum vhu_payload_layout payload;
	uint16_t size_min, size_max;
	uint8_t fds_min, fds_max;
	bool has_reply;     /* the protocol always answers this request */
	bool lock_all;      /* run with every vring locked (no burst inside) */
	struct vhu_gate gate; /* protocol feature the request needs */
};

/* NULL for a request the backend does not speak. */
const struct vhu_msg_meta *vhu_msg_meta_get(uint32_t req);
/* 0 when msg fits its row; negative errno with a log line otherwise:
 * -EOPNOTSUPP when the row's protocol feature is not in force (refused
 * as an unknown request is), others when the message is malformed. */
int vhu_msg_check(const struct vhu_dev *dev, const struct vhu_msg *msg,
		  const struct vhu_msg_meta *m) VHU_REQUIRES(vhu_ctl);
/* Takes fd i out of msg (so dispatch does not close it). */
static inline int vhu_msg_take_fd(struct vhu_msg *msg, int i)
{
	int fd = msg->fds[i];
	msg->fds[i] = -1;
	return fd;
}
static inline int vhu_msg_reply_u64(struct vhu_msg *msg, uint64_t v)
{
	msg->p.u64 = v;
	msg->hdr.size = sizeof(uint64_t);
	return VHU_H_REPLY;
}

/* Handlers, by topic. */
int vhu_h_get_features(struct vhu_dev *, struct vhu_msg *);
int vhu_h_set_features(struct vhu_dev *, struct vhu_msg *);
int vhu_h_get_protocol_features(struct vhu_dev *, struct vhu_msg *);
int vhu_h_set_protocol_features(struct vhu_dev *, struct vhu_msg *);
int vhu_h_set_owner(struct vhu_dev *, struct vhu_msg *);
int vhu_h_reset_owner(struct vhu_dev *, struct vhu_msg *);
int vhu_h_get_queue_num(struct vhu_dev *, struct vhu_msg *);
int vhu_h_send_rarp(struct vhu_dev *, struct vhu_msg *);
int vhu_h_net_set_mtu(struct vhu_dev *, struct vhu_msg *);
int vhu_h_set_backend_req_fd(struct vhu_dev *, struct vhu_msg *);
int vhu_h_set_status(struct vhu_dev *, struct vhu_msg *);
int vhu_h_get_status(struct vhu_dev *, struct vhu_msg *);
int vhu_h_iotlb_msg(struct vhu_dev *, struct vhu_msg *);

int vhu_h_set_mem_table(struct vhu_dev *, struct vhu_msg *);
int vhu_h_get_max_mem_slots(struct vhu_dev *, struct vhu_msg *);
int vhu_h_add_mem_reg(struct vhu_dev *, struct vhu_msg *);
int vhu_h_rem_mem_reg(struct vhu_dev *, struct vhu_msg *);
int vhu_h_set_log_base(struct vhu_dev *, struct vhu_msg *);
int vhu_h_set_log_fd(struct vhu_dev *, struct vhu_msg *);

int vhu_h_set_vring_num(struct vhu_dev *, struct vhu_msg *);
int vhu_h_set_vring_addr(struct vhu_dev *, struct vhu_msg *);
int vhu_h_set_vring_base(struct vhu_dev *, struct vhu_msg *);
int vhu_h_get_vring_base(struct vhu_dev *, struct vhu_msg *);
int vhu_h_set_vring_kick(struct vhu_dev *, struct vhu_msg *);
int vhu_h_set_vring_call(struct vhu_dev *, struct vhu_msg *);
int vhu_h_set_vring_err(struct vhu_dev *, struct vhu_msg *);
int vhu_h_set_vring_enable(struct vhu_dev *, struct vhu_msg *);

int vhu_h_get_inflight_fd(struct vhu_dev *, struct vhu_msg *);
int vhu_h_set_inflight_fd(struct vhu_dev *, struct vhu_msg *);
void vhu_dev_inflight_unmap(struct vhu_dev *dev);

#endif
