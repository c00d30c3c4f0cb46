/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The software offload fallback: vhu_pkt_csum_complete() and
 * vhu_pkt_gso_segment() on hand-built frames, every output header checked
 * field by field and every checksum against the straightforward sum
 * below (not the library's), and the library's one checksum routine
 * against it on random chains.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <linux/virtio_net.h>
#include <vhu/pkt.h>
#include "common/compiler.h"
#include "pkt/csum.h"
#include "ref_csum.h"
#include "t.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }
static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v); }

/* Sum over the pseudo-header and the L4 bytes of a flat frame: 0xffff
 * when its transport checksum is right. */
static uint16_t ref_l4_verify(const uint8_t *f, uint32_t l3, uint32_t l4, uint32_t len, bool v6,
			      uint8_t proto)
{
	uint32_t s = 0;
	uint8_t tail[4] = { 0, 0, 0, proto };

	if (v6)
		s = ref_add(s, f + l3 + 8, 32);
	else
		s = ref_add(s, f + l3 + 12, 8);
	s = ref_add(s, tail, 4);
	s += len - l4;
	s = ref_add(s, f + l4, len - l4);
	return ref_fold(s);
}

/* ---- frame building ---- */

struct spec {
	bool v6, tcp;
	unsigned tags;          /* VLAN tags before the IP header */
	unsigned ip_opt;        /* IPv4 option bytes (multiple of 4) */
	unsigned tcp_opt;       /* TCP option bytes (multiple of 4) */
	uint8_t tcp_flags;
	uint32_t payload;
	uint16_t mss;
	bool ecn;
};

struct frame {
	uint8_t b[70000];
	uint32_t len, l3, l4, hlen;
};

static const uint8_t src6[16] = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t dst6[16] = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };

