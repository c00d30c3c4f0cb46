/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split-ring data path against fake guest memory (fake_guest.h). The test
 * plays the guest driver by writing descriptors and avail entries
 * directly, then checks packets, the used ring and the counters.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include "mem/memmap.h"
#include "net/net.h"
#include "vq/inflight.h"
#include "vq/vq.h"
#include "ref_csum.h"
#include "t.h"
#include "fake_guest.h"

#define QSZ 16
/* What a guest negotiates for its transmit offloads (the device side). */
#define F_HOST_OL (F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) | \
		   F(VIRTIO_NET_F_HOST_ECN) | F(VHU_NET_F_HOST_USO))
#define F_BASE (F(VIRTIO_F_VERSION_1) | F(VIRTIO_RING_F_INDIRECT_DESC) | F_HOST_OL)
#define HDR 12u

struct ring_gpa {
	uint64_t desc, avail, used;
};
static const struct ring_gpa RX_RING = { 0x0000, 0x1000, 0x2000 };
static const struct ring_gpa TX_RING = { 0x0800, 0x1800, 0x2800 };
#define IND 0x3000ull /* indirect tables: 0x3000 - 0x5fff */
#define BUF 0x6000ull /* buffers in region A from here */

/* A started, enabled vring set up by hand (what SET_VRING_* would do). */
static struct vhu_vq *mkq(uint16_t index, uint64_t features, uint16_t size)
{
	const struct ring_gpa *r = (index & 1) ? &TX_RING : &RX_RING;
	struct vhu_vq *q = fg_vq(index, features, size);

	q->desc = G(r->desc, (uint64_t)size * sizeof(struct vring_desc));
	q->avail = G(r->avail, 4 + 2ull * size + 2);
	q->used = G(r->used, 4 + 8ull * size + 2);
	q->used_gpa = r->used;
	return q;
}

/* ---- guest driver ------------------------------------------------------ */

static void desc(struct vhu_vq *q, uint16_t i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	q->desc[i].addr = addr;
	q->desc[i].len = len;
	q->desc[i].flags = flags;
	q->desc[i].next = next;
}

