/* SPDX-License-Identifier: BSD-3-Clause */
/* vhu_memmap_build validation and GPA/QVA translation, on memfd regions. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "mem/memmap.h"
#include "t.h"
#include "../integ/proc_self.h" /* the integ tests' leak counts */

#define KB 1024ull

static int mkfd(uint64_t size)
{
	int fd = memfd_create("vhu-test", MFD_CLOEXEC);
	if (fd < 0) {
		perror("memfd_create");
		exit(2);
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		perror("ftruncate");
		exit(2);
	}
	return fd;
}

static void closefds(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static void reg(struct vhu_mem_table_wire *t, uint32_t i, uint64_t gpa, uint64_t size,
		uint64_t qva, uint64_t off)
{
	t->regions[i].guest_phys_addr = gpa;
	t->regions[i].memory_size = size;
	t->regions[i].userspace_addr = qva;
	t->regions[i].mmap_offset = off;
}

/* Expects vhu_memmap_build to refuse t with -EINVAL and leave out alone. */
static void expect_reject(const struct vhu_mem_table_wire *t, const int *fds, int nfds,
			  int line)
{
	struct vhu_memmap *m = (struct vhu_memmap *)(uintptr_t)0x1;
	unsigned logs = t_log_count;
	int r = vhu_memmap_build(t, fds, nfds, &m);
	if (r != -EINVAL || m != (struct vhu_memmap *)(uintptr_t)0x1)
		fprintf(stderr, "  (expect_reject called from line %d: ret %d)\n", line, r);
	CHECK_EQ(r, -EINVAL);
	CHECK(m == (struct vhu_memmap *)(uintptr_t)0x1);
	CHECK(t_log_count > logs); /* says why */
}
#define EXPECT_REJECT(t, fds, n) expect_reject(t, fds, n, __LINE__)

static void test_one_region(void)
{
	struct vhu_mem_table_wire t;
	struct vhu_memmap *m = NULL;
	int fd = mkfd(64 * KB);

	memset(&t, 0, sizeof(t));
	t.nregions = 1;
	reg(&t, 0, 0x100000, 60 * KB, 0x7f0000000000ull, 4 * KB);
	REQUIRE(vhu_memmap_build(&t, &fd, 1, &m) == 0);
	REQUIRE(m);
	CHECK_EQ(m->nregions, 1);
	CHECK_EQ(m->regions[0].gpa, 0x100000);
	CHECK_EQ(m->regions[0].size, 60 * KB);
	CHECK_EQ(m->regions[0].qva, 0x7f0000000000ull);
	CHECK(m->regions[0].hva == (uint8_t *)m->regions[0].mmap_addr + 4 * KB);

	/* the mapping is the file at mmap_offset, shared */
	uint8_t pat[16] = "0123456789abcdef", got[16];
	CHECK_EQ(pwrite(fd, pat, 16, 4 * KB + 100), 16);
	uint8_t *h = vhu_gpa_to_hva(m, 0x100000 + 100, 16);
	REQUIRE(h);
	CHECK_MEM(h, pat, 16);
	memcpy(h + 1000, "XYZ", 3);
	CHECK_EQ(pread(fd, got, 3, 4 * KB + 100 + 1000), 3);
	CHECK_MEM(got, "XYZ", 3);
	/* last byte of the region is mapped and writable */
	uint8_t *last = vhu_gpa_to_hva(m, 0x100000 + 60 * KB - 1, 1);
	CHECK(last != NULL);
	if (last)
		*last = 0x5a;
	CHECK(vhu_gpa_to_hva(m, 0x100000 + 60 * KB, 1) == NULL);
	CHECK(vhu_gpa_to_hva(m, 0x100000 - 1, 1) == NULL);
	close(fd); /* mapping outlives the fd */
	CHECK_EQ(*(uint8_t *)vhu_gpa_to_hva(m, 0x100000 + 60 * KB - 1, 1), 0x5a);
	vhu_memmap_free(m);
	vhu_memmap_free(NULL);
}

static void test_eight_regions(void)
{
	struct vhu_mem_table_wire t;
	struct vhu_memmap *m = NULL;
	int fds[8];

	memset(&t, 0, sizeof(t));
	t.nregions = 8;
	for (uint32_t i = 0; i < 8; i++) {
		fds[i] = mkfd(8 * KB);
		/* reverse GPA order, holes between them */
		reg(&t, i, (7 - i) * 0x100000ull, 8 * KB, 0x10000000ull + i * 0x10000ull, 0);
	}
	REQUIRE(vhu_memmap_build(&t, fds, 8, &m) == 0);
	CHECK_EQ(m->nregions, 8);
	for (uint32_t i = 0; i < 8; i++) {
		uint64_t gpa = (7 - i) * 0x100000ull;
		uint8_t *h = vhu_gpa_to_hva(m, gpa + 8, 8);
		CHECK(h == m->regions[7 - i].hva + 8); /* kept in gpa order */
		if (h)
			memset(h, (int)i + 1, 8);
		uint8_t got[8], want[8];
		memset(want, (int)i + 1, 8);
		CHECK_EQ(pread(fds[i], got, 8, 8), 8);
		CHECK_MEM(got, want, 8);
		/* the hole after each region is unmapped */
		CHECK(vhu_gpa_to_hva(m, gpa + 8 * KB, 1) == NULL);
		CHECK(vhu_qva_to_hva(m, 0x10000000ull + i * 0x10000ull + 16, 4) ==
		      m->regions[7 - i].hva + 16);
	}
	closefds(fds, 8);
	vhu_memmap_free(m);
}

static void test_rejects(void)
{
	struct vhu_mem_table_wire t;
	int fds[9];

	for (int i = 0; i < 9; i++)
		fds[i] = mkfd(64 * KB);

	/* 0 regions */
	memset(&t, 0, sizeof(t));
	EXPECT_REJECT(&t, fds, 0);
	/* 9 regions (with 9 fds) */
	memset(&t, 0, sizeof(t));
	for (uint32_t i = 0; i < 8; i++)
		reg(&t, i, i * 0x10000ull, 4 * KB, 0x10000000ull + i * 0x10000ull, 0);
	t.nregions = 9;
	EXPECT_REJECT(&t, fds, 9);
	t.nregions = 0xffffffffu;
	EXPECT_REJECT(&t, fds, 8);
	/* fd count mismatch, both ways */
	t.nregions = 2;
	EXPECT_REJECT(&t, fds, 1);
	EXPECT_REJECT(&t, fds, 3);
	EXPECT_REJECT(&t, fds, -1);
	t.nregions = 1;
	EXPECT_REJECT(&t, fds, 0);

	/* size 0 */
	memset(&t, 0, sizeof(t));
	t.nregions = 1;
	reg(&t, 0, 0x1000, 0, 0x1000, 0);
	EXPECT_REJECT(&t, fds, 1);
	/* size 0 in the second region */
	t.nregions = 2;
	reg(&t, 0, 0x0, 4 * KB, 0x1000, 0);
	reg(&t, 1, 0x100000, 0, 0x200000, 0);
	EXPECT_REJECT(&t, fds, 2);

	/* gpa + size overflows */
	memset(&t, 0, sizeof(t));
	t.nregions = 1;
	reg(&t, 0, UINT64_MAX - 100, 4 * KB, 0x1000, 0);
	EXPECT_REJECT(&t, fds, 1);
	reg(&t, 0, UINT64_MAX - 4 * KB + 2, 4 * KB, 0x1000, 0);
	EXPECT_REJECT(&t, fds, 1);
	/* userspace_addr + size overflows */
	reg(&t, 0, 0x1000, 4 * KB, UINT64_MAX - 10, 0);
	EXPECT_REJECT(&t, fds, 1);
	/* mmap_offset + size overflows */
	reg(&t, 0, 0x1000, 4 * KB, 0x1000, UINT64_MAX - 10);
	EXPECT_REJECT(&t, fds, 1);
	reg(&t, 0, 0x1000, UINT64_MAX, 0x0, 1);
	EXPECT_REJECT(&t, fds, 1);

	/* overlapping regions: partial, identical, contained, reversed order */
	memset(&t, 0, sizeof(t));
	t.nregions = 2;
	reg(&t, 0, 0x0, 8 * KB, 0x100000, 0);
	reg(&t, 1, 4 * KB, 8 * KB, 0x200000, 0);
	EXPECT_REJECT(&t, fds, 2);
	reg(&t, 1, 0x0, 8 * KB, 0x200000, 0);
	EXPECT_REJECT(&t, fds, 2);
	reg(&t, 1, 1 * KB, 1 * KB, 0x200000, 0);
	EXPECT_REJECT(&t, fds, 2);
	reg(&t, 0, 0x10000, 4 * KB, 0x100000, 0);
	reg(&t, 1, 0x0, 0x10001, 0x200000, 0);
	EXPECT_REJECT(&t, fds, 2);
	/* overlap between the first and the last of several */
	t.nregions = 4;
	reg(&t, 0, 0x0, 4 * KB, 0x100000, 0);
	reg(&t, 1, 0x10000, 4 * KB, 0x200000, 0);
	reg(&t, 2, 0x20000, 4 * KB, 0x300000, 0);
	reg(&t, 3, 0xfff, 2, 0x400000, 0);
	EXPECT_REJECT(&t, fds, 4);

	/* offset + size past the file's end (file is 64 KiB) */
	memset(&t, 0, sizeof(t));
	t.nregions = 1;
	reg(&t, 0, 0x0, 8 * KB, 0x100000, 60 * KB);
	EXPECT_REJECT(&t, fds, 1);
	reg(&t, 0, 0x0, 64 * KB + 1, 0x100000, 0);
	EXPECT_REJECT(&t, fds, 1);
	reg(&t, 0, 0x0, 4 * KB, 0x100000, 64 * KB);
	EXPECT_REJECT(&t, fds, 1);
	/* second region past its file: first one is unmapped again (ASan: no leak) */
	t.nregions = 2;
	reg(&t, 0, 0x0, 64 * KB, 0x100000, 0);
	reg(&t, 1, 0x100000, 65 * KB, 0x200000, 0);
	EXPECT_REJECT(&t, fds, 2);

	/* a bad fd */
	{
		struct vhu_memmap *m = NULL;
		int bad = -1;
		t.nregions = 1;
		reg(&t, 0, 0x0, 4 * KB, 0x100000, 0);
		CHECK(vhu_memmap_build(&t, &bad, 1, &m) < 0);
		CHECK(m == NULL);
	}

	/* accepted edge cases: exactly the file, GPA-adjacent regions, and
	 * the same file at two offsets */
	{
		struct vhu_memmap *m = NULL;
		int two[2] = { fds[0], fds[0] };
		memset(&t, 0, sizeof(t));
		t.nregions = 2;
		reg(&t, 0, 0x0, 32 * KB, 0x100000, 0);
		reg(&t, 1, 32 * KB, 32 * KB, 0x900000, 32 * KB);
		CHECK_EQ(vhu_memmap_build(&t, two, 2, &m), 0);
		if (m) {
			CHECK_EQ(m->nregions, 2);
			vhu_memmap_free(m);
		}
	}
	closefds(fds, 9);
}

/* Region A: GPA [0, 8K) from fd a; region B: GPA [8K, 16K) from fd b
 * (GPA-adjacent, not host-adjacent); region C: GPA [1M, 1M+4K). */
static void test_translate(void)
{
	struct vhu_mem_table_wire t;
	struct vhu_memmap *m = NULL;
	int fds[3] = { mkfd(8 * KB), mkfd(16 * KB), mkfd(4 * KB) };

	memset(&t, 0, sizeof(t));
	t.nregions = 3;
	reg(&t, 0, 0x0, 8 * KB, 0x7f0000100000ull, 0);
	reg(&t, 1, 8 * KB, 8 * KB, 0x7f0000000000ull, 8 * KB);
	reg(&t, 2, 0x100000, 4 * KB, 0x7f0000200000ull, 0);
	REQUIRE(vhu_memmap_build(&t, fds, 3, &m) == 0);
	uint8_t *ha = m->regions[0].hva, *hb = m->regions[1].hva, *hc = m->regions[2].hva;

	/* piece cut at the region's end */
	uint64_t len = 0x200;
	CHECK(vhu_gpa_piece(m, 0x1f00, &len) == ha + 0x1f00);
	CHECK_EQ(len, 0x100);
	len = 0x100;
	CHECK(vhu_gpa_piece(m, 0x1f00, &len) == ha + 0x1f00);
	CHECK_EQ(len, 0x100);
	len = 0x10;
	CHECK(vhu_gpa_piece(m, 0x100, &len) == ha + 0x100);
	CHECK_EQ(len, 0x10);
	len = UINT64_MAX;
	CHECK(vhu_gpa_piece(m, 0x2000, &len) == hb);
	CHECK_EQ(len, 8 * KB);

	/* a buffer straddling A|B comes back piecewise and matches the files */
	{
		uint8_t pat[0x200], got[0x200];
		for (int i = 0; i < 0x200; i++)
			pat[i] = (uint8_t)(i ^ 0x3c);
		uint64_t gpa = 0x1f00, left = 0x200, done = 0;
		int pieces = 0;
		while (left) {
			uint64_t l = left;
			uint8_t *p = vhu_gpa_piece(m, gpa, &l);
			if (!p)
				break;
			memcpy(p, pat + done, l);
			gpa += l;
			left -= l;
			done += l;
			pieces++;
		}
		CHECK_EQ(pieces, 2);
		CHECK_EQ(left, 0);
		CHECK_EQ(pread(fds[0], got, 0x100, 0x1f00), 0x100);
		CHECK_EQ(pread(fds[1], got + 0x100, 0x100, 8 * KB), 0x100);
		CHECK_MEM(got, pat, 0x200);
	}
	/* vhu_gpa_to_hva refuses a straddling range, accepts both halves */
	CHECK(vhu_gpa_to_hva(m, 0x1f00, 0x200) == NULL);
	CHECK(vhu_gpa_to_hva(m, 0x1fff, 2) == NULL);
	CHECK(vhu_gpa_to_hva(m, 0x1f00, 0x100) == ha + 0x1f00);
	CHECK(vhu_gpa_to_hva(m, 0x2000, 0x100) == hb);
	CHECK(vhu_gpa_to_hva(m, 0x0, 8 * KB) == ha);
	CHECK(vhu_gpa_to_hva(m, 0x0, 8 * KB + 1) == NULL);
	CHECK(vhu_gpa_to_hva(m, 0x100000, 4 * KB) == hc);
	CHECK(vhu_gpa_to_hva(m, 0x100000, UINT64_MAX) == NULL);

	/* unmapped addresses */
	len = 16;
	CHECK(vhu_gpa_piece(m, 0x4000, &len) == NULL);
	CHECK(vhu_gpa_to_hva(m, 0x4000, 1) == NULL);
	CHECK(vhu_gpa_to_hva(m, 0xfffff, 1) == NULL);
	CHECK(vhu_gpa_to_hva(m, 0x101000, 1) == NULL);
	CHECK(vhu_gpa_to_hva(m, UINT64_MAX, 1) == NULL);
	CHECK(vhu_gpa_to_hva(m, UINT64_MAX - 0x1000, 0x2000) == NULL);

	/* qva translation */
	CHECK(vhu_qva_to_hva(m, 0x7f0000100000ull, 8 * KB) == ha);
	CHECK(vhu_qva_to_hva(m, 0x7f0000100010ull, 16) == ha + 0x10);
	CHECK(vhu_qva_to_hva(m, 0x7f0000000000ull + 100, 8) == hb + 100);
	CHECK(vhu_qva_to_hva(m, 0x7f0000200000ull + 4 * KB - 4, 4) == hc + 4 * KB - 4);
	CHECK(vhu_qva_to_hva(m, 0x7f0000200000ull + 4 * KB - 4, 5) == NULL);
	CHECK(vhu_qva_to_hva(m, 0x7f0000100000ull, 8 * KB + 1) == NULL);
	CHECK(vhu_qva_to_hva(m, 0x7f0000100000ull - 1, 2) == NULL);
	CHECK(vhu_qva_to_hva(m, 0x7f0000300000ull, 1) == NULL);
	CHECK(vhu_qva_to_hva(m, 0x7f0000100010ull, UINT64_MAX) == NULL);
	/* qva -> gpa */
	CHECK_EQ(vhu_qva_to_gpa(m, 0x7f0000100005ull), 0x5);
	CHECK_EQ(vhu_qva_to_gpa(m, 0x7f0000000000ull + 7), 8 * KB + 7);
	CHECK_EQ(vhu_qva_to_gpa(m, 0x7f0000200000ull), 0x100000);
	CHECK(vhu_qva_to_gpa(m, 0x7f0000002000ull) == UINT64_MAX);
	CHECK(vhu_qva_to_gpa(m, 0) == UINT64_MAX);

	closefds(fds, 3);
	vhu_memmap_free(m);
}

static struct vhu_mem_region_wire wreg(uint64_t gpa, uint64_t size, uint64_t qva)
{
	return (struct vhu_mem_region_wire){ gpa, size, qva, 0 };
}

/* ADD_MEM_REG and REM_MEM_REG: up to VHU_MAX_MEM_SLOTS regions, kept in gpa
 * order whatever order they come in, each refusal logged and leaving the
 * map as it was; the other regions' mappings carried over, a removed one
 * unmapped by its caller. */
static void test_add_remove(void)
{
	const uint64_t sz = 4 * KB;
	int fd = mkfd(sz), maps0 = count_maps_of("memfd:vhu-test");
	struct vhu_memmap *m = NULL, *n;
	struct vhu_mem_region_wire w;

	/* every other slot first, then the rest: inserts at both ends and
	 * in the middle */
	for (uint32_t pass = 0; pass < 2; pass++)
		for (uint32_t i = pass; i < VHU_MAX_MEM_SLOTS; i += 2) {
			w = wreg(i * 0x10000ull, sz, 0x7f0000000000ull + i * 0x10000ull);
			REQUIRE(vhu_memmap_add(m, &w, fd, &n) == 0);
			vhu_memmap_free(m);
			m = n;
		}
	CHECK_EQ(m->nregions, VHU_MAX_MEM_SLOTS);
	for (uint32_t i = 1; i < m->nregions; i++)
		CHECK(m->regions[i - 1].gpa < m->regions[i].gpa);
	for (uint32_t i = 0; i < VHU_MAX_MEM_SLOTS; i++) {
		uint8_t *h = vhu_gpa_to_hva(m, i * 0x10000ull + 8, 8);
		CHECK(h == m->regions[i].hva + 8);
		CHECK(vhu_gpa_to_hva(m, i * 0x10000ull + sz, 1) == NULL);
		CHECK_EQ(vhu_qva_to_gpa(m, 0x7f0000000000ull + i * 0x10000ull + 1),
			 i * 0x10000ull + 1);
	}
	/* the 510th */
	unsigned logs = t_log_count;
	w = wreg(0x40000000ull, sz, 0x7f0040000000ull);
	CHECK_EQ(vhu_memmap_add(m, &w, fd, &n), -ENOSPC);
	CHECK(t_log_count > logs);

	/* the same region again (QEMU's per-queue-pair devices): counted, not
	 * mapped again, and gone only with as many removes */
	w = wreg(9 * 0x10000ull, sz, 0x7f0000000000ull + 9 * 0x10000ull);
	int maps1 = count_maps_of("memfd:vhu-test");
	CHECK_EQ(vhu_memmap_add(m, &w, fd, &n), 1);
	CHECK(n == NULL);
	CHECK_EQ(count_maps_of("memfd:vhu-test"), maps1);
	CHECK_EQ(vhu_memmap_remove(m, &w, &n), 1);
	CHECK(n == NULL);
	CHECK(vhu_gpa_to_hva(m, 9 * 0x10000ull, 1) != NULL);
	/* remove one in the middle: its neighbours stay, it is gone */
	w = wreg(7 * 0x10000ull, sz, 0x7f0000000000ull + 7 * 0x10000ull);
	REQUIRE(vhu_memmap_remove(m, &w, &n) == 0);
	vhu_memmap_free(m);
	m = n;
	CHECK_EQ(m->nregions, VHU_MAX_MEM_SLOTS - 1);
	CHECK(vhu_gpa_to_hva(m, 7 * 0x10000ull, 1) == NULL);
	CHECK(vhu_gpa_to_hva(m, 6 * 0x10000ull, 1) != NULL);
	CHECK(vhu_gpa_to_hva(m, 8 * 0x10000ull, 1) != NULL);
	/* again: never added (any more) */
	logs = t_log_count;
	CHECK_EQ(vhu_memmap_remove(m, &w, &n), -ENOENT);
	/* same gpa, other size or frontend address: not that region */
	w = wreg(8 * 0x10000ull, 2 * sz, 0x7f0000000000ull + 8 * 0x10000ull);
	CHECK_EQ(vhu_memmap_remove(m, &w, &n), -ENOENT);
	w = wreg(8 * 0x10000ull, sz, 0x7f0000000000ull);
	CHECK_EQ(vhu_memmap_remove(m, &w, &n), -ENOENT);
	CHECK(t_log_count >= logs + 3);
	CHECK_EQ(m->nregions, VHU_MAX_MEM_SLOTS - 1);

	/* overlaps with either neighbour, or covering the hole and more */
	const struct vhu_mem_region_wire bad[] = {
		wreg(7 * 0x10000ull - 1, 2, 0x1000),
		wreg(8 * 0x10000ull - 1, 2, 0x1000),
		wreg(6 * 0x10000ull, 0x30000, 0x1000),
		wreg(0, 1, 0x1000),
		wreg(7 * 0x10000ull, 0, 0x1000),             /* size 0 */
		wreg(UINT64_MAX - 4095, sz, 0x1000),         /* wraps */
		wreg(7 * 0x10000ull, 2 * sz, 0x1000),        /* past the file */
		wreg(7 * 0x10000ull + 8, sz - 8, 0x1000),    /* 16-byte alignment */
	};
	for (size_t i = 0; i < VHU_ARRAY_SIZE(bad); i++) {
		logs = t_log_count;
		CHECK(vhu_memmap_add(m, &bad[i], fd, &n) < 0);
		CHECK(t_log_count > logs);
	}
	CHECK_EQ(m->nregions, VHU_MAX_MEM_SLOTS - 1);
	/* the hole refilled exactly */
	w = wreg(7 * 0x10000ull, 0x10000, 0x1000);
	int big = mkfd(0x10000);
	REQUIRE(vhu_memmap_add(m, &w, big, &n) == 0);
	close(big);
	vhu_memmap_free(m);
	m = n;
	CHECK(vhu_gpa_to_hva(m, 7 * 0x10000ull + 0xfff0, 16) != NULL);

	/* down to none, removed from the front */
	while (m->nregions) {
		struct vhu_mem_region r0 = m->regions[0];
		w = wreg(r0.gpa, r0.size, r0.qva);
		REQUIRE(vhu_memmap_remove(m, &w, &n) == 0);
		vhu_memmap_free(m);
		m = n;
	}
	CHECK(vhu_gpa_to_hva(m, 0, 1) == NULL);
	vhu_memmap_free(m);
	close(fd);
	CHECK_EQ(count_maps_of("memfd:vhu-test"), maps0);
}

/* Pages of [p, p+len) resident in memory. */
/* The frontend-VA index: 509 regions whose qva order is not their gpa
 * order (a permutation), every region found by its start, middle and last
 * byte, the gaps and both ends found in none, also after a remove; an
 * aliased qva (two regions, one frontend range) still translates, to the
 * region first in gpa order, as the walk it falls back to finds it. */
static void test_qva_index(void)
{
	const uint64_t sz = 4 * KB, qbase = 0x7f0000000000ull;
	int fd = mkfd(sz);
	struct vhu_memmap *m = NULL, *n;
	struct vhu_mem_region_wire w;
	/* 509 is prime: i * 211 % 509 visits every slot once, out of order */
	uint64_t slot[VHU_MAX_MEM_SLOTS];

	for (uint32_t i = 0; i < VHU_MAX_MEM_SLOTS; i++) {
		slot[i] = (uint64_t)i * 211 % VHU_MAX_MEM_SLOTS;
		w = wreg(i * 0x10000ull, sz, qbase + slot[i] * 0x20000ull);
		REQUIRE(vhu_memmap_add(m, &w, fd, &n) == 0);
		vhu_memmap_free(m);
		m = n;
	}
	CHECK(m->qva_disjoint);
	for (uint32_t i = 1; i < m->nregions; i++)
		CHECK(m->regions[m->by_qva[i - 1]].qva < m->regions[m->by_qva[i]].qva);
	for (uint32_t i = 0; i < VHU_MAX_MEM_SLOTS; i++) {
		uint64_t q = qbase + slot[i] * 0x20000ull, g = i * 0x10000ull;
		CHECK_EQ(vhu_qva_to_gpa(m, q), g);
		CHECK_EQ(vhu_qva_to_gpa(m, q + sz / 2), g + sz / 2);
		CHECK_EQ(vhu_qva_to_gpa(m, q + sz - 1), g + sz - 1);
		CHECK(vhu_qva_to_gpa(m, q + sz) == UINT64_MAX);
		CHECK(vhu_qva_to_hva(m, q + 16, 16) == m->regions[i].hva + 16);
		CHECK(vhu_qva_to_hva(m, q + sz - 8, 9) == NULL);
		uint64_t l = 2 * sz;
		CHECK(vhu_qva_piece(m, q + 100, &l) == m->regions[i].hva + 100);
		CHECK_EQ(l, sz - 100);
	}
	CHECK(vhu_qva_to_gpa(m, qbase - 1) == UINT64_MAX);
	CHECK(vhu_qva_to_gpa(m, 0) == UINT64_MAX);
	CHECK(vhu_qva_to_gpa(m, UINT64_MAX) == UINT64_MAX);

	/* remove the region at the lowest qva and one in the middle */
	for (uint32_t k = 0; k < 2; k++) {
		uint32_t i = k ? 300 : 0; /* slot[0] is 0: the lowest qva */
		w = wreg(i * 0x10000ull, sz, qbase + slot[i] * 0x20000ull);
		REQUIRE(vhu_memmap_remove(m, &w, &n) == 0);
		vhu_memmap_free(m);
		m = n;
		CHECK(vhu_qva_to_gpa(m, w.userspace_addr + 1) == UINT64_MAX);
	}
	CHECK_EQ(vhu_qva_to_gpa(m, qbase + slot[301] * 0x20000ull + 3), 301 * 0x10000ull + 3);
	CHECK_EQ(vhu_qva_to_gpa(m, qbase + slot[1] * 0x20000ull), 0x10000ull);
	vhu_memmap_free(m);

	/* aliased frontend ranges: gpa 0x10000 and 0x20000 both at qbase */
	m = NULL;
	for (uint32_t i = 1; i <= 2; i++) {
		w = wreg(i * 0x10000ull, sz, qbase);
		REQUIRE(vhu_memmap_add(m, &w, fd, &n) == 0);
		vhu_memmap_free(m);
		m = n;
	}
	CHECK(!m->qva_disjoint);
	CHECK_EQ(vhu_qva_to_gpa(m, qbase + 5), 0x10000ull + 5);
	CHECK(vhu_qva_to_gpa(m, qbase + sz) == UINT64_MAX);
	vhu_memmap_free(m);
	close(fd);
}

static unsigned resident(const void *p, size_t len)
{
	unsigned char vec[64];
	unsigned n = 0;

	if (len > sizeof(vec) * 4096 || mincore((void *)p, len, vec) < 0)
		return 0;
	for (size_t i = 0; i < (len + 4095) / 4096; i++)
		n += vec[i] & 1;
	return n;
}

/* Mapped on demand: nothing faulted in by the build; populate brings in
 * the region's pages and not the file's pages before them (the mapping
 * starts at offset 0). */
static void test_populate(void)
{
	struct vhu_mem_table_wire t;
	struct vhu_memmap *m = NULL;
	int fd = mkfd(128 * KB);

	memset(&t, 0, sizeof(t));
	t.nregions = 1;
	reg(&t, 0, 0x100000, 64 * KB, 0x7f0000000000ull, 64 * KB);
	REQUIRE(vhu_memmap_build(&t, &fd, 1, &m) == 0);
	const struct vhu_mem_region *r = &m->regions[0];
	CHECK_EQ(resident(r->mmap_addr, 128 * KB), 0);
	vhu_mem_region_populate(r);
	/* qemu-user (the cross-built tests) takes madvise and does nothing. */
	if (resident(r->hva, 64 * KB) == 0 && getenv("MESON_EXE_WRAPPER")) {
		printf("  populate: skipped, madvise is a no-op under %s\n",
		       getenv("MESON_EXE_WRAPPER"));
		vhu_memmap_free(m);
		close(fd);
		return;
	}
	CHECK_EQ(resident(r->hva, 64 * KB), 16);
	CHECK_EQ(resident(r->mmap_addr, 64 * KB), 0);
	vhu_memmap_free(m);
	close(fd);
}

int main(void)
{
	t_init();
	RUN(test_one_region);
	RUN(test_eight_regions);
	RUN(test_rejects);
	RUN(test_translate);
	RUN(test_add_remove);
	RUN(test_qva_index);
	RUN(test_populate);
	return t_done("test_memmap");
}