static void make_frame(const struct spec *s, struct frame *f)
{
	uint8_t *b = f->b;
	uint32_t o = 12;

	memset(b, 0, 200);
	memcpy(b, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	for (unsigned i = 0; i < s->tags; i++, o += 4) {
		put16(b + o, i == 0 && s->tags > 1 ? 0x88a8 : 0x8100);
		put16(b + o + 2, 100 + i);
	}
	put16(b + o, s->v6 ? 0x86dd : 0x0800);
	f->l3 = o + 2;
	uint8_t *ip = b + f->l3;
	if (s->v6) {
		ip[0] = 0x60; ip[1] = 0x01; ip[2] = 0x23; ip[3] = 0x45;
		ip[6] = s->tcp ? 6 : 17;
		ip[7] = 64;
		memcpy(ip + 8, src6, 16);
		memcpy(ip + 24, dst6, 16);
		f->l4 = f->l3 + 40;
	} else {
		uint32_t ihl = 20 + s->ip_opt;
		ip[0] = (uint8_t)(0x40 | ihl / 4);
		ip[1] = 0x02;                 /* ECT(0) */
		put16(ip + 4, 0xfffe);        /* id: wraps during the run */
		put16(ip + 6, 0x4000);        /* DF */
		ip[8] = 64;
		ip[9] = s->tcp ? 6 : 17;
		memcpy(ip + 12, "\xa9\xfe\x01\x01\xa9\xfe\x01\x02", 8); /* 169.254.1.1 -> .2 */
		for (unsigned i = 0; i < s->ip_opt; i++)
			ip[20 + i] = i == 0 ? 0x94 : i == 1 ? 4 : i < 4 ? 0 : 1; /* RA, NOPs */
		f->l4 = f->l3 + ihl;
	}
	uint8_t *l4 = b + f->l4;
	put16(l4, 40000);
	put16(l4 + 2, 5201);
	if (s->tcp) {
		uint32_t doff = 20 + s->tcp_opt;
		put32(l4 + 4, 0xfffff000u);   /* seq: wraps during the run */
		put32(l4 + 8, 0x12345678);
		l4[12] = (uint8_t)(doff / 4 << 4);
		l4[13] = s->tcp_flags;
		put16(l4 + 14, 502);
		for (unsigned i = 0; i < s->tcp_opt; i++)
			l4[20 + i] = i < 2 ? 1 : i == 2 ? 8 : i == 3 ? 10 : (uint8_t)(0x30 + i);
		f->hlen = f->l4 + doff;
	} else {
		f->hlen = f->l4 + 8;
	}
	for (uint32_t i = 0; i < s->payload; i++)
		b[f->hlen + i] = (uint8_t)(i * 7 + i / 251);
	f->len = f->hlen + s->payload;
	/* Lengths as a sender's stack leaves them in the superframe. */
	if (s->v6)
		put16(ip + 4, f->len - f->l4);
	else
		put16(ip + 2, f->len - f->l3);
	if (!s->tcp)
		put16(l4 + 4, f->len - f->l4);
	/* The partial checksum: the pseudo-header sum, as Linux sends it. */
	uint32_t ps = s->v6 ? ref_add(0, ip + 8, 32) : ref_add(0, ip + 12, 8);
	ps += (s->tcp ? 6u : 17u) + (f->len - f->l4) % 0x10000 + (f->len - f->l4) / 0x10000;
	put16(l4 + (s->tcp ? 16 : 6), ref_fold(ps));
}

/* Copies a flat frame into a chain from pool, segment i holding cuts[i]
 * bytes (0-terminated list; the last takes the rest), or one segment. */
static struct vhu_pkt *load(struct vhu_pkt_pool *pool, const uint8_t *b, uint32_t len,
			    const uint32_t *cuts)
{
	struct vhu_pkt *head = vhu_pkt_alloc(pool), *seg = head;
	uint32_t done = 0;

	if (!head)
		return NULL;
	for (unsigned i = 0;; i++) {
		uint32_t n = cuts && cuts[i] ? cuts[i] : len - done;
		if (n > len - done)
			n = len - done;
		if (n > vhu_pkt_tailroom(seg)) {
			vhu_pkt_free(head);
			return NULL;
		}
		memcpy(vhu_pkt_data(seg), b + done, n);
		seg->data_len = n;
		done += n;
		if (done == len)
			break;
		struct vhu_pkt *nx = vhu_pkt_alloc(pool);
		if (!nx) {
			vhu_pkt_free(head);
			return NULL;
		}
		seg->next = nx;
		seg = nx;
		head->nb_segs++;
	}
	head->pkt_len = len;
	return head;
}

static void set_gso(struct vhu_pkt *p, const struct spec *s, const struct frame *f)
{
	p->ol.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	uint8_t t = !s->tcp ? VHU_NET_HDR_GSO_UDP_L4
		    : s->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	p->ol.gso_type = (uint8_t)(t | (s->ecn ? VIRTIO_NET_HDR_GSO_ECN : 0));
	p->ol.gso_size = s->mss;
	p->ol.hdr_len = (uint16_t)f->hlen;
	p->ol.csum_start = (uint16_t)f->l4;
	p->ol.csum_offset = s->tcp ? 16 : 6;
	p->port = 7;
	p->user = 0xabcd;
}

/* Flattens a packet, checking its segment bookkeeping on the way. */
static uint32_t flat(const struct vhu_pkt *p, uint8_t *dst, uint32_t cap)
{
	uint32_t sum = 0, n = 0;
	for (const struct vhu_pkt *s = p; s; s = s->next) {
		sum += s->data_len;
		n++;
	}
	CHECK_EQ(sum, p->pkt_len);
	CHECK_EQ(n, p->nb_segs);
	CHECK(p->pkt_len <= cap);
	return vhu_pkt_read(p, 0, dst, cap);
}

/* Segments the frame s describes and checks every output field by field. */
static void run_gso(const struct spec *s, const uint32_t *cuts, uint32_t out_room)
{
	static struct frame f;
	static uint8_t seg[70000], joined[70000];
	struct vhu_pkt_pool *in = vhu_pkt_pool_create("in", 64, 70000);
	struct vhu_pkt_pool *outp = vhu_pkt_pool_create("out", 256, out_room);
	struct vhu_pkt *out[128];
	REQUIRE(in && outp);

	make_frame(s, &f);
	struct vhu_pkt *p = load(in, f.b, f.len, cuts);
	REQUIRE(p);
	set_gso(p, s, &f);
	uint32_t expect = (s->payload + s->mss - 1) / s->mss;
	int n = vhu_pkt_gso_segment(p, outp, out, 128);
	CHECK_EQ(n, expect);
	/* The input is untouched. */
	CHECK_EQ(p->pkt_len, f.len);
	CHECK_EQ(vhu_pkt_read(p, 0, seg, sizeof(seg)), f.len);
	CHECK_MEM(seg, f.b, f.len);
	if (n != (int)expect) {
		vhu_pkt_free(p);
		if (n > 0)
			vhu_pkt_free_bulk(out, (unsigned)n);
		vhu_pkt_pool_destroy(in);
		vhu_pkt_pool_destroy(outp);
		return;
	}

	const uint32_t l3 = f.l3, l4 = f.l4, hl = f.hlen;
	const uint8_t *oh = f.b;
	uint32_t joined_len = 0;
	for (int i = 0; i < n; i++) {
		const struct vhu_pkt *o = out[i];
		uint32_t pl = i + 1 < n ? s->mss : s->payload - (uint32_t)i * s->mss;
		uint32_t len = flat(o, seg, sizeof(seg));
		CHECK_EQ(len, hl + pl);
		CHECK_EQ(o->ol.flags, VIRTIO_NET_HDR_F_DATA_VALID);
		CHECK_EQ(o->ol.gso_type, 0);
		CHECK_EQ(o->ol.gso_size, 0);
		CHECK_EQ(o->ol.hdr_len, 0);
		CHECK_EQ(o->ol.csum_start, 0);
		CHECK_EQ(o->ol.csum_offset, 0);
		CHECK_EQ(o->port, 7);
		CHECK_EQ(o->user, 0xabcd);
		/* L2 and tags exactly as found. */
		CHECK_MEM(seg, oh, l3);
		if (s->v6) {
			CHECK_MEM(seg + l3, oh + l3, 4);
			CHECK_EQ(get16(seg + l3 + 4), len - l4);
			CHECK_MEM(seg + l3 + 6, oh + l3 + 6, 34);
		} else {
			CHECK_EQ(seg[l3], oh[l3]);
			CHECK_EQ(seg[l3 + 1], oh[l3 + 1]);
			CHECK_EQ(get16(seg + l3 + 2), len - l3);
			CHECK_EQ(get16(seg + l3 + 4), (uint16_t)(0xfffe + i));
			CHECK_MEM(seg + l3 + 6, oh + l3 + 6, 4);  /* DF, ttl, proto */
			CHECK_MEM(seg + l3 + 12, oh + l3 + 12, l4 - l3 - 12); /* addrs, options */
			CHECK_EQ(ref_fold(ref_add(0, seg + l3, l4 - l3)), 0xffff);
		}
		CHECK_MEM(seg + l4, oh + l4, 4); /* ports */
		if (s->tcp) {
			uint8_t fl = oh[l4 + 13];
			if (i > 0)
				fl &= (uint8_t)~0x80;
			if (i + 1 < n)
				fl &= (uint8_t)~0x09;
			CHECK_EQ(get32(seg + l4 + 4), (uint32_t)(0xfffff000u + (uint32_t)i * s->mss));
			CHECK_MEM(seg + l4 + 8, oh + l4 + 8, 5); /* ack, data offset */
			CHECK_EQ(seg[l4 + 13], fl);
			CHECK_MEM(seg + l4 + 14, oh + l4 + 14, 2); /* window */
			CHECK_MEM(seg + l4 + 18, oh + l4 + 18, hl - l4 - 18); /* urg, options */
			CHECK_EQ(ref_l4_verify(seg, l3, l4, len, s->v6, 6), 0xffff);
		} else {
			CHECK_EQ(get16(seg + l4 + 4), len - l4);
			CHECK(get16(seg + l4 + 6) != 0);
			CHECK_EQ(ref_l4_verify(seg, l3, l4, len, s->v6, 17), 0xffff);
		}
		memcpy(joined + joined_len, seg + hl, pl);
		joined_len += pl;
	}
	CHECK_EQ(joined_len, s->payload);
	CHECK_MEM(joined, f.b + hl, s->payload);
	vhu_pkt_free_bulk(out, (unsigned)n);
	vhu_pkt_free(p);
	CHECK_EQ(vhu_pkt_pool_avail(outp), 256);
	CHECK_EQ(vhu_pkt_pool_avail(in), 64);
	vhu_pkt_pool_destroy(in);
	vhu_pkt_pool_destroy(outp);
}

static void test_tcp4_options(void)
{
	/* IP and TCP options, ECN (CWR|ECE), FIN|PSH|ACK, payload not a
	 * multiple of the MSS; the IPv4 id and the sequence number wrap. */
	struct spec s = { .tcp = true, .ip_opt = 8, .tcp_opt = 12, .tcp_flags = 0xd9,
			  .payload = 4321, .mss = 1000, .ecn = true };
	run_gso(&s, NULL, 2048);
}

static void test_tcp6(void)
{
	struct spec s = { .v6 = true, .tcp = true, .tcp_opt = 12, .tcp_flags = 0x18,
			  .payload = 3000, .mss = 1428 };
	run_gso(&s, NULL, 2048);
}

static void test_uso4(void)
{
	struct spec s = { .payload = 2500, .mss = 1000 };
	run_gso(&s, NULL, 2048);
}

static void test_uso6(void)
{
	struct spec s = { .v6 = true, .payload = 2000, .mss = 1000 };
	run_gso(&s, NULL, 2048);
}

static void test_vlan(void)
{
	struct spec one = { .tcp = true, .tags = 1, .tcp_flags = 0x10, .payload = 3001, .mss = 1460 };
	struct spec qinq = { .v6 = true, .tags = 2, .payload = 3001, .mss = 1000 };
	run_gso(&one, NULL, 2048);
	run_gso(&qinq, NULL, 2048);
}

static void test_chained(void)
{
	/* Source split at odd places (inside the TCP header, then odd
	 * lengths), outputs chained over 192-byte segments. */
	static const uint32_t cuts[] = { 41, 77, 1, 333, 999, 2, 513, 0 };
	struct spec s = { .tcp = true, .ip_opt = 4, .tcp_opt = 12, .tcp_flags = 0x19,
			  .payload = 5000, .mss = 1448 };
	struct spec u = { .v6 = true, .payload = 4001, .mss = 1200 };
	run_gso(&s, cuts, 2048);
	run_gso(&s, cuts, 192);
	run_gso(&u, cuts, 192);
}

static void test_one_segment(void)
{
	struct spec exact = { .tcp = true, .tcp_flags = 0x19 | 0x80, .payload = 1448, .mss = 1448 };
	struct spec less = { .v6 = true, .tcp = true, .tcp_flags = 0x18, .payload = 10, .mss = 1448 };
	struct spec big = { .tcp = true, .tcp_flags = 0x10, .payload = 64000, .mss = 9000 };
	run_gso(&exact, NULL, 2048);
	run_gso(&less, NULL, 2048);
	run_gso(&big, NULL, 2048); /* jumbo frames chained over 2 KiB segments */
}

/* ---- against the kernel ---- */

/* Linux 6.18 segmented one 440-byte send() into these frames (veth with
 * tx checksumming and TSO off, so its software GSO did both; TCP_MAXSEG
 * 100, so 88 payload bytes after the timestamp option), captured with
 * tcpdump on the sender's veth, IPv4 then IPv6 (link-local). The headers
 * are as on the wire; the payload, stream byte j being pat(j), was
 * checked equal at capture and is covered by the checksums here. One
 * frame is three lines: Ethernet, IP and TCP header. */
static const char *const kernel_v4[] = {
	"0200000000020200000000010800"
	"4500008cf86b400040065400a9fe4d01a9fe4d02"
	"b0041451b19ed15eb514148680100040f1fc00000101080a8c84645e6cd35780",
	"0200000000020200000000010800"
	"4500008cf86c4000400653ffa9fe4d01a9fe4d02"
	"b0041451b19ed1b6b5141486801000400ec200000101080a8c84645e6cd35780",
	"0200000000020200000000010800"
	"4500008cf86d4000400653fea9fe4d01a9fe4d02"
	"b0041451b19ed20eb514148680100040298400000101080a8c84645e6cd35780",
	"0200000000020200000000010800"
	"4500008cf86e4000400653fda9fe4d01a9fe4d02"
	"b0041451b19ed266b514148680100040242700000101080a8c84645e6cd35780",
	"0200000000020200000000010800"
	"4500008cf86f4000400653fca9fe4d01a9fe4d02"
	"b0041451b19ed2beb51414868018004040e400000101080a8c84645e6cd35780",
};
static const char *const kernel_v6[] = {
	"02000000000202000000000186dd"
	"6000a82d00780640fe800000000000000000000000000001fe800000000000000000000000000002"
	"9ba01452a746e3b90a090b26801000408eca00000101080aa18d87517e8922c8",
	"02000000000202000000000186dd"
	"6000a82d00780640fe800000000000000000000000000001fe800000000000000000000000000002"
	"9ba01452a746e4110a090b2680100040ab8f00000101080aa18d87517e8922c8",
	"02000000000202000000000186dd"
	"6000a82d00780640fe800000000000000000000000000001fe800000000000000000000000000002"
	"9ba01452a746e4690a090b2680100040c65100000101080aa18d87517e8922c8",
	"02000000000202000000000186dd"
	"6000a82d00780640fe800000000000000000000000000001fe800000000000000000000000000002"
	"9ba01452a746e4c10a090b2680100040c0f400000101080aa18d87517e8922c8",
	"02000000000202000000000186dd"
	"6000a82d00780640fe800000000000000000000000000001fe800000000000000000000000000002"
	"9ba01452a746e5190a090b2680180040ddb100000101080aa18d87517e8922c8",
};
#define KSEGS 5
#define KMSS 88

static uint8_t pat(uint32_t j) { return (uint8_t)(j * 7 + j / 251); }

static void unhex(const char *h, uint8_t *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(h + 2 * i, "%2x", &v);
		b[i] = (uint8_t)v;
	}
}

