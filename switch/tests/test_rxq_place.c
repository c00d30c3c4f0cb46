/* SPDX-License-Identifier: BSD-3-Clause */
/* Rx queue placement (core/rxq_place.h): pins honoured, busy queues
 * spread biggest first, a fresh switch's queues spread by count, and the
 * answer independent of the order the queues are listed in. */
#include <stdlib.h>
#include "rxq_place.h"
#include "sw_t.h"

#define Q(port, q, pin, cyc) ((struct sw_rxq_load){ (port), (q), (pin), (cyc) })

static uint64_t load_of(const struct sw_rxq_load *qs, unsigned n, const unsigned *to, unsigned pmd)
{
	uint64_t s = 0;
	for (unsigned i = 0; i < n; i++)
		s += to[i] == pmd ? qs[i].cycles : 0;
	return s;
}

/* Nothing measured yet: the queues of one port on different PMDs, and
 * the queue 0s of different ports too (the old round-robin put every
 * queue 0 on PMD 0). */
static void test_fresh(void)
{
	struct sw_rxq_load qs[] = { Q(0, 0, -1, 0), Q(0, 1, -1, 0), Q(1, 0, -1, 0), Q(1, 1, -1, 0) };
	unsigned to[4];

	sw_rxq_place(qs, 4, 2, to);
	CHECK(to[0] != to[1]);
	CHECK(to[2] != to[3]);
	CHECK(to[0] != to[2]);

	struct sw_rxq_load ones[] = { Q(0, 0, -1, 0), Q(1, 0, -1, 0), Q(2, 0, -1, 0), Q(3, 0, -1, 0) };
	sw_rxq_place(ones, 4, 2, to);
	unsigned on0 = 0;
	for (int i = 0; i < 4; i++)
		on0 += to[i] == 0;
	CHECK_EQ(on0, 2);
	/* A busy port on one PMD, a new guest's two queues without load:
	 * one on each PMD (not both on the idle one), the idle PMD first. */
	struct sw_rxq_load grow[] = { Q(0, 0, -1, 500), Q(1, 0, -1, 0), Q(1, 1, -1, 0) };
	sw_rxq_place(grow, 3, 2, to);
	CHECK(to[1] != to[2]);
	CHECK(to[1] != to[0]);
	/* Three PMDs, three one-queue ports: one each. */
	sw_rxq_place(ones, 3, 3, to);
	CHECK(to[0] != to[1] && to[1] != to[2] && to[0] != to[2]);
}

/* Biggest first onto the least loaded PMD (OVS's "cycles"). */
static void test_cycles(void)
{
	struct sw_rxq_load qs[] = { Q(0, 0, -1, 5), Q(1, 0, -1, 100), Q(2, 0, -1, 10),
				    Q(3, 0, -1, 90) };
	unsigned to[5];

	sw_rxq_place(qs, 4, 2, to);
	CHECK(to[1] != to[3]);          /* the two busy ones apart */
	CHECK_EQ(to[2], to[3]);         /* 10 joins 90 */
	CHECK_EQ(to[0], to[1]);         /* 5 joins 100: 105 against 100 */
	CHECK_EQ(load_of(qs, 4, to, to[1]), 105);
	CHECK_EQ(sw_rxq_max_load(qs, 4, 2, to), 105);
	unsigned all0[4] = { 0, 0, 0, 0 };
	CHECK_EQ(sw_rxq_max_load(qs, 4, 2, all0), 205);

	/* One busy port with four queues and an idle one: the busy queues
	 * two and two, whatever their order. */
	struct sw_rxq_load mq[] = { Q(5, 0, -1, 40), Q(5, 1, -1, 30), Q(5, 2, -1, 20),
				    Q(5, 3, -1, 10), Q(6, 0, -1, 0) };
	sw_rxq_place(mq, 5, 2, to);
	CHECK_EQ(load_of(mq, 5, to, 0), 50);
	CHECK_EQ(load_of(mq, 5, to, 1), 50);
}

/* Pinned queues stay; their load counts where they are. */
static void test_pins(void)
{
	struct sw_rxq_load qs[] = { Q(0, 0, 1, 1000), Q(1, 0, -1, 10), Q(2, 0, -1, 10),
				    Q(3, 0, 0, 0), Q(4, 0, 7, 50) };
	unsigned to[5];

	sw_rxq_place(qs, 5, 2, to);
	CHECK_EQ(to[0], 1);
	CHECK_EQ(to[3], 0);
	/* PMD 1 carries the pinned 1000: the rest go to PMD 0, the pin to a
	 * PMD that does not exist (7) included. */
	CHECK_EQ(to[1], 0);
	CHECK_EQ(to[2], 0);
	CHECK_EQ(to[4], 0);
	/* A pin to PMD 0 of a one-PMD switch, and everything on it. */
	sw_rxq_place(qs, 5, 1, to);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(to[i], 0);
}

static void test_edges(void)
{
	unsigned to[1] = { 99 };
	sw_rxq_place(NULL, 0, 2, to);
	CHECK_EQ(to[0], 99);
	/* npmd out of range is clamped, never indexes past the PMDs. */
	struct sw_rxq_load one[] = { Q(0, 0, -1, 1) };
	sw_rxq_place(one, 1, 0, to);
	CHECK_EQ(to[0], 0);
	sw_rxq_place(one, 1, SW_MAX_PMDS + 5, to);
	CHECK(to[0] < SW_MAX_PMDS);
}

/* The most queues a switch can have, random loads, listed in two orders:
 * the same PMD for each queue both times, every PMD in range, and the
 * greedy's bound: no PMD above the average by more than the biggest queue. */
static void test_full_and_order(void)
{
	static struct sw_rxq_load a[SW_MAX_RXQS], b[SW_MAX_RXQS];
	static unsigned ta[SW_MAX_RXQS], tb[SW_MAX_RXQS], perm[SW_MAX_RXQS];
	unsigned n = SW_MAX_RXQS, np = SW_MAX_PMDS;
	uint64_t total = 0, biggest = 0;

	srand(19);
	for (unsigned i = 0; i < n; i++) {
		a[i] = Q((uint16_t)(i / VHU_MAX_QUEUE_PAIRS), (uint16_t)(i % VHU_MAX_QUEUE_PAIRS),
			 i % 97 == 0 ? (int)(i % np) : -1, (uint64_t)(rand() % 1000));
		total += a[i].cycles;
		biggest = a[i].cycles > biggest ? a[i].cycles : biggest;
		perm[i] = i;
	}
	for (unsigned i = n - 1; i > 0; i--) {
		unsigned j = (unsigned)rand() % (i + 1), t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	for (unsigned i = 0; i < n; i++)
		b[i] = a[perm[i]];
	sw_rxq_place(a, n, np, ta);
	sw_rxq_place(b, n, np, tb);
	unsigned same = 0, pins = 0, range = 0;
	for (unsigned i = 0; i < n; i++) {
		same += ta[perm[i]] == tb[i];
		range += ta[i] < np;
		pins += a[i].pin < 0 || ta[i] == (unsigned)a[i].pin;
	}
	CHECK_EQ(same, n);
	CHECK_EQ(range, n);
	CHECK_EQ(pins, n);
	for (unsigned m = 0; m < np; m++)
		CHECK(load_of(a, n, ta, m) <= total / np + biggest);
}

int main(void)
{
	RUN(test_fresh);
	RUN(test_cycles);
	RUN(test_pins);
	RUN(test_edges);
	RUN(test_full_and_order);
	return t_done("switch_rxq_place");
}
