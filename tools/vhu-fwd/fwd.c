/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data path: one thread polls every queue of every device.
 *
 * Each iteration loads the device slots once, serves each queue pair of
 * each device with one burst per direction and then passes a quiescent
 * point (fwd_epoch, see dev.c). Packets come from one pool created before
 * the thread starts; the loop makes no allocation, syscall or lock of its
 * own (--interrupt sleeps only after a run of idle iterations).
 *
 * Counters: rx = packets dequeued from the frontends, tx = packets
 * enqueued to them, drops = packets a frontend had no room for (or whose
 * destination device/queue is absent); with --verify each received packet
 * is also counted once as verified, hdr_checked, unchecked or bad.
 */
#include <stdio.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <vhu/pkt.h>
#include "cycles.h"
#include "fwd.h"

/* Idle iterations before --interrupt sleeps: a few microseconds of
 * polling avoids a sleep/wake round-trip between close bursts. */
#define IDLE_SPINS 256
/* Without devices there is nothing to poll; wakefd ends the wait. */
#define NODEV_WAIT_MS 100

struct fwd_ctx {
	struct vhu_pkt_pool *pool;
	uint64_t rx, tx, drops, checks[4]; /* checks[enum gen_check + 1] */
	/* Rounds over the queues, those that moved nothing, and the cycles
	 * (cycles_now) each kind took, not counting sleeps. */
	uint64_t polls, idle_polls, busy_cycles, idle_cycles;
	uint16_t burst;
};

/* Forwarding thread only: its current epoch, even. */
static uint64_t epoch;

void fwd_go_offline(void)
{
	atomic_store(&fwd_epoch, epoch + 1);
}

void fwd_go_online(void)
{
	epoch += 2;
	atomic_store(&fwd_epoch, epoch);
}

static void quiescent(void)
{
	epoch += 2;
	atomic_store(&fwd_epoch, epoch);
}

static void load_devs(struct vhu_dev **devs)
{
	for (unsigned i = 0; i < FWD_MAX_PORTS; i++)
		devs[i] = atomic_load(&fwd_ports[i].dev);
}

/* Queue pairs worth polling: those asked for that the frontend set up. */
static uint16_t nb_queues(const struct vhu_dev *dev)
{
	uint16_t n = vhu_dev_get_vring_num(dev) / 2;
	return n < fwd_opts.queues ? n : fwd_opts.queues;
}

static unsigned rx_burst(struct fwd_ctx *c, struct vhu_dev *dev, uint16_t q,
			 struct vhu_pkt **pkts)
{
	uint16_t v = VHU_VRING_TX(q);

	if (!vhu_vring_is_enabled(dev, v))
		return 0;
	unsigned n = vhu_dequeue_burst(dev, v, c->pool, pkts, c->burst);
	c->rx += n;
	if (fwd_opts.verify)
		for (unsigned i = 0; i < n; i++)
			c->checks[gen_verify(pkts[i]) + 1]++;
	return n;
}

/* Enqueue copies, so every packet is freed here whatever was taken. */
static unsigned tx_burst(struct fwd_ctx *c, struct vhu_dev *dev, uint16_t q,
			 struct vhu_pkt **pkts, unsigned n)
{
	unsigned sent = 0;

	if (n == 0)
		return 0;
	if (dev && q < nb_queues(dev) && vhu_vring_is_enabled(dev, VHU_VRING_RX(q))) {
		sent = vhu_enqueue_burst(dev, VHU_VRING_RX(q), pkts, (uint16_t)n);
		/* Behind a vIOMMU a short enqueue is mostly an IOTLB miss the
		 * frontend answers within a few ms (a guest maps each receive
		 * buffer anew): wait for it a little rather than drop. */
		if (sent < n && (vhu_dev_get_features(dev) & (1ULL << VIRTIO_F_ACCESS_PLATFORM)))
			for (int tries = 0; sent < n && tries < 200; tries++) {
				usleep(50);
				sent += vhu_enqueue_burst(dev, VHU_VRING_RX(q), pkts + sent,
							  (uint16_t)(n - sent));
			}
	}
	c->tx += sent;
	c->drops += n - sent;
	vhu_pkt_free_bulk(pkts, n);
	return sent;
}

/* Generates only as many packets as the frontend has buffers for, so a
 * slow receiver costs neither packet building nor drop counts. */
static unsigned txonly(struct fwd_ctx *c, struct vhu_dev *dev, uint16_t q,
		       struct vhu_pkt **pkts)
{
	uint16_t v = VHU_VRING_RX(q);
	unsigned work = 0, n;

	if (vhu_vring_is_enabled(dev, v)) {
		n = vhu_vring_avail_count(dev, v, c->burst);
		if (n && vhu_pkt_alloc_bulk(c->pool, pkts, n) == 0) {
			gen_fill(pkts, n);
			work += tx_burst(c, dev, q, pkts, n);
		}
	}
	/* Whatever comes back (a reflecting peer) is counted and, with
	 * --verify, checked: the round-trip test of both directions. */
	n = rx_burst(c, dev, q, pkts);
	vhu_pkt_free_bulk(pkts, n);
	return work + n;
}

