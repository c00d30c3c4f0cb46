/* SPDX-License-Identifier: BSD-3-Clause */
/* The VXLAN header and the inner flow hash (vxlan.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "vxlan.h"

#define I_FLAG 0x08

void sw_vxlan_header(uint8_t *h, uint32_t vni)
{
	memset(h, 0, SW_VXLAN_HLEN);
	h[0] = I_FLAG;
	h[4] = (uint8_t)(vni >> 16);
	h[5] = (uint8_t)(vni >> 8);
	h[6] = (uint8_t)vni;
}

int32_t sw_vxlan_vni(const uint8_t *d, uint32_t len)
{
	if (len < SW_VXLAN_HLEN + 14 || d[0] != I_FLAG || d[1] || d[2] || d[3] || d[7])
		return -1;
	return (int32_t)((uint32_t)d[4] << 16 | (uint32_t)d[5] << 8 | d[6]);
}

static uint32_t mix(uint32_t h, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

uint32_t sw_vxlan_flow_hash(const uint8_t *f, uint32_t len)
{
	uint32_t h = mix(2166136261u, f, len < 12 ? len : 12), off = 12;
	uint16_t et = 0;

	/* Through 802.1Q tags to the network header. */
	while (off + 2 <= len) {
		et = (uint16_t)(f[off] << 8 | f[off + 1]);
		off += 2;
		if (et != 0x8100 && et != 0x88a8)
			break;
		off += 2;
	}
	uint32_t l4 = 0, proto = 0;
	if (et == 0x0800 && off + 20 <= len) {
		h = mix(h, f + off + 12, 8);
		proto = f[off + 9];
		/* Fragments after the first carry no ports. */
		if (!((f[off + 6] & 0x1f) | f[off + 7]))
			l4 = off + (uint32_t)(f[off] & 0x0f) * 4;
	} else if (et == 0x86dd && off + 40 <= len) {
		h = mix(h, f + off + 8, 32);
		proto = f[off + 6];
		l4 = off + 40;
	}
	uint8_t pr = (uint8_t)proto;
	h = mix(h, &pr, 1);
	if ((proto == 6 || proto == 17) && l4 && l4 + 4 <= len)
		h = mix(h, f + l4, 4);
	/* A final avalanche: nearby flows differ in their low bits too. */
	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	return h;
}

int sw_ip_parse(const char *s, struct sw_ip *ip)
{
	char buf[SW_IP_STRLEN];
	const char *pct = strchr(s, '%');

	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, &ip->v4) == 1) {
		uint32_t h = ntohl(ip->v4.s_addr);
		ip->family = AF_INET;
		return !h || h == 0xffffffffu || (h >> 28) == 0xe ? -1 : 0;
	}
	size_t n = pct ? (size_t)(pct - s) : strlen(s);
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET6, buf, &ip->v6) != 1)
		return -1;
	ip->family = AF_INET6;
	if (IN6_IS_ADDR_UNSPECIFIED(&ip->v6) || IN6_IS_ADDR_MULTICAST(&ip->v6) ||
	    IN6_IS_ADDR_LOOPBACK(&ip->v6) || IN6_IS_ADDR_V4MAPPED(&ip->v6))
		return -1;
	if (pct) {
		if (!pct[1] || strlen(pct + 1) >= IFNAMSIZ || strpbrk(pct + 1, "/ \t:%"))
			return -1;
		strcpy(ip->scope, pct + 1);
	}
	/* A link-local address means nothing without its link. */
	return IN6_IS_ADDR_LINKLOCAL(&ip->v6) != !!pct ? -1 : 0;
}

bool sw_ip_eq(const struct sw_ip *a, const struct sw_ip *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->v4.s_addr == b->v4.s_addr;
	return memcmp(&a->v6, &b->v6, sizeof(a->v6)) == 0 && strcmp(a->scope, b->scope) == 0;
}

const char *sw_ip_str(const struct sw_ip *ip, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ip->family == AF_INET)
		inet_ntop(AF_INET, &ip->v4, a, sizeof(a));
	else if (ip->family == AF_INET6)
		inet_ntop(AF_INET6, &ip->v6, a, sizeof(a));
	snprintf(buf, len, "%s%s%s", a, ip->scope[0] ? "%" : "", ip->scope);
	return buf;
}
