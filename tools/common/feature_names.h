/* SPDX-License-Identifier: BSD-3-Clause */
/* Virtio and vhost-user protocol feature names, shared by the tools. */
#ifndef VHU_TOOLS_FEATURE_NAMES_H
#define VHU_TOOLS_FEATURE_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* "a,b,c" -> bits; a plain number is taken as a bit index. 0 or -EINVAL. */
int feature_parse_list(const char *list, uint64_t *bits);
void feature_format(uint64_t bits, char *buf, size_t len);
/* The same for vhost-user protocol features (rarp, log_shmfd, mq, ...). */
int protocol_feature_parse_list(const char *list, uint64_t *bits);

#endif
