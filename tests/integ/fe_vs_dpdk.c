/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The in-tree frontend against DPDK's vhost backend (testpmd net_vhost in
 * macswap or io forwarding): sends packets with a verifiable payload on
 * every queue pair and checks every byte of what comes back. Run by
 * tests/peers/fe_vs_dpdk.sh, which starts testpmd.
 *
 * Frame: dst MAC, src MAC, ethertype 0x88b5, then seq (u32), queue pair
 * (u16), frame length (u16), a pattern derived from seq, and an FNV-1a
 * checksum of everything after the MACs in the last 4 bytes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <vhu/frontend.h>
#include <vhu/pkt.h>
#include <vhu/vhu.h>

#define MIN_LEN 64u
#define BURST 32u

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };

static struct {
	const char *sock;
	unsigned count, qp, min_len, max_len, window, timeout_s, seg_room, tx_segs;
	bool no_mrg, no_event_idx, macswap, server;
	struct vhu_fe_opts fe;
} cfg = { .count = 10000, .qp = 1, .min_len = MIN_LEN, .max_len = 1514,
	  .window = 64, .timeout_s = 30, .seg_room = 2048, .tx_segs = 1,
	  .macswap = true };

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t fnv1a(const uint8_t *p, uint32_t n)
{
	uint32_t h = 2166136261u;
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint32_t frame_len(uint32_t seq)
{
	return cfg.min_len + (seq * 2654435761u >> 7) % (cfg.max_len - cfg.min_len + 1);
}

static uint8_t pattern(uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 31u + i * 7u + (i >> 8));
}

static void build_frame(uint8_t *f, uint32_t seq, uint16_t qp, uint32_t len)
{
	memcpy(f, mac_a, 6);
	memcpy(f + 6, mac_b, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	memcpy(f + 14, &seq, 4);
	memcpy(f + 18, &qp, 2);
	uint16_t l16 = (uint16_t)len;
	memcpy(f + 20, &l16, 2);
	for (uint32_t i = 22; i < len - 4; i++)
		f[i] = pattern(seq, i);
	uint32_t c = fnv1a(f + 12, len - 16);
	memcpy(f + len - 4, &c, 4);
}

/* Spreads the frame over up to tx_segs segments, to exercise gathering. */
static struct vhu_pkt *make_pkt(struct vhu_pkt_pool *pool, uint32_t seq, uint16_t qp)
{
	static uint8_t f[65536];
	uint32_t len = frame_len(seq), nseg = 1 + seq % cfg.tx_segs, off = 0;
	struct vhu_pkt *segs[16];

	build_frame(f, seq, qp, len);
	if (nseg > len / 16)
		nseg = 1;
	uint32_t room = vhu_pkt_pool_data_room(pool);
	if ((len + room - 1) / room > nseg)
		nseg = (len + room - 1) / room;
	if (nseg > 16 || vhu_pkt_alloc_bulk(pool, segs, nseg) < 0)
		return NULL;
	for (uint32_t s = 0; s < nseg; s++) {
		uint32_t n = (len - off + (nseg - s) - 1) / (nseg - s);
		memcpy(vhu_pkt_append(segs[s], n), f + off, n);
		off += n;
		if (s)
			segs[s - 1]->next = segs[s];
	}
	segs[0]->pkt_len = len;
	segs[0]->nb_segs = (uint16_t)nseg;
	return segs[0];
}

static int check_frame(const struct vhu_pkt *p, uint16_t rx_qp, uint8_t *seen,
		       unsigned *merged, uint32_t rx_room)
{
	static uint8_t f[65536];
	uint32_t len = p->pkt_len, seq, c, sum = 0;
	uint16_t qp, l16;

	if (len < MIN_LEN || len > sizeof(f))
		return fprintf(stderr, "bad length %u\n", len), -1;
	for (const struct vhu_pkt *s = p; s; s = s->next)
		sum += s->data_len;
	if (sum != len || vhu_pkt_read(p, 0, f, len) != len)
		return fprintf(stderr, "segments hold %u of pkt_len %u\n", sum, len), -1;
	memcpy(&seq, f + 14, 4);
	memcpy(&qp, f + 18, 2);
	memcpy(&l16, f + 20, 2);
	if (seq >= cfg.count || l16 != len || len != frame_len(seq))
		return fprintf(stderr, "seq %u len %u (hdr %u, want %u)\n", seq, len,
			       l16, seq < cfg.count ? frame_len(seq) : 0), -1;
	if (memcmp(f, cfg.macswap ? mac_b : mac_a, 6) ||
	    memcmp(f + 6, cfg.macswap ? mac_a : mac_b, 6))
		return fprintf(stderr, "seq %u: MACs not %s\n", seq,
			       cfg.macswap ? "swapped" : "kept"), -1;
	if (qp != rx_qp)
		return fprintf(stderr, "seq %u sent on qp %u came back on %u\n", seq,
			       qp, rx_qp), -1;
	for (uint32_t i = 22; i < len - 4; i++)
		if (f[i] != pattern(seq, i))
			return fprintf(stderr, "seq %u: byte %u is %#x, want %#x\n", seq,
				       i, f[i], pattern(seq, i)), -1;
	memcpy(&c, f + len - 4, 4);
	if (c != fnv1a(f + 12, len - 16))
		return fprintf(stderr, "seq %u: checksum\n", seq), -1;
	if (seen[seq]++)
		return fprintf(stderr, "seq %u received twice\n", seq), -1;
	if (len > rx_room)
		(*merged)++;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fe_vs_dpdk --sock PATH [--qp N] [--count N] [--no-mrg]\n"
		"  [--min-len N] [--max-len N] [--buf-size N] [--ring N] [--regions N]\n"
		"  [--split-hdr] [--indirect] [--no-event-idx] [--poll-mode] [--io]\n"
		"  [--server] [--seg-room N] [--tx-segs N] [--window N] [--timeout S]\n");
	exit(2);
}

