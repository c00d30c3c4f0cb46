/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * INFLIGHT_SHMFD end to end: one in-tree frontend, and libvhu backends
 * that crash mid-burst and are restarted on the same socket.
 *
 * The parent plays the guest: one frontend that stays up throughout. Each
 * backend is a child process (fork) serving the socket with libvhu, told
 * by the parent when to start bursting. A crashing child dequeues D
 * packets (completed in the used ring, each reported to the parent), then
 * does the first half of one more burst with the library's own calls --
 * vhu_split_avail_head(), which marks the heads in the inflight region,
 * and the chain walks -- and stops where a burst would stop if the
 * process died before writing used entries; the parent kills it with
 * SIGKILL there. (A real burst completes what it takes before it returns,
 * so no public call can be interrupted at that point; this is the same
 * state, reached through the internal functions, as tests/unit does.)
 * The frontend then reconnects to the next child (vhu_fe_reconnect:
 * SET_INFLIGHT_FD with the region the first backend gave, then memory
 * table and vrings), which resumes; after CRASHES crashes the last child
 * drains the ring, with a last batch sent after all the restarts.
 *
 * Every packet is posted before the first backend starts and the frontend
 * reclaims nothing until the last batch, so at each restart the base it
 * sends (the used index or position it has seen) lags where the backend
 * really stopped: what the region is for. With the region every packet
 * must reach the backends exactly once in total. Without it (the frontend
 * does not negotiate INFLIGHT_SHMFD) the same run must show packets lost
 * or repeated: the proof that the check covers the mechanism.
 *
 * Who recovers: a split vring's base is always the frontend's own view,
 * so there the backend's recovery (vhu_inflight_recover) does the work.
 * On a packed vring the frontend takes its base from the region; the run
 * "on-own-base" hides the region's mapping from the frontend for the
 * reconnections (the fd still goes over with SET_INFLIGHT_FD), so that
 * there too only the backend's recovery can bring the ring back. The
 * children report their "resuming at" log lines to tell the two apart.
 *
 * --hostile: the frontend against a fake backend (a thread speaking the
 * protocol by hand) that answers GET_INFLIGHT_FD with sizes, offsets and
 * fds no region could have, and writes nonsense into a region before a
 * reconnection. The frontend must refuse cleanly (no crash, no fd kept)
 * or ignore what it read, and otherwise carry on.
 *
 * Packed vrings have a second mechanism: without a region the backend
 * reads its position off the ring (vhu_packed_resync). "off-resync" runs
 * without the region and with it: exactly once again. "off" turns both
 * off (VHU_NO_RING_RESYNC) and must lose or repeat packets.
 *
 * Usage: inflight [--packed 0|1] [--mode on|on-own-base|off|off-resync|all] [-v]
 *        inflight --hostile [-v]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <vhu/frontend.h>
#include <vhu/vhu.h>
#include "backend/dev.h"
#include "frontend/fe_priv.h"
#include "proto/wire.h"
#include "vq/inflight.h"
#include "vq/vq.h"
#include "check.h"

#define RING      256u
#define PKT_LEN   200u
#define FIRST     192u /* posted before the first backend starts */
#define LAST      32u  /* posted after the last restart */
#define TOTAL     (FIRST + LAST)
#define DEQ       64u  /* completed by each crashing backend */
#define TAKE      16u  /* then taken and never completed */
#define CRASHES   2

/* Child to parent: one record per event; whole records, so a pipe write
 * of one is atomic. */
enum { R_PKT = 'P', R_BAD = 'X', R_REGION = 'I', R_RESUME = 'R', R_TAKEN = 'T',
       R_END = 'E' };
enum mode { M_ON, M_ON_OWN_BASE, M_OFF, M_RESYNC };
static const char *const mode_name[] = { "on", "on-own-base", "off", "off-resync" };
/* Backends of "on", "on-own-base" and "off" run with VHU_NO_RING_RESYNC:
 * on a packed vring the ring resync alone (mode "off-resync") recovers
 * from these crashes too, as every buffer takes one slot and libvhu
 * completes in order, so it would hide a region that does not work. */
static uint64_t be_reg_flags;
struct rec {
	uint8_t type;
	uint32_t val;
} __attribute__((packed));

static int verbose;

static const char *who = "fe";
static int be_rep = -1; /* in a backend child: its report pipe */
static void report(int fd, uint8_t type, uint32_t val);

static void log_fn(enum vhu_log_level lvl, const char *msg, void *arg)
{
	(void)arg;
	if (lvl <= VHU_LOG_INFO || verbose)
		fprintf(stderr, "  [%s] %s\n", who, msg);
	/* vhu_inflight_recover() moved a vring away from the base it got. */
	if (be_rep >= 0 && strstr(msg, "resuming at"))
		report(be_rep, R_RESUME, 1);
}

