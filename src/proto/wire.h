/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost-user wire format (QEMU docs/interop/vhost-user.rst), shared by
 * the backend (src/backend) and the in-tree frontend (src/frontend) so that
 * each side tests the other. Where the kernel UAPI already defines the
 * layout (struct vhost_vring_state, struct vhost_vring_addr) we use it.
 */
#ifndef VHU_PROTO_WIRE_H
#define VHU_PROTO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/vhost_types.h>

/* The requests, their numbers and names: one list, in requests.h. */
#include "proto/requests.h"

/* Header flags */
#define VHU_MSG_VERSION     0x1u
#define VHU_MSG_VERSION_MASK 0x3u
#define VHU_MSG_REPLY       0x4u
#define VHU_MSG_NEED_REPLY  0x8u

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES) */
#define VHU_PROTO_F_MQ                  0
#define VHU_PROTO_F_LOG_SHMFD           1
#define VHU_PROTO_F_RARP                2
#define VHU_PROTO_F_REPLY_ACK           3
#define VHU_PROTO_F_NET_MTU             4
#define VHU_PROTO_F_BACKEND_REQ         5
#define VHU_PROTO_F_CROSS_ENDIAN        6
#define VHU_PROTO_F_CRYPTO_SESSION      7
#define VHU_PROTO_F_PAGEFAULT           8
#define VHU_PROTO_F_CONFIG              9
#define VHU_PROTO_F_BACKEND_SEND_FD     10
#define VHU_PROTO_F_HOST_NOTIFIER       11
#define VHU_PROTO_F_INFLIGHT_SHMFD      12
#define VHU_PROTO_F_RESET_DEVICE        13
#define VHU_PROTO_F_INBAND_NOTIFICATIONS 14
#define VHU_PROTO_F_CONFIGURE_MEM_SLOTS 15
#define VHU_PROTO_F_STATUS              16

/* Feature bit that says the frontend speaks GET/SET_PROTOCOL_FEATURES. */
#define VHU_F_PROTOCOL_FEATURES 30
/* Dirty page logging (live migration). */
#define VHU_F_LOG_ALL 26

/* SET_VRING_KICK/CALL/ERR u64 payload */
#define VHU_VRING_IDX_MASK 0xffu
#define VHU_VRING_NOFD     0x100u

/* Regions in one SET_MEM_TABLE (VHOST_MEMORY_BASELINE_NREGIONS). */
#define VHU_MAX_MEM_REGIONS 8
/* Largest payload any request may carry; anything bigger closes the
 * connection before the payload is read. */
#define VHU_MAX_PAYLOAD 4096
/* File descriptors one message may carry. */
#define VHU_MAX_MSG_FDS VHU_MAX_MEM_REGIONS

struct vhu_msg_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /* payload bytes that follow */
} __attribute__((packed));

struct vhu_mem_region_wire {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};

struct vhu_mem_table_wire {
	uint32_t nregions;
	uint32_t padding;
	struct vhu_mem_region_wire regions[VHU_MAX_MEM_REGIONS];
};

/* ADD_MEM_REG and REM_MEM_REG: one region, after 8 bytes of padding. */
struct vhu_mem_reg_wire {
	uint64_t padding;
	struct vhu_mem_region_wire region;
};

struct vhu_log_wire {
	uint64_t mmap_size;
	uint64_t mmap_offset;
};

struct vhu_inflight_wire {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
};

union vhu_payload {
	uint64_t u64;
	struct vhost_vring_state state;
	struct vhost_vring_addr addr;
	struct vhu_mem_table_wire mem;
	struct vhu_mem_reg_wire mem_reg;
	struct vhu_log_wire log;
	struct vhu_inflight_wire inflight;
	struct vhost_iotlb_msg iotlb;
	uint8_t raw[VHU_MAX_PAYLOAD];
};

/* A message as it travels, with the fds it carried (SCM_RIGHTS). */
struct vhu_msg {
	struct vhu_msg_hdr hdr;
	union vhu_payload p;
	int fds[VHU_MAX_MSG_FDS];
	int nfds;
};

/* Socket I/O of messages (src/proto/msg_io.c). */

/* Where a message being received stands: bytes of header and payload so
 * far; fds that came with it are in the message itself. */
struct vhu_msg_rx {
	uint32_t got;
	bool fds_over;      /* more than VHU_MAX_MSG_FDS came (extra closed) */
};
/* Starts a message: msg holds no fds, nothing read. */
void vhu_msg_rx_init(struct vhu_msg *msg, struct vhu_msg_rx *st);
/* Reads what the socket has of the message, never past its end (so fds
 * stay with the message they came with). 1: msg is whole (call
 * vhu_msg_rx_init before the next); 0: orderly EOF between messages;
 * -EAGAIN: a non-blocking socket has no more bytes now, the partial
 * message stays in msg; other negative errno: an error or a malformed
 * message (payload over VHU_MAX_PAYLOAD, EOF mid-message, more fds than
 * VHU_MAX_MSG_FDS), logged, msg's fds closed. */
int vhu_msg_rx_step(int sock, struct vhu_msg *msg, struct vhu_msg_rx *st);
/* "message header truncated (6 of 12 bytes)" or "SET_VRING_NUM: payload
 * truncated (4 of 8 bytes)", for log lines about a partial message. */
const char *vhu_msg_rx_partial(const struct vhu_msg *msg, const struct vhu_msg_rx *st,
			       char *buf, size_t len);
/* A whole message from a blocking socket: 1 on a message, 0 on orderly
 * EOF, negative errno as vhu_msg_rx_step (-ETIMEDOUT when SO_RCVTIMEO
 * expired mid-message). */
int vhu_msg_recv(int sock, struct vhu_msg *msg);
/* Header and payload of msg into buf (room for header + VHU_MAX_PAYLOAD);
 * returns the length. */
uint32_t vhu_msg_pack(const struct vhu_msg *msg, uint8_t *buf);
/* One sendmsg of len bytes of buf, nfds of fds attached to its first
 * byte: bytes written, or negative errno (-EAGAIN: the socket is
 * non-blocking and full, or SO_SNDTIMEO expired). */
ssize_t vhu_msg_write(int sock, const void *buf, size_t len, const int *fds, int nfds);
/* Sends header, payload and fds (msg->nfds of msg->fds) on a blocking
 * socket: 0, or negative errno (-ETIMEDOUT when SO_SNDTIMEO expired). */
int vhu_msg_send(int sock, const struct vhu_msg *msg);
/* Closes every fd still held by msg and sets nfds to 0. */
void vhu_msg_close_fds(struct vhu_msg *msg);

#endif
