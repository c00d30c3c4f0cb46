/* SPDX-License-Identifier: BSD-3-Clause */
/* vhu_pkt_pool: creation, bulk alloc/free, append, read, clone, external
 * segments. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <vhu/pkt.h>
#include "t.h"

static void fill(uint8_t *p, uint32_t n, uint8_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static bool is_fresh(const struct vhu_pkt *p, const struct vhu_pkt_pool *pool)
{
	return p->next == NULL && p->pool == pool && p->data_off == VHU_PKT_HEADROOM &&
	       p->data_len == 0 && p->pkt_len == 0 && p->nb_segs == 1 &&
	       p->port == 0 && p->user == 0 && p->ol.flags == 0 &&
	       p->ol.gso_type == 0 && p->ol.csum_start == 0 && p->buf != NULL;
}

static void test_create(void)
{
	errno = 0;
	CHECK(vhu_pkt_pool_create("x", 0, 256) == NULL);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK(vhu_pkt_pool_create("x", 4, 0) == NULL);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK(vhu_pkt_pool_create("x", 4, (1u << 20) + 1) == NULL);
	CHECK_EQ(errno, EINVAL);

	struct vhu_pkt_pool *pool = vhu_pkt_pool_create(NULL, 8, 100);
	REQUIRE(pool);
	CHECK_EQ(vhu_pkt_pool_size(pool), 8);
	CHECK_EQ(vhu_pkt_pool_avail(pool), 8);
	CHECK(vhu_pkt_pool_data_room(pool) >= 100);
	struct vhu_pkt *p = vhu_pkt_alloc(pool);
	REQUIRE(p);
	CHECK(is_fresh(p, pool));
	CHECK(vhu_pkt_tailroom(p) >= 100);
	CHECK_EQ(vhu_pkt_tailroom(p), vhu_pkt_pool_data_room(pool));
	vhu_pkt_free(p);
	vhu_pkt_free(NULL); /* no-op */
	CHECK_EQ(vhu_pkt_pool_avail(pool), 8);
	vhu_pkt_pool_destroy(pool);
	vhu_pkt_pool_destroy(NULL);
}

static void test_bulk(void)
{
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("bulk", 8, 256);
	struct vhu_pkt *a[8], *b[8];
	REQUIRE(pool);

	CHECK_EQ(vhu_pkt_alloc_bulk(pool, a, 5), 0);
	CHECK_EQ(vhu_pkt_pool_avail(pool), 3);
	for (int i = 0; i < 5; i++) {
		CHECK(is_fresh(a[i], pool));
		for (int j = 0; j < i; j++)
			CHECK(a[i] != a[j] && a[i]->buf != a[j]->buf);
	}
	/* all-or-nothing: 4 asked, 3 free -> nothing taken */
	for (int i = 0; i < 8; i++)
		b[i] = NULL;
	CHECK_EQ(vhu_pkt_alloc_bulk(pool, b, 4), -ENOMEM);
	CHECK_EQ(vhu_pkt_pool_avail(pool), 3);
	CHECK(b[0] == NULL && b[3] == NULL);
	CHECK_EQ(vhu_pkt_alloc_bulk(pool, b, 3), 0);
	CHECK_EQ(vhu_pkt_pool_avail(pool), 0);
	/* exhausted */
	CHECK(vhu_pkt_alloc(pool) == NULL);
	CHECK_EQ(vhu_pkt_alloc_bulk(pool, b + 3, 1), -ENOMEM);
	CHECK_EQ(vhu_pkt_alloc_bulk(pool, b + 3, 0), 0);
	/* no two of the 8 share a buffer */
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 5; j++)
			CHECK(b[i] != a[j]);

	/* dirty some metadata; a segment comes back reset */
	a[0]->port = 7;
	a[0]->user = 9;
	a[0]->ol.flags = 1;
	a[0]->ol.csum_start = 3;
	a[0]->data_off = 0;
	CHECK(vhu_pkt_append(a[0], 10) != NULL);
	vhu_pkt_free_bulk(a, 5);
	CHECK_EQ(vhu_pkt_pool_avail(pool), 5);
	vhu_pkt_free_bulk(b, 3);
	CHECK_EQ(vhu_pkt_pool_avail(pool), 8);
	CHECK_EQ(vhu_pkt_alloc_bulk(pool, a, 8), 0);
	for (int i = 0; i < 8; i++)
		CHECK(is_fresh(a[i], pool));
	vhu_pkt_free_bulk(a, 8);
	CHECK_EQ(vhu_pkt_pool_avail(pool), 8);
	vhu_pkt_pool_destroy(pool);
}

