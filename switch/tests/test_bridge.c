/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The learning bridge (core/bridge.h): learning, lookups, the decision for
 * a frame, flooding, MAC moves, aging on an injected clock, a full window,
 * flushing a port, one MAC in two VLANs.
 */
#include <errno.h>
#include "bridge.h"
#include "sw_t.h"

static struct sw_fdb fdb;

#define ALL_LIVE (~0ULL)

static void mac_of(uint8_t *m, uint32_t id)
{
	/* Locally administered unicast: 02:00:xx:xx:xx:xx. */
	m[0] = 0x02, m[1] = 0;
	m[2] = (uint8_t)(id >> 24), m[3] = (uint8_t)(id >> 16);
	m[4] = (uint8_t)(id >> 8), m[5] = (uint8_t)id;
}

/* A 60-byte frame dst <- src. */
static void frame_of(uint8_t *f, const uint8_t *dst, const uint8_t *src)
{
	memset(f, 0, 60);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
}

static int decide(const uint8_t *dst, const uint8_t *src, uint16_t in, uint64_t live,
		  uint32_t now)
{
	uint8_t f[60];
	frame_of(f, dst, src);
	return sw_bridge_decide(&fdb, f, sizeof(f), 0, in, live, now);
}

struct walk {
	unsigned n, found;
	uint8_t mac[6];
	uint16_t port;
	uint32_t age;
	unsigned vlan_sum;
};

static void count_entry(const uint8_t *mac, uint16_t vlan, uint32_t port, uint32_t age,
			void *arg)
{
	struct walk *w = arg;
	w->vlan_sum += vlan;
	w->n++;
	if (memcmp(mac, w->mac, 6) == 0) {
		w->found++;
		w->port = port;
		w->age = age;
	}
}

static struct walk walk_for(const uint8_t *mac, uint32_t now)
{
	struct walk w = { 0 };
	memcpy(w.mac, mac, 6);
	sw_fdb_walk(&fdb, count_entry, &w, now);
	return w;
}

static void test_learn_and_forward(void)
{
	uint8_t a[6], b[6], c[6];
	sw_fdb_init(&fdb);
	mac_of(a, 1), mac_of(b, 2), mac_of(c, 3);

	CHECK_EQ(sw_fdb_lookup(&fdb, a, 0), -1);
	/* Unknown destination: flooded, and the source is learnt. */
	CHECK_EQ(decide(b, a, 1, ALL_LIVE, 10), SW_TO_FLOOD);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 0), 1);
	CHECK_EQ(sw_fdb_lookup(&fdb, b, 0), -1);
	/* The answer goes to port 1 only, and teaches b on port 2. */
	CHECK_EQ(decide(a, b, 2, ALL_LIVE, 10), 1);
	CHECK_EQ(sw_fdb_lookup(&fdb, b, 0), 2);
	CHECK_EQ(decide(b, a, 1, ALL_LIVE, 10), 2);
	/* A third station still floods towards an unknown one. */
	CHECK_EQ(decide(c, a, 1, ALL_LIVE, 10), SW_TO_FLOOD);
	struct walk w = walk_for(a, 10);
	CHECK_EQ(w.n, 2);
	CHECK_EQ(w.found, 1);
	CHECK_EQ(w.port, 1);
}

static void test_group_addresses(void)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	uint8_t a[6];
	sw_fdb_init(&fdb);
	mac_of(a, 7);

	CHECK_EQ(decide(bcast, a, 4, ALL_LIVE, 1), SW_TO_FLOOD);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 0), 4);
	CHECK_EQ(decide(mcast, a, 4, ALL_LIVE, 1), SW_TO_FLOOD);
	/* A group address as source is not a station: never learnt, so a
	 * frame to it cannot be pinned to one port. */
	CHECK_EQ(decide(a, mcast, 5, ALL_LIVE, 1), 4);
	CHECK_EQ(sw_fdb_lookup(&fdb, mcast, 0), -1);
	CHECK_EQ(decide(a, bcast, 5, ALL_LIVE, 1), 4);
	CHECK_EQ(sw_fdb_lookup(&fdb, bcast, 0), -1);
	CHECK_EQ(walk_for(a, 1).n, 1);
}

