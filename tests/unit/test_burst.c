/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The public data-path calls of src/backend/burst.c and api.c, on a device
 * whose vrings are set up by hand in fake guest memory: a vring number is
 * checked for range and direction before anything is touched, a broken
 * vring yields nothing, a pending RARP (SEND_RARP) comes first out of the
 * next dequeue and only once, and the errno-returning calls say why.
 * The ring walking itself is test_split.c's and test_packed.c's.
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <sys/eventfd.h>
#include "backend/dev.h"
#include "t.h"
#include "fake_guest.h"

#define QSZ 16
#define RX_DESC 0x0000ull
#define RX_AVAIL 0x1000ull
#define RX_USED 0x2000ull
#define TX_DESC 0x0800ull
#define TX_AVAIL 0x1800ull
#define TX_USED 0x2800ull
#define BUF 0x6000ull
#define HDR ((uint32_t)sizeof(struct virtio_net_hdr_mrg_rxbuf))
#define FEATURES (F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MRG_RXBUF))

static struct vhu_dev dev;

static struct vhu_vq *ring(uint16_t index)
{
	struct vhu_vq *q = fg_vq(index, FEATURES, QSZ);
	bool tx = index & 1;

	q->desc = G(tx ? TX_DESC : RX_DESC, QSZ * sizeof(struct vring_desc));
	q->avail = G(tx ? TX_AVAIL : RX_AVAIL, 4 + 2 * QSZ + 2);
	q->used = G(tx ? TX_USED : RX_USED, 4 + 8 * QSZ + 2);
	q->used_gpa = tx ? TX_USED : RX_USED;
	dev.vq[index] = q;
	return q;
}

/* A fresh device with vrings 0 (receive) and 1 (transmit). */
static void setup(void)
{
	reset_all();
	memset(&dev, 0, sizeof(dev));
	snprintf(dev.name, sizeof(dev.name), "burst#1");
	ring(0);
	ring(1);
	dev.nr_vring = 2;
}

