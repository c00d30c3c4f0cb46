/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packed-ring data path against fake guest memory (fake_guest.h). The test
 * plays the guest driver: it writes descriptors at its own position with
 * the AVAIL/USED bits of its wrap counter, then reads the used
 * descriptors the backend wrote back at the device position.
 *
 * The burst loops read a run of single-descriptor buffers first and hand
 * whatever follows to the general walk (vq/gather.h); these cases
 * mix the two in every way that changes where one stops and the other
 * starts: chains, straddling buffers, packets that need several buffers,
 * packets too big for their buffer, bad descriptors, the ring's wrap.
 */
#include <endian.h>
#include <stdint.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include "net/net.h"
#include "vq/vq.h"
#include "t.h"
#include "fake_guest.h"

#define QSZ 16
#define HDR 12u
#define F_BASE (F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_RING_PACKED) | \
		F(VIRTIO_RING_F_INDIRECT_DESC) | F(VIRTIO_NET_F_CSUM) | \
		F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_HOST_ECN))
#define F_MRG (F_BASE | F(VIRTIO_NET_F_MRG_RXBUF))
#define FA ((uint16_t)(1u << VRING_PACKED_DESC_F_AVAIL))
#define FU ((uint16_t)(1u << VRING_PACKED_DESC_F_USED))

/* Ring, driver event, device event. */
static const uint64_t RING_GPA[2][3] = { { 0x0000, 0x1000, 0x1010 },
					 { 0x0800, 0x1800, 0x1810 } };
#define IND 0x3000ull
#define BUF 0x6000ull

/* The driver's side of one ring. */
struct drv {
	struct vhu_vq *q;
	struct vring_packed_desc *ring;
	uint16_t avail; /* next slot the driver fills */
	bool avail_wrap;
	uint16_t used;  /* next slot the driver expects used */
	bool used_wrap;
};

static struct drv mkq(uint16_t index, uint64_t features)
{
	const uint64_t *g = RING_GPA[index & 1];
	struct vhu_vq *q = fg_vq(index, features | F(VIRTIO_F_RING_PACKED), QSZ);

	q->desc_packed = G(g[0], QSZ * sizeof(struct vring_packed_desc));
	q->driver_event = G(g[1], sizeof(struct vring_packed_desc_event));
	q->device_event = G(g[2], sizeof(struct vring_packed_desc_event));
	q->desc_gpa = g[0];
	q->avail_wrap = q->used_wrap = true;
	return (struct drv){ .q = q, .ring = q->desc_packed, .avail_wrap = true,
			     .used_wrap = true };
}

/* Moves both positions of the driver (and the backend) to slot `at`, as if
 * the ring had been used up to there in this lap (wrap counter 1). */
static void start_at(struct drv *d, uint16_t at)
{
	for (uint16_t i = 0; i < at; i++)
		d->ring[i].flags = FA | FU;
	d->avail = d->used = at;
	d->q->last_avail_idx = d->q->last_used_idx = at;
}

/* One descriptor; the buffer's flags (AVAIL/USED) are written last. */
static void put(struct drv *d, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags)
{
	struct vring_packed_desc *s = &d->ring[d->avail];
	s->addr = addr;
	s->len = len;
	s->id = id;
	__atomic_store_n(&s->flags, (uint16_t)(flags | (d->avail_wrap ? FA : FU)),
			 __ATOMIC_RELEASE);
	if (++d->avail == QSZ) {
		d->avail = 0;
		d->avail_wrap = !d->avail_wrap;
	}
}

/* The next used buffer: true with its id and len when the backend wrote
 * one there; moves past its ndesc slots. */
static bool take_used(struct drv *d, uint16_t ndesc, uint16_t *id, uint32_t *len,
		      uint16_t *flags)
{
	const struct vring_packed_desc *s = &d->ring[d->used];
	uint16_t f = __atomic_load_n(&s->flags, __ATOMIC_ACQUIRE);
	if (!(f & FA) != !d->used_wrap || !(f & FU) != !d->used_wrap)
		return false;
	*id = s->id;
	*len = s->len;
	if (flags)
		*flags = f;
	d->used = (uint16_t)(d->used + ndesc);
	if (d->used >= QSZ) {
		d->used = (uint16_t)(d->used - QSZ);
		d->used_wrap = !d->used_wrap;
	}
	return true;
}

