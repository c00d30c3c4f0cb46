/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "common/compiler.h"
#include "common/log.h"
#include "loop/loop.h"

struct vhu_loop_entry {
	int fd;
	bool dead;
	vhu_loop_cb cb;
	void *arg;
	struct vhu_loop_entry *next_dead;
};

vhu_mutex vhu_ctl = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void vhu_ctl_lock(void)
{
	vhu_mutex_lock(&vhu_ctl);
}

void vhu_ctl_unlock(void)
{
	vhu_mutex_unlock(&vhu_ctl);
}

static vhu_mutex loop_init_lock = PTHREAD_MUTEX_INITIALIZER;
static int epfd = -1;
static int wake_fd = -1;          /* wakes the thread to stop */
static bool external VHU_GUARDED_BY(loop_init_lock); /* the application runs the loop */
static bool thread_running VHU_GUARDED_BY(loop_init_lock);
static bool thread_stop; /* atomic */
static pthread_t loop_tid VHU_GUARDED_BY(loop_init_lock);
static __thread bool on_loop_thread;
static struct vhu_loop_entry *dead_list VHU_GUARDED_BY(vhu_ctl);

int vhu_loop_init(void)
{
	int ret = 0;

	vhu_mutex_lock(&loop_init_lock);
	if (epfd < 0) {
		epfd = epoll_create1(EPOLL_CLOEXEC);
		wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (epfd < 0 || wake_fd < 0) {
			ret = -errno;
			VHU_ERR("event loop: cannot create epoll set: %s", strerror(errno));
			if (epfd >= 0)
				close(epfd);
			if (wake_fd >= 0)
				close(wake_fd);
			epfd = wake_fd = -1;
		} else {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
			epoll_ctl(epfd, EPOLL_CTL_ADD, wake_fd, &ev);
		}
	}
	vhu_mutex_unlock(&loop_init_lock);
	return ret;
}

struct vhu_loop_entry *vhu_loop_add(int fd, vhu_loop_cb cb, void *arg)
{
	struct vhu_loop_entry *e;

	if (vhu_loop_init() < 0)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->fd = fd;
	e->cb = cb;
	e->arg = arg;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = e };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		VHU_ERR("event loop: cannot watch fd %d: %s", fd, strerror(errno));
		free(e);
		return NULL;
	}
	return e;
}

int vhu_loop_watch_out(struct vhu_loop_entry *e, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0),
				  .data.ptr = e };
	return epoll_ctl(epfd, EPOLL_CTL_MOD, e->fd, &ev) < 0 ? -errno : 0;
}

void vhu_loop_del(struct vhu_loop_entry *e)
{
	if (!e)
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, e->fd, NULL);
	e->dead = true;
	vhu_ctl_lock();
	e->next_dead = dead_list;
	dead_list = e;
	vhu_ctl_unlock();
}

static void reap_dead(void)
{
	vhu_ctl_lock();
	while (dead_list) {
		struct vhu_loop_entry *e = dead_list;
		dead_list = e->next_dead;
		free(e);
	}
	vhu_ctl_unlock();
}

int vhu_loop_on_loop_thread(void)
{
	return on_loop_thread;
}

VHU_EXPORT int vhu_loop_fd(void)
{
	int r = vhu_loop_init();
	return r < 0 ? r : epfd;
}

VHU_EXPORT int vhu_loop_run(int timeout_ms)
{
	struct epoll_event evs[32];
	int n, ret;

	if ((ret = vhu_loop_init()) < 0)
		return ret;
	n = epoll_wait(epfd, evs, VHU_ARRAY_SIZE(evs), timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	on_loop_thread = true;
	vhu_ctl_lock();
	for (int i = 0; i < n; i++) {
		struct vhu_loop_entry *e = evs[i].data.ptr;
		if (!e) {
			eventfd_t v;
			(void)eventfd_read(wake_fd, &v);
			continue;
		}
		if (!e->dead)
			e->cb(e->arg, evs[i].events);
	}
	vhu_ctl_unlock();
	on_loop_thread = false;
	reap_dead();
	return n;
}

static void *loop_thread(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&thread_stop, __ATOMIC_ACQUIRE))
		vhu_loop_run(1000);
	return NULL;
}

VHU_EXPORT int vhu_loop_set_external(void)
{
	vhu_mutex_lock(&loop_init_lock);
	int ret = thread_running ? -EBUSY : 0;
	if (!ret)
		external = true;
	vhu_mutex_unlock(&loop_init_lock);
	return ret;
}

VHU_EXPORT int vhu_loop_start_thread(void)
{
	int ret;

	if ((ret = vhu_loop_init()) < 0)
		return ret;
	vhu_mutex_lock(&loop_init_lock);
	if (!thread_running) {
		__atomic_store_n(&thread_stop, false, __ATOMIC_RELAXED);
		ret = -pthread_create(&loop_tid, NULL, loop_thread, NULL);
		if (ret == 0) {
			thread_running = true;
			pthread_setname_np(loop_tid, "vhu-ctl");
		} else {
			VHU_ERR("event loop: cannot start thread: %s", strerror(-ret));
		}
	}
	vhu_mutex_unlock(&loop_init_lock);
	return ret;
}

VHU_EXPORT void vhu_loop_stop_thread(void)
{
	vhu_mutex_lock(&loop_init_lock);
	bool running = thread_running;
	pthread_t tid = loop_tid;
	thread_running = false;
	vhu_mutex_unlock(&loop_init_lock);
	if (!running)
		return;
	__atomic_store_n(&thread_stop, true, __ATOMIC_RELEASE);
	eventfd_write(wake_fd, 1);
	pthread_join(tid, NULL);
}

int vhu_loop_ensure_running(void)
{
	vhu_mutex_lock(&loop_init_lock);
	bool ext = external;
	vhu_mutex_unlock(&loop_init_lock);
	if (ext)
		return vhu_loop_init();
	return vhu_loop_start_thread();
}
