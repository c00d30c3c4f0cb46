/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * capture: packets crossing one port (both directions) into a classic pcap
 * file, which tcpdump and tshark read. A debugging aid: while a capture is
 * attached, the PMDs touching the port take its mutex and write through
 * stdio, the cost tcpdump has too. With no capture attached the data path
 * pays one pointer load per burst.
 *
 * A capture takes no offloads: a GSO packet is written as the frames it
 * stands for (segmented from the capture's own pool) and a partial
 * checksum is written completed, so tshark sees what a wire would carry
 * and checks every checksum. When that cannot be done (more frames than
 * CAP_SEGS, headers the segmenter does not handle) the packet is written
 * as it is, as tcpdump shows a GSO packet on a Linux interface.
 *
 * Two owners hold a capture: the port it is attached to and the control
 * request waiting for it to finish; whichever lets go last closes it.
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vhu/pkt.h>
#include "sw.h"

#define SNAPLEN 65535
/* Segments of the capture's pool, each room for a whole GSO packet (so a
 * copy for checksum completion is one segment): 4 MiB while capturing. */
#define CAP_SEGS 64
#define CAP_ROOM (65536 + 64)

struct capture {
	pthread_mutex_t lock;
	FILE *f;
	uint64_t want;
	_Atomic uint64_t got;
	atomic_int refs;
	struct vhu_pkt_pool *pool;
	struct vhu_pkt *seg[CAP_SEGS];
	uint8_t flat[SNAPLEN];
};

struct capture *capture_open(const char *file, uint64_t count, char *err, size_t errlen)
{
	struct capture *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->pool = vhu_pkt_pool_create("capture", CAP_SEGS, CAP_ROOM);
	if (!c->pool) {
		snprintf(err, errlen, "out of memory");
		free(c);
		return NULL;
	}
	c->f = fopen(file, "wbx");
	if (!c->f && errno == EEXIST)
		c->f = fopen(file, "wb");
	if (!c->f) {
		snprintf(err, errlen, "cannot create %s: %s", file, strerror(errno));
		vhu_pkt_pool_destroy(c->pool);
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->want = count;
	atomic_init(&c->refs, 2);
	const struct { uint32_t magic; uint16_t maj, min; int32_t zone; uint32_t sig, snap, link; }
		hdr = { 0xa1b2c3d4, 2, 4, 0, 0, SNAPLEN, 1 /* Ethernet */ };
	fwrite(&hdr, sizeof(hdr), 1, c->f);
	fflush(c->f);
	return c;
}

static void put(struct capture *c, const struct vhu_pkt *pkt, const struct timespec *ts)
{
	uint32_t len = pkt->pkt_len, cap = len < SNAPLEN ? len : SNAPLEN;

	cap = vhu_pkt_read(pkt, 0, c->flat, cap);
	uint32_t rec[4] = { (uint32_t)ts->tv_sec, (uint32_t)(ts->tv_nsec / 1000), cap, len };
	fwrite(rec, sizeof(rec), 1, c->f);
	fwrite(c->flat, 1, cap, c->f);
	atomic_fetch_add(&c->got, 1);
}

/* pkt as the frames a wire would carry (see the top of the file). */
static void put_offloaded(struct capture *c, struct vhu_pkt *pkt, const struct timespec *ts)
{
	if (pkt->ol.gso_type) {
		int n = vhu_pkt_gso_segment(pkt, c->pool, c->seg, CAP_SEGS);
		if (n <= 0) {
			put(c, pkt, ts);
			return;
		}
		for (int i = 0; i < n && atomic_load(&c->got) < c->want; i++)
			put(c, c->seg[i], ts);
		vhu_pkt_free_bulk(c->seg, (unsigned)n);
		return;
	}
	struct vhu_pkt *q = vhu_pkt_clone(pkt, c->pool);
	put(c, q && vhu_pkt_csum_complete(q) == 0 ? q : pkt, ts);
	vhu_pkt_free(q);
}

void capture_pkts(struct capture *c, struct vhu_pkt **pkts, uint16_t n)
{
	struct timespec ts;

	if (atomic_load_explicit(&c->got, memory_order_relaxed) >= c->want)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&c->lock);
	for (uint16_t i = 0; i < n && atomic_load(&c->got) < c->want; i++) {
		const struct vhu_pkt_offload *ol = &pkts[i]->ol;
		if (ol->gso_type || (ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			put_offloaded(c, pkts[i], &ts);
		else
			put(c, pkts[i], &ts);
	}
	pthread_mutex_unlock(&c->lock);
}

bool capture_done(struct capture *c)
{
	return atomic_load(&c->got) >= c->want;
}

bool capture_orphaned(struct capture *c)
{
	return atomic_load(&c->refs) == 1;
}

uint64_t capture_count(struct capture *c)
{
	return atomic_load(&c->got);
}

/* Lets go of one reference; the last one closes the file. */
void capture_close(struct capture *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	fclose(c->f);
	vhu_pkt_pool_destroy(c->pool);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
