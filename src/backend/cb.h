/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The application's callbacks run on threads of their own, without
 * vhu_ctl, so that a slow one holds only its own device: the control
 * thread starts the call, pauses the device's connection (its fd is not
 * read, its reply waits) and goes on serving the others; the thread that
 * ran it queues the device back and wakes the loop, which finishes the
 * message (vhu_dev_cb_finish) and resumes the connection. One call at a
 * time per device, so each device's callbacks keep their order; a
 * device with a call in flight is never freed.
 */
#ifndef VHU_BACKEND_CB_H
#define VHU_BACKEND_CB_H

#include <stdbool.h>
#include <stdint.h>
#include <vhu/vhu.h>
#include "loop/loop.h"

/* The application's callbacks (struct vhu_device_ops), one line each:
 * X(KIND, member, result, args) calls ops.member for VHU_CB_<KIND>;
 * result is R when it returns an int the library acts on (stored in
 * vhu_cb_call.result), V when it returns nothing; args are its
 * arguments, from the device d and the call's struct vhu_cb_args a.
 * The enum, the names log lines use, whether the application set one
 * and the call itself all come from this list (cb.c). */
#define VHU_CB_LIST(X)                                                       \
	X(NEW_CONNECTION,      new_connection,      R, (d))                      \
	X(NEW_DEVICE,          new_device,          R, (d))                      \
	X(DESTROY_DEVICE,      destroy_device,      V, (d))                      \
	X(FEATURES_CHANGED,    features_changed,    V, (d, a->features))         \
	X(VRING_STATE_CHANGED, vring_state_changed, V, (d, a->vring, a->enable)) \
	X(DESTROY_CONNECTION,  destroy_connection,  V, (d))

enum vhu_cb_kind {
	VHU_CB_NONE,
#define VHU_CB_ENUM(K, m, r, args) VHU_CB_##K,
	VHU_CB_LIST(VHU_CB_ENUM)
#undef VHU_CB_ENUM
};

/* Which callback, with what it is given besides the device. */
struct vhu_cb_args {
	enum vhu_cb_kind kind;
	uint64_t features;               /* features_changed */
	uint16_t vring;                  /* vring_state_changed */
	int enable;
};

/* One call: filled by the control thread, then the calling thread's
 * alone until it is queued back (the queue's lock orders the two). */
struct vhu_cb_call {
	struct vhu_cb_call *next;        /* on the finished queue */
	struct vhu_dev *dev;
	struct vhu_device_ops ops;       /* the socket's, as they were */
	struct vhu_cb_args args;
	int result;                      /* new_connection, new_device */
};

/* Starts dev's callback args.kind on a worker thread, dev's connection
 * paused until vhu_dev_cb_finish. Only when vhu_cb_wanted. */
void vhu_cb_start(struct vhu_dev *dev, struct vhu_cb_args args) VHU_REQUIRES(vhu_ctl);
/* True when the socket's application set the callback for kind. */
bool vhu_cb_wanted(const struct vhu_dev *dev, enum vhu_cb_kind kind) VHU_REQUIRES(vhu_ctl);
/* Finishes the calls that have returned; when none has, waits (vhu_ctl
 * released meanwhile) for one. Held once, not recursively. */
void vhu_cb_wait(void) VHU_REQUIRES(vhu_ctl);
/* The device whose callback the calling thread runs, NULL outside one. */
const struct vhu_dev *vhu_cb_current(void);

#endif
