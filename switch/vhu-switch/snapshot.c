/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The snapshot PMDs read (struct sw_conf, sw.h): the ctl thread's copies,
 * their publication, and the grace periods (sw_synchronize, on the PMDs'
 * epochs, pmd.h) before what an old one reached is freed.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pmd.h"

#define QUIESCE_SLOW_NS 1000000000LL
#define QUIESCE_REPEAT_NS 10000000000LL

_Atomic(struct sw_conf *) sw_conf;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Never gives up: freeing what a PMD may still hold would turn a stall
 * into memory corruption. A PMD that is slow (descheduled, stopped in a
 * debugger) is reported, once after QUIESCE_SLOW_NS and then every
 * QUIESCE_REPEAT_NS, and waited for. */
void sw_synchronize(void)
{
	for (unsigned i = 0; i < sw_opts.nb_pmds; i++) {
		struct pmd *m = sw_pmds[i];
		if (!m)
			continue;
		uint64_t e0 = atomic_load(&m->epoch);
		if (e0 & 1)
			continue;
		int64_t start = now_ns(), next = start + QUIESCE_SLOW_NS;
		bool slow = false;
		while (atomic_load(&m->epoch) == e0) {
			int64_t t = now_ns();
			if (t >= next) {
				SW_LOG("pmd %u has not reached a quiescent point for %lld s; waiting",
				       i, (long long)((t - start) / 1000000000LL));
				next = t + QUIESCE_REPEAT_NS;
				slow = true;
			}
			struct timespec ts = { 0, 10000 };
			nanosleep(&ts, NULL);
		}
		if (slow)
			SW_LOG("pmd %u quiescent after %lld ms", i,
			       (long long)((now_ns() - start) / 1000000));
	}
}

struct sw_conf *sw_conf_copy(void)
{
	struct sw_conf *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	memcpy(n->ports, atomic_load(&sw_conf)->ports, sizeof(n->ports));
	return n;
}

void sw_conf_free(struct sw_conf *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < SW_MAX_PMDS; i++)
		free(c->rxq[i]);
	free(c);
}

/* Two grace periods: first a snapshot without any rx queue, so that no rx
 * queue is ever polled by its old PMD and its new one at the same time
 * (one thread per vring), then the real one. */
void sw_conf_publish(struct sw_conf *c)
{
	struct sw_conf *mid = calloc(1, sizeof(*mid)), *old;

	rxq_note_moves(atomic_load(&sw_conf), c);
	if (mid) {
		memcpy(mid->ports, c->ports, sizeof(mid->ports));
		memcpy(mid->live, c->live, sizeof(mid->live));
		mid->nb_live = c->nb_live;
		old = atomic_exchange(&sw_conf, mid);
		sw_synchronize();
		sw_conf_free(old);
		old = NULL;
	}
	old = atomic_exchange(&sw_conf, c);
	sw_synchronize();
	sw_conf_free(old);
	for (unsigned p = 0; p < sw_opts.nb_pmds; p++) {
		unsigned n = c->nb_rxq[p];
		char line[512];
		size_t off = 0;
		line[0] = '\0';
		for (unsigned i = 0; i < n && off < sizeof(line) - 80; i++)
			off += (size_t)snprintf(line + off, sizeof(line) - off, " %s:%u",
						c->rxq[p][i].port->name, c->rxq[p][i].q);
		SW_LOG("pmd %u polls %u rx queue%s%s", p, n, n == 1 ? "" : "s", line);
	}
}