/* Payload: an Ethernet header, seq, length, then bytes derived from both
 * (as tests/integ/loopback.c). */
static void fill(uint8_t *p, uint32_t len, uint32_t seq)
{
	memset(p, 0, 14);
	memcpy(p, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(p + 6, "\x02\x00\x00\x00\x00\x02", 6);
	p[12] = 0x88;
	p[13] = 0xb5;
	memcpy(p + 14, &seq, 4);
	memcpy(p + 18, &len, 4);
	for (uint32_t i = 22; i < len; i++)
		p[i] = (uint8_t)(seq * 31 + i * 7);
}

static int check_pkt(const struct vhu_pkt *pkt, uint32_t *seq)
{
	uint8_t buf[PKT_LEN], want[PKT_LEN];
	uint32_t l;

	if (pkt->pkt_len != PKT_LEN)
		return -1;
	vhu_pkt_read(pkt, 0, buf, PKT_LEN);
	memcpy(seq, buf + 14, 4);
	memcpy(&l, buf + 18, 4);
	if (l != PKT_LEN || *seq >= TOTAL)
		return -1;
	fill(want, PKT_LEN, *seq);
	return memcmp(buf, want, PKT_LEN) ? -1 : 0;
}

/* ---- the backend child ---------------------------------------------------- */

static struct vhu_dev *be_dev;

static int be_new_device(struct vhu_dev *dev)
{
	__atomic_store_n(&be_dev, dev, __ATOMIC_RELEASE);
	return 0;
}

/* Bursts run on the child's main thread only between 'G' and its report,
 * while the frontend is idle; the device stops only at the end, after the
 * bursts, so there is nothing to wait for here. */
static void be_destroy_device(struct vhu_dev *dev)
{
	(void)dev;
	__atomic_store_n(&be_dev, NULL, __ATOMIC_RELEASE);
}

static void report(int fd, uint8_t type, uint32_t val)
{
	struct rec r = { .type = type, .val = val };
	if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(5);
}

/* Waits up to timeout_s for one command byte. */
static int wait_cmd(int fd, double timeout_s)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t c;

	if (poll(&p, 1, (int)(timeout_s * 1000)) <= 0 || read(fd, &c, 1) != 1)
		return -1;
	return c;
}

/* Dequeues up to max packets, reporting each; stops after idle_s without
 * one, or at the deadline. */
static uint32_t be_drain(struct vhu_dev *dev, struct vhu_pkt_pool *pool, int rep,
			 uint32_t max, double idle_s, double deadline)
{
	uint32_t got = 0;
	double last = now();

	while (got < max && now() - last < idle_s && now() < deadline) {
		struct vhu_pkt *pkts[32];
		uint16_t want = (uint16_t)(max - got < 32 ? max - got : 32);
		uint16_t n = vhu_dequeue_burst(dev, VHU_VRING_TX(0), pool, pkts, want);
		for (uint16_t i = 0; i < n; i++) {
			uint32_t seq;
			if (check_pkt(pkts[i], &seq) == 0)
				report(rep, R_PKT, seq);
			else
				report(rep, R_BAD, 0);
		}
		vhu_pkt_free_bulk(pkts, n);
		got += n;
		if (n)
			last = now();
		else
			usleep(200);
	}
	return got;
}

/* The first half of a burst: take up to n buffers as vhu_split_dequeue()
 * and vhu_packed_dequeue() do (heads marked in the inflight region, chains
 * walked), then neither copy nor complete them. */
static uint32_t be_take(struct vhu_dev *dev, uint32_t n)
{
	struct vhu_vq *vq = dev->vq[VHU_VRING_TX(0)];
	uint32_t i = 0, niov, total;

	if (!vq)
		return 0;
	vhu_spin_lock(&vq->lock);
	if (vq->active && vhu_vq_packed(vq)) {
		struct vhu_packed_pos pos = { vq->last_avail_idx, vq->avail_wrap };
		uint16_t id, ndesc;
		for (; i < n; i++)
			if (vhu_packed_chain(vq, &pos, false, vq->iov, &niov, VHU_MAX_IOV, &total,
					     &id, &ndesc) != VHU_CHAIN_OK)
				break;
	} else if (vq->active) {
		uint16_t avail = vhu_split_avail_count(vq), head;
		for (; i < n && i < avail; i++)
			if (!vhu_split_avail_head(vq, (uint16_t)i, &head) ||
			    vhu_split_chain(vq, head, false, vq->iov, &niov, VHU_MAX_IOV,
					    &total) != VHU_CHAIN_OK)
				break;
	}
	vhu_spin_unlock(&vq->lock);
	return i;
}