#define EXPECT_USED(d, ndesc, want_id, want_len) do {                           \
	uint16_t id_ = 0xffff; uint32_t len_ = 0xffffffff;                       \
	CHECK(take_used(d, ndesc, &id_, &len_, NULL));                          \
	CHECK_EQ(id_, want_id);                                                 \
	CHECK_EQ(len_, want_len);                                               \
} while (0)

static bool no_more_used(struct drv *d)
{
	uint16_t id = 0;
	uint32_t len = 0;
	struct drv copy = *d;
	return !take_used(&copy, 1, &id, &len, NULL);
}

static uint16_t enq(struct drv *d, struct vhu_pkt *const *pkts, uint16_t n)
{
	vhu_spin_lock(&d->q->lock);
	uint16_t r = vhu_packed_enqueue(d->q, pkts, n);
	vhu_spin_unlock(&d->q->lock);
	return r;
}

static uint16_t avail(struct drv *d, uint16_t max)
{
	vhu_spin_lock(&d->q->lock);
	uint16_t r = vhu_packed_avail_count(d->q, max);
	vhu_spin_unlock(&d->q->lock);
	return r;
}

static uint16_t deq(struct drv *d, struct vhu_pkt **pkts, uint16_t n)
{
	vhu_spin_lock(&d->q->lock);
	uint16_t r = vhu_packed_dequeue(d->q, pool, pkts, n);
	vhu_spin_unlock(&d->q->lock);
	return r;
}

static void free_all(struct vhu_pkt **p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		vhu_pkt_free(p[i]);
}

/* A packet that landed in a receive buffer: header, then the bytes of
 * mkpkt(len, seed). */
static void check_rx(uint64_t gpa, uint32_t len, uint8_t seed, uint16_t num_buffers,
		     int line)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	uint8_t want[2048], got[2048];
	unsigned f0 = t_fail;

	gr(gpa, &h, sizeof(h));
	CHECK_EQ(le16toh(h.num_buffers), num_buffers);
	CHECK_EQ(h.hdr.flags, 0);
	CHECK_EQ(h.hdr.gso_type, 0);
	pattern(want, len, seed);
	gr(gpa + HDR, got, len);
	CHECK_MEM(got, want, len);
	if (t_fail != f0)
		fprintf(stderr, "  (check_rx at line %d)\n", line);
}
#define CHECK_RX(gpa, len, seed, nb) check_rx(gpa, len, seed, nb, __LINE__)

/* A transmit buffer: header (no offloads) and mkpkt-style bytes. */
static uint32_t tx_fill(uint64_t gpa, uint32_t len, uint8_t seed)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	uint8_t pay[2048];
	memset(&h, 0, sizeof(h));
	pattern(pay, len, seed);
	gw(gpa, &h, HDR);
	gw(gpa + HDR, pay, len);
	return HDR + len;
}

static bool pkt_is(const struct vhu_pkt *p, uint32_t len, uint8_t seed)
{
	uint8_t want[2048];
	pattern(want, len, seed);
	return pkt_eq(p, want, len);
}

/* ---- receive (host -> guest) ------------------------------------------- */

/* A run that crosses the end of the ring, twice round: every used
 * descriptor carries its buffer's id, the bytes written and the used bits
 * of its lap; positions and wrap counters come back where they started. */
static void test_rx_run_wrap(void)
{
	reset_all();
	struct drv d = mkq(0, F_MRG);
	start_at(&d, 11);
	for (unsigned lap = 0; lap < 3; lap++) {
		struct vhu_pkt *p[12];
		for (uint16_t i = 0; i < 12; i++) {
			put(&d, BUF + 0x800u * i, 0x800, (uint16_t)(3 + i), VRING_DESC_F_WRITE);
			p[i] = mkpkt(60u + i, (uint8_t)(lap * 16 + i));
		}
		CHECK_EQ(enq(&d, p, 10), 10); /* two buffers stay available */
		for (uint16_t i = 0; i < 10; i++) {
			uint16_t id = 0, fl = 0;
			uint32_t len = 0;
			CHECK(take_used(&d, 1, &id, &len, &fl));
			CHECK_EQ(id, 3 + i);
			CHECK_EQ(len, HDR + 60 + i);
			CHECK(fl & VRING_DESC_F_WRITE);
			CHECK_RX(BUF + 0x800u * i, 60u + i, (uint8_t)(lap * 16 + i), 1);
		}
		CHECK(no_more_used(&d));
		CHECK_EQ(enq(&d, p + 10, 2), 2);
		EXPECT_USED(&d, 1, 13, HDR + 70);
		EXPECT_USED(&d, 1, 14, HDR + 71);
		free_all(p, 12);
	}
	CHECK_EQ(d.q->last_avail_idx, (11 + 36) % QSZ);
	CHECK_EQ(d.q->last_used_idx, (11 + 36) % QSZ);
	CHECK_EQ(d.q->avail_wrap, d.avail_wrap);
	CHECK_EQ(d.q->used_wrap, d.used_wrap);
	CHECK_EQ(d.q->stats.packets, 36);
	CHECK(!d.q->broken);
}

