/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bridge on one input burst. A burst stays a burst from dequeue to
 * enqueue: packets are sorted into per-port arrays and every port gets
 * one call per input burst. vhu_enqueue_burst copies and does not
 * consume, so a flooded packet is the same pointer in several batches and
 * is freed once, after all of them.
 */
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <vhu/pkt.h>
#include "pmd.h"

struct sw_fdb sw_fdb;

uint32_t sw_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

static inline void out_add(struct pmd *m, uint16_t o, struct vhu_pkt *pkt)
{
	if (m->nout[o] == 0)
		m->touched[0]++, m->touched[m->touched[0]] = o;
	m->out[o][m->nout[o]++] = pkt;
}

static void send_to(struct pmd *m, struct port *p, struct vhu_pkt **pkts, uint16_t n)
{
	egress_send(&m->eg, p, m->id, pkts, n);
}

/* A burst that matched a port flow goes out whole, unparsed. */
static bool forward_flow(struct pmd *m, const struct sw_conf *c, const struct sw_fwd *f,
			 struct vhu_pkt **pkts, uint16_t n, uint64_t bytes)
{
	atomic_fetch_add_explicit(&f->flow->packets, n, memory_order_relaxed);
	atomic_fetch_add_explicit(&f->flow->bytes, bytes, memory_order_relaxed);
	if (f->out == SW_FWD_NORMAL)
		return false;
	if (f->out >= 0)
		send_to(m, c->ports[f->out], pkts, n);
	vhu_pkt_free_bulk(pkts, n);
	return true;
}

/* The first 12 bytes of a frame, its two MACs, as two overlapping loads. */
struct macs {
	uint64_t a, b;
};

static inline struct macs macs_of(const uint8_t *d)
{
	struct macs k;
	memcpy(&k.a, d, 8);
	memcpy(&k.b, d + 4, 8);
	return k;
}

static void flood_for(struct flood *fl, const struct sw_conf *c, uint16_t in, uint16_t vid,
		      bool tagged)
{
	uint16_t all[SW_MAX_PORTS];
	unsigned n = sw_bridge_flood(c->live, c->nb_live, in, all);

	fl->vid = vid;
	fl->nsame = fl->nother = 0;
	for (unsigned k = 0; k < n; k++) {
		const struct sw_vlan *v = &c->vlan[all[k]];
		if (!sw_vlan_carries(v, vid))
			continue;
		if (sw_vlan_tagged_out(v, vid) == tagged)
			fl->same[fl->nsame++] = all[k];
		else
			fl->other[fl->nother++] = all[k];
	}
}

/* Puts pkt in the other form: tagged with vid, or untagged when it was. */
static int retag(struct vhu_pkt *pkt, bool tagged, uint16_t vid)
{
	return tagged ? sw_vlan_pop(pkt) : sw_vlan_push(pkt, vid);
}

static void tx_drop(const struct sw_conf *c, uint16_t o)
{
	atomic_fetch_add_explicit(&c->ports[o]->tx[0].dropped, 1, memory_order_relaxed);
}

/* A flooded frame: as it is to the ports that want its form, and in the
 * other form to the rest (a copy when both kinds want it). */
static void flood_pkt(struct pmd *m, const struct sw_conf *c, const struct flood *fl,
		      struct vhu_pkt *pkt, bool tagged, uint16_t vid, struct vhu_pkt **own,
		      unsigned *nown)
{
	for (unsigned k = 0; k < fl->nsame; k++)
		out_add(m, fl->same[k], pkt);
	if (!fl->nother)
		return;
	struct vhu_pkt *x = pkt;
	if (fl->nsame) {
		x = pkt_copy(pkt, m->pool);
		if (x)
			own[(*nown)++] = x;
	}
	if (!x || retag(x, tagged, vid) < 0) {
		for (unsigned k = 0; k < fl->nother; k++)
			tx_drop(c, fl->other[k]);
		return;
	}
	for (unsigned k = 0; k < fl->nother; k++)
		out_add(m, fl->other[k], x);
}

