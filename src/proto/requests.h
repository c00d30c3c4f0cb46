/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one list of vhost-user requests (QEMU docs/interop/vhost-user.rst,
 * "Front-end message types"). The request enum and the name table
 * (requests.c) and the backend's validation rows (src/backend/msg_table.c)
 * are all expanded from VHU_REQUESTS, so adding a request is one line here.
 *
 * VHU_REQUESTS(X, N) calls
 *   X(name, number, payload, fds_min, fds_max, reply, lock_all, gate)
 *     for each request vhu speaks (the backend handles every one of them),
 *   N(name, number)
 *     for each request the spec defines and vhu does not speak: named in
 *     logs, refused by the backend as unknown.
 *
 * Columns of X:
 *   payload   VHU_PL_<payload>: the payload's layout, which fixes its size
 *             limits and where a vring index sits (VHU_PL_SIZES_<payload>).
 *   fds       how many fds the message carries. VRING_FD payloads carry
 *             exactly one unless bit 8 (NOFD) says none: their 0..1 is
 *             narrowed per message.
 *   reply     the request always has a reply (whether or not NEED_REPLY).
 *   lock_all  the backend runs its handler with every vring locked.
 *   gate      the protocol feature the request needs:
 *             ALWAYS            none;
 *             NEGOTIATED(F)     VHOST_USER_PROTOCOL_F_F acked by
 *                               SET_PROTOCOL_FEATURES on this connection;
 *             OFFERED(F)        F in what the backend answers to
 *                               GET_PROTOCOL_FEATURES (the spec ties these
 *                               to what the back-end supports, not to what
 *                               the front-end acked).
 *
 * Why each gate is what it is (the spec's words, and when QEMU 7.2 and DPDK
 * 22.11's virtio-user send the request):
 * - GET/SET_FEATURES, SET_OWNER, GET/SET_PROTOCOL_FEATURES come before any
 *   protocol feature is in force: never gated.
 * - SET_VRING_ENABLE is tied by the spec to the virtio feature bit
 *   VHOST_USER_F_PROTOCOL_FEATURES, which the backend always offers, not to
 *   a protocol feature: not gated.
 * - RESET_OWNER, SET_MEM_TABLE, SET_LOG_FD and the SET/GET_VRING_* requests
 *   predate protocol features: not gated.
 * - SET_LOG_BASE: its fd and its reply exist only with LOG_SHMFD (without
 *   it the payload was a bare address, which vhu does not support); QEMU
 *   sends the fd form only when LOG_SHMFD was negotiated.
 * - GET_QUEUE_NUM: "sent only when MQ is set in queried protocol features
 *   by GET_PROTOCOL_FEATURES": offered is enough.
 * - SEND_RARP (RARP), NET_SET_MTU (NET_MTU), SET_BACKEND_REQ_FD
 *   (BACKEND_REQ), GET/SET_INFLIGHT_FD (INFLIGHT_SHMFD), SET/GET_STATUS
 *   (STATUS): "only when ... negotiated"; QEMU and virtio-user check their
 *   negotiated set before sending each.
 * - RESET_DEVICE: "only valid if the RESET_DEVICE protocol feature is set
 *   by the back-end". vhu_default_protocol_features() does not offer it,
 *   so by default it is refused; RESET_OWNER does the same reset ungated.
 * - GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG (CONFIGURE_MEM_SLOTS):
 *   "only sent if ... negotiated"; QEMU then sends ADD/REM instead of
 *   SET_MEM_TABLE. REM_MEM_REG takes 0 or 1 fd: the spec recommends none
 *   (rust-vmm), allows one for QEMU's sake (QEMU 7.2 sends it); the
 *   backend closes it unused.
 * - IOTLB_MSG: sent by QEMU only with VIRTIO_F_ACCESS_PLATFORM negotiated,
 *   which it accepts only with BACKEND_REQ and REPLY_ACK (misses travel on
 *   the backend channel); gated on BACKEND_REQ, the virtio feature checked
 *   beside the payload (src/backend/msg_table.c). Run with every vring
 *   locked: an invalidation is in force before it is acknowledged.
 * - REPLY_ACK gates no request (it gives NEED_REPLY a meaning), CONFIG and
 *   the rest gate requests vhu does not speak, HOST_NOTIFIER a
 *   back-end-to-front-end message.
 * A gated request that arrives without its feature is refused like an
 * unknown one (src/backend/msg_table.c, vhu_msg_check).
 */
#ifndef VHU_PROTO_REQUESTS_H
#define VHU_PROTO_REQUESTS_H

#include <stddef.h>
#include <stdint.h>

/*          name                   nr  payload   fds      reply  lock_all gate */
#define VHU_REQUESTS(X, N)                                                                   \
	N(NONE,                   0)                                                         \
	X(GET_FEATURES,           1,  NONE,     0, 0,    true,  false, ALWAYS)               \
	X(SET_FEATURES,           2,  U64,      0, 0,    false, true,  ALWAYS)               \
	X(SET_OWNER,              3,  NONE,     0, 0,    false, false, ALWAYS)               \
	X(RESET_OWNER,            4,  OPT_U64,  0, 0,    false, false, ALWAYS)               \
	X(SET_MEM_TABLE,          5,  MEM,      1, VHU_MAX_MEM_REGIONS, false, false, ALWAYS) \
	X(SET_LOG_BASE,           6,  LOG,      1, 1,    true,  false, NEGOTIATED(LOG_SHMFD)) \
	X(SET_LOG_FD,             7,  OPT_U64,  1, 1,    false, false, ALWAYS)               \
	X(SET_VRING_NUM,          8,  STATE,    0, 0,    false, false, ALWAYS)               \
	X(SET_VRING_ADDR,         9,  ADDR,     0, 0,    false, false, ALWAYS)               \
	X(SET_VRING_BASE,         10, STATE,    0, 0,    false, false, ALWAYS)               \
	X(GET_VRING_BASE,         11, STATE,    0, 0,    true,  false, ALWAYS)               \
	X(SET_VRING_KICK,         12, VRING_FD, 0, 1,    false, false, ALWAYS)               \
	X(SET_VRING_CALL,         13, VRING_FD, 0, 1,    false, false, ALWAYS)               \
	X(SET_VRING_ERR,          14, VRING_FD, 0, 1,    false, false, ALWAYS)               \
	X(GET_PROTOCOL_FEATURES,  15, NONE,     0, 0,    true,  false, ALWAYS)               \
	X(SET_PROTOCOL_FEATURES,  16, U64,      0, 0,    false, false, ALWAYS)               \
	X(GET_QUEUE_NUM,          17, NONE,     0, 0,    true,  false, OFFERED(MQ))          \
	X(SET_VRING_ENABLE,       18, STATE,    0, 0,    false, false, ALWAYS)               \
	X(SEND_RARP,              19, U64,      0, 0,    false, false, NEGOTIATED(RARP))     \
	X(NET_SET_MTU,            20, U64,      0, 0,    false, false, NEGOTIATED(NET_MTU))  \
	X(SET_BACKEND_REQ_FD,     21, OPT_U64,  1, 1,    false, false, NEGOTIATED(BACKEND_REQ)) \
	X(IOTLB_MSG,              22, IOTLB,    0, 0,    false, true,  NEGOTIATED(BACKEND_REQ)) \
	N(SET_VRING_ENDIAN,       23)                                                        \
	N(GET_CONFIG,             24)                                                        \
	N(SET_CONFIG,             25)                                                        \
	N(CREATE_CRYPTO_SESSION,  26)                                                        \
	N(CLOSE_CRYPTO_SESSION,   27)                                                        \
	N(POSTCOPY_ADVISE,        28)                                                        \
	N(POSTCOPY_LISTEN,        29)                                                        \
	N(POSTCOPY_END,           30)                                                        \
	X(GET_INFLIGHT_FD,        31, INFLIGHT, 0, 0,    true,  false, NEGOTIATED(INFLIGHT_SHMFD)) \
	X(SET_INFLIGHT_FD,        32, INFLIGHT, 1, 1,    false, false, NEGOTIATED(INFLIGHT_SHMFD)) \
	N(GPU_SET_SOCKET,         33)                                                        \
	X(RESET_DEVICE,           34, OPT_U64,  0, 0,    false, false, OFFERED(RESET_DEVICE)) \
	N(VRING_KICK,             35)                                                        \
	X(GET_MAX_MEM_SLOTS,      36, NONE,     0, 0,    true,  false, NEGOTIATED(CONFIGURE_MEM_SLOTS)) \
	X(ADD_MEM_REG,            37, MEM_REG,  1, 1,    false, false, NEGOTIATED(CONFIGURE_MEM_SLOTS)) \
	X(REM_MEM_REG,            38, MEM_REG,  0, 1,    false, false, NEGOTIATED(CONFIGURE_MEM_SLOTS)) \
	X(SET_STATUS,             39, U64,      0, 0,    false, false, NEGOTIATED(STATUS))   \
	X(GET_STATUS,             40, NONE,     0, 0,    true,  false, NEGOTIATED(STATUS))

#define VHU_REQ_ENUM_X_(name, nr, ...) VHU_REQ_##name = nr,
#define VHU_REQ_ENUM_N_(name, nr) VHU_REQ_##name = nr,
enum vhu_req {
	VHU_REQUESTS(VHU_REQ_ENUM_X_, VHU_REQ_ENUM_N_)
	VHU_REQ_MAX /* requests.c checks every number below it is in the list */
};
#undef VHU_REQ_ENUM_X_
#undef VHU_REQ_ENUM_N_

/* Payload layouts. Where a vring index sits follows from the layout. */
enum vhu_payload_layout {
	VHU_PL_NONE,     /* empty */
	VHU_PL_U64,      /* u64 */
	VHU_PL_OPT_U64,  /* empty, or a u64 the handler ignores */
	VHU_PL_STATE,    /* struct vhost_vring_state: vring index in .index */
	VHU_PL_ADDR,     /* struct vhost_vring_addr: vring index in .index */
	VHU_PL_VRING_FD, /* u64: vring index in bits 0-7, NOFD in bit 8, rest 0 */
	VHU_PL_MEM,      /* memory table header + nregions regions, exactly */
	VHU_PL_MEM_REG,  /* struct vhu_mem_reg_wire: one region */
	VHU_PL_LOG,      /* struct vhu_log_wire */
	VHU_PL_INFLIGHT, /* struct vhu_inflight_wire */
	VHU_PL_IOTLB,    /* struct vhost_iotlb_msg (linux/vhost_types.h) */
};

/* Smallest and largest payload of each layout, for table initializers
 * (expanded where the wire structs of wire.h are defined). */
#define VHU_PL_SIZES_NONE     0, 0
#define VHU_PL_SIZES_U64      sizeof(uint64_t), sizeof(uint64_t)
#define VHU_PL_SIZES_OPT_U64  0, sizeof(uint64_t)
#define VHU_PL_SIZES_STATE    sizeof(struct vhost_vring_state), sizeof(struct vhost_vring_state)
#define VHU_PL_SIZES_ADDR     sizeof(struct vhost_vring_addr), sizeof(struct vhost_vring_addr)
#define VHU_PL_SIZES_VRING_FD sizeof(uint64_t), sizeof(uint64_t)
#define VHU_PL_SIZES_MEM      offsetof(struct vhu_mem_table_wire, regions) + \
			      sizeof(struct vhu_mem_region_wire), sizeof(struct vhu_mem_table_wire)
#define VHU_PL_SIZES_MEM_REG  sizeof(struct vhu_mem_reg_wire), sizeof(struct vhu_mem_reg_wire)
#define VHU_PL_SIZES_LOG      sizeof(struct vhu_log_wire), sizeof(struct vhu_log_wire)
#define VHU_PL_SIZES_INFLIGHT sizeof(struct vhu_inflight_wire), sizeof(struct vhu_inflight_wire)
#define VHU_PL_SIZES_IOTLB    sizeof(struct vhost_iotlb_msg), sizeof(struct vhost_iotlb_msg)

/* The gate column: each of ALWAYS, NEGOTIATED(F), OFFERED(F), with the
 * prefix VHU_GATE_ pasted on, is a struct vhu_gate initializer. */
enum vhu_gate_rule {
	VHU_GATE_RULE_ALWAYS,
	VHU_GATE_RULE_NEGOTIATED,
	VHU_GATE_RULE_OFFERED,
};
struct vhu_gate {
	uint8_t rule; /* enum vhu_gate_rule */
	uint8_t bit;  /* VHU_PROTO_F_* */
};
#define VHU_GATE_ALWAYS        { VHU_GATE_RULE_ALWAYS, 0 }
#define VHU_GATE_NEGOTIATED(f) { VHU_GATE_RULE_NEGOTIATED, VHU_PROTO_F_##f }
#define VHU_GATE_OFFERED(f)    { VHU_GATE_RULE_OFFERED, VHU_PROTO_F_##f }

/* "UNKNOWN" for numbers outside the list. */
const char *vhu_req_name(uint32_t req);

#endif
