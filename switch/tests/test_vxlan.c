/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VXLAN (core/vxlan.h): the header we send, every way a datagram from the
 * underlay is refused, and the inner flow hash that picks the outer
 * source port (stable for a flow, different across flows, blind to what
 * is not the flow: payload, IPv4 id, TTL).
 */
#include <string.h>
#include "sw_t.h"
#include "vxlan.h"

static void test_header(void)
{
	uint8_t h[SW_VXLAN_HLEN + 14];

	memset(h, 0xee, sizeof(h));
	sw_vxlan_header(h, 0x123456);
	static const uint8_t want[8] = { 0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0 };
	CHECK(memcmp(h, want, 8) == 0);
	CHECK_EQ(sw_vxlan_vni(h, sizeof(h)), 0x123456);
	sw_vxlan_header(h, 0);
	CHECK_EQ(sw_vxlan_vni(h, sizeof(h)), 0);
	sw_vxlan_header(h, SW_VXLAN_VNI_MAX);
	CHECK_EQ(sw_vxlan_vni(h, sizeof(h)), SW_VXLAN_VNI_MAX);
}

static void test_refused(void)
{
	uint8_t h[SW_VXLAN_HLEN + 14];

	sw_vxlan_header(h, 42);
	/* Too short for a header and an inner Ethernet header. */
	for (uint32_t len = 0; len < sizeof(h); len++)
		CHECK_EQ(sw_vxlan_vni(h, len), -1);
	/* No I flag; another flag; each reserved byte. */
	static const unsigned byte[] = { 0, 0, 1, 2, 3, 7 };
	static const uint8_t val[] = { 0x00, 0x88, 0x01, 0x80, 0x01, 0x01 };
	for (size_t i = 0; i < NELEM(byte); i++) {
		sw_vxlan_header(h, 42);
		h[byte[i]] = val[i];
		CHECK_EQ(sw_vxlan_vni(h, sizeof(h)), -1);
	}
}

/* An Ethernet/IPv4/UDP frame of flow k (source port 1000 + k). */
static void frame(uint8_t *f, unsigned k, uint8_t ttl, uint16_t id, uint8_t payload)
{
	memset(f, 0, 64);
	f[0] = 0x02, f[5] = 1, f[6] = 0x02, f[11] = 2;
	f[12] = 0x08;
	uint8_t *ip = f + 14;
	ip[0] = 0x45, ip[4] = (uint8_t)(id >> 8), ip[5] = (uint8_t)id, ip[8] = ttl, ip[9] = 17;
	ip[12] = 169, ip[13] = 254, ip[14] = 1, ip[15] = 1;
	ip[16] = 169, ip[17] = 254, ip[18] = 1, ip[19] = 2;
	uint8_t *udp = ip + 20;
	udp[0] = (uint8_t)((1000 + k) >> 8), udp[1] = (uint8_t)(1000 + k);
	udp[2] = 0x13, udp[3] = 0x89;
	memset(udp + 8, payload, 64 - 42);
}

static void test_flow_hash(void)
{
	uint8_t a[64], b[64];

	frame(a, 1, 64, 1, 0xaa);
	frame(b, 1, 3, 999, 0x55);
	CHECK_EQ(sw_vxlan_flow_hash(a, 64), sw_vxlan_flow_hash(b, 64));
	/* 64 flows spread over the 8 sockets: none empty. */
	unsigned hits[8] = { 0 };
	for (unsigned k = 0; k < 64; k++) {
		frame(a, k, 64, 1, 0);
		hits[sw_vxlan_flow_hash(a, 64) % 8]++;
	}
	for (unsigned s = 0; s < 8; s++)
		CHECK(hits[s] > 0);
	/* A tag does not hide the flow; a runt does not read past its end. */
	uint8_t t[68];
	frame(a, 5, 64, 1, 0);
	memcpy(t, a, 12);
	t[12] = 0x81, t[13] = 0, t[14] = 0, t[15] = 10;
	memcpy(t + 16, a + 12, 52);
	frame(b, 6, 64, 1, 0);
	uint8_t tb[68];
	memcpy(tb, t, 68);
	memcpy(tb + 16 + 2 + 20, b + 14 + 20, 2); /* flow 6's source port */
	CHECK(sw_vxlan_flow_hash(t, 68) != sw_vxlan_flow_hash(tb, 68));
	for (uint32_t len = 0; len < 40; len++)
		(void)sw_vxlan_flow_hash(a, len);
}

int main(void)
{
	RUN(test_header);
	RUN(test_refused);
	RUN(test_flow_hash);
	return t_done("switch_vxlan");
}
