/* SPDX-License-Identifier: BSD-3-Clause */
/* The VXLAN header and the inner flow hash (vxlan.h). */
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

enum sw_vxlan_verdict sw_vxlan_check(const uint8_t *d, uint32_t len, uint32_t vni)
{
	if (len < SW_VXLAN_HLEN + 14)
		return SW_VXLAN_BAD;
	if (d[0] != I_FLAG || d[1] || d[2] || d[3] || d[7])
		return SW_VXLAN_BAD;
	uint32_t v = (uint32_t)d[4] << 16 | (uint32_t)d[5] << 8 | d[6];
	return v == vni ? SW_VXLAN_OK : SW_VXLAN_VNI;
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
