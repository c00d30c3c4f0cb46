/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which PMD polls which rx queue: a pure decision, made again whenever
 * the set of queues to poll changes (a port added or removed, a guest
 * enabling or disabling queues, set-port rxq-affinity) and on vhu-ctl
 * pmd-rxq-rebalance.
 *
 * Pinned queues (rxq-affinity) go to their PMD; the others are taken
 * biggest measured load first, each onto the PMD with the least load so
 * far (OVS's "cycles" assignment). A PMD with pinned queues takes others
 * too (OVS's pmd-rxq-isolate=false): with two CPUs, isolating one would
 * leave one PMD for every other queue. A queue without measured load (a
 * guest that just enabled it) and ties go to the PMD with the fewest
 * queues of the same port, then the fewest queues, then the lowest index:
 * the queues of one port, and the queue 0s of different ports, start on
 * different PMDs, and their traffic is spread before anything is measured.
 */
#ifndef VHU_SWITCH_RXQ_PLACE_H
#define VHU_SWITCH_RXQ_PLACE_H

#include <stdint.h>
#include <vhu/vhu.h>
#include "sw_core.h"

/* Rx queues a switch may have: every port with its most queues. */
#define SW_MAX_RXQS (SW_MAX_PORTS * VHU_MAX_QUEUE_PAIRS)

struct sw_rxq_load {
	uint16_t port;      /* port slot, < SW_MAX_PORTS */
	uint16_t q;
	int pin;            /* the PMD it is pinned to, or -1 */
	uint64_t cycles;    /* measured load */
};

/* pmd_of[i]: the PMD (< npmd) for qs[i], n <= SW_MAX_RXQS. A pin >= npmd
 * counts as none. */
void sw_rxq_place(const struct sw_rxq_load *qs, unsigned n, unsigned npmd, unsigned *pmd_of);
/* The load of the busiest PMD when qs[i] is polled by pmd_of[i]. */
uint64_t sw_rxq_max_load(const struct sw_rxq_load *qs, unsigned n, unsigned npmd,
			 const unsigned *pmd_of);

#endif
