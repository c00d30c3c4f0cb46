/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Message socket I/O for both sides of the protocol. A message is a
 * 12-byte header, then `size` bytes of payload; fds ride on the message's
 * first sendmsg as SCM_RIGHTS. Receiving is one step function that reads
 * only as far as the current message's end (so fds are never attributed
 * to the wrong message) and keeps a partial message in the caller's
 * buffer: the backend calls it on a non-blocking socket whenever bytes
 * arrive, the frontend through vhu_msg_recv() on a blocking one. Anything
 * that does not parse is reported as an error so the caller can close the
 * connection: after a framing error the byte stream can no longer be
 * trusted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "common/compiler.h"
#include "common/log.h"
#include "proto/wire.h"

#define HDR_LEN ((uint32_t)sizeof(struct vhu_msg_hdr))

void vhu_msg_close_fds(struct vhu_msg *msg)
{
	for (int i = 0; i < msg->nfds; i++)
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
	msg->nfds = 0;
}

void vhu_msg_rx_init(struct vhu_msg *msg, struct vhu_msg_rx *st)
{
	msg->nfds = 0;
	st->got = 0;
	st->fds_over = false;
}

const char *vhu_msg_rx_partial(const struct vhu_msg *msg, const struct vhu_msg_rx *st,
			       char *buf, size_t len)
{
	if (st->got < HDR_LEN)
		snprintf(buf, len, "message header truncated (%u of %u bytes)", st->got, HDR_LEN);
	else
		snprintf(buf, len, "%s: payload truncated (%u of %u bytes)",
			 vhu_req_name(msg->hdr.request), st->got - HDR_LEN, msg->hdr.size);
	return buf;
}

/* One recvmsg into dst; the fds that came with it join msg. */
static ssize_t recv_some(int sock, void *dst, size_t len, struct vhu_msg *msg,
			 struct vhu_msg_rx *st)
{
	char control[CMSG_SPACE(sizeof(int) * VHU_MAX_MSG_FDS * 2)];
	struct iovec iov = { .iov_base = dst, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	ssize_t r;

	do {
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int fds[VHU_MAX_MSG_FDS * 2];
		if (n > VHU_ARRAY_SIZE(fds))
			n = VHU_ARRAY_SIZE(fds);
		memcpy(fds, CMSG_DATA(c), n * sizeof(int));
		for (size_t i = 0; i < n; i++) {
			if (msg->nfds < VHU_MAX_MSG_FDS) {
				msg->fds[msg->nfds++] = fds[i];
			} else {
				close(fds[i]);
				st->fds_over = true;
			}
		}
	}
	/* The kernel dropped fds it could not fit: far more than any
	 * request takes. */
	if (mh.msg_flags & MSG_CTRUNC)
		st->fds_over = true;
	return r;
}

/* The header just became whole: refuse what no request can be. */
static int check_hdr(const struct vhu_msg *msg, const struct vhu_msg_rx *st)
{
	if (st->fds_over) {
		VHU_ERR("%s: more than %d fds attached", vhu_req_name(msg->hdr.request),
			VHU_MAX_MSG_FDS);
		return -E2BIG;
	}
	if (msg->hdr.size > VHU_MAX_PAYLOAD) {
		VHU_ERR("%s: payload size %u exceeds %u", vhu_req_name(msg->hdr.request),
			msg->hdr.size, VHU_MAX_PAYLOAD);
		return -EMSGSIZE;
	}
	return 0;
}

int vhu_msg_rx_step(int sock, struct vhu_msg *msg, struct vhu_msg_rx *st)
{
	int ret;

	for (;;) {
		bool in_hdr = st->got < HDR_LEN;
		uint32_t end = in_hdr ? HDR_LEN : HDR_LEN + msg->hdr.size;
		char *dst = in_hdr ? (char *)&msg->hdr + st->got
				   : (char *)&msg->p + (st->got - HDR_LEN);
		if (!in_hdr && st->got == end)
			break;
		ssize_t r = recv_some(sock, dst, end - st->got, msg, st);
		if (r == -EAGAIN)
			return -EAGAIN; /* the partial message waits in msg */
		if (r < 0) {
			ret = (int)r;
			goto fail;
		}
		if (r == 0) {
			if (!st->got && !msg->nfds)
				return 0;
			char why[96];
			VHU_ERR("%s", vhu_msg_rx_partial(msg, st, why, sizeof(why)));
			ret = -EPROTO;
			goto fail;
		}
		st->got += (uint32_t)r;
		if (in_hdr && st->got == HDR_LEN && (ret = check_hdr(msg, st)) < 0)
			goto fail;
	}
	if (st->fds_over) {
		/* fds that came with the payload rather than the header */
		ret = check_hdr(msg, st);
		goto fail;
	}
	return 1;
fail:
	vhu_msg_close_fds(msg);
	return ret;
}

int vhu_msg_recv(int sock, struct vhu_msg *msg)
{
	struct vhu_msg_rx st;
	char why[96];

	vhu_msg_rx_init(msg, &st);
	int r = vhu_msg_rx_step(sock, msg, &st);
	if (r != -EAGAIN)
		return r;
	if (!st.got && !msg->nfds)
		return r; /* nothing there at all */
	/* SO_RCVTIMEO expired: the peer stalled mid-message. */
	VHU_ERR("%s", vhu_msg_rx_partial(msg, &st, why, sizeof(why)));
	vhu_msg_close_fds(msg);
	return -ETIMEDOUT;
}

uint32_t vhu_msg_pack(const struct vhu_msg *msg, uint8_t *buf)
{
	memcpy(buf, &msg->hdr, HDR_LEN);
	memcpy(buf + HDR_LEN, &msg->p, msg->hdr.size);
	return HDR_LEN + msg->hdr.size;
}

ssize_t vhu_msg_write(int sock, const void *buf, size_t len, const int *fds, int nfds)
{
	char control[CMSG_SPACE(sizeof(int) * VHU_MAX_MSG_FDS)];
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;

	if (nfds < 0 || nfds > VHU_MAX_MSG_FDS)
		return -EINVAL;
	if (nfds > 0) {
		memset(control, 0, sizeof(control));
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	do {
		r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return r;
}

int vhu_msg_send(int sock, const struct vhu_msg *msg)
{
	uint8_t buf[sizeof(struct vhu_msg_hdr) + VHU_MAX_PAYLOAD];

	if (msg->hdr.size > VHU_MAX_PAYLOAD || msg->nfds < 0 || msg->nfds > VHU_MAX_MSG_FDS)
		return -EINVAL;
	uint32_t total = vhu_msg_pack(msg, buf), done = 0;
	while (done < total) {
		/* The fds go with the first byte; a short write (the peer's
		 * buffer is full) is finished without them. */
		ssize_t r = vhu_msg_write(sock, buf + done, total - done, msg->fds,
					  done ? 0 : msg->nfds);
		if (r < 0) /* -EAGAIN: SO_SNDTIMEO expired */
			return r == -EAGAIN ? -ETIMEDOUT : (int)r;
		done += (uint32_t)r;
	}
	return 0;
}