static void ind(uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
		uint16_t flags, uint16_t next)
{
	struct vring_desc *d = G(table + i * 16ull, 16);
	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static void push(struct vhu_vq *q, uint16_t head)
{
	uint16_t idx = q->avail->idx;
	q->avail->ring[idx & (q->size - 1)] = head;
	__atomic_store_n(&q->avail->idx, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}

static uint16_t used_idx(const struct vhu_vq *q)
{
	return __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
}

/* One-descriptor transmit packet: header + payload at gpa. */
static void tx_put(struct vhu_vq *q, uint16_t head, uint64_t gpa,
		   const struct virtio_net_hdr_mrg_rxbuf *h, const uint8_t *pay, uint32_t plen)
{
	gw(gpa, h, q->hdr_len);
	gw(gpa + q->hdr_len, pay, plen);
	desc(q, head, gpa, q->hdr_len + plen, 0, 0);
	push(q, head);
}

/* Writable one-descriptor receive buffer. */
static void rx_buf(struct vhu_vq *q, uint16_t head, uint64_t gpa, uint32_t len)
{
	desc(q, head, gpa, len, VRING_DESC_F_WRITE, 0);
	push(q, head);
}

static struct virtio_net_hdr_mrg_rxbuf rx_hdr(uint64_t gpa)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	gr(gpa, &h, sizeof(h));
	return h;
}

/* ---- backend calls, under the vring lock ------------------------------ */

static uint16_t deq_pool(struct vhu_vq *q, struct vhu_pkt_pool *pl, struct vhu_pkt **pkts,
			 uint16_t n)
{
	vhu_spin_lock(&q->lock);
	uint16_t r = vhu_split_dequeue(q, pl, pkts, n);
	vhu_spin_unlock(&q->lock);
	return r;
}

static uint16_t deq(struct vhu_vq *q, struct vhu_pkt **pkts, uint16_t n)
{
	return deq_pool(q, pool, pkts, n);
}

static uint16_t enq(struct vhu_vq *q, struct vhu_pkt *const *pkts, uint16_t n)
{
	vhu_spin_lock(&q->lock);
	uint16_t r = vhu_split_enqueue(q, pkts, n);
	vhu_spin_unlock(&q->lock);
	return r;
}

static enum vhu_chain_err chain(struct vhu_vq *q, uint16_t head, bool wr, uint32_t max,
				uint32_t *niov, uint32_t *total)
{
	vhu_spin_lock(&q->lock);
	enum vhu_chain_err e = vhu_split_chain(q, head, wr, q->iov, niov, max, total);
	vhu_spin_unlock(&q->lock);
	return e;
}

/* After malformed input: the vring is broken, stays so, and data-path
 * calls on it return 0 without touching anything. */
static void expect_broken(struct vhu_vq *q, int line)
{
	struct vhu_pkt *pk[8];
	unsigned f0 = t_fail;

	CHECK(q->broken);
	CHECK(!q->active);
	CHECK(q->stats.errors >= 1);
	uint16_t u = used_idx(q);
	if (q->index & 1) {
		CHECK_EQ(deq(q, pk, 8), 0);
	} else {
		struct vhu_pkt *p = mkpkt(60, 9);
		CHECK_EQ(enq(q, &p, 1), 0);
		vhu_pkt_free(p);
	}
	CHECK(q->broken);
	CHECK_EQ(used_idx(q), u);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
	if (t_fail != f0)
		fprintf(stderr, "  (expect_broken called from line %d)\n", line);
}
#define EXPECT_BROKEN(q) expect_broken(q, __LINE__)

/* ---- transmit (guest -> host) ------------------------------------------ */

static void test_tx_one_desc(void)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct vhu_pkt *pk[8];
	uint8_t pay[100];

	reset_all();
	struct vhu_vq *q = mkq(1, F_BASE, QSZ);
	CHECK_EQ(q->hdr_len, HDR);
	memset(&h, 0, sizeof(h));
	pattern(pay, sizeof(pay), 1);
	tx_put(q, 0, BUF, &h, pay, 100);

	CHECK_EQ(deq(q, pk, 8), 1);
	CHECK_EQ(pk[0]->pkt_len, 100);
	CHECK_EQ(pk[0]->data_len, 100);
	CHECK_EQ(pk[0]->nb_segs, 1);
	CHECK(pk[0]->next == NULL);
	CHECK_MEM(vhu_pkt_data(pk[0]), pay, 100);
	CHECK_EQ(pk[0]->ol.flags, 0);
	CHECK_EQ(pk[0]->ol.gso_type, 0);
	CHECK_EQ(used_idx(q), 1);
	CHECK_EQ(q->used->ring[0].id, 0);
	CHECK_EQ(q->used->ring[0].len, 0);
	CHECK_EQ(q->last_avail_idx, 1);
	CHECK_EQ(q->last_used_idx, 1);
	CHECK_EQ(q->stats.packets, 1);
	CHECK_EQ(q->stats.bytes, 100);
	CHECK_EQ(q->stats.drops, 0);
	CHECK_EQ(q->stats.errors, 0);
	CHECK(!q->broken);
	CHECK_EQ(deq(q, pk + 1, 7), 0);
	vhu_pkt_free(pk[0]);

	/* a second buffer, not at the next id (the public burst calls'
	 * checks are in test_burst.c) */
	pattern(pay, sizeof(pay), 2);
	tx_put(q, 5, BUF + 0x400, &h, pay, 60);
	CHECK_EQ(deq(q, pk, 8), 1);
	CHECK(pkt_eq(pk[0], pay, 60));
	CHECK_EQ(used_idx(q), 2);
	CHECK_EQ(q->used->ring[1].id, 5);
	vhu_pkt_free(pk[0]);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

static void test_tx_chains(void)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct vhu_pkt *pk[8];
	uint8_t p1[300], p2[HDR + 50], p3[50];

	reset_all();
	struct vhu_vq *q = mkq(1, F_BASE, QSZ);

	/* header descriptor + data descriptor */
	memset(&h, 0, sizeof(h));
	pattern(p1, sizeof(p1), 3);
	gw(BUF, &h, HDR);
	gw(BUF + 0x100, p1, 300);
	desc(q, 3, BUF, HDR, VRING_DESC_F_NEXT, 7);
	desc(q, 7, BUF + 0x100, 300, 0, 0);
	push(q, 3);

	/* header cut across two descriptors (4 + 8 bytes), offload fields */
	memset(&h, 0, sizeof(h));
	h.hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.hdr.csum_start = htole16(10);
	h.hdr.csum_offset = htole16(6);
	memcpy(p2, &h, HDR);
	pattern(p2 + HDR, 50, 4);
	gw(BUF + 0x1000, p2, 4);
	gw(BUF + 0x2000, p2 + 4, sizeof(p2) - 4);
	desc(q, 5, BUF + 0x1000, 4, VRING_DESC_F_NEXT, 6);
	desc(q, 6, BUF + 0x2000, sizeof(p2) - 4, 0, 0);
	push(q, 5);

	/* header alone, then two data descriptors, one of them empty */
	memset(&h, 0, sizeof(h));
	pattern(p3, sizeof(p3), 5);
	gw(BUF + 0x3000, &h, HDR);
	gw(BUF + 0x3100, p3, 20);
	gw(BUF + 0x3200, p3 + 20, 30);
	desc(q, 8, BUF + 0x3000, HDR, VRING_DESC_F_NEXT, 9);
	desc(q, 9, BUF + 0x3100, 20, VRING_DESC_F_NEXT, 11);
	desc(q, 11, 0xdead0000, 0, VRING_DESC_F_NEXT, 10); /* empty: address unused */
	desc(q, 10, BUF + 0x3200, 30, 0, 0);
	push(q, 8);

	CHECK_EQ(deq(q, pk, 2), 2);
	CHECK(pkt_eq(pk[0], p1, 300));
	CHECK(pkt_eq(pk[1], p2 + HDR, 50));
	CHECK_EQ(pk[1]->ol.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(pk[1]->ol.csum_start, 10);
	CHECK_EQ(pk[1]->ol.csum_offset, 6);
	CHECK_EQ(used_idx(q), 2);
	CHECK_EQ(deq(q, pk + 2, 8), 1);
	CHECK(pkt_eq(pk[2], p3, 50));
	CHECK_EQ(used_idx(q), 3);
	CHECK_EQ(q->used->ring[0].id, 3);
	CHECK_EQ(q->used->ring[1].id, 5);
	CHECK_EQ(q->used->ring[2].id, 8);
	CHECK_EQ(q->used->ring[2].len, 0);
	CHECK_EQ(q->stats.packets, 3);
	CHECK_EQ(q->stats.bytes, 400);
	CHECK(!q->broken);
	vhu_pkt_free_bulk(pk, 3);

	/* a chain exactly as long as the ring is fine */
	reset_all();
	q = mkq(1, F_BASE, QSZ);
	uint8_t p4[150];
	pattern(p4, sizeof(p4), 6);
	memset(&h, 0, sizeof(h));
	gw(BUF, &h, HDR);
	desc(q, 0, BUF, HDR, VRING_DESC_F_NEXT, 1);
	for (uint16_t i = 1; i < QSZ; i++) {
		gw(BUF + 0x100 * i, p4 + 10 * (i - 1), 10);
		desc(q, i, BUF + 0x100 * i, 10, i + 1 < QSZ ? VRING_DESC_F_NEXT : 0,
		     (uint16_t)(i + 1));
	}
	push(q, 0);
	CHECK_EQ(deq(q, pk, 8), 1);
	CHECK(pkt_eq(pk[0], p4, 150));
	CHECK(!q->broken);
	vhu_pkt_free(pk[0]);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

static void test_tx_indirect(void)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct vhu_pkt *pk[8];
	uint8_t p1[100], p2[0x180];

	reset_all();
	struct vhu_vq *q = mkq(1, F_BASE, QSZ);
	memset(&h, 0, sizeof(h));
	pattern(p1, sizeof(p1), 7);
	gw(BUF, &h, HDR);
	gw(BUF + 0x100, p1, 64);
	gw(BUF + 0x200, p1 + 64, 36);
	/* table order 0 -> 2 -> 1 */
	ind(IND, 0, BUF, HDR, VRING_DESC_F_NEXT, 2);
	ind(IND, 2, BUF + 0x100, 64, VRING_DESC_F_NEXT, 1);
	ind(IND, 1, BUF + 0x200, 36, 0, 0);
	/* WRITE on the descriptor naming the table is ignored (virtio 2.7.5.3.2) */
	desc(q, 2, IND, 3 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	push(q, 2);

	/* table in region B, its one buffer straddling A|B */
	pattern(p2, sizeof(p2), 8);
	gw(0xff00, &h, HDR);
	gw(0xff00 + HDR, p2, sizeof(p2));
	ind(B_GPA + 0x100, 0, 0xff00, HDR + sizeof(p2), 0, 0);
	desc(q, 4, B_GPA + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
	push(q, 4);

	CHECK_EQ(deq(q, pk, 8), 2);
	CHECK(pkt_eq(pk[0], p1, 100));
	CHECK(pkt_eq(pk[1], p2, sizeof(p2)));
	CHECK_EQ(used_idx(q), 2);
	CHECK_EQ(q->used->ring[0].id, 2);
	CHECK_EQ(q->used->ring[1].id, 4);
	CHECK(!q->broken);
	vhu_pkt_free_bulk(pk, 2);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

static void test_tx_straddle(void)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct vhu_pkt *pk[8];
	uint8_t pay[200];
	uint32_t niov = 0, total = 0;

	reset_all();
	struct vhu_vq *q = mkq(1, F_BASE, QSZ);
	memset(&h, 0, sizeof(h));
	h.hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.hdr.csum_start = htole16(20);
	h.hdr.csum_offset = htole16(16);
	pattern(pay, sizeof(pay), 9);
	/* header itself straddles: 6 bytes in A, 6 in B */
	tx_put(q, 0, 0xfffa, &h, pay, 200);

	CHECK_EQ(chain(q, 0, false, VHU_MAX_IOV, &niov, &total), VHU_CHAIN_OK);
	CHECK_EQ(niov, 2);
	CHECK_EQ(total, HDR + 200);
	CHECK(q->iov[0].base == mem->regions[0].hva + 0xfffa);
	CHECK_EQ(q->iov[0].len, 6);
	CHECK_EQ(q->iov[0].gpa, 0xfffa);
	CHECK(q->iov[1].base == mem->regions[1].hva);
	CHECK_EQ(q->iov[1].len, HDR + 200 - 6);
	CHECK_EQ(q->iov[1].gpa, B_GPA);

	CHECK_EQ(deq(q, pk, 8), 1);
	CHECK(pkt_eq(pk[0], pay, 200));
	CHECK_EQ(pk[0]->ol.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(pk[0]->ol.csum_start, 20);
	CHECK_EQ(pk[0]->ol.csum_offset, 16);
	vhu_pkt_free(pk[0]);
	CHECK(!q->broken);
}

/* vhu_split_chain on its own: pieces, totals, the iov limit. */
static void test_chain_direct(void)
{
	uint32_t niov = 0, total = 0;

	reset_all();
	struct vhu_vq *q = mkq(0, F_BASE, QSZ);
	desc(q, 0, BUF, 100, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	desc(q, 1, 0xff80, 0x100, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2); /* straddles */
	desc(q, 2, BUF + 0x1000, 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	desc(q, 3, B_GPA + 0x1000, 50, VRING_DESC_F_WRITE, 0);
	CHECK_EQ(chain(q, 0, true, VHU_MAX_IOV, &niov, &total), VHU_CHAIN_OK);
	CHECK_EQ(niov, 4);
	CHECK_EQ(total, 100 + 0x100 + 50);
	CHECK_EQ(q->iov[0].len, 100);
	CHECK_EQ(q->iov[0].gpa, BUF);
	CHECK_EQ(q->iov[1].len, 0x80);
	CHECK_EQ(q->iov[1].gpa, 0xff80);
	CHECK_EQ(q->iov[2].len, 0x80);
	CHECK_EQ(q->iov[2].gpa, B_GPA);
	CHECK(q->iov[2].base == mem->regions[1].hva);
	CHECK_EQ(q->iov[3].len, 50);
	CHECK(q->iov[3].base == mem->regions[1].hva + 0x1000);

	/* more pieces than max_iov: legal, dropped, not broken */
	CHECK_EQ(chain(q, 0, true, 3, &niov, &total), VHU_CHAIN_DROP);
	CHECK(niov <= 3);
	CHECK(!q->broken);
	/* starting mid-chain is just another chain */
	CHECK_EQ(chain(q, 3, true, VHU_MAX_IOV, &niov, &total), VHU_CHAIN_OK);
	CHECK_EQ(niov, 1);
	CHECK_EQ(total, 50);

	/* more than 1 MiB of buffers: dropped, not broken */
	for (uint16_t i = 4; i < QSZ; i++)
		desc(q, i, B_GPA, 128 * 1024, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
		     (uint16_t)(i + 1));
	q->desc[QSZ - 1].flags = VRING_DESC_F_WRITE;
	CHECK_EQ(chain(q, 4, true, VHU_MAX_IOV, &niov, &total), VHU_CHAIN_DROP);
	CHECK(!q->broken);

	/* direction mismatch is malformed */
	CHECK_EQ(chain(q, 0, false, VHU_MAX_IOV, &niov, &total), VHU_CHAIN_BAD);
	CHECK(q->broken);
	CHECK_EQ(q->stats.errors, 1);
}

static void test_tx_multiseg(void)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct vhu_pkt *pk[8];
	uint8_t pay[200], out[200];
	struct vhu_pkt_pool *small = vhu_pkt_pool_create("small", 8, 64);
	REQUIRE(small);
	REQUIRE(vhu_pkt_pool_data_room(small) == 64);

	reset_all();
	struct vhu_vq *q = mkq(1, F_BASE, QSZ);
	memset(&h, 0, sizeof(h));
	pattern(pay, sizeof(pay), 10);
	tx_put(q, 0, 0xffc0, &h, pay, 200); /* and straddling */
	CHECK_EQ(deq_pool(q, small, pk, 1), 1);
	CHECK_EQ(pk[0]->pkt_len, 200);
	CHECK_EQ(pk[0]->nb_segs, 4);
	uint32_t segs = 0, sum = 0;
	for (struct vhu_pkt *s = pk[0]; s; s = s->next) {
		segs++;
		sum += s->data_len;
		CHECK(s->pool == small);
	}
	CHECK_EQ(segs, 4);
	CHECK_EQ(sum, 200);
	CHECK_EQ(vhu_pkt_read(pk[0], 0, out, 200), 200);
	CHECK_MEM(out, pay, 200);
	CHECK_EQ(vhu_pkt_pool_avail(small), 4);
	vhu_pkt_free(pk[0]);
	CHECK_EQ(vhu_pkt_pool_avail(small), 8);
	vhu_pkt_pool_destroy(small);
}

static void test_tx_pool_short(void)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct vhu_pkt *pk[8];
	uint8_t pay[200];
	struct vhu_pkt_pool *two = vhu_pkt_pool_create("two", 2, 2048);
	struct vhu_pkt_pool *three = vhu_pkt_pool_create("three", 3, 64);
	REQUIRE(two && three);

	reset_all();
	struct vhu_vq *q = mkq(1, F_BASE, QSZ);
	memset(&h, 0, sizeof(h));
	for (uint16_t i = 0; i < 3; i++) {
		pattern(pay, 100, (uint8_t)(20 + i));
		tx_put(q, i, BUF + 0x400 * i, &h, pay, 100);
	}
	/* two free segments: the burst shrinks to two, the third waits */
	CHECK_EQ(deq_pool(q, two, pk, 8), 2);
	CHECK_EQ(used_idx(q), 2);
	CHECK_EQ(q->last_avail_idx, 2);
	/* pool empty: nothing taken, counted as a drop */
	CHECK_EQ(deq_pool(q, two, pk + 2, 8), 0);
	CHECK_EQ(used_idx(q), 2);
	CHECK_EQ(q->last_avail_idx, 2);
	vhu_pkt_free_bulk(pk, 2);
	CHECK_EQ(deq_pool(q, two, pk, 8), 1);
	pattern(pay, 100, 22);
	CHECK(pkt_eq(pk[0], pay, 100));
	vhu_pkt_free(pk[0]);
	CHECK_EQ(vhu_pkt_pool_avail(two), 2);
	CHECK(!q->broken);

	/* segments run out in the middle of a packet: that packet is
	 * dropped and completed, the next one still goes through */
	reset_all();
	q = mkq(1, F_BASE, QSZ);
	pattern(pay, 200, 30);
	tx_put(q, 0, BUF, &h, pay, 200); /* needs 4 segments of 64 */
	pattern(pay, 50, 31);
	tx_put(q, 1, BUF + 0x400, &h, pay, 50);
	CHECK_EQ(deq_pool(q, three, pk, 8), 1);
	CHECK(pkt_eq(pk[0], pay, 50));
	CHECK_EQ(pk[0]->nb_segs, 1);
	CHECK_EQ(q->stats.drops, 1);
	CHECK_EQ(used_idx(q), 2);
	vhu_pkt_free(pk[0]);
	CHECK_EQ(vhu_pkt_pool_avail(three), 3);
	CHECK(!q->broken);
	vhu_pkt_pool_destroy(two);
	vhu_pkt_pool_destroy(three);
}

/* Indices wrap at 65536 and the ring wraps at its size within one burst. */
static void test_tx_wrap(void)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct vhu_pkt *pk[8];
	uint8_t pay[40];

	reset_all();
	struct vhu_vq *q = mkq(1, F_BASE, QSZ);
	q->last_avail_idx = q->last_used_idx = 0xfffe;
	q->avail->idx = 0xfffe;
	q->used->idx = 0xfffe;
	memset(&h, 0, sizeof(h));
	for (uint16_t i = 0; i < 4; i++) {
		pattern(pay, 40, (uint8_t)(40 + i));
		tx_put(q, (uint16_t)(9 + i), BUF + 0x100 * i, &h, pay, 40);
	}
	CHECK_EQ(deq(q, pk, 8), 4);
	CHECK_EQ(used_idx(q), 2);
	CHECK_EQ(q->last_avail_idx, 2);
	CHECK_EQ(q->used->ring[14].id, 9);
	CHECK_EQ(q->used->ring[15].id, 10);
	CHECK_EQ(q->used->ring[0].id, 11);
	CHECK_EQ(q->used->ring[1].id, 12);
	for (uint16_t i = 0; i < 4; i++) {
		pattern(pay, 40, (uint8_t)(40 + i));
		CHECK(pkt_eq(pk[i], pay, 40));
	}
	vhu_pkt_free_bulk(pk, 4);
	CHECK(!q->broken);

	/* exactly a full ring available is fine */
	for (uint16_t i = 0; i < QSZ; i++)
		tx_put(q, i, BUF + 0x100 * i, &h, pay, 40);
	struct vhu_pkt *many[QSZ];
	CHECK_EQ(deq(q, many, QSZ), QSZ);
	CHECK_EQ(used_idx(q), 2 + QSZ);
	vhu_pkt_free_bulk(many, QSZ);
	CHECK(!q->broken);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

/* Without VERSION_1 and MRG_RXBUF the header is 10 bytes. */
static void test_tx_legacy_hdr(void)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct vhu_pkt *pk[8];
	uint8_t pay[50];

	reset_all();
	struct vhu_vq *q = mkq(1, F(VIRTIO_RING_F_INDIRECT_DESC) | F(VIRTIO_NET_F_CSUM), QSZ);
	CHECK_EQ(q->hdr_len, 10);
	memset(&h, 0, sizeof(h));
	h.hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.hdr.csum_start = htole16(14);
	h.hdr.csum_offset = htole16(4);
	pattern(pay, sizeof(pay), 50);
	tx_put(q, 0, BUF, &h, pay, 50);
	CHECK_EQ(deq(q, pk, 8), 1);
	CHECK(pkt_eq(pk[0], pay, 50));
	CHECK_EQ(pk[0]->ol.csum_start, 14);
	CHECK_EQ(pk[0]->ol.csum_offset, 4);
	vhu_pkt_free(pk[0]);
}

/* Legal but unusable chains are completed and dropped, not fatal. */
static void test_tx_drop_chains(void)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct vhu_pkt *pk[8];
	uint8_t pay[60];

	reset_all();
	struct vhu_vq *q = mkq(1, F_BASE, QSZ);
	/* 2 MiB of buffers in 8 descriptors */
	for (uint16_t i = 0; i < 8; i++)
		desc(q, i, B_GPA, 256 * 1024, i < 7 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	push(q, 0);
	/* 300 one-byte pieces in an indirect table (more than VHU_MAX_IOV) */
	for (uint16_t i = 0; i < 300; i++)
		ind(IND, i, BUF + i, 1, i < 299 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	desc(q, 8, IND, 300 * 16, VRING_DESC_F_INDIRECT, 0);
	push(q, 8);
	/* then a good one */
	memset(&h, 0, sizeof(h));
	pattern(pay, sizeof(pay), 60);
	tx_put(q, 9, BUF + 0x2000, &h, pay, 60);

	CHECK_EQ(deq(q, pk, 8), 1);
	CHECK(pkt_eq(pk[0], pay, 60));
	CHECK_EQ(used_idx(q), 3);
	CHECK_EQ(q->used->ring[0].id, 0);
	CHECK_EQ(q->used->ring[1].id, 8);
	CHECK_EQ(q->used->ring[2].id, 9);
	CHECK_EQ(q->stats.drops, 2);
	CHECK(!q->broken);
	vhu_pkt_free(pk[0]);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

#define BAD_TX(features, ...) do {                                          \
	struct vhu_pkt *bpk_[8];                                            \
	reset_all();                                                        \
	struct vhu_vq *q = mkq(1, features, QSZ);                           \
	struct virtio_net_hdr_mrg_rxbuf bh_;                                \
	memset(&bh_, 0, sizeof(bh_));                                       \
	gw(BUF, &bh_, HDR);                                                 \
	__VA_ARGS__;                                                        \
	CHECK_EQ(deq(q, bpk_, 8), 0);                                       \
	EXPECT_BROKEN(q);                                                   \
} while (0)

static void test_tx_malformed(void)
{
	/* descriptor loop: 0 -> 1 -> 0 */
	BAD_TX(F_BASE, desc(q, 0, BUF, HDR, VRING_DESC_F_NEXT, 1);
	       desc(q, 1, BUF + 0x100, 10, VRING_DESC_F_NEXT, 0); push(q, 0));
	/* self loop */
	BAD_TX(F_BASE, desc(q, 4, BUF, HDR, VRING_DESC_F_NEXT, 4); push(q, 4));
	/* chain longer than the ring: every descriptor, then back to the first */
	BAD_TX(F_BASE, for (uint16_t i = 0; i < QSZ; i++)
		desc(q, i, BUF, HDR, VRING_DESC_F_NEXT, (uint16_t)((i + 1) % QSZ));
	       push(q, 0));
	/* head index >= size in the avail ring */
	BAD_TX(F_BASE, desc(q, 0, BUF, HDR, 0, 0); push(q, QSZ));
	BAD_TX(F_BASE, push(q, 0xffff));
	/* next index out of range */
	BAD_TX(F_BASE, desc(q, 0, BUF, HDR, VRING_DESC_F_NEXT, QSZ); push(q, 0));
	BAD_TX(F_BASE, desc(q, 0, BUF, HDR, VRING_DESC_F_NEXT, 0xffff); push(q, 0));
	/* indirect inside indirect */
	BAD_TX(F_BASE, ind(IND, 0, BUF, HDR, VRING_DESC_F_NEXT, 1);
	       ind(IND, 1, IND + 0x100, 32, VRING_DESC_F_INDIRECT, 0);
	       ind(IND + 0x100, 0, BUF + 0x100, 10, 0, 0);
	       desc(q, 0, IND, 32, VRING_DESC_F_INDIRECT, 0); push(q, 0));
	/* indirect table length not a multiple of 16, 0, too many entries */
	BAD_TX(F_BASE, ind(IND, 0, BUF, HDR, 0, 0);
	       desc(q, 0, IND, 24, VRING_DESC_F_INDIRECT, 0); push(q, 0));
	BAD_TX(F_BASE, ind(IND, 0, BUF, HDR, 0, 0);
	       desc(q, 0, IND, 15, VRING_DESC_F_INDIRECT, 0); push(q, 0));
	BAD_TX(F_BASE, desc(q, 0, IND, 0, VRING_DESC_F_INDIRECT, 0); push(q, 0));
	BAD_TX(F_BASE, desc(q, 0, B_GPA, (VHU_MAX_RING_SIZE + 1) * 16,
			    VRING_DESC_F_INDIRECT, 0); push(q, 0));
	/* indirect without the feature */
	BAD_TX(F(VIRTIO_F_VERSION_1), ind(IND, 0, BUF, HDR, 0, 0);
	       desc(q, 0, IND, 16, VRING_DESC_F_INDIRECT, 0); push(q, 0));
	/* indirect together with NEXT */
	BAD_TX(F_BASE, ind(IND, 0, BUF, HDR, 0, 0);
	       desc(q, 0, IND, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	       desc(q, 1, BUF + 0x100, 10, 0, 0); push(q, 0));
	/* indirect table outside guest memory */
	BAD_TX(F_BASE, desc(q, 0, MEM_END, 16, VRING_DESC_F_INDIRECT, 0); push(q, 0));
	BAD_TX(F_BASE, desc(q, 0, MEM_END - 8, 16, VRING_DESC_F_INDIRECT, 0); push(q, 0));
	BAD_TX(F_BASE, desc(q, 0, UINT64_MAX - 8, 16, VRING_DESC_F_INDIRECT, 0); push(q, 0));
	/* loop and out-of-range next inside an indirect table */
	BAD_TX(F_BASE, ind(IND, 0, BUF, HDR, VRING_DESC_F_NEXT, 1);
	       ind(IND, 1, BUF + 0x100, 10, VRING_DESC_F_NEXT, 0);
	       desc(q, 0, IND, 32, VRING_DESC_F_INDIRECT, 0); push(q, 0));
	BAD_TX(F_BASE, ind(IND, 0, BUF, HDR, VRING_DESC_F_NEXT, 2);
	       ind(IND, 1, BUF + 0x100, 10, 0, 0);
	       desc(q, 0, IND, 32, VRING_DESC_F_INDIRECT, 0); push(q, 0));
	/* buffer outside guest memory: entirely, and running off the end */
	BAD_TX(F_BASE, desc(q, 0, MEM_END, 100, 0, 0); push(q, 0));
	BAD_TX(F_BASE, desc(q, 0, MEM_END - 50, 100, 0, 0); push(q, 0));
	BAD_TX(F_BASE, desc(q, 0, BUF, HDR, VRING_DESC_F_NEXT, 1);
	       desc(q, 1, 0x7f0000000000ull, 100, 0, 0); push(q, 0));
	/* addr + len overflows */
	BAD_TX(F_BASE, desc(q, 0, UINT64_MAX - 4, 100, 0, 0); push(q, 0));
	BAD_TX(F_BASE, desc(q, 0, BUF, HDR, VRING_DESC_F_NEXT, 1);
	       desc(q, 1, UINT64_MAX, 1, 0, 0); push(q, 0));
	/* avail idx more than the ring size ahead */
	BAD_TX(F_BASE, desc(q, 0, BUF, HDR, 0, 0); push(q, 0);
	       q->avail->idx = QSZ + 1);
	BAD_TX(F_BASE, q->avail->idx = 0xffff);
	BAD_TX(F_BASE, q->last_avail_idx = 100; q->last_used_idx = 100;
	       q->avail->idx = 100 + QSZ + 1);
	/* device-writable descriptor in a transmit chain */
	BAD_TX(F_BASE, desc(q, 0, BUF, HDR + 10, VRING_DESC_F_WRITE, 0); push(q, 0));
	BAD_TX(F_BASE, desc(q, 0, BUF, HDR, VRING_DESC_F_NEXT, 1);
	       desc(q, 1, BUF + 0x100, 10, VRING_DESC_F_WRITE, 0); push(q, 0));
	/* transmit chain shorter than the 12-byte header */
	BAD_TX(F_BASE, desc(q, 0, BUF, HDR - 1, 0, 0); push(q, 0));
	BAD_TX(F_BASE, desc(q, 0, BUF, 0, 0, 0); push(q, 0));
	BAD_TX(F_BASE, desc(q, 0, BUF, 6, VRING_DESC_F_NEXT, 1);
	       desc(q, 1, BUF + 6, 5, 0, 0); push(q, 0));
}

/* A good packet ahead of a bad one is delivered; the bad one breaks the
 * vring; the other vring of the device is unaffected. */
static void test_tx_break_isolation(void)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct vhu_pkt *pk[8];
	uint8_t pay[80], out[80];

	reset_all();
	struct vhu_vq *rx = mkq(0, F_BASE, QSZ);
	struct vhu_vq *tx = mkq(1, F_BASE, QSZ);
	memset(&h, 0, sizeof(h));
	pattern(pay, sizeof(pay), 70);
	tx_put(tx, 0, BUF, &h, pay, 80);
	desc(tx, 1, BUF + 0x100, HDR + 10, VRING_DESC_F_WRITE, 0);
	push(tx, 1);
	CHECK_EQ(deq(tx, pk, 8), 1);
	CHECK(pkt_eq(pk[0], pay, 80));
	CHECK_EQ(used_idx(tx), 1);
	CHECK_EQ(tx->used->ring[0].id, 0);
	vhu_pkt_free(pk[0]);
	EXPECT_BROKEN(tx);

	/* a good packet made available later does not revive it */
	tx_put(tx, 2, BUF + 0x200, &h, pay, 80);
	CHECK_EQ(deq(tx, pk, 8), 0);
	CHECK_EQ(used_idx(tx), 1);

	/* the receive vring still works */
	CHECK(!rx->broken);
	rx_buf(rx, 0, BUF + 0x4000, 2048);
	struct vhu_pkt *p = mkpkt(80, 71);
	CHECK_EQ(enq(rx, &p, 1), 1);
	CHECK_EQ(used_idx(rx), 1);
	CHECK_EQ(rx->used->ring[0].len, HDR + 80);
	gr(BUF + 0x4000 + HDR, out, 80);
	CHECK_MEM(out, vhu_pkt_data(p), 80);
	CHECK(!rx->broken);
	vhu_pkt_free(p);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

/* Offload header checks on transmit: a bad header drops that packet only.
 * ok: accepted from a guest with every host offload; ok_none: from one
 * without any (only a plain header passes). */
static void tx_offload_cases(uint64_t features, bool with_ol)
{
	struct {
		uint8_t flags, gso_type;
		uint16_t hdr_len, gso_size, csum_start, csum_offset;
		bool ok;
	} cases[] = {
		/* csum_start + csum_offset + 2 past the 100-byte packet */
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 90, 9, false },
		/* ... exactly at the end */
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 90, 8, true },
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 0xffff, 0xffff, false },
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 100, 0, false },
		/* gso with gso_size 0 */
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 54, 0, 34, 16, false },
		/* gso_size past the packet, and the whole packet (odd, harmless) */
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, 74, 101, 54, 16, false },
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, 74, 100, 54, 16, true },
		/* gso without NEEDS_CSUM */
		{ 0, VIRTIO_NET_HDR_GSO_TCPV4, 54, 40, 0, 0, false },
		/* unknown gso type; legacy UFO, never offered */
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, 2, 54, 40, 34, 16, false },
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_UDP, 42, 40, 34, 6, false },
		/* good gso: TCP with ECN, UDP (USO) */
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
		  54, 40, 34, 16, true },
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, VHU_NET_HDR_GSO_UDP_L4, 42, 40, 34, 6, true },
		/* plain */
		{ 0, 0, 0, 0, 0, 0, true },
	};
	if (!with_ol)
		for (unsigned i = 0; i < VHU_ARRAY_SIZE(cases); i++)
			cases[i].ok = cases[i].flags == 0 && cases[i].gso_type == 0;
	const unsigned n = VHU_ARRAY_SIZE(cases);
	struct vhu_pkt *pk[16];
	uint8_t pay[100];
	unsigned nok = 0;

	reset_all();
	struct vhu_vq *q = mkq(1, features, QSZ);
	for (unsigned i = 0; i < n; i++) {
		struct virtio_net_hdr_mrg_rxbuf h;
		memset(&h, 0, sizeof(h));
		h.hdr.flags = cases[i].flags;
		h.hdr.gso_type = cases[i].gso_type;
		h.hdr.hdr_len = htole16(cases[i].hdr_len);
		h.hdr.gso_size = htole16(cases[i].gso_size);
		h.hdr.csum_start = htole16(cases[i].csum_start);
		h.hdr.csum_offset = htole16(cases[i].csum_offset);
		pattern(pay, 100, (uint8_t)(80 + i));
		tx_put(q, (uint16_t)i, BUF + 0x100 * i, &h, pay, 100);
		nok += cases[i].ok;
	}
	CHECK_EQ(deq(q, pk, 16), nok);
	CHECK_EQ(used_idx(q), n);
	CHECK_EQ(q->stats.errors, n - nok);
	CHECK_EQ(q->stats.drops, n - nok);
	CHECK_EQ(q->stats.packets, nok);
	CHECK(!q->broken);
	unsigned k = 0;
	for (unsigned i = 0; i < n && k < nok; i++) {
		if (!cases[i].ok)
			continue;
		pattern(pay, 100, (uint8_t)(80 + i));
		CHECK(pkt_eq(pk[k], pay, 100));
		CHECK_EQ(pk[k]->ol.flags, cases[i].flags);
		CHECK_EQ(pk[k]->ol.gso_type, cases[i].gso_type);
		CHECK_EQ(pk[k]->ol.hdr_len, cases[i].hdr_len);
		CHECK_EQ(pk[k]->ol.gso_size, cases[i].gso_size);
		CHECK_EQ(pk[k]->ol.csum_start, cases[i].csum_start);
		CHECK_EQ(pk[k]->ol.csum_offset, cases[i].csum_offset);
		k++;
	}
	vhu_pkt_free_bulk(pk, nok);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

