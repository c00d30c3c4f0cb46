/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VHU_BACKEND_SOCKET_H
#define VHU_BACKEND_SOCKET_H

#include "backend/dev.h"

/* All of these run under vhu_ctl. */
struct vhu_socket *vhu_socket_find(const char *path);
int vhu_socket_register(const char *path, uint64_t flags);
int vhu_socket_start(struct vhu_socket *s);
int vhu_socket_unregister(struct vhu_socket *s);

#endif
