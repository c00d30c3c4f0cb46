/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhu-fe: a stand-in VM NIC without a VM. Drives the in-tree vhost-user
 * frontend (include/vhu/frontend.h) against a backend socket, sends
 * verifiable UDP/IPv4 frames from --mac to --dst-mac and checks every frame
 * it receives. Works against any vhost-user backend; made for vhu-switch.
 *
 *   vhu-fe --socket PATH --mac M --dst-mac M [--pps N] [--duration S]
 *          [--pkt-size B] [--linger S] [--stats-period S] [--server]
 *          [--ring N] [--tso MSS] [--no-verify] [--vlan VID] [--mem-size MIB]
 *
 * --pps 0 sends as fast as the ring takes them; --duration 0 only
 * receives (until --linger after the start). --linger (0.5 s): keep
 * receiving after the last send, so in-flight frames are counted.
 * --server: listen on PATH and wait for the backend to connect.
 * --ring N: descriptors per ring (256); a larger ring rides out a longer
 * descheduling of this process before the backend must drop.
 * --tso MSS: negotiate the checksum and TCP segmentation offloads both
 * ways and send TCP/IPv4 frames instead of UDP ones, each a GSO packet
 * (TCPV4, gso_size MSS, partial checksum) of --pkt-size bytes (up to
 * 65000): what a guest's TCP stack sends with TSO. A receiver that took
 * GUEST_TSO4 gets them whole and checks them as any other.
 * --no-verify: for rates the checksum would bound (64 KiB frames); the
 * sender neither fills the payload (the buffer's old bytes go) nor sums
 * it (0), the receiver checks headers and lengths only and does not read
 * the payload. Both sides need it.
 * --mem-size MIB: guest memory (one memfd region) of MIB MiB (64): a
 * stand-in for a big VM's RAM, of which only the rings and buffers are
 * ever touched (bench/mem_connect.sh).
 * --vlan VID: send every frame with an 802.1Q tag of VID (1..4094) after
 * the MACs (--pkt-size counts it), as a VLAN interface would. Received
 * frames may come tagged or not, with or without --vlan: tagged ones are
 * counted ("tagged") and checked as the frame without its tag.
 *
 * Payload (after Ethernet/IPv4/UDP): be32 magic "vhfe", 6 bytes sender MAC,
 * be16 len, be64 seq, be32 FNV-1a over everything after it; then bytes
 * derived from seq. A frame whose checksum, length or IPv4 header is wrong
 * is "bad" (the checksum covers the sender MAC and sequence number).
 *
 * Output (stdout, one line each, stable for scripts):
 *   fe: stats: sent N recv N ...       every --stats-period
 *   fe: total: sent N recv N good N from-peer N echo N bad N foreign N
 *       other N tx-full N tagged N
 * good = checked whole and right. Of those: from-peer = Ethernet source
 * --dst-mac and destination us (or broadcast); echo = our own frames
 * reflected back (payload sender is --mac); foreign = for another unicast
 * MAC (a switch that floods unknown unicast while learning, or
 * misdelivers). other = not ours to check (ARP, IPv6, ...). tx-full =
 * bursts the ring did not take whole (those frames are sent later, with
 * the same sequence numbers).
 * Exit status: 0 no bad frame, 1 bad frames or failure, 2 bad options.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/virtio_net.h>
#include <vhu/frontend.h>
#include <vhu/pkt.h>

#define BURST 32
#define HDRS 42
#define PL_HDR 24
/* What --tso negotiates. */
#define OFFLOADS ((1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) | \
		  (1ull << VIRTIO_NET_F_GUEST_TSO4) | (1ull << VIRTIO_NET_F_HOST_TSO4))
#define MAGIC 0x76686665u
#define FNV_SEED 2166136261u
#define FNV_PRIME 16777619u

static struct {
	const char *sock;
	uint8_t mac[6], dst[6];
	bool have_mac, have_dst, server, noverify;
	double pps, duration, linger, period;
	uint32_t size;
	uint16_t ring, tso, vlan;
	uint64_t mem_mib;
} o = { .duration = 5, .linger = 0.5, .size = 128 };

static struct {
	uint64_t sent, recv, good, peer, echo, bad, foreign, other, txfull, tagged;
} st;

