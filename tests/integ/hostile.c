/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A hostile frontend over the real socket. libvhu serves two devices in
 * this process: on "good" an in-tree frontend keeps sending numbered
 * frames that a data-path thread bounces back; on "bad" a fresh frontend
 * per case is driven to misbehave, either by writing its transmit ring by
 * hand (descriptors, avail ring, buffers) or by sending raw messages.
 *
 * Every case asserts: the log line that names the problem, the outcome
 * (an error ack, a broken vring, a closed connection, or, for legal input,
 * the packet delivered intact), no hang (every wait is bounded), the good
 * device still forwarding afterwards, and no leaked fd or mapping
 * (/proc/self/fd and shared mappings counted around the case; heap by
 * mallinfo2 in plain builds, by LeakSanitizer at exit under ASan).
 *
 * Usage: hostile [--group desc|ring|chain|align|hdr|race|msg|mem|flood|iotlb|all] [--zc] [-v]
 * --zc: both devices with VHU_DEQUEUE_ZERO_COPY.
 * An unknown group or argument is an error, and so is a run in which no
 * case started, so a typo cannot pass as an empty run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <vhu/frontend.h>
#include <vhu/vhu.h>
#include "mem/iotlb.h"
#include "proto/wire.h"
#include "log_capture.h"
#include "proc_self.h"

#define HDR 12u /* virtio-net header with VERSION_1 */
#define BAD_MEM (16ull << 20)
#define SCRATCH (8ull << 20) /* offset in bad guest memory nobody else uses */

static int passed, failed, verbose, cases;
#define CHECK(c) do { if (c) passed++; else { failed++; \
	fprintf(stderr, "%s:%d: [%s] CHECK(%s) failed\n", __FILE__, __LINE__, cur_case, #c); } } while (0)
static const char *cur_case = "";

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- log capture --------------------------------------------------------- */
static void log_fn(enum vhu_log_level lvl, const char *msg, void *arg)
{
	(void)arg;
	log_keep(msg);
	if (verbose || (lvl <= VHU_LOG_WARN && getenv("HOSTILE_SHOW_ERRORS")))
		fprintf(stderr, "  [vhu %d] %s\n", (int)lvl, msg);
}

static bool wait_log(unsigned mark, const char *sub, int ms)
{
	for (double end = now() + ms / 1e3; now() < end; usleep(1000))
		if (log_has(mark, sub))
			return true;
	if (log_has(mark, sub))
		return true;
	fprintf(stderr, "  [%s] no log line containing \"%s\"\n", cur_case, sub);
	return false;
}

/* ---- the two devices ------------------------------------------------------ */
struct slot {
	char path[64];
	struct vhu_dev *dev;   /* running: the data thread bursts on it */
	struct vhu_dev *conn;  /* connected */
	int conns;
	int busy;
};
static struct slot good, bad;
static struct vhu_pkt_pool *be_pool;
static int stop;

static int new_device(struct vhu_dev *d)
{
	struct slot *s = vhu_dev_get_ctx(d);
	__atomic_store_n(&s->dev, d, __ATOMIC_SEQ_CST);
	return 0;
}

static void destroy_device(struct vhu_dev *d)
{
	struct slot *s = vhu_dev_get_ctx(d);
	__atomic_store_n(&s->dev, NULL, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&s->busy, __ATOMIC_SEQ_CST))
		usleep(10);
}