/* Rebuilds the superframe the kernel had from its segments, segments it
 * again with ours and wants the kernel's frames byte for byte. */
static void kernel_case(const char *const *hdrs, bool v6)
{
	const uint32_t l3 = 14, l4 = v6 ? 54 : 34, hl = l4 + 32, len = hl + KMSS;
	static uint8_t want[KSEGS][256], sup[1024], got[256];
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("kern", 16, 2048);
	struct vhu_pkt *out[8];
	REQUIRE(pool);
	REQUIRE(strlen(hdrs[0]) == 2 * hl);

	for (uint32_t i = 0; i < KSEGS; i++) {
		unhex(hdrs[i], want[i], hl);
		for (uint32_t j = 0; j < KMSS; j++)
			want[i][hl + j] = pat(i * KMSS + j);
		CHECK_EQ(ref_l4_verify(want[i], l3, l4, len, v6, 6), 0xffff);
	}
	memcpy(sup, want[0], hl);
	for (uint32_t j = 0; j < KSEGS * KMSS; j++)
		sup[hl + j] = pat(j);
	sup[l4 + 13] |= want[KSEGS - 1][l4 + 13] & 0x09; /* FIN, PSH of the last */
	if (v6)
		put16(sup + l3 + 4, hl - l4 + KSEGS * KMSS);
	else
		put16(sup + l3 + 2, hl - l3 + KSEGS * KMSS);
	struct vhu_pkt *p = load(pool, sup, hl + KSEGS * KMSS, NULL);
	REQUIRE(p);
	p->ol.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->ol.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	p->ol.gso_size = KMSS;
	p->ol.hdr_len = (uint16_t)hl;
	p->ol.csum_start = (uint16_t)l4;
	p->ol.csum_offset = 16;
	CHECK_EQ(vhu_pkt_gso_segment(p, pool, out, 8), KSEGS);
	for (uint32_t i = 0; i < KSEGS; i++) {
		CHECK_EQ(flat(out[i], got, sizeof(got)), len);
		CHECK_MEM(got, want[i], len);
	}
	vhu_pkt_free_bulk(out, KSEGS);
	vhu_pkt_free(p);
	CHECK_EQ(vhu_pkt_pool_avail(pool), 16);
	vhu_pkt_pool_destroy(pool);
}

