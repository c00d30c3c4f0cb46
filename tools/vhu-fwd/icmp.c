/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * icmpecho: a host that owns every address. ARP requests for any IPv4
 * address and IPv6 neighbour solicitations for any target are answered
 * with ICMP_MAC; echo requests get echo replies. Replies are built in
 * place in the request's buffer, so the mode needs no allocation.
 * Requests spread over several segments are not expected (they are tiny)
 * and are ignored.
 */
#include <string.h>
#include <vhu/pkt.h>
#include "fwd.h"

static const uint8_t ICMP_MAC[6] = { 0x02, 0x76, 0x68, 0x75, 0x00, 0x01 };

#define ETH_LEN 14
#define ARP_LEN 28
#define IP6_LEN 40
#define NA_LEN 32 /* ICMPv6 header, flags, target, one link-layer option */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }

static uint32_t sum16(uint32_t sum, const uint8_t *p, unsigned len)
{
	for (unsigned i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* RFC 1624 incremental update: one 16-bit word of the covered data went
 * from old to new. */
static uint16_t csum_adjust(uint16_t ck, uint16_t old, uint16_t new)
{
	uint32_t sum = (uint16_t)~ck + (uint32_t)(uint16_t)~old + new;
	return fold(sum);
}

static void swap_bytes(uint8_t *a, uint8_t *b, unsigned n)
{
	uint8_t t[16];
	memcpy(t, a, n);
	memcpy(a, b, n);
	memcpy(b, t, n);
}

static void eth_reply(uint8_t *eth)
{
	memcpy(eth, eth + 6, 6);
	memcpy(eth + 6, ICMP_MAC, 6);
}

static bool arp(uint8_t *eth, uint32_t len)
{
	uint8_t *a = eth + ETH_LEN;

	if (len < ETH_LEN + ARP_LEN || get16(a) != 1 || get16(a + 2) != 0x0800 ||
	    a[4] != 6 || a[5] != 4 || get16(a + 6) != 1)
		return false;
	uint8_t asked[4];
	memcpy(asked, a + 24, 4);
	put16(a + 6, 2);
	memcpy(a + 18, a + 8, 10); /* the requester becomes the target */
	memcpy(a + 8, ICMP_MAC, 6);
	memcpy(a + 14, asked, 4);  /* we own whatever address was asked */
	eth_reply(eth);
	return true;
}

static bool icmp4(uint8_t *eth, uint32_t len)
{
	uint8_t *ip = eth + ETH_LEN;
	uint32_t ihl = (ip[0] & 0xfu) * 4;

	if (len < ETH_LEN + 20 || (ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 1 ||
	    (get16(ip + 6) & 0x3fff) != 0 || get16(ip + 2) > len - ETH_LEN ||
	    get16(ip + 2) < ihl + 8 || fold(sum16(0, ip, ihl)) != 0)
		return false;
	uint8_t *ic = ip + ihl;
	if (ic[0] != 8 || ic[1] != 0 || ip[16] >= 224)
		return false; /* a group or broadcast address cannot answer */
	ic[0] = 0;
	put16(ic + 2, csum_adjust(get16(ic + 2), 0x0800, 0x0000));
	swap_bytes(ip + 12, ip + 16, 4);
	ip[8] = 64;
	put16(ip + 10, 0);
	put16(ip + 10, fold(sum16(0, ip, ihl)));
	eth_reply(eth);
	return true;
}

static uint16_t icmp6_csum(const uint8_t *ip6, const uint8_t *ic, uint32_t len)
{
	uint32_t sum = sum16(0, ip6 + 8, 32); /* source and destination */
	sum += len;
	sum += 58;
	return fold(sum16(sum, ic, len));
}

static bool icmp6(struct vhu_pkt *pkt, uint8_t *eth, uint32_t len)
{
	uint8_t *ip6 = eth + ETH_LEN;

	if (len < ETH_LEN + IP6_LEN + 8 || (ip6[0] >> 4) != 6 || ip6[6] != 58)
		return false;
	uint32_t plen = get16(ip6 + 4);
	if (plen < 8 || plen > len - ETH_LEN - IP6_LEN)
		return false;
	uint8_t *ic = ip6 + IP6_LEN;
	if (ic[1] != 0)
		return false;
	if (ic[0] == 128) { /* echo request */
		if (ip6[24] == 0xff)
			return false; /* to a group: no single source to answer from */
		ic[0] = 129;
		put16(ic + 2, csum_adjust(get16(ic + 2), 0x8000, 0x8100));
		swap_bytes(ip6 + 8, ip6 + 24, 16);
		ip6[7] = 64;
		eth_reply(eth);
		return true;
	}
	if (ic[0] != 135 || plen < 24)
		return false;
	static const uint8_t unspec[16];
	if (memcmp(ip6 + 8, unspec, 16) == 0)
		return false; /* duplicate address detection: stay quiet */
	uint32_t need = ETH_LEN + IP6_LEN + NA_LEN;
	if (pkt->data_off + need > pkt->buf_len)
		return false;
	/* Solicitation -> advertisement: to the asker, from the target. */
	memcpy(ip6 + 24, ip6 + 8, 16);
	memcpy(ip6 + 8, ic + 8, 16);
	put16(ip6 + 4, NA_LEN);
	ip6[7] = 255;
	ic[0] = 136;
	ic[4] = 0x60; /* solicited, override */
	ic[5] = ic[6] = ic[7] = 0;
	ic[24] = 2;   /* target link-layer address option */
	ic[25] = 1;
	memcpy(ic + 26, ICMP_MAC, 6);
	put16(ic + 2, 0);
	put16(ic + 2, icmp6_csum(ip6, ic, NA_LEN));
	pkt->data_len = pkt->pkt_len = need;
	eth_reply(eth);
	return true;
}

bool icmp_reply(struct vhu_pkt *pkt)
{
	if (pkt->nb_segs != 1 || pkt->data_len < ETH_LEN)
		return false;
	uint8_t *eth = vhu_pkt_data(pkt);
	uint32_t len = pkt->data_len;
	bool ok;

	switch (get16(eth + 12)) {
	case 0x0806: ok = arp(eth, len); break;
	case 0x0800: ok = icmp4(eth, len); break;
	case 0x86dd: ok = icmp6(pkt, eth, len); break;
	default: ok = false;
	}
	if (ok)
		memset(&pkt->ol, 0, sizeof(pkt->ol));
	return ok;
}
