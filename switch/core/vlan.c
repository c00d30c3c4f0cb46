/* SPDX-License-Identifier: BSD-3-Clause */
/* Parsing and printing a port's VLAN mode, and tags put on and taken off
 * packets (vlan.h). */
#include <ctype.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vlan.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

/* A VID of 1..4 digits at *s, at most max; moves *s past it. */
static int vid_at(const char **s, unsigned min, unsigned *vid)
{
	const char *p = *s;
	unsigned v = 0, n = 0;

	while (isdigit((unsigned char)*p) && n < 5)
		v = v * 10 + (unsigned)(*p++ - '0'), n++;
	if (!n || n > 4 || v < min || v > SW_VLAN_VID_MAX)
		return -1;
	*vid = v;
	*s = p;
	return 0;
}

int sw_vlan_parse_tag(struct sw_vlan *v, const char *s, char *err, size_t errlen)
{
	unsigned vid;
	const char *p = s;

	if (strcmp(s, "none") == 0) {
		if (v->mode == SW_VLAN_ACCESS)
			v->mode = SW_VLAN_ALL;
		return 0;
	}
	if (vid_at(&p, 1, &vid) < 0 || *p)
		return ERR("bad tag '%s': a VID 1..%d, or none", s, SW_VLAN_VID_MAX);
	memset(v, 0, sizeof(*v));
	v->mode = SW_VLAN_ACCESS;
	v->tag = (uint16_t)vid;
	return 0;
}

int sw_vlan_parse_trunks(struct sw_vlan *v, const char *s, char *err, size_t errlen)
{
	uint64_t set[64] = { 0 };
	const char *p = s;

	if (strcmp(s, "none") == 0) {
		if (v->mode == SW_VLAN_TRUNK)
			v->mode = SW_VLAN_ALL;
		return 0;
	}
	for (;;) {
		unsigned a, b;
		if (vid_at(&p, 0, &a) < 0)
			return ERR("bad trunks '%s': VIDs 0..%d separated by ':', ranges A-B",
				   s, SW_VLAN_VID_MAX);
		b = a;
		if (*p == '-') {
			p++;
			if (vid_at(&p, 0, &b) < 0 || b < a)
				return ERR("bad trunks '%s': a range A-B needs A <= B <= %d", s,
					   SW_VLAN_VID_MAX);
		}
		for (unsigned x = a; x <= b; x++)
			set[x >> 6] |= 1ULL << (x & 63);
		if (!*p)
			break;
		if (*p++ != ':' || !*p)
			return ERR("bad trunks '%s': VIDs are separated by ':'", s);
	}
	memset(v, 0, sizeof(*v));
	v->mode = SW_VLAN_TRUNK;
	memcpy(v->trunks, set, sizeof(set));
	return 0;
}

void sw_vlan_format(const struct sw_vlan *v, char *buf, size_t len)
{
	size_t off;

	if (!len)
		return;
	if (v->mode != SW_VLAN_TRUNK) {
		if (v->mode == SW_VLAN_ACCESS)
			snprintf(buf, len, "access %u", v->tag);
		else
			snprintf(buf, len, "all");
		return;
	}
	off = (size_t)snprintf(buf, len, "trunk");
	char sep = ' ';
	for (unsigned x = 0; x <= SW_VLAN_VID_MAX && off < len; x++) {
		if (!sw_vlan_carries(v, (uint16_t)x))
			continue;
		unsigned y = x;
		while (y < SW_VLAN_VID_MAX && sw_vlan_carries(v, (uint16_t)(y + 1)))
			y++;
		off += (size_t)(y == x ? snprintf(buf + off, len - off, "%c%u", sep, x) :
				snprintf(buf + off, len - off, "%c%u-%u", sep, x, y));
		sep = ':';
		x = y;
	}
	if (sep == ' ' && off < len)
		snprintf(buf + off, len - off, " none");
}

void sw_vlan_format_opt(const struct sw_vlan *v, char *buf, size_t len)
{
	char f[SW_VLAN_FMT_MAX];

	sw_vlan_format(v, f, sizeof(f));
	if (v->mode == SW_VLAN_ALL)
		snprintf(buf, len, "%s", "");
	else if (v->mode == SW_VLAN_ACCESS)
		snprintf(buf, len, "tag=%s", f + 7);
	else
		snprintf(buf, len, "trunks=%s", f + 6);
}

/* A tag sits after the two MACs, so both moves shift only those 12 bytes
 * within the first segment's headroom; the offload offsets, counted from
 * the frame's start, follow by 4. */
#define TAG_LEN 4

static void ol_shift(struct vhu_pkt *pkt, int by)
{
	if (pkt->ol.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		pkt->ol.csum_start = (uint16_t)(pkt->ol.csum_start + by);
	if (pkt->ol.hdr_len)
		pkt->ol.hdr_len = (uint16_t)(pkt->ol.hdr_len + by);
}

int sw_vlan_push(struct vhu_pkt *pkt, uint16_t vid)
{
	if (pkt->data_off < TAG_LEN || pkt->data_len < 14)
		return -ENOSPC;
	pkt->data_off -= TAG_LEN;
	uint8_t *d = vhu_pkt_data(pkt);
	memmove(d, d + TAG_LEN, 12);
	d[12] = SW_VLAN_TPID >> 8;
	d[13] = SW_VLAN_TPID & 0xff;
	d[14] = (uint8_t)(vid >> 8);
	d[15] = (uint8_t)vid;
	pkt->data_len += TAG_LEN;
	pkt->pkt_len += TAG_LEN;
	ol_shift(pkt, TAG_LEN);
	return 0;
}

int sw_vlan_pop(struct vhu_pkt *pkt)
{
	if (pkt->data_len < 14 + TAG_LEN)
		return -EINVAL;
	/* A partial checksum or GSO header inside the tag cannot be moved. */
	if ((pkt->ol.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && pkt->ol.csum_start < 14 + TAG_LEN)
		return -EINVAL;
	uint8_t *d = vhu_pkt_data(pkt);
	memmove(d + TAG_LEN, d, 12);
	pkt->data_off += TAG_LEN;
	pkt->data_len -= TAG_LEN;
	pkt->pkt_len -= TAG_LEN;
	ol_shift(pkt, -TAG_LEN);
	return 0;
}