static void test_tx_offload(void)
{
	tx_offload_cases(F_BASE, true);
	/* Without the host offloads every offload header is one the device
	 * did not offer; ECN needs HOST_ECN even with TSO. */
	tx_offload_cases(F(VIRTIO_F_VERSION_1) | F(VIRTIO_RING_F_INDIRECT_DESC), false);
}

/* What is offered after an application turned offloads off. */
static void test_features_fix(void)
{
	uint64_t all = vhu_default_features();
	CHECK_EQ(vhu_net_features_fix(all), all);
	uint64_t f = vhu_net_features_fix(all & ~F(VIRTIO_NET_F_CSUM));
	CHECK(!(f & (F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |
		     F(VIRTIO_NET_F_HOST_ECN) | F(VHU_NET_F_HOST_USO))));
	CHECK(f & F(VIRTIO_NET_F_GUEST_TSO4));
	f = vhu_net_features_fix(all & ~(F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6)));
	CHECK(!(f & F(VIRTIO_NET_F_GUEST_ECN)));
	CHECK(f & F(VHU_NET_F_GUEST_USO4));
	f = vhu_net_features_fix(all & ~F(VIRTIO_NET_F_GUEST_CSUM));
	CHECK(!(f & (F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |
		     F(VIRTIO_NET_F_GUEST_ECN) | F(VHU_NET_F_GUEST_USO4) | F(VHU_NET_F_GUEST_USO6))));
	CHECK(f & F(VIRTIO_NET_F_HOST_TSO4));
}

