/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * txonly packets and their --verify check.
 *
 * Frame: Ethernet 02:00:00:00:00:01 -> 02:00:00:00:00:02, IPv4
 * 169.254.1.1 -> 169.254.1.2, UDP 4000 -> 4001 (checksum 0, which IPv4
 * allows), then the payload. With --verify the payload starts with
 *
 *   be32 magic 0x76687566 ("vhuf")
 *   be32 seq          per-process sequence number
 *   be16 len          payload bytes, this header included
 *   be16 reserved     0
 *   be32 csum         hash of seq, len and every byte after csum
 *
 * followed by bytes (seq * 31 + i) & 0xff, so that a payload swapped with
 * another packet's, shifted or truncated fails the checksum. The hash is
 * FNV-1a over 64-bit words in four lanes (host order: sender and checker
 * are both vhu-fwd on this host), folded to 32 bits: a byte-wise hash cost
 * more than the rest of the data path at 9000-byte frames. Every step is a
 * bijection of the running value, so any single changed word changes it. Without
 * --verify only the headers are written and the magic is zeroed: pool
 * buffers may still hold an old payload, which must not look checkable.
 */
#include <arpa/inet.h>
#include <string.h>
#include <vhu/pkt.h>
#include "fwd.h"

#define ETH_LEN 14
#define IP_LEN 20
#define UDP_LEN 8
#define HDRS_LEN (ETH_LEN + IP_LEN + UDP_LEN)
#define VHDR_LEN 16
#define MAGIC 0x76687566u
#define FNV_SEED 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint8_t tmpl[HDRS_LEN];
/* ramp[j] = j & 0xff: any payload pattern is one memcpy out of it. */
static uint8_t ramp[256 + 65536];
static uint32_t gen_size;
static bool gen_verify_on;
static uint32_t gen_seq;
/* Multi-segment packets are checked from a flat copy. 64 KiB covers the
 * largest GSO frame; anything larger is not checked. Only the forwarding
 * thread calls gen_verify. */
static uint8_t scratch[65536 + 256];

