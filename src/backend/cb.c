/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Callbacks off the control thread (see cb.h). Workers come and go with
 * the need: a call goes to an idle worker when there is one, else to a
 * new one, so two devices' slow callbacks never wait for each other (a
 * fixed pool would make them). A worker idle for WORKER_IDLE_S ends, and
 * one whose call is done ends at once when WORKER_IDLE_MAX already wait.
 * Reusing workers keeps a guest that reconnects in a loop from costing
 * a thread creation per callback (and, under ASan, the memory each
 * thread's bookkeeping keeps).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "backend/cb.h"
#include "backend/conn.h"
#include "backend/dev.h"
#include "common/clock.h"
#include "common/log.h"

/* Calls that returned, for the control thread to finish; the eventfd
 * wakes the loop, the condition vhu_cb_wait. */
static struct vhu_cb_call *finished VHU_GUARDED_BY(vhu_ctl);
static struct vhu_cb_call **finished_tail VHU_GUARDED_BY(vhu_ctl) = &finished;
static int wake_fd VHU_GUARDED_BY(vhu_ctl) = -1;
static struct vhu_loop_entry *wake_ev VHU_GUARDED_BY(vhu_ctl);
static pthread_cond_t returned = PTHREAD_COND_INITIALIZER;
static __thread const struct vhu_dev *current;

#define WORKER_IDLE_S 10
/* Workers kept waiting at most: enough for a guest reconnecting in a
 * loop; a burst of connections (each a callback at once) makes workers
 * that end as soon as their call is done, as they would have. */
#define WORKER_IDLE_MAX 4
/* Calls handed to idle workers and not yet taken; workers waiting. */
static struct vhu_cb_call *handed VHU_GUARDED_BY(vhu_ctl);
static unsigned handed_n VHU_GUARDED_BY(vhu_ctl), idle_n VHU_GUARDED_BY(vhu_ctl);
static pthread_cond_t work; /* monotonic clock: set up by work_ready */
static bool work_set VHU_GUARDED_BY(vhu_ctl);

/* Everything below that depends on the kind comes from VHU_CB_LIST. */
static const char *const names[] = {
#define NAME(K, m, r, args) [VHU_CB_##K] = #m,
	VHU_CB_LIST(NAME)
#undef NAME
};

const struct vhu_dev *vhu_cb_current(void)
{
	return current;
}

static bool is_set(const struct vhu_device_ops *ops, enum vhu_cb_kind kind)
{
	switch (kind) {
#define IS_SET(K, m, r, args) case VHU_CB_##K: return ops->m != NULL;
	VHU_CB_LIST(IS_SET)
#undef IS_SET
	case VHU_CB_NONE: break;
	}
	return false;
}

bool vhu_cb_wanted(const struct vhu_dev *dev, enum vhu_cb_kind kind)
{
	return is_set(&dev->sock->ops, kind);
}

static void finish_all(void) VHU_REQUIRES(vhu_ctl)
{
	while (finished) {
		struct vhu_cb_call *c = finished;
		finished = c->next;
		if (!finished)
			finished_tail = &finished;
		vhu_dev_cb_finish(c->dev);
	}
}

static void wake_event(void *arg, uint32_t events) VHU_REQUIRES(vhu_ctl)
{
	eventfd_t v;

	(void)arg;
	(void)events;
	(void)eventfd_read(wake_fd, &v);
	finish_all();
}

/* The call itself, timed: the log names one that took long, which held
 * its own device (and whatever the application holds around it). */
static void call(struct vhu_cb_call *c)
{
	struct vhu_dev *d = c->dev;
	const struct vhu_cb_args *a = &c->args;
	int64_t t0 = vhu_now_ms();

	current = d;
	switch (a->kind) {
#define RESULT_R(e) c->result = e
#define RESULT_V(e) e
#define CALL(K, m, r, args) case VHU_CB_##K: RESULT_##r(c->ops.m args); break;
	VHU_CB_LIST(CALL)
#undef CALL
#undef RESULT_V
#undef RESULT_R
	case VHU_CB_NONE: break;
	}
	current = NULL;
	int64_t ms = vhu_now_ms() - t0;
	if (ms >= VHU_SLOW_CALLBACK_MS)
		VHU_WARN("%s: the application's %s took %lld ms", d->name, names[a->kind],
			 (long long)ms);
}

/* The loop's wake-up, made on first use (and tried again at each
 * return until it exists). */
static bool wake_ready(void) VHU_REQUIRES(vhu_ctl)
{
	if (wake_ev)
		return true;
	if (wake_fd < 0)
		wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake_fd >= 0)
		wake_ev = vhu_loop_add(wake_fd, wake_event, NULL);
	return wake_ev != NULL;
}

