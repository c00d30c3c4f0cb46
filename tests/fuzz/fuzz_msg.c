/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: bytes as the message stream of one frontend
 * connection, through a socketpair into a real device (vhu_dev_create)
 * driven by the library's own event loop (external mode), so framing,
 * fd passing, vhu_msg_check, every handler, the ready check and teardown
 * all run as they do for a real socket.
 *
 * Input: records of [nfds:1][len:2 LE][len bytes]. Each record is one
 * sendmsg carrying nfds & 3 fds from {a 1 MiB memfd, an eventfd, a 64 KiB
 * memfd}, so SET_MEM_TABLE, SET_LOG_BASE and the vring fds can succeed.
 * After the stream the write side is shut and the loop runs until the
 * device is gone; a device that got running meanwhile has one dequeue and
 * one enqueue burst run on it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vhu/vhu.h>
#include "backend/dev.h"
#include "backend/socket.h"

#define PATH "/tmp/vhu-fuzz-msg.sock" /* registered, never started: no file */

static struct vhu_socket *sock;
static struct vhu_pkt_pool *pool;
static struct vhu_dev *running;

static int new_device(struct vhu_dev *d) { running = d; return 0; }
static void destroy_device(struct vhu_dev *d) { (void)d; running = NULL; }
static const struct vhu_device_ops ops = { .new_device = new_device,
					   .destroy_device = destroy_device };

static void quiet(enum vhu_log_level l, const char *m, void *a) { (void)l; (void)m; (void)a; }

static void init(void)
{
	if (sock)
		return;
	if (!getenv("FUZZ_VERBOSE"))
		vhu_log_set_handler(quiet, NULL);
	vhu_loop_set_external();
	if (vhu_driver_register(PATH, 0) || vhu_driver_callback_register(PATH, &ops, NULL))
		abort();
	sock = vhu_socket_find(PATH);
	pool = vhu_pkt_pool_create("fuzz", 64, 2048);
	if (!sock || !pool)
		abort();
}

static void drain(int fd)
{
	char buf[4096];
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
	}
}

static void bursts(void)
{
	struct vhu_pkt *pkts[8];
	if (!running)
		return;
	uint16_t n = vhu_dequeue_burst(running, 1, pool, pkts, 8);
	if (n) {
		vhu_enqueue_burst(running, 0, pkts, n);
		vhu_pkt_free_bulk(pkts, n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2], fds[3];

	init();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	int big = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	fds[0] = memfd_create("fz-a", MFD_CLOEXEC);
	fds[1] = eventfd(0, EFD_CLOEXEC);
	fds[2] = memfd_create("fz-b", MFD_CLOEXEC);
	if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0 || ftruncate(fds[0], 1 << 20) < 0 ||
	    ftruncate(fds[2], 1 << 16) < 0)
		abort();
	struct vhu_dev *dev = vhu_dev_create(sock, sv[1]);
	if (!dev)
		abort();

	/* Write the whole stream, then EOF: the backend reads what is there
	 * (a message still partial at EOF closes the connection). */
	size_t off = 0;
	while (off + 3 <= size) {
		int nfds = data[off] & 3;
		size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
		off += 3;
		if (len > size - off)
			len = size - off;
		char control[CMSG_SPACE(sizeof(fds))];
		struct iovec iov = { (void *)(data + off), len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		if (nfds && len) {
			memset(control, 0, sizeof(control));
			mh.msg_control = control;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
		}
		if (len && sendmsg(sv[0], &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			break;
		off += len;
	}
	shutdown(sv[0], SHUT_WR);

	/* One event per message; the device goes on EOF or the first error. */
	for (int i = 0; i < 100000 && sock->devs; i++) {
		vhu_loop_run(0);
		drain(sv[0]);
		bursts();
	}
	if (sock->devs)
		vhu_dev_destroy(sock->devs);
	vhu_loop_run(0); /* frees the dead loop entry */
	close(sv[0]);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	return 0;
}