static int new_conn(struct vhu_dev *d)
{
	struct slot *s = vhu_dev_get_ctx(d);
	__atomic_store_n(&s->conn, d, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&s->conns, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static void destroy_conn(struct vhu_dev *d)
{
	struct slot *s = vhu_dev_get_ctx(d);
	__atomic_store_n(&s->conn, NULL, __ATOMIC_SEQ_CST);
	__atomic_sub_fetch(&s->conns, 1, __ATOMIC_SEQ_CST);
}

static const struct vhu_device_ops ops = {
	.new_device = new_device, .destroy_device = destroy_device,
	.new_connection = new_conn, .destroy_connection = destroy_conn,
};

/* What the bad device delivered: length and the payload's shape. */
struct cap {
	uint32_t len;
	bool uniform;       /* every byte equals first[0] */
	uint8_t first[64];
};
#define CAPN 4096
static pthread_mutex_t cap_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cap caps[CAPN];
static unsigned cap_n;

static void capture(const struct vhu_pkt *p)
{
	static uint8_t buf[1 << 17];
	uint32_t len = p->pkt_len < sizeof(buf) ? p->pkt_len : sizeof(buf);
	vhu_pkt_read(p, 0, buf, len);
	pthread_mutex_lock(&cap_mu);
	struct cap *c = &caps[cap_n % CAPN];
	c->len = p->pkt_len;
	c->uniform = true;
	for (uint32_t i = 1; i < len && c->uniform; i++)
		c->uniform = buf[i] == buf[0];
	memset(c->first, 0, sizeof(c->first));
	memcpy(c->first, buf, len < 64 ? len : 64);
	cap_n++;
	pthread_mutex_unlock(&cap_mu);
}

static unsigned cap_count(void)
{
	pthread_mutex_lock(&cap_mu);
	unsigned n = cap_n;
	pthread_mutex_unlock(&cap_mu);
	return n;
}

static struct cap cap_get(unsigned i)
{
	pthread_mutex_lock(&cap_mu);
	struct cap c = caps[i % CAPN];
	pthread_mutex_unlock(&cap_mu);
	return c;
}

static void *data_thread(void *arg)
{
	struct vhu_pkt *pkts[32];
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		int idle = 1;
		/* The good device: bounce every packet back. */
		__atomic_store_n(&good.busy, 1, __ATOMIC_SEQ_CST);
		struct vhu_dev *dev = __atomic_load_n(&good.dev, __ATOMIC_SEQ_CST);
		if (dev) {
			uint16_t n = vhu_dequeue_burst(dev, VHU_VRING_TX(0), be_pool, pkts, 32);
			uint16_t sent = 0;
			for (int tries = 0; sent < n && tries < 1000; tries++) {
				sent += vhu_enqueue_burst(dev, VHU_VRING_RX(0), pkts + sent,
							  (uint16_t)(n - sent));
				if (sent < n)
					usleep(20);
			}
			vhu_pkt_free_bulk(pkts, n);
			idle = n == 0;
		}
		__atomic_store_n(&good.busy, 0, __ATOMIC_SEQ_CST);
		/* The bad device: take what it sends, remember its shape. */
		__atomic_store_n(&bad.busy, 1, __ATOMIC_SEQ_CST);
		dev = __atomic_load_n(&bad.dev, __ATOMIC_SEQ_CST);
		if (dev) {
			uint16_t n = vhu_dequeue_burst(dev, VHU_VRING_TX(0), be_pool, pkts, 32);
			for (uint16_t i = 0; i < n; i++)
				capture(pkts[i]);
			vhu_pkt_free_bulk(pkts, n);
			if (n)
				idle = 0;
		}
		__atomic_store_n(&bad.busy, 0, __ATOMIC_SEQ_CST);
		if (idle)
			usleep(50);
	}
	return NULL;
}

/* ---- the good frontend: numbered frames out and back ----------------------- */
static long good_rx, good_bad;
/* Frame bytes: with --zc big enough to be held rather than copied. */
static uint32_t good_len = 200;

static void fill(uint8_t *p, uint32_t len, uint32_t seq)
{
	memset(p, 0, 14);
	memcpy(p, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x88\xb5", 14);
	memcpy(p + 14, &seq, 4);
	for (uint32_t i = 18; i < len; i++)
		p[i] = (uint8_t)(seq * 31 + i * 7);
}

static void *good_thread(void *arg)
{
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("good-fe", 512, 2048);
	struct vhu_fe_opts o = { .path = good.path };
	struct vhu_fe *fe = NULL;
	uint32_t seq = 0;
	static uint8_t want[2048], got[2048];

	(void)arg;
	for (int i = 0; i < 100 && !fe; i++) {
		fe = vhu_fe_create(&o);
		if (!fe)
			usleep(20000);
	}
	if (!fe || !pool) {
		fprintf(stderr, "good frontend cannot start\n");
		__atomic_store_n(&good_bad, 1000000, __ATOMIC_SEQ_CST);
		return NULL;
	}
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		struct vhu_pkt *tx[8], *rx[32];
		if (vhu_pkt_alloc_bulk(pool, tx, 8) == 0) {
			for (int i = 0; i < 8; i++)
				fill(vhu_pkt_append(tx[i], good_len), good_len, seq + (uint32_t)i);
			seq += vhu_fe_send_burst(fe, 0, tx, 8);
			vhu_pkt_free_bulk(tx, 8);
		}
		uint16_t r = vhu_fe_recv_burst(fe, 0, pool, rx, 32);
		for (uint16_t i = 0; i < r; i++) {
			uint32_t s;
			vhu_pkt_read(rx[i], 0, got, good_len);
			memcpy(&s, got + 14, 4);
			fill(want, good_len, s);
			if (rx[i]->pkt_len != good_len || memcmp(got, want, good_len))
				__atomic_add_fetch(&good_bad, 1, __ATOMIC_SEQ_CST);
		}
		vhu_pkt_free_bulk(rx, r);
		__atomic_add_fetch(&good_rx, r, __ATOMIC_SEQ_CST);
		usleep(500);
	}
	vhu_fe_destroy(fe);
	vhu_pkt_pool_destroy(pool);
	return NULL;
}

/* The good device forwards: at least 50 more frames back within 5 s. */
static bool good_progress(void)
{
	long m = __atomic_load_n(&good_rx, __ATOMIC_SEQ_CST);
	for (double end = now() + 5; now() < end; usleep(2000))
		if (__atomic_load_n(&good_rx, __ATOMIC_SEQ_CST) >= m + 50)
			return __atomic_load_n(&good_bad, __ATOMIC_SEQ_CST) == 0;
	fprintf(stderr, "  [%s] the good device stopped forwarding (%ld)\n", cur_case, m);
	return false;
}

/* ---- resources ------------------------------------------------------------ */
struct res {
	int fds, maps;
	size_t heap;
};

static struct res res_now(void)
{
	struct mallinfo2 mi = mallinfo2();
	return (struct res){ count_dir("/proc/self/fd"), count_maps_of(NULL),
			     mi.uordblks };
}

/* fds exactly back, no more shared mappings than before (fewer when an
 * earlier case's device finished going meanwhile); heap within
 * 256 KiB where mallinfo2 means something (not under ASan). */
static void res_check(const struct res *a)
{
	struct res b;
	for (int i = 0; i < 100; i++) {
		b = res_now();
		if (b.fds == a->fds && b.maps <= a->maps)
			break;
		usleep(10000);
	}
	if (b.fds != a->fds || b.maps > a->maps)
		fprintf(stderr, "  [%s] fds %d -> %d, maps %d -> %d\n", cur_case, a->fds,
			b.fds, a->maps, b.maps);
	CHECK(b.fds == a->fds);
	CHECK(b.maps <= a->maps);
	if (a->heap && b.heap > a->heap + (256u << 10))
		fprintf(stderr, "  [%s] heap %zu -> %zu\n", cur_case, a->heap, b.heap);
	CHECK(!a->heap || b.heap <= a->heap + (256u << 10));
}

static bool wait_int(int *v, int want, int ms)
{
	for (double end = now() + ms / 1e3; now() < end; usleep(1000))
		if (__atomic_load_n(v, __ATOMIC_SEQ_CST) == want)
			return true;
	return __atomic_load_n(v, __ATOMIC_SEQ_CST) == want;
}

/* ---- the hostile frontend ------------------------------------------------- */
struct hfe {
	struct vhu_fe *fe;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint8_t *mem;
	uint64_t gpa0, size;
	uint16_t num, aidx;
	struct res res;
	unsigned mark;
};

static void *G(struct hfe *h, uint64_t gpa)
{
	return h->mem + (gpa - h->gpa0);
}

/* Virtio features the next hfe_start asks for; 0: the frontend's default
 * (no offloads). */
static uint64_t hfe_features;
/* Protocol features the next hfe_start asks for besides its own. */
static uint64_t hfe_protocol_extra;

static bool hfe_start(struct hfe *h, const char *name)
{
	/* The frontend's own protocol features and LOG_SHMFD, without which
	 * the backend refuses SET_LOG_BASE before its checks are reached. */
	struct vhu_fe_opts o = { .path = bad.path, .mem_size = BAD_MEM, .ring_size = 256,
		.features = hfe_features,
		.protocol_features = (1ull << VHU_PROTO_F_MQ) | (1ull << VHU_PROTO_F_REPLY_ACK) |
				     (1ull << VHU_PROTO_F_STATUS) | (1ull << VHU_PROTO_F_LOG_SHMFD) |
				     hfe_protocol_extra };

	cur_case = name;
	cases++;
	printf("case %s\n", name);
	memset(h, 0, sizeof(*h));
	h->res = res_now();
	h->mark = log_mark();
	h->fe = vhu_fe_create(&o);
	CHECK(h->fe != NULL);
	if (!h->fe)
		return false;
	if (!wait_int(&bad.conns, 1, 3000) ||
	    !__atomic_load_n(&bad.dev, __ATOMIC_SEQ_CST)) {
		for (double end = now() + 3; now() < end && !__atomic_load_n(&bad.dev, __ATOMIC_SEQ_CST);)
			usleep(1000);
	}
	CHECK(__atomic_load_n(&bad.dev, __ATOMIC_SEQ_CST) != NULL);
	h->desc = vhu_fe_vring_desc(h->fe, 1);
	h->avail = vhu_fe_vring_avail(h->fe, 1);
	h->used = vhu_fe_vring_used(h->fe, 1);
	h->mem = vhu_fe_mem(h->fe, 0, &h->gpa0, &h->size);
	h->num = 256;
	h->aidx = h->avail ? __atomic_load_n(&h->avail->idx, __ATOMIC_ACQUIRE) : 0;
	/* A case that cannot set up fails rather than skipping its checks. */
	CHECK(h->desc && h->avail && h->used && h->mem);
	return h->desc && h->avail && h->used && h->mem;
}

/* Tears the bad frontend down and checks nothing leaked and the good
 * device kept forwarding. */
static void hfe_end(struct hfe *h)
{
	vhu_fe_destroy(h->fe);
	CHECK(wait_int(&bad.conns, 0, 5000));
	CHECK(good_progress());
	res_check(&h->res);
}

static void desc_set(struct hfe *h, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	h->desc[i] = (struct vring_desc){ .addr = addr, .len = len, .flags = flags,
					  .next = next };
}

static void post(struct hfe *h, uint16_t head)
{
	h->avail->ring[h->aidx % h->num] = head;
	h->aidx++;
	__atomic_store_n(&h->avail->idx, h->aidx, __ATOMIC_RELEASE);
}

static struct vhu_dev *bdev(void)
{
	return __atomic_load_n(&bad.conn, __ATOMIC_SEQ_CST);
}

static bool wait_broken(int ms)
{
	for (double end = now() + ms / 1e3; now() < end; usleep(1000))
		if (bdev() && vhu_vring_is_broken(bdev(), VHU_VRING_TX(0)))
			return true;
	return false;
}

/* A malformed chain: named in the log, the vring broken, nothing
 * delivered. */
static void expect_broken(struct hfe *h, const char *sub, unsigned cap0)
{
	CHECK(wait_log(h->mark, sub, 3000));
	CHECK(wait_log(h->mark, "vring 1 broken", 100));
	CHECK(wait_broken(3000));
	usleep(20000);
	CHECK(cap_count() == cap0);
	/* The receive vring of the same device is untouched. */
	CHECK(bdev() && !vhu_vring_is_broken(bdev(), VHU_VRING_RX(0)));
}

static bool wait_used(struct hfe *h, uint16_t idx, int ms)
{
	for (double end = now() + ms / 1e3; now() < end; usleep(200))
		if (__atomic_load_n(&h->used->idx, __ATOMIC_ACQUIRE) == idx)
			return true;
	return false;
}

/* Writes a virtio-net header (zeroed unless h given) and a payload of
 * len bytes of value v at gpa. */
static void put_frame(struct hfe *h, uint64_t gpa, const struct virtio_net_hdr_mrg_rxbuf *nh,
		      uint32_t len, uint8_t v)
{
	struct virtio_net_hdr_mrg_rxbuf z = { 0 };
	memcpy(G(h, gpa), nh ? nh : &z, HDR);
	memset(G(h, gpa + HDR), v, len);
}

/* A legal chain: delivered once, with len bytes of value v. */
static void expect_delivered(struct hfe *h, unsigned cap0, uint32_t len, uint8_t v)
{
	CHECK(wait_used(h, h->aidx, 3000));
	for (double end = now() + 3; now() < end && cap_count() == cap0;)
		usleep(500);
	CHECK(cap_count() == cap0 + 1);
	struct cap c = cap_get(cap0);
	if (c.len != len || !c.uniform || c.first[0] != v)
		fprintf(stderr, "  [%s] delivered len %u uniform %d first %#x\n", cur_case,
			c.len, c.uniform, c.first[0]);
	CHECK(c.len == len && c.uniform && c.first[0] == v);
	CHECK(bdev() && !vhu_vring_is_broken(bdev(), VHU_VRING_TX(0)));
}

/* ---- descriptor buffers --------------------------------------------------- */
static void case_buf_outside(void)
{
	struct hfe h;
	if (!hfe_start(&h, "buffer outside guest memory"))
		goto out;
	unsigned c0 = cap_count();
	desc_set(&h, 0, h.gpa0 + h.size - 64, 200, 0, 0); /* runs off the end */
	post(&h, 0);
	expect_broken(&h, "is outside guest memory", c0);
out:
	hfe_end(&h);
}

static void case_buf_overflow(void)
{
	struct hfe h;
	if (!hfe_start(&h, "buffer address + length overflows"))
		goto out;
	unsigned c0 = cap_count();
	desc_set(&h, 0, 0xffffffffffffff00ull, 0x200, 0, 0);
	post(&h, 0);
	expect_broken(&h, "overflows", c0);
out:
	hfe_end(&h);
}

/* Length 0 at an unmapped address inside a chain: legal, ignored. */
static void case_len0_unmapped(void)
{
	struct hfe h;
	if (!hfe_start(&h, "length 0 at an unmapped address"))
		goto out;
	unsigned c0 = cap_count();
	uint64_t b = h.gpa0 + SCRATCH;
	put_frame(&h, b, NULL, 100, 0x5a);
	desc_set(&h, 0, 0x7ff000000000ull, 0, VRING_DESC_F_NEXT, 1);
	desc_set(&h, 1, b, HDR + 100, VRING_DESC_F_NEXT, 2);
	desc_set(&h, 2, 0xfffffffffffffff0ull, 0, 0, 0);
	post(&h, 0);
	expect_delivered(&h, c0, 100, 0x5a);
out:
	hfe_end(&h);
}

/* Finds our own fd of the bad frontend's guest memory (its memfd). */
static int bad_mem_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int found = -1;
	while (d && (e = readdir(d))) {
		char l[256], p[300];
		snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(p, l, sizeof(l) - 1);
		if (n <= 0)
			continue;
		l[n] = 0;
		struct stat st;
		int fd = atoi(e->d_name);
		if (strstr(l, "vhu-fe-mem") && fstat(fd, &st) == 0 &&
		    (uint64_t)st.st_size == BAD_MEM)
			found = fd;
	}
	if (d)
		closedir(d);
	return found;
}

static int send_mem_table(struct hfe *h, const struct vhu_mem_region_wire *r, uint32_t n,
			  const int *fds, int nfds, uint32_t size_override)
{
	struct vhu_mem_table_wire t = { .nregions = n };
	for (uint32_t i = 0; i < n && i < VHU_MAX_MEM_REGIONS; i++)
		t.regions[i] = r[i];
	uint32_t size = size_override ? size_override
		: (uint32_t)(offsetof(struct vhu_mem_table_wire, regions) + n * sizeof(*r));
	uint8_t buf[sizeof(t) + 64] = { 0 };
	memcpy(buf, &t, sizeof(t));
	return vhu_fe_send_raw(h->fe, VHU_REQ_SET_MEM_TABLE, VHU_MSG_NEED_REPLY, buf, size,
			       fds, nfds);
}

