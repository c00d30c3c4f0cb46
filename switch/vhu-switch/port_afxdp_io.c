/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An afxdp port's data path (port_afxdp.h has the frames' life). A
 * received frame is handed to the switch in place, as the data of a
 * packet that refers to it; a sent one is copied into a UMEM frame a
 * burst at a time. No system
 * call unless the kernel asks for one (need_wakeup): a recvfrom when the
 * fill ring says so and nothing came, a sendto after a tx burst when the
 * tx ring says so (always, in copy mode: the kernel sends in the call,
 * up to a budget a call, so it is repeated while the kernel says EAGAIN).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <vhu/pkt.h>
#include "port_afxdp.h"
#include "sw.h"

/* sendto calls a tx burst may take in copy mode: the kernel sends 32
 * frames a call, a burst after software segmentation is up to SW_EG_MAX. */
#define KICK_MAX (SW_EG_MAX / 32 + 2)
#define FRAME_MASK (~(uint64_t)(XDP_FRAME - 1))

/* Receive frames back to the kernel. The PMD polling the queue frees
 * its packets itself nearly always, but any thread may free one (a
 * packet another port's queue took), so the producer side is locked. */
static void refill(struct xdp_queue *x, const uint64_t *frames, unsigned n)
{
	uint32_t fi = 0;

	while (atomic_flag_test_and_set_explicit(&x->fill_lock, memory_order_acquire))
		;
	/* Never short: the fill ring is as big as the receive frames, and
	 * these are not in it. */
	xsk_ring_prod__reserve(&x->fill, n, &fi);
	for (unsigned i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&x->fill, fi + i) = frames[i];
	xsk_ring_prod__submit(&x->fill, n);
	atomic_flag_clear_explicit(&x->fill_lock, memory_order_release);
}

/* A packet received here is freed: its frame (the cookie) goes back. */
static void rx_release(void *owner, const uint64_t *cookies, unsigned n)
{
	refill(owner, cookies, n);
}

/* Each frame becomes a packet's data in place (vhu_pkt_attach_ext), the
 * kernel's headroom its headroom: a frame to a guest is copied once, by
 * the enqueue. */
uint16_t afxdp_rx(struct port *p, uint16_t q, struct vhu_pkt_pool *pool, struct vhu_pkt **pkts,
		  uint16_t n)
{
	struct xdp_queue *x = &p->xdp->q[q];
	uint32_t ri = 0;

	if (n > SW_BURST)
		n = SW_BURST;
	uint32_t got = xsk_ring_cons__peek(&x->rx, n, &ri);

	if (!got) {
		if (xsk_ring_prod__needs_wakeup(&x->fill))
			(void)recvfrom(x->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
		return 0;
	}
	bool have = vhu_pkt_alloc_bulk(pool, pkts, got) == 0;
	uint16_t ok = 0, bad = 0, nback = 0;
	struct vhu_pkt *drop[SW_BURST];
	uint64_t back[SW_BURST];
	for (uint32_t i = 0; i < got; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, ri + i);
		uint64_t addr = d->addr, base = addr & FRAME_MASK;
		uint32_t len = d->len;
		/* The kernel is a peer too: a descriptor is checked before
		 * use, and a frame not of the receive half never goes to
		 * the fill ring (it could be there twice). */
		if (base >= (uint64_t)x->half * XDP_FRAME) {
			if (have)
				drop[bad++] = pkts[i];
			continue;
		}
		if (!have || len < 14 || addr + len > base + XDP_FRAME) {
			back[nback++] = base;
			if (have)
				drop[bad++] = pkts[i];
			continue;
		}
		struct vhu_pkt *pkt = pkts[i];
		__builtin_prefetch(x->area + addr);
		vhu_pkt_attach_ext(pkt, x->area + base, XDP_FRAME, (uint32_t)(addr - base), len,
				   rx_release, x, base);
		pkts[ok++] = pkt;
	}
	xsk_ring_cons__release(&x->rx, got);
	if (nback)
		refill(x, back, nback);
	if (!have) {
		atomic_fetch_add_explicit(&x->rx_no_pkt, got, memory_order_relaxed);
		atomic_fetch_add_explicit(&p->rx[q].dropped, got, memory_order_relaxed);
		return 0;
	}
	if (bad) {
		vhu_pkt_free_bulk(drop, bad);
		atomic_fetch_add_explicit(&x->rx_bad, bad, memory_order_relaxed);
		atomic_fetch_add_explicit(&p->rx[q].errors, bad, memory_order_relaxed);
		atomic_fetch_add_explicit(&p->rx[q].dropped, bad, memory_order_relaxed);
	}
	return ok;
}

