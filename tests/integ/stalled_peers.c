/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * No peer can stall the control plane (issue 20). On one server socket,
 * raw connections stall mid-header, mid-payload, and with GET_FEATURES
 * sent over and over and the replies never read; after each, a second
 * device (the in-tree frontend) connects, negotiates and has a frame
 * bounced back by the backend within a second. The stalled ones are then
 * closed by the socket's I/O timeout (set to 1.5 s here), each with its
 * log line, and one that floods until its reply backlog is full is closed
 * at once. 1000 idle connections opened and closed leave the process's
 * fds exactly as they were and its RSS within 2 MiB (glibc keeps some
 * freed heap; under a sanitizer RSS is not checked, LeakSanitizer checks
 * leaks at exit instead). A socket limited to 4 connections refuses the
 * fifth with a log line and takes one again once they left. A
 * new_device that takes 150 ms is named in a log line. A client socket
 * whose server's listen queue is full starts at once (and retries).
 *
 * Slow callbacks hold only their own device: while device A's
 * new_device, destroy_device or vring_state_changed sleeps 2 s, device B
 * connects, negotiates and forwards within a second; A's answer comes
 * after its callback, and A then runs. A disconnect during A's slow
 * vring_state_changed gets destroy_device and destroy_connection once
 * each, in that order, after it returned; so does unregistering A's
 * socket during its slow new_device, which waits for it (B still served
 * meanwhile). Unregistering from A's own callback is refused.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vhu/frontend.h>
#include <vhu/vhu.h>
#include "check.h"
#include "log_capture.h"
#include "proc_self.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

#define IO_TIMEOUT_MS 1500
#define IDLE_CONNS 1000

static char path[64], lim_path[64], a_path[64];

/* ---- log lines, kept to be looked for --------------------------------- */
static void log_fn(enum vhu_log_level lvl, const char *msg, void *arg)
{
	(void)arg;
	if (lvl <= VHU_LOG_WARN)
		fprintf(stderr, "  log: %s\n", msg);
	log_keep(msg);
}

static bool wait_log(const char *sub, int ms)
{
	for (double end = now() + ms / 1000.0; now() < end; usleep(5000))
		if (log_has(0, sub))
			return true;
	return log_has(0, sub);
}

/* ---- the backend: counts connections, bounces running devices' frames -- */
#define SLOTS 4
#define SLOW_MS 2000
static struct vhu_dev *slot[SLOTS]; /* running devices, for the data thread */
static int busy, stop, conns;
static int slow_ms;            /* every new_device takes this long */
static struct vhu_pkt_pool *be_pool, *fe_pool;

/* The next connection is "A": its callbacks in slow_cbs sleep SLOW_MS
 * (once each), and its callbacks are written down in order in a_seq. */
enum { CB_NEW_DEV = 1, CB_DESTROY_DEV = 2, CB_VRING = 4 };
static int arm_a, slow_cbs, in_slow;
static char a_seq[32];
static pthread_mutex_t a_lock = PTHREAD_MUTEX_INITIALIZER;

static bool is_a(struct vhu_dev *d)
{
	return vhu_dev_get_priv(d) == (void *)&arm_a;
}

/* Notes callback `c` of A and sleeps when it is one to be slow. */
static void a_cb(struct vhu_dev *d, char c, int cb)
{
	if (!is_a(d))
		return;
	pthread_mutex_lock(&a_lock);
	size_t n = strlen(a_seq);
	if (n + 1 < sizeof(a_seq))
		a_seq[n] = c;
	pthread_mutex_unlock(&a_lock);
	if (__atomic_fetch_and(&slow_cbs, ~cb, __ATOMIC_SEQ_CST) & cb) {
		__atomic_store_n(&in_slow, cb, __ATOMIC_SEQ_CST);
		usleep(SLOW_MS * 1000);
		__atomic_store_n(&in_slow, 0, __ATOMIC_SEQ_CST);
	}
}

