/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fake guest memory for the data-path unit tests (split and packed): two
 * memfd regions, GPA-adjacent but not host-adjacent, so a buffer may
 * straddle them, the vrings (each with the dirty log below), a packet
 * pool, and packet helpers. No device: the ring code takes everything it
 * needs from its vring.
 *
 *   region A [0x0, 0x10000):   rings, indirect tables, buffers
 *   region B [0x10000, 0x50000): more buffers
 */
#ifndef VHU_TESTS_UNIT_FAKE_GUEST_H
#define VHU_TESTS_UNIT_FAKE_GUEST_H

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include "mem/memmap.h"
#include "net/net.h"
#include "vq/vq.h"
#include "t.h"

#define A_GPA   0x0ull
#define A_SIZE  0x10000ull
#define B_GPA   0x10000ull
#define B_SIZE  0x40000ull
#define MEM_END (B_GPA + B_SIZE)

#define F(x) (1ULL << (x))
#define POOL_N 64

static int fds[2];
static struct vhu_memmap *mem;
static struct vhu_dirty_log dlog;            /* what SET_LOG_BASE fills in */
static struct vhu_vq *vqs[VHU_MAX_VRINGS];
static uint16_t inflight_room;               /* what GET/SET_INFLIGHT_FD set */
static struct vhu_pkt_pool *pool;

/* ---- guest memory ----------------------------------------------------- */

static inline void *G(uint64_t gpa, uint64_t len)
{
	void *p = vhu_gpa_to_hva(mem, gpa, len);
	if (!p) {
		fprintf(stderr, "test bug: gpa 0x%llx len %llu not mapped\n",
			(unsigned long long)gpa, (unsigned long long)len);
		abort();
	}
	return p;
}

/* Piecewise copies, so the test can touch straddling buffers. */
static inline void gw(uint64_t gpa, const void *src, uint64_t len)
{
	const uint8_t *s = src;
	while (len) {
		uint64_t l = len;
		uint8_t *p = vhu_gpa_piece(mem, gpa, &l);
		if (!p)
			abort();
		memcpy(p, s, l);
		s += l;
		gpa += l;
		len -= l;
	}
}

static inline void gr(uint64_t gpa, void *dst, uint64_t len)
{
	uint8_t *d = dst;
	while (len) {
		uint64_t l = len;
		const uint8_t *p = vhu_gpa_piece(mem, gpa, &l);
		if (!p)
			abort();
		memcpy(d, p, l);
		d += l;
		gpa += l;
		len -= l;
	}
}

static inline void pattern(uint8_t *p, uint32_t n, uint8_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31 + i * 13 + (i >> 8));
}

static inline void mem_setup(void)
{
	struct vhu_mem_table_wire t;

	memset(&t, 0, sizeof(t));
	fds[0] = memfd_create("vhu-a", MFD_CLOEXEC);
	fds[1] = memfd_create("vhu-b", MFD_CLOEXEC);
	if (fds[0] < 0 || fds[1] < 0 || ftruncate(fds[0], (off_t)A_SIZE) < 0 ||
	    ftruncate(fds[1], (off_t)(B_SIZE + 0x1000)) < 0) {
		perror("memfd");
		exit(2);
	}
	t.nregions = 2;
	t.regions[0] = (struct vhu_mem_region_wire){ A_GPA, A_SIZE, 0x7f0000000000ull, 0 };
	/* B at a file offset: hva != mmap base */
	t.regions[1] = (struct vhu_mem_region_wire){ B_GPA, B_SIZE, 0x7f0000100000ull, 0x1000 };
	if (vhu_memmap_build(&t, fds, 2, &mem) < 0) {
		fprintf(stderr, "vhu_memmap_build failed\n");
		exit(2);
	}
	close(fds[0]);
	close(fds[1]);
	pool = vhu_pkt_pool_create("unit", POOL_N, 2048);
	if (!pool)
		exit(2);
}

static inline void free_vqs(void)
{
	for (int i = 0; i < VHU_MAX_VRINGS; i++) {
		vhu_vq_free(vqs[i]);
		vqs[i] = NULL;
	}
}

/* No vrings, no log, zeroed guest memory. */
static inline void reset_all(void)
{
	free_vqs();
	memset(&dlog, 0, sizeof(dlog));
	inflight_room = 0;
	memset(mem->regions[0].hva, 0, mem->regions[0].size);
	memset(mem->regions[1].hva, 0, mem->regions[1].size);
}

/* A started, enabled vring (what SET_VRING_* would do), without ring
 * addresses: each test sets those for its layout. */
static inline struct vhu_vq *fg_vq(uint16_t index, uint64_t features, uint16_t size)
{
	struct vhu_vq *q;

	vhu_vq_free(vqs[index]);
	q = vhu_vq_new(index, "unit#1", &dlog);
	if (!q)
		abort();
	q->mem = mem;
	q->size = size;
	q->features = features;
	q->hdr_len = vhu_net_hdr_len(features);
	q->addr_set = q->started = q->enabled = true;
	q->active = true;
	q->callfd = q->kickfd = q->errfd = -1;
	q->inflight_room = inflight_room;
	vqs[index] = q;
	return q;
}

/* ---- packets ------------------------------------------------------------ */

static inline struct vhu_pkt *mkpkt(uint32_t len, uint8_t seed)
{
	struct vhu_pkt *p = vhu_pkt_alloc(pool);
	if (!p)
		abort();
	uint8_t *d = vhu_pkt_append(p, len);
	if (!d)
		abort();
	pattern(d, len, seed);
	return p;
}

/* A packet of the bytes in flat, cut into segments of the given sizes. */
static inline struct vhu_pkt *mkpkt_segs(const uint8_t *flat, const uint32_t *lens, unsigned n)
{
	struct vhu_pkt *head = NULL, *tail = NULL;
	uint32_t off = 0;
	for (unsigned i = 0; i < n; i++) {
		struct vhu_pkt *s = vhu_pkt_alloc(pool);
		if (!s)
			abort();
		uint8_t *d = vhu_pkt_append(s, lens[i]);
		if (!d)
			abort();
		memcpy(d, flat + off, lens[i]);
		off += lens[i];
		if (tail)
			tail->next = s;
		else
			head = s;
		tail = s;
	}
	head->pkt_len = off;
	head->nb_segs = (uint16_t)n;
	return head;
}

static inline bool pkt_eq(const struct vhu_pkt *p, const uint8_t *want, uint32_t len)
{
	static uint8_t tmp[1 << 17];
	if (p->pkt_len != len || len > sizeof(tmp))
		return false;
	if (vhu_pkt_read(p, 0, tmp, len) != len)
		return false;
	return memcmp(tmp, want, len) == 0;
}

/* Dirty-log bitmap (one bit a 4 KiB guest page) readers. */
static inline bool page_dirty(const uint8_t *bm, uint64_t gpa)
{
	uint64_t pg = gpa / 4096;
	return bm[pg / 8] & (1u << (pg % 8));
}

static inline unsigned dirty_count(const uint8_t *bm, size_t n)
{
	unsigned c = 0;
	for (size_t i = 0; i < n; i++)
		c += (unsigned)__builtin_popcount(bm[i]);
	return c;
}

#endif