static void test_append(void)
{
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("app", 4, 256);
	REQUIRE(pool);
	struct vhu_pkt *p = vhu_pkt_alloc(pool), *q = vhu_pkt_alloc(pool);
	REQUIRE(p && q);
	uint32_t room = vhu_pkt_tailroom(p);

	uint8_t *d = vhu_pkt_append(p, 100);
	CHECK(d == vhu_pkt_data(p));
	CHECK_EQ(p->data_len, 100);
	CHECK_EQ(p->pkt_len, 100);
	uint8_t *e = vhu_pkt_append(p, 20);
	CHECK(e == d + 100);
	CHECK_EQ(p->pkt_len, 120);
	/* one byte too many fails and changes nothing */
	CHECK(vhu_pkt_append(p, room - 120 + 1) == NULL);
	CHECK_EQ(p->data_len, 120);
	CHECK_EQ(p->pkt_len, 120);
	/* exactly the rest works */
	CHECK(vhu_pkt_append(p, room - 120) != NULL);
	CHECK_EQ(vhu_pkt_tailroom(p), 0);
	CHECK(vhu_pkt_append(p, 1) == NULL);
	CHECK(vhu_pkt_append(p, 0) != NULL);
	/* huge length does not wrap */
	CHECK(vhu_pkt_append(q, UINT32_MAX) == NULL);
	CHECK_EQ(q->data_len, 0);
	/* multi-segment packets refuse append */
	p->next = q;
	CHECK(vhu_pkt_append(p, 0) == NULL);
	p->nb_segs = 2;
	vhu_pkt_free(p);
	CHECK_EQ(vhu_pkt_pool_avail(pool), 4);
	vhu_pkt_pool_destroy(pool);
}

/* Builds a packet of seglens[0..nseg) segments with a known pattern. */
static struct vhu_pkt *make_chain(struct vhu_pkt_pool *pool, const uint32_t *seglens,
				  unsigned nseg, uint8_t *flat)
{
	struct vhu_pkt *head = NULL, *tail = NULL;
	uint32_t total = 0;

	for (unsigned i = 0; i < nseg; i++) {
		struct vhu_pkt *s = vhu_pkt_alloc(pool);
		if (!s) {
			vhu_pkt_free(head);
			return NULL;
		}
		uint8_t *d = vhu_pkt_append(s, seglens[i]);
		if (!d) {
			vhu_pkt_free(s);
			vhu_pkt_free(head);
			return NULL;
		}
		fill(d, seglens[i], (uint8_t)(total * 3 + 1));
		if (flat)
			memcpy(flat + total, d, seglens[i]);
		total += seglens[i];
		if (tail)
			tail->next = s;
		else
			head = s;
		tail = s;
	}
	head->pkt_len = total;
	head->nb_segs = (uint16_t)nseg;
	return head;
}