static void post(struct vhu_vq *q, uint16_t head, uint64_t gpa, uint32_t len, bool writable)
{
	q->desc[head] = (struct vring_desc){ gpa, len,
		(uint16_t)(writable ? VRING_DESC_F_WRITE : 0), 0 };
	uint16_t idx = q->avail->idx;
	q->avail->ring[idx % QSZ] = head;
	__atomic_store_n(&q->avail->idx, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}

/* A 60-byte transmit frame (zero header) with payload byte seed. */
static void tx_frame(uint16_t head, uint8_t seed)
{
	uint8_t f[HDR + 60];
	memset(f, 0, HDR);
	memset(f + HDR, seed, 60);
	gw(BUF + head * 0x100ull, f, sizeof(f));
	post(dev.vq[1], head, BUF + head * 0x100ull, sizeof(f), false);
}

static void test_range_and_direction(void)
{
	struct vhu_pkt *pk[8];

	setup();
	tx_frame(0, 1);
	/* receive vring, out of range, no device, no pool, n == 0: nothing
	 * taken (the transmit vring's used index stays 0) */
	CHECK_EQ(vhu_dequeue_burst(&dev, 0, pool, pk, 8), 0);
	CHECK_EQ(vhu_dequeue_burst(&dev, 3, pool, pk, 8), 0);
	CHECK_EQ(vhu_dequeue_burst(&dev, VHU_MAX_VRINGS + 1, pool, pk, 8), 0);
	CHECK_EQ(vhu_dequeue_burst(NULL, 1, pool, pk, 8), 0);
	CHECK_EQ(vhu_dequeue_burst(&dev, 1, NULL, pk, 8), 0);
	CHECK_EQ(vhu_dequeue_burst(&dev, 1, pool, pk, 0), 0);
	CHECK_EQ(dev.vq[1]->used->idx, 0);
	CHECK_EQ(vhu_vring_avail_entries(&dev, 1), 1);
	CHECK_EQ(vhu_vring_avail_count(&dev, 1, 8), 1);
	CHECK_EQ(vhu_vring_avail_count(&dev, 1, 0), 0);
	CHECK_EQ(vhu_vring_avail_count(&dev, VHU_MAX_VRINGS, 8), 0);
	CHECK_EQ(vhu_vring_avail_count(NULL, 1, 8), 0);
	CHECK_EQ(vhu_dequeue_burst(&dev, 1, pool, pk, 8), 1);
	CHECK_EQ(pk[0]->pkt_len, 60);
	CHECK_EQ(((uint8_t *)vhu_pkt_data(pk[0]))[0], 1);
	CHECK_EQ(dev.vq[1]->used->idx, 1);
	CHECK_EQ(vhu_vring_avail_entries(&dev, 1), 0);
	vhu_pkt_free(pk[0]);
	/* a split ring's count, cut at the caller's max */
	tx_frame(1, 2);
	tx_frame(2, 3);
	CHECK_EQ(vhu_vring_avail_entries(&dev, 1), 2);
	CHECK_EQ(vhu_vring_avail_count(&dev, 1, 1), 1);
	CHECK_EQ(vhu_vring_avail_count(&dev, 1, 8), 2);
	CHECK_EQ(vhu_dequeue_burst(&dev, 1, pool, pk, 8), 2);
	CHECK_EQ(((uint8_t *)vhu_pkt_data(pk[1]))[0], 3);
	vhu_pkt_free(pk[1]);

	/* enqueue: only on even vrings */
	post(dev.vq[0], 0, BUF + 0x2000, 2048, true);
	CHECK_EQ(vhu_enqueue_burst(&dev, 1, pk, 1), 0);
	CHECK_EQ(vhu_enqueue_burst(&dev, 2, pk, 1), 0);
	CHECK_EQ(vhu_enqueue_burst(NULL, 0, pk, 1), 0);
	CHECK_EQ(dev.vq[0]->used->idx, 0);
	CHECK_EQ(vhu_enqueue_burst(&dev, 0, pk, 1), 1);
	CHECK_EQ(dev.vq[0]->used->idx, 1);
	CHECK_EQ(dev.vq[0]->used->ring[0].len, HDR + 60);
	vhu_pkt_free(pk[0]);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

static void test_broken(void)
{
	struct vhu_pkt *pk[8];

	setup();
	CHECK(!vhu_vring_is_broken(&dev, 1));
	/* a head past the ring breaks the transmit vring */
	dev.vq[1]->avail->ring[0] = QSZ + 3;
	__atomic_store_n(&dev.vq[1]->avail->idx, 1, __ATOMIC_RELEASE);
	CHECK_EQ(vhu_dequeue_burst(&dev, 1, pool, pk, 8), 0);
	CHECK(vhu_vring_is_broken(&dev, 1));
	CHECK(!vhu_vring_is_broken(&dev, 0));
	struct vhu_vring_stats st;
	CHECK_EQ(vhu_vring_get_stats(&dev, 1, &st), 0);
	CHECK_EQ(st.errors, 1);
	/* a good frame later: still nothing, nothing written */
	tx_frame(1, 2);
	CHECK_EQ(vhu_dequeue_burst(&dev, 1, pool, pk, 8), 0);
	CHECK_EQ(dev.vq[1]->used->idx, 0);
	CHECK_EQ(vhu_vring_avail_entries(&dev, 1), 0);
	/* the receive vring of the same device still works */
	struct vhu_pkt *p = mkpkt(60, 5);
	post(dev.vq[0], 0, BUF + 0x2000, 2048, true);
	CHECK_EQ(vhu_enqueue_burst(&dev, 0, &p, 1), 1);
	vhu_pkt_free(p);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

static void test_rarp(void)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	struct vhu_pkt *pk[8];

	setup();
	memcpy(dev.mac, mac, 6);
	dev.rarp_pending = 1;
	tx_frame(0, 7);
	CHECK_EQ(vhu_dequeue_burst(&dev, 1, pool, pk, 8), 2);
	const uint8_t *f = vhu_pkt_data(pk[0]);
	CHECK_EQ(pk[0]->pkt_len, 60);
	CHECK_MEM(f + 6, mac, 6);                /* from the guest's MAC */
	CHECK(f[12] == 0x80 && f[13] == 0x35);   /* RARP */
	CHECK_EQ(f[21], 3);                      /* reverse request */
	CHECK_EQ(((uint8_t *)vhu_pkt_data(pk[1]))[0], 7);
	CHECK_EQ(dev.rarp_pending, 0);
	vhu_pkt_free_bulk(pk, 2);
	/* once only */
	tx_frame(1, 8);
	CHECK_EQ(vhu_dequeue_burst(&dev, 1, pool, pk, 8), 1);
	CHECK_EQ(((uint8_t *)vhu_pkt_data(pk[0]))[0], 8);
	vhu_pkt_free(pk[0]);
	/* an inactive vring does not eat the announcement */
	dev.rarp_pending = 1;
	dev.vq[1]->active = false;
	CHECK_EQ(vhu_dequeue_burst(&dev, 1, pool, pk, 8), 0);
	CHECK_EQ(dev.rarp_pending, 1);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

static void test_errno(void)
{
	struct vhu_vring_stats st;

	setup();
	CHECK_EQ(vhu_vring_get_kickfd(&dev, 1), -ENOENT);   /* no kick fd yet */
	CHECK_EQ(vhu_vring_get_kickfd(&dev, 5), -EINVAL);   /* no such vring */
	CHECK_EQ(vhu_vring_get_kickfd(NULL, 1), -EINVAL);
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK(fd >= 0);
	dev.vq[1]->kickfd = fd;
	CHECK_EQ(vhu_vring_get_kickfd(&dev, 1), fd);
	dev.vq[1]->kickfd = -1;
	close(fd);
	CHECK_EQ(vhu_vring_get_stats(&dev, 7, &st), -ENOENT);
	CHECK_EQ(vhu_vring_enable_guest_notification(&dev, 7, 1), -EINVAL);
	CHECK_EQ(vhu_vring_enable_guest_notification(&dev, 1, 1), 0);
	CHECK(dev.vq[1]->guest_notify);
}

int main(void)
{
	t_init();
	mem_setup();
	RUN(test_range_and_direction);
	RUN(test_broken);
	RUN(test_rarp);
	RUN(test_errno);
	free_vqs();
	vhu_memmap_free(mem);
	vhu_pkt_pool_destroy(pool);
	return t_done("test_burst");
}