static void queue_finished(struct vhu_cb_call *c) VHU_REQUIRES(vhu_ctl)
{
	c->next = NULL;
	*finished_tail = c;
	finished_tail = &c->next;
	if (wake_ready())
		(void)eventfd_write(wake_fd, 1);
	else
		VHU_ERR("%s: cannot wake the control thread (%s); the device waits for "
			"the next callback to return", c->dev->name, strerror(errno));
	pthread_cond_broadcast(&returned);
}

static bool work_ready(void) VHU_REQUIRES(vhu_ctl)
{
	pthread_condattr_t a;

	if (work_set)
		return true;
	if (pthread_condattr_init(&a) != 0)
		return false;
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	work_set = pthread_cond_init(&work, &a) == 0;
	pthread_condattr_destroy(&a);
	return work_set;
}

/* pthread's own wait carries no annotation; vhu_ctl is released and
 * taken again inside. */
static int wait_work(const struct timespec *until) VHU_REQUIRES(vhu_ctl) VHU_NO_TSA
{
	return pthread_cond_timedwait(&work, &vhu_ctl, until);
}

/* The next call handed to this idle worker, or NULL once it has been
 * idle WORKER_IDLE_S, or at once when WORKER_IDLE_MAX already wait. */
static struct vhu_cb_call *next_call(void) VHU_REQUIRES(vhu_ctl)
{
	struct timespec until;

	if (idle_n >= WORKER_IDLE_MAX)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += WORKER_IDLE_S;
	idle_n++;
	while (!handed && wait_work(&until) != ETIMEDOUT) {
	}
	idle_n--;
	struct vhu_cb_call *c = handed;
	if (c) {
		handed = c->next;
		handed_n--;
	}
	return c;
}

static void *worker(void *arg)
{
	struct vhu_cb_call *c = arg;

	while (c) {
		call(c);
		vhu_ctl_lock();
		queue_finished(c);
		c = next_call();
		vhu_ctl_unlock();
	}
	return NULL;
}

/* To an idle worker if one is free, else to a new one; false when no
 * thread could be made. */
static bool hand_over(struct vhu_cb_call *c) VHU_REQUIRES(vhu_ctl)
{
	pthread_attr_t attr;
	pthread_t tid;
	int r = -1;

	if (!work_ready())
		return false;
	if (idle_n > handed_n) {
		struct vhu_cb_call **pp = &handed;
		while (*pp)
			pp = &(*pp)->next;
		c->next = NULL;
		*pp = c;
		handed_n++;
		pthread_cond_signal(&work);
		return true;
	}
	if (pthread_attr_init(&attr) == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		r = pthread_create(&tid, &attr, worker, c);
		pthread_attr_destroy(&attr);
	}
	errno = r > 0 ? r : ENOMEM;
	return r == 0;
}

void vhu_cb_start(struct vhu_dev *dev, struct vhu_cb_args args)
{
	struct vhu_cb_call *c = &dev->cb_call;

	*c = (struct vhu_cb_call){ .dev = dev, .ops = dev->sock->ops, .args = args };
	dev->cb_busy = true;
	vhu_conn_pause(dev);
	if (!hand_over(c)) {
		/* Better late on this thread than never: destroy_device must be
		 * called. It still finishes from the loop, as any other. */
		VHU_ERR("%s: cannot start a thread for %s (%s); calling it on the control "
			"thread", dev->name, names[args.kind], strerror(errno));
		call(c);
		queue_finished(c);
	}
}

/* pthread's own wait carries no annotation; vhu_ctl is released and
 * taken again inside. */
static void wait_returned(void) VHU_REQUIRES(vhu_ctl) VHU_NO_TSA
{
	pthread_cond_wait(&returned, &vhu_ctl);
}

void vhu_cb_wait(void)
{
	if (!finished)
		wait_returned();
	finish_all();
}