static void backend_child(const char *path, int idx, bool crash, int cmd, int rep)
{
	static char name[16];
	struct vhu_device_ops ops = { .new_device = be_new_device,
				      .destroy_device = be_destroy_device };
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("be", 1024, 2048);
	struct vhu_dev *dev = NULL;
	double t0;

	snprintf(name, sizeof(name), "be%d", idx);
	who = name;
	be_rep = rep;
	if (!pool || vhu_driver_register(path, be_reg_flags) ||
	    vhu_driver_callback_register(path, &ops, NULL) || vhu_driver_start(path))
		_exit(2);
	if (wait_cmd(cmd, 20) != 'G')
		_exit(3);
	for (t0 = now(); !(dev = __atomic_load_n(&be_dev, __ATOMIC_ACQUIRE)) && now() - t0 < 5;)
		usleep(1000);
	if (!dev)
		_exit(3);
	vhu_ctl_lock();
	bool region = dev->inflight_map != NULL;
	vhu_ctl_unlock();
	report(rep, R_REGION, region);
	if (crash) {
		/* D packets (fewer if the ring shows none for a second). */
		be_drain(dev, pool, rep, DEQ, 1.0, now() + 10);
		report(rep, R_TAKEN, be_take(dev, TAKE));
		/* Dead from here on: the parent sends SIGKILL. */
		for (int i = 0; i < 300; i++)
			usleep(100000);
		_exit(4);
	}
	uint32_t got = be_drain(dev, pool, rep, UINT32_MAX, 0.3, now() + 15);
	report(rep, R_END, got);
	wait_cmd(cmd, 20); /* 'Q', after the frontend stopped the device */
	vhu_driver_unregister(path);
	vhu_loop_stop_thread();
	vhu_pkt_pool_destroy(pool);
	exit(0);
}

/* ---- the parent: frontend and bookkeeping -------------------------------- */

struct child {
	pid_t pid;
	int cmd; /* we write */
	int rep; /* we read */
};

struct tally {
	uint32_t count[TOTAL];
	uint32_t bad;
	uint32_t regions;  /* backends that had an inflight region */
	uint32_t resumed;  /* vrings a backend moved off the base it was given */
	uint32_t taken;    /* taken and never completed, over the crashes */
};

static int spawn(const char *path, int idx, bool crash, struct child *c)
{
	int cp[2] = { -1, -1 }, rp[2] = { -1, -1 };

	fflush(stdout);
	fflush(stderr);
	if (pipe2(cp, O_CLOEXEC) < 0 || pipe2(rp, O_CLOEXEC) < 0 || (c->pid = fork()) < 0) {
		for (int i = 0; i < 2; i++) {
			if (cp[i] >= 0)
				close(cp[i]);
			if (rp[i] >= 0)
				close(rp[i]);
		}
		return -1;
	}
	if (c->pid == 0) {
		close(cp[1]);
		close(rp[0]);
		backend_child(path, idx, crash, cp[0], rp[1]);
		_exit(1);
	}
	close(cp[0]);
	close(rp[1]);
	c->cmd = cp[1];
	c->rep = rp[0];
	return 0;
}

static void reap(struct child *c, bool kill_it, int *status)
{
	double t0 = now();
	int st = -1;

	if (kill_it)
		kill(c->pid, SIGKILL);
	while (waitpid(c->pid, &st, WNOHANG) == 0) {
		if (now() - t0 > 10) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &st, 0);
			break;
		}
		usleep(1000);
	}
	close(c->cmd);
	close(c->rep);
	c->pid = -1;
	if (status)
		*status = st;
}

/* Reads the child's records until one of type `until` (its value in
 * *val); 0, or -1 on timeout or a child gone early. */
static int collect(struct child *c, struct tally *t, uint8_t until, uint32_t *val,
		   double timeout_s)
{
	double end = now() + timeout_s;

	for (;;) {
		struct pollfd p = { .fd = c->rep, .events = POLLIN };
		struct rec r;
		int ms = (int)((end - now()) * 1000);

		if (ms <= 0 || poll(&p, 1, ms) <= 0)
			return -1;
		if (read(c->rep, &r, sizeof(r)) != (ssize_t)sizeof(r))
			return -1;
		switch (r.type) {
		case R_PKT:
			if (r.val < TOTAL)
				t->count[r.val]++;
			break;
		case R_BAD:
			t->bad++;
			break;
		case R_REGION:
			t->regions += r.val;
			break;
		case R_RESUME:
			t->resumed += r.val;
			break;
		}
		if (r.type == until) {
			*val = r.val;
			return 0;
		}
	}
}

static int send_cmd(struct child *c, uint8_t cmd)
{
	return write(c->cmd, &cmd, 1) == 1 ? 0 : -1;
}

/* Posts n numbered packets from seq; the frontend reclaims what it sees
 * completed first. Returns how many went out. */
