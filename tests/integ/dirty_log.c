/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dirty logging (VHOST_F_LOG_ALL + SET_LOG_BASE) end to end: the in-tree
 * frontend against libvhu in one process, the backend's data thread
 * echoing every packet back into the guest.
 *
 * As QEMU starts a migration, the frontend gives a log (a memfd bitmap,
 * one bit per 4 KiB guest page), acks LOG_ALL with SET_FEATURES and, on
 * split rings, sends SET_VRING_ADDR again with VHOST_VRING_F_LOG and the
 * used ring's guest-physical address. Then, with guest memory snapshotted,
 * traffic goes both ways (the backend fills receive buffers and writes
 * the used rings of both vrings). Every byte that changed and that only
 * the frontend could have written (split descriptor tables and avail
 * rings, transmit buffers, indirect tables, the packed driver event
 * area) is set aside; every other changed byte is the backend's, and its
 * page must be marked in the log. The frontend's memory is in two regions
 * 1 GiB apart, so a mark put at the wrong guest-physical address shows.
 *
 * Mode "off" does the same with logging withheld (the log is given, LOG_ALL
 * is not acked): the same pages change and must be found unmarked, which
 * shows the check sees a missing mark. Each mode also requires that the
 * pages it checks include every vring's used area and receive buffers,
 * and that no page outside guest memory is marked.
 *
 * --iommu 1: the frontend plays a vIOMMU (ACCESS_PLATFORM): every address
 * the rings hold, the log's used-ring address included, is an IOVA (the
 * GPA plus VHU_FE_IOVA_OFFSET, far past the log), while the log stays
 * indexed by GPA: only marks translated IOVA -> frontend VA -> GPA land
 * on the pages checked.
 *
 * Usage: dirty_log [--packed 0|1] [--iommu 0|1] [--mode on|off|all] [-v]
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/vhost_types.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <vhu/frontend.h>
#include <vhu/vhu.h>
#include "frontend/fe_priv.h"
#include "proto/wire.h"
#include "check.h"

#define PAGE      4096u
#define RING      256u
#define MEM       (8u << 20)
#define WARM      300   /* packets before the log starts: rings not at 0 */
#define COUNT     3000  /* > 10 ring laps each way while logging */

static struct vhu_pkt_pool *be_pool;
static struct vhu_dev *cur_dev;
static int data_busy, paused, stop, verbose, iommu;

static int new_device(struct vhu_dev *dev)
{
	__atomic_store_n(&cur_dev, dev, __ATOMIC_RELEASE);
	return 0;
}

static void destroy_device(struct vhu_dev *dev)
{
	(void)dev;
	__atomic_store_n(&cur_dev, NULL, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&data_busy, __ATOMIC_SEQ_CST))
		usleep(10);
}

/* Echo: what the guest sends comes back to it. */
static void *data_thread(void *arg)
{
	struct vhu_pkt *pkts[32];
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		__atomic_store_n(&data_busy, 1, __ATOMIC_SEQ_CST);
		struct vhu_dev *dev = __atomic_load_n(&cur_dev, __ATOMIC_SEQ_CST);
		uint16_t n = 0;
		if (dev && !__atomic_load_n(&paused, __ATOMIC_SEQ_CST) &&
		    vhu_vring_is_enabled(dev, VHU_VRING_TX(0)))
			n = vhu_dequeue_burst(dev, VHU_VRING_TX(0), be_pool, pkts, 32);
		uint16_t sent = 0;
		for (long tries = 0; sent < n && tries < 200000; tries++) {
			sent += vhu_enqueue_burst(dev, VHU_VRING_RX(0), pkts + sent,
						  (uint16_t)(n - sent));
			if (sent < n)
				usleep(10);
		}
		if (sent < n)
			fprintf(stderr, "data thread: dropped %u\n", n - sent);
		vhu_pkt_free_bulk(pkts, n);
		__atomic_store_n(&data_busy, 0, __ATOMIC_SEQ_CST);
		if (!n)
			usleep(20);
	}
	return NULL;
}