/* ack: 0 for success, 1 for failure, -1 when no ack came. */
static int get_ack(struct hfe *h, uint32_t req)
{
	uint32_t got = 0;
	uint64_t v = 99;
	int r = vhu_fe_recv_raw(h->fe, &got, &v, sizeof(v), 3000);
	if (r != 8 || got != req) {
		fprintf(stderr, "  [%s] no ack for request %u (r=%d got %u)\n", cur_case, req,
			r, got);
		return -1;
	}
	return (int)v;
}

/* A buffer that straddles two GPA-adjacent regions (mapped apart in the
 * backend): legal, must arrive whole. The memory table is re-sent cut in
 * two at 12 MiB; the rings stay in the first half. */
static void case_buf_straddle(void)
{
	struct hfe h;
	if (!hfe_start(&h, "buffer straddling two regions"))
		goto out;
	int fd = bad_mem_fd();
	CHECK(fd >= 0);
	uint64_t cut = 12ull << 20;
	struct vhu_mem_region_wire r[2] = {
		{ h.gpa0, cut, (uint64_t)(uintptr_t)h.mem, 0 },
		{ h.gpa0 + cut, h.size - cut, (uint64_t)(uintptr_t)h.mem + cut, cut },
	};
	int fds[2] = { fd, fd };
	CHECK(send_mem_table(&h, r, 2, fds, 2, 0) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_MEM_TABLE) == 0);
	CHECK(wait_log(h.mark, "region 1 gpa 0xc00000", 2000));
	unsigned c0 = cap_count();
	uint64_t b = h.gpa0 + cut - 700;
	put_frame(&h, b, NULL, 1400, 0x77);
	desc_set(&h, 0, b, HDR + 1400, 0, 0);
	post(&h, 0);
	expect_delivered(&h, c0, 1400, 0x77);
	/* And a header that straddles. */
	b = h.gpa0 + cut - 5;
	put_frame(&h, b, NULL, 300, 0x78);
	desc_set(&h, 1, b, HDR + 300, 0, 0);
	post(&h, 1);
	expect_delivered(&h, c0 + 1, 300, 0x78);
out:
	hfe_end(&h);
}

/* ---- ring addresses -------------------------------------------------------- */
static void send_addr(struct hfe *h, uint64_t d, uint64_t a, uint64_t u)
{
	struct vhost_vring_addr addr = { .index = 1, .desc_user_addr = d,
					 .avail_user_addr = a, .used_user_addr = u };
	CHECK(vhu_fe_send_raw(h->fe, VHU_REQ_SET_VRING_ADDR, VHU_MSG_NEED_REPLY, &addr,
			      sizeof(addr), NULL, 0) == 0);
}

static void case_ring_addr(void)
{
	struct hfe h;
	if (!hfe_start(&h, "ring addresses outside guest memory"))
		goto out;
	uint64_t base = (uint64_t)(uintptr_t)h.mem;
	send_addr(&h, 0x1000, base + 0x100000, base + 0x200000);
	CHECK(get_ack(&h, VHU_REQ_SET_VRING_ADDR) == 1);
	CHECK(wait_log(h.mark, "are not inside guest memory", 1000));
	/* A ring that starts inside and runs off the end. */
	send_addr(&h, base + h.size - 16 * 100, base + 0x100000, base + 0x200000);
	CHECK(get_ack(&h, VHU_REQ_SET_VRING_ADDR) == 1);
	/* The vring is unusable, not the connection: the device answers. */
	uint64_t f = 0;
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_GET_FEATURES, 0, NULL, 0, NULL, 0) == 0);
	CHECK(vhu_fe_recv_raw(h.fe, NULL, &f, 8, 3000) == 8 && f != 0);
out:
	hfe_end(&h);
	if (!hfe_start(&h, "ring addresses misaligned"))
		goto out2;
	base = (uint64_t)(uintptr_t)h.mem;
	send_addr(&h, base + 0x100008, base + 0x101000, base + 0x102000);
	CHECK(get_ack(&h, VHU_REQ_SET_VRING_ADDR) == 1);
	send_addr(&h, base + 0x100000, base + 0x101001, base + 0x102000);
	CHECK(get_ack(&h, VHU_REQ_SET_VRING_ADDR) == 1);
	send_addr(&h, base + 0x100000, base + 0x101000, base + 0x102002);
	CHECK(get_ack(&h, VHU_REQ_SET_VRING_ADDR) == 1);
	CHECK(wait_log(h.mark, "ring addresses misaligned", 1000));
out2:
	hfe_end(&h);
}

static void case_avail_jump(void)
{
	struct hfe h;
	if (!hfe_start(&h, "avail index jumps past the ring size"))
		goto out;
	unsigned c0 = cap_count();
	put_frame(&h, h.gpa0 + SCRATCH, NULL, 60, 1);
	for (uint16_t i = 0; i < 256; i++) {
		desc_set(&h, i, h.gpa0 + SCRATCH, HDR + 60, 0, 0);
		h.avail->ring[i] = i;
	}
	h.aidx = (uint16_t)(h.aidx + 257);
	__atomic_store_n(&h.avail->idx, h.aidx, __ATOMIC_RELEASE);
	expect_broken(&h, "entries ahead of", c0);
out:
	hfe_end(&h);
}

static void case_desc_id(void)
{
	struct hfe h;
	if (!hfe_start(&h, "avail entry names a descriptor out of range"))
		goto out;
	unsigned c0 = cap_count();
	post(&h, 300);
	expect_broken(&h, "names descriptor 300", c0);
out:
	hfe_end(&h);
	if (!hfe_start(&h, "next names a descriptor out of range"))
		goto out2;
	c0 = cap_count();
	put_frame(&h, h.gpa0 + SCRATCH, NULL, 60, 1);
	desc_set(&h, 0, h.gpa0 + SCRATCH, HDR, VRING_DESC_F_NEXT, 0xffff);
	post(&h, 0);
	expect_broken(&h, "descriptor index 65535 out of range", c0);
out2:
	hfe_end(&h);
}