static int new_device(struct vhu_dev *d)
{
	usleep((useconds_t)__atomic_load_n(&slow_ms, __ATOMIC_SEQ_CST) * 1000);
	a_cb(d, 'N', CB_NEW_DEV);
	for (int i = 0; i < SLOTS; i++) {
		struct vhu_dev *none = NULL;
		if (__atomic_compare_exchange_n(&slot[i], &none, d, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return 0;
	}
	return -1;
}

static void destroy_device(struct vhu_dev *d)
{
	a_cb(d, 'D', CB_DESTROY_DEV);
	for (int i = 0; i < SLOTS; i++) {
		struct vhu_dev *me = d;
		__atomic_compare_exchange_n(&slot[i], &me, NULL, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
	}
	while (__atomic_load_n(&busy, __ATOMIC_SEQ_CST))
		usleep(10);
}

static int a_unreg_rc;

static int vring_state(struct vhu_dev *d, uint16_t vring, int enable)
{
	(void)vring;
	(void)enable;
	if (is_a(d) && !enable)
		__atomic_store_n(&a_unreg_rc, vhu_driver_unregister(vhu_dev_get_path(d)),
				 __ATOMIC_SEQ_CST);
	a_cb(d, 'V', CB_VRING);
	return 0;
}

static int new_conn(struct vhu_dev *d)
{
	if (__atomic_exchange_n(&arm_a, 0, __ATOMIC_SEQ_CST)) {
		vhu_dev_set_priv(d, &arm_a);
		a_cb(d, 'c', 0);
	}
	__atomic_add_fetch(&conns, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static void destroy_conn(struct vhu_dev *d)
{
	a_cb(d, 'C', 0);
	__atomic_sub_fetch(&conns, 1, __ATOMIC_SEQ_CST);
}

static const struct vhu_device_ops ops = {
	.new_device = new_device, .destroy_device = destroy_device,
	.vring_state_changed = vring_state,
	.new_connection = new_conn, .destroy_connection = destroy_conn,
};

static void *data_thread(void *arg)
{
	struct vhu_pkt *pkts[32];
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) {
		uint16_t got = 0;
		__atomic_store_n(&busy, 1, __ATOMIC_SEQ_CST);
		for (int i = 0; i < SLOTS; i++) {
			struct vhu_dev *d = __atomic_load_n(&slot[i], __ATOMIC_SEQ_CST);
			uint16_t n = d ? vhu_dequeue_burst(d, VHU_VRING_TX(0), be_pool, pkts, 32) : 0;
			if (n) {
				vhu_enqueue_burst(d, VHU_VRING_RX(0), pkts, n);
				vhu_pkt_free_bulk(pkts, n);
			}
			got += n;
		}
		__atomic_store_n(&busy, 0, __ATOMIC_SEQ_CST);
		if (!got)
			usleep(100);
	}
	return NULL;
}

static bool wait_conns(int want, int ms)
{
	for (double end = now() + ms / 1000.0; now() < end; usleep(1000))
		if (__atomic_load_n(&conns, __ATOMIC_SEQ_CST) == want)
			return true;
	return false;
}

static int raw_connect(const char *p)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", p);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_hdr(int fd, uint32_t req, uint32_t size, uint32_t payload_sent)
{
	uint8_t buf[12 + 64] = { 0 };
	uint32_t hd[3] = { req, 1 /* version */, size };
	memcpy(buf, hd, 12);
	CHECK(send(fd, buf, 12 + payload_sent, MSG_NOSIGNAL) == (ssize_t)(12 + payload_sent),
	      "send: %s", strerror(errno));
}

/* One frame out and back through fe's device within 3 s; its time. */
static double bounce(struct vhu_fe *fe, double t0)
{
	struct vhu_pkt *tx = vhu_pkt_alloc(fe_pool), *rx[4];
	uint8_t *p = tx ? vhu_pkt_append(tx, 64) : NULL;
	if (p) {
		memset(p, 0x5a, 64);
		memcpy(p, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x88\xb5", 14);
	}
	bool sent = p && vhu_fe_send_burst(fe, 0, &tx, 1) == 1, back = false;
	vhu_pkt_free(tx);
	while (sent && !back && now() - t0 < 3) {
		uint16_t n = vhu_fe_recv_burst(fe, 0, fe_pool, rx, 4);
		for (uint16_t i = 0; i < n; i++) {
			uint8_t got[64];
			back |= rx[i]->pkt_len == 64 && vhu_pkt_read(rx[i], 0, got, 64) == 64 &&
				got[63] == 0x5a;
		}
		vhu_pkt_free_bulk(rx, n);
		if (!back)
			usleep(200);
	}
	return back ? now() - t0 : -1;
}

/* The second device: connect, negotiate, one frame out and back, all
 * within a second. */
static void good_round(const char *while_what)
{
	struct vhu_fe_opts o = { .path = path, .connect_timeout_ms = 3000 };
	int c0 = __atomic_load_n(&conns, __ATOMIC_SEQ_CST);
	double t0 = now();

	struct vhu_fe *fe = vhu_fe_create(&o);
	CHECK(fe != NULL, "frontend could not connect while %s", while_what);
	if (!fe)
		return;
	double t_neg = now() - t0, t_fwd = bounce(fe, t0);
	printf("RESULT while %s: negotiated in %.3f s, frame back in %.3f s\n", while_what,
	       t_neg, t_fwd);
	CHECK(t_fwd >= 0, "no frame back while %s", while_what);
	CHECK(t_fwd < 1.0, "%.3f s while %s", t_fwd, while_what);
	vhu_fe_destroy(fe);
	CHECK(wait_conns(c0, 3000), "frontend's device not gone");
}

static void stalls(void)
{
	double t0 = now();

	/* 6 bytes of a 12-byte header */
	int h = raw_connect(path);
	CHECK(h >= 0 && send(h, "\x01\0\0\0\x01\0", 6, MSG_NOSIGNAL) == 6, "mid-header");
	CHECK(wait_conns(1, 2000), "stalled connection not seen");
	good_round("one connection stalls mid-header");

	int pl = raw_connect(path);
	CHECK(pl >= 0, "connect");
	send_hdr(pl, 8 /* SET_VRING_NUM */, 8, 4);
	CHECK(wait_conns(2, 2000), "stalled connection not seen");
	good_round("another stalls mid-payload");
	CHECK(__atomic_load_n(&conns, __ATOMIC_SEQ_CST) == 2, "a stalled one went early");

	/* 2000 replies of 20 bytes: more than the socket buffer takes,
	 * less than the backlog bound: only the time bound closes it. */
	int rd = raw_connect(path);
	CHECK(rd >= 0, "connect");
	int sent = 0;
	for (double end = now() + 2; sent < 2000 && now() < end;) {
		uint32_t hd[3] = { 1 /* GET_FEATURES */, 1, 0 };
		if (send(rd, hd, 12, MSG_NOSIGNAL | MSG_DONTWAIT) == 12)
			sent++;
		else
			usleep(100);
	}
	CHECK(sent == 2000, "only %d GET_FEATURES sent", sent);
	CHECK(wait_conns(3, 2000), "stalled connection not seen");
	good_round("a third sends GET_FEATURES and reads no reply");

	/* All three go after the I/O timeout (their lines say how long they
	 * waited), not at once. */
	CHECK(now() - t0 >= IO_TIMEOUT_MS / 1000.0 ||
	      __atomic_load_n(&conns, __ATOMIC_SEQ_CST) == 3, "a stalled one went early");
	CHECK(wait_conns(0, IO_TIMEOUT_MS + 2000), "stalled connections still open");
	double dt = now() - t0;
	printf("RESULT stalled connections closed %.2f s after they began (timeout %.1f s)\n",
	       dt, IO_TIMEOUT_MS / 1000.0);
	CHECK(dt >= IO_TIMEOUT_MS / 1000.0, "closed after %.2f s", dt);
	CHECK(wait_log("message header truncated (6 of 12 bytes) for", 1000), "header line");
	CHECK(wait_log("SET_VRING_NUM: payload truncated (4 of 8 bytes) for", 1000), "payload line");
	CHECK(wait_log("replies unread for", 1000), "replies line");
	close(h);
	close(pl);
	close(rd);

	/* One that floods without reading fills its backlog: closed then. */
	int fl = raw_connect(path);
	CHECK(fl >= 0, "connect");
	double f0 = now();
	int n = 0;
	for (; n < 200000 && now() - f0 < 5; n++) {
		uint32_t hd[3] = { 1, 1, 0 };
		ssize_t r = send(fl, hd, 12, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0 && errno == EAGAIN) {
			usleep(500);
			continue;
		}
		if (r != 12)
			break; /* closed by the backend */
	}
	CHECK(wait_log("cannot reply to GET_FEATURES: the peer leaves", 2000), "backlog line");
	CHECK(wait_conns(0, 2000), "flooding connection still open");
	printf("RESULT flood of unread GET_FEATURES closed after %d messages, %.2f s\n", n,
	       now() - f0);
	close(fl);
}

/* ---- slow callbacks ---------------------------------------------------- */
static struct vhu_fe *a_fe;
static double a_took;

static void *a_create(void *arg)
{
	struct vhu_fe_opts o = { .path = arg, .connect_timeout_ms = 3000 };
	double t0 = now();
	a_fe = vhu_fe_create(&o);
	a_took = now() - t0;
	return NULL;
}

static void *a_destroy(void *arg)
{
	double t0 = now();
	(void)arg;
	vhu_fe_destroy(a_fe);
	a_fe = NULL;
	a_took = now() - t0;
	return NULL;
}

static bool wait_slow(int cb)
{
	for (double end = now() + 3; now() < end; usleep(1000))
		if (__atomic_load_n(&in_slow, __ATOMIC_SEQ_CST) == cb)
			return true;
	return false;
}

static void a_reset(int cbs)
{
	pthread_mutex_lock(&a_lock);
	memset(a_seq, 0, sizeof(a_seq));
	pthread_mutex_unlock(&a_lock);
	__atomic_store_n(&slow_cbs, cbs, __ATOMIC_SEQ_CST);
	__atomic_store_n(&arm_a, 1, __ATOMIC_SEQ_CST);
}

static bool a_seq_is(const char *want)
{
	pthread_mutex_lock(&a_lock);
	bool same = !strcmp(a_seq, want);
	if (!same)
		printf("  A's callbacks: %s, expected %s\n", a_seq, want);
	pthread_mutex_unlock(&a_lock);
	return same;
}

/* A's new_device sleeps: B goes through meanwhile, A's last acks come
 * after it, then A forwards. A's destroy_device sleeps: the same, A's
 * GET_VRING_BASE answered after it. */
static void slow_new_destroy(void)
{
	pthread_t th;
	int c0 = __atomic_load_n(&conns, __ATOMIC_SEQ_CST);

	a_reset(CB_NEW_DEV | CB_DESTROY_DEV);
	pthread_create(&th, NULL, a_create, path);
	CHECK(wait_slow(CB_NEW_DEV), "A's new_device not called");
	good_round("A's new_device sleeps 2 s");
	CHECK(__atomic_load_n(&in_slow, __ATOMIC_SEQ_CST) == CB_NEW_DEV,
	      "A's new_device returned before B was through");
	pthread_join(th, NULL);
	printf("RESULT A's setup took %.2f s (its new_device %d ms)\n", a_took, SLOW_MS);
	CHECK(a_fe != NULL, "A's frontend failed");
	if (!a_fe)
		return;
	CHECK(a_took >= SLOW_MS / 1000.0, "A's acks came before its new_device returned");
	double t = bounce(a_fe, now());
	CHECK(t >= 0, "A forwards nothing after its slow new_device");

	pthread_create(&th, NULL, a_destroy, NULL);
	CHECK(wait_slow(CB_DESTROY_DEV), "A's destroy_device not called");
	good_round("A's destroy_device sleeps 2 s");
	pthread_join(th, NULL);
	printf("RESULT A's stop took %.2f s (its destroy_device %d ms)\n", a_took, SLOW_MS);
	CHECK(a_took >= SLOW_MS / 1000.0, "A's GET_VRING_BASE answered before destroy_device "
	      "returned");
	CHECK(wait_conns(c0, 3000), "A not gone");
	CHECK(a_seq_is("cNDC"), "A's callbacks out of order");
}

/* vring_state_changed sleeps: B through meanwhile, A's ack after it.
 * Then once more, A disconnecting while it sleeps. */
static void slow_vring(void)
{
	struct vhu_fe_opts o = { .path = path, .connect_timeout_ms = 3000 };
	uint32_t st[2] = { VHU_VRING_RX(0), 0 }; /* struct vhost_vring_state */
	int c0 = __atomic_load_n(&conns, __ATOMIC_SEQ_CST);
	uint64_t ack = 1;
	uint32_t req = 0;

	for (int round = 0; round < 2; round++) {
		a_reset(CB_VRING);
		struct vhu_fe *fe = vhu_fe_create(&o);
		CHECK(fe != NULL, "A's frontend failed");
		if (!fe)
			return;
		double t0 = now();
		/* SET_VRING_ENABLE with NEED_REPLY */
		st[1] = 0;
		CHECK(vhu_fe_send_raw(fe, 18, 1u << 3, st, sizeof(st), NULL, 0) == 0, "send");
		CHECK(wait_slow(CB_VRING), "A's vring_state_changed not called");
		CHECK(__atomic_load_n(&a_unreg_rc, __ATOMIC_SEQ_CST) == -EDEADLK,
		      "unregister from A's own callback: %d", a_unreg_rc);
		if (round == 1) {
			/* Gone while its callback sleeps: stopped and closed after. */
			shutdown(vhu_fe_sock(fe), SHUT_RDWR);
			good_round("A left during its vring_state_changed");
			CHECK(a_seq_is("cNV"), "A stopped before its callback returned");
			CHECK(wait_conns(c0, 3000), "A not gone");
			CHECK(a_seq_is("cNVDC"), "A's close out of order");
			vhu_fe_destroy(fe);
			break;
		}
		good_round("A's vring_state_changed sleeps 2 s");
		CHECK(vhu_fe_recv_raw(fe, &req, &ack, sizeof(ack), 3000) == 8 && req == 18 &&
		      ack == 0, "A's ack");
		printf("RESULT A's SET_VRING_ENABLE acked after %.2f s (its callback %d ms)\n",
		       now() - t0, SLOW_MS);
		CHECK(now() - t0 >= SLOW_MS / 1000.0, "acked before the callback returned");
		st[1] = 1;
		CHECK(vhu_fe_send_raw(fe, 18, 1u << 3, st, sizeof(st), NULL, 0) == 0 &&
		      vhu_fe_recv_raw(fe, &req, &ack, sizeof(ack), 3000) == 8 && ack == 0,
		      "A's vring enabled again");
		CHECK(bounce(fe, now()) >= 0, "A forwards nothing after its slow callback");
		vhu_fe_destroy(fe);
		CHECK(wait_conns(c0, 3000), "A not gone");
	}
}

static double un_took;
static int un_rc;

static void *a_unregister(void *arg)
{
	double t0 = now();
	(void)arg;
	un_rc = vhu_driver_unregister(a_path);
	un_took = now() - t0;
	return NULL;
}

/* A's socket unregistered while A's new_device sleeps: it waits for it,
 * then destroy_device and destroy_connection; B is served meanwhile. */
static void slow_unregister(void)
{
	pthread_t fe_th, un_th;

	CHECK(vhu_driver_register(a_path, 0) == 0 &&
	      vhu_driver_callback_register(a_path, &ops, NULL) == 0 &&
	      vhu_driver_start(a_path) == 0, "A's socket");
	a_reset(CB_NEW_DEV);
	pthread_create(&fe_th, NULL, a_create, a_path);
	CHECK(wait_slow(CB_NEW_DEV), "A's new_device not called");
	pthread_create(&un_th, NULL, a_unregister, NULL);
	good_round("A's socket is unregistered during its slow new_device");
	pthread_join(un_th, NULL);
	printf("RESULT unregister during a slow new_device took %.2f s\n", un_took);
	CHECK(un_rc == 0, "unregister A's socket: %d", un_rc);
	CHECK(un_took >= 1.0, "unregister did not wait for the callback (%.2f s)", un_took);
	CHECK(a_seq_is("cNDC"), "A's close out of order");
	pthread_join(fe_th, NULL);
	vhu_fe_destroy(a_fe);
	a_fe = NULL;
}

/* ---- resources --------------------------------------------------------- */
static int fd_count(void)
{
	return count_dir("/proc/self/fd");
}

static long rss_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* conns reaches 0 in destroy_connection, before the library closes and
 * frees: wait for the fds to settle too (the I/O timeout's timer goes
 * within 0.1 s of its last waiting connection). */
static int fd_settled(void)
{
	int n = fd_count();
	for (int same = 0, i = 0; same < 20 && i < 300; i++, usleep(10000)) {
		int m = fd_count();
		same = m == n ? same + 1 : 0;
		n = m;
	}
	return n;
}

static void idle_conns(void)
{
	static int fds[IDLE_CONNS];
	int fd0 = fd_settled();
	long rss0 = rss_kib();
	double t0 = now();

	for (int i = 0; i < IDLE_CONNS; i++) {
		fds[i] = raw_connect(path);
		CHECK(fds[i] >= 0, "connection %d: %s", i, strerror(errno));
	}
	CHECK(wait_conns(IDLE_CONNS, 10000), "%d of %d connections seen",
	      __atomic_load_n(&conns, __ATOMIC_SEQ_CST), IDLE_CONNS);
	int fd_peak = fd_count();
	long rss_peak = rss_kib();
	good_round("1000 idle connections are open");
	for (int i = 0; i < IDLE_CONNS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	CHECK(wait_conns(0, 10000), "%d connections left", __atomic_load_n(&conns, __ATOMIC_SEQ_CST));
	int fd1 = fd_settled();
	long rss1 = rss_kib();
	printf("RESULT %d idle connections in %.2f s: fds %d -> %d -> %d, RSS %ld -> %ld -> %ld KiB\n",
	       IDLE_CONNS, now() - t0, fd0, fd_peak, fd1, rss0, rss_peak, rss1);
	CHECK(fd_peak >= fd0 + 2 * IDLE_CONNS, "fds at the peak %d", fd_peak);
	CHECK(fd1 == fd0, "fds %d -> %d", fd0, fd1);
	if (!SANITIZED)
		CHECK(rss1 <= rss0 + 2048, "RSS %ld -> %ld KiB", rss0, rss1);
}

static void limit(void)
{
	int fds[4], extra;
	char buf[8];

	CHECK(vhu_driver_register(lim_path, 0) == 0, "register");
	CHECK(vhu_driver_set_max_connections(lim_path, 0) == -EINVAL, "0 connections");
	CHECK(vhu_driver_set_max_connections(lim_path, 4) == 0, "set limit");
	CHECK(vhu_driver_callback_register(lim_path, &ops, NULL) == 0, "callbacks");
	CHECK(vhu_driver_start(lim_path) == 0, "start");
	for (int i = 0; i < 4; i++)
		fds[i] = raw_connect(lim_path);
	CHECK(wait_conns(4, 3000), "4 connections not taken");
	extra = raw_connect(lim_path);
	/* accepted and closed at once: EOF */
	struct timeval tv = { .tv_sec = 3 };
	setsockopt(extra, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CHECK(extra >= 0 && recv(extra, buf, sizeof(buf), 0) == 0, "fifth not closed");
	CHECK(wait_log("connection refused: 4 connections already, the limit", 1000),
	      "limit line");
	CHECK(__atomic_load_n(&conns, __ATOMIC_SEQ_CST) == 4, "conns %d", conns);
	close(extra);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	CHECK(wait_conns(0, 3000), "limited connections left");
	extra = raw_connect(lim_path);
	CHECK(wait_conns(1, 3000), "not taken again below the limit");
	close(extra);
	CHECK(wait_conns(0, 3000), "last one left");
	CHECK(vhu_driver_unregister(lim_path) == 0, "unregister");
}

/* A client socket whose server never accepts (its listen queue full):
 * the connect is retried, nobody waits on it. */
static void deaf_server(void)
{
	char deaf[64];
	int fills[64], nf = 0;
	struct sockaddr_un un = { .sun_family = AF_UNIX };

	snprintf(deaf, sizeof(deaf), "/tmp/vhu-stall-deaf-%d.sock", getpid());
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", deaf);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(l >= 0 && bind(l, (struct sockaddr *)&un, sizeof(un)) == 0 && listen(l, 0) == 0,
	      "deaf server: %s", strerror(errno));
	while (nf < 64) {
		int f = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (connect(f, (struct sockaddr *)&un, sizeof(un)) < 0) {
			close(f);
			break;
		}
		fills[nf++] = f;
	}
	CHECK(nf < 64, "the listen queue never filled");
	double t0 = now();
	CHECK(vhu_driver_register(deaf, VHU_CLIENT) == 0, "register client");
	CHECK(vhu_driver_start(deaf) == 0, "start client");
	printf("RESULT client start toward a full listen queue: %.3f s\n", now() - t0);
	CHECK(now() - t0 < 0.5, "client start waited %.3f s", now() - t0);
	good_round("a client socket's server never accepts");
	CHECK(vhu_driver_unregister(deaf) == 0, "unregister client");
	for (int i = 0; i < nf; i++)
		close(fills[i]);
	close(l);
	unlink(deaf);
}

int main(void)
{
	pthread_t th;

	setvbuf(stdout, NULL, _IOLBF, 0);
	vhu_log_set_handler(log_fn, NULL);
	snprintf(path, sizeof(path), "/tmp/vhu-stall-%d.sock", getpid());
	snprintf(lim_path, sizeof(lim_path), "/tmp/vhu-stall-lim-%d.sock", getpid());
	snprintf(a_path, sizeof(a_path), "/tmp/vhu-stall-a-%d.sock", getpid());
	be_pool = vhu_pkt_pool_create("stall-be", 256, 2048);
	fe_pool = vhu_pkt_pool_create("stall-fe", 64, 2048);
	CHECK(be_pool && fe_pool, "pools");
	CHECK(vhu_driver_register(path, 0) == 0, "register");
	CHECK(vhu_driver_set_io_timeout(path, 50) == -EINVAL, "timeout too small");
	CHECK(vhu_driver_set_io_timeout(path, IO_TIMEOUT_MS) == 0, "timeout");
	CHECK(vhu_driver_callback_register(path, &ops, NULL) == 0, "callbacks");
	CHECK(vhu_driver_start(path) == 0, "start");
	pthread_create(&th, NULL, data_thread, NULL);

	good_round("nothing stalls");
	/* A slow callback holds its device (docs/architecture.md): it is not
	 * hidden. */
	__atomic_store_n(&slow_ms, 150, __ATOMIC_SEQ_CST);
	good_round("new_device takes 150 ms");
	__atomic_store_n(&slow_ms, 0, __ATOMIC_SEQ_CST);
	CHECK(wait_log("the application's new_device took", 1000), "slow callback line");
	slow_new_destroy();
	slow_vring();
	slow_unregister();
	stalls();
	idle_conns();
	limit();
	deaf_server();

	CHECK(vhu_driver_unregister(path) == 0, "unregister");
	__atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(th, NULL);
	vhu_loop_stop_thread();
	vhu_pkt_pool_destroy(be_pool);
	vhu_pkt_pool_destroy(fe_pool);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