static uint32_t post(struct vhu_fe *fe, struct vhu_pkt_pool *pool, uint32_t seq, uint32_t n)
{
	uint32_t sent = 0;

	for (int tries = 0; sent < n && tries < 100; tries++) {
		struct vhu_pkt *tx[32];
		uint32_t k = n - sent < 32 ? n - sent : 32;
		if (vhu_pkt_alloc_bulk(pool, tx, k) < 0)
			break;
		for (uint32_t i = 0; i < k; i++)
			fill(vhu_pkt_append(tx[i], PKT_LEN), PKT_LEN, seq + sent + i);
		sent += vhu_fe_send_burst(fe, 0, tx, (uint16_t)k);
		vhu_pkt_free_bulk(tx, k);
	}
	return sent;
}

/* M_ON_OWN_BASE: the frontend cannot see the region's mapping during the
 * reconnection, so it sends its own (stale) packed base; it still hands
 * the region over (that takes the fd, not the mapping). */
static int reconnect(struct vhu_fe *fe, enum mode m)
{
	uint8_t *map = fe->inflight.map;
	int r;

	if (m == M_ON_OWN_BASE)
		fe->inflight.map = NULL;
	r = vhu_fe_reconnect(fe);
	fe->inflight.map = map;
	return r;
}

/* One run; returns lost + repeated packets, or -1 when the run itself
 * broke (a step failed or timed out). */
static long run(bool packed, enum mode m)
{
	const char *name = packed ? "packed" : "split";
	bool inflight = m != M_OFF && m != M_RESYNC;
	struct tally t;
	struct child c;
	char path[64];
	uint32_t v;
	int st;

	memset(&t, 0, sizeof(t));
	snprintf(path, sizeof(path), "/tmp/vhu-inflight-%d.sock", getpid());
	printf("== %s rings, inflight %s\n", name, mode_name[m]);
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("fe", 256, 2048);
	if (!pool || spawn(path, 0, true, &c) < 0)
		return -1;

	struct vhu_fe_opts o = {
		.path = path, .packed = packed, .inflight = inflight, .poll_mode = true,
		.ring_size = RING, .mem_size = 16u << 20, .connect_timeout_ms = 5000,
	};
	struct vhu_fe *fe = vhu_fe_create(&o);
	long ret = -1;
	if (!fe) {
		fprintf(stderr, "frontend cannot connect: %s\n", strerror(errno));
		reap(&c, true, NULL);
		goto out;
	}
	bool got_packed = vhu_fe_features(fe) & (1ULL << VIRTIO_F_RING_PACKED);
	bool got_inflight = (vhu_fe_protocol_features(fe) >> 12) & 1; /* INFLIGHT_SHMFD */
	CHECK(got_packed == packed, "packed rings %s", got_packed ? "negotiated" : "not negotiated");
	CHECK(got_inflight == inflight, "INFLIGHT_SHMFD %s",
	      got_inflight ? "negotiated" : "not negotiated");
	uint32_t sent = post(fe, pool, 0, FIRST);
	CHECK(sent == FIRST, "posted %u of %u", sent, FIRST);

	for (int k = 0; k <= CRASHES; k++) {
		if (k > 0) {
			/* The next backend, on the same socket. */
			if (spawn(path, k, k < CRASHES, &c) < 0)
				goto out_fe;
			int r = reconnect(fe, m);
			CHECK(r == 0, "reconnect %d: %s", k, strerror(-r));
			if (r < 0) {
				reap(&c, true, NULL);
				goto out_fe;
			}
		}
		if (k == CRASHES) {
			uint32_t s = post(fe, pool, FIRST, LAST);
			CHECK(s == LAST, "posted %u of %u after the restarts", s, LAST);
			sent += s;
		}
		if (send_cmd(&c, 'G') < 0) {
			reap(&c, true, NULL);
			goto out_fe;
		}
		if (k < CRASHES) {
			int r = collect(&c, &t, R_TAKEN, &v, 15);
			CHECK(r == 0, "backend %d did not get to its crash", k);
			reap(&c, true, &st);
			if (r < 0)
				goto out_fe;
			CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
			      "backend %d: status %#x, not killed", k, st);
			printf("backend %d: killed with %u buffers taken and not completed\n", k, v);
			t.taken += v;
		} else {
			int r = collect(&c, &t, R_END, &v, 20);
			CHECK(r == 0, "last backend did not finish");
			vhu_fe_destroy(fe);
			fe = NULL;
			send_cmd(&c, 'Q');
			reap(&c, r < 0, &st);
			CHECK(r < 0 || (WIFEXITED(st) && WEXITSTATUS(st) == 0),
			      "last backend: status %#x", st);
			if (r < 0)
				goto out;
		}
	}

	uint32_t lost = 0, repeated = 0, got = 0;
	for (uint32_t i = 0; i < TOTAL; i++) {
		got += t.count[i];
		if (t.count[i] == 0)
			lost++;
		else
			repeated += t.count[i] - 1;
	}
	printf("%s inflight=%s: sent %u, received %u: lost %u, repeated %u, corrupt %u; "
	       "%u buffers in flight at the crashes; %u of %d backends had a region; "
	       "%u backend resumes\n", name, mode_name[m], sent, got, lost, repeated,
	       t.bad, t.taken, t.regions, CRASHES + 1, t.resumed);
	CHECK(t.bad == 0 || !inflight, "%u corrupt packets", t.bad);
	CHECK(t.regions == (inflight ? CRASHES + 1u : 0u), "%u backends had a region",
	      t.regions);
	if (inflight) {
		/* Crashes with nothing in flight would prove little. */
		CHECK(t.taken >= TAKE, "only %u buffers in flight at the crashes", t.taken);
		CHECK(lost == 0 && repeated == 0 && got == TOTAL,
		      "with the region: %u lost, %u repeated", lost, repeated);
		/* Each restarted backend moved the transmit vring off a stale
		 * base, unless the frontend already sent the right one. */
		bool fe_did = packed && m == M_ON;
		CHECK(t.resumed == (fe_did ? 0u : (uint32_t)CRASHES),
		      "%u backend resumes, %u expected", t.resumed, fe_did ? 0 : CRASHES);
	}
	ret = (long)lost + repeated;
	goto out;
