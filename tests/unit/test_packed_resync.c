/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhu_packed_resync: after a backend restart QEMU sends a stale packed
 * ring position; the ring's own flags must give back the real one, and a
 * ring that does not read unambiguously must leave the frontend's alone.
 *
 * A small model plays both sides on a bare descriptor array: the driver
 * posts single-slot buffers at its position, the device consumes them in
 * order and writes used descriptors, exactly as the flags move in a live
 * ring. The expected outcome always comes from the model, never from the
 * rule the code applies: for model-made rings it is where the model's
 * device stopped; for any other ring (every flag combination of small
 * rings, model rings with one slot altered) it is the set of positions
 * from which the model could have left those flags (oracle()).
 */
#include <stdint.h>
#include <linux/virtio_ring.h>
#include "vq/vq.h"
#include "t.h"

#define FA ((uint16_t)(1u << VRING_PACKED_DESC_F_AVAIL))
#define FU ((uint16_t)(1u << VRING_PACKED_DESC_F_USED))
#define MAXN 512

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

static bool same_bits(const struct vring_packed_desc *a, const struct vring_packed_desc *b)
{
	return (a->flags & (FA | FU)) == (b->flags & (FA | FU));
}

/* The device positions (p, w) from which the model, with some number of
 * buffers then posted, leaves exactly the AVAIL/USED bits of ring. Returns
 * how many; the first is stored. A model ring has exactly one. */
static unsigned oracle(const struct vring_packed_desc *ring, uint16_t n, uint16_t *mp, bool *mw)
{
	static struct vring_packed_desc r[MAXN];
	unsigned found = 0;

	for (uint16_t p = 0; p < n; p++) {
		for (int w = 0; w < 2; w++) {
			struct model m;
			unsigned diff = 0;
			model_init(&m, r, n);
			for (uint32_t s = 0; s < p + (w ? 0u : n); s++) {
				post(&m, 1);
				consume(&m, 1);
			}
			for (uint16_t i = 0; i < n; i++)
				diff += !same_bits(&r[i], &ring[i]);
			/* Each post changes one slot: keep the count of
			 * differing slots up to date instead of recounting. */
			for (uint16_t a = 0; diff && a < n; a++) {
				uint16_t i = m.drv;
				bool before = same_bits(&r[i], &ring[i]);
				post(&m, 1);
				diff = diff + before - same_bits(&r[i], &ring[i]);
			}
			if (!diff && found++ == 0) {
				*mp = p;
				*mw = w;
			}
		}
	}
	return found;
}

static const struct vhu_dirty_log no_log;

static struct vhu_vq *vq_for(struct vring_packed_desc *ring, uint16_t n)
{
	struct vhu_vq *vq = vhu_vq_new(1, "resync#0", &no_log);
	if (!vq)
		abort();
	vq->desc_packed = ring;
	vq->size = n;
	vq->features = 1ULL << VIRTIO_F_RING_PACKED;
	return vq;
}

enum outcome {
	STAY, /* the frontend's position fits: untouched, nothing logged */
	MOVE, /* exactly one other fits: moved there, logged */
	KEEP, /* none or several fit: the frontend's kept, a WARN says so */
};

/* Starts the vring at the frontend's (fp, fw), as SET_VRING_BASE leaves
 * it (avail and used alike), runs resync and checks the outcome against
 * the expected (ep, ew): position, both indices and wrap counters, the
 * return value, the event-suppression state, the log line. */
static void expect(struct vhu_vq *vq, uint16_t fp, bool fw, enum outcome o, uint16_t ep,
		   bool ew, int line)
{
	unsigned f0 = t_fail, logs = t_log_count;

	vq->last_avail_idx = vq->last_used_idx = fp;
	vq->avail_wrap = vq->used_wrap = fw;
	vq->signalled_used_valid = true;
	if (o != MOVE) {
		ep = fp;
		ew = fw;
	}
	vhu_spin_lock(&vq->lock);
	bool moved = vhu_packed_resync(vq);
	vhu_spin_unlock(&vq->lock);
	CHECK_EQ(moved, o == MOVE);
	CHECK_EQ(vq->last_avail_idx, ep);
	CHECK_EQ(vq->avail_wrap, ew);
	CHECK_EQ(vq->last_used_idx, ep);
	CHECK_EQ(vq->used_wrap, ew);
	/* After a move the last signalled used index means nothing. */
	CHECK_EQ(vq->signalled_used_valid, o != MOVE);
	CHECK_EQ(t_log_count - logs, o == STAY ? 0u : 1u);
	if (o == MOVE)
		CHECK(strstr(t_log_last, "resuming there") != NULL);
	if (o == KEEP)
		CHECK(strstr(t_log_last, "no other position fits") != NULL);
	if (t_fail != f0)
		fprintf(stderr, "  (line %d: ring of %u, frontend %u/%d, expected %s %u/%d)\n",
			line, vq->size, fp, fw, o == STAY ? "stay" : o == MOVE ? "move" : "keep",
			ep, ew);
}
#define EXPECT(vq, fp, fw, o, ep, ew) expect(vq, fp, fw, o, ep, ew, __LINE__)

