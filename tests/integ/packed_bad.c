/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Malformed packed rings break only the vring they are on. For each case a
 * fresh frontend (packed rings, two queue pairs) writes one bad buffer into
 * a ring by hand; the test thread bursts on it and expects nothing out and
 * the vring broken, then checks the other queue pair still carries a
 * packet.
 *
 * Then a reset: RESET_OWNER forgets the rings, and a SET_VRING_KICK after
 * it (which starts a vring) must not write event flags into the memory
 * the reset unmapped (a fuzzer's find).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <vhu/frontend.h>
#include <vhu/vhu.h>
#include "proto/wire.h"

#define RING 64
#define AV ((uint16_t)(1u << VRING_PACKED_DESC_F_AVAIL))
#define US ((uint16_t)(1u << VRING_PACKED_DESC_F_USED))

static struct vhu_dev *cur_dev;

static int new_device(struct vhu_dev *dev)
{
	__atomic_store_n(&cur_dev, dev, __ATOMIC_RELEASE);
	return 0;
}

static void destroy_device(struct vhu_dev *dev)
{
	(void)dev;
	__atomic_store_n(&cur_dev, NULL, __ATOMIC_RELEASE);
}

struct env {
	struct vhu_fe *fe;
	struct vring_packed_desc *d; /* the vring's descriptors */
	uint64_t buf;                /* gpa of scratch guest memory */
	uint8_t *buf_va;
};

static void set(struct vring_packed_desc *d, uint64_t addr, uint32_t len, uint16_t id,
		uint16_t flags)
{
	d->addr = addr;
	d->len = len;
	d->id = id;
	__atomic_store_n(&d->flags, flags, __ATOMIC_RELEASE);
}

/* Each case makes buffer(s) available at position 0 (wrap counter 1) of
 * the transmit ring, or spoils the receive ring already posted. */
static void c_id_range(struct env *e) { set(&e->d[0], e->buf, 100, RING, AV); }
static void c_outside(struct env *e) { set(&e->d[0], 0xdead00000000ull, 100, 0, AV); }
static void c_writable(struct env *e) { set(&e->d[0], e->buf, 100, 0, AV | VRING_DESC_F_WRITE); }
static void c_loop(struct env *e)
{
	/* NEXT on every descriptor: the chain runs round the whole ring. */
	for (int i = RING - 1; i >= 0; i--)
		set(&e->d[i], e->buf, 64, 0, AV | VRING_DESC_F_NEXT);
}
static void c_wrap(struct env *e)
{
	/* The chain's second descriptor carries the wrong wrap state. */
	set(&e->d[1], e->buf, 64, 0, US);
	set(&e->d[0], e->buf, 64, 0, AV | VRING_DESC_F_NEXT);
}
static void c_indir_big(struct env *e)
{
	set(&e->d[0], e->buf, 16u * (VHU_MAX_RING_SIZE + 1), 0, AV | VRING_DESC_F_INDIRECT);
}
static void c_indir_odd(struct env *e) { set(&e->d[0], e->buf, 24, 0, AV | VRING_DESC_F_INDIRECT); }
static void c_indir_zero(struct env *e) { set(&e->d[0], e->buf, 0, 0, AV | VRING_DESC_F_INDIRECT); }
static void c_indir_nested(struct env *e)
{
	struct vring_packed_desc *t = (struct vring_packed_desc *)(void *)e->buf_va;
	memset(t, 0, 32);
	t[0] = (struct vring_packed_desc){ .addr = e->buf + 256, .len = 64 };
	t[1] = (struct vring_packed_desc){ .addr = e->buf, .len = 32,
					   .flags = VRING_DESC_F_INDIRECT };
	set(&e->d[0], e->buf, 32, 0, AV | VRING_DESC_F_INDIRECT);
}
static void c_indir_next(struct env *e)
{
	set(&e->d[0], e->buf, 16, 0, AV | VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT);
}
static void c_rx_readonly(struct env *e)
{
	/* Receive buffer 0 turned device-readable, AVAIL bits kept. */
	set(&e->d[0], e->d[0].addr, e->d[0].len, e->d[0].id, AV);
}

static const struct {
	const char *name;
	void (*make)(struct env *);
	int rx;
} cases[] = {
	{ "id out of range", c_id_range, 0 },
	{ "buffer outside memory", c_outside, 0 },
	{ "device-writable in transmit", c_writable, 0 },
	{ "chain loops round the ring", c_loop, 0 },
	{ "bad wrap state inside a chain", c_wrap, 0 },
	{ "indirect table too big", c_indir_big, 0 },
	{ "indirect table not a multiple of 16", c_indir_odd, 0 },
	{ "indirect table empty", c_indir_zero, 0 },
	{ "nested indirect", c_indir_nested, 0 },
	{ "indirect with NEXT", c_indir_next, 0 },
	{ "read-only receive buffer", c_rx_readonly, 1 },
};

static struct vhu_dev *wait_dev(void)
{
	for (int i = 0; i < 5000; i++) {
		struct vhu_dev *d = __atomic_load_n(&cur_dev, __ATOMIC_ACQUIRE);
		if (d)
			return d;
		usleep(1000);
	}
	return NULL;
}

/* Until the last device's destroy_device ran (5 s at most). */
static void wait_gone(void)
{
	for (int i = 0; i < 5000 && __atomic_load_n(&cur_dev, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
}

/* One packet from the frontend on queue pair qp, through the backend's
 * dequeue and enqueue, back to the frontend. */
static int roundtrip(struct vhu_fe *fe, struct vhu_dev *dev, struct vhu_pkt_pool *pool,
		     uint16_t qp)
{
	struct vhu_pkt *p = vhu_pkt_alloc(pool), *q[4];
	uint16_t n = 0;

	if (!p)
		return -1;
	memset(vhu_pkt_append(p, 200), 0x5a, 200);
	if (vhu_fe_send_burst(fe, qp, &p, 1) != 1) {
		vhu_pkt_free(p);
		return -1;
	}
	vhu_pkt_free(p);
	for (int i = 0; i < 1000 && !n; i++) {
		n = vhu_dequeue_burst(dev, VHU_VRING_TX(qp), pool, q, 4);
		if (!n)
			usleep(1000);
	}
	if (n != 1 || q[0]->pkt_len != 200) {
		vhu_pkt_free_bulk(q, n);
		return -1;
	}
	uint16_t s = vhu_enqueue_burst(dev, VHU_VRING_RX(qp), q, 1);
	vhu_pkt_free(q[0]);
	if (s != 1)
		return -1;
	for (int i = 0; i < 1000; i++) {
		n = vhu_fe_recv_burst(fe, qp, pool, q, 4);
		if (n) {
			int ok = n == 1 && q[0]->pkt_len == 200;
			vhu_pkt_free_bulk(q, n);
			return ok ? 0 : -1;
		}
		usleep(1000);
	}
	return -1;
}

/* RESET_OWNER on a running packed device, then kicks that would start
 * its vrings: answered or refused, never a write into unmapped memory. A
 * fresh frontend afterwards still gets a packet round. */
static int reset_then_kick(const char *path, struct vhu_pkt_pool *pool)
{
	struct vhu_fe_opts o = { .path = path, .queue_pairs = 2, .ring_size = RING,
				 .packed = true };
	struct vhu_fe *fe = vhu_fe_create(&o);
	struct vhu_dev *dev = fe ? wait_dev() : NULL;
	int ok = dev && roundtrip(fe, dev, pool, 0) == 0;

	if (fe && vhu_fe_send_raw(fe, VHU_REQ_RESET_OWNER, 0, NULL, 0, NULL, 0))
		ok = 0;
	for (uint64_t i = 0; fe && i < 4; i++) {
		int efd = eventfd(0, EFD_CLOEXEC);
		if (efd < 0 || vhu_fe_send_raw(fe, VHU_REQ_SET_VRING_KICK, 0, &i, 8, &efd, 1))
			ok = 0;
		if (efd >= 0)
			close(efd);
	}
	/* The backend has read all of it once it answers a later request. */
	uint64_t f = 0;
	uint32_t got = 0;
	if (fe && (vhu_fe_send_raw(fe, VHU_REQ_GET_FEATURES, 0, NULL, 0, NULL, 0) ||
		   vhu_fe_recv_raw(fe, &got, &f, sizeof(f), 3000) != 8 ||
		   got != VHU_REQ_GET_FEATURES))
		ok = 0;
	vhu_fe_destroy(fe);
	wait_gone();
	fe = vhu_fe_create(&o);
	dev = fe ? wait_dev() : NULL;
	if (!dev || roundtrip(fe, dev, pool, 0) < 0)
		ok = 0;
	vhu_fe_destroy(fe);
	wait_gone();
	printf("%-40s %s\n", "RESET_OWNER then SET_VRING_KICK", ok ? "ok" : "FAILED");
	return !ok;
}

int main(void)
{
	char path[64];
	struct vhu_device_ops ops = { .new_device = new_device,
				      .destroy_device = destroy_device };
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("t", 1024, 2048);
	int fails = 0;

	snprintf(path, sizeof(path), "/tmp/vhu-packed-bad-%d.sock", getpid());
	if (!pool || vhu_driver_register(path, 0) ||
	    vhu_driver_callback_register(path, &ops, NULL) || vhu_driver_start(path))
		return 1;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct vhu_fe_opts o = { .path = path, .queue_pairs = 2, .ring_size = RING,
					 .packed = true };
		struct env e = { 0 };
		struct vhu_pkt *pk[4];
		uint64_t gpa, size;
		int ok = 1;

		e.fe = vhu_fe_create(&o);
		struct vhu_dev *dev = e.fe ? wait_dev() : NULL;
		if (!dev || !(vhu_fe_features(e.fe) & (1ULL << VIRTIO_F_RING_PACKED))) {
			fprintf(stderr, "%s: no packed device\n", cases[c].name);
			vhu_fe_destroy(e.fe);
			fails++;
			continue;
		}
		uint16_t bad = cases[c].rx ? VHU_VRING_RX(0) : VHU_VRING_TX(0);
		e.d = vhu_fe_vring_packed_desc(e.fe, bad);
		e.buf_va = (uint8_t *)vhu_fe_mem(e.fe, 0, &gpa, &size) + size - 65536;
		e.buf = gpa + size - 65536;
		cases[c].make(&e);
		if (cases[c].rx) {
			struct vhu_pkt *p = vhu_pkt_alloc(pool);
			memset(vhu_pkt_append(p, 100), 1, 100);
			if (vhu_enqueue_burst(dev, bad, &p, 1) != 0)
				ok = 0;
			vhu_pkt_free(p);
		} else if (vhu_dequeue_burst(dev, bad, pool, pk, 4) != 0) {
			ok = 0;
		}
		if (!vhu_vring_is_broken(dev, bad))
			ok = 0;
		/* The other queue pair and the other direction still work. */
		if (vhu_vring_is_broken(dev, cases[c].rx ? VHU_VRING_TX(0) : VHU_VRING_RX(0)) ||
		    roundtrip(e.fe, dev, pool, 1) < 0)
			ok = 0;
		printf("%-40s %s\n", cases[c].name, ok ? "ok" : "FAILED");
		fails += !ok;
		vhu_fe_destroy(e.fe);
		wait_gone();
	}
	fails += reset_then_kick(path, pool);
	vhu_driver_unregister(path);
	vhu_loop_stop_thread();
	vhu_pkt_pool_destroy(pool);
	printf("%d passed, %d failed\n", fails ? 0 : 1, fails ? 1 : 0);
	return fails ? 1 : 0;
}
