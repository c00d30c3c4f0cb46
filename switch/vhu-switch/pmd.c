/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PMD threads: each polls its rx queues and hands every burst to the
 * bridge (forward.c), with the quiescent point of its epoch (pmd.h) at the
 * end of every iteration.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <vhu/pkt.h>
#include "cycles.h"
#include "pmd.h"

/* Idle iterations before a short sleep: an idle switch should not burn a
 * CPU (two TCG guests on a two-CPU box need it), a busy one never sleeps. */
#define IDLE_SPINS 2000
#define IDLE_SLEEP_NS 50000
#define NORXQ_SLEEP_NS 10000000
/* A guest's 64 KiB TSO packet takes 33 segments, so a burst of them about
 * a thousand, and its software segmentation for a port without TSO up to
 * SW_EG_MAX more; each tap rx queue keeps a burst ahead. 8192 segments of
 * 2 KiB (18 MiB per PMD, touched at start) hold that with room; a pool
 * that runs dry drops and counts, it does not stall. */
#define POOL_SEGS 8192
#define POOL_ROOM 2048
/* Segments a whole 64 KiB packet from a tap lands in (sw.h, rx_big): one
 * per tap rx queue waiting plus a burst in flight; 4.2 MiB per PMD. When
 * they run out a tap read takes the copying path. */
#define BIG_SEGS 64
#define BIG_ROOM (65536 + 64)

struct pmd *sw_pmds[SW_MAX_PMDS];
struct sw_pmd_stats sw_pmd_stats[SW_MAX_PMDS];
atomic_bool sw_stop;
/* Test hook (tests/peers/switch_quiesce.sh): while the file named by
 * VHU_SWITCH_TEST_HOLD exists, PMDs stop at the end of an iteration still
 * holding the snapshot, as a descheduled PMD would. With
 * VHU_SWITCH_TEST_HOLD_RX=PORT they stop instead right after a burst from
 * PORT, its frames not yet forwarded (zero-copy: still the guest's
 * buffers; tests/peers/switch_zc_del.sh). */
static const char *hold_file, *hold_rx;

static void go_offline(struct pmd *m)
{
	atomic_store(&m->epoch, atomic_load(&m->epoch) | 1);
}

static void go_online(struct pmd *m)
{
	atomic_store(&m->epoch, (atomic_load(&m->epoch) | 1) + 1);
}

static void nap(struct pmd *m, long ns)
{
	go_offline(m);
	struct timespec ts = { 0, ns };
	nanosleep(&ts, NULL);
	go_online(m);
}

static void hold(struct pmd *m, const char *port, uint16_t n)
{
	if (access(hold_file, F_OK) != 0)
		return;
	if (port)
		SW_LOG("pmd %u: held by %s (test hook) with %u frames of port %s", m->id,
		       hold_file, n, port);
	else
		SW_LOG("pmd %u: held by %s (test hook)", m->id, hold_file);
	while (access(hold_file, F_OK) == 0 && !atomic_load(&sw_stop)) {
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	SW_LOG("pmd %u: released", m->id);
}

static inline uint16_t port_rx(struct pmd *m, const struct sw_conf *c, const struct sw_rxq *r,
			       struct vhu_pkt **pkts)
{
	switch (r->port->type) {
	case PORT_VHOST:
		return vhost_rx(r->port, r->q, m->pool, pkts, SW_BURST);
	case PORT_TAP:
		return tap_rx(r->port, r->q, m->pool, m->big, pkts, SW_BURST);
	case PORT_VXLAN:
		return vxlan_rx(c, r->port, r->q, m->pool, pkts, SW_BURST);
	default:
		return afxdp_rx(r->port, r->q, m->pool, pkts, SW_BURST);
	}
}

/* A counter only this thread writes: a plain add, readable by others. */
static inline void stat_add(_Atomic uint64_t *c, uint64_t d)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d,
			      memory_order_relaxed);
}