/* Frames the kernel has sent come back to tx_free. */
static void reclaim(struct xdp_queue *x)
{
	uint32_t idx, m = xsk_ring_cons__peek(&x->comp, x->half, &idx);

	for (uint32_t i = 0; i < m; i++) {
		uint64_t a = *xsk_ring_cons__comp_addr(&x->comp, idx + i) & FRAME_MASK;
		if (x->ntx_free < x->half && a >= (uint64_t)x->half * XDP_FRAME && a < x->area_len)
			x->tx_free[x->ntx_free++] = a;
	}
	xsk_ring_cons__release(&x->comp, m);
}

static void kick(struct xdp_queue *x)
{
	for (unsigned i = 0; i < KICK_MAX; i++)
		if (sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0 || errno != EAGAIN)
			return;
}

void afxdp_tx(struct port *p, unsigned pmd, struct vhu_pkt **pkts, uint16_t n)
{
	unsigned q = pmd % p->queues;
	struct xdp_queue *x = &p->xdp->q[q];
	struct sw_txq *t = &p->txq[q];
	bool shared = sw_opts.nb_pmds > p->queues;
	uint16_t fit = 0, big;
	uint32_t idx = 0;

	/* Frames bigger than a UMEM frame to the back (the caller only
	 * frees the batch, its order is ours). */
	for (uint16_t i = 0; i < n; i++)
		if (pkts[i]->pkt_len <= XDP_FRAME) {
			struct vhu_pkt *s = pkts[fit];
			pkts[fit++] = pkts[i];
			pkts[i] = s;
		}
	big = (uint16_t)(n - fit);
	if (shared)
		while (atomic_flag_test_and_set_explicit(&t->lock, memory_order_acquire))
			;
	reclaim(x);
	uint32_t room = xsk_prod_nb_free(&x->tx, fit);
	uint32_t k = fit < room ? fit : room;
	if (k > x->ntx_free)
		k = x->ntx_free;
	if (k && xsk_ring_prod__reserve(&x->tx, k, &idx) == k) {
		for (uint32_t i = 0; i < k; i++) {
			struct xdp_desc *d = xsk_ring_prod__tx_desc(&x->tx, idx + i);
			uint64_t a = x->tx_free[--x->ntx_free];
			d->addr = a;
			/* A frame that fits is nearly always one segment: one
			 * memcpy, no chain walk. */
			if (!pkts[i]->next) {
				d->len = pkts[i]->data_len;
				memcpy(x->area + a, vhu_pkt_data(pkts[i]), d->len);
			} else {
				d->len = vhu_pkt_read(pkts[i], 0, x->area + a, XDP_FRAME);
			}
		}
		xsk_ring_prod__submit(&x->tx, k);
	} else {
		k = 0;
	}
	/* Also with nothing new: frames still in the ring are sent. */
	if (x->ntx_free < x->half && xsk_ring_prod__needs_wakeup(&x->tx))
		kick(x);
	if (k < fit)
		atomic_fetch_add_explicit(room < fit ? &x->tx_ring_full : &x->tx_no_frame, fit - k,
					  memory_order_relaxed);
	port_capture(p, pkts, (uint16_t)k);
	if (shared)
		atomic_flag_clear_explicit(&t->lock, memory_order_release);
	stats_count(&p->tx[q], pkts, (uint16_t)k, (uint16_t)(fit - k));
	if (big)
		atomic_fetch_add_explicit(&p->tx[q].errors, big, memory_order_relaxed);
}

void afxdp_stats(const struct port *p, unsigned q, uint64_t v[AFXDP_NSTATS])
{
	const struct xdp_queue *x;
	struct xdp_statistics st;
	socklen_t len = sizeof(st);

	if (!p->xdp || q >= p->queues)
		return;
	x = &p->xdp->q[q];
	memset(&st, 0, sizeof(st));
	if (x->fd >= 0)
		(void)getsockopt(x->fd, SOL_XDP, XDP_STATISTICS, &st, &len);
	v[0] += atomic_load_explicit(&x->rx_no_pkt, memory_order_relaxed);
	v[1] += atomic_load_explicit(&x->rx_bad, memory_order_relaxed);
	v[2] += atomic_load_explicit(&x->tx_ring_full, memory_order_relaxed);
	v[3] += atomic_load_explicit(&x->tx_no_frame, memory_order_relaxed);
	v[4] += st.rx_dropped;
	v[5] += st.rx_invalid_descs;
	v[6] += st.tx_invalid_descs;
	v[7] += st.rx_ring_full;
	v[8] += st.rx_fill_ring_empty_descs;
	v[9] += st.tx_ring_empty_descs;
}