static void test_kernel(void)
{
	kernel_case(kernel_v4, false);
	kernel_case(kernel_v6, true);
}

/* ---- bad metadata ---- */

enum mut {
	M_NONE, M_TYPE_NONE, M_TYPE_UFO, M_TYPE_2, M_TYPE_V6, M_USO_ECN, M_MSS0, M_NO_CSUM,
	M_CSUM_START, M_CSUM_OFF, M_HDRLEN_BIG, M_HDRLEN_SMALL, M_SHORT, M_NO_PAYLOAD,
	M_DOFF_SMALL, M_DOFF_BIG, M_IHL_SMALL, M_FRAG_MF, M_FRAG_OFF, M_PROTO, M_ETH_ARP,
	M_IPVER, M_V6_EXT, M_TAGS5, M_MAX, M_POOL_HEADS, M_POOL_CHAIN, M_LEN_LIE, M_HUGE,
};

static void bad_case(enum mut m, int expect, const char *name)
{
	static struct frame f;
	struct spec s = { .tcp = true, .tcp_flags = 0x18, .payload = 4000, .mss = 1000 };
	uint32_t out_room = 2048, out_n = 64, in_room = 8192, max = 64;

	if (m == M_V6_EXT)
		s.v6 = true;
	if (m == M_TAGS5)
		s.tags = 5;
	if (m == M_POOL_HEADS)
		out_n = 3;
	if (m == M_POOL_CHAIN)
		out_room = 512, out_n = 6; /* 4 heads, then chains run dry */
	if (m == M_MAX)
		max = 3;
	if (m == M_HUGE)
		s.payload = 65530, s.mss = 65500, in_room = 70000;
	make_frame(&s, &f);
	struct vhu_pkt_pool *in = vhu_pkt_pool_create("bad-in", 4, in_room);
	struct vhu_pkt_pool *outp = vhu_pkt_pool_create("bad-out", out_n, out_room);
	struct vhu_pkt *out[64];
	REQUIRE(in && outp);
	uint8_t *ip = f.b + f.l3, *th = f.b + f.l4;
	switch (m) {
	case M_DOFF_SMALL: th[12] = 4 << 4; break;
	case M_DOFF_BIG: th[12] = 15 << 4; f.len = f.l4 + 40; break; /* 60-byte header, 40 there */
	case M_IHL_SMALL: ip[0] = 0x44; break;
	case M_FRAG_MF: put16(ip + 6, 0x2000); break;
	case M_FRAG_OFF: put16(ip + 6, 0x0001); break;
	case M_PROTO: ip[9] = 17; break;
	case M_ETH_ARP: put16(f.b + 12, 0x0806); break;
	case M_IPVER: ip[0] = 0x55; break;
	case M_V6_EXT: ip[6] = 0; break; /* hop-by-hop options */
	case M_SHORT: f.len = f.l4 + 10; break;
	case M_NO_PAYLOAD: f.len = f.hlen; break;
	default: break;
	}
	struct vhu_pkt *p = load(in, f.b, f.len, NULL);
	REQUIRE(p);
	set_gso(p, &s, &f);
	switch (m) {
	case M_TYPE_NONE: p->ol.gso_type = VIRTIO_NET_HDR_GSO_NONE; break;
	case M_TYPE_UFO: p->ol.gso_type = VIRTIO_NET_HDR_GSO_UDP; break;
	case M_TYPE_2: p->ol.gso_type = 2; break;
	case M_TYPE_V6: p->ol.gso_type = VIRTIO_NET_HDR_GSO_TCPV6; break;
	case M_USO_ECN: p->ol.gso_type = VHU_NET_HDR_GSO_UDP_L4 | VIRTIO_NET_HDR_GSO_ECN;
		p->ol.csum_offset = 6; break;
	case M_MSS0: p->ol.gso_size = 0; break;
	case M_NO_CSUM: p->ol.flags = 0; break;
	case M_CSUM_START: p->ol.csum_start++; break;
	case M_CSUM_OFF: p->ol.csum_offset = 6; break;
	case M_HDRLEN_BIG: p->ol.hdr_len = (uint16_t)(f.len + 1); break;
	case M_HDRLEN_SMALL: p->ol.hdr_len = (uint16_t)(f.hlen - 1); break;
	case M_LEN_LIE: p->pkt_len += 500; break; /* chain holds less */
	default: break;
	}
	uint32_t before_in = vhu_pkt_pool_avail(in);
	int rc = vhu_pkt_gso_segment(p, outp, out, max);
	if (rc != expect)
		fprintf(stderr, "bad case '%s': got %d, want %d\n", name, rc, expect);
	CHECK_EQ(rc, expect);
	if (rc > 0)
		vhu_pkt_free_bulk(out, (unsigned)rc);
	/* An error leaves nothing allocated. */
	CHECK_EQ(vhu_pkt_pool_avail(outp), out_n);
	CHECK_EQ(vhu_pkt_pool_avail(in), before_in);
	vhu_pkt_free(p);
	vhu_pkt_pool_destroy(in);
	vhu_pkt_pool_destroy(outp);
}

