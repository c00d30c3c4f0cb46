/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared body of the ring fuzzers (fuzz_split.c, fuzz_packed.c): fake
 * guest memory of two GPA-adjacent regions (mapped apart, through
 * vhu_memmap_build, as SET_MEM_TABLE would), a device with a transmit and
 * a receive vring set up by hand, and the input copied over guest memory
 * so the fuzzer writes descriptors, ring indexes, indirect tables and
 * buffers. Then dequeue bursts on the transmit vring, the packets
 * enqueued on the receive vring, with a mid-run change of the guest's
 * indexes, through the public burst API.
 *
 * Input: [cfg:4][guest memory bytes from GPA 0 ...]
 *   cfg[0]  features: bit0 MRG_RXBUF, bit1 INDIRECT_DESC, bit2 EVENT_IDX,
 *           bit3 VERSION_1 off (legacy 10-byte header), bit4 dirty logging
 *   cfg[1]  ring size (split: 2^(v % 9); packed: 1 + v)
 *   cfg[2]  burst size (1 + v % 64)
 *   cfg[3]  rounds (1 + v % 4); between rounds the guest's avail index /
 *           descriptor flags are bumped as a driver would
 * Layout: TX desc 0x0, TX avail/driver event 0x1000, TX used/device event
 * 0x1800, RX desc 0x2000, RX avail 0x3000, RX used 0x3800; region 0 is
 * [0, 0x8000), region 1 [0x8000, 0x18000).
 */
#ifndef VHU_FUZZ_RING_H
#define VHU_FUZZ_RING_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <vhu/vhu.h>
#include "backend/dev.h"
#include "mem/memmap.h"
#include "net/net.h"
#include "vq/vq.h"

#define R0_SIZE 0x8000ull
#define R1_SIZE 0x10000ull
#define MEM_SIZE (R0_SIZE + R1_SIZE)

static struct vhu_memmap *fz_mem;
static struct vhu_socket fz_sock;
static struct vhu_dev fz_dev;
static struct vhu_pkt_pool *fz_pool;
static uint8_t fz_log[64];

static void fz_quiet(enum vhu_log_level l, const char *m, void *a)
{
	(void)l; (void)m; (void)a;
}

static void fz_init(void)
{
	struct vhu_mem_table_wire t;
	int fd;

	if (fz_mem)
		return;
	if (!getenv("FUZZ_VERBOSE"))
		vhu_log_set_handler(fz_quiet, NULL);
	fd = memfd_create("fz-guest", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)MEM_SIZE) < 0)
		abort();
	memset(&t, 0, sizeof(t));
	t.nregions = 2;
	t.regions[0] = (struct vhu_mem_region_wire){ 0, R0_SIZE, 0x7f0000000000ull, 0 };
	t.regions[1] = (struct vhu_mem_region_wire){ R0_SIZE, R1_SIZE, 0x7f0000100000ull, R0_SIZE };
	int fds[2] = { fd, fd };
	if (vhu_memmap_build(&t, fds, 2, &fz_mem) < 0)
		abort();
	close(fd);
	fz_pool = vhu_pkt_pool_create("fuzz", 512, 2048);
	if (!fz_pool)
		abort();
	fz_sock.max_queue_pairs = 1;
}

static void *fz_g(uint64_t gpa)
{
	return vhu_gpa_to_hva(fz_mem, gpa, 1);
}

static struct vhu_vq *fz_vq(uint16_t index, uint64_t features, uint16_t size, bool packed)
{
	uint64_t base = index & 1 ? 0 : 0x2000;
	struct vhu_vq *q = vhu_vq_new(index, fz_dev.name, &fz_dev.log);

	if (!q)
		abort();
	q->mem = fz_mem;
	q->size = size;
	q->features = features;
	q->hdr_len = vhu_net_hdr_len(features);
	if (packed) {
		q->desc_packed = fz_g(base);
		q->driver_event = fz_g(base + 0x1000);
		q->device_event = fz_g(base + 0x1800);
		q->avail_wrap = q->used_wrap = true;
		q->desc_gpa = base;
		q->used_gpa = base + 0x1800;
	} else {
		q->desc = fz_g(base);
		q->avail = fz_g(base + 0x1000);
		q->used = fz_g(base + 0x1800);
		q->used_gpa = base + 0x1800;
	}
	q->addr_set = q->started = q->enabled = true;
	q->active = true;
	q->callfd = q->kickfd = q->errfd = -1;
	fz_dev.vq[index] = q;
	return q;
}