/* Stops the backend's data path touching guest memory (for snapshots). */
static void pause_data(int on)
{
	__atomic_store_n(&paused, on, __ATOMIC_SEQ_CST);
	while (on && __atomic_load_n(&data_busy, __ATOMIC_SEQ_CST))
		usleep(10);
}

static void fill(uint8_t *p, uint32_t len, uint32_t seq)
{
	memcpy(p, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x88\xb5", 14);
	memcpy(p + 14, &seq, 4);
	memcpy(p + 18, &len, 4);
	for (uint32_t i = 22; i < len; i++)
		p[i] = (uint8_t)(seq * 31 + i * 7);
}

static bool intact(const struct vhu_pkt *pkt)
{
	static uint8_t buf[2048], want[2048];
	uint32_t len = pkt->pkt_len, seq;
	if (len < 22 || len > sizeof(buf))
		return false;
	vhu_pkt_read(pkt, 0, buf, len);
	memcpy(&seq, buf + 14, 4);
	fill(want, len, seq);
	return memcmp(buf, want, len) == 0;
}

/* count packets of varied sizes through the echo; how many came back intact. */
static long traffic(struct vhu_fe *fe, struct vhu_pkt_pool *pool, long count)
{
	long sent = 0, got = 0;
	double end = now() + 20;
	while ((sent < count || got < sent) && now() < end) {
		struct vhu_pkt *tx[16], *rx[32];
		unsigned n = (unsigned)(count - sent < 16 ? count - sent : 16);
		if (n && vhu_pkt_alloc_bulk(pool, tx, n) == 0) {
			for (unsigned i = 0; i < n; i++) {
				uint32_t seq = (uint32_t)(sent + i), len = 60 + seq * 37 % 1455;
				fill(vhu_pkt_append(tx[i], len), len, seq);
			}
			sent += vhu_fe_send_burst(fe, 0, tx, (uint16_t)n);
			vhu_pkt_free_bulk(tx, n);
		}
		uint16_t r = vhu_fe_recv_burst(fe, 0, pool, rx, 32);
		for (uint16_t i = 0; i < r; i++)
			got += intact(rx[i]);
		vhu_pkt_free_bulk(rx, r);
	}
	return got;
}

/* Sends a request and, with REPLY_ACK, takes its ack: 0 or what failed. */
static int request(struct vhu_fe *fe, uint32_t req, const void *p, uint32_t size,
		   const int *fds, int nfds)
{
	bool ack = vhu_fe_protocol_features(fe) & (1ull << VHU_PROTO_F_REPLY_ACK);
	uint64_t v = 0;
	uint32_t got;
	int r = vhu_fe_send_raw(fe, req, ack ? VHU_MSG_NEED_REPLY : 0, p, size, fds, nfds);
	if (r < 0 || !ack)
		return r;
	r = vhu_fe_recv_raw(fe, &got, &v, sizeof(v), 5000);
	return r < 0 ? r : got != req || r != sizeof(v) ? -EPROTO : v ? -EIO : 0;
}

/* Guest memory is compared as one array: region i at offset i * MEM. */
static long idx_of(const struct vhu_fe *fe, const void *va)
{
	for (uint16_t i = 0; i < fe->nregions; i++) {
		const struct fe_region *rg = &fe->regions[i];
		const uint8_t *p = va;
		if (p >= rg->va && p < rg->va + rg->size)
			return (long)i * MEM + (p - rg->va);
	}
	return -1;
}

static uint8_t *va_of(const struct vhu_fe *fe, uint64_t idx)
{
	return fe->regions[idx / MEM].va + idx % MEM;
}

static uint64_t gpa_of(const struct vhu_fe *fe, uint64_t idx)
{
	return fe->regions[idx / MEM].gpa + idx % MEM;
}

static uint64_t ring_addr(const struct vhu_fe *fe, const void *p)
{
	return iommu ? fe_mem_dev_addr(fe, p) : (uint64_t)(uintptr_t)p;
}

/* Marked pages of the log outside guest memory. */
static long stray_marks(const struct vhu_fe *fe, const uint8_t *log, uint64_t pages)
{
	long n = 0;
	for (uint64_t pg = 0; pg < pages; pg++) {
		uint64_t gpa = pg * PAGE;
		bool inside = false;
		for (uint16_t i = 0; i < fe->nregions && !inside; i++)
			inside = gpa - fe->regions[i].gpa < fe->regions[i].size;
		n += !inside && ((log[pg / 8] >> (pg % 8)) & 1);
	}
	return n;
}

/* What the frontend alone writes: set aside in the comparison. */
static void mark_fe(const struct vhu_fe *fe, uint8_t *fe_only, const void *va, uint64_t len)
{
	long i = idx_of(fe, va);
	if (i >= 0)
		memset(fe_only + i, 1, len);
}

/* Did the page holding va change since the snapshot? */
static bool page_changed(const struct vhu_fe *fe, const uint8_t *before, const void *va)
{
	long i = idx_of(fe, va);
	if (i < 0)
		return false;
	i -= i % PAGE;
	return memcmp(before + i, va_of(fe, (uint64_t)i), PAGE) != 0;
}

static int run(bool packed, bool log_on, const char *path)
{
	struct vhu_fe_opts o = {
		.path = path, .ring_size = RING, .mem_size = 2 * MEM, .mem_regions = 2,
		.buf_size = 2048, .packed = packed, .iommu = (uint64_t)iommu,
		.protocol_features = (1ull << VHU_PROTO_F_MQ) | (1ull << VHU_PROTO_F_REPLY_ACK) |
				     (1ull << VHU_PROTO_F_STATUS) | (1ull << VHU_PROTO_F_LOG_SHMFD) |
				     (iommu ? 1ull << VHU_PROTO_F_BACKEND_REQ : 0),
	};
	const char *name = log_on ? "on" : "off";
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("fe", 4096, 2048);
	struct vhu_fe *fe = NULL;
	for (int i = 0; i < 50 && !(fe = vhu_fe_create(&o)); i++)
		usleep(20000);
	CHECK(fe && pool, "%s: frontend cannot connect", name);
	if (!fe || !pool)
		return -1;
	for (double t0 = now(); !__atomic_load_n(&cur_dev, __ATOMIC_ACQUIRE) && now() - t0 < 5;) {
		if (iommu) /* the rings are IOVAs the backend asks for */
			vhu_fe_iotlb_serve(fe);
		usleep(1000);
	}
	CHECK(fe->nregions == 2 && fe->regions[0].size == MEM && fe->regions[1].size == MEM &&
	      fe->regions[0].gpa == 0 && fe->regions[1].gpa == FE_REGION_STRIDE,
	      "%s: unexpected memory layout", name);
	CHECK(!!(vhu_fe_features(fe) & (1ull << VIRTIO_F_ACCESS_PLATFORM)) == !!iommu,
	      "%s: ACCESS_PLATFORM %s", name, iommu ? "not negotiated" : "negotiated");
	CHECK(!!(vhu_fe_features(fe) & (1ull << VIRTIO_F_RING_PACKED)) == packed,
	      "%s: packed rings %s", name, packed ? "not negotiated" : "negotiated");
	CHECK(vhu_fe_protocol_features(fe) & (1ull << VHU_PROTO_F_LOG_SHMFD),
	      "%s: LOG_SHMFD not negotiated", name);
	CHECK(traffic(fe, pool, WARM) == WARM, "%s: warm-up traffic lost", name);

	/* The log covers guest-physical [0, 1 GiB + MEM). */
	uint64_t pages = (FE_REGION_STRIDE + MEM) / PAGE, log_size = (pages + 7) / 8;
	int lfd = memfd_create("vhu-dirty-log", MFD_CLOEXEC);
	uint8_t *log = NULL;
	if (lfd >= 0 && ftruncate(lfd, (off_t)log_size) == 0)
		log = mmap(NULL, log_size, PROT_READ | PROT_WRITE, MAP_SHARED, lfd, 0);
	CHECK(log && log != MAP_FAILED, "%s: log memfd: %s", name, strerror(errno));
	if (!log || log == MAP_FAILED)
		return -1;
	struct vhu_log_wire lw = { .mmap_size = log_size, .mmap_offset = 0 };
	uint32_t got_req = 0;
	int r = vhu_fe_send_raw(fe, VHU_REQ_SET_LOG_BASE, 0, &lw, sizeof(lw), &lfd, 1);
	if (r == 0)
		r = vhu_fe_recv_raw(fe, &got_req, NULL, 0, 5000);
	CHECK(r == 0 && got_req == VHU_REQ_SET_LOG_BASE, "%s: SET_LOG_BASE: %d", name, r);
	uint64_t f = vhu_fe_features(fe) | (log_on ? 1ull << VHU_F_LOG_ALL : 0);
	CHECK(request(fe, VHU_REQ_SET_FEATURES, &f, sizeof(f), NULL, 0) == 0,
	      "%s: SET_FEATURES with LOG_ALL refused", name);
	for (uint16_t v = 0; !packed && v < 2; v++) {
		struct fe_vq *vq = &fe->vqs[v];
		/* As QEMU: with a vIOMMU every address, the log's too, is
		 * the IOVA (ring_addr: the frontend VA, or the IOVA). */
		struct vhost_vring_addr a = {
			.index = v, .flags = 1u << VHOST_VRING_F_LOG,
			.desc_user_addr = ring_addr(fe, vq->desc),
			.avail_user_addr = ring_addr(fe, vq->avail),
			.used_user_addr = ring_addr(fe, vq->used),
			.log_guest_addr = iommu ? fe_mem_dev_addr(fe, vq->used)
						: gpa_of(fe, (uint64_t)idx_of(fe, vq->used)),
		};
		CHECK(request(fe, VHU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0) == 0,
		      "%s: SET_VRING_ADDR with F_LOG refused", name);
	}

	/* Snapshot, traffic, compare: the data path is held still around it. */
	uint8_t *before = malloc(2 * MEM), *fe_only = calloc(2 * MEM, 1);
	CHECK(before && fe_only, "out of memory");
	if (!before || !fe_only)
		return -1;
	pause_data(1);
	memcpy(before, fe->regions[0].va, MEM);
	memcpy(before + MEM, fe->regions[1].va, MEM);
	pause_data(0);
	CHECK(traffic(fe, pool, COUNT) == COUNT, "%s: traffic lost or corrupted", name);
	pause_data(1);

	for (uint16_t v = 0; v < 2; v++) {
		struct fe_vq *vq = &fe->vqs[v];
		if (!packed) {
			mark_fe(fe, fe_only, vq->desc, 16ull * vq->num);
			mark_fe(fe, fe_only, vq->avail, 6ull + 2ull * vq->num);
		} else {
			mark_fe(fe, fe_only, vq->drv_event, 4);
		}
		if (vq->indir)
			mark_fe(fe, fe_only, vq->indir, 16ull * vq->num * vq->indir_n);
		for (uint32_t b = 0; vq->tx && b < vq->nbufs; b++)
			mark_fe(fe, fe_only, vq->bufs[b].va, vq->buf_size);
	}
	/* Pages that must be marked: with a byte changed that only the backend writes. */
	long need = 0, need_r1 = 0, unmarked = 0, marked_extra = 0;
	for (uint64_t pg = 0; pg < 2 * MEM; pg += PAGE) {
		const uint8_t *cur = va_of(fe, pg);
		uint64_t gpa = gpa_of(fe, pg);
		bool m = (log[gpa / PAGE / 8] >> (gpa / PAGE % 8)) & 1, backend = false;
		for (uint32_t i = 0; i < PAGE && !backend; i++)
			backend = cur[i] != before[pg + i] && !fe_only[pg + i];
		need += backend;
		need_r1 += backend && pg >= MEM;
		if (backend && !m) {
			if (verbose || (log_on && unmarked < 5))
				fprintf(stderr, "%s: gpa 0x%llx changed by the backend, not marked\n",
					name, (unsigned long long)gpa);
			unmarked++;
		}
		marked_extra += m && !backend;
	}
	/* The checked pages include each vring's used area and receive buffers. */
	long used_pages_changed = 0, rx_pages = 0;
	for (uint16_t v = 0; v < 2; v++) {
		struct fe_vq *vq = &fe->vqs[v];
		const uint8_t *u = packed ? (const uint8_t *)vq->pdesc : (const uint8_t *)&vq->used->idx;
		used_pages_changed += page_changed(fe, before, u);
		for (uint32_t b = 0; !vq->tx && b < vq->nbufs; b++)
			rx_pages += page_changed(fe, before, vq->bufs[b].va) &&
				    (b == 0 || (uintptr_t)vq->bufs[b].va / PAGE !=
						(uintptr_t)vq->bufs[b - 1].va / PAGE);
	}
	long stray = stray_marks(fe, log, pages);
	printf("%s%s %s: %ld pages changed by the backend (%ld in region 1; used areas of both "
	       "vrings %ld/2, receive buffer pages %ld), %ld not marked; %ld other pages marked, "
	       "%ld outside guest memory\n", packed ? "packed" : "split", iommu ? " iommu" : "",
	       name, need, need_r1, used_pages_changed, rx_pages, unmarked, marked_extra, stray);
	CHECK(stray == 0, "%s: %ld pages outside guest memory marked", name, stray);
	CHECK(used_pages_changed == 2 && rx_pages >= (long)RING / 4 && need_r1 > 0,
	      "%s: the traffic did not reach the used areas (%ld), receive buffers (%ld) "
	      "or region 1 (%ld)", name, used_pages_changed, rx_pages, need_r1);
	if (log_on)
		CHECK(need > 0 && unmarked == 0, "%s: %ld of %ld pages the backend wrote are "
		      "not marked in the dirty log", name, unmarked, need);
	else
		CHECK(need > 0 && unmarked == need, "%s: with LOG_ALL not acked, %ld of %ld "
		      "changed pages are marked: the check cannot tell", name, need - unmarked, need);
	pause_data(0);
	free(before);
	free(fe_only);
	vhu_fe_destroy(fe);
	munmap(log, log_size);
	close(lfd);
	vhu_pkt_pool_destroy(pool);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "packed", 1, 0, 'p' }, { "mode", 1, 0, 'm' }, { "iommu", 1, 0, 'i' },
		{ 0, 0, 0, 0 } };
	const char *mode = "all";
	bool packed = false;
	char path[64];
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
		switch (c) {
		case 'p': packed = atoi(optarg) != 0; break;
		case 'm': mode = optarg; break;
		case 'i': iommu = atoi(optarg) != 0; break;
		case 'v': verbose = 1; break;
		default: return 2;
		}
	}
	if (strcmp(mode, "on") && strcmp(mode, "off") && strcmp(mode, "all"))
		return 2;
	snprintf(path, sizeof(path), "/tmp/vhu-dirtylog-%d.sock", getpid());
	be_pool = vhu_pkt_pool_create("be", 4096, 2048);
	struct vhu_device_ops ops = { .new_device = new_device, .destroy_device = destroy_device };
	if (!be_pool || vhu_driver_register(path, 0) || vhu_driver_callback_register(path, &ops, NULL) ||
	    vhu_driver_start(path))
		return 1;
	pthread_t dt;
	pthread_create(&dt, NULL, data_thread, NULL);
	if (strcmp(mode, "off"))
		run(packed, true, path);
	if (strcmp(mode, "on"))
		run(packed, false, path);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(dt, NULL);
	vhu_driver_unregister(path);
	vhu_loop_stop_thread();
	vhu_pkt_pool_destroy(be_pool);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
