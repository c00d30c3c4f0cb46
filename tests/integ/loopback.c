/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The in-tree frontend against libvhu in one process. The library's own
 * control thread serves the socket; a data-path thread bounces every
 * packet it dequeues back into the guest; the frontend sends numbered,
 * checksummed payloads and checks each that comes back.
 *
 * Usage: loopback [--mrg 0|1] [--qp N] [--regions N] [--indirect 0|1]
 *                 [--split-hdr 0|1] [--size BYTES] [--count N] [--churn N]
 *                 [--packed 0|1] [--ring N]
 * --packed 1 uses packed rings (and fails unless they are negotiated);
 * --ring sets the ring size (any size with packed rings).
 * --churn N reconnects the frontend N times while traffic runs (for TSan:
 * control and data path racing over the same rings).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <vhu/frontend.h>
#include <vhu/vhu.h>

static struct vhu_pkt_pool *be_pool;
static struct vhu_dev *cur_dev;  /* published to the data thread */
static int data_busy;            /* data thread is inside a burst */
static int stop;

static int new_device(struct vhu_dev *dev)
{
	__atomic_store_n(&cur_dev, dev, __ATOMIC_RELEASE);
	return 0;
}

static void destroy_device(struct vhu_dev *dev)
{
	(void)dev;
	__atomic_store_n(&cur_dev, NULL, __ATOMIC_SEQ_CST);
	/* Wait until the data thread is out of any burst on dev. */
	while (__atomic_load_n(&data_busy, __ATOMIC_SEQ_CST))
		usleep(10);
}

static void *data_thread(void *arg)
{
	struct vhu_pkt *pkts[32];
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		__atomic_store_n(&data_busy, 1, __ATOMIC_SEQ_CST);
		struct vhu_dev *dev = __atomic_load_n(&cur_dev, __ATOMIC_SEQ_CST);
		int idle = 1;
		if (dev) {
			for (uint16_t q = 0; q < VHU_MAX_QUEUE_PAIRS; q++) {
				if (!vhu_vring_is_enabled(dev, VHU_VRING_TX(q)))
					continue;
				uint16_t n = vhu_dequeue_burst(dev, VHU_VRING_TX(q), be_pool, pkts, 32);
				if (!n)
					continue;
				idle = 0;
				/* The frontend refills its receive ring only when it
				 * reads: wait for room (bounded) rather than drop. */
				uint16_t sent = 0;
				for (long tries = 0; sent < n && tries < 200000; tries++) {
					sent += vhu_enqueue_burst(dev, VHU_VRING_RX(q), pkts + sent,
								  (uint16_t)(n - sent));
					if (sent < n)
						usleep(10);
					if (__atomic_load_n(&cur_dev, __ATOMIC_SEQ_CST) != dev)
						break;
				}
				if (sent < n)
					fprintf(stderr, "data thread: dropped %u\n", n - sent);
				vhu_pkt_free_bulk(pkts, n);
			}
		}
		__atomic_store_n(&data_busy, 0, __ATOMIC_SEQ_CST);
		if (idle)
			usleep(20);
	}
	return NULL;
}