static int fz_run(const uint8_t *data, size_t size, bool packed)
{
	struct vhu_pkt *pkts[64];

	fz_init();
	if (size < 4)
		return 0;
	uint8_t f = data[0];
	uint64_t features = (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_HOST_TSO4);
	if (f & 1)
		features |= 1ULL << VIRTIO_NET_F_MRG_RXBUF;
	if (f & 2)
		features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (f & 4)
		features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (!(f & 8))
		features |= 1ULL << VIRTIO_F_VERSION_1;
	if (f & 16)
		features |= 1ULL << VHU_F_LOG_ALL;
	if (packed)
		features |= 1ULL << VIRTIO_F_RING_PACKED;
	uint16_t qsz = packed ? (uint16_t)(1 + data[1]) : (uint16_t)(1u << (data[1] % 9));
	uint16_t burst = (uint16_t)(1 + data[2] % 64);
	int rounds = 1 + data[3] % 4;

	memset(fz_mem->regions[0].hva, 0, R0_SIZE);
	memset(fz_mem->regions[1].hva, 0, R1_SIZE);
	data += 4;
	size -= 4;
	if (size > MEM_SIZE)
		size = MEM_SIZE;
	memcpy(fz_mem->regions[0].hva, data, size < R0_SIZE ? size : R0_SIZE);
	if (size > R0_SIZE)
		memcpy(fz_mem->regions[1].hva, data + R0_SIZE, size - R0_SIZE);

	memset(&fz_dev, 0, sizeof(fz_dev));
	fz_dev.sock = &fz_sock;
	fz_dev.fd = fz_dev.log_fd = fz_dev.backend.fd = -1;
	fz_dev.mem = fz_mem;
	fz_dev.features = features;
	fz_dev.hdr_len = vhu_net_hdr_len(features);
	fz_dev.nr_vring = 2;
	memset(fz_log, 0, sizeof(fz_log));
	if (f & 16) {
		fz_dev.log.bitmap = fz_log;
		fz_dev.log.size = sizeof(fz_log);
	}
	snprintf(fz_dev.name, sizeof(fz_dev.name), "fuzz#0");
	struct vhu_vq *rx = fz_vq(0, features, qsz, packed);
	struct vhu_vq *tx = fz_vq(1, features, qsz, packed);

	for (int r = 0; r < rounds; r++) {
		uint16_t n = vhu_dequeue_burst(&fz_dev, 1, fz_pool, pkts, burst);
		if (n) {
			vhu_enqueue_burst(&fz_dev, 0, pkts, n);
			vhu_pkt_free_bulk(pkts, n);
		}
		(void)vhu_vring_avail_entries(&fz_dev, 1);
		(void)vhu_vring_avail_count(&fz_dev, 0, burst);
		/* The driver adds more: bump avail indexes (split) or flip
		 * the first descriptors' availability (packed). */
		if (!packed) {
			tx->avail->idx = (uint16_t)(tx->avail->idx + burst);
			rx->avail->idx = (uint16_t)(rx->avail->idx + burst);
		} else {
			for (uint16_t i = 0; i < qsz && i < 4; i++) {
				tx->desc_packed[i].flags ^= (uint16_t)((1u << VRING_PACKED_DESC_F_AVAIL) |
								       (1u << VRING_PACKED_DESC_F_USED));
				rx->desc_packed[i].flags ^= (uint16_t)(1u << VRING_PACKED_DESC_F_AVAIL);
			}
		}
	}
	vhu_vq_free(fz_dev.vq[0]);
	vhu_vq_free(fz_dev.vq[1]);
	fz_dev.vq[0] = fz_dev.vq[1] = NULL;
	return 0;
}

#endif
