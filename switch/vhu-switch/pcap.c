/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * capture: packets crossing one port (both directions) into a classic pcap
 * file, which tcpdump and tshark read. A debugging aid: while a capture is
 * attached, the PMDs touching the port take its mutex and write through
 * stdio, the cost tcpdump has too. With no capture attached the data path
 * pays one pointer load per burst.
 *
 * Two owners hold a capture: the port it is attached to and the control
 * request waiting for it to finish; whichever lets go last closes it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vhu/pkt.h>
#include "sw.h"

#define SNAPLEN 65535

struct capture {
	pthread_mutex_t lock;
	FILE *f;
	uint64_t want;
	_Atomic uint64_t got;
	atomic_int refs;
	uint8_t flat[SNAPLEN];
};

struct capture *capture_open(const char *file, uint64_t count, char *err, size_t errlen)
{
	struct capture *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->f = fopen(file, "wbx");
	if (!c->f && errno == EEXIST)
		c->f = fopen(file, "wb");
	if (!c->f) {
		snprintf(err, errlen, "cannot create %s: %s", file, strerror(errno));
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

void capture_pkts(struct capture *c, struct vhu_pkt **pkts, uint16_t n)
{
	struct timespec ts;

	if (atomic_load_explicit(&c->got, memory_order_relaxed) >= c->want)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&c->lock);
	for (uint16_t i = 0; i < n && atomic_load(&c->got) < c->want; i++) {
		uint32_t len = pkts[i]->pkt_len, cap = len < SNAPLEN ? len : SNAPLEN;
		uint32_t rec[4] = { (uint32_t)ts.tv_sec, (uint32_t)(ts.tv_nsec / 1000), cap, len };
		cap = vhu_pkt_read(pkts[i], 0, c->flat, cap);
		rec[2] = cap;
		fwrite(rec, sizeof(rec), 1, c->f);
		fwrite(c->flat, 1, cap, c->f);
		atomic_fetch_add(&c->got, 1);
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
	pthread_mutex_destroy(&c->lock);
	free(c);
}