/* ---- receive (host -> guest) ------------------------------------------- */

static void test_rx_basic(void)
{
	uint8_t out[1500];

	reset_all();
	struct vhu_vq *q = mkq(0, F_BASE, QSZ);
	/* header descriptor + data descriptor */
	desc(q, 0, BUF, HDR, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	desc(q, 1, BUF + 0x100, 2048, VRING_DESC_F_WRITE, 0);
	push(q, 0);
	/* one data descriptor holding both */
	rx_buf(q, 2, BUF + 0x1000, 2048);

	struct vhu_pkt *p[2];
	p[0] = mkpkt(1000, 90);
	/* three segments */
	uint8_t flat[700];
	pattern(flat, sizeof(flat), 91);
	const uint32_t lens[3] = { 101, 500, 99 };
	p[1] = mkpkt_segs(flat, lens, 3);

	CHECK_EQ(enq(q, p, 2), 2);
	CHECK_EQ(used_idx(q), 2);
	CHECK_EQ(q->used->ring[0].id, 0);
	CHECK_EQ(q->used->ring[0].len, HDR + 1000);
	CHECK_EQ(q->used->ring[1].id, 2);
	CHECK_EQ(q->used->ring[1].len, HDR + 700);
	struct virtio_net_hdr_mrg_rxbuf h = rx_hdr(BUF);
	CHECK_EQ(h.hdr.flags, 0);
	CHECK_EQ(h.hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	CHECK_EQ(le16toh(h.num_buffers), 1);
	gr(BUF + 0x100, out, 1000);
	CHECK_MEM(out, vhu_pkt_data(p[0]), 1000);
	h = rx_hdr(BUF + 0x1000);
	CHECK_EQ(le16toh(h.num_buffers), 1);
	gr(BUF + 0x1000 + HDR, out, 700);
	CHECK_MEM(out, flat, 700);
	CHECK_EQ(q->stats.packets, 2);
	CHECK_EQ(q->stats.bytes, 1700);
	CHECK_EQ(q->stats.drops, 0);
	/* no buffers left */
	CHECK_EQ(enq(q, p, 1), 0);
	CHECK_EQ(used_idx(q), 2);
	/* a buffer made available later is used */
	rx_buf(q, 3, BUF + 0x2000, 2048);
	CHECK_EQ(enq(q, p, 1), 1);
	CHECK_EQ(used_idx(q), 3);
	CHECK(!q->broken);
	vhu_pkt_free_bulk(p, 2);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

/* The header arrives whole whatever the buffer held before: garbage, a
 * stale header, or this very header (enqueue then stores nothing: the
 * guest's cached copy of the line stays valid). Also a 10-byte legacy
 * header, and buffers whose header fills the rest of a cache line
 * (DPDK's layout: that line is prefetched shared, not for ownership). */
static void test_rx_hdr_rewrite(void)
{
	static const uint64_t feats[] = {
		F_BASE | F(VIRTIO_NET_F_MRG_RXBUF), F_BASE, F(VIRTIO_RING_F_INDIRECT_DESC),
	};
	uint8_t junk[HDR], stale[HDR], out[64];

	memset(junk, 0xaa, sizeof(junk));
	memset(stale, 0, sizeof(stale));
	stale[0] = VIRTIO_NET_HDR_F_DATA_VALID;
	stale[10] = 3; /* num_buffers of a three-buffer packet */
	for (unsigned f = 0; f < sizeof(feats) / sizeof(feats[0]); f++) {
		const uint32_t hl = feats[f] & F(VIRTIO_F_VERSION_1) ? HDR : 10;
		struct virtio_net_hdr_mrg_rxbuf want;
		memset(&want, 0, sizeof(want));
		if (hl == HDR)
			want.num_buffers = htole16(1);
		const uint64_t gpa[3] = { BUF + 0x40 - hl, BUF + 0x1000, BUF + 0x2040 - hl };
		reset_all();
		struct vhu_vq *q = mkq(0, feats[f], QSZ);
		gw(gpa[0], junk, HDR);
		gw(gpa[1], &want, hl);
		gw(gpa[2], stale, HDR);
		struct vhu_pkt *p[3];
		for (uint16_t i = 0; i < 3; i++) {
			rx_buf(q, i, gpa[i], 2048);
			p[i] = mkpkt(64, (uint8_t)(40 + i));
		}
		CHECK_EQ(enq(q, p, 3), 3);
		for (uint16_t i = 0; i < 3; i++) {
			struct virtio_net_hdr_mrg_rxbuf h = rx_hdr(gpa[i]);
			CHECK_MEM(&h, &want, hl);
			CHECK_EQ(q->used->ring[i].len, hl + 64);
			gr(gpa[i] + hl, out, 64);
			CHECK_MEM(out, vhu_pkt_data(p[i]), 64);
		}
		CHECK(!q->broken);
		vhu_pkt_free_bulk(p, 3);
	}
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

static void test_rx_too_big(void)
{
	uint8_t out[100];

	reset_all();
	struct vhu_vq *q = mkq(0, F_BASE, QSZ);
	rx_buf(q, 0, BUF, HDR + 256);
	struct vhu_pkt *p[3] = { mkpkt(600, 1), mkpkt(100, 2), mkpkt(100, 3) };

	/* alone: dropped, counted, buffer stays */
	CHECK_EQ(enq(q, p, 1), 1);
	CHECK_EQ(used_idx(q), 0);
	CHECK_EQ(q->last_avail_idx, 0);
	CHECK_EQ(q->stats.drops, 1);
	CHECK_EQ(q->stats.packets, 0);
	/* big then small: the small one gets the buffer */
	CHECK_EQ(enq(q, p, 2), 2);
	CHECK_EQ(q->stats.drops, 2);
	CHECK_EQ(q->stats.packets, 1);
	CHECK_EQ(used_idx(q), 1);
	CHECK_EQ(q->used->ring[0].id, 0);
	CHECK_EQ(q->used->ring[0].len, HDR + 100);
	gr(BUF + HDR, out, 100);
	CHECK_MEM(out, vhu_pkt_data(p[1]), 100);
	/* exactly fitting */
	vhu_pkt_free(p[0]);
	p[0] = mkpkt(256, 4);
	rx_buf(q, 1, BUF + 0x1000, HDR + 256);
	CHECK_EQ(enq(q, p, 1), 1);
	CHECK_EQ(used_idx(q), 2);
	CHECK_EQ(q->used->ring[1].len, HDR + 256);
	CHECK(!q->broken);
	vhu_pkt_free_bulk(p, 3);
}

static void test_rx_mrg(void)
{
	uint8_t out[1024];
	const uint64_t mrg = F_BASE | F(VIRTIO_NET_F_MRG_RXBUF);

	reset_all();
	struct vhu_vq *q = mkq(0, mrg, QSZ);
	CHECK_EQ(q->hdr_len, HDR);
	for (uint16_t i = 0; i < 4; i++)
		rx_buf(q, (uint16_t)(10 + i), BUF + 0x100 * i, 256);
	struct vhu_pkt *p[3] = { mkpkt(600, 5), mkpkt(100, 6), mkpkt(100, 7) };

	CHECK_EQ(enq(q, p, 3), 2); /* third: no buffers left */
	CHECK_EQ(used_idx(q), 4);
	CHECK_EQ(q->used->ring[0].id, 10);
	CHECK_EQ(q->used->ring[0].len, 256);
	CHECK_EQ(q->used->ring[1].id, 11);
	CHECK_EQ(q->used->ring[1].len, 256);
	CHECK_EQ(q->used->ring[2].id, 12);
	CHECK_EQ(q->used->ring[2].len, HDR + 600 - 512);
	CHECK_EQ(q->used->ring[3].id, 13);
	CHECK_EQ(q->used->ring[3].len, HDR + 100);
	struct virtio_net_hdr_mrg_rxbuf h = rx_hdr(BUF);
	CHECK_EQ(le16toh(h.num_buffers), 3);
	gr(BUF + HDR, out, 256 - HDR);
	gr(BUF + 0x100, out + 256 - HDR, 256);
	gr(BUF + 0x200, out + 512 - HDR, 600 - (512 - HDR));
	CHECK_MEM(out, vhu_pkt_data(p[0]), 600);
	h = rx_hdr(BUF + 0x300);
	CHECK_EQ(le16toh(h.num_buffers), 1);
	gr(BUF + 0x300 + HDR, out, 100);
	CHECK_MEM(out, vhu_pkt_data(p[1]), 100);
	CHECK_EQ(q->stats.packets, 2);
	CHECK_EQ(q->stats.bytes, 700);

	/* not enough buffers for the packet: nothing taken, it waits */
	rx_buf(q, 0, BUF + 0x1000, 256);
	rx_buf(q, 1, BUF + 0x1100, 256);
	vhu_pkt_free(p[2]);
	p[2] = mkpkt(600, 8);
	CHECK_EQ(enq(q, &p[2], 1), 0);
	CHECK_EQ(used_idx(q), 4);
	CHECK_EQ(q->last_avail_idx, 4);
	rx_buf(q, 2, 0xff80, 256); /* third buffer straddles A|B */
	CHECK_EQ(enq(q, &p[2], 1), 1);
	CHECK_EQ(used_idx(q), 7);
	CHECK_EQ(q->used->ring[6].id, 2);
	CHECK_EQ(q->used->ring[6].len, HDR + 600 - 512);
	h = rx_hdr(BUF + 0x1000);
	CHECK_EQ(le16toh(h.num_buffers), 3);
	gr(BUF + 0x1000 + HDR, out, 256 - HDR);
	gr(BUF + 0x1100, out + 256 - HDR, 256);
	gr(0xff80, out + 512 - HDR, 600 - (512 - HDR));
	CHECK_MEM(out, vhu_pkt_data(p[2]), 600);
	CHECK(!q->broken);
	vhu_pkt_free_bulk(p, 3);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

static void test_rx_straddle_indirect(void)
{
	uint8_t out[1000];

	reset_all();
	struct vhu_vq *q = mkq(0, F_BASE, QSZ);
	desc(q, 0, 0xff00, 0x400, VRING_DESC_F_WRITE, 0);
	push(q, 0);
	ind(IND, 0, BUF, HDR, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	ind(IND, 1, B_GPA + 0x2000, 1500, VRING_DESC_F_WRITE, 0);
	desc(q, 1, IND, 32, VRING_DESC_F_INDIRECT, 0);
	push(q, 1);
	struct vhu_pkt *p[2] = { mkpkt(500, 10), mkpkt(1000, 11) };

	CHECK_EQ(enq(q, p, 2), 2);
	CHECK_EQ(used_idx(q), 2);
	CHECK_EQ(q->used->ring[0].id, 0);
	CHECK_EQ(q->used->ring[0].len, HDR + 500);
	CHECK_EQ(q->used->ring[1].id, 1);
	CHECK_EQ(q->used->ring[1].len, HDR + 1000);
	gr(0xff00 + HDR, out, 500);
	CHECK_MEM(out, vhu_pkt_data(p[0]), 500);
	CHECK_EQ(le16toh(rx_hdr(0xff00).num_buffers), 1);
	gr(B_GPA + 0x2000, out, 1000);
	CHECK_MEM(out, vhu_pkt_data(p[1]), 1000);
	CHECK_EQ(le16toh(rx_hdr(BUF).num_buffers), 1);
	CHECK(!q->broken);
	vhu_pkt_free_bulk(p, 2);
}

#define BAD_RX(features, ...) do {                                          \
	reset_all();                                                        \
	struct vhu_vq *q = mkq(0, features, QSZ);                           \
	struct vhu_pkt *bp_ = mkpkt(60, 12);                                \
	__VA_ARGS__;                                                        \
	CHECK_EQ(enq(q, &bp_, 1), 0);                                       \
	vhu_pkt_free(bp_);                                                  \
	EXPECT_BROKEN(q);                                                   \
} while (0)

static void test_rx_malformed(void)
{
	const uint64_t mrg = F_BASE | F(VIRTIO_NET_F_MRG_RXBUF);
	const uint16_t W = VRING_DESC_F_WRITE;
	for (int m = 0; m < 2; m++) {
		uint64_t f = m ? mrg : F_BASE;
		/* read-only descriptor in a receive chain */
		BAD_RX(f, desc(q, 0, BUF, 2048, 0, 0); push(q, 0));
		BAD_RX(f, desc(q, 0, BUF, HDR, W | VRING_DESC_F_NEXT, 1);
		       desc(q, 1, BUF + 0x100, 2048, 0, 0); push(q, 0));
		/* loop */
		BAD_RX(f, desc(q, 0, BUF, 10, W | VRING_DESC_F_NEXT, 1);
		       desc(q, 1, BUF + 0x100, 10, W | VRING_DESC_F_NEXT, 0); push(q, 0));
		/* head out of range */
		BAD_RX(f, push(q, QSZ));
		/* next out of range */
		BAD_RX(f, desc(q, 0, BUF, 10, W | VRING_DESC_F_NEXT, 200); push(q, 0));
		/* avail idx jump */
		BAD_RX(f, rx_buf(q, 0, BUF, 2048); q->avail->idx = QSZ + 1);
		/* buffer outside memory, addr + len overflow */
		BAD_RX(f, rx_buf(q, 0, MEM_END - 10, 2048));
		BAD_RX(f, rx_buf(q, 0, UINT64_MAX - 100, 2048));
		/* indirect without the feature, bad indirect length */
		BAD_RX(F(VIRTIO_F_VERSION_1) | (m ? F(VIRTIO_NET_F_MRG_RXBUF) : 0),
		       ind(IND, 0, BUF, 2048, W, 0);
		       desc(q, 0, IND, 16, VRING_DESC_F_INDIRECT, 0); push(q, 0));
		BAD_RX(f, ind(IND, 0, BUF, 2048, W, 0);
		       desc(q, 0, IND, 17, VRING_DESC_F_INDIRECT, 0); push(q, 0));
	}
}

/* The queue breaks while buffers are being gathered for a mergeable
 * packet: the heads already reserved for that packet were never written
 * and must not be published as used. */
static void test_rx_mrg_break_midpacket(void)
{
	const uint64_t mrg = F_BASE | F(VIRTIO_NET_F_MRG_RXBUF);

	reset_all();
	struct vhu_vq *q = mkq(0, mrg, QSZ);
	rx_buf(q, 0, BUF, 256);                  /* first packet */
	rx_buf(q, 1, BUF + 0x100, 256);          /* second packet, part 1 */
	desc(q, 2, BUF + 0x200, 256, 0, 0);      /* part 2: read-only (bad) */
	push(q, 2);
	struct vhu_pkt *p[2] = { mkpkt(100, 13), mkpkt(400, 14) };
	CHECK_EQ(enq(q, p, 2), 1);
	CHECK(q->broken);
	/* only the first packet's head is used */
	CHECK_EQ(used_idx(q), 1);
	CHECK_EQ(q->used->ring[0].id, 0);
	CHECK_EQ(q->used->ring[0].len, HDR + 100);
	CHECK_EQ(q->stats.packets, 1);
	vhu_pkt_free_bulk(p, 2);
	EXPECT_BROKEN(q);
}

/* ---- offloads towards the guest ----------------------------------------- */

/* Ethernet + IPv4 + UDP with plen payload bytes into f. The UDP checksum
 * field holds the folded pseudo-header sum (what a stack leaves for
 * CHECKSUM_PARTIAL); *final gets the correct complete checksum, computed
 * here from scratch. force_ffff tweaks the last two payload bytes so the
 * checksum computes to 0 (sent as 0xffff); plen must be even for it. */
static uint32_t build_udp(uint8_t *f, uint16_t plen, uint8_t seed, bool force_ffff,
			  uint16_t *final)
{
	uint16_t udplen = (uint16_t)(8 + plen), iplen = (uint16_t)(20 + udplen);
	uint8_t *ip = f + 14, *u = ip + 20;
	static const uint8_t src[4] = { 10, 0, 0, 1 }, dst[4] = { 10, 0, 0, 2 };

	memset(f, 0, 14u + iplen);
	f[0] = 0x02; f[5] = 0x01; f[6] = 0x02; f[11] = 0x02;
	f[12] = 0x08; f[13] = 0x00;
	ip[0] = 0x45; ip[2] = (uint8_t)(iplen >> 8); ip[3] = (uint8_t)iplen;
	ip[8] = 64; ip[9] = 17;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	uint16_t ipc = (uint16_t)~ref_fold(ref_add(0, ip, 20));
	ip[10] = (uint8_t)(ipc >> 8); ip[11] = (uint8_t)ipc;
	u[0] = 0x04; u[1] = 0xd2; u[2] = 0x16; u[3] = 0x2e;
	u[4] = (uint8_t)(udplen >> 8); u[5] = (uint8_t)udplen;
	pattern(u + 8, plen, seed);

	uint8_t ph[12];
	memcpy(ph, src, 4);
	memcpy(ph + 4, dst, 4);
	ph[8] = 0; ph[9] = 17; ph[10] = (uint8_t)(udplen >> 8); ph[11] = (uint8_t)udplen;
	uint32_t ps = ref_add(0, ph, 12);
	if (force_ffff) {
		u[8 + plen - 2] = u[8 + plen - 1] = 0;
		uint16_t x = (uint16_t)~ref_fold(ref_add(ps, u, udplen));
		u[8 + plen - 2] = (uint8_t)(x >> 8);
		u[8 + plen - 1] = (uint8_t)x;
	}
	uint16_t c = (uint16_t)~ref_fold(ref_add(ps, u, udplen));
	*final = c ? c : 0xffff;
	uint16_t partial = ref_fold(ps);
	u[6] = (uint8_t)(partial >> 8);
	u[7] = (uint8_t)partial;
	return 14u + iplen;
}

/* The UDP datagram in frame f verifies (sums to 0xffff with its pseudo header). */
static bool udp_verifies(const uint8_t *f)
{
	const uint8_t *ip = f + 14, *u = ip + 20;
	uint16_t udplen = (uint16_t)(u[4] << 8 | u[5]);
	uint8_t ph[12];
	memcpy(ph, ip + 12, 8);
	ph[8] = 0; ph[9] = 17; ph[10] = u[4]; ph[11] = u[5];
	return ref_fold(ref_add(ref_add(0, ph, 12), u, udplen)) == 0xffff;
}

static void set_csum_partial(struct vhu_pkt *p)
{
	p->ol.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->ol.csum_start = 34;
	p->ol.csum_offset = 6;
}

static void test_csum_fixup(void)
{
	uint8_t f[256], orig[256], out[256];
	uint16_t want;

	/* one-segment packet, one guest buffer, guest without GUEST_CSUM */
	reset_all();
	struct vhu_vq *q = mkq(0, F_BASE, QSZ);
	uint32_t len = build_udp(f, 37, 1, false, &want);
	CHECK(!udp_verifies(f)); /* not yet complete */
	struct vhu_pkt *p = vhu_pkt_alloc(pool);
	REQUIRE(p);
	memcpy(vhu_pkt_append(p, len), f, len);
	set_csum_partial(p);
	rx_buf(q, 0, BUF, 2048);
	CHECK_EQ(enq(q, &p, 1), 1);
	struct virtio_net_hdr_mrg_rxbuf h = rx_hdr(BUF);
	CHECK_EQ(h.hdr.flags, 0); /* guest did not take NEEDS_CSUM */
	CHECK_EQ(h.hdr.csum_start, 0);
	gr(BUF + HDR, out, len);
	CHECK_EQ(out[40] << 8 | out[41], want);
	CHECK(udp_verifies(out));
	CHECK_MEM(out, f, 40);                       /* everything else as sent */
	CHECK_MEM(out + 42, f + 42, len - 42);
	CHECK_MEM(vhu_pkt_data(p), f, len);          /* the packet is not modified */
	vhu_pkt_free(p);

	/* the application's csum_start/offset past the packet: dropped and
	 * counted, the buffer kept, nothing written past the frame */
	p = vhu_pkt_alloc(pool);
	REQUIRE(p);
	memcpy(vhu_pkt_append(p, len), f, len);
	set_csum_partial(p);
	p->ol.csum_start = (uint16_t)(len - 6);
	uint64_t drops = q->stats.drops;
	rx_buf(q, 1, BUF + 0x800, 2048);
	CHECK_EQ(enq(q, &p, 1), 1);   /* consumed: dropped */
	CHECK_EQ(used_idx(q), 1);     /* the buffer is kept */
	CHECK_EQ(q->stats.drops, drops + 1);
	vhu_pkt_free(p);

	/* two segments cut at an odd offset, mergeable small buffers, the
	 * checksum field itself straddling two memory regions */
	reset_all();
	q = mkq(0, F_BASE | F(VIRTIO_NET_F_MRG_RXBUF), QSZ);
	len = build_udp(f, 37, 2, false, &want);
	memcpy(orig, f, len);
	const uint32_t lens[2] = { 47, len - 47 };
	p = mkpkt_segs(f, lens, 2);
	set_csum_partial(p);
	/* stream: 12 hdr + frame; field at frame 40 = stream 52-53.
	 * Buffer 2 starts at stream 40 -> field at its bytes 12-13. */
	rx_buf(q, 0, BUF, 40);
	rx_buf(q, 1, 0x10000 - 13, 40);
	rx_buf(q, 2, BUF + 0x100, 40);
	CHECK_EQ(enq(q, &p, 1), 1);
	CHECK_EQ(used_idx(q), 3);
	CHECK_EQ(q->used->ring[2].len, HDR + len - 80);
	h = rx_hdr(BUF);
	CHECK_EQ(le16toh(h.num_buffers), 3);
	CHECK_EQ(h.hdr.flags, 0);
	gr(BUF + HDR, out, 40 - HDR);
	gr(0x10000 - 13, out + 40 - HDR, 40);
	gr(BUF + 0x100, out + 80 - HDR, len - (80 - HDR));
	CHECK_EQ(out[40] << 8 | out[41], want);
	CHECK(udp_verifies(out));
	CHECK_MEM(out, orig, 40);
	CHECK_MEM(out + 42, orig + 42, len - 42);
	vhu_pkt_free(p);

	/* a checksum that computes to 0 goes out as 0xffff for UDP */
	reset_all();
	q = mkq(0, F_BASE, QSZ);
	len = build_udp(f, 38, 3, true, &want);
	CHECK_EQ(want, 0xffff);
	p = vhu_pkt_alloc(pool);
	REQUIRE(p);
	memcpy(vhu_pkt_append(p, len), f, len);
	set_csum_partial(p);
	rx_buf(q, 0, BUF, 2048);
	CHECK_EQ(enq(q, &p, 1), 1);
	gr(BUF + HDR, out, len);
	CHECK_EQ(out[40] << 8 | out[41], 0xffff);
	CHECK(udp_verifies(out));
	vhu_pkt_free(p);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

static void test_rx_offload_hdr(void)
{
	uint8_t f[256], out[256];
	uint16_t want;
	const uint64_t csum = F_BASE | F(VIRTIO_NET_F_GUEST_CSUM);

	/* guest takes NEEDS_CSUM: header carries it, bytes untouched */
	reset_all();
	struct vhu_vq *q = mkq(0, csum, QSZ);
	uint32_t len = build_udp(f, 37, 4, false, &want);
	struct vhu_pkt *p = vhu_pkt_alloc(pool);
	REQUIRE(p);
	memcpy(vhu_pkt_append(p, len), f, len);
	set_csum_partial(p);
	rx_buf(q, 0, BUF, 2048);
	CHECK_EQ(enq(q, &p, 1), 1);
	struct virtio_net_hdr_mrg_rxbuf h = rx_hdr(BUF);
	CHECK_EQ(h.hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(le16toh(h.hdr.csum_start), 34);
	CHECK_EQ(le16toh(h.hdr.csum_offset), 6);
	gr(BUF + HDR, out, len);
	CHECK_MEM(out, f, len);

	/* DATA_VALID only for a guest with GUEST_CSUM */
	p->ol.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	rx_buf(q, 1, BUF + 0x1000, 2048);
	CHECK_EQ(enq(q, &p, 1), 1);
	CHECK_EQ(rx_hdr(BUF + 0x1000).hdr.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	q->features = F_BASE;
	rx_buf(q, 2, BUF + 0x2000, 2048);
	CHECK_EQ(enq(q, &p, 1), 1);
	CHECK_EQ(rx_hdr(BUF + 0x2000).hdr.flags, 0);

	/* GSO to a guest that cannot take it: dropped, buffer kept */
	p->ol.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->ol.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	p->ol.gso_size = 1448;
	p->ol.hdr_len = 54;
	p->ol.csum_start = 34;
	p->ol.csum_offset = 16;
	rx_buf(q, 3, BUF + 0x3000, 2048);
	uint64_t drops = q->stats.drops;
	uint16_t u = used_idx(q);
	CHECK_EQ(enq(q, &p, 1), 1);
	CHECK_EQ(q->stats.drops, drops + 1);
	CHECK_EQ(used_idx(q), u);
	/* and with TSO4 + GUEST_CSUM it goes through with its header */
	q->features = csum | F(VIRTIO_NET_F_GUEST_TSO4);
	CHECK_EQ(enq(q, &p, 1), 1);
	CHECK_EQ(used_idx(q), u + 1);
	h = rx_hdr(BUF + 0x3000);
	CHECK_EQ(h.hdr.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	CHECK_EQ(le16toh(h.hdr.gso_size), 1448);
	CHECK_EQ(le16toh(h.hdr.hdr_len), 54);
	CHECK_EQ(h.hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(le16toh(h.hdr.csum_offset), 16);
	CHECK(!q->broken);
	vhu_pkt_free(p);
}

/* ---- notifications and dirty logging ------------------------------------ */

static uint64_t efd_read(int fd)
{
	eventfd_t v = 0;
	return eventfd_read(fd, &v) == 0 ? v : 0;
}

static void test_notify(void)
{
	int call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int err = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	REQUIRE(call >= 0 && err >= 0);
	struct vhu_pkt *p = mkpkt(60, 20);

	/* plain: call on every burst that used something */
	reset_all();
	struct vhu_vq *q = mkq(0, F_BASE, QSZ);
	q->callfd = call;
	rx_buf(q, 0, BUF, 2048);
	CHECK_EQ(enq(q, &p, 1), 1);
	CHECK_EQ(efd_read(call), 1);
	CHECK_EQ(q->stats.kicks, 1);
	CHECK_EQ(enq(q, &p, 1), 0); /* nothing used: no call */
	CHECK_EQ(efd_read(call), 0);
	/* guest asked for no interrupts */
	q->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	rx_buf(q, 1, BUF + 0x1000, 2048);
	CHECK_EQ(enq(q, &p, 1), 1);
	CHECK_EQ(efd_read(call), 0);
	CHECK_EQ(q->stats.kicks, 1);

	/* EVENT_IDX: the first call always goes, then only when used passes
	 * used_event (avail->ring[size]) */
	reset_all();
	q = mkq(0, F_BASE | F(VIRTIO_RING_F_EVENT_IDX), QSZ);
	q->callfd = call;
	for (uint16_t i = 0; i < 4; i++)
		rx_buf(q, i, BUF + 0x1000 * i, 2048);
	q->avail->ring[QSZ] = 5; /* used_event: call when used idx passes 5 */
	CHECK_EQ(enq(q, &p, 1), 1);
	CHECK_EQ(efd_read(call), 1);
	CHECK_EQ(enq(q, &p, 1), 1); /* used 1 -> 2: not past 5 */
	CHECK_EQ(efd_read(call), 0);
	q->avail->ring[QSZ] = 2; /* call once used moves past 2 */
	CHECK_EQ(enq(q, &p, 1), 1); /* 2 -> 3 */
	CHECK_EQ(efd_read(call), 1);
	CHECK_EQ(q->stats.kicks, 2);

	/* transmit side too */
	reset_all();
	q = mkq(1, F_BASE, QSZ);
	q->callfd = call;
	struct virtio_net_hdr_mrg_rxbuf h;
	memset(&h, 0, sizeof(h));
	uint8_t pay[30];
	pattern(pay, sizeof(pay), 21);
	tx_put(q, 0, BUF, &h, pay, 30);
	struct vhu_pkt *pk[4];
	CHECK_EQ(deq(q, pk, 4), 1);
	CHECK_EQ(efd_read(call), 1);
	vhu_pkt_free(pk[0]);

	/* breaking a vring signals its error eventfd (SET_VRING_ERR) */
	q->errfd = err;
	push(q, QSZ + 3);
	CHECK_EQ(deq(q, pk, 4), 0);
	CHECK(q->broken);
	CHECK_EQ(efd_read(err), 1);
	CHECK_EQ(efd_read(call), 0);
	q->errfd = -1;

	vhu_pkt_free(p);
	close(call);
	close(err);
}

static void test_dirty_log(void)
{
	uint8_t bm[(MEM_END / 4096 + 7) / 8];
	const uint64_t mrg = F_BASE | F(VIRTIO_NET_F_MRG_RXBUF) | F(VHU_F_LOG_ALL);

	/* receive: buffers written and the used ring are logged */
	reset_all();
	memset(bm, 0, sizeof(bm));
	struct vhu_vq *q = mkq(0, mrg, QSZ);
	dlog.bitmap = bm;
	dlog.size = sizeof(bm);
	rx_buf(q, 0, 0xff00, 0x200);          /* pages 15 and 16 */
	rx_buf(q, 1, B_GPA + 0x5000, 0x1000);  /* page 21, partly written */
	rx_buf(q, 2, B_GPA + 0x9000, 0x1000);  /* not reached */
	struct vhu_pkt *p = mkpkt(600, 22);
	CHECK_EQ(enq(q, &p, 1), 1);
	CHECK_EQ(used_idx(q), 2);
	CHECK(page_dirty(bm, 0xff00));
	CHECK(page_dirty(bm, 0x10000));
	CHECK(page_dirty(bm, B_GPA + 0x5000));
	CHECK(page_dirty(bm, RX_RING.used));
	CHECK(!page_dirty(bm, B_GPA + 0x9000));
	CHECK(!page_dirty(bm, RX_RING.avail));
	CHECK(!page_dirty(bm, RX_RING.desc));
	CHECK_EQ(dirty_count(bm, sizeof(bm)), 4);

	/* transmit: only the used ring, never the guest's buffers */
	reset_all();
	memset(bm, 0, sizeof(bm));
	q = mkq(1, F_BASE | F(VHU_F_LOG_ALL), QSZ);
	dlog.bitmap = bm;
	dlog.size = sizeof(bm);
	struct virtio_net_hdr_mrg_rxbuf h;
	memset(&h, 0, sizeof(h));
	uint8_t pay[100];
	pattern(pay, sizeof(pay), 23);
	tx_put(q, 0, B_GPA + 0x3000, &h, pay, 100);
	struct vhu_pkt *pk[2];
	CHECK_EQ(deq(q, pk, 2), 1);
	CHECK(page_dirty(bm, TX_RING.used));
	CHECK_EQ(dirty_count(bm, sizeof(bm)), 1);
	vhu_pkt_free(pk[0]);

	/* without VHOST_F_LOG_ALL nothing is logged */
	reset_all();
	memset(bm, 0, sizeof(bm));
	q = mkq(0, F_BASE, QSZ);
	dlog.bitmap = bm;
	dlog.size = sizeof(bm);
	rx_buf(q, 0, BUF, 2048);
	CHECK_EQ(enq(q, &p, 1), 1);
	CHECK_EQ(dirty_count(bm, sizeof(bm)), 0);
	dlog.bitmap = NULL;
	dlog.size = 0;
	vhu_pkt_free(p);
}

/* ---- inflight tracking (INFLIGHT_SHMFD) ----------------------------------- */

/* A backend that dies mid-burst, after taking descriptors and before
 * completing them, restarts with a stale base from the frontend: the
 * inflight region brings it back to the first uncompleted head, so those
 * packets are delivered once, neither lost nor completed twice. Without
 * the region the same restart loses them. */
/* A vring started at base with the region attached, as SET_VRING_KICK
 * does it: recovery runs before any burst. */
static struct vhu_vq *start_tracked(uint16_t base, void *region)
{
	struct vhu_vq *q = mkq(1, F_BASE, QSZ);
	q->last_avail_idx = q->last_used_idx = base;
	q->inflight = region;
	vhu_spin_lock(&q->lock);
	vhu_inflight_recover(q);
	vhu_spin_unlock(&q->lock);
	return q;
}

/* Posts four packets, completes a burst of two, then takes heads 2 and 3
 * in the next burst and dies before completing them. The vring was
 * started with the region (NULL: none). */
static struct vhu_vq *crash_mid_burst(void *region, uint8_t pay[4][80])
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct vhu_pkt *pk[2];
	uint16_t hd;

	memset(&h, 0, sizeof(h));
	reset_all();
	inflight_room = QSZ; /* as GET/SET_INFLIGHT_FD set it */
	struct vhu_vq *q = start_tracked(0, region); /* fresh region: claimed */
	for (int i = 0; i < 4; i++) {
		pattern(pay[i], 80, (uint8_t)(10 + i));
		tx_put(q, (uint16_t)i, BUF + 0x100u * (unsigned)i, &h, pay[i], 80);
	}
	CHECK_EQ(deq(q, pk, 2), 2);
	vhu_pkt_free_bulk(pk, 2);
	CHECK_EQ(used_idx(q), 2);
	vhu_spin_lock(&q->lock);
	CHECK(vhu_split_avail_head(q, 0, &hd) && hd == 2);
	CHECK(vhu_split_avail_head(q, 1, &hd) && hd == 3);
	vhu_spin_unlock(&q->lock);
	return q;
}

/* After crash_mid_burst, the restart with the stale base 4: the two
 * packets in flight, delivered (once, intact) or lost. Returns how many
 * came out; the used index must say the same. */
static uint16_t restart_delivers(void *region, uint8_t pay[4][80])
{
	struct vhu_pkt *pk[8];

	struct vhu_vq *q = start_tracked(4, region);
	uint16_t n = deq(q, pk, 8);
	CHECK(n <= 2);
	for (uint16_t i = 0; i < n && i < 2; i++)
		CHECK(pkt_eq(pk[i], pay[2 + i], 80));
	vhu_pkt_free_bulk(pk, n);
	CHECK_EQ(used_idx(q), 2 + n);
	CHECK_EQ(deq(q, pk, 8), 0);
	return n;
}

static void test_inflight_split(void)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct vhu_pkt *pk[8];
	uint8_t pay[4][80];
	size_t stride = vhu_inflight_stride(QSZ);
	void *region = aligned_alloc(64, stride);
	struct vhu_inflight_split *r = region;

	memset(region, 0, stride);
	memset(&h, 0, sizeof(h));
	struct vhu_vq *q = crash_mid_burst(region, pay);
	CHECK_EQ(r->version, 1);
	CHECK_EQ(r->desc_num, QSZ);
	CHECK_EQ(r->used_idx, 2);
	CHECK_EQ(r->desc[0].inflight, 0);
	CHECK_EQ(r->desc[1].inflight, 0);
	CHECK_EQ(r->last_batch_head, 1);
	CHECK_EQ(r->desc[1].next, 0);
	CHECK_EQ(r->desc[2].inflight, 1);
	CHECK_EQ(r->desc[3].inflight, 1);
	CHECK(r->desc[3].counter > r->desc[2].counter);

	/* Restart: a new vring, base 4 (stale), the same region. */
	CHECK_EQ(restart_delivers(region, pay), 2);
	q = vqs[1];
	CHECK_EQ(q->last_avail_idx, 4);
	CHECK_EQ(r->used_idx, 4);

	/* A crash between publishing the used index and clearing the batch:
	 * the batch is recognised as done and not taken again. */
	r->desc[2].inflight = r->desc[3].inflight = 1;
	r->used_idx = 2;
	r->last_batch_head = 3;
	r->desc[3].next = 2;
	q = start_tracked(2, region); /* stale the other way */
	CHECK_EQ(q->last_avail_idx, 4);
	CHECK_EQ(r->used_idx, 4);
	CHECK_EQ(deq(q, pk, 8), 0);
	CHECK_EQ(used_idx(q), 4);

	/* Mechanism off: the same crash and the same stale base without a
	 * region lose both packets, so the delivery checked above is the
	 * region's doing (restart_delivers asserts the used index agrees). */
	crash_mid_burst(NULL, pay);
	CHECK_EQ(restart_delivers(NULL, pay), 0);

	/* A region made for smaller rings than the frontend then uses: the
	 * vring goes untracked at start, and heads past the region are never
	 * written even if it is attached to a running ring. (The region here
	 * is big enough for QSZ, so a write past QSZ / 2 would show.) */
	memset(region, 0, stride);
	reset_all();
	inflight_room = QSZ / 2;
	q = start_tracked(0, region);
	CHECK(q->inflight == NULL);
	tx_put(q, QSZ / 2 + 1, BUF + 0x600, &h, pay[0], 80);
	q->inflight = region; /* as if attached while the ring runs */
	CHECK_EQ(deq(q, pk, 8), 1);
	vhu_pkt_free_bulk(pk, 1);
	CHECK_EQ(used_idx(q), 1);
	CHECK_EQ(r->desc[QSZ / 2 + 1].inflight, 0);
	CHECK_EQ(r->desc[QSZ / 2 + 1].counter, 0);
	CHECK_EQ(r->desc[QSZ / 2 + 1].next, 0);
	CHECK_EQ(r->last_batch_head, 0);
	q->inflight = NULL;
	inflight_room = 0;
	free(region);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

int main(void)
{
	t_init();
	mem_setup();
	RUN(test_tx_one_desc);
	RUN(test_tx_chains);
	RUN(test_tx_indirect);
	RUN(test_tx_straddle);
	RUN(test_chain_direct);
	RUN(test_tx_multiseg);
	RUN(test_tx_pool_short);
	RUN(test_tx_wrap);
	RUN(test_tx_legacy_hdr);
	RUN(test_tx_drop_chains);
	RUN(test_tx_malformed);
	RUN(test_tx_break_isolation);
	RUN(test_tx_offload);
	RUN(test_features_fix);
	RUN(test_rx_basic);
	RUN(test_rx_hdr_rewrite);
	RUN(test_rx_too_big);
	RUN(test_rx_mrg);
	RUN(test_rx_straddle_indirect);
	RUN(test_rx_malformed);
	RUN(test_rx_mrg_break_midpacket);
	RUN(test_csum_fixup);
	RUN(test_rx_offload_hdr);
	RUN(test_notify);
	RUN(test_dirty_log);
	RUN(test_inflight_split);
	free_vqs();
	vhu_memmap_free(mem);
	vhu_pkt_pool_destroy(pool);
	return t_done("test_split");
}