out_fe:
	vhu_fe_destroy(fe);
out:
	vhu_pkt_pool_destroy(pool);
	unlink(path);
	return ret;
}

/* ---- a hostile backend ---------------------------------------------------- */

/* What the fake answers GET_INFLIGHT_FD with. */
struct infl_reply {
	const char *name;
	uint64_t size, offset;
	uint64_t file_size;  /* of the memfd sent */
	int nfds;            /* 0, 1 or 2 */
	bool pipe_fd;        /* send a pipe instead of a memfd */
	uint32_t reply_size; /* payload bytes; 0: the right size */
	bool ok;             /* the frontend must accept it */
};

struct fake {
	int lfd;
	int sock;                 /* the connection, kept when setup completes */
	uint64_t features;        /* offered */
	uint64_t protocol_features;
	const struct infl_reply *reply;
	int region_fd;            /* the memfd we gave (ours) */
	uint8_t *region;
	uint64_t region_len;
	/* what the frontend did */
	bool saw_get, saw_set, saw_mem_table, done;
	int set_nfds;
	struct vhu_inflight_wire set_wire;
	uint64_t set_features;
	uint32_t base[2];
};

static void fake_reply(int sock, uint32_t req, const void *p, uint32_t size,
		       const int *fds, int nfds)
{
	struct vhu_msg m = { .hdr = { .request = req, .flags = VHU_MSG_VERSION | VHU_MSG_REPLY,
				      .size = size } };
	memcpy(m.p.raw, p, size);
	m.nfds = nfds;
	for (int i = 0; i < nfds; i++)
		m.fds[i] = fds[i];
	vhu_msg_send(sock, &m);
}

static void fake_inflight(struct fake *f, int sock)
{
	const struct infl_reply *c = f->reply;
	struct vhu_inflight_wire w = { .mmap_size = c->size, .mmap_offset = c->offset,
				       .num_queues = 2, .queue_size = RING };
	int fds[2] = { -1, -1 }, n = 0, pp[2] = { -1, -1 };

	if (c->pipe_fd) {
		if (pipe(pp) == 0)
			fds[n++] = pp[0];
	} else if (c->nfds > 0) {
		f->region_fd = memfd_create("fake-inflight", MFD_CLOEXEC);
		if (f->region_fd >= 0 && ftruncate(f->region_fd, (off_t)c->file_size) == 0) {
			f->region_len = c->file_size;
			void *m = mmap(NULL, c->file_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				       f->region_fd, 0);
			f->region = m == MAP_FAILED ? NULL : m;
		}
		fds[n++] = f->region_fd;
		if (c->nfds > 1)
			fds[n++] = f->region_fd;
	}
	uint8_t pay[64] = { 0 }; /* room for the long reply */
	memcpy(pay, &w, sizeof(w));
	fake_reply(sock, VHU_REQ_GET_INFLIGHT_FD, pay, c->reply_size ? c->reply_size : sizeof(w),
		   fds, n);
	if (pp[0] >= 0) {
		close(pp[0]);
		close(pp[1]);
	}
}

/* Serves one connection: answers what must be answered, records the rest,
 * and returns once the last vring is enabled (keeping the connection) or
 * the frontend hangs up. Every wait is bounded by the socket timeouts. */