static void test_bad(void)
{
	static const struct { enum mut m; int rc; const char *name; } cases[] = {
		{ M_NONE, 4, "control: the good frame" },
		{ M_TYPE_NONE, -EINVAL, "not a GSO packet" },
		{ M_TYPE_UFO, -ENOTSUP, "legacy UFO" },
		{ M_TYPE_2, -ENOTSUP, "unknown GSO type 2" },
		{ M_TYPE_V6, -EINVAL, "TCPV6 on an IPv4 frame" },
		{ M_USO_ECN, -EINVAL, "USO with ECN" },
		{ M_MSS0, -EINVAL, "gso_size 0" },
		{ M_NO_CSUM, -EINVAL, "GSO without NEEDS_CSUM" },
		{ M_CSUM_START, -EINVAL, "csum_start not at the TCP header" },
		{ M_CSUM_OFF, -EINVAL, "csum_offset of UDP on TCP" },
		{ M_HDRLEN_BIG, -EINVAL, "hdr_len past the end" },
		{ M_HDRLEN_SMALL, -EINVAL, "hdr_len inside the headers" },
		{ M_SHORT, -EINVAL, "TCP header past the end" },
		{ M_NO_PAYLOAD, -EINVAL, "headers only" },
		{ M_DOFF_SMALL, -EINVAL, "TCP data offset 4" },
		{ M_DOFF_BIG, -EINVAL, "TCP options past the end" },
		{ M_IHL_SMALL, -EINVAL, "IPv4 ihl 4" },
		{ M_FRAG_MF, -EINVAL, "IPv4 more-fragments" },
		{ M_FRAG_OFF, -EINVAL, "IPv4 fragment offset" },
		{ M_PROTO, -EINVAL, "UDP in a TCPV4 frame" },
		{ M_ETH_ARP, -EINVAL, "not IP" },
		{ M_IPVER, -EINVAL, "IP version 5" },
		{ M_V6_EXT, -ENOTSUP, "IPv6 extension header" },
		{ M_TAGS5, -ENOTSUP, "five VLAN tags" },
		{ M_MAX, -ENOBUFS, "max 3 for 4 frames" },
		{ M_POOL_HEADS, -ENOMEM, "pool without room for the heads" },
		{ M_POOL_CHAIN, -ENOMEM, "pool dry while chaining" },
		{ M_LEN_LIE, -EINVAL, "pkt_len past the chain" },
		{ M_HUGE, -EINVAL, "IPv4 total length over 65535" },
	};
	for (size_t i = 0; i < VHU_ARRAY_SIZE(cases); i++)
		bad_case(cases[i].m, cases[i].rc, cases[i].name);
}

