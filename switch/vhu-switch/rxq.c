/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which PMD polls which rx queue (the policy: ../core/rxq_place.h). Only
 * queues there is something to poll on are assigned: a tap's or tunnel's
 * every queue, a vhost-user port's pairs its guest enabled (a port offers
 * 16 pairs; a guest using one costs one polled queue). Every queue is
 * placed again when the set of queues to poll or a pin changes, and on
 * pmd-rxq-rebalance; other changes keep the placement.
 *
 * A guest enables and disables its queues in libvhu's callbacks, which
 * must never take sw_ctl_lock (sw.h). Its callbacks call rxq_changed(),
 * which only writes an eventfd; the main thread waits on it and makes the
 * new assignment under sw_ctl_lock (rxq_reassign). Until then a queue the
 * guest disabled is skipped by vhost_rx, and one it enabled waits, its
 * packets in its ring.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "rxq_place.h"
#include "sw.h"

static int ev_fd = -1;

int rxq_init(void)
{
	ev_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return ev_fd < 0 ? -errno : ev_fd;
}

void rxq_fini(void)
{
	if (ev_fd >= 0)
		close(ev_fd);
	ev_fd = -1;
}

void rxq_changed(void)
{
	uint64_t one = 1;
	/* EAGAIN: the counter is full, a wake-up is pending anyway. */
	if (ev_fd >= 0 && write(ev_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		SW_LOG("rx queue reassignment request lost: %s", strerror(errno));
}

bool rxq_take_request(void)
{
	uint64_t n;
	return ev_fd >= 0 && read(ev_fd, &n, sizeof(n)) == (ssize_t)sizeof(n);
}

static bool rxq_wanted(const struct port *p, unsigned q)
{
	return p->type != PORT_VHOST || (atomic_load(&p->guest_tx_mask) >> q & 1);
}

static uint64_t rxq_load(const struct port *p, unsigned q) SW_REQUIRES(sw_ctl_lock)
{
	return atomic_load_explicit(&p->rxq_cycles[q], memory_order_relaxed) - p->rxq_base[q];
}

/* The PMD q of p is pinned to, or -1. */
static int rxq_pin(const struct port *p, unsigned q) SW_REQUIRES(sw_ctl_lock)
{
	return (p->spec.aff.mask >> q & 1) ? sw_opts_pmd_on_cpu(&sw_opts, p->spec.aff.cpu[q]) : -1;
}

/* The PMD that polls q of p in c, or -1. */
static int pmd_polling(const struct sw_conf *c, const struct port *p, unsigned q)
{
	for (unsigned m = 0; m < sw_opts.nb_pmds; m++)
		for (unsigned k = 0; k < c->nb_rxq[m]; k++)
			if (c->rxq[m][k].port == p && c->rxq[m][k].q == q)
				return (int)m;
	return -1;
}

/* sw_conf_assign's room, too big for a stack. */
static struct sw_rxq_load in[SW_MAX_RXQS] SW_GUARDED_BY(sw_ctl_lock);
static struct sw_rxq ref[SW_MAX_RXQS] SW_GUARDED_BY(sw_ctl_lock);
static unsigned pmd_of[SW_MAX_RXQS] SW_GUARDED_BY(sw_ctl_lock);
static unsigned now_of[SW_MAX_RXQS] SW_GUARDED_BY(sw_ctl_lock);

/* pmd-rxq-rebalance: place every queue again even if none came or went. */
static bool force_place SW_GUARDED_BY(sw_ctl_lock);

/* When the n queues to poll are the ones polled now, each pinned one on
 * its PMD, they stay where they are (pmd_of): a flow or VLAN change, or a
 * queue's enable that changed nothing, moves no queue. */
static bool keep_placement(unsigned n) SW_REQUIRES(sw_ctl_lock)
{
	const struct sw_conf *cur = atomic_load(&sw_conf);
	unsigned polled = 0;

	if (!cur)
		return false;
	for (unsigned m = 0; m < sw_opts.nb_pmds; m++)
		polled += cur->nb_rxq[m];
	if (polled != n)
		return false;
	for (unsigned i = 0; i < n; i++) {
		int m = pmd_polling(cur, ref[i].port, ref[i].q);
		if (m < 0 || (in[i].pin >= 0 && m != in[i].pin))
			return false;
		pmd_of[i] = (unsigned)m;
	}
	return true;
}

/* Chains live port i behind the last port of its receive group's chain
 * (sw_conf.vx_next); false when it is its group's reader (or no tunnel
 * port): only the reader has rx queues. */
static bool vx_chain(struct sw_conf *c, unsigned i)
{
	const struct port *pt = c->ports[c->live[i]];
	if (pt->type != PORT_VXLAN)
		return false;
	const struct port *r = vxlan_group_reader(c, pt);
	if (r == pt)
		return false;
	uint16_t s = 0;
	while (c->ports[s] != r)
		s++;
	while (c->vx_next[s] < SW_MAX_PORTS)
		s = c->vx_next[s];
	c->vx_next[s] = c->live[i];
	return true;
}

int sw_conf_assign(struct sw_conf *c)
{
	unsigned n = 0, np = sw_opts.nb_pmds;

	c->nb_live = 0;
	c->live_mask = 0;
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		c->vx_next[i] = SW_MAX_PORTS;
	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		struct port *p = c->ports[i];
		if (!p)
			continue;
		c->live[c->nb_live++] = (uint16_t)i;
		c->live_mask |= 1ULL << i;
		c->vlan[i] = p->spec.vlan;
		if (vx_chain(c, c->nb_live - 1u))
			continue;
		for (unsigned q = 0; q < p->queues; q++) {
			if (!rxq_wanted(p, q))
				continue;
			in[n] = (struct sw_rxq_load){ (uint16_t)i, (uint16_t)q, rxq_pin(p, q),
						      rxq_load(p, q) };
			ref[n++] = (struct sw_rxq){ p, (uint16_t)q };
		}
	}
	/* A rebalance that would not make the busiest PMD less busy moves
	 * nothing: equal loads would only swap places. */
	bool keep = keep_placement(n);
	if (keep && force_place) {
		memcpy(now_of, pmd_of, n * sizeof(*now_of));
		sw_rxq_place(in, n, np, pmd_of);
		if (sw_rxq_max_load(in, n, np, pmd_of) >= sw_rxq_max_load(in, n, np, now_of))
			memcpy(pmd_of, now_of, n * sizeof(*now_of));
	} else if (!keep) {
		sw_rxq_place(in, n, np, pmd_of);
	}
	for (unsigned p = 0; p < np; p++) {
		free(c->rxq[p]);
		c->nb_rxq[p] = 0;
		c->rxq[p] = calloc(n ? n : 1, sizeof(struct sw_rxq));
		if (!c->rxq[p])
			return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++)
		c->rxq[pmd_of[i]][c->nb_rxq[pmd_of[i]]++] = ref[i];
	flow_resolve(c);
	return 0;
}

/* Whether PMD m polls the same queues in a and b. */
static bool same_queues(const struct sw_conf *a, const struct sw_conf *b, unsigned m)
{
	if (a->nb_rxq[m] != b->nb_rxq[m])
		return false;
	for (unsigned k = 0; k < a->nb_rxq[m]; k++)
		if (pmd_polling(b, a->rxq[m][k].port, a->rxq[m][k].q) != (int)m)
			return false;
	return true;
}

void rxq_note_moves(const struct sw_conf *cur, const struct sw_conf *next)
{
	for (unsigned m = 0; m < sw_opts.nb_pmds; m++) {
		if (cur && same_queues(cur, next, m))
			continue;
		sw_pmd_stats[m].busy_shown = atomic_load(&sw_pmd_stats[m].v[PS_BUSY]);
		for (unsigned k = 0; k < next->nb_rxq[m]; k++) {
			struct port *p = next->rxq[m][k].port;
			unsigned q = next->rxq[m][k].q;
			p->rxq_shown[q] = atomic_load(&p->rxq_cycles[q]);
		}
	}
}

/* Queues of a that b polls elsewhere or not at all, and the other way round. */
static unsigned moved(const struct sw_conf *a, const struct sw_conf *b)
{
	unsigned n = 0;
	for (unsigned m = 0; m < sw_opts.nb_pmds; m++) {
		for (unsigned k = 0; k < a->nb_rxq[m]; k++)
			n += pmd_polling(b, a->rxq[m][k].port, a->rxq[m][k].q) != (int)m;
		for (unsigned k = 0; k < b->nb_rxq[m]; k++)
			n += pmd_polling(a, b->rxq[m][k].port, b->rxq[m][k].q) < 0;
	}
	return n;
}

/* A new assignment from what is there now; published only when it
 * differs. The number of queues that moved, or -ENOMEM. */
static int reassign(void) SW_REQUIRES(sw_ctl_lock)
{
	struct sw_conf *c = sw_conf_copy();

	if (!c || sw_conf_assign(c) < 0) {
		sw_conf_free(c);
		return -ENOMEM;
	}
	unsigned n = moved(atomic_load(&sw_conf), c);
	if (n)
		sw_conf_publish(c);
	else
		sw_conf_free(c);
	return (int)n;
}

void rxq_reassign(void)
{
	if (reassign() < 0)
		SW_LOG("rx queues: out of memory for a new assignment; the old one stays");
}

int rxq_rebalance(struct sw_out *o, char *err, size_t errlen)
{
	const struct sw_conf *c = atomic_load(&sw_conf);
	unsigned free_q = 0, busy = 0;

	for (unsigned i = 0; i < c->nb_live; i++) {
		const struct port *p = c->ports[c->live[i]];
		for (unsigned q = 0; q < p->queues; q++)
			if (rxq_wanted(p, q) && rxq_pin(p, q) < 0) {
				free_q++;
				busy += rxq_load(p, q) != 0;
			}
	}
	if (sw_opts.nb_pmds < 2)
		snprintf(err, errlen, "nothing to rebalance: one PMD polls every rx queue "
			 "(--pmd-cpus gives more)");
	else if (!free_q)
		snprintf(err, errlen, "nothing to rebalance: no enabled rx queue that is not pinned");
	else if (!busy)
		snprintf(err, errlen, "nothing to rebalance: none of the %u enabled rx queues that "
			 "are not pinned has been busy since the last pmd-stats-clear", free_q);
	if (sw_opts.nb_pmds < 2 || !free_q || !busy)
		return -EINVAL;
	force_place = true;
	int n = reassign();
	force_place = false;
	if (n < 0) {
		snprintf(err, errlen, "out of memory; the old assignment stays");
		return n;
	}
	out_printf(o, "rebalanced %u rx queue%s by their cycles: %d moved\n", free_q,
		   free_q == 1 ? "" : "s", n);
	SW_LOG("pmd-rxq-rebalance: %u rx queues by their cycles, %d moved", free_q, n);
	return 0;
}
