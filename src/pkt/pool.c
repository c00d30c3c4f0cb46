/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fixed-size segment pool. All segments and their buffers are carved out
 * of one allocation made at creation; afterwards only pointers move. The
 * free list is a stack under a spinlock taken once per bulk call, so a
 * burst of 32 costs one lock round-trip, and a stack keeps recently freed
 * (cache-warm) buffers on top.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "common/compiler.h"
#include "common/log.h"
#include "common/spinlock.h"
#include "pkt/ext.h"
#include <vhu/pkt.h>

struct vhu_pkt_pool {
	vhu_spinlock_t lock;
	uint32_t top;          /* free entries in stack */
	struct vhu_pkt **stack;
	uint32_t n;
	uint32_t data_room;
	uint32_t seg_buf_len;
	struct vhu_pkt *pkts;
	uint8_t *bufs;
	size_t bufs_len;
	char name[32];
};

static inline void seg_reset(struct vhu_pkt *p)
{
	p->next = NULL;
	p->data_off = VHU_PKT_HEADROOM;
	p->data_len = 0;
	p->pkt_len = 0;
	p->nb_segs = 1;
	p->port = 0;
	p->user = 0;
	memset(&p->ol, 0, sizeof(p->ol));
}

/* What an external segment keeps in its own buffer (pkt/ext.h). */
struct ext_info {
	vhu_pkt_ext_release release;
	void *owner;
	uint64_t cookie;
};

static inline uint8_t *seg_own_buf(const struct vhu_pkt *s)
{
	const struct vhu_pkt_pool *pool = s->pool;
	return pool->bufs + (size_t)(s - pool->pkts) * pool->seg_buf_len;
}

VHU_EXPORT void vhu_pkt_attach_ext(struct vhu_pkt *seg, uint8_t *buf, uint32_t buf_len,
				   uint32_t data_off, uint32_t data_len,
				   vhu_pkt_ext_release release, void *owner, uint64_t cookie)
{
	struct ext_info *e = (struct ext_info *)(void *)seg_own_buf(seg);

	*e = (struct ext_info){ release, owner, cookie };
	seg->buf = buf;
	seg->buf_len = buf_len;
	seg->data_off = data_off;
	seg->data_len = data_len;
	seg->pkt_len = data_len;
}

void vhu_pkt_ext_attach(struct vhu_pkt *seg, uint8_t *data, uint32_t len,
			vhu_pkt_ext_release release, void *owner, uint64_t cookie)
{
	vhu_pkt_attach_ext(seg, data, len, 0, len, release, owner, cookie);
}

/* External segments being freed, told to their owner a run at a time. */
struct ext_batch {
	vhu_pkt_ext_release release;
	void *owner;
	unsigned n;
	uint64_t cookies[64];
};

static void ext_flush(struct ext_batch *b)
{
	if (b->n)
		b->release(b->owner, b->cookies, b->n);
	b->n = 0;
}

/* Gives an external segment its own buffer back; its owner hears of it
 * with the batch. */
static void ext_detach(struct vhu_pkt *s, struct ext_batch *b)
{
	uint8_t *own = seg_own_buf(s);
	struct ext_info e = *(struct ext_info *)(void *)own;

	s->buf = own;
	s->buf_len = s->pool->seg_buf_len;
	if (b->n && (e.owner != b->owner || e.release != b->release ||
		     b->n == VHU_ARRAY_SIZE(b->cookies)))
		ext_flush(b);
	b->release = e.release;
	b->owner = e.owner;
	b->cookies[b->n++] = e.cookie;
}