static void macswap(struct vhu_pkt **pkts, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t *d = vhu_pkt_data(pkts[i]), t[6];
		if (pkts[i]->data_len < 12)
			continue;
		__builtin_memcpy(t, d, 6);
		__builtin_memcpy(d, d + 6, 6);
		__builtin_memcpy(d + 6, t, 6);
	}
}

static unsigned icmpecho(struct vhu_pkt **pkts, unsigned n, struct vhu_pkt **ign,
			 unsigned *nign)
{
	unsigned out = 0;
	*nign = 0;
	for (unsigned i = 0; i < n; i++) {
		if (icmp_reply(pkts[i]))
			pkts[out++] = pkts[i];
		else
			ign[(*nign)++] = pkts[i];
	}
	return out;
}

static unsigned poll_queue(struct fwd_ctx *c, struct vhu_dev **devs, unsigned port,
			   uint16_t q)
{
	struct vhu_pkt *pkts[VHU_MAX_BURST], *ign[VHU_MAX_BURST];
	struct vhu_dev *dev = devs[port];
	unsigned n, m, nign;

	switch (fwd_opts.mode) {
	case MODE_RXONLY:
		n = rx_burst(c, dev, q, pkts);
		vhu_pkt_free_bulk(pkts, n);
		return n;
	case MODE_TXONLY:
		return txonly(c, dev, q, pkts);
	case MODE_IO:
		n = rx_burst(c, dev, q, pkts);
		tx_burst(c, devs[fwd_opts.nb_ports == 2 ? 1 - port : port], q, pkts, n);
		return n;
	case MODE_MACSWAP:
		n = rx_burst(c, dev, q, pkts);
		macswap(pkts, n);
		tx_burst(c, dev, q, pkts, n);
		return n;
	case MODE_ICMPECHO:
		n = rx_burst(c, dev, q, pkts);
		m = icmpecho(pkts, n, ign, &nign);
		vhu_pkt_free_bulk(ign, nign); /* not ours to answer: not drops */
		tx_burst(c, dev, q, pkts, m);
		return n;
	}
	return 0;
}

static void publish(const struct fwd_ctx *c)
{
	atomic_store_explicit(&fwd_stats.rx, c->rx, memory_order_relaxed);
	atomic_store_explicit(&fwd_stats.tx, c->tx, memory_order_relaxed);
	atomic_store_explicit(&fwd_stats.drops, c->drops, memory_order_relaxed);
	atomic_store_explicit(&fwd_stats.polls, c->polls, memory_order_relaxed);
	atomic_store_explicit(&fwd_stats.idle_polls, c->idle_polls, memory_order_relaxed);
	atomic_store_explicit(&fwd_stats.busy_cycles, c->busy_cycles, memory_order_relaxed);
	atomic_store_explicit(&fwd_stats.idle_cycles, c->idle_cycles, memory_order_relaxed);
	atomic_store_explicit(&fwd_stats.bad, c->checks[GEN_BAD + 1], memory_order_relaxed);
	atomic_store_explicit(&fwd_stats.unchecked, c->checks[GEN_UNCHECKED + 1],
			      memory_order_relaxed);
	atomic_store_explicit(&fwd_stats.hdr_checked, c->checks[GEN_HDR_CHECKED + 1],
			      memory_order_relaxed);
	atomic_store_explicit(&fwd_stats.verified, c->checks[GEN_VERIFIED + 1],
			      memory_order_relaxed);
}

void *fwd_thread(void *arg)
{
	struct fwd_ctx c = { .pool = arg, .burst = fwd_opts.burst };
	struct fwd_sleeper *sl = NULL;
	struct vhu_dev *devs[FWD_MAX_PORTS];
	unsigned idle = 0;
	uint64_t t0 = cycles_now();

	if (fwd_opts.interrupt && !(sl = sleeper_create())) {
		fprintf(stderr, "vhu-fwd: cannot set up --interrupt, polling\n");
	}
	fwd_go_online();
	while (!atomic_load_explicit(&fwd_stop, memory_order_relaxed)) {
		unsigned work = 0, live = 0;
		load_devs(devs);
		for (unsigned p = 0; p < fwd_opts.nb_ports; p++) {
			if (!devs[p])
				continue;
			live++;
			uint16_t nq = nb_queues(devs[p]);
			for (uint16_t q = 0; q < nq; q++)
				work += poll_queue(&c, devs, p, q);
		}
		uint64_t t = cycles_now();
		if (live) {
			c.polls++;
			c.idle_polls += !work;
			*(work ? &c.busy_cycles : &c.idle_cycles) += t - t0;
		}
		t0 = t;
		publish(&c);
		if (!live) {
			fwd_go_offline();
			fwd_wait_wakefd(NODEV_WAIT_MS);
			fwd_go_online();
			t0 = cycles_now();
			continue;
		}
		if (work) {
			idle = 0;
		} else if (sl && ++idle >= IDLE_SPINS) {
			idle = 0;
			sleeper_wait(sl, devs);
			t0 = cycles_now();
		}
		quiescent();
	}
	fwd_go_offline();
	publish(&c);
	sleeper_destroy(sl);
	return NULL;
}