static volatile sig_atomic_t stop;
static void on_sig(int s) { (void)s; stop = 1; }

static _Noreturn void bad_opt(const char *msg, const char *arg)
{
	fprintf(stderr, "vhu-fe: %s%s\n", msg, arg ? arg : "");
	fprintf(stderr, "usage: vhu-fe --socket PATH --mac M --dst-mac M [--pps N] [--duration S]\n"
			"              [--pkt-size B] [--linger S] [--stats-period S] [--server]\n"
			"              [--ring N] [--tso MSS] [--no-verify] [--vlan VID] [--mem-size MIB]\n");
	exit(2);
}

static bool parse_mac(const char *s, uint8_t *m)
{
	unsigned v[6];
	char tail;
	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return false;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return false;
		m[i] = (uint8_t)v[i];
	}
	return true;
}

static double num(const char *name, const char *a, double max)
{
	char *end;
	double v = strtod(a, &end);
	if (*end || end == a || !isfinite(v) || v < 0 || v > max)
		bad_opt("bad value for --", name);
	return v;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return h;
}

static uint16_t ip_csum(const uint8_t *p, unsigned len)
{
	uint32_t s = 0;
	for (unsigned i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* TCP/IPv4 frames (--tso): a 20-byte TCP header where UDP's 8 are. */
#define TCP_HDRS 54

static uint32_t hdrs(void)
{
	return o.tso ? TCP_HDRS : HDRS;
}

static void build_tcp(uint8_t *ip, struct vhu_pkt *p, uint32_t size)
{
	uint8_t *tcp = ip + 20;
	uint32_t l4 = size - 34;

	ip[9] = 6;
	put16(ip + 10, 0);
	put16(ip + 10, ip_csum(ip, 20));
	memset(tcp, 0, 20);
	put16(tcp, 5000);
	put16(tcp + 2, 5001);
	tcp[12] = 5 << 4;
	tcp[13] = 0x18; /* PSH ACK */
	put16(tcp + 14, 65535);
	/* The pseudo-header sum, as a stack leaves it for the device. */
	uint32_t sum = get16(ip + 12) + get16(ip + 14) + get16(ip + 16) + get16(ip + 18) + 6 + l4;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(tcp + 16, (uint16_t)sum);
	p->ol.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->ol.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	p->ol.gso_size = o.tso;
	p->ol.hdr_len = TCP_HDRS;
	p->ol.csum_start = 34;
	p->ol.csum_offset = 16;
}

/* Layout: eth(14) ip(20) udp(8) | magic(4) mac(6) len(2) seq(8) csum(4) | fill
 * (with --tso: tcp(20) for udp(8)) */
static void build(struct vhu_pkt *p, uint64_t seq)
{
	uint32_t size = o.vlan ? o.size - 4 : o.size;
	uint8_t *d = vhu_pkt_append(p, o.size);
	uint8_t *ip = d + 14, *udp = ip + 20, *pl = d + hdrs();
	uint32_t plen = size - hdrs();

	memcpy(d, o.dst, 6);
	memcpy(d + 6, o.mac, 6);
	put16(d + 12, 0x0800);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(size - 14));
	ip[8] = 64;
	ip[9] = 17;
	/* 169.254.<mac5>.<1|2>: link-local only. */
	put32(ip + 12, 0xa9fe0000u | (uint32_t)o.mac[5] << 8 | 1);
	put32(ip + 16, 0xa9fe0000u | (uint32_t)o.dst[5] << 8 | 2);
	put16(ip + 10, ip_csum(ip, 20));
	put16(udp, 5000);
	put16(udp + 2, 5001);
	put16(udp + 4, (uint16_t)(size - 34));
	put16(udp + 6, 0);
	put32(pl, MAGIC);
	memcpy(pl + 4, o.mac, 6);
	put16(pl + 10, (uint16_t)plen);
	put32(pl + 12, (uint32_t)(seq >> 32));
	put32(pl + 16, (uint32_t)seq);
	if (!o.noverify)
		for (uint32_t i = PL_HDR; i < plen; i++)
			pl[i] = (uint8_t)(seq * 7 + i);
	put32(pl + 20, o.noverify ? 0 : fnv(fnv(FNV_SEED, pl + 4, 16), pl + PL_HDR, plen - PL_HDR));
	if (o.tso)
		build_tcp(ip, p, size);
	if (o.vlan) {
		memmove(d + 16, d + 12, size - 12);
		put16(d + 12, 0x8100);
		put16(d + 14, o.vlan);
		if (o.tso)
			p->ol.csum_start += 4, p->ol.hdr_len += 4;
	}
}

static uint8_t flat[65536];

static void check(const struct vhu_pkt *pkt)
{
	uint32_t len = o.noverify ? pkt->pkt_len : vhu_pkt_read(pkt, 0, flat, sizeof(flat));
	if (o.noverify)
		vhu_pkt_read(pkt, 0, flat, TCP_HDRS + PL_HDR + 4);
	if (len >= 18 && get16(flat + 12) == 0x8100) {
		/* Checked as the frame without its tag. */
		st.tagged++;
		memmove(flat + 12, flat + 16, o.noverify ? TCP_HDRS + PL_HDR - 12 : len - 16);
		len -= 4;
	}
	const uint8_t *d = flat, *ip = d + 14;
	const uint32_t h = len > 24 && ip[9] == 6 ? TCP_HDRS : HDRS;
	const uint8_t *pl = d + h;

	st.recv++;
	if (len < h + PL_HDR || get16(d + 12) != 0x0800 || (ip[9] != 17 && ip[9] != 6) ||
	    get32(pl) != MAGIC) {
		st.other++;
		return;
	}
	uint32_t plen = get16(pl + 10);
	if (ip_csum(ip, 20) != 0 || get16(ip + 2) != len - 14 || plen != len - h ||
	    plen < PL_HDR ||
	    (!o.noverify && fnv(fnv(FNV_SEED, pl + 4, 16), pl + PL_HDR, plen - PL_HDR) != get32(pl + 20))) {
		st.bad++;
		return;
	}
	st.good++;
	bool mine = memcmp(d, o.mac, 6) == 0, bcast = d[0] & 1;
	if (!mine && !bcast)
		st.foreign++;
	else if (memcmp(pl + 4, o.mac, 6) == 0)
		st.echo++; /* our own frame, reflected (testpmd macswap) */
	else if (memcmp(d + 6, o.dst, 6) == 0)
		st.peer++;
}

static void print(const char *what)
{
	printf("fe: %s: sent %" PRIu64 " recv %" PRIu64 " good %" PRIu64 " from-peer %" PRIu64
	       " echo %" PRIu64 " bad %" PRIu64 " foreign %" PRIu64 " other %" PRIu64
	       " tx-full %" PRIu64 " tagged %" PRIu64 "\n", what, st.sent, st.recv, st.good,
	       st.peer, st.echo, st.bad, st.foreign, st.other, st.txfull, st.tagged);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "mac", required_argument, NULL, 'm' },
		{ "dst-mac", required_argument, NULL, 'D' },
		{ "pps", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "pkt-size", required_argument, NULL, 'z' },
		{ "linger", required_argument, NULL, 'l' },
		{ "stats-period", required_argument, NULL, 'S' },
		{ "server", no_argument, NULL, 'L' },
		{ "ring", required_argument, NULL, 'r' },
		{ "tso", required_argument, NULL, 'T' },
		{ "no-verify", no_argument, NULL, 'V' },
		{ "vlan", required_argument, NULL, 'v' },
		{ "mem-size", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o.sock = optarg; break;
		case 'm': if (!parse_mac(optarg, o.mac)) bad_opt("bad --mac ", optarg); o.have_mac = true; break;
		case 'D': if (!parse_mac(optarg, o.dst)) bad_opt("bad --dst-mac ", optarg); o.have_dst = true; break;
		case 'p': o.pps = num("pps", optarg, 1e9); break;
		case 'd': o.duration = num("duration", optarg, 86400); break;
		case 'z': o.size = (uint32_t)num("pkt-size", optarg, 65000); break;
		case 'l': o.linger = num("linger", optarg, 3600); break;
		case 'S': o.period = num("stats-period", optarg, 3600); break;
		case 'L': o.server = true; break;
		case 'r': o.ring = (uint16_t)num("ring", optarg, 32768); break;
		case 'T': o.tso = (uint16_t)num("tso", optarg, 9000); break;
		case 'V': o.noverify = true; break;
		case 'M': o.mem_mib = (uint64_t)num("mem-size", optarg, 1 << 20); break;
		case 'v': o.vlan = (uint16_t)num("vlan", optarg, 4094); if (!o.vlan) bad_opt("--vlan must be 1..4094", NULL); break;
		default: bad_opt("bad option", NULL);
		}
	}
	if (!o.sock || !o.have_mac || !o.have_dst)
		bad_opt("--socket, --mac and --dst-mac are required", NULL);
	if (o.mac[0] & 1)
		bad_opt("--mac must be unicast", NULL);
	if (o.size < hdrs() + PL_HDR + 4 + (o.vlan ? 4 : 0))
		bad_opt("--pkt-size must be at least 74 (86 with --tso; 4 more with --vlan)", NULL);
	if (o.size > 9000 && !o.tso)
		bad_opt("--pkt-size over 9000 needs --tso", NULL);
	if (o.tso && o.tso < 64)
		bad_opt("--tso MSS must be at least 64", NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	signal(SIGPIPE, SIG_IGN);

	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("vhu-fe", o.size > 9000 ? 512 : 4096,
							o.size > 2048 ? o.size : 2048);
	if (!pool) {
		fprintf(stderr, "vhu-fe: no pool: %s\n", strerror(errno));
		return 1;
	}
	struct vhu_fe_opts fo = { .path = o.sock, .server = o.server, .poll_mode = true,
				  .ring_size = o.ring, .mem_size = o.mem_mib << 20,
				  .features = o.tso ? vhu_fe_default_features(1) | OFFLOADS : 0,
				  .connect_timeout_ms = 10000 };
	struct vhu_fe *fe = vhu_fe_create(&fo);
	if (!fe) {
		fprintf(stderr, "vhu-fe: cannot connect to %s: %s\n", o.sock, strerror(errno));
		return 1;
	}
	fprintf(stderr, "vhu-fe: connected to %s, features 0x%016" PRIx64 "\n", o.sock,
		vhu_fe_features(fe));
	const uint64_t host_tso = (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_HOST_TSO4);
	if (o.tso && o.duration > 0 && (vhu_fe_features(fe) & host_tso) != host_tso) {
		/* GSO packets to a device that did not take them: not allowed. */
		fprintf(stderr, "vhu-fe: --tso: the backend did not negotiate CSUM and HOST_TSO4\n");
		vhu_fe_destroy(fe);
		vhu_pkt_pool_destroy(pool);
		return 1;
	}

	struct vhu_pkt *pk[BURST];
	double t0 = now_s(), send_end = t0 + o.duration, end = send_end + o.linger;
	double next_stat = o.period > 0 ? t0 + o.period : INFINITY;
	while (!stop) {
		double t = now_s();
		unsigned work = 0;
		if (t >= end)
			break;
		if (t < send_end) {
			uint64_t due = BURST;
			if (o.pps > 0) {
				double want = (t - t0) * o.pps;
				due = want > (double)st.sent ? (uint64_t)(want - (double)st.sent) : 0;
				if (due > BURST)
					due = BURST;
			}
			if (due && vhu_pkt_alloc_bulk(pool, pk, (unsigned)due) == 0) {
				for (unsigned i = 0; i < due; i++) {
					build(pk[i], st.sent + i);
				}
				uint16_t s = vhu_fe_send_burst(fe, 0, pk, (uint16_t)due);
				/* Unsent frames are rebuilt with the same sequence
				 * numbers next time: no gap. */
				if (s < due)
					st.txfull++;
				st.sent += s;
				work += s;
				vhu_pkt_free_bulk(pk, (unsigned)due);
			}
		}
		uint16_t r;
		while ((r = vhu_fe_recv_burst(fe, 0, pool, pk, BURST)) > 0) {
			for (uint16_t i = 0; i < r; i++)
				check(pk[i]);
			vhu_pkt_free_bulk(pk, r);
			work += r;
		}
		if (t >= next_stat) {
			print("stats");
			next_stat += o.period;
		}
		if (!work) {
			struct timespec ts = { 0, 100000 };
			nanosleep(&ts, NULL);
		}
	}
	print("total");
	vhu_fe_destroy(fe);
	vhu_pkt_pool_destroy(pool);
	return st.bad ? 1 : 0;
}