/* The count of available buffers stops at the caller's max (it reads
 * each descriptor, and on a full ring the last it would read are those
 * the guest is writing again), counts a chain once, and crosses the
 * wrap. */
static void test_avail_count_max(void)
{
	reset_all();
	struct drv d = mkq(0, F_MRG);
	start_at(&d, 11);
	for (uint16_t i = 0; i < 6; i++)
		put(&d, BUF + 0x800u * i, 0x800, i, VRING_DESC_F_WRITE);
	put(&d, BUF + 0x4000, 0x400, 6, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
	put(&d, BUF + 0x4400, 0x400, 6, VRING_DESC_F_WRITE);
	for (uint16_t i = 7; i < 12; i++)
		put(&d, BUF + 0x800u * i, 0x800, i, VRING_DESC_F_WRITE);
	CHECK_EQ(avail(&d, 0), 0);
	CHECK_EQ(avail(&d, 1), 1);
	CHECK_EQ(avail(&d, 4), 4);  /* the four before the wrap */
	CHECK_EQ(avail(&d, 7), 7);  /* past the wrap, the chain one */
	CHECK_EQ(avail(&d, 64), 12);
	CHECK_EQ(d.q->last_avail_idx, 11); /* nothing taken */
	CHECK(!d.q->broken);
}

/* Singles, a two-descriptor chain, singles: the run stops at the chain,
 * the general walk takes it and the singles after it; the chain's used
 * descriptor skips both its slots. A buffer straddling the two regions
 * does the same. */
static void test_rx_run_then_chain(void)
{
	reset_all();
	struct drv d = mkq(0, F_BASE);
	struct vhu_pkt *p[6];
	for (unsigned i = 0; i < 6; i++)
		p[i] = mkpkt(100, (uint8_t)(i + 1));
	put(&d, BUF, 0x400, 0, VRING_DESC_F_WRITE);
	put(&d, BUF + 0x400, 0x400, 1, VRING_DESC_F_WRITE);
	put(&d, BUF + 0x800, 40, 9, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
	put(&d, BUF + 0xc00, 0x400, 2, VRING_DESC_F_WRITE); /* chain's id: the last's */
	put(&d, B_GPA - 50, 0x400, 3, VRING_DESC_F_WRITE);  /* straddles A and B */
	put(&d, BUF + 0x1000, 0x400, 4, VRING_DESC_F_WRITE);
	CHECK_EQ(enq(&d, p, 6), 5); /* five buffers: the sixth packet waits */
	EXPECT_USED(&d, 1, 0, HDR + 100);
	EXPECT_USED(&d, 1, 1, HDR + 100);
	EXPECT_USED(&d, 2, 2, HDR + 100);
	EXPECT_USED(&d, 1, 3, HDR + 100);
	EXPECT_USED(&d, 1, 4, HDR + 100);
	CHECK(no_more_used(&d));
	CHECK_RX(BUF, 100, 1, 1);
	CHECK_RX(B_GPA - 50, 100, 4, 1);
	CHECK_RX(BUF + 0x1000, 100, 5, 1);
	uint8_t want[100], got[100];
	pattern(want, 100, 3); /* the chain: 40 bytes here, the rest there */
	gr(BUF + 0x800 + HDR, got, 40 - HDR);
	gr(BUF + 0xc00, got + 40 - HDR, 100 - (40 - HDR));
	CHECK_MEM(got, want, 100);
	CHECK_EQ(d.q->last_avail_idx, 6);
	CHECK(!d.q->broken);
	free_all(p, 6);
}

/* MRG_RXBUF: a packet bigger than its buffer stops the run and takes
 * several buffers through the general walk (num_buffers says how many,
 * each used descriptor what landed in it); the next packet goes on from
 * there. */
static void test_rx_mrg_mid_run(void)
{
	reset_all();
	struct drv d = mkq(0, F_MRG);
	for (uint16_t i = 0; i < 5; i++)
		put(&d, BUF + 0x400u * i, 100, (uint16_t)(10 + i), VRING_DESC_F_WRITE);
	struct vhu_pkt *p[3] = { mkpkt(60, 1), mkpkt(150, 2), mkpkt(60, 3) };
	CHECK_EQ(enq(&d, p, 3), 3);
	EXPECT_USED(&d, 1, 10, HDR + 60);
	EXPECT_USED(&d, 1, 11, 100);
	EXPECT_USED(&d, 1, 12, HDR + 150 - 100);
	EXPECT_USED(&d, 1, 13, HDR + 60);
	CHECK(no_more_used(&d));
	CHECK_RX(BUF, 60, 1, 1);
	CHECK_RX(BUF + 0xc00, 60, 3, 1);
	uint8_t want[150], got[150];
	pattern(want, 150, 2);
	gr(BUF + 0x400 + HDR, got, 100 - HDR);
	gr(BUF + 0x800, got + 100 - HDR, 150 - (100 - HDR));
	CHECK_MEM(got, want, 150);
	struct virtio_net_hdr_mrg_rxbuf h;
	gr(BUF + 0x400, &h, sizeof(h));
	CHECK_EQ(le16toh(h.num_buffers), 2);
	/* Not enough buffers left for a big packet: it waits, nothing used. */
	struct vhu_pkt *big = mkpkt(300, 4);
	CHECK_EQ(enq(&d, &big, 1), 0);
	CHECK(no_more_used(&d));
	CHECK_EQ(d.q->last_avail_idx, 4);
	CHECK(!d.q->broken);
	free_all(p, 3);
	vhu_pkt_free(big);
}

/* Without MRG_RXBUF a packet bigger than the buffer is dropped and the
 * buffer kept for the next packet, in the run as in the general walk. */
static void test_rx_too_big(void)
{
	reset_all();
	struct drv d = mkq(0, F_BASE);
	put(&d, BUF, 100, 7, VRING_DESC_F_WRITE);
	put(&d, BUF + 0x400, 100, 8, VRING_DESC_F_WRITE);
	struct vhu_pkt *p[3] = { mkpkt(200, 1), mkpkt(60, 2), mkpkt(60, 3) };
	CHECK_EQ(enq(&d, p, 3), 3);
	EXPECT_USED(&d, 1, 7, HDR + 60);
	EXPECT_USED(&d, 1, 8, HDR + 60);
	CHECK(no_more_used(&d));
	CHECK_RX(BUF, 60, 2, 1);
	CHECK_RX(BUF + 0x400, 60, 3, 1);
	CHECK_EQ(d.q->stats.drops, 1);
	CHECK_EQ(d.q->stats.packets, 2);
	free_all(p, 3);
}

/* A bad descriptor after a good run: the run's packets are delivered and
 * handed back, then the queue breaks and stays broken. */
static void test_rx_bad_after_run(void)
{
	static const struct {
		uint64_t addr;
		uint32_t len;
		uint16_t id, flags;
	} bad[] = {
		{ MEM_END + 0x1000, 0x400, 3, VRING_DESC_F_WRITE },  /* outside memory */
		{ BUF + 0x800, 0x400, QSZ, VRING_DESC_F_WRITE },     /* id beyond ring */
		{ BUF + 0x800, 0x400, 3, 0 },                        /* read-only */
		{ MEM_END - 0x10, 0x400, 3, VRING_DESC_F_WRITE },    /* runs off the end */
	};
	for (unsigned c = 0; c < VHU_ARRAY_SIZE(bad); c++) {
		reset_all();
		struct drv d = mkq(0, F_MRG);
		struct vhu_pkt *p[4];
		for (uint16_t i = 0; i < 4; i++)
			p[i] = mkpkt(60, (uint8_t)i);
		put(&d, BUF, 0x400, 0, VRING_DESC_F_WRITE);
		put(&d, BUF + 0x400, 0x400, 1, VRING_DESC_F_WRITE);
		put(&d, bad[c].addr, bad[c].len, bad[c].id, bad[c].flags);
		put(&d, BUF + 0xc00, 0x400, 2, VRING_DESC_F_WRITE);
		CHECK_EQ(enq(&d, p, 4), 2);
		CHECK(d.q->broken);
		EXPECT_USED(&d, 1, 0, HDR + 60);
		EXPECT_USED(&d, 1, 1, HDR + 60);
		CHECK(no_more_used(&d));
		free_all(p, 4);
	}
}

/* ---- transmit (guest -> host) ------------------------------------------ */

/* A run, a chain (header and frame apart), an indirect table, a run again,
 * across the ring's end: every packet arrives whole and in order, every
 * buffer comes back with len 0. */
static void test_tx_mixed(void)
{
	reset_all();
	struct drv d = mkq(1, F_BASE);
	start_at(&d, 12);
	struct vring_packed_desc *t = G(IND, 2 * sizeof(*t));
	uint32_t l;

	l = tx_fill(BUF, 60, 1);
	put(&d, BUF, l, 0, 0);
	l = tx_fill(BUF + 0x400, 61, 2);
	put(&d, BUF + 0x400, l, 1, 0);
	tx_fill(BUF + 0x800, 62, 3); /* header alone, then the frame */
	put(&d, BUF + 0x800, HDR, 9, VRING_DESC_F_NEXT);
	put(&d, BUF + 0x800 + HDR, 62, 2, 0);
	tx_fill(BUF + 0xc00, 63, 4);
	t[0] = (struct vring_packed_desc){ .addr = BUF + 0xc00, .len = HDR };
	t[1] = (struct vring_packed_desc){ .addr = BUF + 0xc00 + HDR, .len = 63 };
	put(&d, IND, 2 * sizeof(*t), 3, VRING_DESC_F_INDIRECT);
	for (uint16_t i = 0; i < 3; i++) {
		l = tx_fill(BUF + 0x1000 + 0x400u * i, 64u + i, (uint8_t)(5 + i));
		put(&d, BUF + 0x1000 + 0x400u * i, l, (uint16_t)(4 + i), 0);
	}
	struct vhu_pkt *pk[16];
	CHECK_EQ(deq(&d, pk, 16), 7);
	for (unsigned i = 0; i < 7; i++)
		CHECK(pkt_is(pk[i], 60 + i, (uint8_t)(1 + i)));
	EXPECT_USED(&d, 1, 0, 0);
	EXPECT_USED(&d, 1, 1, 0);
	EXPECT_USED(&d, 2, 2, 0);
	EXPECT_USED(&d, 1, 3, 0);
	EXPECT_USED(&d, 1, 4, 0);
	EXPECT_USED(&d, 1, 5, 0);
	EXPECT_USED(&d, 1, 6, 0);
	CHECK(no_more_used(&d));
	CHECK_EQ(d.q->last_avail_idx, (12 + 8) % QSZ);
	CHECK(!d.q->avail_wrap);
	CHECK_EQ(d.q->stats.packets, 7);
	CHECK(!d.q->broken);
	free_all(pk, 7);
}

/* In a run: a buffer shorter than the virtio-net header breaks the queue
 * (the buffers before it are delivered, it is handed back too); a header
 * with a bad offload drops just that packet. */
static void test_tx_bad_in_run(void)
{
	reset_all();
	struct drv d = mkq(1, F_BASE);
	struct vhu_pkt *pk[8];
	uint32_t l = tx_fill(BUF, 60, 1);
	put(&d, BUF, l, 0, 0);
	struct virtio_net_hdr_mrg_rxbuf h;
	memset(&h, 0, sizeof(h));
	h.hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.hdr.csum_start = htole16(50);
	h.hdr.csum_offset = htole16(16); /* past the 60-byte frame */
	l = tx_fill(BUF + 0x400, 60, 2);
	gw(BUF + 0x400, &h, HDR);
	put(&d, BUF + 0x400, l, 1, 0);
	l = tx_fill(BUF + 0x800, 60, 3);
	put(&d, BUF + 0x800, l, 2, 0);
	CHECK_EQ(deq(&d, pk, 8), 2);
	CHECK(pkt_is(pk[0], 60, 1));
	CHECK(pkt_is(pk[1], 60, 3));
	CHECK_EQ(d.q->stats.errors, 1);
	CHECK(!d.q->broken);
	EXPECT_USED(&d, 1, 0, 0);
	EXPECT_USED(&d, 1, 1, 0);
	EXPECT_USED(&d, 1, 2, 0);
	free_all(pk, 2);

	l = tx_fill(BUF, 60, 4);
	put(&d, BUF, l, 3, 0);
	put(&d, BUF + 0x400, HDR - 2, 4, 0); /* shorter than the header */
	l = tx_fill(BUF + 0x800, 60, 5);
	put(&d, BUF + 0x800, l, 5, 0);
	CHECK_EQ(deq(&d, pk, 8), 1);
	CHECK(pkt_is(pk[0], 60, 4));
	CHECK(d.q->broken);
	EXPECT_USED(&d, 1, 3, 0);
	EXPECT_USED(&d, 1, 4, 0);
	CHECK(no_more_used(&d));
	free_all(pk, 1);
}

/* ---- dirty logging ------------------------------------------------------ */

/* With VHOST_F_LOG_ALL: receive logs the buffers written (a run, and a
 * packet over two buffers through the general walk) and the ring's page
 * for the used descriptors; transmit logs only the ring's page. */
static void test_dirty_log(void)
{
	uint8_t bm[(MEM_END / 4096 + 7) / 8];

	reset_all();
	memset(bm, 0, sizeof(bm));
	struct drv d = mkq(0, F_MRG | F(VHU_F_LOG_ALL));
	dlog.bitmap = bm;
	dlog.size = sizeof(bm);
	put(&d, B_GPA + 0x1000, 0x400, 0, VRING_DESC_F_WRITE);  /* page 17 */
	put(&d, B_GPA + 0x3000, 100, 1, VRING_DESC_F_WRITE);    /* page 19 */
	put(&d, B_GPA + 0x5000, 0x400, 2, VRING_DESC_F_WRITE);  /* page 21 */
	put(&d, B_GPA + 0x9000, 0x400, 3, VRING_DESC_F_WRITE);  /* not reached */
	struct vhu_pkt *p[2] = { mkpkt(60, 1), mkpkt(150, 2) };
	CHECK_EQ(enq(&d, p, 2), 2);
	EXPECT_USED(&d, 1, 0, HDR + 60);
	EXPECT_USED(&d, 1, 1, 100);
	EXPECT_USED(&d, 1, 2, HDR + 150 - 100);
	CHECK(page_dirty(bm, B_GPA + 0x1000));
	CHECK(page_dirty(bm, B_GPA + 0x3000));
	CHECK(page_dirty(bm, B_GPA + 0x5000));
	CHECK(page_dirty(bm, RING_GPA[0][0]));
	CHECK(!page_dirty(bm, B_GPA + 0x9000));
	CHECK_EQ(dirty_count(bm, sizeof(bm)), 4);
	free_all(p, 2);

	reset_all();
	memset(bm, 0, sizeof(bm));
	d = mkq(1, F_BASE | F(VHU_F_LOG_ALL));
	dlog.bitmap = bm;
	dlog.size = sizeof(bm);
	uint32_t l = tx_fill(B_GPA + 0x3000, 100, 3);
	put(&d, B_GPA + 0x3000, l, 0, 0);
	struct vhu_pkt *pk[2];
	CHECK_EQ(deq(&d, pk, 2), 1);
	CHECK(page_dirty(bm, RING_GPA[1][0]));
	CHECK_EQ(dirty_count(bm, sizeof(bm)), 1);
	vhu_pkt_free(pk[0]);
	dlog.bitmap = NULL;
	dlog.size = 0;
}

int main(void)
{
	t_init();
	mem_setup();
	RUN(test_rx_run_wrap);
	RUN(test_avail_count_max);
	RUN(test_rx_run_then_chain);
	RUN(test_rx_mrg_mid_run);
	RUN(test_rx_too_big);
	RUN(test_rx_bad_after_run);
	RUN(test_tx_mixed);
	RUN(test_tx_bad_in_run);
	RUN(test_dirty_log);
	free_vqs();
	vhu_memmap_free(mem);
	vhu_pkt_pool_destroy(pool);
	return t_done("test_packed");
}
