/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control-path event loop: an epoll set of fds with callbacks. It is
 * driven either by the library's thread or by the application through
 * vhu_loop_run(). Entries removed while a batch is being dispatched are
 * only marked dead and freed after the batch, so a callback may close any
 * fd, including one whose event is still queued in the same batch.
 */
#ifndef VHU_LOOP_LOOP_H
#define VHU_LOOP_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include "common/mutex.h"

/* The control lock: held by the loop while it dispatches an event and by
 * every registration call, so control state (sockets, devices and their
 * configuration, the loop's own lists) has one owner at a time. Recursive,
 * so callbacks may call back into the registration API. */
extern vhu_mutex vhu_ctl;
void vhu_ctl_lock(void) VHU_ACQUIRE(vhu_ctl);
void vhu_ctl_unlock(void) VHU_RELEASE(vhu_ctl);

typedef void (*vhu_loop_cb)(void *arg, uint32_t events);
struct vhu_loop_entry;

/* Adds fd for EPOLLIN (plus hang-up/errors). NULL on failure. */
struct vhu_loop_entry *vhu_loop_add(int fd, vhu_loop_cb cb, void *arg);
/* Also calls back when fd becomes writable (out), or no longer. 0 or
 * negative errno. */
int vhu_loop_watch_out(struct vhu_loop_entry *e, bool out);
/* Stops watching; the fd itself is the caller's to close. */
void vhu_loop_del(struct vhu_loop_entry *e);
/* Lazily creates the epoll set; 0 or negative errno. */
int vhu_loop_init(void);
/* Starts the library thread unless the application drives the loop. */
int vhu_loop_ensure_running(void);
/* True on the thread currently dispatching events. */
int vhu_loop_on_loop_thread(void);

#endif
