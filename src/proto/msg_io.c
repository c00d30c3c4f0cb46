/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Whole-message socket I/O for both sides of the protocol. A message is a
 * 12-byte header, then `size` bytes of payload; fds ride on the header's
 * sendmsg as SCM_RIGHTS. Anything that does not parse is reported as an
 * error so the caller can close the connection: after a framing error the
 * byte stream can no longer be trusted.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "common/compiler.h"
#include "common/log.h"
#include "proto/wire.h"

static int read_full(int sock, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = recv(sock, (char *)buf + got, len - got, 0);
		if (r == 0)
			return got ? -EPROTO : 0;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* SO_RCVTIMEO expired: the peer stalled mid-message. */
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -ETIMEDOUT;
			return -errno;
		}
		got += (size_t)r;
	}
	return 1;
}

void vhu_msg_close_fds(struct vhu_msg *msg)
{
	for (int i = 0; i < msg->nfds; i++)
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
	msg->nfds = 0;
}

int vhu_msg_recv(int sock, struct vhu_msg *msg)
{
	char control[CMSG_SPACE(sizeof(int) * VHU_MAX_MSG_FDS * 2)];
	struct iovec iov = { .iov_base = &msg->hdr, .iov_len = sizeof(msg->hdr) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	ssize_t r;
	int ret;

	msg->nfds = 0;
	do {
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;

	int too_many = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int fds[VHU_MAX_MSG_FDS * 2];
		if (n > (VHU_MAX_MSG_FDS * 2))
			n = (VHU_MAX_MSG_FDS * 2);
		memcpy(fds, CMSG_DATA(c), n * sizeof(int));
		for (size_t i = 0; i < n; i++) {
			if (msg->nfds < VHU_MAX_MSG_FDS)
				msg->fds[msg->nfds++] = fds[i];
			else {
				close(fds[i]);
				too_many = 1;
			}
		}
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		/* The kernel dropped fds it could not fit; the sender sent far
		 * more than any request takes. */
		too_many = 1;
	}
	if ((size_t)r < sizeof(msg->hdr)) {
		ret = read_full(sock, (char *)&msg->hdr + r, sizeof(msg->hdr) - (size_t)r);
		if (ret <= 0) {
			VHU_ERR("message header truncated");
			vhu_msg_close_fds(msg);
			return ret < 0 ? ret : -EPROTO;
		}
	}
	if (too_many) {
		VHU_ERR("%s: more than %d fds attached", vhu_req_name(msg->hdr.request),
			VHU_MAX_MSG_FDS);
		vhu_msg_close_fds(msg);
		return -E2BIG;
	}
	if (msg->hdr.size > VHU_MAX_PAYLOAD) {
		VHU_ERR("%s: payload size %u exceeds %u", vhu_req_name(msg->hdr.request),
			msg->hdr.size, VHU_MAX_PAYLOAD);
		vhu_msg_close_fds(msg);
		return -EMSGSIZE;
	}
	if (msg->hdr.size) {
		ret = read_full(sock, &msg->p, msg->hdr.size);
		if (ret <= 0) {
			VHU_ERR("%s: payload truncated", vhu_req_name(msg->hdr.request));
			vhu_msg_close_fds(msg);
			return ret < 0 ? ret : -EPROTO;
		}
	}
	return 1;
}

int vhu_msg_send(int sock, const struct vhu_msg *msg)
{
	char control[CMSG_SPACE(sizeof(int) * VHU_MAX_MSG_FDS)];
	struct iovec iov[2] = {
		{ .iov_base = (void *)&msg->hdr, .iov_len = sizeof(msg->hdr) },
		{ .iov_base = (void *)&msg->p, .iov_len = msg->hdr.size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = msg->hdr.size ? 2 : 1 };
	size_t total = sizeof(msg->hdr) + msg->hdr.size;
	ssize_t r;

	if (msg->hdr.size > VHU_MAX_PAYLOAD || msg->nfds < 0 || msg->nfds > VHU_MAX_MSG_FDS)
		return -EINVAL;
	if (msg->nfds > 0) {
		memset(control, 0, sizeof(control));
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)msg->nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)msg->nfds);
		memcpy(CMSG_DATA(c), msg->fds, sizeof(int) * (size_t)msg->nfds);
	}
	do {
		r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
	if ((size_t)r != total) {
		/* Unix stream sockets only write short when the peer's buffer is
		 * full; finish the payload without fds. */
		size_t done = (size_t)r;
		const char *base = (const char *)&msg->hdr;
		while (done < total) {
			const char *p = done < sizeof(msg->hdr) ? base + done
				: (const char *)&msg->p + (done - sizeof(msg->hdr));
			size_t len = done < sizeof(msg->hdr) ? sizeof(msg->hdr) - done
				: total - done;
			r = send(sock, p, len, MSG_NOSIGNAL);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT
										: -errno;
			}
			done += (size_t)r;
		}
	}
	return 0;
}