/* ---- chains ------------------------------------------------------------------ */
static void case_chain_loop(void)
{
	struct hfe h;
	if (!hfe_start(&h, "chain that loops"))
		goto out;
	unsigned c0 = cap_count();
	put_frame(&h, h.gpa0 + SCRATCH, NULL, 60, 1);
	desc_set(&h, 0, h.gpa0 + SCRATCH, HDR, VRING_DESC_F_NEXT, 1);
	desc_set(&h, 1, h.gpa0 + SCRATCH + HDR, 10, VRING_DESC_F_NEXT, 2);
	desc_set(&h, 2, h.gpa0 + SCRATCH + HDR, 10, VRING_DESC_F_NEXT, 1);
	post(&h, 0);
	expect_broken(&h, "loops or is longer", c0);
out:
	hfe_end(&h);
	/* The same inside an indirect table. */
	if (!hfe_start(&h, "indirect chain that loops"))
		goto out2;
	c0 = cap_count();
	struct vring_desc *t = G(&h, h.gpa0 + SCRATCH + 0x10000);
	t[0] = (struct vring_desc){ h.gpa0 + SCRATCH, HDR + 60, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ h.gpa0 + SCRATCH, 4, VRING_DESC_F_NEXT, 0 };
	desc_set(&h, 0, h.gpa0 + SCRATCH + 0x10000, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	post(&h, 0);
	expect_broken(&h, "loops or is longer", c0);
out2:
	hfe_end(&h);
}

/* A chain of more descriptors than the ring has (in an indirect table of
 * 1024 entries, ring 256), each one in guest memory: more pieces than a
 * packet may have, so src/vq/split.c drops it (VHU_CHAIN_DROP: completed,
 * counted, never delivered) and the ring keeps working. */
static void case_chain_long(void)
{
	struct hfe h;
	if (!hfe_start(&h, "chain longer than the ring"))
		goto out;
	unsigned c0 = cap_count();
	struct vhu_vring_stats st0 = { 0 }, st1 = { 0 };
	vhu_vring_get_stats(bdev(), 1, &st0);
	uint64_t tg = h.gpa0 + SCRATCH + 0x10000;
	struct vring_desc *t = G(&h, tg);
	put_frame(&h, h.gpa0 + SCRATCH, NULL, 2000, 3);
	for (int i = 0; i < 1024; i++)
		t[i] = (struct vring_desc){ h.gpa0 + SCRATCH + (i ? HDR + (uint64_t)i : 0),
					    i ? 1 : HDR, (uint16_t)(i < 1023 ? VRING_DESC_F_NEXT : 0),
					    (uint16_t)(i + 1) };
	desc_set(&h, 0, tg, 1024 * 16, VRING_DESC_F_INDIRECT, 0);
	post(&h, 0);
	CHECK(wait_used(&h, h.aidx, 3000));
	vhu_vring_get_stats(bdev(), 1, &st1);
	CHECK(st1.drops == st0.drops + 1);
	CHECK(!vhu_vring_is_broken(bdev(), 1));
	usleep(20000);
	CHECK(cap_count() == c0);
	/* The ring still works: a normal frame next. */
	put_frame(&h, h.gpa0 + SCRATCH + 0x20000, NULL, 80, 9);
	desc_set(&h, 1, h.gpa0 + SCRATCH + 0x20000, HDR + 80, 0, 0);
	post(&h, 1);
	expect_delivered(&h, c0, 80, 9);
out:
	hfe_end(&h);
}

static void case_indirect(void)
{
	struct hfe h;
	uint64_t tg;
	struct vring_desc *t;
	unsigned c0;

	if (!hfe_start(&h, "indirect inside indirect"))
		goto out;
	c0 = cap_count();
	tg = h.gpa0 + SCRATCH + 0x10000;
	t = G(&h, tg);
	t[0] = (struct vring_desc){ tg + 0x100, 32, VRING_DESC_F_INDIRECT, 0 };
	desc_set(&h, 0, tg, 16, VRING_DESC_F_INDIRECT, 0);
	post(&h, 0);
	expect_broken(&h, "indirect descriptor inside an indirect table", c0);
out:
	hfe_end(&h);

	if (!hfe_start(&h, "indirect length not a multiple of 16"))
		goto out2;
	c0 = cap_count();
	desc_set(&h, 0, h.gpa0 + SCRATCH, 20, VRING_DESC_F_INDIRECT, 0);
	post(&h, 0);
	expect_broken(&h, "indirect table length 20 invalid", c0);
out2:
	hfe_end(&h);

	if (!hfe_start(&h, "indirect table too large"))
		goto out3;
	c0 = cap_count();
	desc_set(&h, 0, h.gpa0, 16u * 40000, VRING_DESC_F_INDIRECT, 0);
	post(&h, 0);
	expect_broken(&h, "indirect table length 640000 invalid", c0);
out3:
	hfe_end(&h);

	if (!hfe_start(&h, "indirect table outside guest memory"))
		goto out4;
	c0 = cap_count();
	desc_set(&h, 0, h.gpa0 + h.size - 32, 64, VRING_DESC_F_INDIRECT, 0);
	post(&h, 0);
	expect_broken(&h, "not inside one guest memory region", c0);
out4:
	hfe_end(&h);
}

/* An indirect table at an address that is not a multiple of 16 (found by
 * fuzz_split/fuzz_packed: the walker read struct vring_desc through a
 * misaligned pointer, undefined behaviour that UBSan reports). The spec
 * sets no alignment for indirect tables, so src/vq reads such a table byte
 * by byte: the frame is delivered intact, the vring stays up, and under
 * UBSan (halt_on_error) a misaligned load would abort the test. */
static void case_indirect_misaligned(void)
{
	struct hfe h;
	if (!hfe_start(&h, "indirect table misaligned"))
		goto out;
	unsigned c0 = cap_count();
	uint64_t b = h.gpa0 + SCRATCH, tg = h.gpa0 + SCRATCH + 0x10003;
	put_frame(&h, b, NULL, 70, 0x42);
	struct vring_desc t[2] = { { b, HDR, VRING_DESC_F_NEXT, 1 }, { b + HDR, 70, 0, 0 } };
	memcpy(G(&h, tg), t, sizeof(t));
	desc_set(&h, 0, tg, 32, VRING_DESC_F_INDIRECT, 0);
	post(&h, 0);
	expect_delivered(&h, c0, 70, 0x42);
	CHECK(!log_has(h.mark, "broken"));
out:
	hfe_end(&h);
}

/* ---- headers ------------------------------------------------------------------ */
static void case_short_chain(void)
{
	struct hfe h;
	if (!hfe_start(&h, "transmit chain shorter than the header"))
		goto out;
	unsigned c0 = cap_count();
	put_frame(&h, h.gpa0 + SCRATCH, NULL, 0, 0);
	desc_set(&h, 0, h.gpa0 + SCRATCH, HDR - 4, 0, 0);
	post(&h, 0);
	expect_broken(&h, "shorter than the", c0);
out:
	hfe_end(&h);

	/* Exactly the header, no frame: no crash, no break; delivered as an
	 * empty packet or dropped. */
	if (!hfe_start(&h, "transmit chain of just the header"))
		goto out2;
	c0 = cap_count();
	put_frame(&h, h.gpa0 + SCRATCH, NULL, 0, 0);
	desc_set(&h, 0, h.gpa0 + SCRATCH, HDR, 0, 0);
	post(&h, 0);
	CHECK(wait_used(&h, h.aidx, 3000));
	usleep(20000);
	CHECK(cap_count() <= c0 + 1);
	if (cap_count() == c0 + 1)
		CHECK(cap_get(c0).len == 0);
	CHECK(!vhu_vring_is_broken(bdev(), 1));
out2:
	hfe_end(&h);

	/* The header spread one byte per descriptor, then the frame in
	 * several pieces: legal. */
	if (!hfe_start(&h, "header split over many descriptors"))
		goto out3;
	c0 = cap_count();
	uint64_t b = h.gpa0 + SCRATCH;
	put_frame(&h, b, NULL, 500, 0x31);
	for (uint16_t i = 0; i < HDR; i++)
		desc_set(&h, i, b + i, 1, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
	desc_set(&h, HDR, b + HDR, 7, VRING_DESC_F_NEXT, HDR + 1);
	desc_set(&h, HDR + 1, b + HDR + 7, 493, 0, 0);
	post(&h, 0);
	expect_delivered(&h, c0, 500, 0x31);
out3:
	hfe_end(&h);
}

#define FO(b) (1ull << (b))
/* A guest with the checksum and TSO offloads but not HOST_ECN or HOST_USO. */
#define HFE_TSO true

static void case_bad_offload(void)
{
	struct hfe h;
	struct virtio_net_hdr_mrg_rxbuf nh;
	static const struct {
		const char *name;
		bool tso; /* the frontend negotiates HFE_TSO's offloads (else none) */
		uint8_t flags, gso;
		uint16_t gso_size, cs, co;
	} v[] = {
		{ "csum_start at the end", HFE_TSO, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 200, 0 },
		{ "csum_start past the end", HFE_TSO, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 60000, 6 },
		{ "csum_offset past the end", HFE_TSO, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 14, 190 },
		{ "gso_size 0", HFE_TSO, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 0, 34, 16 },
		{ "gso_size past the packet", HFE_TSO, VIRTIO_NET_HDR_F_NEEDS_CSUM,
		  VIRTIO_NET_HDR_GSO_TCPV4, 201, 34, 16 },
		{ "unknown gso_type", HFE_TSO, VIRTIO_NET_HDR_F_NEEDS_CSUM, 7, 100, 34, 16 },
		{ "GSO ECN without HOST_ECN", HFE_TSO, VIRTIO_NET_HDR_F_NEEDS_CSUM,
		  VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 100, 34, 16 },
		{ "USO without HOST_USO", HFE_TSO, VIRTIO_NET_HDR_F_NEEDS_CSUM,
		  VHU_NET_HDR_GSO_UDP_L4, 100, 34, 6 },
		{ "legacy UFO, never offered", HFE_TSO, VIRTIO_NET_HDR_F_NEEDS_CSUM,
		  VIRTIO_NET_HDR_GSO_UDP, 100, 34, 6 },
		{ "TSO without HOST_TSO4", false, VIRTIO_NET_HDR_F_NEEDS_CSUM,
		  VIRTIO_NET_HDR_GSO_TCPV4, 100, 34, 16 },
		{ "partial checksum without CSUM", false, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 34, 16 },
	};
	for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
		uint64_t want = v[k].tso ? vhu_fe_default_features(1) | FO(VIRTIO_NET_F_CSUM) |
					   FO(VIRTIO_NET_F_HOST_TSO4) | FO(VIRTIO_NET_F_HOST_TSO6)
					 : 0;
		hfe_features = want;
		bool started = hfe_start(&h, v[k].name);
		hfe_features = 0;
		if (!started)
			goto out;
		CHECK((vhu_fe_features(h.fe) & want) == want);
		unsigned c0 = cap_count();
		struct vhu_vring_stats st0 = { 0 }, st1 = { 0 };
		vhu_vring_get_stats(bdev(), 1, &st0);
		memset(&nh, 0, sizeof(nh));
		nh.hdr.flags = v[k].flags;
		nh.hdr.gso_type = v[k].gso;
		nh.hdr.gso_size = v[k].gso_size;
		nh.hdr.csum_start = v[k].cs;
		nh.hdr.csum_offset = v[k].co;
		put_frame(&h, h.gpa0 + SCRATCH, &nh, 200, 4);
		desc_set(&h, 0, h.gpa0 + SCRATCH, HDR + 200, 0, 0);
		post(&h, 0);
		CHECK(wait_used(&h, h.aidx, 3000));
		/* The first per vring at WARN, later ones at DEBUG. */
		CHECK(wait_log(h.mark, "dropped packet with bad offload header", 2000));
		usleep(20000);
		CHECK(cap_count() == c0);
		vhu_vring_get_stats(bdev(), 1, &st1);
		CHECK(st1.errors == st0.errors + 1 && st1.drops == st0.drops + 1);
		CHECK(!vhu_vring_is_broken(bdev(), 1));
		/* The next, good, frame goes through. */
		put_frame(&h, h.gpa0 + SCRATCH + 0x1000, NULL, 90, 6);
		desc_set(&h, 1, h.gpa0 + SCRATCH + 0x1000, HDR + 90, 0, 0);
		post(&h, 1);
		expect_delivered(&h, c0, 90, 6);
out:
		hfe_end(&h);
	}
}

/* ---- a guest rewriting a descriptor while we read it ----------------------- */
struct flip {
	struct vring_desc *d;
	uint64_t a[2];
	uint32_t l[2];
	int stop;
	unsigned long flips;
};

static void *flipper(void *arg)
{
	struct flip *f = arg;
	while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
		int k = (int)(f->flips & 1);
		__atomic_store_n(&f->d->addr, f->a[k], __ATOMIC_RELAXED);
		__atomic_store_n(&f->d->len, f->l[(f->flips >> 1) & 1], __ATOMIC_RELAXED);
		f->flips++;
	}
	return NULL;
}

static void case_flip(void)
{
	struct hfe h;
	struct flip f = { 0 };
	pthread_t th;
	int n = 0, bad_pkts = 0;

	if (!hfe_start(&h, "descriptor rewritten while dequeued"))
		goto out;
	unsigned c0 = cap_count();
	uint64_t A = h.gpa0 + SCRATCH, B = h.gpa0 + SCRATCH + 0x10000;
	/* Both buffers are long enough for either length. */
	put_frame(&h, A, NULL, 3000, 0xaa);
	put_frame(&h, B, NULL, 3000, 0xbb);
	f.d = &h.desc[0];
	f.a[0] = A;
	f.a[1] = B;
	f.l[0] = HDR + 100;
	f.l[1] = HDR + 1500;
	desc_set(&h, 0, A, HDR + 100, 0, 0);
	pthread_create(&th, NULL, flipper, &f);
	double end = now() + 3;
	for (; n < 2000 && now() < end; n++) {
		post(&h, 0);
		if (!wait_used(&h, h.aidx, 2000))
			break;
	}
	__atomic_store_n(&f.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	for (double e2 = now() + 2; now() < e2 && cap_count() < c0 + (unsigned)n;)
		usleep(1000);
	unsigned got = cap_count() - c0;
	for (unsigned i = 0; i < got && i < CAPN; i++) {
		struct cap c = cap_get(c0 + i);
		if (!(c.len == 100 || c.len == 1500) || !c.uniform ||
		    !(c.first[0] == 0xaa || c.first[0] == 0xbb))
			bad_pkts++;
	}
	printf("  %d posted, %u delivered, %lu flips, %d inconsistent\n", n, got, f.flips,
	       bad_pkts);
	CHECK(n > 100);
	CHECK(got == (unsigned)n);
	CHECK(bad_pkts == 0);
	CHECK(!vhu_vring_is_broken(bdev(), 1));
out:
	hfe_end(&h);
}

/* ---- messages ------------------------------------------------------------------ */
static bool conn_closed(struct hfe *h, int ms)
{
	/* The backend's side is gone: the device is destroyed and our end
	 * reads EOF. */
	bool gone = wait_int(&bad.conns, 0, ms);
	struct pollfd p = { .fd = vhu_fe_sock(h->fe), .events = POLLIN };
	char buf[256];
	for (double end = now() + 1; gone && now() < end;) {
		if (poll(&p, 1, 100) == 1) {
			ssize_t r = recv(p.fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno == ECONNRESET))
				return true;
		}
	}
	return false;
}

