/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A guest that rewrites its transmit buffers while the switch holds them
 * (vhu-switch --zero-copy), run by tests/peers/switch_zc_rewrite.sh: three
 * in-tree frontends on the switch's ports a, b and c. B and C announce
 * their MACs; then A sends frames to B while a thread of A's rewrites
 * every transmit buffer over and over: destination MAC to C's and a
 * payload byte to 'C', then both back. Whatever the switch read when,
 * each frame must reach the port its delivered header names (the header
 * it was switched by is the one the receiver gets): a frame at B must say
 * B, one at C must say C. Frames at B whose payload says 'C' were spoiled
 * after the switch decided on them (a rewrite while held): counted.
 *
 * Usage: zc_rewrite DIR SECONDS. Prints one line of counts; exit 0 when
 * nothing was misdelivered and B received frames, 1 otherwise.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_ring.h>
#include <vhu/frontend.h>
#include <vhu/pkt.h>
#include <vhu/vhu.h>

#define LEN 1400u
#define MARK 1000u   /* payload byte the rewriter flips, past the switch's copy */
#define HDR 12u      /* virtio-net header (VERSION_1) */

static const uint8_t mac[3][6] = { { 2, 0, 0, 0, 0, 0xa }, { 2, 0, 0, 0, 0, 0xb },
				   { 2, 0, 0, 0, 0, 0xc } };
static struct vhu_fe *fe[3];
static struct vhu_pkt_pool *pool;
static int stop;
static unsigned long passes;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void send_one(int from, int to, uint8_t mark)
{
	struct vhu_pkt *p = vhu_pkt_alloc(pool);
	if (!p)
		return;
	uint8_t *d = vhu_pkt_append(p, LEN);
	memcpy(d, mac[to], 6);
	memcpy(d + 6, mac[from], 6);
	d[12] = 0x88;
	d[13] = 0xb5;  /* local experimental EtherType */
	memset(d + 14, mark, LEN - 14);
	vhu_fe_send_burst(fe[from], 0, &p, 1);
	vhu_pkt_free(p);
}

/* A's transmit buffers, rewritten in place: dst MAC and the mark byte
 * flip between B's and C's, byte by byte (relaxed atomics: racing the
 * switch's reads is the point). */
static void *rewriter(void *arg)
{
	struct vring_desc *desc = vhu_fe_vring_desc(fe[0], VHU_VRING_TX(0));
	uint64_t gpa, size;
	uint8_t *mem = vhu_fe_mem(fe[0], 0, &gpa, &size);
	(void)arg;
	if (!desc || !mem)
		return NULL;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		int to = 1 + (int)(passes & 1);
		for (unsigned i = 0; i < 256; i++) {
			uint64_t a = __atomic_load_n(&desc[i].addr, __ATOMIC_RELAXED);
			uint32_t l = __atomic_load_n(&desc[i].len, __ATOMIC_RELAXED);
			if (l < HDR + LEN || a < gpa || a - gpa > size - HDR - LEN)
				continue;
			uint8_t *f = mem + (a - gpa) + HDR;
			__atomic_store_n(&f[MARK], (uint8_t)(to == 1 ? 'B' : 'C'), __ATOMIC_RELAXED);
			for (int k = 0; k < 6; k++)
				__atomic_store_n(&f[k], mac[to][k], __ATOMIC_RELAXED);
		}
		passes++;
	}
	return NULL;
}

struct seen {
	unsigned long frames, misdelivered, spoiled;
};

/* Frames at receiver r (1: B, 2: C): each must name r as its destination. */
static void drain(int r, struct seen *s)
{
	struct vhu_pkt *rx[32];
	uint16_t n = vhu_fe_recv_burst(fe[r], 0, pool, rx, 32);
	for (uint16_t i = 0; i < n; i++) {
		uint8_t h[14], m = 0;
		if (vhu_pkt_read(rx[i], 0, h, 14) != 14 || memcmp(h + 6, mac[0], 6))
			continue;  /* not from A */
		vhu_pkt_read(rx[i], MARK, &m, 1);
		s->frames++;
		if (memcmp(h, mac[r], 6)) {
			if (s->misdelivered++ < 5)
				fprintf(stderr, "zc_rewrite: frame for %02x at port %c\n", h[5],
					"abc"[r]);
		} else if (r == 1 && m == 'C') {
			s->spoiled++;
		}
	}
	vhu_pkt_free_bulk(rx, n);
}

int main(int argc, char **argv)
{
	struct seen at[3] = { { 0 } };
	unsigned long sent = 0;
	pthread_t t;

	if (argc != 3)
		return 2;
	double secs = atof(argv[2]);
	pool = vhu_pkt_pool_create("zc-rewrite", 4096, 2048);
	for (int i = 0; i < 3; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%c", argv[1], "abc"[i]);
		struct vhu_fe_opts o = { .path = path };
		fe[i] = vhu_fe_create(&o);
		if (!fe[i] || !pool) {
			fprintf(stderr, "zc_rewrite: cannot connect to %s\n", path);
			return 1;
		}
	}
	/* The switch learns B and C (and A, from nothing yet: floods). */
	for (double end = now() + 1; now() < end; usleep(50000)) {
		send_one(1, 0, 'x');
		send_one(2, 0, 'x');
	}
	pthread_create(&t, NULL, rewriter, NULL);
	for (double end = now() + secs; now() < end;) {
		struct vhu_pkt *tx[32];
		if (vhu_pkt_alloc_bulk(pool, tx, 32) == 0) {
			for (int i = 0; i < 32; i++) {
				uint8_t *d = vhu_pkt_append(tx[i], LEN);
				memcpy(d, mac[1], 6);
				memcpy(d + 6, mac[0], 6);
				d[12] = 0x88;
				d[13] = 0xb5;
				memset(d + 14, 'B', LEN - 14);
			}
			sent += vhu_fe_send_burst(fe[0], 0, tx, 32);
			vhu_pkt_free_bulk(tx, 32);
		}
		drain(1, &at[1]);
		drain(2, &at[2]);
		struct vhu_pkt *rx[32];
		vhu_pkt_free_bulk(rx, vhu_fe_recv_burst(fe[0], 0, pool, rx, 32));
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	for (double end = now() + 0.3; now() < end; usleep(1000)) {
		drain(1, &at[1]);
		drain(2, &at[2]);
	}
	printf("zc_rewrite: sent %lu, rewrite passes %lu; at b %lu (payload spoiled after "
	       "the decision %lu), at c %lu; misdelivered %lu\n", sent, passes, at[1].frames,
	       at[1].spoiled, at[2].frames, at[1].misdelivered + at[2].misdelivered);
	for (int i = 0; i < 3; i++)
		vhu_fe_destroy(fe[i]);
	vhu_pkt_pool_destroy(pool);
	return at[1].misdelivered + at[2].misdelivered == 0 && at[1].frames ? 0 : 1;
}