static void test_hairpin_gone_and_runt(void)
{
	uint8_t a[6], b[6], f[60];
	sw_fdb_init(&fdb);
	mac_of(a, 1), mac_of(b, 2);

	decide(b, a, 3, ALL_LIVE, 5);
	decide(a, b, 3, ALL_LIVE, 5);
	/* Both behind port 3: nothing leaves. */
	CHECK_EQ(decide(b, a, 3, ALL_LIVE, 5), SW_TO_NONE);
	/* b learnt on a port that is no longer live: flooded, not sent to
	 * an empty slot. */
	sw_fdb_init(&fdb);
	decide(a, b, 9, ALL_LIVE, 5);
	CHECK_EQ(decide(b, a, 1, ALL_LIVE & ~(1ULL << 9), 5), SW_TO_FLOOD);
	CHECK_EQ(decide(b, a, 1, 1ULL << 9, 5), 9);
	/* The highest slot is a slot like the others. */
	decide(a, b, SW_MAX_PORTS - 1, ALL_LIVE, 5);
	CHECK_EQ(decide(b, a, 1, ALL_LIVE, 5), SW_MAX_PORTS - 1);
	/* Shorter than a header: dropped, nothing learnt from it. */
	uint8_t c[6];
	mac_of(c, 3);
	frame_of(f, b, c);
	for (uint32_t len = 0; len < 14; len++)
		CHECK_EQ(sw_bridge_decide(&fdb, f, len, 0, 2, ALL_LIVE, 5), SW_TO_RUNT);
	CHECK_EQ(sw_fdb_lookup(&fdb, c, 0), -1);
	CHECK_EQ(sw_bridge_decide(&fdb, f, 14, 0, 2, ALL_LIVE, 5), SW_MAX_PORTS - 1);
	CHECK_EQ(sw_fdb_lookup(&fdb, c, 0), 2);
}

static void test_flood_set(void)
{
	static const uint16_t live[] = { 0, 2, 5, 7 };
	uint16_t out[SW_MAX_PORTS];

	CHECK_EQ(sw_bridge_flood(live, 4, 5, out), 3);
	CHECK_EQ(out[0], 0);
	CHECK_EQ(out[1], 2);
	CHECK_EQ(out[2], 7);
	/* The input is never an output, wherever it is in the list. */
	CHECK_EQ(sw_bridge_flood(live, 4, 0, out), 3);
	CHECK_EQ(out[0], 2);
	CHECK_EQ(sw_bridge_flood(live, 4, 7, out), 3);
	CHECK_EQ(out[2], 5);
	/* An input that is not live (deleted mid-burst): every live port. */
	CHECK_EQ(sw_bridge_flood(live, 4, 3, out), 4);
	CHECK_EQ(sw_bridge_flood(live, 1, 0, out), 0);
	CHECK_EQ(sw_bridge_flood(live, 0, 0, out), 0);
	uint16_t all[SW_MAX_PORTS];
	for (uint16_t i = 0; i < SW_MAX_PORTS; i++)
		all[i] = i;
	CHECK_EQ(sw_bridge_flood(all, SW_MAX_PORTS, 17, out), SW_MAX_PORTS - 1);
	for (unsigned i = 0; i < SW_MAX_PORTS - 1; i++)
		CHECK(out[i] != 17);
}

static void test_move(void)
{
	uint8_t a[6], b[6];
	sw_fdb_init(&fdb);
	mac_of(a, 0x0a), mac_of(b, 0x0b);

	decide(b, a, 1, ALL_LIVE, 100);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 0), 1);
	unsigned logs = t_log_count;
	/* a now speaks from port 3 (a VM migrated): one entry, on port 3,
	 * and the move is logged once. */
	decide(b, a, 3, ALL_LIVE, 101);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 0), 3);
	CHECK_EQ(t_log_count, logs + 1);
	CHECK(strstr(t_log_last, "moved from port 1 to port 3") != NULL);
	struct walk w = walk_for(a, 101);
	CHECK_EQ(w.found, 1);
	CHECK_EQ(w.n, 1);
	CHECK_EQ(w.port, 3);
	CHECK_EQ(decide(a, b, 2, ALL_LIVE, 101), 3);
	/* Staying put is not a move. */
	decide(b, a, 3, ALL_LIVE, 102);
	CHECK_EQ(t_log_count, logs + 1);
	/* And back. */
	decide(b, a, 1, ALL_LIVE, 103);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 0), 1);
	CHECK_EQ(walk_for(a, 103).found, 1);
}