static void raw_write(struct hfe *h, uint32_t req, uint32_t claimed, uint32_t sent)
{
	uint8_t buf[12 + 4096] = { 0 };
	uint32_t hd[3] = { req, VHU_MSG_VERSION, claimed };
	memcpy(buf, hd, 12);
	CHECK(send(vhu_fe_sock(h->fe), buf, 12 + sent, MSG_NOSIGNAL) == (ssize_t)(12 + sent));
}

static void case_msg_short_payload(void)
{
	struct hfe h;
	double t0;

	if (!hfe_start(&h, "payload shorter than its size, then close"))
		goto out;
	raw_write(&h, VHU_REQ_SET_VRING_NUM, 100, 10);
	shutdown(vhu_fe_sock(h.fe), SHUT_WR);
	CHECK(conn_closed(&h, 3000));
	CHECK(wait_log(h.mark, "payload truncated", 1000));
out:
	hfe_end(&h);

	if (!hfe_start(&h, "payload shorter than its size, peer stays"))
		goto out2;
	t0 = now();
	raw_write(&h, VHU_REQ_SET_VRING_NUM, 100, 10);
	CHECK(conn_closed(&h, 8000));
	printf("  closed after %.1f s\n", now() - t0);
	CHECK(wait_log(h.mark, "payload truncated", 1000));
out2:
	hfe_end(&h);

	if (!hfe_start(&h, "truncated header, then close"))
		goto out3;
	CHECK(send(vhu_fe_sock(h.fe), "\x03\0\0\0\x01\0", 6, MSG_NOSIGNAL) == 6);
	shutdown(vhu_fe_sock(h.fe), SHUT_WR);
	CHECK(conn_closed(&h, 3000));
	CHECK(wait_log(h.mark, "message header truncated", 1000));
out3:
	hfe_end(&h);

	if (!hfe_start(&h, "truncated header, peer stays"))
		goto out4;
	CHECK(send(vhu_fe_sock(h.fe), "\x03\0\0\0\x01\0", 6, MSG_NOSIGNAL) == 6);
	CHECK(conn_closed(&h, 8000));
	CHECK(wait_log(h.mark, "message header truncated", 1000));
out4:
	hfe_end(&h);

	if (!hfe_start(&h, "payload size over 4 KiB"))
		goto out5;
	raw_write(&h, VHU_REQ_SET_MEM_TABLE, 100000, 100);
	CHECK(conn_closed(&h, 3000));
	CHECK(wait_log(h.mark, "payload size 100000 exceeds", 1000));
out5:
	hfe_end(&h);
}

static void case_msg_unknown(void)
{
	struct hfe h;
	if (!hfe_start(&h, "unknown request codes"))
		goto out;
	uint32_t codes[] = { 0, VHU_REQ_IOTLB_MSG, VHU_REQ_GET_CONFIG, VHU_REQ_MAX, 1000,
			     0xffffffffu };
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		uint64_t v = 0;
		CHECK(vhu_fe_send_raw(h.fe, codes[i], VHU_MSG_NEED_REPLY, &v, 8, NULL, 0) == 0);
		CHECK(get_ack(&h, codes[i]) == 1);
	}
	CHECK(wait_log(h.mark, "unsupported request 1000", 1000));
	/* Kept: still answers, still forwards. */
	uint64_t f = 0;
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_GET_FEATURES, 0, NULL, 0, NULL, 0) == 0);
	CHECK(vhu_fe_recv_raw(h.fe, NULL, &f, 8, 3000) == 8 && f != 0);
	CHECK(__atomic_load_n(&bad.conns, __ATOMIC_SEQ_CST) == 1);
out:
	hfe_end(&h);
}

static void case_msg_vring_index(void)
{
	struct hfe h;
	if (!hfe_start(&h, "vring index out of range"))
		goto out;
	uint32_t idx[] = { 32, 255, 256, 65535, 65536, 0x10001, 0xffffffffu };
	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		struct vhost_vring_state st = { .index = idx[i], .num = 256 };
		CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_VRING_NUM, VHU_MSG_NEED_REPLY, &st,
				      sizeof(st), NULL, 0) == 0);
		CHECK(get_ack(&h, VHU_REQ_SET_VRING_NUM) == 1);
		st.num = 1;
		CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_VRING_ENABLE, VHU_MSG_NEED_REPLY, &st,
				      sizeof(st), NULL, 0) == 0);
		CHECK(get_ack(&h, VHU_REQ_SET_VRING_ENABLE) == 1);
		struct vhost_vring_addr a = { .index = idx[i] };
		CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_VRING_ADDR, VHU_MSG_NEED_REPLY, &a,
				      sizeof(a), NULL, 0) == 0);
		CHECK(get_ack(&h, VHU_REQ_SET_VRING_ADDR) == 1);
	}
	CHECK(wait_log(h.mark, "vring index 65536 out of range", 1000));
	CHECK(wait_log(h.mark, "vring index 4294967295 out of range", 1000));
	/* u64 form: index 200 (inside the 8-bit field) and stray bits. */
	uint64_t u = 200 | VHU_VRING_NOFD;
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_VRING_CALL, VHU_MSG_NEED_REPLY, &u, 8, NULL, 0) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_VRING_CALL) == 1);
	u = 1 | VHU_VRING_NOFD | (1ull << 40);
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_VRING_KICK, VHU_MSG_NEED_REPLY, &u, 8, NULL, 0) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_VRING_KICK) == 1);
	CHECK(wait_log(h.mark, "unknown bits", 1000));
	CHECK(bdev() && !vhu_vring_is_broken(bdev(), 1));
	CHECK(__atomic_load_n(&bad.conns, __ATOMIC_SEQ_CST) == 1);
out:
	hfe_end(&h);

	/* A request that always has a reply, malformed: closed. */
	if (!hfe_start(&h, "GET_VRING_BASE of vring 65536"))
		goto out2;
	struct vhost_vring_state st = { .index = 65536 };
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0) == 0);
	CHECK(conn_closed(&h, 3000));
	CHECK(wait_log(h.mark, "vring index 65536 out of range", 1000));
out2:
	hfe_end(&h);
}

static void case_msg_vring_num(void)
{
	struct hfe h;
	if (!hfe_start(&h, "SET_VRING_NUM 0, not a power of two, over 32768"))
		goto out;
	uint32_t nums[] = { 0, 3, 255, 65536, 32769, 0xffffffffu };
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		struct vhost_vring_state st = { .index = 1, .num = nums[i] };
		CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_VRING_NUM, VHU_MSG_NEED_REPLY, &st,
				      sizeof(st), NULL, 0) == 0);
		CHECK(get_ack(&h, VHU_REQ_SET_VRING_NUM) == 1);
	}
	CHECK(wait_log(h.mark, "size 0 invalid", 1000));
	CHECK(wait_log(h.mark, "size 65536 invalid", 1000));
	/* The ring kept its size and keeps working. */
	CHECK(vhu_vring_get_size(bdev(), 1) == 256);
	unsigned c0 = cap_count();
	put_frame(&h, h.gpa0 + SCRATCH, NULL, 64, 0x11);
	desc_set(&h, 0, h.gpa0 + SCRATCH, HDR + 64, 0, 0);
	post(&h, 0);
	expect_delivered(&h, c0, 64, 0x11);
out:
	hfe_end(&h);
}

/* Repeated reconfiguration leaks neither fds nor mappings. */
static void case_msg_repeat(void)
{
	struct hfe h;
	if (!hfe_start(&h, "SET_VRING_NUM and SET_MEM_TABLE 100 times"))
		goto out;
	int fd = bad_mem_fd();
	CHECK(fd >= 0);
	struct res r0 = { 0 };
	struct vhu_mem_region_wire reg = { h.gpa0, h.size, (uint64_t)(uintptr_t)h.mem, 0 };
	for (int i = 0; i <= 100; i++) {
		/* Counted after the first round: the backend then holds one
		 * error eventfd, replaced (not added to) on every later round. */
		if (i == 1)
			r0 = res_now();
		struct vhost_vring_state st = { .index = 1, .num = 256 };
		CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_VRING_NUM, VHU_MSG_NEED_REPLY, &st,
				      sizeof(st), NULL, 0) == 0);
		CHECK(get_ack(&h, VHU_REQ_SET_VRING_NUM) == 0);
		CHECK(send_mem_table(&h, &reg, 1, &fd, 1, 0) == 0);
		CHECK(get_ack(&h, VHU_REQ_SET_MEM_TABLE) == 0);
		/* Kick and call fds replaced each time too. */
		int efd = eventfd(0, EFD_CLOEXEC);
		uint64_t u = 1;
		CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_VRING_ERR, VHU_MSG_NEED_REPLY, &u, 8,
				      &efd, 1) == 0);
		CHECK(get_ack(&h, VHU_REQ_SET_VRING_ERR) == 0);
		close(efd);
	}
	res_check(&r0);
	/* Still forwarding after all that. */
	unsigned c0 = cap_count();
	put_frame(&h, h.gpa0 + SCRATCH, NULL, 64, 0x12);
	desc_set(&h, 0, h.gpa0 + SCRATCH, HDR + 64, 0, 0);
	post(&h, 0);
	expect_delivered(&h, c0, 64, 0x12);
out:
	hfe_end(&h);
}

