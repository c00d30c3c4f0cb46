/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One message in (assembled by src/backend/conn.c): check against its table row (shape, and the
 * protocol feature it needs), run its handler with the locking the row
 * asks for, answer (reply or REPLY_ACK), then see whether the device just
 * became ready.
 */
#include <errno.h>
#include <string.h>
#include "backend/conn.h"
#include "backend/msg.h"
#include "common/log.h"

static bool send_reply(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	msg->hdr.flags = VHU_MSG_VERSION | VHU_MSG_REPLY;
	msg->nfds = 0;
	/* A reply may carry one fd the device keeps (GET_INFLIGHT_FD). */
	if (dev->reply_fd >= 0) {
		msg->fds[0] = dev->reply_fd;
		msg->nfds = 1;
		dev->reply_fd = -1;
	}
	return vhu_conn_send(dev, msg);
}

static bool ack(struct vhu_dev *dev, struct vhu_msg *msg, int result) VHU_REQUIRES(vhu_ctl)
{
	if (!(msg->hdr.flags & VHU_MSG_NEED_REPLY))
		return true;
	vhu_msg_reply_u64(msg, result < 0 ? 1 : 0);
	return send_reply(dev, msg);
}

bool vhu_dev_handle_msg(struct vhu_dev *dev, struct vhu_msg *msg)
{
	const struct vhu_msg_meta *m;
	int r;

	VHU_DBG("%s: %s size %u fds %d", dev->name, vhu_req_name(msg->hdr.request),
		msg->hdr.size, msg->nfds);

	m = vhu_msg_meta_get(msg->hdr.request);
	if (!m) {
		VHU_WARN("%s: unsupported request %u (%s), refused", dev->name,
			 msg->hdr.request, vhu_req_name(msg->hdr.request));
		vhu_msg_close_fds(msg);
		return ack(dev, msg, -EOPNOTSUPP);
	}
	r = vhu_msg_check(dev, msg, m);
	if (r < 0) {
		vhu_msg_close_fds(msg);
		/* A request that always gets an answer cannot be left unanswered,
		 * and an answer to a malformed question means nothing. Nor does
		 * one to a request whose protocol feature is not in force: the
		 * ack an unknown request gets would be read as the answer (1
		 * queue, status 1), so those close too; the others are refused
		 * as an unknown request is (-EOPNOTSUPP, connection kept). */
		if (m->has_reply)
			return false;
		return ack(dev, msg, r);
	}

	if (m->lock_all) {
		vhu_dev_lock_all(dev);
		r = m->handler(dev, msg);
		vhu_dev_unlock_all(dev);
	} else {
		r = m->handler(dev, msg);
	}
	vhu_msg_close_fds(msg);

	if (r == VHU_H_CLOSE)
		return false;
	if (r == VHU_H_REPLY) {
		if (!send_reply(dev, msg))
			return false;
	} else if (m->has_reply) {
		/* The handler failed a request that must be answered. */
		return false;
	} else if (!ack(dev, msg, r)) {
		return false;
	}
	vhu_dev_check_ready(dev);
	return true;
}