static void parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "sock", 1, 0, 's' }, { "qp", 1, 0, 'q' }, { "count", 1, 0, 'n' },
		{ "no-mrg", 0, 0, 'M' }, { "min-len", 1, 0, 'l' }, { "max-len", 1, 0, 'L' },
		{ "buf-size", 1, 0, 'b' }, { "ring", 1, 0, 'r' }, { "regions", 1, 0, 'R' },
		{ "split-hdr", 0, 0, 'H' }, { "indirect", 0, 0, 'I' },
		{ "no-event-idx", 0, 0, 'E' }, { "poll-mode", 0, 0, 'P' },
		{ "io", 0, 0, 'o' }, { "server", 0, 0, 'S' }, { "seg-room", 1, 0, 'g' },
		{ "tx-segs", 1, 0, 't' }, { "window", 1, 0, 'w' }, { "timeout", 1, 0, 'T' },
		{ 0, 0, 0, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		unsigned v = optarg ? (unsigned)strtoul(optarg, NULL, 0) : 0;
		switch (c) {
		case 's': cfg.sock = optarg; break;
		case 'q': cfg.qp = v; break;
		case 'n': cfg.count = v; break;
		case 'M': cfg.no_mrg = true; break;
		case 'l': cfg.min_len = v; break;
		case 'L': cfg.max_len = v; break;
		case 'b': cfg.fe.buf_size = v; break;
		case 'r': cfg.fe.ring_size = (uint16_t)v; break;
		case 'R': cfg.fe.mem_regions = (uint16_t)v; break;
		case 'H': cfg.fe.tx_split_hdr = cfg.fe.rx_split_hdr = true; break;
		case 'I': cfg.fe.tx_indirect = true; break;
		case 'E': cfg.no_event_idx = true; break;
		case 'P': cfg.fe.poll_mode = true; break;
		case 'o': cfg.macswap = false; break;
		case 'S': cfg.fe.server = true; break;
		case 'g': cfg.seg_room = v; break;
		case 't': cfg.tx_segs = v ? v : 1; break;
		case 'w': cfg.window = v ? v : 1; break;
		case 'T': cfg.timeout_s = v; break;
		default: usage();
		}
	}
	if (!cfg.sock || !cfg.qp || cfg.min_len < MIN_LEN || cfg.max_len < cfg.min_len ||
	    cfg.max_len > 65535 || !cfg.count)
		usage();
}