/* Payload: seq (4 bytes), length (4), then bytes derived from both. */
static void fill(uint8_t *p, uint32_t len, uint32_t seq)
{
	memset(p, 0, 14);
	memcpy(p, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(p + 6, "\x02\x00\x00\x00\x00\x02", 6);
	p[12] = 0x88; p[13] = 0xb5; /* local experimental ethertype */
	memcpy(p + 14, &seq, 4);
	memcpy(p + 18, &len, 4);
	for (uint32_t i = 22; i < len; i++)
		p[i] = (uint8_t)(seq * 31 + i * 7);
}

static int check(const struct vhu_pkt *pkt, uint32_t *seq_out)
{
	static uint8_t buf[65536], want[65536];
	uint32_t len = pkt->pkt_len, seq, l;
	if (len < 22 || len > sizeof(buf))
		return -1;
	vhu_pkt_read(pkt, 0, buf, len);
	memcpy(&seq, buf + 14, 4);
	memcpy(&l, buf + 18, 4);
	if (l != len)
		return -1;
	fill(want, len, seq);
	*seq_out = seq;
	return memcmp(buf, want, len) ? -1 : 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct vhu_fe *fe_connect(struct vhu_fe_opts *o)
{
	for (int i = 0; i < 50; i++) {
		struct vhu_fe *fe = vhu_fe_create(o);
		if (fe)
			return fe;
		usleep(20000);
	}
	return NULL;
}

/* Sends count packets round-robin over the queue pairs; returns how many
 * came back intact, or -1 on a corrupted one. */
static long run_traffic(struct vhu_fe *fe, struct vhu_pkt_pool *pool, uint16_t qps,
			uint32_t size, long count)
{
	long sent = 0, got = 0;
	uint32_t seq = 0;
	double deadline = now() + 20;

	while ((sent < count || got < sent) && now() < deadline) {
		for (uint16_t q = 0; q < qps; q++) {
			struct vhu_pkt *tx[16], *rx[32];
			unsigned n = (unsigned)(count - sent < 16 ? count - sent : 16);
			if (n && vhu_pkt_alloc_bulk(pool, tx, n) == 0) {
				for (unsigned i = 0; i < n; i++)
					fill(vhu_pkt_append(tx[i], size), size, seq + i);
				uint16_t s = vhu_fe_send_burst(fe, q, tx, (uint16_t)n);
				seq += s;
				sent += s;
				vhu_pkt_free_bulk(tx, n);
			}
			uint16_t r = vhu_fe_recv_burst(fe, q, pool, rx, 32);
			for (uint16_t i = 0; i < r; i++) {
				uint32_t sq;
				if (check(rx[i], &sq) < 0) {
					fprintf(stderr, "corrupted packet (len %u)\n", rx[i]->pkt_len);
					vhu_pkt_free_bulk(rx, r);
					return -1;
				}
			}
			got += r;
			vhu_pkt_free_bulk(rx, r);
		}
	}
	return got;
}

int main(int argc, char **argv)
{
	struct vhu_fe_opts o = { 0 };
	int mrg = 1, indirect = 0, split_hdr = 0, churn = 0, packed = 0;
	uint32_t size = 1000;
	long count = 20000;
	char path[64];
	static const struct option lo[] = {
		{ "mrg", 1, 0, 'm' }, { "qp", 1, 0, 'q' }, { "regions", 1, 0, 'r' },
		{ "indirect", 1, 0, 'i' }, { "split-hdr", 1, 0, 'h' }, { "size", 1, 0, 's' },
		{ "count", 1, 0, 'c' }, { "churn", 1, 0, 'C' }, { "packed", 1, 0, 'p' },
		{ "ring", 1, 0, 'R' }, { 0, 0, 0, 0 } };
	int c;

	o.queue_pairs = 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'm': mrg = atoi(optarg); break;
		case 'q': o.queue_pairs = (uint16_t)atoi(optarg); break;
		case 'r': o.mem_regions = (uint16_t)atoi(optarg); break;
		case 'i': indirect = atoi(optarg); break;
		case 'h': split_hdr = atoi(optarg); break;
		case 's': size = (uint32_t)atoi(optarg); break;
		case 'c': count = atol(optarg); break;
		case 'C': churn = atoi(optarg); break;
		case 'p': packed = atoi(optarg); break;
		case 'R': o.ring_size = (uint16_t)atoi(optarg); break;
		default: return 2;
		}
	}
	snprintf(path, sizeof(path), "/tmp/vhu-loopback-%d.sock", getpid());
	be_pool = vhu_pkt_pool_create("be", 4096, 2048);
	/* The backend's pool keeps 2 KiB segments so big packets arrive as
	 * chains; the frontend's holds whole packets. */
	struct vhu_pkt_pool *fe_pool = vhu_pkt_pool_create("fe", 4096, size > 2048 ? size : 2048);
	struct vhu_device_ops ops = { .new_device = new_device, .destroy_device = destroy_device };
	if (!be_pool || !fe_pool || vhu_driver_register(path, 0) ||
	    vhu_driver_callback_register(path, &ops, NULL))
		return 1;
	if (!mrg)
		vhu_driver_disable_features(path, 1ULL << VIRTIO_NET_F_MRG_RXBUF);
	if (vhu_driver_start(path))
		return 1;
	pthread_t dt;
	pthread_create(&dt, NULL, data_thread, NULL);

	o.path = path;
	o.buf_size = 2048;
	o.tx_indirect = indirect;
	o.tx_split_hdr = split_hdr;
	o.packed = packed;
	int fails = 0;
	for (int round = 0; round <= churn; round++) {
		struct vhu_fe *fe = fe_connect(&o);
		if (!fe) {
			fprintf(stderr, "frontend cannot connect\n");
			fails++;
			break;
		}
		/* Wait for the backend to see the device running. */
		double t0 = now();
		while (!__atomic_load_n(&cur_dev, __ATOMIC_ACQUIRE) && now() - t0 < 5)
			usleep(1000);
		bool got_packed = vhu_fe_features(fe) & (1ULL << VIRTIO_F_RING_PACKED);
		if (got_packed != (packed != 0)) {
			fprintf(stderr, "packed rings %s but %s\n", packed ? "wanted" : "not wanted",
				got_packed ? "negotiated" : "not negotiated");
			fails++;
			vhu_fe_destroy(fe);
			break;
		}
		long want = churn ? count / (churn + 1) : count;
		long got = run_traffic(fe, fe_pool, vhu_fe_queue_pairs(fe), size, want);
		printf("round %d: %s mrg=%d qp=%u regions=%u indirect=%d split_hdr=%d size=%u: "
		       "%ld of %ld back intact\n", round, packed ? "packed" : "split", mrg,
		       vhu_fe_queue_pairs(fe),
		       o.mem_regions ? o.mem_regions : 1, indirect, split_hdr, size, got, want);
		if (got != want)
			fails++;
		vhu_fe_destroy(fe);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(dt, NULL);
	vhu_driver_unregister(path);
	vhu_loop_stop_thread();
	vhu_pkt_pool_destroy(fe_pool);
	vhu_pkt_pool_destroy(be_pool);
	printf("%d passed, %d failed\n", fails ? 0 : 1, fails ? 1 : 0);
	return fails ? 1 : 0;
}