/* ---- checksum completion ---- */

static void test_csum_straddle(void)
{
	static struct frame f;
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("cs", 16, 4096);
	REQUIRE(pool);
	for (int v6 = 0; v6 <= 1; v6++) {
		struct spec s = { .v6 = v6, .tcp = true, .tcp_opt = 4, .tcp_flags = 0x18,
				  .payload = 1001 };
		make_frame(&s, &f);
		/* Cut between the checksum field's two bytes, then odd pieces. */
		uint32_t cuts[] = { f.l4 + 17, 3, 101, 0 };
		struct vhu_pkt *p = load(pool, f.b, f.len, cuts);
		REQUIRE(p);
		REQUIRE(p->nb_segs == 4);
		p->ol.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		p->ol.csum_start = (uint16_t)f.l4;
		p->ol.csum_offset = 16;
		CHECK_EQ(vhu_pkt_csum_complete(p), 0);
		CHECK_EQ(p->ol.flags, VIRTIO_NET_HDR_F_DATA_VALID);
		CHECK_EQ(p->ol.csum_start, 0);
		static uint8_t b[4096];
		CHECK_EQ(flat(p, b, sizeof(b)), f.len);
		CHECK_EQ(ref_l4_verify(b, f.l3, f.l4, f.len, s.v6, 6), 0xffff);
		/* Everything but the field is as it was. */
		CHECK_MEM(b, f.b, f.l4 + 16);
		CHECK_MEM(b + f.l4 + 18, f.b + f.l4 + 18, f.len - f.l4 - 18);
		/* Done already: nothing to do, nothing changed. */
		CHECK_EQ(vhu_pkt_csum_complete(p), 0);
		static uint8_t b2[4096];
		vhu_pkt_read(p, 0, b2, sizeof(b2));
		CHECK_MEM(b2, b, f.len);
		vhu_pkt_free(p);
	}
	CHECK_EQ(vhu_pkt_pool_avail(pool), 16);
	vhu_pkt_pool_destroy(pool);
}

