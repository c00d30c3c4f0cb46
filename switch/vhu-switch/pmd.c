/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PMD threads: each polls its rx queues, runs the bridge on every burst and
 * hands per-port batches to the output ports. A burst stays a burst from
 * dequeue to enqueue: packets are sorted into per-port arrays and every
 * port gets one call per input burst. vhu_enqueue_burst copies and does not
 * consume, so a flooded packet is the same pointer in several batches and
 * is freed once, after all of them.
 *
 * Quiescence: a PMD's epoch is even while it may hold pointers from a
 * snapshot and odd while it holds none (asleep with nothing to do, gone).
 * It advances at the end of every iteration; sw_synchronize waits for each
 * even epoch to move.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <vhu/pkt.h>
#include "sw.h"

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
#define QUIESCE_SLOW_NS 1000000000LL
#define QUIESCE_REPEAT_NS 10000000000LL

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
	_Atomic uint64_t epoch;
	struct vhu_pkt_pool *pool, *big;
	struct sw_egress eg;
	struct vhu_pkt *out[SW_MAX_PORTS][SW_BURST];
	uint16_t nout[SW_MAX_PORTS];
	uint16_t touched[SW_MAX_PORTS];
	struct flood flood;
};

static struct pmd *pmds[SW_MAX_PMDS];
_Atomic(struct sw_conf *) sw_conf;
atomic_bool sw_stop;
struct sw_fdb sw_fdb;
/* Test hook (tests/peers/switch_quiesce.sh): while the file named by
 * VHU_SWITCH_TEST_HOLD exists, PMDs stop at the end of an iteration still
 * holding the snapshot, as a descheduled PMD would. With
 * VHU_SWITCH_TEST_HOLD_RX=PORT they stop instead right after a burst from
 * PORT, its frames not yet forwarded (zero-copy: still the guest's
 * buffers; tests/peers/switch_zc_del.sh). */
static const char *hold_file, *hold_rx;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

uint32_t sw_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

/* Never gives up: freeing what a PMD may still hold would turn a stall
 * into memory corruption. A PMD that is slow (descheduled, stopped in a
 * debugger) is reported, once after QUIESCE_SLOW_NS and then every
 * QUIESCE_REPEAT_NS, and waited for. */
void sw_synchronize(void)
{
	for (unsigned i = 0; i < sw_opts.nb_pmds; i++) {
		struct pmd *m = pmds[i];
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
 * same way without learning or looking up again. bytes: of the whole
 * burst, as the rx counters summed them. Inside the switch a frame keeps
 * the form it came in (vlan.h): tagged when its VLAN is not 0 and the
 * input is not an access port; an output that wants the other form gets
 * it retagged in place, or a copy when a flood needs both. */
static void forward(struct pmd *m, const struct sw_conf *c, struct port *in,
		    uint16_t q, struct vhu_pkt **pkts, uint16_t n, uint64_t bytes)
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

struct sw_pmd_stats sw_pmd_stats[SW_MAX_PMDS];

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
		uint64_t t0 = sw_cycles(), t = t0;

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
				forward(m, c, in, r->q, pkts + a, b - a, bytes);
			}
			uint64_t t1 = sw_cycles();
			stat_add(&r->port->rxq_cycles[r->q], t1 - t);
			t = t1;
		}
		/* Frames kept for a guest's IOTLB answer (port_vhost.c). */
		if (__builtin_expect(atomic_load_explicit(&sw_tx_kept, memory_order_relaxed), 0))
			vhost_tx_kept(c, m->id);
		uint64_t dt = sw_cycles() - t0;
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
		pmds[i] = m;
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
		struct pmd *m = pmds[i];
		if (!m)
			continue;
		if (m->started)
			pthread_join(m->thr, NULL);
		vhu_pkt_pool_destroy(m->pool);
		vhu_pkt_pool_destroy(m->big);
		free(m);
		pmds[i] = NULL;
	}
	sw_conf_free(atomic_exchange(&sw_conf, NULL));
}
