/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VLAN modes (core/vlan.h): parsing tag= and trunks= (every malformed one
 * refused, the port's mode left as it was), printing them back, what
 * each mode makes of untagged, tagged and priority-tagged frames, and tags
 * put on and taken off a packet with its offload offsets.
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <string.h>
#include "sw_t.h"
#include "vlan.h"

static void test_parse(void)
{
	struct sw_vlan v = { 0 };
	char err[160], buf[128];

	CHECK_EQ(sw_vlan_parse_tag(&v, "10", err, sizeof(err)), 0);
	CHECK_EQ(v.mode, SW_VLAN_ACCESS);
	CHECK_EQ(v.tag, 10);
	sw_vlan_format(&v, buf, sizeof(buf));
	CHECK_STR(buf, "access 10");
	CHECK_EQ(sw_vlan_parse_tag(&v, "4094", err, sizeof(err)), 0);
	CHECK_EQ(v.tag, 4094);
	/* A trunk replaces the access mode. */
	CHECK_EQ(sw_vlan_parse_trunks(&v, "10:20:100-199:4094", err, sizeof(err)), 0);
	CHECK_EQ(v.mode, SW_VLAN_TRUNK);
	sw_vlan_format(&v, buf, sizeof(buf));
	CHECK_STR(buf, "trunk 10:20:100-199:4094");
	CHECK(sw_vlan_carries(&v, 100) && sw_vlan_carries(&v, 199) && sw_vlan_carries(&v, 4094));
	CHECK(!sw_vlan_carries(&v, 99) && !sw_vlan_carries(&v, 200) && !sw_vlan_carries(&v, 0));
	/* tag=none leaves a trunk alone; trunks=none ends it. */
	CHECK_EQ(sw_vlan_parse_tag(&v, "none", err, sizeof(err)), 0);
	CHECK_EQ(v.mode, SW_VLAN_TRUNK);
	CHECK_EQ(sw_vlan_parse_trunks(&v, "none", err, sizeof(err)), 0);
	CHECK_EQ(v.mode, SW_VLAN_ALL);
	sw_vlan_format(&v, buf, sizeof(buf));
	CHECK_STR(buf, "all");
	CHECK_EQ(sw_vlan_parse_trunks(&v, "0:5-6", err, sizeof(err)), 0);
	sw_vlan_format(&v, buf, sizeof(buf));
	CHECK_STR(buf, "trunk 0:5-6");
	/* Printing into a short buffer truncates, never overruns. */
	CHECK_EQ(sw_vlan_parse_trunks(&v, "1:3:5:7:9:11:13:15:17:19", err, sizeof(err)), 0);
	char small[12];
	memset(small, 'x', sizeof(small));
	sw_vlan_format(&v, small, 8);
	CHECK_EQ(strlen(small), 7u);
	CHECK_EQ(small[8], 'x');
}

static void test_bad(void)
{
	static const char *const bad_tag[] = {
		"", "0", "4095", "9999", "01234", "-1", "+5", "1x", " 1", "10:20", "1-2", "x",
	};
	static const char *const bad_trunks[] = {
		"", ":", "10:", ":10", "10::20", "20-10", "4095", "0-4095", "1-", "-1", "a",
		"10,20", "10 20", "00000", "1--2", "1-2-3",
	};
	struct sw_vlan v = { 0 }, before;
	char err[160];

	CHECK_EQ(sw_vlan_parse_tag(&v, "7", err, sizeof(err)), 0);
	before = v;
	for (size_t i = 0; i < NELEM(bad_tag); i++) {
		err[0] = '\0';
		CHECK_EQ(sw_vlan_parse_tag(&v, bad_tag[i], err, sizeof(err)), -EINVAL);
		CHECK(err[0] != '\0');
	}
	for (size_t i = 0; i < NELEM(bad_trunks); i++) {
		err[0] = '\0';
		int rc = sw_vlan_parse_trunks(&v, bad_trunks[i], err, sizeof(err));
		CHECK_EQ(rc, -EINVAL);
		if (rc != -EINVAL)
			fprintf(stderr, "  accepted trunks '%s'\n", bad_trunks[i]);
		CHECK(err[0] != '\0');
	}
	CHECK(memcmp(&v, &before, sizeof(v)) == 0);
}

/* A 60-byte frame, tagged with vid (and priority pcp) unless vid < 0. */
static void frame(uint8_t *f, int vid, unsigned pcp)
{
	memset(f, 0, 60);
	f[0] = 0x02, f[6] = 0x02, f[11] = 1;
	if (vid < 0) {
		f[12] = 0x08;
		return;
	}
	f[12] = 0x81, f[13] = 0x00;
	f[14] = (uint8_t)(pcp << 5 | (unsigned)vid >> 8), f[15] = (uint8_t)vid;
	f[16] = 0x08;
}

static int in(const char *tag, const char *trunks, int vid, uint32_t len, bool *pop)
{
	struct sw_vlan v = { 0 };
	char err[160];
	uint8_t f[60];

	if (tag)
		sw_vlan_parse_tag(&v, tag, err, sizeof(err));
	if (trunks)
		sw_vlan_parse_trunks(&v, trunks, err, sizeof(err));
	frame(f, vid, 5);
	return sw_vlan_in(&v, f, len, pop);
}

static void test_ingress(void)
{
	bool pop;

	/* All VLANs: untagged is VLAN 0, a tag is its VLAN, 4095 is refused. */
	CHECK_EQ(in(NULL, NULL, -1, 60, &pop), 0);
	CHECK(!pop);
	CHECK_EQ(in(NULL, NULL, 10, 60, &pop), 10);
	CHECK(!pop);
	CHECK_EQ(in(NULL, NULL, 4095, 60, &pop), SW_VLAN_IN_DROP);
	CHECK_EQ(in(NULL, NULL, 0, 60, &pop), 0);
	CHECK(pop);
	/* A tag that does not fit the frame. */
	CHECK_EQ(in(NULL, NULL, 10, 17, &pop), SW_VLAN_IN_DROP);
	CHECK_EQ(in(NULL, NULL, -1, 14, &pop), 0);
	/* Access: untagged and priority-tagged frames join the port's VLAN;
	 * any other tag is dropped. */
	CHECK_EQ(in("10", NULL, -1, 60, &pop), 10);
	CHECK_EQ(in("10", NULL, 0, 60, &pop), 10);
	CHECK(pop);
	CHECK_EQ(in("10", NULL, 10, 60, &pop), SW_VLAN_IN_DROP);
	CHECK_EQ(in("10", NULL, 20, 60, &pop), SW_VLAN_IN_DROP);
	/* Trunk: its VLANs only; untagged only with 0 in the list. */
	CHECK_EQ(in(NULL, "10:20", 20, 60, &pop), 20);
	CHECK_EQ(in(NULL, "10:20", 30, 60, &pop), SW_VLAN_IN_DROP);
	CHECK_EQ(in(NULL, "10:20", -1, 60, &pop), SW_VLAN_IN_DROP);
	CHECK_EQ(in(NULL, "10:20", 0, 60, &pop), SW_VLAN_IN_DROP);
	CHECK_EQ(in(NULL, "0:10", -1, 60, &pop), 0);
	CHECK_EQ(in(NULL, "0:10", 0, 60, &pop), 0);
	CHECK(pop);
}

static void test_egress(void)
{
	struct sw_vlan all = { 0 }, acc = { 0 }, tr = { 0 };
	char err[160];

	sw_vlan_parse_tag(&acc, "10", err, sizeof(err));
	sw_vlan_parse_trunks(&tr, "0:10", err, sizeof(err));
	CHECK(sw_vlan_carries(&all, 0) && sw_vlan_carries(&all, 4094));
	CHECK(sw_vlan_carries(&acc, 10) && !sw_vlan_carries(&acc, 0) && !sw_vlan_carries(&acc, 11));
	CHECK(sw_vlan_tagged_out(&all, 10) && !sw_vlan_tagged_out(&all, 0));
	CHECK(!sw_vlan_tagged_out(&acc, 10));
	CHECK(sw_vlan_tagged_out(&tr, 10) && !sw_vlan_tagged_out(&tr, 0));
}

/* A one-segment packet of a 60-byte untagged frame with headroom hr and a
 * partial TCP checksum (a guest's TSO packet). */
static void pkt_of(struct vhu_pkt *p, uint8_t *buf, uint32_t buf_len, uint32_t hr)
{
	memset(p, 0, sizeof(*p));
	memset(buf, 0, buf_len);
	p->buf = buf;
	p->buf_len = buf_len;
	p->data_off = hr;
	p->data_len = p->pkt_len = 60;
	p->nb_segs = 1;
	frame(buf + hr, -1, 0);
	p->ol.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->ol.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	p->ol.hdr_len = 54;
	p->ol.csum_start = 34;
	p->ol.csum_offset = 16;
}

static void test_push_pop(void)
{
	uint8_t buf[256], orig[60];
	struct vhu_pkt p, before;

	pkt_of(&p, buf, sizeof(buf), 128);
	memcpy(orig, vhu_pkt_data(&p), 60);
	CHECK_EQ(sw_vlan_push(&p, 300), 0);
	const uint8_t *d = vhu_pkt_data(&p);
	CHECK_EQ(p.data_off, 124u);
	CHECK_EQ(p.data_len, 64u);
	CHECK_EQ(p.pkt_len, 64u);
	CHECK(memcmp(d, orig, 12) == 0);
	CHECK(d[12] == 0x81 && d[13] == 0x00 && d[14] == 0x01 && d[15] == 0x2c);
	CHECK(memcmp(d + 16, orig + 12, 48) == 0);
	CHECK_EQ(p.ol.csum_start, 38);
	CHECK_EQ(p.ol.hdr_len, 58);
	CHECK_EQ(p.ol.csum_offset, 16);
	/* What the switch sees of it now. */
	struct sw_vlan all = { 0 };
	bool pop;
	CHECK_EQ(sw_vlan_in(&all, d, p.data_len, &pop), 300);
	CHECK_EQ(sw_vlan_pop(&p), 0);
	CHECK_EQ(p.data_off, 128u);
	CHECK_EQ(p.pkt_len, 60u);
	CHECK(memcmp(vhu_pkt_data(&p), orig, 60) == 0);
	CHECK_EQ(p.ol.csum_start, 34);
	CHECK_EQ(p.ol.hdr_len, 54);
	/* No offload: offsets stay 0. */
	p.ol = (struct vhu_pkt_offload){ 0 };
	CHECK_EQ(sw_vlan_push(&p, 5), 0);
	CHECK_EQ(p.ol.csum_start, 0);
	CHECK_EQ(p.ol.hdr_len, 0);

	/* Refused, packet untouched: no headroom; nothing to pop; a partial
	 * checksum that starts inside the tag; a header split off. */
	pkt_of(&p, buf, sizeof(buf), 3);
	before = p;
	CHECK_EQ(sw_vlan_push(&p, 10), -ENOSPC);
	CHECK(memcmp(&p, &before, sizeof(p)) == 0);
	pkt_of(&p, buf, sizeof(buf), 128);
	p.data_len = p.pkt_len = 17;
	before = p;
	CHECK_EQ(sw_vlan_pop(&p), -EINVAL);
	CHECK(memcmp(&p, &before, sizeof(p)) == 0);
	pkt_of(&p, buf, sizeof(buf), 128);
	CHECK_EQ(sw_vlan_push(&p, 10), 0);
	p.ol.csum_start = 16;
	before = p;
	CHECK_EQ(sw_vlan_pop(&p), -EINVAL);
	CHECK(memcmp(&p, &before, sizeof(p)) == 0);
	pkt_of(&p, buf, sizeof(buf), 128);
	p.data_len = 10;
	CHECK_EQ(sw_vlan_push(&p, 10), -ENOSPC);
}

int main(void)
{
	RUN(test_parse);
	RUN(test_bad);
	RUN(test_ingress);
	RUN(test_egress);
	RUN(test_push_pop);
	return t_done("switch_vlan");
}