static void test_csum_udp_zero(void)
{
	static struct frame f;
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("cs0", 8, 4096);
	struct spec s = { .payload = 100 };
	REQUIRE(pool);
	make_frame(&s, &f);
	/* Make the checksum come out 0: add the would-be checksum into a
	 * payload word, so the sum becomes 0xffff. */
	uint32_t sum = ref_add(0, f.b + f.l3 + 12, 8) + 17 + (f.len - f.l4);
	uint8_t save[2] = { f.b[f.l4 + 6], f.b[f.l4 + 7] };
	put16(f.b + f.l4 + 6, 0);
	uint16_t c = (uint16_t)~ref_fold(ref_add(sum, f.b + f.l4, f.len - f.l4));
	f.b[f.l4 + 6] = save[0];
	f.b[f.l4 + 7] = save[1];
	put16(f.b + f.hlen, ref_fold((uint32_t)get16(f.b + f.hlen) + c));
	struct vhu_pkt *p = load(pool, f.b, f.len, NULL);
	REQUIRE(p);
	p->ol.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->ol.csum_start = (uint16_t)f.l4;
	p->ol.csum_offset = 6;
	CHECK_EQ(vhu_pkt_csum_complete(p), 0);
	uint8_t b[2];
	vhu_pkt_read(p, f.l4 + 6, b, 2);
	CHECK_EQ(get16(b), 0xffff); /* 0 would mean "no checksum" */
	static uint8_t all[4096];
	vhu_pkt_read(p, 0, all, f.len);
	CHECK_EQ(ref_l4_verify(all, f.l3, f.l4, f.len, false, 17), 0xffff);
	vhu_pkt_free(p);
	vhu_pkt_pool_destroy(pool);
}