static void test_read(void)
{
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("read", 8, 64);
	REQUIRE(pool);
	const uint32_t lens[3] = { 10, 20, 7 };
	uint8_t flat[37], out[64];
	struct vhu_pkt *p = make_chain(pool, lens, 3, flat);
	REQUIRE(p);
	CHECK_EQ(vhu_pkt_pool_avail(pool), 5);

	memset(out, 0, sizeof(out));
	CHECK_EQ(vhu_pkt_read(p, 0, out, 37), 37);
	CHECK_MEM(out, flat, 37);
	memset(out, 0, sizeof(out));
	CHECK_EQ(vhu_pkt_read(p, 5, out, 10), 10); /* spans segments 1-2 */
	CHECK_MEM(out, flat + 5, 10);
	memset(out, 0, sizeof(out));
	CHECK_EQ(vhu_pkt_read(p, 28, out, 64), 9); /* spans 2-3, cut at end */
	CHECK_MEM(out, flat + 28, 9);
	CHECK_EQ(vhu_pkt_read(p, 30, out, 64), 7);
	CHECK_MEM(out, flat + 30, 7);
	CHECK_EQ(vhu_pkt_read(p, 37, out, 64), 0);
	CHECK_EQ(vhu_pkt_read(p, 1000, out, 64), 0);
	CHECK_EQ(vhu_pkt_read(p, 3, out, 0), 0);

	/* multi-segment free returns every segment */
	vhu_pkt_free(p);
	CHECK_EQ(vhu_pkt_pool_avail(pool), 8);
	vhu_pkt_pool_destroy(pool);
}

static void test_clone(void)
{
	struct vhu_pkt_pool *src = vhu_pkt_pool_create("src", 8, 64);
	struct vhu_pkt_pool *dst = vhu_pkt_pool_create("dst", 2, 256);
	struct vhu_pkt_pool *tiny = vhu_pkt_pool_create("tiny", 2, 64);
	REQUIRE(src && dst && tiny);
	const uint32_t lens[3] = { 33, 64, 1 };
	uint8_t flat[98], out[256];
	struct vhu_pkt *p = make_chain(src, lens, 3, flat);
	REQUIRE(p);
	p->port = 3;
	p->user = 0xabcdef;
	p->ol.flags = 1;
	p->ol.gso_type = 1;
	p->ol.hdr_len = 54;
	p->ol.gso_size = 1448;
	p->ol.csum_start = 34;
	p->ol.csum_offset = 16;

	struct vhu_pkt *c = vhu_pkt_clone(p, dst);
	REQUIRE(c);
	CHECK(c != p);
	CHECK(c->pool == dst);
	CHECK(c->next == NULL);
	CHECK_EQ(c->nb_segs, 1);
	CHECK_EQ(c->pkt_len, 98);
	CHECK_EQ(c->data_len, 98);
	CHECK_EQ(c->port, 3);
	CHECK_EQ(c->user, 0xabcdef);
	CHECK_MEM(&c->ol, &p->ol, sizeof(c->ol));
	CHECK_MEM(vhu_pkt_data(c), flat, 98);
	CHECK_EQ(vhu_pkt_read(c, 0, out, sizeof(out)), 98);
	CHECK_MEM(out, flat, 98);
	CHECK_EQ(vhu_pkt_pool_avail(dst), 1);

	/* does not fit one segment of tiny (64 bytes): NULL, nothing taken */
	CHECK(vhu_pkt_clone(p, tiny) == NULL);
	CHECK_EQ(vhu_pkt_pool_avail(tiny), 2);

	/* pool empty: NULL */
	struct vhu_pkt *c2 = vhu_pkt_clone(p, dst);
	CHECK(c2 != NULL);
	CHECK(vhu_pkt_clone(p, dst) == NULL);
	CHECK_EQ(vhu_pkt_pool_avail(dst), 0);

	/* free_bulk of packets from two pools returns each to its own */
	struct vhu_pkt *all[3] = { c, p, c2 };
	vhu_pkt_free_bulk(all, 3);
	CHECK_EQ(vhu_pkt_pool_avail(src), 8);
	CHECK_EQ(vhu_pkt_pool_avail(dst), 2);
	vhu_pkt_pool_destroy(src);
	vhu_pkt_pool_destroy(dst);
	vhu_pkt_pool_destroy(tiny);
}

