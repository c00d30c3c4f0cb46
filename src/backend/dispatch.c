/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One message in (assembled by src/backend/conn.c): check against its table row (shape, and the
 * protocol feature it needs), run its handler with the locking the row
 * asks for, answer (reply or REPLY_ACK), then see whether the device just
 * became ready.
 *
 * A callback is the last thing before the answer, or the first thing
 * for a message that stops the device: such a message is held, the
 * callback started (backend/cb.h, the connection paused), and the
 * message answered, or handled, once it returned.
 */
#include <errno.h>
#include <stdlib.h>
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

/* What a held message waits to have done. */
enum { HELD_REPLY, HELD_ACK, HELD_HANDLE };

/* A message waiting for a callback (dev->held): its header, fds and the
 * hdr.size bytes of payload it has, not the VHU_MAX_PAYLOAD a struct
 * vhu_msg has room for. It becomes a struct vhu_msg again, on the stack
 * as a message read whole is, once the callback returned: its handler
 * and its reply may use all of one. */
struct vhu_held_msg {
	int what, result;
	int nfds;
	int fds[VHU_MAX_MSG_FDS];
	struct vhu_msg_hdr hdr;
	uint8_t payload[];
};

/* Takes a copy of msg, its fds with it, to finish when the callback
 * returned. false: no memory (msg left as it was). */
static bool hold(struct vhu_dev *dev, const struct vhu_msg *msg, int what, int result)
	VHU_REQUIRES(vhu_ctl)
{
	/* hdr.size is at most VHU_MAX_PAYLOAD: a request's, as the socket
	 * layer took it; a reply's, as its handler wrote it into msg->p. */
	struct vhu_held_msg *h = malloc(sizeof(*h) + msg->hdr.size);

	if (!h) {
		VHU_ERR("%s: no memory to hold %s for a callback; closing", dev->name,
			vhu_req_name(msg->hdr.request));
		return false;
	}
	h->what = what;
	h->result = result;
	h->nfds = msg->nfds;
	memcpy(h->fds, msg->fds, (size_t)msg->nfds * sizeof(*h->fds));
	h->hdr = msg->hdr;
	memcpy(h->payload, msg->p.raw, msg->hdr.size);
	dev->held = h;
	return true;
}

/* The held message as it was, fds included; frees the copy. */
static void unhold(struct vhu_dev *dev, struct vhu_msg *msg) VHU_REQUIRES(vhu_ctl)
{
	struct vhu_held_msg *h = dev->held;

	dev->held = NULL;
	msg->hdr = h->hdr;
	memcpy(msg->p.raw, h->payload, h->hdr.size);
	msg->nfds = h->nfds;
	memcpy(msg->fds, h->fds, (size_t)h->nfds * sizeof(*h->fds));
	free(h);
}

void vhu_dev_msg_drop(struct vhu_dev *dev)
{
	struct vhu_msg msg;

	if (!dev->held)
		return;
	unhold(dev, &msg);
	vhu_msg_close_fds(&msg);
}

/* The message's answer, as its handler's result says; false: close. */
static bool answer(struct vhu_dev *dev, const struct vhu_msg_meta *m, struct vhu_msg *msg,
		   int r) VHU_REQUIRES(vhu_ctl)
{
	if (r == VHU_H_REPLY)
		return send_reply(dev, msg);
	/* A handler that failed a request that must be answered closes. */
	return !m->has_reply && ack(dev, msg, r);
}

/* These stop a running device: destroy_device returns before they are
 * handled, so that the ring a reply gives back is no longer burst on. */
static bool stops_device(const struct vhu_msg_meta *m)
{
	return m->handler == vhu_h_get_vring_base || m->handler == vhu_h_reset_owner;
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

	if (dev->running && stops_device(m) && vhu_dev_stop(dev)) {
		/* Handled when destroy_device returned. */
		if (!hold(dev, msg, HELD_HANDLE, 0)) {
			vhu_msg_close_fds(msg);
			return false;
		}
		return true;
	}

	if (m->lock_all) {
		vhu_dev_lock_all(dev);
		r = m->handler(dev, msg);
		vhu_dev_unlock_all(dev);
	} else {
		r = m->handler(dev, msg);
	}
	vhu_msg_close_fds(msg);

	if (r == VHU_H_CLOSE) {
		dev->post.kind = VHU_CB_NONE;
		return false;
	}
	if (dev->post.kind != VHU_CB_NONE) {
		struct vhu_cb_args post = dev->post;
		dev->post.kind = VHU_CB_NONE;
		if (!hold(dev, msg, r == VHU_H_REPLY ? HELD_REPLY : HELD_ACK, r))
			return false;
		vhu_cb_start(dev, post);
		return true;
	}
	if (!answer(dev, m, msg, r))
		return false;
	vhu_dev_check_ready(dev);
	return true;
}

bool vhu_dev_msg_resume(struct vhu_dev *dev)
{
	struct vhu_msg msg;

	if (!dev->held) {
		vhu_dev_check_ready(dev);
		return true;
	}
	int what = dev->held->what, result = dev->held->result;
	unhold(dev, &msg);
	if (what == HELD_HANDLE)
		return vhu_dev_handle_msg(dev, &msg);
	const struct vhu_msg_meta *m = vhu_msg_meta_get(msg.hdr.request);
	if (!answer(dev, m, &msg, what == HELD_REPLY ? VHU_H_REPLY : result))
		return false;
	vhu_dev_check_ready(dev);
	return true;
}
