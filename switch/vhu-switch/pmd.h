/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the PMD's files share: pmd.c (the threads and their loop),
 * forward.c (the bridge on one input burst) and snapshot.c (publishing
 * struct sw_conf, and the grace periods before the old one is freed).
 */
#ifndef VHU_SWITCH_PMD_H
#define VHU_SWITCH_PMD_H

#include "sw.h"

/* The ports a flooded frame of VLAN vid from in goes to, by the form they
 * want it in: same[] as it came (tagged or not), other[] the other form. */
struct flood {
	int vid;                       /* -1: not computed for this burst */
	unsigned nsame, nother;
	uint16_t same[SW_MAX_PORTS], other[SW_MAX_PORTS];
};

struct pmd {
	unsigned id;
	pthread_t thr;
	bool started;
	/* Quiescence: even while the PMD may hold pointers from a snapshot,
	 * odd while it holds none (asleep with nothing to do, gone). It
	 * advances at the end of every iteration; sw_synchronize waits for
	 * each even epoch to move. */
	_Atomic uint64_t epoch;
	struct vhu_pkt_pool *pool, *big;
	/* forward.c's: the batches of one input burst by output port */
	struct sw_egress eg;
	struct vhu_pkt *out[SW_MAX_PORTS][SW_BURST];
	uint16_t nout[SW_MAX_PORTS];
	uint16_t touched[SW_MAX_PORTS];
	struct flood flood;
};

/* By id, from pmd_start to pmd_stop (NULL before and after). */
extern struct pmd *sw_pmds[SW_MAX_PMDS];

/* forward.c: the bridge on n packets of port in that came on its rx
 * queue q (bytes: theirs, as the rx counters summed them); they go to
 * their output ports and are freed. */
void pmd_forward(struct pmd *m, const struct sw_conf *c, struct port *in, uint16_t q,
		 struct vhu_pkt **pkts, uint16_t n, uint64_t bytes);

#endif
