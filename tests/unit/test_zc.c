/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dequeue zero-copy (VHU_DEQUEUE_ZERO_COPY) on a split transmit ring in
 * fake guest memory: packets refer to the guest's buffers, which go back
 * to the guest when freed, in any order without IN_ORDER and in take
 * order with it; past half the ring and below the size floor bursts copy;
 * a packet kept for long is taken back rather than stall the ring; a
 * replaced memory map stays mapped while packets read from it; stopping
 * and freeing the vring take held buffers back with their packets still
 * readable. Packed rings and reconnects: tests/integ/loopback --zc.
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include "t.h"
#include "fake_guest.h"
#include "vq/held.h"

#define QSZ 16
#define TX_DESC 0x0800ull
#define TX_AVAIL 0x1800ull
#define TX_USED 0x2800ull
#define BUF B_GPA
#define SLOT 0x800ull
#define HDR ((uint32_t)sizeof(struct virtio_net_hdr_mrg_rxbuf))
#define FEATURES (F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MRG_RXBUF))

static struct vhu_vq *txq(uint64_t features)
{
	reset_all();
	struct vhu_vq *q = fg_vq(1, features, QSZ);
	q->held = vhu_held_new(q);
	q->desc = G(TX_DESC, QSZ * sizeof(struct vring_desc));
	q->avail = G(TX_AVAIL, 4 + 2 * QSZ + 2);
	q->used = G(TX_USED, 4 + 8 * QSZ + 2);
	q->used_gpa = TX_USED;
	return q;
}

static uint8_t frame_of(uint16_t head, uint32_t i)
{
	return (uint8_t)(head * 13 + i * 7);
}

