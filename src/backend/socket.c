/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Registered paths: a server socket accepts up to its max_conns
 * frontends at once (more are accepted and closed at once, so that they
 * wait neither in the listen queue nor on us), one device each; a client socket connects and, unless told otherwise,
 * retries every second while the peer is absent or after it leaves.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>
#include "backend/conn.h"
#include "backend/dev.h"
#include "backend/socket.h"
#include "common/clock.h"
#include "common/log.h"
#include "loop/loop.h"

static struct vhu_socket *sockets VHU_GUARDED_BY(vhu_ctl);

struct vhu_socket *vhu_socket_find(const char *path)
{
	for (struct vhu_socket *s = sockets; s; s = s->next)
		if (!strcmp(s->path, path))
			return s;
	return NULL;
}

static int make_addr(const char *path, struct sockaddr_un *un)
{
	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(un->sun_path))
		return -ENAMETOOLONG;
	strcpy(un->sun_path, path);
	return 0;
}

int vhu_socket_register(const char *path, uint64_t flags)
{
	struct sockaddr_un un;
	struct vhu_socket *s;

	if (!path || !*path)
		return -EINVAL;
	if (make_addr(path, &un) < 0) {
		VHU_ERR("%s: socket path too long (max %zu)", path, sizeof(un.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	if (flags & ~(VHU_CLIENT | VHU_NO_RECONNECT | VHU_NO_RING_RESYNC | VHU_DEQUEUE_ZERO_COPY |
	      VHU_POPULATE_MEM))
		return -EINVAL;
	if (vhu_socket_find(path)) {
		VHU_ERR("%s: already registered", path);
		return -EEXIST;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		return -ENOMEM;
	}
	s->flags = flags;
	s->is_server = !(flags & VHU_CLIENT);
	s->reconnect = !s->is_server && !(flags & VHU_NO_RECONNECT);
	s->mode = 0660;
	s->features = vhu_default_features();
	s->protocol_features = vhu_default_protocol_features();
	s->max_queue_pairs = VHU_MAX_QUEUE_PAIRS;
	s->listen_fd = s->timer_fd = -1;
	s->io_timeout_ms = VHU_DEFAULT_IO_TIMEOUT_MS;
	s->max_conns = VHU_DEFAULT_MAX_CONNECTIONS;
	s->next = sockets;
	sockets = s;
	return 0;
}

/* At the limit: says so, once a second at most (a peer that connects in a
 * loop must not flood the log), with how many were refused. */
static bool too_many(struct vhu_socket *s) VHU_REQUIRES(vhu_ctl)
{
	unsigned n = 0;
	for (struct vhu_dev *d = s->devs; d && n < s->max_conns; d = d->next)
		n++;
	if (n < s->max_conns)
		return false;
	int64_t now = vhu_now_ms();
	s->refused++;
	if (!s->refused_logged_ms || now - s->refused_logged_ms >= 1000) {
		VHU_WARN("%s: connection refused: %u connections already, the limit "
			 "(%llu refused so far)", s->path, s->max_conns,
			 (unsigned long long)s->refused);
		s->refused_logged_ms = now;
	}
	return true;
}

static void accept_event(void *arg, uint32_t events) VHU_REQUIRES(vhu_ctl)
{
	struct vhu_socket *s = arg;
	int fd;

	(void)events;
	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			VHU_ERR("%s: accept: %s", s->path, strerror(errno));
		return;
	}
	if (too_many(s)) {
		close(fd);
		return;
	}
	if (!vhu_dev_create(s, fd))
		close(fd);
}

/* A socket file that still answers belongs to a live backend: refuse to
 * steal it. One that refuses connections is stale and can go. */
static int claim_path(const char *path, const struct sockaddr_un *un)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		VHU_ERR("%s: exists and is not a socket; refusing to replace it", path);
		return -EEXIST;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int r = connect(fd, (const struct sockaddr *)un, sizeof(*un));
	close(fd);
	if (r == 0) {
		VHU_ERR("%s: in use by a live socket; refusing to take it over", path);
		return -EADDRINUSE;
	}
	VHU_INFO("%s: removing stale socket file", path);
	unlink(path);
	return 0;
}

static int start_server(struct vhu_socket *s) VHU_REQUIRES(vhu_ctl)
{
	struct sockaddr_un un;
	int fd, r;

	make_addr(s->path, &un);
	if ((r = claim_path(s->path, &un)) < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Created with the final mode: no window where others may connect. */
	mode_t old = umask(0777 & ~s->mode);
	r = bind(fd, (struct sockaddr *)&un, sizeof(un));
	umask(old);
	if (r < 0 || listen(fd, 128) < 0) {
		r = -errno;
		VHU_ERR("%s: cannot listen: %s", s->path, strerror(-r));
		close(fd);
		return r;
	}
	chmod(s->path, s->mode);
	s->listen_fd = fd;
	s->listen_ev = vhu_loop_add(fd, accept_event, s);
	if (!s->listen_ev) {
		close(fd);
		unlink(s->path);
		s->listen_fd = -1;
		return -ENOMEM;
	}
	VHU_INFO("%s: listening", s->path);
	return 0;
}

static int try_connect(struct vhu_socket *s) VHU_REQUIRES(vhu_ctl)
{
	struct sockaddr_un un;
	int fd;

	make_addr(s->path, &un);
	/* Non-blocking: a unix connect then fails (EAGAIN) rather than waits
	 * when the server's listen queue is full, and is retried later. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (!vhu_dev_create(s, fd)) {
		close(fd);
		return -ENOMEM;
	}
	VHU_INFO("%s: connected", s->path);
	return 0;
}

static void arm_timer(struct vhu_socket *s, bool on) VHU_REQUIRES(vhu_ctl)
{
	struct itimerspec its = { 0 };
	if (on) {
		its.it_value.tv_sec = 1;
		its.it_interval.tv_sec = 1;
	}
	if (s->timer_fd >= 0)
		timerfd_settime(s->timer_fd, 0, &its, NULL);
}

static void reconnect_event(void *arg, uint32_t events) VHU_REQUIRES(vhu_ctl)
{
	struct vhu_socket *s = arg;
	uint64_t n;

	(void)events;
	if (read(s->timer_fd, &n, sizeof(n)) < 0) {
		/* spurious wake-up; the timer fires again */
	}
	if (s->devs)
		return;
	if (try_connect(s) == 0)
		arm_timer(s, false);
}

static int start_client(struct vhu_socket *s) VHU_REQUIRES(vhu_ctl)
{
	int r = try_connect(s);

	if (r == 0 || !s->reconnect) {
		if (r < 0)
			VHU_ERR("%s: cannot connect: %s", s->path, strerror(-r));
		return r;
	}
	VHU_INFO("%s: %s; retrying every second", s->path, strerror(-r));
	arm_timer(s, true);
	return 0;
}

int vhu_socket_start(struct vhu_socket *s)
{
	int r;

	if (s->started)
		return -EALREADY;
	if ((r = vhu_loop_ensure_running()) < 0)
		return r;
	if (s->reconnect) {
		s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (s->timer_fd < 0)
			return -errno;
		s->timer_ev = vhu_loop_add(s->timer_fd, reconnect_event, s);
		if (!s->timer_ev) {
			close(s->timer_fd);
			s->timer_fd = -1;
			return -ENOMEM;
		}
	}
	r = s->is_server ? start_server(s) : start_client(s);
	if (r == 0)
		s->started = true;
	return r;
}

void vhu_socket_dev_closed(struct vhu_socket *s, struct vhu_dev *dev)
{
	(void)dev;
	if (s->reconnect && !s->devs && s->started) {
		VHU_INFO("%s: peer gone; reconnecting every second", s->path);
		arm_timer(s, true);
	}
}

int vhu_socket_unregister(struct vhu_socket *s)
{
	s->started = false; /* no reconnect while tearing down */
	if (s->listen_ev) {
		vhu_loop_del(s->listen_ev);
		close(s->listen_fd);
		unlink(s->path);
	}
	if (s->timer_ev) {
		vhu_loop_del(s->timer_ev);
		close(s->timer_fd);
	}
	for (struct vhu_socket **pp = &sockets; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	/* Out of every list first: vhu_cb_wait lets the loop and the API
	 * run while the devices' callbacks return. */
	for (struct vhu_dev *d = s->devs, *next; d; d = next) {
		next = d->next;
		vhu_dev_destroy(d);
	}
	while (s->devs)
		vhu_cb_wait();
	VHU_INFO("%s: unregistered", s->path);
	free(s->path);
	free(s);
	return 0;
}