static void test_csum_bad(void)
{
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("csb", 4, 512);
	REQUIRE(pool);
	struct vhu_pkt *p = vhu_pkt_alloc(pool);
	REQUIRE(p);
	uint8_t *d = vhu_pkt_append(p, 100);
	for (int i = 0; i < 100; i++)
		d[i] = (uint8_t)i;
	uint8_t copy[100];
	memcpy(copy, d, 100);
	static const struct { uint16_t start, off; uint8_t gso; int rc; } cases[] = {
		{ 98, 0, 0, 0 },        /* the last two bytes: fine */
		{ 99, 0, 0, -EINVAL },  /* field straddles the end */
		{ 50, 49, 0, -EINVAL },
		{ 100, 0, 0, -EINVAL },
		{ 65535, 65535, 0, -EINVAL },
		{ 34, 16, VIRTIO_NET_HDR_GSO_TCPV4, -EINVAL }, /* GSO: segment it */
	};
	for (size_t i = 0; i < VHU_ARRAY_SIZE(cases); i++) {
		memcpy(d, copy, 100);
		p->ol.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		p->ol.gso_type = cases[i].gso;
		p->ol.gso_size = cases[i].gso ? 10 : 0;
		p->ol.csum_start = cases[i].start;
		p->ol.csum_offset = cases[i].off;
		CHECK_EQ(vhu_pkt_csum_complete(p), cases[i].rc);
		if (cases[i].rc) {
			CHECK_MEM(d, copy, 100);
			CHECK_EQ(p->ol.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
			CHECK_EQ(p->ol.csum_start, cases[i].start);
		}
	}
	/* No NEEDS_CSUM: nothing to do. */
	memcpy(d, copy, 100);
	memset(&p->ol, 0, sizeof(p->ol));
	p->ol.csum_start = 99;
	CHECK_EQ(vhu_pkt_csum_complete(p), 0);
	CHECK_MEM(d, copy, 100);
	CHECK_EQ(p->ol.flags, 0);
	vhu_pkt_free(p);
	vhu_pkt_pool_destroy(pool);
}

/* The one checksum routine against the reference, on random chains cut at
 * random (odd) places, from random offsets, with a random starting sum. */
static void test_csum_random(void)
{
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("rnd", 64, 4096);
	static uint8_t b[4096];
	REQUIRE(pool);
	srand(16);
	for (int it = 0; it < 2000; it++) {
		uint32_t len = (uint32_t)rand() % 3000, cuts[9] = { 0 };
		for (uint32_t i = 0; i < len; i++)
			b[i] = (uint8_t)rand();
		for (int i = 0; i < 8; i++)
			cuts[i] = 1 + (uint32_t)rand() % 400;
		struct vhu_pkt *p = load(pool, b, len, it % 2 ? cuts : NULL);
		REQUIRE(p);
		uint32_t off = len ? (uint32_t)rand() % (len + 1) : 0;
		uint16_t init = (uint16_t)rand();
		CHECK_EQ(vhu_csum_pkt(p, off, init), ref_fold(ref_add(init, b + off, len - off)));
		CHECK_EQ(vhu_csum_buf(b + off, len - off, init),
			 ref_fold(ref_add(init, b + off, len - off)));
		vhu_pkt_free(p);
	}
	CHECK_EQ(vhu_pkt_pool_avail(pool), 64);
	vhu_pkt_pool_destroy(pool);
}

int main(void)
{
	t_init();
	RUN(test_csum_random);
	RUN(test_csum_straddle);
	RUN(test_csum_udp_zero);
	RUN(test_csum_bad);
	RUN(test_tcp4_options);
	RUN(test_tcp6);
	RUN(test_uso4);
	RUN(test_uso6);
	RUN(test_vlan);
	RUN(test_chained);
	RUN(test_one_segment);
	RUN(test_kernel);
	RUN(test_bad);
	return t_done("offload");
}