/* More segments than free_bulk's internal run buffer (64). */
static void test_free_long_chain(void)
{
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("long", 300, 64);
	REQUIRE(pool);
	uint32_t lens[150];
	for (int i = 0; i < 150; i++)
		lens[i] = 1 + (uint32_t)(i % 64);
	struct vhu_pkt *p = make_chain(pool, lens, 150, NULL);
	struct vhu_pkt *q = make_chain(pool, lens, 100, NULL);
	REQUIRE(p && q);
	CHECK_EQ(vhu_pkt_pool_avail(pool), 50);
	struct vhu_pkt *both[2] = { p, q };
	vhu_pkt_free_bulk(both, 2);
	CHECK_EQ(vhu_pkt_pool_avail(pool), 300);
	/* every segment is back exactly once: all 300 allocatable, distinct */
	struct vhu_pkt *all[300];
	CHECK_EQ(vhu_pkt_alloc_bulk(pool, all, 300), 0);
	int dup = 0;
	for (int i = 0; i < 300; i++)
		for (int j = 0; j < i; j++)
			dup += all[i] == all[j];
	CHECK_EQ(dup, 0);
	vhu_pkt_free_bulk(all, 300);
	CHECK_EQ(vhu_pkt_pool_avail(pool), 300);
	vhu_pkt_pool_destroy(pool);
}

/* What the release calls of test_attach_ext were told. */
static struct {
	void *owner;
	uint64_t cookies[8];
	unsigned n, calls;
} rel;

static void ext_release(void *owner, const uint64_t *cookies, unsigned n)
{
	rel.owner = owner;
	for (unsigned i = 0; i < n && rel.n < 8; i++)
		rel.cookies[rel.n++] = cookies[i];
	rel.calls++;
}

/* Segments over the application's memory: headroom and data where asked,
 * clone and read see the data, a burst's free makes one release call
 * with every cookie, and the segments come back to their pool fresh. */
static void test_attach_ext(void)
{
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("ext", 4, 256);
	static uint8_t mem[2][512];
	struct vhu_pkt *p[3];
	uint8_t out[100];
	REQUIRE(pool);
	REQUIRE(vhu_pkt_alloc_bulk(pool, p, 3) == 0);
	fill(mem[0] + 200, 100, 1);
	vhu_pkt_attach_ext(p[0], mem[0], 512, 200, 100, ext_release, &rel, 11);
	vhu_pkt_attach_ext(p[1], mem[1], 512, 0, 60, ext_release, &rel, 22);
	CHECK(vhu_pkt_data(p[0]) == mem[0] + 200);
	CHECK_EQ(p[0]->pkt_len, 100);
	CHECK_EQ(vhu_pkt_tailroom(p[0]), 212);
	CHECK_EQ(vhu_pkt_read(p[0], 0, out, sizeof(out)), 100);
	CHECK(memcmp(out, mem[0] + 200, 100) == 0);
	struct vhu_pkt *c = vhu_pkt_clone(p[0], pool);
	REQUIRE(c);
	CHECK(c->buf != mem[0] && memcmp(vhu_pkt_data(c), mem[0] + 200, 100) == 0);
	vhu_pkt_free(c);
	CHECK_EQ(rel.calls, 0);
	vhu_pkt_free_bulk(p, 3);
	CHECK_EQ(rel.calls, 1);
	CHECK(rel.owner == &rel);
	CHECK_EQ(rel.n, 2);
	CHECK(rel.cookies[0] == 11 && rel.cookies[1] == 22);
	CHECK_EQ(vhu_pkt_pool_avail(pool), 4);
	struct vhu_pkt *all[4];
	REQUIRE(vhu_pkt_alloc_bulk(pool, all, 4) == 0);
	for (int i = 0; i < 4; i++)
		CHECK(is_fresh(all[i], pool) && (all[i]->buf < mem[0] || all[i]->buf >= mem[1] + 512));
	vhu_pkt_free_bulk(all, 4);
	vhu_pkt_pool_destroy(pool);
}

int main(void)
{
	t_init();
	RUN(test_create);
	RUN(test_bulk);
	RUN(test_append);
	RUN(test_read);
	RUN(test_clone);
	RUN(test_free_long_chain);
	RUN(test_attach_ext);
	return t_done("test_pool");
}