/* The bridge on one input burst. touched[0] counts and touched[1..] lists
 * the output ports with something queued; the input port is never an
 * output, so SW_MAX_PORTS slots are enough. A frame with the same two MACs
 * and VLAN as the one before it (a burst is mostly one flow) takes the
 * same way without learning or looking up again. Inside the switch a
 * frame keeps the form it came in (vlan.h): tagged when its VLAN is not 0
 * and the input is not an access port; an output that wants the other
 * form gets it retagged in place, or a copy when a flood needs both. */
void pmd_forward(struct pmd *m, const struct sw_conf *c, struct port *in, uint16_t q,
		 struct vhu_pkt **pkts, uint16_t n, uint64_t bytes)
{
	const struct sw_fwd *f = &c->fwd[in->idx];
	if (f->flow && forward_flow(m, c, f, pkts, n, bytes))
		return;

	const struct sw_vlan *vin = &c->vlan[in->idx];
	uint32_t now = sw_now_s();
	uint16_t runts = 0, vdrops = 0;
	struct vhu_pkt *own[SW_BURST];
	unsigned nown = 0;
	struct flood *fl = &m->flood;
	struct macs prev = { 0, 0 };
	int o = SW_TO_NONE, prev_vid = -1;
	int32_t d32 = SW_TO_NONE;

	fl->vid = -1;
	m->touched[0] = 0;
	for (uint16_t i = 0; i < n; i++) {
		struct vhu_pkt *pkt = pkts[i];
		const uint8_t *d = vhu_pkt_data(pkt);
		bool pop;
		if (pkt->data_len < 14) {
			runts++;
			continue;
		}
		int vid = sw_vlan_in(vin, d, pkt->data_len, &pop);
		if (vid < 0 || (pop && sw_vlan_pop(pkt) < 0)) {
			vdrops++;
			continue;
		}
		d = vhu_pkt_data(pkt);
		bool tagged = sw_vlan_tagged_out(vin, (uint16_t)vid);
		struct macs mk = macs_of(d);
		if (vid != prev_vid || mk.a != prev.a || mk.b != prev.b) {
			/* A tunnel port's frames come from one of its remotes
			 * (pkt->user, port_vxlan.c). */
			uint32_t from = in->type == PORT_VXLAN ? pkt->user : SW_DEST(in->idx, 0);
			d32 = sw_bridge_decide(&sw_fdb, d, pkt->data_len, (uint16_t)vid, from,
					       c->live_mask, now);
			o = d32 >= 0 ? SW_DEST_PORT(d32) : d32;
			/* Learnt before the port left this VLAN (set-port). */
			if (o >= 0 && !sw_vlan_carries(&c->vlan[o], (uint16_t)vid))
				o = SW_TO_FLOOD;
			prev = mk;
			prev_vid = vid;
		}
		if (o >= 0) {
			if (sw_vlan_tagged_out(&c->vlan[o], (uint16_t)vid) != tagged &&
			    retag(pkt, tagged, (uint16_t)vid) < 0) {
				tx_drop(c, (uint16_t)o);
				continue;
			}
			/* Which remote, for a tunnel port. */
			pkt->user = SW_DEST_REMOTE(d32);
			out_add(m, (uint16_t)o, pkt);
		} else if (o == SW_TO_FLOOD) {
			pkt->user = 0; /* every remote */
			if (fl->vid != vid)
				flood_for(fl, c, in->idx, (uint16_t)vid, tagged);
			flood_pkt(m, c, fl, pkt, tagged, (uint16_t)vid, own, &nown);
		}
	}
	if (runts || vdrops)
		atomic_fetch_add_explicit(&in->rx[q].dropped, runts + vdrops, memory_order_relaxed);
	if (vdrops)
		atomic_fetch_add_explicit(&in->vlan_dropped, vdrops, memory_order_relaxed);
	for (unsigned t = 1; t <= m->touched[0]; t++) {
		uint16_t dst = m->touched[t];
		send_to(m, c->ports[dst], m->out[dst], m->nout[dst]);
		m->nout[dst] = 0;
	}
	vhu_pkt_free_bulk(pkts, n);
	vhu_pkt_free_bulk(own, nown);
}