VHU_EXPORT struct vhu_pkt_pool *vhu_pkt_pool_create(const char *name, uint32_t n,
						    uint32_t data_room)
{
	struct vhu_pkt_pool *pool;

	if (n == 0 || data_room == 0 || data_room > (1u << 20)) {
		errno = EINVAL;
		return NULL;
	}
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return NULL;
	vhu_spin_init(&pool->lock);
	snprintf(pool->name, sizeof(pool->name), "%s", name ? name : "pool");
	pool->n = n;
	pool->data_room = data_room;
	/* Round each buffer to a cache line so neighbours never share one. */
	pool->seg_buf_len = (VHU_PKT_HEADROOM + data_room + VHU_CACHE_LINE - 1) &
			    ~(uint32_t)(VHU_CACHE_LINE - 1);
	pool->bufs_len = (size_t)n * pool->seg_buf_len;
	pool->pkts = aligned_alloc(VHU_CACHE_LINE,
				   ((size_t)n * sizeof(struct vhu_pkt) + VHU_CACHE_LINE - 1) &
				   ~(size_t)(VHU_CACHE_LINE - 1));
	pool->stack = malloc((size_t)n * sizeof(*pool->stack));
	pool->bufs = mmap(NULL, pool->bufs_len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (!pool->pkts || !pool->stack || pool->bufs == MAP_FAILED) {
		if (pool->bufs != MAP_FAILED && pool->bufs)
			munmap(pool->bufs, pool->bufs_len);
		free(pool->pkts);
		free(pool->stack);
		free(pool);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct vhu_pkt *p = &pool->pkts[i];
		p->buf = pool->bufs + (size_t)i * pool->seg_buf_len;
		p->buf_len = pool->seg_buf_len;
		p->pool = pool;
		seg_reset(p);
		/* Lowest addresses on top: allocation walks memory forward. */
		pool->stack[n - 1 - i] = p;
	}
	pool->top = n;
	return pool;
}

VHU_EXPORT void vhu_pkt_pool_destroy(struct vhu_pkt_pool *pool)
{
	if (!pool)
		return;
	vhu_spin_lock(&pool->lock);
	if (pool->top != pool->n)
		VHU_WARN("pool %s: destroyed with %u of %u segments in use",
			 pool->name, pool->n - pool->top, pool->n);
	free(pool->stack);
	vhu_spin_unlock(&pool->lock);
	munmap(pool->bufs, pool->bufs_len);
	free(pool->pkts);
	free(pool);
}

VHU_EXPORT uint32_t vhu_pkt_pool_avail(const struct vhu_pkt_pool *pool)
{
	return __atomic_load_n(&((struct vhu_pkt_pool *)pool)->top, __ATOMIC_RELAXED);
}

VHU_EXPORT uint32_t vhu_pkt_pool_size(const struct vhu_pkt_pool *pool)
{
	return pool->n;
}

VHU_EXPORT uint32_t vhu_pkt_pool_data_room(const struct vhu_pkt_pool *pool)
{
	return pool->seg_buf_len - VHU_PKT_HEADROOM;
}

VHU_EXPORT int vhu_pkt_alloc_bulk(struct vhu_pkt_pool *pool, struct vhu_pkt **pkts,
				  unsigned n)
{
	vhu_spin_lock(&pool->lock);
	if (unlikely(pool->top < n)) {
		vhu_spin_unlock(&pool->lock);
		return -ENOMEM;
	}
	pool->top -= n;
	memcpy(pkts, &pool->stack[pool->top], n * sizeof(*pkts));
	vhu_spin_unlock(&pool->lock);
	for (unsigned i = 0; i < n; i++)
		seg_reset(pkts[i]);
	return 0;
}

VHU_EXPORT struct vhu_pkt *vhu_pkt_alloc(struct vhu_pkt_pool *pool)
{
	struct vhu_pkt *p;
	return vhu_pkt_alloc_bulk(pool, &p, 1) == 0 ? p : NULL;
}

static void put_segs(struct vhu_pkt_pool *pool, struct vhu_pkt **segs, unsigned n)
{
	vhu_spin_lock(&pool->lock);
	memcpy(&pool->stack[pool->top], segs, n * sizeof(*segs));
	pool->top += n;
	vhu_spin_unlock(&pool->lock);
}

VHU_EXPORT void vhu_pkt_free_bulk(struct vhu_pkt **pkts, unsigned n)
{
	/* Gather runs of segments of the same pool, return each run at once. */
	struct vhu_pkt *run[64];
	struct vhu_pkt_pool *pool = NULL;
	struct ext_batch ext;
	unsigned k = 0;

	ext.n = 0;

	for (unsigned i = 0; i < n; i++) {
		for (struct vhu_pkt *s = pkts[i], *next; s; s = next) {
			next = s->next;
			if (unlikely(s->buf != seg_own_buf(s)))
				ext_detach(s, &ext);
			if (k && (s->pool != pool || k == VHU_ARRAY_SIZE(run))) {
				put_segs(pool, run, k);
				k = 0;
			}
			pool = s->pool;
			run[k++] = s;
		}
	}
	if (k)
		put_segs(pool, run, k);
	/* After the segments are back: a release may return buffers to a
	 * guest, which may then send more at once. */
	ext_flush(&ext);
}

VHU_EXPORT void vhu_pkt_free(struct vhu_pkt *pkt)
{
	if (pkt)
		vhu_pkt_free_bulk(&pkt, 1);
}

VHU_EXPORT uint8_t *vhu_pkt_append(struct vhu_pkt *pkt, uint32_t len)
{
	if (pkt->next || vhu_pkt_tailroom(pkt) < len)
		return NULL;
	uint8_t *p = vhu_pkt_data(pkt) + pkt->data_len;
	pkt->data_len += len;
	pkt->pkt_len += len;
	return p;
}

VHU_EXPORT uint32_t vhu_pkt_read(const struct vhu_pkt *pkt, uint32_t off, void *dst,
				 uint32_t len)
{
	uint32_t done = 0;

	for (const struct vhu_pkt *s = pkt; s && done < len; s = s->next) {
		if (off >= s->data_len) {
			off -= s->data_len;
			continue;
		}
		uint32_t n = VHU_MIN(s->data_len - off, len - done);
		memcpy((uint8_t *)dst + done, vhu_pkt_data(s) + off, n);
		done += n;
		off = 0;
	}
	return done;
}

VHU_EXPORT struct vhu_pkt *vhu_pkt_clone(const struct vhu_pkt *pkt,
					 struct vhu_pkt_pool *pool)
{
	struct vhu_pkt *c;

	if (pkt->pkt_len > vhu_pkt_pool_data_room(pool))
		return NULL;
	c = vhu_pkt_alloc(pool);
	if (!c)
		return NULL;
	vhu_pkt_read(pkt, 0, vhu_pkt_data(c), pkt->pkt_len);
	c->data_len = c->pkt_len = pkt->pkt_len;
	c->port = pkt->port;
	c->user = pkt->user;
	c->ol = pkt->ol;
	return c;
}