static uint16_t ip_csum(const uint8_t *p, unsigned len)
{
	uint32_t sum = 0;
	for (unsigned i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Four lanes so the multiplies overlap; words are taken 32 bytes at a
 * time, one per lane, then the lanes and the tail are chained. */
static uint32_t payload_hash(uint32_t seq, uint16_t len, const uint8_t *p, size_t n)
{
	uint64_t h[4] = { FNV_SEED ^ ((uint64_t)seq << 16 | len), FNV_SEED + 1,
			  FNV_SEED + 2, FNV_SEED + 3 };
	size_t i = 0;

	for (; i + 32 <= n; i += 32)
		for (unsigned l = 0; l < 4; l++) {
			uint64_t w;
			memcpy(&w, p + i + 8 * l, 8);
			h[l] = (h[l] ^ w) * FNV_PRIME;
		}
	uint64_t r = h[0];
	for (unsigned l = 1; l < 4; l++)
		r = (r ^ h[l]) * FNV_PRIME;
	for (; i < n; i++)
		r = (r ^ p[i]) * FNV_PRIME;
	return (uint32_t)(r ^ (r >> 32));
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

int gen_init(uint32_t pkt_size, bool verify)
{
	static const uint8_t dst[6] = { 2, 0, 0, 0, 0, 2 }, src[6] = { 2, 0, 0, 0, 0, 1 };
	uint8_t *ip = tmpl + ETH_LEN, *udp = ip + IP_LEN;

	if (pkt_size < HDRS_LEN + VHDR_LEN)
		return -1;
	gen_size = pkt_size;
	gen_verify_on = verify;
	memset(tmpl, 0, sizeof(tmpl));
	for (size_t j = 0; j < sizeof(ramp); j++)
		ramp[j] = (uint8_t)j;
	memcpy(tmpl, dst, 6);
	memcpy(tmpl + 6, src, 6);
	put16(tmpl + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(pkt_size - ETH_LEN));
	ip[8] = 64;
	ip[9] = 17;
	put32(ip + 12, 0xa9fe0101); /* 169.254.1.1 */
	put32(ip + 16, 0xa9fe0102); /* 169.254.1.2 */
	put16(ip + 10, ip_csum(ip, IP_LEN));
	put16(udp, 4000);
	put16(udp + 2, 4001);
	put16(udp + 4, (uint16_t)(pkt_size - ETH_LEN - IP_LEN));
	return 0;
}

static void fill_payload(uint8_t *pl, uint32_t len)
{
	uint32_t seq = gen_seq++;
	uint8_t base = (uint8_t)(seq * 31);

	put32(pl, MAGIC);
	put32(pl + 4, seq);
	put16(pl + 8, (uint16_t)len);
	put16(pl + 10, 0);
	memcpy(pl + VHDR_LEN, ramp + (uint8_t)(base + VHDR_LEN), len - VHDR_LEN);
	put32(pl + 12, payload_hash(seq, (uint16_t)len, pl + VHDR_LEN, len - VHDR_LEN));
}

/* Segments come from a pool whose data room holds pkt_size (main.c), so
 * append cannot fail on a fresh segment. */
void gen_fill(struct vhu_pkt **pkts, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t *d = vhu_pkt_append(pkts[i], gen_size);
		memcpy(d, tmpl, HDRS_LEN);
		if (gen_verify_on)
			fill_payload(d + HDRS_LEN, gen_size - HDRS_LEN);
		else
			memset(d + HDRS_LEN, 0, 4);
	}
}

static enum gen_check check_payload(const uint8_t *udp, uint32_t udp_len)
{
	const uint8_t *pl = udp + UDP_LEN;
	uint32_t len = udp_len - UDP_LEN;

	if (get16(udp + 4) != udp_len || get16(pl + 8) != len)
		return GEN_BAD;
	return payload_hash(get32(pl + 4), (uint16_t)len, pl + VHDR_LEN,
			    len - VHDR_LEN) == get32(pl + 12) ? GEN_VERIFIED : GEN_BAD;
}

/* Anything this cannot check is said so (GEN_UNCHECKED), never passed as
 * good: a frame shifted by a few bytes loses its ethertype and must show
 * up in the counts rather than vanish from them. */
enum gen_check gen_verify(const struct vhu_pkt *pkt)
{
	const uint8_t *d;
	uint32_t len;

	/* The frontend asked for segmentation: headers are templates. */
	if (pkt->ol.gso_type != 0)
		return GEN_UNCHECKED;
	if (pkt->nb_segs == 1) {
		d = vhu_pkt_data(pkt);
		len = pkt->data_len;
	} else {
		if (pkt->pkt_len > sizeof(scratch))
			return GEN_UNCHECKED;
		len = vhu_pkt_read(pkt, 0, scratch, pkt->pkt_len);
		if (len != pkt->pkt_len)
			return GEN_BAD;
		d = scratch;
	}
	if (len < ETH_LEN)
		return GEN_BAD;
	uint32_t l2 = ETH_LEN;
	uint16_t type = get16(d + 12);
	if (type == 0x8100 && len >= ETH_LEN + 4) {
		type = get16(d + 16);
		l2 += 4;
	}
	if (type != 0x0800)
		return GEN_UNCHECKED;
	const uint8_t *ip = d + l2;
	uint32_t room = len - l2;
	if (room < IP_LEN || (ip[0] >> 4) != 4)
		return GEN_BAD;
	uint32_t ihl = (ip[0] & 0xfu) * 4;
	uint32_t tot = get16(ip + 2);
	if (ihl < IP_LEN || ihl > room || ip_csum(ip, ihl) != 0)
		return GEN_BAD;
	if (tot < ihl || tot > room)
		return GEN_BAD;
	/* Only unfragmented UDP can carry our header whole. */
	if (ip[9] != 17 || (get16(ip + 6) & 0x3fff) != 0 ||
	    tot < ihl + UDP_LEN + VHDR_LEN)
		return GEN_HDR_CHECKED;
	const uint8_t *udp = ip + ihl;
	if (get32(udp + UDP_LEN) != MAGIC)
		return GEN_HDR_CHECKED;
	return check_payload(udp, tot - ihl);
}