static void test_aging(void)
{
	uint8_t a[6], b[6], c[6];
	sw_fdb_init(&fdb);
	mac_of(a, 1), mac_of(b, 2), mac_of(c, 3);

	sw_fdb_learn(&fdb, a, 0, 1, 1000);
	sw_fdb_learn(&fdb, b, 0, 2, 1000);
	CHECK_EQ(walk_for(a, 1250).age, 250);
	/* max_age 300: kept at 300 s, gone past it. */
	CHECK_EQ(sw_fdb_age(&fdb, 1300, 300), 0);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 0), 1);
	/* Traffic from b refreshes it. */
	sw_fdb_learn(&fdb, b, 0, 2, 1200);
	CHECK_EQ(walk_for(b, 1250).age, 50);
	unsigned logs = t_log_count;
	CHECK_EQ(sw_fdb_age(&fdb, 1301, 300), 1);
	CHECK_EQ(t_log_count, logs + 1);
	CHECK(strstr(t_log_last, "aged out after 301 s") != NULL);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 0), -1);
	CHECK_EQ(sw_fdb_lookup(&fdb, b, 0), 2);
	CHECK_EQ(sw_fdb_age(&fdb, 1500, 300), 0);
	CHECK_EQ(sw_fdb_age(&fdb, 1501, 300), 1);
	CHECK_EQ(sw_fdb_lookup(&fdb, b, 0), -1);
	/* Its destination forgotten, a frame floods again. */
	CHECK_EQ(decide(b, c, 4, ALL_LIVE, 1501), SW_TO_FLOOD);
	/* A clock that wraps: 32 s apart, not four billion. */
	sw_fdb_init(&fdb);
	sw_fdb_learn(&fdb, a, 0, 1, 0xfffffff0u);
	CHECK_EQ(sw_fdb_age(&fdb, 0x10, 300), 0);
	CHECK_EQ(walk_for(a, 0x10).age, 0x20);
	CHECK_EQ(sw_fdb_age(&fdb, 0xfffffff0u + 301u, 300), 1);
	/* max_age 0 forgets what was not seen this very second. */
	sw_fdb_learn(&fdb, a, 0, 1, 50);
	CHECK_EQ(sw_fdb_age(&fdb, 50, 0), 0);
	CHECK_EQ(sw_fdb_age(&fdb, 51, 0), 1);
}

/* n distinct MACs whose windows start at the same slot as base's. */
static unsigned same_window(uint8_t (*out)[6], unsigned n, uint32_t from)
{
	uint8_t m[6];
	unsigned k = 0;
	mac_of(m, from);
	unsigned want = sw_fdb_window(m, 0);
	for (uint32_t id = from; k < n && id < from + 50000000u; id++) {
		mac_of(m, id);
		if (sw_fdb_window(m, 0) == want)
			memcpy(out[k++], m, 6);
	}
	return k;
}

static void test_full_window(void)
{
	uint8_t m[SW_FDB_WAYS + 2][6], dst[6];
	sw_fdb_init(&fdb);
	mac_of(dst, 0xffffff);

	REQUIRE(same_window(m, SW_FDB_WAYS + 2, 0x100) == SW_FDB_WAYS + 2);
	for (unsigned i = 0; i < SW_FDB_WAYS; i++)
		sw_fdb_learn(&fdb, m[i], 0, (uint16_t)i, 10 + i);
	for (unsigned i = 0; i < SW_FDB_WAYS; i++)
		CHECK_EQ(sw_fdb_lookup(&fdb, m[i], 0), (int)i);
	/* The window is full: the next MAC is not learnt (and nothing is
	 * evicted under a reader), so frames to it flood. */
	CHECK_EQ(decide(dst, m[SW_FDB_WAYS], 20, ALL_LIVE, 30), SW_TO_FLOOD);
	CHECK_EQ(sw_fdb_lookup(&fdb, m[SW_FDB_WAYS], 0), -1);
	CHECK_EQ(decide(m[SW_FDB_WAYS], m[0], 0, ALL_LIVE, 30), SW_TO_FLOOD);
	for (unsigned i = 0; i < SW_FDB_WAYS; i++)
		CHECK_EQ(sw_fdb_lookup(&fdb, m[i], 0), (int)i);
	/* Known MACs in the full window still move and refresh. */
	sw_fdb_learn(&fdb, m[3], 0, 40, 31);
	CHECK_EQ(sw_fdb_lookup(&fdb, m[3], 0), 40);
	/* Aging makes room for one: m[1] (seen at 11) goes; m[0] stays, its
	 * frame above refreshed it at 30. */
	CHECK_EQ(sw_fdb_age(&fdb, 11 + 20, 19), 1);
	CHECK_EQ(sw_fdb_lookup(&fdb, m[1], 0), -1);
	CHECK_EQ(sw_fdb_lookup(&fdb, m[0], 0), 0);
	sw_fdb_learn(&fdb, m[SW_FDB_WAYS], 0, 20, 32);
	sw_fdb_learn(&fdb, m[SW_FDB_WAYS + 1], 0, 21, 32);
	CHECK_EQ(sw_fdb_lookup(&fdb, m[SW_FDB_WAYS], 0), 20);
	CHECK_EQ(sw_fdb_lookup(&fdb, m[SW_FDB_WAYS + 1], 0), -1);
	for (unsigned i = 2; i < SW_FDB_WAYS; i++)
		CHECK_EQ(sw_fdb_lookup(&fdb, m[i], 0), i == 3 ? 40 : (int)i);
	struct walk w = walk_for(m[0], 32);
	CHECK_EQ(w.n, SW_FDB_WAYS);
	/* Other windows are not affected by a full one. */
	uint8_t other[6];
	mac_of(other, 0x100);
	for (uint32_t id = 0x200; sw_fdb_window(other, 0) == sw_fdb_window(m[0], 0); id++)
		mac_of(other, id);
	sw_fdb_learn(&fdb, other, 0, 5, 32);
	CHECK_EQ(sw_fdb_lookup(&fdb, other, 0), 5);
}