static void case_msg_fds(void)
{
	struct hfe h;
	int fds[8];
	if (!hfe_start(&h, "more fds than the request takes"))
		goto out;
	for (int i = 0; i < 8; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_OWNER, VHU_MSG_NEED_REPLY, NULL, 0, fds, 3) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_OWNER) == 1);
	uint64_t u = 1;
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_VRING_CALL, VHU_MSG_NEED_REPLY, &u, 8, fds, 2) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_VRING_CALL) == 1);
	u = 1 | VHU_VRING_NOFD;
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_VRING_KICK, VHU_MSG_NEED_REPLY, &u, 8, fds, 1) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_VRING_KICK) == 1);
	CHECK(wait_log(h.mark, "fds attached", 1000));
	for (int i = 0; i < 8; i++)
		close(fds[i]);
out:
	hfe_end(&h);

	/* Past what any message may carry: 20 fds, sent by hand. */
	if (!hfe_start(&h, "20 fds on one message"))
		goto out2;
	int many[20];
	for (int i = 0; i < 20; i++)
		many[i] = eventfd(0, EFD_CLOEXEC);
	char control[CMSG_SPACE(sizeof(many))];
	uint32_t hd[3] = { VHU_REQ_SET_OWNER, VHU_MSG_VERSION, 0 };
	struct iovec iov = { hd, sizeof(hd) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			     .msg_controllen = sizeof(control) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(many));
	memcpy(CMSG_DATA(c), many, sizeof(many));
	CHECK(sendmsg(vhu_fe_sock(h.fe), &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(hd));
	CHECK(conn_closed(&h, 3000));
	CHECK(wait_log(h.mark, "more than 8 fds attached", 1000));
	for (int i = 0; i < 20; i++)
		close(many[i]);
out2:
	hfe_end(&h);
}

/* A 64-byte frame of bytes v posted on descriptor 0 comes out whole. */
static void expect_forwards(struct hfe *h, uint8_t v)
{
	unsigned c0 = cap_count();
	put_frame(h, h->gpa0 + SCRATCH, NULL, 64, v);
	desc_set(h, 0, h->gpa0 + SCRATCH, HDR + 64, 0, 0);
	post(h, 0);
	expect_delivered(h, c0, 64, v);
}

/* SET_FEATURES that changes more than dirty logging while the vrings
 * run: the rings were laid out for the features then (a fuzzer turned a
 * split ring packed under bursts). Refused; the device goes on. */
static void case_msg_features_running(void)
{
	struct hfe h;

	if (!hfe_start(&h, "SET_FEATURES changed while the vrings run"))
		goto out;
	uint64_t feat = vhu_fe_features(h.fe) & ~(1ull << VIRTIO_F_VERSION_1);
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_FEATURES, VHU_MSG_NEED_REPLY, &feat, 8, NULL, 0) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_FEATURES) == 1);
	CHECK(wait_log(h.mark, "only dirty logging may change then", 1000));
	feat = vhu_fe_features(h.fe) | (1ull << VHU_F_LOG_ALL);
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_FEATURES, VHU_MSG_NEED_REPLY, &feat, 8, NULL, 0) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_FEATURES) == 0);
	feat = vhu_fe_features(h.fe);
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_FEATURES, VHU_MSG_NEED_REPLY, &feat, 8, NULL, 0) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_FEATURES) == 0);
	expect_forwards(&h, 0x16);
out:
	hfe_end(&h);
}

static int send_mem_reg(struct hfe *h, uint32_t req, struct vhu_mem_region_wire r,
			const int *fds, int nfds)
{
	struct vhu_mem_reg_wire w = { .region = r };
	return vhu_fe_send_raw(h->fe, req, VHU_MSG_NEED_REPLY, &w, sizeof(w), fds, nfds);
}

/* One ADD_MEM_REG or REM_MEM_REG, refused (ack 1) with a line naming why. */
static void expect_reg_refused(struct hfe *h, uint32_t req, struct vhu_mem_region_wire r,
			       const int *fds, int nfds, const char *why)
{
	CHECK(send_mem_reg(h, req, r, fds, nfds) == 0);
	CHECK(get_ack(h, req) == 1);
	if (why && !wait_log(h->mark, why, 1000))
		fprintf(stderr, "  [%s] no line with \"%s\"\n", cur_case, why);
	CHECK(!why || wait_log(h->mark, why, 1000));
}

/* CONFIGURE_MEM_SLOTS: every malformed ADD_MEM_REG and REM_MEM_REG refused
 * with a line, the fds it carried closed, nothing mapped left behind; the
 * map filled to its 509 regions and the 510th refused; the device
 * forwarding on its own region throughout. Without the feature, both are
 * refused as unknown requests. */
static void case_msg_mem_reg(void)
{
	struct hfe h;
	const uint64_t far = 1ull << 40;

	if (!hfe_start(&h, "ADD/REM_MEM_REG without CONFIGURE_MEM_SLOTS"))
		goto out0;
	int fd = bad_mem_fd();
	uint64_t va = (uint64_t)(uintptr_t)h.mem, S = h.size;
	expect_reg_refused(&h, VHU_REQ_ADD_MEM_REG, (struct vhu_mem_region_wire){ far, 4096, va, 0 },
			   &fd, 1, "needs protocol feature 15");
	expect_reg_refused(&h, VHU_REQ_REM_MEM_REG, (struct vhu_mem_region_wire){ h.gpa0, S, va, 0 },
			   NULL, 0, "needs protocol feature 15");
out0:
	hfe_end(&h);

	hfe_protocol_extra = 1ull << VHU_PROTO_F_CONFIGURE_MEM_SLOTS;
	bool up = hfe_start(&h, "bad ADD_MEM_REG and REM_MEM_REG");
	hfe_protocol_extra = 0;
	if (!up)
		goto out;
	fd = bad_mem_fd();
	CHECK(fd >= 0);
	va = (uint64_t)(uintptr_t)h.mem;
	S = h.size;
	int small = memfd_create("hostile-reg", MFD_CLOEXEC);
	CHECK(small >= 0 && ftruncate(small, 4096) == 0);
	int efd = eventfd(0, EFD_CLOEXEC);
	int two[2] = { small, small };
	struct res r0 = res_now();

	/* GET_MAX_MEM_SLOTS */
	uint64_t slots = 0;
	uint32_t got = 0;
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_GET_MAX_MEM_SLOTS, 0, NULL, 0, NULL, 0) == 0);
	CHECK(vhu_fe_recv_raw(h.fe, &got, &slots, sizeof(slots), 3000) == 8);
	CHECK(got == VHU_REQ_GET_MAX_MEM_SLOTS && slots == 509);

	const struct vhu_mem_region_wire one = { far, 4096, va, 0 };
	/* Overlapping the region in force, or straddling its end. */
	expect_reg_refused(&h, VHU_REQ_ADD_MEM_REG, (struct vhu_mem_region_wire){ h.gpa0, 4096, va, 0 },
			   &small, 1, "overlaps the region");
	expect_reg_refused(&h, VHU_REQ_ADD_MEM_REG,
			   (struct vhu_mem_region_wire){ h.gpa0 + S - 4096, 8192, va, 0 },
			   two, 1, "overlaps the region");
	/* fds missing or extra. */
	expect_reg_refused(&h, VHU_REQ_ADD_MEM_REG, one, NULL, 0, "0 fds attached");
	expect_reg_refused(&h, VHU_REQ_ADD_MEM_REG, one, two, 2, "2 fds attached");
	expect_reg_refused(&h, VHU_REQ_REM_MEM_REG, one, two, 2, "2 fds attached");
	/* Size or offset past the end of the file; size 0; overflow; the
	 * 16-byte alignment rule; a file that cannot be mapped. */
	expect_reg_refused(&h, VHU_REQ_ADD_MEM_REG, (struct vhu_mem_region_wire){ far, 8192, va, 0 },
			   &small, 1, "past the end of its file");
	expect_reg_refused(&h, VHU_REQ_ADD_MEM_REG, (struct vhu_mem_region_wire){ far, 4096, va, 4096 },
			   &small, 1, "past the end of its file");
	expect_reg_refused(&h, VHU_REQ_ADD_MEM_REG, (struct vhu_mem_region_wire){ far, 0, va, 0 },
			   &small, 1, "has size 0");
	expect_reg_refused(&h, VHU_REQ_ADD_MEM_REG,
			   (struct vhu_mem_region_wire){ UINT64_MAX - 4095, 8192, va, 0 },
			   &small, 1, "address + size overflows");
	expect_reg_refused(&h, VHU_REQ_ADD_MEM_REG, (struct vhu_mem_region_wire){ far, 4096, va + 3, 0 },
			   &small, 1, "are not aligned alike");
	expect_reg_refused(&h, VHU_REQ_ADD_MEM_REG, one, &efd, 1, "mmap");
	/* A payload that is not one region. */
	uint8_t buf[sizeof(struct vhu_mem_reg_wire) + 8] = { 0 };
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_ADD_MEM_REG, VHU_MSG_NEED_REPLY, buf, 32, &small, 1) == 0);
	CHECK(get_ack(&h, VHU_REQ_ADD_MEM_REG) == 1);
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_REM_MEM_REG, VHU_MSG_NEED_REPLY, buf, sizeof(buf),
			      NULL, 0) == 0);
	CHECK(get_ack(&h, VHU_REQ_REM_MEM_REG) == 1);
	CHECK(wait_log(h.mark, "payload of 48 bytes", 1000));
	/* Removing a region never added, or the one in force named with
	 * another size or address. */
	expect_reg_refused(&h, VHU_REQ_REM_MEM_REG, one, NULL, 0, "was added");
	expect_reg_refused(&h, VHU_REQ_REM_MEM_REG, (struct vhu_mem_region_wire){ h.gpa0, S / 2, va, 0 },
			   NULL, 0, "was added");
	expect_reg_refused(&h, VHU_REQ_REM_MEM_REG, (struct vhu_mem_region_wire){ h.gpa0, S, va + 4096, 0 },
			   NULL, 0, "was added");

	/* Fill the map: 508 more (one fd, mapped again each time), then the
	 * 510th; removed again, QEMU's way (with the fd) for the even ones. */
	unsigned added = 0, removed = 0;
	for (unsigned i = 0; i < 508; i++) {
		CHECK(send_mem_reg(&h, VHU_REQ_ADD_MEM_REG,
				   (struct vhu_mem_region_wire){ far + i * 8192ull, 4096, va, 0 },
				   &small, 1) == 0);
		added += get_ack(&h, VHU_REQ_ADD_MEM_REG) == 0;
	}
	CHECK(added == 508);
	CHECK(count_maps_of("hostile-reg") == 508);
	expect_reg_refused(&h, VHU_REQ_ADD_MEM_REG, (struct vhu_mem_region_wire){ far / 2, 4096, va, 0 },
			   &small, 1, "already 509 regions");
	for (unsigned i = 0; i < 508; i++) {
		CHECK(send_mem_reg(&h, VHU_REQ_REM_MEM_REG,
				   (struct vhu_mem_region_wire){ far + i * 8192ull, 4096, va, 0 },
				   &small, i % 2 ? 0 : 1) == 0);
		removed += get_ack(&h, VHU_REQ_REM_MEM_REG) == 0;
	}
	CHECK(removed == 508);
	CHECK(count_maps_of("hostile-reg") == 0);
	CHECK(count_dir("/proc/self/fd") == r0.fds);
	res_check(&r0);
	/* The device's own region is still there. */
	expect_forwards(&h, 0x15);
	close(small);
	close(efd);
