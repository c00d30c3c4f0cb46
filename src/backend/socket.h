/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VHU_BACKEND_SOCKET_H
#define VHU_BACKEND_SOCKET_H

#include "backend/dev.h"

struct vhu_socket *vhu_socket_find(const char *path) VHU_REQUIRES(vhu_ctl);
int vhu_socket_register(const char *path, uint64_t flags) VHU_REQUIRES(vhu_ctl);
int vhu_socket_start(struct vhu_socket *s) VHU_REQUIRES(vhu_ctl);
int vhu_socket_unregister(struct vhu_socket *s) VHU_REQUIRES(vhu_ctl);

#endif
