/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user ports: one socket per port (server: DIR/NAME, client: path=),
 * one device at a time on it, like OVS's dpdkvhostuser(client) ports.
 *
 * Device handoff: new_device publishes the device in port->dev; PMDs load
 * it once per burst. destroy_device withdraws it and waits for a grace
 * period, after which no PMD can still be bursting on it (the library
 * frees it once destroy_device returns). Callbacks only touch atomics of
 * the port: they run on the library's thread, which must never wait for
 * sw_ctl_lock (see sw.h).
 *
 * Transmit to a guest (host -> guest, its rx vrings): PMD n sends on the
 * (n % k)-th of the k enabled rx queues (the seeds' tx_q[qid % n].map).
 * When PMDs outnumber those queues several may pick the same one, and only
 * then is the queue's spinlock taken. A ring that did not take the whole
 * burst gets up to the port's tx-retries more attempts (OVS's
 * tx-retries-max, default SW_TX_RETRIES_DEFAULT; 0: none): at once when
 * the last one took some frames, else after waiting for the guest to
 * make room, which a burst does for at most SW_ENQ_RETRY_NS in all (the
 * seeds' VHOST_ENQ_RETRY_USECS). What is left is dropped and counted
 * (tx_failure_drops). A queue that ended a burst short after waiting is
 * not waited for again until it takes packets, so a guest that stopped
 * reading costs one failed enqueue per burst, not 100 us.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <vhu/pkt.h>
#include "feature_names.h"
#include "sw.h"

/* Frames a kept-pool holds: one burst of full-size frames on each of 16 queues. */
#define KEPT_POOL_SEGS 512
#define KEPT_POOL_ROOM 2048

static bool behind_iommu(const struct port *p);
static void kept_free(struct port *p);
static void kept_disabled(struct port *p, uint16_t q);

/* libvhu runs callbacks on worker threads, those of different
 * devices at once; a port's old device going and its new one coming
 * (a guest reconnecting) must not interleave their stores to the port,
 * so the callbacks take turns here. They are short. Besides them only
 * vhost_iotlb_misses takes it (holding it, the port's device cannot be
 * freed), under sw_ctl_lock: never the other way round, as callbacks
 * never take sw_ctl_lock (sw.h). */
static struct sw_mutex cb_lock = SW_MUTEX_INITIALIZER;

/* The IOTLB misses libvhu counted on dev's vrings that send to the guest
 * (tx: its rx vrings 2q) or receive from it (2q+1). */
static uint64_t dev_iotlb_misses(const struct vhu_dev *dev, bool tx)
{
	struct vhu_vring_stats st;
	uint64_t n = 0;

	for (uint16_t q = 0; q < VHU_MAX_QUEUE_PAIRS; q++)
		if (!vhu_vring_get_stats(dev, tx ? VHU_VRING_RX(q) : VHU_VRING_TX(q), &st))
			n += st.iotlb_misses;
	return n;
}

uint64_t vhost_iotlb_misses(const struct port *p, bool tx)
{
	sw_mutex_lock(&cb_lock);
	const struct vhu_dev *dev = atomic_load(&p->dev);
	uint64_t n = p->iotlb_misses_gone[tx] + (dev ? dev_iotlb_misses(dev, tx) : 0);
	sw_mutex_unlock(&cb_lock);
	return n;
}

static void update_masks(struct port *p, struct vhu_dev *dev)
{
	unsigned rxm = 0, txm = 0, nv = vhu_dev_get_vring_num(dev);

	for (unsigned q = 0; q < p->queues && 2 * q + 1 < nv; q++) {
		if (vhu_vring_is_enabled(dev, VHU_VRING_RX(q)))
			rxm |= 1u << q;
		if (vhu_vring_is_enabled(dev, VHU_VRING_TX(q)))
			txm |= 1u << q;
	}
	atomic_store(&p->guest_rx_mask, rxm);
	atomic_store(&p->guest_tx_mask, txm);
	atomic_store(&p->nr_vring, nv);
}

static int new_device(struct vhu_dev *dev)
{
	struct port *p = vhu_dev_get_ctx(dev);
	struct vhu_dev *expected = NULL;
	char names[512];

	sw_mutex_lock(&cb_lock);
	if (!atomic_compare_exchange_strong(&p->dev, &expected, dev)) {
		SW_LOG("port %s: socket %s already has a device; refusing id %" PRIu64,
		       p->name, p->path, vhu_dev_get_id(dev));
		sw_mutex_unlock(&cb_lock);
		return -1;
	}
	if ((vhu_dev_get_features(dev) & (1ULL << VIRTIO_F_ACCESS_PLATFORM)) &&
	    !atomic_load(&p->kept_pool)) {
		char name[SW_NAME_MAX + 8];
		snprintf(name, sizeof(name), "%s-kept", p->name);
		struct vhu_pkt_pool *kp = vhu_pkt_pool_create(name, KEPT_POOL_SEGS, KEPT_POOL_ROOM);
		if (!kp)
			SW_LOG("port %s: no pool for frames kept at IOTLB misses: they are "
			       "dropped (tx_iotlb_drops)", p->name);
		atomic_store(&p->kept_pool, kp);
	}
	atomic_store(&p->features, vhu_dev_get_features(dev));
	atomic_store(&p->ol_caps, sw_ol_of_guest(vhu_dev_get_features(dev)));
	atomic_store(&p->dev_id, vhu_dev_get_id(dev));
	update_masks(p, dev);
	atomic_store(&p->state, PS_RUNNING);
	rxq_changed();
	for (unsigned q = 0; q < VHU_MAX_QUEUE_PAIRS; q++)
		atomic_store(&p->txq[q].congested, false);
	feature_format(vhu_dev_get_features(dev), names, sizeof(names));
	SW_LOG("port %s: device up: socket %s id %" PRIu64 " vrings %u rxq mask 0x%x "
	       "txq mask 0x%x features [%s]", p->name, p->path, vhu_dev_get_id(dev),
	       vhu_dev_get_vring_num(dev), atomic_load(&p->guest_rx_mask),
	       atomic_load(&p->guest_tx_mask), names);
	sw_mutex_unlock(&cb_lock);
	return 0;
}

static void destroy_device(struct vhu_dev *dev)
{
	struct port *p = vhu_dev_get_ctx(dev);

	sw_mutex_lock(&cb_lock);
	if (atomic_load(&p->dev) != dev) {
		sw_mutex_unlock(&cb_lock);
		return; /* the one new_device refused */
	}
	p->iotlb_misses_gone[0] += dev_iotlb_misses(dev, false);
	p->iotlb_misses_gone[1] += dev_iotlb_misses(dev, true);
	atomic_store(&p->dev, NULL);
	sw_synchronize();
	kept_free(p);
	atomic_store(&p->state, PS_CONNECTED);
	atomic_store(&p->guest_rx_mask, 0);
	atomic_store(&p->guest_tx_mask, 0);
	rxq_changed();
	SW_LOG("port %s: device down: socket %s id %" PRIu64, p->name, p->path,
	       vhu_dev_get_id(dev));
	sw_mutex_unlock(&cb_lock);
}

static int vring_state_changed(struct vhu_dev *dev, uint16_t vring, int enable)
{
	struct port *p = vhu_dev_get_ctx(dev);
	unsigned q = vring / 2;

	if (q >= p->queues) {
		if (enable)
			SW_LOG("port %s: vring %u enabled but the port polls %u queue "
			       "pair(s) (queues=); ignored", p->name, vring, p->queues);
		return 0;
	}
	sw_mutex_lock(&cb_lock);
	atomic_uint *m = (vring & 1) ? &p->guest_tx_mask : &p->guest_rx_mask;
	unsigned was = enable ? atomic_fetch_or(m, 1u << q) : atomic_fetch_and(m, ~(1u << q));
	if ((vring & 1) && (was >> q & 1) != !!enable)
		rxq_changed();
	if (vring + 1u > atomic_load(&p->nr_vring))
		atomic_store(&p->nr_vring, vring + 1u);
	SW_LOG("port %s: vring %u %s", p->name, vring, enable ? "enabled" : "disabled");
	if (!enable && !(vring & 1) && (was >> q & 1) && atomic_load(&p->dev) == dev &&
	    behind_iommu(p))
		kept_disabled(p, (uint16_t)q);
	sw_mutex_unlock(&cb_lock);
	return 0;
}

static int features_changed(struct vhu_dev *dev, uint64_t features)
{
	struct port *p = vhu_dev_get_ctx(dev);
	sw_mutex_lock(&cb_lock);
	atomic_store(&p->features, features);
	atomic_store(&p->ol_caps, sw_ol_of_guest(features));
	sw_mutex_unlock(&cb_lock);
	SW_LOG("port %s: features changed to 0x%016" PRIx64, p->name, features);
	return 0;
}

static int new_connection(struct vhu_dev *dev)
{
	struct port *p = vhu_dev_get_ctx(dev);
	sw_mutex_lock(&cb_lock);
	if (atomic_load(&p->state) == PS_DOWN)
		atomic_store(&p->state, PS_CONNECTED);
	sw_mutex_unlock(&cb_lock);
	SW_LOG("port %s: frontend connected on %s (id %" PRIu64 ")", p->name, p->path,
	       vhu_dev_get_id(dev));
	return 0;
}

static void destroy_connection(struct vhu_dev *dev)
{
	struct port *p = vhu_dev_get_ctx(dev);
	sw_mutex_lock(&cb_lock);
	if (atomic_load(&p->dev) == NULL)
		atomic_store(&p->state, PS_DOWN);
	sw_mutex_unlock(&cb_lock);
	SW_LOG("port %s: frontend disconnected from %s (id %" PRIu64 ")%s", p->name,
	       p->path, vhu_dev_get_id(dev), p->client ? ", will reconnect" : "");
}

static const struct vhu_device_ops ops = {
	.new_device = new_device,
	.destroy_device = destroy_device,
	.vring_state_changed = vring_state_changed,
	.features_changed = features_changed,
	.new_connection = new_connection,
	.destroy_connection = destroy_connection,
};

static int set_protocol_features(const char *path)
{
	uint64_t pf;
	int rc = vhu_driver_get_protocol_features(path, &pf);
	return rc ? rc : vhu_driver_set_protocol_features(path, pf & ~sw_opts.disable_proto);
}

int vhost_port_open(struct port *p, char *err, size_t errlen)
{
	/* Zero-copy: every decision reads the first segment, the library's
	 * own copy of the frame's start, and every frame is freed within the
	 * PMD iteration that dequeued it (pmd.c), so the guest's buffer is
	 * read once more, by the receiving guest's enqueue, and returned. */
	int rc = vhu_driver_register(p->path, (p->client ? VHU_CLIENT : 0) |
				     (sw_opts.no_ring_resync ? VHU_NO_RING_RESYNC : 0) |
				     (sw_opts.zero_copy ? VHU_DEQUEUE_ZERO_COPY : 0) |
				     (sw_opts.populate_mem ? VHU_POPULATE_MEM : 0));
	const char *what = "register";

	if (rc) {
		snprintf(err, errlen, "port %s: cannot register socket %s: %s", p->name,
			 p->path, strerror(-rc));
		return rc;
	}
	if ((rc = vhu_driver_set_max_queue_pairs(p->path, p->queues)))
		what = "set queue pairs on";
	else if ((rc = vhu_driver_set_io_timeout(p->path, sw_opts.io_timeout_ms)))
		what = "set the I/O timeout of";
	else if (!p->client &&
		 (rc = vhu_driver_set_max_connections(p->path, sw_opts.max_connections)))
		what = "set the connection limit of";
	else if (sw_opts.sock_mode && !p->client &&
		 (rc = vhu_driver_set_socket_mode(p->path, sw_opts.sock_mode)))
		what = "set the mode of";
	else if ((rc = vhu_driver_disable_features(p->path, sw_opts.disable)))
		what = "set features on";
	else if ((rc = set_protocol_features(p->path)))
		what = "set protocol features on";
	else if ((rc = vhu_driver_callback_register(p->path, &ops, p)))
		what = "register callbacks on";
	else if ((rc = vhu_driver_start(p->path)))
		what = "start";
	/* The library made the socket 0660 (or --socket-mode's): QEMU running
	 * as a member of --socket-group may connect. */
	else if (sw_opts.sock_group && !p->client &&
		 chown(p->path, (uid_t)-1, sw_opts.sock_gid) < 0 && (rc = -errno))
		what = "give the group to";
	if (rc) {
		snprintf(err, errlen, "port %s: cannot %s socket %s: %s", p->name, what,
			 p->path, strerror(-rc));
		vhu_driver_unregister(p->path);
	}
	return rc;
}

/* Destroys the device (libvhu runs destroy_device and waits for it) and
 * closes the socket; no callback for this port runs after it returns. */
void vhost_port_close(struct port *p)
{
	vhu_driver_unregister(p->path);
	/* destroy_device gave back every frame kept in it. */
	vhu_pkt_pool_destroy(atomic_exchange(&p->kept_pool, NULL));
}

uint16_t vhost_rx(struct port *p, uint16_t q, struct vhu_pkt_pool *pool,
		  struct vhu_pkt **pkts, uint16_t n)
{
	struct vhu_dev *dev = atomic_load(&p->dev);

	if (!dev || !(atomic_load_explicit(&p->guest_tx_mask, memory_order_relaxed) & (1u << q)))
		return 0;
	return vhu_dequeue_burst(dev, VHU_VRING_TX(q), pool, pkts, n);
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* The k-th set bit of mask. */
static unsigned nth_bit(unsigned mask, unsigned k)
{
	while (k--)
		mask &= mask - 1;
	return (unsigned)__builtin_ctz(mask);
}

static bool behind_iommu(const struct port *p)
{
	return atomic_load_explicit(&p->features, memory_order_relaxed) &
	       (1ULL << VIRTIO_F_ACCESS_PLATFORM);
}

/* Frames the guest did not take are dropped and counted; with iotlb,
 * they were kept for an IOTLB answer that did not come in time. */
static void drop_kept(struct port *p, uint16_t q, uint16_t n)
{
	atomic_fetch_add_explicit(&p->tx[q].dropped, n, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->tx_iotlb_drops, n, memory_order_relaxed);
}

/* Keeps copies of pkts for the queue's next tries (the caller frees
 * pkts): as many as fit one burst and the pool, the rest dropped. */
static void keep(struct port *p, uint16_t q, struct sw_txq *t, struct vhu_pkt **pkts,
		 uint16_t n)
{
	struct vhu_pkt_pool *pool = atomic_load_explicit(&p->kept_pool, memory_order_acquire);
	uint16_t was = t->nkept, k = 0;

	for (; k < n && t->nkept < SW_BURST && pool; k++) {
		struct vhu_pkt *c = pkt_copy(pkts[k], pool);
		if (!c)
			break;
		t->kept[t->nkept++] = c;
	}
	if (k)
		atomic_fetch_add_explicit(&p->tx_iotlb_kept, k, memory_order_relaxed);
	if (k < n)
		drop_kept(p, q, (uint16_t)(n - k));
	if (!was && t->nkept) {
		t->kept_since = mono_ns();
		atomic_fetch_add_explicit(&sw_tx_kept, 1, memory_order_relaxed);
	}
}

/* Sends what the queue kept, in order; true when nothing is left. */
static bool send_kept(struct port *p, struct vhu_dev *dev, uint16_t q, struct sw_txq *t)
{
	uint16_t sent = 0, n = t->nkept;

	if (mono_ns() - t->kept_since <= SW_IOTLB_KEEP_NS) {
		sent = vhu_enqueue_burst(dev, VHU_VRING_RX(q), t->kept, n);
		port_capture(p, t->kept, sent);
		stats_count(&p->tx[q], t->kept, sent, 0);
		vhu_pkt_free_bulk(t->kept, sent);
	} else {
		drop_kept(p, q, n);
		vhu_pkt_free_bulk(t->kept, n);
		sent = n;
	}
	memmove(t->kept, t->kept + sent, (size_t)(n - sent) * sizeof(t->kept[0]));
	t->nkept = (uint16_t)(n - sent);
	if (t->nkept)
		return false;
	atomic_fetch_sub_explicit(&sw_tx_kept, 1, memory_order_relaxed);
	return true;
}

/* The tx queue PMD pmd sends on (port_vhost.c's header), its lock taken
 * when PMDs share it; NULL when the guest takes nothing now. */
static struct sw_txq *txq_get(struct port *p, unsigned pmd, struct vhu_dev **dev,
			      uint16_t *q, bool *shared)
{
	unsigned mask = atomic_load_explicit(&p->guest_rx_mask, memory_order_relaxed);

	*dev = atomic_load(&p->dev);
	if (!*dev || !mask)
		return NULL;
	unsigned k = (unsigned)__builtin_popcount(mask);
	*q = (uint16_t)nth_bit(mask, pmd % k);
	*shared = sw_opts.nb_pmds > k;
	struct sw_txq *t = &p->txq[*q];
	if (*shared)
		while (atomic_flag_test_and_set_explicit(&t->lock, memory_order_acquire))
			;
	return t;
}

atomic_uint sw_tx_kept;

void vhost_tx_kept(const struct sw_conf *c, unsigned pmd)
{
	for (unsigned i = 0; i < c->nb_live; i++) {
		struct port *p = c->ports[c->live[i]];
		struct vhu_dev *dev;
		uint16_t q;
		bool shared;
		if (p->type != PORT_VHOST || !behind_iommu(p))
			continue;
		struct sw_txq *t = txq_get(p, pmd, &dev, &q, &shared);
		if (!t)
			continue;
		if (t->nkept)
			send_kept(p, dev, q, t);
		if (shared)
			atomic_flag_clear_explicit(&t->lock, memory_order_release);
	}
}

/* Drops what tx queue q kept; no PMD may be in the queue. The number. */
static uint16_t kept_drop(struct port *p, uint16_t q)
{
	struct sw_txq *t = &p->txq[q];
	uint16_t n = t->nkept;

	if (!n)
		return 0;
	drop_kept(p, q, n);
	vhu_pkt_free_bulk(t->kept, n);
	t->nkept = 0;
	atomic_fetch_sub_explicit(&sw_tx_kept, 1, memory_order_relaxed);
	return n;
}

/* Frames kept when the device goes (after the grace period: no PMD
 * holds it): dropped. */
static void kept_free(struct port *p)
{
	for (uint16_t q = 0; q < VHU_MAX_QUEUE_PAIRS; q++)
		kept_drop(p, q);
}

/* The guest disabled its rx vring 2q (cb_lock held): no burst picks the
 * queue from now on (guest_rx_mask), so what it kept would wait for the
 * device to go; it is dropped now, and its pool buffers are back. After
 * the grace period no PMD is left in the queue, and none comes back
 * before an enable, which waits for cb_lock. */
static void kept_disabled(struct port *p, uint16_t q)
{
	sw_synchronize();
	uint16_t n = kept_drop(p, q);
	if (n)
		SW_LOG("port %s: %u frame(s) kept for rx vring %u dropped: the guest "
		       "disabled it", p->name, n, 2u * q);
}

void vhost_tx(struct port *p, unsigned pmd, struct vhu_pkt **pkts, uint16_t n)
{
	struct vhu_dev *dev;
	uint16_t q, sent = 0;
	bool shared;
	struct sw_txq *t = txq_get(p, pmd, &dev, &q, &shared);

	if (!t) {
		/* A guest that is not running costs nothing but the count. */
		atomic_fetch_add_explicit(&p->tx[0].dropped, n, memory_order_relaxed);
		return;
	}
	if (__builtin_expect(t->nkept != 0, 0) && !send_kept(p, dev, q, t)) {
		/* Still waiting for the IOTLB: these go behind, in order. */
		keep(p, q, t, pkts, n);
		if (shared)
			atomic_flag_clear_explicit(&t->lock, memory_order_release);
		return;
	}
	bool wait = !atomic_load_explicit(&t->congested, memory_order_relaxed);
	unsigned budget = atomic_load_explicit(&p->tx_retries_max, memory_order_relaxed);
	unsigned retries = 0;
	uint16_t missed = 0;
	int64_t start = 0;
	for (;;) {
		uint16_t m = vhu_enqueue_burst(dev, VHU_VRING_RX(q), pkts + sent, n - sent);
		sent += m;
		if (sent == n)
			break;
		if (!m && __builtin_expect(behind_iommu(p), 0)) {
			/* Behind a vIOMMU, none taken is most often an IOTLB
			 * miss (the library asked the frontend), or the vring
			 * locked while an IOTLB update is applied, or its ring
			 * waiting for a translation: none of them shows as free
			 * buffers, and each ends with a round trip through
			 * QEMU, longer than any spin here. So the frames wait in
			 * the queue (one burst, SW_IOTLB_KEEP_NS at most). */
			missed = (uint16_t)(n - sent);
			break;
		}
		if (retries == budget || (!m && !wait))
			break;
		if (!m) {
			/* Room comes when the guest refills its ring. */
			if (!start)
				start = mono_ns();
			while (!vhu_vring_avail_count(dev, VHU_VRING_RX(q), 1) &&
			       mono_ns() - start <= SW_ENQ_RETRY_NS)
				cpu_relax();
		}
		retries++;
	}
	if (__builtin_expect(missed != 0, 0))
		keep(p, q, t, pkts + sent, missed);
	bool congested = sent + missed < n && (sent == 0 || wait);
	if (congested != atomic_load_explicit(&t->congested, memory_order_relaxed))
		atomic_store_explicit(&t->congested, congested, memory_order_relaxed);
	port_capture(p, pkts, sent);
	if (shared)
		atomic_flag_clear_explicit(&t->lock, memory_order_release);
	uint16_t lost = (uint16_t)(n - sent - missed);
	stats_count(&p->tx[q], pkts, sent, lost);
	if (retries)
		atomic_fetch_add_explicit(&p->tx_retries, retries, memory_order_relaxed);
	if (lost)
		atomic_fetch_add_explicit(&p->tx_fail_drops, lost, memory_order_relaxed);
}