out:
	hfe_end(&h);
}

static void case_msg_mem_table(void)
{
	struct hfe h;
	if (!hfe_start(&h, "bad SET_MEM_TABLE"))
		goto out;
	int fd = bad_mem_fd();
	CHECK(fd >= 0);
	uint64_t va = (uint64_t)(uintptr_t)h.mem, S = h.size;
	int fds[9];
	for (int i = 0; i < 9; i++)
		fds[i] = fd;
	struct vhu_mem_region_wire r[9];
	for (int i = 0; i < 9; i++)
		r[i] = (struct vhu_mem_region_wire){ (uint64_t)i << 30, 1 << 20, va, 0 };
	struct res r0 = res_now();

	/* 9 regions: over the 8 one message takes (and 9 fds). */
	uint8_t buf[8 + 9 * 32] = { 0 };
	uint32_t nine = 9;
	memcpy(buf, &nine, 4);
	memcpy(buf + 8, r, sizeof(r));
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_MEM_TABLE, VHU_MSG_NEED_REPLY, buf,
			      sizeof(buf), fds, 8) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_MEM_TABLE) == 1);
	CHECK(wait_log(h.mark, "payload of 296 bytes", 1000));
	/* nregions 9 in a payload sized for 8. */
	CHECK(send_mem_table(&h, r, 9, fds, 8, 8 + 8 * 32) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_MEM_TABLE) == 1);
	CHECK(wait_log(h.mark, "does not match 9 regions", 1000));
	/* 0 regions. */
	CHECK(send_mem_table(&h, r, 0, fds, 1, 8) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_MEM_TABLE) == 1);
	/* Regions and fds disagree. */
	CHECK(send_mem_table(&h, r, 2, fds, 1, 0) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_MEM_TABLE) == 1);
	CHECK(wait_log(h.mark, "2 regions but 1 fds", 1000));
	/* Overlapping. */
	struct vhu_mem_region_wire ov[2] = { { 0, S, va, 0 }, { S / 2, S / 2, va, 0 } };
	CHECK(send_mem_table(&h, ov, 2, fds, 2, 0) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_MEM_TABLE) == 1);
	CHECK(wait_log(h.mark, "regions 0 and 1 overlap", 1000));
	/* Zero size. */
	struct vhu_mem_region_wire z[2] = { { 0, S, va, 0 }, { 1ull << 32, 0, va, 0 } };
	CHECK(send_mem_table(&h, z, 2, fds, 2, 0) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_MEM_TABLE) == 1);
	CHECK(wait_log(h.mark, "region 1 has size 0", 1000));
	/* Offset past the end of the file. */
	struct vhu_mem_region_wire off = { 0, S, va, 4096 };
	CHECK(send_mem_table(&h, &off, 1, fds, 1, 0) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_MEM_TABLE) == 1);
	CHECK(wait_log(h.mark, "past the end of its file", 1000));
	off = (struct vhu_mem_region_wire){ 0, 4096, va, 1ull << 40 };
	CHECK(send_mem_table(&h, &off, 1, fds, 1, 0) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_MEM_TABLE) == 1);
	/* Sizes that overflow. */
	off = (struct vhu_mem_region_wire){ 0xfffffffffffff000ull, 0x2000, va, 0 };
	CHECK(send_mem_table(&h, &off, 1, fds, 1, 0) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_MEM_TABLE) == 1);
	CHECK(wait_log(h.mark, "address + size overflows", 1000));
	off = (struct vhu_mem_region_wire){ 0, 0xfffffffffffff000ull, va, 0x2000 };
	CHECK(send_mem_table(&h, &off, 1, fds, 1, 0) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_MEM_TABLE) == 1);
	/* qva and offset disagree modulo 16: an aligned ring address would
	 * land on a misaligned host address (found by fuzz_msg). */
	off = (struct vhu_mem_region_wire){ 0, S - 4096, va + 3, 0 };
	CHECK(send_mem_table(&h, &off, 1, fds, 1, 0) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_MEM_TABLE) == 1);
	CHECK(wait_log(h.mark, "are not aligned alike", 1000));
	/* Not a file that can be mapped (an eventfd). */
	int efd = eventfd(0, EFD_CLOEXEC);
	off = (struct vhu_mem_region_wire){ 0, 4096, va, 0 };
	CHECK(send_mem_table(&h, &off, 1, &efd, 1, 0) == 0);
	CHECK(get_ack(&h, VHU_REQ_SET_MEM_TABLE) == 1);
	close(efd);
	res_check(&r0);
	/* The old table is still in force: the device forwards. */
	unsigned c0 = cap_count();
	put_frame(&h, h.gpa0 + SCRATCH, NULL, 64, 0x13);
	desc_set(&h, 0, h.gpa0 + SCRATCH, HDR + 64, 0, 0);
	post(&h, 0);
	expect_delivered(&h, c0, 64, 0x13);
out:
	hfe_end(&h);

	/* SET_LOG_BASE whose size overflows: always answered, so refused by
	 * closing. */
	if (!hfe_start(&h, "SET_LOG_BASE size overflows"))
		goto out2;
	int lfd = bad_mem_fd();
	struct vhu_log_wire lw = { .mmap_size = 0xfffffffffffff000ull, .mmap_offset = 0x2000 };
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_LOG_BASE, 0, &lw, sizeof(lw), &lfd, 1) == 0);
	CHECK(conn_closed(&h, 3000));
	CHECK(wait_log(h.mark, "SET_LOG_BASE size 0xfffffffffffff000", 1000));
out2:
	hfe_end(&h);

	/* A log area past the end of its file: mapping it works, touching it
	 * would SIGBUS the whole backend. Refused (closed), or if accepted,
	 * dirty logging on and a frame through must not crash. */
	if (!hfe_start(&h, "SET_LOG_BASE past the end of its file"))
		goto out3;
	lfd = bad_mem_fd();
	lw = (struct vhu_log_wire){ .mmap_size = 4096, .mmap_offset = 1ull << 30 };
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_LOG_BASE, 0, &lw, sizeof(lw), &lfd, 1) == 0);
	uint32_t req = 0;
	int rr = vhu_fe_recv_raw(h.fe, &req, NULL, 0, 3000);
	if (rr == 0) {
		fprintf(stderr, "  [%s] log area past EOF accepted\n", cur_case);
		uint64_t feat = vhu_fe_features(h.fe) | (1ull << VHU_F_LOG_ALL);
		CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_SET_FEATURES, VHU_MSG_NEED_REPLY, &feat, 8,
				      NULL, 0) == 0);
		CHECK(get_ack(&h, VHU_REQ_SET_FEATURES) == 0);
		unsigned c0 = cap_count();
		put_frame(&h, h.gpa0 + SCRATCH, NULL, 64, 0x14);
		desc_set(&h, 0, h.gpa0 + SCRATCH, HDR + 64, 0, 0);
		post(&h, 0);
		expect_delivered(&h, c0, 64, 0x14);
	}
	CHECK(conn_closed(&h, 3000));
	CHECK(wait_log(h.mark, "past the end of its file", 1000));
out3:
	hfe_end(&h);
}

/* 100000 messages: handled in bounded time, device still answers. */
static void case_msg_flood(void)
{
	struct hfe h;
	if (!hfe_start(&h, "flood of 100000 messages"))
		goto out;
	double t0 = now();
	int i, sent_ok = 0;
	for (i = 0; i < 100000 && now() - t0 < 30; i++) {
		struct vhost_vring_state st = { .index = 0, .num = 1 };
		if (vhu_fe_send_raw(h.fe, i & 1 ? VHU_REQ_SET_OWNER : VHU_REQ_SET_VRING_ENABLE,
				    0, &st, i & 1 ? 0 : sizeof(st), NULL, 0) == 0)
			sent_ok++;
	}
	uint64_t f = 0;
	CHECK(vhu_fe_send_raw(h.fe, VHU_REQ_GET_FEATURES, 0, NULL, 0, NULL, 0) == 0);
	CHECK(vhu_fe_recv_raw(h.fe, NULL, &f, 8, 20000) == 8 && f != 0);
	double dt = now() - t0;
	printf("  %d messages in %.2f s\n", sent_ok, dt);
	CHECK(sent_ok == 100000);
	CHECK(dt < 30);
out:
	hfe_end(&h);

	/* Requests with replies the frontend never reads: the backend must
	 * not block forever on a full socket. */
	if (!hfe_start(&h, "flood of requests whose replies are never read"))
		goto out2;
	t0 = now();
	int n = 0;
	for (; n < 100000 && now() - t0 < 20; n++)
		if (vhu_fe_send_raw(h.fe, VHU_REQ_GET_FEATURES, 0, NULL, 0, NULL, 0) < 0)
			break;
	printf("  %d sent in %.2f s before the socket stopped taking them\n", n, now() - t0);
	/* The backend cannot reply into a full socket: it gives up on this
	 * connection after its I/O timeout instead of blocking the control
	 * thread (and so every other device) for as long as we like. */
	CHECK(conn_closed(&h, 10000));
	CHECK(wait_log(h.mark, "cannot reply to GET_FEATURES", 1000));
	CHECK(now() - t0 < 25);
out2:
	hfe_end(&h);
}

/* A frontend with a vIOMMU sends IOTLB messages no vIOMMU would: each is
 * refused (failure ack, a log line naming what is wrong), the connection
 * stays, nothing changes; a flood of good updates past the cache's bound
 * is taken without growing it; the device forwards throughout (its
 * transmitted frames arrive, their buffers missed and answered). */