/* The outcome for a frontend at (fp, fw) on a ring the oracle read. */
static void expect_oracle(struct vhu_vq *vq, uint16_t fp, bool fw, unsigned nfit,
			  const bool *fits_at, uint16_t op, bool ow, int line)
{
	enum outcome o = fits_at[fp * 2 + fw] ? STAY : nfit == 1 ? MOVE : KEEP;
	expect(vq, fp, fw, o, op, ow, line);
}

/* Marks in fits_at[p * 2 + w] every position the oracle accepts (at most
 * two exist in the rings used here; recomputed per position). */
static unsigned oracle_all(const struct vring_packed_desc *ring, uint16_t n, bool *fits_at,
			   uint16_t *op, bool *ow)
{
	static struct vring_packed_desc one[MAXN];
	unsigned nfit = oracle(ring, n, op, ow);

	memset(fits_at, 0, 2u * n);
	if (nfit == 1)
		fits_at[*op * 2 + *ow] = true;
	else if (nfit > 1) {
		/* Rare: find each by asking position by position. */
		for (uint16_t p = 0; p < n; p++) {
			for (int w = 0; w < 2; w++) {
				struct model m;
				model_init(&m, one, n);
				for (uint32_t s = 0; s < p + (w ? 0u : n); s++) {
					post(&m, 1);
					consume(&m, 1);
				}
				for (uint16_t a = 0; a <= n && !fits_at[p * 2 + w]; a++) {
					bool eq = true;
					for (uint16_t i = 0; i < n && eq; i++)
						eq = same_bits(&one[i], &ring[i]);
					fits_at[p * 2 + w] = eq;
					post(&m, 1);
				}
			}
		}
	}
	return nfit;
}

/* `steps` random post/consume rounds, then a restart at a random stale
 * position: resync lands on the model's device position, or stays if the
 * stale one happens to be right. A fresh vring started at the right
 * position stays. */
static void random_case(uint16_t n, unsigned steps, unsigned seed)
{
	static struct vring_packed_desc ring[MAXN];
	struct model m;
	uint16_t op = 0;
	bool ow = false;

	srand(seed);
	model_init(&m, ring, n);
	for (unsigned s = 0; s < steps; s++) {
		post(&m, (uint32_t)rand() % (n + 1u));
		consume(&m, (uint32_t)rand() % (n + 1u));
	}
	/* The model's rings fit exactly one position, its own. */
	CHECK_EQ(oracle(ring, n, &op, &ow), 1);
	CHECK(op == m.dev && ow == m.dev_wrap);

	struct vhu_vq *vq = vq_for(ring, n);
	uint16_t fp = (seed & 1) ? 0 : (uint16_t)((uint32_t)rand() % n);
	bool fw = (seed & 1) ? true : rand() & 1;
	bool right = fp == m.dev && fw == m.dev_wrap;
	EXPECT(vq, fp, fw, right ? STAY : MOVE, m.dev, m.dev_wrap);
	EXPECT(vq, m.dev, m.dev_wrap, STAY, 0, false);
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
	vq = vq_for(ring, 8);
	EXPECT(vq, 0, true, STAY, 0, true);
	EXPECT(vq, 5, false, MOVE, 0, true);
	/* Exactly one lap done and drained: position 0, wrap 0. */
	post(&m, 8);
	consume(&m, 8);
	EXPECT(vq, 0, true, MOVE, 0, false);
	EXPECT(vq, 0, false, STAY, 0, false);
	/* Full ring posted after 3 slots of the second lap: 3, wrap 0. */
	post(&m, 3);
	consume(&m, 3);
	post(&m, 8);
	EXPECT(vq, 0, true, MOVE, 3, false);
	EXPECT(vq, 3, true, MOVE, 3, false);
	EXPECT(vq, 3, false, STAY, 3, false);
	/* Drained again: 3, wrap 1 (the lap after). */
	consume(&m, 8);
	EXPECT(vq, 3, false, MOVE, 3, true);
	vhu_vq_free(vq);
}