static void *pmd_main(void *arg)
{
	struct pmd *m = arg;
	struct vhu_pkt *pkts[SW_BURST];
	unsigned idle = 0;

	struct sw_pmd_stats *st = &sw_pmd_stats[m->id];

	go_online(m);
	while (!atomic_load_explicit(&sw_stop, memory_order_relaxed)) {
		const struct sw_conf *c = atomic_load(&sw_conf);
		unsigned nq = c->nb_rxq[m->id], work = 0;
		/* One cycle read an iteration and one a busy rx queue: a queue
		 * is charged from the end of the one before it (empty polls in
		 * between included) to its last output. */
		uint64_t t0 = cycles_now(), t = t0;

		for (unsigned i = 0; i < nq; i++) {
			const struct sw_rxq *r = &c->rxq[m->id][i];
			uint16_t n = port_rx(m, c, r, pkts);
			if (!n)
				continue;
			work += n;
			if (__builtin_expect(hold_rx != NULL, 0) && strcmp(r->port->name, hold_rx) == 0)
				hold(m, hold_rx, n);
			/* A tunnel group's frames come in runs, a run a port. */
			for (uint16_t a = 0, b; a < n; a = b) {
				struct port *in = r->port;
				b = n;
				if (in->type == PORT_VXLAN) {
					uint16_t s = SW_DEST_PORT(pkts[a]->user);
					in = c->ports[s];
					for (b = a + 1; b < n && SW_DEST_PORT(pkts[b]->user) == s; b++)
						;
				}
				uint64_t bytes = stats_count(&in->rx[r->q], pkts + a, b - a, 0);
				port_capture(in, pkts + a, b - a);
				pmd_forward(m, c, in, r->q, pkts + a, b - a, bytes);
			}
			uint64_t t1 = cycles_now();
			stat_add(&r->port->rxq_cycles[r->q], t1 - t);
			t = t1;
		}
		/* Frames kept for a guest's IOTLB answer (port_vhost.c). */
		if (__builtin_expect(atomic_load_explicit(&sw_tx_kept, memory_order_relaxed), 0))
			vhost_tx_kept(c, m->id);
		uint64_t dt = cycles_now() - t0;
		stat_add(&st->v[work ? PS_BUSY : PS_IDLE], dt);
		stat_add(&st->v[work ? PS_BUSY_ITERS : PS_IDLE_ITERS], 1);
		if (work)
			stat_add(&st->v[PS_PACKETS], work);
		if (nq == 0) {
			nap(m, NORXQ_SLEEP_NS);
			continue;
		}
		if (__builtin_expect(hold_file != NULL && hold_rx == NULL, 0))
			hold(m, NULL, 0);
		/* Quiescent point: nothing from c is held past here. */
		atomic_store(&m->epoch, atomic_load(&m->epoch) + 2);
		if (work) {
			idle = 0;
		} else if (++idle >= IDLE_SPINS) {
			idle = 0;
			nap(m, IDLE_SLEEP_NS);
		}
	}
	go_offline(m);
	return NULL;
}

int pmd_start(void)
{
	struct sw_conf *c = calloc(1, sizeof(*c));
	int rc = c ? 0 : -ENOMEM;

	sw_fdb_init(&sw_fdb);
	hold_file = getenv("VHU_SWITCH_TEST_HOLD");
	hold_rx = hold_file ? getenv("VHU_SWITCH_TEST_HOLD_RX") : NULL;
	sw_mutex_lock(&sw_ctl_lock);
	if (c && sw_conf_assign(c) < 0)
		rc = -ENOMEM;
	sw_mutex_unlock(&sw_ctl_lock);
	if (rc) {
		sw_conf_free(c);
		return rc;
	}
	atomic_store(&sw_conf, c);
	for (unsigned i = 0; i < sw_opts.nb_pmds; i++) {
		struct pmd *m = calloc(1, sizeof(*m));
		char name[32];
		if (!m)
			return -ENOMEM;
		m->id = i;
		atomic_init(&m->epoch, 1);
		snprintf(name, sizeof(name), "vhu-switch-pmd%u", i);
		m->pool = vhu_pkt_pool_create(name, POOL_SEGS, POOL_ROOM);
		m->big = vhu_pkt_pool_create(name, BIG_SEGS, BIG_ROOM);
		m->eg.pool = m->pool;
		if (!m->pool || !m->big) {
			vhu_pkt_pool_destroy(m->pool);
			vhu_pkt_pool_destroy(m->big);
			free(m);
			return -errno;
		}
		sw_pmds[i] = m;
		rc = pthread_create(&m->thr, NULL, pmd_main, m);
		if (rc) {
			SW_LOG("cannot start pmd %u: %s", i, strerror(rc));
			return -rc;
		}
		m->started = true;
		pthread_setname_np(m->thr, "sw-pmd");
		if (sw_opts.pinned) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(sw_opts.pmd_cpus[i], &set);
			rc = pthread_setaffinity_np(m->thr, sizeof(set), &set);
			if (rc)
				SW_LOG("pmd %u: cannot pin to cpu %d: %s", i,
				       sw_opts.pmd_cpus[i], strerror(rc));
			else
				SW_LOG("pmd %u on cpu %d", i, sw_opts.pmd_cpus[i]);
		}
	}
	return 0;
}

void pmd_stop(void)
{
	atomic_store(&sw_stop, true);
	for (unsigned i = 0; i < SW_MAX_PMDS; i++) {
		struct pmd *m = sw_pmds[i];
		if (!m)
			continue;
		if (m->started)
			pthread_join(m->thr, NULL);
		vhu_pkt_pool_destroy(m->pool);
		vhu_pkt_pool_destroy(m->big);
		free(m);
		sw_pmds[i] = NULL;
	}
	sw_conf_free(atomic_exchange(&sw_conf, NULL));
}