/* A transmit buffer of len frame bytes (zero header) at head's slot. */
static void post(struct vhu_vq *q, uint16_t head, uint32_t len)
{
	uint8_t f[HDR + SLOT];
	memset(f, 0, HDR);
	for (uint32_t i = 0; i < len; i++)
		f[HDR + i] = frame_of(head, i);
	gw(BUF + head * SLOT, f, HDR + len);
	q->desc[head] = (struct vring_desc){ BUF + head * SLOT, HDR + len, 0, 0 };
	uint16_t idx = q->avail->idx;
	q->avail->ring[idx % QSZ] = head;
	__atomic_store_n(&q->avail->idx, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}

static bool intact(const struct vhu_pkt *p, uint16_t head, uint32_t len)
{
	uint8_t want[SLOT];
	for (uint32_t i = 0; i < len; i++)
		want[i] = frame_of(head, i);
	return pkt_eq(p, want, len);
}

static uint16_t deq(struct vhu_vq *q, struct vhu_pkt **pk)
{
	return vhu_zc_dequeue(q, pool, pk, 32);
}

static uint16_t used_idx(const struct vhu_vq *q)
{
	return __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
}

static void test_out_of_order(void)
{
	struct vhu_vq *q = txq(FEATURES);
	struct vhu_pkt *pk[32];

	for (uint16_t h = 0; h < 4; h++)
		post(q, h, 1000);
	REQUIRE(deq(q, pk) == 4);
	for (uint16_t h = 0; h < 4; h++) {
		CHECK_EQ(pk[h]->nb_segs, 2);
		CHECK_EQ(pk[h]->data_len, VHU_PKT_ZC_HEAD);
		CHECK(intact(pk[h], h, 1000));
	}
	/* The second segment is the guest's buffer itself. */
	CHECK(vhu_pkt_data(pk[1]->next) == (uint8_t *)G(BUF + SLOT + HDR + VHU_PKT_ZC_HEAD, 1));
	CHECK_EQ(used_idx(q), 0);
	/* Freed out of order: returned in that order by the next burst. */
	vhu_pkt_free(pk[2]);
	CHECK_EQ(deq(q, pk + 8), 0);
	CHECK_EQ(used_idx(q), 1);
	CHECK_EQ(q->used->ring[0].id, 2);
	CHECK_EQ(q->used->ring[0].len, 0);
	vhu_pkt_free(pk[0]);
	vhu_pkt_free(pk[3]);
	CHECK_EQ(deq(q, pk + 8), 0);
	CHECK_EQ(used_idx(q), 3);
	CHECK_EQ(q->used->ring[1].id, 0);
	CHECK_EQ(q->used->ring[2].id, 3);
	/* The last one out returns at its free, no burst needed. */
	vhu_pkt_free(pk[1]);
	CHECK_EQ(used_idx(q), 4);
	CHECK_EQ(q->used->ring[3].id, 1);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

static void test_in_order(void)
{
	struct vhu_vq *q = txq(FEATURES | F(VIRTIO_F_IN_ORDER));
	struct vhu_pkt *pk[32];

	for (uint16_t h = 0; h < 4; h++)
		post(q, h, 1000);
	REQUIRE(deq(q, pk) == 4);
	vhu_pkt_free(pk[2]);
	CHECK_EQ(deq(q, pk + 8), 0);
	CHECK_EQ(used_idx(q), 0);      /* 0 and 1 still out */
	vhu_pkt_free(pk[0]);
	CHECK_EQ(deq(q, pk + 8), 0);
	CHECK_EQ(used_idx(q), 1);
	vhu_pkt_free(pk[1]);
	CHECK_EQ(deq(q, pk + 8), 0);
	CHECK_EQ(used_idx(q), 3);
	vhu_pkt_free(pk[3]);
	CHECK_EQ(used_idx(q), 4);
	for (uint16_t i = 0; i < 4; i++)
		CHECK_EQ(q->used->ring[i].id, i);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

/* Past half the ring held, and below the size floor, bursts copy. */
static void test_bound_and_small(void)
{
	struct vhu_vq *q = txq(FEATURES);
	struct vhu_pkt *pk[32];

	for (uint16_t h = 0; h < 12; h++)
		post(q, h, h == 9 ? 100 : 1000);
	REQUIRE(deq(q, pk) == 12);
	unsigned held = 0;
	for (uint16_t h = 0; h < 12; h++) {
		held += pk[h]->nb_segs == 2;
		CHECK(intact(pk[h], h, h == 9 ? 100 : 1000));
	}
	CHECK_EQ(held, QSZ / 2);
	CHECK_EQ(pk[9]->nb_segs, 1);
	CHECK_EQ(pk[11]->nb_segs, 1);
	/* The copied ones went back at once, around the held ones. */
	CHECK_EQ(used_idx(q), 12 - QSZ / 2);
	vhu_pkt_free_bulk(pk, 12);
	CHECK_EQ(used_idx(q), 12);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

/* One packet kept while the ring keeps moving: it is taken back (its
 * buffer returned, the packet still readable) instead of stalling the
 * ring, on both orders. */
static void test_kept_long(void)
{
	for (int ordered = 0; ordered < 2; ordered++) {
		struct vhu_vq *q = txq(FEATURES | (ordered ? F(VIRTIO_F_IN_ORDER) : 0));
		struct vhu_pkt *pk[32], *kept;
		uint16_t next = 1, rounds = 0;
		bool back = false;

		post(q, 0, 1000);
		REQUIRE(deq(q, &kept) == 1);
		for (; rounds < 20 * QSZ && !back; rounds++) {
			post(q, next, 1000);
			uint16_t n = deq(q, pk);
			if (n != 1)
				break;
			vhu_pkt_free(pk[0]);
			next = (uint16_t)(next % (QSZ - 1) + 1);
			for (uint16_t i = 0; i < used_idx(q); i++)
				back |= q->used->ring[i % QSZ].id == 0;
		}
		CHECK(back);
		CHECK(intact(kept, 0, 1000));
		vhu_pkt_free(kept);
		CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
	}
}

/* A second mapping of the same guest memory, as SET_MEM_TABLE would
 * make: the map the packets are read from, replaced while they are out.
 * NULL where mremap cannot duplicate a shared mapping (qemu-user, which
 * runs the cross-built tests). */
static struct vhu_memmap *dup_map(void)
{
	size_t rs = mem->nregions * sizeof(mem->regions[0]);
	struct vhu_memmap *m = calloc(1, sizeof(*m) + rs);
	if (!m)
		abort();
	memcpy(m->regions, mem->regions, rs);
	m->refs = 1;
	for (uint32_t i = 0; i < mem->nregions; i++) {
		struct vhu_mem_region *r = &m->regions[i];
		uint8_t *a = mremap(mem->regions[i].mmap_addr, 0, r->mmap_size, MREMAP_MAYMOVE);
		if (a == MAP_FAILED) {
			vhu_memmap_free(m);
			return NULL;
		}
		if (!(r->share = malloc(sizeof(*r->share))))
			abort();
		*r->share = (struct vhu_mem_share){ .maps = 1, .adds = 1 };
		r->hva = a + (mem->regions[i].hva - (uint8_t *)mem->regions[i].mmap_addr);
		r->mmap_addr = a;
		m->nregions = i + 1;
	}
	return m;
}

static bool mapped(const void *p)
{
	unsigned char v;
	return mincore((void *)((uintptr_t)p & ~(uintptr_t)4095), 4096, &v) == 0;
}

static void test_mem_table_change(void)
{
	struct vhu_memmap *old = dup_map();
	struct vhu_pkt *pk[32];

	if (!old) {
		printf("  skipped: mremap cannot duplicate a shared mapping here\n");
		return;
	}
	struct vhu_vq *q = txq(FEATURES);

	q->mem = old;
	for (uint16_t h = 0; h < 3; h++)
		post(q, h, 1000);
	REQUIRE(deq(q, pk) == 3);
	const uint8_t *ext = vhu_pkt_data(pk[0]->next);
	CHECK(ext >= old->regions[1].hva && ext < old->regions[1].hva + old->regions[1].size);
	/* SET_MEM_TABLE: the vring moves to the new map, the device drops
	 * the old one; the packets keep it mapped. */
	q->mem = mem;
	vhu_memmap_put(old);
	CHECK(mapped(ext));
	for (uint16_t h = 0; h < 3; h++)
		CHECK(intact(pk[h], h, 1000));
	vhu_pkt_free_bulk(pk, 2);
	CHECK(mapped(ext));
	vhu_pkt_free(pk[2]);
	CHECK(!mapped(ext));           /* the last packet unmapped it */
	CHECK_EQ(used_idx(q), 3);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

/* GET_VRING_BASE: every buffer goes back now; the packets stay readable
 * and their frees return nothing twice. Then the vring is freed (a
 * disconnect) with packets out. */
static void test_stop_and_free(void)
{
	struct vhu_vq *q = txq(FEATURES);
	struct vhu_pkt *pk[32];

	for (uint16_t h = 0; h < 5; h++)
		post(q, h, 1000);
	REQUIRE(deq(q, pk) == 5);
	vhu_pkt_free(pk[3]);
	vhu_held_take_back(q);
	CHECK_EQ(used_idx(q), 5);
	CHECK_EQ(q->last_used_idx, q->last_avail_idx);
	for (uint16_t h = 0; h < 5; h++)
		if (h != 3)
			CHECK(intact(pk[h], h, 1000));
	vhu_pkt_free_bulk(pk, 3);
	CHECK_EQ(used_idx(q), 5);

	/* New traffic after the restart, then the vring freed under it. */
	post(q, 5, 1000);
	post(q, 6, 1000);
	REQUIRE(deq(q, pk) == 2);
	vhu_pkt_free(pk[0]);
	free_vqs();
	CHECK(intact(pk[1], 6, 1000));
	vhu_pkt_free(pk[1]);
	vhu_pkt_free(pk[4]);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

/* The checksum field a NEEDS_CSUM packet asks the application to write
 * is in the first segment, however far into the frame it lies. */
static void test_offload_head(void)
{
	struct vhu_vq *q = txq(FEATURES | F(VIRTIO_NET_F_CSUM));
	struct vhu_pkt *pk[32];

	post(q, 0, 1000);
	struct virtio_net_hdr_mrg_rxbuf h = { 0 };
	h.hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.hdr.csum_start = htole16(300);
	h.hdr.csum_offset = htole16(16);
	gw(BUF, &h, HDR);
	REQUIRE(deq(q, pk) == 1);
	CHECK_EQ(pk[0]->nb_segs, 2);
	CHECK_EQ(pk[0]->data_len, 318);
	CHECK(intact(pk[0], 0, 1000));
	vhu_pkt_free(pk[0]);
	CHECK_EQ(vhu_pkt_pool_avail(pool), POOL_N);
}

int main(void)
{
	t_init();
	mem_setup();
	RUN(test_out_of_order);
	RUN(test_in_order);
	RUN(test_bound_and_small);
	RUN(test_kept_long);
	RUN(test_mem_table_change);
	RUN(test_stop_and_free);
	RUN(test_offload_head);
	free_vqs();
	vhu_pkt_pool_destroy(pool);
	vhu_memmap_free(mem);
	return t_done("zc");
}
