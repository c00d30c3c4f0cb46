/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the PMDs are doing, as OVS's dpif-netdev/pmd-stats-show and
 * pmd-rxq-show say it: per PMD the share of its polling cycles that went
 * to packets, packets, cycles a packet and the average burst; per rx
 * queue the PMD polling it, its share of that PMD's busy cycles and
 * whether it is pinned there (rxq-affinity); per port the queues it
 * offers, has enabled and has polled.
 * Everything counts from the last pmd-stats-clear (or the start).
 */
#include <inttypes.h>
#include "sw.h"

static uint64_t since(const struct sw_pmd_stats *s, int k) SW_REQUIRES(sw_ctl_lock)
{
	return atomic_load_explicit(&s->v[k], memory_order_relaxed) - s->base[k];
}

static void pmd_head(struct sw_out *o, unsigned i)
{
	if (sw_opts.pinned)
		out_printf(o, "pmd %u cpu %d:", i, sw_opts.pmd_cpus[i]);
	else
		out_printf(o, "pmd %u (not pinned):", i);
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

void cmd_pmd_stats(struct sw_out *o)
{
	for (unsigned i = 0; i < sw_opts.nb_pmds; i++) {
		const struct sw_pmd_stats *s = &sw_pmd_stats[i];
		uint64_t busy = since(s, PS_BUSY), idle = since(s, PS_IDLE);
		uint64_t bi = since(s, PS_BUSY_ITERS), ii = since(s, PS_IDLE_ITERS);
		uint64_t pk = since(s, PS_PACKETS);
		pmd_head(o, i);
		out_printf(o, " busy %.1f %% of %" PRIu64 " polling cycles, packets %" PRIu64
			   ", cycles/packet %" PRIu64 ", avg burst %.1f, iterations %" PRIu64
			   " busy %" PRIu64 " idle\n",
			   pct(busy, busy + idle), busy + idle, pk, pk ? busy / pk : 0,
			   bi ? (double)pk / (double)bi : 0.0, bi, ii);
	}
}

/* Per port: the queues it has, the ones there is something to poll on
 * (a vhost-user guest's enabled pairs) and how many of them are polled. */
static void port_queues(struct sw_out *o, const struct sw_conf *c, const struct port *p)
{
	unsigned polled = 0;
	for (unsigned m = 0; m < sw_opts.nb_pmds; m++)
		for (unsigned k = 0; k < c->nb_rxq[m]; k++)
			polled += c->rxq[m][k].port == p;
	if (p->type == PORT_VHOST)
		out_printf(o, "port %s: %u queue pair%s offered, %d enabled by the guest, %u rx queue%s "
			   "polled\n", p->name, p->queues, p->queues == 1 ? "" : "s",
			   __builtin_popcount(atomic_load(&p->guest_tx_mask)), polled,
			   polled == 1 ? "" : "s");
	else
		out_printf(o, "port %s: %u queue%s, %u polled\n", p->name, p->queues,
			   p->queues == 1 ? "" : "s", polled);
}

void cmd_pmd_rxq_show(struct sw_out *o)
{
	const struct sw_conf *c = atomic_load(&sw_conf);

	for (unsigned i = 0; i < sw_opts.nb_pmds; i++) {
		/* Since the later of the last pmd-stats-clear and the last
		 * change of this PMD's queues: a queue's cycles measured on
		 * another PMD are no share of this one's. */
		uint64_t busy = atomic_load(&sw_pmd_stats[i].v[PS_BUSY]) - sw_pmd_stats[i].busy_shown;
		pmd_head(o, i);
		out_printf(o, " %u rx queue%s\n", c->nb_rxq[i], c->nb_rxq[i] == 1 ? "" : "s");
		for (unsigned k = 0; k < c->nb_rxq[i]; k++) {
			const struct sw_rxq *r = &c->rxq[i][k];
			const struct port *p = r->port;
			uint64_t cyc = atomic_load_explicit(&p->rxq_cycles[r->q], memory_order_relaxed) -
				       p->rxq_shown[r->q];
			bool on = p->type != PORT_VHOST ||
				  (atomic_load(&p->guest_tx_mask) >> r->q & 1);
			out_printf(o, "  port %-16s queue %-2u %-8s pmd usage %5.1f %%%s\n", p->name,
				   r->q, on ? "enabled" : "disabled", pct(cyc, busy),
				   (p->spec.aff.mask >> r->q & 1) ? "  pinned" : "");
		}
	}
	for (unsigned i = 0; i < c->nb_live; i++)
		port_queues(o, c, c->ports[c->live[i]]);
}

void cmd_pmd_stats_clear(void)
{
	const struct sw_conf *c = atomic_load(&sw_conf);

	for (unsigned i = 0; i < sw_opts.nb_pmds; i++) {
		for (int k = 0; k < PS_N; k++)
			sw_pmd_stats[i].base[k] = atomic_load(&sw_pmd_stats[i].v[k]);
		sw_pmd_stats[i].busy_shown = sw_pmd_stats[i].base[PS_BUSY];
	}
	for (unsigned i = 0; i < c->nb_live; i++) {
		struct port *p = c->ports[c->live[i]];
		for (unsigned q = 0; q < VHU_MAX_QUEUE_PAIRS; q++)
			p->rxq_shown[q] = p->rxq_base[q] = atomic_load(&p->rxq_cycles[q]);
	}
}
