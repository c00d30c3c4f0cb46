/* SPDX-License-Identifier: BSD-3-Clause */
/* The IOTLB cache (mem/iotlb.c): updates replace what they overlap,
 * invalidations remove every entry they touch, the bound holds, rights
 * are checked, and an IOVA goes through the IOTLB and the memory map. */
#include <stdint.h>
#include "mem/iotlb.h"
#include "t.h"

#define PG 4096ull

/* A memory map of two regions without mapping anything: translation only
 * reads the table. Frontend VAs 0x10000.. and 0x40000.., 64 KiB each. */
static uint8_t mem0[16 * PG], mem1[16 * PG];
static struct vhu_memmap map = {
	.nregions = 2,
	.regions = {
		{ .gpa = 0, .size = sizeof(mem0), .qva = 0x10000, .hva = mem0 },
		{ .gpa = 0x100000, .size = sizeof(mem1), .qva = 0x40000, .hva = mem1 },
	},
};

static void test_insert_remove(void)
{
	struct vhu_iotlb *t = vhu_iotlb_new();
	enum vhu_xlate why;
	uint64_t len;

	CHECK(t != NULL);
	vhu_iotlb_insert(t, 0x1000, PG, 0x10000, VHOST_ACCESS_RW);
	vhu_iotlb_insert(t, 0x3000, PG, 0x11000, VHOST_ACCESS_RO);
	CHECK_EQ(t->n, 2);
	len = 100;
	CHECK(vhu_iotlb_piece(t, &map, 0x1010, &len, VHOST_ACCESS_WO, &why) == mem0 + 0x10);
	CHECK_EQ(len, 100);
	/* cut at the entry's end */
	len = 2 * PG;
	CHECK(vhu_iotlb_piece(t, &map, 0x1f00, &len, VHOST_ACCESS_RO, &why) == mem0 + 0xf00);
	CHECK_EQ(len, 0x100);
	/* no entry: a miss; the wrong rights: a miss too */
	len = 1;
	CHECK(vhu_iotlb_piece(t, &map, 0x2000, &len, VHOST_ACCESS_RO, &why) == NULL);
	CHECK_EQ(why, VHU_XLATE_MISS);
	CHECK(vhu_iotlb_piece(t, &map, 0x3000, &len, VHOST_ACCESS_WO, &why) == NULL);
	CHECK_EQ(why, VHU_XLATE_MISS);
	/* an update replaces what it overlaps */
	vhu_iotlb_insert(t, 0x800, 0x1000, 0x12000, VHOST_ACCESS_RW);
	CHECK_EQ(t->n, 2);
	len = 1;
	CHECK(vhu_iotlb_piece(t, &map, 0x1700, &len, VHOST_ACCESS_RO, &why) == mem0 + 0x2f00);
	/* invalidation of one byte inside an entry removes it whole */
	CHECK_EQ(vhu_iotlb_remove(t, 0x3fff, 1), 1);
	CHECK_EQ(vhu_iotlb_remove(t, 0x3fff, 1), 0);
	CHECK_EQ(vhu_iotlb_remove(t, 0, ~0ull), 1);
	CHECK_EQ(t->n, 0);
	vhu_iotlb_free(t);
}

static void test_span_and_bad(void)
{
	struct vhu_iotlb *t = vhu_iotlb_new();
	enum vhu_xlate why;
	uint64_t fail, len;

	/* two entries contiguous in our memory: one span */
	vhu_iotlb_insert(t, 0x100000, PG, 0x10000, VHOST_ACCESS_RO);
	vhu_iotlb_insert(t, 0x101000, PG, 0x11000, VHOST_ACCESS_RO);
	CHECK(vhu_iotlb_span(t, &map, 0x100800, PG, VHOST_ACCESS_RO, &why, &fail) ==
	      mem0 + 0x800);
	/* contiguous IOVAs, not contiguous memory: no span */
	vhu_iotlb_insert(t, 0x102000, PG, 0x40000, VHOST_ACCESS_RO);
	CHECK(vhu_iotlb_span(t, &map, 0x101800, PG, VHOST_ACCESS_RO, &why, &fail) == NULL);
	CHECK_EQ(why, VHU_XLATE_BAD);
	/* the first IOVA that is not there */
	CHECK(vhu_iotlb_span(t, &map, 0x102800, PG, VHOST_ACCESS_RO, &why, &fail) == NULL);
	CHECK_EQ(why, VHU_XLATE_MISS);
	CHECK_EQ(fail, 0x103000);
	/* an entry whose frontend VA left the memory map: bad, not a miss */
	vhu_iotlb_insert(t, 0x200000, PG, 0x90000, VHOST_ACCESS_RW);
	len = 8;
	CHECK(vhu_iotlb_piece(t, &map, 0x200000, &len, VHOST_ACCESS_RO, &why) == NULL);
	CHECK_EQ(why, VHU_XLATE_BAD);
	CHECK_EQ(vhu_iotlb_to_gpa(t, &map, 0x102010), 0x100010);
	CHECK_EQ(vhu_iotlb_to_gpa(t, &map, 0x300000), UINT64_MAX);
	vhu_iotlb_free(t);
}

static void test_hint(void)
{
	struct vhu_iotlb *t = vhu_iotlb_new();
	struct vhu_gpa_hint h = { 0, 0, NULL };

	vhu_iotlb_insert(t, 0x5000, 2 * PG, 0x10000, VHOST_ACCESS_WO);
	CHECK(vhu_iotlb_hint(t, &map, &h, 0x5100, 64, VHOST_ACCESS_WO) == mem0 + 0x100);
	CHECK_EQ(h.gpa, 0x5000);
	CHECK_EQ(h.size, 2 * PG);
	CHECK(h.hva == mem0);
	/* rights the entry lacks: no hint */
	CHECK(vhu_iotlb_hint(t, &map, &h, 0x5100, 64, VHOST_ACCESS_RO) == NULL);
	/* past the entry: not in one piece */
	CHECK(vhu_iotlb_hint(t, &map, &h, 0x6f00, 0x200, VHOST_ACCESS_WO) == NULL);
	vhu_iotlb_free(t);
}

/* A flood of updates never grows the cache past its bound, and what was
 * put last is there. */
static void test_bound(void)
{
	struct vhu_iotlb *t = vhu_iotlb_new();
	enum vhu_xlate why;
	uint64_t len = 1;

	for (uint64_t i = 0; i < 3 * VHU_IOTLB_MAX_ENTRIES; i++)
		vhu_iotlb_insert(t, i * PG * 2, PG, 0x10000, VHOST_ACCESS_RO);
	CHECK_EQ(t->n, VHU_IOTLB_MAX_ENTRIES);
	CHECK_EQ(t->evictions, 2 * VHU_IOTLB_MAX_ENTRIES);
	CHECK(vhu_iotlb_piece(t, &map, (3 * VHU_IOTLB_MAX_ENTRIES - 1) * PG * 2, &len,
			      VHOST_ACCESS_RO, &why) == mem0);
	/* still sorted and disjoint */
	int sorted = 1;
	for (uint32_t i = 1; i < t->n; i++)
		sorted &= t->e[i - 1].iova + t->e[i - 1].size <= t->e[i].iova;
	CHECK(sorted);
	vhu_iotlb_free(t);
}

int main(void)
{
	t_init();
	RUN(test_insert_remove);
	RUN(test_span_and_bad);
	RUN(test_hint);
	RUN(test_bound);
	return t_done("test_iotlb");
}