int main(int argc, char **argv)
{
	struct vhu_pkt_pool *txp, *rxp;
	struct vhu_fe *fe;
	uint8_t *seen;
	unsigned sent = 0, recvd = 0, merged = 0, multiseg = 0, rc = 1;
	unsigned *inflight, *next;
	double t0, last_progress;

	parse(argc, argv);
	cfg.fe.path = cfg.sock;
	cfg.fe.queue_pairs = (uint16_t)cfg.qp;
	cfg.fe.connect_timeout_ms = 20000;
	cfg.fe.features = vhu_fe_default_features((uint16_t)cfg.qp);
	if (cfg.no_mrg)
		cfg.fe.features &= ~(1ull << VIRTIO_NET_F_MRG_RXBUF);
	if (cfg.no_event_idx)
		cfg.fe.features &= ~(1ull << VIRTIO_RING_F_EVENT_IDX);

	seen = calloc(cfg.count, 1);
	inflight = calloc(cfg.qp, sizeof(*inflight));
	next = calloc(cfg.qp, sizeof(*next));
	txp = vhu_pkt_pool_create("tx", 4096, cfg.seg_room);
	rxp = vhu_pkt_pool_create("rx", 8192, cfg.seg_room);
	if (!seen || !inflight || !next || !txp || !rxp)
		return fprintf(stderr, "out of memory\n"), 1;
	fe = vhu_fe_create(&cfg.fe);
	if (!fe)
		return fprintf(stderr, "vhu_fe_create: %s\n", strerror(errno)), 1;
	uint64_t f = vhu_fe_features(fe);
	bool mrg = (f >> VIRTIO_NET_F_MRG_RXBUF) & 1;
	uint32_t buf = cfg.fe.buf_size ? cfg.fe.buf_size : 2048;
	/* Longest frame one receive buffer holds: longer ones were merged. */
	uint32_t rx_room = buf - (mrg || ((f >> VIRTIO_F_VERSION_1) & 1) ? 12 : 10);
	printf("features %#llx protocol %#llx mrg_rxbuf %d qp %u\n",
	       (unsigned long long)f, (unsigned long long)vhu_fe_protocol_features(fe),
	       mrg, vhu_fe_queue_pairs(fe));
	if (cfg.no_mrg == mrg) {
		fprintf(stderr, "mrg_rxbuf negotiated %d, wanted %d\n", mrg, !cfg.no_mrg);
		goto out;
	}

	/* Queue pair q sends sequence numbers q, q + qp, q + 2 qp... */
	for (unsigned q = 0; q < cfg.qp; q++)
		next[q] = q;
	t0 = last_progress = now_s();
	while (recvd < cfg.count) {
		double t = now_s();
		/* A stall is no progress once replies flow; before the first,
		 * the peer may still be starting (testpmd as vhost client starts
		 * forwarding only when its link check ends), so only the overall
		 * limit applies. */
		if (t - t0 > cfg.timeout_s || (recvd && t - last_progress > 5)) {
			fprintf(stderr, "timeout: sent %u received %u\n", sent, recvd);
			goto out;
		}
		for (uint16_t q = 0; q < cfg.qp; q++) {
			struct vhu_pkt *pk[BURST];
			uint16_t n = 0;

			while (n < BURST && inflight[q] + n < cfg.window &&
			       next[q] + n * cfg.qp < cfg.count) {
				pk[n] = make_pkt(txp, next[q] + n * cfg.qp, q);
				if (!pk[n])
					break;
				n++;
			}
			uint16_t k = n ? vhu_fe_send_burst(fe, q, pk, n) : 0;
			vhu_pkt_free_bulk(pk, n);
			sent += k;
			next[q] += k * cfg.qp;
			inflight[q] += k;

			n = vhu_fe_recv_burst(fe, q, rxp, pk, BURST);
			for (uint16_t i = 0; i < n; i++) {
				uint32_t seq;
				vhu_pkt_read(pk[i], 14, &seq, 4);
				if (check_frame(pk[i], q, seen, &merged, rx_room) < 0) {
					vhu_pkt_free_bulk(pk, n);
					goto out;
				}
				multiseg += pk[i]->nb_segs > 1;
				inflight[seq % cfg.qp]--;
			}
			vhu_pkt_free_bulk(pk, n);
			recvd += n;
			if (n)
				last_progress = now_s();
		}
	}
	double dt = now_s() - t0;
	for (uint16_t v = 0; v < 2 * cfg.qp; v++) {
		struct vhu_fe_vring_stats st;
		vhu_fe_vring_stats(fe, v, &st);
		printf("vring %u: packets %llu bytes %llu kicks %llu suppressed %llu errors %llu\n",
		       v, (unsigned long long)st.packets, (unsigned long long)st.bytes,
		       (unsigned long long)st.kicks, (unsigned long long)st.kicks_suppressed,
		       (unsigned long long)st.errors);
		if (st.errors) {
			fprintf(stderr, "vring %u counted errors\n", v);
			goto out;
		}
	}
	if (mrg && cfg.max_len > rx_room + 200 && merged == 0) {
		fprintf(stderr, "no merged receive buffers seen\n");
		goto out;
	}
	printf("RESULT fe_vs_dpdk qp=%u mrg=%d sent=%u received=%u verified=%u merged=%u "
	       "multiseg=%u %.0f pps\n", cfg.qp, mrg, sent, recvd, recvd, merged, multiseg,
	       recvd / dt);
	rc = 0;
out:
	vhu_fe_destroy(fe);
	vhu_pkt_pool_destroy(txp);
	vhu_pkt_pool_destroy(rxp);
	free(seen);
	free(inflight);
	free(next);
	return (int)rc;
}
