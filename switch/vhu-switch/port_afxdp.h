/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An afxdp port's own state, shared by its setup (port_afxdp.c) and its
 * data path (port_afxdp_io.c); the rest of the switch sees only struct
 * afxdp_port's name (sw.h), so that libxdp's headers stay here.
 *
 * Each queue has its UMEM of umem-frames frames of XDP_FRAME bytes: the
 * lower half circulates through the fill and rx rings (a frame read from
 * the rx ring becomes the data of the packet the PMD forwards, and goes
 * back to the fill ring when that packet is freed: the fill ring, as big
 * as that half, never overflows), the upper half
 * through the tx and completion rings, the frames not with the kernel
 * kept in tx_free.
 */
#ifndef VHU_SWITCH_PORT_AFXDP_H
#define VHU_SWITCH_PORT_AFXDP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <xdp/xsk.h>
#include <vhu/vhu.h>

/* A 1500-byte MTU frame with the kernel's 256 bytes of XDP headroom. */
#define XDP_FRAME 2048u

struct xdp_queue {
	/* The PMD polling rx queue q. */
	struct xsk_ring_cons rx;
	struct xsk_ring_prod fill;
	atomic_flag fill_lock;          /* fill's producer: whoever frees a packet */
	_Atomic uint64_t rx_no_pkt;     /* the PMD's pool was dry: dropped */
	_Atomic uint64_t rx_bad;        /* a descriptor outside the UMEM or a runt */
	/* Whoever sends on queue q (under its sw_txq lock when PMDs
	 * outnumber queues). */
	_Alignas(64) struct xsk_ring_prod tx;
	struct xsk_ring_cons comp;
	uint64_t *tx_free;
	uint32_t ntx_free;
	_Atomic uint64_t tx_ring_full;  /* the kernel had not taken enough */
	_Atomic uint64_t tx_no_frame;   /* every tx frame still in flight */
	/* Set at open. */
	_Alignas(64) struct xsk_umem *umem;
	struct xsk_socket *xsk;
	int fd;
	uint8_t *area;
	uint64_t area_len;
	uint32_t half;                  /* frames per direction */
};

struct afxdp_port {
	int ifindex;
	struct xdp_program *prog;
	int link_fd;                    /* the program's bpf_link: dies with us */
	bool native, zerocopy;
	struct xdp_queue q[VHU_MAX_QUEUE_PAIRS];
};

#endif