static void *fake_serve(void *arg)
{
	struct fake *f = arg;
	struct pollfd p = { .fd = f->lfd, .events = POLLIN };
	struct timeval tv = { .tv_sec = 5 };
	int sock;

	if (poll(&p, 1, 10000) <= 0 || (sock = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return NULL;
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		struct vhu_msg m;
		if (vhu_msg_recv(sock, &m) <= 0)
			break;
		switch (m.hdr.request) {
		case VHU_REQ_GET_FEATURES:
			fake_reply(sock, m.hdr.request, &f->features, 8, NULL, 0);
			break;
		case VHU_REQ_GET_PROTOCOL_FEATURES:
			fake_reply(sock, m.hdr.request, &f->protocol_features, 8, NULL, 0);
			break;
		case VHU_REQ_GET_INFLIGHT_FD:
			f->saw_get = true;
			fake_inflight(f, sock);
			break;
		case VHU_REQ_SET_INFLIGHT_FD:
			f->saw_set = true;
			f->set_nfds = m.nfds;
			f->set_wire = m.p.inflight;
			break;
		case VHU_REQ_SET_FEATURES:
			f->set_features = m.p.u64;
			break;
		case VHU_REQ_SET_MEM_TABLE:
			f->saw_mem_table = true;
			break;
		case VHU_REQ_SET_VRING_BASE:
			if (m.p.state.index < 2)
				f->base[m.p.state.index] = m.p.state.num;
			break;
		}
		vhu_msg_close_fds(&m);
		if (m.hdr.request == VHU_REQ_SET_VRING_ENABLE && m.p.state.index == 1) {
			f->done = true;
			f->sock = sock;
			return NULL;
		}
	}
	close(sock);
	return NULL;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void fake_reset(struct fake *f, const struct infl_reply *r)
{
	f->reply = r;
	f->saw_get = f->saw_set = f->saw_mem_table = f->done = false;
	f->set_nfds = 0;
	f->set_features = 0;
	f->base[0] = f->base[1] = UINT32_MAX;
}

static void fake_drop_region(struct fake *f)
{
	if (f->region)
		munmap(f->region, f->region_len);
	if (f->region_fd >= 0)
		close(f->region_fd);
	f->region = NULL;
	f->region_fd = -1;
}

/* Creates a frontend against the fake; NULL when the frontend refused. */
static struct vhu_fe *fake_create(struct fake *f, const char *path)
{
	struct vhu_fe_opts o = { .path = path, .packed = true, .inflight = true,
				 .poll_mode = true, .ring_size = RING, .mem_size = 4u << 20 };
	pthread_t th;
	struct vhu_fe *fe;

	pthread_create(&th, NULL, fake_serve, f);
	fe = vhu_fe_create(&o);
	pthread_join(th, NULL);
	return fe;
}

static int fake_reconnect(struct fake *f, struct vhu_fe *fe)
{
	pthread_t th;
	int r;

	pthread_create(&th, NULL, fake_serve, f);
	r = vhu_fe_reconnect(fe);
	pthread_join(th, NULL);
	return r;
}

static void fake_hang_up(struct fake *f)
{
	if (f->sock >= 0)
		close(f->sock);
	f->sock = -1;
}

/* A packed vring's part of the fake's region (stride as the frontend
 * computes it: size / num_queues). */
static struct vhu_inflight_packed *fake_vring(struct fake *f, uint16_t i)
{
	uint64_t stride = f->reply->size / 2;
	return (struct vhu_inflight_packed *)(void *)(f->region + f->reply->offset + i * stride);
}

static void hostile(void)
{
	const uint64_t good = 2 * vhu_inflight_stride(RING);
	const uint64_t need = 2 * (sizeof(struct vhu_inflight_packed) +
				   RING * sizeof(struct vhu_inflight_packed_desc));
	static const uint64_t big = 1ull << 40;
	const struct infl_reply bad[] = {
		{ "smaller than the vrings need", need - 64, 0, good, 1, false, 0, false },
		{ "tiny", 16, 0, good, 1, false, 0, false },
		{ "huge", big, 0, good, 1, false, 0, false },
		{ "offset wrapping around", good, UINT64_MAX - 100, good, 1, false, 0, false },
		{ "offset past the limit", good, big, good, 1, false, 0, false },
		{ "past the end of its file", good, 0, 4096, 1, false, 0, false },
		{ "offset past the end of its file", good, 4096, good, 1, false, 0, false },
		{ "misaligned offset", good, 4, good + 4096, 1, false, 0, false },
		{ "not a whole number of vrings", good + 1, 0, good + 4096, 1, false, 0, false },
		{ "no fd", good, 0, good, 0, false, 0, false },
		{ "two fds", good, 0, good, 2, false, 0, false },
		{ "a pipe", good, 0, good, 1, true, 0, false },
		{ "a short reply", good, 0, good, 1, false, 16, false },
		{ "a long reply", good, 0, good, 1, false, 32, false },
		{ "no region (size 0)", 0, 0, good, 1, false, 0, true },
		{ "at an offset", good, 8192, good + 8192, 1, false, 0, true },
		{ "as libvhu gives it", good, 0, good, 1, false, 0, true },
	};
	struct fake f = { .lfd = -1, .sock = -1, .region_fd = -1 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[64];

	snprintf(path, sizeof(path), "/tmp/vhu-inflight-fake-%d.sock", getpid());
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	f.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f.lfd < 0 || bind(f.lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(f.lfd, 4) < 0) {
		CHECK(0, "fake backend cannot listen on %s", path);
		return;
	}
	f.features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_MRG_RXBUF) |
		     (1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VIRTIO_F_RING_PACKED) |
		     (1ull << VHU_F_PROTOCOL_FEATURES);
	/* No REPLY_ACK, MQ or STATUS: nothing but the GETs needs an answer. */
	f.protocol_features = 1ull << VHU_PROTO_F_INFLIGHT_SHMFD;

	printf("== hostile backend: GET_INFLIGHT_FD replies\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct infl_reply *c = &bad[i];
		int fds = count_fds();
		fake_reset(&f, c);
		errno = 0;
		struct vhu_fe *fe = fake_create(&f, path);
		int err = errno;
		bool region = fe && fe->inflight.fd >= 0;
		printf("%-32s -> %s%s\n", c->name, fe ? "accepted" : "refused: ",
		       fe ? (region ? ", region kept" : ", no region") : strerror(err));
		CHECK(f.saw_get, "%s: no GET_INFLIGHT_FD", c->name);
		CHECK(!fe == !c->ok, "%s: %s", c->name, fe ? "accepted" : "refused");
		CHECK(f.saw_mem_table == c->ok, "%s: the frontend %s on", c->name,
		      f.saw_mem_table ? "went" : "did not go");
		if (!fe)
			CHECK(err == EPROTO, "%s: errno %d, not EPROTO", c->name, err);
		if (fe) {
			CHECK(region == (c->size != 0), "%s: region %s", c->name,
			      region ? "kept" : "not kept");
			fake_hang_up(&f);
			vhu_fe_destroy(fe);
		}
		fake_drop_region(&f);
		CHECK(count_fds() == fds, "%s: %d fds before, %d after", c->name, fds,
		      count_fds());
	}

	/* Reconnections with what the region says, good and bad. */
	printf("== hostile backend: region contents and reconnections\n");
	const struct infl_reply *ok = &bad[sizeof(bad) / sizeof(bad[0]) - 1];
	int fds0 = count_fds();
	fake_reset(&f, ok);
	struct vhu_fe *fe = fake_create(&f, path);
	CHECK(fe && f.done && f.region, "no frontend against the fake");
	if (!fe || !f.region)
		goto out;
	CHECK(f.base[1] == 0x8000, "first base %#x", f.base[1]);
	struct {
		const char *name;
		uint16_t version, num, pos;
		uint8_t wrap;
		uint32_t want; /* vring 1's base */
	} reg[] = {
		{ "a used position", 1, RING, 64, 1, 64 | 0x8000 },
		{ "a used position, wrap 0", 1, RING, 200, 0, 200 },
		{ "a position past the ring", 1, RING, 60000, 1, 0x8000 },
		{ "a wrap counter of 7", 1, RING, 3, 7, 0x8000 },
		{ "another ring size", 1, 77, 3, 1, 0x8000 },
		{ "version 0 (unused)", 0, RING, 5, 1, 0x8000 },
	};
	for (size_t i = 0; i < sizeof(reg) / sizeof(reg[0]); i++) {
		struct vhu_inflight_packed *r = fake_vring(&f, 1);
		r->version = reg[i].version;
		r->desc_num = reg[i].num;
		r->old_used_idx = reg[i].pos;
		r->old_used_wrap_counter = reg[i].wrap;
		fake_hang_up(&f);
		fake_reset(&f, ok);
		int rc = fake_reconnect(&f, fe);
		printf("%-32s -> reconnect %d, vring 1 base %#x\n", reg[i].name, rc, f.base[1]);
		CHECK(rc == 0 && f.done, "%s: reconnect %d", reg[i].name, rc);
		CHECK(f.saw_set && !f.saw_get && f.set_nfds == 1 &&
		      f.set_wire.mmap_size == ok->size && f.set_wire.mmap_offset == ok->offset &&
		      f.set_wire.num_queues == 2 && f.set_wire.queue_size == RING,
		      "%s: SET_INFLIGHT_FD %d fds size %llu", reg[i].name, f.set_nfds,
		      (unsigned long long)f.set_wire.mmap_size);
		CHECK(f.base[1] == reg[i].want, "%s: base %#x, want %#x", reg[i].name, f.base[1],
		      reg[i].want);
		CHECK(f.base[0] == 0x8000, "%s: vring 0 base %#x", reg[i].name, f.base[0]);
	}

	/* A backend that dropped a feature the rings were set up with. */
	fake_hang_up(&f);
	fake_reset(&f, ok);
	f.features &= ~(1ull << VIRTIO_NET_F_MRG_RXBUF);
	int rc = fake_reconnect(&f, fe);
	printf("%-32s -> reconnect %d\n", "features dropped", rc);
	CHECK(rc == -EOPNOTSUPP && !f.saw_mem_table, "features dropped: reconnect %d", rc);
	f.features |= 1ull << VIRTIO_NET_F_MRG_RXBUF;
	/* One that offers more: fine, the frontend keeps to what it has. */
	uint64_t had = vhu_fe_features(fe);
	fake_reset(&f, ok);
	f.features |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	rc = fake_reconnect(&f, fe);
	printf("%-32s -> reconnect %d, features %#llx\n", "features added", rc,
	       (unsigned long long)f.set_features);
	CHECK(rc == 0 && f.set_features == had && vhu_fe_features(fe) == had,
	      "features added: reconnect %d, SET_FEATURES %#llx", rc,
	      (unsigned long long)f.set_features);
	fake_hang_up(&f);
	f.features &= ~(1ull << VIRTIO_RING_F_INDIRECT_DESC);
	/* One that does not take the region: dropped, then a new one asked
	 * for from the next backend that offers it. */
	fake_reset(&f, ok);
	f.protocol_features = 0;
	rc = fake_reconnect(&f, fe);
	printf("%-32s -> reconnect %d, region %s\n", "no INFLIGHT_SHMFD", rc,
	       fe->inflight.fd >= 0 ? "kept" : "dropped");
	CHECK(rc == 0 && !f.saw_set && !f.saw_get && fe->inflight.fd < 0,
	      "no INFLIGHT_SHMFD: reconnect %d set %d get %d", rc, f.saw_set, f.saw_get);
	fake_hang_up(&f);
	fake_drop_region(&f);
	f.protocol_features = 1ull << VHU_PROTO_F_INFLIGHT_SHMFD;
	fake_reset(&f, ok);
	rc = fake_reconnect(&f, fe);
	CHECK(rc == 0 && f.saw_get && !f.saw_set && fe->inflight.fd >= 0,
	      "INFLIGHT_SHMFD again: reconnect %d set %d get %d", rc, f.saw_set, f.saw_get);
	fake_hang_up(&f);
	vhu_fe_destroy(fe);
	fake_drop_region(&f);
	CHECK(count_fds() == fds0, "reconnections: %d fds before, %d after", fds0, count_fds());
out:
	fake_hang_up(&f);
	fake_drop_region(&f);
	close(f.lfd);
	unlink(path);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "packed", 1, 0, 'p' }, { "mode", 1, 0, 'm' }, { "verbose", 0, 0, 'v' },
		{ "hostile", 0, 0, 'H' }, { 0, 0, 0, 0 } };
	const char *mode = "all";
	int packed = 0, hostile_mode = 0, c;

	while ((c = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
		switch (c) {
		case 'p': packed = atoi(optarg); break;
		case 'm': mode = optarg; break;
		case 'v': verbose = 1; break;
		case 'H': hostile_mode = 1; break;
		default: return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	vhu_log_set_handler(log_fn, NULL);
	if (hostile_mode) {
		hostile();
		printf("%d passed, %d failed\n", passed, failed);
		return failed ? 1 : 0;
	}
	bool all = !strcmp(mode, "all");
	be_reg_flags = VHU_NO_RING_RESYNC;
	if (all || !strcmp(mode, "on")) {
		long r = run(packed, M_ON);
		CHECK(r == 0, "inflight on: %ld packets lost or repeated (-1: run broke)", r);
	}
	/* Split vrings always get the frontend's own base: "on" is this. */
	if (packed && (all || !strcmp(mode, "on-own-base"))) {
		long r = run(packed, M_ON_OWN_BASE);
		CHECK(r == 0, "inflight on, own base: %ld packets lost or repeated (-1: run "
		      "broke)", r);
	}
	if (packed && (all || !strcmp(mode, "off-resync"))) {
		be_reg_flags = 0;
		long r = run(packed, M_RESYNC);
		be_reg_flags = VHU_NO_RING_RESYNC;
		CHECK(r == 0, "inflight off, ring resync on: %ld packets lost or repeated "
		      "(-1: run broke)", r);
	}
	if (all || !strcmp(mode, "off")) {
		long r = run(packed, M_OFF);
		/* The same crashes without the region must show: otherwise the
		 * test above would pass without the mechanism too. */
		CHECK(r > 0, "inflight off: %ld packets lost or repeated; the test does not "
		      "tell the mechanism from its absence (-1: run broke)", r);
	}
	printf("%d passed, %d failed\n", failed ? 0 : 1, failed ? 1 : 0);
	return failed ? 1 : 0;
}