static void case_iotlb(void)
{
	struct vhu_fe_opts o = { .path = bad.path, .mem_size = BAD_MEM, .ring_size = 256,
				 .iommu = true };
	/* Made before the count: the pool, and the first block of the IOTLB's
	 * size, map memory an allocator (ASan's) keeps for later. */
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("iotlb", 64, 2048);
	free(malloc(sizeof(struct vhu_iotlb)));
	struct res r0 = res_now();
	unsigned mark = log_mark(), cap0 = cap_count();
	struct vhu_fe *fe;

	cur_case = "hostile IOTLB messages";
	cases++;
	printf("case %s\n", cur_case);
	fe = vhu_fe_create(&o);
	CHECK(fe != NULL);
	if (!fe)
		return;
	for (double end = now() + 5; now() < end && !__atomic_load_n(&bad.dev, __ATOMIC_SEQ_CST);
	     usleep(1000))
		vhu_fe_iotlb_serve(fe); /* the rings are IOVAs the backend asks for */
	CHECK(__atomic_load_n(&bad.dev, __ATOMIC_SEQ_CST) != NULL);
	uint64_t gpa, size;
	CHECK(vhu_fe_mem(fe, 0, &gpa, &size) != NULL);
	struct hfe h = { .fe = fe };
	static const struct {
		struct vhost_iotlb_msg m;
		const char *log;
	} c[] = {
		{ { .iova = 0x1000, .size = 0x1000, .uaddr = 0x1000, .perm = 3, .type = 0 },
		  "IOTLB_MSG of type 0" },
		{ { .iova = 0x1000, .size = 0x1000, .uaddr = 0x1000, .perm = 3,
		    .type = VHOST_IOTLB_MISS }, "IOTLB_MSG of type 1" },
		{ { .iova = 0x1000, .size = 0x1000, .uaddr = 0x1000, .perm = 3, .type = 0x7f },
		  "IOTLB_MSG of type 127" },
		{ { .iova = 0x1000, .size = 0, .uaddr = 0x1000, .perm = 3,
		    .type = VHOST_IOTLB_UPDATE }, "is empty or wraps" },
		{ { .iova = 0x1000, .size = 0, .type = VHOST_IOTLB_INVALIDATE },
		  "is empty or wraps" },
		{ { .iova = ~0ull - 0xfff, .size = 0x2000, .uaddr = 0x1000, .perm = 3,
		    .type = VHOST_IOTLB_UPDATE }, "is empty or wraps" },
		{ { .iova = 0x1000, .size = 0x2000, .uaddr = ~0ull - 0xfff, .perm = 3,
		    .type = VHOST_IOTLB_UPDATE }, "wraps" },
		{ { .iova = 0x1000, .size = 0x1000, .uaddr = 0x1000, .perm = 0,
		    .type = VHOST_IOTLB_UPDATE }, "update with rights 0" },
		{ { .iova = 0x1000, .size = 0x1000, .uaddr = 0x1000, .perm = 7,
		    .type = VHOST_IOTLB_UPDATE }, "update with rights 7" },
		/* a frontend VA outside the memory table */
		{ { .iova = 0x1000, .size = 0x1000, .uaddr = 0x1000, .perm = 3,
		    .type = VHOST_IOTLB_UPDATE }, "is not inside the memory table" },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		unsigned m = log_mark();
		CHECK(vhu_fe_send_raw(fe, VHU_REQ_IOTLB_MSG, VHU_MSG_NEED_REPLY, &c[i].m,
				      sizeof(c[i].m), NULL, 0) == 0);
		CHECK(get_ack(&h, VHU_REQ_IOTLB_MSG) == 1);
		CHECK(wait_log(m, c[i].log, 1000));
	}
	/* Past the end of guest memory by one page. */
	unsigned m = log_mark();
	uint8_t *mem = vhu_fe_mem(fe, 0, NULL, NULL);
	struct vhost_iotlb_msg past = { .iova = 0x1000, .size = 0x2000,
		.uaddr = (uint64_t)(uintptr_t)(mem + size - 0x1000), .perm = 3,
		.type = VHOST_IOTLB_UPDATE };
	CHECK(vhu_fe_send_raw(fe, VHU_REQ_IOTLB_MSG, VHU_MSG_NEED_REPLY, &past, sizeof(past),
			      NULL, 0) == 0);
	CHECK(get_ack(&h, VHU_REQ_IOTLB_MSG) == 1);
	CHECK(wait_log(m, "is not inside the memory table", 1000));
	/* A flood of good updates, three times the bound. */
	int flood_ok = 1;
	for (uint64_t i = 0; i < 3 * 2048 && flood_ok; i++) {
		struct vhost_iotlb_msg u = { .iova = (1ull << 44) + i * 0x2000, .size = 0x1000,
			.uaddr = (uint64_t)(uintptr_t)mem, .perm = VHOST_ACCESS_RO,
			.type = VHOST_IOTLB_UPDATE };
		flood_ok = vhu_fe_send_raw(fe, VHU_REQ_IOTLB_MSG, VHU_MSG_NEED_REPLY, &u,
					   sizeof(u), NULL, 0) == 0 &&
			   get_ack(&h, VHU_REQ_IOTLB_MSG) == 0;
	}
	CHECK(flood_ok);
	CHECK(wait_log(mark, "IOTLB full (2048 entries)", 1000));
	/* Still forwarding: frames sent now arrive (their buffers miss, the
	 * frontend answers in its bursts). */
	struct vhu_pkt *tx[8];
	unsigned sent = 0;
	for (double end = now() + 5; now() < end && sent < 8; usleep(1000)) {
		if (vhu_pkt_alloc_bulk(pool, tx, 1) == 0) {
			fill(vhu_pkt_append(tx[0], 100), 100, sent);
			sent += vhu_fe_send_burst(fe, 0, tx, 1);
			vhu_pkt_free_bulk(tx, 1);
		}
	}
	for (double end = now() + 5; now() < end && cap_count() < cap0 + sent; usleep(1000))
		vhu_fe_iotlb_serve(fe);
	CHECK(sent == 8 && cap_count() >= cap0 + sent);
	CHECK(vhu_fe_iotlb_misses(fe) > 0);
	CHECK(__atomic_load_n(&bad.conns, __ATOMIC_SEQ_CST) == 1);
	vhu_fe_destroy(fe);
	CHECK(wait_int(&bad.conns, 0, 5000));
	CHECK(good_progress());
	res_check(&r0);
	vhu_pkt_pool_destroy(pool);
}

static const char *const groups[] = { "desc", "ring", "chain", "align", "hdr", "race",
				      "msg", "mem", "flood", "iotlb", "all" };

static bool known_group(const char *g)
{
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (!strcmp(g, groups[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	const char *group = "all";
	uint64_t flags = 0;
	pthread_t dt, gt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		const char *bad = NULL;
		if (!strcmp(argv[i], "--group") && i + 1 < argc) {
			group = argv[++i];
			if (!known_group(group))
				bad = "unknown group";
		} else if (!strcmp(argv[i], "-v")) {
			verbose = 1;
		} else if (!strcmp(argv[i], "--zc")) {
			flags |= VHU_DEQUEUE_ZERO_COPY;
			good_len = 1000;
		} else {
			bad = "unknown argument";
		}
		if (bad) {
			fprintf(stderr, "hostile: %s '%s'\nusage: hostile [--group desc|ring|"
				"chain|align|hdr|race|msg|mem|flood|iotlb|all] [--zc] [-v]\n", bad, argv[i]);
			return 2;
		}
	}
	vhu_log_set_handler(log_fn, NULL);
	/* Per-packet drops are logged at DEBUG. */
	vhu_log_set_level(VHU_LOG_DEBUG);
	snprintf(good.path, sizeof(good.path), "/tmp/vhu-hostile-good-%d.sock", getpid());
	snprintf(bad.path, sizeof(bad.path), "/tmp/vhu-hostile-bad-%d.sock", getpid());
	be_pool = vhu_pkt_pool_create("be", 2048, 2048);
	if (!be_pool)
		return 1;
	struct slot *s[2] = { &good, &bad };
	for (int i = 0; i < 2; i++) {
		if (vhu_driver_register(s[i]->path, flags) ||
		    vhu_driver_callback_register(s[i]->path, &ops, s[i]) ||
		    vhu_driver_start(s[i]->path))
			return 1;
	}
	pthread_create(&dt, NULL, data_thread, NULL);
	pthread_create(&gt, NULL, good_thread, NULL);
	for (double end = now() + 10; now() < end && __atomic_load_n(&good_rx, __ATOMIC_SEQ_CST) < 100;)
		usleep(1000);
	CHECK(__atomic_load_n(&good_rx, __ATOMIC_SEQ_CST) >= 100);

	bool all = !strcmp(group, "all");
#define GROUP(g) (all || !strcmp(group, g))
	if (GROUP("desc")) {
		case_buf_outside();
		case_buf_overflow();
		case_len0_unmapped();
		case_buf_straddle();
	}
	if (GROUP("ring")) {
		case_ring_addr();
		case_avail_jump();
		case_desc_id();
	}
	if (GROUP("chain")) {
		case_chain_loop();
		case_chain_long();
		case_indirect();
	}
	if (GROUP("align"))
		case_indirect_misaligned();
	if (GROUP("hdr")) {
		case_short_chain();
		case_bad_offload();
	}
	if (GROUP("race"))
		case_flip();
	if (GROUP("msg")) {
		case_msg_short_payload();
		case_msg_unknown();
		case_msg_vring_index();
		case_msg_vring_num();
		case_msg_fds();
		case_msg_features_running();
	}
	if (GROUP("mem")) {
		case_msg_repeat();
		case_msg_mem_table();
		case_msg_mem_reg();
	}
	if (GROUP("flood"))
		case_msg_flood();
	if (GROUP("iotlb"))
		case_iotlb();
	cur_case = "cases run";
	CHECK(cases > 0);

	cur_case = "teardown";
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(gt, NULL);
	pthread_join(dt, NULL);
	vhu_driver_unregister(good.path);
	vhu_driver_unregister(bad.path);
	vhu_loop_stop_thread();
	vhu_pkt_pool_destroy(be_pool);
	printf("hostile %s: %d cases, %d passed, %d failed\n", group, cases, passed, failed);
	return failed ? 1 : 0;
}
