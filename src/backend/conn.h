/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A device's connection I/O, so that no peer can stall the control
 * thread: the socket is non-blocking, a message is assembled in the
 * connection's own buffer as its bytes arrive (a partial one just waits
 * there), and replies the peer does not read wait in a bounded backlog.
 * A message left partial, or replies left unread, longer than the
 * socket's I/O timeout close the connection (a timer sweeps the
 * connections that wait, only while there are any); so does a backlog
 * past VHU_CONN_BACKLOG_MAX.
 */
#ifndef VHU_BACKEND_CONN_H
#define VHU_BACKEND_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include "backend/dev.h"

/* Reply bytes a peer may leave unread beyond its socket buffer: far more
 * than any frontend that reads its replies ever has in flight. */
#define VHU_CONN_BACKLOG_MAX (64u * 1024)
/* Messages handled per wake-up before the loop serves other fds. */
#define VHU_CONN_MSG_BUDGET 32

struct vhu_conn;

/* Makes dev->fd non-blocking and gives dev its connection state (NULL on
 * failure). */
struct vhu_conn *vhu_conn_new(struct vhu_dev *dev) VHU_REQUIRES(vhu_ctl);
/* Frees it with what is queued (fds too). NULL: nothing. */
void vhu_conn_free(struct vhu_conn *c) VHU_REQUIRES(vhu_ctl);
/* The loop saw dev's fd ready: sends what waits, then reads and handles
 * (vhu_dev_handle_msg) the whole messages there are. false: close. */
bool vhu_conn_event(struct vhu_dev *dev, uint32_t events) VHU_REQUIRES(vhu_ctl);
/* Sends msg (its fds with its first byte) now or queues what the socket
 * does not take. false, with a log line, when the backlog is full: close. */
bool vhu_conn_send(struct vhu_dev *dev, const struct vhu_msg *msg) VHU_REQUIRES(vhu_ctl);

/* While dev's callback runs: its fd is not watched (neither read nor
 * written) nor timed out, resumed after, replies left unread counting
 * from then. Resume false: the loop cannot watch it, close. */
void vhu_conn_pause(struct vhu_dev *dev) VHU_REQUIRES(vhu_ctl);
bool vhu_conn_resume(struct vhu_dev *dev) VHU_REQUIRES(vhu_ctl);

#endif
