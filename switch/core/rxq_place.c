/* SPDX-License-Identifier: BSD-3-Clause */
/* Rx queue placement (the policy is in rxq_place.h). */
#include <stdbool.h>
#include <stdlib.h>
#include "rxq_place.h"

struct item {
	const struct sw_rxq_load *l;
	unsigned i;
};

/* Biggest first; equal loads by queue number, then port: the queue 0s of
 * every port are placed before any queue 1, so they spread first. */
static int cmp(const void *a, const void *b)
{
	const struct sw_rxq_load *x = ((const struct item *)a)->l, *y = ((const struct item *)b)->l;

	if (x->cycles != y->cycles)
		return x->cycles > y->cycles ? -1 : 1;
	if (x->q != y->q)
		return x->q < y->q ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return 0;
}

struct pmd_load {
	uint64_t cycles;
	unsigned nq;
	uint8_t per_port[SW_MAX_PORTS];
};

static void take(struct pmd_load *p, const struct sw_rxq_load *l)
{
	p->cycles += l->cycles;
	p->nq++;
	if (l->port < SW_MAX_PORTS && p->per_port[l->port] < UINT8_MAX)
		p->per_port[l->port]++;
}

/* Whether PMD a is a better home than b for l. A queue with no measured
 * load gives no reason to prefer the idler PMD: it goes where its port
 * has fewest queues, then where there are fewest, so that a new guest's
 * queues start apart; a busy one goes where the load is least. */
static bool better(const struct pmd_load *a, const struct pmd_load *b,
		   const struct sw_rxq_load *l)
{
	unsigned pa = l->port < SW_MAX_PORTS ? a->per_port[l->port] : 0;
	unsigned pb = l->port < SW_MAX_PORTS ? b->per_port[l->port] : 0;

	if (l->cycles && a->cycles != b->cycles)
		return a->cycles < b->cycles;
	if (pa != pb)
		return pa < pb;
	if (a->nq != b->nq)
		return a->nq < b->nq;
	return a->cycles < b->cycles;
}

static bool pinned(const struct sw_rxq_load *l, unsigned npmd)
{
	return l->pin >= 0 && (unsigned)l->pin < npmd;
}

void sw_rxq_place(const struct sw_rxq_load *qs, unsigned n, unsigned npmd, unsigned *pmd_of)
{
	struct pmd_load load[SW_MAX_PMDS] = { 0 };
	struct item it[SW_MAX_RXQS];
	unsigned m = 0;

	if (npmd == 0 || npmd > SW_MAX_PMDS)
		npmd = npmd ? SW_MAX_PMDS : 1;
	if (n > SW_MAX_RXQS)
		n = SW_MAX_RXQS;
	/* Pinned first, so that the others see their load. */
	for (unsigned i = 0; i < n; i++) {
		if (pinned(&qs[i], npmd)) {
			pmd_of[i] = (unsigned)qs[i].pin;
			take(&load[pmd_of[i]], &qs[i]);
		} else {
			it[m++] = (struct item){ &qs[i], i };
		}
	}
	qsort(it, m, sizeof(*it), cmp);
	for (unsigned k = 0; k < m; k++) {
		unsigned i = it[k].i, best = 0;
		for (unsigned p = 1; p < npmd; p++)
			if (better(&load[p], &load[best], &qs[i]))
				best = p;
		pmd_of[i] = best;
		take(&load[best], &qs[i]);
	}
}

uint64_t sw_rxq_max_load(const struct sw_rxq_load *qs, unsigned n, unsigned npmd,
			 const unsigned *pmd_of)
{
	uint64_t load[SW_MAX_PMDS] = { 0 }, max = 0;

	for (unsigned i = 0; i < n; i++)
		if (pmd_of[i] < npmd && pmd_of[i] < SW_MAX_PMDS)
			load[pmd_of[i]] += qs[i].cycles;
	for (unsigned m = 0; m < npmd && m < SW_MAX_PMDS; m++)
		max = load[m] > max ? load[m] : max;
	return max;
}