/* A ring that does not read as single slots consumed in order (a chain's
 * second slot left as posted, or a hostile guest's flags): no position
 * fits, the frontend's is kept and a WARN says so. */
static void test_ambiguous(void)
{
	struct vring_packed_desc ring[16];
	struct model m;
	uint16_t op;
	bool ow;

	model_init(&m, ring, 16);
	post(&m, 10);
	consume(&m, 6);
	ring[2].flags = FA; /* looks posted again in the middle of used ones */
	CHECK_EQ(oracle(ring, 16, &op, &ow), 0);
	struct vhu_vq *vq = vq_for(ring, 16);
	/* Neither the stale 0 nor where the device was (6) is taken. */
	EXPECT(vq, 0, true, KEEP, 0, false);
	EXPECT(vq, 6, true, KEEP, 0, false);
	EXPECT(vq, 11, false, KEEP, 0, false);
	vhu_vq_free(vq);
}

/* Every AVAIL/USED combination of every slot of rings of 1..6 slots (plus
 * an unrelated WRITE bit here and there, which must not matter), from
 * every frontend position: the outcome the oracle predicts. */
static void test_exhaustive(void)
{
	struct vring_packed_desc ring[6];
	bool fits_at[12];
	unsigned rings = 0, one = 0, none = 0, several = 0;

	for (uint16_t n = 1; n <= 6; n++) {
		struct vhu_vq *vq = vq_for(ring, n);
		for (uint32_t code = 0; code < (1u << (2 * n)); code++) {
			uint16_t op = 0;
			bool ow = false;
			memset(ring, 0, sizeof(ring));
			for (uint16_t i = 0; i < n; i++) {
				uint32_t d = (code >> (2 * i)) & 3;
				ring[i].flags = (uint16_t)((d & 1 ? FA : 0) | (d & 2 ? FU : 0));
				if ((i + code) % 3 == 0)
					ring[i].flags |= VRING_DESC_F_WRITE;
			}
			unsigned nfit = oracle_all(ring, n, fits_at, &op, &ow);
			rings++;
			one += nfit == 1;
			none += nfit == 0;
			several += nfit > 1;
			for (uint16_t fp = 0; fp < n; fp++)
				for (int fw = 0; fw < 2; fw++)
					expect_oracle(vq, fp, fw, nfit, fits_at, op, ow, __LINE__);
		}
		vhu_vq_free(vq);
	}
	printf("exhaustive: %u rings, %u fit one position, %u none, %u several\n", rings,
	       one, none, several);
	/* Small rings have both kinds, so both paths were exercised. */
	CHECK(one > 0 && none > 0);
}

/* Model rings of real sizes with one slot's bits altered: whatever the
 * oracle reads in them, from the stale position 0/1 and from the model's. */
static void test_altered(void)
{
	static struct vring_packed_desc ring[MAXN];
	static bool fits_at[2 * MAXN];
	static const uint16_t sizes[] = { 7, 16, 64, 255, 256 };
	unsigned moved = 0, kept = 0;

	srand(12345);
	for (unsigned s = 0; s < VHU_ARRAY_SIZE(sizes); s++) {
		uint16_t n = sizes[s];
		struct vhu_vq *vq = vq_for(ring, n);
		for (unsigned c = 0; c < 24; c++) {
			struct model m;
			uint16_t op = 0;
			bool ow = false;
			model_init(&m, ring, n);
			for (unsigned k = 0; k < c % 7; k++) {
				post(&m, (uint32_t)rand() % (n + 1u));
				consume(&m, (uint32_t)rand() % (n + 1u));
			}
			uint16_t i = (uint16_t)((uint32_t)rand() % n);
			ring[i].flags = (uint16_t)((ring[i].flags & ~(FA | FU)) |
						   ((c & 1) ? FA : 0) | ((c & 2) ? FU : 0));
			unsigned nfit = oracle_all(ring, n, fits_at, &op, &ow);
			moved += nfit == 1;
			kept += nfit != 1;
			expect_oracle(vq, 0, true, nfit, fits_at, op, ow, __LINE__);
			expect_oracle(vq, m.dev, m.dev_wrap, nfit, fits_at, op, ow, __LINE__);
		}
		vhu_vq_free(vq);
	}
	CHECK(moved > 0 && kept > 0);
}

int main(void)
{
	t_init();
	RUN(test_random);
	RUN(test_edges);
	RUN(test_ambiguous);
	RUN(test_exhaustive);
	RUN(test_altered);
	return t_done("test_packed_resync");
}
