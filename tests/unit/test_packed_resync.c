/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhu_packed_resync: after a backend restart QEMU sends a stale packed
 * ring position; the ring's own flags must give back the real one, and a
 * ring that does not read unambiguously must leave the frontend's alone.
 *
 * A small model plays both sides on a bare descriptor array: the driver
 * posts single-slot buffers at its position, the device consumes them in
 * order and writes used descriptors, exactly as the flags move in a live
 * ring.
 */
#include <stdint.h>
#include <linux/virtio_ring.h>
#include "backend/dev.h"
#include "vq/vq.h"
#include "t.h"

#define FA ((uint16_t)(1u << VRING_PACKED_DESC_F_AVAIL))
#define FU ((uint16_t)(1u << VRING_PACKED_DESC_F_USED))

struct model {
	struct vring_packed_desc *ring;
	uint16_t n;
	uint16_t drv;    /* driver's next slot */
	bool drv_wrap;
	uint16_t dev;    /* device's next slot (avail and used: in order) */
	bool dev_wrap;
	uint32_t outstanding;
};

static void model_init(struct model *m, struct vring_packed_desc *ring, uint16_t n)
{
	memset(ring, 0, sizeof(*ring) * n); /* a driver zeroes a fresh ring */
	*m = (struct model){ .ring = ring, .n = n, .drv_wrap = true, .dev_wrap = true };
}

static void post(struct model *m, uint32_t k)
{
	for (uint32_t i = 0; i < k && m->outstanding < m->n; i++) {
		struct vring_packed_desc *d = &m->ring[m->drv];
		d->addr = 0x1000;
		d->len = 64;
		d->id = m->drv;
		d->flags = m->drv_wrap ? FA : FU;
		m->outstanding++;
		if (++m->drv == m->n) {
			m->drv = 0;
			m->drv_wrap = !m->drv_wrap;
		}
	}
}

static void consume(struct model *m, uint32_t k)
{
	for (uint32_t i = 0; i < k && m->outstanding; i++) {
		m->ring[m->dev].flags = m->dev_wrap ? (FA | FU) : 0;
		m->outstanding--;
		if (++m->dev == m->n) {
			m->dev = 0;
			m->dev_wrap = !m->dev_wrap;
		}
	}
}

static struct vhu_dev dev;

static struct vhu_vq *vq_for(struct model *m)
{
	struct vhu_vq *vq = vhu_vq_new(&dev, 1);
	vq->desc_packed = m->ring;
	vq->size = m->n;
	vq->features = 1ULL << VIRTIO_F_RING_PACKED;
	return vq;
}

/* Runs `steps` random post/consume rounds, then restarts the backend at
 * the stale position 0/wrap 1 and checks resync lands on the device's. */
static void random_case(uint16_t n, unsigned steps, unsigned seed)
{
	struct vring_packed_desc ring[512];
	struct model m;
	struct vhu_vq *vq;

	srand(seed);
	model_init(&m, ring, n);
	for (unsigned s = 0; s < steps; s++) {
		post(&m, (uint32_t)rand() % (n + 1u));
		consume(&m, (uint32_t)rand() % (n + 1u));
	}
	vq = vq_for(&m);
	vhu_spin_lock(&vq->lock);
	vq->last_avail_idx = vq->last_used_idx = 0;
	vq->avail_wrap = vq->used_wrap = true;
	bool moved = vhu_packed_resync(vq);
	CHECK_EQ(vq->last_avail_idx, m.dev);
	CHECK_EQ(vq->avail_wrap, m.dev_wrap);
	CHECK_EQ(vq->last_used_idx, m.dev);
	CHECK_EQ(vq->used_wrap, m.dev_wrap);
	CHECK(moved == !(m.dev == 0 && m.dev_wrap));
	/* Started where the frontend is right, it stays. */
	CHECK(!vhu_packed_resync(vq));
	CHECK_EQ(vq->last_avail_idx, m.dev);
	vhu_spin_unlock(&vq->lock);
	vhu_vq_free(vq);
}

static void test_random(void)
{
	static const uint16_t sizes[] = { 1, 2, 3, 4, 16, 255, 256, 512 };
	unsigned seed = 1;
	for (unsigned s = 0; s < VHU_ARRAY_SIZE(sizes); s++)
		for (unsigned steps = 0; steps < 40; steps++)
			random_case(sizes[s], steps, seed++);
}

/* The edge states by hand: fresh, empty after whole laps, full. */
static void test_edges(void)
{
	struct vring_packed_desc ring[8];
	struct model m;
	struct vhu_vq *vq;

	/* Fresh ring, nothing posted: position 0, wrap 1. */
	model_init(&m, ring, 8);
	vq = vq_for(&m);
	vhu_spin_lock(&vq->lock);
	vq->avail_wrap = vq->used_wrap = true;
	CHECK(!vhu_packed_resync(vq));
	CHECK_EQ(vq->last_avail_idx, 0);
	/* Exactly one lap done and drained: position 0, wrap 0. */
	post(&m, 8);
	consume(&m, 8);
	CHECK(vhu_packed_resync(vq));
	CHECK_EQ(vq->last_avail_idx, 0);
	CHECK_EQ(vq->avail_wrap, false);
	/* Full ring posted after 3 slots of the second lap. */
	post(&m, 3);
	consume(&m, 3);
	post(&m, 8);
	vq->last_avail_idx = 0;
	vq->avail_wrap = true;
	CHECK(vhu_packed_resync(vq));
	CHECK_EQ(vq->last_avail_idx, 3);
	CHECK_EQ(vq->avail_wrap, false);
	vhu_spin_unlock(&vq->lock);
	vhu_vq_free(vq);
}

/* A ring that does not read as single slots consumed in order (a chain's
 * second slot left as posted, or a hostile guest's flags): no position
 * fits, the frontend's is kept and a WARN says so. */
static void test_ambiguous(void)
{
	struct vring_packed_desc ring[16];
	struct model m;
	struct vhu_vq *vq;

	model_init(&m, ring, 16);
	post(&m, 10);
	consume(&m, 6);
	ring[2].flags = FA; /* looks posted again in the middle of used ones */
	vq = vq_for(&m);
	vhu_spin_lock(&vq->lock);
	vq->last_avail_idx = 0;
	vq->avail_wrap = true;
	unsigned logs = t_log_count;
	CHECK(!vhu_packed_resync(vq));
	CHECK_EQ(vq->last_avail_idx, 0);
	CHECK_EQ(vq->avail_wrap, true);
	CHECK(t_log_count > logs);
	/* Garbage flags everywhere: the same, and nothing is read out of
	 * bounds (ASan). */
	for (unsigned i = 0; i < 16; i++)
		ring[i].flags = (uint16_t)(i * 0x9e37);
	CHECK(!vhu_packed_resync(vq) || vq->last_avail_idx < 16);
	vhu_spin_unlock(&vq->lock);
	vhu_vq_free(vq);
}

int main(void)
{
	t_init();
	snprintf(dev.name, sizeof(dev.name), "resync#0");
	test_random();
	test_edges();
	test_ambiguous();
	return t_done("test_packed_resync");
}