/* Many stations: every one learnt is found on its own port. */
static void test_many(void)
{
	uint8_t m[6];
	unsigned learnt = 0;
	sw_fdb_init(&fdb);

	for (uint32_t id = 0; id < 4096; id++) {
		mac_of(m, id * 2654435761u);
		sw_fdb_learn(&fdb, m, 0, (uint16_t)(id % SW_MAX_PORTS), 1);
	}
	for (uint32_t id = 0; id < 4096; id++) {
		mac_of(m, id * 2654435761u);
		int p = sw_fdb_lookup(&fdb, m, 0);
		CHECK(p == -1 || p == (int)(id % SW_MAX_PORTS));
		learnt += p >= 0;
	}
	/* Half the slots: overlapping 8-entry windows hold nearly all. */
	CHECK(learnt >= 4000);
	struct walk w = walk_for(m, 1);
	CHECK_EQ(w.n, learnt);
}

static void test_flush_port(void)
{
	uint8_t a[6], b[6], c[6];
	sw_fdb_init(&fdb);
	mac_of(a, 1), mac_of(b, 2), mac_of(c, 3);

	sw_fdb_learn(&fdb, a, 0, 1, 1);
	sw_fdb_learn(&fdb, b, 0, 2, 1);
	sw_fdb_learn(&fdb, c, 0, 1, 1);
	sw_fdb_flush_port(&fdb, 1);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 0), -1);
	CHECK_EQ(sw_fdb_lookup(&fdb, c, 0), -1);
	CHECK_EQ(sw_fdb_lookup(&fdb, b, 0), 2);
	CHECK_EQ(walk_for(b, 1).n, 1);
	sw_fdb_flush_port(&fdb, 7);
	CHECK_EQ(sw_fdb_lookup(&fdb, b, 0), 2);
}

/* The same MAC in two VLANs is two stations, on their own ports; each
 * VLAN learns, moves and forgets on its own. */
static void test_vlans(void)
{
	uint8_t a[6], b[6], f[60];
	sw_fdb_init(&fdb);
	mac_of(a, 1), mac_of(b, 2);

	sw_fdb_learn(&fdb, a, 10, 1, 1);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 10), 1);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 20), -1);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 0), -1);
	sw_fdb_learn(&fdb, a, 20, 2, 1);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 10), 1);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 20), 2);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 4094), -1);
	struct walk w = walk_for(a, 1);
	CHECK_EQ(w.n, 2);
	CHECK_EQ(w.found, 2);
	CHECK_EQ(w.vlan_sum, 30);
	/* A move in VLAN 20 leaves VLAN 10's entry where it was. */
	sw_fdb_learn(&fdb, a, 20, 3, 2);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 20), 3);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 10), 1);
	/* The decision looks up in the frame's VLAN only. */
	frame_of(f, a, b);
	CHECK_EQ(sw_bridge_decide(&fdb, f, sizeof(f), 10, 5, ALL_LIVE, 2), 1);
	CHECK_EQ(sw_bridge_decide(&fdb, f, sizeof(f), 30, 5, ALL_LIVE, 2), SW_TO_FLOOD);
	CHECK_EQ(sw_fdb_lookup(&fdb, b, 10), 5);
	CHECK_EQ(sw_fdb_lookup(&fdb, b, 30), 5);
	CHECK_EQ(sw_fdb_lookup(&fdb, b, 20), -1);
	/* Aging: only what was not refreshed goes. */
	CHECK_EQ(sw_fdb_age(&fdb, 5, 3), 1);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 10), -1);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 20), 3);
}

/* A tunnel port's MACs carry their remote; a move between remotes is a
 * move; a frame from the tunnel for a MAC behind it goes nowhere (the
 * remotes replicate for themselves). */
static void test_remote(void)
{
	uint8_t a[6], b[6], f[60];
	sw_fdb_init(&fdb);
	mac_of(a, 1), mac_of(b, 2);

	sw_fdb_learn(&fdb, a, 0, SW_DEST(3, 2), 1);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 0), (int32_t)SW_DEST(3, 2));
	sw_fdb_learn(&fdb, a, 0, SW_DEST(3, 1), 1);
	CHECK(strstr(t_log_last, "moved from port 3 remote 2 to port 3 remote 1") != NULL);
	frame_of(f, a, b);
	CHECK_EQ(sw_bridge_decide(&fdb, f, sizeof(f), 0, SW_DEST(3, 2), ALL_LIVE, 1), SW_TO_NONE);
	CHECK_EQ(sw_fdb_lookup(&fdb, b, 0), (int32_t)SW_DEST(3, 2));
	frame_of(f, b, a);
	CHECK_EQ(sw_bridge_decide(&fdb, f, sizeof(f), 0, 5, ALL_LIVE, 1), (int32_t)SW_DEST(3, 2));
	/* Flushing the port forgets every remote's MACs. */
	sw_fdb_flush_port(&fdb, 3);
	CHECK_EQ(sw_fdb_lookup(&fdb, b, 0), -1);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 0), 5);
}

/* Static entries: not moved by learning, not aged, shown as static,
 * gone with their port or by del; adding one replaces a learnt one. */
static void test_static(void)
{
	uint8_t a[6], b[6];
	sw_fdb_init(&fdb);
	mac_of(a, 1), mac_of(b, 2);

	sw_fdb_learn(&fdb, a, 10, 4, 1);
	CHECK_EQ(sw_fdb_add_static(&fdb, a, 10, SW_DEST(3, 1)), 0);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 10), (int32_t)SW_DEST(3, 1));
	struct walk w = walk_for(a, 1);
	CHECK_EQ(w.found, 1);
	CHECK_EQ(w.age, UINT32_MAX);
	sw_fdb_learn(&fdb, a, 10, 5, 2);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 10), (int32_t)SW_DEST(3, 1));
	CHECK_EQ(sw_fdb_age(&fdb, 100000, 300), 0);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 10), (int32_t)SW_DEST(3, 1));
	CHECK_EQ(sw_fdb_del(&fdb, a, 10), 0);
	CHECK_EQ(sw_fdb_del(&fdb, a, 10), -ENOENT);
	CHECK_EQ(sw_fdb_lookup(&fdb, a, 10), -1);
	CHECK_EQ(sw_fdb_add_static(&fdb, b, 0, 6), 0);
	sw_fdb_flush_port(&fdb, 6);
	CHECK_EQ(sw_fdb_lookup(&fdb, b, 0), -1);
	/* A window full of other MACs has no room. */
	uint8_t m[6];
	unsigned want = sw_fdb_window(a, 0), n = 0;
	for (uint32_t id = 100; n < SW_FDB_WAYS; id++) {
		mac_of(m, id);
		if (sw_fdb_window(m, 0) == want)
			sw_fdb_learn(&fdb, m, 0, 1, 1), n++;
	}
	CHECK_EQ(sw_fdb_add_static(&fdb, a, 0, 2), -ENOSPC);
}

int main(void)
{
	RUN(test_learn_and_forward);
	RUN(test_group_addresses);
	RUN(test_hairpin_gone_and_runt);
	RUN(test_flood_set);
	RUN(test_move);
	RUN(test_aging);
	RUN(test_full_window);
	RUN(test_many);
	RUN(test_flush_port);
	RUN(test_vlans);
	RUN(test_remote);
	RUN(test_static);
	return t_done("switch_bridge");
}
